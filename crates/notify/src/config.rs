//! What delivery is told: [`NotifyConfig`] with one [`ReceiverConfig`] per Alertmanager or
//! webhook, credentials as [`Secret`]s, and the [`ConfigError`] of a receiver that cannot work.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use rockscope_model::Secret;

/// HTTP Basic credentials of a receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name (not secret: it may appear in logs).
    pub username: String,
    /// The password.
    pub password: Secret,
}

/// One Alertmanager or webhook: `[[alerts.alertmanagers]]` or `[[alerts.webhooks]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// `http://host:port[/path]`. For an Alertmanager, its base URL (alerts go to
    /// `{url}/api/v2/alerts`); for a webhook, the URL posted to. User info in the URL
    /// (`http://user:password@host/`) is used as Basic credentials and never shown.
    pub url: String,
    /// Sent as `Authorization: Bearer …`.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// A file holding the bearer token (surrounding whitespace ignored), read once at start;
    /// instead of `bearer_token`.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// Sent as `Authorization: Basic …`.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
}

impl ReceiverConfig {
    /// A receiver at `url` without credentials.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            bearer_token: None,
            bearer_token_file: None,
            basic_auth: None,
        }
    }
}

/// Where alerts go and at which cadence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Alertmanagers, each sent every alert through its API v2.
    pub alertmanagers: Vec<ReceiverConfig>,
    /// Webhooks, each sent Alertmanager's webhook payload (version 4).
    pub webhooks: Vec<ReceiverConfig>,
    /// rockscope's own base URL, e.g. `http://rockscope.example:8080`: alerts link to
    /// `{external_url}/clusters/{id}` (`generatorURL`) and webhooks carry it as `externalURL`.
    pub external_url: String,
    /// How often a firing alert is re-sent to Alertmanager (Prometheus' `--rules.alert.resend-delay`).
    pub resend_delay: Duration,
    /// How often a webhook is re-notified of an alert that keeps firing (Alertmanager's
    /// `repeat_interval`).
    pub repeat_interval: Duration,
    /// Notifications waiting per receiver; beyond it the oldest is dropped (and counted).
    pub queue_capacity: usize,
    /// Limit on one HTTP call: connect, send, and read the answer.
    pub timeout: Duration,
}

impl NotifyConfig {
    /// Prometheus' default resend delay: 1 minute.
    pub const DEFAULT_RESEND_DELAY: Duration = Duration::from_secs(60);
    /// Alertmanager's default repeat interval: 4 hours.
    pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_secs(4 * 3600);
    /// Default queue capacity per receiver.
    pub const DEFAULT_QUEUE_CAPACITY: usize = 1000;
    /// Default limit on one HTTP call: 10 s (Prometheus' notifier default).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for NotifyConfig {
    /// No receivers, `http://localhost:8080` and the defaults above.
    fn default() -> Self {
        Self {
            alertmanagers: Vec::new(),
            webhooks: Vec::new(),
            external_url: "http://localhost:8080".to_owned(),
            resend_delay: Self::DEFAULT_RESEND_DELAY,
            repeat_interval: Self::DEFAULT_REPEAT_INTERVAL,
            queue_capacity: Self::DEFAULT_QUEUE_CAPACITY,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// A configuration delivery cannot work with. URLs in it are shown with credentials removed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("{kind} url {url:?}: {problem}")]
    BadUrl {
        /// `alertmanager` or `webhook`.
        kind: &'static str,
        /// The URL, credentials removed.
        url: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Both a bearer token and Basic credentials (in `basic_auth` or the URL) were given.
    #[error("{kind} url {url:?}: give either a bearer token or Basic credentials, not both")]
    TwoCredentials {
        /// `alertmanager` or `webhook`.
        kind: &'static str,
        /// The URL, credentials removed.
        url: String,
    },
    /// Both `bearer_token` and `bearer_token_file` were given.
    #[error("{kind} url {url:?}: give bearer_token or bearer_token_file, not both")]
    TwoTokens {
        /// `alertmanager` or `webhook`.
        kind: &'static str,
        /// The URL, credentials removed.
        url: String,
    },
    /// The bearer token file cannot be read, or is empty.
    #[error("{kind} url {url:?}: bearer_token_file {path:?}: {problem}")]
    TokenFile {
        /// `alertmanager` or `webhook`.
        kind: &'static str,
        /// The URL, credentials removed.
        url: String,
        /// The file.
        path: PathBuf,
        /// The operating system's error, or that it is empty.
        problem: String,
    },
    /// A setting is zero or empty where it cannot be.
    #[error("alert delivery: {0}")]
    BadSetting(&'static str),
    /// The operating system refused a worker thread.
    #[error("alert delivery: cannot start a worker thread: {0}")]
    Thread(String),
}

impl NotifyConfig {
    /// The settings that are not per receiver, checked.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what| Err(ConfigError::BadSetting(what));
        if self.queue_capacity == 0 {
            return bad("queue_capacity must be at least 1");
        }
        if self.timeout.is_zero() {
            return bad("timeout must be more than 0");
        }
        if self.resend_delay.is_zero() {
            return bad("resend_delay must be more than 0");
        }
        if self.repeat_interval.is_zero() {
            return bad("repeat_interval must be more than 0");
        }
        let external = self.external_url.as_str();
        if !(external.starts_with("http://") || external.starts_with("https://"))
            || external
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return bad("external_url must be an http:// or https:// URL");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_reads_from_its_config_table_and_hides_its_secrets() {
        let config: ReceiverConfig = serde_json::from_value(serde_json::json!({
            "url": "http://am:9093",
            "basic_auth": {"username": "rockscope", "password": "hunter2"},
        }))
        .unwrap();
        let basic = config.basic_auth.as_ref().unwrap();
        assert_eq!(
            (basic.username.as_str(), basic.password.expose()),
            ("rockscope", "hunter2")
        );
        assert!(!format!("{config:?}").contains("hunter2"));
        let unknown = serde_json::from_value::<ReceiverConfig>(serde_json::json!({
            "url": "http://am:9093", "bearer": "x",
        }));
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown field `bearer`")
        );
    }

    #[test]
    fn zero_settings_are_refused() {
        let ok = NotifyConfig::default();
        assert_eq!(ok.validate(), Ok(()));
        for (config, word) in [
            (
                NotifyConfig {
                    timeout: Duration::ZERO,
                    ..ok.clone()
                },
                "timeout",
            ),
            (
                NotifyConfig {
                    resend_delay: Duration::ZERO,
                    ..ok.clone()
                },
                "resend_delay",
            ),
            (
                NotifyConfig {
                    repeat_interval: Duration::ZERO,
                    ..ok.clone()
                },
                "repeat_interval",
            ),
            (
                NotifyConfig {
                    external_url: "rockscope:8080".into(),
                    ..ok.clone()
                },
                "external_url",
            ),
        ] {
            let err = config.validate().unwrap_err();
            assert!(err.to_string().contains(word), "{err}");
        }
    }
}
