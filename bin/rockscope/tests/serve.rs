//! `rockscope serve` as a process: address on the first stdout line, `/health` and `/ready`,
//! snapshots every interval, exit 0 on SIGTERM, a database that survives `kill -9` in the middle
//! of writing (integrity check, every cycle with its node rows) and a restart that continues on
//! it. Also `check-config` masking secrets and an invalid environment override exiting 2.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rockscope_sim::{SimConfig, Simulator, Version};
use rockscope_store::Store;
use time::OffsetDateTime;

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "rockscope-serve-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `rockscope` with no `ROCKSCOPE_*` variable inherited from the caller's environment.
fn rockscope() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rockscope"));
    for (key, _) in std::env::vars() {
        if key.starts_with("ROCKSCOPE_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info,ureq=warn,ureq_proto=warn");
    cmd
}

/// A running `rockscope serve`; killed (SIGKILL) on drop if still running.
struct Server {
    child: Child,
    addr: String,
    log: PathBuf,
}

impl Server {
    fn start(config: &Path, log: PathBuf) -> Server {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = rockscope()
            .arg("serve")
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start rockscope serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout);
            let mut first = String::new();
            let _ = lines.read_line(&mut first);
            let _ = tx.send(first);
            // Keep draining so the process never blocks on a full pipe.
            let mut rest = Vec::new();
            let _ = lines.read_to_end(&mut rest);
        });
        let first = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("no address line within 20 s; log:\n{}", read(&log));
            }
        };
        let addr = first
            .trim()
            .strip_prefix("rockscope listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}; log:\n{}", read(&log)))
            .to_owned();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Server { child, addr, log }
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits (polling) for the process to exit, at most `limit`.
    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "rockscope did not exit within {limit:?}; log:\n{}",
                    read(&self.log)
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// `GET path` on 127.0.0.1 with HTTP/1.1; the status code, `None` when nothing answered.
fn http_status(addr: &str, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Calls `check` every 50 ms until it returns `Some`, or panics after `limit`.
fn poll<T>(limit: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn far_future() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(1)
}

/// The cluster's id and snapshot count, read through a fresh store handle.
fn snapshots(db: &Path, name: &str) -> Option<(i64, u64)> {
    let store = Store::open(db).ok()?;
    let cluster = store
        .list_clusters()
        .ok()?
        .into_iter()
        .find(|c| c.name == name)?;
    let n = store
        .count_snapshots(cluster.id, OffsetDateTime::UNIX_EPOCH, far_future())
        .ok()?;
    Some((cluster.id, n))
}

fn write_config(dir: &Path, db: &Path, clusters_toml: &str) -> PathBuf {
    let path = dir.join("rockscope.toml");
    std::fs::write(
        &path,
        format!(
            "[collector]\ninterval_secs = 1\nconnect_timeout_secs = 1\nrequest_timeout_secs = 2\n\
             \n[server]\nhost = \"127.0.0.1\"\nport = 0\n\n[storage]\npath = {:?}\n\n{clusters_toml}",
            db.display().to_string()
        ),
    )
    .expect("write config");
    path
}

#[test]
fn serve_stops_cleanly_survives_kill_9_and_restarts_on_the_same_database() {
    let sim = Simulator::start(SimConfig::uniform(1, 1, 2, Version::V3_3, 21)).expect("sim");
    let info = sim.clusters().remove(0);
    let nodes_per_cycle = info.nodes.len();
    let dir = TempDir::new("serve");
    let db = dir.0.join("data").join("rockscope.db");
    let config = write_config(&dir.0, &db, &info.to_toml());

    // 1. Start, probes, snapshots, SIGTERM → exit 0 with a sound database.
    let mut server = Server::start(&config, dir.0.join("serve-1.log"));
    poll(Duration::from_secs(10), "/health answers 200", || {
        (http_status(&server.addr, "/health") == Some(200)).then_some(())
    });
    poll(Duration::from_secs(10), "/ready answers 200", || {
        (http_status(&server.addr, "/ready") == Some(200)).then_some(())
    });
    let (cluster_id, _) = poll(Duration::from_secs(15), "two snapshots", || {
        snapshots(&db, &info.name).filter(|(_, n)| *n >= 2)
    });
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(
        status.code(),
        Some(0),
        "exit status on SIGTERM; log:\n{}",
        read(&server.log)
    );
    let log = read(&server.log);
    assert!(!log.contains("panicked"), "{log}");
    let store = Store::open(&db).expect("reopen");
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_owned()]);
    let after_term = store
        .count_snapshots(cluster_id, OffsetDateTime::UNIX_EPOCH, far_future())
        .unwrap();
    drop(store);

    // 2. Start again on the same database, kill -9 while it collects every second.
    let mut server = Server::start(&config, dir.0.join("serve-2.log"));
    let target = after_term + 3;
    poll(
        Duration::from_secs(15),
        "more snapshots after the restart",
        || snapshots(&db, &info.name).filter(|(_, n)| *n >= target),
    );
    server.signal("KILL");
    let status = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), None, "killed by a signal");

    let store = Store::open(&db).expect("reopen after kill -9");
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_owned()]);
    let clusters = store.list_clusters().unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!(clusters[0].id, cluster_id, "the cluster keeps its id");
    let all = store
        .snapshots_range(cluster_id, OffsetDateTime::UNIX_EPOCH, far_future(), 10_000)
        .unwrap();
    let after_kill = all.len() as u64;
    assert!(after_kill >= target, "{after_kill} < {target}");
    // Every committed cycle is whole: each snapshot has the figures its node rows gave, and the
    // newest one (the last commit before the kill) has every node row.
    for s in &all {
        assert_eq!(s.backend_total, Some(2), "snapshot at {}", s.collected_at);
        assert_eq!(s.frontend_total, Some(1), "snapshot at {}", s.collected_at);
        assert!(s.source_errors.is_empty(), "{:?}", s.source_errors);
    }
    let latest = store.latest_snapshot(cluster_id).unwrap().expect("latest");
    let nodes = store.latest_nodes(cluster_id).unwrap();
    assert_eq!(nodes.len(), nodes_per_cycle, "{nodes:?}");
    assert!(
        nodes
            .iter()
            .all(|n| n.collected_at == latest.collected_at && n.scrape_ok)
    );
    assert!(
        all.windows(2)
            .all(|w| w[0].collected_at < w[1].collected_at)
    );
    drop(store);

    // 3. A restart after the crash continues on the same database.
    let mut server = Server::start(&config, dir.0.join("serve-3.log"));
    let (id, _) = poll(Duration::from_secs(15), "snapshots after the crash", || {
        snapshots(&db, &info.name).filter(|(_, n)| *n >= after_kill + 2)
    });
    assert_eq!(id, cluster_id);
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "log:\n{}", read(&server.log));
    let store = Store::open(&db).expect("reopen");
    assert_eq!(store.integrity_check().unwrap(), vec!["ok".to_owned()]);
    assert_eq!(store.list_clusters().unwrap().len(), 1);
    let nodes = store.latest_nodes(cluster_id).unwrap();
    assert_eq!(nodes.len(), nodes_per_cycle);
}

