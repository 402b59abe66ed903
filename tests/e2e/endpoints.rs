//! Every endpoint besides the list and one cluster's overview: the summary rows, nodes, history,
//! daily roll-ups, collector status, the probe, rename and delete.

use std::collections::BTreeSet;
use std::time::Duration;

use rockscope_sim::{NodeKind, SimConfig, Simulator, Version};
use serde_json::{Value, json};

use crate::support::{
    AppConfig, ConfigCluster, TestApp, assert_collector_entry_shape, assert_overview_shape,
    has_key_anywhere, keys, parse_time, wait_for,
};

#[test]
fn every_endpoint_answers_with_its_documented_shape() {
    let sim = Simulator::start(SimConfig::uniform(1, 2, 3, Version::V3_3, 11)).expect("simulator");
    let info = sim.clusters().remove(0);
    let app = TestApp::start(AppConfig::default().cluster(ConfigCluster::from_sim(&info)));
    let id = app.cluster_id(&info.name);
    app.wait_for_snapshots(id, 3, Duration::from_secs(20));
    let n_nodes = info.nodes.len() as i64;

    // Summary rows of every cluster.
    let rows = app.get("/api/clusters/overview").expect(200);
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        keys(row),
        [
            "avg_cpu_usage",
            "disk_usage_pct",
            "enabled",
            "health",
            "id",
            "last_collected",
            "last_error",
            "name",
            "nodes_alive",
            "nodes_total",
            "qps",
            "query_latency_p99",
            "shard"
        ]
    );
    assert_eq!(row["id"], id);
    assert_eq!(row["name"], info.name.as_str());
    assert_eq!(row["enabled"], true);
    assert_eq!(row["health"], "healthy", "{row}");
    for key in [
        "qps",
        "query_latency_p99",
        "avg_cpu_usage",
        "disk_usage_pct",
    ] {
        assert!(row[key].as_f64().is_some_and(|v| v > 0.0), "{key}: {row}");
    }
    assert_eq!(row["nodes_alive"], n_nodes);
    assert_eq!(row["nodes_total"], n_nodes);
    parse_time(&row["last_collected"]);
    assert_eq!(row["last_error"], Value::Null);

    // One cluster's overview by query parameter: the same shape as by path.
    let by_query = app
        .get(&format!(
            "/api/clusters/overview?cluster_id={id}&time_range=1h&max_points=2"
        ))
        .expect(200);
    assert_overview_shape(&by_query);
    assert_eq!(by_query["cluster_id"], id);
    assert_eq!(by_query["time_range"], "1h");
    let qps_points = by_query["performance_trends"]["qps"].as_array().unwrap();
    assert!((1..=2).contains(&qps_points.len()), "{qps_points:?}");
    let by_path = app.get(&format!("/api/clusters/{id}/overview")).expect(200);
    assert_overview_shape(&by_path);
    assert_eq!(by_path["time_range"], "1h", "default range");

    // Nodes: one per simulated node, FEs first, each with its own HTTP port.
    let nodes = app.get(&format!("/api/clusters/{id}/nodes")).expect(200);
    let nodes = nodes.as_array().expect("array");
    assert_eq!(nodes.len(), info.nodes.len(), "{nodes:?}");
    let types: Vec<&str> = nodes
        .iter()
        .map(|n| n["node_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["fe", "fe", "be", "be", "be"]);
    let got: BTreeSet<(String, u64)> = nodes
        .iter()
        .map(|n| {
            (
                n["node_type"].as_str().unwrap().to_owned(),
                n["http_port"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: BTreeSet<(String, u64)> = info
        .nodes
        .iter()
        .map(|n| (n.kind.as_str().to_owned(), u64::from(n.addr.port())))
        .collect();
    assert_eq!(got, want);
    let leaders = nodes.iter().filter(|n| n["role"] == "leader").count();
    assert_eq!(leaders, 1, "one FE leader");
    for n in nodes {
        assert_eq!(n["cluster_id"], id);
        assert_eq!(n["alive"], true, "{n}");
        assert_eq!(n["scrape_ok"], true, "{n}");
        assert!(n["node_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert_eq!(n["host"], "127.0.0.1");
        parse_time(&n["collected_at"]);
        if n["node_type"] == "fe" {
            assert!(n["jvm_heap_usage_pct"].is_f64(), "{n}");
            assert_eq!(n["disk_total_bytes"], Value::Null);
        } else {
            assert_eq!(n["role"], Value::Null);
            assert!(n["disk_total_bytes"].as_u64().is_some_and(|v| v > 0), "{n}");
            assert!(n["cpu_usage_pct"].is_f64(), "{n}");
        }
    }
    assert_eq!(
        nodes.iter().filter(|n| n["node_type"] == "be").count(),
        info.nodes_of(NodeKind::Be).count()
    );

    // Downsampled history of two fields.
    let history = app
        .get(&format!(
            "/api/clusters/{id}/snapshots?fields=qps,avg_cpu_usage&max_points=5"
        ))
        .expect(200);
    assert_eq!(history["cluster_id"], id);
    assert_eq!(history["downsampled"], true);
    assert_eq!(history["max_points"], 5);
    assert_eq!(history["fields"], json!(["qps", "avg_cpu_usage"]));
    assert_eq!(history["truncated"], false);
    assert!(history.get("snapshots").is_none(), "{history}");
    let from = parse_time(&history["from"]);
    let to = parse_time(&history["to"]);
    assert_eq!((to - from).whole_minutes(), 60, "default window is 1 h");
    let points = history["points"].as_array().expect("points");
    assert!((1..=5).contains(&points.len()), "{points:?}");
    let mut counted = 0;
    for p in points {
        assert_eq!(keys(p), ["avg", "count", "max", "timestamp"]);
        assert_eq!(keys(&p["avg"]), ["avg_cpu_usage", "qps"]);
        assert_eq!(keys(&p["max"]), ["avg_cpu_usage", "qps"]);
        let t = parse_time(&p["timestamp"]);
        assert!(from <= t && t <= to);
        counted += p["count"].as_u64().unwrap();
    }
    assert_eq!(Some(counted), history["total"].as_u64(), "{history}");
    assert!(counted >= 3);

    // Raw history of the same fields: collected_at and the fields only.
    let raw = app
        .get(&format!(
            "/api/clusters/{id}/snapshots?fields=qps,avg_cpu_usage"
        ))
        .expect(200);
    assert_eq!(raw["downsampled"], false);
    let raw_rows = raw["snapshots"].as_array().unwrap();
    assert_eq!(raw_rows.len() as u64, raw["total"].as_u64().unwrap());
    for r in raw_rows {
        assert_eq!(keys(r), ["avg_cpu_usage", "collected_at", "qps"]);
    }

    // Daily roll-ups: an array (today's row, if the roll-up ran, is this cluster's).
    let daily = app.get(&format!("/api/clusters/{id}/daily")).expect(200);
    for day in daily.as_array().expect("array") {
        assert_eq!(day["cluster_id"], id);
    }

    // Collector status.
    let status = app.get("/api/collector/status").expect(200);
    assert_eq!(
        keys(&status),
        [
            "alert_delivery",
            "clusters",
            "cycles",
            "remote_write",
            "shard",
            "storage"
        ]
    );
    assert_eq!(status["shard"], Value::Null, "not sharded");
    assert_eq!(status["remote_write"], json!([]), "no endpoint configured");
    assert_eq!(
        status["alert_delivery"],
        serde_json::json!([]),
        "no receiver configured"
    );
    assert_eq!(status["storage"]["healthy"], true);
    let clusters = status["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 1);
    let entry = &clusters[0];
    assert_collector_entry_shape(entry);
    assert_eq!(entry["cluster_id"], id);
    assert_eq!(entry["cluster_name"], info.name.as_str());
    parse_time(&entry["last_success_at"]);
    parse_time(&entry["last_attempt_at"]);
    assert_eq!(entry["last_error"], Value::Null);
    assert_eq!(entry["consecutive_failures"], 0);
    let cycles = status["cycles"].as_array().unwrap();
    assert!(!cycles.is_empty() && cycles.len() <= 50);
    for c in cycles {
        assert_eq!(
            keys(c),
            [
                "clusters_failed",
                "clusters_ok",
                "clusters_skipped",
                "duration_ms",
                "started_at"
            ]
        );
        parse_time(&c["started_at"]);
    }
    assert!(cycles.iter().any(|c| c["clusters_ok"] == 1));
    let starts: Vec<_> = cycles
        .iter()
        .map(|c| parse_time(&c["started_at"]))
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "cycles newest first"
    );

    // A second registration of the same cluster, to probe, rename and delete.
    let created = app
        .post_json(
            "/api/clusters",
            &json!({"name": "probe-me", "fe_hosts": info.fe_hosts, "username": "root"}),
        )
        .expect(201);
    let other = created["id"].as_i64().unwrap();
    assert_ne!(other, id);

    let probe = app.post_json(&format!("/api/clusters/{other}/test"), &json!({}));
    let probe = probe.expect(200);
    assert_eq!(probe["cluster_id"], other);
    assert_eq!(probe["cluster_name"], "probe-me");
    assert_eq!(probe["result"]["ok"], true, "{probe}");
    let checks = probe["result"]["checks"].as_array().unwrap();
    assert_eq!(
        checks.len(),
        info.fe_hosts.len() + info.nodes.len(),
        "show_proc per FE entry point + one per node: {probe}"
    );
    assert!(checks.iter().all(|c| c["ok"] == true));
    assert_eq!(
        checks[0]["detail"],
        json!({"frontends": 2, "backends": 3, "compute_nodes": 0})
    );
    // The probe takes no body: an empty POST works as well.
    let bare = app.request(
        "POST",
        &format!("/api/clusters/{other}/test"),
        None,
        crate::support::Auth::App,
    );
    assert_eq!(bare.status, 200, "{}", bare.body);

    let renamed = app
        .put_json(
            &format!("/api/clusters/{other}"),
            &json!({"name": "renamed", "enabled": false}),
        )
        .expect(200);
    assert_eq!(renamed["id"], other);
    assert_eq!(renamed["name"], "renamed");
    assert_eq!(renamed["enabled"], false);
    assert_eq!(
        renamed["fe_hosts"],
        json!(info.fe_hosts),
        "untouched field kept"
    );
    let fetched = app.get(&format!("/api/clusters/{other}")).expect(200);
    assert_eq!(fetched, renamed);
    assert!(parse_time(&fetched["updated_at"]) >= parse_time(&fetched["created_at"]));

    let deleted = app.delete(&format!("/api/clusters/{other}"));
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(deleted.body.is_empty());
    for path in [
        format!("/api/clusters/{other}"),
        format!("/api/clusters/{other}/overview"),
        format!("/api/clusters/{other}/nodes"),
        format!("/api/clusters/{other}/snapshots"),
    ] {
        let message = app.get(&path).expect_error(404, "not_found");
        assert!(message.contains(&other.to_string()), "{message}");
    }
    assert_eq!(app.delete(&format!("/api/clusters/{other}")).status, 404);
    let list = app.get("/api/clusters").expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Health and readiness.
    assert_eq!(app.get("/health").expect(200), json!({"status": "ok"}));
    let ready = wait_for("ready", Duration::from_secs(5), || {
        let r = app.get("/ready");
        (r.status == 200).then(|| r.json())
    });
    assert_eq!(
        ready,
        json!({"status": "ready", "database": true, "storage": true, "collector": true,
               "housekeeping": true, "errors": []})
    );

    for body in app.bodies() {
        let value: Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) => continue,
        };
        assert!(!has_key_anywhere(&value, "password"), "{body}");
    }
}

/// `/test` tries the FE entry points at once under one deadline: four hung FEs with a 5 s
/// request timeout answer in about one timeout (one after another they took four), each with
/// its status and code.
#[test]
fn test_probes_hung_fes_at_once() {
    let sim = Simulator::start(SimConfig::uniform(1, 4, 1, Version::V3_3, 8)).expect("simulator");
    let info = sim.clusters().remove(0);
    for i in 0..4 {
        sim.set_fault(
            &info.name,
            rockscope_sim::NodeId::fe(i),
            rockscope_sim::Fault::Hang,
        )
        .unwrap();
    }
    let app = TestApp::start(AppConfig::default());
    let id = app
        .post_json(
            "/api/clusters",
            &json!({"name": "hung", "fe_hosts": info.fe_hosts, "username": "root",
                    "connect_timeout_secs": 5, "request_timeout_secs": 5}),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let started = std::time::Instant::now();
    let probe = app
        .post_json(&format!("/api/clusters/{id}/test"), &json!({}))
        .expect(200);
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(12),
        "took {elapsed:?}: {probe}"
    );
    let checks = probe["result"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 4, "{probe}");
    for check in checks {
        assert_eq!(check["status"], "failed", "{check}");
        assert_eq!(check["code"], "timeout", "{check}");
    }
}
