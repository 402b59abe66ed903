//! Parsing of `/api/show_proc` bodies (both shapes) and of the small JSON documents
//! (`/api/show_runtime_info`, `/api/health`) into the model's typed rows.
//!
//! The parsers here work on bytes and return a plain `String` describing what is wrong; the
//! client wraps that into [`ClientError::MalformedBody`](crate::ClientError::MalformedBody) with
//! the node and endpoint.

use rockscope_model::{
    Backend, BeHealth, ComputeNode, FeHealth, Frontend, FrontendRole, RuntimeInfo,
};
use serde_json::{Map, Value};

use crate::error::excerpt;
use crate::values::{
    optional_text, parse_bool, parse_capacity, parse_i64, parse_pct, parse_port, parse_u64,
    status_last_report_tablets_time,
};

/// Column order of `SHOW PROC '/backends'` in the array-of-arrays shape of ≤ 3.0: the 26 columns
/// of 3.0 (2.4/2.5 send the first 23), then the shared-data columns.
pub(crate) const BACKEND_COLUMNS_V3_0: &[&str] = &[
    "BackendId",
    "IP",
    "HeartbeatPort",
    "BePort",
    "HttpPort",
    "BrpcPort",
    "LastStartTime",
    "LastHeartbeat",
    "Alive",
    "SystemDecommissioned",
    "ClusterDecommissioned",
    "TabletNum",
    "DataUsedCapacity",
    "AvailCapacity",
    "TotalCapacity",
    "UsedPct",
    "MaxDiskUsedPct",
    "ErrMsg",
    "Version",
    "Status",
    "DataTotalCapacity",
    "DataUsedPct",
    "CpuCores",
    "NumRunningQueries",
    "MemUsedPct",
    "CpuUsedPct",
    "StarletPort",
    "WorkerId",
];

/// Column order of `SHOW PROC '/frontends'` in the array-of-arrays shape (3.0; 16 columns).
pub(crate) const FRONTEND_COLUMNS_V3_0: &[&str] = &[
    "Name",
    "IP",
    "EditLogPort",
    "HttpPort",
    "QueryPort",
    "RpcPort",
    "Role",
    "ClusterId",
    "Join",
    "Alive",
    "ReplayedJournalId",
    "LastHeartbeat",
    "IsHelper",
    "ErrMsg",
    "StartTime",
    "Version",
];

/// Column order of `SHOW PROC '/frontends'` of 2.x (17 columns: `IsMaster` after `Role`, the
/// leader shown as `FOLLOWER` with `IsMaster=true`). Chosen for 17-column array rows.
pub(crate) const FRONTEND_COLUMNS_V2: &[&str] = &[
    "Name",
    "IP",
    "EditLogPort",
    "HttpPort",
    "QueryPort",
    "RpcPort",
    "Role",
    "IsMaster",
    "ClusterId",
    "Join",
    "Alive",
    "ReplayedJournalId",
    "LastHeartbeat",
    "IsHelper",
    "ErrMsg",
    "StartTime",
    "Version",
];

/// Column order of `SHOW PROC '/compute_nodes'` in the array-of-arrays shape (3.0), then the
/// shared-data columns.
pub(crate) const COMPUTE_NODE_COLUMNS_V3_0: &[&str] = &[
    "ComputeNodeId",
    "IP",
    "HeartbeatPort",
    "BePort",
    "HttpPort",
    "BrpcPort",
    "LastStartTime",
    "LastHeartbeat",
    "Alive",
    "SystemDecommissioned",
    "ClusterDecommissioned",
    "ErrMsg",
    "Version",
    "CpuCores",
    "NumRunningQueries",
    "MemUsedPct",
    "CpuUsedPct",
    "HasStoragePath",
    "StarletPort",
    "WorkerId",
    "WarehouseName",
    "TabletNum",
];

/// One row, values looked up by column title.
struct Row<'a> {
    index: usize,
    cells: Vec<(&'a str, &'a Value)>,
}

impl<'a> Row<'a> {
    fn from_object(index: usize, object: &'a Map<String, Value>) -> Self {
        Self {
            index,
            cells: object.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        }
    }

