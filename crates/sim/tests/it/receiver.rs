//! The notification receiver records what arrives and answers as told.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rockscope_sim::{Answer, Receiver};

/// Posts `body` to the receiver and returns the status line of its answer ("" when none came
/// within a second).
fn post(receiver: &Receiver, path: &str, body: &str) -> String {
    let addr = receiver.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn records_requests_and_answers_as_told() {
    let receiver = Receiver::start().unwrap();
    assert!(post(&receiver, "/hook", r#"{"status":"firing"}"#).starts_with("HTTP/1.1 200"));
    let got = receiver
        .wait_for(Duration::from_secs(5), |r| r.target == "/hook")
        .expect("the request was recorded");
    assert_eq!(got.method, "POST");
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.json()["status"], "firing");

    receiver.set_answer(Answer::Status(503));
    assert!(post(&receiver, "/hook", "{}").starts_with("HTTP/1.1 503"));
    receiver.set_answer(Answer::Hang);
    assert_eq!(
        post(&receiver, "/late", "{}"),
        "",
        "a hanging receiver never answers"
    );
    assert!(
        receiver
            .wait_for(Duration::from_secs(5), |r| r.target == "/late")
            .is_some(),
        "a request is recorded even when not answered"
    );
    assert_eq!(receiver.requests().len(), 3);
    assert!(
        receiver
            .wait_for(Duration::from_millis(100), |r| r.target == "/never")
            .is_none()
    );
}
