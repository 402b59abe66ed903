//! `rockscope parse-metrics`: what rockscope reads from a node, one JSON object per sample, or
//! with `--families` one per metric family (to pick a custom metric's series and matchers).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use rockscope_engine::custom::families::FamilyCollector;
use rockscope_promtext::{Mode, Parser, Sample};

/// Bodies larger than this are refused rather than read into memory.
const MAX_INPUT_BYTES: u64 = 1 << 30;

/// What the command prints for each body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// One line per sample.
    Samples,
    /// One line per family: name, TYPE, HELP and the label names its samples carry.
    Families,
}

/// Runs the command; the exit code is 1 on invalid input (strict) or an unreadable input.
pub fn run(path: Option<&str>, lenient: bool, output: Output) -> ExitCode {
    let input = match read_input(path) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("rockscope parse-metrics: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mode = if lenient { Mode::Lenient } else { Mode::Strict };
    let mut parser = Parser::new(&input, mode);
    let mut samples = Vec::new();
    for item in &mut parser {
        match item {
            Ok(sample) => samples.push(sample),
            Err(e) if lenient => eprintln!("skipped {e}"),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    // HELP may follow a family's samples, so samples are printed once the whole body is read.
    let written = match output {
        Output::Samples => write_samples(&parser, &samples),
        Output::Families => write_families(&parser, &samples),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rockscope parse-metrics: writing output: {e}");
            ExitCode::FAILURE
        }
    }
}

fn read_input(path: Option<&str>) -> io::Result<Vec<u8>> {
    let mut input = Vec::new();
    let read = match path {
        None | Some("-") => io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut input),
        Some(path) => File::open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut input),
    };
    read?;
    if input.len() as u64 > MAX_INPUT_BYTES {
        return Err(io::Error::other(format!(
            "input larger than {MAX_INPUT_BYTES} bytes"
        )));
    }
    Ok(input)
}

fn write_samples(parser: &Parser<'_>, samples: &[Sample<'_>]) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let mut line = String::new();
    for sample in samples {
        line.clear();
        sample_json(parser, sample, &mut line);
        out.write_all(line.as_bytes())?;
    }
    out.flush()
}

/// One line per family in order of first appearance (a `# TYPE` or `# HELP` without samples
/// included): `{"name":..,"type":..,"help":..,"label_names":[..]}`, `type` and `help` null when
/// the body has no such line, label names sorted (`le`, `quantile` included: a matcher can use
/// them). The same list as `GET /api/clusters/{id}/metric-families` (one implementation).
fn write_families(parser: &Parser<'_>, samples: &[Sample<'_>]) -> io::Result<()> {
    let mut collector = FamilyCollector::default();
    for sample in samples {
        collector.observe(sample);
    }
    let mut out = BufWriter::new(io::stdout().lock());
    for family in collector.finish(parser) {
        let line = serde_json::to_string(&family).map_err(io::Error::other)?;
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// `{"name":..,"labels":{..},"value":"1.5","timestamp_ms":null,"type":..,"help":..}` and a newline.
fn sample_json(parser: &Parser<'_>, sample: &Sample<'_>, out: &mut String) {
    out.push_str("{\"name\":");
    push_json_string(out, sample.name);
    out.push_str(",\"labels\":{");
    for (i, (name, value)) in sample.labels().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(out, name);
        out.push(':');
        push_json_string(out, &value);
    }
    out.push_str("},\"value\":");
    push_json_string(out, &prometheus_float(sample.value));
    out.push_str(",\"timestamp_ms\":");
    match sample.timestamp_ms {
        Some(ts) => out.push_str(&ts.to_string()),
        None => out.push_str("null"),
    }
    if let Some(family) = parser.family(sample.family) {
        if let Some(t) = family.metric_type {
            out.push_str(",\"type\":");
            push_json_string(out, t.as_str());
        }
        if let Some(help) = &family.help {
            out.push_str(",\"help\":");
            push_json_string(out, help);
        }
    }
    out.push_str("}\n");
}

fn push_json_string(out: &mut String, s: &str) {
    // serde_json escapes exactly what JSON requires; a str always serialises.
    match serde_json::to_string(s) {
        Ok(json) => out.push_str(&json),
        Err(_) => out.push_str("\"\""),
    }
}

/// Formats a value the way Prometheus writes floats: `NaN`, `+Inf`, `-Inf`, else the shortest
/// text that reads back to the same `f64`, with an exponent for very large or small magnitudes.
fn prometheus_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let magnitude = v.abs();
    if magnitude != 0.0 && !(1e-4..1e21).contains(&magnitude) {
        let text = format!("{v:e}");
        // Go writes 1e+21 where Rust writes 1e21.
        return match text.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
            _ => text,
        };
    }
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::prometheus_float;

    #[test]
    fn floats_read_back_exactly() {
        for v in [
            0.0,
            1.5,
            -1.2,
            1e21,
            1.5e-7,
            123456789.0,
            0.984098,
            f64::MAX,
            5e-324,
        ] {
            let text = prometheus_float(v);
            assert_eq!(text.parse::<f64>().ok(), Some(v), "{text}");
        }
        assert_eq!(prometheus_float(1e21), "1e+21");
        assert_eq!(prometheus_float(100.0), "100");
        assert_eq!(prometheus_float(f64::NAN), "NaN");
        assert_eq!(prometheus_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(prometheus_float(f64::INFINITY), "+Inf");
    }
}
