//! Cluster management, the test endpoint and the collector status.

use actix_web::http::header;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::support::{new_cluster, store};

fn post(uri: &str, body: Value) -> TestRequest {
    TestRequest::post().uri(uri).set_json(body)
}

fn put(uri: &str, body: Value) -> TestRequest {
    TestRequest::put().uri(uri).set_json(body)
}

const CLUSTER_KEYS: [&str; 11] = [
    "connect_timeout_secs",
    "created_at",
    "enabled",
    "fe_hosts",
    "id",
    "name",
    "request_timeout_secs",
    "shard",
    "source",
    "updated_at",
    "username",
];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

#[actix_web::test]
async fn create_list_get_update_delete() {
    let store = store();
    let app = app!(store);

    let created = send!(
        app,
        post(
            "/api/clusters",
            json!({
                "name": " prod ",
                "fe_hosts": ["10.0.0.1:8030", "fe-2.example.com:8030"],
                "username": "monitor",
                "password": "pw",
                "connect_timeout_secs": 5,
            })
        )
    );
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let c = created.json();
    assert_eq!(keys(&c), CLUSTER_KEYS);
    let id = c["id"].as_i64().expect("integer id");
    assert_eq!(
        created.headers.get(header::LOCATION).unwrap(),
        format!("/api/clusters/{id}").as_str()
    );
    assert_eq!(c["name"], "prod", "trimmed");
    assert_eq!(
        c["fe_hosts"],
        json!(["10.0.0.1:8030", "fe-2.example.com:8030"])
    );
    assert_eq!(c["username"], "monitor");
    assert_eq!(c["connect_timeout_secs"], 5);
    assert_eq!(c["request_timeout_secs"], Value::Null);
    assert_eq!(c["enabled"], true, "enabled by default");
    assert_eq!(c["source"], "api");
    assert_eq!(
        c["shard"],
        Value::Null,
        "an unsharded instance collects every cluster"
    );
    assert!(c["created_at"].as_str().unwrap().ends_with('Z'), "{c}");

    let list = get!(app, "/api/clusters").ok_json();
    assert_eq!(list, json!([c.clone()]));
    let one = get!(app, format!("/api/clusters/{id}")).ok_json();
    assert_eq!(one, c);

    // Partial update: only what is given changes; null clears a timeout.
    let updated = send!(
        app,
        put(
            &format!("/api/clusters/{id}"),
            json!({"name": "prod-eu", "connect_timeout_secs": null, "request_timeout_secs": 30,
                   "enabled": false})
        )
    )
    .ok_json();
    assert_eq!(updated["name"], "prod-eu");
    assert_eq!(updated["connect_timeout_secs"], Value::Null);
    assert_eq!(updated["request_timeout_secs"], 30);
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["fe_hosts"], c["fe_hosts"]);
    assert_eq!(updated["username"], "monitor");
    // The password was kept.
    assert_eq!(store.get_cluster(id).unwrap().password.expose(), "pw");
    // An empty update changes nothing but is fine.
    let same = send!(app, put(&format!("/api/clusters/{id}"), json!({}))).ok_json();
    assert_eq!(same["name"], "prod-eu");
    // A password change is stored, not shown.
    let r = send!(
        app,
        put(
            &format!("/api/clusters/{id}"),
            json!({"password": "new-pw"})
        )
    );
    assert!(!r.ok_json().to_string().contains("new-pw"));
    assert_eq!(store.get_cluster(id).unwrap().password.expose(), "new-pw");

    let deleted = send!(
        app,
        TestRequest::delete().uri(&format!("/api/clusters/{id}"))
    );
    assert_eq!(deleted.status.as_u16(), 204);
    assert!(deleted.text.is_empty());
    let msg = get!(app, format!("/api/clusters/{id}")).error(404, "not_found");
    assert_eq!(msg, format!("cluster {id} not found"));
    send!(
        app,
        TestRequest::delete().uri(&format!("/api/clusters/{id}"))
    )
    .error(404, "not_found");
    assert_eq!(get!(app, "/api/clusters").ok_json(), json!([]));
}

