//! `GET /api/clusters/overview` (one summary row per cluster, or one cluster's overview with
//! `cluster_id`) and `GET /api/clusters/{id}/overview`.

use std::collections::{BTreeMap, HashMap};

use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use rockscope_collector::{ClusterStatus, Shard};
use rockscope_model::{MetricsSnapshot, SnapshotSummary};
use rockscope_store::OVERVIEW_FIELDS as F;
use rockscope_store::{ClusterSummary, SeriesWithStats};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::ApiState;
use crate::cache::{CacheKey, Validity};
use crate::dto::{
    ClusterShardDto, ClusterSummaryDto, CollectorClusterDto, OverviewDto, SeriesStatsDto, TimeText,
    TrendPoint,
};
use crate::error::{ApiError, blocking};
use crate::params::{self, DEFAULT_MAX_POINTS, utc};
use crate::summaries_cache::Inputs;

// The snapshot fields come from the store's `OVERVIEW_FIELDS` (the one list, which the store's
// covering index holds), in its order: performance trends first, then resource trends.

/// `performance_trends` keys and the snapshot fields behind them
/// (the first six of [`rockscope_store::OVERVIEW_FIELDS`]).
pub const PERFORMANCE_TRENDS: [(&str, &str); 6] = [
    ("qps", F[0]),
    ("rps", F[1]),
    ("latency_p50", F[2]),
    ("latency_p95", F[3]),
    ("latency_p99", F[4]),
    ("error_rate", F[5]),
];

/// `resource_trends` keys and the snapshot fields behind them
/// (the last eight of [`rockscope_store::OVERVIEW_FIELDS`]).
pub const RESOURCE_TRENDS: [(&str, &str); 8] = [
    ("cpu_usage", F[6]),
    ("memory_usage", F[7]),
    ("disk_usage", F[8]),
    ("jvm_heap_usage", F[9]),
    ("network_send_rate", F[10]),
    ("network_receive_rate", F[11]),
    ("io_read_rate", F[12]),
    ("io_write_rate", F[13]),
];

/// The query of both overview routes (all optional; validated by hand for clear messages).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverviewQuery {
    cluster_id: Option<String>,
    time_range: Option<String>,
    max_points: Option<String>,
}

/// `GET /api/clusters/overview[?cluster_id=ID&time_range=R&max_points=N]`.
pub(crate) async fn by_query(
    state: web::Data<ApiState>,
    query: web::Query<OverviewQuery>,
) -> Result<HttpResponse, ApiError> {
    match query.cluster_id.as_deref() {
        Some(raw) => {
            let id = params::cluster_id("cluster_id", raw)?;
            overview(&state, id, &query).await
        }
        None => summaries(&state).await,
    }
}

/// `GET /api/clusters/{id}/overview[?time_range=R&max_points=N]`.
pub(crate) async fn by_path(
    state: web::Data<ApiState>,
    id: web::Path<i64>,
    query: web::Query<OverviewQuery>,
) -> Result<HttpResponse, ApiError> {
    overview(&state, id.into_inner(), &query).await
}

/// One cluster's overview, from the response cache (see [`crate::cache`]) when it holds the
/// current answer, else computed (one pass over the range for the trends and the statistics)
/// and cached.
async fn overview(
    state: &ApiState,
    cluster_id: i64,
    query: &OverviewQuery,
) -> Result<HttpResponse, ApiError> {
    let (range_name, range) = params::time_range(query.time_range.as_deref())?;
    let max_points = params::max_points(query.max_points.as_deref(), DEFAULT_MAX_POINTS)?;
    let key = CacheKey {
        cluster_id,
        range: range_name,
        max_points,
    };
    // Both read before any query: a write committed from here on makes the answer stale.
    let validity = Validity {
        generation: state.store.write_generation(cluster_id),
        status: state.status.cluster(cluster_id),
        custom_version: state.custom_metrics.version(),
    };
    if let Some(body) = state.overview_cache.get(&key, &validity) {
        return Ok(json_bytes(body));
    }
    let body =
        compute_overview(state, cluster_id, range_name, range, max_points, &validity).await?;
    state.overview_cache.put(key, body.clone(), validity);
    Ok(json_bytes(body))
}

/// A `200` with a JSON body serialized before, as `HttpResponse::json` would send it.
fn json_bytes(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(body)
}

