//! The simulated world: clusters, nodes, their seeded parameters and run-time state.
//!
//! Static parameters (cores, capacities, base rates, curves) are derived once from
//! (seed, cluster index, node id). Run-time state is small: the serving fault, the `Dead`
//! mark, the process start instant (moved by `Restart`) and the cluster's leader history.
//! Everything served is computed from these plus the clock instant of the request.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};

use time::OffsetDateTime;
use tokio::sync::watch;

use crate::condition::{Condition, ConditionKind, Timelines};
use crate::model::{Curve, NS, Rate, Rng, hash_str, mix};
use crate::{ClusterSpec, Fault, NodeId, NodeKind};

/// Wall clock with an adjustable offset, or a manual instant (for tests reasoning about windows).
#[derive(Debug)]
pub(crate) struct Clock {
    offset_ns: AtomicI64,
    /// `i64::MIN` when not in manual mode.
    manual_ns: AtomicI64,
}

impl Clock {
    pub(crate) fn new() -> Clock {
        Clock {
            offset_ns: AtomicI64::new(0),
            manual_ns: AtomicI64::new(i64::MIN),
        }
    }
    pub(crate) fn now_ns(&self) -> i64 {
        let m = self.manual_ns.load(Ordering::Acquire);
        if m != i64::MIN {
            return m;
        }
        let wall = OffsetDateTime::now_utc().unix_timestamp_nanos() as i64;
        wall.saturating_add(self.offset_ns.load(Ordering::Acquire))
    }
    pub(crate) fn set_offset_ns(&self, ns: i64) {
        self.offset_ns.store(ns, Ordering::Release);
    }
    pub(crate) fn offset_ns(&self) -> i64 {
        self.offset_ns.load(Ordering::Acquire)
    }
    pub(crate) fn set_manual(&self, t: Option<i64>) {
        self.manual_ns
            .store(t.unwrap_or(i64::MIN), Ordering::Release);
    }
    pub(crate) fn manual_ns(&self) -> Option<i64> {
        let m = self.manual_ns.load(Ordering::Acquire);
        (m != i64::MIN).then_some(m)
    }
}

/// Ports a node advertises besides its HTTP port (not served; only printed in node lists).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuxPorts {
    /// FE: edit log port; BE/CN: heartbeat port.
    pub(crate) a: u16,
    /// FE: query port; BE/CN: be_port.
    pub(crate) b: u16,
    /// FE: rpc port; BE/CN: brpc port.
    pub(crate) c: u16,
    /// BE/CN: starlet port (shared-data).
    pub(crate) d: u16,
}

/// Seeded parameters of an FE.
#[derive(Debug)]
pub(crate) struct FeModel {
    pub(crate) heap_max: i64,
    pub(crate) heap_committed: i64,
    pub(crate) gc_period_ns: i64,
    pub(crate) q_success: Rate,
    pub(crate) q_err: Rate,
    pub(crate) q_other: Rate,
    pub(crate) q_timeout: Rate,
    pub(crate) q_slow: Rate,
    pub(crate) txn_ok: Rate,
    pub(crate) txn_fail: Rate,
    pub(crate) txn_reject: Rate,
    pub(crate) load: Rate,
    pub(crate) journal: Rate,
    pub(crate) lat_ms: f64,
    pub(crate) threads: i64,
    pub(crate) direct_mem: i64,
}

/// A network interface of a BE host.
#[derive(Debug)]
pub(crate) struct NetDev {
    pub(crate) name: &'static str,
    pub(crate) send: Rate,
    pub(crate) recv: Rate,
}

/// A block device of a BE host (devices are `nvme0n1`, `nvme1n1`, `sda`, in this order).
#[derive(Debug)]
pub(crate) struct DiskDev {
    pub(crate) read: Rate,
    pub(crate) write: Rate,
}

/// A storage root of a BE.
#[derive(Debug)]
pub(crate) struct StorePath {
    pub(crate) path: &'static str,
    pub(crate) total: i64,
    pub(crate) used_frac: f64,
    /// Space used by other files (counts in UsedPct, not in DataUsedCapacity).
    pub(crate) other_frac: f64,
}

