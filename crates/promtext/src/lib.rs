//! Parse the Prometheus text exposition format 0.0.4, as served by StarRocks FE and BE `/metrics`.
//!
//! # Overview
//!
//! [`Parser`] is an iterator over the [`Sample`]s of one body, borrowed from the input: no
//! allocation per sample unless a label value holds an escape. It runs in one of two [`Mode`]s:
//!
//! * [`Mode::Strict`] follows the written spec (prometheus/docs `exposition_formats.md`) and, where
//!   the spec is silent, the majority of Prometheus' own parsers. The first invalid line ends the
//!   iteration with an [`Error`] naming its line, column and reason.
//! * [`Mode::Lenient`] yields an [`Error`] for each bad line and carries on with the next one; the
//!   count and the first few errors are kept in [`Parser::diagnostics`]. This is what a collector
//!   wants: one garbage line never costs the rest of a body.
//!
//! `# HELP` and `# TYPE` lines are not yielded; they are collected per family and readable through
//! [`Parser::family`] at any time (HELP may legally follow the samples). Each sample carries the
//! family it belongs to (`x` for `x_sum`, `x_count`, `x_bucket` of a summary or histogram `x`) and
//! that family's [`MetricType`].
//!
//! The crate does no I/O: the caller reads the body (under its own size cap and timeout) and hands
//! over the bytes. It never panics on input.
//!
//! # Example
//!
//! ```
//! use rockscope_promtext::{Mode, Parser, MetricType};
//!
//! let body = b"# TYPE  jvm_heap_size_bytes gauge\n\
//!              jvm_heap_size_bytes{type=\"max\"} 8.589934592E9\n\
//!              starrocks_fe_job{job=\"load\", type=\"BROKER\", state=\"PENDING\"} 0\n";
//! let mut parser = Parser::new(body, Mode::Strict);
//! let heap = parser.next().unwrap()?;
//! assert_eq!(heap.name, "jvm_heap_size_bytes");
//! assert_eq!(heap.label("type").as_deref(), Some("max"));
//! assert_eq!(heap.value, 8_589_934_592.0);
//! assert_eq!(heap.metric_type, MetricType::Gauge);
//! let job = parser.next().unwrap()?;
//! assert_eq!(job.labels().count(), 3);
//! assert!(parser.next().is_none());
//! # Ok::<(), rockscope_promtext::Error>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod family;
mod float;
mod lexer;
mod parser;
mod sample;

pub use error::{Error, ErrorKind};
pub use family::{Family, MetricType};
pub use parser::{Diagnostics, Mode, Parser};
pub use sample::{Labels, Sample};
