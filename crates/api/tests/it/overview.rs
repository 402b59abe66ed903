//! The overview of one cluster and the summary rows of all.

use rockscope_store::ClusterUpdate;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::support::{new_cluster, snapshot, store};

const PERFORMANCE: [&str; 6] = [
    "error_rate",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "qps",
    "rps",
];
const RESOURCE: [&str; 8] = [
    "cpu_usage",
    "disk_usage",
    "io_read_rate",
    "io_write_rate",
    "jvm_heap_usage",
    "memory_usage",
    "network_receive_rate",
    "network_send_rate",
];

fn keys(v: &Value) -> Vec<String> {
    v.as_object().expect("object").keys().cloned().collect()
}

#[actix_web::test]
async fn empty_cluster_overview_is_200_with_nulls() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("empty")).unwrap().id;
    for uri in [
        format!("/api/clusters/overview?cluster_id={id}"),
        format!("/api/clusters/{id}/overview"),
    ] {
        let v = get!(app, uri).ok_json();
        assert_eq!(
            keys(&v),
            [
                "cluster_id",
                "cluster_name",
                "collector",
                "custom_statistics",
                "custom_trends",
                "latest_snapshot",
                "performance_trends",
                "resource_trends",
                "statistics",
                "time_range"
            ]
        );
        assert_eq!(v["cluster_id"], id);
        assert_eq!(v["cluster_name"], "empty");
        assert_eq!(v["time_range"], "1h");
        assert_eq!(v["latest_snapshot"], Value::Null);
        assert_eq!(keys(&v["performance_trends"]), PERFORMANCE);
        assert_eq!(keys(&v["resource_trends"]), RESOURCE);
        for name in PERFORMANCE {
            assert_eq!(v["performance_trends"][name], json!([]));
            assert_eq!(
                v["statistics"][name],
                json!({"count": 0, "avg": null, "max": null, "min": null})
            );
        }
        for name in RESOURCE {
            assert_eq!(v["resource_trends"][name], json!([]));
        }
        assert_eq!(v["statistics"].as_object().unwrap().len(), 14);
        assert_eq!(v["collector"]["cluster_id"], id);
        assert_eq!(v["collector"]["last_attempt_at"], Value::Null);
    }
}

