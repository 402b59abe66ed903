//! A password never appears in any response.

use actix_web::test::TestRequest;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::support::{TOKEN, snapshot, store};

#[actix_web::test]
async fn password_never_in_a_response() {
    const SECRET: &str = "s3cr3t-pw";
    let store = store();
    let app = app!(store, Some(TOKEN));
    let auth = ("Authorization", format!("Bearer {TOKEN}"));
    let created = send!(
        app,
        TestRequest::post()
            .uri("/api/clusters")
            .insert_header(auth.clone())
            .set_json(
                json!({"name": "prod", "fe_hosts": ["fe:8030"], "username": "root",
                             "password": SECRET})
            )
    );
    assert_eq!(created.status.as_u16(), 201);
    let id = created.json()["id"].as_i64().unwrap();
    store
        .insert_cycle(
            &snapshot(
                id,
                OffsetDateTime::now_utc() - Duration::seconds(5),
                json!({"qps": 1.0}),
            ),
            &[],
        )
        .unwrap();
    let mut bodies = vec![created.text];
    for uri in [
        "/api/clusters".to_owned(),
        format!("/api/clusters/{id}"),
        "/api/clusters/overview".to_owned(),
        format!("/api/clusters/overview?cluster_id={id}"),
        format!("/api/clusters/{id}/overview"),
        format!("/api/clusters/{id}/snapshots"),
        format!("/api/clusters/{id}/nodes"),
        format!("/api/clusters/{id}/daily"),
        "/api/collector/status".to_owned(),
    ] {
        let r = send!(
            app,
            TestRequest::get().uri(&uri).insert_header(auth.clone())
        );
        assert_eq!(r.status.as_u16(), 200, "{uri}: {}", r.text);
        bodies.push(r.text);
    }
    let updated = send!(
        app,
        TestRequest::put()
            .uri(&format!("/api/clusters/{id}"))
            .insert_header(auth.clone())
            .set_json(json!({"username": "monitor"}))
    );
    assert_eq!(updated.status.as_u16(), 200);
    bodies.push(updated.text);
    // The fake tester echoes the password in its report.
    let tested = send!(
        app,
        TestRequest::post()
            .uri(&format!("/api/clusters/{id}/test"))
            .insert_header(auth.clone())
    );
    assert_eq!(tested.status.as_u16(), 200);
    bodies.push(tested.text);
    // A duplicate (409) and an invalid (400) create with the password in the body.
    for body in [
        json!({"name": "prod", "fe_hosts": ["fe:8030"], "username": "root", "password": SECRET}),
        json!({"name": "x", "fe_hosts": ["bad"], "username": "root", "password": SECRET}),
        json!({"name": "x", "fe_hosts": ["fe:8030"], "username": "root", "password": SECRET, "zzz": 1}),
    ] {
        let r = send!(
            app,
            TestRequest::post()
                .uri("/api/clusters")
                .insert_header(auth.clone())
                .set_json(body)
        );
        assert!(r.status.is_client_error());
        bodies.push(r.text);
    }
    for body in &bodies {
        assert!(!body.contains(SECRET), "password leaked: {body}");
        assert!(!body.contains("\"password\""), "password key: {body}");
    }
}
