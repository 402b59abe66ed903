//! The column lists of the snapshot tables, written once.
//!
//! Each table that mirrors a model struct (`metrics_snapshots` ↔ [`MetricsSnapshot`],
//! `node_snapshots` ↔ [`NodeSnapshot`], `daily_snapshots` ↔ [`DailySnapshot`]) is described by one
//! `column_set!` invocation listing every plain field with its [`ColumnKind`]. The invocation
//! generates, from that single list:
//!
//! * `COLUMNS`, the `(name, kind)` table the schema DDL, the migrations' column reconciliation,
//!   the SQL statements and the field validation of series queries are built from;
//! * `params(&value)`, the bound parameters of an insert, in column order;
//! * `from_row(row, start, ...)`, which builds the struct with a struct literal, so that a model
//!   field missing from the list is a **compile error** here (and the
//!   `metrics_columns_cover_every_field` test checks the serialized keys as well).
//!
//! The few fields that need a conversion (times as Unix milliseconds, `source_errors` as JSON,
//! `node_type` as text, the daily `date` as `YYYY-MM-DD`) are the "extra" fields, handled by the
//! repository modules.
//!
//! Adding a field to `MetricsSnapshot` is therefore one line here; the schema reconciliation in
//! the `schema` module adds the column to existing databases at the next start.

use rusqlite::Row;
use rusqlite::types::{FromSql, ToSql};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::error::{Error, Result};

/// The SQL type (and nullability) of a stored model field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKind {
    /// `Option<f64>`: nullable `REAL`.
    Real,
    /// `Option<i64>`: nullable `INTEGER`.
    Int,
    /// `Option<String>`: nullable `TEXT`.
    Text,
    /// `f64`: `REAL NOT NULL`.
    RequiredReal,
    /// `i64` (or a smaller integer): `INTEGER NOT NULL`.
    RequiredInt,
    /// `String`: `TEXT NOT NULL`.
    RequiredText,
    /// `bool`: `INTEGER NOT NULL` holding 0 or 1.
    Bool,
}

impl ColumnKind {
    /// Whether the column holds numbers (and so can be averaged in a series or statistics query).
    pub fn is_numeric(self) -> bool {
        !matches!(self, ColumnKind::Text | ColumnKind::RequiredText)
    }
}

/// One stored field: its column name (the model field's exact name) and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Column {
    /// The column name, equal to the model field's name.
    pub name: &'static str,
    /// Its SQL type.
    pub kind: ColumnKind,
}

impl Column {
    /// The column's definition in `CREATE TABLE` / `ALTER TABLE ADD COLUMN` (STRICT tables).
    /// Required columns get a default so that a column added to an existing table is valid.
    pub(crate) fn definition(&self) -> String {
        let name = self.name;
        match self.kind {
            ColumnKind::Real => format!("{name} REAL"),
            ColumnKind::Int => format!("{name} INTEGER"),
            ColumnKind::Text => format!("{name} TEXT"),
            ColumnKind::RequiredReal => format!("{name} REAL NOT NULL DEFAULT 0"),
            ColumnKind::RequiredInt => format!("{name} INTEGER NOT NULL DEFAULT 0"),
            ColumnKind::RequiredText => format!("{name} TEXT NOT NULL DEFAULT ''"),
            ColumnKind::Bool => {
                format!("{name} INTEGER NOT NULL DEFAULT 0 CHECK ({name} IN (0, 1))")
            }
        }
    }
}

/// Read column `idx` of `row`, reporting a value of the wrong type as [`Error::Corrupt`] naming
/// `table.column`.
pub(crate) fn get<T: FromSql>(row: &Row<'_>, idx: usize, table: &str, column: &str) -> Result<T> {
    row.get(idx).map_err(|e| match e {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..) => Error::corrupt(format_args!("{table}.{column}"), e),
        other => Error::Sqlite(other),
    })
}

