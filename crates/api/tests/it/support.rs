//! Shared helpers: the app, snapshot builders, responses.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use rockscope_api::{ApiState, ClusterTester};
use rockscope_collector::StatusBoard;
use rockscope_model::{DailySnapshot, MetricsSnapshot, NodeSnapshot};
use rockscope_store::{Cluster, Column, ColumnKind, NewCluster, Password, Store};
use serde_json::{Map, Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

pub const TOKEN: &str = "t0ken-for-tests";

/// A tester that echoes the password, to check that the API masks it.
pub struct FakeTester;

impl ClusterTester for FakeTester {
    fn test(&self, cluster: &Cluster) -> Value {
        json!({
            "endpoints": [
                {"endpoint": cluster.fe_hosts[0], "ok": true, "latency_ms": 3},
            ],
            "note": format!("logged in as {} with {}", cluster.username, cluster.password.expose()),
        })
    }
}

pub fn state(store: &Store, token: Option<&str>) -> ApiState {
    ApiState {
        store: store.clone(),
        status: StatusBoard::default(),
        api_token: token.map(str::to_owned),
        api_read_token: None,
        tester: Arc::new(FakeTester),
        overview_cache: rockscope_api::OverviewCache::default(),
        summaries_cache: rockscope_api::SummariesCache::default(),
        alert_rules: Arc::new(
            rockscope_api::AlertRules::load(store.clone(), Vec::new(), Vec::new())
                .expect("the built-in rules build"),
        ),
        delivery: None,
        exported: Default::default(),
        telemetry: Default::default(),
        remote_write: None,
        custom_metrics: Arc::new(
            rockscope_api::CustomMetrics::load(store.clone(), Vec::new())
                .expect("no definitions compile"),
        ),
    }
}

/// `init_service` of an app with the API configured.
macro_rules! app {
    ($store:expr) => {
        app!($store, None)
    };
    ($store:expr, $token:expr) => {
        actix_web::test::init_service(
            actix_web::App::new()
                .wrap(actix_web::middleware::from_fn(
                    rockscope_api::observe_request,
                ))
                .configure(rockscope_api::configure($crate::support::state(
                    &$store, $token,
                ))),
        )
        .await
    };
}

/// Call the app with a `TestRequest`; gives a [`Reply`].
macro_rules! send {
    ($app:expr, $req:expr) => {{
        let res = actix_web::test::call_service(&$app, $req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        let body = actix_web::test::read_body(res).await;
        $crate::support::Reply {
            status,
            headers,
            text: String::from_utf8(body.to_vec()).expect("utf-8 body"),
        }
    }};
}

macro_rules! get {
    ($app:expr, $uri:expr) => {
        send!($app, actix_web::test::TestRequest::get().uri(&$uri))
    };
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the error shape, status and code; gives the message.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        let v = self.json();
        let obj = v.as_object().expect("object");
        assert_eq!(obj.len(), 1, "only `error`: {v}");
        let err = v["error"].as_object().expect("error object");
        assert_eq!(err.len(), 2, "code and message: {v}");
        assert_eq!(err["code"], code, "{v}");
        err["message"].as_str().expect("message").to_owned()
    }

    #[track_caller]
    pub fn ok_json(&self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text);
        self.json()
    }
}

pub fn store() -> Store {
    Store::open_temporary().expect("temporary store")
}

pub fn new_cluster(name: &str) -> NewCluster {
    NewCluster {
        name: name.into(),
        fe_hosts: vec!["10.0.0.1:8030".into()],
        username: "monitor".into(),
        password: Password::new("p@ss"),
        connect_timeout_secs: None,
        request_timeout_secs: None,
        enabled: true,
    }
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap()
}

/// Optional columns null, required ones zero / false.
fn sparse(columns: &[Column]) -> Map<String, Value> {
    columns
        .iter()
        .map(|c| {
            let v = match c.kind {
                ColumnKind::RequiredReal => json!(0.0),
                ColumnKind::RequiredInt => json!(0),
                ColumnKind::RequiredText => json!(""),
                ColumnKind::Bool => json!(false),
                _ => Value::Null,
            };
            (c.name.to_owned(), v)
        })
        .collect()
}

/// A snapshot with the given fields set (the rest null / zero), scraped OK.
pub fn snapshot(cluster_id: i64, at: OffsetDateTime, fields: Value) -> MetricsSnapshot {
    let mut m = sparse(Store::metric_columns());
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("collected_at".into(), json!(rfc3339(at)));
    m.insert("source_errors".into(), json!([]));
    m.insert("scrape_nodes_total".into(), json!(2));
    m.insert("scrape_nodes_ok".into(), json!(2));
    for (k, v) in fields.as_object().expect("object").clone() {
        assert!(m.contains_key(&k), "unknown snapshot field {k}");
        m.insert(k, v);
    }
    serde_json::from_value(Value::Object(m)).expect("snapshot")
}

/// A node snapshot of `kind` with the given fields set.
pub fn node(kind: &str, id: &str, fields: Value) -> NodeSnapshot {
    let mut m = sparse(Store::node_columns());
    m.insert("cluster_id".into(), json!(0));
    m.insert(
        "collected_at".into(),
        json!(rfc3339(OffsetDateTime::UNIX_EPOCH)),
    );
    m.insert("node_type".into(), json!(kind));
    m.insert("node_id".into(), json!(id));
    m.insert("host".into(), json!(format!("10.0.1.{}", id.len())));
    m.insert("http_port".into(), json!(8040));
    for (k, v) in fields.as_object().expect("object").clone() {
        assert!(m.contains_key(&k), "unknown node field {k}");
        m.insert(k, v);
    }
    serde_json::from_value(Value::Object(m)).expect("node snapshot")
}

/// A daily row with the given fields set.
pub fn daily(cluster_id: i64, date: Date, fields: Value) -> DailySnapshot {
    let mut m = sparse(Store::daily_columns());
    let at = date.midnight().assume_utc();
    m.insert("cluster_id".into(), json!(cluster_id));
    m.insert("date".into(), json!(date.to_string()));
    m.insert("first_at".into(), json!(rfc3339(at)));
    m.insert(
        "last_at".into(),
        json!(rfc3339(at + time::Duration::hours(23))),
    );
    for (k, v) in fields.as_object().expect("object").clone() {
        assert!(m.contains_key(&k), "unknown daily field {k}");
        m.insert(k, v);
    }
    serde_json::from_value(Value::Object(m)).expect("daily row")
}
