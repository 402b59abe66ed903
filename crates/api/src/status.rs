//! `GET /api/collector/status`: every registered cluster's collection status (nulls for a
//! cluster the collector has not tried yet) and the recent cycles, newest first.

use actix_web::{HttpResponse, web};

use crate::ApiState;
use crate::dto::{CollectorClusterDto, CollectorStatusDto, CycleDto};
use crate::error::{ApiError, blocking};

/// `GET /api/collector/status`.
pub(crate) async fn collector_status(
    state: web::Data<ApiState>,
    _query: web::Query<crate::params::NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let clusters = blocking(move || Ok(store.list_clusters()?)).await?;
    let board = state.status.clusters();
    let body = CollectorStatusDto {
        clusters: clusters
            .iter()
            .map(|c| {
                let status = board.iter().find(|s| s.cluster_id == c.id);
                CollectorClusterDto::new(c.id, &c.name, status)
            })
            .collect(),
        cycles: state.status.cycles().iter().map(CycleDto::from).collect(),
    };
    Ok(HttpResponse::Ok().json(body))
}
