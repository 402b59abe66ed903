//! A test-owned HTTP receiver on 127.0.0.1 (ephemeral port): records every request and answers
//! as scripted (a status and body, or never).

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status line, extra headers and a body.
    Status {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Reads the request and never answers (the connection stays open).
    Hang,
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Self {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub target: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct Shared {
    requests: Vec<Request>,
    /// Answers in order; 200 when it runs out.
    script: VecDeque<Reply>,
    /// Connections left unanswered, kept open.
    hung: Vec<TcpStream>,
}

/// The receiver; its thread runs until the test process ends.
#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl Receiver {
    pub fn start(script: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Mutex::new(Shared {
            script: script.into(),
            ..Shared::default()
        }));
        let receiver = Receiver { addr, shared };
        let accepting = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let connection = accepting.clone();
                std::thread::spawn(move || connection.serve(stream));
            }
        });
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests so far.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// Waits up to `limit` for a request that `matches`; all requests so far on success.
    pub fn wait_for(&self, limit: Duration, matches: impl Fn(&Request) -> bool) -> Vec<Request> {
        let start = Instant::now();
        loop {
            let requests = self.requests();
            if requests.iter().any(&matches) {
                return requests;
            }
            assert!(
                start.elapsed() < limit,
                "no matching request within {limit:?}; received: {:#?}",
                requests
                    .iter()
                    .map(|r| (&r.target, String::from_utf8_lossy(&r.body)))
                    .collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn serve(&self, stream: TcpStream) {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let Some(request) = read_request(&mut reader) else {
            return;
        };
        let reply = {
            let mut shared = self.shared.lock().unwrap();
            shared.requests.push(request);
            shared
                .script
                .pop_front()
                .unwrap_or_else(|| Reply::status(200, ""))
        };
        match reply {
            Reply::Hang => self.shared.lock().unwrap().hung.push(stream),
            Reply::Status {
                status,
                headers,
                body,
            } => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                let mut stream = stream;
                let _ = stream.write_all(format!("{head}\r\n{body}").as_bytes());
            }
        }
    }
}

/// One HTTP/1.1 request with a `Content-Length` body (what ureq and Alertmanager send).
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(Some(0), |(_, v)| v.parse().ok())?;
    assert!(length < 1 << 20, "an unexpectedly large body: {length}");
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}
