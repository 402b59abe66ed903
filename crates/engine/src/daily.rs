//! The daily rollup of a cluster's snapshots and cycle outcomes, and the retention cut-off.
//!
//! * Averages, maxima and minima are over the snapshots of the day that have the figure.
//! * Queries and errors of the day are sums of the snapshots' interval deltas
//!   (`query_interval_*`), never of cumulative counters, so FE restarts and missing FEs do not
//!   distort them. An interval belongs to the day of the snapshot that ends it.
//! * Availability: every observation (a snapshot, or a [`CycleOutcome`] the collector recorded)
//!   gives the cluster's state from its time until the next observation, if that comes within
//!   [`MAX_OBSERVED_GAP`]; a longer gap (rockscope was not running) is unknown time. The state
//!   is *down* after an unreachable cycle (nothing of the cluster answered) or a snapshot with
//!   fewer backends or compute nodes alive than listed, *up* after any other snapshot (or a
//!   reachable outcome without its snapshot), and unknown after a snapshot without node counts.
//!   Only the part of each interval inside the UTC day counts, so observations up to
//!   [`MAX_OBSERVED_GAP`] before and after the day (see [`rollup_window`]) cover its edges.
//!   availability = up / (up + down) × 100; unknown time is in neither.

use rockscope_model::{CycleInput, CycleOutcome, DailyInput, DailySnapshot, Reachability};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::rates::{max_opt, mean_opt, min_opt, pct};

pub use rockscope_model::MAX_OBSERVED_GAP;

/// The times whose snapshots and cycle outcomes [`rollup_day`] of `date` reads: the UTC day,
/// widened by [`MAX_OBSERVED_GAP`] on both sides, as `[from, to)`.
pub fn rollup_window(date: Date) -> (OffsetDateTime, OffsetDateTime) {
    let (start, end) = day_bounds(date);
    (start - MAX_OBSERVED_GAP, end + MAX_OBSERVED_GAP)
}

/// Rolls up the UTC day `date` of cluster `cluster_id` from its snapshots, given as their
/// [`DailyInput`]s (what `Store::daily_inputs` reads; `DailyInput::from(&snapshot)` for a full
/// [`MetricsSnapshot`]), and the cycle outcomes the collector recorded
/// (`Store::cycle_outcomes`), both over [`rollup_window`]. Inputs of other clusters are ignored,
/// those outside the day count only for the availability at its edges, and the order does not
/// matter. `None` when the day holds neither a snapshot nor an outcome.
pub fn rollup_day(
    cluster_id: i64,
    date: Date,
    snapshots: &[DailyInput],
    outcomes: &[CycleOutcome],
) -> Option<DailySnapshot> {
    let on_day = |t: OffsetDateTime| t.to_offset(UtcOffset::UTC).date() == date;
    let mut day: Vec<&DailyInput> = snapshots
        .iter()
        .filter(|s| s.cluster_id == cluster_id && on_day(s.collected_at))
        .collect();
    day.sort_by_key(|s| s.collected_at);
    let mut outcome_times: Vec<OffsetDateTime> = outcomes
        .iter()
        .filter(|o| o.cluster_id == cluster_id && on_day(o.at))
        .map(|o| o.at)
        .collect();
    outcome_times.sort();
    let (first_at, last_at) = match (day.first(), day.last()) {
        (Some(first), Some(last)) => (first.collected_at, last.collected_at),
        _ => (*outcome_times.first()?, *outcome_times.last()?),
    };

    let stats = |get: fn(&DailyInput) -> Option<f64>| {
        let values = || day.iter().map(|s| get(s));
        (mean_opt(values()), max_opt(values()), min_opt(values()))
    };
    let total = |get: fn(&DailyInput) -> Option<i64>| {
        day.iter()
            .filter_map(|s| get(s))
            .fold(None, |acc: Option<i64>, v| Some(acc.unwrap_or(0) + v))
    };
    let time = availability(cluster_id, date, snapshots, outcomes);
    let observed = time.up + time.down;

    let (qps_avg, qps_max, qps_min) = stats(|s| s.qps);
    let (latency_p99_avg, latency_p99_max, latency_p99_min) = stats(|s| s.query_latency_p99);
    let (cpu_avg, cpu_max, cpu_min) = stats(|s| s.avg_cpu_usage);
    let (memory_avg, memory_max, memory_min) = stats(|s| s.avg_memory_usage);
    let (disk_usage_avg, disk_usage_max, disk_usage_min) = stats(|s| s.disk_usage_pct);
    let queries = total(|s| s.query_interval_total);
    let errors = total(|s| s.query_interval_error);
    let data_size_start = day.iter().find_map(|s| s.data_used_bytes);
    let data_size_end = day.iter().rev().find_map(|s| s.data_used_bytes);

    Some(DailySnapshot {
        cluster_id,
        date,
        snapshot_count: day.len() as i64,
        first_at: first_at.to_offset(UtcOffset::UTC),
        last_at: last_at.to_offset(UtcOffset::UTC),
        qps_avg,
        qps_max,
        qps_min,
        latency_p99_avg,
        latency_p99_max,
        latency_p99_min,
        cpu_avg,
        cpu_max,
        cpu_min,
        cpu_node_max: max_opt(day.iter().map(|s| s.max_cpu_usage)),
        memory_avg,
        memory_max,
        memory_min,
        disk_usage_avg,
        disk_usage_max,
        disk_usage_min,
        queries,
        errors,
        timeouts: total(|s| s.query_interval_timeout),
        slow_queries: total(|s| s.slow_query_interval),
        error_rate: pct(errors.map(|e| e as f64), queries.map(|q| q as f64)),
        observed_seconds: observed,
        downtime_seconds: time.down,
        unknown_seconds: Some(time.unknown),
        availability_pct: (observed > 0.0).then(|| time.up / observed * 100.0),
        data_size_start,
        data_size_end,
        data_growth: data_size_end.zip(data_size_start).map(|(e, s)| e - s),
    })
}

