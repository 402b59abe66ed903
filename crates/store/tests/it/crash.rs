//! Crash safety: a child process (this test binary, re-run on one test with an environment
//! variable) inserts cycles in a loop and is killed with SIGKILL mid-way.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rockscope_model::NodeKind;

use crate::support::*;

const CHILD_DB: &str = "ROCKSCOPE_STORE_CRASH_CHILD_DB";
const CHILD_CLUSTER: &str = "ROCKSCOPE_STORE_CRASH_CHILD_CLUSTER";
const NODES: i64 = 6;

/// The child's body: a no-op unless started by [`kill_9_mid_write_keeps_every_committed_cycle`].
#[test]
fn crash_child_writer() {
    let (Ok(path), Ok(cluster)) = (std::env::var(CHILD_DB), std::env::var(CHILD_CLUSTER)) else {
        return;
    };
    let cluster: i64 = cluster.parse().unwrap();
    let store = rockscope_store::Store::open(&path).unwrap();
    let start = store
        .latest_snapshot(cluster)
        .unwrap()
        .map(|s| ((s.collected_at - t0()).whole_seconds()) + 1)
        .unwrap_or(0);
    for i in start.. {
        let at = t0() + secs(i);
        let nodes: Vec<_> = (0..NODES)
            .map(|n| {
                node(
                    cluster,
                    at,
                    if n == 0 { NodeKind::Fe } else { NodeKind::Be },
                    &n.to_string(),
                    i,
                )
            })
            .collect();
        store
            .insert_cycle(&full_snapshot(cluster, at, i), &nodes)
            .unwrap();
        println!("committed {i}");
    }
}

#[test]
fn kill_9_mid_write_keeps_every_committed_cycle() {
    let db = TempDb::new("crash");
    let cluster = db.open().create_cluster(&new_cluster("a")).unwrap().id;
    let exe = std::env::current_exe().unwrap();
    let mut last_committed = -1i64;
    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args([
                "crash::crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &db.path)
            .env(CHILD_CLUSTER, cluster.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                last_committed = n.trim().parse().unwrap();
                seen += 1;
                if seen >= 150 + 37 * round || Instant::now() > deadline {
                    break;
                }
            }
        }
        assert!(seen > 0, "the child wrote nothing");
        child.kill().unwrap(); // SIGKILL on Unix
        let status = child.wait().unwrap();
        assert!(!status.success());

        // Reopen (recovering the WAL) and check.
        let store = db.open();
        assert_eq!(store.integrity_check().unwrap(), ["ok"], "round {round}");
        let snapshots = db.count(&format!(
            "SELECT COUNT(*) FROM metrics_snapshots WHERE cluster_id = {cluster}"
        ));
        assert!(
            snapshots > last_committed,
            "committed cycle {last_committed} lost ({snapshots} stored)"
        );
        // Every stored cycle is complete (one packed row of its 6 nodes), and no packed row
        // lacks its snapshot.
        let incomplete = db.count(
            "SELECT COUNT(*) FROM metrics_snapshots m WHERE NOT EXISTS \
             (SELECT 1 FROM node_cycles n \
              WHERE n.cluster_id = m.cluster_id AND n.collected_at = m.collected_at)",
        );
        assert_eq!(incomplete, 0);
        let orphans = db.count(
            "SELECT COUNT(*) FROM node_cycles n WHERE NOT EXISTS \
             (SELECT 1 FROM metrics_snapshots m \
              WHERE m.cluster_id = n.cluster_id AND m.collected_at = n.collected_at)",
        );
        assert_eq!(orphans, 0);
        let nodes = store
            .nodes_range(cluster, t0(), t0() + secs(100_000), usize::MAX)
            .unwrap();
        assert_eq!(nodes.len() as i64, snapshots * NODES);
        // The stored cycles are exactly 0..snapshots, each readable.
        let all = store
            .snapshots_range(cluster, t0(), t0() + secs(100_000), 100_000)
            .unwrap();
        assert_eq!(all.len() as i64, snapshots);
        for (i, s) in all.iter().enumerate() {
            assert_eq!(s, &full_snapshot(cluster, t0() + secs(i as i64), i as i64));
        }
    }
}
