//! Benchmark 1 of issue 7: the cost of collecting the same StarRocks nodes with rockscope and
//! with Prometheus, side by side.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin vs_prometheus
//! #   defaults: --clusters 100 --fes 3 --bes 10 --interval-secs 10 --warmup-secs 60
//! #             --duration-secs 240 [--only rockscope|prometheus] [--keep]
//! #             [--rockscope PATH]  (use this rockscope binary instead of building one)
//! #             [--remote-write]    (rockscope also remote-writes every cycle, see below)
//! ```
//!
//! The simulator serves `clusters × (fes + bes)` StarRocks 3.3 nodes on 127.0.0.1 in this
//! process. Then, one after the other on the same nodes, each tool runs as its own process:
//!
//! * rockscope: the release `rockscope serve` binary (built first with `cargo build --release
//!   -p rockscope`), every cluster declared in a generated config file, `interval_secs` as given,
//!   its SQLite file and API (on a free 127.0.0.1 port) in a temporary folder;
//! * Prometheus: Debian's `prometheus` (installed with `apt-get install -y prometheus` when it
//!   is missing and this runs as root), a generated `prometheus.yml` with every node as a target
//!   at the same interval, its TSDB in the temporary folder, its web on a free 127.0.0.1 port.
//!
//! Each tool runs `warmup + duration` seconds; the figures cover the last `duration` seconds
//! (steady state: Prometheus creates its series and rockscope opens its connections during the
//! warm-up). Scrapes, bytes and samples are counted by the simulator, the same way for both;
//! CPU is `utime + stime` of the tool's process from `/proc/<pid>/stat`, peak RSS its `VmHWM`,
//! disk the bytes of its data folder at the end. With `--remote-write`, rockscope also writes
//! every cycle (`[[export.remote_write]]`) to a second Prometheus, started by the harness as a
//! remote-write receiver (`--web.enable-remote-write-receiver`) beside it: the figures stay
//! rockscope's own process (the receiver's CPU is not in them), so a run with and one without
//! the flag give the cost of remote write. Everything started is stopped at the end (and
//! on error); the temporary folder is removed unless `--keep`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use rockscope_bench::fleet::{SEED, load_average, process_cpu_of, start_simulator};
use rockscope_bench::versus::{
    Outcome, Reading, peak_rss_of, prometheus_config, rockscope_config, sum_of, table, tree_bytes,
};
use rockscope_sim::{ClusterInfo, Simulator};

/// Largest answer read from a tool's own HTTP endpoints.
const MAX_BODY: u64 = 64 << 20;

struct Args {
    clusters: usize,
    fes: usize,
    bes: usize,
    interval: Duration,
    warmup: Duration,
    duration: Duration,
    only: Option<String>,
    keep: bool,
    rockscope: Option<PathBuf>,
    remote_write: bool,
}

/// rockscope against Prometheus on the same simulated fleet (see docs/BENCHMARKS.md).
#[derive(Debug, clap::Parser)]
#[command(name = "vs_prometheus")]
struct Cli {
    /// Simulated clusters.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    clusters: u64,
    /// FEs per cluster.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    fes: u64,
    /// BEs per cluster.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    bes: u64,
    /// Scrape interval of both tools, s.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    interval_secs: u64,
    /// Seconds before measuring.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    warmup_secs: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u64).range(1..))]
    duration_secs: u64,
    /// Run one tool only.
    #[arg(long, value_parser = ["rockscope", "prometheus"])]
    only: Option<String>,
    /// Keep the working directory.
    #[arg(long)]
    keep: bool,
    /// The rockscope binary to run (default: built from this workspace).
    #[arg(long, value_name = "PATH")]
    rockscope: Option<PathBuf>,
    /// rockscope also remote-writes every cycle to a Prometheus receiver the harness starts
    /// (whose CPU is not counted as rockscope's).
    #[arg(long)]
    remote_write: bool,
}

