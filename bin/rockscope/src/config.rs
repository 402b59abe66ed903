//! rockscope's configuration: defaults, then `config/metrics-collector.toml` (or `--config
//! PATH`), then `ROCKSCOPE_<SECTION>__<KEY>` environment variables, layered with figment.
//!
//! Library crates never see this: each section converts itself into its crate's own settings.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use rockscope_collector::Shard;
use rockscope_model::CustomMetricSpec;
use serde::{Deserialize, Serialize};

mod alerts;
mod export;
pub use alerts::AlertsSettings;
pub use export::ExportSettings;

/// The file read when no `--config` is given.
pub const DEFAULT_CONFIG_PATH: &str = "config/metrics-collector.toml";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `[collector]`: how and how often clusters are collected.
    pub collector: CollectorSettings,
    /// `[server]`: the HTTP API.
    pub server: ServerSettings,
    /// `[storage]`: the SQLite database.
    pub storage: StorageSettings,
    /// `[[clusters]]`: clusters declared in the file.
    pub clusters: Vec<ClusterSettings>,
    /// `[alerts]`: rules and their delivery.
    pub alerts: AlertsSettings,
    /// `[export]`: remote write.
    pub export: ExportSettings,
}

/// `[collector]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorSettings {
    /// Seconds between the starts of two cycles (fixed rate), at least 1.
    pub interval_secs: u64,
    /// Days snapshots are kept.
    pub retention_days: u32,
    /// Days the 5-minute tier of the snapshots (what series of 20-minute buckets or wider are
    /// read from) is kept; `None` (the default): `retention_days`.
    pub tier_retention_days: Option<u32>,
    /// Hours every cycle is kept; older cycles are thinned to one per 30 minutes (their
    /// snapshots on days already rolled up) until `retention_days`.
    pub full_resolution_hours: u32,
    /// Hours the 5-minute tier keeps its 5-minute granules; older ones are merged into half
    /// hours.
    pub tier_5m_hours: u32,
    /// Whether the collector runs.
    pub enabled: bool,
    /// Days daily aggregates are kept.
    pub daily_retention_days: u32,
    /// Clusters collected at the same time.
    pub concurrency: usize,
    /// Seconds to wait for a connection to a node.
    pub connect_timeout_secs: u64,
    /// Seconds one request to a node may take in all.
    pub request_timeout_secs: u64,
    /// Seconds one cluster's collection may take; `None` means `interval_secs`.
    pub cluster_deadline_secs: Option<u64>,
    /// `"i/n"`: collect only shard `i` of `n` of the clusters (by a stable hash of each name);
    /// `None` collects every cluster. Kept as written and checked by [`CollectorSettings::shard`],
    /// so that a wrong value (even a bare number) is refused naming the key and the form.
    #[serde(deserialize_with = "text_or_number")]
    pub shard: Option<String>,
    /// `[[collector.custom_metrics]]`: StarRocks series collected beside the built-in fields
    /// (`docs/CUSTOM_METRICS.md`); read-only through the API, which can add more.
    pub custom_metrics: Vec<CustomMetricSpec>,
}

/// An optional string that may also be written as a number (`shard = 3` in TOML, or
/// `ROCKSCOPE_COLLECTOR__SHARD=3`, which figment reads as a number): kept as text for the
/// validation to refuse with its own message.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum TextOrNumber {
        Text(String),
        Whole(i64),
        Fraction(f64),
    }
    Ok(Option::<TextOrNumber>::deserialize(d)?.map(|v| match v {
        TextOrNumber::Text(text) => text,
        TextOrNumber::Whole(n) => n.to_string(),
        TextOrNumber::Fraction(x) => x.to_string(),
    }))
}

impl Default for CollectorSettings {
    fn default() -> Self {
        CollectorSettings {
            interval_secs: 30,
            retention_days: 7,
            tier_retention_days: None,
            full_resolution_hours: 6,
            tier_5m_hours: 24,
            enabled: true,
            daily_retention_days: 30,
            concurrency: 16,
            connect_timeout_secs: 3,
            request_timeout_secs: 10,
            cluster_deadline_secs: None,
            shard: None,
            custom_metrics: Vec::new(),
        }
    }
}

