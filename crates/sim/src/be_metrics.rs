//! BE/CN `GET /metrics`: StarRocks' C++ rendering followed by the brpc bvar dump.
//!
//! StarRocks part: one `# TYPE` line per family (no HELP), families in alphabetical order,
//! labels sorted by name and joined with `,`, samples sorted by label set, integers and
//! `std::to_string` doubles (6 decimals). bvar part: `# HELP name` (no text), `# TYPE name gauge`
//! or `summary`, names without prefix; `rpc_server_*` latency recorders folded into summaries
//! with quantiles 0.8/0.9/0.99/0.999/0.9999/1 plus `_sum`/`_count`.
//!
//! The family catalog (names, pre-rendered `# TYPE` lines and sample prefixes) is built once;
//! a request only formats numbers into the caller's buffer.

use std::sync::LazyLock;

use crate::EngineTask;
use crate::javafmt::{push_cpp_double, push_i64};
use crate::model::{NS, hash_str, mix, step_noise, unit};
use crate::state::{ClusterState, NodeState};
use crate::values::{self, CPU_MODES};

/// Where a family's values come from.
#[derive(Clone, Copy, Debug)]
enum Src {
    Cpu,
    /// Disk counter: 0 reads_completed, 1 bytes_read, 2 read_time_ms, 3 writes_completed,
    /// 4 bytes_written, 5 write_time_ms, 6 io_time_ms, 7 io_time_weigthed.
    Disk(u8),
    /// Network counter: 0 receive_bytes, 1 receive_packets, 2 send_bytes, 3 send_packets.
    Net(u8),
    /// 0 total, 1 avail, 2 data_used, 3 state.
    Disks(u8),
    /// Resource-group gauge (index into RG_FAMILIES).
    Rg(u8),
    ProcessMem,
    QueryMem,
    CumuScore,
    BaseScore,
    /// `max_disk_io_util_percent`.
    IoUtil,
    /// `max_tablet_rowset_num`.
    RowsetNum,
    /// `engine_requests_total{status, type}`: samples are `failed` then `total`, each over
    /// [`ENGINE_TYPES`].
    Engine,
    Fragments,
    /// Storage page cache counters, typed gauge by StarRocks although they only grow (from the
    /// process start): 0 `page_cache_lookup_count`, 1 `page_cache_hit_count`, then the ones
    /// only a newer build serves ([`PAGE_CACHE_NEWER`]): 2 `page_cache_insert_count`,
    /// 3 `page_cache_insert_evict_count`, 4 `page_cache_release_evict_count`.
    PageCache(u8),
    /// Counter proportional to process activity (per fragment).
    Ctr(f64),
    /// Integer gauge around a base, following load.
    Gauge(f64),
    /// Double gauge in [0, base).
    GaugeF(f64),
    Const(i64),
}

struct Fam {
    name: String,
    header: String,
    /// Pre-rendered `starrocks_be_name{labels} ` per static sample (label-less: one entry).
    samples: Vec<String>,
    src: Src,
    salt: u64,
}

const THREAD_POOLS: [&str; 29] = [
    "publish_version",
    "async_delta_writer",
    "load_spill_block_merge",
    "memtable_flush",
    "lake_memtable_flush",
    "segment_replicate",
    "segment_flush",
    "update_apply",
    "pk_index_compaction",
    "compact_pool",
    "drop",
    "create_tablet",
    "alter_tablet",
    "clear_transaction",
    "storage_medium_migrate",
    "check_consistency",
    "manual_compaction",
    "compaction_control",
    "update_schema",
    "upload",
    "download",
    "make_snapshot",
    "release_snapshot",
    "move_dir",
    "update_tablet_meta_info",
    "drop_auto_increment_map_dir",
    "clone",
    "remote_snapshot",
    "replicate_snapshot",
];

const MEM_GAUGES: [&str; 25] = [
    "load_mem_bytes",
    "metadata_mem_bytes",
    "tablet_metadata_mem_bytes",
    "rowset_metadata_mem_bytes",
    "segment_metadata_mem_bytes",
    "column_metadata_mem_bytes",
    "tablet_schema_mem_bytes",
    "column_zonemap_index_mem_bytes",
    "ordinal_index_mem_bytes",
    "bitmap_index_mem_bytes",
    "bloom_filter_index_mem_bytes",
    "segment_zonemap_mem_bytes",
    "short_key_index_mem_bytes",
    "compaction_mem_bytes",
    "schema_change_mem_bytes",
    "column_pool_mem_bytes",
    "storage_page_cache_mem_bytes",
    "jit_cache_mem_bytes",
    "update_mem_bytes",
    "chunk_allocator_mem_bytes",
    "clone_mem_bytes",
    "consistency_mem_bytes",
    "datacache_mem_bytes",
    "jemalloc_allocated_bytes",
    "jemalloc_resident_bytes",
];

