//! The transport: one `ureq::Agent` per cluster, GET with Basic auth, bounded body reads, and the
//! mapping of every failure to a [`ClientError`].

use std::io::{self, Read};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use ureq::config::RedirectAuthHeaders;

use crate::addr::NodeAddr;
use crate::config::{ClientConfig, Secret};
use crate::error::{ClientError, Endpoint, TimeoutPhase};
use crate::scrub::Scrubber;

/// Bytes of an error response's body kept for the message.
const ERROR_BODY_BYTES: u64 = 4096;

/// Largest buffer allocated up front from a `Content-Length`.
const PREALLOCATE_MAX_BYTES: u64 = 8 * 1024 * 1024;
/// Idle connections kept per cluster (ureq's default of 10 would churn on clusters with more
/// nodes).
const MAX_IDLE_CONNECTIONS: usize = 1024;
/// Idle connections kept per node.
const MAX_IDLE_CONNECTIONS_PER_HOST: usize = 4;
/// Read buffer of a connection. Every kept-alive connection holds its buffers between cycles,
/// so ureq's defaults (128 KiB each way) would cost 256 KiB per node: 330 MB of resident memory
/// for 1,300 nodes. The buffer grows when a response head needs more; bodies stream through it.
const INPUT_BUFFER_BYTES: usize = 16 * 1024;
/// Write buffer of a connection: only request heads (a GET with Basic auth) go through it.
const OUTPUT_BUFFER_BYTES: usize = 4 * 1024;
/// How long an idle connection is kept: longer than rockscope's 30 s poll interval (ureq's
/// default, 15 s, would reconnect every cycle).
const MAX_IDLE_AGE: Duration = Duration::from_secs(75);

/// A complete successful response.
pub(crate) struct Fetched {
    /// The body, at most `max_body_bytes` long.
    pub body: Vec<u8>,
    /// When the body was complete.
    pub fetched_at: OffsetDateTime,
    /// From just before the request to the end of the body.
    pub duration: Duration,
}

/// The connection pool and the settings of one cluster. Clones share the pool.
#[derive(Clone)]
pub(crate) struct Transport {
    agent: ureq::Agent,
    /// `Basic base64(user:password)`.
    authorization: Secret,
    /// Removes the credentials from what nodes send back before it enters an error.
    scrubber: Scrubber,
    connect_timeout: Duration,
    request_timeout: Duration,
    max_body_bytes: u64,
    /// When every request must have ended, whatever the request timeout says.
    deadline: Option<Instant>,
}

/// How long a request may take, and why that long.
#[derive(Debug, Clone, Copy)]
struct Limit {
    whole_call: Duration,
    /// Whether the deadline cut the request timeout short.
    by_deadline: bool,
}

impl Transport {
    pub(crate) fn new(config: &ClientConfig) -> Self {
        let agent_config = ureq::Agent::config_builder()
            // Statuses are mapped by `get` (401/403 vs others, with a body excerpt).
            .http_status_as_error(false)
            // Monitoring talks to cluster-internal addresses: never through an HTTP(S)_PROXY
            // picked up from the environment.
            .proxy(None)
            .timeout_connect(Some(config.connect_timeout))
            // Resolution is part of connecting; ureq bounds it separately.
            .timeout_resolve(Some(config.connect_timeout))
            .timeout_global(Some(config.request_timeout))
            // FE redirects (if any) stay on the cluster's hosts; credentials follow only there.
            .redirect_auth_headers(RedirectAuthHeaders::SameHost)
            // Keep one poll cycle's connections (every FE, BE and CN of the cluster) alive until
            // the next cycle; ureq probes a pooled connection before reuse, so one the node
            // closed meanwhile is replaced, not failed on.
            .max_idle_connections(MAX_IDLE_CONNECTIONS)
            .max_idle_connections_per_host(MAX_IDLE_CONNECTIONS_PER_HOST)
            .max_idle_age(MAX_IDLE_AGE)
            .input_buffer_size(INPUT_BUFFER_BYTES)
            .output_buffer_size(OUTPUT_BUFFER_BYTES)
            .user_agent(concat!("rockscope/", env!("CARGO_PKG_VERSION")))
            .build();
        let credentials = format!("{}:{}", config.username, config.password.expose());
        Self {
            agent: agent_config.into(),
            authorization: Secret::new(format!("Basic {}", base64_encode(credentials.as_bytes()))),
            scrubber: Scrubber::new(config),
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            max_body_bytes: config.max_body_bytes,
            deadline: None,
        }
    }

    /// This transport (same pool) with every request ending by `deadline`.
    pub(crate) fn with_deadline(&self, deadline: Instant) -> Self {
        Self {
            deadline: Some(deadline),
            ..self.clone()
        }
    }

