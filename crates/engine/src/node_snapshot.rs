//! One [`NodeSnapshot`] per node of the cycle: the list row's figures, the scrape's outcome, and
//! what the FE and compute-node groups computed for it.

use rockscope_model::{FrontendRole, NodeKind, NodeSnapshot};
use time::OffsetDateTime;

use crate::compute::ComputeFigures;
use crate::disk::{backend_usage, fullest_path};
use crate::extract::BeMetrics;
use crate::jvm::{heap_max, heap_pct};
use crate::nodes::{Node, Row};
use crate::queries::FeQueries;
use crate::rates::{pct, to_i64};

/// What the groups computed for one node.
pub(crate) struct NodeFigures<'f> {
    pub fe: Option<&'f FeQueries>,
    pub compute: Option<&'f ComputeFigures>,
}

/// The node's snapshot.
pub(crate) fn node_snapshot(
    cluster_id: i64,
    collected_at: OffsetDateTime,
    n: &Node<'_>,
    figures: NodeFigures<'_>,
) -> NodeSnapshot {
    let c = figures.compute;
    let fe = n.fe.as_ref();
    let mut s = NodeSnapshot {
        cluster_id,
        collected_at,
        node_type: n.node.kind,
        node_id: if n.node.id.is_empty() {
            n.node.address()
        } else {
            n.node.id.clone()
        },
        host: n.node.host.clone(),
        http_port: n.node.http_port,
        alive: n.alive(),
        role: None,
        version: None,
        decommissioned: false,
        cpu_usage_pct: c.and_then(|c| c.cpu),
        process_cpu_usage_pct: c.and_then(|c| c.process_cpu),
        cpu_cores: None,
        memory_usage_pct: c.and_then(|c| c.mem_pct),
        memory_used_bytes: to_i64(c.and_then(|c| c.mem_used)),
        memory_limit_bytes: to_i64(c.and_then(|c| c.mem_limit)),
        disk_total_bytes: None,
        disk_used_bytes: None,
        disk_usage_pct: None,
        data_used_bytes: None,
        tablet_count: None,
        compaction_score: n.be.as_ref().and_then(BeMetrics::compaction_score),
        running_queries: None,
        jvm_heap_used: to_i64(fe.and_then(|m| m.heap_used)),
        jvm_heap_max: to_i64(fe.and_then(heap_max)),
        jvm_heap_usage_pct: fe.and_then(heap_pct),
        qps: figures.fe.and_then(|f| f.qps),
        query_latency_p99: figures.fe.and_then(|f| f.latency.p99),
        query_error_per_second: figures.fe.and_then(|f| f.error_per_second),
        query_error_per_second_15s: figures.fe.and_then(|f| f.error_per_second_15s),
        connections: to_i64(fe.and_then(|m| m.connections)),
        network_send_rate: c.and_then(|c| c.net_send),
        network_receive_rate: c.and_then(|c| c.net_recv),
        io_read_rate: c.and_then(|c| c.io_read),
        io_write_rate: c.and_then(|c| c.io_write),
        jvm_thread_count: to_i64(fe.and_then(|m| m.threads)),
        disk_io_util_pct: n.be.as_ref().and_then(|m| m.max_disk_io_util),
        fullest_disk_path: None,
        fullest_disk_path_usage_pct: None,
        max_tablet_rowset_num: None,
        scrape_ok: false,
        scrape_error: None,
        scrape_duration_ms: None,
        custom: std::collections::BTreeMap::new(),
    };
    scrape_outcome(&mut s, n);
    row_figures(&mut s, n);
    body_storage(&mut s, n);
    body_tablets_and_paths(&mut s, n);
    s
}

fn scrape_outcome(s: &mut NodeSnapshot, n: &Node<'_>) {
    let scrape = n.scrape.map(|s| &s.result);
    s.scrape_ok = matches!(scrape, Some(Ok(_)));
    s.scrape_error = match scrape {
        Some(Ok(_)) => None,
        Some(Err(e)) => Some(format!("{}: {}", e.code, e.message)),
        None => Some("not scraped".to_owned()),
    };
    s.scrape_duration_ms = match scrape {
        Some(Ok(m)) => Some(m.duration_ms as i64),
        _ => None,
    };
}

fn row_figures(s: &mut NodeSnapshot, n: &Node<'_>) {
    match n.row {
        Some(Row::Fe(f)) => {
            s.role = Some(role_name(f.role).to_owned());
            s.version.clone_from(&f.version);
        }
        Some(Row::Be(b)) => {
            let (used, usage) = backend_usage(b);
            s.version.clone_from(&b.version);
            s.decommissioned = b.is_decommissioned();
            s.cpu_cores = b.cpu_cores.map(i64::from);
            s.disk_total_bytes = b.total_capacity_bytes.map(|v| v as i64);
            s.disk_used_bytes = to_i64(used);
            s.disk_usage_pct = usage;
            s.data_used_bytes = b.data_used_capacity_bytes.map(|v| v as i64);
            s.tablet_count = b.tablet_num.map(|v| v as i64);
            s.running_queries = b.num_running_queries.map(|v| v as i64);
        }
        Some(Row::Cn(cn)) => {
            s.version.clone_from(&cn.version);
            s.decommissioned = cn.is_decommissioned();
            s.cpu_cores = cn.cpu_cores.map(i64::from);
            s.tablet_count = cn.tablet_num.map(|v| v as i64);
            s.running_queries = cn.num_running_queries.map(|v| v as i64);
        }
        None => {
            if n.fe.as_ref().is_some_and(|m| m.is_master) {
                s.role = Some("leader".to_owned());
            }
        }
    }
}

/// A BE's storage from its own body when the list has none.
fn body_storage(s: &mut NodeSnapshot, n: &Node<'_>) {
    let Some(m) = n.be.as_ref().filter(|_| n.node.kind == NodeKind::Be) else {
        return;
    };
    if s.disk_total_bytes.is_some() {
        return;
    }
    let used = m.disks_total.zip(m.disks_avail).map(|(t, a)| t - a);
    s.disk_total_bytes = to_i64(m.disks_total);
    s.disk_used_bytes = to_i64(used);
    s.disk_usage_pct = pct(used, m.disks_total);
    s.data_used_bytes = s.data_used_bytes.or(to_i64(m.disks_data_used));
}

/// A BE's fullest storage root and most-versioned tablet, from its body.
fn body_tablets_and_paths(s: &mut NodeSnapshot, n: &Node<'_>) {
    let Some(m) = n.be.as_ref().filter(|_| n.node.kind == NodeKind::Be) else {
        return;
    };
    if let Some((path, used)) = fullest_path(m) {
        s.fullest_disk_path = Some(path.to_owned());
        s.fullest_disk_path_usage_pct = Some(used);
    }
    s.max_tablet_rowset_num = to_i64(m.max_tablet_rowset_num);
}

fn role_name(role: FrontendRole) -> &'static str {
    match role {
        FrontendRole::Leader => "leader",
        FrontendRole::Follower => "follower",
        FrontendRole::Observer => "observer",
        _ => "unknown",
    }
}
