//! Thinning: the raw history beyond its full-resolution window keeps one cycle per
//! [`THIN_STEP`].
//!
//! Every cycle stays at full resolution (every `interval_secs`) for the recent part of the
//! history; past it, [`Store::thin_before`] keeps, per cluster and 30-minute step (aligned on
//! UTC multiples of 30 minutes), the step's first cycle and deletes the others: its snapshot,
//! its packed nodes, its custom values and its (reachable) outcome, so that what is kept is
//! whole cycles, each exactly as it was collected. The kept cycle is chosen from
//! `metrics_snapshots` (the first snapshot of the step), the same one in every table.
//!
//! The two families of rows are thinned at their own cut-off, each remembering how far it got:
//!
//! * the node rows ([`NODE_ROWS`]) at the caller's first cut-off (the service's
//!   `full_resolution_hours`): nothing but the alert rule test replay and the remote-write
//!   replay reads them past the newest cycle;
//! * the snapshots, their custom values and outcomes ([`SNAPSHOT_ROWS`]) at the second, no
//!   later (the service keeps at least a day, the longest alert rule window, so that the
//!   evaluator reads its history back whole after a restart), and never on a day that has not
//!   been rolled up, nor in the last [`MAX_OBSERVED_GAP`] before one: the roll-up reads every
//!   snapshot of its day, and the edges of the days around it. So between the two a cycle may
//!   have its snapshot and no nodes; the node rows of a step are thinned first, while every
//!   snapshot of the step is still there, so both families keep the same cycle.
//!
//! What reads a thinned range sees real cycles 30 minutes apart: raw `/snapshots`, the
//! remote-write replay and the alert rule test replay (which skips a cycle whose nodes are
//! gone). Series over a range of which any part is thinned read the tiers of aggregates
//! instead, which were folded from every cycle before any was thinned (`docs/API.md`,
//! "Resolution by range").
//!
//! Thinning deletes in bounded batches in background turns of the write gate
//! ([`crate::retention`]), and remembers per cluster and family how far it got
//! (`thinned_until`), so that each pass reads only what was added since the last.

use std::time::Duration;

use rockscope_model::MAX_OBSERVED_GAP;
use rusqlite::params;
use rusqlite::types::Value;
use time::OffsetDateTime;

use crate::Store;
use crate::columns::to_ms;
use crate::error::Result;
use crate::retention::{Batched, Pace, delete_batched};

/// The step of the thinned history: one cycle per 30 minutes.
pub const THIN_STEP: Duration = Duration::from_secs(1800);

/// Tables thinned together, dependents first (a snapshot is deleted last, so no value is ever
/// left without its snapshot), and the column of `thinned_until` that says how far they went.
struct Family {
    tables: &'static [Thinned],
    mark: &'static str,
}

/// A table thinned: its name, its time column, and which of its rows may go.
#[derive(Clone, Copy)]
struct Thinned {
    table: &'static str,
    time: &'static str,
    only: &'static str,
}

impl Thinned {
    const fn all(table: &'static str) -> Thinned {
        Thinned {
            table,
            time: "collected_at",
            only: "",
        }
    }
}

/// The node rows: thinned at the cut-off.
const NODE_ROWS: Family = Family {
    tables: &[
        Thinned::all("node_cycles"),
        Thinned::all("custom_node_values"),
    ],
    mark: "nodes_until",
};

/// The snapshots, their custom values and their (reachable) cycle outcomes: thinned at the
/// cut-off on days rolled up. Nothing reads a reachable outcome once its day is rolled up
/// but the roll-up of the next day at its edge, which the kept cycles' outcomes serve as their
/// snapshots do; an unreachable outcome (an outage, which the remote-write replay sends) is
/// never thinned.
const SNAPSHOT_ROWS: Family = Family {
    tables: &[
        Thinned::all("custom_values"),
        Thinned {
            table: "cycle_outcomes",
            time: "at",
            only: " AND reachable = 1",
        },
        Thinned::all("metrics_snapshots"),
    ],
    mark: "until",
};

