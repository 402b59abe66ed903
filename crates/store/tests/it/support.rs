//! Shared helpers: temporary database files and snapshot builders.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rockscope_model::{DailySnapshot, MetricsSnapshot, NodeKind, NodeSnapshot};
use rockscope_store::{Column, ColumnKind, NewCluster, Password, Store};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;
use time::{Date, OffsetDateTime};

/// A uniquely named database file under the temp dir, removed (with `-wal`/`-shm`) on drop.
pub struct TempDb {
    pub path: PathBuf,
}

impl TempDb {
    pub fn new(tag: &str) -> TempDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "rockscope-store-it-{tag}-{}-{}-{}.db",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        remove_db(&path);
        TempDb { path }
    }

    pub fn open(&self) -> Store {
        Store::open(&self.path).expect("open store")
    }

    /// A raw connection, for checks the store's API does not offer.
    pub fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("raw open")
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.raw().query_row(sql, [], |r| r.get(0)).expect(sql)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        remove_db(&self.path);
    }
}

pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal", ".key", ".key.old"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

pub fn t0() -> OffsetDateTime {
    datetime!(2025-03-01 0:00 UTC)
}

pub fn secs(s: i64) -> time::Duration {
    time::Duration::seconds(s)
}

pub fn new_cluster(name: &str) -> NewCluster {
    NewCluster {
        name: name.into(),
        fe_hosts: vec!["10.0.0.1:8030".into(), "10.0.0.2:8030".into()],
        username: "monitor".into(),
        password: Password::new("p@ss-word"),
        connect_timeout_secs: Some(3),
        request_timeout_secs: None,
        enabled: true,
    }
}

fn rfc3339(t: OffsetDateTime) -> Value {
    json!(t.format(&Rfc3339).unwrap())
}

/// Every column non-null, values derived from `seed`.
fn filled(columns: &[Column], seed: i64) -> Map<String, Value> {
    let mut m = Map::new();
    for (i, c) in columns.iter().enumerate() {
        let i = i as i64;
        let v = match c.kind {
            ColumnKind::Real | ColumnKind::RequiredReal => json!((seed * 1000 + i) as f64 + 0.125),
            ColumnKind::Int | ColumnKind::RequiredInt => json!(seed * 1000 + i),
            ColumnKind::Text | ColumnKind::RequiredText => json!(format!("{}-{seed}", c.name)),
            ColumnKind::Bool => json!(seed % 2 == 1),
        };
        m.insert(c.name.to_owned(), v);
    }
    m
}

/// Optional columns null, required ones zero / false / empty.
fn sparse(columns: &[Column]) -> Map<String, Value> {
    let mut m = Map::new();
    for c in columns {
        let v = match c.kind {
            ColumnKind::RequiredReal => json!(0.0),
            ColumnKind::RequiredInt => json!(0),
            ColumnKind::RequiredText => json!(""),
            ColumnKind::Bool => json!(false),
            _ => Value::Null,
        };
        m.insert(c.name.to_owned(), v);
    }
    m
}

fn metric_from(mut m: Map<String, Value>, cluster_id: i64, at: OffsetDateTime) -> MetricsSnapshot {
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("collected_at".into(), rfc3339(at));
    m.entry("source_errors").or_insert(json!([]));
    serde_json::from_value(Value::Object(m)).expect("snapshot from json")
}

/// A snapshot with every field non-null (and one source error).
pub fn full_snapshot(cluster_id: i64, at: OffsetDateTime, seed: i64) -> MetricsSnapshot {
    let mut m = filled(Store::metric_columns(), seed);
    m.insert(
        "source_errors".into(),
        json!([{"source": "metrics 10.0.0.3:8040", "code": "timeout", "message": "read timed out after 10 s"},
               {"source": "show_proc /compute_nodes", "code": "http_500", "message": "boom"}]),
    );
    metric_from(m, cluster_id, at)
}

/// A snapshot with every optional field null.
pub fn sparse_snapshot(cluster_id: i64, at: OffsetDateTime) -> MetricsSnapshot {
    metric_from(sparse(Store::metric_columns()), cluster_id, at)
}

/// A sparse snapshot with the given fields set.
pub fn snapshot_with(
    cluster_id: i64,
    at: OffsetDateTime,
    fields: &[(&str, Value)],
) -> MetricsSnapshot {
    let mut m = sparse(Store::metric_columns());
    for (k, v) in fields {
        assert!(m.contains_key(*k), "unknown field {k}");
        m.insert((*k).to_owned(), v.clone());
    }
    metric_from(m, cluster_id, at)
}

pub fn node(
    cluster_id: i64,
    at: OffsetDateTime,
    kind: NodeKind,
    id: &str,
    seed: i64,
) -> NodeSnapshot {
    let mut m = filled(Store::node_columns(), seed);
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("collected_at".into(), rfc3339(at));
    m.insert("node_type".into(), json!(kind.as_str()));
    m.insert("node_id".into(), json!(id));
    m.insert("http_port".into(), json!(8040));
    serde_json::from_value(Value::Object(m)).expect("node from json")
}

pub fn daily(cluster_id: i64, date: Date, seed: i64) -> DailySnapshot {
    let mut m = filled(Store::daily_columns(), seed);
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("date".into(), json!(date.to_string()));
    let start = date.midnight().assume_utc();
    m.insert("first_at".into(), rfc3339(start));
    m.insert("last_at".into(), rfc3339(start + secs(86_370)));
    serde_json::from_value(Value::Object(m)).expect("daily from json")
}
