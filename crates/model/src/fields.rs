//! The numeric fields of the snapshots as a static table: every numeric field of
//! [`MetricsSnapshot`] (cluster fields) and of [`NodeSnapshot`] (node fields; booleans are 0/1),
//! by its serde name, with its kind and a plain accessor. The alert evaluator resolves rule
//! fields through it, the export names and renders every field through it: one list, so a new
//! field is added here once (a test in `rockscope-alerts` keeps it equal to the serde names).

use crate::{MetricsSnapshot, NodeSnapshot};

/// What a field's values are, which decides the functions that may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A value of the moment (a percentage, a count of things, a per-interval figure).
    Gauge,
    /// A cumulative counter: only grows, except when a node restarts or drops out of the sum.
    Counter,
    /// A boolean as 0 or 1.
    Flag,
}

/// One readable field.
pub struct FieldDef<T> {
    /// The serde name.
    pub name: &'static str,
    /// Gauge, counter or flag.
    pub kind: Kind,
    /// The value (`None` when missing or not finite).
    pub get: fn(&T) -> Option<f64>,
}

/// The numeric view of a snapshot field.
trait Numeric {
    fn number(&self) -> Option<f64>;
}

impl Numeric for Option<f64> {
    fn number(&self) -> Option<f64> {
        self.filter(|v| v.is_finite())
    }
}

impl Numeric for Option<i64> {
    fn number(&self) -> Option<f64> {
        self.map(|v| v as f64)
    }
}

impl Numeric for i64 {
    fn number(&self) -> Option<f64> {
        Some(*self as f64)
    }
}

impl Numeric for bool {
    fn number(&self) -> Option<f64> {
        Some(if *self { 1.0 } else { 0.0 })
    }
}

macro_rules! table {
    ($ty:ty { $($name:ident: $kind:ident),* $(,)? } $(derived { $($dname:ident: $dkind:ident = $get:expr),* $(,)? })?) => {
        &[
            $(FieldDef { name: stringify!($name), kind: Kind::$kind, get: |s: &$ty| Numeric::number(&s.$name) },)*
            $($(FieldDef { name: stringify!($dname), kind: Kind::$dkind, get: $get },)*)?
        ]
    };
}

