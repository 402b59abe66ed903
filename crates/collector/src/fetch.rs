//! One cluster's fetch: the node lists from the first FE entry point that answers (hedged), then
//! every FE, BE and CN `/metrics`, every step on tokio's blocking pool and every request ending
//! by the fetch's `until`. Whatever is still pending then is that source's `timeout`; the rest
//! is the cycle's input.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rockscope_model::{
    Backend, ComputeNode, CycleInput, Frontend, MetricsScrape, NodeKind, NodeRef, NodeScrape,
    RuntimeInfo, SourceError,
};
use rockscope_starrocks::{
    ClientError, ClusterClient, ClusterTopology, Endpoint, NodeAddr, TimeoutPhase,
};
use time::OffsetDateTime;
use tokio::task::{JoinHandle, JoinSet};

/// Nodes of one cluster scraped at the same time. A hung node holds one thread until the fetch's
/// `until` at most; the others go on.
const SCRAPE_THREADS: usize = 16;

/// How long the node lists wait for one FE entry point before asking the next one as well
/// (at most a quarter of the fetch's time): a hung FE, wherever it is in `fe_hosts`, delays the
/// lists by this much, not by a request timeout.
const HEDGE_DELAY: Duration = Duration::from_millis(500);

/// What every blocking step of a fetch holds until the step ends, even after the fetch stopped
/// waiting for it: the scheduler's in-flight mark of the cluster.
pub(crate) type Hold = Arc<dyn Send + Sync>;

/// Fetches everything one cycle needs from a cluster, exactly as the service's collector does:
/// node lists hedged over `fe_hosts`, every step on tokio's blocking pool (call it inside a tokio
/// runtime with its time driver enabled), every request ending by `until`. Never fails: every problem is recorded in the
/// returned input as a [`SourceError`] (a source still pending at `until` as `timeout`), so a
/// partial cycle still gives a snapshot. Returns by `until`, give or take a scheduler tick.
pub async fn fetch_cycle(
    client: &ClusterClient,
    cluster_id: i64,
    fe_hosts: &[String],
    until: Instant,
) -> CycleInput {
    fetch_holding(client, cluster_id, fe_hosts, until, Arc::new(())).await
}

/// [`fetch_cycle`], every blocking step holding `hold` until it ends.
pub(crate) async fn fetch_holding(
    client: &ClusterClient,
    cluster_id: i64,
    fe_hosts: &[String],
    until: Instant,
    hold: Hold,
) -> CycleInput {
    let collected_at = OffsetDateTime::now_utc();
    let budget = until.saturating_duration_since(Instant::now());
    let client = Arc::new(client.with_deadline(until));
    let view = hedged_leader_view(&client, fe_hosts, until, &hold).await;
    let mut lists = NodeLists::new(view, fe_hosts);
    // The runtime info runs next to the scrapes: a slow answer to it delays none of them.
    let runtime_info = lists.answered_by.clone().map(|fe| {
        let client = Arc::clone(&client);
        let asked = fe.clone();
        (fe, holding(&hold, move || client.runtime_info(&asked)))
    });
    let nodes = std::mem::take(&mut lists.nodes);
    let scrapes = scrape_all(&client, nodes, until, budget, &hold).await;
    if let Some((fe, step)) = runtime_info {
        match tokio::time::timeout_at(until.into(), step).await {
            Ok(Ok(Ok(info))) => lists.runtime_info = Some(info),
            Ok(Ok(Err(e))) => lists
                .other_errors
                .push(source_error("show_runtime_info", &e)),
            Ok(Err(panicked)) => lists.other_errors.push(SourceError {
                source: "show_runtime_info".to_owned(),
                code: "panic".to_owned(),
                message: format!("the request panicked: {panicked}"),
            }),
            Err(_) => {
                let error = pending_at(&fe, Endpoint::RuntimeInfo, budget);
                lists.other_errors.push(error);
            }
        }
    }
    lists.into_input(cluster_id, collected_at, scrapes)
}

