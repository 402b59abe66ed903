//! `POST /api/clusters/{id}/test`: tries a cluster's endpoints now with the StarRocks client.
//!
//! Every FE entry point is tried at once (each for the leader's node lists), then the `/metrics`
//! of every node the first answering FE listed, up to [`PROBE_THREADS`] calls at a time, all
//! under one deadline ([`TEST_DEADLINE`]): 64 hung FEs cost 15 s, not 64 request timeouts.
//! Each call is also bounded by the cluster's timeouts, cut to the deadline. A check still
//! running at the deadline is reported as `deadline` and its thread left to end on its own
//! timeout. Reports carry a status, a code and the client's error text, which holds at most a
//! 200-character excerpt of what a node sent, scrubbed of the cluster's credentials.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rockscope_collector::CollectorConfig;
use rockscope_promtext::{Mode, Parser};
use rockscope_starrocks::{ClientError, ClusterClient, NodeAddr};
use rockscope_store::Cluster;
use serde_json::{Value, json};

/// The whole probe's deadline.
pub const TEST_DEADLINE: Duration = Duration::from_secs(15);
/// Calls in flight at a time.
const PROBE_THREADS: usize = 16;
/// Longest error text reported per check, in characters.
const ERROR_CHARS: usize = 400;

/// Probes clusters with a fresh client built from the cluster's settings.
pub struct ClientTester {
    defaults: CollectorConfig,
    deadline: Duration,
}

impl ClientTester {
    pub fn new(defaults: CollectorConfig) -> ClientTester {
        ClientTester {
            defaults,
            deadline: TEST_DEADLINE,
        }
    }
}

/// One call to make.
#[derive(Clone)]
enum Probe {
    /// The leader's node lists through this FE entry point.
    ShowProc(String),
    /// `/metrics` of this node.
    Metrics(NodeAddr),
}

impl Probe {
    fn name(&self) -> String {
        match self {
            Probe::ShowProc(fe) => format!("show_proc via {fe}"),
            Probe::Metrics(node) => format!("metrics {node}"),
        }
    }
}

/// What one call came to.
struct Outcome {
    elapsed: Duration,
    result: Result<Value, ClientError>,
    /// For `ShowProc`: every node the FE listed.
    nodes: Vec<NodeAddr>,
}

impl rockscope_api::ClusterTester for ClientTester {
    fn test(&self, cluster: &Cluster) -> Value {
        if cluster.password.is_unreadable() {
            // A lost secret key: probing without the password would only report 401s.
            return json!({
                "cluster_id": cluster.id,
                "ok": false,
                "checks": [{
                    "endpoint": "credentials",
                    "ok": false,
                    "status": "failed",
                    "code": "password_unreadable",
                    "elapsed_ms": 0,
                    "error": rockscope_store::Password::UNREADABLE,
                }],
            });
        }
        let deadline = Instant::now() + self.deadline;
        let mut config = self.defaults.client_config(cluster);
        config.connect_timeout = config.connect_timeout.min(self.deadline);
        config.request_timeout = config.request_timeout.min(self.deadline);
        let client = Arc::new(ClusterClient::new(config));

        let fes: Vec<Probe> = cluster
            .fe_hosts
            .iter()
            .cloned()
            .map(Probe::ShowProc)
            .collect();
        let fe_outcomes = run(&client, &fes, deadline);
        let listed = fe_outcomes
            .iter()
            .flatten()
            .find(|o| o.result.is_ok())
            .map(|o| o.nodes.clone())
            .unwrap_or_default();
        let nodes: Vec<Probe> = listed.into_iter().map(Probe::Metrics).collect();
        let node_outcomes = run(&client, &nodes, deadline);

        let checks: Vec<Value> = fes
            .iter()
            .zip(&fe_outcomes)
            .chain(nodes.iter().zip(&node_outcomes))
            .map(|(probe, outcome)| report(probe, outcome.as_ref(), self.deadline))
            .collect();
        let fe_ok = fe_outcomes.iter().flatten().any(|o| o.result.is_ok());
        let nodes_ok = node_outcomes
            .iter()
            .all(|o| o.as_ref().is_some_and(|o| o.result.is_ok()));
        json!({"cluster_id": cluster.id, "ok": fe_ok && nodes_ok, "checks": checks})
    }
}