/// Value `idx` of a packed row as `T`, reporting a missing value or one of the wrong type as
/// [`Error::Corrupt`] naming `table.column`.
pub(crate) fn value_of<T: FromSql>(
    values: &[rusqlite::types::Value],
    idx: usize,
    table: &str,
    column: &str,
) -> Result<T> {
    let value = values
        .get(idx)
        .ok_or_else(|| Error::corrupt(format_args!("{table}.{column}"), "missing"))?;
    T::column_result(rusqlite::types::ValueRef::from(value))
        .map_err(|e| Error::corrupt(format_args!("{table}.{column}"), e))
}

/// Declares the stored plain fields of a model struct; see the module documentation.
macro_rules! column_set {
    (
        $(#[$meta:meta])*
        mod $module:ident for $ty:ident in $table:literal;
        extra { $($xname:ident : $xty:ty),* $(,)? }
        columns { $($field:ident : $kind:ident),* $(,)? }
    ) => {
        $(#[$meta])*
        pub(crate) mod $module {
            #[allow(unused_imports)]
            use super::*;

            /// The table's name.
            pub(crate) const TABLE: &str = $table;

            /// The plain fields, in storage order.
            pub(crate) const COLUMNS: &[Column] = &[
                $(Column { name: stringify!($field), kind: ColumnKind::$kind },)*
            ];

            /// The plain fields of `v` as insert parameters, in [`COLUMNS`] order.
            pub(crate) fn params(v: &$ty) -> Vec<&dyn ToSql> {
                vec![$(&v.$field as &dyn ToSql,)*]
            }

            /// Build the struct from the extra fields and the plain columns' values, one per
            /// [`COLUMNS`] entry, in order (a packed row, see `crate::node_cycles`).
            #[allow(dead_code, unused_assignments)]
            pub(crate) fn from_values(
                values: &[rusqlite::types::Value],
                $($xname: $xty,)*
            ) -> Result<$ty> {
                let mut i = 0;
                Ok($ty {
                    $($xname,)*
                    $($field: {
                        let v = value_of(values, i, TABLE, stringify!($field))?;
                        i += 1;
                        v
                    },)*
                })
            }

            /// Build the struct from the extra fields and the plain columns read from `row`
            /// starting at index `start` (in [`COLUMNS`] order).
            #[allow(unused_assignments)]
            pub(crate) fn from_row(
                row: &Row<'_>,
                start: usize,
                $($xname: $xty,)*
            ) -> Result<$ty> {
                let mut i = start;
                Ok($ty {
                    $($xname,)*
                    $($field: {
                        let v = get(row, i, TABLE, stringify!($field))?;
                        i += 1;
                        v
                    },)*
                })
            }
        }
    };
}

use std::collections::BTreeMap;

use rockscope_model::{
    DailyInput, DailySnapshot, MetricsSnapshot, NodeKind, NodeSnapshot, SnapshotSummary,
    SourceError,
};

column_set! {
    /// `metrics_snapshots` ↔ [`MetricsSnapshot`]. Extra columns: `cluster_id`, `collected_at`
    /// (Unix ms), `source_errors` (JSON text).
    mod metric for MetricsSnapshot in "metrics_snapshots";
    extra {
        cluster_id: i64,
        collected_at: OffsetDateTime,
        source_errors: Vec<SourceError>,
        custom: BTreeMap<String, Option<f64>>,
    }
    columns {
        qps: Real,
        rps: Real,
        query_latency_p50: Real,
        query_latency_p95: Real,
        query_latency_p99: Real,
        query_latency_p75: Real,
        query_latency_p90: Real,
        query_latency_p999: Real,
        query_latency_mean: Real,
        query_total: Int,
        query_success: Int,
        query_error: Int,
        query_timeout: Int,
        slow_query_total: Int,
        request_total: Int,
        query_interval_total: Int,
        query_interval_success: Int,
        query_interval_error: Int,
        query_interval_timeout: Int,
        slow_query_interval: Int,
        query_error_per_second: Real,
        query_error_rate: Real,
        query_queue_pending: Int,
        fe_connections: Int,
        running_queries: Int,
        running_query_contexts: Int,
        backend_total: Int,
        backend_alive: Int,
        backend_decommissioned: Int,
        frontend_total: Int,
        frontend_alive: Int,
        frontend_follower_count: Int,
        frontend_observer_count: Int,
        compute_node_total: Int,
        compute_node_alive: Int,
        compute_node_decommissioned: Int,
        leader_name: Text,
        leader_host: Text,
        version: Text,
        distinct_versions: Int,
        journal_replay_lag: Int,
        total_cpu_usage: Real,
        avg_cpu_usage: Real,
        max_cpu_usage: Real,
        cpu_cores_total: Int,
        total_memory_usage: Real,
        avg_memory_usage: Real,
        max_memory_usage: Real,
        memory_used_bytes: Int,
        memory_limit_bytes: Int,
        disk_total_bytes: Int,
        disk_used_bytes: Int,
        disk_avail_bytes: Int,
        disk_usage_pct: Real,
        max_disk_usage_pct: Real,
        max_storage_root_usage_pct: Real,
        data_used_bytes: Int,
        tablet_count: Int,
        max_compaction_score: Real,
        base_compaction_score: Real,
        cumulative_compaction_score: Real,
        compaction_tasks_running: Int,
        compaction_tasks_waiting: Int,
        compaction_bytes_rate: Real,
        scheduled_tablet_num: Int,
        txn_running: Int,
        txn_begin_total: Int,
        txn_success_total: Int,
        txn_failed_total: Int,
        txn_reject_total: Int,
        txn_begin_rate: Real,
        load_running: Int,
        load_pending: Int,
        load_jobs_finished: Int,
        load_jobs_cancelled: Int,
        load_finished_total: Int,
        routine_load_running: Int,
        routine_load_need_schedule: Int,
        routine_load_paused: Int,
        routine_load_unstable: Int,
        routine_load_stopped: Int,
        routine_load_cancelled: Int,
        jvm_heap_total: Int,
        jvm_heap_used: Int,
        jvm_heap_usage_pct: Real,
        max_jvm_heap_usage_pct: Real,
        jvm_heap_committed: Int,
        jvm_thread_count: Int,
        jvm_young_gc_count: Int,
        jvm_young_gc_time_ms: Int,
        jvm_old_gc_count: Int,
        jvm_old_gc_time_ms: Int,
        jvm_old_gc_interval: Int,
        jvm_gc_time_rate: Real,
        network_bytes_sent_total: Int,
        network_bytes_received_total: Int,
        network_send_rate: Real,
        network_receive_rate: Real,
        io_read_bytes_total: Int,
        io_write_bytes_total: Int,
        io_read_rate: Real,
        io_write_rate: Real,
        compaction_cumulative_failed_interval: Int,
        compaction_base_failed_interval: Int,
        schema_change_failed_interval: Int,
        clone_failed_interval: Int,
        max_tablet_rowset_num: Int,
        meta_log_count: Int,
        txn_begin_interval: Int,
        txn_failed_interval: Int,
        txn_running_max_db: Int,
        routine_load_max_lag: Int,
        query_internal_error_interval: Int,
        max_disk_io_util_pct: Real,
        scrape_nodes_total: RequiredInt,
        scrape_nodes_ok: RequiredInt,
        scrape_fe_ok: RequiredInt,
        scrape_be_ok: RequiredInt,
        scrape_duration_max_ms: Int,
        scrape_duration_avg_ms: Real,
        scrape_skipped_lines: RequiredInt,
        interval_seconds: Real,
        rates_from_gauges: Bool,
    }
}

column_set! {
    /// [`NodeSnapshot`]'s stored fields: the columns of the old `node_snapshots` table (read only
    /// by the conversion) and of a `node_cycles` blob (`crate::node_cycles`, which keeps the
    /// identity columns apart). Extra columns: `cluster_id`, `collected_at` (Unix ms),
    /// `node_type` (`fe`, `be`, `cn`).
    mod node for NodeSnapshot in "node_snapshots";
    extra {
        cluster_id: i64,
        collected_at: OffsetDateTime,
        node_type: NodeKind,
        custom: BTreeMap<String, f64>,
    }
    columns {
        node_id: RequiredText,
        host: RequiredText,
        http_port: RequiredInt,
        alive: Bool,
        role: Text,
        version: Text,
        decommissioned: Bool,
        cpu_usage_pct: Real,
        process_cpu_usage_pct: Real,
        cpu_cores: Int,
        memory_usage_pct: Real,
        memory_used_bytes: Int,
        memory_limit_bytes: Int,
        disk_total_bytes: Int,
        disk_used_bytes: Int,
        disk_usage_pct: Real,
        data_used_bytes: Int,
        tablet_count: Int,
        compaction_score: Real,
        running_queries: Int,
        jvm_heap_used: Int,
        jvm_heap_max: Int,
        jvm_heap_usage_pct: Real,
        qps: Real,
        query_latency_p99: Real,
        query_error_per_second: Real,
        query_error_per_second_15s: Real,
        connections: Int,
        network_send_rate: Real,
        network_receive_rate: Real,
        io_read_rate: Real,
        io_write_rate: Real,
        jvm_thread_count: Int,
        disk_io_util_pct: Real,
        fullest_disk_path: Text,
        fullest_disk_path_usage_pct: Real,
        max_tablet_rowset_num: Int,
        scrape_ok: Bool,
        scrape_error: Text,
        scrape_duration_ms: Int,
    }
}

column_set! {
    /// `daily_snapshots` ↔ [`DailySnapshot`]. Extra columns: `cluster_id`, `date`
    /// (`YYYY-MM-DD`), `first_at` and `last_at` (Unix ms).
    mod daily for DailySnapshot in "daily_snapshots";
    extra { cluster_id: i64, date: Date, first_at: OffsetDateTime, last_at: OffsetDateTime }
    columns {
        snapshot_count: RequiredInt,
        qps_avg: Real,
        qps_max: Real,
        qps_min: Real,
        latency_p99_avg: Real,
        latency_p99_max: Real,
        latency_p99_min: Real,
        cpu_avg: Real,
        cpu_max: Real,
        cpu_min: Real,
        cpu_node_max: Real,
        memory_avg: Real,
        memory_max: Real,
        memory_min: Real,
        disk_usage_avg: Real,
        disk_usage_max: Real,
        disk_usage_min: Real,
        queries: Int,
        errors: Int,
        timeouts: Int,
        slow_queries: Int,
        error_rate: Real,
        observed_seconds: RequiredReal,
        downtime_seconds: RequiredReal,
        unknown_seconds: Real,
        availability_pct: Real,
        data_size_start: Int,
        data_size_end: Int,
        data_growth: Int,
    }
}

column_set! {
    /// `metrics_snapshots` → [`DailyInput`], the columns the daily roll-up reads (read only:
    /// `params` is unused; each column is also in [`metric`], checked by a test). Extra columns:
    /// `cluster_id`, `collected_at` (Unix ms).
    #[allow(dead_code)]
    mod daily_input for DailyInput in "metrics_snapshots";
    extra { cluster_id: i64, collected_at: OffsetDateTime }
    columns {
        qps: Real,
        query_latency_p99: Real,
        avg_cpu_usage: Real,
        max_cpu_usage: Real,
        avg_memory_usage: Real,
        disk_usage_pct: Real,
        query_interval_total: Int,
        query_interval_error: Int,
        query_interval_timeout: Int,
        slow_query_interval: Int,
        data_used_bytes: Int,
        backend_total: Int,
        backend_alive: Int,
        compute_node_total: Int,
        compute_node_alive: Int,
    }
}

column_set! {
    /// `metrics_snapshots` → [`SnapshotSummary`], the columns the all-clusters overview reads
    /// (read only: `params` is unused; each column is also in [`metric`], checked by a test).
    /// Extra columns: `cluster_id`, `collected_at` (Unix ms), `source_errors` (JSON text).
    #[allow(dead_code)]
    mod snapshot_summary for SnapshotSummary in "metrics_snapshots";
    extra { cluster_id: i64, collected_at: OffsetDateTime, source_errors: Vec<SourceError> }
    columns {
        qps: Real,
        query_latency_p99: Real,
        avg_cpu_usage: Real,
        disk_usage_pct: Real,
        frontend_total: Int,
        frontend_alive: Int,
        backend_total: Int,
        backend_alive: Int,
        compute_node_total: Int,
        compute_node_alive: Int,
        scrape_nodes_total: RequiredInt,
        scrape_nodes_ok: RequiredInt,
    }
}

/// `a.x, a.y, ...` for `columns` (with `alias.` prefixes when `alias` is not empty).
pub(crate) fn column_list(columns: &[Column], alias: &str) -> String {
    let mut out = String::new();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if !alias.is_empty() {
            out.push_str(alias);
            out.push('.');
        }
        out.push_str(c.name);
    }
    out
}

/// `INSERT INTO table (extra..., columns...) VALUES (?1, ?2, ...)`.
pub(crate) fn insert_sql(table: &str, extra: &[&str], columns: &[Column]) -> String {
    let names: Vec<&str> = extra
        .iter()
        .copied()
        .chain(columns.iter().map(|c| c.name))
        .collect();
    let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    )
}