/// Every node's `/metrics`, by up to [`SCRAPE_THREADS`] workers on the blocking pool, waited
/// for until `until`; a node without an answer then is its `timeout` (`budget` after the fetch
/// began).
async fn scrape_all(
    client: &Arc<ClusterClient>,
    nodes: Vec<NodeRef>,
    until: Instant,
    budget: Duration,
    hold: &Hold,
) -> Vec<NodeScrape> {
    let queue = Arc::new(ScrapeQueue::new(nodes));
    let workers: Vec<_> = (0..queue.workers())
        .map(|_| {
            let (queue, client) = (Arc::clone(&queue), Arc::clone(client));
            holding(hold, move || queue.work(&client))
        })
        .collect();
    let all_ended = async {
        for worker in workers {
            // A worker that panicked leaves its nodes without a result, which `finish`
            // reports as those nodes' errors; the other nodes' scrapes stand.
            let _ = worker.await;
        }
    };
    let cut = tokio::time::timeout_at(until.into(), all_ended)
        .await
        .is_err();
    queue.finish(|node| {
        let addr = NodeAddr::new(node.host.clone(), node.http_port);
        if cut {
            pending_at(&addr, Endpoint::Metrics, budget)
        } else {
            SourceError {
                source: format!("metrics {addr}"),
                code: "panic".to_owned(),
                message: "the scrape did not complete (worker panicked)".to_owned(),
            }
        }
    })
}

/// The leader's node lists from the first entry point of `fe_hosts` that answers all three. The
/// first is asked at once; each next one when the one before failed or after [`HEDGE_DELAY`]
/// without an answer, whichever comes first. Entry points that failed before the answer are in
/// [`ClusterTopology::failed_attempts`] (in the order they failed); those still pending are let
/// go (their requests end by `until`). When none answers by `until`, every attempt's error.
async fn hedged_leader_view(
    client: &Arc<ClusterClient>,
    fe_hosts: &[String],
    until: Instant,
    hold: &Hold,
) -> Result<ClusterTopology, ClientError> {
    let hedge = HEDGE_DELAY.min(until.saturating_duration_since(Instant::now()) / 4);
    let mut asking: JoinSet<Result<ClusterTopology, ClientError>> = JoinSet::new();
    let mut pending: Vec<NodeAddr> = Vec::new();
    let mut failed = Vec::new();
    let mut rest = fe_hosts.iter();
    let mut next_at = tokio::time::Instant::now();
    let asked_all = async {
        loop {
            tokio::select! {
                Some(joined) = asking.join_next() => match joined {
                    Ok(Ok(topology)) => {
                        let failed_attempts = std::mem::take(&mut failed);
                        return Ok(ClusterTopology { failed_attempts, ..topology });
                    }
                    Ok(Err(e)) => {
                        pending.retain(|fe| Some(fe) != e.node());
                        log::debug!("Entry point failed. error={e}");
                        failed.push(e);
                        next_at = tokio::time::Instant::now();
                    }
                    // A panicking request is a bug elsewhere; the entry point counts as pending.
                    Err(_) => next_at = tokio::time::Instant::now(),
                },
                _ = tokio::time::sleep_until(next_at), if !rest.as_slice().is_empty() => {
                    let Some(host) = rest.next() else { continue };
                    match host.parse::<NodeAddr>() {
                        Ok(fe) => {
                            pending.push(fe.clone());
                            let (client, hold) = (Arc::clone(client), Arc::clone(hold));
                            asking.spawn_blocking(move || {
                                let _hold = hold;
                                client.topology(&fe)
                            });
                            next_at = tokio::time::Instant::now() + hedge;
                        }
                        Err(e) => failed.push(ClientError::from(e)),
                    }
                }
                else => {
                    let attempts = std::mem::take(&mut failed);
                    return Err(ClientError::AllEntryPointsFailed { attempts });
                }
            }
        }
    };
    let started = Instant::now();
    let answer = tokio::time::timeout_at(until.into(), asked_all).await;
    match answer {
        Ok(answer) => answer,
        Err(_) => {
            let mut attempts = failed;
            let waited = until.saturating_duration_since(started);
            for fe in &pending {
                attempts.push(deadline_timeout(fe, Endpoint::ShowFrontends, waited));
            }
            Err(ClientError::AllEntryPointsFailed { attempts })
        }
    }
}

