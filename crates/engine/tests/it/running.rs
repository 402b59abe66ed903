//! The cluster's running queries from FE bodies in StarRocks' captured format: each FE's
//! `memory{type="query_coordinator_count"}` counts the queries it coordinates, so their sum
//! counts every query once, while the lists' `NumRunningQueries` counts a query once per BE it
//! runs on (`running_query_contexts`).

use rockscope_engine::{EngineState, aggregate};
use rockscope_model::{Backend, CycleInput, FrontendRole, MetricsSnapshot, NodeKind};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::fixtures::*;

const T0: OffsetDateTime = datetime!(2025-03-01 10:00:00 UTC);

/// Three alive BEs with 5 query contexts each.
fn backends() -> Vec<Backend> {
    (1..=3)
        .map(|i| {
            let ip = format!("10.0.1.{i}");
            backend(
                10_000 + i,
                &ip,
                true,
                16,
                64 << 30,
                40.0,
                20.0,
                2 << 40,
                1 << 40,
                1 << 39,
                1_000,
                5,
            )
        })
        .collect()
}

/// One cycle with a leader and a follower FE reporting these coordinator counts.
fn snapshot(coordinators: [Option<f64>; 2]) -> MetricsSnapshot {
    let fes = [("fe1_9010_1", "10.0.0.1"), ("fe2_9010_2", "10.0.0.2")];
    let rows = fes
        .iter()
        .enumerate()
        .map(|(i, (name, ip))| {
            let role = [FrontendRole::Leader, FrontendRole::Follower][i];
            frontend(name, ip, role, true)
        })
        .collect();
    let scrapes = fes
        .iter()
        .zip(coordinators)
        .enumerate()
        .map(|(i, ((name, ip), coordinators))| {
            let fe = Fe {
                leader: i == 0,
                coordinators,
                ..Fe::base()
            };
            ok_scrape(NodeKind::Fe, name, ip, 8030, fe.body(), T0, 4)
        })
        .collect();
    let input: CycleInput = cycle(T0, rows, backends(), scrapes);
    aggregate(&EngineState::default(), &input).snapshot
}

#[test]
fn running_queries_count_each_query_once_at_its_coordinator() {
    let s = snapshot([Some(3.0), Some(4.0)]);
    assert_eq!(s.running_queries, Some(7));
    // The same cluster's query contexts: 5 on each of the 3 BEs.
    assert_eq!(s.running_query_contexts, Some(15));
}

#[test]
fn without_the_coordinator_series_running_queries_is_null() {
    // An FE before 3.1 has no `memory` family: no source, so null (not 0, not the BE sum).
    let s = snapshot([None, None]);
    assert_eq!(s.running_queries, None);
    assert_eq!(s.running_query_contexts, Some(15));
    // A NaN gauge is missing too; the other FE's count is the sum over the FEs that have one.
    let s = snapshot([Some(f64::NAN), Some(4.0)]);
    assert_eq!(s.running_queries, Some(4));
}
