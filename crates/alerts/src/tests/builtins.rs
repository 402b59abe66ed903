//! Every built-in rule against a cluster that breaks it.

use super::*;

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
        node_case(
            "StarRocksQueryErrors",
            |k, i| {
                if k == NodeKind::Fe && i == 1 {
                    json!({"query_error_per_second_15s": 0.5})
                } else {
                    json!({})
                }
            },
            FE1,
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

#[test]
fn docs_list_every_builtin_rule_as_it_is() {
    let docs = include_str!("../../../../docs/ALERTS.md");
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
