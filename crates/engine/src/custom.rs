//! Custom metrics (issue 16): an operator's definitions ([`CustomMetricSpec`], as written)
//! validated and compiled once into [`CustomMetric`]s that the engine's one pass over each body
//! can match through the parser's family index.
//!
//! Every refusal is a [`CustomMetricError`] naming the definition. `rate` on a series whose
//! type only a body can tell is not refused: [`rate_warning`] reports "rate on a gauge" once the
//! family's `# TYPE` is known (StarRocks mistypes some counters as gauges).

mod eval;
pub mod families;
pub mod matchers;
pub(crate) mod tap;

use std::collections::{HashMap, HashSet};

use rockscope_model::fields::CLUSTER_FIELDS;
use rockscope_model::{CustomMetricSpec, NodeKind};
use rockscope_promtext::MetricType;
use thiserror::Error;

pub(crate) use eval::evaluate;
pub use matchers::{MatchOp, Matcher, MatcherError};
pub(crate) use tap::NodeTap;

/// How a custom metric combines the nodes' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The sum over nodes.
    Sum,
    /// The mean over the nodes that have the series.
    Avg,
    /// The smallest node value.
    Min,
    /// The largest node value.
    Max,
    /// How many nodes have the series.
    Count,
    /// The leader FE's value only.
    Leader,
}

impl Aggregate {
    /// Reads the `aggregate` key as written.
    pub fn parse(text: &str) -> Option<Aggregate> {
        Some(match text {
            "sum" => Aggregate::Sum,
            "avg" => Aggregate::Avg,
            "min" => Aggregate::Min,
            "max" => Aggregate::Max,
            "count" => Aggregate::Count,
            "leader" => Aggregate::Leader,
            _ => return None,
        })
    }
}

/// Which node types' bodies a custom metric reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeTypes {
    /// Frontends.
    pub fe: bool,
    /// Backends.
    pub be: bool,
    /// Compute nodes.
    pub cn: bool,
}

/// A validated definition, its matchers parsed and regexes compiled.
#[derive(Debug, Clone)]
pub struct CustomMetric {
    /// The output name.
    pub name: String,
    /// The StarRocks family to read.
    pub metric: String,
    /// Every matcher a series must satisfy (none: every series of the family).
    pub matchers: Vec<Matcher>,
    /// The node types read.
    pub node_types: NodeTypes,
    /// How nodes combine.
    pub aggregate: Aggregate,
    /// Whether the value is a per-second rate of a counter.
    pub rate: bool,
    /// The denominator: another custom metric's name.
    pub ratio_of: Option<String>,
    /// The unit as written.
    pub unit: Option<String>,
    /// The description as written.
    pub description: Option<String>,
    /// Whether node values are kept (node snapshots, store).
    pub per_node: bool,
}

impl NodeTypes {
    /// Whether nodes of `kind` are read.
    pub fn has(self, kind: NodeKind) -> bool {
        match kind {
            NodeKind::Fe => self.fe,
            NodeKind::Be => self.be,
            NodeKind::Cn => self.cn,
        }
    }
}

/// The definitions in force, compiled once and indexed by series name for the engine's pass:
/// a sample costs one comparison with the previous sample's name, and a hash lookup only where
/// the name changes.
#[derive(Debug, Clone, Default)]
pub struct CustomSet {
    metrics: Vec<CustomMetric>,
    /// Series name → indices into `metrics`.
    by_series: HashMap<String, Vec<usize>>,
    /// Per metric, the index of its `ratio_of`.
    denominators: Vec<Option<usize>>,
    /// Per metric, [`CustomMetric::state_key`], computed once.
    state_keys: Vec<String>,
    /// The definitions as written, in the same order.
    specs: Vec<CustomMetricSpec>,
}

impl CustomSet {
    /// Validates and compiles a whole list ([`compile_all`]).
    pub fn new(specs: &[CustomMetricSpec]) -> Result<CustomSet, CustomMetricError> {
        let metrics = compile_all(specs)?;
        let mut by_series: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, m) in metrics.iter().enumerate() {
            by_series.entry(m.metric.clone()).or_default().push(i);
        }
        let denominators = metrics
            .iter()
            .map(|m| {
                let of = m.ratio_of.as_deref()?;
                metrics.iter().position(|d| d.name == of)
            })
            .collect();
        let state_keys = metrics.iter().map(CustomMetric::state_key).collect();
        Ok(CustomSet {
            metrics,
            by_series,
            denominators,
            state_keys,
            specs: specs.to_vec(),
        })
    }

    /// No definition.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty()
    }

    /// The definitions as written, in the order given.
    pub fn specs(&self) -> &[CustomMetricSpec] {
        &self.specs
    }

    /// The definitions, in the order given.
    pub fn metrics(&self) -> &[CustomMetric] {
        &self.metrics
    }

    /// The definition named `name`.
    pub fn get(&self, name: &str) -> Option<&CustomMetric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// What metric `i`'s raw node values are kept under between cycles.
    pub(crate) fn state_key(&self, i: usize) -> &str {
        &self.state_keys[i]
    }

    /// The indices of the definitions reading series `name`.
    fn reading(&self, name: &str) -> &[usize] {
        self.by_series.get(name).map_or(&[], Vec::as_slice)
    }
}

