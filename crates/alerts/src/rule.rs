//! Rules: one rule validated and compiled ([`check_rule_with`]), and the effective set, built-in
//! rules with overrides then the user's ([`RuleSet::build_with`]). Both take the custom metrics
//! in force ([`CustomNames`]), whose names a rule may read like any field; [`check_rule`] and
//! [`RuleSet::build`] are the same with none.

use std::collections::BTreeMap;
use std::time::Duration;

use rockscope_model::{RuleOverride, RuleSpec, Severity};

use crate::builtin;
use crate::duration;
use crate::expr::{self, Condition};
use crate::fields::CustomNames;
use crate::template::Template;

/// A rule that could not be accepted, naming the rule and the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("alert rule `{rule}`: {problem}")]
pub struct RuleError {
    /// The rule's name as given (or `#<index>` when it has none).
    pub rule: String,
    /// What is wrong, in words.
    pub problem: String,
}

/// One effective rule: built-in (possibly overridden) or the user's, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule's name, the `alertname`.
    pub name: String,
    /// Whether rockscope ships it.
    pub builtin: bool,
    /// `false` when switched off by an override.
    pub enabled: bool,
    /// The severity label.
    pub severity: Severity,
    /// Pending duration.
    pub for_duration: Duration,
    /// How long it keeps firing after the condition clears.
    pub keep_firing_for: Duration,
    /// Extra labels (templates).
    pub labels: BTreeMap<String, String>,
    /// Annotations (templates): `summary`, `description`, `runbook`, ….
    pub annotations: BTreeMap<String, String>,
    /// The StarRocks item a built-in rule implements (`#14 High FE JVM Usage Alert`, `Monitor
    /// and Alert: …`), or `rockscope` for rockscope's own; `None` for user rules.
    pub item: Option<String>,
    pub(crate) compiled: Compiled,
}

/// The parts of a rule that evaluation uses, parsed once.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Compiled {
    pub condition: Condition,
    pub labels: Vec<(String, Template)>,
    pub annotations: Vec<(String, Template)>,
}

impl Rule {
    /// The condition in words and symbols, e.g. `max(fe.jvm_heap_usage_pct) > 90`.
    pub fn condition(&self) -> String {
        self.compiled.condition.to_string()
    }

    /// The threshold the condition compares with.
    pub fn threshold(&self) -> f64 {
        self.compiled.condition.threshold
    }

    /// The custom metrics the condition reads, by name (a rule that reads one keeps it from
    /// being deleted).
    pub fn custom_metrics(&self) -> impl Iterator<Item = &str> {
        self.compiled.condition.operand.custom_names()
    }

    /// Whether the condition reads the nodes (each node's field, or an aggregation over them):
    /// a replay of it needs each cycle's node rows.
    pub fn reads_nodes(&self) -> bool {
        matches!(
            self.compiled.condition.operand,
            crate::expr::Operand::Node(..) | crate::expr::Operand::Aggregate(..)
        )
    }

    /// Whether the number compared with is a threshold (`>`, `>=`, `<`, `<=`), not a state
    /// (`fe.alive == 0` has none to override).
    pub fn has_threshold(&self) -> bool {
        use crate::expr::Cmp;
        matches!(
            self.compiled.condition.cmp,
            Cmp::Gt | Cmp::Ge | Cmp::Lt | Cmp::Le
        )
    }
}

/// Labels rockscope sets itself; a rule cannot set them.
pub(crate) const RESERVED_LABELS: [&str; 7] = [
    "alertname",
    "cluster",
    "severity",
    "instance",
    "node_type",
    "node",
    "path",
];

/// Validates one user rule alone (as the API does before storing it), with no custom metric.
pub fn check_rule(spec: &RuleSpec) -> Result<Rule, RuleError> {
    check_rule_with(spec, &CustomNames::default())
}

