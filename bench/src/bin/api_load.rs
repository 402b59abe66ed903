//! Latency and throughput of rockscope's API under concurrent load, on a database filled by
//! `bench_data`.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin api_load -- [PATH] [--connections N]
//!     [--duration-secs S] [--warmup-secs W] [--workers N] [--cycles-per-sec R]
//!     [--only 1h|24h|3d|7d|all|all-cycles|cached|uncached|cycles] [--housekeeping]
//! ```
//!
//! Opens `PATH` (default `target/bench-data.db`), serves the API in-process on `127.0.0.1:0`
//! (actix `HttpServer` with `rockscope_api::configure`, as `rockscope serve` mounts it, a no-op
//! `ClusterTester`), and for each scenario runs an in-repo load generator: `N` keep-alive
//! HTTP/1.1 connections (tokio tasks over `TcpStream`), each sending its next request as soon as
//! the previous answer is read (closed loop), for `W` s of warm-up then `S` s measured. Before
//! that, each scenario runs 3 s on a single connection (the unloaded latency). Scenarios:
//!
//! * `overview 1h cached`: `GET /api/clusters/{id}/overview?time_range=1h`, ids round-robin over
//!   every cluster, through the API's overview cache on a static database (after the first
//!   round nearly every request is a hit; entries expire after the cache's TTL);
//! * `overview 1h uncached`: the same on a second server whose cache is disabled: every request
//!   computes its answer (the cold path);
//! * `overview 7d cached`, `overview 7d uncached`: the same with `time_range=7d`, over the
//!   clusters with 7 days of history;
//! * `overview 24h uncached`, `overview 3d uncached`: the cold path of `time_range=24h` and
//!   `3d` over the same clusters: from the raw cycles of a database `bench_data` filled, from
//!   the 5-minute tier once `--housekeeping` has laid it out as the service keeps it;
//! * `overview 7d cached + cycles`: cached, while a thread stores a new cycle (a copy of the
//!   cluster's newest snapshot and node rows, stamped now) for one cluster after another at `R`
//!   cycles/s (default 100 / 30 s = 3.33/s, the rate of a 100-cluster deployment at the default
//!   interval), each invalidating that cluster's cached answers as in a real deployment;
//! * `all clusters`: `GET /api/clusters/overview`, through the API's summaries cache (one answer
//!   kept, computed again once something changed and it is a second old; on a static database
//!   nearly every request is a hit);
//! * `all clusters + cycles`: the same while the writer of `overview 7d cached + cycles` stores
//!   cycles at `R` cycles/s, by default the rate of this database's fleet at the collector's
//!   default interval (clusters / 30 s: 33.3/s at 1,000 clusters), so that the cached answer
//!   keeps going stale as in a real deployment (issue 17 sets its target under this stream).
//!
//! `--only X` runs the scenarios whose name contains `X` (`all` runs both all-clusters
//! scenarios, the static one first; `cycles` both scenarios with cycles), except `all-cycles`,
//! which runs `all clusters + cycles` only.
//!
//! Reports requests, throughput, latency p50/p90/p99/max, errors (non-200 answers, broken
//! connections, 10 s timeouts) and, for the cached scenarios, the cache's hit rate in the measured
//! window and how many answers it computed there (for the all-clusters cache: how many times the
//! answer was recomputed); then times the store calls behind one overview on one thread (where
//! the time goes).
//! `--housekeeping` first runs one pass of the collector's housekeeping at the current time
//! (`rockscope_bench::housekeeping`: the roll-ups of every day, thinning past the
//! full-resolution window, the tier's merge, retention), so that the history has the layout of
//! a service's steady state; it rewrites `PATH`.
//!
//! Everything stops by itself; only 127.0.0.1 is used. `+ cycles` writes rows into `PATH`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer};
use rockscope_api::{ApiState, ClusterTester, OverviewCache, SummariesCache};
use rockscope_collector::StatusBoard;
use rockscope_store::{Cluster, OVERVIEW_FIELDS, Store};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The longest one request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the single-connection (unloaded) run of each scenario lasts.
const UNLOADED: Duration = Duration::from_secs(3);
/// The cycles per second of the 7d scenario with cycles unless `--cycles-per-sec` says: a
/// 100-cluster deployment (issue 7's fleet) at the default 30 s interval.
const SMALL_FLEET_CYCLES_PER_SEC: f64 = 100.0 / 30.0;