/// Seeded parameters of a BE or CN.
#[derive(Debug)]
pub(crate) struct BeModel {
    pub(crate) backend_id: i64,
    pub(crate) cores: i64,
    pub(crate) mem_limit: i64,
    /// Busy CPU as a fraction of all jiffies.
    pub(crate) busy: Rate,
    /// iowait as a fraction of all jiffies.
    pub(crate) iowait: Rate,
    pub(crate) nets: Vec<NetDev>,
    pub(crate) disks: Vec<DiskDev>,
    pub(crate) paths: Vec<StorePath>,
    /// Process activity (fragments per second); drives the process counters.
    pub(crate) activity: Rate,
    pub(crate) mem_frac: f64,
    pub(crate) tablets: i64,
    pub(crate) compaction_score: f64,
}

/// Per-kind parameters.
#[derive(Debug)]
pub(crate) enum NodeModel {
    Fe(Box<FeModel>),
    Be(Box<BeModel>),
}

/// Mutable per-node state.
#[derive(Debug, Default)]
pub(crate) struct NodeDyn {
    pub(crate) fault: Fault,
    pub(crate) dead: bool,
    /// When the node was marked dead or went down (its last heartbeat).
    pub(crate) dead_since_ns: i64,
}

/// One node: identity, address, parameters and state.
#[derive(Debug)]
pub(crate) struct NodeState {
    pub(crate) id: NodeId,
    /// Position in `ClusterState::nodes`.
    pub(crate) pos: usize,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The host string node lists advertise (`addr.ip()`).
    pub(crate) host: String,
    pub(crate) aux: AuxPorts,
    /// Per-node seed.
    pub(crate) seed: u64,
    /// Host boot: origin of host counters (cpu, disk, network).
    pub(crate) boot_ns: i64,
    /// Process start: origin of process counters; moved by `Restart`.
    pub(crate) start_ns: AtomicI64,
    pub(crate) model: NodeModel,
    pub(crate) dynamic: Mutex<NodeDyn>,
    /// Bumped on every state change, so connection tasks and the acceptor react at once.
    pub(crate) epoch: watch::Sender<u64>,
    /// The listener is currently open.
    pub(crate) listening: AtomicBool,
    /// FE observer.
    pub(crate) observer: bool,
    /// The conditions set on this node.
    pub(crate) conditions: Mutex<Timelines>,
}

impl NodeState {
    pub(crate) fn dyn_state(&self) -> MutexGuard<'_, NodeDyn> {
        self.dynamic.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn fault(&self) -> Fault {
        self.dyn_state().fault
    }
    pub(crate) fn start_ns(&self) -> i64 {
        self.start_ns.load(Ordering::Acquire)
    }
    /// As seen by the FE: not marked dead and not down.
    pub(crate) fn alive(&self) -> bool {
        let d = self.dyn_state();
        !d.dead && d.fault != Fault::Down
    }
    pub(crate) fn fe(&self) -> &FeModel {
        match &self.model {
            NodeModel::Fe(m) => m,
            NodeModel::Be(_) => unreachable!("fe() on a backend"),
        }
    }
    pub(crate) fn be(&self) -> &BeModel {
        match &self.model {
            NodeModel::Be(m) => m,
            NodeModel::Fe(_) => unreachable!("be() on a frontend"),
        }
    }
    pub(crate) fn bump(&self) {
        self.epoch.send_modify(|e| *e = e.wrapping_add(1));
    }
    pub(crate) fn conditions(&self) -> MutexGuard<'_, Timelines> {
        self.conditions.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// The node's condition of `kind` in force at `t`.
    pub(crate) fn condition(&self, kind: ConditionKind, t: i64) -> Option<Condition> {
        self.conditions().at(kind, t)
    }
}

/// Seeded cluster-wide parameters.
#[derive(Debug)]
pub(crate) struct ClusterModel {
    pub(crate) cluster_id: i64,
    pub(crate) databases: Vec<(String, i64)>,
    pub(crate) resource_groups: Vec<String>,
}

/// One cluster.
#[derive(Debug)]
pub(crate) struct ClusterState {
    pub(crate) spec: ClusterSpec,
    pub(crate) model: ClusterModel,
    pub(crate) nodes: Vec<NodeState>,
    /// `(since_ns, node position)` in time order; the first entry starts at `i64::MIN`.
    pub(crate) leaders: Mutex<Vec<(i64, usize)>>,
    pub(crate) shared_data: bool,
    /// The conditions set on the cluster (read by its leader).
    pub(crate) conditions: Mutex<Timelines>,
}

