//! StarRocks cluster simulator for rockscope's tests and benchmarks.
//!
//! # Purpose
//!
//! Serves one or many simulated StarRocks clusters on loopback so that a poller cannot tell
//! them from real ones: FE nodes (one leader, followers, observers), BE nodes and CN nodes answer
//! `GET /metrics`, `GET /api/show_proc?path=/backends|/frontends|/compute_nodes`,
//! `GET /api/show_runtime_info` and `GET /api/health` in the exact formats and quirks of
//! StarRocks 3.0, 3.3 or 4.0 (see `shared/reference/starrocks-http-formats.md`). Numbers move
//! realistically and deterministically: counters follow a daily UTC load curve with seeded
//! noise and never decrease (except after an injected restart); gauges wander plausibly. Because
//! every counter is a closed-form function of (seed, node, time), the simulator can report the
//! [`GroundTruth`] of any window — true QPS, latency, CPU busy %, network and disk rates, heap,
//! disk use — for comparison with what rockscope derives. Faults ([`Fault`]) can be injected per node at
//! run time through the API or the HTTP control endpoint.
//!
//! # Overview
//!
//! * [`SimConfig`] / [`ClusterSpec`] / [`Version`] / [`BindMode`]: what to serve and where.
//! * [`Simulator::start`] binds every node and runs a private multi-threaded tokio runtime on
//!   background threads, so plain blocking tests can use it; [`Simulator::shutdown`] (or drop)
//!   stops everything.
//! * [`Simulator::clusters`] → [`ClusterInfo`] / [`NodeInfo`] / [`NodeId`] / [`NodeKind`]: where
//!   each node listens.
//! * [`Simulator::set_fault`], [`Simulator::set_cluster_fault`] (every node of a cluster, e.g. a
//!   whole cluster down), [`Simulator::set_leader`]: change behaviour at run time.
//! * [`Receiver`]: the far side of alert delivery, a recording HTTP endpoint (webhooks,
//!   Alertmanager API) that answers normally, with an error status or not at all.
//! * [`Simulator::set_condition`] ([`Condition`]: a full storage path, a busy CPU, failing
//!   compactions, a paused routine load, …), [`Simulator::clear_condition`],
//!   [`Simulator::clear_conditions`]: put a cluster or node under the pressure an alert watches.
//! * [`Simulator::ground_truth`] → [`GroundTruth`]; [`Simulator::set_manual_time`] and
//!   [`Simulator::set_time_offset`] control the clock the endpoints use.
//!
//! ```no_run
//! use rockscope_sim::{NodeId, Fault, SimConfig, Simulator, Version};
//! let sim = Simulator::start(SimConfig::uniform(1, 2, 3, Version::V3_3, 7))?;
//! let cluster = &sim.clusters()[0];
//! println!("FE at http://{}/metrics", cluster.fe_hosts[0]);
//! sim.set_fault("sim-1", NodeId::be(0), Fault::Down)?;
//! # Ok::<(), rockscope_sim::SimError>(())
//! ```
//!
//! # The binary
//!
//! `rockscope-sim --clusters N --fes F --bes B [--cns C] [--observers O] --version 3.3 --seed S
//! [--user U --password P] [--bind addresses|ports] [--base-address 127.0.1.0] [--control ADDR]`
//! serves until SIGINT/SIGTERM and prints the clusters as TOML for rockscope's config. In the
//! default `addresses` mode each node gets its own loopback address with StarRocks' default ports
//! (FE 8030, BE 8040), like a real deployment.
//!
//! # Why a hand-written HTTP responder
//!
//! Fault injection needs byte-level control of the wire: closing a listener so connections are
//! refused, accepting and never answering, announcing a `Content-Length` larger than what is
//! sent, streaming gigabytes cheaply, answering with StarRocks' exact headers. A framework would
//! hide exactly that, so the crate carries a small HTTP/1.1 responder over tokio `TcpListener`s:
//! request line and headers parsed under a 16 KiB cap, `Content-Length` request bodies capped
//! and discarded, keep-alive with `Connection: close` honoured, pipelining, `Content-Length` on
//! every response, 400 on malformed or oversized requests, 404 on unknown paths, 405 on
//! methods other than GET/HEAD.
//!
//! # Determinism and ground truth
//!
//! Counters are `floor(base × ∫ load(t) dt)` from the host boot (CPU jiffies, disk and network
//! bytes) or from the process start (queries, fragments, GC, …), where `load` is a daily UTC
//! curve (peak in the afternoon) plus seeded noise waves. Boot and start instants are anchored
//! to the UTC week/day the simulator starts in, so two simulators with the same seed started on
//! the same day serve identical bodies for the same instant. [`GroundTruth`] integrates the same
//! rates over a window, so it matches Δcounter/Δt of served bodies up to integer rounding.
//! Pin the clock with [`Simulator::set_manual_time`] and move it with [`Simulator::advance`] to
//! make windows exact in tests.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod be_metrics;
mod condition;
mod config;
mod control;
mod error;
mod fault;
mod fe_metrics;
mod http;
mod ids;
mod javafmt;
mod model;
mod ops;
mod receiver;
mod server;
mod show_proc;
mod state;
mod traffic;
mod truth;
mod values;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

