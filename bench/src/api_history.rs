//! Synthetic but realistic cluster history for the API benchmark (`bench_data`): snapshots with a
//! daily QPS curve, load-following latency and CPU, slowly growing disks, and one node snapshot
//! per node, built from templates (every field `null`/0) and filled field by field.

use rockscope_model::{MetricsSnapshot, NodeKind, NodeSnapshot};
use rockscope_store::{ColumnKind, Store};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// A small deterministic pseudo-random generator (xorshift64*), so runs are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; 0 is mapped to a fixed non-zero state).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value in `0.0..1.0`.
    pub fn next_f64(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A value in `lo..hi`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }
}

/// A JSON object with every stored column of a snapshot table at its neutral value.
fn neutral_columns(columns: &[rockscope_store::Column]) -> Map<String, Value> {
    let mut m = Map::new();
    for c in columns {
        let v = match c.kind {
            ColumnKind::RequiredReal => json!(0.0),
            ColumnKind::RequiredInt => json!(0),
            ColumnKind::RequiredText => json!(""),
            ColumnKind::Bool => json!(false),
            _ => Value::Null,
        };
        m.insert(c.name.to_owned(), v);
    }
    m
}

/// A snapshot of cluster `cluster_id` at the Unix epoch with every optional field `None`.
pub fn metrics_template(cluster_id: i64) -> MetricsSnapshot {
    let mut m = neutral_columns(Store::metric_columns());
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("collected_at".into(), json!("1970-01-01T00:00:00Z"));
    m.insert("source_errors".into(), json!([]));
    serde_json::from_value(Value::Object(m))
        .expect("the store's metric columns describe MetricsSnapshot")
}

