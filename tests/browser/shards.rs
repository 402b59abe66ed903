//! A sharded instance's pages: the cluster list marks the clusters another shard collects
//! ("Collected by shard k/3") instead of showing them as never collected, a cluster page says
//! the same, and the collector page says "This instance: shard 1/3".

use std::time::Duration;

use rockscope_sim::{SimConfig, Simulator, Version};
use serde_json::Value;

use crate::driver::Browser;
use crate::run;
use crate::support::{AppConfig, ConfigCluster, TestApp, wait_for};

#[test]
fn a_sharded_instance_says_which_shard_collects_each_cluster() {
    let sim = Simulator::start(SimConfig::uniform(6, 1, 1, Version::V3_3, 5)).expect("simulator");
    let config = sim.clusters().iter().fold(
        AppConfig::default()
            .rust_log("info")
            .collector("shard", "1/3"),
        |config, info| config.cluster(ConfigCluster::from_sim(info)),
    );
    let app = TestApp::start(config);
    // Who owns what, as the API says; the page must say the same.
    let list = app.get("/api/clusters").expect(200);
    let owners: Vec<(String, i64, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let owner = c["shard"]["owner"].as_u64().expect("sharded");
            (
                c["name"].as_str().unwrap().to_owned(),
                c["id"].as_i64().unwrap(),
                owner,
            )
        })
        .collect();
    let mine = owners.iter().filter(|(_, _, o)| *o == 1).count();
    assert!(
        mine > 0 && mine < owners.len(),
        "shard 1 owns some of 6: {owners:?}"
    );
    let (_, elsewhere_id, elsewhere_owner) = owners.iter().find(|(_, _, o)| *o != 1).unwrap();
    wait_for(
        "this shard's clusters collected",
        Duration::from_secs(20),
        || {
            let rows = app.get("/api/clusters/overview").expect(200);
            let collected = rows
                .as_array()?
                .iter()
                .filter(|r| r["health"] == "healthy")
                .count();
            (collected == mine).then_some(())
        },
    );

    run(async {
        let browser = Browser::start().await;
        let base = format!("http://{}", app.addr());

        browser.goto(&format!("{base}/")).await;
        let cards = browser
            .wait_js(
                "six cards, each with a health or a shard badge",
                "const cards = [...document.querySelectorAll('.cluster-card')];
                 const out = cards.map(c => {
                   const badge = c.querySelector('.badges .badge:last-child');
                   return { name: c.querySelector('.cluster-name').textContent,
                            health: badge.dataset.health || null, shard: badge.dataset.shard || null,
                            text: badge.textContent,
                            reason: c.querySelector('.reason')?.textContent || null };
                 });
                 return out.length === 6 && out.filter(c => c.health === 'healthy').length > 0 ? out : null;",
            )
            .await;
        for (name, _, owner) in &owners {
            let card = cards
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == name.as_str())
                .unwrap_or_else(|| panic!("no card for {name}: {cards}"));
            if *owner == 1 {
                assert_eq!(card["health"], "healthy", "{card}");
            } else {
                let shard = format!("{owner}/3");
                assert_eq!(card["shard"], shard.as_str(), "{card}");
                assert_eq!(
                    card["text"],
                    format!("Collected by shard {shard}"),
                    "{card}"
                );
                let reason = card["reason"].as_str().unwrap_or_default();
                assert!(
                    reason.contains(&format!("shard {shard}, collects")),
                    "{card}"
                );
            }
        }
        browser.assert_no_console_errors("/ (sharded)", &[]).await;
        browser.screenshots("clusters-sharded").await;

        // Another shard's cluster: its page says who collects it.
        browser
            .goto(&format!("{base}/clusters/{elsewhere_id}"))
            .await;
        let badge = browser
            .wait_js(
                "the shard badge",
                "return document.querySelector('.head-badge .badge')?.dataset.shard",
            )
            .await;
        assert_eq!(badge, format!("{elsewhere_owner}/3").as_str());
        browser
            .assert_no_console_errors("/clusters/{id} (sharded)", &[])
            .await;
        browser.screenshots("cluster-sharded").await;

        browser.goto(&format!("{base}/collector")).await;
        let note = browser
            .wait_js(
                "the shard note and a row per cluster",
                "const note = document.querySelector('.shard-note');
                 const rows = document.querySelectorAll('tbody tr[data-cluster-id]').length;
                 return note && rows === 6 ? { shard: note.dataset.shard, text: note.textContent,
                   others: document.querySelectorAll('tr.other-shard').length } : null;",
            )
            .await;
        assert_eq!(note["shard"], "1/3");
        let text = note["text"].as_str().unwrap();
        assert!(text.starts_with("This instance: shard 1/3."), "{text}");
        assert_eq!(note["others"], Value::from(owners.len() - mine));
        browser
            .assert_no_console_errors("/collector (sharded)", &[])
            .await;
        browser.screenshots("collector-sharded").await;
        browser.close().await;
    });
}