/// Every numeric field of [`MetricsSnapshot`] but its `cluster_id`.
pub static CLUSTER_FIELDS: &[FieldDef<MetricsSnapshot>] = table!(MetricsSnapshot {
    qps: Gauge,
    rps: Gauge,
    query_latency_p50: Gauge,
    query_latency_p95: Gauge,
    query_latency_p99: Gauge,
    query_latency_p75: Gauge,
    query_latency_p90: Gauge,
    query_latency_p999: Gauge,
    query_latency_mean: Gauge,
    query_total: Counter,
    query_success: Counter,
    query_error: Counter,
    query_timeout: Counter,
    slow_query_total: Counter,
    request_total: Counter,
    query_interval_total: Gauge,
    query_interval_success: Gauge,
    query_interval_error: Gauge,
    query_interval_timeout: Gauge,
    slow_query_interval: Gauge,
    query_error_per_second: Gauge,
    query_error_rate: Gauge,
    query_queue_pending: Gauge,
    fe_connections: Gauge,
    running_queries: Gauge,
    running_query_contexts: Gauge,
    backend_total: Gauge,
    backend_alive: Gauge,
    backend_decommissioned: Gauge,
    frontend_total: Gauge,
    frontend_alive: Gauge,
    frontend_follower_count: Gauge,
    frontend_observer_count: Gauge,
    compute_node_total: Gauge,
    compute_node_alive: Gauge,
    compute_node_decommissioned: Gauge,
    distinct_versions: Gauge,
    journal_replay_lag: Gauge,
    total_cpu_usage: Gauge,
    avg_cpu_usage: Gauge,
    max_cpu_usage: Gauge,
    cpu_cores_total: Gauge,
    total_memory_usage: Gauge,
    avg_memory_usage: Gauge,
    max_memory_usage: Gauge,
    memory_used_bytes: Gauge,
    memory_limit_bytes: Gauge,
    disk_total_bytes: Gauge,
    disk_used_bytes: Gauge,
    disk_avail_bytes: Gauge,
    disk_usage_pct: Gauge,
    max_disk_usage_pct: Gauge,
    max_storage_root_usage_pct: Gauge,
    data_used_bytes: Gauge,
    tablet_count: Gauge,
    max_compaction_score: Gauge,
    base_compaction_score: Gauge,
    cumulative_compaction_score: Gauge,
    compaction_tasks_running: Gauge,
    compaction_tasks_waiting: Gauge,
    compaction_bytes_rate: Gauge,
    scheduled_tablet_num: Gauge,
    txn_running: Gauge,
    txn_begin_total: Counter,
    txn_success_total: Counter,
    txn_failed_total: Counter,
    txn_reject_total: Counter,
    txn_begin_rate: Gauge,
    load_running: Gauge,
    load_pending: Gauge,
    load_jobs_finished: Gauge,
    load_jobs_cancelled: Gauge,
    load_finished_total: Counter,
    routine_load_running: Gauge,
    routine_load_need_schedule: Gauge,
    routine_load_paused: Gauge,
    routine_load_unstable: Gauge,
    routine_load_stopped: Gauge,
    routine_load_cancelled: Gauge,
    jvm_heap_total: Gauge,
    jvm_heap_used: Gauge,
    jvm_heap_usage_pct: Gauge,
    max_jvm_heap_usage_pct: Gauge,
    jvm_heap_committed: Gauge,
    jvm_thread_count: Gauge,
    jvm_young_gc_count: Counter,
    jvm_young_gc_time_ms: Counter,
    jvm_old_gc_count: Counter,
    jvm_old_gc_time_ms: Counter,
    jvm_old_gc_interval: Gauge,
    jvm_gc_time_rate: Gauge,
    network_bytes_sent_total: Counter,
    network_bytes_received_total: Counter,
    network_send_rate: Gauge,
    network_receive_rate: Gauge,
    io_read_bytes_total: Counter,
    io_write_bytes_total: Counter,
    io_read_rate: Gauge,
    io_write_rate: Gauge,
    compaction_cumulative_failed_interval: Gauge,
    compaction_base_failed_interval: Gauge,
    schema_change_failed_interval: Gauge,
    clone_failed_interval: Gauge,
    max_tablet_rowset_num: Gauge,
    meta_log_count: Gauge,
    txn_begin_interval: Gauge,
    txn_failed_interval: Gauge,
    txn_running_max_db: Gauge,
    routine_load_max_lag: Gauge,
    query_internal_error_interval: Gauge,
    max_disk_io_util_pct: Gauge,
    scrape_nodes_total: Gauge,
    scrape_nodes_ok: Gauge,
    scrape_fe_ok: Gauge,
    scrape_be_ok: Gauge,
    scrape_duration_max_ms: Gauge,
    scrape_duration_avg_ms: Gauge,
    scrape_skipped_lines: Gauge,
    interval_seconds: Gauge,
    rates_from_gauges: Flag,
});

/// Every numeric field of [`NodeSnapshot`] but its `cluster_id` and `http_port` (identity), and
/// one derived flag.
pub static NODE_FIELDS: &[FieldDef<NodeSnapshot>] = table!(NodeSnapshot {
    alive: Flag, decommissioned: Flag,
    cpu_usage_pct: Gauge, process_cpu_usage_pct: Gauge, cpu_cores: Gauge,
    memory_usage_pct: Gauge, memory_used_bytes: Gauge, memory_limit_bytes: Gauge,
    disk_total_bytes: Gauge, disk_used_bytes: Gauge, disk_usage_pct: Gauge, data_used_bytes: Gauge,
    tablet_count: Gauge, compaction_score: Gauge, running_queries: Gauge,
    jvm_heap_used: Gauge, jvm_heap_max: Gauge, jvm_heap_usage_pct: Gauge,
    qps: Gauge, query_latency_p99: Gauge, query_error_per_second: Gauge,
    query_error_per_second_15s: Gauge, connections: Gauge,
    network_send_rate: Gauge, network_receive_rate: Gauge, io_read_rate: Gauge, io_write_rate: Gauge,
    jvm_thread_count: Gauge, disk_io_util_pct: Gauge, fullest_disk_path_usage_pct: Gauge,
    max_tablet_rowset_num: Gauge, scrape_ok: Flag, scrape_duration_ms: Gauge,
} derived {
    // A node the leader lists as alive whose `/metrics` gave nothing: its figures are missing
    // although it runs (rockscope's `NodeMetricsUnavailable`).
    metrics_unavailable: Flag = |n: &NodeSnapshot| Some(if n.alive && !n.scrape_ok { 1.0 } else { 0.0 }),
});
