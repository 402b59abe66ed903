//! Webhook and Alertmanager delivery against a test-owned receiver: the body that arrives,
//! retries, refusals, and receivers that never answer.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use rockscope_model::alert::AlertState;
use rockscope_notify::{Notifier, NotifyConfig, ReceiverConfig, ReceiverKind, Secret};
use time::OffsetDateTime;

use crate::{WAIT, eventually, firing_alert, logged, resolve};
use rockscope_sim::{Answer, Receiver};

const EVAL: Duration = Duration::from_secs(30);

fn webhook_config(url: String) -> NotifyConfig {
    NotifyConfig {
        webhooks: vec![ReceiverConfig::new(url)],
        external_url: "http://rockscope.test:8080/".to_owned(),
        ..NotifyConfig::default()
    }
}

#[test]
fn a_webhook_gets_the_firing_and_the_resolution_once_each() {
    let receiver = Receiver::start_scripted(vec![]).unwrap();
    let notifier =
        Notifier::start(webhook_config(crate::url(&receiver, "/hook?token=t0k"))).unwrap();
    let t0 = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("BeDiskFull", "be1:8040", t0)];

    notifier.submit(1, "prod", &mut alerts, EVAL, t0);
    assert_eq!(alerts[0].last_sent_at, Some(t0));
    assert_eq!(alerts[0].last_sent_state, Some(AlertState::Firing));
    let requests = crate::wait(&receiver, WAIT, |_| true);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.target, "/hook?token=t0k");
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "rockscope");
    assert_eq!(body["truncatedAlerts"], 0);
    assert_eq!(
        body["groupKey"],
        "{}:{alertname=\"BeDiskFull\", cluster=\"prod\"}"
    );
    assert_eq!(
        body["groupLabels"],
        serde_json::json!({"alertname": "BeDiskFull", "cluster": "prod"})
    );
    assert_eq!(body["externalURL"], "http://rockscope.test:8080");
    let alert = &body["alerts"][0];
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(alert["fingerprint"], "3c1f4ac7b2e5d6f0");
    assert_eq!(alert["labels"]["instance"], "be1:8040");
    assert_eq!(
        alert["generatorURL"],
        "http://rockscope.test:8080/clusters/1"
    );

    // The next evaluations, 30 s apart: nothing new to say, nothing queued.
    for step in 1..=3 {
        let now = t0 + time::Duration::seconds(30 * step);
        notifier.submit(1, "prod", &mut alerts, EVAL, now);
        assert_eq!(alerts[0].last_sent_at, Some(t0), "step {step}");
    }

    let t1 = t0 + time::Duration::seconds(120);
    resolve(&mut alerts[0], t1);
    notifier.submit(1, "prod", &mut alerts, EVAL, t1);
    let requests = crate::wait(&receiver, WAIT, |r| r.json()["status"] == "resolved");
    assert_eq!(requests.len(), 2, "one firing, one resolved");
    let resolved = &requests[1].json()["alerts"][0];
    assert_eq!(resolved["status"], "resolved");
    assert_ne!(resolved["endsAt"], "0001-01-01T00:00:00Z");
    notifier.submit(
        1,
        "prod",
        &mut alerts,
        EVAL,
        t1 + time::Duration::seconds(30),
    );
    assert_eq!(
        alerts[0].last_sent_at,
        Some(t1),
        "the resolution is sent once"
    );

    eventually("the status counts two deliveries", || {
        notifier.status()[0].sent == 2
    });
    let status = &notifier.status()[0];
    assert_eq!(status.kind, ReceiverKind::Webhook);
    assert_eq!(
        status.url,
        format!("{}/hook?***", receiver.url()),
        "the query (a token) is not shown"
    );
    assert_eq!((status.failed, status.dropped), (0, 0));
    assert!(status.last_success_at.is_some());
    notifier.shutdown();
}

