//! FE latency as StarRocks serves it: a summary on a decaying reservoir whose `_sum` is
//! `count × reservoir mean`, per-FE latency profiles, window gauges only with
//! `enable_collect_query_detail_info`; the queries each FE coordinates (3.1+); and a shared-data
//! cluster with CNs only.

use std::time::Duration;

use rockscope_sim::{ClusterSpec, NodeId, SimConfig, Simulator, Version};

use crate::support::{get, parse_prom, value};
use crate::{ROOT, addr, pinned_now};

fn start(spec: ClusterSpec) -> (Simulator, rockscope_sim::ClusterInfo) {
    let sim = Simulator::start(SimConfig::with_clusters(vec![spec]).seed(11)).expect("start");
    sim.set_manual_time(Some(pinned_now()));
    let info = sim.clusters().remove(0);
    (sim, info)
}

/// (`_sum`, `_count`, p99) of the FE's latency summary.
fn summary(sim_addr: std::net::SocketAddr) -> (f64, f64, f64) {
    let s = parse_prom(get(sim_addr, "/metrics", None).text());
    (
        value(&s, "starrocks_fe_query_latency_ms_sum", &[]).unwrap(),
        value(&s, "starrocks_fe_query_latency_ms_count", &[]).unwrap(),
        value(&s, "starrocks_fe_query_latency_ms", &[("quantile", "0.99")]).unwrap(),
    )
}

#[test]
fn summary_sum_is_count_times_a_drifting_reservoir_mean() {
    let (sim, info) = start(ClusterSpec::new("sim-1", 1, 1, Version::V3_3));
    let fe = addr(&info, NodeId::fe(0));
    // A day, hour by hour: (sum, count, reservoir mean by the truth).
    let mut reads = Vec::new();
    for _ in 0..24 {
        let t = sim.now();
        let (sum, count, p99) = summary(fe);
        let gt = sim
            .ground_truth("sim-1", t - time::Duration::hours(1), t)
            .unwrap();
        let truth = gt.fe_latency[&NodeId::fe(0)];
        assert!(
            (sum / count - truth.mean).abs() < 1e-6 * truth.mean,
            "{sum}/{count} vs {truth:?}"
        );
        assert!((p99 - truth.p99).abs() < 1e-3, "{p99} vs {truth:?}");
        let mean = gt.query_latency_mean.unwrap();
        assert!(
            (mean - truth.mean).abs() < 1e-9 * mean,
            "one FE: the cluster mean is its own"
        );
        assert_eq!(gt.query_latency_p99, Some(truth.p99));
        reads.push((sum, count, truth.mean));
        sim.advance(Duration::from_secs(3600));
    }
    let means: Vec<f64> = reads.iter().map(|r| r.2).collect();
    let (lo, hi) = means
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), m| (lo.min(*m), hi.max(*m)));
    assert!(
        hi > 1.05 * lo,
        "the reservoir mean drifts over a day: {lo}..{hi}"
    );
    // Over the hour in which the mean moved most, Δsum / Δcount is not the mean of anything
    // the FE reports: the old queries' count is re-weighted by the new mean.
    let (before, after) = reads
        .windows(2)
        .map(|w| (w[0], w[1]))
        .max_by(|a, b| (a.1.2 - a.0.2).abs().total_cmp(&(b.1.2 - b.0.2).abs()))
        .unwrap();
    let delta_ratio = (after.0 - before.0) / (after.1 - before.1);
    assert!(
        (delta_ratio - after.2).abs() > 0.01 * after.2,
        "{delta_ratio} vs {}",
        after.2
    );
}

#[test]
fn one_fe_much_slower_than_the_others() {
    let spec = ClusterSpec::new("sim-1", 3, 1, Version::V3_3).with_fe_latency(2, 2_000);
    let (sim, info) = start(spec);
    let p99 = |i| summary(addr(&info, NodeId::fe(i))).2;
    let (fast, slow) = (p99(0).max(p99(1)), p99(2));
    // The reservoir mean is the base × 0.7–1.3 and p99 is 8 × the mean: a base of 8–120 ms
    // gives at most 1,248 ms, 2,000 ms at least 11,200 ms.
    assert!(fast < 1_250.0 && slow > 11_000.0, "{fast} vs {slow}");
    let now = sim.now();
    let gt = sim
        .ground_truth("sim-1", now - time::Duration::seconds(60), now)
        .unwrap();
    assert_eq!(
        gt.query_latency_p99,
        Some(gt.fe_latency[&NodeId::fe(2)].p99)
    );
    assert!((slow - gt.query_latency_p99.unwrap()).abs() < 1e-3);
}

