//! The documented errors: status, `{"error": {"code", "message"}}` and a message naming the
//! parameter.

use rockscope_sim::{SimConfig, Simulator, Version};
use serde_json::json;

use crate::support::{AppConfig, Auth, TestApp};

#[test]
fn bad_requests_get_the_documented_errors() {
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 3)).expect("simulator");
    let info = sim.clusters().remove(0);
    let app = TestApp::start(AppConfig::default());
    let new = json!({"name": "prod", "fe_hosts": info.fe_hosts, "username": "root"});
    let id = app.post_json("/api/clusters", &new).expect(201)["id"]
        .as_i64()
        .unwrap();

    // Bad query parameters: 400 invalid_parameter naming the parameter and what is allowed.
    for path in [
        format!("/api/clusters/{id}/overview?time_range=2h"),
        format!("/api/clusters/overview?cluster_id={id}&time_range=forever"),
    ] {
        let message = app.get(&path).expect_error(400, "invalid_parameter");
        assert_eq!(
            message, "time_range must be one of 15m, 1h, 6h, 24h, 3d, 7d",
            "{path}"
        );
    }
    for path in [
        format!("/api/clusters/{id}/overview?max_points=abc"),
        format!("/api/clusters/{id}/snapshots?max_points=abc"),
        format!("/api/clusters/{id}/snapshots?max_points=0"),
    ] {
        let message = app.get(&path).expect_error(400, "invalid_parameter");
        assert!(
            message.starts_with("max_points must be a positive integer"),
            "{path}: {message}"
        );
    }
    let message = app
        .get(&format!("/api/clusters/{id}/snapshots?fields=qps,version"))
        .expect_error(400, "invalid_parameter");
    assert!(
        message.contains("version") && message.contains("fields"),
        "{message}"
    );
    let message = app
        .get(&format!("/api/clusters/{id}/snapshots?from=yesterday"))
        .expect_error(400, "invalid_parameter");
    assert!(
        message.starts_with("from must be an RFC 3339 time"),
        "{message}"
    );
    let message = app
        .get(&format!("/api/clusters/{id}/daily?from=2025-13-01"))
        .expect_error(400, "invalid_parameter");
    assert!(message.starts_with("from must be a date"), "{message}");
    let message = app
        .get("/api/clusters/overview?cluster_id=abc")
        .expect_error(400, "invalid_parameter");
    assert!(message.contains("cluster_id"), "{message}");
    let message = app
        .get("/api/clusters/abc")
        .expect_error(400, "invalid_parameter");
    assert!(message.contains("id"), "{message}");

    // Unknown cluster and route.
    for path in [
        "/api/clusters/987654".to_owned(),
        "/api/clusters/987654/overview?time_range=15m".to_owned(),
        "/api/clusters/overview?cluster_id=987654".to_owned(),
        "/api/clusters/987654/snapshots".to_owned(),
        "/api/clusters/987654/nodes".to_owned(),
        "/api/clusters/987654/daily".to_owned(),
    ] {
        let message = app.get(&path).expect_error(404, "not_found");
        assert_eq!(message, "cluster 987654 not found", "{path}");
    }
    app.put_json("/api/clusters/987654", &json!({"enabled": false}))
        .expect_error(404, "not_found");
    app.delete("/api/clusters/987654")
        .expect_error(404, "not_found");
    app.post_json("/api/clusters/987654/test", &json!({}))
        .expect_error(404, "not_found");
    app.get("/api/nothing-here").expect_error(404, "not_found");
    app.delete("/api/clusters")
        .expect_error(405, "method_not_allowed");

    // Duplicate name, on create and on rename.
    let message = app
        .post_json("/api/clusters", &new)
        .expect_error(409, "conflict");
    assert_eq!(message, "a cluster named `prod` already exists");
    let other = app
        .post_json(
            "/api/clusters",
            &json!({"name": "other", "fe_hosts": info.fe_hosts, "username": "root"}),
        )
        .expect(201);
    app.put_json(
        &format!("/api/clusters/{}", other["id"]),
        &json!({"name": "prod"}),
    )
    .expect_error(409, "conflict");

    // A body over 64 KiB.
    let big = json!({"name": "big", "fe_hosts": info.fe_hosts, "username": "root",
                     "password": "x".repeat(70 * 1024)});
    let body = big.to_string();
    assert!(body.len() > 64 * 1024);
    let response = app.post_raw("/api/clusters", body.as_bytes(), Auth::App);
    let message = response.expect_error(413, "payload_too_large");
    assert!(message.contains("65536"), "{message}");
    let response = app.request(
        "PUT",
        &format!("/api/clusters/{id}"),
        Some(body.as_bytes()),
        Auth::App,
    );
    response.expect_error(413, "payload_too_large");

    // Body problems: unknown field (named), wrong type, missing field, malformed, bad value.
    let message = app
        .post_json(
            "/api/clusters",
            &json!({"name": "x", "fe_hosts": info.fe_hosts, "username": "root", "passwd": "p"}),
        )
        .expect_error(400, "bad_request");
    assert!(message.contains("unknown field `passwd`"), "{message}");
    let message = app
        .put_json(&format!("/api/clusters/{id}"), &json!({"nmae": "y"}))
        .expect_error(400, "bad_request");
    assert!(message.contains("unknown field `nmae`"), "{message}");
    let message = app
        .post_json(
            "/api/clusters",
            &json!({"name": "x", "fe_hosts": "h:1", "username": "root"}),
        )
        .expect_error(400, "bad_request");
    assert!(message.contains("invalid JSON body"), "{message}");
    let message = app
        .post_json("/api/clusters", &json!({"name": "x", "username": "root"}))
        .expect_error(400, "bad_request");
    assert!(message.contains("fe_hosts"), "{message}");
    app.post_raw("/api/clusters", b"{\"name\": ", Auth::App)
        .expect_error(400, "bad_request");
    let message = app
        .post_json(
            "/api/clusters",
            &json!({"name": "x", "fe_hosts": ["h:1", "nohost"], "username": "root"}),
        )
        .expect_error(400, "invalid_parameter");
    assert!(message.starts_with("fe_hosts[1]"), "{message}");
    let message = app
        .post_json(
            "/api/clusters",
            &json!({"name": "x", "fe_hosts": ["h:1"], "username": "root", "connect_timeout_secs": 0}),
        )
        .expect_error(400, "invalid_parameter");
    assert!(message.starts_with("connect_timeout_secs"), "{message}");

    // Not JSON: 415.
    app.post_typed("/api/clusters", "text/plain", new.to_string().as_bytes())
        .expect_error(415, "unsupported_media_type");
    // A name that differs only by surrounding blanks is the same name.
    app.post_json(
        "/api/clusters",
        &json!({"name": "  prod ", "fe_hosts": info.fe_hosts, "username": "root"}),
    )
    .expect_error(409, "conflict");
    // A parameter given twice.
    let message = app
        .get(&format!(
            "/api/clusters/{id}/overview?time_range=1h&time_range=15m"
        ))
        .expect_error(400, "invalid_parameter");
    assert!(message.contains("time_range"), "{message}");

    // A cluster never collected (disabled): 200 with a null snapshot and empty trends.
    let idle = app
        .post_json(
            "/api/clusters",
            &json!({"name": "idle", "fe_hosts": info.fe_hosts, "username": "root", "enabled": false}),
        )
        .expect(201);
    let idle_id = idle["id"].as_i64().unwrap();
    let overview = app
        .get(&format!("/api/clusters/{idle_id}/overview?time_range=15m"))
        .expect(200);
    crate::support::assert_overview_shape(&overview);
    assert_eq!(overview["latest_snapshot"], serde_json::Value::Null);
    for group in ["performance_trends", "resource_trends"] {
        for (name, points) in overview[group].as_object().unwrap() {
            assert_eq!(points, &json!([]), "{group}.{name}");
        }
    }
    assert_eq!(overview["statistics"]["qps"]["count"], 0);
    assert_eq!(
        overview["statistics"]["qps"]["avg"],
        serde_json::Value::Null
    );
    assert_eq!(
        overview["collector"]["last_attempt_at"],
        serde_json::Value::Null
    );
    assert_eq!(
        app.get(&format!("/api/clusters/{idle_id}/nodes"))
            .expect(200),
        json!([])
    );
    let rows = app.get("/api/clusters/overview").expect(200);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == idle_id)
        .unwrap()
        .clone();
    assert_eq!(row["health"], "unknown");
    assert_eq!(row["qps"], serde_json::Value::Null);
    assert_eq!(row["last_collected"], serde_json::Value::Null);
    app.delete(&format!("/api/clusters/{idle_id}"));

    // Nothing of the failed requests was stored.
    let list = app.get("/api/clusters").expect(200);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["prod", "other"]);
}
