//! The nodes of a cycle, packed: one `node_cycles` row per cluster and cycle, the nodes'
//! names apart in `node_identities` (schema version 9).
//!
//! A node row used to repeat its node id, host, port, role and version in every cycle, carry
//! every column of the other node types as nulls, and cost an index entry: about 236 bytes a
//! node and cycle. Now:
//!
//! * what names a node and rarely changes (`node_type`, `node_id`, `host`, `http_port`, `role`,
//!   `version`: [`IDENTITY`]) is one `node_identities` row, written the first time it is seen
//!   (a role or version change makes a new one) and remembered in memory ([`IdentityCache`]);
//! * a cycle's nodes are one blob, in the order the readers return them (FEs, BEs, CNs, each by
//!   `node_id`): a header (format, column count, node count), then per node its identity id, a
//!   bitmap of the columns it has, and those values packed by [`crate::codec`] (zigzag
//!   integers, doubles without their trailing zero bytes, text with its length). Nulls take one
//!   bit. Every value comes back bit for bit.
//!
//! **Invariant:** the packed columns are [`columns::node::COLUMNS`] without [`IDENTITY`], in
//! that order, and that list only ever grows at its end (a test pins it): a blob written with
//! fewer columns reads the missing ones as null (or a required one's default).
//!
//! The conversion [`CONVERSION`] moves the rows of the old `node_snapshots` table here in
//! batches of whole cycles, then drops it.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

use rockscope_model::{NodeKind, NodeSnapshot};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use time::OffsetDateTime;

use crate::codec::{Reader, put_int, put_real, put_text, put_varint};
use crate::columns::{Column, ColumnKind, from_ms, get, node, parse_node_kind};
use crate::convert::Conversion;
use crate::error::Result;
use crate::snapshots::query_all;

/// The columns kept in `node_identities`, not in the blob.
pub(crate) const IDENTITY: [&str; 5] = ["node_id", "host", "http_port", "role", "version"];

/// The blob format written.
const FORMAT: u64 = 1;

/// Where the blob's errors point.
const WHAT: &str = "node_cycles.nodes";

/// The packed columns: their index in [`node::COLUMNS`] and the column.
static PACKED: LazyLock<Vec<(usize, Column)>> = LazyLock::new(|| {
    node::COLUMNS
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, c)| !IDENTITY.contains(&c.name))
        .collect()
});

/// The index of each [`IDENTITY`] column in [`node::COLUMNS`].
static IDENTITY_INDEX: LazyLock<[usize; 5]> = LazyLock::new(|| {
    IDENTITY.map(|name| {
        node::COLUMNS
            .iter()
            .position(|c| c.name == name)
            .unwrap_or(usize::MAX)
    })
});

/// What names a node (the [`IDENTITY`] columns and its type).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Identity {
    kind: NodeKind,
    node_id: String,
    host: String,
    http_port: u16,
    role: Option<String>,
    version: Option<String>,
}

impl Identity {
    fn of(n: &NodeSnapshot) -> Identity {
        Identity {
            kind: n.node_type,
            node_id: n.node_id.clone(),
            host: n.host.clone(),
            http_port: n.http_port,
            role: n.role.clone(),
            version: n.version.clone(),
        }
    }
}

/// The ids of the identities already stored, per cluster, so that a cycle costs no lookup for
/// nodes seen before. Filled only after the transaction that stored an identity committed (a
/// rolled-back id is never remembered). Bounded: cleared when it holds [`IdentityCache::MAX`].
#[derive(Debug, Default)]
pub(crate) struct IdentityCache {
    ids: Mutex<HashMap<(i64, Identity), i64>>,
}

impl IdentityCache {
    /// Beyond this many identities (ten times a 13,000-node fleet) the cache starts over.
    const MAX: usize = 131_072;

    fn get(&self, cluster_id: i64, identity: &Identity) -> Option<i64> {
        let ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        // A borrowed key would need an owned tuple anyway; identities are short.
        ids.get(&(cluster_id, identity.clone())).copied()
    }

