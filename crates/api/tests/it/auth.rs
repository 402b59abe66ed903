//! The bearer token, open health routes, unknown routes and methods.

use actix_web::http::header;
use actix_web::test::TestRequest;

use crate::support::{TOKEN, store};

#[actix_web::test]
async fn health_and_ready_need_no_token() {
    let store = store();
    let app = app!(store, Some(TOKEN));
    let health = get!(app, "/health").ok_json();
    assert_eq!(health["status"], "ok");
    // The collector loop is not running in these tests: not ready, but the database answers.
    let ready = get!(app, "/ready");
    assert_eq!(ready.status.as_u16(), 503);
    let ready = ready.json();
    assert_eq!(ready["database"], true);
    assert_eq!(ready["collector"], false);
    assert_eq!(ready["status"], "not_ready");
}

#[actix_web::test]
async fn api_requires_the_token_when_configured() {
    let store = store();
    let app = app!(store, Some(TOKEN));

    let missing = get!(app, "/api/clusters");
    let message = missing.error(401, "unauthorized");
    assert!(message.contains("Bearer"), "{message}");
    assert_eq!(
        missing.headers.get(header::WWW_AUTHENTICATE).unwrap(),
        "Bearer"
    );
    assert!(!missing.text.contains(TOKEN));

    for wrong in [
        "Bearer wrong".to_owned(),
        format!("Bearer {TOKEN}x"),
        format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
        format!("Basic {TOKEN}"),
        TOKEN.to_owned(),
    ] {
        let r = send!(
            app,
            TestRequest::get()
                .uri("/api/clusters")
                .insert_header((header::AUTHORIZATION, wrong.as_str()))
        );
        r.error(401, "unauthorized");
    }

    let ok = send!(
        app,
        TestRequest::get()
            .uri("/api/clusters")
            .insert_header((header::AUTHORIZATION, format!("Bearer {TOKEN}")))
    );
    assert_eq!(ok.ok_json(), serde_json::json!([]));

    // Every /api route is guarded, the body is not even read without the token.
    let post = send!(
        app,
        TestRequest::post()
            .uri("/api/clusters")
            .set_payload("x".repeat(100_000))
            .insert_header((header::CONTENT_TYPE, "application/json"))
    );
    post.error(401, "unauthorized");
    get!(app, "/api/collector/status").error(401, "unauthorized");
    get!(app, "/api/clusters/overview").error(401, "unauthorized");
    get!(app, "/api/nothing/here").error(401, "unauthorized");

    // With the token, an unknown /api route is a JSON 404.
    let unknown = send!(
        app,
        TestRequest::get()
            .uri("/api/nothing/here")
            .insert_header((header::AUTHORIZATION, format!("bearer {TOKEN}")))
    );
    unknown.error(404, "not_found");
}

#[actix_web::test]
async fn without_a_token_the_api_is_open() {
    let store = store();
    let app = app!(store);
    assert_eq!(get!(app, "/api/clusters").ok_json(), serde_json::json!([]));
}

#[actix_web::test]
async fn unknown_routes_and_methods_answer_json() {
    let store = store();
    let app = app!(store);
    let msg = get!(app, "/nope").error(404, "not_found");
    assert!(msg.contains("/nope"), "{msg}");
    get!(app, "/api/clusters/1/unknown").error(404, "not_found");
    send!(app, TestRequest::delete().uri("/api/clusters")).error(405, "method_not_allowed");
    send!(app, TestRequest::post().uri("/health")).error(405, "method_not_allowed");
    send!(app, TestRequest::get().uri("/api/clusters/1/test")).error(405, "method_not_allowed");
}
