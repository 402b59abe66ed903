//! Cycles for the unit tests.

use std::time::Duration;

use rockscope_export::ClusterExport;
use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

/// A snapshot with only `qps` set.
pub(crate) fn snapshot(cluster_id: i64, at: OffsetDateTime, qps: f64) -> MetricsSnapshot {
    serde_json::from_value(json!({
        "cluster_id": cluster_id, "collected_at": rfc3339(at), "scrape_nodes_total": 1,
        "scrape_nodes_ok": 1, "scrape_fe_ok": 1, "scrape_be_ok": 1, "scrape_skipped_lines": 0,
        "rates_from_gauges": false, "source_errors": [], "qps": qps,
    }))
    .unwrap()
}

/// A BE at 10.0.0.1:8040 with only `cpu_usage_pct` set.
pub(crate) fn node(cluster_id: i64, at: OffsetDateTime, cpu_pct: f64) -> NodeSnapshot {
    serde_json::from_value(json!({
        "cluster_id": cluster_id, "collected_at": rfc3339(at), "node_type": "be",
        "node_id": "10001", "host": "10.0.0.1", "http_port": 8040, "alive": true,
        "decommissioned": false, "scrape_ok": true, "cpu_usage_pct": cpu_pct,
    }))
    .unwrap()
}

/// An up cycle of cluster `name` at `at`, one BE.
pub(crate) fn cycle(cluster_id: i64, name: &str, at: OffsetDateTime) -> ClusterExport {
    ClusterExport {
        cluster_id,
        cluster: name.to_owned(),
        at,
        snapshot: Some(snapshot(cluster_id, at, 12.5)),
        nodes: vec![node(cluster_id, at, 50.0)],
        failed_cycles: 0,
        last_success_at: Some(at),
        interval: Duration::from_secs(1),
        // One firing node alert, so that the alerts' series are sent too.
        alerts: Some(vec![rockscope_export::ActiveAlert {
            firing: true,
            labels: vec![
                ("alertname".to_owned(), "StarRocksBeDown".to_owned()),
                ("instance".to_owned(), "127.0.0.1:8040".to_owned()),
                ("node_type".to_owned(), "be".to_owned()),
                ("severity".to_owned(), "critical".to_owned()),
            ],
        }]),
        custom: rockscope_export::CustomFamilies::default(),
    }
}
