//! The Grafana dashboard (`docs/grafana/rockscope-overview.json`). Grafana cannot run here, so
//! the JSON is checked as Grafana 10 imports it (inputs, requirements, the `cluster` variable,
//! the rows of the overview page, a datasource and a unit on every panel, units that fit the
//! families' units), and every panel's PromQL, with the variables substituted as Grafana does,
//! runs against a real Prometheus that has scraped the real binary collecting two simulated
//! clusters, one alert firing and others pending: each query must return finite values for the
//! simulated clusters.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rockscope_export::{Unit, families};
use rockscope_sim::{ClusterSpec, Fault, NodeId, SimConfig, Simulator, Version};
use serde_json::Value;

use crate::metrics::promtool_check;
use crate::prometheus::{Prometheus, PrometheusOptions};
use crate::support::{AppConfig, ConfigCluster, TestApp, wait_for};

const DASHBOARD: &str = include_str!("../../docs/grafana/rockscope-overview.json");
/// The export's contract, whose "rockscope's own health" table a telemetry test holds to what
/// rockscope writes.
const EXPORT_DOC: &str = include_str!("../../docs/EXPORT.md");
const DATASOURCE: &str = "${DS_PROMETHEUS}";
const TOKEN: &str = "grafana-e2e-token-0123456789";
/// The rows of the overview page the dashboard mirrors, then rockscope's own health.
const ROWS: [&str; 6] = [
    "Performance",
    "Resources",
    "Nodes",
    "Collector health",
    "Alerts",
    "rockscope itself",
];
/// Grafana's `$__rate_interval` at a 1 s scrape interval is 4 × 1 s at the least; a wider
/// window gives every rate more than two samples.
const RATE_INTERVAL: &str = "30s";

/// One query of one panel.
#[derive(Debug, Clone)]
struct Query {
    panel: String,
    expr: String,
    /// An instant query (tables), else a range query (graphs, stats).
    instant: bool,
}

fn dashboard() -> Value {
    serde_json::from_str(DASHBOARD).expect("the dashboard is JSON")
}

/// Every panel but rows, including those inside a collapsed row.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            out.extend(panel["panels"].as_array().into_iter().flatten());
        } else {
            out.push(panel);
        }
    }
    out
}

fn queries(dashboard: &Value) -> Vec<Query> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or_default().to_owned();
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push(Query {
                panel: title.clone(),
                expr: target["expr"].as_str().unwrap_or_default().to_owned(),
                instant: target["instant"] == true && target["range"] != true,
            });
        }
    }
    out
}

/// The `rockscope_…` metric names an expression reads.
fn metric_names(expr: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = rest.find("rockscope_") {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(&tail[..end]);
        rest = &tail[end..];
    }
    names
}

/// rockscope's own families as `docs/EXPORT.md` lists them: name, unit, and whether they carry
/// a `cluster` label.
fn own_families() -> Vec<(String, Unit, bool)> {
    let start = EXPORT_DOC
        .find("## rockscope's own health")
        .expect("EXPORT.md has the self-metrics section");
    EXPORT_DOC[start..]
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let unit = match *cells.get(3)? {
                "seconds" => Unit::Seconds,
                "bytes" => Unit::Bytes,
                _ => Unit::None,
            };
            Some((name.to_owned(), unit, cells.get(4)?.contains("`cluster`")))
        })
        .collect()
}

/// The units a panel may show a family in: its own, or, under `rate()`, its unit per second.
fn units_for(unit: Unit, rated: bool) -> &'static [&'static str] {
    match (unit, rated) {
        (Unit::Ratio, false) | (Unit::Seconds, true) => &["percentunit"],
        (Unit::Seconds, false) => &["s"],
        (Unit::Bytes, false) => &["bytes"],
        (Unit::Bytes, true) | (Unit::BytesPerSecond, false) => &["Bps"],
        (Unit::PerSecond, false) | (Unit::None, true) => &["reqps", "ops"],
        (Unit::None, false) => &["short", "none"],
        (Unit::Ratio | Unit::PerSecond | Unit::BytesPerSecond, true) => &[],
    }
}

/// The expression as Grafana sends it: `$cluster` as the selection's regex, the interval
/// variables as durations.
fn substitute(expr: &str, clusters: &str) -> String {
    expr.replace("${cluster}", clusters)
        .replace("$cluster", clusters)
        .replace("$__rate_interval", RATE_INTERVAL)
        .replace("$__interval", "2s")
        .replace("$__range", "1m")
}

