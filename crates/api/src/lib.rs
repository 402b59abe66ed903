//! rockscope's HTTP API on actix-web: the cluster overview, history, nodes, cluster management
//! and the collector's status, as JSON (documented with examples in `docs/API.md`).
//!
//! # Overview
//!
//! * [`configure`]: registers every route, the shared state and the extractor configurations
//!   on an actix `ServiceConfig`; the binary mounts it.
//! * [`ApiState`]: what handlers read: the [`Store`], the collector's [`StatusBoard`], the
//!   optional API token, a [`ClusterTester`] for `POST /api/clusters/{id}/test`, the
//!   [`OverviewCache`], the [`SummariesCache`] and the effective alert rules ([`AlertRules`]).
//! * [`cache`]: the per-cluster overview's response cache (serialized answers, valid until the
//!   cluster's next write or status change, and at most one collection interval, 30 s by default).
//! * [`summaries_cache`]: the all-clusters overview's one answer, computed at most once per
//!   change (and at most about once a second under a stream of cycles) by one request at a
//!   time, the same bytes served to every request in between.
//! * [`dto`]: the JSON shapes (requests and responses), mapped from the store's and the
//!   collector's types so that the contract does not follow storage changes.
//! * [`ApiError`]: every failure as `{"error": {"code": "...", "message": "..."}}` with its
//!   status (400 `bad_request`/`invalid_parameter`, 401 `unauthorized`, 403 `forbidden`,
//!   404 `not_found`,
//!   405 `method_not_allowed`, 408 `request_timeout`, 409 `conflict`, 413 `payload_too_large`,
//!   415 `unsupported_media_type`, 500 `internal`).
//!
//! * [`observe_request`]: the middleware that times every request by its route's pattern and
//!   status into [`ApiState::telemetry`] (the binary wraps the whole app in it).
//!
//! Modules: `auth` (bearer token, constant-time), `params` (query parsing), `overview`,
//! `clusters`, `alerts` (alerts, history, rules) with [`alert_rules`] (the rule set shared
//! with the evaluator), `history` (snapshots, nodes, daily), `status` (collector), `health`.
//!
//! # Routes
//!
//! | method | path | |
//! |---|---|---|
//! | GET | `/health`, `/ready` | open (no token) |
//! | GET | `/metrics` | Prometheus text 0.0.4 or OpenMetrics (`docs/EXPORT.md`), token as `/api` |
//! | GET | `/api/clusters/overview[?cluster_id=&time_range=&max_points=]` | summaries / overview |
//! | GET | `/api/clusters/{id}/overview[?time_range=&max_points=]` | overview |
//! | GET | `/api/clusters/{id}/snapshots[?from=&to=&fields=&max_points=]` | history |
//! | GET | `/api/clusters/{id}/nodes` | newest node snapshots |
//! | GET | `/api/clusters/{id}/daily[?from=&to=]` | daily roll-ups |
//! | GET, POST | `/api/clusters` | list, register |
//! | GET, PUT, DELETE | `/api/clusters/{id}` | read, partial update, delete |
//! | POST | `/api/clusters/{id}/test` | probe now |
//! | GET | `/api/alerts[?cluster_id=&severity=&state=]` | active alerts |
//! | GET | `/api/alerts/history[?cluster_id=&severity=&state=&from=&to=&since=&limit=]` | alert history |
//! | GET, POST | `/api/alert-rules` | effective rules, create a user rule |
//! | PUT, DELETE | `/api/alert-rules/{name}` | replace, delete a user rule |
//! | POST | `/api/alert-rules/test` | replay a rule over stored history |
//! | GET | `/api/collector/status` | collection status and cycles |
//!
//! Handlers never block an actix worker: every store call (and the tester) runs on the blocking
//! pool (`web::block`); a cache lookup is an in-memory map access.
//!
//! **Invariant:** the only crate that knows actix-web and the JSON shapes of the API, and no
//! response or log line of it carries a secret: passwords are write-only (no response type has
//! a password field), request bodies are never logged, the token is never logged, and a 500
//! logs its cause while the client gets a generic message.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod alert_rules;
mod alerts;
mod auth;
mod body;
pub mod cache;
mod clusters;
mod custom;
pub mod custom_metrics;
pub mod dto;
mod error;
mod health;
mod history;
mod metrics;
mod overview;
pub mod params;
mod request_metrics;
mod status;
pub mod summaries_cache;