/// Overview computations allowed at once: four per core (measured in `docs/BENCHMARKS.md`:
/// one or two per core cost the cheap `1h` answers a third of their throughput).
static COMPUTING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(4 * std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// The overview's JSON, computed now with the collector status of `validity`: the queries,
/// the DTO and its serialization all on the blocking pool, so a miss keeps no actix worker from
/// answering hits.
async fn compute_overview(
    state: &ApiState,
    cluster_id: i64,
    range_name: &'static str,
    range: time::Duration,
    max_points: usize,
    validity: &Validity,
) -> Result<Bytes, ApiError> {
    let to = OffsetDateTime::now_utc();
    let from = to - range;
    let store = state.store.clone();
    let status = validity.status.clone();
    let shard = state.status.shard();
    let custom: Vec<String> = state
        .custom_metrics
        .set()
        .metrics()
        .iter()
        .map(|m| m.name.clone())
        .collect();
    // CPU-bound work (the scan, the DTO, ~200 KB of JSON for 7 days): a few per core at once,
    // so that many concurrent misses queue instead of time-slicing each other on the blocking
    // pool (every answer would then be as late as the last); more than one per core, so that a
    // cheap answer's hand-over to the pool does not leave a core idle.
    let _core = COMPUTING
        .acquire()
        .await
        .map_err(|e| ApiError::internal("waiting to compute an overview", e))?;
    blocking(move || {
        let cluster = store.get_cluster(cluster_id)?;
        let latest = store.latest_snapshot(cluster_id)?;
        let names: Vec<&str> = custom.iter().map(String::as_str).collect();
        let scanned =
            store.series_with_stats_custom(cluster_id, from, to, &F, &names, max_points)?;
        let owner = ClusterShardDto::new(shard, &cluster.name, cluster.enabled);
        let times = times(&scanned);
        let scanned = (&scanned, &times[..]);
        let mut body = overview_dto(cluster, range_name, latest, scanned, status.as_ref(), owner);
        custom_series(&mut body, &custom, scanned);
        // About 64 bytes a trend point, and the latest snapshot: written once, not regrown.
        let trends = times.len() * (F.len() + custom.len());
        let mut out = Vec::with_capacity(8 * 1024 + 64 * trends);
        serde_json::to_writer(&mut out, &body)
            .map(|()| Bytes::from(out))
            .map_err(|e| ApiError::internal("serializing an overview", e))
    })
    .await
}

/// What the store returned and its buckets' times ([`times`]).
type Scanned<'a> = (&'a SeriesWithStats, &'a [TimeText]);

/// One trend: the mean of value `index` of every point.
fn trend((scanned, times): Scanned<'_>, index: usize) -> Vec<TrendPoint> {
    scanned
        .points
        .iter()
        .zip(times)
        .map(|(p, at)| TrendPoint {
            timestamp: at.clone(),
            value: p.values.get(index).and_then(|v| v.avg),
        })
        .collect()
}

/// The buckets' times, written once for every trend.
fn times(scanned: &SeriesWithStats) -> Vec<TimeText> {
    scanned
        .points
        .iter()
        .map(|p| TimeText::new(p.timestamp))
        .collect()
}

fn stats_dto(s: &rockscope_store::FieldStats) -> SeriesStatsDto {
    SeriesStatsDto {
        count: s.count,
        avg: s.avg,
        max: s.max,
        min: s.min,
    }
}

/// `custom_trends` and `custom_statistics`: the custom names follow [`F`] in the scan.
fn custom_series(body: &mut OverviewDto, names: &[String], scanned: Scanned<'_>) {
    for (i, name) in names.iter().enumerate() {
        let index = F.len() + i;
        body.custom_trends
            .insert(name.clone(), trend(scanned, index));
        if let Some(s) = scanned.0.stats.get(index) {
            body.custom_statistics.insert(name.clone(), stats_dto(s));
        }
    }
}

/// The overview's DTO from what the store returned (the built-in series; the custom ones are
/// [`custom_series`]').
fn overview_dto(
    cluster: rockscope_store::Cluster,
    range_name: &str,
    latest: Option<MetricsSnapshot>,
    scanned: Scanned<'_>,
    status: Option<&ClusterStatus>,
    shard: Option<ClusterShardDto>,
) -> OverviewDto {
    let stats = &scanned.0.stats;
    let trend = |index: usize| trend(scanned, index);
    let performance_trends: BTreeMap<String, Vec<TrendPoint>> = PERFORMANCE_TRENDS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| ((*name).to_owned(), trend(i)))
        .collect();
    let resource_trends: BTreeMap<String, Vec<TrendPoint>> = RESOURCE_TRENDS
        .iter()
        .enumerate()
        .map(|(i, (name, _))| ((*name).to_owned(), trend(PERFORMANCE_TRENDS.len() + i)))
        .collect();
    let statistics: BTreeMap<String, SeriesStatsDto> = PERFORMANCE_TRENDS
        .iter()
        .chain(RESOURCE_TRENDS.iter())
        .zip(stats.iter())
        .map(|((name, _), s)| ((*name).to_owned(), stats_dto(s)))
        .collect();
    OverviewDto {
        cluster_id: cluster.id,
        collector: CollectorClusterDto::new(cluster.id, &cluster.name, status, shard),
        cluster_name: cluster.name,
        time_range: range_name.to_owned(),
        latest_snapshot: latest,
        performance_trends,
        resource_trends,
        statistics,
        custom_trends: BTreeMap::new(),
        custom_statistics: BTreeMap::new(),
    }
}

