//! The metric of every numeric snapshot field: the one mapping, used by `/metrics`, remote write,
//! `docs/EXPORT.md` and the alert rules exported for Prometheus. Cluster fields are
//! `rockscope_cluster_<name>{cluster}`, node fields `rockscope_node_<name>{cluster, node_type,
//! instance}`, plus the collector's own figures of each cluster (`rockscope_cluster_up`, …).
//! The operator's custom metrics are `rockscope_custom_<name>{cluster}` ([`custom_metric_name`];
//! their families are built from the definitions, in [`crate::custom`]).
//!
//! Names follow Prometheus' conventions: base units (`_bytes`, `_seconds`), `_ratio` in 0–1
//! where the field is a percentage, `_total` only for counters. A field's value is converted
//! once, by its [`Shape`], so a metric never carries the API's units.

use std::borrow::Cow;
use std::sync::LazyLock;

use rockscope_model::fields::{CLUSTER_FIELDS, FieldDef, NODE_FIELDS};
use rockscope_model::{MetricsSnapshot, NodeSnapshot};

/// The Prometheus type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A value of the moment.
    Gauge,
    /// A cumulative counter (the name ends in `_total`).
    Counter,
}

impl MetricType {
    /// The name in a `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Gauge => "gauge",
            MetricType::Counter => "counter",
        }
    }
}

/// The unit of a family's values, for `docs/EXPORT.md` and dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count of things, a score, or 0/1.
    None,
    /// Bytes.
    Bytes,
    /// Seconds.
    Seconds,
    /// A share in 0–1.
    Ratio,
    /// Events per second.
    PerSecond,
    /// Bytes per second.
    BytesPerSecond,
}

impl Unit {
    /// The unit as written in `docs/EXPORT.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::None => "",
            Unit::Bytes => "bytes",
            Unit::Seconds => "seconds",
            Unit::Ratio => "ratio (0–1)",
            Unit::PerSecond => "1/s",
            Unit::BytesPerSecond => "bytes/s",
        }
    }
}

/// What a field is, and so the conversion from the API's unit to the metric's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Count,
    Flag,
    Bytes,
    Seconds,
    PerSecond,
    BytesPerSecond,
    MsToSeconds,
    PercentToRatio,
    /// Milliseconds of GC per second of wall time: a share of time.
    MsPerSecondToRatio,
    Counter,
    CounterBytes,
    CounterMsToSeconds,
}

impl Shape {
    fn metric_type(self) -> MetricType {
        match self {
            Shape::Counter | Shape::CounterBytes | Shape::CounterMsToSeconds => MetricType::Counter,
            _ => MetricType::Gauge,
        }
    }

    fn unit(self) -> Unit {
        match self {
            Shape::Count | Shape::Flag | Shape::Counter => Unit::None,
            Shape::Bytes | Shape::CounterBytes => Unit::Bytes,
            Shape::Seconds | Shape::MsToSeconds | Shape::CounterMsToSeconds => Unit::Seconds,
            Shape::PerSecond => Unit::PerSecond,
            Shape::BytesPerSecond => Unit::BytesPerSecond,
            Shape::PercentToRatio | Shape::MsPerSecondToRatio => Unit::Ratio,
        }
    }

    /// The factor from the field's unit to the metric's.
    fn scale(self) -> f64 {
        match self {
            Shape::MsToSeconds | Shape::CounterMsToSeconds | Shape::MsPerSecondToRatio => 0.001,
            Shape::PercentToRatio => 0.01,
            _ => 1.0,
        }
    }
}

/// One field's metric as written in the tables below.
struct MetricName {
    field: &'static str,
    name: &'static str,
    shape: Shape,
    help: &'static str,
}

const fn metric(
    field: &'static str,
    name: &'static str,
    shape: Shape,
    help: &'static str,
) -> MetricName {
    MetricName {
        field,
        name,
        shape,
        help,
    }
}

use Shape::*;

