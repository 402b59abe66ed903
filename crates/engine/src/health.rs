//! Node counts, the leader, versions and scrape health.
//!
//! Counts come from the leader's lists, else (a list failed) from the leader body's `node_info`.
//! The starrocks-admin compatible `backend_*` counts are the nodes that play the BE role: the
//! backends, or on a shared-data cluster without backends its compute nodes (starrocks-admin's
//! client reads `/compute_nodes` when `/backends` is empty, `starrocks_client.rs`).

use std::collections::BTreeSet;

use rockscope_model::{
    Backend, ComputeNode, CycleInput, Frontend, FrontendRole, MetricsScrape, NodeKind, NodeRef,
    SourceError,
};

use crate::extract::{FeMetrics, NodeInfo};
use crate::nodes::{Node, Row};
use crate::rates::{mean_opt, to_i64};

/// Total, alive and decommissioning nodes of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Counted {
    pub total: Option<i64>,
    pub alive: Option<i64>,
    pub decommissioned: Option<i64>,
}

impl Counted {
    fn rows<T>(rows: &[T], alive: fn(&T) -> bool, decommissioned: fn(&T) -> bool) -> Counted {
        let count = |f: fn(&T) -> bool| Some(rows.iter().filter(|r| f(r)).count() as i64);
        Counted {
            total: Some(rows.len() as i64),
            alive: count(alive),
            decommissioned: count(decommissioned),
        }
    }
}

/// The cluster's node counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct NodeCounts {
    /// The nodes in the BE role (see the module docs).
    pub backends: Counted,
    pub compute_nodes: Counted,
    pub frontends: Counted,
    pub followers: Option<i64>,
    pub observers: Option<i64>,
}

/// Counts from the lists, with the leader body's `node_info` for a failed list.
pub(crate) fn node_counts(input: &CycleInput, info: &NodeInfo) -> NodeCounts {
    let backends = input.backends.as_deref().ok();
    let compute_nodes = input.compute_nodes.as_deref().ok();
    let cns = match compute_nodes {
        Some(c) => Counted::rows(c, |c| c.alive, ComputeNode::is_decommissioned),
        None => Counted {
            total: to_i64(info.cn_total),
            alive: to_i64(info.cn_alive),
            decommissioned: None,
        },
    };
    let bes = match backends {
        Some(b) => Counted::rows(b, |b| b.alive, Backend::is_decommissioned),
        None => Counted {
            total: to_i64(info.be_total),
            alive: to_i64(info.be_alive),
            decommissioned: to_i64(info.be_decommissioned),
        },
    };
    // Shared-data: no backend at all, the compute nodes play the BE role.
    let backends_role = if bes.total == Some(0) && cns.total.is_some_and(|t| t > 0) {
        cns
    } else {
        bes
    };
    let frontends = input.frontends.as_deref().ok();
    let role = |r: FrontendRole| frontends.map(|f| f.iter().filter(|f| f.role == r).count() as i64);
    NodeCounts {
        backends: backends_role,
        compute_nodes: cns,
        frontends: match frontends {
            Some(f) => Counted::rows(f, |f| f.alive, |_| false),
            None => Counted {
                total: to_i64(info.fe_total),
                alive: to_i64(info.fe_alive),
                decommissioned: None,
            },
        },
        followers: role(FrontendRole::Follower),
        observers: role(FrontendRole::Observer),
    }
}

/// The leader: its list row and the node whose body says it leads.
#[derive(Clone, Copy)]
pub(crate) struct Leader<'n, 'a> {
    pub row: Option<&'a Frontend>,
    pub node: Option<&'n Node<'a>>,
}

