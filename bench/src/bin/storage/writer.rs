//! A concurrent writer: while some clean-up runs, a thread inserts a cycle of its own cluster
//! every 5 ms (about what 1,000 clusters at 30 s write: 33 cycles/s) and records how long each
//! insert took and when it started, so that its waits can be told apart by what ran then.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rockscope_bench::fleet::ms;
use rockscope_bench::history::Cycle;
use rockscope_store::Store;
use time::OffsetDateTime;

use super::Fallible;

/// The pause between two inserts of the writer.
const PAUSE: Duration = Duration::from_millis(5);

/// One insert of the writer thread: when it started, its wall time, and the parts of it the
/// thread spent on a CPU and waiting for one (from the kernel's per-thread schedstat; zero where
/// unavailable). The rest is time blocked: waiting for the store's write turn, for I/O, for a
/// lock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Insert {
    pub(crate) started: Instant,
    pub(crate) wall: Duration,
    on_cpu: Duration,
    run_queue: Duration,
}

impl Insert {
    fn blocked(&self) -> Duration {
        self.wall
            .saturating_sub(self.on_cpu)
            .saturating_sub(self.run_queue)
    }

    pub(crate) fn breakdown(&self) -> String {
        format!(
            "{} ms = {} on a CPU + {} waiting for a CPU + {} blocked (write turn, I/O)",
            ms(self.wall),
            ms(self.on_cpu),
            ms(self.run_queue),
            ms(self.blocked())
        )
    }
}

/// The longest, the most blocked, the p99 and the count of 100 ms or more of some inserts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waits {
    pub(crate) count: usize,
    pub(crate) p99: Duration,
    pub(crate) longest: Option<Insert>,
    pub(crate) most_blocked: Option<Insert>,
    pub(crate) over_100ms: usize,
}

impl Waits {
    pub(crate) fn of<'a>(inserts: impl IntoIterator<Item = &'a Insert>) -> Waits {
        let inserts: Vec<&Insert> = inserts.into_iter().collect();
        let mut sorted: Vec<Duration> = inserts.iter().map(|i| i.wall).collect();
        sorted.sort();
        Waits {
            count: inserts.len(),
            p99: sorted
                .get(sorted.len().saturating_sub(1) * 99 / 100)
                .copied()
                .unwrap_or_default(),
            longest: inserts.iter().max_by_key(|i| i.wall).map(|i| **i),
            most_blocked: inserts.iter().max_by_key(|i| i.blocked()).map(|i| **i),
            over_100ms: sorted
                .iter()
                .filter(|&&d| d >= Duration::from_millis(100))
                .count(),
        }
    }

    pub(crate) fn longest_wall(&self) -> Duration {
        self.longest.map(|i| i.wall).unwrap_or_default()
    }
}

/// This thread's time on a CPU and time runnable but waiting for one, in ns (Linux
/// `/proc/thread-self/schedstat`); zeros elsewhere.
fn thread_schedstat() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(0));
    (fields.next().unwrap_or(0), fields.next().unwrap_or(0))
}

/// Runs `work` while a thread inserts `cycle` as cluster `writer_id`'s, stamped now (far after
/// any history) and one ms apart, every [`PAUSE`]; returns what `work` returned and each insert.
pub(crate) fn with_writer<T>(
    store: &Store,
    cycle: &Cycle,
    writer_id: i64,
    work: impl FnOnce() -> T,
) -> Fallible<(T, Vec<Insert>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, stop, cycle) = (store.clone(), Arc::clone(&stop), cycle.clone());
        std::thread::spawn(move || -> Fallible<Vec<Insert>> {
            let mut inserts = Vec::new();
            let base = OffsetDateTime::now_utc();
            let mut k = 0;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let c = cycle.stamped(writer_id, base + time::Duration::milliseconds(k));
                let (cpu0, queue0) = thread_schedstat();
                let started = Instant::now();
                store
                    .insert_cycle(&c.snapshot, &c.nodes)
                    .map_err(|e| format!("writer insert_cycle: {e}"))?;
                let wall = started.elapsed();
                let (cpu1, queue1) = thread_schedstat();
                inserts.push(Insert {
                    started,
                    wall,
                    on_cpu: Duration::from_nanos(cpu1.saturating_sub(cpu0)),
                    run_queue: Duration::from_nanos(queue1.saturating_sub(queue0)),
                });
                std::thread::sleep(PAUSE);
            }
            Ok(inserts)
        })
    };
    std::thread::sleep(Duration::from_millis(50)); // let the writer start
    let done = work();
    stop.store(true, Ordering::Relaxed);
    let inserts = writer
        .join()
        .map_err(|_| "the writer thread panicked".to_owned())??;
    Ok((done, inserts))
}
