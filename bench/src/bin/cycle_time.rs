//! Benchmark 2 of issue 7: wall time of one collection cycle against fleet size, and where it
//! goes.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin cycle_time            # ≤ 1,300 nodes, ~15 s
//! cargo run --release -p rockscope-bench --bin cycle_time -- --full  # + 5,300 and 6,000 nodes, ~75 s
//! cargo run --release -p rockscope-bench --bin cycle_time -- --point 100x3+50 --reps 5
//! cargo run --release -p rockscope-bench --bin cycle_time -- --point 100x3+10 --custom 50
//! ```
//!
//! `--custom N` defines N custom metrics (issue 16: a realistic mix of summed gauges, counter
//! rates, label regexes, leader-only FE series and ratios over real StarRocks series) for the
//! collector and the aggregate phase; run it beside the same point without to see their cost.
//!
//! For each grid point (clusters × FE+BE per cluster) the simulator serves the fleet on
//! 127.0.0.1 (one port per node), the clusters are registered in a temporary store, and the
//! collector (default `CollectorConfig`: 16 clusters at once) runs one warm-up cycle, then
//! `--reps` timed cycles of `Collector::collect_once` (median reported). The simulator runs in
//! this process on the same two cores; its threads' CPU is reported apart.
//!
//! The split then times each phase alone on the same fleet, with the same 16-way concurrency
//! over clusters: HTTP fetch (`fetch_cycle`, the collector's own fetch on the runtime's blocking
//! pool, with the client's check that each body starts with a valid sample), parse + aggregate (`aggregate` on the fetched inputs, with the previous cycle's state)
//! and SQLite writes (`insert_cycle`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rockscope_bench::fleet::{
    client_for, load_average, median, ms, par_map, process_cpu, register_clusters, start_simulator,
    threads_cpu,
};
use rockscope_collector::{
    Collector, CollectorConfig, CollectorParts, CustomInForce, StatusBoard, fetch_cycle,
};
use rockscope_engine::{CustomSet, EngineState, aggregate_with};
use rockscope_model::CustomMetricSpec;
use rockscope_store::Store;

/// Clusters fetched at once, as the collector's default `concurrency`.
const CONCURRENCY: usize = 16;
/// FEs per cluster at every grid point.
const FES: usize = 3;
/// Name prefix of the simulator's threads.
const SIM_THREADS: &str = "rockscope-sim";

#[derive(Debug, Clone, Copy)]
struct Point {
    clusters: usize,
    bes: usize,
}

impl Point {
    fn nodes(self) -> usize {
        self.clusters * (FES + self.bes)
    }
}

struct Args {
    points: Vec<Point>,
    reps: usize,
    custom: Arc<CustomInForce>,
}

/// Collection cycle time over simulated fleets (see docs/BENCHMARKS.md).
#[derive(Debug, clap::Parser)]
#[command(name = "cycle_time")]
struct Cli {
    /// Add the larger points of the grid.
    #[arg(long)]
    full: bool,
    /// Repetitions per point (positive).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..))]
    reps: u64,
    /// A point to measure instead of the grid, as CLUSTERSx3+BES (repeatable).
    #[arg(long = "point", value_name = "CLUSTERSx3+BES")]
    points: Vec<String>,
    /// Custom metric definitions in force (issue 16's cost: 50 against 0).
    #[arg(long, default_value_t = 0)]
    custom: usize,
}