impl ClusterState {
    pub(crate) fn leader_history(&self) -> MutexGuard<'_, Vec<(i64, usize)>> {
        self.leaders.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Position of the leader at instant `t`.
    pub(crate) fn leader_at(&self, t: i64) -> usize {
        let h = self.leader_history();
        h.iter()
            .rev()
            .find(|(s, _)| *s <= t)
            .map_or(h[0].1, |e| e.1)
    }
    /// Position of the most recently appointed leader.
    pub(crate) fn current_leader(&self) -> usize {
        self.leader_history().last().map_or(0, |e| e.1)
    }
    pub(crate) fn conditions(&self) -> MutexGuard<'_, Timelines> {
        self.conditions.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// The cluster's condition of `kind` in force at `t`.
    pub(crate) fn condition(&self, kind: ConditionKind, t: i64) -> Option<Condition> {
        self.conditions().at(kind, t)
    }
    /// What `amount(lo, hi)` accumulates for node `pos` over `[a, b]` only while it was leader.
    pub(crate) fn leader_amount(
        &self,
        pos: usize,
        amount: impl Fn(i64, i64) -> f64,
        a: i64,
        b: i64,
    ) -> f64 {
        let h = self.leader_history();
        let mut sum = 0.0;
        for (i, (since, who)) in h.iter().enumerate() {
            if *who != pos {
                continue;
            }
            let until = h.get(i + 1).map_or(i64::MAX, |e| e.0);
            let lo = a.max(*since);
            let hi = b.min(until);
            if hi > lo {
                sum += amount(lo, hi);
            }
        }
        sum
    }
    /// Whether `n` is a BE running the newer build ([`ClusterSpec::with_newer_be`]).
    pub(crate) fn newer_build(&self, n: &NodeState) -> bool {
        n.id.kind == NodeKind::Be && self.spec.newer_bes.contains(&(n.id.index as usize))
    }
    pub(crate) fn fes(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter().filter(|n| n.id.kind == NodeKind::Fe)
    }
    pub(crate) fn backends(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter().filter(|n| n.id.kind == NodeKind::Be)
    }
    pub(crate) fn compute_nodes(&self) -> impl Iterator<Item = &NodeState> {
        self.nodes.iter().filter(|n| n.id.kind == NodeKind::Cn)
    }
    pub(crate) fn node(&self, id: NodeId) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.id == id)
    }
}

/// The whole simulator state shared by all tasks.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) clock: Clock,
    pub(crate) clusters: Vec<ClusterState>,
    pub(crate) traffic: crate::traffic::TrafficCounters,
}

impl World {
    pub(crate) fn cluster(&self, name: &str) -> Option<&ClusterState> {
        self.clusters.iter().find(|c| c.spec.name == name)
    }
}

/// Where one node listens and what it advertises; input to [`build_cluster`].
pub(crate) struct Placement {
    pub(crate) id: NodeId,
    pub(crate) addr: SocketAddr,
    pub(crate) aux: AuxPorts,
}

/// The node ids of a cluster in serving order: FEs (incl. observers), BEs, CNs.
pub(crate) fn node_ids(spec: &ClusterSpec) -> Vec<NodeId> {
    let mut v = Vec::with_capacity(spec.node_count());
    v.extend((0..spec.fes + spec.observers).map(|i| NodeId::fe(i as u32)));
    v.extend((0..spec.bes).map(|i| NodeId::be(i as u32)));
    v.extend((0..spec.cns).map(|i| NodeId::cn(i as u32)));
    v
}

const DB_NAMES: &[&str] = &[
    "ssb",
    "tpch",
    "tpcds",
    "ods",
    "dwd",
    "dws",
    "ads",
    "dim",
    "ods_log",
    "user_profile",
    "ad_events",
    "orders",
    "billing",
    "risk",
    "finance",
    "marketing",
    "crm",
    "iot",
    "metrics",
    "audit",
];

const GIB: i64 = 1 << 30;

