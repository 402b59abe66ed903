//! Deleting expired rows in bounded batches.
//!
//! Every clean-up runs as a loop of short transactions, each deleting at most `batch_size` rows
//! with `DELETE FROM t WHERE rowid IN (SELECT rowid FROM t WHERE <old> LIMIT n)`, and gives the
//! connection back between batches. The write lock is therefore held for one batch at a time: the
//! collector's inserts and the API's reads (which WAL never blocks anyway) interleave with a large
//! clean-up instead of waiting for it. Per-cluster tables are cleaned cluster by cluster so that
//! every batch is an index range scan on `(cluster_id, time)`.

use rusqlite::types::Value;
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::columns::{date_text, to_ms};
use crate::error::Result;
use crate::sql_limit;

/// The batch size [`Store::delete_cluster`] uses, and a sensible one for the retention calls.
pub const DEFAULT_BATCH: usize = 1000;

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

/// Delete the rows of `table` matching `condition` (over `?1..?n` = `params`) in batches of at
/// most `batch_size`, one autocommit statement (one short transaction) per batch.
///
/// `table` and `condition` are literals of this crate, never user text.
fn delete_batched(
    store: &Store,
    table: &'static str,
    condition: &str,
    params: &[Value],
    batch_size: usize,
) -> Result<Batched> {
    let batch_size = batch_size.max(1);
    let limit_index = params.len() + 1;
    let sql = format!(
        "DELETE FROM {table} WHERE rowid IN \
         (SELECT rowid FROM {table} WHERE {condition} LIMIT ?{limit_index})"
    );
    let mut bound: Vec<Value> = params.to_vec();
    bound.push(Value::Integer(sql_limit(batch_size)));
    let mut done = Batched::default();
    loop {
        let n = {
            let conn = store.conn()?;
            let mut stmt = conn.prepare_cached(&sql)?;
            stmt.execute(rusqlite::params_from_iter(bound.iter()))?
        };
        done.rows += n;
        done.batches += 1;
        if n < batch_size {
            return Ok(done);
        }
        // Let a waiting writer in between batches.
        std::thread::yield_now();
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
    batch_size: usize,
) -> Result<Batched> {
    delete_batched(
        store,
        table,
        &format!("cluster_id = ?1 AND {time_column} < ?2"),
        &[Value::Integer(cluster_id), Value::Integer(cutoff)],
        batch_size,
    )
}

impl Store {
    /// The ids of every cluster (retention walks them one by one).
    fn cluster_ids(&self) -> Result<Vec<i64>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT id FROM clusters ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(ids)
    }

    pub(crate) fn delete_snapshots_before_batched(
        &self,
        cutoff: OffsetDateTime,
        batch_size: usize,
    ) -> Result<(Batched, Batched)> {
        let cutoff = to_ms(cutoff);
        let mut snapshots = Batched::default();
        let mut nodes = Batched::default();
        for id in self.cluster_ids()? {
            nodes += delete_cluster_rows_batched(
                self,
                "node_snapshots",
                "collected_at",
                id,
                cutoff,
                batch_size,
            )?;
            snapshots += delete_cluster_rows_batched(
                self,
                "metrics_snapshots",
                "collected_at",
                id,
                cutoff,
                batch_size,
            )?;
        }
        Ok((snapshots, nodes))
    }

    /// Delete every metrics snapshot and node snapshot collected strictly before `cutoff`, in
    /// batches of at most `batch_size` rows (see the module documentation). Returns how many
    /// metrics snapshots were deleted (their node snapshots go with them).
    pub fn delete_snapshots_before(
        &self,
        cutoff: OffsetDateTime,
        batch_size: usize,
    ) -> Result<usize> {
        let (snapshots, nodes) = self.delete_snapshots_before_batched(cutoff, batch_size)?;
        if snapshots.rows > 0 || nodes.rows > 0 {
            log::info!(
                "store: retention deleted {} snapshots and {} node snapshots before {cutoff} \
                 in {} batches",
                snapshots.rows,
                nodes.rows,
                snapshots.batches + nodes.batches
            );
        }
        Ok(snapshots.rows)
    }

    /// Delete every daily row whose date is strictly before `cutoff_date`, in batches. Returns how
    /// many were deleted.
    pub fn delete_daily_before(&self, cutoff_date: Date) -> Result<usize> {
        let mut done = Batched::default();
        let cutoff = date_text(cutoff_date);
        for id in self.cluster_ids()? {
            done += delete_batched(
                self,
                "daily_snapshots",
                "cluster_id = ?1 AND date < ?2",
                &[Value::Integer(id), Value::Text(cutoff.clone())],
                DEFAULT_BATCH,
            )?;
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
        let runs = delete_batched(
            self,
            "collection_runs",
            "started_at < ?1",
            std::slice::from_ref(&ms),
            DEFAULT_BATCH,
        )?;
        let errors = delete_batched(
            self,
            "collection_errors",
            "at < ?1",
            std::slice::from_ref(&ms),
            DEFAULT_BATCH,
        )?;
        Ok(runs.rows + errors.rows)
    }
}
