//! The compute nodes' (BEs' and CNs') figures of one cycle: per node CPU, memory, network, disk
//! IO and compaction rates, failed storage-engine tasks, and their cluster sums and maxima.
//!
//! Host CPU busy % needs two scrapes of a node (jiffies deltas, [`busy_pct`]); the process CPU
//! of the list's `CpuUsedPct` is a different quantity with its own field, never a stand-in.

use std::collections::BTreeMap;

use rockscope_model::{Backend, ComputeNode};

use crate::cpu::{ClusterLoad, NodeLoad, busy_pct, cluster_load, node_memory};
use crate::extract::{BeCounters, BeMetrics, EngineFailures};
use crate::nodes::{Node, Row};
use crate::rates::{increase, max_opt, per_second, sum_opt, to_i64};

/// One compute node's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ComputeFigures {
    /// Host CPU busy % from jiffies.
    pub cpu: Option<f64>,
    /// The process's CPU over the host's cores (`CpuUsedPct`).
    pub process_cpu: Option<f64>,
    pub mem_pct: Option<f64>,
    pub mem_used: Option<f64>,
    pub mem_limit: Option<f64>,
    pub net_send: Option<f64>,
    pub net_recv: Option<f64>,
    pub io_read: Option<f64>,
    pub io_write: Option<f64>,
    pub compaction_rate: Option<f64>,
    /// Failed engine tasks since the previous scrape.
    pub failed: EngineFailures,
}

/// The list columns a compute node's figures use.
#[derive(Default)]
struct ListFigures {
    cpu_used_pct: Option<f64>,
    mem_used_pct: Option<f64>,
    mem_limit: Option<f64>,
    cores: Option<u32>,
}

fn list_figures(row: Option<Row<'_>>) -> ListFigures {
    let of_be = |b: &Backend| ListFigures {
        cpu_used_pct: b.cpu_used_pct,
        mem_used_pct: b.mem_used_pct,
        mem_limit: b.mem_limit_bytes.map(|l| l as f64),
        cores: b.cpu_cores,
    };
    let of_cn = |c: &ComputeNode| ListFigures {
        cpu_used_pct: c.cpu_used_pct,
        mem_used_pct: c.mem_used_pct,
        mem_limit: c.mem_limit_bytes.map(|l| l as f64),
        cores: c.cpu_cores,
    };
    match row {
        Some(Row::Be(b)) => of_be(b),
        Some(Row::Cn(c)) => of_cn(c),
        _ => ListFigures::default(),
    }
}

fn node_figures(n: &Node<'_>, list: &ListFigures) -> ComputeFigures {
    let cur = n.be.as_ref().map(|m| &m.counters);
    let prev = n.prev_be();
    let rate = |get: fn(&BeCounters) -> Option<f64>| {
        per_second(increase(prev.and_then(get), cur.and_then(get)), n.seconds)
    };
    let (mem_pct, mem_used) = node_memory(
        list.mem_used_pct,
        n.be.as_ref().and_then(|m| m.process_mem),
        list.mem_limit,
    );
    ComputeFigures {
        cpu: prev.zip(cur).and_then(|(p, c)| busy_pct(&p.cpu, &c.cpu)),
        process_cpu: list.cpu_used_pct,
        mem_pct,
        mem_used,
        mem_limit: list.mem_limit,
        net_send: rate(|c| c.net_sent),
        net_recv: rate(|c| c.net_received),
        io_read: rate(|c| c.disk_read),
        io_write: rate(|c| c.disk_written),
        compaction_rate: rate(|c| c.compaction_bytes),
        failed: failed_increases(prev, cur),
    }
}

/// The increases of the failed-task counters between two scrapes of a node (reset-safe).
fn failed_increases(prev: Option<&BeCounters>, cur: Option<&BeCounters>) -> EngineFailures {
    let d = |get: fn(&EngineFailures) -> Option<f64>| {
        increase(
            prev.and_then(|p| get(&p.failed)),
            cur.and_then(|c| get(&c.failed)),
        )
    };
    EngineFailures {
        cumulative_compaction: d(|f| f.cumulative_compaction),
        base_compaction: d(|f| f.base_compaction),
        schema_change: d(|f| f.schema_change),
        clone: d(|f| f.clone),
    }
}

