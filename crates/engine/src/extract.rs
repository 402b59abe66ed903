//! One pass over a `/metrics` body into the few series the engine needs.
//!
//! The body is parsed in [`Mode::Lenient`]: bad lines are skipped and counted (`skipped_lines`;
//! this is the only full parse of a body in rockscope). Samples are matched on their
//! name; nothing else is kept, so there is no map of all samples. A NaN or infinite value counts
//! as missing. Series of one name with several label sets (devices, job types, databases) are
//! summed; an unlabelled series seen twice keeps the last value.

use std::collections::BTreeMap;

use rockscope_model::NodeKind;
use rockscope_promtext::{Mode, Parser, Sample};
use serde::{Deserialize, Serialize};

use crate::custom::tap::NodeCustom;
use crate::custom::{CustomSet, NodeTap};

/// The cumulative counters of one FE, kept between cycles to compute interval deltas.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeCounters {
    /// `starrocks_fe_query_total`.
    pub query_total: Option<f64>,
    /// `starrocks_fe_query_success`.
    pub query_success: Option<f64>,
    /// `starrocks_fe_query_err`.
    pub query_err: Option<f64>,
    /// `starrocks_fe_query_internal_err` (StarRocks 3.1.15/3.2.11/3.3.3+).
    #[serde(default)]
    pub query_internal_err: Option<f64>,
    /// `starrocks_fe_query_timeout`.
    pub query_timeout: Option<f64>,
    /// `starrocks_fe_slow_query`.
    pub slow_query: Option<f64>,
    /// `starrocks_fe_request_total`.
    pub request_total: Option<f64>,
    /// `starrocks_fe_query_latency_ms_sum` (ms).
    pub latency_sum: Option<f64>,
    /// `starrocks_fe_query_latency_ms_count`.
    pub latency_count: Option<f64>,
    /// `starrocks_fe_txn_begin` (summed over label sets).
    pub txn_begin: Option<f64>,
    /// `starrocks_fe_txn_success`.
    pub txn_success: Option<f64>,
    /// `starrocks_fe_txn_failed`.
    pub txn_failed: Option<f64>,
    /// `starrocks_fe_txn_reject`.
    pub txn_reject: Option<f64>,
    /// `starrocks_fe_load_finished`.
    pub load_finished: Option<f64>,
    /// `jvm_young_gc{type="count"}`.
    pub young_gc_count: Option<f64>,
    /// `jvm_young_gc{type="time"}` (ms).
    pub young_gc_time_ms: Option<f64>,
    /// `jvm_old_gc{type="count"}`.
    pub old_gc_count: Option<f64>,
    /// `jvm_old_gc{type="time"}` (ms).
    pub old_gc_time_ms: Option<f64>,
}

/// `starrocks_fe_query_latency{type}`: the FE's recent-window latency gauges (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencyWindow {
    /// `type="mean"`.
    pub mean: Option<f64>,
    /// `type="50_quantile"`.
    pub p50: Option<f64>,
    /// `type="75_quantile"`.
    pub p75: Option<f64>,
    /// `type="90_quantile"`.
    pub p90: Option<f64>,
    /// `type="95_quantile"`.
    pub p95: Option<f64>,
    /// `type="99_quantile"`.
    pub p99: Option<f64>,
    /// `type="999_quantile"`.
    pub p999: Option<f64>,
}

/// `starrocks_fe_query_latency_ms{quantile}`: the FE's all-time latency summary (ms).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    /// `quantile="0.75"`.
    pub p75: Option<f64>,
    /// `quantile="0.95"`.
    pub p95: Option<f64>,
    /// `quantile="0.98"`.
    pub p98: Option<f64>,
    /// `quantile="0.99"`.
    pub p99: Option<f64>,
    /// `quantile="0.999"`.
    pub p999: Option<f64>,
}

/// Load jobs by state: `starrocks_fe_job{job="load", type, state}` summed over types.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadJobs {
    /// `state="LOADING"`.
    pub loading: Option<f64>,
    /// `state="PENDING"` + `state="QUEUEING"`.
    pub pending: Option<f64>,
    /// `state="FINISHED"`.
    pub finished: Option<f64>,
    /// `state="CANCELLED"`.
    pub cancelled: Option<f64>,
}

/// Routine-load jobs by state: `starrocks_fe_routine_load_jobs{state}` summed (3.2+ one series
/// per state; 2.5 one series per job with value 1).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RoutineLoadJobs {
    /// `NEED_SCHEDULE`.
    pub need_schedule: Option<f64>,
    /// `RUNNING`.
    pub running: Option<f64>,
    /// `PAUSED`.
    pub paused: Option<f64>,
    /// `UNSTABLE`.
    pub unstable: Option<f64>,
    /// `STOPPED`.
    pub stopped: Option<f64>,
    /// `CANCELLED`.
    pub cancelled: Option<f64>,
}

