//! `GET /api/collector/status`: every registered cluster's collection status (nulls for a
//! cluster the collector has not tried yet), the recent cycles, newest first, and the storage's
//! own state (apart from the clusters': a failing disk is not a cluster that is down), alert
//! delivery and remote write.

use actix_web::{HttpResponse, web};

use crate::ApiState;
use crate::dto::{
    CollectorClusterDto, CollectorStatusDto, CycleDto, DeliveryDto, RemoteWriteDto, StorageDto,
};
use crate::error::{ApiError, blocking};

/// `GET /api/collector/status`.
pub(crate) async fn collector_status(
    state: web::Data<ApiState>,
    _query: web::Query<crate::params::NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store.clone();
    let (storage, listed) =
        blocking(move || Ok((store.storage_state(), store.list_clusters()))).await?;
    let board = state.status.clusters();
    let clusters = match listed {
        Ok(clusters) => clusters
            .iter()
            .map(|c| {
                let status = board.iter().find(|s| s.cluster_id == c.id);
                CollectorClusterDto::new(c.id, &c.name, status)
            })
            .collect(),
        // The storage fails (and says so below): the clusters the collector knows still show.
        Err(e) if !storage.healthy => {
            log::debug!("collector status: clusters listed from the status board. error={e}");
            board
                .iter()
                .map(|s| CollectorClusterDto::new(s.cluster_id, &s.cluster_name, Some(s)))
                .collect()
        }
        Err(e) => return Err(e.into()),
    };
    let body = CollectorStatusDto {
        clusters,
        cycles: state.status.cycles().iter().map(CycleDto::from).collect(),
        storage: StorageDto::from(&storage),
        alert_delivery: state
            .delivery
            .as_ref()
            .map(|d| d.status().iter().map(DeliveryDto::from).collect())
            .unwrap_or_default(),
        remote_write: state
            .remote_write
            .as_ref()
            .map(|w| w.status().iter().map(RemoteWriteDto::from).collect())
            .unwrap_or_default(),
    };
    Ok(HttpResponse::Ok().json(body))
}
