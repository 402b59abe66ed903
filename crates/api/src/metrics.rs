//! `GET /metrics`: the clusters' latest cycles and rockscope's own health, one exposition in
//! Prometheus text 0.0.4, or OpenMetrics 1.0 when the scraper's `Accept` asks for it. Under
//! the same token rules as `/api`. `docs/EXPORT.md` lists every family.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rockscope_export::text::{self, Format};

use crate::ApiState;
use crate::error::ApiError;

/// Renders the exposition off the actix worker (rendering a large fleet takes milliseconds).
pub(crate) async fn metrics(
    state: web::Data<ApiState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    let exported = state.exported.clone();
    let telemetry = state.telemetry.clone();
    let body = web::block(move || {
        let mut out = String::with_capacity(64 * 1024);
        text::render(&mut out, &exported.clusters(), format);
        // Read at scrape time: /proc and the database's size are files, hence off the worker.
        telemetry.encode(&mut out, format);
        if format == Format::OpenMetrics {
            out.push_str("# EOF\n");
        }
        out
    })
    .await
    .map_err(|e| ApiError::internal("metrics", e))?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        ))
        .body(body))
}
