//! Remote write's backlog and counts by endpoint, read from `RemoteWriter::status` at each
//! scrape, so that the remote-write crate keeps its own counts and knows nothing of Prometheus.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;
use rockscope_remote_write::{EndpointStatus, RemoteWriter};

use crate::{Watched, escaped};

/// The writer to report; nothing until [`crate::Telemetry::watch_remote_write`].
#[derive(Debug, Default)]
pub(crate) struct RemoteWrite {
    pub(crate) writer: Watched<RemoteWriter>,
}

type Count = fn(&EndpointStatus) -> u64;
type Level = fn(&EndpointStatus) -> f64;

const COUNTERS: [(&str, &str, Count); 4] = [
    (
        "rockscope_remote_write_samples_sent",
        "Samples an endpoint accepted",
        |s| s.samples_sent,
    ),
    (
        "rockscope_remote_write_requests_failed",
        "Requests that failed and are retried (transport errors, 429, 5xx)",
        |s| s.failed_requests,
    ),
    (
        "rockscope_remote_write_samples_dropped",
        "Samples in requests an endpoint refused for good (a 4xx other than 429)",
        |s| s.dropped_samples,
    ),
    (
        "rockscope_remote_write_requests_dropped",
        "Requests an endpoint refused for good (a 4xx other than 429)",
        |s| s.dropped_requests,
    ),
];

const GAUGES: [(&str, &str, Option<Unit>, Level); 3] = [
    (
        "rockscope_remote_write_backlog_cycles",
        "Cluster cycles not yet delivered: queued, turned away from the full queue, or being read back from the database",
        None,
        |s| s.backlog_cycles as f64,
    ),
    (
        "rockscope_remote_write_backlog",
        "How far behind the oldest cycle not yet delivered is (0 when none is owed)",
        Some(Unit::Seconds),
        |s| s.backlog_seconds,
    ),
    (
        "rockscope_remote_write_queue_length",
        "Cycles waiting in an endpoint's queue",
        None,
        |s| s.queued_cycles as f64,
    ),
];

impl Collector for RemoteWrite {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(writer) = self.writer.get() else {
            return Ok(());
        };
        let endpoints = writer.status();
        if endpoints.is_empty() {
            return Ok(());
        }
        // The URL, credentials already shown as `***` by the writer, names an endpoint.
        let labels: Vec<[(&str, String); 1]> = endpoints
            .iter()
            .map(|e| [("endpoint", escaped(&e.url))])
            .collect();
        for (name, help, count) in COUNTERS {
            let counter = ConstCounter::new(0u64);
            let mut family = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            for (endpoint, labels) in endpoints.iter().zip(&labels) {
                ConstCounter::new(count(endpoint)).encode(family.encode_family(labels)?)?;
            }
        }
        for (name, help, unit, level) in GAUGES {
            let gauge = ConstGauge::new(0f64);
            let mut family =
                encoder.encode_descriptor(name, help, unit.as_ref(), gauge.metric_type())?;
            for (endpoint, labels) in endpoints.iter().zip(&labels) {
                ConstGauge::new(level(endpoint)).encode(family.encode_family(labels)?)?;
            }
        }
        Ok(())
    }
}
