//! The evaluator's tests over whole rule sets: every built-in rule fires on a cluster that
//! breaks it and resolves when it heals, a healthy cluster stays quiet, the life cycle's timing,
//! counter resets, labels and fingerprints, bad rules, replay and the exported rule file.

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

/// One built-in rule's breaking scenario.
struct Case {
    rule: &'static str,
    stored: Stored,
    /// The cluster patch at the i-th broken tick.
    cluster: fn(usize) -> Value,
    node: fn(NodeKind, usize) -> Value,
    /// Labels the alert must carry beyond alertname/cluster/severity.
    labels: &'static [(&'static str, &'static str)],
}

fn cluster_case(rule: &'static str, cluster: fn(usize) -> Value) -> Case {
    Case {
        rule,
        stored: Stored::Snapshot,
        cluster,
        node: none,
        labels: &[],
    }
}

fn node_case(
    rule: &'static str,
    node: fn(NodeKind, usize) -> Value,
    labels: &'static [(&'static str, &'static str)],
) -> Case {
    Case {
        rule,
        stored: Stored::Snapshot,
        cluster: |_| json!({}),
        node,
        labels,
    }
}

const BE0: &[(&str, &str)] = &[
    ("instance", "10.0.2.0:8040"),
    ("node_type", "be"),
    ("node", "be0"),
];
const FE1: &[(&str, &str)] = &[
    ("instance", "10.0.1.1:8030"),
    ("node_type", "fe"),
    ("node", "fe1"),
];

fn cases() -> Vec<Case> {
    vec![
        node_case(
            "StarRocksFeDown",
            |k, i| {
                if k == NodeKind::Fe && i == 1 {
                    json!({"alive": false, "scrape_ok": false})
                } else {
                    json!({})
                }
            },
            FE1,
        ),
        node_case(
            "StarRocksBackendDown",
            |k, i| {
                if k == NodeKind::Be && i == 0 {
                    json!({"alive": false, "scrape_ok": false})
                } else {
                    json!({})
                }
            },
            BE0,
        ),
        node_case(
            "StarRocksBeCpuHigh",
            |k, i| {
                if k == NodeKind::Be && i == 0 {
                    json!({"cpu_usage_pct": 95.0})
                } else {
                    json!({})
                }
            },
            BE0,
        ),
        node_case(
            "StarRocksBeMemoryHigh",
            |k, _| {
                if k == NodeKind::Cn {
                    json!({"memory_usage_pct": 95.0})
                } else {
                    json!({})
                }
            },
            &[
                ("instance", "10.0.3.0:8040"),
                ("node_type", "cn"),
                ("node", "cn0"),
            ],
        ),
        node_case(
            "StarRocksDiskIoBusy",
            |k, i| {
                if k == NodeKind::Be && i == 0 {
                    json!({"disk_io_util_pct": 97.0})
                } else {
                    json!({})
                }
            },
            BE0,
        ),
        node_case(
            "StarRocksDataDiskFull",
            |k, i| {
                if k == NodeKind::Be && i == 0 {
                    json!({"fullest_disk_path": "/data2", "fullest_disk_path_usage_pct": 93.0})
                } else {
                    json!({})
                }
            },
            &[
                ("instance", "10.0.2.0:8040"),
                ("node_type", "be"),
                ("path", "/data2"),
            ],
        ),
        node_case(
            "StarRocksDataDiskSpaceLow",
            |k, i| {
                if k == NodeKind::Be && i == 0 {
                    json!({"disk_usage_pct": 85.0})
                } else {
                    json!({})
                }
            },
            BE0,
        ),
        cluster_case(
            "StarRocksCumulativeCompactionFailures",
            |_| json!({"compaction_cumulative_failed_interval": 2}),
        ),
        cluster_case(
            "StarRocksBaseCompactionFailures",
            |_| json!({"compaction_base_failed_interval": 2}),
        ),
        cluster_case(
            "StarRocksCompactionScoreHigh",
            |_| json!({"max_compaction_score": 150.0}),
        ),
        cluster_case(
            "StarRocksCompactionScoreCritical",
            |_| json!({"max_compaction_score": 900.0}),
        ),
        node_case(
            "StarRocksTabletVersionsHigh",
            |k, i| {
                if k == NodeKind::Be && i == 0 {
                    json!({"max_tablet_rowset_num": 800})
                } else {
                    json!({})
                }
            },
            BE0,
        ),
        cluster_case(
            "StarRocksCheckpointFailure",
            |_| json!({"meta_log_count": 150_000}),
        ),
        node_case(
            "StarRocksFeThreadsHigh",
            |k, i| {
                if k == NodeKind::Fe && i == 1 {
                    json!({"jvm_thread_count": 3500})
                } else {
                    json!({})
                }
            },
            FE1,
        ),
        node_case(
            "StarRocksFeJvmHeapHigh",
            |k, i| {
                if k == NodeKind::Fe && i == 1 {
                    json!({"jvm_heap_usage_pct": 85.0})
                } else {
                    json!({})
                }
            },
            FE1,
        ),
        node_case(
            "StarRocksFeJvmHeapCritical",
            |k, i| {
                if k == NodeKind::Fe && i == 1 {
                    json!({"jvm_heap_usage_pct": 95.0})
                } else {
                    json!({})
                }
            },
            FE1,
        ),
        cluster_case(
            "StarRocksLoadFailureRatio",
            |_| json!({"txn_begin_interval": 100, "txn_failed_interval": 10}),
        ),
        cluster_case(
            "StarRocksRoutineLoadLag",
            |_| json!({"routine_load_max_lag": 400_000}),
        ),
        cluster_case(
            "StarRocksRoutineLoadNeedSchedule",
            |_| json!({"routine_load_need_schedule": 4}),
        ),
        cluster_case(
            "StarRocksRoutineLoadPaused",
            |_| json!({"routine_load_paused": 1}),
        ),
        cluster_case(
            "StarRocksRoutineLoadUnstable",
            |_| json!({"routine_load_unstable": 2}),
        ),
        cluster_case(
            "StarRocksDbTxnLimit",
            |_| json!({"txn_running_max_db": 950}),
        ),
        cluster_case(
            "StarRocksQueryLatencyHigh",
            |_| json!({"query_latency_p95": 6000.0}),
        ),
        cluster_case(
            "StarRocksQueryErrors",
            |_| json!({"query_error_per_second": 0.5}),
        ),
        cluster_case(
            "StarRocksQueryInternalErrors",
            |_| json!({"query_internal_error_interval": 6}),
        ),
        cluster_case(
            "StarRocksQueryOverload",
            |i| json!({"qps": 100.0 * 2f64.powi(i as i32 + 1)}),
        ),
        cluster_case(
            "StarRocksConnectionOverload",
            |i| json!({"fe_connections": 50 * 2i64.pow(i as u32 + 1)}),
        ),
        cluster_case(
            "StarRocksSchemaChangeFailures",
            |_| json!({"schema_change_failed_interval": 1}),
        ),
        cluster_case(
            "StarRocksCloneFailures",
            |_| json!({"clone_failed_interval": 1}),
        ),
        Case {
            rule: "ClusterUnreachable",
            stored: Stored::FailedCycle,
            cluster: |_| json!({}),
            node: none,
            labels: &[],
        },
        node_case(
            "NodeMetricsUnavailable",
            |k, i| {
                if k == NodeKind::Be && i == 0 {
                    json!({"scrape_ok": false, "cpu_usage_pct": null})
                } else {
                    json!({})
                }
            },
            BE0,
        ),
        Case {
            rule: "StaleData",
            stored: Stored::NoCycle,
            cluster: |_| json!({}),
            node: none,
            labels: &[],
        },
    ]
}

