//! `docs/EXPORT.md`'s tables of the clusters' families are generated from
//! `rockscope_export::families()`, so that the doc cannot drift from what `/metrics` serves.
//! On a mismatch the test prints the expected section; `ROCKSCOPE_WRITE_DOCS=1 cargo test -p
//! rockscope-export --test export_doc` rewrites it in place.

use std::path::PathBuf;

use rockscope_export::{Family, MetricType, Unit, families};

const BEGIN: &str =
    "<!-- BEGIN GENERATED: rockscope_export::families() (crates/export/tests/export_doc.rs) -->";
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

#[test]
fn the_docs_tables_are_the_families() {
    let path = doc_path();
    let doc = std::fs::read_to_string(&path).expect("docs/EXPORT.md");
    let expected = generated();
    let (Some(start), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
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
        "docs/EXPORT.md's generated tables differ from families(); run \
         `ROCKSCOPE_WRITE_DOCS=1 cargo test -p rockscope-export --test export_doc`, or put in:\n{expected}"
    );
}
