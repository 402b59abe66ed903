//! The rule expression: `<operand> <cmp> <number>` (grammar in `docs/ALERTS.md`), parsed once at
//! validation into a [`Condition`] whose fields are resolved ([`crate::fields`]).

use std::fmt;
use std::time::Duration;

use crate::duration;
use crate::fields::{
    self, ClusterField, CollectorField, CustomNames, Field, Kind, Namespace, NodeField,
};

/// Which nodes a per-node operand reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every node: `node.`
    Node,
    /// Frontends: `fe.`
    Fe,
    /// Backends: `be.`
    Be,
    /// Compute nodes: `cn.`
    Cn,
    /// Backends and compute nodes: `backend.`
    Backend,
}

impl Scope {
    const ALL: [Scope; 5] = [Scope::Node, Scope::Fe, Scope::Be, Scope::Cn, Scope::Backend];

    /// The prefix as written.
    pub fn prefix(self) -> &'static str {
        match self {
            Scope::Node => "node",
            Scope::Fe => "fe",
            Scope::Be => "be",
            Scope::Cn => "cn",
            Scope::Backend => "backend",
        }
    }

    /// Whether a node of this type is in scope.
    pub fn contains(self, kind: rockscope_model::NodeKind) -> bool {
        use rockscope_model::NodeKind;
        match self {
            Scope::Node => true,
            Scope::Fe => kind == NodeKind::Fe,
            Scope::Be => kind == NodeKind::Be,
            Scope::Cn => kind == NodeKind::Cn,
            Scope::Backend => kind != NodeKind::Fe,
        }
    }
}

/// An aggregation over the nodes in scope, giving one cluster value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `count` (nodes with a value)
    Count,
}

/// A function over a cluster field's samples in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// `sum_over_time`
    Sum,
    /// `avg_over_time`
    Avg,
    /// `max_over_time`
    Max,
    /// `min_over_time`
    Min,
    /// `increase` (counters only, reset-safe)
    Increase,
    /// `rate` (counters only, reset-safe), per second
    Rate,
    /// `change_pct`: (newest − value one window ago) / value one window ago × 100
    ChangePct,
}

const AGGREGATIONS: [(&str, Aggregation); 5] = [
    ("sum", Aggregation::Sum),
    ("avg", Aggregation::Avg),
    ("min", Aggregation::Min),
    ("max", Aggregation::Max),
    ("count", Aggregation::Count),
];

const WINDOWS: [(&str, Window); 7] = [
    ("sum_over_time", Window::Sum),
    ("avg_over_time", Window::Avg),
    ("max_over_time", Window::Max),
    ("min_over_time", Window::Min),
    ("increase", Window::Increase),
    ("rate", Window::Rate),
    ("change_pct", Window::ChangePct),
];

/// What a condition compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// The newest snapshot's field: one cluster alert.
    Cluster(ClusterField),
    /// What the collector knows: one cluster alert, also without any snapshot.
    Collector(CollectorField),
    /// Each node's field: one alert per node.
    Node(Scope, NodeField),
    /// An aggregation over nodes: one cluster alert.
    Aggregate(Aggregation, Scope, NodeField),
    /// A function over the cluster's history: one cluster alert.
    Window(Window, ClusterField, Duration),
    /// `ratio_over_time(a, b[w])`: Σa / Σb × 100 over the window (no value when Σb is 0).
    Ratio(ClusterField, ClusterField, Duration),
}

impl Operand {
    /// Whether it gives one alert per node.
    pub fn per_node(&self) -> Option<&NodeField> {
        match self {
            Operand::Node(_, field) => Some(field),
            _ => None,
        }
    }

    /// The custom metrics it reads, by name (none, one, or a ratio's two).
    pub fn custom_names(&self) -> impl Iterator<Item = &str> {
        let (first, second) = match self {
            Operand::Cluster(field) | Operand::Window(_, field, _) => (field.custom_name(), None),
            Operand::Node(_, field) | Operand::Aggregate(_, _, field) => {
                (field.custom_name(), None)
            }
            Operand::Ratio(numerator, denominator, _) => {
                (numerator.custom_name(), denominator.custom_name())
            }
            Operand::Collector(_) => (None, None),
        };
        first.into_iter().chain(second)
    }

