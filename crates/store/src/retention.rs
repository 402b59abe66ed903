//! Deleting expired rows in bounded batches.
//!
//! Every clean-up runs as a loop of short transactions, each deleting at most `batch_size` rows
//! with `DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE <old> LIMIT n)`, and gives the
//! connection back between batches. The write lock is therefore held for one batch at a time: the
//! collector's inserts and the API's reads (which WAL never blocks anyway) interleave with a large
//! clean-up instead of waiting for it. Per-cluster tables are cleaned cluster by cluster so that
//! every batch is an index range scan on `(cluster_id, time)`.
//!
//! What keeps a writer's wait short during a clean-up (`docs/BENCHMARKS.md`, "Storage", has the
//! measurements):
//!
//! * each batch runs in a *background* turn of the store's write gate (see the crate
//!   documentation): a writer that arrives during a batch is let in as soon as the batch commits,
//!   before the next batch, instead of polling SQLite's lock with sleeps of up to 100 ms that
//!   the clean-up's next batch keeps winning;
//! * a batch holds its turn about [`BATCH_TARGET`] at most: its size adapts to how long the
//!   previous ones took (up to the caller's `batch_size`), and its rows are read once before
//!   the turn is taken, so that a cold page cache makes the clean-up wait for the disk, not
//!   the writers;
//! * after each batch that deleted something, the clean-up checkpoints the write-ahead log itself
//!   ([`Store::checkpoint`], outside the turn, while writers go on), so that no writer's commit
//!   runs the automatic checkpoint of the thousands of pages the batches dirtied, nor the
//!   `fsync` that starts the log over.

use std::time::{Duration, Instant};

use rusqlite::params;
use rusqlite::types::Value;
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::columns::{date_text, day_of_ms, day_start_ms, to_ms};
use crate::daily::next_day_start_ms;
use crate::error::Result;
use crate::sql_limit;

/// The batch size [`Store::delete_cluster`] uses, and a sensible one for the retention calls.
pub const DEFAULT_BATCH: usize = 1000;

/// How long one batch should hold the write turn: what a writer arriving during a clean-up
/// waits at most (plus its own transaction), well inside the 100 ms a writer may be held up.
pub const BATCH_TARGET: Duration = Duration::from_millis(20);

/// The fewest rows a batch is cut down to, however slow the batches are.
const MIN_BATCH: usize = 50;

/// The size of a clean-up's batches, adapted to how long they take: each batch is sized so that
/// it holds the write turn for about [`BATCH_TARGET`], between [`MIN_BATCH`] and the caller's
/// `batch_size` (the most rows a batch may delete). Rows cost very different times (a node row
/// of a 100-cluster fleet dirties pages that a 10-cluster one shares, a cold page cache reads
/// from disk, a busy machine runs the batch slower), so a fixed row count cannot bound the
/// wait. One pace is carried over every table and cluster of a clean-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pace {
    max: usize,
    size: usize,
}

impl Pace {
    /// A pace of at most `batch_size` rows per batch, starting at an eighth of it (it doubles
    /// per batch while the batches are quick).
    pub(crate) fn new(batch_size: usize) -> Pace {
        let max = batch_size.max(1);
        Pace {
            max,
            size: (max / 8).max(MIN_BATCH).min(max),
        }
    }

    /// The rows the next batch may delete.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Adapts the size after a batch of [`Pace::size`] rows took `took`: scaled toward
    /// [`BATCH_TARGET`], by at most ×2 or ÷4 per batch, within `[MIN_BATCH, max]`.
    pub(crate) fn record(&mut self, took: Duration) {
        let size = self.size as u128;
        let scaled = size * BATCH_TARGET.as_micros() / took.as_micros().max(1);
        let scaled = scaled.clamp(size / 4, size * 2);
        self.size = usize::try_from(scaled)
            .unwrap_or(self.max)
            .clamp(MIN_BATCH.min(self.max), self.max);
    }
}

/// Rows and batches a batched delete took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Batched {
    pub(crate) rows: usize,
    pub(crate) batches: usize,
}

impl std::ops::AddAssign for Batched {
    fn add_assign(&mut self, other: Batched) {
        self.rows += other.rows;
        self.batches += other.batches;
    }
}

/// The primary keys of the `WITHOUT ROWID` tables (checked against the schema by a test).
const WITHOUT_ROWID_KEYS: &[(&str, &str)] = &[
    ("custom_values", "cluster_id, name, collected_at"),
    (
        "custom_node_values",
        "cluster_id, collected_at, node_type, node_id, name",
    ),
    ("custom_daily", "cluster_id, date, name"),
];

