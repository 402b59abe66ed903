//! What the aggregation engine computes and the store keeps: one [`MetricsSnapshot`] per cluster
//! and cycle, one [`NodeSnapshot`] per node and cycle, one [`DailySnapshot`] per cluster and UTC day
//! (rolled up from the snapshots' [`DailyInput`]s); [`SnapshotSummary`] is the part of a snapshot
//! the all-clusters overview shows.
//!
//! Conventions (see `docs/METRICS.md` for every field's unit and exact source):
//!
//! * a value whose source was missing this cycle is `None` (`null` in JSON), never an invented 0;
//! * percentages are on a 0–100 scale; bytes are bytes; rates are per second over the last
//!   interval between two scrapes of the same node; latencies are milliseconds;
//! * `*_total` fields are cumulative counters summed over the nodes scraped this cycle (they drop
//!   when a node is missing or restarts: use the `*_interval` fields and the rates for trends);
//! * times are serialized as RFC 3339 in UTC, dates as `YYYY-MM-DD`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::cycle::{NodeKind, SourceError};

/// The cluster-wide figures of one collection cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    // ---- identity --------------------------------------------------------------------------
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The cycle's time (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,

    // ---- queries (FE) ------------------------------------------------------------------------
    /// Queries per second over the interval, summed over FEs (first cycle: the FEs' `qps` gauges).
    pub qps: Option<f64>,
    /// Requests per second over the interval, summed over FEs (first cycle: `rps` gauges).
    pub rps: Option<f64>,
    /// Median query latency, ms.
    pub query_latency_p50: Option<f64>,
    /// 95th percentile query latency, ms.
    pub query_latency_p95: Option<f64>,
    /// 99th percentile query latency, ms.
    pub query_latency_p99: Option<f64>,
    /// 75th percentile query latency, ms.
    pub query_latency_p75: Option<f64>,
    /// 90th percentile query latency, ms.
    pub query_latency_p90: Option<f64>,
    /// 99.9th percentile query latency, ms.
    pub query_latency_p999: Option<f64>,
    /// Mean query latency over the interval (Δsum/Δcount of the latency summary), ms.
    pub query_latency_mean: Option<f64>,
    /// Cumulative queries, summed over the FEs scraped.
    pub query_total: Option<i64>,
    /// Cumulative successful queries, summed over the FEs scraped.
    pub query_success: Option<i64>,
    /// Cumulative failed queries, summed over the FEs scraped.
    pub query_error: Option<i64>,
    /// Cumulative timed-out queries, summed over the FEs scraped.
    pub query_timeout: Option<i64>,
    /// Cumulative slow queries, summed over the FEs scraped.
    pub slow_query_total: Option<i64>,
    /// Cumulative requests (all MySQL-protocol requests), summed over the FEs scraped.
    pub request_total: Option<i64>,
    /// Queries in the interval, summed over FEs.
    pub query_interval_total: Option<i64>,
    /// Successful queries in the interval, summed over FEs.
    pub query_interval_success: Option<i64>,
    /// Failed queries in the interval, summed over FEs.
    pub query_interval_error: Option<i64>,
    /// Timed-out queries in the interval, summed over FEs.
    pub query_interval_timeout: Option<i64>,
    /// Slow queries in the interval, summed over FEs.
    pub slow_query_interval: Option<i64>,
    /// Failed queries per second over the interval.
    pub query_error_per_second: Option<f64>,
    /// Share of the interval's queries that failed, 0–100 (`None` without queries).
    pub query_error_rate: Option<f64>,
    /// Queries waiting in the query queue, summed over FEs.
    pub query_queue_pending: Option<i64>,
    /// Open MySQL connections, summed over FEs.
    pub fe_connections: Option<i64>,
    /// Queries the FEs are coordinating, summed over the FEs scraped
    /// (`starrocks_fe_memory{type="query_coordinator_count"}`, StarRocks 3.1+): every running
    /// query has one coordinator FE, so each counts once. `None` when no FE body has the series.
    pub running_queries: Option<i64>,
    /// Query contexts on the alive BEs/CNs (`NumRunningQueries` of the lists, summed): a query
    /// running on N nodes counts N times, so this is not a count of queries.
    pub running_query_contexts: Option<i64>,

    // ---- node counts -------------------------------------------------------------------------
    /// Backends in the leader's list.
    pub backend_total: Option<i64>,
    /// Backends the leader sees alive.
    pub backend_alive: Option<i64>,
    /// Backends being decommissioned.
    pub backend_decommissioned: Option<i64>,
    /// Frontends in the list.
    pub frontend_total: Option<i64>,
    /// Frontends the list marks alive.
    pub frontend_alive: Option<i64>,
    /// Frontends with role FOLLOWER (the leader not included).
    pub frontend_follower_count: Option<i64>,
    /// Frontends with role OBSERVER.
    pub frontend_observer_count: Option<i64>,
    /// Compute nodes in the leader's list.
    pub compute_node_total: Option<i64>,
    /// Compute nodes the leader sees alive.
    pub compute_node_alive: Option<i64>,
    /// Compute nodes being decommissioned.
    pub compute_node_decommissioned: Option<i64>,
    /// The leader FE's `Name`.
    pub leader_name: Option<String>,
    /// The leader FE's host.
    pub leader_host: Option<String>,
    /// The leader FE's `Version`.
    pub version: Option<String>,
    /// Distinct `Version` values over all listed nodes (more than 1 during a rolling upgrade).
    pub distinct_versions: Option<i64>,
    /// Journal entries the slowest alive FE is behind the leader (`ReplayedJournalId`).
    pub journal_replay_lag: Option<i64>,

    // ---- CPU and memory (BE + CN) --------------------------------------------------------------
    /// Cluster-wide host CPU busy, 0–100: per-node host busy % (`/proc/stat` jiffies between two
    /// scrapes) weighted by `CpuCores` (equal weights when a core count is missing), over alive
    /// BEs and CNs. `None` until a node has two scrapes.
    pub total_cpu_usage: Option<f64>,
    /// Mean of the per-node host CPU busy %, over alive BEs and CNs.
    pub avg_cpu_usage: Option<f64>,
    /// The busiest node's host CPU busy %.
    pub max_cpu_usage: Option<f64>,
    /// Cores of the BEs and CNs (`CpuCores` of the lists), summed.
    pub cpu_cores_total: Option<i64>,
    /// Σ memory used / Σ memory limit × 100 over alive BEs and CNs.
    pub total_memory_usage: Option<f64>,
    /// Mean of the per-node memory use % over alive BEs and CNs.
    pub avg_memory_usage: Option<f64>,
    /// The fullest node's memory use %.
    pub max_memory_usage: Option<f64>,
    /// Memory used by BE/CN processes, bytes, summed.
    pub memory_used_bytes: Option<i64>,
    /// Memory limits of BEs/CNs (`MemLimit`), bytes, summed.
    pub memory_limit_bytes: Option<i64>,

    // ---- storage (backends list) -------------------------------------------------------------
    /// Storage capacity of all backends (`TotalCapacity`), bytes.
    pub disk_total_bytes: Option<i64>,
    /// Storage used on all backends (`TotalCapacity − AvailCapacity`), bytes.
    pub disk_used_bytes: Option<i64>,
    /// Storage still free on all backends (`AvailCapacity`), bytes.
    pub disk_avail_bytes: Option<i64>,
    /// `disk_used_bytes / disk_total_bytes × 100`.
    pub disk_usage_pct: Option<f64>,
    /// The fullest backend's used / total × 100.
    pub max_disk_usage_pct: Option<f64>,
    /// The fullest single storage root (`MaxDiskUsedPct`), 0–100.
    pub max_storage_root_usage_pct: Option<f64>,
    /// Space taken by StarRocks data (`DataUsedCapacity`), bytes.
    pub data_used_bytes: Option<i64>,
    /// Tablets over all backends (and compute nodes reporting `TabletNum`).
    pub tablet_count: Option<i64>,

    // ---- compaction ----------------------------------------------------------------------------
    /// Highest tablet compaction score (leader's `max_tablet_compaction_score`, else BE maxima).
    pub max_compaction_score: Option<f64>,
    /// Highest base compaction score over BEs.
    pub base_compaction_score: Option<f64>,
    /// Highest cumulative compaction score over BEs.
    pub cumulative_compaction_score: Option<f64>,
    /// Running compaction tasks (base + cumulative + update), summed over BEs.
    pub compaction_tasks_running: Option<i64>,
    /// Waiting compaction tasks (base + cumulative), summed over BEs.
    pub compaction_tasks_waiting: Option<i64>,
    /// Bytes compacted per second, summed over BEs.
    pub compaction_bytes_rate: Option<f64>,
    /// Tablets scheduled for repair/balance (leader's `scheduled_tablet_num`).
    pub scheduled_tablet_num: Option<i64>,

    // ---- transactions and loads ----------------------------------------------------------------
    /// Running transactions (leader's `txn_running`, summed over databases).
    pub txn_running: Option<i64>,
    /// Cumulative begun transactions, summed over FEs.
    pub txn_begin_total: Option<i64>,
    /// Cumulative successful transactions, summed over FEs.
    pub txn_success_total: Option<i64>,
    /// Cumulative failed transactions, summed over FEs.
    pub txn_failed_total: Option<i64>,
    /// Cumulative rejected transactions, summed over FEs.
    pub txn_reject_total: Option<i64>,
    /// Transactions begun per second.
    pub txn_begin_rate: Option<f64>,
    /// Load jobs in state LOADING (leader's `job{job="load"}`, summed over types).
    pub load_running: Option<i64>,
    /// Load jobs in state PENDING or QUEUEING.
    pub load_pending: Option<i64>,
    /// Load jobs in state FINISHED (still in the leader's memory).
    pub load_jobs_finished: Option<i64>,
    /// Load jobs in state CANCELLED (still in the leader's memory).
    pub load_jobs_cancelled: Option<i64>,
    /// Cumulative finished loads (`load_finished` counter), summed over FEs.
    pub load_finished_total: Option<i64>,
    /// Routine-load jobs RUNNING.
    pub routine_load_running: Option<i64>,
    /// Routine-load jobs NEED_SCHEDULE.
    pub routine_load_need_schedule: Option<i64>,
    /// Routine-load jobs PAUSED.
    pub routine_load_paused: Option<i64>,
    /// Routine-load jobs UNSTABLE.
    pub routine_load_unstable: Option<i64>,
    /// Routine-load jobs STOPPED.
    pub routine_load_stopped: Option<i64>,
    /// Routine-load jobs CANCELLED.
    pub routine_load_cancelled: Option<i64>,

    // ---- FE JVM --------------------------------------------------------------------------------
    /// JVM heap limit (`jvm_heap_size_bytes{type="max"}`), bytes, summed over FEs.
    pub jvm_heap_total: Option<i64>,
    /// JVM heap used, bytes, summed over FEs.
    pub jvm_heap_used: Option<i64>,
    /// `jvm_heap_used / jvm_heap_total × 100`.
    pub jvm_heap_usage_pct: Option<f64>,
    /// The fullest FE heap, used / max × 100.
    pub max_jvm_heap_usage_pct: Option<f64>,
    /// JVM heap committed, bytes, summed over FEs.
    pub jvm_heap_committed: Option<i64>,
    /// JVM threads, summed over FEs.
    pub jvm_thread_count: Option<i64>,
    /// Cumulative young GCs, summed over FEs.
    pub jvm_young_gc_count: Option<i64>,
    /// Cumulative young GC time, ms, summed over FEs.
    pub jvm_young_gc_time_ms: Option<i64>,
    /// Cumulative old (full) GCs, summed over FEs.
    pub jvm_old_gc_count: Option<i64>,
    /// Cumulative old GC time, ms, summed over FEs.
    pub jvm_old_gc_time_ms: Option<i64>,
    /// Old GCs in the interval, summed over FEs.
    pub jvm_old_gc_interval: Option<i64>,
    /// GC time (young + old) per second of wall time over the interval, ms/s, summed over FEs.
    pub jvm_gc_time_rate: Option<f64>,

    // ---- network and disk IO (BE + CN, loopback excluded) ---------------------------------------
    /// Cumulative bytes sent, summed over devices and nodes.
    pub network_bytes_sent_total: Option<i64>,
    /// Cumulative bytes received, summed over devices and nodes.
    pub network_bytes_received_total: Option<i64>,
    /// Bytes sent per second.
    pub network_send_rate: Option<f64>,
    /// Bytes received per second.
    pub network_receive_rate: Option<f64>,
    /// Cumulative bytes read from disks, summed over devices and nodes.
    pub io_read_bytes_total: Option<i64>,
    /// Cumulative bytes written to disks, summed over devices and nodes.
    pub io_write_bytes_total: Option<i64>,
    /// Disk bytes read per second.
    pub io_read_rate: Option<f64>,
    /// Disk bytes written per second.
    pub io_write_rate: Option<f64>,

    // ---- alert sources (StarRocks' "Manage Alerts" items) ----------------------------------------
    /// Failed cumulative compactions in the interval, summed over BEs
    /// (`starrocks_be_engine_requests_total{type="cumulative_compaction",status="failed"}`).
    pub compaction_cumulative_failed_interval: Option<i64>,
    /// Failed base compactions in the interval, summed over BEs (`type="base_compaction"`).
    pub compaction_base_failed_interval: Option<i64>,
    /// Failed schema changes in the interval, summed over BEs (`type="schema_change"` and
    /// `type="create_rollup"`).
    pub schema_change_failed_interval: Option<i64>,
    /// Failed tablet clones in the interval, summed over BEs (`type="clone"`).
    pub clone_failed_interval: Option<i64>,
    /// The most versions (rowsets) of one tablet, over BEs (`starrocks_be_max_tablet_rowset_num`).
    pub max_tablet_rowset_num: Option<i64>,
    /// BDB journal entries not yet checkpointed, the leader's `starrocks_fe_meta_log_count`.
    pub meta_log_count: Option<i64>,
    /// Transactions begun in the interval, summed over FEs (`starrocks_fe_txn_begin`).
    pub txn_begin_interval: Option<i64>,
    /// Transactions failed in the interval, summed over FEs (`starrocks_fe_txn_failed`).
    pub txn_failed_interval: Option<i64>,
    /// Running transactions of the busiest database (leader's `starrocks_fe_txn_running{db}`).
    pub txn_running_max_db: Option<i64>,
    /// The largest routine-load partition lag, rows (leader's
    /// `starrocks_fe_routine_load_max_lag_of_partition`; needs `enable_routine_load_lag_metrics`).
    pub routine_load_max_lag: Option<i64>,
    /// Internal query errors in the interval, summed over FEs (`starrocks_fe_query_internal_err`,
    /// StarRocks 3.1.15/3.2.11/3.3.3+).
    pub query_internal_error_interval: Option<i64>,
    /// The busiest disk's IO utilisation over BEs and CNs, 0–100
    /// (`starrocks_be_max_disk_io_util_percent`).
    pub max_disk_io_util_pct: Option<f64>,

    // ---- scrape health -------------------------------------------------------------------------
    /// Nodes the collector tried to scrape.
    pub scrape_nodes_total: i64,
    /// Nodes scraped successfully.
    pub scrape_nodes_ok: i64,
    /// FEs scraped successfully.
    pub scrape_fe_ok: i64,
    /// BEs and CNs scraped successfully.
    pub scrape_be_ok: i64,
    /// The slowest successful scrape, ms.
    pub scrape_duration_max_ms: Option<i64>,
    /// Mean duration of the successful scrapes, ms.
    pub scrape_duration_avg_ms: Option<f64>,
    /// Lines the lenient parser skipped, summed over bodies.
    pub scrape_skipped_lines: i64,
    /// Mean length of the intervals the rates were computed over, s.
    pub interval_seconds: Option<f64>,
    /// Whether `qps`/`rps` came (at least partly) from the FE gauges instead of counter deltas.
    pub rates_from_gauges: bool,
    /// The sources that failed this cycle, and why.
    pub source_errors: Vec<SourceError>,

    // ---- custom metrics ------------------------------------------------------------------------
    /// The operator's custom metrics (`docs/CUSTOM_METRICS.md`) by name: every definition in
    /// force this cycle, `None` when no node had its series (never an invented 0).
    #[serde(default)]
    pub custom: BTreeMap<String, Option<f64>>,
}

