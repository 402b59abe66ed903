//! Data conversions: the part of a schema change that rewrites existing rows, too long for the
//! one migration transaction of [`crate::schema::migrate`].
//!
//! A migration only creates the new tables; a [`Conversion`] then moves the data over in
//! batches, each one short `IMMEDIATE` transaction, when the store opens, before the pool and
//! so before anything reads or writes through it. So:
//!
//! * **resumable**: a batch moves its rows atomically (written to the new layout and removed
//!   from the old one, or marked by a cursor, in the same transaction); a process killed half-way
//!   leaves whole batches done and the rest waiting, and the next start carries on from there;
//! * **once**: a finished conversion is recorded in `conversions` (name, finish time), and never
//!   looked at again;
//! * **visible**: the log says what it converts and how much is left, at its start, at most
//!   every [`PROGRESS_EVERY`] while it runs, and when it ends;
//! * **lossless**: each conversion's test takes the previous schema with data to the new one and
//!   compares every value (see the conversions' modules).
//!
//! The write-ahead log is checkpointed between batches, so a conversion of a large file does
//! not grow it without bound.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::error::Result;

/// How often, at most, a running conversion logs its progress.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// One data conversion (see the module documentation).
pub(crate) struct Conversion {
    /// Its name in `conversions` and the log; never change a shipped one.
    pub(crate) name: &'static str,
    /// How many units (e.g. cycles) are left, for the progress lines.
    pub(crate) remaining: fn(&Connection) -> Result<u64>,
    /// Converts at most `limit` units inside `tx` and returns how many; 0 means done.
    pub(crate) step: fn(&Transaction<'_>, usize) -> Result<usize>,
    /// Runs once in the transaction of the step that found nothing left (e.g. drops the old
    /// table).
    pub(crate) finish: fn(&Transaction<'_>) -> Result<()>,
    /// Units per batch.
    pub(crate) batch: usize,
}

/// The conversions, in the order they run.
pub(crate) const CONVERSIONS: &[&Conversion] = &[
    &crate::node_cycles::CONVERSION,
    &crate::tier::backfill::BACKFILL,
    &crate::tier::overview::CONVERSION,
];

/// How far [`run_pending`] goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Until {
    /// Every conversion to its end.
    End,
    /// (Tests) `batches` batches that converted something, in all, of `batch` units each, then
    /// stop as a killed process would.
    #[cfg_attr(not(test), allow(dead_code))]
    Batches { batches: usize, batch: usize },
}

/// Runs every conversion not yet recorded as finished, each to its end (or as far as `until`
/// says).
pub(crate) fn run_pending(conn: &mut Connection, until: Until) -> Result<()> {
    let (mut batches_left, batch) = match until {
        Until::End => (usize::MAX, None),
        Until::Batches { batches, batch } => (batches, Some(batch)),
    };
    for conversion in CONVERSIONS {
        if is_finished(conn, conversion.name)? {
            continue;
        }
        let batch = batch.unwrap_or(conversion.batch);
        if !run(conn, conversion, batch, &mut batches_left)? {
            return Ok(());
        }
    }
    Ok(())
}

/// Whether `name` is recorded as finished.
fn is_finished(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM conversions WHERE name = ?1", [name], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

/// Runs `conversion` to its end (true) or until `batches_left` runs out (false).
fn run(
    conn: &mut Connection,
    conversion: &Conversion,
    batch: usize,
    batches_left: &mut usize,
) -> Result<bool> {
    let total = (conversion.remaining)(conn)?;
    let name = conversion.name;
    if total > 0 {
        log::info!("store: converting {name}: {total} to go");
    }
    let started = Instant::now();
    let mut last_log = started;
    let mut done: u64 = 0;
    loop {
        if *batches_left == 0 {
            log::info!("store: conversion {name} stopped after {done} of {total}");
            return Ok(false);
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let moved = (conversion.step)(&tx, batch)?;
        if moved == 0 {
            (conversion.finish)(&tx)?;
            tx.execute(
                "INSERT INTO conversions (name, finished_at) VALUES (?1, ?2)",
                params![name, crate::columns::to_ms(time::OffsetDateTime::now_utc())],
            )?;
            tx.commit()?;
            if total > 0 {
                log::info!(
                    "store: converted {name}: {done} in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
            return Ok(true);
        }
        tx.commit()?;
        *batches_left -= 1;
        done += moved as u64;
        // No reader is open yet: a checkpoint copies the whole log and lets it start over.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        if last_log.elapsed() >= PROGRESS_EVERY {
            last_log = Instant::now();
            let pct = if total > 0 {
                done as f64 * 100.0 / total as f64
            } else {
                100.0
            };
            log::info!("store: converting {name}: {done} of {total} done ({pct:.1} %)");
        }
    }
}
