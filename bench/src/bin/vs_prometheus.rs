//! Benchmark 1 of issue 7: the cost of collecting the same StarRocks nodes with rockscope and
//! with Prometheus, side by side.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin vs_prometheus
//! #   defaults: --clusters 100 --fes 3 --bes 10 --interval-secs 10 --warmup-secs 60
//! #             --duration-secs 240 [--only rockscope|prometheus] [--keep]
//! #             [--rockscope PATH]  (use this rockscope binary instead of building one)
//! #             [--remote-write]    (rockscope also remote-writes every cycle, see below)
//! #             [--sim-processes N] (default: enough that none serves more than 5,000 nodes)
//! ```
//!
//! The simulator serves `clusters × (fes + bes)` StarRocks 3.3 nodes on 127.0.0.1 ports. Up
//! to 5,000 nodes (or with `--sim-processes 1`) it runs in this process, as it always did; above,
//! one process cannot hold a listening socket and a kept-alive connection per node under the
//! usual 20,000 open files, so the clusters are split into `N` contiguous slices, each served by
//! a child process: this binary re-run with the hidden `--sim-child FIRST..END`, which reports
//! its clusters' addresses and, when asked, what it served over its stdin/stdout, and exits
//! when its stdin closes (the harness ended, even by `kill -9`); the harness also stops them on
//! exit ([`rockscope_bench::sim_fleet`]). Every process raises its open-files soft limit to the
//! hard one. A slice serves the same bodies as the same clusters of one simulator. Then, one
//! after the other on the same nodes, each tool runs as its own process:
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
//! disk the bytes of its data folder at the end; the simulator's CPU (its threads here, or its
//! processes) is reported apart and never counted as a tool's. Whether a tool kept up with the
//! interval: rockscope's cycles that ran in the window, even in part (polled from
//! `/api/collector/status`, which keeps the newest 50), their longest duration against the
//! interval, their clusters failed or skipped; Prometheus' scrapes of its least scraped target
//! in the window (`count_over_time(up[…])`), its longest scrape (`scrape_duration_seconds`) and
//! its failed scrapes (`up` 0). With `--remote-write`, rockscope also writes
//! every cycle (`[[export.remote_write]]`) to a second Prometheus, started by the harness as a
//! remote-write receiver (`--web.enable-remote-write-receiver`) beside it: the figures stay
//! rockscope's own process (the receiver's CPU is not in them), so a run with and one without
//! the flag give the cost of remote write. Everything started is stopped at the end (and
//! on error); the temporary folder is removed unless `--keep`. Each tool also gets a guard,
//! this binary re-run with the hidden `--stop-on-eof PID`, which stops it when its stdin closes:
//! when the harness is killed (`kill -9`) before it could stop the tool itself.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rockscope_bench::fleet::{SEED, load_average, process_cpu_of};
use rockscope_bench::sim_fleet::{
    Fleet, MAX_NODES_PER_PROCESS, default_processes, raise_open_files_limit, serve_slice,
};
use rockscope_bench::versus::{
    Cycle, Outcome, Pace, Reading, cycle_pace, expected_rounds, peak_rss_of, prometheus_config,
    query_value, rockscope_config, status_cycles, sum_of, table, tree_bytes,
};
use rockscope_sim::ClusterInfo;
use time::OffsetDateTime;

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
    sim_processes: usize,
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
    /// Simulator processes serving the nodes, each a contiguous slice of the clusters (default:
    /// enough that none serves more than 5,000 nodes; 1: in the harness's own process).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    sim_processes: Option<u64>,
    /// Internal: serve clusters FIRST..END (0-based) as a simulator process of a harness,
    /// talking to it over stdin/stdout (`rockscope_bench::sim_fleet`).
    #[arg(long, hide = true, value_name = "FIRST..END")]
    sim_child: Option<String>,
    /// Internal: stop process PID when stdin closes (the guard of a tool the harness started).
    #[arg(long, hide = true, value_name = "PID")]
    stop_on_eof: Option<u32>,
}

/// What the command line asks for: a benchmark run, or serving a slice as a simulator child.
enum Mode {
    Run(Args),
    SimChild {
        range: std::ops::Range<usize>,
        fes: usize,
        bes: usize,
    },
    StopOnEof(u32),
}

