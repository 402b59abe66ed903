//! The `collection_runs` (one row per collection cycle) and `collection_errors` (per-cluster
//! failures) tables.
//!
//! # A bounded error log
//!
//! A cluster that fails every cycle fails the same way each time, so [`Store::record_error`]
//! stores a repeating error once: when the cluster's newest error of the same `stage` and
//! `code` has a message that differs from the new one at most in its digits (every run of
//! digits counts as one `#`: times, counts, addresses and ports change from one attempt to the
//! next), that row's `count` goes up and its `at` (the last time) and `message` (the newest
//! text) move; `first_at` keeps the first time. Else a new row is added. The table is bounded:
//! at most [`ERRORS_PER_CLUSTER`] rows per cluster and [`ERRORS_TOTAL`] in all, the least
//! recent dropped first.

use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::columns::{from_ms, get, to_ms};
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::snapshots::query_all;
use crate::{Store, sql_limit};

/// The most `collection_errors` rows kept per cluster (the least recent are dropped).
pub const ERRORS_PER_CLUSTER: usize = 100;

/// The most `collection_errors` rows kept in all (the least recent are dropped).
pub const ERRORS_TOTAL: usize = 20_000;

/// The whole table is trimmed to [`ERRORS_TOTAL`] once every this many new rows (each trim
/// walks the time index; the table may briefly hold this many rows more).
const TOTAL_TRIM_EVERY: i64 = 64;

/// A collection cycle to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// When the cycle started.
    pub started_at: OffsetDateTime,
    /// How long it took, ms.
    pub duration_ms: u64,
    /// Clusters the cycle collected.
    pub clusters_total: u32,
    /// Clusters collected and stored successfully.
    pub clusters_ok: u32,
    /// Clusters that failed.
    pub clusters_failed: u32,
}

/// A recorded collection cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionRun {
    /// The row id.
    pub id: i64,
    /// When the cycle started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// How long it took, ms.
    pub duration_ms: u64,
    /// Clusters the cycle collected.
    pub clusters_total: u32,
    /// Clusters collected and stored successfully.
    pub clusters_ok: u32,
    /// Clusters that failed.
    pub clusters_failed: u32,
}

/// A per-cluster collection error to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCollectionError {
    /// The cluster.
    pub cluster_id: i64,
    /// When it happened.
    pub at: OffsetDateTime,
    /// Where in the collection: e.g. `discover`, `scrape`, `aggregate`, `store`, `panic`.
    pub stage: String,
    /// A short machine-readable cause, e.g. `timeout`, `http_401`.
    pub code: String,
    /// The human-readable detail (must not contain secrets).
    pub message: String,
}

/// A recorded per-cluster collection error: one error, or one that repeated `count` times from
/// `first_at` to `at` (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionError {
    /// The row id.
    pub id: i64,
    /// The cluster.
    pub cluster_id: i64,
    /// When it last happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// When it first happened (equal to `at` when `count` is 1).
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    /// How many times it happened.
    pub count: u64,
    /// Where in the collection.
    pub stage: String,
    /// A short machine-readable cause.
    pub code: String,
    /// The human-readable detail.
    pub message: String,
}

fn run_from_row(row: &Row<'_>) -> Result<CollectionRun> {
    const T: &str = "collection_runs";
    let duration: i64 = get(row, 2, T, "duration_ms")?;
    Ok(CollectionRun {
        id: get(row, 0, T, "id")?,
        started_at: from_ms(get(row, 1, T, "started_at")?, "collection_runs.started_at")?,
        duration_ms: u64::try_from(duration).map_err(|_| {
            Error::corrupt(
                "collection_runs.duration_ms",
                format_args!("negative: {duration}"),
            )
        })?,
        clusters_total: get(row, 3, T, "clusters_total")?,
        clusters_ok: get(row, 4, T, "clusters_ok")?,
        clusters_failed: get(row, 5, T, "clusters_failed")?,
    })
}

fn error_from_row(row: &Row<'_>) -> Result<CollectionError> {
    const T: &str = "collection_errors";
    Ok(CollectionError {
        id: get(row, 0, T, "id")?,
        cluster_id: get(row, 1, T, "cluster_id")?,
        at: from_ms(get(row, 2, T, "at")?, "collection_errors.at")?,
        stage: get(row, 3, T, "stage")?,
        code: get(row, 4, T, "code")?,
        message: get(row, 5, T, "message")?,
        first_at: from_ms(get(row, 6, T, "first_at")?, "collection_errors.first_at")?,
        count: u64::try_from(get::<i64>(row, 7, T, "count")?).unwrap_or(0),
    })
}

/// The columns [`error_from_row`] reads, in order.
const ERROR_COLUMNS: &str = "id, cluster_id, at, stage, code, message, first_at, count";

/// A message with every run of ASCII digits replaced by `#`: two messages of one repeating
/// error have the same shape.
fn message_shape(message: &str) -> String {
    let mut shape = String::with_capacity(message.len());
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !shape.ends_with('#') {
                shape.push('#');
            }
        } else {
            shape.push(c);
        }
    }
    shape
}

