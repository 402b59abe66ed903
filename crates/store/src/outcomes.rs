//! The `cycle_outcomes` table: whether each collection cycle of a cluster reached it, the input
//! of the daily availability besides the snapshots.
//!
//! A reachable outcome is written by [`Store::insert_cycle`], in the snapshot's own transaction
//! (so a stored snapshot always has one); an unreachable one by [`Store::record_outcome`]. A cycle
//! that failed on rockscope's side writes none.

use rockscope_model::{CycleOutcome, Reachability};
use rusqlite::{Row, params};
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::columns::{from_ms, get, to_ms};
use crate::daily::days_with_rows;
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::snapshots::query_all;

/// Inserts one outcome (`?1` cluster, `?2` time in Unix ms, `?3` reachable 0/1); a second
/// outcome of the same cluster and millisecond replaces the first.
pub(crate) const UPSERT_OUTCOME: &str = "INSERT INTO cycle_outcomes (cluster_id, at, reachable)
     VALUES (?1, ?2, ?3)
     ON CONFLICT (cluster_id, at) DO UPDATE SET reachable = excluded.reachable";

/// The stored flag of `reachability`.
pub(crate) fn reachable_flag(reachability: Reachability) -> i64 {
    match reachability {
        Reachability::Reachable => 1,
        Reachability::Unreachable => 0,
    }
}

fn outcome_from_row(row: &Row<'_>) -> Result<CycleOutcome> {
    const T: &str = "cycle_outcomes";
    let reachable: i64 = get(row, 2, T, "reachable")?;
    Ok(CycleOutcome {
        cluster_id: get(row, 0, T, "cluster_id")?,
        at: from_ms(get(row, 1, T, "at")?, "cycle_outcomes.at")?,
        reachability: match reachable {
            1 => Reachability::Reachable,
            0 => Reachability::Unreachable,
            other => {
                return Err(Error::corrupt(
                    "cycle_outcomes.reachable",
                    format_args!("not 0 or 1: {other}"),
                ));
            }
        },
    })
}

impl Store {
    /// Record the outcome of one collection cycle (the collector records unreachable cycles;
    /// [`Store::insert_cycle`] records the reachable ones). Idempotent per cluster and
    /// millisecond. [`Error::NotFound`] when the cluster does not exist.
    pub fn record_outcome(&self, outcome: &CycleOutcome) -> Result<()> {
        self.tracked((|| {
            let conn = self.conn()?;
            let _turn = self.write_turn();
            conn.prepare_cached(UPSERT_OUTCOME)?
                .execute(params![
                    outcome.cluster_id,
                    to_ms(outcome.at),
                    reachable_flag(outcome.reachability)
                ])
                .map_err(|e| match constraint_of(&e) {
                    Some(Constraint::ForeignKey) => {
                        Error::NotFound(format!("cluster {}", outcome.cluster_id))
                    }
                    _ => Error::Sqlite(e),
                })?;
            Ok(())
        })())
    }

    /// The cycle outcomes of cluster `cluster_id` in `[from, to)`, oldest first.
    pub fn cycle_outcomes(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<CycleOutcome>> {
        let conn = self.conn()?;
        query_all(
            &conn,
            "SELECT cluster_id, at, reachable FROM cycle_outcomes
             WHERE cluster_id = ?1 AND at >= ?2 AND at < ?3 ORDER BY at",
            params![cluster_id, to_ms(from), to_ms(to)],
            outcome_from_row,
        )
    }

    /// The UTC days from `from_date` on that hold at least one cycle outcome of cluster
    /// `cluster_id`, in order (with [`Store::days_with_snapshots`], the days the daily
    /// aggregation builds: a day of outage has outcomes and no snapshot).
    pub fn days_with_outcomes(&self, cluster_id: i64, from_date: Date) -> Result<Vec<Date>> {
        days_with_rows(
            self,
            "SELECT MIN(at) FROM cycle_outcomes WHERE cluster_id = ?1 AND at >= ?2",
            "cycle_outcomes.at",
            cluster_id,
            from_date,
        )
    }
}