/// `n` custom metrics over series every simulated body serves, cycling through the shapes
/// operators write: a BE gauge summed, a BE counter's rate, a regex on a label, a leader-only
/// FE series, an FE counter's rate with a label matcher, the busiest BE, and every fifth a
/// ratio of the one before.
fn custom_definitions(n: usize) -> Vec<CustomMetricSpec> {
    const SHAPES: [(&str, &str, &str, &str, bool); 6] = [
        ("starrocks_be_process_mem_bytes", "{}", "be", "sum", false),
        ("starrocks_be_segment_read_total", "{}", "be", "sum", true),
        (
            "starrocks_be_disks_total_capacity",
            r#"{path=~"/data1/.*"}"#,
            "be",
            "sum",
            false,
        ),
        ("starrocks_fe_meta_log_count", "{}", "fe", "leader", false),
        ("jvm_young_gc", r#"{type="count"}"#, "fe", "sum", true),
        ("starrocks_be_process_thread_num", "{}", "be", "max", false),
    ];
    (0..n)
        .map(|i| {
            let (metric, matchers, node_type, aggregate, rate) = SHAPES[i % SHAPES.len()];
            CustomMetricSpec {
                name: format!("custom_{i}"),
                metric: metric.to_owned(),
                matchers: matchers.to_owned(),
                node_types: vec![node_type.to_owned()],
                aggregate: aggregate.to_owned(),
                rate,
                ratio_of: (i % 5 == 4).then(|| format!("custom_{}", i - 1)),
                unit: None,
                description: None,
                per_node: false,
            }
        })
        .collect()
}

fn parse_args() -> Result<Args, String> {
    let cli = <Cli as clap::Parser>::parse();
    let full = cli.full;
    let reps = usize::try_from(cli.reps).map_err(|e| e.to_string())?;
    let mut points = cli
        .points
        .iter()
        .map(|p| parse_point(p))
        .collect::<Result<Vec<_>, _>>()?;
    if points.is_empty() {
        // Default grid: at most 1,300 nodes (the issue's reference fleet), under 3 minutes.
        points = vec![
            Point {
                clusters: 10,
                bes: 3,
            },
            Point {
                clusters: 10,
                bes: 10,
            },
            Point {
                clusters: 10,
                bes: 50,
            },
            Point {
                clusters: 100,
                bes: 3,
            },
            Point {
                clusters: 100,
                bes: 10,
            },
        ];
        if full {
            // 1,000 × 3+10 and 3+50 would need 13,000+ listeners plus two sockets per node
            // (client and server side) in one process: over this machine's 20,000 descriptors.
            points.extend([
                Point {
                    clusters: 100,
                    bes: 50,
                },
                Point {
                    clusters: 1000,
                    bes: 3,
                },
            ]);
        }
    }
    let custom = CustomSet::new(&custom_definitions(cli.custom))
        .map_err(|e| format!("--custom {}: {e}", cli.custom))?;
    Ok(Args {
        points,
        reps,
        custom: Arc::new(CustomInForce::new(custom)),
    })
}

fn parse_point(v: &str) -> Result<Point, String> {
    let bad = || format!("--point {v:?}: expected CLUSTERSx3+BES, e.g. 100x3+10");
    let (c, shape) = v.split_once('x').ok_or_else(bad)?;
    let (f, b) = shape.split_once('+').ok_or_else(bad)?;
    if f.trim() != "3" {
        return Err(format!(
            "--point {v:?}: only 3 FEs per cluster are supported"
        ));
    }
    Ok(Point {
        clusters: c.trim().parse().map_err(|_| bad())?,
        bes: b.trim().parse().map_err(|_| bad())?,
    })
}

/// What one grid point measured.
struct Row {
    point: Point,
    cycle: Duration,
    cycle_min: Duration,
    own_cpu: Duration,
    sim_cpu: Duration,
    failed: usize,
    mb_per_cycle: f64,
    fetch: Duration,
    fetch_own_cpu: Duration,
    fetch_sim_cpu: Duration,
    aggregate: Duration,
    insert: Duration,
}

impl Row {
    fn bottleneck(&self) -> &'static str {
        let phases = [
            (self.fetch, "HTTP fetch"),
            (self.aggregate, "parse+aggregate"),
            (self.insert, "SQLite writes"),
        ];
        phases
            .iter()
            .max_by_key(|(d, _)| *d)
            .map_or("none", |(_, name)| name)
    }
}

/// CPU of this process, split into the simulator's threads and everything else (rockscope).
#[derive(Clone, Copy)]
struct Cpu {
    total: Duration,
    sim: Duration,
}

