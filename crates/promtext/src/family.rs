//! Metric families: the metadata that `# HELP` and `# TYPE` lines give a name.

use std::borrow::Cow;

/// The type a `# TYPE` line gives a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricType {
    /// A cumulative value that only grows (until its process restarts).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Quantiles plus `_sum` and `_count`.
    Summary,
    /// Cumulative `_bucket{le}` plus `_sum` and `_count`.
    Histogram,
    /// The `gaugehistogram` extension of prometheus/common's parser.
    GaugeHistogram,
    /// No `# TYPE` line, or `# TYPE name untyped`.
    Untyped,
}

impl MetricType {
    /// Parses a type token as written after `# TYPE name`.
    pub(crate) fn parse(token: &str) -> Option<MetricType> {
        Some(match token {
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            "summary" => MetricType::Summary,
            "histogram" => MetricType::Histogram,
            "untyped" => MetricType::Untyped,
            "gaugehistogram" | "gauge_histogram" => MetricType::GaugeHistogram,
            _ => return None,
        })
    }

    /// The type's name as `# TYPE` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Summary => "summary",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Untyped => "untyped",
        }
    }

    /// Whether `_sum` and `_count` samples belong to a family of this type.
    pub(crate) fn has_sum_and_count(self) -> bool {
        matches!(
            self,
            MetricType::Summary | MetricType::Histogram | MetricType::GaugeHistogram
        )
    }

    /// Whether `_bucket` samples belong to a family of this type.
    pub(crate) fn has_buckets(self) -> bool {
        matches!(self, MetricType::Histogram | MetricType::GaugeHistogram)
    }
}

/// One metric family as the body declared it so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Family<'a> {
    /// The family name (`x` for the samples `x`, `x_sum`, `x_count`, `x_bucket`).
    pub name: &'a str,
    /// The type from `# TYPE`, if the body has one for this name.
    pub metric_type: Option<MetricType>,
    /// The docstring from the first non-empty `# HELP`, unescaped.
    pub help: Option<Cow<'a, str>>,
    /// Whether a sample of this family was seen (a later `# TYPE` for it is then an error).
    pub(crate) has_samples: bool,
}

impl<'a> Family<'a> {
    pub(crate) fn new(name: &'a str) -> Family<'a> {
        Family {
            name,
            metric_type: None,
            help: None,
            has_samples: false,
        }
    }
}