/// Whether a cycle reached nothing of the cluster: no node list answered and no node's
/// `/metrics` did. The collector stores no snapshot of such a cycle and records it as
/// [`Reachability::Unreachable`]: down time, not unknown.
pub fn cluster_answered_nothing(input: &CycleInput) -> bool {
    input.scrapes.iter().all(|s| s.result.is_err())
        && input.frontends.is_err()
        && input.backends.is_err()
        && input.compute_nodes.is_err()
}

/// The cluster's state from one observation until the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Up,
    Down,
    Unknown,
}

/// Seconds of one UTC day by state.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DayTime {
    up: f64,
    down: f64,
    unknown: f64,
}

/// The state a snapshot shows: down when fewer backends or compute nodes are alive than listed,
/// unknown without any node counts, up otherwise.
fn snapshot_state(s: &DailyInput) -> State {
    let counts = [
        s.backend_total.zip(s.backend_alive),
        s.compute_node_total.zip(s.compute_node_alive),
    ];
    let known: Vec<(i64, i64)> = counts.into_iter().flatten().collect();
    if known.is_empty() {
        State::Unknown
    } else if known.iter().any(|(total, alive)| alive < total) {
        State::Down
    } else {
        State::Up
    }
}

/// `[00:00, next 00:00)` of the UTC day `date`.
fn day_bounds(date: Date) -> (OffsetDateTime, OffsetDateTime) {
    let start = date.midnight().assume_utc();
    (start, start + Duration::DAY)
}

/// Up, down and unknown seconds of the UTC day `date` of cluster `cluster_id` (see the module
/// documentation). An outcome at the time of a snapshot adds nothing: the snapshot tells more.
fn availability(
    cluster_id: i64,
    date: Date,
    snapshots: &[DailyInput],
    outcomes: &[CycleOutcome],
) -> DayTime {
    let mut points: Vec<(OffsetDateTime, State)> = snapshots
        .iter()
        .filter(|s| s.cluster_id == cluster_id)
        .map(|s| (s.collected_at, snapshot_state(s)))
        .collect();
    points.sort_by_key(|p| p.0);
    let snapshot_count = points.len();
    for o in outcomes.iter().filter(|o| o.cluster_id == cluster_id) {
        let seen = points[..snapshot_count]
            .binary_search_by_key(&o.at, |p| p.0)
            .is_ok();
        match o.reachability {
            Reachability::Unreachable => points.push((o.at, State::Down)),
            Reachability::Reachable if !seen => points.push((o.at, State::Up)),
            Reachability::Reachable => {}
        }
    }
    points.sort_by_key(|p| p.0);

    let (start, end) = day_bounds(date);
    let (mut up, mut down) = (0.0, 0.0);
    for pair in points.windows(2) {
        let ((from, state), (to, _)) = (pair[0], pair[1]);
        if to - from > MAX_OBSERVED_GAP {
            continue;
        }
        let secs = (to.min(end) - from.max(start)).as_seconds_f64().max(0.0);
        match state {
            State::Up => up += secs,
            State::Down => down += secs,
            State::Unknown => {}
        }
    }
    DayTime {
        up,
        down,
        unknown: (end - start).as_seconds_f64() - up - down,
    }
}

