//! Every fault mode, observed on the wire; leader change; control endpoint; bind modes.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use rockscope_sim::{BindMode, Fault, NodeId, SimConfig, Simulator, Version};

use crate::support::{get, parse_prom, post, raw, request, value};
use crate::{ROOT, addr, start};

fn query_total(addr: std::net::SocketAddr) -> f64 {
    value(
        &parse_prom(get(addr, "/metrics", None).text()),
        "starrocks_fe_query_total",
        &[],
    )
    .unwrap()
}

#[test]
fn down_refuses_and_up_reopens_same_address() {
    let (sim, info) = start(Version::V3_3, 1, 2);
    let be = addr(&info, NodeId::be(1));
    // An idle keep-alive connection dies with the "process".
    let mut idle = TcpStream::connect(be).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    sim.set_fault("sim-1", NodeId::be(1), Fault::Down).unwrap();
    let err = TcpStream::connect_timeout(&be, Duration::from_secs(2)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let mut buf = [0u8; 16];
    assert!(matches!(
        std::io::Read::read(&mut idle, &mut buf),
        Ok(0) | Err(_)
    ));
    // The FE sees it dead.
    let fe = addr(&info, NodeId::fe(0));
    let rows = get(fe, "/api/show_proc?path=/backends", ROOT).json();
    let dead: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["Alive"] == "false")
        .collect();
    assert_eq!(dead.len(), 1);
    assert!(!dead[0]["ErrMsg"].as_str().unwrap().is_empty());
    assert_eq!(
        get(fe, "/api/health", None).json()["online_backend_num"],
        2 - 1
    );
    assert_eq!(sim.fault("sim-1", NodeId::be(1)).unwrap(), Fault::Down);
    sim.set_fault("sim-1", NodeId::be(1), Fault::None).unwrap();
    assert_eq!(get(be, "/api/health", None).status, 200);
    assert_eq!(
        info.node(NodeId::be(1)).unwrap().addr,
        sim.clusters()[0].node(NodeId::be(1)).unwrap().addr
    );
}

#[test]
fn hang_accepts_but_never_answers() {
    let (sim, info) = start(Version::V3_3, 1, 1);
    let fe = addr(&info, NodeId::fe(0));
    sim.set_fault("sim-1", NodeId::fe(0), Fault::Hang).unwrap();
    let t = Instant::now();
    let err = raw(
        fe,
        &request("GET", "/metrics", None),
        Duration::from_millis(400),
    )
    .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err:?}"
    );
    assert!(t.elapsed() >= Duration::from_millis(350));
    sim.set_fault("sim-1", NodeId::fe(0), Fault::None).unwrap();
    assert_eq!(get(fe, "/metrics", None).status, 200);
}

#[test]
fn a_hung_fe_at_any_index_hangs_its_show_proc_while_the_others_answer() {
    let (sim, info) = start(Version::V3_3, 3, 1);
    for hung in 0..3 {
        sim.set_fault("sim-1", NodeId::fe(hung), Fault::Hang)
            .unwrap();
        for fe in 0..3 {
            let at = addr(&info, NodeId::fe(fe));
            let path = "/api/show_proc?path=/backends&forward=true";
            if fe == hung {
                let err = raw(at, &request("GET", path, ROOT), Duration::from_millis(300));
                assert!(err.is_err(), "FE {fe} hung, yet answered show_proc");
            } else {
                let rows = get(at, path, ROOT).json();
                assert_eq!(rows.as_array().map(Vec::len), Some(1), "FE {fe}: {rows}");
            }
        }
        sim.set_fault("sim-1", NodeId::fe(hung), Fault::None)
            .unwrap();
    }
}

#[test]
fn a_whole_cluster_goes_down_and_comes_back() {
    let (sim, info) = start(Version::V3_3, 2, 2);
    sim.set_cluster_fault("sim-1", Fault::Down).unwrap();
    for node in &info.nodes {
        assert_eq!(sim.fault("sim-1", node.id).unwrap(), Fault::Down);
        let err = TcpStream::connect_timeout(&node.addr, Duration::from_secs(2)).unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{}",
            node.id
        );
    }
    assert!(
        sim.set_cluster_fault("no-such-cluster", Fault::Down)
            .is_err()
    );
    sim.set_cluster_fault("sim-1", Fault::None).unwrap();
    for node in &info.nodes {
        assert_eq!(
            get(node.addr, "/api/health", None).status,
            200,
            "{}",
            node.id
        );
    }
}

