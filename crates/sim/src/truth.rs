//! Ground truth: what an ideal poller should derive from the served counters.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::model::NS;
use crate::state::{ClusterState, NodeState};
use crate::{NodeId, NodeKind, values};

/// The exact values behind what a cluster serves, for a window `[from, to]`.
///
/// Rates are exact integrals of the load model over the window, so they equal
/// Δcounter/Δt of the served counters up to the integer rounding of the counters (±1 per
/// counter), independent of restarts. Gauges are taken at `to`.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundTruth {
    /// Cluster name.
    pub cluster: String,
    /// Window start.
    pub from: OffsetDateTime,
    /// Window end.
    pub to: OffsetDateTime,
    /// Σ over all FEs (incl. observers) of Δ`starrocks_fe_query_total` / Δt.
    pub qps: f64,
    /// Σ over all FEs of Δ`starrocks_fe_request_total` / Δt.
    pub rps: f64,
    /// 100 × Σ Δ`query_err` / Σ Δ`query_total` (0 when no queries).
    pub query_error_rate_pct: f64,
    /// Queries in the window, all FEs (Σ Δ`query_total`, rounded).
    pub queries: u64,
    /// Failed queries in the window (Σ Δ`query_err`, rounded).
    pub query_errors: u64,
    /// Mean over BEs and CNs of [`GroundTruth::per_node_cpu_pct`].
    pub avg_cpu_usage_pct: f64,
    /// Per BE/CN: 100 × Δbusy / Δtotal jiffies, busy = total − idle − iowait, where total sums
    /// user, nice, system, idle, iowait, irq, soft_irq, steal (guest and guest_nice excluded:
    /// the kernel already counts them inside user/nice).
    pub per_node_cpu_pct: BTreeMap<NodeId, f64>,
    /// Σ over BEs/CNs and non-`lo` devices of Δ`network_send_bytes` / Δt.
    pub network_send_rate: f64,
    /// Σ over BEs/CNs and non-`lo` devices of Δ`network_receive_bytes` / Δt.
    pub network_receive_rate: f64,
    /// Σ over BEs/CNs and all devices of Δ`disk_bytes_read` / Δt.
    pub io_read_rate: f64,
    /// Σ over BEs/CNs and all devices of Δ`disk_bytes_written` / Δt.
    pub io_write_rate: f64,
    /// Σ over FEs of `jvm_heap_size_bytes{type="used"}` at `to`.
    pub jvm_heap_used: u64,
    /// Σ over FEs of `jvm_heap_size_bytes{type="max"}`.
    pub jvm_heap_max: u64,
    /// Σ over BEs (not CNs) of `disks_total_capacity` (= show_proc TotalCapacity) at `to`.
    pub disk_total_bytes: u64,
    /// Σ over BEs of `disks_data_used_capacity` (= DataUsedCapacity) at `to`.
    pub disk_used_bytes: u64,
    /// Σ over BEs of `disks_avail_capacity` (= AvailCapacity) at `to`.
    pub disk_avail_bytes: u64,
    /// Per BE (not CN) and storage root path, `disks_data_used_capacity{path}` at `to`.
    pub data_used_by_path: BTreeMap<NodeId, BTreeMap<String, u64>>,
    /// Per BE and CN, its storage page cache counters (see [`PageCacheTruth`]).
    pub page_cache: BTreeMap<NodeId, PageCacheTruth>,
    /// BEs shown alive by the FE at call time.
    pub alive_backends: usize,
    /// All BEs.
    pub total_backends: usize,
    /// Leader at `to`.
    pub leader: NodeId,
    /// Per FE (observers included): its queries in the window and its latency summary at `to`.
    pub fe_latency: BTreeMap<NodeId, FeLatencyTruth>,
    /// The largest summary p99 at `to` among the FEs that served queries in the window (the
    /// upper bound of the cluster's p99); `None` when no FE did.
    pub query_latency_p99: Option<f64>,
    /// The reservoir means at `to` of the FEs that served queries in the window, weighted by
    /// their queries in it; `None` when no FE did.
    pub query_latency_mean: Option<f64>,
    /// Per FE (observers included): the queries it coordinates at `to`
    /// (`starrocks_fe_memory{type="query_coordinator_count"}` as served); empty when the
    /// version has no `memory` family (3.0).
    pub fe_running_queries: BTreeMap<NodeId, u64>,
    /// Σ of [`GroundTruth::fe_running_queries`]: the cluster's running queries, each counted
    /// once (at its coordinator FE); `None` when the version has no `memory` family.
    pub running_queries: Option<u64>,
    /// CNs shown alive by the FE at call time.
    pub alive_compute_nodes: usize,
    /// All CNs.
    pub total_compute_nodes: usize,
}