use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{guard, web};
use rockscope_collector::StatusBoard;
use rockscope_store::Store;

pub use alert_rules::{AlertRules, RuleEditError, RuleSource};
pub use alerts::{DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, MAX_TEST_CYCLES, MAX_TEST_NODE_ROWS};
pub use body::{BODY_READ_TIMEOUT, HEAD_READ_TIMEOUT};
pub use cache::{OverviewCache, OverviewCacheConfig, OverviewCacheStats};
pub use clusters::{TIMEOUT_RANGE, check_cluster_fields};
pub use custom::{CustomMetricDto, CustomMetricsDto, MetricFamiliesDto};
pub use custom_metrics::{CustomEditError, CustomMetrics, DefinitionSource, MAX_CUSTOM_METRICS};
pub use error::{ApiError, BODY_LIMIT, ErrorBody, ErrorDetail, protocol_error_body};
pub use history::RAW_SNAPSHOT_CAP;
pub use overview::{PERFORMANCE_TRENDS, RESOURCE_TRENDS};
pub use request_metrics::observe_request;
pub use summaries_cache::{SummariesCache, SummariesCacheConfig};

/// Tries a cluster's endpoints now, for `POST /api/clusters/{id}/test`. The binary implements it
/// with the StarRocks client, which keeps this crate free of HTTP-client code.
pub trait ClusterTester: Send + Sync {
    /// Probes each endpoint of the cluster and reports each one's result as JSON. Called on a
    /// blocking thread; may take as long as the cluster's timeouts.
    fn test(&self, cluster: &rockscope_store::Cluster) -> serde_json::Value;
}

/// What the API's handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The snapshot store.
    pub store: Store,
    /// The collector's status board.
    pub status: StatusBoard,
    /// The bearer token `/api` requests must carry; `None` means no auth, and then only
    /// loopback `Host` values are accepted.
    pub api_token: Option<String>,
    /// A second token that allows reads only (`GET`, `HEAD`, and `POST /api/alert-rules/test`,
    /// a replay that changes nothing); used only with `api_token`.
    pub api_read_token: Option<String>,
    /// Probes clusters for the test endpoint.
    pub tester: Arc<dyn ClusterTester>,
    /// The per-cluster overview's response cache (shared by clones, so by every worker).
    pub overview_cache: OverviewCache,
    /// The all-clusters overview's answer (shared by clones, so by every worker).
    pub summaries_cache: SummariesCache,
    /// The effective alert rules, shared with the evaluator; `/api/alert-rules` lists them
    /// and edits the user rules stored through the API.
    pub alert_rules: Arc<AlertRules>,
    /// Alert delivery, for its status in `/api/collector/status`; `None` without receivers.
    pub delivery: Option<Arc<rockscope_notify::Notifier>>,
    /// Every cluster's latest cycle, which `/metrics` renders (the collector writes it).
    pub exported: Arc<rockscope_export::LatestBoard>,
    /// rockscope's own metrics, which `/metrics` appends to the clusters' and
    /// [`observe_request`] records every request in.
    pub telemetry: rockscope_telemetry::Telemetry,
    /// Remote write, for its backlog in `/api/collector/status`; `None` without endpoints.
    pub remote_write: Option<Arc<rockscope_remote_write::RemoteWriter>>,
    /// The custom metric definitions in force, shared with the collector;
    /// `/api/custom-metrics` lists them and edits those stored through the API.
    pub custom_metrics: Arc<CustomMetrics>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .field("api_token", &self.api_token.as_ref().map(|_| "***"))
            .field(
                "api_read_token",
                &self.api_read_token.as_ref().map(|_| "***"),
            )
            .field("overview_cache", &self.overview_cache)
            .field("summaries_cache", &self.summaries_cache)
            .finish_non_exhaustive()
    }
}