/// Runs `probes` on up to [`PROBE_THREADS`] threads until all are done or `deadline` passes;
/// `None` for a probe without an outcome by then.
fn run(client: &Arc<ClusterClient>, probes: &[Probe], deadline: Instant) -> Vec<Option<Outcome>> {
    let mut outcomes: Vec<Option<Outcome>> = probes.iter().map(|_| None).collect();
    if probes.is_empty() {
        return outcomes;
    }
    let queue = Arc::new(Mutex::new(
        probes.iter().cloned().enumerate().collect::<VecDeque<_>>(),
    ));
    let (tx, rx) = mpsc::channel();
    for _ in 0..probes.len().min(PROBE_THREADS) {
        let (client, queue, tx) = (Arc::clone(client), Arc::clone(&queue), tx.clone());
        let spawned = std::thread::Builder::new()
            .name("rockscope-test".to_owned())
            .spawn(move || {
                while Instant::now() < deadline {
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some((index, probe)) = next else { break };
                    if tx.send((index, call(&client, &probe))).is_err() {
                        break;
                    }
                }
            });
        if let Err(e) = spawned {
            log::warn!("test: cannot start a probe thread: {e}");
        }
    }
    drop(tx);
    let mut pending = probes.len();
    while pending > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((index, outcome)) => {
                outcomes[index] = Some(outcome);
                pending -= 1;
            }
            // The deadline passed, or every thread ended (none could start).
            Err(_) => break,
        }
    }
    outcomes
}

fn call(client: &ClusterClient, probe: &Probe) -> Outcome {
    let started = Instant::now();
    let (result, nodes) = match probe {
        Probe::ShowProc(fe) => match client.leader_view(std::slice::from_ref(fe)) {
            Ok(t) => {
                let nodes = t
                    .frontends
                    .iter()
                    .map(|f| NodeAddr::new(f.ip.clone(), f.http_port))
                    .chain(
                        t.backends
                            .iter()
                            .map(|b| NodeAddr::new(b.ip.clone(), b.http_port)),
                    )
                    .chain(
                        t.compute_nodes
                            .iter()
                            .map(|c| NodeAddr::new(c.ip.clone(), c.http_port)),
                    )
                    .collect();
                let detail = json!({
                    "frontends": t.frontends.len(),
                    "backends": t.backends.len(),
                    "compute_nodes": t.compute_nodes.len(),
                });
                (Ok(detail), nodes)
            }
            // One entry point: report its own error, not the "all failed" wrapper.
            Err(ClientError::AllEntryPointsFailed { mut attempts }) if attempts.len() == 1 => {
                (Err(attempts.remove(0)), Vec::new())
            }
            Err(e) => (Err(e), Vec::new()),
        },
        Probe::Metrics(node) => (
            client.fetch_metrics(node).map(|s| body_report(&s.body)),
            Vec::new(),
        ),
    };
    Outcome {
        elapsed: started.elapsed(),
        result,
        nodes,
    }
}

/// One check as JSON: `endpoint`, `ok`, `status` (`ok`, `failed`, `deadline`), `code` (the
/// client's error code, `deadline`, or `null`), `elapsed_ms`, and `detail` or `error`.
fn report(probe: &Probe, outcome: Option<&Outcome>, deadline: Duration) -> Value {
    let endpoint = probe.name();
    let Some(outcome) = outcome else {
        return json!({
            "endpoint": endpoint, "ok": false, "status": "deadline", "code": "deadline",
            "elapsed_ms": deadline.as_millis() as u64,
            "error": format!("no answer within the test's {} s deadline", deadline.as_secs()),
        });
    };
    let elapsed_ms = outcome.elapsed.as_millis() as u64;
    match &outcome.result {
        Ok(detail) => json!({
            "endpoint": endpoint, "ok": true, "status": "ok", "code": null,
            "elapsed_ms": elapsed_ms, "detail": detail,
        }),
        Err(error) => json!({
            "endpoint": endpoint, "ok": false, "status": "failed", "code": error.code(),
            "elapsed_ms": elapsed_ms, "error": capped(&error.to_string()),
        }),
    }
}

