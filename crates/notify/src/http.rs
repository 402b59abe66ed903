//! One POST to an [`Endpoint`] and what came of it, shared by alert delivery and remote write:
//! plain HTTP through an agent that follows no redirect and no proxy, every call bounded in
//! time, the answer judged by `retry::verdict`, and whatever the receiver says scrubbed of the
//! endpoint's secrets before it becomes an error.

use std::io::Read;
use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::retry::{self, Verdict};

/// Bytes of a refusal's body kept for the error.
const ERROR_BODY_BYTES: u64 = 4096;
/// Bytes of a success's body read (and thrown away), so the connection can be reused.
const OK_BODY_BYTES: u64 = 64 * 1024;

/// How one POST went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// A 2xx answer.
    Delivered,
    /// Worth another try (a transport error, 429 or 5xx), after `retry_after` when the receiver
    /// said.
    Failed {
        /// What went wrong, scrubbed.
        error: String,
        /// The receiver's `Retry-After`, in seconds.
        retry_after: Option<Duration>,
    },
    /// Another try of the same body cannot help (another 4xx, a redirect).
    Refused {
        /// What the receiver said, scrubbed.
        error: String,
    },
}

/// The agent posts go through: every call ends within `timeout` (unless [`post`] is given
/// less).
pub fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        // Statuses are judged by `retry::verdict`, with the body's start as the reason.
        .http_status_as_error(false)
        // A redirect of a POST is not followed (ureq would turn it into a GET).
        .max_redirects(0)
        // Receivers are addressed directly, never through a proxy from the environment.
        .proxy(None)
        .timeout_global(Some(timeout))
        .user_agent(concat!("rockscope/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// One POST of `body` with `headers` (and the endpoint's `Authorization`) to `endpoint`,
/// ending within `limit`.
pub fn post(
    agent: &ureq::Agent,
    endpoint: &Endpoint,
    headers: &[(&str, &str)],
    body: &[u8],
    limit: Duration,
) -> Attempt {
    let mut request = agent
        .post(&endpoint.post_url)
        .config()
        .timeout_global(Some(limit))
        .build();
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(authorization) = &endpoint.authorization {
        request = request.header("Authorization", authorization.expose());
    }
    let mut response = match request.send(body) {
        Ok(response) => response,
        Err(e) => {
            return Attempt::Failed {
                error: endpoint.scrubber.excerpt(&e.to_string()),
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
        endpoint.scrubber.excerpt(&format!("HTTP {status}: {text}"))
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
