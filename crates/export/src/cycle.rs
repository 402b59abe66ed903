//! One cluster's latest cycle as exported, and the samples it gives.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use time::OffsetDateTime;

use crate::alert::ActiveAlert;
use crate::custom::{CustomFamilies, CustomFamily};
use crate::names::{AlertSeries, CollectorSeries, Family, Source, families};

/// What one cluster's cycle exports.
#[derive(Debug, Clone)]
pub struct ClusterExport {
    /// The cluster's id in the store.
    pub cluster_id: i64,
    /// The cluster's name: the `cluster` label.
    pub cluster: String,
    /// The cycle's time: the snapshot's `collected_at`, or when a failed cycle ended.
    pub at: OffsetDateTime,
    /// The snapshot the cycle stored; `None` when it stored none (the cluster is down).
    pub snapshot: Option<MetricsSnapshot>,
    /// The node snapshots stored with it (empty when down).
    pub nodes: Vec<NodeSnapshot>,
    /// Cycles in a row that stored no snapshot.
    pub failed_cycles: u32,
    /// When the newest stored snapshot was collected, if ever.
    pub last_success_at: Option<OffsetDateTime>,
    /// The collection interval.
    pub interval: Duration,
    /// The cluster's pending and firing alerts after the cycle's evaluation; `None` when alerts
    /// are off (or the evaluation failed), and then no alert family is exported.
    pub alerts: Option<Vec<ActiveAlert>>,
    /// The families of the custom metrics in force, which name and describe the snapshot's
    /// `custom` values (a value without one is exported under [`CustomFamily::undefined`]).
    pub custom: CustomFamilies,
}

impl ClusterExport {
    /// Whether the cycle stored a snapshot: `rockscope_cluster_up`.
    pub fn is_up(&self) -> bool {
        self.snapshot.is_some()
    }
}

/// What the collector hands each cluster's finished cycle to. Both calls run on the collector's
/// task and must not block (queue, don't send).
pub trait CycleSink: Send + Sync {
    /// A cluster's cycle ended, with or without a snapshot.
    fn cycle_finished(&self, cycle: &Arc<ClusterExport>);
    /// The clusters being collected now; forget any other.
    fn retain_clusters(&self, cluster_ids: &[i64]);
}

/// The labels of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Labels<'a> {
    /// `cluster`.
    pub cluster: &'a str,
    /// A node's labels, for node families.
    pub node: Option<NodeLabels<'a>>,
    /// An alert's labels, for `rockscope_alerts`.
    pub alert: Option<&'a ActiveAlert>,
}

impl<'a> Labels<'a> {
    /// Every label as (name, value), `cluster` first (not sorted by name: a writer that needs
    /// them sorted, like remote write, sorts them).
    pub fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + use<'a> {
        let node = self.node.into_iter().flat_map(|node| {
            [
                Some(("node_type", node.node_type)),
                Some(("instance", node.instance)),
                node.path.map(|path| ("path", path)),
            ]
            .into_iter()
            .flatten()
        });
        let alert = self.alert.into_iter().flat_map(|alert| {
            let state = std::iter::once(("alertstate", alert.alertstate()));
            let labels = alert.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()));
            state.chain(labels)
        });
        std::iter::once(("cluster", self.cluster))
            .chain(node)
            .chain(alert)
    }
}

/// The labels that tell a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLabels<'a> {
    /// `node_type`: `fe`, `be` or `cn`.
    pub node_type: &'a str,
    /// `instance`: the node's `host:http_port`, as scraped.
    pub instance: &'a str,
    /// `path`, for the fullest disk path's usage.
    pub path: Option<&'a str>,
}

