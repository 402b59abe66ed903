//! `rockscope parse-metrics` (strict) on every `/metrics` body the simulator serves: FEs (leader,
//! followers, an observer), BEs and CNs of each StarRocks version shape. Strict mode stops at
//! the first line that breaks the exposition format, so exit 0 with one JSON line per sample the
//! client's lenient parse counted means the bodies are valid as a whole, not just mostly.

use std::io::Write;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use rockscope_sim::{ClusterSpec, NodeKind, SimConfig, Simulator, Version};
use rockscope_starrocks::{ClusterClient, NodeAddr};

/// Runs `rockscope parse-metrics` on `body` (standard input); exit status, stdout, stderr.
fn parse_metrics(body: &[u8]) -> (std::process::ExitStatus, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rockscope"))
        .arg("parse-metrics")
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
