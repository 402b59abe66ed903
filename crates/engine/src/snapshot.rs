//! Assembles one cycle: matches scrapes to list rows, runs the per-group functions, and builds the
//! [`MetricsSnapshot`], the [`NodeSnapshot`]s and the next [`EngineState`].
//!
//! Node identity across cycles is `kind/host:port` of the address scraped ([`NodeRef::key`]).
//! A scrape is matched to a row of the leader's lists by kind and id (`BackendId`,
//! `ComputeNodeId`, FE `Name`), else by host and HTTP port, else (FEs only, since the frontends
//! list reports the answering FE's HTTP port for every row) by a unique host. A scrape that
//! matches no row still counts: its node is reported alive if the scrape succeeded.

use std::collections::{BTreeMap, BTreeSet};

use rockscope_model::{
    Backend, ComputeNode, CycleInput, Frontend, FrontendRole, MetricsScrape, MetricsSnapshot,
    NodeKind, NodeRef, NodeScrape, NodeSnapshot, SourceError,
};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::cpu::{NodeLoad, busy_pct, cluster_load, node_memory};
use crate::disk::{DiskTotals, backend_usage, disk_totals};
use crate::extract::{
    BeCounters, BeMetrics, FeCounters, FeMetrics, FeView, extract_be, extract_fe,
};
use crate::jobs::{leader_figures, txn_totals};
use crate::jvm::{heap_max, heap_pct, jvm_totals};
use crate::latency::{FeLatency, combine, fe_latency, interval_queries};
use crate::rates::{
    MAX_COUNTER_GAP, increase, max_opt, mean_opt, pct, per_second, seconds_between, sum_opt, to_i64,
};

/// What one node's last successful scrape left for the next cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeState {
    /// When that scrape completed.
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: OffsetDateTime,
    /// Its counters, for an FE.
    pub fe: Option<FeCounters>,
    /// Its counters, for a BE or CN.
    pub be: Option<BeCounters>,
}

/// The state kept between cycles of one cluster: per node, the counters of its last successful
/// scrape. Plain data, serializable, so that it may be persisted across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    /// By [`NodeRef::key`] (`kind/host:port`).
    pub nodes: BTreeMap<String, NodeState>,
}

/// What [`aggregate`] returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    /// The cluster's figures of the cycle.
    pub snapshot: MetricsSnapshot,
    /// One entry per node: the rows of the lists, then scraped nodes found in no list.
    pub nodes: Vec<NodeSnapshot>,
    /// The state for the next cycle.
    pub state: EngineState,
}

/// A row of one of the leader's lists.
#[derive(Debug, Clone, Copy)]
enum Row<'a> {
    Fe(&'a Frontend),
    Be(&'a Backend),
    Cn(&'a ComputeNode),
}

/// One node of the cycle: its address, its list row, its scrape, and what the scrape gave.
struct Node<'a> {
    node: NodeRef,
    row: Option<Row<'a>>,
    scrape: Option<&'a NodeScrape>,
    fe: Option<FeMetrics>,
    be: Option<BeMetrics>,
    prev: Option<&'a NodeState>,
    seconds: Option<f64>,
}

impl<'a> Node<'a> {
    fn ok_scrape(&self) -> Option<&'a MetricsScrape> {
        self.scrape.and_then(|s| s.result.as_ref().ok())
    }

    fn alive(&self) -> bool {
        match self.row {
            Some(Row::Fe(f)) => f.alive,
            Some(Row::Be(b)) => b.alive,
            Some(Row::Cn(c)) => c.alive,
            None => self.ok_scrape().is_some(),
        }
    }

    fn prev_fe(&self) -> Option<&'a FeCounters> {
        self.prev.and_then(|p| p.fe.as_ref())
    }

    fn prev_be(&self) -> Option<&'a BeCounters> {
        self.prev.and_then(|p| p.be.as_ref())
    }

    fn fe_view(&self) -> Option<FeView<'_>> {
        Some(FeView {
            metrics: self.fe.as_ref()?,
            prev: self.prev_fe(),
            seconds: self.seconds,
        })
    }
}