    /// The window it reads back over (zero for none).
    pub fn window(&self) -> Duration {
        match self {
            Operand::Window(_, _, window) | Operand::Ratio(_, _, window) => *window,
            _ => Duration::ZERO,
        }
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Cmp {
    const ALL: [(&'static str, Cmp); 6] = [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        ("==", Cmp::Eq),
        ("!=", Cmp::Ne),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
    ];

    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        Cmp::ALL
            .iter()
            .find(|(_, cmp)| *cmp == self)
            .map_or("?", |(symbol, _)| symbol)
    }

    /// Whether `value <op> threshold` holds.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Cmp::Gt => value > threshold,
            Cmp::Ge => value >= threshold,
            Cmp::Lt => value < threshold,
            Cmp::Le => value <= threshold,
            Cmp::Eq => value == threshold,
            Cmp::Ne => value != threshold,
        }
    }
}

/// The longest window a rule may read: the caller keeps this much history per cluster in
/// every evaluation (and the store keeps this much of every snapshot, so that a restart reads
/// it back whole).
pub const MAX_WINDOW: Duration = Duration::from_secs(86_400);

/// A parsed rule expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What is compared.
    pub operand: Operand,
    /// How.
    pub cmp: Cmp,
    /// With what (finite).
    pub threshold: f64,
}

/// Parses an expression whose field names may be `custom`'s; the error is the problem in
/// words.
pub fn parse(text: &str, custom: &CustomNames) -> Result<Condition, String> {
    let at = text.find(['<', '>', '=', '!']).ok_or_else(|| {
        "no comparison: write `<operand> <op> <number>` with op one of > >= < <= == !=".to_owned()
    })?;
    let (cmp, symbol) = Cmp::ALL
        .iter()
        .find(|(symbol, _)| text[at..].starts_with(symbol))
        .map(|(symbol, cmp)| (*cmp, *symbol))
        .ok_or_else(|| {
            format!(
                "`{}` is not a comparison (use > >= < <= == !=)",
                &text[at..at + 1]
            )
        })?;
    let operand = parse_operand(text[..at].trim(), custom)?;
    let threshold = parse_number(text[at + symbol.len()..].trim())?;
    Ok(Condition {
        operand,
        cmp,
        threshold,
    })
}

/// A finite number as written in an expression or an override.
pub fn parse_number(text: &str) -> Result<f64, String> {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
    match text.parse::<f64>() {
        Ok(number) if plain && number.is_finite() => Ok(number),
        _ => Err(format!("threshold `{text}` is not a finite number")),
    }
}

fn parse_operand(text: &str, custom: &CustomNames) -> Result<Operand, String> {
    if text.is_empty() {
        return Err("nothing before the comparison".to_owned());
    }
    let Some(open) = text.find('(') else {
        return parse_field(text, custom);
    };
    let inner = text[open + 1..]
        .strip_suffix(')')
        .ok_or_else(|| format!("`{text}`: a function call must end with `)`"))?
        .trim();
    let function = text[..open].trim();
    if let Some((_, aggregation)) = AGGREGATIONS.iter().find(|(name, _)| *name == function) {
        return match parse_field(inner, custom)? {
            Operand::Node(scope, field) => Ok(Operand::Aggregate(*aggregation, scope, field)),
            _ => Err(format!(
                "`{function}` aggregates over nodes: write e.g. `{function}(be.cpu_usage_pct)`"
            )),
        };
    }
    if function == "ratio_over_time" {
        let (numerator, rest) = inner.split_once(',').ok_or_else(|| {
            "`ratio_over_time` takes two fields: `ratio_over_time(a, b[5m])`".to_owned()
        })?;
        let (denominator, window) = parse_ranged(rest.trim(), custom)?;
        return Ok(Operand::Ratio(
            cluster_field(numerator.trim(), custom)?,
            denominator,
            window,
        ));
    }
    let (_, window_fn) = WINDOWS.iter().find(|(name, _)| *name == function).ok_or_else(|| {
        format!(
            "unknown function `{function}` (known: sum, avg, min, max, count over nodes; rate, increase, sum_over_time, avg_over_time, max_over_time, min_over_time, change_pct, ratio_over_time over the cluster's history)"
        )
    })?;
    let (field, window) = parse_ranged(inner, custom)?;
    if matches!(window_fn, Window::Rate | Window::Increase) && field.kind() != Kind::Counter {
        return Err(format!(
            "`{function}` needs a cumulative counter, and `{}` is not one (counters: {}); compare the field itself or use avg_over_time/sum_over_time",
            field.name(),
            counters().join(", ")
        ));
    }
    Ok(Operand::Window(*window_fn, field, window))
}

