//! The simulator split over child processes (`vs_prometheus --sim-processes`): the children
//! serve every cluster, report what they served, and never outlive the harness.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::ops::Range;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rockscope_bench::sim_fleet::Fleet;

const HARNESS: &str = env!("CARGO_BIN_EXE_vs_prometheus");

fn child(range: Range<usize>) -> Command {
    let mut c = Command::new(HARNESS);
    c.args(["--sim-child", &format!("{}..{}", range.start, range.end)])
        .args(["--fes", "1", "--bes", "2"]);
    c
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// `GET /metrics` of `addr` over a connection of its own: the body's length.
fn get_metrics(addr: std::net::SocketAddr) -> usize {
    let mut conn = TcpStream::connect_timeout(&addr, Duration::from_secs(10)).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).expect("answer");
    assert!(answer.starts_with(b"HTTP/1.1 200"));
    let head = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of the head");
    answer.len() - head - 4
}

#[test]
fn a_fleet_split_over_processes_serves_every_cluster_and_sums_their_traffic() {
    let fleet = Fleet::start(5, 1, 2, 2, &child).expect("fleet");
    let pids = fleet.pids();
    assert_eq!(pids.len(), 2);
    assert!(
        fleet.describe().contains("of 2, 3 clusters"),
        "{}",
        fleet.describe()
    );
    let clusters = fleet.clusters();
    let names: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["sim-1", "sim-2", "sim-3", "sim-4", "sim-5"]);
    assert!(clusters.iter().all(|c| c.nodes.len() == 3));
    assert_eq!(fleet.traffic().expect("traffic").metrics_responses, 0);
    // One node of a cluster of each process.
    let bytes = get_metrics(clusters[0].nodes[0].addr) + get_metrics(clusters[4].nodes[2].addr);
    let traffic = fleet.traffic().expect("traffic");
    assert_eq!(traffic.metrics_responses, 2);
    assert_eq!(traffic.metrics_bytes, bytes as u64);
    assert!(fleet.cpu().is_some());
    drop(fleet);
    for pid in pids {
        assert!(!alive(pid), "simulator process {pid} outlived its fleet");
    }
}

#[test]
fn a_fleet_of_one_process_runs_in_this_process() {
    let fleet = Fleet::start(2, 1, 2, 1, &child).expect("fleet");
    assert!(fleet.pids().is_empty());
    assert_eq!(fleet.clusters().len(), 2);
    assert_eq!(fleet.describe(), "in this process");
}

#[test]
fn a_simulator_process_ends_by_itself_when_its_harness_goes() {
    let mut process = child(0..1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("simulator process");
    let stdout = process.stdout.take().expect("stdout");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .take_while(|l| l != "ready")
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    // What a killed harness leaves: the pipe to the child's stdin closed.
    drop(process.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = process.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        if Instant::now() > deadline {
            let _ = process.kill();
            panic!("the simulator process did not end when its stdin closed");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
