//! Fixture tests of the show_proc, runtime-info and health parsers.

use super::*;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const TIB: f64 = GIB * 1024.0;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn bytes(x: f64) -> Option<u64> {
    Some(x.round() as u64)
}

#[test]
fn backends_3_3_objects_29_columns() {
    let bes = parse_backends(&fixture("backends_3_3.json")).unwrap();
    assert_eq!(bes.len(), 3);

    let be = &bes[0];
    assert_eq!(be.backend_id, 10002);
    assert_eq!(be.ip, "172.26.92.11");
    assert_eq!(be.heartbeat_port, Some(9050));
    assert_eq!(be.be_port, Some(9060));
    assert_eq!(be.http_port, 8040);
    assert_eq!(be.brpc_port, Some(8060));
    assert_eq!(be.last_start_time.as_deref(), Some("2024-11-04 09:12:40"));
    assert_eq!(be.last_heartbeat.as_deref(), Some("2024-11-05 14:03:21"));
    assert!(be.alive);
    assert!(!be.is_decommissioned());
    assert_eq!(be.tablet_num, Some(11523));
    assert_eq!(be.data_used_capacity_bytes, bytes(783.211 * GIB));
    assert_eq!(be.avail_capacity_bytes, bytes(1.968 * TIB));
    assert_eq!(be.total_capacity_bytes, bytes(3.437 * TIB));
    assert_eq!(
        be.used_bytes(),
        Some(bytes(3.437 * TIB).unwrap() - bytes(1.968 * TIB).unwrap())
    );
    assert_eq!(be.used_pct, Some(42.74));
    assert_eq!(be.max_disk_used_pct, Some(45.10));
    assert_eq!(be.err_msg, "");
    assert_eq!(be.version.as_deref(), Some("3.3.10-227b0b3"));
    assert_eq!(
        be.status_last_report_tablets_time.as_deref(),
        Some("2024-11-05 14:02:58")
    );
    assert_eq!(be.data_total_capacity_bytes, bytes(2.733 * TIB));
    assert_eq!(be.data_used_pct, Some(27.98));
    assert_eq!(be.cpu_cores, Some(32));
    assert_eq!(be.mem_limit_bytes, bytes(100.591 * GIB));
    assert_eq!(be.num_running_queries, Some(3));
    assert_eq!(be.mem_used_pct, Some(17.27));
    assert_eq!(be.cpu_used_pct, Some(12.4));
    assert_eq!(
        be.data_cache_metrics.as_deref(),
        Some("Status: Normal, DiskUsage: 0B/0B, MemUsage: 0B/0B")
    );
    assert_eq!(be.location, None);
    assert_eq!(be.status_code, None);
    assert_eq!(be.starlet_port, None);
    assert_eq!(be.worker_id, None);
    assert_eq!(be.warehouse_name, None);

    // Dead BE: NULL start time, error message, N/A report time, zero capacities.
    let dead = &bes[1];
    assert!(!dead.alive);
    assert_eq!(dead.last_start_time, None);
    assert!(dead.err_msg.starts_with("java.net.ConnectException"));
    assert_eq!(dead.status_last_report_tablets_time, None);
    assert_eq!(dead.total_capacity_bytes, Some(0));
    assert_eq!(dead.avail_capacity_bytes, Some(1));
    assert_eq!(dead.used_bytes(), Some(0));
    assert_eq!(dead.mem_limit_bytes, Some(0));
    assert_eq!(dead.cpu_used_pct, Some(0.0));
    assert_eq!(dead.data_cache_metrics, None);

    // Decommissioned BE.
    let decom = &bes[2];
    assert!(decom.system_decommissioned);
    assert!(!decom.cluster_decommissioned);
    assert!(decom.is_decommissioned());
    assert_eq!(decom.data_used_capacity_bytes, bytes(13.255 * 1024.0));
    assert_eq!(decom.mem_limit_bytes, bytes(6.207 * GIB));
    assert_eq!(decom.location.as_deref(), Some("rack:r1"));
    assert_eq!(
        decom.data_cache_metrics.as_deref(),
        Some("Status: Disabled")
    );
}