const OTHER_GAUGES: [(&str, f64); 42] = [
    ("jemalloc_active_bytes", 4e9),
    ("jemalloc_metadata_bytes", 2e8),
    ("jemalloc_metadata_thp", 0.0),
    ("jemalloc_mapped_bytes", 6e9),
    ("jemalloc_retained_bytes", 3e9),
    ("fd_num_used", 30_000.0),
    ("process_fd_num_used", 8_000.0),
    ("process_thread_num", 1_500.0),
    ("memory_pool_bytes_total", 1e9),
    ("query_cache_capacity", 5e8),
    ("query_cache_usage", 1e8),
    ("tablet_update_max_compaction_score", 3.0),
    ("wait_cumulative_compaction_task_num", 4.0),
    ("wait_base_compaction_task_num", 2.0),
    ("running_cumulative_compaction_task_num", 3.0),
    ("running_base_compaction_task_num", 1.0),
    ("running_update_compaction_task_num", 1.0),
    ("cumulative_compaction_task_cost_time_ms", 3_000.0),
    ("base_compaction_task_cost_time_ms", 20_000.0),
    ("update_compaction_task_cost_time_ns", 5e8),
    ("base_compaction_task_byte_per_second", 5e7),
    ("cumulative_compaction_task_byte_per_second", 3e7),
    ("update_compaction_task_byte_per_second", 1e7),
    ("push_request_write_bytes_per_second", 0.0),
    ("query_scan_bytes_per_second", 2e8),
    ("max_network_send_bytes_rate", 5e7),
    ("max_network_receive_bytes_rate", 5e7),
    ("rowset_count_generated_and_in_use", 400.0),
    ("unused_rowsets_count", 20.0),
    ("data_stream_receiver_count", 30.0),
    ("fragment_endpoint_count", 30.0),
    ("active_scan_context_count", 5.0),
    ("plan_fragment_count", 40.0),
    ("load_channel_count", 6.0),
    ("result_buffer_block_count", 10.0),
    ("result_block_queue_count", 4.0),
    ("routine_load_task_count", 12.0),
    ("stream_load_pipe_count", 3.0),
    ("brpc_endpoint_stub_count", 12.0),
    ("tablet_writer_count", 8.0),
    ("pipe_driver_queue_len", 10.0),
    ("pipe_drivers", 120.0),
];

/// More StarRocks gauges (storage engine, caches, pipeline, primary keys).
const MORE_GAUGES: [(&str, f64); 22] = [
    ("page_cache_capacity", 4e9),
    ("datacache_mem_quota_bytes", 0.0),
    ("datacache_mem_used_bytes", 0.0),
    ("datacache_disk_quota_bytes", 0.0),
    ("datacache_disk_used_bytes", 0.0),
    ("datacache_meta_used_bytes", 0.0),
    ("pipe_poller_block_queue_len", 5.0),
    ("pipe_prepare_pool_queue_len", 1.0),
    ("pipe_scan_executor_queuing", 3.0),
    ("pipe_driver_overloaded", 0.0),
    ("pipe_driver_execution_time", 1e9),
    ("runtime_filter_event_queue_len", 1.0),
    ("update_primary_index_num", 400.0),
    ("update_primary_index_bytes_total", 3e8),
    ("update_del_vector_num", 800.0),
    ("update_del_vector_bytes_total", 5e6),
    ("update_del_vector_dels_num", 2e5),
    ("tablet_meta_mem_bytes", 2e8),
    ("consistency_check_memory", 0.0),
    ("lake_metacache_usage", 1e8),
    ("lake_metacache_capacity", 2e9),
    ("storage_page_cache_hit_ratio", 0.0),
];

/// More monotonic StarRocks counters.
const MORE_COUNTERS: [(&str, f64); 16] = [
    ("column_partial_update_apply_total", 0.01),
    ("column_partial_update_apply_duration_us", 20.0),
    ("delta_column_group_get_total", 0.5),
    ("delta_column_group_get_hit_cache", 0.45),
    ("delta_column_group_get_non_pk_total", 0.1),
    ("delta_column_group_get_non_pk_hit_cache", 0.09),
    ("primary_key_wait_apply_done_total", 0.01),
    ("primary_key_wait_apply_done_duration_ms", 2.0),
    ("load_channel_add_chunks_eos_total", 0.02),
    ("async_delta_writer_execute_duration_us", 200.0),
    ("delta_writer_pk_preload_duration_us", 10.0),
    ("delta_writer_txn_commit_duration_us", 50.0),
    ("segment_read_total", 6.0),
    ("publish_version_tasks_total", 0.05),
    ("tablet_schema_change_total", 0.0),
    ("transaction_streaming_load_bytes", 0.0),
];