/// One FE's latency truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FeLatencyTruth {
    /// Queries in the window (Δ`query_total`, exact).
    pub queries: f64,
    /// The reservoir's mean at `to` (`_sum / _count` as served), ms.
    pub mean: f64,
    /// The summary's 0.99 quantile at `to`, ms.
    pub p99: f64,
}

/// One BE's or CN's storage page cache: the counters StarRocks serves typed `gauge` although
/// they only grow from the process start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PageCacheTruth {
    /// `page_cache_lookup_count` as served at `to`.
    pub lookup_count: u64,
    /// `page_cache_hit_count` as served at `to` (80–95 % of the lookups, fixed per node).
    pub hit_count: u64,
    /// `page_cache_insert_count` as served at `to`; `None` on a BE of the older build, which
    /// does not serve it ([`crate::ClusterSpec::with_newer_be`]).
    pub insert_count: Option<u64>,
    /// Lookups counted in the window by the process serving at `to`, i.e. since the later of
    /// `from` and its start (exact; the served counters are its floor): what a reset-safe
    /// per-node increase of the served counter sees, ±1.
    pub lookups: f64,
    /// Hits counted likewise.
    pub hits: f64,
}

fn page_cache(cl: &ClusterState, a: i64, b: i64) -> BTreeMap<NodeId, PageCacheTruth> {
    backends_and_cns(cl)
        .map(|n| {
            let (lookup_count, hit_count, insert_count) = values::page_cache_counts(n, b);
            let (lookups, hits) = values::page_cache(n, a.max(n.start_ns()), b);
            let truth = PageCacheTruth {
                lookup_count: lookup_count as u64,
                hit_count: hit_count as u64,
                insert_count: cl.newer_build(n).then_some(insert_count as u64),
                lookups,
                hits,
            };
            (n.id, truth)
        })
        .collect()
}

fn data_used_by_path(cl: &ClusterState, b: i64) -> BTreeMap<NodeId, BTreeMap<String, u64>> {
    cl.backends()
        .map(|n| {
            let paths = n.be().paths.iter().enumerate();
            let used = paths.map(|(i, p)| (p.path.to_owned(), values::store(n, i, b).1 as u64));
            (n.id, used.collect())
        })
        .collect()
}

fn fe_latency(cl: &ClusterState, a: i64, b: i64) -> BTreeMap<NodeId, FeLatencyTruth> {
    cl.fes()
        .map(|n| {
            let truth = FeLatencyTruth {
                queries: values::fe_window(n, a, b).0,
                mean: values::reservoir_mean(n, b),
                p99: values::summary_quantiles(n, b)[3],
            };
            (n.id, truth)
        })
        .collect()
}

/// (largest p99, query-weighted mean) over the FEs that served queries.
fn cluster_latency(fes: &BTreeMap<NodeId, FeLatencyTruth>) -> (Option<f64>, Option<f64>) {
    let serving: Vec<&FeLatencyTruth> = fes.values().filter(|f| f.queries > 0.0).collect();
    let queries: f64 = serving.iter().map(|f| f.queries).sum();
    let p99 = serving.iter().map(|f| f.p99).reduce(f64::max);
    let mean =
        (queries > 0.0).then(|| serving.iter().map(|f| f.mean * f.queries).sum::<f64>() / queries);
    (p99, mean)
}

/// Per FE, its coordinator count at `b` as served; empty when the version serves none.
fn fe_running_queries(cl: &ClusterState, b: i64) -> BTreeMap<NodeId, u64> {
    if !cl.spec.version.fe_memory_family() {
        return BTreeMap::new();
    }
    cl.fes()
        .map(|n| (n.id, values::fe_running_queries(n, b) as u64))
        .collect()
}

fn backends_and_cns(cl: &ClusterState) -> impl Iterator<Item = &NodeState> {
    cl.nodes.iter().filter(|n| n.id.kind != NodeKind::Fe)
}

