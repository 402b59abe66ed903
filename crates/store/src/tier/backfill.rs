//! The conversion that builds the 5-minute tier from the snapshots a database held before it had
//! one (schema version 10).
//!
//! Clusters are converted one at a time, in id order; a cluster's snapshots are folded in
//! `collected_at` order (the order inserts come in, so a granule's sums are the ones
//! [`super::fold_snapshot`] would have made), in batches of whole granules. The cursor is the
//! tier itself: the cluster in progress is the largest `cluster_id` in `metrics_5m`, and it
//! resumes after its last granule (a batch writes its granules in one transaction, so the last
//! one is complete); every cluster before it is done. Inserts never run during a conversion
//! (it runs when the store opens, before the pool), so no granule is partly folded by both.

use std::sync::LazyLock;

use rusqlite::{Connection, Transaction, params};

use super::{GRANULE_MS, Granule, NUMERIC, granule_of, write_granule};
use crate::columns::get;
use crate::convert::Conversion;
use crate::error::{Error, Result};

/// Builds `metrics_5m` from `metrics_snapshots`; units are granules.
pub(crate) const BACKFILL: Conversion = Conversion {
    name: "metrics_5m",
    remaining,
    step,
    finish: |_| Ok(()),
    // A day of one cluster: 2,880 snapshots at 30 s, a few tens of milliseconds.
    batch: 288,
};

/// A cluster's snapshots from `?2` on, in time order, with every numeric column.
static SCAN: LazyLock<String> = LazyLock::new(|| {
    let mut sql = String::from("SELECT collected_at");
    for c in NUMERIC.iter() {
        sql.push_str(", ");
        sql.push_str(c.name);
    }
    sql.push_str(
        " FROM metrics_snapshots WHERE cluster_id = ?1 AND collected_at >= ?2 \
         ORDER BY collected_at",
    );
    sql
});

/// Where cluster `id`'s conversion resumes: after its last granule, or at its first snapshot.
fn resume_at(conn: &Connection, id: i64) -> Result<i64> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(bucket_at) FROM metrics_5m WHERE cluster_id = ?1")?
        .query_row([id], |r| r.get(0))?;
    Ok(last.map_or(i64::MIN, |l| l.saturating_add(GRANULE_MS)))
}

/// The granules spanned by the snapshots left to fold (an upper bound where collection had
/// gaps): two index seeks per cluster.
fn remaining(conn: &Connection) -> Result<u64> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM clusters ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut left: u64 = 0;
    for id in ids {
        let from = resume_at(conn, id)?;
        let (first, last): (Option<i64>, Option<i64>) = conn.query_row(
            "SELECT MIN(collected_at), MAX(collected_at) FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2",
            params![id, from],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let (Some(first), Some(last)) = (first, last) {
            let span = (granule_of(last) - granule_of(first)) / GRANULE_MS + 1;
            left = left.saturating_add(u64::try_from(span).unwrap_or(0));
        }
    }
    Ok(left)
}

/// Folds the next `limit` granules at most; 0 when every cluster is done.
fn step(tx: &Transaction<'_>, limit: usize) -> Result<usize> {
    let current: Option<i64> =
        tx.query_row("SELECT MAX(cluster_id) FROM metrics_5m", [], |r| r.get(0))?;
    if let Some(id) = current {
        let done = fold_cluster(tx, id, resume_at(tx, id)?, limit)?;
        if done > 0 {
            return Ok(done);
        }
    }
    let next: Option<i64> = tx.query_row(
        "SELECT MIN(cluster_id) FROM metrics_snapshots WHERE cluster_id > ?1",
        [current.unwrap_or(i64::MIN)],
        |r| r.get(0),
    )?;
    match next {
        Some(id) => fold_cluster(tx, id, i64::MIN, limit),
        None => Ok(0),
    }
}

/// Folds cluster `id`'s snapshots from `from` on into at most `limit` whole granules, written
/// in `tx`; returns how many.
fn fold_cluster(tx: &Transaction<'_>, id: i64, from: i64, limit: usize) -> Result<usize> {
    let mut stmt = tx.prepare_cached(&SCAN)?;
    let mut rows = stmt.query(params![id, from])?;
    let mut done = 0;
    let mut open: Option<Granule> = None;
    while let Some(row) = rows.next()? {
        let at: i64 = get(row, 0, "metrics_snapshots", "collected_at")?;
        let start = granule_of(at);
        if open.as_ref().is_some_and(|g| g.start != start) {
            if let Some(g) = open.take() {
                write_granule(tx, id, &g)?;
            }
            done += 1;
            if done >= limit {
                return Ok(done);
            }
        }
        let g = open.get_or_insert_with(|| Granule::empty(start));
        g.add_numeric(
            at,
            (1..=NUMERIC.len()).map(|i| row.get_ref(i).map_err(Error::from)),
        )?;
    }
    if let Some(g) = open {
        write_granule(tx, id, &g)?;
        done += 1;
    }
    Ok(done)
}