#[test]
fn slow_answers_late() {
    let (sim, info) = start(Version::V3_3, 1, 1);
    let be = addr(&info, NodeId::be(0));
    sim.set_fault(
        "sim-1",
        NodeId::be(0),
        Fault::Slow(Duration::from_millis(700)),
    )
    .unwrap();
    let t = Instant::now();
    let r = get(be, "/metrics", None);
    assert_eq!(r.status, 200);
    assert!(r.complete());
    assert!(t.elapsed() >= Duration::from_millis(650));
}

#[test]
fn http500_unauthorized_garbage() {
    let (sim, info) = start(Version::V3_3, 1, 1);
    let fe = addr(&info, NodeId::fe(0));
    sim.set_fault("sim-1", NodeId::fe(0), Fault::Http500)
        .unwrap();
    assert_eq!(get(fe, "/metrics", None).status, 500);
    assert_eq!(get(fe, "/api/show_proc?path=/backends", ROOT).status, 500);
    sim.set_fault("sim-1", NodeId::fe(0), Fault::Unauthorized)
        .unwrap();
    let r = get(fe, "/metrics", ROOT);
    assert_eq!(r.status, 401);
    assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"\""));
    assert_eq!(r.json()["status"], "FAILED");
    sim.set_fault("sim-1", NodeId::fe(0), Fault::Garbage)
        .unwrap();
    let g = get(fe, "/metrics", None);
    assert_eq!(g.status, 200);
    assert!(g.complete());
    assert!(std::str::from_utf8(&g.body).is_err(), "not even text");
    let j = get(fe, "/api/show_proc?path=/backends", ROOT);
    assert!(serde_json::from_slice::<serde_json::Value>(&j.body).is_err());
}

#[test]
fn truncated_lies_about_length() {
    let (sim, info) = start(Version::V3_3, 1, 1);
    let be = addr(&info, NodeId::be(0));
    sim.set_fault("sim-1", NodeId::be(0), Fault::Truncated)
        .unwrap();
    let r = get(be, "/metrics", None);
    assert_eq!(r.status, 200);
    let announced = r.content_length.unwrap();
    assert!(announced > 100_000);
    assert_eq!(r.body.len(), announced / 2);
}

#[test]
fn huge_streams_exact_size() {
    let (sim, info) = start(Version::V3_3, 1, 1);
    let fe = addr(&info, NodeId::fe(0));
    let size = 5 * 1024 * 1024 + 7;
    sim.set_fault("sim-1", NodeId::fe(0), Fault::Huge(size))
        .unwrap();
    let r = get(fe, "/metrics", None);
    assert_eq!(r.content_length, Some(size));
    assert_eq!(r.body.len(), size);
    let samples = parse_prom(r.text());
    assert!(samples.len() > 100_000);
    let j = get(fe, "/api/health", None);
    assert_eq!(j.body.len(), size);
    assert!(j.json().is_array());
}

#[test]
fn restart_resets_counters() {
    let (sim, info) = start(Version::V3_3, 1, 1);
    let fe = addr(&info, NodeId::fe(0));
    let before = query_total(fe);
    assert!(before > 1000.0);
    let fragments = || {
        let be = parse_prom(get(addr(&info, NodeId::be(0)), "/metrics", None).text());
        value(&be, "starrocks_be_fragment_requests_total", &[]).unwrap()
    };
    // The process started at least an hour ago: 120 times the 30 s counted after the restart.
    let frags_before = fragments();
    let fr = get(fe, "/api/show_proc?path=/frontends", ROOT).json();
    let start_before = fr[0]["StartTime"].as_str().unwrap().to_string();
    sim.advance(Duration::from_secs(60));
    sim.set_fault("sim-1", NodeId::fe(0), Fault::Restart)
        .unwrap();
    sim.set_fault("sim-1", NodeId::be(0), Fault::Restart)
        .unwrap();
    assert_eq!(query_total(fe), 0.0);
    sim.advance(Duration::from_secs(30));
    let after = query_total(fe);
    assert!(after > 0.0 && after < before, "{after} vs {before}");
    let fr = get(fe, "/api/show_proc?path=/frontends", ROOT).json();
    assert_ne!(fr[0]["StartTime"].as_str().unwrap(), start_before);
    let frags = fragments();
    let be = parse_prom(get(addr(&info, NodeId::be(0)), "/metrics", None).text());
    let idle = value(&be, "starrocks_be_cpu", &[("mode", "idle")]).unwrap();
    // Against the count before the restart, not a fixed bound: the simulated load follows the
    // time of day, so 30 s of fragments near the daily peak exceeded the old 15 000.
    assert!(
        frags > 0.0 && frags * 20.0 < frags_before,
        "process counter restarted: {frags} vs {frags_before} before"
    );
    assert!(idle > 1e6, "host jiffies survive a process restart");
}

