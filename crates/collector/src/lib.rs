//! rockscope's collection loop: every `interval`, fetch every registered cluster, aggregate,
//! store; after each tick, expire old rows and build daily aggregates.
//!
//! # Overview
//!
//! * [`Collector`]: built from a [`CollectorConfig`], a [`rockscope_store::Store`] and a
//!   [`StatusBoard`]. [`Collector::run`] is the service loop (fixed rate, graceful shutdown);
//!   [`Collector::collect_once`] runs one tick and returns a [`ClusterOutcome`] per cluster.
//! * [`StatusBoard`]: per-cluster [`ClusterStatus`] and recent [`CycleSummary`]s, shared with the
//!   API.
//! * [`fetch_cycle`]: one cluster's fetch exactly as the service runs it (node lists hedged over
//!   the FE entry points, every `/metrics`, every step on tokio's blocking pool, every request
//!   ending by a deadline) as a [`rockscope_model::CycleInput`]; for tests and benchmarks.
//! * [`Shard`]: `collector.shard = "i/n"`, which clusters this instance collects of a fleet of
//!   `n` (rendezvous hashing of the cluster's name); a tick leaves the others out.
//! * [`CollectError`]: why a cluster's collection stored nothing; [`Stage`]: where a failure
//!   happened, stored with every collection error ([`Stage::as_str`]); [`SourceFailure`].
//!
//! # Deadline
//!
//! A cluster's collection has `cluster_deadline` (by default the interval). Every request of the
//! cycle ends by the deadline less a reserve for aggregating and storing (a tenth, 100 ms to
//! 2 s): its timeout is cut to what is left ([`rockscope_starrocks::ClusterClient::with_deadline`]),
//! and none starts after it. Whatever has arrived then is aggregated and stored; a node still
//! pending is that node's `timeout`, like any other node failure. The node lists come from the
//! first FE entry point that answers: the next one is asked when the one before failed or after
//! 500 ms without an answer (hedged), so a hung FE anywhere in `fe_hosts` costs the lists at most
//! that. A cycle stores no snapshot only when no node answered at all, or the store failed.
//!
//! # Isolation
//!
//! Each cluster runs in its own task with its own client (its own connection pool and
//! timeouts) under its own deadline, so a hung, refusing or garbage-serving cluster only ever
//! costs its own task. A cluster whose previous collection is still running is skipped for
//! that tick, never run twice at once; as every request ends by the deadline, that happens only
//! when the deadline is longer than the interval or aggregating ran past it. A panic in one
//! cluster's task is caught and recorded. Blocking work (HTTP, parsing, SQLite) runs on tokio's
//! blocking pool, never on an async worker; build the runtime with
//! [`BLOCKING_THREAD_KEEP_ALIVE`] so that its threads outlive a cycle. A cluster uses at most 16
//! scrape threads of the pool at a time, plus one per FE entry point asked and one for the
//! runtime info, none past its deadline, i.e. not (by more than the moment a request takes to
//! notice the deadline) past the cluster's turn under the `concurrency` limit: with the default
//! 16 clusters at once, at most about 320 of the pool's 512 threads (tokio's default) are busy.
//!
//! A failure that repeats every cycle (a cluster's collection, a store write, a housekeeping
//! step) is logged once, then at most every five minutes with its count, and its recovery once
//! (`repeat_log.rs`).
//!
//! **Invariant:** no metric arithmetic here (that is `rockscope-engine`), no SQL (that is
//! `rockscope-store`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod alerting;
mod error;
mod fetch;
mod housekeeping;
mod repeat_log;
mod scheduler;
mod shard;
mod status;

pub use alerting::{Alerting, RulesReader};
pub use error::{CollectError, SourceFailure, Stage};
pub use fetch::{fetch_cycle, source_error};
pub use housekeeping::{
    RETENTION_BATCH, build_missing_days, hours_before, settled_before, thinning_cutoffs,
};

/// How long the runtime that runs a [`Collector`] should keep an idle blocking thread
/// (`tokio::runtime::Builder::thread_keep_alive`). The collector's scrapes run on the blocking
/// pool, up to 16 per cluster at a time; with tokio's default (10 s), shorter than a collection
/// interval, every cycle would start and end all those threads again, which cost a quarter of
/// the service's CPU at 1,300 nodes (`docs/BENCHMARKS.md`). Idle threads cost little memory.
pub const BLOCKING_THREAD_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(600);
pub use scheduler::{
    ClusterOutcome, Collector, CollectorConfig, CollectorParts, CustomInForce, CustomSource,
};
pub use shard::{MAX_SHARDS, Shard, ShardError};
pub use status::{ClusterStatus, CycleSummary, StatusBoard};
