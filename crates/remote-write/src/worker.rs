//! One endpoint's worker thread: takes cycles from its queue, fills requests with them and
//! posts them, retrying until each is delivered or refused; reads back from the store whatever
//! a cluster missed (cycles turned away from the full queue, cycles stored while rockscope was
//! stopped) before it sends a newer cycle of that cluster; records how far each cluster was
//! sent, in memory and in the store.
//!
//! Order: a cluster's cycles leave in time order. A request is sent, or refused, before the
//! next one is filled, and a cycle is skipped when its cluster was already sent a newer one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rockscope_export::ClusterExport;
use rockscope_notify::Attempt;
use rockscope_notify::failure_log::{self, FailureLog};
use rockscope_store::Store;
use time::OffsetDateTime;

use crate::config::Target;
use crate::proto::{self, RequestBuilder, timestamp_ms};
use crate::queue::Queue;
use crate::replay::{self, Replay};
use crate::retry;

/// A request is closed once it holds this many samples (it holds whole cycles, so it may hold
/// one cycle's worth more).
pub(crate) const MAX_SAMPLES_PER_REQUEST: usize = 10_000;
/// How long the worker waits for more cycles before it sends a request that is not full.
const LINGER: Duration = Duration::from_millis(50);
/// How long the worker sleeps waiting for work when the queue is empty.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The headers of a remote-write 1.0 request.
const HEADERS: [(&str, &str); 3] = [
    ("Content-Encoding", "snappy"),
    ("Content-Type", "application/x-protobuf"),
    ("X-Prometheus-Remote-Write-Version", "0.1.0"),
];

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// Delivered, or refused for good: either way, done with.
    Done,
    /// The store could not be read: the cycles stay owed, and no newer one may go.
    Owed,
    /// The writer is stopping; the request's cycles stay owed (the store has them).
    Stopped,
}

/// Where a cluster stands with this endpoint.
#[derive(Debug, Default, Clone, Copy)]
struct ClusterProgress {
    /// The newest cycle sent (or refused), Unix ms.
    sent_until: Option<i64>,
    /// Stored cycles after `sent_until` (or from this time when nothing was sent) are owed
    /// and must be read back before a newer cycle goes: `Some(i64::MIN)` after a restart.
    owed_from: Option<i64>,
}

/// One request being filled: the builder and, per cluster, its newest cycle in it.
struct Pending {
    builder: RequestBuilder,
    newest: HashMap<i64, i64>,
    oldest_ms: Option<i64>,
}

pub(crate) struct Worker {
    target: Target,
    queue: Arc<Queue>,
    store: Store,
    agent: ureq::Agent,
    clusters: HashMap<i64, ClusterProgress>,
    failures: FailureLog,
    store_failures: FailureLog,
}

impl Worker {
    pub(crate) fn new(target: Target, queue: Arc<Queue>, store: Store) -> Self {
        Self {
            agent: rockscope_notify::agent(target.timeout),
            target,
            queue,
            store,
            clusters: HashMap::new(),
            failures: FailureLog::default(),
            store_failures: FailureLog::default(),
        }
    }

    /// Sends until the writer stops.
    pub(crate) fn run(mut self) {
        self.load_progress();
        let mut pending = self.empty_request();
        loop {
            let wait = if pending.builder.is_empty() {
                IDLE_WAIT
            } else {
                LINGER
            };
            let next = self.queue.next(wait);
            if self.queue.is_stopping() {
                return;
            }
            self.note_missed();
            let Some(cycle) = next else {
                // Nothing more came: send what is filled.
                if self.flush(&mut pending) == Sent::Stopped {
                    return;
                }
                continue;
            };
            if self.queue.is_gone(cycle.cluster_id) {
                self.clusters.remove(&cycle.cluster_id);
                continue;
            }
            let at = timestamp_ms(&cycle);
            let progress = self.progress(cycle.cluster_id);
            let in_pending = pending.newest.get(&cycle.cluster_id).copied();
            if progress
                .sent_until
                .max(in_pending)
                .is_some_and(|sent| at <= sent)
            {
                continue;
            }
            if progress.owed_from.is_some_and(|from| from < at) {
                // Send what is filled first: the replay starts where it ends.
                if self.flush(&mut pending) == Sent::Stopped {
                    return;
                }
                match self.replay(&cycle, at) {
                    Sent::Done => {}
                    // The cycle is stored: the next replay sends it, in order.
                    Sent::Owed => continue,
                    Sent::Stopped => return,
                }
            }
            add(&mut pending, &cycle, at);
            if pending.builder.samples() >= MAX_SAMPLES_PER_REQUEST
                && self.flush(&mut pending) == Sent::Stopped
            {
                return;
            }
        }
    }

