//! The numbers a node serves at an instant, shared by the renderers and the ground truth.
//!
//! Host counters (CPU jiffies, disk and network bytes) count from the host's boot; process
//! counters (queries, fragments, GC, …) from the process start, which `Restart` moves to "now".
//! Every counter is a floor of a closed-form integral (see [`crate::model`]), so it is monotonic
//! between restarts and exactly reproducible.

use crate::model::{NS, step_noise};
use crate::state::{BeModel, ClusterState, FeModel, NodeState};

/// Jiffies per second per core (`USER_HZ`).
pub(crate) const HZ: f64 = 100.0;

/// Split of busy jiffies over the busy modes (sums to 1).
const BUSY_SPLIT: [(usize, f64); 6] = [
    (0, 0.68), // user
    (1, 0.01), // nice
    (2, 0.20), // system
    (5, 0.01), // irq
    (6, 0.07), // soft_irq
    (7, 0.03), // steal
];

/// `/proc/stat` modes in StarRocks' label order.
pub(crate) const CPU_MODES: [&str; 10] = [
    "user",
    "nice",
    "system",
    "idle",
    "iowait",
    "irq",
    "soft_irq",
    "steal",
    "guest",
    "guest_nice",
];

fn fl(v: f64) -> i64 {
    if v.is_finite() && v > 0.0 {
        v.floor() as i64
    } else {
        0
    }
}

/// Process-lifetime FE counters at `t`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FeCounters {
    pub(crate) query_total: i64,
    pub(crate) query_success: i64,
    pub(crate) query_err: i64,
    pub(crate) query_timeout: i64,
    pub(crate) slow_query: i64,
    pub(crate) request_total: i64,
    pub(crate) txn_success: i64,
    pub(crate) txn_failed: i64,
    pub(crate) txn_reject: i64,
    pub(crate) txn_begin: i64,
    pub(crate) load_add: i64,
    pub(crate) load_finished: i64,
    pub(crate) journal: i64,
}

pub(crate) fn fe_counters(c: &ClusterState, n: &NodeState, t: i64) -> FeCounters {
    let m = n.fe();
    let s = n.start_ns();
    let succ = fl(m.q_success.amount(s, t));
    let err = fl(m.q_err.amount(s, t));
    let other = fl(m.q_other.amount(s, t));
    let ok = fl(c.leader_amount(n.pos, &m.txn_ok, s, t));
    let fail = fl(c.leader_amount(n.pos, &m.txn_fail, s, t));
    let rej = fl(c.leader_amount(n.pos, &m.txn_reject, s, t));
    FeCounters {
        query_total: succ + err,
        query_success: succ,
        query_err: err,
        query_timeout: fl(m.q_timeout.amount(s, t)),
        slow_query: fl(m.q_slow.amount(s, t)),
        request_total: succ + err + other,
        txn_success: ok,
        txn_failed: fail,
        txn_reject: rej,
        txn_begin: ok + fail + rej,
        load_add: fl(c.leader_amount(n.pos, &m.load, s, t)),
        // Loads finish ~90 s after they are added.
        load_finished: fl(c.leader_amount(n.pos, &m.load, s, t - 90 * NS)),
        journal: fl(m.journal.amount(s, t)),
    }
}

/// Exact query and request amounts of an FE over `[a, b]` (independent of restarts).
pub(crate) fn fe_window(m: &FeModel, a: i64, b: i64) -> (f64, f64, f64) {
    let q = m.q_success.amount(a, b) + m.q_err.amount(a, b);
    (q, q + m.q_other.amount(a, b), m.q_err.amount(a, b))
}

/// The quantiles of StarRocks' `query_latency_ms` summary (0.75, 0.95, 0.98, 0.99, 0.999) as
/// multiples of the reservoir's mean: a right-skewed latency distribution.
pub(crate) const SUMMARY_QUANTILE_MULT: [f64; 5] = [1.1, 3.5, 5.0, 8.0, 20.0];

/// The mean of an FE's latency reservoir at `t`, ms: its base latency, drifting with its load
/// (a Codahale decaying reservoir forgets old queries, so its mean follows the recent ones).
pub(crate) fn reservoir_mean(m: &FeModel, t: i64) -> f64 {
    m.lat_ms * (0.7 + 0.3 * m.q_success.curve.factor(t))
}

/// The summary's quantiles at `t`, ms, as served (three decimals).
pub(crate) fn summary_quantiles(m: &FeModel, t: i64) -> [f64; 5] {
    let mean = reservoir_mean(m, t);
    SUMMARY_QUANTILE_MULT.map(|k| (mean * k * 1000.0).round() / 1000.0)
}

/// The queries an FE coordinates at `t` (`query_coordinator_count`), by Little's law: its
/// query rate at `t` × its reservoir's mean latency, rounded; 0 while its process is down.
pub(crate) fn fe_running_queries(n: &NodeState, t: i64) -> i64 {
    if t < n.start_ns() {
        return 0;
    }
    let m = n.fe();
    let qps = m.q_success.at(t) + m.q_err.at(t);
    (qps * reservoir_mean(m, t) / 1000.0).round().max(0.0) as i64
}

/// FE JVM state at `t`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jvm {
    pub(crate) heap_used: i64,
    pub(crate) young_used: i64,
    pub(crate) old_used: i64,
    pub(crate) young_gc_count: i64,
    pub(crate) young_gc_ms: i64,
    pub(crate) old_gc_count: i64,
    pub(crate) old_gc_ms: i64,
}

