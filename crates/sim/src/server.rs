//! Listeners and connections: one acceptor task per node, one task per connection.
//!
//! The acceptor owns the node's `TcpListener` so that `Down` can really close it (connection
//! refused) and `None` can reopen it on the same address. Connection tasks read requests with
//! [`crate::http`], consult the node's fault, and write bytes themselves, which is what makes
//! hangs, lying `Content-Length`s and huge streamed bodies possible.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

use crate::http::{self, Read, Request};
use crate::state::{AuxPorts, ClusterState, NodeState, Placement, World, node_ids};
use crate::{BindMode, Fault, NodeKind, SimConfig, SimError, be_metrics, fe_metrics, show_proc};

/// Keep-alive connections idle longer than this are closed.
const IDLE: Duration = Duration::from_secs(120);

/// Binds every node listener. Returns per cluster the placements with their listeners, plus
/// human-readable notes about address fallbacks.
pub(crate) async fn bind_all(
    config: &SimConfig,
) -> Result<(Vec<Vec<(Placement, TcpListener)>>, Vec<String>), SimError> {
    let mut all = Vec::with_capacity(config.clusters.len());
    let mut notes = Vec::new();
    for (ci, spec) in config.clusters.iter().enumerate() {
        let mut nodes = Vec::with_capacity(spec.node_count());
        for (pos, id) in node_ids(spec).into_iter().enumerate() {
            let http_port = if id.kind == NodeKind::Fe { 8030 } else { 8040 };
            let (listener, shared_ip) = match config.bind {
                BindMode::Ports => (bind_one(Ipv4Addr::LOCALHOST, 0).await?, true),
                BindMode::Addresses { base } => {
                    let fleet_index = config.first_index.saturating_add(ci);
                    let ip = u32::try_from(fleet_index)
                        .ok()
                        .and_then(|c| c.checked_mul(256)?.checked_add(pos as u32 + 1))
                        .and_then(|offset| u32::from(base).checked_add(offset))
                        .map(Ipv4Addr::from)
                        .filter(|ip| ip.octets()[0] == 127)
                        .ok_or_else(|| {
                            SimError::Config(format!("base address {base} leaves 127.0.0.0/8"))
                        })?;
                    if let Ok(l) = bind_one(ip, http_port).await {
                        (l, false)
                    } else if let Ok(l) = bind_one(ip, 0).await {
                        let a = l.local_addr().map_err(|e| SimError::Bind(e.to_string()))?;
                        notes.push(format!(
                            "{}/{id}: {ip}:{http_port} is taken, serving on {a}",
                            spec.name
                        ));
                        (l, false)
                    } else {
                        let l = bind_one(Ipv4Addr::LOCALHOST, 0).await?;
                        let a = l.local_addr().map_err(|e| SimError::Bind(e.to_string()))?;
                        notes.push(format!(
                            "{}/{id}: cannot bind {ip}, serving on {a} instead",
                            spec.name
                        ));
                        (l, true)
                    }
                }
            };
            let addr = listener
                .local_addr()
                .map_err(|e| SimError::Bind(e.to_string()))?;
            // Advertised non-HTTP ports: StarRocks' defaults, made distinct per node when
            // several nodes share one IP (otherwise `host:heartbeat_port` would collide).
            let off = if shared_ip { 10 * pos as u16 } else { 0 };
            let aux = if id.kind == NodeKind::Fe {
                AuxPorts {
                    a: 9010 + off,
                    b: 9030 + off,
                    c: 9020 + off,
                    d: 0,
                }
            } else {
                AuxPorts {
                    a: 9050 + off,
                    b: 9060 + off,
                    c: 8060 + off,
                    d: 9070 + off,
                }
            };
            nodes.push((Placement { id, addr, aux }, listener));
        }
        all.push(nodes);
    }
    Ok((all, notes))
}

async fn bind_one(ip: Ipv4Addr, port: u16) -> Result<TcpListener, SimError> {
    TcpListener::bind(SocketAddr::V4(SocketAddrV4::new(ip, port)))
        .await
        .map_err(|e| SimError::Bind(format!("{ip}:{port}: {e}")))
}

