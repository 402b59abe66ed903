//! The event loop: a fixed-rate ticker, one task per cluster per tick (never two at once for a
//! cluster), a concurrency limit, a per-cluster deadline, and housekeeping after each tick.
//!
//! All arithmetic on metrics is the engine's; all SQL is the store's. This module only decides
//! when things run, keeps them apart, and records what happened.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rockscope_engine::custom::CustomMetricWarning;
use rockscope_engine::{
    Aggregation, CustomSet, EngineState, aggregate_discovering, aggregate_with,
    cluster_answered_nothing,
};
use rockscope_model::{
    CycleInput, CycleOutcome, MetricsSnapshot, NodeSnapshot, Reachability, SourceError,
};
use rockscope_starrocks::{ClientConfig, ClusterClient};
use rockscope_store::{Cluster, Error as StoreError, NewCollectionError, NewRun, Store};
use time::OffsetDateTime;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::alerting::{Alerting, CycleForAlerts};
use crate::error::{CollectError, SourceFailure, Stage};
use crate::fetch::{Hold, fetch_holding, holding};
use crate::housekeeping::Housekeeping;
use crate::repeat_log::{RepeatLog, warn_repeating};
use crate::shard::Shard;
use crate::status::{CycleSummary, StatusBoard};
use rockscope_export::{ActiveAlert, ClusterExport, CustomFamilies, CycleSink};
use rockscope_telemetry::Telemetry;

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
    /// How long one cluster's collection may take: every request ends by it, less a reserve for
    /// aggregation and storage (a tenth, 100 ms to 2 s); a node that has not answered by then
    /// is that node's `timeout`, and the rest is stored.
    pub cluster_deadline: Duration,
    /// Body cap per response.
    pub max_body_bytes: u64,
    /// Days snapshots are kept.
    pub retention_days: u32,
    /// Days the 5-minute tier of the snapshots is kept; `None`: `retention_days`.
    pub tier_retention_days: Option<u32>,
    /// Hours every cycle is kept before it is thinned to one per 30 minutes.
    pub full_resolution_hours: u32,
    /// Hours the 5-minute tier keeps its 5-minute granules before merging them into half
    /// hours.
    pub tier_5m_hours: u32,
    /// Days daily aggregates are kept.
    pub daily_retention_days: u32,
    /// Days the alert history is kept.
    pub alert_history_days: u32,
    /// This instance's share of the clusters (`collector.shard`); `None` collects them all.
    pub shard: Option<Shard>,
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
            tier_retention_days: None,
            full_resolution_hours: crate::housekeeping::DEFAULT_FULL_RESOLUTION_HOURS,
            tier_5m_hours: crate::housekeeping::DEFAULT_TIER_5M_HOURS,
            daily_retention_days: 30,
            alert_history_days: crate::housekeeping::DEFAULT_ALERT_HISTORY_DAYS,
            shard: None,
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
#[derive(Debug)]
pub struct ClusterOutcome {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// How long it took.
    pub duration: Duration,
    /// The snapshot's sources that failed (a partial cycle), or why nothing was stored.
    pub result: Result<Vec<SourceError>, CollectError>,
    /// Nodes scraped successfully.
    pub nodes_ok: usize,
    /// Nodes the cycle tried to scrape (0 when it failed before knowing).
    pub nodes_total: usize,
}

/// A collection that stored its snapshot.
#[derive(Debug)]
struct Collected {
    /// The snapshot's source errors, as stored with it.
    source_errors: Vec<SourceError>,
    /// The same failures, each with its stage, for the store's error log.
    failures: Vec<SourceFailure>,
    nodes_ok: usize,
    nodes_total: usize,
    /// What was stored, for the alert evaluation that follows.
    stored: Option<(MetricsSnapshot, Vec<NodeSnapshot>)>,
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
    /// Failures that repeat every cycle, logged once and then every few minutes.
    repeats: RepeatLog,
    /// Alert evaluation after each cluster's cycle, when alerts are on.
    alerting: Option<Alerting>,
    /// Where each cluster's finished cycle is handed (`/metrics`' board, remote writers).
    sinks: Vec<Arc<dyn CycleSink>>,
    /// rockscope's own metrics: durations, errors, samples, store writes, alert evaluations.
    telemetry: Telemetry,
    /// The custom metric definitions in force, read at the start of each cluster's
    /// aggregation (a change applies from the next cycle on).
    custom: Option<CustomSource>,
}

