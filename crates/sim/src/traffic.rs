//! What the simulator has served: a tool-neutral count of scrapes, for benchmarks that compare
//! two scrapers (rockscope and Prometheus) against the same nodes.

use std::sync::atomic::{AtomicU64, Ordering};

/// Totals since the simulator started; see [`crate::Simulator::traffic`].
///
/// Only complete `200` answers count (faulty, unauthorized and `HEAD` answers do not).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// `GET /metrics` answers served, FE and BE/CN alike: node scrapes.
    pub metrics_responses: u64,
    /// Bytes of those `/metrics` bodies.
    pub metrics_bytes: u64,
    /// Sample lines in those bodies (lines that are neither empty nor `#` comments).
    pub metrics_samples: u64,
    /// Every other answered request (`show_proc`, health, runtime info, ...).
    pub other_responses: u64,
}

impl Traffic {
    /// The counts of `self` minus those of an earlier reading.
    pub fn since(&self, earlier: &Traffic) -> Traffic {
        Traffic {
            metrics_responses: self
                .metrics_responses
                .saturating_sub(earlier.metrics_responses),
            metrics_bytes: self.metrics_bytes.saturating_sub(earlier.metrics_bytes),
            metrics_samples: self.metrics_samples.saturating_sub(earlier.metrics_samples),
            other_responses: self.other_responses.saturating_sub(earlier.other_responses),
        }
    }
}

/// The live counters behind [`Traffic`].
#[derive(Debug, Default)]
pub(crate) struct TrafficCounters {
    metrics_responses: AtomicU64,
    metrics_bytes: AtomicU64,
    metrics_samples: AtomicU64,
    other_responses: AtomicU64,
}

impl TrafficCounters {
    /// Counts one complete `200` answer to `path` with `body`.
    pub(crate) fn served(&self, path: &str, body: &[u8]) {
        if path == "/metrics" {
            let samples = body
                .split(|&b| b == b'\n')
                .filter(|line| !line.is_empty() && line[0] != b'#')
                .count() as u64;
            self.metrics_responses.fetch_add(1, Ordering::Relaxed);
            self.metrics_bytes
                .fetch_add(body.len() as u64, Ordering::Relaxed);
            self.metrics_samples.fetch_add(samples, Ordering::Relaxed);
        } else {
            self.other_responses.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self) -> Traffic {
        Traffic {
            metrics_responses: self.metrics_responses.load(Ordering::Relaxed),
            metrics_bytes: self.metrics_bytes.load(Ordering::Relaxed),
            metrics_samples: self.metrics_samples.load(Ordering::Relaxed),
            other_responses: self.other_responses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_samples_not_comments_and_separates_metrics_from_the_rest() {
        let c = TrafficCounters::default();
        c.served("/metrics", b"# TYPE a counter\na 1\n\na{x=\"#\"} 2\n");
        c.served("/metrics", b"b 3");
        c.served("/api/show_proc", b"[]");
        let t = c.read();
        assert_eq!(t.metrics_responses, 2);
        assert_eq!(t.metrics_samples, 3);
        assert_eq!(t.metrics_bytes, 33 + 3);
        assert_eq!(t.other_responses, 1);
        let later = Traffic {
            metrics_responses: 5,
            ..t
        };
        assert_eq!(later.since(&t).metrics_responses, 3);
        assert_eq!(t.since(&later).metrics_responses, 0);
    }
}
