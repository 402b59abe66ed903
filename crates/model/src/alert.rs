//! Alerts as the store keeps them, the API serves them and delivery sends them: one [`Alert`] per
//! rule and label set that is not inactive, one [`AlertEvent`] per state change (the history), and
//! a user rule as written ([`RuleSpec`]) or a built-in rule's override ([`RuleOverride`]).
//!
//! The evaluation that produces them is `rockscope-alerts`; this module is data only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How urgent an alert is; becomes the `severity` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look during working hours.
    Info,
    /// Needs attention soon.
    Warning,
    /// Needs attention now.
    Critical,
}

impl Severity {
    /// The lower-case name (as serialized): `info`, `warning`, `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// Where an alert is in Prometheus' life cycle. An inactive alert is not stored at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition holds, but not yet for the rule's `for`.
    Pending,
    /// The condition has held for `for` (or held within `keep_firing_for`).
    Firing,
    /// It fired and has cleared; kept for a while so that the resolution is delivered.
    Resolved,
}

impl AlertState {
    /// The lower-case name (as serialized): `pending`, `firing`, `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert instance: a rule's condition for one label set (the cluster, and the node or disk
/// path for per-node rules).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The rule's name, also the `alertname` label.
    pub rule: String,
    /// Alertmanager's fingerprint of `labels`: FNV-1a 64 over the sorted pairs, 16 hex digits.
    pub fingerprint: String,
    /// `alertname`, `cluster`, `severity`; `instance`, `node_type` (and e.g. `path`) for per-node
    /// rules; then the rule's own labels.
    pub labels: BTreeMap<String, String>,
    /// `summary`, `description`, `runbook` and the rule's own annotations, templates rendered.
    pub annotations: BTreeMap<String, String>,
    /// Pending, firing or resolved.
    pub state: AlertState,
    /// The rule's severity.
    pub severity: Severity,
    /// The value the condition compared at the last evaluation where it held.
    pub value: Option<f64>,
    /// When the condition started to hold (the start of `pending`).
    #[serde(with = "time::serde::rfc3339")]
    pub active_since: OffsetDateTime,
    /// When it went to firing.
    #[serde(with = "time::serde::rfc3339::option")]
    pub fired_at: Option<OffsetDateTime>,
    /// The last evaluation at which the condition held (for `keep_firing_for`).
    #[serde(with = "time::serde::rfc3339")]
    pub last_true_at: OffsetDateTime,
    /// The first evaluation, while firing, at which the condition no longer held (Prometheus'
    /// `KeepFiringSince`): `keep_firing_for` counts from it. `None` while the condition holds.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub keep_firing_since: Option<OffsetDateTime>,
    /// When it resolved.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// The last evaluation that updated it.
    #[serde(with = "time::serde::rfc3339")]
    pub evaluated_at: OffsetDateTime,
    /// When delivery last queued this alert (kept across restarts, so that a restart neither
    /// re-notifies nor forgets); the evaluator carries it over unchanged.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_sent_at: Option<OffsetDateTime>,
    /// The state it was in when last queued (`firing` or `resolved`).
    #[serde(default)]
    pub last_sent_state: Option<AlertState>,
}

/// One state change of an alert: a row of the alert history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The rule's name.
    pub rule: String,
    /// The alert's fingerprint (see [`Alert::fingerprint`]).
    pub fingerprint: String,
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The state entered.
    pub state: AlertState,
    /// The rule's severity.
    pub severity: Severity,
    /// The value at the change (`None` for a resolution without one).
    pub value: Option<f64>,
    /// When the change happened (the evaluation's time).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A user rule as written in `[[alerts.rules]]` or sent to `/api/alert-rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The rule's name (the `alertname`): `[A-Za-z][A-Za-z0-9_]*`, unique among all rules.
    pub name: String,
    /// The condition, e.g. `max(fe.jvm_heap_usage_pct) > 90` (grammar in `docs/ALERTS.md`).
    pub expr: String,
    /// How long the condition must hold before the alert fires, e.g. `5m` (default `0s`).
    #[serde(rename = "for", default)]
    pub for_duration: Option<String>,
    /// How long the alert keeps firing after the condition clears (default `0s`).
    #[serde(default)]
    pub keep_firing_for: Option<String>,
    /// The severity (default `warning`).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Extra labels (templates allowed in values).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations such as `summary` and `description` (templates allowed).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// A change to a built-in rule, by name, from `[[alerts.overrides]]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    /// The built-in rule's name.
    pub name: String,
    /// `false` switches the rule off.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A new threshold for the rule's comparison.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// A new pending duration, e.g. `10m`.
    #[serde(rename = "for", default)]
    pub for_duration: Option<String>,
}
