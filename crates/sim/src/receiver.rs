//! A notification receiver for tests: an HTTP endpoint on loopback that records every request
//! (an Alertmanager's webhook, rockscope's own webhook or Alertmanager API calls) and answers as
//! told: normally, with an error status, or not at all.
//!
//! It plays the far side of alert delivery the way the simulator plays StarRocks: tests point
//! a webhook or an Alertmanager's `webhook_configs` at [`Receiver::url`] and wait for what
//! arrives with [`Receiver::wait_for`]. Blocking threads, std only: one accept loop and one
//! thread per connection (tests open few).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::SimError;

/// The largest request body kept; a longer one is answered 413 and not recorded.
const MAX_BODY: usize = 4 * 1024 * 1024;
/// The longest request head.
const MAX_HEAD: usize = 64 * 1024;

/// One request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// `POST`, `GET`, ….
    pub method: String,
    /// The path and query as sent.
    pub target: String,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bodies only).
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, `Null` when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// How the receiver answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Answer {
    /// `200 OK` with an empty JSON object.
    #[default]
    Ok,
    /// This status (e.g. 503, 429, 400) with a short text body; the request is still recorded.
    Status(u16),
    /// This status with these extra headers (e.g. `Retry-After`) and this body.
    Reply {
        /// The status code.
        status: u16,
        /// Extra response headers.
        headers: Vec<(String, String)>,
        /// The body (e.g. an error text that echoes a credential back).
        body: String,
    },
    /// Reads the request, records it, and never answers (the connection stays open).
    Hang,
}

impl Answer {
    /// [`Answer::Reply`] without extra headers.
    pub fn reply(status: u16, body: &str) -> Answer {
        Answer::Reply {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<ReceivedRequest>>,
    arrived: Condvar,
    /// Answers to give first, in order.
    script: Mutex<std::collections::VecDeque<Answer>>,
    /// The answer once the script has run out.
    answer: Mutex<Answer>,
    stopped: AtomicBool,
}

/// A recording HTTP endpoint on 127.0.0.1 (ephemeral port); stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Receiver {
    /// Starts listening on an ephemeral loopback port, answering [`Answer::Ok`].
    pub fn start() -> Result<Receiver, SimError> {
        Receiver::start_scripted(Vec::new())
    }

    /// Starts listening and answers the first requests with `script`, in order, then as set by
    /// [`Receiver::set_answer`] (`Ok` unless changed).
    pub fn start_scripted(script: Vec<Answer>) -> Result<Receiver, SimError> {
        let bind_error = |e: std::io::Error| SimError::Bind(format!("receiver on 127.0.0.1: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            ..Shared::default()
        });
        let accepting = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("rockscope-sim-receiver".into())
            .spawn(move || accept_loop(&listener, &accepting))
            .map_err(|e| SimError::Runtime(format!("receiver thread: {e}")))?;
        Ok(Receiver { addr, shared })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How later requests are answered.
    pub fn set_answer(&self, answer: Answer) {
        *lock(&self.shared.answer) = answer;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Waits up to `timeout` until some received request satisfies `matches`, and returns the
    /// first that does. `matches` runs under the receiver's lock: it must not call the receiver.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut matches: impl FnMut(&ReceivedRequest) -> bool,
    ) -> Option<ReceivedRequest> {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.shared.requests);
        loop {
            if let Some(found) = requests.iter().find(|r| matches(r)) {
                return Some(found.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            requests = match self.shared.arrived.wait_timeout(requests, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let shared = Arc::clone(shared);
        let _ = std::thread::Builder::new()
            .name("rockscope-sim-receiver-conn".into())
            .spawn(move || serve_connection(stream, &shared));
    }
}

/// Serves requests on one connection until the peer closes it or a request is malformed.
fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let scripted = lock(&shared.script).pop_front();
        let answer = scripted.unwrap_or_else(|| lock(&shared.answer).clone());
        {
            lock(&shared.requests).push(request);
            shared.arrived.notify_all();
        }
        let (status, headers, body) = match answer {
            Answer::Ok => (200, Vec::new(), "{}".to_owned()),
            Answer::Status(code) => (
                code,
                Vec::new(),
                "rockscope-sim receiver: told to fail".to_owned(),
            ),
            Answer::Reply {
                status,
                headers,
                body,
            } => (status, headers, body),
            Answer::Hang => {
                while !shared.stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
                return;
            }
        };
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if writer
            .write_all(head.as_bytes())
            .and_then(|()| writer.write_all(body.as_bytes()))
            .is_err()
        {
            return;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// One request with a `Content-Length` body, or `None` at the end of the connection or on a
/// request this receiver does not take (no length, too large).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<ReceivedRequest> {
    let mut line = String::new();
    let mut head_len = reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        head_len += reader.read_line(&mut header).ok()?;
        if head_len > MAX_HEAD {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(Some(0), |(_, v)| v.parse().ok())?;
    if length > MAX_BODY {
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(ReceivedRequest {
        method,
        target,
        headers,
        body,
    })
}
