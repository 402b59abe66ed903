//! `GET /health` (the process answers) and `GET /ready` (database reachable, collector running).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::ApiState;

/// Liveness: answering at all is the answer.
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers a query and the collection loop runs.
pub(crate) async fn ready(state: web::Data<ApiState>) -> HttpResponse {
    let store = state.store.clone();
    let database = matches!(web::block(move || store.ping()).await, Ok(Ok(())));
    let collector = state.status.is_running();
    let body = json!({
        "status": if database && collector { "ready" } else { "not_ready" },
        "database": database,
        "collector": collector,
    });
    if database && collector {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
