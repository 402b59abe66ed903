//! Query totals and rates over the FEs, the queries they coordinate, and the cluster latency.
//!
//! Rates are Δcounter/Δt per FE between two of its scrapes, summed over FEs. An FE without a
//! previous scrape (first cycle, new FE) contributes its `qps`/`rps` gauges instead, corrected by
//! [`calculator_rate`].

use std::collections::BTreeMap;

use crate::extract::{FeCounters, FeMetrics};
use crate::latency::{FeLatency, Latency, combine, fe_latency};
use crate::nodes::Node;
use crate::rates::{increase, pct, per_second, sum_opt, to_i64};

/// The period of StarRocks' FE `MetricCalculator` timer, which sets the `qps`/`rps`/
/// `query_err_rate` gauges.
pub const CALCULATOR_TICK_SECS: f64 = 15.0;

/// The true rate behind a `qps`/`rps`/`query_err_rate` gauge.
///
/// `MetricCalculator.update` divides a tick's increase by `(currentTs − lastTs) / 1000 + 1`
/// (integer milliseconds, integer division): 16 over its 15 s tick, so the gauge reads
/// Δ/16 per second where the rate is Δ/15, 6.25 % low. The rate is `gauge × (tick + 1) / tick`.
pub fn calculator_rate(gauge: Option<f64>) -> Option<f64> {
    gauge.map(|g| g * (CALCULATOR_TICK_SECS + 1.0) / CALCULATOR_TICK_SECS)
}

/// One FE's query figures, for its node snapshot.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct FeQueries {
    /// Queries per second (counter delta, or the corrected gauge).
    pub qps: Option<f64>,
    /// Failed queries per second over the interval (`None` without a previous scrape).
    pub error_per_second: Option<f64>,
    /// Failed queries per second over the FE's last 15 s tick (its corrected `query_err_rate`):
    /// a window that does not shrink with the collection interval.
    pub error_per_second_15s: Option<f64>,
    /// Its own latency.
    pub latency: Latency,
}

/// The cluster's query figures of one cycle.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct QueryFigures {
    pub qps: Option<f64>,
    pub rps: Option<f64>,
    pub latency: Latency,
    /// Cumulative counters summed over the FEs scraped: total, success, err, timeout, slow,
    /// requests.
    pub totals: Counts,
    /// Increases over the interval, summed over the FEs with a previous scrape.
    pub interval: Counts,
    pub error_per_second: Option<f64>,
    pub error_rate: Option<f64>,
    pub queue_pending: Option<i64>,
    pub connections: Option<i64>,
    /// Queries the FEs coordinate: Σ of their coordinator counts (each query has one
    /// coordinator FE, so it counts once); `None` when no FE reports one.
    pub running: Option<i64>,
    /// Some FE's rates came from its gauges.
    pub rates_from_gauges: bool,
    /// By node index.
    pub per_fe: BTreeMap<usize, FeQueries>,
}

/// Query counts (cumulative or over the interval).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Counts {
    pub total: Option<i64>,
    pub success: Option<i64>,
    pub error: Option<i64>,
    pub timeout: Option<i64>,
    pub slow: Option<i64>,
    pub requests: Option<i64>,
    /// `query_internal_err` (`None` when no FE has the series).
    pub internal_error: Option<i64>,
}

impl Counts {
    fn sum(values: &[FeCounters]) -> Counts {
        let sum = |get: fn(&FeCounters) -> Option<f64>| to_i64(sum_opt(values.iter().map(get)));
        Counts {
            total: sum(|c| c.query_total),
            success: sum(|c| c.query_success),
            error: sum(|c| c.query_err),
            timeout: sum(|c| c.query_timeout),
            slow: sum(|c| c.slow_query),
            requests: sum(|c| c.request_total),
            internal_error: sum(|c| c.query_internal_err),
        }
    }
}

/// One FE's figures of the cycle.
struct FeCycle {
    qps: Option<f64>,
    error_per_second_15s: Option<f64>,
    rps: Option<f64>,
    from_gauges: bool,
    /// Counter increases over the interval (fields `None` without a previous scrape).
    increases: FeCounters,
    seconds: Option<f64>,
    latency: Latency,
}

