use rockscope_model::NodeKind;

use crate::support::*;

/// Cluster `id`'s snapshots, node snapshots and custom values, as offsets from [`t0`] in
/// seconds.
fn kept(store: &rockscope_store::Store, id: i64) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let (from, to) = (t0() - secs(3600), t0() + secs(86_400));
    let offset = |t: time::OffsetDateTime| (t - t0()).whole_seconds();
    let snapshots = store.snapshots_range(id, from, to, 10_000).unwrap();
    let custom = snapshots
        .iter()
        .filter(|s| s.custom.get("x").copied().flatten().is_some())
        .map(|s| offset(s.collected_at))
        .collect();
    let nodes = store.nodes_range(id, from, to, 10_000).unwrap();
    (
        snapshots.iter().map(|s| offset(s.collected_at)).collect(),
        nodes.iter().map(|n| offset(n.collected_at)).collect(),
        custom,
    )
}

#[test]
fn cycles_past_the_window_keep_the_first_of_each_five_minutes_once_their_day_is_rolled_up() {
    let db = TempDb::new("thinning");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    // 30 minutes of cycles every 30 s (the first at t0, on a 5-minute boundary), each with an
    // FE, a BE and a custom value.
    for c in [&a, &b] {
        for i in 0..60 {
            let at = t0() + secs(30 * i);
            let mut snapshot = sparse_snapshot(c.id, at);
            snapshot.custom.insert("x".into(), Some(i as f64));
            let nodes = [
                node(c.id, at, NodeKind::Fe, "fe", i),
                node(c.id, at, NodeKind::Be, "1", i),
            ];
            store.insert_cycle(&snapshot, &nodes).unwrap();
        }
    }
    let before = kept(&store, a.id);
    let cutoff = t0() + secs(20 * 60);
    // The day is not rolled up: nothing goes.
    assert_eq!(store.thin_before(cutoff, 7).unwrap(), 0);
    assert_eq!(kept(&store, a.id), before);

    for c in [&a, &b] {
        store.upsert_daily(&daily(c.id, t0().date(), 1)).unwrap();
    }
    let generation = store.write_generation(a.id);
    // 40 cycles before the cutoff, in 4 steps of 10: 36 go, per cluster.
    assert_eq!(store.thin_before(cutoff, 7).unwrap(), 72);
    assert!(store.write_generation(a.id) > generation);
    let steps: Vec<i64> = [0, 300, 600, 900].into();
    let recent: Vec<i64> = (40..60).map(|i| 30 * i).collect();
    let expected: Vec<i64> = steps.iter().chain(&recent).copied().collect();
    for c in [&a, &b] {
        let (snapshots, nodes, custom) = kept(&store, c.id);
        assert_eq!(snapshots, expected);
        let doubled: Vec<i64> = expected.iter().flat_map(|&t| [t, t]).collect();
        assert_eq!(nodes, doubled, "both nodes of each kept cycle");
        assert_eq!(custom, expected);
    }
    // The kept cycles are the ones collected, unchanged.
    let kept_cycle = store
        .snapshots_range(a.id, t0() + secs(300), t0() + secs(300), 1)
        .unwrap();
    assert_eq!(kept_cycle[0].custom["x"], Some(10.0));

    // A later pass thins only what was added since, up to its own cutoff.
    assert_eq!(
        store.thin_before(t0() + secs(30 * 60), 1000).unwrap(),
        2 * 18
    );
    let (snapshots, _, _) = kept(&store, a.id);
    assert_eq!(snapshots, [0, 300, 600, 900, 1200, 1500]);
    assert_eq!(store.thin_before(t0() + secs(30 * 60), 1000).unwrap(), 0);
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
}
