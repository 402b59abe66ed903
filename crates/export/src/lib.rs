//! rockscope's clusters as Prometheus series, for `/metrics` and remote write.
//!
//! # Overview
//!
//! * [`names`]: the one mapping of every numeric snapshot field to its metric: name by
//!   Prometheus' conventions (base units, `_ratio` in 0–1 where the field is a percentage,
//!   `_total` for counters), type, unit and help ([`families`], [`Family`]). `docs/EXPORT.md`
//!   is this table.
//! * [`CustomFamilies`]: the operator's custom metrics (issue 16) as families,
//!   `rockscope_custom_<name>{cluster}`, described by their definitions.
//! * [`ClusterExport`]: what one cluster's latest cycle exports (its snapshot and node snapshots
//!   when the cycle stored one, else only that it is down); [`for_each_sample`] walks its
//!   samples. Its [`ActiveAlert`]s, when alerts are on, are `rockscope_alerts` (Prometheus'
//!   `ALERTS`) and each cluster's firing and pending counts.
//! * [`CycleSink`]: what the collector hands each cluster's cycle to (the [`LatestBoard`] that
//!   `/metrics` renders, the remote writers).
//! * [`text`]: the text exposition, Prometheus 0.0.4 or OpenMetrics 1.0.
//!
//! **Invariant:** pure, like the engine: no I/O and no clock. A down cluster exports its
//! `rockscope_cluster_up 0` and collector figures, never the values of an older cycle.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod alert;
mod custom;
mod cycle;
mod latest;
pub mod names;
pub mod text;

pub use alert::ActiveAlert;
pub use custom::{CustomFamilies, CustomFamily};
pub use cycle::{
    ClusterExport, CycleSink, Labels, NodeLabels, for_each_sample, for_each_sample_of,
};
pub use latest::LatestBoard;
pub use names::{Family, MetricType, Unit, custom_metric_name, families, family_of_field};
