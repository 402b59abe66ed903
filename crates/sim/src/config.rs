//! What to simulate: clusters, StarRocks version shapes, credentials, how to bind.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::SimError;

/// The StarRocks version whose HTTP formats a cluster imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Version {
    /// 3.0: `show_proc` is an array of arrays without column names; 26 backend columns.
    V3_0,
    /// 3.3: `show_proc` is an array of objects with string values; 29 backend columns.
    #[default]
    V3_3,
    /// 4.0: as 3.3 plus `is_leader` labels on leader-aware FE families, a `StatusCode` backends
    /// column, an `Id` first frontends column, and Basic auth required on `/metrics`.
    V4_0,
}

impl Version {
    /// `"3.0"`, `"3.3"` or `"4.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V3_0 => "3.0",
            Version::V3_3 => "3.3",
            Version::V4_0 => "4.0",
        }
    }
    /// The build string StarRocks reports in the `Version` columns.
    pub fn build(self) -> &'static str {
        match self {
            Version::V3_0 => "3.0.9-f1fa5c5",
            Version::V3_3 => "3.3.10-227b0b3",
            Version::V4_0 => "4.0.2-1f7a2c9",
        }
    }
    /// A later patch build of the same version, run by the BEs of
    /// [`ClusterSpec::with_newer_be`].
    pub fn newer_build(self) -> &'static str {
        match self {
            Version::V3_0 => "3.0.10-b2c7e41",
            Version::V3_3 => "3.3.14-5d8e3c1",
            Version::V4_0 => "4.0.3-9e04b7d",
        }
    }
    /// `show_proc` rows are JSON objects keyed by column title (3.1+).
    pub(crate) fn proc_objects(self) -> bool {
        self != Version::V3_0
    }
    /// The FE `/metrics` has the `memory` family (`MetricRepo`'s module counts, 3.1/3.2+), with
    /// `type="query_coordinator_count"`.
    pub(crate) fn fe_memory_family(self) -> bool {
        self != Version::V3_0
    }
    /// Leader-aware FE families carry `is_leader` as their first label.
    pub(crate) fn leader_labels(self) -> bool {
        self == Version::V4_0
    }
    /// `/metrics` needs Basic auth.
    pub(crate) fn metrics_need_auth(self) -> bool {
        self == Version::V4_0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Version {
    type Err = SimError;
    /// Accepts `3.0`, `3.3`, `4.0` and longer forms of them such as `3.3.10`.
    fn from_str(s: &str) -> Result<Version, SimError> {
        let s = s.trim();
        for v in [Version::V3_0, Version::V3_3, Version::V4_0] {
            if s == v.as_str() || s.starts_with(&format!("{}.", v.as_str())) {
                return Ok(v);
            }
        }
        Err(SimError::Config(format!(
            "unknown StarRocks version {s:?} (expected 3.0, 3.3 or 4.0)"
        )))
    }
}

/// How nodes get their listening addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindMode {
    /// Like a real deployment: each node on its own loopback address with StarRocks' default
    /// ports (FE 8030, BE/CN 8040). Cluster `c` (0-based) uses `base + 256·c + 1 ..`, e.g.
    /// 127.0.1.1, 127.0.1.2, … for the first cluster and 127.0.2.x for the second with base
    /// 127.0.1.0. Where an address/port cannot be bound the node falls back to an ephemeral
    /// port on the same address, then on 127.0.0.1 (see [`crate::Simulator::notes`]).
    Addresses {
        /// The first cluster's network (its `.0` address).
        base: Ipv4Addr,
    },
    /// Every node on 127.0.0.1 with an OS-assigned port; node lists advertise each node's own
    /// port. Parallel tests never collide in this mode.
    Ports,
}

impl Default for BindMode {
    /// [`BindMode::Ports`]: the safe choice for tests (the binary defaults to `Addresses`).
    fn default() -> BindMode {
        BindMode::Ports
    }
}

impl BindMode {
    /// `Addresses` with base 127.0.1.0.
    pub fn addresses() -> BindMode {
        BindMode::Addresses {
            base: Ipv4Addr::new(127, 0, 1, 0),
        }
    }
}

/// One simulated cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSpec {
    /// Cluster name (unique within a simulator), e.g. `sim-1`.
    pub name: String,
    /// FE nodes that can lead (the first one starts as leader). At least 1.
    pub fes: usize,
    /// Additional FE observers (never leader).
    pub observers: usize,
    /// BE nodes.
    pub bes: usize,
    /// CN nodes; a cluster with CNs is rendered as shared-data (extra show_proc columns).
    pub cns: usize,
    /// Version shape of every node in the cluster.
    pub version: Version,
    /// BE indices running a newer build of the cluster's version (a rolling upgrade half done):
    /// they report it in the backends list and serve the page cache insert/evict counters the
    /// older build lacks.
    pub newer_bes: BTreeSet<usize>,
    /// Basic-auth user (StarRocks default `root`).
    pub username: String,
    /// Basic-auth password (StarRocks default empty).
    pub password: String,
    /// Per FE index (observers after the `fes` FEs), its base query latency in ms instead of
    /// the seeded one (8–120 ms): one FE much slower than the others, say.
    pub fe_latency_ms: BTreeMap<usize, u32>,
    /// FE config `enable_collect_query_detail_info` (StarRocks' default: off). Only with it
    /// does the FE's `MetricCalculator` fill the `starrocks_fe_query_latency{type}` window
    /// gauges; without it they read 0.
    pub query_detail_info: bool,
}

