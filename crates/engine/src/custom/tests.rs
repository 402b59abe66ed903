use rockscope_promtext::{Mode, Parser};

use super::*;

fn spec(name: &str) -> CustomMetricSpec {
    CustomMetricSpec {
        name: name.to_owned(),
        metric: "starrocks_be_storage_page_cache_hit_count".to_owned(),
        matchers: "{}".to_owned(),
        node_types: vec!["be".to_owned(), "cn".to_owned()],
        aggregate: "sum".to_owned(),
        rate: true,
        ratio_of: None,
        unit: Some("ratio".to_owned()),
        description: None,
        per_node: false,
    }
}

fn error(spec: CustomMetricSpec) -> CustomMetricError {
    compile(&spec).expect_err("refused")
}

#[test]
fn the_contract_keys_deserialize() {
    let spec: CustomMetricSpec = serde_json::from_value(serde_json::json!({
        "name": "page_cache_hit_ratio",
        "metric": "starrocks_be_storage_page_cache_hit_count",
        "match": "{path=~\"/data[0-9]+\"}",
        "node_types": ["be", "cn"],
        "aggregate": "sum",
        "rate": true,
        "ratio_of": "page_cache_lookups",
        "unit": "ratio",
        "description": "hits per lookup",
    }))
    .expect("contract keys");
    let metric = compile(&spec).expect("valid");
    assert_eq!(metric.aggregate, Aggregate::Sum);
    assert_eq!(
        metric.node_types,
        NodeTypes {
            fe: false,
            be: true,
            cn: true
        }
    );
    assert_eq!(metric.matchers.len(), 1);
    assert_eq!(metric.ratio_of.as_deref(), Some("page_cache_lookups"));
    // `match` and `rate` may be left out.
    let minimal: CustomMetricSpec = serde_json::from_value(serde_json::json!({
        "name": "x", "metric": "m", "node_types": ["fe"], "aggregate": "leader",
    }))
    .expect("minimal");
    assert_eq!(minimal.matchers, "{}");
    assert!(!minimal.rate);
    assert!(compile(&minimal).expect("valid").matchers.is_empty());
}

