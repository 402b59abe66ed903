//! Delivery over real HTTP on 127.0.0.1: against a test-owned receiver (the simulator's
//! `Receiver`; `delivery`) and against Debian's Alertmanager (`alertmanager`).

mod alertmanager;
mod delivery;

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rockscope_model::alert::{Alert, AlertState, Severity};
use time::OffsetDateTime;

/// The longest any test waits for something to arrive.
pub const WAIT: Duration = Duration::from_secs(20);

/// Waits up to `limit` until `receiver` has had `n` requests; they all.
pub fn wait_count(
    receiver: &rockscope_sim::Receiver,
    limit: Duration,
    n: usize,
) -> Vec<rockscope_sim::ReceivedRequest> {
    let deadline = Instant::now() + limit;
    loop {
        let requests = receiver.requests();
        if requests.len() >= n {
            return requests;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {n} requests within {limit:?}",
            requests.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `path` on `receiver`.
pub fn url(receiver: &rockscope_sim::Receiver, path: &str) -> String {
    format!("{}{path}", receiver.url())
}

/// Waits up to `limit` for a request that `matches`, failing the test with what arrived
/// otherwise; every request so far on success.
pub fn wait(
    receiver: &rockscope_sim::Receiver,
    limit: Duration,
    matches: impl FnMut(&rockscope_sim::ReceivedRequest) -> bool,
) -> Vec<rockscope_sim::ReceivedRequest> {
    if receiver.wait_for(limit, matches).is_none() {
        let received: Vec<_> = receiver
            .requests()
            .iter()
            .map(|r| {
                (
                    r.target.clone(),
                    String::from_utf8_lossy(&r.body).into_owned(),
                )
            })
            .collect();
        panic!("no matching request within {limit:?}; received: {received:#?}");
    }
    receiver.requests()
}

/// A firing per-node alert of cluster 1 (`prod`), fired at `fired_at`.
pub fn firing_alert(rule: &str, instance: &str, fired_at: OffsetDateTime) -> Alert {
    let labels: BTreeMap<String, String> = [
        ("alertname", rule),
        ("cluster", "prod"),
        ("severity", "critical"),
        ("instance", instance),
        ("node_type", "be"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Alert {
        cluster_id: 1,
        rule: rule.to_owned(),
        fingerprint: "3c1f4ac7b2e5d6f0".to_owned(),
        labels,
        annotations: BTreeMap::from([(
            "summary".to_owned(),
            format!("{instance}: a disk path is 97 % full"),
        )]),
        state: AlertState::Firing,
        severity: Severity::Critical,
        value: Some(97.0),
        active_since: fired_at - time::Duration::minutes(5),
        fired_at: Some(fired_at),
        last_true_at: fired_at,
        resolved_at: None,
        evaluated_at: fired_at,
        last_sent_at: None,
        last_sent_state: None,
        keep_firing_since: None,
    }
}

/// `alert` resolved at `at`.
pub fn resolve(alert: &mut Alert, at: OffsetDateTime) {
    alert.state = AlertState::Resolved;
    alert.resolved_at = Some(at);
    alert.evaluated_at = at;
}

/// Polls `check` until it holds, for up to [`WAIT`].
pub fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < WAIT, "not within {WAIT:?}: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every line rockscope-notify logged in this test process so far (all tests share it); the
/// first call installs the logger.
pub fn logged() -> Vec<String> {
    static LOGGER: OnceLock<Capture> = OnceLock::new();
    let capture = LOGGER.get_or_init(|| Capture(Mutex::default()));
    if log::set_logger(capture).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
    capture.0.lock().unwrap().clone()
}

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("rockscope_notify")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}", record.level(), record.args());
            self.0.lock().unwrap().push(line);
        }
    }

    fn flush(&self) {}
}
