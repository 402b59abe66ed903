//! `/snapshots`, `/nodes` and `/daily`.

use serde_json::{Value, json};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use crate::support::{daily, new_cluster, node, rfc3339, snapshot, store};

#[actix_web::test]
async fn snapshots_raw_filtered_and_downsampled() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let now = OffsetDateTime::now_utc();
    // 30 snapshots one minute apart in the last 30 minutes, and one 3 hours ago.
    for i in 0..30i64 {
        let at = now - Duration::minutes(29 - i) - Duration::seconds(5);
        store
            .insert_cycle(
                &snapshot(id, at, json!({"qps": i as f64, "tablet_count": 100 + i})),
                &[],
            )
            .unwrap();
    }
    let old = now - Duration::hours(3);
    store
        .insert_cycle(&snapshot(id, old, json!({"qps": 500.0})), &[])
        .unwrap();

    // Default: the last hour, raw, every field.
    let v = get!(app, format!("/api/clusters/{id}/snapshots")).ok_json();
    assert_eq!(v["cluster_id"], id);
    assert_eq!(v["downsampled"], false);
    assert_eq!(v["fields"], Value::Null);
    assert_eq!(v["total"], 30);
    assert_eq!(v["truncated"], false);
    assert!(v.get("points").is_none() && v.get("max_points").is_none());
    let rows = v["snapshots"].as_array().unwrap();
    assert_eq!(rows.len(), 30);
    assert_eq!(rows[0]["qps"], 0.0, "oldest first");
    assert_eq!(rows[29]["qps"], 29.0);
    assert_eq!(rows[0]["tablet_count"], 100);
    assert!(rows[0].as_object().unwrap().len() > 100, "all fields");
    let from = OffsetDateTime::parse(
        v["from"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let to = OffsetDateTime::parse(
        v["to"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(to - from, Duration::hours(1));

    // Explicit window and a field filter.
    let uri = format!(
        "/api/clusters/{id}/snapshots?from={}&to={}&fields=qps,tablet_count",
        rfc3339(old - Duration::minutes(1)),
        rfc3339(now - Duration::minutes(25)),
    )
    .replace('+', "%2B");
    let v = get!(app, uri).ok_json();
    assert_eq!(v["fields"], json!(["qps", "tablet_count"]));
    let rows = v["snapshots"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        6,
        "the old one and the first five recent ones: {v}"
    );
    assert_eq!(rows[0]["qps"], 500.0);
    let mut k: Vec<&String> = rows[1].as_object().unwrap().keys().collect();
    k.sort();
    assert_eq!(k, ["collected_at", "qps", "tablet_count"]);

    // Downsampled.
    let v = get!(
        app,
        format!("/api/clusters/{id}/snapshots?fields=qps&max_points=3")
    )
    .ok_json();
    assert_eq!(v["downsampled"], true);
    assert_eq!(v["max_points"], 3);
    assert_eq!(v["total"], 30);
    assert!(v.get("snapshots").is_none());
    let points = v["points"].as_array().unwrap();
    assert!(!points.is_empty() && points.len() <= 3, "{v}");
    let counted: u64 = points.iter().map(|p| p["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 30);
    let p = &points[points.len() - 1];
    assert_eq!(p["max"]["qps"], 29.0);
    assert!(p["avg"]["qps"].as_f64().unwrap() < 29.0);
    assert_eq!(p["avg"].as_object().unwrap().len(), 1);
    // Downsampled without fields: every numeric field.
    let v = get!(app, format!("/api/clusters/{id}/snapshots?max_points=2")).ok_json();
    assert!(v["points"][0]["avg"].as_object().unwrap().len() > 90);
    assert!(v["points"][0]["avg"]["tablet_count"].is_number());
}

#[actix_web::test]
async fn snapshots_parameter_errors() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let base = format!("/api/clusters/{id}/snapshots");
    let msg = get!(app, format!("{base}?from=yesterday")).error(400, "invalid_parameter");
    assert!(msg.starts_with("from must be an RFC 3339 time"), "{msg}");
    let msg = get!(app, format!("{base}?to=2025-13-01T00:00:00Z")).error(400, "invalid_parameter");
    assert!(msg.starts_with("to must be an RFC 3339 time"), "{msg}");
    let msg = get!(
        app,
        format!("{base}?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z")
    )
    .error(400, "invalid_parameter");
    assert_eq!(msg, "from must not be after to");
    let msg = get!(app, format!("{base}?fields=qps,secret_sauce")).error(400, "invalid_parameter");
    assert!(
        msg.starts_with("fields: `secret_sauce` is not a numeric snapshot field; allowed: "),
        "{msg}"
    );
    assert!(msg.contains("query_latency_p99"));
    get!(app, format!("{base}?fields=version")).error(400, "invalid_parameter");
    get!(app, format!("{base}?max_points=0")).error(400, "invalid_parameter");
    get!(app, "/api/clusters/999/snapshots").error(404, "not_found");
    // An empty window is fine.
    let v = get!(
        app,
        format!("{base}?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z")
    )
    .ok_json();
    assert_eq!(v["snapshots"], json!([]));
    assert_eq!(v["total"], 0);
}

#[actix_web::test]
async fn nodes_are_the_newest_cycle() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    assert_eq!(
        get!(app, format!("/api/clusters/{id}/nodes")).ok_json(),
        json!([])
    );
    let now = OffsetDateTime::now_utc();
    let cycle = |at, cpu: f64| {
        (
            snapshot(id, at, json!({})),
            vec![
                node(
                    "be",
                    "10001",
                    json!({"alive": true, "cpu_usage_pct": cpu, "scrape_ok": true}),
                ),
                node(
                    "fe",
                    "fe-leader",
                    json!({"alive": true, "role": "leader", "qps": 4.5,
                                                "jvm_heap_usage_pct": 40.0, "scrape_ok": true}),
                ),
                node(
                    "cn",
                    "20001",
                    json!({"alive": false, "scrape_error": "connect: refused"}),
                ),
            ],
        )
    };
    let (s, n) = cycle(now - Duration::minutes(2), 10.0);
    store.insert_cycle(&s, &n).unwrap();
    let (s, n) = cycle(now - Duration::minutes(1), 20.0);
    store.insert_cycle(&s, &n).unwrap();

    let v = get!(app, format!("/api/clusters/{id}/nodes")).ok_json();
    let nodes = v.as_array().unwrap();
    assert_eq!(nodes.len(), 3);
    let kinds: Vec<&str> = nodes
        .iter()
        .map(|n| n["node_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["fe", "be", "cn"]);
    let fe = &nodes[0];
    assert_eq!(fe["node_id"], "fe-leader");
    assert_eq!(fe["role"], "leader");
    assert_eq!(fe["alive"], true);
    assert_eq!(fe["qps"], 4.5);
    assert_eq!(fe["jvm_heap_usage_pct"], 40.0);
    assert!(fe["host"].is_string());
    let be = &nodes[1];
    assert_eq!(be["node_id"], "10001");
    assert_eq!(be["role"], Value::Null);
    assert_eq!(be["cpu_usage_pct"], 20.0, "the newest cycle");
    assert_eq!(nodes[2]["alive"], false);
    assert_eq!(nodes[2]["scrape_error"], "connect: refused");
    get!(app, "/api/clusters/999/nodes").error(404, "not_found");
}

#[actix_web::test]
async fn daily_rows_by_date() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    for (d, qps) in [
        (date!(2025 - 03 - 01), 10.0),
        (date!(2025 - 03 - 02), 20.0),
        (date!(2025 - 03 - 05), 50.0),
    ] {
        store
            .upsert_daily(&daily(
                id,
                d,
                json!({"qps_avg": qps, "snapshot_count": 2880, "availability_pct": 99.5}),
            ))
            .unwrap();
    }
    let v = get!(
        app,
        format!("/api/clusters/{id}/daily?from=2025-03-01&to=2025-03-02")
    )
    .ok_json();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["date"], "2025-03-01");
    assert_eq!(rows[0]["qps_avg"], 10.0);
    assert_eq!(rows[0]["snapshot_count"], 2880);
    assert_eq!(rows[0]["availability_pct"], 99.5);
    assert_eq!(rows[1]["date"], "2025-03-02");
    let v = get!(app, format!("/api/clusters/{id}/daily?from=2025-03-02")).ok_json();
    assert_eq!(v.as_array().unwrap().len(), 2, "to defaults to today");
    // Default window: the last 30 days, which holds none of these.
    assert_eq!(
        get!(app, format!("/api/clusters/{id}/daily")).ok_json(),
        json!([])
    );

    let msg = get!(app, format!("/api/clusters/{id}/daily?from=03/01/2025"))
        .error(400, "invalid_parameter");
    assert_eq!(msg, "from must be a date as YYYY-MM-DD");
    let msg = get!(app, format!("/api/clusters/{id}/daily?to=2025-02-30"))
        .error(400, "invalid_parameter");
    assert_eq!(msg, "to must be a date as YYYY-MM-DD");
    let msg = get!(
        app,
        format!("/api/clusters/{id}/daily?from=2025-03-02&to=2025-03-01")
    )
    .error(400, "invalid_parameter");
    assert_eq!(msg, "from must not be after to");
    get!(app, "/api/clusters/999/daily").error(404, "not_found");
}

#[actix_web::test]
async fn daily_rows_carry_the_days_custom_roll_up() {
    let store = store();
    let app = app!(store);
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    for (minute, hits) in [(0, Some(2.0)), (1, Some(4.0)), (2, None)] {
        let mut s = snapshot(
            id,
            datetime!(2025-03-01 10:00 UTC) + Duration::minutes(minute),
            json!({}),
        );
        s.custom.insert("hits".to_owned(), hits);
        store.insert_cycle(&s, &[]).unwrap();
    }
    for d in [date!(2025 - 03 - 01), date!(2025 - 03 - 02)] {
        store
            .upsert_daily(&daily(id, d, json!({"snapshot_count": 3})))
            .unwrap();
    }
    let v = get!(
        app,
        format!("/api/clusters/{id}/daily?from=2025-03-01&to=2025-03-02")
    )
    .ok_json();
    assert_eq!(
        v[0]["custom"],
        json!({"hits": {"avg": 3.0, "min": 2.0, "max": 4.0, "samples": 2}})
    );
    assert_eq!(v[1]["custom"], json!({}), "a day without custom values");
}
