//! Counter increases with reset detection, per-second rates, and small folds over `Option`s.
//!
//! The rule for a counter between two consecutive scrapes of one node: if the new value is not
//! below the old one, the increase is the difference; if it is below, the node restarted (or the
//! counter wrapped) and the new value itself is the increase, since the counter started from 0.

use time::{Duration, OffsetDateTime};

/// The longest gap between two scrapes of one node over which a rate is still computed. Past it
/// the previous scrape is forgotten and the node is treated as seen for the first time.
pub const MAX_COUNTER_GAP: Duration = Duration::minutes(15);

/// The increase of a counter from `prev` to `cur`, with reset detection. `None` if either is
/// missing.
pub fn increase(prev: Option<f64>, cur: Option<f64>) -> Option<f64> {
    let (p, c) = (prev?, cur?);
    Some(if c >= p { c - p } else { c })
}

/// Seconds from `prev` to `cur` when positive.
pub fn seconds_between(prev: OffsetDateTime, cur: OffsetDateTime) -> Option<f64> {
    let secs = (cur - prev).as_seconds_f64();
    (secs > 0.0).then_some(secs)
}

/// `increase / seconds`.
pub fn per_second(increase: Option<f64>, seconds: Option<f64>) -> Option<f64> {
    Some(increase? / seconds?)
}

/// The sum of the values present; `None` if none is.
pub fn sum_opt(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    values
        .into_iter()
        .flatten()
        .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

/// The largest of the values present; `None` if none is.
pub fn max_opt(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    values
        .into_iter()
        .flatten()
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        })
}

/// The smallest of the values present; `None` if none is.
pub fn min_opt(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    values
        .into_iter()
        .flatten()
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.min(v)))
        })
}

/// The mean of the values present; `None` if none is.
pub fn mean_opt(values: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let (sum, n) = values
        .into_iter()
        .flatten()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// `part / whole × 100` when `whole` is positive.
pub fn pct(part: Option<f64>, whole: Option<f64>) -> Option<f64> {
    let (p, w) = (part?, whole?);
    (w > 0.0).then(|| p / w * 100.0)
}

/// A count or byte figure as an integer (rounded).
pub fn to_i64(v: Option<f64>) -> Option<i64> {
    v.filter(|v| v.is_finite()).map(|v| v.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn increase_and_reset() {
        assert_eq!(increase(Some(100.0), Some(130.0)), Some(30.0));
        assert_eq!(increase(Some(100.0), Some(100.0)), Some(0.0));
        // restart: the counter started again from 0 and reached 7
        assert_eq!(increase(Some(100.0), Some(7.0)), Some(7.0));
        assert_eq!(increase(None, Some(7.0)), None);
        assert_eq!(increase(Some(7.0), None), None);
    }

    #[test]
    fn seconds_and_rates() {
        let a = datetime!(2025-01-01 00:00:00 UTC);
        let b = datetime!(2025-01-01 00:00:30.5 UTC);
        assert_eq!(seconds_between(a, b), Some(30.5));
        assert_eq!(seconds_between(b, a), None);
        assert_eq!(seconds_between(a, a), None);
        assert_eq!(per_second(Some(61.0), Some(30.5)), Some(2.0));
        assert_eq!(per_second(Some(61.0), None), None);
    }

    #[test]
    fn folds() {
        assert_eq!(sum_opt([Some(1.0), None, Some(2.5)]), Some(3.5));
        assert_eq!(sum_opt([None, None]), None);
        assert_eq!(max_opt([Some(1.0), None, Some(2.5)]), Some(2.5));
        assert_eq!(min_opt([Some(1.0), None, Some(2.5)]), Some(1.0));
        assert_eq!(mean_opt([Some(1.0), None, Some(2.0)]), Some(1.5));
        assert_eq!(mean_opt(std::iter::empty()), None);
        assert_eq!(pct(Some(1.0), Some(4.0)), Some(25.0));
        assert_eq!(pct(Some(1.0), Some(0.0)), None);
        assert_eq!(to_i64(Some(2.6)), Some(3));
        assert_eq!(to_i64(Some(f64::NAN)), None);
    }
}