impl CollectorSettings {
    /// The per-cluster deadline in seconds, defaulting to the interval.
    pub fn cluster_deadline_secs(&self) -> u64 {
        self.cluster_deadline_secs.unwrap_or(self.interval_secs)
    }

    /// This instance's shard from `collector.shard`, `None` when unset (every cluster).
    pub fn shard(&self) -> Result<Option<Shard>, ConfigError> {
        let Some(text) = &self.shard else {
            return Ok(None);
        };
        Shard::parse(text)
            .map(Some)
            .map_err(|e| ConfigError(format!("collector.shard = {text:?} is not allowed: {e}")))
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0 picks a free one).
    pub port: u16,
    /// Bearer token for `/api` (every request); none means no auth, allowed on loopback only.
    pub api_token: Option<Secret>,
    /// A file holding the admin token (trimmed), instead of `api_token`.
    pub api_token_file: Option<PathBuf>,
    /// Bearer token for reads only (`GET`, `HEAD`); needs an admin token.
    pub api_read_token: Option<Secret>,
    /// A file holding the read-only token (trimmed), instead of `api_read_token`.
    pub api_read_token_file: Option<PathBuf>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            api_token: None,
            api_token_file: None,
            api_read_token: None,
            api_read_token_file: None,
        }
    }
}

/// The API's tokens, resolved from the settings and token files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApiTokens {
    /// Allows every request.
    pub admin: Option<Secret>,
    /// Allows reads only.
    pub read: Option<Secret>,
}

/// The shortest token accepted: 16 characters (about 95 bits as random base64).
pub const MIN_TOKEN_CHARS: usize = 16;

impl ServerSettings {
    /// The admin and read-only tokens, read from their files where given, each checked: not
    /// empty, at least [`MIN_TOKEN_CHARS`] long, not given twice, and a read token only beside
    /// an admin token that differs from it.
    pub fn tokens(&self) -> Result<ApiTokens, ConfigError> {
        let admin = token(
            "server.api_token",
            self.api_token.as_ref(),
            self.api_token_file.as_deref(),
        )?;
        let read = token(
            "server.api_read_token",
            self.api_read_token.as_ref(),
            self.api_read_token_file.as_deref(),
        )?;
        match (&admin, &read) {
            (None, Some(_)) => Err(ConfigError(
                "server.api_read_token is set without server.api_token; a read-only token needs \
                 an admin token beside it"
                    .to_owned(),
            )),
            (Some(a), Some(r)) if a == r => Err(ConfigError(
                "server.api_read_token equals server.api_token; give the read-only token its \
                 own value"
                    .to_owned(),
            )),
            _ => Ok(ApiTokens { admin, read }),
        }
    }
}

/// One token from its value or its file, checked.
fn token(
    key: &str,
    value: Option<&Secret>,
    file: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    let text = match (value, file) {
        (Some(_), Some(_)) => {
            return Err(ConfigError(format!(
                "{key} and {key}_file are both set; give one of them"
            )));
        }
        (Some(value), None) => value.expose().to_owned(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| {
                ConfigError(format!(
                    "{key}_file {}: cannot read it: {e}",
                    path.display()
                ))
            })?
            .trim()
            .to_owned(),
        (None, None) => return Ok(None),
    };
    let chars = text.chars().count();
    if text.trim().is_empty() {
        return Err(ConfigError(format!(
            "{key} is empty; an empty token would let anyone in. Remove the key to serve \
             without auth (loopback only), or give a random token of at least {MIN_TOKEN_CHARS} \
             characters (e.g. `openssl rand -base64 24`)"
        )));
    }
    if chars < MIN_TOKEN_CHARS {
        return Err(ConfigError(format!(
            "{key} has {chars} characters; a token must have at least {MIN_TOKEN_CHARS} so that \
             it cannot be guessed (e.g. `openssl rand -base64 24`)"
        )));
    }
    Ok(Some(Secret::new(text)))
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// The SQLite file.
    pub path: PathBuf,
}