// ---- conversions at the edge ------------------------------------------------------------------

const MS_PER_DAY: i64 = 86_400_000;
const DATE_FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// A time as Unix milliseconds (UTC), truncated to the millisecond (floor).
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    // OffsetDateTime's range (±9999 years) fits in i64 milliseconds.
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}

/// Unix milliseconds back to a UTC time; `what` names the column for the error.
pub(crate) fn from_ms(ms: i64, what: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| Error::corrupt(what, format_args!("{ms} ms is not a valid time: {e}")))
}

/// The UTC midnight starting `date`, as Unix milliseconds.
pub(crate) fn day_start_ms(date: Date) -> i64 {
    to_ms(date.midnight().assume_utc())
}

/// The UTC day containing the Unix millisecond `ms`.
pub(crate) fn day_of_ms(ms: i64, what: &str) -> Result<Date> {
    Ok(from_ms(ms.div_euclid(MS_PER_DAY) * MS_PER_DAY, what)?.date())
}

/// A date as `YYYY-MM-DD`.
pub(crate) fn date_text(date: Date) -> String {
    // Formatting a Date with this description cannot fail for years 0..=9999; fall back to the
    // Display form (same shape) otherwise.
    date.format(DATE_FORMAT)
        .unwrap_or_else(|_| date.to_string())
}

/// `YYYY-MM-DD` back to a date; `what` names the column for the error.
pub(crate) fn parse_date(text: &str, what: &str) -> Result<Date> {
    Date::parse(text, DATE_FORMAT)
        .map_err(|e| Error::corrupt(what, format_args!("`{text}` is not a YYYY-MM-DD date: {e}")))
}

/// `fe`/`be`/`cn` back to a [`NodeKind`].
pub(crate) fn parse_node_kind(text: &str) -> Result<NodeKind> {
    match text {
        "fe" => Ok(NodeKind::Fe),
        "be" => Ok(NodeKind::Be),
        "cn" => Ok(NodeKind::Cn),
        other => Err(Error::corrupt(
            "node_snapshots.node_type",
            format_args!("`{other}` is not fe, be or cn"),
        )),
    }
}

/// The numeric metrics column named `name`, or [`Error::InvalidField`].
pub(crate) fn numeric_metric(name: &str) -> Result<&'static Column> {
    metric::COLUMNS
        .iter()
        .find(|c| c.name == name && c.kind.is_numeric())
        .ok_or_else(|| Error::InvalidField(name.to_owned()))
}
