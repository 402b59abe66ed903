//! An instance collecting one shard (`collector.shard = "2/3"`) tells for every cluster which
//! shard owns it and whether it collects it here, and its own shard in the collector status.

use actix_web::test::init_service;
use rockscope_collector::{Collector, CollectorConfig, Shard, StatusBoard};
use rockscope_store::ClusterUpdate;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::{new_cluster, snapshot, state, store};

#[actix_web::test]
async fn every_cluster_names_its_owner_and_whether_it_is_collected_here() {
    let store = store();
    let shard = Shard::new(2, 3).unwrap();
    // The collector tells the status board its shard; the API reads it there.
    let status = StatusBoard::default();
    let config = CollectorConfig {
        shard: Some(shard),
        ..CollectorConfig::default()
    };
    let _collector = Collector::new(config, store.clone(), status.clone());
    let mut api = state(&store, None);
    api.status = status;
    let app = init_service(actix_web::App::new().configure(rockscope_api::configure(api))).await;

    let names: Vec<String> = (1..=12).map(|i| format!("cluster-{i}")).collect();
    let ids: Vec<i64> = names
        .iter()
        .map(|n| store.create_cluster(&new_cluster(n)).unwrap().id)
        .collect();
    // One cluster of each kind: this shard's but disabled, another shard's with a snapshot
    // left from before a change of shards.
    let mine = names.iter().position(|n| shard.owns(n)).expect("one of 12");
    let theirs = names
        .iter()
        .position(|n| !shard.owns(n))
        .expect("one of 12");
    let disabled = names.iter().rposition(|n| shard.owns(n)).unwrap();
    assert_ne!(
        mine, disabled,
        "shard 2 of 3 owns more than one of 12 clusters"
    );
    let off = ClusterUpdate {
        enabled: Some(false),
        ..ClusterUpdate::default()
    };
    store.update_cluster(ids[disabled], &off).unwrap();
    let fields = json!({"backend_alive": 1, "backend_total": 1, "frontend_alive": 1,
                        "frontend_total": 1, "qps": 5.0});
    for i in [mine, theirs] {
        let at = OffsetDateTime::now_utc();
        store
            .insert_cycle(&snapshot(ids[i], at, fields.clone()), &[])
            .unwrap();
    }

    let expected = |i: usize| {
        let owner = shard.owner_of(&names[i]);
        json!({"owner": owner, "count": 3, "collected_here": owner == 2 && i != disabled})
    };
    let list = get!(app, "/api/clusters").ok_json();
    for (i, cluster) in list.as_array().unwrap().iter().enumerate() {
        assert_eq!(cluster["name"], names[i].as_str());
        assert_eq!(cluster["shard"], expected(i), "{cluster}");
    }
    let owners: Vec<u64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["shard"]["owner"].as_u64().unwrap())
        .collect();
    assert!(owners.iter().all(|o| (1..=3).contains(o)), "{owners:?}");
    assert!(
        owners.contains(&1) && owners.contains(&3),
        "12 names fall on all three: {owners:?}"
    );
    let one = get!(app, format!("/api/clusters/{}", ids[theirs])).ok_json();
    assert_eq!(one["shard"], expected(theirs));

    // The summaries: another shard's cluster is not this instance's to judge.
    let rows = get!(app, "/api/clusters/overview").ok_json();
    let row = |i: usize| -> Value {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == ids[i])
            .unwrap()
            .clone()
    };
    assert_eq!(row(mine)["health"], "healthy");
    assert_eq!(row(mine)["shard"], expected(mine));
    assert_eq!(row(theirs)["health"], "unknown", "{}", row(theirs));
    assert_eq!(row(theirs)["shard"]["collected_here"], false);
    assert_eq!(row(disabled)["shard"], expected(disabled));

    let collector = get!(app, "/api/collector/status").ok_json();
    assert_eq!(collector["shard"], json!({"index": 2, "count": 3}));
    let clusters = collector["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 12);
    for (i, c) in clusters.iter().enumerate() {
        assert_eq!(c["shard"], expected(i), "{c}");
    }
    let overview = get!(app, format!("/api/clusters/{}/overview", ids[theirs])).ok_json();
    assert_eq!(overview["collector"]["shard"], expected(theirs));
}
