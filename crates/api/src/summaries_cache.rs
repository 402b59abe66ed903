//! The answer cache of the all-clusters overview (`GET /api/clusters/overview` without
//! `cluster_id`).
//!
//! The answer is one row per cluster (~300 bytes each: ~300 KB at 1,000 clusters) from every
//! cluster's newest snapshot and the collector's statuses; computing it takes a query over every
//! cluster and the serialization of all the rows, and every open page that lists the clusters
//! asks for it again and again. Computed for every request, it made 50 concurrent requests at
//! 1,000 clusters wait up to ~0.5 s (p99, `api_load --only all`). The cache keeps **one**
//! serialized answer and serves the same bytes (an `Arc` clone) to every request until it is no
//! longer the answer:
//!
//! * **The cluster list and the shard** ([`Store::clusters_generation`], the collector's shard):
//!   a cluster created, renamed, enabled, disabled or deleted is seen by the next request.
//! * **The clusters' data and statuses** ([`Store::write_generation_total`], moved by any
//!   cluster's stored cycle or retention, and [`StatusBoard::version`], moved by any collection
//!   attempt): at 1,000 clusters collected every 30 s these move ~33 times a second, so
//!   recomputing on each change would recompute all the time. An answer younger than
//!   [`SummariesCacheConfig::min_age`] ([`MIN_AGE`], 1 s) is served even when they moved since:
//!   the list is at most about one second (plus one computation) behind a stored cycle or a
//!   failed attempt, and the answer is computed at most about once a second whatever the load.
//! * **Age** ([`SummariesCacheConfig::max_age`]): an answer is served at most as long as the
//!   per-cluster overview's TTL ([`OverviewCacheConfig::ttl`]: the collection interval, at most
//!   30 s) even when nothing moved, for what the generations cannot see: another process writing
//!   the same database file. When nothing changed, that is the only reason to recompute.
//!
//! Requests that find the answer stale are **coalesced**: one computes (on the blocking pool,
//! never on an actix worker) while the others wait for it (an async mutex, not a thread) and are
//! served its answer; none starts a computation of its own while one is running. A failed
//! computation is not kept: the next waiter computes again.
//!
//! The counters are read before the computation reads anything, so a change committed while it
//! runs moves them past what the answer remembers: the answer is never taken for newer than it
//! is.
//!
//! [`Store::clusters_generation`]: rockscope_store::Store::clusters_generation
//! [`Store::write_generation_total`]: rockscope_store::Store::write_generation_total
//! [`StatusBoard::version`]: rockscope_collector::StatusBoard::version
//! [`OverviewCacheConfig::ttl`]: crate::OverviewCacheConfig::ttl

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use rockscope_collector::Shard;

use crate::cache::{DEFAULT_TTL, HitCounts, OverviewCacheConfig, OverviewCacheStats};
use crate::error::ApiError;

/// How long an answer is served after the clusters' data or statuses changed (see the module
/// documentation): long enough that a fleet's stream of cycles (~33/s at 1,000 clusters every
/// 30 s) costs one computation a second, short enough that the list looks live.
pub const MIN_AGE: Duration = Duration::from_secs(1);

/// How long a [`SummariesCache`] serves an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummariesCacheConfig {
    /// An answer younger than this is served even when a cycle was stored or a collection
    /// status changed since it was computed (not when the cluster list or the shard changed).
    pub min_age: Duration,
    /// The longest an answer is served even when nothing changed (for another process's writes).
    /// Zero computes every answer (concurrent requests still share one computation).
    pub max_age: Duration,
}

impl Default for SummariesCacheConfig {
    /// [`MIN_AGE`] and the per-cluster overview's [`DEFAULT_TTL`].
    fn default() -> Self {
        SummariesCacheConfig {
            min_age: MIN_AGE,
            max_age: DEFAULT_TTL,
        }
    }
}

impl SummariesCacheConfig {
    /// The default with the maximum age of the per-cluster overview's TTL at this collection
    /// interval ([`OverviewCacheConfig::for_interval`]).
    pub fn for_interval(interval: Duration) -> Self {
        SummariesCacheConfig {
            max_age: OverviewCacheConfig::for_interval(interval).ttl,
            ..SummariesCacheConfig::default()
        }
    }
}

/// What the answer was computed from, read before computing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Inputs {
    /// [`rockscope_store::Store::clusters_generation`]: a change is served at once.
    pub(crate) clusters: u64,
    /// The collector's shard: a change is served at once.
    pub(crate) shard: Option<Shard>,
    /// [`rockscope_store::Store::write_generation_total`]: a change waits for the minimum age.
    pub(crate) data: u64,
    /// [`rockscope_collector::StatusBoard::version`]: a change waits for the minimum age.
    pub(crate) statuses: u64,
}

/// The answer kept.
struct Answer {
    body: Bytes,
    inputs: Inputs,
    /// When its inputs were read.
    computed_at: Instant,
}