pub(crate) fn jvm(n: &NodeState, t: i64) -> Jvm {
    let m = n.fe();
    let up = (t - n.start_ns()).max(0);
    // Young generation fills up and is collected every gc period: a sawtooth.
    let phase = (up % m.gc_period_ns) as f64 / m.gc_period_ns as f64;
    let committed = m.heap_committed as f64;
    let old_used = (committed * (0.18 + 0.1 * step_noise(n.seed, t, 600 * NS))) as i64;
    let young_used = (committed * 0.45 * phase) as i64 + (32 << 20);
    let young_gc_count = up / m.gc_period_ns;
    let old_gc_count = up / (m.gc_period_ns * 240);
    Jvm {
        heap_used: old_used + young_used,
        young_used,
        old_used,
        young_gc_count,
        young_gc_ms: young_gc_count * (6 + (n.seed % 20) as i64),
        old_gc_count,
        old_gc_ms: old_gc_count * (150 + (n.seed % 200) as i64),
    }
}

/// CPU jiffies per mode (order of [`CPU_MODES`]) at `t`, counted from host boot.
pub(crate) fn cpu_jiffies(n: &NodeState, t: i64) -> [i64; 10] {
    let m = n.be();
    let full = HZ * m.cores as f64;
    let busy = full * m.busy.amount(n.boot_ns, t);
    let iowait = full * m.iowait.amount(n.boot_ns, t);
    let total = full * (t - n.boot_ns).max(0) as f64 / NS as f64;
    let mut out = [0i64; 10];
    for (i, share) in BUSY_SPLIT {
        out[i] = fl(busy * share);
    }
    out[3] = fl(total - busy - iowait);
    out[4] = fl(iowait);
    // Guest time is already inside `user` in /proc/stat; a tiny share as on most hosts.
    out[8] = fl(busy * BUSY_SPLIT[0].1 * 0.002);
    out
}

/// Busy CPU % over `[a, b]`: (all modes − idle − iowait) / all modes, guest modes excluded.
pub(crate) fn cpu_busy_pct(m: &BeModel, a: i64, b: i64) -> f64 {
    let secs = (b - a) as f64 / NS as f64;
    if secs <= 0.0 {
        return 0.0;
    }
    100.0 * m.busy.amount(a, b) / secs
}

/// Instantaneous busy CPU % (what the BE reports to the FE for `CpuUsedPct`).
pub(crate) fn cpu_busy_now(m: &BeModel, t: i64) -> f64 {
    100.0 * m.busy.at(t)
}

/// Bytes on one network device at `t` (send, receive).
pub(crate) fn net_bytes(n: &NodeState, dev: usize, t: i64) -> (i64, i64) {
    let d = &n.be().nets[dev];
    (
        fl(d.send.amount(n.boot_ns, t)),
        fl(d.recv.amount(n.boot_ns, t)),
    )
}

/// Bytes on one disk device at `t` (read, written).
pub(crate) fn disk_bytes(n: &NodeState, dev: usize, t: i64) -> (i64, i64) {
    let d = &n.be().disks[dev];
    (
        fl(d.read.amount(n.boot_ns, t)),
        fl(d.write.amount(n.boot_ns, t)),
    )
}

/// One storage root at `t`: (total, data used, available).
pub(crate) fn store(n: &NodeState, path: usize, t: i64) -> (i64, i64, i64) {
    let p = &n.be().paths[path];
    // Data grows and shrinks a little over the day (loads vs compaction/TTL).
    let wobble = 0.01 * (n.be().activity.curve.factor(t) - 1.0);
    let used = (p.total as f64 * (p.used_frac + wobble)).max(0.0) as i64;
    let other = (p.total as f64 * p.other_frac) as i64;
    (p.total, used, (p.total - used - other).max(0))
}

/// Sum over storage roots: (total, data used, available).
pub(crate) fn store_sum(n: &NodeState, t: i64) -> (i64, i64, i64) {
    (0..n.be().paths.len()).fold((0, 0, 0), |acc, i| {
        let (a, b, c) = store(n, i, t);
        (acc.0 + a, acc.1 + b, acc.2 + c)
    })
}

/// Process activity counter (fragments executed since process start).
pub(crate) fn activity(n: &NodeState, t: i64) -> f64 {
    n.be().activity.amount(n.start_ns(), t)
}

/// Process memory in bytes at `t`.
pub(crate) fn process_mem(n: &NodeState, t: i64) -> i64 {
    let m = n.be();
    if t < n.start_ns() {
        return 0;
    }
    let f = m.mem_frac * (0.8 + 0.2 * m.busy.curve.factor(t));
    (m.mem_limit as f64 * f.min(0.95)) as i64
}

/// Tablets on a BE at `t`.
pub(crate) fn tablets(n: &NodeState, t: i64) -> i64 {
    let m = n.be();
    if m.tablets == 0 {
        return 0;
    }
    m.tablets + (step_noise(n.seed, t, 600 * NS) * 200.0) as i64
}

/// Max compaction score of a BE at `t`.
pub(crate) fn compaction_score(n: &NodeState, t: i64) -> f64 {
    let m = n.be();
    (m.compaction_score * m.activity.curve.factor(t)).round()
}