    fn from_array(index: usize, columns: &'a [&'a str], values: &'a [Value]) -> Self {
        Self {
            index,
            cells: columns.iter().copied().zip(values.iter()).collect(),
        }
    }

    /// The cell's text; `None` for a missing column or a JSON `null`. Non-string scalars are
    /// taken as their JSON text, so that a future version sending numbers still parses.
    fn text(&self, column: &str) -> Option<std::borrow::Cow<'a, str>> {
        let (_, value) = self.cells.iter().find(|(name, _)| *name == column)?;
        match value {
            Value::String(s) => Some(std::borrow::Cow::Borrowed(s.as_str())),
            Value::Null => None,
            Value::Bool(b) => Some(std::borrow::Cow::Owned(b.to_string())),
            Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string())),
            Value::Array(_) | Value::Object(_) => Some(std::borrow::Cow::Owned(value.to_string())),
        }
    }

    /// A required column: parsed, or an error naming row, column and value.
    fn required<T>(
        &self,
        column: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, String> {
        let text = self
            .text(column)
            .ok_or_else(|| format!("row {}: required column {column} is missing", self.index))?;
        parse(&text).ok_or_else(|| {
            format!(
                "row {}: column {column}: expected {what}, got {:?}",
                self.index,
                excerpt(text.as_bytes())
            )
        })
    }

    /// An optional column: `None` when missing, `NULL`-like or unreadable (logged).
    fn optional<T>(&self, column: &str, parse: impl Fn(&str) -> Option<T>) -> Option<T> {
        let text = self.text(column)?;
        let value = parse(&text);
        if value.is_none() && optional_text(&text).is_some() {
            // The value itself is node text and is not logged: it could carry anything the node
            // echoes, credentials included, and the parsers have no scrubber.
            log::debug!(
                "show_proc row {}: column {column}: unreadable value ({} bytes), taken as absent",
                self.index,
                text.len()
            );
        }
        value
    }

    fn flag(&self, column: &str) -> bool {
        self.optional(column, parse_bool).unwrap_or(false)
    }

    fn opt_text(&self, column: &str) -> Option<String> {
        self.text(column).and_then(|t| optional_text(&t))
    }

    /// Free text kept as is (trimmed); empty when missing.
    fn plain_text(&self, column: &str) -> String {
        self.text(column)
            .map(|t| t.trim().to_owned())
            .unwrap_or_default()
    }
}

/// Parses the show_proc body into rows, choosing the array shape's columns by row length.
fn parse_rows<T>(
    body: &[u8],
    array_columns: impl Fn(usize) -> &'static [&'static str],
    convert: impl Fn(&Row<'_>) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    let value = parse_json(body)?;
    let Value::Array(rows) = value else {
        return Err(format!(
            "expected a JSON array of rows, got {}",
            describe_json(&value)
        ));
    };
    let mut out = Vec::with_capacity(rows.len());
    for (index, row) in rows.iter().enumerate() {
        let row = match row {
            Value::Object(object) => Row::from_object(index, object),
            Value::Array(values) => Row::from_array(index, array_columns(values.len()), values),
            other => {
                return Err(format!(
                    "row {index}: expected an object or an array, got {}",
                    describe_json(other)
                ));
            }
        };
        out.push(convert(&row)?);
    }
    Ok(out)
}

/// Parses a JSON body; plain text (`Failed to forward stmt: …`) or StarRocks' JSON error object
/// (`{"status":"FAILED","msg":…}`) become a description carrying the text.
fn parse_json(body: &[u8]) -> Result<Value, String> {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() {
        return Err("empty body".to_owned());
    }
    if !matches!(trimmed.first(), Some(b'[' | b'{')) {
        return Err(format!("not JSON: {:?}", excerpt(trimmed)));
    }
    let value: Value = serde_json::from_slice(trimmed)
        .map_err(|e| format!("invalid JSON ({e}): {:?}", excerpt(trimmed)))?;
    if let Some(message) = failure_message(&value) {
        return Err(format!("FE reported an error: {message:?}"));
    }
    Ok(value)
}

/// StarRocks' `RestBaseResult` failure (`{"status":"FAILED","code":"1","msg":"…"}`).
fn failure_message(value: &Value) -> Option<String> {
    let object = value.as_object()?;
    let status = object.get("status")?.as_str()?;
    if status.eq_ignore_ascii_case("ok") {
        return None;
    }
    let msg = object
        .get("msg")
        .or_else(|| object.get("message"))
        .and_then(Value::as_str)
        .unwrap_or(status);
    Some(excerpt(msg.as_bytes()))
}

fn describe_json(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn backend_columns(len: usize) -> &'static [&'static str] {
    let _ = len;
    BACKEND_COLUMNS_V3_0
}

fn frontend_columns(len: usize) -> &'static [&'static str] {
    if len == FRONTEND_COLUMNS_V2.len() {
        FRONTEND_COLUMNS_V2
    } else {
        FRONTEND_COLUMNS_V3_0
    }
}

fn compute_node_columns(len: usize) -> &'static [&'static str] {
    let _ = len;
    COMPUTE_NODE_COLUMNS_V3_0
}

