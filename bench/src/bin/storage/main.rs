//! Benchmark 3 of issue 7: storage. Insert rate, database bytes per cluster-day, time of the
//! daily aggregation, and the retention clean-up with a concurrent writer; and issue 17's
//! steady-state size and housekeeping waits at a fleet's size.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin storage
//! cargo run --release -p rockscope-bench --bin storage -- --retention-clusters 100  # slow fill
//! # issue 17 (each mode runs alone; both may be given):
//! cargo run --release -p rockscope-bench --bin storage -- --steady-state-clusters 10 \
//!     [--steady-state-days 8] [--steady-state-hours 0] [--steady-state-pass-secs 3600]
//! cargo run --release -p rockscope-bench --bin storage -- --housekeeping-clusters 1000 \
//!     [--housekeeping-hours 2]
//! ```
//!
//! Rows are real: one cycle of a simulated 3 FE + 10 BE cluster, aggregated by the engine, in
//! 64 variants (every float scaled by 0.8–1.2), stamped every 30 s of fixed past UTC days.
//!
//! 1. **Insert rate and size**: `insert_cycle` (one transaction per cycle, as the collector does)
//!    of 10 clusters × 1 day into a fresh file, one thread; then the file closed (WAL folded in)
//!    and its size, less the empty schema, divided by 10 cluster-days.
//! 2. **Daily aggregation**: 100 clusters × 1 day of snapshots, then per cluster
//!    `daily_inputs` + `rollup_day` + `upsert_daily`, as housekeeping does.
//! 3. **Retention**: the database of step 1 grown to 7 days, then `delete_snapshots_before` in
//!    batches of at most 2,000 rows (housekeeping's batch; `--retention-batch`; the store cuts
//!    them down to hold the write turn about 20 ms) while a writer thread inserts cycles of
//!    another cluster every 5 ms and records how long each insert took, split (from the
//!    thread's `/proc/thread-self/schedstat`) into time on a CPU, time waiting for a CPU (the
//!    machine is shared) and time blocked (waiting for the write turn, for I/O).
//!
//! With `--steady-state-clusters` or `--housekeeping-clusters`, only those run:
//!
//! * **Steady state** ([`steady_state`]): N clusters × D days filled with the collector's
//!   housekeeping passes between the ticks, then the bytes per table (`dbstat`) and per
//!   cluster-day of the retention window.
//! * **Housekeeping waits** ([`housekeeping_waits`]): the writer's longest wait and p99 during
//!   each step of housekeeping (roll-ups, raw retention, thinning, tier retention, ...) at N
//!   clusters, on N clusters × a few hours around the thinning and retention cut-offs.

mod housekeeping_waits;
mod steady_state;
mod writer;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use rockscope_bench::fleet::{add_clusters, load_average, ms};
use rockscope_bench::history::{Cycle, real_cycle, variants};
use rockscope_collector::RETENTION_BATCH;
use rockscope_engine::{rollup_day, rollup_window};
use rockscope_store::Store;
use time::macros::datetime;
use time::{Date, OffsetDateTime};

/// The first day of the synthetic history (a fixed past day, so runs are comparable).
const DAY0: OffsetDateTime = datetime!(2026-10-01 00:00 UTC);
/// Cycles per day at a 30 s interval.
const CYCLES_PER_DAY: i64 = 2_880;
/// Variants of the real cycle.
const VARIANTS: usize = 64;
/// BEs of the template cluster (3 FE + 10 BE: the issue's reference shape).
const BES: usize = 10;

type Fallible<T> = Result<T, String>;

struct Args {
    size_clusters: usize,
    rollup_clusters: usize,
    retention_clusters: usize,
    retention_days: i64,
    retention_batch: usize,
    steady_state_clusters: Option<usize>,
    steady_state_days: i64,
    steady_state_hours: i64,
    steady_state_pass_secs: i64,
    housekeeping_clusters: Option<usize>,
    housekeeping_hours: i64,
}

