//! [`ClientConfig`] and its builder, [`Secret`].

use std::time::Duration;

use crate::ClusterClient;

pub use rockscope_model::Secret;

/// Settings of one cluster's client.
///
/// `PartialEq` lets the caller tell whether the settings of a cluster changed (e.g. after a
/// configuration reload) and rebuild its [`ClusterClient`] only then.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    /// User for HTTP Basic auth on every request. `show_proc` needs `root`, a user with the
    /// `root` role, or one with both `db_admin` and `user_admin`.
    pub username: String,
    /// Password for HTTP Basic auth.
    pub password: Secret,
    /// Limit on establishing the TCP connection (DNS lookup included).
    pub connect_timeout: Duration,
    /// Limit on a whole call: connect, send, wait for and read the full response.
    pub request_timeout: Duration,
    /// Largest response body accepted, in bytes; a longer one fails with
    /// [`ClientError::BodyTooLarge`](crate::ClientError::BodyTooLarge).
    pub max_body_bytes: u64,
}

impl ClientConfig {
    /// Default user: StarRocks' built-in `root`.
    pub const DEFAULT_USERNAME: &'static str = "root";
    /// Default connect timeout: 3 s.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
    /// Default request timeout: 10 s (a third of the 30 s poll interval).
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default body cap: 64 MiB (a BE `/metrics` is ~0.5 MB, an FE one with per-table metrics of
    /// 10,000 tables ~40 MB).
    pub const DEFAULT_MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;
}

impl Default for ClientConfig {
    /// `root` with an empty password (StarRocks' defaults), 3 s connect, 10 s request, 64 MiB.
    fn default() -> Self {
        Self {
            username: Self::DEFAULT_USERNAME.to_owned(),
            password: Secret::default(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Builds a [`ClusterClient`]; start from [`ClusterClient::builder`]. Unset settings keep the
/// [`ClientConfig::default`] values.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ClusterClientBuilder {
    config: ClientConfig,
}

impl ClusterClientBuilder {
    /// Replaces all settings at once.
    pub fn config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }

    /// User for HTTP Basic auth.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.config.username = username.into();
        self
    }

    /// Password for HTTP Basic auth.
    pub fn password(mut self, password: impl Into<Secret>) -> Self {
        self.config.password = password.into();
        self
    }

    /// Limit on establishing a connection (DNS lookup included).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Limit on a whole call, response body included.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Largest response body accepted, in bytes.
    pub fn max_body_bytes(mut self, max: u64) -> Self {
        self.config.max_body_bytes = max;
        self
    }

    /// The settings as they stand.
    pub fn current(&self) -> &ClientConfig {
        &self.config
    }

    /// Builds the client (one connection pool for the cluster).
    #[must_use]
    pub fn build(self) -> ClusterClient {
        ClusterClient::new(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_shows() {
        let config = ClientConfig {
            password: Secret::new("hunter2"),
            ..ClientConfig::default()
        };
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
        assert_eq!(config.password.expose(), "hunter2");
    }

    #[test]
    fn builder_sets_everything_and_equality_tells_changes() {
        let client = ClusterClient::builder()
            .username("monitor")
            .password("pw")
            .connect_timeout(Duration::from_millis(500))
            .request_timeout(Duration::from_secs(2))
            .max_body_bytes(1024)
            .build();
        let expected = ClientConfig {
            username: "monitor".into(),
            password: Secret::new("pw"),
            connect_timeout: Duration::from_millis(500),
            request_timeout: Duration::from_secs(2),
            max_body_bytes: 1024,
        };
        assert_eq!(client.config(), &expected);
        let mut changed = expected.clone();
        changed.password = Secret::new("other");
        assert_ne!(client.config(), &changed);
        assert!(!format!("{client:?}").contains("pw\""));
    }

    #[test]
    fn defaults_are_starrocks_defaults() {
        let config = ClientConfig::default();
        assert_eq!(config.username, "root");
        assert_eq!(config.password.expose(), "");
        assert_eq!(config.max_body_bytes, 64 << 20);
        assert_eq!(ClusterClient::builder().current(), &ClientConfig::default());
    }
}
