//! Query latency per FE from the best source it offers, and combined over FEs.
//!
//! Per FE:
//! * quantiles come from the `starrocks_fe_query_latency{type}` window gauges when they are
//!   populated (at least one quantile gauge present and non-zero); otherwise from the
//!   `starrocks_fe_query_latency_ms{quantile}` summary (when its `_count` is positive), which has
//!   no 0.5 and no 0.9 quantile: p50 and p90 then stay `None`;
//! * the mean is Δ`_sum`/Δ`_count` of the summary over the interval (with reset detection) when
//!   queries ran in it; otherwise the window's `mean` gauge when the window is populated.
//!
//! Over FEs, each field is the weighted mean of the FEs that have it, weighted by each FE's
//! queries in the interval; when some of those FEs have no interval count (first cycle, new FE),
//! by their `qps` gauge; when that is missing too, or all weights are 0, equally.

use crate::extract::{FeCounters, FeMetrics};
use crate::rates::increase;

/// Latency figures in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
}

/// One FE's latency, given its previous counters (if any).
pub fn fe_latency(m: &FeMetrics, prev: Option<&FeCounters>) -> Latency {
    let w = &m.latency_window;
    let window_populated = [w.p50, w.p75, w.p90, w.p95, w.p99, w.p999]
        .iter()
        .any(|v| v.is_some_and(|v| v != 0.0));
    let mut out = if window_populated {
        Latency {
            p50: w.p50,
            p75: w.p75,
            p90: w.p90,
            p95: w.p95,
            p99: w.p99,
            p999: w.p999,
            mean: None,
        }
    } else if m.counters.latency_count.is_some_and(|c| c > 0.0) {
        let s = &m.latency_summary;
        Latency {
            p50: None,
            p75: s.p75,
            p90: None,
            p95: s.p95,
            p99: s.p99,
            p999: s.p999,
            mean: None,
        }
    } else {
        Latency::default()
    };
    out.mean = interval_mean(&m.counters, prev).or(if window_populated { w.mean } else { None });
    out
}

/// Δsum/Δcount of the latency summary, when queries ran in the interval.
fn interval_mean(cur: &FeCounters, prev: Option<&FeCounters>) -> Option<f64> {
    let prev = prev?;
    let (pc, cc) = (prev.latency_count?, cur.latency_count?);
    let (ps, cs) = (prev.latency_sum?, cur.latency_sum?);
    // A reset of either means the FE restarted: both start again from 0.
    let (dc, ds) = if cc < pc || cs < ps {
        (cc, cs)
    } else {
        (cc - pc, cs - ps)
    };
    (dc > 0.0).then(|| ds / dc)
}

/// One FE's contribution to the cluster latency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeLatency {
    /// The FE's latency.
    pub latency: Latency,
    /// The FE's queries in the interval, when known.
    pub interval_queries: Option<f64>,
    /// The FE's `qps` gauge, the weight of last resort.
    pub qps_gauge: Option<f64>,
}

/// The FE's queries in the interval: Δ`query_total` with reset detection.
pub fn interval_queries(cur: &FeCounters, prev: Option<&FeCounters>) -> Option<f64> {
    increase(prev?.query_total, cur.query_total)
}

