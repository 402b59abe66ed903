//! Against a real Alertmanager: Debian's `prometheus-alertmanager` (0.25), started on a
//! loopback port, routing to a webhook receiver the test owns. An alert submitted firing must
//! arrive through Alertmanager's routing and grouping with its labels, `amtool` must list it,
//! and its resolution must arrive too.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rockscope_notify::{Notifier, NotifyConfig, ReceiverConfig};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::{WAIT, eventually, firing_alert, resolve};
use rockscope_sim::Receiver;

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";
const AMTOOL: &str = "/usr/bin/amtool";

/// A running Alertmanager and its directory, both gone when dropped.
struct Alertmanager {
    child: Child,
    dir: PathBuf,
    url: String,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn require(binary: &str) {
    assert!(
        Path::new(binary).exists(),
        "{binary} is missing: install Debian's package prometheus-alertmanager \
         (`apt-get install prometheus-alertmanager`; .ci/run does this when it is missing)"
    );
}

/// A free loopback port (bound, then released for Alertmanager to take).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Starts Alertmanager routing everything, grouped by alertname and cluster, to `webhook`.
fn start_alertmanager(webhook: &str) -> Alertmanager {
    require(ALERTMANAGER);
    let dir = std::env::temp_dir().join(format!(
        "rockscope-notify-am-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(dir.join("data")).expect("create the temporary directory");
    let config = format!(
        "route:\n  receiver: test\n  group_by: [alertname, cluster]\n  group_wait: 1s\n  \
         group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: test\n    \
         webhook_configs:\n      - url: {webhook}\n        send_resolved: true\n"
    );
    std::fs::write(dir.join("alertmanager.yml"), config).expect("write the configuration");
    let port = free_port();
    let log = std::fs::File::create(dir.join("alertmanager.log")).expect("create the log");
    let child = Command::new(ALERTMANAGER)
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start prometheus-alertmanager");
    let alertmanager = Alertmanager {
        child,
        dir,
        url: format!("http://127.0.0.1:{port}"),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(2)))
        .proxy(None)
        .build()
        .into();
    let ready = format!("{}/-/ready", alertmanager.url);
    let started = Instant::now();
    while !agent.get(&ready).call().is_ok_and(|r| r.status() == 200) {
        assert!(
            started.elapsed() < WAIT,
            "Alertmanager not ready within {WAIT:?}; its log:\n{}",
            std::fs::read_to_string(alertmanager.dir.join("alertmanager.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    alertmanager
}

/// `amtool alert query` as JSON.
fn amtool_query(url: &str) -> Value {
    require(AMTOOL);
    let output = Command::new(AMTOOL)
        .args(["alert", "query", "--output=json"])
        .arg(format!("--alertmanager.url={url}"))
        .output()
        .expect("run amtool");
    assert!(
        output.status.success(),
        "amtool failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("amtool's JSON")
}

/// The webhook messages Alertmanager sent with `status`.
fn messages(receiver: &Receiver, status: &str) -> Vec<Value> {
    receiver
        .requests()
        .iter()
        .map(|r| r.json())
        .filter(|m| m["status"] == status)
        .collect()
}

#[test]
fn an_alert_reaches_a_real_alertmanager_and_its_resolution_follows() {
    let receiver = Receiver::start_scripted(vec![]).unwrap();
    let alertmanager = start_alertmanager(&crate::url(&receiver, "/am-hook"));
    let notifier = Notifier::start(NotifyConfig {
        alertmanagers: vec![ReceiverConfig::new(alertmanager.url.clone())],
        external_url: "http://rockscope.test:8080".to_owned(),
        ..NotifyConfig::default()
    })
    .unwrap();
    let eval = Duration::from_secs(30);
    let fired = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let mut alerts = [firing_alert("RockscopeTestDiskFull", "be1:8040", fired)];
    alerts[0].fingerprint = fingerprint(&alerts[0].labels);

    notifier.submit(1, "prod", &mut alerts, eval, fired);
    crate::wait(&receiver, WAIT, |r| r.json()["status"] == "firing");
    let firing = &messages(&receiver, "firing")[0];
    assert_eq!(firing["version"], "4");
    assert_eq!(firing["receiver"], "test");
    assert_eq!(
        firing["groupLabels"],
        json!({"alertname": "RockscopeTestDiskFull", "cluster": "prod"}),
        "grouped by Alertmanager's route"
    );
    let alert = &firing["alerts"][0];
    assert_eq!(
        alert["labels"],
        json!({"alertname": "RockscopeTestDiskFull", "cluster": "prod", "severity": "critical",
               "instance": "be1:8040", "node_type": "be"})
    );
    assert_eq!(
        alert["annotations"]["summary"],
        "be1:8040: a disk path is 97 % full"
    );
    assert_eq!(
        alert["generatorURL"],
        "http://rockscope.test:8080/clusters/1"
    );
    let starts_at = OffsetDateTime::parse(
        alert["startsAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(starts_at, fired);

    let listed = amtool_query(&alertmanager.url);
    let names: Vec<&Value> = listed
        .as_array()
        .expect("a list of alerts")
        .iter()
        .map(|a| &a["labels"]["alertname"])
        .collect();
    assert_eq!(names, [&json!("RockscopeTestDiskFull")], "{listed:#}");
    assert_eq!(listed[0]["status"]["state"], "active");

    let cleared = OffsetDateTime::now_utc();
    resolve(&mut alerts[0], cleared);
    notifier.submit(1, "prod", &mut alerts, eval, cleared);
    crate::wait(&receiver, WAIT, |r| r.json()["status"] == "resolved");
    let resolved = &messages(&receiver, "resolved")[0]["alerts"][0];
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["labels"]["instance"], "be1:8040");
    eventually("amtool no longer lists it as active", || {
        amtool_query(&alertmanager.url)
            .as_array()
            .is_some_and(|a| a.is_empty())
    });
    eventually("both deliveries counted", || notifier.status()[0].sent == 2);
    assert_eq!(notifier.status()[0].failed, 0);
    notifier.shutdown();
}

/// Alertmanager's fingerprint as `docs/ALERTS.md` describes it: FNV-1a 64 over the sorted
/// `name 0xFF value 0xFF`, 16 hex digits.
fn fingerprint(labels: &std::collections::BTreeMap<String, String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([0xff])
            .chain(value.bytes())
            .chain([0xff])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}
