//! The evaluation of custom metrics through `aggregate_with`, on handcrafted bodies with exact
//! numbers: per node the sum of the matching series, then the aggregate over the nodes that have
//! a value; rates per node across cycles; the leader; ratios; per-node values; warnings;
//! families; definition changes and old state.

use std::collections::BTreeMap;

use rockscope_model::{CustomMetricSpec, CycleInput, MetricsScrape, NodeKind, NodeRef, NodeScrape};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::custom::{CustomMetricWarning, CustomSet};
use crate::snapshot::{Aggregation, EngineState, aggregate_discovering, aggregate_with};

const T0: OffsetDateTime = datetime!(2025-06-01 12:00:00 UTC);

/// A definition reading `metric` with `aggregate` over `node_types`, no matcher, no rate.
fn def(name: &str, metric: &str, node_types: &[&str], aggregate: &str) -> CustomMetricSpec {
    CustomMetricSpec {
        name: name.to_owned(),
        metric: metric.to_owned(),
        matchers: "{}".to_owned(),
        node_types: node_types.iter().map(|t| (*t).to_owned()).collect(),
        aggregate: aggregate.to_owned(),
        rate: false,
        ratio_of: None,
        unit: None,
        description: None,
        per_node: false,
    }
}

fn be_def(name: &str, metric: &str, aggregate: &str) -> CustomMetricSpec {
    def(name, metric, &["be"], aggregate)
}

fn matching(mut spec: CustomMetricSpec, matchers: &str) -> CustomMetricSpec {
    spec.matchers = matchers.to_owned();
    spec
}

fn rate(mut spec: CustomMetricSpec) -> CustomMetricSpec {
    spec.rate = true;
    spec
}

fn per_node(mut spec: CustomMetricSpec) -> CustomMetricSpec {
    spec.per_node = true;
    spec
}

fn ratio_of(mut spec: CustomMetricSpec, of: &str) -> CustomMetricSpec {
    spec.ratio_of = Some(of.to_owned());
    spec
}

fn set(specs: Vec<CustomMetricSpec>) -> CustomSet {
    CustomSet::new(&specs).expect("valid definitions")
}

/// Node `n` of `kind` (host `10.0.<kind>.<n>`), its body fetched `secs` after [`T0`].
fn node(kind: NodeKind, n: u8, secs: i64, body: &str) -> NodeScrape {
    let (net, port) = match kind {
        NodeKind::Fe => (0, 8030),
        NodeKind::Be => (1, 8040),
        NodeKind::Cn => (2, 8040),
    };
    NodeScrape {
        node: NodeRef {
            kind,
            id: String::new(),
            host: format!("10.0.{net}.{n}"),
            http_port: port,
        },
        result: Ok(MetricsScrape {
            body: body.as_bytes().to_vec(),
            fetched_at: T0 + Duration::seconds(secs),
            duration_ms: 5,
        }),
    }
}

fn be(n: u8, secs: i64, body: &str) -> NodeScrape {
    node(NodeKind::Be, n, secs, body)
}

fn fe(n: u8, secs: i64, body: &str) -> NodeScrape {
    node(NodeKind::Fe, n, secs, body)
}

/// A cycle at `secs` after [`T0`] with only these scrapes (no node lists).
fn cycle(secs: i64, scrapes: Vec<NodeScrape>) -> CycleInput {
    CycleInput {
        cluster_id: 1,
        collected_at: T0 + Duration::seconds(secs),
        frontends: Ok(Vec::new()),
        backends: Ok(Vec::new()),
        compute_nodes: Ok(Vec::new()),
        runtime_info: None,
        scrapes,
        other_errors: Vec::new(),
    }
}

fn run(set: &CustomSet, scrapes: Vec<NodeScrape>) -> Aggregation {
    aggregate_with(&EngineState::default(), &cycle(0, scrapes), set)
}

fn value(a: &Aggregation, name: &str) -> Option<f64> {
    *a.snapshot
        .custom
        .get(name)
        .unwrap_or_else(|| panic!("{name} is in force, so it is in the map"))
}

/// The node snapshot of `host`'s custom values.
fn node_custom<'a>(a: &'a Aggregation, host: &str) -> &'a BTreeMap<String, f64> {
    &a.nodes
        .iter()
        .find(|n| n.host == host)
        .unwrap_or_else(|| panic!("no node {host}"))
        .custom
}

