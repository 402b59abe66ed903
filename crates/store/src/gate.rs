//! The write gate: the write transactions of one [`Store`] (and its clones) take turns on an
//! in-process queue, first come first served, and background work steps aside for any waiting
//! writer.
//!
//! SQLite lets one connection write at a time. A connection that finds the write lock taken does
//! not queue for it: its busy handler (`sqlite3_busy_timeout`) polls, sleeping 1, 2, 5, 10, 15,
//! 20, 25, 25, 25, 50, 50, 100, 100 ... ms between attempts, and nothing wakes it when the lock
//! is released. Against a retention clean-up that holds the lock for one batch and releases it
//! for a few microseconds before the next, a writer loses poll after poll and sleeps for hundreds
//! of milliseconds (measured: `docs/BENCHMARKS.md`, "Storage"). The gate queues this process's
//! writers on a `Mutex` + `Condvar` instead: a released turn wakes the waiters at once, writers
//! ([`Priority::Writer`]) are admitted in arrival order (a ticket lock), and a
//! [`Priority::Background`] turn (one retention batch) is granted only when no writer waits, so a
//! writer that arrives during a batch goes next. Inside the process SQLite's lock is then always
//! free when a turn begins; the busy timeout remains for other processes (a `sqlite3` shell).
//!
//! **Rules for the store's code.** Every write transaction (and every autocommit write statement)
//! runs inside a turn, taken after the pooled connection (so that a turn holder never waits for
//! the pool) and held until the transaction has committed or rolled back. A turn holder never
//! starts another turn (the gate is not reentrant: that would wait forever), and nothing slow that
//! is not the write itself (a checkpoint, a read-only query) runs inside a turn.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// Who asks for a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// A write on the service's path (a cycle, a cluster change, a daily row, a run): served in
    /// arrival order, before any background turn.
    Writer,
    /// One batch of a bulk clean-up (retention, a cluster's deletion): granted only while no
    /// writer waits.
    Background,
}

/// The queue of one store's write turns (shared by its clones).
#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    state: Mutex<State>,
    released: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Tickets handed to writers so far.
    issued: u64,
    /// The ticket of the next writer to admit; `issued - next` writers are waiting.
    next: u64,
    /// Whether a turn is held.
    held: bool,
    /// Background requests waiting.
    background_waiting: usize,
    /// The priority of every turn granted, in order (for the tests).
    #[cfg(test)]
    granted: Vec<Priority>,
}

impl State {
    fn grant(&mut self, _priority: Priority) {
        self.held = true;
        #[cfg(test)]
        self.granted.push(_priority);
    }
}

/// A held turn; dropping it lets the next one in.
#[must_use = "the turn ends when this guard is dropped"]
pub(crate) struct Turn<'a> {
    gate: &'a WriteGate,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.gate.state().held = false;
        self.gate.released.notify_all();
    }
}