#[test]
fn backends_4_0_shared_data_with_status_code_and_unknown_column() {
    let bes = parse_backends(&fixture("backends_4_0_shared_data.json")).unwrap();
    assert_eq!(bes.len(), 1);
    let be = &bes[0];
    assert_eq!(be.ip, "be-0.be-svc.sr.svc.cluster.local");
    assert_eq!(be.status_code.as_deref(), Some("OK"));
    assert_eq!(be.starlet_port, Some(9070));
    assert_eq!(be.worker_id, Some(7));
    assert_eq!(be.warehouse_name.as_deref(), Some("default_warehouse"));
    assert_eq!(be.num_running_queries, Some(12));
    assert_eq!(be.cpu_used_pct, Some(88.9));
    assert_eq!(be.total_capacity_bytes, Some(500 << 30));
}

#[test]
fn backends_3_0_arrays_with_degenerate_capacities() {
    let bes = parse_backends(&fixture("backends_3_0_arrays.json")).unwrap();
    assert_eq!(bes.len(), 2);
    let be = &bes[0];
    assert_eq!(be.backend_id, 10003);
    assert_eq!(be.ip, "192.168.7.221");
    assert_eq!(be.http_port, 8040);
    assert!(be.alive);
    assert_eq!(be.tablet_num, Some(180));
    assert_eq!(be.data_used_capacity_bytes, Some(0)); // ".000"
    assert_eq!(be.avail_capacity_bytes, Some(0)); // "0.000 "
    assert_eq!(be.total_capacity_bytes, Some(0));
    assert_eq!(be.data_total_capacity_bytes, Some(0));
    assert_eq!(be.version.as_deref(), Some("3.0.0-48f4d81"));
    assert_eq!(
        be.status_last_report_tablets_time.as_deref(),
        Some("2023-05-27 18:37:17")
    );
    assert_eq!(be.cpu_cores, Some(8));
    assert_eq!(be.num_running_queries, Some(1));
    assert_eq!(be.mem_used_pct, Some(3.15));
    assert_eq!(be.cpu_used_pct, Some(0.7));
    assert_eq!(be.mem_limit_bytes, None); // not in 3.0
    assert_eq!(be.location, None);

    let dead = &bes[1];
    assert!(!dead.alive);
    assert!(dead.cluster_decommissioned);
    assert_eq!(dead.http_port, 8041);
    assert_eq!(dead.last_start_time, None);
    assert_eq!(dead.last_heartbeat, None);
    assert_eq!(dead.version, None);
    // Gson's HTML-safe escapes decode to the real characters.
    assert_eq!(dead.err_msg, "Connection refused: host=192.168.7.222 <err>");
}

#[test]
fn backends_2_5_arrays_23_columns() {
    let bes = parse_backends(&fixture("backends_2_5_arrays.json")).unwrap();
    let be = &bes[0];
    assert_eq!(be.backend_id, 10002);
    assert_eq!(be.cpu_cores, Some(4));
    assert_eq!(be.data_used_capacity_bytes, bytes(1.234 * GIB));
    assert_eq!(be.num_running_queries, None);
    assert_eq!(be.mem_used_pct, None);
    assert_eq!(be.cpu_used_pct, None);
}

