//! rockscope's HTTP API on actix-web: the cluster overview, history, nodes, cluster management
//! and the collector's status, as JSON.
//!
//! # Overview
//!
//! * [`configure`]: registers every route on an actix `ServiceConfig`; the binary mounts it.
//! * [`ApiState`]: what handlers read: the [`Store`], the collector's [`StatusBoard`], the
//!   optional API token and a [`ClusterTester`] for `POST /api/clusters/{id}/test`.
//!
//! Handlers never block an actix worker: every store call runs on the blocking pool
//! (`web::block`).
//!
//! **Invariant:** the only crate that knows actix-web and the JSON shapes of the API.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod health;

use std::sync::Arc;

use actix_web::web;
use rockscope_collector::StatusBoard;
use rockscope_store::Store;

/// Tries a cluster's endpoints now, for `POST /api/clusters/{id}/test`. The binary implements it
/// with the StarRocks client, which keeps this crate free of HTTP-client code.
pub trait ClusterTester: Send + Sync {
    /// Probes each endpoint of the cluster and reports each one's result as JSON.
    fn test(&self, cluster: &rockscope_store::Cluster) -> serde_json::Value;
}

/// What the API's handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The snapshot store.
    pub store: Store,
    /// The collector's status board.
    pub status: StatusBoard,
    /// The bearer token `/api` requests must carry; `None` means no auth.
    pub api_token: Option<String>,
    /// Probes clusters for the test endpoint.
    pub tester: Arc<dyn ClusterTester>,
}

/// Registers the API's routes and shared state.
pub fn configure(state: ApiState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .route("/health", web::get().to(health::health))
            .route("/ready", web::get().to(health::ready));
    }
}