#[actix_web::test]
async fn create_and_update_are_validated() {
    let store = store();
    let app = app!(store);
    let base = json!({"name": "a", "fe_hosts": ["h:8030"], "username": "root"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("name", json!("  ")), "name must be non-empty"),
        (with("fe_hosts", json!([])), "fe_hosts must list"),
        (
            with("fe_hosts", json!(["h:8030", "no-port"])),
            "fe_hosts[1] must be host:port",
        ),
        (
            with("fe_hosts", json!(["h:0"])),
            "fe_hosts[0] must be host:port",
        ),
        (with("username", json!("")), "username must be non-empty"),
        (
            with("connect_timeout_secs", json!(0)),
            "connect_timeout_secs must be from 1 to 300",
        ),
        (
            with("request_timeout_secs", json!(301)),
            "request_timeout_secs must be from 1 to 300",
        ),
    ];
    for (body, expected) in cases {
        let msg = send!(app, post("/api/clusters", body.clone())).error(400, "invalid_parameter");
        assert!(msg.starts_with(expected), "{body}: {msg}");
    }

    // Body-shape errors: unknown field, wrong type, missing field, malformed JSON.
    let msg =
        send!(app, post("/api/clusters", with("passwd", json!("x")))).error(400, "bad_request");
    assert!(msg.contains("unknown field `passwd`"), "{msg}");
    let msg =
        send!(app, post("/api/clusters", with("enabled", json!("yes")))).error(400, "bad_request");
    assert!(msg.contains("invalid type"), "{msg}");
    let msg = send!(app, post("/api/clusters", json!({"name": "a"}))).error(400, "bad_request");
    assert!(msg.contains("missing field"), "{msg}");
    send!(
        app,
        TestRequest::post()
            .uri("/api/clusters")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload("{\"name\": ")
    )
    .error(400, "bad_request");
    // A password of the wrong type is refused without echoing it.
    let r = send!(
        app,
        post("/api/clusters", with("password", json!(987654321)))
    );
    let msg = r.error(400, "bad_request");
    assert!(msg.contains("password must be a string"), "{msg}");
    assert!(!r.text.contains("987654321"));
    // Not JSON at all.
    send!(
        app,
        TestRequest::post()
            .uri("/api/clusters")
            .insert_header((header::CONTENT_TYPE, "text/plain"))
            .set_payload("name=a")
    )
    .error(415, "unsupported_media_type");
    // Too large.
    let big = with("name", json!("x".repeat(70 * 1024)));
    let msg = send!(app, post("/api/clusters", big)).error(413, "payload_too_large");
    assert!(msg.contains("65536"), "{msg}");

    assert_eq!(
        get!(app, "/api/clusters").ok_json(),
        json!([]),
        "nothing was created"
    );

    // Update: same rules, plus unknown cluster and bad ids.
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let uri = format!("/api/clusters/{id}");
    send!(app, put(&uri, json!({"name": ""}))).error(400, "invalid_parameter");
    send!(app, put(&uri, json!({"fe_hosts": ["x"]}))).error(400, "invalid_parameter");
    send!(app, put(&uri, json!({"connect_timeout_secs": 1000}))).error(400, "invalid_parameter");
    send!(app, put(&uri, json!({"bogus": 1}))).error(400, "bad_request");
    send!(app, put("/api/clusters/999", json!({"name": "b"}))).error(404, "not_found");
    let msg = get!(app, "/api/clusters/abc").error(400, "invalid_parameter");
    assert!(msg.contains("`id`"), "{msg}");
}

#[actix_web::test]
async fn duplicate_names_conflict() {
    let store = store();
    let app = app!(store);
    let body = json!({"name": "prod", "fe_hosts": ["h:8030"], "username": "root"});
    assert_eq!(
        send!(app, post("/api/clusters", body.clone()))
            .status
            .as_u16(),
        201
    );
    let msg = send!(app, post("/api/clusters", body)).error(409, "conflict");
    assert!(msg.contains("prod"), "{msg}");
    let other = store.create_cluster(&new_cluster("other")).unwrap().id;
    send!(
        app,
        put(&format!("/api/clusters/{other}"), json!({"name": "prod"}))
    )
    .error(409, "conflict");
}

#[actix_web::test]
async fn test_endpoint_reports_the_tester_result() {
    let store = store();
    let app = app!(store);
    let c = store.create_cluster(&new_cluster("prod")).unwrap();
    let r = send!(
        app,
        TestRequest::post().uri(&format!("/api/clusters/{}/test", c.id))
    )
    .ok_json();
    assert_eq!(r["cluster_id"], c.id);
    assert_eq!(r["cluster_name"], "prod");
    assert_eq!(r["result"]["endpoints"][0]["endpoint"], "10.0.0.1:8030");
    assert_eq!(r["result"]["endpoints"][0]["ok"], true);
    // The fake tester echoes the password; the API masks it.
    assert_eq!(r["result"]["note"], "logged in as monitor with ***");
    send!(app, TestRequest::post().uri("/api/clusters/999/test")).error(404, "not_found");
}

#[actix_web::test]
async fn collector_status_lists_every_registered_cluster() {
    let store = store();
    let app = app!(store);
    let empty = get!(app, "/api/collector/status").ok_json();
    assert_eq!(
        (&empty["clusters"], &empty["cycles"]),
        (&json!([]), &json!([]))
    );
    assert_eq!(empty["storage"]["healthy"], true);
    assert_eq!(empty["shard"], Value::Null);
    let a = store.create_cluster(&new_cluster("a")).unwrap().id;
    let b = store.create_cluster(&new_cluster("b")).unwrap().id;
    let status = get!(app, "/api/collector/status").ok_json();
    let nulls = |id: i64, name: &str| {
        json!({
            "cluster_id": id, "cluster_name": name, "last_attempt_at": null,
            "last_success_at": null, "last_error": null, "consecutive_failures": 0,
            "last_duration_ms": null, "node_failures": [], "shard": null
        })
    };
    assert_eq!(
        (&status["clusters"], &status["cycles"]),
        (&json!([nulls(a, "a"), nulls(b, "b")]), &json!([]))
    );
}