#[test]
fn frontends_3_3_objects() {
    let fes = parse_frontends(&fixture("frontends_3_3.json")).unwrap();
    assert_eq!(fes.len(), 3);
    let leader = &fes[0];
    assert_eq!(leader.id, None);
    assert_eq!(leader.name, "172.26.92.1_9010_1730711500123");
    assert_eq!(leader.ip, "172.26.92.1");
    assert_eq!(leader.edit_log_port, Some(9010));
    assert_eq!(leader.http_port, 8030);
    assert_eq!(leader.query_port, Some(9030));
    assert_eq!(leader.rpc_port, Some(9020));
    assert_eq!(leader.role, FrontendRole::Leader);
    assert!(leader.is_leader());
    assert_eq!(leader.cluster_id, Some(1520398763));
    assert_eq!(leader.join, Some(true));
    assert!(leader.alive);
    assert_eq!(leader.replayed_journal_id, Some(4187215));
    assert_eq!(
        leader.last_heartbeat.as_deref(),
        Some("2024-11-05 14:03:24")
    );
    assert_eq!(leader.is_helper, Some(true));
    assert_eq!(leader.err_msg, "");
    assert_eq!(leader.start_time.as_deref(), Some("2024-11-04 09:11:58"));
    assert_eq!(leader.version.as_deref(), Some("3.3.10-227b0b3"));
    assert_eq!(fes[1].role, FrontendRole::Follower);
    let observer = &fes[2];
    assert_eq!(observer.role, FrontendRole::Observer);
    assert!(!observer.alive);
    assert_eq!(observer.last_heartbeat, None);
    assert_eq!(observer.start_time, None);
    assert_eq!(observer.version, None);
    assert_eq!(observer.join, Some(false));
    assert_eq!(observer.err_msg, "got exception when doing heartbeat");
}

#[test]
fn frontends_4_1_with_id() {
    let fes = parse_frontends(&fixture("frontends_4_1.json")).unwrap();
    assert_eq!(fes.len(), 2);
    assert_eq!(fes[0].id, Some(1));
    assert_eq!(fes[1].id, Some(2));
    assert!(fes[0].is_leader());
    assert_eq!(fes[1].is_helper, Some(false));
    assert_eq!(fes[0].ip, "fe-0.fe-svc");
}

#[test]
fn frontends_3_0_arrays() {
    let fes = parse_frontends(&fixture("frontends_3_0_arrays.json")).unwrap();
    assert_eq!(fes.len(), 2);
    assert_eq!(fes[0].role, FrontendRole::Leader);
    assert_eq!(fes[0].ip, "192.168.7.221");
    assert_eq!(fes[0].http_port, 8030);
    assert_eq!(fes[0].cluster_id, Some(384728371));
    assert_eq!(fes[0].replayed_journal_id, Some(98231));
    assert_eq!(fes[0].version.as_deref(), Some("3.0.0-48f4d81"));
    assert_eq!(fes[1].role, FrontendRole::Follower);
    assert_eq!(fes[1].is_helper, Some(false));
}

#[test]
fn frontends_2_5_arrays_with_is_master() {
    let fes = parse_frontends(&fixture("frontends_2_5_arrays.json")).unwrap();
    assert_eq!(fes[0].role, FrontendRole::Leader);
    assert_eq!(fes[1].role, FrontendRole::Follower);
    assert_eq!(fes[0].cluster_id, Some(901234));
    assert_eq!(fes[0].replayed_journal_id, Some(5521));
}

#[test]
fn compute_nodes_3_3_objects_and_3_0_arrays() {
    let cns = parse_compute_nodes(&fixture("compute_nodes_3_3.json")).unwrap();
    assert_eq!(cns.len(), 1);
    let cn = &cns[0];
    assert_eq!(cn.compute_node_id, 20001);
    assert_eq!(cn.http_port, 8040);
    assert!(cn.alive);
    assert!(!cn.is_decommissioned());
    assert_eq!(cn.mem_limit_bytes, Some(50 << 30));
    assert_eq!(cn.num_running_queries, Some(2));
    assert_eq!(cn.mem_used_pct, Some(10.01));
    assert_eq!(cn.cpu_used_pct, Some(5.5));
    assert_eq!(cn.has_storage_path, Some(false));
    assert_eq!(cn.status_code.as_deref(), Some("OK"));
    assert_eq!(cn.worker_id, Some(3));
    assert_eq!(cn.tablet_num, Some(0));
    assert_eq!(cn.warehouse_name.as_deref(), Some("default_warehouse"));

    let cns = parse_compute_nodes(&fixture("compute_nodes_3_0_arrays.json")).unwrap();
    let cn = &cns[0];
    assert_eq!(cn.compute_node_id, 20001);
    assert_eq!(cn.ip, "192.168.7.231");
    assert_eq!(cn.cpu_cores, Some(8));
    assert_eq!(cn.cpu_used_pct, Some(0.3));
    assert_eq!(cn.has_storage_path, Some(false));
    assert_eq!(cn.version.as_deref(), Some("3.0.0-48f4d81"));
    assert_eq!(cn.starlet_port, None);
}

