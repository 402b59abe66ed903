//! Builders for node rows, `/metrics` bodies in StarRocks' own shapes, and cycle inputs.

use rockscope_model::{
    Backend, ComputeNode, CycleInput, Frontend, FrontendRole, MetricsScrape, NodeKind, NodeRef,
    NodeScrape, SourceError,
};
use time::OffsetDateTime;

pub const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

pub fn frontend(name: &str, ip: &str, role: FrontendRole, alive: bool) -> Frontend {
    Frontend {
        id: None,
        name: name.to_owned(),
        ip: ip.to_owned(),
        edit_log_port: Some(9010),
        http_port: 8030,
        query_port: Some(9030),
        rpc_port: Some(9020),
        role,
        cluster_id: Some(1),
        join: Some(true),
        alive,
        replayed_journal_id: Some(1000),
        last_heartbeat: None,
        is_helper: Some(true),
        err_msg: String::new(),
        start_time: None,
        version: Some("3.3.10-227b0b3".to_owned()),
    }
}

/// A BE row: id, ip, cores, MemLimit, MemUsedPct, CpuUsedPct, total, avail, data used, tablets,
/// running queries.
#[allow(clippy::too_many_arguments)]
pub fn backend(
    id: u64,
    ip: &str,
    alive: bool,
    cores: u32,
    mem_limit: u64,
    mem_pct: f64,
    cpu_pct: f64,
    total: u64,
    avail: u64,
    data_used: u64,
    tablets: u64,
    running: u64,
) -> Backend {
    Backend {
        backend_id: id,
        ip: ip.to_owned(),
        heartbeat_port: Some(9050),
        be_port: Some(9060),
        http_port: 8040,
        brpc_port: Some(8060),
        last_start_time: None,
        last_heartbeat: None,
        alive,
        system_decommissioned: false,
        cluster_decommissioned: false,
        tablet_num: Some(tablets),
        data_used_capacity_bytes: Some(data_used),
        avail_capacity_bytes: Some(avail),
        total_capacity_bytes: Some(total),
        used_pct: None,
        max_disk_used_pct: Some(70.0),
        err_msg: if alive {
            String::new()
        } else {
            "connection refused".to_owned()
        },
        version: Some("3.3.10-227b0b3".to_owned()),
        status_last_report_tablets_time: None,
        data_total_capacity_bytes: None,
        data_used_pct: None,
        cpu_cores: Some(cores),
        mem_limit_bytes: Some(mem_limit),
        num_running_queries: Some(running),
        mem_used_pct: Some(mem_pct),
        cpu_used_pct: Some(cpu_pct),
        data_cache_metrics: None,
        location: None,
        status_code: None,
        starlet_port: None,
        worker_id: None,
        warehouse_name: None,
    }
}

pub fn compute_node(id: u64, ip: &str, alive: bool, cores: u32, cpu_pct: f64) -> ComputeNode {
    ComputeNode {
        compute_node_id: id,
        ip: ip.to_owned(),
        heartbeat_port: Some(9050),
        be_port: Some(9060),
        http_port: 8040,
        brpc_port: Some(8060),
        last_start_time: None,
        last_heartbeat: None,
        alive,
        system_decommissioned: false,
        cluster_decommissioned: false,
        err_msg: String::new(),
        version: Some("3.3.11".to_owned()),
        cpu_cores: Some(cores),
        mem_limit_bytes: Some(8 * 1024 * 1024 * 1024),
        num_running_queries: Some(1),
        mem_used_pct: Some(10.0),
        cpu_used_pct: Some(cpu_pct),
        has_storage_path: Some(false),
        data_cache_metrics: None,
        location: None,
        status_code: None,
        starlet_port: None,
        worker_id: None,
        warehouse_name: None,
        tablet_num: None,
    }
}

