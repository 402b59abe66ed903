//! Hostile clients: thousands of connections that announce a body and never send it must not
//! take `/health` down, and each is cut off once its body's read deadline passes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{AppConfig, TestApp};

/// Stalled connections opened; more than the server's starting soft limit of open files.
const STALLED: usize = 2500;
/// The server's soft limit at start (it raises it to the hard limit itself).
const SERVER_OPEN_FILES: u64 = 1024;

/// Raises this test process's soft open-files limit; returns it.
fn raise_own_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}

#[test]
fn health_answers_while_thousands_of_bodies_stall() {
    let own = raise_own_limit();
    let count = STALLED.min(usize::try_from(own.saturating_sub(200)).unwrap_or(0));
    assert!(
        count > SERVER_OPEN_FILES as usize,
        "open-files limit {own} too low for the test"
    );
    let app = TestApp::start(AppConfig {
        open_files: Some(SERVER_OPEN_FILES),
        ..AppConfig::default()
    });
    let head = format!(
        "POST /api/clusters HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         Content-Length: 60000\r\n\r\n{{",
        app.addr()
    );
    let started = Instant::now();
    let mut stalled = Vec::with_capacity(count);
    for _ in 0..count {
        let Ok(mut stream) = TcpStream::connect_timeout(&app.addr(), Duration::from_secs(2)) else {
            break;
        };
        let _ = stream.write_all(head.as_bytes());
        stalled.push(stream);
    }
    assert_eq!(
        stalled.len(),
        count,
        "could not open the stalled connections"
    );

    // /health answers while they are open (well within their 10 s body deadline).
    let mut health = TcpStream::connect_timeout(&app.addr(), Duration::from_secs(2))
        .expect("connect for /health");
    health
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    health
        .write_all(
            format!(
                "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                app.addr()
            )
            .as_bytes(),
        )
        .unwrap();
    let mut answer = Vec::new();
    let _ = health.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "/health with {count} stalled connections open ({:?} after the first): {answer:?}",
        started.elapsed()
    );

    // Each stalled body is cut off at its deadline: 408 in the JSON shape, then closed.
    let first = &mut stalled[0];
    first
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut cut = Vec::new();
    let _ = first.read_to_end(&mut cut);
    let cut = String::from_utf8_lossy(&cut);
    assert!(cut.starts_with("HTTP/1.1 408"), "{cut:?}");
    assert!(cut.contains("\"request_timeout\""), "{cut:?}");
}
