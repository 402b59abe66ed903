//! A scripted four-cycle sequence over a 2-FE, 2-BE cluster, every derived field checked against
//! hand-computed values.
//!
//! * cycle 1 (10:00:00): first cycle, rates from the FE gauges, CPU from the list;
//! * cycle 2 (10:00:30): counter rates over 30 s;
//! * cycle 3 (10:01:00): fe2's scrape times out, be2 is dead (list and scrape);
//! * cycle 4 (10:01:30): leader change to fe2, which restarted (counter reset); NaN values;
//!   be2 back, its rates over 60 s since its last good scrape.

use rockscope_engine::{Aggregation, EngineState, aggregate};
use rockscope_model::{CycleInput, FrontendRole, NodeKind};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::fixtures::*;

const T0: OffsetDateTime = datetime!(2025-03-01 10:00:00 UTC);

fn fe1_c1() -> Fe {
    Fe {
        leader: true,
        query_total: 1000.0,
        success: 980.0,
        err: 15.0,
        timeout: 5.0,
        slow: 2.0,
        requests: 3000.0,
        qps: 10.0,
        rps: 30.0,
        window: Some([5.0, 3.0, 6.0, 9.0, 12.0, 20.0, 40.0]),
        summary: [7.0, 13.0, 17.0, 22.0, 45.0],
        lat_sum: 5000.0,
        lat_count: 1000.0,
        heap_max: 4.0 * GIB,
        heap_used: GIB,
        heap_committed: 2.0 * GIB,
        threads: 200.0,
        ygc: (10.0, 100.0),
        ogc: (1.0, 50.0),
        conns: 5.0,
        txn: [100.0, 90.0, 8.0, 2.0],
        load_finished: 50.0,
        jobs: [2.0, 1.0, 3.0, 40.0, 1.0],
        routine_running: 2.0,
        routine_paused: 1.0,
        txn_running: 3.0,
        max_score: 15.5,
        scheduled: 4.0,
        coordinators: None,
    }
}

fn fe2_c1() -> Fe {
    Fe {
        leader: false,
        query_total: 500.0,
        success: 490.0,
        err: 8.0,
        timeout: 2.0,
        slow: 1.0,
        requests: 1000.0,
        qps: 5.0,
        rps: 10.0,
        window: None,
        summary: [8.0, 14.0, 18.0, 30.0, 60.0],
        lat_sum: 3000.0,
        lat_count: 500.0,
        heap_max: 4.0 * GIB,
        heap_used: 2.0 * GIB,
        heap_committed: f64::NAN,
        threads: 100.0,
        ygc: (5.0, 40.0),
        ogc: (0.0, 0.0),
        conns: 3.0,
        // followers report 0 for the leader-only figures (the builder multiplies by 0)
        jobs: [9.0; 5],
        txn_running: 9.0,
        max_score: 99.0,
        ..Fe::base()
    }
}

fn be1_c1() -> Be {
    Be {
        cpu: [1000.0, 0.0, 500.0, 8000.0, 500.0, 0.0, 0.0, 0.0, 100.0, 0.0],
        net: vec![("eth0", 1_000_000.0, 2_000_000.0), ("lo", 999.0, 999.0)],
        disk: vec![("sda", 5_000_000.0, 10_000_000.0)],
        process_mem: 4.0 * GIB,
        base_score: 2.0,
        cumu_score: 5.0,
        running_base: 1.0,
        running_cumu: 1.0,
        wait_base: 0.0,
        wait_cumu: 3.0,
        compaction_bytes: (1000.0, 2000.0),
    }
}

