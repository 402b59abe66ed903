//! Prometheus' alert life cycle over one cluster: [`evaluate`] turns the previous alerts and the
//! conditions at `now` into the next alerts and the state changes; [`replay`] runs one rule
//! over stored cycles.
//!
//! * true: inactive → pending (`active_since = now`; with `for` 0 straight to firing), pending →
//!   firing once `now − active_since ≥ for`, firing stays firing (`last_true_at = now`);
//! * false: pending → gone (no event, as Prometheus drops it), firing → resolved once
//!   `now − keep_firing_since ≥ keep_firing_for`, `keep_firing_since` being the first evaluation
//!   at which the condition no longer held (Prometheus' `KeepFiringSince`); a resolved alert is kept [`RESOLVED_RETENTION`] so
//!   that delivery sends the resolution; a condition that returns starts a new alert;
//! * an alert whose rule is gone or disabled resolves (firing) or disappears (pending).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use rockscope_model::{Alert, AlertEvent, AlertState, MetricsSnapshot, NodeSnapshot};
use time::OffsetDateTime;

use crate::rule::{Rule, RuleSet};
use crate::value::{self, Data};

/// How long a resolved alert stays in [`Evaluation::alerts`] (Prometheus' `resolvedRetention`).
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);

/// Snapshot data older than this many intervals counts as missing (and `StaleData` fires).
pub const STALE_AFTER_INTERVALS: u32 = 3;

/// In [`replay`], the most evaluations made inside one gap between stored cycles.
const MAX_GAP_EVALUATIONS: u32 = 10_000;

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
    let history: Vec<&MetricsSnapshot> = view.history.iter().collect();
    let enabled: Vec<&Rule> = rules.rules().iter().filter(|rule| rule.enabled).collect();
    let scope = Scope {
        cluster_id: view.cluster_id,
        cluster_name: view.cluster_name,
    };
    let data = fresh_data(
        view.interval,
        &history,
        view.nodes,
        view.failed_cycles,
        view.last_success_at,
        now,
    );
    step(&enabled, &scope, &data, previous)
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
/// would have made ("would this have fired last week?"). The rule is evaluated at each frame's
/// time over the frames before it; a gap of more than 1.5 intervals between frames is taken as
/// failed cycles, evaluated once per interval (so `ClusterUnreachable` and `StaleData` replay).
pub fn replay(
    rule: &Rule,
    cluster_name: &str,
    interval: Duration,
    frames: &[Frame<'_>],
) -> Vec<AlertEvent> {
    let Some(first) = frames.first() else {
        return Vec::new();
    };
    let rules = [rule];
    let scope = Scope {
        cluster_id: first.snapshot.cluster_id,
        cluster_name,
    };
    let lookback = rule.window() + crate::rule::LOOKBACK_SLACK;
    let snapshots: Vec<&MetricsSnapshot> = frames.iter().map(|f| f.snapshot).collect();
    let mut alerts: Vec<Alert> = Vec::new();
    let mut events = Vec::new();
    let mut start = 0;
    for (index, frame) in frames.iter().enumerate() {
        let at = frame.snapshot.collected_at;
        if let Some(before) = index.checked_sub(1).map(|i| &frames[i]) {
            let history = &snapshots[start..index];
            let last_success = Some(before.snapshot.collected_at);
            let mut tick = last_success.and_then(|t| t.checked_add(step_of(interval)));
            let mut failed = 1;
            let in_gap = |t: OffsetDateTime| {
                !interval.is_zero() && t.checked_add(step_of(interval / 2)).is_some_and(|m| m < at)
            };
            while let Some(now) = tick.filter(|t| in_gap(*t) && failed <= MAX_GAP_EVALUATIONS) {
                let data = fresh_data(interval, history, before.nodes, failed, last_success, now);
                let evaluation = step(&rules, &scope, &data, &alerts);
                alerts = evaluation.alerts;
                events.extend(evaluation.events);
                tick = now.checked_add(step_of(interval));
                failed += 1;
            }
        }
        while at - snapshots[start].collected_at > lookback {
            start += 1;
        }
        let data = fresh_data(
            interval,
            &snapshots[start..=index],
            frame.nodes,
            0,
            Some(at),
            at,
        );
        let evaluation = step(&rules, &scope, &data, &alerts);
        alerts = evaluation.alerts;
        events.extend(evaluation.events);
    }
    events
}

/// An interval as a step of time (saturating: intervals are seconds to a day).
fn step_of(interval: Duration) -> time::Duration {
    time::Duration::try_from(interval).unwrap_or(time::Duration::MAX)
}

/// The cluster an evaluation is about.
struct Scope<'a> {
    cluster_id: i64,
    cluster_name: &'a str,
}