/// Reads the custom metric definitions in force now.
pub type CustomSource = Arc<dyn Fn() -> Arc<CustomInForce> + Send + Sync>;

/// The custom metric definitions in force: compiled for the engine, and as the export's
/// families (HELP, unit), both made once per change of the definitions.
#[derive(Debug, Clone, Default)]
pub struct CustomInForce {
    /// What the engine resolves in each body.
    pub set: Arc<CustomSet>,
    /// How the export describes each definition's family.
    pub families: CustomFamilies,
}

impl CustomInForce {
    /// Both views of `set`.
    pub fn new(set: CustomSet) -> CustomInForce {
        CustomInForce {
            families: CustomFamilies::new(set.specs()),
            set: Arc::new(set),
        }
    }
}

/// The collector's optional parts.
#[derive(Default)]
pub struct CollectorParts {
    /// Alert evaluation after each cluster's cycle.
    pub alerting: Option<Alerting>,
    /// What each cluster's finished cycle is handed to; each must return at once.
    pub sinks: Vec<Arc<dyn CycleSink>>,
    /// Where the collector records its own metrics (`/metrics` shows them); by default a
    /// registry nobody reads.
    pub telemetry: Telemetry,
    /// The custom metric definitions; none without.
    pub custom: Option<CustomSource>,
}

impl Collector {
    /// A collector writing to `store` and reporting to `status`.
    pub fn new(config: CollectorConfig, store: Store, status: StatusBoard) -> Arc<Collector> {
        Collector::with_parts(config, store, status, CollectorParts::default())
    }

    /// A collector that also evaluates the alert rules after each cluster's cycle and hands
    /// the alerts to delivery.
    pub fn with_alerting(
        config: CollectorConfig,
        store: Store,
        status: StatusBoard,
        alerting: Alerting,
    ) -> Arc<Collector> {
        let parts = CollectorParts {
            alerting: Some(alerting),
            ..CollectorParts::default()
        };
        Collector::with_parts(config, store, status, parts)
    }

