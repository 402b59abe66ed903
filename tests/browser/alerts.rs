//! Alerts in the pages: the badge of firing alerts in the cluster list, a cluster's alerts at the
//! top of its overview, and the Alerts page (active alerts with filters, history, rules).
//!
//! The alerts are stored through the store's own API into the running binary's database, on a
//! cluster registered disabled: the collector never evaluates it, so its alerts stay as seeded
//! whatever the evaluator does with the simulated cluster next to it.

use std::collections::BTreeMap;

use rockscope_model::{Alert, AlertEvent, AlertState, Severity};
use rockscope_sim::{ClusterSpec, SimConfig, Simulator, Version};
use rockscope_store::Store;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::driver::Browser;
use crate::run;
use crate::support::{AppConfig, ConfigCluster, TestApp};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An alert of `rule` on `instance`, active for `minutes`.
fn alert(
    cluster_id: i64,
    rule: &str,
    instance: &str,
    (state, severity): (AlertState, Severity),
    value: f64,
    minutes: i64,
) -> Alert {
    let now = OffsetDateTime::now_utc();
    let since = now - Duration::minutes(minutes);
    let mut l = labels(&[
        ("alertname", rule),
        ("cluster", "payments"),
        ("severity", severity.as_str()),
        ("instance", instance),
        ("node_type", "be"),
    ]);
    if rule == "StarRocksDataDiskFull" {
        l.insert("path".into(), "/data1".into());
    }
    Alert {
        cluster_id,
        rule: rule.into(),
        fingerprint: rockscope_fingerprint(&l),
        annotations: labels(&[
            (
                "summary",
                &format!("{rule} on {instance} of payments: {value:.1}"),
            ),
            (
                "runbook",
                "Free space or add disks; dropped data stays in the trash for a day.",
            ),
        ]),
        labels: l,
        state,
        severity,
        value: Some(value),
        active_since: since,
        fired_at: (state == AlertState::Firing).then(|| since + Duration::minutes(5)),
        last_true_at: now,
        resolved_at: None,
        evaluated_at: now,
        last_sent_at: None,
        last_sent_state: None,
        keep_firing_since: None,
    }
}

/// A stand-in fingerprint (unique per label set; the store keys alerts by it).
fn rockscope_fingerprint(labels: &BTreeMap<String, String>) -> String {
    let text: String = labels.iter().map(|(k, v)| format!("{k}={v};")).collect();
    format!(
        "{:016x}",
        text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    )
}

fn event(a: &Alert, state: AlertState, at: OffsetDateTime) -> AlertEvent {
    AlertEvent {
        cluster_id: a.cluster_id,
        rule: a.rule.clone(),
        fingerprint: a.fingerprint.clone(),
        labels: a.labels.clone(),
        state,
        severity: a.severity,
        value: a.value,
        at,
    }
}

/// `document.querySelectorAll(css).length`.
fn count(css: &str) -> String {
    format!(
        "return document.querySelectorAll({}).length",
        serde_json::Value::String(css.to_owned())
    )
}

