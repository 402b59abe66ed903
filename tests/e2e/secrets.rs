//! Passwords and the API token never leave: not in any response body of a whole session, not in
//! the process's stdout/stderr at `RUST_LOG=debug` or `trace`, not in `check-config` output.

use std::time::Duration;

use rockscope_sim::{ClusterSpec, Fault, NodeId, SimConfig, Simulator, Version, base64_encode};
use serde_json::{Value, json};

use crate::support::{AppConfig, Auth, ConfigCluster, TestApp, rockscope_command, wait_for};

const TOKEN: &str = "e2e-Tok3n-9d1e-b7c2";
const FILE_PW: &str = "e2e-FilePw-41c7-e0aa";
const API_PW: &str = "e2e-ApiPw-58f2-c3d1";
const WRONG_PW: &str = "e2e-WrongPw-7a0b-1e9f";
const WRONG_PW2: &str = "e2e-WrongPw2-2c4d-8b6a";

/// Every secret of the scenario and the forms it could leak in (Basic auth header values).
fn secrets() -> Vec<String> {
    let mut all: Vec<String> = [TOKEN, FILE_PW, API_PW, WRONG_PW, WRONG_PW2]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for (user, pw) in [
        ("filemon", FILE_PW),
        ("apimon", API_PW),
        ("apimon", WRONG_PW),
        ("apimon", WRONG_PW2),
    ] {
        all.push(base64_encode(format!("{user}:{pw}").as_bytes()));
    }
    all
}

#[track_caller]
fn assert_no_secret(what: &str, text: &str) {
    for secret in secrets() {
        assert!(
            !text.contains(&secret),
            "{what} holds the secret {secret:?}:\n{text}"
        );
    }
}

