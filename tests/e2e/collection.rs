//! A cluster from the configuration file and one registered through `POST /api/clusters` (with a
//! password) are both collected; the list, the overview and the values agree with the
//! simulator's ground truth.

use std::collections::BTreeSet;
use std::time::Duration;

use rockscope_model::MetricsSnapshot;
use rockscope_sim::{ClusterInfo, ClusterSpec, NodeKind, SimConfig, Simulator, Version};
use rockscope_starrocks::ClusterClient;
use serde_json::{Value, json};

use crate::support::{
    AppConfig, ConfigCluster, TestApp, assert_overview_shape, has_key_anywhere, parse_time,
    wait_for,
};

/// Seed whose FE query rates stay above ~200 qps at any time of day, so that the ±1 rounding
/// of the served counters is well under 5% of a 1 s window.
const SEED: u64 = 30;
const API_PASSWORD: &str = "e2e-Api-Passw0rd-7f3c";

/// The key set of a serialized [`MetricsSnapshot`] (the contract's fields).
fn snapshot_keys(sample: &Value) -> BTreeSet<String> {
    let snapshot: MetricsSnapshot =
        serde_json::from_value(sample.clone()).expect("latest_snapshot is a MetricsSnapshot");
    let round_trip = serde_json::to_value(&snapshot).unwrap();
    round_trip.as_object().unwrap().keys().cloned().collect()
}

/// Σ `TotalCapacity` of the backends list the simulator serves, as StarRocks' client parses it.
fn served_disk_total(info: &ClusterInfo) -> u64 {
    let client = ClusterClient::builder()
        .username(info.username.clone())
        .password(info.password.as_str())
        .build();
    let view = client.leader_view(&info.fe_hosts).expect("backends list");
    view.backends
        .iter()
        .map(|b| b.total_capacity_bytes.expect("TotalCapacity"))
        .sum()
}

fn relative_deviation(got: f64, truth: f64) -> f64 {
    (got - truth).abs() / truth.abs()
}