/// Storage benchmarks: size, roll-up and retention (see docs/BENCHMARKS.md).
#[derive(Debug, clap::Parser)]
#[command(name = "storage")]
struct Cli {
    /// Clusters of the size database.
    #[arg(long, default_value_t = 10, value_parser = positive)]
    size_clusters: usize,
    /// Clusters of the roll-up run.
    #[arg(long, default_value_t = 100, value_parser = positive)]
    rollup_clusters: usize,
    /// Clusters of the retention run (at least --size-clusters).
    #[arg(long, default_value_t = 10, value_parser = positive)]
    retention_clusters: usize,
    /// Days kept by the retention run.
    #[arg(long, default_value_t = 7, value_parser = positive)]
    retention_days: usize,
    /// Rows per retention batch.
    #[arg(long, default_value_t = RETENTION_BATCH, value_parser = positive)]
    retention_batch: usize,
    /// Measure the steady state's size instead: this many clusters filled with housekeeping.
    #[arg(long, value_parser = positive)]
    steady_state_clusters: Option<usize>,
    /// Days of the steady-state fill (one more than the retention fills the window).
    #[arg(long, default_value_t = 8, value_parser = positive)]
    steady_state_days: usize,
    /// Hours of the steady-state fill after its days (0 to 23): where in the day it ends.
    #[arg(long, default_value_t = 0)]
    steady_state_hours: usize,
    /// Simulated seconds between two housekeeping passes of the steady-state fill (a multiple
    /// of 30; the service runs one every 30 s, see the steady_state module for why not here).
    #[arg(long, default_value_t = 3600, value_parser = positive)]
    steady_state_pass_secs: usize,
    /// Measure the writer's waits during each housekeeping step instead, at this many clusters.
    #[arg(long, value_parser = positive)]
    housekeeping_clusters: Option<usize>,
    /// Hours of cycles per cluster of the housekeeping run (even, at most 24).
    #[arg(long, default_value_t = 2, value_parser = positive)]
    housekeeping_hours: usize,
}

/// A positive number.
fn positive(text: &str) -> Result<usize, String> {
    text.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{text:?} is not a positive number"))
}

fn parse_args() -> Fallible<Args> {
    let cli = <Cli as clap::Parser>::parse();
    let int = |n: usize| i64::try_from(n).map_err(|e| e.to_string());
    if cli.housekeeping_hours > 24 || cli.housekeeping_hours % 2 != 0 {
        return Err("--housekeeping-hours must be even and at most 24".into());
    }
    if cli.steady_state_hours > 23 {
        return Err("--steady-state-hours must be at most 23".into());
    }
    if cli.steady_state_pass_secs % 30 != 0 {
        return Err("--steady-state-pass-secs must be a multiple of 30".into());
    }
    Ok(Args {
        steady_state_clusters: cli.steady_state_clusters,
        steady_state_days: int(cli.steady_state_days)?,
        steady_state_hours: int(cli.steady_state_hours)?,
        steady_state_pass_secs: int(cli.steady_state_pass_secs)?,
        housekeeping_clusters: cli.housekeeping_clusters,
        housekeeping_hours: int(cli.housekeeping_hours)?,
        size_clusters: cli.size_clusters,
        rollup_clusters: cli.rollup_clusters,
        // Retention grows the size database: it needs at least its clusters.
        retention_clusters: cli.retention_clusters.max(cli.size_clusters),
        retention_days: i64::try_from(cli.retention_days).map_err(|e| e.to_string())?,
        retention_batch: cli.retention_batch,
    })
}