static CLUSTER_METRICS: &[MetricName] = &[
    metric(
        "qps",
        "queries_per_second",
        PerSecond,
        "Queries per second over the interval, summed over FEs",
    ),
    metric(
        "rps",
        "requests_per_second",
        PerSecond,
        "Requests per second over the interval, summed over FEs",
    ),
    metric(
        "query_latency_p50",
        "query_latency_p50_seconds",
        MsToSeconds,
        "Median query latency",
    ),
    metric(
        "query_latency_p95",
        "query_latency_p95_seconds",
        MsToSeconds,
        "95th percentile query latency",
    ),
    metric(
        "query_latency_p99",
        "query_latency_p99_seconds",
        MsToSeconds,
        "99th percentile query latency",
    ),
    metric(
        "query_latency_p75",
        "query_latency_p75_seconds",
        MsToSeconds,
        "75th percentile query latency",
    ),
    metric(
        "query_latency_p90",
        "query_latency_p90_seconds",
        MsToSeconds,
        "90th percentile query latency",
    ),
    metric(
        "query_latency_p999",
        "query_latency_p999_seconds",
        MsToSeconds,
        "99.9th percentile query latency",
    ),
    metric(
        "query_latency_mean",
        "query_latency_mean_seconds",
        MsToSeconds,
        "Mean query latency over the interval (Δsum/Δcount of the latency summary)",
    ),
    metric(
        "query_total",
        "queries_total",
        Counter,
        "Cumulative queries, summed over the FEs scraped",
    ),
    metric(
        "query_success",
        "queries_succeeded_total",
        Counter,
        "Cumulative successful queries, summed over the FEs scraped",
    ),
    metric(
        "query_error",
        "queries_failed_total",
        Counter,
        "Cumulative failed queries, summed over the FEs scraped",
    ),
    metric(
        "query_timeout",
        "queries_timed_out_total",
        Counter,
        "Cumulative timed-out queries, summed over the FEs scraped",
    ),
    metric(
        "slow_query_total",
        "slow_queries_total",
        Counter,
        "Cumulative slow queries, summed over the FEs scraped",
    ),
    metric(
        "request_total",
        "requests_total",
        Counter,
        "Cumulative requests (all MySQL-protocol requests), summed over the FEs scraped",
    ),
    metric(
        "query_interval_total",
        "queries_last_interval",
        Count,
        "Queries in the interval, summed over FEs",
    ),
    metric(
        "query_interval_success",
        "queries_succeeded_last_interval",
        Count,
        "Successful queries in the interval, summed over FEs",
    ),
    metric(
        "query_interval_error",
        "queries_failed_last_interval",
        Count,
        "Failed queries in the interval, summed over FEs",
    ),
    metric(
        "query_interval_timeout",
        "queries_timed_out_last_interval",
        Count,
        "Timed-out queries in the interval, summed over FEs",
    ),
    metric(
        "slow_query_interval",
        "slow_queries_last_interval",
        Count,
        "Slow queries in the interval, summed over FEs",
    ),
    metric(
        "query_error_per_second",
        "queries_failed_per_second",
        PerSecond,
        "Failed queries per second over the interval",
    ),
    metric(
        "query_error_rate",
        "query_error_ratio",
        PercentToRatio,
        "Share of the interval's queries that failed (None without queries)",
    ),
    metric(
        "query_queue_pending",
        "query_queue_pending",
        Count,
        "Queries waiting in the query queue, summed over FEs",
    ),
    metric(
        "fe_connections",
        "fe_connections",
        Count,
        "Open MySQL connections, summed over FEs",
    ),
    metric(
        "running_queries",
        "running_queries",
        Count,
        "Queries the FEs are coordinating, summed over the FEs scraped (starrocks_fe_memory{type='query_coordinator_count'}, StarRocks 3.1+)",
    ),
    metric(
        "running_query_contexts",
        "running_query_contexts",
        Count,
        "Query contexts on the alive BEs/CNs (NumRunningQueries of the lists, summed)",
    ),
    metric(
        "backend_total",
        "backends",
        Count,
        "Backends in the leader's list",
    ),
    metric(
        "backend_alive",
        "backends_alive",
        Count,
        "Backends the leader sees alive",
    ),
    metric(
        "backend_decommissioned",
        "backends_decommissioned",
        Count,
        "Backends being decommissioned",
    ),
    metric(
        "frontend_total",
        "frontends",
        Count,
        "Frontends in the list",
    ),
    metric(
        "frontend_alive",
        "frontends_alive",
        Count,
        "Frontends the list marks alive",
    ),
    metric(
        "frontend_follower_count",
        "frontend_followers",
        Count,
        "Frontends with role FOLLOWER (the leader not included)",
    ),
    metric(
        "frontend_observer_count",
        "frontend_observers",
        Count,
        "Frontends with role OBSERVER",
    ),
    metric(
        "compute_node_total",
        "compute_nodes",
        Count,
        "Compute nodes in the leader's list",
    ),
    metric(
        "compute_node_alive",
        "compute_nodes_alive",
        Count,
        "Compute nodes the leader sees alive",
    ),
    metric(
        "compute_node_decommissioned",
        "compute_nodes_decommissioned",
        Count,
        "Compute nodes being decommissioned",
    ),
    metric(
        "distinct_versions",
        "distinct_versions",
        Count,
        "Distinct Version values over all listed nodes (more than 1 during a rolling upgrade)",
    ),
    metric(
        "journal_replay_lag",
        "journal_replay_lag_entries",
        Count,
        "Journal entries the slowest alive FE is behind the leader (ReplayedJournalId)",
    ),
    metric(
        "total_cpu_usage",
        "cpu_usage_ratio",
        PercentToRatio,
        "Cluster-wide host CPU busy",
    ),
    metric(
        "avg_cpu_usage",
        "cpu_usage_avg_ratio",
        PercentToRatio,
        "Mean of the per-node host CPU busy, 0–1, over alive BEs and CNs",
    ),
    metric(
        "max_cpu_usage",
        "cpu_usage_max_ratio",
        PercentToRatio,
        "The busiest node's host CPU busy, 0–1",
    ),
    metric(
        "cpu_cores_total",
        "cpu_cores",
        Count,
        "Cores of the BEs and CNs (CpuCores of the lists), summed",
    ),
    metric(
        "total_memory_usage",
        "memory_usage_ratio",
        PercentToRatio,
        "Memory used / memory limit, summed over alive BEs and CNs",
    ),
    metric(
        "avg_memory_usage",
        "memory_usage_avg_ratio",
        PercentToRatio,
        "Mean of the per-node memory use, 0–1 over alive BEs and CNs",
    ),
    metric(
        "max_memory_usage",
        "memory_usage_max_ratio",
        PercentToRatio,
        "The fullest node's memory use, 0–1",
    ),
    metric(
        "memory_used_bytes",
        "memory_used_bytes",
        Bytes,
        "Memory used by BE/CN processes, bytes, summed",
    ),
    metric(
        "memory_limit_bytes",
        "memory_limit_bytes",
        Bytes,
        "Memory limits of BEs/CNs (MemLimit), bytes, summed",
    ),
    metric(
        "disk_total_bytes",
        "disk_total_bytes",
        Bytes,
        "Storage capacity of all backends (TotalCapacity), bytes",
    ),
    metric(
        "disk_used_bytes",
        "disk_used_bytes",
        Bytes,
        "Storage used on all backends (TotalCapacity − AvailCapacity), bytes",
    ),
    metric(
        "disk_avail_bytes",
        "disk_avail_bytes",
        Bytes,
        "Storage still free on all backends (AvailCapacity), bytes",
    ),
    metric(
        "disk_usage_pct",
        "disk_usage_ratio",
        PercentToRatio,
        "disk_used_bytes / disk_total_bytes",
    ),
    metric(
        "max_disk_usage_pct",
        "disk_usage_max_ratio",
        PercentToRatio,
        "The fullest backend's used / total",
    ),
    metric(
        "max_storage_root_usage_pct",
        "storage_root_usage_max_ratio",
        PercentToRatio,
        "The fullest single storage root (MaxDiskUsedPct)",
    ),
    metric(
        "data_used_bytes",
        "data_used_bytes",
        Bytes,
        "Space taken by StarRocks data (DataUsedCapacity), bytes",
    ),
    metric(
        "tablet_count",
        "tablets",
        Count,
        "Tablets over all backends (and compute nodes reporting TabletNum)",
    ),
    metric(
        "max_compaction_score",
        "compaction_score_max",
        Count,
        "Highest tablet compaction score (leader's max_tablet_compaction_score, else BE maxima)",
    ),
    metric(
        "base_compaction_score",
        "base_compaction_score_max",
        Count,
        "Highest base compaction score over BEs",
    ),
    metric(
        "cumulative_compaction_score",
        "cumulative_compaction_score_max",
        Count,
        "Highest cumulative compaction score over BEs",
    ),
    metric(
        "compaction_tasks_running",
        "compaction_tasks_running",
        Count,
        "Running compaction tasks (base + cumulative + update), summed over BEs",
    ),
    metric(
        "compaction_tasks_waiting",
        "compaction_tasks_waiting",
        Count,
        "Waiting compaction tasks (base + cumulative), summed over BEs",
    ),
    metric(
        "compaction_bytes_rate",
        "compaction_bytes_per_second",
        BytesPerSecond,
        "Bytes compacted per second, summed over BEs",
    ),
    metric(
        "scheduled_tablet_num",
        "scheduled_tablets",
        Count,
        "Tablets scheduled for repair/balance (leader's scheduled_tablet_num)",
    ),
    metric(
        "txn_running",
        "transactions_running",
        Count,
        "Running transactions (leader's txn_running, summed over databases)",
    ),
    metric(
        "txn_begin_total",
        "transactions_begun_total",
        Counter,
        "Cumulative begun transactions, summed over FEs",
    ),
    metric(
        "txn_success_total",
        "transactions_succeeded_total",
        Counter,
        "Cumulative successful transactions, summed over FEs",
    ),
    metric(
        "txn_failed_total",
        "transactions_failed_total",
        Counter,
        "Cumulative failed transactions, summed over FEs",
    ),
    metric(
        "txn_reject_total",
        "transactions_rejected_total",
        Counter,
        "Cumulative rejected transactions, summed over FEs",
    ),
    metric(
        "txn_begin_rate",
        "transactions_begun_per_second",
        PerSecond,
        "Transactions begun per second",
    ),
    metric(
        "load_running",
        "load_jobs_running",
        Count,
        "Load jobs in state LOADING (leader's job{job='load'}, summed over types)",
    ),
    metric(
        "load_pending",
        "load_jobs_pending",
        Count,
        "Load jobs in state PENDING or QUEUEING",
    ),
    metric(
        "load_jobs_finished",
        "load_jobs_finished",
        Count,
        "Load jobs in state FINISHED (still in the leader's memory)",
    ),
    metric(
        "load_jobs_cancelled",
        "load_jobs_cancelled",
        Count,
        "Load jobs in state CANCELLED (still in the leader's memory)",
    ),
    metric(
        "load_finished_total",
        "loads_finished_total",
        Counter,
        "Cumulative finished loads (load_finished counter), summed over FEs",
    ),
    metric(
        "routine_load_running",
        "routine_load_jobs_running",
        Count,
        "Routine-load jobs RUNNING",
    ),
    metric(
        "routine_load_need_schedule",
        "routine_load_jobs_need_schedule",
        Count,
        "Routine-load jobs NEED_SCHEDULE",
    ),
    metric(
        "routine_load_paused",
        "routine_load_jobs_paused",
        Count,
        "Routine-load jobs PAUSED",
    ),
    metric(
        "routine_load_unstable",
        "routine_load_jobs_unstable",
        Count,
        "Routine-load jobs UNSTABLE",
    ),
    metric(
        "routine_load_stopped",
        "routine_load_jobs_stopped",
        Count,
        "Routine-load jobs STOPPED",
    ),
    metric(
        "routine_load_cancelled",
        "routine_load_jobs_cancelled",
        Count,
        "Routine-load jobs CANCELLED",
    ),
    metric(
        "jvm_heap_total",
        "jvm_heap_max_bytes",
        Bytes,
        "JVM heap limit (jvm_heap_size_bytes{type='max'}), bytes, summed over FEs",
    ),
    metric(
        "jvm_heap_used",
        "jvm_heap_used_bytes",
        Bytes,
        "JVM heap used, bytes, summed over FEs",
    ),
    metric(
        "jvm_heap_usage_pct",
        "jvm_heap_usage_ratio",
        PercentToRatio,
        "jvm_heap_used / jvm_heap_total",
    ),
    metric(
        "max_jvm_heap_usage_pct",
        "jvm_heap_usage_max_ratio",
        PercentToRatio,
        "The fullest FE heap, used / max",
    ),
    metric(
        "jvm_heap_committed",
        "jvm_heap_committed_bytes",
        Bytes,
        "JVM heap committed, bytes, summed over FEs",
    ),
    metric(
        "jvm_thread_count",
        "jvm_threads",
        Count,
        "JVM threads, summed over FEs",
    ),
    metric(
        "jvm_young_gc_count",
        "jvm_young_gc_total",
        Counter,
        "Cumulative young GCs, summed over FEs",
    ),
    metric(
        "jvm_young_gc_time_ms",
        "jvm_young_gc_seconds_total",
        CounterMsToSeconds,
        "Cumulative young GC time, summed over FEs",
    ),
    metric(
        "jvm_old_gc_count",
        "jvm_old_gc_total",
        Counter,
        "Cumulative old (full) GCs, summed over FEs",
    ),
    metric(
        "jvm_old_gc_time_ms",
        "jvm_old_gc_seconds_total",
        CounterMsToSeconds,
        "Cumulative old GC time, summed over FEs",
    ),
    metric(
        "jvm_old_gc_interval",
        "jvm_old_gc_last_interval",
        Count,
        "Old GCs in the interval, summed over FEs",
    ),
    metric(
        "jvm_gc_time_rate",
        "jvm_gc_time_ratio",
        MsPerSecondToRatio,
        "GC time (young + old) per second of wall time over the interval, summed over FEs",
    ),
    metric(
        "network_bytes_sent_total",
        "network_sent_bytes_total",
        CounterBytes,
        "Cumulative bytes sent, summed over devices and nodes",
    ),
    metric(
        "network_bytes_received_total",
        "network_received_bytes_total",
        CounterBytes,
        "Cumulative bytes received, summed over devices and nodes",
    ),
    metric(
        "network_send_rate",
        "network_send_bytes_per_second",
        BytesPerSecond,
        "Bytes sent per second",
    ),
    metric(
        "network_receive_rate",
        "network_receive_bytes_per_second",
        BytesPerSecond,
        "Bytes received per second",
    ),
    metric(
        "io_read_bytes_total",
        "disk_read_bytes_total",
        CounterBytes,
        "Cumulative bytes read from disks, summed over devices and nodes",
    ),
    metric(
        "io_write_bytes_total",
        "disk_written_bytes_total",
        CounterBytes,
        "Cumulative bytes written to disks, summed over devices and nodes",
    ),
    metric(
        "io_read_rate",
        "disk_read_bytes_per_second",
        BytesPerSecond,
        "Disk bytes read per second",
    ),
    metric(
        "io_write_rate",
        "disk_write_bytes_per_second",
        BytesPerSecond,
        "Disk bytes written per second",
    ),
    metric(
        "compaction_cumulative_failed_interval",
        "cumulative_compactions_failed_last_interval",
        Count,
        "Failed cumulative compactions in the interval, summed over BEs (starrocks_be_engine_requests_total{type='cumulative_compaction',status='failed'})",
    ),
    metric(
        "compaction_base_failed_interval",
        "base_compactions_failed_last_interval",
        Count,
        "Failed base compactions in the interval, summed over BEs (type='base_compaction')",
    ),
    metric(
        "schema_change_failed_interval",
        "schema_changes_failed_last_interval",
        Count,
        "Failed schema changes in the interval, summed over BEs (type='schema_change' and type='create_rollup')",
    ),
    metric(
        "clone_failed_interval",
        "clones_failed_last_interval",
        Count,
        "Failed tablet clones in the interval, summed over BEs (type='clone')",
    ),
    metric(
        "max_tablet_rowset_num",
        "tablet_rowsets_max",
        Count,
        "The most versions (rowsets) of one tablet, over BEs (starrocks_be_max_tablet_rowset_num)",
    ),
    metric(
        "meta_log_count",
        "meta_log_entries",
        Count,
        "BDB journal entries not yet checkpointed, the leader's starrocks_fe_meta_log_count",
    ),
    metric(
        "txn_begin_interval",
        "transactions_begun_last_interval",
        Count,
        "Transactions begun in the interval, summed over FEs (starrocks_fe_txn_begin)",
    ),
    metric(
        "txn_failed_interval",
        "transactions_failed_last_interval",
        Count,
        "Transactions failed in the interval, summed over FEs (starrocks_fe_txn_failed)",
    ),
    metric(
        "txn_running_max_db",
        "transactions_running_max_db",
        Count,
        "Running transactions of the busiest database (leader's starrocks_fe_txn_running{db})",
    ),
    metric(
        "routine_load_max_lag",
        "routine_load_lag_max_rows",
        Count,
        "The largest routine-load partition lag, rows (leader's starrocks_fe_routine_load_max_lag_of_partition)",
    ),
    metric(
        "query_internal_error_interval",
        "query_internal_errors_last_interval",
        Count,
        "Internal query errors in the interval, summed over FEs (starrocks_fe_query_internal_err, StarRocks 3.1.15/3.2.11/3.3.3+)",
    ),
    metric(
        "max_disk_io_util_pct",
        "disk_io_util_max_ratio",
        PercentToRatio,
        "The busiest disk's IO utilisation over BEs and CNs (starrocks_be_max_disk_io_util_percent)",
    ),
    metric(
        "scrape_nodes_total",
        "scrape_nodes",
        Count,
        "Nodes the collector tried to scrape",
    ),
    metric(
        "scrape_nodes_ok",
        "scrape_nodes_ok",
        Count,
        "Nodes scraped successfully",
    ),
    metric(
        "scrape_fe_ok",
        "scrape_fe_ok",
        Count,
        "FEs scraped successfully",
    ),
    metric(
        "scrape_be_ok",
        "scrape_be_ok",
        Count,
        "BEs and CNs scraped successfully",
    ),
    metric(
        "scrape_duration_max_ms",
        "scrape_duration_max_seconds",
        MsToSeconds,
        "The slowest successful scrape",
    ),
    metric(
        "scrape_duration_avg_ms",
        "scrape_duration_avg_seconds",
        MsToSeconds,
        "Mean duration of the successful scrapes",
    ),
    metric(
        "scrape_skipped_lines",
        "scrape_skipped_lines",
        Count,
        "Lines the lenient parser skipped, summed over bodies",
    ),
    metric(
        "interval_seconds",
        "interval_seconds",
        Seconds,
        "Mean length of the intervals the rates were computed over",
    ),
    metric(
        "rates_from_gauges",
        "rates_from_gauges",
        Flag,
        "Whether qps/rps came (at least partly) from the FE gauges instead of counter deltas",
    ),
];

