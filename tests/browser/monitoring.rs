//! The pages an operator reads: cluster list, cluster overview, collector.

use std::time::Duration;

use rockscope_sim::{ClusterSpec, Fault, NodeId, SimConfig, Simulator, Version};
use serde_json::Value;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};

use crate::driver::Browser;
use crate::run;
use crate::support::{AppConfig, ConfigCluster, TestApp, wait_for};

const XSS_NAME: &str = "<img src=x onerror=alert(1)>";

/// Counts the page's finished requests whose URL contains `needle` (Resource Timing).
fn requests_matching(needle: &str) -> String {
    format!(
        "return performance.getEntriesByType('resource')\
           .filter(e => e.name.includes({})).length",
        Value::String(needle.to_owned())
    )
}

#[test]
fn cluster_list_overview_and_collector_pages() {
    let sim = Simulator::start(SimConfig::with_clusters(vec![
        ClusterSpec::new("sim-ok", 1, 2, Version::V3_3),
        ClusterSpec::new("sim-dead-be", 1, 3, Version::V3_3),
        ClusterSpec::new("sim-gap", 1, 1, Version::V3_3),
        ClusterSpec::new("sim-xss", 1, 1, Version::V3_0),
    ]))
    .expect("simulator");
    let info = |name: &str| ConfigCluster::from_sim(&sim.cluster(name).unwrap());
    let xss = ConfigCluster {
        name: XSS_NAME.to_owned(),
        ..info("sim-xss")
    };
    let app = TestApp::start(
        AppConfig::default()
            .rust_log("info")
            .cluster(info("sim-ok"))
            .cluster(info("sim-dead-be"))
            .cluster(info("sim-gap"))
            .cluster(xss),
    );
    // The FE marks the second BE dead (it keeps serving its metrics).
    sim.set_fault("sim-dead-be", NodeId::be(1), Fault::Dead)
        .unwrap();
    let dead_be_id = app.cluster_id("sim-dead-be");
    let gap_id = app.cluster_id("sim-gap");
    let dead_node = wait_for(
        "the dead BE in the nodes list",
        Duration::from_secs(20),
        || {
            let nodes = app
                .get(&format!("/api/clusters/{dead_be_id}/nodes"))
                .expect(200);
            nodes
                .as_array()?
                .iter()
                .find(|n| n["alive"] == false)
                .map(|n| n["node_id"].as_str().unwrap().to_owned())
        },
    );
    make_a_gap(&sim, &app, gap_id);

    run(async {
        let browser = Browser::start().await;
        let base = format!("http://{}", app.addr());

        // Cluster list: every cluster with its health; the XSS name as text.
        browser.goto(&format!("{base}/")).await;
        let cards = browser
            .wait_js(
                "four cluster cards with their health",
                "const cards = [...document.querySelectorAll('.cluster-card')];
                 const out = cards.map(c => ({
                   name: c.querySelector('.cluster-name').textContent,
                   health: c.querySelector('.badge').dataset.health }));
                 return out.length === 4 && out.find(c => c.name === 'sim-dead-be')?.health === 'degraded'
                   && out.find(c => c.name === 'sim-ok')?.health === 'healthy' ? out : null;",
            )
            .await;
        let names: Vec<&str> = cards
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&XSS_NAME), "{cards}");
        let injected = browser
            .js("return document.querySelectorAll('main img, main [onerror]').length")
            .await;
        assert_eq!(injected, 0, "the cluster name was parsed as HTML");
        let reason = browser
            .js("return [...document.querySelectorAll('.cluster-card')]
                   .find(c => c.querySelector('.cluster-name').textContent === 'sim-dead-be')
                   .querySelector('.reason').textContent")
            .await;
        assert_eq!(reason, "1 of 4 nodes are not alive.");
        browser.assert_no_console_errors("/", &[]).await;
        browser.screenshots("clusters").await;

        // Cluster overview: degraded, the dead node first in the table.
        browser.goto(&format!("{base}/clusters/{dead_be_id}")).await;
        let first_row = browser
            .wait_js(
                "the nodes table",
                "const row = document.querySelector('table.nodes tbody tr[data-node-id]');
                 return row ? {id: row.dataset.nodeId, alive: row.dataset.alive} : null;",
            )
            .await;
        assert_eq!(first_row["id"], dead_node.as_str(), "{first_row}");
        assert_eq!(first_row["alive"], "false");
        let badge = browser
            .wait_js(
                "the health badge",
                "return document.querySelector('.head-badge .badge')?.dataset.health",
            )
            .await;
        assert_eq!(badge, "degraded");
        browser
            .wait_js(
                "charts with points",
                "return document.querySelector('.chart')?.dataset.points > 0",
            )
            .await;
        browser
            .assert_no_console_errors("/clusters/{id}", &[])
            .await;
        browser.screenshots("cluster-overview").await;
        browser
            .screenshots_at("cluster-overview-nodes", Some("table.nodes"))
            .await;

        // Changing the range asks the API for that range and redraws the charts.
        assert_eq!(browser.js(&requests_matching("time_range=6h")).await, 0);
        let loads_before: u64 = loads(&browser).await;
        browser
            .js("const s = [...document.querySelectorAll('select')]
                   .find(s => s.labels[0].textContent === 'Time range');
                 s.value = '6h'; s.dispatchEvent(new Event('change')); return true;")
            .await;
        browser
            .wait_js(
                "a 6h overview request",
                &requests_matching("/overview?time_range=6h&max_points=240"),
            )
            .await;
        browser
            .wait_js(
                "the charts redrawn for 6h",
                &format!(
                    "return document.getElementById('main').dataset.timeRange === '6h'
                       && Number(document.body.dataset.loads) > {loads_before}"
                ),
            )
            .await;

        // A series with nulls draws a gap: two segments in the CPU chart of sim-gap.
        browser.goto(&format!("{base}/clusters/{gap_id}")).await;
        browser
            .js("const s = [...document.querySelectorAll('select')]
                   .find(s => s.labels[0].textContent === 'Time range');
                 s.value = '15m'; s.dispatchEvent(new Event('change')); return true;")
            .await;
        let segments = browser
            .wait_js(
                "the CPU chart of 15m",
                "const fig = [...document.querySelectorAll('.chart')]
                   .find(f => f.querySelector('.chart-title').textContent === 'CPU');
                 return document.getElementById('main').dataset.timeRange === '15m'
                   && fig.dataset.segments ? JSON.parse(fig.dataset.segments) : null;",
            )
            .await;
        assert!(
            segments["cpu_usage"].as_u64().unwrap() >= 2,
            "no gap drawn: {segments}"
        );
        check_chart_interactions(&browser).await;
        browser
            .screenshots_at("cluster-overview-charts", Some(".charts"))
            .await;
        browser
            .assert_no_console_errors("/clusters/{gap}", &[])
            .await;

        // Auto-refresh at an injected interval fetches again.
        browser
            .goto(&format!("{base}/clusters/{dead_be_id}?refresh_ms=400"))
            .await;
        browser
            .wait_js("the first load", "return document.body.dataset.loads")
            .await;
        let overview_requests = requests_matching(&format!("/api/clusters/{dead_be_id}/overview"));
        let first = browser.js(&overview_requests).await.as_u64().unwrap();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let later = browser.js(&overview_requests).await.as_u64().unwrap();
        assert!(
            later >= first + 3,
            "auto-refresh every 400 ms made {first} then {later} requests in 2.5 s"
        );
        browser
            .assert_no_console_errors("/clusters/{id}?refresh_ms", &[])
            .await;

        // Collector: one row per cluster, with its last attempt.
        browser.goto(&format!("{base}/collector")).await;
        browser
            .wait_js(
                "the collector's four clusters",
                "return document.querySelectorAll('tbody tr[data-cluster-id]').length === 4",
            )
            .await;
        browser.assert_no_console_errors("/collector", &[]).await;
        browser.screenshots("collector").await;
        browser.close().await;
    });
}

/// With the mouse: hover shows the time and the value with its unit; a legend click hides a
/// series; a drag zooms in and "Reset zoom" goes back.
async fn check_chart_interactions(browser: &Browser) {
    // QPS comes from the FE, so it has no gap while the BE was down.
    let qps = ".chart[data-title='Queries and requests'] .chart-overlay";
    let overlay = browser
        .client
        .find(Locator::Css(qps))
        .await
        .expect("the QPS chart");
    let width = browser
        .js(&format!(
            "return document.querySelector(\"{qps}\").getBoundingClientRect().width"
        ))
        .await
        .as_f64()
        .unwrap();
    // The newest points are at the right end of the 15 minutes.
    let hover = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: overlay.clone(),
        duration: None,
        x: width / 2.0 - 14.0,
        y: 0.0,
    });
    browser.client.perform_actions(hover).await.expect("hover");
    let tip = browser
        .wait_js(
            "the hover tooltip",
            "const tip = document.querySelector(\".chart[data-title='Queries and requests'] .chart-tip\");
             return tip && !tip.hidden ? tip.textContent : null",
        )
        .await;
    let tip = tip.as_str().unwrap();
    assert!(
        tip.contains("QPS: ") && tip.contains("/s"),
        "no value with its unit in {tip:?}"
    );
    assert!(
        tip.chars().filter(|c| *c == ':').count() >= 3,
        "no time in {tip:?}"
    );

    browser
        .click(".chart[data-title='Queries and requests'] button[data-series='rps']")
        .await;
    let hidden = browser
        .js("const fig = document.querySelector(\".chart[data-title='Queries and requests']\");
             return {segments: JSON.parse(fig.dataset.segments),
               pressed: fig.querySelector(\"button[data-series='rps']\").getAttribute('aria-pressed')}")
        .await;
    assert_eq!(hidden["segments"]["rps"], 0, "{hidden}");
    assert!(hidden["segments"]["qps"].as_u64().unwrap() >= 1, "{hidden}");
    assert_eq!(hidden["pressed"], "false");

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
    browser
        .wait_js(
            "the zoomed chart's reset button",
            "const fig = document.querySelector(\".chart[data-title='Queries and requests']\");
             return !fig.querySelector('.chart-reset').hidden && fig.dataset.zoomed === 'true'",
        )
        .await;
    browser
        .click(".chart[data-title='Queries and requests'] .chart-reset")
        .await;
    let reset = browser
        .js("const fig = document.querySelector(\".chart[data-title='Queries and requests']\");
             return {button_hidden: fig.querySelector('.chart-reset').hidden, zoomed: fig.dataset.zoomed}")
        .await;
    assert_eq!(reset["button_hidden"], true, "{reset}");
    assert_eq!(reset["zoomed"], "false", "{reset}");
}

async fn loads(browser: &Browser) -> u64 {
    browser
        .js("return Number(document.body.dataset.loads || 0)")
        .await
        .as_u64()
        .unwrap()
}

/// Takes sim-gap's only BE down long enough for several 15m buckets (3.75 s each) to hold only
/// null CPU values, then brings it back, and checks through the API that the CPU trend holds
/// nulls between values (the premise of the gap check).
fn make_a_gap(sim: &Simulator, app: &TestApp, id: i64) {
    let cpu = |app: &TestApp| -> Vec<Value> {
        let overview = app
            .get(&format!(
                "/api/clusters/{id}/overview?time_range=15m&max_points=240"
            ))
            .expect(200);
        overview["resource_trends"]["cpu_usage"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["value"].clone())
            .collect()
    };
    wait_for("CPU values before the gap", Duration::from_secs(30), || {
        (cpu(app).iter().filter(|v| v.is_number()).count() >= 2).then_some(())
    });
    sim.set_fault("sim-gap", NodeId::be(0), Fault::Down)
        .unwrap();
    std::thread::sleep(Duration::from_secs(12));
    sim.set_fault("sim-gap", NodeId::be(0), Fault::None)
        .unwrap();
    wait_for("CPU values after the gap", Duration::from_secs(30), || {
        let values = cpu(app);
        let first_null = values.iter().position(Value::is_null)?;
        values[first_null..]
            .iter()
            .any(Value::is_number)
            .then_some(())
    });
}

/// When the service goes away, a refresh fails: a notice shows, the cards stay, marked stale.
#[test]
fn failed_refresh_keeps_the_data_marked_stale() {
    let sim = Simulator::start(SimConfig::with_clusters(vec![ClusterSpec::new(
        "sim-stale",
        1,
        1,
        Version::V3_3,
    )]))
    .expect("simulator");
    let app = TestApp::start(
        AppConfig::default()
            .rust_log("info")
            .cluster(ConfigCluster::from_sim(&sim.cluster("sim-stale").unwrap())),
    );
    let id = app.cluster_id("sim-stale");
    app.wait_for_snapshots(id, 1, Duration::from_secs(20));
    let base = format!("http://{}", app.addr());

    run(async move {
        let browser = Browser::start().await;
        browser.goto(&format!("{base}/?refresh_ms=300")).await;
        browser
            .wait_js(
                "the cluster card",
                "return document.querySelector('.cluster-card .cluster-name')?.textContent === 'sim-stale'",
            )
            .await;
        browser.assert_no_console_errors("/", &[]).await;
        drop(app);
        let notice = browser
            .wait_js(
                "a notice and the stale mark",
                "const n = document.querySelector('#notices .notice');
                 return n && document.querySelector('.cluster-list.stale') ? n.textContent : null",
            )
            .await;
        assert!(
            notice.as_str().unwrap().contains("Refresh failed"),
            "{notice}"
        );
        let still = browser
            .js("return document.querySelector('.cluster-card .cluster-name')?.textContent")
            .await;
        assert_eq!(still, "sim-stale", "the last data must stay on screen");
        let updated = browser
            .js("return document.querySelector('.updated').textContent")
            .await;
        assert!(updated.as_str().unwrap().contains("stale"), "{updated}");
        browser.screenshots("clusters-stale").await;
        // Only the refused connections, no script error.
        browser
            .assert_no_console_errors("/ (service gone)", &["ERR_CONNECTION_REFUSED"])
            .await;
        browser.close().await;
    });
}