/// Runs a whole session (collection with right and wrong passwords, every endpoint, failing
/// requests carrying passwords) at `RUST_LOG=level`; returns the app for further checks.
fn session(level: &str) -> (Simulator, TestApp) {
    let sim = Simulator::start(SimConfig::with_clusters(vec![
        ClusterSpec::new("sec-file", 1, 2, Version::V4_0).with_credentials("filemon", FILE_PW),
        ClusterSpec::new("sec-api", 1, 2, Version::V4_0).with_credentials("apimon", API_PW),
    ]))
    .expect("simulator");
    let file_info = sim.cluster("sec-file").unwrap();
    let api_info = sim.cluster("sec-api").unwrap();
    let app = TestApp::start(
        AppConfig::default()
            .token(TOKEN)
            .rust_log(level)
            .cluster(ConfigCluster::from_sim(&file_info)),
    );

    let api_id = app
        .post_json(
            "/api/clusters",
            &json!({"name": "sec-api", "fe_hosts": api_info.fe_hosts, "username": "apimon",
                    "password": API_PW}),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let wrong_id = app
        .post_json(
            "/api/clusters",
            &json!({"name": "sec-wrong", "fe_hosts": api_info.fe_hosts, "username": "apimon",
                    "password": WRONG_PW}),
        )
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let file_id = app.cluster_id("sec-file");

    // Failing requests that carry passwords.
    app.post_json(
        "/api/clusters",
        &json!({"name": "sec-api", "fe_hosts": api_info.fe_hosts, "username": "apimon",
                "password": API_PW}),
    )
    .expect_error(409, "conflict");
    app.post_json(
        "/api/clusters",
        &json!({"name": "x", "fe_hosts": api_info.fe_hosts, "username": "apimon",
                "password": API_PW, "passwrd": API_PW}),
    )
    .expect_error(400, "bad_request");
    app.post_json(
        "/api/clusters",
        &json!({"name": "x", "fe_hosts": api_info.fe_hosts, "username": "apimon",
                "password": [API_PW]}),
    )
    .expect_error(400, "bad_request");
    app.post_json(
        "/api/clusters",
        &json!({"name": "x", "fe_hosts": api_info.fe_hosts, "username": "apimon",
                "password": API_PW, "connect_timeout_secs": 0}),
    )
    .expect_error(400, "invalid_parameter");
    let padded = json!({"name": "x", "fe_hosts": api_info.fe_hosts, "username": "apimon",
                        "password": format!("{API_PW}{}", " ".repeat(70 * 1024))});
    app.post_json("/api/clusters", &padded)
        .expect_error(413, "payload_too_large");
    app.get_with("/api/clusters", Auth::Bearer(&format!("{TOKEN}-not")))
        .expect_error(401, "unauthorized");

    // Collection: the right passwords give snapshots, the wrong one a failure.
    app.wait_for_snapshots(file_id, 2, Duration::from_secs(20));
    app.wait_for_snapshots(api_id, 2, Duration::from_secs(20));
    wait_for(
        "the wrong password to fail",
        Duration::from_secs(10),
        || {
            let status = app.get("/api/collector/status").expect(200);
            status["clusters"]
                .as_array()?
                .iter()
                .find(|c| c["cluster_id"] == wrong_id && c["last_error"].is_string())
                .map(|_| ())
        },
    );
    // A password change through PUT, collected (and failing) once more.
    let before = app.get("/api/collector/status").expect(200);
    app.put_json(
        &format!("/api/clusters/{wrong_id}"),
        &json!({"password": WRONG_PW2}),
    )
    .expect(200);
    wait_for(
        "a failed attempt with the new password",
        Duration::from_secs(10),
        || {
            let status = app.get("/api/collector/status").expect(200);
            let attempt = |s: &Value| {
                s["clusters"]
                    .as_array()
                    .and_then(|c| c.iter().find(|c| c["cluster_id"] == wrong_id).cloned())
                    .map(|c| c["last_attempt_at"].clone())
            };
            (attempt(&status) != attempt(&before)).then_some(())
        },
    );

    // Every endpoint, for every cluster.
    app.get("/api/clusters").expect(200);
    app.get("/api/clusters/overview").expect(200);
    for id in [file_id, api_id, wrong_id] {
        app.get(&format!("/api/clusters/{id}")).expect(200);
        app.get(&format!("/api/clusters/{id}/overview?time_range=15m"))
            .expect(200);
        app.get(&format!("/api/clusters/overview?cluster_id={id}"))
            .expect(200);
        app.get(&format!("/api/clusters/{id}/snapshots"))
            .expect(200);
        app.get(&format!("/api/clusters/{id}/snapshots?max_points=3"))
            .expect(200);
        app.get(&format!("/api/clusters/{id}/nodes")).expect(200);
        app.get(&format!("/api/clusters/{id}/daily")).expect(200);
        let probe = app
            .post_json(&format!("/api/clusters/{id}/test"), &json!({}))
            .expect(200);
        assert_eq!(probe["result"]["ok"], id != wrong_id, "{probe}");
    }
    app.get("/api/collector/status").expect(200);
    app.get("/health").expect(200);
    app.get("/ready");
    app.delete(&format!("/api/clusters/{wrong_id}"));
    (sim, app)
}

fn check_session(level: &str) {
    let (_sim, app) = session(level);
    let bodies = app.bodies();
    assert!(bodies.len() > 30, "only {} responses", bodies.len());
    for body in &bodies {
        assert_no_secret("a response body", body);
    }
    let logs = app.logs();
    // The logs are the level asked for (else the check would prove little).
    assert!(logs.contains("DEBUG"), "no debug line in the logs:\n{logs}");
    if level.contains("trace") {
        assert!(logs.contains("TRACE"), "no trace line in the logs");
    }
    assert_no_secret(&format!("the log at RUST_LOG={level}"), &logs);
    eprintln!(
        "[e2e] secrets at RUST_LOG={level}: {} bodies, {} log bytes, none holds a secret",
        bodies.len(),
        logs.len()
    );
}

#[test]
fn no_secret_in_bodies_or_debug_logs() {
    check_session("debug");
}

#[test]
fn no_secret_in_bodies_or_trace_logs() {
    check_session("trace");
}

#[test]
fn check_config_masks_secrets() {
    let dir = crate::support::TempDir::new("check-config");
    let config = dir.path().join("rockscope.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\napi_token = \"{TOKEN}\"\n[storage]\npath = \"x.db\"\n\
             [[clusters]]\nname = \"a\"\nfe_hosts = [\"127.0.0.1:8030\"]\nusername = \"filemon\"\npassword = \"{FILE_PW}\"\n"
        ),
    )
    .unwrap();
    let run = |env: Option<(&str, &str)>| {
        let mut command = rockscope_command();
        command
            .arg("--config")
            .arg(&config)
            .arg("check-config")
            .current_dir(dir.path());
        command.env("RUST_LOG", "trace");
        if let Some((k, v)) = env {
            command.env(k, v);
        }
        let output = command.output().expect("run check-config");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        assert!(output.status.success(), "{stdout}{stderr}");
        assert_no_secret("check-config's stderr", &stderr);
        stdout
    };
    let text = run(None);
    assert_no_secret("check-config output", &text);
    let shown: Value = serde_json::from_str(&text).expect("check-config prints JSON");
    assert_eq!(shown["server"]["api_token"], "***");
    assert_eq!(shown["clusters"][0]["password"], "***");
    assert_eq!(shown["clusters"][0]["username"], "filemon");
    // A token given through the environment is masked as well.
    let text = run(Some(("ROCKSCOPE_SERVER__API_TOKEN", API_PW)));
    assert_no_secret("check-config output (env token)", &text);
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown["server"]["api_token"], "***");
}

