//! `[alerts]`: whether alerts are evaluated, where they are delivered, user rules and overrides
//! of the built-in ones. The rules themselves are checked by `rockscope-alerts`, so that
//! `check-config` refuses exactly what `serve` would.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use rockscope_model::{RuleOverride, RuleSpec};
use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, in_range};

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsSettings {
    /// Whether rules are evaluated after each cycle.
    pub enabled: bool,
    /// rockscope's own base URL as receivers should link to it (`generatorURL`); defaults to
    /// `http://<server.host>:<server.port>`.
    pub external_url: Option<String>,
    /// Seconds between two sends of a firing alert to an Alertmanager (Prometheus: 60).
    pub resend_delay_secs: u64,
    /// Seconds between two notifications of a still-firing alert to a plain webhook
    /// (Alertmanager's `repeat_interval`: 4 h).
    pub repeat_interval_secs: u64,
    /// Days the alert history is kept.
    pub history_retention_days: u32,
    /// Notifications each receiver may hold while it is down; the oldest is dropped beyond.
    pub queue_capacity: usize,
    /// Seconds one delivery request may take.
    pub timeout_secs: u64,
    /// `[[alerts.alertmanagers]]`: Alertmanagers (API v2).
    pub alertmanagers: Vec<ReceiverSettings>,
    /// `[[alerts.webhooks]]`: plain webhooks (Alertmanager's webhook JSON, version 4).
    pub webhooks: Vec<ReceiverSettings>,
    /// `[[alerts.rules]]`: user rules.
    pub rules: Vec<RuleSpec>,
    /// `[[alerts.overrides]]`: built-in rules switched off or changed, by name.
    pub overrides: Vec<RuleOverride>,
}

impl Default for AlertsSettings {
    fn default() -> Self {
        AlertsSettings {
            enabled: true,
            external_url: None,
            resend_delay_secs: 60,
            repeat_interval_secs: 4 * 3600,
            history_retention_days: 30,
            queue_capacity: 1000,
            timeout_secs: 10,
            alertmanagers: Vec::new(),
            webhooks: Vec::new(),
            rules: Vec::new(),
            overrides: Vec::new(),
        }
    }
}

/// One receiver: an Alertmanager or a webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverSettings {
    /// `http://` or `https://` URL: an Alertmanager's base URL, or the webhook's full URL.
    pub url: String,
    /// A bearer token sent with every request.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// A file holding the bearer token (trimmed), instead of `bearer_token`.
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    /// Basic auth user.
    #[serde(default)]
    pub basic_auth_username: Option<String>,
    /// Basic auth password.
    #[serde(default)]
    pub basic_auth_password: Option<Secret>,
}

/// `alerts.resend_delay_secs`: ten seconds to an hour.
pub const RESEND_DELAY_SECS: RangeInclusive<u64> = 10..=3_600;
/// `alerts.repeat_interval_secs`: a minute to a week.
pub const REPEAT_INTERVAL_SECS: RangeInclusive<u64> = 60..=604_800;
/// `alerts.history_retention_days`: a day to ten years.
pub const HISTORY_RETENTION_DAYS: RangeInclusive<u64> = 1..=3_650;
/// `alerts.queue_capacity`: notifications held per receiver.
pub const QUEUE_CAPACITY: RangeInclusive<u64> = 1..=100_000;
/// `alerts.timeout_secs`: one delivery request.
pub const DELIVERY_TIMEOUT_SECS: RangeInclusive<u64> = 1..=300;

impl AlertsSettings {
    /// Checks every value, every receiver and every rule (all bad rules are named, not only the
    /// first).
    pub fn validate(&self) -> Result<(), ConfigError> {
        in_range(
            "alerts.resend_delay_secs",
            self.resend_delay_secs,
            &RESEND_DELAY_SECS,
        )?;
        in_range(
            "alerts.repeat_interval_secs",
            self.repeat_interval_secs,
            &REPEAT_INTERVAL_SECS,
        )?;
        in_range(
            "alerts.history_retention_days",
            u64::from(self.history_retention_days),
            &HISTORY_RETENTION_DAYS,
        )?;
        in_range(
            "alerts.queue_capacity",
            self.queue_capacity as u64,
            &QUEUE_CAPACITY,
        )?;
        in_range(
            "alerts.timeout_secs",
            self.timeout_secs,
            &DELIVERY_TIMEOUT_SECS,
        )?;
        if let Some(url) = &self.external_url {
            check_url("alerts.external_url", url)?;
        }
        let receivers = [
            ("alertmanagers", &self.alertmanagers),
            ("webhooks", &self.webhooks),
        ];
        for (kind, list) in receivers {
            for (i, receiver) in list.iter().enumerate() {
                receiver.validate(&format!("alerts.{kind}[{i}]"))?;
            }
        }
        rockscope_alerts::RuleSet::build(&self.rules, &self.overrides).map_err(|errors| {
            let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
            ConfigError(format!("[alerts]: {}", messages.join("; ")))
        })?;
        Ok(())
    }
}

impl ReceiverSettings {
    fn validate(&self, key: &str) -> Result<(), ConfigError> {
        check_url(&format!("{key}.url"), &self.url)?;
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(ConfigError(format!(
                "{key}: bearer_token and bearer_token_file are both set; give one of them"
            )));
        }
        let has_bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if has_bearer && self.basic_auth_username.is_some() {
            return Err(ConfigError(format!(
                "{key}: a bearer token and basic auth are both set; give one of them"
            )));
        }
        if self.basic_auth_password.is_some() && self.basic_auth_username.is_none() {
            return Err(ConfigError(format!(
                "{key}: basic_auth_password is set without basic_auth_username"
            )));
        }
        Ok(())
    }

    /// The bearer token from its value or its file (trimmed), if any.
    pub fn bearer_token(&self, key: &str) -> Result<Option<Secret>, ConfigError> {
        match (&self.bearer_token, &self.bearer_token_file) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map(|text| Some(Secret(text.trim().to_owned())))
                .map_err(|e| {
                    ConfigError(format!(
                        "{key}.bearer_token_file {}: cannot read it: {e}",
                        path.display()
                    ))
                }),
            (None, None) => Ok(None),
        }
    }
}

/// An `http://` or `https://` URL with a host, or an error naming the key. The value itself is
/// not repeated: it may carry credentials.
fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => Err(ConfigError(format!(
            "{key} must be an http:// or https:// URL with a host"
        ))),
    }
}