/// What names one row of `table` in a batch: its `rowid`, or the primary key of a
/// `WITHOUT ROWID` table (which has no `rowid`).
fn row_key(table: &str) -> &'static str {
    WITHOUT_ROWID_KEYS
        .iter()
        .find(|(t, _)| *t == table)
        .map_or("rowid", |(_, key)| key)
}

/// Delete the rows of `table` matching `condition` (over `?1..?n` = `params`) in batches sized
/// by `pace`, one autocommit statement (one short transaction) per batch, each in a background
/// turn of the write gate (its rows read once before, outside the turn), with a checkpoint
/// after each batch that deleted something.
///
/// `table` and `condition` are literals of this crate, never user text.
pub(crate) fn delete_batched(
    store: &Store,
    table: &'static str,
    condition: &str,
    params: &[Value],
    pace: &mut Pace,
) -> Result<Batched> {
    let limit_index = params.len() + 1;
    let key = row_key(table);
    let batch = format!("SELECT {key} FROM {table} WHERE {condition} LIMIT ?{limit_index}");
    let sql = format!("DELETE FROM {table} WHERE ({key}) IN ({batch})");
    // The same rows, only read: their index entries and table pages.
    let warm = format!("SELECT count(*) FROM {table} WHERE ({key}) IN ({batch})");
    let mut bound: Vec<Value> = params.to_vec();
    bound.push(Value::Null);
    let mut done = Batched::default();
    loop {
        let limit = pace.size();
        if let Some(last) = bound.last_mut() {
            *last = Value::Integer(sql_limit(limit));
        }
        let (n, took) = {
            let conn = store.conn()?;
            // Read the batch's pages before taking the turn: expired rows are old, often no
            // longer in memory, and waiting for the disk here holds up no writer.
            conn.prepare_cached(&warm)?
                .query_row(rusqlite::params_from_iter(bound.iter()), |r| {
                    r.get::<_, i64>(0)
                })?;
            let mut stmt = conn.prepare_cached(&sql)?;
            let _turn = store.background_turn();
            let started = Instant::now();
            let n = stmt.execute(rusqlite::params_from_iter(bound.iter()))?;
            (n, started.elapsed())
        };
        done.rows += n;
        done.batches += 1;
        if n > 0 {
            pace.record(took);
            store.checkpoint()?;
        }
        if n < limit {
            return Ok(done);
        }
    }
}

/// Delete the rows of cluster `cluster_id` in `table` whose `time_column` is below `cutoff`, in
/// batches.
pub(crate) fn delete_cluster_rows_batched(
    store: &Store,
    table: &'static str,
    time_column: &'static str,
    cluster_id: i64,
    cutoff: i64,
    pace: &mut Pace,
) -> Result<Batched> {
    let done = delete_batched(
        store,
        table,
        &format!("cluster_id = ?1 AND {time_column} < ?2"),
        &[Value::Integer(cluster_id), Value::Integer(cutoff)],
        pace,
    );
    // Some rows may be gone even when a later batch failed.
    if !matches!(&done, Ok(d) if d.rows == 0) {
        store.bump_generation(cluster_id);
    }
    done
}