/// What a cycle learns before the scrapes: the leader's node lists (or why not), the FE that
/// answered them, and the nodes to scrape.
#[derive(Debug)]
struct NodeLists {
    frontends: Result<Vec<Frontend>, SourceError>,
    backends: Result<Vec<Backend>, SourceError>,
    compute_nodes: Result<Vec<ComputeNode>, SourceError>,
    answered_by: Option<NodeAddr>,
    runtime_info: Option<RuntimeInfo>,
    other_errors: Vec<SourceError>,
    /// Every FE, BE and CN to scrape (the configured FEs when the leader's list failed).
    nodes: Vec<NodeRef>,
}

impl NodeLists {
    fn new(view: Result<ClusterTopology, ClientError>, fe_hosts: &[String]) -> NodeLists {
        let mut other_errors = Vec::new();
        let (frontends, backends, compute_nodes, answered_by) = match view {
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
        let nodes = nodes_to_scrape(&frontends, &backends, &compute_nodes, fe_hosts);
        NodeLists {
            frontends,
            backends,
            compute_nodes,
            answered_by,
            runtime_info: None,
            other_errors,
            nodes,
        }
    }

    fn into_input(
        self,
        cluster_id: i64,
        collected_at: OffsetDateTime,
        scrapes: Vec<NodeScrape>,
    ) -> CycleInput {
        CycleInput {
            cluster_id,
            collected_at,
            frontends: self.frontends,
            backends: self.backends,
            compute_nodes: self.compute_nodes,
            runtime_info: self.runtime_info,
            scrapes,
            other_errors: self.other_errors,
        }
    }
}

/// Every node the lists name; the configured entry points as the FEs when the lists failed.
fn nodes_to_scrape(
    frontends: &Result<Vec<Frontend>, SourceError>,
    backends: &Result<Vec<Backend>, SourceError>,
    compute_nodes: &Result<Vec<ComputeNode>, SourceError>,
    fe_hosts: &[String],
) -> Vec<NodeRef> {
    let node = |kind, id: String, host: &str, http_port| NodeRef {
        kind,
        id,
        host: host.to_owned(),
        http_port,
    };
    let mut nodes = Vec::new();
    match frontends {
        Ok(list) => nodes.extend(
            list.iter()
                .map(|fe| node(NodeKind::Fe, fe.name.clone(), &fe.ip, fe.http_port)),
        ),
        // Without the leader's list, the configured entry points are the FEs we know of.
        Err(_) => nodes.extend(
            fe_hosts
                .iter()
                .filter_map(|h| h.parse::<NodeAddr>().ok())
                .map(|addr| node(NodeKind::Fe, addr.to_string(), &addr.host, addr.port)),
        ),
    }
    if let Ok(list) = backends {
        nodes.extend(list.iter().map(|be| {
            node(
                NodeKind::Be,
                be.backend_id.to_string(),
                &be.ip,
                be.http_port,
            )
        }));
    }
    if let Ok(list) = compute_nodes {
        nodes.extend(list.iter().map(|cn| {
            node(
                NodeKind::Cn,
                cn.compute_node_id.to_string(),
                &cn.ip,
                cn.http_port,
            )
        }));
    }
    nodes
}

/// One cycle's scrapes of one cluster, shared by up to [`SCRAPE_THREADS`] workers that each take
/// the next node as they free up ([`ScrapeQueue::work`]), so a hung node holds one worker, not a
/// batch. Results keep the input order.
#[derive(Debug)]
struct ScrapeQueue {
    nodes: Vec<NodeRef>,
    next: AtomicUsize,
    /// Emptied by [`ScrapeQueue::finish`]; a result that comes later is dropped.
    results: Mutex<Vec<Option<Result<MetricsScrape, SourceError>>>>,
}

impl ScrapeQueue {
    fn new(nodes: Vec<NodeRef>) -> ScrapeQueue {
        let results = Mutex::new(vec![None; nodes.len()]);
        ScrapeQueue {
            nodes,
            next: AtomicUsize::new(0),
            results,
        }
    }

