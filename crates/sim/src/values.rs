//! The numbers a node serves at an instant, shared by the renderers and the ground truth.
//!
//! Host counters (CPU jiffies, disk and network bytes) count from the host's boot; process
//! counters (queries, fragments, GC, …) from the process start, which `Restart` moves to "now".
//! Every counter is a floor of a closed-form integral (see [`crate::model`]), so it is monotonic
//! between restarts and exactly reproducible.

use crate::condition::{Condition, ConditionKind as K};
use crate::model::{NS, Rate, mix, step_noise, unit};
use crate::state::{ClusterState, NodeState};

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
    pub(crate) query_internal_err: i64,
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
    let q = |rate: &Rate| fl(queries(n, rate, s, t));
    let (extra_err, extra_internal) = extra_errors(n, s, t);
    let base_err = q(&m.q_err);
    let succ = q(&m.q_success);
    let err = base_err + fl(extra_err);
    let other = q(&m.q_other);
    let load = |end: i64| fl(c.leader_amount(n.pos, |lo, hi| m.load.amount(lo, hi), s, end));
    let (ok, fail, rej) = leader_txns(c, n, t);
    FeCounters {
        query_total: succ + err,
        query_success: succ,
        query_err: err,
        query_internal_err: base_err / 7 + fl(extra_internal),
        query_timeout: q(&m.q_timeout),
        slow_query: q(&m.q_slow),
        request_total: succ + err + other,
        txn_success: ok,
        txn_failed: fail,
        txn_reject: rej,
        txn_begin: ok + fail + rej,
        load_add: load(t),
        // Loads finish ~90 s after they are added.
        load_finished: load(t - 90 * NS),
        journal: fl(m.journal.amount(s, t)),
    }
}

/// The successful, failed and rejected transactions FE `n` led since its start: the load
/// model's rates, or those of a `LoadTransactions` condition while it is set.
fn leader_txns(c: &ClusterState, n: &NodeState, t: i64) -> (i64, i64, i64) {
    let m = n.fe();
    let amount = |which: usize| {
        let per_span = |v: Option<Condition>, lo: i64, hi: i64| match v {
            Some(Condition::LoadTransactions {
                begin_per_second: b,
                failed_per_second: f,
            }) => [b - f, f, 0.0][which] * secs(lo, hi),
            _ => [&m.txn_ok, &m.txn_fail, &m.txn_reject][which].amount(lo, hi),
        };
        let led = |lo, hi| {
            c.conditions()
                .integrate(K::LoadTransactions, lo, hi, per_span)
        };
        fl(c.leader_amount(n.pos, led, n.start_ns(), t))
    };
    (amount(0), amount(1), amount(2))
}

fn secs(a: i64, b: i64) -> f64 {
    (b - a) as f64 / NS as f64
}

/// Queries of one kind an FE served over `[a, b]`: its rate, times the `QpsFactor` in force.
fn queries(n: &NodeState, rate: &Rate, a: i64, b: i64) -> f64 {
    n.conditions().integrate(K::QpsFactor, a, b, |v, lo, hi| {
        let factor = match v {
            Some(Condition::QpsFactor(f)) => f,
            _ => 1.0,
        };
        factor * rate.amount(lo, hi)
    })
}

/// The extra failed queries over `[a, b]` from `QueryErrors` and `InternalQueryErrors` (the
/// internal ones count as failed too), and the internal ones alone.
fn extra_errors(n: &NodeState, a: i64, b: i64) -> (f64, f64) {
    let c = n.conditions();
    let per_second = |kind| {
        c.integrate(kind, a, b, |v, lo, hi| match v {
            Some(Condition::QueryErrors(r) | Condition::InternalQueryErrors(r)) => r * secs(lo, hi),
            _ => 0.0,
        })
    };
    let internal = per_second(K::InternalQueryErrors);
    (per_second(K::QueryErrors) + internal, internal)
}

/// Exact query, request and error amounts of an FE over `[a, b]` (independent of restarts).
pub(crate) fn fe_window(n: &NodeState, a: i64, b: i64) -> (f64, f64, f64) {
    let m = n.fe();
    let err = queries(n, &m.q_err, a, b) + extra_errors(n, a, b).0;
    let q = queries(n, &m.q_success, a, b) + err;
    (q, q + queries(n, &m.q_other, a, b), err)
}

/// The quantiles of StarRocks' `query_latency_ms` summary (0.75, 0.95, 0.98, 0.99, 0.999) as
/// multiples of the reservoir's mean: a right-skewed latency distribution.
pub(crate) const SUMMARY_QUANTILE_MULT: [f64; 5] = [1.1, 3.5, 5.0, 8.0, 20.0];

