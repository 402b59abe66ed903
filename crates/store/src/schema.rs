//! The schema and its versioned migrations.
//!
//! The schema version lives in `PRAGMA user_version`. At start [`migrate`] runs, in one
//! `IMMEDIATE` transaction: it refuses a database whose version is newer than
//! [`SCHEMA_VERSION`] ([`Error::SchemaTooNew`], nothing changed), applies every migration above
//! the stored version in order, adds any model column the snapshot tables lack (see
//! [`crate::columns`]: a new model field becomes a nullable column, or a required one with a
//! default) and stores the new version. Either all of it happens or none.
//!
//! To change the schema in another way, append a migration to [`MIGRATIONS`]; never edit one that
//! has shipped.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::columns::{self, Column};
use crate::error::{Error, Result};

/// One schema migration: brings a database from version `index` to `index + 1`.
struct Migration {
    /// What it does, for the log.
    name: &'static str,
    /// Applies it inside the migration transaction.
    apply: fn(&Transaction<'_>) -> Result<()>,
}

/// The migrations, in order; entry `i` upgrades version `i` to `i + 1`.
const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "initial schema",
        apply: v1_initial,
    },
    Migration {
        name: "covering index for the cluster overview",
        apply: v2_overview_index,
    },
    Migration {
        name: "cycle outcomes for the daily availability",
        apply: v3_cycle_outcomes,
    },
    Migration {
        name: "collection errors: one row per repeating error, with a count and first time",
        apply: v4_error_repeats,
    },
    Migration {
        name: "snapshots: old running_queries (BE query contexts) moved to running_query_contexts",
        apply: v5_running_query_contexts,
    },
    Migration {
        name: "alerts: current alerts, their history and the user rules of the API",
        apply: v6_alerts,
    },
    Migration {
        name: "remote write: how far each endpoint was sent each cluster's cycles",
        apply: v7_remote_write_progress,
    },
    Migration {
        name: "custom metrics: their values, per-node values, daily roll-ups and definitions",
        apply: v8_custom_metrics,
    },
    Migration {
        name: "node snapshots packed: one row per cycle, node identities apart; data conversions; thinning",
        apply: v9_node_cycles,
    },
    Migration {
        name: "the 5-minute tier of the cluster snapshots",
        apply: v10_metrics_5m,
    },
    Migration {
        name: "the 30-minute tier of the overview's fields",
        apply: v11_overview_30m,
    },
    Migration {
        name: "history ladder: node rows thinned on their own, half-hour granules in the 5-minute tier",
        apply: v12_history_ladder,
    },
];

/// rockscope's `PRAGMA application_id` (the ASCII of `RSCP`), written into every database it
/// creates or adopts, so that `storage.path` pointing at another program's database is refused
/// ([`Error::ForeignDatabase`]) instead of gaining rockscope's tables.
pub const APPLICATION_ID: i32 = 0x5253_4350;

/// Tables every rockscope database has had since version 1: a database with these tables, a
/// `user_version` of 1 or more and no application id was written by an older rockscope, and is
/// adopted (marked with [`APPLICATION_ID`]).
const V1_TABLES: &[&str] = &[
    "clusters",
    "metrics_snapshots",
    // Not `node_snapshots`: version 9's conversion drops it.
    "daily_snapshots",
    "collection_runs",
    "collection_errors",
];

/// The schema version this build writes (the number of migrations).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The snapshot tables whose plain columns are reconciled with the model at every start.
const MODEL_TABLES: &[(&str, &[Column])] = &[
    (columns::metric::TABLE, columns::metric::COLUMNS),
    (columns::node::TABLE, columns::node::COLUMNS),
    (columns::daily::TABLE, columns::daily::COLUMNS),
];

