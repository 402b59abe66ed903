//! Alert delivery's counts by receiver, read from `Notifier::status` at each scrape, so that
//! the notify crate keeps its own counts and knows nothing of Prometheus.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use rockscope_notify::{Notifier, ReceiverStatus};

use crate::{Watched, escaped};

/// The notifier to report; nothing until [`crate::Telemetry::watch_delivery`].
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    pub(crate) notifier: Watched<Notifier>,
}

type Count = fn(&ReceiverStatus) -> u64;

const COUNTERS: [(&str, &str, Count); 3] = [
    (
        "rockscope_notifications_sent",
        "Notifications a receiver accepted (2xx)",
        |s| s.sent,
    ),
    (
        "rockscope_notifications_failed",
        "Notifications given up: refused with a 4xx other than 429, or failing after every retry",
        |s| s.failed,
    ),
    (
        "rockscope_notifications_dropped",
        "Notifications never tried to the end: dropped from a full queue, too late to send, or \
         left at shutdown",
        |s| s.dropped,
    ),
];

impl Collector for Delivery {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(notifier) = self.notifier.get() else {
            return Ok(());
        };
        let receivers = notifier.status();
        if receivers.is_empty() {
            return Ok(());
        }
        // The URL (credentials already shown as `***` by the notifier) names a receiver; the
        // kind tells an Alertmanager from a webhook at the same address.
        let labels: Vec<[(&str, String); 2]> = receivers
            .iter()
            .map(|r| {
                [
                    ("receiver", escaped(&r.url)),
                    ("kind", r.kind.as_str().to_owned()),
                ]
            })
            .collect();
        for (name, help, count) in COUNTERS {
            let counter = ConstCounter::new(0u64);
            let mut family = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
            for (receiver, labels) in receivers.iter().zip(&labels) {
                ConstCounter::new(count(receiver)).encode(family.encode_family(labels)?)?;
            }
        }
        let gauge = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "rockscope_notification_queue_length",
            "Notifications waiting in a receiver's queue",
            None,
            gauge.metric_type(),
        )?;
        for (receiver, labels) in receivers.iter().zip(&labels) {
            let queued = i64::try_from(receiver.queue_len).unwrap_or(i64::MAX);
            ConstGauge::new(queued).encode(family.encode_family(labels)?)?;
        }
        Ok(())
    }
}
