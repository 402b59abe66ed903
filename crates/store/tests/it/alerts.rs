//! Alerts, their history and the API's user rules.

use std::collections::BTreeMap;

use rockscope_model::{Alert, AlertEvent, AlertState, NodeKind, RuleSpec, Severity};
use rockscope_store::{AlertFilter, Error, Store};

use crate::support::{TempDb, new_cluster, node, secs, sparse_snapshot, t0};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// An alert of `rule` on `instance`, every optional field set.
pub fn alert(cluster_id: i64, rule: &str, instance: &str, state: AlertState) -> Alert {
    Alert {
        cluster_id,
        rule: rule.into(),
        fingerprint: format!("{rule}-{instance}"),
        labels: labels(&[("alertname", rule), ("instance", instance)]),
        annotations: labels(&[("summary", "disk nearly full on {instance}")]),
        state,
        severity: Severity::Critical,
        value: Some(93.25),
        active_since: t0(),
        fired_at: Some(t0() + secs(300)),
        last_true_at: t0() + secs(600),
        resolved_at: (state == AlertState::Resolved).then(|| t0() + secs(660)),
        evaluated_at: t0() + secs(660),
        last_sent_at: Some(t0() + secs(301)),
        last_sent_state: Some(AlertState::Firing),
        keep_firing_since: None,
    }
}

fn event(cluster_id: i64, rule: &str, state: AlertState, at: i64) -> AlertEvent {
    AlertEvent {
        cluster_id,
        rule: rule.into(),
        fingerprint: format!("{rule}-fp"),
        labels: labels(&[("alertname", rule)]),
        state,
        severity: if rule.starts_with('W') {
            Severity::Warning
        } else {
            Severity::Critical
        },
        value: (state != AlertState::Resolved).then_some(at as f64),
        at: t0() + secs(at),
    }
}

fn rule(name: &str, expr: &str) -> RuleSpec {
    RuleSpec {
        name: name.into(),
        expr: expr.into(),
        for_duration: Some("5m".into()),
        keep_firing_for: None,
        severity: Some(Severity::Warning),
        labels: labels(&[("team", "dba")]),
        annotations: labels(&[("summary", "{{ $value }} on {{ $labels.node }}")]),
    }
}

fn two_clusters(store: &Store) -> (i64, i64) {
    let a = store.create_cluster(&new_cluster("a")).unwrap().id;
    let b = store.create_cluster(&new_cluster("b")).unwrap().id;
    (a, b)
}

#[test]
fn an_evaluation_round_trips_and_replaces_the_clusters_alerts() {
    let store = Store::open_temporary().unwrap();
    let (a, b) = two_clusters(&store);
    let first = vec![
        alert(a, "DiskFull", "be1", AlertState::Firing),
        alert(a, "HeapHigh", "fe1", AlertState::Pending),
    ];
    let mut bare = alert(a, "Stale", "-", AlertState::Pending);
    (
        bare.value,
        bare.fired_at,
        bare.last_sent_at,
        bare.last_sent_state,
    ) = (None, None, None, None);
    let mut all = first.clone();
    all.push(bare);
    store
        .save_alert_evaluation(a, &all, &[event(a, "DiskFull", AlertState::Firing, 300)])
        .unwrap();
    store
        .save_alert_evaluation(b, &[alert(b, "DiskFull", "be9", AlertState::Firing)], &[])
        .unwrap();
    let mut want = all.clone();
    want.sort_by(|x, y| (&x.rule, &x.fingerprint).cmp(&(&y.rule, &y.fingerprint)));
    assert_eq!(store.cluster_alerts(a).unwrap(), want);

    // The next evaluation replaces a's alerts: HeapHigh went inactive, DiskFull resolved.
    let next = vec![alert(a, "DiskFull", "be1", AlertState::Resolved)];
    store
        .save_alert_evaluation(a, &next, &[event(a, "DiskFull", AlertState::Resolved, 660)])
        .unwrap();
    assert_eq!(store.cluster_alerts(a).unwrap(), next);
    assert_eq!(store.cluster_alerts(b).unwrap().len(), 1, "b untouched");
    let history = store
        .alert_history(&AlertFilter::default(), None, None, 10)
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].state, AlertState::Resolved, "newest first");
    assert_eq!(history[0].value, None);

    // An evaluation of an unknown cluster stores nothing.
    let err = store
        .save_alert_evaluation(99, &[alert(99, "X", "y", AlertState::Firing)], &[])
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
}