#[test]
fn names_must_be_lowercase_identifiers() {
    for bad in ["", "1abc", "Abc", "a-b", "a b", "_a", "é"] {
        let e = error(spec(bad));
        assert!(
            matches!(&e, CustomMetricError::InvalidName { name } if name == bad),
            "{bad}: {e}"
        );
    }
    for good in ["a", "a1", "page_cache_hit_ratio", "x_"] {
        compile(&spec(good)).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
}

#[test]
fn a_built_in_field_name_is_refused() {
    let builtin = CLUSTER_FIELDS[0].name;
    let e = error(spec(builtin));
    assert!(matches!(e, CustomMetricError::BuiltinName { .. }), "{e}");
    assert!(e.to_string().contains("clashes with the built-in field"));
    assert!(e.to_string().contains(builtin));
    // A node field's name too (alert rules read a per_node value as `be.<name>`).
    let node_only = "cpu_usage_pct";
    assert!(!CLUSTER_FIELDS.iter().any(|f| f.name == node_only));
    let e = error(spec(node_only));
    assert!(matches!(e, CustomMetricError::BuiltinName { .. }), "{e}");
}

#[test]
fn duplicate_names_are_refused() {
    let e = compile_all(&[spec("a"), spec("b"), spec("a")]).expect_err("duplicate");
    assert!(
        matches!(&e, CustomMetricError::DuplicateName { name } if name == "a"),
        "{e}"
    );
}

#[test]
fn metric_must_be_a_metric_name() {
    let mut s = spec("a");
    s.metric = "starrocks be".to_owned();
    assert!(matches!(error(s), CustomMetricError::InvalidMetric { .. }));
}

#[test]
fn a_regex_that_does_not_compile_is_refused() {
    let mut s = spec("hits");
    s.matchers = r#"{path=~"/data[0-9"}"#.to_owned();
    let e = error(s);
    assert!(
        matches!(&e, CustomMetricError::Match { name, source: MatcherError::Regex { label, .. }, .. }
            if name == "hits" && label == "path"),
        "{e}"
    );
    assert!(e.to_string().contains("does not compile"), "{e}");
    // Only valid once wrapped in the anchoring group: refused, not silently changed.
    let mut s = spec("hits");
    s.matchers = r#"{path!~"a)|(b"}"#.to_owned();
    assert!(matches!(
        error(s),
        CustomMetricError::Match {
            source: MatcherError::Regex { .. },
            ..
        }
    ));
}

#[test]
fn malformed_selectors_are_refused_with_a_position() {
    for (text, at) in [
        ("", 0),
        ("path=\"a\"", 0),
        ("{path}", 5),
        ("{path==\"a\"}", 6),
        ("{path=a}", 6),
        ("{path=\"a\"", 9),
        ("{path=\"a\" x=\"b\"}", 10),
        ("{path=\"a\"} x", 11),
        ("{1a=\"b\"}", 1),
        ("{a=\"\\q\"}", 4),
    ] {
        let mut s = spec("a");
        s.matchers = text.to_owned();
        match error(s) {
            CustomMetricError::Match {
                source: MatcherError::Syntax { at: got, .. },
                ..
            } => assert_eq!(got, at, "{text}"),
            e => panic!("{text}: {e}"),
        }
    }
}

#[test]
fn node_types_must_be_fe_be_or_cn() {
    let mut s = spec("a");
    s.node_types = vec!["be".to_owned(), "broker".to_owned()];
    let e = error(s);
    assert!(
        matches!(&e, CustomMetricError::UnknownNodeType { node_type, .. } if node_type == "broker"),
        "{e}"
    );
    let mut s = spec("a");
    s.node_types.clear();
    assert!(matches!(error(s), CustomMetricError::NoNodeTypes { .. }));
}

#[test]
fn aggregate_is_one_of_six_and_leader_is_fe_only() {
    for good in ["sum", "avg", "min", "max", "count"] {
        let mut s = spec("a");
        s.aggregate = good.to_owned();
        compile(&s).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    let mut s = spec("a");
    s.aggregate = "median".to_owned();
    assert!(matches!(
        error(s),
        CustomMetricError::UnknownAggregate { .. }
    ));
    let mut s = spec("a");
    s.aggregate = "leader".to_owned();
    assert!(matches!(
        error(s.clone()),
        CustomMetricError::LeaderNotFe { .. }
    ));
    s.node_types = vec!["fe".to_owned(), "be".to_owned()];
    assert!(matches!(
        error(s.clone()),
        CustomMetricError::LeaderNotFe { .. }
    ));
    s.node_types = vec!["fe".to_owned()];
    assert_eq!(compile(&s).expect("fe leader").aggregate, Aggregate::Leader);
}

#[test]
fn ratio_of_must_name_another_definition() {
    let mut s = spec("hits");
    s.ratio_of = Some("hits".to_owned());
    let e = error(s.clone());
    assert!(matches!(e, CustomMetricError::RatioOfItself { .. }), "{e}");
    assert!(e.to_string().contains("itself"));
    s.ratio_of = Some("lookups".to_owned());
    let e = compile_all(std::slice::from_ref(&s)).expect_err("unknown");
    assert!(
        matches!(&e, CustomMetricError::RatioOfUnknown { ratio_of, .. } if ratio_of == "lookups"),
        "{e}"
    );
    let list = compile_all(&[s, spec("lookups")]).expect("resolved");
    assert_eq!(list.len(), 2);
}

#[test]
fn rate_on_a_gauge_warns_and_is_accepted() {
    let metric = compile(&spec("hits")).expect("accepted");
    let warning = rate_warning(&metric, Some(MetricType::Gauge)).expect("warns");
    assert!(warning.to_string().contains("rate on a gauge"), "{warning}");
    assert_eq!(rate_warning(&metric, Some(MetricType::Counter)), None);
    assert_eq!(rate_warning(&metric, None), None);
    let mut no_rate = spec("hits");
    no_rate.rate = false;
    let metric = compile(&no_rate).expect("accepted");
    assert_eq!(rate_warning(&metric, Some(MetricType::Gauge)), None);
}

/// Which of a body's `starrocks_be_disks_data_used_capacity` series `selector` selects, by path.
fn selected(selector: &str) -> Vec<String> {
    let body = b"# TYPE starrocks_be_disks_data_used_capacity gauge\n\
        starrocks_be_disks_data_used_capacity{path=\"/data1\"} 1\n\
        starrocks_be_disks_data_used_capacity{path=\"/data12\"} 2\n\
        starrocks_be_disks_data_used_capacity{path=\"/mnt/data1\"} 3\n\
        starrocks_be_disks_data_used_capacity{path=\"/data1\",medium=\"SSD\"} 4\n\
        starrocks_be_disks_data_used_capacity 5\n";
    let mut s = spec("a");
    s.matchers = selector.to_owned();
    let metric = compile(&s).expect("valid");
    Parser::new(body, Mode::Strict)
        .map(|sample| sample.expect("valid body"))
        .filter(|sample| metric.selects(|l| sample.label(l)))
        .map(|sample| format!("{}", sample.value))
        .collect()
}

#[test]
fn matcher_semantics_follow_prometheus() {
    assert_eq!(selected("{}"), ["1", "2", "3", "4", "5"]);
    assert_eq!(selected(r#"{path="/data1"}"#), ["1", "4"]);
    assert_eq!(selected(r#"{path!="/data1"}"#), ["2", "3", "5"]);
    // Anchored: `/data1` does not select `/data12` or `/mnt/data1`.
    assert_eq!(selected(r#"{path=~"/data1"}"#), ["1", "4"]);
    assert_eq!(selected(r#"{path=~"/data[0-9]+"}"#), ["1", "2", "4"]);
    assert_eq!(selected(r#"{path!~"/data[0-9]+"}"#), ["3", "5"]);
    // An absent label equals "".
    assert_eq!(selected(r#"{path=""}"#), ["5"]);
    assert_eq!(selected(r#"{medium=""}"#), ["1", "2", "3", "5"]);
    assert_eq!(selected(r#"{medium!=""}"#), ["4"]);
    assert_eq!(selected(r#"{medium=~"SSD|"}"#), ["1", "2", "3", "4", "5"]);
    assert_eq!(selected(r#"{medium!~".*"}"#), Vec::<String>::new());
    // Every matcher must hold; spaces, a trailing comma and single quotes are PromQL's.
    assert_eq!(selected(r#"{ path = "/data1" , medium = "SSD" , }"#), ["4"]);
    assert_eq!(selected("{path='/data12'}"), ["2"]);
    assert_eq!(selected(r"{path=~`/data\d`}"), ["1", "4"]);
}

#[test]
fn strings_take_prometheus_escapes() {
    let value = |selector: &str| -> String {
        match matchers::parse(selector).expect("valid").remove(0).op {
            MatchOp::Equal(s) => s,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(value(r#"{a="x\"y"}"#), "x\"y");
    assert_eq!(value(r#"{a="x\\y"}"#), "x\\y");
    assert_eq!(value(r#"{a="\n\t"}"#), "\n\t");
    assert_eq!(value(r#"{a="\u00e9\x41\101"}"#), "éAA");
    assert_eq!(value(r"{a='it\'s'}"), "it's");
    assert_eq!(value(r#"{a="é"}"#), "é");
    // A regex escape is the regex's: `\.` in a regex string is written `\\.`.
    let re = match matchers::parse(r#"{a=~"a\\.b"}"#)
        .expect("valid")
        .remove(0)
        .op
    {
        MatchOp::Regex(re) => re,
        other => panic!("{other:?}"),
    };
    assert!(re.is_match("a.b") && !re.is_match("axb"));
}
