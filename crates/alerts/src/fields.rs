//! The figures a rule can read, by their serde names: every numeric field of
//! [`MetricsSnapshot`] (cluster fields), of [`NodeSnapshot`] (node fields; booleans are 0/1),
//! and what the collector knows of the cluster ([`CollectorField`]). Names are resolved once,
//! at validation, to an index into a static table; evaluation reads through a function pointer,
//! so it neither serializes nor looks a name up.
//!
//! Lookup of a name happens only in [`lookup`], the one place a new kind of name (issue 16's
//! custom fields) will be added.

pub use rockscope_model::fields::Kind;
use rockscope_model::fields::{CLUSTER_FIELDS as CLUSTER, FieldDef, NODE_FIELDS as NODE};
use rockscope_model::{MetricsSnapshot, NodeSnapshot};

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

/// A cluster field, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterField(u16);

/// A node field, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeField(u16);

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

impl ClusterField {
    fn def(self) -> &'static FieldDef<MetricsSnapshot> {
        &CLUSTER[usize::from(self.0)]
    }

    /// The serde name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Gauge, counter or flag.
    pub fn kind(self) -> Kind {
        self.def().kind
    }

    /// The value in a snapshot (`None` when missing or not finite).
    pub fn get(self, snapshot: &MetricsSnapshot) -> Option<f64> {
        (self.def().get)(snapshot)
    }
}

impl NodeField {
    fn def(self) -> &'static FieldDef<NodeSnapshot> {
        &NODE[usize::from(self.0)]
    }

    /// The serde name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The value in a node snapshot (`None` when missing or not finite).
    pub fn get(self, node: &NodeSnapshot) -> Option<f64> {
        (self.def().get)(node)
    }

    /// A label that tells which part of the node the value is about: `path` for the fullest
    /// disk path's usage.
    pub fn extra_label(self) -> Option<&'static str> {
        (self.name() == "fullest_disk_path_usage_pct").then_some("path")
    }

    /// The value of [`NodeField::extra_label`] on a node.
    pub fn extra_label_value(self, node: &NodeSnapshot) -> Option<&str> {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A cluster field.
    Cluster(ClusterField),
    /// A node field.
    Node(NodeField),
    /// A collector figure.
    Collector(CollectorField),
}

/// Resolves a field name in a namespace; the error is the problem in words, with a suggestion.
pub fn lookup(namespace: Namespace, name: &str) -> Result<Field, String> {
    let found = match namespace {
        Namespace::Cluster => {
            position(CLUSTER.iter().map(|f| f.name), name).map(|i| Field::Cluster(ClusterField(i)))
        }
        Namespace::Node => {
            position(NODE.iter().map(|f| f.name), name).map(|i| Field::Node(NodeField(i)))
        }
        Namespace::Collector => CollectorField::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .map(Field::Collector),
    };
    found.ok_or_else(|| unknown(namespace, name))
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
fn unknown(namespace: Namespace, name: &str) -> String {
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
    if namespace == Namespace::Node && names(Namespace::Cluster).contains(&name) {
        return format!("`{name}` is a cluster field, not a node field: write it without a prefix");
    }
    let mut message = format!("unknown {what} `{name}`");
    if let Some(best) = names(namespace)
        .into_iter()
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