impl Store {
    /// Record a finished collection cycle; returns its row id.
    pub fn record_run(&self, run: &NewRun) -> Result<i64> {
        self.tracked((|| {
            let conn = self.conn()?;
            let _turn = self.write_turn();
            conn.prepare_cached(
                "INSERT INTO collection_runs
                 (started_at, duration_ms, clusters_total, clusters_ok, clusters_failed)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                to_ms(run.started_at),
                i64::try_from(run.duration_ms).unwrap_or(i64::MAX),
                run.clusters_total,
                run.clusters_ok,
                run.clusters_failed
            ])?;
            Ok(conn.last_insert_rowid())
        })())
    }

    /// Record a cluster's collection error, as a repeat of its newest error of the same stage and
    /// code when the messages have the same shape (see the module documentation); returns the
    /// row id. [`Error::NotFound`] when the cluster does not exist.
    pub fn record_error(&self, error: &NewCollectionError) -> Result<i64> {
        self.tracked((|| {
            let mut conn = self.conn()?;
            let _turn = self.write_turn();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let at = to_ms(error.at);
            let newest: Option<(i64, String)> = tx
                .prepare_cached(
                    "SELECT id, message FROM collection_errors
                     WHERE cluster_id = ?1 AND stage = ?2 AND code = ?3
                     ORDER BY at DESC, id DESC LIMIT 1",
                )?
                .query_row(params![error.cluster_id, error.stage, error.code], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let id = match newest {
                Some((id, message)) if message_shape(&message) == message_shape(&error.message) => {
                    tx.prepare_cached(
                        "UPDATE collection_errors SET count = count + 1, at = max(at, ?2),
                             message = ?3 WHERE id = ?1",
                    )?
                    .execute(params![id, at, error.message])?;
                    id
                }
                _ => {
                    tx.prepare_cached(
                        "INSERT INTO collection_errors
                             (cluster_id, at, stage, code, message, first_at, count)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?2, 1)",
                    )?
                    .execute(params![
                        error.cluster_id,
                        at,
                        error.stage,
                        error.code,
                        error.message
                    ])
                    .map_err(|e| match constraint_of(&e) {
                        Some(Constraint::ForeignKey) => {
                            Error::NotFound(format!("cluster {}", error.cluster_id))
                        }
                        _ => Error::Sqlite(e),
                    })?;
                    let id = tx.last_insert_rowid();
                    trim_errors(&tx, error.cluster_id, id)?;
                    id
                }
            };
            tx.commit()?;
            Ok(id)
        })())
    }

    /// How many rows `collection_errors` holds.
    pub fn count_errors(&self) -> Result<u64> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT COUNT(*) FROM collection_errors", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The `limit` most recent collection runs, newest first.
    pub fn recent_runs(&self, limit: usize) -> Result<Vec<CollectionRun>> {
        let conn = self.conn()?;
        query_all(
            &conn,
            "SELECT id, started_at, duration_ms, clusters_total, clusters_ok, clusters_failed
             FROM collection_runs ORDER BY started_at DESC, id DESC LIMIT ?1",
            params![sql_limit(limit)],
            run_from_row,
        )
    }

    /// The `limit` most recent collection errors of cluster `cluster_id` (of every cluster when
    /// `None`), newest first.
    pub fn recent_errors(
        &self,
        cluster_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<CollectionError>> {
        let conn = self.conn()?;
        let limit = sql_limit(limit);
        match cluster_id {
            Some(id) => query_all(
                &conn,
                &format!(
                    "SELECT {ERROR_COLUMNS} FROM collection_errors
                     WHERE cluster_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2"
                ),
                params![id, limit],
                error_from_row,
            ),
            None => query_all(
                &conn,
                &format!(
                    "SELECT {ERROR_COLUMNS} FROM collection_errors
                     ORDER BY at DESC, id DESC LIMIT ?1"
                ),
                params![limit],
                error_from_row,
            ),
        }
    }
}

/// Drops the least recent errors of cluster `cluster_id` beyond [`ERRORS_PER_CLUSTER`], and,
/// every [`TOTAL_TRIM_EVERY`] new rows (by the new row's id), those of the whole table beyond
/// [`ERRORS_TOTAL`].
fn trim_errors(tx: &Transaction<'_>, cluster_id: i64, new_id: i64) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM collection_errors WHERE id IN (SELECT id FROM collection_errors
             WHERE cluster_id = ?1 ORDER BY at DESC, id DESC LIMIT -1 OFFSET ?2)",
    )?
    .execute(params![cluster_id, sql_limit(ERRORS_PER_CLUSTER)])?;
    if new_id % TOTAL_TRIM_EVERY == 0 {
        tx.prepare_cached(
            "DELETE FROM collection_errors WHERE id IN (SELECT id FROM collection_errors
                 ORDER BY at DESC, id DESC LIMIT -1 OFFSET ?1)",
        )?
        .execute(params![sql_limit(ERRORS_TOTAL)])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::message_shape;

    #[test]
    fn digits_do_not_change_a_message_shape() {
        assert_eq!(
            message_shape("connect to 127.0.0.1:9030 timed out after 5001 ms"),
            message_shape("connect to 127.0.0.1:9031 timed out after 15 ms")
        );
        assert_ne!(message_shape("http 401"), message_shape("refused"));
    }
}
