//! Custom metrics against the simulator: bodies fetched through the collector's own path
//! (`fetch_cycle`), evaluated by `aggregate_with` in the engine's one pass, and compared with
//! what the simulator knows it served (its ground truth).
//!
//! # Time
//!
//! The simulator's clock is pinned and moved by exactly [`STEP`] between cycles, so every body
//! of a cycle holds the counters of one known instant. The client stamps each scrape with the
//! wall clock, which moved only milliseconds; the test stamps each scrape with the served
//! instant instead (`fetched_at` is by definition the instant the body describes), so a rate is
//! Δcounter / [`STEP`] exactly.
//!
//! # Tolerance
//!
//! Served counters are floors of exact integrals, so a node's increase over a step differs from
//! the truth by less than 1: a rate summed over `n` nodes is within `n / STEP` of the truth.
//! Gauges are compared exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use rockscope_engine::custom::CustomMetricWarning;
use rockscope_engine::{Aggregation, CustomSet, EngineState, aggregate_with};
use rockscope_model::{CustomMetricSpec, NodeKind, NodeSnapshot};
use rockscope_sim::{
    ClusterInfo, ClusterSpec, Condition, Fault, GroundTruth, NodeId, SimConfig, Simulator, Version,
};
use rockscope_starrocks::ClusterClient;

use crate::ground_truth::{client_for, fetch};

const STEP: Duration = Duration::from_secs(10);
const CLUSTER: &str = "sim-1";
const LOOKUPS: &str = "starrocks_be_page_cache_lookup_count";
const HITS: &str = "starrocks_be_page_cache_hit_count";
const DATA_USED: &str = "starrocks_be_disks_data_used_capacity";

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
        per_node: true,
    }
}

fn be_def(name: &str, metric: &str, aggregate: &str) -> CustomMetricSpec {
    def(name, metric, &["be"], aggregate)
}

fn rate(mut spec: CustomMetricSpec) -> CustomMetricSpec {
    spec.rate = true;
    spec
}

struct Run {
    sim: Simulator,
    info: ClusterInfo,
    client: ClusterClient,
    custom: CustomSet,
    state: EngineState,
}

impl Run {
    /// A simulator serving `spec` with its clock pinned, and the definitions in force.
    fn new(spec: ClusterSpec, defs: Vec<CustomMetricSpec>) -> Run {
        let sim = Simulator::start(SimConfig::with_clusters(vec![spec]).seed(16)).expect("sim");
        sim.set_manual_time(Some(sim.now()));
        let info = sim.cluster(CLUSTER).expect("cluster");
        let client = client_for(&info);
        let custom = CustomSet::new(&defs).expect("valid definitions");
        Run {
            sim,
            info,
            client,
            custom,
            state: EngineState::default(),
        }
    }

    /// One cycle at the served instant (see the module docs).
    fn cycle(&mut self) -> Aggregation {
        let mut input = fetch(&self.client, &self.info);
        let at = self.sim.now();
        for s in &mut input.scrapes {
            let m = s.result.as_mut().unwrap_or_else(|e| panic!("{e:?}"));
            m.fetched_at = at;
        }
        let a = aggregate_with(&self.state, &input, &self.custom);
        assert!(
            a.snapshot.source_errors.is_empty(),
            "{:?}",
            a.snapshot.source_errors
        );
        self.state = a.state.clone();
        a
    }

    /// Moves the served clock by [`STEP`], then runs a cycle; returns it with the truth over
    /// the step.
    fn step(&mut self) -> (Aggregation, GroundTruth) {
        let from = self.sim.now();
        self.sim.advance(STEP);
        let a = self.cycle();
        let truth = self.sim.ground_truth(CLUSTER, from, self.sim.now());
        (a, truth.expect("truth"))
    }

    fn node<'a>(&self, a: &'a Aggregation, id: NodeId) -> &'a NodeSnapshot {
        let addr = self.info.node(id).expect("node").addr;
        a.nodes
            .iter()
            .find(|n| n.host == addr.ip().to_string() && n.http_port == addr.port())
            .unwrap_or_else(|| panic!("no snapshot of {id}"))
    }

    fn node_value(&self, a: &Aggregation, id: NodeId, name: &str) -> Option<f64> {
        self.node(a, id).custom.get(name).copied()
    }
}

fn value(a: &Aggregation, name: &str) -> Option<f64> {
    *a.snapshot
        .custom
        .get(name)
        .expect("every definition is in the map")
}

fn close(v: Option<f64>, want: f64, tol: f64) {
    let v = v.unwrap_or_else(|| panic!("expected {want}, got None"));
    assert!((v - want).abs() <= tol, "{v} vs {want} (±{tol})");
}

fn bes(n: u32) -> impl Iterator<Item = NodeId> {
    (0..n).map(NodeId::be)
}