#[test]
fn alerts_and_history_are_filtered() {
    let store = Store::open_temporary().unwrap();
    let (a, b) = two_clusters(&store);
    let mut warn = alert(a, "WHeap", "fe1", AlertState::Pending);
    warn.severity = Severity::Warning;
    store
        .save_alert_evaluation(
            a,
            &[alert(a, "DiskFull", "be1", AlertState::Firing), warn],
            &[
                event(a, "DiskFull", AlertState::Pending, 0),
                event(a, "DiskFull", AlertState::Firing, 300),
                event(a, "WHeap", AlertState::Pending, 400),
            ],
        )
        .unwrap();
    store
        .save_alert_evaluation(
            b,
            &[alert(b, "DiskFull", "be2", AlertState::Resolved)],
            &[event(b, "DiskFull", AlertState::Resolved, 500)],
        )
        .unwrap();
    let names = |alerts: Vec<Alert>| -> Vec<(i64, String)> {
        alerts.into_iter().map(|x| (x.cluster_id, x.rule)).collect()
    };
    let filter = |cluster_id, severity, state| AlertFilter {
        cluster_id,
        severity,
        state,
    };
    assert_eq!(store.alerts(&AlertFilter::default()).unwrap().len(), 3);
    assert_eq!(
        names(store.alerts(&filter(Some(b), None, None)).unwrap()),
        [(b, "DiskFull".to_owned())]
    );
    assert_eq!(
        names(
            store
                .alerts(&filter(None, Some(Severity::Warning), None))
                .unwrap()
        ),
        [(a, "WHeap".to_owned())]
    );
    assert_eq!(
        names(
            store
                .alerts(&filter(
                    None,
                    Some(Severity::Critical),
                    Some(AlertState::Firing)
                ))
                .unwrap()
        ),
        [(a, "DiskFull".to_owned())]
    );

    let at = |events: Vec<AlertEvent>| -> Vec<i64> {
        events
            .iter()
            .map(|e| (e.at - t0()).whole_seconds())
            .collect()
    };
    let all = AlertFilter::default();
    assert_eq!(
        at(store.alert_history(&all, None, None, 10).unwrap()),
        [500, 400, 300, 0]
    );
    assert_eq!(
        at(store.alert_history(&all, None, None, 2).unwrap()),
        [500, 400]
    );
    assert_eq!(
        at(store
            .alert_history(&all, Some(t0() + secs(300)), Some(t0() + secs(400)), 10)
            .unwrap()),
        [400, 300],
        "both bounds included"
    );
    assert_eq!(
        at(store
            .alert_history(
                &filter(Some(a), None, Some(AlertState::Pending)),
                None,
                None,
                10
            )
            .unwrap()),
        [400, 0]
    );
    assert_eq!(
        at(store
            .alert_history(&filter(None, Some(Severity::Warning), None), None, None, 10)
            .unwrap()),
        [400]
    );
}

#[test]
fn alert_events_expire_in_batches() {
    let db = TempDb::new("alert-retention");
    let store = db.open();
    let (a, b) = two_clusters(&store);
    for (cluster, offset) in [(a, 0), (b, 1)] {
        let events: Vec<AlertEvent> = (0..130)
            .map(|i| event(cluster, "DiskFull", AlertState::Firing, i * 2 + offset))
            .collect();
        store.save_alert_evaluation(cluster, &[], &events).unwrap();
    }
    // Events at 0..=259 s: those before 200 s (200 of them) go, in batches of at most 60.
    let deleted = store
        .delete_alert_events_before(t0() + secs(200), 60)
        .unwrap();
    assert_eq!(deleted, 200);
    assert_eq!(db.count("SELECT COUNT(*) FROM alert_events"), 60);
    assert_eq!(
        db.count("SELECT MIN(at) FROM alert_events"),
        (t0() + secs(200)).unix_timestamp() * 1000
    );
    assert_eq!(
        store
            .delete_alert_events_before(t0() + secs(200), 60)
            .unwrap(),
        0
    );
}