/// Validates one user rule alone (as the API does before storing it); its fields may be the
/// names of `custom`.
pub fn check_rule_with(spec: &RuleSpec, custom: &CustomNames) -> Result<Rule, RuleError> {
    let name = if spec.name.is_empty() {
        "(unnamed)"
    } else {
        spec.name.as_str()
    };
    compile(spec, custom).map_err(|problem| RuleError {
        rule: name.to_owned(),
        problem,
    })
}

fn compile(spec: &RuleSpec, custom: &CustomNames) -> Result<Rule, String> {
    check_name(&spec.name)?;
    let condition =
        expr::parse(&spec.expr, custom).map_err(|e| format!("expr `{}`: {e}", spec.expr))?;
    let for_duration = optional_duration("for", spec.for_duration.as_deref())?;
    let keep_firing_for = optional_duration("keep_firing_for", spec.keep_firing_for.as_deref())?;

    let per_node = condition.operand.per_node();
    let mut base: Vec<&str> = vec!["alertname", "cluster", "severity"];
    if let Some(field) = per_node {
        base.extend(["instance", "node_type", "node"]);
        base.extend(field.extra_label());
    }
    let mut labels = Vec::new();
    for (key, text) in &spec.labels {
        check_label_name("label", key)?;
        if RESERVED_LABELS.contains(&key.as_str()) {
            return Err(format!(
                "label `{key}` is set by rockscope and cannot be set by a rule"
            ));
        }
        let template =
            Template::parse(text, &base, false).map_err(|e| format!("label `{key}`: {e}"))?;
        labels.push((key.clone(), template));
    }
    let mut all_labels = base.clone();
    all_labels.extend(spec.labels.keys().map(String::as_str));
    let mut annotation_texts = spec.annotations.clone();
    annotation_texts
        .entry("summary".to_owned())
        .or_insert_with(|| default_summary(&spec.name, &condition, per_node.is_some()));
    let mut annotations = Vec::new();
    for (key, text) in &annotation_texts {
        check_label_name("annotation", key)?;
        let template = Template::parse(text, &all_labels, true)
            .map_err(|e| format!("annotation `{key}`: {e}"))?;
        annotations.push((key.clone(), template));
    }
    Ok(Rule {
        name: spec.name.clone(),
        builtin: false,
        enabled: true,
        severity: spec.severity.unwrap_or(Severity::Warning),
        for_duration,
        keep_firing_for,
        labels: spec.labels.clone(),
        annotations: annotation_texts,
        item: None,
        compiled: Compiled {
            condition,
            labels,
            annotations,
        },
    })
}

fn default_summary(name: &str, condition: &Condition, per_node: bool) -> String {
    let node = if per_node {
        " node {{ $labels.instance }}"
    } else {
        ""
    };
    format!(
        "{name} on cluster {{{{ $labels.cluster }}}}{node}: {condition} (value {{{{ $value }}}})"
    )
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "name `{name}` is not valid: a letter, then letters, digits or `_`"
        ))
    }
}

fn check_label_name(what: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with("__");
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{what} name `{name}` is not valid (letters, digits, `_`; not starting with a digit or `__`)"
        ))
    }
}

fn optional_duration(what: &str, text: Option<&str>) -> Result<Duration, String> {
    text.map_or(Ok(Duration::ZERO), |text| {
        duration::parse(text.trim()).map_err(|e| format!("`{what}`: {e}"))
    })
}

/// How much history beyond the longest window [`RuleSet::lookback`] asks for: the sample just
/// before a window (the base of `increase`, `rate` and `change_pct`) for collection intervals up
/// to this long.
pub const LOOKBACK_SLACK: Duration = Duration::from_secs(120);

