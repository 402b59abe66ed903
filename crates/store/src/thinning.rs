//! Thinning: the raw history beyond its full-resolution window keeps one cycle per
//! [`THIN_STEP`].
//!
//! Every cycle stays at full resolution (every `interval_secs`) for the recent part of the
//! history; past it, [`Store::thin_before`] keeps, per cluster and 5-minute step (aligned on UTC
//! multiples of 5 minutes), the step's first cycle and deletes the others: its snapshot, its
//! packed nodes, and its custom values, so that what is kept is whole cycles, each exactly as it
//! was collected. The kept cycle is chosen from `metrics_snapshots` (the first snapshot of the
//! step), the same one in every table.
//!
//! What reads a thinned range sees real cycles 5 minutes apart: raw `/snapshots`, `/nodes`
//! history and the alert rule test replay over that range. Series whose buckets are 20 minutes
//! or wider read the 5-minute tier of aggregates instead, which was folded from every cycle
//! before any was thinned (`docs/API.md`, "Resolution by range").
//!
//! Like retention, thinning never touches a day that has not been rolled up (the roll-up reads
//! every cycle of its day), deletes in bounded batches in background turns of the write gate
//! ([`crate::retention`]), and remembers per cluster how far it got (`thinned_until`), so that
//! each pass reads only what was added since the last.

use std::time::Duration;

use rusqlite::params;
use rusqlite::types::Value;
use time::OffsetDateTime;

use crate::Store;
use crate::columns::to_ms;
use crate::error::Result;
use crate::retention::{Batched, Pace, delete_batched};

/// The step of the thinned history: one cycle per 5 minutes.
pub const THIN_STEP: Duration = Duration::from_secs(300);

/// The tables thinned with their snapshots, dependents first (a snapshot is deleted last, so
/// no value is ever left without its snapshot).
const THINNED: [&str; 4] = [
    "node_cycles",
    "custom_node_values",
    "custom_values",
    "metrics_snapshots",
];

impl Store {
    /// Thins every cluster's cycles collected before `cutoff` (and on days rolled up) to the
    /// first of each [`THIN_STEP`]; see the module documentation. Deletes in batches of at most
    /// `batch_size` rows, each holding the write turn about
    /// [`crate::retention::BATCH_TARGET`]. Returns how many snapshots were deleted.
    pub fn thin_before(&self, cutoff: OffsetDateTime, batch_size: usize) -> Result<usize> {
        let cutoff = to_ms(cutoff);
        let mut pace = Pace::new(batch_size);
        let mut deleted = [Batched::default(); THINNED.len()];
        for id in self.cluster_ids()? {
            let until = self.rolled_up_cutoff(id, cutoff)?;
            let from = self.thinned_until(id)?;
            if until <= from {
                continue;
            }
            for (table, done) in THINNED.iter().zip(deleted.iter_mut()) {
                *done += self.thin_table(table, id, from, until, &mut pace)?;
            }
            self.set_thinned_until(id, until)?;
            self.bump_generation(id);
        }
        let [nodes, node_values, values, snapshots] = deleted;
        if snapshots.rows > 0 {
            log::info!(
                "store: thinned the cycles before {} to one per {} s: {} snapshots, {} packed \
                 node cycles, {} custom values and {} node custom values deleted",
                crate::columns::from_ms(cutoff, "cutoff")?,
                THIN_STEP.as_secs(),
                snapshots.rows,
                nodes.rows,
                values.rows,
                node_values.rows
            );
        }
        Ok(snapshots.rows)
    }

    /// Deletes the rows of `table` of cluster `cluster_id` in `from..until` whose step holds an
    /// earlier snapshot.
    fn thin_table(
        &self,
        table: &'static str,
        cluster_id: i64,
        from: i64,
        until: i64,
        pace: &mut Pace,
    ) -> Result<Batched> {
        let condition = format!(
            "cluster_id = ?1 AND collected_at >= ?2 AND collected_at < ?3 AND EXISTS \
             (SELECT 1 FROM metrics_snapshots k WHERE k.cluster_id = ?1 \
              AND k.collected_at >= {table}.collected_at - {table}.collected_at % ?4 \
              AND k.collected_at < {table}.collected_at)"
        );
        let step = i64::try_from(THIN_STEP.as_millis()).unwrap_or(i64::MAX);
        delete_batched(
            self,
            table,
            &condition,
            &[
                Value::Integer(cluster_id),
                Value::Integer(from),
                Value::Integer(until),
                Value::Integer(step),
            ],
            pace,
        )
    }

    /// Where the last thinning of cluster `cluster_id` stopped (Unix ms; `i64::MIN` before the
    /// first).
    fn thinned_until(&self, cluster_id: i64) -> Result<i64> {
        let conn = self.conn()?;
        let until: Option<i64> = conn
            .prepare_cached("SELECT until FROM thinned_until WHERE cluster_id = ?1")?
            .query_row([cluster_id], |r| r.get(0))
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        Ok(until.unwrap_or(i64::MIN))
    }

    fn set_thinned_until(&self, cluster_id: i64, until: i64) -> Result<()> {
        let conn = self.conn()?;
        let _turn = self.background_turn();
        conn.prepare_cached(
            "INSERT INTO thinned_until (cluster_id, until) VALUES (?1, ?2) \
             ON CONFLICT (cluster_id) DO UPDATE SET until = excluded.until",
        )?
        .execute(params![cluster_id, until])?;
        Ok(())
    }
}
