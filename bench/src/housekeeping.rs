//! The collector's housekeeping pass, step by step, for the storage benchmark.
//!
//! [`Housekeeper::pass`] makes the store calls of one pass of the collector's housekeeping
//! (`crates/collector/src/housekeeping.rs`: `Housekeeping::run_at`, then `expire`) in the same
//! order, with the same cut-offs, the same batch ([`RETENTION_BATCH`]) and the service's default
//! settings ([`CollectorConfig::default`]), and times each step, so that a concurrent writer's
//! waits can be told apart by step. The roll-up is the collector's own
//! [`build_missing_days`], run, as there, once the day that [`settled_before`] gives moved on.
//! What the service does besides (logging, the status board, catching panics) writes nothing.
//! Keep this in step with the collector's pass.

use std::fmt;
use std::time::Instant;

use rockscope_collector::{
    CollectorConfig, RETENTION_BATCH, build_missing_days, hours_before, settled_before,
    thinning_cutoffs,
};
use rockscope_engine::expired_before;
use rockscope_store::Store;
use time::{Date, Duration, OffsetDateTime};

/// The step that builds the daily rows of finished days.
pub const ROLLUPS: &str = "roll-ups";
/// The step that deletes the raw cycles past `retention_days`.
pub const RAW_RETENTION: &str = "raw retention";
/// The step that thins the cycles past the full-resolution window.
pub const THINNING: &str = "thinning";
/// The step that merges the 5-minute tier's granules past `tier_5m_hours` into half hours.
pub const TIER_MERGE: &str = "tier merge";
/// The step that deletes the 5-minute tier past `tier_retention_days`.
pub const TIER_RETENTION: &str = "tier retention";
/// Every step of a pass in its order (the roll-ups only in some passes).
pub const STEPS: [&str; 9] = [
    ROLLUPS,
    RAW_RETENTION,
    THINNING,
    TIER_MERGE,
    TIER_RETENTION,
    "outcome retention",
    "run retention",
    "daily retention",
    "alert history retention",
];
/// The checkpoint that ends every pass.
pub const CHECKPOINT: &str = "checkpoint";

/// What housekeeping keeps, as `[collector]` configures it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `collector.retention_days`: the raw cycles.
    pub retention_days: u32,
    /// `collector.tier_retention_days` (or `retention_days` when unset): the 5-minute tier.
    pub tier_retention_days: u32,
    /// `collector.full_resolution_hours`: every cycle, then one per 30 minutes.
    pub full_resolution_hours: u32,
    /// `collector.tier_5m_hours`: the 5-minute granules, then half hours.
    pub tier_5m_hours: u32,
    /// `collector.daily_retention_days`: the daily rows.
    pub daily_retention_days: u32,
    /// `alerts.history_retention_days`: the alert history.
    pub alert_history_days: u32,
    /// The most rows of one batch.
    pub batch: usize,
}

impl Settings {
    /// The settings of a collector configured as `config`.
    pub fn of(config: &CollectorConfig) -> Settings {
        Settings {
            retention_days: config.retention_days,
            tier_retention_days: config.tier_retention_days.unwrap_or(config.retention_days),
            full_resolution_hours: config.full_resolution_hours,
            tier_5m_hours: config.tier_5m_hours,
            daily_retention_days: config.daily_retention_days,
            alert_history_days: config.alert_history_days,
            batch: RETENTION_BATCH,
        }
    }

    /// The service's defaults.
    pub fn service_defaults() -> Settings {
        Settings::of(&CollectorConfig::default())
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "retention_days {}, tier_retention_days {}, full_resolution_hours {}, \
             tier_5m_hours {}, daily_retention_days {}, alert history {} days, batches of at \
             most {} rows",
            self.retention_days,
            self.tier_retention_days,
            self.full_resolution_hours,
            self.tier_5m_hours,
            self.daily_retention_days,
            self.alert_history_days,
            self.batch
        )
    }
}

/// One step of a pass: its name, when it ran, and the rows it deleted (daily rows built, for
/// the roll-ups; pages copied, for the checkpoint).
#[derive(Debug, Clone, Copy)]
pub struct StepRun {
    /// One of [`STEPS`] or [`CHECKPOINT`].
    pub name: &'static str,
    /// When it started.
    pub started: Instant,
    /// When it ended.
    pub ended: Instant,
    /// What it did, counted.
    pub rows: usize,
}

/// Runs passes as the collector's housekeeping does, remembering (as it does) the day up to
/// which every day is rolled up.
#[derive(Debug)]
pub struct Housekeeper {
    settings: Settings,
    daily_done_through: Option<Date>,
}