static NODE_METRICS: &[MetricName] = &[
    metric("alive", "alive", Flag, "1 when alive in the leader's list"),
    metric(
        "decommissioned",
        "decommissioned",
        Flag,
        "Decommissioning (BE/CN)",
    ),
    metric(
        "cpu_usage_pct",
        "cpu_usage_ratio",
        PercentToRatio,
        "Host CPU busy, 0–1, from the jiffies of this and the previous scrape (BE/CN)",
    ),
    metric(
        "process_cpu_usage_pct",
        "process_cpu_usage_ratio",
        PercentToRatio,
        "The BE/CN process's CPU over all the host's cores (CpuUsedPct of the list)",
    ),
    metric("cpu_cores", "cpu_cores", Count, "CpuCores (BE/CN)"),
    metric(
        "memory_usage_pct",
        "memory_usage_ratio",
        PercentToRatio,
        "Memory use, 0–1 (BE/CN)",
    ),
    metric(
        "memory_used_bytes",
        "memory_used_bytes",
        Bytes,
        "Memory used by the process, bytes (BE/CN)",
    ),
    metric(
        "memory_limit_bytes",
        "memory_limit_bytes",
        Bytes,
        "MemLimit, bytes (BE/CN)",
    ),
    metric(
        "disk_total_bytes",
        "disk_total_bytes",
        Bytes,
        "Storage capacity, bytes (BE)",
    ),
    metric(
        "disk_used_bytes",
        "disk_used_bytes",
        Bytes,
        "Storage used (total − avail), bytes (BE)",
    ),
    metric(
        "disk_usage_pct",
        "disk_usage_ratio",
        PercentToRatio,
        "Storage used, 0–1 (BE)",
    ),
    metric(
        "data_used_bytes",
        "data_used_bytes",
        Bytes,
        "Space taken by StarRocks data, bytes (BE)",
    ),
    metric(
        "tablet_count",
        "tablets",
        Count,
        "Tablets (BE; CN in shared-data)",
    ),
    metric(
        "compaction_score",
        "compaction_score",
        Count,
        "Highest of the node's base/cumulative/update compaction scores (BE)",
    ),
    metric(
        "running_queries",
        "running_queries",
        Count,
        "Queries running (NumRunningQueries, BE/CN)",
    ),
    metric(
        "jvm_heap_used",
        "jvm_heap_used_bytes",
        Bytes,
        "JVM heap used, bytes (FE)",
    ),
    metric(
        "jvm_heap_max",
        "jvm_heap_max_bytes",
        Bytes,
        "JVM heap limit, bytes (FE)",
    ),
    metric(
        "jvm_heap_usage_pct",
        "jvm_heap_usage_ratio",
        PercentToRatio,
        "Heap used / max (FE)",
    ),
    metric(
        "qps",
        "queries_per_second",
        PerSecond,
        "Queries per second (FE)",
    ),
    metric(
        "query_latency_p99",
        "query_latency_p99_seconds",
        MsToSeconds,
        "Query latency p99(FE)",
    ),
    metric(
        "query_error_per_second",
        "queries_failed_per_second",
        PerSecond,
        "Failed queries per second over the interval (FE; None on its first scrape)",
    ),
    metric(
        "query_error_per_second_15s",
        "queries_failed_15s_per_second",
        PerSecond,
        "Failed queries per second over the FE's own 15 s window (FE, query_err_rate)",
    ),
    metric(
        "connections",
        "connections",
        Count,
        "Open MySQL connections (FE)",
    ),
    metric(
        "network_send_rate",
        "network_send_bytes_per_second",
        BytesPerSecond,
        "Bytes sent per second, loopback excluded (BE/CN)",
    ),
    metric(
        "network_receive_rate",
        "network_receive_bytes_per_second",
        BytesPerSecond,
        "Bytes received per second, loopback excluded (BE/CN)",
    ),
    metric(
        "io_read_rate",
        "disk_read_bytes_per_second",
        BytesPerSecond,
        "Disk bytes read per second (BE/CN)",
    ),
    metric(
        "io_write_rate",
        "disk_write_bytes_per_second",
        BytesPerSecond,
        "Disk bytes written per second (BE/CN)",
    ),
    metric(
        "jvm_thread_count",
        "jvm_threads",
        Count,
        "JVM threads (FE, jvm_thread{type='count'})",
    ),
    metric(
        "disk_io_util_pct",
        "disk_io_util_ratio",
        PercentToRatio,
        "The busiest disk's IO utilisation (BE/CN, starrocks_be_max_disk_io_util_percent)",
    ),
    metric(
        "fullest_disk_path_usage_pct",
        "fullest_disk_path_usage_ratio",
        PercentToRatio,
        "That path's used, 0–1 (total − avail) / total (BE)",
    ),
    metric(
        "max_tablet_rowset_num",
        "tablet_rowsets_max",
        Count,
        "The most versions (rowsets) of one tablet on the node (BE)",
    ),
    metric(
        "scrape_ok",
        "scrape_ok",
        Flag,
        "Whether /metrics was scraped this cycle",
    ),
    metric(
        "scrape_duration_ms",
        "scrape_duration_seconds",
        MsToSeconds,
        "How long the scrape took",
    ),
    metric(
        "metrics_unavailable",
        "metrics_unavailable",
        Flag,
        "1 when the leader lists the node alive but its /metrics gave nothing",
    ),
];

