//! Parse a Prometheus text body from a file (or stdin) in lenient mode and print what was found:
//! samples, families, skipped lines and the first errors.
//!
//! ```sh
//! cargo run --release -p rockscope-promtext --example count_samples -- body.txt [repeat]
//! ```
//! `repeat` parses the body that many times (handy under a profiler).

use std::io::Read;

use rockscope_promtext::{Mode, Parser};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut body = Vec::new();
    match args.next().as_deref() {
        None | Some("-") => {
            std::io::stdin().read_to_end(&mut body)?;
        }
        Some(path) => body = std::fs::read(path)?,
    }
    let repeat: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(1);
    for round in 0..repeat {
        let mut parser = Parser::new(&body, Mode::Lenient);
        let mut samples = 0usize;
        let mut label_pairs = 0usize;
        for sample in parser.by_ref().flatten() {
            samples += 1;
            label_pairs += sample.labels().count();
        }
        if round + 1 == repeat {
            let d = parser.diagnostics();
            println!(
                "{samples} samples, {label_pairs} label pairs, {} families, {} skipped lines",
                parser.families().count(),
                d.skipped_lines
            );
            for e in &d.first_errors {
                println!("  {e}");
            }
        }
    }
    Ok(())
}