    /// The limit of a request starting now: the request timeout, or what is left of the
    /// deadline when that is less.
    fn limit_now(&self) -> Limit {
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        match left {
            Some(left) if left < self.request_timeout => Limit {
                whole_call: left,
                by_deadline: true,
            },
            _ => Limit {
                whole_call: self.request_timeout,
                by_deadline: false,
            },
        }
    }

    /// `GET http://node{endpoint}` with Basic auth; a 2xx answer's whole body (within the cap) or
    /// the mapped error.
    pub(crate) fn get(&self, node: &NodeAddr, endpoint: Endpoint) -> Result<Fetched, ClientError> {
        let url = format!("http://{node}{}", endpoint.path_and_query());
        let started = Instant::now();
        let limit = self.limit_now();
        if limit.whole_call.is_zero() {
            // The deadline has passed: no request at all, rather than one bound to fail.
            return Err(ClientError::Timeout {
                node: node.clone(),
                endpoint,
                phase: TimeoutPhase::Deadline,
                limit: Duration::ZERO,
            });
        }
        let mut request = self.agent.get(&url);
        if limit.by_deadline {
            // ureq's global timeout covers the whole call: resolve, connect, head and body.
            request = request
                .config()
                .timeout_global(Some(limit.whole_call))
                .build();
        }
        let map_error = |e| self.map_error(e, node, endpoint, limit);
        let mut response = request
            .header("Authorization", self.authorization.expose())
            .call()
            .map_err(|e| map_error(e).scrubbed(&self.scrubber))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            // Best effort: the start of the body says why (StarRocks' JSON error, a proxy page).
            let mut head = Vec::new();
            let _ = response
                .body_mut()
                .as_reader()
                .take(ERROR_BODY_BYTES)
                .read_to_end(&mut head);
            let excerpt = self.scrubber.excerpt(&head);
            log::debug!("GET {url} -> HTTP {status}");
            return Err(if status == 401 || status == 403 {
                ClientError::unauthorized(node, endpoint, status, excerpt)
            } else {
                ClientError::HttpStatus {
                    node: node.clone(),
                    endpoint,
                    status,
                    excerpt,
                }
            });
        }
        let too_large = || ClientError::BodyTooLarge {
            node: node.clone(),
            endpoint,
            limit: self.max_body_bytes,
        };
        let announced = response.body().content_length();
        if announced.is_some_and(|len| len > self.max_body_bytes) {
            return Err(too_large());
        }
        // Pre-size for the announced length, but never trust it for more than a few MiB.
        let capacity = announced.unwrap_or(0).min(PREALLOCATE_MAX_BYTES);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        response
            .body_mut()
            .as_reader()
            .take(self.max_body_bytes.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| map_error(ureq::Error::from(e)).scrubbed(&self.scrubber))?;
        if body.len() as u64 > self.max_body_bytes {
            return Err(too_large());
        }
        let duration = started.elapsed();
        let fetched_at = OffsetDateTime::now_utc();
        log::debug!(
            "GET {url} -> HTTP {status}, {} bytes in {} ms",
            body.len(),
            duration.as_millis()
        );
        Ok(Fetched {
            body,
            fetched_at,
            duration,
        })
    }

    /// The credentials' scrubber, for errors built from bodies outside the transport.
    pub(crate) fn scrubber(&self) -> &Scrubber {
        &self.scrubber
    }

    fn map_error(
        &self,
        error: ureq::Error,
        node: &NodeAddr,
        endpoint: Endpoint,
        limit: Limit,
    ) -> ClientError {
        log::debug!(
            "GET {node}{endpoint} failed: {}",
            self.scrubber.scrub(&error.to_string())
        );
        let node = node.clone();
        let whole_call = if limit.by_deadline {
            TimeoutPhase::Deadline
        } else {
            TimeoutPhase::Request
        };
        let timeout = |phase| ClientError::Timeout {
            node: node.clone(),
            endpoint,
            phase,
            limit: match phase {
                TimeoutPhase::Connect => self.connect_timeout,
                TimeoutPhase::Request | TimeoutPhase::Deadline => limit.whole_call,
            },
        };
        match error {
            ureq::Error::Timeout(which) => timeout(match which {
                ureq::Timeout::Connect | ureq::Timeout::Resolve => TimeoutPhase::Connect,
                _ => whole_call,
            }),
            ureq::Error::HostNotFound => ClientError::Dns {
                node,
                endpoint,
                detail: "no address found".to_owned(),
            },
            ureq::Error::BodyExceedsLimit(_) => ClientError::BodyTooLarge {
                node,
                endpoint,
                limit: self.max_body_bytes,
            },
            ureq::Error::Io(e) => match e.kind() {
                io::ErrorKind::ConnectionRefused => ClientError::ConnectRefused { node, endpoint },
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => timeout(whole_call),
                _ if is_lookup_failure(&e) => ClientError::Dns {
                    node,
                    endpoint,
                    detail: e.to_string(),
                },
                io::ErrorKind::UnexpectedEof => ClientError::Io {
                    node,
                    endpoint,
                    detail: "connection closed before the response was complete".to_owned(),
                },
                _ => ClientError::Io {
                    node,
                    endpoint,
                    detail: format!("I/O error: {e}"),
                },
            },
            ureq::Error::Protocol(e) => ClientError::Io {
                node,
                endpoint,
                detail: format!("invalid HTTP response: {e}"),
            },
            other => ClientError::Io {
                node,
                endpoint,
                detail: other.to_string(),
            },
        }
    }
}