/// Where a family's value comes from.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    /// A snapshot field.
    Cluster(fn(&MetricsSnapshot) -> Option<f64>),
    /// A node snapshot field; `path` adds the fullest disk path as a label.
    Node {
        get: fn(&NodeSnapshot) -> Option<f64>,
        path: bool,
    },
    /// A custom metric's cluster value, `MetricsSnapshot.custom[family.field]`.
    Custom,
    /// What the collector knows of the cluster.
    Collector(CollectorSeries),
    /// The cluster's active alerts.
    Alerts(AlertSeries),
}

/// The series of a cluster's active alerts, present when alerts are on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlertSeries {
    /// `rockscope_cluster_alerts_firing`: how many fire.
    Firing,
    /// `rockscope_cluster_alerts_pending`: how many are pending.
    Pending,
    /// `rockscope_alerts`: 1 per active alert, labelled like Prometheus' `ALERTS`.
    Active,
}

/// The collector's own figures of a cluster, present whether or not its last cycle worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CollectorSeries {
    Up,
    FailedCycles,
    LastSuccess,
    Interval,
}

/// One metric family: its name, type, unit and help, and where its value comes from.
pub struct Family {
    /// The full metric name.
    pub name: String,
    /// Gauge or counter.
    pub metric_type: MetricType,
    /// The unit of the values.
    pub unit: Unit,
    /// The `# HELP` text (one line).
    pub help: Cow<'static, str>,
    /// The snapshot field behind it (`None` for the collector's figures), e.g. `qps` or
    /// `node.qps`; a custom family's custom metric name.
    pub field: Option<String>,
    /// The factor from the field's unit to the metric's (0.01 for a percentage).
    pub scale: f64,
    pub(crate) source: Source,
}