/// Derives a cluster's parameters and nodes from the seed.
pub(crate) fn build_cluster(
    seed: u64,
    idx: usize,
    spec: &ClusterSpec,
    placements: Vec<Placement>,
    now_ns: i64,
) -> ClusterState {
    let cseed = mix(seed ^ mix(idx as u64 + 1) ^ hash_str(0, &spec.name));
    let mut rng = Rng::new(cseed);
    let peak_hour = rng.range(12.0, 16.0);
    let n_db = rng.int(16, 48) as usize;
    let databases = (0..n_db)
        .map(|i| {
            let base = DB_NAMES[i % DB_NAMES.len()];
            let name = if i < DB_NAMES.len() {
                base.to_string()
            } else {
                format!("{base}_{}", i / DB_NAMES.len())
            };
            (name, rng.int(1, 300))
        })
        .collect();
    let n_rg = rng.int(5, 8) as usize;
    let rg_names = [
        "default_wg",
        "default_mv_wg",
        "rg_etl",
        "rg_adhoc",
        "rg_report",
        "rg_bi",
        "rg_api",
        "rg_batch",
    ];
    let resource_groups = rg_names[..n_rg].iter().map(|s| s.to_string()).collect();
    let model = ClusterModel {
        cluster_id: rng.int(100_000_000, 2_000_000_000),
        databases,
        resource_groups,
    };
    let shared_data = spec.cns > 0;
    let nodes = placements
        .into_iter()
        .enumerate()
        .map(|(pos, p)| {
            let nseed = mix(cseed ^ hash_str(7, &p.id.to_string()));
            let mut r = Rng::new(nseed);
            // Host boot and process start are anchored to the UTC week/day of the simulator's
            // start, so simulators started the same day serve identical counters for the same
            // seed and instant: boot 3-40 days before the week, process start 1-47 h before
            // the day (always before "now", and boot before start).
            let week = now_ns.div_euclid(7 * 86_400 * NS) * 7 * 86_400 * NS;
            let day = now_ns.div_euclid(86_400 * NS) * 86_400 * NS;
            let boot_ns = week - r.int(3 * 86_400, 40 * 86_400) * NS;
            let start_ns = day - r.int(3_600, 47 * 3_600) * NS;
            let model = match p.id.kind {
                NodeKind::Fe => {
                    let mut fe = fe_model(&mut r, peak_hour);
                    if let Some(ms) = spec.fe_latency_ms.get(&(p.id.index as usize)) {
                        fe.lat_ms = f64::from(*ms);
                    }
                    NodeModel::Fe(Box::new(fe))
                }
                NodeKind::Be | NodeKind::Cn => {
                    let base_id = if p.id.kind == NodeKind::Be {
                        10_001
                    } else {
                        20_001
                    };
                    NodeModel::Be(Box::new(be_model(
                        &mut r,
                        peak_hour,
                        base_id + i64::from(p.id.index),
                        p.id.kind == NodeKind::Cn,
                    )))
                }
            };
            let (epoch, _) = watch::channel(0u64);
            NodeState {
                id: p.id,
                pos,
                addr: p.addr,
                host: p.addr.ip().to_string(),
                aux: p.aux,
                seed: nseed,
                boot_ns,
                start_ns: AtomicI64::new(start_ns),
                model,
                dynamic: Mutex::new(NodeDyn::default()),
                epoch,
                listening: AtomicBool::new(true),
                observer: p.id.kind == NodeKind::Fe && p.id.index as usize >= spec.fes,
                conditions: Mutex::default(),
            }
        })
        .collect();
    ClusterState {
        spec: spec.clone(),
        model,
        nodes,
        leaders: Mutex::new(vec![(i64::MIN, 0)]),
        shared_data,
        conditions: Mutex::default(),
    }
}

