//! Blocking HTTP client for the StarRocks FE, BE and CN endpoints rockscope polls.
//!
//! # Overview
//!
//! * [`ClusterClient`]: one per watched cluster. It holds one `ureq` agent, so connections to
//!   the cluster's nodes are reused across calls and threads (it is `Send + Sync`; share it by
//!   reference or `Arc`). Every request carries HTTP Basic auth and is bounded by the connect
//!   timeout, the request timeout (whole call, body included) and a body-size cap. Calls:
//!   * [`fetch_metrics`](ClusterClient::fetch_metrics): `GET /metrics` of any node, kept whole
//!     as a [`MetricsScrape`] once its first lines show that it is a metrics body (the one
//!     full parse is the engine's);
//!   * [`show_frontends`](ClusterClient::show_frontends),
//!     [`show_backends`](ClusterClient::show_backends),
//!     [`show_compute_nodes`](ClusterClient::show_compute_nodes):
//!     `GET /api/show_proc?path=…&forward=true` of an FE (the leader's view even through a
//!     follower), rows parsed by column name from both the 3.1+ array-of-objects and the ≤ 3.0
//!     array-of-arrays shapes into [`rockscope_model`]'s typed rows;
//!   * [`runtime_info`](ClusterClient::runtime_info) (`/api/show_runtime_info`),
//!     [`fe_health`](ClusterClient::fe_health) and [`be_health`](ClusterClient::be_health)
//!     (`/api/health`);
//!   * [`topology`](ClusterClient::topology): the three lists through one FE;
//!     [`leader_view`](ClusterClient::leader_view): from the first of a list of FE entry points
//!     that answers, tried in order (for one-off checks; the collector asks them hedged).
//!   * [`with_deadline`](ClusterClient::with_deadline): the same client (same pool) whose every
//!     request ends by a deadline: each request's timeout is cut to what is left of it.
//! * [`ClientConfig`]: user, password (a [`Secret`], never printed), timeouts and body cap. It is
//!   `PartialEq`: rebuild a cluster's client when its settings change.
//! * [`ClientError`]: one variant per failure kind, each naming the node (`host:port`) and the
//!   [`Endpoint`]; [`ClientError::code`] gives a stable label (`connect_refused`, `dns`,
//!   `timeout`, `unauthorized`, `http_status`, `body_too_large`, `malformed_body`, `io`).
//! * [`NodeAddr`]: `host:port` (IPv6 as `[::1]:8030`).
//!
//! The client is the I/O edge of rockscope: it reads the clock (`fetched_at`) and the network,
//! and never panics on what a node sends.
//!
//! Logging: requests are logged at `debug` without credentials. `ureq`'s own `trace` level logs
//! raw wire bytes, the `Authorization` header included: keep `ureq` below `trace` in production.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use rockscope_starrocks::{ClusterClient, NodeAddr};
//!
//! let client = ClusterClient::builder()
//!     .username("root")
//!     .password("")
//!     .connect_timeout(Duration::from_secs(2))
//!     .request_timeout(Duration::from_secs(10))
//!     .max_body_bytes(64 << 20)
//!     .build();
//!
//! let topology = client.leader_view(&["fe1:8030".to_owned(), "fe2:8030".to_owned()])?;
//! for be in &topology.backends {
//!     let node = NodeAddr::new(be.ip.clone(), be.http_port);
//!     match client.fetch_metrics(&node) {
//!         Ok(scrape) => println!("{node}: {} bytes", scrape.body.len()),
//!         Err(e) => println!("{node}: {} ({e})", e.code()),
//!     }
//! }
//! # Ok::<(), rockscope_starrocks::ClientError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod addr;
mod config;
mod error;
mod http;
mod scrub;
mod show_proc;
mod values;

use std::fmt;
use std::time::Instant;

use rockscope_model::{
    Backend, BeHealth, ComputeNode, FeHealth, Frontend, MetricsScrape, RuntimeInfo,
};
use rockscope_promtext::{Mode, Parser};