impl Default for StorageSettings {
    fn default() -> Self {
        StorageSettings {
            path: PathBuf::from("data/rockscope.db"),
        }
    }
}

/// One `[[clusters]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Unique name.
    pub name: String,
    /// FE entry points, `host:http_port`, tried in order to reach the leader's view.
    pub fe_hosts: Vec<String>,
    /// StarRocks user (needs the admin role `show_proc` asks for).
    #[serde(default = "default_username")]
    pub username: String,
    /// That user's password.
    #[serde(default)]
    pub password: Secret,
}

fn default_username() -> String {
    "root".to_owned()
}

pub use rockscope_model::Secret;

/// A configuration that can't be used, with a message naming the key, the value and what is
/// allowed.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The environment variable holding the key that encrypts the cluster passwords at rest: 64
/// hexadecimal characters (32 bytes), e.g. from `openssl rand -hex 32`. Without it, the key file
/// beside the database (`<storage.path>.key`) is used, created on first start.
pub const SECRET_KEY_ENV: &str = "ROCKSCOPE_SECRET_KEY";

/// [`SECRET_KEY_ENV`] as figment's environment provider sees it (prefix stripped, lower case).
const SECRET_KEY_ENV_KEY: &str = "secret_key";

/// The configuration file that [`Settings::load`] reads for `path` (the `--config` value): that
/// file, or the default one when it exists; `None` when only defaults and the environment apply.
pub fn config_file(path: Option<&Path>) -> Option<PathBuf> {
    let file = path.unwrap_or(Path::new(DEFAULT_CONFIG_PATH));
    (path.is_some() || file.exists()).then(|| file.to_path_buf())
}

/// Where the settings come from, in a sentence: the file read (or that none was found and the
/// defaults are in force) and the names (never the values) of the `ROCKSCOPE_*` variables set.
pub fn describe_sources(path: Option<&Path>) -> String {
    let mut text = match config_file(path) {
        Some(file) => format!("configuration read from {}", file.display()),
        None => format!(
            "no configuration file found at {DEFAULT_CONFIG_PATH}; the defaults are in force"
        ),
    };
    let mut overrides: Vec<String> = std::env::vars_os()
        .map(|(key, _)| key.to_string_lossy().into_owned())
        .filter(|key| key.starts_with("ROCKSCOPE_"))
        .collect();
    overrides.sort();
    if !overrides.is_empty() {
        text.push_str(&format!(
            ", overridden by the environment: {}",
            overrides.join(", ")
        ));
    }
    text
}