#[test]
fn the_dashboard_imports_into_grafana_and_every_panel_has_a_datasource_unit_and_query() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "rockscope-overview");
    assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        dashboard["schemaVersion"]
            .as_u64()
            .is_some_and(|v| (36..=39).contains(&v)),
        "Grafana 10's schema: {}",
        dashboard["schemaVersion"]
    );
    assert_eq!(
        dashboard["id"],
        Value::Null,
        "an exported dashboard has no id"
    );
    let input = &dashboard["__inputs"][0];
    assert_eq!(
        (&input["name"], &input["type"], &input["pluginId"]),
        (
            &Value::from("DS_PROMETHEUS"),
            &Value::from("datasource"),
            &Value::from("prometheus")
        )
    );
    let requires: BTreeSet<(String, String)> = dashboard["__requires"]
        .as_array()
        .expect("__requires")
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap().into(),
                r["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(requires.contains(&("grafana".into(), "grafana".into())));
    assert!(requires.contains(&("datasource".into(), "prometheus".into())));

    let variable = dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
        .iter()
        .find(|v| v["name"] == "cluster")
        .expect("a `cluster` variable");
    assert_eq!(variable["type"], "query");
    assert_eq!(variable["datasource"]["uid"], DATASOURCE);
    let definition = variable["query"]["query"]
        .as_str()
        .or(variable["query"].as_str());
    assert_eq!(
        definition,
        Some("label_values(rockscope_cluster_up, cluster)")
    );
    assert_eq!(
        (&variable["multi"], &variable["includeAll"]),
        (&Value::Bool(true), &Value::Bool(true))
    );

    let rows: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    assert_eq!(rows, ROWS, "the rows of the overview page, in its order");

    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(
            ids.insert(panel["id"].as_u64().expect("a panel id")),
            "id twice"
        );
    }
    let families: Vec<(&str, Unit)> = families()
        .iter()
        .map(|f| (f.name.as_str(), f.unit))
        .collect();
    let own = own_families();
    assert!(
        own.iter()
            .any(|(n, _, _)| n == "rockscope_collector_cycle_duration_seconds"),
        "EXPORT.md's self-metrics table was not read"
    );
    for panel in panels(&dashboard) {
        let title = panel["title"].as_str().expect("a title");
        let kind = panel["type"].as_str().unwrap();
        assert!(
            requires.contains(&("panel".into(), kind.into())),
            "{title}: panel type {kind} not in __requires"
        );
        assert_eq!(panel["datasource"]["uid"], DATASOURCE, "{title}");
        assert_eq!(panel["datasource"]["type"], "prometheus", "{title}");
        let unit = panel["fieldConfig"]["defaults"]["unit"].as_str();
        assert!(unit.is_some_and(|u| !u.is_empty()), "{title}: no unit");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            assert_eq!(target["datasource"]["uid"], DATASOURCE, "{title}");
            assert!(target["refId"].is_string(), "{title}");
            let expr = target["expr"].as_str().expect("expr");
            assert!(!expr.trim().is_empty(), "{title}: empty expr");
            assert!(
                !expr.contains("rate(") || expr.contains("[$__rate_interval])"),
                "{title}: a rate over something else than $__rate_interval: {expr}"
            );
            let names = metric_names(expr);
            assert!(
                !names.is_empty(),
                "{title}: reads no rockscope metric: {expr}"
            );
            for name in names {
                // A histogram's quantile is in the family's unit; a rate of anything else is
                // per second.
                let (family_unit, clustered, quantile) = match families
                    .iter()
                    .find(|(n, _)| *n == name)
                {
                    Some(&(_, unit)) => (unit, true, false),
                    None => {
                        let base = name.strip_suffix("_bucket").unwrap_or(name);
                        let Some((_, unit, clustered)) = own.iter().find(|(n, _, _)| n == base)
                        else {
                            panic!(
                                "{title}: {name} is neither a cluster family nor one of rockscope's own (docs/EXPORT.md)"
                            );
                        };
                        (
                            *unit,
                            *clustered,
                            base != name && expr.contains("histogram_quantile"),
                        )
                    }
                };
                if clustered {
                    assert!(
                        expr.contains(&format!("{name}{{cluster=~\"$cluster\"}}")),
                        "{title}: {name} is not filtered by $cluster: {expr}"
                    );
                }
                let rated = !quantile && expr.contains(&format!("rate({name}"));
                let allowed = units_for(family_unit, rated);
                assert!(
                    allowed.contains(&unit.unwrap()),
                    "{title}: unit {unit:?} for {name} ({family_unit:?}, rated: {rated}); expected one of {allowed:?}"
                );
            }
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The results of one query of the dashboard, or why they are not what a panel needs: no
/// result, a value that is not finite, a cluster label of another cluster, or a cluster of
/// `expected` missing.
fn check_query(
    prometheus: &Prometheus,
    query: &Query,
    clusters: &str,
    expected: &BTreeSet<String>,
) -> Result<(), String> {
    let expr = substitute(&query.expr, clusters);
    let results = if query.instant {
        prometheus.query(&expr)
    } else {
        let end = unix_now();
        prometheus.query_range(&expr, end - 20.0, end, 2.0)
    };
    let describe = |problem: &str| format!("{}: `{expr}`: {problem}", query.panel);
    if results.is_empty() {
        return Err(describe("no data"));
    }
    let mut seen = BTreeSet::new();
    for series in &results {
        let values: Vec<&Value> = match series.get("values") {
            Some(values) => values.as_array().unwrap().iter().map(|v| &v[1]).collect(),
            None => vec![&series["value"][1]],
        };
        for value in values {
            let parsed = value.as_str().and_then(|v| v.parse::<f64>().ok());
            if !parsed.is_some_and(f64::is_finite) {
                return Err(describe(&format!("value {value} in {}", series["metric"])));
            }
        }
        if let Some(cluster) = series["metric"]["cluster"].as_str() {
            if !expected.contains(cluster) {
                return Err(describe(&format!("cluster {cluster} not selected")));
            }
            seen.insert(cluster.to_owned());
        }
    }
    if !seen.is_empty() && &seen != expected {
        return Err(describe(&format!(
            "clusters {seen:?}, expected {expected:?}"
        )));
    }
    Ok(())
}

#[test]
fn every_dashboard_query_returns_data_for_the_simulated_clusters_from_a_real_prometheus() {
    let specs = ["sim-1", "sim-2"]
        .map(|name| ClusterSpec::new(name, 1, 2, Version::V3_3).with_cns(1))
        .to_vec();
    let sim = Simulator::start(SimConfig::with_clusters(specs)).unwrap();
    let clusters = sim.clusters();
    let (failing, quiet) = (&clusters[0], &clusters[1]);
    // One alert fires (a backend of sim-1 down, with its instance), one is pending on both
    // clusters (always true, for an hour).
    let rules = "[alerts]\n\n\
         [[alerts.rules]]\nname = \"GrafanaBackendDown\"\nexpr = \"be.alive == 0\"\nseverity = \"critical\"\n\n\
         [[alerts.rules]]\nname = \"GrafanaAlwaysPending\"\nexpr = \"backend_total >= 0\"\nfor = \"1h\"\nseverity = \"info\"\n";
    let config = AppConfig::default()
        .token(TOKEN)
        .rust_log("info")
        .cluster(ConfigCluster::from_sim(failing))
        .cluster(ConfigCluster::from_sim(quiet))
        .section(rules);
    let app = TestApp::start(config);
    for cluster in &clusters {
        app.wait_for_snapshots(app.cluster_id(&cluster.name), 2, Duration::from_secs(20));
    }
    sim.set_fault(&failing.name, NodeId::be(0), Fault::Down)
        .unwrap();
    let prometheus = Prometheus::start(PrometheusOptions {
        scrape: Some((app.addr().to_string(), Some(TOKEN.to_owned()))),
        honor_labels: true,
        ..PrometheusOptions::default()
    });

    // The alerts row's data: the firing alert with its node's labels, pending on both.
    let down_be = failing
        .nodes
        .iter()
        .find(|n| n.id == NodeId::be(0))
        .unwrap();
    let firing = format!(
        "rockscope_alerts{{alertname=\"GrafanaBackendDown\",alertstate=\"firing\",cluster=\"{}\",\
         instance=\"{}\",node_type=\"be\",severity=\"critical\"}}",
        failing.name, down_be.addr
    );
    wait_for(&firing, Duration::from_secs(60), || {
        (prometheus.query(&firing).len() == 1).then_some(())
    });
    let pending = "rockscope_alerts{alertname=\"GrafanaAlwaysPending\",alertstate=\"pending\"}";
    assert_eq!(
        prometheus.query(pending).len(),
        2,
        "pending on both clusters"
    );

    // The variable's values: the simulated clusters.
    let values = prometheus.query("group by (cluster) (rockscope_cluster_up)");
    let listed: BTreeSet<String> = values
        .iter()
        .map(|v| v["metric"]["cluster"].as_str().unwrap().to_owned())
        .collect();
    let all: BTreeSet<String> = clusters.iter().map(|c| c.name.clone()).collect();
    assert_eq!(listed, all, "label_values(rockscope_cluster_up, cluster)");

    // Every metric the dashboard reads is on /metrics, which promtool finds clean.
    let dashboard = dashboard();
    let queries = queries(&dashboard);
    let body = app.get("/metrics").body;
    assert_eq!(promtool_check(&body), "", "with alerts, /metrics:\n{body}");
    for query in &queries {
        for name in metric_names(&query.expr) {
            assert!(
                body.contains(&format!("\n{name}{{")) || body.contains(&format!("\n{name} ")),
                "{}: {name} is not on /metrics",
                query.panel
            );
        }
    }

    // Each query, for all clusters (Grafana's regex of a multi-value selection) and for one;
    // retried while Prometheus gathers the samples that rates need.
    let selections = [
        (format!("({}|{})", failing.name, quiet.name), all.clone()),
        (quiet.name.clone(), BTreeSet::from([quiet.name.clone()])),
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let problems: Vec<String> = selections
            .iter()
            .flat_map(|(regex, expected)| {
                queries
                    .iter()
                    .filter_map(|q| check_query(&prometheus, q, regex, expected).err())
            })
            .collect();
        if problems.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} queries without data for the simulated clusters:\n{}\n/metrics:\n{body}",
            problems.len(),
            queries.len() * selections.len(),
            problems.join("\n")
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}