const COLLECTOR: [(&str, CollectorSeries, Unit, &str); 4] = [
    (
        "up",
        CollectorSeries::Up,
        Unit::None,
        "1 when the cluster's last collection stored a snapshot, else 0 (and none of its other values)",
    ),
    (
        "failed_cycles",
        CollectorSeries::FailedCycles,
        Unit::None,
        "Collection cycles in a row that stored no snapshot",
    ),
    (
        "last_success_timestamp_seconds",
        CollectorSeries::LastSuccess,
        Unit::Seconds,
        "Unix time of the cluster's newest stored snapshot",
    ),
    (
        "collection_interval_seconds",
        CollectorSeries::Interval,
        Unit::Seconds,
        "Seconds between two collections of the cluster",
    ),
];

const ALERTS: [(&str, AlertSeries, &str); 3] = [
    (
        "rockscope_cluster_alerts_firing",
        AlertSeries::Firing,
        "Alerts of the cluster that fire (present while alerts are on, 0 when none)",
    ),
    (
        "rockscope_cluster_alerts_pending",
        AlertSeries::Pending,
        "Alerts of the cluster that are pending (present while alerts are on, 0 when none)",
    ),
    (
        "rockscope_alerts",
        AlertSeries::Active,
        "1 per pending or firing alert, labelled like Prometheus' ALERTS: alertname, alertstate, severity, and a node's instance, node, node_type (and path)",
    ),
];

