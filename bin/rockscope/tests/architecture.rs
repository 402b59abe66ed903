//! `docs/ARCHITECTURE.md`'s dependency table against the manifests, as `cargo metadata` reads
//! them: every dependency the table lists is real, and every real one is listed, per crate and
//! per kind (normal or dev-only; rockscope or external).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The header row of the table (the test finds the table by it).
const HEADER: &str = "| crate | rockscope | rockscope, dev-only | external | external, dev-only |";

/// The four dependency columns, in table order.
const KINDS: [&str; 4] = [
    "rockscope",
    "rockscope, dev-only",
    "external",
    "external, dev-only",
];

/// Per crate (its directory name, `crates/` left out), per column of [`KINDS`]: names.
type Deps = BTreeMap<String, [BTreeSet<String>; 4]>;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `crates/engine/Cargo.toml` → `engine`, `bin/rockscope/Cargo.toml` → `bin/rockscope`.
fn short_name(root: &Path, manifest: &str) -> String {
    let root = root.canonicalize().expect("workspace root");
    let dir = Path::new(manifest)
        .parent()
        .expect("a manifest's directory");
    let relative = dir.strip_prefix(&root).unwrap_or(dir).to_string_lossy();
    relative
        .strip_prefix("crates/")
        .unwrap_or(&relative)
        .to_string()
}

/// The real dependencies of every workspace crate, from `cargo metadata --no-deps`.
fn real_dependencies() -> Deps {
    let root = workspace_root();
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    // A rockscope dependency is named like the table names its crate.
    let local: BTreeMap<&str, String> = packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().expect("package name");
            let manifest = p["manifest_path"].as_str().expect("manifest path");
            (name, short_name(&root, manifest))
        })
        .collect();
    let mut deps = Deps::new();
    for package in packages {
        let manifest = package["manifest_path"].as_str().expect("manifest path");
        let mut normal = BTreeSet::new();
        let mut dev = BTreeSet::new();
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let name = dep["name"].as_str().expect("dependency name");
            match dep["kind"].as_str() {
                None => normal.insert(name),
                Some("dev") => dev.insert(name),
                Some(other) => panic!(
                    "{manifest}: {other} dependency {name}: the table has no column for \
                     {other} dependencies; add one (and to this test)"
                ),
            };
        }
        let mut cells: [BTreeSet<String>; 4] = Default::default();
        for (names, offset) in [(&normal, 0), (&dev, 1)] {
            for name in names {
                if offset == 1 && normal.contains(name) {
                    continue;
                }
                match local.get(name) {
                    Some(crate_name) => cells[offset].insert(crate_name.clone()),
                    None => cells[2 + offset].insert((*name).to_owned()),
                };
            }
        }
        deps.insert(short_name(&root, manifest), cells);
    }
    deps
}

/// The table in `markdown`: rows after [`HEADER`] and its separator, up to the first line that
/// is not a row. Errors name the line.
fn parse_table(markdown: &str) -> Result<Deps, String> {
    let mut lines = markdown.lines().skip_while(|l| l.trim() != HEADER);
    if lines.next().is_none() {
        return Err(format!("no table with the header {HEADER}"));
    }
    lines.next();
    let mut deps = Deps::new();
    for line in lines.take_while(|l| l.trim_start().starts_with('|')) {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let [crate_name, columns @ ..] = cells.as_slice() else {
            return Err(format!("an empty row: {line}"));
        };
        if columns.len() != KINDS.len() {
            return Err(format!(
                "{} cells, want {}: {line}",
                cells.len(),
                KINDS.len() + 1
            ));
        }
        let mut row: [BTreeSet<String>; 4] = Default::default();
        for (set, cell) in row.iter_mut().zip(columns) {
            if *cell == "—" {
                continue;
            }
            for name in cell.split(',').map(str::trim) {
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !valid {
                    return Err(format!(
                        "{crate_name}: {name:?} is not a crate name (cells hold comma-separated \
                         names or —): {line}"
                    ));
                }
                set.insert(name.to_owned());
            }
        }
        if deps.insert((*crate_name).to_owned(), row).is_some() {
            return Err(format!("{crate_name} has two rows"));
        }
    }
    Ok(deps)
}