const CONST_GAUGES: [(&str, i64); 5] = [
    ("fd_num_limit", 6_553_600),
    ("process_fd_num_limit_soft", 655_350),
    ("process_fd_num_limit_hard", 655_350),
    ("broker_count", 0),
    ("small_file_cache_count", 0),
];

const COUNTERS: [(&str, f64); 40] = [
    ("load_rows", 40.0),
    ("load_bytes", 8_000.0),
    ("fragment_request_duration_us", 25_000.0),
    ("http_requests_total", 0.2),
    ("http_request_send_bytes", 4_000.0),
    ("query_scan_bytes", 3e6),
    ("query_scan_rows", 40_000.0),
    ("push_request_duration_us", 0.0),
    ("push_request_write_bytes", 0.0),
    ("push_request_write_rows", 0.0),
    ("memtable_flush_total", 0.03),
    ("memtable_flush_duration_us", 900.0),
    ("memtable_flush_io_time_us", 500.0),
    ("segment_flush_total", 0.03),
    ("segment_flush_duration_us", 700.0),
    ("segment_flush_io_time_us", 400.0),
    ("segment_flush_bytes_total", 2e5),
    ("load_channel_add_chunks_total", 0.4),
    ("load_channel_add_chunks_duration_us", 400.0),
    ("load_channel_add_chunks_wait_memtable_duration_us", 100.0),
    ("async_delta_writer_execute_total", 0.4),
    ("async_delta_writer_task_total", 0.4),
    ("async_delta_writer_task_execute_duration_us", 300.0),
    ("delta_writer_commit_task_total", 0.05),
    ("delta_writer_wait_flush_duration_us", 80.0),
    ("update_rowset_commit_request_total", 0.01),
    ("update_rowset_commit_apply_total", 0.01),
    ("readable_blocks_total", 3.0),
    ("writable_blocks_total", 0.2),
    ("blocks_created_total", 0.2),
    ("blocks_deleted_total", 0.19),
    ("bytes_read_total", 3e6),
    ("bytes_written_total", 2e5),
    ("disk_sync_total", 0.2),
    ("short_circuit_request_total", 0.0),
    ("short_circuit_request_duration_us", 0.0),
    ("transaction_streaming_load_requests_total", 0.0),
    ("streaming_load_requests_total", 0.01),
    ("streaming_load_bytes", 5_000.0),
    ("pipe_driver_schedule_count", 60.0),
];

const RG_FAMILIES: [(&str, bool); 11] = [
    ("resource_group_bigquery_count", false),
    ("resource_group_concurrency_overflow_count", false),
    ("resource_group_connector_scan_use_ratio", true),
    ("resource_group_cpu_limit_ratio", true),
    ("resource_group_cpu_use_ratio", true),
    ("resource_group_inuse_cpu_cores", true),
    ("resource_group_mem_inuse_bytes", false),
    ("resource_group_mem_limit_bytes", false),
    ("resource_group_running_queries", false),
    ("resource_group_scan_use_ratio", true),
    ("resource_group_total_queries", false),
];

const ENGINE_TYPES: [&str; 16] = [
    "base_compaction",
    "clone",
    "create_rollup",
    "create_tablet",
    "cumulative_compaction",
    "delete",
    "drop_tablet",
    "finish_task",
    "publish",
    "report_all_tablets",
    "report_disk",
    "report_tablet",
    "report_task",
    "schema_change",
    "storage_migrate",
    "update_compaction",
];

fn sample(name: &str, labels: &[(&str, &str)]) -> String {
    let mut s = format!("starrocks_be_{name}");
    if !labels.is_empty() {
        let mut sorted = labels.to_vec();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let parts: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        s.push('{');
        s.push_str(&parts.join(","));
        s.push('}');
    }
    s.push(' ');
    s
}

fn fam(name: &str, ty: &str, samples: Vec<String>, src: Src) -> Fam {
    Fam {
        header: format!("# TYPE starrocks_be_{name} {ty}\n"),
        name: name.to_string(),
        samples,
        src,
        salt: hash_str(0x5eed, name),
    }
}

fn simple(name: &str, ty: &str, src: Src) -> Fam {
    fam(name, ty, vec![sample(name, &[])], src)
}

