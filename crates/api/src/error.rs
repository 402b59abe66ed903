//! [`ApiError`]: every failure of the API as one JSON shape,
//! `{"error": {"code": "...", "message": "..."}}`, with the right HTTP status; and the error
//! handlers that turn actix's own extractor errors (JSON body, query string, path) into it.

use std::fmt;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::{Deserialize, Serialize};

/// The largest request body the API accepts, in bytes (64 KiB).
pub const BODY_LIMIT: usize = 64 * 1024;

/// An API failure. Its `Display` and `Debug` never hold a secret: messages are written here or
/// by the store (names, ids), never taken from a request body's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400 `bad_request`: the request body is not what the endpoint takes (malformed JSON,
    /// unknown field, wrong type).
    BadRequest(String),
    /// 400 `invalid_parameter`: a query, path or body parameter has a value that is not allowed;
    /// the message names the parameter and what is allowed.
    InvalidParameter(String),
    /// 401 `unauthorized`: the bearer token is missing or wrong.
    Unauthorized,
    /// 403 `forbidden`: the request is understood and authenticated, but not allowed (a write
    /// with the read-only token, a non-loopback `Host` without a token).
    Forbidden(String),
    /// 404 `not_found`: an unknown cluster or route.
    NotFound(String),
    /// 405 `method_not_allowed`: a known route with another method.
    MethodNotAllowed,
    /// 408 `request_timeout`: the request body did not arrive in time.
    RequestTimeout,
    /// 409 `conflict`: e.g. a duplicate cluster name.
    Conflict(String),
    /// 413 `payload_too_large`: the body exceeds [`BODY_LIMIT`].
    PayloadTooLarge,
    /// 415 `unsupported_media_type`: a body that is not `application/json`.
    UnsupportedMediaType,
    /// 500 `internal`: a real fault. The cause was logged when the error was made; the client
    /// gets a generic message.
    Internal,
}

impl ApiError {
    /// A 500 whose cause is logged (at `error`) now, with `context` saying what failed.
    pub fn internal(context: &str, cause: impl fmt::Display) -> ApiError {
        log::error!("api: {context}: {cause}");
        ApiError::Internal
    }

    /// The machine-readable code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Internal => "internal",
        }
    }

    /// The human-readable message of the error body.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::InvalidParameter(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m) => m.clone(),
            ApiError::Unauthorized => {
                "missing or invalid API token: send `Authorization: Bearer <token>`".to_owned()
            }
            ApiError::MethodNotAllowed => "method not allowed on this route".to_owned(),
            ApiError::RequestTimeout => format!(
                "the request body did not arrive within {} s",
                crate::body::BODY_READ_TIMEOUT.as_secs()
            ),
            ApiError::PayloadTooLarge => {
                format!("request body is larger than the limit of {BODY_LIMIT} bytes")
            }
            ApiError::UnsupportedMediaType => {
                "request body must be JSON with `Content-Type: application/json`".to_owned()
            }
            ApiError::Internal => "internal server error (see the server log)".to_owned(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` object of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Machine-readable: `bad_request`, `invalid_parameter`, `unauthorized`, `forbidden`,
    /// `not_found`, `method_not_allowed`, `request_timeout`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type`, `request_header_fields_too_large` (see [`protocol_error_body`]),
    /// `internal`.
    pub code: String,
    /// Human-readable, naming the parameter and what is allowed where that applies.
    pub message: String,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.message(),
            },
        })
    }
}

/// The JSON error body of a protocol error that actix-http answers by itself, before any request
/// reaches the API, so that it has the shape of every other error (the binary writes it in place
/// of actix-http's empty body): `400 bad_request` for a request line or header that is not HTTP,
/// `408 request_timeout` for a head not complete within [`HEAD_READ_TIMEOUT`], and
/// `431 request_header_fields_too_large` for a head over actix-http's limits. `None` for any other
/// status.
///
/// [`HEAD_READ_TIMEOUT`]: crate::HEAD_READ_TIMEOUT
pub fn protocol_error_body(status: StatusCode) -> Option<String> {
    let (code, message) = match status {
        StatusCode::BAD_REQUEST => (
            "bad_request",
            "the request is not valid HTTP: malformed request line or header".to_owned(),
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "request_timeout",
            format!(
                "the request head did not arrive within {} s",
                crate::HEAD_READ_TIMEOUT.as_secs()
            ),
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => (
            "request_header_fields_too_large",
            "the request head is larger than 128 KiB or has more than 96 headers".to_owned(),
        ),
        _ => return None,
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message,
        },
    };
    serde_json::to_string(&body).ok()
}