struct Args {
    path: PathBuf,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    workers: usize,
    only: Option<String>,
    /// `--cycles-per-sec`; each scenario with cycles has its own default.
    cycles_per_sec: Option<f64>,
    housekeeping: bool,
}

/// Load test of the HTTP API on a benchmark database (see docs/BENCHMARKS.md).
#[derive(Debug, clap::Parser)]
#[command(name = "api_load")]
struct Cli {
    /// The database made by bench_data.
    #[arg(default_value = "target/bench-data.db")]
    path: PathBuf,
    /// Concurrent client connections, 1 to 1000.
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// Seconds of measurement, 1 to 600.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Server worker threads (positive).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Run one part only: 1h, 24h, 3d, 7d, all, all-cycles, cached, uncached or cycles.
    #[arg(long)]
    only: Option<String>,
    /// Run one housekeeping pass over the database before the load (it rewrites the file).
    #[arg(long)]
    housekeeping: bool,
    /// Simulated collection cycles per second during the load, in (0, 1000] (default: 3.33 for
    /// the 7d overview, clusters / 30 s for the all-clusters overview).
    #[arg(long)]
    cycles_per_sec: Option<f64>,
}

fn parse_args() -> Result<Args, String> {
    let cli = <Cli as clap::Parser>::parse();
    let a = Args {
        path: cli.path,
        connections: cli.connections,
        duration: Duration::from_secs(cli.duration_secs),
        warmup: Duration::from_secs(cli.warmup_secs),
        workers: cli.workers,
        only: cli.only,
        cycles_per_sec: cli.cycles_per_sec,
        housekeeping: cli.housekeeping,
    };
    if a.connections == 0 || a.connections > 1000 || a.workers == 0 {
        return Err("--connections must be in 1..=1000 and --workers positive".into());
    }
    if a.duration.is_zero() || a.duration > Duration::from_secs(600) {
        return Err("--duration-secs must be in 1..=600".into());
    }
    if a.cycles_per_sec.is_some_and(|r| !(r > 0.0 && r <= 1000.0)) {
        return Err("--cycles-per-sec must be in (0, 1000]".into());
    }
    Ok(a)
}

/// The test endpoint is not benchmarked: a tester that probes nothing.
struct NoopTester;