/// The FE's `node_info{type, state}` gauges (no prefix).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct NodeInfo {
    /// `type="fe_node_num", state="total"`.
    pub fe_total: Option<f64>,
    /// `type="fe_node_num", state="alive"`.
    pub fe_alive: Option<f64>,
    /// `type="be_node_num", state="total"`.
    pub be_total: Option<f64>,
    /// `type="be_node_num", state="alive"`.
    pub be_alive: Option<f64>,
    /// `type="be_node_num", state="decommissioned"`.
    pub be_decommissioned: Option<f64>,
    /// `type="cn_node_num", state="total"`.
    pub cn_total: Option<f64>,
    /// `type="cn_node_num", state="alive"`.
    pub cn_alive: Option<f64>,
}

/// What the engine takes from one FE body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeMetrics {
    /// The cumulative counters.
    pub counters: FeCounters,
    /// `starrocks_fe_qps` gauge.
    pub qps: Option<f64>,
    /// `starrocks_fe_rps` gauge.
    pub rps: Option<f64>,
    /// `starrocks_fe_query_err_rate` gauge: failed queries per second over the FE's last
    /// `MetricCalculator` tick (15 s).
    pub query_err_rate: Option<f64>,
    /// The latency window gauges.
    pub latency_window: LatencyWindow,
    /// The latency summary quantiles.
    pub latency_summary: LatencySummary,
    /// `starrocks_fe_connection_total`.
    pub connections: Option<f64>,
    /// `starrocks_fe_query_queue_pending`.
    pub query_queue_pending: Option<f64>,
    /// `starrocks_fe_memory{type="query_coordinator_count"}` (3.1+): the queries and statements
    /// this FE coordinates (the size of `QeProcessorImpl`'s coordinator map).
    pub query_coordinators: Option<f64>,
    /// `starrocks_fe_txn_running`, summed over databases.
    pub txn_running: Option<f64>,
    /// `starrocks_fe_txn_running{db}`: the busiest database's value.
    pub txn_running_max_db: Option<f64>,
    /// `starrocks_fe_meta_log_count` (meaningful on the leader).
    pub meta_log_count: Option<f64>,
    /// `starrocks_fe_routine_load_max_lag_of_partition{job_name}`: the largest over jobs (only
    /// with FE config `enable_routine_load_lag_metrics`).
    pub routine_load_max_lag: Option<f64>,
    /// Load jobs by state (leader-only values).
    pub load_jobs: LoadJobs,
    /// Routine-load jobs by state (leader-only values).
    pub routine_load: RoutineLoadJobs,
    /// `starrocks_fe_max_tablet_compaction_score` (leader-only value).
    pub max_tablet_compaction_score: Option<f64>,
    /// `starrocks_fe_scheduled_tablet_num` (leader-only value).
    pub scheduled_tablet_num: Option<f64>,
    /// Lines of the body the lenient parse skipped as invalid.
    pub skipped_lines: usize,
    /// Samples the lenient parse gave (NaN and infinite ones included, skipped lines not).
    pub samples: usize,
    /// `jvm_heap_size_bytes{type="max"}`.
    pub heap_max: Option<f64>,
    /// `jvm_heap_size_bytes{type="committed"}`.
    pub heap_committed: Option<f64>,
    /// `jvm_heap_size_bytes{type="used"}`.
    pub heap_used: Option<f64>,
    /// `jvm_thread{type="count"}`.
    pub threads: Option<f64>,
    /// Whether the body holds `node_info{type="is_master"}` with a non-zero value (leader only).
    pub is_master: bool,
    /// The `node_info` node counts.
    pub node_info: NodeInfo,
}

/// One scraped FE with its previous counters: what the per-group figures are computed from.
#[derive(Debug, Clone, Copy)]
pub struct FeView<'a> {
    /// What its body gave.
    pub metrics: &'a FeMetrics,
    /// Its counters of the previous scrape, if any (within [`crate::rates::MAX_COUNTER_GAP`]).
    pub prev: Option<&'a FeCounters>,
    /// Seconds since the previous scrape.
    pub seconds: Option<f64>,
}

impl FeView<'_> {
    /// The increase of one counter since the previous scrape (reset-safe); `None` without one.
    pub fn increase(&self, get: fn(&FeCounters) -> Option<f64>) -> Option<f64> {
        crate::rates::increase(self.prev.and_then(get), get(&self.metrics.counters))
    }
}

