//! The cost of alert evaluation (issue 14): every built-in rule over a fleet's clusters, as the
//! collector runs it after each cycle, against the cycle's own time.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin alert_eval                      # 100 × (3 FE + 10 BE)
//! cargo run --release -p rockscope-bench --bin alert_eval -- --clusters 1000 --rounds 20
//! ```
//!
//! One real simulated cycle (3 FE + `--bes` BE, aggregated by the engine) is turned into
//! variants, stamped for each cluster with a history as long as the rules' lookback at 30 s
//! intervals. Each round evaluates every cluster once (the pure `rockscope_alerts::evaluate`,
//! previous alerts carried over as the store would), on one thread; the median round is
//! reported, per cluster and for the fleet. Store reads and writes around it are the store's
//! cost and are measured by the `storage` benchmark.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use rockscope_alerts::{ClusterView, RuleSet, evaluate};
use rockscope_bench::fleet::{median, ms};
use rockscope_bench::history::{Cycle, real_cycle, variants};
use rockscope_model::Alert;
use time::OffsetDateTime;

/// Alert evaluation cost (see docs/BENCHMARKS.md).
#[derive(Debug, clap::Parser)]
#[command(name = "alert_eval")]
struct Cli {
    /// Clusters evaluated per round.
    #[arg(long, default_value_t = 100)]
    clusters: usize,
    /// BEs per cluster (plus 3 FEs).
    #[arg(long, default_value_t = 10)]
    bes: usize,
    /// Timed rounds (the median is reported).
    #[arg(long, default_value_t = 10)]
    rounds: usize,
}

const INTERVAL: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alert_eval: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<(), String> {
    let rules = RuleSet::build(&[], &[]).map_err(|e| format!("built-in rules: {e:?}"))?;
    let enabled = rules.rules().iter().filter(|r| r.enabled).count();
    let template = real_cycle(cli.bes)?;
    let steps = (rules.lookback().as_secs() / INTERVAL.as_secs()).max(1) as usize + 1;
    let shapes = variants(&template, steps)?;
    let now = OffsetDateTime::now_utc();
    let fleet: Vec<Vec<Cycle>> = (0..cli.clusters)
        .map(|c| {
            (0..steps)
                .map(|i| {
                    let back = INTERVAL * (steps - 1 - i) as u32;
                    shapes[(c + i) % shapes.len()].stamped(c as i64 + 1, now - back)
                })
                .collect()
        })
        .collect();
    let names: Vec<String> = (0..cli.clusters).map(|c| format!("cluster-{c}")).collect();
    let mut previous: Vec<Vec<Alert>> = vec![Vec::new(); cli.clusters];
    let mut rounds = Vec::new();
    let mut firing = 0;
    for round in 0..=cli.rounds {
        let at = now + INTERVAL * round as u32;
        let started = Instant::now();
        firing = 0;
        for (c, cycles) in fleet.iter().enumerate() {
            let history: Vec<_> = cycles.iter().map(|cycle| cycle.snapshot.clone()).collect();
            let view = ClusterView {
                cluster_id: c as i64 + 1,
                cluster_name: &names[c],
                interval: INTERVAL,
                history: &history,
                nodes: &cycles[cycles.len() - 1].nodes,
                last_success_at: Some(now),
                failed_cycles: 0,
            };
            let evaluation = evaluate(&rules, &view, &previous[c], at);
            firing += evaluation.alerts.len();
            previous[c] = evaluation.alerts;
        }
        if round > 0 {
            // Round 0 warms up (and starts the pending alerts).
            rounds.push(started.elapsed());
        }
    }
    let round = median(&rounds);
    println!(
        "{} clusters × (3 FE + {} BE), {} enabled rules, history {} snapshots: \
         median round {} ms, {:.1} µs per cluster; {} alerts active at the end",
        cli.clusters,
        cli.bes,
        enabled,
        steps,
        ms(round),
        round.as_secs_f64() * 1e6 / cli.clusters as f64,
        firing,
    );
    Ok(())
}
