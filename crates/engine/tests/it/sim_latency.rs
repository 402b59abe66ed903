//! The engine against the simulator with its clock pinned: per-FE latency profiles (one FE much
//! slower), the reservoir means as served, the corrected first-cycle `qps`, the queries the FEs
//! coordinate, and a shared-data cluster whose CNs play the BE role. Lists and bodies are fetched as the collector fetches them
//! (`ground_truth::fetch`); the simulated instant is the same for every node of a cycle, so the
//! truth is exact.

use rockscope_engine::{Aggregation, EngineState, aggregate};
use rockscope_model::NodeKind;
use rockscope_sim::{ClusterInfo, ClusterSpec, GroundTruth, NodeId, SimConfig, Simulator, Version};
use rockscope_starrocks::ClusterClient;
use time::OffsetDateTime;

use crate::ground_truth::{client_for, fetch};

const GAP: time::Duration = time::Duration::seconds(60);

fn start(spec: ClusterSpec) -> (Simulator, ClusterInfo, ClusterClient) {
    let sim = Simulator::start(SimConfig::with_clusters(vec![spec]).seed(20)).expect("sim");
    // On a whole minute: the FEs' last MetricCalculator tick is [t − 15 s, t].
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let pinned = OffsetDateTime::from_unix_timestamp(now - now % 60).expect("time");
    sim.set_manual_time(Some(pinned));
    let info = sim.clusters().remove(0);
    let client = client_for(&info);
    (sim, info, client)
}

/// Two cycles `GAP` apart in simulated time: (first, second, truth over the gap).
fn two_cycles(
    sim: &Simulator,
    info: &ClusterInfo,
    client: &ClusterClient,
) -> (Aggregation, Aggregation, GroundTruth) {
    let t1 = sim.now();
    let first = aggregate(&EngineState::default(), &fetch(client, info));
    sim.advance(GAP.unsigned_abs());
    let second = aggregate(&first.state, &fetch(client, info));
    let truth = sim.ground_truth(&info.name, t1, sim.now()).expect("truth");
    (first, second, truth)
}

#[track_caller]
fn near(actual: Option<f64>, want: f64, rel: f64) {
    let a = actual.unwrap_or_else(|| panic!("expected {want}, got None"));
    assert!((a - want).abs() <= rel * want.abs(), "{a} vs {want}");
}

#[test]
fn cluster_latency_follows_the_slowest_serving_fe() {
    let spec = ClusterSpec::new("sim-1", 3, 1, Version::V3_3).with_fe_latency(2, 2_000);
    let (sim, info, client) = start(spec);
    let (_, second, gt) = two_cycles(&sim, &info, &client);
    let s = &second.snapshot;
    let slow = gt.fe_latency[&NodeId::fe(2)];
    // The largest p99 of the serving FEs: the slow FE's (served with three decimals).
    near(gt.query_latency_p99, slow.p99, 0.0);
    near(s.query_latency_p99, slow.p99, 1e-6);
    // The mixture's mean: reservoir means weighted by the interval's queries. The served
    // query_total is success + err, two floored integrals, so each FE's interval count is
    // within ±2 of the truth's: every weight within 2 / queries, the mean within twice that.
    let fewest = gt
        .fe_latency
        .values()
        .map(|f| f.queries)
        .fold(f64::MAX, f64::min);
    assert!(
        fewest > 100.0,
        "every FE served queries: {:?}",
        gt.fe_latency
    );
    near(
        s.query_latency_mean,
        gt.query_latency_mean.unwrap(),
        4.0 / fewest,
    );
    // Each FE keeps its own p99 in its node snapshot.
    for (i, n) in second.nodes.iter().take(3).enumerate() {
        let own = gt.fe_latency[&NodeId::fe(i as u32)].p99;
        near(n.query_latency_p99, own, 1e-6);
    }
    // Default FE settings: no window gauges, so no p50 or p90 (the summary has neither).
    assert_eq!(s.query_latency_p50, None);
    assert_eq!(s.query_latency_p90, None);
}

