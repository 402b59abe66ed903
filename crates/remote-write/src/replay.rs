//! The cycles a receiver missed, read back from the store: the stored snapshots with their
//! nodes, and the unreachable cycles (`up 0`), merged oldest first, a page at a time.
//!
//! [`assemble`] is pure; [`read_page`] does the reading (on the worker's thread).

use std::time::Duration;

use rockscope_export::ClusterExport;
use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use rockscope_store::Store;
use time::OffsetDateTime;

/// Cycles per page: one page is read, sent, and recorded as progress before the next.
pub(crate) const PAGE_CYCLES: usize = 50;
/// Node rows read per page at most (a cluster of 2,000 nodes over a full page).
const PAGE_NODE_ROWS: usize = PAGE_CYCLES * 2_000;

/// Which cluster is replayed, and what carries from one page to the next.
#[derive(Debug, Clone)]
pub(crate) struct Replay {
    pub(crate) cluster_id: i64,
    pub(crate) cluster: String,
    pub(crate) interval: Duration,
    /// Unreachable cycles in a row so far (the `failed_cycles` series).
    pub(crate) failed_cycles: u32,
    /// The newest snapshot replayed (the `last_success` series).
    pub(crate) last_success_at: Option<OffsetDateTime>,
}

/// A Unix-ms time back to a UTC time.
pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The stored cycles of `replay`'s cluster strictly between `after_ms` and `before_ms`, oldest
/// first, at most [`PAGE_CYCLES`].
pub(crate) fn read_page(
    store: &Store,
    replay: &mut Replay,
    after_ms: i64,
    before_ms: i64,
) -> rockscope_store::Result<Vec<ClusterExport>> {
    let id = replay.cluster_id;
    let (from, to) = (from_ms(after_ms + 1), from_ms(before_ms - 1));
    if from > to {
        return Ok(Vec::new());
    }
    let snapshots = store.snapshots_range(id, from, to, PAGE_CYCLES)?;
    let downs =
        store.unreachable_cycles_between(id, from_ms(after_ms), from_ms(before_ms), PAGE_CYCLES)?;
    let nodes = match (snapshots.first(), snapshots.last()) {
        (Some(first), Some(last)) => {
            store.nodes_range(id, first.collected_at, last.collected_at, PAGE_NODE_ROWS)?
        }
        _ => Vec::new(),
    };
    Ok(assemble(replay, snapshots, nodes, downs))
}

/// The cycles of one page: each snapshot with its nodes (matched on `collected_at`) and each
/// unreachable cycle, in time order, the first [`PAGE_CYCLES`] of them. `snapshots`, `nodes`
/// and `downs` are each oldest first, as the store returns them.
pub(crate) fn assemble(
    replay: &mut Replay,
    snapshots: Vec<MetricsSnapshot>,
    nodes: Vec<NodeSnapshot>,
    downs: Vec<OffsetDateTime>,
) -> Vec<ClusterExport> {
    let mut snapshots = snapshots.into_iter().peekable();
    let mut downs = downs.into_iter().peekable();
    let mut nodes = nodes.into_iter().peekable();
    let mut out = Vec::new();
    while out.len() < PAGE_CYCLES {
        let take_snapshot = match (snapshots.peek(), downs.peek()) {
            (Some(s), Some(d)) => s.collected_at <= *d,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let base = |at, failed_cycles, last_success_at| ClusterExport {
            cluster_id: replay.cluster_id,
            cluster: replay.cluster.clone(),
            at,
            snapshot: None,
            nodes: Vec::new(),
            failed_cycles,
            last_success_at,
            interval: replay.interval,
            // The alerts of a past cycle are in the alert history, not series: not replayed.
            alerts: None,
            // Remote write sends no HELP: a stored custom value needs only its name.
            custom: rockscope_export::CustomFamilies::default(),
        };
        if take_snapshot {
            let Some(snapshot) = snapshots.next() else {
                break;
            };
            let at = snapshot.collected_at;
            // Nodes of older cycles than any snapshot left (none in a consistent store) are
            // skipped, so each cycle gets exactly its own.
            while nodes.next_if(|n| n.collected_at < at).is_some() {}
            let mut cycle = base(at, 0, Some(at));
            while let Some(node) = nodes.next_if(|n| n.collected_at == at) {
                cycle.nodes.push(node);
            }
            cycle.snapshot = Some(snapshot);
            replay.failed_cycles = 0;
            replay.last_success_at = Some(at);
            out.push(cycle);
        } else if let Some(at) = downs.next() {
            replay.failed_cycles = replay.failed_cycles.saturating_add(1);
            out.push(base(at, replay.failed_cycles, replay.last_success_at));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::fixtures::{node, snapshot};

    fn replay() -> Replay {
        Replay {
            cluster_id: 1,
            cluster: "a".into(),
            interval: Duration::from_secs(1),
            failed_cycles: 0,
            last_success_at: None,
        }
    }

    #[test]
    fn snapshots_and_outages_come_back_in_time_order_each_with_its_own_nodes() {
        let t = |s: i64| datetime!(2026-01-01 0:00 UTC) + time::Duration::seconds(s);
        let snapshots = vec![snapshot(1, t(1), 1.0), snapshot(1, t(4), 4.0)];
        let nodes = vec![
            node(1, t(1), 10.0),
            node(1, t(4), 40.0),
            node(1, t(4), 41.0),
        ];
        let downs = vec![t(2), t(3), t(5)];
        let mut r = replay();
        let cycles = assemble(&mut r, snapshots, nodes, downs);
        let got: Vec<(i64, bool, usize, u32)> = cycles
            .iter()
            .map(|c| {
                let s = c.at.unix_timestamp() - t(0).unix_timestamp();
                (s, c.is_up(), c.nodes.len(), c.failed_cycles)
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, true, 1, 0),
                (2, false, 0, 1),
                (3, false, 0, 2),
                (4, true, 2, 0),
                (5, false, 0, 1)
            ]
        );
        assert_eq!(cycles[0].nodes[0].cpu_usage_pct, Some(10.0));
        assert_eq!(cycles[2].last_success_at, Some(t(1)));
        assert_eq!((r.failed_cycles, r.last_success_at), (1, Some(t(4))));
    }

    #[test]
    fn a_page_holds_at_most_page_cycles_the_oldest() {
        let t = |s: i64| datetime!(2026-01-01 0:00 UTC) + time::Duration::seconds(s);
        let snapshots: Vec<_> = (0..PAGE_CYCLES as i64)
            .map(|s| snapshot(1, t(2 * s), 0.0))
            .collect();
        let downs: Vec<_> = (0..PAGE_CYCLES as i64).map(|s| t(2 * s + 1)).collect();
        let cycles = assemble(&mut replay(), snapshots, Vec::new(), downs);
        assert_eq!(cycles.len(), PAGE_CYCLES);
        assert!(cycles.windows(2).all(|w| w[0].at < w[1].at));
        assert_eq!(cycles.last().unwrap().at, t(PAGE_CYCLES as i64 - 1));
    }
}
