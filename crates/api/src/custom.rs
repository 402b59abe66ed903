//! `/api/custom-metrics` (the custom metric definitions: list, read, create, replace, delete)
//! and `GET /api/clusters/{id}/metric-families` (what the newest bodies offer to pick from).

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use rockscope_engine::CustomSet;
use rockscope_engine::custom::{CustomMetricWarning, compile};
use rockscope_model::{CustomMetricSpec, NodeFamilies, NodeKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ApiState;
use crate::custom_metrics::{CustomEditError, DefinitionSource};
use crate::dto::JsonObject;
use crate::error::{ApiError, blocking};
use crate::params::NoQuery;

/// One definition as the API shows it: the keys as written, where it comes from and what
/// looks wrong with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomMetricDto {
    /// The definition, with the config file's keys.
    #[serde(flatten)]
    pub spec: CustomMetricSpec,
    /// `config` (read-only here) or `api`.
    pub source: String,
    /// What the newest bodies say against it ("rate on a gauge", a series no body has).
    pub warnings: Vec<String>,
}

/// `GET /api/custom-metrics`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomMetricsDto {
    /// Every definition in force: the config file's first, then the API's in creation order.
    pub custom_metrics: Vec<CustomMetricDto>,
}

/// `GET /api/custom-metrics`.
pub(crate) async fn list(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let specs = state.custom_metrics.specs();
    let findings = Findings::now(&state);
    let custom_metrics = specs
        .iter()
        .map(|(spec, source)| findings.dto(spec, *source))
        .collect();
    Ok(HttpResponse::Ok().json(CustomMetricsDto { custom_metrics }))
}

/// `GET /api/custom-metrics/{name}`.
pub(crate) async fn get(
    state: web::Data<ApiState>,
    name: web::Path<String>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let specs = state.custom_metrics.specs();
    let (spec, source) = specs
        .iter()
        .find(|(s, _)| s.name == *name)
        .ok_or_else(|| not_found(&name))?;
    Ok(HttpResponse::Ok().json(Findings::now(&state).dto(spec, *source)))
}

/// `POST /api/custom-metrics`: `201 Created` with the definition and its `Location`; in force
/// from each cluster's next cycle.
pub(crate) async fn create(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
    body: web::Json<JsonObject<Value>>,
) -> Result<HttpResponse, ApiError> {
    let spec = spec_of(body.into_inner().0)?;
    let handle = Arc::clone(&state.custom_metrics);
    let stored = spec.clone();
    blocking(move || handle.create(&stored).map_err(edit_error)).await?;
    log::info!("api: created custom metric {:?}", spec.name);
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/custom-metrics/{}", spec.name),
        ))
        .json(Findings::now(&state).dto(&spec, DefinitionSource::Api)))
}

/// `PUT /api/custom-metrics/{name}`: replaces a definition created through the API (same
/// name).
pub(crate) async fn replace(
    state: web::Data<ApiState>,
    name: web::Path<String>,
    _query: web::Query<NoQuery>,
    body: web::Json<JsonObject<Value>>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let spec = spec_of(body.into_inner().0)?;
    if spec.name != name {
        return Err(ApiError::InvalidParameter(format!(
            "custom metric {name:?}: the body's name {:?} differs from the path's; to rename a \
             definition, create the new one and delete the old",
            spec.name
        )));
    }
    let handle = Arc::clone(&state.custom_metrics);
    let stored = spec.clone();
    blocking(move || handle.replace(&name, &stored).map_err(edit_error)).await?;
    state.status.forget_custom_warning(&spec.name);
    log::info!("api: replaced custom metric {:?}", spec.name);
    Ok(HttpResponse::Ok().json(Findings::now(&state).dto(&spec, DefinitionSource::Api)))
}

/// `DELETE /api/custom-metrics/{name}`: `204 No Content`; the history stays until retention.
/// Refused (`409`) while another definition's `ratio_of` or an alert rule reads it.
pub(crate) async fn delete(
    state: web::Data<ApiState>,
    name: web::Path<String>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    let handle = Arc::clone(&state.custom_metrics);
    let rules = state.alert_rules.rules();
    let deleted = name.clone();
    blocking(move || {
        let used_by = |metric: &str| {
            let using = rules.rules_using(metric);
            (!using.is_empty()).then(|| format!("alert rule {:?}", using.join(", ")))
        };
        handle.delete(&deleted, used_by).map_err(edit_error)
    })
    .await?;
    state.status.forget_custom_warning(&name);
    log::info!("api: deleted custom metric {name:?}");
    Ok(HttpResponse::NoContent().finish())
}

/// The query of `metric-families`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FamiliesQuery {
    node_type: Option<String>,
}

/// `GET /api/clusters/{id}/metric-families`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricFamiliesDto {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// Per node type read since the service started (FE, BE, CN in that order), the newest
    /// body's families; empty before the first successful cycle.
    pub node_types: Vec<NodeFamilies>,
}

