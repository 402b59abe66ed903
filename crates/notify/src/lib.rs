//! Alert delivery: the alerts the evaluator produced for a cluster go to Alertmanagers (API v2,
//! `POST /api/v2/alerts`, at Prometheus' cadence) and to plain webhooks (Alertmanager's
//! webhook message, version 4, at Alertmanager's cadence).
//!
//! [`Notifier::submit`] decides what is due (`due`, pure), builds the bodies (`payload`, pure)
//! and queues them; one worker thread per receiver posts them (`worker`), with retries and a
//! bounded queue, so a dead or hung receiver never holds up the caller. Delivery is described in
//! `docs/ALERTS.md`.
//!
//! Remote write (`rockscope-remote-write`) pushes through the same parts: a checked
//! [`Endpoint`] (URL, credentials, what to scrub), [`post`] and its [`Attempt`], and the
//! [`failure_log`] of a receiver that keeps failing.

mod config;
mod due;
mod endpoint;
pub mod failure_log;
mod http;
mod payload;
mod queue;
mod retry;
mod scrub;
mod worker;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rockscope_model::alert::{Alert, AlertState};
use time::OffsetDateTime;

pub use config::{BasicAuth, ConfigError, NotifyConfig, ReceiverConfig, Secret};
pub use endpoint::{Endpoint, ReceiverKind};
pub use http::{Attempt, agent, post};
pub use queue::ReceiverStatus;

use crate::due::{Cadence, Receivers};
use crate::queue::{Notification, Queue};
use crate::worker::Worker;

/// How long shutdown lets the workers deliver what is queued (one attempt each).
const SHUTDOWN_DRAIN: Duration = Duration::from_millis(800);
/// How long shutdown waits for the workers in all; a worker still in a call then is left to
/// end on its own (its call's timeout bounds it).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// One receiver: its endpoint (for the status), queue and worker.
struct Receiver {
    kind: ReceiverKind,
    redacted_url: String,
    queue: Arc<Queue>,
    worker: JoinHandle<()>,
}

/// Checks `config` as [`Notifier::start`] does (URLs, credentials, token files, settings),
/// without starting anything: for `check-config`.
pub fn check(config: &NotifyConfig) -> Result<(), ConfigError> {
    endpoints(config).map(drop)
}

/// Every receiver of `config` as a checked endpoint, Alertmanagers first.
fn endpoints(config: &NotifyConfig) -> Result<Vec<Endpoint>, ConfigError> {
    config.validate()?;
    let alertmanagers = config
        .alertmanagers
        .iter()
        .map(|r| Endpoint::new(ReceiverKind::Alertmanager, r));
    let webhooks = config
        .webhooks
        .iter()
        .map(|r| Endpoint::new(ReceiverKind::Webhook, r));
    alertmanagers.chain(webhooks).collect()
}

/// Delivers alerts to the configured receivers; see the crate's documentation.
pub struct Notifier {
    receivers: Vec<Receiver>,
    cadence: Cadence,
    /// rockscope's base URL without a trailing `/`.
    external_url: String,
}

impl Notifier {
    /// Checks `config` (every URL must be `http://host[:port][/path]`; one kind of credentials
    /// per receiver) and starts one worker thread per receiver.
    pub fn start(config: NotifyConfig) -> Result<Notifier, ConfigError> {
        let endpoints = endpoints(&config)?;
        let mut notifier = Notifier {
            receivers: Vec::with_capacity(endpoints.len()),
            cadence: Cadence {
                resend_delay: config.resend_delay,
                repeat_interval: config.repeat_interval,
            },
            external_url: config.external_url.trim_end_matches('/').to_owned(),
        };
        for (n, endpoint) in endpoints.into_iter().enumerate() {
            let queue = Arc::new(Queue::new(config.queue_capacity));
            let (kind, redacted_url) = (endpoint.kind, endpoint.redacted_url.clone());
            let worker = Worker::new(endpoint, Arc::clone(&queue), config.timeout);
            let spawned = std::thread::Builder::new()
                .name(format!("notify-{}-{n}", kind.as_str()))
                .spawn(move || worker.run());
            match spawned {
                Ok(worker) => notifier.receivers.push(Receiver {
                    kind,
                    redacted_url,
                    queue,
                    worker,
                }),
                Err(e) => {
                    notifier.shutdown();
                    return Err(ConfigError::Thread(e.to_string()));
                }
            }
        }
        Ok(notifier)
    }

