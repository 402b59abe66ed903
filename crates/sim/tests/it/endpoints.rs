//! Formats of every endpoint per version shape.

use rockscope_sim::{ClusterSpec, NodeId, SimConfig, Simulator, Version};

use crate::support::{get, parse_prom, raw, value};
use crate::{ROOT, addr, start};

#[test]
fn fe_metrics_v33_shape_and_leader_values() {
    let (sim, info) = start(Version::V3_3, 2, 3);
    let leader = get(addr(&info, NodeId::fe(0)), "/metrics", None);
    assert_eq!(leader.status, 200);
    assert!(leader.complete());
    assert_eq!(leader.header("Content-Type"), Some("text/plain"));
    let text = leader.text();
    assert!(text.starts_with(
        "# HELP  jvm_heap_size_bytes jvm heap stat\n# TYPE  jvm_heap_size_bytes gauge\njvm_heap_size_bytes{type=\"max\"} "
    ));
    assert!(text.contains("\nstarrocks_fe_job{job=\"load\", type=\"BROKER\", state=\"PENDING\"} "));
    assert!(text.contains(
        "\n# HELP starrocks_fe_query_latency_ms \n# TYPE starrocks_fe_query_latency_ms summary\n"
    ));
    assert!(text.contains("starrocks_fe_query_latency_ms{quantile=\"0.999\"} "));
    assert!(text.contains("\n# TYPE  node_info gauge\n"));
    assert!(text.ends_with("node_info{type=\"is_master\"} 1\n"));
    assert!(!text.contains("is_leader"));
    let lines = text.lines().count();
    assert!((400..=1000).contains(&lines), "{lines} lines");
    let s = parse_prom(text);
    for name in [
        "starrocks_fe_query_total",
        "starrocks_fe_query_success",
        "starrocks_fe_query_err",
        "starrocks_fe_query_timeout",
        "starrocks_fe_slow_query",
        "starrocks_fe_request_total",
        "starrocks_fe_qps",
        "starrocks_fe_rps",
        "starrocks_fe_query_err_rate",
        "starrocks_fe_connection_total",
        "starrocks_fe_txn_begin",
        "starrocks_fe_txn_success",
        "starrocks_fe_txn_failed",
        "starrocks_fe_txn_reject",
        "starrocks_fe_load_add",
        "starrocks_fe_load_finished",
        "starrocks_fe_routine_load_jobs",
        "starrocks_fe_max_tablet_compaction_score",
        "starrocks_fe_scheduled_tablet_num",
        "starrocks_fe_memory",
        "starrocks_fe_table_num",
        "starrocks_fe_database_num",
        "starrocks_fe_query_latency_ms_sum",
        "starrocks_fe_query_latency_ms_count",
        "jvm_non_heap_size_bytes",
        "jvm_young_size_bytes",
        "jvm_old_size_bytes",
        "jvm_direct_buffer_pool_size_bytes",
        "jvm_old_gc",
    ] {
        assert!(s.iter().any(|x| x.name == name), "missing {name}");
    }
    for ty in [
        "mean",
        "50_quantile",
        "75_quantile",
        "90_quantile",
        "95_quantile",
        "99_quantile",
        "999_quantile",
    ] {
        assert!(
            value(&s, "starrocks_fe_query_latency", &[("type", ty)]).is_some(),
            "{ty}"
        );
    }
    for ty in ["count", "time"] {
        assert!(value(&s, "jvm_young_gc", &[("type", ty)]).is_some());
    }
    for ty in ["count", "peak_count"] {
        assert!(value(&s, "jvm_thread", &[("type", ty)]).is_some());
    }
    // Leader-only values are live on the leader, zero on the follower.
    let tablets = s
        .iter()
        .filter(|x| x.name == "starrocks_fe_tablet_num")
        .count();
    assert_eq!(tablets, 3);
    assert!(
        s.iter()
            .filter(|x| x.name == "starrocks_fe_tablet_num")
            .all(|x| x.value > 0.0)
    );
    let backend = s
        .iter()
        .find(|x| x.name == "starrocks_fe_tablet_num")
        .unwrap()
        .label("backend")
        .unwrap()
        .to_string();
    assert!(backend.starts_with("127.0.0.1:"), "{backend}");
    let follower = get(addr(&info, NodeId::fe(1)), "/metrics", None);
    let ftext = follower.text();
    assert!(!ftext.contains("is_master"));
    let f = parse_prom(ftext);
    for name in [
        "starrocks_fe_tablet_num",
        "starrocks_fe_tablet_max_compaction_score",
        "starrocks_fe_job",
        "starrocks_fe_scheduled_tablet_num",
        "starrocks_fe_txn_begin",
    ] {
        assert!(
            f.iter().filter(|x| x.name == name).all(|x| x.value == 0.0),
            "{name} on follower"
        );
    }
    assert!(value(&f, "starrocks_fe_query_total", &[]).unwrap() > 0.0);
    drop(sim);
}