fn fe_cycle(m: &FeMetrics, n: &Node<'_>) -> FeCycle {
    let prev = n.prev_fe();
    let c = &m.counters;
    let d = |get: fn(&FeCounters) -> Option<f64>| increase(prev.and_then(get), get(c));
    let increases = FeCounters {
        query_total: d(|c| c.query_total),
        query_success: d(|c| c.query_success),
        query_err: d(|c| c.query_err),
        query_timeout: d(|c| c.query_timeout),
        slow_query: d(|c| c.slow_query),
        request_total: d(|c| c.request_total),
        query_internal_err: d(|c| c.query_internal_err),
        ..FeCounters::default()
    };
    let (qps, rps, from_gauges) = if prev.is_some() {
        let rate = |v| per_second(v, n.seconds);
        (
            rate(increases.query_total),
            rate(increases.request_total),
            false,
        )
    } else {
        let from_gauges = m.qps.is_some() || m.rps.is_some();
        (calculator_rate(m.qps), calculator_rate(m.rps), from_gauges)
    };
    FeCycle {
        qps,
        error_per_second_15s: calculator_rate(m.query_err_rate),
        rps,
        from_gauges,
        increases,
        seconds: n.seconds,
        latency: fe_latency(m),
    }
}

/// The cluster's query figures from the scraped FEs.
pub(crate) fn query_figures(nodes: &[Node<'_>]) -> QueryFigures {
    let fes: Vec<(usize, &FeMetrics, FeCycle)> = nodes
        .iter()
        .enumerate()
        .filter_map(|(i, n)| n.fe.as_ref().map(|m| (i, m, fe_cycle(m, n))))
        .collect();
    let counters: Vec<FeCounters> = fes.iter().map(|(_, m, _)| m.counters.clone()).collect();
    let increases: Vec<FeCounters> = fes.iter().map(|(_, _, f)| f.increases.clone()).collect();
    let gauge =
        |get: fn(&FeMetrics) -> Option<f64>| to_i64(sum_opt(fes.iter().map(|(_, m, _)| get(m))));
    let lat_parts: Vec<FeLatency> = fes
        .iter()
        .map(|(_, _, f)| FeLatency {
            latency: f.latency,
            interval_queries: f.increases.query_total,
            qps: f.qps,
        })
        .collect();
    QueryFigures {
        qps: sum_opt(fes.iter().map(|(_, _, f)| f.qps)),
        rps: sum_opt(fes.iter().map(|(_, _, f)| f.rps)),
        latency: combine(&lat_parts),
        totals: Counts::sum(&counters),
        interval: Counts::sum(&increases),
        error_per_second: sum_opt(
            fes.iter()
                .map(|(_, _, f)| per_second(f.increases.query_err, f.seconds)),
        ),
        error_rate: error_rate(&increases),
        queue_pending: gauge(|m| m.query_queue_pending),
        connections: gauge(|m| m.connections),
        running: gauge(|m| m.query_coordinators),
        rates_from_gauges: fes.iter().any(|(_, _, f)| f.from_gauges),
        per_fe: fes
            .iter()
            .map(|(i, _, f)| {
                let q = FeQueries {
                    qps: f.qps,
                    error_per_second: per_second(f.increases.query_err, f.seconds),
                    error_per_second_15s: f.error_per_second_15s,
                    latency: f.latency,
                };
                (*i, q)
            })
            .collect(),
    }
}

/// Σ Δerr / Σ Δtotal × 100 over the FEs that have both; `None` without queries.
fn error_rate(increases: &[FeCounters]) -> Option<f64> {
    let both: Vec<(f64, f64)> = increases
        .iter()
        .filter_map(|c| Some((c.query_total?, c.query_err?)))
        .collect();
    let q: f64 = both.iter().map(|p| p.0).sum();
    let e: f64 = both.iter().map(|p| p.1).sum();
    pct(Some(e), Some(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauge_rate_undoes_the_calculators_extra_second() {
        // 150 queries in a 15 s tick: the FE prints 150 / 16.
        let gauge = 150.0 / 16.0;
        let rate = calculator_rate(Some(gauge)).unwrap();
        assert!((rate - 10.0).abs() < 1e-12, "{rate}");
        assert_eq!(calculator_rate(None), None);
    }
}
