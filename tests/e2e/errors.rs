//! The documented errors: status, `{"error": {"code", "message"}}` and a message naming the
//! parameter.

use rockscope_sim::{SimConfig, Simulator, Version};
use serde_json::json;

use crate::support::{AppConfig, Auth, TestApp, parse_response};

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

/// Request bodies mean one thing: no positional arrays, no `null` for a field that can't be
/// cleared, no repeated FE, no over-long or invisible-character names; unknown query
/// parameters are refused naming the allowed ones; an over-long `max_points` is capped.
#[test]
fn ambiguous_requests_are_refused() {
    let app = TestApp::start(AppConfig::default());
    let new = json!({"name": "prod", "fe_hosts": ["127.0.0.1:1"], "username": "root"});
    let id = app.post_json("/api/clusters", &new).expect(201)["id"]
        .as_i64()
        .unwrap();

    let message = app
        .post_json("/api/clusters", &json!(["n", ["127.0.0.1:2"], "u"]))
        .expect_error(400, "bad_request");
    assert!(message.contains("JSON object"), "{message}");
    for field in ["name", "fe_hosts", "username", "enabled"] {
        let message = app
            .put_json(&format!("/api/clusters/{id}"), &json!({field: null}))
            .expect_error(400, "bad_request");
        assert!(message.contains("null"), "{field}: {message}");
    }
    let message = app
        .post_json(
            "/api/clusters",
            &json!({"name": "dup", "fe_hosts": ["127.0.0.1:1", " 127.0.0.1:1"], "username": "u"}),
        )
        .expect_error(400, "invalid_parameter");
    assert!(message.contains("repeats fe_hosts[0]"), "{message}");
    let long_user = "u".repeat(60_000);
    let message = app
        .post_json(
            "/api/clusters",
            &json!({"name": "long", "fe_hosts": ["127.0.0.1:3"], "username": long_user}),
        )
        .expect_error(400, "invalid_parameter");
    assert!(message.contains("at most 128 characters"), "{message}");
    for name in [
        "a\u{202E}b",
        "a\u{200B}b",
        "a\u{0007}b",
        "a\u{2066}b",
        "\u{FEFF}a",
    ] {
        app.post_json(
            "/api/clusters",
            &json!({"name": name, "fe_hosts": ["127.0.0.1:4"], "username": "u"}),
        )
        .expect_error(400, "invalid_parameter");
        app.put_json(&format!("/api/clusters/{id}"), &json!({"name": name}))
            .expect_error(400, "invalid_parameter");
    }
    let list = app.get("/api/clusters").expect(200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["name"], "prod");

    // Unknown query parameters: 400 naming the allowed ones.
    let message = app
        .get(&format!("/api/clusters/{id}/overview?timerange=7d"))
        .expect_error(400, "invalid_parameter");
    assert!(
        message.contains("`timerange`") && message.contains("`time_range`"),
        "{message}"
    );
    let message = app
        .get(&format!("/api/clusters/{id}/daily?form=2025-01-01"))
        .expect_error(400, "invalid_parameter");
    assert!(
        message.contains("`from`") && message.contains("`to`"),
        "{message}"
    );
    let message = app
        .get("/api/clusters?limit=5")
        .expect_error(400, "invalid_parameter");
    assert!(message.contains("takes no query parameters"), "{message}");

    // A max_points beyond any integer is capped, as its own message says.
    app.get(&format!(
        "/api/clusters/{id}/overview?max_points=1234567890123456789012345"
    ))
    .expect(200);
    app.get(&format!(
        "/api/clusters/{id}/snapshots?max_points=1234567890123456789012345"
    ))
    .expect(200);

    // A client's mistakes are no server error in the log, not even a malformed request line
    // (which actix-http answers 400 by itself).
    let raw = app.raw_exchange(b"GARBAGE\r\n\r\n");
    assert!(
        raw.starts_with(b"HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let logs = app.logs();
    assert!(!logs.contains("ERROR"), "{logs}");
}

/// `HEAD` on every `GET` route (headers, no body), `Allow` on `405`, and times with at most
/// millisecond precision.
#[test]
fn head_allow_and_millisecond_times() {
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 4)).expect("simulator");
    let info = sim.clusters().remove(0);
    let app = TestApp::start(AppConfig::default());
    let id = app
        .post_json(
            "/api/clusters",
            &json!({"name": "prod", "fe_hosts": info.fe_hosts, "username": "root"}),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    for path in [
        "/health".to_owned(),
        "/api/clusters".to_owned(),
        "/api/clusters/overview".to_owned(),
        format!("/api/clusters/{id}"),
        format!("/api/clusters/{id}/overview"),
        format!("/api/clusters/{id}/snapshots"),
        format!("/api/clusters/{id}/nodes"),
        format!("/api/clusters/{id}/daily"),
        "/api/collector/status".to_owned(),
    ] {
        let raw = app.raw_exchange(
            format!(
                "HEAD {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                app.addr()
            )
            .as_bytes(),
        );
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200"), "HEAD {path}: {text}");
        assert!(
            text.ends_with("\r\n\r\n"),
            "HEAD {path} sent a body: {text}"
        );
    }
    for (method, path, allow) in [
        ("PATCH", "/api/clusters".to_owned(), "GET, HEAD, POST"),
        (
            "POST",
            format!("/api/clusters/{id}"),
            "GET, HEAD, PUT, DELETE",
        ),
        ("GET", format!("/api/clusters/{id}/test"), "POST"),
        ("DELETE", "/health".to_owned(), "GET, HEAD"),
    ] {
        let response = app.request(method, &path, None, Auth::App);
        response.expect_error(405, "method_not_allowed");
        assert_eq!(response.header("allow"), Some(allow), "{method} {path}");
    }

    app.wait_for_snapshots(id, 1, std::time::Duration::from_secs(20));
    let status = app.get("/api/collector/status").expect(200);
    let mut times = Vec::new();
    let entry = &status["clusters"][0];
    times.push(entry["last_attempt_at"].as_str().unwrap().to_owned());
    times.push(entry["last_success_at"].as_str().unwrap().to_owned());
    times.push(
        status["cycles"][0]["started_at"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    let cluster = app.get(&format!("/api/clusters/{id}")).expect(200);
    times.push(cluster["created_at"].as_str().unwrap().to_owned());
    for time in times {
        let fraction = time
            .trim_end_matches('Z')
            .rsplit_once('.')
            .map_or(0, |(_, f)| f.len());
        assert!(time.ends_with('Z') && fraction <= 3, "{time}: {status}");
    }
}

/// Requests actix-http cannot parse, answered by actix-http itself (400, 431, 408), get the
/// documented JSON error shape like every other error; the API's own errors and `/health` are
/// unchanged.
#[test]
fn protocol_errors_get_the_json_error_shape() {
    let app = TestApp::start(AppConfig::default());
    let addr = app.addr();
    // A head that never ends, answered after the 5 s head timeout (read at the end).
    let slow = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        stream.write_all(b"GET /health HTT").unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        raw
    });

    let malformed_line = app.raw_request(b"GARBAGE\r\n\r\n");
    malformed_line.expect_error(400, "bad_request");
    let no_colon = app.raw_request(
        format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nno colon here\r\n\r\n").as_bytes(),
    );
    no_colon.expect_error(400, "bad_request");
    assert_eq!(no_colon.header("connection"), Some("close"));
    // A head over actix-http's 128 KiB buffer, and one with more than 96 headers.
    let oversized = app.raw_request(
        format!(
            "GET /health HTTP/1.1\r\nHost: {addr}\r\nX-Fill: {}\r\n\r\n",
            "a".repeat(140 * 1024)
        )
        .as_bytes(),
    );
    let message = oversized.expect_error(431, "request_header_fields_too_large");
    assert!(message.contains("128 KiB"), "{message}");
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    app.raw_request(format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n{many}\r\n").as_bytes())
        .expect_error(431, "request_header_fields_too_large");
    // After a good request on a kept-alive connection: the good answer as it was, then the error.
    let raw = app.raw_exchange(
        format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\nGARBAGE\r\n\r\n").as_bytes(),
    );
    let text = String::from_utf8_lossy(&raw);
    let second = text
        .find("HTTP/1.1 400")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        parse_response(&raw).expect("first").expect(200)["status"],
        "ok"
    );
    parse_response(&raw[second..])
        .expect("second")
        .expect_error(400, "bad_request");

    // The API's own 400 and /health are unchanged.
    let own = app.get("/api/clusters?limit=5");
    let message = own.expect_error(400, "invalid_parameter");
    assert!(message.contains("takes no query parameters"), "{message}");
    assert_eq!(app.get("/health").expect(200)["status"], "ok");

    let raw = slow.join().expect("slow client");
    let timed_out = parse_response(&raw)
        .unwrap_or_else(|| panic!("bad response {:?}", String::from_utf8_lossy(&raw)));
    let message = timed_out.expect_error(408, "request_timeout");
    assert!(message.contains("head"), "{message}");
    let logs = app.logs();
    assert!(!logs.contains("ERROR"), "{logs}");
}
