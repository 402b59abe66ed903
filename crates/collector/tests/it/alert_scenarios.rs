//! Every built-in alert rule against the simulator: each rule has a cluster whose fault or
//! condition makes it fire; the fault is then healed and the alert must resolve, both in the
//! state machine and through delivery (a webhook receiver the test owns). A healthy control
//! cluster fires nothing.
//!
//! The simulator's clock is pinned and moved 30 s per cycle (the default interval), and every
//! scrape is stamped with that clock, so that rates, windows and `for` durations run on the
//! simulated time: seven minutes of collection take a few seconds. Each cycle is the service's
//! own fetch (`fetch_cycle`), the engine's `aggregate`, `rockscope_alerts::evaluate` and
//! `rockscope_notify::Notifier::submit`, as the collector runs them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rockscope_alerts::{ClusterView, RuleSet, evaluate};
use rockscope_collector::fetch_cycle;
use rockscope_engine::{EngineState, aggregate};
use rockscope_model::{Alert, AlertState, MetricsSnapshot, NodeKind, NodeSnapshot};
use rockscope_notify::{Notifier, NotifyConfig, ReceiverConfig};
use rockscope_sim::{
    ClusterInfo, ClusterSpec, Condition, EngineTask, Fault, NodeId, ReceivedRequest, Receiver,
    SimConfig, Simulator, Version,
};
use rockscope_starrocks::ClusterClient;
use time::OffsetDateTime;

const STEP: Duration = Duration::from_secs(30);
/// Cycles per phase: longer than every rule's `for` (5 min) plus its window (5 min at most).
const CYCLES: usize = 24;

/// What breaks a cluster.
#[derive(Debug, Clone)]
enum Breakage {
    Node(NodeId, Fault),
    Whole(Fault),
    Condition(Option<NodeId>, Condition),
}

/// One scenario: the rule that must fire, on its own cluster, and what breaks it.
struct Scenario {
    rule: &'static str,
    breakage: Breakage,
}

fn scenarios() -> Vec<Scenario> {
    use Breakage::{Condition as C, Node, Whole};
    let be0 = Some(NodeId::be(0));
    let fe0 = Some(NodeId::fe(0));
    let failures = |task| {
        C(
            be0,
            Condition::EngineFailures {
                task,
                per_minute: 10.0,
            },
        )
    };
    let s = |rule, breakage| Scenario { rule, breakage };
    vec![
        s("StarRocksFeDown", Node(NodeId::fe(1), Fault::Dead)),
        s("StarRocksBackendDown", Node(NodeId::be(1), Fault::Dead)),
        s("StarRocksBeCpuHigh", C(be0, Condition::CpuBusy(97.0))),
        s(
            "StarRocksBeMemoryHigh",
            C(be0, Condition::MemoryUsage(95.0)),
        ),
        s("StarRocksDiskIoBusy", C(be0, Condition::DiskIoUtil(98.0))),
        s(
            "StarRocksDataDiskFull",
            C(be0, Condition::StoragePathUsage { path: 0, pct: 95.0 }),
        ),
        s(
            "StarRocksDataDiskSpaceLow",
            C(be0, Condition::StorageUsage(88.0)),
        ),
        s(
            "StarRocksCumulativeCompactionFailures",
            failures(EngineTask::CumulativeCompaction),
        ),
        s(
            "StarRocksBaseCompactionFailures",
            failures(EngineTask::BaseCompaction),
        ),
        s(
            "StarRocksCompactionScoreHigh",
            C(be0, Condition::CompactionScore(300.0)),
        ),
        s(
            "StarRocksCompactionScoreCritical",
            C(be0, Condition::CompactionScore(900.0)),
        ),
        s(
            "StarRocksTabletVersionsHigh",
            C(be0, Condition::MaxRowsetNum(900)),
        ),
        s(
            "StarRocksCheckpointFailure",
            C(None, Condition::MetaLogCount(150_000)),
        ),
        s(
            "StarRocksFeThreadsHigh",
            C(fe0, Condition::JvmThreads(3500)),
        ),
        s("StarRocksFeJvmHeapHigh", C(fe0, Condition::HeapUsage(85.0))),
        s(
            "StarRocksFeJvmHeapCritical",
            C(fe0, Condition::HeapUsage(95.0)),
        ),
        s(
            "StarRocksLoadFailureRatio",
            C(
                None,
                Condition::LoadTransactions {
                    begin_per_second: 10.0,
                    failed_per_second: 2.0,
                },
            ),
        ),
        s(
            "StarRocksRoutineLoadLag",
            C(None, Condition::RoutineLoadLag(500_000)),
        ),
        s(
            "StarRocksRoutineLoadNeedSchedule",
            C(
                None,
                Condition::RoutineLoadJobs {
                    need_schedule: 5,
                    paused: 0,
                    unstable: 0,
                },
            ),
        ),
        s(
            "StarRocksRoutineLoadPaused",
            C(
                None,
                Condition::RoutineLoadJobs {
                    need_schedule: 0,
                    paused: 2,
                    unstable: 0,
                },
            ),
        ),
        s(
            "StarRocksRoutineLoadUnstable",
            C(
                None,
                Condition::RoutineLoadJobs {
                    need_schedule: 0,
                    paused: 0,
                    unstable: 1,
                },
            ),
        ),
        s("StarRocksDbTxnLimit", C(None, Condition::TxnRunning(950))),
        s(
            "StarRocksQueryLatencyHigh",
            C(fe0, Condition::QueryLatencyP95(8000.0)),
        ),
        s("StarRocksQueryErrors", C(fe0, Condition::QueryErrors(2.0))),
        s(
            "StarRocksQueryInternalErrors",
            C(fe0, Condition::InternalQueryErrors(1.0)),
        ),
        s("StarRocksQueryOverload", C(fe0, Condition::QpsFactor(3.0))),
        s(
            "StarRocksConnectionOverload",
            C(fe0, Condition::Connections(5000)),
        ),
        s(
            "StarRocksSchemaChangeFailures",
            failures(EngineTask::SchemaChange),
        ),
        s("StarRocksCloneFailures", failures(EngineTask::Clone)),
        s("ClusterUnreachable", Whole(Fault::Down)),
        s(
            "NodeMetricsUnavailable",
            Node(NodeId::be(0), Fault::Http500),
        ),
        s("StaleData", Whole(Fault::Down)),
    ]
}

