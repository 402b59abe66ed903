//! Unit tests of the column lists, the migrations and the SQL-level details.

use std::collections::BTreeSet;

use rockscope_model::{DailySnapshot, MetricsSnapshot, NodeSnapshot};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::{date, datetime};

use crate::columns::{Column, ColumnKind};
use crate::{ClusterUpdate, Error, NewCluster, Password, SCHEMA_VERSION, Store};

/// A JSON object with a non-null value for every column of `columns`, derived from `seed`.
fn fill(columns: &[Column], seed: i64) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for (i, c) in columns.iter().enumerate() {
        let i = i as i64;
        let v = match c.kind {
            ColumnKind::Real | ColumnKind::RequiredReal => json!((seed + i) as f64 + 0.25),
            ColumnKind::Int | ColumnKind::RequiredInt => json!(seed + i),
            ColumnKind::Text | ColumnKind::RequiredText => json!(format!("{}-{seed}", c.name)),
            ColumnKind::Bool => json!(true),
        };
        m.insert(c.name.to_owned(), v);
    }
    m
}

pub(crate) fn full_snapshot(cluster_id: i64, at: OffsetDateTime) -> MetricsSnapshot {
    let mut m = fill(Store::metric_columns(), 1);
    m.insert(
        "source_errors".into(),
        json!([{"source": "metrics 10.0.0.1:8040", "code": "timeout", "message": "timed out"}]),
    );
    snapshot_from(m, cluster_id, at)
}

/// Optional columns null, required ones zero / false / empty.
pub(crate) fn sparse(columns: &[Column]) -> serde_json::Map<String, Value> {
    columns
        .iter()
        .map(|c| {
            let v = match c.kind {
                ColumnKind::RequiredReal => json!(0.0),
                ColumnKind::RequiredInt => json!(0),
                ColumnKind::RequiredText => json!(""),
                ColumnKind::Bool => json!(false),
                _ => Value::Null,
            };
            (c.name.to_owned(), v)
        })
        .collect()
}

/// The snapshot of `cluster_id` at `at` whose columns are `m` (`source_errors` empty unless `m`
/// has them).
pub(crate) fn snapshot_from(
    mut m: serde_json::Map<String, Value>,
    cluster_id: i64,
    at: OffsetDateTime,
) -> MetricsSnapshot {
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert(
        "collected_at".into(),
        json!(
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        ),
    );
    m.entry("source_errors").or_insert(json!([]));
    serde_json::from_value(Value::Object(m)).unwrap()
}

/// A temporary store with cluster "a" and `n` full snapshots of it a minute apart from
/// 2025-01-01 00:00 UTC: the store, the cluster's id and that start.
pub(crate) fn store_with_snapshots_a_minute_apart(n: i64) -> (Store, i64, OffsetDateTime) {
    let store = Store::open_temporary().unwrap();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let start = datetime!(2025-01-01 0:00 UTC);
    for i in 0..n {
        store
            .insert_cycle(&full_snapshot(id, start + time::Duration::minutes(i)), &[])
            .unwrap();
    }
    (store, id, start)
}

