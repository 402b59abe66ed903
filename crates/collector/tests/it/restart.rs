//! A restart continues on the same database file.

use std::time::Duration;

use rockscope_collector::{Collector, StatusBoard};
use rockscope_sim::{SimConfig, Simulator, Version};
use rockscope_store::{NewCluster, Password, Store};

use crate::common::{TempDb, block_on, fast_config, register, snapshot_times};

fn declare(store: &Store, info: &rockscope_sim::ClusterInfo) -> i64 {
    // As `rockscope serve` does at every start with the config's `[[clusters]]`.
    store
        .upsert_config_cluster(&NewCluster {
            name: info.name.clone(),
            fe_hosts: info.fe_hosts.clone(),
            username: info.username.clone(),
            password: Password::new(info.password.clone()),
            connect_timeout_secs: None,
            request_timeout_secs: None,
            enabled: true,
        })
        .expect("declare cluster")
        .id
}

#[test]
fn restart_continues_on_the_same_database() {
    let sim = Simulator::start(SimConfig::uniform(2, 1, 2, Version::V3_3, 5)).expect("sim");
    block_on(async move {
        let infos = sim.clusters();
        let db = TempDb::new("restart");

        let first_ids: Vec<i64>;
        {
            let store = Store::open(&db.0).expect("open");
            first_ids = infos.iter().map(|i| declare(&store, i)).collect();
            let collector = Collector::new(
                fast_config(Duration::from_secs(1)),
                store.clone(),
                StatusBoard::default(),
            );
            let outcomes = collector.collect_once().await;
            assert_eq!(outcomes.len(), 2);
            assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
            for id in &first_ids {
                assert_eq!(snapshot_times(&store, *id).len(), 1);
            }
        } // collector and store dropped: the "process" ends.

        let store = Store::open(&db.0).expect("reopen");
        let second_ids: Vec<i64> = infos.iter().map(|i| declare(&store, i)).collect();
        assert_eq!(second_ids, first_ids, "the clusters keep their ids");
        assert_eq!(
            store.list_clusters().unwrap().len(),
            2,
            "no duplicate clusters"
        );
        let collector = Collector::new(
            fast_config(Duration::from_secs(1)),
            store.clone(),
            StatusBoard::default(),
        );
        let outcomes = collector.collect_once().await;
        assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
        let mut outcome_ids: Vec<i64> = outcomes.iter().map(|o| o.cluster_id).collect();
        outcome_ids.sort();
        assert_eq!(outcome_ids, first_ids);
        for id in &first_ids {
            let times = snapshot_times(&store, *id);
            assert_eq!(times.len(), 2, "cluster {id}: snapshots accumulate");
            assert!(times[0] < times[1]);
            assert!(!store.latest_nodes(*id).unwrap().is_empty());
        }
        assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_owned()]);
    });
}

#[test]
fn a_lost_secret_key_fails_only_the_clusters_whose_password_it_sealed() {
    let sim = Simulator::start(SimConfig::uniform(2, 1, 1, Version::V3_3, 5)).expect("sim");
    block_on(async move {
        let infos = sim.clusters();
        let db = TempDb::new("lost-key");
        let ids: Vec<i64> = {
            let store = Store::open(&db.0).expect("open");
            infos.iter().map(|i| register(&store, i).id).collect()
        };
        // The key file is lost: the next start makes a new key.
        std::fs::remove_file(rockscope_store::key_file_path(&db.0)).expect("remove key");
        let store = Store::open(&db.0).expect("the store opens without its key");
        // The second cluster's password is set again under the new key.
        let update = rockscope_store::ClusterUpdate {
            password: Some(Password::new(infos[1].password.clone())),
            ..Default::default()
        };
        store.update_cluster(ids[1], &update).expect("update");
        let collector = Collector::new(
            fast_config(Duration::from_secs(1)),
            store.clone(),
            StatusBoard::default(),
        );
        let outcomes = collector.collect_once().await;
        let lost = outcomes.iter().find(|o| o.cluster_id == ids[0]).unwrap();
        let error = lost
            .result
            .as_ref()
            .expect_err("no password, no collection");
        assert!(error.to_string().contains("cannot be decrypted"), "{error}");
        let healed = outcomes.iter().find(|o| o.cluster_id == ids[1]).unwrap();
        assert!(healed.result.is_ok(), "{healed:?}");
        let stored = store.recent_errors(Some(ids[0]), 5).unwrap();
        assert_eq!(stored[0].code, "password_unreadable");
    });
}
