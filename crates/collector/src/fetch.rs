//! One cluster's fetch: the leader's node lists, then every FE, BE and CN `/metrics`, all with the
//! client's timeouts. Blocking: [`fetch_cycle`] runs the steps on threads of its own, the
//! scheduler runs the same steps on tokio's blocking pool.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use rockscope_model::{
    Backend, ComputeNode, CycleInput, Frontend, MetricsScrape, NodeKind, NodeRef, NodeScrape,
    RuntimeInfo, SourceError,
};
use rockscope_starrocks::{ClientError, ClusterClient, NodeAddr};
use time::OffsetDateTime;

/// Nodes of one cluster scraped at the same time. A hung node costs one thread for at most the
/// request timeout; the others go on.
const SCRAPE_THREADS: usize = 16;

/// Fetches everything one cycle needs from a cluster. Never fails: every problem is recorded in
/// the returned input as a [`SourceError`], so a partial cycle still gives a snapshot.
///
/// The scrapes run on up to 16 threads started for this call. The service's collector does the
/// same steps (`fetch_node_lists`, a `ScrapeQueue`) on tokio's blocking pool instead, whose
/// threads outlive a cycle.
pub fn fetch_cycle(client: &ClusterClient, cluster_id: i64, fe_hosts: &[String]) -> CycleInput {
    let mut lists = fetch_node_lists(client, fe_hosts);
    let queue = ScrapeQueue::new(std::mem::take(&mut lists.nodes));
    thread::scope(|scope| {
        for _ in 0..queue.workers() {
            scope.spawn(|| queue.work(client));
        }
    });
    lists.into_input(cluster_id, queue.finish())
}

/// What a cycle learns before the scrapes: the leader's node lists (or why not), the runtime
/// info, and the nodes to scrape.
#[derive(Debug)]
pub(crate) struct NodeLists {
    collected_at: OffsetDateTime,
    frontends: Result<Vec<Frontend>, SourceError>,
    backends: Result<Vec<Backend>, SourceError>,
    compute_nodes: Result<Vec<ComputeNode>, SourceError>,
    runtime_info: Option<RuntimeInfo>,
    other_errors: Vec<SourceError>,
    /// Every FE, BE and CN to scrape (the configured FEs when the leader's list failed).
    pub(crate) nodes: Vec<NodeRef>,
}

impl NodeLists {
    /// The cycle's input, with the scrapes of [`NodeLists::nodes`].
    pub(crate) fn into_input(self, cluster_id: i64, scrapes: Vec<NodeScrape>) -> CycleInput {
        CycleInput {
            cluster_id,
            collected_at: self.collected_at,
            frontends: self.frontends,
            backends: self.backends,
            compute_nodes: self.compute_nodes,
            runtime_info: self.runtime_info,
            scrapes,
            other_errors: self.other_errors,
        }
    }
}

/// The leader's node lists and runtime info, and the nodes they name. Blocking.
pub(crate) fn fetch_node_lists(client: &ClusterClient, fe_hosts: &[String]) -> NodeLists {
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

    NodeLists {
        collected_at,
        frontends,
        backends,
        compute_nodes,
        runtime_info,
        other_errors,
        nodes,
    }
}

/// One cycle's scrapes of one cluster, shared by up to [`SCRAPE_THREADS`] workers that each take
/// the next node as they free up ([`ScrapeQueue::work`]), so a hung node holds one worker, not a
/// batch. Results keep the input order.
#[derive(Debug)]
pub(crate) struct ScrapeQueue {
    nodes: Vec<NodeRef>,
    next: AtomicUsize,
    results: Mutex<Vec<Option<Result<MetricsScrape, SourceError>>>>,
}

impl ScrapeQueue {
    pub(crate) fn new(nodes: Vec<NodeRef>) -> ScrapeQueue {
        let results = Mutex::new(vec![None; nodes.len()]);
        ScrapeQueue {
            nodes,
            next: AtomicUsize::new(0),
            results,
        }
    }

    /// How many workers to run: one per node, at most [`SCRAPE_THREADS`].
    pub(crate) fn workers(&self) -> usize {
        self.nodes.len().min(SCRAPE_THREADS)
    }

    /// One worker: scrapes the next node not yet taken until none is left. Blocking.
    pub(crate) fn work(&self, client: &ClusterClient) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(node) = self.nodes.get(i) else { break };
            let result = scrape_node(client, node);
            if let Ok(mut results) = self.results.lock() {
                results[i] = Some(result);
            }
        }
    }

    /// Every node with its result, once the workers have ended; a node whose worker panicked
    /// gets an error saying so.
    pub(crate) fn finish(&self) -> Vec<NodeScrape> {
        let results = match self.results.lock() {
            Ok(mut results) => std::mem::take(&mut *results),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        self.nodes
            .iter()
            .cloned()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rockscope_starrocks::ClientConfig;

    fn be(port: u16) -> NodeRef {
        NodeRef {
            kind: NodeKind::Be,
            id: port.to_string(),
            host: "127.0.0.1".to_owned(),
            http_port: port,
        }
    }

    /// A loopback port with nothing listening (bound, then released).
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.local_addr().expect("local addr").port()
    }

    #[test]
    fn workers_share_the_queue_and_results_keep_the_input_order() {
        let ports: Vec<u16> = (0..20).map(|_| closed_port()).collect();
        let queue = ScrapeQueue::new(ports.iter().map(|&p| be(p)).collect());
        assert_eq!(
            queue.workers(),
            SCRAPE_THREADS,
            "at most SCRAPE_THREADS workers"
        );
        let client = ClusterClient::new(ClientConfig::default());
        thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| queue.work(&client));
            }
        });
        let scrapes = queue.finish();
        let got: Vec<u16> = scrapes.iter().map(|s| s.node.http_port).collect();
        assert_eq!(got, ports);
        for s in &scrapes {
            let error = s.result.as_ref().expect_err("nothing listens there");
            assert_eq!(error.code, "connect_refused", "{error:?}");
        }
    }

    #[test]
    fn a_node_no_worker_finished_is_reported_not_lost() {
        let queue = ScrapeQueue::new(vec![be(1), be(2)]);
        assert_eq!(queue.workers(), 2, "one worker per node when fewer");
        // As if the workers had panicked before storing anything.
        let scrapes = queue.finish();
        assert_eq!(scrapes.len(), 2);
        for (s, port) in scrapes.iter().zip([1, 2]) {
            assert_eq!(s.node.http_port, port);
            let error = s.result.as_ref().expect_err("no result");
            assert_eq!(error.code, "panic");
            assert_eq!(error.source, format!("metrics 127.0.0.1:{port}"));
        }
    }
}
