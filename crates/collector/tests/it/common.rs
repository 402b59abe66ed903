//! Helpers shared by the collector's integration tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rockscope_collector::CollectorConfig;
use rockscope_engine::{EngineState, aggregate};
use rockscope_model::{CycleInput, MetricsSnapshot, SourceError};
use rockscope_sim::ClusterInfo;
use rockscope_store::{Cluster, NewCluster, Password, Store};
use time::OffsetDateTime;

/// Short timeouts so that broken clusters cost seconds, not minutes.
pub fn fast_config(interval: Duration) -> CollectorConfig {
    CollectorConfig {
        interval,
        concurrency: 16,
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(1),
        cluster_deadline: Duration::from_secs(2),
        ..CollectorConfig::default()
    }
}

/// Registers a simulated cluster in `store`.
pub fn register(store: &Store, info: &ClusterInfo) -> Cluster {
    store
        .create_cluster(&NewCluster {
            name: info.name.clone(),
            fe_hosts: info.fe_hosts.clone(),
            username: info.username.clone(),
            password: Password::new(info.password.clone()),
            connect_timeout_secs: None,
            request_timeout_secs: None,
            enabled: true,
        })
        .expect("register the cluster")
}

/// Registers a cluster the collector never collects (for housekeeping tests that store
/// snapshots directly).
pub fn register_disabled(store: &Store, name: &str) -> Cluster {
    store
        .create_cluster(&NewCluster {
            name: name.to_owned(),
            fe_hosts: vec!["127.0.0.1:9".to_owned()],
            username: "root".to_owned(),
            password: Password::default(),
            connect_timeout_secs: None,
            request_timeout_secs: None,
            enabled: false,
        })
        .expect("register the cluster")
}

/// A snapshot as the engine builds it from a cycle where nothing answered, at `at`.
pub fn snapshot_at(cluster_id: i64, at: OffsetDateTime) -> MetricsSnapshot {
    let error = SourceError {
        source: "show_proc".to_owned(),
        code: "connect".to_owned(),
        message: "synthetic".to_owned(),
    };
    let input = CycleInput {
        cluster_id,
        collected_at: at,
        frontends: Err(error.clone()),
        backends: Err(error.clone()),
        compute_nodes: Err(error),
        runtime_info: None,
        scrapes: Vec::new(),
        other_errors: Vec::new(),
    };
    aggregate(&EngineState::default(), &input).snapshot
}

/// `t` truncated to the millisecond (what the store keeps).
pub fn ms(t: OffsetDateTime) -> OffsetDateTime {
    let nanos = t.unix_timestamp_nanos();
    OffsetDateTime::from_unix_timestamp_nanos(nanos - nanos.rem_euclid(1_000_000)).unwrap()
}

/// Calls `check` every 20 ms until it returns `Some`, or panics with `what` after `limit`.
pub async fn poll_until<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A database path under the temp dir, unique per call; removed (with WAL files) on drop.
pub struct TempDb(pub PathBuf);

impl TempDb {
    pub fn new(tag: &str) -> TempDb {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "rockscope-collector-it-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        TempDb(dir.join("rockscope.db"))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Every snapshot time of a cluster, oldest first.
pub fn snapshot_times(store: &Store, cluster_id: i64) -> Vec<OffsetDateTime> {
    store
        .snapshots_range(
            cluster_id,
            OffsetDateTime::UNIX_EPOCH,
            OffsetDateTime::now_utc() + time::Duration::days(1),
            10_000,
        )
        .expect("snapshots_range")
        .into_iter()
        .map(|s| s.collected_at)
        .collect()
}

/// Runs `work` on a fresh multi-threaded runtime. The simulator starts its own runtime with
/// `block_on`, so simulator-backed tests start it first, outside any runtime, then call this.
pub fn block_on<F: std::future::Future>(work: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(work)
}

/// Tests that check the collector's cadence against the wall clock take turns: on a 2-core
/// machine another simulator-backed test running beside them would skew their timing. Hold the
/// guard for the whole test.
pub fn real_time_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
