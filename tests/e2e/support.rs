//! The harness of the end-to-end suite: a [`TestApp`] runs the real `rockscope serve` binary on
//! a temporary configuration (port 0, temporary database, 1 s interval) and talks to it over a
//! tiny HTTP/1.1 client on `std::net::TcpStream`, to 127.0.0.1 only.
//!
//! Every response body the app gives is recorded ([`TestApp::bodies`]) and the process's stdout
//! and stderr go to files ([`TestApp::logs`]), so that the secrets tests can search both.

use std::fmt::Write as _;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rockscope_sim::ClusterInfo;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How long the binary may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one HTTP exchange may take.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// Pause between two polls of a condition.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Polls `check` until it gives `Some`, failing the test with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(POLL_EVERY);
    }
}

/// An RFC 3339 time of a response.
pub fn parse_time(value: &Value) -> OffsetDateTime {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("expected an RFC 3339 string, got {value}"));
    OffsetDateTime::parse(text, &Rfc3339).unwrap_or_else(|e| panic!("bad time {text:?}: {e}"))
}

/// Whether `value` holds an object key named `key` at any depth.
pub fn has_key_anywhere(value: &Value, key: &str) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == key || has_key_anywhere(v, key)),
        Value::Array(items) => items.iter().any(|v| has_key_anywhere(v, key)),
        _ => false,
    }
}

/// A `[[clusters]]` entry of the configuration file.
#[derive(Debug, Clone)]
pub struct ConfigCluster {
    pub name: String,
    pub fe_hosts: Vec<String>,
    pub username: String,
    pub password: String,
}

impl ConfigCluster {
    /// The simulated cluster as served (its own name and credentials).
    pub fn from_sim(info: &ClusterInfo) -> ConfigCluster {
        ConfigCluster {
            name: info.name.clone(),
            fe_hosts: info.fe_hosts.clone(),
            username: info.username.clone(),
            password: info.password.clone(),
        }
    }
}

/// What a [`TestApp`] is started with.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// `server.host`.
    pub host: String,
    /// `server.api_token`.
    pub api_token: Option<String>,
    /// `[[clusters]]`.
    pub clusters: Vec<ConfigCluster>,
    /// `RUST_LOG` of the process.
    pub rust_log: String,
    /// Extra lines of the `[server]` section (`key = value`).
    pub server_lines: Vec<String>,
    /// Extra lines of the `[collector]` section (`key = value`).
    pub collector_lines: Vec<String>,
    /// The open-files soft limit the process starts with (`ulimit -Sn`), if not inherited.
    pub open_files: Option<u64>,
    /// Further sections appended to the file as they are (e.g. `[alerts]`).
    pub sections: Vec<String>,
}

impl Default for AppConfig {
    fn default() -> AppConfig {
        AppConfig {
            host: "127.0.0.1".to_owned(),
            api_token: None,
            clusters: Vec::new(),
            rust_log: "debug".to_owned(),
            server_lines: Vec::new(),
            collector_lines: Vec::new(),
            open_files: None,
            sections: Vec::new(),
        }
    }
}

impl AppConfig {
    pub fn token(mut self, token: &str) -> AppConfig {
        self.api_token = Some(token.to_owned());
        self
    }
    pub fn cluster(mut self, cluster: ConfigCluster) -> AppConfig {
        self.clusters.push(cluster);
        self
    }
    pub fn rust_log(mut self, spec: &str) -> AppConfig {
        self.rust_log = spec.to_owned();
        self
    }
    pub fn host(mut self, host: &str) -> AppConfig {
        self.host = host.to_owned();
        self
    }
    /// Adds `key = <value as a TOML string>` to `[server]`.
    pub fn server(mut self, key: &str, value: &str) -> AppConfig {
        let value = Value::String(value.to_owned()).to_string();
        self.server_lines.push(format!("{key} = {value}"));
        self
    }

    /// Adds `key = <value as a TOML string>` to `[collector]`.
    pub fn collector(mut self, key: &str, value: &str) -> AppConfig {
        let value = Value::String(value.to_owned()).to_string();
        self.collector_lines.push(format!("{key} = {value}"));
        self
    }

    /// Appends `toml` (whole sections) to the configuration file.
    pub fn section(mut self, toml: &str) -> AppConfig {
        self.sections.push(toml.to_owned());
        self
    }

