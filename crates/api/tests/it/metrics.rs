//! `GET /metrics`: one exposition of the clusters and rockscope's own health, in either text
//! format, with every request timed by its route's pattern.

use actix_web::http::header;
use actix_web::test::TestRequest;

use crate::support::{TOKEN, store};

fn authed(req: TestRequest) -> TestRequest {
    req.insert_header((header::AUTHORIZATION, format!("Bearer {TOKEN}")))
}

#[actix_web::test]
async fn requests_are_timed_by_route_pattern_and_status_never_by_raw_path() {
    let store = store();
    let app = app!(store, Some(TOKEN));
    send!(
        app,
        authed(TestRequest::get().uri("/api/clusters/4711/overview"))
    );
    send!(
        app,
        authed(TestRequest::get().uri("/api/clusters/4712/overview"))
    );
    send!(app, authed(TestRequest::get().uri("/no/such/path/9f3a")));
    send!(app, TestRequest::get().uri("/api/clusters"));

    let text = send!(app, authed(TestRequest::get().uri("/metrics")));
    assert_eq!(text.status, 200);
    let body = text.text;
    for line in [
        "rockscope_api_request_duration_seconds_count{route=\"/api/clusters/{id}/overview\",status=\"404\"} 2",
        "rockscope_api_request_duration_seconds_count{route=\"unmatched\",status=\"404\"} 1",
        "rockscope_api_request_duration_seconds_count{route=\"/api/clusters\",status=\"401\"} 1",
    ] {
        assert!(body.lines().any(|l| l == line), "{line} missing:\n{body}");
    }
    assert!(!body.contains("4711") && !body.contains("9f3a"), "{body}");
    assert!(body.contains("# TYPE rockscope_build_info gauge"));
    assert!(!body.contains("# EOF"), "no EOF in text 0.0.4");
}

#[actix_web::test]
async fn open_metrics_is_one_exposition_with_one_eof_at_the_end() {
    let store = store();
    let app = app!(store, Some(TOKEN));
    let reply = send!(
        app,
        authed(TestRequest::get().uri("/metrics"))
            .insert_header((header::ACCEPT, "application/openmetrics-text;version=1.0.0"))
    );
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .headers
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let body = reply.text;
    assert!(body.ends_with("\n# EOF\n"), "{body}");
    assert_eq!(body.matches("# EOF").count(), 1);
    // OpenMetrics names a counter's family without `_total`.
    assert!(
        body.contains("# TYPE rockscope_alert_evaluations counter"),
        "{body}"
    );
    assert!(body.contains("# UNIT rockscope_collector_cycle_duration_seconds seconds"));
}
