//! The text exposition of the clusters' families: Prometheus text format 0.0.4, or
//! OpenMetrics 1.0 when the scraper asks for it. The two differ here only in a counter's
//! `# TYPE`/`# HELP` name (OpenMetrics names the family without `_total`), in `# HELP`'s
//! escapes (OpenMetrics escapes `"` too) and in the final `# EOF`, which the caller writes after
//! every other family it appends.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::sync::Arc;

use crate::custom::CustomFamily;
use crate::cycle::{ClusterExport, Labels, for_each_sample_of};
use crate::names::{Family, MetricType, families};

/// The exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Prometheus,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format a scraper's `Accept` header asks for: OpenMetrics when it lists
    /// `application/openmetrics-text` with a higher or equal preference than plain text.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Prometheus;
        };
        let mut open_metrics = None::<f32>;
        let mut text = None::<f32>;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot = match media.as_str() {
                "application/openmetrics-text" => &mut open_metrics,
                "text/plain" | "*/*" | "text/*" => &mut text,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old| old.max(q)));
        }
        match (open_metrics, text) {
            (Some(om), text) if om > 0.0 && om >= text.unwrap_or(0.0) => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }
}

/// Appends every cluster and node family of `clusters` to `out`, then their custom metrics'
/// (by name): `# HELP` and `# TYPE` once per family, then its samples, cluster by cluster in
/// the order given. A family no cluster has a value of is left out.
pub fn render(out: &mut String, clusters: &[Arc<ClusterExport>], format: Format) {
    for family in families() {
        render_family(out, family, clusters, format);
    }
    // Without custom metrics this is one look at each cluster's empty map: no allocation.
    let mut custom: BTreeSet<&str> = BTreeSet::new();
    for snapshot in clusters.iter().filter_map(|cycle| cycle.snapshot.as_ref()) {
        let with_value = snapshot.custom.iter().filter(|(_, value)| value.is_some());
        custom.extend(with_value.map(|(name, _)| name.as_str()));
    }
    for name in custom {
        match clusters.iter().find_map(|cycle| cycle.custom.get(name)) {
            Some(family) => render_family(out, family, clusters, format),
            None => render_family(
                out,
                CustomFamily::undefined(name).family(),
                clusters,
                format,
            ),
        }
    }
}

/// One family's `# HELP`, `# TYPE` and samples over `clusters`; nothing when none has a value.
fn render_family(
    out: &mut String,
    family: &Family,
    clusters: &[Arc<ClusterExport>],
    format: Format,
) {
    let mut header_written = false;
    for cycle in clusters {
        for_each_sample_of(family, cycle, &mut |family, labels, value| {
            if !header_written {
                header_written = true;
                let name = match (format, family.metric_type) {
                    (Format::OpenMetrics, MetricType::Counter) => {
                        family.name.strip_suffix("_total").unwrap_or(&family.name)
                    }
                    _ => &family.name,
                };
                let _ = writeln!(out, "# HELP {name} {}", escape_help(&family.help, format));
                let _ = writeln!(out, "# TYPE {name} {}", family.metric_type.as_str());
            }
            out.push_str(&family.name);
            write_labels(out, labels);
            let _ = writeln!(out, " {value}");
        });
    }
}

fn write_labels(out: &mut String, labels: Labels<'_>) {
    out.push('{');
    for (i, (name, value)) in labels.pairs().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    out.push('}');
}

