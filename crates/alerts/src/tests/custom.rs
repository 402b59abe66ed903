//! Rules over the operator's custom metrics (issue 16): `MetricsSnapshot.custom[name]` read
//! like any cluster field, a `per_node` definition's `NodeSnapshot.custom[name]` like a node
//! field.

use rockscope_model::CustomMetricSpec;

use super::*;
use crate::CustomNames;
use crate::check_rule_with;

fn definition(name: &str, per_node: bool) -> CustomMetricSpec {
    serde_json::from_value(json!({
        "name": name, "metric": "starrocks_be_storage_page_cache_hit_count",
        "node_types": ["be", "cn"], "aggregate": "sum", "per_node": per_node,
    }))
    .expect("definition")
}

/// `hit_ratio` (cluster only) and `cache_hits` (per node too).
fn custom() -> CustomNames {
    CustomNames::of(&[
        definition("hit_ratio", false),
        definition("cache_hits", true),
    ])
}

fn ratio(value: Option<f64>) -> Value {
    json!({ "custom": { "hit_ratio": value, "cache_hits": 10.0 } })
}

#[test]
fn a_rule_over_a_custom_metric_goes_pending_firing_resolved() {
    let mut spec = user_rule("CacheCold", "hit_ratio < 0.8");
    spec.for_duration = Some("1m".into());
    let mut run = Run::new(only_with(&[spec], &custom()));
    let state = |run: &Run| run.alert("CacheCold").map(|a| a.state);

    run.step(Stored::Snapshot, &ratio(Some(0.5)), &none);
    assert_eq!(state(&run), Some(AlertState::Pending));
    run.step(Stored::Snapshot, &ratio(Some(0.6)), &none);
    assert_eq!(state(&run), Some(AlertState::Pending));
    run.step(Stored::Snapshot, &ratio(Some(0.4)), &none);
    assert_eq!(state(&run), Some(AlertState::Firing));
    assert_eq!(run.alert("CacheCold").unwrap().value, Some(0.4));
    assert_eq!(
        run.alert("CacheCold").unwrap().annotations["summary"],
        "CacheCold on cluster prod: hit_ratio < 0.8 (value 0.4)"
    );
    run.step(Stored::Snapshot, &ratio(Some(0.95)), &none);
    assert_eq!(state(&run), Some(AlertState::Resolved));
    assert_eq!(
        run.states("CacheCold"),
        [
            AlertState::Pending,
            AlertState::Firing,
            AlertState::Resolved
        ]
    );
    assert_eq!(run.events.last().unwrap().value, Some(0.95));
}

#[test]
fn no_value_gives_no_alert_and_a_vanished_metric_resolves() {
    let rules = || {
        only_with(
            &[
                user_rule("CacheCold", "hit_ratio < 0.8"),
                user_rule("CacheColdAvg", "avg_over_time(hit_ratio[1m]) < 0.8"),
            ],
            &custom(),
        )
    };
    // Null (no node had the series) and absent (not defined that cycle) are no data, never 0.
    let mut run = Run::new(rules());
    run.step(Stored::Snapshot, &ratio(None), &none);
    run.step(Stored::Snapshot, &json!({}), &none);
    assert_eq!(run.alerts, Vec::new());
    assert_eq!(run.events, Vec::new());

    // Firing, then the definition is removed: no data, so the alert resolves (no panic).
    let mut run = Run::new(rules());
    run.step(Stored::Snapshot, &ratio(Some(0.1)), &none);
    assert_eq!(
        run.alert("CacheCold").map(|a| a.state),
        Some(AlertState::Firing)
    );
    for _ in 0..4 {
        run.step(Stored::Snapshot, &json!({}), &none);
    }
    assert_eq!(
        run.states("CacheCold"),
        [AlertState::Firing, AlertState::Resolved]
    );
    assert_eq!(
        run.states("CacheColdAvg"),
        [AlertState::Firing, AlertState::Resolved]
    );
    assert_eq!(run.events.last().unwrap().value, None);
}

#[test]
fn per_node_custom_values_are_node_fields() {
    let rules = only_with(
        &[
            user_rule("NodeCacheBusy", "be.cache_hits > 100"),
            user_rule("MostCacheBusy", "max(backend.cache_hits) > 100"),
        ],
        &custom(),
    );
    let mut run = Run::new(rules);
    let busy = |kind: NodeKind, index: usize| match (kind, index) {
        (NodeKind::Be, 1) => json!({ "custom": { "cache_hits": 150.0 } }),
        (NodeKind::Fe, _) => json!({}),
        _ => json!({ "custom": { "cache_hits": 20.0 } }),
    };
    run.step(Stored::Snapshot, &ratio(Some(0.9)), &busy);
    let node = run.alert("NodeCacheBusy").expect("one per-node alert");
    assert_eq!(node.labels["instance"], "10.0.2.1:8040");
    assert_eq!(node.labels["node_type"], "be");
    assert!(!node.labels.contains_key("path"));
    assert_eq!(node.value, Some(150.0));
    assert_eq!(
        run.alerts
            .iter()
            .filter(|a| a.rule == "NodeCacheBusy")
            .count(),
        1
    );
    assert_eq!(run.alert("MostCacheBusy").unwrap().value, Some(150.0));
}