pub use condition::{Condition, ConditionKind, EngineTask};
pub use config::{BindMode, ClusterSpec, SimConfig, Version};
pub use error::SimError;
pub use fault::Fault;
pub use http::base64_encode;
pub use ids::{ClusterInfo, NodeId, NodeInfo, NodeKind};
pub use javafmt::java_double_to_string;
pub use receiver::{Answer, ReceivedRequest, Receiver};
pub use traffic::Traffic;
pub use truth::{FeLatencyTruth, GroundTruth, PageCacheTruth};

use state::World;

/// A running simulator. Dropping it (or [`Simulator::shutdown`]) stops every listener.
pub struct Simulator {
    world: Arc<World>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    control_addr: Option<SocketAddr>,
    notes: Vec<String>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("clusters", &self.world.clusters.len())
            .field("control_addr", &self.control_addr)
            .finish()
    }
}

impl Simulator {
    /// Binds every node of `config` and starts serving on background threads. The control
    /// endpoint, if `config.control`, listens on 127.0.0.1 with an ephemeral port.
    pub fn start(config: SimConfig) -> Result<Simulator, SimError> {
        let control = config
            .control
            .then(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        Simulator::start_inner(config, control)
    }

    /// Like [`Simulator::start`], with the control endpoint on `control` (regardless of
    /// `config.control`).
    pub fn start_with_control_addr(
        config: SimConfig,
        control: SocketAddr,
    ) -> Result<Simulator, SimError> {
        Simulator::start_inner(config, Some(control))
    }

    fn start_inner(config: SimConfig, control: Option<SocketAddr>) -> Result<Simulator, SimError> {
        config.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("rockscope-sim")
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| SimError::Runtime(e.to_string()))?;
        let clock = state::Clock::new();
        let now = clock.now_ns();
        let (bound, notes) = runtime.block_on(server::bind_all(&config))?;
        let control_listener = match control {
            Some(a) => Some(
                runtime
                    .block_on(tokio::net::TcpListener::bind(a))
                    .map_err(|e| SimError::Bind(format!("control {a}: {e}")))?,
            ),
            None => None,
        };
        let control_addr = control_listener.as_ref().and_then(|l| l.local_addr().ok());
        let mut listeners = Vec::new();
        let mut clusters = Vec::new();
        for (ci, (spec, nodes)) in config.clusters.iter().zip(bound).enumerate() {
            let (placements, ls): (Vec<_>, Vec<_>) = nodes.into_iter().unzip();
            let index = config.first_index.saturating_add(ci);
            clusters.push(state::build_cluster(
                config.seed,
                index,
                spec,
                placements,
                now,
            ));
            listeners.push(ls);
        }
        let world = Arc::new(World {
            clock,
            clusters,
            traffic: Default::default(),
        });
        for (ci, ls) in listeners.into_iter().enumerate() {
            for (pos, l) in ls.into_iter().enumerate() {
                runtime.spawn(server::node_task(world.clone(), ci, pos, l));
            }
        }
        if let Some(l) = control_listener {
            runtime.spawn(control::serve(world.clone(), l));
        }
        Ok(Simulator {
            world,
            runtime: Mutex::new(Some(runtime)),
            control_addr,
            notes,
        })
    }

    /// Every served cluster with its nodes and addresses.
    pub fn clusters(&self) -> Vec<ClusterInfo> {
        self.world.infos()
    }

    /// One served cluster by name.
    pub fn cluster(&self, name: &str) -> Option<ClusterInfo> {
        self.clusters().into_iter().find(|c| c.name == name)
    }