impl Cpu {
    fn now() -> Cpu {
        Cpu {
            total: process_cpu().unwrap_or_default(),
            sim: threads_cpu(SIM_THREADS).unwrap_or_default(),
        }
    }
    /// (rockscope, simulator) CPU since `self`.
    fn since(self) -> (Duration, Duration) {
        let now = Cpu::now();
        let sim = now.sim.saturating_sub(self.sim);
        let total = now.total.saturating_sub(self.total);
        (total.saturating_sub(sim), sim)
    }
}

fn measure(
    point: Point,
    reps: usize,
    custom: &Arc<CustomInForce>,
    rt: &tokio::runtime::Runtime,
) -> Result<Row, String> {
    let sim = start_simulator(point.clusters, FES, point.bes)
        .map_err(|e| format!("starting the simulator: {e}"))?;
    let store = Store::open_temporary().map_err(|e| format!("opening a temporary store: {e}"))?;
    let clusters =
        register_clusters(&sim, &store).map_err(|e| format!("registering clusters: {e}"))?;

    // The whole cycle, through the collector.
    let in_force = Arc::clone(custom);
    let collector = Collector::with_parts(
        CollectorConfig {
            concurrency: CONCURRENCY,
            ..CollectorConfig::default()
        },
        store.clone(),
        StatusBoard::default(),
        CollectorParts {
            custom: Some(Arc::new(move || Arc::clone(&in_force))),
            ..CollectorParts::default()
        },
    );
    rt.block_on(collector.collect_once()); // warm-up: connections, first engine state
    let mut walls = Vec::new();
    let mut failed = 0;
    let cpu = Cpu::now();
    for _ in 0..reps {
        let started = Instant::now();
        let outcomes = rt.block_on(collector.collect_once());
        walls.push(started.elapsed());
        failed += outcomes.iter().filter(|o| o.result.is_err()).count();
        let nodes_missing: usize = outcomes
            .iter()
            .map(|o| o.nodes_total - o.nodes_ok)
            .sum::<usize>()
            + outcomes.iter().filter(|o| o.result.is_err()).count();
        if outcomes.len() != point.clusters || nodes_missing > 0 {
            eprintln!(
                "  warning: {} of {} clusters collected, {nodes_missing} nodes or clusters failed",
                outcomes.iter().filter(|o| o.result.is_ok()).count(),
                point.clusters
            );
        }
    }
    let (own_cpu, sim_cpu) = cpu.since();
    // The collector's clients (one idle connection per node) go before the split opens its own.
    drop(collector);

    // The split: each phase alone, same 16-way concurrency over clusters.
    let clients: Vec<_> = clusters.iter().map(client_for).collect();
    let work: Vec<usize> = (0..clusters.len()).collect();
    let deadline = CollectorConfig::default().cluster_deadline;
    let fetch_all = || {
        par_map(&work, CONCURRENCY, |&i| {
            let until = Instant::now() + deadline;
            rt.block_on(fetch_cycle(
                &clients[i],
                clusters[i].id,
                &clusters[i].fe_hosts,
                until,
            ))
        })
    };
    let states: Vec<EngineState> = fetch_all()
        .iter()
        .map(|input| aggregate_with(&EngineState::default(), input, &custom.set).state)
        .collect();

    let cpu = Cpu::now();
    let started = Instant::now();
    let inputs = fetch_all();
    let fetch = started.elapsed();
    let (fetch_own_cpu, fetch_sim_cpu) = cpu.since();
    let bytes: usize = inputs
        .iter()
        .flat_map(|i| &i.scrapes)
        .filter_map(|s| s.result.as_ref().ok())
        .map(|m| m.body.len())
        .sum();

    let started = Instant::now();
    let aggregations = par_map(&work, CONCURRENCY, |&i| {
        aggregate_with(&states[i], &inputs[i], &custom.set)
    });
    let aggregate_wall = started.elapsed();

    let started = Instant::now();
    let stored = par_map(&aggregations, CONCURRENCY, |a| {
        store.insert_cycle(&a.snapshot, &a.nodes)
    });
    let insert = started.elapsed();
    if let Some(Err(e)) = stored.iter().find(|r| r.is_err()) {
        return Err(format!("insert_cycle failed: {e}"));
    }

    Ok(Row {
        point,
        cycle: median(&walls),
        cycle_min: walls.iter().min().copied().unwrap_or_default(),
        own_cpu: own_cpu / reps as u32,
        sim_cpu: sim_cpu / reps as u32,
        failed,
        mb_per_cycle: bytes as f64 / 1e6,
        fetch,
        fetch_own_cpu,
        fetch_sim_cpu,
        aggregate: aggregate_wall,
        insert,
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
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(rockscope_collector::BLOCKING_THREAD_KEEP_ALIVE)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cycle_time: cannot start a tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "cycle_time: one collection cycle vs fleet size ({} FEs per cluster, concurrency {CONCURRENCY}, \
         median of {} cycles after a warm-up; {} custom metrics); load average at start: {}",
        FES,
        args.reps,
        args.custom.set.metrics().len(),
        load_average()
    );
    let mut rows = Vec::new();
    for point in &args.points {
        eprintln!(
            "measuring {} clusters x {}+{} = {} nodes ...",
            point.clusters,
            FES,
            point.bes,
            point.nodes()
        );
        match measure(*point, args.reps, &args.custom, &rt) {
            Ok(row) => rows.push(row),
            Err(e) => {
                eprintln!("cycle_time: {e}");
                return ExitCode::FAILURE;
            }
        }
    }

    println!();
    println!(
        "| clusters | FE+BE | nodes | cycle ms (median / min) | nodes/s | rockscope CPU s | sim CPU s | MB fetched | fetch ms (rockscope / sim CPU s) | aggregate ms | SQLite ms | bottleneck |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {}+{} | {} | {} / {} | {:.0} | {:.2} | {:.2} | {:.1} | {} ({:.2} / {:.2}) | {} | {} | {} |",
            r.point.clusters,
            FES,
            r.point.bes,
            r.point.nodes(),
            ms(r.cycle),
            ms(r.cycle_min),
            r.point.nodes() as f64 / r.cycle.as_secs_f64().max(1e-9),
            r.own_cpu.as_secs_f64(),
            r.sim_cpu.as_secs_f64(),
            r.mb_per_cycle,
            ms(r.fetch),
            r.fetch_own_cpu.as_secs_f64(),
            r.fetch_sim_cpu.as_secs_f64(),
            ms(r.aggregate),
            ms(r.insert),
            r.bottleneck(),
        );
        if r.failed > 0 {
            println!("  ({} cluster collections failed at this point)", r.failed);
        }
    }
    println!();
    if let Some(r) = rows.iter().max_by_key(|r| r.point.nodes()) {
        let split = r.fetch + r.aggregate + r.insert;
        let share = |d: Duration| 100.0 * d.as_secs_f64() / split.as_secs_f64().max(1e-9);
        println!(
            "Bottleneck at the largest point ({} nodes): {} ({:.0}% of the phases' summed wall; \
             fetch {:.0}%, aggregate {:.0}%, SQLite {:.0}%). During the fetch the simulator used \
             {:.2} CPU s and rockscope {:.2} CPU s of the {:.2} s available on 2 cores.",
            r.point.nodes(),
            r.bottleneck(),
            share(r.fetch.max(r.aggregate).max(r.insert)),
            share(r.fetch),
            share(r.aggregate),
            share(r.insert),
            r.fetch_sim_cpu.as_secs_f64(),
            r.fetch_own_cpu.as_secs_f64(),
            2.0 * r.fetch.as_secs_f64(),
        );
    }
    let target = rows
        .iter()
        .find(|r| r.point.clusters == 100 && r.point.bes == 10);
    if let Some(r) = target {
        println!(
            "Target (1,300 nodes in under 10 s): {} ms, {}.",
            ms(r.cycle),
            if r.cycle < Duration::from_secs(10) {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    println!("Load average at end: {}", load_average());
    ExitCode::SUCCESS
}