    /// Queues what is due of one cluster's `alerts` (all of them, after the cluster's
    /// evaluation at `now`) and marks each queued alert's `last_sent_at`/`last_sent_state`; the
    /// caller then stores the alerts, so that a restart continues where this left off.
    ///
    /// Never blocks on a receiver and never fails: a full queue drops its oldest notification
    /// (counted in the status).
    pub fn submit(
        &self,
        cluster_id: i64,
        cluster_name: &str,
        alerts: &mut [Alert],
        eval_interval: Duration,
        now: OffsetDateTime,
    ) {
        let has = |kind| self.receivers.iter().any(|r| r.kind == kind);
        let receivers = Receivers {
            alertmanagers: has(ReceiverKind::Alertmanager),
            webhooks: has(ReceiverKind::Webhook),
        };
        let plan = due::plan(alerts, now, self.cadence, receivers);
        let queued = plan.queued();
        if queued.is_empty() {
            return;
        }
        // Prometheus: endsAt = now + 4 × max(resend delay, evaluation interval).
        let ahead = 4 * self.cadence.resend_delay.max(eval_interval);
        let ctx = payload::Context {
            cluster_id,
            cluster_name,
            external_url: &self.external_url,
            firing_ends_at: now.saturating_add(ahead.try_into().unwrap_or(time::Duration::MAX)),
        };
        let pick =
            |indices: &[usize]| -> Vec<&Alert> { indices.iter().map(|&i| &alerts[i]).collect() };
        if !plan.alertmanager.is_empty() {
            let batch = pick(&plan.alertmanager);
            let firing = batch.iter().any(|a| a.state == AlertState::Firing);
            let left = ctx.firing_ends_at - OffsetDateTime::now_utc();
            self.push(
                ReceiverKind::Alertmanager,
                Notification {
                    body: payload::alertmanager_body(&batch, &ctx).into(),
                    send_by: firing
                        .then(|| Instant::now() + Duration::try_from(left).unwrap_or_default()),
                },
            );
        }
        for group in &plan.webhook_groups {
            let notification = Notification {
                body: payload::webhook_body(&pick(group), &ctx).into(),
                send_by: None,
            };
            self.push(ReceiverKind::Webhook, notification);
        }
        for i in queued {
            alerts[i].last_sent_at = Some(now);
            alerts[i].last_sent_state = Some(alerts[i].state);
        }
    }

    /// Queues `notification` for every receiver of `kind`.
    fn push(&self, kind: ReceiverKind, notification: Notification) {
        for receiver in self.receivers.iter().filter(|r| r.kind == kind) {
            let dropped = receiver.queue.push(notification.clone());
            if dropped > 0 {
                log::debug!(
                    "Alert delivery to {} {}: queue full, dropped the oldest notification.",
                    kind.as_str(),
                    receiver.redacted_url
                );
            }
        }
    }

    /// Every receiver's delivery counts and last error, Alertmanagers first, in configuration
    /// order.
    pub fn status(&self) -> Vec<ReceiverStatus> {
        self.receivers
            .iter()
            .map(|r| r.queue.status(r.kind, &r.redacted_url))
            .collect()
    }

    /// Stops the workers: what is queued gets one more attempt each while time allows, and this
    /// returns within about a second even when a receiver hangs (its worker is left to end by
    /// its call's timeout). Undelivered notifications are counted as dropped and logged.
    pub fn shutdown(self) {
        let started = Instant::now();
        for receiver in &self.receivers {
            receiver.queue.close(started + SHUTDOWN_DRAIN);
        }
        while self.receivers.iter().any(|r| !r.worker.is_finished())
            && started.elapsed() < SHUTDOWN_WAIT
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        for receiver in self.receivers {
            let status = receiver.queue.status(receiver.kind, &receiver.redacted_url);
            if status.dropped > 0 || !receiver.worker.is_finished() {
                log::warn!(
                    "Alert delivery to {} {} stopped; {} notifications dropped since start{}.",
                    receiver.kind.as_str(),
                    receiver.redacted_url,
                    status.dropped,
                    if receiver.worker.is_finished() {
                        ""
                    } else {
                        " and a call still in flight"
                    }
                );
            }
            if receiver.worker.is_finished() {
                // A worker that panicked has nothing more to say than its panic message did.
                let _ = receiver.worker.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notifier_can_be_shared_between_the_collector_s_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Notifier>();
    }
}
