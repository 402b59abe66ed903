//! The cluster page's "Custom" chart group (issue 16): one chart per `[[collector.custom_metrics]]`
//! definition after Resources, titled by its name and described by its description, its range
//! statistics equal to the API's `custom_statistics` in its unit, a series no node has shown as
//! no data (never 0), a warning marker for a definition with warnings, charts updated in place
//! by auto-refresh (a zoom survives it), the group fitting a 390 px phone; and no group at all
//! on a rockscope without definitions.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use rockscope_sim::{ClusterSpec, SimConfig, Simulator, Version};
use serde_json::{Value, json};

use crate::driver::{Browser, PAGE_TIMEOUT};
use crate::run;
use crate::support::{AppConfig, ConfigCluster, TestApp, wait_for};

/// A gauge summed over the BEs (bytes), a ratio of two definitions, a series no node has, and
/// a rate over a gauge (a definition with a warning).
const DEFINITIONS: &str = r#"
[[collector.custom_metrics]]
name = "be_process_mem"
metric = "starrocks_be_process_mem_bytes"
node_types = ["be"]
aggregate = "sum"
unit = "bytes"
description = "Process memory of every BE, summed"

[[collector.custom_metrics]]
name = "query_mem_share"
metric = "starrocks_be_query_mem_bytes"
node_types = ["be"]
aggregate = "sum"
ratio_of = "be_process_mem"
unit = "ratio"
description = "Query memory as a share of process memory"

[[collector.custom_metrics]]
name = "absent_everywhere"
metric = "starrocks_be_no_such_series_total"
node_types = ["be", "cn"]
aggregate = "sum"
rate = true
unit = "per_second"
description = "A series no node serves"

[[collector.custom_metrics]]
name = "process_mem_growth"
metric = "starrocks_be_process_mem_bytes"
node_types = ["be"]
aggregate = "max"
rate = true
unit = "bytes_per_second"
"#;

const OVERVIEW_1H: &str = "overview?time_range=1h&max_points=240";

fn start_sim() -> Simulator {
    Simulator::start(SimConfig::with_clusters(vec![ClusterSpec::new(
        "sim-custom",
        1,
        2,
        Version::V3_3,
    )]))
    .expect("simulator")
}

fn start_app(sim: &Simulator, definitions: Option<&str>) -> TestApp {
    let config = AppConfig::default()
        .rust_log("info")
        .cluster(ConfigCluster::from_sim(&sim.cluster("sim-custom").unwrap()));
    TestApp::start(match definitions {
        Some(toml) => config.section(toml),
        None => config,
    })
}