/// [`Error::SchemaTooNew`] when the file's version is above [`SCHEMA_VERSION`] (read-only check).
pub(crate) fn refuse_newer(conn: &Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// [`Error::ForeignDatabase`] unless the file is empty, marked as rockscope's, or an unmarked
/// database of an older rockscope (read-only check).
pub(crate) fn refuse_foreign(conn: &Connection, path: &std::path::Path) -> Result<()> {
    let foreign = |why: String| Error::ForeignDatabase {
        path: path.display().to_string(),
        why,
    };
    let id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id == i64::from(APPLICATION_ID) {
        return Ok(());
    }
    if id != 0 {
        return Err(foreign(format!(
            "its application_id is {id:#x}, rockscope's is {APPLICATION_ID:#x}"
        )));
    }
    let tables: Vec<String> = {
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             ORDER BY name",
        )?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let ours = V1_TABLES.iter().all(|t| tables.iter().any(|n| n == t));
    if tables.is_empty() || (version >= 1 && ours) {
        return Ok(());
    }
    let mut listed = tables
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if tables.len() > 5 {
        listed.push_str(", ...");
    }
    Err(foreign(format!(
        "it has tables ({listed}) but not rockscope's application_id {APPLICATION_ID:#x}"
    )))
}

/// Bring the database to [`SCHEMA_VERSION`], mark it with [`APPLICATION_ID`] and encrypt any
/// plaintext password with `key` (see [`crate::secret`]); see the module documentation.
pub(crate) fn migrate(conn: &mut Connection, key: &crate::SecretKey) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let start = usize::try_from(found)
        .map_err(|_| Error::corrupt("PRAGMA user_version", format_args!("negative: {found}")))?;
    for (i, m) in MIGRATIONS.iter().enumerate().skip(start) {
        log::info!("store: applying schema migration {} ({})", i + 1, m.name);
        (m.apply)(&tx)?;
    }
    reconcile_columns(&tx)?;
    if found != SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    let marked: i64 = tx.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if marked != i64::from(APPLICATION_ID) {
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    // Done here rather than as a migration: SQL migrations do not have the key.
    let encrypted = crate::secret::encrypt_plaintext_rows(&tx, key)?;
    if encrypted > 0 {
        log::info!("store: encrypted {encrypted} plaintext cluster password(s) at rest");
    }
    tx.commit()?;
    Ok(())
}

/// Add every model column a snapshot table lacks.
fn reconcile_columns(tx: &Transaction<'_>) -> Result<()> {
    for (table, cols) in MODEL_TABLES {
        let existing = table_columns(tx, table)?;
        if existing.is_empty() {
            // A table a conversion has retired (`node_snapshots`, see `crate::node_cycles`).
            continue;
        }
        for c in cols
            .iter()
            .filter(|c| !existing.iter().any(|e| e == c.name))
        {
            log::info!("store: adding column {table}.{}", c.name);
            tx.execute_batch(&format!(
                "ALTER TABLE {table} ADD COLUMN {}",
                c.definition()
            ))?;
        }
    }
    Ok(())
}

/// The column names of `table`.
pub(crate) fn table_columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(names)
}

/// `col1 TYPE, col2 TYPE, ...` for a `CREATE TABLE`.
fn definitions(cols: &[Column]) -> String {
    cols.iter()
        .map(|c| format!(",\n    {}", c.definition()))
        .collect()
}

/// Version 1: every table and index.
fn v1_initial(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(&format!(
        "
CREATE TABLE clusters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    fe_hosts TEXT NOT NULL,
    username TEXT NOT NULL,
    password TEXT NOT NULL,
    connect_timeout_secs INTEGER,
    request_timeout_secs INTEGER,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    source TEXT NOT NULL CHECK (source IN ('api', 'config')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE metrics_snapshots (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    collected_at INTEGER NOT NULL,
    source_errors TEXT NOT NULL DEFAULT '[]'{metric}
) STRICT;
CREATE UNIQUE INDEX metrics_snapshots_cluster_time
    ON metrics_snapshots (cluster_id, collected_at);

CREATE TABLE node_snapshots (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    collected_at INTEGER NOT NULL,
    node_type TEXT NOT NULL CHECK (node_type IN ('fe', 'be', 'cn')){node}
) STRICT;
CREATE INDEX node_snapshots_cluster_time ON node_snapshots (cluster_id, collected_at);

CREATE TABLE daily_snapshots (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL{daily},
    UNIQUE (cluster_id, date)
) STRICT;

CREATE TABLE collection_runs (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    clusters_total INTEGER NOT NULL,
    clusters_ok INTEGER NOT NULL,
    clusters_failed INTEGER NOT NULL
) STRICT;
CREATE INDEX collection_runs_started ON collection_runs (started_at);

CREATE TABLE collection_errors (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    stage TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL
) STRICT;
CREATE INDEX collection_errors_cluster_at ON collection_errors (cluster_id, at);
CREATE INDEX collection_errors_at ON collection_errors (at);
",
        metric = definitions(columns::metric::COLUMNS),
        node = definitions(columns::node::COLUMNS),
        daily = definitions(columns::daily::COLUMNS),
    ))?;
    Ok(())
}

/// Version 2: the index `metrics_snapshots_overview` on `(cluster_id, collected_at)` and the
/// overview's fields ([`crate::series::OVERVIEW_FIELDS`] as of this version, spelled out because
/// a shipped migration never changes), so that the overview's range query
/// ([`crate::Store::series_with_stats`]) reads this index alone instead of one table page per
/// snapshot. On the benchmark database (2,016,000 snapshots) it takes 343 MiB, about 30 % of the
/// table, and building it, which reads the whole table once, took 31 s (`docs/BENCHMARKS.md`).
fn v2_overview_index(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE INDEX metrics_snapshots_overview ON metrics_snapshots (
    cluster_id, collected_at,
    qps, rps, query_latency_p50, query_latency_p95, query_latency_p99, query_error_rate,
    avg_cpu_usage, avg_memory_usage, disk_usage_pct, jvm_heap_usage_pct,
    network_send_rate, network_receive_rate, io_read_rate, io_write_rate
);",
    )?;
    Ok(())
}