/// A node snapshot of cluster `cluster_id` at the Unix epoch with every optional field `None`.
pub fn node_template(cluster_id: i64, kind: NodeKind) -> NodeSnapshot {
    let mut m = neutral_columns(Store::node_columns());
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("collected_at".into(), json!("1970-01-01T00:00:00Z"));
    m.insert("node_type".into(), json!(kind.as_str()));
    serde_json::from_value(Value::Object(m))
        .expect("the store's node columns describe NodeSnapshot")
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// One simulated cluster: its fixed traits and its cumulative counters.
#[derive(Debug, Clone)]
pub struct SimCluster {
    /// The store's id of the cluster.
    pub cluster_id: i64,
    fe: usize,
    be: usize,
    base_qps: f64,
    base_latency: f64,
    disk_total: f64,
    disk_used: f64,
    disk_growth_per_sec: f64,
    heap_phase: f64,
    query_total: i64,
    query_error: i64,
    net_sent: i64,
    net_recv: i64,
    io_read: i64,
    io_write: i64,
    rng: Rng,
    snapshot: MetricsSnapshot,
    nodes: Vec<NodeSnapshot>,
}

impl SimCluster {
    /// A cluster with `nodes` nodes (up to 3 FEs, the rest BEs; at least one of each when
    /// `nodes >= 2`), its traits drawn from `seed`.
    pub fn new(cluster_id: i64, nodes: usize, seed: u64) -> SimCluster {
        let mut rng = Rng::new(seed);
        let fe = nodes.clamp(1, 3).min(nodes.saturating_sub(1).max(1));
        let be = nodes.saturating_sub(fe);
        let disk_total = be as f64 * rng.range(2.0, 8.0) * 1024.0 * GIB;
        let disk_used = disk_total * rng.range(0.25, 0.6);
        let mut node_list = Vec::with_capacity(nodes);
        for i in 0..nodes {
            let kind = if i < fe { NodeKind::Fe } else { NodeKind::Be };
            let mut n = node_template(cluster_id, kind);
            n.host = format!("10.{}.{}.{}", cluster_id / 250, cluster_id % 250, i + 1);
            n.alive = true;
            n.scrape_ok = true;
            n.version = Some("3.3.5-abc1234".into());
            if kind == NodeKind::Fe {
                n.node_id = format!("fe_{cluster_id}_{i}");
                n.http_port = 8030;
                n.role = Some(if i == 0 { "leader" } else { "follower" }.into());
                n.jvm_heap_max = Some(16 * 1024 * 1024 * 1024);
            } else {
                n.node_id = format!("{}", 10_000 + i);
                n.http_port = 8040;
                n.cpu_cores = Some(16);
                n.memory_limit_bytes = Some(64 * 1024 * 1024 * 1024);
                n.disk_total_bytes = Some((disk_total / be as f64) as i64);
            }
            node_list.push(n);
        }
        let mut s = metrics_template(cluster_id);
        s.frontend_total = Some(fe as i64);
        s.frontend_alive = Some(fe as i64);
        s.frontend_follower_count = Some(fe.saturating_sub(1) as i64);
        s.frontend_observer_count = Some(0);
        s.backend_total = Some(be as i64);
        s.backend_alive = Some(be as i64);
        s.backend_decommissioned = Some(0);
        s.compute_node_total = Some(0);
        s.compute_node_alive = Some(0);
        s.compute_node_decommissioned = Some(0);
        s.leader_name = Some(format!("fe_{cluster_id}_0"));
        s.leader_host = Some(format!("10.{}.{}.1", cluster_id / 250, cluster_id % 250));
        s.version = Some("3.3.5-abc1234".into());
        s.distinct_versions = Some(1);
        s.cpu_cores_total = Some(16 * be as i64);
        s.memory_limit_bytes = Some(64 * 1024 * 1024 * 1024 * be as i64);
        s.jvm_heap_total = Some(16 * 1024 * 1024 * 1024 * fe as i64);
        s.scrape_nodes_total = nodes as i64;
        s.scrape_nodes_ok = nodes as i64;
        s.scrape_fe_ok = fe as i64;
        s.scrape_be_ok = be as i64;
        SimCluster {
            cluster_id,
            fe,
            be,
            base_qps: rng.range(20.0, 2000.0),
            base_latency: rng.range(5.0, 60.0),
            disk_total,
            disk_used,
            disk_growth_per_sec: disk_total * rng.range(0.001, 0.01) / 86_400.0,
            heap_phase: rng.range(0.0, 1.0),
            query_total: 0,
            query_error: 0,
            net_sent: 0,
            net_recv: 0,
            io_read: 0,
            io_write: 0,
            rng,
            snapshot: s,
            nodes: node_list,
        }
    }

    /// Advance the cluster to `at` (`interval` seconds after the previous cycle) and return that
    /// cycle's snapshot and node snapshots.
    pub fn cycle(
        &mut self,
        at: OffsetDateTime,
        interval: f64,
    ) -> (&MetricsSnapshot, &[NodeSnapshot]) {
        let rng = &mut self.rng;
        let secs_of_day =
            f64::from(at.hour()) * 3600.0 + f64::from(at.minute()) * 60.0 + f64::from(at.second());
        // Daily curve: trough at 04:00 UTC, peak at 16:00, between 20% and 100% of the base.
        let day =
            0.6 - 0.4 * (std::f64::consts::TAU * (secs_of_day - 4.0 * 3600.0) / 86_400.0).cos();
        let load = (day * rng.range(0.9, 1.1)).clamp(0.05, 1.2);
        let qps = self.base_qps * load;
        let queries = (qps * interval) as i64;
        let errors = (queries as f64 * rng.range(0.0, 0.004)) as i64;
        self.query_total += queries;
        self.query_error += errors;
        let p50 = self.base_latency * (0.8 + 0.6 * load) * rng.range(0.95, 1.05);
        let cpu = (10.0 + 60.0 * load + rng.range(-3.0, 3.0)).clamp(0.0, 100.0);
        let mem = (45.0 + 20.0 * load + rng.range(-2.0, 2.0)).clamp(0.0, 100.0);
        self.disk_used = (self.disk_used
            + self.disk_growth_per_sec * interval * rng.range(0.5, 1.5))
        .min(self.disk_total * 0.98);
        let disk_pct = self.disk_used / self.disk_total * 100.0;
        // JVM heap: a sawtooth of about 20 minutes between 30% and 80%.
        let t = at.unix_timestamp() as f64;
        let heap = 30.0 + 50.0 * ((t / 1200.0 + self.heap_phase).fract());
        let send = qps * rng.range(20_000.0, 60_000.0);
        let recv = send * rng.range(0.6, 1.2);
        let read = qps * rng.range(50_000.0, 200_000.0);
        let write = self.disk_growth_per_sec * rng.range(2.0, 5.0) + qps * 1000.0;
        self.net_sent += (send * interval) as i64;
        self.net_recv += (recv * interval) as i64;
        self.io_read += (read * interval) as i64;
        self.io_write += (write * interval) as i64;

        let s = &mut self.snapshot;
        s.collected_at = at;
        s.qps = Some(qps);
        s.rps = Some(qps * rng.range(1.1, 1.4));
        s.query_latency_p50 = Some(p50);
        s.query_latency_p75 = Some(p50 * 1.6);
        s.query_latency_p90 = Some(p50 * 2.5);
        s.query_latency_p95 = Some(p50 * 3.2);
        s.query_latency_p99 = Some(p50 * rng.range(5.0, 8.0));
        s.query_latency_p999 = Some(p50 * rng.range(10.0, 20.0));
        s.query_latency_mean = Some(p50 * 1.4);
        s.query_total = Some(self.query_total);
        s.query_success = Some(self.query_total - self.query_error);
        s.query_error = Some(self.query_error);
        s.query_timeout = Some(self.query_error / 10);
        s.request_total = Some(self.query_total * 5 / 4);
        s.query_interval_total = Some(queries);
        s.query_interval_success = Some(queries - errors);
        s.query_interval_error = Some(errors);
        s.query_interval_timeout = Some(errors / 10);
        s.slow_query_interval = Some(queries / 1000);
        s.query_error_per_second = Some(errors as f64 / interval);
        s.query_error_rate = (queries > 0).then(|| errors as f64 / queries as f64 * 100.0);
        s.query_queue_pending = Some((load * 3.0) as i64);
        s.fe_connections = Some((qps / 5.0) as i64 + 10);
        // Little's law: queries in flight = rate × latency; each has one context, on one BE.
        s.running_queries = Some((qps * p50 / 1000.0) as i64);
        s.running_query_contexts = Some((qps * p50 / 1000.0) as i64);
        s.journal_replay_lag = Some(rng.range(0.0, 20.0) as i64);
        s.total_cpu_usage = Some(cpu);
        s.avg_cpu_usage = Some(cpu);
        s.max_cpu_usage = Some((cpu * rng.range(1.05, 1.3)).min(100.0));
        s.total_memory_usage = Some(mem);
        s.avg_memory_usage = Some(mem);
        s.max_memory_usage = Some((mem * 1.1).min(100.0));
        s.memory_used_bytes = s
            .memory_limit_bytes
            .map(|l| (l as f64 * mem / 100.0) as i64);
        s.disk_total_bytes = Some(self.disk_total as i64);
        s.disk_used_bytes = Some(self.disk_used as i64);
        s.disk_avail_bytes = Some((self.disk_total - self.disk_used) as i64);
        s.disk_usage_pct = Some(disk_pct);
        s.max_disk_usage_pct = Some((disk_pct * 1.05).min(100.0));
        s.max_storage_root_usage_pct = Some((disk_pct * 1.08).min(100.0));
        s.data_used_bytes = Some((self.disk_used * 0.9) as i64);
        s.tablet_count = Some((self.disk_used / GIB * 4.0) as i64);
        s.max_compaction_score = Some(rng.range(1.0, 30.0));
        s.base_compaction_score = Some(rng.range(0.0, 10.0));
        s.cumulative_compaction_score = Some(rng.range(0.0, 20.0));
        s.compaction_tasks_running = Some(rng.range(0.0, 8.0) as i64);
        s.compaction_tasks_waiting = Some(rng.range(0.0, 30.0) as i64);
        s.compaction_bytes_rate = Some(write * 0.5);
        s.scheduled_tablet_num = Some(0);
        s.txn_running = Some(rng.range(0.0, 20.0) as i64);
        s.txn_begin_rate = Some(rng.range(0.5, 10.0));
        s.load_running = Some(rng.range(0.0, 5.0) as i64);
        s.load_pending = Some(0);
        s.routine_load_running = Some(4);
        s.jvm_heap_used = s.jvm_heap_total.map(|t| (t as f64 * heap / 100.0) as i64);
        s.jvm_heap_usage_pct = Some(heap);
        s.max_jvm_heap_usage_pct = Some((heap * 1.1).min(100.0));
        s.jvm_thread_count = Some(300 * self.fe as i64);
        s.jvm_gc_time_rate = Some(rng.range(1.0, 15.0));
        s.network_bytes_sent_total = Some(self.net_sent);
        s.network_bytes_received_total = Some(self.net_recv);
        s.network_send_rate = Some(send);
        s.network_receive_rate = Some(recv);
        s.io_read_bytes_total = Some(self.io_read);
        s.io_write_bytes_total = Some(self.io_write);
        s.io_read_rate = Some(read);
        s.io_write_rate = Some(write);
        s.scrape_duration_max_ms = Some(rng.range(5.0, 80.0) as i64);
        s.scrape_duration_avg_ms = Some(rng.range(3.0, 20.0));
        s.interval_seconds = Some(interval);

        let be = self.be.max(1) as f64;
        for n in &mut self.nodes {
            n.collected_at = at;
            n.scrape_duration_ms = Some(rng.range(2.0, 60.0) as i64);
            if n.node_type == NodeKind::Fe {
                let h = (heap * rng.range(0.9, 1.1)).min(100.0);
                n.jvm_heap_usage_pct = Some(h);
                n.jvm_heap_used = n.jvm_heap_max.map(|m| (m as f64 * h / 100.0) as i64);
                n.qps = Some(qps / self.fe as f64);
                n.query_latency_p99 = s.query_latency_p99;
                n.connections = Some((qps / 5.0 / self.fe as f64) as i64 + 3);
            } else {
                let c = (cpu * rng.range(0.85, 1.15)).min(100.0);
                let m = (mem * rng.range(0.9, 1.1)).min(100.0);
                n.cpu_usage_pct = Some(c);
                n.memory_usage_pct = Some(m);
                n.memory_used_bytes = n.memory_limit_bytes.map(|l| (l as f64 * m / 100.0) as i64);
                let used = self.disk_used / be * rng.range(0.97, 1.03);
                n.disk_used_bytes = Some(used as i64);
                n.disk_usage_pct = n.disk_total_bytes.map(|t| used / t as f64 * 100.0);
                n.data_used_bytes = Some((used * 0.9) as i64);
                n.tablet_count = Some((used / GIB * 4.0) as i64);
                n.compaction_score = Some(rng.range(1.0, 30.0));
                n.running_queries = Some((qps * p50 / 1000.0 / be) as i64);
                n.network_send_rate = Some(send / be);
                n.network_receive_rate = Some(recv / be);
                n.io_read_rate = Some(read / be);
                n.io_write_rate = Some(write / be);
            }
        }
        (&self.snapshot, &self.nodes)
    }
}