/// What an FE body says. Values are f64 so that NaN can be written.
#[derive(Debug, Clone)]
pub struct Fe {
    pub leader: bool,
    pub query_total: f64,
    pub success: f64,
    pub err: f64,
    pub timeout: f64,
    pub slow: f64,
    pub requests: f64,
    pub qps: f64,
    pub rps: f64,
    /// mean, p50, p75, p90, p95, p99, p999; `None` writes zeros (window not populated).
    pub window: Option<[f64; 7]>,
    /// p75, p95, p98, p99, p999.
    pub summary: [f64; 5],
    pub lat_sum: f64,
    pub lat_count: f64,
    pub heap_max: f64,
    pub heap_used: f64,
    pub heap_committed: f64,
    pub threads: f64,
    pub ygc: (f64, f64),
    pub ogc: (f64, f64),
    pub conns: f64,
    /// begin, success, failed, reject.
    pub txn: [f64; 4],
    pub load_finished: f64,
    /// Leader-only: LOADING BROKER, LOADING INSERT, PENDING, FINISHED, CANCELLED.
    pub jobs: [f64; 5],
    pub routine_running: f64,
    pub routine_paused: f64,
    pub txn_running: f64,
    pub max_score: f64,
    pub scheduled: f64,
    /// `memory{type="query_coordinator_count"}`; `None` writes no `memory` family (before 3.1).
    pub coordinators: Option<f64>,
}

impl Fe {
    pub fn base() -> Fe {
        Fe {
            leader: false,
            query_total: 0.0,
            success: 0.0,
            err: 0.0,
            timeout: 0.0,
            slow: 0.0,
            requests: 0.0,
            qps: 0.0,
            rps: 0.0,
            window: None,
            summary: [0.0; 5],
            lat_sum: 0.0,
            lat_count: 0.0,
            heap_max: 4.0 * GIB,
            heap_used: GIB,
            heap_committed: 2.0 * GIB,
            threads: 100.0,
            ygc: (0.0, 0.0),
            ogc: (0.0, 0.0),
            conns: 0.0,
            txn: [0.0; 4],
            load_finished: 0.0,
            jobs: [0.0; 5],
            routine_running: 0.0,
            routine_paused: 0.0,
            txn_running: 0.0,
            max_score: 0.0,
            scheduled: 0.0,
            coordinators: None,
        }
    }