/// The effective rules: the built-in ones with overrides applied, then the user's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// Builds and validates the rule set with no custom metric; every bad rule is reported, not
    /// only the first.
    pub fn build(user: &[RuleSpec], overrides: &[RuleOverride]) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::build_with(user, overrides, &CustomNames::default())
    }

    /// Builds and validates the rule set, whose user rules may read the custom metrics of
    /// `custom`; every bad rule is reported, not only the first.
    pub fn build_with(
        user: &[RuleSpec],
        overrides: &[RuleOverride],
        custom: &CustomNames,
    ) -> Result<RuleSet, Vec<RuleError>> {
        let mut errors = Vec::new();
        let mut rules = builtin::rules();
        for (index, change) in overrides.iter().enumerate() {
            let earlier = overrides[..index].iter().any(|o| o.name == change.name);
            let result = if earlier {
                Err("a second override of the same rule (merge them into one)".to_owned())
            } else {
                apply_override(&mut rules, change)
            };
            if let Err(problem) = result {
                errors.push(RuleError {
                    rule: change.name.clone(),
                    problem,
                });
            }
        }
        for (index, spec) in user.iter().enumerate() {
            let label = if spec.name.is_empty() {
                format!("#{index}")
            } else {
                spec.name.clone()
            };
            let clash = rules
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(&spec.name));
            let result = match clash {
                Some(rule) if rule.builtin => Err(format!(
                    "the name clashes with the built-in rule `{}` (choose another name, or override the built-in rule)",
                    rule.name
                )),
                Some(rule) => Err(format!(
                    "duplicate name: another user rule is called `{}`",
                    rule.name
                )),
                None => check_rule_with(spec, custom).map_err(|e| e.problem),
            };
            match result {
                Ok(rule) => rules.push(rule),
                Err(problem) => errors.push(RuleError {
                    rule: label,
                    problem,
                }),
            }
        }
        if errors.is_empty() {
            Ok(RuleSet { rules })
        } else {
            Err(errors)
        }
    }

    /// Every rule, enabled or not, built-in first.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The names of the rules (enabled or not) that read the custom metric `custom`: while
    /// one does, the definition cannot be deleted.
    pub fn rules_using(&self, custom: &str) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|rule| rule.custom_metrics().any(|name| name == custom))
            .map(|rule| rule.name.as_str())
            .collect()
    }

    /// How far back [`crate::ClusterView::history`] must reach for every enabled rule's windows:
    /// the longest window plus [`LOOKBACK_SLACK`].
    pub fn lookback(&self) -> Duration {
        self.rules
            .iter()
            .filter(|rule| rule.enabled)
            .map(Rule::window)
            .max()
            .unwrap_or_default()
            + LOOKBACK_SLACK
    }
}

impl Rule {
    /// The longest window the condition reads back over.
    pub(crate) fn window(&self) -> Duration {
        self.compiled.condition.operand.window()
    }
}

fn apply_override(rules: &mut [Rule], change: &RuleOverride) -> Result<(), String> {
    let rule = rules
        .iter_mut()
        .find(|rule| rule.builtin && rule.name == change.name)
        .ok_or_else(|| {
            let hint = builtin::rules()
                .into_iter()
                .map(|r| (crate::fields::edit_distance(&change.name, &r.name), r.name))
                .filter(|(distance, _)| *distance <= 3)
                .min()
                .map(|(_, name)| format!(" (did you mean `{name}`?)"))
                .unwrap_or_default();
            format!("override of an unknown built-in rule{hint}")
        })?;
    if let Some(enabled) = change.enabled {
        rule.enabled = enabled;
    }
    if let Some(threshold) = change.threshold {
        if !threshold.is_finite() {
            return Err(format!(
                "override threshold `{threshold}` is not a finite number"
            ));
        }
        if !rule.has_threshold() {
            return Err(format!(
                "the rule has no threshold to override (its condition is `{}`); switch it off instead",
                rule.condition()
            ));
        }
        rule.compiled.condition.threshold = threshold;
    }
    if let Some(text) = &change.for_duration {
        rule.for_duration = optional_duration("for", Some(text))?;
    }
    Ok(())
}

/// Compiles a built-in rule's definition (see [`crate::builtin`]).
pub(crate) fn compile_builtin(spec: &RuleSpec, item: &str) -> Result<Rule, RuleError> {
    let mut rule = check_rule(spec)?;
    rule.builtin = true;
    rule.item = Some(item.to_owned());
    Ok(rule)
}
