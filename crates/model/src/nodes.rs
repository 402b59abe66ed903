//! The typed rows of StarRocks' node lists and the small FE/BE status documents.
//!
//! The client (`rockscope-starrocks`) fills these from `GET /api/show_proc?path=/backends`,
//! `/frontends`, `/compute_nodes`, `GET /api/show_runtime_info` and `GET /api/health`. StarRocks
//! sends every value as text (`"783.211 GB"`, `"17.27 %"`, `"NULL"`); here they are typed:
//!
//! * capacities are bytes (`Option<u64>`), converted with StarRocks' binary units (1 KB = 1024 B);
//! * percentages are `Option<f64>` on a 0–100 scale, as StarRocks prints them;
//! * times (`LastStartTime`, `LastHeartbeat`, `StartTime`, …) stay the FE's local-time text
//!   (`yyyy-MM-dd HH:mm:ss`, no zone), `None` where StarRocks says `NULL`;
//! * a column the answering version does not have is `None` (or `false` for the
//!   decommission flags, `String::new()` for `ErrMsg`).
//!
//! Plain data: the only methods are trivial accessors.

use serde::{Deserialize, Serialize};

/// One row of `SHOW PROC '/backends'` (a BE of a shared-nothing or shared-data cluster).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backend {
    /// `BackendId`.
    pub backend_id: u64,
    /// `IP`: the address (or FQDN) the BE is registered with.
    pub ip: String,
    /// `HeartbeatPort` (default 9050).
    pub heartbeat_port: Option<u16>,
    /// `BePort`, the thrift port (default 9060).
    pub be_port: Option<u16>,
    /// `HttpPort` (default 8040): where `/metrics` and `/api/health` are served.
    pub http_port: u16,
    /// `BrpcPort` (default 8060).
    pub brpc_port: Option<u16>,
    /// `LastStartTime`, FE-local time text; `None` for `NULL`.
    pub last_start_time: Option<String>,
    /// `LastHeartbeat`, FE-local time text; `None` for `NULL`.
    pub last_heartbeat: Option<String>,
    /// `Alive`: the leader FE's heartbeat verdict.
    pub alive: bool,
    /// `SystemDecommissioned` (`false` when the column is absent).
    pub system_decommissioned: bool,
    /// `ClusterDecommissioned` (`false` when the column is absent).
    pub cluster_decommissioned: bool,
    /// `TabletNum`.
    pub tablet_num: Option<u64>,
    /// `DataUsedCapacity` in bytes: space taken by StarRocks data.
    pub data_used_capacity_bytes: Option<u64>,
    /// `AvailCapacity` in bytes: free space left on the storage roots.
    pub avail_capacity_bytes: Option<u64>,
    /// `TotalCapacity` in bytes: size of the storage roots' file systems.
    pub total_capacity_bytes: Option<u64>,
    /// `UsedPct` (0–100): (total − avail) / total.
    pub used_pct: Option<f64>,
    /// `MaxDiskUsedPct` (0–100): the fullest storage root.
    pub max_disk_used_pct: Option<f64>,
    /// `ErrMsg`: last heartbeat error; empty when none.
    pub err_msg: String,
    /// `Version`, e.g. `3.3.10-227b0b3`; `None` when empty or `NULL`.
    pub version: Option<String>,
    /// `lastSuccessReportTabletsTime` from the JSON inside the `Status` column; `None` for `N/A`
    /// or when the column is absent.
    pub status_last_report_tablets_time: Option<String>,
    /// `DataTotalCapacity` in bytes: data used + available.
    pub data_total_capacity_bytes: Option<u64>,
    /// `DataUsedPct` (0–100).
    pub data_used_pct: Option<f64>,
    /// `CpuCores`.
    pub cpu_cores: Option<u32>,
    /// `MemLimit` in bytes (3.3.x+).
    pub mem_limit_bytes: Option<u64>,
    /// `NumRunningQueries` (3.0+).
    pub num_running_queries: Option<u64>,
    /// `MemUsedPct` (0–100, 3.0+).
    pub mem_used_pct: Option<f64>,
    /// `CpuUsedPct` (0–100, 3.0+).
    pub cpu_used_pct: Option<f64>,
    /// `DataCacheMetrics` text as sent (`Status: Normal, DiskUsage: 0B/0B, MemUsage: 0B/0B`,
    /// `Status: Disabled`, `N/A`), 3.3+.
    pub data_cache_metrics: Option<String>,
    /// `Location` labels text (3.2.8+); `None` when empty.
    pub location: Option<String>,
    /// `StatusCode` (4.0+), e.g. `OK`.
    pub status_code: Option<String>,
    /// `StarletPort` (shared-data only).
    pub starlet_port: Option<u16>,
    /// `WorkerId` (shared-data only).
    pub worker_id: Option<u64>,
    /// `WarehouseName` (shared-data only, 3.3+).
    pub warehouse_name: Option<String>,
}