impl ClusterTester for NoopTester {
    fn test(&self, _cluster: &Cluster) -> serde_json::Value {
        serde_json::json!({"skipped": "benchmark"})
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args) {
        eprintln!("api_load: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), String> {
    if !args.path.exists() {
        return Err(format!(
            "{} does not exist; fill it with bench_data first",
            args.path.display()
        ));
    }
    let opening = Instant::now();
    let store = Store::open(&args.path).map_err(|e| format!("open: {e}"))?;
    println!(
        "api_load: opened {} in {:.1} s (schema migrations included)",
        args.path.display(),
        opening.elapsed().as_secs_f64()
    );
    if args.housekeeping {
        let started = Instant::now();
        let settings = rockscope_bench::housekeeping::Settings::service_defaults();
        rockscope_bench::housekeeping::Housekeeper::new(settings)
            .pass(&store, OffsetDateTime::now_utc())?;
        println!(
            "api_load: one housekeeping pass ({settings}) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let clusters = store.list_clusters().map_err(|e| e.to_string())?;
    if clusters.is_empty() {
        return Err("the database has no cluster".into());
    }
    // The clusters with (nearly) a full week of history serve the 7d scenario.
    let now = OffsetDateTime::now_utc();
    let mut week: Vec<(i64, u64)> = Vec::new();
    for c in &clusters {
        let n = store
            .count_snapshots(c.id, now - time::Duration::days(7), now)
            .map_err(|e| e.to_string())?;
        week.push((c.id, n));
    }
    let most = week.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let long: Vec<i64> = week
        .iter()
        .filter(|(_, n)| *n * 10 >= most * 9)
        .map(|(id, _)| *id)
        .collect();
    let total: u64 = week.iter().map(|(_, n)| n).sum();
    println!(
        "api_load: {} ({} clusters, {} snapshots in the last 7 days; {} clusters with ~{} \
         snapshots each serve the 7d scenario); {} connections, {} s warm-up + {} s per \
         scenario, {} actix workers",
        args.path.display(),
        clusters.len(),
        total,
        long.len(),
        most,
        args.connections,
        args.warmup.as_secs(),
        args.duration.as_secs(),
        args.workers
    );

    let all_ids: Vec<i64> = clusters.iter().map(|c| c.id).collect();
    let paths = |ids: &[i64], range: &str| -> Vec<String> {
        ids.iter()
            .map(|id| format!("/api/clusters/{id}/overview?time_range={range}"))
            .collect()
    };
    // The whole fleet's rate at the collector's default interval (33.3/s at 1,000 clusters).
    let fleet_rate = (clusters.len() as f64
        / rockscope_collector::CollectorConfig::default()
            .interval
            .as_secs_f64())
    .min(1000.0);
    let small_fleet_rate = args.cycles_per_sec.unwrap_or(SMALL_FLEET_CYCLES_PER_SEC);
    let fleet_rate = args.cycles_per_sec.unwrap_or(fleet_rate);
    let everything = vec!["/api/clusters/overview".to_owned()];
    let scenarios: Vec<Scenario> = vec![
        Scenario::new("overview 1h cached", paths(&all_ids, "1h"), true, None),
        Scenario::new("overview 1h uncached", paths(&all_ids, "1h"), false, None),
        Scenario::new("overview 7d cached", paths(&long, "7d"), true, None),
        Scenario::new(
            "overview 7d cached + cycles",
            paths(&long, "7d"),
            true,
            Some(small_fleet_rate),
        ),
        Scenario::new("overview 7d uncached", paths(&long, "7d"), false, None),
        Scenario::new("overview 24h uncached", paths(&long, "24h"), false, None),
        Scenario::new("overview 3d uncached", paths(&long, "3d"), false, None),
        Scenario::new("all clusters", everything.clone(), true, None),
        Scenario::new("all clusters + cycles", everything, true, Some(fleet_rate)),
    ];

    // Two servers over the same store and status board: one with the overview cache as
    // `rockscope serve` has it, one with the cache disabled (the cold path).
    let status = StatusBoard::default();
    let cache = OverviewCache::default();
    let summaries = SummariesCache::default();
    let cached_state = ApiState {
        store: store.clone(),
        status: status.clone(),
        api_token: None,
        api_read_token: None,
        tester: Arc::new(NoopTester),
        overview_cache: cache.clone(),
        summaries_cache: summaries.clone(),
        alert_rules: Arc::new(
            rockscope_api::AlertRules::load(store.clone(), Vec::new(), Vec::new())
                .map_err(|e| format!("alert rules: {e:?}"))?,
        ),
        delivery: None,
        exported: Default::default(),
        telemetry: Default::default(),
        remote_write: None,
        custom_metrics: Arc::new(
            rockscope_api::CustomMetrics::load(store.clone(), Vec::new())
                .map_err(|e| format!("custom metrics: {e}"))?,
        ),
    };
    let uncached_state = ApiState {
        overview_cache: OverviewCache::disabled(),
        ..cached_state.clone()
    };
    println!(
        "overview cache: TTL {} s, at most {} entries and {} MiB",
        cache.config().ttl.as_secs_f64(),
        cache.config().max_entries,
        cache.config().max_bytes >> 20
    );
    let workers = args.workers;
    let connections = args.connections;
    let (duration, warmup) = (args.duration, args.warmup);
    let only = args.only.clone();
    let writer_store = store.clone();
    let writer_ids = all_ids.clone();
    actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            // As the service's runtime.
            .thread_keep_alive(rockscope_collector::BLOCKING_THREAD_KEEP_ALIVE)
            .build()
            .expect("a tokio runtime")
    })
    .block_on(async move {
        let mut addrs = Vec::new();
        let mut handles = Vec::new();
        for state in [cached_state, uncached_state] {
            let server = HttpServer::new(move || {
                App::new().configure(rockscope_api::configure(state.clone()))
            })
            .workers(workers)
            .disable_signals()
            .shutdown_timeout(2)
            .bind(("127.0.0.1", 0))
            .map_err(|e| format!("bind: {e}"))?;
            addrs.push(*server.addrs().first().ok_or("no bound address")?);
            let server = server.run();
            handles.push((server.handle(), tokio::spawn(server)));
        }
        let (cached_addr, uncached_addr) = (addrs[0], addrs[1]);
        println!("serving on http://{cached_addr} (cached) and http://{uncached_addr} (uncached)");
        println!(
            "\n| scenario | conns | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | body bytes | cache hits |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        for sc in &scenarios {
            let name = sc.name;
            if !sc.selected(only.as_deref()) {
                continue;
            }
            if sc.paths.is_empty() {
                println!("| {name} | - | skipped: no cluster qualifies |");
                continue;
            }
            let addr = if sc.cached { cached_addr } else { uncached_addr };
            let paths = Arc::new(sc.paths.clone());
            let writer = sc.cycles_per_sec.map(|rate| {
                CycleWriter::start(writer_store.clone(), writer_ids.clone(), rate)
            });
            for (conns, warm, window) in [
                (1, Duration::from_millis(300), UNLOADED),
                (connections, warmup, duration),
            ] {
                let stats = || {
                    if name.starts_with("overview") {
                        cache.stats()
                    } else {
                        summaries.stats()
                    }
                };
                // The counters from the end of the warm-up, as the latencies.
                let at_warm_end = async {
                    tokio::time::sleep(warm).await;
                    stats()
                };
                let (mut outcome, before) =
                    tokio::join!(load(addr, &paths, conns, warm, window), at_warm_end);
                let after = stats();
                let hits = if sc.cached {
                    // A miss is an answer computed (for the all-clusters cache, recomputed).
                    let (h, m) = (after.hits - before.hits, after.misses - before.misses);
                    format!(
                        "{:.1} % of {}, {m} computed",
                        100.0 * h as f64 / (h + m).max(1) as f64,
                        h + m
                    )
                } else {
                    "-".to_owned()
                };
                outcome.print(name, conns, &hits);
            }
            if let (Some(w), Some(rate)) = (writer, sc.cycles_per_sec) {
                let (written, failed, mean_ms) = w.stop();
                println!(
                    "  cycles stored during `{name}` at {rate:.2}/s: {written} ({failed} \
                     failed), {mean_ms:.2} ms per insert_cycle on average"
                );
            }
        }
        for (handle, task) in handles {
            handle.stop(true).await;
            let _ = task.await;
        }
        Ok::<(), String>(())
    })?;

    breakdown(&store, &all_ids, &long)
}

/// One load scenario.
struct Scenario {
    name: &'static str,
    paths: Vec<String>,
    /// Through the server with the overview cache.
    cached: bool,
    /// With a [`CycleWriter`] storing this many cycles per second meanwhile.
    cycles_per_sec: Option<f64>,
}

impl Scenario {
    fn new(
        name: &'static str,
        paths: Vec<String>,
        cached: bool,
        cycles_per_sec: Option<f64>,
    ) -> Self {
        Scenario {
            name,
            paths,
            cached,
            cycles_per_sec,
        }
    }

    /// Whether `--only` selects it: `all-cycles` names the all-clusters scenario with cycles,
    /// any other value every scenario whose name contains it.
    fn selected(&self, only: Option<&str>) -> bool {
        match only {
            None => true,
            Some("all-cycles") => self.name == "all clusters + cycles",
            Some(part) => self.name.contains(part),
        }
    }
}

/// A thread storing a new cycle for one cluster after another at a fixed rate, as the collector
/// of a deployment would: the cluster's newest snapshot and node rows again, stamped now.
struct CycleWriter {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    written: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    busy_us: Arc<AtomicU64>,
}

impl CycleWriter {
    fn start(store: Store, ids: Vec<i64>, per_sec: f64) -> CycleWriter {
        let stop = Arc::new(AtomicBool::new(false));
        let (written, failed, busy_us) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let period = Duration::from_secs_f64(1.0 / per_sec);
        let thread = {
            let (stop, written, failed, busy_us) = (
                Arc::clone(&stop),
                Arc::clone(&written),
                Arc::clone(&failed),
                Arc::clone(&busy_us),
            );
            std::thread::spawn(move || {
                let began = Instant::now();
                let mut n: u32 = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = ids[n as usize % ids.len()];
                    let t = Instant::now();
                    match store_cycle(&store, id) {
                        Ok(()) => written.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                    };
                    busy_us.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                    n = n.wrapping_add(1);
                    let next = began + period * n;
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
            })
        };
        CycleWriter {
            stop,
            thread,
            written,
            failed,
            busy_us,
        }
    }

    /// Stops the thread; gives cycles written, failed, and the mean time of one.
    fn stop(self) -> (u64, u64, f64) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        let (w, f) = (
            self.written.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        );
        let busy = self.busy_us.load(Ordering::Relaxed) as f64 / 1000.0;
        (w, f, busy / (w + f).max(1) as f64)
    }
}

/// Stores cluster `id`'s newest snapshot and node rows again as a cycle collected now.
fn store_cycle(store: &Store, id: i64) -> Result<(), String> {
    let e = |e: rockscope_store::Error| e.to_string();
    let mut snapshot = store.latest_snapshot(id).map_err(e)?.ok_or("no snapshot")?;
    let nodes = store.latest_nodes(id).map_err(e)?;
    let now = OffsetDateTime::now_utc();
    snapshot.collected_at = if now > snapshot.collected_at {
        now
    } else {
        snapshot.collected_at + time::Duration::milliseconds(1)
    };
    store.insert_cycle(&snapshot, &nodes).map_err(e)?;
    Ok(())
}

/// What one run of a scenario measured.
#[derive(Default)]
struct Outcome {
    /// Latencies of the successful requests in the measured window, µs.
    latencies: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
    body_bytes: u64,
    window: Duration,
}

impl Outcome {
    fn print(&mut self, name: &str, connections: usize, hits: &str) {
        self.latencies.sort_unstable();
        let pct = |p: f64| -> String {
            if self.latencies.is_empty() {
                return "-".into();
            }
            let i =
                ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
            format!("{:.1}", self.latencies[i - 1] as f64 / 1000.0)
        };
        let n = self.latencies.len();
        println!(
            "| {name} | {connections} | {n} | {:.0} | {} | {} | {} | {} | {} | {} | {hits} |",
            n as f64 / self.window.as_secs_f64(),
            pct(0.50),
            pct(0.90),
            pct(0.99),
            pct(1.0),
            self.errors,
            self.body_bytes / (n as u64).max(1)
        );
        if let Some(e) = &self.first_error {
            println!("  first error: {e}");
        }
    }
}

/// Runs `connections` closed-loop clients over `paths` for `warmup + window`, recording only
/// the requests that complete inside the window.
async fn load(
    addr: SocketAddr,
    paths: &Arc<Vec<String>>,
    connections: usize,
    warmup: Duration,
    window: Duration,
) -> Outcome {
    let start = Instant::now();
    let record_from = start + warmup;
    let deadline = record_from + window;
    let mut tasks = Vec::with_capacity(connections);
    for c in 0..connections {
        let paths = Arc::clone(paths);
        tasks.push(tokio::spawn(client(
            addr,
            paths,
            c,
            connections,
            record_from,
            deadline,
        )));
    }
    let mut out = Outcome {
        window,
        ..Outcome::default()
    };
    for t in tasks {
        match t.await {
            Ok(o) => {
                out.latencies.extend(o.latencies);
                out.errors += o.errors;
                out.body_bytes += o.body_bytes;
                if out.first_error.is_none() {
                    out.first_error = o.first_error;
                }
            }
            Err(e) => {
                out.errors += 1;
                out.first_error.get_or_insert_with(|| format!("task: {e}"));
            }
        }
    }
    out
}

/// One keep-alive connection sending requests back to back until `deadline`.
async fn client(
    addr: SocketAddr,
    paths: Arc<Vec<String>>,
    first: usize,
    stride: usize,
    record_from: Instant,
    deadline: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut next = first;
    while Instant::now() < deadline {
        let path = &paths[next % paths.len()];
        next = next.wrapping_add(stride);
        let began = Instant::now();
        let result = tokio::time::timeout(REQUEST_TIMEOUT, async {
            if conn.is_none() {
                let s = TcpStream::connect(addr)
                    .await
                    .map_err(|e| format!("connect: {e}"))?;
                s.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
                conn = Some(s);
            }
            let s = conn.as_mut().ok_or("no connection")?;
            request(s, path, &mut buf).await
        })
        .await
        .unwrap_or_else(|_| Err("timeout".into()));
        let done = Instant::now();
        let measured = done >= record_from && done <= deadline;
        match result {
            Ok((200, body)) => {
                if measured {
                    out.latencies
                        .push(done.duration_since(began).as_micros() as u64);
                    out.body_bytes += body as u64;
                }
            }
            Ok((status, _)) => {
                if measured {
                    out.errors += 1;
                    out.first_error
                        .get_or_insert_with(|| format!("GET {path}: status {status}"));
                }
            }
            Err(e) => {
                conn = None;
                if measured {
                    out.errors += 1;
                    out.first_error
                        .get_or_insert_with(|| format!("GET {path}: {e}"));
                }
            }
        }
    }
    out
}

/// Sends one GET and reads the whole answer (which must carry `Content-Length`); returns the
/// status and the body's length.
async fn request(s: &mut TcpStream, path: &str, buf: &mut Vec<u8>) -> Result<(u16, usize), String> {
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err("header over 64 KiB".into());
        }
        let n = s.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "header not UTF-8")?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no status code")?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .ok_or("no Content-Length")?;
    let mut have = buf.len() - head_end;
    while have < length {
        let n = s.read(&mut chunk).await.map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed in body".into());
        }
        have += n;
    }
    if have != length {
        return Err("more bytes than Content-Length".into());
    }
    Ok((status, length))
}