pub(crate) fn compute(cl: &ClusterState, a: i64, b: i64) -> GroundTruth {
    let secs = (b - a) as f64 / NS as f64;
    let (mut q, mut r, mut e) = (0.0, 0.0, 0.0);
    let (mut heap_used, mut heap_max) = (0u64, 0u64);
    for n in cl.fes() {
        let (qq, rr, ee) = values::fe_window(n, a, b);
        q += qq;
        r += rr;
        e += ee;
        heap_used += values::jvm(n, b).heap_used as u64;
        heap_max += n.fe().heap_max as u64;
    }
    let mut per_node = BTreeMap::new();
    let (mut send, mut recv, mut rd, mut wr) = (0.0, 0.0, 0.0, 0.0);
    for n in backends_and_cns(cl) {
        let m = n.be();
        per_node.insert(n.id, values::cpu_busy_pct(n, a, b));
        for d in m.nets.iter().filter(|d| d.name != "lo") {
            send += d.send.amount(a, b);
            recv += d.recv.amount(a, b);
        }
        for d in &m.disks {
            rd += d.read.amount(a, b);
            wr += d.write.amount(a, b);
        }
    }
    let (mut total, mut used, mut avail) = (0u64, 0u64, 0u64);
    for n in cl.backends() {
        let (tt, u, av) = values::store_sum(n, b);
        total += tt as u64;
        used += u as u64;
        avail += av as u64;
    }
    let avg_cpu = if per_node.is_empty() {
        0.0
    } else {
        per_node.values().sum::<f64>() / per_node.len() as f64
    };
    let fe_latency = fe_latency(cl, a, b);
    let (query_latency_p99, query_latency_mean) = cluster_latency(&fe_latency);
    let fe_running_queries = fe_running_queries(cl, b);
    let running_queries =
        (!fe_running_queries.is_empty()).then(|| fe_running_queries.values().sum());
    let ts = |ns: i64| {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    };
    GroundTruth {
        cluster: cl.spec.name.clone(),
        from: ts(a),
        to: ts(b),
        qps: q / secs,
        rps: r / secs,
        query_error_rate_pct: if q > 0.0 { 100.0 * e / q } else { 0.0 },
        queries: q.round() as u64,
        query_errors: e.round() as u64,
        avg_cpu_usage_pct: avg_cpu,
        per_node_cpu_pct: per_node,
        network_send_rate: send / secs,
        network_receive_rate: recv / secs,
        io_read_rate: rd / secs,
        io_write_rate: wr / secs,
        jvm_heap_used: heap_used,
        jvm_heap_max: heap_max,
        disk_total_bytes: total,
        disk_used_bytes: used,
        disk_avail_bytes: avail,
        data_used_by_path: data_used_by_path(cl, b),
        page_cache: page_cache(cl, a, b),
        alive_backends: cl.backends().filter(|n| n.alive()).count(),
        total_backends: cl.backends().count(),
        leader: cl.nodes[cl.leader_at(b)].id,
        fe_latency,
        query_latency_p99,
        query_latency_mean,
        fe_running_queries,
        running_queries,
        alive_compute_nodes: cl.compute_nodes().filter(|n| n.alive()).count(),
        total_compute_nodes: cl.compute_nodes().count(),
    }
}

impl GroundTruth {
    /// As a JSON object (used by the control endpoint).
    pub fn to_json(&self) -> serde_json::Value {
        let per: serde_json::Map<String, serde_json::Value> = self
            .per_node_cpu_pct
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        let running: serde_json::Map<String, serde_json::Value> = self
            .fe_running_queries
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        let paths: serde_json::Map<String, serde_json::Value> = self
            .data_used_by_path
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
            .collect();
        let page_cache: serde_json::Map<String, serde_json::Value> = self
            .page_cache
            .iter()
            .map(|(k, p)| {
                let v = serde_json::json!({
                    "lookup_count": p.lookup_count,
                    "hit_count": p.hit_count,
                    "insert_count": p.insert_count,
                    "lookups": p.lookups,
                    "hits": p.hits,
                });
                (k.to_string(), v)
            })
            .collect();
        serde_json::json!({
            "cluster": self.cluster,
            "from": self.from.unix_timestamp_nanos() as f64 / 1e9,
            "to": self.to.unix_timestamp_nanos() as f64 / 1e9,
            "qps": self.qps,
            "rps": self.rps,
            "query_error_rate_pct": self.query_error_rate_pct,
            "queries": self.queries,
            "query_errors": self.query_errors,
            "avg_cpu_usage_pct": self.avg_cpu_usage_pct,
            "per_node_cpu_pct": per,
            "network_send_rate": self.network_send_rate,
            "network_receive_rate": self.network_receive_rate,
            "io_read_rate": self.io_read_rate,
            "io_write_rate": self.io_write_rate,
            "jvm_heap_used": self.jvm_heap_used,
            "jvm_heap_max": self.jvm_heap_max,
            "disk_total_bytes": self.disk_total_bytes,
            "disk_used_bytes": self.disk_used_bytes,
            "disk_avail_bytes": self.disk_avail_bytes,
            "data_used_by_path": paths,
            "page_cache": page_cache,
            "alive_backends": self.alive_backends,
            "total_backends": self.total_backends,
            "leader": self.leader.to_string(),
            "query_latency_p99": self.query_latency_p99,
            "query_latency_mean": self.query_latency_mean,
            "fe_running_queries": running,
            "running_queries": self.running_queries,
            "alive_compute_nodes": self.alive_compute_nodes,
            "total_compute_nodes": self.total_compute_nodes,
        })
    }
}