impl Store {
    /// The ids of every cluster (retention walks them one by one).
    pub(crate) fn cluster_ids(&self) -> Result<Vec<i64>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT id FROM clusters ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    /// `cutoff` (Unix ms), moved back to the start of cluster `cluster_id`'s oldest day before it
    /// that has snapshots but no daily row: retention never deletes the snapshots of a day that
    /// has not been rolled up (after a forward jump of the clock longer than the retention, the
    /// roll-up must still find them). One index seek and one daily lookup per expired day.
    pub(crate) fn rolled_up_cutoff(&self, cluster_id: i64, cutoff: i64) -> Result<i64> {
        let conn = self.conn()?;
        let mut first_of_day = conn.prepare_cached(
            "SELECT MIN(collected_at) FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at < ?3",
        )?;
        let mut rolled_up = conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM daily_snapshots WHERE cluster_id = ?1 AND date = ?2)",
        )?;
        let mut from = i64::MIN;
        loop {
            let first: Option<i64> =
                first_of_day.query_row(params![cluster_id, from, cutoff], |r| r.get(0))?;
            let Some(ms) = first else {
                return Ok(cutoff);
            };
            let day = day_of_ms(ms, "metrics_snapshots.collected_at")?;
            let done: bool =
                rolled_up.query_row(params![cluster_id, date_text(day)], |r| r.get(0))?;
            if !done {
                return Ok(cutoff.min(day_start_ms(day)));
            }
            from = next_day_start_ms(day);
            if from == i64::MAX {
                return Ok(cutoff);
            }
        }
    }

    pub(crate) fn delete_snapshots_before_batched(
        &self,
        cutoff: OffsetDateTime,
        batch_size: usize,
        keep_unrolled_days: bool,
    ) -> Result<(Batched, Batched, Batched)> {
        let cutoff = to_ms(cutoff);
        let mut snapshots = Batched::default();
        let mut nodes = Batched::default();
        let mut custom = Batched::default();
        let mut pace = Pace::new(batch_size);
        for id in self.cluster_ids()? {
            let cutoff = if keep_unrolled_days {
                self.rolled_up_cutoff(id, cutoff)?
            } else {
                cutoff
            };
            nodes += delete_cluster_rows_batched(
                self,
                "node_cycles",
                "collected_at",
                id,
                cutoff,
                &mut pace,
            )?;
            // Before their snapshots, so that no value is ever left without its snapshot (the
            // snapshots make a series' buckets).
            custom += crate::custom::delete_values_before(self, id, cutoff, &mut pace)?;
            snapshots += delete_cluster_rows_batched(
                self,
                "metrics_snapshots",
                "collected_at",
                id,
                cutoff,
                &mut pace,
            )?;
        }
        Ok((snapshots, nodes, custom))
    }

    /// Delete every metrics snapshot, node snapshot and custom value (of the snapshots and of
    /// the nodes, [`crate::custom`]) collected strictly before `cutoff`, in
    /// batches of at most `batch_size` rows, fewer when batches of that size would hold the write
    /// turn longer than [`BATCH_TARGET`] (see the module documentation). Returns how many metrics
    /// snapshots were deleted (their node snapshots go with them). Retention uses
    /// [`Store::delete_expired_snapshots`], which spares the days not rolled up.
    pub fn delete_snapshots_before(
        &self,
        cutoff: OffsetDateTime,
        batch_size: usize,
    ) -> Result<usize> {
        self.delete_snapshots(cutoff, batch_size, false)
    }

    /// [`Store::delete_snapshots_before`], except that a cluster's snapshots are kept from its
    /// oldest day that has no daily row on: retention never deletes the snapshots of a day that
    /// has not been rolled up (after a forward jump of the clock longer than the retention, the
    /// roll-up must still find them).
    pub fn delete_expired_snapshots(
        &self,
        cutoff: OffsetDateTime,
        batch_size: usize,
    ) -> Result<usize> {
        self.delete_snapshots(cutoff, batch_size, true)
    }

    fn delete_snapshots(
        &self,
        cutoff: OffsetDateTime,
        batch_size: usize,
        keep_unrolled_days: bool,
    ) -> Result<usize> {
        let (snapshots, nodes, custom) = self.tracked(self.delete_snapshots_before_batched(
            cutoff,
            batch_size,
            keep_unrolled_days,
        ))?;
        if snapshots.rows > 0 || nodes.rows > 0 || custom.rows > 0 {
            log::info!(
                "store: retention deleted {} snapshots, {} node snapshots and {} custom values \
                 before {cutoff} in {} batches",
                snapshots.rows,
                nodes.rows,
                custom.rows,
                snapshots.batches + nodes.batches + custom.batches
            );
        }
        Ok(snapshots.rows)
    }

    /// Delete the granules of both tiers (`metrics_5m`, `overview_30m`) of every half hour that
    /// has ended by `cutoff` (whole half hours: at that age the 5-minute tier's granules are
    /// merged into half hours, [`crate::tier::halves`]), cluster by cluster, in batches of at
    /// most `batch_size` rows (fewer when slower than [`BATCH_TARGET`]), like
    /// [`Store::delete_snapshots_before`]. The tiers have their own retention
    /// (`collector.tier_retention_days`): the raw snapshots are not touched, nor are the tiers
    /// by their retention. Returns how many granules of the 5-minute tier were deleted.
    pub fn delete_tier_before(&self, cutoff: OffsetDateTime, batch_size: usize) -> Result<usize> {
        // A half hour goes once it has ended by the cutoff, with all its rows.
        let half_cutoff = crate::tier::overview::granule_of(to_ms(cutoff));
        let mut done = Batched::default();
        let mut pace = Pace::new(batch_size);
        for id in self.cluster_ids()? {
            done += self.tracked(delete_cluster_rows_batched(
                self,
                "metrics_5m",
                "bucket_at",
                id,
                half_cutoff,
                &mut pace,
            ))?;
            self.tracked(delete_cluster_rows_batched(
                self,
                "overview_30m",
                "bucket_at",
                id,
                half_cutoff,
                &mut pace,
            ))?;
        }
        if done.rows > 0 {
            log::info!(
                "store: retention deleted {} granules of the 5-minute tier in {} batches",
                done.rows,
                done.batches
            );
        }
        Ok(done.rows)
    }

    /// Delete every cycle outcome recorded strictly before `cutoff`, cluster by cluster, in
    /// batches of at most `batch_size` rows (fewer when slower than [`BATCH_TARGET`]), like
    /// [`Store::delete_snapshots_before`]. Returns how many were deleted.
    pub fn delete_outcomes_before(
        &self,
        cutoff: OffsetDateTime,
        batch_size: usize,
    ) -> Result<usize> {
        let cutoff = Value::Integer(to_ms(cutoff));
        let mut done = Batched::default();
        let mut pace = Pace::new(batch_size);
        for id in self.cluster_ids()? {
            // Outcomes feed no cached answer: no write generation moves.
            done += delete_batched(
                self,
                "cycle_outcomes",
                "cluster_id = ?1 AND at < ?2",
                &[Value::Integer(id), cutoff.clone()],
                &mut pace,
            )?;
        }
        if done.rows > 0 {
            log::info!(
                "store: retention deleted {} cycle outcomes in {} batches",
                done.rows,
                done.batches
            );
        }
        Ok(done.rows)
    }

    /// Delete every daily row whose date is strictly before `cutoff_date`, with the custom
    /// metrics' daily rows of those days, in batches. Returns how many daily rows were deleted.
    pub fn delete_daily_before(&self, cutoff_date: Date) -> Result<usize> {
        let mut done = Batched::default();
        let cutoff = date_text(cutoff_date);
        let mut pace = Pace::new(DEFAULT_BATCH);
        for id in self.cluster_ids()? {
            let bound = [Value::Integer(id), Value::Text(cutoff.clone())];
            let condition = "cluster_id = ?1 AND date < ?2";
            delete_batched(self, "custom_daily", condition, &bound, &mut pace)?;
            done += delete_batched(self, "daily_snapshots", condition, &bound, &mut pace)?;
        }
        if done.rows > 0 {
            log::info!(
                "store: retention deleted {} daily rows before {cutoff}",
                done.rows
            );
        }
        Ok(done.rows)
    }

    /// Delete the collection runs started, and the collection errors recorded, strictly before
    /// `cutoff`, in batches. Returns how many rows of both were deleted.
    pub fn delete_runs_before(&self, cutoff: OffsetDateTime) -> Result<usize> {
        let ms = Value::Integer(to_ms(cutoff));
        let mut pace = Pace::new(DEFAULT_BATCH);
        let runs = delete_batched(
            self,
            "collection_runs",
            "started_at < ?1",
            std::slice::from_ref(&ms),
            &mut pace,
        )?;
        let errors = delete_batched(
            self,
            "collection_errors",
            "at < ?1",
            std::slice::from_ref(&ms),
            &mut pace,
        )?;
        Ok(runs.rows + errors.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AUTOCHECKPOINT_PAGES;
    use crate::gate::Priority;
    use crate::tests::{full_snapshot, store_with_snapshots_a_minute_apart};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_row_key_of_every_table_without_rowid_is_its_primary_key() {
        let store = crate::Store::open_temporary().unwrap();
        let conn = store.conn().unwrap();
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND sql LIKE '%WITHOUT ROWID%' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(tables.len(), WITHOUT_ROWID_KEYS.len(), "{tables:?}");
        for table in tables {
            let key: Vec<String> = conn
                .prepare("SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk")
                .unwrap()
                .query_map([&table], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert_eq!(row_key(&table), key.join(", "), "{table}");
        }
        assert_eq!(row_key("metrics_snapshots"), "rowid");
    }

    #[test]
    fn a_pace_starts_small_and_doubles_while_batches_are_quick() {
        let mut pace = Pace::new(2_000);
        assert_eq!(pace.size(), 250);
        pace.record(ms(1));
        assert_eq!(pace.size(), 500);
        pace.record(ms(1));
        pace.record(ms(1));
        assert_eq!(pace.size(), 2_000, "never above the caller's batch size");
        pace.record(Duration::ZERO);
        assert_eq!(pace.size(), 2_000);
    }

    #[test]
    fn a_pace_aims_at_the_target_and_shrinks_at_most_fourfold() {
        let mut pace = Pace::new(2_000);
        pace.record(ms(1));
        pace.record(ms(1));
        pace.record(ms(1));
        assert_eq!(pace.size(), 2_000);
        // 2,000 rows in 40 ms: 1,000 rows make the 20 ms target.
        pace.record(BATCH_TARGET * 2);
        assert_eq!(pace.size(), 1_000);
        pace.record(BATCH_TARGET);
        assert_eq!(pace.size(), 1_000, "on target: kept");
        // A very slow batch divides by four at most, then the floor holds.
        pace.record(Duration::from_secs(10));
        assert_eq!(pace.size(), 250);
        for _ in 0..10 {
            pace.record(Duration::from_secs(10));
        }
        assert_eq!(pace.size(), MIN_BATCH);
    }

    #[test]
    fn a_small_batch_size_is_kept_whatever_the_timing() {
        let mut pace = Pace::new(6);
        assert_eq!(pace.size(), 6);
        pace.record(Duration::from_secs(10));
        assert_eq!(pace.size(), 6);
        pace.record(Duration::ZERO);
        assert_eq!(pace.size(), 6);
        assert_eq!(Pace::new(0).size(), 1);
    }

    #[test]
    fn a_queued_writer_goes_before_the_clean_up_and_nothing_else_is_deleted() {
        let (store, id, start) = store_with_snapshots_a_minute_apart(5);
        // Hold a turn, so that the clean-up and a writer both queue behind it.
        let held = store.write_turn();
        let cleaner = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.delete_snapshots_before_batched(start + time::Duration::minutes(3), 1, false)
            })
        };
        while store.inner.gate.waiting() != (0, 1) {
            std::thread::yield_now();
        }
        let writer = {
            let store = store.clone();
            std::thread::spawn(move || {
                store.insert_cycle(&full_snapshot(id, start + time::Duration::hours(1)), &[])
            })
        };
        while store.inner.gate.waiting() != (1, 1) {
            std::thread::yield_now();
        }
        let before = store.inner.gate.granted().len();
        drop(held);
        writer.join().unwrap().unwrap();
        let (snapshots, ..) = cleaner.join().unwrap().unwrap();
        let granted = store.inner.gate.granted();
        assert_eq!(
            granted[before..before + 2],
            [Priority::Writer, Priority::Background],
            "the writer first, then the clean-up's first batch: {granted:?}"
        );
        assert_eq!(snapshots.rows, 3);
        assert_eq!(snapshots.batches, 4, "1 + 1 + 1 + 0");
        let left = store
            .count_snapshots(id, start, start + time::Duration::hours(2))
            .unwrap();
        assert_eq!(left, 3, "two old enough to stay, and the writer's");
    }

    #[test]
    fn batches_of_a_clean_up_take_background_turns() {
        let (store, _, start) = store_with_snapshots_a_minute_apart(3);
        let before = store.inner.gate.granted().len();
        store
            .delete_snapshots_before(start + time::Duration::hours(1), 2)
            .unwrap();
        let granted = store.inner.gate.granted();
        // node_cycles and custom_node_values: one empty batch each (custom_values: no name,
        // no batch); metrics_snapshots: 2 + 1 rows. Each batch that deleted rows is followed by
        // a checkpoint, which restarts the log in a writer's turn.
        assert_eq!(
            granted[before..],
            [
                Priority::Background,
                Priority::Background,
                Priority::Background,
                Priority::Writer,
                Priority::Background,
                Priority::Writer,
            ]
        );
    }

    #[test]
    fn a_complete_checkpoint_starts_the_log_over_and_keeps_the_schema_version() {
        let (store, ..) = store_with_snapshots_a_minute_apart(20);
        let (log, copied) = store.checkpoint().unwrap();
        assert!(log > 1, "{log}");
        assert_eq!(copied, log);
        // The log was started over by a one-page write: it now holds just that page.
        assert_eq!(store.checkpoint().unwrap(), (1, 1));
        let conn = store.conn().unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, crate::SCHEMA_VERSION);
        let auto: i64 = conn
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, i64::from(AUTOCHECKPOINT_PAGES));
    }
}