fn parse_args() -> Result<Args, String> {
    let cli = <Cli as clap::Parser>::parse();
    let count = |n: u64| usize::try_from(n).map_err(|e| e.to_string());
    Ok(Args {
        clusters: count(cli.clusters)?,
        fes: count(cli.fes)?,
        bes: count(cli.bes)?,
        interval: Duration::from_secs(cli.interval_secs),
        warmup: Duration::from_secs(cli.warmup_secs),
        duration: Duration::from_secs(cli.duration_secs),
        only: cli.only,
        keep: cli.keep,
        rockscope: cli.rockscope,
        remote_write: cli.remote_write,
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vs_prometheus: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let want = |tool: &str| args.only.as_deref().is_none_or(|o| o == tool);
    let prometheus = if want("prometheus") || (want("rockscope") && args.remote_write) {
        Some(ensure_prometheus()?)
    } else {
        None
    };
    let rockscope = if want("rockscope") {
        Some(match &args.rockscope {
            Some(path) => path.clone(),
            None => build_rockscope()?,
        })
    } else {
        None
    };
    let dir = std::env::temp_dir().join(format!("rockscope-vs-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let _cleanup = (!args.keep).then(|| RemoveOnDrop(dir.clone()));

    let sim = start_simulator(args.clusters, args.fes, args.bes)
        .map_err(|e| format!("simulator: {e}"))?;
    let clusters = sim.clusters();
    let nodes: usize = clusters.iter().map(|c| c.nodes.len()).sum();
    println!(
        "# vs_prometheus: {} clusters x ({} FE + {} BE) = {nodes} simulated StarRocks 3.3 nodes \
         (seed {SEED}), interval {} s, warm-up {} s, measured {} s",
        args.clusters,
        args.fes,
        args.bes,
        args.interval.as_secs(),
        args.warmup.as_secs(),
        args.duration.as_secs()
    );
    println!(
        "# machine: {}; load average at start {}",
        machine(),
        load_average()
    );
    println!("# work folder: {}", dir.display());

    let mut outcomes = Vec::new();
    if let Some(bin) = &rockscope {
        let receiver = match (&prometheus, args.remote_write) {
            (Some(prometheus), true) => Some(start_receiver(prometheus, &dir)?),
            _ => None,
        };
        let receiver = receiver.as_ref().map(|(url, _)| url.as_str());
        outcomes.push(run_rockscope(
            bin, &sim, &clusters, nodes, &dir, args, receiver,
        )?);
    }
    if let Some(bin) = prometheus.as_ref().filter(|_| want("prometheus")) {
        outcomes.push(run_prometheus(bin, &sim, &clusters, nodes, &dir, args)?);
    }
    println!("# load average at the end: {}", load_average());
    for o in &outcomes {
        println!(
            "# {}: {:.1} CPU s over {:.0} s, {} node scrapes + {} other requests ({:.3} CPU s \
             per 1,000 node scrapes), {:.1} MB/s of /metrics, peak RSS {:.0} MiB, disk {:.1} MiB \
             after {:.0} s",
            o.tool,
            o.cpu.as_secs_f64(),
            o.window.as_secs_f64(),
            o.node_scrapes,
            o.other_requests,
            o.cpu_per_1000_scrapes().unwrap_or(f64::NAN),
            o.scraped_mb_per_sec,
            o.peak_rss_bytes as f64 / (1024.0 * 1024.0),
            o.disk_bytes as f64 / (1024.0 * 1024.0),
            o.node_hours * 3600.0 / nodes as f64
        );
    }
    if let [r, p] = &outcomes[..] {
        println!();
        print!("{}", table(r, p));
    }
    Ok(())
}

/// One tool's run: start it, wait for warm-up, read, wait for the window, read, measure, stop.
#[allow(clippy::too_many_arguments)]
fn measure(
    tool: &'static str,
    started: Instant,
    child: Running,
    sim: &Simulator,
    nodes: usize,
    data: &Path,
    args: &Args,
    health: &dyn Fn() -> Result<String, String>,
) -> Result<Outcome, String> {
    let pid = child.0.id();
    let read = |child: &Running| -> Result<Reading, String> {
        child.check(tool)?;
        Ok(Reading {
            elapsed: started.elapsed(),
            cpu: process_cpu_of(pid).ok_or(format!("{tool}: cannot read /proc/{pid}/stat"))?,
            traffic: sim.traffic(),
        })
    };
    std::thread::sleep(args.warmup);
    let a = read(&child)?;
    println!("# {tool}: warm-up done ({}), measuring", health()?);
    std::thread::sleep(args.duration);
    let b = read(&child)?;
    let peak = peak_rss_of(pid).ok_or(format!("{tool}: cannot read /proc/{pid}/status"))?;
    let disk = tree_bytes(data);
    println!("# {tool}: done ({})", health()?);
    drop(child);
    // Let the sockets the tool kept open close before the next tool starts.
    std::thread::sleep(Duration::from_secs(2));
    Ok(Outcome::between(tool, &a, &b, peak, disk, nodes))
}

/// A Prometheus that only receives remote write, in `dir/receiver`: its remote-write URL and
/// process (stopped when dropped).
fn start_receiver(bin: &Path, dir: &Path) -> Result<(String, Running), String> {
    let config = "global:\n  scrape_interval: 60s\nscrape_configs: []\n";
    let (base, _, child) = launch_prometheus(
        bin,
        dir,
        "receiver",
        config,
        &["--web.enable-remote-write-receiver"],
    )?;
    println!("# remote write on: rockscope writes to the receiver at {base}");
    Ok((format!("{base}/api/v1/write"), child))
}

/// Starts a Prometheus as `name` with `config` in `dir/<folder>` on a free loopback port, and
/// waits until it is ready: its base URL, when it started, and the process.
fn launch_prometheus(
    bin: &Path,
    dir: &Path,
    name: &str,
    config: &str,
    extra_args: &[&str],
) -> Result<(String, Instant, Running), String> {
    let data = dir.join(name);
    let tsdb = data.join("data");
    std::fs::create_dir_all(&tsdb).map_err(|e| format!("{}: {e}", tsdb.display()))?;
    let config_file = data.join("prometheus.yml");
    write(&config_file, config)?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(bin);
    command
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .args(extra_args)
        .arg("--log.level=warn");
    let (started, child) = start(name, &mut command, dir, &format!("{base}/-/ready"))?;
    Ok((base, started, child))
}

#[allow(clippy::too_many_arguments)]
fn run_rockscope(
    bin: &Path,
    sim: &Simulator,
    clusters: &[ClusterInfo],
    nodes: usize,
    dir: &Path,
    args: &Args,
    remote_write: Option<&str>,
) -> Result<Outcome, String> {
    let data = dir.join("rockscope");
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let port = free_port()?;
    let config = data.join("rockscope.toml");
    let db = data.join("rockscope.db");
    let mut toml = rockscope_config(clusters, args.interval, port, &db);
    if let Some(url) = remote_write {
        toml.push_str(&format!("[[export.remote_write]]\nurl = {url:?}\n"));
    }
    write(&config, &toml)?;
    let base = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(bin);
    command
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn");
    let (started, child) = start("rockscope", &mut command, dir, &format!("{base}/ready"))?;
    let status = || -> Result<String, String> {
        let body = get(&format!("{base}/api/collector/status"))?;
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("rockscope status: {e}"))?;
        let all = v["clusters"].as_array().map_or(0, Vec::len);
        let ok = v["clusters"].as_array().map_or(0, |cs| {
            cs.iter()
                .filter(|c| c["last_success_at"].is_string() && c["last_error"].is_null())
                .count()
        });
        let mut text = format!("{ok} of {all} clusters collected without error");
        if let Some(rw) = v["remote_write"].as_array().and_then(|a| a.first()) {
            text.push_str(&format!(
                "; remote write: {} samples in {} requests, {} failed, {} dropped, backlog {} \
                 cycles ({} s)",
                rw["samples_sent"],
                rw["requests_sent"],
                rw["failed_requests"],
                rw["dropped_requests"],
                rw["backlog_cycles"],
                rw["backlog_seconds"]
            ));
        }
        Ok(text)
    };
    let tool = if remote_write.is_some() {
        "rockscope + remote write"
    } else {
        "rockscope"
    };
    measure(tool, started, child, sim, nodes, &data, args, &status)
}

fn run_prometheus(
    bin: &Path,
    sim: &Simulator,
    clusters: &[ClusterInfo],
    nodes: usize,
    dir: &Path,
    args: &Args,
) -> Result<Outcome, String> {
    let config = prometheus_config(clusters, args.interval);
    let (base, started, child) = launch_prometheus(bin, dir, "prometheus", &config, &[])?;
    let status = || -> Result<String, String> {
        let body = get(&format!("{base}/api/v1/query?query=sum(up)"))?;
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("prometheus query: {e}"))?;
        let up = v["data"]["result"][0]["value"][1]
            .as_str()
            .unwrap_or("?")
            .to_owned();
        let own = get(&format!("{base}/metrics"))?;
        let appended = sum_of(
            own.as_bytes(),
            "prometheus_tsdb_head_samples_appended_total",
        );
        let series = sum_of(own.as_bytes(), "prometheus_tsdb_head_series");
        Ok(format!(
            "{up} of {nodes} targets up, {} head series, {} samples appended",
            series.map_or("?".to_owned(), |s| format!("{s:.0}")),
            appended.map_or("?".to_owned(), |s| format!("{s:.0}"))
        ))
    };
    measure(
        "prometheus",
        started,
        child,
        sim,
        nodes,
        &dir.join("prometheus"),
        args,
        &status,
    )
}

/// The `prometheus` binary, installing Debian's package when it is missing.
fn ensure_prometheus() -> Result<PathBuf, String> {
    if let Some(p) = which("prometheus") {
        return Ok(p);
    }
    println!("# prometheus not found: apt-get install -y prometheus");
    let ok = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "prometheus"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get: {e} (install Debian's prometheus package by hand)"))?
        .success();
    if !ok {
        return Err(
            "apt-get install prometheus failed (run as root, or install it by hand)".into(),
        );
    }
    which("prometheus").ok_or("prometheus is still not on PATH after apt-get".into())
}

/// The release `rockscope` binary next to this benchmark's, built (or found up to date) first.
fn build_rockscope() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let ok = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "rockscope",
            "--bin",
            "rockscope",
        ])
        .status()
        .map_err(|e| format!("{cargo}: {e}"))?
        .success();
    if !ok {
        return Err("cargo build --release -p rockscope failed".into());
    }
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let bin = exe
        .parent()
        .map(|d| d.join("rockscope"))
        .filter(|p| p.is_file())
        .ok_or("no rockscope binary next to vs_prometheus (run it with cargo run --release)")?;
    Ok(bin)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .chain(["/usr/bin", "/usr/sbin"])
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or("?".to_owned(), |kib| {
            format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!("{model}, {cores} cores, {mem}")
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("free port: {e}"))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Starts `tool` with its output in `<tool>.out`/`.err` of `dir` and waits until `ready_url`
/// answers; the start instant and the running process (stopped when dropped, also on error).
fn start(
    tool: &str,
    command: &mut Command,
    dir: &Path,
    ready_url: &str,
) -> Result<(Instant, Running), String> {
    let log = |ext: &str| {
        let p = dir.join(format!("{tool}.{ext}"));
        std::fs::File::create(&p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let started = Instant::now();
    let child = command
        .stdout(log("out")?)
        .stderr(log("err")?)
        .spawn()
        .map(Running)
        .map_err(|e| format!("starting {tool}: {e}"))?;
    wait_ready(ready_url, tool)?;
    Ok((started, child))
}

/// `GET url` with a 10 s limit and a body cap.
fn get(url: &str) -> Result<String, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut resp = agent
        .get(url)
        .call()
        .map_err(|e| format!("GET {url}: {e}"))?;
    resp.body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_string()
        .map_err(|e| format!("GET {url}: {e}"))
}

/// Waits up to 60 s for `url` to answer 200.
fn wait_ready(url: &str, tool: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match get(url) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(format!("{tool} did not become ready: {e}"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// A started tool, stopped (SIGTERM, then SIGKILL after 15 s) when dropped.
struct Running(Child);

impl Running {
    fn check(&self, tool: &str) -> Result<(), String> {
        // `try_wait` needs `&mut`; `/proc` tells whether the process is still there.
        let pid = self.0.id();
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state
            .rfind(')')
            .and_then(|i| state[i + 1..].split_whitespace().next())
            .is_none_or(|s| s == "Z" || s == "X");
        if zombie {
            return Err(format!(
                "{tool} exited early; see its log in the work folder"
            ));
        }
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let pid = self.0.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes the work folder at the end of the run.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
