//! `GET /metrics` end to end: a real Prometheus scrapes the binary (with the API token, in
//! OpenMetrics, which Prometheus 2.42 asks for first) and holds each simulated cluster's series
//! and rockscope's own health; a cluster that goes down exports `up 0` and none of its older
//! values; both text formats pass `promtool check metrics`.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use rockscope_sim::{Fault, SimConfig, Simulator, Version};

use crate::prometheus::{PROMTOOL, Prometheus, PrometheusOptions};
use crate::support::{AppConfig, ConfigCluster, TestApp, wait_for};

const TOKEN: &str = "metrics-e2e-token-0123456789";

/// `promtool check metrics` on a body: its complaints (empty when clean).
pub(crate) fn promtool_check(body: &str) -> String {
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let mut complaints = String::from_utf8_lossy(&output.stdout).into_owned();
    complaints.push_str(&String::from_utf8_lossy(&output.stderr));
    if !output.status.success() && complaints.is_empty() {
        complaints.push_str("promtool failed");
    }
    complaints
}

/// `promtool check metrics` on an OpenMetrics body. promtool 2.42 parses text 0.0.4 only, where
/// an OpenMetrics counter (family `x`, samples `x_total`) reads as samples without HELP: that
/// complaint, for exactly the body's counter families, is the one allowed; anything else is
/// returned. (Prometheus' own OpenMetrics parser, scraping it, is the full check.)
fn promtool_check_open_metrics(body: &str) -> String {
    let counters: Vec<String> = body
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.strip_suffix(" counter"))
        .map(|family| format!("{family}_total no help text"))
        .collect();
    promtool_check(body)
        .lines()
        .filter(|line| !counters.iter().any(|allowed| line == allowed))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// One instant query's single value (panics when there is not exactly one series).
fn single_value(prometheus: &Prometheus, promql: &str) -> f64 {
    let result = prometheus.query(promql);
    assert_eq!(result.len(), 1, "{promql}: {result:?}");
    result[0]["value"][1].as_str().unwrap().parse().unwrap()
}

#[test]
fn prometheus_scrapes_every_cluster_and_a_down_cluster_is_up_0_without_stale_values() {
    let sim = Simulator::start(SimConfig::uniform(2, 1, 2, Version::V3_3, 7)).unwrap();
    let clusters = sim.clusters();
    let (live, doomed) = (&clusters[0], &clusters[1]);
    let config = AppConfig::default()
        .token(TOKEN)
        .rust_log("info")
        .cluster(ConfigCluster::from_sim(live))
        .cluster(ConfigCluster::from_sim(doomed))
        .section("[alerts]\nenabled = false\n");
    let app = TestApp::start(config);
    let id = app.cluster_id(&live.name);
    app.wait_for_snapshots(id, 2, Duration::from_secs(20));

    // The token rules of /api.
    assert_eq!(
        app.get_with("/metrics", crate::support::Auth::Without)
            .status,
        401
    );
    let text = app.get("/metrics");
    assert_eq!(text.status, 200);
    assert!(
        text.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    assert_eq!(
        promtool_check(&text.body),
        "",
        "text format:\n{}",
        text.body
    );
    let accept = "application/openmetrics-text;version=1.0.0";
    let without_token = app.request_with_header("GET", "/metrics", "Accept", accept);
    assert_eq!(without_token.status, 401);
    let open_metrics = app.get_with_header("/metrics", "Accept", accept);
    assert_eq!(open_metrics.status, 200);
    assert!(
        open_metrics
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let body = &open_metrics.body;
    assert!(body.ends_with("\n# EOF\n") && body.matches("# EOF").count() == 1);
    assert_eq!(
        promtool_check_open_metrics(body),
        "",
        "OpenMetrics:\n{body}"
    );
    // Every family once, in either format: the clusters' and rockscope's own are one exposition.
    for body in [&text.body, body] {
        let mut types: Vec<&str> = body.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let all = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), all, "a family typed twice");
    }

    let prometheus = Prometheus::start(PrometheusOptions {
        scrape: Some((app.addr().to_string(), Some(TOKEN.to_owned()))),
        ..PrometheusOptions::default()
    });
    for cluster in [&live.name, &doomed.name] {
        let query = format!("rockscope_cluster_up{{cluster=\"{cluster}\"}}");
        wait_for(&query, Duration::from_secs(30), || {
            let result = prometheus.query(&query);
            (result.len() == 1 && result[0]["value"][1] == "1").then_some(())
        });
    }
    let nodes = prometheus.query(&format!(
        "count(rockscope_node_alive{{cluster=\"{}\"}})",
        live.name
    ));
    assert_eq!(nodes[0]["value"][1], live.nodes.len().to_string());
    assert_self_metrics(&prometheus, &live.name);

    // Every node of the doomed cluster down: no snapshot, so `up 0` and no other value.
    for node in &doomed.nodes {
        sim.set_fault(&doomed.name, node.id, Fault::Down).unwrap();
    }
    wait_for("up 0 on /metrics", Duration::from_secs(30), || {
        let body = app.get("/metrics").body;
        body.contains(&format!(
            "rockscope_cluster_up{{cluster=\"{}\"}} 0",
            doomed.name
        ))
        .then_some(body)
    });
    let body = app.get("/metrics").body;
    let doomed_label = format!("cluster=\"{}\"", doomed.name);
    // The cluster's own series; rockscope's self-metrics (its collection durations, errors)
    // are about the collector and keep counting.
    let doomed_series: Vec<&str> = body
        .lines()
        .filter(|line| {
            line.starts_with("rockscope_cluster_") || line.starts_with("rockscope_node_")
        })
        .filter(|line| line.contains(&doomed_label))
        .map(|line| line.split('{').next().unwrap())
        .collect();
    assert_eq!(
        doomed_series,
        [
            "rockscope_cluster_up",
            "rockscope_cluster_failed_cycles",
            "rockscope_cluster_last_success_timestamp_seconds",
            "rockscope_cluster_collection_interval_seconds"
        ],
        "a down cluster exports only the collector's figures"
    );
    assert!(body.contains(&format!(
        "rockscope_cluster_up{{cluster=\"{}\"}} 1",
        live.name
    )));

    // The down cluster's failed scrapes are counted by cluster and error code.
    let query = format!(
        "sum(rockscope_collector_scrape_errors_total{{cluster=\"{}\"}})",
        doomed.name
    );
    wait_for(&query, Duration::from_secs(30), || {
        let result = prometheus.query(&query);
        let value: f64 = result.first()?["value"][1].as_str()?.parse().ok()?;
        (value >= doomed.nodes.len() as f64).then_some(())
    });
    let codes = prometheus.query(&format!(
        "rockscope_collector_scrape_errors_total{{cluster=\"{}\"}}",
        doomed.name
    ));
    assert!(
        codes
            .iter()
            .all(|s| !s["metric"]["code"].as_str().unwrap().is_empty()),
        "{codes:?}"
    );
}

