//! The 5-minute tier's old granules merged into half hours: [`Store::merge_tier_before`].
//!
//! A granule of the 5-minute tier costs about 2 KB, one per cluster and 5 minutes. Past
//! `collector.tier_5m_hours` (24 by default) the six granules of each half hour (aligned on
//! UTC) become one row of the same table, `span_ms` 1,800,000 instead of 300,000, holding their
//! rows, their `at_sum` and every column's accumulators merged ([`FieldAcc::merge`]: the count,
//! minimum and maximum exact, the sum differing from folding every snapshot in turn only by
//! the order of the floating-point additions). So the 6 days past the first keep a sixth of
//! the granules, and every figure the series draws from them is still over every cycle.
//!
//! Readers ([`crate::series`]) take each row with its own span: a merged half hour is one
//! granule, placed whole in the bucket of its mean time, like any other.
//!
//! The merge runs in background turns of the write gate ([`crate::retention`]), a few half
//! hours per transaction (as many as the pace allows), a checkpoint after each, and remembers
//! per cluster how far it got (`thinned_until.tier_until`).

use std::time::Instant;

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::overview::{GRANULE_MS as HALF_HOUR_MS, granule_of as half_hour_of};
use super::{Granule, NUMERIC, StoredRow, decode_stats, encode_stats};
use crate::Store;
use crate::columns::{get, to_ms};
use crate::error::Result;
use crate::retention::Pace;

/// The column of `thinned_until` that says how far the merge went.
const MARK: &str = "tier_until";

/// The rows of cluster `?1` starting in `?2..?3`, in time order.
const SELECT_RANGE: &str = "SELECT bucket_at, rows, at_sum, stats, span_ms FROM metrics_5m \
     WHERE cluster_id = ?1 AND bucket_at >= ?2 AND bucket_at < ?3 ORDER BY bucket_at";

const DELETE_HALF: &str =
    "DELETE FROM metrics_5m WHERE cluster_id = ?1 AND bucket_at >= ?2 AND bucket_at < ?3";

/// The row id is the one of the half hour's first 5-minute granule (see `UPSERT_GRANULE`).
const INSERT_HALF: &str = "INSERT INTO metrics_5m \
     (id, cluster_id, bucket_at, rows, at_sum, stats, span_ms) \
     VALUES ((?1 << 32) | (?2 / 300000), ?1, ?2, ?3, ?4, ?5, 1800000)";

/// The rows of one half hour, read.
struct Half {
    start: i64,
    /// How many rows it has.
    rows: usize,
    /// Whether one of them is a 5-minute granule.
    fine: bool,
    merged: Granule,
}

impl Store {
    /// Merges the 5-minute tier's granules of every half hour that ended by `cutoff` into one
    /// granule per half hour (see the module documentation), from where the last merge of each
    /// cluster stopped, in transactions sized by a pace of at most `batch_size` rows. Returns
    /// how many rows the merged half hours had.
    pub fn merge_tier_before(&self, cutoff: OffsetDateTime, batch_size: usize) -> Result<usize> {
        let cutoff = half_hour_of(to_ms(cutoff));
        let mut pace = Pace::new(batch_size);
        let mut merged = 0;
        for id in self.cluster_ids()? {
            let from = self.thinned_until(id, MARK)?;
            if cutoff <= from {
                continue;
            }
            let halves = self.halves_to_merge(id, from, cutoff)?;
            let mut rest = halves.as_slice();
            while !rest.is_empty() {
                let take = (pace.size() / 7).clamp(1, rest.len());
                let (batch, later) = rest.split_at(take);
                let started = Instant::now();
                self.tracked(self.write_halves(id, batch))?;
                pace.record(started.elapsed());
                self.checkpoint()?;
                merged += batch.iter().map(|h| h.rows).sum::<usize>();
                rest = later;
            }
            self.set_thinned_until(id, MARK, cutoff)?;
            if !halves.is_empty() {
                self.bump_generation(id);
            }
        }
        if merged > 0 {
            log::info!(
                "store: merged {merged} granules of the 5-minute tier before {} into half hours",
                crate::columns::from_ms(cutoff, "cutoff")?
            );
        }
        Ok(merged)
    }

    /// The half hours of cluster `cluster_id` in `from..until` (whole half hours) that hold
    /// more than one row or a 5-minute one, each with its rows merged.
    fn halves_to_merge(&self, cluster_id: i64, from: i64, until: i64) -> Result<Vec<Half>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(SELECT_RANGE)?;
        // `from` is where the last merge stopped: a half hour's start, or `i64::MIN`.
        let mut rows = stmt.query(params![cluster_id, from, until])?;
        let mut halves: Vec<Half> = Vec::new();
        let mut fields = Vec::new();
        while let Some(row) = rows.next()? {
            let stored = StoredRow::read(row, 0, "metrics_5m")?;
            decode_stats(stored.stats, &mut fields)?;
            let span: i64 = get(row, 4, "metrics_5m", "span_ms")?;
            let half = half_hour_of(stored.start);
            if halves.last().is_none_or(|h| h.start != half) {
                halves.push(Half {
                    start: half,
                    rows: 0,
                    fine: false,
                    merged: Granule::of_width(half, NUMERIC.len()),
                });
            }
            if let Some(h) = halves.last_mut() {
                h.rows += 1;
                h.fine |= span != HALF_HOUR_MS;
                h.merged.merge(stored.rows, stored.at_sum, &fields)?;
            }
        }
        // A half hour already merged (one row of 30 minutes) stays as it is.
        halves.retain(|h| h.rows > 1 || h.fine);
        Ok(halves)
    }

    /// Replaces the rows of each half hour of `halves` by its merged granule, in one
    /// transaction in a background turn.
    fn write_halves(&self, cluster_id: i64, halves: &[Half]) -> Result<()> {
        let mut conn = self.conn()?;
        let _turn = self.background_turn();
        let tx = conn.transaction()?;
        for h in halves {
            write_half(&tx, cluster_id, h)?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Deletes the rows of half hour `h` and writes its merged granule.
fn write_half(conn: &Connection, cluster_id: i64, h: &Half) -> Result<()> {
    conn.prepare_cached(DELETE_HALF)?.execute(params![
        cluster_id,
        h.start,
        h.start + HALF_HOUR_MS
    ])?;
    conn.prepare_cached(INSERT_HALF)?.execute(params![
        cluster_id,
        h.start,
        h.merged.rows,
        h.merged.at_sum,
        encode_stats(&h.merged.fields)
    ])?;
    Ok(())
}