    /// The body as a 3.3 FE writes it: JVM block first with double-space HELP/TYPE, `, `
    /// label separators, Java number formatting, summaries, then `node_info`.
    pub fn body(&self) -> String {
        let mut b = String::new();
        let push = |b: &mut String, s: String| {
            b.push_str(&s);
            b.push('\n');
        };
        push(&mut b, "# HELP  jvm_heap_size_bytes jvm heap stat".into());
        push(&mut b, "# TYPE  jvm_heap_size_bytes gauge".into());
        push(
            &mut b,
            format!("jvm_heap_size_bytes{{type=\"max\"}} {:E}", self.heap_max),
        );
        push(
            &mut b,
            format!(
                "jvm_heap_size_bytes{{type=\"committed\"}} {}",
                self.heap_committed
            ),
        );
        push(
            &mut b,
            format!("jvm_heap_size_bytes{{type=\"used\"}} {}", self.heap_used),
        );
        push(&mut b, "# HELP  jvm_young_gc jvm young gc stat".into());
        push(&mut b, "# TYPE  jvm_young_gc gauge".into());
        push(
            &mut b,
            format!("jvm_young_gc{{type=\"count\"}} {}", self.ygc.0),
        );
        push(
            &mut b,
            format!("jvm_young_gc{{type=\"time\"}} {}", self.ygc.1),
        );
        push(&mut b, "# HELP  jvm_old_gc jvm old gc stat".into());
        push(&mut b, "# TYPE  jvm_old_gc gauge".into());
        push(
            &mut b,
            format!("jvm_old_gc{{type=\"count\"}} {}", self.ogc.0),
        );
        push(
            &mut b,
            format!("jvm_old_gc{{type=\"time\"}} {}", self.ogc.1),
        );
        push(&mut b, "# HELP  jvm_thread jvm thread stat".into());
        push(&mut b, "# TYPE  jvm_thread gauge".into());
        push(
            &mut b,
            format!("jvm_thread{{type=\"count\"}} {}", self.threads),
        );
        push(
            &mut b,
            format!("jvm_thread{{type=\"peak_count\"}} {}", self.threads + 10.0),
        );
        let counter = |b: &mut String, name: &str, v: f64| {
            push(b, format!("# HELP starrocks_fe_{name} {name}"));
            push(b, format!("# TYPE starrocks_fe_{name} counter"));
            push(b, format!("starrocks_fe_{name} {v}"));
        };
        counter(&mut b, "query_total", self.query_total);
        counter(&mut b, "query_success", self.success);
        counter(&mut b, "query_err", self.err);
        counter(&mut b, "query_timeout", self.timeout);
        counter(&mut b, "slow_query", self.slow);
        counter(&mut b, "request_total", self.requests);
        counter(&mut b, "txn_begin", self.txn[0]);
        counter(&mut b, "txn_success", self.txn[1]);
        counter(&mut b, "txn_failed", self.txn[2]);
        counter(&mut b, "txn_reject", self.txn[3]);
        counter(&mut b, "load_finished", self.load_finished);
        push(&mut b, format!("starrocks_fe_qps {}", self.qps));
        push(&mut b, format!("starrocks_fe_rps {}", self.rps));
        push(&mut b, format!("starrocks_fe_query_err_rate {}", 0.0));
        let w = self.window.unwrap_or([0.0; 7]);
        let types = [
            "mean",
            "50_quantile",
            "75_quantile",
            "90_quantile",
            "95_quantile",
            "99_quantile",
            "999_quantile",
        ];
        push(
            &mut b,
            "# HELP starrocks_fe_query_latency query latency".into(),
        );
        push(&mut b, "# TYPE starrocks_fe_query_latency gauge".into());
        for (t, v) in types.iter().zip(w) {
            push(
                &mut b,
                format!("starrocks_fe_query_latency{{type=\"{t}\"}} {v:?}"),
            );
        }
        push(
            &mut b,
            format!("starrocks_fe_connection_total {}", self.conns),
        );
        let l = if self.leader { 1.0 } else { 0.0 };
        let states = [
            ("BROKER", "LOADING", self.jobs[0]),
            ("INSERT", "LOADING", self.jobs[1]),
            ("INSERT", "PENDING", self.jobs[2]),
            ("INSERT", "FINISHED", self.jobs[3]),
            ("SPARK", "CANCELLED", self.jobs[4]),
            ("SPARK", "ETL", 7.0),
        ];
        for (ty, st, v) in states {
            push(
                &mut b,
                format!(
                    "starrocks_fe_job{{job=\"load\", type=\"{ty}\", state=\"{st}\"}} {}",
                    v * l
                ),
            );
        }
        push(
            &mut b,
            format!(
                "starrocks_fe_job{{job=\"alter\", type=\"ROLLUP\", state=\"running\"}} {}",
                5.0 * l
            ),
        );
        for (st, v) in [
            ("NEED_SCHEDULE", 0.0),
            ("RUNNING", self.routine_running),
            ("PAUSED", self.routine_paused),
        ] {
            push(
                &mut b,
                format!("starrocks_fe_routine_load_jobs{{state=\"{st}\"}} {}", v * l),
            );
        }
        push(
            &mut b,
            format!(
                "starrocks_fe_txn_running{{db=\"a\"}} {}",
                self.txn_running * l
            ),
        );
        push(
            &mut b,
            format!(
                "starrocks_fe_max_tablet_compaction_score {}",
                self.max_score * l
            ),
        );
        push(
            &mut b,
            format!("starrocks_fe_scheduled_tablet_num {}", self.scheduled * l),
        );
        if let Some(coordinators) = self.coordinators {
            push(
                &mut b,
                "# HELP starrocks_fe_memory memory usage of fe modules".into(),
            );
            push(&mut b, "# TYPE starrocks_fe_memory gauge".into());
            for (ty, v) in [
                ("tablet_count", 3_000.0),
                ("txn_count", 12.0),
                ("query_detail_count", 0.0),
                ("query_coordinator_count", coordinators),
                ("agent_task_count", 41.0),
            ] {
                push(&mut b, format!("starrocks_fe_memory{{type=\"{ty}\"}} {v}"));
            }
        }
        push(&mut b, "starrocks_fe_table_num{db_name=\"ssb\"} 13".into());
        push(&mut b, "# HELP starrocks_fe_query_latency_ms ".into());
        push(
            &mut b,
            "# TYPE starrocks_fe_query_latency_ms summary".into(),
        );
        for (q, v) in ["0.75", "0.95", "0.98", "0.99", "0.999"]
            .iter()
            .zip(self.summary)
        {
            push(
                &mut b,
                format!("starrocks_fe_query_latency_ms{{quantile=\"{q}\"}} {v:?}"),
            );
        }
        push(
            &mut b,
            format!("starrocks_fe_query_latency_ms_sum {:?}", self.lat_sum),
        );
        push(
            &mut b,
            format!("starrocks_fe_query_latency_ms_count {}", self.lat_count),
        );
        push(&mut b, "# TYPE  node_info gauge".into());
        push(
            &mut b,
            "node_info{type=\"fe_node_num\", state=\"total\"} 2".into(),
        );
        push(
            &mut b,
            "node_info{type=\"fe_node_num\", state=\"alive\"} 2".into(),
        );
        push(
            &mut b,
            "node_info{type=\"be_node_num\", state=\"total\"} 2".into(),
        );
        push(
            &mut b,
            "node_info{type=\"be_node_num\", state=\"alive\"} 1".into(),
        );
        push(
            &mut b,
            "node_info{type=\"be_node_num\", state=\"decommissioned\"} 0".into(),
        );
        push(
            &mut b,
            "node_info{type=\"cn_node_num\", state=\"total\"} 0".into(),
        );
        if self.leader {
            push(&mut b, "node_info{type=\"is_master\"} 1".into());
        }
        b
    }
}

