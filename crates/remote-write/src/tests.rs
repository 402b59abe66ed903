//! The writer against a recording receiver (the simulator's) and a temporary store.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use rockscope_export::CycleSink;
use rockscope_notify::{ReceiverConfig, Secret};
use rockscope_sim::{Answer, ReceivedRequest, Receiver};
use rockscope_store::{NewCluster, Password, Store};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::fixtures::cycle;
use crate::proto::WriteRequest;
use crate::{EndpointConfig, RemoteWriter};

const WAIT: Duration = Duration::from_secs(20);

fn t(s: i64) -> OffsetDateTime {
    datetime!(2026-01-01 0:00 UTC) + time::Duration::seconds(s)
}

fn store_with_cluster() -> (Store, i64) {
    let store = Store::open_temporary().unwrap();
    let id = store
        .create_cluster(&NewCluster {
            name: "a".into(),
            fe_hosts: vec!["127.0.0.1:8030".into()],
            username: "root".into(),
            password: Password::new(""),
            connect_timeout_secs: None,
            request_timeout_secs: None,
            enabled: true,
        })
        .unwrap()
        .id;
    (store, id)
}

fn endpoint(receiver: &Receiver, capacity: usize) -> EndpointConfig {
    EndpointConfig {
        receiver: ReceiverConfig {
            bearer_token: Some(Secret::new("s3cret-t0ken")),
            ..ReceiverConfig::new(format!("{}/api/v1/write", receiver.url()))
        },
        labels: vec![("dc".into(), "eu1".into())],
        queue_capacity: capacity,
        timeout: Duration::from_secs(5),
    }
}

fn decode(request: &ReceivedRequest) -> WriteRequest {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&request.body)
        .unwrap();
    WriteRequest::decode(raw.as_slice()).unwrap()
}

/// The timestamps (seconds after `t(0)`) of `rockscope_cluster_up` over every request, in the
/// order received.
fn up_seconds(requests: &[ReceivedRequest]) -> Vec<i64> {
    let mut out = Vec::new();
    for r in requests {
        for s in decode(r).timeseries {
            if s.labels[0].value == "rockscope_cluster_up" {
                out.extend(
                    s.samples
                        .iter()
                        .map(|x| x.timestamp / 1000 - t(0).unix_timestamp()),
                );
            }
        }
    }
    out
}

fn wait_for_requests(receiver: &Receiver, n: usize) -> Vec<ReceivedRequest> {
    wait_until(|| receiver.requests().len() >= n);
    receiver.requests()
}

fn stored(store: &Store, id: i64, s: i64) -> Arc<rockscope_export::ClusterExport> {
    let c = cycle(id, "a", t(s));
    store
        .insert_cycle(c.snapshot.as_ref().unwrap(), &c.nodes)
        .unwrap();
    Arc::new(c)
}