/// One simulated cluster as the test's collector keeps it between cycles.
struct Tracked {
    id: i64,
    info: ClusterInfo,
    /// The collection interval the cycles play.
    interval: Duration,
    client: ClusterClient,
    engine: EngineState,
    history: Vec<MetricsSnapshot>,
    nodes: Vec<NodeSnapshot>,
    alerts: Vec<Alert>,
    last_success_at: Option<OffsetDateTime>,
    failed_cycles: u32,
    /// Every rule that was firing at some cycle of the current phase.
    fired: BTreeSet<String>,
}

fn client_for(info: &ClusterInfo) -> ClusterClient {
    ClusterClient::builder()
        .username(info.username.clone())
        .password(info.password.as_str())
        .connect_timeout(Duration::from_millis(500))
        .request_timeout(Duration::from_secs(2))
        .build()
}

impl Tracked {
    fn new(id: i64, info: ClusterInfo, interval: Duration) -> Tracked {
        Tracked {
            id,
            client: client_for(&info),
            info,
            interval,
            engine: EngineState::default(),
            history: Vec::new(),
            nodes: Vec::new(),
            alerts: Vec::new(),
            last_success_at: None,
            failed_cycles: 0,
            fired: BTreeSet::new(),
        }
    }

    /// One cycle at the simulator's `now`: fetch, aggregate, evaluate, deliver.
    fn cycle(
        &mut self,
        runtime: &tokio::runtime::Runtime,
        rules: &RuleSet,
        notifier: &Notifier,
        now: OffsetDateTime,
    ) {
        let until = Instant::now() + Duration::from_secs(3);
        let mut input = runtime.block_on(fetch_cycle(
            &self.client,
            self.id,
            &self.info.fe_hosts,
            until,
        ));
        // Everything on the simulated clock (see the module's comment).
        input.collected_at = now;
        for scrape in &mut input.scrapes {
            if let Ok(m) = &mut scrape.result {
                m.fetched_at = now;
            }
        }
        if input.scrapes.iter().any(|s| s.result.is_ok()) {
            let a = aggregate(&self.engine, &input);
            self.engine = a.state;
            self.history.push(a.snapshot);
            self.nodes = a.nodes;
            self.last_success_at = Some(now);
            self.failed_cycles = 0;
        } else {
            self.failed_cycles += 1;
        }
        let keep = time::Duration::try_from(rules.lookback()).unwrap();
        self.history.retain(|s| s.collected_at >= now - keep);
        let view = ClusterView {
            cluster_id: self.id,
            cluster_name: &self.info.name,
            interval: self.interval,
            history: &self.history,
            nodes: &self.nodes,
            last_success_at: self.last_success_at,
            failed_cycles: self.failed_cycles,
        };
        let mut evaluation = evaluate(rules, &view, &self.alerts, now);
        notifier.submit(
            self.id,
            &self.info.name,
            &mut evaluation.alerts,
            self.interval,
            now,
        );
        for alert in &evaluation.alerts {
            if alert.state == AlertState::Firing {
                self.fired.insert(alert.rule.clone());
            }
        }
        self.alerts = evaluation.alerts;
    }