impl WriteGate {
    /// The state. Poisoning is ignored: the state is a few counters that no panic can leave
    /// half-updated (nothing that can panic runs while the mutex is held).
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        self.released
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for a turn and takes it.
    pub(crate) fn turn(&self, priority: Priority) -> Turn<'_> {
        let mut state = self.state();
        match priority {
            Priority::Writer => {
                let ticket = state.issued;
                state.issued += 1;
                while state.held || state.next != ticket {
                    state = self.wait(state);
                }
                state.next += 1;
            }
            Priority::Background => {
                state.background_waiting += 1;
                while state.held || state.next != state.issued {
                    state = self.wait(state);
                }
                state.background_waiting -= 1;
            }
        }
        state.grant(priority);
        Turn { gate: self }
    }

    /// How many writers and background requests are waiting (for the tests).
    #[cfg(test)]
    pub(crate) fn waiting(&self) -> (u64, usize) {
        let state = self.state();
        (state.issued - state.next, state.background_waiting)
    }

    /// The priorities of the turns granted so far, in order (for the tests).
    #[cfg(test)]
    pub(crate) fn granted(&self) -> Vec<Priority> {
        self.state().granted.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;

    /// Spins (yielding) until `cond` holds: waits for another thread to reach a state, never
    /// for an amount of time.
    fn until(cond: impl Fn() -> bool) {
        while !cond() {
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_free_gate_grants_at_once_and_a_dropped_turn_frees_it() {
        let gate = WriteGate::default();
        drop(gate.turn(Priority::Writer));
        drop(gate.turn(Priority::Background));
        drop(gate.turn(Priority::Writer));
        assert_eq!(
            gate.granted(),
            [Priority::Writer, Priority::Background, Priority::Writer]
        );
        assert_eq!(gate.waiting(), (0, 0));
    }

    #[test]
    fn writers_are_admitted_in_arrival_order() {
        let gate = Arc::new(WriteGate::default());
        let (tx, rx) = mpsc::channel();
        let first = gate.turn(Priority::Writer);
        let mut threads = Vec::new();
        for i in 0..4 {
            // Start the writers one after the other: each is queued before the next starts.
            let (g, tx) = (Arc::clone(&gate), tx.clone());
            threads.push(std::thread::spawn(move || {
                let _turn = g.turn(Priority::Writer);
                tx.send(i).unwrap();
            }));
            until(|| gate.waiting().0 == i + 1);
        }
        drop(first);
        for t in threads {
            t.join().unwrap();
        }
        let order: Vec<u64> = rx.try_iter().collect();
        assert_eq!(order, [0, 1, 2, 3]);
    }

    #[test]
    fn a_waiting_writer_gets_in_between_background_batches() {
        // A clean-up holds a batch; a writer arrives and queues; the clean-up ends its batch and
        // at once asks for the next one: the writer must be served first.
        let gate = Arc::new(WriteGate::default());
        let batch = gate.turn(Priority::Background);
        let writer = {
            let g = Arc::clone(&gate);
            std::thread::spawn(move || drop(g.turn(Priority::Writer)))
        };
        until(|| gate.waiting() == (1, 0));
        let next_batch = {
            let g = Arc::clone(&gate);
            std::thread::spawn(move || drop(g.turn(Priority::Background)))
        };
        until(|| gate.waiting() == (1, 1));
        drop(batch);
        writer.join().unwrap();
        next_batch.join().unwrap();
        assert_eq!(
            gate.granted(),
            [Priority::Background, Priority::Writer, Priority::Background]
        );
    }

    #[test]
    fn background_waits_for_every_queued_writer() {
        let gate = Arc::new(WriteGate::default());
        let first = gate.turn(Priority::Writer);
        let background = {
            let g = Arc::clone(&gate);
            std::thread::spawn(move || drop(g.turn(Priority::Background)))
        };
        until(|| gate.waiting() == (0, 1));
        let mut writers = Vec::new();
        for i in 0..3 {
            let g = Arc::clone(&gate);
            writers.push(std::thread::spawn(move || drop(g.turn(Priority::Writer))));
            until(|| gate.waiting() == (i + 1, 1));
        }
        drop(first);
        for w in writers {
            w.join().unwrap();
        }
        background.join().unwrap();
        assert_eq!(
            gate.granted(),
            [
                Priority::Writer,
                Priority::Writer,
                Priority::Writer,
                Priority::Writer,
                Priority::Background
            ]
        );
    }

    #[test]
    fn a_turn_is_released_when_its_holder_panics() {
        let gate = Arc::new(WriteGate::default());
        let g = Arc::clone(&gate);
        let crashed = std::thread::spawn(move || {
            let _turn = g.turn(Priority::Writer);
            panic!("a write failed badly");
        })
        .join();
        assert!(crashed.is_err());
        drop(gate.turn(Priority::Writer));
        assert_eq!(gate.granted().len(), 2);
    }
}
