//! Alerts: `GET /api/alerts` (active alerts), `GET /api/alerts/history`, `GET /api/alert-rules`
//! (the effective rules), the user rules' `POST /api/alert-rules`, `PUT` and `DELETE
//! /api/alert-rules/{name}`, and `POST /api/alert-rules/test` (a rule replayed over a cluster's
//! stored history, notifying nobody).

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use rockscope_alerts::{Frame, Rule, check_rule_with, replay};
use rockscope_model::{AlertState, MetricsSnapshot, NodeSnapshot, RuleSpec, Severity};
use rockscope_store::{AlertFilter, Store};
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::ApiState;
use crate::alert_rules::{RuleEditError, RuleSource};
use crate::dto::{
    AlertDto, AlertEventDto, AlertHistoryDto, AlertRuleDto, AlertRulesDto, AlertsDto, JsonObject,
    RuleTestDto, RuleTestRequest,
};
use crate::error::{ApiError, blocking};
use crate::params::{self, NoQuery, utc};

/// The events `/api/alerts/history` returns without `limit`.
pub const DEFAULT_HISTORY_LIMIT: usize = 100;

/// The most events one `/api/alerts/history` answer holds; larger `limit`s are capped to it.
pub const MAX_HISTORY_LIMIT: usize = 1000;

/// The most cycles (stored snapshots) one `POST /api/alert-rules/test` replays: the first ones
/// of the window when it holds more (the answer says so).
pub const MAX_TEST_CYCLES: usize = 5000;

/// The most node snapshots one rule test reads (its cycles are cut to those read whole).
pub const MAX_TEST_NODE_ROWS: usize = 100_000;

/// The window of a rule test without `range`, `from` or `to`.
pub const DEFAULT_TEST_RANGE: &str = "7d";

/// The interval a replay assumes when the window has fewer than two cycles.
const FALLBACK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

/// The query of `/api/alerts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertsQuery {
    cluster_id: Option<String>,
    severity: Option<String>,
    state: Option<String>,
}

/// The query of `/api/alerts/history`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryQuery {
    cluster_id: Option<String>,
    severity: Option<String>,
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
    since: Option<String>,
    limit: Option<String>,
}

fn severity(raw: Option<&str>) -> Result<Option<Severity>, ApiError> {
    raw.map(|raw| match raw.trim() {
        "info" => Ok(Severity::Info),
        "warning" => Ok(Severity::Warning),
        "critical" => Ok(Severity::Critical),
        _ => Err(ApiError::InvalidParameter(
            "severity must be one of info, warning, critical".to_owned(),
        )),
    })
    .transpose()
}

/// `state`: `pending` or `firing`, and `resolved` too where `with_resolved`.
fn state(raw: Option<&str>, with_resolved: bool) -> Result<Option<AlertState>, ApiError> {
    raw.map(|raw| match raw.trim() {
        "pending" => Ok(AlertState::Pending),
        "firing" => Ok(AlertState::Firing),
        "resolved" if with_resolved => Ok(AlertState::Resolved),
        _ if with_resolved => Err(ApiError::InvalidParameter(
            "state must be one of pending, firing, resolved".to_owned(),
        )),
        _ => Err(ApiError::InvalidParameter(
            "state must be one of pending, firing (resolved alerts are not active; see \
             /api/alerts/history)"
                .to_owned(),
        )),
    })
    .transpose()
}

fn filter(
    cluster_id: Option<&str>,
    severity_raw: Option<&str>,
    state_raw: Option<&str>,
    with_resolved: bool,
) -> Result<AlertFilter, ApiError> {
    Ok(AlertFilter {
        cluster_id: cluster_id
            .map(|raw| params::cluster_id("cluster_id", raw))
            .transpose()?,
        severity: severity(severity_raw)?,
        state: state(state_raw, with_resolved)?,
    })
}

