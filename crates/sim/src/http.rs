//! A minimal HTTP/1.1 server side: request parsing with hard caps, response heads.
//!
//! Hand-written rather than hyper/axum because fault injection needs the raw socket: lying
//! `Content-Length`, hanging after accept, closing a listener on demand, streaming a huge body.
//! Supported: request line + headers (capped at [`MAX_HEAD`]), `Content-Length` request bodies
//! (capped, discarded), keep-alive (HTTP/1.1 default, `Connection: close` honoured, HTTP/1.0
//! closes unless `keep-alive`), pipelining. Not supported (answered with 400 and closed): chunked
//! request bodies, oversized heads/bodies, malformed request lines.

use tokio::io::{AsyncRead, AsyncReadExt};

/// Longest accepted request head (request line + headers).
pub(crate) const MAX_HEAD: usize = 16 * 1024;
/// Longest accepted request body (discarded).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// A parsed request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// Percent-decoded path without the query string.
    pub(crate) path: String,
    /// Percent-decoded query parameters in order.
    pub(crate) query: Vec<(String, String)>,
    pub(crate) keep_alive: bool,
    pub(crate) authorization: Option<String>,
}

impl Request {
    /// First value of a query parameter.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Outcome of reading one request.
#[derive(Debug)]
pub(crate) enum Read {
    Request(Request),
    /// The peer closed the connection cleanly between requests.
    Closed,
    /// Malformed or too large: answer 400 and close.
    Bad(&'static str),
}

fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    buf[start..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| start + p + 4)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decoding (`+` as space in query components).
pub(crate) fn pct_decode(s: &str, plus_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_head(head: &[u8]) -> Result<(Request, usize), &'static str> {
    let text = std::str::from_utf8(head).map_err(|_| "non-UTF-8 request head")?;
    let mut lines = text.split("\r\n");
    let line = lines.next().ok_or("empty request")?;
    let mut parts = line.split(' ');
    let method = parts.next().filter(|m| !m.is_empty()).ok_or("no method")?;
    let target = parts
        .next()
        .filter(|t| t.starts_with('/'))
        .ok_or("bad target")?;
    let version = parts.next().ok_or("no version")?;
    if parts.next().is_some() || !method.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err("bad request line");
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err("unsupported HTTP version"),
    };
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let query = raw_query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k, true), pct_decode(v, true))
        })
        .collect();
    let mut req = Request {
        method: method.to_string(),
        path: pct_decode(raw_path, false),
        query,
        keep_alive: http11,
        authorization: None,
    };
    let mut body_len = 0usize;
    for h in lines {
        if h.is_empty() {
            continue;
        }
        let (name, value) = h.split_once(':').ok_or("malformed header")?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                req.keep_alive = false;
            } else if v.contains("keep-alive") {
                req.keep_alive = true;
            }
        } else if name.eq_ignore_ascii_case("authorization") {
            req.authorization = Some(value.to_string());
        } else if name.eq_ignore_ascii_case("content-length") {
            body_len = value.parse().map_err(|_| "bad Content-Length")?;
            if body_len > MAX_BODY {
                return Err("request body too large");
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked request bodies are not supported");
        }
    }
    Ok((req, body_len))
}

/// Reads one request from `stream`, keeping surplus bytes (pipelining) in `buf`.
///
/// Cancel-safe: all progress lives in `buf`, so a `select!` may drop this future at any await.
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
) -> std::io::Result<Read> {
    let mut scanned = 0;
    loop {
        if let Some(end) = find_head_end(buf, scanned) {
            if end > MAX_HEAD {
                return Ok(Read::Bad("request head too large"));
            }
            let (req, body_len) = match parse_head(&buf[..end - 4]) {
                Ok(v) => v,
                Err(e) => return Ok(Read::Bad(e)),
            };
            if buf.len() >= end + body_len {
                buf.drain(..end + body_len);
                return Ok(Read::Request(req));
            }
        } else if buf.len() > MAX_HEAD {
            return Ok(Read::Bad("request head too large"));
        }
        scanned = buf.len();
        buf.reserve(4096);
        let n = stream.read_buf(buf).await?;
        if n == 0 {
            return if buf.iter().all(|b| b.is_ascii_whitespace()) {
                Ok(Read::Closed)
            } else {
                Ok(Read::Bad("connection closed mid-request"))
            };
        }
    }
}

/// Reason phrase of a status code.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// Appends a response head.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    content_type: Option<&str>,
    content_length: usize,
    close: bool,
    extra: &[(&str, &str)],
) {
    use std::io::Write;
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", status, reason(status));
    if let Some(ct) = content_type {
        let _ = write!(out, "Content-Type: {ct}\r\n");
    }
    let _ = write!(out, "Content-Length: {content_length}\r\n");
    for (k, v) in extra {
        let _ = write!(out, "{k}: {v}\r\n");
    }
    out.extend_from_slice(if close {
        b"Connection: close\r\n\r\n".as_slice()
    } else {
        b"Connection: keep-alive\r\n\r\n".as_slice()
    });
}

/// Decodes standard base64 (padding optional); `None` on invalid input.
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Encodes standard base64 with padding.
pub fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `user:password` from an `Authorization: Basic …` header.
pub(crate) fn basic_credentials(header: Option<&str>) -> Option<(String, String)> {
    let h = header?.trim();
    let (scheme, rest) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64_decode(rest.trim())?;
    let s = String::from_utf8(raw).ok()?;
    let (u, p) = s.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8]) -> Vec<String> {
        let mut stream = input;
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_request(&mut stream, &mut buf).await.unwrap() {
                Read::Request(r) => out.push(format!(
                    "{} {} {:?} {}",
                    r.method, r.path, r.query, r.keep_alive
                )),
                Read::Closed => break,
                Read::Bad(e) => {
                    out.push(format!("bad: {e}"));
                    break;
                }
            }
        }
        out
    }

    #[tokio::test]
    async fn parses_pipelined_requests_and_caps() {
        let got = read_all(
            b"GET /api/show_proc?path=%2Fbackends&forward=true HTTP/1.1\r\nHost: x\r\n\r\n\
              POST /sim/fault?cluster=a+b HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
        )
        .await;
        assert_eq!(
            got,
            vec![
                "GET /api/show_proc [(\"path\", \"/backends\"), (\"forward\", \"true\")] true",
                "POST /sim/fault [(\"cluster\", \"a b\")] false",
            ]
        );
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(
            read_all(big.as_bytes()).await,
            vec!["bad: request head too large"]
        );
        assert_eq!(read_all(b"GARBAGE\r\n\r\n").await, vec!["bad: bad target"]);
        assert_eq!(
            read_all(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await
                .len(),
            1
        );
        assert_eq!(
            read_all(b"GET /x HTTP/1.1\r\n").await,
            vec!["bad: connection closed mid-request"]
        );
        assert_eq!(read_all(b"\xff\xfe / HTTP/1.1\r\n\r\n").await.len(), 1);
    }

    #[test]
    fn base64_roundtrip_and_basic() {
        for s in ["", "r", "ro", "root:", "root:secret", "üser:pä"] {
            assert_eq!(
                base64_decode(&base64_encode(s.as_bytes())).unwrap(),
                s.as_bytes()
            );
        }
        let h = format!("Basic {}", base64_encode(b"root:"));
        assert_eq!(
            basic_credentials(Some(&h)),
            Some(("root".into(), String::new()))
        );
        assert_eq!(basic_credentials(Some("Bearer x")), None);
        assert_eq!(basic_credentials(Some("Basic !!")), None);
        assert_eq!(pct_decode("%2F%zz%", false), "/%zz%");
    }
}
