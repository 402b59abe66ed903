//! The assembly of one cycle: parses every body once, runs the metric groups ([`queries`],
//! `health`, `compute`, [`jvm`], [`jobs`], [`disk`]) and lays their results out as the
//! [`MetricsSnapshot`] (the field list), the [`NodeSnapshot`]s (`node_snapshot`) and the next
//! [`EngineState`].
//!
//! [`queries`]: crate::queries
//! [`jvm`]: crate::jvm
//! [`jobs`]: crate::jobs
//! [`disk`]: crate::disk

use std::collections::BTreeMap;

use rockscope_model::{CycleInput, MetricsSnapshot, NodeFamilies, NodeKind, NodeSnapshot};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

use crate::compute::{ComputeTotals, compute_totals, cpu_cores_total, running_query_contexts};
use crate::custom::{self, CustomMetricWarning, CustomSet, NodeTap};
use crate::disk::{DiskTotals, disk_totals};
use crate::extract::{BeCounters, FeCounters, FeView, extract_be_with, extract_fe_with};
use crate::health::{
    Leader, NodeCounts, ScrapeHealth, distinct_versions, node_counts, scrape_health,
};
use crate::jobs::{LeaderFigures, TxnTotals, leader_figures, txn_totals};
use crate::jvm::{JvmTotals, jvm_totals};
use crate::node_snapshot::{NodeFigures, node_snapshot};
use crate::nodes::{Node, gather};
use crate::queries::{QueryFigures, query_figures};
use crate::rates::{MAX_COUNTER_GAP, seconds_between, to_i64};

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
    /// The raw values of the `rate` custom metrics, by the series they read
    /// (`CustomMetric::state_key`: family and matchers).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom: BTreeMap<String, f64>,
}

/// The state kept between cycles of one cluster: per node, the counters of its last successful
/// scrape. Plain data, serializable, so that it may be persisted across restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    /// By [`NodeRef::key`](rockscope_model::NodeRef::key) (`kind/host:port`).
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
    /// Samples parsed from the cycle's bodies (lines skipped as invalid not included): the
    /// parse's own count, for rockscope's self-metrics.
    pub samples_parsed: u64,
    /// Custom definitions that are probably not what was meant ("rate on a gauge").
    pub custom_warnings: Vec<CustomMetricWarning>,
    /// The families of the first body of each node type this cycle, from
    /// [`aggregate_discovering`] (empty otherwise).
    pub families: Vec<NodeFamilies>,
}

/// Aggregates one cycle without custom metrics ([`aggregate_with`]).
pub fn aggregate(prev: &EngineState, input: &CycleInput) -> Aggregation {
    aggregate_with(prev, input, &CustomSet::default())
}

/// Aggregates one cycle with the custom metrics of `custom`, resolved in the same pass over
/// each body. Pure: the same arguments always give the same result.
pub fn aggregate_with(prev: &EngineState, input: &CycleInput, custom: &CustomSet) -> Aggregation {
    aggregate_cycle(prev, input, custom, Discovery::Off)
}

/// [`aggregate_with`] that also lists the families of the first body of each node type
/// ([`Aggregation::families`]) in the same pass. Listing them allocates per family and label
/// name, a third more work for the engine over a StarRocks fleet's bodies, so the collector
/// asks for it only now and then (`metric-families` shows when its bodies were fetched).
pub fn aggregate_discovering(
    prev: &EngineState,
    input: &CycleInput,
    custom: &CustomSet,
) -> Aggregation {
    aggregate_cycle(prev, input, custom, Discovery::FirstOfEachType)
}

/// Whether a cycle lists the families of its bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Discovery {
    Off,
    FirstOfEachType,
}

