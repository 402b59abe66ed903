//! Remote write end to end: the binary writes every cycle to a real Prometheus (Debian's 2.42
//! with `--web.enable-remote-write-receiver`), whose series carry the values and times of the
//! cycles rockscope stored; a receiver outage leaves no gap (the missed cycles are sent when it
//! is back); a receiver that refuses a request has it dropped, counted and logged once.

use std::collections::BTreeSet;
use std::time::Duration;

use rockscope_sim::{Answer, Receiver, SimConfig, Simulator, Version};
use serde_json::Value;

use crate::prometheus::{Prometheus, PrometheusOptions};
use crate::support::{AppConfig, ConfigCluster, TestApp, parse_time, wait_for};

/// The remote-write section for `url`, with an extra label.
fn remote_write(url: &str) -> String {
    format!(
        "[alerts]\nenabled = false\n\n[[export.remote_write]]\nurl = \"{url}\"\n\
         labels = {{ dc = \"e2e\" }}\ntimeout_secs = 2\n"
    )
}

/// The Unix ms of a stored row's `collected_at`.
fn ms(row: &Value) -> i64 {
    (parse_time(&row["collected_at"]).unix_timestamp_nanos() / 1_000_000) as i64
}

/// The raw samples (Unix ms → value) of the one series `selector` names, over the last hour.
fn raw_samples(prometheus: &Prometheus, selector: &str) -> Vec<(i64, f64)> {
    let result = prometheus.query(&format!("{selector}[1h]"));
    assert!(
        result.len() <= 1,
        "{selector}: one series expected: {result:?}"
    );
    let Some(series) = result.first() else {
        return Vec::new();
    };
    series["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            let at = (pair[0].as_f64().unwrap() * 1000.0).round() as i64;
            (at, pair[1].as_str().unwrap().parse::<f64>().unwrap())
        })
        .collect()
}

fn remote_write_status(app: &TestApp) -> Value {
    app.get("/api/collector/status").expect(200)["remote_write"][0].clone()
}