/// One node's figures of one collection cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSnapshot {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The cycle's time (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// `fe`, `be` or `cn`.
    pub node_type: NodeKind,
    /// `BackendId` / `ComputeNodeId` as text, the FE's `Name`; else `host:port`.
    pub node_id: String,
    /// The node's host.
    pub host: String,
    /// The node's HTTP port.
    pub http_port: u16,
    /// `Alive` of the leader's list; the scrape's success when the node is in no list.
    pub alive: bool,
    /// `leader`, `follower`, `observer` for FEs; `None` for BEs and CNs.
    pub role: Option<String>,
    /// `Version` of the list.
    pub version: Option<String>,
    /// Decommissioning (BE/CN).
    pub decommissioned: bool,
    /// Host CPU busy %, 0–100, from the jiffies of this and the previous scrape (BE/CN).
    pub cpu_usage_pct: Option<f64>,
    /// The BE/CN process's CPU over all the host's cores, 0–100 (`CpuUsedPct` of the list).
    pub process_cpu_usage_pct: Option<f64>,
    /// `CpuCores` (BE/CN).
    pub cpu_cores: Option<i64>,
    /// Memory use %, 0–100 (BE/CN).
    pub memory_usage_pct: Option<f64>,
    /// Memory used by the process, bytes (BE/CN).
    pub memory_used_bytes: Option<i64>,
    /// `MemLimit`, bytes (BE/CN).
    pub memory_limit_bytes: Option<i64>,
    /// Storage capacity, bytes (BE).
    pub disk_total_bytes: Option<i64>,
    /// Storage used (total − avail), bytes (BE).
    pub disk_used_bytes: Option<i64>,
    /// Storage used %, 0–100 (BE).
    pub disk_usage_pct: Option<f64>,
    /// Space taken by StarRocks data, bytes (BE).
    pub data_used_bytes: Option<i64>,
    /// Tablets (BE; CN in shared-data).
    pub tablet_count: Option<i64>,
    /// Highest of the node's base/cumulative/update compaction scores (BE).
    pub compaction_score: Option<f64>,
    /// Queries running (`NumRunningQueries`, BE/CN).
    pub running_queries: Option<i64>,
    /// JVM heap used, bytes (FE).
    pub jvm_heap_used: Option<i64>,
    /// JVM heap limit, bytes (FE).
    pub jvm_heap_max: Option<i64>,
    /// Heap used / max × 100 (FE).
    pub jvm_heap_usage_pct: Option<f64>,
    /// Queries per second (FE).
    pub qps: Option<f64>,
    /// Query latency p99, ms (FE).
    pub query_latency_p99: Option<f64>,
    /// Failed queries per second over the interval (FE; `None` on its first scrape).
    pub query_error_per_second: Option<f64>,
    /// Failed queries per second over the FE's own 15 s window, whatever the collection
    /// interval (FE, `starrocks_fe_query_err_rate` corrected like `qps`).
    pub query_error_per_second_15s: Option<f64>,
    /// Open MySQL connections (FE).
    pub connections: Option<i64>,
    /// Bytes sent per second, loopback excluded (BE/CN).
    pub network_send_rate: Option<f64>,
    /// Bytes received per second, loopback excluded (BE/CN).
    pub network_receive_rate: Option<f64>,
    /// Disk bytes read per second (BE/CN).
    pub io_read_rate: Option<f64>,
    /// Disk bytes written per second (BE/CN).
    pub io_write_rate: Option<f64>,
    /// JVM threads (FE, `jvm_thread{type="count"}`).
    pub jvm_thread_count: Option<i64>,
    /// The busiest disk's IO utilisation, 0–100 (BE/CN, `starrocks_be_max_disk_io_util_percent`).
    pub disk_io_util_pct: Option<f64>,
    /// The fullest storage path (BE, `path` label of `starrocks_be_disks_total_capacity`).
    pub fullest_disk_path: Option<String>,
    /// That path's used %, 0–100 (total − avail) / total (BE).
    pub fullest_disk_path_usage_pct: Option<f64>,
    /// The most versions (rowsets) of one tablet on the node (BE).
    pub max_tablet_rowset_num: Option<i64>,
    /// Whether `/metrics` was scraped this cycle.
    pub scrape_ok: bool,
    /// Why the scrape failed (`code: message`), or why the node was not scraped.
    pub scrape_error: Option<String>,
    /// How long the scrape took, ms.
    pub scrape_duration_ms: Option<i64>,
    /// This node's values of the custom metrics defined with `per_node = true`, by name (a
    /// node without the series has no entry).
    #[serde(default)]
    pub custom: BTreeMap<String, f64>,
}

