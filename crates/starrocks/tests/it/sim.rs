//! The client against the simulator (`rockscope-sim`): every endpoint of a 3-FE/5-BE cluster of
//! each version shape, and every fault mode mapped to its typed error within its timeout.
//!
//! The simulator binds every node on 127.0.0.1 with its own ephemeral port, so these tests run
//! in parallel with each other and with anything else. Nothing sleeps to wait for a state: fault
//! changes take effect when `set_fault` returns, and every call is bounded by the client's
//! timeouts, which the tests assert.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rockscope_model::FrontendRole;
use rockscope_promtext::{Mode, Parser};
use rockscope_sim::{
    ClusterInfo, Fault, NodeId, NodeInfo, NodeKind, SimConfig, Simulator, Version,
};
use rockscope_starrocks::{ClientError, ClusterClient, Endpoint, NodeAddr, TimeoutPhase};

const VERSIONS: [Version; 3] = [Version::V3_0, Version::V3_3, Version::V4_0];

/// The request timeout of the fault tests.
const TIMEOUT: Duration = Duration::from_secs(1);
/// What a failing call may cost beyond its timeout (thread wake-ups on a loaded machine).
const SLACK: Duration = Duration::from_secs(2);

/// A named call whose result is only judged by its error.
type Call<'a> = Box<dyn Fn() -> Result<(), ClientError> + 'a>;

fn start(version: Version, seed: u64) -> (Simulator, ClusterInfo) {
    let sim = Simulator::start(SimConfig::uniform(1, 3, 5, version, seed)).expect("simulator");
    let info = sim.clusters().remove(0);
    (sim, info)
}

fn client(info: &ClusterInfo, timeout: Duration) -> ClusterClient {
    ClusterClient::builder()
        .username(info.username.clone())
        .password(info.password.as_str())
        .connect_timeout(timeout)
        .request_timeout(timeout)
        .build()
}

fn addr(node: &NodeInfo) -> NodeAddr {
    NodeAddr::new(node.addr.ip().to_string(), node.addr.port())
}

fn node(info: &ClusterInfo, id: NodeId) -> NodeAddr {
    addr(info.node(id).expect("node"))
}

fn addrs_of(info: &ClusterInfo, kind: NodeKind) -> BTreeSet<NodeAddr> {
    info.nodes_of(kind).map(addr).collect()
}

/// The value of the first sample named `name` in a `/metrics` body.
fn sample_value(body: &[u8], name: &str) -> Option<f64> {
    Parser::new(body, Mode::Lenient)
        .filter_map(Result::ok)
        .find(|s| s.name == name)
        .map(|s| s.value)
}

/// Runs `call`, returns its error and how long it took; fails if it succeeded.
fn failing<T: std::fmt::Debug>(
    call: impl FnOnce() -> Result<T, ClientError>,
) -> (ClientError, Duration) {
    let started = Instant::now();
    let result = call();
    let elapsed = started.elapsed();
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e, elapsed),
    }
}

