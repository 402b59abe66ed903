//! The steady state's size (`--steady-state-clusters N`): N clusters × D days of cycles at 30 s
//! (`--steady-state-days`, default 8: one day more than the 7-day retention, so the window is
//! full), and H hours more (`--steady-state-hours`, default 0: the fill ends at midnight, when
//! the last day's snapshots still wait for its roll-up, the largest the file gets in a day)
//! into a fresh file by `insert_cycle`, time-major as the collector writes, with a
//! housekeeping pass (`rockscope_bench::housekeeping`: the collector's steps, settings and
//! batches) every `--steady-state-pass-secs` simulated seconds, at the simulated time. At the
//! end: the bytes of every table and index (`dbstat`: `SUM(pgsize)`, and the unused bytes in
//! those pages), their total (the pages in use; freed pages are reused in a steady state), the
//! file's size (free pages included), and the total over N × `retention_days` cluster-days.
//!
//! The service runs a pass every 30 s; the fill runs one every simulated hour by default. Each
//! batch that deletes something is followed by a checkpoint (`rockscope_store::retention`),
//! so a pass every 30 s, which thins about one cycle per cluster, makes a few `fsync`s per
//! cluster 2,880 times a simulated day: 3 clusters × 2 days took 265 s that way against 12 s
//! hourly (a debug build). The same rows are deleted either way, in larger batches; the file
//! differs by the order in which freed pages are reused: 3 clusters × 2 days used 36.29 MB with
//! a pass every 30 s, 36.82 MB (+1.5 %) hourly and 36.83 MB every 5 minutes. The hourly figure
//! errs on the large side.

use std::time::Instant;

use rockscope_bench::history::Cycle;
use rockscope_bench::housekeeping::{Housekeeper, Settings};
use rockscope_collector::thinning_cutoffs;

use super::{CYCLES_PER_DAY, DAY0, Fallible, TempDir, add_clusters, db_bytes, fill, open};

/// Fills, runs housekeeping, measures; see the module documentation.
pub(crate) fn run(
    variants: &[Cycle],
    clusters: usize,
    days: i64,
    hours: i64,
    pass_secs: i64,
) -> Fallible<()> {
    let settings = Settings::service_defaults();
    let dir = TempDir::new("steady-state")?;
    let path = dir.db();
    let store = open(&path)?;
    let ids = add_clusters(&store, "steady", clusters)?;
    let ticks_per_pass = (pass_secs / 30).max(1);
    let ticks = days * CYCLES_PER_DAY + hours * CYCLES_PER_DAY / 24;
    println!();
    println!("## Storage in the steady state");
    println!(
        "{clusters} clusters x {days} days and {hours} hours at 30 s ({} cycles, 3 FE + 10 BE \
         each), a housekeeping pass every {} s of simulated time; housekeeping: {settings}",
        ids.len() as i64 * ticks,
        ticks_per_pass * 30
    );
    let mut keeper = Housekeeper::new(settings);
    let started = Instant::now();
    let mut housekeeping = std::time::Duration::ZERO;
    for k in 0..ticks {
        fill(&store, variants, &ids, k..k + 1, true)?;
        if (k + 1) % ticks_per_pass == 0 {
            let t = Instant::now();
            keeper.pass(&store, DAY0 + time::Duration::seconds(30 * (k + 1)))?;
            housekeeping += t.elapsed();
        }
        if (k + 1) % CYCLES_PER_DAY == 0 {
            eprintln!(
                "  day {} of {days} filled at {:.0} s ({:.0} s of it housekeeping)",
                (k + 1) / CYCLES_PER_DAY,
                started.elapsed().as_secs_f64(),
                housekeeping.as_secs_f64()
            );
        }
    }
    println!(
        "filled in {:.1} s, {:.1} s of it in housekeeping",
        started.elapsed().as_secs_f64(),
        housekeeping.as_secs_f64()
    );
    let sizes = store
        .space_by_table()
        .map_err(|e| format!("space_by_table: {e}"))?;
    let mut snapshots = 0;
    for &id in &ids {
        let all = (
            time::OffsetDateTime::UNIX_EPOCH,
            DAY0 + time::Duration::days(days + 2),
        );
        snapshots += store
            .count_snapshots(id, all.0, all.1)
            .map_err(|e| format!("count_snapshots: {e}"))?;
    }
    drop(store); // the last connection folds the write-ahead log into the file
    let file = db_bytes(&path);
    let used: u64 = sizes.iter().map(|t| t.bytes).sum();
    println!();
    println!("| table or index | bytes | of which unused in its pages | pages |");
    println!("|---|---|---|---|");
    for t in &sizes {
        println!("| {} | {} | {} | {} |", t.name, t.bytes, t.unused, t.pages);
    }
    // The window: `retention_days`, or fewer when the fill was shorter (no steady state then).
    let window = days.min(i64::from(settings.retention_days));
    if days <= i64::from(settings.retention_days) {
        println!(
            "NOT a steady state: {days} days filled, the window of {} days is not full \
             (the figure below is over the {window} days kept)",
            settings.retention_days
        );
    }
    let cluster_days = ids.len() as f64 * window as f64;
    // A full window's snapshots: every cycle since the collector's snapshot cut-off, and of
    // the day not yet rolled up (at midnight, the whole last day: its roll-up waits for the
    // next pass), the rest of it one per 30 minutes.
    let end = DAY0 + time::Duration::seconds(30 * ticks);
    let (_, snapshots_cutoff) = thinning_cutoffs(end, settings.full_resolution_hours);
    let since_midnight = if hours == 0 { 24 } else { hours };
    let full = (end - snapshots_cutoff).whole_hours().max(since_midnight) * CYCLES_PER_DAY / 24;
    let thinned = (window * CYCLES_PER_DAY - full) / 60;
    println!(
        "kept: {snapshots} snapshots ({} per cluster; a full window holds about {})",
        snapshots / ids.len() as u64,
        full + thinned
    );
    println!(
        "used: {used} bytes in pages of tables and indexes ({:.1} MB); file: {file} bytes \
         ({:.1} MB, free pages included)",
        used as f64 / 1e6,
        file as f64 / 1e6
    );
    println!(
        "per cluster-day: {:.2} MB used ({:.2} MB of file) over {clusters} clusters x \
         {window} days",
        used as f64 / cluster_days / 1e6,
        file as f64 / cluster_days / 1e6
    );
    Ok(())
}