    /// How many workers to run: one per node, at most [`SCRAPE_THREADS`].
    fn workers(&self) -> usize {
        self.nodes.len().min(SCRAPE_THREADS)
    }

    /// One worker: scrapes the next node not yet taken until none is left. Blocking.
    fn work(&self, client: &ClusterClient) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(node) = self.nodes.get(i) else { break };
            let result = scrape_node(client, node);
            let mut results = self.results.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(slot) = results.get_mut(i) {
                *slot = Some(result);
            }
        }
    }

    /// Every node with its result so far; a node without one gets `missing(node)` (still
    /// pending, or its worker panicked).
    fn finish(&self, missing: impl Fn(&NodeRef) -> SourceError) -> Vec<NodeScrape> {
        let results = std::mem::take(&mut *self.results.lock().unwrap_or_else(|p| p.into_inner()));
        self.nodes
            .iter()
            .cloned()
            .zip(results.into_iter().chain(std::iter::repeat(None)))
            .map(|(node, result)| {
                let result = result.unwrap_or_else(|| Err(missing(&node)));
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

/// Runs `step` on tokio's blocking pool, holding `hold` until it ends (even if the task that
/// awaits it has given up).
pub(crate) fn holding<T: Send + 'static>(
    hold: &Hold,
    step: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let hold = Arc::clone(hold);
    tokio::task::spawn_blocking(move || {
        let _hold = hold;
        step()
    })
}

/// The error of a request to `node` that had not ended when the fetch stopped waiting, `waited`
/// after it began.
fn deadline_timeout(node: &NodeAddr, endpoint: Endpoint, waited: Duration) -> ClientError {
    ClientError::Timeout {
        node: node.clone(),
        endpoint,
        phase: TimeoutPhase::Deadline,
        limit: waited,
    }
}

/// [`deadline_timeout`] as the source error of a node's `endpoint`.
fn pending_at(node: &NodeAddr, endpoint: Endpoint, waited: Duration) -> SourceError {
    let source = match endpoint {
        Endpoint::Metrics => format!("metrics {node}"),
        other => other.name().to_owned(),
    };
    source_error(&source, &deadline_timeout(node, endpoint, waited))
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

    fn unreached(node: &NodeRef) -> SourceError {
        SourceError {
            source: format!("metrics 127.0.0.1:{}", node.http_port),
            code: "missing".to_owned(),
            message: "no result".to_owned(),
        }
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
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| queue.work(&client));
            }
        });
        let scrapes = queue.finish(unreached);
        let got: Vec<u16> = scrapes.iter().map(|s| s.node.http_port).collect();
        assert_eq!(got, ports);
        for s in &scrapes {
            let error = s.result.as_ref().expect_err("nothing listens there");
            assert_eq!(error.code, "connect_refused", "{error:?}");
        }
    }

    #[test]
    fn a_node_no_worker_finished_is_reported_not_lost_and_late_results_are_dropped() {
        let queue = ScrapeQueue::new(vec![be(1), be(2)]);
        assert_eq!(queue.workers(), 2, "one worker per node when fewer");
        // As if the workers were still busy (or had panicked) when the fetch stopped waiting.
        let scrapes = queue.finish(unreached);
        assert_eq!(scrapes.len(), 2);
        for (s, port) in scrapes.iter().zip([1, 2]) {
            assert_eq!(s.node.http_port, port);
            let error = s.result.as_ref().expect_err("no result");
            assert_eq!(error.code, "missing");
        }
        // A worker that finishes after that neither panics nor changes anything.
        let client = ClusterClient::new(ClientConfig::default()).with_deadline(Instant::now());
        queue.work(&client);
        assert_eq!(queue.finish(unreached).len(), 2);
    }

    #[test]
    fn a_pending_scrape_is_a_timeout_of_that_node() {
        let error = pending_at(
            &NodeAddr::new("127.0.0.1", 8040),
            Endpoint::Metrics,
            Duration::from_millis(1800),
        );
        assert_eq!(error.source, "metrics 127.0.0.1:8040");
        assert_eq!(error.code, "timeout");
        assert!(error.message.contains("1800 ms"), "{}", error.message);
    }
}