/// Calls `f` with every sample of `cycle`, family by family in [`families`]' order, then its
/// custom metrics by name: the collector's figures always, the alerts' when alerts are on, the
/// snapshot's fields, its nodes' and its custom metrics' only when it stored one.
/// A missing value gives no sample.
pub fn for_each_sample(cycle: &ClusterExport, mut f: impl FnMut(&Family, Labels<'_>, f64)) {
    for family in families() {
        for_each_sample_of(family, cycle, &mut f);
    }
    let Some(snapshot) = &cycle.snapshot else {
        return;
    };
    for (name, value) in &snapshot.custom {
        if value.is_none() {
            continue;
        }
        match cycle.custom.get(name) {
            Some(family) => for_each_sample_of(family, cycle, &mut f),
            None => for_each_sample_of(CustomFamily::undefined(name).family(), cycle, &mut f),
        }
    }
}

/// The samples of one family in one cycle (an exposition walks families outermost).
pub fn for_each_sample_of(
    family: &Family,
    cycle: &ClusterExport,
    f: &mut impl FnMut(&Family, Labels<'_>, f64),
) {
    let cluster = Labels {
        cluster: &cycle.cluster,
        node: None,
        alert: None,
    };
    match family.source {
        Source::Collector(series) => {
            if let Some(value) = collector_value(series, cycle) {
                f(family, cluster, value);
            }
        }
        Source::Cluster(get) => {
            if let Some(value) = cycle.snapshot.as_ref().and_then(get) {
                f(family, cluster, value * family.scale);
            }
        }
        Source::Custom => {
            let value = cycle.snapshot.as_ref().and_then(|snapshot| {
                let name = family.field.as_deref()?;
                snapshot.custom.get(name).copied().flatten()
            });
            if let Some(value) = value.filter(|value| value.is_finite()) {
                f(family, cluster, value);
            }
        }
        Source::Alerts(series) => {
            let Some(alerts) = &cycle.alerts else { return };
            let count = |firing: bool| alerts.iter().filter(|a| a.firing == firing).count() as f64;
            match series {
                AlertSeries::Firing => f(family, cluster, count(true)),
                AlertSeries::Pending => f(family, cluster, count(false)),
                AlertSeries::Active => {
                    for alert in alerts {
                        let labels = Labels {
                            alert: Some(alert),
                            ..cluster
                        };
                        f(family, labels, 1.0);
                    }
                }
            }
        }
        Source::Node { get, path } => {
            if cycle.snapshot.is_none() {
                return;
            }
            // One buffer for every node's `instance`, not an allocation per node and family.
            let mut instance = String::with_capacity(32);
            for node in &cycle.nodes {
                let Some(value) = get(node) else { continue };
                let path = if path {
                    match node.fullest_disk_path.as_deref() {
                        Some(path) => Some(path),
                        None => continue,
                    }
                } else {
                    None
                };
                instance.clear();
                let _ = write!(instance, "{}:{}", node.host, node.http_port);
                let labels = Labels {
                    cluster: &cycle.cluster,
                    node: Some(NodeLabels {
                        node_type: node.node_type.as_str(),
                        instance: &instance,
                        path,
                    }),
                    alert: None,
                };
                f(family, labels, value * family.scale);
            }
        }
    }
}

fn collector_value(series: CollectorSeries, cycle: &ClusterExport) -> Option<f64> {
    match series {
        CollectorSeries::Up => Some(if cycle.is_up() { 1.0 } else { 0.0 }),
        CollectorSeries::FailedCycles => Some(f64::from(cycle.failed_cycles)),
        CollectorSeries::LastSuccess => cycle
            .last_success_at
            .map(|at| at.unix_timestamp_nanos() as f64 / 1e9),
        CollectorSeries::Interval => Some(cycle.interval.as_secs_f64()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use rockscope_model::AlertState;

    use super::*;
    use crate::alert::tests::alert;

    /// A cluster whose cycle stored nothing, with `alerts`.
    pub(crate) fn down_cluster(alerts: Option<Vec<ActiveAlert>>) -> ClusterExport {
        ClusterExport {
            cluster_id: 7,
            cluster: "prod".to_owned(),
            at: OffsetDateTime::UNIX_EPOCH,
            snapshot: None,
            nodes: Vec::new(),
            failed_cycles: 3,
            last_success_at: None,
            interval: Duration::from_secs(15),
            alerts,
            custom: CustomFamilies::default(),
        }
    }

    /// Cluster `name` up, its snapshot's `custom` values as given (JSON, `null` for no
    /// value), described by `families`, with one BE.
    pub(crate) fn up_cluster(
        name: &str,
        custom: serde_json::Value,
        families: &CustomFamilies,
    ) -> ClusterExport {
        let snapshot = serde_json::json!({
            "cluster_id": 7, "collected_at": "2026-12-01T00:00:00Z", "scrape_nodes_total": 1,
            "scrape_nodes_ok": 1, "scrape_fe_ok": 0, "scrape_be_ok": 1,
            "scrape_skipped_lines": 0, "rates_from_gauges": false, "source_errors": [],
            "qps": 5.0, "custom": custom,
        });
        let node = serde_json::json!({
            "cluster_id": 7, "collected_at": "2026-12-01T00:00:00Z", "node_type": "be",
            "node_id": "10001", "host": "10.0.0.1", "http_port": 8040, "alive": true,
            "decommissioned": false, "scrape_ok": true, "cpu_usage_pct": 50.0,
            "custom": { "hits": 3.0 },
        });
        ClusterExport {
            cluster: name.to_owned(),
            snapshot: Some(serde_json::from_value(snapshot).expect("snapshot")),
            nodes: vec![serde_json::from_value(node).expect("node")],
            failed_cycles: 0,
            custom: families.clone(),
            ..down_cluster(None)
        }
    }

    pub(crate) fn active(state: AlertState, labels: &[(&str, &str)]) -> ActiveAlert {
        ActiveAlert::of(&alert(state, labels)).unwrap()
    }

    /// One sample: family name, its labels as `k=v,…`, value.
    type Sample = (String, String, f64);

    fn samples(cycle: &ClusterExport) -> Vec<Sample> {
        let mut out = Vec::new();
        for_each_sample(cycle, |family, labels, value| {
            let pairs: Vec<String> = labels.pairs().map(|(k, v)| format!("{k}={v}")).collect();
            out.push((family.name.clone(), pairs.join(","), value));
        });
        out
    }

    fn of<'a>(samples: &'a [Sample], name: &str) -> Vec<&'a Sample> {
        samples.iter().filter(|(n, _, _)| n == name).collect()
    }

    #[test]
    fn active_alerts_are_series_like_prometheus_alerts_with_counts_per_state() {
        let alerts = vec![
            active(
                AlertState::Firing,
                &[
                    ("alertname", "BackendDown"),
                    ("severity", "critical"),
                    ("instance", "10.0.0.1:8040"),
                    ("node_type", "be"),
                ],
            ),
            active(
                AlertState::Pending,
                &[
                    ("alertname", "ClusterUnreachable"),
                    ("severity", "critical"),
                ],
            ),
            active(
                AlertState::Pending,
                &[("alertname", "StaleData"), ("severity", "warning")],
            ),
        ];
        let samples = samples(&down_cluster(Some(alerts)));
        let count = |name| of(&samples, name)[0].2;
        assert_eq!(count("rockscope_cluster_alerts_firing"), 1.0);
        assert_eq!(count("rockscope_cluster_alerts_pending"), 2.0);
        let series = of(&samples, "rockscope_alerts");
        assert_eq!(series.len(), 3);
        assert!(series.iter().all(|(_, _, value)| *value == 1.0));
        assert_eq!(
            series[0].1,
            "cluster=prod,alertstate=firing,alertname=BackendDown,instance=10.0.0.1:8040,\
             node_type=be,severity=critical"
        );
        assert_eq!(
            series[1].1,
            "cluster=prod,alertstate=pending,alertname=ClusterUnreachable,severity=critical"
        );
    }

    #[test]
    fn no_alert_gives_zero_counts_and_alerts_off_gives_no_alert_family() {
        let quiet = samples(&down_cluster(Some(Vec::new())));
        assert_eq!(of(&quiet, "rockscope_cluster_alerts_firing")[0].2, 0.0);
        assert_eq!(of(&quiet, "rockscope_cluster_alerts_pending")[0].2, 0.0);
        assert!(of(&quiet, "rockscope_alerts").is_empty());

        let off = samples(&down_cluster(None));
        assert!(
            off.iter().all(|(name, _, _)| !name.contains("alerts")),
            "{off:?}"
        );
        assert_eq!(of(&off, "rockscope_cluster_up")[0].2, 0.0);
    }

    #[test]
    fn custom_metrics_are_cluster_gauges_and_no_value_gives_no_sample() {
        use crate::custom::tests::spec;

        let families =
            CustomFamilies::new(&[spec("hits", None, None), spec("lookups", None, None)]);
        let custom = serde_json::json!({ "hits": 12.5, "lookups": null, "orphan": 2.0 });
        let up = samples(&up_cluster("prod", custom, &families));
        let custom_samples: Vec<&Sample> = up
            .iter()
            .filter(|(name, _, _)| name.starts_with("rockscope_custom_"))
            .collect();
        // By name; `lookups` has no value; `orphan` has no definition but its value.
        assert_eq!(
            custom_samples,
            [
                &(
                    "rockscope_custom_hits".to_owned(),
                    "cluster=prod".to_owned(),
                    12.5
                ),
                &(
                    "rockscope_custom_orphan".to_owned(),
                    "cluster=prod".to_owned(),
                    2.0
                ),
            ]
        );
        // After every built-in family (the node's own `hits` is not exported: the list above
        // has no sample with node labels).
        assert_eq!(
            up.last().map(|s| s.0.as_str()),
            Some("rockscope_custom_orphan")
        );

        let down = ClusterExport {
            custom: families,
            ..down_cluster(None)
        };
        assert!(
            samples(&down)
                .iter()
                .all(|(n, _, _)| !n.starts_with("rockscope_custom_")),
            "a down cluster exports no custom metric"
        );
    }
}