/// A bound but not listening socket: connections to it are refused, yet the port stays ours
/// (in `Ports` mode an ephemeral port could otherwise be handed to someone else while down).
fn reserve(addr: SocketAddr) -> Option<TcpSocket> {
    let sock = TcpSocket::new_v4().ok()?;
    sock.set_reuseaddr(true).ok()?;
    sock.bind(addr).ok()?;
    Some(sock)
}

/// Accept loop of one node; follows the node's fault (closing/reopening the listener).
pub(crate) async fn node_task(world: Arc<World>, ci: usize, pos: usize, first: TcpListener) {
    let node = &world.clusters[ci].nodes[pos];
    let mut rx = node.epoch.subscribe();
    let mut listener = Some(first);
    let mut reserved: Option<TcpSocket> = None;
    loop {
        let down = node.fault() == Fault::Down;
        if down && listener.is_some() {
            listener = None;
            reserved = reserve(node.addr);
            node.listening.store(false, Ordering::Release);
        }
        if !down && listener.is_none() {
            let reopened = match reserved.take() {
                Some(sock) => sock.listen(1024),
                None => TcpListener::bind(node.addr).await,
            };
            match reopened {
                Ok(l) => {
                    listener = Some(l);
                    node.listening.store(true, Ordering::Release);
                }
                Err(e) => {
                    log::warn!("rebinding {}: {e}; retrying", node.addr);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        match &listener {
            Some(l) => {
                tokio::select! {
                    r = l.accept() => match r {
                        Ok((s, _)) => {
                            tokio::spawn(connection(world.clone(), ci, pos, s));
                        }
                        // E.g. out of file descriptors: back off instead of spinning.
                        Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                    },
                    r = rx.changed() => if r.is_err() { return },
                }
            }
            None => {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Resolves when the node is (or goes) down: its connections must die with the "process".
/// Checks the state first, so a connection accepted just before `Down` (whose receiver never
/// saw the change) still closes.
async fn until_down(rx: &mut watch::Receiver<u64>, node: &NodeState) {
    loop {
        if node.fault() == Fault::Down {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What a route produced (the body is in the caller's buffer).
pub(crate) struct Meta {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) www_auth: bool,
}

const CT_TEXT: &str = "text/plain";
const CT_PROM: &str = "text/plain; version=0.0.4";
const CT_JSON: &str = "application/json";

fn unauthorized(body: &mut Vec<u8>, msg: &str) -> Meta {
    body.clear();
    body.extend_from_slice(
        format!("{{\"status\":\"FAILED\",\"code\":\"1\",\"msg\":\"{msg}\",\"message\":\"{msg}\"}}")
            .as_bytes(),
    );
    Meta {
        status: 401,
        content_type: Some(CT_JSON),
        www_auth: true,
    }
}

/// Basic auth as StarRocks checks it; `Err` carries the 401 message.
fn check_auth(cl: &ClusterState, req: &Request) -> Result<(), String> {
    match http::basic_credentials(req.authorization.as_deref()) {
        None => Err("Need auth information.".into()),
        Some((u, p)) if u == cl.spec.username && p == cl.spec.password => Ok(()),
        Some((u, _)) => Err(format!(
            "Access denied for user '{u}'@'127.0.0.1' (using password: YES)"
        )),
    }
}

/// Routes a request to the node's endpoints, writing the body into `body`.
pub(crate) fn route(
    cl: &ClusterState,
    n: &NodeState,
    req: &Request,
    t: i64,
    body: &mut Vec<u8>,
) -> Meta {
    let ok = |ct| Meta {
        status: 200,
        content_type: Some(ct),
        www_auth: false,
    };
    if req.method != "GET" && req.method != "HEAD" {
        body.extend_from_slice(b"Method Not Allowed");
        return Meta {
            status: 405,
            content_type: Some(CT_TEXT),
            www_auth: false,
        };
    }
    let fe = n.id.kind == NodeKind::Fe;
    match req.path.as_str() {
        "/metrics" => {
            if cl.spec.version.metrics_need_auth()
                && let Err(m) = check_auth(cl, req)
            {
                return unauthorized(body, &m);
            }
            if fe {
                fe_metrics::render(cl, n, t, body);
                ok(CT_TEXT)
            } else {
                be_metrics::render(cl, n, t, body);
                ok(CT_PROM)
            }
        }
        "/api/health" => {
            if fe {
                body.extend_from_slice(show_proc::fe_health(cl).as_bytes());
            } else {
                body.extend_from_slice(show_proc::BE_HEALTH.as_bytes());
            }
            ok(CT_JSON)
        }
        "/api/show_proc" if fe => {
            if let Err(m) = check_auth(cl, req) {
                return unauthorized(body, &m);
            }
            match show_proc::render(cl, req.param("path").unwrap_or(""), t) {
                Some(json) => {
                    body.extend_from_slice(json.as_bytes());
                    ok(CT_JSON)
                }
                // Unknown proc path: `[]` without a Content-Type, as StarRocks does.
                None => {
                    body.extend_from_slice(b"[]");
                    Meta {
                        status: 200,
                        content_type: None,
                        www_auth: false,
                    }
                }
            }
        }
        "/api/show_runtime_info" if fe => {
            body.extend_from_slice(show_proc::runtime_info(n, t).as_bytes());
            ok(CT_JSON)
        }
        _ => {
            body.extend_from_slice(b"Not Found");
            Meta {
                status: 404,
                content_type: Some(CT_TEXT),
                www_auth: false,
            }
        }
    }
}

/// Deterministic bytes that are neither Prometheus text nor JSON.
fn garbage(seed: u64, body: &mut Vec<u8>) {
    body.clear();
    body.extend_from_slice(b"\x89PNG\r\n\x1a\n<html><body>{\"status\": [oops ");
    let mut x = seed | 1;
    for _ in 0..2048 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.push((x >> 24) as u8);
    }
    body.extend_from_slice(b"\n}}} not_a_metric{{ 1 2 3\n");
}

/// Streams a syntactically valid body of exactly `size` bytes.
async fn stream_huge(s: &mut TcpStream, size: usize, json: bool) -> std::io::Result<()> {
    const LINE: &[u8] = b"starrocks_sim_filler_bytes{kind=\"huge\"} 1\n";
    let mut chunk = Vec::with_capacity(64 * 1024);
    let mut left = size;
    if json {
        // `["xxxx…"]`: one long string keeps the size exact and the JSON valid.
        if size < 4 {
            return s.write_all(&b"[]  "[..size]).await;
        }
        s.write_all(b"[\"").await?;
        left -= 4;
        chunk.resize(64 * 1024, b'x');
        while left > 0 {
            let n = left.min(chunk.len());
            s.write_all(&chunk[..n]).await?;
            left -= n;
        }
        return s.write_all(b"\"]").await;
    }
    while chunk.len() + LINE.len() <= 64 * 1024 {
        chunk.extend_from_slice(LINE);
    }
    while left >= chunk.len() {
        s.write_all(&chunk).await?;
        left -= chunk.len();
    }
    let whole = left / LINE.len() * LINE.len();
    s.write_all(&chunk[..whole]).await?;
    left -= whole;
    // Pad with a comment line (or a blank line) so the body ends on a newline.
    let mut tail = Vec::with_capacity(left);
    if left >= 2 {
        tail.push(b'#');
        tail.resize(left - 1, b' ');
    }
    if left >= 1 {
        tail.push(b'\n');
    }
    s.write_all(&tail).await
}

async fn connection(world: Arc<World>, ci: usize, pos: usize, mut s: TcpStream) {
    let cl = &world.clusters[ci];
    let node = &cl.nodes[pos];
    let _ = s.set_nodelay(true);
    let mut rx = node.epoch.subscribe();
    let mut inbuf = Vec::with_capacity(1024);
    let mut body = Vec::new();
    let mut out = Vec::new();
    loop {
        let read = tokio::select! {
            r = tokio::time::timeout(IDLE, http::read_request(&mut s, &mut inbuf)) => r,
            _ = until_down(&mut rx, node) => return,
        };
        let req = match read {
            Ok(Ok(Read::Request(r))) => r,
            Ok(Ok(Read::Bad(msg))) => {
                out.clear();
                write_simple(&mut out, 400, msg);
                let _ = s.write_all(&out).await;
                let _ = s.shutdown().await;
                return;
            }
            // Idle timeout, clean close or I/O error.
            _ => return,
        };
        let fault = node.fault();
        match fault {
            Fault::Down => return,
            Fault::Hang => {
                // Never answer: swallow input until the peer gives up or the fault changes.
                let mut scratch = [0u8; 1024];
                loop {
                    tokio::select! {
                        r = s.read(&mut scratch) => if matches!(r, Ok(0) | Err(_)) { return },
                        r = rx.changed() => if r.is_err() || node.fault() != Fault::Hang { return },
                    }
                }
            }
            Fault::Slow(d) => {
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = until_down(&mut rx, node) => return,
                }
            }
            _ => {}
        }
        let t = world.clock.now_ns();
        let close = !req.keep_alive;
        body.clear();
        out.clear();
        let head_only = req.method == "HEAD";
        match fault {
            Fault::Http500 => {
                body.extend_from_slice(b"Internal Server Error");
                http::write_head(&mut out, 500, Some(CT_TEXT), body.len(), close, &[]);
            }
            Fault::Unauthorized => {
                let m = unauthorized(
                    &mut body,
                    "Access denied; you need (at least one of) the ADMIN privilege(s) for this operation",
                );
                finish_head(&mut out, &m, body.len(), close);
            }
            Fault::EchoCredentials => {
                let (user, password) =
                    http::basic_credentials(req.authorization.as_deref()).unwrap_or_default();
                body.extend_from_slice(
                    format!(
                        "Access denied for credentials {user}:{password} (Authorization: {})",
                        req.authorization.as_deref().unwrap_or("")
                    )
                    .as_bytes(),
                );
                http::write_head(&mut out, 403, Some(CT_TEXT), body.len(), close, &[]);
            }
            Fault::EchoHeaders => {
                body.extend_from_slice(
                    format!("{} {} HTTP/1.1\r\n", req.method, req.path).as_bytes(),
                );
                if let Some(value) = &req.authorization {
                    body.extend_from_slice(format!("Authorization: {value}\r\n").as_bytes());
                }
                http::write_head(&mut out, 200, Some(CT_TEXT), body.len(), close, &[]);
            }
            Fault::Huge(size) => {
                let json = req.path.starts_with("/api/");
                let ct = if json {
                    CT_JSON
                } else if node.id.kind == NodeKind::Fe {
                    CT_TEXT
                } else {
                    CT_PROM
                };
                http::write_head(&mut out, 200, Some(ct), size, close, &[]);
                if s.write_all(&out).await.is_err() {
                    return;
                }
                if !head_only && stream_huge(&mut s, size, json).await.is_err() {
                    return;
                }
                if close {
                    let _ = s.shutdown().await;
                    return;
                }
                continue;
            }
            _ => {
                let mut m = route(cl, node, &req, t, &mut body);
                if fault == Fault::Garbage && m.status == 200 {
                    garbage(node.seed ^ t as u64, &mut body);
                    m.content_type = m.content_type.or(Some(CT_TEXT));
                }
                finish_head(&mut out, &m, body.len(), close || fault == Fault::Truncated);
                if m.status == 200 && !head_only && fault == Fault::None {
                    world.traffic.served(&req.path, &body);
                }
                if fault == Fault::Truncated {
                    // Announce the full length, deliver half, hang up.
                    out.extend_from_slice(&body[..body.len() / 2]);
                    let _ = s.write_all(&out).await;
                    let _ = s.shutdown().await;
                    return;
                }
            }
        }
        if !head_only {
            out.extend_from_slice(&body);
        }
        if s.write_all(&out).await.is_err() {
            return;
        }
        if close {
            let _ = s.shutdown().await;
            return;
        }
        // Large bodies: give memory back rather than keep 500 KB per idle connection.
        if body.capacity() > 1 << 20 {
            body = Vec::new();
        }
    }
}

fn finish_head(out: &mut Vec<u8>, m: &Meta, len: usize, close: bool) {
    let extra: &[(&str, &str)] = if m.www_auth {
        &[("WWW-Authenticate", "Basic realm=\"\"")]
    } else {
        &[]
    };
    http::write_head(out, m.status, m.content_type, len, close, extra);
}

/// A complete small text response.
pub(crate) fn write_simple(out: &mut Vec<u8>, status: u16, msg: &str) {
    http::write_head(out, status, Some(CT_TEXT), msg.len(), true, &[]);
    out.extend_from_slice(msg.as_bytes());
}