impl Backend {
    /// Bytes used on the storage roots' file systems: `TotalCapacity − AvailCapacity`
    /// (saturating), when both are known.
    pub fn used_bytes(&self) -> Option<u64> {
        Some(
            self.total_capacity_bytes?
                .saturating_sub(self.avail_capacity_bytes?),
        )
    }

    /// Whether either decommission flag is set.
    pub fn is_decommissioned(&self) -> bool {
        self.system_decommissioned || self.cluster_decommissioned
    }
}

/// The role of a frontend in the FE quorum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FrontendRole {
    /// The leader (`LEADER`; 2.x: `FOLLOWER` with `IsMaster=true`).
    Leader,
    /// An electable follower (`FOLLOWER`).
    Follower,
    /// A non-voting observer (`OBSERVER`).
    Observer,
    /// A role text this version of rockscope does not know.
    Unknown,
}

/// One row of `SHOW PROC '/frontends'`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frontend {
    /// `Id` (4.x only).
    pub id: Option<u64>,
    /// `Name`, like `<host>_<editlogport>_<epoch-ms>`; empty when absent.
    pub name: String,
    /// `IP`: the address (or FQDN) the FE is registered with.
    pub ip: String,
    /// `EditLogPort` (default 9010).
    pub edit_log_port: Option<u16>,
    /// `HttpPort` (default 8030). StarRocks reports the answering FE's own port for every row.
    pub http_port: u16,
    /// `QueryPort`, the MySQL protocol port (default 9030).
    pub query_port: Option<u16>,
    /// `RpcPort` (default 9020).
    pub rpc_port: Option<u16>,
    /// `Role`.
    pub role: FrontendRole,
    /// `ClusterId`.
    pub cluster_id: Option<i64>,
    /// `Join`: whether the FE has joined the quorum.
    pub join: Option<bool>,
    /// `Alive`.
    pub alive: bool,
    /// `ReplayedJournalId`.
    pub replayed_journal_id: Option<u64>,
    /// `LastHeartbeat`, FE-local time text; `None` for `NULL`.
    pub last_heartbeat: Option<String>,
    /// `IsHelper`.
    pub is_helper: Option<bool>,
    /// `ErrMsg`; empty when none.
    pub err_msg: String,
    /// `StartTime`, FE-local time text; `None` for `NULL`.
    pub start_time: Option<String>,
    /// `Version`; `None` for `NULL`.
    pub version: Option<String>,
}

impl Frontend {
    /// Whether this FE is the leader.
    pub fn is_leader(&self) -> bool {
        self.role == FrontendRole::Leader
    }
}