pub use addr::{AddrParseError, NodeAddr};
pub use config::{ClientConfig, ClusterClientBuilder, Secret};
pub use error::{ClientError, Endpoint, TimeoutPhase};

use http::{Fetched, Transport};

/// The client of one StarRocks cluster: one connection pool, one set of credentials and limits.
pub struct ClusterClient {
    config: ClientConfig,
    transport: Transport,
}

impl fmt::Debug for ClusterClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What [`ClusterClient::leader_view`] returns: the leader's node lists, as answered through one
/// FE entry point.
#[derive(Debug)]
pub struct ClusterTopology {
    /// `SHOW PROC '/frontends'`.
    pub frontends: Vec<Frontend>,
    /// `SHOW PROC '/backends'`.
    pub backends: Vec<Backend>,
    /// `SHOW PROC '/compute_nodes'`.
    pub compute_nodes: Vec<ComputeNode>,
    /// The entry point that answered.
    pub answered_by: NodeAddr,
    /// The errors of the entry points tried before it, in order (empty when the first answered).
    pub failed_attempts: Vec<ClientError>,
}

impl ClusterClient {
    /// A builder starting from [`ClientConfig::default`].
    pub fn builder() -> ClusterClientBuilder {
        ClusterClientBuilder::default()
    }

    /// A client with these settings.
    pub fn new(config: ClientConfig) -> Self {
        let transport = Transport::new(&config);
        Self { config, transport }
    }

    /// The settings this client was built with (compare with new settings to decide whether to
    /// rebuild it).
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// This client, sharing its connection pool, with every request ending by `deadline`: a
    /// request's whole-call limit is the request timeout or what is left of the deadline,
    /// whichever is less ([`TimeoutPhase::Deadline`] when the deadline cut it), and no request
    /// starts once the deadline has passed. Cheap: one per collection cycle is fine.
    pub fn with_deadline(&self, deadline: Instant) -> ClusterClient {
        ClusterClient {
            config: self.config.clone(),
            transport: self.transport.with_deadline(deadline),
        }
    }

