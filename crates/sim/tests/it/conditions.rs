//! Conditions through the control endpoint, seen in the served bodies and in the ground truth.

use std::time::Duration;

use rockscope_sim::{Condition, NodeId, SimConfig, Simulator, Version};

use crate::pinned_now;
use crate::support::{get, parse_prom, post, value};

const LAG: &str = "starrocks_fe_routine_load_max_lag_of_partition";
const FAILED_CLONE: &[(&str, &str)] = &[("status", "failed"), ("type", "clone")];

#[test]
fn control_endpoint_sets_and_clears_conditions() {
    let sim =
        Simulator::start(SimConfig::uniform(1, 2, 1, Version::V3_3, 3).control(true)).unwrap();
    sim.set_manual_time(Some(pinned_now()));
    let ctl = sim.control_addr().expect("control enabled");
    let info = sim.clusters().remove(0);
    let (leader, follower, be) = (
        info.node(NodeId::fe(0)).unwrap().addr,
        info.node(NodeId::fe(1)).unwrap().addr,
        info.node(NodeId::be(0)).unwrap().addr,
    );
    let body = |addr| parse_prom(get(addr, "/metrics", None).text());
    assert_eq!(
        value(&body(leader), LAG, &[]),
        None,
        "lag series off by default"
    );
    assert_eq!(
        value(
            &body(be),
            "starrocks_be_engine_requests_total",
            FAILED_CLONE
        ),
        Some(0.0)
    );

    let ok = |path: &str| assert_eq!(post(ctl, path).status, 200, "{path}");
    ok("/sim/condition?cluster=sim-1&kind=routine_load_lag&value=320000");
    ok("/sim/condition?cluster=sim-1&node=be0&kind=engine_failures&task=clone&value=30");
    ok("/sim/condition?cluster=sim-1&kind=routine_load_jobs&paused=2");
    sim.advance(Duration::from_secs(60));
    let lead = body(leader);
    // 3.3 shape: `job_name` only, on the leader only.
    assert_eq!(
        value(&lead, LAG, &[("job_name", "rl_orders")]),
        Some(320_000.0)
    );
    assert_eq!(value(&body(follower), LAG, &[]), None);
    let paused = [("state", "PAUSED")];
    assert_eq!(
        value(&lead, "starrocks_fe_routine_load_jobs", &paused),
        Some(2.0)
    );
    let failed = value(
        &body(be),
        "starrocks_be_engine_requests_total",
        FAILED_CLONE,
    );
    assert_eq!(failed, Some(30.0));

    ok("/sim/condition?cluster=sim-1&node=be0&clear=engine_failures&task=clone");
    sim.advance(Duration::from_secs(60));
    let failed = value(
        &body(be),
        "starrocks_be_engine_requests_total",
        FAILED_CLONE,
    );
    assert_eq!(
        failed,
        Some(30.0),
        "a counter keeps its count and stops growing"
    );
    assert!(
        value(&body(leader), LAG, &[]).is_some(),
        "other conditions stay"
    );

    ok("/sim/condition?cluster=sim-1&clear=all");
    assert_eq!(value(&body(leader), LAG, &[]), None);
    let lead = body(leader);
    assert_eq!(
        value(&lead, "starrocks_fe_routine_load_jobs", &paused),
        Some(0.0)
    );

    let bad = |path: &str| assert_eq!(post(ctl, path).status, 400, "{path}");
    bad("/sim/condition?cluster=sim-1&kind=cpu_busy");
    bad("/sim/condition?cluster=sim-1&kind=cpu_busy&value=101");
    bad("/sim/condition?cluster=sim-1&kind=nonsense&value=1");
    bad("/sim/condition?cluster=sim-1&node=fe0&kind=cpu_busy&value=50");
    bad("/sim/condition?cluster=sim-1&kind=txn_running&value=5");
    bad("/sim/condition?cluster=sim-1&kind=engine_failures&task=dance&value=5");
}

/// A twin simulator (same seed, same day, same clock) serves the same numbers, so its truth
/// is what the conditioned one would have served without the conditions.
#[test]
fn ground_truth_follows_conditions() {
    let config = || SimConfig::uniform(1, 1, 2, Version::V4_0, 5);
    let (sim, twin) = (
        Simulator::start(config()).unwrap(),
        Simulator::start(config()).unwrap(),
    );
    let t0 = pinned_now();
    sim.set_manual_time(Some(t0));
    twin.set_manual_time(Some(t0));
    sim.set_condition("sim-1", Some(NodeId::be(1)), Condition::CpuBusy(95.0))
        .unwrap();
    sim.set_condition("sim-1", None, Condition::QpsFactor(2.0))
        .unwrap();
    sim.set_condition("sim-1", None, Condition::HeapUsage(91.0))
        .unwrap();
    sim.advance(Duration::from_secs(60));
    let window = (t0, t0 + time::Duration::minutes(1));
    let after = sim.ground_truth("sim-1", window.0, window.1).unwrap();
    let plain = twin.ground_truth("sim-1", window.0, window.1).unwrap();
    let cpu = after.per_node_cpu_pct[&NodeId::be(1)];
    assert!((cpu - 95.0).abs() < 1e-6, "{cpu}");
    assert_eq!(
        after.per_node_cpu_pct[&NodeId::be(0)],
        plain.per_node_cpu_pct[&NodeId::be(0)]
    );
    let ratio = after.qps / plain.qps;
    assert!((ratio - 2.0).abs() < 1e-9, "{ratio}");
    let heap = after.jvm_heap_used as f64 / after.jvm_heap_max as f64 * 100.0;
    assert!((heap - 91.0).abs() < 0.01, "{heap}");
}
