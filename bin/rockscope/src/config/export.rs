//! `[export]`: where the clusters' series go besides `/metrics`: `[[export.remote_write]]`
//! endpoints (Prometheus remote write 1.0). The endpoints are checked by
//! `rockscope-remote-write`, so that `check-config` refuses exactly what `serve` would.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use rockscope_notify::{BasicAuth, ReceiverConfig};
use rockscope_remote_write::EndpointConfig;
use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, in_range};

/// `[export]`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSettings {
    /// `[[export.remote_write]]`: remote-write endpoints.
    pub remote_write: Vec<RemoteWriteSettings>,
}

/// One `[[export.remote_write]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteSettings {
    /// `http://host:port/path` the requests are posted to, e.g.
    /// `http://prometheus:9090/api/v1/write`.
    pub url: String,
    /// Sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// A file holding the bearer token (trimmed), read at start; instead of `bearer_token`.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// `basic_auth = { username, password }`: sent as `Authorization: Basic …`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// Labels added to every series, e.g. `labels = { dc = "eu1" }`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Cycles (one cluster's each) held while the endpoint is slow or down; beyond it they are
    /// read back from the database.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Seconds one request may take.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_queue_capacity() -> usize {
    EndpointConfig::DEFAULT_QUEUE_CAPACITY
}

fn default_timeout_secs() -> u64 {
    EndpointConfig::DEFAULT_TIMEOUT.as_secs()
}

/// `export.remote_write[].queue_capacity`: cycles held per endpoint.
pub const REMOTE_WRITE_QUEUE_CAPACITY: RangeInclusive<u64> = 1..=1_000_000;
/// `export.remote_write[].timeout_secs`: one request.
pub const REMOTE_WRITE_TIMEOUT_SECS: RangeInclusive<u64> = 1..=300;

impl ExportSettings {
    /// Checks every endpoint: settings in range, URL, credentials (token files are read) and
    /// labels.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (i, rw) in self.remote_write.iter().enumerate() {
            in_range(
                &format!("export.remote_write[{i}].queue_capacity"),
                rw.queue_capacity as u64,
                &REMOTE_WRITE_QUEUE_CAPACITY,
            )?;
            in_range(
                &format!("export.remote_write[{i}].timeout_secs"),
                rw.timeout_secs,
                &REMOTE_WRITE_TIMEOUT_SECS,
            )?;
        }
        rockscope_remote_write::check(&self.remote_write_endpoints())
            .map_err(|e| ConfigError(format!("[export]: {e}")))
    }

    /// The remote writer's settings.
    pub fn remote_write_endpoints(&self) -> Vec<EndpointConfig> {
        self.remote_write
            .iter()
            .map(|rw| EndpointConfig {
                receiver: ReceiverConfig {
                    url: rw.url.clone(),
                    bearer_token: rw.bearer_token.clone(),
                    bearer_token_file: rw.bearer_token_file.clone(),
                    basic_auth: rw.basic_auth.clone(),
                },
                labels: rw.labels.clone().into_iter().collect(),
                queue_capacity: rw.queue_capacity,
                timeout: Duration::from_secs(rw.timeout_secs),
            })
            .collect()
    }
}