    /// A collector with its optional parts: alert evaluation, and the sinks every cluster's
    /// finished cycle is handed to.
    pub fn with_parts(
        config: CollectorConfig,
        store: Store,
        status: StatusBoard,
        parts: CollectorParts,
    ) -> Arc<Collector> {
        status.set_shard(config.shard);
        let housekeeping = Housekeeping::new(
            store.clone(),
            status.clone(),
            config.retention_days,
            config.daily_retention_days,
        )
        .with_alert_history_days(config.alert_history_days)
        .with_tier_retention_days(config.tier_retention_days)
        .with_full_resolution_hours(config.full_resolution_hours)
        .with_tier_5m_hours(config.tier_5m_hours);
        Arc::new(Collector {
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            config,
            store,
            status,
            clients: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            housekeeping,
            repeats: RepeatLog::default(),
            alerting: parts.alerting,
            sinks: parts.sinks,
            telemetry: parts.telemetry,
            custom: parts.custom,
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

    /// Runs one tick and waits for it: every enabled cluster (of this shard's) once, then
    /// housekeeping.
    pub async fn collect_once(self: &Arc<Self>) -> Vec<ClusterOutcome> {
        self.tick().await
    }

    async fn tick(self: &Arc<Self>) -> Vec<ClusterOutcome> {
        let started_at = OffsetDateTime::now_utc();
        let started = Instant::now();
        let clusters = match self.blocking(|store| store.list_clusters()).await {
            Ok(clusters) => clusters,
            Err(e) => {
                let turn = self.repeats.failed("list_clusters", 0, Instant::now());
                warn_repeating(turn, format_args!("Listing clusters failed. error={e}"));
                return Vec::new();
            }
        };
        if let Some(times) = self.repeats.succeeded("list_clusters", 0) {
            log::info!("Listing clusters works again after {times} failures.");
        }
        // A cluster another shard owns is left out like a disabled one: its status, client and
        // engine state are forgotten (they come back if a rename makes it this shard's).
        let shard = self.config.shard;
        let enabled: Vec<Cluster> = clusters
            .into_iter()
            .filter(|c| c.enabled && shard.is_none_or(|s| s.owns(&c.name)))
            .collect();
        let ids: Vec<i64> = enabled.iter().map(|c| c.id).collect();
        self.status.forget_missing(&ids);
        self.forget_missing(&ids);

        let mut tasks = Vec::new();
        let mut skipped = 0;
        for cluster in enabled {
            if !lock(&self.in_flight).insert(cluster.id) {
                // Never two collections of one cluster at once: this tick leaves it out.
                let turn = self.repeats.failed("skipped", cluster.id, Instant::now());
                warn_repeating(
                    turn,
                    format_args!(
                        "Cluster skipped, its previous collection still runs. cluster={}",
                        cluster.name
                    ),
                );
                skipped += 1;
                continue;
            }
            let this = Arc::clone(self);
            let flight = Arc::new(InFlight {
                collector: Arc::clone(self),
                cluster_id: cluster.id,
            });
            let task = cluster.clone();
            let handle = tokio::spawn(async move { this.collect_cluster(task, flight).await });
            tasks.push((cluster, handle));
        }

        let mut outcomes = Vec::new();
        for (cluster, handle) in tasks {
            let outcome = match handle.await {
                Ok(outcome) => outcome,
                // A panic inside one cluster's collection: record it, go on with the rest.
                Err(e) => {
                    let error = CollectError::panicked(Stage::Collect, &e);
                    self.finish(&cluster, started_at, Duration::ZERO, Err(error))
                        .await
                }
            };
            outcomes.push(outcome);
        }

        let ok = outcomes.iter().filter(|o| o.result.is_ok()).count() as u32;
        let failed = outcomes.len() as u32 - ok;
        let duration_ms = started.elapsed().as_millis() as u64;
        self.telemetry.cycle_finished(started.elapsed());
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
        self.log_store_write(
            "record_run",
            "Recording the cycle",
            self.store_write("record_run", move |store| store.record_run(&run))
                .await,
        );
        self.housekeeping.run(OffsetDateTime::now_utc()).await;
        outcomes
    }

    /// One cluster's collection, from waiting for a permit to its outcome. `flight` marks the
    /// cluster as being collected until both this task and every blocking step it started have
    /// ended: the next ticks skip the cluster meanwhile.
    async fn collect_cluster(
        self: &Arc<Self>,
        cluster: Cluster,
        flight: Arc<InFlight>,
    ) -> ClusterOutcome {
        let Ok(_permit) = Arc::clone(&self.permits).acquire_owned().await else {
            let now = OffsetDateTime::now_utc();
            let error = Err(CollectError::ShuttingDown);
            return self.finish(&cluster, now, Duration::ZERO, error).await;
        };
        let started_at = OffsetDateTime::now_utc();
        let started = Instant::now();
        self.status
            .attempt_started(cluster.id, &cluster.name, started_at);
        let result = self.collect(&cluster, started, flight).await;
        self.telemetry
            .cluster_collected(&cluster.name, started.elapsed());
        self.finish(&cluster, started_at, started.elapsed(), result)
            .await
    }

    /// Fetches (every request ending by the cluster's deadline less the aggregation's
    /// reserve), aggregates and stores one cycle of `cluster`.
    async fn collect(
        &self,
        cluster: &Cluster,
        started: Instant,
        flight: Arc<InFlight>,
    ) -> Result<Collected, CollectError> {
        if cluster.password.is_unreadable() {
            // A lost secret key: say so rather than log in without a password.
            return Err(CollectError::PasswordUnreadable);
        }
        let deadline = self.config.cluster_deadline;
        let until = started + deadline.saturating_sub(aggregation_reserve(deadline));
        let client = self.client_for(cluster);
        // Every step runs on tokio's blocking pool, never on an async worker, and on threads
        // that outlive the cycle (a thread started and ended per scrape cost a quarter of the
        // service's CPU: `docs/BENCHMARKS.md`). Each step holds `flight`; as every request ends
        // by `until`, so do the steps, and the next tick finds the cluster free.
        let hold: Hold = flight.clone();
        let input = fetch_holding(&client, cluster.id, &cluster.fe_hosts, until, hold).await;
        let failures = source_failures(&input);
        let nodes_total = input.scrapes.len();
        let nodes_ok = input.scrapes.iter().filter(|s| s.result.is_ok()).count();
        if nodes_ok == 0 {
            if cluster_answered_nothing(&input) {
                // Down time for the daily availability; a stored snapshot records its own
                // reachable outcome.
                self.record_unreachable(cluster.id, input.collected_at)
                    .await;
            }
            return Err(CollectError::NoNodeAnswered {
                failures,
                nodes_total,
            });
        }

        let previous = lock(&self.states)
            .get(&cluster.id)
            .cloned()
            .unwrap_or_default();
        let hold: Hold = flight;
        let custom = self.custom_in_force();
        let discover = self.status.families_due(cluster.id, input.collected_at);
        let mut aggregation = holding(&hold, move || {
            if discover {
                aggregate_discovering(&previous, &input, &custom.set)
            } else {
                aggregate_with(&previous, &input, &custom.set)
            }
        })
        .await
        .map_err(|e| CollectError::panicked(Stage::Aggregate, &e))?;
        self.note_custom_findings(cluster, &mut aggregation);
        if started.elapsed() > deadline {
            // Not cut: the data is here, and the aggregation waits on nothing outside.
            log::warn!(
                "Cluster aggregated after its deadline. cluster={} elapsed_ms={}",
                cluster.name,
                started.elapsed().as_millis()
            );
        }
        self.telemetry
            .samples_parsed(&cluster.name, aggregation.samples_parsed);
        let source_errors = aggregation.snapshot.source_errors.clone();
        let state = aggregation.state;
        let (snapshot, nodes) = (aggregation.snapshot, aggregation.nodes);
        let stored = self
            .store_write("insert_cycle", move |store| {
                store
                    .insert_cycle(&snapshot, &nodes)
                    .map(|_| (snapshot, nodes))
            })
            .await?;
        lock(&self.states).insert(cluster.id, state);
        Ok(Collected {
            source_errors,
            failures,
            nodes_ok,
            nodes_total,
            stored: Some(stored),
        })
    }

    /// The custom metric definitions in force now (none without a source).
    fn custom_in_force(&self) -> Arc<CustomInForce> {
        self.custom
            .as_ref()
            .map_or_else(|| Arc::new(CustomInForce::default()), |read| read())
    }

    /// Publishes the cycle's families for discovery, and logs each new "rate on a gauge"
    /// warning once (the API lists the current ones).
    fn note_custom_findings(&self, cluster: &Cluster, aggregation: &mut Aggregation) {
        self.status
            .set_families(cluster.id, std::mem::take(&mut aggregation.families));
        for warning in &aggregation.custom_warnings {
            let CustomMetricWarning::RateOnGauge { name, .. } = warning;
            if self.status.note_custom_warning(name, warning.to_string()) {
                log::warn!(
                    "Custom metric definition. cluster={} warning={warning}",
                    cluster.name
                );
            }
        }
    }

    /// Where every cluster's collection ends, whatever happened: records the failed sources and
    /// any failure of the collection itself in the store, updates the status board, logs, and
    /// says what it came to.
    async fn finish(
        &self,
        cluster: &Cluster,
        started_at: OffsetDateTime,
        duration: Duration,
        mut result: Result<Collected, CollectError>,
    ) -> ClusterOutcome {
        let stored = result.as_mut().ok().and_then(|c| c.stored.take());
        let failures = match &result {
            Ok(collected) => &collected.failures[..],
            Err(error) => error.source_failures(),
        };
        for failure in failures {
            let SourceError { code, message, .. } = &failure.error;
            self.telemetry.scrape_failed(&cluster.name, code);
            self.record_error(cluster.id, failure.stage, code, message)
                .await;
        }
        let duration_ms = duration.as_millis() as u64;
        let (cluster_id, name) = (cluster.id, &cluster.name);
        let (result, nodes_ok, nodes_total) = match result {
            Ok(collected) => {
                if let Some(times) = self.repeats.succeeded("collect", cluster_id) {
                    log::info!(
                        "Cluster collected again after {times} failed cycles. cluster={name}"
                    );
                }
                self.repeats.succeeded("skipped", cluster_id);
                log::debug!(
                    "Cluster collected. cluster={name} nodes_ok={} nodes_total={} duration_ms={duration_ms}",
                    collected.nodes_ok,
                    collected.nodes_total,
                );
                let errors = collected.source_errors;
                let result = Ok(errors.clone());
                self.status
                    .attempt_finished(cluster_id, name, started_at, duration_ms, result);
                (Ok(errors), collected.nodes_ok, collected.nodes_total)
            }
            Err(error) => {
                let turn = self.repeats.failed("collect", cluster_id, Instant::now());
                warn_repeating(
                    turn,
                    format_args!("Cluster collection failed. cluster={name} error={error}"),
                );
                if error.source_failures().is_empty() {
                    // A failure of the collection itself; failed sources are recorded above.
                    self.telemetry.scrape_failed(name, error.code());
                    let message = error.to_string();
                    self.record_error(cluster_id, error.stage(), error.code(), &message)
                        .await;
                }
                self.status.attempt_finished(
                    cluster_id,
                    name,
                    started_at,
                    duration_ms,
                    Err(&error),
                );
                let nodes_total = match &error {
                    CollectError::NoNodeAnswered { nodes_total, .. } => *nodes_total,
                    _ => 0,
                };
                (Err(error), 0, nodes_total)
            }
        };
        // The export follows the alert evaluation, so that it carries the cycle's alerts.
        let to_export = (!self.sinks.is_empty()).then(|| stored.clone());
        let alerts = self.evaluate_alerts(cluster, stored).await;
        if let Some(stored) = to_export {
            self.export_cycle(cluster, stored, alerts);
        }
        ClusterOutcome {
            cluster_id,
            cluster_name: name.clone(),
            duration,
            result,
            nodes_ok,
            nodes_total,
        }
    }

    /// Hands the cycle to the sinks: its snapshot when it stored one, else that it is down, and
    /// its active alerts when alerts are on.
    fn export_cycle(
        &self,
        cluster: &Cluster,
        stored: Option<(MetricsSnapshot, Vec<NodeSnapshot>)>,
        alerts: Option<Vec<ActiveAlert>>,
    ) {
        let status = self.status.cluster(cluster.id);
        let (snapshot, nodes) = match stored {
            Some((snapshot, nodes)) => (Some(snapshot), nodes),
            None => (None, Vec::new()),
        };
        let cycle = Arc::new(ClusterExport {
            cluster_id: cluster.id,
            cluster: cluster.name.clone(),
            at: snapshot
                .as_ref()
                .map_or_else(OffsetDateTime::now_utc, |s| s.collected_at),
            snapshot,
            nodes,
            failed_cycles: status.as_ref().map_or(0, |s| s.consecutive_failures),
            last_success_at: status.and_then(|s| s.last_success_at),
            interval: self.config.interval,
            alerts,
            custom: self.custom_in_force().families.clone(),
        });
        for sink in &self.sinks {
            sink.cycle_finished(&cycle);
        }
    }

    /// Evaluates the alert rules of `cluster` after its cycle (also after a failed one, over
    /// its last stored cycle), when alerts are on: its active alerts, or `None` when alerts are
    /// off or the evaluation failed.
    async fn evaluate_alerts(
        &self,
        cluster: &Cluster,
        stored: Option<(MetricsSnapshot, Vec<NodeSnapshot>)>,
    ) -> Option<Vec<ActiveAlert>> {
        let alerting = self.alerting.clone()?;
        let status = self.status.cluster(cluster.id);
        let cycle = CycleForAlerts {
            cluster_id: cluster.id,
            cluster_name: cluster.name.clone(),
            stored,
            last_success_at: status.as_ref().and_then(|s| s.last_success_at),
            failed_cycles: status.map_or(0, |s| s.consecutive_failures),
        };
        let interval = self.config.interval;
        let now = OffsetDateTime::now_utc();
        let started = Instant::now();
        let result = self
            .blocking(move |store| alerting.evaluate_cycle(store, cycle, interval, now))
            .await;
        self.telemetry
            .alert_evaluated(started.elapsed(), result.is_ok());
        let name = &cluster.name;
        match result {
            Ok(evaluated) => {
                if let Some(times) = self.repeats.succeeded("alerts", cluster.id) {
                    log::info!(
                        "Evaluating alerts works again after {times} failures. cluster={name}"
                    );
                }
                if evaluated.changes > 0 {
                    log::info!(
                        "Alerts changed. cluster={name} firing={} pending={} changes={}",
                        evaluated.firing,
                        evaluated.pending,
                        evaluated.changes
                    );
                }
                Some(evaluated.active)
            }
            Err(e) => {
                let turn = self.repeats.failed("alerts", cluster.id, Instant::now());
                warn_repeating(
                    turn,
                    format_args!("Evaluating alerts failed. cluster={name} error={e}"),
                );
                None
            }
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
        self.repeats.forget_missing(present);
        if let Some(alerting) = &self.alerting {
            alerting.forget_missing(present);
        }
        for sink in &self.sinks {
            sink.retain_clusters(present);
        }
    }

    /// Logs the outcome of a store write that runs every cycle: a failure once, then every few
    /// minutes while it repeats (a full disk fails every write), and the recovery once.
    fn log_store_write<T>(&self, what: &'static str, doing: &str, result: Result<T, CollectError>) {
        let error = result.err();
        let error = error.as_ref().map(|e| e as &dyn std::fmt::Display);
        self.repeats.log_outcome(what, doing, error, Instant::now());
    }

    async fn record_error(&self, cluster_id: i64, stage: Stage, code: &str, message: &str) {
        let error = NewCollectionError {
            cluster_id,
            at: OffsetDateTime::now_utc(),
            stage: stage.as_str().to_owned(),
            code: code.to_owned(),
            message: message.to_owned(),
        };
        let result = self
            .store_write("record_error", move |store| store.record_error(&error))
            .await;
        self.log_store_write("record_error", "Recording a collection error", result);
    }

    /// Records a cycle that reached nothing of the cluster, for the daily availability.
    async fn record_unreachable(&self, cluster_id: i64, at: OffsetDateTime) {
        let outcome = CycleOutcome {
            cluster_id,
            at,
            reachability: Reachability::Unreachable,
        };
        let result = self
            .store_write("record_outcome", move |store| {
                store.record_outcome(&outcome)
            })
            .await;
        self.log_store_write("record_outcome", "Recording a cycle outcome", result);
    }

    /// Runs a store write on the blocking pool, timed as `operation` (the time includes the
    /// wait for a blocking thread and for the store's write gate: what a cycle waits for).
    async fn store_write<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, CollectError> {
        let started = Instant::now();
        let result = self.blocking(work).await;
        self.telemetry.store_write(operation, started.elapsed());
        result
    }

    /// Runs store work on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, CollectError> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || work(&store)).await {
            Ok(result) => Ok(result?),
            Err(e) => Err(CollectError::panicked(Stage::Store, &e)),
        }
    }
}

/// Removes a cluster from the in-flight set when dropped, even by panic. Shared by the cluster's
/// task and its blocking steps, so the cluster stays in flight until the last of them ends.
struct InFlight {
    collector: Arc<Collector>,
    cluster_id: i64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.collector.in_flight).remove(&self.cluster_id);
    }
}

