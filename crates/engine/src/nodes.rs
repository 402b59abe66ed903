//! The cycle's nodes: every list row with the scrape matched to it, then the scrapes that match
//! no row, each with its parsed body and its previous scrape.
//!
//! Node identity across cycles is `kind/host:port` of the address scraped ([`NodeRef::key`]).
//! A scrape is matched to a row of the leader's lists by kind and id (`BackendId`,
//! `ComputeNodeId`, FE `Name`), else by host and HTTP port, else (FEs only, since the frontends
//! list reports the answering FE's HTTP port for every row) by a unique host. A scrape that
//! matches no row still counts: its node is reported alive if the scrape succeeded.

use rockscope_model::{
    Backend, ComputeNode, CycleInput, Frontend, MetricsScrape, NodeKind, NodeRef, NodeScrape,
};

use crate::custom::tap::NodeCustom;
use crate::extract::{BeCounters, BeMetrics, FeCounters, FeMetrics, FeView};
use crate::snapshot::NodeState;

/// A row of one of the leader's lists.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Row<'a> {
    Fe(&'a Frontend),
    Be(&'a Backend),
    Cn(&'a ComputeNode),
}

/// One node of the cycle: its address, its list row, its scrape, and what the scrape gave.
pub(crate) struct Node<'a> {
    pub node: NodeRef,
    pub row: Option<Row<'a>>,
    pub scrape: Option<&'a NodeScrape>,
    pub fe: Option<FeMetrics>,
    pub be: Option<BeMetrics>,
    /// The node's previous scrape, when a rate can be computed from it.
    pub prev: Option<&'a NodeState>,
    /// Seconds since that scrape.
    pub seconds: Option<f64>,
    /// What its body gave the custom metrics.
    pub custom: Option<NodeCustom>,
}

impl<'a> Node<'a> {
    fn new(node: NodeRef, row: Option<Row<'a>>, scrape: Option<&'a NodeScrape>) -> Node<'a> {
        Node {
            node,
            row,
            scrape,
            fe: None,
            be: None,
            prev: None,
            seconds: None,
            custom: None,
        }
    }

    pub fn ok_scrape(&self) -> Option<&'a MetricsScrape> {
        self.scrape.and_then(|s| s.result.as_ref().ok())
    }

    pub fn alive(&self) -> bool {
        match self.row {
            Some(Row::Fe(f)) => f.alive,
            Some(Row::Be(b)) => b.alive,
            Some(Row::Cn(c)) => c.alive,
            None => self.ok_scrape().is_some(),
        }
    }

    pub fn prev_fe(&self) -> Option<&'a FeCounters> {
        self.prev.and_then(|p| p.fe.as_ref())
    }

    pub fn prev_be(&self) -> Option<&'a BeCounters> {
        self.prev.and_then(|p| p.be.as_ref())
    }

    pub fn fe_view(&self) -> Option<FeView<'_>> {
        Some(FeView {
            metrics: self.fe.as_ref()?,
            prev: self.prev_fe(),
            seconds: self.seconds,
        })
    }

    pub fn is_compute(&self) -> bool {
        self.node.kind != NodeKind::Fe
    }
}

/// Lists the cycle's nodes: every list row, with the scrapes matched to them, then the scrapes
/// that match no row.
pub(crate) fn gather<'a>(input: &'a CycleInput) -> Vec<Node<'a>> {
    let mut nodes: Vec<Node<'a>> = Vec::new();
    let mut push = |kind, id: String, host: &str, http_port, row| {
        let node = NodeRef {
            kind,
            id,
            host: host.to_owned(),
            http_port,
        };
        nodes.push(Node::new(node, Some(row), None));
    };
    for f in input.frontends.iter().flatten() {
        push(NodeKind::Fe, f.name.clone(), &f.ip, f.http_port, Row::Fe(f));
    }
    for b in input.backends.iter().flatten() {
        let id = b.backend_id.to_string();
        push(NodeKind::Be, id, &b.ip, b.http_port, Row::Be(b));
    }
    for c in input.compute_nodes.iter().flatten() {
        let id = c.compute_node_id.to_string();
        push(NodeKind::Cn, id, &c.ip, c.http_port, Row::Cn(c));
    }
    for s in &input.scrapes {
        match find_row(&nodes, &s.node) {
            Some(i) => {
                let n = &mut nodes[i];
                n.scrape = Some(s);
                // The address actually scraped is the node's identity.
                n.node.host.clone_from(&s.node.host);
                n.node.http_port = s.node.http_port;
            }
            None => nodes.push(Node::new(s.node.clone(), None, Some(s))),
        }
    }
    nodes
}

/// The list row not yet matched that the scrape of `r` belongs to (see the module docs).
fn find_row(nodes: &[Node<'_>], r: &NodeRef) -> Option<usize> {
    let free = |n: &Node<'_>| n.node.kind == r.kind && n.scrape.is_none() && n.row.is_some();
    let by_id = (!r.id.is_empty())
        .then(|| nodes.iter().position(|n| free(n) && n.node.id == r.id))
        .flatten();
    let by_addr = || {
        nodes
            .iter()
            .position(|n| free(n) && n.node.host == r.host && n.node.http_port == r.http_port)
    };
    let by_host = || {
        let mut it = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| free(n) && r.kind == NodeKind::Fe && n.node.host == r.host);
        match (it.next(), it.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    };
    by_id.or_else(by_addr).or_else(by_host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disk::tests::backend;
    use crate::snapshot::tests::{input, scrape};

    #[test]
    fn scrapes_match_rows_by_id_then_address() {
        let rows = vec![backend(1, Some(10), Some(5)), backend(2, Some(10), Some(5))];
        let input = input(
            rows,
            vec![
                // by address (no id), then by id at another address, then unknown
                scrape(NodeKind::Be, "", "10.0.0.1", 8040, ""),
                scrape(NodeKind::Be, "2", "be2.example", 8041, ""),
                scrape(NodeKind::Be, "", "10.0.0.9", 8040, ""),
            ],
        );
        let nodes = gather(&input);
        assert_eq!(nodes.len(), 3);
        assert!(nodes[0].scrape.is_some() && nodes[0].row.is_some());
        assert_eq!(nodes[1].node.key(), "be/be2.example:8041");
        assert_eq!(nodes[1].node.id, "2");
        assert!(nodes[2].row.is_none());
    }
}
