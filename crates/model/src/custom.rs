//! A custom metric definition as the operator writes it (`[[collector.custom_metrics]]` in the
//! configuration, the same keys as JSON through the API). Plain strings where the operator can
//! write something wrong (node types, aggregate, matchers): `rockscope-engine`'s `custom` module
//! validates and compiles a definition and names the definition in every error.

use serde::{Deserialize, Serialize};

/// One custom metric as written (issue 16's contract; the keys are kept to the letter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomMetricSpec {
    /// The output name, `[a-z][a-z0-9_]*`, unique and not a built-in field.
    pub name: String,
    /// The StarRocks series (family) name, e.g. `starrocks_be_storage_page_cache_hit_count`.
    pub metric: String,
    /// Prometheus label matchers, e.g. `{path=~"/data[0-9]+"}`; `{}` (the default) matches
    /// every series of the family.
    #[serde(rename = "match", default = "match_all")]
    pub matchers: String,
    /// The node types whose bodies are read: `fe`, `be`, `cn`.
    pub node_types: Vec<String>,
    /// How nodes combine: `sum`, `avg`, `min`, `max`, `count` or `leader` (FE only).
    pub aggregate: String,
    /// Whether the series is a counter to turn into a per-second rate.
    #[serde(default)]
    pub rate: bool,
    /// Another custom metric's name: the value is this one divided by that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_of: Option<String>,
    /// The unit shown with the value, e.g. `ratio`, `bytes`, `per_second`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// What the metric means, for the page and `/metrics`' HELP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether each node's value is kept too (in the node snapshots and the store), not only
    /// the aggregate: off by default, since it multiplies the rows by the nodes.
    #[serde(default)]
    pub per_node: bool,
}

fn match_all() -> String {
    "{}".to_owned()
}

/// One metric family as a body declares it, for discovery (`GET
/// /api/clusters/{id}/metric-families`, `rockscope parse-metrics --families`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyInfo {
    /// The family name (`x` for a summary's `x`, `x_sum` and `x_count`).
    pub name: String,
    /// `# TYPE` as written (`counter`, `gauge`, `summary`, `histogram`, `untyped`), if any.
    #[serde(rename = "type")]
    pub metric_type: Option<String>,
    /// `# HELP`, if any.
    pub help: Option<String>,
    /// The label names its samples carry, sorted (`le` and `quantile` included: a matcher can
    /// use them).
    pub label_names: Vec<String>,
}

/// The families of the newest body of one node type, and whose body it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFamilies {
    /// `fe`, `be` or `cn`.
    pub node_type: crate::NodeKind,
    /// The node read (`host:http_port`).
    pub node: String,
    /// When its body was fetched.
    #[serde(with = "time::serde::rfc3339")]
    pub fetched_at: time::OffsetDateTime,
    /// Its families, in the order of the body.
    pub families: Vec<FamilyInfo>,
}