fn close(v: Option<f64>, want: f64) {
    let v = v.unwrap_or_else(|| panic!("expected {want}, got None"));
    assert!((v - want).abs() < 1e-9, "{v} vs {want}");
}

#[test]
fn a_gauge_over_backends_sum_avg_min_max_count() {
    let custom = set(vec![
        be_def("mem_sum", "starrocks_be_process_mem_bytes", "sum"),
        be_def("mem_avg", "starrocks_be_process_mem_bytes", "avg"),
        be_def("mem_min", "starrocks_be_process_mem_bytes", "min"),
        be_def("mem_max", "starrocks_be_process_mem_bytes", "max"),
        be_def("mem_count", "starrocks_be_process_mem_bytes", "count"),
    ]);
    let a = run(
        &custom,
        vec![
            // An FE body carrying the BE's series name is not read by a be-only definition.
            fe(1, 1, "starrocks_be_process_mem_bytes 1000000\n"),
            be(
                1,
                1,
                "# TYPE starrocks_be_process_mem_bytes gauge\nstarrocks_be_process_mem_bytes 10\n",
            ),
            be(2, 1, "starrocks_be_process_mem_bytes 25\n"),
            be(3, 1, "starrocks_be_process_mem_bytes 40\n"),
        ],
    );
    close(value(&a, "mem_sum"), 75.0);
    close(value(&a, "mem_avg"), 25.0);
    close(value(&a, "mem_min"), 10.0);
    close(value(&a, "mem_max"), 40.0);
    close(value(&a, "mem_count"), 3.0);
    assert_eq!(a.snapshot.custom.len(), 5);
    assert!(a.custom_warnings.is_empty());
    // Not per_node: no node keeps a value.
    assert!(a.nodes.iter().all(|n| n.custom.is_empty()));
}

#[test]
fn node_types_select_the_bodies_read() {
    let custom = set(vec![
        def("fe_threads", "jvm_thread", &["fe"], "sum"),
        def("any_threads", "jvm_thread", &["fe", "be", "cn"], "sum"),
        def("cn_threads", "jvm_thread", &["cn"], "sum"),
    ]);
    let body = "jvm_thread{type=\"count\"} 100\n";
    let a = run(
        &custom,
        vec![
            fe(1, 1, body),
            be(1, 1, "jvm_thread{type=\"count\"} 7\n"),
            node(NodeKind::Cn, 1, 1, "jvm_thread{type=\"count\"} 3\n"),
        ],
    );
    close(value(&a, "fe_threads"), 100.0);
    close(value(&a, "any_threads"), 110.0);
    close(value(&a, "cn_threads"), 3.0);
}

#[test]
fn a_series_absent_on_some_nodes_contributes_nothing() {
    let metric = "starrocks_be_page_cache_insert_count";
    let custom = set(vec![
        be_def("ins_sum", metric, "sum"),
        be_def("ins_avg", metric, "avg"),
        be_def("ins_min", metric, "min"),
        be_def("ins_count", metric, "count"),
    ]);
    let a = run(
        &custom,
        vec![
            be(1, 1, &format!("{metric} 30\n")),
            be(2, 1, "starrocks_be_process_mem_bytes 5\n"),
            be(3, 1, &format!("{metric} 50\n")),
            // A NaN sample is a missing one.
            be(4, 1, &format!("{metric} NaN\n")),
        ],
    );
    close(value(&a, "ins_sum"), 80.0);
    close(value(&a, "ins_avg"), 40.0);
    close(value(&a, "ins_min"), 30.0);
    close(value(&a, "ins_count"), 2.0);
}

#[test]
fn a_series_absent_on_every_node_is_none_never_zero() {
    let metric = "starrocks_be_no_such_series";
    let custom = set(vec![
        be_def("gone_sum", metric, "sum"),
        be_def("gone_avg", metric, "avg"),
        be_def("gone_max", metric, "max"),
        be_def("gone_count", metric, "count"),
        rate(be_def("gone_rate", metric, "sum")),
        ratio_of(be_def("gone_ratio", metric, "sum"), "gone_sum"),
        per_node(be_def("gone_node", metric, "sum")),
    ]);
    let a = run(
        &custom,
        vec![
            be(1, 1, "starrocks_be_process_mem_bytes 5\n"),
            be(2, 1, "starrocks_be_process_mem_bytes 6\n"),
        ],
    );
    // Every definition in force is in the map, each null.
    assert_eq!(a.snapshot.custom.len(), 7);
    for (name, v) in &a.snapshot.custom {
        assert_eq!(*v, None, "{name}");
    }
    assert!(a.nodes.iter().all(|n| n.custom.is_empty()));
    // No node at all: the same.
    let empty = run(&custom, Vec::new());
    assert_eq!(empty.snapshot.custom.get("gone_count"), Some(&None));
}

