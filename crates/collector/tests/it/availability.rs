//! Daily availability against the simulator: cycles in which a whole cluster is unreachable are
//! down time, a CN-only (shared-data) cluster is down while its compute nodes are, and a gap in
//! which rockscope was not collecting is unknown, neither up nor down.

use std::time::Duration as StdDuration;

use rockscope_collector::{Collector, StatusBoard};
use rockscope_engine::{rollup_day, rollup_window};
use rockscope_model::{CycleOutcome, DailySnapshot, Reachability};
use rockscope_sim::{ClusterSpec, Fault, NodeKind, SimConfig, Simulator, Version};
use rockscope_store::Store;
use time::{Duration, OffsetDateTime};

use crate::common::{block_on, fast_config, register};

/// Cycles per phase (up, then the fault, then up again).
const CYCLES: usize = 3;

/// The time from each `down` observation to the next observation, summed: what the day's
/// `downtime_seconds` must be (every gap here is far below the 10-minute limit).
fn seconds_after(times: &[(OffsetDateTime, bool)]) -> f64 {
    times
        .windows(2)
        .filter(|pair| pair[0].1)
        .map(|pair| (pair[1].0 - pair[0].0).as_seconds_f64())
        .sum()
}

/// The day of `at` rolled up as housekeeping does it: the snapshots and outcomes of its window.
fn rollup(store: &Store, cluster_id: i64, at: OffsetDateTime) -> DailySnapshot {
    let day = at.date();
    let (from, to) = rollup_window(day);
    let inputs = store.daily_inputs(cluster_id, from, to).expect("inputs");
    let outcomes = store
        .cycle_outcomes(cluster_id, from, to)
        .expect("outcomes");
    rollup_day(cluster_id, day, &inputs, &outcomes).expect("a day with observations")
}

#[test]
fn unreachable_cycles_are_down_and_a_collector_gap_is_unknown() {
    let sim = Simulator::start(SimConfig::with_clusters(vec![
        ClusterSpec::new("shared-nothing", 1, 2, Version::V3_3),
        ClusterSpec::new("shared-data", 1, 0, Version::V3_3).with_cns(2),
    ]))
    .expect("sim");
    let infos = sim.clusters();
    // A cycle that straddles midnight would split the observations over two days.
    let until_midnight = (OffsetDateTime::now_utc().date().midnight().assume_utc() + Duration::DAY)
        - OffsetDateTime::now_utc();
    if until_midnight < Duration::minutes(1) {
        std::thread::sleep(until_midnight.unsigned_abs() + StdDuration::from_secs(1));
    }
    block_on(async move {
        let store = Store::open_temporary().expect("temporary store");
        let whole = register(&store, &infos[0]);
        let shared = register(&store, &infos[1]);
        let collector = Collector::new(
            fast_config(StdDuration::from_secs(1)),
            store.clone(),
            StatusBoard::default(),
        );
        let cycle = || {
            let collector = std::sync::Arc::clone(&collector);
            async move {
                collector.collect_once().await;
                tokio::time::sleep(StdDuration::from_millis(300)).await;
            }
        };
        for _ in 0..CYCLES {
            cycle().await;
        }
        // The first cluster goes down whole, the second loses every compute node.
        let set = |fault: Fault| {
            for node in &infos[0].nodes {
                sim.set_fault(&infos[0].name, node.id, fault)
                    .expect("fault");
            }
            for cn in infos[1].nodes_of(NodeKind::Cn) {
                sim.set_fault(&infos[1].name, cn.id, fault).expect("fault");
            }
        };
        set(Fault::Down);
        for _ in 0..CYCLES {
            cycle().await;
        }
        set(Fault::None);
        for _ in 0..CYCLES {
            cycle().await;
        }

        // The whole cluster: its outage stored no snapshot, and is recorded as unreachable.
        let now = OffsetDateTime::now_utc();
        let outcomes = store
            .cycle_outcomes(whole.id, now - Duration::hours(1), now)
            .expect("outcomes");
        let observed: Vec<(OffsetDateTime, bool)> = outcomes
            .iter()
            .map(|o| (o.at, o.reachability == Reachability::Unreachable))
            .collect();
        let down_cycles = observed.iter().filter(|o| o.1).count();
        assert_eq!(
            (outcomes.len(), down_cycles),
            (3 * CYCLES, CYCLES),
            "{outcomes:?}"
        );
        let first = outcomes[0].at;
        let last = outcomes.last().expect("outcomes").at;
        let day = rollup(&store, whole.id, first);
        assert_eq!(day.snapshot_count, 2 * CYCLES as i64);
        let down = seconds_after(&observed);
        assert!(down > 0.5, "{down}");
        close(day.downtime_seconds, down);
        close(day.observed_seconds, (last - first).as_seconds_f64());
        close_opt(
            day.availability_pct,
            (day.observed_seconds - down) / day.observed_seconds * 100.0,
        );
        close_opt(day.unknown_seconds, 86_400.0 - day.observed_seconds);

        // A run of rockscope 20 minutes earlier (two cycles a minute apart, then stopped): its
        // minute is up, the 19 minutes until this run are unknown.
        let earlier = store
            .latest_snapshot(whole.id)
            .expect("latest")
            .expect("one");
        for minutes in [20, 19] {
            let mut s = earlier.clone();
            s.collected_at = first - Duration::minutes(minutes);
            store.insert_cycle(&s, &[]).expect("insert");
        }
        let with_gap = rollup(&store, whole.id, first);
        let earlier_on_day = (first - Duration::minutes(20)).date() == first.date();
        let extra = if earlier_on_day { 60.0 } else { 0.0 };
        close(with_gap.observed_seconds, day.observed_seconds + extra);
        close(with_gap.downtime_seconds, down);
        close_opt(
            with_gap.unknown_seconds,
            86_400.0 - day.observed_seconds - extra,
        );

        // The CN-only cluster stayed reachable: its snapshots with dead CNs are down time.
        let snapshots = store
            .snapshots_range(shared.id, now - Duration::hours(1), now, 100)
            .expect("snapshots");
        assert_eq!(snapshots.len(), 3 * CYCLES);
        let states: Vec<(OffsetDateTime, bool)> = snapshots
            .iter()
            .map(|s| {
                let cns = (s.compute_node_total, s.compute_node_alive);
                (s.collected_at, matches!(cns, (Some(t), Some(a)) if a < t))
            })
            .collect();
        assert_eq!(
            states.iter().filter(|s| s.1).count(),
            CYCLES,
            "the CNs were listed dead in the fault's cycles: {states:?}"
        );
        let shared_day = rollup(&store, shared.id, snapshots[0].collected_at);
        let cn_down = seconds_after(&states);
        assert!(cn_down > 0.5, "{cn_down}");
        close(shared_day.downtime_seconds, cn_down);
        assert!(shared_day.availability_pct.expect("observed") < 100.0);
        let reachable = store
            .cycle_outcomes(shared.id, now - Duration::hours(1), now)
            .expect("outcomes")
            .iter()
            .all(|o: &CycleOutcome| o.reachability == Reachability::Reachable);
        assert!(reachable, "an answering FE is never unreachable");
    });
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
}

fn close_opt(got: Option<f64>, want: f64) {
    close(got.expect("a value"), want);
}