/// `GET /api/clusters/{id}/metric-families[?node_type=fe|be|cn]`: the families of the newest
/// body of each node type, with `# TYPE`, `# HELP` and label names.
pub(crate) async fn families(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    query: web::Query<FamiliesQuery>,
) -> Result<HttpResponse, ApiError> {
    let wanted = match query.node_type.as_deref() {
        None => None,
        Some("fe") => Some(NodeKind::Fe),
        Some("be") => Some(NodeKind::Be),
        Some("cn") => Some(NodeKind::Cn),
        Some(other) => {
            return Err(ApiError::InvalidParameter(format!(
                "node_type {other:?} is not one of fe, be, cn"
            )));
        }
    };
    let cluster_id = id.into_inner();
    let store = state.store.clone();
    let cluster = blocking(move || Ok(store.get_cluster(cluster_id)?)).await?;
    let node_types = state
        .status
        .families(cluster_id)
        .into_iter()
        .filter(|f| wanted.is_none_or(|k| f.node_type == k))
        .map(|f| NodeFamilies::clone(&f))
        .collect();
    Ok(HttpResponse::Ok().json(MetricFamiliesDto {
        cluster_id,
        cluster_name: cluster.name,
        node_types,
    }))
}

/// What a definition's warnings are read from, gathered once per request: the collector's
/// "rate on a gauge" findings and the families of every cluster's newest bodies.
struct Findings {
    seen: BTreeMap<String, String>,
    bodies: Vec<Arc<NodeFamilies>>,
    in_force: Arc<CustomSet>,
}

impl Findings {
    fn now(state: &ApiState) -> Findings {
        Findings {
            seen: state.status.custom_warnings(),
            bodies: state.status.all_families(),
            in_force: state.custom_metrics.set(),
        }
    }

    /// A definition as the API shows it, with the warnings the newest bodies give it.
    fn dto(&self, spec: &CustomMetricSpec, source: DefinitionSource) -> CustomMetricDto {
        CustomMetricDto {
            spec: spec.clone(),
            source: source.as_str().to_owned(),
            warnings: self.warnings(spec),
        }
    }

    /// "rate on a gauge" (from the collector's cycles, or from any cluster's newest bodies) and
    /// "not in any body" once bodies of the definition's node types were read.
    fn warnings(&self, spec: &CustomMetricSpec) -> Vec<String> {
        let mut out: Vec<String> = self.seen.get(&spec.name).cloned().into_iter().collect();
        // The compiled definition in force (a definition is in force once saved).
        let node_types = match self.in_force.get(&spec.name) {
            Some(metric) => metric.node_types,
            None => match compile(spec) {
                Ok(metric) => metric.node_types,
                Err(_) => return out,
            },
        };
        let mut read_any = false;
        let mut found = None;
        // The first body that has the series settles it; only a series no body has reads all.
        for bodies in self.bodies.iter().filter(|b| node_types.has(b.node_type)) {
            read_any = true;
            if let Some(family) = bodies
                .families
                .iter()
                .find(|f| series_of_family(&spec.metric, &f.name))
            {
                found = Some(family.metric_type.clone());
                break;
            }
        }
        match found {
            Some(Some(t)) if t == "gauge" && spec.rate && out.is_empty() => {
                let warning = CustomMetricWarning::RateOnGauge {
                    name: spec.name.clone(),
                    metric: spec.metric.clone(),
                };
                out.push(warning.to_string());
            }
            None if read_any => out.push(format!(
                "custom metric {:?}: no body of its node types holds {} (yet): check the name \
                 with GET /api/clusters/{{id}}/metric-families",
                spec.name, spec.metric
            )),
            _ => {}
        }
        out
    }
}

/// Whether `series` is a series of family `family` (`x`, `x_sum`, `x_count`, `x_bucket`,
/// `x_total`).
fn series_of_family(series: &str, family: &str) -> bool {
    series == family
        || series.strip_prefix(family).is_some_and(|suffix| {
            matches!(
                suffix,
                "_sum" | "_count" | "_bucket" | "_total" | "_created"
            )
        })
}

/// A definition body, whose errors name the definition when it has a name; the definition
/// alone must compile (what needs the whole list is checked on saving).
fn spec_of(body: Value) -> Result<CustomMetricSpec, ApiError> {
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .map(|n| format!("custom metric {n:?}: "))
        .unwrap_or_default();
    let spec: CustomMetricSpec = serde_json::from_value(body)
        .map_err(|e| ApiError::BadRequest(format!("{name}invalid definition: {e}")))?;
    compile(&spec).map_err(|e| ApiError::InvalidParameter(e.to_string()))?;
    Ok(spec)
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("custom metric {name:?} not found"))
}

fn edit_error(err: CustomEditError) -> ApiError {
    match err {
        CustomEditError::Invalid(_) => ApiError::InvalidParameter(err.to_string()),
        CustomEditError::ReadOnly(_) | CustomEditError::InUse { .. } | CustomEditError::TooMany => {
            ApiError::Conflict(err.to_string())
        }
        CustomEditError::NotFound(name) => ApiError::NotFound(format!(
            "custom metric {name:?} not found among the definitions created through the API"
        )),
        CustomEditError::Store(e) => e.into(),
    }
}
