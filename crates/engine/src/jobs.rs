//! Load jobs, routine loads, transactions, and the other figures only the leader FE knows.
//!
//! StarRocks computes `starrocks_fe_job`, `routine_load_jobs`, `txn_running`,
//! `max_tablet_compaction_score`, `scheduled_tablet_num` and the routine-load lag on the leader
//! only (followers report 0 or nothing), and only the leader checkpoints its journal
//! (`meta_log_count`), so these are read from the leader's body alone; without a leader body
//! they are `None`.
//! The transaction and load counters count what each FE did, so they are summed over FEs.

use crate::extract::{FeCounters, FeMetrics, FeView};
use crate::rates::{per_second, sum_opt};

/// The figures read from the leader's body.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LeaderFigures {
    /// Load jobs LOADING, over types.
    pub load_running: Option<f64>,
    /// Load jobs PENDING or QUEUEING.
    pub load_pending: Option<f64>,
    /// Load jobs FINISHED.
    pub load_finished: Option<f64>,
    /// Load jobs CANCELLED.
    pub load_cancelled: Option<f64>,
    /// Routine-load jobs NEED_SCHEDULE.
    pub routine_need_schedule: Option<f64>,
    /// Routine-load jobs RUNNING.
    pub routine_running: Option<f64>,
    /// Routine-load jobs PAUSED.
    pub routine_paused: Option<f64>,
    /// Routine-load jobs UNSTABLE.
    pub routine_unstable: Option<f64>,
    /// Routine-load jobs STOPPED.
    pub routine_stopped: Option<f64>,
    /// Routine-load jobs CANCELLED.
    pub routine_cancelled: Option<f64>,
    /// Running transactions, over databases.
    pub txn_running: Option<f64>,
    /// The cluster's highest tablet compaction score.
    pub max_compaction_score: Option<f64>,
    /// Tablets scheduled for repair or balance.
    pub scheduled_tablet_num: Option<f64>,
    /// Running transactions of the busiest database.
    pub txn_running_max_db: Option<f64>,
    /// Journal entries not yet checkpointed.
    pub meta_log_count: Option<f64>,
    /// The largest routine-load partition lag, rows.
    pub routine_load_max_lag: Option<f64>,
}

/// Reads the leader-only figures from the leader's body.
pub fn leader_figures(leader: Option<&FeMetrics>) -> LeaderFigures {
    let Some(m) = leader else {
        return LeaderFigures::default();
    };
    let (j, r) = (&m.load_jobs, &m.routine_load);
    LeaderFigures {
        load_running: j.loading,
        load_pending: j.pending,
        load_finished: j.finished,
        load_cancelled: j.cancelled,
        routine_need_schedule: r.need_schedule,
        routine_running: r.running,
        routine_paused: r.paused,
        routine_unstable: r.unstable,
        routine_stopped: r.stopped,
        routine_cancelled: r.cancelled,
        txn_running: m.txn_running,
        max_compaction_score: m.max_tablet_compaction_score,
        scheduled_tablet_num: m.scheduled_tablet_num,
        txn_running_max_db: m.txn_running_max_db,
        meta_log_count: m.meta_log_count,
        routine_load_max_lag: m.routine_load_max_lag,
    }
}

/// Transaction and load counters summed over FEs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TxnTotals {
    /// Σ `txn_begin`.
    pub begin: Option<f64>,
    /// Σ `txn_success`.
    pub success: Option<f64>,
    /// Σ `txn_failed`.
    pub failed: Option<f64>,
    /// Σ `txn_reject`.
    pub reject: Option<f64>,
    /// Σ `load_finished`.
    pub load_finished: Option<f64>,
    /// Σ Δ`txn_begin`/Δt.
    pub begin_rate: Option<f64>,
    /// Σ Δ`txn_begin` over the FEs with a previous scrape.
    pub begin_interval: Option<f64>,
    /// Σ Δ`txn_failed` over the FEs with a previous scrape.
    pub failed_interval: Option<f64>,
}

