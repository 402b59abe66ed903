//! FE `GET /metrics`: StarRocks' "Prometheus-ish" Java rendering.
//!
//! Quirks reproduced on purpose (see the formats reference §1): JVM block first without the
//! `starrocks_fe_` prefix and with double-space `# HELP  `/`# TYPE  `; `, ` between labels in
//! insertion order; Java `Long`/`Double.toString` values; summary HELP with a trailing space;
//! `node_info` last with `is_master` only on the leader; leader-only values zero on followers;
//! in the 4.0 shape `is_leader="true|false"` as first label of leader-aware families.

use crate::Version;
use crate::condition::{Condition, ConditionKind as K};
use crate::javafmt::{push_i64, push_java_double};
use crate::model::{NS, step_noise};
use crate::state::{ClusterState, NodeState};
use crate::values::{self, FeCounters};

const P: &str = "starrocks_fe_";

/// A line writer for FE text.
struct W<'a> {
    b: &'a mut Vec<u8>,
    /// `is_leader="…"` when the version has leader labels.
    leader_label: Option<&'static str>,
}

impl W<'_> {
    fn s(&mut self, s: &str) -> &mut Self {
        self.b.extend_from_slice(s.as_bytes());
        self
    }
    fn head(&mut self, name: &str, help: &str, ty: &str) {
        self.s("# HELP ").s(P).s(name).s(" ").s(help).s("\n");
        self.s("# TYPE ").s(P).s(name).s(" ").s(ty).s("\n");
    }
    /// `starrocks_fe_<name>{labels} ` (labels `, `-joined, is_leader first if `aware`).
    fn start(&mut self, name: &str, labels: &[(&str, &str)], aware: bool) {
        self.s(P).s(name);
        let ll = if aware { self.leader_label } else { None };
        if labels.is_empty() && ll.is_none() {
            self.s(" ");
            return;
        }
        self.s("{");
        let mut first = true;
        if let Some(l) = ll {
            self.s(l);
            first = false;
        }
        for (k, v) in labels {
            if !first {
                self.s(", ");
            }
            first = false;
            self.s(k).s("=\"").s(v).s("\"");
        }
        self.s("} ");
    }
    fn int(&mut self, v: i64) {
        push_i64(self.b, v);
        self.b.push(b'\n');
    }
    fn dbl(&mut self, v: f64) {
        push_java_double(self.b, v);
        self.b.push(b'\n');
    }
    fn one_i(&mut self, name: &str, help: &str, ty: &str, aware: bool, v: i64) {
        self.head(name, help, ty);
        self.start(name, &[], aware);
        self.int(v);
    }
    fn one_d(&mut self, name: &str, help: &str, aware: bool, v: f64) {
        self.head(name, help, "gauge");
        self.start(name, &[], aware);
        self.dbl(v);
    }
    fn jvm(&mut self, name: &str, help: &str, rows: &[(&str, i64)]) {
        self.s("# HELP  ").s(name).s(" ").s(help).s("\n");
        self.s("# TYPE  ").s(name).s(" gauge\n");
        for (ty, v) in rows {
            self.s(name).s("{type=\"").s(ty).s("\"} ");
            self.int(*v);
        }
    }
    fn summary(&mut self, name: &str, q: &[f64; 5], sum: f64, count: i64) {
        // HELP with an empty docstring keeps its separating space.
        self.s("# HELP ").s(P).s(name).s(" \n");
        self.s("# TYPE ").s(P).s(name).s(" summary\n");
        for (qn, v) in ["0.75", "0.95", "0.98", "0.99", "0.999"].iter().zip(q) {
            self.s(P).s(name).s("{quantile=\"").s(qn).s("\"} ");
            self.dbl(*v);
        }
        self.s(P).s(name).s("_sum ");
        self.dbl(sum);
        self.s(P).s(name).s("_count ");
        self.int(count);
    }
}