static FAMILIES: LazyLock<Vec<Family>> = LazyLock::new(build_families);

/// Every family, in the order `/metrics` renders them: the collector's figures of each cluster,
/// its alerts, the cluster fields, the node fields.
pub fn families() -> &'static [Family] {
    &FAMILIES
}

/// The metric name of the custom metric `name` (issue 16's contract): `rockscope_custom_<name>`.
pub fn custom_metric_name(name: &str) -> String {
    format!("rockscope_custom_{name}")
}

/// The family of a snapshot field by its serde name: `qps` for a cluster field, `node.qps` for
/// a node field.
pub fn family_of_field(field: &str) -> Option<&'static Family> {
    families()
        .iter()
        .find(|family| family.field.as_deref() == Some(field))
}

fn build_families() -> Vec<Family> {
    let mut families: Vec<Family> = COLLECTOR
        .iter()
        .map(|&(name, series, unit, help)| Family {
            name: format!("rockscope_cluster_{name}"),
            metric_type: MetricType::Gauge,
            unit,
            help: Cow::Borrowed(help),
            field: None,
            scale: 1.0,
            source: Source::Collector(series),
        })
        .collect();
    families.extend(ALERTS.iter().map(|&(name, series, help)| Family {
        name: name.to_owned(),
        metric_type: MetricType::Gauge,
        unit: Unit::None,
        help: Cow::Borrowed(help),
        field: None,
        scale: 1.0,
        source: Source::Alerts(series),
    }));
    for def in CLUSTER_FIELDS {
        let Some(metric) = name_of(CLUSTER_METRICS, def) else {
            continue;
        };
        families.push(family(
            "cluster",
            def.name.to_owned(),
            metric,
            Source::Cluster(def.get),
        ));
    }
    for def in NODE_FIELDS {
        let Some(metric) = name_of(NODE_METRICS, def) else {
            continue;
        };
        let path = def.name == "fullest_disk_path_usage_pct";
        let source = Source::Node { get: def.get, path };
        families.push(family("node", format!("node.{}", def.name), metric, source));
    }
    families
}