/// One cluster's figures of one UTC day, rolled up from that day's [`MetricsSnapshot`]s and
/// [`CycleOutcome`](crate::CycleOutcome)s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailySnapshot {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The UTC day (`YYYY-MM-DD`).
    #[serde(with = "iso_date")]
    pub date: Date,
    /// Snapshots of the day rolled up.
    pub snapshot_count: i64,
    /// The first snapshot's time (the first cycle outcome's on a day without snapshots).
    #[serde(with = "time::serde::rfc3339")]
    pub first_at: OffsetDateTime,
    /// The last snapshot's time (the last cycle outcome's on a day without snapshots).
    #[serde(with = "time::serde::rfc3339")]
    pub last_at: OffsetDateTime,
    /// Mean of `qps`.
    pub qps_avg: Option<f64>,
    /// Highest `qps`.
    pub qps_max: Option<f64>,
    /// Lowest `qps`.
    pub qps_min: Option<f64>,
    /// Mean of `query_latency_p99`, ms.
    pub latency_p99_avg: Option<f64>,
    /// Highest `query_latency_p99`, ms.
    pub latency_p99_max: Option<f64>,
    /// Lowest `query_latency_p99`, ms.
    pub latency_p99_min: Option<f64>,
    /// Mean of `avg_cpu_usage`.
    pub cpu_avg: Option<f64>,
    /// Highest `avg_cpu_usage`.
    pub cpu_max: Option<f64>,
    /// Lowest `avg_cpu_usage`.
    pub cpu_min: Option<f64>,
    /// Highest `max_cpu_usage` (the busiest node of the day).
    pub cpu_node_max: Option<f64>,
    /// Mean of `avg_memory_usage`.
    pub memory_avg: Option<f64>,
    /// Highest `avg_memory_usage`.
    pub memory_max: Option<f64>,
    /// Lowest `avg_memory_usage`.
    pub memory_min: Option<f64>,
    /// Mean of `disk_usage_pct`.
    pub disk_usage_avg: Option<f64>,
    /// Highest `disk_usage_pct`.
    pub disk_usage_max: Option<f64>,
    /// Lowest `disk_usage_pct`.
    pub disk_usage_min: Option<f64>,
    /// Queries of the day: Σ `query_interval_total`.
    pub queries: Option<i64>,
    /// Failed queries of the day: Σ `query_interval_error`.
    pub errors: Option<i64>,
    /// Timed-out queries of the day: Σ `query_interval_timeout`.
    pub timeouts: Option<i64>,
    /// Slow queries of the day: Σ `slow_query_interval`.
    pub slow_queries: Option<i64>,
    /// `errors / queries × 100` (`None` without queries).
    pub error_rate: Option<f64>,
    /// Seconds of the day whose state rockscope observed: up or down (`docs/METRICS.md`).
    pub observed_seconds: f64,
    /// Seconds of the day the cluster was down: unreachable, or some listed backend or compute
    /// node not alive.
    pub downtime_seconds: f64,
    /// Seconds of the day whose state is unknown (rockscope was not running or could not tell):
    /// the day's length minus `observed_seconds`. `None` on rows rolled up before this field
    /// existed.
    pub unknown_seconds: Option<f64>,
    /// `(observed − downtime) / observed × 100`, i.e. up / (up + down); unknown time is in
    /// neither (`None` when nothing was observed).
    pub availability_pct: Option<f64>,
    /// `data_used_bytes` of the first snapshot of the day that has it.
    pub data_size_start: Option<i64>,
    /// `data_used_bytes` of the last snapshot of the day that has it.
    pub data_size_end: Option<i64>,
    /// `data_size_end − data_size_start`, bytes (may be negative).
    pub data_growth: Option<i64>,
}