fn capped(text: &str) -> String {
    match text.char_indices().nth(ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Samples and skipped lines of a probed `/metrics` body (a full lenient parse: the collector
/// leaves this count to the engine, but a probe reports it directly).
fn body_report(body: &[u8]) -> Value {
    let mut parser = Parser::new(body, Mode::Lenient);
    let samples = parser.by_ref().filter(Result::is_ok).count();
    let diagnostics = parser.diagnostics();
    json!({
        "samples": samples,
        "skipped_lines": diagnostics.skipped_lines,
        "first_error": diagnostics.first_errors.first().map(ToString::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rockscope_api::ClusterTester;
    use rockscope_sim::{Fault, NodeId, SimConfig, Simulator, Version};
    use rockscope_store::{ClusterSource, Password};

    fn cluster(fe_hosts: Vec<String>, request_timeout_secs: u32) -> Cluster {
        Cluster {
            id: 1,
            name: "t".to_owned(),
            fe_hosts,
            username: "root".to_owned(),
            password: Password::new(""),
            connect_timeout_secs: Some(request_timeout_secs),
            request_timeout_secs: Some(request_timeout_secs),
            enabled: true,
            source: ClusterSource::Api,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Four hung FEs with a 60 s request timeout: every FE is tried at once, and the answer
    /// comes at the deadline with each FE reported as `deadline` (or as its own timeout, which
    /// is cut to the deadline and may win the race). One after another, with the cluster's own
    /// timeout, this took four minutes.
    #[test]
    fn hung_fes_are_tried_together_under_one_deadline() {
        let sim = Simulator::start(SimConfig::uniform(1, 4, 1, Version::V3_3, 5)).unwrap();
        let info = sim.clusters().remove(0);
        for i in 0..4 {
            sim.set_fault(&info.name, NodeId::fe(i), Fault::Hang)
                .unwrap();
        }
        let tester = ClientTester {
            defaults: CollectorConfig::default(),
            deadline: Duration::from_secs(2),
        };
        let started = Instant::now();
        let report = tester.test(&cluster(info.fe_hosts.clone(), 60));
        let elapsed = started.elapsed();
        assert!(
            elapsed < Duration::from_secs(6),
            "took {elapsed:?}: {report}"
        );
        let checks = report["checks"].as_array().unwrap();
        assert_eq!(checks.len(), 4, "{report}");
        for check in checks {
            let code = check["code"].as_str().unwrap();
            assert!(code == "deadline" || code == "timeout", "{check}");
            assert_ne!(check["status"], "ok", "{check}");
        }
        assert_eq!(report["ok"], false);
    }

    /// One FE refusing, one answering: both reported with status and code, the nodes probed.
    #[test]
    fn each_check_has_a_status_and_a_code() {
        let sim = Simulator::start(SimConfig::uniform(1, 2, 2, Version::V3_3, 6)).unwrap();
        let info = sim.clusters().remove(0);
        sim.set_fault(&info.name, NodeId::fe(0), Fault::Unauthorized)
            .unwrap();
        let tester = ClientTester::new(CollectorConfig::default());
        let report = tester.test(&cluster(info.fe_hosts.clone(), 3));
        let checks = report["checks"].as_array().unwrap();
        assert_eq!(checks[0]["status"], "failed", "{report}");
        assert_eq!(checks[0]["code"], "unauthorized", "{report}");
        assert_eq!(checks[1]["status"], "ok", "{report}");
        assert!(checks[1]["code"].is_null(), "{report}");
        // 2 FEs + 2 BEs listed by the answering FE; fe 0 fails its /metrics too.
        assert_eq!(checks.len(), 2 + 4, "{report}");
        let failed: Vec<_> = checks.iter().filter(|c| c["ok"] == false).collect();
        assert_eq!(failed.len(), 2, "{report}");
        assert!(
            failed
                .iter()
                .all(|c| c["error"].as_str().unwrap().chars().count() <= ERROR_CHARS + 1)
        );
    }
}
