//! Partial cycles: failed node lists, nodes in no list, compute nodes, runtime-info fallback,
//! and the serialized form of the snapshots.

use rockscope_engine::{EngineState, aggregate};
use rockscope_model::{FrontendRole, NodeKind, RuntimeInfo, SourceError};
use time::Duration;
use time::macros::datetime;

use crate::fixtures::*;

fn list_error(source: &str) -> SourceError {
    SourceError {
        source: source.to_owned(),
        code: "http_500".to_owned(),
        message: "internal error".to_owned(),
    }
}

fn be_body() -> String {
    Be {
        cpu: [10.0, 0.0, 10.0, 80.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        net: vec![("eth0", 1.0, 2.0)],
        disk: vec![("sda", 3.0, 4.0)],
        process_mem: 2.0 * GIB,
        base_score: 1.0,
        cumu_score: 2.0,
        running_base: 0.0,
        running_cumu: 0.0,
        wait_base: 0.0,
        wait_cumu: 0.0,
        compaction_bytes: (0.0, 0.0),
    }
    .body()
}

#[test]
fn failed_lists_fall_back_to_leader_node_info() {
    let at = datetime!(2025-03-01 10:00:00 UTC);
    let leader = Fe {
        leader: true,
        query_total: 10.0,
        qps: 2.0,
        ..Fe::base()
    };
    let mut input = cycle(
        at,
        Vec::new(),
        Vec::new(),
        vec![
            ok_scrape(
                NodeKind::Fe,
                "fe1_9010_1",
                "10.0.0.1",
                8030,
                leader.body(),
                at,
                5,
            ),
            ok_scrape(NodeKind::Be, "10001", "10.0.0.11", 8040, be_body(), at, 5),
        ],
    );
    input.frontends = Err(list_error("show_proc /frontends"));
    input.backends = Err(list_error("show_proc /backends"));
    input.compute_nodes = Err(list_error("show_proc /compute_nodes"));
    input.other_errors.push(list_error("runtime_info"));
    let a = aggregate(&EngineState::default(), &input);
    let s = &a.snapshot;
    // counts from the leader's node_info (2 BEs, 1 alive; 2 FEs alive; 0 CNs)
    assert_eq!(s.backend_total, Some(2));
    assert_eq!(s.backend_alive, Some(1));
    assert_eq!(s.backend_decommissioned, Some(0));
    assert_eq!(s.frontend_total, Some(2));
    assert_eq!(s.frontend_alive, Some(2));
    assert_eq!(s.frontend_follower_count, None);
    assert_eq!(s.compute_node_total, Some(0));
    assert_eq!(s.compute_node_alive, None);
    // leader from the body's is_master
    assert_eq!(s.leader_name.as_deref(), Some("fe1_9010_1"));
    assert_eq!(s.leader_host.as_deref(), Some("10.0.0.1"));
    assert_eq!(s.version, None);
    // no list: no disk, no tablets, no invented zeros
    assert_eq!(s.disk_total_bytes, None);
    assert_eq!(s.disk_usage_pct, None);
    assert_eq!(s.tablet_count, None);
    assert_eq!(s.running_query_contexts, None);
    assert_eq!(s.cpu_cores_total, None);
    // no MemLimit, no CpuUsedPct, no previous jiffies: no CPU or memory %
    assert_eq!(s.avg_cpu_usage, None);
    assert_eq!(s.total_memory_usage, None);
    assert_eq!(s.memory_used_bytes, Some((2.0 * GIB) as i64));
    // the FE's qps gauge (Δ/16 over its 15 s tick) corrected to Δ/15
    close(s.qps, 2.0 * 16.0 / 15.0);
    let sources: Vec<&str> = s.source_errors.iter().map(|e| e.source.as_str()).collect();
    assert_eq!(
        sources,
        [
            "show_proc /frontends",
            "show_proc /backends",
            "show_proc /compute_nodes",
            "runtime_info"
        ]
    );
    // nodes found in no list: alive if scraped, ids from the scrape
    assert_eq!(a.nodes.len(), 2);
    assert_eq!(a.nodes[0].role.as_deref(), Some("leader"));
    assert!(a.nodes[1].alive);
    assert_eq!(a.nodes[1].node_id, "10001");
    // the BE's storage from its own body when the list has none
    assert_eq!(a.nodes[1].disk_total_bytes, Some(1000));
}

#[test]
fn compute_nodes_and_runtime_info() {
    let at = datetime!(2025-03-01 10:00:00 UTC);
    let fes = vec![frontend(
        "fe1_9010_1",
        "10.0.0.1",
        FrontendRole::Leader,
        true,
    )];
    let bes = vec![backend(
        10001,
        "10.0.0.11",
        true,
        16,
        1 << 34,
        10.0,
        20.0,
        100,
        40,
        50,
        7,
        1,
    )];
    let mut input = cycle(
        at,
        fes,
        bes,
        vec![
            failed_scrape(NodeKind::Fe, "", "10.0.0.1", 8030, "timeout"),
            // scraped by address only: matched to its row by host and port
            ok_scrape(NodeKind::Cn, "", "10.0.0.21", 8040, be_body(), at, 5),
        ],
    );
    let mut dead_cn = compute_node(20002, "10.0.0.22", false, 4, 0.0);
    dead_cn.system_decommissioned = true;
    input.compute_nodes = Ok(vec![
        compute_node(20001, "10.0.0.21", true, 8, 60.0),
        dead_cn,
    ]);
    input.runtime_info = Some(RuntimeInfo {
        free_mem: GIB as u64,
        total_mem: 3 * GIB as u64,
        max_mem: 8 * GIB as u64,
        thread_cnt: 321,
    });
    let a = aggregate(&EngineState::default(), &input);
    let s = &a.snapshot;
    assert_eq!(s.compute_node_total, Some(2));
    assert_eq!(s.compute_node_alive, Some(1));
    assert_eq!(s.compute_node_decommissioned, Some(1));
    assert_eq!(s.distinct_versions, Some(2));
    // first scrape: no host CPU (it needs two jiffies readings), never the process CPU instead
    assert_eq!(s.total_cpu_usage, None);
    assert_eq!(s.avg_cpu_usage, None);
    assert_eq!(s.cpu_cores_total, Some(16 + 8 + 4));
    assert_eq!(s.running_query_contexts, Some(2));
    // the FE failed: heap and threads from the runtime info
    assert_eq!(s.jvm_heap_total, Some((8.0 * GIB) as i64));
    assert_eq!(s.jvm_heap_used, Some((2.0 * GIB) as i64));
    close(s.jvm_heap_usage_pct, 25.0);
    assert_eq!(s.jvm_thread_count, Some(321));
    assert_eq!(s.qps, None);
    assert_eq!(s.query_total, None);
    assert_eq!(s.leader_name.as_deref(), Some("fe1_9010_1"));
    // the disk of the single backend
    assert_eq!(s.disk_used_bytes, Some(60));
    close(s.disk_usage_pct, 60.0);
    assert_eq!(s.tablet_count, Some(7));
    assert_eq!(a.nodes.len(), 4);
    let cn = &a.nodes[2];
    assert_eq!((cn.node_type, cn.node_id.as_str()), (NodeKind::Cn, "20001"));
    // the list's CpuUsedPct is the process's CPU, in its own field
    assert_eq!(cn.cpu_usage_pct, None);
    close(cn.process_cpu_usage_pct, 60.0);
    close(a.nodes[1].process_cpu_usage_pct, 20.0);
    assert!(cn.scrape_ok);
    assert_eq!(a.nodes[3].scrape_error.as_deref(), Some("not scraped"));
    assert!(a.nodes[3].decommissioned);
    assert_eq!(
        a.nodes[0].scrape_error.as_deref(),
        Some("timeout: timeout while fetching /metrics")
    );
}

#[test]
fn snapshot_json_shape() {
    let at = datetime!(2025-03-01 10:00:00 UTC);
    let input = cycle(
        at,
        Vec::new(),
        Vec::new(),
        vec![ok_scrape(
            NodeKind::Be,
            "1",
            "10.0.0.11",
            8040,
            be_body(),
            at,
            5,
        )],
    );
    let a = aggregate(&EngineState::default(), &input);
    let json = serde_json::to_value(&a.snapshot).expect("json");
    let fields = json.as_object().expect("object").len();
    assert!(fields >= 90, "{fields} fields");
    for name in [
        "cluster_id",
        "collected_at",
        "qps",
        "rps",
        "query_latency_p50",
        "query_latency_p95",
        "query_latency_p99",
        "query_total",
        "query_success",
        "query_error",
        "query_timeout",
        "backend_total",
        "backend_alive",
        "frontend_total",
        "frontend_alive",
        "total_cpu_usage",
        "avg_cpu_usage",
        "total_memory_usage",
        "avg_memory_usage",
        "disk_total_bytes",
        "disk_used_bytes",
        "disk_usage_pct",
        "tablet_count",
        "max_compaction_score",
        "txn_running",
        "txn_success_total",
        "txn_failed_total",
        "load_running",
        "load_finished_total",
        "jvm_heap_total",
        "jvm_heap_used",
        "jvm_heap_usage_pct",
        "jvm_thread_count",
        "network_bytes_sent_total",
        "network_bytes_received_total",
        "network_send_rate",
        "network_receive_rate",
        "io_read_bytes_total",
        "io_write_bytes_total",
        "io_read_rate",
        "io_write_rate",
    ] {
        assert!(json.get(name).is_some(), "missing {name}");
    }
    assert_eq!(json["collected_at"], "2025-03-01T10:00:00Z");
    assert_eq!(json["qps"], serde_json::Value::Null);
    let back: rockscope_model::MetricsSnapshot = serde_json::from_value(json).expect("back");
    assert_eq!(back, a.snapshot);
    let node = serde_json::to_value(&a.nodes[0]).expect("node json");
    assert_eq!(node["node_type"], "be");
    // the state survives a JSON round trip, and gives the same next cycle
    let state_json = serde_json::to_string(&a.state).expect("state");
    let state: EngineState = serde_json::from_str(&state_json).expect("state back");
    assert_eq!(state, a.state);
    let mut next = input.clone();
    next.collected_at += Duration::seconds(30);
    if let Ok(m) = &mut next.scrapes[0].result {
        m.fetched_at += Duration::seconds(30);
    }
    assert_eq!(aggregate(&state, &next), aggregate(&a.state, &next));
}