    /// Remembers identities stored by a committed transaction.
    pub(crate) fn remember(&self, stored: Vec<(i64, Identity, i64)>) {
        if stored.is_empty() {
            return;
        }
        let mut ids = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        if ids.len() + stored.len() > Self::MAX {
            ids.clear();
        }
        for (cluster_id, identity, id) in stored {
            ids.insert((cluster_id, identity), id);
        }
    }
}

/// Identities a write stored (or found) that the cache did not hold: `(cluster, identity, id)`,
/// for [`IdentityCache::remember`] after the commit.
pub(crate) type NewIdentities = Vec<(i64, Identity, i64)>;

/// Stores the nodes of cluster `cluster_id`'s cycle at `at` (Unix ms) inside `tx`: nothing when
/// there is none. Returns the identities to remember once `tx` committed.
pub(crate) fn insert(
    tx: &Transaction<'_>,
    cache: &IdentityCache,
    cluster_id: i64,
    at: i64,
    nodes: &[NodeSnapshot],
) -> rusqlite::Result<NewIdentities> {
    if nodes.is_empty() {
        return Ok(Vec::new());
    }
    let mut ordered: Vec<&NodeSnapshot> = nodes.iter().collect();
    ordered.sort_by(|a, b| {
        (kind_rank(a.node_type), &a.node_id).cmp(&(kind_rank(b.node_type), &b.node_id))
    });
    let mut new = Vec::new();
    let mut blob = Vec::with_capacity(128 * nodes.len());
    put_varint(&mut blob, FORMAT);
    put_varint(&mut blob, PACKED.len() as u64);
    put_varint(&mut blob, ordered.len() as u64);
    for n in ordered {
        let identity = Identity::of(n);
        let id = match cache.get(cluster_id, &identity) {
            Some(id) => id,
            None => {
                let id = identity_id(tx, cluster_id, &identity)?;
                new.push((cluster_id, identity, id));
                id
            }
        };
        put_varint(&mut blob, u64::try_from(id).unwrap_or(0));
        pack_node(&mut blob, n)?;
    }
    tx.prepare_cached(
        "INSERT INTO node_cycles (cluster_id, collected_at, nodes) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![cluster_id, at, blob])?;
    Ok(new)
}

/// FEs, then BEs, then CNs.
fn kind_rank(kind: NodeKind) -> u8 {
    match kind {
        NodeKind::Fe => 0,
        NodeKind::Be => 1,
        NodeKind::Cn => 2,
    }
}

/// The id of `identity` in `node_identities`, stored now if new. The write turn is held, so no
/// one stores it in between.
fn identity_id(
    tx: &Transaction<'_>,
    cluster_id: i64,
    identity: &Identity,
) -> rusqlite::Result<i64> {
    let kind = identity.kind.as_str();
    let found: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM node_identities WHERE cluster_id = ?1 AND node_id = ?2 \
             AND node_type = ?3 AND host = ?4 AND http_port = ?5 AND role IS ?6 AND version IS ?7",
        )?
        .query_row(
            params![
                cluster_id,
                identity.node_id,
                kind,
                identity.host,
                identity.http_port,
                identity.role,
                identity.version
            ],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    tx.prepare_cached(
        "INSERT INTO node_identities (cluster_id, node_type, node_id, host, http_port, role, version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        cluster_id,
        kind,
        identity.node_id,
        identity.host,
        identity.http_port,
        identity.role,
        identity.version
    ])?;
    Ok(tx.last_insert_rowid())
}

