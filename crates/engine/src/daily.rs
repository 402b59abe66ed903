//! The daily rollup of a cluster's snapshots, and the retention cut-off.
//!
//! * Averages, maxima and minima are over the snapshots of the day that have the figure.
//! * Queries and errors of the day are sums of the snapshots' interval deltas
//!   (`query_interval_*`), never of cumulative counters, so FE restarts and missing FEs do not
//!   distort them. An interval belongs to the day of the snapshot that ends it.
//! * Availability: the time between consecutive snapshots of the day (each gap at most
//!   [`MAX_OBSERVED_GAP`]; longer gaps are unobserved) is "down" when the earlier snapshot had fewer
//!   backends alive than listed, "up" otherwise; gaps starting at a snapshot without backend counts
//!   are unobserved. availability = up / observed × 100.

use rockscope_model::{DailyInput, DailySnapshot};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::rates::{max_opt, mean_opt, min_opt, pct};

/// The longest gap between two snapshots still counted as observed time for availability.
pub const MAX_OBSERVED_GAP: Duration = Duration::minutes(10);

/// Rolls up the snapshots of `cluster_id` taken on the UTC day `date`, given as their
/// [`DailyInput`]s (what `Store::daily_inputs` reads; `DailyInput::from(&snapshot)` for a full
/// [`MetricsSnapshot`](rockscope_model::MetricsSnapshot)); the others in `snapshots` are ignored,
/// and the order does not matter. `None` when there are none.
pub fn rollup_day(cluster_id: i64, date: Date, snapshots: &[DailyInput]) -> Option<DailySnapshot> {
    let mut day: Vec<&DailyInput> = snapshots
        .iter()
        .filter(|s| {
            s.cluster_id == cluster_id && s.collected_at.to_offset(UtcOffset::UTC).date() == date
        })
        .collect();
    day.sort_by_key(|s| s.collected_at);
    let (first, last) = (*day.first()?, *day.last()?);

    let stats = |get: fn(&DailyInput) -> Option<f64>| {
        let values = || day.iter().map(|s| get(s));
        (mean_opt(values()), max_opt(values()), min_opt(values()))
    };
    let total = |get: fn(&DailyInput) -> Option<i64>| {
        day.iter()
            .filter_map(|s| get(s))
            .fold(None, |acc: Option<i64>, v| Some(acc.unwrap_or(0) + v))
    };

    let (mut observed, mut down) = (0.0, 0.0);
    for pair in day.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let gap = b.collected_at - a.collected_at;
        if gap > MAX_OBSERVED_GAP {
            continue;
        }
        let (Some(total), Some(alive)) = (a.backend_total, a.backend_alive) else {
            continue;
        };
        let secs = gap.as_seconds_f64();
        observed += secs;
        if alive < total {
            down += secs;
        }
    }

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
        first_at: first.collected_at.to_offset(UtcOffset::UTC),
        last_at: last.collected_at.to_offset(UtcOffset::UTC),
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
        downtime_seconds: down,
        availability_pct: (observed > 0.0).then(|| (observed - down) / observed * 100.0),
        data_size_start,
        data_size_end,
        data_growth: data_size_end.zip(data_size_start).map(|(e, s)| e - s),
    })
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

    #[test]
    fn empty_day_is_none() {
        assert_eq!(rollup_day(1, date!(2025 - 01 - 01), &[]), None);
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