/// The mean of an FE's latency reservoir at `t`, ms: its base latency, drifting with its load
/// (a Codahale decaying reservoir forgets old queries, so its mean follows the recent ones).
pub(crate) fn reservoir_mean(n: &NodeState, t: i64) -> f64 {
    if let Some(Condition::QueryLatencyP95(ms)) = n.condition(K::QueryLatencyP95, t) {
        return ms / SUMMARY_QUANTILE_MULT[1];
    }
    let m = n.fe();
    m.lat_ms * (0.7 + 0.3 * m.q_success.curve.factor(t))
}

/// The summary's quantiles at `t`, ms, as served (three decimals).
pub(crate) fn summary_quantiles(n: &NodeState, t: i64) -> [f64; 5] {
    let mean = reservoir_mean(n, t);
    SUMMARY_QUANTILE_MULT.map(|k| (mean * k * 1000.0).round() / 1000.0)
}

/// The queries an FE coordinates at `t` (`query_coordinator_count`), by Little's law: its
/// query rate at `t` × its reservoir's mean latency, rounded; 0 while its process is down.
pub(crate) fn fe_running_queries(n: &NodeState, t: i64) -> i64 {
    if t < n.start_ns() {
        return 0;
    }
    let m = n.fe();
    let factor = match n.condition(K::QpsFactor, t) {
        Some(Condition::QpsFactor(f)) => f,
        _ => 1.0,
    };
    let qps = factor * (m.q_success.at(t) + m.q_err.at(t));
    (qps * reservoir_mean(n, t) / 1000.0).round().max(0.0) as i64
}

/// FE JVM state at `t`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jvm {
    pub(crate) heap_used: i64,
    /// Committed heap: the configured size, or more while `HeapUsage` needs it.
    pub(crate) heap_committed: i64,
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
    let (heap_used, young_used, old_used) = match n.condition(K::HeapUsage, t) {
        Some(Condition::HeapUsage(pct)) => {
            let used = (m.heap_max as f64 * pct / 100.0) as i64;
            let young = young_used.min(used);
            (used, young, used - young)
        }
        _ => (old_used + young_used, young_used, old_used),
    };
    Jvm {
        heap_used,
        heap_committed: m.heap_committed.max(heap_used),
        young_used,
        old_used,
        young_gc_count,
        young_gc_ms: young_gc_count * (6 + (n.seed % 20) as i64),
        old_gc_count,
        old_gc_ms: old_gc_count * (150 + (n.seed % 200) as i64),
    }
}

/// FE JVM threads at `t` (`jvm_thread{type="count"}`, `thread_cnt`).
pub(crate) fn fe_threads(n: &NodeState, t: i64) -> i64 {
    match n.condition(K::JvmThreads, t) {
        Some(Condition::JvmThreads(v)) => v,
        _ => n.fe().threads + (step_noise(n.seed ^ 2, t, 60 * NS) * 40.0) as i64,
    }
}

/// Busy and iowait CPU time over `[a, b]`, in seconds of one core: the load model's, or the
/// `CpuBusy` share while it is set (iowait then takes 2 % of what is left).
fn cpu_amounts(n: &NodeState, a: i64, b: i64) -> (f64, f64) {
    let m = n.be();
    let c = n.conditions();
    let busy = c.integrate(K::CpuBusy, a, b, |v, lo, hi| match v {
        Some(Condition::CpuBusy(p)) => p / 100.0 * secs(lo, hi),
        _ => m.busy.amount(lo, hi),
    });
    let iowait = c.integrate(K::CpuBusy, a, b, |v, lo, hi| match v {
        Some(Condition::CpuBusy(p)) => 0.02 * (1.0 - p / 100.0) * secs(lo, hi),
        _ => m.iowait.amount(lo, hi),
    });
    (busy, iowait)
}