impl Store {
    /// Thins every cluster's cycles to the first of each [`THIN_STEP`]: the node rows
    /// collected before `nodes_before`, the snapshots, custom values and reachable cycle
    /// outcomes collected before `snapshots_before` on days rolled up; see the module
    /// documentation. Deletes in batches of at most `batch_size` rows, each
    /// holding the write turn about [`crate::retention::BATCH_TARGET`]. Returns how many packed
    /// node cycles and snapshots were deleted.
    pub fn thin_before(
        &self,
        nodes_before: OffsetDateTime,
        snapshots_before: OffsetDateTime,
        batch_size: usize,
    ) -> Result<usize> {
        let (cutoff, snapshots_cutoff) = (to_ms(nodes_before), to_ms(snapshots_before));
        let mut pace = Pace::new(batch_size);
        let mut nodes = [Batched::default(); 2];
        let mut snapshots = [Batched::default(); 3];
        for id in self.cluster_ids()? {
            let mut thinned = self.thin_family(id, &NODE_ROWS, cutoff, &mut pace, &mut nodes)?;
            // Before a day not yet rolled up, its roll-up will read the edge of this one.
            let until = match self.rolled_up_cutoff(id, snapshots_cutoff)? {
                until if until < snapshots_cutoff => {
                    until - MAX_OBSERVED_GAP.whole_milliseconds() as i64
                }
                until => until,
            };
            thinned |= self.thin_family(id, &SNAPSHOT_ROWS, until, &mut pace, &mut snapshots)?;
            if thinned {
                self.bump_generation(id);
            }
        }
        let [node_cycles, node_values] = nodes;
        let [values, outcomes, snapshots] = snapshots;
        if node_cycles.rows + snapshots.rows > 0 {
            log::info!(
                "store: thinned the node rows before {} and the snapshots before {} (on days \
                 rolled up) to one cycle per {} s: {} snapshots, {} packed node cycles, {} \
                 custom values, {} node custom values and {} cycle outcomes deleted",
                crate::columns::from_ms(cutoff, "cutoff")?,
                crate::columns::from_ms(snapshots_cutoff, "cutoff")?,
                THIN_STEP.as_secs(),
                snapshots.rows,
                node_cycles.rows,
                values.rows,
                node_values.rows,
                outcomes.rows
            );
        }
        Ok(node_cycles.rows + snapshots.rows)
    }

    /// Thins the tables of `family` of cluster `cluster_id` from where they stopped to `until`,
    /// adding what each deleted to `deleted`; whether anything was to do.
    fn thin_family(
        &self,
        cluster_id: i64,
        family: &Family,
        until: i64,
        pace: &mut Pace,
        deleted: &mut [Batched],
    ) -> Result<bool> {
        let from = self.thinned_until(cluster_id, family.mark)?;
        if until <= from {
            return Ok(false);
        }
        for (table, done) in family.tables.iter().zip(deleted.iter_mut()) {
            *done += self.thin_table(*table, cluster_id, from, until, pace)?;
        }
        self.set_thinned_until(cluster_id, family.mark, until)?;
        Ok(true)
    }

    /// Deletes the rows of `t` of cluster `cluster_id` in `from..until` whose step holds an
    /// earlier snapshot.
    fn thin_table(
        &self,
        t: Thinned,
        cluster_id: i64,
        from: i64,
        until: i64,
        pace: &mut Pace,
    ) -> Result<Batched> {
        let Thinned { table, time, only } = t;
        let condition = format!(
            "cluster_id = ?1 AND {time} >= ?2 AND {time} < ?3{only} AND EXISTS \
             (SELECT 1 FROM metrics_snapshots k WHERE k.cluster_id = ?1 \
              AND k.collected_at >= {table}.{time} - {table}.{time} % ?4 \
              AND k.collected_at < {table}.{time})"
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

    /// The time before which cluster `cluster_id`'s node rows are thinned (`None` before the
    /// first thinning): a snapshot collected before it and without node rows is a cycle whose
    /// nodes were thinned while its snapshot waited for the day's roll-up.
    pub fn nodes_thinned_until(&self, cluster_id: i64) -> Result<Option<OffsetDateTime>> {
        let until = self.thinned_until(cluster_id, NODE_ROWS.mark)?;
        if until == i64::MIN {
            return Ok(None);
        }
        crate::columns::from_ms(until, "thinned_until.nodes_until").map(Some)
    }

    /// Where the last thinning of `mark` (a column of `thinned_until`) of cluster `cluster_id`
    /// stopped (Unix ms; `i64::MIN` before the first).
    pub(crate) fn thinned_until(&self, cluster_id: i64, mark: &str) -> Result<i64> {
        let conn = self.conn()?;
        thinned_until(&conn, cluster_id, mark)
    }

    pub(crate) fn set_thinned_until(&self, cluster_id: i64, mark: &str, until: i64) -> Result<()> {
        let conn = self.conn()?;
        let _turn = self.background_turn();
        // A new row has thinned nothing of the other families.
        conn.prepare_cached(
            "INSERT INTO thinned_until (cluster_id, until) VALUES (?1, ?2) \
             ON CONFLICT (cluster_id) DO NOTHING",
        )?
        .execute(params![cluster_id, i64::MIN])?;
        conn.prepare_cached(&format!(
            "UPDATE thinned_until SET {mark} = ?2 WHERE cluster_id = ?1"
        ))?
        .execute(params![cluster_id, until])?;
        Ok(())
    }
}

/// The time before which cluster `cluster_id`'s snapshots are thinned (Unix ms; `i64::MIN`
/// before the first thinning), read on `conn` (in a reader's transaction).
pub(crate) fn snapshots_thinned_until(conn: &rusqlite::Connection, cluster_id: i64) -> Result<i64> {
    thinned_until(conn, cluster_id, SNAPSHOT_ROWS.mark)
}

/// [`Store::thinned_until`] on connection `conn`.
fn thinned_until(conn: &rusqlite::Connection, cluster_id: i64, mark: &str) -> Result<i64> {
    let until: Option<Option<i64>> = conn
        .prepare_cached(&format!(
            "SELECT {mark} FROM thinned_until WHERE cluster_id = ?1"
        ))?
        .query_row([cluster_id], |r| r.get(0))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(until.flatten().unwrap_or(i64::MIN))
}
