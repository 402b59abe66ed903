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
//! * [`fetch_cycle`]: one cluster's fetch (leader's lists, every node's `/metrics`) as a
//!   [`rockscope_model::CycleInput`]; blocking.
//!
//! # Isolation
//!
//! Each cluster runs in its own task with its own client (its own connection pool and
//! timeouts) under a per-cluster deadline, so a hung, refusing or garbage-serving cluster only
//! ever costs its own task. A cluster whose previous collection is still running is skipped for
//! that tick, never run twice at once. A panic in one cluster's task is caught and recorded.
//! Blocking work (HTTP, parsing, SQLite) runs on tokio's blocking pool, never on an async worker;
//! build the runtime with [`BLOCKING_THREAD_KEEP_ALIVE`] so that its threads outlive a cycle.
//! A cluster uses at most 16 of the pool's threads at a time, also after its deadline gave up on
//! it (its steps hold the in-flight mark, and a hung node holds a thread for at most the request
//! timeout). The pool has 512 threads (tokio's default), so only when more than 32 clusters hang
//! at once would the others' steps wait for a thread, each wait bounded by a request timeout.
//!
//! **Invariant:** no metric arithmetic here (that is `rockscope-engine`), no SQL (that is
//! `rockscope-store`).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod fetch;
mod housekeeping;
mod scheduler;
mod status;

pub use error::{CollectError, SourceFailure, Stage};
pub use fetch::{fetch_cycle, source_error};

/// How long the runtime that runs a [`Collector`] should keep an idle blocking thread
/// (`tokio::runtime::Builder::thread_keep_alive`). The collector's scrapes run on the blocking
/// pool, up to 16 per cluster at a time; with tokio's default (10 s), shorter than a collection
/// interval, every cycle would start and end all those threads again, which cost a quarter of
/// the service's CPU at 1,300 nodes (`docs/BENCHMARKS.md`). Idle threads cost little memory.
pub const BLOCKING_THREAD_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(600);
pub use scheduler::{ClusterOutcome, Collector, CollectorConfig};
pub use status::{ClusterStatus, CycleSummary, StatusBoard};