/// Labels with one key over several values (rendered sorted by value).
fn labelled(name: &str, ty: &str, key: &str, vals: &[&str], src: Src) -> Fam {
    let mut v = vals.to_vec();
    v.sort_unstable();
    fam(
        name,
        ty,
        v.iter().map(|x| sample(name, &[(key, x)])).collect(),
        src,
    )
}

/// The page cache counters a newer build added (see [`crate::ClusterSpec::with_newer_be`]).
const PAGE_CACHE_NEWER: [&str; 3] = [
    "page_cache_insert_count",
    "page_cache_insert_evict_count",
    "page_cache_release_evict_count",
];

const DISK_DEVICES: [&str; 3] = ["nvme0n1", "nvme1n1", "sda"];
const NET_DEVICES: [&str; 2] = ["eth0", "lo"];

static CATALOG: LazyLock<Vec<Fam>> = LazyLock::new(|| {
    let mut f = Vec::new();
    f.push(labelled("cpu", "counter", "mode", &[], Src::Cpu));
    // cpu keeps StarRocks' mode order in a map keyed by label set, i.e. sorted by mode.
    f.last_mut().expect("just pushed").samples = {
        let mut m = CPU_MODES.to_vec();
        m.sort_unstable();
        m.iter().map(|x| sample("cpu", &[("mode", x)])).collect()
    };
    for (i, n) in [
        "disk_reads_completed",
        "disk_bytes_read",
        "disk_read_time_ms",
        "disk_writes_completed",
        "disk_bytes_written",
        "disk_write_time_ms",
        "disk_io_time_ms",
        "disk_io_time_weigthed",
    ]
    .iter()
    .enumerate()
    {
        f.push(labelled(
            n,
            "counter",
            "device",
            &DISK_DEVICES,
            Src::Disk(i as u8),
        ));
    }
    for (i, n) in [
        "network_receive_bytes",
        "network_receive_packets",
        "network_send_bytes",
        "network_send_packets",
    ]
    .iter()
    .enumerate()
    {
        f.push(labelled(
            n,
            "counter",
            "device",
            &NET_DEVICES,
            Src::Net(i as u8),
        ));
    }
    for (i, n) in [
        "disks_total_capacity",
        "disks_avail_capacity",
        "disks_data_used_capacity",
        "disks_state",
    ]
    .iter()
    .enumerate()
    {
        // Paths differ per node kind: rendered at request time.
        f.push(fam(n, "gauge", Vec::new(), Src::Disks(i as u8)));
    }
    for (i, (n, _)) in RG_FAMILIES.iter().enumerate() {
        f.push(fam(n, "gauge", Vec::new(), Src::Rg(i as u8)));
    }
    f.push(labelled(
        "snmp",
        "counter",
        "name",
        &[
            "tcp_in_errs",
            "tcp_retrans_segs",
            "tcp_in_segs",
            "tcp_out_segs",
        ],
        Src::Ctr(3.0),
    ));
    let mut eng = Vec::new();
    for status in ["failed", "total"] {
        for ty in ENGINE_TYPES {
            eng.push(sample(
                "engine_requests_total",
                &[("status", status), ("type", ty)],
            ));
        }
    }
    f.push(fam("engine_requests_total", "counter", eng, Src::Engine));
    f.push(labelled(
        "push_requests_total",
        "counter",
        "status",
        &["FAIL", "SUCCESS"],
        Src::Ctr(0.0),
    ));
    for n in ["compaction_deltas_total", "compaction_bytes_total"] {
        let k = if n.contains("bytes") { 4e4 } else { 0.05 };
        f.push(labelled(
            n,
            "counter",
            "type",
            &["base", "cumulative", "update"],
            Src::Ctr(k),
        ));
    }
    f.push(labelled(
        "meta_request_total",
        "counter",
        "type",
        &["read", "write"],
        Src::Ctr(0.5),
    ));
    f.push(labelled(
        "meta_request_duration",
        "counter",
        "type",
        &["read", "write"],
        Src::Ctr(40.0),
    ));
    f.push(labelled(
        "segment_read",
        "counter",
        "type",
        &[
            "segment_rows_by_short_key",
            "segment_rows_read_by_zone_map",
            "segment_total_read_times",
            "segment_total_row_num",
        ],
        Src::Ctr(2_000.0),
    ));
    f.push(labelled(
        "txn_request",
        "counter",
        "type",
        &["begin", "commit", "exec", "rollback"],
        Src::Ctr(0.05),
    ));
    f.push(labelled(
        "stream_load",
        "counter",
        "type",
        &["load_rows", "receive_bytes"],
        Src::Ctr(200.0),
    ));
    for n in [
        "runtime_filter_events_in_queue",
        "runtime_filter_bytes_in_queue",
    ] {
        f.push(labelled(
            n,
            "gauge",
            "type",
            &[
                "SEND_BROADCAST_GRF",
                "SEND_PART_RF",
                "RECEIVE_TOTAL_RF",
                "CLOSE_QUERY",
            ],
            Src::Gauge(2.0),
        ));
    }
    f.push(simple("process_mem_bytes", "gauge", Src::ProcessMem));
    f.push(simple("query_mem_bytes", "gauge", Src::QueryMem));
    f.push(simple(
        "tablet_cumulative_max_compaction_score",
        "gauge",
        Src::CumuScore,
    ));
    f.push(simple(
        "tablet_base_max_compaction_score",
        "gauge",
        Src::BaseScore,
    ));
    f.push(simple("fragment_requests_total", "counter", Src::Fragments));
    f.push(simple("max_disk_io_util_percent", "gauge", Src::IoUtil));
    f.push(simple("max_tablet_rowset_num", "gauge", Src::RowsetNum));
    for n in MEM_GAUGES {
        f.push(simple(n, "gauge", Src::Gauge(2e8)));
    }
    for (n, base) in OTHER_GAUGES {
        f.push(simple(n, "gauge", Src::Gauge(base)));
    }
    for (n, base) in MORE_GAUGES {
        f.push(simple(n, "gauge", Src::Gauge(base)));
    }
    let page_cache = ["page_cache_lookup_count", "page_cache_hit_count"];
    for (k, n) in page_cache.iter().chain(&PAGE_CACHE_NEWER).enumerate() {
        f.push(simple(n, "gauge", Src::PageCache(k as u8)));
    }
    for (n, k) in MORE_COUNTERS {
        f.push(simple(n, "counter", Src::Ctr(k)));
    }
    for (n, v) in CONST_GAUGES {
        f.push(simple(n, "gauge", Src::Const(v)));
    }
    for (n, k) in COUNTERS {
        f.push(simple(n, "counter", Src::Ctr(k)));
    }
    for n in ["query_cache_usage_ratio", "query_cache_hit_ratio"] {
        f.push(simple(n, "gauge", Src::GaugeF(1.0)));
    }
    for n in ["query_cache_lookup_count", "query_cache_hit_count"] {
        f.push(simple(n, "gauge", Src::Ctr(0.5)));
    }
    // Thread pools: all gauges, even the monotonic `_total` ones (as StarRocks declares them).
    for pool in THREAD_POOLS {
        f.push(simple(
            &format!("{pool}_threadpool_size"),
            "gauge",
            Src::Const(16),
        ));
        f.push(simple(
            &format!("{pool}_executed_tasks_total"),
            "gauge",
            Src::Ctr(0.05),
        ));
        f.push(simple(
            &format!("{pool}_pending_time_ns_total"),
            "gauge",
            Src::Ctr(2e4),
        ));
        f.push(simple(
            &format!("{pool}_execute_time_ns_total"),
            "gauge",
            Src::Ctr(5e5),
        ));
        f.push(simple(
            &format!("{pool}_queue_count"),
            "gauge",
            Src::Gauge(1.0),
        ));
        f.push(simple(
            &format!("{pool}_running_threads"),
            "gauge",
            Src::Gauge(2.0),
        ));
        f.push(simple(
            &format!("{pool}_active_threads"),
            "gauge",
            Src::Gauge(1.0),
        ));
    }
    f.push(simple("load_rpc_threadpool_size", "gauge", Src::Const(32)));
    f.sort_by(|a, b| a.name.cmp(&b.name));
    f
});

