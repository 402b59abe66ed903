//! Alerts, their history, the effective rules, user rules' CRUD and the rule test.
//!
//! The tests marked `needs the evaluator` validate or replay rules through
//! `rockscope_alerts::check_rule`, `RuleSet::build` and `replay`: they pass with the evaluator's
//! bodies (branch `wip-alerts`), not with the skeleton that returns empty results.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::test::TestRequest;
use rockscope_api::AlertRules;
use rockscope_model::{Alert, AlertEvent, AlertState, RuleSpec, Severity};
use rockscope_store::Store;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::{TOKEN, new_cluster, node, rfc3339, snapshot, store};

const READ_TOKEN: &str = "read-only-t0ken";

fn t0() -> OffsetDateTime {
    datetime!(2025-03-01 12:00 UTC)
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn alert(cluster_id: i64, rule: &str, state: AlertState, severity: Severity) -> Alert {
    Alert {
        cluster_id,
        rule: rule.into(),
        fingerprint: format!("{rule:0>16}").chars().take(16).collect(),
        labels: labels(&[
            ("alertname", rule),
            ("instance", "10.0.1.3:8040"),
            ("severity", severity.as_str()),
        ]),
        annotations: labels(&[("summary", "data disk 93.5 % full")]),
        state,
        severity,
        value: Some(93.5),
        active_since: t0() + time::Duration::nanoseconds(123_456_789),
        fired_at: (state != AlertState::Pending).then(|| t0() + time::Duration::minutes(5)),
        last_true_at: t0() + time::Duration::minutes(6),
        resolved_at: (state == AlertState::Resolved).then(|| t0() + time::Duration::minutes(7)),
        evaluated_at: t0() + time::Duration::minutes(7),
        last_sent_at: None,
        last_sent_state: None,
        keep_firing_since: None,
    }
}

fn event(cluster_id: i64, rule: &str, state: AlertState, minutes: i64) -> AlertEvent {
    AlertEvent {
        cluster_id,
        rule: rule.into(),
        fingerprint: "00000000000000ab".into(),
        labels: labels(&[("alertname", rule)]),
        state,
        severity: Severity::Critical,
        value: Some(minutes as f64),
        at: t0() + time::Duration::minutes(minutes),
    }
}

/// Two clusters: `prod` with a firing critical and a pending warning alert and a resolved one,
/// `test` with a firing warning; and a short history.
fn seeded() -> (Store, i64, i64) {
    let store = store();
    let prod = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let test = store.create_cluster(&new_cluster("test")).unwrap().id;
    store
        .save_alert_evaluation(
            prod,
            &[
                alert(prod, "DiskFull", AlertState::Firing, Severity::Critical),
                alert(prod, "HeapHigh", AlertState::Pending, Severity::Warning),
                alert(prod, "CpuBusy", AlertState::Resolved, Severity::Warning),
            ],
            &[
                event(prod, "DiskFull", AlertState::Pending, 0),
                event(prod, "DiskFull", AlertState::Firing, 5),
                event(prod, "CpuBusy", AlertState::Resolved, 7),
            ],
        )
        .unwrap();
    store
        .save_alert_evaluation(
            test,
            &[alert(
                test,
                "DiskFull",
                AlertState::Firing,
                Severity::Warning,
            )],
            &[event(test, "DiskFull", AlertState::Firing, 6)],
        )
        .unwrap();
    (store, prod, test)
}

fn names(v: &Value, list: &str) -> Vec<(i64, String)> {
    v[list]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| {
            (
                a["cluster_id"].as_i64().unwrap(),
                a["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[actix_web::test]
async fn active_alerts_are_listed_with_the_contracts_keys() {
    let (store, prod, test) = seeded();
    let app = app!(store);
    let v = get!(app, "/api/alerts").ok_json();
    assert_eq!(
        names(&v, "alerts"),
        [
            (prod, "DiskFull".to_owned()),
            (prod, "HeapHigh".to_owned()),
            (test, "DiskFull".to_owned())
        ],
        "the resolved alert is not active"
    );
    let first = &v["alerts"][0];
    for key in [
        "name",
        "state",
        "severity",
        "cluster_id",
        "cluster_name",
        "labels",
        "annotations",
        "active_since",
        "value",
    ] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    assert_eq!(first["state"], "firing");
    assert_eq!(first["severity"], "critical");
    assert_eq!(first["cluster_name"], "prod");
    assert_eq!(first["labels"]["instance"], "10.0.1.3:8040");
    assert_eq!(first["annotations"]["summary"], "data disk 93.5 % full");
    assert_eq!(first["value"], 93.5);
    assert_eq!(
        first["active_since"], "2025-03-01T12:00:00.123Z",
        "RFC 3339, milliseconds"
    );
    assert_eq!(v["alerts"][1]["state"], "pending");
    assert_eq!(v["alerts"][1]["fired_at"], Value::Null);
}

#[actix_web::test]
async fn active_alerts_are_filtered_by_cluster_severity_and_state() {
    let (store, prod, test) = seeded();
    let app = app!(store);
    let by = |uri: String| uri;
    let v = get!(app, by(format!("/api/alerts?cluster_id={test}"))).ok_json();
    assert_eq!(names(&v, "alerts"), [(test, "DiskFull".to_owned())]);
    let v = get!(app, "/api/alerts?severity=warning").ok_json();
    assert_eq!(
        names(&v, "alerts"),
        [(prod, "HeapHigh".to_owned()), (test, "DiskFull".to_owned())]
    );
    let v = get!(
        app,
        format!("/api/alerts?cluster_id={prod}&state=firing&severity=critical")
    )
    .ok_json();
    assert_eq!(names(&v, "alerts"), [(prod, "DiskFull".to_owned())]);
    let v = get!(app, "/api/alerts?state=pending").ok_json();
    assert_eq!(names(&v, "alerts"), [(prod, "HeapHigh".to_owned())]);
    let v = get!(app, "/api/alerts?severity=info").ok_json();
    assert_eq!(v, json!({"alerts": []}));
}

#[actix_web::test]
async fn bad_alert_parameters_are_named() {
    let (store, _, _) = seeded();
    let app = app!(store);
    let m = get!(app, "/api/alerts?sevrity=critical").error(400, "invalid_parameter");
    assert!(m.contains("`sevrity`"), "{m}");
    for allowed in ["`cluster_id`", "`severity`", "`state`"] {
        assert!(m.contains(allowed), "{m}");
    }
    let m = get!(app, "/api/alerts?severity=page").error(400, "invalid_parameter");
    assert!(m.contains("info, warning, critical"), "{m}");
    let m = get!(app, "/api/alerts?state=resolved").error(400, "invalid_parameter");
    assert!(m.contains("/api/alerts/history"), "{m}");
    let m = get!(app, "/api/alerts?cluster_id=prod").error(400, "invalid_parameter");
    assert!(m.contains("cluster_id"), "{m}");
    get!(app, "/api/alerts?cluster_id=999").error(404, "not_found");
    let m = get!(app, "/api/alerts/history?limit=0").error(400, "invalid_parameter");
    assert!(m.contains("limit must be a positive integer"), "{m}");
    let m = get!(app, "/api/alerts/history?since=2w").error(400, "invalid_parameter");
    assert!(m.contains("since must be one of"), "{m}");
    let m = get!(
        app,
        "/api/alerts/history?since=1h&from=2025-03-01T00:00:00Z"
    )
    .error(400, "invalid_parameter");
    assert!(m.contains("either since or from/to"), "{m}");
    let m = get!(app, "/api/alerts/history?from=yesterday").error(400, "invalid_parameter");
    assert!(m.contains("from must be an RFC 3339 time"), "{m}");
    let m = get!(app, "/api/alerts/history?page=2").error(400, "invalid_parameter");
    assert!(m.contains("`limit`") && m.contains("`since`"), "{m}");
    get!(app, "/api/alert-rules?x=1").error(400, "invalid_parameter");
}

#[actix_web::test]
async fn history_is_newest_first_filtered_windowed_and_limited() {
    let (store, prod, test) = seeded();
    let app = app!(store);
    let minutes = |v: &Value| -> Vec<String> {
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{} {} {}", e["cluster_id"], e["name"], e["state"]))
            .collect()
    };
    let v = get!(app, "/api/alerts/history").ok_json();
    assert_eq!(
        minutes(&v),
        [
            format!("{prod} \"CpuBusy\" \"resolved\""),
            format!("{test} \"DiskFull\" \"firing\""),
            format!("{prod} \"DiskFull\" \"firing\""),
            format!("{prod} \"DiskFull\" \"pending\""),
        ]
    );
    assert_eq!(v["limit"], 100);
    assert_eq!(v["events"][0]["at"], "2025-03-01T12:07:00Z");
    let v = get!(app, "/api/alerts/history?limit=2").ok_json();
    assert_eq!(v["events"].as_array().unwrap().len(), 2);
    let v = get!(app, "/api/alerts/history?limit=1000000").ok_json();
    assert_eq!(v["limit"], 1000, "capped");
    let v = get!(
        app,
        format!("/api/alerts/history?cluster_id={prod}&state=firing")
    )
    .ok_json();
    assert_eq!(minutes(&v), [format!("{prod} \"DiskFull\" \"firing\"")]);
    let v = get!(
        app,
        "/api/alerts/history?from=2025-03-01T12:05:00Z&to=2025-03-01T12:06:00Z"
    )
    .ok_json();
    assert_eq!(v["events"].as_array().unwrap().len(), 2, "both bounds in");
    // The seeded events are in 2025: none is within the last hour.
    let v = get!(app, "/api/alerts/history?since=1h").ok_json();
    assert_eq!(v["events"], json!([]));
}

fn with_tokens(store: &Store, config_rules: Vec<RuleSpec>) -> rockscope_api::ApiState {
    let mut state = crate::support::state(store, Some(TOKEN));
    state.api_read_token = Some(READ_TOKEN.to_owned());
    state.alert_rules = Arc::new(
        AlertRules::load(store.clone(), config_rules, Vec::new()).expect("config rules build"),
    );
    state
}

fn authed(req: TestRequest, token: &str) -> TestRequest {
    req.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
}

#[actix_web::test]
async fn the_read_token_reads_alerts_but_cannot_write_rules() {
    let (store, _, _) = seeded();
    let app = actix_web::test::init_service(
        actix_web::App::new().configure(rockscope_api::configure(with_tokens(&store, vec![]))),
    )
    .await;
    for uri in ["/api/alerts", "/api/alerts/history", "/api/alert-rules"] {
        let r = send!(app, authed(TestRequest::get().uri(uri), READ_TOKEN));
        r.ok_json();
        send!(app, TestRequest::get().uri(uri)).error(401, "unauthorized");
    }
    let body = json!({"name": "Busy", "expr": "qps > 5000"});
    for req in [
        TestRequest::post()
            .uri("/api/alert-rules")
            .set_json(body.clone()),
        TestRequest::put()
            .uri("/api/alert-rules/Busy")
            .set_json(body.clone()),
        TestRequest::delete().uri("/api/alert-rules/Busy"),
        // Only the exact path of the replay is open to the read token.
        TestRequest::post()
            .uri("/api/alert-rules/test/")
            .set_json(json!({"rule": body, "cluster_id": 1})),
        TestRequest::post().uri("/api/clusters/1/test"),
    ] {
        send!(app, authed(req, READ_TOKEN)).error(403, "forbidden");
    }
    assert!(store.user_rules().unwrap().is_empty());
}

#[actix_web::test]
async fn the_read_token_replays_a_rule_and_nothing_is_stored() {
    let store = store();
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let now = OffsetDateTime::now_utc();
    for i in 0..10 {
        let at = now - time::Duration::minutes(20 - i);
        store
            .insert_cycle(&snapshot(id, at, json!({"qps": 2000.0})), &[])
            .unwrap();
    }
    let app = actix_web::test::init_service(
        actix_web::App::new().configure(rockscope_api::configure(with_tokens(&store, vec![]))),
    )
    .await;
    let replay = || {
        TestRequest::post()
            .uri("/api/alert-rules/test")
            .set_json(json!({
                "rule": {"name": "Busy", "expr": "qps > 1000", "for": "2m"},
                "cluster_id": id,
                "range": "1h",
            }))
    };
    let v = send!(app, authed(replay(), READ_TOKEN)).ok_json();
    assert_eq!(v["would_fire"], true, "{v}");
    assert_eq!(v["cycles"], 10, "{v}");
    // The admin token still may, and no token still may not.
    send!(app, authed(replay(), TOKEN)).ok_json();
    send!(app, replay()).error(401, "unauthorized");
    // A replay stores nothing: no rule, no alert, no history.
    assert!(store.user_rules().unwrap().is_empty());
    let alerts = send!(
        app,
        authed(TestRequest::get().uri("/api/alerts"), READ_TOKEN)
    )
    .ok_json();
    assert_eq!(alerts["alerts"], json!([]), "{alerts}");
}

#[actix_web::test]
async fn rule_bodies_are_strict() {
    let store = store();
    let app = app!(store);
    let post = |body: Value| TestRequest::post().uri("/api/alert-rules").set_json(body);
    let m = send!(
        app,
        post(json!({"name": "Busy", "expr": "qps > 5000", "treshold": 5}))
    )
    .error(400, "bad_request");
    assert!(
        m.contains("alert rule `Busy`") && m.contains("`treshold`"),
        "{m}"
    );
    let m = send!(app, post(json!(["Busy", "qps > 5000"]))).error(400, "bad_request");
    assert!(m.contains("JSON object"), "{m}");
    let m = send!(app, post(json!({"name": "Busy"}))).error(400, "bad_request");
    assert!(m.contains("`expr`"), "{m}");
    let m = send!(
        app,
        post(json!({"name": "Busy", "expr": "qps > 1", "severity": "page"}))
    )
    .error(400, "bad_request");
    assert!(m.contains("alert rule `Busy`"), "{m}");
    let m = send!(
        app,
        TestRequest::put()
            .uri("/api/alert-rules/Busy")
            .set_json(json!({"name": "Other", "expr": "qps > 1"}))
    )
    .error(400, "invalid_parameter");
    assert!(m.contains("differs from the path"), "{m}");
    let m = send!(
        app,
        TestRequest::post().uri("/api/alert-rules/test").set_json(
            json!({"rule": {"name": "B", "expr": "qps > 1"}, "cluster_id": 1, "days": 7})
        )
    )
    .error(400, "bad_request");
    assert!(m.contains("`days`"), "{m}");
    assert!(store.user_rules().unwrap().is_empty());
}

// ---- needs the evaluator (check_rule, RuleSet::build, replay) ---------------------------------

#[actix_web::test]
async fn bad_rules_are_refused_naming_the_rule_and_the_problem() {
    let store = store();
    let app = app!(store);
    let post = |body: Value| TestRequest::post().uri("/api/alert-rules").set_json(body);
    let cases = [
        (json!({"name": "NanThreshold", "expr": "qps > NaN"}), "NaN"),
        (
            json!({"name": "NegativeFor", "expr": "qps > 5", "for": "-5m"}),
            "-5m",
        ),
        (json!({"name": "Typo", "expr": "qpss > 5"}), "qpss"),
        (
            json!({"name": "BadTemplate", "expr": "qps > 5",
                   "annotations": {"summary": "{{ $valu }}"}}),
            "$valu",
        ),
    ];
    for (body, problem) in cases {
        let name = body["name"].as_str().unwrap().to_owned();
        let m = send!(app, post(body)).error(400, "invalid_parameter");
        assert!(m.contains(&format!("alert rule `{name}`")), "{m}");
        assert!(m.contains(problem), "{m}");
    }
    assert!(store.user_rules().unwrap().is_empty(), "nothing stored");
}

#[actix_web::test]
async fn user_rules_are_created_listed_replaced_and_deleted() {
    let store = store();
    let config = RuleSpec {
        name: "FromConfig".into(),
        expr: "qps > 100000".into(),
        for_duration: Some("10m".into()),
        keep_firing_for: None,
        severity: Some(Severity::Info),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    };
    let app = actix_web::test::init_service(
        actix_web::App::new()
            .configure(rockscope_api::configure(with_tokens(&store, vec![config]))),
    )
    .await;
    let admin = |req: TestRequest| authed(req, TOKEN);

    let before = send!(app, admin(TestRequest::get().uri("/api/alert-rules"))).ok_json();
    let rules = before["rules"].as_array().unwrap();
    let builtin = rules
        .iter()
        .find(|r| r["builtin"] == true)
        .expect("built-ins");
    for key in [
        "name",
        "builtin",
        "enabled",
        "severity",
        "for",
        "condition",
        "keep_firing_for",
        "labels",
        "annotations",
        "source",
    ] {
        assert!(builtin.get(key).is_some(), "{key}: {builtin}");
    }
    assert_eq!(builtin["source"], "builtin");
    assert!(!builtin["condition"].as_str().unwrap().is_empty());
    let from_config = rules.iter().find(|r| r["name"] == "FromConfig").unwrap();
    assert_eq!(
        (
            &from_config["source"],
            &from_config["builtin"],
            &from_config["for"]
        ),
        (&json!("config"), &json!(false), &json!("10m"))
    );

    let body = json!({"name": "Busy", "expr": "qps > 5000", "for": "2m", "severity": "critical",
                      "labels": {"team": "dba"}, "annotations": {"summary": "{{ $value }} qps"}});
    let created = send!(
        app,
        admin(
            TestRequest::post()
                .uri("/api/alert-rules")
                .set_json(body.clone())
        )
    );
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    assert_eq!(
        created.headers.get(header::LOCATION).unwrap(),
        "/api/alert-rules/Busy"
    );
    let c = created.json();
    assert_eq!((&c["source"], &c["for"]), (&json!("api"), &json!("2m")));
    let listed = send!(app, admin(TestRequest::get().uri("/api/alert-rules"))).ok_json();
    let busy = listed["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "Busy")
        .cloned()
        .expect("listed");
    assert_eq!(busy["severity"], "critical");
    assert_eq!(busy["labels"]["team"], "dba");

    // A second one of the same name, or of a config or built-in rule's name: 409.
    let m = send!(
        app,
        admin(
            TestRequest::post()
                .uri("/api/alert-rules")
                .set_json(body.clone())
        )
    )
    .error(409, "conflict");
    assert!(m.contains("`Busy`"), "{m}");
    let builtin_name = builtin["name"].as_str().unwrap().to_owned();
    for name in ["FromConfig", builtin_name.as_str()] {
        let m = send!(
            app,
            admin(
                TestRequest::post()
                    .uri("/api/alert-rules")
                    .set_json(json!({"name": name, "expr": "qps > 1"}))
            )
        )
        .error(409, "conflict");
        assert!(m.contains(&format!("`{name}`")), "{m}");
        let m = send!(
            app,
            admin(TestRequest::delete().uri(&format!("/api/alert-rules/{name}")))
        )
        .error(409, "conflict");
        assert!(m.contains("configuration file"), "{m}");
    }

    // Replace: the new expression is listed; a bad one leaves the old in place.
    let replaced = send!(
        app,
        admin(
            TestRequest::put()
                .uri("/api/alert-rules/Busy")
                .set_json(json!({"name": "Busy", "expr": "qps > 9000"}))
        )
    )
    .ok_json();
    assert!(
        replaced["condition"].as_str().unwrap().contains("9000"),
        "{replaced}"
    );
    send!(
        app,
        admin(
            TestRequest::put()
                .uri("/api/alert-rules/Busy")
                .set_json(json!({"name": "Busy", "expr": "qps > NaN"}))
        )
    )
    .error(400, "invalid_parameter");
    assert_eq!(store.user_rules().unwrap()[0].expr, "qps > 9000");
    send!(
        app,
        admin(
            TestRequest::put()
                .uri("/api/alert-rules/Nope")
                .set_json(json!({"name": "Nope", "expr": "qps > 1"}))
        )
    )
    .error(404, "not_found");

    let deleted = send!(
        app,
        admin(TestRequest::delete().uri("/api/alert-rules/Busy"))
    );
    assert_eq!(deleted.status.as_u16(), 204);
    send!(
        app,
        admin(TestRequest::delete().uri("/api/alert-rules/Busy"))
    )
    .error(404, "not_found");
    let after = send!(app, admin(TestRequest::get().uri("/api/alert-rules"))).ok_json();
    assert_eq!(after, before);
}

#[actix_web::test]
async fn a_rule_is_tested_against_the_stored_history_without_storing_anything() {
    let store = store();
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let now = OffsetDateTime::now_utc();
    // 20 cycles a minute apart in the last hour; qps above 1000 from the 10th on.
    for i in 0..20 {
        let at = now - time::Duration::minutes(60 - i);
        let qps = if i >= 10 { 2000.0 } else { 10.0 };
        store
            .insert_cycle(&snapshot(id, at, json!({"qps": qps})), &[])
            .unwrap();
    }
    let app = app!(store);
    let test = |rule: Value, extra: Value| {
        let mut body = json!({"rule": rule, "cluster_id": id});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        TestRequest::post()
            .uri("/api/alert-rules/test")
            .set_json(body)
    };
    let v = send!(
        app,
        test(
            json!({"name": "Busy", "expr": "qps > 1000", "for": "2m"}),
            json!({"range": "24h"})
        )
    )
    .ok_json();
    assert_eq!(v["would_fire"], true, "{v}");
    assert_eq!(
        (&v["cycles"], &v["cycles_in_range"]),
        (&json!(20), &json!(20))
    );
    assert_eq!(v["truncated"], false);
    assert_eq!(v["max_cycles"], 5000);
    let states: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["pending", "firing"], "{v}");

    let v = send!(
        app,
        test(json!({"name": "Quiet", "expr": "qps > 100000"}), json!({}))
    )
    .ok_json();
    assert_eq!(
        (&v["would_fire"], &v["events"]),
        (&json!(false), &json!([]))
    );

    send!(
        app,
        test(
            json!({"name": "Busy", "expr": "qps > 1"}),
            json!({"range": "2w"})
        )
    )
    .error(400, "invalid_parameter");
    send!(
        app,
        test(
            json!({"name": "Busy", "expr": "qps > 1"}),
            json!({"range": "1h", "from": "2025-01-01T00:00:00Z"})
        )
    )
    .error(400, "invalid_parameter");
    let m = send!(
        app,
        test(json!({"name": "Bad", "expr": "qps > NaN"}), json!({}))
    )
    .error(400, "invalid_parameter");
    assert!(m.contains("alert rule `Bad`"), "{m}");
    send!(
        app,
        TestRequest::post()
            .uri("/api/alert-rules/test")
            .set_json(json!({"rule": {"name": "B", "expr": "qps > 1"}, "cluster_id": 999}))
    )
    .error(404, "not_found");
    assert!(store.cluster_alerts(id).unwrap().is_empty());
    assert!(store.user_rules().unwrap().is_empty());
}

#[actix_web::test]
async fn a_node_rule_replays_whole_cycles_and_a_cluster_rule_every_snapshot() {
    let store = store();
    let id = store.create_cluster(&new_cluster("prod")).unwrap().id;
    let t0 = datetime!(2025-03-01 10:00 UTC);
    // Two hours of cycles a minute apart, each with its leader FE.
    for i in 0..120 {
        let at = t0 + time::Duration::minutes(i);
        let mut fe = node("fe", "fe1", json!({"alive": true, "role": "leader"}));
        (fe.cluster_id, fe.collected_at) = (id, at);
        store
            .insert_cycle(&snapshot(id, at, json!({"qps": 10.0})), &[fe])
            .unwrap();
    }
    // The first hour's node rows thinned to one cycle per half hour; its day is not rolled
    // up, so every snapshot stays.
    let hour = t0 + time::Duration::hours(1);
    assert_eq!(store.thin_before(hour, hour, 1000).unwrap(), 58);
    let app = app!(store);
    let replayed = |expr: &str| {
        TestRequest::post()
            .uri("/api/alert-rules/test")
            .set_json(json!({
                "rule": {"name": "R", "expr": expr},
                "cluster_id": id,
                "from": rfc3339(t0),
                "to": rfc3339(t0 + time::Duration::hours(2)),
            }))
    };
    // A rule over the nodes sees whole cycles only: the two kept of the first hour, then
    // every one.
    let v = send!(app, replayed("count(fe.alive) < 1")).ok_json();
    assert_eq!(
        (&v["cycles"], &v["cycles_in_range"]),
        (&json!(2 + 60), &json!(120)),
        "{v}"
    );
    // A rule over the cluster's fields sees every snapshot.
    let v = send!(app, replayed("qps > 1000")).ok_json();
    assert_eq!(
        (&v["cycles"], &v["cycles_in_range"]),
        (&json!(120), &json!(120)),
        "{v}"
    );
}