fn be2_c1() -> Be {
    Be {
        cpu: [2000.0, 0.0, 1000.0, 20000.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        net: vec![
            ("eth0", 3_000_000.0, 1_000_000.0),
            ("eth1", 0.0, 0.0),
            ("lo", 5.0, 5.0),
        ],
        disk: vec![("nvme0n1", 1_000_000.0, 2_000_000.0)],
        process_mem: 16.0 * GIB,
        base_score: 1.0,
        cumu_score: 8.0,
        running_base: 0.0,
        running_cumu: 2.0,
        wait_base: 1.0,
        wait_cumu: 0.0,
        compaction_bytes: (0.0, 0.0),
    }
}

const TB: u64 = 1_000_000_000_000;

fn lists(
    fe2_leader: bool,
    be2_alive: bool,
) -> (
    Vec<rockscope_model::Frontend>,
    Vec<rockscope_model::Backend>,
) {
    let (r1, r2) = if fe2_leader {
        (FrontendRole::Follower, FrontendRole::Leader)
    } else {
        (FrontendRole::Leader, FrontendRole::Follower)
    };
    let mut fe2 = frontend("fe2_9010_2", "10.0.0.2", r2, true);
    fe2.replayed_journal_id = Some(990);
    let fes = vec![frontend("fe1_9010_1", "10.0.0.1", r1, true), fe2];
    let g = |x: f64| (x * GIB) as u64;
    let bes = vec![
        backend(
            10001,
            "10.0.0.11",
            true,
            8,
            g(16.0),
            25.0,
            11.0,
            TB,
            6 * TB / 10,
            35 * TB / 100,
            1000,
            2,
        ),
        backend(
            10002,
            "10.0.0.12",
            be2_alive,
            24,
            g(32.0),
            if be2_alive { 50.0 } else { 0.0 },
            if be2_alive { 40.0 } else { 0.0 },
            2 * TB,
            TB / 2,
            12 * TB / 10,
            3000,
            5,
        ),
    ];
    (fes, bes)
}

fn fe_scrape(n: u8, fe: &Fe, at: OffsetDateTime) -> rockscope_model::NodeScrape {
    ok_scrape(
        NodeKind::Fe,
        &format!("fe{n}_9010_{n}"),
        &format!("10.0.0.{n}"),
        8030,
        fe.body(),
        at,
        40 + u64::from(n),
    )
}

fn be_scrape(n: u8, be: &Be, at: OffsetDateTime) -> rockscope_model::NodeScrape {
    ok_scrape(
        NodeKind::Be,
        &format!("1000{n}"),
        &format!("10.0.0.1{n}"),
        8040,
        be.body(),
        at,
        100 * u64::from(n),
    )
}

fn s(secs: i64) -> OffsetDateTime {
    T0 + Duration::seconds(secs)
}

fn cycle1() -> CycleInput {
    let (fes, bes) = lists(false, true);
    cycle(
        T0,
        fes,
        bes,
        vec![
            fe_scrape(1, &fe1_c1(), s(1)),
            fe_scrape(2, &fe2_c1(), s(1)),
            be_scrape(1, &be1_c1(), s(2)),
            be_scrape(2, &be2_c1(), s(2)),
        ],
    )
}

fn fe1_c2() -> Fe {
    let mut f = fe1_c1();
    f.query_total = 1300.0;
    f.success = 1270.0;
    f.err = 23.0;
    f.timeout = 7.0;
    f.slow = 3.0;
    f.requests = 3900.0;
    f.lat_sum = 8000.0;
    f.lat_count = 1300.0;
    f.window = Some([10.0, 3.0, 6.0, 9.0, 12.0, 25.0, 40.0]);
    f.ygc = (12.0, 130.0);
    f.ogc = (2.0, 150.0);
    f.txn = [130.0, 118.0, 10.0, 2.0];
    f.load_finished = 60.0;
    f
}

fn fe2_c2() -> Fe {
    let mut f = fe2_c1();
    f.query_total = 600.0;
    f.success = 585.0;
    f.err = 10.0;
    f.timeout = 3.0;
    f.slow = 1.0;
    f.requests = 1300.0;
    f.summary = [8.0, 14.0, 18.0, 32.0, 60.0];
    f.lat_sum = 4500.0;
    f.lat_count = 600.0;
    f
}

fn be1_c2() -> Be {
    let mut b = be1_c1();
    b.cpu = [
        1600.0, 0.0, 700.0, 8900.0, 600.0, 50.0, 50.0, 100.0, 400.0, 0.0,
    ];
    b.net = vec![
        ("eth0", 4_000_000.0, 3_500_000.0),
        ("lo", 99_999_999.0, 99_999_999.0),
    ];
    b.disk = vec![("sda", 5_600_000.0, 13_000_000.0)];
    b.compaction_bytes = (1000.0, 32_000.0);
    b
}

fn be2_c2() -> Be {
    let mut b = be2_c1();
    b.cpu = [3200.0, 0.0, 1600.0, 24200.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    b.net = vec![
        ("eth0", 3_600_000.0, 1_300_000.0),
        ("eth1", 0.0, 0.0),
        ("lo", 5.0, 5.0),
    ];
    b.disk = vec![("nvme0n1", 1_000_000.0, 3_500_000.0)];
    b
}

fn cycle2() -> CycleInput {
    let (fes, bes) = lists(false, true);
    cycle(
        s(30),
        fes,
        bes,
        vec![
            fe_scrape(1, &fe1_c2(), s(31)),
            fe_scrape(2, &fe2_c2(), s(31)),
            be_scrape(1, &be1_c2(), s(32)),
            be_scrape(2, &be2_c2(), s(32)),
        ],
    )
}

fn fe1_c3() -> Fe {
    let mut f = fe1_c2();
    f.query_total = 1600.0;
    f.success = 1565.0;
    f.err = 26.0;
    f.timeout = 8.0;
    f.requests = 4800.0;
    f.lat_sum = 11000.0;
    f.lat_count = 1600.0;
    f.window = Some([10.0, 3.0, 6.0, 9.0, 12.0, 30.0, 40.0]);
    f
}

fn be1_c3() -> Be {
    let mut b = be1_c2();
    b.cpu = [
        1900.0, 0.0, 800.0, 10300.0, 800.0, 50.0, 50.0, 100.0, 400.0, 0.0,
    ];
    b.net = vec![("eth0", 5_500_000.0, 4_100_000.0), ("lo", 0.0, 0.0)];
    b.disk = vec![("sda", 5_900_000.0, 13_000_000.0)];
    b
}

fn cycle3() -> CycleInput {
    let (fes, bes) = lists(false, false);
    cycle(
        s(60),
        fes,
        bes,
        vec![
            fe_scrape(1, &fe1_c3(), s(61)),
            failed_scrape(NodeKind::Fe, "fe2_9010_2", "10.0.0.2", 8030, "timeout"),
            be_scrape(1, &be1_c3(), s(62)),
            failed_scrape(NodeKind::Be, "10002", "10.0.0.12", 8040, "connect"),
        ],
    )
}

fn fe1_c4() -> Fe {
    let mut f = fe1_c3();
    f.leader = false;
    f.query_total = 1900.0;
    f.success = 1865.0;
    f.requests = 5700.0;
    f.lat_sum = 14000.0;
    f.lat_count = 1900.0;
    f.window = Some([10.0, 3.0, 6.0, 9.0, 12.0, 20.0, 40.0]);
    f.qps = f64::NAN;
    f.heap_used = f64::NAN;
    f
}

fn fe2_c4() -> Fe {
    Fe {
        leader: true,
        query_total: 50.0,
        success: 48.0,
        err: 2.0,
        timeout: 0.0,
        slow: 0.0,
        requests: 120.0,
        qps: 0.5,
        rps: 2.0,
        window: None,
        summary: [9.0, 20.0, 30.0, 40.0, 80.0],
        lat_sum: 500.0,
        lat_count: 50.0,
        heap_used: GIB,
        threads: 80.0,
        jobs: [1.0, 0.0, 0.0, 0.0, 0.0],
        max_score: 9.0,
        ..Fe::base()
    }
}

fn be1_c4() -> Be {
    let mut b = be1_c3();
    b.cpu = [
        2400.0, 0.0, 900.0, 11600.0, 900.0, 50.0, 50.0, 100.0, 400.0, 0.0,
    ];
    b.net = vec![("eth0", 5_800_000.0, 4_100_000.0), ("lo", 0.0, 0.0)];
    b
}

fn be2_c4() -> Be {
    let mut b = be2_c2();
    b.cpu = [5600.0, 0.0, 2800.0, 32600.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
    b.net = vec![
        ("eth0", 4_800_000.0, f64::NAN),
        ("eth1", 0.0, f64::NAN),
        ("lo", 5.0, 5.0),
    ];
    b
}

fn cycle4() -> CycleInput {
    let (fes, bes) = lists(true, true);
    cycle(
        s(90),
        fes,
        bes,
        vec![
            fe_scrape(1, &fe1_c4(), s(91)),
            fe_scrape(2, &fe2_c4(), s(91)),
            be_scrape(1, &be1_c4(), s(92)),
            be_scrape(2, &be2_c4(), s(92)),
        ],
    )
}

/// Runs cycles 1..=n and returns every aggregation.
pub fn run(n: usize) -> Vec<Aggregation> {
    let inputs = [cycle1(), cycle2(), cycle3(), cycle4()];
    let mut state = EngineState::default();
    let mut out = Vec::new();
    for input in inputs.iter().take(n) {
        let a = aggregate(&state, input);
        state = a.state.clone();
        out.push(a);
    }
    out
}

#[test]
fn first_cycle_uses_gauges_and_list_cpu() {
    let a = &run(1)[0];
    let s = &a.snapshot;
    assert_eq!(s.cluster_id, 7);
    assert_eq!(s.collected_at, T0);
    // queries
    // the FEs' gauges (Δ/16 over MetricCalculator's 15 s tick) corrected to Δ/15
    close(s.qps, 15.0 * 16.0 / 15.0);
    close(s.rps, 40.0 * 16.0 / 15.0);
    assert!(s.rates_from_gauges);
    assert_eq!(s.query_total, Some(1500));
    assert_eq!(s.query_success, Some(1470));
    assert_eq!(s.query_error, Some(23));
    assert_eq!(s.query_timeout, Some(7));
    assert_eq!(s.slow_query_total, Some(3));
    assert_eq!(s.request_total, Some(4000));
    assert_eq!(s.query_interval_total, None);
    assert_eq!(s.query_interval_success, None);
    assert_eq!(s.query_interval_error, None);
    assert_eq!(s.query_interval_timeout, None);
    assert_eq!(s.slow_query_interval, None);
    assert_eq!(s.query_error_rate, None);
    assert_eq!(s.query_error_per_second, None);
    assert_eq!(s.fe_connections, Some(8));
    assert_eq!(s.query_queue_pending, None);
    assert_eq!(s.running_query_contexts, Some(7));
    // latency: both FEs served queries (qps gauges 10 and 5); percentiles are the larger of
    // fe1's window and fe2's summary, the mean is weighted by the rates: fe1 window mean 5,
    // fe2 reservoir mean 3000 / 500 = 6
    close(s.query_latency_p50, 3.0);
    close(s.query_latency_p75, 8.0);
    close(s.query_latency_p90, 9.0);
    close(s.query_latency_p95, 14.0);
    close(s.query_latency_p99, 30.0);
    close(s.query_latency_p999, 60.0);
    close(s.query_latency_mean, (5.0 * 10.0 + 6.0 * 5.0) / 15.0);
    // nodes
    assert_eq!(s.backend_total, Some(2));
    assert_eq!(s.backend_alive, Some(2));
    assert_eq!(s.backend_decommissioned, Some(0));
    assert_eq!(s.frontend_total, Some(2));
    assert_eq!(s.frontend_alive, Some(2));
    assert_eq!(s.frontend_follower_count, Some(1));
    assert_eq!(s.frontend_observer_count, Some(0));
    assert_eq!(s.compute_node_total, Some(0));
    assert_eq!(s.compute_node_alive, Some(0));
    assert_eq!(s.compute_node_decommissioned, Some(0));
    assert_eq!(s.leader_name.as_deref(), Some("fe1_9010_1"));
    assert_eq!(s.leader_host.as_deref(), Some("10.0.0.1"));
    assert_eq!(s.version.as_deref(), Some("3.3.10-227b0b3"));
    assert_eq!(s.distinct_versions, Some(1));
    assert_eq!(s.journal_replay_lag, Some(10));
    // no previous jiffies: no host CPU; the lists' CpuUsedPct (the BE process's CPU, 11 % and
    // 40 %) is a different quantity, shown per node in its own field
    assert_eq!(s.total_cpu_usage, None);
    assert_eq!(s.avg_cpu_usage, None);
    assert_eq!(s.max_cpu_usage, None);
    close(a.nodes[2].process_cpu_usage_pct, 11.0);
    close(a.nodes[3].process_cpu_usage_pct, 40.0);
    assert_eq!(s.cpu_cores_total, Some(32));
    // memory: 4 of 16 GiB, 16 of 32 GiB
    close(s.total_memory_usage, 20.0 / 48.0 * 100.0);
    close(s.avg_memory_usage, 37.5);
    close(s.max_memory_usage, 50.0);
    assert_eq!(s.memory_used_bytes, Some((20.0 * GIB) as i64));
    assert_eq!(s.memory_limit_bytes, Some((48.0 * GIB) as i64));
    // disk: 1 TB (0.6 avail) + 2 TB (0.5 avail)
    assert_eq!(s.disk_total_bytes, Some(3 * TB as i64));
    assert_eq!(s.disk_used_bytes, Some(19 * TB as i64 / 10));
    assert_eq!(s.disk_avail_bytes, Some(11 * TB as i64 / 10));
    close(s.disk_usage_pct, 1.9 / 3.0 * 100.0);
    close(s.max_disk_usage_pct, 75.0);
    close(s.max_storage_root_usage_pct, 70.0);
    assert_eq!(s.data_used_bytes, Some(155 * TB as i64 / 100));
    assert_eq!(s.tablet_count, Some(4000));
    // compaction
    close(s.max_compaction_score, 15.5);
    close(s.base_compaction_score, 2.0);
    close(s.cumulative_compaction_score, 8.0);
    assert_eq!(s.compaction_tasks_running, Some(4));
    assert_eq!(s.compaction_tasks_waiting, Some(4));
    assert_eq!(s.compaction_bytes_rate, None);
    assert_eq!(s.scheduled_tablet_num, Some(4));
    // transactions and loads (leader-only from fe1; counters summed)
    assert_eq!(s.txn_running, Some(3));
    assert_eq!(s.txn_begin_total, Some(100));
    assert_eq!(s.txn_success_total, Some(90));
    assert_eq!(s.txn_failed_total, Some(8));
    assert_eq!(s.txn_reject_total, Some(2));
    assert_eq!(s.txn_begin_rate, None);
    assert_eq!(s.load_running, Some(3));
    assert_eq!(s.load_pending, Some(3));
    assert_eq!(s.load_jobs_finished, Some(40));
    assert_eq!(s.load_jobs_cancelled, Some(1));
    assert_eq!(s.load_finished_total, Some(50));
    assert_eq!(s.routine_load_running, Some(2));
    assert_eq!(s.routine_load_paused, Some(1));
    assert_eq!(s.routine_load_need_schedule, Some(0));
    assert_eq!(s.routine_load_unstable, None);
    assert_eq!(s.routine_load_stopped, None);
    assert_eq!(s.routine_load_cancelled, None);
    // JVM
    assert_eq!(s.jvm_heap_total, Some((8.0 * GIB) as i64));
    assert_eq!(s.jvm_heap_used, Some((3.0 * GIB) as i64));
    close(s.jvm_heap_usage_pct, 37.5);
    close(s.max_jvm_heap_usage_pct, 50.0);
    assert_eq!(
        s.jvm_heap_committed,
        Some((2.0 * GIB) as i64),
        "fe2's NaN is missing"
    );
    assert_eq!(s.jvm_thread_count, Some(300));
    assert_eq!(s.jvm_young_gc_count, Some(15));
    assert_eq!(s.jvm_young_gc_time_ms, Some(140));
    assert_eq!(s.jvm_old_gc_count, Some(1));
    assert_eq!(s.jvm_old_gc_time_ms, Some(50));
    assert_eq!(s.jvm_old_gc_interval, None);
    assert_eq!(s.jvm_gc_time_rate, None);
    // network and IO: loopback excluded, no rates yet
    assert_eq!(s.network_bytes_sent_total, Some(4_000_000));
    assert_eq!(s.network_bytes_received_total, Some(3_000_000));
    assert_eq!(s.network_send_rate, None);
    assert_eq!(s.network_receive_rate, None);
    assert_eq!(s.io_read_bytes_total, Some(6_000_000));
    assert_eq!(s.io_write_bytes_total, Some(12_000_000));
    assert_eq!(s.io_read_rate, None);
    assert_eq!(s.io_write_rate, None);
    // scrape health
    assert_eq!(s.scrape_nodes_total, 4);
    assert_eq!(s.scrape_nodes_ok, 4);
    assert_eq!(s.scrape_fe_ok, 2);
    assert_eq!(s.scrape_be_ok, 2);
    assert_eq!(s.scrape_duration_max_ms, Some(200));
    close(
        s.scrape_duration_avg_ms,
        (41.0 + 42.0 + 100.0 + 200.0) / 4.0,
    );
    // Each FE body carries StarRocks' `rpc_server_8060_version "brpc"` line, not a sample.
    assert_eq!(s.scrape_skipped_lines, 2);
    assert_eq!(s.interval_seconds, None);
    assert!(s.source_errors.is_empty());
    // state: one entry per scraped node
    assert_eq!(
        a.state.nodes.keys().collect::<Vec<_>>(),
        [
            "be/10.0.0.11:8040",
            "be/10.0.0.12:8040",
            "fe/10.0.0.1:8030",
            "fe/10.0.0.2:8030"
        ]
    );
}

#[test]
fn second_cycle_rates_from_counters() {
    let runs = run(2);
    let s = &runs[1].snapshot;
    assert!(!s.rates_from_gauges);
    close(s.interval_seconds, 30.0);
    close(s.qps, 300.0 / 30.0 + 100.0 / 30.0);
    close(s.rps, 900.0 / 30.0 + 300.0 / 30.0);
    assert_eq!(s.query_total, Some(1900));
    assert_eq!(s.query_interval_total, Some(400));
    assert_eq!(s.query_interval_success, Some(385));
    assert_eq!(s.query_interval_error, Some(10));
    assert_eq!(s.query_interval_timeout, Some(3));
    assert_eq!(s.slow_query_interval, Some(1));
    close(s.query_error_rate, 2.5);
    close(s.query_error_per_second, 10.0 / 30.0);
    // percentiles: the larger of fe1's and fe2's
    close(s.query_latency_p99, 32.0);
    close(s.query_latency_p95, 14.0);
    close(s.query_latency_p50, 3.0);
    // means weighted by the interval's queries, 300 (fe1) and 100 (fe2): fe1's window mean 10,
    // fe2's reservoir mean 4500 / 600 = 7.5
    close(s.query_latency_mean, (10.0 * 300.0 + 7.5 * 100.0) / 400.0);
    // CPU from jiffies: be1 1000 busy of 2000 (guest excluded), be2 1800 of 6000
    close(s.total_cpu_usage, (50.0 * 8.0 + 30.0 * 24.0) / 32.0);
    close(s.avg_cpu_usage, 40.0);
    close(s.max_cpu_usage, 50.0);
    // network and IO over 30 s, lo excluded
    close(s.network_send_rate, 3_000_000.0 / 30.0 + 600_000.0 / 30.0);
    close(
        s.network_receive_rate,
        1_500_000.0 / 30.0 + 300_000.0 / 30.0,
    );
    close(s.io_read_rate, 600_000.0 / 30.0);
    close(s.io_write_rate, 3_000_000.0 / 30.0 + 1_500_000.0 / 30.0);
    assert_eq!(s.network_bytes_sent_total, Some(7_600_000));
    assert_eq!(s.io_write_bytes_total, Some(16_500_000));
    close(s.compaction_bytes_rate, 30_000.0 / 30.0);
    // JVM GC: fe1 one old GC, (30 + 100) ms of GC in 30 s
    assert_eq!(s.jvm_old_gc_interval, Some(1));
    close(s.jvm_gc_time_rate, 130.0 / 30.0);
    close(s.txn_begin_rate, 1.0);
    assert_eq!(s.txn_success_total, Some(118));
    assert_eq!(s.load_finished_total, Some(60));

    let n = &runs[1].nodes;
    assert_eq!(n.len(), 4);
    let fe1 = &n[0];
    assert_eq!(
        (fe1.node_type, fe1.node_id.as_str()),
        (NodeKind::Fe, "fe1_9010_1")
    );
    assert_eq!(fe1.role.as_deref(), Some("leader"));
    close(fe1.qps, 10.0);
    close(fe1.query_latency_p99, 25.0);
    close(fe1.jvm_heap_usage_pct, 25.0);
    assert_eq!(fe1.connections, Some(5));
    assert_eq!(n[1].role.as_deref(), Some("follower"));
    close(n[1].query_latency_p99, 32.0);
    let be1 = &n[2];
    assert_eq!(
        (be1.node_type, be1.node_id.as_str()),
        (NodeKind::Be, "10001")
    );
    assert!(be1.alive && be1.scrape_ok);
    close(be1.cpu_usage_pct, 50.0);
    close(be1.memory_usage_pct, 25.0);
    assert_eq!(be1.memory_used_bytes, Some((4.0 * GIB) as i64));
    assert_eq!(be1.disk_total_bytes, Some(TB as i64));
    assert_eq!(be1.disk_used_bytes, Some(4 * TB as i64 / 10));
    close(be1.disk_usage_pct, 40.0);
    assert_eq!(be1.tablet_count, Some(1000));
    close(be1.compaction_score, 5.0);
    close(be1.network_send_rate, 100_000.0);
    close(be1.io_write_rate, 100_000.0);
    assert_eq!(be1.scrape_duration_ms, Some(100));
    assert_eq!(be1.cpu_cores, Some(8));
    close(n[3].cpu_usage_pct, 30.0);
}

#[test]
fn missing_fe_and_dead_be() {
    let runs = run(3);
    let a = &runs[2];
    let s = &a.snapshot;
    // only fe1 counted
    close(s.qps, 10.0);
    assert_eq!(s.query_total, Some(1600));
    assert_eq!(s.query_interval_total, Some(300));
    assert_eq!(s.query_interval_error, Some(3));
    close(s.query_error_rate, 1.0);
    close(s.query_latency_p99, 30.0);
    close(s.query_latency_mean, 10.0);
    assert_eq!(s.fe_connections, Some(5));
    assert_eq!(s.jvm_heap_total, Some((4.0 * GIB) as i64));
    assert_eq!(s.jvm_thread_count, Some(200));
    // node counts from the lists
    assert_eq!(s.backend_total, Some(2));
    assert_eq!(s.backend_alive, Some(1));
    assert_eq!(s.frontend_alive, Some(2));
    // the dead BE is out of CPU and memory, in disk and tablets
    close(s.total_cpu_usage, 20.0);
    close(s.avg_cpu_usage, 20.0);
    close(s.total_memory_usage, 25.0);
    close(s.avg_memory_usage, 25.0);
    assert_eq!(s.disk_total_bytes, Some(3 * TB as i64));
    assert_eq!(s.tablet_count, Some(4000));
    assert_eq!(s.running_query_contexts, Some(2));
    // rates only from be1
    close(s.network_send_rate, 50_000.0);
    close(s.network_receive_rate, 20_000.0);
    close(s.io_read_rate, 10_000.0);
    close(s.io_write_rate, 0.0);
    // scrape health and errors
    assert_eq!(s.scrape_nodes_total, 4);
    assert_eq!(s.scrape_nodes_ok, 2);
    assert_eq!(s.scrape_fe_ok, 1);
    assert_eq!(s.scrape_be_ok, 1);
    let codes: Vec<(&str, &str)> = s
        .source_errors
        .iter()
        .map(|e| (e.source.as_str(), e.code.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("metrics 10.0.0.2:8030", "timeout"),
            ("metrics 10.0.0.12:8040", "connect")
        ]
    );
    let be2 = &a.nodes[3];
    assert!(!be2.alive && !be2.scrape_ok);
    assert_eq!(
        be2.scrape_error.as_deref(),
        Some("connect: connect while fetching /metrics")
    );
    assert_eq!(be2.cpu_usage_pct, None, "no scrape, no host CPU");
    assert_eq!(
        be2.process_cpu_usage_pct,
        Some(0.0),
        "the list's CpuUsedPct, shown per node"
    );
    assert_eq!(be2.network_send_rate, None);
    // failed nodes keep their previous counters for the next cycle
    assert_eq!(
        a.state.nodes["fe/10.0.0.2:8030"].fetched_at,
        T0 + Duration::seconds(31)
    );
    assert_eq!(
        a.state.nodes["be/10.0.0.12:8040"].fetched_at,
        T0 + Duration::seconds(32)
    );
}

#[test]
fn leader_change_restart_and_nan() {
    let runs = run(4);
    let s = &runs[3].snapshot;
    // fe1: +300 in 30 s; fe2 restarted (600 -> 50: increase 50) over 60 s since its last scrape
    close(s.qps, 10.0 + 50.0 / 60.0);
    assert!(!s.rates_from_gauges);
    assert_eq!(s.query_total, Some(1950));
    assert_eq!(s.query_interval_total, Some(350));
    assert_eq!(s.query_interval_error, Some(2));
    close(s.query_error_rate, 2.0 / 350.0 * 100.0);
    // fe1 window p99 20, fe2 summary p99 40: the larger
    close(s.query_latency_p99, 40.0);
    // p50 and p90 only from fe1's window
    close(s.query_latency_p50, 3.0);
    close(s.query_latency_p90, 9.0);
    // means: fe1's window 10 (300 queries), fe2's reservoir 500/50 (50 queries)
    close(s.query_latency_mean, 10.0);
    // the leader is now fe2: leader-only figures from its body
    assert_eq!(s.leader_name.as_deref(), Some("fe2_9010_2"));
    assert_eq!(s.leader_host.as_deref(), Some("10.0.0.2"));
    assert_eq!(s.load_running, Some(1));
    assert_eq!(s.load_pending, Some(0));
    close(s.max_compaction_score, 9.0);
    assert_eq!(s.txn_running, Some(0));
    assert_eq!(
        s.journal_replay_lag,
        Some(0),
        "fe2 leads at 990, the slowest is 990"
    );
    // NaN heap used on fe1: used from fe2 only, percentage over FEs that report both
    assert_eq!(s.jvm_heap_used, Some(GIB as i64));
    assert_eq!(s.jvm_heap_total, Some((8.0 * GIB) as i64));
    close(s.jvm_heap_usage_pct, 25.0);
    assert_eq!(runs[3].nodes[0].jvm_heap_usage_pct, None);
    assert_eq!(runs[3].nodes[0].role.as_deref(), Some("follower"));
    assert_eq!(runs[3].nodes[1].role.as_deref(), Some("leader"));
    // CPU: be1 600 busy of 2000, be2 3600 of 12000 over 60 s
    close(s.total_cpu_usage, 30.0);
    close(s.avg_cpu_usage, 30.0);
    // be1 +300 000 in 30 s, be2 +1 200 000 in 60 s; be2's receive counters are NaN
    close(s.network_send_rate, 10_000.0 + 20_000.0);
    close(s.network_receive_rate, 0.0);
    assert_eq!(runs[3].nodes[3].network_receive_rate, None);
    close(runs[3].nodes[3].network_send_rate, 20_000.0);
    assert_eq!(s.backend_alive, Some(2));
    assert!(s.source_errors.is_empty());
}

#[test]
fn same_input_same_output() {
    let a = aggregate(&EngineState::default(), &cycle2());
    let b = aggregate(&EngineState::default(), &cycle2());
    assert_eq!(a, b);
    // without state, a later cycle is a first cycle again
    assert!(a.snapshot.rates_from_gauges);
}

#[test]
fn stale_state_is_forgotten() {
    let first = aggregate(&EngineState::default(), &cycle1());
    // the same cluster an hour later: no rate across the gap
    let mut late = cycle2();
    late.collected_at += Duration::hours(1);
    for s in &mut late.scrapes {
        if let Ok(m) = &mut s.result {
            m.fetched_at += Duration::hours(1);
        }
    }
    let a = aggregate(&first.state, &late);
    assert!(a.snapshot.rates_from_gauges);
    assert_eq!(a.snapshot.query_interval_total, None);
    assert_eq!(a.snapshot.network_send_rate, None);
}