#[test]
fn every_builtin_compiles_and_has_a_case() {
    let rules = defaults();
    let names: BTreeSet<&str> = rules.rules().iter().map(|r| r.name.as_str()).collect();
    let covered: BTreeSet<&str> = cases().iter().map(|c| c.rule).collect();
    assert_eq!(names, covered);
    for rule in rules.rules() {
        assert!(rule.builtin && rule.enabled, "{}", rule.name);
        assert!(rule.item.is_some(), "{}", rule.name);
        for key in ["summary", "description", "runbook"] {
            assert!(
                rule.annotations.contains_key(key),
                "{} lacks {key}",
                rule.name
            );
        }
    }
}

#[test]
fn a_healthy_cluster_raises_nothing() {
    let mut run = Run::new(defaults());
    run.healthy(30);
    assert_eq!(run.alerts, Vec::new());
    assert_eq!(run.events, Vec::new());
}

#[test]
fn every_builtin_fires_on_its_fault_and_resolves_when_healed() {
    for case in cases() {
        let mut run = Run::new(defaults());
        run.healthy(12);
        for i in 0..14 {
            run.step(case.stored, &(case.cluster)(i), &case.node);
        }
        let alert = run
            .alert(case.rule)
            .unwrap_or_else(|| panic!("{} did not fire; alerts: {:?}", case.rule, run.alerts));
        assert_eq!(alert.state, AlertState::Firing, "{}", case.rule);
        assert_eq!(alert.labels["alertname"], case.rule);
        assert_eq!(alert.labels["cluster"], "prod");
        for (name, value) in case.labels {
            assert_eq!(
                alert.labels.get(*name).map(String::as_str),
                Some(*value),
                "{}: {name}",
                case.rule
            );
        }
        assert_eq!(alert.fingerprint, fingerprint(&alert.labels));
        let summary = &alert.annotations["summary"];
        assert!(
            summary.contains("prod") && !summary.contains("{{"),
            "{}: {summary}",
            case.rule
        );
        if let Some((_, instance)) = case.labels.iter().find(|(n, _)| *n == "instance") {
            assert!(summary.contains(instance), "{}: {summary}", case.rule);
        }
        run.healthy(12);
        let states = run.states(case.rule);
        assert_eq!(
            states.last(),
            Some(&AlertState::Resolved),
            "{}: {states:?}",
            case.rule
        );
        assert!(
            states.contains(&AlertState::Firing),
            "{}: {states:?}",
            case.rule
        );
        assert_eq!(
            run.alert(case.rule).map(|a| a.state),
            Some(AlertState::Resolved)
        );
    }
}