fn aggregate_cycle(
    prev: &EngineState,
    input: &CycleInput,
    custom: &CustomSet,
    discovery: Discovery,
) -> Aggregation {
    let collected_at = input.collected_at.to_offset(UtcOffset::UTC);
    let mut nodes = gather(input);
    let (state, families) = parse_bodies(prev, collected_at, &mut nodes, custom, discovery);
    let groups = Groups::compute(input, &nodes);
    let mut figures = custom::evaluate(custom, &nodes, groups.leader_index);
    let node_snapshots = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let node_figures = NodeFigures {
                fe: groups.queries.per_fe.get(&i),
                compute: groups.compute.per_node.get(&i),
            };
            let mut node = node_snapshot(input.cluster_id, collected_at, n, node_figures);
            node.custom = std::mem::take(&mut figures.per_node[i]);
            node
        })
        .collect();
    let samples_parsed = nodes
        .iter()
        .map(|n| {
            let fe = n.fe.as_ref().map_or(0, |m| m.samples);
            let be = n.be.as_ref().map_or(0, |m| m.samples);
            (fe + be) as u64
        })
        .sum();
    let mut snapshot = cluster_snapshot(input, collected_at, groups);
    snapshot.custom = figures.cluster;
    Aggregation {
        snapshot,
        nodes: node_snapshots,
        state,
        samples_parsed,
        custom_warnings: figures.warnings,
        families,
    }
}

/// Parses every successful body once (observing the custom metrics in the same pass, and the
/// families of the first body of each node type), links each node to its previous scrape, and
/// builds the next state (a node that failed keeps its previous scrape while it is recent
/// enough).
fn parse_bodies<'a>(
    prev: &'a EngineState,
    collected_at: OffsetDateTime,
    nodes: &mut [Node<'a>],
    custom: &CustomSet,
    discovery: Discovery,
) -> (EngineState, Vec<NodeFamilies>) {
    let mut state = EngineState::default();
    let mut families = Vec::new();
    for n in nodes.iter_mut() {
        let key = n.node.key();
        let old = prev.nodes.get(&key);
        let Some(scrape) = n.ok_scrape() else {
            if let Some(old) = old.filter(|o| collected_at - o.fetched_at <= MAX_COUNTER_GAP) {
                state.nodes.insert(key, old.clone());
            }
            continue;
        };
        let at = scrape.fetched_at;
        let old = old.filter(|o| at - o.fetched_at <= MAX_COUNTER_GAP);
        n.seconds = old.and_then(|o| seconds_between(o.fetched_at, at));
        n.prev = old.filter(|_| n.seconds.is_some());
        let kind = n.node.kind;
        let first_of_kind = discovery == Discovery::FirstOfEachType
            && !families.iter().any(|f: &NodeFamilies| f.node_type == kind);
        let tap = NodeTap::new(custom, kind, first_of_kind);
        let mut entry = NodeState {
            fetched_at: at,
            fe: None,
            be: None,
            custom: BTreeMap::new(),
        };
        let mut seen = if kind == NodeKind::Fe {
            let (m, seen) = extract_fe_with(&scrape.body, tap);
            entry.fe = Some(m.counters.clone());
            n.fe = Some(m);
            seen
        } else {
            let (m, seen) = extract_be_with(&scrape.body, tap);
            entry.be = Some(m.counters.clone());
            n.be = Some(m);
            seen
        };
        for (i, (metric, value)) in custom.metrics().iter().zip(&seen.values).enumerate() {
            if let (true, Some(v)) = (metric.rate, value) {
                entry.custom.insert(custom.state_key(i).to_owned(), *v);
            }
        }
        if let Some(list) = seen.families.take() {
            families.push(NodeFamilies {
                node_type: kind,
                node: n.node.address(),
                fetched_at: at,
                families: list,
            });
        }
        n.custom = Some(seen);
        state.nodes.insert(key, entry);
    }
    (state, families)
}

