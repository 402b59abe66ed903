//! rockscope's storage: one SQLite file holding the registered clusters, every cycle's
//! [`MetricsSnapshot`](rockscope_model::MetricsSnapshot) and
//! [`NodeSnapshot`](rockscope_model::NodeSnapshot)s, the daily roll-ups, and a record of the
//! collection runs and per-cluster errors.
//!
//! # Overview
//!
//! [`Store`] is the handle: a pool of SQLite connections (r2d2), cheap to clone, `Send + Sync`.
//! [`Store::open`] creates the file (and its parent directories) if needed, owner-only, refuses
//! another program's database ([`APPLICATION_ID`]), switches it to WAL, applies the schema
//! migrations, runs the data conversions they leave (in batches, resumable, logged: [`convert`])
//! and encrypts any plaintext password ([`secret`]); [`Store::open_temporary`] gives a throw-away database for
//! tests. Its methods are small repositories:
//!
//! * clusters ([`clusters`]): [`Store::create_cluster`], [`Store::update_cluster`],
//!   [`Store::delete_cluster`], [`Store::get_cluster`], [`Store::list_clusters`],
//!   [`Store::upsert_config_cluster`];
//! * snapshots ([`snapshots`]): [`Store::insert_cycle`] (one transaction per cycle),
//!   [`Store::latest_snapshot`], [`Store::latest_nodes`], [`Store::snapshots_range`],
//!   [`Store::nodes_range`], [`Store::count_snapshots`], [`Store::cluster_summaries`];
//! * custom metric values ([`custom`]): written by [`Store::insert_cycle`] and attached by the
//!   snapshot and node readers above (`MetricsSnapshot::custom`, `NodeSnapshot::custom`), one
//!   query per call; [`Store::custom_names`] (the names with values in a range, removed
//!   definitions' included), [`Store::custom_daily_range`] (their daily roll-ups); and the
//!   definitions added through the API ([`custom_metrics`]): [`Store::custom_metric_specs`],
//!   [`Store::insert_custom_metric`], [`Store::replace_custom_metric`],
//!   [`Store::delete_custom_metric`];
//! * series and statistics ([`series`]): [`Store::series`] (downsampled while scanned, to at
//!   most N buckets, with each bucket's average and maximum), [`Store::range_stats`], and
//!   [`Store::series_with_stats`] (both from one scan; the overview's query, which reads only
//!   the covering index over [`OVERVIEW_FIELDS`]); [`Store::series_with_stats_custom`] adds
//!   custom metrics, each one range scan of its values folded into the same buckets. Buckets
//!   of 20 minutes or more are made of the 5-minute tier's granules instead of the raw rows
//!   (`tier`: `metrics_5m`, folded by [`Store::insert_cycle`] in the cycle's transaction;
//!   [`Store::delete_tier_before`] is its retention; see [`series`] for what differs);
//! * [`Store::write_generation`]: a per-cluster counter that every write to a cluster's data
//!   through this handle moves forward, for caches of answers computed from the store, with
//!   [`Store::write_generation_total`] (moved by any cluster's writes) and
//!   [`Store::clusters_generation`] (moved by writes of cluster rows) for answers over all
//!   clusters (`generation.rs`);
//! * daily roll-ups ([`daily`]): [`Store::upsert_daily`] (with the day's custom metric
//!   roll-ups, in its transaction), [`Store::daily_range`],
//!   [`Store::daily_done`], [`Store::snapshots_of_day`], [`Store::daily_inputs`] (the columns
//!   of a day's snapshots that the roll-up reads), [`Store::days_with_snapshots`];
//! * cycle outcomes ([`outcomes`], whether each cycle reached its cluster, for the daily
//!   availability): [`Store::record_outcome`] (unreachable cycles; [`Store::insert_cycle`]
//!   records the reachable ones), [`Store::cycle_outcomes`], [`Store::days_with_outcomes`];
//! * runs and errors ([`runs`]): [`Store::record_run`], [`Store::record_error`] (a repeating
//!   error is one row with a count; the table is bounded), [`Store::recent_runs`],
//!   [`Store::recent_errors`], [`Store::count_errors`];
//! * alerts ([`alerts`]): [`Store::cluster_alerts`], [`Store::save_alert_evaluation`] (one
//!   transaction per evaluation: the cluster's alerts replaced, the events appended),
//!   [`Store::alerts`], [`Store::alert_history`], [`Store::delete_alert_events_before`] (the
//!   history's retention, batched), and the user rules of the API: [`Store::user_rules`],
//!   [`Store::insert_user_rule`], [`Store::replace_user_rule`], [`Store::delete_user_rule`];
//! * secrets ([`secret`]): [`Store::check_passwords`], [`Store::reencrypt_passwords`],
//!   [`Store::rotate_key_file`];
//! * the storage's health: [`Store::storage_state`] (see `health.rs`: writes report their
//!   outcome, the file is checked for deletion, and connections a storage fault left useless
//!   are dropped);
//! * thinning ([`thinning`]): [`Store::thin_before`] keeps one cycle per 30 minutes of the
//!   history past the full-resolution window, whole cycles (snapshot, nodes, custom values;
//!   the node rows at once, the snapshots once their day is rolled up);
//!   [`Store::merge_tier_before`] merges the 5-minute tier's older granules into half hours;
//! * retention ([`retention`]): [`Store::delete_expired_snapshots`] (sparing days not rolled
//!   up; the custom values go with their snapshots), [`Store::delete_snapshots_before`],
//!   [`Store::delete_tier_before`] (the 5-minute tier, kept apart), [`Store::delete_outcomes_before`],
//!   [`Store::delete_daily_before`], [`Store::delete_runs_before`], each in bounded batches of
//!   one short transaction, with any waiting writer let in between two batches and the
//!   write-ahead log checkpointed between them, so that a large clean-up never holds up a
//!   writer for long; [`Store::checkpoint`] for the owner's housekeeping.
//!
//! # Schema (version [`SCHEMA_VERSION`], in `PRAGMA user_version`)
//!
//! | table | rows | key / indexes |
//! |---|---|---|
//! | `clusters` | registered clusters: `name`, `fe_hosts` (JSON array), `username`, `password` (encrypted, [`secret`]), timeouts, `enabled`, `source` (`api`/`config`), `created_at`, `updated_at` | `id` (never reused), `name` unique |
//! | `metrics_snapshots` | one per cluster and cycle: `cluster_id`, `collected_at`, `source_errors` (JSON), one typed column per snapshot field, named like it | unique `(cluster_id, collected_at)`; covering `metrics_snapshots_overview` `(cluster_id, collected_at,` [`OVERVIEW_FIELDS`]`)` |
//! | `node_cycles` | one per cluster and cycle with nodes: `cluster_id`, `collected_at`, `nodes` (every node's figures packed, see [`node_cycles`]) | unique `(cluster_id, collected_at)` |
//! | `node_identities` | what names a node: `cluster_id`, `node_type`, `node_id`, `host`, `http_port`, `role`, `version`, one row per distinct combination | `id` (never reused), `(cluster_id, node_id)` |
//! | `conversions` | the data conversions finished ([`convert`]): `name`, `finished_at` | `name` |
//! | `thinned_until` | per cluster, how far [`Store::thin_before`] got: `until` (snapshots), `nodes_until` (node rows), `tier_until` ([`Store::merge_tier_before`]) | `cluster_id` |
//! | `metrics_5m` | the 5-minute tier: one per cluster and 5-minute granule (`bucket_at`, a UTC multiple of 300,000 ms; `span_ms` 1,800,000 once merged into a half hour) with snapshots: `rows`, `at_sum` (their `collected_at` summed), `stats` (every numeric column's count, sum, min and max, packed) | unique `(cluster_id, bucket_at)` |
//! | `daily_snapshots` | one per cluster and UTC `date` (`YYYY-MM-DD`) | unique `(cluster_id, date)` |
//! | `cycle_outcomes` | one per cluster and cycle rockscope completed: `cluster_id`, `at`, `reachable` (0/1) | unique `(cluster_id, at)` |
//! | `collection_runs` | one per cycle: `started_at`, `duration_ms`, cluster counts | `(started_at)` |
//! | `alerts` | one per cluster and alert that is not inactive: `cluster_id`, `fingerprint`, `rule`, `labels`/`annotations` (JSON), `state`, `severity`, `value`, the alert's times, `last_sent_at`/`last_sent_state` | primary `(cluster_id, fingerprint)` |
//! | `alert_events` | alert history, one per state change: `cluster_id`, `at`, `rule`, `fingerprint`, `labels` (JSON), `state`, `severity`, `value` | `(cluster_id, at)`, `(at)` |
//! | `alert_rules` | user rules created through the API: `name`, `spec` (the rule as JSON), `created_at`, `updated_at` | `name` |
//! | `custom_values` | one per cluster, cycle and custom metric in force: `cluster_id`, `collected_at`, `name`, `value` (NULL: no node had the series) | primary `(cluster_id, name, collected_at)`, `WITHOUT ROWID` |
//! | `custom_node_values` | the nodes' values of `per_node` custom metrics: `cluster_id`, `collected_at`, `node_type`, `node_id` (the node snapshot's identity), `name`, `value` | primary `(cluster_id, collected_at, node_type, node_id, name)`, `WITHOUT ROWID` |
//! | `custom_daily` | one per cluster, UTC `date` and custom metric: `avg`, `min`, `max` over the non-null values, `samples` (their count) | primary `(cluster_id, date, name)`, `WITHOUT ROWID` |
//! | `custom_metrics` | custom metric definitions created through the API: `name`, `spec` (the definition as JSON), `created_at`, `updated_at` | `name` |
//! | `remote_write_progress` | per remote-write endpoint (`endpoint`: its URL) and cluster, `sent_until`: the newest cycle delivered (or refused for good) | primary `(endpoint, cluster_id)` |
//! | `collection_errors` | per-cluster errors: `cluster_id`, `at` (last time), `stage`, `code`, `message`, `count`, `first_at` | `(cluster_id, at)`, `(at)` |
//!
//! Every table is `STRICT`; every per-cluster table references `clusters(id) ON DELETE CASCADE`.
//! Times are `INTEGER` Unix milliseconds (UTC), so range conditions use the indexes; they are
//! converted to and from [`time::OffsetDateTime`] at the edge (sub-millisecond precision is
//! dropped). The column lists are declared once, in [`columns`].
//!
//! Connections run with `journal_mode=WAL` (readers never block the writer nor each other),
//! `foreign_keys=ON`, `synchronous=NORMAL` (a committed transaction survives a crash of the
//! process; a power loss may lose the last ones, never corrupt the file) and a busy timeout
//! (default 5 s). Write transactions start `IMMEDIATE`, so they wait for the lock instead of
//! failing on upgrade.
//!
//! # Writers take turns
//!
//! SQLite admits one writer at a time, and a connection that finds the lock taken polls for it
//! with growing sleeps that no release cuts short. So the writes of a [`Store`] (and its clones)
//! queue in the process first, on a fair in-process gate: each write transaction waits for its
//! turn, writers are served in arrival order, and a batch of a bulk clean-up (retention, a
//! cluster's deletion) is let in only while no writer waits. A writer therefore waits for at
//! most the transaction in progress (one batch, during a clean-up) and the writers ahead of it;
//! the busy timeout only matters against other processes. Checkpoints of the write-ahead log run
//! outside every turn ([`Store::checkpoint`], which then starts the log over in a short turn of
//! its own): between the batches of a clean-up and when the owner calls it (the collector's
//! housekeeping), not inside a writer's commit (SQLite's own automatic checkpoint is kept only
//! as a safety net, at [`AUTOCHECKPOINT_PAGES`]).
//!
//! # Blocking
//!
//! Every method blocks the calling thread on SQLite I/O and on the pool. Async callers must run
//! them on blocking threads (`tokio::task::spawn_blocking`, `actix_web::web::block`), never on an
//! executor thread.
//!
//! **Invariant:** this is the only rockscope crate that speaks SQL. No other crate depends on
//! `rusqlite`; they use the typed methods of [`Store`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alerts;
pub mod clusters;
mod codec;
pub mod columns;
mod convert;
pub mod custom;
pub mod custom_metrics;
pub mod daily;
mod error;
mod files;
mod gate;
mod generation;
mod health;
mod named_specs;
mod node_cycles;
pub mod outcomes;
pub mod remote_write;
pub mod retention;
pub mod runs;
mod schema;
pub mod secret;
pub mod series;
pub mod snapshots;
mod space;
mod sums;
pub mod thinning;
mod tier;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;

