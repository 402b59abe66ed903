//! Write generations: in-memory counters that writes through this [`Store`] (and its clones)
//! move forward, for caches of answers computed from the store.
//!
//! * Per cluster ([`Store::write_generation`]): every write to the cluster's data.
//! * Process-wide ([`Store::write_generation_total`]): every write that moves a cluster's
//!   generation, whichever the cluster (an answer over all clusters, like the API's
//!   all-clusters overview, depends on every cluster's data).
//! * The cluster list ([`Store::clusters_generation`]): a cluster created, updated (through the
//!   API or from the configuration) or deleted; a subset of the writes above, which a cache may
//!   want to see at once even when it lets the others wait a little.
//!
//! A cache remembers the generation it read **before** its queries and drops the answer when the
//! generation has moved since, so an answer never outlives a write of this process. The counters
//! move only after the write committed: a reader that sees the new value also sees the write.
//! Writes by another process to the same file move nothing here; a cache must bound its entries'
//! age for those.
//!
//! The per-cluster counters are a fixed table of atomics indexed by cluster id modulo its size:
//! no lock, no growth, nothing to clean up when a cluster is deleted. Two clusters sharing a slot
//! (only beyond [`SLOTS`] clusters) merely invalidate each other's cached answers.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Store;

/// The number of per-cluster counters.
const SLOTS: usize = 4096;

/// The counters of one store (shared by its clones).
pub(crate) struct Generations {
    slots: Box<[AtomicU64]>,
    /// Moved with every slot.
    total: AtomicU64,
    /// Moved by the writes of cluster rows.
    clusters: AtomicU64,
}

impl Default for Generations {
    fn default() -> Self {
        Generations {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            clusters: AtomicU64::new(0),
        }
    }
}

impl Generations {
    fn slot(&self, cluster_id: i64) -> &AtomicU64 {
        let modulus = i64::try_from(self.slots.len()).unwrap_or(i64::MAX);
        let index = usize::try_from(cluster_id.rem_euclid(modulus)).unwrap_or(0);
        &self.slots[index % self.slots.len()]
    }
}

impl Store {
    /// The write generation of cluster `cluster_id`: a number that changes (grows) after every
    /// write to that cluster's data through this store or a clone of it (a stored cycle, an
    /// update, a deletion, deleted expired rows). Equal values mean no such write happened in
    /// between. Cheap (one atomic load; no I/O), so it can be read on an async thread.
    ///
    /// Writes by other processes to the same file are not seen.
    pub fn write_generation(&self, cluster_id: i64) -> u64 {
        self.inner
            .generations
            .slot(cluster_id)
            .load(Ordering::Acquire)
    }

    /// The process-wide write generation: grows after every write that moves some cluster's
    /// [`Store::write_generation`] (a cluster created, too). Equal values mean no cluster's data
    /// changed through this store in between. One atomic load.
    pub fn write_generation_total(&self) -> u64 {
        self.inner.generations.total.load(Ordering::Acquire)
    }

    /// The cluster list's generation: grows after a cluster is created, updated (through the API
    /// or from the configuration) or deleted, not after its cycles or their retention. One atomic
    /// load.
    pub fn clusters_generation(&self) -> u64 {
        self.inner.generations.clusters.load(Ordering::Acquire)
    }

    /// Moves cluster `cluster_id`'s write generation (and the process-wide one) forward; call
    /// after the write committed (and also after a write that failed half-way).
    pub(crate) fn bump_generation(&self, cluster_id: i64) {
        let g = &self.inner.generations;
        g.slot(cluster_id).fetch_add(1, Ordering::AcqRel);
        g.total.fetch_add(1, Ordering::AcqRel);
    }

    /// [`Store::bump_generation`] for a write of cluster `cluster_id`'s row, which also moves
    /// the cluster list's generation.
    pub(crate) fn bump_cluster_generation(&self, cluster_id: i64) {
        // The list's first: a reader that sees the new total sees the new list generation.
        self.inner
            .generations
            .clusters
            .fetch_add(1, Ordering::AcqRel);
        self.bump_generation(cluster_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{full_snapshot, new_cluster};
    use crate::{ClusterUpdate, Store};
    use time::macros::datetime;

    #[test]
    fn slots_cover_every_id() {
        let g = Generations::default();
        for id in [i64::MIN, -1, 0, 1, 4095, 4096, i64::MAX] {
            let before = g.slot(id).load(Ordering::Acquire);
            g.slot(id).fetch_add(1, Ordering::AcqRel);
            assert_eq!(g.slot(id).load(Ordering::Acquire), before + 1);
        }
    }

    /// The process-wide generation follows every cluster's writes; the list's only the writes
    /// of cluster rows.
    #[test]
    fn the_total_moves_with_any_cluster_and_the_list_with_cluster_rows() {
        let store = Store::open_temporary().unwrap();
        let seen = |store: &Store| (store.write_generation_total(), store.clusters_generation());
        let mut last = seen(&store);
        let mut step = |store: &Store, what: &str, list_moves: bool| {
            let now = seen(store);
            assert!(now.0 > last.0, "{what}: the total");
            assert_eq!(now.1 > last.1, list_moves, "{what}: the list");
            last = now;
        };
        let a = store.create_cluster(&new_cluster("a")).unwrap().id;
        step(&store, "create_cluster", true);
        let b = store.create_cluster(&new_cluster("b")).unwrap().id;
        step(&store, "another create_cluster", true);
        let t0 = datetime!(2025-01-01 0:00 UTC);
        store.insert_cycle(&full_snapshot(a, t0), &[]).unwrap();
        step(&store, "a's cycle", false);
        store.insert_cycle(&full_snapshot(b, t0), &[]).unwrap();
        step(&store, "b's cycle", false);
        let rename = ClusterUpdate {
            name: Some("b2".into()),
            ..ClusterUpdate::default()
        };
        store.update_cluster(b, &rename).unwrap();
        step(&store, "update_cluster", true);
        store.upsert_config_cluster(&new_cluster("c")).unwrap();
        step(&store, "upsert_config_cluster", true);
        store
            .delete_snapshots_before(t0 + time::Duration::seconds(1), 10)
            .unwrap();
        step(&store, "retention", false);
        store.clone().delete_cluster(a).unwrap();
        step(&store, "delete_cluster through a clone", true);
        // Reads and refused writes move nothing.
        store.cluster_summaries().unwrap();
        assert!(store.create_cluster(&new_cluster("c")).is_err());
        assert!(store.delete_cluster(a).is_err());
        assert_eq!(seen(&store), last, "reads and refused writes");
    }
}