#[test]
fn java_number_formatting_in_fe_body() {
    let (_sim, info) = start(Version::V3_3, 1, 1);
    let text = get(addr(&info, NodeId::fe(0)), "/metrics", None)
        .text()
        .to_string();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let v = line.rsplit_once(' ').unwrap().1;
        // Java prints integers plainly and doubles with a '.', never Rust's "1e7" or "inf".
        assert!(!v.contains('e') && !v.contains("inf"), "{line}");
        if v.contains('E') {
            let (m, _) = v.split_once('E').unwrap();
            assert!(m.contains('.'), "{line}");
        }
    }
    assert!(text.contains("starrocks_fe_query_queue_pending 0\n"));
    assert_eq!(
        rockscope_sim::java_double_to_string(1.2345678e7),
        "1.2345678E7"
    );
    assert_eq!(rockscope_sim::java_double_to_string(5.0e-4), "5.0E-4");
}

#[test]
fn fe_metrics_v40_auth_and_is_leader_labels() {
    let (_sim, info) = start(Version::V4_0, 2, 2);
    let fe0 = addr(&info, NodeId::fe(0));
    let denied = get(fe0, "/metrics", None);
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("WWW-Authenticate"), Some("Basic realm=\"\""));
    assert_eq!(get(fe0, "/metrics", Some(("root", "wrong"))).status, 401);
    let be = get(addr(&info, NodeId::be(0)), "/metrics", None);
    assert_eq!(be.status, 401);
    let text = get(fe0, "/metrics", ROOT).text().to_string();
    assert!(text.contains(
        "starrocks_fe_job{is_leader=\"true\", job=\"load\", type=\"INSERT\", state=\"UNKNOWN\"} "
    ));
    assert!(text.contains("starrocks_fe_txn_running{is_leader=\"true\", db=\""));
    assert!(text.contains("starrocks_fe_txn_begin{is_leader=\"true\"} "));
    let follower = get(addr(&info, NodeId::fe(1)), "/metrics", ROOT)
        .text()
        .to_string();
    assert!(follower.contains("starrocks_fe_max_tablet_compaction_score{is_leader=\"false\"} 0\n"));
    // Health stays anonymous.
    assert_eq!(get(fe0, "/api/health", None).status, 200);
    assert_eq!(
        get(addr(&info, NodeId::be(0)), "/metrics", ROOT).status,
        200
    );
}

