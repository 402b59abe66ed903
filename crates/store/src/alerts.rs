//! Alerts: the current alerts of each cluster (`alerts`, one row per cluster and fingerprint,
//! every alert that is not inactive), their history (`alert_events`, one row per state change)
//! and the user rules created through the API (`alert_rules`, the [`RuleSpec`] as JSON).
//!
//! The evaluator (`rockscope-alerts`) reads a cluster's alerts with [`Store::cluster_alerts`]
//! and its result is stored with [`Store::save_alert_evaluation`], which replaces the cluster's
//! alerts and appends the events in one transaction, so that a restart finds exactly the state
//! of the last evaluation. Labels and annotations are stored as JSON objects.

use std::collections::BTreeMap;

use rockscope_model::{Alert, AlertEvent, AlertState, RuleSpec, Severity};
use rusqlite::types::{ToSql, Value};
use rusqlite::{Row, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::columns::{from_ms, get, to_ms};
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::named_specs::NamedSpecs;
use crate::retention::{Batched, Pace, delete_batched};
use crate::snapshots::query_all;
use crate::{Store, sql_limit};

/// Which alerts or events a query returns; `None` matches every value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Only this cluster's.
    pub cluster_id: Option<i64>,
    /// Only of this severity.
    pub severity: Option<Severity>,
    /// Only in this state (for events: the state entered).
    pub state: Option<AlertState>,
}

impl AlertFilter {
    /// `WHERE …` (or nothing) over `cluster_id`, `severity` and `state`, with its parameters.
    fn condition(&self) -> (String, Vec<Value>) {
        let mut terms = Vec::new();
        let mut values = Vec::new();
        if let Some(id) = self.cluster_id {
            values.push(Value::Integer(id));
            terms.push(format!("cluster_id = ?{}", values.len()));
        }
        if let Some(severity) = self.severity {
            values.push(Value::Text(severity.as_str().to_owned()));
            terms.push(format!("severity = ?{}", values.len()));
        }
        if let Some(state) = self.state {
            values.push(Value::Text(state.as_str().to_owned()));
            terms.push(format!("state = ?{}", values.len()));
        }
        (terms.join(" AND "), values)
    }
}

/// The columns [`alert_from_row`] reads, in order.
const ALERT_COLUMNS: &str = "cluster_id, rule, fingerprint, labels, annotations, state, \
     severity, value, active_since, fired_at, last_true_at, resolved_at, evaluated_at, \
     last_sent_at, last_sent_state, keep_firing_since";

/// The columns [`event_from_row`] reads, in order.
const EVENT_COLUMNS: &str = "cluster_id, rule, fingerprint, labels, state, severity, value, at";

/// `values` as the parameters of [`query_all`].
fn bound(values: &[Value]) -> Vec<&dyn ToSql> {
    values.iter().map(|v| v as &dyn ToSql).collect()
}

fn to_json(map: &BTreeMap<String, String>, what: &str) -> Result<String> {
    serde_json::to_string(map).map_err(|e| Error::corrupt(what, format_args!("cannot encode: {e}")))
}

fn from_json(text: &str, what: &str) -> Result<BTreeMap<String, String>> {
    serde_json::from_str(text)
        .map_err(|e| Error::corrupt(what, format_args!("not a JSON object of strings: {e}")))
}

fn parse_state(text: &str, what: &str) -> Result<AlertState> {
    match text {
        "pending" => Ok(AlertState::Pending),
        "firing" => Ok(AlertState::Firing),
        "resolved" => Ok(AlertState::Resolved),
        other => Err(Error::corrupt(
            what,
            format_args!("unknown state `{other}`"),
        )),
    }
}

fn parse_severity(text: &str, what: &str) -> Result<Severity> {
    match text {
        "info" => Ok(Severity::Info),
        "warning" => Ok(Severity::Warning),
        "critical" => Ok(Severity::Critical),
        other => Err(Error::corrupt(
            what,
            format_args!("unknown severity `{other}`"),
        )),
    }
}

fn optional_time(ms: Option<i64>, what: &str) -> Result<Option<OffsetDateTime>> {
    ms.map(|ms| from_ms(ms, what)).transpose()
}

