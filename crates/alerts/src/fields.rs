//! The figures a rule can read, by their serde names: every numeric field of
//! [`MetricsSnapshot`] (cluster fields), of [`NodeSnapshot`] (node fields; booleans are 0/1),
//! the operator's custom metrics ([`CustomNames`]: `MetricsSnapshot.custom`, and
//! `NodeSnapshot.custom` for `per_node` definitions), and what the collector knows of the
//! cluster ([`CollectorField`]). A built-in name is resolved once, at validation, to an index
//! into a static table; evaluation reads through a function pointer, so it neither serializes
//! nor looks a name up. A custom name is looked up in the snapshot's `custom` map (a definition
//! removed since gives no value, like a null field).
//!
//! Lookup of a name happens only in [`lookup`].

use std::collections::BTreeSet;
use std::sync::Arc;

pub use rockscope_model::fields::Kind;
use rockscope_model::fields::{CLUSTER_FIELDS as CLUSTER, FieldDef, NODE_FIELDS as NODE};
use rockscope_model::{CustomMetricSpec, MetricsSnapshot, NodeSnapshot};

/// Fields of the snapshots that exist but are not numbers, for a precise error.
const NOT_NUMERIC: [&str; 13] = [
    "cluster_id",
    "collected_at",
    "leader_name",
    "leader_host",
    "version",
    "source_errors",
    "node_type",
    "node_id",
    "host",
    "http_port",
    "role",
    "fullest_disk_path",
    "scrape_error",
];

/// The custom metrics a rule may read (issue 16), by name: every definition's as a cluster
/// field (`MetricsSnapshot.custom`), a `per_node` definition's also as a node field
/// (`NodeSnapshot.custom`). A custom field is a gauge for the grammar: a `rate = true`
/// definition is already a per-second rate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomNames {
    cluster: BTreeSet<String>,
    per_node: BTreeSet<String>,
}

impl CustomNames {
    /// The names of the definitions in force.
    pub fn of(specs: &[CustomMetricSpec]) -> CustomNames {
        CustomNames {
            cluster: specs.iter().map(|spec| spec.name.clone()).collect(),
            per_node: specs
                .iter()
                .filter(|spec| spec.per_node)
                .map(|spec| spec.name.clone())
                .collect(),
        }
    }

    fn names(&self, namespace: Namespace) -> Option<&BTreeSet<String>> {
        match namespace {
            Namespace::Cluster => Some(&self.cluster),
            Namespace::Node => Some(&self.per_node),
            Namespace::Collector => None,
        }
    }
}

/// Where a field's value is: a built-in field's index in its table, or a custom metric's name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Builtin(u16),
    Custom(Arc<str>),
}

/// A cluster field, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterField(Entry);

/// A node field, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeField(Entry);

/// What the collector knows of the cluster, present even when no snapshot is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectorField {
    /// Cycles in a row that stored no snapshot.
    FailedCycles,
    /// Seconds since the newest stored snapshot.
    DataAgeSeconds,
    /// [`CollectorField::DataAgeSeconds`] in collection intervals.
    DataAgeIntervals,
}

impl CollectorField {
    const ALL: [CollectorField; 3] = [
        CollectorField::FailedCycles,
        CollectorField::DataAgeSeconds,
        CollectorField::DataAgeIntervals,
    ];

    /// The name after `collector.`.
    pub fn name(self) -> &'static str {
        match self {
            CollectorField::FailedCycles => "failed_cycles",
            CollectorField::DataAgeSeconds => "data_age_seconds",
            CollectorField::DataAgeIntervals => "data_age_intervals",
        }
    }
}

impl Entry {
    fn builtin<T>(&self, table: &'static [FieldDef<T>]) -> Option<&'static FieldDef<T>> {
        match self {
            Entry::Builtin(index) => table.get(usize::from(*index)),
            Entry::Custom(_) => None,
        }
    }

    fn name<T>(&self, table: &'static [FieldDef<T>]) -> &str {
        match self {
            Entry::Builtin(_) => self.builtin(table).map_or("?", |def| def.name),
            Entry::Custom(name) => name,
        }
    }

    fn custom_name(&self) -> Option<&str> {
        match self {
            Entry::Builtin(_) => None,
            Entry::Custom(name) => Some(name),
        }
    }
}

impl ClusterField {
    /// The serde name, or the custom metric's name.
    pub fn name(&self) -> &str {
        self.0.name(CLUSTER)
    }

    /// The custom metric's name, for a custom field.
    pub fn custom_name(&self) -> Option<&str> {
        self.0.custom_name()
    }

    /// Gauge, counter or flag (a custom field is a gauge).
    pub fn kind(&self) -> Kind {
        self.0.builtin(CLUSTER).map_or(Kind::Gauge, |def| def.kind)
    }

    /// The value in a snapshot (`None` when missing or not finite, or a custom metric the
    /// snapshot has no value of).
    pub fn get(&self, snapshot: &MetricsSnapshot) -> Option<f64> {
        match &self.0 {
            Entry::Custom(name) => snapshot
                .custom
                .get(&**name)
                .copied()
                .flatten()
                .filter(|value| value.is_finite()),
            builtin => builtin.builtin(CLUSTER).and_then(|def| (def.get)(snapshot)),
        }
    }
}

impl NodeField {
    /// The serde name, or the custom metric's name.
    pub fn name(&self) -> &str {
        self.0.name(NODE)
    }