fn keys(v: &impl serde::Serialize) -> BTreeSet<String> {
    match serde_json::to_value(v).unwrap() {
        Value::Object(m) => m.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

fn expected(columns: &[Column], extra: &[&str]) -> BTreeSet<String> {
    columns
        .iter()
        .map(|c| c.name.to_owned())
        .chain(extra.iter().map(|s| (*s).to_owned()))
        .collect()
}

#[test]
fn metrics_columns_cover_every_field() {
    let snap = full_snapshot(1, datetime!(2025-01-01 0:00 UTC));
    assert_eq!(
        keys(&snap),
        expected(
            Store::metric_columns(),
            // `custom` is stored in its own tables (`crate::custom`), not as columns.
            &["cluster_id", "collected_at", "source_errors", "custom"]
        ),
        "every MetricsSnapshot field needs exactly one column in columns.rs"
    );
    assert_eq!(keys(&snap).len(), 127);
}

#[test]
fn node_and_daily_columns_cover_every_field() {
    let mut m = fill(Store::node_columns(), 3);
    m.insert("cluster_id".into(), json!(1));
    m.insert("collected_at".into(), json!("2025-01-01T00:00:00Z"));
    m.insert("node_type".into(), json!("be"));
    let node: NodeSnapshot = serde_json::from_value(Value::Object(m)).unwrap();
    assert_eq!(
        keys(&node),
        expected(
            Store::node_columns(),
            &["cluster_id", "collected_at", "node_type", "custom"]
        )
    );

    let mut m = fill(Store::daily_columns(), 3);
    m.insert("cluster_id".into(), json!(1));
    m.insert("date".into(), json!("2025-01-01"));
    m.insert("first_at".into(), json!("2025-01-01T00:00:00Z"));
    m.insert("last_at".into(), json!("2025-01-01T23:59:30Z"));
    let daily: DailySnapshot = serde_json::from_value(Value::Object(m)).unwrap();
    assert_eq!(
        keys(&daily),
        expected(
            Store::daily_columns(),
            &["cluster_id", "date", "first_at", "last_at"]
        )
    );
}

#[test]
fn daily_input_and_summary_columns_are_snapshot_columns_of_the_same_kind() {
    use crate::columns::{daily_input, metric, snapshot_summary};
    assert_eq!(daily_input::TABLE, metric::TABLE);
    assert_eq!(snapshot_summary::TABLE, metric::TABLE);
    for c in daily_input::COLUMNS.iter().chain(snapshot_summary::COLUMNS) {
        assert!(
            metric::COLUMNS.contains(c),
            "{c:?} is not a metrics_snapshots column"
        );
    }
}

#[test]
fn column_names_are_unique_plain_identifiers() {
    for cols in [
        Store::metric_columns(),
        Store::node_columns(),
        Store::daily_columns(),
    ] {
        let names: BTreeSet<_> = cols.iter().map(|c| c.name).collect();
        assert_eq!(names.len(), cols.len());
        for n in names {
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{n}"
            );
        }
    }
}

#[test]
fn fresh_database_has_current_schema_and_pragmas() {
    let store = Store::open_temporary().unwrap();
    let conn = store.conn().unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = conn
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sync, 1, "NORMAL");
    let busy: i64 = conn
        .query_row("PRAGMA busy_timeout", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 5000);
    for table in [
        "clusters",
        "metrics_snapshots",
        "node_identities",
        "node_cycles",
        "conversions",
        "daily_snapshots",
        "collection_runs",
        "collection_errors",
    ] {
        assert!(
            !crate::schema::table_columns(&conn, table)
                .unwrap()
                .is_empty(),
            "{table}"
        );
    }
    assert!(
        crate::schema::table_columns(&conn, "node_snapshots")
            .unwrap()
            .is_empty(),
        "node_snapshots is converted and dropped at the first start"
    );
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_owned()]);
}

#[test]
fn range_queries_use_the_cluster_time_index() {
    let store = Store::open_temporary().unwrap();
    let conn = store.conn().unwrap();
    let plan: Vec<String> = conn
        .prepare(
            // A column outside the overview's covering index: the narrow index, then the table.
            "EXPLAIN QUERY PLAN SELECT source_errors FROM metrics_snapshots \
             WHERE cluster_id = 1 AND collected_at >= 0 AND collected_at <= 10",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        plan.iter()
            .any(|p| p.contains("metrics_snapshots_cluster_time")),
        "{plan:?}"
    );
}

fn temp_path(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "rockscope-store-unit-{tag}-{}-{}.db",
        std::process::id(),
        OffsetDateTime::now_utc().unix_timestamp_nanos()
    ))
}

fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

#[test]
fn a_missing_model_column_is_added_at_start() {
    let path = temp_path("reconcile");
    {
        let store = Store::open(&path).unwrap();
        store
            .conn()
            .unwrap()
            .execute_batch("ALTER TABLE metrics_snapshots DROP COLUMN max_disk_usage_pct")
            .unwrap();
    }
    {
        let store = Store::open(&path).unwrap();
        let cols =
            crate::schema::table_columns(&store.conn().unwrap(), "metrics_snapshots").unwrap();
        assert!(cols.iter().any(|c| c == "max_disk_usage_pct"));
    }
    remove_db(&path);
}