#[test]
fn reads_every_endpoint_of_each_version_shape() {
    for (i, version) in VERSIONS.into_iter().enumerate() {
        let (sim, info) = start(version, 11 + i as u64);
        let client = client(&info, Duration::from_secs(5));
        let fe_addrs = addrs_of(&info, NodeKind::Fe);
        let be_addrs = addrs_of(&info, NodeKind::Be);

        // The topology from the first entry point.
        let topology = client.leader_view(&info.fe_hosts).expect("leader_view");
        assert_eq!(
            topology.answered_by,
            node(&info, NodeId::fe(0)),
            "{version}"
        );
        assert!(topology.failed_attempts.is_empty(), "{version}");
        assert_eq!(topology.frontends.len(), 3, "{version}");
        let leaders: Vec<_> = topology
            .frontends
            .iter()
            .filter(|f| f.is_leader())
            .collect();
        assert_eq!(leaders.len(), 1, "{version}: {:?}", topology.frontends);
        let leader = info.leader().expect("sim leader");
        assert_eq!(
            NodeAddr::new(leaders[0].ip.clone(), leaders[0].http_port),
            addr(leader),
            "{version}"
        );
        assert_eq!(
            topology
                .frontends
                .iter()
                .filter(|f| f.role == FrontendRole::Follower)
                .count(),
            2,
            "{version}"
        );
        assert!(topology.frontends.iter().all(|f| f.alive), "{version}");
        let listed_fes: BTreeSet<_> = topology
            .frontends
            .iter()
            .map(|f| NodeAddr::new(f.ip.clone(), f.http_port))
            .collect();
        assert_eq!(listed_fes, fe_addrs, "{version}");
        assert_eq!(topology.backends.len(), 5, "{version}");
        assert!(topology.backends.iter().all(|b| b.alive), "{version}");
        let listed_bes: BTreeSet<_> = topology
            .backends
            .iter()
            .map(|b| NodeAddr::new(b.ip.clone(), b.http_port))
            .collect();
        assert_eq!(listed_bes, be_addrs, "{version}");
        for be in &topology.backends {
            assert!(
                be.total_capacity_bytes.unwrap_or(0) > 0,
                "{version}: {be:?}"
            );
            assert!(be.avail_capacity_bytes.is_some(), "{version}: {be:?}");
            assert!(be.data_used_capacity_bytes.is_some(), "{version}: {be:?}");
            assert!(be.tablet_num.unwrap_or(0) > 0, "{version}: {be:?}");
            assert_eq!(be.version.as_deref(), Some(version.build()), "{version}");
            assert_eq!(
                be.status_code.is_some(),
                version == Version::V4_0,
                "{version}: StatusCode only from 4.0"
            );
        }
        assert!(topology.compute_nodes.is_empty(), "{version}");

        // Through a follower, the lists are the leader's. Freeze the served clock so that the
        // moving values (heartbeat times, CPU and memory use) are the same in both answers.
        let follower = node(&info, NodeId::fe(1));
        let leader_addr = addr(leader);
        sim.set_manual_time(Some(sim.now()));
        assert_eq!(
            client.show_frontends(&follower).unwrap(),
            client.show_frontends(&leader_addr).unwrap(),
            "{version}"
        );
        assert_eq!(
            client.show_backends(&follower).unwrap(),
            client.show_backends(&leader_addr).unwrap(),
            "{version}"
        );
        assert_eq!(
            client.show_compute_nodes(&follower).unwrap(),
            client.show_compute_nodes(&leader_addr).unwrap(),
            "{version}"
        );
        sim.set_manual_time(None);

        // /metrics of every node parses cleanly (4.0 requires auth there; the client sends it).
        for n in &info.nodes {
            let a = addr(n);
            let scrape = client
                .fetch_metrics(&a)
                .unwrap_or_else(|e| panic!("{version} {}: {e}", n.id));
            let samples =
                strict_samples(&scrape.body).unwrap_or_else(|e| panic!("{version} {}: {e}", n.id));
            let min_samples = if n.kind == NodeKind::Fe { 100 } else { 500 };
            assert!(
                samples >= min_samples,
                "{version} {}: {samples} samples",
                n.id
            );
            if n.kind == NodeKind::Fe {
                assert!(
                    sample_value(&scrape.body, "starrocks_fe_query_total").unwrap() > 0.0,
                    "{version} {}",
                    n.id
                );
            } else {
                assert!(
                    sample_value(&scrape.body, "starrocks_be_cpu").is_some(),
                    "{version} {}",
                    n.id
                );
            }
        }

        // Runtime info and health of every FE, health of every BE.
        for fe in info.nodes_of(NodeKind::Fe) {
            let a = addr(fe);
            let runtime = client.runtime_info(&a).unwrap();
            assert!(runtime.max_mem > 0, "{version}");
            assert!(
                runtime.total_mem <= runtime.max_mem,
                "{version}: {runtime:?}"
            );
            assert!(runtime.used_mem() > 0, "{version}: {runtime:?}");
            assert!(runtime.thread_cnt > 0, "{version}");
            let health = client.fe_health(&a).unwrap();
            assert!(health.is_ok(), "{version}: {health:?}");
            assert_eq!(
                (health.online_backend_num, health.total_backend_num),
                (5, 5),
                "{version}"
            );
        }
        for be in info.nodes_of(NodeKind::Be) {
            let health = client.be_health(&addr(be)).unwrap();
            assert!(health.is_ok(), "{version}: {health:?}");
        }
    }
}

