//! Integration tests: the client against tiny HTTP servers on 127.0.0.1.

mod sim;
mod support;

use std::time::{Duration, Instant};

use rockscope_model::FrontendRole;
use rockscope_starrocks::{ClientError, ClusterClient, Endpoint, NodeAddr, TimeoutPhase};
use support::{Action, Server, closed_port, fixture, json, response};
use time::OffsetDateTime;

fn client() -> ClusterClient {
    ClusterClient::builder()
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(5))
        .build()
}

fn fast_client() -> ClusterClient {
    ClusterClient::builder()
        .connect_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(500))
        .build()
}

#[test]
fn connection_refused() {
    let node = closed_port();
    let err = client().fetch_metrics(&node).unwrap_err();
    assert_eq!(err.code(), "connect_refused", "{err}");
    assert!(matches!(err, ClientError::ConnectRefused { .. }));
    assert_eq!(err.node(), Some(&node));
    assert_eq!(err.endpoint(), Some(Endpoint::Metrics));
    let text = err.to_string();
    assert!(text.contains(&node.to_string()), "{text}");
    assert!(text.contains("/metrics"), "{text}");
}

#[test]
fn hang_before_headers_times_out_within_the_request_timeout() {
    let server = Server::start(|_| Action::Hang(Vec::new()));
    let started = Instant::now();
    let err = fast_client().show_backends(&server.addr).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                phase: TimeoutPhase::Request,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert!(err.to_string().contains("500 ms"), "{err}");
}

#[test]
fn hang_in_the_middle_of_the_body_times_out() {
    let server = Server::start(|_| {
        let mut head =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
                .to_vec();
        head.extend_from_slice(b"starrocks_be_cpu{mode=\"idle\"} 1\n");
        Action::Hang(head)
    });
    let started = Instant::now();
    let err = fast_client().fetch_metrics(&server.addr).unwrap_err();
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_deadline_cuts_the_request_timeout_short() {
    // A 10 s request timeout, a deadline 400 ms away: the hung request ends at the deadline.
    let server = Server::start(|_| Action::Hang(Vec::new()));
    let slow = ClusterClient::builder()
        .connect_timeout(Duration::from_secs(3))
        .request_timeout(Duration::from_secs(10))
        .build();
    let started = Instant::now();
    let bounded = slow.with_deadline(started + Duration::from_millis(400));
    let err = bounded.fetch_metrics(&server.addr).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.code(), "timeout", "{err}");
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                phase: TimeoutPhase::Deadline,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert!(err.to_string().contains("before the deadline"), "{err}");

    // Past the deadline, nothing is sent at all.
    let healthy = Server::start(|_| Action::Respond(response(200, "text/plain", b"up 1\n")));
    let late = slow.with_deadline(Instant::now());
    let err = late.fetch_metrics(&healthy.addr).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                phase: TimeoutPhase::Deadline,
                ..
            }
        ),
        "{err:?}"
    );
    // The client itself keeps its own limits: the same pool, no deadline.
    assert!(slow.fetch_metrics(&healthy.addr).is_ok());
}

#[test]
fn a_deadline_later_than_the_request_timeout_changes_nothing() {
    let server = Server::start(|_| Action::Hang(Vec::new()));
    let bounded = fast_client().with_deadline(Instant::now() + Duration::from_secs(30));
    let err = bounded.fetch_metrics(&server.addr).unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Timeout {
                phase: TimeoutPhase::Request,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("request timeout of 500 ms"),
        "{err}"
    );
}

