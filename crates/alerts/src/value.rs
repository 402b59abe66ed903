//! An operand's values over one cluster's data at one instant: one value for a cluster operand,
//! one per node in scope for a per-node operand. Missing data (a null field, no node, no
//! snapshot, a stale snapshot) gives no value, and no value is never a true condition.

use std::time::Duration;

use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use time::OffsetDateTime;

use crate::expr::{Aggregation, Operand, Window};
use crate::fields::{ClusterField, CollectorField};

/// What one evaluation reads of a cluster.
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    /// The snapshots, oldest first; empty when there is none or the newest is stale.
    pub history: &'a [&'a MetricsSnapshot],
    /// The node snapshots of the newest snapshot; empty when it is stale.
    pub nodes: &'a [NodeSnapshot],
    /// The evaluation time.
    pub now: OffsetDateTime,
    /// The collection interval.
    pub interval: Duration,
    /// Cycles in a row that stored no snapshot.
    pub failed_cycles: u32,
    /// When the newest snapshot was stored.
    pub last_success_at: Option<OffsetDateTime>,
}

/// One value of an operand: the cluster's, or one node's.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// The node, for a per-node operand.
    pub node: Option<&'a NodeSnapshot>,
    /// The value.
    pub value: f64,
}

/// The operand's values at `data.now`.
pub fn samples<'a>(operand: &Operand, data: &Data<'a>) -> Vec<Sample<'a>> {
    let cluster = |value: Option<f64>| {
        value
            .map(|value| Sample { node: None, value })
            .into_iter()
            .collect()
    };
    match operand {
        Operand::Cluster(field) => cluster(data.history.last().and_then(|s| field.get(s))),
        Operand::Collector(field) => cluster(collector(*field, data)),
        Operand::Node(scope, field) => data
            .nodes
            .iter()
            .filter(|node| scope.contains(node.node_type))
            .filter_map(|node| {
                field.get(node).map(|value| Sample {
                    node: Some(node),
                    value,
                })
            })
            .collect(),
        Operand::Aggregate(aggregation, scope, field) => {
            let values = data
                .nodes
                .iter()
                .filter(|node| scope.contains(node.node_type))
                .filter_map(|node| field.get(node));
            cluster(aggregate(*aggregation, values))
        }
        Operand::Window(window_fn, field, window) => {
            cluster(over_time(*window_fn, field, *window, data))
        }
        Operand::Ratio(numerator, denominator, window) => {
            let in_window = in_window(data, *window);
            let sum = |field: &ClusterField| -> Option<f64> {
                in_window
                    .iter()
                    .filter_map(|s| field.get(s))
                    .reduce(|a, b| a + b)
            };
            let ratio = match (sum(numerator), sum(denominator)) {
                (Some(n), Some(d)) if d > 0.0 => Some(n / d * 100.0),
                _ => None,
            };
            cluster(ratio)
        }
    }
}

fn collector(field: CollectorField, data: &Data<'_>) -> Option<f64> {
    let newest = data
        .last_success_at
        .or(data.history.last().map(|s| s.collected_at));
    let age = newest.map(|at| (data.now - at).as_seconds_f64().max(0.0));
    match field {
        CollectorField::FailedCycles => Some(f64::from(data.failed_cycles)),
        CollectorField::DataAgeSeconds => age,
        CollectorField::DataAgeIntervals => {
            let interval = data.interval.as_secs_f64();
            age.filter(|_| interval > 0.0).map(|age| age / interval)
        }
    }
}

fn aggregate(aggregation: Aggregation, values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut count, mut sum, mut min, mut max) = (0usize, 0.0, f64::INFINITY, f64::NEG_INFINITY);
    for value in values {
        count += 1;
        sum += value;
        min = min.min(value);
        max = max.max(value);
    }
    match aggregation {
        Aggregation::Count => Some(count as f64),
        _ if count == 0 => None,
        Aggregation::Sum => Some(sum),
        Aggregation::Avg => Some(sum / count as f64),
        Aggregation::Min => Some(min),
        Aggregation::Max => Some(max),
    }
}

/// `now − window`; windows are at most [`crate::expr::MAX_WINDOW`], so this cannot overflow for
/// any real date, and saturates if it does.
fn window_start(data: &Data<'_>, window: Duration) -> OffsetDateTime {
    data.now
        .checked_sub(time::Duration::try_from(window).unwrap_or(time::Duration::MAX))
        .unwrap_or(data.now)
}

/// The snapshots of the window `(now − window, now]`, as Prometheus' range selector.
fn in_window<'a>(data: &Data<'a>, window: Duration) -> &'a [&'a MetricsSnapshot] {
    let start = window_start(data, window);
    let first = data.history.partition_point(|s| s.collected_at <= start);
    let end = data.history.partition_point(|s| s.collected_at <= data.now);
    &data.history[first..end.max(first)]
}

fn over_time(
    window_fn: Window,
    field: &ClusterField,
    window: Duration,
    data: &Data<'_>,
) -> Option<f64> {
    let samples = in_window(data, window);
    let values = samples.iter().filter_map(|s| field.get(s));
    match window_fn {
        Window::Sum => values.reduce(|a, b| a + b),
        Window::Avg => aggregate(Aggregation::Avg, values),
        Window::Max => aggregate(Aggregation::Max, values),
        Window::Min => aggregate(Aggregation::Min, values),
        Window::Increase => increase(field, window, data).map(|(increase, _)| increase),
        Window::Rate => increase(field, window, data)
            .and_then(|(increase, seconds)| (seconds > 0.0).then(|| increase / seconds)),
        Window::ChangePct => {
            let newest = samples.last().and_then(|s| field.get(s))?;
            let start = window_start(data, window);
            let before = data.history.partition_point(|s| s.collected_at <= start);
            let base = data.history[..before]
                .iter()
                .rev()
                .find_map(|s| field.get(s))?;
            (base > 0.0).then(|| (newest - base) / base * 100.0)
        }
    }
}

/// A counter's increase over the window, and the seconds it spans: the growth between
/// consecutive samples from the last sample before the window (so that the window's first
/// interval counts, like the `*_interval` fields) to the newest. A drop is a restart (or a node
/// leaving the sum): the new value is counted as the growth since, as Prometheus does. No
/// extrapolation: `None` with fewer than two samples.
fn increase(field: &ClusterField, window: Duration, data: &Data<'_>) -> Option<(f64, f64)> {
    let start = window_start(data, window);
    let first_in = data.history.partition_point(|s| s.collected_at <= start);
    let end = data.history.partition_point(|s| s.collected_at <= data.now);
    let from = data.history[..first_in]
        .iter()
        .rposition(|s| field.get(s).is_some())
        .unwrap_or(first_in);
    let mut points = data.history[from..end.max(from)]
        .iter()
        .filter_map(|s| field.get(s).map(|v| (s.collected_at, v)));
    let (first_at, mut previous) = points.next()?;
    let mut last_at = first_at;
    let mut total = 0.0;
    for (at, value) in points {
        total += if value >= previous {
            value - previous
        } else {
            value
        };
        previous = value;
        last_at = at;
    }
    (last_at > first_at).then(|| (total, (last_at - first_at).as_seconds_f64()))
}
