//! OpenMetrics 1.0 text, as `prometheus-client` writes it, converted to Prometheus text 0.0.4.
//!
//! The two differ, for what `prometheus-client` writes, in: a counter's family name (OpenMetrics
//! names it without `_total`, 0.0.4 names it as its samples), the `info` type (0.0.4 has none:
//! a gauge named `<name>_info`), `unknown` (0.0.4's `untyped`), the `# UNIT` and `# EOF` lines
//! and `_created` samples (0.0.4 has none of them). Samples are the same.

/// Appends `open_metrics` to `out` as Prometheus text 0.0.4.
pub fn to_prometheus_text(out: &mut String, open_metrics: &str) {
    // `prometheus-client` writes `# HELP`, then `# TYPE`, then `# UNIT`, then the samples; the
    // HELP line waits for the TYPE that says what the family is called in 0.0.4.
    let mut help: Option<(&str, &str)> = None;
    let mut family = Family::default();
    for line in open_metrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
            help = Some((name, text));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            family = Family::of(name, kind);
            if let Some((_, text)) = help.take().filter(|(n, _)| *n == name) {
                push_line(out, &["# HELP ", &family.name, " ", text]);
            }
            push_line(out, &["# TYPE ", &family.name, " ", family.kind]);
        } else if line.starts_with('#') || line.is_empty() {
            // `# UNIT`, `# EOF` and comments: 0.0.4 has no place for them.
            continue;
        } else if !family.drops(sample_name(line)) {
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// The family being converted: its 0.0.4 name and type, and the OpenMetrics name its
/// `_created` samples start with.
#[derive(Default)]
struct Family {
    name: String,
    kind: &'static str,
    created: Option<String>,
}

impl Family {
    fn of(name: &str, open_metrics_type: &str) -> Family {
        let (name, kind) = match open_metrics_type {
            "counter" => (format!("{name}_total"), "counter"),
            "info" => (format!("{name}_info"), "gauge"),
            "gauge" => (name.to_owned(), "gauge"),
            "histogram" | "gaugehistogram" => (name.to_owned(), "histogram"),
            "summary" => (name.to_owned(), "summary"),
            _ => (name.to_owned(), "untyped"),
        };
        let created = matches!(open_metrics_type, "counter" | "histogram" | "summary")
            .then(|| format!("{}_created", name.trim_end_matches("_total")));
        Family {
            name,
            kind,
            created,
        }
    }

    /// Whether a sample of this family has no 0.0.4 form.
    fn drops(&self, sample: &str) -> bool {
        self.created.as_deref() == Some(sample)
    }
}

fn sample_name(line: &str) -> &str {
    let end = line.find(['{', ' ']).unwrap_or(line.len());
    &line[..end]
}

fn push_line(out: &mut String, parts: &[&str]) {
    for part in parts {
        out.push_str(part);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(open_metrics: &str) -> String {
        let mut out = String::new();
        to_prometheus_text(&mut out, open_metrics);
        out
    }

    #[test]
    fn a_counter_is_named_as_its_samples_and_loses_unit_and_created() {
        let open_metrics = "\
# HELP process_cpu_seconds Total user and system CPU time.
# TYPE process_cpu_seconds counter
# UNIT process_cpu_seconds seconds
process_cpu_seconds_total 1.5
process_cpu_seconds_created 1700000000.0
# EOF
";
        assert_eq!(
            convert(open_metrics),
            "\
# HELP process_cpu_seconds_total Total user and system CPU time.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.5
"
        );
    }

    #[test]
    fn info_becomes_a_gauge_and_unknown_untyped() {
        let open_metrics = "\
# HELP build Build.
# TYPE build info
build_info{version=\"1\"} 1
# HELP thing Thing.
# TYPE thing unknown
thing 3
# EOF
";
        assert_eq!(
            convert(open_metrics),
            "\
# HELP build_info Build.
# TYPE build_info gauge
build_info{version=\"1\"} 1
# HELP thing Thing.
# TYPE thing untyped
thing 3
"
        );
    }

    #[test]
    fn histograms_and_labelled_counters_keep_their_samples() {
        let open_metrics = "\
# HELP d_seconds Time.
# TYPE d_seconds histogram
# UNIT d_seconds seconds
d_seconds_sum 0.5
d_seconds_count 2
d_seconds_bucket{le=\"0.1\"} 1
d_seconds_bucket{le=\"+Inf\"} 2
d_seconds_created 1.0
# HELP errors Errors.
# TYPE errors counter
errors_total{cluster=\"a\",code=\"timeout\"} 3
errors_created{cluster=\"a\",code=\"timeout\"} 1.0
# EOF
";
        assert_eq!(
            convert(open_metrics),
            "\
# HELP d_seconds Time.
# TYPE d_seconds histogram
d_seconds_sum 0.5
d_seconds_count 2
d_seconds_bucket{le=\"0.1\"} 1
d_seconds_bucket{le=\"+Inf\"} 2
# HELP errors_total Errors.
# TYPE errors_total counter
errors_total{cluster=\"a\",code=\"timeout\"} 3
"
        );
    }

    #[test]
    fn a_gauge_is_unchanged_and_a_sample_named_created_of_a_gauge_is_kept() {
        let open_metrics = "\
# HELP g_created A gauge that happens to end in created.
# TYPE g_created gauge
g_created 2
# EOF
";
        assert_eq!(
            convert(open_metrics),
            "\
# HELP g_created A gauge that happens to end in created.
# TYPE g_created gauge
g_created 2
"
        );
    }
}
