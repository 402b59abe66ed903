//! [`ClientError`] and [`Endpoint`].

use std::fmt;
use std::time::Duration;

use crate::addr::{AddrParseError, NodeAddr};
use crate::scrub::Scrubber;

/// The StarRocks HTTP endpoints this client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /metrics` of an FE, BE or CN.
    Metrics,
    /// `GET /api/show_proc?path=/backends&forward=true` of an FE.
    ShowBackends,
    /// `GET /api/show_proc?path=/frontends&forward=true` of an FE.
    ShowFrontends,
    /// `GET /api/show_proc?path=/compute_nodes&forward=true` of an FE.
    ShowComputeNodes,
    /// `GET /api/show_runtime_info` of an FE.
    RuntimeInfo,
    /// `GET /api/health` of an FE, BE or CN.
    Health,
}

impl Endpoint {
    /// Path and query as requested.
    pub fn path_and_query(self) -> &'static str {
        match self {
            Self::Metrics => "/metrics",
            Self::ShowBackends => "/api/show_proc?path=/backends&forward=true",
            Self::ShowFrontends => "/api/show_proc?path=/frontends&forward=true",
            Self::ShowComputeNodes => "/api/show_proc?path=/compute_nodes&forward=true",
            Self::RuntimeInfo => "/api/show_runtime_info",
            Self::Health => "/api/health",
        }
    }

    /// A short stable name, fit for a metric label (`metrics`, `show_backends`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Metrics => "metrics",
            Self::ShowBackends => "show_backends",
            Self::ShowFrontends => "show_frontends",
            Self::ShowComputeNodes => "show_compute_nodes",
            Self::RuntimeInfo => "show_runtime_info",
            Self::Health => "health",
        }
    }

    fn is_show_proc(self) -> bool {
        matches!(
            self,
            Self::ShowBackends | Self::ShowFrontends | Self::ShowComputeNodes
        )
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path_and_query())
    }
}

/// Which timeout expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutPhase {
    /// Establishing the connection (DNS lookup included): the connect timeout.
    Connect,
    /// Waiting for or reading the response: the request timeout.
    Request,
    /// The caller's deadline ([`ClusterClient::with_deadline`](crate::ClusterClient::with_deadline))
    /// came before the request timeout would have: the limit is what was left of it when the
    /// request started.
    Deadline,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::Request => "request",
            Self::Deadline => "deadline",
        })
    }
}

/// Why a call to a StarRocks node failed. Every variant about a call names the node
/// (`host:port`) and the [`Endpoint`]; [`ClientError::code`] gives a stable label.
///
/// Never holds the password: text a node sent (excerpts, details) is scrubbed of the client's
/// credentials (password, `user:password`, its Base64 form) before it is kept, and excerpts are
/// capped at 200 characters.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node refused the TCP connection (nothing listens on the port, or a firewall rejects).
    #[error("{node} {endpoint}: connection refused")]
    ConnectRefused {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
    },
    /// The node's host name could not be resolved.
    #[error("{node} {endpoint}: DNS lookup of {host:?} failed: {detail}", host = node.host)]
    Dns {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
        /// The resolver's message.
        detail: String,
    },
    /// The connect or the request timeout, or the caller's deadline, expired.
    #[error("{node} {endpoint}: {}", fmt_timeout(*phase, *limit))]
    Timeout {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
        /// Which timeout.
        phase: TimeoutPhase,
        /// Its configured value (for [`TimeoutPhase::Deadline`]: what was left of the deadline).
        limit: Duration,
    },
    /// HTTP 401 or 403: bad credentials or missing privileges.
    #[error(
        "{node} {endpoint}: HTTP {status}, access denied ({hint}){}",
        fmt_excerpt(excerpt)
    )]
    Unauthorized {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
        /// 401 or 403.
        status: u16,
        /// What to check.
        hint: &'static str,
        /// The start of the response body (StarRocks' JSON error), possibly empty.
        excerpt: String,
    },
    /// Any other non-2xx HTTP status.
    #[error("{node} {endpoint}: HTTP {status}{}", fmt_excerpt(excerpt))]
    HttpStatus {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
        /// The status code.
        status: u16,
        /// The start of the response body, possibly empty.
        excerpt: String,
    },
    /// The response body exceeded the configured cap.
    #[error("{node} {endpoint}: response body larger than the {limit}-byte cap")]
    BodyTooLarge {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
        /// The configured cap, in bytes.
        limit: u64,
    },
    /// The body arrived but is not what the endpoint sends (bad JSON, plain-text error, rows with
    /// unreadable required columns, …).
    #[error("{node} {endpoint}: malformed body: {detail}")]
    MalformedBody {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
        /// What was wrong, with a short excerpt of the body where useful.
        detail: String,
    },
    /// Any other transport failure: connection reset or closed early (e.g. a body shorter than
    /// its `Content-Length`), an invalid HTTP response, …
    #[error("{node} {endpoint}: {detail}")]
    Io {
        /// The node called.
        node: NodeAddr,
        /// The endpoint called.
        endpoint: Endpoint,
        /// What happened.
        detail: String,
    },
    /// An entry point given as `"host:port"` text could not be parsed.
    #[error(transparent)]
    InvalidAddress(#[from] AddrParseError),
    /// [`ClusterClient::leader_view`](crate::ClusterClient::leader_view): no FE entry point
    /// answered; holds the error of each attempt, in order.
    #[error("no FE entry point answered ({} tried){}", attempts.len(), fmt_attempts(attempts))]
    AllEntryPointsFailed {
        /// One error per entry point tried, in order.
        attempts: Vec<ClientError>,
    },
}

