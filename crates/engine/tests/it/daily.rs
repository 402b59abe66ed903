//! The daily rollup against hand-computed day figures.

use rockscope_engine::{EngineState, aggregate, expired_before, rollup_day};
use rockscope_model::{CycleInput, DailyInput, MetricsSnapshot};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use crate::fixtures::close;

/// A snapshot with nothing known but node counts of an empty cluster.
fn blank(cluster_id: i64, at: OffsetDateTime) -> MetricsSnapshot {
    let input = CycleInput {
        cluster_id,
        collected_at: at,
        frontends: Ok(Vec::new()),
        backends: Ok(Vec::new()),
        compute_nodes: Ok(Vec::new()),
        runtime_info: None,
        scrapes: Vec::new(),
        other_errors: Vec::new(),
    };
    aggregate(&EngineState::default(), &input).snapshot
}

struct Row {
    at: OffsetDateTime,
    qps: Option<f64>,
    p99: Option<f64>,
    cpu: f64,
    mem: f64,
    disk: f64,
    /// cumulative query_total, as the FEs report it (resets at 00:10)
    total: i64,
    interval: Option<i64>,
    errors: Option<i64>,
    alive: i64,
    data: Option<i64>,
}

fn snapshot(r: &Row) -> MetricsSnapshot {
    let mut s = blank(7, r.at);
    s.qps = r.qps;
    s.query_latency_p99 = r.p99;
    s.avg_cpu_usage = Some(r.cpu);
    s.max_cpu_usage = Some(r.cpu + 10.0);
    s.avg_memory_usage = Some(r.mem);
    s.disk_usage_pct = Some(r.disk);
    s.query_total = Some(r.total);
    s.query_interval_total = r.interval;
    s.query_interval_error = r.errors;
    s.query_interval_timeout = r.errors.map(|e| e / 2);
    s.backend_total = Some(3);
    s.backend_alive = Some(r.alive);
    s.data_used_bytes = r.data;
    s
}

fn day() -> Vec<DailyInput> {
    let t = |m: i64| datetime!(2025-03-01 00:00:00 UTC) + Duration::minutes(m);
    let rows = [
        // given out of order on purpose
        Row {
            at: t(5),
            qps: Some(20.0),
            p99: Some(40.0),
            cpu: 50.0,
            mem: 60.0,
            disk: 51.0,
            total: 13_000,
            interval: Some(3000),
            errors: Some(30),
            alive: 3,
            data: Some(1100),
        },
        Row {
            at: t(0),
            qps: Some(10.0),
            p99: Some(20.0),
            cpu: 30.0,
            mem: 40.0,
            disk: 50.0,
            total: 10_000,
            interval: None,
            errors: None,
            alive: 3,
            data: Some(1000),
        },
        // an FE restarted: the cumulative sum dropped, the interval delta did not
        Row {
            at: t(10),
            qps: Some(15.0),
            p99: None,
            cpu: 40.0,
            mem: 50.0,
            disk: 52.0,
            total: 150,
            interval: Some(150),
            errors: Some(0),
            alive: 2,
            data: None,
        },
        Row {
            at: t(12),
            qps: Some(5.0),
            p99: Some(30.0),
            cpu: 20.0,
            mem: 30.0,
            disk: 53.0,
            total: 750,
            interval: Some(600),
            errors: Some(6),
            alive: 3,
            data: Some(1300),
        },
        // after a 28-minute collector outage
        Row {
            at: t(40),
            qps: None,
            p99: Some(10.0),
            cpu: 60.0,
            mem: 70.0,
            disk: 54.0,
            total: 850,
            interval: Some(100),
            errors: Some(1),
            alive: 3,
            data: Some(1250),
        },
    ];
    let mut v: Vec<MetricsSnapshot> = rows.iter().map(snapshot).collect();
    // another day and another cluster: ignored
    let mut other_day = snapshot(&rows[0]);
    other_day.collected_at = datetime!(2025-02-28 23:59:30 UTC);
    v.push(other_day);
    let mut other_cluster = snapshot(&rows[0]);
    other_cluster.cluster_id = 8;
    v.push(other_cluster);
    v.iter().map(DailyInput::from).collect()
}