    /// Sends `pending` and leaves it empty.
    fn flush(&mut self, pending: &mut Pending) -> Sent {
        let full = std::mem::replace(pending, self.empty_request());
        self.send(full)
    }

    fn empty_request(&self) -> Pending {
        Pending {
            builder: RequestBuilder::new(&self.target.labels),
            newest: HashMap::new(),
            oldest_ms: None,
        }
    }

    fn progress(&mut self, cluster_id: i64) -> ClusterProgress {
        *self.clusters.entry(cluster_id).or_default()
    }

    /// The persisted progress: every cluster sent before may have cycles owed since.
    fn load_progress(&mut self) {
        match self.store.remote_write_progress(self.target.url()) {
            Ok(rows) => {
                for (id, at) in rows {
                    let ms = proto::ms(at);
                    self.clusters.insert(
                        id,
                        ClusterProgress {
                            sent_until: Some(ms),
                            owed_from: Some(i64::MIN),
                        },
                    );
                }
            }
            Err(e) => log::warn!(
                "Remote write to {}: cannot read how far it was sent; sending from the next \
                 cycle on. error={e}",
                self.target.url()
            ),
        }
    }

    /// Marks the clusters whose cycles the full queue turned away as owing them.
    fn note_missed(&mut self) {
        for (id, missed) in self.queue.take_missed() {
            let progress = self.clusters.entry(id).or_default();
            let from = progress.owed_from.unwrap_or(i64::MAX).min(missed.since_ms);
            progress.owed_from = Some(from);
        }
    }

    /// Sends the stored cycles `cycle`'s cluster owes, older than `before_ms`, page by page.
    fn replay(&mut self, cycle: &ClusterExport, before_ms: i64) -> Sent {
        let id = cycle.cluster_id;
        let progress = self.progress(id);
        let Some(owed_from) = progress.owed_from else {
            return Sent::Done;
        };
        let mut after = progress.sent_until.unwrap_or(owed_from.saturating_sub(1));
        let mut state = Replay {
            cluster_id: id,
            cluster: cycle.cluster.clone(),
            interval: cycle.interval,
            failed_cycles: 0,
            last_success_at: None,
        };
        // The stored snapshots owed, for the backlog shown while they are sent.
        let stored = self
            .store
            .count_snapshots(
                id,
                replay::from_ms(after + 1),
                replay::from_ms(before_ms - 1),
            )
            .unwrap_or(0);
        self.queue.set_stored_backlog(stored);
        let mut sent_snapshots = 0;
        loop {
            let page = match replay::read_page(&self.store, &mut state, after, before_ms) {
                Ok(page) => page,
                Err(e) => {
                    // The cycles stay owed; the next cycle of the cluster tries again.
                    let turn = self.store_failures.failed(Instant::now());
                    failure_log::warn(
                        turn,
                        format_args!(
                            "Remote write to {}: cannot read the missed cycles of cluster {} \
                             from the store. error={e}",
                            self.target.url(),
                            cycle.cluster
                        ),
                    );
                    return Sent::Owed;
                }
            };
            let Some(last) = page.last() else { break };
            let last_ms = timestamp_ms(last);
            let mut pending = self.empty_request();
            for missed in &page {
                add(&mut pending, missed, timestamp_ms(missed));
            }
            if self.send(pending) == Sent::Stopped {
                return Sent::Stopped;
            }
            sent_snapshots += page.iter().filter(|c| c.is_up()).count() as u64;
            self.queue
                .set_stored_backlog(stored.saturating_sub(sent_snapshots));
            after = last_ms;
        }
        self.store_failures.succeeded();
        self.queue.set_stored_backlog(0);
        if let Some(p) = self.clusters.get_mut(&id) {
            p.owed_from = None;
        }
        Sent::Done
    }