/// The data an evaluation reads: the snapshots and nodes only while the newest snapshot is
/// fresh (no older than [`STALE_AFTER_INTERVALS`] intervals), so that a cluster that stopped
/// answering does not keep its last figures' alerts firing forever.
fn fresh_data<'a>(
    interval: Duration,
    history: &'a [&'a MetricsSnapshot],
    nodes: &'a [NodeSnapshot],
    failed_cycles: u32,
    last_success_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Data<'a> {
    let newest = history.last().map(|s| s.collected_at);
    let stale_after = interval
        .max(Duration::from_secs(1))
        .checked_mul(STALE_AFTER_INTERVALS)
        .unwrap_or(Duration::MAX);
    let fresh = newest.is_some_and(|at| now - at <= stale_after);
    Data {
        history: if fresh { history } else { &[] },
        nodes: if fresh { nodes } else { &[] },
        now,
        interval,
        failed_cycles,
        last_success_at: last_success_at.or(newest),
    }
}

/// One alert instance of a rule at this evaluation.
struct Instance {
    labels: BTreeMap<String, String>,
    fingerprint: String,
    value: f64,
    holds: bool,
}

/// The rule's instances at this evaluation: those whose condition holds, and, when the rule has
/// alerts from before (`all`), every instance with a value (the value of a resolution).
fn instances(rule: &Rule, scope: &Scope<'_>, data: &Data<'_>, all: bool) -> Vec<Instance> {
    let condition = &rule.compiled.condition;
    let per_node = condition.operand.per_node();
    value::samples(&condition.operand, data)
        .into_iter()
        .map(|sample| {
            (
                condition.cmp.holds(sample.value, condition.threshold),
                sample,
            )
        })
        .filter(|(holds, _)| *holds || all)
        .map(|(holds, sample)| {
            let mut labels = BTreeMap::new();
            labels.insert("alertname".to_owned(), rule.name.clone());
            labels.insert("cluster".to_owned(), scope.cluster_name.to_owned());
            labels.insert("severity".to_owned(), rule.severity.as_str().to_owned());
            if let (Some(node), Some(field)) = (sample.node, per_node) {
                labels.insert(
                    "instance".to_owned(),
                    format!("{}:{}", node.host, node.http_port),
                );
                labels.insert("node_type".to_owned(), node.node_type.as_str().to_owned());
                labels.insert("node".to_owned(), node.node_id.clone());
                if let (Some(name), Some(value)) =
                    (field.extra_label(), field.extra_label_value(node))
                {
                    labels.insert(name.to_owned(), value.to_owned());
                }
            }
            let own: Vec<(String, String)> = rule
                .compiled
                .labels
                .iter()
                .map(|(key, template)| (key.clone(), template.render(&labels, None)))
                .collect();
            labels.extend(own);
            Instance {
                fingerprint: crate::fingerprint(&labels),
                labels,
                value: sample.value,
                holds,
            }
        })
        .collect()
}

fn render_annotations(
    rule: &Rule,
    labels: &BTreeMap<String, String>,
    value: f64,
) -> BTreeMap<String, String> {
    rule.compiled
        .annotations
        .iter()
        .map(|(key, template)| (key.clone(), template.render(labels, Some(value))))
        .collect()
}

