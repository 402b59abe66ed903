//! The response cache of the per-cluster overview (`GET /api/clusters/{id}/overview` and
//! `GET /api/clusters/overview?cluster_id=`).
//!
//! A week's overview scans 20,160 snapshots and serializes ~220 KB of JSON, while its data
//! changes once per collection interval. The cache keeps the serialized answer per
//! `(cluster, time range, max_points)` and serves it again, byte for byte, while it is still
//! the answer:
//!
//! * **Writes of this process.** An entry remembers the cluster's
//!   [`Store::write_generation`](rockscope_store::Store::write_generation) read *before* its
//!   queries ran; every stored cycle, update, deletion or retention of the cluster moves that
//!   counter after committing, so the next lookup misses. A write that committed while the answer
//!   was computed moved it too, so such an answer is never served twice.
//! * **The collector's status.** The answer embeds the cluster's
//!   [`ClusterStatus`] (a failed attempt changes it without
//!   writing a cycle); an entry remembers the status it rendered and misses when the board's
//!   differs.
//! * **Age.** An entry is served at most [`OverviewCacheConfig::ttl`] after it was stored:
//!   [`DEFAULT_TTL`] (30 s, the default collection interval), and in `rockscope serve` the
//!   collection interval if shorter ([`OverviewCacheConfig::for_interval`]). Each entry gets a
//!   random lifetime between half the TTL and the TTL, so that answers computed together do not
//!   expire, and get recomputed, together. The age bound is for what the generation cannot see:
//!   writes by another process to the same database file (e.g. a `rockscope serve` with the
//!   collector disabled, reading what another process collects), which are therefore seen at
//!   most one collection interval late, i.e. at most one cycle behind; and the range sliding with
//!   the clock (a range ends at the time of the request), which without a new cycle only moves
//!   old points off the start of the range. Why not a few seconds: a dashboard that refreshes a
//!   cluster every 10 s would then never hit the cache, and every cached range of every cluster
//!   would be recomputed every few seconds even when nothing changed (27 recomputations/s of
//!   12–60 ms each for the 7-day overview of 100 clusters at 5 s, `docs/BENCHMARKS.md`); in
//!   this process a write invalidates at once whatever the TTL. Why not longer: another
//!   process's cycles would show up more than one cycle late.
//!
//! So a cached answer is exactly what an uncached request returned at the time the entry was
//! filled, and no later than the cluster's next stored cycle or [`OverviewCacheConfig::ttl`].
//! The cache is bounded by [`OverviewCacheConfig::max_entries`] and
//! [`OverviewCacheConfig::max_bytes`]; when full, expired entries go first, then the oldest. An
//! answer larger than a quarter of `max_bytes` is not cached. Errors are never cached.
//!
//! Lookups take a mutex for a hash-map access and an `Arc` clone of the bytes, never I/O, so they
//! run on the actix worker. Two requests missing the same key at once both compute it (no
//! request coalescing): at most one extra computation per concurrent miss.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use rockscope_collector::ClusterStatus;

/// The default longest age of a cached overview: the default collection interval (see the
/// module documentation).
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The limits of an [`OverviewCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverviewCacheConfig {
    /// The longest an answer is served after it was computed (see the module documentation).
    /// Zero disables the cache.
    pub ttl: Duration,
    /// The most answers kept. Zero disables the cache.
    pub max_entries: usize,
    /// The most bytes of answers kept (bodies only).
    pub max_bytes: usize,
}

impl Default for OverviewCacheConfig {
    /// [`DEFAULT_TTL`], 1,024 entries, 64 MiB: every range of 100 clusters at the default
    /// `max_points` (~220 KB for a week) fits about twice.
    fn default() -> Self {
        OverviewCacheConfig {
            ttl: DEFAULT_TTL,
            max_entries: 1024,
            max_bytes: 64 << 20,
        }
    }
}

impl OverviewCacheConfig {
    /// The default limits with a TTL of at most `interval` (the collection interval: another
    /// process's cycles are seen at most one cycle late).
    pub fn for_interval(interval: Duration) -> Self {
        let default = OverviewCacheConfig::default();
        OverviewCacheConfig {
            ttl: default.ttl.min(interval),
            ..default
        }
    }
}

/// What identifies one overview answer: the cluster and the resolved parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub(crate) cluster_id: i64,
    /// The canonical range name (a `&'static` entry of `params::TIME_RANGES`).
    pub(crate) range: &'static str,
    pub(crate) max_points: usize,
}

/// The conditions an answer was computed under.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Validity {
    /// The cluster's write generation read before the queries.
    pub(crate) generation: u64,
    /// The collector status rendered into the answer.
    pub(crate) status: Option<ClusterStatus>,
    /// [`crate::CustomMetrics::version`]: the custom metrics listed in the answer.
    pub(crate) custom_version: u64,
}

struct Entry {
    body: Bytes,
    validity: Validity,
    stored_at: Instant,
    /// When it stops being served: `stored_at` plus between half the TTL and the TTL.
    expires_at: Instant,
}