    /// The TOML configuration file's text.
    fn toml(&self, db: &Path) -> String {
        // TOML basic strings accept JSON string escapes.
        let s = |text: &str| Value::String(text.to_owned()).to_string();
        let mut out = String::new();
        out.push_str(
            "[collector]\ninterval_secs = 1\nconnect_timeout_secs = 2\nrequest_timeout_secs = 3\n",
        );
        for line in &self.collector_lines {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
        let _ = writeln!(out, "[server]\nhost = {}\nport = 0", s(&self.host));
        if let Some(token) = &self.api_token {
            let _ = writeln!(out, "api_token = {}", s(token));
        }
        for line in &self.server_lines {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\n[storage]\npath = {}\n",
            s(db.to_str().expect("utf-8 temp path"))
        );
        for c in &self.clusters {
            let hosts: Vec<String> = c.fe_hosts.iter().map(|h| s(h)).collect();
            let _ = writeln!(
                out,
                "[[clusters]]\nname = {}\nfe_hosts = [{}]\nusername = {}\npassword = {}\n",
                s(&c.name),
                hosts.join(", "),
                s(&c.username),
                s(&c.password)
            );
        }
        for section in &self.sections {
            let _ = writeln!(out, "{section}");
        }
        out
    }
}

/// Which `Authorization` header a request carries.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// The app's configured token, if any.
    App,
    /// No header.
    Without,
    /// `Bearer <this>`.
    Bearer(&'a str),
}

/// One HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.body
        );
        self.json()
    }

    /// Asserts the documented error shape `{"error": {"code", "message"}}` (nothing else) with
    /// this status and code; returns the message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> String {
        let body = self.expect(status);
        assert!(
            self.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "error without a JSON content type: {:?}",
            self.headers
        );
        let outer = body.as_object().expect("error body is an object");
        assert_eq!(outer.len(), 1, "error body has extra keys: {body}");
        let error = body["error"].as_object().expect("`error` is an object");
        assert_eq!(error.len(), 2, "`error` has extra keys: {body}");
        assert_eq!(error["code"], code, "{body}");
        let message = error["message"].as_str().expect("message is a string");
        assert!(!message.is_empty(), "{body}");
        message.to_owned()
    }
}

static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A private temporary folder, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        let path = std::env::temp_dir().join(format!(
            "rockscope-e2e-{tag}-{}-{}-{nanos}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// `rockscope` with a clean environment: no `ROCKSCOPE_*` override of the test's config.
pub fn rockscope_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rockscope"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("ROCKSCOPE_") {
            command.env_remove(&key);
        }
    }
    command
}

/// A running `rockscope serve`.
pub struct TestApp {
    config: AppConfig,
    child: Child,
    addr: SocketAddr,
    token: Option<String>,
    dir: TempDir,
    bodies: Mutex<Vec<String>>,
}

impl TestApp {
    /// Starts the binary and waits for its address.
    pub fn start(config: AppConfig) -> TestApp {
        TestApp::start_in(config, TempDir::new("app"))
    }

    /// Stops the binary with SIGTERM (waiting for it to exit), then starts it again on the same
    /// configuration, folder and database.
    pub fn restart(mut self) -> TestApp {
        self.stop();
        let config = self.config.clone();
        let dir = std::mem::replace(&mut self.dir, TempDir(PathBuf::new()));
        drop(self);
        TestApp::start_in(config, dir)
    }