fn fe_model(r: &mut Rng, peak: f64) -> FeModel {
    let heap_max = *r.pick(&[4, 8, 16, 32]) * GIB;
    let qps = r.range(20.0, 300.0);
    let err_frac = r.range(0.004, 0.03);
    let curve = |r: &mut Rng, d: f64, n: f64| Curve::new(r, peak, d, n);
    let q_success = Rate::new(qps * (1.0 - err_frac), curve(r, 0.5, 0.25));
    // A healthy cluster: errors stay under StarRocks' query-failure alert (0.1 failed/s over
    // the FE's 15 s `query_err_rate` tick) even at the curve's peak (1.8×): at most 0.063/s, so
    // never two failures in one tick (2 in 15 s reads 0.13/s); `QueryErrors` pushes them over.
    let q_err = Rate::new((qps * err_frac).min(0.035), curve(r, 0.45, 0.35));
    let q_other = Rate::new(qps * r.range(0.2, 0.6), curve(r, 0.4, 0.3));
    let q_timeout = Rate::new(qps * err_frac * 0.1, curve(r, 0.4, 0.3));
    let q_slow = Rate::new(qps * r.range(0.005, 0.03), curve(r, 0.5, 0.3));
    let txn = r.range(2.0, 30.0);
    FeModel {
        heap_max,
        heap_committed: (heap_max as f64 * r.range(0.6, 1.0)) as i64 & !0xFFFFF,
        gc_period_ns: r.int(15, 120) * NS,
        q_success,
        q_err,
        q_other,
        q_timeout,
        q_slow,
        txn_ok: Rate::new(txn, curve(r, 0.5, 0.3)),
        // Under 1 % of transactions fail even where the curves diverge most (the load-failure
        // alert fires at 5 %).
        txn_fail: Rate::new(txn * 0.001, curve(r, 0.4, 0.4)),
        txn_reject: Rate::new(txn * 0.002, curve(r, 0.4, 0.4)),
        load: Rate::new(r.range(0.1, 2.0), curve(r, 0.5, 0.3)),
        journal: Rate::new(r.range(5.0, 60.0), curve(r, 0.5, 0.3)),
        lat_ms: r.range(8.0, 120.0),
        threads: r.int(300, 1200),
        direct_mem: r.int(8, 64) << 20,
    }
}

const TB_SIZES: &[i64] = &[
    1_920_383_410_176,
    3_840_755_982_336,
    7_681_501_126_656,
    1_099_511_627_776,
    2_199_023_255_552,
];

fn be_model(r: &mut Rng, peak: f64, backend_id: i64, cn: bool) -> BeModel {
    let cores = *r.pick(&[8, 16, 32, 48, 64]);
    let mem_gib = cores * *r.pick(&[4, 8]);
    let curve = |r: &mut Rng, d: f64, n: f64| Curve::new(r, peak, d, n);
    let net_send = r.range(2e6, 6e7);
    let net_recv = net_send * r.range(0.6, 1.5);
    let lo = r.range(2e5, 2e6);
    let nets = vec![
        NetDev {
            name: "eth0",
            send: Rate::new(net_send, curve(r, 0.5, 0.3)),
            recv: Rate::new(net_recv, curve(r, 0.5, 0.3)),
        },
        NetDev {
            name: "lo",
            send: Rate::new(lo, curve(r, 0.3, 0.3)),
            recv: Rate::new(lo, curve(r, 0.3, 0.3)),
        },
    ];
    let mut disks = Vec::new();
    for name in ["nvme0n1", "nvme1n1", "sda"] {
        let scale = if name == "sda" { 0.02 } else { 1.0 };
        disks.push(DiskDev {
            read: Rate::new(r.range(5e6, 8e7) * scale, curve(r, 0.5, 0.35)),
            write: Rate::new(r.range(2e6, 4e7) * scale, curve(r, 0.5, 0.35)),
        });
    }
    let paths = if cn {
        vec![StorePath {
            path: "/data1/starrocks/cn/storage",
            total: *r.pick(TB_SIZES),
            used_frac: r.range(0.05, 0.4),
            other_frac: r.range(0.001, 0.01),
        }]
    } else {
        ["/data1/starrocks/storage", "/data2/starrocks/storage"]
            .into_iter()
            .map(|path| StorePath {
                path,
                total: *r.pick(TB_SIZES),
                used_frac: r.range(0.2, 0.7),
                other_frac: r.range(0.001, 0.01),
            })
            .collect()
    };
    BeModel {
        backend_id,
        cores,
        mem_limit: (mem_gib * GIB) as f64 as i64 * 9 / 10,
        busy: Rate::new(r.range(0.12, 0.35), curve(r, 0.5, 0.3)),
        iowait: Rate::new(r.range(0.005, 0.025), curve(r, 0.3, 0.3)),
        nets,
        disks,
        paths,
        activity: Rate::new(r.range(20.0, 400.0), curve(r, 0.5, 0.3)),
        mem_frac: r.range(0.2, 0.6),
        tablets: if cn { 0 } else { r.int(2_000, 60_000) },
        compaction_score: r.range(1.0, 40.0),
    }
}