/// Version 3: `cycle_outcomes`, one narrow row per collection cycle of a cluster that rockscope
/// completed on its side: whether the cluster answered (`reachable` 1) or nothing of it did
/// (0). The daily availability counts the time after an unreachable cycle as down; a cycle
/// that failed on rockscope's side leaves no row, so its time stays unknown.
fn v3_cycle_outcomes(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE cycle_outcomes (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    reachable INTEGER NOT NULL CHECK (reachable IN (0, 1))
) STRICT;
CREATE UNIQUE INDEX cycle_outcomes_cluster_at ON cycle_outcomes (cluster_id, at);",
    )?;
    Ok(())
}

/// Version 4: `collection_errors` stores a repeating error once: `count` (how many times) and
/// `first_at` (the first time; `at` is the last), see [`crate::runs`].
fn v4_error_repeats(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "ALTER TABLE collection_errors ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
         ALTER TABLE collection_errors ADD COLUMN first_at INTEGER NOT NULL DEFAULT 0;
         UPDATE collection_errors SET first_at = at;",
    )?;
    Ok(())
}

/// Version 5: `running_queries` means the queries the FEs coordinate. Rows written before it was
/// renamed `running_query_contexts` hold the BEs' summed `NumRunningQueries` in
/// `running_queries`, and no row holds both: those values move to `running_query_contexts`
/// (added here when the database never ran the renamed build), so that no stored
/// `running_queries` keeps the old meaning.
fn v5_running_query_contexts(tx: &Transaction<'_>) -> Result<()> {
    let table = columns::metric::TABLE;
    let existing = table_columns(tx, table)?;
    let has = |name: &str| existing.iter().any(|c| c == name);
    if !has("running_queries") {
        return Ok(());
    }
    if !has("running_query_contexts") {
        tx.execute_batch(&format!(
            "ALTER TABLE {table} ADD COLUMN running_query_contexts INTEGER"
        ))?;
    }
    tx.execute_batch(&format!(
        "UPDATE {table} SET running_query_contexts = running_queries, running_queries = NULL
         WHERE running_queries IS NOT NULL AND running_query_contexts IS NULL"
    ))?;
    Ok(())
}

/// Version 6: `alerts` (each cluster's alerts that are not inactive, as the last evaluation
/// left them), `alert_events` (their state changes, the history, with its own retention) and
/// `alert_rules` (user rules created through the API; the config file's are not stored). See
/// [`crate::alerts`].
fn v6_alerts(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE alerts (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    rule TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    value REAL,
    active_since INTEGER NOT NULL,
    fired_at INTEGER,
    last_true_at INTEGER NOT NULL,
    resolved_at INTEGER,
    evaluated_at INTEGER NOT NULL,
    last_sent_at INTEGER,
    last_sent_state TEXT CHECK (last_sent_state IN ('pending', 'firing', 'resolved')),
    keep_firing_since INTEGER,
    PRIMARY KEY (cluster_id, fingerprint)
) STRICT;

CREATE TABLE alert_events (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    rule TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    labels TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    value REAL
) STRICT;
CREATE INDEX alert_events_cluster_at ON alert_events (cluster_id, at);
CREATE INDEX alert_events_at ON alert_events (at);

CREATE TABLE alert_rules (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;",
    )?;
    Ok(())
}

fn v7_remote_write_progress(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE remote_write_progress (
    endpoint TEXT NOT NULL,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    sent_until INTEGER NOT NULL,
    PRIMARY KEY (endpoint, cluster_id)
) STRICT;",
    )?;
    Ok(())
}