#[test]
fn a_request_is_remote_write_1_0_with_the_credentials_and_extra_labels() {
    let receiver = Receiver::start().unwrap();
    let (store, id) = store_with_cluster();
    let writer = RemoteWriter::start(&[endpoint(&receiver, 10)], store.clone()).unwrap();
    writer.cycle_finished(&stored(&store, id, 1));
    let request = &wait_for_requests(&receiver, 1)[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/api/v1/write");
    assert_eq!(request.header("content-encoding"), Some("snappy"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(
        request.header("x-prometheus-remote-write-version"),
        Some("0.1.0")
    );
    assert_eq!(request.header("authorization"), Some("Bearer s3cret-t0ken"));
    let body = decode(request);
    assert!(
        body.timeseries
            .iter()
            .all(|s| s.labels.iter().any(|l| l.name == "dc" && l.value == "eu1"))
    );
    assert_eq!(up_seconds(std::slice::from_ref(request)), [1]);
    wait_until(|| writer.status()[0].samples_sent > 0);
    let status = &writer.status()[0];
    assert_eq!(status.url, format!("{}/api/v1/write", receiver.url()));
    assert_eq!((status.requests_sent, status.backlog_cycles), (1, 0));
    let progress = store.remote_write_progress(&status.url).unwrap();
    assert_eq!(progress[&id], t(1));
    writer.shutdown();
}

fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_refused_request_is_dropped_counted_and_scrubbed_and_the_next_one_goes() {
    let echo = Answer::reply(400, "out of order sample; you sent Bearer s3cret-t0ken");
    let receiver = Receiver::start_scripted(vec![echo]).unwrap();
    let (store, id) = store_with_cluster();
    let writer = RemoteWriter::start(&[endpoint(&receiver, 10)], store.clone()).unwrap();
    writer.cycle_finished(&stored(&store, id, 1));
    wait_for_requests(&receiver, 1);
    wait_until(|| writer.status()[0].dropped_requests == 1);
    writer.cycle_finished(&stored(&store, id, 2));
    let requests = wait_for_requests(&receiver, 2);
    wait_until(|| writer.status()[0].requests_sent == 1);
    assert_eq!(
        up_seconds(&requests),
        [1, 2],
        "the refused one is not sent again"
    );
    let status = &writer.status()[0];
    assert!(status.dropped_samples > 0);
    assert_eq!(status.failed_requests, 0, "a 400 is not retried");
    let error = status.last_error.clone().unwrap();
    assert!(
        error.contains("HTTP 400") && error.contains("out of order"),
        "{error}"
    );
    assert!(!error.contains("s3cret"), "{error}");
    writer.shutdown();
    assert_eq!(receiver.requests().len(), 2);
}

#[test]
fn server_errors_and_429_are_retried_with_the_same_body_before_newer_cycles() {
    let script = vec![
        Answer::Status(503),
        Answer::Status(429),
        Answer::Status(500),
    ];
    let receiver = Receiver::start_scripted(script).unwrap();
    let (store, id) = store_with_cluster();
    let writer = RemoteWriter::start(&[endpoint(&receiver, 10)], store.clone()).unwrap();
    writer.cycle_finished(&stored(&store, id, 1));
    wait_for_requests(&receiver, 2);
    writer.cycle_finished(&stored(&store, id, 2));
    let requests = wait_for_requests(&receiver, 5);
    assert!(requests[..4].iter().all(|r| r.body == requests[0].body));
    assert_eq!(up_seconds(&requests), [1, 1, 1, 1, 2]);
    wait_until(|| writer.status()[0].requests_sent == 2);
    assert_eq!(writer.status()[0].failed_requests, 3);
    writer.shutdown();
}

#[test]
fn cycles_a_full_queue_turned_away_are_read_back_from_the_store_oldest_first() {
    // The receiver fails until told otherwise: the first request is retried while the queue
    // (of one) fills and turns cycles away.
    let receiver = Receiver::start().unwrap();
    receiver.set_answer(Answer::Status(503));
    let (store, id) = store_with_cluster();
    let writer = RemoteWriter::start(&[endpoint(&receiver, 1)], store.clone()).unwrap();
    writer.cycle_finished(&stored(&store, id, 1));
    wait_for_requests(&receiver, 1);
    for s in 2..=6 {
        writer.cycle_finished(&stored(&store, id, s));
    }
    let status = &writer.status()[0];
    assert_eq!((status.queued_cycles, status.backlog_cycles), (1, 5));
    assert!(status.backlog_seconds > 0.0);
    receiver.set_answer(Answer::Ok);
    wait_until(|| writer.status()[0].queued_cycles == 0);
    // The next live cycle makes the writer send what was turned away first.
    writer.cycle_finished(&stored(&store, id, 7));
    wait_until(|| {
        store
            .remote_write_progress(&writer.status()[0].url)
            .unwrap()[&id]
            == t(7)
    });
    let delivered: Vec<ReceivedRequest> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.body != receiver.requests()[0].body)
        .collect();
    assert_eq!(up_seconds(&delivered), [2, 3, 4, 5, 6, 7]);
    assert_eq!(writer.status()[0].backlog_cycles, 0);
    writer.shutdown();
}

#[test]
fn after_a_restart_the_cycles_stored_meanwhile_are_sent_before_the_next_one() {
    let receiver = Receiver::start().unwrap();
    let (store, id) = store_with_cluster();
    let writer = RemoteWriter::start(&[endpoint(&receiver, 10)], store.clone()).unwrap();
    writer.cycle_finished(&stored(&store, id, 1));
    wait_for_requests(&receiver, 1);
    wait_until(|| {
        !store
            .remote_write_progress(&writer.status()[0].url)
            .unwrap()
            .is_empty()
    });
    writer.shutdown();
    drop(writer);
    // Stored while rockscope was stopping or stopped, never handed to a writer.
    let _ = stored(&store, id, 2);
    let _ = stored(&store, id, 3);
    let writer = RemoteWriter::start(&[endpoint(&receiver, 10)], store.clone()).unwrap();
    writer.cycle_finished(&stored(&store, id, 4));
    wait_until(|| {
        store
            .remote_write_progress(&writer.status()[0].url)
            .unwrap()[&id]
            == t(4)
    });
    assert_eq!(up_seconds(&receiver.requests()), [1, 2, 3, 4]);
    writer.shutdown();
}