#[test]
fn empty_lists() {
    assert_eq!(parse_backends(b"[]").unwrap(), vec![]);
    assert_eq!(parse_frontends(b" []\n").unwrap(), vec![]);
    assert_eq!(parse_compute_nodes(b"[]").unwrap(), vec![]);
}

#[test]
fn minimal_object_rows_missing_optional_columns() {
    let body = br#"[{"BackendId":"1","IP":"h","HttpPort":"8040","Alive":"true"}]"#;
    let be = &parse_backends(body).unwrap()[0];
    assert_eq!(be.heartbeat_port, None);
    assert_eq!(be.total_capacity_bytes, None);
    assert_eq!(be.used_bytes(), None);
    assert!(!be.system_decommissioned);
    assert_eq!(be.err_msg, "");
    assert_eq!(be.version, None);
    // Unreadable optional values are absent, not errors.
    let body = br#"[{"BackendId":"1","IP":"h","HttpPort":"8040","Alive":"true","TotalCapacity":"lots","UsedPct":"x %","CpuCores":"-3"}]"#;
    let be = &parse_backends(body).unwrap()[0];
    assert_eq!(be.total_capacity_bytes, None);
    assert_eq!(be.used_pct, None);
    assert_eq!(be.cpu_cores, None);
    // Non-string scalars (a future version) are read too; null is absent.
    let body = br#"[{"BackendId":1,"IP":"h","HttpPort":8040,"Alive":true,"TabletNum":null}]"#;
    let be = &parse_backends(body).unwrap()[0];
    assert_eq!(be.backend_id, 1);
    assert!(be.alive);
    assert_eq!(be.tablet_num, None);
}

#[test]
fn plain_text_and_error_documents_are_malformed_with_the_text() {
    let text = "Failed to forward stmt: java.net.SocketTimeoutException: Read timed out";
    let err = parse_backends(text.as_bytes()).unwrap_err();
    assert!(err.contains("not JSON"), "{err}");
    assert!(err.contains("Failed to forward stmt"), "{err}");

    let long = format!("Failed to get result set {}", "x".repeat(5000));
    let err = parse_frontends(long.as_bytes()).unwrap_err();
    assert!(err.len() < 400, "{}", err.len());

    let err = parse_backends(
        br#"{"status":"FAILED","code":"1","msg":"Access denied; you need (at least one of) the OPERATE privilege(s)","message":"x"}"#,
    )
    .unwrap_err();
    assert!(err.contains("FE reported an error"), "{err}");
    assert!(err.contains("Access denied"), "{err}");

    assert_eq!(parse_backends(b"").unwrap_err(), "empty body");
    assert!(parse_backends(b"  \n").unwrap_err().contains("empty"));
    assert!(
        parse_backends(b"{}")
            .unwrap_err()
            .contains("expected a JSON array")
    );
    assert!(parse_backends(b"[1]").unwrap_err().contains("row 0"));
    assert!(
        parse_backends(b"[{\"BackendId\":")
            .unwrap_err()
            .contains("invalid JSON")
    );
}

