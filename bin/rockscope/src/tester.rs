//! `POST /api/clusters/{id}/test`: tries a cluster's endpoints now with the StarRocks client.

use std::time::Instant;

use rockscope_collector::CollectorConfig;
use rockscope_promtext::{Mode, Parser};
use rockscope_starrocks::{ClusterClient, NodeAddr};
use rockscope_store::Cluster;
use serde_json::{Value, json};

/// Probes clusters with a fresh client built from the cluster's settings.
pub struct ClientTester {
    defaults: CollectorConfig,
}

impl ClientTester {
    pub fn new(defaults: CollectorConfig) -> ClientTester {
        ClientTester { defaults }
    }
}

impl rockscope_api::ClusterTester for ClientTester {
    fn test(&self, cluster: &Cluster) -> Value {
        let client = ClusterClient::new(self.defaults.client_config(cluster));
        let mut checks = Vec::new();
        let mut check = |endpoint: String, started: Instant, result: Result<Value, String>| {
            let elapsed_ms = started.elapsed().as_millis() as u64;
            checks.push(match result {
                Ok(detail) => json!({"endpoint": endpoint, "ok": true, "elapsed_ms": elapsed_ms, "detail": detail}),
                Err(error) => json!({"endpoint": endpoint, "ok": false, "elapsed_ms": elapsed_ms, "error": error}),
            });
        };
        let started = Instant::now();
        let topology = client.leader_view(&cluster.fe_hosts);
        match &topology {
            Ok(t) => check(
                format!("show_proc via {}", t.answered_by),
                started,
                Ok(json!({
                    "frontends": t.frontends.len(),
                    "backends": t.backends.len(),
                    "compute_nodes": t.compute_nodes.len(),
                })),
            ),
            Err(e) => check(
                "show_proc".to_owned(),
                started,
                Err(format!("{} ({})", e, e.code())),
            ),
        }
        if let Ok(t) = topology {
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
                );
            for node in nodes {
                let started = Instant::now();
                let result = client
                    .fetch_metrics(&node)
                    .map(|s| body_report(&s.body))
                    .map_err(|e| format!("{} ({})", e, e.code()));
                check(format!("metrics {node}"), started, result);
            }
        }
        let ok = checks.iter().all(|c| c["ok"] == json!(true));
        json!({"cluster_id": cluster.id, "ok": ok, "checks": checks})
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