/// Lists the cycle's nodes: every list row, with the scrapes matched to them, then the scrapes
/// that match no row.
fn gather<'a>(input: &'a CycleInput) -> Vec<Node<'a>> {
    let mut nodes: Vec<Node<'a>> = Vec::new();
    let mut push = |kind, id: String, host: &str, http_port, row| {
        nodes.push(Node {
            node: NodeRef {
                kind,
                id,
                host: host.to_owned(),
                http_port,
            },
            row: Some(row),
            scrape: None,
            fe: None,
            be: None,
            prev: None,
            seconds: None,
        })
    };
    for f in input.frontends.iter().flatten() {
        push(NodeKind::Fe, f.name.clone(), &f.ip, f.http_port, Row::Fe(f));
    }
    for b in input.backends.iter().flatten() {
        push(
            NodeKind::Be,
            b.backend_id.to_string(),
            &b.ip,
            b.http_port,
            Row::Be(b),
        );
    }
    for c in input.compute_nodes.iter().flatten() {
        let id = c.compute_node_id.to_string();
        push(NodeKind::Cn, id, &c.ip, c.http_port, Row::Cn(c));
    }
    for s in &input.scrapes {
        let r = &s.node;
        let free = |n: &Node<'_>| n.node.kind == r.kind && n.scrape.is_none() && n.row.is_some();
        let by_id = (!r.id.is_empty())
            .then(|| nodes.iter().position(|n| free(n) && n.node.id == r.id))
            .flatten();
        let by_addr = || {
            nodes
                .iter()
                .position(|n| free(n) && n.node.host == r.host && n.node.http_port == r.http_port)
        };
        let by_host = || {
            let mut it = nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| free(n) && r.kind == NodeKind::Fe && n.node.host == r.host);
            match (it.next(), it.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        };
        match by_id.or_else(by_addr).or_else(by_host) {
            Some(i) => {
                let n = &mut nodes[i];
                n.scrape = Some(s);
                // The address actually scraped is the node's identity.
                n.node.host.clone_from(&r.host);
                n.node.http_port = r.http_port;
            }
            None => nodes.push(Node {
                node: r.clone(),
                row: None,
                scrape: Some(s),
                fe: None,
                be: None,
                prev: None,
                seconds: None,
            }),
        }
    }
    nodes
}