/// The hint attached to 401/403 answers.
pub(crate) const SHOW_PROC_AUTH_HINT: &str = "check the user and password; /api/show_proc needs \
     user root, a user with the root role, or one with both db_admin and user_admin";
/// The hint attached to 401/403 answers of endpoints other than `show_proc`.
pub(crate) const AUTH_HINT: &str = "check the user and password";

impl ClientError {
    /// A stable short name of the failure kind, for metric labels and logs: `connect_refused`,
    /// `dns`, `timeout`, `unauthorized`, `http_status`, `body_too_large`, `malformed_body`, `io`;
    /// plus `invalid_address` and `all_failed` for the entry-point helpers.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ConnectRefused { .. } => "connect_refused",
            Self::Dns { .. } => "dns",
            Self::Timeout { .. } => "timeout",
            Self::Unauthorized { .. } => "unauthorized",
            Self::HttpStatus { .. } => "http_status",
            Self::BodyTooLarge { .. } => "body_too_large",
            Self::MalformedBody { .. } => "malformed_body",
            Self::Io { .. } => "io",
            Self::InvalidAddress(_) => "invalid_address",
            Self::AllEntryPointsFailed { .. } => "all_failed",
        }
    }

    /// The node the failed call went to, if the error is about one call.
    pub fn node(&self) -> Option<&NodeAddr> {
        match self {
            Self::ConnectRefused { node, .. }
            | Self::Dns { node, .. }
            | Self::Timeout { node, .. }
            | Self::Unauthorized { node, .. }
            | Self::HttpStatus { node, .. }
            | Self::BodyTooLarge { node, .. }
            | Self::MalformedBody { node, .. }
            | Self::Io { node, .. } => Some(node),
            Self::InvalidAddress(_) | Self::AllEntryPointsFailed { .. } => None,
        }
    }

    /// The endpoint of the failed call, if the error is about one call.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Self::ConnectRefused { endpoint, .. }
            | Self::Dns { endpoint, .. }
            | Self::Timeout { endpoint, .. }
            | Self::Unauthorized { endpoint, .. }
            | Self::HttpStatus { endpoint, .. }
            | Self::BodyTooLarge { endpoint, .. }
            | Self::MalformedBody { endpoint, .. }
            | Self::Io { endpoint, .. } => Some(*endpoint),
            Self::InvalidAddress(_) | Self::AllEntryPointsFailed { .. } => None,
        }
    }

    pub(crate) fn unauthorized(
        node: &NodeAddr,
        endpoint: Endpoint,
        status: u16,
        excerpt: String,
    ) -> Self {
        Self::Unauthorized {
            node: node.clone(),
            endpoint,
            status,
            hint: if endpoint.is_show_proc() {
                SHOW_PROC_AUTH_HINT
            } else {
                AUTH_HINT
            },
            excerpt,
        }
    }

    /// The error with the client's credentials removed from every text that came from a node
    /// or the transport (excerpts and details, also of each attempt).
    pub(crate) fn scrubbed(self, scrubber: &Scrubber) -> Self {
        let clean = |text: String| match scrubber.scrub(&text) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(clean) => clean,
        };
        match self {
            Self::Unauthorized {
                node,
                endpoint,
                status,
                hint,
                excerpt,
            } => Self::Unauthorized {
                node,
                endpoint,
                status,
                hint,
                excerpt: clean(excerpt),
            },
            Self::HttpStatus {
                node,
                endpoint,
                status,
                excerpt,
            } => Self::HttpStatus {
                node,
                endpoint,
                status,
                excerpt: clean(excerpt),
            },
            Self::MalformedBody {
                node,
                endpoint,
                detail,
            } => Self::MalformedBody {
                node,
                endpoint,
                detail: clean(detail),
            },
            Self::Io {
                node,
                endpoint,
                detail,
            } => Self::Io {
                node,
                endpoint,
                detail: clean(detail),
            },
            Self::Dns {
                node,
                endpoint,
                detail,
            } => Self::Dns {
                node,
                endpoint,
                detail: clean(detail),
            },
            Self::AllEntryPointsFailed { attempts } => Self::AllEntryPointsFailed {
                attempts: attempts.into_iter().map(|e| e.scrubbed(scrubber)).collect(),
            },
            other => other,
        }
    }

    /// A body that is not what `endpoint` sends, described by `parse`'s error. When the body
    /// holds the credentials, the description is made from a scrubbed copy instead, so that no
    /// excerpt in it can carry (part of) them.
    pub(crate) fn malformed_body<T>(
        node: &NodeAddr,
        endpoint: Endpoint,
        body: &[u8],
        detail: String,
        parse: impl FnOnce(&[u8]) -> Result<T, String>,
        scrubber: &Scrubber,
    ) -> Self {
        let detail = if scrubber.finds_secret_in(body) {
            parse(&scrubber.scrub_bytes(body))
                .err()
                .unwrap_or_else(|| "the body held the cluster's credentials".to_owned())
        } else {
            detail
        };
        Self::malformed(node, endpoint, detail).scrubbed(scrubber)
    }

    pub(crate) fn malformed(
        node: &NodeAddr,
        endpoint: Endpoint,
        detail: impl Into<String>,
    ) -> Self {
        Self::MalformedBody {
            node: node.clone(),
            endpoint,
            detail: detail.into(),
        }
    }
}