fn alert_from_row(row: &Row<'_>) -> Result<Alert> {
    const T: &str = "alerts";
    let last_sent_state: Option<String> = get(row, 14, T, "last_sent_state")?;
    Ok(Alert {
        cluster_id: get(row, 0, T, "cluster_id")?,
        rule: get(row, 1, T, "rule")?,
        fingerprint: get(row, 2, T, "fingerprint")?,
        labels: from_json(&get::<String>(row, 3, T, "labels")?, "alerts.labels")?,
        annotations: from_json(
            &get::<String>(row, 4, T, "annotations")?,
            "alerts.annotations",
        )?,
        state: parse_state(&get::<String>(row, 5, T, "state")?, "alerts.state")?,
        severity: parse_severity(&get::<String>(row, 6, T, "severity")?, "alerts.severity")?,
        value: get(row, 7, T, "value")?,
        active_since: from_ms(get(row, 8, T, "active_since")?, "alerts.active_since")?,
        fired_at: optional_time(get(row, 9, T, "fired_at")?, "alerts.fired_at")?,
        last_true_at: from_ms(get(row, 10, T, "last_true_at")?, "alerts.last_true_at")?,
        resolved_at: optional_time(get(row, 11, T, "resolved_at")?, "alerts.resolved_at")?,
        evaluated_at: from_ms(get(row, 12, T, "evaluated_at")?, "alerts.evaluated_at")?,
        last_sent_at: optional_time(get(row, 13, T, "last_sent_at")?, "alerts.last_sent_at")?,
        last_sent_state: last_sent_state
            .map(|s| parse_state(&s, "alerts.last_sent_state"))
            .transpose()?,
        keep_firing_since: optional_time(
            get(row, 15, T, "keep_firing_since")?,
            "alerts.keep_firing_since",
        )?,
    })
}

fn event_from_row(row: &Row<'_>) -> Result<AlertEvent> {
    const T: &str = "alert_events";
    Ok(AlertEvent {
        cluster_id: get(row, 0, T, "cluster_id")?,
        rule: get(row, 1, T, "rule")?,
        fingerprint: get(row, 2, T, "fingerprint")?,
        labels: from_json(&get::<String>(row, 3, T, "labels")?, "alert_events.labels")?,
        state: parse_state(&get::<String>(row, 4, T, "state")?, "alert_events.state")?,
        severity: parse_severity(
            &get::<String>(row, 5, T, "severity")?,
            "alert_events.severity",
        )?,
        value: get(row, 6, T, "value")?,
        at: from_ms(get(row, 7, T, "at")?, "alert_events.at")?,
    })
}

/// The user rules' table.
const USER_RULES: NamedSpecs = NamedSpecs {
    table: "alert_rules",
    what: "an alert rule",
};

impl Store {
    /// The stored alerts of cluster `cluster_id` (the evaluator's `previous`), by rule and
    /// fingerprint.
    pub fn cluster_alerts(&self, cluster_id: i64) -> Result<Vec<Alert>> {
        self.alerts(&AlertFilter {
            cluster_id: Some(cluster_id),
            ..AlertFilter::default()
        })
    }

    /// Stores one evaluation of cluster `cluster_id` in one transaction: its alerts become
    /// exactly `alerts` (an alert not in it is inactive, and deleted) and `events` are appended
    /// to the history. [`Error::NotFound`] when the cluster does not exist.
    pub fn save_alert_evaluation(
        &self,
        cluster_id: i64,
        alerts: &[Alert],
        events: &[AlertEvent],
    ) -> Result<()> {
        self.tracked((|| {
            let map_err = |e: rusqlite::Error| match constraint_of(&e) {
                Some(Constraint::ForeignKey) => Error::NotFound(format!("cluster {cluster_id}")),
                Some(Constraint::Unique) => Error::Conflict(format!(
                    "two alerts of cluster {cluster_id} have the same fingerprint"
                )),
                _ => Error::Sqlite(e),
            };
            let mut conn = self.conn()?;
            let _turn = self.write_turn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached("DELETE FROM alerts WHERE cluster_id = ?1")?
                .execute([cluster_id])?;
            {
                let mut insert = tx.prepare_cached(&format!(
                    "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
                ))?;
                for a in alerts {
                    insert
                        .execute(params![
                            cluster_id,
                            a.rule,
                            a.fingerprint,
                            to_json(&a.labels, "alerts.labels")?,
                            to_json(&a.annotations, "alerts.annotations")?,
                            a.state.as_str(),
                            a.severity.as_str(),
                            a.value,
                            to_ms(a.active_since),
                            a.fired_at.map(to_ms),
                            to_ms(a.last_true_at),
                            a.resolved_at.map(to_ms),
                            to_ms(a.evaluated_at),
                            a.last_sent_at.map(to_ms),
                            a.last_sent_state.map(AlertState::as_str),
                            a.keep_firing_since.map(to_ms),
                        ])
                        .map_err(map_err)?;
                }
            }
            {
                let mut insert = tx.prepare_cached(&format!(
                    "INSERT INTO alert_events ({EVENT_COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ))?;
                for e in events {
                    insert
                        .execute(params![
                            cluster_id,
                            e.rule,
                            e.fingerprint,
                            to_json(&e.labels, "alert_events.labels")?,
                            e.state.as_str(),
                            e.severity.as_str(),
                            e.value,
                            to_ms(e.at),
                        ])
                        .map_err(map_err)?;
                }
            }
            tx.commit()?;
            Ok(())
        })())
    }

    /// The stored alerts that match `filter` (resolved ones included unless filtered out), by
    /// cluster, rule and fingerprint.
    pub fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        let (condition, values) = filter.condition();
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {}{condition} \
             ORDER BY cluster_id, rule, fingerprint",
            if condition.is_empty() { "" } else { "WHERE " }
        );
        query_all(&*self.conn()?, &sql, &bound(&values), alert_from_row)
    }