#[test]
fn deleting_a_cluster_deletes_its_alerts_and_history() {
    let db = TempDb::new("alert-cascade");
    let store = db.open();
    let (a, b) = two_clusters(&store);
    for id in [a, b] {
        store
            .save_alert_evaluation(
                id,
                &[alert(id, "DiskFull", "be1", AlertState::Firing)],
                &[event(id, "DiskFull", AlertState::Firing, 1)],
            )
            .unwrap();
    }
    store.insert_user_rule(&rule("Mine", "qps > 1")).unwrap();
    store.delete_cluster(a).unwrap();
    assert_eq!(
        db.count("SELECT COUNT(*) FROM alerts WHERE cluster_id = 1"),
        0
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM alert_events WHERE cluster_id = 1"),
        0
    );
    assert_eq!(store.cluster_alerts(b).unwrap().len(), 1);
    assert_eq!(
        store
            .alert_history(&AlertFilter::default(), None, None, 10)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.user_rules().unwrap().len(),
        1,
        "rules are not per cluster"
    );
}

#[test]
fn user_rules_are_created_replaced_and_deleted_by_name() {
    let store = Store::open_temporary().unwrap();
    assert!(store.user_rules().unwrap().is_empty());
    let first = rule("SlowQueries", "query_latency_p99 > 2000");
    let second = rule("ManyErrors", "query_error_rate > 0.05");
    store.insert_user_rule(&first).unwrap();
    store.insert_user_rule(&second).unwrap();
    assert_eq!(store.user_rules().unwrap(), [first.clone(), second.clone()]);

    let dup = store.insert_user_rule(&first).unwrap_err();
    match dup {
        Error::Conflict(m) => assert!(m.contains("`SlowQueries`"), "{m}"),
        other => panic!("not a conflict: {other}"),
    }

    let mut changed = first.clone();
    changed.expr = "query_latency_p99 > 5000".into();
    assert!(store.replace_user_rule("SlowQueries", &changed).unwrap());
    assert!(!store.replace_user_rule("Nope", &changed).unwrap());
    let mut renamed = changed.clone();
    renamed.name = "ManyErrors".into();
    assert!(matches!(
        store.replace_user_rule("SlowQueries", &renamed),
        Err(Error::Conflict(_))
    ));
    renamed.name = "VerySlowQueries".into();
    assert!(store.replace_user_rule("SlowQueries", &renamed).unwrap());
    assert_eq!(store.user_rules().unwrap(), [renamed, second.clone()]);

    assert!(store.delete_user_rule("VerySlowQueries").unwrap());
    assert!(!store.delete_user_rule("VerySlowQueries").unwrap());
    assert_eq!(store.user_rules().unwrap(), [second]);
}

#[test]
fn node_snapshots_of_a_range_come_oldest_cycle_first() {
    let store = Store::open_temporary().unwrap();
    let (a, _) = two_clusters(&store);
    for i in 0..3 {
        let at = t0() + secs(i * 60);
        store
            .insert_cycle(
                &sparse_snapshot(a, at),
                &[
                    node(a, at, NodeKind::Be, "be1", i),
                    node(a, at, NodeKind::Fe, "fe1", i),
                ],
            )
            .unwrap();
    }
    let rows = store
        .nodes_range(a, t0() + secs(60), t0() + secs(120), 100)
        .unwrap();
    let got: Vec<(i64, &str)> = rows
        .iter()
        .map(|n| ((n.collected_at - t0()).whole_seconds(), n.node_id.as_str()))
        .collect();
    assert_eq!(got, [(60, "fe1"), (60, "be1"), (120, "fe1"), (120, "be1")]);
    assert_eq!(
        store
            .nodes_range(a, t0(), t0() + secs(120), 3)
            .unwrap()
            .len(),
        3
    );
}
