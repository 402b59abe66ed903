//! One cluster's fetch: the leader's node lists, then every FE, BE and CN `/metrics`, all with the
//! client's timeouts. Blocking: the scheduler runs it on a blocking thread.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use rockscope_model::{CycleInput, MetricsScrape, NodeKind, NodeRef, NodeScrape, SourceError};
use rockscope_starrocks::{ClientError, ClusterClient, NodeAddr};
use time::OffsetDateTime;

/// Nodes of one cluster scraped at the same time. A hung node costs one thread for at most the
/// request timeout; the others go on.
const SCRAPE_THREADS: usize = 16;

/// Fetches everything one cycle needs from a cluster. Never fails: every problem is recorded in
/// the returned input as a [`SourceError`], so a partial cycle still gives a snapshot.
pub fn fetch_cycle(client: &ClusterClient, cluster_id: i64, fe_hosts: &[String]) -> CycleInput {
    let collected_at = OffsetDateTime::now_utc();
    let mut other_errors = Vec::new();
    let (frontends, backends, compute_nodes, answered_by) = match client.leader_view(fe_hosts) {
        Ok(topology) => {
            for failed in &topology.failed_attempts {
                other_errors.push(source_error("show_proc", failed));
            }
            (
                Ok(topology.frontends),
                Ok(topology.backends),
                Ok(topology.compute_nodes),
                Some(topology.answered_by),
            )
        }
        Err(e) => {
            let error = source_error("show_proc", &e);
            (Err(error.clone()), Err(error.clone()), Err(error), None)
        }
    };

    let mut nodes = Vec::new();
    match &frontends {
        Ok(list) => nodes.extend(list.iter().map(|fe| NodeRef {
            kind: NodeKind::Fe,
            id: fe.name.clone(),
            host: fe.ip.clone(),
            http_port: fe.http_port,
        })),
        // Without the leader's list, the configured entry points are the FEs we know of.
        Err(_) => nodes.extend(
            fe_hosts
                .iter()
                .filter_map(|h| h.parse::<NodeAddr>().ok())
                .map(|addr| NodeRef {
                    kind: NodeKind::Fe,
                    id: addr.to_string(),
                    host: addr.host,
                    http_port: addr.port,
                }),
        ),
    }
    if let Ok(list) = &backends {
        nodes.extend(list.iter().map(|be| NodeRef {
            kind: NodeKind::Be,
            id: be.backend_id.to_string(),
            host: be.ip.clone(),
            http_port: be.http_port,
        }));
    }
    if let Ok(list) = &compute_nodes {
        nodes.extend(list.iter().map(|cn| NodeRef {
            kind: NodeKind::Cn,
            id: cn.compute_node_id.to_string(),
            host: cn.ip.clone(),
            http_port: cn.http_port,
        }));
    }

    let runtime_info = answered_by.and_then(|fe| match client.runtime_info(&fe) {
        Ok(info) => Some(info),
        Err(e) => {
            other_errors.push(source_error("show_runtime_info", &e));
            None
        }
    });

    CycleInput {
        cluster_id,
        collected_at,
        frontends,
        backends,
        compute_nodes,
        runtime_info,
        scrapes: scrape_all(client, nodes),
        other_errors,
    }
}

/// Scrapes every node with up to [`SCRAPE_THREADS`] workers taking the next node as they free
/// up, so a hung node holds one worker, not a batch. Results keep the input order.
fn scrape_all(client: &ClusterClient, nodes: Vec<NodeRef>) -> Vec<NodeScrape> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<MetricsScrape, SourceError>>>> =
        Mutex::new(vec![None; nodes.len()]);
    let workers = nodes.len().min(SCRAPE_THREADS);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(node) = nodes.get(i) else { break };
                    let result = scrape_node(client, node);
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(result);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    nodes
        .into_iter()
        .zip(results.into_iter().chain(std::iter::repeat(None)))
        .map(|(node, result)| {
            let result = result.unwrap_or_else(|| {
                Err(SourceError {
                    source: format!("metrics {}:{}", node.host, node.http_port),
                    code: "panic".to_owned(),
                    message: "the scrape did not complete (worker panicked)".to_owned(),
                })
            });
            NodeScrape { node, result }
        })
        .collect()
}

fn scrape_node(client: &ClusterClient, node: &NodeRef) -> Result<MetricsScrape, SourceError> {
    let addr = NodeAddr::new(node.host.clone(), node.http_port);
    client
        .fetch_metrics(&addr)
        .map_err(|e| source_error(&format!("metrics {addr}"), &e))
}

/// A client error as the engine and the store record it: where, a stable code, the message.
pub fn source_error(source: &str, error: &ClientError) -> SourceError {
    SourceError {
        source: source.to_owned(),
        code: error.code().to_owned(),
        message: error.to_string(),
    }
}
