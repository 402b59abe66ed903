//! `rockscope`: the thin binary that wires rockscope's layers together.
//!
//! Each subcommand lives in its own module and only calls into the library crates; this file
//! parses the command line and maps results to exit codes.

mod cli;
#[allow(dead_code)] // wired by `serve`, `collect-once` and `check-config`
mod config;
mod parse_metrics;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("rockscope: {message}\n\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match command {
        cli::Command::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        cli::Command::ParseMetrics { path, lenient } => {
            parse_metrics::run(path.as_deref(), lenient)
        }
    }
}