#[test]
fn a_gauge_summed_over_backends_and_a_regex_on_the_path_label() {
    let with = |mut spec: CustomMetricSpec, matchers: &str| {
        spec.matchers = matchers.to_owned();
        spec
    };
    let mut run = Run::new(
        ClusterSpec::new(CLUSTER, 1, 3, Version::V3_3).with_cns(1),
        vec![
            be_def("data_used", DATA_USED, "sum"),
            with(
                be_def("data1_used", DATA_USED, "sum"),
                "{path=~\"/data1/.*\"}",
            ),
            with(
                be_def("not_data1_used", DATA_USED, "sum"),
                "{path!~\"/data1/.*\"}",
            ),
            // Anchored: no storage root is exactly `/data1`.
            with(
                be_def("exactly_data1", DATA_USED, "sum"),
                "{path=~\"/data1\"}",
            ),
            def("nodes_with_roots", DATA_USED, &["be", "cn"], "count"),
        ],
    );
    let (a, truth) = run.step();
    // Every BE's storage roots; not the CN's (node_types = ["be"]).
    let served: &BTreeMap<NodeId, BTreeMap<String, u64>> = &truth.data_used_by_path;
    assert_eq!(served.len(), 3);
    let sum_where = |keep: &dyn Fn(&str) -> bool| -> f64 {
        served
            .values()
            .flat_map(|paths| paths.iter())
            .filter(|(p, _)| keep(p))
            .map(|(_, v)| *v as f64)
            .sum()
    };
    close(value(&a, "data_used"), truth.disk_used_bytes as f64, 0.0);
    close(value(&a, "data_used"), sum_where(&|_| true), 0.0);
    let data1 = sum_where(&|p| p.starts_with("/data1/"));
    close(value(&a, "data1_used"), data1, 0.0);
    close(
        value(&a, "not_data1_used"),
        sum_where(&|p| !p.starts_with("/data1/")),
        0.0,
    );
    assert!(data1 > 0.0 && data1 < truth.disk_used_bytes as f64);
    assert_eq!(value(&a, "exactly_data1"), None);
    close(value(&a, "nodes_with_roots"), 4.0, 0.0);
    // Each BE's own value is the sum of what it served, over its roots.
    for id in bes(3) {
        let own: f64 = served[&id].values().map(|v| *v as f64).sum();
        close(run.node_value(&a, id, "data_used"), own, 0.0);
    }
    assert_eq!(run.node_value(&a, NodeId::cn(0), "data_used"), None);
    assert!(
        run.node_value(&a, NodeId::cn(0), "nodes_with_roots")
            .is_some()
    );
}

#[test]
fn a_counter_as_a_rate_across_a_backend_restart() {
    let mut run = Run::new(
        ClusterSpec::new(CLUSTER, 1, 3, Version::V3_3),
        vec![rate(be_def("page_cache_lookups", LOOKUPS, "sum"))],
    );
    let first = run.cycle();
    assert_eq!(value(&first, "page_cache_lookups"), None, "no interval yet");
    // StarRocks types the series gauge: accepted, with the documented warning.
    assert!(matches!(
        first.custom_warnings.as_slice(),
        [CustomMetricWarning::RateOnGauge { name, .. }] if name == "page_cache_lookups"
    ));
    let per_s = |t: &GroundTruth, id: NodeId| t.page_cache[&id].lookups / STEP.as_secs_f64();
    let tol = 1.0 / STEP.as_secs_f64();
    let (a, truth) = run.step();
    let total: f64 = bes(3).map(|id| per_s(&truth, id)).sum();
    close(value(&a, "page_cache_lookups"), total, 3.0 * tol);
    let before = run
        .node_value(&a, NodeId::be(0), "page_cache_lookups")
        .unwrap();
    close(Some(before), per_s(&truth, NodeId::be(0)), tol);
    // be0 restarts 4 s into the next step: its counter starts again from 0.
    let from = run.sim.now();
    run.sim.advance(Duration::from_secs(4));
    run.sim
        .set_fault(CLUSTER, NodeId::be(0), Fault::Restart)
        .unwrap();
    run.sim.advance(STEP - Duration::from_secs(4));
    let a = run.cycle();
    let truth = run.sim.ground_truth(CLUSTER, from, run.sim.now()).unwrap();
    // The new value is the increase: the 6 s since the restart, neither negative nor a spike.
    let after = run
        .node_value(&a, NodeId::be(0), "page_cache_lookups")
        .unwrap();
    assert!(after > 0.0, "{after}");
    assert!(
        after < before,
        "{after} after the restart vs {before} before"
    );
    close(Some(after), per_s(&truth, NodeId::be(0)), tol);
    let total: f64 = bes(3).map(|id| per_s(&truth, id)).sum();
    close(value(&a, "page_cache_lookups"), total, 3.0 * tol);
    // The next step is a whole one again.
    let (a, truth) = run.step();
    close(
        run.node_value(&a, NodeId::be(0), "page_cache_lookups"),
        per_s(&truth, NodeId::be(0)),
        tol,
    );
    assert!(
        run.node_value(&a, NodeId::be(0), "page_cache_lookups")
            .unwrap()
            > after
    );
}

