//! `/ready` and `/api/collector/status` follow the storage and the housekeeping.

use crate::support::{new_cluster, state, store};

#[actix_web::test]
async fn a_deleted_database_fails_ready_and_shows_in_the_collector_status() {
    let store = store();
    store.create_cluster(&new_cluster("a")).unwrap();
    let app = app!(store);
    let ready = get!(app, "/ready").json();
    assert_eq!(ready["storage"], true, "{ready}");
    assert_eq!(ready["housekeeping"], true, "{ready}");
    let status = get!(app, "/api/collector/status").ok_json();
    assert_eq!(status["storage"]["healthy"], true, "{status}");
    assert!(status["storage"]["ok_since"].is_string(), "{status}");

    std::fs::remove_file(store.path()).unwrap();
    let ready = get!(app, "/ready");
    assert_eq!(ready.status.as_u16(), 503);
    let ready = ready.json();
    assert_eq!(ready["storage"], false, "{ready}");
    let errors = ready["errors"].to_string();
    assert!(errors.contains("deleted or replaced"), "{ready}");

    let status = get!(app, "/api/collector/status").ok_json();
    let storage = &status["storage"];
    assert_eq!(storage["healthy"], false, "{status}");
    assert!(storage["failing_since"].is_string(), "{status}");
    assert!(storage["ok_since"].is_null(), "{status}");
    assert!(
        storage["last_error"]
            .as_str()
            .unwrap()
            .contains("deleted or replaced"),
        "{status}"
    );
}

#[actix_web::test]
async fn a_panicked_housekeeping_pass_fails_ready() {
    let store = store();
    let api = state(&store, None);
    let status = api.status.clone();
    let app = actix_web::test::init_service(
        actix_web::App::new().configure(rockscope_api::configure(api)),
    )
    .await;
    status.housekeeping_failed("attempt to subtract with overflow");
    let ready = get!(app, "/ready");
    assert_eq!(ready.status.as_u16(), 503);
    let ready = ready.json();
    assert_eq!(ready["housekeeping"], false, "{ready}");
    assert!(
        ready["errors"]
            .to_string()
            .contains("subtract with overflow"),
        "{ready}"
    );
}