#[test]
fn remote_write_lands_in_prometheus_with_the_stored_values_and_no_gap_across_an_outage() {
    // A queue of two cycles: the outage's cycles are turned away and read back from the store.
    let mut prometheus = Prometheus::start(PrometheusOptions {
        remote_write_receiver: true,
        ..PrometheusOptions::default()
    });
    let sim = Simulator::start(SimConfig::uniform(1, 1, 2, Version::V3_3, 15)).unwrap();
    let cluster = &sim.clusters()[0];
    let config = AppConfig::default()
        .rust_log("info")
        .cluster(ConfigCluster::from_sim(cluster))
        .section(&format!(
            "{}queue_capacity = 2\n",
            remote_write(&prometheus.remote_write_url())
        ));
    let app = TestApp::start(config);
    let id = app.cluster_id(&cluster.name);
    let name = &cluster.name;
    let up = format!("rockscope_cluster_up{{cluster=\"{name}\",dc=\"e2e\"}}");
    let qps = format!("rockscope_cluster_queries_per_second{{cluster=\"{name}\",dc=\"e2e\"}}");

    // After some cycles: every stored cycle's `up` and `qps` at its collected_at.
    let rows = app.wait_for_snapshots(id, 3, Duration::from_secs(30));
    let newest = ms(rows.last().unwrap());
    wait_for(
        "the receiver holds the third cycle",
        Duration::from_secs(30),
        || {
            raw_samples(&prometheus, &up)
                .iter()
                .any(|(at, _)| *at >= newest)
                .then_some(())
        },
    );
    let rows = app.snapshots(id);
    let received = raw_samples(&prometheus, &qps);
    for row in rows.iter().filter(|r| ms(r) <= newest) {
        let want = row["qps"].as_f64().expect("qps stored");
        let got = received.iter().find(|(at, _)| *at == ms(row)).map(|g| g.1);
        // Equal but for the last bit (the API and Prometheus print doubles each their way).
        assert!(
            got.is_some_and(|g| (g - want).abs() <= 1e-12 * want.abs().max(1.0)),
            "qps at {}: {got:?} received, {want} stored",
            row["collected_at"]
        );
    }
    assert!(raw_samples(&prometheus, &up).iter().all(|(_, v)| *v == 1.0));

    // The nodes: each node's CPU ratio at the newest stored cycle, labelled as in /metrics.
    let nodes = app.get(&format!("/api/clusters/{id}/nodes")).expect(200);
    let nodes = nodes.as_array().unwrap();
    assert_eq!(nodes.len(), 3, "{nodes:?}");
    let at = ms(&nodes[0]);
    wait_for(
        "the receiver holds the nodes' newest cycle",
        Duration::from_secs(30),
        || {
            nodes.iter().all(|node| {
            let instance = format!("{}:{}", node["host"].as_str().unwrap(), node["http_port"]);
            let selector = format!(
                "rockscope_node_alive{{cluster=\"{name}\",node_type={},instance=\"{instance}\",dc=\"e2e\"}}",
                node["node_type"]
            );
            raw_samples(&prometheus, &selector).contains(&(at, 1.0))
        })
        .then_some(())
        },
    );
    for node in nodes.iter().filter(|n| n["cpu_usage_pct"].is_number()) {
        let instance = format!("{}:{}", node["host"].as_str().unwrap(), node["http_port"]);
        let selector =
            format!("rockscope_node_cpu_usage_ratio{{cluster=\"{name}\",instance=\"{instance}\"}}");
        let want = node["cpu_usage_pct"].as_f64().unwrap() / 100.0;
        let got = raw_samples(&prometheus, &selector);
        let got = got.iter().find(|(t, _)| *t == at).map(|g| g.1);
        assert!(
            got.is_some_and(|g| (g - want).abs() < 1e-9),
            "{instance}: {got:?} vs {want}"
        );
    }

    // An outage of a few cycles: the backlog shows, then drains with no gap.
    prometheus.stop();
    let outage_start = ms(app.snapshots(id).last().unwrap());
    wait_for(
        "cycles stored during the outage",
        Duration::from_secs(30),
        || {
            let rows = app.snapshots(id);
            (rows.iter().filter(|r| ms(r) > outage_start).count() >= 4).then_some(())
        },
    );
    let during = wait_for("a backlog", Duration::from_secs(30), || {
        let s = remote_write_status(&app);
        (s["backlog_cycles"].as_u64() > Some(0) && s["failed_requests"].as_u64() > Some(0))
            .then_some(s)
    });
    assert!(
        during["backlog_seconds"].as_f64().unwrap() > 0.0,
        "{during}"
    );
    let error = during["last_error"].as_str().unwrap_or_default().to_owned();
    assert!(!error.is_empty(), "{during}");
    // The backlog in /metrics too, by endpoint.
    let metrics = app.get("/metrics").body;
    let backlog = metrics
        .lines()
        .find(|l| l.starts_with("rockscope_remote_write_backlog_cycles{endpoint="))
        .unwrap_or_else(|| panic!("no backlog in /metrics:\n{metrics}"));
    let cycles: f64 = backlog.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(cycles > 0.0, "{backlog}");
    assert!(metrics.contains("rockscope_remote_write_samples_sent_total{endpoint="));
    prometheus.start_again();
    let after = ms(app
        .wait_for_snapshots(id, 1, Duration::from_secs(5))
        .last()
        .unwrap());
    wait_for("the receiver caught up", Duration::from_secs(60), || {
        raw_samples(&prometheus, &up)
            .iter()
            .any(|(at, _)| *at >= after)
            .then_some(())
    });
    let stored: BTreeSet<i64> = app
        .snapshots(id)
        .iter()
        .map(ms)
        .filter(|at| *at <= after)
        .collect();
    let received: BTreeSet<i64> = raw_samples(&prometheus, &up)
        .iter()
        .map(|(at, _)| *at)
        .filter(|at| *at <= after)
        .collect();
    let missing: Vec<&i64> = stored.difference(&received).collect();
    assert!(
        missing.is_empty(),
        "cycles missing in the receiver: {missing:?}"
    );
    assert!(
        stored.iter().filter(|at| **at > outage_start).count() >= 4,
        "the outage spanned cycles"
    );
    // The query API at the interval's step over the outage: a value at every step.
    let start = outage_start as f64 / 1000.0;
    let end = after as f64 / 1000.0;
    let range = prometheus.query_range(&format!("timestamp({up})"), start, end, 1.0);
    let points: Vec<f64> = range[0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_str().unwrap().parse().unwrap())
        .collect();
    for (i, sample_time) in points.iter().enumerate() {
        // At each step, the newest sample is the newest cycle rockscope stored by then.
        let step_ms = outage_start + 1000 * i as i64;
        let newest_stored = stored.range(..=step_ms).next_back().copied().unwrap();
        assert_eq!(
            (sample_time * 1000.0).round() as i64,
            newest_stored,
            "at {step_ms} ms: a gap"
        );
    }
    wait_for("the backlog drained", Duration::from_secs(30), || {
        (remote_write_status(&app)["backlog_cycles"].as_u64() == Some(0)).then_some(())
    });
}

#[test]
fn a_refused_request_is_dropped_counted_and_logged_without_stopping_the_next_ones() {
    let receiver = Receiver::start_scripted(vec![Answer::reply(
        400,
        "out of bounds; token rw-Secret-Token-1 echoed",
    )])
    .unwrap();
    let sim = Simulator::start(SimConfig::uniform(1, 1, 1, Version::V3_3, 16)).unwrap();
    let cluster = &sim.clusters()[0];
    let section = format!(
        "{}bearer_token = \"rw-Secret-Token-1\"\n",
        remote_write(&format!("{}/write", receiver.url()))
    );
    let config = AppConfig::default()
        .rust_log("info")
        .cluster(ConfigCluster::from_sim(cluster))
        .section(&section);
    let app = TestApp::start(config);
    let status = wait_for(
        "a dropped request and later ones sent",
        Duration::from_secs(30),
        || {
            let s = remote_write_status(&app);
            (s["dropped_requests"] == 1 && s["requests_sent"].as_u64() >= Some(2)).then_some(s)
        },
    );
    assert!(status["dropped_samples"].as_u64() > Some(0), "{status}");
    assert_eq!(
        status["failed_requests"], 0,
        "a 400 is not retried: {status}"
    );
    assert_eq!(status["url"], format!("{}/write", receiver.url()));
    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains("HTTP 400"), "{error}");
    let requests = receiver.requests();
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer rw-Secret-Token-1")
    );
    assert_ne!(
        requests[0].body, requests[1].body,
        "the refused one is not sent again"
    );
    let logs = app.logs();
    assert_eq!(logs.matches("refused a request").count(), 1, "{logs}");
    let everything = format!("{logs}{status}");
    assert!(!everything.contains("rw-Secret-Token-1"), "{everything}");
}