    /// Sends SIGTERM and waits (up to 10 s) for the process to exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(POLL_EVERY);
        }
        panic!(
            "rockscope did not exit within 10 s of SIGTERM:\n{}",
            self.logs()
        );
    }

    fn start_in(config: AppConfig, dir: TempDir) -> TestApp {
        let child = spawn(&config, &dir);
        let mut app = TestApp {
            config: config.clone(),
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: config.api_token.clone(),
            dir,
            bodies: Mutex::new(Vec::new()),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let stdout = app.dir.path().join("stdout.log");
        let first_line = loop {
            let text = fs::read_to_string(&stdout).unwrap_or_default();
            if let Some((line, _)) = text.split_once('\n') {
                break line.to_owned();
            }
            if let Ok(Some(status)) = app.child.try_wait() {
                panic!("rockscope exited at start ({status}):\n{}", app.logs());
            }
            assert!(
                Instant::now() < deadline,
                "rockscope printed no address within {START_TIMEOUT:?}:\n{}",
                app.logs()
            );
            std::thread::sleep(POLL_EVERY);
        };
        let addr = first_line
            .strip_prefix("rockscope listening on http://")
            .unwrap_or_else(|| panic!("unexpected first stdout line {first_line:?}"));
        app.addr = addr.parse().expect("socket address");
        assert!(app.addr.ip().is_loopback(), "bound to {}", app.addr);
        app
    }

    /// Starts the binary with a configuration it must refuse; returns its exit status and its
    /// stdout + stderr once it has exited.
    pub fn start_expecting_exit(config: AppConfig) -> (ExitStatus, String) {
        let dir = TempDir::new("refused");
        let mut child = spawn(&config, &dir);
        let deadline = Instant::now() + START_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "rockscope did not exit within {START_TIMEOUT:?}:\n{}",
                    read_logs(dir.path())
                );
            }
            std::thread::sleep(POLL_EVERY);
        };
        (status, read_logs(dir.path()))
    }

    /// stdout, then stderr, as captured so far.
    pub fn logs(&self) -> String {
        read_logs(self.dir.path())
    }

    /// The app's database file.
    pub fn database_path(&self) -> PathBuf {
        self.dir.path().join("rockscope.db")
    }

    /// Every response body received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, None, Auth::App)
    }
    pub fn get_with(&self, path: &str, auth: Auth<'_>) -> Response {
        self.request("GET", path, None, auth)
    }
    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request("POST", path, Some(body.to_string().as_bytes()), Auth::App)
    }
    pub fn post_raw(&self, path: &str, body: &[u8], auth: Auth<'_>) -> Response {
        self.request("POST", path, Some(body), auth)
    }
    pub fn put_json(&self, path: &str, body: &Value) -> Response {
        self.request("PUT", path, Some(body.to_string().as_bytes()), Auth::App)
    }
    pub fn delete(&self, path: &str) -> Response {
        self.request("DELETE", path, None, Auth::App)
    }

    /// One request on a fresh connection (`Connection: close`); a JSON body when `body` is set.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        auth: Auth<'_>,
    ) -> Response {
        let token = match auth {
            Auth::App => self.token.as_deref(),
            Auth::Without => None,
            Auth::Bearer(t) => Some(t),
        };
        let header = token.map(|t| ("Authorization", format!("Bearer {t}")));
        self.send(
            method,
            path,
            body,
            header.as_ref().map(|(k, v)| (*k, v.as_str())),
        )
    }

    /// A `GET` with the app's token and one more header, `name: value` (and no other `Accept`
    /// than one given there).
    pub fn get_with_header(&self, path: &str, name: &str, value: &str) -> Response {
        let mut head = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n{name}: {value}\r\n",
            self.addr
        );
        if let Some(token) = &self.token {
            let _ = write!(head, "Authorization: Bearer {token}\r\n");
        }
        head.push_str("\r\n");
        self.exchange("GET", path, head.as_bytes())
    }

    /// A request without body whose only extra header is `name: value`.
    pub fn request_with_header(
        &self,
        method: &str,
        path: &str,
        name: &str,
        value: &str,
    ) -> Response {
        self.send(method, path, None, Some((name, value)))
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `bytes` as they are on a fresh connection; everything the server sent back until
    /// it closed (or the I/O timeout).
    pub fn raw_exchange(&self, bytes: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let _ = stream.write_all(bytes);
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        raw
    }

    /// [`TestApp::raw_exchange`], and the first response in what came back.
    pub fn raw_request(&self, bytes: &[u8]) -> Response {
        let raw = self.raw_exchange(bytes);
        parse_response(&raw)
            .unwrap_or_else(|| panic!("bad response {:?}", String::from_utf8_lossy(&raw)))
    }

    /// A request without body and token whose `Host` header is `host`.
    pub fn request_with_host(&self, method: &str, path: &str, host: &str) -> Response {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        );
        self.exchange(method, path, head.as_bytes())
    }

    /// A `POST` of `body` as `content_type` (with the app's token).
    pub fn post_typed(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(token) = &self.token {
            let _ = write!(head, "Authorization: Bearer {token}\r\n");
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.exchange("POST", path, &bytes)
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        header: Option<(&str, &str)>,
    ) -> Response {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\n",
            self.addr
        );
        if let Some((name, value)) = header {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        match body {
            Some(b) => {
                let _ = write!(
                    head,
                    "Content-Type: application/json\r\nContent-Length: {}\r\n",
                    b.len()
                );
            }
            None if method != "GET" => head.push_str("Content-Length: 0\r\n"),
            None => {}
        }
        head.push_str("\r\n");

        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.unwrap_or_default());
        self.exchange(method, path, &bytes)
    }

    /// Sends `bytes` on a fresh connection and reads the answer to the end.
    fn exchange(&self, method: &str, path: &str, bytes: &[u8]) -> Response {
        let mut stream = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.addr));
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        // The server may answer (413, 401) and stop reading before the whole body is sent: a
        // failed write is fine as long as the answer can be read.
        let _ = stream.write_all(bytes);
        let mut raw = Vec::new();
        let read = stream.read_to_end(&mut raw);
        if raw.is_empty() {
            panic!("{method} {path}: no response ({read:?})");
        }
        let response = parse_response(&raw).unwrap_or_else(|| {
            panic!(
                "{method} {path}: bad response {:?}",
                String::from_utf8_lossy(&raw)
            )
        });
        self.bodies.lock().unwrap().push(response.body.clone());
        response
    }

    /// The id of the cluster named `name` (from `GET /api/clusters`).
    pub fn cluster_id(&self, name: &str) -> i64 {
        let list = self.get("/api/clusters").expect(200);
        list.as_array()
            .expect("cluster list")
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_i64())
            .unwrap_or_else(|| panic!("no cluster named {name}: {list}"))
    }

    /// Raw snapshots (oldest first) of the last hour, whole rows.
    pub fn snapshots(&self, id: i64) -> Vec<Value> {
        let body = self
            .get(&format!("/api/clusters/{id}/snapshots"))
            .expect(200);
        body["snapshots"].as_array().expect("snapshots").clone()
    }

    /// Waits until cluster `id` has at least `n` snapshots; returns them.
    pub fn wait_for_snapshots(&self, id: i64, n: usize, timeout: Duration) -> Vec<Value> {
        wait_for(&format!("{n} snapshots of cluster {id}"), timeout, || {
            let rows = self.snapshots(id);
            (rows.len() >= n).then_some(rows)
        })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(config: &AppConfig, dir: &TempDir) -> Child {
    let config_path = dir.path().join("rockscope.toml");
    fs::write(&config_path, config.toml(&dir.path().join("rockscope.db"))).expect("write config");
    let stdout = fs::File::create(dir.path().join("stdout.log")).expect("stdout file");
    let stderr = fs::File::create(dir.path().join("stderr.log")).expect("stderr file");
    let mut command = rockscope_command();
    if let Some(limit) = config.open_files {
        // The same program through `sh`, which lowers the soft limit first.
        let program = command.get_program().to_owned();
        command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -Sn {limit} && exec \"$0\" \"$@\""))
            .arg(program);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("ROCKSCOPE_") {
                command.env_remove(&key);
            }
        }
    }
    command
        .arg("--config")
        .arg(&config_path)
        .arg("serve")
        .env("RUST_LOG", &config.rust_log)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("spawn rockscope")
}