#[test]
fn be_metrics_shape() {
    let (_sim, info) = start(Version::V3_3, 1, 2);
    let r = get(addr(&info, NodeId::be(0)), "/metrics", None);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/plain; version=0.0.4"));
    let text = r.text();
    let lines = text.lines().count();
    assert!((2000..=5000).contains(&lines), "{lines} lines");
    // StarRocks part: TYPE only, alphabetical families; bvar tail after it.
    let sr_end = text.find("\n# HELP ").expect("bvar tail");
    let sr = &text[..sr_end];
    assert!(!sr.contains("# HELP"));
    let families: Vec<&str> = sr
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert!(families.len() > 300);
    let mut sorted = families.clone();
    sorted.sort_unstable();
    assert_eq!(families, sorted, "families must be alphabetical");
    assert!(sr.contains("starrocks_be_engine_requests_total{status=\"failed\",type=\"clone\"} "));
    assert!(sr.contains("starrocks_be_network_receive_bytes{device=\"lo\"} "));
    assert!(sr.contains("starrocks_be_disks_total_capacity{path=\"/data1/starrocks/storage\"} "));
    assert!(sr.contains("# TYPE starrocks_be_publish_version_threadpool_size gauge\n"));
    assert!(sr.contains("# TYPE starrocks_be_cpu counter\n"));
    let s = parse_prom(text);
    let modes: Vec<&str> = s
        .iter()
        .filter(|x| x.name == "starrocks_be_cpu")
        .map(|x| x.label("mode").unwrap())
        .collect();
    assert_eq!(modes.len(), 10);
    for m in [
        "user",
        "nice",
        "system",
        "idle",
        "iowait",
        "irq",
        "soft_irq",
        "steal",
        "guest",
        "guest_nice",
    ] {
        assert!(modes.contains(&m), "{m}");
    }
    for name in [
        "starrocks_be_process_mem_bytes",
        "starrocks_be_query_mem_bytes",
        "starrocks_be_tablet_cumulative_max_compaction_score",
        "starrocks_be_tablet_base_max_compaction_score",
        "starrocks_be_running_cumulative_compaction_task_num",
        "starrocks_be_running_base_compaction_task_num",
        "starrocks_be_fragment_requests_total",
        "starrocks_be_query_scan_bytes",
        "starrocks_be_query_scan_rows",
        "starrocks_be_process_thread_num",
        "starrocks_be_process_fd_num_used",
        "starrocks_be_disk_bytes_read",
        "starrocks_be_disk_bytes_written",
        "starrocks_be_disk_reads_completed",
        "starrocks_be_network_send_bytes",
        "starrocks_be_disks_avail_capacity",
        "starrocks_be_disks_data_used_capacity",
        "starrocks_be_disks_state",
    ] {
        assert!(s.iter().any(|x| x.name == name), "missing {name}");
    }
    // Doubles are std::to_string: six decimals.
    let ratio = sr
        .lines()
        .find(|l| l.starts_with("starrocks_be_query_cache_hit_ratio "))
        .unwrap();
    assert_eq!(
        ratio
            .rsplit_once(' ')
            .unwrap()
            .1
            .split_once('.')
            .unwrap()
            .1
            .len(),
        6
    );
    // bvar tail: HELP without text, summaries with the brpc quantiles.
    let tail = &text[sr_end + 1..];
    assert!(tail.starts_with("# HELP bthread_count\n# TYPE bthread_count gauge\n"));
    let summary = "rpc_server_8060_starrocks_p_internal_service_exec_plan_fragment";
    assert!(tail.contains(&format!("# TYPE {summary} summary\n")));
    for q in ["0.8", "0.9", "0.99", "0.999", "0.9999", "1"] {
        assert!(value(&s, summary, &[("quantile", q)]).is_some(), "{q}");
    }
    assert!(value(&s, &format!("{summary}_sum"), &[]).is_some());
    assert!(value(&s, &format!("{summary}_count"), &[]).is_some());
}

