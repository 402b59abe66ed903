//! Integration tests of the collector against the simulator and a real SQLite file: cadence and
//! isolation of broken clusters, hung and slow nodes within a cluster, retention, daily
//! availability and catch-up after an outage, restart on the same database, sharding.

mod alert_scenarios;
mod availability;
mod cadence;
mod common;
mod daily;
mod restart;
mod retention;
mod shard;
mod slow_nodes;
