//! Validation, overrides, lookback, the rule file and the field tables.

use super::*;

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
        RuleOverride {
            name: "StarRocksFeDown".into(),
            enabled: None,
            threshold: Some(1.0),
            for_duration: None,
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
    find(
        "StarRocksFeDown",
        "no threshold to override (its condition is `fe.alive == 0`)",
    );
    assert_eq!(errors.len(), 14, "{errors:#?}");

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
fn a_rule_reads_the_nodes_when_it_names_a_node_field() {
    for (expr, nodes) in [
        ("qps > 1", false),
        ("avg_over_time(qps[1h]) > 1", false),
        ("be.disk_usage_pct > 90", true),
        ("max(be.disk_usage_pct) > 90", true),
        ("count(fe.alive) < 3", true),
        ("collector.failed_cycles >= 3", false),
    ] {
        let rule = check_rule(&user_rule("R", expr)).unwrap();
        assert_eq!(rule.reads_nodes(), nodes, "{expr}");
    }
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
        "expr: \"(rockscope_node_cpu_usage_ratio{node_type=~\\\"be|cn\\\"} * 100) > 90\"",
        "expr: \"(sum_over_time(rockscope_cluster_transactions_failed_last_interval[5m]) / sum_over_time(rockscope_cluster_transactions_begun_last_interval[5m]) * 100 > 5) and sum_over_time(rockscope_cluster_transactions_begun_last_interval[5m]) > 0\"",
        "expr: \"((rockscope_cluster_queries_per_second - (rockscope_cluster_queries_per_second offset 1m)) / (rockscope_cluster_queries_per_second offset 1m) * 100 > 100) and (rockscope_cluster_queries_per_second offset 1m) > 0\"",
        "expr: \"rockscope_cluster_failed_cycles >= 3\"",
        "expr: \"count by (cluster) (rockscope_node_alive{node_type=\\\"fe\\\"}) != 3\"",
        "expr: \"(rockscope_cluster_query_latency_p95_seconds * 1000) > 5000\"",
        "expr: \"rate(rockscope_cluster_queries_failed_total[5m]) > 1\"",
        "keep_firing_for: 5m",
        "team: \"dba \\\"core\\\"\"",
    ] {
        assert!(file.contains(expected), "missing {expected}\nin\n{file}");
    }
    assert!(
        !file.contains("StaleData"),
        "disabled rules are not exported"
    );

    promtool_accepts(&file, rules.rules().iter().filter(|r| r.enabled).count());
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
    let read = |name: &str| match crate::fields::lookup(
        crate::fields::Namespace::Cluster,
        name,
        &Default::default(),
    ) {
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