/// Aggregates one cycle. Pure: the same `prev` and `input` always give the same result.
pub fn aggregate(prev: &EngineState, input: &CycleInput) -> Aggregation {
    let collected_at = input.collected_at.to_offset(UtcOffset::UTC);
    let mut nodes = gather(input);
    let mut state = EngineState::default();

    // Parse every body once, find the previous scrape, carry state forward.
    for n in &mut nodes {
        let key = n.node.key();
        let old = prev.nodes.get(&key);
        let Some(scrape) = n.ok_scrape() else {
            if let Some(old) = old
                && collected_at - old.fetched_at <= MAX_COUNTER_GAP
            {
                state.nodes.insert(key, old.clone());
            }
            continue;
        };
        let at = scrape.fetched_at;
        let old = old.filter(|o| at - o.fetched_at <= MAX_COUNTER_GAP);
        let seconds = old.and_then(|o| seconds_between(o.fetched_at, at));
        n.seconds = seconds;
        n.prev = old.filter(|_| seconds.is_some());
        let entry = if n.node.kind == NodeKind::Fe {
            let m = extract_fe(&scrape.body);
            let counters = m.counters.clone();
            n.fe = Some(m);
            NodeState {
                fetched_at: at,
                fe: Some(counters),
                be: None,
            }
        } else {
            let m = extract_be(&scrape.body);
            let counters = m.counters.clone();
            n.be = Some(m);
            NodeState {
                fetched_at: at,
                fe: None,
                be: Some(counters),
            }
        };
        state.nodes.insert(key, entry);
    }

    let frontends = input.frontends.as_deref().ok();
    let backends = input.backends.as_deref().ok();
    let compute_nodes = input.compute_nodes.as_deref().ok();

    // ---- leader ----
    let leader_row = frontends.and_then(|fs| fs.iter().find(|f| f.is_leader()));
    let is_leader_row = |n: &Node<'_>| matches!(n.row, Some(Row::Fe(f)) if f.is_leader());
    let leader_node = {
        let claiming: Vec<&Node<'_>> = nodes
            .iter()
            .filter(|n| n.fe.as_ref().is_some_and(|m| m.is_master))
            .collect();
        claiming
            .iter()
            .find(|n| is_leader_row(n))
            .or(claiming.first())
            .copied()
            .or_else(|| nodes.iter().find(|n| is_leader_row(n) && n.fe.is_some()))
    };
    let leader_metrics = leader_node.and_then(|n| n.fe.as_ref());
    let node_info = leader_metrics.map(|m| m.node_info).unwrap_or_default();

    // ---- FE: queries, latency ----
    let fe_nodes: Vec<&Node<'_>> = nodes.iter().filter(|n| n.fe.is_some()).collect();
    let mut rates_from_gauges = false;
    let mut fe_qps: BTreeMap<usize, Option<f64>> = BTreeMap::new();
    let mut qps_parts = Vec::new();
    let mut rps_parts = Vec::new();
    let mut lat_parts = Vec::new();
    let mut fe_lat: BTreeMap<usize, Option<f64>> = BTreeMap::new();
    let (mut d_total, mut d_success, mut d_err, mut d_timeout, mut d_slow) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut err_rate_parts = Vec::new();
    let mut err_per_sec = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let Some(m) = &n.fe else { continue };
        let prev = n.prev_fe();
        let c = &m.counters;
        let d = |get: fn(&FeCounters) -> Option<f64>| increase(prev.and_then(get), get(c));
        let dq = interval_queries(c, prev);
        let (qps, rps) = if prev.is_some() {
            (
                per_second(dq, n.seconds),
                per_second(d(|c| c.request_total), n.seconds),
            )
        } else {
            rates_from_gauges |= m.qps.is_some() || m.rps.is_some();
            (m.qps, m.rps)
        };
        qps_parts.push(qps);
        rps_parts.push(rps);
        fe_qps.insert(i, qps);
        let latency = fe_latency(m, prev);
        fe_lat.insert(i, latency.p99);
        lat_parts.push(FeLatency {
            latency,
            interval_queries: dq,
            qps_gauge: m.qps,
        });
        let de = d(|c| c.query_err);
        d_total.push(dq);
        d_success.push(d(|c| c.query_success));
        d_err.push(de);
        d_timeout.push(d(|c| c.query_timeout));
        d_slow.push(d(|c| c.slow_query));
        if let (Some(q), Some(e)) = (dq, de) {
            err_rate_parts.push((q, e));
        }
        err_per_sec.push(per_second(de, n.seconds));
    }
    let latency = combine(&lat_parts);
    let fe_sum = |get: fn(&FeCounters) -> Option<f64>| {
        to_i64(sum_opt(
            fe_nodes
                .iter()
                .map(|n| n.fe.as_ref().and_then(|m| get(&m.counters))),
        ))
    };
    let fe_gauge = |get: fn(&FeMetrics) -> Option<f64>| {
        to_i64(sum_opt(
            fe_nodes.iter().map(|n| n.fe.as_ref().and_then(get)),
        ))
    };
    let query_error_rate = {
        let q: f64 = err_rate_parts.iter().map(|p| p.0).sum();
        let e: f64 = err_rate_parts.iter().map(|p| p.1).sum();
        pct(Some(e), Some(q))
    };

    let fe_views: Vec<FeView<'_>> = nodes.iter().filter_map(Node::fe_view).collect();
    let jvm = jvm_totals(&fe_views, input.runtime_info.as_ref());
    let txn = txn_totals(&fe_views);
    let leader = leader_figures(leader_metrics);

    // ---- BE/CN: CPU, memory, network, IO, compaction ----
    struct Compute {
        idx: usize,
        cpu: Option<f64>,
        mem_pct: Option<f64>,
        mem_used: Option<f64>,
        mem_limit: Option<f64>,
        net_send: Option<f64>,
        net_recv: Option<f64>,
        io_read: Option<f64>,
        io_write: Option<f64>,
        compaction_rate: Option<f64>,
    }
    let mut computes = Vec::new();
    let mut loads = Vec::new();
    for (idx, n) in nodes.iter().enumerate() {
        if n.node.kind == NodeKind::Fe {
            continue;
        }
        let (list_cpu, list_mem, limit, cores) = match n.row {
            Some(Row::Be(b)) => (
                b.cpu_used_pct,
                b.mem_used_pct,
                b.mem_limit_bytes,
                b.cpu_cores,
            ),
            Some(Row::Cn(c)) => (
                c.cpu_used_pct,
                c.mem_used_pct,
                c.mem_limit_bytes,
                c.cpu_cores,
            ),
            _ => (None, None, None, None),
        };
        let limit = limit.map(|l| l as f64);
        let cur = n.be.as_ref().map(|m| &m.counters);
        let prev = n.prev_be();
        let jiffies = match (prev, cur) {
            (Some(p), Some(c)) => busy_pct(&p.cpu, &c.cpu),
            _ => None,
        };
        let cpu = jiffies.or(list_cpu);
        let (mem_pct, mem_used) =
            node_memory(list_mem, n.be.as_ref().and_then(|m| m.process_mem), limit);
        let rate = |get: fn(&BeCounters) -> Option<f64>| {
            per_second(increase(prev.and_then(get), cur.and_then(get)), n.seconds)
        };
        loads.push(NodeLoad {
            alive: n.alive(),
            cpu_pct: cpu,
            cores: cores.map(f64::from),
            mem_pct,
            mem_used,
            mem_limit: limit,
        });
        computes.push(Compute {
            idx,
            cpu,
            mem_pct,
            mem_used,
            mem_limit: limit,
            net_send: rate(|c| c.net_sent),
            net_recv: rate(|c| c.net_received),
            io_read: rate(|c| c.disk_read),
            io_write: rate(|c| c.disk_written),
            compaction_rate: rate(|c| c.compaction_bytes),
        });
    }
    let load = cluster_load(&loads);
    let be_metrics: Vec<&BeMetrics> = nodes.iter().filter_map(|n| n.be.as_ref()).collect();
    let be_sum = |get: fn(&BeMetrics) -> Option<f64>| sum_opt(be_metrics.iter().map(|m| get(m)));
    let be_max = |get: fn(&BeMetrics) -> Option<f64>| max_opt(be_metrics.iter().map(|m| get(m)));
    let disk = match backends {
        Some(b) => disk_totals(b, compute_nodes.unwrap_or_default()),
        None => DiskTotals::default(),
    };

    // ---- node counts ----
    let count = |v: usize| Some(v as i64);
    let (backend_total, backend_alive, backend_decommissioned) = match backends {
        Some(b) => (
            count(b.len()),
            count(b.iter().filter(|b| b.alive).count()),
            count(b.iter().filter(|b| b.is_decommissioned()).count()),
        ),
        None => (
            to_i64(node_info.be_total),
            to_i64(node_info.be_alive),
            to_i64(node_info.be_decommissioned),
        ),
    };
    let (frontend_total, frontend_alive, followers, observers) = match frontends {
        Some(f) => (
            count(f.len()),
            count(f.iter().filter(|f| f.alive).count()),
            count(
                f.iter()
                    .filter(|f| f.role == FrontendRole::Follower)
                    .count(),
            ),
            count(
                f.iter()
                    .filter(|f| f.role == FrontendRole::Observer)
                    .count(),
            ),
        ),
        None => (
            to_i64(node_info.fe_total),
            to_i64(node_info.fe_alive),
            None,
            None,
        ),
    };
    let (cn_total, cn_alive, cn_decommissioned) = match compute_nodes {
        Some(c) => (
            count(c.len()),
            count(c.iter().filter(|c| c.alive).count()),
            count(c.iter().filter(|c| c.is_decommissioned()).count()),
        ),
        None => (to_i64(node_info.cn_total), to_i64(node_info.cn_alive), None),
    };
    let versions: BTreeSet<&str> = nodes
        .iter()
        .filter_map(|n| match n.row? {
            Row::Fe(f) => f.version.as_deref(),
            Row::Be(b) => b.version.as_deref(),
            Row::Cn(c) => c.version.as_deref(),
        })
        .collect();
    let journal_replay_lag = leader_row.and_then(|l| {
        let lead = l.replayed_journal_id?;
        let slowest = frontends?
            .iter()
            .filter(|f| f.alive)
            .filter_map(|f| f.replayed_journal_id)
            .min()?;
        Some(lead as i64 - slowest as i64)
    });
    let compute_rows = || {
        let b = backends
            .unwrap_or_default()
            .iter()
            .map(|b| (b.alive, b.num_running_queries, b.cpu_cores));
        let c = compute_nodes
            .unwrap_or_default()
            .iter()
            .map(|c| (c.alive, c.num_running_queries, c.cpu_cores));
        b.chain(c)
    };
    let have_compute_rows = backends.is_some() || compute_nodes.is_some();
    let running_queries = to_i64(sum_opt(
        compute_rows()
            .filter(|r| r.0)
            .map(|r| r.1.map(|q| q as f64)),
    ))
    .filter(|_| have_compute_rows);
    let cpu_cores_total = to_i64(sum_opt(compute_rows().map(|r| r.2.map(f64::from))));

    // ---- scrape health ----
    let ok_scrapes: Vec<(&NodeRef, &MetricsScrape)> = input
        .scrapes
        .iter()
        .filter_map(|s| Some((&s.node, s.result.as_ref().ok()?)))
        .collect();
    let mut source_errors: Vec<SourceError> = Vec::new();
    for e in [
        input.frontends.as_ref().err(),
        input.backends.as_ref().err(),
        input.compute_nodes.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        source_errors.push(e.clone());
    }
    source_errors.extend(
        input
            .scrapes
            .iter()
            .filter_map(|s| s.result.as_ref().err().cloned()),
    );
    source_errors.extend(input.other_errors.iter().cloned());

    let snapshot = MetricsSnapshot {
        cluster_id: input.cluster_id,
        collected_at,
        qps: sum_opt(qps_parts),
        rps: sum_opt(rps_parts),
        query_latency_p50: latency.p50,
        query_latency_p95: latency.p95,
        query_latency_p99: latency.p99,
        query_latency_p75: latency.p75,
        query_latency_p90: latency.p90,
        query_latency_p999: latency.p999,
        query_latency_mean: latency.mean,
        query_total: fe_sum(|c| c.query_total),
        query_success: fe_sum(|c| c.query_success),
        query_error: fe_sum(|c| c.query_err),
        query_timeout: fe_sum(|c| c.query_timeout),
        slow_query_total: fe_sum(|c| c.slow_query),
        request_total: fe_sum(|c| c.request_total),
        query_interval_total: to_i64(sum_opt(d_total)),
        query_interval_success: to_i64(sum_opt(d_success)),
        query_interval_error: to_i64(sum_opt(d_err)),
        query_interval_timeout: to_i64(sum_opt(d_timeout)),
        slow_query_interval: to_i64(sum_opt(d_slow)),
        query_error_per_second: sum_opt(err_per_sec),
        query_error_rate,
        query_queue_pending: fe_gauge(|m| m.query_queue_pending),
        fe_connections: fe_gauge(|m| m.connections),
        running_queries,
        backend_total,
        backend_alive,
        backend_decommissioned,
        frontend_total,
        frontend_alive,
        frontend_follower_count: followers,
        frontend_observer_count: observers,
        compute_node_total: cn_total,
        compute_node_alive: cn_alive,
        compute_node_decommissioned: cn_decommissioned,
        leader_name: leader_row
            .map(|l| l.name.clone())
            .or_else(|| leader_node.map(|n| n.node.id.clone()))
            .filter(|s| !s.is_empty()),
        leader_host: leader_row
            .map(|l| l.ip.clone())
            .or_else(|| leader_node.map(|n| n.node.host.clone())),
        version: leader_row.and_then(|l| l.version.clone()),
        distinct_versions: (!versions.is_empty()).then_some(versions.len() as i64),
        journal_replay_lag,
        total_cpu_usage: load.total_cpu,
        avg_cpu_usage: load.avg_cpu,
        max_cpu_usage: load.max_cpu,
        cpu_cores_total,
        total_memory_usage: load.total_mem,
        avg_memory_usage: load.avg_mem,
        max_memory_usage: load.max_mem,
        memory_used_bytes: to_i64(load.mem_used),
        memory_limit_bytes: to_i64(load.mem_limit),
        disk_total_bytes: to_i64(disk.total),
        disk_used_bytes: to_i64(disk.used),
        disk_avail_bytes: to_i64(disk.avail),
        disk_usage_pct: disk.usage_pct,
        max_disk_usage_pct: disk.max_usage_pct,
        max_storage_root_usage_pct: disk.max_root_pct,
        data_used_bytes: to_i64(disk.data_used),
        tablet_count: to_i64(disk.tablets),
        max_compaction_score: leader
            .max_compaction_score
            .or_else(|| be_max(BeMetrics::compaction_score)),
        base_compaction_score: be_max(|m| m.base_score),
        cumulative_compaction_score: be_max(|m| m.cumulative_score),
        compaction_tasks_running: to_i64(be_sum(|m| m.compaction_running)),
        compaction_tasks_waiting: to_i64(be_sum(|m| m.compaction_waiting)),
        compaction_bytes_rate: sum_opt(computes.iter().map(|c| c.compaction_rate)),
        scheduled_tablet_num: to_i64(leader.scheduled_tablet_num),
        txn_running: to_i64(leader.txn_running),
        txn_begin_total: to_i64(txn.begin),
        txn_success_total: to_i64(txn.success),
        txn_failed_total: to_i64(txn.failed),
        txn_reject_total: to_i64(txn.reject),
        txn_begin_rate: txn.begin_rate,
        load_running: to_i64(leader.load_running),
        load_pending: to_i64(leader.load_pending),
        load_jobs_finished: to_i64(leader.load_finished),
        load_jobs_cancelled: to_i64(leader.load_cancelled),
        load_finished_total: to_i64(txn.load_finished),
        routine_load_running: to_i64(leader.routine_running),
        routine_load_need_schedule: to_i64(leader.routine_need_schedule),
        routine_load_paused: to_i64(leader.routine_paused),
        routine_load_unstable: to_i64(leader.routine_unstable),
        routine_load_stopped: to_i64(leader.routine_stopped),
        routine_load_cancelled: to_i64(leader.routine_cancelled),
        jvm_heap_total: to_i64(jvm.heap_total),
        jvm_heap_used: to_i64(jvm.heap_used),
        jvm_heap_usage_pct: jvm.usage_pct,
        max_jvm_heap_usage_pct: jvm.max_usage_pct,
        jvm_heap_committed: to_i64(jvm.heap_committed),
        jvm_thread_count: to_i64(jvm.threads),
        jvm_young_gc_count: to_i64(jvm.young_gc_count),
        jvm_young_gc_time_ms: to_i64(jvm.young_gc_time_ms),
        jvm_old_gc_count: to_i64(jvm.old_gc_count),
        jvm_old_gc_time_ms: to_i64(jvm.old_gc_time_ms),
        jvm_old_gc_interval: to_i64(jvm.old_gc_interval),
        jvm_gc_time_rate: jvm.gc_time_rate,
        network_bytes_sent_total: to_i64(be_sum(|m| m.counters.net_sent)),
        network_bytes_received_total: to_i64(be_sum(|m| m.counters.net_received)),
        network_send_rate: sum_opt(computes.iter().map(|c| c.net_send)),
        network_receive_rate: sum_opt(computes.iter().map(|c| c.net_recv)),
        io_read_bytes_total: to_i64(be_sum(|m| m.counters.disk_read)),
        io_write_bytes_total: to_i64(be_sum(|m| m.counters.disk_written)),
        io_read_rate: sum_opt(computes.iter().map(|c| c.io_read)),
        io_write_rate: sum_opt(computes.iter().map(|c| c.io_write)),
        scrape_nodes_total: input.scrapes.len() as i64,
        scrape_nodes_ok: ok_scrapes.len() as i64,
        scrape_fe_ok: ok_scrapes
            .iter()
            .filter(|(n, _)| n.kind == NodeKind::Fe)
            .count() as i64,
        scrape_be_ok: ok_scrapes
            .iter()
            .filter(|(n, _)| n.kind != NodeKind::Fe)
            .count() as i64,
        scrape_duration_max_ms: ok_scrapes.iter().map(|(_, s)| s.duration_ms as i64).max(),
        scrape_duration_avg_ms: mean_opt(
            ok_scrapes.iter().map(|(_, s)| Some(s.duration_ms as f64)),
        ),
        scrape_skipped_lines: nodes
            .iter()
            .map(|n| {
                let fe = n.fe.as_ref().map_or(0, |m| m.skipped_lines);
                let be = n.be.as_ref().map_or(0, |m| m.skipped_lines);
                (fe + be) as i64
            })
            .sum(),
        interval_seconds: mean_opt(nodes.iter().map(|n| n.seconds)),
        rates_from_gauges,
        source_errors,
    };

    // ---- per node ----
    let compute_of: BTreeMap<usize, &Compute> = computes.iter().map(|c| (c.idx, c)).collect();
    let node_snapshots = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let scrape = n.scrape.map(|s| &s.result);
            let c = compute_of.get(&i);
            let mut s = NodeSnapshot {
                cluster_id: input.cluster_id,
                collected_at,
                node_type: n.node.kind,
                node_id: if n.node.id.is_empty() {
                    format!("{}:{}", n.node.host, n.node.http_port)
                } else {
                    n.node.id.clone()
                },
                host: n.node.host.clone(),
                http_port: n.node.http_port,
                alive: n.alive(),
                role: None,
                version: None,
                decommissioned: false,
                cpu_usage_pct: c.and_then(|c| c.cpu),
                cpu_cores: None,
                memory_usage_pct: c.and_then(|c| c.mem_pct),
                memory_used_bytes: to_i64(c.and_then(|c| c.mem_used)),
                memory_limit_bytes: to_i64(c.and_then(|c| c.mem_limit)),
                disk_total_bytes: None,
                disk_used_bytes: None,
                disk_usage_pct: None,
                data_used_bytes: None,
                tablet_count: None,
                compaction_score: n.be.as_ref().and_then(BeMetrics::compaction_score),
                running_queries: None,
                jvm_heap_used: to_i64(n.fe.as_ref().and_then(|m| m.heap_used)),
                jvm_heap_max: to_i64(n.fe.as_ref().and_then(heap_max)),
                jvm_heap_usage_pct: n.fe.as_ref().and_then(heap_pct),
                qps: fe_qps.get(&i).copied().flatten(),
                query_latency_p99: fe_lat.get(&i).copied().flatten(),
                connections: to_i64(n.fe.as_ref().and_then(|m| m.connections)),
                network_send_rate: c.and_then(|c| c.net_send),
                network_receive_rate: c.and_then(|c| c.net_recv),
                io_read_rate: c.and_then(|c| c.io_read),
                io_write_rate: c.and_then(|c| c.io_write),
                scrape_ok: matches!(scrape, Some(Ok(_))),
                scrape_error: match scrape {
                    Some(Ok(_)) => None,
                    Some(Err(e)) => Some(format!("{}: {}", e.code, e.message)),
                    None => Some("not scraped".to_owned()),
                },
                scrape_duration_ms: match scrape {
                    Some(Ok(s)) => Some(s.duration_ms as i64),
                    _ => None,
                },
            };
            match n.row {
                Some(Row::Fe(f)) => {
                    s.role = Some(role_name(f.role).to_owned());
                    s.version.clone_from(&f.version);
                }
                Some(Row::Be(b)) => {
                    let (used, usage) = backend_usage(b);
                    s.version.clone_from(&b.version);
                    s.decommissioned = b.is_decommissioned();
                    s.cpu_cores = b.cpu_cores.map(i64::from);
                    s.disk_total_bytes = b.total_capacity_bytes.map(|v| v as i64);
                    s.disk_used_bytes = to_i64(used);
                    s.disk_usage_pct = usage;
                    s.data_used_bytes = b.data_used_capacity_bytes.map(|v| v as i64);
                    s.tablet_count = b.tablet_num.map(|v| v as i64);
                    s.running_queries = b.num_running_queries.map(|v| v as i64);
                }
                Some(Row::Cn(cn)) => {
                    s.version.clone_from(&cn.version);
                    s.decommissioned = cn.is_decommissioned();
                    s.cpu_cores = cn.cpu_cores.map(i64::from);
                    s.tablet_count = cn.tablet_num.map(|v| v as i64);
                    s.running_queries = cn.num_running_queries.map(|v| v as i64);
                }
                None => {
                    if n.fe.as_ref().is_some_and(|m| m.is_master) {
                        s.role = Some("leader".to_owned());
                    }
                }
            }
            // A BE's storage from its own body when the list has none.
            if n.node.kind == NodeKind::Be
                && s.disk_total_bytes.is_none()
                && let Some(m) = &n.be
            {
                let used = m.disks_total.zip(m.disks_avail).map(|(t, a)| t - a);
                s.disk_total_bytes = to_i64(m.disks_total);
                s.disk_used_bytes = to_i64(used);
                s.disk_usage_pct = pct(used, m.disks_total);
                s.data_used_bytes = s.data_used_bytes.or(to_i64(m.disks_data_used));
            }
            s
        })
        .collect();

    Aggregation {
        snapshot,
        nodes: node_snapshots,
        state,
    }
}