#[test]
fn dead_backend_in_show_proc_and_node_info() {
    let (sim, info) = start(Version::V4_0, 1, 3);
    sim.set_fault("sim-1", NodeId::be(2), Fault::Dead).unwrap();
    let fe = addr(&info, NodeId::fe(0));
    let rows = get(fe, "/api/show_proc?path=/backends", ROOT).json();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["HttpPort"].as_str().and_then(|p| p.parse().ok())
                == Some(addr(&info, NodeId::be(2)).port())
        })
        .unwrap()
        .clone();
    assert_eq!(row["Alive"], "false");
    assert_eq!(row["StatusCode"], "DISCONNECTED");
    assert!(!row["ErrMsg"].as_str().unwrap().is_empty());
    let m = parse_prom(get(fe, "/metrics", ROOT).text());
    assert_eq!(
        value(
            &m,
            "node_info",
            &[("type", "be_node_num"), ("state", "alive")]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &m,
            "node_info",
            &[("type", "be_node_num"), ("state", "total")]
        ),
        Some(3.0)
    );
    // The process itself still answers.
    assert_eq!(
        get(addr(&info, NodeId::be(2)), "/metrics", ROOT).status,
        200
    );
    let gt = sim
        .ground_truth("sim-1", sim.now() - time::Duration::seconds(30), sim.now())
        .unwrap();
    assert_eq!((gt.alive_backends, gt.total_backends), (2, 3));
    sim.set_fault("sim-1", NodeId::be(2), Fault::None).unwrap();
    assert_eq!(get(fe, "/api/health", None).json()["online_backend_num"], 3);
}

#[test]
fn leader_change_moves_role_and_leader_values() {
    let (sim, info) = start(Version::V3_3, 3, 2);
    let fe0 = addr(&info, NodeId::fe(0));
    let fe2 = addr(&info, NodeId::fe(2));
    assert!(get(fe0, "/metrics", None).text().contains("is_master"));
    sim.set_leader("sim-1", NodeId::fe(2)).unwrap();
    assert!(sim.clusters()[0].node(NodeId::fe(2)).unwrap().is_leader);
    let roles: Vec<String> = get(fe0, "/api/show_proc?path=/frontends", ROOT)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Role"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(roles, ["FOLLOWER", "FOLLOWER", "LEADER"]);
    let old = get(fe0, "/metrics", None).text().to_string();
    let new = get(fe2, "/metrics", None).text().to_string();
    assert!(!old.contains("is_master") && new.contains("node_info{type=\"is_master\"} 1"));
    let tablets = |t: &str| {
        parse_prom(t)
            .iter()
            .filter(|s| s.name == "starrocks_fe_tablet_num")
            .map(|s| s.value)
            .sum::<f64>()
    };
    assert_eq!(tablets(&old), 0.0);
    assert!(tablets(&new) > 0.0);
    // The new leader's transaction counter grows from now on; the old one's stays.
    let txn = |a| {
        value(
            &parse_prom(get(a, "/metrics", None).text()),
            "starrocks_fe_txn_begin",
            &[],
        )
        .unwrap()
    };
    let (o1, n1) = (txn(fe0), txn(fe2));
    sim.advance(Duration::from_secs(60));
    assert_eq!(txn(fe0), o1);
    assert!(txn(fe2) > n1);
    let gt = sim
        .ground_truth("sim-1", sim.now() - time::Duration::seconds(10), sim.now())
        .unwrap();
    assert_eq!(gt.leader, NodeId::fe(2));
    assert!(sim.set_leader("sim-1", NodeId::be(0)).is_err());
    assert!(sim.set_leader("nope", NodeId::fe(0)).is_err());
}

