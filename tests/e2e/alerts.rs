//! Alerts end to end: the real binary evaluates a rule against a simulated cluster and delivers
//! the alert to a plain webhook and through Debian's real Alertmanager (0.25,
//! `/usr/bin/prometheus-alertmanager`, started here on a loopback port) to a receiver the test
//! owns; a restart while the alert fires neither notifies it again nor loses its resolution.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rockscope_sim::{Fault, NodeId, ReceivedRequest, Receiver, SimConfig, Simulator, Version};
use serde_json::Value;

use crate::support::{AppConfig, ConfigCluster, TempDir, TestApp, wait_for};

/// Debian's Alertmanager binary (package `prometheus-alertmanager`).
const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
/// Debian's amtool (same package).
const AMTOOL: &str = "/usr/bin/amtool";
/// The rule the test fires: one alert per backend that the leader does not see alive.
const RULE: &str = "E2eBackendDown";
/// How long a notification may take to arrive (a cycle is 1 s, Alertmanager waits 1 s).
const ARRIVAL: Duration = Duration::from_secs(30);

/// A real Alertmanager on a loopback port, routing every alert to `webhook`.
struct Alertmanager {
    child: Child,
    url: String,
    dir: TempDir,
}

impl Alertmanager {
    fn start(webhook: &str) -> Alertmanager {
        assert!(
            std::path::Path::new(ALERTMANAGER).exists(),
            "{ALERTMANAGER} is missing: install Debian's prometheus-alertmanager package \
             (.ci/run does)"
        );
        let dir = TempDir::new("alertmanager");
        let config = dir.path().join("alertmanager.yml");
        fs::write(
            &config,
            format!(
                "route:\n  receiver: test\n  group_by: [alertname, cluster]\n  group_wait: 1s\n  \
                 group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: test\n    \
                 webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n"
            ),
        )
        .unwrap();
        // A free port: bound, read, released (Alertmanager takes an address, not a socket).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = fs::File::create(dir.path().join("alertmanager.log")).unwrap();
        let child = Command::new(ALERTMANAGER)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start Alertmanager");
        let am = Alertmanager {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
        };
        wait_for("Alertmanager ready", Duration::from_secs(20), || {
            ready(port).then_some(())
        });
        am
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("alertmanager.log")).unwrap_or_default()
    }

    /// `amtool alert query` output for the test's rule.
    fn amtool_query(&self) -> String {
        let out = Command::new(AMTOOL)
            .arg("alert")
            .arg("query")
            .arg(format!("alertname={RULE}"))
            .arg(format!("--alertmanager.url={}", self.url))
            .output()
            .expect("run amtool");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// Whether `GET /-/ready` on the port answers 200.
fn ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /-/ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let mut answer = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.1 200")
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The alerts of a webhook body (rockscope's or Alertmanager's, both version 4) that belong to
/// the test's rule and are in `status`.
fn rule_alerts(request: &ReceivedRequest, status: &str) -> Vec<Value> {
    let body = request.json();
    body["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["labels"]["alertname"] == RULE && a["status"] == status)
        .cloned()
        .collect()
}

fn notifications(receiver: &Receiver, path: &str, status: &str) -> usize {
    receiver
        .requests()
        .iter()
        .filter(|r| r.target == path && !rule_alerts(r, status).is_empty())
        .count()
}

#[test]
fn an_alert_reaches_webhook_and_alertmanager_and_a_restart_neither_renotifies_nor_loses_it() {
    let sim = Simulator::start(SimConfig::uniform(1, 1, 2, Version::V3_3, 11)).unwrap();
    let info = sim.clusters()[0].clone();
    let receiver = Receiver::start().unwrap();
    let am = Alertmanager::start(&format!("{}/am", receiver.url()));
    let config = AppConfig::default()
        .rust_log("info")
        .cluster(ConfigCluster::from_sim(&info))
        .section(&format!(
            "[alerts]\nrepeat_interval_secs = 3600\nresend_delay_secs = 10\n\n\
             [[alerts.webhooks]]\nurl = \"{}/hook\"\n\n\
             [[alerts.alertmanagers]]\nurl = \"{}\"\n\n\
             [[alerts.rules]]\nname = \"{RULE}\"\nexpr = \"be.alive == 0\"\nseverity = \"critical\"\n\
             annotations = {{ summary = \"backend {{{{ $labels.instance }}}} of {{{{ $labels.cluster }}}} is down\" }}\n",
            receiver.url(),
            am.url
        ));
    let app = TestApp::start(config);
    let id = app.cluster_id(&info.name);
    app.wait_for_snapshots(id, 2, Duration::from_secs(20));

    sim.set_fault(&info.name, NodeId::be(0), Fault::Down)
        .unwrap();
    let hook = receiver
        .wait_for(ARRIVAL, |r| {
            r.target == "/hook" && !rule_alerts(r, "firing").is_empty()
        })
        .unwrap_or_else(|| panic!("no firing webhook:\n{}", app.logs()));
    let alert = &rule_alerts(&hook, "firing")[0];
    let be = &info.nodes.iter().find(|n| n.id == NodeId::be(0)).unwrap();
    assert_eq!(alert["labels"]["cluster"], info.name.as_str());
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["node_type"], "be");
    assert_eq!(alert["labels"]["instance"], be.addr.to_string());
    assert_eq!(
        alert["endsAt"], "0001-01-01T00:00:00Z",
        "firing: zero endsAt"
    );
    assert_eq!(
        alert["annotations"]["summary"],
        format!("backend {} of {} is down", be.addr, info.name)
    );
    assert!(
        alert["generatorURL"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/clusters/{id}"))),
        "{alert}"
    );
    assert_eq!(hook.json()["version"], "4");

    // Through Alertmanager's routing and grouping, with the same labels; amtool sees it.
    let routed = receiver
        .wait_for(ARRIVAL, |r| {
            r.target == "/am" && !rule_alerts(r, "firing").is_empty()
        })
        .unwrap_or_else(|| panic!("nothing through Alertmanager:\n{}", am.log()));
    let routed_alert = &rule_alerts(&routed, "firing")[0];
    assert_eq!(routed_alert["labels"], alert["labels"]);
    assert_eq!(routed.json()["groupLabels"]["alertname"], RULE);
    let query = am.amtool_query();
    assert!(query.contains(RULE), "amtool alert query: {query}");

    // The API lists it.
    let active = app.get("/api/alerts").expect(200);
    let listed = active["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == RULE)
        .unwrap_or_else(|| panic!("not in /api/alerts: {active}"))
        .clone();
    assert_eq!(listed["state"], "firing");
    assert_eq!(listed["cluster_id"], id);

    // A restart while it fires: stored state, no second "firing" anywhere.
    let app = app.restart();
    let before = app.snapshots(id).len();
    app.wait_for_snapshots(id, before + 4, Duration::from_secs(30));
    assert_eq!(
        notifications(&receiver, "/hook", "firing"),
        1,
        "webhook re-notified"
    );
    assert_eq!(
        notifications(&receiver, "/am", "firing"),
        1,
        "Alertmanager re-notified"
    );

    // It clears: the resolution arrives both ways.
    sim.set_fault(&info.name, NodeId::be(0), Fault::None)
        .unwrap();
    receiver
        .wait_for(ARRIVAL, |r| {
            r.target == "/hook" && !rule_alerts(r, "resolved").is_empty()
        })
        .unwrap_or_else(|| panic!("no resolved webhook:\n{}", app.logs()));
    receiver
        .wait_for(ARRIVAL, |r| {
            r.target == "/am" && !rule_alerts(r, "resolved").is_empty()
        })
        .unwrap_or_else(|| panic!("no resolution through Alertmanager:\n{}", am.log()));

    // Firing again, then resolved while rockscope is down: the resolution is sent after the
    // restart, not lost.
    sim.set_fault(&info.name, NodeId::be(0), Fault::Down)
        .unwrap();
    wait_for("a second firing webhook", ARRIVAL, || {
        (notifications(&receiver, "/hook", "firing") == 2).then_some(())
    });
    let mut app = app;
    app.stop();
    sim.set_fault(&info.name, NodeId::be(0), Fault::None)
        .unwrap();
    let app = app.restart();
    wait_for("the second resolution after the restart", ARRIVAL, || {
        (notifications(&receiver, "/hook", "resolved") == 2).then_some(())
    });
    let history = app.get("/api/alerts/history").expect(200);
    let states: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["labels"]["alertname"] == RULE)
        .filter_map(|e| e["state"].as_str())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "resolved").count(),
        2,
        "history: {history}"
    );
}