/// What a BE body says.
#[derive(Debug, Clone)]
pub struct Be {
    /// user nice system idle iowait irq soft_irq steal guest guest_nice
    pub cpu: [f64; 10],
    /// (device, send, receive)
    pub net: Vec<(&'static str, f64, f64)>,
    /// (device, read, written)
    pub disk: Vec<(&'static str, f64, f64)>,
    pub process_mem: f64,
    pub base_score: f64,
    pub cumu_score: f64,
    pub running_base: f64,
    pub running_cumu: f64,
    pub wait_base: f64,
    pub wait_cumu: f64,
    pub compaction_bytes: (f64, f64),
}

impl Be {
    /// The body as a 3.3 BE writes it: alphabetical families, `# TYPE` only, sorted labels
    /// joined with `,`, six-decimal doubles, then a bvar tail.
    pub fn body(&self) -> String {
        let mut b = String::new();
        let mut push = |s: String| {
            b.push_str(&s);
            b.push('\n');
        };
        push("# TYPE starrocks_be_compaction_bytes_total counter".into());
        push(format!(
            "starrocks_be_compaction_bytes_total{{type=\"base\"}} {}",
            self.compaction_bytes.0
        ));
        push(format!(
            "starrocks_be_compaction_bytes_total{{type=\"cumulative\"}} {}",
            self.compaction_bytes.1
        ));
        push("# TYPE starrocks_be_cpu counter".into());
        let modes = [
            "guest",
            "guest_nice",
            "idle",
            "iowait",
            "irq",
            "nice",
            "soft_irq",
            "steal",
            "system",
            "user",
        ];
        let index = [8, 9, 3, 4, 5, 1, 6, 7, 2, 0];
        for (m, i) in modes.iter().zip(index) {
            push(format!("starrocks_be_cpu{{mode=\"{m}\"}} {}", self.cpu[i]));
        }
        for (fam, col) in [("disk_bytes_read", 1), ("disk_bytes_written", 2)] {
            push(format!("# TYPE starrocks_be_{fam} counter"));
            for d in &self.disk {
                let v = if col == 1 { d.1 } else { d.2 };
                push(format!("starrocks_be_{fam}{{device=\"{}\"}} {v}", d.0));
            }
        }
        push("# TYPE starrocks_be_disks_total_capacity gauge".into());
        push("starrocks_be_disks_total_capacity{path=\"/data1/starrocks/storage\"} 1000".into());
        push("# TYPE starrocks_be_engine_requests_total counter".into());
        push("starrocks_be_engine_requests_total{status=\"failed\",type=\"clone\"} 0".into());
        for (fam, col) in [("network_receive_bytes", 2), ("network_send_bytes", 1)] {
            push(format!("# TYPE starrocks_be_{fam} counter"));
            for d in &self.net {
                let v = if col == 1 { d.1 } else { d.2 };
                push(format!("starrocks_be_{fam}{{device=\"{}\"}} {v}", d.0));
            }
        }
        push("# TYPE starrocks_be_process_mem_bytes gauge".into());
        push(format!(
            "starrocks_be_process_mem_bytes {}",
            self.process_mem
        ));
        push("# TYPE starrocks_be_query_cache_hit_ratio gauge".into());
        push("starrocks_be_query_cache_hit_ratio 0.984098".into());
        for (n, v) in [
            ("running_base_compaction_task_num", self.running_base),
            ("running_cumulative_compaction_task_num", self.running_cumu),
            ("tablet_base_max_compaction_score", self.base_score),
            ("tablet_cumulative_max_compaction_score", self.cumu_score),
            ("wait_base_compaction_task_num", self.wait_base),
            ("wait_cumulative_compaction_task_num", self.wait_cumu),
        ] {
            push(format!("# TYPE starrocks_be_{n} gauge"));
            push(format!("starrocks_be_{n} {v:.6}"));
        }
        push("# HELP bthread_count".into());
        push("# TYPE bthread_count gauge".into());
        push("bthread_count 42".into());
        push("rpc_server_8060_version \"brpc\"".into());
        b
    }
}

pub fn ok_scrape(
    kind: NodeKind,
    id: &str,
    host: &str,
    port: u16,
    body: String,
    at: OffsetDateTime,
    ms: u64,
) -> NodeScrape {
    NodeScrape {
        node: NodeRef {
            kind,
            id: id.to_owned(),
            host: host.to_owned(),
            http_port: port,
        },
        result: Ok(MetricsScrape {
            body: body.into_bytes(),
            fetched_at: at,
            duration_ms: ms,
        }),
    }
}

pub fn failed_scrape(kind: NodeKind, id: &str, host: &str, port: u16, code: &str) -> NodeScrape {
    NodeScrape {
        node: NodeRef {
            kind,
            id: id.to_owned(),
            host: host.to_owned(),
            http_port: port,
        },
        result: Err(SourceError {
            source: format!("metrics {host}:{port}"),
            code: code.to_owned(),
            message: format!("{code} while fetching /metrics"),
        }),
    }
}

pub fn cycle(
    at: OffsetDateTime,
    frontends: Vec<Frontend>,
    backends: Vec<Backend>,
    scrapes: Vec<NodeScrape>,
) -> CycleInput {
    CycleInput {
        cluster_id: 7,
        collected_at: at,
        frontends: Ok(frontends),
        backends: Ok(backends),
        compute_nodes: Ok(Vec::new()),
        runtime_info: None,
        scrapes,
        other_errors: Vec::new(),
    }
}

/// Asserts two floats agree to 1e-9 relative.
#[track_caller]
pub fn close(actual: Option<f64>, expected: f64) {
    let a = actual.unwrap_or_else(|| panic!("expected {expected}, got None"));
    assert!(
        (a - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "expected {expected}, got {a}"
    );
}
