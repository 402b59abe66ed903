//! A real Prometheus for the tests (Debian's `prometheus` 2.42, `/usr/bin/prometheus`, installed
//! by `.ci/run`), on a loopback port with its own data folder: it scrapes rockscope's `/metrics`,
//! or receives remote write, or both; the tests read it through its HTTP query API.

// Parts are used only by some tests.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::support::{TempDir, parse_response, wait_for};

/// Debian's Prometheus binary (package `prometheus`).
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
/// Debian's promtool (same package).
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// What the Prometheus does.
#[derive(Debug, Clone, Default)]
pub struct PrometheusOptions {
    /// A rockscope to scrape: its `host:port` and bearer token.
    pub scrape: Option<(String, Option<String>)>,
    /// The scrape interval (default 1 s).
    pub scrape_interval: Option<Duration>,
    /// Whether `/api/v1/write` accepts remote write (`--web.enable-remote-write-receiver`).
    pub remote_write_receiver: bool,
    /// The scrape job's `honor_labels`: keep the exposed `instance` label of the node series
    /// (the node's address) instead of renaming it `exported_instance`, as a dashboard by
    /// node wants (docs/GRAFANA.md).
    pub honor_labels: bool,
}

/// A running Prometheus; killed on drop. [`Prometheus::stop`] and [`Prometheus::start_again`]
/// keep its port and data, for an outage.
pub struct Prometheus {
    child: Option<Child>,
    port: u16,
    options: PrometheusOptions,
    dir: TempDir,
}

impl Prometheus {
    /// Starts it and waits until it is ready.
    pub fn start(options: PrometheusOptions) -> Prometheus {
        assert!(
            std::path::Path::new(PROMETHEUS).exists(),
            "{PROMETHEUS} is missing: install Debian's prometheus package (.ci/run does)"
        );
        let dir = TempDir::new("prometheus");
        // A free port: bound, read, released (Prometheus takes an address, not a socket).
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let mut prometheus = Prometheus {
            child: None,
            port,
            options,
            dir,
        };
        prometheus.write_config();
        prometheus.start_again();
        prometheus
    }

    fn write_config(&self) {
        let interval = self
            .options
            .scrape_interval
            .unwrap_or(Duration::from_secs(1));
        let mut config = format!(
            "global:\n  scrape_interval: {0}ms\n  evaluation_interval: {0}ms\nscrape_configs:\n",
            interval.as_millis()
        );
        if let Some((target, token)) = &self.options.scrape {
            config.push_str(&format!(
                "  - job_name: rockscope\n    honor_labels: {}\n    static_configs:\n      - targets: [\"{target}\"]\n",
                self.options.honor_labels
            ));
            if let Some(token) = token {
                let file = self.dir.path().join("token");
                fs::write(&file, token).unwrap();
                config.push_str(&format!(
                    "    authorization:\n      credentials_file: {}\n",
                    file.display()
                ));
            }
        }
        fs::write(self.dir.path().join("prometheus.yml"), config).unwrap();
    }

    /// Starts it (again) on the same port and data, and waits until it is ready.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "Prometheus already runs");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("prometheus.log"))
            .unwrap();
        let mut command = Command::new(PROMETHEUS);
        command
            .arg(format!(
                "--config.file={}",
                self.dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            .arg("--web.enable-lifecycle");
        if self.options.remote_write_receiver {
            command.arg("--web.enable-remote-write-receiver");
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start Prometheus");
        self.child = Some(child);
        let port = self.port;
        wait_for("Prometheus ready", Duration::from_secs(30), || {
            http_get(port, "/-/ready")
                .filter(|(status, _)| *status == 200)
                .map(|_| ())
        });
    }

    /// Stops it (SIGKILL: its write-ahead log keeps what it had received).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its base URL, e.g. `http://127.0.0.1:9090`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its remote-write endpoint.
    pub fn remote_write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query: the `data.result` array (panics on an error answer, with the query).
    pub fn query(&self, promql: &str) -> Vec<Value> {
        self.api(&format!("/api/v1/query?query={}", encode(promql)))
    }

    /// A range query from `start` to `end` (Unix seconds) at `step` seconds: `data.result`.
    pub fn query_range(&self, promql: &str, start: f64, end: f64, step: f64) -> Vec<Value> {
        self.api(&format!(
            "/api/v1/query_range?query={}&start={start}&end={end}&step={step}",
            encode(promql)
        ))
    }

    /// The state of its scrape targets (`/api/v1/targets`, `data.activeTargets`).
    pub fn targets(&self) -> Vec<Value> {
        let (status, body) = http_get(self.port, "/api/v1/targets").expect("Prometheus answers");
        assert_eq!(status, 200, "{body}");
        let json: Value = serde_json::from_str(&body).unwrap();
        json["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn api(&self, path_and_query: &str) -> Vec<Value> {
        let (status, body) = http_get(self.port, path_and_query)
            .unwrap_or_else(|| panic!("Prometheus did not answer {path_and_query}"));
        let json: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path_and_query}: {e}: {body}"));
        assert!(
            status == 200 && json["status"] == "success",
            "{path_and_query}: {status} {body}"
        );
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET path` on the loopback port: status and body, or `None` when nothing answered.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let response = parse_response(&raw)?;
    Some((response.status, response.body))
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