#[test]
fn rollup_of_a_day() {
    let d = rollup_day(7, date!(2025 - 03 - 01), &day(), &[]).expect("snapshots");
    assert_eq!(d.cluster_id, 7);
    assert_eq!(d.date, date!(2025 - 03 - 01));
    assert_eq!(d.snapshot_count, 5);
    assert_eq!(d.first_at, datetime!(2025-03-01 00:00:00 UTC));
    assert_eq!(d.last_at, datetime!(2025-03-01 00:40:00 UTC));
    close(d.qps_avg, 12.5);
    close(d.qps_max, 20.0);
    close(d.qps_min, 5.0);
    close(d.latency_p99_avg, 25.0);
    close(d.latency_p99_max, 40.0);
    close(d.latency_p99_min, 10.0);
    close(d.cpu_avg, 40.0);
    close(d.cpu_max, 60.0);
    close(d.cpu_min, 20.0);
    close(d.cpu_node_max, 70.0);
    close(d.memory_avg, 50.0);
    close(d.memory_max, 70.0);
    close(d.memory_min, 30.0);
    close(d.disk_usage_avg, 52.0);
    close(d.disk_usage_max, 54.0);
    close(d.disk_usage_min, 50.0);
    // the day's queries are the interval deltas, across the reset: 3000 + 150 + 600 + 100
    assert_eq!(d.queries, Some(3850));
    assert_eq!(d.errors, Some(37));
    assert_eq!(d.timeouts, Some(15 + 3));
    assert_eq!(d.slow_queries, None);
    close(d.error_rate, 37.0 / 3850.0 * 100.0);
    // observed 00:00-00:12 (720 s; the 28-minute gap is not observed), down 00:10-00:12
    assert_eq!(d.observed_seconds, 720.0);
    assert_eq!(d.downtime_seconds, 120.0);
    assert_eq!(d.unknown_seconds, Some(86_400.0 - 720.0));
    close(d.availability_pct, 600.0 / 720.0 * 100.0);
    assert_eq!(d.data_size_start, Some(1000));
    assert_eq!(d.data_size_end, Some(1250));
    assert_eq!(d.data_growth, Some(250));
}

#[test]
fn rollup_edge_cases() {
    assert_eq!(rollup_day(7, date!(2025 - 03 - 02), &day(), &[]), None);
    assert_eq!(rollup_day(7, date!(2025 - 03 - 01), &[], &[]), None);
    // one snapshot: nothing observed, no availability
    let one = [DailyInput::from(&blank(
        7,
        datetime!(2025-03-01 12:00:00 UTC),
    ))];
    let d = rollup_day(7, date!(2025 - 03 - 01), &one, &[]).expect("one");
    assert_eq!(d.snapshot_count, 1);
    assert_eq!(d.availability_pct, None);
    assert_eq!(d.observed_seconds, 0.0);
    assert_eq!(d.queries, None);
    assert_eq!(d.error_rate, None);
    assert_eq!(d.data_growth, None);
    // a day in another offset is still the UTC day
    let shifted = [DailyInput::from(&blank(
        7,
        datetime!(2025-03-02 01:00:00 +02:00), // 2025-03-01 23:00 UTC
    ))];
    assert!(rollup_day(7, date!(2025 - 03 - 01), &shifted, &[]).is_some());
}

#[test]
fn retention_cut_off() {
    assert_eq!(
        expired_before(datetime!(2025-03-31 12:00:00 UTC), 30),
        datetime!(2025-03-01 12:00:00 UTC)
    );
    assert_eq!(
        expired_before(datetime!(2025-03-31 12:00:00 UTC), 0),
        datetime!(2025-03-31 12:00:00 UTC)
    );
}

#[test]
fn daily_serializes_date_as_text() {
    let d = rollup_day(7, date!(2025 - 03 - 01), &day(), &[]).expect("snapshots");
    let json = serde_json::to_value(&d).expect("json");
    assert_eq!(json["date"], "2025-03-01");
    assert_eq!(json["first_at"], "2025-03-01T00:00:00Z");
    assert_eq!(json["slow_queries"], serde_json::Value::Null);
    let back: rockscope_model::DailySnapshot = serde_json::from_value(json).expect("back");
    assert_eq!(back, d);
}
