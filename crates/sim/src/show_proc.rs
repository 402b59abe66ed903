//! FE `GET /api/show_proc?path=/backends|/frontends|/compute_nodes` and the small JSON APIs
//! (`/api/health`, `/api/show_runtime_info`).
//!
//! `show_proc` is raw JSON without an envelope: ≤3.0 an array of arrays of strings (no column
//! names), 3.1+ an array of objects keyed by column title with every value a string. Value
//! formats follow StarRocks' `DebugUtil` (`"783.211 GB"`, `"0.000 B"`, `"17.27 %"`, `"6.207GB"`).

use std::fmt::Write as _;

use time::OffsetDateTime;
use time::macros::format_description;

use crate::Version;
use crate::model::{NS, step_noise};
use crate::state::{ClusterState, NodeState};
use crate::values;

/// A table: column titles and rows of strings.
struct Table {
    cols: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

/// `DebugUtil.getByteUint` + `"%.3f %s"`: `13.255 KB`, `0.000 B`, `1.968 TB`.
pub(crate) fn capacity(v: i64) -> String {
    let v = v.max(0) as f64;
    const K: f64 = 1024.0;
    let (x, unit) = if v > K.powi(5) {
        (v / K.powi(5), "PB")
    } else if v > K.powi(4) {
        (v / K.powi(4), "TB")
    } else if v > K.powi(3) {
        (v / K.powi(3), "GB")
    } else if v > K.powi(2) {
        (v / K.powi(2), "MB")
    } else if v > K {
        (v / K, "KB")
    } else {
        (v, "B")
    };
    format!("{x:.3} {unit}")
}

/// `DebugUtil.getPrettyStringBytes`: `6.207GB` (no space).
pub(crate) fn pretty_bytes(v: i64) -> String {
    let c = capacity(v);
    c.replacen(' ', "", 1)
}

/// Two decimals and ` %`.
pub(crate) fn pct2(v: f64) -> String {
    format!("{:.2} %", v.clamp(0.0, 100.0))
}

/// `yyyy-MM-dd HH:mm:ss` (UTC), or `NULL` for instants at/before the epoch.
pub(crate) fn datetime(ns: i64) -> String {
    if ns <= 0 {
        return "NULL".into();
    }
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns))
        .ok()
        .and_then(|d| d.format(fmt).ok())
        .unwrap_or_else(|| "NULL".into())
}

fn b(v: bool) -> String {
    if v { "true" } else { "false" }.into()
}

/// Last heartbeat the FE recorded: every 5 s while alive, frozen when dead.
fn last_heartbeat(n: &NodeState, t: i64) -> i64 {
    let d = n.dyn_state();
    if d.dead || d.fault == crate::Fault::Down {
        return d.dead_since_ns.min(t);
    }
    let step = 5 * NS;
    t.div_euclid(step) * step - (n.seed % 4_000) as i64 * 1_000_000
}

fn err_msg(n: &NodeState) -> String {
    if n.alive() {
        String::new()
    } else {
        format!(
            "java.net.ConnectException: Connection refused, host: {}, port: {}",
            n.host, n.aux.a
        )
    }
}

