//! The custom metrics' values (`docs/CUSTOM_METRICS.md`): `custom_values` (one row per cluster,
//! cycle and definition in force), `custom_node_values` (the nodes' values of the `per_node`
//! definitions) and `custom_daily` (their daily roll-up). The definitions added through the API
//! are in [`crate::custom_metrics`].
//!
//! The values are not columns of the snapshot tables: the definitions change while rockscope
//! runs, and a removed one keeps its history until retention. [`Store::insert_cycle`] writes
//! them in the cycle's transaction; the snapshot readers attach them to
//! [`MetricsSnapshot::custom`] and [`NodeSnapshot::custom`] with one query per call over the
//! time span of the rows read (`attach_to_snapshots`, `attach_to_nodes`), in the read
//! transaction of the rows, so that both come from the same state of the file.
//!
//! `custom_values` is keyed `(cluster_id, name, collected_at)`: a metric's series or day is one
//! range of the key. A read of every metric over a time span walks the cluster's names by the
//! key (`NAMES`: one seek per name, however many rows a name holds) and reads each name's
//! range, so no read scans a cluster's whole history. A NULL value is stored: the definition
//! was in force and no node had its series, a null point of the trend, not a gap.
//!
//! Retention deletes the values with the snapshots (same cut-off, same batches), the daily
//! roll-ups with the daily rows, and a cluster's deletion all of its rows. Nothing deletes rows
//! by name: a removed definition's history stays until it expires.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use rusqlite::types::Value;
use rusqlite::{Connection, params};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::columns::{date_text, day_start_ms, get, parse_date, parse_node_kind, to_ms};
use crate::daily::next_day_start_ms;
use crate::error::Result;
use crate::retention::{Batched, Pace, delete_batched};
use crate::snapshots::query_all;

/// `names(name)`: the custom metric names cluster `?1` has values of, walked by the primary key
/// (one seek per name: SQLite has no skip scan without statistics); ends with a NULL row.
const NAMES: &str = "WITH RECURSIVE names(name) AS (
    SELECT MIN(name) FROM custom_values WHERE cluster_id = ?1
    UNION ALL
    SELECT (SELECT MIN(v.name) FROM custom_values v WHERE v.cluster_id = ?1 AND v.name > n.name)
    FROM names n WHERE n.name IS NOT NULL
) ";

/// Every value of cluster `?1` in `?2..=?3`, name by name (each name's rows a range of the key).
static VALUES_IN_RANGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{NAMES}SELECT v.collected_at, v.name, v.value FROM names n CROSS JOIN custom_values v \
         WHERE n.name IS NOT NULL AND v.cluster_id = ?1 AND v.name = n.name \
         AND v.collected_at >= ?2 AND v.collected_at <= ?3"
    )
});

/// The names of cluster `?1` with at least one row in `?2..=?3`, in order.
static NAMES_IN_RANGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{NAMES}SELECT n.name FROM names n WHERE n.name IS NOT NULL AND EXISTS \
         (SELECT 1 FROM custom_values v WHERE v.cluster_id = ?1 AND v.name = n.name \
          AND v.collected_at >= ?2 AND v.collected_at <= ?3)"
    )
});

/// The daily roll-up of cluster `?1` for the day `?4` (`YYYY-MM-DD`) over `?2..?3` (ms): per
/// name, the mean (kept within the minimum and maximum, like every mean of the store), minimum
/// and maximum of the non-null values and their count.
static ROLL_UP_DAY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{NAMES}INSERT INTO custom_daily (cluster_id, date, name, avg, min, max, samples) \
         SELECT ?1, ?4, v.name, min(max(AVG(v.value), MIN(v.value)), MAX(v.value)), \
             MIN(v.value), MAX(v.value), COUNT(v.value) \
         FROM names n CROSS JOIN custom_values v \
         WHERE n.name IS NOT NULL AND v.cluster_id = ?1 AND v.name = n.name \
         AND v.collected_at >= ?2 AND v.collected_at < ?3 \
         GROUP BY v.name"
    )
});

/// The node values of cluster `?1` in `?2..=?3`: a range of the key.
const NODE_VALUES_IN_RANGE: &str = "SELECT collected_at, node_type, node_id, name, value \
     FROM custom_node_values WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3";

const INSERT_VALUE: &str =
    "INSERT INTO custom_values (cluster_id, collected_at, name, value) VALUES (?1, ?2, ?3, ?4)";

/// Two nodes of one cycle with the same type and id (a malformed node list) share one identity
/// here: the first value of each name is kept, rather than the cycle failed.
const INSERT_NODE_VALUE: &str = "INSERT INTO custom_node_values \
     (cluster_id, collected_at, node_type, node_id, name, value) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING";