#[test]
fn only_collector_rules_fire_for_a_cluster_never_collected() {
    let rules = defaults();
    let view = ClusterView {
        cluster_id: 7,
        cluster_name: "prod",
        interval: INTERVAL,
        history: &[],
        nodes: &nodes(0, &|k, _| {
            if k == NodeKind::Fe {
                json!({"alive": false})
            } else {
                json!({})
            }
        }),
        last_success_at: None,
        failed_cycles: 5,
    };
    let evaluation = evaluate(&rules, &view, &[], at(10));
    let fired: Vec<&str> = evaluation.alerts.iter().map(|a| a.rule.as_str()).collect();
    assert_eq!(fired, ["ClusterUnreachable"]);
    assert_eq!(evaluation.alerts[0].value, Some(5.0));
    assert_eq!(evaluation.alerts[0].severity, Severity::Critical);
}

#[test]
fn stale_snapshots_count_as_missing_data() {
    // A BE at 95% CPU in a snapshot 4 intervals old: no CPU alert, but StaleData.
    let rules = defaults();
    let history = [snapshot(0, &json!({"max_compaction_score": 900.0}))];
    let view = ClusterView {
        cluster_id: 7,
        cluster_name: "prod",
        interval: INTERVAL,
        history: &history,
        nodes: &nodes(0, &|_, _| json!({"cpu_usage_pct": 95.0})),
        last_success_at: Some(at(0)),
        failed_cycles: 0,
    };
    let fired = |now| -> Vec<String> {
        evaluate(&rules, &view, &[], now)
            .alerts
            .into_iter()
            .map(|a| a.rule)
            .collect()
    };
    assert!(fired(at(3)).contains(&"StarRocksCompactionScoreCritical".to_owned()));
    assert_eq!(fired(at(4)), ["StaleData"]);
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
    RuleSet::build(specs, &off).expect("rules")
}

#[test]
fn for_keep_firing_for_resolution_and_retention_follow_prometheus() {
    let mut spec = user_rule("BusyCluster", "qps > 500");
    spec.for_duration = Some("1m".into());
    spec.keep_firing_for = Some("2m".into());
    let mut run = Run::new(only(&[spec]));
    let qps = |v: f64| json!({ "qps": v });
    let state = |run: &Run| run.alert("BusyCluster").map(|a| a.state);

    run.step(Stored::Snapshot, &qps(600.0), &none); // t0: pending
    assert_eq!(state(&run), Some(AlertState::Pending));
    let active_since = run.alert("BusyCluster").unwrap().active_since;
    assert_eq!(active_since, at(0));
    run.step(Stored::Snapshot, &qps(600.0), &none); // t30: still pending
    assert_eq!(state(&run), Some(AlertState::Pending));
    run.step(Stored::Snapshot, &qps(700.0), &none); // t60: held for 1m: firing
    assert_eq!(state(&run), Some(AlertState::Firing));
    assert_eq!(run.alert("BusyCluster").unwrap().value, Some(700.0));
    assert_eq!(run.alert("BusyCluster").unwrap().fired_at, Some(at(2)));
    run.step(Stored::Snapshot, &qps(100.0), &none); // t90: false, kept by keep_firing_for
    run.step(Stored::Snapshot, &qps(100.0), &none); // t120
    run.step(Stored::Snapshot, &qps(100.0), &none); // t150: 90 s since last true
    assert_eq!(state(&run), Some(AlertState::Firing));
    run.step(Stored::Snapshot, &qps(100.0), &none); // t180: 2m since last true: resolved
    assert_eq!(state(&run), Some(AlertState::Resolved));
    assert_eq!(run.alert("BusyCluster").unwrap().resolved_at, Some(at(6)));
    assert_eq!(
        run.states("BusyCluster"),
        [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved
        ]
    );
    let resolved = run.events.last().unwrap();
    assert_eq!((resolved.at, resolved.value), (at(6), Some(100.0)));

    // Kept for 15 minutes after resolution (30 ticks), then dropped.
    for _ in 0..29 {
        run.step(Stored::Snapshot, &qps(100.0), &none);
    }
    assert_eq!(state(&run), Some(AlertState::Resolved));
    run.step(Stored::Snapshot, &qps(100.0), &none); // t = resolved + 15m
    assert_eq!(state(&run), None);
    assert_eq!(run.events.len(), 3);
}

