//! CPU and memory of the compute nodes (BEs and CNs).
//!
//! CPU per node from the `starrocks_be_cpu{mode}` jiffies of two consecutive scrapes:
//! all = Σ Δmode over every mode except `guest` and `guest_nice` (Linux already counts them in
//! `user` and `nice`), busy = all − Δidle − Δiowait, busy % = busy / all × 100. If any mode went
//! down the counters were reset, and the new values are the increases.
//!
//! Memory per node: `MemUsedPct` of the leader's list, else `process_mem_bytes / MemLimit`.

use crate::rates::{mean_opt, pct, sum_opt};

/// The `mode` label values of `starrocks_be_cpu`, in the order of
/// [`BeCounters::cpu`](crate::extract::BeCounters::cpu).
pub const CPU_MODES: [&str; 10] = [
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

/// Modes counted in "all" (every mode but `guest`, `guest_nice`).
const COUNTED: usize = 8;
const IDLE: usize = 3;
const IOWAIT: usize = 4;

/// A node's CPU busy % between two jiffies readings; `None` when idle is missing from either or
/// no jiffy passed.
pub fn busy_pct(prev: &[Option<f64>; 10], cur: &[Option<f64>; 10]) -> Option<f64> {
    prev[IDLE]?;
    cur[IDLE]?;
    let reset = (0..COUNTED).any(|i| matches!((prev[i], cur[i]), (Some(p), Some(c)) if c < p));
    let (mut all, mut idle) = (0.0, 0.0);
    for i in 0..COUNTED {
        let (Some(p), Some(c)) = (prev[i], cur[i]) else {
            continue;
        };
        let d = if reset { c } else { c - p };
        all += d;
        if i == IDLE || i == IOWAIT {
            idle += d;
        }
    }
    (all > 0.0).then(|| (all - idle) / all * 100.0)
}

/// A node's memory use: `(percent, used bytes)` from the list's `MemUsedPct`, the scraped
/// `process_mem_bytes` and the list's `MemLimit`, each filling in for the other.
pub fn node_memory(
    list_pct: Option<f64>,
    process_mem: Option<f64>,
    limit: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    let pct_value = list_pct.or_else(|| pct(process_mem, limit));
    let used = process_mem.or_else(|| Some(list_pct? * limit? / 100.0));
    (pct_value, used)
}

/// One compute node's load, as the cluster figures need it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodeLoad {
    /// Alive in the leader's list.
    pub alive: bool,
    /// CPU busy %.
    pub cpu_pct: Option<f64>,
    /// `CpuCores`.
    pub cores: Option<f64>,
    /// Memory use %.
    pub mem_pct: Option<f64>,
    /// Memory used, bytes.
    pub mem_used: Option<f64>,
    /// `MemLimit`, bytes.
    pub mem_limit: Option<f64>,
}

/// The cluster's CPU and memory figures over alive compute nodes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClusterLoad {
    /// Core-weighted CPU busy % (equal weights when a core count is missing).
    pub total_cpu: Option<f64>,
    /// Mean CPU busy %.
    pub avg_cpu: Option<f64>,
    /// Highest CPU busy %.
    pub max_cpu: Option<f64>,
    /// Σ used / Σ limit × 100 over the nodes that have both.
    pub total_mem: Option<f64>,
    /// Mean memory use %.
    pub avg_mem: Option<f64>,
    /// Highest memory use %.
    pub max_mem: Option<f64>,
    /// Σ memory used, bytes.
    pub mem_used: Option<f64>,
    /// Σ memory limits, bytes.
    pub mem_limit: Option<f64>,
}

