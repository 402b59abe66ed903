//! Helpers of the cycle-time and storage benchmarks: a simulated fleet registered in a store,
//! clients built like the collector builds them, a small parallel map, and readings of the
//! process's CPU time and of the machine's load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rockscope_sim::{SimConfig, SimError, Simulator, Version};
use rockscope_starrocks::ClusterClient;
use rockscope_store::{Cluster, NewCluster, Password, Store};

/// Seed of every simulated fleet of the benchmarks, so that runs serve the same bodies.
pub const SEED: u64 = 7;

/// A simulator serving `clusters` × (`fes` FE + `bes` BE) StarRocks 3.3 nodes on 127.0.0.1
/// (one OS-assigned port per node).
pub fn start_simulator(clusters: usize, fes: usize, bes: usize) -> Result<Simulator, SimError> {
    Simulator::start(SimConfig::uniform(clusters, fes, bes, Version::V3_3, SEED))
}

/// Registers every cluster of `sim` in `store` (enabled, default timeouts), in the simulator's
/// order. Fails on the first cluster the store refuses.
pub fn register_clusters(sim: &Simulator, store: &Store) -> rockscope_store::Result<Vec<Cluster>> {
    sim.clusters()
        .into_iter()
        .map(|c| {
            store.create_cluster(&NewCluster {
                name: c.name,
                fe_hosts: c.fe_hosts,
                username: c.username,
                password: Password::new(c.password),
                connect_timeout_secs: None,
                request_timeout_secs: None,
                enabled: true,
            })
        })
        .collect()
}

/// Registers `n` clusters named `{prefix}-{i}` and returns their ids.
pub fn add_clusters(store: &Store, prefix: &str, n: usize) -> Result<Vec<i64>, String> {
    (1..=n)
        .map(|i| {
            store
                .create_cluster(&NewCluster {
                    name: format!("{prefix}-{i}"),
                    fe_hosts: vec![format!("127.0.0.1:{}", 8030 + i)],
                    username: "root".to_owned(),
                    password: Password::new(""),
                    connect_timeout_secs: None,
                    request_timeout_secs: None,
                    enabled: true,
                })
                .map(|c| c.id)
                .map_err(|e| format!("registering a cluster: {e}"))
        })
        .collect()
}

/// A client for `cluster` with the settings the collector gives it by default (3 s connect,
/// 10 s request, 64 MiB body cap).
pub fn client_for(cluster: &Cluster) -> ClusterClient {
    ClusterClient::builder()
        .username(cluster.username.clone())
        .password(cluster.password.expose())
        .build()
}

/// `f` applied to every item by `workers` threads, each taking the next item as it frees up
/// (the collector's scheduling of clusters); results in the input order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    let mut guard = results.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(slot) = guard.get_mut(i) {
                        *slot = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// CPU time (user + system) of this process so far, threads that ended included; `None` where
/// `/proc/self/stat` cannot be read.
pub fn process_cpu() -> Option<Duration> {
    process_cpu_of(std::process::id())
}

/// CPU time (user + system) of process `pid` so far, all its threads, ended ones included;
/// `None` where `/proc/<pid>/stat` cannot be read.
pub fn process_cpu_of(pid: u32) -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time (user + system) of this process's live threads whose name starts with `prefix`
/// (e.g. the simulator's `rockscope-sim` workers); `None` where `/proc/self/task` cannot be read.
pub fn threads_cpu(prefix: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let path = entry.path();
        let Ok(comm) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        if let Some(t) = std::fs::read_to_string(path.join("stat"))
            .ok()
            .and_then(|s| stat_cpu(&s))
        {
            total += t;
        }
    }
    Some(total)
}

/// utime + stime of a `/proc/…/stat` line (fields 14 and 15, counted after the `(comm)`).
fn stat_cpu(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / USER_HZ))
}

/// The 1, 5 and 15 minute load averages as `/proc/loadavg` gives them (e.g. `0.48 1.43 1.60`),
/// or `unknown`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The median of `values` (the upper one of an even count); zero when empty.
pub fn median(values: &[Duration]) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// `d` in milliseconds with one decimal, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_reads_utime_and_stime_after_a_comm_with_spaces() {
        let line = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0";
        assert_eq!(stat_cpu(line), Some(Duration::from_secs(2)));
        assert_eq!(stat_cpu("garbage"), None);
        assert!(process_cpu_of(std::process::id()).is_some());
    }

    #[test]
    fn par_map_keeps_the_order() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            par_map(&items, 7, |x| x * 2),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        assert!(par_map(&Vec::<u32>::new(), 4, |x| *x).is_empty());
    }

    #[test]
    fn median_of_odd_and_empty() {
        let d = |ms| Duration::from_millis(ms);
        assert_eq!(median(&[d(3), d(1), d(2)]), d(2));
        assert_eq!(median(&[]), Duration::ZERO);
    }
}