const FE_POOLS: [&str; 10] = [
    "connect_scheduler",
    "query_queue",
    "publish_version",
    "agent_task",
    "report_handler",
    "tablet_scheduler",
    "lake_compaction",
    "stats_collector",
    "mv_refresh",
    "thrift_server",
];
const JOB_TYPES: [&str; 3] = ["INSERT", "BROKER", "SPARK"];
const JOB_STATES: [&str; 8] = [
    "UNKNOWN",
    "PENDING",
    "ETL",
    "LOADING",
    "COMMITTED",
    "FINISHED",
    "CANCELLED",
    "QUEUEING",
];
const RL_STATES: [&str; 6] = [
    "NEED_SCHEDULE",
    "RUNNING",
    "PAUSED",
    "STOPPED",
    "CANCELLED",
    "UNSTABLE",
];
const MEMORY_TYPES: [&str; 22] = [
    "tablet_count",
    "tablet_bytes",
    "replica_count",
    "replica_bytes",
    "txn_count",
    "txn_bytes",
    "txn_callback_count",
    "delete_job_count",
    "delete_job_info_count",
    "task_count",
    "running_task_run_count",
    "pending_task_run_count",
    "history_task_run_count",
    "catalogs_count",
    "insert_overwrite_jobs_count",
    "compaction_stats_count",
    "stream_load_task_count",
    "query_detail_count",
    "query_profile_count",
    "load_profile_count",
    "query_coordinator_count",
    "agent_task_count",
];
const LAT_TYPES: [&str; 7] = [
    "mean",
    "50_quantile",
    "75_quantile",
    "90_quantile",
    "95_quantile",
    "99_quantile",
    "999_quantile",
];
/// Latency multiples of the mean for the LAT_TYPES after `mean`.
const LAT_MULT: [f64; 7] = [1.0, 0.6, 1.1, 2.2, 3.5, 8.0, 20.0];

/// Rates over the 15 s window StarRocks' MetricCalculator last closed before `t`, as it
/// computes them: the increase divided by `Δms / 1000 + 1` (`MetricCalculator.update`), 16 for
/// its 15 s tick, so the gauges read 15/16 of the true rate.
fn calculator_rates(n: &NodeState, t: i64, cl: &ClusterState) -> (f64, f64, f64) {
    let end = t.div_euclid(15 * NS) * 15 * NS;
    let a = values::fe_counters(cl, n, end - 15 * NS);
    let b = values::fe_counters(cl, n, end);
    let d = |x: i64, y: i64| (y - x).max(0) as f64 / (15_000 / 1000 + 1) as f64;
    (
        d(a.query_total, b.query_total),
        d(a.request_total, b.request_total),
        d(a.query_err, b.query_err),
    )
}

