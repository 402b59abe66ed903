//! `GET /api/collector/status`: this instance's shard, every registered cluster's collection
//! status (nulls for a cluster the collector has not tried yet or another shard collects), the
//! recent cycles, newest first, the storage's own state (apart from the clusters': a failing
//! disk is not a cluster that is down), alert delivery and remote write.

use actix_web::{HttpResponse, web};

use crate::ApiState;
use crate::dto::{
    ClusterShardDto, CollectorClusterDto, CollectorStatusDto, CycleDto, DeliveryDto,
    RemoteWriteDto, ShardDto, StorageDto,
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
    let shard = state.status.shard();
    let clusters = match listed {
        Ok(clusters) => clusters
            .iter()
            .map(|c| {
                let status = board.iter().find(|s| s.cluster_id == c.id);
                let owner = ClusterShardDto::new(shard, &c.name, c.enabled);
                CollectorClusterDto::new(c.id, &c.name, status, owner)
            })
            .collect(),
        // The storage fails (and says so below): the clusters the collector knows still show
        // (only its own shard's are on the board, and it collects them).
        Err(e) if !storage.healthy => {
            log::debug!("collector status: clusters listed from the status board. error={e}");
            board
                .iter()
                .map(|s| {
                    let owner = ClusterShardDto::new(shard, &s.cluster_name, true);
                    CollectorClusterDto::new(s.cluster_id, &s.cluster_name, Some(s), owner)
                })
                .collect()
        }
        Err(e) => return Err(e.into()),
    };
    let body = CollectorStatusDto {
        shard: shard.map(ShardDto::from),
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
