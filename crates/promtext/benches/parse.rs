//! Parser throughput, side by side with the two Rust crates an operator would otherwise use.
//!
//! Every parser does the same work per sample: the name, every label pair, the value as an f64
//! and the timestamp. Inputs (see docs/BENCHMARKS.md):
//! * `alltypes`: Prometheus' own parser benchmark file (`shared/bench-data/prometheus-alltypes.prom.txt`);
//! * `starrocks_100k`: a 100,000-line StarRocks-BE-like body from
//!   `python3 shared/bench-data/gen_starrocks_like.py 100000`.
//!
//! `ROCKSCOPE_BENCH_DATA` overrides the bench-data folder (default: `../shared/bench-data` beside
//! the checkout).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rockscope_promtext::{Mode, Parser};

fn bench_data_dir() -> PathBuf {
    std::env::var_os("ROCKSCOPE_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench-data")
        })
}

fn inputs() -> Vec<(&'static str, String)> {
    let dir = bench_data_dir();
    let alltypes = std::fs::read_to_string(dir.join("prometheus-alltypes.prom.txt"))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let generated = Command::new("python3")
        .arg(dir.join("gen_starrocks_like.py"))
        .arg("100000")
        .output()
        .expect("python3 runs the generator");
    assert!(generated.status.success(), "generator failed");
    let starrocks = String::from_utf8(generated.stdout).expect("generator writes UTF-8");
    vec![("alltypes", alltypes), ("starrocks_100k", starrocks)]
}

/// rockscope-promtext, strict mode (the collector's lenient mode does the same work).
fn rockscope(body: &str, mode: Mode) -> (usize, f64) {
    let mut n = 0usize;
    let mut sum = 0.0;
    for sample in Parser::new(body.as_bytes(), mode) {
        let Ok(s) = sample else { continue };
        n += s.name.len();
        for (name, value) in s.labels() {
            n += name.len() + value.len();
        }
        sum += s.value + s.timestamp_ms.unwrap_or(0) as f64;
    }
    (n, sum)
}

fn prometheus_parse(body: &str) -> (usize, f64) {
    let scrape =
        prometheus_parse::Scrape::parse_at(body.lines().map(|l| Ok(l.to_owned())), chrono_epoch())
            .expect("prometheus-parse parses the body");
    let mut n = 0usize;
    let mut sum = 0.0;
    for s in &scrape.samples {
        n += s.metric.len();
        for (name, value) in s.labels.iter() {
            n += name.len() + value.len();
        }
        sum += match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.iter().map(|b| b.count).sum(),
            prometheus_parse::Value::Summary(q) => q.iter().map(|b| b.count).sum(),
        };
        sum += s.timestamp.timestamp_millis() as f64;
    }
    (n, sum)
}

fn prom_text_format_parser(body: &str) -> (usize, f64) {
    let (metrics, _error) = prom_text_format_parser::parse_scrape(body);
    let mut n = 0usize;
    let mut sum = 0.0;
    for m in &metrics {
        n += m.name.len();
        for s in &m.samples {
            for l in s.labels.iter() {
                n += l.key.len() + l.value.len();
            }
            sum += s.value.value.as_f64() + s.value.timestamp.unwrap_or(0) as f64;
        }
    }
    (n, sum)
}

fn chrono_epoch() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::<chrono::Utc>::UNIX_EPOCH
}

fn parsers(c: &mut Criterion) {
    for (name, body) in inputs() {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.sample_size(20);
        group.bench_function("rockscope_strict", |b| {
            b.iter(|| rockscope(black_box(&body), Mode::Strict))
        });
        group.bench_function("rockscope_lenient", |b| {
            b.iter(|| rockscope(black_box(&body), Mode::Lenient))
        });
        group.bench_function("prometheus_parse", |b| {
            b.iter(|| prometheus_parse(black_box(&body)))
        });
        group.bench_function("prom_text_format_parser", |b| {
            b.iter(|| prom_text_format_parser(black_box(&body)))
        });
        group.finish();
    }
}

criterion_group!(benches, parsers);
criterion_main!(benches);