/// CPU jiffies per mode (order of [`CPU_MODES`]) at `t`, counted from host boot.
pub(crate) fn cpu_jiffies(n: &NodeState, t: i64) -> [i64; 10] {
    let m = n.be();
    let full = HZ * m.cores as f64;
    let (busy, iowait) = cpu_amounts(n, n.boot_ns, t);
    let (busy, iowait) = (full * busy, full * iowait);
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
pub(crate) fn cpu_busy_pct(n: &NodeState, a: i64, b: i64) -> f64 {
    let secs = secs(a, b);
    if secs <= 0.0 {
        return 0.0;
    }
    100.0 * cpu_amounts(n, a, b).0 / secs
}

/// Instantaneous busy CPU % (what the BE reports to the FE for `CpuUsedPct`).
pub(crate) fn cpu_busy_now(n: &NodeState, t: i64) -> f64 {
    match n.condition(K::CpuBusy, t) {
        Some(Condition::CpuBusy(p)) => p,
        _ => 100.0 * n.be().busy.at(t),
    }
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
    let other = (p.total as f64 * p.other_frac) as i64;
    let forced = match n.condition(K::StoragePathUsage, t) {
        Some(Condition::StoragePathUsage { path: i, pct }) if i == path => Some(pct),
        _ => match n.condition(K::StorageUsage, t) {
            Some(Condition::StorageUsage(pct)) => Some(pct),
            _ => None,
        },
    };
    if let Some(pct) = forced {
        let taken = (p.total as f64 * pct / 100.0) as i64;
        return (p.total, (taken - other).max(0), p.total - taken);
    }
    // Data grows and shrinks a little over the day (loads vs compaction/TTL).
    let wobble = 0.01 * (n.be().activity.curve.factor(t) - 1.0);
    let used = (p.total as f64 * (p.used_frac + wobble)).max(0.0) as i64;
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

/// Storage page cache lookups per fragment of process activity, and the share of them that
/// hit, both fixed per node: lookups grow with the work, 80–95 % of them hit.
fn page_cache_model(n: &NodeState) -> (f64, f64) {
    let lookups_per_fragment = 40.0 * (0.5 + unit(mix(n.seed ^ 0x9a6e_cac4)));
    let hit_share = 0.80 + 0.15 * unit(mix(n.seed ^ 0x4173_c0de));
    (lookups_per_fragment, hit_share)
}

/// The storage page cache's lookups and hits counted by the process over `[a, b]` (exact,
/// before the floor the served counters take). StarRocks counts them from the process start and
/// serves them as `page_cache_lookup_count` / `page_cache_hit_count`, typed gauge.
pub(crate) fn page_cache(n: &NodeState, a: i64, b: i64) -> (f64, f64) {
    let (per_fragment, hit_share) = page_cache_model(n);
    let lookups = per_fragment * n.be().activity.amount(a, b).max(0.0);
    (lookups, lookups * hit_share)
}

/// `page_cache_lookup_count`, `page_cache_hit_count` and `page_cache_insert_count` (every miss
/// inserts the page it read) as served at `t`: counted since the process start.
pub(crate) fn page_cache_counts(n: &NodeState, t: i64) -> (i64, i64, i64) {
    let (lookups, hits) = page_cache(n, n.start_ns(), t);
    let (lookups, hits) = (fl(lookups), fl(hits));
    (lookups, hits, lookups - hits)
}

/// Process memory in bytes at `t`.
pub(crate) fn process_mem(n: &NodeState, t: i64) -> i64 {
    let m = n.be();
    if t < n.start_ns() {
        return 0;
    }
    if let Some(Condition::MemoryUsage(pct)) = n.condition(K::MemoryUsage, t) {
        return (m.mem_limit as f64 * pct / 100.0) as i64;
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
    if let Some(Condition::CompactionScore(s)) = n.condition(K::CompactionScore, t) {
        return s;
    }
    let m = n.be();
    (m.compaction_score * m.activity.curve.factor(t)).round()
}

/// The BE's busiest disk's IO utilisation % at `t` (`max_disk_io_util_percent`): up to ~80 %
/// at the daily peak, or the `DiskIoUtil` value.
pub(crate) fn disk_io_util(n: &NodeState, t: i64) -> i64 {
    if let Some(Condition::DiskIoUtil(p)) = n.condition(K::DiskIoUtil, t) {
        return p.round() as i64;
    }
    let load = n.be().activity.curve.factor(t);
    let jitter = step_noise(n.seed ^ 0x10, t, 15 * NS);
    (30.0 * (0.5 + unit(n.seed)) * (0.6 * load + 0.4 * jitter)) as i64
}

/// The most rowsets of one tablet on the BE at `t` (`max_tablet_rowset_num`): tens, or the
/// `MaxRowsetNum` value.
pub(crate) fn max_rowset_num(n: &NodeState, t: i64) -> i64 {
    if let Some(Condition::MaxRowsetNum(v)) = n.condition(K::MaxRowsetNum, t) {
        return v;
    }
    let load = n.be().activity.curve.factor(t);
    (40.0 * load + 40.0 * step_noise(n.seed ^ 0x11, t, 60 * NS)) as i64
}

/// Failed `task` requests since the process started (`engine_requests_total{status="failed"}`):
/// none but those of an `EngineFailures` condition.
pub(crate) fn engine_failures(n: &NodeState, task: crate::EngineTask, t: i64) -> i64 {
    let c = n.conditions();
    fl(c.integrate(
        K::EngineFailures(task),
        n.start_ns(),
        t,
        |v, lo, hi| match v {
            Some(Condition::EngineFailures { per_minute, .. }) => per_minute / 60.0 * secs(lo, hi),
            _ => 0.0,
        },
    ))
}
