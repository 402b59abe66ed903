//! `rockscope parse-metrics` (strict) on every `/metrics` body the simulator serves: FEs (leader,
//! followers, an observer), BEs and CNs of each StarRocks version shape. Strict mode stops at
//! the first line that breaks the exposition format, so exit 0 with one JSON line per sample the
//! client's lenient parse counted means the bodies are valid as a whole, not just mostly.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use rockscope_sim::{ClusterSpec, NodeKind, SimConfig, Simulator, Version};
use rockscope_starrocks::{ClusterClient, NodeAddr};

/// Runs `rockscope parse-metrics` on `body` (standard input); exit status, stdout, stderr.
fn parse_metrics(body: &[u8]) -> (std::process::ExitStatus, String, String) {
    parse_metrics_with(&[], body)
}

/// `rockscope parse-metrics <args>` on `body`; exit status, stdout, stderr.
fn parse_metrics_with(args: &[&str], body: &[u8]) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rockscope"))
        .arg("parse-metrics")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rockscope");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = body.to_vec();
    // Write from another thread: the output can be larger than the pipe buffer.
    let writer = thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("wait for rockscope");
    writer.join().expect("writer").expect("write body");
    (
        output.status,
        String::from_utf8(output.stdout).expect("utf-8 stdout"),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn strict_parse_of_every_simulated_body() {
    let versions = [Version::V3_0, Version::V3_3, Version::V4_0];
    // Per version: 3 FEs (leader + followers) plus an observer, 5 BEs, and 2 CNs (which makes
    // the cluster shared-data).
    let specs = versions
        .iter()
        .map(|&v| {
            ClusterSpec::new(format!("sim-{v}"), 3, 5, v)
                .with_observers(1)
                .with_cns(2)
        })
        .collect();
    let sim = Simulator::start(SimConfig::with_clusters(specs).seed(5)).expect("simulator");
    let mut bodies = 0;
    for cluster in sim.clusters() {
        // 4.0 requires Basic auth on /metrics; the client always sends it.
        let client = ClusterClient::builder()
            .username(cluster.username.clone())
            .password(cluster.password.as_str())
            .request_timeout(Duration::from_secs(10))
            .build();
        let mut kinds = [0usize; 3];
        for node in &cluster.nodes {
            let what = format!("{} {} ({})", cluster.name, node.id, cluster.version);
            let addr = NodeAddr::new(node.addr.ip().to_string(), node.addr.port());
            let scrape = client
                .fetch_metrics(&addr)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let samples =
                rockscope_promtext::Parser::new(&scrape.body, rockscope_promtext::Mode::Strict)
                    .try_fold(0usize, |n, s| s.map(|_| n + 1))
                    .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(samples > 0, "{what}");

            let (status, stdout, stderr) = parse_metrics(&scrape.body);
            assert!(status.success(), "{what}: {status}: {stderr}");
            assert!(stderr.is_empty(), "{what}: {stderr}");
            let lines: Vec<&str> = stdout.lines().collect();
            assert_eq!(lines.len(), samples, "{what}");
            // Each line is one JSON object with a name and a value.
            for line in [lines[0], lines[lines.len() / 2], lines[lines.len() - 1]] {
                let v: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {line}"));
                assert!(
                    v["name"].is_string() && v["value"].is_string(),
                    "{what}: {line}"
                );
            }
            let expect = match node.kind {
                NodeKind::Fe => "\"name\":\"starrocks_fe_query_total\"",
                NodeKind::Be | NodeKind::Cn => "\"name\":\"starrocks_be_cpu\"",
            };
            assert!(stdout.contains(expect), "{what}: no {expect}");
            kinds[node.kind as usize] += 1;
            bodies += 1;
        }
        assert_eq!(kinds, [4, 5, 2], "{}", cluster.name);
    }
    assert_eq!(bodies, 3 * 11);
}

/// `parse-metrics --families` on a simulated FE and BE body (StarRocks' formats: FE families have
/// HELP and TYPE, summaries included; BE families TYPE only): one line per family the body
/// declares, with its TYPE, HELP and the label names its samples carry.
#[test]
fn families_of_an_fe_and_a_be_body() {
    let spec = ClusterSpec::new("sim-families", 1, 1, Version::V3_3);
    let sim = Simulator::start(SimConfig::with_clusters(vec![spec]).seed(3)).expect("simulator");
    let cluster = &sim.clusters()[0];
    let client = ClusterClient::builder()
        .username(cluster.username.clone())
        .password(cluster.password.as_str())
        .request_timeout(Duration::from_secs(10))
        .build();
    for node in &cluster.nodes {
        let what = format!("{} {}", cluster.name, node.id);
        let addr = NodeAddr::new(node.addr.ip().to_string(), node.addr.port());
        let body = client.fetch_metrics(&addr).expect("scrape").body;
        let (status, stdout, stderr) = parse_metrics_with(&["--families"], &body);
        assert!(status.success(), "{what}: {status}: {stderr}");
        let families: BTreeMap<String, serde_json::Value> = stdout
            .lines()
            .map(|line| {
                let v: serde_json::Value = serde_json::from_str(line).expect("json line");
                (v["name"].as_str().expect("name").to_owned(), v)
            })
            .collect();
        assert_eq!(
            families.len(),
            stdout.lines().count(),
            "{what}: a name twice"
        );
        // Every family the body types, and no other (the simulator types every family).
        let typed: BTreeSet<String> = String::from_utf8_lossy(&body)
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE"))
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect();
        assert_eq!(
            families.keys().cloned().collect::<BTreeSet<_>>(),
            typed,
            "{what}"
        );
        let family = |name: &str| {
            families
                .get(name)
                .unwrap_or_else(|| panic!("{what}: {name}"))
        };
        let labels = |name: &str| family(name)["label_names"].clone();
        match node.kind {
            NodeKind::Fe => {
                let total = family("starrocks_fe_query_total");
                assert_eq!(total["type"], "counter", "{what}");
                assert!(
                    total["help"].as_str().is_some_and(|h| !h.is_empty()),
                    "{what}"
                );
                assert_eq!(total["label_names"], serde_json::json!([]), "{what}");
                let latency = family("starrocks_fe_query_latency_ms");
                assert_eq!(latency["type"], "summary", "{what}");
                // `# HELP name ` with an empty docstring is no HELP.
                assert!(latency["help"].is_null(), "{what}");
                assert_eq!(
                    labels("starrocks_fe_query_latency_ms"),
                    serde_json::json!(["quantile"])
                );
                assert_eq!(labels("node_info"), serde_json::json!(["state", "type"]));
                assert_eq!(labels("jvm_heap_size_bytes"), serde_json::json!(["type"]));
            }
            NodeKind::Be | NodeKind::Cn => {
                let cpu = family("starrocks_be_cpu");
                assert_eq!(cpu["type"], "counter", "{what}");
                assert!(cpu["help"].is_null(), "{what}: BEs write no HELP");
                assert_eq!(cpu["label_names"], serde_json::json!(["mode"]), "{what}");
                let used = family("starrocks_be_disks_data_used_capacity");
                assert_eq!(used["type"], "gauge", "{what}");
                assert_eq!(used["label_names"], serde_json::json!(["path"]), "{what}");
            }
        }
    }
}
