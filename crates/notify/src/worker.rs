//! A receiver's worker thread: takes notifications from its [`Queue`] one at a time and POSTs
//! them, retrying with backoff (see `retry`), so that a slow or dead receiver holds up only its
//! own queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::endpoint::Endpoint;
use crate::failure_log::{self, FailureLog};
use crate::http::{self, Attempt};
use crate::queue::{Notification, Queue};
use crate::retry::{self, MAX_ATTEMPTS};

/// One receiver's worker.
pub(crate) struct Worker {
    endpoint: Endpoint,
    queue: Arc<Queue>,
    agent: ureq::Agent,
    timeout: Duration,
    failures: FailureLog,
}

impl Worker {
    pub(crate) fn new(endpoint: Endpoint, queue: Arc<Queue>, timeout: Duration) -> Self {
        Self {
            agent: http::agent(timeout),
            endpoint,
            queue,
            timeout,
            failures: FailureLog::default(),
        }
    }

    /// Delivers until shutdown.
    pub(crate) fn run(mut self) {
        while let Some(notification) = self.queue.next() {
            self.deliver(&notification);
        }
    }

    /// Tries `notification` until it is delivered, refused, out of attempts or time, or
    /// shutdown begins.
    fn deliver(&mut self, notification: &Notification) {
        for attempt in 1..=MAX_ATTEMPTS {
            let limit = self.queue.call_limit(self.timeout);
            let late = notification
                .send_by
                .is_some_and(|by| Instant::now() + limit > by);
            if limit.is_zero() || late {
                // Shutdown's drain time is over, or the call could end after the alerts'
                // endsAt: no call at all (the next resend carries the firing alerts again).
                log::debug!(
                    "Alert delivery to {} {}: notification dropped ({}).",
                    self.endpoint.kind.as_str(),
                    self.endpoint.redacted_url,
                    if late {
                        "too late to send"
                    } else {
                        "shutting down"
                    }
                );
                self.queue.record_abandoned();
                return;
            }
            let (error, retry_after, refused) = match self.attempt(&notification.body, limit) {
                Attempt::Delivered => {
                    self.queue.record_sent(OffsetDateTime::now_utc());
                    if let Some(times) = self.failures.succeeded() {
                        log::info!(
                            "Alert delivery to {} {} works again after {times} failed attempts.",
                            self.endpoint.kind.as_str(),
                            self.endpoint.redacted_url
                        );
                    }
                    return;
                }
                Attempt::Failed { error, retry_after } => (error, retry_after, false),
                Attempt::Refused { error } => (error, None, true),
            };
            let given_up = refused || attempt == MAX_ATTEMPTS;
            let turn = self.failures.failed(Instant::now());
            let outcome = if refused {
                "refused; the notification is dropped"
            } else if given_up {
                "failed; no attempts left, the notification is dropped"
            } else {
                "failed; will retry"
            };
            failure_log::warn(
                turn,
                format_args!(
                    "Alert delivery to {} {} {outcome}: {error}",
                    self.endpoint.kind.as_str(),
                    self.endpoint.redacted_url
                ),
            );
            self.queue
                .record_error(error, OffsetDateTime::now_utc(), given_up);
            if given_up {
                return;
            }
            if !self
                .queue
                .wait_to_retry(retry::backoff(attempt, retry_after))
            {
                self.queue.record_abandoned();
                return;
            }
        }
    }

    /// One POST of `body`, ending within `limit`.
    fn attempt(&self, body: &[u8], limit: Duration) -> Attempt {
        let json = [("Content-Type", "application/json")];
        http::post(&self.agent, &self.endpoint, &json, body, limit)
    }
}