#[test]
fn config_and_api_clusters_are_collected_and_match_ground_truth() {
    let sim = Simulator::start(
        SimConfig::with_clusters(vec![
            ClusterSpec::new("sim-file", 3, 3, Version::V3_3),
            ClusterSpec::new("sim-api", 2, 2, Version::V4_0)
                .with_credentials("monitor", API_PASSWORD),
        ])
        .seed(SEED),
    )
    .expect("simulator");
    let file_info = sim.cluster("sim-file").unwrap();
    let api_info = sim.cluster("sim-api").unwrap();
    let app = TestApp::start(AppConfig::default().cluster(ConfigCluster::from_sim(&file_info)));

    // Register the second cluster through the API (V4.0 needs its Basic auth on /metrics).
    let created = app.post_json(
        "/api/clusters",
        &json!({"name": "sim-api", "fe_hosts": api_info.fe_hosts, "username": "monitor",
                "password": API_PASSWORD, "request_timeout_secs": 5}),
    );
    let cluster = created.expect(201);
    let api_id = cluster["id"].as_i64().expect("integer id");
    assert_eq!(
        created.header("location"),
        Some(format!("/api/clusters/{api_id}").as_str())
    );
    assert_eq!(cluster["source"], "api");
    assert_eq!(cluster["request_timeout_secs"], 5);
    assert!(!has_key_anywhere(&cluster, "password"), "{cluster}");

    // The list: both clusters, integer ids, hosts and user, no password anywhere.
    let list = app.get("/api/clusters").expect(200);
    let rows = list.as_array().expect("array");
    assert_eq!(rows.len(), 2, "{list}");
    assert!(!has_key_anywhere(&list, "password"), "{list}");
    let file_id = app.cluster_id("sim-file");
    for (row, info, user, source) in [
        (&rows[0], &file_info, "root", "config"),
        (&rows[1], &api_info, "monitor", "api"),
    ] {
        assert!(row["id"].is_i64(), "{row}");
        assert_eq!(row["name"], info.name.as_str());
        assert_eq!(row["fe_hosts"], json!(info.fe_hosts));
        assert_eq!(row["username"], user);
        assert_eq!(row["source"], source);
        assert_eq!(row["enabled"], true);
        for key in [
            "connect_timeout_secs",
            "request_timeout_secs",
            "created_at",
            "updated_at",
        ] {
            assert!(row.get(key).is_some(), "{key} missing: {row}");
        }
        assert_eq!(row["shard"], Value::Null, "not sharded: {row}");
    }
    assert_eq!(rows[0]["id"], file_id);
    assert_eq!(rows[1]["id"], api_id);

    // At least three cycles: four snapshots make three rate windows.
    for id in [file_id, api_id] {
        app.wait_for_snapshots(id, 4, Duration::from_secs(20));
    }

    for (id, info) in [(file_id, &file_info), (api_id, &api_info)] {
        let overview = app
            .get(&format!("/api/clusters/{id}/overview?time_range=15m"))
            .expect(200);
        assert_overview_shape(&overview);
        assert_eq!(overview["cluster_id"], id);
        assert_eq!(overview["cluster_name"], info.name.as_str());
        assert_eq!(overview["time_range"], "15m");

        let latest = &overview["latest_snapshot"];
        let model_keys = snapshot_keys(latest);
        let got_keys: BTreeSet<String> = latest.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            got_keys, model_keys,
            "latest_snapshot fields differ from the contract"
        );
        assert_eq!(latest["cluster_id"], id);
        assert_eq!(latest["source_errors"], json!([]), "{latest}");
        assert_eq!(latest["scrape_nodes_total"], info.nodes.len());
        assert_eq!(latest["scrape_nodes_ok"], info.nodes.len());
        assert_eq!(latest["rates_from_gauges"], false);

        for group in ["performance_trends", "resource_trends"] {
            for (name, points) in overview[group].as_object().unwrap() {
                let points = points.as_array().unwrap();
                assert!(!points.is_empty(), "{group}.{name} has no point");
                assert!(points.len() <= 240);
                for p in points {
                    parse_time(&p["timestamp"]);
                    assert!(p.get("value").is_some(), "{group}.{name}: {p}");
                }
            }
        }
        for name in [
            "qps",
            "cpu_usage",
            "jvm_heap_usage",
            "disk_usage",
            "network_send_rate",
        ] {
            let s = &overview["statistics"][name];
            // Rates need two scrapes: the first snapshot has none.
            assert!(s["count"].as_u64().unwrap() >= 3, "{name}: {s}");
            let (min, avg, max) = (
                s["min"].as_f64().unwrap(),
                s["avg"].as_f64().unwrap(),
                s["max"].as_f64().unwrap(),
            );
            assert!(min <= avg && avg <= max, "{name}: {s}");
        }
        let qps_trend = &overview["performance_trends"]["qps"];
        assert!(
            qps_trend
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["value"].is_f64())
        );
        let collector = &overview["collector"];
        assert_eq!(collector["cluster_id"], id);
        assert_eq!(collector["cluster_name"], info.name.as_str());
        assert!(collector["last_success_at"].is_string(), "{collector}");
        assert_eq!(collector["last_error"], Value::Null);
        assert_eq!(collector["consecutive_failures"], 0);

        // The window of latest_snapshot.qps: the raw snapshot before it and its own time.
        let rows = app.snapshots(id);
        let at = rows
            .iter()
            .position(|r| r["collected_at"] == latest["collected_at"])
            .expect("latest snapshot among the raw rows");
        assert!(at >= 1, "no snapshot before the latest");
        assert_eq!(&rows[at], latest, "raw row and latest_snapshot differ");
        let prev = parse_time(&rows[at - 1]["collected_at"]);
        let cur = parse_time(&latest["collected_at"]);
        let truth = sim.ground_truth(&info.name, prev, cur).unwrap();

        let qps = latest["qps"].as_f64().expect("qps");
        let qps_dev = relative_deviation(qps, truth.qps);
        let disk_total = latest["disk_total_bytes"]
            .as_u64()
            .expect("disk_total_bytes");
        let heap_pct = latest["jvm_heap_usage_pct"]
            .as_f64()
            .expect("jvm_heap_usage_pct");
        let truth_heap_pct = 100.0 * truth.jvm_heap_used as f64 / truth.jvm_heap_max as f64;
        let heap_dev = relative_deviation(heap_pct, truth_heap_pct);
        let cpu = latest["avg_cpu_usage"].as_f64().expect("avg_cpu_usage");
        let send = latest["network_send_rate"]
            .as_f64()
            .expect("network_send_rate");
        eprintln!(
            "[e2e] {}: window {:.3} s; qps {qps:.2} vs truth {:.2} (dev {:.3}%); disk_total \
             {disk_total} vs {}; heap {heap_pct:.3}% vs {truth_heap_pct:.3}% (dev {:.3}%); \
             cpu {cpu:.2}% vs {:.2}% (dev {:.2}%); net send {send:.0} vs {:.0} B/s (dev {:.2}%)",
            info.name,
            (cur - prev).as_seconds_f64(),
            truth.qps,
            qps_dev * 100.0,
            truth.disk_total_bytes,
            heap_dev * 100.0,
            truth.avg_cpu_usage_pct,
            relative_deviation(cpu, truth.avg_cpu_usage_pct) * 100.0,
            truth.network_send_rate,
            relative_deviation(send, truth.network_send_rate) * 100.0,
        );
        assert!(qps_dev <= 0.05, "qps {qps} vs ground truth {}", truth.qps);
        // Not in the brief's list, but as well derived from counters over the same window.
        assert!(
            relative_deviation(cpu, truth.avg_cpu_usage_pct) <= 0.05,
            "avg_cpu_usage {cpu} vs ground truth {}",
            truth.avg_cpu_usage_pct
        );
        assert!(
            relative_deviation(send, truth.network_send_rate) <= 0.05,
            "network_send_rate {send} vs ground truth {}",
            truth.network_send_rate
        );
        // StarRocks renders `TotalCapacity` as `%.3f TB` (METRICS.md: disk_total_bytes is
        // Σ TotalCapacity), so the figure is exact against the list the simulator serves and
        // within that rendering (≤ 0.0005 of a unit ≥ 1, i.e. 5e-4 relative) of the truth.
        let served = served_disk_total(info);
        assert_eq!(
            disk_total, served,
            "disk_total_bytes vs Σ served TotalCapacity"
        );
        let disk_dev = relative_deviation(disk_total as f64, truth.disk_total_bytes as f64);
        eprintln!(
            "[e2e] {}: disk_total_bytes {disk_total} = served Σ TotalCapacity; truth {} (dev {:.2e})",
            info.name, truth.disk_total_bytes, disk_dev
        );
        assert!(
            disk_dev <= 5e-4,
            "disk_total_bytes {disk_total} vs truth {}",
            truth.disk_total_bytes
        );
        let bes = info.nodes_of(NodeKind::Be).count();
        assert_eq!(truth.total_backends, bes);
        assert_eq!(latest["backend_total"], bes);
        assert_eq!(latest["backend_total"], truth.total_backends);
        assert_eq!(latest["backend_alive"], truth.alive_backends);
        assert!(
            heap_dev <= 0.05,
            "jvm_heap_usage_pct {heap_pct} vs ground truth {truth_heap_pct}"
        );
    }

    // The collector reports both clusters as collected.
    let status = wait_for("both clusters succeeded", Duration::from_secs(5), || {
        let status = app.get("/api/collector/status").expect(200);
        let ok = status["clusters"]
            .as_array()
            .is_some_and(|c| c.len() == 2 && c.iter().all(|c| c["last_success_at"].is_string()));
        ok.then_some(status)
    });
    assert!(!has_key_anywhere(&status, "password"));
}