impl<'n, 'a> Leader<'n, 'a> {
    /// The row with `Role = LEADER`, and the node claiming `is_master` (the leader row's first,
    /// else any), else the leader row's node when it was scraped.
    pub fn find(input: &'a CycleInput, nodes: &'n [Node<'a>]) -> Leader<'n, 'a> {
        let row = input
            .frontends
            .as_deref()
            .ok()
            .and_then(|fs| fs.iter().find(|f| f.is_leader()));
        let is_leader_row = |n: &Node<'_>| matches!(n.row, Some(Row::Fe(f)) if f.is_leader());
        let claiming: Vec<&Node<'a>> = nodes
            .iter()
            .filter(|n| n.fe.as_ref().is_some_and(|m| m.is_master))
            .collect();
        let node = claiming
            .iter()
            .find(|n| is_leader_row(n))
            .or(claiming.first())
            .copied()
            .or_else(|| nodes.iter().find(|n| is_leader_row(n) && n.fe.is_some()));
        Leader { row, node }
    }

    pub fn metrics(&self) -> Option<&'n FeMetrics> {
        self.node.and_then(|n| n.fe.as_ref())
    }

    pub fn name(&self) -> Option<String> {
        self.row
            .map(|l| l.name.clone())
            .or_else(|| self.node.map(|n| n.node.id.clone()))
            .filter(|s| !s.is_empty())
    }

    pub fn host(&self) -> Option<String> {
        self.row
            .map(|l| l.ip.clone())
            .or_else(|| self.node.map(|n| n.node.host.clone()))
    }

    /// Journal entries the slowest alive FE is behind the leader.
    pub fn journal_replay_lag(&self, frontends: Option<&[Frontend]>) -> Option<i64> {
        let lead = self.row?.replayed_journal_id?;
        let slowest = frontends?
            .iter()
            .filter(|f| f.alive)
            .filter_map(|f| f.replayed_journal_id)
            .min()?;
        Some(lead as i64 - slowest as i64)
    }
}

/// Distinct `Version` values over all rows.
pub(crate) fn distinct_versions(nodes: &[Node<'_>]) -> Option<i64> {
    let versions: BTreeSet<&str> = nodes
        .iter()
        .filter_map(|n| match n.row? {
            Row::Fe(f) => f.version.as_deref(),
            Row::Be(b) => b.version.as_deref(),
            Row::Cn(c) => c.version.as_deref(),
        })
        .collect();
    (!versions.is_empty()).then_some(versions.len() as i64)
}

/// How the cycle's scrapes went.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ScrapeHealth {
    pub nodes_total: i64,
    pub nodes_ok: i64,
    pub fe_ok: i64,
    pub be_ok: i64,
    pub duration_max_ms: Option<i64>,
    pub duration_avg_ms: Option<f64>,
    pub skipped_lines: i64,
    pub interval_seconds: Option<f64>,
    pub source_errors: Vec<SourceError>,
}

pub(crate) fn scrape_health(input: &CycleInput, nodes: &[Node<'_>]) -> ScrapeHealth {
    let ok: Vec<(&NodeRef, &MetricsScrape)> = input
        .scrapes
        .iter()
        .filter_map(|s| Some((&s.node, s.result.as_ref().ok()?)))
        .collect();
    let fe_ok = ok.iter().filter(|(n, _)| n.kind == NodeKind::Fe).count() as i64;
    ScrapeHealth {
        nodes_total: input.scrapes.len() as i64,
        nodes_ok: ok.len() as i64,
        fe_ok,
        be_ok: ok.len() as i64 - fe_ok,
        duration_max_ms: ok.iter().map(|(_, s)| s.duration_ms as i64).max(),
        duration_avg_ms: mean_opt(ok.iter().map(|(_, s)| Some(s.duration_ms as f64))),
        skipped_lines: nodes
            .iter()
            .map(|n| {
                let fe = n.fe.as_ref().map_or(0, |m| m.skipped_lines);
                let be = n.be.as_ref().map_or(0, |m| m.skipped_lines);
                (fe + be) as i64
            })
            .sum(),
        interval_seconds: mean_opt(nodes.iter().map(|n| n.seconds)),
        source_errors: source_errors(input),
    }
}

/// Failed lists, failed scrapes, then what else the collector reported.
fn source_errors(input: &CycleInput) -> Vec<SourceError> {
    let lists = [
        input.frontends.as_ref().err(),
        input.backends.as_ref().err(),
        input.compute_nodes.as_ref().err(),
    ];
    let scrapes = input.scrapes.iter().map(|s| s.result.as_ref().err());
    lists
        .into_iter()
        .chain(scrapes)
        .flatten()
        .cloned()
        .chain(input.other_errors.iter().cloned())
        .collect()
}