fn fmt_timeout(phase: TimeoutPhase, limit: Duration) -> String {
    match phase {
        TimeoutPhase::Deadline => format!(
            "no answer within the {} ms left before the deadline",
            limit.as_millis()
        ),
        _ => format!("{phase} timeout of {} ms expired", limit.as_millis()),
    }
}

fn fmt_excerpt(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    }
}

fn fmt_attempts(attempts: &[ClientError]) -> String {
    let mut out = String::new();
    for attempt in attempts {
        out.push_str("; ");
        out.push_str(&attempt.to_string());
    }
    out
}

/// Maximum characters of a body kept in an error.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// A short, single-line, printable excerpt of a body for error messages.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let mut out = String::new();
    let mut chars = 0;
    let mut last_space = false;
    for c in text.chars() {
        if chars == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        let c = if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
        chars += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeAddr {
        NodeAddr::new("fe1", 8030)
    }

    #[test]
    fn messages_name_node_and_endpoint() {
        let e = ClientError::unauthorized(&node(), Endpoint::ShowBackends, 401, String::new());
        let text = e.to_string();
        assert!(
            text.starts_with("fe1:8030 /api/show_proc?path=/backends"),
            "{text}"
        );
        assert!(text.contains("root role"), "{text}");
        assert!(text.contains("db_admin"), "{text}");
        assert_eq!(e.code(), "unauthorized");
        assert_eq!(e.node(), Some(&node()));
        assert_eq!(e.endpoint(), Some(Endpoint::ShowBackends));

        let e = ClientError::Timeout {
            node: node(),
            endpoint: Endpoint::Metrics,
            phase: TimeoutPhase::Request,
            limit: Duration::from_millis(1500),
        };
        assert_eq!(
            e.to_string(),
            "fe1:8030 /metrics: request timeout of 1500 ms expired"
        );
        let cut = ClientError::Timeout {
            node: node(),
            endpoint: Endpoint::Metrics,
            phase: TimeoutPhase::Deadline,
            limit: Duration::from_millis(320),
        };
        assert_eq!(
            cut.to_string(),
            "fe1:8030 /metrics: no answer within the 320 ms left before the deadline"
        );
        assert_eq!(cut.code(), "timeout");

        let all = ClientError::AllEntryPointsFailed {
            attempts: vec![
                e,
                ClientError::malformed(&node(), Endpoint::ShowFrontends, "x"),
            ],
        };
        assert_eq!(all.code(), "all_failed");
        assert!(all.to_string().contains("2 tried"));
        assert!(all.to_string().contains("malformed body: x"));
    }

    #[test]
    fn excerpts_are_short_and_single_line() {
        assert_eq!(excerpt(b"  a\n\n b\tc  "), "a b c");
        let long = vec![b'x'; 1000];
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt(&[0xff, 0xfe, b'a']), "\u{fffd}\u{fffd}a");
    }
}
