//! The `clusters` table: the StarRocks clusters rockscope collects.
//!
//! Clusters come from two places, recorded in [`Cluster::source`]: the HTTP API
//! ([`Store::create_cluster`]) and the configuration file ([`Store::upsert_config_cluster`], by
//! name, at every start). Ids are never reused (`AUTOINCREMENT`), so a stale id never names
//! another cluster.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::columns::{from_ms, get, to_ms};
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::retention::delete_cluster_rows_batched;
use crate::secret::{self, SecretKey};
use crate::{Store, retention};

/// A secret that never shows: its `Debug` prints `***` and [`Cluster`] never serializes it.
/// Read it with [`Password::expose`] where it is really needed (the HTTP client).
///
/// A password read from the database that does not open with the store's secret key (see
/// [`crate::secret`]) is *unreadable*: [`Password::is_unreadable`] says so, and
/// [`Password::expose`] gives an empty text; the collector then fails the cluster with
/// [`Password::UNREADABLE`] instead of logging in without a password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(Secret);

#[derive(Clone, PartialEq, Eq)]
enum Secret {
    Clear(String),
    Unreadable,
}

impl Default for Secret {
    fn default() -> Self {
        Secret::Clear(String::new())
    }
}

impl Password {
    /// Why a cluster whose password is unreadable cannot be collected.
    pub const UNREADABLE: &str = "the stored password cannot be decrypted with this secret key \
        (ROCKSCOPE_SECRET_KEY or the database's key file): restore the key, or set the \
        password again";

    /// Wrap a password.
    pub fn new(secret: impl Into<String>) -> Password {
        Password(Secret::Clear(secret.into()))
    }

    /// The password in clear text (empty when [`Password::is_unreadable`]).
    pub fn expose(&self) -> &str {
        match &self.0 {
            Secret::Clear(s) => s,
            Secret::Unreadable => "",
        }
    }

    /// Whether the password is empty (StarRocks' `root` has none by default).
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// Whether the stored password did not open with the store's secret key.
    pub fn is_unreadable(&self) -> bool {
        self.0 == Secret::Unreadable
    }

    /// The password of a stored `clusters.password` value.
    fn from_stored(stored: String, key: &SecretKey) -> Password {
        if !stored.starts_with(secret::PREFIX) {
            // Only before the open-time encryption of an older database's rows.
            return Password::new(stored);
        }
        match key.open(&stored) {
            Some(clear) => Password::new(clear),
            None => Password(Secret::Unreadable),
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_unreadable() {
            "<unreadable>"
        } else {
            "***"
        })
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Password, D::Error> {
        String::deserialize(deserializer).map(Password::new)
    }
}

impl From<String> for Password {
    fn from(s: String) -> Password {
        Password::new(s)
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Password {
        Password::new(s)
    }
}

/// Where a cluster was registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterSource {
    /// Through the HTTP API.
    Api,
    /// Declared in the configuration file (`[[clusters]]`).
    Config,
}

impl ClusterSource {
    /// `api` or `config`, as stored and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterSource::Api => "api",
            ClusterSource::Config => "config",
        }
    }

    fn parse(text: &str) -> Result<ClusterSource> {
        match text {
            "api" => Ok(ClusterSource::Api),
            "config" => Ok(ClusterSource::Config),
            other => Err(Error::corrupt(
                "clusters.source",
                format_args!("`{other}` is not api or config"),
            )),
        }
    }
}

/// A registered cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// The id (never reused).
    pub id: i64,
    /// The unique name.
    pub name: String,
    /// FE entry points `host:http_port`, tried in order to reach the leader's view.
    pub fe_hosts: Vec<String>,
    /// The StarRocks user.
    pub username: String,
    /// The StarRocks password: write-only, never serialized, `***` in `Debug`.
    #[serde(skip_serializing, default)]
    pub password: Password,
    /// Connect timeout override, s (`None`: the collector's default).
    pub connect_timeout_secs: Option<u32>,
    /// Request timeout override, s (`None`: the collector's default).
    pub request_timeout_secs: Option<u32>,
    /// Whether the collector collects it.
    pub enabled: bool,
    /// API or configuration file.
    pub source: ClusterSource,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A cluster to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCluster {
    /// The unique name.
    pub name: String,
    /// FE entry points `host:http_port`.
    pub fe_hosts: Vec<String>,
    /// The StarRocks user.
    pub username: String,
    /// The StarRocks password.
    pub password: Password,
    /// Connect timeout override, s.
    pub connect_timeout_secs: Option<u32>,
    /// Request timeout override, s.
    pub request_timeout_secs: Option<u32>,
    /// Whether the collector collects it.
    pub enabled: bool,
}