/// brpc process/system gauges of the bvar tail, with a base value.
const BVARS: [(&str, f64); 60] = [
    ("bthread_count", 900.0),
    ("bthread_key_count", 30.0),
    ("bthread_keytable_count", 200.0),
    ("bthread_keytable_memory", 2e5),
    ("bthread_signal_second", 3000.0),
    ("bthread_switch_second", 9000.0),
    ("bthread_timer_scheduled_second", 200.0),
    ("bthread_timer_triggered_second", 200.0),
    ("bthread_timer_usage", 0.01),
    ("bthread_worker_count", 32.0),
    ("bthread_worker_usage", 1.5),
    ("iobuf_block_count", 4000.0),
    ("iobuf_block_count_hit_tls_threshold", 0.0),
    ("iobuf_block_memory", 3e7),
    ("iobuf_newbigview_second", 0.0),
    ("process_context_switches_involuntary_second", 300.0),
    ("process_context_switches_voluntary_second", 40_000.0),
    ("process_cpu_usage", 3.0),
    ("process_cpu_usage_system", 0.6),
    ("process_cpu_usage_user", 2.4),
    ("process_disk_read_bytes_second", 4e7),
    ("process_disk_write_bytes_second", 1e7),
    ("process_faults_major", 20.0),
    ("process_faults_minor_second", 2000.0),
    ("process_inblocks_second", 0.0),
    ("process_io_read_bytes_second", 4e7),
    ("process_io_read_second", 900.0),
    ("process_io_write_bytes_second", 1e7),
    ("process_io_write_second", 300.0),
    ("process_memory_data_and_stack", 8e9),
    ("process_memory_resident", 6e9),
    ("process_memory_shared", 5e7),
    ("process_memory_text", 1.5e8),
    ("process_memory_virtual", 2e10),
    ("process_nice", 0.0),
    ("process_open_fds", 8000.0),
    ("process_outblocks_second", 0.0),
    ("process_priority", 20.0),
    ("process_thread_count", 1500.0),
    ("process_uptime", 0.0),
    ("rpc_channel_connection_count", 40.0),
    ("rpc_controller_count", 60.0),
    ("rpc_event_thread_second", 900.0),
    ("rpc_health_check_count", 0.0),
    ("rpc_keepwrite_second", 0.0),
    ("rpc_server_8060_connection_count", 40.0),
    ("rpc_socket_count", 60.0),
    ("rpc_waitepollout_count", 0.0),
    ("rpc_waitepollout_second", 0.0),
    ("system_core_count", 0.0),
    ("system_loadavg_15m", 6.0),
    ("system_loadavg_1m", 6.0),
    ("system_loadavg_5m", 6.0),
    ("bvar_collector_dump_second", 0.0),
    ("bvar_collector_grab_second", 0.0),
    ("bvar_collector_pending_samples", 0.0),
    ("bvar_dump_interval", 10.0),
    ("bvar_sampler_collector_usage", 0.01),
    ("bvar_revision", 0.0),
    ("pid_file_rev", 0.0),
];