fn problem(expr: &str, custom: &CustomNames) -> String {
    check_rule_with(&user_rule("R", expr), custom)
        .expect_err(expr)
        .problem
}

#[test]
fn validation_knows_the_custom_names_and_keeps_its_messages() {
    let custom = custom();
    // A typo of a built-in field: the same error with and without custom metrics.
    for typo in ["qpss > 5", "be.cpu_usage_pctt > 5", "disk_io_util_pct > 1"] {
        let without = check_rule(&user_rule("R", typo)).unwrap_err().problem;
        assert_eq!(problem(typo, &custom), without, "{typo}");
    }
    assert_eq!(
        problem("qpss > 5", &custom),
        "expr `qpss > 5`: unknown cluster field `qpss` (did you mean `qps`?)"
    );
    // Without the definition the name is unknown; with it, a typo is told its name.
    assert_eq!(
        problem("hit_ratio < 1", &CustomNames::default()),
        "expr `hit_ratio < 1`: unknown cluster field `hit_ratio`"
    );
    assert_eq!(
        problem("hit_ration < 1", &custom),
        "expr `hit_ration < 1`: unknown cluster field `hit_ration` (did you mean `hit_ratio`?)"
    );
    // A custom metric is a gauge: already a rate when defined with `rate = true`.
    assert!(problem("rate(hit_ratio[5m]) > 1", &custom).contains("needs a cumulative counter"));
    assert_eq!(
        problem("node.hit_ratio > 1", &custom),
        "expr `node.hit_ratio > 1`: custom metric `hit_ratio` has no node values (its definition \
         has `per_node = false`): write `hit_ratio` for the cluster's value, or define it with \
         `per_node = true`"
    );
    for expr in [
        "hit_ratio < 0.8",
        "max_over_time(hit_ratio[5m]) < 0.8",
        "change_pct(cache_hits[5m]) > 50",
        "ratio_over_time(cache_hits, hit_ratio[5m]) > 1",
        "fe.cache_hits > 1",
        "count(be.cache_hits) < 3",
    ] {
        let rule = check_rule_with(&user_rule("R", expr), &custom).expect(expr);
        assert_eq!(rule.condition(), expr);
    }
}

#[test]
fn rules_using_names_the_rules_that_read_a_custom_metric() {
    let rules = only_with(
        &[
            user_rule("A", "hit_ratio < 0.8"),
            user_rule("B", "ratio_over_time(cache_hits, hit_ratio[5m]) > 1"),
            user_rule("C", "max(be.cache_hits) > 1"),
            user_rule("D", "qps > 1"),
        ],
        &custom(),
    );
    assert_eq!(rules.rules_using("hit_ratio"), ["A", "B"]);
    assert_eq!(rules.rules_using("cache_hits"), ["B", "C"]);
    assert!(rules.rules_using("qps").is_empty());
    assert!(rules.rules_using("other").is_empty());
}

#[test]
fn replay_reads_the_stored_custom_values() {
    let rules = only_with(&[user_rule("CacheCold", "hit_ratio < 0.8")], &custom());
    let rule = &rules
        .rules()
        .iter()
        .find(|r| r.name == "CacheCold")
        .unwrap();
    let values = [Some(0.9), Some(0.5), Some(0.5), None, Some(0.95), Some(0.2)];
    let snapshots: Vec<MetricsSnapshot> = values
        .iter()
        .enumerate()
        .map(|(tick, value)| snapshot(tick, &ratio(*value)))
        .collect();
    let healthy = nodes(0, &none);
    let frames: Vec<Frame<'_>> = snapshots
        .iter()
        .map(|snapshot| Frame {
            snapshot,
            nodes: &healthy,
        })
        .collect();
    let summary: Vec<(AlertState, OffsetDateTime, Option<f64>)> =
        replay(rule, "prod", INTERVAL, &frames)
            .iter()
            .map(|e| (e.state, e.at, e.value))
            .collect();
    assert_eq!(
        summary,
        [
            (AlertState::Firing, at(1), Some(0.5)),
            (AlertState::Resolved, at(3), None),
            (AlertState::Firing, at(5), Some(0.2)),
        ]
    );
}

#[test]
fn the_rule_file_reads_rockscope_custom_series() {
    let user = [
        user_rule("CacheCold", "hit_ratio < 0.8"),
        user_rule("CacheColdLong", "avg_over_time(hit_ratio[10m]) < 0.8"),
        user_rule("NodeCacheBusy", "be.cache_hits > 100"),
    ];
    let rules = RuleSet::build_with(&user, &[], &custom()).unwrap();
    let file = crate::prometheus_rule_file(&rules);
    for expected in [
        "      - alert: \"CacheCold\"\n        expr: \"rockscope_custom_hit_ratio < 0.8\"\n",
        "expr: \"avg_over_time(rockscope_custom_hit_ratio[10m]) < 0.8\"",
        "      # NodeCacheBusy (rockscope: be.cache_hits > 100) reads a custom metric's node values, which /metrics does not export: left out\n",
    ] {
        assert!(file.contains(expected), "missing {expected}\nin\n{file}");
    }
    assert!(!file.contains("alert: \"NodeCacheBusy\""));
    // Every enabled rule but the left-out one.
    let written = rules.rules().iter().filter(|r| r.enabled).count() - 1;
    promtool_accepts(&file, written);
}
