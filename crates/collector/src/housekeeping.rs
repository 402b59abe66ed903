//! After each tick: the daily aggregates of finished UTC days (every day that has snapshots or
//! cycle outcomes and no daily row yet, including days missed while the service was down; a day
//! is finished once the observations that close its last interval are in), then retention of
//! expired rows (the 5- and 30-minute tiers of the snapshots by their own `tier_retention_days`), then a checkpoint of the store's write-ahead log (so that no insert of the
//! next tick has to run it).
//!
//! The roll-up runs first, and retention never deletes the snapshots of a day not rolled up
//! ([`Store::delete_expired_snapshots`]): a forward jump of the wall clock longer than the
//! retention must not take the history with it. Every date computed from `retention_days`
//! saturates (a huge retention keeps everything instead of panicking). A panic inside a pass is
//! caught, logged once (until a pass completes again) and shown by `/ready` through the
//! [`StatusBoard`]. A step that fails pass after pass (a read-only, full or deleted database) is
//! logged once, then at most every few minutes, and its recovery once ([`RepeatLog`]).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use rockscope_engine::daily::MAX_OBSERVED_GAP;
use rockscope_engine::{expired_before, rollup_day, rollup_window};
use rockscope_store::Store;
use time::{Date, Duration, OffsetDateTime};
use tokio::sync::Mutex;

use crate::StatusBoard;
use crate::repeat_log::RepeatLog;

/// The most rows one retention transaction deletes (the store deletes fewer when a batch of
/// this size would hold the write turn longer than `rockscope_store::retention::BATCH_TARGET`).
/// Public for the storage benchmark, which runs housekeeping's steps one by one.
pub const RETENTION_BATCH: usize = 2_000;

/// Retention and daily aggregation, never two passes at once.
pub(crate) struct Housekeeping {
    store: Store,
    status: StatusBoard,
    retention_days: u32,
    /// Days the 5-minute tier is kept; `None`: `retention_days`.
    tier_retention_days: Option<u32>,
    /// Hours every cycle's node rows are kept before thinning.
    full_resolution_hours: u32,
    /// Hours the 5-minute tier keeps its 5-minute granules.
    tier_5m_hours: u32,
    daily_retention_days: u32,
    /// Days the alert history is kept.
    alert_history_days: u32,
    running: Arc<Mutex<()>>,
    /// The UTC day (Julian day number) whose predecessors are all aggregated; 0 before the first pass.
    daily_done_through: AtomicI64,
    /// Steps that fail pass after pass, logged once and then every few minutes.
    repeats: RepeatLog,
    /// Makes the next pass panic (the tests' stand-in for a bug).
    #[cfg(test)]
    panic_next: std::sync::atomic::AtomicBool,
}