/// `field[window]`, a cluster field and a positive window.
fn parse_ranged(text: &str, custom: &CustomNames) -> Result<(ClusterField, Duration), String> {
    let (name, rest) = text
        .split_once('[')
        .ok_or_else(|| format!("`{text}`: a window is needed, e.g. `{text}[5m]`"))?;
    let window_text = rest
        .strip_suffix(']')
        .ok_or_else(|| format!("`{text}`: the window must end with `]`"))?;
    let window = duration::parse(window_text.trim())?;
    if window.is_zero() {
        return Err(format!("window `{window_text}` must be longer than 0"));
    }
    if window > MAX_WINDOW {
        return Err(format!(
            "window `{window_text}` is longer than the longest allowed, 1d"
        ));
    }
    Ok((cluster_field(name.trim(), custom)?, window))
}

fn cluster_field(name: &str, custom: &CustomNames) -> Result<ClusterField, String> {
    match parse_field(name, custom)? {
        Operand::Cluster(field) => Ok(field),
        _ => Err(format!(
            "`{name}`: functions over time read cluster fields (no `node.`/`collector.` prefix)"
        )),
    }
}

/// A bare field: `qps`, `node.x`/`fe.x`/`be.x`/`cn.x`/`backend.x`, `collector.x`.
fn parse_field(text: &str, custom: &CustomNames) -> Result<Operand, String> {
    let valid = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    let (prefix, name) = match text.split_once('.') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    if !valid(name) || prefix.is_some_and(|p| !valid(p)) {
        return Err(format!(
            "`{text}` is not a field name (lower-case letters, digits and `_`)"
        ));
    }
    let Some(prefix) = prefix else {
        return match fields::lookup(Namespace::Cluster, name, custom)? {
            Field::Cluster(field) => Ok(Operand::Cluster(field)),
            _ => unreachable_field(name),
        };
    };
    if prefix == "collector" {
        return match fields::lookup(Namespace::Collector, name, custom)? {
            Field::Collector(field) => Ok(Operand::Collector(field)),
            _ => unreachable_field(name),
        };
    }
    let scope = Scope::ALL
        .into_iter()
        .find(|scope| scope.prefix() == prefix)
        .ok_or_else(|| {
            format!("unknown prefix `{prefix}.` (node., fe., be., cn., backend., collector.)")
        })?;
    match fields::lookup(Namespace::Node, name, custom)? {
        Field::Node(field) => Ok(Operand::Node(scope, field)),
        _ => unreachable_field(name),
    }
}

fn unreachable_field<T>(name: &str) -> Result<T, String> {
    Err(format!("`{name}` resolved to the wrong kind of field"))
}

