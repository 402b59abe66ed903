//! Daily aggregation catches up the days missed during an outage, at start, once.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use rockscope_collector::{Collector, StatusBoard};
use rockscope_engine::rollup_day;
use rockscope_model::DailyInput;
use rockscope_sim::{SimConfig, Simulator, Version};
use rockscope_store::Store;
use time::{Date, Duration, OffsetDateTime};
use tokio::sync::watch;

use crate::common::{
    block_on, fast_config, ms, poll_until, register, register_disabled, snapshot_at,
};

fn at(day: Date, hour: u8, minute: u8) -> OffsetDateTime {
    day.with_hms(hour, minute, 0)
        .expect("valid time")
        .assume_utc()
}

#[test]
fn two_day_outage_is_caught_up_at_start() {
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 11)).expect("sim");
    block_on(async move {
        let store = Store::open_temporary().expect("temporary store");
        let live = register(&store, &sim.clusters()[0]);
        let quiet = register_disabled(&store, "quiet");
        let today = OffsetDateTime::now_utc().date();
        let day = |n: i64| today - Duration::days(n);

        // Before the outage: D-5 was aggregated (from its first two snapshots, as if the last two
        // arrived late), D-4 and D-3 were collected but the service went down early on D-2, before
        // their aggregation ran. D-1 and today until now: nothing.
        let d5: Vec<_> = [1, 7, 13, 19].iter().map(|h| at(day(5), *h, 0)).collect();
        let d4: Vec<_> = [2, 10, 22].iter().map(|h| at(day(4), *h, 0)).collect();
        let d3: Vec<_> = [0, 4, 8, 16, 23]
            .iter()
            .map(|h| at(day(3), *h, 30))
            .collect();
        let d2 = vec![at(day(2), 0, 10), at(day(2), 0, 20)];
        for t in d5.iter().chain(&d4).chain(&d3).chain(&d2) {
            store
                .insert_cycle(&snapshot_at(live.id, *t), &[])
                .expect("insert");
        }
        for t in &d3[..2] {
            store
                .insert_cycle(&snapshot_at(quiet.id, *t), &[])
                .expect("insert");
        }
        let first_two: Vec<_> = d5[..2]
            .iter()
            .map(|t| DailyInput::from(&snapshot_at(live.id, *t)))
            .collect();
        store
            .upsert_daily(&rollup_day(live.id, day(5), &first_two, &[]).expect("rollup"))
            .expect("upsert");
        assert!(!store.daily_done(live.id, day(4)).unwrap());

        // The service comes back: the catch-up runs at start, before the first tick's snapshot.
        let status = StatusBoard::default();
        let collector = Collector::new(
            fast_config(StdDuration::from_secs(1)),
            store.clone(),
            status.clone(),
        );
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(Arc::clone(&collector).run(stopped, StdDuration::from_secs(5)));
        poll_until(
            StdDuration::from_secs(15),
            "the catch-up and a live snapshot",
            || {
                let done = [2, 3, 4]
                    .iter()
                    .all(|n| store.daily_done(live.id, day(*n)).unwrap());
                let live_snapshot = store
                    .latest_snapshot(live.id)
                    .unwrap()
                    .is_some_and(|s| s.collected_at.date() == today);
                (done && live_snapshot).then_some(())
            },
        )
        .await;
        stop.send(true).expect("stop");
        tokio::time::timeout(StdDuration::from_secs(10), running)
            .await
            .expect("the collector stops within its grace")
            .expect("the collector task ends cleanly");

        let dailies = store
            .daily_range(live.id, day(10), today)
            .expect("daily_range");
        let summary: Vec<(Date, i64)> =
            dailies.iter().map(|d| (d.date, d.snapshot_count)).collect();
        assert_eq!(
            summary,
            vec![(day(5), 2), (day(4), 3), (day(3), 5), (day(2), 2)],
            "every missed past day with snapshots is built (D-1 had none, today is not finished); \
             the day already done is left alone"
        );
        for (row, snaps) in dailies[1..].iter().zip([&d4, &d3, &d2]) {
            assert_eq!(row.first_at, ms(snaps[0]));
            assert_eq!(row.last_at, ms(*snaps.last().unwrap()));
        }
        let quiet_rows: Vec<(Date, i64)> = store
            .daily_range(quiet.id, day(10), today)
            .unwrap()
            .iter()
            .map(|d| (d.date, d.snapshot_count))
            .collect();
        assert_eq!(
            quiet_rows,
            vec![(day(3), 2)],
            "per cluster, disabled ones too"
        );

        // A second pass (another start of the service) builds nothing new: even a late snapshot
        // on a day already done does not rebuild it.
        store
            .insert_cycle(&snapshot_at(live.id, at(day(3), 23, 45)), &[])
            .expect("insert late snapshot");
        let again = Collector::new(
            fast_config(StdDuration::from_secs(1)),
            store.clone(),
            StatusBoard::default(),
        );
        again.collect_once().await;
        assert_eq!(store.daily_range(live.id, day(10), today).unwrap(), dailies);
        assert!(!store.daily_done(live.id, today).unwrap());
        assert!(!store.daily_done(live.id, day(1)).unwrap());
    });
}
