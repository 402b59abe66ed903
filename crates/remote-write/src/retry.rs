//! How long to wait before sending a failed request again: exponential from
//! [`FIRST_DELAY`], capped at [`MAX_DELAY`], with jitter so that several rockscopes (shards)
//! writing to one receiver that comes back do not all retry in step. A receiver's
//! `Retry-After` is honoured up to [`MAX_RETRY_AFTER`].
//!
//! A request is tried until it is delivered or refused (a 4xx other than 429): the cycles
//! behind it wait in the queue, then in the store, and nothing is given up for time.

use std::time::Duration;

/// The wait after the first failure.
pub(crate) const FIRST_DELAY: Duration = Duration::from_millis(500);
/// The longest wait between two attempts (Prometheus' own `max_backoff`: 5 s).
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5);
/// The longest wait a receiver's `Retry-After` can ask for.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The wait after failed attempt `attempt` (1 for the first), given `jitter` in `[0, 1)`: the
/// exponential delay `d` scaled into `[d/2, d)`; or the receiver's `retry_after`, capped.
pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    if let Some(asked) = retry_after {
        return asked.min(MAX_RETRY_AFTER);
    }
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let full = FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY);
    full.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A jitter in `[0, 1)`, from the standard library's randomly keyed hasher (no crate needed
/// for a number that only spreads retries).
pub(crate) fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(std::time::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos()));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap_and_the_jitter_spreads_it_over_its_upper_half() {
        let full: Vec<u128> = (1..=6).map(|a| backoff(a, None, 1.0).as_millis()).collect();
        assert_eq!(full, [500, 1000, 2000, 4000, 5000, 5000]);
        let low: Vec<u128> = (1..=5).map(|a| backoff(a, None, 0.0).as_millis()).collect();
        assert_eq!(low, [250, 500, 1000, 2000, 2500]);
        assert_eq!(backoff(u32::MAX, None, 0.999), MAX_DELAY.mul_f64(0.9995));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
            let d = backoff(3, None, j);
            assert!(
                d >= Duration::from_secs(1) && d < Duration::from_secs(2),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_minute() {
        let asked = Some(Duration::from_secs(7));
        assert_eq!(backoff(1, asked, 0.3), Duration::from_secs(7));
        assert_eq!(
            backoff(1, Some(Duration::from_secs(3600)), 0.3),
            MAX_RETRY_AFTER
        );
    }
}