fn parse_args() -> Result<Mode, String> {
    let cli = <Cli as clap::Parser>::parse();
    let count = |n: u64| usize::try_from(n).map_err(|e| e.to_string());
    if let Some(pid) = cli.stop_on_eof {
        return Ok(Mode::StopOnEof(pid));
    }
    if let Some(range) = &cli.sim_child {
        let bad = || format!("--sim-child {range:?}: expected FIRST..END");
        let (first, end) = range.split_once("..").ok_or_else(bad)?;
        let first: usize = first.parse().map_err(|_| bad())?;
        let end: usize = end.parse().map_err(|_| bad())?;
        return Ok(Mode::SimChild {
            range: first..end,
            fes: count(cli.fes)?,
            bes: count(cli.bes)?,
        });
    }
    let clusters = count(cli.clusters)?;
    let nodes_per_cluster = count(cli.fes)?.saturating_add(count(cli.bes)?);
    let sim_processes = match cli.sim_processes {
        Some(n) => count(n)?,
        None => default_processes(clusters, nodes_per_cluster),
    };
    Ok(Mode::Run(Args {
        sim_processes,
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
    }))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Mode::Run(a)) => a,
        Ok(Mode::StopOnEof(pid)) => {
            stop_on_eof(pid);
            return ExitCode::SUCCESS;
        }
        Ok(Mode::SimChild { range, fes, bes }) => {
            raise_open_files_limit();
            let served = serve_slice(
                range,
                fes,
                bes,
                std::io::stdin().lock(),
                std::io::stdout().lock(),
            );
            return match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("vs_prometheus simulator process: {e}");
                    ExitCode::FAILURE
                }
            };
        }
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

    let open_files = raise_open_files_limit();
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let child = |range: std::ops::Range<usize>| {
        let mut c = Command::new(&exe);
        c.arg("--sim-child")
            .arg(format!("{}..{}", range.start, range.end))
            .arg("--fes")
            .arg(args.fes.to_string())
            .arg("--bes")
            .arg(args.bes.to_string());
        c
    };
    let sim = Fleet::start(
        args.clusters,
        args.fes,
        args.bes,
        args.sim_processes,
        &child,
    )?;
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
    println!(
        "# simulator: {} (--sim-processes {}; default: at most {MAX_NODES_PER_PROCESS} nodes \
         each); open files limit {open_files}",
        sim.describe(),
        args.sim_processes
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
            "# {}: {:.1} CPU s over {:.0} s ({:.3} cores on average), {} node scrapes + {} other \
             requests ({:.3} CPU s per 1,000 node scrapes), {:.1} MB/s of /metrics, peak RSS \
             {:.0} MiB, disk {:.1} MiB after {:.0} s",
            o.tool,
            o.cpu.as_secs_f64(),
            o.window.as_secs_f64(),
            o.cores(),
            o.node_scrapes,
            o.other_requests,
            o.cpu_per_1000_scrapes().unwrap_or(f64::NAN),
            o.scraped_mb_per_sec,
            o.peak_rss_bytes as f64 / (1024.0 * 1024.0),
            o.disk_bytes as f64 / (1024.0 * 1024.0),
            o.node_hours * 3600.0 / nodes as f64
        );
        let pace = o.pace.as_ref().map_or("kept up: unknown".to_owned(), |p| {
            if o.tool == "prometheus" {
                p.describe("scrapes of its least scraped target", "failed scrapes")
            } else {
                p.describe("cycles", "clusters failed or skipped")
            }
        });
        let within = |ok: bool| if ok { "within" } else { "OVER" };
        println!(
            "# {}: {pace}; {} 1 core on average, {} 1 GiB peak RSS (issue 17's budget)",
            o.tool,
            within(o.cores() <= 1.0),
            within(o.peak_rss_bytes <= 1 << 30)
        );
    }
    if let [r, p] = &outcomes[..] {
        println!();
        print!("{}", table(r, p));
    }
    Ok(())
}