/// Debian's promtool (package `prometheus`).
const PROMTOOL: &str = "/usr/bin/promtool";

#[test]
fn exported_rules_pass_promtool_and_bad_rules_are_refused_by_name() {
    let dir = TempDir::new("export-rules");
    let config = dir.path().join("rockscope.toml");
    let rules = dir.path().join("rules.yml");
    fs::write(
        &config,
        format!(
            "[storage]\npath = \"{}\"\n\n[[alerts.rules]]\nname = \"HeapNearlyFull\"\n\
             expr = \"max(fe.jvm_heap_usage_pct) > 85\"\nfor = \"5m\"\n\
             annotations = {{ summary = \"heap at {{{{ $value }}}}%\" }}\n\n\
             [[alerts.overrides]]\nname = \"StarRocksBeCpuHigh\"\nenabled = false\n",
            dir.path().join("db.sqlite").display()
        ),
    )
    .unwrap();
    let out = crate::support::rockscope_command()
        .arg("--config")
        .arg(&config)
        .args(["alerts", "export-rules", "--output"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(&rules).unwrap();
    assert!(text.contains("HeapNearlyFull"), "{text}");
    assert!(text.contains("StarRocksFeDown"), "{text}");
    assert!(
        !text.contains("StarRocksBeCpuHigh"),
        "a disabled rule is not exported: {text}"
    );
    assert!(
        std::path::Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: install Debian's prometheus package (.ci/run does)"
    );
    let check = Command::new(PROMTOOL)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "promtool refused the rule file:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // Bad rules: each named with its problem, and nothing starts.
    for (rule, expr, extra, problem) in [
        ("UnknownField", "qpss > 1", "", "qps"),
        ("NanThreshold", "qps > NaN", "", "NanThreshold"),
        ("NegativeFor", "qps > 1", "for = \"-5m\"\n", "-5m"),
        (
            "UnknownVariable",
            "qps > 1",
            "annotations = { summary = \"{{ $nope }}\" }\n",
            "nope",
        ),
    ] {
        fs::write(
            &config,
            format!("[[alerts.rules]]\nname = \"{rule}\"\nexpr = \"{expr}\"\n{extra}"),
        )
        .unwrap();
        let out = crate::support::rockscope_command()
            .arg("--config")
            .arg(&config)
            .arg("check-config")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rule}: {stderr}");
        assert!(
            stderr.contains(rule) && stderr.contains(problem),
            "{rule}: {stderr}"
        );
    }
}