#[test]
fn check_config_masks_the_password() {
    let dir = TempDir::new("check");
    let db = dir.0.join("rockscope.db");
    let clusters = "[[clusters]]\nname = \"prod\"\nfe_hosts = [\"127.0.0.1:8030\"]\n\
                    username = \"root\"\npassword = \"s3cret-Pa55word\"\n";
    let config = write_config(&dir.0, &db, clusters);
    let output = rockscope()
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .expect("run check-config");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("***"), "{stdout}");
    assert!(stdout.contains("prod"), "{stdout}");
    assert!(stdout.contains("\"interval_secs\": 1"), "{stdout}");
    assert!(
        !stdout.contains("s3cret-Pa55word") && !stderr.contains("s3cret-Pa55word"),
        "the password leaks:\n{stdout}\n{stderr}"
    );
    // `--config` after or before the subcommand.
    let before = rockscope()
        .arg("--config")
        .arg(&config)
        .arg("check-config")
        .output()
        .expect("run check-config");
    assert_eq!(before.status.code(), Some(0));
    assert_eq!(before.stdout, output.stdout);
}

#[test]
fn an_invalid_environment_value_exits_2_naming_the_key() {
    let dir = TempDir::new("invalid");
    let db = dir.0.join("rockscope.db");
    let config = write_config(&dir.0, &db, "");
    let cases = [
        ("ROCKSCOPE_COLLECTOR__INTERVAL_SECS", "0", "interval_secs"),
        // Passed check-config once, then panicked in the daily roll-up's date arithmetic.
        (
            "ROCKSCOPE_COLLECTOR__RETENTION_DAYS",
            "100000000",
            "retention_days = 100000000 is not allowed; it must be from 1 to 3650",
        ),
        (
            "ROCKSCOPE_COLLECTOR__REQUEST_TIMEOUT_SECS",
            "100000",
            "must be from 1 to 300",
        ),
    ];
    for (command, (key, value, message)) in ["check-config", "serve"]
        .into_iter()
        .flat_map(|c| cases.iter().map(move |case| (c, case)))
    {
        let output = rockscope()
            .env(key, value)
            .arg(command)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .output()
            .expect("run rockscope");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{command}: {stderr}");
        assert!(
            stderr.contains(message) && stderr.contains(value),
            "{command}: the message names the key and the value: {stderr}"
        );
        assert!(
            output.stdout.is_empty()
                || !String::from_utf8_lossy(&output.stdout).contains("listening")
        );
    }
    assert!(
        !db.exists(),
        "an invalid configuration does not create the database"
    );
}