/// Version 8: the custom metrics (see [`crate::custom`]). Narrow tables keyed for their reads,
/// `WITHOUT ROWID` so that the key is the row (no second B-tree):
///
/// * `custom_values`: one row per cluster, cycle and custom metric in force, `value` NULL when
///   no node had the series; keyed by `(cluster_id, name, collected_at)` so that a series or a
///   day of one metric is one range of the key;
/// * `custom_node_values`: the per-node values of `per_node` definitions, keyed like the node
///   snapshot they belong to (`cluster_id, collected_at, node_type, node_id`) and then `name`;
/// * `custom_daily`: the daily roll-up of each metric (`avg`, `min`, `max` over the non-null
///   values, `samples` their count), keyed `(cluster_id, date, name)`;
/// * `custom_metrics`: the definitions added through the API (`spec`: the
///   `CustomMetricSpec` as JSON), like `alert_rules`.
fn v8_custom_metrics(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE custom_values (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    collected_at INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (cluster_id, name, collected_at)
) STRICT, WITHOUT ROWID;

CREATE TABLE custom_node_values (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    collected_at INTEGER NOT NULL,
    node_type TEXT NOT NULL CHECK (node_type IN ('fe', 'be', 'cn')),
    node_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (cluster_id, collected_at, node_type, node_id, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE custom_daily (
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    name TEXT NOT NULL,
    avg REAL,
    min REAL,
    max REAL,
    samples INTEGER NOT NULL,
    PRIMARY KEY (cluster_id, date, name)
) STRICT, WITHOUT ROWID;

CREATE TABLE custom_metrics (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;",
    )?;
    Ok(())
}

/// Version 9: the compact node layout ([`crate::node_cycles`]) and the record of finished data
/// conversions ([`crate::convert`]):
///
/// * `node_identities`: what names a node and rarely changes (`node_type`, `node_id`, `host`,
///   `http_port`, `role`, `version`), one row per distinct combination per cluster; ids are
///   never reused (`AUTOINCREMENT`), as the packed cycles refer to them;
/// * `node_cycles`: one row per cluster and cycle, `nodes` holding every node's figures packed;
/// * `conversions`: the name and finish time of each finished conversion;
/// * `thinned_until`: per cluster, where [`crate::Store::thin_before`] stopped.
///
/// `node_snapshots` stays until the conversion `node_cycles` has moved its rows over.
fn v9_node_cycles(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE node_identities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    node_type TEXT NOT NULL CHECK (node_type IN ('fe', 'be', 'cn')),
    node_id TEXT NOT NULL,
    host TEXT NOT NULL,
    http_port INTEGER NOT NULL,
    role TEXT,
    version TEXT
) STRICT;
CREATE INDEX node_identities_cluster_node ON node_identities (cluster_id, node_id);

CREATE TABLE node_cycles (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    collected_at INTEGER NOT NULL,
    nodes BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX node_cycles_cluster_time ON node_cycles (cluster_id, collected_at);

CREATE TABLE conversions (
    name TEXT PRIMARY KEY,
    finished_at INTEGER NOT NULL
) STRICT;

CREATE TABLE thinned_until (
    cluster_id INTEGER PRIMARY KEY REFERENCES clusters(id) ON DELETE CASCADE,
    until INTEGER NOT NULL
) STRICT;",
    )?;
    Ok(())
}

/// Version 10: `metrics_5m`, the 5-minute tier of the cluster snapshots ([`crate::tier`]): one
/// row per cluster and 5-minute granule (`bucket_at`, its start in Unix ms, a multiple of
/// 300,000), with the snapshots it folds (`rows`), the sum of their `collected_at` (`at_sum`)
/// and every numeric column's count, sum, minimum and maximum packed in `stats`. A rowid table:
/// its rows are 1 to 3 KB, which SQLite advises against keeping in a `WITHOUT ROWID` b-tree.
/// The conversion `metrics_5m` ([`crate::tier::backfill`]) fills it from the snapshots.
fn v10_metrics_5m(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE metrics_5m (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    bucket_at INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    at_sum INTEGER NOT NULL,
    stats BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX metrics_5m_cluster_bucket ON metrics_5m (cluster_id, bucket_at);",
    )?;
    Ok(())
}

/// Version 11: `overview_30m`, the 30-minute overview tier ([`crate::tier::overview`]): one
/// row per cluster and half hour (`bucket_at`, its start in Unix ms) with the snapshots it folds
/// (`rows`), the sum of their `collected_at` (`at_sum`) and the overview fields' count, sum,
/// minimum and maximum (`fields`). Its row id is `cluster_id << 32 | bucket_at / 1,800,000`,
/// which the reads use; the unique index serves retention's deletes by time. The conversion
/// `overview_30m` fills it from `metrics_5m`.
fn v11_overview_30m(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "CREATE TABLE overview_30m (
    id INTEGER PRIMARY KEY,
    cluster_id INTEGER NOT NULL REFERENCES clusters(id) ON DELETE CASCADE,
    bucket_at INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    at_sum INTEGER NOT NULL,
    fields BLOB NOT NULL
) STRICT;
CREATE UNIQUE INDEX overview_30m_cluster_bucket ON overview_30m (cluster_id, bucket_at);",
    )?;
    Ok(())
}

