//! The `collection_runs` (one row per collection cycle) and `collection_errors` (per-cluster
//! failures) tables.

use rusqlite::{Row, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::columns::{from_ms, get, to_ms};
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::snapshots::query_all;
use crate::{Store, sql_limit};

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

/// A recorded per-cluster collection error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionError {
    /// The row id.
    pub id: i64,
    /// The cluster.
    pub cluster_id: i64,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
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
    })
}

impl Store {
    /// Record a finished collection cycle; returns its row id.
    pub fn record_run(&self, run: &NewRun) -> Result<i64> {
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
    }

    /// Record a cluster's collection error; returns its row id. [`Error::NotFound`] when the
    /// cluster does not exist.
    pub fn record_error(&self, error: &NewCollectionError) -> Result<i64> {
        let conn = self.conn()?;
        let _turn = self.write_turn();
        conn.prepare_cached(
            "INSERT INTO collection_errors (cluster_id, at, stage, code, message)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            error.cluster_id,
            to_ms(error.at),
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
        Ok(conn.last_insert_rowid())
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
                "SELECT id, cluster_id, at, stage, code, message FROM collection_errors
                 WHERE cluster_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
                params![id, limit],
                error_from_row,
            ),
            None => query_all(
                &conn,
                "SELECT id, cluster_id, at, stage, code, message FROM collection_errors
                 ORDER BY at DESC, id DESC LIMIT ?1",
                params![limit],
                error_from_row,
            ),
        }
    }
}
