//! The page's speed and memory figures for docs/BENCHMARKS.md. Not a timed test: ignored, run
//! by hand (`cargo test -p rockscope --test browser -- --ignored --nocapture figures`), and it
//! prints what it measured.

use std::time::Duration;

use rockscope_sim::{ClusterSpec, SimConfig, Simulator, Version};

use crate::driver::Browser;
use crate::run;
use crate::support::{AppConfig, ConfigCluster, TestApp};

/// One hour of auto-refresh every 15 s.
const REFRESHES: u64 = 240;

#[test]
#[ignore = "measurements for docs/BENCHMARKS.md; run by hand"]
fn figures() {
    let sim = Simulator::start(SimConfig::with_clusters(vec![ClusterSpec::new(
        "sim-figures",
        3,
        4,
        Version::V3_3,
    )]))
    .expect("simulator");
    let app = TestApp::start(AppConfig::default().rust_log("warn").cluster(
        ConfigCluster::from_sim(&sim.cluster("sim-figures").unwrap()),
    ));
    let id = app.cluster_id("sim-figures");
    app.wait_for_snapshots(id, 5, Duration::from_secs(30));

    run(async {
        let browser = Browser::start().await;
        let base = format!("http://{}", app.addr());

        // First page: navigation start to the first data drawn, on loopback (cold browser).
        browser.goto(&format!("{base}/clusters/{id}")).await;
        browser
            .wait_js("first data", "return document.body.dataset.loads")
            .await;
        let first = browser
            .js("const n = performance.getEntriesByType('navigation')[0];
                 const d = performance.getEntriesByName('rockscope:first-data')[0];
                 const assets = performance.getEntriesByType('resource')
                   .filter(e => e.name.includes('/assets/'));
                 return {dom_content_loaded_ms: n.domContentLoadedEventEnd, load_ms: n.loadEventEnd,
                   first_data_ms: d.startTime,
                   html_encoded_bytes: n.encodedBodySize,
                   assets_encoded_bytes: assets.reduce((s, e) => s + e.encodedBodySize, 0),
                   assets_decoded_bytes: assets.reduce((s, e) => s + e.decodedBodySize, 0),
                   assets: assets.length}")
            .await;
        println!("first page: {first:#}");

        // 7d: 9 charts, 14 series x 240 points (synthetic, some nulls), drawn by the page's
        // own chart module, 20 times; the median.
        let charting = browser
            .js("return import('/assets/chart.js').then(({TimeChart}) => {
                   const to = Date.now(), from = to - 7 * 864e5, step = (to - from) / 240;
                   const groups = [2, 3, 1, 1, 1, 1, 1, 2, 2];
                   const charts = groups.map((n, g) => {
                     const c = new TimeChart({title: 'c' + g, format: v => v.toFixed(1),
                       series: Array.from({length: n}, (_, i) => ({key: 's' + i, label: 's' + i}))});
                     document.getElementById('main').appendChild(c.el);
                     return c;
                   });
                   const data = n => Object.fromEntries(Array.from({length: n}, (_, i) => ['s' + i,
                     Array.from({length: 240}, (_, k) => ({timestamp: new Date(from + k * step).toISOString(),
                       value: k % 50 === 7 ? null : 50 + 40 * Math.sin(k / 9 + i)}))]));
                   const inputs = groups.map(n => data(n));
                   const times = [];
                   for (let r = 0; r < 20; r++) {
                     const t0 = performance.now();
                     charts.forEach((c, g) => c.setData({from, to, bucketMs: step, series: inputs[g]}));
                     times.push(performance.now() - t0);
                   }
                   times.sort((a, b) => a - b);
                   const drawn = charts.every((c, g) => c.el.dataset.points === String(groups[g] * 240));
                   return {median_ms: times[10], max_ms: times[19], every_point_drawn: drawn,
                     series: groups.reduce((a, b) => a + b), points_per_series: 240};
                 });")
            .await;
        println!("7d charting: {charting:#}");

        // Memory: an hour of 15 s auto-refresh, compressed into a 100 ms period.
        browser
            .goto(&format!("{base}/clusters/{id}?refresh_ms=100"))
            .await;
        browser
            .wait_js("first data", "return document.body.dataset.loads")
            .await;
        let heap = "gc(); return performance.memory.usedJSHeapSize";
        let before = browser.js(heap).await;
        let mut after = Vec::new();
        for target in [REFRESHES, 2 * REFRESHES] {
            browser
                .wait_js_for(
                    "the refreshes",
                    &format!("return Number(document.body.dataset.loads) >= {target}"),
                    Duration::from_secs(600),
                )
                .await;
            after.push((target, browser.js(heap).await));
        }
        let nodes = browser
            .js("return document.getElementsByTagName('*').length")
            .await;
        println!(
            "JS heap after the first load: {before} bytes; after refreshes: {after:?}; DOM elements: {nodes}"
        );

        // The README's picture: the overview of 15 minutes, charts in view.
        browser
            .js("localStorage.setItem('rockscope.time_range', '15m'); return true")
            .await;
        browser.goto(&format!("{base}/clusters/{id}")).await;
        browser
            .wait_js("first data", "return document.body.dataset.loads")
            .await;
        browser.size(1280, 1250).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let png = browser.client.screenshot().await.expect("screenshot");
        let path = crate::driver::screenshot_dir().join("readme-cluster-overview.png");
        std::fs::write(&path, png).expect("write screenshot");
        println!("README screenshot: {}", path.display());
        browser.close().await;
    });
}
