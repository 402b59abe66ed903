//! The bearer-token check of every `/api` request, and the `Host` check of loopback mode.
//!
//! When [`ApiState::api_token`] is set, a request passes only with
//! `Authorization: Bearer <token>`, compared in constant time; anything else is answered
//! `401 unauthorized` before the handler (and its body extractor) runs. The optional
//! [`ApiState::api_read_token`] passes for reads only (`GET`, `HEAD`, and the `POST`s of
//! [`READ_ONLY_POSTS`], which change nothing); any other method with it is `403 forbidden`. `/health` and `/ready` are outside the `/api` scope and stay open. The
//! header is never logged.
//!
//! Without a token (loopback binds only), a request passes only when its `Host` is a loopback
//! name (`localhost`, `127.0.0.1`, `[::1]`, any port): otherwise a web page whose DNS name
//! rebinds to 127.0.0.1 could drive the API from the operator's browser. Anything else is
//! `403 forbidden`, on every route.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use crate::ApiState;
use crate::error::ApiError;

/// Middleware (via `middleware::from_fn`) guarding the `/api` scope.
pub(crate) async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<ApiState>>() else {
        return refuse(
            req,
            ApiError::internal("auth", "the API state is not registered"),
        );
    };
    let verdict = match &state.api_token {
        None => check_loopback_host(&req),
        Some(admin) => check_token(&req, admin, state.api_read_token.as_deref()),
    };
    match verdict {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(error) => refuse(req, error),
    }
}

/// Middleware for the routes outside `/api` (`/health`, `/ready`): the loopback `Host` check
/// only, and only when no token is set.
pub(crate) async fn require_loopback_host(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let tokenless = req
        .app_data::<web::Data<ApiState>>()
        .is_some_and(|state| state.api_token.is_none());
    match if tokenless {
        check_loopback_host(&req)
    } else {
        Ok(())
    } {
        Ok(()) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        Err(error) => refuse(req, error),
    }
}

fn refuse<B>(
    req: ServiceRequest,
    error: ApiError,
) -> Result<ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let (request, _payload) = req.into_parts();
    Ok(ServiceResponse::new(request, error.error_response()).map_into_right_body())
}

/// The `POST` routes the read token may call: they read stored data and change nothing (a `POST`
/// only because the request has a body). Compared with the raw path, so any other spelling of
/// it is refused, never let through.
const READ_ONLY_POSTS: &[&str] = &[
    // Replays a rule over stored history: nothing is stored, nobody is notified.
    "/api/alert-rules/test",
];

/// Whether the read token may make this request.
fn is_read(req: &ServiceRequest) -> bool {
    match *req.method() {
        Method::GET | Method::HEAD => true,
        Method::POST => READ_ONLY_POSTS.contains(&req.path()),
        _ => false,
    }
}

/// The admin token passes every request, the read token reads only ([`is_read`]).
fn check_token(req: &ServiceRequest, admin: &str, read: Option<&str>) -> Result<(), ApiError> {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .ok_or(ApiError::Unauthorized)?;
    if constant_time_eq(given.as_bytes(), admin.as_bytes()) {
        return Ok(());
    }
    if !read.is_some_and(|read| constant_time_eq(given.as_bytes(), read.as_bytes())) {
        return Err(ApiError::Unauthorized);
    }
    if is_read(req) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "the read-only token allows GET, HEAD and POST {} only; {} {} needs the admin token \
             (server.api_token)",
            READ_ONLY_POSTS.join(", "),
            req.method(),
            req.path()
        )))
    }
}

/// Without a token: only a loopback `Host` (or none, which no browser sends) passes.
fn check_loopback_host(req: &ServiceRequest) -> Result<(), ApiError> {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match host {
        None => Ok(()),
        Some(host) if is_loopback_host(host) => Ok(()),
        Some(_) => Err(ApiError::Forbidden(
            "without an API token only a loopback Host (localhost, 127.0.0.1, [::1], any port) \
             is accepted; set server.api_token to serve other names"
                .to_owned(),
        )),
    }
}

/// `localhost`, `127.0.0.1` or `[::1]`, each with an optional numeric port.
fn is_loopback_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && !name.ends_with(':') => (name, Some(port)),
        _ => (host, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && (name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "[::1]")
}

/// The token of an `Authorization: Bearer <token>` value (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether `given` equals `expected`, in a time that depends only on `expected`'s length (every
/// byte of `expected` is compared, with no early exit on the first difference).
pub(crate) fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(given.len() != expected.len());
    for (i, &e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(!e);
        diff |= g ^ e;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret2", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn only_loopback_names_are_loopback_hosts() {
        for host in [
            "localhost",
            "LocalHost:8080",
            "127.0.0.1",
            "127.0.0.1:1",
            "[::1]",
            "[::1]:65535",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.nip.io",
            "localhost.evil",
            "127.0.0.2",
            "[::1",
            "::1",
            "127.0.0.1:",
            "127.0.0.1:80a",
            "localhost:8080:1",
            "0.0.0.0",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