const RPC_SERVICES: [(&str, &[&str]); 2] = [
    (
        "starrocks_p_internal_service",
        &[
            "apply",
            "cancel_plan_fragment",
            "exec_batch_plan_fragments",
            "exec_plan_fragment",
            "exec_short_circuit",
            "execute_command",
            "fetch_data",
            "fetch_datacache",
            "get_file_schema",
            "get_info",
            "get_pulsar_info",
            "local_tablet_reader_multi_get",
            "lookup",
            "process_dictionary_cache",
            "tablet_writer_add_chunk",
            "tablet_writer_add_chunks",
            "tablet_writer_add_segment",
            "tablet_writer_cancel",
            "tablet_writer_open",
            "transmit_chunk",
            "transmit_chunk_via_http",
            "transmit_runtime_filter",
            "trigger_profile_report",
            "update_fail_point_status",
            "tablet_writer_add_batch",
            "get_load_error_msg",
            "fetch_arrow_schema",
            "list_fail_point",
            "stop_profiling",
            "submit_mv_maintenance_task",
        ],
    ),
    (
        "starrocks_lake_lake_service",
        &[
            "abort_compaction",
            "abort_txn",
            "compact",
            "delete_data",
            "delete_tablet",
            "drop_table",
            "get_tablet_stats",
            "lock_tablet_metadata",
            "publish_log_version",
            "publish_version",
            "restore_snapshots",
            "unlock_tablet_metadata",
            "upload_snapshots",
            "vacuum",
            "vacuum_full",
        ],
    ),
];

