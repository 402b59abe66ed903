use rockscope_model::DailyInput;
use time::macros::date;

use crate::support::*;

#[test]
fn upsert_is_idempotent_and_replaces_the_figures() {
    let db = TempDb::new("daily-upsert");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let day = date!(2025 - 03 - 01);
    assert!(!store.daily_done(c.id, day).unwrap());
    let row = daily(c.id, day, 1);
    store.upsert_daily(&row).unwrap();
    store.upsert_daily(&row).unwrap();
    assert!(store.daily_done(c.id, day).unwrap());
    assert!(!store.daily_done(c.id, date!(2025 - 03 - 02)).unwrap());
    assert_eq!(store.daily_range(c.id, day, day).unwrap(), vec![row]);
    let mut changed = daily(c.id, day, 2);
    changed.qps_avg = None;
    store.upsert_daily(&changed).unwrap();
    assert_eq!(store.daily_range(c.id, day, day).unwrap(), vec![changed]);
    assert_eq!(db.count("SELECT COUNT(*) FROM daily_snapshots"), 1);
}

#[test]
fn daily_range_is_inclusive_and_ordered() {
    let db = TempDb::new("daily-range");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let other = store.create_cluster(&new_cluster("b")).unwrap();
    let days: Vec<_> = (0..5)
        .map(|d| date!(2025 - 02 - 27) + time::Duration::days(d))
        .collect();
    for (i, d) in days.iter().enumerate().rev() {
        store.upsert_daily(&daily(c.id, *d, i as i64)).unwrap();
        store.upsert_daily(&daily(other.id, *d, 9)).unwrap();
    }
    let got: Vec<_> = store
        .daily_range(c.id, days[1], days[3])
        .unwrap()
        .into_iter()
        .map(|r| (r.cluster_id, r.date))
        .collect();
    assert_eq!(got, vec![(c.id, days[1]), (c.id, days[2]), (c.id, days[3])]);
}

#[test]
fn snapshots_of_a_day_and_days_with_snapshots() {
    let db = TempDb::new("daily-days");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let ms = time::Duration::milliseconds;
    let d1 = date!(2025 - 03 - 01).midnight().assume_utc();
    let times = [
        d1 - ms(1),                // Feb 28
        d1,                        // Mar 1
        d1 + secs(3600),           // Mar 1
        d1 + secs(86_400) - ms(1), // Mar 1, last ms
        d1 + secs(86_400),         // Mar 2
        d1 + secs(3 * 86_400 + 5), // Mar 4
    ];
    for t in times {
        store.insert_cycle(&sparse_snapshot(c.id, t), &[]).unwrap();
    }
    let day: Vec<_> = store
        .snapshots_of_day(c.id, date!(2025 - 03 - 01))
        .unwrap()
        .into_iter()
        .map(|s| s.collected_at)
        .collect();
    assert_eq!(day, times[1..4].to_vec());
    assert!(
        store
            .snapshots_of_day(c.id, date!(2025 - 03 - 03))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .days_with_snapshots(c.id, date!(2025 - 01 - 01))
            .unwrap(),
        vec![
            date!(2025 - 02 - 28),
            date!(2025 - 03 - 01),
            date!(2025 - 03 - 02),
            date!(2025 - 03 - 04)
        ]
    );
    assert_eq!(
        store
            .days_with_snapshots(c.id, date!(2025 - 03 - 02))
            .unwrap(),
        vec![date!(2025 - 03 - 02), date!(2025 - 03 - 04)]
    );
    assert!(
        store
            .days_with_snapshots(c.id, date!(2025 - 03 - 05))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn daily_inputs_are_the_days_snapshots_narrowed() {
    let db = TempDb::new("daily-inputs");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let other = store.create_cluster(&new_cluster("b")).unwrap();
    let d1 = date!(2025 - 03 - 01).midnight().assume_utc();
    // Every field of each snapshot a different value (seeded), so a column read into the wrong
    // field shows; one sparse snapshot, so nulls stay nulls.
    for (seed, t) in [
        d1 - secs(30),
        d1,
        d1 + secs(30),
        d1 + secs(86_400 - 30),
        d1 + secs(86_400),
    ]
    .into_iter()
    .enumerate()
    {
        let seed = seed as i64 + 1;
        store
            .insert_cycle(&full_snapshot(c.id, t, seed), &[])
            .unwrap();
        store
            .insert_cycle(&full_snapshot(other.id, t, seed + 10), &[])
            .unwrap();
    }
    store
        .insert_cycle(&sparse_snapshot(c.id, d1 + secs(60)), &[])
        .unwrap();
    let day = date!(2025 - 03 - 01);
    let narrowed: Vec<DailyInput> = store
        .snapshots_of_day(c.id, day)
        .unwrap()
        .iter()
        .map(DailyInput::from)
        .collect();
    assert_eq!(narrowed.len(), 4);
    assert_eq!(narrowed[2].qps, None, "the sparse one, in time order");
    assert_eq!(
        store.daily_inputs(c.id, d1, d1 + secs(86_400)).unwrap(),
        narrowed
    );
    let d3 = date!(2025 - 03 - 03).midnight().assume_utc();
    assert!(
        store
            .daily_inputs(c.id, d3, d3 + secs(86_400))
            .unwrap()
            .is_empty()
    );
}