/// A partial update of a cluster: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterUpdate {
    /// A new unique name.
    pub name: Option<String>,
    /// New FE entry points.
    pub fe_hosts: Option<Vec<String>>,
    /// A new user.
    pub username: Option<String>,
    /// A new password.
    pub password: Option<Password>,
    /// A new connect timeout override (`Some(None)` clears it).
    pub connect_timeout_secs: Option<Option<u32>>,
    /// A new request timeout override (`Some(None)` clears it).
    pub request_timeout_secs: Option<Option<u32>>,
    /// Enable or disable collection.
    pub enabled: Option<bool>,
}

/// The columns [`cluster_from_row`] reads, in order.
const CLUSTER_COLUMNS: [&str; 11] = [
    "id",
    "name",
    "fe_hosts",
    "username",
    "password",
    "connect_timeout_secs",
    "request_timeout_secs",
    "enabled",
    "source",
    "created_at",
    "updated_at",
];

/// `alias.id, alias.name, ...` (no prefix when `alias` is empty).
pub(crate) fn cluster_select(alias: &str) -> String {
    CLUSTER_COLUMNS
        .iter()
        .map(|c| {
            if alias.is_empty() {
                (*c).to_owned()
            } else {
                format!("{alias}.{c}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A cluster from the [`CLUSTER_COLUMNS`] starting at index `start` of `row`.
pub(crate) fn cluster_from_row(row: &Row<'_>, start: usize, key: &SecretKey) -> Result<Cluster> {
    const T: &str = "clusters";
    let fe_hosts_json: String = get(row, start + 2, T, "fe_hosts")?;
    let fe_hosts: Vec<String> = serde_json::from_str(&fe_hosts_json).map_err(|e| {
        Error::corrupt(
            "clusters.fe_hosts",
            format_args!("not a JSON array of strings: {e}"),
        )
    })?;
    let source: String = get(row, start + 8, T, "source")?;
    Ok(Cluster {
        id: get(row, start, T, "id")?,
        name: get(row, start + 1, T, "name")?,
        fe_hosts,
        username: get(row, start + 3, T, "username")?,
        password: Password::from_stored(get(row, start + 4, T, "password")?, key),
        connect_timeout_secs: get(row, start + 5, T, "connect_timeout_secs")?,
        request_timeout_secs: get(row, start + 6, T, "request_timeout_secs")?,
        enabled: get(row, start + 7, T, "enabled")?,
        source: ClusterSource::parse(&source)?,
        created_at: from_ms(get(row, start + 9, T, "created_at")?, "clusters.created_at")?,
        updated_at: from_ms(
            get(row, start + 10, T, "updated_at")?,
            "clusters.updated_at",
        )?,
    })
}

fn hosts_json(hosts: &[String]) -> Result<String> {
    serde_json::to_string(hosts)
        .map_err(|e| Error::corrupt("clusters.fe_hosts", format_args!("cannot encode: {e}")))
}

fn name_conflict(err: rusqlite::Error, name: &str) -> Error {
    match constraint_of(&err) {
        Some(Constraint::Unique) => {
            Error::Conflict(format!("a cluster named `{name}` already exists"))
        }
        _ => Error::Sqlite(err),
    }
}

fn read_cluster(conn: &Connection, id: i64, key: &SecretKey) -> Result<Option<Cluster>> {
    let sql = format!("SELECT {} FROM clusters WHERE id = ?1", cluster_select(""));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    match rows.next()? {
        Some(row) => Ok(Some(cluster_from_row(row, 0, key)?)),
        None => Ok(None),
    }
}

fn not_found(id: i64) -> Error {
    Error::NotFound(format!("cluster {id}"))
}

impl Store {
    /// Register a cluster through the API (`source = api`).
    ///
    /// [`Error::Conflict`] when the name is taken.
    pub fn create_cluster(&self, new: &NewCluster) -> Result<Cluster> {
        self.tracked((|| {
            let conn = self.conn()?;
            let _turn = self.write_turn();
            let now = to_ms(OffsetDateTime::now_utc());
            let id = self.insert_cluster_row(&conn, new, ClusterSource::Api, now)?;
            self.bump_cluster_generation(id);
            log::info!("store: registered cluster {id} `{}`", new.name);
            read_cluster(&conn, id, self.key())?.ok_or_else(|| not_found(id))
        })())
    }

    /// Register or refresh a cluster declared in the configuration file, by name.
    ///
    /// A new name is inserted with `source = config`. An existing cluster of that name takes the
    /// declared `fe_hosts`, `username`, `password` and timeouts and becomes `source = config`;
    /// its `enabled` flag (which the API may have changed) is kept. `updated_at` only moves when
    /// something changed.
    pub fn upsert_config_cluster(&self, new: &NewCluster) -> Result<Cluster> {
        self.tracked((|| {
            let mut conn = self.conn()?;
            let _turn = self.write_turn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = to_ms(OffsetDateTime::now_utc());
            let hosts = hosts_json(&new.fe_hosts)?;
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT id FROM clusters WHERE name = ?1",
                    [&new.name],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => {
                    // Compared in clear: the stored password's nonce differs at every sealing.
                    let stored = read_cluster(&tx, id, self.key())?.ok_or_else(|| not_found(id))?;
                    let same = stored.fe_hosts == new.fe_hosts
                        && stored.username == new.username
                        && stored.password == new.password
                        && stored.connect_timeout_secs == new.connect_timeout_secs
                        && stored.request_timeout_secs == new.request_timeout_secs
                        && stored.source == ClusterSource::Config;
                    let changed = if same {
                        0
                    } else {
                        tx.execute(
                            "UPDATE clusters SET fe_hosts = ?2, username = ?3, password = ?4,
                             connect_timeout_secs = ?5, request_timeout_secs = ?6,
                             source = 'config', updated_at = ?7
                         WHERE id = ?1",
                            params![
                                id,
                                hosts,
                                new.username,
                                self.key().seal(new.password.expose()),
                                new.connect_timeout_secs,
                                new.request_timeout_secs,
                                now
                            ],
                        )?
                    };
                    if changed > 0 {
                        log::info!(
                            "store: updated cluster {id} `{}` from the configuration",
                            new.name
                        );
                    }
                    id
                }
                None => {
                    let id = self.insert_cluster_row(&tx, new, ClusterSource::Config, now)?;
                    log::info!(
                        "store: registered cluster {id} `{}` from the configuration",
                        new.name
                    );
                    id
                }
            };
            let cluster = read_cluster(&tx, id, self.key())?.ok_or_else(|| not_found(id))?;
            tx.commit()?;
            self.bump_cluster_generation(id);
            Ok(cluster)
        })())
    }

    /// Inserts `new` as a row from `source`, its password sealed, created and updated at `now`;
    /// its id. [`Error::Conflict`] when the name is taken. `conn` may be a transaction.
    fn insert_cluster_row(
        &self,
        conn: &Connection,
        new: &NewCluster,
        source: ClusterSource,
        now: i64,
    ) -> Result<i64> {
        conn.execute(
            "INSERT INTO clusters (name, fe_hosts, username, password, connect_timeout_secs,
                 request_timeout_secs, enabled, source, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
            params![
                new.name,
                hosts_json(&new.fe_hosts)?,
                new.username,
                self.key().seal(new.password.expose()),
                new.connect_timeout_secs,
                new.request_timeout_secs,
                new.enabled,
                source.as_str(),
                now
            ],
        )
        .map_err(|e| name_conflict(e, &new.name))?;
        Ok(conn.last_insert_rowid())
    }

    /// Change some fields of cluster `id` (see [`ClusterUpdate`]) and return it as stored.
    /// `updated_at` is set to now (also for an empty update).
    ///
    /// [`Error::NotFound`] for an unknown id, [`Error::Conflict`] when the new name is taken.
    pub fn update_cluster(&self, id: i64, update: &ClusterUpdate) -> Result<Cluster> {
        self.tracked((|| {
            let mut conn = self.conn()?;
            let _turn = self.write_turn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Column names below are literals; only values are bound.
            let mut sets: Vec<&'static str> = Vec::new();
            let mut values: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
            if let Some(name) = &update.name {
                sets.push("name");
                values.push(Box::new(name.clone()));
            }
            if let Some(hosts) = &update.fe_hosts {
                sets.push("fe_hosts");
                values.push(Box::new(hosts_json(hosts)?));
            }
            if let Some(username) = &update.username {
                sets.push("username");
                values.push(Box::new(username.clone()));
            }
            if let Some(password) = &update.password {
                sets.push("password");
                values.push(Box::new(self.key().seal(password.expose())));
            }
            if let Some(t) = update.connect_timeout_secs {
                sets.push("connect_timeout_secs");
                values.push(Box::new(t));
            }
            if let Some(t) = update.request_timeout_secs {
                sets.push("request_timeout_secs");
                values.push(Box::new(t));
            }
            if let Some(enabled) = update.enabled {
                sets.push("enabled");
                values.push(Box::new(enabled));
            }
            sets.push("updated_at");
            values.push(Box::new(to_ms(OffsetDateTime::now_utc())));
            let assignments: Vec<String> = sets
                .iter()
                .enumerate()
                .map(|(i, col)| format!("{col} = ?{}", i + 2))
                .collect();
            let sql = format!(
                "UPDATE clusters SET {} WHERE id = ?1",
                assignments.join(", ")
            );
            let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&id];
            bound.extend(values.iter().map(|v| v.as_ref()));
            let changed = tx
                .execute(&sql, bound.as_slice())
                .map_err(|e| name_conflict(e, update.name.as_deref().unwrap_or("")))?;
            if changed == 0 {
                return Err(not_found(id));
            }
            let cluster = read_cluster(&tx, id, self.key())?.ok_or_else(|| not_found(id))?;
            tx.commit()?;
            self.bump_cluster_generation(id);
            log::info!("store: updated cluster {id} `{}`", cluster.name);
            Ok(cluster)
        })())
    }

    /// Delete cluster `id` and all its data (snapshots, node snapshots, custom metric values,
    /// cycle outcomes, daily rows, errors).
    ///
    /// The bulky snapshot, custom value and outcome rows go first in bounded batches (see [`retention`]) so that other
    /// writers are not held up; then the cluster row is deleted and the foreign keys cascade over
    /// what is left. [`Error::NotFound`] for an unknown id.
    pub fn delete_cluster(&self, id: i64) -> Result<()> {
        self.tracked((|| {
            if self
                .conn()?
                .query_row("SELECT 1 FROM clusters WHERE id = ?1", [id], |_| Ok(()))
                .optional()?
                .is_none()
            {
                return Err(not_found(id));
            }
            let mut pace = retention::Pace::new(retention::DEFAULT_BATCH);
            delete_cluster_rows_batched(
                self,
                "node_cycles",
                "collected_at",
                id,
                i64::MAX,
                &mut pace,
            )?;
            crate::custom::delete_values_before(self, id, i64::MAX, &mut pace)?;
            delete_cluster_rows_batched(
                self,
                "metrics_snapshots",
                "collected_at",
                id,
                i64::MAX,
                &mut pace,
            )?;
            delete_cluster_rows_batched(self, "metrics_5m", "bucket_at", id, i64::MAX, &mut pace)?;
            delete_cluster_rows_batched(
                self,
                "overview_30m",
                "bucket_at",
                id,
                i64::MAX,
                &mut pace,
            )?;
            delete_cluster_rows_batched(self, "cycle_outcomes", "at", id, i64::MAX, &mut pace)?;
            delete_cluster_rows_batched(self, "alert_events", "at", id, i64::MAX, &mut pace)?;
            let changed = {
                let conn = self.conn()?;
                let _turn = self.write_turn();
                conn.execute("DELETE FROM clusters WHERE id = ?1", [id])
            };
            self.bump_cluster_generation(id);
            if changed? == 0 {
                return Err(not_found(id));
            }
            log::info!("store: deleted cluster {id} and its data");
            Ok(())
        })())
    }

    /// Cluster `id`, or [`Error::NotFound`].
    pub fn get_cluster(&self, id: i64) -> Result<Cluster> {
        let conn = self.conn()?;
        read_cluster(&conn, id, self.key())?.ok_or_else(|| not_found(id))
    }

    /// Every registered cluster, by id.
    pub fn list_clusters(&self) -> Result<Vec<Cluster>> {
        let conn = self.conn()?;
        let sql = format!("SELECT {} FROM clusters ORDER BY id", cluster_select(""));
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(cluster_from_row(row, 0, self.key())?);
        }
        Ok(out)
    }
}