/// The cumulative counters of one BE or CN, kept between cycles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BeCounters {
    /// `starrocks_be_cpu{mode}` jiffies, in the order of [`crate::cpu::CPU_MODES`].
    pub cpu: [Option<f64>; 10],
    /// `starrocks_be_network_send_bytes`, summed over devices except `lo`.
    pub net_sent: Option<f64>,
    /// `starrocks_be_network_receive_bytes`, summed over devices except `lo`.
    pub net_received: Option<f64>,
    /// `starrocks_be_disk_bytes_read`, summed over devices.
    pub disk_read: Option<f64>,
    /// `starrocks_be_disk_bytes_written`, summed over devices.
    pub disk_written: Option<f64>,
    /// `starrocks_be_compaction_bytes_total`, summed over types.
    pub compaction_bytes: Option<f64>,
    /// `starrocks_be_engine_requests_total{status="failed"}` of the task types alerts watch.
    #[serde(default)]
    pub failed: EngineFailures,
}

/// Failed storage-engine tasks: `starrocks_be_engine_requests_total{status="failed", type}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineFailures {
    /// `type="cumulative_compaction"`.
    pub cumulative_compaction: Option<f64>,
    /// `type="base_compaction"`.
    pub base_compaction: Option<f64>,
    /// `type="schema_change"` + `type="create_rollup"`.
    pub schema_change: Option<f64>,
    /// `type="clone"`.
    pub clone: Option<f64>,
}

/// One storage root's capacities: `starrocks_be_disks_{total,avail}_capacity{path}`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PathCapacity {
    /// Total bytes.
    pub total: Option<f64>,
    /// Available bytes.
    pub avail: Option<f64>,
}

/// What the engine takes from one BE or CN body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BeMetrics {
    /// The cumulative counters.
    pub counters: BeCounters,
    /// `starrocks_be_process_mem_bytes`.
    pub process_mem: Option<f64>,
    /// `starrocks_be_tablet_base_max_compaction_score`.
    pub base_score: Option<f64>,
    /// `starrocks_be_tablet_cumulative_max_compaction_score`.
    pub cumulative_score: Option<f64>,
    /// `starrocks_be_tablet_update_max_compaction_score`.
    pub update_score: Option<f64>,
    /// `starrocks_be_running_{base,cumulative,update}_compaction_task_num`, summed.
    pub compaction_running: Option<f64>,
    /// `starrocks_be_wait_{base,cumulative}_compaction_task_num`, summed.
    pub compaction_waiting: Option<f64>,
    /// `starrocks_be_disks_total_capacity`, summed over paths.
    pub disks_total: Option<f64>,
    /// `starrocks_be_disks_avail_capacity`, summed over paths.
    pub disks_avail: Option<f64>,
    /// `starrocks_be_disks_data_used_capacity`, summed over paths.
    pub disks_data_used: Option<f64>,
    /// Capacities by storage root (`path` label).
    pub paths: BTreeMap<String, PathCapacity>,
    /// `starrocks_be_max_tablet_rowset_num`.
    pub max_tablet_rowset_num: Option<f64>,
    /// `starrocks_be_max_disk_io_util_percent`.
    pub max_disk_io_util: Option<f64>,
    /// Lines of the body the lenient parse skipped as invalid.
    pub skipped_lines: usize,
    /// Samples the lenient parse gave (NaN and infinite ones included, skipped lines not).
    pub samples: usize,
}

impl BeMetrics {
    /// The highest of the base, cumulative and update compaction scores.
    pub fn compaction_score(&self) -> Option<f64> {
        crate::rates::max_opt([self.base_score, self.cumulative_score, self.update_score])
    }
}

/// Adds `v` to a sum that may not have started.
pub(crate) fn add(slot: &mut Option<f64>, v: f64) {
    *slot = Some(slot.unwrap_or(0.0) + v);
}

/// Keeps the larger of a maximum that may not have started and `v`.
fn raise(slot: &mut Option<f64>, v: f64) {
    *slot = Some(slot.map_or(v, |m| m.max(v)));
}

fn label_is(s: &Sample<'_>, name: &str, value: &str) -> bool {
    s.label(name).is_some_and(|v| v == value)
}

/// The finite samples of a lenient parse, counting every sample in `samples` and showing each
/// finite one to the custom metrics' `tap`; the parser keeps count of the lines it skips.
fn finite<'a, 'p>(
    parser: &'p mut Parser<'a>,
    samples: &'p mut usize,
    tap: &'p mut NodeTap<'_>,
) -> impl Iterator<Item = Sample<'a>> + 'p {
    parser
        .filter_map(Result::ok)
        .inspect(|_| *samples += 1)
        .filter(|s| s.value.is_finite())
        .inspect(|s| tap.observe(s))
}