/// What every metric group computed for the cluster.
struct Groups {
    queries: QueryFigures,
    counts: NodeCounts,
    compute: ComputeTotals,
    disk: DiskTotals,
    jvm: JvmTotals,
    txn: TxnTotals,
    leader: LeaderFigures,
    leader_name: Option<String>,
    leader_host: Option<String>,
    /// The index of the leader FE's node, if one was scraped.
    leader_index: Option<usize>,
    version: Option<String>,
    distinct_versions: Option<i64>,
    journal_replay_lag: Option<i64>,
    cpu_cores_total: Option<i64>,
    running_query_contexts: Option<i64>,
    health: ScrapeHealth,
}

impl Groups {
    fn compute(input: &CycleInput, nodes: &[Node<'_>]) -> Groups {
        let frontends = input.frontends.as_deref().ok();
        let backends = input.backends.as_deref().ok();
        let compute_nodes = input.compute_nodes.as_deref().ok();
        let leader = Leader::find(input, nodes);
        let leader_metrics = leader.metrics();
        let node_info = leader_metrics.map(|m| m.node_info).unwrap_or_default();
        let fe_views: Vec<FeView<'_>> = nodes.iter().filter_map(Node::fe_view).collect();
        let (bes, cns) = (
            backends.unwrap_or_default(),
            compute_nodes.unwrap_or_default(),
        );
        let have_compute_rows = backends.is_some() || compute_nodes.is_some();
        Groups {
            queries: query_figures(nodes),
            counts: node_counts(input, &node_info),
            compute: compute_totals(nodes),
            disk: backends.map_or_else(DiskTotals::default, |b| disk_totals(b, cns)),
            jvm: jvm_totals(&fe_views, input.runtime_info.as_ref()),
            txn: txn_totals(&fe_views),
            leader: leader_figures(leader_metrics),
            leader_name: leader.name(),
            leader_host: leader.host(),
            leader_index: leader
                .node
                .and_then(|l| nodes.iter().position(|n| std::ptr::eq(n, l))),
            version: leader.row.and_then(|l| l.version.clone()),
            distinct_versions: distinct_versions(nodes),
            journal_replay_lag: leader.journal_replay_lag(frontends),
            cpu_cores_total: cpu_cores_total(bes, cns),
            running_query_contexts: running_query_contexts(bes, cns).filter(|_| have_compute_rows),
            health: scrape_health(input, nodes),
        }
    }
}

/// The field list: every [`MetricsSnapshot`] field from its group's result.
fn cluster_snapshot(
    input: &CycleInput,
    collected_at: OffsetDateTime,
    g: Groups,
) -> MetricsSnapshot {
    let (q, c, load, bodies) = (&g.queries, &g.counts, &g.compute.load, &g.compute.bodies);
    let (disk, jvm, txn, leader) = (&g.disk, &g.jvm, &g.txn, &g.leader);
    let failed = &g.compute.failed;
    MetricsSnapshot {
        cluster_id: input.cluster_id,
        collected_at,
        qps: q.qps,
        rps: q.rps,
        query_latency_p50: q.latency.p50,
        query_latency_p95: q.latency.p95,
        query_latency_p99: q.latency.p99,
        query_latency_p75: q.latency.p75,
        query_latency_p90: q.latency.p90,
        query_latency_p999: q.latency.p999,
        query_latency_mean: q.latency.mean,
        query_total: q.totals.total,
        query_success: q.totals.success,
        query_error: q.totals.error,
        query_timeout: q.totals.timeout,
        slow_query_total: q.totals.slow,
        request_total: q.totals.requests,
        query_interval_total: q.interval.total,
        query_interval_success: q.interval.success,
        query_interval_error: q.interval.error,
        query_interval_timeout: q.interval.timeout,
        slow_query_interval: q.interval.slow,
        query_error_per_second: q.error_per_second,
        query_error_rate: q.error_rate,
        query_queue_pending: q.queue_pending,
        fe_connections: q.connections,
        running_queries: q.running,
        running_query_contexts: g.running_query_contexts,
        backend_total: c.backends.total,
        backend_alive: c.backends.alive,
        backend_decommissioned: c.backends.decommissioned,
        frontend_total: c.frontends.total,
        frontend_alive: c.frontends.alive,
        frontend_follower_count: c.followers,
        frontend_observer_count: c.observers,
        compute_node_total: c.compute_nodes.total,
        compute_node_alive: c.compute_nodes.alive,
        compute_node_decommissioned: c.compute_nodes.decommissioned,
        leader_name: g.leader_name,
        leader_host: g.leader_host,
        version: g.version,
        distinct_versions: g.distinct_versions,
        journal_replay_lag: g.journal_replay_lag,
        total_cpu_usage: load.total_cpu,
        avg_cpu_usage: load.avg_cpu,
        max_cpu_usage: load.max_cpu,
        cpu_cores_total: g.cpu_cores_total,
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
        max_compaction_score: leader.max_compaction_score.or(bodies.compaction_score),
        base_compaction_score: bodies.base_score,
        cumulative_compaction_score: bodies.cumulative_score,
        compaction_tasks_running: to_i64(bodies.compaction_running),
        compaction_tasks_waiting: to_i64(bodies.compaction_waiting),
        compaction_bytes_rate: g.compute.compaction_rate,
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
        network_bytes_sent_total: to_i64(bodies.net_sent),
        network_bytes_received_total: to_i64(bodies.net_received),
        network_send_rate: g.compute.net_send,
        network_receive_rate: g.compute.net_recv,
        io_read_bytes_total: to_i64(bodies.disk_read),
        io_write_bytes_total: to_i64(bodies.disk_written),
        io_read_rate: g.compute.io_read,
        io_write_rate: g.compute.io_write,
        compaction_cumulative_failed_interval: to_i64(failed.cumulative_compaction),
        compaction_base_failed_interval: to_i64(failed.base_compaction),
        schema_change_failed_interval: to_i64(failed.schema_change),
        clone_failed_interval: to_i64(failed.clone),
        max_tablet_rowset_num: to_i64(bodies.max_rowset_num),
        meta_log_count: to_i64(leader.meta_log_count),
        txn_begin_interval: to_i64(txn.begin_interval),
        txn_failed_interval: to_i64(txn.failed_interval),
        txn_running_max_db: to_i64(leader.txn_running_max_db),
        routine_load_max_lag: to_i64(leader.routine_load_max_lag),
        query_internal_error_interval: q.interval.internal_error,
        max_disk_io_util_pct: bodies.max_disk_io_util,
        scrape_nodes_total: g.health.nodes_total,
        scrape_nodes_ok: g.health.nodes_ok,
        scrape_fe_ok: g.health.fe_ok,
        scrape_be_ok: g.health.be_ok,
        scrape_duration_max_ms: g.health.duration_max_ms,
        scrape_duration_avg_ms: g.health.duration_avg_ms,
        scrape_skipped_lines: g.health.skipped_lines,
        interval_seconds: g.health.interval_seconds,
        rates_from_gauges: q.rates_from_gauges,
        source_errors: g.health.source_errors,
        custom: BTreeMap::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rockscope_model::{Backend, MetricsScrape, NodeRef, NodeScrape};
    use time::macros::datetime;

    /// A successful scrape at 2025-01-01 00:00:01 UTC.
    pub(crate) fn scrape(
        kind: NodeKind,
        id: &str,
        host: &str,
        port: u16,
        body: &str,
    ) -> NodeScrape {
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

    /// A cycle at 2025-01-01 00:00 UTC with these backends and scrapes, every other list empty.
    pub(crate) fn input(backends: Vec<Backend>, scrapes: Vec<NodeScrape>) -> CycleInput {
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
        // The one valid line; the two skipped ones are not samples.
        assert_eq!(a.samples_parsed, 1);
        assert_eq!(a.snapshot.scrape_nodes_ok, 1);
        assert_eq!(a.snapshot.backend_total, Some(0));
        assert_eq!(a.nodes.len(), 1);
        assert_eq!(a.nodes[0].node_id, "10.0.0.1:8040");
        assert_eq!(a.state.nodes.len(), 1);
    }

    const LEADER_FE: &str = "\
jvm_thread{type=\"count\"} 310
starrocks_fe_query_internal_err 20
starrocks_fe_txn_begin{is_leader=\"true\"} 500
starrocks_fe_txn_failed{is_leader=\"true\"} 30
starrocks_fe_meta_log_count 120000
starrocks_fe_txn_running{is_leader=\"true\", db=\"ssb\"} 901
starrocks_fe_txn_running{is_leader=\"true\", db=\"tpch\"} 4
starrocks_fe_routine_load_max_lag_of_partition{is_leader=\"true\", job_name=\"rl\"} 400000
node_info{type=\"is_master\"} 1
";
    /// A follower that restarted: its counters are below the previous scrape's; leader-only
    /// gauges are 0 and its own meta log count is not the cluster's.
    const FOLLOWER_FE: &str = "\
jvm_thread{type=\"count\"} 250
starrocks_fe_query_internal_err 3
starrocks_fe_txn_begin{is_leader=\"false\"} 2
starrocks_fe_txn_failed{is_leader=\"false\"} 1
starrocks_fe_meta_log_count 7
starrocks_fe_txn_running{is_leader=\"false\", db=\"ssb\"} 0
";
    const BE: &str = "\
starrocks_be_disks_avail_capacity{path=\"/a\"} 50
starrocks_be_disks_avail_capacity{path=\"/b\"} 400
starrocks_be_disks_total_capacity{path=\"/a\"} 1000
starrocks_be_disks_total_capacity{path=\"/b\"} 1000
starrocks_be_engine_requests_total{status=\"failed\",type=\"base_compaction\"} 10
starrocks_be_engine_requests_total{status=\"failed\",type=\"clone\"} 2
starrocks_be_engine_requests_total{status=\"failed\",type=\"create_rollup\"} 1
starrocks_be_engine_requests_total{status=\"failed\",type=\"cumulative_compaction\"} 4
starrocks_be_engine_requests_total{status=\"failed\",type=\"schema_change\"} 3
starrocks_be_max_disk_io_util_percent 91
starrocks_be_max_tablet_rowset_num 650
";

    fn fe_state(internal: f64, begin: f64, failed: f64) -> NodeState {
        NodeState {
            fetched_at: datetime!(2025-01-01 00:00:00 UTC),
            fe: Some(FeCounters {
                query_internal_err: Some(internal),
                txn_begin: Some(begin),
                txn_failed: Some(failed),
                ..FeCounters::default()
            }),
            be: None,
            custom: BTreeMap::new(),
        }
    }

    #[test]
    fn alert_sources_leader_sums_maxima_and_resets() {
        use crate::extract::EngineFailures;
        let scrapes = vec![
            scrape(NodeKind::Fe, "", "10.0.0.1", 8030, LEADER_FE),
            scrape(NodeKind::Fe, "", "10.0.0.2", 8030, FOLLOWER_FE),
            scrape(NodeKind::Be, "", "10.0.1.1", 8040, BE),
            scrape(
                NodeKind::Be,
                "",
                "10.0.1.2",
                8040,
                "starrocks_be_max_tablet_rowset_num 20\n",
            ),
        ];
        let first = aggregate(&EngineState::default(), &input(Vec::new(), scrapes.clone()));
        let s = &first.snapshot;
        // First cycle: gauges at once, no interval yet.
        assert_eq!(
            s.meta_log_count,
            Some(120_000),
            "the leader's, not the follower's"
        );
        assert_eq!(s.txn_running_max_db, Some(901));
        assert_eq!(s.routine_load_max_lag, Some(400_000));
        assert_eq!(s.max_tablet_rowset_num, Some(650));
        assert_eq!(s.max_disk_io_util_pct, Some(91.0));
        assert_eq!(s.txn_begin_interval, None);
        assert_eq!(s.query_internal_error_interval, None);
        assert_eq!(s.clone_failed_interval, None);
        // Second cycle: the follower restarted (its counters went down: the new value is the
        // increase), the leader moved on, the BE's failed counters moved.
        let mut prev = EngineState::default();
        prev.nodes
            .insert("fe/10.0.0.1:8030".into(), fe_state(15.0, 450.0, 10.0));
        prev.nodes
            .insert("fe/10.0.0.2:8030".into(), fe_state(40.0, 90.0, 9.0));
        let be_prev = BeCounters {
            failed: EngineFailures {
                cumulative_compaction: Some(1.0),
                base_compaction: Some(10.0),
                schema_change: Some(1.0),
                clone: Some(5.0),
            },
            ..BeCounters::default()
        };
        prev.nodes.insert(
            "be/10.0.1.1:8040".into(),
            NodeState {
                fetched_at: datetime!(2025-01-01 00:00:00 UTC),
                fe: None,
                be: Some(be_prev),
                custom: BTreeMap::new(),
            },
        );
        let a = aggregate(&prev, &input(Vec::new(), scrapes));
        let s = &a.snapshot;
        assert_eq!(s.query_internal_error_interval, Some(5 + 3));
        assert_eq!(s.txn_begin_interval, Some(50 + 2));
        assert_eq!(s.txn_failed_interval, Some(20 + 1));
        assert_eq!(s.compaction_cumulative_failed_interval, Some(3));
        assert_eq!(s.compaction_base_failed_interval, Some(0));
        assert_eq!(
            s.schema_change_failed_interval,
            Some(3),
            "4 − 1, rollups included"
        );
        assert_eq!(s.clone_failed_interval, Some(2), "2 < 5: reset, so 2");
        // Per node.
        let node = |host: &str| a.nodes.iter().find(|n| n.host == host).unwrap();
        assert_eq!(node("10.0.0.1").jvm_thread_count, Some(310));
        assert_eq!(node("10.0.0.1").disk_io_util_pct, None);
        let be = node("10.0.1.1");
        assert_eq!(be.fullest_disk_path.as_deref(), Some("/a"));
        assert_eq!(be.fullest_disk_path_usage_pct, Some(95.0));
        assert_eq!(be.max_tablet_rowset_num, Some(650));
        assert_eq!(be.disk_io_util_pct, Some(91.0));
        assert_eq!(be.jvm_thread_count, None);
        let bare = node("10.0.1.2");
        assert_eq!(bare.fullest_disk_path, None);
        assert_eq!(bare.fullest_disk_path_usage_pct, None);
        assert_eq!(bare.disk_io_util_pct, None);
    }

    #[test]
    fn alert_sources_absent_are_none() {
        let scrapes = vec![
            scrape(
                NodeKind::Fe,
                "",
                "10.0.0.1",
                8030,
                "node_info{type=\"is_master\"} 1\n",
            ),
            scrape(
                NodeKind::Be,
                "",
                "10.0.1.1",
                8040,
                "starrocks_be_process_mem_bytes 1\n",
            ),
        ];
        let a = aggregate(&EngineState::default(), &input(Vec::new(), scrapes));
        let s = &a.snapshot;
        for v in [
            s.meta_log_count,
            s.txn_running_max_db,
            s.routine_load_max_lag,
            s.max_tablet_rowset_num,
            s.compaction_cumulative_failed_interval,
            s.compaction_base_failed_interval,
            s.schema_change_failed_interval,
            s.clone_failed_interval,
            s.txn_begin_interval,
            s.txn_failed_interval,
            s.query_internal_error_interval,
        ] {
            assert_eq!(v, None);
        }
        assert_eq!(s.max_disk_io_util_pct, None);
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
                custom: BTreeMap::new(),
            },
        );
        let a = aggregate(&prev, &input(Vec::new(), Vec::new()));
        assert!(a.state.nodes.is_empty());
    }
}