/// One row of `SHOW PROC '/compute_nodes'` (a CN: stateless compute, no local tablets in
/// shared-nothing mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComputeNode {
    /// `ComputeNodeId`.
    pub compute_node_id: u64,
    /// `IP`.
    pub ip: String,
    /// `HeartbeatPort`.
    pub heartbeat_port: Option<u16>,
    /// `BePort`.
    pub be_port: Option<u16>,
    /// `HttpPort`: where `/metrics` and `/api/health` are served.
    pub http_port: u16,
    /// `BrpcPort`.
    pub brpc_port: Option<u16>,
    /// `LastStartTime`, FE-local time text; `None` for `NULL`.
    pub last_start_time: Option<String>,
    /// `LastHeartbeat`, FE-local time text; `None` for `NULL`.
    pub last_heartbeat: Option<String>,
    /// `Alive`.
    pub alive: bool,
    /// `SystemDecommissioned` (`false` when the column is absent).
    pub system_decommissioned: bool,
    /// `ClusterDecommissioned` (`false` when the column is absent).
    pub cluster_decommissioned: bool,
    /// `ErrMsg`; empty when none.
    pub err_msg: String,
    /// `Version`; `None` when empty or `NULL`.
    pub version: Option<String>,
    /// `CpuCores`.
    pub cpu_cores: Option<u32>,
    /// `MemLimit` in bytes (newer versions).
    pub mem_limit_bytes: Option<u64>,
    /// `NumRunningQueries`.
    pub num_running_queries: Option<u64>,
    /// `MemUsedPct` (0–100).
    pub mem_used_pct: Option<f64>,
    /// `CpuUsedPct` (0–100).
    pub cpu_used_pct: Option<f64>,
    /// `HasStoragePath`.
    pub has_storage_path: Option<bool>,
    /// `DataCacheMetrics` text as sent (newer versions).
    pub data_cache_metrics: Option<String>,
    /// `Location` labels text (newer versions); `None` when empty.
    pub location: Option<String>,
    /// `StatusCode` (4.0+).
    pub status_code: Option<String>,
    /// `StarletPort` (shared-data only).
    pub starlet_port: Option<u16>,
    /// `WorkerId` (shared-data only).
    pub worker_id: Option<u64>,
    /// `WarehouseName` (shared-data only).
    pub warehouse_name: Option<String>,
    /// `TabletNum` (shared-data only).
    pub tablet_num: Option<u64>,
}

impl ComputeNode {
    /// Whether either decommission flag is set.
    pub fn is_decommissioned(&self) -> bool {
        self.system_decommissioned || self.cluster_decommissioned
    }
}

/// The FE JVM's runtime figures from `GET /api/show_runtime_info` (sent as strings, parsed here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// `free_mem`: free bytes of the current JVM heap (`Runtime.freeMemory()`).
    pub free_mem: u64,
    /// `total_mem`: bytes of the current JVM heap (`Runtime.totalMemory()`).
    pub total_mem: u64,
    /// `max_mem`: the JVM's heap limit in bytes (`Runtime.maxMemory()`).
    pub max_mem: u64,
    /// `thread_cnt`: active threads of the FE's root thread group.
    pub thread_cnt: u64,
}

impl RuntimeInfo {
    /// Heap bytes in use: `total_mem − free_mem` (saturating).
    pub fn used_mem(&self) -> u64 {
        self.total_mem.saturating_sub(self.free_mem)
    }
}

/// An FE's `GET /api/health` answer: `{"online_backend_num":N,"total_backend_num":M,"status":"OK"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeHealth {
    /// Backends the FE considers alive (compute nodes are not counted).
    pub online_backend_num: u64,
    /// Backends known to the FE (compute nodes are not counted).
    pub total_backend_num: u64,
    /// `status`, `OK` when healthy.
    pub status: String,
    /// `msg`, present only on failure.
    pub msg: Option<String>,
}

impl FeHealth {
    /// Whether `status` is `OK` (case-insensitive).
    pub fn is_ok(&self) -> bool {
        self.status.eq_ignore_ascii_case("ok")
    }
}

/// A BE's or CN's `GET /api/health` answer: `{"status": "OK","msg": "To Be Added"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeHealth {
    /// `status`, `OK` when healthy.
    pub status: String,
    /// `msg` (`To Be Added` on current versions).
    pub msg: Option<String>,
}

impl BeHealth {
    /// Whether `status` is `OK` (case-insensitive).
    pub fn is_ok(&self) -> bool {
        self.status.eq_ignore_ascii_case("ok")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_helpers() {
        let info = RuntimeInfo {
            free_mem: 5,
            total_mem: 3,
            max_mem: 10,
            thread_cnt: 1,
        };
        assert_eq!(info.used_mem(), 0);
        let health = FeHealth {
            online_backend_num: 1,
            total_backend_num: 1,
            status: "ok".into(),
            msg: None,
        };
        assert!(health.is_ok());
        let be = BeHealth {
            status: "FAILED".into(),
            msg: None,
        };
        assert!(!be.is_ok());
    }
}
