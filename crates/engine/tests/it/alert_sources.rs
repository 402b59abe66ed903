//! The alert-source fields against the simulator's conditions, fetched through the collector's
//! own path (`fetch_cycle`) and aggregated by the engine: each condition moves its field to the
//! value set, and clearing it brings the field back.
//!
//! The simulator's clock is pinned and moved 10 s between cycles, so interval counts are exact
//! amounts of the served counters (rates over wall-clock Δt would not be, so counts are checked,
//! not rates). Expected counts are the condition's rate × 10 s; where the model's own baseline
//! adds to them (queries, errors), the simulator's ground truth over the same window is the
//! reference.

use std::time::Duration;

use rockscope_engine::{Aggregation, EngineState, aggregate};
use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use rockscope_sim::{
    ClusterInfo, ClusterSpec, Condition, ConditionKind, EngineTask, NodeId, SimConfig, SimError,
    Simulator, Version,
};
use rockscope_starrocks::ClusterClient;
use time::OffsetDateTime;

use crate::ground_truth::{client_for, fetch};

const STEP: Duration = Duration::from_secs(10);

struct Run<'s> {
    sim: &'s Simulator,
    info: ClusterInfo,
    client: ClusterClient,
    state: EngineState,
}

impl<'s> Run<'s> {
    fn new(sim: &'s Simulator, name: &str) -> Run<'s> {
        let info = sim.cluster(name).expect("cluster");
        let client = client_for(&info);
        Run {
            sim,
            info,
            client,
            state: EngineState::default(),
        }
    }

    /// Moves the served clock by [`STEP`], then runs one cycle.
    fn step(&mut self) -> Aggregation {
        self.sim.advance(STEP);
        let input = fetch(&self.client, &self.info);
        for s in &input.scrapes {
            assert!(s.result.is_ok(), "{:?}", s.result);
        }
        let a = aggregate(&self.state, &input);
        assert!(
            a.snapshot.source_errors.is_empty(),
            "{:?}",
            a.snapshot.source_errors
        );
        self.state = a.state.clone();
        a
    }

    fn node<'a>(&self, a: &'a Aggregation, id: NodeId) -> &'a NodeSnapshot {
        let addr = self.info.nodes.iter().find(|n| n.id == id).unwrap().addr;
        a.nodes
            .iter()
            .find(|n| n.host == addr.ip().to_string() && n.http_port == addr.port())
            .unwrap_or_else(|| panic!("no snapshot of {id}"))
    }

    /// The queries and failed queries `sim` served over the last step.
    fn truth_queries(&self, sim: &Simulator) -> (u64, u64) {
        let to: OffsetDateTime = self.sim.now();
        let t = sim.ground_truth(&self.info.name, to - STEP, to).unwrap();
        (t.queries, t.query_errors)
    }
}

fn close(v: Option<f64>, want: f64, tol: f64) {
    let v = v.unwrap_or_else(|| panic!("expected {want}, got None"));
    assert!((v - want).abs() <= tol, "{v} vs {want}");
}

fn within(v: Option<i64>, lo: i64, hi: i64) {
    let v = v.expect("a value");
    assert!((lo..=hi).contains(&v), "{v} not in {lo}..={hi}");
}

fn set(sim: &Simulator, node: Option<NodeId>, c: Condition) {
    sim.set_condition("v4", node, c).unwrap();
}

/// Everything an alert watches, set at once (they touch different series).
fn set_all(sim: &Simulator) {
    let (be0, be1, fe0, fe1) = (NodeId::be(0), NodeId::be(1), NodeId::fe(0), NodeId::fe(1));
    set(
        sim,
        Some(be0),
        Condition::StoragePathUsage { path: 0, pct: 95.0 },
    );
    set(sim, None, Condition::DiskIoUtil(96.0));
    set(sim, Some(be1), Condition::CpuBusy(97.0));
    set(sim, Some(be0), Condition::MemoryUsage(93.0));
    set(sim, Some(be1), Condition::MaxRowsetNum(800));
    set(sim, Some(be0), Condition::CompactionScore(900.0));
    let fail = |task, per_minute| Condition::EngineFailures { task, per_minute };
    set(sim, None, fail(EngineTask::CumulativeCompaction, 30.0));
    set(sim, Some(be0), fail(EngineTask::BaseCompaction, 60.0));
    set(sim, Some(be1), fail(EngineTask::SchemaChange, 30.0));
    set(sim, Some(be1), fail(EngineTask::CreateRollup, 30.0));
    set(sim, Some(be0), fail(EngineTask::Clone, 120.0));
    set(sim, Some(fe1), Condition::HeapUsage(92.0));
    set(sim, Some(fe1), Condition::JvmThreads(3500));
    set(sim, Some(fe0), Condition::Connections(400));
    set(sim, Some(fe1), Condition::QueryLatencyP95(6000.0));
    set(sim, Some(fe0), Condition::QueryErrors(2.0));
    set(sim, Some(fe1), Condition::InternalQueryErrors(1.0));
    set(sim, None, Condition::QpsFactor(2.0));
    set(sim, None, Condition::MetaLogCount(150_000));
    let txns = Condition::LoadTransactions {
        begin_per_second: 2.0,
        failed_per_second: 0.5,
    };
    set(sim, None, txns);
    let jobs = Condition::RoutineLoadJobs {
        need_schedule: 4,
        paused: 2,
        unstable: 1,
    };
    set(sim, None, jobs);
    set(sim, None, Condition::RoutineLoadLag(350_000));
    set(sim, None, Condition::TxnRunning(950));
}

