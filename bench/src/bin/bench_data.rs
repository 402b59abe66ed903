//! Fills a SQLite database with realistic cluster history through the store's own API
//! (`Store::create_cluster`, `Store::insert_cycle`), for the API benchmark (`api_load`).
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin bench_data -- [PATH] [--clusters N] [--days D]
//!     [--interval-secs S] [--nodes N] [--long-clusters L] [--long-days LD] [--replace]
//! ```
//!
//! `PATH` defaults to `target/bench-data.db`. Every cluster gets `D` days of history ending now,
//! one cycle every `S` seconds, each with `N` node snapshots (3 FEs, the rest BEs); the first `L`
//! clusters get `LD` days instead (so a 7-day range can be benchmarked without filling 7 days for
//! every cluster). Cycles are inserted in time order, all clusters at one time before the next,
//! as the collector does, so the rows of one cluster are spread through the file as in real use.
//! The fill is bounded by its arguments; it prints progress every 5 s and the fill rate at the
//! end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rockscope_bench::api_history::SimCluster;
use rockscope_store::{NewCluster, Password, Store};
use time::OffsetDateTime;

struct Args {
    path: PathBuf,
    clusters: usize,
    days: f64,
    interval_secs: u64,
    nodes: usize,
    long_clusters: usize,
    long_days: f64,
    replace: bool,
}

/// Writes a benchmark database of simulated snapshots (see docs/BENCHMARKS.md).
#[derive(Debug, clap::Parser)]
#[command(name = "bench_data")]
struct Cli {
    /// The database to write.
    #[arg(default_value = "target/bench-data.db")]
    path: PathBuf,
    /// Clusters (positive).
    #[arg(long, default_value_t = 100)]
    clusters: usize,
    /// Days of history, up to 400.
    #[arg(long, default_value_t = 7.0)]
    days: f64,
    /// Seconds between snapshots (positive).
    #[arg(long, default_value_t = 30)]
    interval_secs: u64,
    /// Nodes per cluster (positive).
    #[arg(long, default_value_t = 13)]
    nodes: usize,
    /// Clusters with the longer history.
    #[arg(long, default_value_t = 0)]
    long_clusters: usize,
    /// Days of the longer history, up to 400.
    #[arg(long, default_value_t = 7.0)]
    long_days: f64,
    /// Replace an existing database.
    #[arg(long)]
    replace: bool,
}

fn parse_args() -> Result<Args, String> {
    let cli = <Cli as clap::Parser>::parse();
    let mut a = Args {
        path: cli.path,
        clusters: cli.clusters,
        days: cli.days,
        interval_secs: cli.interval_secs,
        nodes: cli.nodes,
        long_clusters: cli.long_clusters,
        long_days: cli.long_days,
        replace: cli.replace,
    };
    if a.clusters == 0 || a.nodes == 0 || a.interval_secs == 0 {
        return Err("--clusters, --nodes and --interval-secs must be positive".into());
    }
    if !(a.days > 0.0 && a.days <= 400.0 && a.long_days >= 0.0 && a.long_days <= 400.0) {
        return Err("--days and --long-days must be in 0..=400".into());
    }
    a.long_clusters = a.long_clusters.min(a.clusters);
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("bench_data: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.path.exists() {
        if !args.replace {
            return Err(format!(
                "{} exists; pass --replace to start over",
                args.path.display()
            ));
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = args.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    let store = Store::open(&args.path).map_err(|e| format!("open: {e}"))?;
    let interval = args.interval_secs as i64;
    let days_of = |i: usize| {
        if i < args.long_clusters {
            args.long_days.max(args.days)
        } else {
            args.days
        }
    };
    let cycles_of = |i: usize| (days_of(i) * 86_400.0 / args.interval_secs as f64) as i64;
    let total_cycles: i64 = (0..args.clusters).map(cycles_of).sum();
    let max_cycles = (0..args.clusters).map(cycles_of).max().unwrap_or(0);
    println!(
        "bench_data: {} clusters x {} days ({} of them x {} days) at {} s, {} nodes each: \
         {} snapshots, {} node snapshots -> {}",
        args.clusters,
        args.days,
        args.long_clusters,
        args.long_days,
        args.interval_secs,
        args.nodes,
        total_cycles,
        total_cycles * args.nodes as i64,
        args.path.display()
    );

    let mut sims = Vec::with_capacity(args.clusters);
    for i in 0..args.clusters {
        let new = NewCluster {
            name: format!("bench-{:03}", i + 1),
            fe_hosts: vec![format!("10.{}.{}.1:8030", i / 250, i % 250)],
            username: "root".into(),
            password: Password::new(""),
            connect_timeout_secs: None,
            request_timeout_secs: None,
            enabled: true,
        };
        let c = store
            .create_cluster(&new)
            .map_err(|e| format!("create cluster {}: {e}", new.name))?;
        sims.push((
            SimCluster::new(c.id, args.nodes, 0xB0C5 + i as u64),
            cycles_of(i),
        ));
    }

    // The newest cycle is at `end`, aligned to the interval; cycle k of the longest history is
    // at end − (max_cycles − 1 − k) × interval.
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let end = now - now.rem_euclid(interval);
    let started = Instant::now();
    let mut last_report = started;
    let mut done: i64 = 0;
    let mut insert_time = Duration::ZERO;
    for k in 0..max_cycles {
        let remaining = max_cycles - k; // cycles left including this one
        let at = OffsetDateTime::from_unix_timestamp(end - (remaining - 1) * interval)
            .map_err(|e| format!("time: {e}"))?;
        for (sim, cycles) in sims.iter_mut() {
            if remaining > *cycles {
                continue;
            }
            let (snapshot, nodes) = sim.cycle(at, args.interval_secs as f64);
            let t = Instant::now();
            store
                .insert_cycle(snapshot, nodes)
                .map_err(|e| format!("insert cluster {} at {at}: {e}", sim.cluster_id))?;
            insert_time += t.elapsed();
            done += 1;
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let rate = done as f64 / secs;
            println!(
                "  {done}/{total_cycles} snapshots ({:.1}%), {:.0} s, {rate:.0} snapshots/s \
                 ({:.0} node rows/s), ETA {:.0} s",
                done as f64 / total_cycles as f64 * 100.0,
                secs,
                rate * args.nodes as f64,
                (total_cycles - done) as f64 / rate.max(1e-9)
            );
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let size: u64 = ["", "-wal"]
        .iter()
        .filter_map(|s| {
            let mut p = args.path.clone().into_os_string();
            p.push(s);
            std::fs::metadata(PathBuf::from(p)).ok().map(|m| m.len())
        })
        .sum();
    let rate = done as f64 / secs;
    println!(
        "done: {done} snapshots + {} node snapshots in {secs:.1} s: {rate:.0} snapshots/s, \
         {:.0} node rows/s ({:.1}% of the time inside insert_cycle), {:.1} µs per cycle; \
         database {:.1} MiB",
        done * args.nodes as i64,
        rate * args.nodes as f64,
        insert_time.as_secs_f64() / secs * 100.0,
        insert_time.as_secs_f64() / done.max(1) as f64 * 1e6,
        size as f64 / 1024.0 / 1024.0
    );
    let full = 100.0 * 7.0 * 86_400.0 / 30.0;
    println!(
        "extrapolation: 100 clusters x 7 days at 30 s ({full:.0} snapshots, {} nodes each) at \
         this rate: {:.0} s ({:.1} min)",
        args.nodes,
        full / rate,
        full / rate / 60.0
    );
    Ok(())
}
