//! The cost of `GET /metrics` (issue 15): rendering the clusters' series and rockscope's own
//! health for a fleet, as the handler does it, without the HTTP around it.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin metrics_render                  # 100 × (3 FE + 10 BE)
//! cargo run --release -p rockscope-bench --bin metrics_render -- --clusters 300 --renders 100
//! ```
//!
//! One real simulated cycle (3 FE + `--bes` BE, aggregated by the engine, so every field is
//! filled as in production) is turned into a variant per cluster. Each render writes every
//! cluster's families (`rockscope_export::text::render`) and the self-metrics
//! (`Telemetry::encode`, with a histogram per cluster recorded) into one body, in text 0.0.4
//! and in OpenMetrics; the median and 99th percentile of `--renders` renders are reported. The
//! same cluster series written through `prometheus-client` (a custom collector reading the
//! same cycles at scrape time, as it would run inside rockscope) are timed once for comparison.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use rockscope_bench::fleet::ms;
use rockscope_bench::history::{real_cycle, variants};
use rockscope_export::text::{self, Format};
use rockscope_export::{ClusterExport, MetricType, families, for_each_sample_of};
use rockscope_telemetry::Telemetry;
use time::OffsetDateTime;

/// `/metrics` rendering cost (see docs/BENCHMARKS.md).
#[derive(Debug, clap::Parser)]
#[command(name = "metrics_render")]
struct Cli {
    /// Clusters in the exposition.
    #[arg(long, default_value_t = 100)]
    clusters: usize,
    /// BEs per cluster (plus 3 FEs).
    #[arg(long, default_value_t = 10)]
    bes: usize,
    /// Timed renders per format (median and p99 are reported).
    #[arg(long, default_value_t = 300)]
    renders: usize,
}

fn main() -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("metrics_render: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let template = real_cycle(cli.bes)?;
    let now = OffsetDateTime::now_utc();
    let clusters: Vec<Arc<ClusterExport>> = variants(&template, cli.clusters)?
        .into_iter()
        .enumerate()
        .map(|(i, cycle)| {
            let cycle = cycle.stamped(i as i64 + 1, now);
            Arc::new(ClusterExport {
                cluster_id: i as i64 + 1,
                cluster: format!("cluster-{i:03}"),
                at: now,
                snapshot: Some(cycle.snapshot),
                nodes: cycle.nodes,
                failed_cycles: 0,
                last_success_at: Some(now),
                interval: Duration::from_secs(30),
                // Alerts on, none active: each cluster's firing and pending counts.
                alerts: Some(Vec::new()),
                // No custom metric defined.
                custom: rockscope_export::CustomFamilies::default(),
            })
        })
        .collect();
    let telemetry = recorded_telemetry(&clusters);
    println!(
        "{} clusters × {} nodes ({} FE + {} BE), {} renders per format",
        clusters.len(),
        template.nodes.len(),
        3,
        cli.bes,
        cli.renders
    );
    println!("| format | body | series | median | p99 |");
    println!("|---|---|---|---|---|");
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut times = Vec::with_capacity(cli.renders);
        let mut body = String::new();
        for _ in 0..cli.renders.max(1) {
            let started = Instant::now();
            body = render(&clusters, &telemetry, format);
            times.push(started.elapsed());
        }
        times.sort();
        let series = body.lines().filter(|l| !l.starts_with('#')).count();
        println!(
            "| {} | {:.1} MiB | {series} | {} ms | {} ms |",
            match format {
                Format::Prometheus => "text 0.0.4",
                Format::OpenMetrics => "OpenMetrics",
            },
            body.len() as f64 / (1024.0 * 1024.0),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
        );
    }

    // The clusters' series through prometheus-client instead (OpenMetrics is all it writes).
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ClientCollector(clusters.clone())));
    let mut times = Vec::with_capacity(cli.renders);
    let mut size = 0;
    for _ in 0..cli.renders.max(1) {
        let started = Instant::now();
        let mut body = String::with_capacity(64 * 1024);
        prometheus_client::encoding::text::encode(&mut body, &registry)
            .map_err(|e| format!("prometheus-client: {e}"))?;
        times.push(started.elapsed());
        size = body.len();
    }
    times.sort();
    let mut direct = Vec::with_capacity(cli.renders);
    for _ in 0..cli.renders.max(1) {
        let started = Instant::now();
        let mut body = String::with_capacity(64 * 1024);
        text::render(&mut body, &clusters, Format::OpenMetrics);
        direct.push(started.elapsed());
    }
    direct.sort();
    println!();
    println!("clusters' series only, OpenMetrics:");
    println!("| writer | body | median | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| rockscope_export::text::render | | {} ms | {} ms |",
        ms(percentile(&direct, 0.5)),
        ms(percentile(&direct, 0.99))
    );
    println!(
        "| prometheus-client (custom collector) | {:.1} MiB | {} ms | {} ms |",
        size as f64 / (1024.0 * 1024.0),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99))
    );
    Ok(())
}

