//! One endpoint's queue of cycles and its counters, shared by the collector's side (push,
//! never blocking) and the endpoint's worker thread (take, wait, count).
//!
//! A full queue takes no more cycles: it remembers, per cluster, when the first one it turned
//! away was collected and how many it turned away, and the worker reads those cycles back from
//! the store before it sends a newer one of that cluster. So the queue bounds memory, never
//! what reaches the receiver.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rockscope_export::ClusterExport;
use serde::Serialize;
use time::OffsetDateTime;

/// Cycles turned away from a full queue, for one cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Missed {
    /// When the first of them was collected, in Unix ms.
    pub(crate) since_ms: i64,
    /// How many.
    pub(crate) cycles: u64,
}

/// What the worker reports about its backlog beyond the queue.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Backlog {
    /// Stored cycles still to be read back and sent, as last counted.
    pub(crate) stored_cycles: u64,
    /// The oldest cycle the worker holds unsent (a request being retried, a replay under way).
    pub(crate) oldest_ms: Option<i64>,
}

#[derive(Debug, Default)]
struct State {
    cycles: VecDeque<Arc<ClusterExport>>,
    missed: HashMap<i64, Missed>,
    /// The clusters being collected, when the collector said (`None`: all).
    present: Option<Vec<i64>>,
    stopping: bool,
    backlog: Backlog,
    counts: Counts,
}

#[derive(Debug, Default, Clone)]
struct Counts {
    samples_sent: u64,
    requests_sent: u64,
    failed_requests: u64,
    dropped_samples: u64,
    dropped_requests: u64,
    last_error: Option<String>,
    last_error_at: Option<OffsetDateTime>,
    last_success_at: Option<OffsetDateTime>,
}

/// One endpoint's delivery, as `/api/collector/status` and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointStatus {
    /// The endpoint's URL, credentials shown as `***`.
    pub url: String,
    /// Cycles (one cluster's, each) in the queue.
    pub queued_cycles: usize,
    /// The queue's bound.
    pub queue_capacity: usize,
    /// Cycles not yet delivered: queued, turned away from the full queue, or being read back
    /// from the store.
    pub backlog_cycles: u64,
    /// How far behind the oldest cycle not yet delivered is, in seconds (0 when none is owed).
    pub backlog_seconds: f64,
    /// Samples the endpoint accepted.
    pub samples_sent: u64,
    /// Requests the endpoint accepted.
    pub requests_sent: u64,
    /// Requests that failed and were (or will be) retried: transport errors, 429, 5xx.
    pub failed_requests: u64,
    /// Samples in requests the endpoint refused for good (another 4xx): dropped.
    pub dropped_samples: u64,
    /// Requests the endpoint refused for good.
    pub dropped_requests: u64,
    /// The last failure, scrubbed of credentials.
    pub last_error: Option<String>,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_error_at: Option<OffsetDateTime>,
    /// When a request was last accepted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_success_at: Option<OffsetDateTime>,
}

