//! rockscope's configuration: defaults, then `config/metrics-collector.toml` (or `--config
//! PATH`), then `ROCKSCOPE_<SECTION>__<KEY>` environment variables, layered with figment.
//!
//! Library crates never see this: each section converts itself into its crate's own settings.

use std::fmt;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
}

/// `[collector]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorSettings {
    /// Seconds between the starts of two cycles (fixed rate), at least 1.
    pub interval_secs: u64,
    /// Days snapshots are kept.
    pub retention_days: u32,
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
}

impl Default for CollectorSettings {
    fn default() -> Self {
        CollectorSettings {
            interval_secs: 30,
            retention_days: 7,
            enabled: true,
            daily_retention_days: 30,
            concurrency: 16,
            connect_timeout_secs: 3,
            request_timeout_secs: 10,
            cluster_deadline_secs: None,
        }
    }
}

impl CollectorSettings {
    /// The per-cluster deadline in seconds, defaulting to the interval.
    pub fn cluster_deadline_secs(&self) -> u64 {
        self.cluster_deadline_secs.unwrap_or(self.interval_secs)
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
    /// Bearer token for `/api`; none means no auth, allowed on loopback only.
    pub api_token: Option<Secret>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            host: "127.0.0.1".to_owned(),
            port: 8080,
            api_token: None,
        }
    }
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

/// A secret (password, token): kept as given, shown as `***` by `Debug` and when serialized for
/// display, so that it can't reach a log line or `check-config` output by accident.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

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

impl Settings {
    /// Loads defaults, then the file at `path` (which must exist unless it is the default
    /// path), then the environment.
    pub fn load(path: Option<&Path>) -> Result<Settings, ConfigError> {
        let file = path.unwrap_or(Path::new(DEFAULT_CONFIG_PATH));
        if path.is_some() && !file.exists() {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                file.display()
            )));
        }
        Self::from_figment(
            Figment::from(Serialized::defaults(Settings::default()))
                .merge(Toml::file(file))
                // ROCKSCOPE_SECRET_KEY is the store's key (`service::store_options`), not a
                // setting: kept out of the configuration (and out of `check-config`'s output).
                .merge(
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
        at_least("collector.interval_secs", c.interval_secs, 1)?;
        at_least("collector.retention_days", u64::from(c.retention_days), 1)?;
        at_least(
            "collector.daily_retention_days",
            u64::from(c.daily_retention_days),
            1,
        )?;
        at_least("collector.concurrency", c.concurrency as u64, 1)?;
        at_least("collector.connect_timeout_secs", c.connect_timeout_secs, 1)?;
        at_least("collector.request_timeout_secs", c.request_timeout_secs, 1)?;
        if let Some(deadline) = c.cluster_deadline_secs {
            at_least("collector.cluster_deadline_secs", deadline, 1)?;
        }
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
        let mut names = std::collections::HashSet::new();
        for (i, cluster) in self.clusters.iter().enumerate() {
            if cluster.name.trim().is_empty() {
                return Err(ConfigError(format!("clusters[{i}].name is empty")));
            }
            if !names.insert(cluster.name.as_str()) {
                return Err(ConfigError(format!(
                    "clusters[{i}].name = {:?} is declared twice; names must be unique",
                    cluster.name
                )));
            }
            if cluster.fe_hosts.is_empty() {
                return Err(ConfigError(format!(
                    "clusters[{i}].fe_hosts is empty; list at least one \"host:http_port\""
                )));
            }
            for host in &cluster.fe_hosts {
                if !is_host_port(host) {
                    return Err(ConfigError(format!(
                        "clusters[{i}].fe_hosts entry {host:?} is not \"host:port\" (e.g. \"10.0.0.1:8030\")"
                    )));
                }
            }
        }
        Ok(())
    }
}

fn at_least(key: &str, value: u64, min: u64) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError(format!(
            "{key} = {value} is not allowed; it must be at least {min}"
        )));
    }
    Ok(())
}

/// `host:port` with a non-empty host and a port in 1..=65535 (`[v6]:port` too).
fn is_host_port(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
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
            e.contains("collector.interval_secs") && e.contains("0") && e.contains("at least 1"),
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
        assert!(e.contains("nohost"), "{e}");
        let e = from_toml(
            "[[clusters]]\nname = \"a\"\nfe_hosts = [\"h:1\"]\n[[clusters]]\nname = \"a\"\nfe_hosts = [\"h:2\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("twice"), "{e}");
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
    #[allow(clippy::result_large_err)] // figment::Jail's closure returns figment's own large error
    fn the_secret_key_variable_is_not_a_setting() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "")?;
            jail.set_env(SECRET_KEY_ENV, "00".repeat(32));
            Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            Ok(())
        });
    }
}