/// Cluster CPU and memory from the per-node loads; dead nodes are left out.
pub fn cluster_load(nodes: &[NodeLoad]) -> ClusterLoad {
    let alive: Vec<&NodeLoad> = nodes.iter().filter(|n| n.alive).collect();
    let with_cpu: Vec<(f64, Option<f64>)> = alive
        .iter()
        .filter_map(|n| n.cpu_pct.map(|c| (c, n.cores)))
        .collect();
    let total_cpu = if with_cpu.is_empty() {
        None
    } else if with_cpu.iter().all(|(_, c)| c.is_some_and(|c| c > 0.0)) {
        let cores: f64 = with_cpu.iter().map(|(_, c)| c.unwrap_or(0.0)).sum();
        Some(
            with_cpu
                .iter()
                .map(|(p, c)| p * c.unwrap_or(0.0))
                .sum::<f64>()
                / cores,
        )
    } else {
        mean_opt(with_cpu.iter().map(|(p, _)| Some(*p)))
    };
    let both: Vec<(f64, f64)> = alive
        .iter()
        .filter_map(|n| Some((n.mem_used?, n.mem_limit?)))
        .collect();
    let total_mem = if both.is_empty() {
        None
    } else {
        pct(
            Some(both.iter().map(|b| b.0).sum()),
            Some(both.iter().map(|b| b.1).sum()),
        )
    };
    ClusterLoad {
        total_cpu,
        avg_cpu: mean_opt(alive.iter().map(|n| n.cpu_pct)),
        max_cpu: crate::rates::max_opt(alive.iter().map(|n| n.cpu_pct)),
        total_mem,
        avg_mem: mean_opt(alive.iter().map(|n| n.mem_pct)),
        max_mem: crate::rates::max_opt(alive.iter().map(|n| n.mem_pct)),
        mem_used: sum_opt(alive.iter().map(|n| n.mem_used)),
        mem_limit: sum_opt(alive.iter().map(|n| n.mem_limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jiffies(v: [f64; 10]) -> [Option<f64>; 10] {
        v.map(Some)
    }

    #[test]
    fn busy_excludes_guest_idle_iowait() {
        //                 user nice sys idle iow irq sirq steal guest gnice
        let a = jiffies([100., 0., 50., 800., 50., 0., 0., 0., 10., 0.]);
        let b = jiffies([160., 0., 70., 880., 70., 5., 5., 10., 40., 5.]);
        // all = 60+0+20+80+20+5+5+10 = 200, idle+iowait = 100 -> 50 %
        assert_eq!(busy_pct(&a, &b), Some(50.0));
        assert_eq!(busy_pct(&a, &a), None, "no jiffy passed");
    }

    #[test]
    fn busy_after_reset_uses_new_values() {
        let a = jiffies([1000., 0., 500., 8000., 500., 0., 0., 0., 0., 0.]);
        let b = jiffies([30., 0., 10., 50., 10., 0., 0., 0., 0., 0.]);
        // all = 100, busy = 40
        assert_eq!(busy_pct(&a, &b), Some(40.0));
    }

    #[test]
    fn busy_needs_idle() {
        let mut a = jiffies([1.; 10]);
        let b = jiffies([2.; 10]);
        a[IDLE] = None;
        assert_eq!(busy_pct(&a, &b), None);
    }

    #[test]
    fn memory_fallbacks() {
        assert_eq!(
            node_memory(Some(25.0), None, Some(400.0)),
            (Some(25.0), Some(100.0))
        );
        assert_eq!(
            node_memory(None, Some(100.0), Some(400.0)),
            (Some(25.0), Some(100.0))
        );
        assert_eq!(
            node_memory(Some(30.0), Some(100.0), None),
            (Some(30.0), Some(100.0))
        );
        assert_eq!(node_memory(None, None, Some(400.0)), (None, None));
    }

    #[test]
    fn cluster_figures() {
        let n = |alive, cpu, cores, mem, used, limit| NodeLoad {
            alive,
            cpu_pct: cpu,
            cores,
            mem_pct: mem,
            mem_used: used,
            mem_limit: limit,
        };
        let nodes = [
            n(
                true,
                Some(10.0),
                Some(8.0),
                Some(20.0),
                Some(200.0),
                Some(1000.0),
            ),
            n(
                true,
                Some(40.0),
                Some(24.0),
                Some(50.0),
                Some(1500.0),
                Some(3000.0),
            ),
            n(
                false,
                Some(99.0),
                Some(8.0),
                Some(99.0),
                Some(999.0),
                Some(1000.0),
            ),
        ];
        let c = cluster_load(&nodes);
        // (10*8 + 40*24) / 32 = 32.5
        assert_eq!(c.total_cpu, Some(32.5));
        assert_eq!(c.avg_cpu, Some(25.0));
        assert_eq!(c.max_cpu, Some(40.0));
        // 1700 / 4000
        assert_eq!(c.total_mem, Some(42.5));
        assert_eq!(c.avg_mem, Some(35.0));
        assert_eq!(c.max_mem, Some(50.0));
        assert_eq!(c.mem_used, Some(1700.0));
        assert_eq!(c.mem_limit, Some(4000.0));
        // a missing core count: equal weights
        let nodes = [
            n(true, Some(10.0), Some(8.0), None, None, None),
            n(true, Some(40.0), None, None, None, None),
        ];
        let c = cluster_load(&nodes);
        assert_eq!(c.total_cpu, Some(25.0));
        assert_eq!(c.total_mem, None);
        assert_eq!(c.avg_mem, None);
        assert_eq!(cluster_load(&[]), ClusterLoad::default());
    }
}