impl Settings {
    /// Loads defaults, then the file at `path` (which must exist unless it is the default
    /// path), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = config_file(path) {
            if !file.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file(file));
        }
        // ROCKSCOPE_SECRET_KEY is the store's key (`service::store_options`), not a setting: kept
        // out of the configuration (and out of `check-config`'s output).
        Self::from_figment(
            figment.merge(
                Env::prefixed("ROCKSCOPE_")
                    .ignore(&[SECRET_KEY_ENV_KEY])
                    .split("__"),
            ),
        )
    }

    /// Extracts and validates settings from any figment (tests build their own).
    pub fn from_figment(figment: Figment) -> Result<Settings, ConfigError> {
        let settings: Settings = figment.extract().map_err(|errors| {
            let messages: Vec<String> = errors.into_iter().map(|e| e.to_string()).collect();
            ConfigError(format!("invalid configuration: {}", messages.join("; ")))
        })?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value against what is allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.collector;
        in_range("collector.interval_secs", c.interval_secs, &INTERVAL_SECS)?;
        in_range(
            "collector.retention_days",
            u64::from(c.retention_days),
            &RETENTION_DAYS,
        )?;
        if let Some(days) = c.tier_retention_days {
            in_range(
                "collector.tier_retention_days",
                u64::from(days),
                &RETENTION_DAYS,
            )?;
        }
        in_range(
            "collector.full_resolution_hours",
            u64::from(c.full_resolution_hours),
            &FULL_RESOLUTION_HOURS,
        )?;
        in_range(
            "collector.tier_5m_hours",
            u64::from(c.tier_5m_hours),
            &FULL_RESOLUTION_HOURS,
        )?;
        in_range(
            "collector.daily_retention_days",
            u64::from(c.daily_retention_days),
            &DAILY_RETENTION_DAYS,
        )?;
        in_range("collector.concurrency", c.concurrency as u64, &CONCURRENCY)?;
        in_range(
            "collector.connect_timeout_secs",
            c.connect_timeout_secs,
            &TIMEOUT_SECS,
        )?;
        in_range(
            "collector.request_timeout_secs",
            c.request_timeout_secs,
            &TIMEOUT_SECS,
        )?;
        if let Some(deadline) = c.cluster_deadline_secs {
            in_range("collector.cluster_deadline_secs", deadline, &INTERVAL_SECS)?;
        }
        c.shard()?;
        if c.custom_metrics.len() > rockscope_api::MAX_CUSTOM_METRICS {
            return Err(ConfigError(format!(
                "[[collector.custom_metrics]]: {} definitions, at most {} are allowed",
                c.custom_metrics.len(),
                rockscope_api::MAX_CUSTOM_METRICS
            )));
        }
        rockscope_engine::CustomSet::new(&c.custom_metrics)
            .map_err(|e| ConfigError(format!("[[collector.custom_metrics]]: {e}")))?;
        self.server.tokens()?;
        if self.server.host.trim().is_empty() {
            return Err(ConfigError(
                "server.host is empty; give an address such as 127.0.0.1".to_owned(),
            ));
        }
        if self.storage.path.as_os_str().is_empty() {
            return Err(ConfigError(
                "storage.path is empty; give a file such as data/rockscope.db".to_owned(),
            ));
        }
        self.alerts
            .validate(&rockscope_alerts::CustomNames::of(&c.custom_metrics))?;
        self.export.validate()?;
        let mut names = std::collections::HashSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            rockscope_api::check_cluster_fields(
                &cluster.name,
                &cluster.fe_hosts,
                &cluster.username,
            )
            .map_err(|why| {
                ConfigError(format!("clusters[{i}] (name {:?}): {why}", cluster.name))
            })?;
            if !names.insert(cluster.name.trim()) {
                return Err(ConfigError(format!(
                    "clusters[{i}].name = {:?} is declared twice; names must be unique",
                    cluster.name
                )));
            }
        }
        Ok(())
    }
}

/// `collector.interval_secs` and `collector.cluster_deadline_secs`: a second to a day.
pub const INTERVAL_SECS: RangeInclusive<u64> = 1..=86_400;
/// `collector.retention_days` and `collector.tier_retention_days`: a day to ten years of
/// snapshots.
pub const RETENTION_DAYS: RangeInclusive<u64> = 1..=3_650;
/// `collector.full_resolution_hours` and `collector.tier_5m_hours`: an hour to ten years of
/// every cycle, or of 5-minute granules.
pub const FULL_RESOLUTION_HOURS: RangeInclusive<u64> = 1..=87_600;
/// `collector.daily_retention_days`: a day to a hundred years of daily rows.
pub const DAILY_RETENTION_DAYS: RangeInclusive<u64> = 1..=36_500;
/// `collector.concurrency`: clusters collected at once.
pub const CONCURRENCY: RangeInclusive<u64> = 1..=1_024;
/// `collector.connect_timeout_secs`, `collector.request_timeout_secs`: the range the API allows
/// for a cluster's own timeouts.
pub const TIMEOUT_SECS: RangeInclusive<u64> =
    *rockscope_api::TIMEOUT_RANGE.start() as u64..=*rockscope_api::TIMEOUT_RANGE.end() as u64;

