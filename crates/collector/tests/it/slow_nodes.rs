//! A hung or slow node never costs its cluster the snapshot (issue 11 §1): with the service's
//! default timeouts (10 s request, 3 s connect) and the deadline at the interval, a hung FE
//! (first and not first in `fe_hosts`), a hung BE and a 9 s-slow BE each leave a snapshot of
//! the rest every cycle, with that node's failure recorded as its `timeout`; a healthy cluster
//! collected alongside keeps its cadence, and no tick skips a cluster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rockscope_collector::{Collector, CollectorConfig, StatusBoard};
use rockscope_model::{MetricsSnapshot, SourceError};
use rockscope_sim::{Fault, NodeId, SimConfig, Simulator, Version};
use rockscope_store::Store;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::common::{block_on, poll_until, real_time_turn, register};

/// The clusters of one run: what is wrong with each, and the node expected to fail.
struct Case {
    what: &'static str,
    /// The failing node's address (`None`: every node answers).
    failing: Option<String>,
}

/// sim-1 healthy; sim-2 its first FE hung (the leader is the second); sim-3 its second FE hung;
/// sim-4 a BE hung; sim-5 a BE answering after 9 s.
fn start_cases() -> (Simulator, Vec<Case>) {
    let sim = Simulator::start(SimConfig::uniform(5, 2, 2, Version::V3_3, 11)).expect("sim");
    let infos = sim.clusters();
    let addr = |ci: usize, id: NodeId| infos[ci].node(id).expect("node").addr.to_string();
    // A hung leader would hang the followers' forwarded show_proc too; the hung FE is a follower.
    sim.set_leader("sim-2", NodeId::fe(1)).expect("leader");
    let faults = [
        ("sim-2", NodeId::fe(0), Fault::Hang),
        ("sim-3", NodeId::fe(1), Fault::Hang),
        ("sim-4", NodeId::be(0), Fault::Hang),
        ("sim-5", NodeId::be(0), Fault::Slow(Duration::from_secs(9))),
    ];
    for (cluster, node, fault) in faults {
        sim.set_fault(cluster, node, fault).expect("set fault");
    }
    let cases = vec![
        Case {
            what: "healthy",
            failing: None,
        },
        Case {
            what: "first FE hung",
            failing: Some(addr(1, NodeId::fe(0))),
        },
        Case {
            what: "second FE hung",
            failing: Some(addr(2, NodeId::fe(1))),
        },
        Case {
            what: "BE hung",
            failing: Some(addr(3, NodeId::be(0))),
        },
        Case {
            what: "BE 9 s slow",
            failing: Some(addr(4, NodeId::be(0))),
        },
    ];
    (sim, cases)
}

/// The service's defaults, with the deadline at the interval.
fn service_config(interval: Duration) -> CollectorConfig {
    CollectorConfig {
        interval,
        cluster_deadline: interval,
        ..CollectorConfig::default()
    }
}

fn snapshots(store: &Store, cluster_id: i64) -> Vec<MetricsSnapshot> {
    store
        .snapshots_range(
            cluster_id,
            OffsetDateTime::UNIX_EPOCH,
            OffsetDateTime::now_utc() + time::Duration::days(1),
            1_000,
        )
        .expect("snapshots_range")
}