#[test]
fn a_corrupt_value_is_reported_with_its_column() {
    let store = Store::open_temporary().unwrap();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    store
        .insert_cycle(&full_snapshot(c.id, datetime!(2025-01-01 0:00 UTC)), &[])
        .unwrap();
    store
        .conn()
        .unwrap()
        .execute("UPDATE metrics_snapshots SET source_errors = 'nope'", [])
        .unwrap();
    match store.latest_snapshot(c.id) {
        Err(Error::Corrupt(msg)) => {
            assert!(msg.contains("metrics_snapshots.source_errors"), "{msg}")
        }
        other => panic!("{other:?}"),
    }
    store
        .conn()
        .unwrap()
        .execute("UPDATE clusters SET fe_hosts = '{'", [])
        .unwrap();
    match store.get_cluster(c.id) {
        Err(Error::Corrupt(msg)) => assert!(msg.contains("clusters.fe_hosts"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

pub(crate) fn new_cluster(name: &str) -> NewCluster {
    NewCluster {
        name: name.into(),
        fe_hosts: vec!["127.0.0.1:8030".into()],
        username: "root".into(),
        password: Password::new("s3cret"),
        connect_timeout_secs: None,
        request_timeout_secs: Some(10),
        enabled: true,
    }
}

#[test]
fn field_names_are_validated_before_any_sql() {
    let store = Store::open_temporary().unwrap();
    let (from, to) = (
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2025-01-02 0:00 UTC),
    );
    for bad in [
        "qps) FROM clusters; --",
        "leader_name",
        "source_errors",
        "collected_at",
        "",
        "QPS",
    ] {
        assert!(
            matches!(store.series(1, from, to, &[bad], 10), Err(Error::InvalidField(f)) if f == bad),
            "{bad}"
        );
        assert!(matches!(
            store.range_stats(1, from, to, &["qps", bad]),
            Err(Error::InvalidField(_))
        ));
    }
    assert!(
        store
            .series(
                1,
                from,
                to,
                &["qps", "backend_alive", "rates_from_gauges"],
                10
            )
            .unwrap()
            .is_empty()
    );
}

#[test]
fn retention_runs_in_several_batches() {
    let (store, id, start) = store_with_snapshots_a_minute_apart(25);
    let (snapshots, ..) = store
        .delete_snapshots_before_batched(start + time::Duration::minutes(20), 6, false)
        .unwrap();
    assert_eq!(snapshots.rows, 20);
    assert_eq!(snapshots.batches, 4, "6 + 6 + 6 + 2");
    assert_eq!(
        store
            .count_snapshots(id, start, start + time::Duration::hours(1))
            .unwrap(),
        5
    );
}

#[test]
fn password_is_masked_and_never_serialized() {
    let store = Store::open_temporary().unwrap();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    assert_eq!(c.password.expose(), "s3cret");
    let debug = format!("{c:?} {:?}", new_cluster("b"));
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("***"));
    let json = serde_json::to_string(&c).unwrap();
    assert!(
        !json.contains("s3cret") && !json.contains("password"),
        "{json}"
    );
    let upd = ClusterUpdate {
        password: Some("other".into()),
        ..ClusterUpdate::default()
    };
    assert!(!format!("{upd:?}").contains("other"));
    let summaries = serde_json::to_string(&store.cluster_summaries().unwrap()).unwrap();
    assert!(!summaries.contains("s3cret"));
}

#[test]
fn day_helpers() {
    use crate::columns::{date_text, day_of_ms, day_start_ms, parse_date};
    let d = date!(2024 - 02 - 29);
    assert_eq!(date_text(d), "2024-02-29");
    assert_eq!(parse_date("2024-02-29", "x").unwrap(), d);
    assert!(matches!(
        parse_date("2024-2-29", "x"),
        Err(Error::Corrupt(_))
    ));
    let start = day_start_ms(d);
    assert_eq!(day_of_ms(start, "x").unwrap(), d);
    assert_eq!(day_of_ms(start - 1, "x").unwrap(), date!(2024 - 02 - 28));
    assert_eq!(day_of_ms(start + 86_399_999, "x").unwrap(), d);
}

#[test]
fn store_is_a_cheap_shareable_handle() {
    fn assert_handle<T: Send + Sync + Clone + 'static>() {}
    assert_handle::<Store>();
    let store = Store::open_temporary().unwrap();
    let clone = store.clone();
    let c = clone.create_cluster(&new_cluster("shared")).unwrap();
    assert_eq!(store.get_cluster(c.id).unwrap(), c);
    assert!(format!("{store:?}").contains("temporary: true"));
}

#[test]
fn once_the_file_is_gone_a_later_connection_failure_keeps_saying_so() {
    let store = Store::open_temporary().unwrap();
    store.ping().unwrap();
    std::fs::remove_file(store.path()).unwrap();
    let error = store.storage_state().last_error.unwrap();
    assert!(error.contains("deleted or replaced"), "{error}");
    // The one idle connection held, a ping needs a new one, which cannot be opened.
    let _held = store.conn().unwrap();
    assert!(store.ping().is_err());
    let state = store.storage_state();
    assert!(!state.healthy);
    let error = state.last_error.unwrap();
    assert!(error.contains("deleted or replaced"), "{error}");
}

/// A database file for one test, removed with its `-wal`, `-shm` and `.key` files when
/// dropped (the store's unit tests that open a file by path: migrations, conversions).
pub(crate) struct TestDb(pub(crate) std::path::PathBuf);

impl TestDb {
    pub(crate) fn new(name: &str) -> TestDb {
        TestDb(std::env::temp_dir().join(format!(
            "rockscope-store-unit-{name}-{}-{}.db",
            std::process::id(),
            time::OffsetDateTime::now_utc().unix_timestamp_nanos()
        )))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", ".key"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}