/// A label value as the text formats write it: `\`, `"` and line feeds escaped.
pub fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A `# HELP` text: `\` and line feeds escaped, and in OpenMetrics `"` too (its grammar's
/// escaped-string; Prometheus' parsers read both).
fn escape_help(help: &str, format: Format) -> String {
    let escaped = help.replace('\\', "\\\\").replace('\n', "\\n");
    match format {
        Format::Prometheus => escaped,
        Format::OpenMetrics => escaped.replace('"', "\\\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_format() {
        let cases = [
            (None, Format::Prometheus),
            (Some("text/plain"), Format::Prometheus),
            (Some("*/*"), Format::Prometheus),
            (Some("application/openmetrics-text"), Format::OpenMetrics),
            // Prometheus 2.42's default scrape Accept header.
            (
                Some(
                    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                ),
                Format::OpenMetrics,
            ),
            (
                Some("application/openmetrics-text;q=0.2, text/plain;q=0.9"),
                Format::Prometheus,
            ),
            (Some("application/openmetrics-text;q=0"), Format::Prometheus),
            (Some("garbage;;;q=abc"), Format::Prometheus),
        ];
        for (accept, expected) in cases {
            assert_eq!(Format::negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn alerts_render_as_their_own_families_with_escaped_labels() {
        use rockscope_model::AlertState;

        use crate::cycle::tests::{active, down_cluster};

        let alerts = vec![active(
            AlertState::Firing,
            &[
                ("alertname", "DiskFull"),
                ("severity", "critical"),
                ("path", "/data/\"x\""),
            ],
        )];
        let mut out = String::new();
        render(
            &mut out,
            &[Arc::new(down_cluster(Some(alerts)))],
            Format::Prometheus,
        );
        for expected in [
            "# TYPE rockscope_cluster_alerts_firing gauge\nrockscope_cluster_alerts_firing{cluster=\"prod\"} 1\n",
            "rockscope_cluster_alerts_pending{cluster=\"prod\"} 0\n",
            "# TYPE rockscope_alerts gauge\nrockscope_alerts{cluster=\"prod\",alertstate=\"firing\",alertname=\"DiskFull\",path=\"/data/\\\"x\\\"\",severity=\"critical\"} 1\n",
        ] {
            assert!(out.contains(expected), "{expected} not in:\n{out}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        escape_label_value(&mut out, "a\"b\\c\nd");
        assert_eq!(out, "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn custom_metrics_render_once_per_family_with_escaped_help() {
        use crate::custom::CustomFamilies;
        use crate::custom::tests::spec;
        use crate::cycle::tests::{down_cluster, up_cluster};

        let description = "Hits \"hot\"\nand \\ more";
        let families = CustomFamilies::new(&[
            spec("hits", Some(description), Some("ratio")),
            spec("lookups", None, None),
        ]);
        let clusters = [
            up_cluster(
                "a",
                serde_json::json!({"hits": 0.5, "lookups": null}),
                &families,
            ),
            up_cluster(
                "b",
                serde_json::json!({"hits": 0.25, "orphan": 1.0}),
                &families,
            ),
            down_cluster(None),
        ]
        .map(Arc::new);
        let samples = "# TYPE rockscope_custom_hits gauge\n\
                       rockscope_custom_hits{cluster=\"a\"} 0.5\n\
                       rockscope_custom_hits{cluster=\"b\"} 0.25\n";
        for (format, help) in [
            (
                Format::Prometheus,
                "Hits \"hot\"\\nand \\\\ more (unit: ratio)",
            ),
            (
                Format::OpenMetrics,
                "Hits \\\"hot\\\"\\nand \\\\ more (unit: ratio)",
            ),
        ] {
            let mut out = String::new();
            render(&mut out, &clusters, format);
            let family = format!("# HELP rockscope_custom_hits {help}\n{samples}");
            assert!(
                out.contains(&family),
                "{format:?}: {family}\nnot in:\n{out}"
            );
            assert_eq!(out.matches("# HELP rockscope_custom_hits ").count(), 1);
            assert_eq!(out.matches("# TYPE rockscope_custom_hits ").count(), 1);
            // No value anywhere: no family; a value without a definition: a generated HELP.
            assert!(!out.contains("rockscope_custom_lookups"), "{out}");
            assert!(out.contains(
                "# HELP rockscope_custom_orphan Custom metric orphan (its definition is not in force)\n\
                 # TYPE rockscope_custom_orphan gauge\n\
                 rockscope_custom_orphan{cluster=\"b\"} 1\n"
            ));
            // The down cluster `prod` has none; custom families come after the node families.
            assert!(!out.contains("rockscope_custom_hits{cluster=\"prod\"}"));
            let last_node = out.rfind("rockscope_node_").unwrap();
            assert!(last_node < out.find("rockscope_custom_").unwrap());
        }
    }
}