/// One endpoint's queue and counters.
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
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not stop the collector's pushes: the state stays usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `cycle`, or, when the queue is full, remembers it as missed. Never blocks for
    /// longer than the lock.
    pub(crate) fn push(&self, cycle: &Arc<ClusterExport>) -> bool {
        let mut state = self.lock();
        if state.stopping {
            return false;
        }
        let queued = state.cycles.len() < self.capacity;
        if queued {
            state.cycles.push_back(Arc::clone(cycle));
        } else {
            let at = crate::proto::timestamp_ms(cycle);
            let missed = state.missed.entry(cycle.cluster_id).or_insert(Missed {
                since_ms: at,
                cycles: 0,
            });
            missed.since_ms = missed.since_ms.min(at);
            missed.cycles += 1;
        }
        drop(state);
        self.wake.notify_one();
        queued
    }

    /// The clusters being collected now.
    pub(crate) fn retain(&self, cluster_ids: &[i64]) {
        let mut state = self.lock();
        state.cycles.retain(|c| cluster_ids.contains(&c.cluster_id));
        state.missed.retain(|id, _| cluster_ids.contains(id));
        state.present = Some(cluster_ids.to_vec());
    }

    /// Whether the worker should forget `cluster_id`.
    pub(crate) fn is_gone(&self, cluster_id: i64) -> bool {
        self.lock()
            .present
            .as_ref()
            .is_some_and(|ids| !ids.contains(&cluster_id))
    }

    /// The next cycle, waiting at most `wait` for one; `None` when there is none by then or
    /// the writer is stopping.
    pub(crate) fn next(&self, wait: Duration) -> Option<Arc<ClusterExport>> {
        let mut state = self.lock();
        if state.cycles.is_empty() && !state.stopping && !wait.is_zero() {
            state = self
                .wake
                .wait_timeout_while(state, wait, |s| s.cycles.is_empty() && !s.stopping)
                .map(|(s, _)| s)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        if state.stopping {
            return None;
        }
        state.cycles.pop_front()
    }

    /// The cycles turned away since the last call, by cluster.
    pub(crate) fn take_missed(&self) -> HashMap<i64, Missed> {
        std::mem::take(&mut self.lock().missed)
    }

    /// Waits `delay` unless the writer stops first; false when it is stopping.
    pub(crate) fn sleep(&self, delay: Duration) -> bool {
        let state = self.lock();
        let state = self
            .wake
            .wait_timeout_while(state, delay, |s| !s.stopping)
            .map(|(s, _)| s)
            .unwrap_or_else(|e| e.into_inner().0);
        !state.stopping
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.lock().stopping
    }

    /// Stops the worker: it ends its current call (bounded by its timeout) and exits.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.wake.notify_all();
    }

    /// The oldest cycle the worker holds unsent, if any.
    pub(crate) fn set_oldest_unsent(&self, oldest_ms: Option<i64>) {
        self.lock().backlog.oldest_ms = oldest_ms;
    }

    /// Stored cycles still to be read back, as last counted.
    pub(crate) fn set_stored_backlog(&self, cycles: u64) {
        self.lock().backlog.stored_cycles = cycles;
    }

    pub(crate) fn record_sent(&self, samples: usize, at: OffsetDateTime) {
        let mut state = self.lock();
        state.counts.samples_sent += samples as u64;
        state.counts.requests_sent += 1;
        state.counts.last_success_at = Some(at);
    }

    /// A failed request (`error` already scrubbed); `dropped` samples when it was refused.
    pub(crate) fn record_error(&self, error: String, at: OffsetDateTime, dropped: Option<usize>) {
        let mut state = self.lock();
        match dropped {
            Some(samples) => {
                state.counts.dropped_samples += samples as u64;
                state.counts.dropped_requests += 1;
            }
            None => state.counts.failed_requests += 1,
        }
        state.counts.last_error = Some(error);
        state.counts.last_error_at = Some(at);
    }

    pub(crate) fn status(&self, url: &str, now: OffsetDateTime) -> EndpointStatus {
        let state = self.lock();
        let missed_cycles: u64 = state.missed.values().map(|m| m.cycles).sum();
        let oldest_ms = [
            state.backlog.oldest_ms,
            state.missed.values().map(|m| m.since_ms).min(),
            state.cycles.front().map(|c| crate::proto::timestamp_ms(c)),
        ]
        .into_iter()
        .flatten()
        .min();
        let now_ms = now.unix_timestamp_nanos() / 1_000_000;
        let backlog_seconds =
            oldest_ms.map_or(0.0, |ms| (now_ms - i128::from(ms)).max(0) as f64 / 1000.0);
        let counts = state.counts.clone();
        EndpointStatus {
            url: url.to_owned(),
            queued_cycles: state.cycles.len(),
            queue_capacity: self.capacity,
            backlog_cycles: state.cycles.len() as u64 + missed_cycles + state.backlog.stored_cycles,
            backlog_seconds,
            samples_sent: counts.samples_sent,
            requests_sent: counts.requests_sent,
            failed_requests: counts.failed_requests,
            dropped_samples: counts.dropped_samples,
            dropped_requests: counts.dropped_requests,
            last_error: counts.last_error,
            last_error_at: counts.last_error_at,
            last_success_at: counts.last_success_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fixtures::cycle;

    #[test]
    fn a_full_queue_remembers_the_first_cycle_it_turned_away_per_cluster() {
        let q = Queue::new(2);
        let t = |s: i64| datetime!(2026-01-01 0:00 UTC) + time::Duration::seconds(s);
        for s in 0..5 {
            q.push(&Arc::new(cycle(1, "a", t(s))));
        }
        q.push(&Arc::new(cycle(2, "b", t(9))));
        let status = q.status("u", t(10));
        assert_eq!((status.queued_cycles, status.backlog_cycles), (2, 6));
        assert_eq!(status.backlog_seconds, 10.0);
        let missed = q.take_missed();
        let since = |id| missed[&id].since_ms / 1000 - t(0).unix_timestamp();
        assert_eq!((since(1), missed[&1].cycles, since(2)), (2, 3, 9));
        assert!(q.take_missed().is_empty());
        assert_eq!(q.next(Duration::ZERO).unwrap().at, t(0));
        assert_eq!(q.next(Duration::ZERO).unwrap().at, t(1));
        assert!(q.next(Duration::from_millis(1)).is_none());
        q.stop();
        assert!(!q.push(&Arc::new(cycle(1, "a", t(11)))));
        assert!(
            !q.sleep(Duration::from_secs(60)),
            "a stopped writer does not sleep"
        );
    }
}