/// Extracts an FE's figures from its `/metrics` body in one pass.
pub fn extract_fe(body: &[u8]) -> FeMetrics {
    let set = CustomSet::default();
    extract_fe_with(body, NodeTap::new(&set, NodeKind::Fe, false)).0
}

/// [`extract_fe`] with the custom metrics observed in the same pass.
pub(crate) fn extract_fe_with(body: &[u8], mut tap: NodeTap<'_>) -> (FeMetrics, NodeCustom) {
    let mut m = FeMetrics::default();
    let mut parser = Parser::new(body, Mode::Lenient);
    let mut samples = 0;
    for s in finite(&mut parser, &mut samples, &mut tap) {
        let v = s.value;
        let c = &mut m.counters;
        match s.name {
            "starrocks_fe_query_total" => c.query_total = Some(v),
            "starrocks_fe_query_success" => c.query_success = Some(v),
            "starrocks_fe_query_err" => c.query_err = Some(v),
            "starrocks_fe_query_internal_err" => c.query_internal_err = Some(v),
            "starrocks_fe_query_timeout" => c.query_timeout = Some(v),
            "starrocks_fe_slow_query" => c.slow_query = Some(v),
            "starrocks_fe_request_total" => c.request_total = Some(v),
            "starrocks_fe_query_latency_ms_sum" => c.latency_sum = Some(v),
            "starrocks_fe_query_latency_ms_count" => c.latency_count = Some(v),
            "starrocks_fe_txn_begin" => add(&mut c.txn_begin, v),
            "starrocks_fe_txn_success" => add(&mut c.txn_success, v),
            "starrocks_fe_txn_failed" => add(&mut c.txn_failed, v),
            "starrocks_fe_txn_reject" => add(&mut c.txn_reject, v),
            "starrocks_fe_load_finished" => add(&mut c.load_finished, v),
            "jvm_young_gc" | "jvm_old_gc" => {
                let young = s.name == "jvm_young_gc";
                let slot = match (young, s.label("type").as_deref()) {
                    (true, Some("count")) => &mut c.young_gc_count,
                    (true, Some("time")) => &mut c.young_gc_time_ms,
                    (false, Some("count")) => &mut c.old_gc_count,
                    (false, Some("time")) => &mut c.old_gc_time_ms,
                    _ => continue,
                };
                *slot = Some(v);
            }
            "starrocks_fe_qps" => m.qps = Some(v),
            "starrocks_fe_rps" => m.rps = Some(v),
            "starrocks_fe_query_err_rate" => m.query_err_rate = Some(v),
            "starrocks_fe_query_latency" => {
                let w = &mut m.latency_window;
                let slot = match s.label("type").as_deref() {
                    Some("mean") => &mut w.mean,
                    Some("50_quantile") => &mut w.p50,
                    Some("75_quantile") => &mut w.p75,
                    Some("90_quantile") => &mut w.p90,
                    Some("95_quantile") => &mut w.p95,
                    Some("99_quantile") => &mut w.p99,
                    Some("999_quantile") => &mut w.p999,
                    _ => continue,
                };
                *slot = Some(v);
            }
            "starrocks_fe_query_latency_ms" => {
                let q = &mut m.latency_summary;
                let slot = match s.label("quantile").as_deref() {
                    Some("0.75") => &mut q.p75,
                    Some("0.95") => &mut q.p95,
                    Some("0.98") => &mut q.p98,
                    Some("0.99") => &mut q.p99,
                    Some("0.999") => &mut q.p999,
                    _ => continue,
                };
                *slot = Some(v);
            }
            "starrocks_fe_connection_total" => m.connections = Some(v),
            "starrocks_fe_query_queue_pending" => m.query_queue_pending = Some(v),
            "starrocks_fe_memory" if label_is(&s, "type", "query_coordinator_count") => {
                m.query_coordinators = Some(v)
            }
            "starrocks_fe_txn_running" => {
                add(&mut m.txn_running, v);
                raise(&mut m.txn_running_max_db, v);
            }
            "starrocks_fe_meta_log_count" => m.meta_log_count = Some(v),
            "starrocks_fe_routine_load_max_lag_of_partition" => {
                raise(&mut m.routine_load_max_lag, v)
            }
            "starrocks_fe_job" => {
                if !label_is(&s, "job", "load") {
                    continue;
                }
                let j = &mut m.load_jobs;
                let slot = match s.label("state").as_deref() {
                    Some("LOADING") => &mut j.loading,
                    Some("PENDING" | "QUEUEING") => &mut j.pending,
                    Some("FINISHED") => &mut j.finished,
                    Some("CANCELLED") => &mut j.cancelled,
                    _ => continue,
                };
                add(slot, v);
            }
            "starrocks_fe_routine_load_jobs" => {
                let r = &mut m.routine_load;
                let slot = match s.label("state").as_deref() {
                    Some("NEED_SCHEDULE") => &mut r.need_schedule,
                    Some("RUNNING") => &mut r.running,
                    Some("PAUSED") => &mut r.paused,
                    Some("UNSTABLE") => &mut r.unstable,
                    Some("STOPPED") => &mut r.stopped,
                    Some("CANCELLED") => &mut r.cancelled,
                    _ => continue,
                };
                add(slot, v);
            }
            "starrocks_fe_max_tablet_compaction_score" => m.max_tablet_compaction_score = Some(v),
            "starrocks_fe_scheduled_tablet_num" => m.scheduled_tablet_num = Some(v),
            "jvm_heap_size_bytes" => match s.label("type").as_deref() {
                Some("max") => m.heap_max = Some(v),
                Some("committed") => m.heap_committed = Some(v),
                Some("used") => m.heap_used = Some(v),
                _ => {}
            },
            "jvm_thread" if label_is(&s, "type", "count") => m.threads = Some(v),
            "node_info" => {
                let n = &mut m.node_info;
                let kind = s.label("type");
                let state = s.label("state");
                let slot = match (kind.as_deref(), state.as_deref()) {
                    (Some("is_master"), _) => {
                        m.is_master = v != 0.0;
                        continue;
                    }
                    (Some("fe_node_num"), Some("total")) => &mut n.fe_total,
                    (Some("fe_node_num"), Some("alive")) => &mut n.fe_alive,
                    (Some("be_node_num"), Some("total")) => &mut n.be_total,
                    (Some("be_node_num"), Some("alive")) => &mut n.be_alive,
                    (Some("be_node_num"), Some("decommissioned")) => &mut n.be_decommissioned,
                    (Some("cn_node_num"), Some("total")) => &mut n.cn_total,
                    (Some("cn_node_num"), Some("alive")) => &mut n.cn_alive,
                    _ => continue,
                };
                *slot = Some(v);
            }
            _ => {}
        }
    }
    m.skipped_lines = parser.diagnostics().skipped_lines;
    m.samples = samples;
    (m, tap.finish(&parser))
}