#[test]
fn window_gauges_need_query_detail_info() {
    let gauge = |on: bool| {
        let spec = ClusterSpec::new("sim-1", 1, 1, Version::V3_3).with_query_detail_info(on);
        let (_sim, info) = start(spec);
        let s = parse_prom(get(addr(&info, NodeId::fe(0)), "/metrics", None).text());
        value(&s, "starrocks_fe_query_latency", &[("type", "99_quantile")]).unwrap()
    };
    assert_eq!(gauge(false), 0.0, "StarRocks' default leaves them at 0");
    assert!(gauge(true) > 0.0);
}

#[test]
fn shared_data_cluster_with_compute_nodes_only() {
    let (sim, info) = start(ClusterSpec::new("sim-1", 1, 0, Version::V3_3).with_cns(3));
    let fe = addr(&info, NodeId::fe(0));
    assert_eq!(get(fe, "/api/show_proc?path=/backends", ROOT).text(), "[]");
    let cns = get(fe, "/api/show_proc?path=/compute_nodes", ROOT).json();
    assert_eq!(cns.as_array().map(Vec::len), Some(3));
    for i in 0..3 {
        let s = parse_prom(get(addr(&info, NodeId::cn(i)), "/metrics", None).text());
        assert!(value(&s, "starrocks_be_cpu", &[("mode", "idle")]).is_some());
    }
    let now = sim.now();
    let gt = sim
        .ground_truth("sim-1", now - time::Duration::seconds(60), now)
        .unwrap();
    assert_eq!((gt.total_backends, gt.total_compute_nodes), (0, 3));
    assert_eq!(gt.alive_compute_nodes, 3);
    assert_eq!(gt.per_node_cpu_pct.len(), 3, "CPU truth over the CNs");
}

/// Each FE's `starrocks_fe_memory{type="query_coordinator_count"}`, `None` when not served.
fn coordinators(sim_addr: std::net::SocketAddr) -> Option<f64> {
    let s = parse_prom(get(sim_addr, "/metrics", None).text());
    value(
        &s,
        "starrocks_fe_memory",
        &[("type", "query_coordinator_count")],
    )
}

#[test]
fn each_fe_serves_the_queries_it_coordinates() {
    let spec = ClusterSpec::new("sim-1", 3, 1, Version::V3_3).with_fe_latency(2, 2_000);
    let (sim, info) = start(spec);
    let t = sim.now();
    // Over the last second, the query rate is the instantaneous one to within 0.5 %.
    let gt = sim
        .ground_truth("sim-1", t - time::Duration::seconds(1), t)
        .unwrap();
    let served: Vec<f64> = (0..3)
        .map(|i| coordinators(addr(&info, NodeId::fe(i))).expect("3.3 serves it"))
        .collect();
    let truth: Vec<f64> = (0..3)
        .map(|i| gt.fe_running_queries[&NodeId::fe(i)] as f64)
        .collect();
    assert_eq!(served, truth);
    assert_eq!(gt.running_queries, Some(served.iter().sum::<f64>() as u64));
    // Little's law: queries in flight = arrival rate × mean latency (rounded to a count).
    for (i, count) in served.iter().enumerate() {
        let fe = gt.fe_latency[&NodeId::fe(i as u32)];
        let in_flight = fe.queries * fe.mean / 1000.0;
        assert!(
            (count - in_flight).abs() <= 0.5 + 0.01 * in_flight,
            "FE {i}: {count} vs {in_flight}"
        );
    }
    assert!(served[2] > 0.0, "the slow FE holds queries: {served:?}");
}

#[test]
fn a_3_0_fe_has_no_coordinator_count() {
    let (sim, info) = start(ClusterSpec::new("sim-1", 1, 1, Version::V3_0));
    assert_eq!(coordinators(addr(&info, NodeId::fe(0))), None);
    let t = sim.now();
    let gt = sim
        .ground_truth("sim-1", t - time::Duration::seconds(15), t)
        .unwrap();
    assert_eq!(gt.running_queries, None);
    assert!(gt.fe_running_queries.is_empty());
}