/// Version 12: the ladder of the history's resolution (`crate::thinning`, `crate::tier`):
///
/// * `thinned_until.nodes_until`: where the thinning of the node rows stopped, which no longer
///   waits for the day's roll-up (the roll-up reads no node row); `until` stays the snapshots';
/// * `thinned_until.tier_until`: where the 5-minute tier's granules were merged into half
///   hours;
/// * `metrics_5m.span_ms`: a granule's length, 5 minutes, or 30 once merged.
///
/// The thinning's step grew from 5 to 30 minutes: the marks are cleared, so that the next
/// passes thin what was kept at the old step again (in batches, as always).
fn v12_history_ladder(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "ALTER TABLE thinned_until ADD COLUMN nodes_until INTEGER;
ALTER TABLE thinned_until ADD COLUMN tier_until INTEGER;
ALTER TABLE metrics_5m ADD COLUMN span_ms INTEGER NOT NULL DEFAULT 300000;
DELETE FROM thinned_until;",
    )?;
    Ok(())
}

/// The name of the covering index of the overview's query.
#[cfg(test)]
pub(crate) const OVERVIEW_INDEX: &str = "metrics_snapshots_overview";

/// Runs the migrations `..version` only (no column reconciliation), for tests of later ones.
#[cfg(test)]
pub(crate) fn migrate_to(conn: &mut Connection, version: usize) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for m in MIGRATIONS.iter().take(version) {
        (m.apply)(&tx)?;
    }
    tx.pragma_update(
        None,
        "user_version",
        i64::try_from(version).unwrap_or(i64::MAX),
    )?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::Store;
    use crate::tests::TestDb;

    #[test]
    fn a_version_2_database_gains_the_cycle_outcomes_and_keeps_its_data() {
        let db = TestDb::new("v2");
        let path = db.0.clone();
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 2).unwrap();
            conn.execute_batch(
                "INSERT INTO clusters (name, fe_hosts, username, password, source, created_at,
                     updated_at) VALUES ('a', '[]', 'u', 'p', 'api', 0, 0);",
            )
            .unwrap();
            assert!(conn.prepare("SELECT * FROM cycle_outcomes").is_err());
        }
        let store = Store::open(&path).unwrap();
        let t = datetime!(2025-01-01 0:00 UTC);
        let down = rockscope_model::CycleOutcome {
            cluster_id: 1,
            at: t,
            reachability: rockscope_model::Reachability::Unreachable,
        };
        store.record_outcome(&down).unwrap();
        let day = time::Duration::DAY;
        assert_eq!(store.cycle_outcomes(1, t, t + day).unwrap(), vec![down]);
        assert_eq!(store.list_clusters().unwrap()[0].name, "a");
        assert_eq!(store.integrity_check().unwrap(), ["ok"]);
        drop(store);
    }

    /// A node of the old layout with every column filled from `seed` (some nulls, values that
    /// pack in few and in all bytes, text with non-ASCII).
    fn old_node(
        cluster_id: i64,
        at: time::OffsetDateTime,
        kind: rockscope_model::NodeKind,
        id: &str,
        role_version: (Option<&str>, Option<&str>),
        seed: i64,
    ) -> rockscope_model::NodeSnapshot {
        use rockscope_model::NodeKind;
        use serde_json::{Value, json};
        let mut m = serde_json::Map::new();
        for (i, c) in columns::node::COLUMNS.iter().enumerate() {
            let n = seed * 31 + i as i64;
            let null = n % 5 == 0
                && !matches!(
                    c.kind,
                    columns::ColumnKind::RequiredInt
                        | columns::ColumnKind::RequiredReal
                        | columns::ColumnKind::RequiredText
                        | columns::ColumnKind::Bool
                );
            let v = match c.kind {
                _ if null => Value::Null,
                columns::ColumnKind::Real | columns::ColumnKind::RequiredReal => {
                    json!(if n % 2 == 0 {
                        n as f64 * 0.1 + 1e-7
                    } else {
                        (n % 100) as f64
                    })
                }
                columns::ColumnKind::Int | columns::ColumnKind::RequiredInt => {
                    json!(if n % 3 == 0 { -n } else { n * 1_000_000_007 })
                }
                columns::ColumnKind::Bool => json!(n % 2 == 0),
                columns::ColumnKind::Text | columns::ColumnKind::RequiredText => {
                    json!(format!("t{n}·ü"))
                }
            };
            m.insert(c.name.to_owned(), v);
        }
        m.insert("cluster_id".into(), json!(cluster_id));
        let at_text = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        m.insert("collected_at".into(), json!(at_text));
        m.insert("node_type".into(), json!(kind.as_str()));
        m.insert("node_id".into(), json!(id));
        m.insert("host".into(), json!(format!("{id}.sr.local")));
        m.insert(
            "http_port".into(),
            json!(if kind == NodeKind::Fe { 8030 } else { 8040 }),
        );
        m.insert("role".into(), json!(role_version.0));
        m.insert("version".into(), json!(role_version.1));
        serde_json::from_value(Value::Object(m)).unwrap()
    }

    #[test]
    fn a_version_8_database_has_its_node_rows_packed_losslessly_even_when_killed_half_way() {
        use rockscope_model::NodeKind::{Be, Cn, Fe};
        let db = TestDb::new("v8-nodes");
        let path = db.0.clone();
        let t = datetime!(2025-01-01 0:00 UTC);
        let insert_node = crate::columns::insert_sql(
            "node_snapshots",
            &["cluster_id", "collected_at", "node_type"],
            columns::node::COLUMNS,
        );
        let mut expected = Vec::new();
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 8).unwrap();
            for cluster in 1..=2i64 {
                conn.execute(
                    "INSERT INTO clusters (name, fe_hosts, username, password, source, \
                     created_at, updated_at) VALUES (?1, '[]', 'u', 'p', 'api', 0, 0)",
                    [format!("c{cluster}")],
                )
                .unwrap();
                for i in 0..8i64 {
                    let at = t + time::Duration::seconds(30 * i);
                    let ms = crate::columns::to_ms(at);
                    conn.execute(
                        "INSERT INTO metrics_snapshots (cluster_id, collected_at, \
                         rates_from_gauges, scrape_nodes_total, scrape_nodes_ok) \
                         VALUES (?1, ?2, 0, 5, 5)",
                        rusqlite::params![cluster, ms],
                    )
                    .unwrap();
                    if i == 7 {
                        continue; // a cycle that stored no node
                    }
                    // BE 10002 is upgraded at cycle 4: a new identity from there on.
                    let be_version = if i < 4 { "3.3.1" } else { "3.3.2" };
                    let seed = cluster * 100 + i;
                    // Written in no particular order, as the old collector did.
                    let nodes = [
                        old_node(cluster, at, Be, "10002", (None, Some(be_version)), seed),
                        old_node(cluster, at, Cn, "20001", (None, None), seed + 1),
                        old_node(
                            cluster,
                            at,
                            Fe,
                            "fe-b",
                            (Some("follower"), Some("3.3.1")),
                            seed + 2,
                        ),
                        old_node(cluster, at, Be, "10001", (None, Some("3.3.1")), seed + 3),
                        old_node(
                            cluster,
                            at,
                            Fe,
                            "fe-a",
                            (Some("leader"), Some("3.3.1")),
                            seed + 4,
                        ),
                    ];
                    for n in &nodes {
                        let kind = n.node_type.as_str();
                        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&cluster, &ms, &kind];
                        bound.extend(columns::node::params(n));
                        conn.execute(&insert_node, bound.as_slice()).unwrap();
                    }
                }
            }
            // What the old layout returned, cycle by cycle, is what the new one must return.
            for cluster in 1..=2i64 {
                let mut rows = Vec::new();
                for i in 0..8i64 {
                    let ms = crate::columns::to_ms(t + time::Duration::seconds(30 * i));
                    rows.extend(crate::snapshots::old_node_rows(&conn, cluster, ms).unwrap());
                }
                assert_eq!(rows.len(), 35);
                expected.push(rows);
            }
            // The upgrade is killed after 3 batches of 2 cycles: 6 of 14 cycles moved.
            crate::schema::migrate(&mut conn, &crate::SecretKey::generate()).unwrap();
            crate::convert::run_pending(
                &mut conn,
                crate::convert::Until::Batches {
                    batches: 3,
                    batch: 2,
                },
            )
            .unwrap();
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
            assert_eq!(count("SELECT COUNT(*) FROM node_cycles"), 6);
            assert_eq!(count("SELECT COUNT(*) FROM node_snapshots"), (14 - 6) * 5);
            assert_eq!(count("SELECT COUNT(*) FROM conversions"), 0);
        }
        // The next start carries on, to the end.
        let store = Store::open(&path).unwrap();
        for (cluster, rows) in (1..=2i64).zip(&expected) {
            let got = store
                .nodes_range(cluster, t, t + time::Duration::HOUR, usize::MAX)
                .unwrap();
            assert_eq!(&got, rows, "cluster {cluster}");
        }
        let latest = store.latest_nodes(1).unwrap();
        assert!(latest.is_empty(), "the newest cycle stored no node");
        let conn = store.conn().unwrap();
        assert!(table_columns(&conn, "node_snapshots").unwrap().is_empty());
        let identities: i64 = conn
            .query_row("SELECT COUNT(*) FROM node_identities", [], |r| r.get(0))
            .unwrap();
        assert_eq!(identities, 2 * 6, "5 nodes and one upgrade per cluster");
        let done: Vec<String> = conn
            .prepare("SELECT name FROM conversions ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(done, ["metrics_5m", "node_cycles", "overview_30m"]);
        assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    }

    /// A database at schema `version` holding one cluster and one snapshot of it.
    fn database_with_a_snapshot(path: &std::path::Path, version: usize) -> Connection {
        let mut conn = Connection::open(path).unwrap();
        migrate_to(&mut conn, version).unwrap();
        conn.execute_batch(
            "INSERT INTO clusters (name, fe_hosts, username, password, source, created_at,
                 updated_at) VALUES ('a', '[]', 'u', 'p', 'api', 0, 0);
             INSERT INTO metrics_snapshots (cluster_id, collected_at, qps, rates_from_gauges,
                 scrape_nodes_total, scrape_nodes_ok) VALUES (1, 1735689600000, 5.0, 0, 1, 1);",
        )
        .unwrap();
        conn
    }

    #[test]
    fn a_version_1_database_gains_the_overview_index_and_keeps_its_data() {
        let db = TestDb::new("v1");
        let path = db.0.clone();
        {
            let conn = database_with_a_snapshot(&path, 1);
            let indexes: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE name = ?1",
                    [OVERVIEW_INDEX],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(indexes, 0);
        }
        {
            let store = Store::open(&path).unwrap();
            let conn = store.conn().unwrap();
            let version: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(version, SCHEMA_VERSION);
            let indexes: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [OVERVIEW_INDEX],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(indexes, 1);
            assert_eq!(store.integrity_check().unwrap(), ["ok"]);
            let t = datetime!(2025-01-01 0:00 UTC);
            let s = store
                .series_with_stats(1, t, t + time::Duration::hours(1), &["qps"], 10)
                .unwrap();
            assert_eq!((s.points.len(), s.stats[0].avg), (1, Some(5.0)));
        }
    }

    #[test]
    fn old_running_queries_become_running_query_contexts() {
        // Version-4 databases as three builds left them: (SQL after the version-4 schema, the
        // (running_queries, running_query_contexts) of its rows after the migration).
        let old_row = "INSERT INTO metrics_snapshots (cluster_id, collected_at, running_queries,
            rates_from_gauges, scrape_nodes_total, scrape_nodes_ok)
            VALUES (1, 1735689600000, 12, 0, 1, 1);";
        let renamed_row = "INSERT INTO metrics_snapshots (cluster_id, collected_at,
            running_query_contexts, rates_from_gauges, scrape_nodes_total, scrape_nodes_ok)
            VALUES (1, 1735689660000, 9, 0, 1, 1);";
        let cases = [
            // Written only by builds before the rename: BE contexts in `running_queries`.
            (
                format!(
                    "ALTER TABLE metrics_snapshots DROP COLUMN running_query_contexts; {old_row}"
                ),
                vec![(None, Some(12))],
            ),
            // Then also by the renamed build, which added `running_query_contexts`.
            (
                format!("{old_row} {renamed_row}"),
                vec![(None, Some(12)), (None, Some(9))],
            ),
            // Created by the renamed build: no `running_queries` column at all.
            (
                format!("ALTER TABLE metrics_snapshots DROP COLUMN running_queries; {renamed_row}"),
                vec![(None, Some(9))],
            ),
        ];
        for (i, (sql, want)) in cases.iter().enumerate() {
            let db = TestDb::new(&format!("v4-{i}"));
            let path = db.0.clone();
            {
                let mut conn = Connection::open(&path).unwrap();
                migrate_to(&mut conn, 4).unwrap();
                conn.execute_batch(&format!(
                    "INSERT INTO clusters (name, fe_hosts, username, password, source,
                         created_at, updated_at) VALUES ('a', '[]', 'u', 'p', 'api', 0, 0);
                     {sql}"
                ))
                .unwrap();
            }
            {
                let store = Store::open(&path).unwrap();
                let t = datetime!(2025-01-01 0:00 UTC);
                let rows = store
                    .snapshots_range(1, t, t + time::Duration::hours(1), 10)
                    .unwrap();
                let got: Vec<_> = rows
                    .iter()
                    .map(|s| (s.running_queries, s.running_query_contexts))
                    .collect();
                assert_eq!(&got, want, "case {i}");
            }
        }
    }

    #[test]
    fn a_version_5_database_gains_the_alert_tables_and_keeps_its_data() {
        let db = TestDb::new("v5");
        let path = db.0.clone();
        {
            let conn = database_with_a_snapshot(&path, 5);
            assert!(conn.prepare("SELECT * FROM alerts").is_err());
        }
        let store = Store::open(&path).unwrap();
        let version: i64 = store
            .conn()
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(store.list_clusters().unwrap()[0].name, "a");
        let t = datetime!(2025-01-01 0:00 UTC);
        let rows = store
            .snapshots_range(1, t, t + time::Duration::hours(1), 10)
            .unwrap();
        assert_eq!((rows.len(), rows[0].qps), (1, Some(5.0)));
        assert!(store.cluster_alerts(1).unwrap().is_empty());
        assert!(store.user_rules().unwrap().is_empty());
        store.save_alert_evaluation(1, &[], &[]).unwrap();
        assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    }

    #[test]
    fn a_version_7_database_gains_the_custom_metric_tables_and_keeps_its_data() {
        let db = TestDb::new("v7");
        let path = db.0.clone();
        {
            let conn = database_with_a_snapshot(&path, 7);
            conn.execute_batch(
                "INSERT INTO node_snapshots (cluster_id, collected_at, node_type, node_id, host,
                     http_port, alive, decommissioned, scrape_ok)
                     VALUES (1, 1735689600000, 'be', '10001', 'h', 8040, 1, 0, 1);
                 INSERT INTO daily_snapshots (cluster_id, date, first_at, last_at,
                     snapshot_count, observed_seconds, downtime_seconds)
                     VALUES (1, '2025-01-01', 1735689600000, 1735689600000, 1, 30, 0);
                 INSERT INTO cycle_outcomes (cluster_id, at, reachable)
                     VALUES (1, 1735689600000, 1);
                 INSERT INTO alert_rules (name, spec, created_at, updated_at) VALUES ('r',
                     '{\"name\":\"r\",\"expr\":\"qps > 1\"}', 0, 0);
                 INSERT INTO remote_write_progress (endpoint, cluster_id, sent_until)
                     VALUES ('http://127.0.0.1:9/w', 1, 1735689600000);",
            )
            .unwrap();
            assert!(conn.prepare("SELECT * FROM custom_values").is_err());
        }
        let store = Store::open(&path).unwrap();
        let conn = store.conn().unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let t = datetime!(2025-01-01 0:00 UTC);
        let hour = time::Duration::hours(1);
        let rows = store.snapshots_range(1, t, t + hour, 10).unwrap();
        assert_eq!((rows.len(), rows[0].qps), (1, Some(5.0)));
        assert!(
            rows[0].custom.is_empty(),
            "no custom values before version 8"
        );
        let nodes = store.nodes_range(1, t, t + hour, 10).unwrap();
        assert_eq!((nodes.len(), nodes[0].node_id.as_str()), (1, "10001"));
        let day = t.date();
        assert_eq!(store.daily_range(1, day, day).unwrap().len(), 1);
        assert_eq!(store.cycle_outcomes(1, t, t + hour).unwrap().len(), 1);
        let spec: String = conn
            .query_row("SELECT spec FROM alert_rules WHERE name = 'r'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(spec.contains("qps > 1"));
        let progress: i64 = conn
            .query_row("SELECT sent_until FROM remote_write_progress", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(progress, 1_735_689_600_000);
        // The new tables work.
        let mut next = rows[0].clone();
        next.collected_at = t + time::Duration::minutes(1);
        next.custom.insert("hits".into(), Some(2.0));
        store.insert_cycle(&next, &[]).unwrap();
        assert_eq!(
            store.latest_snapshot(1).unwrap().unwrap().custom,
            next.custom
        );
        assert!(store.custom_metric_specs().unwrap().is_empty());
        assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    }

    #[test]
    fn a_version_2_database_keeps_its_errors_as_single_occurrences() {
        let db = TestDb::new("v2");
        let path = db.0.clone();
        {
            let mut conn = Connection::open(&path).unwrap();
            migrate_to(&mut conn, 2).unwrap();
            conn.execute_batch(
                "INSERT INTO clusters (name, fe_hosts, username, password, source, created_at,
                     updated_at) VALUES ('a', '[]', 'u', 'p', 'api', 0, 0);
                 INSERT INTO collection_errors (cluster_id, at, stage, code, message)
                     VALUES (1, 1735689600000, 'scrape', 'timeout', 'no answer');",
            )
            .unwrap();
        }
        {
            let store = Store::open(&path).unwrap();
            let errors = store.recent_errors(Some(1), 10).unwrap();
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].count, 1);
            assert_eq!(errors[0].first_at, datetime!(2025-01-01 0:00 UTC));
            assert_eq!(errors[0].at, errors[0].first_at);
        }
    }
}
