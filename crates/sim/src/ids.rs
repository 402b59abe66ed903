//! Node identities and the public description of served clusters.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::{SimError, Version};

/// The role of a node's process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    /// Frontend (leader, follower or observer).
    Fe,
    /// Backend (shared-nothing storage + compute).
    Be,
    /// Compute node (shared-data).
    Cn,
}

impl NodeKind {
    /// `fe`, `be` or `cn`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Fe => "fe",
            NodeKind::Be => "be",
            NodeKind::Cn => "cn",
        }
    }
}

/// A node within its cluster: kind plus 0-based index among nodes of that kind.
///
/// FE indices `0..fes` are the leader-capable FEs (index 0 starts as leader), and
/// `fes..fes+observers` are observers. Displays and parses as `fe0`, `be2`, `cn1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// FE, BE or CN.
    pub kind: NodeKind,
    /// Index among nodes of the same kind.
    pub index: u32,
}

impl NodeId {
    /// The `index`-th FE.
    pub fn fe(index: u32) -> NodeId {
        NodeId {
            kind: NodeKind::Fe,
            index,
        }
    }
    /// The `index`-th BE.
    pub fn be(index: u32) -> NodeId {
        NodeId {
            kind: NodeKind::Be,
            index,
        }
    }
    /// The `index`-th CN.
    pub fn cn(index: u32) -> NodeId {
        NodeId {
            kind: NodeKind::Cn,
            index,
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.kind.as_str(), self.index)
    }
}

impl FromStr for NodeId {
    type Err = SimError;
    fn from_str(s: &str) -> Result<NodeId, SimError> {
        let s = s.trim().to_ascii_lowercase();
        let (kind, rest) = if let Some(r) = s.strip_prefix("fe") {
            (NodeKind::Fe, r)
        } else if let Some(r) = s.strip_prefix("be") {
            (NodeKind::Be, r)
        } else if let Some(r) = s.strip_prefix("cn") {
            (NodeKind::Cn, r)
        } else {
            return Err(SimError::UnknownNode(s));
        };
        let index = rest
            .trim_start_matches(['-', '_'])
            .parse()
            .map_err(|_| SimError::UnknownNode(s.clone()))?;
        Ok(NodeId { kind, index })
    }
}

/// One served node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// Identity within the cluster.
    pub id: NodeId,
    /// Same as `id.kind`.
    pub kind: NodeKind,
    /// The HTTP address it listens on (FE `http_port` / BE `be_http_port`).
    pub addr: SocketAddr,
    /// Currently the FE leader.
    pub is_leader: bool,
}

/// One served cluster, as needed to point a client at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterInfo {
    /// Cluster name.
    pub name: String,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// Version shape.
    pub version: Version,
    /// Every FE's HTTP address as `ip:port`, FE index order.
    pub fe_hosts: Vec<String>,
    /// Every node (FEs, then BEs, then CNs).
    pub nodes: Vec<NodeInfo>,
}

impl ClusterInfo {
    /// The node with this id.
    pub fn node(&self, id: NodeId) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.id == id)
    }
    /// The current leader FE.
    pub fn leader(&self) -> Option<&NodeInfo> {
        self.nodes.iter().find(|n| n.is_leader)
    }
    /// Nodes of one kind.
    pub fn nodes_of(&self, kind: NodeKind) -> impl Iterator<Item = &NodeInfo> {
        self.nodes.iter().filter(move |n| n.kind == kind)
    }
    /// This cluster as a rockscope `[[clusters]]` TOML block.
    pub fn to_toml(&self) -> String {
        let hosts: Vec<String> = self.fe_hosts.iter().map(|h| format!("{h:?}")).collect();
        format!(
            "[[clusters]]\nname = {:?}\nfe_hosts = [{}]\nusername = {:?}\npassword = {:?}\n",
            self.name,
            hosts.join(", "),
            self.username,
            self.password
        )
    }
}