#[test]
fn custom_group_has_a_chart_per_definition_with_the_apis_values() {
    let sim = start_sim();
    let app = start_app(&sim, Some(DEFINITIONS));
    let id = app.cluster_id("sim-custom");
    let definitions = wait_for(
        "the rate-on-a-gauge warning and values of every present series",
        Duration::from_secs(30),
        || {
            let defs = app.get("/api/custom-metrics").expect(200)["custom_metrics"].clone();
            let growth = defs
                .as_array()?
                .iter()
                .find(|d| d["name"] == "process_mem_growth")?;
            let overview = app
                .get(&format!("/api/clusters/{id}/{OVERVIEW_1H}"))
                .expect(200);
            let present = ["be_process_mem", "query_mem_share", "process_mem_growth"]
                .iter()
                .all(|name| numbers(&overview["custom_trends"][name]) >= 2);
            (present && !growth["warnings"].as_array()?.is_empty()).then_some(defs)
        },
    );
    let names: Vec<&str> = definitions
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{definitions}");
    // The premise of "no data rather than 0": the API has only nulls for the absent series.
    let overview = app
        .get(&format!("/api/clusters/{id}/{OVERVIEW_1H}"))
        .expect(200);
    let absent = &overview["custom_trends"]["absent_everywhere"];
    assert!(
        absent
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["value"].is_null()),
        "{absent}"
    );
    assert!(
        overview["custom_statistics"]["absent_everywhere"]["avg"].is_null(),
        "{}",
        overview["custom_statistics"]
    );
    let base = format!("http://{}", app.addr());

    run(async {
        let browser = Browser::start().await;
        browser
            .goto(&format!("{base}/clusters/{id}?refresh_ms=500"))
            .await;
        let charts = browser
            .wait_js(
                "the Custom group with four charts",
                "const figs = [...document.querySelectorAll('section[aria-label=Custom] .chart')];
                 return figs.length === 4 && figs.every(f => f.dataset.segments) ? figs.map(f => ({
                   custom: f.dataset.custom,
                   title: f.querySelector('.chart-title').textContent,
                   tooltip: f.querySelector('.chart-title').title,
                   subtitle: f.querySelector('.chart-subtitle')?.textContent ?? null,
                   warning: f.querySelector('.warn-mark')?.title ?? null,
                   segments: JSON.parse(f.dataset.segments), empty: f.dataset.empty,
                   summary: f.querySelector('.chart-overlay').getAttribute('aria-label') })) : null;",
            )
            .await;
        let charts = charts.as_array().unwrap();
        // One chart per definition, in the API's order, titled by the name.
        let titles: Vec<&str> = charts
            .iter()
            .map(|c| c["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, names);
        for (chart, def) in charts.iter().zip(definitions.as_array().unwrap()) {
            assert_eq!(chart["custom"], def["name"]);
            let description = def["description"].as_str();
            assert_eq!(chart["subtitle"].as_str(), description, "{chart}");
            assert_eq!(
                chart["tooltip"].as_str().unwrap(),
                description.unwrap_or(""),
                "{chart}"
            );
            let warnings: Vec<&str> = def["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w.as_str().or(w["message"].as_str()).unwrap())
                .collect();
            let expected = (!warnings.is_empty()).then(|| warnings.join("\n"));
            assert_eq!(chart["warning"].as_str(), expected.as_deref(), "{chart}");
        }
        let chart = |name: &str| charts.iter().find(|c| c["custom"] == name).unwrap();
        assert!(chart("process_mem_growth")["warning"].is_string());
        // The unit's formatting in each chart's latest value; the absent series draws nothing.
        for (name, unit) in [
            ("be_process_mem", "iB"),
            ("query_mem_share", " %"),
            ("process_mem_growth", "/s"),
        ] {
            let c = chart(name);
            assert!(c["segments"][name].as_u64().unwrap() >= 1, "{c}");
            assert_eq!(c["empty"], "false", "{c}");
            assert!(c["summary"].as_str().unwrap().ends_with(unit), "{c}");
        }
        let absent = chart("absent_everywhere");
        assert_eq!(
            absent["segments"],
            json!({"absent_everywhere": 0}),
            "{absent}"
        );
        assert_eq!(
            absent["empty"], "true",
            "no value axis, 'No data in this range': {absent}"
        );
        assert!(
            absent["summary"]
                .as_str()
                .unwrap()
                .ends_with("latest no data"),
            "{absent}"
        );

        // The group sits between Resources and Statistics.
        let headings = browser
            .js("return [...document.querySelectorAll('main h2')].map(h => h.textContent)")
            .await;
        let headings: Vec<&str> = headings
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        let at = |h: &str| headings.iter().position(|x| *x == h).unwrap();
        assert_eq!(at("Custom"), at("Resources") + 1, "{headings:?}");
        assert_eq!(at("Statistics"), at("Custom") + 1, "{headings:?}");

        statistics_equal_the_apis(&browser, &app, id, &names).await;
        zoom_survives_auto_refresh(&browser).await;
        browser
            .assert_no_console_errors("/clusters/{id} with custom metrics", &[])
            .await;

        // A phone: nothing scrolls sideways, every custom chart within the screen.
        browser.size(390, 844).await;
        let fits = browser
            .wait_js(
                "the page laid out at 390 px",
                "const w = document.documentElement.clientWidth;
                 const figs = [...document.querySelectorAll('section[aria-label=Custom] .chart')];
                 return window.innerWidth === 390 && figs.length === 4 ? {
                   scroll: document.documentElement.scrollWidth, width: w,
                   widest: Math.max(...figs.map(f => f.getBoundingClientRect().right)) } : null",
            )
            .await;
        assert!(
            fits["scroll"].as_f64().unwrap() <= fits["width"].as_f64().unwrap()
                && fits["widest"].as_f64().unwrap() <= fits["width"].as_f64().unwrap(),
            "sideways scroll at 390 px: {fits}"
        );
        browser
            .screenshots_at("cluster-custom", Some("section[aria-label=Custom]"))
            .await;
        browser
            .screenshots_at("cluster-custom-statistics", Some("table.stats"))
            .await;
        browser.close().await;
    });
}

#[test]
fn no_custom_group_without_definitions() {
    let sim = start_sim();
    let app = start_app(&sim, None);
    assert_eq!(
        app.get("/api/custom-metrics").expect(200),
        json!({"custom_metrics": []})
    );
    let id = app.cluster_id("sim-custom");
    app.wait_for_snapshots(id, 2, Duration::from_secs(20));
    let base = format!("http://{}", app.addr());

    run(async {
        let browser = Browser::start().await;
        browser
            .goto(&format!("{base}/clusters/{id}?refresh_ms=500"))
            .await;
        browser
            .wait_js(
                "two loads with charts drawn",
                "return Number(document.body.dataset.loads) >= 2
                   && document.querySelector('.chart')?.dataset.points > 0",
            )
            .await;
        let custom = browser
            .js("return {
                   sections: document.querySelectorAll('section[aria-label=Custom], .custom-group').length,
                   headings: [...document.querySelectorAll('main h2')].filter(h => h.textContent === 'Custom').length,
                   charts: document.querySelectorAll('.chart[data-custom]').length,
                   rows: document.querySelectorAll('table.stats tr[data-custom]').length }")
            .await;
        assert_eq!(
            custom,
            json!({"sections": 0, "headings": 0, "charts": 0, "rows": 0})
        );
        browser
            .assert_no_console_errors("/clusters/{id} without custom metrics", &[])
            .await;
        browser.close().await;
    });
}

/// How many numbers a trend (`[{timestamp, value}]`) holds.
fn numbers(trend: &Value) -> usize {
    trend
        .as_array()
        .map(|points| points.iter().filter(|p| p["value"].is_number()).count())
        .unwrap_or(0)
}

/// The statistics table's custom rows show the API's `custom_statistics` in each definition's
/// unit. The page and the test read at different moments while a snapshot lands every second,
/// so this waits for a moment when both have read the same snapshots.
async fn statistics_equal_the_apis(browser: &Browser, app: &TestApp, id: i64, names: &[&str]) {
    let deadline = Instant::now() + PAGE_TIMEOUT;
    loop {
        let shown = browser
            .js("return Object.fromEntries([...document.querySelectorAll('table.stats tr[data-custom]')]
                   .map(r => [r.dataset.custom, [...r.cells].map(c => c.textContent)]))")
            .await;
        let stats = app
            .get(&format!("/api/clusters/{id}/{OVERVIEW_1H}"))
            .expect(200)["custom_statistics"]
            .clone();
        let expected: Value = names
            .iter()
            .map(|name| {
                let st = &stats[*name];
                let cell = |key: &str| shown_as(name, st[key].as_f64());
                let count = st["count"]
                    .as_u64()
                    .map_or(DASH.to_owned(), |n| n.to_string());
                let row = json!([name, cell("avg"), cell("min"), cell("max"), count]);
                (name.to_string(), row)
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        if shown == expected {
            let absent = &shown["absent_everywhere"];
            assert_eq!(absent[1], DASH, "{absent}");
            assert_eq!(absent[3], DASH, "{absent}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the page's custom statistics {shown} never equalled the API's {expected}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Drags across a custom chart to zoom it; two auto-refreshes later it is the same chart,
/// still zoomed; "Reset zoom" goes back.
async fn zoom_survives_auto_refresh(browser: &Browser) {
    let fig = ".chart[data-custom='be_process_mem']";
    let overlay = browser
        .client
        .find(Locator::Css(&format!("{fig} .chart-overlay")))
        .await
        .expect("the be_process_mem chart");
    let width = browser
        .js(&format!(
            "const f = document.querySelector(\"{fig}\"); f.marked = true;
             f.scrollIntoView({{block: 'center'}});
             return f.querySelector('.chart-overlay').getBoundingClientRect().width"
        ))
        .await
        .as_f64()
        .unwrap();
    let drag = MouseActions::new("mouse".into())
        .then(PointerAction::MoveToElement {
            element: overlay.clone(),
            duration: None,
            x: width / 2.0 - 120.0,
            y: 0.0,
        })
        .then(PointerAction::Down {
            button: MOUSE_BUTTON_LEFT,
        })
        .then(PointerAction::MoveToElement {
            element: overlay.clone(),
            duration: Some(Duration::from_millis(100)),
            x: width / 2.0 - 10.0,
            y: 0.0,
        })
        .then(PointerAction::Up {
            button: MOUSE_BUTTON_LEFT,
        });
    browser.client.perform_actions(drag).await.expect("drag");
    let loads = browser
        .wait_js(
            "the zoomed custom chart",
            &format!(
                "const f = document.querySelector(\"{fig}\");
                 return f.dataset.zoomed === 'true' && !f.querySelector('.chart-reset').hidden
                   ? Number(document.body.dataset.loads) : 0"
            ),
        )
        .await
        .as_u64()
        .unwrap();
    let after = browser
        .wait_js(
            "two more loads",
            &format!(
                "return Number(document.body.dataset.loads) >= {} &&
                   (f => ({{same: f.marked === true, zoomed: f.dataset.zoomed}}))(document.querySelector(\"{fig}\"))",
                loads + 2
            ),
        )
        .await;
    assert_eq!(after, json!({"same": true, "zoomed": "true"}));
    browser.click(&format!("{fig} .chart-reset")).await;
    let reset = browser
        .js(&format!(
            "return document.querySelector(\"{fig}\").dataset.zoomed"
        ))
        .await;
    assert_eq!(reset, "false");
}

const DASH: &str = "—";

/// A value of `DEFINITIONS`' metric `name` as its unit shows it on the page.
fn shown_as(name: &str, v: Option<f64>) -> String {
    match (name, v) {
        (_, None) => DASH.to_owned(),
        ("be_process_mem", v) => bytes(v),
        ("query_mem_share", v) => percent(v.map(|r| r * 100.0)),
        ("process_mem_growth", v) => format!("{}/s", bytes(v)),
        (name, Some(v)) => format!("{name} has a value ({v}) where no node has the series"),
    }
}

/// format.js' `pct`: one decimal and " %".
fn percent(v: Option<f64>) -> String {
    v.map_or(DASH.to_owned(), |v| format!("{v:.1} %"))
}

/// format.js' `bytes`: binary units, two decimals under 10, one above.
fn bytes(v: Option<f64>) -> String {
    let Some(v) = v else {
        return DASH.to_owned();
    };
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = v.abs();
    let mut i = 0;
    while x >= 1024.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    let digits = match (i, x < 10.0) {
        (0, _) => 0,
        (_, true) => 2,
        (_, false) => 1,
    };
    format!("{sign}{x:.digits$} {}", UNITS[i])
}