fn backends(cl: &ClusterState, t: i64) -> Table {
    let v = cl.spec.version;
    let mut cols = vec![
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
    ];
    if v != Version::V3_0 {
        cols.push("MemLimit");
    }
    cols.extend(["NumRunningQueries", "MemUsedPct", "CpuUsedPct"]);
    if v != Version::V3_0 {
        cols.extend(["DataCacheMetrics", "Location"]);
        if cl.shared_data {
            cols.extend(["StarletPort", "WorkerId", "WarehouseName"]);
        }
    }
    if v == Version::V4_0 {
        cols.push("StatusCode");
    }
    let mut nodes: Vec<&NodeState> = cl.backends().collect();
    nodes.sort_by(|a, b| (&a.host, a.aux.b).cmp(&(&b.host, b.aux.b)));
    let rows = nodes
        .into_iter()
        .map(|n| {
            let m = n.be();
            let alive = n.alive();
            let (total, used, avail) = values::store_sum(n, t);
            let max_used_pct = (0..m.paths.len())
                .map(|i| {
                    let (tt, _, a) = values::store(n, i, t);
                    100.0 * (tt - a) as f64 / tt.max(1) as f64
                })
                .fold(0.0, f64::max);
            let report = t.div_euclid(60 * NS) * 60 * NS;
            let mut row = vec![
                m.backend_id.to_string(),
                n.host.clone(),
                n.aux.a.to_string(),
                n.aux.b.to_string(),
                n.addr.port().to_string(),
                n.aux.c.to_string(),
                datetime(n.start_ns()),
                datetime(last_heartbeat(n, t)),
                b(alive),
                b(false),
                b(false),
                values::tablets(n, t).to_string(),
                capacity(used),
                capacity(avail),
                capacity(total),
                pct2(100.0 * (total - avail) as f64 / total.max(1) as f64),
                pct2(max_used_pct),
                err_msg(n),
                if cl.newer_build(n) {
                    cl.spec.version.newer_build()
                } else {
                    cl.spec.version.build()
                }
                .to_string(),
                format!(
                    "{{\"lastSuccessReportTabletsTime\":\"{}\"}}",
                    datetime(report.min(last_heartbeat(n, t)))
                ),
                capacity(used + avail),
                pct2(100.0 * used as f64 / (used + avail).max(1) as f64),
                m.cores.to_string(),
            ];
            if v != Version::V3_0 {
                row.push(pretty_bytes(m.mem_limit));
            }
            let running = if alive {
                (step_noise(n.seed, t, 5 * NS) * 8.0 * m.activity.curve.factor(t)) as i64
            } else {
                0
            };
            row.push(running.to_string());
            row.push(pct2(
                100.0 * values::process_mem(n, t) as f64 / m.mem_limit as f64,
            ));
            row.push(format!(
                "{:.1} %",
                if alive {
                    values::cpu_busy_now(n, t)
                } else {
                    0.0
                }
            ));
            if v != Version::V3_0 {
                row.push(if cl.shared_data {
                    "Status: Normal, DiskUsage: 0B/0B, MemUsage: 0B/0B".into()
                } else {
                    "N/A".into()
                });
                row.push(String::new());
                if cl.shared_data {
                    row.push(n.aux.d.to_string());
                    row.push((m.backend_id - 10_000).to_string());
                    row.push("default_warehouse".into());
                }
            }
            if v == Version::V4_0 {
                row.push(if alive { "OK" } else { "DISCONNECTED" }.into());
            }
            row
        })
        .collect();
    Table { cols, rows }
}

fn compute_nodes(cl: &ClusterState, t: i64) -> Table {
    let v = cl.spec.version;
    let mut cols = vec![
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
    ];
    if v != Version::V3_0 {
        cols.push("WarehouseName");
    }
    cols.push("TabletNum");
    if v == Version::V4_0 {
        cols.push("StatusCode");
    }
    let mut nodes: Vec<&NodeState> = cl.compute_nodes().collect();
    nodes.sort_by(|a, b| (&a.host, a.aux.b).cmp(&(&b.host, b.aux.b)));
    let rows = nodes
        .into_iter()
        .map(|n| {
            let m = n.be();
            let alive = n.alive();
            let mut row = vec![
                m.backend_id.to_string(),
                n.host.clone(),
                n.aux.a.to_string(),
                n.aux.b.to_string(),
                n.addr.port().to_string(),
                n.aux.c.to_string(),
                datetime(n.start_ns()),
                datetime(last_heartbeat(n, t)),
                b(alive),
                b(false),
                b(false),
                err_msg(n),
                v.build().to_string(),
                m.cores.to_string(),
                (if alive {
                    (step_noise(n.seed, t, 5 * NS) * 6.0) as i64
                } else {
                    0
                })
                .to_string(),
                pct2(100.0 * values::process_mem(n, t) as f64 / m.mem_limit as f64),
                format!(
                    "{:.1} %",
                    if alive {
                        values::cpu_busy_now(n, t)
                    } else {
                        0.0
                    }
                ),
                b(true),
                n.aux.d.to_string(),
                (m.backend_id - 20_000 + 100).to_string(),
            ];
            if v != Version::V3_0 {
                row.push("default_warehouse".into());
            }
            row.push(((step_noise(n.seed, t, 600 * NS) * 3_000.0) as i64 + 500).to_string());
            if v == Version::V4_0 {
                row.push(if alive { "OK" } else { "DISCONNECTED" }.into());
            }
            row
        })
        .collect();
    Table { cols, rows }
}