/// The figures of one [`MetricsSnapshot`] that the daily roll-up reads: 17 of its fields, so
/// that rolling up a day reads those columns of the stored snapshots, not all of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyInput {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// When the snapshot was taken.
    pub collected_at: OffsetDateTime,
    /// [`MetricsSnapshot::qps`].
    pub qps: Option<f64>,
    /// [`MetricsSnapshot::query_latency_p99`].
    pub query_latency_p99: Option<f64>,
    /// [`MetricsSnapshot::avg_cpu_usage`].
    pub avg_cpu_usage: Option<f64>,
    /// [`MetricsSnapshot::max_cpu_usage`].
    pub max_cpu_usage: Option<f64>,
    /// [`MetricsSnapshot::avg_memory_usage`].
    pub avg_memory_usage: Option<f64>,
    /// [`MetricsSnapshot::disk_usage_pct`].
    pub disk_usage_pct: Option<f64>,
    /// [`MetricsSnapshot::query_interval_total`].
    pub query_interval_total: Option<i64>,
    /// [`MetricsSnapshot::query_interval_error`].
    pub query_interval_error: Option<i64>,
    /// [`MetricsSnapshot::query_interval_timeout`].
    pub query_interval_timeout: Option<i64>,
    /// [`MetricsSnapshot::slow_query_interval`].
    pub slow_query_interval: Option<i64>,
    /// [`MetricsSnapshot::data_used_bytes`].
    pub data_used_bytes: Option<i64>,
    /// [`MetricsSnapshot::backend_total`].
    pub backend_total: Option<i64>,
    /// [`MetricsSnapshot::backend_alive`].
    pub backend_alive: Option<i64>,
    /// [`MetricsSnapshot::compute_node_total`].
    pub compute_node_total: Option<i64>,
    /// [`MetricsSnapshot::compute_node_alive`].
    pub compute_node_alive: Option<i64>,
}

