//! Logging a failure that repeats every cycle without repeating the log line every cycle: the
//! first failure is logged, then "still failing (N times)" at most every [`REPEAT_EVERY`], and
//! the recovery once. An unreachable cluster at a 1 s interval would otherwise write a WARN line
//! a second, and ten thousand of them ten thousand lines a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The shortest time between two log lines about the same repeating failure.
pub(crate) const REPEAT_EVERY: Duration = Duration::from_secs(300);

/// Whether to log this occurrence of a failure, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// The first failure after a success (or ever): log it.
    First,
    /// Still failing, and [`REPEAT_EVERY`] has passed since the last line: log that it has now
    /// failed `times` times in a row.
    Again {
        /// Consecutive failures, this one included.
        times: u64,
    },
    /// Still failing, logged recently: nothing at warn level.
    Quiet,
}

/// What kind of failure (a fixed name) of what (a cluster id, or 0 for the whole collector).
type Key = (&'static str, i64);

/// One failure's run of repeats.
#[derive(Debug, Clone, Copy)]
struct Run {
    times: u64,
    last_logged: Instant,
}

/// Consecutive failures per kind and subject, and when each was last logged.
#[derive(Debug, Default)]
pub(crate) struct RepeatLog {
    runs: Mutex<HashMap<Key, Run>>,
}

impl RepeatLog {
    /// Records a failure of `what` for `subject` at `now`; says whether to log it.
    pub(crate) fn failed(&self, what: &'static str, subject: i64, now: Instant) -> Turn {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        match runs.get_mut(&(what, subject)) {
            None => {
                runs.insert(
                    (what, subject),
                    Run {
                        times: 1,
                        last_logged: now,
                    },
                );
                Turn::First
            }
            Some(run) => {
                run.times += 1;
                if now.saturating_duration_since(run.last_logged) >= REPEAT_EVERY {
                    run.last_logged = now;
                    Turn::Again { times: run.times }
                } else {
                    Turn::Quiet
                }
            }
        }
    }

    /// Records a success of `what` for `subject`: the number of failures in a row it ends, if
    /// it ends any (log the recovery then).
    pub(crate) fn succeeded(&self, what: &'static str, subject: i64) -> Option<u64> {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.remove(&(what, subject)).map(|run| run.times)
    }

    /// Logs the outcome of `doing` (e.g. "Retention of snapshots"), a step that runs every cycle
    /// for the whole collector: a failure as [`warn_repeating`] says, the first success after
    /// failures once at info.
    pub(crate) fn log_outcome(
        &self,
        what: &'static str,
        doing: &str,
        error: Option<&dyn std::fmt::Display>,
        now: Instant,
    ) {
        match error {
            None => {
                if let Some(times) = self.succeeded(what, 0) {
                    log::info!("{doing} works again after {times} failures.");
                }
            }
            Some(e) => {
                let turn = self.failed(what, 0, now);
                warn_repeating(turn, format_args!("{doing} failed. error={e}"));
            }
        }
    }

    /// Forgets every run of `subject`s not in `present` (clusters deleted or disabled).
    pub(crate) fn forget_missing(&self, present: &[i64]) {
        let mut runs = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        runs.retain(|(_, subject), _| *subject == 0 || present.contains(subject));
    }
}

/// Logs one occurrence of a repeating failure at warn level when `turn` says so (else at
/// debug), `message` being the first-time line, e.g. "Cluster collection failed. cluster=a".
pub(crate) fn warn_repeating(turn: Turn, message: std::fmt::Arguments<'_>) {
    match turn {
        Turn::First => log::warn!("{message}"),
        Turn::Again { times } => log::warn!(
            "Still failing ({times} times in a row; repeats are logged every {} s). {message}",
            REPEAT_EVERY.as_secs()
        ),
        Turn::Quiet => log::debug!("{message}"),
    }
}

/// The log lines of the current thread, for tests that check what is logged: a logger installed
/// once for the test process, each test thread seeing only its own lines.
#[cfg(test)]
pub(crate) mod captured {
    use std::cell::RefCell;
    use std::sync::Once;

    use log::{Level, LevelFilter, Log, Metadata, Record};

    thread_local! {
        static LINES: RefCell<Vec<(Level, String)>> = const { RefCell::new(Vec::new()) };
    }

    struct Capture;