/// Appends `n`'s packed columns: the bitmap of the non-null ones, then their values.
fn pack_node(blob: &mut Vec<u8>, n: &NodeSnapshot) -> rusqlite::Result<()> {
    let params = node::params(n);
    let mut bitmap = vec![0u8; PACKED.len().div_ceil(8)];
    let mut values = Vec::with_capacity(64);
    for (bit, (index, column)) in PACKED.iter().enumerate() {
        let output = params[*index].to_sql()?;
        let value = match &output {
            ToSqlOutput::Borrowed(v) => *v,
            ToSqlOutput::Owned(v) => ValueRef::from(v),
            _ => ValueRef::Null,
        };
        let present = match (column.kind, value) {
            (_, ValueRef::Null) => false,
            (_, ValueRef::Integer(i)) => {
                put_int(&mut values, i);
                true
            }
            (_, ValueRef::Real(r)) => {
                put_real(&mut values, r);
                true
            }
            (_, ValueRef::Text(t)) => {
                put_text(&mut values, &String::from_utf8_lossy(t));
                true
            }
            (_, ValueRef::Blob(_)) => false,
        };
        if present {
            bitmap[bit / 8] |= 1 << (bit % 8);
        }
    }
    blob.extend_from_slice(&bitmap);
    blob.extend_from_slice(&values);
    Ok(())
}

/// The identities of cluster `cluster_id`, by id.
fn identities(conn: &Connection, cluster_id: i64) -> Result<HashMap<i64, Identity>> {
    const T: &str = "node_identities";
    let rows = query_all(
        conn,
        "SELECT id, node_type, node_id, host, http_port, role, version \
         FROM node_identities WHERE cluster_id = ?1",
        params![cluster_id],
        |r| {
            let id: i64 = get(r, 0, T, "id")?;
            let kind: String = get(r, 1, T, "node_type")?;
            Ok((
                id,
                Identity {
                    kind: parse_node_kind(&kind)?,
                    node_id: get(r, 2, T, "node_id")?,
                    host: get(r, 3, T, "host")?,
                    http_port: get(r, 4, T, "http_port")?,
                    role: get(r, 5, T, "role")?,
                    version: get(r, 6, T, "version")?,
                },
            ))
        },
    )?;
    Ok(rows.into_iter().collect())
}

/// The node snapshots of cluster `cluster_id`'s cycles in `from..=to` (Unix ms), oldest cycle
/// first, at most `limit` nodes. Custom values are not attached here.
pub(crate) fn read_range(
    conn: &Connection,
    cluster_id: i64,
    from: i64,
    to: i64,
    limit: usize,
) -> Result<Vec<NodeSnapshot>> {
    let blobs = query_all(
        conn,
        "SELECT collected_at, nodes FROM node_cycles \
         WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3 \
         ORDER BY collected_at",
        params![cluster_id, from, to],
        |r| {
            Ok((
                get::<i64>(r, 0, "node_cycles", "collected_at")?,
                get::<Vec<u8>>(r, 1, "node_cycles", "nodes")?,
            ))
        },
    )?;
    unpack_cycles(conn, cluster_id, blobs, limit)
}

/// The node snapshots of cluster `cluster_id`'s cycle at exactly `at` (Unix ms).
pub(crate) fn read_cycle(conn: &Connection, cluster_id: i64, at: i64) -> Result<Vec<NodeSnapshot>> {
    read_range(conn, cluster_id, at, at, usize::MAX)
}