#[test]
fn a_pending_alert_that_clears_disappears_and_a_returning_condition_is_a_new_alert() {
    let mut spec = user_rule("BusyCluster", "qps > 500");
    spec.for_duration = Some("5m".into());
    let mut run = Run::new(only(&[spec]));
    run.step(Stored::Snapshot, &json!({"qps": 600.0}), &none);
    run.step(Stored::Snapshot, &json!({"qps": 100.0}), &none);
    assert_eq!(run.alerts, Vec::new());
    assert_eq!(run.states("BusyCluster"), [AlertState::Pending]);

    // Resolved, then true again within the retention: a new alert with a new active_since.
    let mut spec = user_rule("Busy", "qps > 500");
    spec.for_duration = Some("0s".into());
    let mut run = Run::new(only(&[spec]));
    run.step(Stored::Snapshot, &json!({"qps": 600.0}), &none);
    run.step(Stored::Snapshot, &json!({"qps": 100.0}), &none);
    run.step(Stored::Snapshot, &json!({"qps": 600.0}), &none);
    let alert = run.alert("Busy").unwrap();
    assert_eq!(
        (alert.state, alert.active_since, alert.resolved_at),
        (AlertState::Firing, at(2), None)
    );
    assert_eq!(
        run.states("Busy"),
        [AlertState::Firing, AlertState::Resolved, AlertState::Firing]
    );
}

