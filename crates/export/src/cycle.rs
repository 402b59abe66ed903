//! One cluster's latest cycle as exported, and the samples it gives.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use time::OffsetDateTime;

use crate::names::{CollectorSeries, Family, Source, families};

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

/// Calls `f` with every sample of `cycle`, family by family in [`families`]' order: the
/// collector's figures always, the snapshot's fields and its nodes' only when it stored one.
/// A missing value gives no sample.
pub fn for_each_sample(cycle: &ClusterExport, mut f: impl FnMut(&'static Family, Labels<'_>, f64)) {
    for family in families() {
        for_each_sample_of(family, cycle, &mut f);
    }
}

/// The samples of one family in one cycle (an exposition walks families outermost).
pub fn for_each_sample_of(
    family: &'static Family,
    cycle: &ClusterExport,
    f: &mut impl FnMut(&'static Family, Labels<'_>, f64),
) {
    let cluster = Labels {
        cluster: &cycle.cluster,
        node: None,
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
