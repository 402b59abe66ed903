//! What the collector tells the API about itself: per-cluster status and recent cycles.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use rockscope_model::{NodeFamilies, NodeKind, SourceError};
use serde::Serialize;
use time::OffsetDateTime;

use crate::error::CollectError;
use crate::shard::Shard;

/// Cycles remembered for `/api/collector/status`.
const KEPT_CYCLES: usize = 50;

/// How often a cluster's cycle lists its bodies' families again for `metric-families`: listing
/// them costs the engine a third more over a fleet's bodies, and they change with an upgrade.
pub const FAMILIES_REFRESH: time::Duration = time::Duration::minutes(5);

/// One cluster's collection status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterStatus {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// When the last collection started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// When the last collection that stored a snapshot started.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// Why the last attempt failed; `None` when it succeeded.
    pub last_error: Option<String>,
    /// Attempts that failed in a row.
    pub consecutive_failures: u32,
    /// How long the last attempt took, in milliseconds.
    pub last_duration_ms: Option<u64>,
    /// The nodes and sources that failed in the last attempt.
    pub node_failures: Vec<SourceError>,
}

impl ClusterStatus {
    fn new(cluster_id: i64, cluster_name: &str) -> ClusterStatus {
        ClusterStatus {
            cluster_id,
            cluster_name: cluster_name.to_owned(),
            last_attempt_at: None,
            last_success_at: None,
            last_error: None,
            consecutive_failures: 0,
            last_duration_ms: None,
            node_failures: Vec::new(),
        }
    }
}

/// One tick of the scheduler.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleSummary {
    /// When the tick fired.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Until the last cluster of the tick finished, in milliseconds.
    pub duration_ms: u64,
    /// Clusters whose snapshot was stored.
    pub clusters_ok: u32,
    /// Clusters that failed.
    pub clusters_failed: u32,
    /// Clusters skipped because their previous collection was still running.
    pub clusters_skipped: u32,
}

/// The shared, cheaply cloned status board the collector writes and the API reads.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    inner: Arc<Mutex<Board>>,
}

#[derive(Debug, Default)]
struct Board {
    clusters: BTreeMap<i64, ClusterStatus>,
    /// Moved by every change of `clusters` ([`StatusBoard::version`]).
    version: u64,
    cycles: VecDeque<CycleSummary>,
    running: bool,
    /// Why the last housekeeping pass panicked; `None` once a pass completes.
    housekeeping_error: Option<String>,
    /// The collector's shard (`collector.shard`); `None` when it collects every cluster.
    shard: Option<Shard>,
    /// Per cluster and node type, the families of the newest body read (discovery).
    families: BTreeMap<i64, BTreeMap<NodeKind, Arc<NodeFamilies>>>,
    /// Custom definitions that look wrong against what the bodies say, by name.
    custom_warnings: BTreeMap<String, String>,
}

impl StatusBoard {
    /// Every known cluster's status, by id.
    pub fn clusters(&self) -> Vec<ClusterStatus> {
        self.lock().clusters.values().cloned().collect()
    }

    /// One cluster's status.
    pub fn cluster(&self, cluster_id: i64) -> Option<ClusterStatus> {
        self.lock().clusters.get(&cluster_id).cloned()
    }

    /// A number that grows whenever some cluster's status changes (an attempt starts or
    /// finishes, a deleted cluster's status is forgotten): equal values mean that
    /// [`StatusBoard::clusters`] has not changed in between. For caches of answers that render
    /// the statuses; read it before reading them.
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// The recent cycles, newest first.
    pub fn cycles(&self) -> Vec<CycleSummary> {
        self.lock().cycles.iter().rev().cloned().collect()
    }

    /// The share of the clusters the collector collects (`collector.shard`); `None` when it
    /// collects every cluster. Set when the collector is built.
    pub fn shard(&self) -> Option<Shard> {
        self.lock().shard
    }

    pub(crate) fn set_shard(&self, shard: Option<Shard>) {
        self.lock().shard = shard;
    }

    /// Whether the collection loop is running (for readiness).
    pub fn is_running(&self) -> bool {
        self.lock().running
    }

    /// Why the last housekeeping pass panicked, if it did (`None` once a pass completes); for
    /// readiness.
    pub fn housekeeping_error(&self) -> Option<String> {
        self.lock().housekeeping_error.clone()
    }

    /// Records a panicked housekeeping pass (the collector's housekeeping calls it); `true` when
    /// the previous pass had completed (the caller logs only then: once per failure, not once
    /// per pass).
    pub fn housekeeping_failed(&self, message: &str) -> bool {
        self.lock()
            .housekeeping_error
            .replace(message.to_owned())
            .is_none()
    }

    /// Records a completed housekeeping pass; `true` when the previous one had panicked.
    pub(crate) fn housekeeping_completed(&self) -> bool {
        self.lock().housekeeping_error.take().is_some()
    }

    pub(crate) fn set_running(&self, running: bool) {
        self.lock().running = running;
    }

    pub(crate) fn attempt_started(&self, cluster_id: i64, name: &str, at: OffsetDateTime) {
        let mut board = self.lock();
        board.version = board.version.wrapping_add(1);
        let status = board
            .clusters
            .entry(cluster_id)
            .or_insert_with(|| ClusterStatus::new(cluster_id, name));
        status.cluster_name = name.to_owned();
        status.last_attempt_at = Some(at);
    }

