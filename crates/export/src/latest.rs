//! The latest cycle of every cluster, for `/metrics`.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use crate::cycle::{ClusterExport, CycleSink};

/// The latest exported cycle of each cluster being collected. The collector writes it after
/// every cycle; `/metrics` reads it without touching the store.
#[derive(Debug, Default)]
pub struct LatestBoard {
    clusters: RwLock<HashMap<i64, Arc<ClusterExport>>>,
}

impl LatestBoard {
    /// Every cluster's latest cycle, ordered by cluster name (then id), so that the exposition
    /// is stable.
    pub fn clusters(&self) -> Vec<Arc<ClusterExport>> {
        let mut clusters: Vec<Arc<ClusterExport>> = self
            .clusters
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        clusters.sort_by(|a, b| (&a.cluster, a.cluster_id).cmp(&(&b.cluster, b.cluster_id)));
        clusters
    }
}

impl CycleSink for LatestBoard {
    fn cycle_finished(&self, cycle: &Arc<ClusterExport>) {
        self.clusters
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(cycle.cluster_id, Arc::clone(cycle));
    }

    fn retain_clusters(&self, cluster_ids: &[i64]) {
        self.clusters
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|id, _| cluster_ids.contains(id));
    }
}