    /// `GET /metrics` of an FE, BE or CN: the body within the cap. It is parsed in lenient mode
    /// only up to its first valid sample: a body with bad lines and no valid sample at all (an
    /// HTML error page, a proxy's garbage) is [`ClientError::MalformedBody`]; anything else is
    /// returned whole. Bad lines further on are not an error: the engine's one full pass skips
    /// and counts them. An empty body is a valid scrape of nothing.
    pub fn fetch_metrics(&self, node: &NodeAddr) -> Result<MetricsScrape, ClientError> {
        let Fetched {
            body,
            fetched_at,
            duration,
        } = self.transport.get(node, Endpoint::Metrics)?;
        // Up to the first valid sample only: a real body has one within its first lines, so
        // this costs next to nothing, while the full parse happens once, in the engine.
        let mut parser = Parser::new(&body, Mode::Lenient);
        let has_sample = parser.by_ref().any(|item| item.is_ok());
        let diagnostics = parser.diagnostics();
        if !has_sample && diagnostics.skipped_lines > 0 {
            let first_error = diagnostics.first_errors.first().map(ToString::to_string);
            return Err(ClientError::malformed(
                node,
                Endpoint::Metrics,
                format!(
                    "no valid sample, {} lines skipped (first: {})",
                    diagnostics.skipped_lines,
                    first_error.as_deref().unwrap_or("unknown")
                ),
            )
            .scrubbed(self.transport.scrubber()));
        }
        Ok(MetricsScrape {
            body,
            fetched_at,
            duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// `SHOW PROC '/backends'` as seen by the leader, asked through the FE `fe`.
    pub fn show_backends(&self, fe: &NodeAddr) -> Result<Vec<Backend>, ClientError> {
        self.get_parsed(fe, Endpoint::ShowBackends, show_proc::parse_backends)
    }

    /// `SHOW PROC '/frontends'` as seen by the leader, asked through the FE `fe`.
    pub fn show_frontends(&self, fe: &NodeAddr) -> Result<Vec<Frontend>, ClientError> {
        self.get_parsed(fe, Endpoint::ShowFrontends, show_proc::parse_frontends)
    }

    /// `SHOW PROC '/compute_nodes'` as seen by the leader, asked through the FE `fe`.
    pub fn show_compute_nodes(&self, fe: &NodeAddr) -> Result<Vec<ComputeNode>, ClientError> {
        self.get_parsed(
            fe,
            Endpoint::ShowComputeNodes,
            show_proc::parse_compute_nodes,
        )
    }

    /// `GET /api/show_runtime_info` of the FE `fe` (its JVM heap and thread count).
    pub fn runtime_info(&self, fe: &NodeAddr) -> Result<RuntimeInfo, ClientError> {
        self.get_parsed(fe, Endpoint::RuntimeInfo, show_proc::parse_runtime_info)
    }

    /// `GET /api/health` of the FE `fe`. A well-formed answer whose status is not `OK` is
    /// returned as `Ok` (see [`FeHealth::is_ok`]).
    pub fn fe_health(&self, fe: &NodeAddr) -> Result<FeHealth, ClientError> {
        self.get_parsed(fe, Endpoint::Health, show_proc::parse_fe_health)
    }

    /// `GET /api/health` of a BE or CN. A well-formed answer whose status is not `OK` is
    /// returned as `Ok` (see [`BeHealth::is_ok`]).
    pub fn be_health(&self, node: &NodeAddr) -> Result<BeHealth, ClientError> {
        self.get_parsed(node, Endpoint::Health, show_proc::parse_be_health)
    }

    /// The cluster's topology (frontends, backends, compute nodes) from the first FE entry point
    /// of `fe_hosts` (`"host:port"` of FE HTTP ports) that answers all three lists; the others
    /// are tried in order after any failure, so a hung entry point costs up to the request
    /// timeout before the next is tried. Errors of failed attempts are kept: in
    /// [`ClusterTopology::failed_attempts`] on success, in
    /// [`ClientError::AllEntryPointsFailed`] when none answers (also for an empty list).
    pub fn leader_view(&self, fe_hosts: &[String]) -> Result<ClusterTopology, ClientError> {
        let mut failed_attempts = Vec::new();
        for host in fe_hosts {
            let fe = match host.parse::<NodeAddr>() {
                Ok(fe) => fe,
                Err(e) => {
                    failed_attempts.push(ClientError::from(e));
                    continue;
                }
            };
            match self.topology(&fe) {
                Ok(topology) => {
                    return Ok(ClusterTopology {
                        failed_attempts,
                        ..topology
                    });
                }
                Err(e) => {
                    log::debug!("leader_view: entry point {fe} failed: {e}");
                    failed_attempts.push(e);
                }
            }
        }
        Err(ClientError::AllEntryPointsFailed {
            attempts: failed_attempts,
        })
    }

    /// The three node lists (frontends, backends, compute nodes) asked through the FE `fe`, as
    /// a [`ClusterTopology`] answered by `fe` with no failed attempts.
    pub fn topology(&self, fe: &NodeAddr) -> Result<ClusterTopology, ClientError> {
        Ok(ClusterTopology {
            frontends: self.show_frontends(fe)?,
            backends: self.show_backends(fe)?,
            compute_nodes: self.show_compute_nodes(fe)?,
            answered_by: fe.clone(),
            failed_attempts: Vec::new(),
        })
    }

    fn get_parsed<T>(
        &self,
        node: &NodeAddr,
        endpoint: Endpoint,
        parse: impl Fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, ClientError> {
        let fetched = self.transport.get(node, endpoint)?;
        parse(&fetched.body).map_err(|detail| {
            let scrubber = self.transport.scrubber();
            ClientError::malformed_body(node, endpoint, &fetched.body, detail, parse, scrubber)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<ClusterClient>();
        assert_send_sync::<ClientError>();
        assert_send_sync::<ClusterTopology>();
    }
}
