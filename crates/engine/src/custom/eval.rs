//! The custom metrics of one cycle from what each node's tap kept: per node the raw value or,
//! with `rate`, the per-second increase since the node's previous scrape (reset-safe, as for
//! the built-in rates); then the aggregate over the nodes that have a value; then `ratio_of`.
//! A definition no node has a value of is `None`, never 0.

use std::collections::BTreeMap;

use crate::nodes::Node;
use crate::rates::{increase, max_opt, mean_opt, min_opt, per_second, sum_opt};

use super::{Aggregate, CustomMetricWarning, CustomSet, rate_warning};

/// The cycle's custom figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct CustomFigures {
    /// By name, every definition of the set.
    pub cluster: BTreeMap<String, Option<f64>>,
    /// By node index, the values of the `per_node` definitions the node has.
    pub per_node: Vec<BTreeMap<String, f64>>,
    /// "rate on a gauge", once per definition.
    pub warnings: Vec<CustomMetricWarning>,
}

/// Evaluates every definition over the cycle's nodes; `leader` is the index of the leader FE's
/// node, if one was scraped.
pub(crate) fn evaluate(
    set: &CustomSet,
    nodes: &[Node<'_>],
    leader: Option<usize>,
) -> CustomFigures {
    let mut figures = CustomFigures {
        per_node: vec![BTreeMap::new(); nodes.len()],
        ..CustomFigures::default()
    };
    if set.is_empty() {
        return figures;
    }
    // Per definition: each node's value (before any ratio), then the aggregate.
    let node_values: Vec<Vec<Option<f64>>> = (0..set.metrics.len())
        .map(|i| nodes.iter().map(|n| node_value(set, i, n)).collect())
        .collect();
    let aggregates: Vec<Option<f64>> = set
        .metrics
        .iter()
        .zip(&node_values)
        .map(|(m, values)| aggregate(m.aggregate, values, leader))
        .collect();
    for (i, metric) in set.metrics.iter().enumerate() {
        let denominator = set.denominators[i];
        let value = match denominator {
            Some(d) => ratio(aggregates[i], aggregates[d]),
            None => aggregates[i],
        };
        figures.cluster.insert(metric.name.clone(), value);
        if metric.per_node {
            for (n, slot) in figures.per_node.iter_mut().enumerate() {
                let v = match denominator {
                    Some(d) => ratio(node_values[i][n], node_values[d][n]),
                    None => node_values[i][n],
                };
                if let Some(v) = v {
                    slot.insert(metric.name.clone(), v);
                }
            }
        }
        let declared = nodes
            .iter()
            .filter_map(|n| n.custom.as_ref()?.types.get(i).copied().flatten())
            .next();
        figures.warnings.extend(rate_warning(metric, declared));
    }
    figures
}

/// Node `n`'s value of definition `i`: raw, or per second since its previous scrape.
fn node_value(set: &CustomSet, i: usize, n: &Node<'_>) -> Option<f64> {
    let raw = n.custom.as_ref()?.values.get(i).copied().flatten()?;
    let metric = &set.metrics[i];
    if !metric.rate {
        return Some(raw);
    }
    let prev = n.prev.and_then(|p| p.custom.get(set.state_key(i)).copied());
    per_second(increase(prev, Some(raw)), n.seconds)
}

fn aggregate(how: Aggregate, values: &[Option<f64>], leader: Option<usize>) -> Option<f64> {
    let present = || values.iter().copied();
    match how {
        Aggregate::Sum => sum_opt(present()),
        Aggregate::Avg => mean_opt(present()),
        Aggregate::Min => min_opt(present()),
        Aggregate::Max => max_opt(present()),
        Aggregate::Count => {
            let count = values.iter().flatten().count();
            (count > 0).then_some(count as f64)
        }
        Aggregate::Leader => values.get(leader?).copied().flatten(),
    }
}

/// `numerator / denominator`; `None` when either is missing or the denominator is 0.
fn ratio(numerator: Option<f64>, denominator: Option<f64>) -> Option<f64> {
    let (n, d) = (numerator?, denominator?);
    (d != 0.0).then(|| n / d)
}

#[cfg(test)]
mod tests;
