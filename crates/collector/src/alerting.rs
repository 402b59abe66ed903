//! Alert evaluation after each cluster's cycle: the edge around `rockscope-alerts` (which is
//! pure). It reads what the evaluator needs from the store (the previous alerts, the snapshots
//! within the rules' lookback), evaluates, hands what is due to delivery (which never blocks),
//! and stores the new alert states and their history in one transaction.
//!
//! A cycle that stored nothing is evaluated too, over the last stored cycle: the data rules then
//! keep their state (the same data gives the same answer) while `ClusterUnreachable` and
//! `StaleData` see the failure.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rockscope_alerts::{ClusterView, RuleSet, evaluate};
use rockscope_export::ActiveAlert;
use rockscope_model::{AlertState, MetricsSnapshot, NodeSnapshot};
use rockscope_notify::Notifier;
use rockscope_store::{Error as StoreError, Store};
use time::OffsetDateTime;

/// Reads the rules in force now (the API owns them and replaces them when a user rule changes).
pub type RulesReader = Arc<dyn Fn() -> Arc<RuleSet> + Send + Sync>;

/// What the collector hands to alert evaluation: the rules and where alerts go. Keeps each
/// cluster's recent snapshots (the rules' lookback) and newest node snapshots in memory, so
/// that an evaluation reads no history from the store: reading it cost 50 times the evaluation
/// (`docs/BENCHMARKS.md`).
#[derive(Clone)]
pub struct Alerting {
    rules: RulesReader,
    notifier: Option<Arc<Notifier>>,
    recent: Arc<Mutex<HashMap<i64, Recent>>>,
}

/// One cluster's cycles the rules look back over.
#[derive(Debug, Default)]
struct Recent {
    /// Snapshots within the lookback of the newest, oldest first.
    history: Vec<MetricsSnapshot>,
    /// The newest snapshot's node snapshots.
    nodes: Vec<NodeSnapshot>,
}

/// One cluster's cycle as alert evaluation sees it.
pub(crate) struct CycleForAlerts {
    pub cluster_id: i64,
    pub cluster_name: String,
    /// The cycle's snapshot and node snapshots, when it stored them.
    pub stored: Option<(MetricsSnapshot, Vec<NodeSnapshot>)>,
    /// When a cycle of the cluster last stored a snapshot.
    pub last_success_at: Option<OffsetDateTime>,
    /// Cycles in a row that stored nothing.
    pub failed_cycles: u32,
}

/// What one evaluation came to: counts for the log, the active alerts for the export.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Evaluated {
    pub firing: usize,
    pub pending: usize,
    pub changes: usize,
    /// The pending and firing alerts, as `/metrics` and remote write export them.
    pub active: Vec<ActiveAlert>,
}

impl Alerting {
    /// Evaluation with the rules `rules` reads, delivering through `notifier` when given.
    pub fn new(rules: RulesReader, notifier: Option<Arc<Notifier>>) -> Alerting {
        Alerting {
            rules,
            notifier,
            recent: Arc::default(),
        }
    }

    /// Forgets the clusters not in `present` (deleted or disabled).
    pub(crate) fn forget_missing(&self, present: &[i64]) {
        lock(&self.recent).retain(|id, _| present.contains(id));
    }

    /// The cluster's recent cycles with `stored` (this cycle's, when it stored one) added and
    /// the lookback applied; read from the store the first time only (after a start).
    fn recent(
        &self,
        store: &Store,
        cluster_id: i64,
        stored: Option<(MetricsSnapshot, Vec<NodeSnapshot>)>,
        lookback: time::Duration,
    ) -> Result<Recent, StoreError> {
        let cached = lock(&self.recent).remove(&cluster_id);
        let mut recent = match cached {
            Some(recent) => recent,
            None => match store.latest_snapshot(cluster_id)? {
                Some(latest) => {
                    let to = latest.collected_at;
                    Recent {
                        history: store.snapshots_range(
                            cluster_id,
                            to - lookback,
                            to,
                            usize::MAX,
                        )?,
                        nodes: store.latest_nodes(cluster_id)?,
                    }
                }
                None => Recent::default(),
            },
        };
        if let Some((snapshot, nodes)) = stored {
            let newer = |s: &MetricsSnapshot| s.collected_at >= snapshot.collected_at;
            // Read from the store after this cycle's insert, the history may hold it already.
            recent.history.retain(|s| !newer(s));
            recent.history.push(snapshot);
            recent.nodes = nodes;
        }
        if let Some(newest) = recent.history.last().map(|s| s.collected_at) {
            recent
                .history
                .retain(|s| s.collected_at >= newest - lookback);
        }
        Ok(recent)
    }

    fn keep_recent(&self, cluster_id: i64, recent: Recent) {
        lock(&self.recent).insert(cluster_id, recent);
    }

    /// Evaluates the rules for one cluster at `now`; blocking (store reads and one write).
    pub(crate) fn evaluate_cycle(
        &self,
        store: &Store,
        cycle: CycleForAlerts,
        interval: Duration,
        now: OffsetDateTime,
    ) -> Result<Evaluated, StoreError> {
        let rules = (self.rules)();
        let previous = store.cluster_alerts(cycle.cluster_id)?;
        let lookback = time::Duration::try_from(rules.lookback()).unwrap_or(time::Duration::DAY);
        let recent = self.recent(store, cycle.cluster_id, cycle.stored, lookback)?;
        let (history, nodes) = (&recent.history, &recent.nodes);
        let view = ClusterView {
            cluster_id: cycle.cluster_id,
            cluster_name: &cycle.cluster_name,
            interval,
            history,
            nodes,
            last_success_at: cycle.last_success_at,
            failed_cycles: cycle.failed_cycles,
        };
        let mut evaluation = evaluate(&rules, &view, &previous, now);
        if let Some(notifier) = &self.notifier {
            notifier.submit(
                cycle.cluster_id,
                &cycle.cluster_name,
                &mut evaluation.alerts,
                interval,
                now,
            );
        }
        // A quiet cluster (no alert before or after, nothing changed) writes nothing: most
        // clusters, most cycles, and a write transaction costs more than the evaluation.
        let quiet = previous.is_empty() && evaluation.alerts.is_empty();
        if !quiet || !evaluation.events.is_empty() {
            store.save_alert_evaluation(
                cycle.cluster_id,
                &evaluation.alerts,
                &evaluation.events,
            )?;
        }
        self.keep_recent(cycle.cluster_id, recent);
        let count = |state| {
            evaluation
                .alerts
                .iter()
                .filter(|a| a.state == state)
                .count()
        };
        Ok(Evaluated {
            firing: count(AlertState::Firing),
            pending: count(AlertState::Pending),
            changes: evaluation.events.len(),
            active: evaluation
                .alerts
                .iter()
                .filter_map(ActiveAlert::of)
                .collect(),
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