impl From<rockscope_store::Error> for ApiError {
    fn from(err: rockscope_store::Error) -> ApiError {
        use rockscope_store::Error as E;
        match err {
            E::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            E::Conflict(why) => ApiError::Conflict(why),
            E::InvalidField(field) => {
                ApiError::InvalidParameter(format!("`{field}` is not a numeric snapshot field"))
            }
            other => ApiError::internal("store", other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(err: actix_web::error::BlockingError) -> ApiError {
        ApiError::internal("blocking pool", err)
    }
}

/// Runs `work` (store calls, probes) on actix's blocking pool, never on a worker thread.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    web::block(work).await?
}

/// `404 not_found` for a route that does not exist (the default service).
pub(crate) async fn no_route(req: HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())).error_response()
}

/// `405 method_not_allowed` for a known route with another method, with the route's methods
/// in `Allow` (RFC 9110 requires it).
pub(crate) async fn wrong_method(allow: &'static str) -> HttpResponse {
    let mut response = ApiError::MethodNotAllowed.error_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static(allow));
    response
}

/// The JSON body extractor's configuration: [`BODY_LIMIT`] and errors as [`ApiError`]s.
pub(crate) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|err, _req| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType,
        // serde_json's messages name the field and the expected type; a value they quote comes
        // from a field that is no secret (the password field reports without its value).
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest(format!("invalid JSON body: {e}")),
        JsonPayloadError::Payload(e) if e.status_code() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge
        }
        JsonPayloadError::Payload(actix_web::error::PayloadError::Io(e))
            if e.kind() == std::io::ErrorKind::TimedOut =>
        {
            ApiError::RequestTimeout
        }
        JsonPayloadError::Payload(e) => {
            ApiError::BadRequest(format!("cannot read the request body: {e}"))
        }
        other => ApiError::BadRequest(format!("invalid JSON body: {other}")),
    }
}

/// The query-string extractor's configuration: errors as `400 invalid_parameter`.
pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let QueryPayloadError::Deserialize(e) = err else {
            return ApiError::InvalidParameter("invalid query string".to_owned()).into();
        };
        ApiError::InvalidParameter(query_message(&e.to_string())).into()
    })
}

/// serde's words for a query parameter that is not one of the route's: "unknown field `x`,
/// expected one of `a`, `b`" (or "there are no fields") become "unknown query parameter `x`;
/// allowed: `a`, `b`" (or "this route takes no query parameters").
fn query_message(serde: &str) -> String {
    let Some(rest) = serde.strip_prefix("unknown field ") else {
        return format!("invalid query string: {serde}");
    };
    let (name, allowed) = rest.split_once(", ").unwrap_or((rest, ""));
    let allowed = allowed
        .strip_prefix("expected one of ")
        .or_else(|| allowed.strip_prefix("expected "));
    match allowed {
        Some(allowed) => format!("unknown query parameter {name}; allowed: {allowed}"),
        None => format!("unknown query parameter {name}; this route takes no query parameters"),
    }
}

/// The path extractor's configuration: errors as `400 invalid_parameter` (cluster ids are
/// integers).
pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        let PathError::Deserialize(e) = err else {
            return ApiError::InvalidParameter("invalid path parameter".to_owned()).into();
        };
        ApiError::InvalidParameter(format!(
            "path parameter `id` must be an integer cluster id ({e})"
        ))
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn store_errors_map_to_statuses_and_one_shape() {
        let cases = [
            (
                rockscope_store::Error::NotFound("cluster 7".into()),
                404,
                "not_found",
                "cluster 7 not found",
            ),
            (
                rockscope_store::Error::Conflict("a cluster named `x` already exists".into()),
                409,
                "conflict",
                "a cluster named `x` already exists",
            ),
            (
                rockscope_store::Error::InvalidField("nope".into()),
                400,
                "invalid_parameter",
                "`nope` is not a numeric snapshot field",
            ),
            (
                rockscope_store::Error::Corrupt("clusters.fe_hosts: secret detail".into()),
                500,
                "internal",
                "internal server error (see the server log)",
            ),
        ];
        for (err, status, code, message) in cases {
            let api = ApiError::from(err);
            let response = api.error_response();
            assert_eq!(response.status().as_u16(), status);
            let body = to_bytes(response.into_body()).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                body,
                serde_json::json!({"error": {"code": code, "message": message}})
            );
        }
    }

    #[test]
    fn unauthorized_carries_the_challenge() {
        let response = ApiError::Unauthorized.error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer"
        );
    }
}
