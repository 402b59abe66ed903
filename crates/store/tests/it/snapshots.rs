use rockscope_model::{MetricsSnapshot, NodeKind, SnapshotSummary};
use rockscope_store::{Cluster, ClusterSummary, ClusterUpdate, Error};
use serde_json::json;

use crate::support::*;

#[test]
fn full_snapshot_round_trips() {
    let db = TempDb::new("snap-full");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let snap = full_snapshot(c.id, t0() + time::Duration::milliseconds(123), 7);
    // Every field is non-null.
    let value = serde_json::to_value(&snap).unwrap();
    let nulls: Vec<_> = value
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    assert!(nulls.is_empty(), "{nulls:?}");
    store.insert_cycle(&snap, &[]).unwrap();
    assert_eq!(store.latest_snapshot(c.id).unwrap().as_ref(), Some(&snap));
    assert_eq!(
        store
            .snapshots_range(c.id, t0(), t0() + secs(1), 10)
            .unwrap(),
        vec![snap.clone()]
    );
    assert_eq!(
        store.snapshots_of_day(c.id, t0().date()).unwrap(),
        vec![snap]
    );
}

#[test]
fn snapshot_with_nulls_round_trips() {
    let db = TempDb::new("snap-sparse");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let snap = sparse_snapshot(c.id, t0());
    assert!(snap.qps.is_none() && snap.leader_name.is_none() && snap.source_errors.is_empty());
    store.insert_cycle(&snap, &[]).unwrap();
    assert_eq!(store.latest_snapshot(c.id).unwrap(), Some(snap));
}

#[test]
fn latest_and_range() {
    let db = TempDb::new("snap-range");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let other = store.create_cluster(&new_cluster("b")).unwrap();
    assert_eq!(store.latest_snapshot(c.id).unwrap(), None);
    assert!(store.latest_nodes(c.id).unwrap().is_empty());
    let snaps: Vec<_> = (0..10)
        .map(|i| full_snapshot(c.id, t0() + secs(30 * i), i))
        .collect();
    // Inserted out of order: "latest" is by collected_at, not by insertion.
    for s in snaps.iter().rev() {
        store.insert_cycle(s, &[]).unwrap();
    }
    store
        .insert_cycle(&full_snapshot(other.id, t0() + secs(10_000), 99), &[])
        .unwrap();
    assert_eq!(store.latest_snapshot(c.id).unwrap().as_ref(), snaps.last());
    // Inclusive bounds, oldest first.
    assert_eq!(
        store
            .snapshots_range(c.id, t0() + secs(30), t0() + secs(90), 100)
            .unwrap(),
        snaps[1..=3].to_vec()
    );
    assert_eq!(
        store
            .count_snapshots(c.id, t0() + secs(30), t0() + secs(90))
            .unwrap(),
        3
    );
    // Capped by the limit.
    assert_eq!(
        store
            .snapshots_range(c.id, t0(), t0() + secs(3600), 4)
            .unwrap(),
        snaps[..4].to_vec()
    );
    assert!(
        store
            .snapshots_range(c.id, t0() + secs(1), t0() + secs(29), 100)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_cycle_is_written_atomically_and_latest_nodes_are_of_the_newest_cycle() {
    let db = TempDb::new("snap-nodes");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let (t1, t2) = (t0(), t0() + secs(30));
    let nodes1 = vec![
        node(c.id, t1, NodeKind::Be, "10001", 1),
        node(c.id, t1, NodeKind::Fe, "fe-a", 2),
    ];
    store
        .insert_cycle(&full_snapshot(c.id, t1, 1), &nodes1)
        .unwrap();
    let nodes2 = vec![
        node(c.id, t2, NodeKind::Cn, "20001", 3),
        node(c.id, t2, NodeKind::Be, "10002", 4),
        node(c.id, t2, NodeKind::Fe, "fe-b", 5),
        node(c.id, t2, NodeKind::Be, "10001", 6),
    ];
    store
        .insert_cycle(&full_snapshot(c.id, t2, 2), &nodes2)
        .unwrap();
    let latest = store.latest_nodes(c.id).unwrap();
    // FE first, then BEs by id, then CNs; every field round-trips.
    assert_eq!(
        latest,
        vec![
            nodes2[2].clone(),
            nodes2[3].clone(),
            nodes2[1].clone(),
            nodes2[0].clone()
        ]
    );

    // A second snapshot at the same millisecond is a conflict, and none of its nodes is kept.
    let dup_nodes = vec![node(c.id, t2, NodeKind::Fe, "fe-z", 9)];
    assert!(matches!(
        store.insert_cycle(&full_snapshot(c.id, t2, 3), &dup_nodes),
        Err(Error::Conflict(_))
    ));
    assert_eq!(store.latest_nodes(c.id).unwrap().len(), 4);
    assert_eq!(db.count("SELECT COUNT(*) FROM node_cycles"), 2);

    // A cycle without nodes: the newest cycle has none.
    store
        .insert_cycle(&sparse_snapshot(c.id, t0() + secs(60)), &[])
        .unwrap();
    assert!(store.latest_nodes(c.id).unwrap().is_empty());
}

#[test]
fn summaries_of_several_clusters_in_one_query() {
    let db = TempDb::new("snap-summaries");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    let empty = store.create_cluster(&new_cluster("empty")).unwrap();
    let mut last_a = None;
    let mut last_b = None;
    for i in 0..20 {
        let sa = snapshot_with(a.id, t0() + secs(30 * i), &[("qps", json!(i as f64))]);
        let sb = full_snapshot(b.id, t0() + secs(30 * i + 7), i);
        store.insert_cycle(&sa, &[]).unwrap();
        store.insert_cycle(&sb, &[]).unwrap();
        last_a = Some(sa);
        last_b = Some(sb);
    }
    let off = ClusterUpdate {
        enabled: Some(false),
        ..ClusterUpdate::default()
    };
    let empty = store.update_cluster(empty.id, &off).unwrap();
    let rows = store.cluster_summaries().unwrap();
    // Each cluster's id, name and flag, with the summary of its newest snapshot.
    let expected = |c: &Cluster, last: &Option<MetricsSnapshot>| ClusterSummary {
        id: c.id,
        name: c.name.clone(),
        enabled: c.enabled,
        latest: last.as_ref().map(SnapshotSummary::from),
    };
    assert_eq!(
        rows,
        [
            expected(&a, &last_a),
            expected(&b, &last_b),
            expected(&empty, &None)
        ]
    );
    assert!(!rows[1].latest.as_ref().unwrap().source_errors.is_empty());
    assert!(!rows[2].enabled);
}