#[test]
fn badge_overview_block_and_alerts_page() {
    let sim = Simulator::start(SimConfig::with_clusters(vec![ClusterSpec::new(
        "sim-calm",
        1,
        2,
        Version::V3_3,
    )]))
    .expect("simulator");
    let calm = ConfigCluster::from_sim(&sim.cluster("sim-calm").unwrap());
    // The page is checked against the alerts stored above; the live cluster's own evaluation
    // (tested in the collector and e2e suites) would add rows of its own to the history.
    let app = TestApp::start(
        AppConfig::default()
            .rust_log("info")
            .cluster(calm.clone())
            .section("[alerts]\nenabled = false\n"),
    );
    let created = app
        .post_json(
            "/api/clusters",
            &json!({"name": "payments", "fe_hosts": calm.fe_hosts, "username": calm.username,
                    "password": calm.password, "enabled": false}),
        )
        .expect(201);
    let payments = created["id"].as_i64().unwrap();
    let calm_id = app.cluster_id("sim-calm");

    // Two firing alerts (worst: critical) and a pending one, with their history.
    let firing = (AlertState::Firing, Severity::Critical);
    let disk = alert(
        payments,
        "StarRocksDataDiskFull",
        "10.0.0.3:8040",
        firing,
        93.4,
        42,
    );
    let cpu = alert(
        payments,
        "StarRocksBeCpuHigh",
        "10.0.0.4:8040",
        (AlertState::Firing, Severity::Warning),
        96.0,
        12,
    );
    let heap = alert(
        payments,
        "StarRocksFeJvmHeapHigh",
        "10.0.0.2:8030",
        (AlertState::Pending, Severity::Warning),
        84.5,
        2,
    );
    let events = vec![
        event(&disk, AlertState::Pending, disk.active_since),
        event(&disk, AlertState::Firing, disk.fired_at.unwrap()),
        event(&cpu, AlertState::Pending, cpu.active_since),
        event(&cpu, AlertState::Firing, cpu.fired_at.unwrap()),
        event(&heap, AlertState::Pending, heap.active_since),
    ];
    let store = Store::open(app.database_path()).expect("the app's database");
    store
        .save_alert_evaluation(payments, &[disk, cpu, heap], &events)
        .expect("seed the alerts");
    drop(store);

    run(async {
        let browser = Browser::start().await;
        let base = format!("http://{}", app.addr());

        // The cluster list: a badge on payments only, coloured by its worst severity.
        browser.goto(&format!("{base}/?refresh_ms=1000")).await;
        let badge = browser
            .wait_js(
                "the firing badge",
                &format!(
                    "const b = document.querySelector('[data-cluster-id=\"{payments}\"] .alert-count');\
                     return b && [b.textContent, b.dataset.severity, b.getAttribute('aria-label')]"
                ),
            )
            .await;
        assert_eq!(
            badge,
            json!(["2 firing", "critical", "2 firing alerts, worst critical"])
        );
        browser
            .wait_js(
                "the calm cluster's card",
                &count(&format!("[data-cluster-id=\"{calm_id}\"]")),
            )
            .await;
        assert_eq!(
            browser
                .js(&count(&format!(
                    "[data-cluster-id=\"{calm_id}\"] .alert-count"
                )))
                .await,
            json!(0),
            "no badge without a firing alert"
        );
        browser.assert_no_console_errors("/", &[]).await;
        browser.screenshots("alerts-cluster-list").await;

        // The overview: the cluster's alerts at the top, firing (worst first) before pending.
        browser.goto(&format!("{base}/clusters/{payments}")).await;
        let rows = browser
            .wait_js(
                "the overview's alerts",
                "const rows = [...document.querySelectorAll('.cluster-alerts tr.alert-row')];\
                 return rows.length === 3 && rows.map(r => [r.dataset.alert,\
                   r.querySelector('[data-state]').dataset.state,\
                   r.querySelector('[data-severity]').dataset.severity,\
                   r.cells[3].textContent, r.cells[4].textContent])",
            )
            .await;
        assert_eq!(
            rows,
            json!([
                [
                    "StarRocksDataDiskFull",
                    "firing",
                    "critical",
                    "10.0.0.3:8040 /data1",
                    "93.4"
                ],
                [
                    "StarRocksBeCpuHigh",
                    "firing",
                    "warning",
                    "10.0.0.4:8040",
                    "96"
                ],
                [
                    "StarRocksFeJvmHeapHigh",
                    "pending",
                    "warning",
                    "10.0.0.2:8030",
                    "84.5"
                ],
            ])
        );
        let first = browser
            .js(
                "const r = document.querySelector('.cluster-alerts tr.alert-row');\
                 return [r.querySelector('.alert-summary').textContent, r.cells[5].textContent]",
            )
            .await;
        assert_eq!(
            first[0],
            "StarRocksDataDiskFull on 10.0.0.3:8040 of payments: 93.4"
        );
        assert_eq!(first[1], "42 min ago");
        // The block comes before the KPI cards.
        let order = browser
            .js("const a = document.querySelector('.cluster-alerts');\
                 const k = document.querySelector('.kpis');\
                 return Boolean(a.compareDocumentPosition(k) & Node.DOCUMENT_POSITION_FOLLOWING)")
            .await;
        assert_eq!(order, json!(true));
        browser
            .assert_no_console_errors("/clusters/{id}", &[])
            .await;
        browser.screenshots("alerts-cluster-overview").await;

        // The calm cluster's overview says it has none.
        browser.goto(&format!("{base}/clusters/{calm_id}")).await;
        let none = browser
            .wait_js(
                "the calm cluster's empty alert block",
                "return document.querySelector('.cluster-alerts tbody')?.textContent",
            )
            .await;
        assert_eq!(none, "No firing or pending alert.");

        // The Alerts page: in the nav, every active alert, the history, the rules.
        browser.goto(&format!("{base}/alerts")).await;
        let current = browser
            .js("return document.querySelector('nav a[aria-current=page]')?.getAttribute('href')")
            .await;
        assert_eq!(current, "/alerts");
        browser
            .wait_js(
                "three active alerts",
                &format!("{} === 3", count("table.alerts tr.alert-row").trim_end()),
            )
            .await;
        let history = browser
            .wait_js(
                "the history",
                "const t = document.querySelectorAll('#alerts-history ~ * tbody tr');\
                 return t.length === 5 && [...t].map(r => r.cells[1].textContent)",
            )
            .await;
        assert_eq!(
            history,
            json!(["Pending", "Firing", "Pending", "Firing", "Pending"]),
            "newest first"
        );
        let cluster_link = browser
            .js("return document.querySelector('table.alerts tr.alert-row a')?.getAttribute('href')")
            .await;
        assert_eq!(cluster_link, format!("/clusters/{payments}"));
        // Every filter is a labelled control.
        let labelled = browser
            .js("return [...document.querySelectorAll('.controls select')]\
                   .map(s => document.querySelector(`label[for=\"${s.id}\"]`)?.textContent)")
            .await;
        assert_eq!(labelled, json!(["Cluster", "Severity", "State"]));
        // On a phone nothing scrolls sideways: not the page, not a table (each row is a card).
        browser.size(390, 844).await;
        let sideways = browser
            .js("const d = document.documentElement;\
                 const wide = [...document.querySelectorAll('.table-wrap')]\
                   .filter(w => w.scrollWidth > w.clientWidth)\
                   .map(w => w.querySelector('caption')?.textContent);\
                 return [d.scrollWidth <= window.innerWidth, wide]")
            .await;
        assert_eq!(sideways, json!([true, []]), "at 390 px");
        let labels = browser
            .js(
                "return [...document.querySelector('table.alerts tr.alert-row').cells]\
                   .map(c => c.dataset.label ?? null)",
            )
            .await;
        assert_eq!(
            labels,
            json!([null, null, null, "Cluster", "Node", "Value", "Since"]),
            "each plain cell names its column; badges and the row's name need none"
        );
        browser.size(1280, 800).await;
        let head = browser
            .js("const t = document.querySelector('table.alerts');\
                 return [getComputedStyle(t.tHead).position, t.tHead.rows[0].cells.length]")
            .await;
        assert_eq!(head, json!(["static", 7]), "a plain table at 1280 px");
        browser.screenshots("alerts-page").await;

        // Filter: critical only, then pending only.
        browser
            .js(
                "const s = [...document.querySelectorAll('.controls select')][1];\
                 s.value = 'critical'; s.dispatchEvent(new Event('change')); return true",
            )
            .await;
        browser
            .wait_js(
                "one critical alert",
                "const r = document.querySelectorAll('table.alerts tr.alert-row');\
                 return r.length === 1 && r[0].dataset.alert === 'StarRocksDataDiskFull'",
            )
            .await;
        browser
            .js(
                "const s = [...document.querySelectorAll('.controls select')];\
                 s[1].value = ''; s[1].dispatchEvent(new Event('change'));\
                 s[2].value = 'pending'; s[2].dispatchEvent(new Event('change'));\
                 return true",
            )
            .await;
        browser
            .wait_js(
                "one pending alert",
                "const r = document.querySelectorAll('table.alerts tr.alert-row');\
                 return r.length === 1 && r[0].dataset.alert === 'StarRocksFeJvmHeapHigh'",
            )
            .await;
        // The rules table lists every effective rule the API lists.
        let listed = app.get("/api/alert-rules").expect(200)["rules"]
            .as_array()
            .map(Vec::len)
            .unwrap();
        let shown = browser.js(&count("table.rules tbody tr[data-rule]")).await;
        assert_eq!(shown, json!(listed));
        browser.assert_no_console_errors("/alerts", &[]).await;
        browser
            .screenshots_at("alerts-page-rules", Some("#alerts-rules"))
            .await;
        browser.close().await;
    });
}