/// The entry of a sample's `path` label (the empty path when it has none).
fn path_capacity<'m>(
    paths: &'m mut BTreeMap<String, PathCapacity>,
    s: &Sample<'_>,
) -> &'m mut PathCapacity {
    let path = s.label("path").unwrap_or_default().into_owned();
    paths.entry(path).or_default()
}

/// Extracts a BE's or CN's figures from its `/metrics` body in one pass.
pub fn extract_be(body: &[u8]) -> BeMetrics {
    let set = CustomSet::default();
    extract_be_with(body, NodeTap::new(&set, NodeKind::Be, false)).0
}

/// [`extract_be`] with the custom metrics observed in the same pass.
pub(crate) fn extract_be_with(body: &[u8], mut tap: NodeTap<'_>) -> (BeMetrics, NodeCustom) {
    let mut m = BeMetrics::default();
    let mut parser = Parser::new(body, Mode::Lenient);
    let mut samples = 0;
    for s in finite(&mut parser, &mut samples, &mut tap) {
        let v = s.value;
        let c = &mut m.counters;
        match s.name {
            "starrocks_be_cpu" => {
                if let Some(mode) = s.label("mode")
                    && let Some(i) = crate::cpu::CPU_MODES.iter().position(|m| *m == mode)
                {
                    c.cpu[i] = Some(v);
                }
            }
            "starrocks_be_network_send_bytes" | "starrocks_be_network_receive_bytes" => {
                if label_is(&s, "device", "lo") {
                    continue;
                }
                if s.name == "starrocks_be_network_send_bytes" {
                    add(&mut c.net_sent, v);
                } else {
                    add(&mut c.net_received, v);
                }
            }
            "starrocks_be_disk_bytes_read" => add(&mut c.disk_read, v),
            "starrocks_be_disk_bytes_written" => add(&mut c.disk_written, v),
            "starrocks_be_compaction_bytes_total" => add(&mut c.compaction_bytes, v),
            "starrocks_be_process_mem_bytes" => m.process_mem = Some(v),
            "starrocks_be_tablet_base_max_compaction_score" => m.base_score = Some(v),
            "starrocks_be_tablet_cumulative_max_compaction_score" => m.cumulative_score = Some(v),
            "starrocks_be_tablet_update_max_compaction_score" => m.update_score = Some(v),
            "starrocks_be_running_base_compaction_task_num"
            | "starrocks_be_running_cumulative_compaction_task_num"
            | "starrocks_be_running_update_compaction_task_num" => {
                add(&mut m.compaction_running, v)
            }
            "starrocks_be_wait_base_compaction_task_num"
            | "starrocks_be_wait_cumulative_compaction_task_num" => {
                add(&mut m.compaction_waiting, v)
            }
            "starrocks_be_disks_total_capacity" => {
                add(&mut m.disks_total, v);
                path_capacity(&mut m.paths, &s).total = Some(v);
            }
            "starrocks_be_disks_avail_capacity" => {
                add(&mut m.disks_avail, v);
                path_capacity(&mut m.paths, &s).avail = Some(v);
            }
            "starrocks_be_disks_data_used_capacity" => add(&mut m.disks_data_used, v),
            "starrocks_be_engine_requests_total" if label_is(&s, "status", "failed") => {
                let f = &mut c.failed;
                let slot = match s.label("type").as_deref() {
                    Some("cumulative_compaction") => &mut f.cumulative_compaction,
                    Some("base_compaction") => &mut f.base_compaction,
                    Some("schema_change" | "create_rollup") => &mut f.schema_change,
                    Some("clone") => &mut f.clone,
                    _ => continue,
                };
                add(slot, v);
            }
            "starrocks_be_max_tablet_rowset_num" => m.max_tablet_rowset_num = Some(v),
            "starrocks_be_max_disk_io_util_percent" => m.max_disk_io_util = Some(v),
            _ => {}
        }
    }
    m.skipped_lines = parser.diagnostics().skipped_lines;
    m.samples = samples;
    (m, tap.finish(&parser))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FE: &str = "\
# HELP  jvm_heap_size_bytes jvm heap stat
# TYPE  jvm_heap_size_bytes gauge
jvm_heap_size_bytes{type=\"max\"} 8.589934592E9
jvm_heap_size_bytes{type=\"committed\"} 2147483648
jvm_heap_size_bytes{type=\"used\"} 1073741824
# HELP  jvm_young_gc jvm young gc stat
# TYPE  jvm_young_gc gauge
jvm_young_gc{type=\"count\"} 12
jvm_young_gc{type=\"time\"} 340
jvm_old_gc{type=\"count\"} 1
jvm_old_gc{type=\"time\"} 90
jvm_thread{type=\"count\"} 230
jvm_thread{type=\"peak_count\"} 250
# HELP starrocks_fe_query_total query total
# TYPE starrocks_fe_query_total counter
starrocks_fe_query_total 1000
starrocks_fe_query_err 10
starrocks_fe_query_success 985
starrocks_fe_query_timeout 5
starrocks_fe_slow_query 3
starrocks_fe_request_total 2000
starrocks_fe_qps 12.5
starrocks_fe_rps NaN
starrocks_fe_query_err_rate 0.125
starrocks_fe_query_latency{type=\"mean\"} 4.0
starrocks_fe_query_latency{type=\"99_quantile\"} 40.0
starrocks_fe_connection_total 7
starrocks_fe_txn_begin 50
starrocks_fe_txn_running{is_leader=\"true\", db=\"a\"} 2
starrocks_fe_txn_running{is_leader=\"true\", db=\"b\"} 3
starrocks_fe_job{job=\"load\", type=\"BROKER\", state=\"LOADING\"} 2
starrocks_fe_job{job=\"load\", type=\"INSERT\", state=\"LOADING\"} 1
starrocks_fe_job{job=\"load\", type=\"INSERT\", state=\"PENDING\"} 4
starrocks_fe_job{job=\"load\", type=\"INSERT\", state=\"QUEUEING\"} 1
starrocks_fe_job{job=\"alter\", type=\"ROLLUP\", state=\"running\"} 9
starrocks_fe_routine_load_jobs{state=\"RUNNING\"} 3
# HELP starrocks_fe_memory memory usage of fe modules
# TYPE starrocks_fe_memory gauge
starrocks_fe_memory{type=\"query_detail_count\"} 120
starrocks_fe_memory{type=\"query_coordinator_count\"} 6
starrocks_fe_memory{type=\"agent_task_count\"} 40
this line is garbage
# HELP starrocks_fe_query_latency_ms 
# TYPE starrocks_fe_query_latency_ms summary
starrocks_fe_query_latency_ms{quantile=\"0.75\"} 12.0
starrocks_fe_query_latency_ms{quantile=\"0.99\"} 99.0
starrocks_fe_query_latency_ms_sum 1234.5
starrocks_fe_query_latency_ms_count 100
# TYPE  node_info gauge
node_info{type=\"be_node_num\", state=\"total\"} 3
node_info{type=\"is_master\"} 1
";

    #[test]
    fn fe_one_pass() {
        let m = extract_fe(FE.as_bytes());
        assert_eq!(m.heap_max, Some(8_589_934_592.0));
        assert_eq!(m.heap_used, Some(1_073_741_824.0));
        assert_eq!(m.heap_committed, Some(2_147_483_648.0));
        assert_eq!(m.threads, Some(230.0));
        assert_eq!(m.counters.young_gc_count, Some(12.0));
        assert_eq!(m.counters.old_gc_time_ms, Some(90.0));
        assert_eq!(m.counters.query_total, Some(1000.0));
        assert_eq!(m.counters.query_err, Some(10.0));
        assert_eq!(m.counters.latency_sum, Some(1234.5));
        assert_eq!(m.counters.latency_count, Some(100.0));
        assert_eq!(m.qps, Some(12.5));
        assert_eq!(m.rps, None, "NaN is missing");
        assert_eq!(m.query_err_rate, Some(0.125));
        assert_eq!(m.latency_window.mean, Some(4.0));
        assert_eq!(m.latency_window.p99, Some(40.0));
        assert_eq!(m.latency_window.p50, None);
        assert_eq!(m.latency_summary.p75, Some(12.0));
        assert_eq!(m.latency_summary.p99, Some(99.0));
        assert_eq!(m.txn_running, Some(5.0));
        assert_eq!(m.load_jobs.loading, Some(3.0));
        assert_eq!(m.load_jobs.pending, Some(5.0));
        assert_eq!(m.load_jobs.finished, None);
        assert_eq!(m.routine_load.running, Some(3.0));
        assert_eq!(m.connections, Some(7.0));
        assert_eq!(
            m.query_coordinators,
            Some(6.0),
            "one type of the memory family"
        );
        assert!(m.is_master);
        assert_eq!(m.node_info.be_total, Some(3.0));
    }

    #[test]
    fn be_devices_and_cpu() {
        let body = "\
# TYPE starrocks_be_cpu counter
starrocks_be_cpu{mode=\"guest\"} 5
starrocks_be_cpu{mode=\"idle\"} 800
starrocks_be_cpu{mode=\"user\"} 100
# TYPE starrocks_be_disk_bytes_read counter
starrocks_be_disk_bytes_read{device=\"nvme0n1\"} 100
starrocks_be_disk_bytes_read{device=\"sda\"} 50
# TYPE starrocks_be_network_send_bytes counter
starrocks_be_network_send_bytes{device=\"eth0\"} 1000
starrocks_be_network_send_bytes{device=\"lo\"} 999999
starrocks_be_network_send_bytes{device=\"eth1\"} 10
# TYPE starrocks_be_process_mem_bytes gauge
starrocks_be_process_mem_bytes NaN
# TYPE starrocks_be_running_base_compaction_task_num gauge
starrocks_be_running_base_compaction_task_num 1
# TYPE starrocks_be_running_cumulative_compaction_task_num gauge
starrocks_be_running_cumulative_compaction_task_num 2
# TYPE starrocks_be_tablet_base_max_compaction_score gauge
starrocks_be_tablet_base_max_compaction_score 3.5
# TYPE starrocks_be_tablet_cumulative_max_compaction_score gauge
starrocks_be_tablet_cumulative_max_compaction_score 7.25
";
        let m = extract_be(body.as_bytes());
        assert_eq!(m.counters.cpu[0], Some(100.0));
        assert_eq!(m.counters.cpu[3], Some(800.0));
        assert_eq!(m.counters.cpu[8], Some(5.0));
        assert_eq!(m.counters.cpu[1], None);
        assert_eq!(m.counters.disk_read, Some(150.0));
        assert_eq!(m.counters.disk_written, None);
        assert_eq!(m.counters.net_sent, Some(1010.0));
        assert_eq!(m.counters.net_received, None);
        assert_eq!(m.process_mem, None);
        assert_eq!(m.compaction_running, Some(3.0));
        assert_eq!(m.compaction_score(), Some(7.25));
    }

    /// 3.3-shaped alert sources of a leader FE (no `is_leader` label, lag gauges enabled).
    const FE_ALERT_SOURCES: &str = "\
# HELP starrocks_fe_query_internal_err query internal error
# TYPE starrocks_fe_query_internal_err counter
starrocks_fe_query_internal_err 17
# HELP starrocks_fe_meta_log_count meta log total count
# TYPE starrocks_fe_meta_log_count gauge
starrocks_fe_meta_log_count 104000
# HELP starrocks_fe_txn_running number of running transactions
# TYPE starrocks_fe_txn_running gauge
starrocks_fe_txn_running{is_leader=\"true\", db=\"ssb\"} 950
starrocks_fe_txn_running{is_leader=\"true\", db=\"tpch\"} 12
# HELP starrocks_fe_query_latency_ms 
# TYPE starrocks_fe_query_latency_ms summary
starrocks_fe_query_latency_ms_count 100
# HELP starrocks_fe_routine_load_max_lag_of_partition routine load max lag of partition
# TYPE starrocks_fe_routine_load_max_lag_of_partition gauge
starrocks_fe_routine_load_max_lag_of_partition{job_name=\"rl_orders\"} 320000
starrocks_fe_routine_load_max_lag_of_partition{job_name=\"rl_clicks\"} 1.5E3
# TYPE  node_info gauge
node_info{type=\"is_master\"} 1
";

    #[test]
    fn fe_alert_sources() {
        let m = extract_fe(FE_ALERT_SOURCES.as_bytes());
        assert_eq!(m.counters.query_internal_err, Some(17.0));
        assert_eq!(m.meta_log_count, Some(104_000.0));
        assert_eq!(m.txn_running, Some(962.0), "summed over databases");
        assert_eq!(m.txn_running_max_db, Some(950.0), "the busiest database");
        assert_eq!(m.routine_load_max_lag, Some(320_000.0), "the largest job");
        // The FE body above without these series: each is missing, not 0.
        let m = extract_fe(FE.as_bytes());
        assert_eq!(m.counters.query_internal_err, None);
        assert_eq!(m.meta_log_count, None);
        assert_eq!(m.routine_load_max_lag, None);
        assert_eq!(m.txn_running_max_db, Some(3.0));
    }

    /// A 3.x BE body's alert sources: sorted labels without spaces, alphabetical families.
    const BE_ALERT_SOURCES: &str = "\
# TYPE starrocks_be_disks_avail_capacity gauge
starrocks_be_disks_avail_capacity{path=\"/data1/starrocks/storage\"} 100
starrocks_be_disks_avail_capacity{path=\"/data2/starrocks/storage\"} 600
# TYPE starrocks_be_disks_total_capacity gauge
starrocks_be_disks_total_capacity{path=\"/data1/starrocks/storage\"} 1000
starrocks_be_disks_total_capacity{path=\"/data2/starrocks/storage\"} 1000
starrocks_be_disks_total_capacity{path=\"/data3/starrocks/storage\"} 0
# TYPE starrocks_be_engine_requests_total counter
starrocks_be_engine_requests_total{status=\"failed\",type=\"base_compaction\"} 2
starrocks_be_engine_requests_total{status=\"failed\",type=\"clone\"} 1
starrocks_be_engine_requests_total{status=\"failed\",type=\"create_rollup\"} 3
starrocks_be_engine_requests_total{status=\"failed\",type=\"cumulative_compaction\"} 7
starrocks_be_engine_requests_total{status=\"failed\",type=\"report_tablet\"} 50
starrocks_be_engine_requests_total{status=\"failed\",type=\"schema_change\"} 4
starrocks_be_engine_requests_total{status=\"total\",type=\"clone\"} 90
# TYPE starrocks_be_max_disk_io_util_percent gauge
starrocks_be_max_disk_io_util_percent 93
# TYPE starrocks_be_max_tablet_rowset_num gauge
starrocks_be_max_tablet_rowset_num 712
";

    #[test]
    fn be_alert_sources() {
        let m = extract_be(BE_ALERT_SOURCES.as_bytes());
        let f = m.counters.failed;
        assert_eq!(f.cumulative_compaction, Some(7.0));
        assert_eq!(f.base_compaction, Some(2.0));
        assert_eq!(f.schema_change, Some(7.0), "schema_change + create_rollup");
        assert_eq!(f.clone, Some(1.0), "the failed series, not the total");
        assert_eq!(m.max_tablet_rowset_num, Some(712.0));
        assert_eq!(m.max_disk_io_util, Some(93.0));
        assert_eq!(m.disks_total, Some(2000.0));
        assert_eq!(m.paths.len(), 3);
        assert_eq!(
            m.paths["/data1/starrocks/storage"],
            PathCapacity {
                total: Some(1000.0),
                avail: Some(100.0)
            }
        );
        // Without these series: missing, never 0.
        let m = extract_be(
            b"# TYPE starrocks_be_process_mem_bytes gauge\nstarrocks_be_process_mem_bytes 5\n",
        );
        assert_eq!(m.counters.failed, EngineFailures::default());
        assert_eq!(m.max_tablet_rowset_num, None);
        assert_eq!(m.max_disk_io_util, None);
        assert!(m.paths.is_empty());
    }

    #[test]
    fn empty_and_garbage_bodies() {
        assert_eq!(extract_fe(b""), FeMetrics::default());
        assert_eq!(
            extract_be(b"\xff\xfe garbage\n{{{\n"),
            BeMetrics {
                skipped_lines: 2,
                ..BeMetrics::default()
            }
        );
    }
}
