//! The `cycle_outcomes` table: recorded by `insert_cycle` (reachable) and `record_outcome`
//! (unreachable), read back by time range and by day, deleted by retention and with the cluster.

use rockscope_model::{CycleOutcome, Reachability};
use rockscope_store::Error;
use time::macros::date;

use crate::support::*;

fn unreachable(cluster_id: i64, at: time::OffsetDateTime) -> CycleOutcome {
    CycleOutcome {
        cluster_id,
        at,
        reachability: Reachability::Unreachable,
    }
}

#[test]
fn a_stored_cycle_is_reachable_and_a_recorded_outage_unreachable() {
    let db = TempDb::new("outcomes-record");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    store
        .insert_cycle(&sparse_snapshot(a.id, t0()), &[])
        .unwrap();
    store
        .record_outcome(&unreachable(a.id, t0() + secs(30)))
        .unwrap();
    // Idempotent per cluster and millisecond.
    store
        .record_outcome(&unreachable(a.id, t0() + secs(30)))
        .unwrap();
    store
        .record_outcome(&unreachable(b.id, t0() + secs(30)))
        .unwrap();
    store
        .insert_cycle(&sparse_snapshot(a.id, t0() + secs(60)), &[])
        .unwrap();

    let got = store.cycle_outcomes(a.id, t0(), t0() + secs(60)).unwrap();
    assert_eq!(
        got,
        vec![
            CycleOutcome {
                cluster_id: a.id,
                at: t0(),
                reachability: Reachability::Reachable,
            },
            unreachable(a.id, t0() + secs(30)),
        ],
        "[from, to): the cycle at `to` is left out; the other cluster's too"
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM cycle_outcomes"), 4);
    assert!(matches!(
        store.record_outcome(&unreachable(a.id + b.id + 1, t0())),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn the_reachable_outcome_is_part_of_the_snapshots_transaction() {
    let db = TempDb::new("outcomes-atomic");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    store
        .insert_cycle(&sparse_snapshot(a.id, t0()), &[])
        .unwrap();
    store.record_outcome(&unreachable(a.id, t0())).unwrap();
    // A second snapshot at the same millisecond conflicts: its outcome is rolled back with it.
    assert!(matches!(
        store.insert_cycle(&sparse_snapshot(a.id, t0()), &[]),
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        store.cycle_outcomes(a.id, t0(), t0() + secs(1)).unwrap(),
        vec![unreachable(a.id, t0())]
    );
    // A cluster deleted during the cycle: neither the snapshot nor its outcome.
    let gone = a.id + 1;
    assert!(matches!(
        store.insert_cycle(&sparse_snapshot(gone, t0()), &[]),
        Err(Error::NotFound(_))
    ));
    assert_eq!(db.count("SELECT COUNT(*) FROM cycle_outcomes"), 1);
}

#[test]
fn days_with_outcomes_cover_days_without_snapshots() {
    let db = TempDb::new("outcomes-days");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    // 2025-03-01 and 03-03: outcomes only (a full outage), 03-02: a snapshot.
    for at in [t0(), t0() + secs(86_399), t0() + secs(2 * 86_400 + 5)] {
        store.record_outcome(&unreachable(a.id, at)).unwrap();
    }
    store
        .insert_cycle(&sparse_snapshot(a.id, t0() + secs(86_400 + 60)), &[])
        .unwrap();
    assert_eq!(
        store
            .days_with_outcomes(a.id, date!(2025 - 01 - 01))
            .unwrap(),
        vec![
            date!(2025 - 03 - 01),
            date!(2025 - 03 - 02),
            date!(2025 - 03 - 03)
        ]
    );
    assert_eq!(
        store
            .days_with_outcomes(a.id, date!(2025 - 03 - 02))
            .unwrap(),
        vec![date!(2025 - 03 - 02), date!(2025 - 03 - 03)]
    );
    assert_eq!(
        store
            .days_with_snapshots(a.id, date!(2025 - 01 - 01))
            .unwrap(),
        vec![date!(2025 - 03 - 02)]
    );
}

#[test]
fn retention_deletes_old_outcomes_in_batches_and_a_deleted_cluster_takes_its_own() {
    let db = TempDb::new("outcomes-retention");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    for c in [&a, &b] {
        for i in 0..40 {
            store
                .record_outcome(&unreachable(c.id, t0() + secs(60 * i)))
                .unwrap();
        }
    }
    // Minutes 0..25 go (25 per cluster), minute 25 stays, 3 rows per batch at most.
    let cutoff = t0() + secs(60 * 25);
    assert_eq!(store.delete_outcomes_before(cutoff, 3).unwrap(), 50);
    assert_eq!(store.delete_outcomes_before(cutoff, 3).unwrap(), 0);
    for c in [&a, &b] {
        let left = store
            .cycle_outcomes(c.id, t0(), t0() + secs(86_400))
            .unwrap();
        assert_eq!(left.len(), 15);
        assert_eq!(left[0].at, cutoff);
    }
    store.delete_cluster(a.id).unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM cycle_outcomes"), 15);
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM cycle_outcomes WHERE cluster_id = {}",
            b.id
        )),
        15
    );
}