    fn active(&self) -> BTreeMap<&str, AlertState> {
        self.alerts
            .iter()
            .filter(|a| a.state != AlertState::Resolved)
            .map(|a| (a.rule.as_str(), a.state))
            .collect()
    }
}

/// Whether a webhook body carries `rule` for `cluster` in `status`.
fn carries(request: &ReceivedRequest, rule: &str, cluster: &str, status: &str) -> bool {
    request.json()["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| {
            a["labels"]["alertname"] == rule
                && a["labels"]["cluster"] == cluster
                && a["status"] == status
        })
}

fn break_cluster(sim: &Simulator, name: &str, breakage: &Breakage) {
    match breakage {
        Breakage::Node(node, fault) => sim.set_fault(name, *node, *fault).unwrap(),
        Breakage::Whole(fault) => sim.set_cluster_fault(name, *fault).unwrap(),
        Breakage::Condition(node, condition) => sim.set_condition(name, *node, *condition).unwrap(),
    }
}

fn heal_cluster(sim: &Simulator, name: &str, breakage: &Breakage) {
    match breakage {
        Breakage::Node(node, _) => sim.set_fault(name, *node, Fault::None).unwrap(),
        Breakage::Whole(_) => sim.set_cluster_fault(name, Fault::None).unwrap(),
        Breakage::Condition(..) => sim.clear_conditions(name).unwrap(),
    }
}

