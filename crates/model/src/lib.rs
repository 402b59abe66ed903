//! The vocabulary shared by rockscope's layers: plain data, no logic, no I/O.
//!
//! # Overview
//!
//! * [`nodes`]: the typed rows of StarRocks' `show_proc` node lists ([`Backend`], [`Frontend`],
//!   [`ComputeNode`]) and the FE runtime info. The client produces them, the engine reads them.
//! * [`scrape`]: one node's `/metrics` body as fetched ([`MetricsScrape`]), owned so that it can
//!   cross threads, with what the lenient parse of it found.
//! * [`cycle`]: everything one collection cycle fetched from a cluster ([`CycleInput`]), the input
//!   of the aggregation engine, and whether the cycle reached the cluster ([`CycleOutcome`], an
//!   input of the daily availability).
//! * [`snapshot`]: what the engine computes and the store keeps ([`MetricsSnapshot`],
//!   [`NodeSnapshot`], [`DailySnapshot`], and [`DailyInput`], the part of a snapshot the daily
//!   roll-up reads, and [`SnapshotSummary`], the part the all-clusters overview shows).
//! * [`fields`]: the numeric snapshot fields as one static table (name, kind, accessor).
//! * [`secret`]: [`Secret`], a password or token that never shows itself (`Debug` and
//!   serialization print `***`).
//! * [`custom`]: a custom metric definition as written ([`CustomMetricSpec`]); the engine
//!   validates and compiles it.
//! * [`alert`]: alerts, their history and user rules as written ([`Alert`], [`AlertEvent`],
//!   [`RuleSpec`], [`RuleOverride`]); `rockscope-alerts` evaluates them.
//!
//! **Invariant:** this crate holds data only. It depends on nothing of rockscope, speaks no HTTP
//! and no SQL, and reads no clock.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alert;
pub mod custom;
pub mod cycle;
pub mod fields;
pub mod nodes;
pub mod scrape;
pub mod secret;
pub mod snapshot;

pub use alert::*;
pub use custom::{CustomMetricSpec, FamilyInfo, NodeFamilies};
pub use cycle::*;
pub use nodes::*;
pub use scrape::*;
pub use secret::Secret;
pub use snapshot::*;