#[test]
fn first_cycle_qps_is_the_corrected_gauge() {
    let (sim, info, client) = start(ClusterSpec::new("sim-1", 2, 1, Version::V3_3));
    let t = sim.now();
    let first = aggregate(&EngineState::default(), &fetch(&client, &info));
    let tick = sim
        .ground_truth(&info.name, t - time::Duration::seconds(15), t)
        .expect("truth");
    assert!(first.snapshot.rates_from_gauges);
    // query_total = success + err, two floored integrals: ±2 queries per FE over the tick
    let quantum = 2.0 * 2.0 / 15.0;
    let qps = first.snapshot.qps.expect("qps");
    assert!((qps - tick.qps).abs() <= quantum, "{qps} vs {}", tick.qps);
    assert!(tick.qps > 20.0 * quantum, "enough queries for the check");
}

#[test]
fn shared_data_cluster_counts_its_compute_nodes_as_backends() {
    let (sim, info, client) = start(ClusterSpec::new("sim-1", 1, 0, Version::V3_3).with_cns(3));
    let (first, second, gt) = two_cycles(&sim, &info, &client);
    assert_eq!((gt.total_backends, gt.total_compute_nodes), (0, 3));
    let s = &second.snapshot;
    assert_eq!(s.backend_total, Some(gt.total_compute_nodes as i64));
    assert_eq!(s.backend_alive, Some(gt.alive_compute_nodes as i64));
    assert_eq!(s.compute_node_total, Some(3));
    assert!(
        second
            .nodes
            .iter()
            .filter(|n| n.node_type == NodeKind::Cn)
            .all(|n| n.scrape_ok)
    );
    // Host CPU from the CNs' jiffies once two scrapes exist, never before.
    assert_eq!(first.snapshot.avg_cpu_usage, None);
    near(s.avg_cpu_usage, gt.avg_cpu_usage_pct, 0.02);
    let cn = second
        .nodes
        .iter()
        .find(|n| n.node_type == NodeKind::Cn)
        .unwrap();
    assert!(
        cn.process_cpu_usage_pct.is_some(),
        "CpuUsedPct in its own field"
    );
}

#[test]
fn running_queries_are_the_sum_of_the_fes_coordinator_counts() {
    // A slow FE holds many queries at once (Little's law): far more than the BE contexts.
    let spec = ClusterSpec::new("sim-1", 3, 3, Version::V3_3).with_fe_latency(1, 3_000);
    let (sim, info, client) = start(spec);
    let t = sim.now();
    let s = aggregate(&EngineState::default(), &fetch(&client, &info)).snapshot;
    let gt = sim
        .ground_truth(&info.name, t - time::Duration::seconds(15), t)
        .expect("truth");
    assert_eq!(gt.fe_running_queries.len(), 3);
    let per_fe: u64 = gt.fe_running_queries.values().sum();
    assert_eq!(gt.running_queries, Some(per_fe));
    assert!(gt.fe_running_queries[&NodeId::fe(1)] > 0, "{gt:?}");
    assert_eq!(s.running_queries, Some(per_fe as i64));
    // Not the BEs' query contexts, which count a query once per BE it runs on.
    assert!(s.running_query_contexts.is_some());
    assert_ne!(s.running_queries, s.running_query_contexts);
}

#[test]
fn running_queries_are_null_before_the_fe_memory_family() {
    // 3.0 FEs export no `memory{type="query_coordinator_count"}`: no source, so null.
    let (sim, info, client) = start(ClusterSpec::new("sim-1", 2, 2, Version::V3_0));
    let t = sim.now();
    let s = aggregate(&EngineState::default(), &fetch(&client, &info)).snapshot;
    let gt = sim
        .ground_truth(&info.name, t - time::Duration::seconds(15), t)
        .expect("truth");
    assert_eq!(gt.running_queries, None);
    assert_eq!(s.running_queries, None);
    assert!(
        s.running_query_contexts.is_some(),
        "the lists still count contexts"
    );
}
