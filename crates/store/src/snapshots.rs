//! The `metrics_snapshots` and `node_cycles` tables: one cycle's figures per cluster and node
//! (the nodes packed, see [`crate::node_cycles`]).
//! Their custom metric values ([`crate::custom`]) are written in the same transaction and
//! attached to what the readers return.

use std::sync::LazyLock;

use rockscope_model::{MetricsSnapshot, NodeSnapshot, Reachability, SnapshotSummary, SourceError};
use rusqlite::types::ToSql;
use rusqlite::{Connection, Row, TransactionBehavior, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::columns::{
    column_list, from_ms, get, insert_sql, metric, node, parse_node_kind, snapshot_summary, to_ms,
};
use crate::custom;
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::node_cycles;
use crate::outcomes::{UPSERT_OUTCOME, reachable_flag};
use crate::{Store, sql_limit};

/// The most snapshots [`Store::snapshots_range`] returns at once, whatever the limit asked.
pub const MAX_RAW_SNAPSHOTS: usize = 10_000;

/// The extra columns of `metrics_snapshots`, read before the plain ones.
const METRIC_EXTRA: [&str; 3] = ["cluster_id", "collected_at", "source_errors"];

static INSERT_METRIC: LazyLock<String> =
    LazyLock::new(|| insert_sql(metric::TABLE, &METRIC_EXTRA, metric::COLUMNS));

/// The select list of a snapshot (`alias.` prefixed when `alias` is not empty).
pub(crate) fn metric_select(alias: &str) -> String {
    let prefix = if alias.is_empty() {
        String::new()
    } else {
        format!("{alias}.")
    };
    format!(
        "{prefix}cluster_id, {prefix}collected_at, {prefix}source_errors, {}",
        column_list(metric::COLUMNS, alias)
    )
}

static SELECT_METRIC: LazyLock<String> = LazyLock::new(|| metric_select(""));
static SELECT_NODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "cluster_id, collected_at, node_type, {}",
        column_list(node::COLUMNS, "")
    )
});

/// A snapshot from the [`metric_select`] columns starting at `start`.
pub(crate) fn metric_from_row(row: &Row<'_>, start: usize) -> Result<MetricsSnapshot> {
    const T: &str = "metrics_snapshots";
    let cluster_id: i64 = get(row, start, T, "cluster_id")?;
    let collected_at = from_ms(
        get(row, start + 1, T, "collected_at")?,
        "metrics_snapshots.collected_at",
    )?;
    let source_errors = source_errors_at(row, start + 2)?;
    // The custom values live in their own table: the readers attach them after the rows
    // ([`custom::attach_to_snapshots`]).
    let custom = std::collections::BTreeMap::new();
    metric::from_row(
        row,
        start + 3,
        cluster_id,
        collected_at,
        source_errors,
        custom,
    )
}

/// The rows of the old `node_snapshots` table (schema versions 1 to 8) for cluster `cluster_id`'s
/// cycle at `at` (Unix ms), as they were read: FEs, then BEs, then CNs, each by `node_id`, then
/// by insertion. Only the conversion to `node_cycles` reads them.
pub(crate) fn old_node_rows(
    conn: &Connection,
    cluster_id: i64,
    at: i64,
) -> Result<Vec<NodeSnapshot>> {
    let sql = format!(
        "SELECT {} FROM node_snapshots WHERE cluster_id = ?1 AND collected_at = ?2 \
         ORDER BY CASE node_type WHEN 'fe' THEN 0 WHEN 'be' THEN 1 ELSE 2 END, node_id, id",
        *SELECT_NODE
    );
    query_all(conn, &sql, params![cluster_id, at], |r| node_from_row(r, 0))
}

/// The `metrics_snapshots.source_errors` (JSON text) at `index` of `row`.
fn source_errors_at(row: &Row<'_>, index: usize) -> Result<Vec<SourceError>> {
    let errors_json: String = get(row, index, "metrics_snapshots", "source_errors")?;
    serde_json::from_str(&errors_json).map_err(|e| {
        Error::corrupt(
            "metrics_snapshots.source_errors",
            format_args!("not a JSON list of source errors: {e}"),
        )
    })
}