#[derive(Default)]
struct Kept {
    answer: Option<Answer>,
    /// Answers kept so far: a waiter that sees it move knows the computation it waited for
    /// finished.
    serial: u64,
}

impl Kept {
    /// The kept answer if it may answer a request that read `now` at `at`.
    fn serves(&self, now: &Inputs, at: Instant, config: &SummariesCacheConfig) -> Option<Bytes> {
        let a = self.answer.as_ref()?;
        let age = at.saturating_duration_since(a.computed_at);
        let same_list = a.inputs.clusters == now.clusters && a.inputs.shard == now.shard;
        let same_data = a.inputs.data == now.data && a.inputs.statuses == now.statuses;
        (age < config.max_age && same_list && (same_data || age < config.min_age))
            .then(|| a.body.clone())
    }
}

/// The all-clusters overview's answer; clones share it. See the module documentation.
#[derive(Clone)]
pub struct SummariesCache {
    config: SummariesCacheConfig,
    kept: Arc<Mutex<Kept>>,
    /// Held by the one computation in progress.
    computing: Arc<tokio::sync::Mutex<()>>,
    counts: Arc<HitCounts>,
}

impl Default for SummariesCache {
    fn default() -> Self {
        SummariesCache::new(SummariesCacheConfig::default())
    }
}

