//! Storage and tablets from the leader's backends list (every backend, alive or not), and a
//! BE's fullest storage root from its own body.
//!
//! Per backend, used = `TotalCapacity − AvailCapacity`; the cluster percentage is Σ used / Σ total
//! × 100 (not a mean of percentages). A backend without capacities is left out of the sums.

use rockscope_model::{Backend, ComputeNode};

use crate::extract::BeMetrics;

use crate::rates::{max_opt, pct, sum_opt};

/// The cluster's storage figures, bytes and percentages.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DiskTotals {
    /// Σ `TotalCapacity`.
    pub total: Option<f64>,
    /// Σ (`TotalCapacity − AvailCapacity`).
    pub used: Option<f64>,
    /// Σ `AvailCapacity`.
    pub avail: Option<f64>,
    /// `used / total × 100`.
    pub usage_pct: Option<f64>,
    /// The fullest backend's used / total × 100.
    pub max_usage_pct: Option<f64>,
    /// The fullest storage root (`MaxDiskUsedPct`).
    pub max_root_pct: Option<f64>,
    /// Σ `DataUsedCapacity`.
    pub data_used: Option<f64>,
    /// Σ `TabletNum` over backends and compute nodes that report one.
    pub tablets: Option<f64>,
}

/// A backend's used bytes and usage %.
pub fn backend_usage(b: &Backend) -> (Option<f64>, Option<f64>) {
    let used = b.used_bytes().map(|u| u as f64);
    (used, pct(used, b.total_capacity_bytes.map(|t| t as f64)))
}

/// A BE's fullest storage root and its used % ((total − avail) / total × 100), from
/// `starrocks_be_disks_{total,avail}_capacity{path}`; roots without both or with no capacity
/// are skipped. Ties go to the first path in name order.
pub fn fullest_path(m: &BeMetrics) -> Option<(&str, f64)> {
    m.paths
        .iter()
        .filter_map(|(path, c)| {
            let used = pct(Some(c.total? - c.avail?), c.total)?;
            Some((path.as_str(), used))
        })
        .fold(None, |best: Option<(&str, f64)>, cur| match best {
            Some(b) if b.1 >= cur.1 => Some(b),
            _ => Some(cur),
        })
}

/// The storage figures of the backends (and tablets of the compute nodes).
pub fn disk_totals(backends: &[Backend], compute_nodes: &[ComputeNode]) -> DiskTotals {
    let both: Vec<(f64, f64)> = backends
        .iter()
        .filter_map(|b| {
            Some((
                b.total_capacity_bytes? as f64,
                b.avail_capacity_bytes? as f64,
            ))
        })
        .collect();
    let total = sum_opt(both.iter().map(|b| Some(b.0)));
    let avail = sum_opt(both.iter().map(|b| Some(b.1)));
    let used = sum_opt(both.iter().map(|b| Some((b.0 - b.1).max(0.0))));
    let tablets = sum_opt(
        backends
            .iter()
            .map(|b| b.tablet_num)
            .chain(compute_nodes.iter().map(|c| c.tablet_num))
            .map(|t| t.map(|t| t as f64)),
    );
    DiskTotals {
        total,
        used,
        avail,
        usage_pct: pct(used, total),
        max_usage_pct: max_opt(backends.iter().map(|b| backend_usage(b).1)),
        max_root_pct: max_opt(backends.iter().map(|b| b.max_disk_used_pct)),
        data_used: sum_opt(
            backends
                .iter()
                .map(|b| b.data_used_capacity_bytes.map(|d| d as f64)),
        ),
        tablets,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A backend row with the given capacities (everything else empty).
    pub(crate) fn backend(id: u64, total: Option<u64>, avail: Option<u64>) -> Backend {
        Backend {
            backend_id: id,
            ip: format!("10.0.0.{id}"),
            heartbeat_port: Some(9050),
            be_port: Some(9060),
            http_port: 8040,
            brpc_port: Some(8060),
            last_start_time: None,
            last_heartbeat: None,
            alive: true,
            system_decommissioned: false,
            cluster_decommissioned: false,
            tablet_num: Some(100),
            data_used_capacity_bytes: Some(10),
            avail_capacity_bytes: avail,
            total_capacity_bytes: total,
            used_pct: None,
            max_disk_used_pct: Some(50.0),
            err_msg: String::new(),
            version: None,
            status_last_report_tablets_time: None,
            data_total_capacity_bytes: None,
            data_used_pct: None,
            cpu_cores: None,
            mem_limit_bytes: None,
            num_running_queries: None,
            mem_used_pct: None,
            cpu_used_pct: None,
            data_cache_metrics: None,
            location: None,
            status_code: None,
            starlet_port: None,
            worker_id: None,
            warehouse_name: None,
        }
    }

    #[test]
    fn sums_over_backends() {
        let mut dead = backend(3, Some(1000), Some(100));
        dead.alive = false;
        dead.max_disk_used_pct = Some(95.0);
        let backends = [
            backend(1, Some(1000), Some(750)),
            backend(2, Some(3000), Some(1500)),
            dead,
            backend(4, None, None),
        ];
        let d = disk_totals(&backends, &[]);
        assert_eq!(d.total, Some(5000.0));
        assert_eq!(d.avail, Some(2350.0));
        // 250 + 1500 + 900
        assert_eq!(d.used, Some(2650.0));
        assert_eq!(d.usage_pct, Some(53.0));
        assert_eq!(d.max_usage_pct, Some(90.0));
        assert_eq!(d.max_root_pct, Some(95.0));
        assert_eq!(d.data_used, Some(40.0));
        assert_eq!(d.tablets, Some(400.0));
    }

    #[test]
    fn fullest_path_of_a_body() {
        use crate::extract::PathCapacity;
        let mut m = BeMetrics::default();
        assert_eq!(fullest_path(&m), None);
        let cap = |total, avail| PathCapacity {
            total: Some(total),
            avail: Some(avail),
        };
        m.paths.insert("/data1".into(), cap(1000.0, 400.0));
        m.paths.insert("/data2".into(), cap(2000.0, 100.0));
        m.paths.insert("/data3".into(), cap(0.0, 0.0));
        m.paths.insert(
            "/data4".into(),
            PathCapacity {
                total: Some(10.0),
                avail: None,
            },
        );
        assert_eq!(fullest_path(&m), Some(("/data2", 95.0)));
        m.paths.insert("/data0".into(), cap(100.0, 5.0));
        assert_eq!(
            fullest_path(&m),
            Some(("/data0", 95.0)),
            "ties: first by name"
        );
    }

    #[test]
    fn nothing_known() {
        let d = disk_totals(&[backend(1, None, Some(5))], &[]);
        assert_eq!(d.total, None);
        assert_eq!(d.used, None);
        assert_eq!(d.usage_pct, None);
        assert_eq!(disk_totals(&[], &[]), DiskTotals::default());
    }
}
