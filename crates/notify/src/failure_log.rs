//! Logging a receiver that keeps failing without a line per attempt: the first failure is
//! logged, then "still failing (N times)" at most every [`REPEAT_EVERY`], and the recovery once.
//! (The collector's `repeat_log` does the same per cluster; this one belongs to one worker
//! thread, so it needs no map and no lock. Remote write's workers use it too.)

use std::time::{Duration, Instant};

/// The shortest time between two log lines about the same run of failures.
pub const REPEAT_EVERY: Duration = Duration::from_secs(300);

/// What to log about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// The first failure after a success (or ever).
    First,
    /// Still failing, and nothing was logged for [`REPEAT_EVERY`]: `times` in a row.
    Again { times: u64 },
    /// Still failing, logged recently.
    Quiet,
}

/// One receiver's current run of failures.
#[derive(Debug, Default)]
pub struct FailureLog {
    times: u64,
    last_logged: Option<Instant>,
}

impl FailureLog {
    /// Records a failed attempt at `now`; says whether to log it.
    pub fn failed(&mut self, now: Instant) -> Turn {
        self.times += 1;
        match self.last_logged {
            Some(at) if self.times > 1 && now.saturating_duration_since(at) < REPEAT_EVERY => {
                Turn::Quiet
            }
            _ => {
                self.last_logged = Some(now);
                if self.times == 1 {
                    Turn::First
                } else {
                    Turn::Again { times: self.times }
                }
            }
        }
    }

    /// Records a success: the number of failures in a row it ends, if any.
    pub fn succeeded(&mut self) -> Option<u64> {
        let times = std::mem::take(&mut self.times);
        self.last_logged = None;
        (times > 0).then_some(times)
    }
}

/// Logs a failed attempt as `turn` says (warn, or debug when quiet).
pub fn warn(turn: Turn, message: std::fmt::Arguments<'_>) {
    match turn {
        Turn::First => log::warn!("{message}"),
        Turn::Again { times } => log::warn!(
            "Still failing ({times} times in a row; repeats are logged every {} s). {message}",
            REPEAT_EVERY.as_secs()
        ),
        Turn::Quiet => log::debug!("{message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_then_at_most_every_five_minutes_then_recovery_once() {
        let mut log = FailureLog::default();
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert_eq!(log.failed(at(0)), Turn::First);
        for s in 1..REPEAT_EVERY.as_secs() {
            assert_eq!(log.failed(at(s)), Turn::Quiet, "at {s} s");
        }
        let again = REPEAT_EVERY.as_secs();
        assert_eq!(log.failed(at(again)), Turn::Again { times: again + 1 });
        assert_eq!(log.failed(at(again + 1)), Turn::Quiet);
        assert_eq!(log.succeeded(), Some(again + 2));
        assert_eq!(log.succeeded(), None, "told once");
        assert_eq!(log.failed(at(again + 2)), Turn::First, "a new run");
    }
}