#[test]
fn every_builtin_rule_fires_on_its_fault_and_resolves_when_healed() {
    let scenarios = scenarios();
    let rules = RuleSet::build(&[], &[]).unwrap();
    // Every enabled built-in rule has a scenario.
    let covered: BTreeSet<&str> = scenarios.iter().map(|s| s.rule).collect();
    for rule in rules.rules().iter().filter(|r| r.builtin && r.enabled) {
        assert!(
            covered.contains(rule.name.as_str()),
            "no scenario for {}",
            rule.name
        );
    }

    // One cluster per scenario (2 FE + 2 BE, StarRocks 4.0, which serves every series), and a
    // healthy control cluster.
    let mut specs: Vec<ClusterSpec> = (0..scenarios.len())
        .map(|i| ClusterSpec::new(format!("scenario-{i}"), 2, 2, Version::V4_0))
        .collect();
    specs.push(ClusterSpec::new("healthy", 2, 2, Version::V4_0));
    let sim = Simulator::start(SimConfig::with_clusters(specs).seed(5)).unwrap();
    sim.set_manual_time(Some(sim.now()));
    let receiver = Receiver::start().unwrap();
    let notifier = Notifier::start(NotifyConfig {
        webhooks: vec![ReceiverConfig::new(format!("{}/hook", receiver.url()))],
        external_url: "http://127.0.0.1:8080".to_owned(),
        ..NotifyConfig::default()
    })
    .unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut clusters: Vec<Tracked> = sim
        .clusters()
        .into_iter()
        .enumerate()
        .map(|(i, info)| Tracked::new(i as i64 + 1, info, STEP))
        .collect();
    let run_phase = |clusters: &mut Vec<Tracked>| {
        for c in clusters.iter_mut() {
            c.fired.clear();
        }
        for _ in 0..CYCLES {
            sim.advance(STEP);
            let now = sim.now();
            for c in clusters.iter_mut() {
                c.cycle(&runtime, &rules, &notifier, now);
            }
        }
    };

    // Warm up healthy: nothing fires anywhere.
    run_phase(&mut clusters);
    for c in &clusters {
        assert!(
            c.fired.is_empty(),
            "{} fired while healthy: {:?}",
            c.info.name,
            c.fired
        );
    }

    for (scenario, c) in scenarios.iter().zip(&clusters) {
        break_cluster(&sim, &c.info.name, &scenario.breakage);
    }
    run_phase(&mut clusters);
    let mut missing = Vec::new();
    for (scenario, c) in scenarios.iter().zip(&clusters) {
        if !c.fired.contains(scenario.rule) {
            missing.push(format!(
                "{} ({}): fired {:?}",
                scenario.rule, c.info.name, c.fired
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "rules that never fired:\n{}",
        missing.join("\n")
    );
    let control = clusters.last().unwrap();
    assert!(
        control.fired.is_empty(),
        "the healthy cluster fired {:?}",
        control.fired
    );

    for (scenario, c) in scenarios.iter().zip(&clusters) {
        heal_cluster(&sim, &c.info.name, &scenario.breakage);
    }
    run_phase(&mut clusters);
    let mut still: HashMap<String, BTreeMap<&str, AlertState>> = HashMap::new();
    for c in &clusters {
        if !c.active().is_empty() {
            still.insert(c.info.name.clone(), c.active());
        }
    }
    assert!(
        still.is_empty(),
        "alerts still active after healing: {still:?}"
    );

    // Delivery: each rule's firing and resolution reached the webhook.
    for (scenario, c) in scenarios.iter().zip(&clusters) {
        for status in ["firing", "resolved"] {
            let found = receiver.wait_for(Duration::from_secs(10), |r| {
                carries(r, scenario.rule, &c.info.name, status)
            });
            assert!(
                found.is_some(),
                "no {status} webhook for {} of {}",
                scenario.rule,
                c.info.name
            );
        }
    }
    notifier.shutdown();
}

/// `StarRocksQueryErrors` whatever the collection interval: at a 1 s interval, a steady
/// 0.05 failed queries per second (half the threshold, one failure every 20 s) reads 1/s over
/// each interval that holds a failure, which made the rule go pending on noise; over the FE's own
/// 15 s window it never exceeds 1/15 s, so the rule must never go pending. A sustained 2/s fires
/// it.
#[test]
fn query_errors_rule_ignores_a_short_collection_interval() {
    const RULE: &str = "StarRocksQueryErrors";
    const SECOND: Duration = Duration::from_secs(1);
    let rules = RuleSet::build(&[], &[]).unwrap();
    let spec = ClusterSpec::new("errors", 1, 1, Version::V4_0);
    let sim = Simulator::start(SimConfig::with_clusters(vec![spec]).seed(5)).unwrap();
    sim.set_manual_time(Some(sim.now()));
    let fe0 = Some(NodeId::fe(0));
    // The FE's own traffic (and the failures in it) all but stops, so that the only failures
    // are the steady ones.
    sim.set_condition("errors", fe0, Condition::QpsFactor(1e-9))
        .unwrap();
    sim.set_condition("errors", fe0, Condition::QueryErrors(0.05))
        .unwrap();
    // Past the FE's 15 s tick that still held its own traffic.
    sim.advance(Duration::from_secs(40));
    let notifier = Notifier::start(NotifyConfig::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let info = sim.cluster("errors").unwrap();
    let mut c = Tracked::new(1, info, SECOND);
    let fe_rates = |c: &Tracked| {
        let fe = c
            .nodes
            .iter()
            .find(|n| n.node_type == NodeKind::Fe)
            .unwrap();
        (fe.query_error_per_second, fe.query_error_per_second_15s)
    };
    let mut noisy_intervals = 0;
    for _ in 0..180 {
        sim.advance(SECOND);
        let now = sim.now();
        c.cycle(&runtime, &rules, &notifier, now);
        let (interval_rate, window_rate) = fe_rates(&c);
        if interval_rate.is_some_and(|r| r >= 1.0) {
            noisy_intervals += 1;
        }
        let window_rate = window_rate.expect("the FE serves query_err_rate");
        assert!(window_rate <= 1.0 / 15.0 + 1e-9, "{window_rate} at {now}");
        assert!(
            c.alerts.iter().all(|a| a.rule != RULE),
            "{RULE} went {:?} at {now} on a steady 0.05/s",
            c.alerts.iter().find(|a| a.rule == RULE).map(|a| a.state)
        );
    }
    // The noise the rule must not follow: 1 failure in a 1 s interval is 1/s.
    assert!(noisy_intervals >= 8, "{noisy_intervals} noisy intervals");

    sim.set_condition("errors", fe0, Condition::QueryErrors(2.0))
        .unwrap();
    for _ in 0..75 {
        sim.advance(SECOND);
        let now = sim.now();
        c.cycle(&runtime, &rules, &notifier, now);
    }
    let alert = c.alerts.iter().find(|a| a.rule == RULE);
    assert_eq!(
        alert.map(|a| a.state),
        Some(AlertState::Firing),
        "{RULE} on a sustained 2/s"
    );
    let (_, window_rate) = fe_rates(&c);
    let rate = window_rate.unwrap();
    assert!((rate - 2.0).abs() < 0.1, "{rate}");
    notifier.shutdown();
}
