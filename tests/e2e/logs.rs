//! What the binary logs about a failure that repeats every cycle: a cluster that is down is
//! logged once at WARN, not once per cycle, and its recovery once.
//!
//! (The "still failing (N times)" reminder comes after five minutes, a fixed interval; its
//! spacing is unit-tested in the collector's `repeat_log`.)

use std::net::TcpListener;
use std::time::Duration;

use rockscope_sim::{SimConfig, Simulator, Version};
use serde_json::{Value, json};

use crate::support::{AppConfig, TestApp, wait_for};

/// The cluster's entry of `/api/collector/status`, once it has `n` failed cycles in a row.
fn failed_cycles(app: &TestApp, id: i64, n: u64) -> Value {
    wait_for(
        &format!("{n} failed cycles"),
        Duration::from_secs(30),
        || {
            let status = app.get("/api/collector/status").expect(200);
            let entry = status["clusters"]
                .as_array()?
                .iter()
                .find(|c| c["cluster_id"] == id)?
                .clone();
            (entry["consecutive_failures"].as_u64()? >= n).then_some(entry)
        },
    )
}

/// The WARN lines of the process's log that name the cluster `down`.
fn warnings_about_down(app: &TestApp) -> Vec<String> {
    app.logs()
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains("cluster=down"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_cluster_down_every_cycle_is_logged_once_and_its_recovery_once() {
    // A loopback port nobody listens on: every cycle's connection is refused at once.
    let dead = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let app = TestApp::start(AppConfig::default().rust_log("info,ureq=warn,ureq_proto=warn"));
    let id = app
        .post_json(
            "/api/clusters",
            &json!({"name": "down", "fe_hosts": [dead.to_string()], "username": "root"}),
        )
        .expect(201)["id"]
        .as_i64()
        .expect("id");

    // Six cycles at 1 s, every one failed: one line.
    let entry = failed_cycles(&app, id, 6);
    assert!(entry["last_error"].is_string(), "{entry}");
    let warnings = warnings_about_down(&app);
    assert_eq!(warnings.len(), 1, "{}", app.logs());
    assert!(
        warnings[0].contains("Cluster collection failed. cluster=down"),
        "{warnings:?}"
    );

    // The cluster comes up: the recovery is logged once, with the run of failures it ends.
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 7)).expect("simulator");
    let info = sim.clusters().remove(0);
    app.put_json(
        &format!("/api/clusters/{id}"),
        &json!({"fe_hosts": info.fe_hosts, "username": info.username, "password": info.password}),
    )
    .expect(200);
    let recovered = wait_for("the recovery line", Duration::from_secs(30), || {
        app.logs()
            .lines()
            .find(|l| l.contains("Cluster collected again after"))
            .map(str::to_owned)
    });
    assert!(
        recovered.contains(" INFO ") && recovered.contains("cluster=down"),
        "{recovered}"
    );
    let times: u64 = recovered
        .split("after ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {recovered}"));
    assert!(times >= 6, "{recovered}");
    app.wait_for_snapshots(id, 2, Duration::from_secs(20));
    let logs = app.logs();
    assert_eq!(
        logs.matches("Cluster collected again after").count(),
        1,
        "{logs}"
    );
    assert_eq!(warnings_about_down(&app).len(), 1, "{logs}");
}