/// Every difference between the table and the manifests, one line each.
fn differences(table: &Deps, real: &Deps) -> Vec<String> {
    let mut out = Vec::new();
    for name in real.keys().filter(|n| !table.contains_key(*n)) {
        out.push(format!(
            "crate {name}: in the workspace, but has no row in the table"
        ));
    }
    for name in table.keys().filter(|n| !real.contains_key(*n)) {
        out.push(format!(
            "crate {name}: has a row in the table, but is not in the workspace"
        ));
    }
    for (name, listed) in table {
        let Some(actual) = real.get(name) else {
            continue;
        };
        for ((kind, listed), actual) in KINDS.iter().zip(listed).zip(actual) {
            for dep in listed.difference(actual) {
                out.push(format!(
                    "crate {name}: the table lists {dep} as a \"{kind}\" dependency, but its \
                     Cargo.toml has no such {kind} dependency"
                ));
            }
            for dep in actual.difference(listed) {
                out.push(format!(
                    "crate {name}: Cargo.toml has the {kind} dependency {dep}, missing from the \
                     table's \"{kind}\" column"
                ));
            }
        }
    }
    out
}

fn architecture_md() -> String {
    std::fs::read_to_string(workspace_root().join("docs/ARCHITECTURE.md"))
        .expect("read docs/ARCHITECTURE.md")
}

#[test]
fn the_dependency_table_matches_cargo_metadata() {
    let table = parse_table(&architecture_md()).unwrap_or_else(|e| {
        panic!("docs/ARCHITECTURE.md's dependency table: {e}");
    });
    let found = differences(&table, &real_dependencies());
    assert!(
        found.is_empty(),
        "docs/ARCHITECTURE.md's dependency table differs from the manifests:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_difference_either_way_names_the_crate_and_the_dependency() {
    let real = real_dependencies();
    let markdown = architecture_md();
    // The old claim: sim uses promtext in its tests.
    let sim_row = markdown
        .lines()
        .find(|l| l.starts_with("| sim |"))
        .expect("sim's row");
    // The same row with one cell replaced (cell 1 is the crate's name).
    let with_cell = |index: usize, text: &str| {
        let mut cells: Vec<String> = sim_row.split('|').map(str::to_owned).collect();
        cells[index + 1] = format!(" {text} ");
        markdown.replace(sim_row, &cells.join("|"))
    };
    let external: Vec<&str> = sim_row
        .split('|')
        .nth(4)
        .expect("external cell")
        .split(',')
        .map(str::trim)
        .collect();
    let claims_promtext = with_cell(2, "promtext");
    let found = differences(&parse_table(&claims_promtext).expect("table"), &real);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("crate sim: the table lists promtext as a \"rockscope, dev-only\""),
        "{}",
        found[0]
    );
    // A real dependency left out.
    let others: Vec<&str> = external.iter().copied().filter(|d| *d != "tokio").collect();
    let without_tokio = with_cell(3, &others.join(", "));
    let found = differences(&parse_table(&without_tokio).expect("table"), &real);
    assert_eq!(
        found,
        [
            "crate sim: Cargo.toml has the external dependency tokio, missing from the table's \
          \"external\" column"
        ]
    );
    // The old "all" is no crate of the workspace, and a note in a cell is not a name.
    let all = with_cell(1, "all");
    let found = differences(&parse_table(&all).expect("table"), &real);
    assert_eq!(
        found,
        [
            "crate sim: the table lists all as a \"rockscope\" dependency, but its Cargo.toml has \
          no such rockscope dependency"
        ]
    );
    let noted = markdown.replace(sim_row, "| sim | — | — | tokio (runtime) | — |");
    let error = parse_table(&noted).expect_err("not names");
    assert!(
        error.starts_with("sim: \"tokio (runtime)\" is not a crate name"),
        "{error}"
    );
}