/// An FE that quotes the credentials back (`403 Access denied for credentials user:password`,
/// the Basic header) or echoes the request head: the password reaches neither the collector
/// status, nor `/test`, nor a log line, nor the database.
#[test]
fn credentials_echoed_by_a_node_are_scrubbed_everywhere() {
    const ECHO_PW: &str = "e2e-EchoPw-6d2a-f018";
    let sim = Simulator::start(SimConfig::with_clusters(vec![
        ClusterSpec::new("sec-echo", 1, 1, Version::V4_0).with_credentials("echomon", ECHO_PW),
    ]))
    .expect("simulator");
    let info = sim.cluster("sec-echo").unwrap();
    let app = TestApp::start(AppConfig::default().cluster(ConfigCluster::from_sim(&info)));
    let id = app.cluster_id("sec-echo");
    let forms = [
        ECHO_PW.to_owned(),
        base64_encode(format!("echomon:{ECHO_PW}").as_bytes()),
    ];
    let assert_clean = |what: &str, text: &str| {
        for form in &forms {
            assert!(
                !text.contains(form.as_str()),
                "{what} holds {form:?}:\n{text}"
            );
        }
    };
    for fault in [Fault::EchoCredentials, Fault::EchoHeaders] {
        sim.set_fault("sec-echo", NodeId::fe(0), fault).unwrap();
        let status = wait_for(
            "the collection to fail on the echoing FE",
            Duration::from_secs(15),
            || {
                let status = app.get("/api/collector/status").expect(200);
                let error = status["clusters"]
                    .as_array()?
                    .iter()
                    .find(|c| c["cluster_id"] == id)?["last_error"]
                    .as_str()?
                    .to_owned();
                let wanted = match fault {
                    Fault::EchoCredentials => "Access denied for credentials",
                    _ => "malformed body",
                };
                error.contains(wanted).then_some(status)
            },
        );
        assert_clean("/api/collector/status", &status.to_string());
        let probe = app
            .post_json(&format!("/api/clusters/{id}/test"), &json!({}))
            .expect(200);
        assert_eq!(probe["result"]["ok"], false, "{probe}");
        assert_clean("POST /test", &probe.to_string());
        assert_clean(
            "the overview",
            &app.get("/api/clusters/overview").expect(200).to_string(),
        );
    }
    for body in app.bodies() {
        assert_clean("a response body", &body);
    }
    assert_clean("the log", &app.logs());
    let store = rockscope_store::Store::open(app.database_path()).expect("open the database");
    let stored = store
        .recent_errors(Some(id), 1000)
        .expect("collection_errors");
    assert!(!stored.is_empty(), "no collection error stored");
    for error in stored {
        assert_clean("a collection_errors row", &error.message);
    }
}