/// Appends the FE `/metrics` body of node `n` at instant `t`.
pub(crate) fn render(cl: &ClusterState, n: &NodeState, t: i64, b: &mut Vec<u8>) {
    let leader = cl.leader_at(t) == n.pos;
    let v4 = cl.spec.version.leader_labels();
    let mut w = W {
        b,
        leader_label: v4.then_some(if leader {
            "is_leader=\"true\""
        } else {
            "is_leader=\"false\""
        }),
    };
    let m = n.fe();
    let up = t >= n.start_ns();
    let k: FeCounters = if up {
        values::fe_counters(cl, n, t)
    } else {
        FeCounters::default()
    };
    let jvm = values::jvm(n, t);
    let lead = |v: i64| if leader { v } else { 0 };
    let noise = |salt: u64, step: i64| step_noise(n.seed ^ salt, t, step * NS);

    // --- JVM block (always first, no prefix) ---
    let committed = jvm.heap_committed;
    w.jvm(
        "jvm_heap_size_bytes",
        "jvm heap stat",
        &[
            ("max", m.heap_max),
            ("committed", committed),
            ("used", jvm.heap_used),
        ],
    );
    let nh_used = 180_000_000 + (noise(1, 300) * 20_000_000.0) as i64;
    w.jvm(
        "jvm_non_heap_size_bytes",
        "jvm non heap stat",
        &[("committed", nh_used + 12_582_912), ("used", nh_used)],
    );
    let young_max = committed / 3;
    w.jvm(
        "jvm_young_size_bytes",
        "jvm young mem pool stat",
        &[
            ("committed", young_max),
            ("used", jvm.young_used),
            ("peak_used", young_max * 9 / 10),
            ("max", young_max),
        ],
    );
    w.jvm(
        "jvm_old_size_bytes",
        "jvm old mem pool stat",
        &[
            ("committed", committed - young_max),
            ("used", jvm.old_used),
            ("peak_used", jvm.old_used + (committed / 20)),
            ("max", m.heap_max - young_max),
        ],
    );
    w.jvm(
        "jvm_direct_buffer_pool_size_bytes",
        "jvm direct buffer pool stat",
        &[
            ("count", 40 + (m.direct_mem >> 20)),
            ("used", m.direct_mem),
            ("capacity", m.direct_mem),
        ],
    );
    w.jvm(
        "jvm_young_gc",
        "jvm young gc stat",
        &[("count", jvm.young_gc_count), ("time", jvm.young_gc_ms)],
    );
    w.jvm(
        "jvm_old_gc",
        "jvm old gc stat",
        &[("count", jvm.old_gc_count), ("time", jvm.old_gc_ms)],
    );
    let threads = values::fe_threads(n, t);
    w.jvm(
        "jvm_thread",
        "jvm thread stat",
        &[
            ("count", threads),
            ("peak_count", threads.max(m.threads + 60)),
        ],
    );

    // --- registry metrics ---
    let (qps, rps, err_rate) = if up {
        calculator_rates(n, t, cl)
    } else {
        (0.0, 0.0, 0.0)
    };
    let connections = match n.condition(K::Connections, t) {
        Some(Condition::Connections(c)) => c,
        _ => (qps * 0.8 + 5.0) as i64,
    };
    w.one_i(
        "connection_total",
        "total connections",
        "gauge",
        false,
        connections,
    );
    w.one_i(
        "request_total",
        "total request",
        "counter",
        false,
        k.request_total,
    );
    w.one_i(
        "query_total",
        "total query",
        "counter",
        false,
        k.query_total,
    );
    w.one_i(
        "query_success",
        "success query",
        "counter",
        false,
        k.query_success,
    );
    w.one_i("query_err", "error query", "counter", false, k.query_err);
    w.one_i(
        "query_timeout",
        "timeout query",
        "counter",
        false,
        k.query_timeout,
    );
    w.one_i("slow_query", "slow query", "counter", false, k.slow_query);
    w.one_i(
        "query_analysis_err",
        "query analysis error",
        "counter",
        false,
        k.query_err / 3,
    );
    // Added in 3.1.15/3.2.11/3.3.3: a 3.0 FE has no such series.
    if cl.spec.version != Version::V3_0 {
        w.one_i(
            "query_internal_err",
            "query internal error",
            "counter",
            false,
            k.query_internal_err,
        );
    }
    w.one_i(
        "query_queue_pending",
        "pending queries in the query queue",
        "counter",
        false,
        0,
    );
    w.one_i(
        "query_queue_total",
        "total queued queries",
        "counter",
        false,
        k.query_total / 500,
    );
    w.one_i(
        "query_queue_timeout",
        "timed out queued queries",
        "counter",
        false,
        k.query_timeout / 50,
    );
    w.one_d("qps", "query per second", false, qps);
    w.one_d("rps", "request per second", false, rps);
    w.one_d("query_err_rate", "query error rate", false, err_rate);
    w.head("query_latency", "query latency", "gauge");
    // Filled from the queries of the last tick, only with enable_collect_query_detail_info.
    let mean = if qps > 0.0 && cl.spec.query_detail_info {
        values::reservoir_mean(n, t)
    } else {
        0.0
    };
    for (ty, mult) in LAT_TYPES.iter().zip(LAT_MULT) {
        w.start("query_latency", &[("type", ty)], false);
        w.dbl((mean * mult * 1000.0).round() / 1000.0);
    }
    w.one_i(
        "max_journal_id",
        "max journal id of this frontends",
        "gauge",
        false,
        1_000_000 + k.journal * 3,
    );
    // The leader checkpoints every 50,000 entries; `MetaLogCount` holds a stuck checkpoint.
    let meta_log_count = match cl.condition(K::MetaLogCount, t) {
        Some(Condition::MetaLogCount(v)) if leader => v,
        _ => k.journal % 50_000,
    };
    w.one_i(
        "meta_log_count",
        "meta log total count",
        "gauge",
        false,
        meta_log_count,
    );
    w.one_i(
        "edit_log_write",
        "counter of edit log write into bdbje",
        "counter",
        false,
        lead(k.journal),
    );
    w.one_i(
        "edit_log_read",
        "counter of edit log read from bdbje",
        "counter",
        false,
        if leader { 0 } else { k.journal },
    );
    w.one_i(
        "edit_log_size_bytes",
        "size of edit log",
        "counter",
        false,
        k.journal * 420,
    );
    w.one_i(
        "image_write",
        "counter of image generated",
        "counter",
        false,
        k.journal / 50_000,
    );
    w.one_i(
        "image_push",
        "counter of image succeeded in pushing to other frontends",
        "counter",
        false,
        lead(k.journal / 50_000),
    );
    for (name, help, v) in [
        (
            "txn_begin",
            "counter of beginning transactions",
            k.txn_begin,
        ),
        (
            "txn_success",
            "counter of success transactions",
            k.txn_success,
        ),
        ("txn_failed", "counter of failed transactions", k.txn_failed),
        (
            "txn_reject",
            "counter of rejected transactions",
            k.txn_reject,
        ),
    ] {
        w.head(name, help, "counter");
        w.start(name, &[], true);
        w.int(v);
    }
    if v4 {
        w.head("txn_running", "number of running transactions", "gauge");
        let busiest = match cl.condition(K::TxnRunning, t) {
            Some(Condition::TxnRunning(v)) => Some(v),
            _ => None,
        };
        for (i, (db, _)) in cl.model.databases.iter().take(8).enumerate() {
            w.start("txn_running", &[("db", db)], true);
            let v = (noise(10 + i as u64, 30) * 12.0) as i64;
            w.int(lead(busiest.filter(|_| i == 0).unwrap_or(v)));
        }
    }
    w.one_i(
        "load_add",
        "total load submit",
        "counter",
        false,
        k.load_add,
    );
    w.one_i(
        "load_finished",
        "total load finished",
        "counter",
        false,
        k.load_finished,
    );
    w.head("job", "job statistics", "gauge");
    for (ti, ty) in JOB_TYPES.iter().enumerate() {
        for (si, st) in JOB_STATES.iter().enumerate() {
            w.start("job", &[("job", "load"), ("type", ty), ("state", st)], true);
            let v = match *st {
                "FINISHED" => k.load_finished / (ti as i64 + 1),
                "CANCELLED" => k.load_finished / (50 * (ti as i64 + 1)),
                "LOADING" | "PENDING" | "QUEUEING" => {
                    (noise(20 + (ti * 8 + si) as u64, 15) * 6.0) as i64
                }
                _ => 0,
            };
            w.int(lead(v));
        }
    }
    for ty in ["ROLLUP", "SCHEMA_CHANGE"] {
        w.start(
            "job",
            &[("job", "alter"), ("type", ty), ("state", "running")],
            true,
        );
        w.int(lead((noise(40, 120) * 2.0) as i64));
    }
    w.head("routine_load_jobs", "routine load jobs", "gauge");
    let (need_schedule, paused, unstable) = match cl.condition(K::RoutineLoadJobs, t) {
        Some(Condition::RoutineLoadJobs {
            need_schedule,
            paused,
            unstable,
        }) => (need_schedule, paused, unstable),
        _ => (0, 0, 0),
    };
    for st in RL_STATES {
        w.start("routine_load_jobs", &[("state", st)], true);
        w.int(lead(match st {
            "RUNNING" => 12,
            "NEED_SCHEDULE" => need_schedule,
            "PAUSED" => paused,
            "UNSTABLE" => unstable,
            _ => 0,
        }));
    }
    let rl_rows = k.load_add * 3_000;
    w.one_i(
        "routine_load_rows",
        "total rows of routine load",
        "counter",
        false,
        rl_rows,
    );
    w.one_i(
        "routine_load_receive_bytes",
        "total received bytes of routine load",
        "counter",
        false,
        rl_rows * 180,
    );
    w.one_i(
        "routine_load_error_rows",
        "total error rows of routine load",
        "counter",
        false,
        rl_rows / 10_000,
    );
    w.one_i(
        "routine_load_paused",
        "counter of routine load paused",
        "counter",
        false,
        k.load_add / 5_000,
    );

    w.head("tablet_num", "tablet number", "gauge");
    let mut max_score = 0.0f64;
    let mut tablet_total = 0;
    for be in cl.backends() {
        let label = format!("{}:{}", be.host, be.aux.a);
        w.start("tablet_num", &[("backend", &label)], true);
        let tn = values::tablets(be, t);
        tablet_total += tn;
        w.int(lead(tn));
    }
    w.head(
        "tablet_max_compaction_score",
        "tablet max compaction score",
        "gauge",
    );
    for be in cl.backends() {
        let label = format!("{}:{}", be.host, be.aux.a);
        w.start("tablet_max_compaction_score", &[("backend", &label)], true);
        let s = values::compaction_score(be, t);
        max_score = max_score.max(s);
        w.int(lead(s as i64));
    }
    w.one_i(
        "max_tablet_compaction_score",
        "max tablet compaction score of all backends",
        "gauge",
        true,
        lead(max_score as i64),
    );
    w.one_i(
        "scheduled_tablet_num",
        "number of tablets being scheduled",
        "gauge",
        true,
        lead((noise(41, 60) * 20.0) as i64),
    );
    if v4 {
        for name in [
            "scheduled_pending_tablet_num",
            "scheduled_running_tablet_num",
        ] {
            w.head(name, "number of tablets in the scheduler", "gauge");
            for ty in ["BALANCE", "REPAIR"] {
                w.start(name, &[("type", ty)], true);
                w.int(lead((noise(42, 60) * 5.0) as i64));
            }
        }
        w.one_i(
            "clone_task_total",
            "total clone tasks",
            "counter",
            false,
            k.journal / 900,
        );
        w.one_i(
            "clone_task_success",
            "successful clone tasks",
            "counter",
            false,
            k.journal / 910,
        );
    }
    w.head("snmp", "tcp statistics", "gauge");
    for (i, name) in [
        "tcp_retrans_segs",
        "tcp_in_errs",
        "tcp_in_segs",
        "tcp_out_segs",
    ]
    .iter()
    .enumerate()
    {
        w.start("snmp", &[("name", name)], false);
        w.int(k.request_total * [1, 0, 40, 38][i] / 10 + i as i64);
    }
    if cl.spec.version.fe_memory_family() {
        w.head("memory", "memory usage of fe modules", "gauge");
        let replicas = tablet_total * 3;
        for (i, ty) in MEMORY_TYPES.iter().enumerate() {
            w.start("memory", &[("type", ty)], false);
            w.int(match *ty {
                "tablet_count" => tablet_total,
                "tablet_bytes" => tablet_total * 184,
                "replica_count" => replicas,
                "replica_bytes" => replicas * 96,
                "query_coordinator_count" => values::fe_running_queries(n, t),
                _ => (noise(50 + i as u64, 300) * 500.0) as i64,
            });
        }
    }
    w.head("safe_mode", "safe mode flag", "gauge");
    w.start("safe_mode", &[("type", "safe_mode")], false);
    w.int(0);
    w.one_i(
        "unfinished_backup_job",
        "current unfinished backup job",
        "counter",
        false,
        0,
    );
    w.one_i(
        "unfinished_restore_job",
        "current unfinished restore job",
        "counter",
        false,
        0,
    );
    // Resource groups: per-group counters share the node's query counter.
    let groups = &cl.model.resource_groups;
    let share = |gi: usize| -> i64 { k.query_total / (2 << gi.min(20)) };
    w.head("query_resource_group", "query resource group", "counter");
    for (gi, g) in groups.iter().enumerate() {
        w.start("query_resource_group", &[("name", g)], false);
        w.int(share(gi));
    }
    w.head(
        "query_resource_group_err",
        "query resource group error",
        "counter",
    );
    for (gi, g) in groups.iter().enumerate() {
        w.start("query_resource_group_err", &[("name", g)], false);
        w.int(share(gi) / 100);
    }
    w.head(
        "query_resource_group_latency",
        "query resource group latency",
        "gauge",
    );
    for g in groups {
        for (ty, mult) in [
            "mean",
            "75_quantile",
            "95_quantile",
            "98_quantile",
            "99_quantile",
            "999_quantile",
        ]
        .iter()
        .zip([1.0, 1.2, 3.0, 5.0, 8.0, 20.0])
        {
            w.start(
                "query_resource_group_latency",
                &[("type", ty), ("name", g)],
                false,
            );
            w.dbl((mean * mult * 100.0).round() / 100.0);
        }
    }
    for (name, div) in [
        ("resource_group_query_queue_total", 1000),
        ("resource_group_query_queue_pending", i64::MAX),
        ("resource_group_query_queue_timeout", 100_000),
    ] {
        w.head(name, "resource group query queue", "counter");
        for (gi, g) in groups.iter().enumerate() {
            w.start(name, &[("name", g)], false);
            w.int(share(gi) / div);
        }
    }
    // FE executor pools.
    w.head("thread_pool", "thread pool metrics", "gauge");
    for (pi, pool) in FE_POOLS.iter().enumerate() {
        for (ti, ty) in ["active_thread_num", "pool_size", "task_in_queue"]
            .iter()
            .enumerate()
        {
            w.start("thread_pool", &[("name", pool), ("type", ty)], false);
            let size = 4 + (pi as i64 % 4) * 8;
            w.int(match ti {
                0 => (noise(60 + pi as u64, 10) * size as f64) as i64,
                1 => size,
                _ => (noise(80 + pi as u64, 10) * 3.0) as i64,
            });
        }
    }
    // --- per-database table counts ---
    w.head("table_num", "total table number", "gauge");
    for (db, tables) in &cl.model.databases {
        w.start("table_num", &[("db_name", db)], false);
        w.int(*tables);
    }
    w.one_i(
        "database_num",
        "total database number",
        "gauge",
        false,
        cl.model.databases.len() as i64,
    );

    // --- codahale histograms, sorted by name ---
    let q = |base: f64| -> [f64; 5] {
        let r = |x: f64| (x * 1000.0).round() / 1000.0;
        [
            r(base),
            r(base * 2.5),
            r(base * 4.0),
            r(base * 6.0),
            r(base * 15.0),
        ]
    };
    let jw = k.journal;
    w.summary("editlog_write_latency_ms", &q(1.0), jw as f64 * 1.3, jw);
    w.summary("journal_write_batch", &q(3.0), jw as f64 * 2.0, jw / 2);
    w.summary("journal_write_bytes", &q(900.0), jw as f64 * 420.0, jw / 2);
    w.summary("journal_write_latency_ms", &q(2.0), jw as f64 * 2.1, jw / 2);
    // A Codahale histogram on a decaying reservoir: `_sum` is count × the reservoir's mean
    // (`PrometheusMetricVisitor.visitHistogram`), not a running total.
    let (quantiles, reservoir_mean) = if k.query_total > 0 {
        (
            values::summary_quantiles(n, t),
            values::reservoir_mean(n, t),
        )
    } else {
        ([0.0; 5], 0.0)
    };
    w.summary(
        "query_latency_ms",
        &quantiles,
        k.query_total as f64 * reservoir_mean,
        k.query_total,
    );

    // --- routine-load lag gauges (only with enable_routine_load_lag_metrics; leader) ---
    if let Some(Condition::RoutineLoadLag(rows)) = cl.condition(K::RoutineLoadLag, t)
        && leader
    {
        let name = "routine_load_max_lag_of_partition";
        w.head(name, "routine load max lag of partition", "gauge");
        for (job, lag) in [("rl_orders", rows), ("rl_clicks", rows / 3)] {
            w.start(name, &[("job_name", job)], true);
            w.int(lag);
        }
    }

    // --- node_info (always last) ---
    let fe_total = cl.fes().count() as i64;
    let fe_alive = cl.fes().filter(|f| f.alive()).count() as i64;
    let be_total = cl.backends().count() as i64;
    let be_alive = cl.backends().filter(|f| f.alive()).count() as i64;
    let cn_total = cl.compute_nodes().count() as i64;
    let cn_alive = cl.compute_nodes().filter(|f| f.alive()).count() as i64;
    w.s("# TYPE  node_info gauge\n");
    for (ty, st, v) in [
        ("fe_node_num", "total", fe_total),
        ("fe_node_num", "alive", fe_alive),
        ("be_node_num", "total", be_total),
        ("be_node_num", "alive", be_alive),
        ("be_node_num", "decommissioned", 0),
        ("broker_node_num", "dead", 0),
        ("cn_node_num", "total", cn_total),
        ("cn_node_num", "alive", cn_alive),
    ] {
        w.s("node_info{type=\"")
            .s(ty)
            .s("\", state=\"")
            .s(st)
            .s("\"} ");
        w.int(v);
    }
    if leader {
        w.s("node_info{type=\"is_master\"} 1\n");
    }
}

#[cfg(test)]
mod tests {
    use crate::model::NS;
    use crate::state::{AuxPorts, Placement, build_cluster, node_ids};
    use crate::{ClusterSpec, Version};

    #[test]
    fn body_size_is_realistic_for_any_seed() {
        for seed in 0..40 {
            for bes in [1, 3, 50] {
                let spec = ClusterSpec::new("c", 1, bes, Version::V3_3);
                let placements = node_ids(&spec)
                    .into_iter()
                    .enumerate()
                    .map(|(i, id)| Placement {
                        id,
                        addr: ([127, 0, 0, 1], 8000 + i as u16).into(),
                        aux: AuxPorts {
                            a: 9050,
                            b: 9060,
                            c: 8060,
                            d: 0,
                        },
                    })
                    .collect();
                let now = 1_800_000_000 * NS;
                let cl = build_cluster(seed, 0, &spec, placements, now);
                let mut b = Vec::new();
                super::render(&cl, &cl.nodes[0], now, &mut b);
                let lines = b.iter().filter(|c| **c == b'\n').count();
                assert!(
                    (400..=1000).contains(&lines),
                    "seed {seed}, {bes} BEs: {lines} lines"
                );
            }
        }
    }
}
