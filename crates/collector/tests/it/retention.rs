//! Retention deletes exactly what is expired, through the collector's own housekeeping.

use rockscope_collector::{Collector, CollectorConfig, StatusBoard};
use rockscope_engine::rollup_day;
use rockscope_model::DailyInput;
use rockscope_store::{NewCollectionError, Store};
use time::{Duration, OffsetDateTime};

use crate::common::{ms, register_disabled, snapshot_at, snapshot_times};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_exactly_the_expired_rows() {
    let store = Store::open_temporary().expect("temporary store");
    let cluster = register_disabled(&store, "old-data");
    let other = register_disabled(&store, "other-data");
    let now = OffsetDateTime::now_utc();
    let cutoff = now - Duration::days(7);

    // Snapshots spread over ten days, with two just either side of the cut-off. The pass below
    // runs seconds after `now`, far less than the minute of margin.
    let expired = [
        now - Duration::days(10),
        now - Duration::days(9),
        now - Duration::days(8) - Duration::hours(5),
        now - Duration::days(8),
        cutoff - Duration::minutes(1),
    ];
    let mut kept = vec![
        cutoff + Duration::minutes(1),
        now - Duration::days(6),
        now - Duration::days(5),
        now - Duration::days(4),
        now - Duration::days(3),
        now - Duration::days(2),
        now - Duration::days(1),
        now - Duration::hours(1),
    ];
    for at in expired.iter().chain(&kept) {
        store
            .insert_cycle(&snapshot_at(cluster.id, *at), &[])
            .expect("insert");
        // The same layout in a second cluster: retention works across clusters.
        store
            .insert_cycle(&snapshot_at(other.id, *at), &[])
            .expect("insert");
    }
    assert_eq!(snapshot_times(&store, cluster.id).len(), 13);

    // Daily rows either side of their own cut-off (30 days by default).
    let today = now.date();
    for days_ago in [31, 30, 29] {
        let date = today - Duration::days(days_ago);
        let snapshot = snapshot_at(
            cluster.id,
            date.midnight().assume_utc() + Duration::hours(12),
        );
        let row = rollup_day(cluster.id, date, &[DailyInput::from(&snapshot)], &[])
            .expect("a day with one snapshot");
        store.upsert_daily(&row).expect("upsert daily");
    }
    // Collection errors follow the snapshots' retention.
    for at in [cutoff - Duration::minutes(1), cutoff + Duration::minutes(1)] {
        store
            .record_error(&NewCollectionError {
                cluster_id: cluster.id,
                at,
                stage: "scrape".to_owned(),
                code: "timeout".to_owned(),
                message: format!("at {at}"),
            })
            .expect("record error");
    }

    let config = CollectorConfig {
        retention_days: 7,
        daily_retention_days: 30,
        ..CollectorConfig::default()
    };
    let collector = Collector::new(config, store.clone(), StatusBoard::default());
    let outcomes = collector.collect_once().await;
    assert!(outcomes.is_empty(), "disabled clusters are not collected");

    kept.sort();
    let expected: Vec<OffsetDateTime> = kept.iter().map(|t| ms(*t)).collect();
    for id in [cluster.id, other.id] {
        assert_eq!(
            snapshot_times(&store, id),
            expected,
            "cluster {id}: exactly the snapshots newer than now - 7 days remain"
        );
    }

    let dailies = store
        .daily_range(
            cluster.id,
            today - Duration::days(40),
            today - Duration::days(28),
        )
        .expect("daily_range");
    let dates: Vec<_> = dailies.iter().map(|d| d.date).collect();
    assert_eq!(
        dates,
        vec![today - Duration::days(30), today - Duration::days(29)],
        "daily rows before today - 30 days are deleted, the boundary day is kept"
    );

    let errors = store.recent_errors(Some(cluster.id), 10).expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].at, ms(cutoff + Duration::minutes(1)));

    // A second pass deletes nothing more.
    collector.collect_once().await;
    assert_eq!(snapshot_times(&store, cluster.id), expected);
}