/// The part of a cluster's deadline kept for aggregating and storing: the scrapes stop being
/// waited for this much before it. A tenth of it, at least 100 ms and at most 2 s (a cluster of
/// 50 nodes aggregates in tens of milliseconds, `docs/BENCHMARKS.md`), never over half of it.
fn aggregation_reserve(deadline: Duration) -> Duration {
    (deadline / 10)
        .clamp(Duration::from_millis(100), Duration::from_secs(2))
        .min(deadline / 2)
}

/// Every failed source of a cycle with its stage: node lists and runtime info
/// ([`Stage::NodeLists`], the lists' one error once), then the scrapes ([`Stage::Scrape`]).
fn source_failures(input: &CycleInput) -> Vec<SourceFailure> {
    let mut failures: Vec<SourceFailure> = Vec::new();
    let lists = [
        input.frontends.as_ref().err(),
        input.backends.as_ref().err(),
        input.compute_nodes.as_ref().err(),
    ];
    for error in lists.into_iter().flatten().chain(&input.other_errors) {
        if !failures.iter().any(|f| f.error == *error) {
            failures.push(SourceFailure {
                stage: Stage::NodeLists,
                error: error.clone(),
            });
        }
    }
    let scrapes = input.scrapes.iter().filter_map(|s| s.result.as_ref().err());
    failures.extend(scrapes.map(|error| SourceFailure {
        stage: Stage::Scrape,
        error: error.clone(),
    }));
    failures
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps hold plain data; a panic elsewhere leaves them usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
