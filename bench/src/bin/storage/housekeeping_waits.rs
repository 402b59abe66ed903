//! The writer's waits during each housekeeping step at a fleet's size
//! (`--housekeeping-clusters N`, issue 17: 1,000 clusters, no writer held > 100 ms).
//!
//! A week of 1,000 clusters is 20 M cycles, too long to fill. What a step holds a writer for
//! is one batch: every step deletes cluster by cluster, each batch in one turn of the write
//! gate, sized by the store's pace to hold it about 20 ms (`rockscope_store::retention`). So
//! what must be at full size is the number of clusters (the batches and statements per pass)
//! and rows to delete for each: the rest of the week, which no batch touches, only deepens the
//! tables' B-trees by a level or so (and a file larger than the page cache: each batch reads
//! its pages before it takes the turn). The run therefore fills N clusters × H hours
//! (`--housekeeping-hours`, default 2) at 30 s, at the end of one UTC day D, and runs two
//! housekeeping passes (`rockscope_bench::housekeeping`: the collector's steps, settings and
//! batches) while a writer inserts a cycle of another cluster every 5 ms:
//!
//! 1. at the time when the full-resolution window (6 h) ends in the middle of the H hours:
//!    the roll-ups build day D of every cluster, and thinning thins the first half of the H
//!    hours (59 cycles of 60 deleted, with their node rows and outcomes);
//! 2. two ticks (60 s) later: thinning of the one cycle per cluster that left the window and
//!    is not the first of its 30 minutes, as 59 passes in 60 of the steady state do;
//! 3. a retention (7 days) after pass 1: raw retention deletes the first half (now thinned:
//!    what it deletes in the steady state), thinning thins the second half, the tier's merge
//!    turns all H hours of 5-minute granules into half hours (a catch-up: the steady state
//!    merges one half hour per cluster), and tier retention deletes the first half's;
//! 4. one tick later: raw retention of the one kept cycle per cluster that expired, as every
//!    tenth pass of the steady state does.
//!
//! Passes 2 and 4 are the steady state at this many clusters: about one row per cluster to
//! delete, a batch (and the checkpoint after it) per cluster and table. In passes 1 and 3 each
//! cluster has H/2 hours' worth, so every step fills its batches as a catch-up after downtime
//! would: an upper bound on the batches of the steady state, over the same clusters. The
//! roll-up reads H hours per cluster instead of 24, but its reads take no turn of the write
//! gate (only each cluster's one `upsert_daily` does).
//!
//! Each insert of the writer is counted in the step during which it started; the run prints,
//! per pass and step, the rows, the time, the writer's inserts, their p99 and the longest.

use std::process::Command;
use std::time::Duration;

use rockscope_bench::fleet::ms;
use rockscope_bench::history::Cycle;
use rockscope_bench::housekeeping::{Housekeeper, Settings, StepRun};
use time::OffsetDateTime;

use super::writer::{Insert, Waits, with_writer};
use super::{
    CYCLES_PER_DAY, DAY0, Fallible, TempDir, WRITER_TARGET, add_clusters, fill, open,
    print_extremes, verdict,
};

/// Cycles per hour at 30 s.
const CYCLES_PER_HOUR: i64 = CYCLES_PER_DAY / 24;

