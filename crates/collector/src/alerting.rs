//! Alert evaluation after each cluster's cycle: the edge around `rockscope-alerts` (which is
//! pure). It reads what the evaluator needs from the store (the previous alerts, the snapshots
//! within the rules' lookback), evaluates, hands what is due to delivery (which never blocks),
//! and stores the new alert states and their history in one transaction.
//!
//! A cycle that stored nothing is evaluated too, over the last stored cycle: the data rules then
//! keep their state (the same data gives the same answer) while `ClusterUnreachable` and
//! `StaleData` see the failure.

use std::sync::Arc;
use std::time::Duration;

use rockscope_alerts::{ClusterView, RuleSet, evaluate};
use rockscope_model::{AlertState, MetricsSnapshot, NodeSnapshot};
use rockscope_notify::Notifier;
use rockscope_store::{Error as StoreError, Store};
use time::OffsetDateTime;

/// Reads the rules in force now (the API owns them and replaces them when a user rule changes).
pub type RulesReader = Arc<dyn Fn() -> Arc<RuleSet> + Send + Sync>;

/// What the collector hands to alert evaluation: the rules and where alerts go.
#[derive(Clone)]
pub struct Alerting {
    /// The rules in force.
    pub rules: RulesReader,
    /// Delivery to Alertmanagers and webhooks; `None` when no receiver is configured.
    pub notifier: Option<Arc<Notifier>>,
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

/// What one evaluation came to, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AlertCounts {
    pub firing: usize,
    pub pending: usize,
    pub changes: usize,
}

impl Alerting {
    /// Evaluates the rules for one cluster at `now`; blocking (store reads and one write).
    pub(crate) fn evaluate_cycle(
        &self,
        store: &Store,
        cycle: CycleForAlerts,
        interval: Duration,
        now: OffsetDateTime,
    ) -> Result<AlertCounts, StoreError> {
        let rules = (self.rules)();
        let previous = store.cluster_alerts(cycle.cluster_id)?;
        let lookback = time::Duration::try_from(rules.lookback()).unwrap_or(time::Duration::DAY);
        let (history, nodes) = match cycle.stored {
            Some((snapshot, nodes)) => {
                let to = snapshot.collected_at;
                let mut history =
                    store.snapshots_range(cycle.cluster_id, to - lookback, to, usize::MAX)?;
                if history.last().map(|s| s.collected_at) != Some(to) {
                    history.push(snapshot);
                }
                (history, nodes)
            }
            None => match store.latest_snapshot(cycle.cluster_id)? {
                Some(latest) => {
                    let to = latest.collected_at;
                    let history =
                        store.snapshots_range(cycle.cluster_id, to - lookback, to, usize::MAX)?;
                    (history, store.latest_nodes(cycle.cluster_id)?)
                }
                None => (Vec::new(), Vec::new()),
            },
        };
        let view = ClusterView {
            cluster_id: cycle.cluster_id,
            cluster_name: &cycle.cluster_name,
            interval,
            history: &history,
            nodes: &nodes,
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
        store.save_alert_evaluation(cycle.cluster_id, &evaluation.alerts, &evaluation.events)?;
        let count = |state| {
            evaluation
                .alerts
                .iter()
                .filter(|a| a.state == state)
                .count()
        };
        Ok(AlertCounts {
            firing: count(AlertState::Firing),
            pending: count(AlertState::Pending),
            changes: evaluation.events.len(),
        })
    }
}
