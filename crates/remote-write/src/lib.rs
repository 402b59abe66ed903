//! Prometheus remote write 1.0 of every cluster's cycles, to the endpoints of
//! `[[export.remote_write]]`, with the same series names and labels as `/metrics`.
//!
//! # Overview
//!
//! * [`RemoteWriter`]: a [`CycleSink`] the collector hands each cluster's finished cycle to.
//!   It only queues (one bounded queue per endpoint) and never blocks the collector.
//! * One worker thread per endpoint (`worker`) fills requests with whole cycles, up to about
//!   10,000 samples each, encodes them (`proto`: protobuf `prometheus.WriteRequest` + snappy
//!   block format, pure) and posts them with `rockscope-notify`'s HTTP parts (plain HTTP, a
//!   timeout on every call, credentials scrubbed from whatever the receiver answers).
//! * Delivery (`retry`): a transport error, 429 or 5xx is retried with capped, jittered
//!   exponential backoff, until it goes through; another 4xx drops the request (logged once,
//!   then every five minutes while it repeats, and counted).
//! * Nothing is lost: the store records, per endpoint and cluster, how far the cycles were
//!   sent. Cycles a full queue turned away, and cycles stored while rockscope was stopped, are
//!   read back from the store (`replay`) oldest first, up to what retention kept, before any
//!   newer cycle of that cluster is sent.
//!
//! **Invariant:** a series' samples reach the endpoint in time order (Prometheus refuses an
//! out-of-order sample): a cluster's cycles are sent oldest first, a request is done with
//! before the next is filled, and a cycle older than what was sent is skipped.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod config;
#[cfg(test)]
mod fixtures;
pub mod proto;
mod queue;
mod replay;
mod retry;
#[cfg(test)]
mod tests;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rockscope_export::{ClusterExport, CycleSink};
use rockscope_store::Store;
use time::OffsetDateTime;

pub use config::{ConfigError, EndpointConfig, RESERVED_LABELS, check};
pub use queue::EndpointStatus;

use crate::queue::Queue;
use crate::worker::Worker;

/// How long [`RemoteWriter::shutdown`] waits for the workers; one still in a call then is left
/// to end on its own (its call's timeout bounds it). What it had not sent is still owed: the
/// store has it, and the next start sends it.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// One endpoint: its shown URL, queue and worker.
struct Writer {
    url: String,
    queue: Arc<Queue>,
    worker: JoinHandle<()>,
}

/// Writes every cluster's cycles to the configured endpoints; see the crate's documentation.
pub struct RemoteWriter {
    writers: Vec<Writer>,
}

impl RemoteWriter {
    /// Checks `endpoints` (as [`check`] does) and starts one worker thread per endpoint, which
    /// reads and writes its progress in `store`. Progress of endpoints no longer configured is
    /// forgotten.
    pub fn start(endpoints: &[EndpointConfig], store: Store) -> Result<Arc<Self>, ConfigError> {
        let targets = config::targets(endpoints)?;
        let urls: Vec<&str> = targets.iter().map(|t| t.url()).collect();
        if let Err(e) = store.forget_remote_write_endpoints(&urls) {
            log::warn!("Remote write: cannot forget the progress of removed endpoints. error={e}");
        }
        let mut writer = RemoteWriter {
            writers: Vec::with_capacity(targets.len()),
        };
        for (n, target) in targets.into_iter().enumerate() {
            let queue = Arc::new(Queue::new(target.queue_capacity));
            let url = target.url().to_owned();
            let worker = Worker::new(target, Arc::clone(&queue), store.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("remote-write-{n}"))
                .spawn(move || worker.run());
            match spawned {
                Ok(handle) => writer.writers.push(Writer {
                    url,
                    queue,
                    worker: handle,
                }),
                Err(e) => {
                    writer.stop_all();
                    return Err(ConfigError::Thread(e.to_string()));
                }
            }
        }
        Ok(Arc::new(writer))
    }

    /// Every endpoint's queue, backlog and counts, in configuration order.
    pub fn status(&self) -> Vec<EndpointStatus> {
        let now = OffsetDateTime::now_utc();
        self.writers
            .iter()
            .map(|w| w.queue.status(&w.url, now))
            .collect()
    }

    /// Stops the workers and waits for them for about a second at most.
    pub fn shutdown(&self) {
        self.stop_all();
    }

    fn stop_all(&self) {
        for writer in &self.writers {
            writer.queue.stop();
        }
        let deadline = Instant::now() + SHUTDOWN_WAIT;
        for writer in &self.writers {
            while !writer.worker.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if !writer.worker.is_finished() {
                log::debug!(
                    "Remote write to {}: the worker is still in a call; leaving it.",
                    writer.url
                );
            }
        }
    }
}

impl CycleSink for RemoteWriter {
    fn cycle_finished(&self, cycle: &Arc<ClusterExport>) {
        for writer in &self.writers {
            if !writer.queue.push(cycle) {
                log::debug!(
                    "Remote write to {}: queue full; cluster {}'s cycle will be read back from \
                     the store.",
                    writer.url,
                    cycle.cluster
                );
            }
        }
    }

    fn retain_clusters(&self, cluster_ids: &[i64]) {
        for writer in &self.writers {
            writer.queue.retain(cluster_ids);
        }
    }
}
