//! Alert evaluation for rockscope: StarRocks' recommended rules (corrected) and user rules over
//! a cluster's snapshots, with Prometheus' alert life cycle (`for`, `keep_firing_for`,
//! resolution).
//!
//! Pure like the engine: no I/O and no clock. The caller passes the cluster's recent snapshots,
//! the newest node snapshots, the previous alert states and the evaluation time, and stores and
//! delivers what [`evaluate`] returns.
//!
//! SKELETON: the public API below is fixed; the bodies are being written.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use rockscope_model::{
    Alert, AlertEvent, MetricsSnapshot, NodeSnapshot, RuleOverride, RuleSpec, Severity,
};
use time::OffsetDateTime;

/// A rule that could not be accepted, naming the rule and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("alert rule `{rule}`: {problem}")]
pub struct RuleError {
    /// The rule's name as given (or `#<index>` when it has none).
    pub rule: String,
    /// What is wrong, in words.
    pub problem: String,
}

/// One effective rule: built-in (possibly overridden) or the user's, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule's name, the `alertname`.
    pub name: String,
    /// Whether rockscope ships it.
    pub builtin: bool,
    /// `false` when switched off by an override.
    pub enabled: bool,
    /// The severity label.
    pub severity: Severity,
    /// Pending duration.
    pub for_duration: Duration,
    /// How long it keeps firing after the condition clears.
    pub keep_firing_for: Duration,
    /// Extra labels (templates).
    pub labels: BTreeMap<String, String>,
    /// Annotations (templates): `summary`, `description`, `runbook`, ….
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// The condition in words and symbols, e.g. `max over fe of jvm_heap_usage_pct > 90`.
    pub fn condition(&self) -> String {
        String::new()
    }
}

/// The effective rules: the built-in ones with overrides applied, then the user's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Builds and validates the rule set; every bad rule is reported, not only the first.
    pub fn build(user: &[RuleSpec], overrides: &[RuleOverride]) -> Result<RuleSet, Vec<RuleError>> {
        let _ = (user, overrides);
        Ok(RuleSet::default())
    }

    /// Every rule, enabled or not, built-in first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// How far back [`ClusterView::history`] must reach for every enabled rule's windows.
    pub fn lookback(&self) -> Duration {
        Duration::ZERO
    }
}

/// Validates one user rule alone (as the API does before storing it).
pub fn check_rule(spec: &RuleSpec) -> Result<Rule, RuleError> {
    Err(RuleError {
        rule: spec.name.clone(),
        problem: "not implemented".into(),
    })
}

/// What the evaluator sees of one cluster.
#[derive(Debug, Clone, Copy)]
pub struct ClusterView<'a> {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name (the `cluster` label).
    pub cluster_name: &'a str,
    /// The collection interval.
    pub interval: Duration,
    /// The cluster's snapshots within [`RuleSet::lookback`] of the newest, oldest first; the last
    /// one is the newest stored snapshot (empty when none is stored).
    pub history: &'a [MetricsSnapshot],
    /// The node snapshots of the newest snapshot.
    pub nodes: &'a [NodeSnapshot],
    /// When a cycle last stored a snapshot of this cluster.
    pub last_success_at: Option<OffsetDateTime>,
    /// Cycles in a row that stored no snapshot (0 after a success).
    pub failed_cycles: u32,
}

/// The result of one evaluation of one cluster.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Every alert that is not inactive after this evaluation (resolved ones are kept for a
    /// while so that their resolution is delivered); it replaces the previous set.
    pub alerts: Vec<Alert>,
    /// The state changes of this evaluation, for the history.
    pub events: Vec<AlertEvent>,
}

/// Evaluates every enabled rule for one cluster at `now`, given the alerts of the previous
/// evaluation (as stored).
pub fn evaluate(
    rules: &RuleSet,
    view: &ClusterView<'_>,
    previous: &[Alert],
    now: OffsetDateTime,
) -> Evaluation {
    let _ = (rules, view, previous, now);
    Evaluation::default()
}

/// One stored cycle for [`replay`]: a snapshot and its node snapshots.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The cluster snapshot.
    pub snapshot: &'a MetricsSnapshot,
    /// Its node snapshots.
    pub nodes: &'a [NodeSnapshot],
}

/// Replays one rule over stored cycles, oldest first, without notifying: the state changes it
/// would have made ("would this have fired last week?").
pub fn replay(
    rule: &Rule,
    cluster_name: &str,
    interval: Duration,
    frames: &[Frame<'_>],
) -> Vec<AlertEvent> {
    let _ = (rule, cluster_name, interval, frames);
    Vec::new()
}

/// The enabled rules as a Prometheus rule file (YAML) over the series rockscope exports at
/// `/metrics`, for `promtool check rules` and a Prometheus of the operator's own.
pub fn prometheus_rule_file(rules: &RuleSet) -> String {
    let _ = rules;
    String::new()
}

/// Alertmanager's fingerprint of a label set: FNV-1a 64 over the sorted `name 0xFF value 0xFF`
/// pairs, as 16 hex digits.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([0xff])
            .chain(value.bytes())
            .chain([0xff])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}