const DISKS: &str = "\
# TYPE starrocks_be_disks_data_used_capacity gauge
starrocks_be_disks_data_used_capacity{path=\"/data\"} 7
starrocks_be_disks_data_used_capacity{path=\"/data1\"} 100
starrocks_be_disks_data_used_capacity{path=\"/data2\"} 50
starrocks_be_disks_data_used_capacity{path=\"/data3\",tier=\"ssd\"} 1000
";

#[test]
fn label_matchers_with_prometheus_semantics() {
    let metric = "starrocks_be_disks_data_used_capacity";
    let m = |name: &str, matchers: &str| matching(be_def(name, metric, "sum"), matchers);
    let custom = set(vec![
        m("all", "{}"),
        m("eq", "{path=\"/data1\"}"),
        m("ne", "{path!=\"/data1\"}"),
        // Anchored: `/data` matches the whole value `/data` only, not `/data1`.
        m("re_anchored", "{path=~\"/data\"}"),
        m("re", "{path=~\"/data[12]\"}"),
        m("not_re", "{path!~\"/data[0-9]+\"}"),
        // An absent label is the empty string.
        m("no_tier", "{tier=\"\"}"),
        m("has_tier", "{tier!=\"\"}"),
        m("tier_re_empty", "{tier=~\"|hdd\"}"),
        m("both", "{path=~\"/data.*\", tier=\"ssd\"}"),
        m("none", "{path=\"/nowhere\"}"),
    ]);
    let a = run(&custom, vec![be(1, 1, DISKS), be(2, 1, DISKS)]);
    // Several matching series on one node are summed, then nodes are summed.
    close(value(&a, "all"), 2.0 * 1157.0);
    close(value(&a, "eq"), 2.0 * 100.0);
    close(value(&a, "ne"), 2.0 * 1057.0);
    close(value(&a, "re_anchored"), 2.0 * 7.0);
    close(value(&a, "re"), 2.0 * 150.0);
    close(value(&a, "not_re"), 2.0 * 7.0);
    close(value(&a, "no_tier"), 2.0 * 157.0);
    close(value(&a, "has_tier"), 2.0 * 1000.0);
    close(value(&a, "tier_re_empty"), 2.0 * 157.0);
    close(value(&a, "both"), 2.0 * 1000.0);
    assert_eq!(value(&a, "none"), None);
}

/// A BE body with the counter `starrocks_be_query_scan_rows` at `v`.
fn counter_body(v: f64) -> String {
    format!("# TYPE starrocks_be_query_scan_rows counter\nstarrocks_be_query_scan_rows {v}\n")
}

#[test]
fn a_rate_is_per_node_per_second_and_reset_safe() {
    let metric = "starrocks_be_query_scan_rows";
    let custom = set(vec![
        per_node(rate(be_def("scan_rows", metric, "sum"))),
        rate(be_def("scan_rows_avg", metric, "avg")),
        rate(be_def("scan_rows_count", metric, "count")),
    ]);
    let first = aggregate_with(
        &EngineState::default(),
        &cycle(
            0,
            vec![
                be(1, 1, &counter_body(1000.0)),
                be(2, 2, &counter_body(5000.0)),
            ],
        ),
        &custom,
    );
    // First cycle: no interval yet, so no rate (and no count of nodes with one).
    assert_eq!(value(&first, "scan_rows"), None);
    assert_eq!(value(&first, "scan_rows_count"), None);
    assert!(first.nodes.iter().all(|n| n.custom.is_empty()));
    // The raw values are kept for the next cycle.
    let kept = &first.state.nodes["be/10.0.1.1:8040"].custom;
    assert_eq!(kept.values().copied().collect::<Vec<_>>(), [1000.0]);
    // be1: +300 in 10 s; be2 restarted (5000 → 400): the new value is the increase, over its
    // own 20 s (scraped at 2 s, then 22 s).
    let second = aggregate_with(
        &first.state,
        &cycle(
            10,
            vec![
                be(1, 11, &counter_body(1300.0)),
                be(2, 22, &counter_body(400.0)),
            ],
        ),
        &custom,
    );
    close(value(&second, "scan_rows"), 30.0 + 20.0);
    close(value(&second, "scan_rows_avg"), 25.0);
    close(value(&second, "scan_rows_count"), 2.0);
    close(
        node_custom(&second, "10.0.1.1").get("scan_rows").copied(),
        30.0,
    );
    close(
        node_custom(&second, "10.0.1.2").get("scan_rows").copied(),
        20.0,
    );
    // Only per_node definitions land in the node snapshots.
    assert_eq!(node_custom(&second, "10.0.1.1").len(), 1);
    // A counter that holds still is a rate of 0, not a missing one.
    let third = aggregate_with(
        &second.state,
        &cycle(
            30,
            vec![
                be(1, 31, &counter_body(1300.0)),
                be(2, 42, &counter_body(400.0)),
            ],
        ),
        &custom,
    );
    close(value(&third, "scan_rows"), 0.0);
}

#[test]
fn a_rate_needs_the_node_s_previous_value() {
    let metric = "starrocks_be_query_scan_rows";
    let custom = set(vec![rate(be_def("scan_rows", metric, "sum"))]);
    let first = aggregate_with(
        &EngineState::default(),
        &cycle(0, vec![be(1, 1, &counter_body(100.0))]),
        &custom,
    );
    // be2 appears: it has no previous value, so only be1's rate counts.
    let second = aggregate_with(
        &first.state,
        &cycle(
            10,
            vec![
                be(1, 11, &counter_body(200.0)),
                be(2, 11, &counter_body(900.0)),
            ],
        ),
        &custom,
    );
    close(value(&second, "scan_rows"), 10.0);
    // be1's series vanished: be2 alone.
    let third = aggregate_with(
        &second.state,
        &cycle(
            20,
            vec![
                be(1, 21, "starrocks_be_process_mem_bytes 1\n"),
                be(2, 21, &counter_body(1000.0)),
            ],
        ),
        &custom,
    );
    close(value(&third, "scan_rows"), 10.0);
    assert!(third.state.nodes["be/10.0.1.1:8040"].custom.is_empty());
}

fn fe_body(meta_log_count: f64, leader: bool) -> String {
    let mut body = format!("starrocks_fe_meta_log_count {meta_log_count}\n");
    if leader {
        body.push_str("node_info{type=\"is_master\"} 1\n");
    }
    body
}

#[test]
fn leader_reads_the_leader_fe_only_and_follows_a_change() {
    let custom = set(vec![
        per_node(def(
            "meta_log",
            "starrocks_fe_meta_log_count",
            &["fe"],
            "leader",
        )),
        def(
            "meta_log_sum",
            "starrocks_fe_meta_log_count",
            &["fe"],
            "sum",
        ),
    ]);
    let first = run(
        &custom,
        vec![
            fe(1, 1, &fe_body(120_000.0, true)),
            fe(2, 1, &fe_body(7.0, false)),
        ],
    );
    close(value(&first, "meta_log"), 120_000.0);
    close(value(&first, "meta_log_sum"), 120_007.0);
    // per_node keeps every FE's own value.
    close(
        node_custom(&first, "10.0.0.2").get("meta_log").copied(),
        7.0,
    );
    // The leader moved to fe2.
    let second = aggregate_with(
        &first.state,
        &cycle(
            10,
            vec![
                fe(1, 11, &fe_body(9.0, false)),
                fe(2, 11, &fe_body(130_000.0, true)),
            ],
        ),
        &custom,
    );
    close(value(&second, "meta_log"), 130_000.0);
    // No FE claims to lead and no list says which does: no leader value.
    let third = run(
        &custom,
        vec![
            fe(1, 1, &fe_body(5.0, false)),
            fe(2, 1, &fe_body(6.0, false)),
        ],
    );
    assert_eq!(value(&third, "meta_log"), None);
    close(value(&third, "meta_log_sum"), 11.0);
}

#[test]
fn leader_is_none_when_the_leader_lacks_the_series() {
    let custom = set(vec![def(
        "lag",
        "starrocks_fe_routine_load_max_lag_of_partition",
        &["fe"],
        "leader",
    )]);
    let a = run(
        &custom,
        vec![
            fe(1, 1, "node_info{type=\"is_master\"} 1\n"),
            fe(
                2,
                1,
                "starrocks_fe_routine_load_max_lag_of_partition{job_name=\"rl\"} 40\n",
            ),
        ],
    );
    assert_eq!(
        value(&a, "lag"),
        None,
        "a follower's value is not the leader's"
    );
}

fn cache_body(hits: f64, lookups: f64) -> String {
    format!(
        "# TYPE starrocks_be_page_cache_hit_count gauge\n\
         starrocks_be_page_cache_hit_count {hits}\n\
         # TYPE starrocks_be_page_cache_lookup_count gauge\n\
         starrocks_be_page_cache_lookup_count {lookups}\n"
    )
}

#[test]
fn ratio_of_divides_the_aggregates_and_the_node_values() {
    let custom = set(vec![
        per_node(ratio_of(
            be_def("hit_ratio", "starrocks_be_page_cache_hit_count", "sum"),
            "lookups",
        )),
        be_def("lookups", "starrocks_be_page_cache_lookup_count", "sum"),
    ]);
    let a = run(
        &custom,
        vec![
            be(1, 1, &cache_body(80.0, 100.0)),
            be(2, 1, &cache_body(270.0, 300.0)),
            // No lookups yet: the cluster ratio still counts its 0 lookups; its own ratio is
            // None (zero denominator).
            be(3, 1, &cache_body(0.0, 0.0)),
        ],
    );
    close(value(&a, "hit_ratio"), 350.0 / 400.0);
    close(value(&a, "lookups"), 400.0);
    close(node_custom(&a, "10.0.1.1").get("hit_ratio").copied(), 0.8);
    close(node_custom(&a, "10.0.1.2").get("hit_ratio").copied(), 0.9);
    assert_eq!(node_custom(&a, "10.0.1.3").get("hit_ratio"), None);
    // Every node at 0 lookups: a zero denominator gives None, never a division by zero.
    let idle = run(&custom, vec![be(1, 1, &cache_body(0.0, 0.0))]);
    assert_eq!(value(&idle, "hit_ratio"), None);
    close(value(&idle, "lookups"), 0.0);
    // The denominator absent everywhere: None.
    let no_lookups = run(
        &custom,
        vec![be(1, 1, "starrocks_be_page_cache_hit_count 5\n")],
    );
    assert_eq!(value(&no_lookups, "hit_ratio"), None);
}

#[test]
fn ratio_of_rates() {
    let custom = set(vec![
        ratio_of(
            rate(be_def(
                "hit_ratio",
                "starrocks_be_page_cache_hit_count",
                "sum",
            )),
            "lookups",
        ),
        rate(be_def(
            "lookups",
            "starrocks_be_page_cache_lookup_count",
            "sum",
        )),
    ]);
    let first = aggregate_with(
        &EngineState::default(),
        &cycle(
            0,
            vec![
                be(1, 1, &cache_body(1000.0, 2000.0)),
                be(2, 1, &cache_body(0.0, 0.0)),
            ],
        ),
        &custom,
    );
    assert_eq!(value(&first, "hit_ratio"), None);
    let second = aggregate_with(
        &first.state,
        &cycle(
            10,
            vec![
                be(1, 11, &cache_body(1900.0, 3000.0)),
                be(2, 11, &cache_body(500.0, 1000.0)),
            ],
        ),
        &custom,
    );
    // (90 + 50) hits/s over (100 + 100) lookups/s.
    close(value(&second, "lookups"), 200.0);
    close(value(&second, "hit_ratio"), 0.7);
}

#[test]
fn rate_on_a_gauge_is_warned_once_not_refused() {
    let custom = set(vec![
        rate(be_def(
            "lookups",
            "starrocks_be_page_cache_lookup_count",
            "sum",
        )),
        rate(be_def("scan_rows", "starrocks_be_query_scan_rows", "sum")),
        rate(be_def("untyped", "starrocks_be_untyped_total", "sum")),
        be_def("lookups_raw", "starrocks_be_page_cache_lookup_count", "sum"),
    ]);
    let body = format!(
        "{}{}starrocks_be_untyped_total 3\n",
        cache_body(1.0, 2.0),
        counter_body(5.0)
    );
    let a = run(&custom, vec![be(1, 1, &body), be(2, 1, &body)]);
    assert_eq!(
        a.custom_warnings,
        [CustomMetricWarning::RateOnGauge {
            name: "lookups".to_owned(),
            metric: "starrocks_be_page_cache_lookup_count".to_owned(),
        }]
    );
    assert!(a.custom_warnings[0].to_string().contains("rate on a gauge"));
    // Not seen at all: nothing to warn about.
    let none = run(
        &custom,
        vec![be(1, 1, "starrocks_be_process_mem_bytes 1\n")],
    );
    assert!(none.custom_warnings.is_empty());
}

#[test]
fn families_of_the_first_node_of_each_type() {
    let fe_text = "\
# HELP jvm_thread jvm thread stat
# TYPE jvm_thread gauge
jvm_thread{type=\"count\"} 10
jvm_thread{type=\"peak_count\"} 12
# HELP starrocks_fe_query_total total query
# TYPE starrocks_fe_query_total counter
starrocks_fe_query_total 5
";
    let be_text = "\
# TYPE starrocks_be_disks_data_used_capacity gauge
starrocks_be_disks_data_used_capacity{path=\"/data1\"} 1
# TYPE starrocks_be_engine_requests_total counter
starrocks_be_engine_requests_total{status=\"failed\",type=\"clone\"} 0
";
    let a = aggregate_discovering(
        &EngineState::default(),
        &cycle(
            0,
            vec![
                fe(1, 1, fe_text),
                fe(2, 1, "starrocks_fe_other 1\n"),
                be(1, 2, be_text),
                be(2, 2, "starrocks_be_other 1\n"),
                node(
                    NodeKind::Cn,
                    1,
                    3,
                    "# TYPE starrocks_cn_x untyped\nstarrocks_cn_x 1\n",
                ),
            ],
        ),
        // No definition needed for discovery.
        &CustomSet::default(),
    );
    let kinds: Vec<NodeKind> = a.families.iter().map(|f| f.node_type).collect();
    assert_eq!(kinds, [NodeKind::Fe, NodeKind::Be, NodeKind::Cn]);
    let quiet = aggregate_with(
        &EngineState::default(),
        &cycle(0, vec![fe(1, 1, fe_text), be(1, 2, be_text)]),
        &CustomSet::default(),
    );
    assert!(quiet.families.is_empty(), "only when asked for");
    let fe_f = &a.families[0];
    assert_eq!(fe_f.node, "10.0.0.1:8030");
    assert_eq!(fe_f.fetched_at, T0 + Duration::seconds(1));
    let names: Vec<&str> = fe_f.families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["jvm_thread", "starrocks_fe_query_total"]);
    let jvm = &fe_f.families[0];
    assert_eq!(jvm.metric_type.as_deref(), Some("gauge"));
    assert_eq!(jvm.help.as_deref(), Some("jvm thread stat"));
    assert_eq!(jvm.label_names, ["type"]);
    assert_eq!(fe_f.families[1].metric_type.as_deref(), Some("counter"));
    assert!(fe_f.families[1].label_names.is_empty());
    let be_f = &a.families[1];
    assert_eq!(be_f.node, "10.0.1.1:8040");
    assert_eq!(be_f.families[0].label_names, ["path"]);
    assert_eq!(be_f.families[0].help, None);
    assert_eq!(be_f.families[1].label_names, ["status", "type"]);
    let cn_f = &a.families[2];
    assert_eq!(cn_f.families[0].metric_type.as_deref(), Some("untyped"));
}

#[test]
fn a_definition_change_between_cycles_starts_its_rate_afresh() {
    let metric = "starrocks_be_query_scan_rows";
    let before = set(vec![be_def("mem", "starrocks_be_process_mem_bytes", "sum")]);
    let body = |rows: f64| format!("{}starrocks_be_process_mem_bytes 8\n", counter_body(rows));
    let first = aggregate_with(
        &EngineState::default(),
        &cycle(0, vec![be(1, 1, &body(100.0))]),
        &before,
    );
    assert_eq!(first.snapshot.custom.len(), 1);
    // A rate definition added: its first cycle has no previous value, so no rate.
    let after = set(vec![
        be_def("mem", "starrocks_be_process_mem_bytes", "sum"),
        rate(be_def("scan_rows", metric, "sum")),
    ]);
    let second = aggregate_with(
        &first.state,
        &cycle(10, vec![be(1, 11, &body(200.0))]),
        &after,
    );
    assert_eq!(value(&second, "scan_rows"), None);
    close(value(&second, "mem"), 8.0);
    let third = aggregate_with(
        &second.state,
        &cycle(20, vec![be(1, 21, &body(300.0))]),
        &after,
    );
    close(value(&third, "scan_rows"), 10.0);
    // Renamed, same series: the rate goes on.
    let renamed = set(vec![rate(be_def("rows_per_second", metric, "sum"))]);
    let fourth = aggregate_with(
        &third.state,
        &cycle(30, vec![be(1, 31, &body(500.0))]),
        &renamed,
    );
    close(value(&fourth, "rows_per_second"), 20.0);
    assert_eq!(fourth.snapshot.custom.len(), 1, "the removed ones are gone");
    // Same name, another series: not a rate between two different series.
    let moved = set(vec![rate(be_def(
        "rows_per_second",
        "starrocks_be_process_mem_bytes",
        "sum",
    ))]);
    let fifth = aggregate_with(
        &fourth.state,
        &cycle(40, vec![be(1, 41, &body(600.0))]),
        &moved,
    );
    assert_eq!(value(&fifth, "rows_per_second"), None);
    let narrowed = set(vec![rate(matching(
        be_def("rows_per_second", "starrocks_be_process_mem_bytes", "sum"),
        "{path=\"\"}",
    ))]);
    let sixth = aggregate_with(
        &fifth.state,
        &cycle(50, vec![be(1, 51, &body(600.0))]),
        &narrowed,
    );
    assert_eq!(
        value(&sixth, "rows_per_second"),
        None,
        "another match, afresh"
    );
}

#[test]
fn old_state_without_custom_values_still_deserializes() {
    let old = serde_json::json!({
        "nodes": {
            "be/10.0.1.1:8040": {
                "fetched_at": "2025-06-01T12:00:01Z",
                "fe": null,
                "be": null
            }
        }
    });
    let state: EngineState = serde_json::from_value(old).expect("old state");
    assert!(state.nodes["be/10.0.1.1:8040"].custom.is_empty());
    // It serves as a previous state: no rate from it, no panic.
    let custom = set(vec![rate(be_def(
        "scan_rows",
        "starrocks_be_query_scan_rows",
        "sum",
    ))]);
    let a = aggregate_with(
        &state,
        &cycle(10, vec![be(1, 11, &counter_body(5.0))]),
        &custom,
    );
    assert_eq!(value(&a, "scan_rows"), None);
    // And the state written now round-trips, custom values included.
    let text = serde_json::to_string(&a.state).expect("serialize");
    let back: EngineState = serde_json::from_str(&text).expect("deserialize");
    assert_eq!(back, a.state);
    assert_eq!(back.nodes["be/10.0.1.1:8040"].custom.len(), 1);
}

#[test]
fn metric_is_the_sample_name_of_a_summary_or_histogram() {
    let body = "\
# TYPE starrocks_fe_query_latency_ms summary
starrocks_fe_query_latency_ms{quantile=\"0.75\"} 4
starrocks_fe_query_latency_ms{quantile=\"0.99\"} 30
starrocks_fe_query_latency_ms_sum 1200
starrocks_fe_query_latency_ms_count 100
# TYPE starrocks_fe_wait_ms histogram
starrocks_fe_wait_ms_bucket{le=\"10\"} 6
starrocks_fe_wait_ms_bucket{le=\"+Inf\"} 9
starrocks_fe_wait_ms_count 9
";
    let fe_def = |name: &str, metric: &str, matchers: &str| {
        matching(def(name, metric, &["fe"], "sum"), matchers)
    };
    let custom = set(vec![
        fe_def("queries", "starrocks_fe_query_latency_ms_count", "{}"),
        fe_def("latency_sum", "starrocks_fe_query_latency_ms_sum", "{}"),
        fe_def(
            "p99",
            "starrocks_fe_query_latency_ms",
            "{quantile=\"0.99\"}",
        ),
        fe_def("fast_waits", "starrocks_fe_wait_ms_bucket", "{le=\"10\"}"),
        rate(fe_def(
            "queries_rate",
            "starrocks_fe_query_latency_ms_count",
            "{}",
        )),
    ]);
    let a = run(&custom, vec![fe(1, 1, body), fe(2, 1, body)]);
    close(value(&a, "queries"), 200.0);
    close(value(&a, "latency_sum"), 2400.0);
    close(value(&a, "p99"), 60.0);
    close(value(&a, "fast_waits"), 12.0);
    // A summary's `_count` is not a gauge: no warning.
    assert!(a.custom_warnings.is_empty());
}
