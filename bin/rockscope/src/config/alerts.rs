//! `[alerts]`: whether alerts are evaluated, where they are delivered, user rules and overrides
//! of the built-in ones. The rules themselves are checked by `rockscope-alerts`, so that
//! `check-config` refuses exactly what `serve` would.

use std::ops::RangeInclusive;
use std::time::Duration;

use rockscope_alerts::CustomNames;
use rockscope_model::{RuleOverride, RuleSpec};
use rockscope_notify::{NotifyConfig, ReceiverConfig};
use serde::{Deserialize, Serialize};

use super::{ConfigError, in_range};

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
    /// `[[alerts.alertmanagers]]`: Alertmanagers (API v2): `url`, and `bearer_token`,
    /// `bearer_token_file` or `basic_auth = { username, password }`.
    pub alertmanagers: Vec<ReceiverConfig>,
    /// `[[alerts.webhooks]]`: plain webhooks (Alertmanager's webhook JSON, version 4).
    pub webhooks: Vec<ReceiverConfig>,
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
    /// first); rules may read the `custom` metrics.
    pub fn validate(&self, custom: &CustomNames) -> Result<(), ConfigError> {
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
        let external_url = self.external_url.as_deref().unwrap_or("http://localhost");
        rockscope_notify::check(&self.notify_config(external_url))
            .map_err(|e| ConfigError(format!("[alerts]: {e}")))?;
        rockscope_alerts::RuleSet::build_with(&self.rules, &self.overrides, custom).map_err(
            |errors| {
                let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
                ConfigError(format!("[alerts]: {}", messages.join("; ")))
            },
        )?;
        Ok(())
    }
}

impl AlertsSettings {
    /// Delivery's settings; `bound_url` (`http://<address the API listens on>`) is the
    /// `generatorURL` base unless `external_url` is set.
    pub fn notify_config(&self, bound_url: &str) -> NotifyConfig {
        NotifyConfig {
            alertmanagers: self.alertmanagers.clone(),
            webhooks: self.webhooks.clone(),
            external_url: self
                .external_url
                .clone()
                .unwrap_or_else(|| bound_url.to_owned()),
            resend_delay: Duration::from_secs(self.resend_delay_secs),
            repeat_interval: Duration::from_secs(self.repeat_interval_secs),
            queue_capacity: self.queue_capacity,
            timeout: Duration::from_secs(self.timeout_secs),
        }
    }
}