/// `twin` serves what the cluster would without the conditions (same seed, day and clock).
fn assert_under_pressure(run: &Run<'_>, a: &Aggregation, twin: &Simulator) {
    let s = &a.snapshot;
    let be0 = run.node(a, NodeId::be(0));
    assert_eq!(
        be0.fullest_disk_path.as_deref(),
        Some("/data1/starrocks/storage")
    );
    close(be0.fullest_disk_path_usage_pct, 95.0, 0.01);
    close(s.max_disk_io_util_pct, 96.0, 0.0);
    close(run.node(a, NodeId::be(1)).disk_io_util_pct, 96.0, 0.0);
    close(run.node(a, NodeId::be(1)).cpu_usage_pct, 97.0, 0.1);
    close(s.max_cpu_usage, 97.0, 0.1);
    close(be0.memory_usage_pct, 93.0, 0.01);
    close(s.max_memory_usage, 93.0, 0.01);
    assert_eq!(s.max_tablet_rowset_num, Some(800));
    assert_eq!(run.node(a, NodeId::be(1)).max_tablet_rowset_num, Some(800));
    close(s.max_compaction_score, 900.0, 0.0);
    // 10 s of failures: 30/min on both BEs, 60/min, 30 + 30/min, 120/min on one.
    assert_eq!(s.compaction_cumulative_failed_interval, Some(10));
    assert_eq!(s.compaction_base_failed_interval, Some(10));
    assert_eq!(s.schema_change_failed_interval, Some(10));
    assert_eq!(s.clone_failed_interval, Some(20));
    let fe1 = run.node(a, NodeId::fe(1));
    close(fe1.jvm_heap_usage_pct, 92.0, 0.01);
    close(s.max_jvm_heap_usage_pct, 92.0, 0.01);
    assert_eq!(fe1.jvm_thread_count, Some(3500));
    assert_eq!(run.node(a, NodeId::fe(0)).connections, Some(400));
    close(s.query_latency_p95, 6000.0, 0.01);
    // Errors: 2/s on fe0 plus 1/s internal on fe1, over the model's own; ±1 per FE counter.
    let (queries, errors) = run.truth_queries(run.sim);
    within(s.query_interval_error, errors as i64 - 2, errors as i64 + 2);
    assert!(errors >= 30, "{errors}");
    within(s.query_internal_error_interval, 10, 12);
    // The QPS doubled: twice the twin's queries, plus the 30 extra failed ones (±1 per FE
    // counter, ±1 for rounding the twin's).
    within(
        s.query_interval_total,
        queries as i64 - 2,
        queries as i64 + 2,
    );
    let plain = run.truth_queries(twin).0 as i64;
    let total = s.query_interval_total.unwrap();
    within(Some(total - 30), 2 * plain - 4, 2 * plain + 4);
    assert_eq!(s.meta_log_count, Some(150_000));
    within(s.txn_begin_interval, 19, 21);
    within(s.txn_failed_interval, 4, 6);
    assert_eq!(s.routine_load_need_schedule, Some(4));
    assert_eq!(s.routine_load_paused, Some(2));
    assert_eq!(s.routine_load_unstable, Some(1));
    assert_eq!(s.routine_load_max_lag, Some(350_000));
    assert_eq!(s.txn_running_max_db, Some(950));
}