#[test]
fn version_and_help_for_every_command() {
    let run = |args: &[&str]| {
        let output = rockscope().args(args).output().expect("run rockscope");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), text)
    };
    let (code, text) = run(&["--version"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.trim(),
        format!("rockscope {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["serve", "--help"][..],
        &["help", "serve"],
        &["check-config", "--help"],
        &["parse-metrics", "--help"],
        &["--help"],
    ] {
        let (code, text) = run(args);
        assert_eq!(code, Some(0), "{args:?}: {text}");
        assert!(text.contains("--config"), "{args:?}: {text}");
    }
    let (code, _) = run(&["serve", "--bogus"]);
    assert_eq!(code, Some(2));
}

#[test]
fn check_config_says_which_file_it_read() {
    let dir = TempDir::new("sources");
    let db = dir.0.join("rockscope.db");
    let config = write_config(&dir.0, &db, "");
    let output = rockscope()
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .env("ROCKSCOPE_SERVER__PORT", "9001")
        .output()
        .expect("run check-config");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("configuration read from {}", config.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("ROCKSCOPE_SERVER__PORT") && !stderr.contains("9001"),
        "{stderr}"
    );

    // No file in the working directory and no --config: the defaults, said so.
    let output = rockscope()
        .arg("check-config")
        .current_dir(&dir.0)
        .output()
        .expect("run check-config");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("no configuration file found") && stderr.contains("defaults are in force"),
        "{stderr}"
    );
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(shown["server"]["port"], 8080);
}

#[test]
fn demo_refuses_a_taken_port_before_printing_its_hint() {
    let dir = TempDir::new("demo-port");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().unwrap().port();
    let mut child = rockscope()
        .arg("demo")
        .env("ROCKSCOPE_SERVER__PORT", port.to_string())
        .current_dir(&dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rockscope demo");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("demo kept running on a taken port");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!status.success(), "{stdout}{stderr}");
    assert!(
        !stdout.contains("curl"),
        "a hint for a port it can't use: {stdout}"
    );
    assert!(stderr.contains(&port.to_string()), "{stderr}");
    drop(taken);
}

/// SIGTERM while the collector waits on a hung FE (30 s request timeout) exits within 2 s,
/// with status 0; it took the whole timeout plus slack before.
#[test]
fn sigterm_exits_within_2_s_while_a_node_hangs() {
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 23)).expect("sim");
    let info = sim.clusters().remove(0);
    sim.set_fault(
        &info.name,
        rockscope_sim::NodeId::fe(0),
        rockscope_sim::Fault::Hang,
    )
    .unwrap();
    let dir = TempDir::new("hang");
    let db = dir.0.join("rockscope.db");
    let path = dir.0.join("rockscope.toml");
    std::fs::write(
        &path,
        format!(
            "[collector]\ninterval_secs = 60\nconnect_timeout_secs = 30\nrequest_timeout_secs = 30\n\
             \n[server]\nhost = \"127.0.0.1\"\nport = 0\n\n[storage]\npath = {:?}\n\n{}",
            db.display().to_string(),
            info.to_toml()
        ),
    )
    .expect("write config");
    let log = dir.0.join("hang.log");
    let mut server = Server::start(&path, log.clone());
    // The first cycle starts at once; give it time to reach the hung FE.
    poll(
        Duration::from_secs(10),
        "a collection attempt in flight",
        || read(&log).contains("Collector started").then_some(()),
    );
    thread::sleep(Duration::from_millis(500));
    let signalled = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10));
    let took = signalled.elapsed();
    assert!(
        status.success(),
        "exit status {status}; log:\n{}",
        read(&log)
    );
    assert!(
        took < Duration::from_secs(2),
        "exit took {took:?} after SIGTERM; log:\n{}",
        read(&log)
    );
}