#[test]
fn metrics_auth_follows_the_version() {
    for (i, version) in VERSIONS.into_iter().enumerate() {
        let (_sim, info) = start(version, 21 + i as u64);
        let wrong = ClusterClient::builder()
            .username(info.username.clone())
            .password("not-the-password")
            .request_timeout(Duration::from_secs(5))
            .build();
        let fe = node(&info, NodeId::fe(0));
        let be = node(&info, NodeId::be(0));
        // show_proc needs auth in every version.
        let (err, _) = failing(|| wrong.show_backends(&fe));
        assert_eq!(err.code(), "unauthorized", "{version}: {err}");
        assert!(
            matches!(err, ClientError::Unauthorized { status: 401, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("root role"), "{err}");
        // /metrics needs it only from 4.0 on.
        for a in [&fe, &be] {
            let result = wrong.fetch_metrics(a);
            if version == Version::V4_0 {
                let err = result.unwrap_err();
                assert_eq!(err.code(), "unauthorized", "{version}: {err}");
            } else {
                assert!(has_samples(&result.unwrap().body), "{version}");
            }
        }
    }
}

#[test]
fn down_node_is_refused_at_once() {
    let (sim, info) = start(Version::V3_3, 31);
    let client = client(&info, TIMEOUT);
    let (fe, be) = (node(&info, NodeId::fe(1)), node(&info, NodeId::be(0)));
    // A pooled connection exists before the node goes down.
    client.fetch_metrics(&be).unwrap();
    sim.set_fault("sim-1", NodeId::be(0), Fault::Down).unwrap();
    sim.set_fault("sim-1", NodeId::fe(1), Fault::Down).unwrap();
    let (err, elapsed) = failing(|| client.fetch_metrics(&be));
    assert_eq!(err.code(), "connect_refused", "{err}");
    assert_eq!(err.node(), Some(&be));
    assert_eq!(err.endpoint(), Some(Endpoint::Metrics));
    assert!(elapsed < TIMEOUT, "{elapsed:?}");
    let (err, elapsed) = failing(|| client.show_backends(&fe));
    assert_eq!(err.code(), "connect_refused", "{err}");
    assert!(elapsed < TIMEOUT, "{elapsed:?}");
    let (err, _) = failing(|| client.be_health(&be));
    assert_eq!(err.code(), "connect_refused", "{err}");
    // The leader lists the down BE as not alive, and so does its health endpoint.
    let leader = node(&info, NodeId::fe(0));
    let backends = client.show_backends(&leader).unwrap();
    let down: Vec<_> = backends.iter().filter(|b| !b.alive).collect();
    assert_eq!(down.len(), 1, "{backends:?}");
    assert_eq!(down[0].http_port, be.port);
    assert_eq!(client.fe_health(&leader).unwrap().online_backend_num, 4);
    // Back up: answers again.
    sim.set_fault("sim-1", NodeId::be(0), Fault::None).unwrap();
    assert!(has_samples(&client.fetch_metrics(&be).unwrap().body));
}

#[test]
fn hung_node_costs_no_more_than_the_timeout() {
    let (sim, info) = start(Version::V3_3, 41);
    let client = client(&info, TIMEOUT);
    let (fe, be) = (node(&info, NodeId::fe(1)), node(&info, NodeId::be(0)));
    sim.set_fault("sim-1", NodeId::be(0), Fault::Hang).unwrap();
    sim.set_fault("sim-1", NodeId::fe(1), Fault::Hang).unwrap();
    let calls: Vec<(&str, Call<'_>)> = vec![
        (
            "metrics be",
            Box::new(|| client.fetch_metrics(&be).map(drop)),
        ),
        ("health be", Box::new(|| client.be_health(&be).map(drop))),
        (
            "frontends",
            Box::new(|| client.show_frontends(&fe).map(drop)),
        ),
        ("runtime", Box::new(|| client.runtime_info(&fe).map(drop))),
    ];
    for (what, call) in calls {
        let (err, elapsed) = failing(call);
        assert_eq!(err.code(), "timeout", "{what}: {err}");
        assert!(
            matches!(
                err,
                ClientError::Timeout {
                    phase: TimeoutPhase::Request,
                    ..
                }
            ),
            "{what}: {err:?}"
        );
        assert!(
            elapsed >= TIMEOUT - Duration::from_millis(100),
            "{what}: gave up early: {elapsed:?}"
        );
        assert!(elapsed < TIMEOUT + SLACK, "{what}: {elapsed:?}");
    }
    // Healthy again: the same client answers (the hung connections were dropped, not reused).
    sim.set_fault("sim-1", NodeId::be(0), Fault::None).unwrap();
    assert!(has_samples(&client.fetch_metrics(&be).unwrap().body));
}

#[test]
fn slow_node_times_out_or_answers_within_the_timeout() {
    let (sim, info) = start(Version::V3_3, 51);
    let client = client(&info, TIMEOUT);
    let be = node(&info, NodeId::be(1));
    sim.set_fault("sim-1", NodeId::be(1), Fault::Slow(Duration::from_secs(2)))
        .unwrap();
    let (err, elapsed) = failing(|| client.fetch_metrics(&be));
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(elapsed < TIMEOUT + SLACK, "{elapsed:?}");
    // Slow, but within the timeout: an answer.
    sim.set_fault(
        "sim-1",
        NodeId::be(1),
        Fault::Slow(Duration::from_millis(200)),
    )
    .unwrap();
    let started = Instant::now();
    let scrape = client.fetch_metrics(&be).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(scrape.duration_ms >= 200, "{}", scrape.duration_ms);
    assert!(strict_samples(&scrape.body).is_ok_and(|n| n > 0));
}

#[test]
fn http_errors_are_typed() {
    let (sim, info) = start(Version::V3_3, 61);
    let client = client(&info, TIMEOUT);
    let (fe, be) = (node(&info, NodeId::fe(2)), node(&info, NodeId::be(2)));

    sim.set_fault("sim-1", NodeId::be(2), Fault::Http500)
        .unwrap();
    sim.set_fault("sim-1", NodeId::fe(2), Fault::Http500)
        .unwrap();
    let (err, _) = failing(|| client.fetch_metrics(&be));
    assert_eq!(err.code(), "http_status", "{err}");
    assert!(
        matches!(err, ClientError::HttpStatus { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("Internal Server Error"), "{err}");
    let (err, _) = failing(|| client.show_backends(&fe));
    assert!(
        matches!(err, ClientError::HttpStatus { status: 500, .. }),
        "{err:?}"
    );

    sim.set_fault("sim-1", NodeId::be(2), Fault::Unauthorized)
        .unwrap();
    sim.set_fault("sim-1", NodeId::fe(2), Fault::Unauthorized)
        .unwrap();
    let (err, _) = failing(|| client.fetch_metrics(&be));
    assert_eq!(err.code(), "unauthorized", "{err}");
    assert!(
        matches!(err, ClientError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    let (err, _) = failing(|| client.show_frontends(&fe));
    assert_eq!(err.code(), "unauthorized", "{err}");
    assert!(err.to_string().contains("ADMIN privilege"), "{err}");
    assert!(err.to_string().contains("root role"), "{err}");
    let (err, _) = failing(|| client.runtime_info(&fe));
    assert_eq!(err.code(), "unauthorized", "{err}");
}

#[test]
fn garbage_bodies() {
    let (sim, info) = start(Version::V3_3, 71);
    let client = client(&info, TIMEOUT);
    let (fe, be) = (node(&info, NodeId::fe(1)), node(&info, NodeId::be(3)));
    sim.set_fault("sim-1", NodeId::be(3), Fault::Garbage)
        .unwrap();
    sim.set_fault("sim-1", NodeId::fe(1), Fault::Garbage)
        .unwrap();
    // JSON endpoints: a malformed body.
    let json_calls: Vec<(&str, Call<'_>)> = vec![
        ("backends", Box::new(|| client.show_backends(&fe).map(drop))),
        (
            "frontends",
            Box::new(|| client.show_frontends(&fe).map(drop)),
        ),
        (
            "compute_nodes",
            Box::new(|| client.show_compute_nodes(&fe).map(drop)),
        ),
        ("runtime", Box::new(|| client.runtime_info(&fe).map(drop))),
        ("fe health", Box::new(|| client.fe_health(&fe).map(drop))),
        ("be health", Box::new(|| client.be_health(&be).map(drop))),
    ];
    for (what, call) in json_calls {
        let (err, _) = failing(call);
        assert_eq!(err.code(), "malformed_body", "{what}: {err}");
    }
    // /metrics: bad lines are skipped and counted, but a body with no valid sample at all is
    // a malformed body, not an empty scrape.
    for a in [&be, &fe] {
        let err = client.fetch_metrics(a).unwrap_err();
        assert_eq!(err.code(), "malformed_body", "{a}: {err}");
        assert!(err.to_string().contains("no valid sample"), "{a}: {err}");
    }
}

#[test]
fn truncated_bodies() {
    let (sim, info) = start(Version::V3_3, 81);
    let client = client(&info, TIMEOUT);
    let (fe, be) = (node(&info, NodeId::fe(1)), node(&info, NodeId::be(4)));
    sim.set_fault("sim-1", NodeId::be(4), Fault::Truncated)
        .unwrap();
    sim.set_fault("sim-1", NodeId::fe(1), Fault::Truncated)
        .unwrap();
    let calls: Vec<(&str, Call<'_>)> = vec![
        (
            "metrics be",
            Box::new(|| client.fetch_metrics(&be).map(drop)),
        ),
        (
            "metrics fe",
            Box::new(|| client.fetch_metrics(&fe).map(drop)),
        ),
        ("backends", Box::new(|| client.show_backends(&fe).map(drop))),
        ("runtime", Box::new(|| client.runtime_info(&fe).map(drop))),
        ("be health", Box::new(|| client.be_health(&be).map(drop))),
    ];
    for (what, call) in calls {
        let (err, elapsed) = failing(call);
        assert!(
            matches!(err.code(), "io" | "malformed_body"),
            "{what}: {err}"
        );
        assert!(elapsed < TIMEOUT + SLACK, "{what}: {elapsed:?}");
    }
}

#[test]
fn huge_bodies_over_the_cap_are_refused() {
    let (sim, info) = start(Version::V3_3, 91);
    let cap = 1 << 20;
    let client = ClusterClient::builder()
        .username(info.username.clone())
        .password(info.password.as_str())
        .request_timeout(Duration::from_secs(5))
        .max_body_bytes(cap)
        .build();
    let (fe, be) = (node(&info, NodeId::fe(2)), node(&info, NodeId::be(0)));
    sim.set_fault("sim-1", NodeId::be(0), Fault::Huge(8 << 20))
        .unwrap();
    sim.set_fault("sim-1", NodeId::fe(2), Fault::Huge(8 << 20))
        .unwrap();
    let (err, elapsed) = failing(|| client.fetch_metrics(&be));
    assert_eq!(err.code(), "body_too_large", "{err}");
    assert!(matches!(err, ClientError::BodyTooLarge { limit, .. } if limit == cap));
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let (err, _) = failing(|| client.show_backends(&fe));
    assert_eq!(err.code(), "body_too_large", "{err}");
    // Under the cap, a huge but valid body is read whole.
    let size = 512 << 10;
    sim.set_fault("sim-1", NodeId::be(0), Fault::Huge(size))
        .unwrap();
    let scrape = client.fetch_metrics(&be).unwrap();
    assert_eq!(scrape.body.len(), size);
    let samples = strict_samples(&scrape.body).unwrap();
    assert!(samples > 10_000, "{samples}");
    // Exactly at the cap is still accepted; one byte more is not.
    sim.set_fault("sim-1", NodeId::be(0), Fault::Huge(cap as usize))
        .unwrap();
    assert_eq!(client.fetch_metrics(&be).unwrap().body.len() as u64, cap);
    sim.set_fault("sim-1", NodeId::be(0), Fault::Huge(cap as usize + 1))
        .unwrap();
    assert_eq!(
        failing(|| client.fetch_metrics(&be)).0.code(),
        "body_too_large"
    );
}

#[test]
fn dead_backend_is_listed_not_alive_but_still_serves() {
    let (sim, info) = start(Version::V3_3, 101);
    let client = client(&info, Duration::from_secs(5));
    sim.set_fault("sim-1", NodeId::be(3), Fault::Dead).unwrap();
    let dead = node(&info, NodeId::be(3));
    let topology = client.leader_view(&info.fe_hosts).unwrap();
    for be in &topology.backends {
        let is_dead = be.http_port == dead.port && be.ip == dead.host;
        assert_eq!(be.alive, !is_dead, "{be:?}");
        if is_dead {
            assert!(!be.err_msg.is_empty(), "{be:?}");
        }
    }
    let health = client.fe_health(&node(&info, NodeId::fe(0))).unwrap();
    assert_eq!(
        (health.online_backend_num, health.total_backend_num),
        (4, 5)
    );
    // Marked dead by the FE, but the process still answers.
    assert!(has_samples(&client.fetch_metrics(&dead).unwrap().body));
    sim.set_fault("sim-1", NodeId::be(3), Fault::None).unwrap();
    let backends = client.show_backends(&node(&info, NodeId::fe(0))).unwrap();
    assert!(backends.iter().all(|b| b.alive));
}

#[test]
fn leader_view_falls_back_to_the_next_entry_point() {
    let (sim, info) = start(Version::V3_3, 111);
    let client = client(&info, TIMEOUT);
    let second = node(&info, NodeId::fe(1));
    for (fault, code) in [
        (Fault::Down, "connect_refused"),
        (Fault::Hang, "timeout"),
        (Fault::Http500, "http_status"),
        (Fault::Garbage, "malformed_body"),
    ] {
        sim.set_fault("sim-1", NodeId::fe(0), fault).unwrap();
        let started = Instant::now();
        let topology = client.leader_view(&info.fe_hosts).unwrap();
        let elapsed = started.elapsed();
        assert_eq!(topology.answered_by, second, "{fault:?}");
        assert_eq!(topology.failed_attempts.len(), 1, "{fault:?}");
        let failed = &topology.failed_attempts[0];
        assert_eq!(failed.code(), code, "{fault:?}: {failed}");
        assert_eq!(failed.node(), Some(&node(&info, NodeId::fe(0))));
        assert_eq!(topology.frontends.len(), 3);
        assert_eq!(topology.backends.len(), 5);
        // One failed entry point costs at most one timeout.
        assert!(elapsed < TIMEOUT + SLACK, "{fault:?}: {elapsed:?}");
    }
    // Every entry point down: all attempts recorded.
    for i in 0..3 {
        sim.set_fault("sim-1", NodeId::fe(i), Fault::Down).unwrap();
    }
    let (err, _) = failing(|| client.leader_view(&info.fe_hosts));
    let ClientError::AllEntryPointsFailed { attempts } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| a.code() == "connect_refused"));
}

#[test]
fn leader_change_is_seen_through_any_entry_point() {
    let (sim, info) = start(Version::V4_0, 121);
    let client = client(&info, Duration::from_secs(5));
    sim.set_leader("sim-1", NodeId::fe(2)).unwrap();
    let topology = client.leader_view(&info.fe_hosts).unwrap();
    let leaders: Vec<_> = topology
        .frontends
        .iter()
        .filter(|f| f.is_leader())
        .collect();
    assert_eq!(leaders.len(), 1);
    assert_eq!(leaders[0].http_port, node(&info, NodeId::fe(2)).port);
}

#[test]
fn restart_resets_counters() {
    let (sim, info) = start(Version::V3_3, 131);
    let client = client(&info, Duration::from_secs(5));
    let fe = node(&info, NodeId::fe(1));
    let query_total = |body: &[u8]| sample_value(body, "starrocks_fe_query_total").unwrap();
    let before = query_total(&client.fetch_metrics(&fe).unwrap().body);
    assert!(before > 1000.0, "{before}");
    sim.set_fault("sim-1", NodeId::fe(1), Fault::Restart)
        .unwrap();
    let after = query_total(&client.fetch_metrics(&fe).unwrap().body);
    assert!(after < before, "{before} -> {after}");
    assert!(
        after < before / 10.0,
        "counters start again from zero: {before} -> {after}"
    );
    // And grow from there.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let later = query_total(&client.fetch_metrics(&fe).unwrap().body);
        if later > after {
            break;
        }
        assert!(Instant::now() < deadline, "query_total stuck at {later}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The samples of a whole body in strict mode: every line valid, or the first error.
fn strict_samples(body: &[u8]) -> Result<usize, rockscope_promtext::Error> {
    rockscope_promtext::Parser::new(body, rockscope_promtext::Mode::Strict)
        .try_fold(0, |n, sample| sample.map(|_| n + 1))
}

/// Whether a body holds at least one valid sample (and no invalid line).
fn has_samples(body: &[u8]) -> bool {
    strict_samples(body).is_ok_and(|n| n > 0)
}

/// A node that quotes the credentials back (a 403 with `user:password` and the Basic header, a
/// 200 echo of the request head) yields errors without them, in every form.
#[test]
fn credentials_a_node_sends_back_never_reach_an_error() {
    const PASSWORD: &str = "Sw0rdf1sh-\"quoted\"";
    let mut config = SimConfig::uniform(1, 1, 1, Version::V3_3, 91);
    config.clusters[0] = config.clusters[0]
        .clone()
        .with_credentials("root", PASSWORD);
    let sim = Simulator::start(config).expect("simulator");
    let info = sim.clusters().remove(0);
    let client = client(&info, TIMEOUT);
    let (fe, be) = (node(&info, NodeId::fe(0)), node(&info, NodeId::be(0)));
    let basic = rockscope_sim::base64_encode(format!("root:{PASSWORD}").as_bytes());
    let assert_clean = |err: &ClientError| {
        let text = format!("{err} {err:?}");
        for leak in ["Sw0rdf1sh", basic.as_str()] {
            assert!(!text.contains(leak), "{leak:?} in {text}");
        }
    };

    sim.set_fault("sim-1", NodeId::fe(0), Fault::EchoCredentials)
        .unwrap();
    sim.set_fault("sim-1", NodeId::be(0), Fault::EchoCredentials)
        .unwrap();
    for err in [
        failing(|| client.show_frontends(&fe)).0,
        failing(|| client.fetch_metrics(&be)).0,
        failing(|| client.leader_view(&[fe.to_string()])).0,
    ] {
        assert_clean(&err);
        assert!(err.to_string().contains("credentials ***"), "{err}");
    }

    sim.set_fault("sim-1", NodeId::fe(0), Fault::EchoHeaders)
        .unwrap();
    sim.set_fault("sim-1", NodeId::be(0), Fault::EchoHeaders)
        .unwrap();
    for err in [
        failing(|| client.show_backends(&fe)).0,
        failing(|| client.runtime_info(&fe)).0,
        failing(|| client.fetch_metrics(&be)).0,
    ] {
        assert_eq!(err.code(), "malformed_body", "{err}");
        assert_clean(&err);
    }
}