/// Every cluster's summary row, from the [`SummariesCache`](crate::SummariesCache) while it
/// holds the answer (see [`crate::summaries_cache`]), else computed by one request on the
/// blocking pool while concurrent ones wait for it.
async fn summaries(state: &ApiState) -> Result<HttpResponse, ApiError> {
    let read = || Inputs {
        clusters: state.store.clusters_generation(),
        shard: state.status.shard(),
        data: state.store.write_generation_total(),
        statuses: state.status.version(),
    };
    let body = state
        .summaries_cache
        .get(read, |inputs| compute_summaries(state, inputs.shard))
        .await?;
    Ok(json_bytes(body))
}

/// The summaries' JSON, computed now (the query, the rows and their serialization on the
/// blocking pool) with the collector's statuses read after the inputs were.
async fn compute_summaries(state: &ApiState, shard: Option<Shard>) -> Result<Bytes, ApiError> {
    let store = state.store.clone();
    let board = state.status.clone();
    blocking(move || {
        let rows = store.cluster_summaries()?;
        let statuses: HashMap<i64, ClusterStatus> = board
            .clusters()
            .into_iter()
            .map(|s| (s.cluster_id, s))
            .collect();
        let body: Vec<ClusterSummaryDto> = rows
            .iter()
            .map(|row| summary_dto(row, statuses.get(&row.id), shard))
            .collect();
        serde_json::to_vec(&body)
            .map(Bytes::from)
            .map_err(|e| ApiError::internal("serializing the cluster summaries", e))
    })
    .await
}

/// One cluster's summary row.
fn summary_dto(
    row: &ClusterSummary,
    status: Option<&ClusterStatus>,
    shard: Option<Shard>,
) -> ClusterSummaryDto {
    let latest = row.latest.as_ref();
    let (nodes_alive, nodes_total) = latest.map(node_counts).unwrap_or((None, None));
    let owner = ClusterShardDto::new(shard, &row.name, row.enabled);
    // A cluster another shard collects is, here, like a disabled one: whatever this
    // database still holds of it (from before a change of shards) is not its health.
    let collected = owner.map_or(row.enabled, |o| o.collected_here);
    ClusterSummaryDto {
        id: row.id,
        name: row.name.clone(),
        enabled: row.enabled,
        health: health(collected, latest, status).to_owned(),
        qps: latest.and_then(|s| s.qps),
        query_latency_p99: latest.and_then(|s| s.query_latency_p99),
        avg_cpu_usage: latest.and_then(|s| s.avg_cpu_usage),
        disk_usage_pct: latest.and_then(|s| s.disk_usage_pct),
        nodes_alive,
        nodes_total,
        last_collected: latest.map(|s| utc(s.collected_at)),
        last_error: status.and_then(|s| s.last_error.clone()),
        shard: owner,
    }
}

/// FEs + BEs + CNs alive and listed; `None` when no list was read.
fn node_counts(s: &SnapshotSummary) -> (Option<i64>, Option<i64>) {
    let sum = |values: [Option<i64>; 3]| -> Option<i64> {
        values
            .iter()
            .flatten()
            .copied()
            .reduce(|a, b| a.saturating_add(b))
    };
    (
        sum([s.frontend_alive, s.backend_alive, s.compute_node_alive]),
        sum([s.frontend_total, s.backend_total, s.compute_node_total]),
    )
}