impl CustomMetric {
    /// Whether a series with these labels is one this metric reads.
    pub fn selects<'a>(&self, label: impl Fn(&str) -> Option<std::borrow::Cow<'a, str>>) -> bool {
        matchers::matches_all(&self.matchers, label)
    }

    /// What a node's raw value is kept under between cycles for a `rate`: the series read
    /// (family and matchers), not the name, so that a definition whose `metric` or `match`
    /// changed starts its rate afresh instead of subtracting one series from another, while a
    /// renamed one keeps its rate.
    fn state_key(&self) -> String {
        let mut key = self.metric.clone();
        for m in &self.matchers {
            let (op, operand) = match &m.op {
                MatchOp::Equal(s) => ("=", s.as_str()),
                MatchOp::NotEqual(s) => ("!=", s.as_str()),
                MatchOp::Regex(re) => ("=~", re.as_str()),
                MatchOp::NotRegex(re) => ("!~", re.as_str()),
            };
            key.push_str(&format!("{{{}{op}{operand:?}}}", m.label));
        }
        key
    }
}

/// Why a definition was refused; each names the definition (`name` as written).
#[derive(Debug, Error)]
pub enum CustomMetricError {
    /// The name is not `[a-z][a-z0-9_]*`.
    #[error("custom metric {name:?}: the name must match [a-z][a-z0-9_]*")]
    InvalidName {
        /// The name as written.
        name: String,
    },
    /// The name is a built-in field's.
    #[error("custom metric {name:?}: the name clashes with the built-in field {name}")]
    BuiltinName {
        /// The name as written.
        name: String,
    },
    /// Two definitions share a name.
    #[error("custom metric {name:?}: the name is defined more than once")]
    DuplicateName {
        /// The name as written.
        name: String,
    },
    /// `metric` is not a Prometheus metric name.
    #[error(
        "custom metric {name:?}: metric {metric:?} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"
    )]
    InvalidMetric {
        /// The definition's name.
        name: String,
        /// The metric as written.
        metric: String,
    },
    /// `match` is not a selector, or one of its regexes does not compile.
    #[error("custom metric {name:?}: match {text:?}: {source}")]
    Match {
        /// The definition's name.
        name: String,
        /// The `match` string as written.
        text: String,
        /// What is wrong with it.
        source: MatcherError,
    },
    /// `node_types` is empty.
    #[error("custom metric {name:?}: node_types is empty (use fe, be and/or cn)")]
    NoNodeTypes {
        /// The definition's name.
        name: String,
    },
    /// `node_types` holds something other than fe, be, cn.
    #[error("custom metric {name:?}: unknown node type {node_type:?} (use fe, be or cn)")]
    UnknownNodeType {
        /// The definition's name.
        name: String,
        /// The node type as written.
        node_type: String,
    },
    /// `aggregate` is not one of the six.
    #[error(
        "custom metric {name:?}: unknown aggregate {aggregate:?} (use sum, avg, min, max, count or leader)"
    )]
    UnknownAggregate {
        /// The definition's name.
        name: String,
        /// The aggregate as written.
        aggregate: String,
    },
    /// `aggregate = "leader"` with node types other than fe.
    #[error(
        "custom metric {name:?}: aggregate \"leader\" reads the leader FE only: node_types must be [\"fe\"]"
    )]
    LeaderNotFe {
        /// The definition's name.
        name: String,
    },
    /// `ratio_of` names the definition itself.
    #[error("custom metric {name:?}: ratio_of names the metric itself")]
    RatioOfItself {
        /// The definition's name.
        name: String,
    },
    /// `ratio_of` names no other definition.
    #[error("custom metric {name:?}: ratio_of {ratio_of:?} is not a custom metric")]
    RatioOfUnknown {
        /// The definition's name.
        name: String,
        /// The denominator as written.
        ratio_of: String,
    },
}