impl From<&MetricsSnapshot> for DailyInput {
    fn from(s: &MetricsSnapshot) -> DailyInput {
        DailyInput {
            cluster_id: s.cluster_id,
            collected_at: s.collected_at,
            qps: s.qps,
            query_latency_p99: s.query_latency_p99,
            avg_cpu_usage: s.avg_cpu_usage,
            max_cpu_usage: s.max_cpu_usage,
            avg_memory_usage: s.avg_memory_usage,
            disk_usage_pct: s.disk_usage_pct,
            query_interval_total: s.query_interval_total,
            query_interval_error: s.query_interval_error,
            query_interval_timeout: s.query_interval_timeout,
            slow_query_interval: s.slow_query_interval,
            data_used_bytes: s.data_used_bytes,
            backend_total: s.backend_total,
            backend_alive: s.backend_alive,
            compute_node_total: s.compute_node_total,
            compute_node_alive: s.compute_node_alive,
        }
    }
}

/// The figures of one [`MetricsSnapshot`] that a cluster's row in the all-clusters overview
/// shows (or judges its health by): 14 of its fields, so that listing every cluster reads those
/// columns of each newest snapshot, not all of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotSummary {
    /// The cluster's id in rockscope's store.
    pub cluster_id: i64,
    /// The cycle's time (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub collected_at: OffsetDateTime,
    /// [`MetricsSnapshot::qps`].
    pub qps: Option<f64>,
    /// [`MetricsSnapshot::query_latency_p99`].
    pub query_latency_p99: Option<f64>,
    /// [`MetricsSnapshot::avg_cpu_usage`].
    pub avg_cpu_usage: Option<f64>,
    /// [`MetricsSnapshot::disk_usage_pct`].
    pub disk_usage_pct: Option<f64>,
    /// [`MetricsSnapshot::frontend_total`].
    pub frontend_total: Option<i64>,
    /// [`MetricsSnapshot::frontend_alive`].
    pub frontend_alive: Option<i64>,
    /// [`MetricsSnapshot::backend_total`].
    pub backend_total: Option<i64>,
    /// [`MetricsSnapshot::backend_alive`].
    pub backend_alive: Option<i64>,
    /// [`MetricsSnapshot::compute_node_total`].
    pub compute_node_total: Option<i64>,
    /// [`MetricsSnapshot::compute_node_alive`].
    pub compute_node_alive: Option<i64>,
    /// [`MetricsSnapshot::scrape_nodes_total`].
    pub scrape_nodes_total: i64,
    /// [`MetricsSnapshot::scrape_nodes_ok`].
    pub scrape_nodes_ok: i64,
    /// [`MetricsSnapshot::source_errors`].
    pub source_errors: Vec<SourceError>,
}

impl From<&MetricsSnapshot> for SnapshotSummary {
    fn from(s: &MetricsSnapshot) -> SnapshotSummary {
        SnapshotSummary {
            cluster_id: s.cluster_id,
            collected_at: s.collected_at,
            qps: s.qps,
            query_latency_p99: s.query_latency_p99,
            avg_cpu_usage: s.avg_cpu_usage,
            disk_usage_pct: s.disk_usage_pct,
            frontend_total: s.frontend_total,
            frontend_alive: s.frontend_alive,
            backend_total: s.backend_total,
            backend_alive: s.backend_alive,
            compute_node_total: s.compute_node_total,
            compute_node_alive: s.compute_node_alive,
            scrape_nodes_total: s.scrape_nodes_total,
            scrape_nodes_ok: s.scrape_nodes_ok,
            source_errors: s.source_errors.clone(),
        }
    }
}

/// Serde for [`Date`] as `YYYY-MM-DD`.
mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::Date;
    use time::format_description::FormatItem;
    use time::macros::format_description;

    const FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&date.format(FORMAT).map_err(S::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text, FORMAT).map_err(D::Error::custom)
    }
}