    /// Posts `pending` until it is delivered or refused, or the writer stops; then records
    /// the progress of its clusters.
    fn send(&mut self, pending: Pending) -> Sent {
        if pending.builder.is_empty() {
            return Sent::Done;
        }
        let samples = pending.builder.samples();
        let url = self.target.url().to_owned();
        let body = match proto::encode(&pending.builder.finish()) {
            Ok(body) => body,
            Err(e) => {
                // Snappy refuses only inputs beyond 4 GiB; a request is far smaller.
                log::warn!("Remote write to {url}: cannot compress a request. error={e}");
                self.queue
                    .record_error(e.to_string(), OffsetDateTime::now_utc(), Some(samples));
                return Sent::Done;
            }
        };
        self.queue.set_oldest_unsent(pending.oldest_ms);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = rockscope_notify::post(
                &self.agent,
                &self.target.endpoint,
                &HEADERS,
                &body,
                self.target.timeout,
            );
            let now = OffsetDateTime::now_utc();
            let (error, retry_after) = match outcome {
                Attempt::Delivered => {
                    self.queue.record_sent(samples, now);
                    if let Some(times) = self.failures.succeeded() {
                        log::info!("Remote write to {url} works again after {times} failures.");
                    }
                    break;
                }
                Attempt::Refused { error } => {
                    let turn = self.failures.failed(Instant::now());
                    failure_log::warn(
                        turn,
                        format_args!(
                            "Remote write to {url} refused a request; its {samples} samples are \
                             dropped: {error}"
                        ),
                    );
                    self.queue.record_error(error, now, Some(samples));
                    break;
                }
                Attempt::Failed { error, retry_after } => (error, retry_after),
            };
            let turn = self.failures.failed(Instant::now());
            failure_log::warn(
                turn,
                format_args!("Remote write to {url} failed; will retry: {error}"),
            );
            self.queue.record_error(error, now, None);
            if !self
                .queue
                .sleep(retry::backoff(attempt, retry_after, retry::jitter()))
            {
                return Sent::Stopped;
            }
        }
        self.queue.set_oldest_unsent(None);
        self.record_progress(&pending.newest);
        Sent::Done
    }

    /// `newest` (cluster → newest cycle sent) in memory and in the store.
    fn record_progress(&mut self, newest: &HashMap<i64, i64>) {
        let mut rows = Vec::with_capacity(newest.len());
        for (&id, &ms) in newest {
            let progress = self.clusters.entry(id).or_default();
            progress.sent_until = Some(progress.sent_until.map_or(ms, |s| s.max(ms)));
            rows.push((id, replay::from_ms(ms)));
        }
        match self
            .store
            .save_remote_write_progress(self.target.url(), &rows)
        {
            Ok(()) => {
                self.store_failures.succeeded();
            }
            Err(e) => {
                // In memory it moved on; after a restart the cycles since are sent again
                // (a receiver takes a sample it already has).
                let turn = self.store_failures.failed(Instant::now());
                failure_log::warn(
                    turn,
                    format_args!(
                        "Remote write to {}: cannot record how far it was sent. error={e}",
                        self.target.url()
                    ),
                );
            }
        }
    }
}

/// Adds `cycle` (collected at `at` ms) to `pending`.
fn add(pending: &mut Pending, cycle: &ClusterExport, at: i64) {
    pending.builder.add_cycle(cycle);
    let newest = pending.newest.entry(cycle.cluster_id).or_insert(at);
    *newest = (*newest).max(at);
    pending.oldest_ms = Some(pending.oldest_ms.map_or(at, |o| o.min(at)));
}
