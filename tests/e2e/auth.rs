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
