//! Cadence and isolation: a healthy cluster keeps its fixed-rate snapshots next to a hung, a
//! 401 and a garbage-serving cluster; the broken ones are recorded with their errors; a cluster
//! slower than its deadline is never collected twice at once; a cluster wholly down stores
//! nothing and records each failed source with its stage.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rockscope_collector::{Collector, CollectorConfig, Stage, StatusBoard};
use rockscope_sim::{Fault, NodeKind, SimConfig, Simulator, Version};
use rockscope_store::{NewCluster, Password, Store};
use tokio::sync::watch;

use crate::common::{block_on, fast_config, poll_until, real_time_turn, register, snapshot_times};

const INTERVAL: Duration = Duration::from_secs(1);

#[test]
fn broken_clusters_leave_the_healthy_cadence_unchanged() {
    let _turn = real_time_turn();
    // sim-1 healthy, sim-2 hung, sim-3 answers 401, sim-4 serves garbage (every FE). The hung
    // cluster's requests run until its 2 s deadline (less the aggregation's reserve), longer
    // than the 1 s interval, so the tick in between skips it.
    let sim = Simulator::start(SimConfig::uniform(4, 2, 1, Version::V3_3, 7)).expect("sim");
    let infos = sim.clusters();
    for (info, fault) in infos[1..]
        .iter()
        .zip([Fault::Hang, Fault::Unauthorized, Fault::Garbage])
    {
        for fe in info.nodes_of(NodeKind::Fe) {
            sim.set_fault(&info.name, fe.id, fault).expect("set fault");
        }
    }
    block_on(async move {
        let store = Store::open_temporary().expect("temporary store");
        let ids: Vec<i64> = infos.iter().map(|i| register(&store, i).id).collect();
        let (healthy, hung, unauthorized, garbage) = (ids[0], ids[1], ids[2], ids[3]);

        let status = StatusBoard::default();
        let collector = Collector::new(fast_config(INTERVAL), store.clone(), status.clone());
        let (stop, stopped) = watch::channel(false);
        let started = Instant::now();
        let running = tokio::spawn(Arc::clone(&collector).run(stopped, Duration::from_secs(5)));

        // Watch the hung cluster's attempts on the status board: a new attempt may only start once
        // the previous one finished (it never succeeds, so finished attempts = consecutive failures).
        let mut hung_attempts = BTreeSet::new();
        let mut failures_midway = None;
        let observe = Duration::from_millis(5_500);
        while started.elapsed() < observe {
            if let Some(s) = status.cluster(hung) {
                if let Some(at) = s.last_attempt_at {
                    hung_attempts.insert(at);
                }
                assert!(
                    hung_attempts.len() as u32 <= s.consecutive_failures + 1,
                    "the hung cluster runs twice at once: {} attempts started, {} finished",
                    hung_attempts.len(),
                    s.consecutive_failures
                );
            }
            if failures_midway.is_none() && started.elapsed() >= Duration::from_millis(2_800) {
                failures_midway = Some(
                    [hung, unauthorized, garbage]
                        .map(|id| status.cluster(id).map_or(0, |s| s.consecutive_failures)),
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(10), running)
            .await
            .expect("the collector stops within its grace")
            .expect("the collector task ends cleanly");
        assert!(!status.is_running());

        // The healthy cluster: one snapshot per tick (t = 0, 1, …, 5), evenly spaced.
        let times = snapshot_times(&store, healthy);
        let gaps: Vec<f64> = times
            .windows(2)
            .map(|w| (w[1] - w[0]).as_seconds_f64())
            .collect();
        eprintln!(
            "healthy cluster next to hung/401/garbage: {} snapshots in {:.2} s, gaps {:?}",
            times.len(),
            observe.as_secs_f64(),
            gaps.iter().map(|g| format!("{g:.3}")).collect::<Vec<_>>()
        );
        assert!(
            times.len() >= 5,
            "a snapshot every interval: {} in {observe:?}",
            times.len()
        );
        for gap in &gaps {
            assert!(
                (0.75..=1.25).contains(gap),
                "the healthy cluster's snapshots are ~1 s apart, no gap: {gaps:?}"
            );
        }
        let healthy_status = status.cluster(healthy).expect("healthy status");
        assert_eq!(healthy_status.last_error, None);
        assert_eq!(healthy_status.consecutive_failures, 0);
        assert!(healthy_status.last_success_at.is_some());

        // The broken ones: no snapshot, failures counted and growing, errors recorded.
        let failures_midway = failures_midway.expect("observed midway");
        for (i, id) in [hung, unauthorized, garbage].into_iter().enumerate() {
            let s = status.cluster(id).expect("status of a broken cluster");
            eprintln!(
                "{}: consecutive_failures {} (midway {}), last_duration_ms {:?}, last_error {:?}",
                s.cluster_name,
                s.consecutive_failures,
                failures_midway[i],
                s.last_duration_ms,
                s.last_error
            );
            assert!(
                snapshot_times(&store, id).is_empty(),
                "{}: no snapshot",
                s.cluster_name
            );
            assert!(s.last_error.is_some(), "{}: last_error", s.cluster_name);
            assert!(s.last_success_at.is_none());
            assert!(
                s.consecutive_failures > failures_midway[i] && failures_midway[i] >= 1,
                "{}: failures grow ({} midway, {} at the end)",
                s.cluster_name,
                failures_midway[i],
                s.consecutive_failures
            );
            let errors = store.recent_errors(Some(id), 50).expect("recent_errors");
            assert!(!errors.is_empty(), "{}: errors stored", s.cluster_name);
            eprintln!(
                "  stored errors: {:?}",
                errors
                    .iter()
                    .map(|e| format!("{}/{}", e.stage, e.code))
                    .collect::<BTreeSet<_>>()
            );
        }
        let last = |id| status.cluster(id).unwrap().last_error.unwrap();
        assert!(last(hung).contains("no node answered"), "{}", last(hung));
        let codes = |id| -> BTreeSet<String> {
            store
                .recent_errors(Some(id), 50)
                .unwrap()
                .into_iter()
                .map(|e| e.code)
                .collect()
        };
        assert!(codes(hung).contains("timeout"), "{:?}", codes(hung));
        assert!(
            codes(unauthorized).contains("unauthorized"),
            "{:?}",
            codes(unauthorized)
        );
        assert!(
            codes(garbage).contains("malformed_body"),
            "{:?}",
            codes(garbage)
        );
        assert!(
            status.cycles().iter().any(|c| c.clusters_skipped > 0),
            "the hung cluster's ticks are skipped while it still runs: {:?}",
            status.cycles()
        );
        assert!(hung_attempts.len() >= 2, "{hung_attempts:?}");
    });
}

/// When each connection opened and (once it did) closed.
type Spans = Arc<Mutex<Vec<(Instant, Option<Instant>)>>>;

/// A listener that accepts, reads and never answers, and records when each connection was open.
struct HungServer {
    addr: String,
    spans: Spans,
}

impl HungServer {
    fn start() -> HungServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let spans: Spans = Arc::default();
        let recorded = Arc::clone(&spans);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream): Result<TcpStream, _> = stream else {
                    return;
                };
                let spans = Arc::clone(&recorded);
                let index = {
                    let mut spans = spans.lock().unwrap();
                    spans.push((Instant::now(), None));
                    spans.len() - 1
                };
                thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                    spans.lock().unwrap()[index].1 = Some(Instant::now());
                });
            }
        });
        HungServer { addr, spans }
    }

    /// The longest time two of its connections were open together.
    fn worst_overlap(&self, now: Instant) -> Duration {
        let spans = self.spans.lock().unwrap();
        let mut worst = Duration::ZERO;
        for (i, a) in spans.iter().enumerate() {
            for b in &spans[i + 1..] {
                let start = a.0.max(b.0);
                let end = a.1.unwrap_or(now).min(b.1.unwrap_or(now));
                worst = worst.max(end.saturating_duration_since(start));
            }
        }
        worst
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// The turn is taken before the test's first await and only orders whole tests.
#[allow(clippy::await_holding_lock)]
async fn no_request_outlives_the_deadline_and_no_cluster_is_collected_twice_at_once() {
    let _turn = real_time_turn();
    // Three hung entry points with the default 10 s request timeout and a 1 s deadline at a 1 s
    // interval: every request is cut at the deadline, so each tick finds the cluster free (none
    // skipped), and no two collections of the cluster ever talk to its nodes at once.
    let servers: Vec<HungServer> = (0..3).map(|_| HungServer::start()).collect();
    let store = Store::open_temporary().expect("temporary store");
    let cluster = store
        .create_cluster(&NewCluster {
            name: "hung".to_owned(),
            fe_hosts: servers.iter().map(|s| s.addr.clone()).collect(),
            username: "root".to_owned(),
            password: Password::default(),
            connect_timeout_secs: None,
            request_timeout_secs: None,
            enabled: true,
        })
        .expect("register");
    let config = CollectorConfig {
        interval: INTERVAL,
        cluster_deadline: Duration::from_secs(1),
        ..CollectorConfig::default()
    };
    let status = StatusBoard::default();
    let collector = Collector::new(config, store.clone(), status.clone());
    let (stop, stopped) = watch::channel(false);
    let running = tokio::spawn(Arc::clone(&collector).run(stopped, Duration::from_secs(3)));
    poll_until(Duration::from_secs(15), "three failed collections", || {
        status
            .cluster(cluster.id)
            .filter(|s| s.consecutive_failures >= 3)
    })
    .await;
    stop.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the collector stops within its grace")
        .expect("the collector task ends cleanly");

    let now = Instant::now();
    for server in &servers {
        for (opened, closed) in server.spans.lock().unwrap().iter() {
            let open_for = closed.unwrap_or(now).duration_since(*opened);
            assert!(
                open_for < Duration::from_millis(1_150),
                "a request outlived the 1 s deadline: open for {open_for:?}"
            );
        }
    }
    let skipped: u32 = status.cycles().iter().map(|c| c.clusters_skipped).sum();
    assert_eq!(skipped, 0, "{:?}", status.cycles());
    let connections: usize = servers.iter().map(|s| s.spans.lock().unwrap().len()).sum();
    let overlaps: Vec<Duration> = servers.iter().map(|s| s.worst_overlap(now)).collect();
    eprintln!("hung entry points: {connections} connections, worst overlaps {overlaps:?}");
    assert!(connections >= 6, "the cluster was tried repeatedly");
    for overlap in overlaps {
        assert!(
            overlap < Duration::from_millis(150),
            "two collections of one cluster ran at once (connections to one node overlapped \
             for {overlap:?})"
        );
    }
    let s = status.cluster(cluster.id).unwrap();
    assert!(s.last_error.unwrap().contains("no node answered"));
}

#[test]
fn a_cluster_wholly_down_stores_nothing_and_records_each_failed_source() {
    let sim = Simulator::start(SimConfig::uniform(1, 2, 2, Version::V3_3, 7)).expect("sim");
    sim.set_cluster_fault("sim-1", Fault::Down)
        .expect("whole cluster down");
    let info = sim.clusters().remove(0);
    block_on(async move {
        let store = Store::open_temporary().expect("temporary store");
        let id = register(&store, &info).id;
        let status = StatusBoard::default();
        let collector = Collector::new(fast_config(INTERVAL), store.clone(), status.clone());
        let outcomes = collector.collect_once().await;
        let outcome = &outcomes[0];
        let error = outcome.result.as_ref().expect_err("nothing answered");
        assert_eq!((error.stage(), error.code()), (Stage::Scrape, "no_answer"));
        assert_eq!(
            (outcome.nodes_ok, outcome.nodes_total),
            (0, 2),
            "the two FEs"
        );
        assert!(snapshot_times(&store, id).is_empty());
        let last_error = status.cluster(id).unwrap().last_error.unwrap();
        assert!(last_error.starts_with("no node answered"), "{last_error}");
        // One occurrence per failed source, with its stage; the summary itself is not stored
        // again. The two FEs' refusals differ only in their port, so they are one row counted
        // twice (the error log stores a repeating error once).
        let mut recorded: Vec<(String, String, u64)> = store
            .recent_errors(Some(id), 50)
            .unwrap()
            .into_iter()
            .map(|e| (e.stage, e.code, e.count))
            .collect();
        recorded.sort();
        let expected = [
            ("node_lists", "all_failed", 1),
            ("scrape", "connect_refused", 2),
        ]
        .map(|(s, c, n)| (s.to_owned(), c.to_owned(), n));
        assert_eq!(recorded, expected);
    });
}
