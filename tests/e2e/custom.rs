//! Custom metrics end to end (issue 16): definitions from the config file and through
//! `/api/custom-metrics`, collected from a simulated cluster, served by the overview,
//! `/snapshots`, `/daily`-free reads, `/metrics`, read by an alert rule, and discovered through
//! `metric-families`; bad definitions get their documented errors through the API and the config.

use std::time::Duration;

use rockscope_sim::{Fault, NodeId, SimConfig, Simulator, Version};
use serde_json::{Value, json};

use crate::support::{AppConfig, ConfigCluster, TestApp, wait_for};

const WAIT: Duration = Duration::from_secs(30);

/// The config file's definitions: a gauge summed over BEs (kept per node), a counter's rate, a
/// leader-only FE series, a regex on a label, a ratio, and a series no node has.
const DEFINITIONS: &str = r#"
[[collector.custom_metrics]]
name = "be_process_mem"
metric = "starrocks_be_process_mem_bytes"
node_types = ["be"]
aggregate = "sum"
unit = "bytes"
description = "Memory of the BE processes"
per_node = true

[[collector.custom_metrics]]
name = "segment_reads"
metric = "starrocks_be_segment_read_total"
node_types = ["be"]
aggregate = "sum"
rate = true
unit = "per_second"

[[collector.custom_metrics]]
name = "leader_meta_log"
metric = "starrocks_fe_meta_log_count"
node_types = ["fe"]
aggregate = "leader"

[[collector.custom_metrics]]
name = "data1_capacity"
metric = "starrocks_be_disks_total_capacity"
match = '{path=~"/data1/.*"}'
node_types = ["be"]
aggregate = "sum"
unit = "bytes"

[[collector.custom_metrics]]
name = "all_paths_capacity"
metric = "starrocks_be_disks_total_capacity"
node_types = ["be"]
aggregate = "sum"
unit = "bytes"

[[collector.custom_metrics]]
name = "data1_share"
metric = "starrocks_be_disks_total_capacity"
match = '{path=~"/data1/.*"}'
node_types = ["be"]
aggregate = "sum"
ratio_of = "all_paths_capacity"
unit = "ratio"

[[collector.custom_metrics]]
name = "absent_everywhere"
metric = "starrocks_be_no_such_series"
node_types = ["be", "cn"]
aggregate = "count"
"#;

fn start() -> (Simulator, TestApp, i64, String) {
    let sim = Simulator::start(SimConfig::uniform(1, 2, 3, Version::V3_3, 16)).unwrap();
    let cluster = sim.clusters()[0].clone();
    let config = AppConfig::default()
        .rust_log("info")
        .cluster(ConfigCluster::from_sim(&cluster))
        .section(DEFINITIONS);
    let app = TestApp::start(config);
    let id = app.cluster_id(&cluster.name);
    (sim, app, id, cluster.name)
}

/// The newest snapshot's `custom` object once every name in `names` has a value there.
fn latest_custom(app: &TestApp, id: i64, names: &[&str]) -> Value {
    wait_for("custom values in the newest snapshot", WAIT, || {
        let overview = app
            .get(&format!("/api/clusters/{id}/overview?time_range=15m"))
            .expect(200);
        let custom = overview["latest_snapshot"]["custom"].clone();
        names
            .iter()
            .all(|n| custom[*n].is_number())
            .then_some(custom)
    })
}