#[test]
fn unauthorized_401_and_403_with_the_privilege_hint() {
    let body = r#"{"status":"FAILED","code":"1","msg":"Access denied for user 'monitor'","message":"Access denied for user 'monitor'"}"#;
    for status in [401u16, 403] {
        let server = Server::always(response(status, "application/json", body.as_bytes()));
        let client = ClusterClient::builder()
            .username("monitor")
            .password("s3cr3t-pw")
            .build();
        let err = client.show_backends(&server.addr).unwrap_err();
        assert_eq!(err.code(), "unauthorized", "{err}");
        let text = err.to_string();
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(text.contains("root role"), "{text}");
        assert!(text.contains("db_admin"), "{text}");
        assert!(text.contains("Access denied for user"), "{text}");
        // The password never shows, neither plain nor encoded.
        let debug = format!("{err:?} {text} {client:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(!debug.contains("bW9uaXRvcjpzM2NyM3QtcHc"), "{debug}");
        // It was sent, though.
        let requests = server.requests();
        assert_eq!(
            requests[0].header("authorization"),
            Some("Basic bW9uaXRvcjpzM2NyM3QtcHc=")
        );
    }
    // Outside show_proc the hint does not talk about roles.
    let server = Server::always(response(401, "text/plain", b""));
    let err = client().fetch_metrics(&server.addr).unwrap_err();
    assert_eq!(err.code(), "unauthorized");
    assert!(!err.to_string().contains("root role"), "{err}");
}

#[test]
fn other_status_with_a_body_excerpt() {
    let body = format!(
        "Internal error: NullPointerException\n{}",
        "at x.y.z\n".repeat(1000)
    );
    let server = Server::always(response(500, "text/plain", body.as_bytes()));
    let err = client().runtime_info(&server.addr).unwrap_err();
    assert_eq!(err.code(), "http_status", "{err}");
    let text = err.to_string();
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(text.contains("NullPointerException"), "{text}");
    assert!(text.contains("/api/show_runtime_info"), "{text}");
    assert!(text.len() < 400, "{}", text.len());
    // An empty 500 (FE in graceful exit) too.
    let server = Server::always(response(500, "text/plain", b""));
    let err = client().fe_health(&server.addr).unwrap_err();
    assert!(
        matches!(err, ClientError::HttpStatus { status: 500, .. }),
        "{err:?}"
    );
}

#[test]
fn body_too_large_by_content_length_and_by_reading() {
    let limit = 1024u64;
    let capped = ClusterClient::builder().max_body_bytes(limit).build();
    let big = vec![b'#'; 4096];
    // Announced length over the cap.
    let server = Server::always(response(200, "text/plain", &big));
    let err = capped.fetch_metrics(&server.addr).unwrap_err();
    assert_eq!(err.code(), "body_too_large", "{err}");
    assert!(err.to_string().contains("1024-byte cap"), "{err}");
    // No length: read until close, stopped at the cap.
    let mut unsized_response =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n".to_vec();
    unsized_response.extend_from_slice(&big);
    let server = Server::start(move |_| Action::RespondAndClose(unsized_response.clone()));
    let err = capped.fetch_metrics(&server.addr).unwrap_err();
    assert_eq!(err.code(), "body_too_large", "{err}");
    // Exactly at the cap is fine.
    let exact = vec![b'\n'; limit as usize];
    let server = Server::always(response(200, "text/plain", &exact));
    let scrape = capped.fetch_metrics(&server.addr).unwrap();
    assert_eq!(scrape.body.len() as u64, limit);
}

#[test]
fn truncated_body_is_an_io_error() {
    let server = Server::start(|_| {
        Action::RespondAndClose(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n[{\"BackendId\":"
                .to_vec(),
        )
    });
    let err = client().show_backends(&server.addr).unwrap_err();
    assert_eq!(err.code(), "io", "{err}");
    assert!(err.to_string().contains("closed"), "{err}");
    // Without a length, a truncated document is a malformed body.
    let server = Server::start(|_| {
        Action::RespondAndClose(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[{\"BackendId\":"
                .to_vec(),
        )
    });
    let err = client().show_backends(&server.addr).unwrap_err();
    assert_eq!(err.code(), "malformed_body", "{err}");
}

#[test]
fn garbage_bodies_are_malformed_with_what_was_wrong() {
    let server = Server::always(json("{{{ not json"));
    let err = client().show_frontends(&server.addr).unwrap_err();
    assert_eq!(err.code(), "malformed_body", "{err}");
    assert!(err.to_string().contains("invalid JSON"), "{err}");

    let text = "Failed to forward stmt: Connection refused to leader 10.0.0.1:9020";
    let server = Server::always(response(200, "text/plain", text.as_bytes()));
    let err = client().show_backends(&server.addr).unwrap_err();
    assert_eq!(err.code(), "malformed_body", "{err}");
    assert!(err.to_string().contains("Failed to forward stmt"), "{err}");
    assert!(
        err.to_string().contains("/api/show_proc?path=/backends"),
        "{err}"
    );

    let server = Server::always(json(r#"{"free_mem":"x"}"#));
    let err = client().runtime_info(&server.addr).unwrap_err();
    assert_eq!(err.code(), "malformed_body", "{err}");
}

#[test]
fn not_http_at_all_is_an_io_error() {
    let server =
        Server::start(|_| Action::RespondAndClose(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()));
    let err = client().fetch_metrics(&server.addr).unwrap_err();
    assert_eq!(err.code(), "io", "{err}");
}

#[test]
fn show_proc_requests_carry_auth_and_forward() {
    let server = Server::start(|req| {
        let body = match req.target() {
            "/api/show_proc?path=/backends&forward=true" => fixture("backends_3_3.json"),
            "/api/show_proc?path=/frontends&forward=true" => fixture("frontends_3_3.json"),
            "/api/show_proc?path=/compute_nodes&forward=true" => fixture("compute_nodes_3_3.json"),
            _ => "[]".to_owned(),
        };
        Action::Respond(json(&body))
    });
    let client = client();
    let backends = client.show_backends(&server.addr).unwrap();
    assert_eq!(backends.len(), 3);
    assert!(!backends[1].alive);
    let frontends = client.show_frontends(&server.addr).unwrap();
    assert_eq!(frontends.iter().filter(|f| f.is_leader()).count(), 1);
    let cns = client.show_compute_nodes(&server.addr).unwrap();
    assert_eq!(cns.len(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    for request in &requests {
        assert!(
            request.head.starts_with("GET /api/show_proc?path=/"),
            "{}",
            request.head
        );
        assert_eq!(request.header("authorization"), Some("Basic cm9vdDo="));
    }
    // Three calls, one connection.
    assert_eq!(server.accepted(), 1);
}

#[test]
fn array_shape_over_http() {
    let server = Server::start(|req| {
        Action::Respond(json(&if req.target().contains("frontends") {
            fixture("frontends_3_0_arrays.json")
        } else {
            fixture("backends_3_0_arrays.json")
        }))
    });
    let bes = client().show_backends(&server.addr).unwrap();
    assert_eq!(bes[0].backend_id, 10003);
    let fes = client().show_frontends(&server.addr).unwrap();
    assert_eq!(fes[0].role, FrontendRole::Leader);
}

#[test]
fn fetch_metrics_keeps_a_body_with_a_bad_line_whole() {
    // Line 13 of the fixture is invalid: not the client's business (the engine's one full parse
    // skips and counts it), as long as the body has valid samples.
    let body = fixture("fe_metrics_3_3.txt");
    assert!(body.lines().nth(12).is_some_and(|l| {
        rockscope_promtext::Parser::new(l.as_bytes(), rockscope_promtext::Mode::Strict)
            .any(|s| s.is_err())
    }));
    let server = Server::always(response(200, "text/plain", body.as_bytes()));
    let before = OffsetDateTime::now_utc();
    let scrape = client().fetch_metrics(&server.addr).unwrap();
    let after = OffsetDateTime::now_utc();
    assert_eq!(scrape.body, body.as_bytes());
    assert!(before <= scrape.fetched_at && scrape.fetched_at <= after);
    assert!(scrape.duration_ms < 5000);
    assert_eq!(server.requests()[0].target(), "/metrics");
}

#[test]
fn runtime_info_and_health_over_http() {
    let server = Server::start(|req| {
        Action::Respond(json(match req.target() {
            "/api/show_runtime_info" => {
                r#"{"free_mem":"1073741824","total_mem":"4294967296","thread_cnt":"187","max_mem":"8589934592"}"#
            }
            "/api/health" => r#"{"online_backend_num":4,"total_backend_num":5,"status":"OK"}"#,
            _ => "[]",
        }))
    });
    let info = client().runtime_info(&server.addr).unwrap();
    assert_eq!(info.thread_cnt, 187);
    assert_eq!(info.max_mem, 8 << 30);
    let health = client().fe_health(&server.addr).unwrap();
    assert_eq!(
        (health.online_backend_num, health.total_backend_num),
        (4, 5)
    );
    assert!(health.is_ok());

    let be = Server::always(json(r#"{"status": "OK","msg": "To Be Added"}"#));
    let health = client().be_health(&be.addr).unwrap();
    assert!(health.is_ok());
    assert_eq!(health.msg.as_deref(), Some("To Be Added"));
}

#[test]
fn connections_are_reused_across_calls() {
    let server = Server::always(response(200, "text/plain", b"up 1\n"));
    let client = client();
    for _ in 0..5 {
        client.fetch_metrics(&server.addr).unwrap();
    }
    assert_eq!(server.requests().len(), 5);
    assert_eq!(server.accepted(), 1);
}

#[test]
fn leader_view_tries_entry_points_in_order() {
    let good = Server::start(|req| {
        Action::Respond(json(&match req.target() {
            "/api/show_proc?path=/backends&forward=true" => {
                fixture("backends_4_0_shared_data.json")
            }
            "/api/show_proc?path=/frontends&forward=true" => fixture("frontends_4_1.json"),
            _ => "[]".to_owned(),
        }))
    });
    let broken = Server::always(response(200, "text/plain", b"Failed to get result set"));
    let refused = closed_port();
    let hosts = vec![
        refused.to_string(),
        "not an address".to_owned(),
        broken.addr.to_string(),
        good.addr.to_string(),
    ];
    let topology = client().leader_view(&hosts).unwrap();
    assert_eq!(topology.answered_by, good.addr);
    assert_eq!(topology.frontends.len(), 2);
    assert_eq!(topology.backends.len(), 1);
    assert!(topology.compute_nodes.is_empty());
    let codes: Vec<_> = topology
        .failed_attempts
        .iter()
        .map(ClientError::code)
        .collect();
    assert_eq!(
        codes,
        ["connect_refused", "invalid_address", "malformed_body"]
    );

    let err = client()
        .leader_view(&[refused.to_string(), broken.addr.to_string()])
        .unwrap_err();
    assert_eq!(err.code(), "all_failed");
    let ClientError::AllEntryPointsFailed { attempts } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(attempts.len(), 2);
    assert!(err.to_string().contains("connection refused"), "{err}");

    let err = client().leader_view(&[]).unwrap_err();
    assert!(matches!(&err, ClientError::AllEntryPointsFailed { attempts } if attempts.is_empty()));
}

#[test]
fn ipv6_loopback_when_available() {
    // Skipped silently where the machine has no IPv6 loopback.
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        return;
    };
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let node: NodeAddr = format!("[::1]:{port}").parse().unwrap();
    let err = client().fetch_metrics(&node).unwrap_err();
    assert_eq!(err.code(), "connect_refused", "{err}");
    assert!(err.to_string().contains(&format!("[::1]:{port}")), "{err}");
}
