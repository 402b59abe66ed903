//! When to try a notification again: which answers are worth a retry, and how long to wait.

use std::time::Duration;

/// Attempts per notification, the first included: with [`backoff`], about four minutes of
/// trying (1 + 2 + 4 + 8 + 16 + 32 + 60 + 60 + 60 s of waiting).
pub(crate) const MAX_ATTEMPTS: u32 = 10;

/// The longest wait between two attempts, whatever `Retry-After` asks.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(60);

/// What an HTTP status means for the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: delivered.
    Delivered,
    /// 429 or 5xx: the receiver may take it later.
    Retry,
    /// Anything else (a 4xx, or a redirect, which is not followed for a POST): sending the
    /// same body again cannot help.
    Refused,
}

pub(crate) fn verdict(status: u16) -> Verdict {
    match status {
        200..=299 => Verdict::Delivered,
        429 | 500..=599 => Verdict::Retry,
        _ => Verdict::Refused,
    }
}

/// The wait after failed attempt `attempt` (1 for the first): 1 s, doubling, at most
/// [`MAX_DELAY`]; the receiver's `Retry-After` (in seconds) instead when it gave one.
pub(crate) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(asked) = retry_after {
        return asked.min(MAX_DELAY);
    }
    let doubled = 1u64
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u64::MAX);
    Duration::from_secs(doubled).min(MAX_DELAY)
}

/// A `Retry-After` header's delay, when it is in seconds (an HTTP date is ignored).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second_to_a_minute() {
        let waits: Vec<u64> = (1..MAX_ATTEMPTS)
            .map(|attempt| backoff(attempt, None).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(200, None), MAX_DELAY);
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_minute() {
        let asked = parse_retry_after(" 5 ");
        assert_eq!(asked, Some(Duration::from_secs(5)));
        assert_eq!(backoff(6, asked), Duration::from_secs(5));
        assert_eq!(backoff(1, parse_retry_after("86400")), MAX_DELAY);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn only_overload_and_server_errors_are_retried() {
        assert_eq!(verdict(200), Verdict::Delivered);
        assert_eq!(verdict(204), Verdict::Delivered);
        for status in [429, 500, 502, 503, 504] {
            assert_eq!(verdict(status), Verdict::Retry, "{status}");
        }
        for status in [301, 400, 401, 403, 404, 413, 422] {
            assert_eq!(verdict(status), Verdict::Refused, "{status}");
        }
    }
}