/// The transaction and load counters of the scraped FEs.
pub fn txn_totals(fes: &[FeView<'_>]) -> TxnTotals {
    let c =
        |get: fn(&FeCounters) -> Option<f64>| sum_opt(fes.iter().map(|f| get(&f.metrics.counters)));
    TxnTotals {
        begin: c(|c| c.txn_begin),
        success: c(|c| c.txn_success),
        failed: c(|c| c.txn_failed),
        reject: c(|c| c.txn_reject),
        load_finished: c(|c| c.load_finished),
        begin_rate: sum_opt(
            fes.iter()
                .map(|f| per_second(f.increase(|c| c.txn_begin), f.seconds)),
        ),
        begin_interval: sum_opt(fes.iter().map(|f| f.increase(|c| c.txn_begin))),
        failed_interval: sum_opt(fes.iter().map(|f| f.increase(|c| c.txn_failed))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::extract_fe;

    const LEADER: &str = "\
starrocks_fe_job{job=\"load\", type=\"BROKER\", state=\"LOADING\"} 2
starrocks_fe_job{job=\"load\", type=\"INSERT\", state=\"LOADING\"} 3
starrocks_fe_job{job=\"load\", type=\"INSERT\", state=\"FINISHED\"} 40
starrocks_fe_job{job=\"load\", type=\"SPARK\", state=\"CANCELLED\"} 1
starrocks_fe_job{job=\"load\", type=\"INSERT\", state=\"PENDING\"} 4
starrocks_fe_job{job=\"alter\", type=\"SCHEMA_CHANGE\", state=\"running\"} 7
starrocks_fe_routine_load_jobs{state=\"RUNNING\"} 3
starrocks_fe_routine_load_jobs{state=\"PAUSED\"} 1
starrocks_fe_routine_load_jobs{name=\"j1\", table=\"t\", database=\"d\", state=\"RUNNING\"} 1
starrocks_fe_txn_running{is_leader=\"true\", db=\"a\"} 4
starrocks_fe_max_tablet_compaction_score 12.5
starrocks_fe_scheduled_tablet_num 6
starrocks_fe_txn_begin 100
starrocks_fe_txn_success 90
starrocks_fe_txn_failed 5
starrocks_fe_txn_reject 1
starrocks_fe_load_finished 40
";

    #[test]
    fn leader_only() {
        let m = extract_fe(LEADER.as_bytes());
        let f = leader_figures(Some(&m));
        assert_eq!(f.load_running, Some(5.0));
        assert_eq!(f.load_pending, Some(4.0));
        assert_eq!(f.load_finished, Some(40.0));
        assert_eq!(f.load_cancelled, Some(1.0));
        assert_eq!(f.routine_running, Some(4.0));
        assert_eq!(f.routine_paused, Some(1.0));
        assert_eq!(f.routine_stopped, None);
        assert_eq!(f.txn_running, Some(4.0));
        assert_eq!(f.max_compaction_score, Some(12.5));
        assert_eq!(f.scheduled_tablet_num, Some(6.0));
        assert_eq!(leader_figures(None), LeaderFigures::default());
    }

    #[test]
    fn txn_sums_and_rate() {
        let a = extract_fe(LEADER.as_bytes());
        let b = extract_fe(b"starrocks_fe_txn_begin 10\nstarrocks_fe_txn_success 10\n");
        let prev_a = FeCounters {
            txn_begin: Some(40.0),
            ..FeCounters::default()
        };
        // b restarted: 10 < 30, so the increase is 10
        let prev_b = FeCounters {
            txn_begin: Some(30.0),
            ..FeCounters::default()
        };
        let fes = [
            FeView {
                metrics: &a,
                prev: Some(&prev_a),
                seconds: Some(30.0),
            },
            FeView {
                metrics: &b,
                prev: Some(&prev_b),
                seconds: Some(10.0),
            },
        ];
        let t = txn_totals(&fes);
        assert_eq!(t.begin, Some(110.0));
        assert_eq!(t.success, Some(100.0));
        assert_eq!(t.failed, Some(5.0));
        assert_eq!(t.reject, Some(1.0));
        assert_eq!(t.load_finished, Some(40.0));
        // 60/30 + 10/10
        assert_eq!(t.begin_rate, Some(3.0));
    }
}
