//! `docs/EXPORT.md`'s tables of the clusters' families are generated from
//! `rockscope_export::families()`, and its example of custom families is rendered by
//! `rockscope_export::text`, so that the doc cannot drift from what `/metrics` serves.
//! On a mismatch the test prints the expected section; `ROCKSCOPE_WRITE_DOCS=1 cargo test -p
//! rockscope-export --test export_doc` rewrites it in place.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rockscope_export::text::{Format, render};
use rockscope_export::{ClusterExport, CustomFamilies, Family, MetricType, Unit, families};
use rockscope_model::CustomMetricSpec;
use serde_json::json;
use time::OffsetDateTime;

const BEGIN: &str =
    "<!-- BEGIN GENERATED: rockscope_export::families() (crates/export/tests/export_doc.rs) -->";
const BEGIN_CUSTOM: &str =
    "<!-- BEGIN GENERATED: custom families (crates/export/tests/export_doc.rs) -->";
const END: &str = "<!-- END GENERATED -->";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/EXPORT.md")
}

/// A table: its title, its labels' sentence, and which families it holds.
type Section = (&'static str, &'static str, fn(&Family) -> bool);

/// The generated section, markers included.
fn generated() -> String {
    let mut out = format!("{BEGIN}\n");
    let sections: [Section; 3] = [
        (
            "### The collector's figures of each cluster",
            "Labels: `cluster`. Exported for every cluster being collected, up or down.",
            |f| f.field.is_none(),
        ),
        (
            "### Cluster fields (`rockscope_cluster_*`)",
            "Labels: `cluster`. Exported only while the cluster is up (its last cycle stored a \
             snapshot); a field without a value in that snapshot has no sample.",
            |f| f.field.as_deref().is_some_and(|n| !n.starts_with("node.")),
        ),
        (
            "### Node fields (`rockscope_node_*`)",
            "Labels: `cluster`, `node_type` (`fe`, `be`, `cn`), `instance` (the node's \
             `host:http_port`). Exported only while the cluster is up.",
            |f| f.field.as_deref().is_some_and(|n| n.starts_with("node.")),
        ),
    ];
    for (title, labels, wanted) in sections {
        out.push_str(&format!(
            "\n{title}\n\n{labels}\n\n| metric | type | unit | snapshot field | help |\n|---|---|---|---|---|\n"
        ));
        for family in families().iter().filter(|f| wanted(f)) {
            out.push_str(&row(family));
        }
    }
    out.push('\n');
    out.push_str(END);
    out
}

fn row(family: &Family) -> String {
    let kind = match family.metric_type {
        MetricType::Gauge => "gauge",
        MetricType::Counter => "counter",
    };
    let unit = match family.unit {
        Unit::None => "—",
        unit => unit.as_str(),
    };
    let field = match &family.field {
        None => "—".to_owned(),
        Some(field) if family.scale == 1.0 => format!("`{field}`"),
        Some(field) => format!("`{field}` × {}", family.scale),
    };
    let mut help = family.help.replace('|', "\\|");
    if family.name.ends_with("fullest_disk_path_usage_ratio") {
        help.push_str(" (with a `path` label)");
    }
    format!(
        "| `{}` | {kind} | {unit} | {field} | {help} |\n",
        family.name
    )
}

/// The custom families of two clusters, `prod` up and `staging` down, as `/metrics` renders
/// them, markers included.
fn generated_custom() -> String {
    let definition = |value: serde_json::Value| -> CustomMetricSpec {
        serde_json::from_value(value).expect("definition")
    };
    let families = CustomFamilies::new(&[
        definition(json!({
            "name": "page_cache_hit_ratio", "metric": "starrocks_be_storage_page_cache_hit_count",
            "node_types": ["be", "cn"], "aggregate": "sum", "rate": true,
            "ratio_of": "page_cache_lookups", "unit": "ratio",
            "description": "Share of page cache lookups that hit, over the BEs and CNs",
        })),
        definition(json!({
            "name": "scan_bytes_per_second", "metric": "starrocks_be_query_scan_bytes",
            "node_types": ["be", "cn"], "aggregate": "sum", "rate": true,
        })),
    ]);
    let snapshot = json!({
        "cluster_id": 1, "collected_at": "2026-12-01T00:00:00Z", "scrape_nodes_total": 1,
        "scrape_nodes_ok": 1, "scrape_fe_ok": 1, "scrape_be_ok": 0, "scrape_skipped_lines": 0,
        "rates_from_gauges": false, "source_errors": [],
        "custom": { "page_cache_hit_ratio": 0.93, "scan_bytes_per_second": 52428800.0 },
    });
    let cycle = |name: &str, snapshot| ClusterExport {
        cluster_id: 1,
        cluster: name.to_owned(),
        at: OffsetDateTime::UNIX_EPOCH,
        snapshot,
        nodes: Vec::new(),
        failed_cycles: 0,
        last_success_at: None,
        interval: Duration::from_secs(15),
        alerts: None,
        custom: families.clone(),
    };
    let clusters = [
        Arc::new(cycle("prod", serde_json::from_value(snapshot).ok())),
        Arc::new(cycle("staging", None)),
    ];
    let mut out = String::new();
    render(&mut out, &clusters, Format::Prometheus);
    let custom = out
        .find("# HELP rockscope_custom_")
        .expect("custom families rendered");
    format!("{BEGIN_CUSTOM}\n\n```\n{}```\n\n{END}", &out[custom..])
}

/// One test for both sections: each may rewrite the same file.
#[test]
fn the_docs_tables_are_the_families_and_the_custom_example_is_rendered() {
    check_section(BEGIN, &generated());
    check_section(BEGIN_CUSTOM, &generated_custom());
}

/// Compares the doc's section from `begin` to the next [`END`] with `expected` (markers
/// included), or rewrites it with `ROCKSCOPE_WRITE_DOCS` set.
fn check_section(begin: &str, expected: &str) {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/EXPORT.md");
    let start = doc.find(begin);
    let end = start.and_then(|start| doc[start..].find(END).map(|end| start + end));
    let (Some(start), Some(end)) = (start, end) else {
        panic!("docs/EXPORT.md lacks the generated section's markers; it should hold:\n{expected}");
    };
    let current = &doc[start..end + END.len()];
    if current == expected {
        return;
    }
    if std::env::var_os("ROCKSCOPE_WRITE_DOCS").is_some() {
        let rewritten = format!("{}{expected}{}", &doc[..start], &doc[end + END.len()..]);
        std::fs::write(&path, rewritten).expect("rewrite docs/EXPORT.md");
        return;
    }
    panic!(
        "docs/EXPORT.md's generated section differs from what the export serves; run \
         `ROCKSCOPE_WRITE_DOCS=1 cargo test -p rockscope-export --test export_doc`, or put in:\n{expected}"
    );
}