/// A healthy cluster: under every StarRocks alert threshold, counts back to the model's.
fn assert_healthy(run: &Run<'_>, a: &Aggregation) {
    let s: &MetricsSnapshot = &a.snapshot;
    let be0 = run.node(a, NodeId::be(0));
    assert!(be0.fullest_disk_path_usage_pct.unwrap() < 90.0);
    assert!(s.max_disk_io_util_pct.unwrap() < 90.0);
    assert!(s.max_cpu_usage.unwrap() < 90.0);
    assert!(s.max_memory_usage.unwrap() < 90.0);
    assert!(s.max_tablet_rowset_num.unwrap() < 700);
    assert!(s.max_compaction_score.unwrap() < 100.0);
    assert_eq!(s.compaction_cumulative_failed_interval, Some(0));
    assert_eq!(s.compaction_base_failed_interval, Some(0));
    assert_eq!(s.schema_change_failed_interval, Some(0));
    assert_eq!(s.clone_failed_interval, Some(0));
    assert!(s.max_jvm_heap_usage_pct.unwrap() < 80.0);
    assert!(run.node(a, NodeId::fe(1)).jvm_thread_count.unwrap() < 3000);
    assert!(s.query_latency_p95.unwrap() < 5000.0);
    let (_, errors) = run.truth_queries(run.sim);
    within(s.query_interval_error, errors as i64 - 2, errors as i64 + 2);
    assert!(errors <= 2, "{errors} failed queries in 10 s");
    within(s.query_internal_error_interval, 0, 2);
    assert!(s.meta_log_count.unwrap() < 100_000);
    // At most 0.1 % × 30/s × 1.8 fail: under one per 10 s, so 0 or 1 as counters floor.
    within(s.txn_failed_interval, 0, 1);
    assert!(s.txn_begin_interval.unwrap() > 0);
    assert_eq!(s.routine_load_need_schedule, Some(0));
    assert_eq!(s.routine_load_paused, Some(0));
    assert_eq!(s.routine_load_unstable, Some(0));
    assert_eq!(s.routine_load_max_lag, None, "no lag series by default");
    assert!(s.txn_running_max_db.unwrap() < 900);
}

#[test]
fn conditions_move_the_alert_sources_and_back() {
    let config = || SimConfig {
        seed: 11,
        ..SimConfig::with_clusters(vec![ClusterSpec::new("v4", 2, 2, Version::V4_0)])
    };
    let sim = Simulator::start(config()).expect("simulator");
    let twin = Simulator::start(config()).expect("twin simulator");
    sim.set_manual_time(Some(sim.now()));
    twin.set_manual_time(Some(sim.now()));
    let mut run = Run::new(&sim, "v4");
    run.step();
    let healthy = run.step();
    assert_healthy(&run, &healthy);

    set_all(&sim);
    let pressed = run.step();
    assert_under_pressure(&run, &pressed, &twin);

    // One condition ended on one node, one on the cluster: the others stay.
    let be1 = NodeId::be(1);
    sim.clear_condition("v4", Some(be1), ConditionKind::CpuBusy)
        .unwrap();
    sim.clear_condition("v4", None, ConditionKind::RoutineLoadLag)
        .unwrap();
    let partly = run.step();
    assert!(run.node(&partly, be1).cpu_usage_pct.unwrap() < 90.0);
    assert_eq!(partly.snapshot.routine_load_max_lag, None);
    assert_eq!(partly.snapshot.meta_log_count, Some(150_000));
    assert_eq!(partly.snapshot.clone_failed_interval, Some(20));

    sim.clear_conditions("v4").unwrap();
    let cleared = run.step();
    assert_healthy(&run, &cleared);
}

#[test]
fn versions_without_a_series_refuse_its_condition_and_leave_it_null() {
    let sim = Simulator::start(SimConfig {
        seed: 11,
        ..SimConfig::with_clusters(vec![ClusterSpec::new("v30", 1, 1, Version::V3_0)])
    })
    .expect("simulator");
    sim.set_manual_time(Some(sim.now()));
    for c in [
        Condition::InternalQueryErrors(1.0),
        Condition::TxnRunning(950),
    ] {
        assert!(matches!(
            sim.set_condition("v30", None, c),
            Err(SimError::InvalidCondition(_))
        ));
    }
    // Conditions on the wrong kind of node, or out of range, are refused too.
    let on_fe = sim.set_condition("v30", Some(NodeId::fe(0)), Condition::CpuBusy(95.0));
    assert!(matches!(on_fe, Err(SimError::InvalidCondition(_))));
    let leader_on_node = sim.set_condition("v30", Some(NodeId::fe(0)), Condition::MetaLogCount(1));
    assert!(matches!(leader_on_node, Err(SimError::InvalidCondition(_))));
    let too_much = sim.set_condition("v30", None, Condition::MemoryUsage(120.0));
    assert!(matches!(too_much, Err(SimError::InvalidCondition(_))));

    let mut run = Run::new(&sim, "v30");
    run.step();
    let s = run.step().snapshot;
    assert_eq!(
        s.query_internal_error_interval, None,
        "3.0 has no query_internal_err"
    );
    assert_eq!(s.txn_running_max_db, None, "3.0 has no txn_running{{db}}");
    assert_eq!(s.routine_load_max_lag, None);
    assert!(s.query_interval_error.is_some());
    assert_eq!(s.clone_failed_interval, Some(0));
}