#[test]
fn bad_required_columns_name_row_and_column() {
    let err = parse_backends(br#"[{"BackendId":"1","IP":"h","HttpPort":"80x","Alive":"true"}]"#)
        .unwrap_err();
    assert!(err.contains("row 0"), "{err}");
    assert!(err.contains("HttpPort"), "{err}");
    assert!(err.contains("80x"), "{err}");
    let err =
        parse_backends(br#"[{"BackendId":"1","HttpPort":"8040","Alive":"true"}]"#).unwrap_err();
    assert!(err.contains("IP is missing"), "{err}");
    let err = parse_frontends(br#"[{"Name":"n","IP":"h","HttpPort":"8030","Alive":"true"}]"#)
        .unwrap_err();
    assert!(err.contains("Role"), "{err}");
    // Array rows of an unexpected layout fail on a required column, not silently.
    let err = parse_backends(br#"[["10003","h","9050","9060","8040","8060","a","b","maybe"]]"#)
        .unwrap_err();
    assert!(err.contains("Alive"), "{err}");
    // Short array rows miss required columns.
    let err = parse_backends(br#"[["10003","h"]]"#).unwrap_err();
    assert!(err.contains("HttpPort is missing"), "{err}");
}

#[test]
fn unknown_role_is_kept_as_unknown() {
    let body = br#"[{"Name":"n","IP":"h","HttpPort":"8030","Alive":"true","Role":"ELECTING"}]"#;
    assert_eq!(
        parse_frontends(body).unwrap()[0].role,
        FrontendRole::Unknown
    );
}

#[test]
fn runtime_info_from_strings() {
    let info = parse_runtime_info(&fixture("runtime_info.json")).unwrap();
    assert_eq!(
        info,
        RuntimeInfo {
            free_mem: 1 << 30,
            total_mem: 4 << 30,
            max_mem: 8 << 30,
            thread_cnt: 187,
        }
    );
    assert_eq!(info.used_mem(), 3 << 30);
    let err = parse_runtime_info(br#"{"free_mem":"1","total_mem":"2","max_mem":"3"}"#).unwrap_err();
    assert!(err.contains("thread_cnt"), "{err}");
    let err =
        parse_runtime_info(br#"{"free_mem":"-1","total_mem":"2","max_mem":"3","thread_cnt":"4"}"#)
            .unwrap_err();
    assert!(err.contains("free_mem"), "{err}");
}

#[test]
fn health_documents() {
    let fe = parse_fe_health(br#"{"online_backend_num":4,"total_backend_num":5,"status":"OK"}"#)
        .unwrap();
    assert_eq!(fe.online_backend_num, 4);
    assert_eq!(fe.total_backend_num, 5);
    assert!(fe.is_ok());
    assert_eq!(fe.msg, None);
    let failed = parse_fe_health(br#"{"status":"FAILED","msg":"shutting down"}"#).unwrap();
    assert!(!failed.is_ok());
    assert_eq!(failed.msg.as_deref(), Some("shutting down"));
    assert_eq!(failed.total_backend_num, 0);
    assert!(parse_fe_health(br#"{"status":"OK"}"#).is_err());
    assert!(parse_fe_health(b"").is_err());
    assert!(parse_fe_health(b"OK").is_err());

    let be = parse_be_health(br#"{"status": "OK","msg": "To Be Added"}"#).unwrap();
    assert!(be.is_ok());
    assert_eq!(be.msg.as_deref(), Some("To Be Added"));
    assert!(parse_be_health(b"[]").is_err());
    assert!(parse_be_health(br#"{"msg":"x"}"#).is_err());
}

#[test]
fn never_panics_on_mangled_fixtures() {
    // Every prefix of every fixture and a few byte flips: errors are fine, panics are not.
    for name in [
        "backends_3_3.json",
        "backends_3_0_arrays.json",
        "frontends_3_3.json",
        "compute_nodes_3_3.json",
    ] {
        let body = fixture(name);
        for cut in (0..body.len()).step_by(7) {
            let _ = parse_backends(&body[..cut]);
            let _ = parse_frontends(&body[..cut]);
            let _ = parse_compute_nodes(&body[..cut]);
        }
        for i in (0..body.len()).step_by(13) {
            let mut mangled = body.clone();
            mangled[i] ^= 0x5a;
            let _ = parse_backends(&mangled);
            let _ = parse_frontends(&mangled);
            let _ = parse_compute_nodes(&mangled);
            let _ = parse_runtime_info(&mangled);
            let _ = parse_fe_health(&mangled);
        }
    }
}
