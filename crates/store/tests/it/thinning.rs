use rockscope_model::{CycleOutcome, NodeKind, Reachability};

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
fn past_the_window_node_rows_keep_one_cycle_per_half_hour_and_snapshots_follow_once_rolled_up() {
    let db = TempDb::new("thinning");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    // 90 minutes of cycles every 30 s (the first at t0, on a half-hour boundary), each with an
    // FE, a BE and a custom value.
    for c in [&a, &b] {
        for i in 0..180 {
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
    // An outage observed between two cycles: never thinned.
    let down = CycleOutcome {
        cluster_id: a.id,
        at: t0() + secs(45),
        reachability: Reachability::Unreachable,
    };
    store.record_outcome(&down).unwrap();
    let outcomes = |id: i64| -> Vec<(i64, bool)> {
        store
            .cycle_outcomes(id, t0(), t0() + secs(86_400))
            .unwrap()
            .iter()
            .map(|o| {
                let up = o.reachability == Reachability::Reachable;
                ((o.at - t0()).whole_seconds(), up)
            })
            .collect()
    };
    let all: Vec<i64> = (0..180).map(|i| 30 * i).collect();
    let doubled = |times: &[i64]| -> Vec<i64> { times.iter().flat_map(|&t| [t, t]).collect() };
    let cutoff = t0() + secs(60 * 60);
    // 120 cycles before the cutoff, in 2 steps of 60: 118 lose their nodes, per cluster; the
    // day is not rolled up, so every snapshot stays (the roll-up reads them all).
    let generation = store.write_generation(a.id);
    assert_eq!(store.thin_before(cutoff, cutoff, 7).unwrap(), 2 * 118);
    assert!(store.write_generation(a.id) > generation);
    let steps: Vec<i64> = [0, 1800].into();
    let recent: Vec<i64> = (120..180).map(|i| 30 * i).collect();
    let expected: Vec<i64> = steps.iter().chain(&recent).copied().collect();
    for c in [&a, &b] {
        let (snapshots, nodes, custom) = kept(&store, c.id);
        assert_eq!(snapshots, all);
        assert_eq!(nodes, doubled(&expected), "both nodes of each kept cycle");
        assert_eq!(custom, all);
    }
    assert_eq!(store.thin_before(cutoff, cutoff, 7).unwrap(), 0);

    // Once the day is rolled up, its snapshots and custom values follow up to their own
    // cut-off, keeping the same cycles as the nodes.
    for c in [&a, &b] {
        store.upsert_daily(&daily(c.id, t0().date(), 1)).unwrap();
    }
    let half = t0() + secs(30 * 60);
    assert_eq!(store.thin_before(cutoff, half, 7).unwrap(), 2 * 59);
    assert_eq!(kept(&store, a.id).0.len(), 1 + 120);
    assert_eq!(store.thin_before(cutoff, cutoff, 7).unwrap(), 2 * 59);
    for c in [&a, &b] {
        let (snapshots, nodes, custom) = kept(&store, c.id);
        assert_eq!(snapshots, expected);
        assert_eq!(nodes, doubled(&expected));
        assert_eq!(custom, expected);
    }
    // The kept cycles' outcomes stay, with every unreachable one.
    let mut want: Vec<(i64, bool)> = expected.iter().map(|&t| (t, true)).collect();
    assert_eq!(outcomes(b.id), want);
    want.insert(1, (45, false));
    assert_eq!(outcomes(a.id), want);
    // The kept cycles are the ones collected, unchanged.
    let kept_cycle = store
        .snapshots_range(a.id, t0() + secs(1800), t0() + secs(1800), 1)
        .unwrap();
    assert_eq!(kept_cycle[0].custom["x"], Some(60.0));

    // A later pass thins only what was added since, up to its own cutoff.
    assert_eq!(
        store
            .thin_before(t0() + secs(90 * 60), t0() + secs(90 * 60), 1000)
            .unwrap(),
        2 * 2 * 59
    );
    assert_eq!(outcomes(b.id), [(0, true), (1800, true), (3600, true)]);
    let (snapshots, nodes, _) = kept(&store, a.id);
    assert_eq!(snapshots, [0, 1800, 3600]);
    assert_eq!(nodes, doubled(&[0, 1800, 3600]));
    assert_eq!(
        store
            .thin_before(t0() + secs(90 * 60), t0() + secs(90 * 60), 1000)
            .unwrap(),
        0
    );
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
}
