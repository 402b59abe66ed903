//! Label and annotation templates: the part of Prometheus' Go templates that alert text uses,
//! `{{ $labels.<name> }}` and `{{ $value }}` with `printf "%.Nf"` or `humanize`. Parsed once at
//! validation (an unknown variable or a label the alert cannot have is an error), rendered at
//! each evaluation.

use std::collections::BTreeMap;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Label(String),
    Value(Format),
}

/// How `$value` is written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    /// As Rust prints an `f64` (`95.5`, `1000`).
    Plain,
    /// `printf "%.Nf"` (`%f` is six digits).
    Fixed(usize),
    /// `humanize`: SI prefixes, four significant digits (`1.235M`).
    Humanize,
}

const KNOWN: &str =
    "{{ $labels.<name> }}, {{ $value }}, {{ $value | printf \"%.1f\" }}, {{ $value | humanize }}";

impl Template {
    /// Parses `text`; `labels` are the label names the alert will have, `value_allowed` whether
    /// `$value` may be used (not in labels: a label that changes with the value would make a new
    /// alert at every evaluation).
    pub fn parse(text: &str, labels: &[&str], value_allowed: bool) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find("}}")
                .ok_or_else(|| format!("template `{}` has no closing `}}}}`", &rest[open..]))?;
            let action = rest[open + 2..open + close].trim();
            parts.push(parse_action(action, labels, value_allowed)?);
            rest = &rest[open + close + 2..];
        }
        if rest.contains("}}") {
            return Err(format!("`}}}}` without `{{{{` in `{text}`"));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// Writes the template for one alert. A label the alert lacks (a per-node rule's `path` on
    /// a node without one) is written as nothing, as Prometheus does.
    pub fn render(&self, labels: &BTreeMap<String, String>, value: Option<f64>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Label(name) => out.push_str(labels.get(name).map_or("", String::as_str)),
                Part::Value(format) => {
                    if let Some(value) = value {
                        out.push_str(&format.apply(value));
                    }
                }
            }
        }
        out
    }
}

fn parse_action(action: &str, labels: &[&str], value_allowed: bool) -> Result<Part, String> {
    let words: Vec<&str> = action.split_whitespace().collect();
    if let [word] = words.as_slice()
        && let Some(name) = word.strip_prefix("$labels.")
    {
        return if labels.contains(&name) {
            Ok(Part::Label(name.to_owned()))
        } else {
            Err(format!(
                "template `{{{{ {action} }}}}`: this rule's alerts have no label `{name}` (they have: {})",
                labels.join(", ")
            ))
        };
    }
    let format = match words.as_slice() {
        ["$value"] => Some(Format::Plain),
        ["$value", "|", "humanize"] | ["humanize", "$value"] => Some(Format::Humanize),
        ["$value", "|", "printf", spec] | ["printf", spec, "$value"] => Some(fixed(spec)?),
        _ => None,
    };
    match format {
        Some(_) if !value_allowed => Err(format!(
            "template `{{{{ {action} }}}}`: `$value` cannot be used in a label (each new value would be a new alert); use it in an annotation"
        )),
        Some(format) => Ok(Part::Value(format)),
        None => {
            let variable = words
                .iter()
                .find(|w| w.starts_with('$'))
                .copied()
                .unwrap_or(action);
            Err(format!(
                "template `{{{{ {action} }}}}`: unknown variable or function `{variable}` (rockscope understands {KNOWN})"
            ))
        }
    }
}

/// `"%.Nf"` or `"%f"`.
fn fixed(spec: &str) -> Result<Format, String> {
    let inner = spec
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .and_then(|s| s.strip_prefix('%'))
        .and_then(|s| s.strip_suffix('f'));
    match inner {
        Some("") => Ok(Format::Fixed(6)),
        Some(digits) => digits
            .strip_prefix('.')
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|d| *d <= 17)
            .map(Format::Fixed)
            .ok_or_else(|| {
                format!("printf format {spec}: rockscope understands \"%f\" and \"%.Nf\"")
            }),
        None => Err(format!(
            "printf format {spec}: rockscope understands \"%f\" and \"%.Nf\""
        )),
    }
}

impl Format {
    fn apply(self, value: f64) -> String {
        match self {
            Format::Plain => value.to_string(),
            Format::Fixed(digits) => format!("{value:.digits$}"),
            Format::Humanize => humanize(value),
        }
    }
}

/// Prometheus' `humanize`: SI prefixes from 1e-24 to 1e24, four significant digits.
fn humanize(value: f64) -> String {
    const BIG: [&str; 8] = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
    const SMALL: [&str; 8] = ["m", "u", "n", "p", "f", "a", "z", "y"];
    if value == 0.0 || !value.is_finite() {
        return significant(value);
    }
    let mut scaled = value;
    let mut prefix = "";
    if value.abs() >= 1.0 {
        for p in BIG {
            if scaled.abs() < 1000.0 {
                break;
            }
            scaled /= 1000.0;
            prefix = p;
        }
    } else {
        for p in SMALL {
            if scaled.abs() >= 1.0 {
                break;
            }
            scaled *= 1000.0;
            prefix = p;
        }
    }
    format!("{}{prefix}", significant(scaled))
}

/// Four significant digits without trailing zeros (Go's `%.4g` for the range humanize uses).
fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = usize::try_from((3 - magnitude).max(0)).unwrap_or(0);
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        [("cluster", "prod"), ("instance", "10.0.0.1:8040")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn render(text: &str, value: f64) -> String {
        Template::parse(text, &["cluster", "instance"], true)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .render(&labels(), Some(value))
    }

    #[test]
    fn renders_labels_and_values() {
        assert_eq!(
            render(
                "BE {{ $labels.instance }} of {{$labels.cluster}} at {{ $value }}%",
                95.5
            ),
            "BE 10.0.0.1:8040 of prod at 95.5%"
        );
        assert_eq!(render("{{ $value | printf \"%.1f\" }}", 95.56), "95.6");
        assert_eq!(render("{{ printf \"%.0f\" $value }}", 95.56), "96");
        assert_eq!(render("{{ $value | printf \"%f\" }}", 1.5), "1.500000");
        assert_eq!(render("{{ $value | humanize }}", 1_234_567.0), "1.235M");
        assert_eq!(render("{{ humanize $value }}", 0.0012), "1.2m");
        assert_eq!(render("{{ $value | humanize }}", 950.0), "950");
        assert_eq!(render("{{ $value }}", 300_000.0), "300000");
        assert_eq!(render("no templates", 1.0), "no templates");
    }

    #[test]
    fn refuses_unknown_variables_labels_and_functions() {
        let err = |text: &str, value_allowed: bool| {
            Template::parse(text, &["cluster"], value_allowed).expect_err(text)
        };
        assert!(err("{{ $labels.instance }}", true).contains("have no label `instance`"));
        assert!(err("{{ $valeu }}", true).contains("unknown variable or function `$valeu`"));
        assert!(err("{{ $externalLabels.x }}", true).contains("unknown variable"));
        assert!(err("{{ $value | title }}", true).contains("unknown variable"));
        assert!(err("{{ $value | printf \"%d\" }}", true).contains("printf format"));
        assert!(err("{{ $value", true).contains("no closing"));
        assert!(err("x }}", true).contains("without"));
        assert!(err("{{ $value }}", false).contains("cannot be used in a label"));
    }
}
