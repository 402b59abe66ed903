//! `GET /health` (the process answers) and `GET /ready` (database reachable and writable,
//! collector running, housekeeping not failing).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::ApiState;

/// Liveness: answering at all is the answer.
pub(crate) async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers a query, its writes work (the store's own storage state: a
/// read-only, full or deleted file fails it), the collection loop runs, and the last
/// housekeeping pass did not panic. `errors` says why not, when not.
pub(crate) async fn ready(state: web::Data<ApiState>) -> HttpResponse {
    let store = state.store.clone();
    let (database, storage) = match web::block(move || (store.ping(), store.storage_state())).await
    {
        Ok((ping, storage)) => (ping.is_ok(), Some(storage)),
        Err(_) => (false, None),
    };
    let collector = state.status.is_running();
    let housekeeping_error = state.status.housekeeping_error();
    let mut errors = Vec::new();
    let storage_ok = storage.as_ref().is_some_and(|s| s.healthy);
    if let Some(s) = storage.filter(|s| !s.healthy) {
        errors.push(format!(
            "storage: {}",
            s.last_error.as_deref().unwrap_or("writes fail")
        ));
    }
    if let Some(e) = &housekeeping_error {
        errors.push(format!("housekeeping panicked: {e}"));
    }
    let ok = database && storage_ok && collector && housekeeping_error.is_none();
    let body = json!({
        "status": if ok { "ready" } else { "not_ready" },
        "database": database,
        "storage": storage_ok,
        "collector": collector,
        "housekeeping": housekeeping_error.is_none(),
        "errors": errors,
    });
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