/// A definition that is accepted but probably not what the operator meant.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CustomMetricWarning {
    /// `rate = true` on a family the body declares a gauge.
    #[error(
        "custom metric {name:?}: rate on a gauge ({metric} is TYPE gauge; computed as a counter anyway)"
    )]
    RateOnGauge {
        /// The definition's name.
        name: String,
        /// The family.
        metric: String,
    },
}

/// Validates a whole list (names unique, `ratio_of` resolvable) and compiles each definition;
/// the first error in list order is returned.
pub fn compile_all(specs: &[CustomMetricSpec]) -> Result<Vec<CustomMetric>, CustomMetricError> {
    let mut seen = HashSet::new();
    for spec in specs {
        if !seen.insert(spec.name.as_str()) {
            return Err(CustomMetricError::DuplicateName {
                name: spec.name.clone(),
            });
        }
    }
    let compiled = specs.iter().map(compile).collect::<Result<Vec<_>, _>>()?;
    for metric in &compiled {
        if let Some(ratio_of) = &metric.ratio_of
            && !seen.contains(ratio_of.as_str())
        {
            return Err(CustomMetricError::RatioOfUnknown {
                name: metric.name.clone(),
                ratio_of: ratio_of.clone(),
            });
        }
    }
    Ok(compiled)
}

/// Validates and compiles one definition on its own (what needs the whole list, uniqueness and
/// an existing `ratio_of`, is [`compile_all`]'s).
pub fn compile(spec: &CustomMetricSpec) -> Result<CustomMetric, CustomMetricError> {
    let name = || spec.name.clone();
    if !is_output_name(&spec.name) {
        return Err(CustomMetricError::InvalidName { name: name() });
    }
    if CLUSTER_FIELDS.iter().any(|f| f.name == spec.name) {
        return Err(CustomMetricError::BuiltinName { name: name() });
    }
    if !is_metric_name(&spec.metric) {
        return Err(CustomMetricError::InvalidMetric {
            name: name(),
            metric: spec.metric.clone(),
        });
    }
    let matchers = matchers::parse(&spec.matchers).map_err(|source| CustomMetricError::Match {
        name: name(),
        text: spec.matchers.clone(),
        source,
    })?;
    let node_types = node_types(spec)?;
    let aggregate =
        Aggregate::parse(&spec.aggregate).ok_or_else(|| CustomMetricError::UnknownAggregate {
            name: name(),
            aggregate: spec.aggregate.clone(),
        })?;
    let fe_only = NodeTypes {
        fe: true,
        ..NodeTypes::default()
    };
    if aggregate == Aggregate::Leader && node_types != fe_only {
        return Err(CustomMetricError::LeaderNotFe { name: name() });
    }
    if spec.ratio_of.as_deref() == Some(spec.name.as_str()) {
        return Err(CustomMetricError::RatioOfItself { name: name() });
    }
    Ok(CustomMetric {
        name: name(),
        metric: spec.metric.clone(),
        matchers,
        node_types,
        aggregate,
        rate: spec.rate,
        ratio_of: spec.ratio_of.clone(),
        unit: spec.unit.clone(),
        description: spec.description.clone(),
        per_node: spec.per_node,
    })
}

/// The documented warning when `rate` meets a family a body types as a gauge; `None` for a
/// counter, an untyped family or a definition without `rate`.
pub fn rate_warning(
    metric: &CustomMetric,
    family_type: Option<MetricType>,
) -> Option<CustomMetricWarning> {
    (metric.rate && family_type == Some(MetricType::Gauge)).then(|| {
        CustomMetricWarning::RateOnGauge {
            name: metric.name.clone(),
            metric: metric.metric.clone(),
        }
    })
}

fn node_types(spec: &CustomMetricSpec) -> Result<NodeTypes, CustomMetricError> {
    if spec.node_types.is_empty() {
        return Err(CustomMetricError::NoNodeTypes {
            name: spec.name.clone(),
        });
    }
    let mut types = NodeTypes::default();
    for t in &spec.node_types {
        match t.as_str() {
            "fe" => types.fe = true,
            "be" => types.be = true,
            "cn" => types.cn = true,
            _ => {
                return Err(CustomMetricError::UnknownNodeType {
                    name: spec.name.clone(),
                    node_type: t.clone(),
                });
            }
        }
    }
    Ok(types)
}

/// `[a-z][a-z0-9_]*`.
fn is_output_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Prometheus' metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn is_metric_name(name: &str) -> bool {
    let first = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':';
    let mut bytes = name.bytes();
    bytes.next().is_some_and(first) && bytes.all(|b| first(b) || b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
