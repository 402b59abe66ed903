//! A receiver's worker thread: takes notifications from its [`Queue`] one at a time and POSTs
//! them, retrying with backoff (see `retry`), so that a slow or dead receiver holds up only its
//! own queue.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::endpoint::Endpoint;
use crate::failure_log::{self, FailureLog};
use crate::queue::{Notification, Queue};
use crate::retry::{self, MAX_ATTEMPTS, Verdict};

/// Bytes of a refusal's body kept for the error.
const ERROR_BODY_BYTES: u64 = 4096;
/// Bytes of a success's body read (and thrown away), so the connection can be reused.
const OK_BODY_BYTES: u64 = 64 * 1024;

/// How one attempt went.
#[derive(Debug)]
enum Attempt {
    Delivered,
    /// Worth another try, after `retry_after` when the receiver said.
    Failed {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Another try cannot help.
    Refused {
        error: String,
    },
}

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
        let agent = ureq::Agent::config_builder()
            // Statuses are judged by `retry::verdict`, with the body's start as the reason.
            .http_status_as_error(false)
            // A redirect of a POST is not followed (ureq would turn it into a GET).
            .max_redirects(0)
            // Receivers are addressed directly, never through a proxy from the environment.
            .proxy(None)
            .timeout_global(Some(timeout))
            .user_agent(concat!("rockscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Self {
            endpoint,
            queue,
            agent,
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
        let mut request = self
            .agent
            .post(&self.endpoint.post_url)
            .config()
            .timeout_global(Some(limit))
            .build()
            .header("Content-Type", "application/json");
        if let Some(authorization) = &self.endpoint.authorization {
            request = request.header("Authorization", authorization.expose());
        }
        let mut response = match request.send(body) {
            Ok(response) => response,
            Err(e) => {
                return Attempt::Failed {
                    error: self.endpoint.scrubber.excerpt(&e.to_string()),
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let verdict = retry::verdict(status);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let keep = if verdict == Verdict::Delivered {
            OK_BODY_BYTES
        } else {
            ERROR_BODY_BYTES
        };
        let mut head = Vec::new();
        // Best effort: a body cut short changes nothing about the verdict.
        let _ = response
            .body_mut()
            .as_reader()
            .take(keep)
            .read_to_end(&mut head);
        let error = || {
            let text = String::from_utf8_lossy(&head);
            self.endpoint
                .scrubber
                .excerpt(&format!("HTTP {status}: {text}"))
        };
        match verdict {
            Verdict::Delivered => Attempt::Delivered,
            Verdict::Retry => Attempt::Failed {
                error: error(),
                retry_after,
            },
            Verdict::Refused => Attempt::Refused { error: error() },
        }
    }
}