#[test]
fn show_proc_v33_objects() {
    let (_sim, info) = start(Version::V3_3, 2, 3);
    let fe1 = addr(&info, NodeId::fe(1));
    let denied = get(fe1, "/api/show_proc?path=/backends", None);
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("WWW-Authenticate"), Some("Basic realm=\"\""));
    assert_eq!(denied.json()["status"], "FAILED");
    assert_eq!(denied.json()["code"], "1");
    let r = get(fe1, "/api/show_proc?path=%2Fbackends&forward=true", ROOT);
    assert_eq!(r.status, 200);
    assert!(r.body.last() != Some(&b'\n'));
    let rows = r.json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let cols: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    let expected = [
        "BackendId",
        "IP",
        "HeartbeatPort",
        "BePort",
        "HttpPort",
        "BrpcPort",
        "LastStartTime",
        "LastHeartbeat",
        "Alive",
        "SystemDecommissioned",
        "ClusterDecommissioned",
        "TabletNum",
        "DataUsedCapacity",
        "AvailCapacity",
        "TotalCapacity",
        "UsedPct",
        "MaxDiskUsedPct",
        "ErrMsg",
        "Version",
        "Status",
        "DataTotalCapacity",
        "DataUsedPct",
        "CpuCores",
        "MemLimit",
        "NumRunningQueries",
        "MemUsedPct",
        "CpuUsedPct",
        "DataCacheMetrics",
        "Location",
    ];
    // serde_json without preserve_order sorts keys: compare as sets, and check raw order.
    assert_eq!(cols.len(), 29);
    let raw_text = r.text();
    let mut last = 0;
    for c in expected {
        let p = raw_text
            .find(&format!("\"{c}\":"))
            .unwrap_or_else(|| panic!("{c}"));
        assert!(p >= last, "column order at {c}");
        last = p;
    }
    for row in rows {
        for (_, v) in row.as_object().unwrap() {
            assert!(v.is_string(), "all values are strings");
        }
        let o = row.as_object().unwrap();
        assert!(
            o["TotalCapacity"].as_str().unwrap().ends_with(" TB")
                || o["TotalCapacity"].as_str().unwrap().ends_with(" GB")
        );
        assert!(o["UsedPct"].as_str().unwrap().ends_with(" %"));
        let cpu = o["CpuUsedPct"].as_str().unwrap();
        assert_eq!(
            cpu.trim_end_matches(" %").split_once('.').unwrap().1.len(),
            1,
            "{cpu}"
        );
        assert!(
            o["MemLimit"].as_str().unwrap().ends_with("GB")
                && !o["MemLimit"].as_str().unwrap().contains(' ')
        );
        assert_eq!(o["Alive"], "true");
        assert_eq!(o["ErrMsg"], "");
        let status: serde_json::Value =
            serde_json::from_str(o["Status"].as_str().unwrap()).unwrap();
        assert!(status["lastSuccessReportTabletsTime"].is_string());
        let be = info
            .nodes
            .iter()
            .find(|n| o["HttpPort"].as_str().and_then(|p| p.parse().ok()) == Some(n.addr.port()))
            .expect("HttpPort is the BE's own port");
        assert_eq!(o["IP"], be.addr.ip().to_string());
    }
    let fr = get(fe1, "/api/show_proc?path=/frontends", ROOT).json();
    let fr = fr.as_array().unwrap();
    assert_eq!(fr.len(), 2);
    assert_eq!(fr[0].as_object().unwrap().len(), 16);
    assert_eq!(fr[0]["Role"], "LEADER");
    assert_eq!(fr[1]["Role"], "FOLLOWER");
    for (i, row) in fr.iter().enumerate() {
        assert_eq!(
            row["HttpPort"],
            addr(&info, NodeId::fe(i as u32)).port().to_string()
        );
    }
    assert_eq!(
        get(fe1, "/api/show_proc?path=/compute_nodes", ROOT).text(),
        "[]"
    );
    let unknown = get(fe1, "/api/show_proc?path=/nope", ROOT);
    assert_eq!(unknown.text(), "[]");
    assert_eq!(unknown.header("Content-Type"), None);
    // BE nodes have no show_proc.
    assert_eq!(
        get(
            addr(&info, NodeId::be(0)),
            "/api/show_proc?path=/backends",
            ROOT
        )
        .status,
        404
    );
}

#[test]
fn show_proc_v30_arrays() {
    let (_sim, info) = start(Version::V3_0, 1, 2);
    let r = get(
        addr(&info, NodeId::fe(0)),
        "/api/show_proc?path=/backends",
        ROOT,
    )
    .json();
    let rows = r.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let row = rows[0].as_array().expect("array of arrays");
    assert_eq!(row.len(), 26);
    assert!(row.iter().all(|v| v.is_string()));
    assert_eq!(row[8], "true"); // Alive
    let fr = get(
        addr(&info, NodeId::fe(0)),
        "/api/show_proc?path=/frontends",
        ROOT,
    )
    .json();
    assert_eq!(fr[0].as_array().unwrap().len(), 16);
    assert_eq!(fr[0][6], "LEADER");
    // 3.x: metrics anonymous.
    assert_eq!(
        get(addr(&info, NodeId::fe(0)), "/metrics", None).status,
        200
    );
}