#[actix_web::test]
async fn overview_trends_statistics_and_latest() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let now = OffsetDateTime::now_utc();
    // 120 snapshots 30 s apart over the last hour; rps only in the second half.
    for i in 0..120i64 {
        let at = now - Duration::seconds((119 - i) * 30 + 5);
        let rps = if i >= 60 {
            json!(i as f64 * 2.0)
        } else {
            Value::Null
        };
        let s = snapshot(
            id,
            at,
            json!({"qps": i as f64, "rps": rps, "query_latency_p99": 100.0 + i as f64,
                   "avg_cpu_usage": 50.0, "disk_usage_pct": 70.0, "io_read_rate": 1024.0}),
        );
        store.insert_cycle(&s, &[]).unwrap();
    }
    // Older than the 1h range: ignored by default, counted in 6h.
    store
        .insert_cycle(
            &snapshot(id, now - Duration::hours(2), json!({"qps": 1000.0})),
            &[],
        )
        .unwrap();

    let v = get!(
        app,
        format!("/api/clusters/{id}/overview?time_range=1h&max_points=10")
    )
    .ok_json();
    assert_eq!(v["time_range"], "1h");
    assert_eq!(v["latest_snapshot"]["qps"], 119.0);
    assert_eq!(v["latest_snapshot"]["cluster_id"], id);
    assert_eq!(v["latest_snapshot"]["query_latency_p99"], 219.0);
    let qps = v["performance_trends"]["qps"].as_array().unwrap();
    assert!(!qps.is_empty() && qps.len() <= 10, "{}", qps.len());
    for p in qps {
        assert_eq!(keys(p), ["timestamp", "value"]);
        assert!(p["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    // Bucket means of 0..=119 average back to the overall mean when buckets are equal-sized.
    let first: f64 = qps[0]["value"].as_f64().unwrap();
    assert!(first < 12.0, "{first}");
    // rps is null in every snapshot of the early buckets.
    let rps = v["performance_trends"]["rps"].as_array().unwrap();
    assert_eq!(rps[0]["value"], Value::Null);
    assert!(rps.last().unwrap()["value"].as_f64().unwrap() > 200.0);
    // Unset fields: points with null values.
    assert!(
        v["resource_trends"]["jvm_heap_usage"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["value"].is_null())
    );
    assert_eq!(v["resource_trends"]["cpu_usage"][0]["value"], 50.0);
    assert_eq!(v["resource_trends"]["disk_usage"][0]["value"], 70.0);
    assert_eq!(v["resource_trends"]["io_read_rate"][0]["value"], 1024.0);

    let stats = &v["statistics"];
    assert_eq!(
        stats["qps"],
        json!({"count": 120, "avg": 59.5, "max": 119.0, "min": 0.0})
    );
    assert_eq!(
        stats["rps"],
        json!({"count": 60, "avg": 179.0, "max": 238.0, "min": 120.0})
    );
    assert_eq!(stats["latency_p99"]["max"], 219.0);
    assert_eq!(stats["cpu_usage"]["avg"], 50.0);
    assert_eq!(stats["jvm_heap_usage"]["count"], 0);

    // Default max_points (240) keeps every one of the 120 snapshots.
    let v = get!(app, format!("/api/clusters/overview?cluster_id={id}")).ok_json();
    assert_eq!(
        v["performance_trends"]["qps"].as_array().unwrap().len(),
        120
    );
    assert_eq!(v["statistics"]["qps"]["count"], 120);
    // A longer range reaches the old snapshot.
    let v = get!(app, format!("/api/clusters/{id}/overview?time_range=6h")).ok_json();
    assert_eq!(v["time_range"], "6h");
    assert_eq!(v["statistics"]["qps"]["max"], 1000.0);
    assert_eq!(v["statistics"]["qps"]["count"], 121);
    // A huge max_points is capped, not an error.
    get!(
        app,
        format!("/api/clusters/{id}/overview?max_points=1000000")
    )
    .ok_json();
}

#[actix_web::test]
async fn overview_parameter_errors() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    for base in [
        format!("/api/clusters/overview?cluster_id={id}&"),
        format!("/api/clusters/{id}/overview?"),
    ] {
        let msg = get!(app, format!("{base}time_range=2h")).error(400, "invalid_parameter");
        assert_eq!(msg, "time_range must be one of 15m, 1h, 6h, 24h, 3d, 7d");
        for bad in ["0", "-3", "ten", ""] {
            let msg = get!(app, format!("{base}max_points={bad}")).error(400, "invalid_parameter");
            assert!(
                msg.starts_with("max_points must be a positive integer"),
                "{msg}"
            );
        }
    }
    let msg = get!(app, "/api/clusters/overview?cluster_id=abc").error(400, "invalid_parameter");
    assert_eq!(msg, "cluster_id must be an integer cluster id");
    get!(app, "/api/clusters/overview?cluster_id=999").error(404, "not_found");
    get!(app, "/api/clusters/999/overview").error(404, "not_found");
    get!(app, "/api/clusters/x/overview").error(400, "invalid_parameter");
    let msg = get!(app, "/api/clusters/overview?time_range=1h&time_range=6h")
        .error(400, "invalid_parameter");
    assert!(msg.contains("time_range"), "{msg}");
}

#[actix_web::test]
async fn summaries_have_one_row_per_cluster_with_health() {
    let store = store();
    let app = app!(store);
    assert_eq!(get!(app, "/api/clusters/overview").ok_json(), json!([]));
    let now = OffsetDateTime::now_utc() - Duration::seconds(10);
    let all_alive = json!({
        "qps": 12.5, "query_latency_p99": 80.0, "avg_cpu_usage": 33.0, "disk_usage_pct": 41.0,
        "frontend_alive": 3, "frontend_total": 3, "backend_alive": 3, "backend_total": 3,
    });
    let healthy = store.create_cluster(&new_cluster("healthy")).unwrap().id;
    store
        .insert_cycle(&snapshot(healthy, now, all_alive.clone()), &[])
        .unwrap();
    let empty = store.create_cluster(&new_cluster("empty")).unwrap().id;
    let degraded = store.create_cluster(&new_cluster("degraded")).unwrap().id;
    let mut one_dead = all_alive.clone();
    one_dead["backend_alive"] = json!(2);
    store
        .insert_cycle(&snapshot(degraded, now, one_dead), &[])
        .unwrap();
    let down = store.create_cluster(&new_cluster("down")).unwrap().id;
    let mut nothing_scraped = all_alive.clone();
    nothing_scraped["scrape_nodes_ok"] = json!(0);
    store
        .insert_cycle(&snapshot(down, now, nothing_scraped), &[])
        .unwrap();
    let disabled = store.create_cluster(&new_cluster("disabled")).unwrap().id;
    store
        .update_cluster(
            disabled,
            &ClusterUpdate {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .unwrap();

    let rows = get!(app, "/api/clusters/overview").ok_json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 5);
    let mut row_keys = keys(&rows[0]);
    row_keys.sort();
    assert_eq!(
        row_keys,
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
    let row = |id: i64| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    let h = row(healthy);
    assert_eq!(h["name"], "healthy");
    assert_eq!(h["health"], "healthy");
    assert_eq!(h["qps"], 12.5);
    assert_eq!(h["query_latency_p99"], 80.0);
    assert_eq!(h["avg_cpu_usage"], 33.0);
    assert_eq!(h["disk_usage_pct"], 41.0);
    assert_eq!(h["nodes_alive"], 6);
    assert_eq!(h["nodes_total"], 6);
    assert_eq!(h["last_error"], Value::Null);
    assert_eq!(h["shard"], Value::Null);
    let at = time::OffsetDateTime::parse(
        h["last_collected"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((at - now).abs() < Duration::milliseconds(2));
    let e = row(empty);
    assert_eq!(e["health"], "unknown");
    assert_eq!(e["qps"], Value::Null);
    assert_eq!(e["last_collected"], Value::Null);
    assert_eq!(e["nodes_total"], Value::Null);
    assert_eq!(row(degraded)["health"], "degraded");
    assert_eq!(row(degraded)["nodes_alive"], 5);
    assert_eq!(row(down)["health"], "down");
    assert_eq!(row(disabled)["health"], "unknown");
    assert_eq!(row(disabled)["enabled"], false);
}

/// The per-cluster overview is answered from the response cache until the cluster gets a new
/// cycle (or is updated or deleted), and a cached answer is byte for byte the uncached one.
#[actix_web::test]
async fn a_new_cycle_invalidates_the_cached_overview() {
    let store = store();
    let state = crate::support::state(&store, None);
    let cache = state.overview_cache.clone();
    let app = actix_web::test::init_service(
        actix_web::App::new().configure(rockscope_api::configure(state)),
    )
    .await;
    // The same store through an app that caches nothing: the reference answers.
    let mut uncached_state = crate::support::state(&store, None);
    uncached_state.overview_cache = rockscope_api::OverviewCache::disabled();
    let uncached = actix_web::test::init_service(
        actix_web::App::new().configure(rockscope_api::configure(uncached_state)),
    )
    .await;

    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let other = store.create_cluster(&new_cluster("other")).unwrap().id;
    let now = OffsetDateTime::now_utc();
    // Snapshots 30 s apart, 5 s off every bucket boundary of 1h/240 and 7d/240 points, so two
    // answers computed a moment apart bucket alike.
    for i in 0..200i64 {
        let at = now - Duration::seconds(i * 30 + 5);
        for c in [id, other] {
            let s = snapshot(c, at, json!({"qps": i as f64, "avg_cpu_usage": 40.0}));
            store.insert_cycle(&s, &[]).unwrap();
        }
    }
    let uri = format!("/api/clusters/{id}/overview?time_range=7d");
    let first = get!(app, uri);
    assert_eq!(first.status.as_u16(), 200);
    assert_eq!(
        first.headers.get("content-type").unwrap(),
        "application/json"
    );
    let before = cache.stats();
    assert_eq!((before.hits, before.entries), (0, 1));
    let second = get!(app, uri);
    assert_eq!(cache.stats().hits, 1, "answered from the cache");
    assert_eq!(second.text, first.text);
    assert_eq!(
        second.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(
        get!(uncached, uri).text,
        first.text,
        "the cached answer is the uncached one"
    );
    // Another cluster's cycle leaves this entry alone.
    store
        .insert_cycle(&snapshot(other, now, json!({"qps": 5.0})), &[])
        .unwrap();
    assert_eq!(get!(app, uri).text, first.text);
    assert_eq!(cache.stats().hits, 2);

    // A new cycle of this cluster: the next answer is computed again and shows it.
    let newest = now + Duration::milliseconds(1);
    store
        .insert_cycle(&snapshot(id, newest, json!({"qps": 1000.0})), &[])
        .unwrap();
    let after = get!(app, uri);
    assert_eq!(cache.stats().hits, 2, "not from the cache");
    assert_ne!(after.text, first.text);
    let v = after.ok_json();
    assert_eq!(v["latest_snapshot"]["qps"], 1000.0);
    assert_eq!(v["statistics"]["qps"]["count"], 201);
    assert_eq!(v["statistics"]["qps"]["max"], 1000.0);
    assert_eq!(first.ok_json()["statistics"]["qps"]["count"], 200);
    assert_eq!(get!(uncached, uri).text, after.text);
    // ... and is cached again.
    assert_eq!(get!(app, uri).text, after.text);
    assert_eq!(cache.stats().hits, 3);

    // Other parameters are other entries; the query form shares the entries of the path form.
    let one_hour = get!(app, format!("/api/clusters/{id}/overview?time_range=1h")).ok_json();
    assert_eq!(one_hour["time_range"], "1h");
    let by_query = get!(
        app,
        format!("/api/clusters/overview?cluster_id={id}&time_range=7d")
    );
    assert_eq!(by_query.text, after.text);
    assert_eq!(cache.stats().hits, 4);

    // A rename and a deletion are seen at once.
    store
        .update_cluster(
            id,
            &ClusterUpdate {
                name: Some("renamed".into()),
                ..ClusterUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(get!(app, uri).ok_json()["cluster_name"], "renamed");
    store.delete_cluster(id).unwrap();
    get!(app, uri).error(404, "not_found");
}