#[test]
fn config_definitions_are_collected_and_served_everywhere() {
    let (sim, app, id, name) = start();
    let names = [
        "be_process_mem",
        "segment_reads",
        "leader_meta_log",
        "data1_capacity",
        "all_paths_capacity",
        "data1_share",
    ];
    let custom = latest_custom(&app, id, &names);

    // The definitions as written, from the config (read-only through the API).
    let list = app.get("/api/custom-metrics").expect(200);
    let listed: Vec<&str> = list["custom_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 7, "{list}");
    assert!(
        list["custom_metrics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["source"] == "config")
    );
    let one = app.get("/api/custom-metrics/data1_share").expect(200);
    assert_eq!(one["match"], "{path=~\"/data1/.*\"}");
    assert_eq!(one["ratio_of"], "all_paths_capacity");

    // Values: a series no node has is null, never 0; the regex picks one of two paths; the
    // ratio is of the aggregates; the leader's series is one FE's value.
    assert!(custom["absent_everywhere"].is_null(), "{custom}");
    let data1 = custom["data1_capacity"].as_f64().unwrap();
    let all = custom["all_paths_capacity"].as_f64().unwrap();
    assert!(data1 > 0.0 && data1 < all, "{custom}");
    let share = custom["data1_share"].as_f64().unwrap();
    assert!((share - data1 / all).abs() < 1e-9, "{custom}");
    assert!(custom["segment_reads"].as_f64().unwrap() >= 0.0);
    assert!(custom["leader_meta_log"].as_f64().unwrap() >= 0.0);

    // Per node: the BEs' values, which sum to the cluster's of the same cycle.
    let nodes = app.get(&format!("/api/clusters/{id}/nodes")).expect(200);
    let snapshot_at = nodes[0]["collected_at"].clone();
    let snapshots = app
        .get(&format!(
            "/api/clusters/{id}/snapshots?fields=be_process_mem"
        ))
        .expect(200);
    let same_cycle = snapshots["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["collected_at"] == snapshot_at)
        .unwrap_or_else(|| panic!("no snapshot at {snapshot_at}: {snapshots}"))
        .clone();
    let node_sum: f64 = nodes
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["node_type"] == "be")
        .map(|n| n["custom"]["be_process_mem"].as_f64().unwrap())
        .sum();
    assert_eq!(same_cycle["be_process_mem"].as_f64().unwrap(), node_sum);
    assert!(
        nodes
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["node_type"] == "fe")
            .all(|n| n["custom"].as_object().unwrap().is_empty()),
        "a BE series on no FE: {nodes}"
    );

    // The overview's custom trends and statistics, one per definition in force.
    let overview = app
        .get(&format!("/api/clusters/{id}/overview?time_range=15m"))
        .expect(200);
    let trends = overview["custom_trends"].as_object().unwrap();
    assert_eq!(trends.len(), 7, "{overview}");
    let points = trends["data1_share"].as_array().unwrap();
    assert!(!points.is_empty() && points[0]["timestamp"].is_string());
    assert!(
        trends["absent_everywhere"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["value"].is_null())
    );
    let stats = &overview["custom_statistics"]["absent_everywhere"];
    assert_eq!(stats["count"], 0, "{stats}");
    assert!(overview["custom_statistics"]["all_paths_capacity"]["avg"].is_number());

    // `/snapshots` takes custom names beside built-in ones, raw and downsampled.
    let raw = app
        .get(&format!(
            "/api/clusters/{id}/snapshots?fields=qps,data1_share,absent_everywhere"
        ))
        .expect(200);
    let row = &raw["snapshots"][0];
    assert!(
        row.get("qps").is_some() && row["data1_share"].is_number(),
        "{row}"
    );
    assert!(row["absent_everywhere"].is_null());
    let down = app
        .get(&format!(
            "/api/clusters/{id}/snapshots?fields=data1_share&max_points=5"
        ))
        .expect(200);
    assert!(
        down["points"][0]["avg"]["data1_share"].is_number(),
        "{down}"
    );
    let message = app
        .get(&format!(
            "/api/clusters/{id}/snapshots?fields=no_such_metric"
        ))
        .expect_error(400, "invalid_parameter");
    assert!(message.contains("`no_such_metric`"), "{message}");

    // `/metrics`: the cluster aggregate as `rockscope_custom_<name>`; a null exports nothing.
    let text = app.get("/metrics").body;
    let line = format!("rockscope_custom_data1_capacity{{cluster=\"{name}\"}} ");
    assert!(text.contains(&line), "{text}");
    assert!(
        !text.contains("rockscope_custom_absent_everywhere{"),
        "{text}"
    );

    // Discovery: the families of the newest FE and BE bodies.
    let families = app
        .get(&format!("/api/clusters/{id}/metric-families"))
        .expect(200);
    let be = families["node_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["node_type"] == "be")
        .unwrap_or_else(|| panic!("{families}"));
    let disks = be["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "starrocks_be_disks_total_capacity")
        .unwrap();
    assert_eq!(disks["type"], "gauge");
    assert_eq!(disks["label_names"], json!(["path"]));
    let only_fe = app
        .get(&format!("/api/clusters/{id}/metric-families?node_type=fe"))
        .expect(200);
    assert_eq!(only_fe["node_types"].as_array().unwrap().len(), 1);
    app.get(&format!("/api/clusters/{id}/metric-families?node_type=xx"))
        .expect_error(400, "invalid_parameter");

    // A BE restart: its counter starts again; the rate stays a non-negative rate.
    sim.set_fault(&name, NodeId::be(0), Fault::Restart).unwrap();
    for _ in 0..3 {
        let before = app.snapshots(id).len();
        app.wait_for_snapshots(id, before + 1, WAIT);
    }
    let rates = app
        .get(&format!(
            "/api/clusters/{id}/snapshots?fields=segment_reads"
        ))
        .expect(200);
    for row in rates["snapshots"].as_array().unwrap() {
        if let Some(v) = row["segment_reads"].as_f64() {
            assert!(v >= 0.0, "a negative rate across the restart: {rates}");
        }
    }
}

#[test]
fn definitions_are_edited_through_the_api_and_bad_ones_refused() {
    let (_sim, app, id, name) = start();
    latest_custom(&app, id, &["be_process_mem"]);

    // Created through the API: in force from the next cycle, listed with its source.
    let definition = json!({
        "name": "be_threads",
        "metric": "starrocks_be_process_thread_num",
        "node_types": ["be"],
        "aggregate": "max",
        "description": "Most threads on one BE",
    });
    let created = app.post_json("/api/custom-metrics", &definition);
    let body = created.expect(201);
    assert_eq!(
        created.header("location"),
        Some("/api/custom-metrics/be_threads")
    );
    assert_eq!(body["source"], "api");
    latest_custom(&app, id, &["be_threads"]);
    app.post_json("/api/custom-metrics", &definition)
        .expect_error(409, "conflict");

    // An alert rule reads it like any field; the metric cannot go while the rule reads it.
    let rule = json!({"name": "ManyBeThreads", "expr": "be_threads > 0"});
    app.post_json("/api/alert-rules", &rule).expect(201);
    wait_for("the custom rule firing", WAIT, || {
        let alerts = app.get("/api/alerts").expect(200);
        alerts.to_string().contains("ManyBeThreads").then_some(())
    });
    let refused = app
        .delete("/api/custom-metrics/be_threads")
        .expect_error(409, "conflict");
    assert!(refused.contains("ManyBeThreads"), "{refused}");
    assert_eq!(app.delete("/api/alert-rules/ManyBeThreads").status, 204);

    // Replaced (same name), then deleted: its history stays readable.
    let mut changed = definition.clone();
    changed["aggregate"] = json!("min");
    app.put_json("/api/custom-metrics/be_threads", &changed)
        .expect(200);
    app.put_json("/api/custom-metrics/other", &changed)
        .expect_error(400, "invalid_parameter");
    assert_eq!(app.delete("/api/custom-metrics/be_threads").status, 204);
    app.get("/api/custom-metrics/be_threads")
        .expect_error(404, "not_found");
    let history = app
        .get(&format!("/api/clusters/{id}/snapshots?fields=be_threads"))
        .expect(200);
    assert!(
        history["snapshots"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["be_threads"].is_number()),
        "the history of a removed definition: {history}"
    );

    // Config definitions are read-only here.
    app.delete("/api/custom-metrics/be_process_mem")
        .expect_error(409, "conflict");

    // The documented errors.
    let bad = |patch: Value| {
        let mut d = json!({
            "name": "bad_one",
            "metric": "starrocks_be_process_mem_bytes",
            "node_types": ["be"],
            "aggregate": "sum",
        });
        for (k, v) in patch.as_object().unwrap() {
            d[k] = v.clone();
        }
        app.post_json("/api/custom-metrics", &d)
            .expect_error(400, "invalid_parameter")
    };
    assert!(bad(json!({"name": "qps"})).contains("clashes with the built-in field qps"));
    assert!(bad(json!({"match": "{path=~\"(\"}"})).contains("does not compile"));
    assert!(bad(json!({"node_types": ["be", "xe"]})).contains("unknown node type \"xe\""));
    assert!(bad(json!({"ratio_of": "bad_one"})).contains("ratio_of names the metric itself"));
    assert!(bad(json!({"ratio_of": "nothing"})).contains("is not a custom metric"));
    let unknown_key = app.post_json(
        "/api/custom-metrics",
        &json!({"name": "x", "metric": "m", "node_types": ["be"], "aggregate": "sum", "rates": true}),
    );
    assert!(
        unknown_key
            .expect_error(400, "bad_request")
            .contains("rates")
    );

    // `rate` on a family the bodies type as gauge: accepted, with the warning.
    let gauge_rate = app.post_json(
        "/api/custom-metrics",
        &json!({
            "name": "mem_rate",
            "metric": "starrocks_be_process_mem_bytes",
            "node_types": ["be"],
            "aggregate": "sum",
            "rate": true,
        }),
    );
    let body = gauge_rate.expect(201);
    assert!(
        body["warnings"].to_string().contains("rate on a gauge"),
        "{body}"
    );
    let _ = name;
}

#[test]
fn bad_config_definitions_stop_the_start_with_their_error() {
    let config = AppConfig::default().section(
        "[[collector.custom_metrics]]\nname = \"bad\"\nmetric = \"m\"\nmatch = '{a=~\"[\"}'\n\
         node_types = [\"be\"]\naggregate = \"sum\"\n",
    );
    let (status, logs) = TestApp::start_expecting_exit(config);
    assert!(!status.success());
    assert!(
        logs.contains("custom metric \"bad\"") && logs.contains("does not compile"),
        "{logs}"
    );
    let config = AppConfig::default().section(
        "[[collector.custom_metrics]]\nname = \"qps\"\nmetric = \"m\"\n\
         node_types = [\"be\"]\naggregate = \"sum\"\n",
    );
    let (status, logs) = TestApp::start_expecting_exit(config);
    assert!(!status.success());
    assert!(
        logs.contains("clashes with the built-in field qps"),
        "{logs}"
    );
}
