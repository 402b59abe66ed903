//! The evaluator's tests over whole rule sets, and their fixtures: a healthy cluster (3 FEs,
//! 3 BEs, 1 CN) run tick by tick through `evaluate` as the collector would.
//!
//! * `builtins`: every built-in rule fires on its fault and resolves when healed; a healthy
//!   cluster stays quiet; the docs list the catalogue as it is;
//! * `lifecycle`: `for`, `keep_firing_for`, resolution, retention, windows, counter resets,
//!   aggregations, labels, fingerprints, replay;
//! * `rules`: bad rules, overrides, lookback, the rule file under promtool, the field tables;
//! * `custom`: rules over custom metrics (issue 16): life cycle, absence, validation, replay,
//!   the rule file.

mod builtins;
mod custom;
mod lifecycle;
mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rockscope_model::{
    Alert, AlertEvent, AlertState, MetricsSnapshot, NodeKind, NodeSnapshot, RuleOverride, RuleSpec,
    Severity,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{ClusterView, Frame, RuleSet, check_rule, evaluate, fingerprint, replay};

const INTERVAL: Duration = Duration::from_secs(30);

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_083_200).unwrap() // 2026-12-01T00:00:00Z
}

fn at(tick: usize) -> OffsetDateTime {
    t0() + INTERVAL * u32::try_from(tick).unwrap()
}

fn merge(mut base: Value, patch: &Value) -> Value {
    if let (Some(base), Some(patch)) = (base.as_object_mut(), patch.as_object()) {
        for (key, value) in patch {
            base.insert(key.clone(), value.clone());
        }
    }
    base
}

/// A healthy cluster's snapshot at `tick`, with `patch` applied.
fn snapshot(tick: usize, patch: &Value) -> MetricsSnapshot {
    let healthy = json!({
        "cluster_id": 7, "collected_at": "2026-12-01T00:00:00Z",
        "scrape_nodes_total": 7, "scrape_nodes_ok": 7, "scrape_fe_ok": 3, "scrape_be_ok": 4,
        "scrape_skipped_lines": 0, "rates_from_gauges": false, "source_errors": [],
        "qps": 100.0, "fe_connections": 50, "query_latency_p95": 200.0,
        "query_error_per_second": 0.0, "query_internal_error_interval": 0,
        "max_compaction_score": 10.0, "meta_log_count": 20000,
        "txn_begin_interval": 100, "txn_failed_interval": 0, "txn_running_max_db": 10,
        "routine_load_max_lag": 1000, "routine_load_need_schedule": 0,
        "routine_load_paused": 0, "routine_load_unstable": 0,
        "compaction_cumulative_failed_interval": 0, "compaction_base_failed_interval": 0,
        "schema_change_failed_interval": 0, "clone_failed_interval": 0,
        "query_error": 1000,
    });
    let mut snapshot: MetricsSnapshot =
        serde_json::from_value(merge(healthy, patch)).expect("test snapshot");
    snapshot.collected_at = at(tick);
    snapshot
}

/// The healthy nodes (3 FEs, 3 BEs, 1 CN) at `tick`; `patch(kind, index)` changes one.
fn nodes(tick: usize, patch: &dyn Fn(NodeKind, usize) -> Value) -> Vec<NodeSnapshot> {
    let mut out = Vec::new();
    for (kind, count, subnet, port) in [
        (NodeKind::Fe, 3, 1, 8030),
        (NodeKind::Be, 3, 2, 8040),
        (NodeKind::Cn, 1, 3, 8040),
    ] {
        for index in 0..count {
            let healthy = json!({
                "cluster_id": 7, "collected_at": "2026-12-01T00:00:00Z",
                "node_type": kind.as_str(), "node_id": format!("{}{index}", kind.as_str()),
                "host": format!("10.0.{subnet}.{index}"), "http_port": port,
                "alive": true, "decommissioned": false, "scrape_ok": true,
                "cpu_usage_pct": 40.0, "memory_usage_pct": 50.0, "disk_usage_pct": 50.0,
                "fullest_disk_path": "/data1", "fullest_disk_path_usage_pct": 55.0,
                "disk_io_util_pct": 20.0, "max_tablet_rowset_num": 50,
                "jvm_thread_count": 500, "jvm_heap_usage_pct": 50.0,
            });
            let mut node: NodeSnapshot =
                serde_json::from_value(merge(healthy, &patch(kind, index))).expect("test node");
            node.collected_at = at(tick);
            out.push(node);
        }
    }
    out
}