/// rockscope's own families, as a real Prometheus holds them after scraping (in OpenMetrics),
/// with plausible values.
fn assert_self_metrics(prometheus: &Prometheus, live: &str) {
    let targets = prometheus.targets();
    assert_eq!(targets[0]["health"], "up", "{targets:?}");
    assert_eq!(targets[0]["lastError"], "", "{targets:?}");
    // The scrape of /metrics is itself a request of route `/metrics`, seen from the second on.
    wait_for("/metrics timed", Duration::from_secs(30), || {
        let result = prometheus.query(
            "rockscope_api_request_duration_seconds_count{route=\"/metrics\",status=\"200\"}",
        );
        let value: f64 = result.first()?["value"][1].as_str()?.parse().ok()?;
        (value >= 1.0).then_some(())
    });
    let build = prometheus.query("rockscope_build_info");
    assert_eq!(build.len(), 1, "{build:?}");
    assert_eq!(build[0]["value"][1], "1");
    assert_eq!(build[0]["metric"]["version"], env!("CARGO_PKG_VERSION"));

    let cycles = single_value(
        prometheus,
        "rockscope_collector_cycle_duration_seconds_bucket{le=\"+Inf\"}",
    );
    assert!(cycles >= 2.0, "{cycles}");
    let mean = single_value(
        prometheus,
        "rockscope_collector_cycle_duration_seconds_sum / rockscope_collector_cycle_duration_seconds_count",
    );
    assert!(mean > 0.0 && mean < 30.0, "mean cycle {mean} s");
    let buckets = prometheus.query("rockscope_collector_cycle_duration_seconds_bucket");
    assert_eq!(buckets.len(), 12, "11 bounds and +Inf");
    let collections = single_value(
        prometheus,
        &format!(
            "rockscope_collector_cluster_collection_duration_seconds_count{{cluster=\"{live}\"}}"
        ),
    );
    assert!(collections >= 2.0, "{collections}");
    let samples = single_value(
        prometheus,
        &format!("rockscope_collector_samples_parsed_total{{cluster=\"{live}\"}}"),
    );
    assert!(
        samples > 100.0,
        "a simulated node's body has hundreds of samples: {samples}"
    );
    let inserts = single_value(
        prometheus,
        "rockscope_store_write_duration_seconds_count{operation=\"insert_cycle\"}",
    );
    assert!(inserts >= 2.0, "{inserts}");
    assert!(single_value(prometheus, "rockscope_store_database_size_bytes") >= 4096.0);
    assert!(single_value(prometheus, "rockscope_store_wal_size_bytes") >= 0.0);
    // Alerts are off in this test: the evaluations are counted, none happened.
    assert_eq!(
        single_value(prometheus, "rockscope_alert_evaluations_total"),
        0.0
    );

    let rss = single_value(prometheus, "process_resident_memory_bytes");
    assert!(rss > 1e6 && rss < 4e9, "resident {rss} bytes");
    assert!(single_value(prometheus, "process_virtual_memory_bytes") >= rss);
    let fds = single_value(prometheus, "process_open_fds");
    assert!(fds >= 3.0 && fds <= single_value(prometheus, "process_max_fds"));
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let started = single_value(prometheus, "process_start_time_seconds");
    assert!(
        started > now - 600.0 && started <= now + 1.0,
        "{started} vs {now}"
    );
    assert!(single_value(prometheus, "process_cpu_seconds_total") > 0.0);
}