    /// The custom metric's name, for a custom field.
    pub fn custom_name(&self) -> Option<&str> {
        self.0.custom_name()
    }

    /// The value in a node snapshot (`None` when missing or not finite).
    pub fn get(&self, node: &NodeSnapshot) -> Option<f64> {
        match &self.0 {
            Entry::Custom(name) => node
                .custom
                .get(&**name)
                .copied()
                .filter(|value| value.is_finite()),
            builtin => builtin.builtin(NODE).and_then(|def| (def.get)(node)),
        }
    }

    /// A label that tells which part of the node the value is about: `path` for the fullest
    /// disk path's usage.
    pub fn extra_label(&self) -> Option<&'static str> {
        let builtin = self.0.builtin(NODE).map(|def| def.name);
        (builtin == Some("fullest_disk_path_usage_pct")).then_some("path")
    }

    /// The value of [`NodeField::extra_label`] on a node.
    pub fn extra_label_value<'a>(&self, node: &'a NodeSnapshot) -> Option<&'a str> {
        self.extra_label().and(node.fullest_disk_path.as_deref())
    }
}

/// Which table a name is looked up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// `MetricsSnapshot`.
    Cluster,
    /// `NodeSnapshot`.
    Node,
    /// `collector.`
    Collector,
}

/// A name resolved in its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A cluster field.
    Cluster(ClusterField),
    /// A node field.
    Node(NodeField),
    /// A collector figure.
    Collector(CollectorField),
}

/// Resolves a field name in a namespace, a built-in field first, then a custom metric of
/// `custom`; the error is the problem in words, with a suggestion.
pub fn lookup(namespace: Namespace, name: &str, custom: &CustomNames) -> Result<Field, String> {
    let entry = |builtin: Option<u16>| {
        builtin.map(Entry::Builtin).or_else(|| {
            let names = custom.names(namespace)?;
            names.contains(name).then(|| Entry::Custom(Arc::from(name)))
        })
    };
    let found = match namespace {
        Namespace::Cluster => entry(position(CLUSTER.iter().map(|f| f.name), name))
            .map(|e| Field::Cluster(ClusterField(e))),
        Namespace::Node => {
            entry(position(NODE.iter().map(|f| f.name), name)).map(|e| Field::Node(NodeField(e)))
        }
        Namespace::Collector => CollectorField::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .map(Field::Collector),
    };
    found.ok_or_else(|| unknown(namespace, name, custom))
}

fn position<'a>(mut names: impl Iterator<Item = &'a str>, name: &str) -> Option<u16> {
    names
        .position(|n| n == name)
        .and_then(|i| u16::try_from(i).ok())
}

fn names(namespace: Namespace) -> Vec<&'static str> {
    match namespace {
        Namespace::Cluster => CLUSTER.iter().map(|f| f.name).collect(),
        Namespace::Node => NODE.iter().map(|f| f.name).collect(),
        Namespace::Collector => CollectorField::ALL.iter().map(|f| f.name()).collect(),
    }
}

/// The error for a name not in its table: not numeric, in the other table, or a typo.
fn unknown(namespace: Namespace, name: &str, custom: &CustomNames) -> String {
    let what = match namespace {
        Namespace::Cluster => "cluster field",
        Namespace::Node => "node field",
        Namespace::Collector => "collector figure",
    };
    if NOT_NUMERIC.contains(&name) {
        return format!("field `{name}` is not numeric; a rule compares numbers");
    }
    if namespace == Namespace::Cluster && names(Namespace::Node).contains(&name) {
        return format!(
            "`{name}` is a node field: write `node.{name}` (or `fe.`, `be.`, `cn.`, `backend.`) for one alert per node, or e.g. `max(backend.{name})`"
        );
    }
    if namespace == Namespace::Node && custom.cluster.contains(name) {
        return format!(
            "custom metric `{name}` has no node values (its definition has `per_node = false`): write `{name}` for the cluster's value, or define it with `per_node = true`"
        );
    }
    if namespace == Namespace::Node && names(Namespace::Cluster).contains(&name) {
        return format!("`{name}` is a cluster field, not a node field: write it without a prefix");
    }
    let mut message = format!("unknown {what} `{name}`");
    let custom_names = custom.names(namespace).into_iter().flatten();
    if let Some(best) = names(namespace)
        .into_iter()
        .chain(custom_names.map(String::as_str))
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min()
    {
        message.push_str(&format!(" (did you mean `{}`?)", best.1));
    }
    message
}

/// Levenshtein distance, for suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Every cluster field name (for documentation and tests).
pub fn cluster_names() -> Vec<&'static str> {
    names(Namespace::Cluster)
}

/// Every node field name (for tests).
#[cfg(test)]
pub fn node_names() -> Vec<&'static str> {
    names(Namespace::Node)
}