/// What a tick of a scenario stores.
#[derive(Clone, Copy, PartialEq)]
enum Stored {
    /// A snapshot.
    Snapshot,
    /// Nothing: a failed cycle.
    FailedCycle,
    /// Nothing, and no cycle ran (the collector is stuck).
    NoCycle,
}

/// A cluster run tick by tick through the evaluator, as the collector would.
struct Run {
    rules: RuleSet,
    snapshots: Vec<MetricsSnapshot>,
    nodes: Vec<NodeSnapshot>,
    failed_cycles: u32,
    alerts: Vec<Alert>,
    events: Vec<AlertEvent>,
    tick: usize,
}

impl Run {
    fn new(rules: RuleSet) -> Run {
        Run {
            rules,
            snapshots: Vec::new(),
            nodes: Vec::new(),
            failed_cycles: 0,
            alerts: Vec::new(),
            events: Vec::new(),
            tick: 0,
        }
    }

    fn step(&mut self, stored: Stored, cluster: &Value, node: &dyn Fn(NodeKind, usize) -> Value) {
        let now = at(self.tick);
        match stored {
            Stored::Snapshot => {
                self.snapshots.push(snapshot(self.tick, cluster));
                self.nodes = nodes(self.tick, node);
                self.failed_cycles = 0;
            }
            Stored::FailedCycle => self.failed_cycles += 1,
            Stored::NoCycle => {}
        }
        let lookback = self.rules.lookback();
        let newest = self.snapshots.last().map(|s| s.collected_at);
        let start = self
            .snapshots
            .iter()
            .position(|s| newest.is_some_and(|n| n - s.collected_at <= lookback))
            .unwrap_or(self.snapshots.len());
        let view = ClusterView {
            cluster_id: 7,
            cluster_name: "prod",
            interval: INTERVAL,
            history: &self.snapshots[start..],
            nodes: &self.nodes,
            last_success_at: newest,
            failed_cycles: self.failed_cycles,
        };
        let evaluation = evaluate(&self.rules, &view, &self.alerts, now);
        self.alerts = evaluation.alerts;
        self.events.extend(evaluation.events);
        self.tick += 1;
    }

    fn healthy(&mut self, ticks: usize) {
        for _ in 0..ticks {
            self.step(Stored::Snapshot, &json!({}), &|_, _| json!({}));
        }
    }

    fn alert(&self, rule: &str) -> Option<&Alert> {
        self.alerts.iter().find(|a| a.rule == rule)
    }

    fn states(&self, rule: &str) -> Vec<AlertState> {
        self.events
            .iter()
            .filter(|e| e.rule == rule)
            .map(|e| e.state)
            .collect()
    }
}

fn defaults() -> RuleSet {
    RuleSet::build(&[], &[]).expect("built-in rules")
}

fn none(_: NodeKind, _: usize) -> Value {
    json!({})
}

fn user_rule(name: &str, expr: &str) -> RuleSpec {
    RuleSpec {
        name: name.to_owned(),
        expr: expr.to_owned(),
        for_duration: None,
        keep_firing_for: None,
        severity: None,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

/// Only the user's rules: every built-in switched off.
fn only(specs: &[RuleSpec]) -> RuleSet {
    only_with(specs, &crate::CustomNames::default())
}

/// [`only`], the rules reading the custom metrics of `custom`.
fn only_with(specs: &[RuleSpec], custom: &crate::CustomNames) -> RuleSet {
    let off: Vec<RuleOverride> = defaults()
        .rules()
        .iter()
        .map(|r| RuleOverride {
            name: r.name.clone(),
            enabled: Some(false),
            threshold: None,
            for_duration: None,
        })
        .collect();
    RuleSet::build_with(specs, &off, custom).expect("rules")
}

fn off_overrides(names: &[String]) -> Vec<RuleOverride> {
    names
        .iter()
        .map(|name| RuleOverride {
            name: name.clone(),
            enabled: Some(false),
            threshold: None,
            for_duration: None,
        })
        .collect()
}

/// Checks a rule file with `promtool check rules` (when installed): accepted, with `rules`
/// rules.
fn promtool_accepts(file: &str, rules: usize) {
    let promtool = std::path::Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        println!("NOTICE: /usr/bin/promtool is absent; the rule file was not checked by promtool");
        return;
    }
    let path = std::env::temp_dir().join(format!(
        "rockscope-rules-{}-{rules}.yml",
        std::process::id()
    ));
    std::fs::write(&path, file).unwrap();
    let output = std::process::Command::new(promtool)
        .arg("check")
        .arg("rules")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        output.status.success(),
        "promtool refused the file:\n{}{}\n{file}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = format!("SUCCESS: {rules} rules found");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&expected),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