impl std::fmt::Debug for SummariesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummariesCache")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl SummariesCache {
    /// An empty cache serving answers as `config` says.
    pub fn new(config: SummariesCacheConfig) -> Self {
        SummariesCache {
            config,
            kept: Arc::default(),
            computing: Arc::default(),
            counts: Arc::default(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> SummariesCacheConfig {
        self.config
    }

    /// Requests answered from the kept answer (`hits`, waiters of a computation included),
    /// computations (`misses`), and the answer kept (`entries` 0 or 1, its `bytes`).
    pub fn stats(&self) -> OverviewCacheStats {
        let kept = self.lock();
        let bytes = kept.answer.as_ref().map(|a| a.body.len());
        self.counts
            .stats(usize::from(bytes.is_some()), bytes.unwrap_or(0))
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        // Every mutation is one assignment: a panic cannot leave it half-done.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer: the kept one if it still serves, else the one a computation running now
    /// gives, else `compute(inputs)`'s (kept), with `inputs` read by `read` just before.
    pub(crate) async fn get<C, F>(
        &self,
        read: impl Fn() -> Inputs,
        compute: C,
    ) -> Result<Bytes, ApiError>
    where
        C: FnOnce(Inputs) -> F,
        F: Future<Output = Result<Bytes, ApiError>>,
    {
        let seen = {
            let at = Instant::now();
            let now = read();
            let kept = self.lock();
            if let Some(body) = kept.serves(&now, at, &self.config) {
                self.counts.record(true);
                return Ok(body);
            }
            kept.serial
        };
        let _turn = self.computing.lock().await;
        {
            let kept = self.lock();
            if kept.serial != seen
                && let Some(a) = &kept.answer
            {
                // Computed while this request waited: its answer is as new as this request.
                self.counts.record(true);
                return Ok(a.body.clone());
            }
        }
        self.counts.record(false);
        let computed_at = Instant::now();
        let inputs = read();
        let body = compute(inputs.clone()).await?;
        let mut kept = self.lock();
        kept.answer = Some(Answer {
            body: body.clone(),
            inputs,
            computed_at,
        });
        kept.serial += 1;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// What a test's "store and board" say now; each field moved by hand.
    #[derive(Default)]
    struct World {
        clusters: AtomicU64,
        data: AtomicU64,
        statuses: AtomicU64,
        /// Times the inputs were read.
        reads: AtomicU64,
    }

    impl World {
        fn read(&self) -> Inputs {
            self.reads.fetch_add(1, Ordering::SeqCst);
            Inputs {
                clusters: self.clusters.load(Ordering::SeqCst),
                shard: None,
                data: self.data.load(Ordering::SeqCst),
                statuses: self.statuses.load(Ordering::SeqCst),
            }
        }
    }

    fn cache(min_age: Duration, max_age: Duration) -> SummariesCache {
        SummariesCache::new(SummariesCacheConfig { min_age, max_age })
    }

    /// Answers "answer N" where N counts the computations.
    async fn ask(cache: &SummariesCache, world: &World, computations: &AtomicU64) -> Bytes {
        cache
            .get(
                || world.read(),
                |_| async {
                    let n = computations.fetch_add(1, Ordering::SeqCst) + 1;
                    Ok(Bytes::from(format!("answer {n}")))
                },
            )
            .await
            .unwrap()
    }

    #[actix_web::test]
    async fn an_unchanged_state_serves_the_same_bytes() {
        let c = cache(Duration::ZERO, Duration::from_secs(3600));
        let (world, n) = (World::default(), AtomicU64::new(0));
        let first = ask(&c, &world, &n).await;
        for _ in 0..5 {
            let again = ask(&c, &world, &n).await;
            assert_eq!(again, first);
            assert_eq!(
                again.as_ptr(),
                first.as_ptr(),
                "the same buffer, not a copy"
            );
        }
        assert_eq!(n.load(Ordering::SeqCst), 1);
        let s = c.stats();
        assert_eq!((s.hits, s.misses, s.entries, s.bytes), (5, 1, 1, 8));
    }

    #[actix_web::test]
    async fn a_change_of_data_or_status_is_seen_after_the_minimum_age() {
        let min_age = Duration::from_millis(30);
        let c = cache(min_age, Duration::from_secs(3600));
        let (world, n) = (World::default(), AtomicU64::new(0));
        assert_eq!(ask(&c, &world, &n).await, "answer 1");
        for (what, counter) in [
            ("a stored cycle", &world.data),
            ("a status", &world.statuses),
        ] {
            counter.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(min_age + Duration::from_millis(10));
            let seen = ask(&c, &world, &n).await;
            assert_ne!(seen, "answer 1", "{what}");
            assert_eq!(ask(&c, &world, &n).await, seen, "{what}: kept again");
        }
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[actix_web::test]
    async fn a_young_answer_waits_for_data_but_not_for_the_cluster_list() {
        let c = cache(Duration::from_secs(3600), Duration::from_secs(3600));
        let (world, n) = (World::default(), AtomicU64::new(0));
        assert_eq!(ask(&c, &world, &n).await, "answer 1");
        world.data.fetch_add(1, Ordering::SeqCst);
        world.statuses.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            ask(&c, &world, &n).await,
            "answer 1",
            "younger than min_age"
        );
        world.clusters.fetch_add(1, Ordering::SeqCst);
        assert_eq!(ask(&c, &world, &n).await, "answer 2", "a cluster created");
        // The shard is part of the list.
        let sharded = || Inputs {
            shard: Some(Shard::new(1, 2).unwrap()),
            ..world.read()
        };
        let answer = c
            .get(sharded, |_| async { Ok(Bytes::from_static(b"sharded")) })
            .await
            .unwrap();
        assert_eq!(answer, "sharded");
    }

    #[actix_web::test]
    async fn an_unchanged_answer_expires_at_the_maximum_age() {
        let max_age = Duration::from_millis(30);
        let c = cache(Duration::ZERO, max_age);
        let (world, n) = (World::default(), AtomicU64::new(0));
        assert_eq!(ask(&c, &world, &n).await, "answer 1");
        std::thread::sleep(max_age + Duration::from_millis(10));
        assert_eq!(ask(&c, &world, &n).await, "answer 2");
    }

    #[actix_web::test]
    async fn concurrent_misses_compute_once() {
        let c = cache(Duration::ZERO, Duration::from_secs(3600));
        let world = Arc::new(World::default());
        let n = Arc::new(AtomicU64::new(0));
        // The computation waits until every request has asked, so all of them are in flight.
        let (release, released) = tokio::sync::watch::channel(false);
        let requests: Vec<_> = (0..20)
            .map(|_| {
                let (c, world, n) = (c.clone(), Arc::clone(&world), Arc::clone(&n));
                let mut released = released.clone();
                actix_web::rt::spawn(async move {
                    let reader = Arc::clone(&world);
                    let compute = move |_| async move {
                        released.wait_for(|r| *r).await.unwrap();
                        // A cycle stored meanwhile: the waiters take this answer all the same.
                        world.data.fetch_add(1, Ordering::SeqCst);
                        let k = n.fetch_add(1, Ordering::SeqCst) + 1;
                        Ok(Bytes::from(format!("answer {k}")))
                    };
                    c.get(move || reader.read(), compute).await
                })
            })
            .collect();
        // Each request reads the inputs once on arrival, the computing one once more.
        while world.reads.load(Ordering::SeqCst) < 21 {
            tokio::task::yield_now().await;
        }
        release.send(true).unwrap();
        for r in requests {
            assert_eq!(r.await.unwrap().unwrap(), "answer 1");
        }
        assert_eq!(n.load(Ordering::SeqCst), 1, "one computation");
        let s = c.stats();
        assert_eq!((s.hits, s.misses), (19, 1));
    }

    #[actix_web::test]
    async fn a_failed_computation_is_not_kept() {
        let c = cache(Duration::ZERO, Duration::from_secs(3600));
        let (world, n) = (World::default(), AtomicU64::new(0));
        let failed = c
            .get(
                || world.read(),
                |_| async { Err(ApiError::NotFound("gone".into())) },
            )
            .await;
        assert!(failed.is_err());
        assert_eq!(c.stats().entries, 0);
        assert_eq!(ask(&c, &world, &n).await, "answer 1");
    }
}