/// Combines per-FE latencies, field by field (see the module docs for the weights).
pub fn combine(fes: &[FeLatency]) -> Latency {
    let field = |get: fn(&Latency) -> Option<f64>| -> Option<f64> {
        let have: Vec<(f64, &FeLatency)> = fes
            .iter()
            .filter_map(|f| get(&f.latency).map(|v| (v, f)))
            .collect();
        if have.is_empty() {
            return None;
        }
        let weights: Vec<f64> = if have.iter().all(|(_, f)| f.interval_queries.is_some()) {
            have.iter()
                .map(|(_, f)| f.interval_queries.unwrap_or(0.0))
                .collect()
        } else if have.iter().all(|(_, f)| f.qps_gauge.is_some()) {
            have.iter()
                .map(|(_, f)| f.qps_gauge.unwrap_or(0.0))
                .collect()
        } else {
            vec![1.0; have.len()]
        };
        let total: f64 = weights.iter().sum();
        if total > 0.0 {
            Some(
                have.iter()
                    .zip(&weights)
                    .map(|((v, _), w)| v * w)
                    .sum::<f64>()
                    / total,
            )
        } else {
            Some(have.iter().map(|(v, _)| v).sum::<f64>() / have.len() as f64)
        }
    };
    Latency {
        p50: field(|l| l.p50),
        p75: field(|l| l.p75),
        p90: field(|l| l.p90),
        p95: field(|l| l.p95),
        p99: field(|l| l.p99),
        p999: field(|l| l.p999),
        mean: field(|l| l.mean),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::{LatencySummary, LatencyWindow};

    fn fe(window: LatencyWindow, summary: LatencySummary, sum: f64, count: f64) -> FeMetrics {
        let mut m = FeMetrics {
            latency_window: window,
            latency_summary: summary,
            ..FeMetrics::default()
        };
        m.counters.latency_sum = Some(sum);
        m.counters.latency_count = Some(count);
        m
    }

    const SUMMARY: LatencySummary = LatencySummary {
        p75: Some(12.0),
        p95: Some(30.0),
        p98: Some(40.0),
        p99: Some(50.0),
        p999: Some(90.0),
    };

    #[test]
    fn window_preferred_when_populated() {
        let w = LatencyWindow {
            mean: Some(5.0),
            p50: Some(3.0),
            p75: Some(6.0),
            p90: Some(9.0),
            p95: Some(11.0),
            p99: Some(20.0),
            p999: Some(35.0),
        };
        let m = fe(w, SUMMARY, 1000.0, 100.0);
        let prev = FeCounters {
            latency_sum: Some(400.0),
            latency_count: Some(40.0),
            ..FeCounters::default()
        };
        let l = fe_latency(&m, Some(&prev));
        assert_eq!(l.p50, Some(3.0));
        assert_eq!(l.p90, Some(9.0));
        assert_eq!(l.p99, Some(20.0));
        // (1000 - 400) / (100 - 40)
        assert_eq!(l.mean, Some(10.0));
        // first cycle: the window mean
        assert_eq!(fe_latency(&m, None).mean, Some(5.0));
    }

    #[test]
    fn summary_when_window_zero() {
        let w = LatencyWindow {
            mean: Some(0.0),
            p50: Some(0.0),
            p99: Some(0.0),
            ..LatencyWindow::default()
        };
        let m = fe(w, SUMMARY, 1000.0, 100.0);
        let l = fe_latency(&m, None);
        assert_eq!(l.p50, None);
        assert_eq!(l.p75, Some(12.0));
        assert_eq!(l.p90, None);
        assert_eq!(l.p95, Some(30.0));
        assert_eq!(l.p99, Some(50.0));
        assert_eq!(l.p999, Some(90.0));
        assert_eq!(l.mean, None);
        // no query ever: nothing
        let empty = fe(LatencyWindow::default(), SUMMARY, 0.0, 0.0);
        assert_eq!(fe_latency(&empty, None), Latency::default());
    }

    #[test]
    fn mean_across_reset_and_idle() {
        let m = fe(LatencyWindow::default(), SUMMARY, 60.0, 3.0);
        let prev = FeCounters {
            latency_sum: Some(1000.0),
            latency_count: Some(100.0),
            ..FeCounters::default()
        };
        assert_eq!(fe_latency(&m, Some(&prev)).mean, Some(20.0));
        let idle = FeCounters {
            latency_sum: Some(60.0),
            latency_count: Some(3.0),
            ..FeCounters::default()
        };
        assert_eq!(fe_latency(&m, Some(&idle)).mean, None);
    }

    #[test]
    fn combine_weights() {
        let a = FeLatency {
            latency: Latency {
                p99: Some(10.0),
                mean: Some(2.0),
                ..Latency::default()
            },
            interval_queries: Some(300.0),
            qps_gauge: Some(1.0),
        };
        let b = FeLatency {
            latency: Latency {
                p99: Some(50.0),
                ..Latency::default()
            },
            interval_queries: Some(100.0),
            qps_gauge: Some(3.0),
        };
        let l = combine(&[a, b]);
        // (10*300 + 50*100) / 400
        assert_eq!(l.p99, Some(20.0));
        assert_eq!(l.mean, Some(2.0));
        assert_eq!(l.p50, None);
        // first cycle: qps gauges as weights (10*1 + 50*3) / 4
        let (a1, b1) = (
            FeLatency {
                interval_queries: None,
                ..a
            },
            FeLatency {
                interval_queries: None,
                ..b
            },
        );
        assert_eq!(combine(&[a1, b1]).p99, Some(40.0));
        // no weights at all: equal
        let (a2, b2) = (
            FeLatency {
                qps_gauge: None,
                ..a1
            },
            FeLatency {
                qps_gauge: None,
                ..b1
            },
        );
        assert_eq!(combine(&[a2, b2]).p99, Some(30.0));
        // all weights zero: equal
        let (a3, b3) = (
            FeLatency {
                interval_queries: Some(0.0),
                ..a
            },
            FeLatency {
                interval_queries: Some(0.0),
                ..b
            },
        );
        assert_eq!(combine(&[a3, b3]).p99, Some(30.0));
        assert_eq!(combine(&[]), Latency::default());
    }
}