#[test]
fn a_disabled_rule_resolves_its_firing_alerts() {
    let spec = user_rule("Busy", "qps > 500");
    let mut run = Run::new(only(std::slice::from_ref(&spec)));
    run.step(Stored::Snapshot, &json!({"qps": 600.0}), &none);
    let mut off = defaults()
        .rules()
        .iter()
        .map(|r| r.name.clone())
        .collect::<Vec<_>>();
    off.push("Busy".into());
    run.rules = RuleSet::build(&[], &off_overrides(&off[..off.len() - 1])).unwrap();
    run.step(Stored::Snapshot, &json!({"qps": 600.0}), &none);
    assert_eq!(
        run.states("Busy"),
        [AlertState::Firing, AlertState::Resolved]
    );
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

#[test]
fn increase_and_rate_count_a_counter_reset_as_a_restart() {
    let increase = user_rule("Errors", "increase(query_error[5m]) > 0");
    let rate = user_rule("ErrorRate", "rate(query_error[5m]) > 0");
    let mut run = Run::new(only(&[increase, rate]));
    // 100 → 110 → 120 → 5 (an FE restarted) → 15: 10 + 10 + 5 + 10 = 35 over 2 minutes.
    for value in [100, 110, 120, 5, 15] {
        run.step(Stored::Snapshot, &json!({ "query_error": value }), &none);
    }
    assert_eq!(run.alert("Errors").unwrap().value, Some(35.0));
    let rate = run.alert("ErrorRate").unwrap().value.unwrap();
    assert!((rate - 35.0 / 120.0).abs() < 1e-9, "{rate}");
    // A window that starts after the first sample still counts the growth into its first
    // sample from the one before it (like the `*_interval` fields).
    let mut run = Run::new(only(&[user_rule(
        "Recent",
        "increase(query_error[1m]) > 0",
    )]));
    for value in [100, 110, 130, 160] {
        run.step(Stored::Snapshot, &json!({ "query_error": value }), &none);
    }
    assert_eq!(run.alert("Recent").unwrap().value, Some(50.0));
}

#[test]
fn over_time_windows_and_ratios_read_only_their_window() {
    let rules = only(&[
        user_rule("Sum", "sum_over_time(clone_failed_interval[1m]) > 0"),
        user_rule("Avg", "avg_over_time(qps[1m]) > 0"),
        user_rule(
            "Ratio",
            "ratio_over_time(txn_failed_interval, txn_begin_interval[1m]) > 0",
        ),
        user_rule(
            "NoTxns",
            "ratio_over_time(txn_failed_interval, txn_begin_interval[1m]) >= 0",
        ),
    ]);
    let mut run = Run::new(rules);
    for (clone, qps, begin, failed) in [(5, 10.0, 10, 9), (1, 20.0, 10, 1), (2, 40.0, 30, 2)] {
        let patch = json!({"clone_failed_interval": clone, "qps": qps, "txn_begin_interval": begin, "txn_failed_interval": failed});
        run.step(Stored::Snapshot, &patch, &none);
    }
    // The window (now − 1m, now] holds the last two samples.
    assert_eq!(run.alert("Sum").unwrap().value, Some(3.0));
    assert_eq!(run.alert("Avg").unwrap().value, Some(30.0));
    assert_eq!(run.alert("Ratio").unwrap().value, Some(3.0 / 40.0 * 100.0));
    // No transactions: no ratio, so not even `>= 0` holds.
    let mut run = Run::new(only(&[user_rule(
        "NoTxns",
        "ratio_over_time(txn_failed_interval, txn_begin_interval[1m]) >= 0",
    )]));
    run.step(
        Stored::Snapshot,
        &json!({"txn_begin_interval": 0, "txn_failed_interval": 0}),
        &none,
    );
    assert_eq!(run.alerts, Vec::new());
}

#[test]
fn aggregations_over_nodes_give_one_cluster_alert() {
    let rules = only(&[
        user_rule("MaxCpu", "max(backend.cpu_usage_pct) > 0"),
        user_rule("AliveFes", "sum(fe.alive) < 3"),
        user_rule("Bes", "count(be.cpu_usage_pct) == 3"),
        user_rule("AvgHeap", "avg(fe.jvm_heap_usage_pct) > 0"),
    ]);
    let mut run = Run::new(rules);
    let patch = |k: NodeKind, i: usize| match (k, i) {
        (NodeKind::Cn, _) => json!({"cpu_usage_pct": 77.0}),
        (NodeKind::Fe, 0) => json!({"alive": false, "jvm_heap_usage_pct": 80.0}),
        _ => json!({}),
    };
    run.step(Stored::Snapshot, &json!({}), &patch);
    let value = |rule: &str| run.alert(rule).and_then(|a| a.value);
    assert_eq!(value("MaxCpu"), Some(77.0));
    assert_eq!(value("AliveFes"), Some(2.0));
    assert_eq!(value("Bes"), Some(3.0));
    assert_eq!(value("AvgHeap"), Some(60.0));
    let labels: Vec<&str> = run
        .alert("MaxCpu")
        .unwrap()
        .labels
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(labels, ["alertname", "cluster", "severity"]);
}

#[test]
fn per_node_alerts_carry_node_labels_and_stable_fingerprints() {
    let mut spec = user_rule("HotBackend", "backend.cpu_usage_pct > 30");
    spec.labels
        .insert("team".into(), "storage-{{ $labels.node_type }}".into());
    spec.annotations.insert(
        "summary".into(),
        "{{ $labels.team }}: {{ $labels.instance }} at {{ $value }}%".into(),
    );
    let mut run = Run::new(only(&[spec]));
    run.healthy(1);
    let first: Vec<Alert> = run.alerts.clone();
    assert_eq!(first.len(), 4, "3 BEs and 1 CN");
    run.healthy(1);
    let fingerprints = |alerts: &[Alert]| {
        alerts
            .iter()
            .map(|a| a.fingerprint.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(fingerprints(&first), fingerprints(&run.alerts));
    assert_eq!(fingerprints(&first).len(), 4);
    let cn = run
        .alerts
        .iter()
        .find(|a| a.labels["node_type"] == "cn")
        .unwrap();
    let expected: BTreeMap<String, String> = [
        ("alertname", "HotBackend"),
        ("cluster", "prod"),
        ("severity", "warning"),
        ("instance", "10.0.3.0:8040"),
        ("node_type", "cn"),
        ("node", "cn0"),
        ("team", "storage-cn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(cn.labels, expected);
    assert_eq!(cn.fingerprint, fingerprint(&expected));
    assert_eq!(
        cn.annotations["summary"],
        "storage-cn: 10.0.3.0:8040 at 40%"
    );
}

#[test]
fn fingerprint_is_alertmanagers_fnv1a() {
    assert_eq!(fingerprint(&BTreeMap::new()), "cbf29ce484222325");
    let labels: BTreeMap<String, String> = [
        ("severity", "critical"),
        ("alertname", "StarRocksFeDown"),
        ("cluster", "prod"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // Computed independently (Python, FNV-1a 64 over sorted `name 0xff value 0xff`).
    assert_eq!(fingerprint(&labels), "d90d1b4d20c0a45c");
}

fn problem(result: Result<RuleSet, Vec<crate::RuleError>>) -> Vec<(String, String)> {
    result
        .expect_err("must be refused")
        .into_iter()
        .map(|e| (e.rule, e.problem))
        .collect()
}

#[test]
fn every_bad_rule_is_reported_by_name() {
    let mut bad_for = user_rule("NegativeFor", "qps > 1");
    bad_for.for_duration = Some("-5m".into());
    let mut bad_template = user_rule("BadTemplate", "qps > 1");
    bad_template
        .annotations
        .insert("summary".into(), "{{ $labels.node }} {{ $valu }}".into());
    let mut cluster_label = user_rule("ClusterLabel", "qps > 1");
    cluster_label
        .annotations
        .insert("summary".into(), "{{ $labels.instance }}".into());
    let mut reserved = user_rule("Reserved", "qps > 1");
    reserved.labels.insert("cluster".into(), "x".into());
    let user = [
        user_rule("Typo", "qpss > 5"),
        user_rule("NanThreshold", "qps > NaN"),
        bad_for,
        bad_template,
        cluster_label,
        reserved,
        user_rule("Twice", "qps > 1"),
        user_rule("Twice", "qps > 2"),
        user_rule("StarRocksFeDown", "qps > 1"),
        user_rule("", "qps > 1"),
        user_rule("RateOfGauge", "rate(qps[5m]) > 1"),
    ];
    let overrides = [
        RuleOverride {
            name: "StarRocksFeDwn".into(),
            enabled: Some(false),
            threshold: None,
            for_duration: None,
        },
        RuleOverride {
            name: "StarRocksBeCpuHigh".into(),
            enabled: None,
            threshold: Some(f64::NAN),
            for_duration: None,
        },
        RuleOverride {
            name: "StarRocksBeCpuHigh".into(),
            enabled: None,
            threshold: None,
            for_duration: Some("soon".into()),
        },
    ];
    let errors = problem(RuleSet::build(&user, &overrides));
    let find = |rule: &str, words: &str| {
        assert!(
            errors.iter().any(|(r, p)| r == rule && p.contains(words)),
            "no error for `{rule}` containing `{words}` in {errors:#?}"
        );
    };
    find("Typo", "unknown cluster field `qpss` (did you mean `qps`?)");
    find("NanThreshold", "threshold `NaN` is not a finite number");
    find("NegativeFor", "`for`: `-5m` is not a duration");
    find("BadTemplate", "have no label `node`");
    find("ClusterLabel", "have no label `instance`");
    find("Reserved", "label `cluster` is set by rockscope");
    find("Twice", "duplicate name");
    find(
        "StarRocksFeDown",
        "clashes with the built-in rule `StarRocksFeDown`",
    );
    find("#9", "name `` is not valid");
    find("RateOfGauge", "needs a cumulative counter");
    find(
        "StarRocksFeDwn",
        "unknown built-in rule (did you mean `StarRocksFeDown`?)",
    );
    find("StarRocksBeCpuHigh", "not a finite number");
    find("StarRocksBeCpuHigh", "second override");
    assert_eq!(errors.len(), 13, "{errors:#?}");

    // The unknown template variable alone, through check_rule, with the rule's name.
    let mut spec = user_rule("Templ", "qps > 1");
    spec.annotations
        .insert("description".into(), "at {{ $valu }}".into());
    let error = check_rule(&spec).unwrap_err();
    assert_eq!(error.rule, "Templ");
    assert!(
        error
            .to_string()
            .starts_with("alert rule `Templ`: annotation `description`: template"),
        "{error}"
    );
}

#[test]
fn overrides_change_threshold_for_and_enabled() {
    let overrides = [
        RuleOverride {
            name: "StarRocksBeCpuHigh".into(),
            enabled: None,
            threshold: Some(80.0),
            for_duration: Some("0s".into()),
        },
        RuleOverride {
            name: "StaleData".into(),
            enabled: Some(false),
            threshold: None,
            for_duration: None,
        },
    ];
    let rules = RuleSet::build(&[user_rule("Mine", "qps > 1")], &overrides).unwrap();
    let rule = |name: &str| rules.rules().iter().find(|r| r.name == name).unwrap();
    assert_eq!(
        rule("StarRocksBeCpuHigh").condition(),
        "backend.cpu_usage_pct > 80"
    );
    assert_eq!(rule("StarRocksBeCpuHigh").for_duration, Duration::ZERO);
    assert!(!rule("StaleData").enabled);
    assert!(!rule("Mine").builtin);
    assert_eq!(rules.rules().last().unwrap().name, "Mine");

    let mut run = Run::new(rules);
    run.step(Stored::Snapshot, &json!({}), &|k, i| {
        if k == NodeKind::Be && i == 2 {
            json!({"cpu_usage_pct": 85.0})
        } else {
            json!({})
        }
    });
    assert_eq!(
        run.alert("StarRocksBeCpuHigh").map(|a| a.state),
        Some(AlertState::Firing)
    );
}

#[test]
fn lookback_covers_the_longest_enabled_window() {
    assert_eq!(
        defaults().lookback(),
        Duration::from_secs(5 * 60) + crate::LOOKBACK_SLACK
    );
    let rules = RuleSet::build(&[user_rule("Day", "increase(query_error[1d]) > 0")], &[]).unwrap();
    assert_eq!(
        rules.lookback(),
        Duration::from_secs(86_400) + crate::LOOKBACK_SLACK
    );
    let off = off_overrides(&["StarRocksLoadFailureRatio".to_owned()]);
    assert_eq!(
        RuleSet::build(&[], &off).unwrap().lookback(),
        Duration::from_secs(180) + crate::LOOKBACK_SLACK
    );
}

#[test]
fn replay_matches_live_evaluation_and_plays_gaps_as_failed_cycles() {
    let rules = defaults();
    let cpu = rules
        .rules()
        .iter()
        .find(|r| r.name == "StarRocksBeCpuHigh")
        .unwrap();
    let hot = |k: NodeKind, i: usize| {
        if k == NodeKind::Be && i == 0 {
            json!({"cpu_usage_pct": 99.0})
        } else {
            json!({})
        }
    };
    let snapshots: Vec<MetricsSnapshot> = (0..20).map(|t| snapshot(t, &json!({}))).collect();
    let node_sets: Vec<Vec<NodeSnapshot>> = (0..20)
        .map(|t| {
            if t < 14 {
                nodes(t, &hot)
            } else {
                nodes(t, &|_, _| json!({}))
            }
        })
        .collect();
    let frames: Vec<Frame<'_>> = snapshots
        .iter()
        .zip(&node_sets)
        .map(|(snapshot, nodes)| Frame { snapshot, nodes })
        .collect();
    let events = replay(cpu, "prod", INTERVAL, &frames);
    let summary: Vec<(AlertState, OffsetDateTime)> =
        events.iter().map(|e| (e.state, e.at)).collect();
    assert_eq!(
        summary,
        [
            (AlertState::Pending, at(0)),
            (AlertState::Firing, at(10)),
            (AlertState::Resolved, at(14))
        ]
    );
    assert_eq!(events[0].labels["instance"], "10.0.2.0:8040");

    // Ten minutes without a stored cycle between two frames: unreachable from the third
    // missing cycle, resolved when data returns.
    let unreachable = rules
        .rules()
        .iter()
        .find(|r| r.name == "ClusterUnreachable")
        .unwrap();
    let (before, after) = (snapshot(0, &json!({})), snapshot(20, &json!({})));
    let healthy = nodes(0, &|_, _| json!({}));
    let frames = [
        Frame {
            snapshot: &before,
            nodes: &healthy,
        },
        Frame {
            snapshot: &after,
            nodes: &healthy,
        },
    ];
    let events = replay(unreachable, "prod", INTERVAL, &frames);
    let summary: Vec<(AlertState, OffsetDateTime)> =
        events.iter().map(|e| (e.state, e.at)).collect();
    assert_eq!(
        summary,
        [(AlertState::Firing, at(3)), (AlertState::Resolved, at(20))]
    );
    assert_eq!(replay(unreachable, "prod", INTERVAL, &[]), Vec::new());
}

#[test]
fn rule_file_passes_promtool() {
    let mut labelled = user_rule("LabelledRule", "node.disk_usage_pct > 70");
    labelled.labels.insert("team".into(), "dba \"core\"".into());
    labelled.keep_firing_for = Some("5m".into());
    let user = [
        labelled,
        user_rule("CountRule", "count(fe.alive) != 3"),
        user_rule("RateRule", "rate(query_error[5m]) > 1"),
        user_rule("IncreaseRule", "increase(jvm_old_gc_count[1h]) > 10"),
        user_rule("MinRule", "min_over_time(qps[10m]) < 1"),
        user_rule("AgeRule", "collector.data_age_seconds > 600"),
    ];
    let rules = RuleSet::build(&user, &off_overrides(&["StaleData".to_owned()])).unwrap();
    let file = crate::prometheus_rule_file(&rules);
    for expected in [
        "      - alert: \"StarRocksFeDown\"\n        expr: \"rockscope_node_alive{node_type=\\\"fe\\\"} == 0\"\n        for: 30s\n",
        "expr: \"rockscope_node_cpu_usage_pct{node_type=~\\\"be|cn\\\"} > 90\"",
        "expr: \"(sum_over_time(rockscope_cluster_txn_failed_interval[5m]) / sum_over_time(rockscope_cluster_txn_begin_interval[5m]) * 100 > 5) and sum_over_time(rockscope_cluster_txn_begin_interval[5m]) > 0\"",
        "expr: \"((rockscope_cluster_qps - (rockscope_cluster_qps offset 1m)) / (rockscope_cluster_qps offset 1m) * 100 > 100) and (rockscope_cluster_qps offset 1m) > 0\"",
        "expr: \"rockscope_cluster_failed_cycles >= 3\"",
        "expr: \"count by (cluster) (rockscope_node_alive{node_type=\\\"fe\\\"}) != 3\"",
        "keep_firing_for: 5m",
        "team: \"dba \\\"core\\\"\"",
    ] {
        assert!(file.contains(expected), "missing {expected}\nin\n{file}");
    }
    assert!(
        !file.contains("StaleData"),
        "disabled rules are not exported"
    );

    let promtool = std::path::Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        println!("NOTICE: /usr/bin/promtool is absent; the rule file was not checked by promtool");
        return;
    }
    let path = std::env::temp_dir().join(format!("rockscope-rules-{}.yml", std::process::id()));
    std::fs::write(&path, &file).unwrap();
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
    let expected = format!(
        "SUCCESS: {} rules found",
        rules.rules().iter().filter(|r| r.enabled).count()
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&expected),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn field_tables_match_the_snapshots_serde_names() {
    // Discover the numeric fields from serde itself: a field that is null in a sparse snapshot
    // and accepts a number is numeric.
    fn numeric_keys(value: Value, accepts: impl Fn(Value) -> bool) -> BTreeSet<String> {
        let object = value.as_object().unwrap();
        object
            .iter()
            .filter(|(key, field)| match field {
                Value::Number(_) | Value::Bool(_) => true,
                Value::Null => {
                    let mut probe = value.clone();
                    probe[key.as_str()] = json!(7);
                    accepts(probe)
                }
                _ => false,
            })
            .map(|(key, _)| key.clone())
            .filter(|key| !["cluster_id", "http_port"].contains(&key.as_str()))
            .collect()
    }
    let sparse: MetricsSnapshot = serde_json::from_value(json!({
        "cluster_id": 1, "collected_at": "2026-12-01T00:00:00Z", "scrape_nodes_total": 0,
        "scrape_nodes_ok": 0, "scrape_fe_ok": 0, "scrape_be_ok": 0, "scrape_skipped_lines": 0,
        "rates_from_gauges": false, "source_errors": [],
    }))
    .unwrap();
    let cluster: BTreeSet<String> = crate::fields::cluster_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        cluster,
        numeric_keys(serde_json::to_value(&sparse).unwrap(), |v| {
            serde_json::from_value::<MetricsSnapshot>(v).is_ok()
        })
    );

    let node: NodeSnapshot = serde_json::from_value(json!({
        "cluster_id": 1, "collected_at": "2026-12-01T00:00:00Z", "node_type": "be", "node_id": "1",
        "host": "h", "http_port": 1, "alive": true, "decommissioned": false, "scrape_ok": true,
    }))
    .unwrap();
    let mut expected = numeric_keys(serde_json::to_value(&node).unwrap(), |v| {
        serde_json::from_value::<NodeSnapshot>(v).is_ok()
    });
    expected.insert("metrics_unavailable".to_owned()); // derived
    let names: BTreeSet<String> = crate::fields::node_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, expected);

    // And every table entry reads its own field.
    let full = snapshot(
        0,
        &json!({"meta_log_count": 123, "rates_from_gauges": true}),
    );
    let read = |name: &str| match crate::fields::lookup(crate::fields::Namespace::Cluster, name) {
        Ok(crate::fields::Field::Cluster(field)) => field.get(&full),
        _ => None,
    };
    assert_eq!(
        (
            read("meta_log_count"),
            read("rates_from_gauges"),
            read("qps")
        ),
        (Some(123.0), Some(1.0), Some(100.0))
    );
}

#[test]
fn docs_list_every_builtin_rule_as_it_is() {
    let docs = include_str!("../../../docs/ALERTS.md");
    for rule in defaults().rules() {
        let row = docs
            .lines()
            .find(|line| line.starts_with(&format!("| `{}` |", rule.name)))
            .unwrap_or_else(|| panic!("docs/ALERTS.md has no table row for {}", rule.name));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let for_text = crate::duration::format(rule.for_duration);
        assert_eq!(
            (cells[3], cells[4], cells[5]),
            (
                format!("`{}`", rule.condition()).as_str(),
                for_text.as_str(),
                rule.severity.as_str()
            ),
            "{}",
            rule.name
        );
        assert!(
            docs.contains(&format!("**`{}`**", rule.name)),
            "{} not described",
            rule.name
        );
    }
}
