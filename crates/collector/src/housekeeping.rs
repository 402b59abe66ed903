//! After each tick: retention of expired rows, the daily aggregates of finished UTC days,
//! including every day missed while the service was down (still inside the retention), and a
//! checkpoint of the store's write-ahead log (so that no insert of the next tick has to run it).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rockscope_engine::daily::MAX_OBSERVED_GAP;
use rockscope_engine::{expired_before, rollup_day, rollup_window};
use rockscope_store::Store;
use time::{Date, Duration, OffsetDateTime};
use tokio::sync::Mutex;

/// The most rows one retention transaction deletes (the store deletes fewer when a batch of
/// this size would hold the write turn longer than `rockscope_store::retention::BATCH_TARGET`).
const RETENTION_BATCH: usize = 2_000;

/// Retention and daily aggregation, never two passes at once.
pub(crate) struct Housekeeping {
    store: Store,
    retention_days: u32,
    daily_retention_days: u32,
    running: Arc<Mutex<()>>,
    /// The UTC day (Julian day number) whose predecessors are all aggregated; 0 before the first pass.
    daily_done_through: AtomicI64,
}

impl Housekeeping {
    pub(crate) fn new(store: Store, retention_days: u32, daily_retention_days: u32) -> Self {
        Housekeeping {
            store,
            retention_days,
            daily_retention_days,
            running: Arc::new(Mutex::new(())),
            daily_done_through: AtomicI64::new(0),
        }
    }

    /// One pass; returns at once when another pass is still running.
    pub(crate) async fn run(&self, now: OffsetDateTime) {
        let Ok(_guard) = self.running.try_lock() else {
            return;
        };
        let store = self.store.clone();
        let (retention_days, daily_retention_days) =
            (self.retention_days, self.daily_retention_days);
        let today = now.date();
        let settled = i64::from(settled_before(now).to_julian_day());
        let need_daily = settled > self.daily_done_through.load(Ordering::Relaxed);
        let pass = tokio::task::spawn_blocking(move || {
            let cutoff = expired_before(now, retention_days);
            match store.delete_snapshots_before(cutoff, RETENTION_BATCH) {
                Ok(_) => {}
                Err(e) => log::warn!("Retention of snapshots failed. error={e}"),
            }
            if let Err(e) = store.delete_outcomes_before(cutoff, RETENTION_BATCH) {
                log::warn!("Retention of cycle outcomes failed. error={e}");
            }
            if let Err(e) = store.delete_runs_before(cutoff) {
                log::warn!("Retention of collection runs failed. error={e}");
            }
            let daily_cutoff = today - Duration::days(i64::from(daily_retention_days));
            if let Err(e) = store.delete_daily_before(daily_cutoff) {
                log::warn!("Retention of daily aggregates failed. error={e}");
            }
            let built = need_daily.then(|| build_missing_days(&store, now, retention_days));
            // The store leaves checkpoints to its owner (and to its clean-ups) rather than to
            // whichever insert crosses SQLite's threshold.
            if let Err(e) = store.checkpoint() {
                log::warn!("Checkpoint of the database failed. error={e}");
            }
            built
        });
        match pass.await {
            Ok(Some(Ok(built))) => {
                if built > 0 {
                    log::info!("Daily aggregates built. days={built}");
                }
                self.daily_done_through.store(settled, Ordering::Relaxed);
            }
            Ok(Some(Err(e))) => log::warn!("Daily aggregation failed. error={e}"),
            Ok(None) => {}
            Err(e) => log::error!("Housekeeping panicked. error={e}"),
        }
    }
}

/// The first UTC day not yet finished at `now` for the daily aggregation: a day is finished once
/// [`MAX_OBSERVED_GAP`] of the next day has passed too, so that the observations that close its
/// last interval are in (see [`rollup_window`]).
fn settled_before(now: OffsetDateTime) -> Date {
    (now - MAX_OBSERVED_GAP).date()
}

/// Builds the daily row of every finished day (before [`settled_before`]) that has snapshots or
/// cycle outcomes and no row yet, for every cluster. Returns how many rows it built.
pub(crate) fn build_missing_days(
    store: &Store,
    now: OffsetDateTime,
    retention_days: u32,
) -> Result<usize, rockscope_store::Error> {
    let settled = settled_before(now);
    let from = now.date() - Duration::days(i64::from(retention_days));
    let mut built = 0;
    for cluster in store.list_clusters()? {
        let mut days: BTreeSet<Date> = store
            .days_with_snapshots(cluster.id, from)?
            .into_iter()
            .collect();
        days.extend(store.days_with_outcomes(cluster.id, from)?);
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
