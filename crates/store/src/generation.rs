//! Per-cluster write generations: an in-memory counter per cluster that every write to the
//! cluster's data through this [`Store`] (and its clones) moves forward.
//!
//! A cache of answers computed from the store (the API's overview cache) remembers the generation
//! it read **before** its queries and drops the answer when the generation has moved since, so an
//! answer never outlives a write of this process. The counter moves only after the write committed:
//! a reader that sees the new value also sees the write. Writes by another process to the same
//! file move nothing here; a cache must bound its entries' age for those.
//!
//! The counters are a fixed table of atomics indexed by cluster id modulo its size: no lock, no
//! growth, nothing to clean up when a cluster is deleted. Two clusters sharing a slot (only
//! beyond [`SLOTS`] clusters) merely invalidate each other's cached answers.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Store;

/// The number of counters.
const SLOTS: usize = 4096;

/// The counters of one store (shared by its clones).
pub(crate) struct Generations {
    slots: Box<[AtomicU64]>,
}

impl Default for Generations {
    fn default() -> Self {
        Generations {
            slots: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
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

    /// Moves cluster `cluster_id`'s write generation forward; call after the write committed
    /// (and also after a write that failed half-way).
    pub(crate) fn bump_generation(&self, cluster_id: i64) {
        self.inner
            .generations
            .slot(cluster_id)
            .fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cover_every_id() {
        let g = Generations::default();
        for id in [i64::MIN, -1, 0, 1, 4095, 4096, i64::MAX] {
            let before = g.slot(id).load(Ordering::Acquire);
            g.slot(id).fetch_add(1, Ordering::AcqRel);
            assert_eq!(g.slot(id).load(Ordering::Acquire), before + 1);
        }
    }
}
