//! Fault modes injectable per node.

use std::time::Duration;

use crate::SimError;

/// What a node does wrong (or [`Fault::None`]). Set with [`crate::Simulator::set_fault`] or
/// `POST /sim/fault` on the control endpoint. Serving faults replace each other; `Restart` and
/// `Dead` are state changes (see each variant).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fault {
    /// Healthy: clears any serving fault and the `Dead` mark, reopens a closed listener.
    #[default]
    None,
    /// Process gone: the listener is closed (connection refused) and open connections are
    /// dropped. The port stays reserved by a bound, non-listening socket (which also refuses)
    /// so nobody else can take it. The node shows `Alive=false` in `show_proc`. `None` reopens
    /// the same address.
    Down,
    /// Accepts connections and reads requests but never answers.
    Hang,
    /// Answers normally after the given delay.
    Slow(Duration),
    /// `500 Internal Server Error` on every request.
    Http500,
    /// `401` with StarRocks' JSON body and `WWW-Authenticate: Basic realm=""` on every request.
    Unauthorized,
    /// `200` with a body that is neither Prometheus text nor valid JSON.
    Garbage,
    /// Announces the full `Content-Length`, sends half of the body, then closes.
    Truncated,
    /// `200` with a syntactically valid body of exactly this many bytes, streamed in chunks.
    Huge(usize),
    /// Process restart now: counters start again from zero, start time changes; leaves the node
    /// healthy (clears serving faults and `Dead`).
    Restart,
    /// Marked dead by the FE: `Alive=false` with an `ErrMsg` in `show_proc` and not counted
    /// alive in `/api/health`/`node_info`, while the node itself keeps serving.
    Dead,
    /// `403` whose plain-text body quotes the request's Basic credentials back, decoded and as
    /// sent: `Access denied for credentials user:password (Authorization: Basic …)`. A careless
    /// proxy or auth plug-in does this; the client must not pass it on.
    EchoCredentials,
    /// `200` whose plain-text body echoes the request head, headers included (`Authorization:
    /// Basic …` among them), as a debugging endpoint or a misrouted echo service would.
    EchoHeaders,
}

impl Fault {
    /// Parses a control-endpoint mode: `none|up|ok`, `down`, `hang`, `slow` (with `secs`),
    /// `http500|500`, `unauthorized|401`, `garbage`, `truncated`, `huge` (with `bytes`),
    /// `restart`, `dead`, `echo_credentials`, `echo_headers`.
    pub fn parse(mode: &str, secs: Option<f64>, bytes: Option<usize>) -> Result<Fault, SimError> {
        Ok(match mode.trim().to_ascii_lowercase().as_str() {
            "none" | "up" | "ok" | "clear" | "alive" => Fault::None,
            "down" => Fault::Down,
            "hang" => Fault::Hang,
            "slow" => {
                let s = secs.unwrap_or(5.0);
                if !(0.0..=86_400.0).contains(&s) {
                    return Err(SimError::Config(format!("bad slow delay {s}")));
                }
                Fault::Slow(Duration::from_secs_f64(s))
            }
            "http500" | "500" => Fault::Http500,
            "unauthorized" | "401" => Fault::Unauthorized,
            "garbage" => Fault::Garbage,
            "truncated" => Fault::Truncated,
            "huge" => Fault::Huge(bytes.unwrap_or(64 << 20)),
            "restart" => Fault::Restart,
            "dead" => Fault::Dead,
            "echo_credentials" => Fault::EchoCredentials,
            "echo_headers" => Fault::EchoHeaders,
            other => return Err(SimError::Config(format!("unknown fault mode {other:?}"))),
        })
    }
}
