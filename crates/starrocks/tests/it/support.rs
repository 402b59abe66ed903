//! Tiny HTTP servers on 127.0.0.1 (ephemeral ports) scripted per request.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rockscope_starrocks::NodeAddr;

/// Longest a test server lives or holds a hanging connection.
const MAX_LIFETIME: Duration = Duration::from_secs(20);

/// What the server does with one request.
pub enum Action {
    /// Write these bytes; keep the connection open for more requests.
    Respond(Vec<u8>),
    /// Write these bytes, then close the connection.
    RespondAndClose(Vec<u8>),
    /// Write these bytes (possibly nothing), then neither write nor close until the server stops.
    Hang(Vec<u8>),
}

/// One received request: the request line and headers, as text.
#[derive(Debug, Clone)]
pub struct Request {
    pub head: String,
}

impl Request {
    /// Path and query of the request line.
    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }

    /// A header's value (name matched case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

type Handler = dyn Fn(&Request) -> Action + Send + Sync;

pub struct Server {
    pub addr: NodeAddr,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(handler: impl Fn(&Request) -> Action + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let (stop, accepted, requests) = (stop.clone(), accepted.clone(), requests.clone());
            thread::spawn(move || {
                let born = Instant::now();
                while !stop.load(Ordering::SeqCst) && born.elapsed() < MAX_LIFETIME {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            let (stop, requests, handler) =
                                (stop.clone(), requests.clone(), handler.clone());
                            thread::spawn(move || serve(stream, &stop, &requests, &*handler));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Self {
            addr: NodeAddr::new("127.0.0.1", port),
            stop,
            accepted,
            requests,
        }
    }

    /// A server answering every request with the same bytes (keep-alive).
    pub fn always(response: Vec<u8>) -> Self {
        Self::start(move |_| Action::Respond(response.clone()))
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(
    mut stream: TcpStream,
    stop: &AtomicBool,
    requests: &Mutex<Vec<Request>>,
    handler: &Handler,
) {
    let born = Instant::now();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buffer = Vec::new();
    loop {
        // Read one request head.
        let head = loop {
            if let Some(end) = find(&buffer, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
                buffer.drain(..end + 4);
                break head;
            }
            if stop.load(Ordering::SeqCst) || born.elapsed() > MAX_LIFETIME {
                return;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        };
        let request = Request { head };
        requests.lock().unwrap().push(request.clone());
        match handler(&request) {
            Action::Respond(bytes) => {
                if stream.write_all(&bytes).is_err() {
                    return;
                }
            }
            Action::RespondAndClose(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Action::Hang(bytes) => {
                let _ = stream.write_all(&bytes);
                let _ = stream.flush();
                while !stop.load(Ordering::SeqCst) && born.elapsed() < MAX_LIFETIME {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A complete response with `Content-Length`.
pub fn response(status: u16, content_type: &str, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Other",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A 200 JSON response.
pub fn json(body: &str) -> Vec<u8> {
    response(200, "application/json", body.as_bytes())
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
pub fn closed_port() -> NodeAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    NodeAddr::new("127.0.0.1", port)
}

/// A fixture of `tests/data`.
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