/// A field's metric; every field has one (the test `every_field_has_one_metric` holds it), so
/// a field without is left out rather than named by guess.
fn name_of<T>(table: &'static [MetricName], def: &FieldDef<T>) -> Option<&'static MetricName> {
    table.iter().find(|metric| metric.field == def.name)
}

fn family(scope: &str, field: String, metric: &MetricName, source: Source) -> Family {
    Family {
        name: format!("rockscope_{scope}_{}", metric.name),
        metric_type: metric.shape.metric_type(),
        unit: metric.shape.unit(),
        help: Cow::Borrowed(metric.help),
        field: Some(field),
        scale: metric.shape.scale(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_field_has_one_metric_and_every_metric_a_field() {
        for (fields, table) in [
            (
                CLUSTER_FIELDS.iter().map(|f| f.name).collect::<Vec<_>>(),
                CLUSTER_METRICS,
            ),
            (
                NODE_FIELDS.iter().map(|f| f.name).collect::<Vec<_>>(),
                NODE_METRICS,
            ),
        ] {
            let named: Vec<&str> = table.iter().map(|m| m.field).collect();
            let fields_set: BTreeSet<&str> = fields.iter().copied().collect();
            let named_set: BTreeSet<&str> = named.iter().copied().collect();
            assert_eq!(
                fields_set, named_set,
                "fields without a metric, or metrics without a field"
            );
            assert_eq!(named.len(), named_set.len(), "a field named twice");
        }
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        let mut seen = BTreeSet::new();
        for family in families() {
            assert!(seen.insert(&family.name), "{} twice", family.name);
            let name = &family.name;
            // No double quote in a HELP: OpenMetrics must escape it and text 0.0.4 must not, so
            // a HELP without one reads the same in both (and promtool can lint either body).
            assert!(!family.help.contains('"'), "{name}: {}", family.help);
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert_eq!(
                name.ends_with("_total"),
                family.metric_type == MetricType::Counter,
                "{name}"
            );
            match family.unit {
                Unit::Bytes => assert!(
                    name.ends_with("_bytes") || name.ends_with("_bytes_total"),
                    "{name}"
                ),
                Unit::Seconds => assert!(
                    name.ends_with("_seconds") || name.ends_with("_seconds_total"),
                    "{name}"
                ),
                Unit::Ratio => assert!(name.ends_with("_ratio"), "{name}"),
                Unit::PerSecond | Unit::BytesPerSecond => {
                    assert!(name.ends_with("_per_second"), "{name}")
                }
                Unit::None => {
                    for suffix in ["_bytes", "_seconds", "_ratio", "_ms", "_pct"] {
                        assert!(
                            !name.ends_with(suffix),
                            "{name} has a unit suffix but no unit"
                        );
                    }
                }
            }
            assert!(
                !family.help.is_empty() && !family.help.contains('\n'),
                "{name}"
            );
            if let Some(field) = &family.field {
                let percent = field.ends_with("_pct") || field.contains("_usage");
                if percent && !field.contains("scrape") {
                    assert_eq!(family.unit, Unit::Ratio, "{field} is a percentage");
                }
                if field.ends_with("_ms") || field.contains("latency") {
                    assert_eq!(family.unit, Unit::Seconds, "{field} is in milliseconds");
                }
            }
        }
    }
}
