//! rockscope's own health as Prometheus metrics, for `GET /metrics` beside the clusters' series.
//!
//! # Overview
//!
//! * [`Telemetry`]: a cheap handle (an `Arc`) to the registry and its typed families. The
//!   collector and the API call its recording methods ([`Telemetry::cycle_finished`],
//!   [`Telemetry::api_request`], …) and never see a `prometheus-client` type;
//!   [`Telemetry::encode`] appends the families to a `/metrics` body in either text format.
//! * Read at scrape time, through `prometheus-client` custom collectors: the process
//!   (`process.rs`, `/proc/self` on Linux), the database and WAL files (`files.rs`) and alert
//!   delivery's counts (`delivery.rs`, `rockscope_notify::Notifier::status`) and remote write's
//!   backlog (`remote_write.rs`, `rockscope_remote_write::RemoteWriter::status`).
//! * `convert.rs`: `prometheus-client` writes OpenMetrics only; the Prometheus text 0.0.4 form
//!   is converted from it.
//!
//! Every family is listed in `docs/EXPORT.md` ("rockscope's own health").
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod convert;
mod delivery;
mod files;
mod process;
mod remote_write;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use rockscope_export::text::{Format, escape_label_value};
use rockscope_notify::Notifier;

pub use convert::to_prometheus_text;

/// Buckets of a cycle's or a cluster's collection time: 50 ms (a small cluster on a LAN) to a
/// minute (a cluster deadline's upper range).
const COLLECTION_BUCKETS: [f64; 11] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0];
/// Buckets of a store write or an alert evaluation: half a millisecond to 2.5 s.
const FAST_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Buckets of an API request: a millisecond to 10 s.
const REQUEST_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The `route` of a request that matched no route: one value, so that unknown paths cannot
/// grow the family.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// rockscope's own metrics: clone it freely, every clone records into the same registry.
#[derive(Clone, Debug)]
pub struct Telemetry {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    cycle_duration: Histogram,
    cluster_duration: Family<ClusterLabel, Histogram>,
    scrape_errors: Family<ClusterCodeLabels, Counter>,
    samples_parsed: Family<ClusterLabel, Counter>,
    store_writes: Family<OperationLabel, Histogram>,
    api_requests: Family<RouteLabels, Histogram>,
    alert_evaluations: Counter,
    alert_failures: Counter,
    alert_duration: Histogram,
    database: Arc<files::DatabaseFiles>,
    delivery: Arc<delivery::Delivery>,
    remote_write: Arc<remote_write::RemoteWrite>,
}

/// A source read at each scrape (alert delivery, remote write), given once after the start;
/// nothing of it is reported until then.
pub(crate) struct Watched<T>(OnceLock<Arc<T>>);

impl<T> Default for Watched<T> {
    fn default() -> Self {
        Watched(OnceLock::new())
    }
}

impl<T> std::fmt::Debug for Watched<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watched")
            .field("watching", &self.0.get().is_some())
            .finish()
    }
}

impl<T> Watched<T> {
    /// Starts reporting `source`; the first call wins.
    fn set(&self, source: Arc<T>) {
        let _ = self.0.set(source);
    }

    /// The source, once given.
    pub(crate) fn get(&self) -> Option<&Arc<T>> {
        self.0.get()
    }
}

/// A label value already escaped for the text formats (`prometheus-client` writes label values
/// as given).
type Escaped = String;

