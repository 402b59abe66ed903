//! The cluster latency from FE bodies in StarRocks' captured format: the summary's `_sum` is
//! `count × reservoir mean` (not a running total), a cluster percentile is the largest of the
//! FEs that served queries, and an interval without queries has no latency.

use rockscope_engine::{Aggregation, EngineState, aggregate};
use rockscope_model::{CycleInput, FrontendRole, NodeKind};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::fixtures::*;

const T0: OffsetDateTime = datetime!(2025-03-01 10:00:00 UTC);

fn fe_input(at: OffsetDateTime, fes: &[(&str, &str, Fe)]) -> CycleInput {
    let rows = fes
        .iter()
        .enumerate()
        .map(|(i, (name, ip, _))| {
            let role = if i == 0 {
                FrontendRole::Leader
            } else {
                FrontendRole::Follower
            };
            frontend(name, ip, role, true)
        })
        .collect();
    let scrapes = fes
        .iter()
        .map(|(name, ip, fe)| ok_scrape(NodeKind::Fe, name, ip, 8030, fe.body(), at, 5))
        .collect();
    cycle(at, rows, Vec::new(), scrapes)
}

/// Two cycles 30 s apart; the second one's aggregation.
fn two_cycles(first: CycleInput, second: CycleInput) -> Aggregation {
    let a = aggregate(&EngineState::default(), &first);
    aggregate(&a.state, &second)
}

fn summary_fe(queries: f64, p99: f64, mean: f64) -> Fe {
    Fe {
        leader: true,
        query_total: queries,
        success: queries,
        requests: queries,
        summary: [p99 / 2.0, p99 * 0.8, p99 * 0.9, p99, p99 * 1.5],
        lat_sum: queries * mean,
        lat_count: queries,
        ..Fe::base()
    }
}

#[test]
fn mean_is_the_reservoir_mean_not_a_delta_of_sums() {
    // A real FE: 999,900 queries at a reservoir mean of 10.00 ms, then 100 more move the
    // reservoir mean to 10.01 ms. Δsum / Δcount would say 110 ms.
    let before = summary_fe(999_900.0, 40.0, 10.00);
    let after = summary_fe(1_000_000.0, 40.0, 10.01);
    // Java prints 10,010,000.0 as 1.001E7.
    let body = after.body();
    let java = body.replace(
        "starrocks_fe_query_latency_ms_sum 10010000.0",
        "starrocks_fe_query_latency_ms_sum 1.001E7",
    );
    assert_ne!(body, java, "the sum line is in Java's notation");
    let first = fe_input(T0, &[("fe1_9010_1", "10.0.0.1", before)]);
    let mut second = fe_input(T0 + Duration::seconds(30), &[]);
    second.frontends = first.frontends.clone();
    second.scrapes = vec![ok_scrape(
        NodeKind::Fe,
        "fe1_9010_1",
        "10.0.0.1",
        8030,
        java,
        T0 + Duration::seconds(30),
        5,
    )];
    let a = two_cycles(first, second);
    assert_eq!(a.snapshot.query_interval_total, Some(100));
    close(a.snapshot.query_latency_mean, 10.01);
    close(a.snapshot.query_latency_p99, 40.0);
}

#[test]
fn a_slow_fe_sets_the_cluster_percentile() {
    // FE A: 1,000 queries in the interval at p99 10 ms; FE B: 20 queries at p99 5,000 ms.
    // The query-weighted mean of the p99s (107.8 ms) is no percentile of anything; the
    // cluster's true p99 is at least B's.
    let cycle_at = |at, a: f64, b: f64| {
        let mut fe_b = summary_fe(b, 5_000.0, 2_000.0);
        fe_b.leader = false;
        fe_input(
            at,
            &[
                ("fe1_9010_1", "10.0.0.1", summary_fe(a, 10.0, 8.0)),
                ("fe2_9010_2", "10.0.0.2", fe_b),
            ],
        )
    };
    let a = two_cycles(
        cycle_at(T0, 5_000.0, 100.0),
        cycle_at(T0 + Duration::seconds(30), 6_000.0, 120.0),
    );
    let s = &a.snapshot;
    assert_eq!(s.query_interval_total, Some(1_020));
    close(s.query_latency_p99, 5_000.0);
    close(s.query_latency_p95, 4_000.0);
    // The mean of the mixture: each FE's reservoir mean weighted by its interval queries.
    close(
        s.query_latency_mean,
        (8.0 * 1_000.0 + 2_000.0 * 20.0) / 1_020.0,
    );
    // Each FE's own figures stay in its node snapshot.
    close(a.nodes[0].query_latency_p99, 10.0);
    close(a.nodes[1].query_latency_p99, 5_000.0);
}

#[test]
fn no_queries_in_the_interval_no_latency() {
    // The reservoirs still hold old queries, but none ran in the interval.
    let fes = |at| {
        let mut idle = summary_fe(300.0, 90.0, 30.0);
        idle.leader = false;
        fe_input(
            at,
            &[
                ("fe1_9010_1", "10.0.0.1", summary_fe(1_000.0, 20.0, 5.0)),
                ("fe2_9010_2", "10.0.0.2", idle),
            ],
        )
    };
    let a = two_cycles(fes(T0), fes(T0 + Duration::seconds(30)));
    let s = &a.snapshot;
    assert_eq!(s.query_interval_total, Some(0));
    assert_eq!(s.query_latency_p75, None);
    assert_eq!(s.query_latency_p95, None);
    assert_eq!(s.query_latency_p99, None);
    assert_eq!(s.query_latency_p999, None);
    assert_eq!(s.query_latency_mean, None);
    // An FE's own figure is what it reports.
    close(a.nodes[1].query_latency_p99, 90.0);
}

#[test]
fn shared_data_counts_its_compute_nodes_as_backends() {
    // No BE rows, three CNs (one dead): StarRocks and starrocks-admin count the CNs that play
    // the BE role.
    let mut input = fe_input(
        T0,
        &[("fe1_9010_1", "10.0.0.1", summary_fe(10.0, 1.0, 1.0))],
    );
    let mut dead = compute_node(20003, "10.0.0.23", false, 8, 0.0);
    dead.system_decommissioned = true;
    input.compute_nodes = Ok(vec![
        compute_node(20001, "10.0.0.21", true, 8, 30.0),
        compute_node(20002, "10.0.0.22", true, 8, 50.0),
        dead,
    ]);
    let s = aggregate(&EngineState::default(), &input).snapshot;
    assert_eq!(s.backend_total, Some(3));
    assert_eq!(s.backend_alive, Some(2));
    assert_eq!(s.backend_decommissioned, Some(1));
    assert_eq!(s.compute_node_total, Some(3));
    assert_eq!(s.compute_node_alive, Some(2));
}
