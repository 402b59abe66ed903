//! `GET /metrics` end to end: a real Prometheus scrapes the binary (with the API token) and
//! holds each simulated cluster's series; a cluster that goes down exports `up 0` and none of
//! its older values; both text formats pass `promtool check metrics`.

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
    let open_metrics = app.request_with_header(
        "GET",
        "/metrics",
        "Accept",
        "application/openmetrics-text;version=1.0.0",
    );
    // This request carries no token: with one, the same body in OpenMetrics.
    assert_eq!(open_metrics.status, 401);

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
    let doomed_series: Vec<&str> = body
        .lines()
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
}