    pub(crate) fn attempt_finished(
        &self,
        cluster_id: i64,
        name: &str,
        started_at: OffsetDateTime,
        duration_ms: u64,
        outcome: Result<Vec<SourceError>, &CollectError>,
    ) {
        let mut board = self.lock();
        board.version = board.version.wrapping_add(1);
        let status = board
            .clusters
            .entry(cluster_id)
            .or_insert_with(|| ClusterStatus::new(cluster_id, name));
        status.last_duration_ms = Some(duration_ms);
        match outcome {
            Ok(node_failures) => {
                status.last_success_at = Some(started_at);
                status.last_error = None;
                status.consecutive_failures = 0;
                status.node_failures = node_failures;
            }
            Err(error) => {
                status.last_error = Some(error.to_string());
                status.consecutive_failures = status.consecutive_failures.saturating_add(1);
                status.node_failures = Vec::new();
            }
        }
    }

    pub(crate) fn forget_missing(&self, present: &[i64]) {
        let mut board = self.lock();
        let before = board.clusters.len();
        board.clusters.retain(|id, _| present.contains(id));
        if board.clusters.len() != before {
            board.version = board.version.wrapping_add(1);
        }
        board.families.retain(|id, _| present.contains(id));
    }

    /// The metric families of the newest body of each node type of the cluster, FE first
    /// (a node type not read this cycle keeps its previous body's).
    pub fn families(&self, cluster_id: i64) -> Vec<Arc<NodeFamilies>> {
        self.lock()
            .families
            .get(&cluster_id)
            .map(|by_type| by_type.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the cluster's cycle at `at` should list its bodies' families again: none listed
    /// yet, or the newest listing is [`FAMILIES_REFRESH`] old.
    /// The families of every cluster's newest bodies, read under one lock (what a definition
    /// is checked against).
    pub fn all_families(&self) -> Vec<Arc<NodeFamilies>> {
        self.lock()
            .families
            .values()
            .flat_map(|by_type| by_type.values().cloned())
            .collect()
    }

    pub(crate) fn families_due(&self, cluster_id: i64, at: OffsetDateTime) -> bool {
        let board = self.lock();
        let newest = board
            .families
            .get(&cluster_id)
            .and_then(|by_type| by_type.values().map(|f| f.fetched_at).max());
        newest.is_none_or(|listed| at - listed >= FAMILIES_REFRESH)
    }

    pub(crate) fn set_families(&self, cluster_id: i64, families: Vec<NodeFamilies>) {
        if families.is_empty() {
            return;
        }
        let mut board = self.lock();
        let by_type = board.families.entry(cluster_id).or_default();
        for f in families {
            let unchanged = by_type
                .get(&f.node_type)
                .is_some_and(|old| old.families == f.families && old.node == f.node);
            if unchanged {
                // Keep the shared copy; only the time moves.
                if let Some(old) = by_type.get_mut(&f.node_type) {
                    Arc::make_mut(old).fetched_at = f.fetched_at;
                }
                continue;
            }
            by_type.insert(f.node_type, Arc::new(f));
        }
    }

    /// The custom definitions the bodies contradict ("rate on a gauge"), by name, with the
    /// message.
    pub fn custom_warnings(&self) -> BTreeMap<String, String> {
        self.lock().custom_warnings.clone()
    }

    /// Records a cycle's warnings; `true` for each one not known before (to log it once).
    pub(crate) fn note_custom_warning(&self, name: &str, message: String) -> bool {
        self.lock()
            .custom_warnings
            .insert(name.to_owned(), message.clone())
            .is_none_or(|old| old != message)
    }

    /// Forgets the warning of a definition that changed or went (the next cycle says again
    /// whether it holds).
    pub fn forget_custom_warning(&self, name: &str) {
        self.lock().custom_warnings.remove(name);
    }

    pub(crate) fn cycle_finished(&self, summary: CycleSummary) {
        let mut board = self.lock();
        if board.cycles.len() == KEPT_CYCLES {
            board.cycles.pop_front();
        }
        board.cycles.push_back(summary);
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        // A panic while holding the lock leaves plain data behind; keep serving it.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_moves_with_every_change_of_a_cluster_status() {
        let board = StatusBoard::default();
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut last = board.version();
        let mut moved = |what: &str, expected: bool| {
            let now = board.version();
            assert_eq!(now != last, expected, "{what}");
            last = now;
        };
        board.attempt_started(1, "a", at);
        moved("an attempt started", true);
        board.attempt_finished(1, "a", at, 5, Ok(Vec::new()));
        moved("an attempt finished", true);
        board.attempt_started(2, "b", at);
        moved("another cluster's attempt", true);
        board.cycle_finished(CycleSummary {
            started_at: at,
            duration_ms: 5,
            clusters_ok: 2,
            clusters_failed: 0,
            clusters_skipped: 0,
        });
        board.set_running(true);
        moved("no cluster status changed", false);
        board.forget_missing(&[1, 2]);
        moved("nothing forgotten", false);
        board.forget_missing(&[1]);
        moved("a deleted cluster's status forgotten", true);
        assert_eq!(board.clusters().len(), 1);
    }
}