/// Registers the API's routes, shared state, extractor configurations (64 KiB JSON bodies,
/// errors as JSON) and a JSON `404` default service. Every `GET` route answers `HEAD` too; a
/// known route with another method is a `405` with an `Allow` header.
pub fn configure(state: ApiState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(state))
            .app_data(error::json_config())
            .app_data(error::query_config())
            .app_data(error::path_config())
            .service(
                resource("/health", "GET, HEAD")
                    .wrap(from_fn(auth::require_loopback_host))
                    .route(read().to(health::health)),
            )
            .service(
                resource("/ready", "GET, HEAD")
                    .wrap(from_fn(auth::require_loopback_host))
                    .route(read().to(health::ready)),
            )
            .service(
                resource("/metrics", "GET, HEAD")
                    .wrap(from_fn(auth::require_token))
                    .route(read().to(metrics::metrics)),
            )
            .service(
                web::scope("/api")
                    .wrap(from_fn(body::read_deadline))
                    .wrap(from_fn(auth::require_token))
                    // Before `/clusters/{id}`, which would take `overview` for an id.
                    .service(
                        resource("/clusters/overview", "GET, HEAD")
                            .route(read().to(overview::by_query)),
                    )
                    .service(
                        resource("/clusters", "GET, HEAD, POST")
                            .route(read().to(clusters::list))
                            .route(web::post().to(clusters::create)),
                    )
                    .service(
                        resource("/clusters/{id}", "GET, HEAD, PUT, DELETE")
                            .route(read().to(clusters::get))
                            .route(web::put().to(clusters::update))
                            .route(web::delete().to(clusters::delete)),
                    )
                    .service(
                        resource("/clusters/{id}/overview", "GET, HEAD")
                            .route(read().to(overview::by_path)),
                    )
                    .service(
                        resource("/clusters/{id}/snapshots", "GET, HEAD")
                            .route(read().to(history::snapshots)),
                    )
                    .service(
                        resource("/clusters/{id}/nodes", "GET, HEAD")
                            .route(read().to(history::nodes)),
                    )
                    .service(
                        resource("/clusters/{id}/daily", "GET, HEAD")
                            .route(read().to(history::daily)),
                    )
                    .service(
                        resource("/clusters/{id}/metric-families", "GET, HEAD")
                            .route(read().to(custom::families)),
                    )
                    .service(
                        resource("/custom-metrics", "GET, HEAD, POST")
                            .route(read().to(custom::list))
                            .route(web::post().to(custom::create)),
                    )
                    .service(
                        resource("/custom-metrics/{name}", "GET, HEAD, PUT, DELETE")
                            .route(read().to(custom::get))
                            .route(web::put().to(custom::replace))
                            .route(web::delete().to(custom::delete)),
                    )
                    .service(
                        resource("/clusters/{id}/test", "POST")
                            .route(web::post().to(clusters::test)),
                    )
                    .service(resource("/alerts", "GET, HEAD").route(read().to(alerts::list)))
                    .service(
                        resource("/alerts/history", "GET, HEAD").route(read().to(alerts::history)),
                    )
                    .service(
                        resource("/alert-rules", "GET, HEAD, POST")
                            .route(read().to(alerts::rules))
                            .route(web::post().to(alerts::create)),
                    )
                    // Before `/alert-rules/{name}`, which would take `test` for a name.
                    .service(
                        resource("/alert-rules/test", "POST").route(web::post().to(alerts::test)),
                    )
                    .service(
                        resource("/alert-rules/{name}", "PUT, DELETE")
                            .route(web::put().to(alerts::replace))
                            .route(web::delete().to(alerts::delete)),
                    )
                    .service(
                        resource("/collector/status", "GET, HEAD")
                            .route(read().to(status::collector_status)),
                    )
                    .default_service(web::to(error::no_route)),
            )
            .default_service(web::to(error::no_route));
    }
}

/// A route for `GET` and `HEAD` (actix sends no body for `HEAD`, with the `GET` headers).
fn read() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A resource answering other methods than `allow` with a JSON `405` naming them in `Allow`.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || error::wrong_method(allow)))
}
