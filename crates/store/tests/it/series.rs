use rockscope_store::{BucketValue, Error};
use serde_json::{Value, json};

use crate::support::*;

#[test]
fn buckets_are_averaged_and_maxed_in_sql() {
    let db = TempDb::new("series-small");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    // from = t0, to = t0 + 100 s, 4 points: buckets of 25 s; `to` itself goes to the last one.
    let rows: &[(i64, Value, i64)] = &[
        (-1, json!(1000.0), 1000), // before the range
        (0, json!(1.0), 1),
        (10, json!(3.0), 2),
        (30, json!(10.0), 4),
        (60, Value::Null, 8),
        (99, json!(7.0), 3),
        (100, json!(5.0), 3),
        (101, json!(1000.0), 1000), // after the range
    ];
    for (s, qps, alive) in rows {
        store
            .insert_cycle(
                &snapshot_with(
                    c.id,
                    t0() + secs(*s),
                    &[("qps", qps.clone()), ("backend_alive", json!(alive))],
                ),
                &[],
            )
            .unwrap();
    }
    let points = store
        .series(c.id, t0(), t0() + secs(100), &["qps", "backend_alive"], 4)
        .unwrap();
    let got: Vec<_> = points
        .iter()
        .map(|p| {
            (
                (p.timestamp - t0()).whole_milliseconds(),
                p.count,
                p.values.clone(),
            )
        })
        .collect();
    let v = |avg: Option<f64>, max: Option<f64>| BucketValue { avg, max };
    assert_eq!(
        got,
        vec![
            (
                5_000,
                2,
                vec![v(Some(2.0), Some(3.0)), v(Some(1.5), Some(2.0))]
            ),
            (
                30_000,
                1,
                vec![v(Some(10.0), Some(10.0)), v(Some(4.0), Some(4.0))]
            ),
            (60_000, 1, vec![v(None, None), v(Some(8.0), Some(8.0))]),
            (
                99_500,
                2,
                vec![v(Some(6.0), Some(7.0)), v(Some(3.0), Some(3.0))]
            ),
        ]
    );
    // Fewer snapshots than points: one point per snapshot, at its own time.
    let raw = store
        .series(c.id, t0(), t0() + secs(100), &["qps"], 1000)
        .unwrap();
    assert_eq!(raw.len(), 6);
    assert!(raw.iter().all(|p| p.count == 1));
    assert_eq!(raw[3].timestamp, t0() + secs(60));
    // An empty or inverted range gives nothing.
    assert!(
        store
            .series(c.id, t0() + secs(200), t0() + secs(300), &["qps"], 10)
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .series(c.id, t0() + secs(100), t0(), &["qps"], 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_thousand_snapshots_become_at_most_240_points() {
    let db = TempDb::new("series-1000");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let mut sum = 0.0;
    for i in 0..1000i64 {
        let cpu = ((i * 37) % 100) as f64;
        sum += cpu;
        store
            .insert_cycle(
                &snapshot_with(
                    c.id,
                    t0() + secs(30 * i),
                    &[("avg_cpu_usage", json!(cpu)), ("qps", json!(i))],
                ),
                &[],
            )
            .unwrap();
    }
    let to = t0() + secs(30 * 999);
    let points = store
        .series(c.id, t0(), to, &["avg_cpu_usage", "qps"], 240)
        .unwrap();
    assert!(
        points.len() <= 240 && points.len() >= 200,
        "{}",
        points.len()
    );
    assert_eq!(points.iter().map(|p| p.count).sum::<u64>(), 1000);
    assert!(points.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    let weighted: f64 = points
        .iter()
        .map(|p| p.values[0].avg.unwrap() * p.count as f64)
        .sum();
    assert!((weighted / 1000.0 - sum / 1000.0).abs() < 1e-9);
    assert_eq!(
        points
            .iter()
            .map(|p| p.values[0].max.unwrap())
            .fold(0.0, f64::max),
        99.0
    );
    assert_eq!(points.last().unwrap().values[1].max, Some(999.0));
    // Statistics over the same range.
    let stats = store
        .range_stats(c.id, t0(), to, &["avg_cpu_usage", "qps", "io_read_rate"])
        .unwrap();
    assert_eq!(stats.len(), 3);
    assert_eq!(
        (
            stats[0].field.as_str(),
            stats[0].count,
            stats[0].max,
            stats[0].min
        ),
        ("avg_cpu_usage", 1000, Some(99.0), Some(0.0))
    );
    assert!((stats[0].avg.unwrap() - sum / 1000.0).abs() < 1e-9);
    assert_eq!(
        (stats[1].count, stats[1].avg, stats[1].max, stats[1].min),
        (1000, Some(499.5), Some(999.0), Some(0.0))
    );
    assert_eq!(
        (stats[2].count, stats[2].avg, stats[2].max, stats[2].min),
        (0, None, None, None)
    );
}

#[test]
fn stats_skip_nulls_and_respect_the_range() {
    let db = TempDb::new("series-stats");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    for (s, p99) in [
        (0, json!(10.0)),
        (30, Value::Null),
        (60, json!(30.0)),
        (90, json!(500.0)),
    ] {
        store
            .insert_cycle(
                &snapshot_with(c.id, t0() + secs(s), &[("query_latency_p99", p99)]),
                &[],
            )
            .unwrap();
    }
    let stats = store
        .range_stats(c.id, t0(), t0() + secs(60), &["query_latency_p99"])
        .unwrap();
    assert_eq!(
        (stats[0].count, stats[0].avg, stats[0].max, stats[0].min),
        (2, Some(20.0), Some(30.0), Some(10.0))
    );
    assert!(
        matches!(store.range_stats(c.id, t0(), t0(), &["version"]), Err(Error::InvalidField(f)) if f == "version")
    );
    assert!(store.range_stats(c.id, t0(), t0(), &[]).unwrap().is_empty());
}
