//! The simulator's error type.

use std::fmt;

/// Why a simulator call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// The configuration (or a CLI argument) is invalid.
    Config(String),
    /// A listener could not be bound, even with the fallbacks.
    Bind(String),
    /// No cluster has this name.
    UnknownCluster(String),
    /// The cluster has no such node.
    UnknownNode(String),
    /// The node cannot become leader (not an FE, or an observer).
    InvalidLeader(String),
    /// A condition is out of range, set on a node it does not concern, or not expressible by
    /// the cluster's version.
    InvalidCondition(String),
    /// A ground-truth window is empty or reversed.
    InvalidWindow,
    /// The async runtime could not be created.
    Runtime(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Config(m) => write!(f, "invalid configuration: {m}"),
            SimError::Bind(m) => write!(f, "cannot bind: {m}"),
            SimError::UnknownCluster(c) => write!(f, "unknown cluster {c:?}"),
            SimError::UnknownNode(n) => write!(f, "unknown node {n}"),
            SimError::InvalidLeader(m) => write!(f, "cannot make leader: {m}"),
            SimError::InvalidCondition(m) => write!(f, "invalid condition: {m}"),
            SimError::InvalidWindow => write!(f, "ground-truth window must have from < to"),
            SimError::Runtime(m) => write!(f, "runtime error: {m}"),
        }
    }
}

impl std::error::Error for SimError {}