use health::{Health, Manager};
use rusqlite::OpenFlags;

pub use alerts::AlertFilter;
pub use clusters::{Cluster, ClusterSource, ClusterUpdate, NewCluster, Password};
pub use columns::{Column, ColumnKind};
pub use custom::CustomDaily;
pub use error::{Error, Result};
pub use health::StorageState;
pub use runs::{CollectionError, CollectionRun, NewCollectionError, NewRun};
pub use schema::APPLICATION_ID;
pub use schema::SCHEMA_VERSION;
pub use secret::{KeyFormatError, SecretKey, key_file_path};
pub use series::{BucketValue, FieldStats, OVERVIEW_FIELDS, SeriesPoint, SeriesWithStats};
pub use snapshots::ClusterSummary;
pub use space::TableSpace;

/// The default database path, relative to the working directory.
pub const DEFAULT_PATH: &str = "data/rockscope.db";

/// How a [`Store`] opens its database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections the pool keeps open (readers run in parallel under WAL; writes take
    /// turns, see the crate documentation). Default 8.
    pub pool_size: u32,
    /// How long a statement waits for a lock held by another connection before failing with
    /// `SQLITE_BUSY`. Default 5 s. Within one process the writes of a store queue on its write
    /// gate instead, so this matters against other processes using the same file.
    pub busy_timeout: Duration,
    /// How long taking a connection from the pool may wait when all are in use. Default 30 s.
    pub pool_timeout: Duration,
    /// The key that encrypts the cluster passwords (see [`secret`]); `None`: the key file beside
    /// the database ([`key_file_path`]), created on first start. The binary passes
    /// `ROCKSCOPE_SECRET_KEY` here when it is set.
    pub secret_key: Option<SecretKey>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pool_size: 8,
            busy_timeout: Duration::from_secs(5),
            pool_timeout: Duration::from_secs(30),
            secret_key: None,
        }
    }
}

