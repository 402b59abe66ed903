//! The all-clusters overview (`GET /api/clusters/overview`) through its answer cache: the same
//! bytes while nothing changed, a stored cycle or a failed attempt seen once the answer is
//! `min_age` old, a change of the cluster list seen at once.

use std::time::Duration;

use actix_web::test::init_service;
use rockscope_api::{ApiState, SummariesCache, SummariesCacheConfig};
use rockscope_collector::{Collector, CollectorConfig, StatusBoard};
use rockscope_store::{NewCluster, Store};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{new_cluster, snapshot, state, store};

const PATH: &str = "/api/clusters/overview";

/// The API over `store` whose summaries are served as `min_age` and `max_age` say.
fn with_ages(store: &Store, min_age: Duration, max_age: Duration) -> ApiState {
    let mut api = state(store, None);
    api.summaries_cache = SummariesCache::new(SummariesCacheConfig { min_age, max_age });
    api
}

fn row(rows: &Value, id: i64) -> &Value {
    rows.as_array()
        .expect("a list")
        .iter()
        .find(|r| r["id"] == id)
        .expect("the cluster's row")
}

#[actix_web::test]
async fn a_stored_cycle_shows_up_in_the_list_after_the_minimum_age() {
    let store = store();
    let min_age = Duration::from_millis(50);
    let live = with_ages(&store, min_age, Duration::from_secs(3600));
    let live_cache = live.summaries_cache.clone();
    let live = init_service(actix_web::App::new().configure(rockscope_api::configure(live))).await;
    let held = with_ages(&store, Duration::from_secs(3600), Duration::from_secs(3600));
    let held = init_service(actix_web::App::new().configure(rockscope_api::configure(held))).await;
    // Computes every answer: the reference.
    let fresh = with_ages(&store, Duration::ZERO, Duration::ZERO);
    let fresh =
        init_service(actix_web::App::new().configure(rockscope_api::configure(fresh))).await;

    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let t0 = OffsetDateTime::now_utc() - time::Duration::seconds(60);
    store
        .insert_cycle(&snapshot(id, t0, json!({"qps": 1.0})), &[])
        .unwrap();
    let first = get!(live, PATH);
    assert_eq!(
        first.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(row(&first.ok_json(), id)["qps"], 1.0);
    let again = get!(live, PATH);
    assert_eq!(again.text, first.text, "nothing changed: the same bytes");
    assert_eq!(get!(fresh, PATH).text, first.text, "as computed now");
    let s = live_cache.stats();
    assert_eq!((s.hits, s.misses), (1, 1));
    let held_first = get!(held, PATH).text;

    // A new cycle: seen once the answer is min_age old; held back by a young answer.
    store
        .insert_cycle(
            &snapshot(id, t0 + time::Duration::seconds(30), json!({"qps": 2.0})),
            &[],
        )
        .unwrap();
    std::thread::sleep(min_age + Duration::from_millis(20));
    let after = get!(live, PATH);
    assert_eq!(row(&after.ok_json(), id)["qps"], 2.0);
    assert_eq!(after.text, get!(fresh, PATH).text);
    assert_eq!(live_cache.stats().misses, 2);
    assert_eq!(
        get!(held, PATH).text,
        held_first,
        "younger than its min_age"
    );

    // A cluster created is seen at once, with everything stored until then.
    let other = store.create_cluster(&new_cluster("other")).unwrap().id;
    let rows = get!(held, PATH).ok_json();
    assert_eq!(row(&rows, id)["qps"], 2.0);
    assert_eq!(row(&rows, other)["health"], "unknown");
    // And a deleted one.
    store.delete_cluster(other).unwrap();
    assert_eq!(get!(held, PATH).ok_json().as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_failed_attempt_shows_up_in_the_list() {
    let store = store();
    // A port nothing listens on: every attempt fails at once (connection refused).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let unreachable = NewCluster {
        fe_hosts: vec![format!("127.0.0.1:{port}")],
        ..new_cluster("unreachable")
    };
    let id = store.create_cluster(&unreachable).unwrap().id;
    let status = StatusBoard::default();
    let collector = Collector::new(CollectorConfig::default(), store.clone(), status.clone());
    let mut live = with_ages(&store, Duration::ZERO, Duration::from_secs(3600));
    live.status = status.clone();
    let mut held = with_ages(&store, Duration::from_secs(3600), Duration::from_secs(3600));
    held.status = status.clone();
    let live = init_service(actix_web::App::new().configure(rockscope_api::configure(live))).await;
    let held = init_service(actix_web::App::new().configure(rockscope_api::configure(held))).await;

    let before = get!(live, PATH).ok_json();
    assert_eq!(row(&before, id)["health"], "unknown");
    assert_eq!(row(&before, id)["last_error"], Value::Null);
    let held_before = get!(held, PATH).text;

    collector.collect_once().await;
    let failure = status.cluster(id).and_then(|s| s.last_error);
    assert!(failure.is_some(), "the attempt failed");
    let after = get!(live, PATH).ok_json();
    assert_eq!(row(&after, id)["health"], "down");
    assert_eq!(row(&after, id)["last_error"], json!(failure));
    assert_eq!(
        get!(held, PATH).text,
        held_before,
        "younger than its min_age"
    );
}