/// The compute nodes' figures and their cluster sums.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ComputeTotals {
    /// By node index.
    pub per_node: BTreeMap<usize, ComputeFigures>,
    pub load: ClusterLoad,
    pub net_send: Option<f64>,
    pub net_recv: Option<f64>,
    pub io_read: Option<f64>,
    pub io_write: Option<f64>,
    pub compaction_rate: Option<f64>,
    /// Σ of the nodes' failed-task increases over the interval.
    pub failed: EngineFailures,
    /// Σ of a body figure over the scraped compute nodes.
    pub bodies: BodyTotals,
}

/// Sums and maxima of the compute nodes' bodies.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct BodyTotals {
    pub net_sent: Option<f64>,
    pub net_received: Option<f64>,
    pub disk_read: Option<f64>,
    pub disk_written: Option<f64>,
    pub compaction_score: Option<f64>,
    pub base_score: Option<f64>,
    pub cumulative_score: Option<f64>,
    pub compaction_running: Option<f64>,
    pub compaction_waiting: Option<f64>,
    /// The most rowsets of one tablet, over nodes.
    pub max_rowset_num: Option<f64>,
    /// The busiest disk's IO utilisation %, over nodes.
    pub max_disk_io_util: Option<f64>,
}

fn body_totals(bodies: &[&BeMetrics]) -> BodyTotals {
    let sum = |get: fn(&BeMetrics) -> Option<f64>| sum_opt(bodies.iter().map(|m| get(m)));
    let max = |get: fn(&BeMetrics) -> Option<f64>| max_opt(bodies.iter().map(|m| get(m)));
    BodyTotals {
        net_sent: sum(|m| m.counters.net_sent),
        net_received: sum(|m| m.counters.net_received),
        disk_read: sum(|m| m.counters.disk_read),
        disk_written: sum(|m| m.counters.disk_written),
        compaction_score: max(BeMetrics::compaction_score),
        base_score: max(|m| m.base_score),
        cumulative_score: max(|m| m.cumulative_score),
        compaction_running: sum(|m| m.compaction_running),
        compaction_waiting: sum(|m| m.compaction_waiting),
        max_rowset_num: max(|m| m.max_tablet_rowset_num),
        max_disk_io_util: max(|m| m.max_disk_io_util),
    }
}

pub(crate) fn compute_totals(nodes: &[Node<'_>]) -> ComputeTotals {
    let mut per_node = BTreeMap::new();
    let mut loads = Vec::new();
    for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.is_compute()) {
        let list = list_figures(n.row);
        let f = node_figures(n, &list);
        loads.push(NodeLoad {
            alive: n.alive(),
            cpu_pct: f.cpu,
            cores: list.cores.map(f64::from),
            mem_pct: f.mem_pct,
            mem_used: f.mem_used,
            mem_limit: f.mem_limit,
        });
        per_node.insert(i, f);
    }
    let sum = |get: fn(&ComputeFigures) -> Option<f64>| sum_opt(per_node.values().map(get));
    let bodies: Vec<&BeMetrics> = nodes.iter().filter_map(|n| n.be.as_ref()).collect();
    ComputeTotals {
        load: cluster_load(&loads),
        net_send: sum(|f| f.net_send),
        net_recv: sum(|f| f.net_recv),
        io_read: sum(|f| f.io_read),
        io_write: sum(|f| f.io_write),
        compaction_rate: sum(|f| f.compaction_rate),
        failed: EngineFailures {
            cumulative_compaction: sum(|f| f.failed.cumulative_compaction),
            base_compaction: sum(|f| f.failed.base_compaction),
            schema_change: sum(|f| f.failed.schema_change),
            clone: sum(|f| f.failed.clone),
        },
        bodies: body_totals(&bodies),
        per_node,
    }
}

/// Σ `CpuCores` of all BE and CN rows.
pub(crate) fn cpu_cores_total(backends: &[Backend], compute_nodes: &[ComputeNode]) -> Option<i64> {
    let b = backends.iter().map(|b| b.cpu_cores);
    let c = compute_nodes.iter().map(|c| c.cpu_cores);
    to_i64(sum_opt(b.chain(c).map(|c| c.map(f64::from))))
}

/// Σ `NumRunningQueries` of the alive BE and CN rows: query contexts, one per query and node.
pub(crate) fn running_query_contexts(
    backends: &[Backend],
    compute_nodes: &[ComputeNode],
) -> Option<i64> {
    let b = backends.iter().map(|b| (b.alive, b.num_running_queries));
    let c = compute_nodes
        .iter()
        .map(|c| (c.alive, c.num_running_queries));
    let alive = b.chain(c).filter(|r| r.0);
    to_i64(sum_opt(alive.map(|r| r.1.map(|q| q as f64))))
}
