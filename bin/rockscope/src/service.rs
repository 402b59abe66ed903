//! `serve`, `collect-once` and `demo`: open the store, register the config's clusters, run the
//! collector and mount the pages and the API. Only wiring: every decision lives in a library crate.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rockscope_api::{
    AlertRules, ApiState, CustomMetrics, OverviewCache, OverviewCacheConfig, SummariesCache,
    SummariesCacheConfig,
};
use rockscope_collector::{Alerting, Collector, CollectorConfig, CollectorParts, StatusBoard};
use rockscope_export::{CycleSink, LatestBoard};
use rockscope_notify::Notifier;
use rockscope_remote_write::RemoteWriter;
use rockscope_store::{NewCluster, Password, SecretKey, Store, StoreOptions};
use rockscope_telemetry::Telemetry;
use tokio::sync::watch;

use crate::config::{SECRET_KEY_ENV, Settings};
use crate::tester::ClientTester;

/// How long shutdown waits for the collection cycle in flight and the API's open requests
/// before it lets them go: a request to a hung node would otherwise hold the exit for its whole
/// timeout. Their results are lost; the database stays consistent (transactions).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);
/// How long the runtime then waits for its blocking threads (a ureq call to a hung node runs on
/// one until its own timeout) before the process exits without them.
const BLOCKING_THREADS_GRACE: Duration = Duration::from_millis(250);

/// Runs `work` on a multi-threaded tokio runtime shared by the collector's tasks and the API
/// (actix-server runs in an existing tokio runtime). On return, blocking threads still busy
/// (calls to hung nodes) are given [`BLOCKING_THREADS_GRACE`], not their whole timeout.
pub fn block_on<F: Future<Output = Result<(), String>>>(work: F) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(rockscope_collector::BLOCKING_THREAD_KEEP_ALIVE)
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(work);
    runtime.shutdown_timeout(BLOCKING_THREADS_GRACE);
    result
}

/// The collector's settings from `[collector]`; fails only on a `collector.shard` that
/// [`Settings::validate`] refuses too.
pub fn collector_config(settings: &Settings) -> Result<CollectorConfig, String> {
    let c = &settings.collector;
    Ok(CollectorConfig {
        interval: Duration::from_secs(c.interval_secs),
        concurrency: c.concurrency,
        connect_timeout: Duration::from_secs(c.connect_timeout_secs),
        request_timeout: Duration::from_secs(c.request_timeout_secs),
        cluster_deadline: Duration::from_secs(c.cluster_deadline_secs()),
        retention_days: c.retention_days,
        tier_retention_days: c.tier_retention_days,
        full_resolution_hours: c.full_resolution_hours,
        tier_5m_hours: c.tier_5m_hours,
        daily_retention_days: c.daily_retention_days,
        alert_history_days: settings.alerts.history_retention_days,
        shard: c.shard().map_err(|e| e.to_string())?,
        ..CollectorConfig::default()
    })
}

/// How the store opens: the secret key from [`SECRET_KEY_ENV`] when it is set, else the key
/// file beside the database.
pub fn store_options() -> Result<StoreOptions, String> {
    let secret_key = match std::env::var(SECRET_KEY_ENV) {
        Ok(text) if !text.trim().is_empty() => {
            Some(SecretKey::parse(&text).map_err(|e| format!("{SECRET_KEY_ENV}: {e}"))?)
        }
        _ => None,
    };
    Ok(StoreOptions {
        secret_key,
        ..StoreOptions::default()
    })
}

