//! A simulated fleet served from this process or from several simulator processes.
//!
//! One simulator process holds a listening socket per node plus the connection each scraper
//! keeps to it: at 13,000 nodes that is 26,000 open files, over a usual limit of 20,000 per
//! process. [`Fleet::start`] can therefore split the clusters into contiguous slices, each
//! served by a child process (the benchmark's own binary re-run with a hidden flag, given as a
//! [`Command`]) that runs [`serve_slice`]. A child speaks a line protocol on its stdin/stdout:
//!
//! * child → parent, once: `cluster <json>` for each of its clusters (name, credentials,
//!   version, FE hosts, nodes with id, address and leadership), then `ready`;
//! * parent → child: `traffic`; child → parent: `traffic <metrics responses> <metrics bytes>
//!   <metrics samples> <other responses>` (its [`Simulator::traffic`]);
//! * EOF on the child's stdin (the parent closed it, exited or was killed) ends the child.
//!
//! Children never outlive the harness: dropping the [`Fleet`] closes their stdin and kills any
//! that has not exited after a few seconds, and a killed parent closes their stdin by dying.

use std::io::{BufRead, BufReader, Read, Write};
use std::ops::Range;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use rockscope_sim::{ClusterInfo, NodeId, NodeInfo, SimConfig, Simulator, Traffic, Version};

use crate::fleet::{SEED, process_cpu_of, start_simulator, threads_cpu};

/// Most nodes one simulator process serves by default ([`default_processes`]): with the
/// scraper's kept-alive connection that is 10,000 open files, half of a 20,000 limit, which
/// leaves room for reconnections and the runtime's own descriptors.
pub const MAX_NODES_PER_PROCESS: usize = 5_000;

/// Longest line either side of the protocol reads (a cluster of 250 nodes takes ~20 KB).
const MAX_LINE: u64 = 1 << 20;

/// How long a child may take to bind its nodes and list them.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a child may take to answer `traffic`.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a child gets to exit after its stdin is closed before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// Simulator processes for `clusters` × `nodes_per_cluster` nodes so that none serves more
/// than [`MAX_NODES_PER_PROCESS`]: 1 (this process) up to 5,000 nodes, 3 at 13,000.
pub fn default_processes(clusters: usize, nodes_per_cluster: usize) -> usize {
    let nodes = clusters.saturating_mul(nodes_per_cluster);
    nodes
        .div_ceil(MAX_NODES_PER_PROCESS)
        .clamp(1, clusters.max(1))
}

/// `clusters` cut into `processes` contiguous ranges whose sizes differ by at most one (fewer
/// ranges when there are fewer clusters; none empty).
pub fn slices(clusters: usize, processes: usize) -> Vec<Range<usize>> {
    let n = processes.clamp(1, clusters.max(1));
    (0..n)
        .map(|k| clusters * k / n..clusters * (k + 1) / n)
        .filter(|r| !r.is_empty())
        .collect()
}

/// Raises this process's open-files soft limit to the hard one; the soft limit now in force.
pub fn raise_open_files_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX)
        .unwrap_or_else(|_| rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft))
}

/// Serves clusters `range` of a uniform fleet (`fes` FEs and `bes` BEs each, StarRocks 3.3,
/// seed [`SEED`]) until `input` ends: the child side of the protocol in the module docs.
pub fn serve_slice(
    range: Range<usize>,
    fes: usize,
    bes: usize,
    input: impl Read,
    mut output: impl Write,
) -> Result<(), String> {
    let config = SimConfig::uniform_slice(range, fes, bes, Version::V3_3, SEED);
    let sim = Simulator::start(config).map_err(|e| format!("simulator: {e}"))?;
    let mut answer = |line: &str| -> Result<(), String> {
        writeln!(output, "{line}")
            .and_then(|()| output.flush())
            .map_err(|e| format!("writing to the parent: {e}"))
    };
    for cluster in sim.clusters() {
        answer(&format!("cluster {}", cluster_json(&cluster)))?;
    }
    answer("ready")?;
    let mut input = BufReader::new(input);
    while let Some(line) = read_line(&mut input)? {
        match line.as_str() {
            "traffic" => answer(&traffic_line(&sim.traffic()))?,
            other => answer(&format!("error unknown command {other:?}"))?,
        }
    }
    Ok(())
}