/// Whether an I/O error comes from `getaddrinfo` (std reports it as an uncategorized error whose
/// message starts with "failed to lookup address information").
fn is_lookup_failure(e: &io::Error) -> bool {
    let text = e.to_string();
    text.contains("failed to lookup address") || text.contains("Name or service not known")
}

/// Standard base64 (RFC 4648, with padding) — all Basic auth needs; not worth a dependency.
pub(crate) fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(error: ureq::Error) -> ClientError {
        let config = ClientConfig {
            connect_timeout: Duration::from_millis(700),
            request_timeout: Duration::from_millis(9000),
            ..ClientConfig::default()
        };
        let transport = Transport::new(&config);
        let limit = transport.limit_now();
        transport.map_error(error, &NodeAddr::new("be1", 8040), Endpoint::Metrics, limit)
    }

    #[test]
    fn ureq_errors_map_to_codes() {
        let lookup =
            io::Error::other("failed to lookup address information: Name or service not known");
        let cases: Vec<(ureq::Error, &str)> = vec![
            (ureq::Error::HostNotFound, "dns"),
            (ureq::Error::Io(lookup), "dns"),
            (
                ureq::Error::Io(io::ErrorKind::ConnectionRefused.into()),
                "connect_refused",
            ),
            (ureq::Error::Timeout(ureq::Timeout::Connect), "timeout"),
            (ureq::Error::Timeout(ureq::Timeout::Resolve), "timeout"),
            (ureq::Error::Timeout(ureq::Timeout::Global), "timeout"),
            (ureq::Error::Timeout(ureq::Timeout::RecvBody), "timeout"),
            (ureq::Error::Io(io::ErrorKind::TimedOut.into()), "timeout"),
            (ureq::Error::BodyExceedsLimit(10), "body_too_large"),
            (ureq::Error::Io(io::ErrorKind::UnexpectedEof.into()), "io"),
            (ureq::Error::Io(io::ErrorKind::ConnectionReset.into()), "io"),
            (ureq::Error::ConnectionFailed, "io"),
            (ureq::Error::BadUri("x".into()), "io"),
        ];
        for (error, code) in cases {
            let text = error.to_string();
            let mapped = map(error);
            assert_eq!(mapped.code(), code, "{text} -> {mapped}");
            assert!(
                mapped.to_string().starts_with("be1:8040 /metrics"),
                "{mapped}"
            );
        }
        let connect = map(ureq::Error::Timeout(ureq::Timeout::Connect));
        assert!(
            connect.to_string().contains("connect timeout of 700 ms"),
            "{connect}"
        );
        let request = map(ureq::Error::Timeout(ureq::Timeout::RecvResponse));
        assert!(
            request.to_string().contains("request timeout of 9000 ms"),
            "{request}"
        );
        // A ureq error wrapped into io::Error by a body reader comes back out.
        let wrapped = ureq::Error::Timeout(ureq::Timeout::Global).into_io();
        assert_eq!(map(ureq::Error::from(wrapped)).code(), "timeout");
    }

    #[test]
    fn authorization_is_secret_in_debug() {
        let config = ClientConfig {
            password: Secret::new("pw"),
            ..ClientConfig::default()
        };
        let transport = Transport::new(&config);
        assert_eq!(transport.authorization.expose(), "Basic cm9vdDpwdw==");
        assert_eq!(format!("{:?}", transport.authorization), "***");
    }

    #[test]
    fn base64_vectors() {
        // RFC 4648 §10 test vectors.
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("root:", "cm9vdDo="),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(base64_encode(&[0xff, 0xfe, 0xfd]), "//79");
    }
}