/// `rotate-key`: re-encrypts the stored passwords with a new key. With the key file (no
/// [`SECRET_KEY_ENV`]), a new random key replaces it (the old one is kept as `<db>.key.old`).
/// With [`SECRET_KEY_ENV`], the new key comes from [`NEW_SECRET_KEY_ENV`], and the operator
/// switches [`SECRET_KEY_ENV`] to it afterwards. Run it with the service stopped.
pub fn rotate_key(settings: &Settings) -> std::process::ExitCode {
    match rotate_key_inner(settings) {
        Ok(message) => {
            println!("{message}");
            std::process::ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("rockscope: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The new key of `rotate-key` when the current one comes from [`SECRET_KEY_ENV`].
pub const NEW_SECRET_KEY_ENV: &str = "ROCKSCOPE_NEW_SECRET_KEY";

fn rotate_key_inner(settings: &Settings) -> Result<String, String> {
    let path = &settings.storage.path;
    let options = store_options()?;
    let from_env = options.secret_key.is_some();
    let store = Store::open_with(path, &options)
        .map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
    if !from_env {
        let (_, n) = store.rotate_key_file().map_err(|e| e.to_string())?;
        return Ok(format!(
            "re-encrypted {n} password(s); the new key is in {} (back it up)",
            rockscope_store::key_file_path(path).display()
        ));
    }
    let text = std::env::var(NEW_SECRET_KEY_ENV).map_err(|_| {
        format!(
            "the key comes from {SECRET_KEY_ENV}: put the new key (e.g. `openssl rand -hex 32`) \
             in {NEW_SECRET_KEY_ENV} and run rotate-key again"
        )
    })?;
    let new_key = SecretKey::parse(&text).map_err(|e| format!("{NEW_SECRET_KEY_ENV}: {e}"))?;
    let n = store
        .reencrypt_passwords(&new_key)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "re-encrypted {n} password(s); set {SECRET_KEY_ENV} to the value of \
         {NEW_SECRET_KEY_ENV} before the next start"
    ))
}

/// Opens the store and registers the clusters declared in the configuration.
pub async fn open_store(settings: &Settings) -> Result<Store, String> {
    let path = settings.storage.path.clone();
    let clusters = settings.clusters.clone();
    let options = store_options()?;
    let opened = tokio::task::spawn_blocking(move || {
        let store = Store::open_with(&path, &options)
            .map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
        for cluster in &clusters {
            let new = NewCluster {
                name: cluster.name.clone(),
                fe_hosts: cluster.fe_hosts.clone(),
                username: cluster.username.clone(),
                password: Password::new(cluster.password.expose()),
                connect_timeout_secs: None,
                request_timeout_secs: None,
                enabled: true,
            };
            store
                .upsert_config_cluster(&new)
                .map_err(|e| format!("cannot register cluster {:?}: {e}", cluster.name))?;
        }
        Ok::<Store, String>(store)
    });
    opened
        .await
        .map_err(|e| format!("opening the database failed: {e}"))?
}

/// Runs the collector and the API until SIGINT/SIGTERM, then stops both gracefully.
pub async fn serve(settings: Settings, store: Store) -> Result<(), String> {
    let listen = listen_address(&settings)?;
    let status = StatusBoard::default();
    let tokens = settings.server.tokens().map_err(|e| e.to_string())?;
    // Bound first: alerts link to the address the API really listens on (port 0 picks one).
    let listener = crate::api_server::listener(listen)
        .map_err(|e| format!("cannot bind the API to {listen}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the API's address: {e}"))?;
    let custom_metrics = Arc::new(load_custom_metrics(&settings, &store).await?);
    let alert_rules = Arc::new(load_alert_rules(&settings, &store, &custom_metrics).await?);
    let delivery = start_delivery(&settings, bound)?;
    let config = collector_config(&settings)?;
    let shard = config
        .shard
        .map_or_else(|| "all".to_owned(), |s| s.to_string());
    let exported = Arc::new(LatestBoard::default());
    let remote_write = start_remote_write(&settings, &store).await?;
    let mut sinks: Vec<Arc<dyn CycleSink>> = vec![exported.clone()];
    if let Some(writer) = &remote_write {
        sinks.push(writer.clone());
    }
    // rockscope's own health in /metrics: the collector and the API record into it; the
    // database's size, delivery's counts and remote write's backlog are read at each scrape.
    let telemetry = Telemetry::new();
    telemetry.watch_database(store.path().to_path_buf());
    if let Some(notifier) = &delivery {
        telemetry.watch_delivery(Arc::clone(notifier));
    }
    if let Some(writer) = &remote_write {
        telemetry.watch_remote_write(Arc::clone(writer));
    }
    let custom_reader = Arc::clone(&custom_metrics);
    let parts = CollectorParts {
        alerting: alerting(&settings, &alert_rules, delivery.as_ref()),
        sinks,
        telemetry: telemetry.clone(),
        custom: Some(Arc::new(move || custom_reader.in_force())),
    };
    let collector = Collector::with_parts(config.clone(), store.clone(), status.clone(), parts);
    let interval = std::time::Duration::from_secs(settings.collector.interval_secs);
    let state = ApiState {
        store,
        status,
        api_token: tokens.admin.as_ref().map(|t| t.expose().to_owned()),
        api_read_token: tokens.read.as_ref().map(|t| t.expose().to_owned()),
        tester: Arc::new(ClientTester::new(config)),
        overview_cache: OverviewCache::new(OverviewCacheConfig::for_interval(interval)),
        summaries_cache: SummariesCache::new(SummariesCacheConfig::for_interval(interval)),
        alert_rules,
        delivery: delivery.clone(),
        exported,
        telemetry,
        remote_write: remote_write.clone(),
        custom_metrics,
    };
    let server = crate::api_server::serve(state, listener, SHUTDOWN_GRACE)
        .map_err(|e| format!("cannot serve the API on {bound}: {e}"))?;
    // The first line on stdout is the address, so scripts and tests can find a port-0 server.
    println!("rockscope listening on http://{bound}");
    let _ = std::io::stdout().flush();
    log::info!("API listening. address={bound}");

    let server_handle = server.handle();
    let server_task = tokio::spawn(server);

    let (stop, stopped) = watch::channel(false);
    let grace = SHUTDOWN_GRACE;
    let collector_task = settings.collector.enabled.then(|| {
        log::info!(
            "Collector started. interval_secs={} clusters_in_config={} shard={}",
            settings.collector.interval_secs,
            settings.clusters.len(),
            shard
        );
        tokio::spawn(Arc::clone(&collector).run(stopped, grace))
    });
    if collector_task.is_none() {
        log::info!("Collector disabled by configuration; serving stored data only.");
    }

    wait_for_signal().await;
    log::info!("Shutting down.");
    let _ = stop.send(true);
    // The collector and the server stop side by side, both within the grace (plus a margin for
    // the collector's own bookkeeping); whatever still runs then is left behind.
    let collector_stopped = async {
        if let Some(task) = collector_task {
            let _ = task.await;
        }
    };
    let server_stopped = async {
        server_handle.stop(true).await;
        let _ = server_task.await;
    };
    let stopped = async { tokio::join!(collector_stopped, server_stopped) };
    if tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_millis(250), stopped)
        .await
        .is_err()
    {
        log::warn!(
            "Stopping without waiting for work still in flight (a node or client that does not \
             answer). grace_ms={}",
            SHUTDOWN_GRACE.as_millis()
        );
    }
    drop(collector);
    if let Some(notifier) = delivery.and_then(|d| Arc::try_unwrap(d).ok()) {
        // Queued notifications (a resolution, say) get one last try, within a second.
        notifier.shutdown();
    }
    if let Some(writer) = remote_write {
        // What is not sent yet is in the database; the next start sends it.
        let _ = tokio::task::spawn_blocking(move || writer.shutdown()).await;
    }
    log::info!("Stopped.");
    Ok(())
}

/// The alert evaluation after each cycle, delivering through `delivery`; `None` when alerts are
/// off.
fn alerting(
    settings: &Settings,
    rules: &Arc<AlertRules>,
    delivery: Option<&Arc<Notifier>>,
) -> Option<Alerting> {
    if !settings.alerts.enabled {
        log::info!("Alerts disabled by configuration.");
        return None;
    }
    let rules = Arc::clone(rules);
    Some(Alerting::new(
        Arc::new(move || rules.rules()),
        delivery.cloned(),
    ))
}

/// The effective alert rules: built-in (with the config's overrides), the config's and those
/// stored through the API; they may read the custom metrics in force.
async fn load_alert_rules(
    settings: &Settings,
    store: &Store,
    custom: &Arc<CustomMetrics>,
) -> Result<AlertRules, String> {
    let store = store.clone();
    let rules = settings.alerts.rules.clone();
    let overrides = settings.alerts.overrides.clone();
    let custom = Some(Arc::clone(custom));
    tokio::task::spawn_blocking(move || {
        AlertRules::load_with_custom(store, rules, overrides, custom)
    })
    .await
    .map_err(|e| format!("loading the alert rules failed: {e}"))?
    .map_err(|errors| {
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!("[alerts]: {}", messages.join("; "))
    })
}

/// The custom metric definitions in force: the config's and those stored through the API.
async fn load_custom_metrics(settings: &Settings, store: &Store) -> Result<CustomMetrics, String> {
    let store = store.clone();
    let config = settings.collector.custom_metrics.clone();
    tokio::task::spawn_blocking(move || CustomMetrics::load(store, config))
        .await
        .map_err(|e| format!("loading the custom metrics failed: {e}"))?
        .map_err(|e| format!("[[collector.custom_metrics]]: {e}"))
}

/// Alert delivery to the configured Alertmanagers and webhooks; `None` without any.
fn start_delivery(settings: &Settings, bound: SocketAddr) -> Result<Option<Arc<Notifier>>, String> {
    let alerts = &settings.alerts;
    if !alerts.enabled || (alerts.alertmanagers.is_empty() && alerts.webhooks.is_empty()) {
        return Ok(None);
    }
    let config = alerts.notify_config(&format!("http://{bound}"));
    log::info!(
        "Alert delivery started. alertmanagers={} webhooks={}",
        config.alertmanagers.len(),
        config.webhooks.len()
    );
    Notifier::start(config)
        .map(|n| Some(Arc::new(n)))
        .map_err(|e| format!("[alerts]: {e}"))
}

/// Remote write to the `[[export.remote_write]]` endpoints; `None` without any. Started on a
/// blocking thread (it forgets the stored progress of endpoints no longer configured).
async fn start_remote_write(
    settings: &Settings,
    store: &Store,
) -> Result<Option<Arc<RemoteWriter>>, String> {
    let endpoints = settings.export.remote_write_endpoints();
    if endpoints.is_empty() {
        return Ok(None);
    }
    let store = store.clone();
    let writer = tokio::task::spawn_blocking(move || RemoteWriter::start(&endpoints, store))
        .await
        .map_err(|e| format!("starting remote write failed: {e}"))?
        .map_err(|e| format!("[export]: {e}"))?;
    let urls: Vec<String> = writer.status().into_iter().map(|s| s.url).collect();
    log::info!("Remote write started. endpoints={}", urls.join(","));
    Ok(Some(writer))
}

/// Fails with a clear message when the API's address can't be bound (another process holds the
/// port). The probe's socket is closed again at once; `serve` binds for real.
pub fn check_port_free(settings: &Settings) -> Result<(), String> {
    let listen = listen_address(settings)?;
    std::net::TcpListener::bind(listen).map(drop).map_err(|e| {
        format!(
            "cannot bind the API to {listen}: {e}; another program (another rockscope?) may hold \
             the port: stop it or pick another port (ROCKSCOPE_SERVER__PORT=8081)"
        )
    })
}

/// Where the API binds. Without an API token only a loopback address is allowed.
fn listen_address(settings: &Settings) -> Result<SocketAddr, String> {
    let server = &settings.server;
    let addrs: Vec<SocketAddr> = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(|e| format!("server.host {:?} does not resolve: {e}", server.host))?
        .collect();
    let Some(first) = addrs.first().copied() else {
        return Err(format!(
            "server.host {:?} resolves to no address",
            server.host
        ));
    };
    let tokens = settings.server.tokens().map_err(|e| e.to_string())?;
    if tokens.admin.is_none() && !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(format!(
            "server.host {:?} is not a loopback address and no server.api_token is set; set a token \
             (ROCKSCOPE_SERVER__API_TOKEN) or bind to 127.0.0.1",
            server.host
        ));
    }
    Ok(first)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                log::warn!("SIGTERM handler unavailable, waiting for SIGINT only. error={e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// One cycle over every enabled cluster; prints a line per cluster. Fails when one failed.
pub async fn collect_once(settings: Settings, store: Store) -> Result<(), String> {
    let custom_metrics = Arc::new(load_custom_metrics(&settings, &store).await?);
    let parts = CollectorParts {
        custom: Some(Arc::new(move || custom_metrics.in_force())),
        ..CollectorParts::default()
    };
    let config = collector_config(&settings)?;
    let collector = Collector::with_parts(config, store, StatusBoard::default(), parts);
    let outcomes = collector.collect_once().await;
    if outcomes.is_empty() {
        println!(
            "no enabled cluster: declare [[clusters]] in the config or register one via the API"
        );
        return Ok(());
    }
    let mut failed = 0;
    for o in &outcomes {
        match &o.result {
            Ok(errors) => println!(
                "{}: ok, {}/{} nodes scraped, {} ms{}",
                o.cluster_name,
                o.nodes_ok,
                o.nodes_total,
                o.duration.as_millis(),
                if errors.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {} source errors (first: {} {})",
                        errors.len(),
                        errors[0].source,
                        errors[0].code
                    )
                }
            ),
            Err(message) => {
                failed += 1;
                println!(
                    "{}: FAILED after {} ms: {message}",
                    o.cluster_name,
                    o.duration.as_millis()
                );
            }
        }
    }
    if failed > 0 {
        Err(format!("{failed} of {} clusters failed", outcomes.len()))
    } else {
        Ok(())
    }
}