/// One custom metric's figures of one UTC day ([`Store::custom_daily_range`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomDaily {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The UTC day (`YYYY-MM-DD`).
    #[serde(serialize_with = "serialize_date")]
    pub date: Date,
    /// The custom metric's name.
    pub name: String,
    /// The mean of the day's non-null values (`None` when there were none).
    pub avg: Option<f64>,
    /// The smallest.
    pub min: Option<f64>,
    /// The largest.
    pub max: Option<f64>,
    /// How many non-null values the day had (0: the definition was in force, no node had the
    /// series).
    pub samples: u64,
}

fn serialize_date<S: serde::Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&date_text(*date))
}

/// Writes the custom values of one cycle (`snapshot.custom`, every node's `custom`) at `at`
/// (ms), inside the cycle's transaction. A value that is not finite is stored as NULL (a node's
/// is left out): SQLite turns NaN into NULL anyway, and no JSON number holds an infinity.
pub(crate) fn insert_values(
    tx: &Connection,
    snapshot: &MetricsSnapshot,
    nodes: &[NodeSnapshot],
    at: i64,
) -> rusqlite::Result<()> {
    let cluster_id = snapshot.cluster_id;
    if !snapshot.custom.is_empty() {
        let mut stmt = tx.prepare_cached(INSERT_VALUE)?;
        for (name, value) in &snapshot.custom {
            let value = value.filter(|v| v.is_finite());
            stmt.execute(params![cluster_id, at, name, value])?;
        }
    }
    if nodes.iter().any(|n| !n.custom.is_empty()) {
        let mut stmt = tx.prepare_cached(INSERT_NODE_VALUE)?;
        for n in nodes {
            let kind = n.node_type.as_str();
            for (name, value) in n.custom.iter().filter(|(_, v)| v.is_finite()) {
                stmt.execute(params![cluster_id, at, kind, n.node_id, name, value])?;
            }
        }
    }
    Ok(())
}

/// The cluster of the first of `rows` (`(cluster_id, time)`, all of one cluster) and their
/// earliest and latest times (ms); `None` when empty.
fn span(mut rows: impl Iterator<Item = (i64, OffsetDateTime)>) -> Option<(i64, i64, i64)> {
    let (cluster_id, first) = rows.next()?;
    let first = to_ms(first);
    Some(
        rows.fold((cluster_id, first, first), |(c, lo, hi), (_, t)| {
            let t = to_ms(t);
            (c, lo.min(t), hi.max(t))
        }),
    )
}

/// Fills the `custom` map of every snapshot of `snapshots` (all of one cluster) from
/// `custom_values`, with one query over their time span.
pub(crate) fn attach_to_snapshots(
    conn: &Connection,
    snapshots: &mut [MetricsSnapshot],
) -> Result<()> {
    let Some((cluster_id, from, to)) =
        span(snapshots.iter().map(|s| (s.cluster_id, s.collected_at)))
    else {
        return Ok(());
    };
    const T: &str = "custom_values";
    let rows = query_all(conn, &VALUES_IN_RANGE, params![cluster_id, from, to], |r| {
        let at: i64 = get(r, 0, T, "collected_at")?;
        let name: String = get(r, 1, T, "name")?;
        let value: Option<f64> = get(r, 2, T, "value")?;
        Ok((at, name, value))
    })?;
    let mut by_time: HashMap<i64, BTreeMap<String, Option<f64>>> = HashMap::new();
    for (at, name, value) in rows {
        by_time.entry(at).or_default().insert(name, value);
    }
    for s in snapshots {
        if let Some(custom) = by_time.remove(&to_ms(s.collected_at)) {
            s.custom = custom;
        }
    }
    Ok(())
}

/// Fills the `custom` map of every node snapshot of `nodes` (all of one cluster) from
/// `custom_node_values`, with one query over their time span.
pub(crate) fn attach_to_nodes(conn: &Connection, nodes: &mut [NodeSnapshot]) -> Result<()> {
    let Some((cluster_id, from, to)) = span(nodes.iter().map(|n| (n.cluster_id, n.collected_at)))
    else {
        return Ok(());
    };
    const T: &str = "custom_node_values";
    let rows = query_all(
        conn,
        NODE_VALUES_IN_RANGE,
        params![cluster_id, from, to],
        |r| {
            let at: i64 = get(r, 0, T, "collected_at")?;
            let kind = parse_node_kind(&get::<String>(r, 1, T, "node_type")?)?;
            let id: String = get(r, 2, T, "node_id")?;
            let name: String = get(r, 3, T, "name")?;
            let value: f64 = get(r, 4, T, "value")?;
            Ok(((at, kind, id), name, value))
        },
    )?;
    let mut by_node: HashMap<_, BTreeMap<String, f64>> = HashMap::new();
    for (node, name, value) in rows {
        by_node.entry(node).or_default().insert(name, value);
    }
    for n in nodes {
        // The id moves into the key and back, rather than being cloned for each node.
        let key = (
            to_ms(n.collected_at),
            n.node_type,
            std::mem::take(&mut n.node_id),
        );
        if let Some(custom) = by_node.get(&key) {
            n.custom = custom.clone();
        }
        n.node_id = key.2;
    }
    Ok(())
}