fn escaped(value: &str) -> Escaped {
    let mut out = String::with_capacity(value.len());
    escape_label_value(&mut out, value);
    out
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabel {
    cluster: Escaped,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterCodeLabels {
    cluster: Escaped,
    code: Escaped,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Escaped,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    os: &'static str,
    arch: &'static str,
}

fn collection_histogram() -> Histogram {
    Histogram::new(COLLECTION_BUCKETS)
}

fn fast_histogram() -> Histogram {
    Histogram::new(FAST_BUCKETS)
}

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_BUCKETS)
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

impl Telemetry {
    /// A registry with every family, the process and (once given) the database and delivery
    /// read at scrape time. `rockscope_build_info` carries this crate's version, the
    /// workspace's.
    pub fn new() -> Telemetry {
        let mut registry = Registry::default();
        let build: Family<BuildLabels, Gauge> = Family::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                os: std::env::consts::OS,
                arch: std::env::consts::ARCH,
            })
            .set(1);
        // A gauge named `_info`, not OpenMetrics' `info` type: the text format 0.0.4 and
        // promtool know no `info`, and Prometheus stores both the same way.
        registry.register(
            "rockscope_build_info",
            "rockscope's version, operating system and architecture; always 1",
            build,
        );

        let cycle_duration = collection_histogram();
        registry.register_with_unit(
            "rockscope_collector_cycle_duration",
            "Time of one collection cycle (a tick: every enabled cluster, then the cycle's record)",
            Unit::Seconds,
            cycle_duration.clone(),
        );
        let cluster_duration = Family::new_with_constructor(collection_histogram as fn() -> _);
        registry.register_with_unit(
            "rockscope_collector_cluster_collection_duration",
            "Time of one cluster's collection: fetch, aggregation and storage",
            Unit::Seconds,
            cluster_duration.clone(),
        );
        let scrape_errors = Family::default();
        registry.register(
            "rockscope_collector_scrape_errors",
            "Failed sources of a cluster's collections (a node's scrape, the node lists) and \
             failed collections, by error code",
            scrape_errors.clone(),
        );
        let samples_parsed = Family::default();
        registry.register(
            "rockscope_collector_samples_parsed",
            "Samples the engine parsed from the nodes' /metrics bodies (lines it skipped as \
             invalid not included)",
            samples_parsed.clone(),
        );
        let store_writes = Family::new_with_constructor(fast_histogram as fn() -> _);
        registry.register_with_unit(
            "rockscope_store_write_duration",
            "Time of the collector's writes to the store by operation, waiting for the write \
             gate included",
            Unit::Seconds,
            store_writes.clone(),
        );
        let api_requests = Family::new_with_constructor(request_histogram as fn() -> _);
        registry.register_with_unit(
            "rockscope_api_request_duration",
            "Time of HTTP requests by matched route pattern and status",
            Unit::Seconds,
            api_requests.clone(),
        );
        let alert_evaluations = Counter::default();
        registry.register(
            "rockscope_alert_evaluations",
            "Alert rule evaluations (one per cluster per cycle)",
            alert_evaluations.clone(),
        );
        let alert_failures = Counter::default();
        registry.register(
            "rockscope_alert_evaluation_failures",
            "Alert rule evaluations that failed (reading or storing in the store)",
            alert_failures.clone(),
        );
        let alert_duration = fast_histogram();
        registry.register_with_unit(
            "rockscope_alert_evaluation_duration",
            "Time of one cluster's alert evaluation, store reads and writes included",
            Unit::Seconds,
            alert_duration.clone(),
        );
        let database = Arc::new(files::DatabaseFiles::default());
        registry.register_collector(Box::new(Arc::clone(&database)));
        let delivery = Arc::new(delivery::Delivery::default());
        registry.register_collector(Box::new(Arc::clone(&delivery)));
        let remote_write = Arc::new(remote_write::RemoteWrite::default());
        registry.register_collector(Box::new(Arc::clone(&remote_write)));
        registry.register_collector(Box::new(process::Process));

        Telemetry {
            inner: Arc::new(Inner {
                registry,
                cycle_duration,
                cluster_duration,
                scrape_errors,
                samples_parsed,
                store_writes,
                api_requests,
                alert_evaluations,
                alert_failures,
                alert_duration,
                database,
                delivery,
                remote_write,
            }),
        }
    }

    /// Reports the size of the SQLite database at `path` and of its write-ahead log
    /// (`<path>-wal`), read at each scrape. The first call wins.
    pub fn watch_database(&self, path: PathBuf) {
        let _ = self.inner.database.path.set(path);
    }

    /// Reports alert delivery's counts, read from [`Notifier::status`] at each scrape. The
    /// first call wins.
    pub fn watch_delivery(&self, notifier: Arc<Notifier>) {
        self.inner.delivery.notifier.set(notifier);
    }

    /// Reports remote write's backlog and counts by endpoint, read from
    /// [`RemoteWriter::status`] at each scrape. The first call wins.
    pub fn watch_remote_write(&self, writer: Arc<rockscope_remote_write::RemoteWriter>) {
        self.inner.remote_write.writer.set(writer);
    }

    /// A collection cycle (tick) ended after `duration`.
    pub fn cycle_finished(&self, duration: Duration) {
        self.inner.cycle_duration.observe(duration.as_secs_f64());
    }

    /// `cluster`'s collection ended after `duration`, whatever its outcome.
    pub fn cluster_collected(&self, cluster: &str, duration: Duration) {
        let labels = ClusterLabel {
            cluster: escaped(cluster),
        };
        self.inner
            .cluster_duration
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }

    /// A source of `cluster`'s collection failed, or the collection itself, with the error's
    /// `code` (`SourceError::code`, `CollectError::code`).
    pub fn scrape_failed(&self, cluster: &str, code: &str) {
        let labels = ClusterCodeLabels {
            cluster: escaped(cluster),
            code: escaped(code),
        };
        self.inner.scrape_errors.get_or_create(&labels).inc();
    }

    /// The engine parsed `samples` samples from `cluster`'s node bodies in one cycle.
    pub fn samples_parsed(&self, cluster: &str, samples: u64) {
        let labels = ClusterLabel {
            cluster: escaped(cluster),
        };
        self.inner
            .samples_parsed
            .get_or_create(&labels)
            .inc_by(samples);
    }

    /// A store write named `operation` (e.g. `insert_cycle`) took `duration`.
    pub fn store_write(&self, operation: &'static str, duration: Duration) {
        self.inner
            .store_writes
            .get_or_create(&OperationLabel { operation })
            .observe(duration.as_secs_f64());
    }

    /// An HTTP request matched `route` (the route's pattern, or [`UNMATCHED_ROUTE`]; never a
    /// raw path) and was answered with `status` after `duration`.
    pub fn api_request(&self, route: &str, status: u16, duration: Duration) {
        let labels = RouteLabels {
            route: escaped(route),
            status,
        };
        self.inner
            .api_requests
            .get_or_create(&labels)
            .observe(duration.as_secs_f64());
    }

    /// One cluster's alert evaluation took `duration`; `succeeded` is false when it failed.
    pub fn alert_evaluated(&self, duration: Duration, succeeded: bool) {
        self.inner.alert_evaluations.inc();
        if !succeeded {
            self.inner.alert_failures.inc();
        }
        self.inner.alert_duration.observe(duration.as_secs_f64());
    }

    /// Appends every family to `out` in `format`, without OpenMetrics' final `# EOF` (the body
    /// has other families; its writer ends it).
    pub fn encode(&self, out: &mut String, format: Format) {
        let mut open_metrics = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail; a collector's error would end the encoding early,
        // and what was written is still a valid prefix.
        let _ = prometheus_client::encoding::text::encode_registry(
            &mut open_metrics,
            &self.inner.registry,
        );
        match format {
            Format::OpenMetrics => out.push_str(&open_metrics),
            Format::Prometheus => to_prometheus_text(out, &open_metrics),
        }
    }
}

#[cfg(test)]
mod tests;
