//! Times every request into rockscope's own metrics, by the pattern of the route it matched
//! (`/api/clusters/{id}/overview`, never the raw path, so the family stays as small as the
//! route table) and its status.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use rockscope_telemetry::UNMATCHED_ROUTE;

use crate::ApiState;

/// The middleware (`App::wrap(from_fn(observe_request))`): records the request's route,
/// status and time in [`ApiState::telemetry`]. A request that matched no route (a default
/// service's 404) is `unmatched`. Without an [`ApiState`] in the app, it only passes requests on.
pub async fn observe_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(telemetry) = request
        .app_data::<web::Data<ApiState>>()
        .map(|state| state.telemetry.clone())
    else {
        return next.call(request).await;
    };
    // Resolved from the app's route table before routing, so that an error response (which
    // carries no request) has its route too.
    let route = request.match_pattern();
    let started = Instant::now();
    let result = next.call(request).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    telemetry.api_request(
        route.as_deref().unwrap_or(UNMATCHED_ROUTE),
        status.as_u16(),
        started.elapsed(),
    );
    result
}
