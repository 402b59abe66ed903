//! Sharded collection: three collectors given one cluster list, each with its own database and
//! `shard = i/3`, collect every cluster exactly once between them.

use std::collections::BTreeSet;
use std::time::Duration;

use rockscope_collector::{Collector, CollectorConfig, Shard, StatusBoard};
use rockscope_sim::{SimConfig, Simulator, Version};
use rockscope_store::{ClusterUpdate, Store};

use crate::common::{TempDb, block_on, fast_config, register, snapshot_times};

fn sharded(shard: Shard) -> CollectorConfig {
    CollectorConfig {
        shard: Some(shard),
        ..fast_config(Duration::from_secs(1))
    }
}

#[test]
fn three_shards_collect_every_cluster_exactly_once() {
    let sim = Simulator::start(SimConfig::uniform(9, 1, 1, Version::V3_3, 7)).expect("sim");
    block_on(async move {
        let infos = sim.clusters();
        let all: BTreeSet<String> = infos.iter().map(|i| i.name.clone()).collect();
        let mut collected_by: Vec<BTreeSet<String>> = Vec::new();
        let mut dbs = Vec::new();
        for index in 1..=3 {
            let shard = Shard::new(index, 3).unwrap();
            let db = TempDb::new("shard");
            let store = Store::open(&db.0).expect("open");
            for info in &infos {
                register(&store, info);
            }
            let status = StatusBoard::default();
            let collector = Collector::new(sharded(shard), store.clone(), status.clone());
            assert_eq!(
                status.shard(),
                Some(shard),
                "the board tells the API the shard"
            );
            let outcomes = collector.collect_once().await;
            assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
            let names: BTreeSet<String> = outcomes.iter().map(|o| o.cluster_name.clone()).collect();
            let owned: BTreeSet<String> = all.iter().filter(|n| shard.owns(n)).cloned().collect();
            assert_eq!(names, owned, "shard {shard} collects exactly what it owns");
            let on_board: BTreeSet<String> = status
                .clusters()
                .into_iter()
                .map(|s| s.cluster_name)
                .collect();
            assert_eq!(
                on_board, owned,
                "shard {shard}: only its clusters have a status"
            );
            // Stored snapshots: its own clusters have one, the others none.
            for cluster in store.list_clusters().unwrap() {
                let expected = usize::from(owned.contains(&cluster.name));
                assert_eq!(
                    snapshot_times(&store, cluster.id).len(),
                    expected,
                    "{}",
                    cluster.name
                );
            }
            collected_by.push(names);
            dbs.push(db);
        }
        let mut union = BTreeSet::new();
        for names in &collected_by {
            assert!(
                !names.is_empty(),
                "9 clusters leave no shard of 3 idle: {collected_by:?}"
            );
            for name in names {
                assert!(
                    union.insert(name.clone()),
                    "{name} collected twice: {collected_by:?}"
                );
            }
        }
        assert_eq!(union, all, "no cluster left out");
    });
}

#[test]
fn a_cluster_renamed_into_another_shard_is_forgotten_like_a_removed_one() {
    let sim = Simulator::start(SimConfig::uniform(9, 1, 1, Version::V3_3, 7)).expect("sim");
    block_on(async move {
        let shard = Shard::new(1, 3).unwrap();
        let db = TempDb::new("shard-rename");
        let store = Store::open(&db.0).expect("open");
        let clusters: Vec<_> = sim.clusters().iter().map(|i| register(&store, i)).collect();
        let status = StatusBoard::default();
        let collector = Collector::new(sharded(shard), store.clone(), status.clone());
        collector.collect_once().await;
        let mine = clusters
            .iter()
            .find(|c| shard.owns(&c.name))
            .expect("shard 1 owns one of 9");
        assert!(status.cluster(mine.id).is_some());

        let new_name = (0..)
            .map(|k| format!("renamed-{k}"))
            .find(|n| !shard.owns(n))
            .unwrap();
        let update = ClusterUpdate {
            name: Some(new_name.clone()),
            ..ClusterUpdate::default()
        };
        store.update_cluster(mine.id, &update).expect("rename");
        let outcomes = collector.collect_once().await;
        assert!(
            outcomes.iter().all(|o| o.cluster_id != mine.id),
            "{outcomes:?}"
        );
        assert!(
            status.cluster(mine.id).is_none(),
            "{new_name} belongs to shard {}: its status is forgotten",
            shard.owner_of(&new_name)
        );
    });
}