/// A database file in a private directory, removed (directory and all) on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Fallible<TempDir> {
        let dir =
            std::env::temp_dir().join(format!("rockscope-bench-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
    fn db(&self) -> PathBuf {
        self.0.join("rockscope.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes of the database file and its WAL.
fn db_bytes(path: &Path) -> u64 {
    let len = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    len(path.to_path_buf()) + len(PathBuf::from(wal))
}

fn open(path: &Path) -> Fallible<Store> {
    Store::open(path).map_err(|e| format!("opening {}: {e}", path.display()))
}

/// The time of cycle `k` (from DAY0) of a cluster: every 30 s, shifted by the cluster's id in
/// ms so that clusters do not share instants.
fn at(cluster_id: i64, k: i64) -> OffsetDateTime {
    DAY0 + time::Duration::seconds(30 * k) + time::Duration::milliseconds(cluster_id % 1000)
}

/// Inserts the cycles `ks` of every cluster in `ids` (time-major, as the collector writes);
/// returns (cycles, rows, wall).
fn fill(
    store: &Store,
    variants: &[Cycle],
    ids: &[i64],
    ks: std::ops::Range<i64>,
    with_nodes: bool,
) -> Fallible<(usize, usize, Duration)> {
    let (mut cycles, mut rows) = (0, 0);
    let started = Instant::now();
    for k in ks {
        for &id in ids {
            let v = &variants[(k as usize + id as usize) % variants.len()];
            let c = v.stamped(id, at(id, k));
            let nodes: &[_] = if with_nodes { &c.nodes } else { &[] };
            store
                .insert_cycle(&c.snapshot, nodes)
                .map_err(|e| format!("insert_cycle: {e}"))?;
            cycles += 1;
            rows += 1 + nodes.len();
        }
    }
    Ok((cycles, rows, started.elapsed()))
}

fn per_s(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("storage: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Fallible<()> {
    let args = parse_args()?;
    println!(
        "storage: SQLite file in {} (WAL, synchronous=NORMAL); load average at start: {}",
        std::env::temp_dir().display(),
        load_average()
    );
    eprintln!("taking a real cycle from the simulator (1 cluster, 3 FE + {BES} BE) ...");
    let template = real_cycle(BES)?;
    let variants = variants(&template, VARIANTS)?;
    let rows_per_cycle = template.rows();
    if args.steady_state_clusters.is_some() || args.housekeeping_clusters.is_some() {
        if let Some(n) = args.steady_state_clusters {
            steady_state::run(
                &variants,
                n,
                args.steady_state_days,
                args.steady_state_hours,
                args.steady_state_pass_secs,
            )?;
        }
        if let Some(n) = args.housekeeping_clusters {
            housekeeping_waits::run(&variants, n, args.housekeeping_hours)?;
        }
        println!("Load average at end: {}", load_average());
        return Ok(());
    }

    // 1. Insert rate and bytes per cluster-day.
    let dir = TempDir::new("storage")?;
    let path = dir.db();
    let store = open(&path)?;
    let ids = add_clusters(&store, "size", args.size_clusters)?;
    drop(store);
    let empty_bytes = db_bytes(&path);
    let store = open(&path)?;
    eprintln!(
        "filling {} clusters x 1 day ({} cycles) ...",
        ids.len(),
        ids.len() as i64 * CYCLES_PER_DAY
    );
    let (cycles, rows, wall) = fill(&store, &variants, &ids, 0..CYCLES_PER_DAY, true)?;
    drop(store); // the last connection folds the WAL into the file
    let day_bytes = db_bytes(&path).saturating_sub(empty_bytes);
    let per_cluster_day = day_bytes as f64 / ids.len() as f64;
    println!();
    println!("## Insert rate and size");
    println!(
        "rows per cycle: 1 snapshot + {} node snapshots (3 FE + {BES} BE)",
        rows_per_cycle - 1
    );
    println!(
        "insert_cycle, one thread, one transaction per cycle: {cycles} cycles in {:.2} s = \
         {:.0} cycles/s, {:.0} rows/s ({:.3} ms per cycle)",
        wall.as_secs_f64(),
        per_s(cycles, wall),
        per_s(rows, wall),
        wall.as_secs_f64() * 1000.0 / cycles as f64
    );
    println!(
        "size: {} cluster-days = {:.1} MB ({} bytes over the empty schema, WAL folded in) \
         → {:.2} MB per cluster-day ({:.0} bytes per cycle, {:.0} per row); \
         7 days x 100 clusters ≈ {:.2} GB",
        ids.len(),
        day_bytes as f64 / 1e6,
        day_bytes,
        per_cluster_day / 1e6,
        per_cluster_day / CYCLES_PER_DAY as f64,
        per_cluster_day / (CYCLES_PER_DAY as f64 * rows_per_cycle as f64),
        per_cluster_day * 700.0 / 1e9
    );

    // 2. Daily aggregation of rollup_clusters × 1 day.
    let rollup_dir = TempDir::new("rollup")?;
    let rollup_store = open(&rollup_dir.db())?;
    let rollup_ids = add_clusters(&rollup_store, "rollup", args.rollup_clusters)?;
    eprintln!(
        "filling {} clusters x 1 day of snapshots ({} cycles, without node rows) ...",
        rollup_ids.len(),
        rollup_ids.len() as i64 * CYCLES_PER_DAY
    );
    let (rcycles, _, rwall) = fill(
        &rollup_store,
        &variants,
        &rollup_ids,
        0..CYCLES_PER_DAY,
        false,
    )?;
    // The fill leaves up to the auto-checkpoint's 10,000 pages in the write-ahead log; in the
    // service, housekeeping checkpoints after every pass, so the roll-up reads a folded log.
    rollup_store
        .checkpoint()
        .map_err(|e| format!("checkpoint: {e}"))?;
    let date: Date = DAY0.date();
    let (mut read, mut roll, mut write) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut rolled = 0;
    let started = Instant::now();
    for &id in &rollup_ids {
        let t = Instant::now();
        let (from, to) = rollup_window(date);
        let day = rollup_store
            .daily_inputs(id, from, to)
            .map_err(|e| format!("daily_inputs: {e}"))?;
        let outcomes = rollup_store
            .cycle_outcomes(id, from, to)
            .map_err(|e| format!("cycle_outcomes: {e}"))?;
        read += t.elapsed();
        let t = Instant::now();
        let daily = rollup_day(id, date, &day, &outcomes);
        roll += t.elapsed();
        let t = Instant::now();
        if let Some(daily) = daily {
            rollup_store
                .upsert_daily(&daily)
                .map_err(|e| format!("upsert_daily: {e}"))?;
            rolled += day.len();
        }
        write += t.elapsed();
    }
    let total = started.elapsed();
    drop(rollup_store);
    drop(rollup_dir);
    println!();
    println!("## Daily aggregation");
    println!(
        "fill: {rcycles} snapshots ({} clusters x 1 day) by insert_cycle without node rows (the \
         roll-up reads only metrics_snapshots) in {:.1} s ({:.0} cycles/s)",
        rollup_ids.len(),
        rwall.as_secs_f64(),
        per_s(rcycles, rwall)
    );
    println!(
        "roll-up of {} clusters x 1 day ({rolled} snapshots): {} ms total = read {} ms \
         (daily_inputs) + rollup_day {} ms + upsert_daily {} ms; target < 2,000 ms: {}",
        rollup_ids.len(),
        ms(total),
        ms(read),
        ms(roll),
        ms(write),
        verdict(total < Duration::from_secs(2))
    );

    // 3. Retention: grow the size database to retention_days × retention_clusters, then clean.
    let store = open(&path)?;
    let mut ret_ids = ids.clone();
    let extra = args.retention_clusters - ids.len();
    if extra > 0 {
        let more = add_clusters(&store, "more", extra)?;
        fill(&store, &variants, &more, 0..CYCLES_PER_DAY, true)?;
        ret_ids.extend(more);
    }
    eprintln!(
        "growing to {} clusters x {} days ({} more cycles) ...",
        ret_ids.len(),
        args.retention_days,
        ret_ids.len() as i64 * CYCLES_PER_DAY * (args.retention_days - 1)
    );
    let (_, _, gwall) = fill(
        &store,
        &variants,
        &ret_ids,
        CYCLES_PER_DAY..CYCLES_PER_DAY * args.retention_days,
        true,
    )?;
    let total_cycles = ret_ids.len() as i64 * CYCLES_PER_DAY * args.retention_days;
    // The fill wrote a week in minutes and leaves gigabytes of dirty pages for the kernel to
    // write back; a service writing 3 cycles/s never has such a backlog when its clean-up
    // starts, and every fsync of the clean-up would wait behind it. Flush it first, as a week
    // of real time would have (the clean-up's own writes are still measured).
    let flushed = Instant::now();
    store.checkpoint().map_err(|e| format!("checkpoint: {e}"))?;
    let synced = Command::new("sync").status().map(|s| s.success());
    eprintln!(
        "flushed the fill to disk in {:.1} s (sync: {synced:?})",
        flushed.elapsed().as_secs_f64()
    );
    let writer_id = add_clusters(&store, "writer", 1)?
        .first()
        .copied()
        .ok_or("no writer cluster")?;
    println!();
    println!(
        "## Retention clean-up (batches of at most {} rows)",
        args.retention_batch
    );
    println!(
        "history: {} clusters x {} days at 30 s = {total_cycles} cycles, {} rows, {:.1} MB \
         (grown in {:.1} s)",
        ret_ids.len(),
        args.retention_days,
        total_cycles * rows_per_cycle as i64,
        db_bytes(&path) as f64 / 1e6,
        gwall.as_secs_f64()
    );

    // The steady state: one day expires. Then a catch-up: every remaining day at once.
    let day = |d: i64| DAY0 + time::Duration::days(d);
    let writer_cycle = variants.first().ok_or("no variants")?;
    for (label, cutoff) in [
        ("oldest day expires (daily steady state)", day(1)),
        (
            "every remaining day at once (catch-up)",
            day(args.retention_days),
        ),
    ] {
        let started = Instant::now();
        let (deleted, inserts) = writer::with_writer(&store, writer_cycle, writer_id, || {
            let deleted = store.delete_snapshots_before(cutoff, args.retention_batch);
            (deleted, started.elapsed())
        })?;
        let (deleted, took) = deleted;
        let deleted = deleted.map_err(|e| format!("delete_snapshots_before: {e}"))?;
        let waits = writer::Waits::of(&inserts);
        println!(
            "{label}: deleted {deleted} snapshots (+ their node rows) in {:.2} s; writer: {} \
             inserts, p99 {} ms, longest {} ms, {} of 100 ms or more; target longest < \
             100 ms: {}",
            took.as_secs_f64(),
            waits.count,
            ms(waits.p99),
            ms(waits.longest_wall()),
            waits.over_100ms,
            verdict(waits.longest_wall() < WRITER_TARGET)
        );
        print_extremes(&waits);
    }
    drop(store);
    drop(dir);
    println!("Load average at end: {}", load_average());
    Ok(())
}

/// The longest a housekeeping step may hold up a writer (issues 7 and 17).
const WRITER_TARGET: Duration = Duration::from_millis(100);

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// The longest and the most blocked insert of `waits`, each split into its parts.
fn print_extremes(waits: &writer::Waits) {
    if let (Some(longest), Some(blocked)) = (waits.longest, waits.most_blocked) {
        println!("  longest insert: {}", longest.breakdown());
        println!("  most blocked:   {}", blocked.breakdown());
    }
}