/// One evaluation of `rules` over `data`, from the previous alerts.
fn step(rules: &[&Rule], scope: &Scope<'_>, data: &Data<'_>, previous: &[Alert]) -> Evaluation {
    let now = data.now;
    let by_key: HashMap<(&str, &str), &Alert> = previous
        .iter()
        .map(|alert| ((alert.rule.as_str(), alert.fingerprint.as_str()), alert))
        .collect();
    let mut out = Evaluation::default();
    let mut handled: HashSet<(String, String)> = HashSet::new();
    let mut current_values: HashMap<(String, String), f64> = HashMap::new();
    let rules_with_alerts: HashSet<&str> = previous.iter().map(|a| a.rule.as_str()).collect();
    for rule in rules {
        let all = rules_with_alerts.contains(rule.name.as_str());
        for instance in instances(rule, scope, data, all) {
            let key = (rule.name.clone(), instance.fingerprint.clone());
            if !instance.holds {
                current_values.insert(key, instance.value);
                continue;
            }
            let before = by_key
                .get(&(rule.name.as_str(), instance.fingerprint.as_str()))
                .filter(|alert| alert.state != AlertState::Resolved);
            let annotations = render_annotations(rule, &instance.labels, instance.value);
            let mut alert = match before {
                Some(alert) => (*alert).clone(),
                None => Alert {
                    cluster_id: scope.cluster_id,
                    rule: rule.name.clone(),
                    fingerprint: instance.fingerprint.clone(),
                    labels: instance.labels.clone(),
                    annotations: BTreeMap::new(),
                    state: AlertState::Pending,
                    severity: rule.severity,
                    value: None,
                    active_since: now,
                    fired_at: None,
                    last_true_at: now,
                    resolved_at: None,
                    evaluated_at: now,
                    last_sent_at: None,
                    last_sent_state: None,
                    keep_firing_since: None,
                },
            };
            alert.labels = instance.labels;
            alert.annotations = annotations;
            alert.value = Some(instance.value);
            alert.last_true_at = now;
            alert.keep_firing_since = None;
            alert.evaluated_at = now;
            let held = (now - alert.active_since)
                .try_into()
                .unwrap_or(Duration::ZERO);
            let entered = if alert.state == AlertState::Pending && held >= rule.for_duration {
                alert.state = AlertState::Firing;
                alert.fired_at = Some(now);
                Some(AlertState::Firing)
            } else if before.is_none() {
                Some(AlertState::Pending)
            } else {
                None
            };
            if let Some(state) = entered {
                out.events
                    .push(event(&alert, state, Some(instance.value), now));
            }
            handled.insert(key);
            out.alerts.push(alert);
        }
    }
    for alert in previous {
        let key = (alert.rule.clone(), alert.fingerprint.clone());
        if handled.contains(&key) {
            continue;
        }
        let rule = rules.iter().find(|rule| rule.name == alert.rule);
        let since =
            |at: OffsetDateTime| -> Duration { (now - at).try_into().unwrap_or(Duration::ZERO) };
        match alert.state {
            AlertState::Pending => {}
            // As Prometheus: `keep_firing_for` counts from the first evaluation at which the
            // condition no longer held.
            AlertState::Firing
                if rule.is_some_and(|r| {
                    since(alert.keep_firing_since.unwrap_or(now)) < r.keep_firing_for
                }) =>
            {
                out.alerts.push(Alert {
                    evaluated_at: now,
                    keep_firing_since: Some(alert.keep_firing_since.unwrap_or(now)),
                    ..alert.clone()
                });
            }
            AlertState::Firing => {
                let value = current_values.get(&key).copied();
                let resolved = Alert {
                    state: AlertState::Resolved,
                    resolved_at: Some(now),
                    evaluated_at: now,
                    ..alert.clone()
                };
                out.events
                    .push(event(&resolved, AlertState::Resolved, value, now));
                out.alerts.push(resolved);
            }
            AlertState::Resolved => {
                if alert
                    .resolved_at
                    .is_some_and(|at| since(at) < RESOLVED_RETENTION)
                {
                    out.alerts.push(alert.clone());
                }
            }
        }
    }
    out
}

fn event(alert: &Alert, state: AlertState, value: Option<f64>, at: OffsetDateTime) -> AlertEvent {
    AlertEvent {
        cluster_id: alert.cluster_id,
        rule: alert.rule.clone(),
        fingerprint: alert.fingerprint.clone(),
        labels: alert.labels.clone(),
        state,
        severity: alert.severity,
        value,
        at,
    }
}