/// Appends the BE/CN `/metrics` body of node `n` at instant `t`.
pub(crate) fn render(cl: &ClusterState, n: &NodeState, t: i64, b: &mut Vec<u8>) {
    let m = n.be();
    let act = values::activity(n, t);
    let load = m.activity.curve.factor(t);
    let jiffies = values::cpu_jiffies(n, t);
    let newer = cl.newer_build(n);
    let page_cache = values::page_cache_counts(n, t);
    for f in CATALOG.iter() {
        if matches!(f.src, Src::PageCache(k) if k >= 2) && !newer {
            continue;
        }
        b.extend_from_slice(f.header.as_bytes());
        let per = unit(mix(n.seed ^ f.salt));
        match f.src {
            Src::Cpu => {
                // Samples are sorted by mode name; map each back to its /proc/stat column.
                for s in &f.samples {
                    b.extend_from_slice(s.as_bytes());
                    let mode = s.split('"').nth(1).unwrap_or("");
                    let i = CPU_MODES.iter().position(|x| *x == mode).unwrap_or(0);
                    line_i(b, jiffies[i]);
                }
            }
            Src::Disk(k) => {
                for (di, s) in f.samples.iter().enumerate() {
                    b.extend_from_slice(s.as_bytes());
                    let (rd, wr) = values::disk_bytes(n, di, t);
                    let (rops, wops) = (rd / 65_536, wr / 131_072);
                    line_i(
                        b,
                        match k {
                            0 => rops,
                            1 => rd,
                            2 => rops / 5,
                            3 => wops,
                            4 => wr,
                            5 => wops / 3,
                            6 => (rops + wops) / 6,
                            _ => (rops + wops) / 2,
                        },
                    );
                }
            }
            Src::Net(k) => {
                for (di, s) in f.samples.iter().enumerate() {
                    b.extend_from_slice(s.as_bytes());
                    let (send, recv) = values::net_bytes(n, di, t);
                    line_i(
                        b,
                        match k {
                            0 => recv,
                            1 => recv / 1_100,
                            2 => send,
                            _ => send / 1_100,
                        },
                    );
                }
            }
            Src::Disks(k) => {
                let mut idx: Vec<usize> = (0..m.paths.len()).collect();
                idx.sort_by_key(|i| m.paths[*i].path);
                for i in idx {
                    put(b, &f.name, &[("path", m.paths[i].path)]);
                    let (total, used, avail) = values::store(n, i, t);
                    line_i(b, [total, avail, used, 1][k as usize]);
                }
            }
            Src::Rg(k) => {
                let (name, double) = RG_FAMILIES[k as usize];
                let mut groups: Vec<&String> = cl.model.resource_groups.iter().collect();
                groups.sort();
                for (gi, g) in groups.iter().enumerate() {
                    put(b, name, &[("name", g)]);
                    let v = step_noise(f.salt ^ gi as u64 ^ n.seed, t, 30 * NS);
                    if double {
                        line_f(b, v * load * 0.3);
                    } else {
                        line_i(b, (v * 100.0 * load) as i64);
                    }
                }
            }
            Src::ProcessMem => one_i(b, f, values::process_mem(n, t)),
            Src::QueryMem => one_i(b, f, values::process_mem(n, t) / 3),
            Src::CumuScore => one_i(b, f, values::compaction_score(n, t) as i64),
            Src::BaseScore => one_i(b, f, (values::compaction_score(n, t) / 4.0) as i64),
            Src::Fragments => one_i(b, f, act as i64),
            Src::IoUtil => one_i(b, f, values::disk_io_util(n, t)),
            Src::RowsetNum => one_i(b, f, values::max_rowset_num(n, t)),
            Src::Engine => engine_requests(n, f, act, b, t),
            Src::PageCache(k) => {
                let (lookups, hits, inserts) = page_cache;
                let v = [lookups, hits, inserts, inserts * 9 / 10, inserts / 50];
                one_i(b, f, v[usize::from(k)]);
            }
            Src::Ctr(k) => {
                for (si, s) in f.samples.iter().enumerate() {
                    b.extend_from_slice(s.as_bytes());
                    let scale = k * (0.5 + unit(mix(n.seed ^ f.salt ^ si as u64)));
                    line_i(b, (act * scale) as i64);
                }
            }
            Src::Gauge(base) => {
                for (si, s) in f.samples.iter().enumerate() {
                    b.extend_from_slice(s.as_bytes());
                    let jitter = step_noise(n.seed ^ f.salt ^ si as u64, t, 15 * NS);
                    line_i(b, (base * (0.5 + per) * (0.6 * load + 0.4 * jitter)) as i64);
                }
            }
            Src::GaugeF(base) => {
                b.extend_from_slice(f.samples[0].as_bytes());
                line_f(b, base * per * step_noise(n.seed ^ f.salt, t, 15 * NS));
            }
            Src::Const(v) => one_i(b, f, v),
        }
    }
    bvar_tail(n, t, act, load, b);
}

/// `engine_requests_total`: tasks run with activity; failures only under an `EngineFailures`
/// condition (a healthy BE fails none), and they count in the total too.
fn engine_requests(n: &NodeState, f: &Fam, act: f64, b: &mut Vec<u8>, t: i64) {
    let failed: Vec<i64> = ENGINE_TYPES
        .iter()
        .map(|ty| EngineTask::from_label(ty).map_or(0, |task| values::engine_failures(n, task, t)))
        .collect();
    for (si, s) in f.samples.iter().enumerate() {
        b.extend_from_slice(s.as_bytes());
        let ti = si % ENGINE_TYPES.len();
        if si < ENGINE_TYPES.len() {
            line_i(b, failed[ti]);
        } else {
            let scale = 0.02 * (0.5 + unit(mix(n.seed ^ f.salt ^ ti as u64)));
            line_i(b, (act * scale) as i64 + failed[ti]);
        }
    }
}