/// `GET /api/alerts?cluster_id=&severity=&state=`: the pending and firing alerts.
pub(crate) async fn list(
    state: web::Data<ApiState>,
    query: web::Query<AlertsQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter(
        query.cluster_id.as_deref(),
        query.severity.as_deref(),
        query.state.as_deref(),
        false,
    )?;
    let store = state.store.clone();
    let (alerts, names) = blocking(move || {
        if let Some(id) = filter.cluster_id {
            store.get_cluster(id)?;
        }
        Ok((store.alerts(&filter)?, cluster_names(&store)?))
    })
    .await?;
    let alerts = alerts
        .into_iter()
        .filter(|a| a.state != AlertState::Resolved)
        .map(|a| AlertDto {
            cluster_name: names.get(&a.cluster_id).cloned().unwrap_or_default(),
            name: a.rule,
            state: a.state,
            severity: a.severity,
            cluster_id: a.cluster_id,
            labels: a.labels,
            annotations: a.annotations,
            active_since: utc(a.active_since),
            fired_at: a.fired_at.map(utc),
            value: a.value.filter(|v| v.is_finite()),
            fingerprint: a.fingerprint,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AlertsDto { alerts }))
}

fn cluster_names(store: &Store) -> Result<HashMap<i64, String>, ApiError> {
    Ok(store
        .list_clusters()?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// `GET /api/alerts/history?cluster_id=&severity=&state=&from=&to=|since=&limit=`: state
/// changes, newest first.
pub(crate) async fn history(
    state: web::Data<ApiState>,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter(
        query.cluster_id.as_deref(),
        query.severity.as_deref(),
        query.state.as_deref(),
        true,
    )?;
    let limit = params::positive_capped(
        "limit",
        query.limit.as_deref(),
        DEFAULT_HISTORY_LIMIT,
        MAX_HISTORY_LIMIT,
    )?;
    let (since, until) = match query.since.as_deref() {
        Some(_) if query.from.is_some() || query.to.is_some() => {
            return Err(ApiError::InvalidParameter(
                "give either since or from/to, not both".to_owned(),
            ));
        }
        Some(raw) => {
            let (_, length) = params::time_range(Some(raw))
                .map_err(|_| ApiError::InvalidParameter(since_message()))?;
            (Some(OffsetDateTime::now_utc() - length), None)
        }
        None => {
            let from = params::instant("from", query.from.as_deref())?;
            let to = params::instant("to", query.to.as_deref())?;
            if matches!((from, to), (Some(f), Some(t)) if f > t) {
                return Err(ApiError::InvalidParameter(
                    "from must not be after to".to_owned(),
                ));
            }
            (from, to)
        }
    };
    let store = state.store.clone();
    let events = blocking(move || {
        if let Some(id) = filter.cluster_id {
            store.get_cluster(id)?;
        }
        Ok(store.alert_history(&filter, since, until, limit)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(AlertHistoryDto {
        events: events.iter().map(AlertEventDto::from).collect(),
        limit,
    }))
}

fn since_message() -> String {
    let allowed: Vec<&str> = params::TIME_RANGES.iter().map(|(n, _)| *n).collect();
    format!("since must be one of {}", allowed.join(", "))
}

/// `GET /api/alert-rules`: every effective rule, built-in first.
pub(crate) async fn rules(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let handle = Arc::clone(&state.alert_rules);
    let set = handle.rules();
    let rules = set
        .rules()
        .iter()
        .map(|rule| {
            let source = handle.source(&rule.name).unwrap_or(RuleSource::Api);
            rule_dto(rule, source)
        })
        .collect();
    Ok(HttpResponse::Ok().json(AlertRulesDto { rules }))
}

fn rule_dto(rule: &Rule, source: RuleSource) -> AlertRuleDto {
    AlertRuleDto {
        name: rule.name.clone(),
        builtin: rule.builtin,
        source: source.as_str().to_owned(),
        enabled: rule.enabled,
        severity: rule.severity,
        for_duration: duration_text(rule.for_duration),
        keep_firing_for: duration_text(rule.keep_firing_for),
        condition: rule.condition(),
        labels: rule.labels.clone(),
        annotations: rule.annotations.clone(),
    }
}

/// A duration as Prometheus writes one: `0s`, `90s` → `1m30s`, `1h`, `1d2h`, `1500ms` →
/// `1s500ms`.
pub(crate) fn duration_text(d: std::time::Duration) -> String {
    const UNITS: [(&str, u128); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ];
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in UNITS {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// A rule body: a JSON object read as a [`RuleSpec`], whose errors name the rule when it has a
/// name.
fn rule_spec(body: Value) -> Result<RuleSpec, ApiError> {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(|n| format!("alert rule `{n}`: "))
        .unwrap_or_default();
    serde_json::from_value(body)
        .map_err(|e| ApiError::BadRequest(format!("{name}invalid rule: {e}")))
}

/// The rule validated alone ([`check_rule`]): `400` naming the rule and the problem.
fn checked(state: &ApiState, spec: &RuleSpec) -> Result<Rule, ApiError> {
    let custom = state.alert_rules.custom_names();
    check_rule_with(spec, &custom).map_err(|e| ApiError::InvalidParameter(e.to_string()))
}

fn edit_error(err: RuleEditError) -> ApiError {
    match err {
        RuleEditError::Invalid(_) => ApiError::InvalidParameter(err.to_string()),
        RuleEditError::ReadOnly { .. } => ApiError::Conflict(err.to_string()),
        RuleEditError::NotFound(name) => ApiError::NotFound(format!(
            "alert rule `{name}` not found among the rules created through the API"
        )),
        RuleEditError::Store(e) => e.into(),
    }
}

/// `POST /api/alert-rules`: `201 Created` with the rule and its `Location`.
pub(crate) async fn create(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
    body: web::Json<JsonObject<Value>>,
) -> Result<HttpResponse, ApiError> {
    let spec = rule_spec(body.into_inner().0)?;
    let rule = checked(&state, &spec)?;
    let handle = Arc::clone(&state.alert_rules);
    let stored = spec.clone();
    blocking(move || handle.create(&stored).map_err(edit_error)).await?;
    log::info!("api: created alert rule `{}`", spec.name);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/alert-rules/{}", spec.name)))
        .json(rule_dto(&rule, RuleSource::Api)))
}

/// `PUT /api/alert-rules/{name}`: replaces a rule created through the API (same name).
pub(crate) async fn replace(
    state: web::Data<ApiState>,
    name: web::Path<String>,
    _query: web::Query<NoQuery>,
    body: web::Json<JsonObject<Value>>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let spec = rule_spec(body.into_inner().0)?;
    if spec.name != name {
        return Err(ApiError::InvalidParameter(format!(
            "alert rule `{name}`: the body's name `{}` differs from the path's; to rename a \
             rule, create the new one and delete the old",
            spec.name
        )));
    }
    let rule = checked(&state, &spec)?;
    let handle = Arc::clone(&state.alert_rules);
    blocking(move || handle.replace(&name, &spec).map_err(edit_error)).await?;
    log::info!("api: replaced alert rule `{}`", rule.name);
    Ok(HttpResponse::Ok().json(rule_dto(&rule, RuleSource::Api)))
}

/// `DELETE /api/alert-rules/{name}`: `204 No Content`.
pub(crate) async fn delete(
    state: web::Data<ApiState>,
    name: web::Path<String>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let handle = Arc::clone(&state.alert_rules);
    let deleted = name.clone();
    blocking(move || handle.delete(&deleted).map_err(edit_error)).await?;
    log::info!("api: deleted alert rule `{name}`");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/alert-rules/test`: the rule replayed over the cluster's stored cycles in the
/// window, without storing or notifying anything.
pub(crate) async fn test(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
    body: web::Json<JsonObject<Value>>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner().0;
    let req: RuleTestRequest = serde_json::from_value(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?;
    let rule = checked(&state, &req.rule)?;
    let (from, to) = test_window(&req)?;
    let store = state.store.clone();
    let cluster_id = req.cluster_id;
    let answer = blocking(move || {
        let cluster = store.get_cluster(cluster_id)?;
        let cycles_in_range = store.count_snapshots(cluster_id, from, to)?;
        let (snapshots, nodes) = read_cycles(&store, cluster_id, from, to, rule.reads_nodes())?;
        let frames = frames(&snapshots, &nodes);
        let events = replay(&rule, &cluster.name, interval(&snapshots), &frames);
        let fired = events
            .iter()
            .filter(|e| e.state == AlertState::Firing)
            .count();
        Ok(RuleTestDto {
            rule: rule.name.clone(),
            cluster_id,
            from,
            to,
            would_fire: fired > 0,
            fired,
            cycles: snapshots.len(),
            cycles_in_range,
            max_cycles: MAX_TEST_CYCLES,
            truncated: (snapshots.len() as u64) < cycles_in_range,
            replayed_to: snapshots.last().map(|s| utc(s.collected_at)),
            events: events.iter().map(AlertEventDto::from).collect(),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The test's window: `range` ending now (default [`DEFAULT_TEST_RANGE`]), or `from`/`to`.
fn test_window(req: &RuleTestRequest) -> Result<(OffsetDateTime, OffsetDateTime), ApiError> {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    if req.range.is_some() && (req.from.is_some() || req.to.is_some()) {
        return Err(ApiError::InvalidParameter(
            "give either range or from/to, not both".to_owned(),
        ));
    }
    if req.from.is_none() && req.to.is_none() {
        let raw = req.range.as_deref().unwrap_or(DEFAULT_TEST_RANGE);
        let (_, length) = params::time_range(Some(raw)).map_err(|_| {
            let allowed: Vec<&str> = params::TIME_RANGES.iter().map(|(n, _)| *n).collect();
            ApiError::InvalidParameter(format!("range must be one of {}", allowed.join(", ")))
        })?;
        return Ok((now - length, now));
    }
    params::window(
        req.from.as_deref(),
        req.to.as_deref(),
        Duration::days(7),
        now,
    )
}

/// The first [`MAX_TEST_CYCLES`] snapshots of the window and their node snapshots (at most
/// [`MAX_TEST_NODE_ROWS`]; a cycle whose nodes were not all read is left out). For a rule that
/// reads the nodes (`whole_cycles`), a snapshot whose nodes were thinned before it (node rows
/// keep full resolution for a shorter time) is left out too: that rule replays whole cycles.
fn read_cycles(
    store: &Store,
    cluster_id: i64,
    from: OffsetDateTime,
    to: OffsetDateTime,
    whole_cycles: bool,
) -> Result<(Vec<MetricsSnapshot>, Vec<NodeSnapshot>), ApiError> {
    let mut snapshots = store.snapshots_range(cluster_id, from, to, MAX_TEST_CYCLES)?;
    let (Some(first), Some(last)) = (snapshots.first(), snapshots.last()) else {
        return Ok((snapshots, Vec::new()));
    };
    let mut nodes = store.nodes_range(
        cluster_id,
        first.collected_at,
        last.collected_at,
        MAX_TEST_NODE_ROWS,
    )?;
    if nodes.len() >= MAX_TEST_NODE_ROWS
        && let Some(cut) = nodes.last().map(|n| n.collected_at)
    {
        nodes.retain(|n| n.collected_at < cut);
        snapshots.retain(|s| s.collected_at < cut);
    }
    if whole_cycles && let Some(thinned) = store.nodes_thinned_until(cluster_id)? {
        let with_nodes: std::collections::HashSet<OffsetDateTime> =
            nodes.iter().map(|n| n.collected_at).collect();
        snapshots.retain(|s| s.collected_at >= thinned || with_nodes.contains(&s.collected_at));
    }
    Ok((snapshots, nodes))
}

/// Each snapshot with its node snapshots (both in time order).
fn frames<'a>(snapshots: &'a [MetricsSnapshot], nodes: &'a [NodeSnapshot]) -> Vec<Frame<'a>> {
    let mut rest = nodes;
    snapshots
        .iter()
        .map(|snapshot| {
            // Skip node rows of a cycle without its snapshot (none, normally).
            let skip = rest
                .iter()
                .take_while(|n| n.collected_at < snapshot.collected_at)
                .count();
            rest = &rest[skip..];
            let own = rest
                .iter()
                .take_while(|n| n.collected_at == snapshot.collected_at)
                .count();
            let (mine, later) = rest.split_at(own);
            rest = later;
            Frame {
                snapshot,
                nodes: mine,
            }
        })
        .collect()
}

/// The collection interval the replay assumes: the median gap between the cycles.
fn interval(snapshots: &[MetricsSnapshot]) -> std::time::Duration {
    let mut gaps: Vec<Duration> = snapshots
        .windows(2)
        .map(|w| w[1].collected_at - w[0].collected_at)
        .collect();
    if gaps.is_empty() {
        return FALLBACK_INTERVAL;
    }
    gaps.sort();
    std::time::Duration::try_from(gaps[gaps.len() / 2]).unwrap_or(FALLBACK_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::duration_text;
    use std::time::Duration;

    #[test]
    fn durations_read_like_prometheus() {
        let d = Duration::from_secs;
        assert_eq!(duration_text(d(0)), "0s");
        assert_eq!(duration_text(d(300)), "5m");
        assert_eq!(duration_text(d(90)), "1m30s");
        assert_eq!(duration_text(d(93_600)), "1d2h");
        assert_eq!(duration_text(Duration::from_millis(1500)), "1s500ms");
    }
}