/// What the harness asks a running tool besides `/proc`: its health, and whether it kept up.
trait Probe {
    /// One line on the tool's health (targets up, clusters collected, ...).
    fn health(&self) -> Result<String, String>;
    /// Called during the window at least every [`POLL_ROUNDS`] intervals (rockscope's status
    /// keeps only its newest 50 cycles).
    fn poll(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// How the tool kept pace over the window `[from, to]`.
    fn pace(&mut self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Pace, String>;
}

/// Intervals between two [`Probe::poll`]s during the window.
const POLL_ROUNDS: u32 = 20;

/// One tool's run: start it, wait for warm-up, read, wait for the window, read, measure, stop.
#[allow(clippy::too_many_arguments)]
fn measure(
    tool: &'static str,
    started: Instant,
    child: Running,
    sim: &Fleet,
    nodes: usize,
    data: &Path,
    args: &Args,
    probe: &mut dyn Probe,
) -> Result<Outcome, String> {
    let pid = child.process.id();
    let read = |child: &Running| -> Result<(Reading, OffsetDateTime, Option<Duration>), String> {
        child.check(tool)?;
        let reading = Reading {
            elapsed: started.elapsed(),
            cpu: process_cpu_of(pid).ok_or(format!("{tool}: cannot read /proc/{pid}/stat"))?,
            traffic: sim.traffic()?,
        };
        Ok((reading, OffsetDateTime::now_utc(), sim.cpu()))
    };
    std::thread::sleep(args.warmup);
    let (a, from, sim_a) = read(&child)?;
    println!("# {tool}: warm-up done ({}), measuring", probe.health()?);
    let window_end = Instant::now() + args.duration;
    loop {
        let left = window_end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(args.interval * POLL_ROUNDS));
        child.check(tool)?;
        probe.poll()?;
    }
    let (b, to, sim_b) = read(&child)?;
    let peak = peak_rss_of(pid).ok_or(format!("{tool}: cannot read /proc/{pid}/status"))?;
    let disk = tree_bytes(data);
    println!("# {tool}: done ({})", probe.health()?);
    let pace = probe.pace(from, to)?;
    if let (Some(x), Some(y)) = (sim_a, sim_b) {
        println!(
            "# {tool}: the simulator ({}) used {:.1} CPU s in the window, not counted as {tool}'s",
            sim.describe(),
            y.saturating_sub(x).as_secs_f64()
        );
    }
    drop(child);
    // Let the sockets the tool kept open close before the next tool starts.
    std::thread::sleep(Duration::from_secs(2));
    let mut outcome = Outcome::between(tool, &a, &b, peak, disk, nodes);
    outcome.pace = Some(pace);
    Ok(outcome)
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
    sim: &Fleet,
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
    let tool = if remote_write.is_some() {
        "rockscope + remote write"
    } else {
        "rockscope"
    };
    let mut probe = RockscopeProbe {
        base,
        interval: args.interval,
        cycles: Vec::new(),
    };
    measure(tool, started, child, sim, nodes, &data, args, &mut probe)
}

/// rockscope's `/api/collector/status`: clusters collected, remote write, and the cycles seen.
struct RockscopeProbe {
    base: String,
    interval: Duration,
    /// Every cycle the status listed at a poll (the same cycle may be there more than once).
    cycles: Vec<Cycle>,
}

impl RockscopeProbe {
    fn status(&self) -> Result<serde_json::Value, String> {
        let body = get(&format!("{}/api/collector/status", self.base))?;
        serde_json::from_str(&body).map_err(|e| format!("rockscope status: {e}"))
    }
}

impl Probe for RockscopeProbe {
    fn health(&self) -> Result<String, String> {
        let v = self.status()?;
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
    }

    fn poll(&mut self) -> Result<(), String> {
        let v = self.status()?;
        self.cycles.extend(status_cycles(&v));
        Ok(())
    }

    fn pace(&mut self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Pace, String> {
        self.poll()?;
        Ok(cycle_pace(&self.cycles, from, to, self.interval))
    }
}

fn run_prometheus(
    bin: &Path,
    sim: &Fleet,
    clusters: &[ClusterInfo],
    nodes: usize,
    dir: &Path,
    args: &Args,
) -> Result<Outcome, String> {
    let config = prometheus_config(clusters, args.interval);
    let (base, started, child) = launch_prometheus(bin, dir, "prometheus", &config, &[])?;
    let mut probe = PrometheusProbe {
        base,
        nodes,
        interval: args.interval,
    };
    measure(
        "prometheus",
        started,
        child,
        sim,
        nodes,
        &dir.join("prometheus"),
        args,
        &mut probe,
    )
}

/// Prometheus' query API and own metrics: targets up, series, and its scrapes in the window.
struct PrometheusProbe {
    base: String,
    nodes: usize,
    interval: Duration,
}

impl PrometheusProbe {
    /// The single value of `query` evaluated at `at` (now when `None`).
    fn query(&self, query: &str, at: Option<OffsetDateTime>) -> Result<Option<f64>, String> {
        let mut url = format!("{}/api/v1/query?query={}", self.base, url_encode(query));
        if let Some(t) = at {
            url.push_str(&format!("&time={}", t.unix_timestamp()));
        }
        let body = get(&url)?;
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("prometheus query: {e}"))?;
        if v["status"] != "success" {
            return Err(format!("prometheus query {query:?}: {body}"));
        }
        Ok(query_value(&v))
    }
}

impl Probe for PrometheusProbe {
    fn health(&self) -> Result<String, String> {
        let up = self
            .query("sum(up)", None)?
            .map_or("?".to_owned(), |v| format!("{v:.0}"));
        let own = get(&format!("{}/metrics", self.base))?;
        let appended = sum_of(
            own.as_bytes(),
            "prometheus_tsdb_head_samples_appended_total",
        );
        let series = sum_of(own.as_bytes(), "prometheus_tsdb_head_series");
        Ok(format!(
            "{up} of {} targets up, {} head series, {} samples appended",
            self.nodes,
            series.map_or("?".to_owned(), |s| format!("{s:.0}")),
            appended.map_or("?".to_owned(), |s| format!("{s:.0}"))
        ))
    }