fn put(b: &mut Vec<u8>, name: &str, labels: &[(&str, &str)]) {
    b.extend_from_slice(b"starrocks_be_");
    b.extend_from_slice(name.as_bytes());
    b.push(b'{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(b"=\"");
        b.extend_from_slice(v.as_bytes());
        b.push(b'"');
    }
    b.extend_from_slice(b"} ");
}

fn one_i(b: &mut Vec<u8>, f: &Fam, v: i64) {
    b.extend_from_slice(f.samples[0].as_bytes());
    line_i(b, v);
}

fn line_i(b: &mut Vec<u8>, v: i64) {
    push_i64(b, v);
    b.push(b'\n');
}

fn line_f(b: &mut Vec<u8>, v: f64) {
    push_cpp_double(b, v);
    b.push(b'\n');
}

fn bvar_head(b: &mut Vec<u8>, name: &str, suffix: &str, ty: &str) {
    for line in [("# HELP ", ""), ("# TYPE ", ty)] {
        b.extend_from_slice(line.0.as_bytes());
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(suffix.as_bytes());
        if !line.1.is_empty() {
            b.push(b' ');
            b.extend_from_slice(line.1.as_bytes());
        }
        b.push(b'\n');
    }
}

fn bvar_tail(n: &NodeState, t: i64, act: f64, load: f64, b: &mut Vec<u8>) {
    let m = n.be();
    let up_s = ((t - n.start_ns()).max(0) / NS) as f64;
    for (name, base) in BVARS {
        bvar_head(b, name, "", "gauge");
        b.extend_from_slice(name.as_bytes());
        b.push(b' ');
        let v = match name {
            "process_uptime" => up_s,
            "system_core_count" => m.cores as f64,
            "process_cpu_usage" => m.cores as f64 * m.busy.at(t),
            _ => base * load * (0.8 + 0.4 * step_noise(n.seed ^ hash_str(1, name), t, 10 * NS)),
        };
        if base < 10.0 && v.fract() != 0.0 {
            // brpc prints doubles with up to 6 significant digits.
            let r = (v * 1e4).round() / 1e4;
            let _ = std::io::Write::write_fmt(b, format_args!("{r}"));
            b.push(b'\n');
        } else {
            line_i(b, v as i64);
        }
    }
    let mut prefix = String::with_capacity(96);
    for (service, methods) in RPC_SERVICES {
        for method in methods {
            prefix.clear();
            prefix.push_str("rpc_server_8060_");
            prefix.push_str(service);
            prefix.push('_');
            prefix.push_str(method);
            let salt = hash_str(n.seed, method);
            let share = 0.02 + 0.2 * unit(salt);
            let count = (act * share) as i64;
            // The lifetime average latency is fixed per method so `_sum` only grows; the
            // recent quantiles follow the load.
            let avg = 50.0 + 3_000.0 * unit(mix(salt));
            let lat = avg * (0.5 + 0.5 * load);
            bvar_head(b, &prefix, "", "summary");
            for (q, mult) in [
                ("0.8", 1.2),
                ("0.9", 1.6),
                ("0.99", 4.0),
                ("0.999", 9.0),
                ("0.9999", 15.0),
                ("1", 30.0),
            ] {
                b.extend_from_slice(prefix.as_bytes());
                b.extend_from_slice(b"{quantile=\"");
                b.extend_from_slice(q.as_bytes());
                b.extend_from_slice(b"\"} ");
                line_i(b, if count == 0 { 0 } else { (lat * mult) as i64 });
            }
            b.extend_from_slice(prefix.as_bytes());
            b.extend_from_slice(b"_sum ");
            line_i(b, (count as f64 * avg) as i64);
            b.extend_from_slice(prefix.as_bytes());
            b.extend_from_slice(b"_count ");
            line_i(b, count);
            let concurrency = (step_noise(salt, t, 5 * NS) * 4.0) as i64;
            for (suffix, v) in [
                ("_qps", (m.activity.at(t) * share) as i64),
                ("_error", count / 20_000),
                ("_concurrency", concurrency),
                ("_max_concurrency", concurrency + 8),
                ("_eps", 0),
            ] {
                bvar_head(b, &prefix, suffix, "gauge");
                b.extend_from_slice(prefix.as_bytes());
                b.extend_from_slice(suffix.as_bytes());
                b.push(b' ');
                line_i(b, v);
            }
        }
    }
}
