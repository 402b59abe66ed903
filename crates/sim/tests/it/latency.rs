//! FE latency as StarRocks serves it: a summary on a decaying reservoir whose `_sum` is
//! `count × reservoir mean`, per-FE latency profiles, window gauges only with
//! `enable_collect_query_detail_info`; and a shared-data cluster with CNs only.

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
    let t1 = sim.now();
    let (sum1, count1, _) = summary(fe);
    sim.advance(Duration::from_secs(5 * 3600));
    let t2 = sim.now();
    let (sum2, count2, p99) = summary(fe);
    let gt = sim.ground_truth("sim-1", t1, t2).unwrap();
    let truth = gt.fe_latency[&NodeId::fe(0)];
    let (mean1, mean2) = (sum1 / count1, sum2 / count2);
    assert!(
        (mean2 - truth.mean).abs() < 1e-6 * truth.mean,
        "{mean2} vs {truth:?}"
    );
    assert!((p99 - truth.p99).abs() < 1e-3, "{p99} vs {truth:?}");
    assert!(
        (mean2 - mean1).abs() > 0.01 * mean1,
        "the mean drifts: {mean1} -> {mean2}"
    );
    // Δsum / Δcount is not the mean of the reservoir (nor of the window's queries).
    let delta_ratio = (sum2 - sum1) / (count2 - count1);
    assert!(
        (delta_ratio - mean2).abs() > 0.01 * mean2,
        "{delta_ratio} vs {mean2}"
    );
    assert_eq!(gt.query_latency_mean, Some(truth.mean));
    assert_eq!(gt.query_latency_p99, Some(truth.p99));
}

#[test]
fn one_fe_much_slower_than_the_others() {
    let spec = ClusterSpec::new("sim-1", 3, 1, Version::V3_3).with_fe_latency(2, 2_000);
    let (sim, info) = start(spec);
    let p99 = |i| summary(addr(&info, NodeId::fe(i))).2;
    let (fast, slow) = (p99(0).max(p99(1)), p99(2));
    // base 8–120 ms (p99 at most 8 × 120) against 2,000 ms (p99 at least 8 × 0.7 × 2,000)
    assert!(fast < 1_000.0 && slow > 10_000.0, "{fast} vs {slow}");
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