/// A node snapshot from the node select list starting at `start`.
fn node_from_row(row: &Row<'_>, start: usize) -> Result<NodeSnapshot> {
    const T: &str = "node_snapshots";
    let cluster_id: i64 = get(row, start, T, "cluster_id")?;
    let collected_at = from_ms(
        get(row, start + 1, T, "collected_at")?,
        "node_snapshots.collected_at",
    )?;
    let kind: String = get(row, start + 2, T, "node_type")?;
    // Attached after the rows, like a snapshot's ([`custom::attach_to_nodes`]).
    node::from_row(
        row,
        start + 3,
        cluster_id,
        collected_at,
        parse_node_kind(&kind)?,
        std::collections::BTreeMap::new(),
    )
}

/// Run `sql` with `params` and decode every row with `decode`.
pub(crate) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    decode: impl Fn(&Row<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// A cluster with the summary of its newest snapshot, as [`Store::cluster_summaries`] returns
/// it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterSummary {
    /// The cluster's id.
    pub id: i64,
    /// The cluster's name.
    pub name: String,
    /// Whether the cluster is collected.
    pub enabled: bool,
    /// Its newest snapshot's summary, `None` before the first one.
    pub latest: Option<SnapshotSummary>,
}

impl Store {
    /// The snapshots `sql` (over [`metric_select`], one cluster's) selects, with their custom
    /// values attached: both read in one read transaction, so from the same state of the file.
    pub(crate) fn read_snapshots(
        &self,
        sql: &str,
        params: &[&dyn ToSql],
    ) -> Result<Vec<MetricsSnapshot>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut rows = query_all(&tx, sql, params, |r| metric_from_row(r, 0))?;
        custom::attach_to_snapshots(&tx, &mut rows)?;
        Ok(rows)
    }

    /// [`Store::read_snapshots`] for node snapshots: what `read` unpacks, with their custom
    /// values attached, in one read transaction.
    fn read_nodes(
        &self,
        read: impl FnOnce(&Connection) -> Result<Vec<NodeSnapshot>>,
    ) -> Result<Vec<NodeSnapshot>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let mut rows = read(&tx)?;
        custom::attach_to_nodes(&tx, &mut rows)?;
        Ok(rows)
    }

    /// Store one cycle of one cluster: the snapshot, its node snapshots, their custom metric
    /// values ([`crate::custom`]) and its reachable
    /// [`CycleOutcome`](rockscope_model::CycleOutcome) (see [`crate::outcomes`]), in one
    /// transaction (either all of it is committed or none). Returns the snapshot's row id.
    ///
    /// The node rows are stored under the snapshot's `cluster_id` and `collected_at` (the
    /// cycle's identity), whatever their own fields say. [`Error::NotFound`] when the cluster
    /// does not exist (e.g. it was deleted during the cycle), [`Error::Conflict`] when the
    /// cluster already has a snapshot at that millisecond.
    pub fn insert_cycle(&self, snapshot: &MetricsSnapshot, nodes: &[NodeSnapshot]) -> Result<i64> {
        self.tracked((|| {
            let errors_json = serde_json::to_string(&snapshot.source_errors).map_err(|e| {
                Error::corrupt(
                    "metrics_snapshots.source_errors",
                    format_args!("cannot encode: {e}"),
                )
            })?;
            let at = to_ms(snapshot.collected_at);
            let cluster_id = snapshot.cluster_id;
            let map_err = |e: rusqlite::Error| match constraint_of(&e) {
                Some(Constraint::ForeignKey) => Error::NotFound(format!("cluster {cluster_id}")),
                Some(Constraint::Unique) => Error::Conflict(format!(
                    "cluster {cluster_id} already has a snapshot at {}",
                    snapshot.collected_at
                )),
                _ => Error::Sqlite(e),
            };

            let mut conn = self.conn()?;
            let _turn = self.write_turn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let id = {
                let mut stmt = tx.prepare_cached(&INSERT_METRIC)?;
                let mut bound: Vec<&dyn ToSql> = vec![&cluster_id, &at, &errors_json];
                bound.extend(metric::params(snapshot));
                stmt.execute(bound.as_slice()).map_err(map_err)?;
                tx.last_insert_rowid()
            };
            let identities =
                node_cycles::insert(&tx, self.node_identities(), cluster_id, at, nodes)
                    .map_err(map_err)?;
            custom::insert_values(&tx, snapshot, nodes, at).map_err(map_err)?;
            crate::tier::fold_snapshot(&tx, snapshot, at)?;
            tx.prepare_cached(UPSERT_OUTCOME)?
                .execute(params![
                    cluster_id,
                    at,
                    reachable_flag(Reachability::Reachable)
                ])
                .map_err(map_err)?;
            tx.commit()?;
            self.node_identities().remember(identities);
            self.bump_generation(cluster_id);
            Ok(id)
        })())
    }

    /// The newest snapshot of cluster `cluster_id`, `None` before the first one (or for an
    /// unknown cluster).
    pub fn latest_snapshot(&self, cluster_id: i64) -> Result<Option<MetricsSnapshot>> {
        let sql = format!(
            "SELECT {} FROM metrics_snapshots WHERE cluster_id = ?1 \
             ORDER BY collected_at DESC LIMIT 1",
            *SELECT_METRIC
        );
        Ok(self.read_snapshots(&sql, params![cluster_id])?.pop())
    }

    /// The node snapshots of the newest cycle of cluster `cluster_id` (the `collected_at` of
    /// [`Store::latest_snapshot`]), FEs first, then BEs, then CNs, each by `node_id`. Empty before
    /// the first cycle or when that cycle stored no node.
    pub fn latest_nodes(&self, cluster_id: i64) -> Result<Vec<NodeSnapshot>> {
        self.read_nodes(|conn| {
            let newest: Option<i64> = conn.query_row(
                "SELECT MAX(collected_at) FROM metrics_snapshots WHERE cluster_id = ?1",
                params![cluster_id],
                |r| r.get(0),
            )?;
            match newest {
                Some(at) => node_cycles::read_cycle(conn, cluster_id, at),
                None => Ok(Vec::new()),
            }
        })
    }

    /// The snapshots of cluster `cluster_id` collected in `from..=to`, oldest first, at most
    /// `limit` of them (and never more than [`MAX_RAW_SNAPSHOTS`]): the first ones of the range
    /// when there are more. Use [`Store::count_snapshots`] to decide between raw rows and
    /// [`Store::series`].
    pub fn snapshots_range(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<MetricsSnapshot>> {
        let sql = format!(
            "SELECT {} FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3 \
             ORDER BY collected_at LIMIT ?4",
            *SELECT_METRIC
        );
        let limit = sql_limit(limit.min(MAX_RAW_SNAPSHOTS));
        self.read_snapshots(&sql, params![cluster_id, to_ms(from), to_ms(to), limit])
    }

    /// The node snapshots of cluster `cluster_id` collected in `from..=to`, oldest cycle first
    /// (within a cycle FEs, then BEs, then CNs, each by `node_id`), at most `limit` rows: the
    /// first ones of the range when there are more. The alert rule test replays them with the
    /// snapshots of [`Store::snapshots_range`].
    pub fn nodes_range(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<NodeSnapshot>> {
        self.read_nodes(|conn| {
            node_cycles::read_range(conn, cluster_id, to_ms(from), to_ms(to), limit)
        })
    }

    /// How many snapshots cluster `cluster_id` has in `from..=to`.
    pub fn count_snapshots(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<u64> {
        let conn = self.conn()?;
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3",
            params![cluster_id, to_ms(from), to_ms(to)],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every cluster (by id) with the summary of its newest snapshot, in one query (the newest
    /// row of each cluster is found by a correlated subquery on the `(cluster_id, collected_at)`
    /// index). Only the columns of a [`SnapshotSummary`] and the cluster's id, name and
    /// `enabled` are read: the all-clusters overview shows no more, and decoding every column
    /// (and every password) of every cluster was most of its time.
    pub fn cluster_summaries(&self) -> Result<Vec<ClusterSummary>> {
        const T: &str = "clusters";
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT c.id, c.name, c.enabled, m.cluster_id, m.collected_at, m.source_errors, \
                 {} FROM clusters c LEFT JOIN metrics_snapshots m ON m.id = \
                 (SELECT s.id FROM metrics_snapshots s WHERE s.cluster_id = c.id \
                  ORDER BY s.collected_at DESC LIMIT 1) \
                 ORDER BY c.id",
                column_list(snapshot_summary::COLUMNS, "m")
            )
        });
        let conn = self.conn()?;
        query_all(&conn, &SQL, &[], |row| {
            let collected_at: Option<i64> = get(row, 4, snapshot_summary::TABLE, "collected_at")?;
            let latest = match collected_at {
                Some(at) => Some(snapshot_summary::from_row(
                    row,
                    6,
                    get(row, 3, snapshot_summary::TABLE, "cluster_id")?,
                    from_ms(at, "metrics_snapshots.collected_at")?,
                    source_errors_at(row, 5)?,
                )?),
                None => None,
            };
            Ok(ClusterSummary {
                id: get(row, 0, T, "id")?,
                name: get(row, 1, T, "name")?,
                enabled: get(row, 2, T, "enabled")?,
                latest,
            })
        })
    }
}
