//! Three `rockscope serve` processes, each with its own database, one cluster list of 30
//! simulated clusters and `collector.shard = "1/3"`, `"2/3"`, `"3/3"`: every cluster is
//! collected (has stored snapshots) by exactly one of them, the one all three name as its owner.

use std::collections::BTreeMap;
use std::time::Duration;

use rockscope_sim::{SimConfig, Simulator, Version};
use serde_json::{Value, json};

use crate::support::{AppConfig, ConfigCluster, TestApp, wait_for};

const CLUSTERS: usize = 30;
const SHARDS: u64 = 3;

#[test]
fn three_shards_collect_every_cluster_exactly_once() {
    // The smallest cluster: one FE, one BE.
    let sim =
        Simulator::start(SimConfig::uniform(CLUSTERS, 1, 1, Version::V3_3, 11)).expect("simulator");
    let infos = sim.clusters();
    let apps: Vec<TestApp> = (1..=SHARDS)
        .map(|i| {
            let config = infos.iter().fold(
                AppConfig::default().collector("shard", &format!("{i}/{SHARDS}")),
                |config, info| config.cluster(ConfigCluster::from_sim(info)),
            );
            TestApp::start(config)
        })
        .collect();

    // Each instance says which shard it is.
    for (i, app) in (1..=SHARDS).zip(&apps) {
        let status = app.get("/api/collector/status").expect(200);
        assert_eq!(status["shard"], json!({"index": i, "count": SHARDS}));
    }

    // Every instance lists all 30 clusters, with the same owner for each.
    let mut owners: BTreeMap<String, u64> = BTreeMap::new();
    for (i, app) in (1..=SHARDS).zip(&apps) {
        let list = app.get("/api/clusters").expect(200);
        let list = list.as_array().expect("cluster list");
        assert_eq!(list.len(), CLUSTERS);
        for cluster in list {
            let name = cluster["name"].as_str().unwrap().to_owned();
            let owner = cluster["shard"]["owner"].as_u64().expect("an owner");
            assert_eq!(cluster["shard"]["count"], SHARDS, "{cluster}");
            assert_eq!(cluster["shard"]["collected_here"], owner == i, "{cluster}");
            let first = *owners.entry(name.clone()).or_insert(owner);
            assert_eq!(first, owner, "instances disagree on the owner of {name}");
        }
    }
    for shard in 1..=SHARDS {
        assert!(
            owners.values().any(|&o| o == shard),
            "30 clusters leave no shard idle: {owners:?}"
        );
    }

    // Wait until every cluster has a stored snapshot somewhere, and each instance has run two
    // cycles (a shard that wrongly collected another's cluster would have done so by then).
    wait_for("every cluster collected", Duration::from_secs(30), || {
        let collected: usize = apps.iter().map(|app| collected_names(app).len()).sum();
        let cycles_ok = apps.iter().all(|app| {
            let status = app.get("/api/collector/status").expect(200);
            status["cycles"].as_array().is_some_and(|c| c.len() >= 2)
        });
        (collected >= CLUSTERS && cycles_ok).then_some(())
    });

    // Exactly one instance stores snapshots of each cluster: its owner.
    let ids: Vec<BTreeMap<String, i64>> = apps.iter().map(ids_by_name).collect();
    for (name, &owner) in &owners {
        let holders: Vec<u64> = (1..=SHARDS)
            .zip(&apps)
            .filter(|(i, app)| {
                let id = ids[*i as usize - 1][name];
                !app.snapshots(id).is_empty()
            })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            holders,
            [owner],
            "{name}: stored by shards {holders:?}, owned by {owner}"
        );
    }
    // And the cluster list page's summaries: another shard's clusters are not judged here.
    for (i, app) in (1..=SHARDS).zip(&apps) {
        let rows = app.get("/api/clusters/overview").expect(200);
        for row in rows.as_array().unwrap() {
            if row["shard"]["owner"] != i {
                assert_eq!(row["health"], "unknown", "{row}");
                assert_eq!(row["last_collected"], Value::Null, "{row}");
            }
        }
    }
}

/// The names of the clusters `app` has a snapshot of (from the summaries' `last_collected`).
fn collected_names(app: &TestApp) -> Vec<String> {
    let rows = app.get("/api/clusters/overview").expect(200);
    rows.as_array()
        .expect("summaries")
        .iter()
        .filter(|r| !r["last_collected"].is_null())
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn ids_by_name(app: &TestApp) -> BTreeMap<String, i64> {
    let list = app.get("/api/clusters").expect(200);
    list.as_array()
        .expect("cluster list")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["id"].as_i64().unwrap(),
            )
        })
        .collect()
}