fn role_name(role: FrontendRole) -> &'static str {
    match role {
        FrontendRole::Leader => "leader",
        FrontendRole::Follower => "follower",
        FrontendRole::Observer => "observer",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::tests::backend;
    use time::macros::datetime;

    fn scrape(kind: NodeKind, id: &str, host: &str, port: u16, body: &str) -> NodeScrape {
        NodeScrape {
            node: NodeRef {
                kind,
                id: id.to_owned(),
                host: host.to_owned(),
                http_port: port,
            },
            result: Ok(MetricsScrape {
                body: body.as_bytes().to_vec(),
                fetched_at: datetime!(2025-01-01 00:00:01 UTC),
                duration_ms: 3,
            }),
        }
    }

    fn input(backends: Vec<Backend>, scrapes: Vec<NodeScrape>) -> CycleInput {
        CycleInput {
            cluster_id: 1,
            collected_at: datetime!(2025-01-01 01:00:00 +01:00),
            frontends: Ok(Vec::new()),
            backends: Ok(backends),
            compute_nodes: Ok(Vec::new()),
            runtime_info: None,
            scrapes,
            other_errors: Vec::new(),
        }
    }

    #[test]
    fn scrapes_match_rows_by_id_then_address() {
        let rows = vec![backend(1, Some(10), Some(5)), backend(2, Some(10), Some(5))];
        let input = input(
            rows,
            vec![
                // by address (no id), then by id at another address, then unknown
                scrape(NodeKind::Be, "", "10.0.0.1", 8040, ""),
                scrape(NodeKind::Be, "2", "be2.example", 8041, ""),
                scrape(NodeKind::Be, "", "10.0.0.9", 8040, ""),
            ],
        );
        let nodes = gather(&input);
        assert_eq!(nodes.len(), 3);
        assert!(nodes[0].scrape.is_some() && nodes[0].row.is_some());
        assert_eq!(nodes[1].node.key(), "be/be2.example:8041");
        assert_eq!(nodes[1].node.id, "2");
        assert!(nodes[2].row.is_none());
    }

    #[test]
    fn collected_at_is_utc_and_health_is_counted() {
        let input = input(
            Vec::new(),
            vec![scrape(
                NodeKind::Be,
                "",
                "10.0.0.1",
                8040,
                "garbage line\nstarrocks_be_cpu{mode=\"idle\"} 1\nstarrocks_be_cpu{ 2\n",
            )],
        );
        let a = aggregate(&EngineState::default(), &input);
        assert_eq!(a.snapshot.collected_at, datetime!(2025-01-01 00:00:00 UTC));
        assert_eq!(a.snapshot.collected_at.offset(), UtcOffset::UTC);
        assert_eq!(a.snapshot.scrape_skipped_lines, 2);
        assert_eq!(a.snapshot.scrape_nodes_ok, 1);
        assert_eq!(a.snapshot.backend_total, Some(0));
        assert_eq!(a.nodes.len(), 1);
        assert_eq!(a.nodes[0].node_id, "10.0.0.1:8040");
        assert_eq!(a.state.nodes.len(), 1);
    }

    #[test]
    fn vanished_nodes_are_dropped_from_state() {
        let mut prev = EngineState::default();
        prev.nodes.insert(
            "be/10.9.9.9:8040".to_owned(),
            NodeState {
                fetched_at: datetime!(2025-01-01 00:00:00 UTC),
                fe: None,
                be: Some(BeCounters::default()),
            },
        );
        let a = aggregate(&prev, &input(Vec::new(), Vec::new()));
        assert!(a.state.nodes.is_empty());
    }
}