    /// The alert history matching `filter` with `since <= at <= until` (either bound optional),
    /// newest first, at most `limit` events.
    pub fn alert_history(
        &self,
        filter: &AlertFilter,
        since: Option<OffsetDateTime>,
        until: Option<OffsetDateTime>,
        limit: usize,
    ) -> Result<Vec<AlertEvent>> {
        let (condition, mut values) = filter.condition();
        let mut terms: Vec<String> = Vec::new();
        if !condition.is_empty() {
            terms.push(condition);
        }
        if let Some(since) = since {
            values.push(Value::Integer(to_ms(since)));
            terms.push(format!("at >= ?{}", values.len()));
        }
        if let Some(until) = until {
            values.push(Value::Integer(to_ms(until)));
            terms.push(format!("at <= ?{}", values.len()));
        }
        values.push(Value::Integer(sql_limit(limit)));
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM alert_events {}{} ORDER BY at DESC, id DESC LIMIT ?{}",
            if terms.is_empty() { "" } else { "WHERE " },
            terms.join(" AND "),
            values.len()
        );
        query_all(&*self.conn()?, &sql, &bound(&values), event_from_row)
    }

    /// Deletes every alert event before `before`, in batches of at most `batch` rows (fewer when
    /// slower than [`crate::retention::BATCH_TARGET`]), like the other retention calls. Returns
    /// how many were deleted.
    pub fn delete_alert_events_before(
        &self,
        before: OffsetDateTime,
        batch: usize,
    ) -> Result<usize> {
        let mut pace = Pace::new(batch);
        let done: Batched = self.tracked(delete_batched(
            self,
            "alert_events",
            "at < ?1",
            &[Value::Integer(to_ms(before))],
            &mut pace,
        ))?;
        if done.rows > 0 {
            log::info!(
                "store: retention deleted {} alert events in {} batches",
                done.rows,
                done.batches
            );
        }
        Ok(done.rows)
    }

    /// The user rules created through the API, in the order they were created.
    pub fn user_rules(&self) -> Result<Vec<RuleSpec>> {
        USER_RULES.all(self)
    }

    /// Stores a new user rule; [`Error::Conflict`] when one of that name is stored. (Validation
    /// against every other rule is the caller's.)
    pub fn insert_user_rule(&self, spec: &RuleSpec) -> Result<()> {
        USER_RULES.insert(self, &spec.name, spec)
    }

    /// Replaces the user rule `name` with `spec` (which may rename it); `false` when there is
    /// no such rule, [`Error::Conflict`] when renaming onto another stored rule.
    pub fn replace_user_rule(&self, name: &str, spec: &RuleSpec) -> Result<bool> {
        USER_RULES.replace(self, name, &spec.name, spec)
    }

    /// Deletes the user rule `name`; `false` when there is no such rule. Its alerts go away at
    /// the next evaluation of each cluster.
    pub fn delete_user_rule(&self, name: &str) -> Result<bool> {
        USER_RULES.delete(self, name)
    }
}
