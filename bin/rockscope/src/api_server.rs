//! The HTTP server of `serve`: the pages and the API on actix-server and actix-http, hardened
//! against hostile clients.
//!
//! It is assembled from actix-web's parts rather than with `HttpServer`, with the same settings
//! `HttpServer` would use, because `HttpServer` gives no access to a connection's stream, and
//! the stream is wrapped in [`JsonProtocolErrors`] (actix-http's own answers to requests it
//! cannot parse get the API's JSON error shape). The hardening: the open-files soft limit is
//! raised to the hard one and API connections may hold at most half of it, a request head must
//! arrive within [`HEAD_READ_TIMEOUT`] (the API cuts off a late body itself), and a stop waits
//! at most the given grace for open requests.

use std::net::SocketAddr;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive, Protocol};
use actix_server::Server;
use actix_service::{ServiceFactoryExt, fn_service, map_config};
use actix_web::App;
use actix_web::dev::AppConfig;
use actix_web::middleware::from_fn;
use actix_web::rt::net::TcpStream;
use rockscope_api::{ApiState, HEAD_READ_TIMEOUT};

use crate::protocol_errors::JsonProtocolErrors;

/// The API's worker threads.
const API_WORKERS: usize = 2;
/// The share of the open-files limit the API's connections may hold; the rest is for the
/// collector's connections to nodes, the database and logs.
const API_FD_SHARE: u64 = 2;
/// The listening socket's queue of connections not yet accepted (`HttpServer`'s default).
const BACKLOG: u32 = 1024;
/// How long a response may take to be sent on a connection being closed (`HttpServer`'s
/// default).
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Serves `state` on `listener` (from [`listener`]) and returns the server, not yet started:
/// poll or spawn it. A stop waits at most `grace` for open requests.
pub fn serve(
    state: ApiState,
    listener: std::net::TcpListener,
    grace: Duration,
) -> std::io::Result<Server> {
    let bound = listener.local_addr()?;
    let builder = Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(API_WORKERS)
        .max_concurrent_connections(api_connection_limit())
        .disable_signals()
        .shutdown_timeout(grace.as_secs())
        .listen("rockscope-api", listener, move || {
            // The pages first, then the API, whose JSON 404 is the default for every other path.
            // Every request, pages too, is timed by its route into rockscope's own metrics.
            let app = App::new()
                .wrap(from_fn(rockscope_api::observe_request))
                .configure(rockscope_web::configure)
                .configure(rockscope_api::configure(state.clone()));
            let shutdown = shutdown.clone();
            let http = HttpService::build()
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(HEAD_READ_TIMEOUT)
                .client_disconnect_timeout(DISCONNECT_TIMEOUT)
                .local_addr(bound)
                // No handler reads the host or address of the app's configuration (the `Host`
                // check reads the header), so its defaults do.
                .finish(map_config(app, |_| AppConfig::default()));
            fn_service(|io: TcpStream| async move {
                let peer = io.peer_addr().ok();
                Ok((JsonProtocolErrors::new(io), Protocol::Http1, peer))
            })
            .and_then(http)
        })?
        .run();
    Ok(server)
}

/// A listening socket on `addr` with [`BACKLOG`] (std's `TcpListener::bind` queues only 128).
pub fn listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)?.into_std()
}

/// Raises the open-files soft limit to the hard one and returns the API's connection limit per
/// worker: half the descriptors in all, so that clients holding connections open can never
/// take the ones the collector, the database and new `/health` requests need.
fn api_connection_limit() -> usize {
    let nofile = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft);
            log::warn!("cannot raise the open-files limit, keeping it. limit={soft} error={e}");
            soft
        }
    };
    let per_worker = (nofile / API_FD_SHARE / API_WORKERS as u64).clamp(16, 25_000);
    log::info!(
        "API connections limited. open_files_limit={nofile} max_connections_per_worker={per_worker}"
    );
    usize::try_from(per_worker).unwrap_or(25_000)
}