/// A cluster's health from its newest snapshot and the collector's status:
///
/// * `unknown`: not collected here (disabled, or another shard's), or nothing collected and no
///   failed attempt;
/// * `down`: the last attempt failed, no node was scraped, or every backend is dead;
/// * `degraded`: some FE/BE/CN is not alive, or some source failed in the newest cycle;
/// * `healthy`: otherwise.
pub(crate) fn health(
    collected: bool,
    latest: Option<&SnapshotSummary>,
    status: Option<&ClusterStatus>,
) -> &'static str {
    if !collected {
        return "unknown";
    }
    if status.is_some_and(|s| s.last_error.is_some()) {
        return "down";
    }
    let Some(s) = latest else {
        return "unknown";
    };
    if s.scrape_nodes_ok == 0 {
        return "down";
    }
    if matches!((s.backend_alive, s.backend_total), (Some(0), Some(total)) if total > 0) {
        return "down";
    }
    let missing = |alive: Option<i64>, total: Option<i64>| matches!((alive, total), (Some(a), Some(t)) if a < t);
    let some_dead = missing(s.frontend_alive, s.frontend_total)
        || missing(s.backend_alive, s.backend_total)
        || missing(s.compute_node_alive, s.compute_node_total);
    if some_dead || !s.source_errors.is_empty() || s.scrape_nodes_ok < s.scrape_nodes_total {
        return "degraded";
    }
    "healthy"
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The summary of a snapshot whose fields are `fields`, the others null or zero.
    fn snapshot(fields: serde_json::Value) -> SnapshotSummary {
        let mut m = serde_json::Map::new();
        for c in rockscope_store::Store::metric_columns() {
            use rockscope_store::ColumnKind as K;
            let v = match c.kind {
                K::RequiredReal => json!(0.0),
                K::RequiredInt => json!(0),
                K::RequiredText => json!(""),
                K::Bool => json!(false),
                _ => serde_json::Value::Null,
            };
            m.insert(c.name.to_owned(), v);
        }
        m.insert("cluster_id".into(), json!(1));
        m.insert("collected_at".into(), json!("2025-03-01T00:00:00Z"));
        m.insert("source_errors".into(), json!([]));
        m.insert("scrape_nodes_total".into(), json!(4));
        m.insert("scrape_nodes_ok".into(), json!(4));
        for (k, v) in fields.as_object().unwrap() {
            m.insert(k.clone(), v.clone());
        }
        let full: MetricsSnapshot = serde_json::from_value(serde_json::Value::Object(m)).unwrap();
        SnapshotSummary::from(&full)
    }

    fn status(last_error: Option<&str>) -> ClusterStatus {
        ClusterStatus {
            cluster_id: 1,
            cluster_name: "c".into(),
            last_attempt_at: None,
            last_success_at: None,
            last_error: last_error.map(str::to_owned),
            consecutive_failures: u32::from(last_error.is_some()),
            last_duration_ms: None,
            node_failures: Vec::new(),
        }
    }

    #[test]
    fn health_rules() {
        let ok = snapshot(
            json!({"backend_alive": 3, "backend_total": 3, "frontend_alive": 1,
                                 "frontend_total": 1}),
        );
        assert_eq!(health(true, Some(&ok), None), "healthy");
        assert_eq!(health(true, Some(&ok), Some(&status(None))), "healthy");
        assert_eq!(health(false, Some(&ok), None), "unknown");
        assert_eq!(health(true, None, None), "unknown");
        assert_eq!(
            health(true, None, Some(&status(Some("connect: refused")))),
            "down"
        );
        assert_eq!(
            health(true, Some(&ok), Some(&status(Some("timeout")))),
            "down"
        );
        let none_scraped = snapshot(json!({"scrape_nodes_ok": 0}));
        assert_eq!(health(true, Some(&none_scraped), None), "down");
        let all_be_dead = snapshot(json!({"backend_alive": 0, "backend_total": 3}));
        assert_eq!(health(true, Some(&all_be_dead), None), "down");
        let fe_dead = snapshot(json!({"frontend_alive": 2, "frontend_total": 3}));
        assert_eq!(health(true, Some(&fe_dead), None), "degraded");
        let cn_dead = snapshot(json!({"compute_node_alive": 0, "compute_node_total": 1}));
        assert_eq!(health(true, Some(&cn_dead), None), "degraded");
        let partial = snapshot(json!({"scrape_nodes_ok": 3}));
        assert_eq!(health(true, Some(&partial), None), "degraded");
        let source_failed = snapshot(json!({"source_errors": [
            {"source": "show_proc /backends", "code": "timeout", "message": "slow"}]}));
        assert_eq!(health(true, Some(&source_failed), None), "degraded");
    }

    #[test]
    fn trend_tables_map_every_overview_field_once_in_order() {
        let fields: Vec<&str> = PERFORMANCE_TRENDS
            .iter()
            .chain(RESOURCE_TRENDS.iter())
            .map(|(_, f)| *f)
            .collect();
        assert_eq!(fields, rockscope_store::OVERVIEW_FIELDS);
        let keys: std::collections::BTreeSet<&str> = PERFORMANCE_TRENDS
            .iter()
            .chain(RESOURCE_TRENDS.iter())
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(keys.len(), fields.len(), "unique keys");
    }

    #[test]
    fn node_counts_sum_known_lists() {
        let s = snapshot(
            json!({"frontend_alive": 1, "frontend_total": 3, "backend_alive": 2,
                                "backend_total": 2}),
        );
        assert_eq!(node_counts(&s), (Some(3), Some(5)));
        assert_eq!(node_counts(&snapshot(json!({}))), (None, None));
    }
}