/// Parses a `/api/show_proc?path=/backends` body.
pub(crate) fn parse_backends(body: &[u8]) -> Result<Vec<Backend>, String> {
    parse_rows(body, backend_columns, |row| {
        Ok(Backend {
            backend_id: row.required("BackendId", "an id", parse_u64)?,
            ip: row.required("IP", "a host", optional_text)?,
            heartbeat_port: row.optional("HeartbeatPort", parse_port),
            be_port: row.optional("BePort", parse_port),
            http_port: row.required("HttpPort", "a port", parse_port)?,
            brpc_port: row.optional("BrpcPort", parse_port),
            last_start_time: row.opt_text("LastStartTime"),
            last_heartbeat: row.opt_text("LastHeartbeat"),
            alive: row.required("Alive", "true or false", parse_bool)?,
            system_decommissioned: row.flag("SystemDecommissioned"),
            cluster_decommissioned: row.flag("ClusterDecommissioned"),
            tablet_num: row.optional("TabletNum", parse_u64),
            data_used_capacity_bytes: row.optional("DataUsedCapacity", parse_capacity),
            avail_capacity_bytes: row.optional("AvailCapacity", parse_capacity),
            total_capacity_bytes: row.optional("TotalCapacity", parse_capacity),
            used_pct: row.optional("UsedPct", parse_pct),
            max_disk_used_pct: row.optional("MaxDiskUsedPct", parse_pct),
            err_msg: row.plain_text("ErrMsg"),
            version: row.opt_text("Version"),
            status_last_report_tablets_time: row
                .text("Status")
                .and_then(|s| status_last_report_tablets_time(&s)),
            data_total_capacity_bytes: row.optional("DataTotalCapacity", parse_capacity),
            data_used_pct: row.optional("DataUsedPct", parse_pct),
            cpu_cores: row.optional("CpuCores", |t| t.trim().parse().ok()),
            mem_limit_bytes: row.optional("MemLimit", parse_capacity),
            num_running_queries: row.optional("NumRunningQueries", parse_u64),
            mem_used_pct: row.optional("MemUsedPct", parse_pct),
            cpu_used_pct: row.optional("CpuUsedPct", parse_pct),
            data_cache_metrics: row.opt_text("DataCacheMetrics"),
            location: row.opt_text("Location"),
            status_code: row.opt_text("StatusCode"),
            starlet_port: row.optional("StarletPort", parse_port),
            worker_id: row.optional("WorkerId", parse_u64),
            warehouse_name: row.opt_text("WarehouseName"),
        })
    })
}

fn parse_role(text: &str) -> Option<FrontendRole> {
    let text = text.trim();
    Some(
        if text.eq_ignore_ascii_case("leader") || text.eq_ignore_ascii_case("master") {
            FrontendRole::Leader
        } else if text.eq_ignore_ascii_case("follower") {
            FrontendRole::Follower
        } else if text.eq_ignore_ascii_case("observer") {
            FrontendRole::Observer
        } else if text.is_empty() {
            return None;
        } else {
            FrontendRole::Unknown
        },
    )
}

/// Parses a `/api/show_proc?path=/frontends` body.
pub(crate) fn parse_frontends(body: &[u8]) -> Result<Vec<Frontend>, String> {
    parse_rows(body, frontend_columns, |row| {
        let mut role = row.required("Role", "a role", parse_role)?;
        // 2.x: the leader is a FOLLOWER with IsMaster=true.
        if row.flag("IsMaster") {
            role = FrontendRole::Leader;
        }
        Ok(Frontend {
            id: row.optional("Id", parse_u64),
            name: row.plain_text("Name"),
            ip: row.required("IP", "a host", optional_text)?,
            edit_log_port: row.optional("EditLogPort", parse_port),
            http_port: row.required("HttpPort", "a port", parse_port)?,
            query_port: row.optional("QueryPort", parse_port),
            rpc_port: row.optional("RpcPort", parse_port),
            role,
            cluster_id: row.optional("ClusterId", parse_i64),
            join: row.optional("Join", parse_bool),
            alive: row.required("Alive", "true or false", parse_bool)?,
            replayed_journal_id: row.optional("ReplayedJournalId", parse_u64),
            last_heartbeat: row.opt_text("LastHeartbeat"),
            is_helper: row.optional("IsHelper", parse_bool),
            err_msg: row.plain_text("ErrMsg"),
            start_time: row.opt_text("StartTime"),
            version: row.opt_text("Version"),
        })
    })
}