impl Housekeeper {
    /// A housekeeper that has run no pass yet.
    pub fn new(settings: Settings) -> Housekeeper {
        Housekeeper {
            settings,
            daily_done_through: None,
        }
    }

    /// One pass at wall time `now`; a failed step ends it with that step's error.
    pub fn pass(&mut self, store: &Store, now: OffsetDateTime) -> Result<Vec<StepRun>, String> {
        let s = self.settings;
        let mut runs = Vec::with_capacity(STEPS.len() + 1);
        let mut step = |name: &'static str,
                        f: &mut dyn FnMut() -> rockscope_store::Result<usize>|
         -> Result<(), String> {
            let started = Instant::now();
            let rows = f().map_err(|e| format!("{name}: {e}"))?;
            runs.push(StepRun {
                name,
                started,
                ended: Instant::now(),
                rows,
            });
            Ok(())
        };
        let settled = settled_before(now);
        if self.daily_done_through.is_none_or(|done| settled > done) {
            step(ROLLUPS, &mut || build_missing_days(store, now))?;
            self.daily_done_through = Some(settled);
        }
        // `expire`'s cut-offs.
        let cutoff = expired_before(now, s.retention_days);
        let tier_cutoff = expired_before(now, s.tier_retention_days);
        let (nodes_cutoff, snapshots_cutoff) = thinning_cutoffs(now, s.full_resolution_hours);
        let merge_cutoff = hours_before(now, s.tier_5m_hours);
        let daily_cutoff = now
            .date()
            .checked_sub(Duration::days(i64::from(s.daily_retention_days)))
            .unwrap_or(Date::MIN);
        let alerts_cutoff = expired_before(now, s.alert_history_days);
        step(RAW_RETENTION, &mut || {
            store.delete_expired_snapshots(cutoff, s.batch)
        })?;
        step(THINNING, &mut || {
            store.thin_before(nodes_cutoff, snapshots_cutoff, s.batch)
        })?;
        step(TIER_MERGE, &mut || {
            store.merge_tier_before(merge_cutoff, s.batch)
        })?;
        step(TIER_RETENTION, &mut || {
            store.delete_tier_before(tier_cutoff, s.batch)
        })?;
        step(STEPS[5], &mut || {
            store.delete_outcomes_before(cutoff, s.batch)
        })?;
        step(STEPS[6], &mut || store.delete_runs_before(cutoff))?;
        step(STEPS[7], &mut || store.delete_daily_before(daily_cutoff))?;
        step(STEPS[8], &mut || {
            store.delete_alert_events_before(alerts_cutoff, s.batch)
        })?;
        step(CHECKPOINT, &mut || {
            store
                .checkpoint()
                .map(|(_, copied)| usize::try_from(copied).unwrap_or(usize::MAX))
        })?;
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::api_history::metrics_template;

    #[test]
    fn a_pass_rolls_up_expires_and_thins_as_the_collector_does() {
        let store = Store::open_temporary().unwrap();
        let id = crate::fleet::add_clusters(&store, "c", 1).unwrap()[0];
        // Three days of a cycle every 30 s.
        let day0 = datetime!(2026-10-01 00:00 UTC);
        for k in 0..3 * 2_880 {
            let mut snapshot = metrics_template(id);
            snapshot.collected_at = day0 + Duration::seconds(30 * k);
            store.insert_cycle(&snapshot, &[]).unwrap();
        }
        let settings = Settings {
            retention_days: 2,
            tier_retention_days: 2,
            ..Settings::service_defaults()
        };
        let now = day0 + Duration::days(3) + Duration::hours(1);
        let steps = Housekeeper::new(settings).pass(&store, now).unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s.name).collect();
        assert_eq!(names[..STEPS.len()], STEPS, "every step, in order");
        assert_eq!(names.last(), Some(&CHECKPOINT));
        assert_eq!(steps[0].rows, 3, "days 0, 1 and 2 rolled up");
        // `count_snapshots` counts `from..=to`: up to the ms before `to`.
        let count = |from: OffsetDateTime, to: OffsetDateTime| {
            let to = to - Duration::milliseconds(1);
            store.count_snapshots(id, from, to).unwrap()
        };
        // Snapshots: every cycle of the last 24 h (the longest alert rule window; the node
        // rows, of which this fill has none, only the last 6 h).
        let (expired, thinned) = (now - Duration::days(2), now - Duration::hours(24));
        assert_eq!(count(day0, expired), 0, "past the retention");
        assert_eq!(count(expired, thinned), 24 * 2, "one cycle per 30 minutes");
        assert_eq!(
            count(thinned, now),
            23 * 120,
            "every cycle of the last 24 h (the last cycle an hour before now)"
        );
    }
}