/// One line of `input` without its newline; `None` at EOF. Fails on a line over [`MAX_LINE`].
fn read_line(input: &mut impl BufRead) -> Result<Option<String>, String> {
    let mut buf = Vec::new();
    let n = input
        .take(MAX_LINE)
        .read_until(b'\n', &mut buf)
        .map_err(|e| format!("reading a line: {e}"))?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') && n as u64 == MAX_LINE {
        return Err(format!("a line longer than {MAX_LINE} bytes"));
    }
    let text = String::from_utf8(buf).map_err(|_| "a line that is not UTF-8".to_owned())?;
    Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()))
}

/// `cluster` as the protocol's JSON object.
pub fn cluster_json(cluster: &ClusterInfo) -> String {
    let nodes: Vec<serde_json::Value> = cluster
        .nodes
        .iter()
        .map(|n| {
            serde_json::json!({
                "id": n.id.to_string(),
                "addr": n.addr.to_string(),
                "leader": n.is_leader,
            })
        })
        .collect();
    serde_json::json!({
        "name": cluster.name,
        "username": cluster.username,
        "password": cluster.password,
        "version": cluster.version.as_str(),
        "fe_hosts": cluster.fe_hosts,
        "nodes": nodes,
    })
    .to_string()
}

/// The cluster of a [`cluster_json`] object.
pub fn parse_cluster_json(text: &str) -> Result<ClusterInfo, String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("cluster line: {e}"))?;
    let text_of = |key: &str| {
        v[key]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("cluster line: no {key:?}"))
    };
    let nodes = v["nodes"]
        .as_array()
        .ok_or("cluster line: no \"nodes\"")?
        .iter()
        .map(|n| {
            let id: NodeId = n["id"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e| format!("cluster line: node id: {e}"))?;
            let addr = n["addr"]
                .as_str()
                .unwrap_or_default()
                .parse()
                .map_err(|e| format!("cluster line: node address: {e}"))?;
            Ok(NodeInfo {
                id,
                kind: id.kind,
                addr,
                is_leader: n["leader"].as_bool().unwrap_or(false),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let fe_hosts = v["fe_hosts"]
        .as_array()
        .ok_or("cluster line: no \"fe_hosts\"")?
        .iter()
        .map(|h| {
            h.as_str()
                .map(str::to_owned)
                .ok_or("cluster line: a FE host")
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClusterInfo {
        name: text_of("name")?,
        username: text_of("username")?,
        password: text_of("password")?,
        version: text_of("version")?
            .parse()
            .map_err(|e| format!("cluster line: {e}"))?,
        fe_hosts,
        nodes,
    })
}

/// The protocol's answer to `traffic`.
pub fn traffic_line(t: &Traffic) -> String {
    format!(
        "traffic {} {} {} {}",
        t.metrics_responses, t.metrics_bytes, t.metrics_samples, t.other_responses
    )
}

/// The [`Traffic`] of a [`traffic_line`].
pub fn parse_traffic_line(line: &str) -> Result<Traffic, String> {
    let bad = || format!("not a traffic line: {line:?}");
    let mut numbers = line.strip_prefix("traffic ").ok_or_else(bad)?.split(' ');
    let mut next =
        || -> Result<u64, String> { numbers.next().and_then(|n| n.parse().ok()).ok_or_else(bad) };
    let t = Traffic {
        metrics_responses: next()?,
        metrics_bytes: next()?,
        metrics_samples: next()?,
        other_responses: next()?,
    };
    if numbers.next().is_some() {
        return Err(bad());
    }
    Ok(t)
}

/// A simulated fleet: in this process, or split over child processes.
pub enum Fleet {
    /// One simulator on this process's background threads (as the benchmarks always did).
    InProcess(Simulator),
    /// One child process per slice of the clusters, in cluster order.
    Processes(Vec<SimChild>),
}

impl Fleet {
    /// Starts `clusters` × (`fes` FE + `bes` BE) nodes: in this process when `processes` is 1,
    /// else in that many children (at most one per cluster), each started by `child(range)`
    /// (a command that runs [`serve_slice`] for `range`). Fails, and stops every child already
    /// started, when one does not list its clusters in time.
    pub fn start(
        clusters: usize,
        fes: usize,
        bes: usize,
        processes: usize,
        child: &dyn Fn(Range<usize>) -> Command,
    ) -> Result<Fleet, String> {
        let ranges = slices(clusters, processes);
        if ranges.len() <= 1 {
            return start_simulator(clusters, fes, bes)
                .map(Fleet::InProcess)
                .map_err(|e| format!("simulator: {e}"));
        }
        // Every child binds its nodes at the same time; then each is read in turn.
        let mut children = ranges
            .into_iter()
            .map(|r| SimChild::spawn(child(r.clone()), r))
            .collect::<Result<Vec<_>, _>>()?;
        for c in &mut children {
            c.read_clusters()?;
        }
        Ok(Fleet::Processes(children))
    }

    /// Every cluster with its nodes' addresses, in cluster order.
    pub fn clusters(&self) -> Vec<ClusterInfo> {
        match self {
            Fleet::InProcess(sim) => sim.clusters(),
            Fleet::Processes(children) => children
                .iter()
                .flat_map(|c| c.clusters.iter().cloned())
                .collect(),
        }
    }

    /// What every simulator has served so far (summed over the processes).
    pub fn traffic(&self) -> Result<Traffic, String> {
        match self {
            Fleet::InProcess(sim) => Ok(sim.traffic()),
            Fleet::Processes(children) => children.iter().try_fold(Traffic::default(), |t, c| {
                let u = c.traffic()?;
                Ok(Traffic {
                    metrics_responses: t.metrics_responses + u.metrics_responses,
                    metrics_bytes: t.metrics_bytes + u.metrics_bytes,
                    metrics_samples: t.metrics_samples + u.metrics_samples,
                    other_responses: t.other_responses + u.other_responses,
                })
            }),
        }
    }

    /// CPU time the simulator has used so far: its worker threads in this process, or every
    /// child process; `None` where `/proc` cannot tell.
    pub fn cpu(&self) -> Option<Duration> {
        match self {
            Fleet::InProcess(_) => threads_cpu("rockscope-sim"),
            Fleet::Processes(children) => {
                children.iter().map(|c| process_cpu_of(c.child.id())).sum()
            }
        }
    }

    /// Process ids of the children (empty in process).
    pub fn pids(&self) -> Vec<u32> {
        match self {
            Fleet::InProcess(_) => Vec::new(),
            Fleet::Processes(children) => children.iter().map(|c| c.child.id()).collect(),
        }
    }

    /// Where the fleet runs, for a report: `in this process` or `3 processes (pids …) of 334,
    /// 333, 333 clusters`.
    pub fn describe(&self) -> String {
        match self {
            Fleet::InProcess(_) => "in this process".to_owned(),
            Fleet::Processes(children) => {
                let list = |f: &dyn Fn(&SimChild) -> String| {
                    children.iter().map(f).collect::<Vec<_>>().join(", ")
                };
                format!(
                    "{} processes (pids {}) of {} clusters",
                    children.len(),
                    list(&|c| c.child.id().to_string()),
                    list(&|c| c.range.len().to_string())
                )
            }
        }
    }
}

/// One simulator child process: its stdin (the parent's end of the protocol) and the lines of
/// its stdout, read by a thread so that every wait has a deadline.
pub struct SimChild {
    child: Child,
    range: Range<usize>,
    clusters: Vec<ClusterInfo>,
    pipe: Mutex<Pipe>,
}

struct Pipe {
    stdin: Option<ChildStdin>,
    lines: Receiver<Result<String, String>>,
}

impl SimChild {
    fn spawn(mut command: Command, range: Range<usize>) -> Result<SimChild, String> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting a simulator process: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (tx, lines) = channel();
        if let Some(stdout) = stdout {
            std::thread::Builder::new()
                .name("sim-child-reader".into())
                .spawn(move || {
                    let mut reader = BufReader::new(stdout);
                    while let Some(line) = read_line(&mut reader).transpose() {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| format!("reader thread: {e}"))?;
        }
        Ok(SimChild {
            child,
            range,
            clusters: Vec::new(),
            pipe: Mutex::new(Pipe { stdin, lines }),
        })
    }

    fn who(&self) -> String {
        format!(
            "simulator process {} (clusters {}..{})",
            self.child.id(),
            self.range.start + 1,
            self.range.end
        )
    }

    /// The child's next line, waiting until `deadline`.
    fn next_line(&self, pipe: &Pipe, deadline: Instant) -> Result<String, String> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match pipe.lines.recv_timeout(wait) {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(e)) => Err(format!("{}: {e}", self.who())),
            Err(RecvTimeoutError::Timeout) => Err(format!("{}: no answer in time", self.who())),
            Err(RecvTimeoutError::Disconnected) => Err(format!("{}: exited", self.who())),
        }
    }

    fn read_clusters(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut clusters = Vec::new();
        {
            let pipe = self.pipe.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let line = self.next_line(&pipe, deadline)?;
                if line == "ready" {
                    break;
                }
                let json = line
                    .strip_prefix("cluster ")
                    .ok_or_else(|| format!("{}: unexpected {line:?}", self.who()))?;
                clusters
                    .push(parse_cluster_json(json).map_err(|e| format!("{}: {e}", self.who()))?);
            }
        }
        if clusters.len() != self.range.len() {
            return Err(format!(
                "{}: listed {} clusters",
                self.who(),
                clusters.len()
            ));
        }
        self.clusters = clusters;
        Ok(())
    }

    fn traffic(&self) -> Result<Traffic, String> {
        let mut pipe = self.pipe.lock().unwrap_or_else(|p| p.into_inner());
        let stdin = pipe
            .stdin
            .as_mut()
            .ok_or_else(|| format!("{}: stdin closed", self.who()))?;
        writeln!(stdin, "traffic")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("{}: {e}", self.who()))?;
        let line = self.next_line(&pipe, Instant::now() + ANSWER_TIMEOUT)?;
        parse_traffic_line(&line).map_err(|e| format!("{}: {e}", self.who()))
    }
}

impl Drop for SimChild {
    /// Closes the child's stdin (it exits on EOF), then kills it if it is still there after
    /// [`EXIT_GRACE`].
    fn drop(&mut self) {
        drop(
            self.pipe
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .stdin
                .take(),
        );
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_processes_keep_each_under_5000_nodes() {
        assert_eq!(default_processes(100, 13), 1);
        assert_eq!(default_processes(384, 13), 1);
        assert_eq!(default_processes(400, 13), 2);
        assert_eq!(default_processes(600, 13), 2);
        assert_eq!(default_processes(1000, 13), 3);
        // Never more processes than clusters.
        assert_eq!(default_processes(2, 5000), 2);
        assert_eq!(default_processes(0, 13), 1);
    }

    #[test]
    fn slices_are_contiguous_and_even() {
        assert_eq!(slices(1000, 3), [0..333, 333..666, 666..1000]);
        assert_eq!(slices(5, 1), vec![(0..5)]);
        assert_eq!(slices(2, 4), [0..1, 1..2]);
        assert!(slices(0, 3).is_empty());
    }

    #[test]
    fn wire_lines_round_trip() {
        let sim = start_simulator(2, 2, 1).expect("simulator");
        for c in sim.clusters() {
            assert_eq!(parse_cluster_json(&cluster_json(&c)), Ok(c));
        }
        let t = Traffic {
            metrics_responses: 1,
            metrics_bytes: 2,
            metrics_samples: 3,
            other_responses: 4,
        };
        assert_eq!(parse_traffic_line(&traffic_line(&t)), Ok(t));
        assert!(parse_traffic_line("traffic 1 2 3").is_err());
        assert!(parse_traffic_line("traffic 1 2 3 4 5").is_err());
        assert!(parse_cluster_json("{\"name\": \"x\"}").is_err());
    }

    #[test]
    fn serve_slice_lists_its_clusters_answers_traffic_and_ends_at_eof() {
        let mut out = Vec::new();
        serve_slice(2..4, 1, 1, &b"traffic\nwhat\n"[..], &mut out).expect("served");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        let names: Vec<String> = lines[..2]
            .iter()
            .map(|l| {
                parse_cluster_json(l.strip_prefix("cluster ").expect("cluster"))
                    .expect("json")
                    .name
            })
            .collect();
        assert_eq!(names, ["sim-3", "sim-4"]);
        assert_eq!(lines[2], "ready");
        assert_eq!(parse_traffic_line(lines[3]), Ok(Traffic::default()));
        assert!(lines[4].starts_with("error unknown command"));
    }

    #[test]
    fn read_line_caps_the_length() {
        let long = vec![b'x'; MAX_LINE as usize + 10];
        assert!(read_line(&mut &long[..]).is_err());
        assert_eq!(read_line(&mut &b"ab\r\ncd"[..]), Ok(Some("ab".to_owned())));
        assert_eq!(read_line(&mut &b""[..]), Ok(None));
    }
}
