//! The life cycle and the values rules compare.

use super::*;

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
    // keep_firing_for counts from the first false evaluation (Prometheus' KeepFiringSince).
    run.step(Stored::Snapshot, &qps(100.0), &none); // t90: first false, kept by keep_firing_for
    assert_eq!(
        run.alert("BusyCluster").unwrap().keep_firing_since,
        Some(at(3))
    );
    run.step(Stored::Snapshot, &qps(100.0), &none); // t120
    run.step(Stored::Snapshot, &qps(100.0), &none); // t150
    run.step(Stored::Snapshot, &qps(100.0), &none); // t180: 90 s since the first false
    assert_eq!(state(&run), Some(AlertState::Firing));
    run.step(Stored::Snapshot, &qps(100.0), &none); // t210: 2m since the first false: resolved
    assert_eq!(state(&run), Some(AlertState::Resolved));
    assert_eq!(run.alert("BusyCluster").unwrap().resolved_at, Some(at(7)));
    assert_eq!(
        run.states("BusyCluster"),
        [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved
        ]
    );
    let resolved = run.events.last().unwrap();
    assert_eq!((resolved.at, resolved.value), (at(7), Some(100.0)));

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
fn a_removed_or_disabled_rule_resolves_its_firing_alerts() {
    // A user rule removed from the configuration while it fires.
    let mut run = Run::new(only(&[user_rule("Busy", "qps > 500")]));
    run.step(Stored::Snapshot, &json!({"qps": 600.0}), &none);
    run.rules = only(&[]);
    run.step(Stored::Snapshot, &json!({"qps": 600.0}), &none);
    assert_eq!(
        run.states("Busy"),
        [AlertState::Firing, AlertState::Resolved]
    );

    // A built-in rule switched off by an override while it fires.
    let mut run = Run::new(defaults());
    let hot = json!({"max_compaction_score": 900.0});
    for _ in 0..3 {
        run.step(Stored::Snapshot, &hot, &none);
    }
    assert_eq!(
        run.states("StarRocksCompactionScoreCritical").last(),
        Some(&AlertState::Firing)
    );
    let off = off_overrides(&["StarRocksCompactionScoreCritical".to_owned()]);
    run.rules = RuleSet::build(&[], &off).unwrap();
    run.step(Stored::Snapshot, &hot, &none);
    assert_eq!(
        run.states("StarRocksCompactionScoreCritical").last(),
        Some(&AlertState::Resolved)
    );
    assert_eq!(
        run.alert("StarRocksCompactionScoreHigh").map(|a| a.state),
        Some(AlertState::Firing)
    );
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
fn a_condition_that_holds_again_restarts_keep_firing_for() {
    let mut spec = user_rule("BusyCluster", "qps > 500");
    spec.keep_firing_for = Some("1m".into());
    let mut run = Run::new(only(&[spec]));
    let qps = |v: f64| json!({ "qps": v });
    let alert = |run: &Run| run.alert("BusyCluster").cloned().unwrap();

    run.step(Stored::Snapshot, &qps(600.0), &none); // t0: firing (no `for`)
    run.step(Stored::Snapshot, &qps(100.0), &none); // t30: first false
    assert_eq!(alert(&run).keep_firing_since, Some(at(1)));
    run.step(Stored::Snapshot, &qps(600.0), &none); // t60: holds again
    assert_eq!(alert(&run).keep_firing_since, None);
    run.step(Stored::Snapshot, &qps(100.0), &none); // t90: first false again
    run.step(Stored::Snapshot, &qps(100.0), &none); // t120: 30 s since it
    assert_eq!(alert(&run).state, AlertState::Firing);
    run.step(Stored::Snapshot, &qps(100.0), &none); // t150: 1m since it: resolved
    assert_eq!(alert(&run).state, AlertState::Resolved);
    assert_eq!(alert(&run).resolved_at, Some(at(5)));
}