fn unpack_cycles(
    conn: &Connection,
    cluster_id: i64,
    blobs: Vec<(i64, Vec<u8>)>,
    limit: usize,
) -> Result<Vec<NodeSnapshot>> {
    if blobs.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let identities = identities(conn, cluster_id)?;
    let mut out = Vec::new();
    for (at, blob) in blobs {
        let collected_at = from_ms(at, "node_cycles.collected_at")?;
        unpack(
            &blob,
            cluster_id,
            collected_at,
            &identities,
            limit,
            &mut out,
        )?;
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Appends the nodes of one blob to `out`, stopping at `limit` in all.
fn unpack(
    blob: &[u8],
    cluster_id: i64,
    collected_at: OffsetDateTime,
    identities: &HashMap<i64, Identity>,
    limit: usize,
    out: &mut Vec<NodeSnapshot>,
) -> Result<()> {
    let mut r = Reader::new(blob, WHAT);
    let format = r.varint()?;
    if format != FORMAT {
        return Err(r.corrupt(format_args!("unknown format {format}")));
    }
    let stored_columns = r.count()?;
    if stored_columns > PACKED.len() {
        return Err(r.corrupt(format_args!(
            "{stored_columns} columns, more than the {} this version knows (written by a newer rockscope?)",
            PACKED.len()
        )));
    }
    let count = r.count()?;
    for _ in 0..count {
        if out.len() >= limit {
            return Ok(());
        }
        let id = r.varint()?;
        let identity = i64::try_from(id)
            .ok()
            .and_then(|id| identities.get(&id))
            .ok_or_else(|| r.corrupt(format_args!("node identity {id} is not stored")))?;
        out.push(unpack_node(
            &mut r,
            stored_columns,
            identity,
            cluster_id,
            collected_at,
        )?);
    }
    if !r.is_at_end() {
        return Err(r.corrupt(format_args!("bytes left after {count} nodes")));
    }
    Ok(())
}

fn unpack_node(
    r: &mut Reader<'_>,
    stored_columns: usize,
    identity: &Identity,
    cluster_id: i64,
    collected_at: OffsetDateTime,
) -> Result<NodeSnapshot> {
    let bitmap = r.take(stored_columns.div_ceil(8))?;
    let mut values = vec![Value::Null; node::COLUMNS.len()];
    for (bit, (index, column)) in PACKED.iter().enumerate() {
        let present = bit < stored_columns && bitmap[bit / 8] & (1 << (bit % 8)) != 0;
        values[*index] = if present {
            match column.kind {
                ColumnKind::Int | ColumnKind::RequiredInt | ColumnKind::Bool => {
                    Value::Integer(r.int()?)
                }
                ColumnKind::Real | ColumnKind::RequiredReal => Value::Real(r.real()?),
                ColumnKind::Text | ColumnKind::RequiredText => Value::Text(r.text()?.to_owned()),
            }
        } else {
            default_of(column.kind)
        };
    }
    let [node_id, host, http_port, role, version] = *IDENTITY_INDEX;
    values[node_id] = Value::Text(identity.node_id.clone());
    values[host] = Value::Text(identity.host.clone());
    values[http_port] = Value::Integer(i64::from(identity.http_port));
    values[role] = identity.role.clone().map_or(Value::Null, Value::Text);
    values[version] = identity.version.clone().map_or(Value::Null, Value::Text);
    node::from_values(
        &values,
        cluster_id,
        collected_at,
        identity.kind,
        std::collections::BTreeMap::new(),
    )
}

/// What an absent column reads as: null, or a required column's default (as its DDL's).
fn default_of(kind: ColumnKind) -> Value {
    match kind {
        ColumnKind::RequiredInt | ColumnKind::Bool => Value::Integer(0),
        ColumnKind::RequiredReal => Value::Real(0.0),
        ColumnKind::RequiredText => Value::Text(String::new()),
        ColumnKind::Int | ColumnKind::Real | ColumnKind::Text => Value::Null,
    }
}

// ---- the conversion from `node_snapshots` ------------------------------------------------------

/// Moves the rows of the old `node_snapshots` table into `node_cycles`, whole cycles at a time.
pub(crate) const CONVERSION: Conversion = Conversion {
    name: "node_cycles",
    remaining: remaining_cycles,
    step: convert_cycles,
    finish: drop_node_snapshots,
    batch: 500,
};

fn old_table_exists(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'node_snapshots'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn remaining_cycles(conn: &Connection) -> Result<u64> {
    if !old_table_exists(conn)? {
        return Ok(0);
    }
    let n: i64 = conn.query_row(
        "SELECT COUNT(*) FROM (SELECT DISTINCT cluster_id, collected_at FROM node_snapshots)",
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Converts the first `limit` cycles of `node_snapshots` (by cluster and time).
fn convert_cycles(tx: &Transaction<'_>, limit: usize) -> Result<usize> {
    if !old_table_exists(tx)? {
        return Ok(0);
    }
    let cycles = query_all(
        tx,
        "SELECT DISTINCT cluster_id, collected_at FROM node_snapshots \
         ORDER BY cluster_id, collected_at LIMIT ?1",
        params![crate::sql_limit(limit)],
        |r| {
            Ok((
                get::<i64>(r, 0, "node_snapshots", "cluster_id")?,
                get::<i64>(r, 1, "node_snapshots", "collected_at")?,
            ))
        },
    )?;
    // The conversion runs before the store's cache exists: a throw-away one (the ids are
    // looked up again by the first cycles collected).
    let cache = IdentityCache::default();
    for &(cluster_id, at) in &cycles {
        let nodes = crate::snapshots::old_node_rows(tx, cluster_id, at)?;
        let stored = insert(tx, &cache, cluster_id, at, &nodes)?;
        cache.remember(stored);
        tx.execute(
            "DELETE FROM node_snapshots WHERE cluster_id = ?1 AND collected_at = ?2",
            params![cluster_id, at],
        )?;
    }
    Ok(cycles.len())
}

fn drop_node_snapshots(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch("DROP TABLE IF EXISTS node_snapshots")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed columns only ever grow at their end: a blob is read by position.
    #[test]
    fn the_packed_columns_keep_their_order() {
        let shipped = [
            "alive",
            "decommissioned",
            "cpu_usage_pct",
            "process_cpu_usage_pct",
            "cpu_cores",
            "memory_usage_pct",
            "memory_used_bytes",
            "memory_limit_bytes",
            "disk_total_bytes",
            "disk_used_bytes",
            "disk_usage_pct",
            "data_used_bytes",
            "tablet_count",
            "compaction_score",
            "running_queries",
            "jvm_heap_used",
            "jvm_heap_max",
            "jvm_heap_usage_pct",
            "qps",
            "query_latency_p99",
            "query_error_per_second",
            "query_error_per_second_15s",
            "connections",
            "network_send_rate",
            "network_receive_rate",
            "io_read_rate",
            "io_write_rate",
            "jvm_thread_count",
            "disk_io_util_pct",
            "fullest_disk_path",
            "fullest_disk_path_usage_pct",
            "max_tablet_rowset_num",
            "scrape_ok",
            "scrape_error",
            "scrape_duration_ms",
        ];
        let now: Vec<&str> = PACKED.iter().map(|(_, c)| c.name).collect();
        assert!(now.len() >= shipped.len());
        assert_eq!(
            now[..shipped.len()],
            shipped,
            "a packed column moved or went away"
        );
    }

    #[test]
    fn a_damaged_blob_is_an_error_never_a_panic() {
        let identities = HashMap::from([(
            1,
            Identity {
                kind: NodeKind::Be,
                node_id: "10001".into(),
                host: "h".into(),
                http_port: 8040,
                role: None,
                version: None,
            },
        )]);
        let at = OffsetDateTime::UNIX_EPOCH;
        let mut blob = Vec::new();
        put_varint(&mut blob, FORMAT);
        put_varint(&mut blob, PACKED.len() as u64);
        put_varint(&mut blob, 1);
        put_varint(&mut blob, 1);
        blob.extend(std::iter::repeat_n(0u8, PACKED.len().div_ceil(8)));
        let mut out = Vec::new();
        unpack(&blob, 7, at, &identities, usize::MAX, &mut out).unwrap();
        assert_eq!(out[0].node_id, "10001");
        assert_eq!(out[0].cpu_usage_pct, None);
        for cut in 0..blob.len() {
            let err = unpack(
                &blob[..cut],
                7,
                at,
                &identities,
                usize::MAX,
                &mut Vec::new(),
            );
            assert!(matches!(err, Err(crate::Error::Corrupt(_))), "cut at {cut}");
        }
        let mut unknown = blob.clone();
        unknown[3] = 9; // identity 9 is not stored
        let err = unpack(&unknown, 7, at, &identities, usize::MAX, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("node identity 9"), "{err}");
        let mut longer = blob.clone();
        longer.push(0);
        assert!(unpack(&longer, 7, at, &identities, usize::MAX, &mut Vec::new()).is_err());
    }
}