/// Fills, runs the two passes with the writer, reports; see the module documentation.
pub(crate) fn run(variants: &[Cycle], clusters: usize, hours: i64) -> Fallible<()> {
    let settings = Settings::service_defaults();
    let dir = TempDir::new("housekeeping")?;
    let store = open(&dir.db())?;
    let ids = add_clusters(&store, "fleet", clusters)?;
    // The H hours end with day D (DAY0's day).
    let first = CYCLES_PER_DAY - hours * CYCLES_PER_HOUR;
    let middle =
        DAY0 + time::Duration::seconds(30 * (CYCLES_PER_DAY - hours * CYCLES_PER_HOUR / 2));
    eprintln!(
        "filling {clusters} clusters x {hours} h ({} cycles) ...",
        ids.len() as i64 * hours * CYCLES_PER_HOUR
    );
    let (cycles, _, took) = fill(&store, variants, &ids, first..CYCLES_PER_DAY, true)?;
    // As the retention run: a week of real time would have written the fill back long ago.
    store.checkpoint().map_err(|e| format!("checkpoint: {e}"))?;
    let synced = Command::new("sync").status().map(|s| s.success());
    let writer_id = add_clusters(&store, "writer", 1)?
        .first()
        .copied()
        .ok_or("no writer cluster")?;
    println!();
    println!("## Housekeeping with a concurrent writer, step by step");
    println!(
        "{clusters} clusters x {hours} h at 30 s ending {}: {cycles} cycles filled in {:.1} s \
         (sync: {synced:?}); a writer inserts a 14-row cycle every 5 ms; housekeeping: {settings}",
        DAY0 + time::Duration::days(1),
        took.as_secs_f64()
    );
    let hours_of = |h: u32| time::Duration::hours(i64::from(h));
    let days_of = |d: u32| time::Duration::days(i64::from(d));
    let tick = time::Duration::try_from(rockscope_collector::CollectorConfig::default().interval)
        .map_err(|e| e.to_string())?;
    let (thin, expire) = (
        middle + hours_of(settings.full_resolution_hours),
        middle + days_of(settings.retention_days),
    );
    let passes = [
        ("pass 1: roll-ups, thinning of the first half", thin),
        (
            "pass 2, two ticks later: thinning of one cycle per cluster (the steady state)",
            thin + tick * 2,
        ),
        (
            "pass 3: raw and tier retention of the first half, thinning of the second",
            expire,
        ),
        (
            "pass 4, one tick later: raw retention of one cycle per cluster (the steady state)",
            expire + tick,
        ),
    ];
    let cycle = variants.first().ok_or("no variants")?;
    let mut keeper = Housekeeper::new(settings);
    let mut longest = Duration::ZERO;
    for (label, now) in passes {
        let (steps, inserts) = with_writer(&store, cycle, writer_id, || keeper.pass(&store, now))?;
        let steps = steps?;
        longest = longest.max(report(label, now, &steps, &inserts));
    }
    println!(
        "longest wait of the writer over the passes: {} ms; target < 100 ms: {}",
        ms(longest),
        verdict(longest < WRITER_TARGET)
    );
    Ok(())
}

/// Prints one pass's steps with the writer's waits in each; returns the longest wait.
fn report(label: &str, now: OffsetDateTime, steps: &[StepRun], inserts: &[Insert]) -> Duration {
    println!();
    println!("{label} (housekeeping at {now})");
    println!("| step | rows | took s | writer inserts | p99 ms | longest ms | ≥ 100 ms |");
    println!("|---|---|---|---|---|---|---|");
    let mut worst: Option<(&str, Waits)> = None;
    for step in steps {
        let during = inserts
            .iter()
            .filter(|i| i.started >= step.started && i.started < step.ended);
        let waits = Waits::of(during);
        println!(
            "| {} | {} | {:.2} | {} | {} | {} | {} |",
            step.name,
            step.rows,
            step.ended.duration_since(step.started).as_secs_f64(),
            waits.count,
            ms(waits.p99),
            ms(waits.longest_wall()),
            waits.over_100ms
        );
        if worst.is_none_or(|(_, w)| waits.longest_wall() > w.longest_wall()) {
            worst = Some((step.name, waits));
        }
    }
    let whole = Waits::of(inserts);
    println!(
        "whole pass: {} inserts, p99 {} ms, longest {} ms",
        whole.count,
        ms(whole.p99),
        ms(whole.longest_wall())
    );
    if let Some((name, waits)) = worst {
        println!("worst step: {name}");
        print_extremes(&waits);
    }
    whole.longest_wall()
}