/// The retention cut-off: rows collected before the returned time are older than
/// `retention_days` days at `now` and may be deleted. Saturates at the first representable
/// instant (nothing expires) when the retention reaches back further.
pub fn expired_before(now: OffsetDateTime, retention_days: u32) -> OffsetDateTime {
    now.checked_sub(Duration::days(i64::from(retention_days)))
        .unwrap_or_else(|| Date::MIN.midnight().assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    const DAY: Date = date!(2025 - 01 - 01);
    const MIDNIGHT: OffsetDateTime = datetime!(2025-01-01 00:00:00 UTC);

    fn minute(m: i64) -> OffsetDateTime {
        MIDNIGHT + Duration::minutes(m)
    }

    /// A snapshot input of cluster 1 with backends and compute nodes `(total, alive)`.
    fn input(at: OffsetDateTime, be: (i64, i64), cn: (i64, i64)) -> DailyInput {
        DailyInput {
            cluster_id: 1,
            collected_at: at,
            qps: None,
            query_latency_p99: None,
            avg_cpu_usage: None,
            max_cpu_usage: None,
            avg_memory_usage: None,
            disk_usage_pct: None,
            query_interval_total: None,
            query_interval_error: None,
            query_interval_timeout: None,
            slow_query_interval: None,
            data_used_bytes: None,
            backend_total: Some(be.0),
            backend_alive: Some(be.1),
            compute_node_total: Some(cn.0),
            compute_node_alive: Some(cn.1),
        }
    }

    /// A healthy shared-nothing snapshot (3 BEs alive, no CN) and its reachable outcome.
    fn healthy(at: OffsetDateTime) -> (DailyInput, CycleOutcome) {
        (
            input(at, (3, 3), (0, 0)),
            outcome(at, Reachability::Reachable),
        )
    }

    fn outcome(at: OffsetDateTime, reachability: Reachability) -> CycleOutcome {
        CycleOutcome {
            cluster_id: 1,
            at,
            reachability,
        }
    }

    /// Cycles every minute from `from` (included) to `to` (excluded), in minutes of the day.
    fn minutes(from: i64, to: i64) -> impl Iterator<Item = OffsetDateTime> {
        (from..to).map(minute)
    }

    #[test]
    fn empty_day_is_none() {
        assert_eq!(rollup_day(1, DAY, &[], &[]), None);
        // Observations of the day before (even one covering a minute after midnight) or of
        // another cluster do not make a row.
        let before = [outcome(minute(-1), Reachability::Unreachable)];
        assert_eq!(rollup_day(1, DAY, &[], &before), None);
        let other = [CycleOutcome {
            cluster_id: 2,
            ..outcome(minute(5), Reachability::Unreachable)
        }];
        assert_eq!(rollup_day(1, DAY, &[], &other), None);
    }

    #[test]
    fn unreachable_cycles_are_down_and_a_collector_gap_is_unknown() {
        // 00:00-06:00 up, 06:00-07:00 unreachable (no snapshot), 07:00-08:00 up, then rockscope
        // stops until 20:00 and runs to the day's end.
        let (mut snapshots, mut outcomes) = (Vec::new(), Vec::new());
        for at in minutes(-5, 360)
            .chain(minutes(420, 481))
            .chain(minutes(1200, 1445))
        {
            let (s, o) = healthy(at);
            snapshots.push(s);
            outcomes.push(o);
        }
        outcomes.extend(minutes(360, 420).map(|at| outcome(at, Reachability::Unreachable)));
        let d = rollup_day(1, DAY, &snapshots, &outcomes).expect("a day");
        let (up, down) = ((360.0 + 60.0 + 240.0) * 60.0, 60.0 * 60.0);
        assert_eq!(d.downtime_seconds, down);
        assert_eq!(d.observed_seconds, up + down);
        assert_eq!(d.unknown_seconds, Some(86_400.0 - up - down));
        assert_eq!(d.availability_pct, Some(up / (up + down) * 100.0));
        assert_eq!(d.snapshot_count, 360 + 61 + 240);
        assert_eq!((d.first_at, d.last_at), (minute(0), minute(1439)));
    }

    #[test]
    fn a_day_observed_without_a_break_sums_to_its_length() {
        let (snapshots, outcomes): (Vec<_>, Vec<_>) = minutes(-1, 1441).map(healthy).unzip();
        let d = rollup_day(1, DAY, &snapshots, &outcomes).expect("a day");
        assert_eq!(d.observed_seconds, 86_400.0);
        assert_eq!(d.unknown_seconds, Some(0.0));
        assert_eq!(d.availability_pct, Some(100.0));
        // Without the neighbours across midnight the edges are unknown.
        let inside = |at: &OffsetDateTime| at.date() == DAY;
        let snapshots: Vec<_> = snapshots
            .into_iter()
            .filter(|s| inside(&s.collected_at))
            .collect();
        let d = rollup_day(1, DAY, &snapshots, &[]).expect("a day");
        assert_eq!(d.observed_seconds, 86_400.0 - 60.0);
    }

    #[test]
    fn an_outage_all_day_is_a_row_at_zero_percent() {
        let outcomes: Vec<_> = minutes(0, 1440)
            .map(|at| outcome(at, Reachability::Unreachable))
            .collect();
        let d = rollup_day(1, DAY, &[], &outcomes).expect("a row without snapshots");
        assert_eq!(d.snapshot_count, 0);
        assert_eq!((d.first_at, d.last_at), (minute(0), minute(1439)));
        assert_eq!(d.availability_pct, Some(0.0));
        assert_eq!(d.downtime_seconds, 86_340.0);
        assert_eq!(d.unknown_seconds, Some(60.0), "after the last outcome");
        assert_eq!((d.qps_avg, d.queries, d.data_size_end), (None, None, None));
    }

    #[test]
    fn a_cn_only_cluster_is_down_while_its_compute_nodes_are() {
        // Shared-data: no backend, 3 CNs; 00:00-01:00 all alive, 01:00-01:30 all dead, 01:30-02:00
        // one dead, 02:00-03:00 all alive.
        let cns = |m: i64| match m {
            60..90 => (3, 0),
            90..120 => (3, 2),
            _ => (3, 3),
        };
        let snapshots: Vec<_> = (0..181).map(|m| input(minute(m), (0, 0), cns(m))).collect();
        let d = rollup_day(1, DAY, &snapshots, &[]).expect("a day");
        assert_eq!(d.observed_seconds, 180.0 * 60.0);
        assert_eq!(d.downtime_seconds, 60.0 * 60.0);
        let pct = d.availability_pct.expect("observed");
        assert!((pct - 200.0 / 3.0).abs() < 1e-9, "{pct}");
    }

    #[test]
    fn a_snapshot_decides_over_its_own_outcome_and_counts_unknown_without_node_counts() {
        // A reachable outcome at a degraded snapshot's time is that snapshot's cycle: down.
        let degraded = input(minute(0), (3, 2), (0, 0));
        let at_same_time = outcome(minute(0), Reachability::Reachable);
        let next = outcome(minute(1), Reachability::Reachable);
        let d = rollup_day(1, DAY, &[degraded], &[at_same_time, next]).expect("a day");
        assert_eq!((d.downtime_seconds, d.observed_seconds), (60.0, 60.0));
        // A snapshot without node counts (the lists failed, some node answered) tells nothing.
        let blind = DailyInput {
            backend_total: None,
            compute_node_total: None,
            ..input(minute(0), (0, 0), (0, 0))
        };
        let d = rollup_day(1, DAY, &[blind], &[next]).expect("a day");
        assert_eq!((d.observed_seconds, d.availability_pct), (0.0, None));
        assert_eq!(d.unknown_seconds, Some(86_400.0));
    }

    #[test]
    fn the_rollup_window_widens_the_day_by_the_longest_observed_gap() {
        assert_eq!(
            rollup_window(DAY),
            (
                datetime!(2024-12-31 23:50:00 UTC),
                datetime!(2025-01-02 00:10:00 UTC)
            )
        );
    }

    #[test]
    fn a_retention_beyond_the_calendar_saturates() {
        let now = datetime!(2025-01-08 00:00:00 UTC);
        assert_eq!(
            expired_before(now, 100_000_000),
            Date::MIN.midnight().assume_utc()
        );
        assert_eq!(
            expired_before(now, u32::MAX),
            Date::MIN.midnight().assume_utc()
        );
    }

    #[test]
    fn cut_off() {
        assert_eq!(
            expired_before(datetime!(2025-01-08 00:00:00 UTC), 7),
            datetime!(2025-01-01 00:00:00 UTC)
        );
    }
}
