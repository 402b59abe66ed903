//! History of one cluster: `GET /api/clusters/{id}/snapshots`, `/nodes` and `/daily`.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use rockscope_store::snapshots::MAX_RAW_SNAPSHOTS;
use serde::Deserialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::ApiState;
use crate::dto::{SnapshotPointDto, SnapshotsDto};
use crate::error::{ApiError, blocking};
use crate::params::{self, DEFAULT_SNAPSHOT_WINDOW, utc};

/// The most raw snapshots one `/snapshots` answer holds (the first ones of the window).
pub const RAW_SNAPSHOT_CAP: usize = MAX_RAW_SNAPSHOTS;

/// The query of `/snapshots`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotsQuery {
    from: Option<String>,
    to: Option<String>,
    fields: Option<String>,
    max_points: Option<String>,
}

/// The query of `/daily`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DailyQuery {
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/clusters/{id}/snapshots?from=&to=&fields=a,b&max_points=`.
pub(crate) async fn snapshots(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    query: web::Query<SnapshotsQuery>,
) -> Result<HttpResponse, ApiError> {
    let cluster_id = id.into_inner();
    // Whole milliseconds, the store's precision.
    let now = OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    let (from, to) = params::window(
        query.from.as_deref(),
        query.to.as_deref(),
        DEFAULT_SNAPSHOT_WINDOW,
        now,
    )?;
    let fields = snapshot_fields(&state, cluster_id, from, to, query.fields.as_deref()).await?;
    let max_points = query
        .max_points
        .as_deref()
        .map(|raw| params::max_points(Some(raw), params::DEFAULT_MAX_POINTS))
        .transpose()?;
    let store = state.store.clone();
    let field_names: Option<Vec<String>> = fields.as_ref().map(|f| {
        let builtin = f.builtin.iter().map(|s| (*s).to_owned());
        builtin.chain(f.custom.iter().cloned()).collect()
    });

    let body = match max_points {
        None => {
            let (total, rows) = blocking(move || {
                store.get_cluster(cluster_id)?;
                let total = store.count_snapshots(cluster_id, from, to)?;
                let rows = store.snapshots_range(cluster_id, from, to, RAW_SNAPSHOT_CAP)?;
                Ok((total, rows))
            })
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let full = serde_json::to_value(row)
                    .map_err(|e| ApiError::internal("encode snapshot", e))?;
                out.push(match &fields {
                    None => full,
                    Some(fields) => pick(full, fields),
                });
            }
            SnapshotsDto {
                cluster_id,
                from,
                to,
                fields: field_names,
                downsampled: false,
                max_points: None,
                total,
                truncated: total > out.len() as u64,
                snapshots: Some(out),
                points: None,
            }
        }
        Some(max_points) => {
            // Without `fields`: every numeric field and every custom metric in force.
            let wanted = fields.unwrap_or_else(|| params::FieldList {
                builtin: rockscope_store::Store::numeric_metric_fields().collect(),
                custom: custom_in_force(&state),
            });
            let builtin = wanted.builtin.clone();
            let custom = wanted.custom.clone();
            let (total, series) = blocking(move || {
                store.get_cluster(cluster_id)?;
                let total = store.count_snapshots(cluster_id, from, to)?;
                let custom: Vec<&str> = custom.iter().map(String::as_str).collect();
                let series = store.series_with_stats_custom(
                    cluster_id, from, to, &builtin, &custom, max_points,
                )?;
                Ok((total, series.points))
            })
            .await?;
            let names: Vec<&str> = wanted
                .builtin
                .iter()
                .copied()
                .chain(wanted.custom.iter().map(String::as_str))
                .collect();
            let points = series
                .iter()
                .map(|p| {
                    let mut avg = BTreeMap::new();
                    let mut max = BTreeMap::new();
                    for (name, v) in names.iter().zip(&p.values) {
                        avg.insert((*name).to_owned(), v.avg);
                        max.insert((*name).to_owned(), v.max);
                    }
                    SnapshotPointDto {
                        timestamp: utc(p.timestamp),
                        count: p.count,
                        avg,
                        max,
                    }
                })
                .collect();
            SnapshotsDto {
                cluster_id,
                from,
                to,
                fields: field_names,
                downsampled: true,
                max_points: Some(max_points),
                total,
                truncated: false,
                snapshots: None,
                points: Some(points),
            }
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// The names of the custom metrics in force.
fn custom_in_force(state: &ApiState) -> Vec<String> {
    let set = state.custom_metrics.set();
    set.metrics().iter().map(|m| m.name.clone()).collect()
}

/// `fields` of `/snapshots`: built-in fields, and custom metrics in force or with history in
/// the window (a removed definition's history stays readable until retention).
async fn snapshot_fields(
    state: &ApiState,
    cluster_id: i64,
    from: OffsetDateTime,
    to: OffsetDateTime,
    raw: Option<&str>,
) -> Result<Option<params::FieldList>, ApiError> {
    let in_force = custom_in_force(state);
    let first = params::fields(raw, |name| in_force.iter().any(|n| n == name));
    if first.is_ok() || raw.is_none() {
        return first;
    }
    let store = state.store.clone();
    let stored = blocking(move || Ok(store.custom_names(cluster_id, from, to)?)).await?;
    params::fields(raw, |name| {
        in_force.iter().chain(&stored).any(|n| n == name)
    })
}

/// `collected_at` and `fields` of a serialized snapshot: the built-in fields from the top
/// level, the custom metrics from its `custom` object (`null` when the cycle has no value).
fn pick(full: Value, fields: &params::FieldList) -> Value {
    let Value::Object(mut all) = full else {
        return full;
    };
    let mut out = Map::new();
    for key in std::iter::once("collected_at").chain(fields.builtin.iter().copied()) {
        if let Some(v) = all.remove(key) {
            out.insert(key.to_owned(), v);
        }
    }
    let mut custom = match all.remove("custom") {
        Some(Value::Object(custom)) => custom,
        _ => Map::new(),
    };
    for name in &fields.custom {
        out.insert(name.clone(), custom.remove(name).unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// `GET /api/clusters/{id}/nodes`: the newest cycle's node snapshots, FEs, then BEs, then CNs.
pub(crate) async fn nodes(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    _query: web::Query<params::NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let cluster_id = id.into_inner();
    let store = state.store.clone();
    let nodes = blocking(move || {
        store.get_cluster(cluster_id)?;
        Ok(store.latest_nodes(cluster_id)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(nodes))
}

/// `GET /api/clusters/{id}/daily?from=YYYY-MM-DD&to=YYYY-MM-DD`: daily roll-ups, oldest first.
pub(crate) async fn daily(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    query: web::Query<DailyQuery>,
) -> Result<HttpResponse, ApiError> {
    let cluster_id = id.into_inner();
    let (from, to) = params::date_window(
        query.from.as_deref(),
        query.to.as_deref(),
        OffsetDateTime::now_utc().date(),
    )?;
    let store = state.store.clone();
    let (rows, custom) = blocking(move || {
        store.get_cluster(cluster_id)?;
        let rows = store.daily_range(cluster_id, from, to)?;
        let custom = store.custom_daily_range(cluster_id, from, to)?;
        Ok((rows, custom))
    })
    .await?;
    // The custom metrics' roll-ups by day, then by name.
    let mut by_day: BTreeMap<time::Date, Map<String, Value>> = BTreeMap::new();
    for c in &custom {
        let stats = serde_json::json!({
            "avg": c.avg, "min": c.min, "max": c.max, "samples": c.samples,
        });
        by_day
            .entry(c.date)
            .or_default()
            .insert(c.name.clone(), stats);
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut value =
            serde_json::to_value(row).map_err(|e| ApiError::internal("encode daily row", e))?;
        let of_day = by_day.remove(&row.date).unwrap_or_default();
        if let Value::Object(fields) = &mut value {
            fields.insert("custom".to_owned(), Value::Object(of_day));
        }
        out.push(value);
    }
    Ok(HttpResponse::Ok().json(out))
}