/// Runs the collector over every case until each cluster has stored `cycles` snapshots (or
/// `limit` passes), then checks every cycle of every cluster. `slow_answers` says whether the
/// 9 s BE answers within the interval (then it is no failure).
fn run(interval: Duration, cycles: usize, limit: Duration, slow_answers: bool) {
    let (sim, cases) = start_cases();
    let infos = sim.clusters();
    block_on(async move {
        let store = Store::open_temporary().expect("temporary store");
        let ids: Vec<i64> = infos.iter().map(|i| register(&store, i).id).collect();
        let status = StatusBoard::default();
        let collector = Collector::new(service_config(interval), store.clone(), status.clone());
        let (stop, stopped) = watch::channel(false);
        let started = Instant::now();
        let running = tokio::spawn(Arc::clone(&collector).run(stopped, interval));
        poll_until(limit, "a snapshot per cycle of every cluster", || {
            ids.iter()
                .all(|&id| snapshots(&store, id).len() >= cycles)
                .then_some(())
        })
        .await;
        let elapsed = started.elapsed();
        stop.send(true).expect("stop");
        let _ = tokio::time::timeout(interval * 2, running).await;

        for ((case, &id), info) in cases.iter().zip(&ids).zip(&infos) {
            let stored = snapshots(&store, id);
            let times: Vec<f64> = stored
                .windows(2)
                .map(|w| (w[1].collected_at - w[0].collected_at).as_seconds_f64())
                .collect();
            eprintln!(
                "{interval:?} {} ({}): {} snapshots in {elapsed:?}, gaps {times:?}",
                info.name,
                case.what,
                stored.len()
            );
            let tolerance = 0.25 * interval.as_secs_f64();
            for gap in &times {
                assert!(
                    (gap - interval.as_secs_f64()).abs() <= tolerance,
                    "{}: one snapshot per interval, none skipped: gaps {times:?}",
                    case.what
                );
            }
            let expected: Vec<String> = match &case.failing {
                Some(addr) if !(slow_answers && case.what == "BE 9 s slow") => {
                    vec![format!("metrics {addr}")]
                }
                _ => Vec::new(),
            };
            for snapshot in &stored {
                let failed: Vec<&SourceError> = snapshot.source_errors.iter().collect();
                let sources: Vec<&str> = failed.iter().map(|e| e.source.as_str()).collect();
                assert_eq!(sources, expected, "{}: {failed:?}", case.what);
                for error in failed {
                    assert_eq!(error.code, "timeout", "{}: {error:?}", case.what);
                }
                assert_eq!(
                    snapshot.scrape_nodes_ok + expected.len() as i64,
                    snapshot.scrape_nodes_total,
                    "{}: every other node scraped",
                    case.what
                );
                assert_eq!(snapshot.scrape_nodes_total, 4, "{}", case.what);
            }
            let s = status.cluster(id).expect("status");
            assert_eq!(s.last_error, None, "{}", case.what);
            assert!(s.last_success_at.is_some(), "{}", case.what);
            // A repeating error is one row with its count (the error log is bounded).
            let recorded: Vec<_> = store
                .recent_errors(Some(id), 100)
                .expect("recent_errors")
                .into_iter()
                .map(|e| (e.stage, e.code, e.message, e.count))
                .collect();
            match expected.first() {
                Some(_) => {
                    let addr = case.failing.as_deref().unwrap_or_default();
                    let occurrences: u64 = recorded.iter().map(|r| r.3).sum();
                    assert!(occurrences >= cycles as u64, "{}: {recorded:?}", case.what);
                    for (stage, code, message, _) in &recorded {
                        assert_eq!((stage.as_str(), code.as_str()), ("scrape", "timeout"));
                        assert!(message.contains(addr), "{}: {message}", case.what);
                    }
                }
                None => assert!(recorded.is_empty(), "{}: {recorded:?}", case.what),
            }
        }
        let skipped: u32 = status.cycles().iter().map(|c| c.clusters_skipped).sum();
        assert_eq!(
            skipped,
            0,
            "no cluster still running at a tick: {:?}",
            status.cycles()
        );
    });
}

#[test]
fn hung_and_slow_nodes_at_a_2_s_interval() {
    let _turn = real_time_turn();
    // The hung nodes' requests (10 s timeout) end at the deadline: three cycles in ~6 s.
    run(Duration::from_secs(2), 3, Duration::from_secs(20), false);
}

#[test]
fn hung_and_slow_nodes_at_a_15_s_interval() {
    let _turn = real_time_turn();
    // The first FE hung costs the node lists the hedge (0.5 s), not a request timeout; the hung
    // nodes' scrapes end at their 10 s timeout; the 9 s BE answers. Two cycles in ~25 s.
    run(Duration::from_secs(15), 2, Duration::from_secs(45), true);
}