#[test]
fn a_503_is_retried_and_then_delivered() {
    let receiver = Receiver::start_scripted(vec![
        Answer::reply(503, "try later"),
        Answer::reply(200, ""),
    ])
    .unwrap();
    let notifier = Notifier::start(webhook_config(crate::url(&receiver, "/"))).unwrap();
    let now = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("FeDown", "fe1:8030", now)];
    notifier.submit(1, "prod", &mut alerts, EVAL, now);
    let requests = crate::wait_count(&receiver, WAIT, 2);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same notification again"
    );
    eventually("the retry is counted as delivered", || {
        notifier.status()[0].sent == 1
    });
    let status = &notifier.status()[0];
    assert_eq!(status.failed, 0);
    assert_eq!(status.last_error.as_deref(), Some("HTTP 503: try later"));
    assert!(status.last_error_at.is_some());
    notifier.shutdown();
}

#[test]
fn a_400_is_dropped_and_counted_and_an_echoed_token_is_scrubbed() {
    logged();
    let token = "s3cret-token";
    let receiver = Receiver::start_scripted(vec![Answer::reply(
        400,
        &format!("bad request; you sent Authorization: Bearer {token}"),
    )])
    .unwrap();
    let config = NotifyConfig {
        alertmanagers: vec![ReceiverConfig {
            bearer_token: Some(Secret::new(token)),
            ..ReceiverConfig::new(crate::url(&receiver, "/am"))
        }],
        ..NotifyConfig::default()
    };
    let notifier = Notifier::start(config).unwrap();
    let now = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("FeDown", "fe1:8030", now)];
    notifier.submit(1, "prod", &mut alerts, EVAL, now);
    let requests = crate::wait(&receiver, WAIT, |_| true);
    assert_eq!(requests[0].target, "/am/api/v2/alerts");
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    eventually("the refusal is counted", || {
        notifier.status()[0].failed == 1
    });
    let status = &notifier.status()[0];
    assert_eq!(
        status.last_error.as_deref(),
        Some("HTTP 400: bad request; you sent Authorization: Bearer ***")
    );
    assert_eq!(status.sent, 0);
    assert!(!format!("{status:?}").contains(token));
    assert_eq!(receiver.requests().len(), 1, "a refusal is not retried");
    let logged = logged();
    let line = logged
        .iter()
        .find(|l| {
            l.contains(&format!(
                "{}/am refused",
                receiver.url().trim_start_matches("http://")
            ))
        })
        .expect("the refusal is logged");
    assert!(line.starts_with("WARN"), "{line}");
    assert!(
        line.ends_with("HTTP 400: bad request; you sent Authorization: Bearer ***"),
        "{line}"
    );
    assert!(!logged.iter().any(|l| l.contains(token)), "{logged:#?}");
    notifier.shutdown();
}

#[test]
fn an_unreachable_receiver_is_a_recorded_failure() {
    logged();
    // A port nobody listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let notifier = Notifier::start(webhook_config(format!(
        "http://user:pa55word@127.0.0.1:{port}/hook"
    )))
    .unwrap();
    let now = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("FeDown", "fe1:8030", now)];
    notifier.submit(1, "prod", &mut alerts, EVAL, now);
    eventually("the failure shows in the status", || {
        notifier.status()[0].last_error.is_some()
    });
    let status = &notifier.status()[0];
    assert_eq!(status.url, format!("http://***@127.0.0.1:{port}/hook"));
    assert!(!format!("{status:?}").contains("pa55word"), "{status:?}");
    let logged = logged();
    assert!(
        logged
            .iter()
            .any(|l| l.contains(&format!("http://***@127.0.0.1:{port}/hook failed"))),
        "{logged:#?}"
    );
    assert!(
        !logged.iter().any(|l| l.contains("pa55word")),
        "{logged:#?}"
    );
    assert_eq!(status.sent, 0);
    notifier.shutdown();
}

#[test]
fn a_hung_receiver_times_out_never_blocks_submit_and_shutdown_is_bounded() {
    let receiver =
        Receiver::start_scripted(vec![Answer::Hang, Answer::Hang, Answer::Hang]).unwrap();
    let config = NotifyConfig {
        queue_capacity: 2,
        timeout: Duration::from_millis(300),
        ..webhook_config(crate::url(&receiver, "/hook"))
    };
    let notifier = Notifier::start(config).unwrap();
    let t0 = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("FeDown", "fe1:8030", t0)];
    notifier.submit(1, "prod", &mut alerts, EVAL, t0);
    eventually("the timeout shows in the status", || {
        notifier.status()[0].last_error.is_some()
    });
    let error = notifier.status()[0].last_error.clone().unwrap();
    assert!(error.to_lowercase().contains("timeout"), "{error}");

    // While the worker retries, more notifications than the queue holds: the oldest go.
    for n in 1..=5 {
        let now = t0 + time::Duration::hours(4 * n);
        notifier.submit(1, "prod", &mut alerts, EVAL, now);
        assert_eq!(alerts[0].last_sent_at, Some(now), "a repeat is queued");
    }
    let status = &notifier.status()[0];
    assert!(status.queue_len <= 2, "{status:?}");
    assert!(status.dropped >= 3, "{status:?}");

    let started = Instant::now();
    notifier.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
}