#[test]
fn show_proc_v40_columns_and_shared_data() {
    let spec = ClusterSpec::new("sd", 1, 1, Version::V4_0)
        .with_cns(2)
        .with_observers(1)
        .with_credentials("admin", "s3cret");
    let sim = Simulator::start(SimConfig::with_clusters(vec![spec])).unwrap();
    let info = sim.cluster("sd").unwrap();
    let fe = info.node(NodeId::fe(0)).unwrap().addr;
    assert_eq!(get(fe, "/api/show_proc?path=/backends", ROOT).status, 401);
    let auth = Some(("admin", "s3cret"));
    let be = get(fe, "/api/show_proc?path=/backends", auth);
    let text = be.text();
    assert!(text.contains("\"StatusCode\":\"OK\""));
    assert!(text.contains("\"WarehouseName\":\"default_warehouse\""));
    let fr = get(fe, "/api/show_proc?path=/frontends", auth);
    assert!(fr.text().starts_with("[{\"Id\":\"1\",\"Name\":"));
    let fr = fr.json();
    assert_eq!(fr.as_array().unwrap().len(), 2);
    assert_eq!(fr[1]["Role"], "OBSERVER");
    let cn = get(fe, "/api/show_proc?path=/compute_nodes", auth).json();
    assert_eq!(cn.as_array().unwrap().len(), 2);
    assert_eq!(cn[0]["HasStoragePath"], "true");
    let m = get(fe, "/metrics", auth).text().to_string();
    assert!(m.contains("node_info{type=\"cn_node_num\", state=\"total\"} 2\n"));
    assert_eq!(
        get(info.node(NodeId::cn(1)).unwrap().addr, "/metrics", auth).status,
        200
    );
    assert!(
        sim.set_leader("sd", NodeId::fe(1)).is_err(),
        "observers cannot lead"
    );
}

#[test]
fn health_and_runtime_info() {
    let (_sim, info) = start(Version::V3_3, 1, 3);
    let fe = addr(&info, NodeId::fe(0));
    let h = get(fe, "/api/health", None);
    assert_eq!(
        h.text(),
        "{\"online_backend_num\":3,\"total_backend_num\":3,\"status\":\"OK\"}"
    );
    assert_eq!(h.header("Content-Type"), Some("application/json"));
    let be = get(addr(&info, NodeId::be(1)), "/api/health", None);
    assert_eq!(be.text(), "{\"status\": \"OK\",\"msg\": \"To Be Added\"}");
    let rt = get(fe, "/api/show_runtime_info", None).json();
    for k in ["free_mem", "total_mem", "max_mem", "thread_cnt"] {
        let v = rt[k].as_str().unwrap_or_else(|| panic!("{k} is a string"));
        assert!(v.parse::<u64>().unwrap() > 0);
    }
}

#[test]
fn http_protocol_edges() {
    let (_sim, info) = start(Version::V3_3, 1, 1);
    let fe = addr(&info, NodeId::fe(0));
    let t = std::time::Duration::from_secs(5);
    assert_eq!(get(fe, "/nope", None).status, 404);
    assert_eq!(raw(fe, b"BLAH\r\n\r\n", t).unwrap().status, 400);
    assert_eq!(raw(fe, b"GET / HTTP/2.0\r\n\r\n", t).unwrap().status, 400);
    let huge_header = format!(
        "GET /metrics HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(40_000)
    );
    assert_eq!(raw(fe, huge_header.as_bytes(), t).unwrap().status, 400);
    assert_eq!(
        raw(
            fe,
            b"POST /metrics HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
            t
        )
        .unwrap()
        .status,
        405
    );
    // Keep-alive: two pipelined requests on one connection, the second closing it.
    let two = b"GET /api/health HTTP/1.1\r\nHost: a\r\n\r\nGET /api/health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let mut s = std::net::TcpStream::connect(fe).unwrap();
    s.set_read_timeout(Some(t)).unwrap();
    std::io::Write::write_all(&mut s, two).unwrap();
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut s, &mut buf).unwrap();
    let text = String::from_utf8(buf).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2);
    assert!(text.contains("Connection: keep-alive"));
    assert!(text.contains("Connection: close"));
    // HTTP/1.0 closes by default; HEAD has no body.
    let r = raw(fe, b"HEAD /api/health HTTP/1.0\r\n\r\n", t).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty() && r.content_length.unwrap() > 0);
}

#[test]
fn same_seed_same_numbers() {
    let a = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 5)).unwrap();
    let b = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 5)).unwrap();
    let c = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 6)).unwrap();
    let t = crate::pinned_now();
    for s in [&a, &b, &c] {
        s.set_manual_time(Some(t));
    }
    let body = |s: &Simulator| {
        get(
            s.clusters()[0].node(NodeId::be(0)).unwrap().addr,
            "/metrics",
            None,
        )
        .body
    };
    // Same seed and instant: byte-identical bodies (counters included); another seed differs.
    assert_eq!(body(&a), body(&b));
    assert_ne!(body(&a), body(&c));
}
