//! `serve`, `collect-once` and `demo`: open the store, register the config's clusters, run the
//! collector and mount the pages and the API. Only wiring: every decision lives in a library crate.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use rockscope_api::{ApiState, OverviewCache, OverviewCacheConfig};
use rockscope_collector::{Collector, CollectorConfig, StatusBoard};
use rockscope_store::{NewCluster, Password, Store};
use tokio::sync::watch;

use crate::config::Settings;
use crate::tester::ClientTester;

/// Extra time, beyond one cluster deadline, that shutdown gives the cycle in flight.
const SHUTDOWN_SLACK: Duration = Duration::from_secs(5);

/// Runs `work` on an actix system backed by a multi-threaded tokio runtime, so the collector's
/// tasks and the API share one runtime with several workers.
pub fn block_on<F: Future<Output = Result<(), String>>>(work: F) -> Result<(), String> {
    actix_web::rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_keep_alive(rockscope_collector::BLOCKING_THREAD_KEEP_ALIVE)
            .build()
            .unwrap_or_else(|e| {
                // Without a runtime nothing can run; this is a start-up failure, not data.
                eprintln!("rockscope: cannot start the async runtime: {e}");
                std::process::exit(1)
            })
    })
    .block_on(work)
}

/// The collector's settings from `[collector]`.
pub fn collector_config(settings: &Settings) -> CollectorConfig {
    let c = &settings.collector;
    CollectorConfig {
        interval: Duration::from_secs(c.interval_secs),
        concurrency: c.concurrency,
        connect_timeout: Duration::from_secs(c.connect_timeout_secs),
        request_timeout: Duration::from_secs(c.request_timeout_secs),
        cluster_deadline: Duration::from_secs(c.cluster_deadline_secs()),
        retention_days: c.retention_days,
        daily_retention_days: c.daily_retention_days,
        ..CollectorConfig::default()
    }
}

/// Opens the store and registers the clusters declared in the configuration.
pub async fn open_store(settings: &Settings) -> Result<Store, String> {
    let path = settings.storage.path.clone();
    let clusters = settings.clusters.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let store = Store::open(&path)
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
    let collector = Collector::new(collector_config(&settings), store.clone(), status.clone());
    let state = ApiState {
        store,
        status,
        api_token: settings
            .server
            .api_token
            .as_ref()
            .map(|t| t.expose().to_owned()),
        tester: Arc::new(ClientTester::new(collector_config(&settings))),
        overview_cache: OverviewCache::new(OverviewCacheConfig::for_interval(
            std::time::Duration::from_secs(settings.collector.interval_secs),
        )),
    };
    // The pages first, then the API, whose JSON 404 is the default for every other path.
    let server = HttpServer::new(move || {
        App::new()
            .configure(rockscope_web::configure)
            .configure(rockscope_api::configure(state.clone()))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(listen)
    .map_err(|e| format!("cannot bind the API to {listen}: {e}"))?;
    let bound = server.addrs().first().copied().unwrap_or(listen);
    // The first line on stdout is the address, so scripts and tests can find a port-0 server.
    println!("rockscope listening on http://{bound}");
    let _ = std::io::stdout().flush();
    log::info!("API listening. address={bound}");

    let server = server.run();
    let server_handle = server.handle();
    let server_task = tokio::spawn(server);

    let (stop, stopped) = watch::channel(false);
    let grace = collector_config(&settings).cluster_deadline + SHUTDOWN_SLACK;
    let collector_task = settings.collector.enabled.then(|| {
        log::info!(
            "Collector started. interval_secs={} clusters_in_config={}",
            settings.collector.interval_secs,
            settings.clusters.len()
        );
        tokio::spawn(Arc::clone(&collector).run(stopped, grace))
    });
    if collector_task.is_none() {
        log::info!("Collector disabled by configuration; serving stored data only.");
    }

    wait_for_signal().await;
    log::info!("Shutting down.");
    let _ = stop.send(true);
    if let Some(task) = collector_task {
        let _ = task.await;
    }
    server_handle.stop(true).await;
    let _ = server_task.await;
    log::info!("Stopped.");
    Ok(())
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
    if settings.server.api_token.is_none() && !addrs.iter().all(|a| a.ip().is_loopback()) {
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
    let collector = Collector::new(collector_config(&settings), store, StatusBoard::default());
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
