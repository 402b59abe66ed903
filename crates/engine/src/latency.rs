//! Query latency per FE from the best source it offers, and combined over FEs.
//!
//! Per FE (each FE's own figures, kept in its node snapshot):
//! * when the `starrocks_fe_query_latency{type}` window gauges are populated (at least one
//!   quantile present and non-zero: StarRocks fills them only with `enable_collect_query_detail_info`,
//!   from the queries of the last 15 s `MetricCalculator` tick), every figure comes from them,
//!   the mean included;
//! * otherwise, when the `starrocks_fe_query_latency_ms` summary has a positive `_count`, from
//!   the summary: a Codahale histogram on an exponentially decaying reservoir. It has no 0.5 and
//!   no 0.9 quantile (p50 and p90 stay `None`), and its `_sum` is printed as `count × mean of the
//!   reservoir` (`PrometheusMetricVisitor.visitHistogram`), not as a running total. So the mean is
//!   the reservoir's mean `_sum / _count` of the current scrape: Δ`_sum`/Δ`_count` between two
//!   scrapes is not the mean of anything.
//!
//! Over FEs, only the FEs that served queries in the interval count (see [`combine`]): a
//! percentile is the **largest** of theirs (the cluster's true percentile lies between the
//! smallest and the largest per-FE percentile, so this is its upper bound), the mean is their
//! query-weighted mean (exact for a mixture). When no FE served a query, every field is `None`.

use crate::extract::FeMetrics;

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

/// One FE's latency from its current scrape (see the module docs for the source).
pub fn fe_latency(m: &FeMetrics) -> Latency {
    let w = &m.latency_window;
    let window_populated = [w.p50, w.p75, w.p90, w.p95, w.p99, w.p999]
        .iter()
        .any(|v| v.is_some_and(|v| v != 0.0));
    if window_populated {
        return Latency {
            p50: w.p50,
            p75: w.p75,
            p90: w.p90,
            p95: w.p95,
            p99: w.p99,
            p999: w.p999,
            mean: w.mean,
        };
    }
    let c = &m.counters;
    let Some(count) = c.latency_count.filter(|c| *c > 0.0) else {
        return Latency::default();
    };
    let s = &m.latency_summary;
    Latency {
        p50: None,
        p75: s.p75,
        p90: None,
        p95: s.p95,
        p99: s.p99,
        p999: s.p999,
        mean: c.latency_sum.map(|sum| sum / count),
    }
}

/// One FE's contribution to the cluster latency.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FeLatency {
    /// The FE's latency.
    pub latency: Latency,
    /// The FE's queries in the interval (Δ`query_total`), when it had a previous scrape.
    pub interval_queries: Option<f64>,
    /// The FE's query rate over the interval (for an FE without a previous scrape, its corrected
    /// `qps` gauge): the weight when some FE has no interval count.
    pub qps: Option<f64>,
}

impl FeLatency {
    /// How much the FE counts: its interval queries, or its query rate when `by_rate`.
    fn weight(&self, by_rate: bool) -> f64 {
        let w = if by_rate {
            self.qps
        } else {
            self.interval_queries
        };
        w.filter(|w| w.is_finite()).unwrap_or(0.0)
    }
}

/// Combines per-FE latencies over the FEs that served queries in the interval.
///
/// An FE served queries when its Δ`query_total` is positive; an FE without a previous scrape
/// (first cycle, new FE) when its `qps` gauge is. The weights are the interval queries, or the
/// query rates when some serving FE has no interval count. No serving FE: all `None`.
pub fn combine(fes: &[FeLatency]) -> Latency {
    let by_rate = fes.iter().any(|f| f.interval_queries.is_none());
    let serving: Vec<(f64, &Latency)> = fes
        .iter()
        .map(|f| (f.weight(by_rate), &f.latency))
        .filter(|(w, _)| *w > 0.0)
        .collect();
    let largest = |get: fn(&Latency) -> Option<f64>| {
        serving
            .iter()
            .filter_map(|(_, l)| get(l))
            .fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            })
    };
    let with_mean: Vec<(f64, f64)> = serving
        .iter()
        .filter_map(|(w, l)| Some((*w, l.mean?)))
        .collect();
    let weight: f64 = with_mean.iter().map(|(w, _)| w).sum();
    let mean = (weight > 0.0).then(|| with_mean.iter().map(|(w, m)| w * m).sum::<f64>() / weight);
    Latency {
        p50: largest(|l| l.p50),
        p75: largest(|l| l.p75),
        p90: largest(|l| l.p90),
        p95: largest(|l| l.p95),
        p99: largest(|l| l.p99),
        p999: largest(|l| l.p999),
        mean,
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
        let l = fe_latency(&fe(w, SUMMARY, 1000.0, 100.0));
        assert_eq!(l.p50, Some(3.0));
        assert_eq!(l.p90, Some(9.0));
        assert_eq!(l.p99, Some(20.0));
        assert_eq!(l.mean, Some(5.0));
    }

    #[test]
    fn summary_when_window_zero() {
        let w = LatencyWindow {
            mean: Some(0.0),
            p50: Some(0.0),
            p99: Some(0.0),
            ..LatencyWindow::default()
        };
        let l = fe_latency(&fe(w, SUMMARY, 1000.0, 100.0));
        assert_eq!(l.p50, None);
        assert_eq!(l.p75, Some(12.0));
        assert_eq!(l.p90, None);
        assert_eq!(l.p95, Some(30.0));
        assert_eq!(l.p99, Some(50.0));
        assert_eq!(l.p999, Some(90.0));
        // the reservoir's mean: sum / count of this scrape
        assert_eq!(l.mean, Some(10.0));
        // no query ever: nothing
        let empty = fe(LatencyWindow::default(), SUMMARY, 0.0, 0.0);
        assert_eq!(fe_latency(&empty), Latency::default());
    }

    fn part(p99: f64, mean: f64, queries: Option<f64>, qps: Option<f64>) -> FeLatency {
        FeLatency {
            latency: Latency {
                p99: Some(p99),
                mean: Some(mean),
                ..Latency::default()
            },
            interval_queries: queries,
            qps,
        }
    }

    #[test]
    fn largest_percentile_and_weighted_mean_of_serving_fes() {
        let a = part(10.0, 2.0, Some(300.0), Some(10.0));
        let b = part(50.0, 6.0, Some(100.0), Some(3.0));
        let idle = part(900.0, 100.0, Some(0.0), Some(0.0));
        let l = combine(&[a, b, idle]);
        assert_eq!(l.p99, Some(50.0));
        assert_eq!(l.mean, Some((2.0 * 300.0 + 6.0 * 100.0) / 400.0));
        assert_eq!(l.p50, None);
        // an FE without an interval count: every FE weighted by its rate
        let new = part(70.0, 10.0, None, Some(2.0));
        let l = combine(&[a, b, new]);
        assert_eq!(l.p99, Some(70.0));
        assert_eq!(l.mean, Some((2.0 * 10.0 + 6.0 * 3.0 + 10.0 * 2.0) / 15.0));
    }

    #[test]
    fn no_queries_no_latency() {
        let idle = part(900.0, 100.0, Some(0.0), Some(0.0));
        assert_eq!(combine(&[idle, idle]), Latency::default());
        let unknown = part(900.0, 100.0, None, None);
        assert_eq!(combine(&[unknown]), Latency::default());
        assert_eq!(combine(&[]), Latency::default());
    }
}
