//! The figures a rule can read, by their serde names: every numeric field of
//! [`MetricsSnapshot`] (cluster fields), of [`NodeSnapshot`] (node fields; booleans are 0/1),
//! and what the collector knows of the cluster ([`CollectorField`]). Names are resolved once,
//! at validation, to an index into a static table; evaluation reads through a function pointer,
//! so it neither serializes nor looks a name up.
//!
//! Lookup of a name happens only in [`lookup`], the one place a new kind of name (issue 16's
//! custom fields) will be added.

use rockscope_model::{MetricsSnapshot, NodeSnapshot};

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
    get: fn(&T) -> Option<f64>,
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
static CLUSTER: &[FieldDef<MetricsSnapshot>] = table!(MetricsSnapshot {
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
static NODE: &[FieldDef<NodeSnapshot>] = table!(NodeSnapshot {
    alive: Flag, decommissioned: Flag,
    cpu_usage_pct: Gauge, process_cpu_usage_pct: Gauge, cpu_cores: Gauge,
    memory_usage_pct: Gauge, memory_used_bytes: Gauge, memory_limit_bytes: Gauge,
    disk_total_bytes: Gauge, disk_used_bytes: Gauge, disk_usage_pct: Gauge, data_used_bytes: Gauge,
    tablet_count: Gauge, compaction_score: Gauge, running_queries: Gauge,
    jvm_heap_used: Gauge, jvm_heap_max: Gauge, jvm_heap_usage_pct: Gauge,
    qps: Gauge, query_latency_p99: Gauge, query_error_per_second: Gauge, connections: Gauge,
    network_send_rate: Gauge, network_receive_rate: Gauge, io_read_rate: Gauge, io_write_rate: Gauge,
    jvm_thread_count: Gauge, disk_io_util_pct: Gauge, fullest_disk_path_usage_pct: Gauge,
    max_tablet_rowset_num: Gauge, scrape_ok: Flag, scrape_duration_ms: Gauge,
} derived {
    // A node the leader lists as alive whose `/metrics` gave nothing: its figures are missing
    // although it runs (rockscope's `NodeMetricsUnavailable`).
    metrics_unavailable: Flag = |n: &NodeSnapshot| Some(if n.alive && !n.scrape_ok { 1.0 } else { 0.0 }),
});

/// Fields of the snapshots that exist but are not numbers, for a precise error.
const NOT_NUMERIC: [&str; 13] = [
    "cluster_id",
    "collected_at",
    "leader_name",
    "leader_host",
    "version",
    "source_errors",
    "node_type",
    "node_id",
    "host",
    "http_port",
    "role",
    "fullest_disk_path",
    "scrape_error",
];

/// A cluster field, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterField(u16);

/// A node field, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeField(u16);

/// What the collector knows of the cluster, present even when no snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectorField {
    /// Cycles in a row that stored no snapshot.
    FailedCycles,
    /// Seconds since the newest stored snapshot.
    DataAgeSeconds,
    /// [`CollectorField::DataAgeSeconds`] in collection intervals.
    DataAgeIntervals,
}

impl CollectorField {
    const ALL: [CollectorField; 3] = [
        CollectorField::FailedCycles,
        CollectorField::DataAgeSeconds,
        CollectorField::DataAgeIntervals,
    ];

    /// The name after `collector.`.
    pub fn name(self) -> &'static str {
        match self {
            CollectorField::FailedCycles => "failed_cycles",
            CollectorField::DataAgeSeconds => "data_age_seconds",
            CollectorField::DataAgeIntervals => "data_age_intervals",
        }
    }
}

impl ClusterField {
    fn def(self) -> &'static FieldDef<MetricsSnapshot> {
        &CLUSTER[usize::from(self.0)]
    }

    /// The serde name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Gauge, counter or flag.
    pub fn kind(self) -> Kind {
        self.def().kind
    }

    /// The value in a snapshot (`None` when missing or not finite).
    pub fn get(self, snapshot: &MetricsSnapshot) -> Option<f64> {
        (self.def().get)(snapshot)
    }
}