impl Housekeeping {
    pub(crate) fn new(
        store: Store,
        status: StatusBoard,
        retention_days: u32,
        daily_retention_days: u32,
    ) -> Self {
        Housekeeping {
            store,
            status,
            retention_days,
            tier_retention_days: None,
            full_resolution_hours: DEFAULT_FULL_RESOLUTION_HOURS,
            tier_5m_hours: DEFAULT_TIER_5M_HOURS,
            daily_retention_days,
            alert_history_days: DEFAULT_ALERT_HISTORY_DAYS,
            running: Arc::new(Mutex::new(())),
            daily_done_through: AtomicI64::new(0),
            repeats: RepeatLog::default(),
            #[cfg(test)]
            panic_next: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Keeps the alert history `days` days (default [`DEFAULT_ALERT_HISTORY_DAYS`]).
    pub(crate) fn with_alert_history_days(mut self, days: u32) -> Self {
        self.alert_history_days = days;
        self
    }

    /// Keeps the 5-minute tier of the snapshots `days` days (`None`, the default: as long as
    /// the snapshots).
    pub(crate) fn with_tier_retention_days(mut self, days: Option<u32>) -> Self {
        self.tier_retention_days = days;
        self
    }

    /// Keeps every cycle's node rows `hours` hours (default [`DEFAULT_FULL_RESOLUTION_HOURS`];
    /// its snapshot at least a day, [`thinning_cutoffs`]), then one cycle per 30 minutes
    /// (`Store::thin_before`).
    pub(crate) fn with_full_resolution_hours(mut self, hours: u32) -> Self {
        self.full_resolution_hours = hours;
        self
    }

    /// Keeps the 5-minute tier's granules `hours` hours (default [`DEFAULT_TIER_5M_HOURS`]),
    /// then merges them into half hours (`Store::merge_tier_before`).
    pub(crate) fn with_tier_5m_hours(mut self, hours: u32) -> Self {
        self.tier_5m_hours = hours;
        self
    }

    /// One pass; returns at once when another pass is still running.
    pub(crate) async fn run(&self, now: OffsetDateTime) {
        self.run_at(now, Instant::now()).await;
    }

    /// [`Housekeeping::run`] at wall time `now`, `instant` being the same moment on the
    /// monotonic clock (which spaces the log lines of a repeating failure).
    async fn run_at(&self, now: OffsetDateTime, instant: Instant) {
        let Ok(_guard) = self.running.try_lock() else {
            return;
        };
        let store = self.store.clone();
        let days = Days {
            snapshots: self.retention_days,
            tier: self.tier_retention_days.unwrap_or(self.retention_days),
            full_resolution_hours: self.full_resolution_hours,
            tier_5m_hours: self.tier_5m_hours,
            daily: self.daily_retention_days,
            alert_history: self.alert_history_days,
        };
        let settled = i64::from(settled_before(now).to_julian_day());
        let need_daily = settled > self.daily_done_through.load(Ordering::Relaxed);
        #[cfg(test)]
        let panic_now = self.panic_next.swap(false, Ordering::Relaxed);
        let pass = tokio::task::spawn_blocking(move || {
            #[cfg(test)]
            assert!(!panic_now, "injected housekeeping panic");
            // Roll up first: retention then spares any day the roll-up could not finish.
            let built = need_daily.then(|| build_missing_days(&store, now));
            let mut steps = expire(&store, now, days);
            // The store leaves checkpoints to its owner (and to its clean-ups) rather than to
            // whichever insert crosses SQLite's threshold.
            steps.push((
                "checkpoint",
                "Checkpoint of the database",
                store.checkpoint().err(),
            ));
            // One stat: notices a database file deleted while no write ran.
            store.storage_state();
            (built, steps)
        });
        let (built, steps) = match pass.await {
            Ok(outcome) => outcome,
            Err(e) if e.is_panic() => {
                let message = panic_message(e.into_panic());
                if self.status.housekeeping_failed(&message) {
                    log::error!(
                        "Housekeeping panicked; /ready reports not ready until a pass completes \
                         (logged once). error={message}"
                    );
                }
                return;
            }
            Err(e) => {
                log::warn!("Housekeeping did not finish. error={e}");
                return;
            }
        };
        if self.status.housekeeping_completed() {
            log::info!("Housekeeping completes again.");
        }
        for (what, doing, error) in &steps {
            let error = error.as_ref().map(|e| e as &dyn std::fmt::Display);
            self.repeats.log_outcome(what, doing, error, instant);
        }
        let Some(built) = built else { return };
        let error = built.as_ref().err().map(|e| e as &dyn std::fmt::Display);
        self.repeats
            .log_outcome("daily", "Daily aggregation", error, instant);
        if let Ok(built) = built {
            if built > 0 {
                log::info!("Daily aggregates built. days={built}");
            }
            self.daily_done_through.store(settled, Ordering::Relaxed);
        }
    }
}

/// One step of a pass that runs every pass: its name for the [`RepeatLog`], what it does (for
/// the log) and its error, if it failed.
type Step = (&'static str, &'static str, Option<rockscope_store::Error>);

/// How long each kind of row is kept, in days.
#[derive(Debug, Clone, Copy)]
struct Days {
    snapshots: u32,
    tier: u32,
    full_resolution_hours: u32,
    tier_5m_hours: u32,
    daily: u32,
    alert_history: u32,
}

/// How long every cycle's node rows are kept unless configured (its snapshot stays at least
/// the longest alert rule window, a day: the `24h` overview reads raw cycles, the longer
/// ranges the tiers; `docs/API.md`, "Resolution by range").
pub(crate) const DEFAULT_FULL_RESOLUTION_HOURS: u32 = 6;

/// How long the 5-minute tier keeps its 5-minute granules unless configured: the `3d`
/// overview reads them for its last day.
pub(crate) const DEFAULT_TIER_5M_HOURS: u32 = 24;

/// How long the alert history is kept unless configured.
pub(crate) const DEFAULT_ALERT_HISTORY_DAYS: u32 = 30;

/// Deletes the expired snapshots, node snapshots, cycle outcomes, runs and errors (older than
/// `days.snapshots`), thins the cycles past the full-resolution window ([`thinning_cutoffs`]),
/// merges the 5-minute tier's granules past `days.tier_5m_hours` into half hours, and deletes
/// the tiers' granules (older than `days.tier`), daily rows (older than `days.daily`) and alert
/// events (older than `days.alert_history`). Returns each step's outcome; the next pass tries a
/// failed step again.
fn expire(store: &Store, now: OffsetDateTime, days: Days) -> Vec<Step> {
    let cutoff = expired_before(now, days.snapshots);
    let tier_cutoff = expired_before(now, days.tier);
    let (nodes_cutoff, snapshots_cutoff) = thinning_cutoffs(now, days.full_resolution_hours);
    let merge_cutoff = hours_before(now, days.tier_5m_hours);
    let daily_cutoff = days_before(now.date(), days.daily);
    let alerts_cutoff = expired_before(now, days.alert_history);
    vec![
        (
            "retention_snapshots",
            "Retention of snapshots",
            store
                .delete_expired_snapshots(cutoff, RETENTION_BATCH)
                .err(),
        ),
        (
            "thinning",
            "Thinning of the cycles past the full-resolution window",
            store
                .thin_before(nodes_cutoff, snapshots_cutoff, RETENTION_BATCH)
                .err(),
        ),
        (
            "tier_merge",
            "Merging of the 5-minute tier's old granules into half hours",
            store.merge_tier_before(merge_cutoff, RETENTION_BATCH).err(),
        ),
        (
            "retention_tier",
            "Retention of the 5-minute tier",
            store.delete_tier_before(tier_cutoff, RETENTION_BATCH).err(),
        ),
        (
            "retention_outcomes",
            "Retention of cycle outcomes",
            store.delete_outcomes_before(cutoff, RETENTION_BATCH).err(),
        ),
        (
            "retention_runs",
            "Retention of collection runs",
            store.delete_runs_before(cutoff).err(),
        ),
        (
            "retention_daily",
            "Retention of daily aggregates",
            store.delete_daily_before(daily_cutoff).err(),
        ),
        (
            "retention_alert_events",
            "Retention of the alert history",
            store
                .delete_alert_events_before(alerts_cutoff, RETENTION_BATCH)
                .err(),
        ),
    ]
}

/// `hours` hours before `now` (the epoch for an absurd distance): the cut-off of the tier's
/// merge. Public for the storage benchmark.
pub fn hours_before(now: OffsetDateTime, hours: u32) -> OffsetDateTime {
    now.checked_sub(Duration::hours(i64::from(hours)))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The cut-offs of thinning at `now` (`Store::thin_before`): the node rows past
/// `full_resolution_hours`; the snapshots past that or the longest window an alert rule may
/// read ([`rockscope_alerts::MAX_WINDOW`]), whichever is longer, so that the evaluator reads
/// every cycle of its windows back after a restart. Public for the storage benchmark.
pub fn thinning_cutoffs(
    now: OffsetDateTime,
    full_resolution_hours: u32,
) -> (OffsetDateTime, OffsetDateTime) {
    let window_hours = u32::try_from(rockscope_alerts::MAX_WINDOW.as_secs() / 3600).unwrap_or(24);
    (
        hours_before(now, full_resolution_hours),
        hours_before(now, full_resolution_hours.max(window_hours)),
    )
}

/// `days` days before `date`, or the first representable day when that is earlier.
fn days_before(date: Date, days: u32) -> Date {
    date.checked_sub(Duration::days(i64::from(days)))
        .unwrap_or(Date::MIN)
}

/// A panic's message (its payload when it is text).
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// The first UTC day not yet finished at `now` for the daily aggregation: a day is finished once
/// [`MAX_OBSERVED_GAP`] of the next day has passed too, so that the observations that close its
/// last interval are in (see [`rollup_window`]).
pub fn settled_before(now: OffsetDateTime) -> Date {
    (now - MAX_OBSERVED_GAP).date()
}

/// Builds the daily row of every finished day (before [`settled_before`]) that has snapshots or
/// cycle outcomes and no row yet, for every cluster, however old (a day's snapshots are kept
/// until it is rolled up). Returns how many rows it built.
pub fn build_missing_days(
    store: &Store,
    now: OffsetDateTime,
) -> Result<usize, rockscope_store::Error> {
    let settled = settled_before(now);
    let mut built = 0;
    for cluster in store.list_clusters()? {
        let mut days: BTreeSet<Date> = store
            .days_with_snapshots(cluster.id, Date::MIN)?
            .into_iter()
            .collect();
        days.extend(store.days_with_outcomes(cluster.id, Date::MIN)?);
        for day in days {
            if day >= settled || store.daily_done(cluster.id, day)? {
                continue;
            }
            let (window_start, window_end) = rollup_window(day);
            let inputs = store.daily_inputs(cluster.id, window_start, window_end)?;
            let outcomes = store.cycle_outcomes(cluster.id, window_start, window_end)?;
            if let Some(row) = rollup_day(cluster.id, day, &inputs, &outcomes) {
                store.upsert_daily(&row)?;
                built += 1;
            }
        }
    }
    Ok(built)
}

#[cfg(test)]
mod tests {
    use rockscope_engine::{EngineState, aggregate};
    use rockscope_model::{CycleInput, MetricsSnapshot, SourceError};
    use rockscope_store::{NewCluster, Password};

    use super::*;

    /// A snapshot of a cycle where nothing answered (what the engine stores for a down cluster).
    fn snapshot_at(cluster_id: i64, at: OffsetDateTime) -> MetricsSnapshot {
        let error = SourceError {
            source: "show_proc".to_owned(),
            code: "connect".to_owned(),
            message: "synthetic".to_owned(),
        };
        let input = CycleInput {
            cluster_id,
            collected_at: at,
            frontends: Err(error.clone()),
            backends: Err(error.clone()),
            compute_nodes: Err(error),
            runtime_info: None,
            scrapes: Vec::new(),
            other_errors: Vec::new(),
        };
        aggregate(&EngineState::default(), &input).snapshot
    }

    /// A store with one cluster and a snapshot at noon on each of the 3 days before today.
    fn three_days_of_history() -> (Store, i64, Vec<Date>) {
        let store = Store::open_temporary().unwrap();
        let id = store
            .create_cluster(&NewCluster {
                name: "c".into(),
                fe_hosts: vec!["127.0.0.1:9".into()],
                username: "root".into(),
                password: Password::default(),
                connect_timeout_secs: None,
                request_timeout_secs: None,
                enabled: false,
            })
            .unwrap()
            .id;
        let today = OffsetDateTime::now_utc().date();
        let days: Vec<Date> = (1..=3).rev().map(|d| today - Duration::days(d)).collect();
        for day in &days {
            let at = day.midnight().assume_utc() + Duration::hours(12);
            store.insert_cycle(&snapshot_at(id, at), &[]).unwrap();
        }
        (store, id, days)
    }

    #[tokio::test]
    async fn the_5_minute_tier_is_kept_for_its_own_retention() {
        let (store, id, days) = three_days_of_history();
        let now = OffsetDateTime::now_utc();
        let oldest = days[0].midnight().assume_utc();
        let day_of = |from: OffsetDateTime| {
            // One bucket of a day: read from the tier.
            store
                .series(id, from, from + Duration::days(1), &["qps"], 1)
                .unwrap()
        };
        assert_eq!(day_of(oldest).len(), 1);
        let housekeeping = Housekeeping::new(store.clone(), StatusBoard::default(), 7, 30)
            .with_tier_retention_days(Some(2));
        housekeeping.run(now).await;
        // The snapshot 2.5 to 3.5 days old left the tier, not the raw rows (kept 7 days).
        assert!(day_of(oldest).is_empty());
        assert_eq!(
            store
                .count_snapshots(id, oldest, oldest + Duration::days(1))
                .unwrap(),
            1
        );
        let yesterday = days[2].midnight().assume_utc();
        assert_eq!(day_of(yesterday).len(), 1, "a day old: kept");
    }

    #[tokio::test]
    async fn the_alert_history_is_kept_for_its_own_retention() {
        let (store, id, _) = three_days_of_history();
        let now = OffsetDateTime::now_utc();
        let event = |days_ago: i64| rockscope_model::AlertEvent {
            cluster_id: id,
            rule: "R".into(),
            fingerprint: "0123456789abcdef".into(),
            labels: Default::default(),
            state: rockscope_model::AlertState::Firing,
            severity: rockscope_model::Severity::Warning,
            value: Some(1.0),
            at: now - Duration::days(days_ago),
        };
        store
            .save_alert_evaluation(id, &[], &[event(40), event(20), event(1)])
            .unwrap();
        let housekeeping = Housekeeping::new(store.clone(), StatusBoard::default(), 7, 30)
            .with_alert_history_days(30);
        housekeeping.run(now).await;
        let left = store
            .alert_history(&Default::default(), None, None, 100)
            .unwrap();
        let ages: Vec<i64> = left.iter().map(|e| (now - e.at).whole_days()).collect();
        assert_eq!(
            ages,
            vec![1, 20],
            "newest first, the 40-day-old event expired"
        );
    }

    #[tokio::test]
    async fn a_clock_jump_beyond_the_retention_rolls_the_history_up_before_deleting_it() {
        let (store, id, days) = three_days_of_history();
        let housekeeping = Housekeeping::new(store.clone(), StatusBoard::default(), 7, 30);
        let jumped = OffsetDateTime::now_utc() + Duration::days(10);
        housekeeping.run(jumped).await;
        let dailies = store.daily_range(id, days[0], days[2]).unwrap();
        assert_eq!(
            dailies.iter().map(|d| d.date).collect::<Vec<_>>(),
            days,
            "every day was rolled up before its snapshots expired"
        );
        assert_eq!(
            store
                .count_snapshots(id, Date::MIN.midnight().assume_utc(), jumped)
                .unwrap(),
            0
        );
    }

    #[tokio::test]
    async fn a_huge_retention_keeps_everything_and_panics_nowhere() {
        let (store, id, _) = three_days_of_history();
        let status = StatusBoard::default();
        let housekeeping =
            Housekeeping::new(store.clone(), status.clone(), 100_000_000, 100_000_000);
        let now = OffsetDateTime::now_utc();
        housekeeping.run(now).await;
        assert_eq!(status.housekeeping_error(), None);
        assert_eq!(
            store
                .count_snapshots(id, Date::MIN.midnight().assume_utc(), now)
                .unwrap(),
            3
        );
    }

    #[tokio::test]
    async fn a_panicking_pass_is_caught_and_reported_until_a_pass_completes() {
        let (store, _, _) = three_days_of_history();
        let status = StatusBoard::default();
        let housekeeping = Housekeeping::new(store, status.clone(), 7, 30);
        for _ in 0..2 {
            housekeeping.panic_next.store(true, Ordering::Relaxed);
            housekeeping.run(OffsetDateTime::now_utc()).await;
            let error = status.housekeeping_error().expect("the panic is reported");
            assert!(error.contains("injected housekeeping panic"), "{error}");
        }
        housekeeping.run(OffsetDateTime::now_utc()).await;
        assert_eq!(status.housekeeping_error(), None);
    }

    #[tokio::test]
    async fn a_step_failing_pass_after_pass_is_logged_once_then_every_few_minutes() {
        use crate::repeat_log::{REPEAT_EVERY, captured};
        use log::Level;

        let dir = std::env::temp_dir().join(format!(
            "rockscope-housekeeping-{}-{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        let path = dir.join("rockscope.db");
        let store = Store::open(&path).unwrap();
        let housekeeping = Housekeeping::new(store.clone(), StatusBoard::default(), 7, 30);
        captured::start();
        let t0 = Instant::now();
        let now = OffsetDateTime::now_utc();
        housekeeping.run_at(now, t0).await;
        assert!(captured::take(Level::Warn).is_empty(), "a healthy pass");

        // The database deleted under the service (and noticed): every step of every pass fails
        // from now on (each pass takes a few seconds: the pool tries to reopen the file).
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!store.storage_state().healthy);
        let at = |secs: u64| t0 + std::time::Duration::from_secs(secs);
        let steps = [
            "Retention of snapshots",
            "Thinning of the cycles past the full-resolution window",
            "Merging of the 5-minute tier's old granules into half hours",
            "Retention of the 5-minute tier",
            "Retention of cycle outcomes",
            "Retention of collection runs",
            "Retention of daily aggregates",
            "Retention of the alert history",
            "Checkpoint of the database",
        ];
        // A step is logged when it first fails (a step may still find a pooled connection in
        // the first pass), and not again at the next passes.
        housekeeping.run_at(now, at(1)).await;
        housekeeping.run_at(now, at(2)).await;
        let first = captured::take(Level::Warn);
        assert_eq!(first.len(), steps.len(), "{first:?}");
        for step in steps {
            let lines = first
                .iter()
                .filter(|l| l.starts_with(&format!("{step} failed.")));
            assert_eq!(lines.count(), 1, "{step}: {first:?}");
        }
        housekeeping.run_at(now, at(3)).await;
        let quiet = captured::take(Level::Warn);
        assert!(quiet.is_empty(), "repeated within the interval: {quiet:?}");
        // A few minutes on: one reminder per step, with its count.
        housekeeping.run_at(now, at(2) + REPEAT_EVERY).await;
        let again = captured::take(Level::Warn);
        assert_eq!(again.len(), steps.len(), "{again:?}");
        for line in &again {
            assert!(line.starts_with("Still failing ("), "{line}");
            // The error's detail may differ between passes (the pool's own message); the step
            // is what must repeat.
            let step = steps
                .iter()
                .find(|s| line.contains(&format!("{s} failed.")));
            assert!(step.is_some(), "{line}");
        }
        let reminded: std::collections::BTreeSet<&str> = steps
            .iter()
            .filter(|s| again.iter().any(|l| l.contains(&format!("{s} failed."))))
            .copied()
            .collect();
        assert_eq!(
            reminded.len(),
            steps.len(),
            "one reminder per step: {again:?}"
        );
    }
}