/// `value` within `range`, or an error naming the key, the value and the range.
fn in_range(key: &str, value: u64, range: &RangeInclusive<u64>) -> Result<(), ConfigError> {
    if !range.contains(&value) {
        return Err(ConfigError(format!(
            "{key} = {value} is not allowed; it must be from {} to {}",
            range.start(),
            range.end()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(text)),
        )
    }

    #[test]
    fn shipped_config_equals_the_defaults() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/metrics-collector.toml");
        let shipped = Settings::from_figment(
            Figment::from(Serialized::defaults(Settings::default())).merge(Toml::file(&path)),
        )
        .unwrap();
        assert_eq!(shipped, Settings::default());
    }

    #[test]
    fn clusters_and_secrets() {
        let s = from_toml(
            "[collector]\ninterval_secs = 1\n[[clusters]]\nname = \"a\"\nfe_hosts = [\"127.0.0.1:8030\"]\npassword = \"hunter2\"\n",
        )
        .unwrap();
        assert_eq!(s.collector.interval_secs, 1);
        assert_eq!(s.collector.cluster_deadline_secs(), 1);
        assert_eq!(s.clusters[0].username, "root");
        assert_eq!(s.clusters[0].password.expose(), "hunter2");
        let shown = format!("{s:?} {}", serde_json::to_string(&s).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn invalid_values_name_key_value_and_rule() {
        let e = from_toml("[collector]\ninterval_secs = 0\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("collector.interval_secs")
                && e.contains("0")
                && e.contains("from 1 to 86400"),
            "{e}"
        );
        let e = from_toml("[collector]\ninterval = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("interval"), "{e}");
        let e = from_toml("[collector]\nretention_days = \"many\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("retention_days"), "{e}");
        let e = from_toml("[[clusters]]\nname = \"a\"\nfe_hosts = [\"nohost\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("clusters[0]") && e.contains("fe_hosts[0]"),
            "{e}"
        );
        // The API's rules: no repeated FE, no invisible characters in a name.
        let e = from_toml("[[clusters]]\nname = \"a\"\nfe_hosts = [\"h:1\", \"h:1\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("repeats fe_hosts[0]"), "{e}");
        let e = from_toml("[[clusters]]\nname = \"a\\u202Eb\"\nfe_hosts = [\"h:1\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bidi-override"), "{e}");
        let e = from_toml(
            "[[clusters]]\nname = \"a\"\nfe_hosts = [\"h:1\"]\n[[clusters]]\nname = \"a\"\nfe_hosts = [\"h:2\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn every_numeric_key_has_a_range() {
        for (text, key, range) in [
            (
                "[collector]\nretention_days = 100000000\n",
                "collector.retention_days",
                "from 1 to 3650",
            ),
            (
                "[collector]\nretention_days = 0\n",
                "collector.retention_days",
                "from 1 to 3650",
            ),
            (
                "[collector]\nfull_resolution_hours = 0\n",
                "collector.full_resolution_hours",
                "from 1 to 87600",
            ),
            (
                "[collector]\ntier_retention_days = 0\n",
                "collector.tier_retention_days",
                "from 1 to 3650",
            ),
            (
                "[collector]\ndaily_retention_days = 36501\n",
                "collector.daily_retention_days",
                "from 1 to 36500",
            ),
            (
                "[collector]\ninterval_secs = 86401\n",
                "collector.interval_secs",
                "from 1 to 86400",
            ),
            (
                "[collector]\nconcurrency = 1025\n",
                "collector.concurrency",
                "from 1 to 1024",
            ),
            (
                "[collector]\nconnect_timeout_secs = 301\n",
                "collector.connect_timeout_secs",
                "from 1 to 300",
            ),
            (
                "[collector]\nrequest_timeout_secs = 0\n",
                "collector.request_timeout_secs",
                "from 1 to 300",
            ),
            (
                "[collector]\ncluster_deadline_secs = 0\n",
                "collector.cluster_deadline_secs",
                "from 1 to 86400",
            ),
            ("[server]\nport = 70000\n", "port", ""),
        ] {
            let e = from_toml(text).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(range), "{text}: {e}");
        }
        for text in [
            "[collector]\nretention_days = 3650\ndaily_retention_days = 36500\n",
            "[collector]\nretention_days = 1\ntier_retention_days = 3650\n",
            "[collector]\ninterval_secs = 86400\nconcurrency = 1024\nrequest_timeout_secs = 300\n",
            "[server]\nport = 0\n",
        ] {
            from_toml(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment's own large error
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[collector]\ninterval_secs = 20\n")?;
            jail.set_env("ROCKSCOPE_COLLECTOR__INTERVAL_SECS", "10");
            jail.set_env("ROCKSCOPE_SERVER__PORT", "9000");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.collector.interval_secs, 10);
            assert_eq!(s.server.port, 9000);
            jail.set_env("ROCKSCOPE_COLLECTOR__CONCURRENCY", "0");
            let e = Settings::load(Some(Path::new("c.toml")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("collector.concurrency"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn shard_is_i_of_n_or_refused_naming_key_and_form() {
        assert_eq!(from_toml("").unwrap().collector.shard().unwrap(), None);
        let s = from_toml("[collector]\nshard = \"2/3\"\n").unwrap();
        assert_eq!(
            s.collector.shard().unwrap(),
            Some(Shard::new(2, 3).unwrap())
        );
        for (value, why) in [
            (
                "\"4/3\"",
                "i (this instance's number) must be from 1 to n = 3, not 4",
            ),
            ("\"0/3\"", "must be from 1 to n = 3, not 0"),
            (
                "\"1/0\"",
                "n (the number of instances) must be from 1 to 1024, not 0",
            ),
            ("\"a/b\"", "expected \"i/n\""),
            ("\"3\"", "expected \"i/n\""),
            ("3", "expected \"i/n\""),
            ("0.5", "expected \"i/n\""),
        ] {
            let e = from_toml(&format!("[collector]\nshard = {value}\n"))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("collector.shard = ") && e.contains(why),
                "{value}: {e}"
            );
        }
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment's own large error
    fn shard_from_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[collector]\nshard = \"1/2\"\n")?;
            jail.set_env("ROCKSCOPE_COLLECTOR__SHARD", "3/3");
            let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(
                s.collector.shard().unwrap(),
                Some(Shard::new(3, 3).unwrap())
            );
            // A bare number reaches figment as a number, and is refused with the form.
            jail.set_env("ROCKSCOPE_COLLECTOR__SHARD", "3");
            let e = Settings::load(Some(Path::new("c.toml")))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("collector.shard = \"3\"") && e.contains("i/n"),
                "{e}"
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment's own large error
    fn the_secret_key_variable_is_not_a_setting() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "")?;
            jail.set_env(SECRET_KEY_ENV, "00".repeat(32));
            Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            Ok(())
        });
    }

    #[test]
    fn alerts_receivers_and_rules_are_checked_at_load() {
        let s = from_toml(
            "[alerts]\n[[alerts.alertmanagers]]\nurl = \"http://127.0.0.1:9093\"\n\
             basic_auth = { username = \"am\", password = \"am-Secret-9\" }\n\
             [[alerts.webhooks]]\nurl = \"http://127.0.0.1:9000/hook\"\n",
        )
        .unwrap();
        assert_eq!(s.alerts.alertmanagers.len(), 1);
        let shown = serde_json::to_string(&s).unwrap();
        assert!(!shown.contains("am-Secret-9"), "{shown}");

        let e = from_toml("[[alerts.webhooks]]\nurl = \"ftp://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[alerts]") && e.contains("webhook"), "{e}");
        let e = from_toml("[alerts]\nresend_delay_secs = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("alerts.resend_delay_secs"), "{e}");
        let e = from_toml("[alerts]\nbogus = 1\n").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }

    #[test]
    fn remote_write_endpoints_are_checked_at_load_without_showing_secrets() {
        let s = from_toml(
            "[[export.remote_write]]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\n\
             basic_auth = { username = \"rw\", password = \"rw-Secret-9\" }\n\
             labels = { dc = \"eu1\" }\n\
             [[export.remote_write]]\nurl = \"http://127.0.0.1:8428/api/v1/write\"\n\
             bearer_token = \"tok-Secret-7\"\nqueue_capacity = 5\ntimeout_secs = 3\n",
        )
        .unwrap();
        let endpoints = s.export.remote_write_endpoints();
        assert_eq!(endpoints.len(), 2);
        assert_eq!(endpoints[0].labels, [("dc".to_owned(), "eu1".to_owned())]);
        assert_eq!(endpoints[0].queue_capacity, 10_000);
        assert_eq!(endpoints[1].timeout, std::time::Duration::from_secs(3));
        let shown = serde_json::to_string(&s).unwrap() + &format!("{s:?}");
        assert!(!shown.contains("Secret"), "{shown}");

        for (text, wanted) in [
            ("url = \"https://h/w\"\n", "TLS"),
            (
                "url = \"http://h/w\"\nlabels = { cluster = \"x\" }\n",
                "rockscope's own",
            ),
            (
                "url = \"http://h/w\"\nlabels = { __x = \"x\" }\n",
                "starts with __",
            ),
            (
                "url = \"http://h/w\"\nqueue_capacity = 0\n",
                "export.remote_write[0].queue_capacity",
            ),
            (
                "url = \"http://h/w\"\ntimeout_secs = 301\n",
                "from 1 to 300",
            ),
            ("url = \"http://h/w\"\nbogus = 1\n", "bogus"),
            (
                "url = \"http://h/w\"\nbearer_token = \"t-Secret\"\nbearer_token_file = \"/x\"\n",
                "not both",
            ),
        ] {
            let e = from_toml(&format!("[[export.remote_write]]\n{text}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(wanted), "{text}: {e}");
            assert!(!e.contains("Secret"), "{text}: {e}");
        }
    }

    #[test]
    fn custom_metrics_are_read_and_checked_naming_the_definition() {
        let ok = from_toml(
            "[[collector.custom_metrics]]\nname = \"page_cache_hit_ratio\"\n\
             metric = \"starrocks_be_page_cache_hit_count\"\nmatch = '{path=~\"/data[0-9]+\"}'\n\
             node_types = [\"be\", \"cn\"]\naggregate = \"sum\"\nrate = true\n\
             ratio_of = \"page_cache_lookups\"\nunit = \"ratio\"\n\
             [[collector.custom_metrics]]\nname = \"page_cache_lookups\"\n\
             metric = \"starrocks_be_page_cache_lookup_count\"\nnode_types = [\"be\"]\n\
             aggregate = \"sum\"\nrate = true\n",
        )
        .unwrap();
        let specs = &ok.collector.custom_metrics;
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].matchers, "{path=~\"/data[0-9]+\"}");
        assert_eq!(specs[0].ratio_of.as_deref(), Some("page_cache_lookups"));
        for (definition, wanted) in [
            (
                "name = \"qps\"\nmetric = \"m\"\nnode_types = [\"be\"]\naggregate = \"sum\"",
                "clashes with the built-in field qps",
            ),
            (
                "name = \"a\"\nmetric = \"m\"\nmatch = '{p=~\"(\"}'\nnode_types = [\"be\"]\naggregate = \"sum\"",
                "does not compile",
            ),
            (
                "name = \"a\"\nmetric = \"m\"\nnode_types = [\"xe\"]\naggregate = \"sum\"",
                "unknown node type \"xe\"",
            ),
            (
                "name = \"a\"\nmetric = \"m\"\nnode_types = [\"be\"]\naggregate = \"sum\"\nratio_of = \"a\"",
                "ratio_of names the metric itself",
            ),
        ] {
            let text = format!("[[collector.custom_metrics]]\n{definition}\n");
            let e = from_toml(&text).unwrap_err().to_string();
            assert!(
                e.contains("[[collector.custom_metrics]]") && e.contains(wanted),
                "{text}: {e}"
            );
        }
        let unknown = from_toml(
            "[[collector.custom_metrics]]\nname = \"a\"\nmetric = \"m\"\nnode_types = [\"be\"]\n\
             aggregate = \"sum\"\nrates = true\n",
        )
        .unwrap_err()
        .to_string();
        assert!(unknown.contains("rates"), "{unknown}");
    }
}