#[test]
fn a_leader_only_fe_series_follows_the_leader() {
    let mut run = Run::new(
        ClusterSpec::new(CLUSTER, 3, 1, Version::V3_3),
        vec![
            def("meta_log", "starrocks_fe_meta_log_count", &["fe"], "leader"),
            def(
                "meta_log_max",
                "starrocks_fe_meta_log_count",
                &["fe"],
                "max",
            ),
        ],
    );
    // The leader's checkpoint is stuck: its count (and only its) reads 150 000; the others
    // serve their own journal position modulo the checkpoint interval (< 50 000).
    run.sim
        .set_condition(CLUSTER, None, Condition::MetaLogCount(150_000))
        .unwrap();
    let (a, truth) = run.step();
    assert_eq!(truth.leader, NodeId::fe(0));
    close(value(&a, "meta_log"), 150_000.0, 0.0);
    close(
        run.node_value(&a, NodeId::fe(0), "meta_log"),
        150_000.0,
        0.0,
    );
    let follower = run.node_value(&a, NodeId::fe(1), "meta_log").unwrap();
    assert!(follower < 50_000.0, "{follower}");
    run.sim.set_leader(CLUSTER, NodeId::fe(1)).unwrap();
    let (a, truth) = run.step();
    assert_eq!(truth.leader, NodeId::fe(1));
    close(value(&a, "meta_log"), 150_000.0, 0.0);
    close(
        run.node_value(&a, NodeId::fe(1), "meta_log"),
        150_000.0,
        0.0,
    );
    let old_leader = run.node_value(&a, NodeId::fe(0), "meta_log").unwrap();
    assert!(old_leader < 50_000.0, "{old_leader}: fe0 no longer leads");
    close(value(&a, "meta_log_max"), 150_000.0, 0.0);
}

#[test]
fn a_ratio_of_hit_and_lookup_rates() {
    let mut ratio = rate(be_def("page_cache_hit_ratio", HITS, "sum"));
    ratio.ratio_of = Some("page_cache_lookups".to_owned());
    let mut run = Run::new(
        ClusterSpec::new(CLUSTER, 1, 3, Version::V3_3),
        vec![ratio, rate(be_def("page_cache_lookups", LOOKUPS, "sum"))],
    );
    run.cycle();
    let (a, truth) = run.step();
    let hits: f64 = truth.page_cache.values().map(|p| p.hits).sum();
    let lookups: f64 = truth.page_cache.values().map(|p| p.lookups).sum();
    // ±1 per counter over thousands: far under 0.1 %.
    assert!(lookups > 3000.0, "{lookups}");
    close(value(&a, "page_cache_hit_ratio"), hits / lookups, 1e-3);
    let r = value(&a, "page_cache_hit_ratio").unwrap();
    assert!((0.80..=0.95).contains(&r), "{r}");
    for id in bes(3) {
        let p = truth.page_cache[&id];
        close(
            run.node_value(&a, id, "page_cache_hit_ratio"),
            p.hits / p.lookups,
            1e-3,
        );
    }
}

#[test]
fn a_series_absent_on_some_backends_and_on_all() {
    let insert = "starrocks_be_page_cache_insert_count";
    let defs = vec![
        be_def("inserts", insert, "sum"),
        be_def("inserts_avg", insert, "avg"),
        be_def("inserts_count", insert, "count"),
        be_def("never_served", "starrocks_be_no_such_series", "sum"),
        be_def("never_served_count", "starrocks_be_no_such_series", "count"),
    ];
    // be1 runs the newer build, which serves the insert counter; be0 and be2 do not.
    let mut run = Run::new(
        ClusterSpec::new(CLUSTER, 1, 3, Version::V3_3).with_newer_be(1),
        defs.clone(),
    );
    let (a, truth) = run.step();
    let served = truth.page_cache[&NodeId::be(1)]
        .insert_count
        .expect("the newer build serves it") as f64;
    assert!(served > 0.0);
    close(value(&a, "inserts"), served, 0.0);
    close(value(&a, "inserts_avg"), served, 0.0);
    close(value(&a, "inserts_count"), 1.0, 0.0);
    assert_eq!(run.node_value(&a, NodeId::be(0), "inserts"), None);
    close(run.node_value(&a, NodeId::be(1), "inserts"), served, 0.0);
    assert_eq!(run.node_value(&a, NodeId::be(2), "inserts"), None);
    for name in ["never_served", "never_served_count"] {
        assert_eq!(value(&a, name), None, "{name}: null, never 0");
    }
    // No BE of the newer build: absent on all, null (count included), never 0.
    let mut run = Run::new(ClusterSpec::new(CLUSTER, 1, 3, Version::V3_3), defs);
    let (a, truth) = run.step();
    assert!(truth.page_cache.values().all(|p| p.insert_count.is_none()));
    for name in ["inserts", "inserts_avg", "inserts_count"] {
        assert_eq!(value(&a, name), None, "{name}: null, never 0");
    }
    assert!(a.nodes.iter().all(|n| n.custom.is_empty()));
    assert_eq!(
        a.nodes
            .iter()
            .filter(|n| n.node_type == NodeKind::Be)
            .count(),
        3
    );
}