    impl Log for Capture {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.level() <= Level::Info
        }
        fn log(&self, record: &Record<'_>) {
            if self.enabled(record.metadata()) {
                let line = (record.level(), record.args().to_string());
                LINES.with(|lines| lines.borrow_mut().push(line));
            }
        }
        fn flush(&self) {}
    }

    /// Installs the logger (once) and forgets this thread's lines so far.
    pub(crate) fn start() {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            if log::set_logger(&Capture).is_ok() {
                log::set_max_level(LevelFilter::Info);
            }
        });
        LINES.with(|lines| lines.borrow_mut().clear());
    }

    /// This thread's lines at `level` since the last call (or [`start`]).
    pub(crate) fn take(level: Level) -> Vec<String> {
        LINES.with(|lines| {
            let taken = std::mem::take(&mut *lines.borrow_mut());
            taken
                .into_iter()
                .filter(|(l, _)| *l == level)
                .map(|(_, line)| line)
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Level;

    #[test]
    fn a_repeating_failure_is_logged_first_then_at_most_every_repeat_interval() {
        let log = RepeatLog::default();
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert_eq!(log.failed("collect", 7, at(0)), Turn::First);
        // A failure a second for almost five minutes: nothing more at warn level.
        for s in 1..REPEAT_EVERY.as_secs() {
            assert_eq!(log.failed("collect", 7, at(s)), Turn::Quiet, "at {s} s");
        }
        let again = REPEAT_EVERY.as_secs();
        assert_eq!(
            log.failed("collect", 7, at(again)),
            Turn::Again { times: again + 1 }
        );
        assert_eq!(log.failed("collect", 7, at(again + 1)), Turn::Quiet);
        // Another cluster, and another kind of failure of the same cluster, have runs of their own.
        assert_eq!(log.failed("collect", 8, at(again + 1)), Turn::First);
        assert_eq!(log.failed("skipped", 7, at(again + 1)), Turn::First);
    }

    #[test]
    fn a_success_ends_the_run_and_says_how_long_it_was() {
        let log = RepeatLog::default();
        let now = Instant::now();
        assert_eq!(log.succeeded("collect", 1), None, "nothing was failing");
        for _ in 0..3 {
            log.failed("collect", 1, now);
        }
        assert_eq!(log.succeeded("collect", 1), Some(3));
        assert_eq!(log.succeeded("collect", 1), None, "told once");
        assert_eq!(log.failed("collect", 1, now), Turn::First, "a new run");
    }

    #[test]
    fn runs_of_clusters_gone_are_forgotten() {
        let log = RepeatLog::default();
        let now = Instant::now();
        log.failed("collect", 1, now);
        log.failed("collect", 2, now);
        log.failed("record_error", 0, now);
        log.forget_missing(&[2]);
        assert_eq!(log.succeeded("collect", 1), None);
        assert_eq!(log.succeeded("collect", 2), Some(1));
        assert_eq!(
            log.succeeded("record_error", 0),
            Some(1),
            "collector-wide runs stay"
        );
    }

    #[test]
    fn an_outcome_is_logged_once_at_warn_then_every_repeat_interval_and_its_recovery_once() {
        captured::start();
        let log = RepeatLog::default();
        let t0 = Instant::now();
        let error: &dyn std::fmt::Display = &"disk I/O error";
        for s in 0..10 {
            log.log_outcome(
                "checkpoint",
                "Checkpoint",
                Some(error),
                t0 + Duration::from_secs(s),
            );
        }
        assert_eq!(
            captured::take(Level::Warn),
            ["Checkpoint failed. error=disk I/O error"]
        );
        log.log_outcome("checkpoint", "Checkpoint", Some(error), t0 + REPEAT_EVERY);
        let again = captured::take(Level::Warn);
        assert_eq!(again.len(), 1, "{again:?}");
        assert!(
            again[0].starts_with("Still failing (11 times in a row")
                && again[0].ends_with("Checkpoint failed. error=disk I/O error"),
            "{again:?}"
        );
        for _ in 0..2 {
            log.log_outcome("checkpoint", "Checkpoint", None, t0 + REPEAT_EVERY);
        }
        assert_eq!(
            captured::take(Level::Info),
            ["Checkpoint works again after 11 failures."]
        );
        assert!(captured::take(Level::Warn).is_empty());
    }
}