    /// From the samples Prometheus stored in the window: the scrapes of its least scraped
    /// target (`up` samples), its longest scrape (`scrape_duration_seconds`) and its failed
    /// scrapes (`up` 0).
    fn pace(&mut self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Pace, String> {
        let window = Duration::try_from(to - from).unwrap_or_default();
        let range = format!("[{}s]", window.as_secs().max(1));
        let fewest = self.query(&format!("min(count_over_time(up{range}))"), Some(to))?;
        let longest = self.query(
            &format!("max(max_over_time(scrape_duration_seconds{range}))"),
            Some(to),
        )?;
        let failed = self.query(
            &format!("sum(count_over_time(up{range}) - sum_over_time(up{range}))"),
            Some(to),
        )?;
        let seconds = |v: Option<f64>| {
            v.filter(|v| v.is_finite() && *v >= 0.0)
                .map_or(Duration::ZERO, Duration::from_secs_f64)
        };
        Ok(Pace {
            rounds: fewest.unwrap_or(0.0).max(0.0) as u64,
            expected_rounds: expected_rounds(window, self.interval),
            longest: seconds(longest),
            interval: self.interval,
            misses: failed.unwrap_or(0.0).max(0.0).round() as u64,
        })
    }
}

/// `text` percent-encoded for a URL query value (everything but unreserved characters).
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    let process = command
        .stdout(log("out")?)
        .stderr(log("err")?)
        .spawn()
        .map_err(|e| format!("starting {tool}: {e}"))?;
    let guard = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg("--stop-on-eof")
            .arg(process.id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
    });
    let guard = guard
        .inspect_err(|e| eprintln!("# {tool}: no guard process ({e}); a killed harness leaves it"))
        .ok();
    let child = Running { process, guard };
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

/// A started tool, stopped (SIGTERM, then SIGKILL after 15 s) when dropped; and its guard, a
/// process of this binary (`--stop-on-eof`) that stops the tool the same way when its stdin,
/// held here, closes: when the harness dies without dropping this (`kill -9`).
struct Running {
    process: Child,
    guard: Option<Child>,
}

impl Running {
    fn check(&self, tool: &str) -> Result<(), String> {
        // `try_wait` needs `&mut`; `/proc` tells whether the process is still there.
        let pid = self.process.id();
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("{tool}: reading /proc/{pid}/stat: {e}"))?;
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
        // The guard goes first, so that it never signals a pid this stop frees for reuse.
        if let Some(mut guard) = self.guard.take() {
            let _ = guard.kill();
            let _ = guard.wait();
        }
        let pid = self.process.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.process.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// The guard of a tool's process `pid` (`--stop-on-eof`): waits for EOF on stdin (its harness
/// ended), then stops `pid` with SIGTERM, and SIGKILL after 15 s, as long as `pid` is still the
/// process it was at the start (same start time), so a reused pid is never signalled.
fn stop_on_eof(pid: u32) {
    let started = start_time_of(pid);
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    let same = || started.is_some() && start_time_of(pid) == started;
    let signal = |name: &str| {
        if same() {
            let _ = Command::new("kill").args([name, &pid.to_string()]).status();
        }
    };
    signal("-TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    while same() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    signal("-KILL");
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`, clock ticks after boot).
fn start_time_of(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields from the 3rd (state) on: the 22nd is the 20th of them.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Removes the work folder at the end of the run.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