/// Rewrites the `custom_daily` rows of cluster `cluster_id` for the UTC day `date` from that
/// day's `custom_values`, inside the transaction that writes the day's daily row.
pub(crate) fn roll_up_day(tx: &Connection, cluster_id: i64, date: Date) -> rusqlite::Result<()> {
    let day = date_text(date);
    tx.prepare_cached("DELETE FROM custom_daily WHERE cluster_id = ?1 AND date = ?2")?
        .execute(params![cluster_id, day])?;
    tx.prepare_cached(&ROLL_UP_DAY)?.execute(params![
        cluster_id,
        day_start_ms(date),
        next_day_start_ms(date),
        day
    ])?;
    Ok(())
}

/// Deletes the custom values of cluster `cluster_id` collected before `cutoff` (ms) in batches,
/// name by name (each batch a range of the key), and its node values.
pub(crate) fn delete_values_before(
    store: &Store,
    cluster_id: i64,
    cutoff: i64,
    pace: &mut Pace,
) -> Result<Batched> {
    let mut done = crate::retention::delete_cluster_rows_batched(
        store,
        "custom_node_values",
        "collected_at",
        cluster_id,
        cutoff,
        pace,
    )?;
    let names = store.custom_names_in(cluster_id, i64::MIN, cutoff.saturating_sub(1))?;
    for name in names {
        done += delete_batched(
            store,
            "custom_values",
            "cluster_id = ?1 AND name = ?2 AND collected_at < ?3",
            &[
                Value::Integer(cluster_id),
                Value::Text(name),
                Value::Integer(cutoff),
            ],
            pace,
        )?;
    }
    if done.rows > 0 {
        store.bump_generation(cluster_id);
    }
    Ok(done)
}

impl Store {
    /// The custom metric names cluster `cluster_id` has values of (null ones included) collected
    /// in `from..=to`, in name order: the definitions in force then, removed ones included (so
    /// that their history can still be asked for).
    pub fn custom_names(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<String>> {
        self.custom_names_in(cluster_id, to_ms(from), to_ms(to))
    }

    /// [`Store::custom_names`] over `from..=to` in ms.
    fn custom_names_in(&self, cluster_id: i64, from: i64, to: i64) -> Result<Vec<String>> {
        let conn = self.conn()?;
        query_all(&conn, &NAMES_IN_RANGE, params![cluster_id, from, to], |r| {
            get(r, 0, "custom_values", "name")
        })
    }

    /// The daily roll-ups of the custom metrics of cluster `cluster_id` from `from_date` to
    /// `to_date` (both included), by date, then name. A day has them once its daily row is
    /// written ([`Store::upsert_daily`]).
    pub fn custom_daily_range(
        &self,
        cluster_id: i64,
        from_date: Date,
        to_date: Date,
    ) -> Result<Vec<CustomDaily>> {
        const T: &str = "custom_daily";
        let conn = self.conn()?;
        query_all(
            &conn,
            "SELECT cluster_id, date, name, avg, min, max, samples FROM custom_daily \
             WHERE cluster_id = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date, name",
            params![cluster_id, date_text(from_date), date_text(to_date)],
            |r| {
                let date: String = get(r, 1, T, "date")?;
                let samples: i64 = get(r, 6, T, "samples")?;
                Ok(CustomDaily {
                    cluster_id: get(r, 0, T, "cluster_id")?,
                    date: parse_date(&date, "custom_daily.date")?,
                    name: get(r, 2, T, "name")?,
                    avg: get(r, 3, T, "avg")?,
                    min: get(r, 4, T, "min")?,
                    max: get(r, 5, T, "max")?,
                    samples: u64::try_from(samples).unwrap_or(0),
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plan of `sql` over `params`, one line per step.
    fn plan(store: &Store, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Vec<String> {
        let conn = store.conn().unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map(params, |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn every_read_of_the_values_is_a_range_of_a_primary_key() {
        let store = Store::open_temporary().unwrap();
        let plans = [
            plan(&store, &VALUES_IN_RANGE, params![1, 0, 10]),
            plan(&store, &NAMES_IN_RANGE, params![1, 0, 10]),
            plan(&store, &ROLL_UP_DAY, params![1, 0, 10, "2025-01-01"]),
            plan(&store, NODE_VALUES_IN_RANGE, params![1, 0, 10]),
        ];
        for steps in plans {
            let reads: Vec<&String> = steps
                .iter()
                .filter(|s| s.contains("custom_") || s.contains(" v "))
                .collect();
            assert!(!reads.is_empty(), "{steps:?}");
            for read in reads {
                assert!(
                    read.starts_with("SEARCH ") && read.contains("USING PRIMARY KEY (cluster_id="),
                    "{read} in {steps:?}"
                );
            }
            // The names are walked by the key, one seek each, never by a scan of the table.
            assert!(
                !steps.iter().any(|s| s.starts_with("SCAN custom_")),
                "{steps:?}"
            );
        }
    }
}