/// The cluster fields that are cumulative counters.
fn counters() -> Vec<&'static str> {
    fields::cluster_names()
        .into_iter()
        .filter(
            |name| match fields::lookup(Namespace::Cluster, name, &CustomNames::default()) {
                Ok(Field::Cluster(field)) => field.kind() == Kind::Counter,
                _ => false,
            },
        )
        .collect()
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |aggregation: Aggregation| {
            AGGREGATIONS
                .iter()
                .find(|(_, a)| *a == aggregation)
                .map_or("?", |(n, _)| n)
        };
        match self {
            Operand::Cluster(field) => write!(f, "{}", field.name()),
            Operand::Collector(field) => write!(f, "collector.{}", field.name()),
            Operand::Node(scope, field) => write!(f, "{}.{}", scope.prefix(), field.name()),
            Operand::Aggregate(aggregation, scope, field) => {
                write!(
                    f,
                    "{}({}.{})",
                    name(*aggregation),
                    scope.prefix(),
                    field.name()
                )
            }
            Operand::Window(window_fn, field, window) => {
                let function = WINDOWS
                    .iter()
                    .find(|(_, w)| w == window_fn)
                    .map_or("?", |(n, _)| n);
                write!(
                    f,
                    "{function}({}[{}])",
                    field.name(),
                    duration::format(*window)
                )
            }
            Operand::Ratio(numerator, denominator, window) => write!(
                f,
                "ratio_over_time({}, {}[{}])",
                numerator.name(),
                denominator.name(),
                duration::format(*window)
            ),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.operand,
            self.cmp.symbol(),
            self.threshold
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        parse(text, &CustomNames::default())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_string()
    }

    #[test]
    fn parses_every_operand_kind_and_prints_it_back() {
        for text in [
            "qps > 5",
            "node.disk_usage_pct >= 80",
            "fe.alive == 0",
            "backend.cpu_usage_pct > 90",
            "cn.memory_usage_pct < 10",
            "max(be.cpu_usage_pct) > 90",
            "count(fe.jvm_heap_usage_pct) != 3",
            "rate(query_error[5m]) > 0.1",
            "increase(jvm_old_gc_count[1h]) > 10",
            "sum_over_time(compaction_base_failed_interval[1m]) > 3",
            "ratio_over_time(txn_failed_interval, txn_begin_interval[5m]) > 5",
            "change_pct(qps[1m]) > 100",
            "collector.failed_cycles >= 3",
            "query_latency_p95 <= -1.5",
        ] {
            assert_eq!(round_trip(text), text);
        }
        assert_eq!(
            round_trip("  max( be.cpu_usage_pct )>90.0 "),
            "max(be.cpu_usage_pct) > 90"
        );
        assert_eq!(round_trip("qps > 1e3"), "qps > 1000");
    }

    fn error(text: &str) -> String {
        parse(text, &CustomNames::default()).expect_err(text)
    }

    #[test]
    fn refuses_bad_expressions_with_the_reason() {
        assert_eq!(
            error("qpss > 5"),
            "unknown cluster field `qpss` (did you mean `qps`?)"
        );
        assert!(error("qps > NaN").contains("not a finite number"));
        assert!(error("qps > inf").contains("not a finite number"));
        assert!(error("qps > 1e999").contains("not a finite number"));
        assert!(error("qps > ").contains("not a finite number"));
        assert!(error("qps").contains("no comparison"));
        assert!(error("qps = 5").contains("not a comparison"));
        assert!(error("rate(qps[5m]) > 1").contains("needs a cumulative counter"));
        assert!(error("rate(query_total) > 1").contains("a window is needed"));
        assert!(error("rate(query_total[-5m]) > 1").contains("is not a duration"));
        assert!(error("rate(query_total[0s]) > 1").contains("longer than 0"));
        assert!(error("rate(query_total[1d1s]) > 1").contains("longest allowed, 1d"));
        assert!(error("rate(query_total[500000y]) > 1").contains("longest allowed, 1d"));
        assert!(error("max(qps) > 1").contains("aggregates over nodes"));
        assert!(error("median(be.cpu_usage_pct) > 1").contains("unknown function"));
        assert!(error("leader_name > 1").contains("not numeric"));
        assert!(error("disk_io_util_pct > 1").contains("is a node field"));
        assert!(error("be.qpss > 1").contains("unknown node field"));
        assert!(error("host.cpu > 1").contains("unknown prefix"));
        assert!(error("sum_over_time(be.cpu_usage_pct[1m]) > 1").contains("read cluster fields"));
        assert!(error("collector.uptime > 1").contains("unknown collector figure"));
        assert!(error(" > 1").contains("nothing before"));
    }
}