impl NodeField {
    fn def(self) -> &'static FieldDef<NodeSnapshot> {
        &NODE[usize::from(self.0)]
    }

    /// The serde name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The value in a node snapshot (`None` when missing or not finite).
    pub fn get(self, node: &NodeSnapshot) -> Option<f64> {
        (self.def().get)(node)
    }

    /// A label that tells which part of the node the value is about: `path` for the fullest
    /// disk path's usage.
    pub fn extra_label(self) -> Option<&'static str> {
        (self.name() == "fullest_disk_path_usage_pct").then_some("path")
    }

    /// The value of [`NodeField::extra_label`] on a node.
    pub fn extra_label_value(self, node: &NodeSnapshot) -> Option<&str> {
        self.extra_label().and(node.fullest_disk_path.as_deref())
    }
}

/// Which table a name is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `MetricsSnapshot`.
    Cluster,
    /// `NodeSnapshot`.
    Node,
    /// `collector.`
    Collector,
}

/// A name resolved in its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A cluster field.
    Cluster(ClusterField),
    /// A node field.
    Node(NodeField),
    /// A collector figure.
    Collector(CollectorField),
}

/// Resolves a field name in a namespace; the error is the problem in words, with a suggestion.
pub fn lookup(namespace: Namespace, name: &str) -> Result<Field, String> {
    let found = match namespace {
        Namespace::Cluster => {
            position(CLUSTER.iter().map(|f| f.name), name).map(|i| Field::Cluster(ClusterField(i)))
        }
        Namespace::Node => {
            position(NODE.iter().map(|f| f.name), name).map(|i| Field::Node(NodeField(i)))
        }
        Namespace::Collector => CollectorField::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .map(Field::Collector),
    };
    found.ok_or_else(|| unknown(namespace, name))
}

fn position<'a>(mut names: impl Iterator<Item = &'a str>, name: &str) -> Option<u16> {
    names
        .position(|n| n == name)
        .and_then(|i| u16::try_from(i).ok())
}

fn names(namespace: Namespace) -> Vec<&'static str> {
    match namespace {
        Namespace::Cluster => CLUSTER.iter().map(|f| f.name).collect(),
        Namespace::Node => NODE.iter().map(|f| f.name).collect(),
        Namespace::Collector => CollectorField::ALL.iter().map(|f| f.name()).collect(),
    }
}

/// The error for a name not in its table: not numeric, in the other table, or a typo.
fn unknown(namespace: Namespace, name: &str) -> String {
    let what = match namespace {
        Namespace::Cluster => "cluster field",
        Namespace::Node => "node field",
        Namespace::Collector => "collector figure",
    };
    if NOT_NUMERIC.contains(&name) {
        return format!("field `{name}` is not numeric; a rule compares numbers");
    }
    if namespace == Namespace::Cluster && names(Namespace::Node).contains(&name) {
        return format!(
            "`{name}` is a node field: write `node.{name}` (or `fe.`, `be.`, `cn.`, `backend.`) for one alert per node, or e.g. `max(backend.{name})`"
        );
    }
    if namespace == Namespace::Node && names(Namespace::Cluster).contains(&name) {
        return format!("`{name}` is a cluster field, not a node field: write it without a prefix");
    }
    let mut message = format!("unknown {what} `{name}`");
    if let Some(best) = names(namespace)
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min()
    {
        message.push_str(&format!(" (did you mean `{}`?)", best.1));
    }
    message
}

/// Levenshtein distance, for suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Every cluster field name (for documentation and tests).
pub fn cluster_names() -> Vec<&'static str> {
    names(Namespace::Cluster)
}

/// Every node field name (for tests).
#[cfg(test)]
pub fn node_names() -> Vec<&'static str> {
    names(Namespace::Node)
}