fn frontends(cl: &ClusterState, t: i64) -> Table {
    let v = cl.spec.version;
    let mut cols = Vec::new();
    if v == Version::V4_0 {
        cols.push("Id");
    }
    cols.extend([
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
    ]);
    let leader = cl.leader_at(t);
    let rows = cl
        .fes()
        .map(|n| {
            let alive = n.alive();
            let journal = if t >= n.start_ns() {
                values::fe_counters(cl, n, t).journal
            } else {
                0
            };
            let role = if n.pos == leader {
                "LEADER"
            } else if n.observer {
                "OBSERVER"
            } else {
                "FOLLOWER"
            };
            let mut row = Vec::with_capacity(17);
            if v == Version::V4_0 {
                row.push((n.id.index + 1).to_string());
            }
            // The name embeds the edit-log port and the time the FE was first added.
            let added_ms = n.boot_ns / 1_000_000;
            row.extend([
                format!("{}_{}_{}", n.host, n.aux.a, added_ms),
                n.host.clone(),
                n.aux.a.to_string(),
                n.addr.port().to_string(),
                n.aux.b.to_string(),
                n.aux.c.to_string(),
                role.to_string(),
                cl.model.cluster_id.to_string(),
                b(true),
                b(alive),
                (1_000_000 + journal * 3).to_string(),
                datetime(last_heartbeat(n, t)),
                b(n.id.index == 0),
                err_msg(n),
                if alive {
                    datetime(n.start_ns())
                } else {
                    "NULL".into()
                },
                if alive {
                    v.build().to_string()
                } else {
                    "NULL".into()
                },
            ]);
            row
        })
        .collect();
    Table { cols, rows }
}

fn json_str(out: &mut String, s: &str, html_safe: bool) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Gson (≤3.0) escapes HTML-sensitive characters.
            '<' | '>' | '&' | '=' | '\'' if html_safe => {
                let _ = write!(out, "\\u{:04x}", ch as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn to_json(t: &Table, objects: bool) -> String {
    let mut out = String::with_capacity(256 + t.rows.len() * 900);
    out.push('[');
    for (ri, row) in t.rows.iter().enumerate() {
        if ri > 0 {
            out.push(',');
        }
        out.push(if objects { '{' } else { '[' });
        for (ci, val) in row.iter().enumerate() {
            if ci > 0 {
                out.push(',');
            }
            if objects {
                json_str(&mut out, t.cols[ci], false);
                out.push(':');
            }
            json_str(&mut out, val, !objects);
        }
        out.push(if objects { '}' } else { ']' });
    }
    out.push(']');
    out
}

/// The body of `show_proc` for `path` (None for an unknown path: StarRocks answers `[]`).
pub(crate) fn render(cl: &ClusterState, path: &str, t: i64) -> Option<String> {
    let table = match path.trim_end_matches('/') {
        "/backends" => backends(cl, t),
        "/frontends" => frontends(cl, t),
        "/compute_nodes" => compute_nodes(cl, t),
        _ => return None,
    };
    Some(to_json(&table, cl.spec.version.proc_objects()))
}

/// FE `/api/health`: backends only (CNs are not counted).
pub(crate) fn fe_health(cl: &ClusterState) -> String {
    let total = cl.backends().count();
    let online = cl.backends().filter(|n| n.alive()).count();
    format!("{{\"online_backend_num\":{online},\"total_backend_num\":{total},\"status\":\"OK\"}}")
}

/// BE/CN `/api/health`, byte for byte.
pub(crate) const BE_HEALTH: &str = "{\"status\": \"OK\",\"msg\": \"To Be Added\"}";

/// FE `/api/show_runtime_info`: JVM `Runtime` numbers, all as strings.
pub(crate) fn runtime_info(n: &NodeState, t: i64) -> String {
    let j = values::jvm(n, t);
    format!(
        "{{\"total_mem\":\"{}\",\"free_mem\":\"{}\",\"max_mem\":\"{}\",\"thread_cnt\":\"{}\"}}",
        j.heap_committed,
        (j.heap_committed - j.heap_used).max(0),
        n.fe().heap_max,
        values::fe_threads(n, t)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_formats() {
        assert_eq!(capacity(0), "0.000 B");
        assert_eq!(capacity(1), "1.000 B");
        assert_eq!(capacity(13_573), "13.255 KB");
        assert_eq!(
            capacity((783.211 * (1u64 << 30) as f64) as i64),
            "783.211 GB"
        );
        assert_eq!(capacity(1_099_511_627_777), "1.000 TB");
        assert_eq!(pretty_bytes(6_664_693_760), "6.207GB");
        assert_eq!(pct2(17.2719), "17.27 %");
        assert_eq!(datetime(0), "NULL");
        assert_eq!(datetime(1_700_000_000 * NS), "2023-11-14 22:13:20");
        let mut s = String::new();
        json_str(&mut s, "a<b\"c", true);
        assert_eq!(s, "\"a\\u003cb\\\"c\"");
    }
}