#[test]
fn control_endpoint_drives_faults() {
    let sim =
        Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 3).control(true)).unwrap();
    let ctl = sim.control_addr().expect("control enabled");
    let be = sim.clusters()[0].node(NodeId::be(0)).unwrap().addr;
    assert_eq!(
        post(ctl, "/sim/fault?cluster=sim-1&node=be0&mode=down").status,
        200
    );
    assert!(TcpStream::connect_timeout(&be, Duration::from_secs(2)).is_err());
    assert_eq!(
        post(ctl, "/sim/fault?cluster=sim-1&node=be0&mode=up").status,
        200
    );
    assert_eq!(get(be, "/api/health", None).status, 200);
    assert_eq!(
        post(ctl, "/sim/fault?cluster=sim-1&node=be0&mode=http500").status,
        200
    );
    assert_eq!(get(be, "/metrics", None).status, 500);
    assert_eq!(
        post(ctl, "/sim/fault?cluster=sim-1&node=be9&mode=down").status,
        400
    );
    assert_eq!(
        post(ctl, "/sim/fault?cluster=sim-1&node=be0&mode=bogus").status,
        400
    );
    assert_eq!(
        get(ctl, "/sim/fault?cluster=sim-1&node=be0&mode=none", None).status,
        400
    );
    assert_eq!(post(ctl, "/sim/clock?manual=1900000000").status, 200);
    let truth = get(
        ctl,
        "/sim/truth?cluster=sim-1&from=1899999940&to=1900000000",
        None,
    )
    .json();
    assert!(truth["qps"].as_f64().unwrap() > 0.0);
    let page_cache = &truth["page_cache"]["be0"];
    assert!(page_cache["lookups"].as_f64().unwrap() > page_cache["hits"].as_f64().unwrap());
    assert!(
        truth["data_used_by_path"]["be0"]["/data1/starrocks/storage"]
            .as_u64()
            .unwrap()
            > 0
    );
    let clusters = get(ctl, "/sim/clusters", None).json();
    assert_eq!(clusters[0]["name"], "sim-1");
}

#[test]
fn addresses_mode_binds_per_node_loopback_ips() {
    let base = std::net::Ipv4Addr::new(127, 0, 123, 0);
    let sim = Simulator::start(
        SimConfig::uniform(2, 2, 1, Version::V3_3, 1).bind(BindMode::Addresses { base }),
    )
    .unwrap();
    let clusters = sim.clusters();
    for (ci, c) in clusters.iter().enumerate() {
        for (pos, n) in c.nodes.iter().enumerate() {
            let want = std::net::Ipv4Addr::new(127, 0, 123 + ci as u8, pos as u8 + 1);
            if n.addr.ip() == want {
                let default = if n.kind == rockscope_sim::NodeKind::Fe {
                    8030
                } else {
                    8040
                };
                assert!(
                    n.addr.port() == default
                        || sim.notes().iter().any(|x| x.contains(&n.id.to_string()))
                );
            } else {
                assert!(
                    sim.notes().iter().any(|x| x.contains(&n.id.to_string())),
                    "fallback must be noted"
                );
            }
            assert_eq!(get(n.addr, "/api/health", None).status, 200);
        }
    }
    let fe = clusters[0].nodes[0].addr;
    let rows = get(fe, "/api/show_proc?path=/frontends", ROOT).json();
    assert_eq!(rows[1]["IP"], clusters[0].nodes[1].addr.ip().to_string());
    assert!(
        sim.to_toml()
            .contains("[[clusters]]\nname = \"sim-2\"\nfe_hosts = [\"")
    );
}

#[test]
fn shutdown_closes_everything() {
    let (sim, info) = start(Version::V3_3, 1, 1);
    let fe = addr(&info, NodeId::fe(0));
    assert_eq!(get(fe, "/api/health", None).status, 200);
    sim.shutdown();
    sim.shutdown();
    assert!(TcpStream::connect_timeout(&fe, Duration::from_secs(2)).is_err());
}