fn read_logs(dir: &Path) -> String {
    let out = fs::read_to_string(dir.join("stdout.log")).unwrap_or_default();
    let err = fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    format!("--- stdout ---\n{out}--- stderr ---\n{err}")
}

/// Status line, headers and body (`Content-Length`, chunked or read to the end).
pub fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut rest = rest;
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&rest[..end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        out
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse().ok()?;
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

/// The object's keys, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("expected an object, got {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    names.sort();
    names
}

pub const PERFORMANCE_TRENDS: [&str; 6] = [
    "qps",
    "rps",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "error_rate",
];
pub const RESOURCE_TRENDS: [&str; 8] = [
    "cpu_usage",
    "memory_usage",
    "disk_usage",
    "jvm_heap_usage",
    "network_send_rate",
    "network_receive_rate",
    "io_read_rate",
    "io_write_rate",
];

/// The documented shape of a collector status entry.
#[track_caller]
pub fn assert_collector_entry_shape(entry: &Value) {
    assert_eq!(
        keys(entry),
        sorted(&[
            "cluster_id",
            "cluster_name",
            "last_attempt_at",
            "last_success_at",
            "last_error",
            "consecutive_failures",
            "last_duration_ms",
            "node_failures",
            "shard"
        ]),
        "{entry}"
    );
    assert!(entry["cluster_id"].is_i64());
    assert!(entry["node_failures"].is_array());
}

/// The documented shape of one cluster's overview (keys of every level).
#[track_caller]
pub fn assert_overview_shape(overview: &Value) {
    assert_eq!(
        keys(overview),
        sorted(&[
            "cluster_id",
            "cluster_name",
            "time_range",
            "latest_snapshot",
            "performance_trends",
            "resource_trends",
            "statistics",
            "custom_trends",
            "custom_statistics",
            "collector"
        ])
    );
    assert_eq!(
        keys(&overview["performance_trends"]),
        sorted(&PERFORMANCE_TRENDS)
    );
    assert_eq!(keys(&overview["resource_trends"]), sorted(&RESOURCE_TRENDS));
    let all: Vec<&str> = PERFORMANCE_TRENDS
        .iter()
        .chain(&RESOURCE_TRENDS)
        .copied()
        .collect();
    assert_eq!(keys(&overview["statistics"]), sorted(&all));
    for name in all {
        assert_eq!(
            keys(&overview["statistics"][name]),
            sorted(&["count", "avg", "max", "min"]),
            "statistics.{name}"
        );
    }
    assert_collector_entry_shape(&overview["collector"]);
}
