//! rockscope's web pages: the cluster list, a cluster's overview, the alerts, the collector's
//! status and cluster management, as plain ES modules, CSS and one HTML shell embedded in the binary.
//!
//! * [`configure`] registers the page routes (`/`, `/clusters/{id}`, `/clusters/manage`,
//!   `/alerts`, `/collector`) and `/assets/{file}` on an actix `ServiceConfig`; the binary mounts it next
//!   to the API. Every page route answers the same HTML shell; `app.js` reads the path and draws
//!   the page from `/api/*`, like any other client of the API.
//! * Every answer carries an `ETag` (a hash of the content) and `Cache-Control: no-cache`, so a
//!   browser revalidates and gets a `304` until the binary changes; a gzip copy is made once, at
//!   first use, and sent when the client accepts it.
//! * A Content-Security-Policy allows scripts, styles and requests from the page's own origin
//!   only: no inline script or style, nothing fetched from elsewhere.
//!
//! **Invariant:** knows no JSON shape of the API and no rockscope crate; the assets are files
//! in `assets/`, written by hand, with no build step.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::io::Write;
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use flate2::Compression;
use flate2::write::GzEncoder;

/// The policy sent with every answer: own origin only, no inline script or style.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// The name under `/assets/` (the shell's is `index.html`, served at the page paths).
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset {
            name: $name,
            content_type: $type,
            body: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of `assets/`.
static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("chart.js", JS),
    asset!("format.js", JS),
    asset!("dom.js", JS),
    asset!("refresh.js", JS),
    asset!("pages/clusters.js", JS),
    asset!("pages/cluster.js", JS),
    asset!("pages/custom.js", JS),
    asset!("pages/collector.js", JS),
    asset!("pages/alerts.js", JS),
    asset!("pages/manage.js", JS),
];

/// An asset ready to serve: its gzip copy and entity tag.
struct Prepared {
    asset: &'static Asset,
    gzip: Vec<u8>,
    etag: String,
}

/// The assets, compressed once at first use.
fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| Prepared {
                asset,
                gzip: gzip(asset.body),
                etag: format!("\"{:016x}\"", fnv1a(asset.body)),
            })
            .collect()
    })
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 3), Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

/// FNV-1a, 64 bits: enough to tell two versions of a file apart for an `ETag`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Registers the page routes and `/assets/{file}`. Mount it before the API's default service
/// (any order among the other routes works: the paths do not overlap with `/api`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/").route(web::get().to(page)))
        .service(web::resource("/collector").route(web::get().to(page)))
        .service(web::resource("/alerts").route(web::get().to(page)))
        // Before `/clusters/{id}`, which would not match `manage` anyway (digits only).
        .service(web::resource("/clusters/manage").route(web::get().to(page)))
        .service(web::resource("/clusters/{id:[0-9]{1,18}}").route(web::get().to(page)))
        .service(web::resource("/assets/{file:.+}").route(web::get().to(asset)));
}

async fn page(request: HttpRequest) -> HttpResponse {
    serve(&request, "index.html")
}

async fn asset(request: HttpRequest, file: web::Path<String>) -> HttpResponse {
    serve(&request, &file)
}

fn serve(request: &HttpRequest, name: &str) -> HttpResponse {
    let Some(found) = prepared().iter().find(|p| p.asset.name == name) else {
        return with_security_headers(&mut HttpResponse::NotFound())
            .content_type("text/plain; charset=utf-8")
            .body("not found\n");
    };
    let etag = found.etag.as_str();
    let not_modified = matches_etag(request, etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    with_security_headers(&mut response)
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::VARY, "Accept-Encoding"));
    if not_modified {
        return response.finish();
    }
    response.content_type(found.asset.content_type);
    if accepts_gzip(request) {
        response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(found.gzip.clone())
    } else {
        response.body(found.asset.body)
    }
}

fn with_security_headers(
    builder: &mut actix_web::HttpResponseBuilder,
) -> &mut actix_web::HttpResponseBuilder {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
}

/// Whether `If-None-Match` names this entity tag (or `*`).
fn matches_etag(request: &HttpRequest, etag: &str) -> bool {
    header_text(request, header::IF_NONE_MATCH).is_some_and(|value| {
        value
            .split(',')
            .map(str::trim)
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
    })
}

/// Whether `Accept-Encoding` lists gzip (or `*`) without `q=0`.
fn accepts_gzip(request: &HttpRequest) -> bool {
    header_text(request, header::ACCEPT_ENCODING).is_some_and(|value| {
        value.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
    })
}

fn header_text(request: &HttpRequest, name: header::HeaderName) -> Option<&str> {
    request
        .headers()
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, test as web_test};

    #[actix_web::test]
    async fn pages_are_the_shell_with_policy_etag_and_gzip() {
        let app = web_test::init_service(App::new().configure(configure)).await;
        for path in [
            "/",
            "/clusters/7",
            "/clusters/manage",
            "/collector",
            "/alerts",
        ] {
            let request = web_test::TestRequest::get().uri(path).to_request();
            let response = web_test::call_service(&app, request).await;
            assert_eq!(response.status(), 200, "{path}");
            let csp = response.headers().get("content-security-policy").unwrap();
            assert!(csp.to_str().unwrap().contains("script-src 'self';"));
            assert!(!csp.to_str().unwrap().contains("unsafe-inline"));
            assert!(response.headers().get("content-encoding").is_none());
            let body = web_test::read_body(response).await;
            assert!(body.starts_with(b"<!doctype html>"), "{path}");
        }

        let request = web_test::TestRequest::get()
            .uri("/assets/app.js")
            .insert_header(("accept-encoding", "br, gzip;q=0.8"))
            .to_request();
        let response = web_test::call_service(&app, request).await;
        assert_eq!(response.headers().get("content-encoding").unwrap(), "gzip");
        let etag = response.headers().get("etag").unwrap().clone();
        let zipped = web_test::read_body(response).await;
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&zipped[..]), &mut plain)
            .unwrap();
        assert_eq!(plain, include_bytes!("../assets/app.js"));

        let request = web_test::TestRequest::get()
            .uri("/assets/app.js")
            .insert_header(("if-none-match", etag))
            .to_request();
        assert_eq!(web_test::call_service(&app, request).await.status(), 304);

        let request = web_test::TestRequest::get()
            .uri("/assets/app.js")
            .insert_header(("accept-encoding", "gzip;q=0"))
            .to_request();
        let response = web_test::call_service(&app, request).await;
        assert!(response.headers().get("content-encoding").is_none());
    }

    #[actix_web::test]
    async fn unknown_assets_and_non_numeric_cluster_paths_are_not_pages() {
        let app = web_test::init_service(App::new().configure(configure)).await;
        for path in ["/assets/nope.js", "/assets/../Cargo.toml", "/clusters/x"] {
            let request = web_test::TestRequest::get().uri(path).to_request();
            assert_eq!(
                web_test::call_service(&app, request).await.status(),
                404,
                "{path}"
            );
        }
    }

    #[test]
    fn every_asset_is_small_once_compressed() {
        let total: usize = prepared().iter().map(|p| p.gzip.len()).sum();
        // The budget is 300 KB for everything; keep a wide margin.
        assert!(total < 100_000, "assets are {total} bytes gzipped");
    }
}
