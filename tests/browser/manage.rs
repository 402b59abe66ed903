//! Cluster management from the page: the empty state, then register, edit, disable, test and
//! delete a simulated cluster, each checked through the API.

use std::time::Duration;

use rockscope_sim::{ClusterSpec, SimConfig, Simulator, Version};

use crate::driver::Browser;
use crate::run;
use crate::support::{AppConfig, TestApp};

const PASSWORD: &str = "Br0wser-Passw0rd-91c";

#[test]
fn register_edit_test_and_delete_from_the_page() {
    let sim = Simulator::start(SimConfig::with_clusters(vec![
        ClusterSpec::new("sim-manage", 1, 2, Version::V4_0).with_credentials("monitor", PASSWORD),
    ]))
    .expect("simulator");
    let info = sim.cluster("sim-manage").unwrap();
    let app = TestApp::start(AppConfig::default().rust_log("info"));

    run(async {
        let browser = Browser::start().await;
        let base = format!("http://{}", app.addr());

        // No cluster: the list says how to add one.
        browser.goto(&format!("{base}/")).await;
        let empty = browser
            .wait_js(
                "the empty state",
                "return document.querySelector('.empty')?.textContent",
            )
            .await;
        let empty = empty.as_str().unwrap();
        assert!(empty.contains("Register a cluster"), "{empty}");
        assert!(empty.contains("[[clusters]]"), "{empty}");
        assert!(empty.contains("rockscope demo"), "{empty}");
        browser.assert_no_console_errors("/ (empty)", &[]).await;
        browser.screenshots("clusters-empty").await;

        // Register.
        browser.goto(&format!("{base}/clusters/manage")).await;
        browser.type_into("input[name=name]", "from-the-page").await;
        browser
            .type_into("textarea[name=fe_hosts]", &info.fe_hosts.join(", "))
            .await;
        browser.type_into("input[name=username]", "monitor").await;
        browser.type_into("input[name=password]", PASSWORD).await;
        browser.click("form.cluster-form button[type=submit]").await;
        browser
            .wait_js(
                "the registered cluster's row",
                "return document.querySelector('tr[data-name=\"from-the-page\"]') !== null",
            )
            .await;
        let id = app.cluster_id("from-the-page");
        let stored = app.get(&format!("/api/clusters/{id}")).expect(200);
        assert_eq!(stored["fe_hosts"], serde_json::json!(info.fe_hosts));
        assert_eq!(stored["username"], "monitor");
        assert_eq!(stored["enabled"], true);

        // Edit: the password field is empty and "unchanged"; a new timeout is saved, and the
        // password left empty still works (the test below passes).
        browser
            .click("tr[data-name=\"from-the-page\"] button[data-action=edit]")
            .await;
        let password = browser
            .js("const p = document.querySelector('input[name=password]');
                 return {value: p.value, placeholder: p.placeholder}")
            .await;
        assert_eq!(password["value"], "");
        assert_eq!(password["placeholder"], "unchanged");
        browser
            .type_into("input[name=request_timeout_secs]", "7")
            .await;
        browser.click("form.cluster-form button[type=submit]").await;
        crate::support::wait_for("the edit saved", Duration::from_secs(10), || {
            let c = app.get(&format!("/api/clusters/{id}")).expect(200);
            (c["request_timeout_secs"] == 7).then_some(())
        });

        // Test: one result row per endpoint, all passing with the unchanged password.
        browser
            .click("tr[data-name=\"from-the-page\"] button[data-action=test]")
            .await;
        let result = browser
            .wait_js(
                "the test result",
                "const r = document.querySelector('.test-result');
                 return r ? {ok: r.dataset.ok, checks: r.querySelectorAll('tbody tr').length} : null",
            )
            .await;
        assert_eq!(result["ok"], "true", "{result}");
        // show_proc via the FE, then the FE's and both BEs' /metrics.
        assert!(result["checks"].as_u64().unwrap() >= 3, "{result}");
        browser.screenshots("manage").await;

        // Disable.
        browser
            .click("tr[data-name=\"from-the-page\"] button[data-action=toggle]")
            .await;
        crate::support::wait_for("the cluster disabled", Duration::from_secs(10), || {
            let c = app.get(&format!("/api/clusters/{id}")).expect(200);
            (c["enabled"] == false).then_some(())
        });

        // Delete (two clicks: the first one arms the button).
        browser
            .wait_js(
                "the row redrawn as disabled",
                "return document.querySelector('tr[data-name=\"from-the-page\"] button[data-action=toggle]')
                   ?.textContent === 'Enable'",
            )
            .await;
        browser
            .click("tr[data-name=\"from-the-page\"] button[data-action=delete]")
            .await;
        browser
            .click("tr[data-name=\"from-the-page\"] button[data-action=delete]")
            .await;
        browser
            .wait_js(
                "the row gone",
                "return document.querySelector('tr[data-name=\"from-the-page\"]') === null",
            )
            .await;
        app.get(&format!("/api/clusters/{id}"))
            .expect_error(404, "not_found");
        browser
            .assert_no_console_errors("/clusters/manage", &[])
            .await;
        browser.close().await;
    });
}
