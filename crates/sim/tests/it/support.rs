//! Test-only helpers: a blocking HTTP client with byte-level visibility and a small
//! Prometheus text parser (tolerant of StarRocks' quirks).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rockscope_sim::base64_encode;

/// A response as received.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub content_length: Option<usize>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("valid JSON")
    }
    /// The body has the announced length.
    pub fn complete(&self) -> bool {
        self.content_length == Some(self.body.len())
    }
}

pub type Auth<'a> = Option<(&'a str, &'a str)>;

/// Sends raw bytes, reads until EOF (or timeout), parses one response.
pub fn raw(addr: SocketAddr, request: &[u8], timeout: Duration) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf)
}

pub fn parse_response(buf: &[u8]) -> std::io::Result<Resp> {
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no response head"))?;
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| bad("head not utf-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let content_length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok());
    Ok(Resp {
        status,
        headers,
        body: buf[end + 4..].to_vec(),
        content_length,
    })
}

pub fn request(method: &str, path: &str, auth: Auth<'_>) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\n");
    if let Some((u, p)) = auth {
        r.push_str(&format!(
            "Authorization: Basic {}\r\n",
            base64_encode(format!("{u}:{p}").as_bytes())
        ));
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// GET with `Connection: close`, 10 s timeout.
pub fn get(addr: SocketAddr, path: &str, auth: Auth<'_>) -> Resp {
    raw(addr, &request("GET", path, auth), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("GET http://{addr}{path}: {e}"))
}

pub fn post(addr: SocketAddr, path: &str) -> Resp {
    raw(addr, &request("POST", path, None), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("POST http://{addr}{path}: {e}"))
}

/// One sample line.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

impl Sample {
    pub fn label(&self, k: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses sample lines; panics on a malformed one (the simulator must never emit those).
pub fn parse_prom(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("line {}: no value: {line:?}", i + 1));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("line {}: bad value: {line:?}", i + 1));
        let (name, labels) = match series.split_once('{') {
            None => (series.to_string(), Vec::new()),
            Some((n, rest)) => {
                let inner = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("line {}: unclosed labels: {line:?}", i + 1));
                let mut labels = Vec::new();
                for part in inner.split(',') {
                    let part = part.trim_start();
                    let (k, v) = part
                        .split_once('=')
                        .unwrap_or_else(|| panic!("line {}: bad label: {line:?}", i + 1));
                    let v = v
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .unwrap_or_else(|| panic!("line {}: unquoted label: {line:?}", i + 1));
                    labels.push((k.to_string(), v.to_string()));
                }
                (n.to_string(), labels)
            }
        };
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "line {}: bad name {name:?}",
            i + 1
        );
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// Value of the first sample with this name and (subset of) labels.
pub fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == Some(v)))
        .map(|s| s.value)
}

/// Sum of all samples with this name whose labels match `filter`.
pub fn sum_where(samples: &[Sample], name: &str, filter: impl Fn(&Sample) -> bool) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name && filter(s))
        .map(|s| s.value)
        .sum()
}

/// Series key → value, for comparing two reads.
pub fn by_series(samples: &[Sample]) -> HashMap<String, f64> {
    samples
        .iter()
        .map(|s| (format!("{}{:?}", s.name, s.labels), s.value))
        .collect()
}

pub fn within(actual: f64, expected: f64, rel: f64) -> bool {
    if expected == 0.0 {
        return actual.abs() < 1e-9;
    }
    ((actual - expected) / expected).abs() <= rel
}

/// Names of series that must never decrease: `counter` families, summary `_sum`/`_count`,
/// and StarRocks' monotonic thread-pool gauges.
pub fn monotonic_names(text: &str) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
            continue;
        };
        match ty {
            "counter" => {
                out.insert(name.to_string());
            }
            "summary" => {
                // A Codahale summary's `_sum` is count × the decaying reservoir's mean
                // (`PrometheusMetricVisitor.visitHistogram`): it falls when the mean does.
                if !name.starts_with("starrocks_fe_query_latency_ms") {
                    out.insert(format!("{name}_sum"));
                }
                out.insert(format!("{name}_count"));
            }
            _ if name.ends_with("_executed_tasks_total") || name.ends_with("_time_ns_total") => {
                out.insert(name.to_string());
            }
            _ => {}
        }
    }
    out
}
