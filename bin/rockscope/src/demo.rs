//! `rockscope demo`: an in-process simulator serving two StarRocks clusters, and the service
//! collecting them every 5 seconds into a throw-away database, so a newcomer sees data within a
//! minute.

use std::net::Ipv4Addr;

use rockscope_sim::{BindMode, ClusterSpec, SimConfig, Simulator, Version};
use rockscope_store::{NewCluster, Password};

use crate::config::Settings;
use crate::service;

/// Runs the demo until SIGINT/SIGTERM.
pub async fn run(mut settings: Settings) -> Result<(), String> {
    // Before anything is started or printed: a taken port would otherwise leave a curl hint
    // that points at whatever holds the port.
    service::check_port_free(&settings)?;
    let sim_config = SimConfig::with_clusters(vec![
        ClusterSpec::new("demo-3.3".to_owned(), 3, 4, Version::V3_3),
        ClusterSpec::new("demo-3.0".to_owned(), 1, 3, Version::V3_0),
    ])
    .bind(BindMode::Addresses {
        base: Ipv4Addr::new(127, 0, 77, 0),
    });
    let simulator = tokio::task::spawn_blocking(move || Simulator::start(sim_config))
        .await
        .map_err(|e| format!("starting the simulator failed: {e}"))?
        .map_err(|e| format!("starting the simulator failed: {e}"))?;
    for note in simulator.notes() {
        println!("simulator: {note}");
    }

    settings.collector.interval_secs = 5;
    settings.collector.cluster_deadline_secs = Some(5);
    settings.clusters.clear();
    settings.storage.path =
        std::env::temp_dir().join(format!("rockscope-demo-{}.db", std::process::id()));
    let store = service::open_store(&settings).await?;
    for cluster in simulator.clusters() {
        println!(
            "simulated cluster {}: FEs {}",
            cluster.name,
            cluster.fe_hosts.join(", ")
        );
        let new = NewCluster {
            name: cluster.name.clone(),
            fe_hosts: cluster.fe_hosts.clone(),
            username: cluster.username.clone(),
            password: Password::new(cluster.password.clone()),
            connect_timeout_secs: None,
            request_timeout_secs: None,
            enabled: true,
        };
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.upsert_config_cluster(&new))
            .await
            .map_err(|e| format!("registering a demo cluster failed: {e}"))?
            .map_err(|e| format!("registering a demo cluster failed: {e}"))?;
    }
    println!(
        "demo database: {} (deleted on exit); open http://{host}:{port}/ or try: curl -s http://{host}:{port}/api/clusters/overview",
        settings.storage.path.display(),
        host = settings.server.host,
        port = settings.server.port
    );
    let path = settings.storage.path.clone();
    let result = service::serve(settings, store).await;
    simulator.shutdown();
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
    result
}
