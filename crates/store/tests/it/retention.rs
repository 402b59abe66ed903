use rockscope_model::NodeKind;
use rockscope_store::NewRun;
use time::macros::date;

use crate::support::*;

#[test]
fn snapshots_strictly_older_than_the_cutoff_are_deleted_in_batches() {
    let db = TempDb::new("retention-snapshots");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    for c in [&a, &b] {
        for i in 0..50 {
            let at = t0() + secs(60 * i);
            store
                .insert_cycle(
                    &sparse_snapshot(c.id, at),
                    &[
                        node(c.id, at, NodeKind::Fe, "fe", i),
                        node(c.id, at, NodeKind::Be, "1", i),
                    ],
                )
                .unwrap();
        }
    }
    // Exactly at the boundary: minute 30 is kept, minutes 0..30 go (30 per cluster), 7 per batch.
    let cutoff = t0() + secs(60 * 30);
    let deleted = store.delete_snapshots_before(cutoff, 7).unwrap();
    assert_eq!(deleted, 60);
    for c in [&a, &b] {
        let left = store
            .snapshots_range(c.id, t0() - secs(3600), t0() + secs(86_400), 1000)
            .unwrap();
        assert_eq!(left.len(), 20);
        assert_eq!(left[0].collected_at, cutoff);
        let nodes = store
            .nodes_range(c.id, t0() - secs(3600), t0() + secs(86_400), 1000)
            .unwrap();
        assert_eq!(nodes.len(), 40);
        assert_eq!(nodes[0].collected_at, cutoff);
        assert_eq!(store.latest_nodes(c.id).unwrap().len(), 2);
    }
    // Nothing more to delete.
    assert_eq!(store.delete_snapshots_before(cutoff, 7).unwrap(), 0);
    // One millisecond later takes the boundary row.
    assert_eq!(
        store
            .delete_snapshots_before(cutoff + time::Duration::milliseconds(1), 1000)
            .unwrap(),
        2
    );
}

#[test]
fn daily_rows_and_runs_are_deleted_before_their_cutoffs() {
    let db = TempDb::new("retention-daily");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let first = date!(2025 - 01 - 01);
    for d in 0..10 {
        store
            .upsert_daily(&daily(c.id, first + time::Duration::days(d), d))
            .unwrap();
    }
    assert_eq!(store.delete_daily_before(date!(2025 - 01 - 06)).unwrap(), 5);
    let left = store
        .daily_range(c.id, first, date!(2025 - 12 - 31))
        .unwrap();
    assert_eq!(left.len(), 5);
    assert_eq!(left[0].date, date!(2025 - 01 - 06));

    for i in 0..10 {
        store
            .record_run(&NewRun {
                started_at: t0() + secs(30 * i),
                duration_ms: 100,
                clusters_total: 1,
                clusters_ok: 1,
                clusters_failed: 0,
            })
            .unwrap();
        store
            .record_error(&rockscope_store::NewCollectionError {
                cluster_id: c.id,
                at: t0() + secs(30 * i),
                stage: "scrape".into(),
                // Distinct codes: distinct errors, not one repeating.
                code: format!("timeout_{i}"),
                message: "x".into(),
            })
            .unwrap();
    }
    assert_eq!(store.delete_runs_before(t0() + secs(90)).unwrap(), 6);
    assert_eq!(store.recent_runs(100).unwrap().len(), 7);
    assert_eq!(store.recent_errors(Some(c.id), 100).unwrap().len(), 7);
}

#[test]
fn expired_snapshots_of_a_day_not_rolled_up_are_kept() {
    let db = TempDb::new("retention-unrolled");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let day = |d: i64| t0() + time::Duration::days(d) + time::Duration::hours(12);
    for d in 0..4 {
        store
            .insert_cycle(&sparse_snapshot(c.id, day(d)), &[])
            .unwrap();
    }
    // Days 0 and 1 are rolled up, day 2 is not: day 2 and everything after it stay.
    for d in 0..2 {
        store.upsert_daily(&daily(c.id, day(d).date(), d)).unwrap();
    }
    let far_future = t0() + time::Duration::days(1000);
    assert_eq!(store.delete_expired_snapshots(far_future, 7).unwrap(), 2);
    let left = store
        .snapshots_range(c.id, t0(), far_future, usize::MAX)
        .unwrap();
    assert_eq!(
        left.iter().map(|s| s.collected_at).collect::<Vec<_>>(),
        [day(2), day(3)]
    );
}
