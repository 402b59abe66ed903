//! Everything one collection cycle fetched from a cluster: the input of the aggregation engine.
//!
//! The collector fills a [`CycleInput`] (node lists, runtime info, one [`NodeScrape`] per node it
//! tried to scrape) and hands it to the engine, which reads no clock and does no I/O. Every
//! source that can fail is a `Result<_, SourceError>`, so that a partial cycle still produces a
//! snapshot and the snapshot can say which sources failed and why.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::nodes::{Backend, ComputeNode, Frontend, RuntimeInfo};
use crate::scrape::MetricsScrape;

/// The kind of a StarRocks node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// A frontend (FE).
    Fe,
    /// A backend (BE).
    Be,
    /// A compute node (CN).
    Cn,
}

impl NodeKind {
    /// The lower-case name: `fe`, `be` or `cn` (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Fe => "fe",
            NodeKind::Be => "be",
            NodeKind::Cn => "cn",
        }
    }
}

impl std::fmt::Display for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which node a scrape was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeRef {
    /// FE, BE or CN.
    pub kind: NodeKind,
    /// The node's id in its list: `BackendId` / `ComputeNodeId` as text, the FE's `Name`.
    /// May be empty for a node configured by address only.
    pub id: String,
    /// The host (IP or FQDN) the node was scraped at.
    pub host: String,
    /// The HTTP port the node was scraped at.
    pub http_port: u16,
}

impl NodeRef {
    /// The identity the engine keeps counter state under: `kind/host:port`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.address())
    }

    /// The address scraped, `host:port`.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.http_port)
    }
}

/// Why a source (a node list, the runtime info, one node's `/metrics`) gave nothing this cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceError {
    /// What was fetched, e.g. `show_proc /backends`, `metrics 10.0.0.3:8040`.
    pub source: String,
    /// A short machine-readable cause, e.g. `timeout`, `connect`, `http_401`, `parse`.
    pub code: String,
    /// The human-readable detail.
    pub message: String,
}

/// One node's `/metrics` scrape of this cycle, or why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeScrape {
    /// The node scraped.
    pub node: NodeRef,
    /// The body and its timing, or the error.
    pub result: Result<MetricsScrape, SourceError>,
}

/// Everything one collection cycle fetched from one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleInput {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The cycle's nominal time (taken by the caller's clock when the cycle started); becomes the
    /// snapshot's `collected_at`. Rates do not use it: they use each scrape's `fetched_at`.
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// `show_proc /frontends`, as answered by the FE asked (ideally the leader).
    pub frontends: Result<Vec<Frontend>, SourceError>,
    /// `show_proc /backends`.
    pub backends: Result<Vec<Backend>, SourceError>,
    /// `show_proc /compute_nodes` (an empty list on clusters without CNs).
    pub compute_nodes: Result<Vec<ComputeNode>, SourceError>,
    /// `GET /api/show_runtime_info` of the FE asked, when it answered.
    pub runtime_info: Option<RuntimeInfo>,
    /// One entry per node the collector tried to scrape.
    pub scrapes: Vec<NodeScrape>,
    /// Failures of other sources the collector wants recorded in the snapshot (e.g. the runtime
    /// info or a health probe); node lists and scrapes carry their own errors.
    #[serde(default)]
    pub other_errors: Vec<SourceError>,
}

/// Whether a collection cycle reached a cluster: what the daily availability counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reachability {
    /// The cycle stored a snapshot: some node answered.
    Reachable,
    /// Nothing of the cluster answered: no node list and no node's `/metrics`.
    Unreachable,
}

/// The longest gap between two observations of a cluster (snapshots or cycle outcomes) still
/// counted as observed time by the daily availability: a longer one means rockscope itself was
/// not collecting. So a day's roll-up reads this much of the days around it, and the store's
/// thinning spares that much of a day before a day not yet rolled up.
pub const MAX_OBSERVED_GAP: time::Duration = time::Duration::minutes(10);

/// What one collection cycle of one cluster came to, for availability. The collector records one
/// per cycle in which it did its own part (a cycle that failed on rockscope's side, e.g. a failed
/// store write, records none, so that time counts as unknown rather than up or down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CycleOutcome {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The cycle's time: its snapshot's `collected_at` (the [`CycleInput::collected_at`]).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Whether the cluster answered.
    pub reachability: Reachability,
}