/// The handle to rockscope's database: a pool of SQLite connections.
///
/// Cheap to clone (clones share the pool), `Send + Sync`. All methods block; see the crate
/// documentation.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    // Field order matters: the pool (and its connections) is dropped before the temporary file
    // is removed.
    pool: Pool<Manager>,
    path: PathBuf,
    /// The key of the cluster passwords.
    key: SecretKey,
    /// Whether writes work ([`health`]).
    health: Arc<Health>,
    /// Write generations ([`Store::write_generation`] and the process-wide ones).
    generations: generation::Generations,
    /// The turns of write transactions (see [`gate`]).
    gate: gate::WriteGate,
    /// The node identities already stored ([`node_cycles`]).
    node_identities: node_cycles::IdentityCache,
    _temp: Option<TempFile>,
}

/// A database file removed (with its `-wal` and `-shm` files) when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("temporary", &self.inner._temp.is_some())
            .finish_non_exhaustive()
    }
}

type Conn = PooledConnection<Manager>;

/// How long taking a connection may wait while the storage fails (opening a connection then
/// usually fails at once, and r2d2 would retry for the whole pool timeout).
const FAILING_POOL_TIMEOUT: Duration = Duration::from_secs(1);

impl Store {
    /// Open (creating it and its parent directories if needed) the database at `path` with the
    /// default [`StoreOptions`], and bring its schema up to date.
    ///
    /// Fails with [`Error::SchemaTooNew`] (leaving the file untouched) when the file was written
    /// by a newer rockscope.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Store::open_with(path, &StoreOptions::default())
    }

    /// [`Store::open`] with explicit options.
    pub fn open_with(path: impl AsRef<Path>, options: &StoreOptions) -> Result<Store> {
        Store::open_inner(path.as_ref().to_path_buf(), options, None)
    }

    /// A fresh database in a uniquely named file under [`std::env::temp_dir`], deleted when the
    /// last clone of the returned handle is dropped. For tests and demos.
    pub fn open_temporary() -> Result<Store> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "rockscope-store-{}-{}-{}.db",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let guard = TempFile(path.clone());
        let options = StoreOptions {
            secret_key: Some(SecretKey::generate()),
            ..StoreOptions::default()
        };
        Store::open_inner(path, &options, Some(guard))
    }

    fn open_inner(path: PathBuf, options: &StoreOptions, temp: Option<TempFile>) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            files::create_private_dirs(dir).map_err(|source| Error::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        files::create_private_database(&path).map_err(|source| Error::DatabaseFile {
            path: path.display().to_string(),
            source,
        })?;
        let busy = options.busy_timeout;
        let init = move |c: &mut rusqlite::Connection| -> rusqlite::Result<()> {
            c.busy_timeout(busy)?;
            c.execute_batch(&format!(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; \
                 PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES};"
            ))
        };
        // Create the file, switch it to WAL and migrate on a first, direct connection.
        let key = {
            let mut conn = rusqlite::Connection::open(&path)?;
            init(&mut conn)?;
            // Refuse a newer schema, or another program's database, before touching anything
            // (even the journal mode).
            schema::refuse_newer(&conn)?;
            schema::refuse_foreign(&conn, &path)?;
            let key = match &options.secret_key {
                Some(key) => key.clone(),
                None => SecretKey::load_or_create(&key_file_path(&path))?,
            };
            let mode: String =
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                log::warn!(
                    "store: {} stays in journal mode {mode} (WAL unavailable)",
                    path.display()
                );
            }
            schema::migrate(&mut conn, &key)?;
            convert::run_pending(&mut conn, convert::Until::End)?;
            // A lost key loses the passwords, not the service: the clusters concerned fail
            // their collections with this error until their passwords are set again. (Checked
            // here, not on a pooled connection, so the pool starts empty.)
            let unreadable = secret::unreadable_clusters(&conn, &key)?;
            if !unreadable.is_empty() {
                log::error!(
                    "store: {}",
                    Error::UnreadablePasswords {
                        clusters: unreadable
                    }
                );
            }
            key
        };
        let opened = files::file_id(&path).map_err(|source| Error::DatabaseFile {
            path: path.display().to_string(),
            source,
        })?;
        let health = Arc::new(Health::new(path.clone(), opened));
        // The pool's connections never create the file: a database removed while rockscope runs
        // (or a temporary one removed at drop while the pool still replenishes) is an error, not
        // a new empty file.
        let manager = Manager {
            inner: SqliteConnectionManager::file(&path)
                .with_flags(
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_URI
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .with_init(init),
            health: Arc::clone(&health),
        };
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            // No idle connection is kept ready in advance: r2d2 replenishes a `min_idle` pool on a
            // background thread whenever a `get` takes the last idle connection, and the new
            // connection's first statement reads the schema in a read transaction. Opened while
            // the log is checkpointed, that reader pins the log (a `PASSIVE` checkpoint then copies
            // nothing) at random. Connections are opened on demand instead, and kept for
            // r2d2's idle timeout (10 minutes), far longer than any collection interval.
            .min_idle(Some(0))
            .connection_timeout(options.pool_timeout)
            .build(manager)?;
        log::debug!(
            "store: opened {} (schema version {SCHEMA_VERSION})",
            path.display()
        );
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                path,
                key,
                health,
                generations: generation::Generations::default(),
                gate: gate::WriteGate::default(),
                node_identities: node_cycles::IdentityCache::default(),
                _temp: temp,
            }),
        })
    }

    /// [`Error::UnreadablePasswords`] naming every cluster whose stored password does not open
    /// with this store's secret key.
    pub fn check_passwords(&self) -> Result<()> {
        let unreadable = secret::unreadable_clusters(&*self.conn()?, &self.inner.key)?;
        if unreadable.is_empty() {
            Ok(())
        } else {
            Err(Error::UnreadablePasswords {
                clusters: unreadable,
            })
        }
    }

    /// Re-encrypts every stored password with `new_key`, in one transaction, and returns how
    /// many. The store goes on using its current key: reopen the database with `new_key` (and
    /// store that key where rockscope reads it) afterwards; see [`Store::rotate_key_file`].
    /// [`Error::UnreadablePasswords`] (nothing changed) when some password does not open with
    /// the current key.
    pub fn reencrypt_passwords(&self, new_key: &SecretKey) -> Result<usize> {
        let mut conn = self.conn()?;
        let _turn = self.write_turn();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n = secret::reencrypt(&tx, &self.inner.key, new_key)?;
        tx.commit()?;
        Ok(n)
    }

    /// `rockscope rotate-key`: re-encrypts the passwords with a new random key and replaces the
    /// key file beside the database with it (the old file is kept as `<db>.key.old` until the
    /// next rotation). Run it with rockscope stopped: a running service keeps the old key.
    /// Returns the new key and how many passwords it re-encrypted.
    pub fn rotate_key_file(&self) -> Result<(SecretKey, usize)> {
        let new_key = SecretKey::generate();
        let key_path = key_file_path(&self.inner.path);
        let key_error = |source| Error::KeyFile {
            path: key_path.display().to_string(),
            source,
        };
        if key_path.exists() {
            let mut old = key_path.clone().into_os_string();
            old.push(".old");
            let _ = std::fs::remove_file(&old);
            std::fs::copy(&key_path, &old).map_err(key_error)?;
            files::restrict(std::path::Path::new(&old), files::FILE_MODE).map_err(key_error)?;
        }
        // The new key is on disk before any password depends on it.
        let mut staged = key_path.clone().into_os_string();
        staged.push(".next");
        let staged = PathBuf::from(staged);
        let _ = std::fs::remove_file(&staged);
        secret::write_key_file(&staged, &new_key).map_err(key_error)?;
        let n = self.reencrypt_passwords(&new_key)?;
        std::fs::rename(&staged, &key_path).map_err(key_error)?;
        log::info!(
            "store: re-encrypted {n} password(s) with a new key in {}",
            key_path.display()
        );
        Ok((new_key, n))
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether the database answers (a trivial query on a pooled connection), for readiness
    /// probes.
    pub fn ping(&self) -> Result<()> {
        let conn = self.conn()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// The result of `PRAGMA integrity_check`: `["ok"]` for a sound file, else the problems.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("PRAGMA integrity_check")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Copy what the write-ahead log holds into the database file: a `PASSIVE` checkpoint, which
    /// waits for nobody and blocks no writer (a reader still using old pages only makes it stop
    /// short; a checkpoint already running makes it a no-op).
    ///
    /// SQLite would otherwise checkpoint inside whichever commit finds the log over its
    /// threshold, often a small insert that then pays for copying thousands of pages other
    /// transactions dirtied. The store raises that threshold to [`AUTOCHECKPOINT_PAGES`] (a safety
    /// net) and checkpoints itself: between the batches of a clean-up, and when its owner calls
    /// this (the collector does after each housekeeping pass).
    ///
    /// When the whole log was copied, this also starts the log over, with a one-page write in a
    /// turn of its own: the first commit after a complete checkpoint rewrites the log's header
    /// and `fsync`s it, and that `fsync` can wait behind the checkpoint's own writeback (and
    /// any other I/O of the disk) for hundreds of milliseconds; here it holds up no writer
    /// that was not already queued. Returns the pages the log held and how many of them are now
    /// in the database file.
    pub fn checkpoint(&self) -> Result<(u64, u64)> {
        let (log, copied) = {
            let conn = self.conn()?;
            let (busy, log, copied): (i64, i64, i64) =
                conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            if busy != 0 {
                log::debug!("store: checkpoint skipped, another one is running");
            }
            // Not in WAL mode: -1, -1.
            let pages = |n: i64| u64::try_from(n).unwrap_or(0);
            (pages(log), pages(copied))
        };
        if log > 0 && copied == log {
            self.restart_wal()?;
        }
        Ok((log, copied))
    }

    /// Starts the write-ahead log over (see [`Store::checkpoint`]) by a write of one page: the
    /// user version (the schema version) on page 1, rewritten unchanged. The log restarts only
    /// if it is wholly copied when the write begins, so the turn first copies what writers
    /// appended since the caller's checkpoint (a few pages). Without this, a writer committing
    /// every few milliseconds keeps the log from ever restarting during a clean-up, and it grows
    /// until SQLite's automatic checkpoint runs inside a commit. The turn is a writer's (served
    /// in arrival order) so that writers arriving later do not restart the log themselves.
    fn restart_wal(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let _turn = self.write_turn();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))?;
        tx.commit()?;
        Ok(())
    }

    /// The snapshot fields that can be asked for in [`Store::series`] and
    /// [`Store::range_stats`] (the numeric columns of `metrics_snapshots`), in storage order.
    pub fn numeric_metric_fields() -> impl Iterator<Item = &'static str> {
        columns::metric::COLUMNS
            .iter()
            .filter(|c| c.kind.is_numeric())
            .map(|c| c.name)
    }

    /// Every stored plain field of [`MetricsSnapshot`](rockscope_model::MetricsSnapshot)
    /// (all but `cluster_id`, `collected_at` and `source_errors`) with its SQL kind.
    pub fn metric_columns() -> &'static [Column] {
        columns::metric::COLUMNS
    }

    /// Every stored plain field of [`NodeSnapshot`](rockscope_model::NodeSnapshot) (all but
    /// `cluster_id`, `collected_at` and `node_type`) with its SQL kind.
    pub fn node_columns() -> &'static [Column] {
        columns::node::COLUMNS
    }

    /// Every stored plain field of [`DailySnapshot`](rockscope_model::DailySnapshot) (all but
    /// `cluster_id`, `date`, `first_at` and `last_at`) with its SQL kind.
    pub fn daily_columns() -> &'static [Column] {
        columns::daily::COLUMNS
    }

    /// The key of the cluster passwords.
    pub(crate) fn key(&self) -> &SecretKey {
        &self.inner.key
    }

    /// The node identities already stored ([`node_cycles`]).
    pub(crate) fn node_identities(&self) -> &node_cycles::IdentityCache {
        &self.inner.node_identities
    }

    /// A pooled connection.
    pub(crate) fn conn(&self) -> Result<Conn> {
        let conn = if self.inner.health.is_failing() {
            self.inner.pool.get_timeout(FAILING_POOL_TIMEOUT)
        } else {
            self.inner.pool.get()
        };
        self.inner.health.note_pool(conn.map_err(Error::from))
    }

    /// Waits for this store's turn to write (see [`gate`]) and holds it until the guard is
    /// dropped. Take it after the pooled connection, hold it over one write transaction (or one
    /// autocommit write statement), and never call another write method while holding it.
    pub(crate) fn write_turn(&self) -> gate::Turn<'_> {
        self.inner.gate.turn(gate::Priority::Writer)
    }

    /// [`Store::write_turn`] for one batch of a bulk clean-up: granted only while no writer
    /// waits.
    pub(crate) fn background_turn(&self) -> gate::Turn<'_> {
        self.inner.gate.turn(gate::Priority::Background)
    }
}

/// The write-ahead log's size, in pages, at which a commit checkpoints it itself
/// (`PRAGMA wal_autocheckpoint`; SQLite's default is 1,000). Only a safety net: the store
/// checkpoints outside every write ([`Store::checkpoint`]) well before the log gets there.
pub const AUTOCHECKPOINT_PAGES: u32 = 10_000;

/// A limit given as `usize` as an SQL integer (saturating).
pub(crate) fn sql_limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