/// Parses a `/api/show_proc?path=/compute_nodes` body.
pub(crate) fn parse_compute_nodes(body: &[u8]) -> Result<Vec<ComputeNode>, String> {
    parse_rows(body, compute_node_columns, |row| {
        Ok(ComputeNode {
            compute_node_id: row.required("ComputeNodeId", "an id", parse_u64)?,
            ip: row.required("IP", "a host", optional_text)?,
            heartbeat_port: row.optional("HeartbeatPort", parse_port),
            be_port: row.optional("BePort", parse_port),
            http_port: row.required("HttpPort", "a port", parse_port)?,
            brpc_port: row.optional("BrpcPort", parse_port),
            last_start_time: row.opt_text("LastStartTime"),
            last_heartbeat: row.opt_text("LastHeartbeat"),
            alive: row.required("Alive", "true or false", parse_bool)?,
            system_decommissioned: row.flag("SystemDecommissioned"),
            cluster_decommissioned: row.flag("ClusterDecommissioned"),
            err_msg: row.plain_text("ErrMsg"),
            version: row.opt_text("Version"),
            cpu_cores: row.optional("CpuCores", |t| t.trim().parse().ok()),
            mem_limit_bytes: row.optional("MemLimit", parse_capacity),
            num_running_queries: row.optional("NumRunningQueries", parse_u64),
            mem_used_pct: row.optional("MemUsedPct", parse_pct),
            cpu_used_pct: row.optional("CpuUsedPct", parse_pct),
            has_storage_path: row.optional("HasStoragePath", parse_bool),
            data_cache_metrics: row.opt_text("DataCacheMetrics"),
            location: row.opt_text("Location"),
            status_code: row.opt_text("StatusCode"),
            starlet_port: row.optional("StarletPort", parse_port),
            worker_id: row.optional("WorkerId", parse_u64),
            warehouse_name: row.opt_text("WarehouseName"),
            tablet_num: row.optional("TabletNum", parse_u64),
        })
    })
}

/// A JSON object body, or a description of what it is instead.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    match parse_json(body)? {
        Value::Object(object) => Ok(object),
        other => Err(format!(
            "expected a JSON object, got {}",
            describe_json(&other)
        )),
    }
}

/// A field holding an unsigned integer, as a JSON number or a decimal string.
fn u64_field(object: &Map<String, Value>, key: &str) -> Result<u64, String> {
    let value = object
        .get(key)
        .ok_or_else(|| format!("field {key} is missing"))?;
    let parsed = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_u64(s),
        _ => None,
    };
    parsed.ok_or_else(|| format!("field {key}: expected an unsigned integer, got {value}"))
}

fn string_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Parses a `/api/show_runtime_info` body (all values strings).
pub(crate) fn parse_runtime_info(body: &[u8]) -> Result<RuntimeInfo, String> {
    let object = parse_object(body)?;
    Ok(RuntimeInfo {
        free_mem: u64_field(&object, "free_mem")?,
        total_mem: u64_field(&object, "total_mem")?,
        max_mem: u64_field(&object, "max_mem")?,
        thread_cnt: u64_field(&object, "thread_cnt")?,
    })
}

/// Parses an FE `/api/health` body.
///
/// A body with a non-`OK` status is returned as is (not an error): it is a valid answer.
pub(crate) fn parse_fe_health(body: &[u8]) -> Result<FeHealth, String> {
    let object = parse_health_object(body)?;
    let status = string_field(&object, "status").ok_or("field status is missing")?;
    let healthy = status.eq_ignore_ascii_case("ok");
    // A failed FE may leave the counts out; they are only required of a healthy answer.
    let count = |key| match u64_field(&object, key) {
        Err(_) if !healthy && !object.contains_key(key) => Ok(0),
        other => other,
    };
    Ok(FeHealth {
        online_backend_num: count("online_backend_num")?,
        total_backend_num: count("total_backend_num")?,
        status,
        msg: string_field(&object, "msg"),
    })
}

/// Parses a BE/CN `/api/health` body.
pub(crate) fn parse_be_health(body: &[u8]) -> Result<BeHealth, String> {
    let object = parse_health_object(body)?;
    Ok(BeHealth {
        status: string_field(&object, "status").ok_or("field status is missing")?,
        msg: string_field(&object, "msg"),
    })
}

/// Like [`parse_object`], but a `FAILED` status is data here, not a parse failure.
fn parse_health_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    let trimmed = body.trim_ascii();
    if trimmed.is_empty() {
        return Err("empty body".to_owned());
    }
    match serde_json::from_slice::<Value>(trimmed) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(format!(
            "expected a JSON object, got {}",
            describe_json(&other)
        )),
        Err(e) => Err(format!("invalid JSON ({e}): {:?}", excerpt(trimmed))),
    }
}

#[cfg(test)]
#[path = "show_proc_tests.rs"]
mod tests;
