//! The bearer token: `/api` needs it, `/health` and `/ready` do not; and without a token the
//! binary refuses a non-loopback address.

use std::time::Duration;

use serde_json::json;

use crate::support::{AppConfig, Auth, TestApp, wait_for};

const TOKEN: &str = "e2e-token-Qm9vdA-4b1d";

#[test]
fn api_requires_the_configured_token() {
    let app = TestApp::start(AppConfig::default().token(TOKEN));

    for path in [
        "/api/clusters",
        "/api/collector/status",
        "/api/clusters/overview",
        "/api/nope",
    ] {
        let missing = app.get_with(path, Auth::Without);
        missing.expect_error(401, "unauthorized");
        assert_eq!(missing.header("www-authenticate"), Some("Bearer"), "{path}");
        for wrong in ["wrong", &TOKEN[..TOKEN.len() - 1], &format!("{TOKEN}x")] {
            app.get_with(path, Auth::Bearer(wrong))
                .expect_error(401, "unauthorized");
        }
    }
    // Another scheme or a bare token is no bearer token.
    for header in [format!("Basic {TOKEN}"), TOKEN.to_owned()] {
        let response = app.request_with_header("GET", "/api/clusters", "Authorization", &header);
        response.expect_error(401, "unauthorized");
    }
    // The token is checked before the body: an invalid body without a token is still a 401.
    app.post_raw("/api/clusters", b"{not json", Auth::Without)
        .expect_error(401, "unauthorized");
    let oversized = vec![b'x'; 100 * 1024];
    app.post_raw("/api/clusters", &oversized, Auth::Without)
        .expect_error(401, "unauthorized");

    // The right token.
    assert_eq!(
        app.get_with("/api/clusters", Auth::Bearer(TOKEN))
            .expect(200),
        json!([])
    );
    app.get_with("/api/collector/status", Auth::Bearer(TOKEN))
        .expect(200);
    let lower = app.request_with_header(
        "GET",
        "/api/clusters",
        "Authorization",
        &format!("bearer {TOKEN}"),
    );
    assert_eq!(
        lower.status, 200,
        "scheme is case-insensitive: {}",
        lower.body
    );

    // Health and readiness stay open.
    assert_eq!(
        app.get_with("/health", Auth::Without).expect(200),
        json!({"status": "ok"})
    );
    wait_for("ready without a token", Duration::from_secs(5), || {
        (app.get_with("/ready", Auth::Without).status == 200).then_some(())
    });
}

#[test]
fn non_loopback_host_without_token_is_refused() {
    // Binding 0.0.0.0 sends nothing anywhere; the binary must refuse before binding at all.
    let (status, output) = TestApp::start_expecting_exit(AppConfig::default().host("0.0.0.0"));
    assert!(!status.success(), "exit status {status}\n{output}");
    assert!(
        output.contains("api_token"),
        "message does not name api_token:\n{output}"
    );
    assert!(output.contains("0.0.0.0"), "{output}");
    assert!(!output.contains("listening on"), "{output}");
}

const READ_TOKEN: &str = "e2e-read-only-7c3e-a90f";

/// The read-only token reads (`GET`, `HEAD`) but changes nothing (403); the admin token, read
/// from `api_token_file` (trimmed), changes clusters.
#[test]
fn read_token_reads_and_admin_token_file_writes() {
    let dir = crate::support::TempDir::new("token-file");
    let file = dir.path().join("admin.token");
    std::fs::write(&file, format!("  {TOKEN}\n")).unwrap();
    let app = TestApp::start(
        AppConfig::default()
            .server("api_token_file", file.to_str().unwrap())
            .server("api_read_token", READ_TOKEN),
    );
    let body = json!({"name": "rw", "fe_hosts": ["127.0.0.1:1"], "username": "u"});
    let as_reader = Auth::Bearer(READ_TOKEN);
    app.get_with("/api/clusters", as_reader).expect(200);
    app.request(
        "POST",
        "/api/clusters",
        Some(body.to_string().as_bytes()),
        as_reader,
    )
    .expect_error(403, "forbidden");
    let id = app
        .request(
            "POST",
            "/api/clusters",
            Some(body.to_string().as_bytes()),
            Auth::Bearer(TOKEN),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/clusters/{id}");
    app.request("DELETE", &path, None, as_reader)
        .expect_error(403, "forbidden");
    app.request("PUT", &path, Some(br#"{"enabled": false}"#), as_reader)
        .expect_error(403, "forbidden");
    app.request("POST", &format!("{path}/test"), None, as_reader)
        .expect_error(403, "forbidden");
    app.get_with(&path, as_reader).expect(200);
    assert_eq!(
        app.request("DELETE", &path, None, Auth::Bearer(TOKEN))
            .status,
        204
    );
}

/// Empty and short tokens are refused at start, with a message that says why.
#[test]
fn empty_and_short_tokens_are_refused() {
    for (key, value, why) in [
        ("api_token", "", "empty"),
        ("api_token", "   ", "empty"),
        ("api_token", "short-token", "at least 16"),
        ("api_read_token", "e2e-read-short", "at least 16"),
    ] {
        let mut config = AppConfig::default();
        if key == "api_read_token" {
            config = config.token(TOKEN);
        }
        let (status, output) = TestApp::start_expecting_exit(config.server(key, value));
        assert!(!status.success(), "{key} = {value:?} accepted\n{output}");
        assert!(
            output.contains(key) && output.contains(why),
            "{key} = {value:?}:\n{output}"
        );
        assert!(!output.contains("listening on"), "{output}");
    }
}

/// Without a token, a request whose `Host` is not a loopback name is refused (DNS rebinding):
/// a rebound `DELETE` deletes nothing.
#[test]
fn loopback_mode_accepts_only_loopback_host_names() {
    let app = TestApp::start(AppConfig::default());
    let id = app
        .post_json(
            "/api/clusters",
            &json!({"name": "kept", "fe_hosts": ["127.0.0.1:1"], "username": "u"}),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/clusters/{id}");
    for host in [
        "evil.example",
        "evil.example:8080",
        "127.0.0.1.nip.io:80",
        "0.0.0.0",
    ] {
        app.request_with_host("DELETE", &path, host)
            .expect_error(403, "forbidden");
        app.request_with_host("GET", "/api/clusters", host)
            .expect_error(403, "forbidden");
        app.request_with_host("GET", "/health", host)
            .expect_error(403, "forbidden");
    }
    app.get(&path).expect(200);
    // The test's own requests carry `Host: 127.0.0.1:<port>`.
    app.get("/health").expect(200);
    for host in [
        "localhost",
        "LOCALHOST:1234",
        "127.0.0.1:9",
        "[::1]",
        "[::1]:8080",
    ] {
        app.request_with_host("GET", "/api/clusters", host)
            .expect(200);
    }
    assert_eq!(
        app.request_with_host("DELETE", &path, "localhost:80")
            .status,
        204
    );
}
