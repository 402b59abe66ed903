//! The event loop: a fixed-rate ticker, one task per cluster per tick (never two at once for a
//! cluster), a concurrency limit, a per-cluster deadline, and housekeeping after each tick.
//!
//! All arithmetic on metrics is the engine's; all SQL is the store's. This module only decides
//! when things run, keeps them apart, and records what happened.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rockscope_engine::{EngineState, aggregate};
use rockscope_model::SourceError;
use rockscope_starrocks::{ClientConfig, ClusterClient};
use rockscope_store::{Cluster, Error as StoreError, NewCollectionError, NewRun, Store};
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::fetch::{ScrapeQueue, fetch_node_lists};
use crate::housekeeping::Housekeeping;
use crate::status::{CycleSummary, StatusBoard};

/// How the collector runs; the binary builds it from `[collector]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectorConfig {
    /// Time between the starts of two ticks.
    pub interval: Duration,
    /// Clusters collected at the same time.
    pub concurrency: usize,
    /// Connect timeout of every request (a cluster's own setting wins).
    pub connect_timeout: Duration,
    /// Whole-request timeout (a cluster's own setting wins).
    pub request_timeout: Duration,
    /// How long one cluster's fetch and aggregation may take.
    pub cluster_deadline: Duration,
    /// Body cap per response.
    pub max_body_bytes: u64,
    /// Days snapshots are kept.
    pub retention_days: u32,
    /// Days daily aggregates are kept.
    pub daily_retention_days: u32,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            interval: Duration::from_secs(30),
            concurrency: 16,
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(10),
            cluster_deadline: Duration::from_secs(30),
            max_body_bytes: ClientConfig::DEFAULT_MAX_BODY_BYTES,
            retention_days: 7,
            daily_retention_days: 30,
        }
    }
}

impl CollectorConfig {
    /// The client settings for `cluster`: its credentials, its own timeouts where it has them,
    /// else these defaults, and the body cap.
    pub fn client_config(&self, cluster: &Cluster) -> ClientConfig {
        let secs = |own: Option<u32>, default: Duration| {
            own.map_or(default, |s| Duration::from_secs(u64::from(s)))
        };
        ClusterClient::builder()
            .username(cluster.username.clone())
            .password(cluster.password.expose())
            .connect_timeout(secs(cluster.connect_timeout_secs, self.connect_timeout))
            .request_timeout(secs(cluster.request_timeout_secs, self.request_timeout))
            .max_body_bytes(self.max_body_bytes)
            .current()
            .clone()
    }
}

/// What one cluster's collection in a tick came to.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOutcome {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// How long it took.
    pub duration: Duration,
    /// The snapshot's sources that failed (a partial cycle), or why nothing was stored.
    pub result: Result<Vec<SourceError>, String>,
    /// Nodes scraped successfully, and in all.
    pub nodes_ok: usize,
    /// Nodes the cycle tried to scrape.
    pub nodes_total: usize,
}

/// The collector: owns the per-cluster clients and engine state between cycles.
pub struct Collector {
    config: CollectorConfig,
    store: Store,
    status: StatusBoard,
    permits: Arc<Semaphore>,
    clients: Mutex<HashMap<i64, (ClientConfig, Arc<ClusterClient>)>>,
    states: Mutex<HashMap<i64, EngineState>>,
    in_flight: Mutex<HashSet<i64>>,
    housekeeping: Housekeeping,
}

impl Collector {
    /// A collector writing to `store` and reporting to `status`.
    pub fn new(config: CollectorConfig, store: Store, status: StatusBoard) -> Arc<Collector> {
        let housekeeping = Housekeeping::new(
            store.clone(),
            status.clone(),
            config.retention_days,
            config.daily_retention_days,
        );
        Arc::new(Collector {
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            store,
            status,
            clients: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            housekeeping,
        })
    }

    /// The status board the API reads.
    pub fn status(&self) -> &StatusBoard {
        &self.status
    }