    /// All clusters as rockscope `[[clusters]]` TOML.
    pub fn to_toml(&self) -> String {
        self.clusters()
            .iter()
            .map(ClusterInfo::to_toml)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Injects (or clears, with [`Fault::None`]) a fault on one node. Returns once the
    /// listener follows: refused right after `Down`, accepting right after `None`/`Restart`.
    pub fn set_fault(&self, cluster: &str, node: NodeId, fault: Fault) -> Result<(), SimError> {
        self.world.apply_fault(cluster, node, fault)?;
        self.world.wait_listener(cluster, node);
        Ok(())
    }

    /// Injects (or clears) `fault` on every node of `cluster` (e.g. [`Fault::Down`]: the whole
    /// cluster unreachable). Returns once every listener follows.
    pub fn set_cluster_fault(&self, cluster: &str, fault: Fault) -> Result<(), SimError> {
        let ids: Vec<NodeId> = self
            .world
            .find(cluster)?
            .nodes
            .iter()
            .map(|n| n.id)
            .collect();
        for &id in &ids {
            self.world.apply_fault(cluster, id, fault)?;
        }
        for id in ids {
            self.world.wait_listener(cluster, id);
        }
        Ok(())
    }

    /// The node's current serving fault ([`Fault::Dead`] if only marked dead).
    pub fn fault(&self, cluster: &str, node: NodeId) -> Result<Fault, SimError> {
        let n = self.world.find_node(cluster, node)?;
        let d = n.dyn_state();
        Ok(if d.fault == Fault::None && d.dead {
            Fault::Dead
        } else {
            d.fault
        })
    }

    /// Makes `fe` (a non-observer FE) the leader from now on: its `Role` becomes `LEADER`,
    /// `node_info{type="is_master"}` moves to it and so do the leader-only values.
    pub fn set_leader(&self, cluster: &str, fe: NodeId) -> Result<(), SimError> {
        self.world.apply_leader(cluster, fe)
    }

    /// Puts `cluster` under `condition` from the served clock's now on: on `node`, or with
    /// `None` on every node it concerns (each BE/CN, or each FE, at the full value). Conditions
    /// read by the leader ([`Condition::MetaLogCount`], load transactions, routine loads,
    /// [`Condition::TxnRunning`]) belong to the cluster and take `None`. A condition of the same
    /// [`ConditionKind`] replaces the previous one.
    pub fn set_condition(
        &self,
        cluster: &str,
        node: Option<NodeId>,
        condition: Condition,
    ) -> Result<(), SimError> {
        self.world
            .apply_condition(cluster, node, condition.kind(), Some(condition))
    }

    /// Ends the condition of `kind` on `node` (or on every node it concerns, or the cluster's):
    /// gauges return to their model, counters keep what they counted and grow as before.
    pub fn clear_condition(
        &self,
        cluster: &str,
        node: Option<NodeId>,
        kind: ConditionKind,
    ) -> Result<(), SimError> {
        self.world.apply_condition(cluster, node, kind, None)
    }

    /// Ends every condition of `cluster` and its nodes.
    pub fn clear_conditions(&self, cluster: &str) -> Result<(), SimError> {
        self.world.clear_conditions(cluster)
    }

    /// The exact values behind what `cluster` serves over `[from, to]` (see [`GroundTruth`]).
    pub fn ground_truth(
        &self,
        cluster: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<GroundTruth, SimError> {
        let cl = self.world.find(cluster)?;
        let a = from.unix_timestamp_nanos() as i64;
        let b = to.unix_timestamp_nanos() as i64;
        if a >= b {
            return Err(SimError::InvalidWindow);
        }
        Ok(truth::compute(cl, a, b))
    }

    /// The instant the endpoints currently serve.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.world.clock.now_ns()))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Serves wall time shifted by `offset` (ignored while a manual time is set).
    pub fn set_time_offset(&self, offset: time::Duration) {
        self.world.clock.set_offset_ns(
            offset
                .whole_nanoseconds()
                .clamp(i64::MIN as i128, i64::MAX as i128) as i64,
        );
    }

    /// Freezes the served clock at `t` (`None` returns to wall time + offset).
    pub fn set_manual_time(&self, t: Option<OffsetDateTime>) {
        self.world
            .clock
            .set_manual(t.map(|t| t.unix_timestamp_nanos() as i64));
    }

    /// Moves the served clock forward by `d`: the manual time if one is set, else the offset.
    pub fn advance(&self, d: Duration) {
        let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        match self.world.clock.manual_ns() {
            Some(m) => self.world.clock.set_manual(Some(m.saturating_add(ns))),
            None => {
                let off = self.world.clock.offset_ns();
                self.world.clock.set_offset_ns(off.saturating_add(ns));
            }
        }
    }

    /// What has been served since the start: node scrapes, their bytes and samples, other
    /// requests. Benchmarks read it before and after a run to count a scraper's work.
    pub fn traffic(&self) -> Traffic {
        self.world.traffic.read()
    }

    /// Address of the HTTP control endpoint, if enabled.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_addr
    }

    /// Notes about the start, e.g. nodes that fell back to another address or port.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Stops every listener and connection. Idempotent; also done on drop.
    pub fn shutdown(&self) {
        let rt = self
            .runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(rt) = rt {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Inside an async context blocking is not allowed: let the threads wind down.
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
