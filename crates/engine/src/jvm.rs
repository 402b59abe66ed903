//! FE JVM heap, threads and GC, summed over the FEs scraped.
//!
//! Heap usage is measured against `jvm_heap_size_bytes{type="max"}` (the limit the heap can grow
//! to), not `committed`. A `max` of 0 or below (the JVM reports −1 when undefined) is missing.
//! The usage % is Σ used / Σ max over the FEs that report both (so that an FE with a missing
//! `used` does not skew it). When no FE body has heap figures, the runtime info of the FE asked fills in
//! (`max_mem`, `total_mem − free_mem`, `total_mem` as committed, `thread_cnt`).

use rockscope_model::RuntimeInfo;

use crate::extract::{FeCounters, FeMetrics, FeView};
use crate::rates::{max_opt, pct, per_second, sum_opt};

/// The JVM figures summed over FEs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JvmTotals {
    /// Σ heap max, bytes.
    pub heap_total: Option<f64>,
    /// Σ heap used, bytes.
    pub heap_used: Option<f64>,
    /// Σ heap committed, bytes.
    pub heap_committed: Option<f64>,
    /// `heap_used / heap_total × 100`.
    pub usage_pct: Option<f64>,
    /// The fullest FE's used / max × 100.
    pub max_usage_pct: Option<f64>,
    /// Σ threads.
    pub threads: Option<f64>,
    /// Σ young GCs (cumulative).
    pub young_gc_count: Option<f64>,
    /// Σ young GC time, ms (cumulative).
    pub young_gc_time_ms: Option<f64>,
    /// Σ old GCs (cumulative).
    pub old_gc_count: Option<f64>,
    /// Σ old GC time, ms (cumulative).
    pub old_gc_time_ms: Option<f64>,
    /// Σ old GCs in the interval.
    pub old_gc_interval: Option<f64>,
    /// Σ GC time per second, ms/s.
    pub gc_time_rate: Option<f64>,
}

/// The heap limit of one FE, when meaningful.
pub fn heap_max(m: &FeMetrics) -> Option<f64> {
    m.heap_max.filter(|v| *v > 0.0)
}

/// One FE's heap used / max × 100.
pub fn heap_pct(m: &FeMetrics) -> Option<f64> {
    pct(m.heap_used, heap_max(m))
}

/// The JVM figures of the scraped FEs (runtime info as the fallback for heap and threads).
pub fn jvm_totals(fes: &[FeView<'_>], runtime: Option<&RuntimeInfo>) -> JvmTotals {
    let c =
        |get: fn(&FeCounters) -> Option<f64>| sum_opt(fes.iter().map(|f| get(&f.metrics.counters)));
    let mut t = JvmTotals {
        heap_total: sum_opt(fes.iter().map(|f| heap_max(f.metrics))),
        heap_used: sum_opt(fes.iter().map(|f| f.metrics.heap_used)),
        heap_committed: sum_opt(fes.iter().map(|f| f.metrics.heap_committed)),
        usage_pct: None,
        max_usage_pct: max_opt(fes.iter().map(|f| heap_pct(f.metrics))),
        threads: sum_opt(fes.iter().map(|f| f.metrics.threads)),
        young_gc_count: c(|c| c.young_gc_count),
        young_gc_time_ms: c(|c| c.young_gc_time_ms),
        old_gc_count: c(|c| c.old_gc_count),
        old_gc_time_ms: c(|c| c.old_gc_time_ms),
        old_gc_interval: sum_opt(fes.iter().map(|f| f.increase(|c| c.old_gc_count))),
        gc_time_rate: sum_opt(fes.iter().map(|f| {
            let gc = sum_opt([
                f.increase(|c| c.young_gc_time_ms),
                f.increase(|c| c.old_gc_time_ms),
            ]);
            per_second(gc, f.seconds)
        })),
    };
    if t.heap_total.is_none()
        && t.heap_used.is_none()
        && let Some(r) = runtime
    {
        t.heap_total = Some(r.max_mem as f64).filter(|v| *v > 0.0);
        t.heap_used = Some(r.used_mem() as f64);
        t.heap_committed = Some(r.total_mem as f64);
        t.max_usage_pct = pct(t.heap_used, t.heap_total);
    }
    if t.threads.is_none() {
        t.threads = runtime.map(|r| r.thread_cnt as f64);
    }
    // The ratio over the FEs that report both, so that one missing figure does not skew it.
    let both: Vec<(f64, f64)> = fes
        .iter()
        .filter_map(|f| Some((f.metrics.heap_used?, heap_max(f.metrics)?)))
        .collect();
    t.usage_pct = if both.is_empty() {
        pct(t.heap_used, t.heap_total)
    } else {
        pct(
            Some(both.iter().map(|b| b.0).sum()),
            Some(both.iter().map(|b| b.1).sum()),
        )
    };
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fe(used: f64, max: f64, threads: f64, old: f64, young_t: f64, old_t: f64) -> FeMetrics {
        let mut m = FeMetrics {
            heap_used: Some(used),
            heap_max: Some(max),
            heap_committed: Some(used * 2.0),
            threads: Some(threads),
            ..FeMetrics::default()
        };
        m.counters.old_gc_count = Some(old);
        m.counters.young_gc_count = Some(old * 10.0);
        m.counters.young_gc_time_ms = Some(young_t);
        m.counters.old_gc_time_ms = Some(old_t);
        m
    }

    #[test]
    fn sums_against_max() {
        let a = fe(1000.0, 4000.0, 100.0, 2.0, 300.0, 100.0);
        let b = fe(3000.0, 4000.0, 50.0, 1.0, 50.0, 50.0);
        let prev_a = fe(0.0, 0.0, 0.0, 1.0, 100.0, 100.0).counters;
        let fes = [
            FeView {
                metrics: &a,
                prev: Some(&prev_a),
                seconds: Some(20.0),
            },
            FeView {
                metrics: &b,
                prev: None,
                seconds: None,
            },
        ];
        let t = jvm_totals(&fes, None);
        assert_eq!(t.heap_total, Some(8000.0));
        assert_eq!(t.heap_used, Some(4000.0));
        assert_eq!(t.heap_committed, Some(8000.0));
        assert_eq!(t.usage_pct, Some(50.0));
        assert_eq!(t.max_usage_pct, Some(75.0));
        assert_eq!(t.threads, Some(150.0));
        assert_eq!(t.old_gc_count, Some(3.0));
        assert_eq!(t.young_gc_count, Some(30.0));
        assert_eq!(t.old_gc_time_ms, Some(150.0));
        assert_eq!(t.old_gc_interval, Some(1.0));
        // (200 + 0) ms over 20 s
        assert_eq!(t.gc_time_rate, Some(10.0));
    }

    #[test]
    fn undefined_max_and_runtime_fallback() {
        let a = fe(1000.0, -1.0, 10.0, 0.0, 0.0, 0.0);
        let t = jvm_totals(
            &[FeView {
                metrics: &a,
                prev: None,
                seconds: None,
            }],
            None,
        );
        assert_eq!(t.heap_total, None);
        assert_eq!(t.usage_pct, None);
        let rt = RuntimeInfo {
            free_mem: 250,
            total_mem: 1000,
            max_mem: 2000,
            thread_cnt: 42,
        };
        let t = jvm_totals(&[], Some(&rt));
        assert_eq!(t.heap_total, Some(2000.0));
        assert_eq!(t.heap_used, Some(750.0));
        assert_eq!(t.usage_pct, Some(37.5));
        assert_eq!(t.threads, Some(42.0));
        assert_eq!(jvm_totals(&[], None), JvmTotals::default());
    }
}
