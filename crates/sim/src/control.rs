//! The HTTP control endpoint (separate address; never part of a simulated node).
//!
//! * `POST /sim/fault?cluster=C&node=be0&mode=down|up|none|hang|slow|http500|unauthorized|garbage|truncated|huge|restart|dead|echo_credentials|echo_headers[&secs=S][&bytes=N]`
//! * `POST /sim/condition?cluster=C[&node=be0]&kind=K&value=V[&path=I][&task=T][&begin=B&failed=F][&need_schedule=N&paused=P&unstable=U]`
//!   sets a [`crate::Condition`] (`kind` as in [`crate::Condition::parse`]; no `node`: every
//!   node it concerns, or the cluster's);
//!   `POST /sim/condition?cluster=C[&node=be0]&clear=K[&task=T]` ends one, `&clear=all` every
//!   condition of the cluster
//! * `POST /sim/leader?cluster=C&node=fe1`
//! * `POST /sim/clock?offset_secs=S` or `?manual=UNIX_SECS` or `?manual=off`
//! * `GET /sim/clusters` — clusters and nodes as JSON
//! * `GET /sim/truth?cluster=C&from=UNIX_SECS&to=UNIX_SECS` — [`crate::GroundTruth`] as JSON
//!
//! Answers `200 ok`/JSON, or `400` with the error text.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::http::{self, Read, Request};
use crate::state::World;
use crate::{Condition, Fault, NodeId, SimError, truth};

pub(crate) async fn serve(world: Arc<World>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                tokio::spawn(connection(world.clone(), s));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn connection(world: Arc<World>, mut s: TcpStream) {
    let mut buf = Vec::new();
    loop {
        let req = match tokio::time::timeout(
            Duration::from_secs(60),
            http::read_request(&mut s, &mut buf),
        )
        .await
        {
            Ok(Ok(Read::Request(r))) => r,
            Ok(Ok(Read::Bad(m))) => {
                let mut out = Vec::new();
                crate::server::write_simple(&mut out, 400, m);
                let _ = s.write_all(&out).await;
                return;
            }
            _ => return,
        };
        let (status, ct, body) = match handle(&world, &req).await {
            Ok((ct, body)) => (200, ct, body),
            Err(e) => (400, "text/plain", e.to_string()),
        };
        let mut out = Vec::new();
        http::write_head(&mut out, status, Some(ct), body.len(), !req.keep_alive, &[]);
        out.extend_from_slice(body.as_bytes());
        if s.write_all(&out).await.is_err() || !req.keep_alive {
            let _ = s.shutdown().await;
            return;
        }
    }
}

fn param<'a>(req: &'a Request, name: &str) -> Result<&'a str, SimError> {
    req.param(name)
        .ok_or_else(|| SimError::Config(format!("missing query parameter {name:?}")))
}

fn num(req: &Request, name: &str) -> Result<Option<f64>, SimError> {
    req.param(name)
        .map(|v| {
            v.parse::<f64>()
                .map_err(|_| SimError::Config(format!("bad number for {name}")))
        })
        .transpose()
}

/// `POST /sim/condition`: set one, clear one, or clear all.
fn condition(world: &World, req: &Request) -> Result<(), SimError> {
    let cluster = param(req, "cluster")?;
    let node: Option<NodeId> = req.param("node").map(str::parse).transpose()?;
    let number = |name: &str| req.param(name).and_then(|v| v.parse::<f64>().ok());
    let text = |name: &str| req.param(name).map(str::to_owned);
    match req.param("clear") {
        Some("all") => world.clear_conditions(cluster),
        Some(kind) => {
            // Any value names the kind; only its timeline is cleared.
            let kind = Condition::parse(kind, |_| Some(0.0), text)?.kind();
            world.apply_condition(cluster, node, kind, None)
        }
        None => {
            let c = Condition::parse(param(req, "kind")?, number, text)?;
            world.apply_condition(cluster, node, c.kind(), Some(c))
        }
    }
}

async fn handle(world: &World, req: &Request) -> Result<(&'static str, String), SimError> {
    let mutating = matches!(
        req.path.as_str(),
        "/sim/fault" | "/sim/leader" | "/sim/clock" | "/sim/condition"
    );
    if mutating && req.method != "POST" {
        return Err(SimError::Config("use POST".into()));
    }
    match req.path.as_str() {
        "/sim/fault" => {
            let cluster = param(req, "cluster")?;
            let node: NodeId = param(req, "node")?.parse()?;
            let bytes = num(req, "bytes")?.map(|b| b.max(0.0) as usize);
            let fault = Fault::parse(param(req, "mode")?, num(req, "secs")?, bytes)?;
            world.apply_fault(cluster, node, fault)?;
            // Let the listener follow before answering, without blocking a worker thread.
            for _ in 0..5_000 {
                if world.listener_settled(cluster, node) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(("text/plain", "ok".into()))
        }
        "/sim/condition" => {
            condition(world, req)?;
            Ok(("text/plain", "ok".into()))
        }
        "/sim/leader" => {
            let node: NodeId = param(req, "node")?.parse()?;
            world.apply_leader(param(req, "cluster")?, node)?;
            Ok(("text/plain", "ok".into()))
        }
        "/sim/clock" => {
            if let Some(off) = num(req, "offset_secs")? {
                world.clock.set_offset_ns((off * 1e9) as i64);
            }
            match req.param("manual") {
                Some("off") | Some("") => world.clock.set_manual(None),
                Some(v) => {
                    let s: f64 = v
                        .parse()
                        .map_err(|_| SimError::Config("bad manual".into()))?;
                    world.clock.set_manual(Some((s * 1e9) as i64));
                }
                None => {}
            }
            Ok(("text/plain", "ok".into()))
        }
        "/sim/clusters" => {
            let list: Vec<serde_json::Value> = world
                .infos()
                .into_iter()
                .map(|c| {
                    serde_json::json!({
                        "name": c.name,
                        "version": c.version.as_str(),
                        "username": c.username,
                        "password": c.password,
                        "fe_hosts": c.fe_hosts,
                        "nodes": c.nodes.iter().map(|n| serde_json::json!({
                            "id": n.id.to_string(),
                            "addr": n.addr.to_string(),
                            "is_leader": n.is_leader,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Ok((
                "application/json",
                serde_json::Value::Array(list).to_string(),
            ))
        }
        "/sim/truth" => {
            let cl = world.find(param(req, "cluster")?)?;
            let from = num(req, "from")?.ok_or_else(|| SimError::Config("missing from".into()))?;
            let to = num(req, "to")?.ok_or_else(|| SimError::Config("missing to".into()))?;
            let (a, b) = ((from * 1e9) as i64, (to * 1e9) as i64);
            if a >= b {
                return Err(SimError::InvalidWindow);
            }
            Ok((
                "application/json",
                truth::compute(cl, a, b).to_json().to_string(),
            ))
        }
        _ => Err(SimError::Config(format!("no control route {}", req.path))),
    }
}
