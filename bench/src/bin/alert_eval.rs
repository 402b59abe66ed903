//! The cost of alert evaluation (issue 14): every built-in rule over a fleet's clusters, as the
//! collector runs it after each cycle, against the cycle's own time.
//!
//! ```sh
//! cargo run --release -p rockscope-bench --bin alert_eval                      # 100 × (3 FE + 10 BE)
//! cargo run --release -p rockscope-bench --bin alert_eval -- --clusters 1000 --rounds 20
//! cargo run --release -p rockscope-bench --bin alert_eval -- --with-store      # + the store's part
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
use rockscope_store::{NewCluster, Password, Store};
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
    /// Also time the store's part, as the collector runs it per cluster: read the previous
    /// alerts and the lookback's snapshots, evaluate, store alerts and history (one
    /// transaction), on a temporary database holding the fleet's history.
    #[arg(long)]
    with_store: bool,
    /// With `--with-store`: read the lookback's snapshots from the store at every evaluation
    /// (the first version did) instead of keeping them in memory (what the collector does).
    #[arg(long)]
    history_from_store: bool,
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

/// The store-inclusive rounds of `--with-store` (see [`Cli::with_store`]).
fn with_store(
    cli: &Cli,
    rules: &RuleSet,
    fleet: &[Vec<Cycle>],
    names: &[String],
    now: OffsetDateTime,
) -> Result<(), String> {
    let store = Store::open_temporary().map_err(|e| e.to_string())?;
    let mut ids = Vec::new();
    for (c, cycles) in fleet.iter().enumerate() {
        let id = store
            .create_cluster(&NewCluster {
                name: names[c].clone(),
                fe_hosts: vec!["127.0.0.1:9".into()],
                username: "root".into(),
                password: Password::default(),
                connect_timeout_secs: None,
                request_timeout_secs: None,
                enabled: true,
            })
            .map_err(|e| e.to_string())?
            .id;
        for cycle in cycles {
            let cycle = cycle.stamped(id, cycle.snapshot.collected_at);
            store
                .insert_cycle(&cycle.snapshot, &cycle.nodes)
                .map_err(|e| e.to_string())?;
        }
        ids.push(id);
    }
    let lookback = time::Duration::try_from(rules.lookback()).map_err(|e| e.to_string())?;
    let histories: Vec<Vec<_>> = fleet
        .iter()
        .zip(&ids)
        .map(|(cycles, id)| {
            cycles
                .iter()
                .map(|c| c.stamped(*id, c.snapshot.collected_at).snapshot)
                .collect()
        })
        .collect();
    let newest = fleet[0].last().map_or(now, |c| c.snapshot.collected_at);
    let mut rounds = Vec::new();
    for round in 0..=cli.rounds {
        let at = newest + INTERVAL * round as u32;
        let started = Instant::now();
        for (c, cycles) in fleet.iter().enumerate() {
            let id = ids[c];
            let store_error = |e: rockscope_store::Error| e.to_string();
            let previous = store.cluster_alerts(id).map_err(store_error)?;
            // The collector keeps the lookback's snapshots in memory after its first cycle;
            // `--history-from-store` reads them every time, as it did before.
            let read;
            let history = if cli.history_from_store {
                read = store
                    .snapshots_range(id, newest - lookback, newest, usize::MAX)
                    .map_err(store_error)?;
                &read
            } else {
                &histories[c]
            };
            let view = ClusterView {
                cluster_id: id,
                cluster_name: &names[c],
                interval: INTERVAL,
                history,
                nodes: &cycles[cycles.len() - 1].nodes,
                last_success_at: Some(newest),
                failed_cycles: 0,
            };
            let evaluation = evaluate(rules, &view, &previous, at.min(newest));
            // As the collector: a quiet cluster writes nothing.
            let quiet = previous.is_empty() && evaluation.alerts.is_empty();
            if !quiet || !evaluation.events.is_empty() {
                store
                    .save_alert_evaluation(id, &evaluation.alerts, &evaluation.events)
                    .map_err(store_error)?;
            }
        }
        if round > 0 {
            rounds.push(started.elapsed());
        }
    }
    let round = median(&rounds);
    println!(
        "with the store ({}): median round {} ms, {:.1} µs per cluster",
        if cli.history_from_store {
            "previous alerts and the lookback's snapshots read from it"
        } else {
            "previous alerts read from it, the lookback's snapshots in memory"
        },
        ms(round),
        round.as_secs_f64() * 1e6 / fleet.len() as f64,
    );
    Ok(())
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
    let mut histories: Vec<Vec<_>> = fleet
        .iter()
        .map(|cycles| cycles.iter().map(|c| c.snapshot.clone()).collect())
        .collect();
    let mut previous: Vec<Vec<Alert>> = vec![Vec::new(); cli.clusters];
    let mut rounds = Vec::new();
    let mut active = 0;
    for round in 0..=cli.rounds {
        // Each round is the next cycle: the whole history moves on by one interval (outside
        // the timing), so the data is as fresh as in a running collector.
        let at = now + INTERVAL * round as u32;
        if round > 0 {
            for snapshot in histories.iter_mut().flatten() {
                snapshot.collected_at += INTERVAL;
            }
        }
        let started = Instant::now();
        active = 0;
        for (c, cycles) in fleet.iter().enumerate() {
            let view = ClusterView {
                cluster_id: c as i64 + 1,
                cluster_name: &names[c],
                interval: INTERVAL,
                history: &histories[c],
                nodes: &cycles[cycles.len() - 1].nodes,
                last_success_at: Some(at),
                failed_cycles: 0,
            };
            let evaluation = evaluate(&rules, &view, &previous[c], at);
            active += evaluation.alerts.len();
            previous[c] = evaluation.alerts;
        }
        if round > 0 {
            // Round 0 warms up (and starts the pending alerts).
            rounds.push(started.elapsed());
        }
    }
    if cli.with_store {
        with_store(cli, &rules, &fleet, &names, now)?;
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
        active,
    );
    Ok(())
}