    /// Runs until `shutdown` turns true: a tick at start, then one every interval, fixed rate.
    /// Daily aggregates missed while the service was down are caught up first. On shutdown the
    /// ticks in flight get `grace` to finish; whatever is cut then was never half-written (each
    /// cycle is stored in one transaction).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>, grace: Duration) {
        self.status.set_running(true);
        self.housekeeping.run(OffsetDateTime::now_utc()).await;
        let mut ticker = tokio::time::interval(self.config.interval);
        // A tick that could not fire on time is dropped, not bunched up: the schedule stays fixed.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut ticks: Vec<JoinHandle<()>> = Vec::new();
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    ticks.retain(|t| !t.is_finished());
                    let this = Arc::clone(&self);
                    ticks.push(tokio::spawn(async move {
                        this.tick().await;
                    }));
                }
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        break;
                    }
                }
            }
        }
        log::info!("Collector stopping. in_flight_ticks={}", ticks.len());
        let wait_all = async {
            for tick in ticks {
                let _ = tick.await;
            }
        };
        if tokio::time::timeout(grace, wait_all).await.is_err() {
            log::warn!(
                "Collector stopped before all clusters finished. grace_secs={}",
                grace.as_secs()
            );
        }
        self.status.set_running(false);
    }

    /// Runs one tick and waits for it: every enabled cluster once, then housekeeping.
    pub async fn collect_once(self: &Arc<Self>) -> Vec<ClusterOutcome> {
        self.tick().await
    }

    async fn tick(self: &Arc<Self>) -> Vec<ClusterOutcome> {
        let started_at = OffsetDateTime::now_utc();
        let started = Instant::now();
        let clusters = match self.blocking(|store| store.list_clusters()).await {
            Ok(clusters) => clusters,
            Err(e) => {
                log::error!("Listing clusters failed. error={e}");
                return Vec::new();
            }
        };
        let enabled: Vec<Cluster> = clusters.into_iter().filter(|c| c.enabled).collect();
        let ids: Vec<i64> = enabled.iter().map(|c| c.id).collect();
        self.status.forget_missing(&ids);
        self.forget_missing(&ids);

        let mut tasks = Vec::new();
        let mut skipped = 0;
        for cluster in enabled {
            if !lock(&self.in_flight).insert(cluster.id) {
                // Never two collections of one cluster at once: this tick leaves it out.
                log::warn!(
                    "Cluster skipped, its previous collection still runs. cluster={}",
                    cluster.name
                );
                skipped += 1;
                continue;
            }
            let this = Arc::clone(self);
            let (id, name) = (cluster.id, cluster.name.clone());
            let flight = Arc::new(InFlight {
                collector: Arc::clone(self),
                cluster_id: cluster.id,
            });
            let handle = tokio::spawn(async move { this.collect_cluster(cluster, flight).await });
            tasks.push((id, name, handle));
        }

        let mut outcomes = Vec::new();
        for (cluster_id, cluster_name, handle) in tasks {
            match handle.await {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    // A panic inside one cluster's collection: record it, go on with the rest.
                    let message = format!("collection task failed: {e}");
                    log::error!("Cluster collection panicked. cluster={cluster_name} error={e}");
                    self.status.attempt_finished(
                        cluster_id,
                        &cluster_name,
                        started_at,
                        0,
                        Err(message.clone()),
                    );
                    self.record_error(cluster_id, "collect", "panic", &message)
                        .await;
                    outcomes.push(ClusterOutcome {
                        cluster_id,
                        cluster_name,
                        duration: Duration::ZERO,
                        result: Err(message),
                        nodes_ok: 0,
                        nodes_total: 0,
                    });
                }
            }
        }

        let ok = outcomes.iter().filter(|o| o.result.is_ok()).count() as u32;
        let failed = outcomes.len() as u32 - ok;
        let duration_ms = started.elapsed().as_millis() as u64;
        self.status.cycle_finished(CycleSummary {
            started_at,
            duration_ms,
            clusters_ok: ok,
            clusters_failed: failed,
            clusters_skipped: skipped,
        });
        let run = NewRun {
            started_at,
            duration_ms,
            clusters_total: ok + failed + skipped,
            clusters_ok: ok,
            clusters_failed: failed,
        };
        if let Err(e) = self.blocking(move |store| store.record_run(&run)).await {
            log::warn!("Recording the cycle failed. error={e}");
        }
        self.housekeeping.run(OffsetDateTime::now_utc()).await;
        outcomes
    }

    /// `flight` marks the cluster as being collected until both this task and its blocking fetch
    /// have ended (the fetch may outlive a deadline that gave up on it): the next ticks skip the
    /// cluster meanwhile.
    async fn collect_cluster(
        self: &Arc<Self>,
        cluster: Cluster,
        flight: Arc<InFlight>,
    ) -> ClusterOutcome {
        let Ok(_permit) = Arc::clone(&self.permits).acquire_owned().await else {
            return self.failed(
                &cluster,
                Duration::ZERO,
                "collector is shutting down".to_owned(),
            );
        };
        let started_at = OffsetDateTime::now_utc();
        let started = Instant::now();
        self.status
            .attempt_started(cluster.id, &cluster.name, started_at);
        if cluster.password.is_unreadable() {
            // A lost secret key: say so rather than log in without a password.
            let message = rockscope_store::Password::UNREADABLE.to_owned();
            self.record_error(cluster.id, "credentials", "password_unreadable", &message)
                .await;
            return self.failed(&cluster, started.elapsed(), message);
        }

        let client = self.client_for(&cluster);
        let previous = lock(&self.states)
            .get(&cluster.id)
            .cloned()
            .unwrap_or_default();
        let (cluster_id, fe_hosts) = (cluster.id, cluster.fe_hosts.clone());
        // Fetching and parsing are blocking and CPU work: every step runs on tokio's blocking
        // pool, never on an async worker, and on threads that outlive the cycle (a thread
        // started and ended per scrape cost a quarter of the service's CPU:
        // `docs/BENCHMARKS.md`). Each step holds `flight`, so a step still running after the
        // deadline gave up keeps the cluster out of the next ticks.
        let work = async move {
            let mut lists = {
                let client = Arc::clone(&client);
                holding(&flight, move || fetch_node_lists(&client, &fe_hosts)).await?
            };
            let queue = Arc::new(ScrapeQueue::new(std::mem::take(&mut lists.nodes)));
            let workers: Vec<_> = (0..queue.workers())
                .map(|_| {
                    let (queue, client) = (Arc::clone(&queue), Arc::clone(&client));
                    holding(&flight, move || queue.work(&client))
                })
                .collect();
            for worker in workers {
                // A worker that panicked leaves its nodes without a result, which `finish`
                // reports as those nodes' errors; the other nodes' scrapes stand.
                let _ = worker.await;
            }
            let input = lists.into_input(cluster_id, queue.finish());
            holding(&flight, move || {
                let nodes_total = input.scrapes.len();
                let nodes_ok = input.scrapes.iter().filter(|s| s.result.is_ok()).count();
                (aggregate(&previous, &input), nodes_ok, nodes_total)
            })
            .await
        };
        let (aggregation, nodes_ok, nodes_total) =
            match tokio::time::timeout(self.config.cluster_deadline, work).await {
                Ok(Ok(done)) => done,
                Ok(Err(e)) => {
                    let message = format!("collection failed: {e}");
                    self.record_error(cluster.id, "collect", "panic", &message)
                        .await;
                    return self.failed(&cluster, started.elapsed(), message);
                }
                Err(_) => {
                    let message = format!(
                        "collection exceeded the cluster deadline of {}s",
                        self.config.cluster_deadline.as_secs_f64()
                    );
                    self.record_error(cluster.id, "collect", "deadline", &message)
                        .await;
                    return self.failed(&cluster, started.elapsed(), message);
                }
            };

        if nodes_ok == 0 {
            // Nothing answered: a snapshot of nulls would only hide the outage in the trends.
            let message = describe_total_failure(&aggregation.snapshot.source_errors);
            for error in &aggregation.snapshot.source_errors {
                self.record_error(cluster.id, "scrape", &error.code, &error.message)
                    .await;
            }
            return self.failed(&cluster, started.elapsed(), message);
        }

        let snapshot = aggregation.snapshot;
        let nodes = aggregation.nodes;
        let source_errors = snapshot.source_errors.clone();
        let stored = self
            .blocking(move |store| store.insert_cycle(&snapshot, &nodes))
            .await;
        let duration = started.elapsed();
        match stored {
            Ok(_) => {
                lock(&self.states).insert(cluster.id, aggregation.state);
                for error in &source_errors {
                    self.record_error(cluster.id, "scrape", &error.code, &error.message)
                        .await;
                }
                self.status.attempt_finished(
                    cluster.id,
                    &cluster.name,
                    started_at,
                    duration.as_millis() as u64,
                    Ok(source_errors.clone()),
                );
                log::debug!(
                    "Cluster collected. cluster={} nodes_ok={nodes_ok} nodes_total={nodes_total} duration_ms={}",
                    cluster.name,
                    duration.as_millis()
                );
                ClusterOutcome {
                    cluster_id: cluster.id,
                    cluster_name: cluster.name,
                    duration,
                    result: Ok(source_errors),
                    nodes_ok,
                    nodes_total,
                }
            }
            Err(e) => {
                let message = format!("storing the snapshot failed: {e}");
                self.record_error(cluster.id, "store", "sqlite", &message)
                    .await;
                self.failed(&cluster, duration, message)
            }
        }
    }

    fn failed(&self, cluster: &Cluster, duration: Duration, message: String) -> ClusterOutcome {
        log::warn!(
            "Cluster collection failed. cluster={} error={message}",
            cluster.name
        );
        self.status.attempt_finished(
            cluster.id,
            &cluster.name,
            OffsetDateTime::now_utc(),
            duration.as_millis() as u64,
            Err(message.clone()),
        );
        ClusterOutcome {
            cluster_id: cluster.id,
            cluster_name: cluster.name.clone(),
            duration,
            result: Err(message),
            nodes_ok: 0,
            nodes_total: 0,
        }
    }

    /// The cluster's client, rebuilt when its settings changed since the last cycle.
    fn client_for(&self, cluster: &Cluster) -> Arc<ClusterClient> {
        let config = self.config.client_config(cluster);
        let mut clients = lock(&self.clients);
        match clients.get(&cluster.id) {
            Some((current, client)) if *current == config => Arc::clone(client),
            _ => {
                let client = Arc::new(ClusterClient::new(config.clone()));
                clients.insert(cluster.id, (config, Arc::clone(&client)));
                client
            }
        }
    }

    fn forget_missing(&self, present: &[i64]) {
        lock(&self.clients).retain(|id, _| present.contains(id));
        lock(&self.states).retain(|id, _| present.contains(id));
    }

    async fn record_error(&self, cluster_id: i64, stage: &str, code: &str, message: &str) {
        let error = NewCollectionError {
            cluster_id,
            at: OffsetDateTime::now_utc(),
            stage: stage.to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        };
        if let Err(e) = self.blocking(move |store| store.record_error(&error)).await {
            log::warn!("Recording a collection error failed. error={e}");
        }
    }

    /// Runs store work on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || work(&store)).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(e) => Err(format!("store task failed: {e}")),
        }
    }
}

/// Removes a cluster from the in-flight set when dropped, even by panic. Shared by the cluster's
/// task and its blocking fetch, so a collection cut by its deadline stays in flight until its
/// requests end.
struct InFlight {
    collector: Arc<Collector>,
    cluster_id: i64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.collector.in_flight).remove(&self.cluster_id);
    }
}

/// Runs `step` on tokio's blocking pool, holding `flight` until it ends (even if the task that
/// awaits it has given up).
fn holding<T: Send + 'static>(
    flight: &Arc<InFlight>,
    step: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let flight = Arc::clone(flight);
    tokio::task::spawn_blocking(move || {
        let _flight = flight;
        step()
    })
}

fn describe_total_failure(errors: &[SourceError]) -> String {
    match errors.first() {
        Some(first) => format!(
            "no node answered ({} errors; first: {} {}: {})",
            errors.len(),
            first.source,
            first.code,
            first.message
        ),
        None => "no node answered".to_owned(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps hold plain data; a panic elsewhere leaves them usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
