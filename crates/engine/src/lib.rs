//! The aggregation engine of rockscope: from what one collection cycle fetched from a StarRocks
//! cluster to numbers an operator can trust.
//!
//! # Overview
//!
//! [`aggregate`] takes the state kept from the previous cycle ([`EngineState`]) and one
//! [`CycleInput`] (node lists, runtime info, every FE/BE/CN `/metrics` body with its fetch time)
//! and returns an [`Aggregation`]: the cluster's [`MetricsSnapshot`], one [`NodeSnapshot`] per
//! node, and the state for the next cycle. [`rollup_day`] turns one UTC day of snapshots and
//! cycle outcomes into a [`DailySnapshot`].
//!
//! The work is split by metric group, each a pure function with its own tests:
//!
//! * [`extract`]: one pass of the lenient parser over a body into [`FeMetrics`] / [`BeMetrics`];
//! * [`rates`]: counter increases with reset detection, per-second rates, small `Option` folds;
//! * [`queries`]: query totals and rates over FEs (the `qps` gauge corrected), and the cluster
//!   latency;
//! * [`latency`]: per-FE latency from the window gauges or the summary, combined over the FEs
//!   that served queries;
//! * `health`: node counts, the leader, versions and scrape health;
//! * `compute`: the BEs' and CNs' per-node CPU, memory, network and IO figures and their sums;
//! * [`cpu`]: CPU busy % from jiffies, cluster CPU and memory figures;
//! * [`disk`]: storage and tablets from the backends list;
//! * [`jvm`]: FE heap, threads and GC;
//! * [`jobs`]: load jobs, routine loads, transactions and other leader-only figures;
//! * `node_snapshot`: one node's snapshot;
//! * [`snapshot`]: matches scrapes to list rows (`nodes`), runs the groups and assembles the
//!   snapshots;
//! * [`daily`]: the daily rollup and the retention cut-off;
//! * [`custom`]: custom metric definitions validated and compiled (matchers, regexes) once.
//!
//! Rules that hold throughout: a figure with no source is `None`, never an invented 0; NaN and
//! infinite sample values count as missing; rates are Δcounter/Δt per node between two consecutive
//! scrapes of that node (Δt from the scrapes' `fetched_at`), a counter that went down was reset
//! and its new value is the increase, and rates are summed over nodes.
//!
//! **Invariant:** the engine does no I/O and reads no clock: every time it uses comes from its
//! input, so the same input always gives the same output.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod compute;
pub mod cpu;
pub mod custom;
pub mod daily;
pub mod disk;
pub mod extract;
mod health;
pub mod jobs;
pub mod jvm;
pub mod latency;
mod node_snapshot;
mod nodes;
pub mod queries;
pub mod rates;
pub mod snapshot;

pub use custom::CustomSet;
pub use daily::{cluster_answered_nothing, expired_before, rollup_day, rollup_window};
pub use extract::{BeCounters, BeMetrics, FeCounters, FeMetrics, extract_be, extract_fe};
pub use rockscope_model::{CycleInput, DailySnapshot, MetricsSnapshot, NodeSnapshot};
pub use snapshot::{
    Aggregation, EngineState, NodeState, aggregate, aggregate_discovering, aggregate_with,
};