/// One `/metrics` body, as the handler writes it.
fn render(clusters: &[Arc<ClusterExport>], telemetry: &Telemetry, format: Format) -> String {
    let mut out = String::with_capacity(64 * 1024);
    text::render(&mut out, clusters, format);
    telemetry.encode(&mut out, format);
    if format == Format::OpenMetrics {
        out.push_str("# EOF\n");
    }
    out
}

/// Self-metrics as a running fleet has them: a collection histogram, samples and errors per
/// cluster, some API routes.
fn recorded_telemetry(clusters: &[Arc<ClusterExport>]) -> Telemetry {
    let telemetry = Telemetry::new();
    for (i, cluster) in clusters.iter().enumerate() {
        telemetry.cluster_collected(&cluster.cluster, Duration::from_millis(200 + i as u64));
        telemetry.samples_parsed(&cluster.cluster, 13 * 500);
        telemetry.scrape_failed(&cluster.cluster, "timeout");
    }
    for route in ["/metrics", "/api/clusters", "/api/clusters/{id}/overview"] {
        telemetry.api_request(route, 200, Duration::from_millis(3));
    }
    telemetry.cycle_finished(Duration::from_secs(2));
    telemetry.store_write("insert_cycle", Duration::from_millis(5));
    telemetry
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index]
}

/// The clusters' families through `prometheus-client`: a collector that reads the latest
/// cycles at scrape time (as rockscope would have to: the series change every cycle).
#[derive(Debug)]
struct ClientCollector(Vec<Arc<ClusterExport>>);

impl Collector for ClientCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in families() {
            let (name, kind) = match family.metric_type {
                MetricType::Counter => (
                    family.name.strip_suffix("_total").unwrap_or(&family.name),
                    prometheus_client::metrics::MetricType::Counter,
                ),
                MetricType::Gauge => (
                    family.name.as_str(),
                    prometheus_client::metrics::MetricType::Gauge,
                ),
            };
            let mut metric = encoder.encode_descriptor(name, &family.help, None, kind)?;
            let mut result = Ok(());
            for cycle in &self.0 {
                for_each_sample_of(family, cycle, &mut |family, labels, value| {
                    if result.is_err() {
                        return;
                    }
                    let mut set: Vec<(&str, &str)> = vec![("cluster", labels.cluster)];
                    if let Some(node) = labels.node {
                        set.push(("node_type", node.node_type));
                        set.push(("instance", node.instance));
                        if let Some(path) = node.path {
                            set.push(("path", path));
                        }
                    }
                    result = metric
                        .encode_family(&set)
                        .and_then(|m| match family.metric_type {
                            MetricType::Counter => ConstCounter::new(value).encode(m),
                            MetricType::Gauge => ConstGauge::new(value).encode(m),
                        });
                });
            }
            result?;
        }
        Ok(())
    }
}