impl ClusterSpec {
    /// A cluster with `fes` FEs and `bes` BEs, no observers/CNs, `root` with empty password.
    pub fn new(name: impl Into<String>, fes: usize, bes: usize, version: Version) -> ClusterSpec {
        ClusterSpec {
            name: name.into(),
            fes,
            observers: 0,
            bes,
            cns: 0,
            version,
            newer_bes: BTreeSet::new(),
            username: "root".into(),
            password: String::new(),
            fe_latency_ms: BTreeMap::new(),
            query_detail_info: false,
        }
    }
    /// Sets the number of observers.
    pub fn with_observers(mut self, observers: usize) -> ClusterSpec {
        self.observers = observers;
        self
    }
    /// Sets the number of CNs.
    pub fn with_cns(mut self, cns: usize) -> ClusterSpec {
        self.cns = cns;
        self
    }
    /// Sets the base query latency of the FE at `fe_index` (0-based, observers after the
    /// `fes` FEs). Its latency summary's reservoir mean drifts around it with the load.
    pub fn with_fe_latency(mut self, fe_index: usize, mean_ms: u32) -> ClusterSpec {
        self.fe_latency_ms.insert(fe_index, mean_ms);
        self
    }
    /// Makes BE `be_index` (0-based) run the newer build ([`Version::newer_build`]): its
    /// backends row shows it, and its `/metrics` adds `page_cache_insert_count`,
    /// `page_cache_insert_evict_count` and `page_cache_release_evict_count`, so a series exists
    /// on some BEs only.
    pub fn with_newer_be(mut self, be_index: usize) -> ClusterSpec {
        self.newer_bes.insert(be_index);
        self
    }
    /// Sets the FEs' `enable_collect_query_detail_info`.
    pub fn with_query_detail_info(mut self, on: bool) -> ClusterSpec {
        self.query_detail_info = on;
        self
    }
    /// Sets the Basic-auth credentials.
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> ClusterSpec {
        self.username = username.into();
        self.password = password.into();
        self
    }
    /// Total node count.
    pub fn node_count(&self) -> usize {
        self.fes + self.observers + self.bes + self.cns
    }
}

impl Default for ClusterSpec {
    /// `sim-1`: 1 FE, 3 BEs, version 3.3, `root` with empty password.
    fn default() -> ClusterSpec {
        ClusterSpec::new("sim-1", 1, 3, Version::V3_3)
    }
}

/// Everything [`crate::Simulator::start`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Clusters to serve.
    pub clusters: Vec<ClusterSpec>,
    /// Seed of every generated value; the same seed gives the same numbers.
    pub seed: u64,
    /// How to bind node listeners.
    pub bind: BindMode,
    /// Serve the HTTP control endpoint on 127.0.0.1 (ephemeral port).
    pub control: bool,
    /// Index of the first of `clusters` in a larger fleet that several simulators (processes)
    /// serve between them; 0 for a simulator serving the whole fleet. A cluster's seeded values
    /// and its [`BindMode::Addresses`] network follow its index in the whole fleet, so a fleet
    /// split over processes serves what one simulator would.
    pub first_index: usize,
}

impl Default for SimConfig {
    /// One default [`ClusterSpec`], seed 42, [`BindMode::Ports`], no control endpoint.
    fn default() -> SimConfig {
        SimConfig {
            clusters: vec![ClusterSpec::default()],
            seed: 42,
            bind: BindMode::Ports,
            control: false,
            first_index: 0,
        }
    }
}

impl SimConfig {
    /// `n_clusters` identical clusters named `sim-1`, `sim-2`, … in [`BindMode::Ports`].
    pub fn uniform(
        n_clusters: usize,
        fes: usize,
        bes: usize,
        version: Version,
        seed: u64,
    ) -> SimConfig {
        SimConfig::uniform_slice(0..n_clusters, fes, bes, version, seed)
    }
    /// The clusters `range` (0-based) of [`SimConfig::uniform`]`(range.end, …)`: named
    /// `sim-{range.start + 1}` … `sim-{range.end}`, serving the same values as there, for a fleet
    /// split over several simulators ([`SimConfig::first_index`]).
    pub fn uniform_slice(
        range: std::ops::Range<usize>,
        fes: usize,
        bes: usize,
        version: Version,
        seed: u64,
    ) -> SimConfig {
        SimConfig {
            first_index: range.start,
            clusters: range
                .map(|i| ClusterSpec::new(format!("sim-{}", i + 1), fes, bes, version))
                .collect(),
            seed,
            bind: BindMode::Ports,
            control: false,
        }
    }
    /// A config with exactly these clusters (seed 42, `Ports`, no control).
    pub fn with_clusters(clusters: Vec<ClusterSpec>) -> SimConfig {
        SimConfig {
            clusters,
            ..SimConfig::default()
        }
    }
    /// Sets the bind mode.
    pub fn bind(mut self, bind: BindMode) -> SimConfig {
        self.bind = bind;
        self
    }
    /// Enables or disables the control endpoint.
    pub fn control(mut self, on: bool) -> SimConfig {
        self.control = on;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> SimConfig {
        self.seed = seed;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), SimError> {
        let mut names = std::collections::HashSet::new();
        for c in &self.clusters {
            if c.name.is_empty() {
                return Err(SimError::Config("cluster name must not be empty".into()));
            }
            if !names.insert(c.name.as_str()) {
                return Err(SimError::Config(format!(
                    "duplicate cluster name {:?}",
                    c.name
                )));
            }
            if c.fes == 0 {
                return Err(SimError::Config(format!(
                    "cluster {:?} needs at least one FE",
                    c.name
                )));
            }
            if c.node_count() > 250 {
                return Err(SimError::Config(format!(
                    "cluster {:?} has {} nodes; at most 250 are supported",
                    c.name,
                    c.node_count()
                )));
            }
        }
        Ok(())
    }
}