#[derive(Default)]
struct Entries {
    map: HashMap<CacheKey, Entry>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, key: &CacheKey) {
        if let Some(old) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(old.body.len());
        }
    }
}

/// Counters of an [`OverviewCache`] (or a [`SummariesCache`](crate::SummariesCache)) since it
/// was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OverviewCacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to compute the answer (absent, stale or expired entry).
    pub misses: u64,
    /// Answers kept now.
    pub entries: usize,
    /// Bytes of the answers kept now.
    pub bytes: usize,
}

/// The hit and miss counters of a response cache (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct HitCounts {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl HitCounts {
    /// Counts one lookup: answered from the cache (`hit`) or computed.
    pub(crate) fn record(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The counts, with the cache's current size.
    pub(crate) fn stats(&self, entries: usize, bytes: usize) -> OverviewCacheStats {
        OverviewCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
            bytes,
        }
    }
}

/// The overview's response cache; clones share it. See the module documentation.
#[derive(Clone)]
pub struct OverviewCache {
    config: OverviewCacheConfig,
    entries: Arc<Mutex<Entries>>,
    counts: Arc<HitCounts>,
}

impl Default for OverviewCache {
    fn default() -> Self {
        OverviewCache::new(OverviewCacheConfig::default())
    }
}

impl std::fmt::Debug for OverviewCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OverviewCache")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl OverviewCache {
    /// An empty cache with these limits.
    pub fn new(config: OverviewCacheConfig) -> Self {
        OverviewCache {
            config,
            entries: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// A cache that keeps nothing: every overview is computed (for benchmarks of the cold path).
    pub fn disabled() -> Self {
        OverviewCache::new(OverviewCacheConfig {
            ttl: Duration::ZERO,
            max_entries: 0,
            max_bytes: 0,
        })
    }

    /// Its limits.
    pub fn config(&self) -> OverviewCacheConfig {
        self.config
    }

    /// Hits, misses and the current size.
    pub fn stats(&self) -> OverviewCacheStats {
        let (entries, bytes) = {
            let e = self.lock();
            (e.map.len(), e.bytes)
        };
        self.counts.stats(entries, bytes)
    }

    fn enabled(&self) -> bool {
        !self.config.ttl.is_zero() && self.config.max_entries > 0 && self.config.max_bytes > 0
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves a consistent map (every mutation is complete).
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer stored under `key` if it was computed under `validity` and is younger than
    /// the TTL; a stale or expired entry is dropped.
    pub(crate) fn get(&self, key: &CacheKey, validity: &Validity) -> Option<Bytes> {
        let found = if self.enabled() {
            let mut entries = self.lock();
            match entries.map.get(key) {
                Some(e) if e.validity == *validity && Instant::now() < e.expires_at => {
                    Some(e.body.clone())
                }
                Some(_) => {
                    entries.remove(key);
                    None
                }
                None => None,
            }
        } else {
            None
        };
        self.counts.record(found.is_some());
        found
    }

    /// Keeps `body` as the answer for `key` computed under `validity`, making room if needed.
    pub(crate) fn put(&self, key: CacheKey, body: Bytes, validity: Validity) {
        if !self.enabled() || body.len() > self.config.max_bytes / 4 {
            return;
        }
        let now = Instant::now();
        let expires_at = now + jittered(self.config.ttl, &key);
        let mut entries = self.lock();
        entries.remove(&key);
        if entries.map.len() >= self.config.max_entries
            || entries.bytes + body.len() > self.config.max_bytes
        {
            let expired: Vec<CacheKey> = entries
                .map
                .iter()
                .filter(|(_, e)| now >= e.expires_at)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &expired {
                entries.remove(k);
            }
        }
        while entries.map.len() >= self.config.max_entries
            || entries.bytes + body.len() > self.config.max_bytes
        {
            let Some(oldest) = entries
                .map
                .iter()
                .min_by_key(|(_, e)| e.stored_at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            entries.remove(&oldest);
        }
        entries.bytes += body.len();
        entries.map.insert(
            key,
            Entry {
                body,
                validity,
                stored_at: now,
                expires_at,
            },
        );
    }
}

/// A random lifetime in `ttl/2..=ttl`, so that answers computed together (at start, or for all
/// clusters after a burst) do not all expire, and get recomputed, in the same instant.
fn jittered(ttl: Duration, key: &CacheKey) -> Duration {
    use std::hash::BuildHasher;
    // A fresh `RandomState` has new keys each time: a cheap, good-enough random number.
    let r = std::collections::hash_map::RandomState::new().hash_one(key);
    let fraction = 0.5 + 0.5 * (r >> 11) as f64 / (1u64 << 53) as f64;
    ttl.mul_f64(fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(cluster_id: i64) -> CacheKey {
        CacheKey {
            cluster_id,
            range: "7d",
            max_points: 240,
        }
    }

    fn valid(generation: u64) -> Validity {
        Validity {
            generation,
            status: None,
            custom_version: 0,
        }
    }

    fn cache(max_entries: usize, max_bytes: usize, ttl: Duration) -> OverviewCache {
        OverviewCache::new(OverviewCacheConfig {
            ttl,
            max_entries,
            max_bytes,
        })
    }

    #[test]
    fn an_entry_is_served_until_its_generation_or_status_changes() {
        let c = cache(10, 1000, Duration::from_secs(60));
        assert_eq!(c.get(&key(1), &valid(0)), None);
        c.put(key(1), Bytes::from_static(b"one"), valid(3));
        assert_eq!(c.get(&key(1), &valid(3)).as_deref(), Some(&b"one"[..]));
        let other = CacheKey {
            max_points: 10,
            ..key(1)
        };
        assert_eq!(c.get(&other, &valid(3)), None, "other parameters");
        assert_eq!(c.get(&key(1), &valid(4)), None, "a newer write");
        assert_eq!(c.stats().entries, 0, "the stale entry is dropped");
        c.put(key(1), Bytes::from_static(b"one"), valid(4));
        let mut status = ClusterStatus {
            cluster_id: 1,
            cluster_name: "a".into(),
            last_attempt_at: None,
            last_success_at: None,
            last_error: Some("timeout".into()),
            consecutive_failures: 1,
            last_duration_ms: None,
            node_failures: Vec::new(),
        };
        let with_status = Validity {
            generation: 4,
            status: Some(status.clone()),
            custom_version: 0,
        };
        assert_eq!(c.get(&key(1), &with_status), None, "the status changed");
        c.put(key(1), Bytes::from_static(b"two"), with_status.clone());
        assert!(c.get(&key(1), &with_status).is_some());
        status.consecutive_failures = 2;
        let later = Validity {
            generation: 4,
            status: Some(status),
            custom_version: 0,
        };
        assert_eq!(c.get(&key(1), &later), None);
        c.put(key(1), Bytes::from_static(b"three"), later.clone());
        let redefined = Validity {
            custom_version: 1,
            ..later
        };
        assert_eq!(
            c.get(&key(1), &redefined),
            None,
            "the custom metrics changed"
        );
        let s = c.stats();
        assert_eq!((s.hits, s.misses), (2, 6));
    }

    #[test]
    fn entries_expire() {
        let c = cache(10, 1000, Duration::from_millis(30));
        c.put(key(1), Bytes::from_static(b"one"), valid(0));
        assert!(c.get(&key(1), &valid(0)).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get(&key(1), &valid(0)), None);
    }

    #[test]
    fn size_is_bounded_by_entries_and_bytes() {
        let c = cache(3, 100, Duration::from_secs(60));
        for id in 0..10 {
            c.put(key(id), Bytes::from(vec![b'x'; 10]), valid(0));
            std::thread::sleep(Duration::from_millis(1));
        }
        let s = c.stats();
        assert_eq!((s.entries, s.bytes), (3, 30));
        // The newest stay.
        assert!(c.get(&key(9), &valid(0)).is_some());
        assert!(c.get(&key(6), &valid(0)).is_none());
        // Bytes: 25-byte bodies, 100 bytes at most.
        let c = cache(100, 100, Duration::from_secs(60));
        for id in 0..10 {
            c.put(key(id), Bytes::from(vec![b'x'; 25]), valid(0));
        }
        let s = c.stats();
        assert_eq!((s.entries, s.bytes), (4, 100));
        // Larger than a quarter of the bytes: not kept.
        c.put(key(99), Bytes::from(vec![b'x'; 26]), valid(0));
        assert!(c.get(&key(99), &valid(0)).is_none());
    }

    #[test]
    fn lifetimes_are_spread_over_the_second_half_of_the_ttl() {
        let ttl = Duration::from_secs(4);
        let lifetimes: Vec<Duration> = (0..200).map(|_| jittered(ttl, &key(1))).collect();
        assert!(lifetimes.iter().all(|d| *d >= ttl / 2 && *d <= ttl));
        let early = lifetimes.iter().filter(|d| **d < ttl * 3 / 4).count();
        assert!((40..160).contains(&early), "{early}");
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let c = OverviewCache::disabled();
        c.put(key(1), Bytes::from_static(b"one"), valid(0));
        assert_eq!(c.get(&key(1), &valid(0)), None);
        assert_eq!(c.stats().entries, 0);
    }

    #[test]
    fn the_ttl_follows_a_short_interval() {
        assert_eq!(
            OverviewCacheConfig::for_interval(Duration::from_secs(1)).ttl,
            Duration::from_secs(1)
        );
        assert_eq!(
            OverviewCacheConfig::for_interval(Duration::from_secs(30)).ttl,
            DEFAULT_TTL
        );
        assert_eq!(
            OverviewCacheConfig::for_interval(Duration::from_secs(300)).ttl,
            DEFAULT_TTL
        );
    }
}
