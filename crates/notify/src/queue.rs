//! [`Queue`]: one receiver's bounded queue of notifications (the oldest is dropped on
//! overflow) and its delivery counts, shared by `submit` (which only pushes) and the
//! receiver's worker thread.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;

use crate::endpoint::ReceiverKind;

/// One notification: a JSON body (shared by every receiver it goes to) and, for Alertmanager,
/// the time it must be sent by.
#[derive(Debug, Clone)]
pub(crate) struct Notification {
    pub(crate) body: Arc<[u8]>,
    /// When the firing alerts' `endsAt` is near: Alertmanager would take a body sent later as
    /// their resolution (and then fire them again at the next resend), so it is dropped then.
    pub(crate) send_by: Option<Instant>,
}

/// What a receiver's status shows (`Notifier::status`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReceiverStatus {
    /// `alertmanager` or `webhook`.
    pub kind: ReceiverKind,
    /// The configured URL, user info and query shown as `***`.
    pub url: String,
    /// Notifications delivered (answered 2xx).
    pub sent: u64,
    /// Notifications given up: refused with a 4xx other than 429, or still failing after every
    /// retry.
    pub failed: u64,
    /// Notifications never tried to the end: dropped from a full queue (the oldest first), too
    /// late to send (an Alertmanager notification still failing near its alerts' `endsAt`), or
    /// left undelivered at shutdown.
    pub dropped: u64,
    /// Notifications waiting (the one being tried not included).
    pub queue_len: usize,
    /// When a notification was last delivered.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// The last failed attempt, e.g. `HTTP 503: overloaded` (secrets removed, at most ~200
    /// characters).
    pub last_error: Option<String>,
    /// When that attempt failed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_error_at: Option<OffsetDateTime>,
}

/// The counts of [`ReceiverStatus`].
#[derive(Debug, Default)]
struct Counts {
    sent: u64,
    failed: u64,
    dropped: u64,
    last_success_at: Option<OffsetDateTime>,
    last_error: Option<String>,
    last_error_at: Option<OffsetDateTime>,
}

#[derive(Debug, Default)]
struct State {
    jobs: VecDeque<Notification>,
    /// Set by shutdown: the worker may deliver what is queued until then, without retries.
    closing_until: Option<Instant>,
    counts: Counts,
}

/// A receiver's queue and counts.
#[derive(Debug)]
pub(crate) struct Queue {
    capacity: usize,
    state: Mutex<State>,
    wake: Condvar,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            state: Mutex::default(),
            wake: Condvar::new(),
        }
    }

    /// The state; a worker that panicked holding the lock left only counts behind, so the lock
    /// is taken over rather than failing every later call.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `body`, dropping the oldest waiting notification if the queue is full (a newer
    /// notification says more of the alerts' state than an older one). Returns how many were
    /// dropped. Never waits for the worker beyond the lock.
    pub(crate) fn push(&self, notification: Notification) -> usize {
        let mut state = self.lock();
        let mut dropped = 0;
        while state.jobs.len() >= self.capacity {
            state.jobs.pop_front();
            dropped += 1;
        }
        state.counts.dropped += dropped as u64;
        state.jobs.push_back(notification);
        drop(state);
        self.wake.notify_one();
        dropped
    }

    /// The next notification, waiting for one. `None` when the worker is to stop: shutdown
    /// began and the queue is empty or its drain time is over (what is left counts as dropped).
    pub(crate) fn next(&self) -> Option<Notification> {
        let mut state = self.lock();
        loop {
            if let Some(until) = state.closing_until {
                if Instant::now() >= until {
                    let left = state.jobs.len() as u64;
                    state.jobs.clear();
                    state.counts.dropped += left;
                    return None;
                }
                return state.jobs.pop_front();
            }
            if let Some(notification) = state.jobs.pop_front() {
                return Some(notification);
            }
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Waits `delay` before a retry. `false` (at once) when shutdown began: no more retries.
    pub(crate) fn wait_to_retry(&self, delay: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .wake
            .wait_timeout_while(state, delay, |s| s.closing_until.is_none())
            .unwrap_or_else(|p| p.into_inner());
        state.closing_until.is_none()
    }

    /// How long a call may take now: `timeout`, or less when shutdown's drain time ends sooner.
    pub(crate) fn call_limit(&self, timeout: Duration) -> Duration {
        match self.lock().closing_until {
            Some(until) => timeout.min(until.saturating_duration_since(Instant::now())),
            None => timeout,
        }
    }

    /// Starts shutdown: what is queued may still be tried once each until `drain_until`.
    pub(crate) fn close(&self, drain_until: Instant) {
        self.lock().closing_until = Some(drain_until);
        self.wake.notify_all();
    }

    pub(crate) fn record_sent(&self, at: OffsetDateTime) {
        let mut state = self.lock();
        state.counts.sent += 1;
        state.counts.last_success_at = Some(at);
    }

    /// A failed attempt (`error` already scrubbed); `given_up` when it was the last one.
    pub(crate) fn record_error(&self, error: String, at: OffsetDateTime, given_up: bool) {
        let mut state = self.lock();
        state.counts.last_error = Some(error);
        state.counts.last_error_at = Some(at);
        if given_up {
            state.counts.failed += 1;
        }
    }

    /// A notification abandoned: shutdown began (while it waited for a retry, or when the drain
    /// time ran out), or it is too late to send it.
    pub(crate) fn record_abandoned(&self) {
        self.lock().counts.dropped += 1;
    }

    pub(crate) fn status(&self, kind: ReceiverKind, url: &str) -> ReceiverStatus {
        let state = self.lock();
        let c = &state.counts;
        ReceiverStatus {
            kind,
            url: url.to_owned(),
            sent: c.sent,
            failed: c.failed,
            dropped: c.dropped,
            queue_len: state.jobs.len(),
            last_success_at: c.last_success_at,
            last_error: c.last_error.clone(),
            last_error_at: c.last_error_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Notification {
        Notification {
            body: Arc::from(text.as_bytes()),
            send_by: None,
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts_it() {
        let q = Queue::new(2);
        assert_eq!(q.push(body("a")), 0);
        assert_eq!(q.push(body("b")), 0);
        assert_eq!(q.push(body("c")), 1);
        let status = q.status(ReceiverKind::Webhook, "http://h/");
        assert_eq!((status.dropped, status.queue_len), (1, 2));
        assert_eq!(&*q.next().unwrap().body, b"b");
        assert_eq!(&*q.next().unwrap().body, b"c");
    }

    #[test]
    fn closing_ends_retries_and_drops_what_the_drain_time_left() {
        let q = Queue::new(4);
        q.push(body("a"));
        q.close(Instant::now() + Duration::from_secs(60));
        assert!(
            !q.wait_to_retry(Duration::from_secs(3600)),
            "returns at once"
        );
        assert_eq!(&*q.next().unwrap().body, b"a", "drained while time is left");
        assert!(q.next().is_none());
        q.push(body("b"));
        q.close(Instant::now());
        assert!(q.next().is_none());
        assert_eq!(q.status(ReceiverKind::Webhook, "").dropped, 1);
    }
}