#[test]
fn shutdown_returns_while_a_call_hangs() {
    let receiver = Receiver::start_scripted(vec![Answer::Hang]).unwrap();
    let config = NotifyConfig {
        timeout: Duration::from_secs(60),
        ..webhook_config(crate::url(&receiver, "/hook"))
    };
    let notifier = Notifier::start(config).unwrap();
    let now = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("FeDown", "fe1:8030", now)];
    notifier.submit(1, "prod", &mut alerts, EVAL, now);
    crate::wait(&receiver, WAIT, |_| true);
    // The worker is now inside a call that will not end for a minute.
    let started = Instant::now();
    notifier.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
}

#[test]
fn bad_configuration_is_refused_before_anything_starts() {
    let err = Notifier::start(webhook_config("https://hooks.example/x".into()))
        .err()
        .unwrap();
    assert!(err.to_string().contains("TLS"), "{err}");
    let err = Notifier::start(NotifyConfig {
        queue_capacity: 0,
        ..NotifyConfig::default()
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("queue_capacity"), "{err}");
}

#[test]
fn a_restart_neither_renotifies_nor_loses_the_resolution() {
    let receiver = Receiver::start_scripted(vec![]).unwrap();
    let t0 = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("FeDown", "fe1:8030", t0)];
    let before = Notifier::start(webhook_config(crate::url(&receiver, "/hook"))).unwrap();
    before.submit(1, "prod", &mut alerts, EVAL, t0);
    crate::wait(&receiver, WAIT, |_| true);
    before.shutdown();

    // What the store gives back after the restart: the alerts with their last_sent_* fields.
    let mut reloaded = alerts.clone();
    let after = Notifier::start(webhook_config(crate::url(&receiver, "/hook"))).unwrap();
    let t1 = t0 + time::Duration::seconds(40);
    after.submit(1, "prod", &mut reloaded, EVAL, t1);
    assert_eq!(
        reloaded, alerts,
        "still firing: nothing queued, nothing marked"
    );
    let t2 = t1 + time::Duration::seconds(30);
    resolve(&mut reloaded[0], t2);
    after.submit(1, "prod", &mut reloaded, EVAL, t2);
    let requests = crate::wait(&receiver, WAIT, |r| r.json()["status"] == "resolved");
    let statuses: Vec<_> = requests
        .iter()
        .map(|r| r.json()["status"].clone())
        .collect();
    assert_eq!(statuses, ["firing", "resolved"], "one of each, in order");
    after.shutdown();
}

#[test]
fn an_alertmanager_batch_is_not_sent_after_its_alerts_would_have_ended() {
    // endsAt = now + 4 × 250 ms: the retry after 1 s would reach Alertmanager with every firing
    // alert's endsAt past, which Alertmanager takes as their resolution.
    let receiver = Receiver::start_scripted(vec![Answer::reply(503, "starting")]).unwrap();
    let config = NotifyConfig {
        alertmanagers: vec![ReceiverConfig::new(crate::url(&receiver, ""))],
        resend_delay: Duration::from_millis(250),
        timeout: Duration::from_millis(50),
        ..NotifyConfig::default()
    };
    let notifier = Notifier::start(config).unwrap();
    let now = OffsetDateTime::now_utc();
    let mut alerts = [firing_alert("FeDown", "fe1:8030", now)];
    notifier.submit(1, "prod", &mut alerts, Duration::from_millis(250), now);
    eventually("the late batch is dropped", || {
        notifier.status()[0].dropped == 1
    });
    let status = &notifier.status()[0];
    assert_eq!((status.sent, status.failed), (0, 0));
    assert_eq!(receiver.requests().len(), 1, "no retry past endsAt");
    notifier.shutdown();
}