/// Times, on this thread and without HTTP, the store calls behind one overview (the median of
/// repeated runs), so the report can say where the time goes.
fn breakdown(store: &Store, all: &[i64], long: &[i64]) -> Result<(), String> {
    let median =
        |runs: usize, f: &mut dyn FnMut(usize) -> Result<(), String>| -> Result<f64, String> {
            let mut t = Vec::with_capacity(runs);
            for i in 0..runs {
                let s = Instant::now();
                f(i)?;
                t.push(s.elapsed().as_secs_f64() * 1000.0);
            }
            t.sort_by(f64::total_cmp);
            Ok(t[t.len() / 2])
        };
    let e = |e: rockscope_store::Error| e.to_string();
    println!("\nstore calls behind one request, one thread, median of 20 (ms):");
    let pick = |ids: &[i64], i: usize| ids[i % ids.len()];
    for (label, ids, range) in [
        ("1h", all, time::Duration::hours(1)),
        ("7d", long, time::Duration::days(7)),
    ] {
        if ids.is_empty() {
            continue;
        }
        let to = OffsetDateTime::now_utc();
        let from = to - range;
        let get = median(20, &mut |i| {
            store.get_cluster(pick(ids, i)).map(|_| ()).map_err(e)
        })?;
        let latest = median(20, &mut |i| {
            store.latest_snapshot(pick(ids, i)).map(|_| ()).map_err(e)
        })?;
        let both = median(20, &mut |i| {
            store
                .series_with_stats(pick(ids, i), from, to, &OVERVIEW_FIELDS, 240)
                .map(|_| ())
                .map_err(e)
        })?;
        println!(
            "  overview {label}: get_cluster {get:.2}, latest_snapshot {latest:.2}, \
             series_with_stats {both:.2} (what the overview runs; sum {:.2})",
            get + latest + both
        );
    }
    let summaries = median(20, &mut |_| {
        store.cluster_summaries().map(|_| ()).map_err(e)
    })?;
    println!("  all clusters: cluster_summaries {summaries:.2}");
    Ok(())
}
