//! State changes shared by the library API and the control endpoint.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::condition::{Condition, ConditionKind, Scope};
use crate::state::{ClusterState, NodeState, World};
use crate::{ClusterInfo, Fault, NodeId, NodeInfo, NodeKind, SimError};

impl World {
    pub(crate) fn find(&self, cluster: &str) -> Result<&ClusterState, SimError> {
        self.cluster(cluster)
            .ok_or_else(|| SimError::UnknownCluster(cluster.to_string()))
    }

    pub(crate) fn find_node(&self, cluster: &str, id: NodeId) -> Result<&NodeState, SimError> {
        self.find(cluster)?
            .node(id)
            .ok_or_else(|| SimError::UnknownNode(format!("{cluster}/{id}")))
    }

    /// Sets (`Some`) or clears (`None`) a condition of `kind` on `node`, on every node it
    /// concerns, or on the cluster, from now on.
    pub(crate) fn apply_condition(
        &self,
        cluster: &str,
        node: Option<NodeId>,
        kind: ConditionKind,
        value: Option<Condition>,
    ) -> Result<(), SimError> {
        let cl = self.find(cluster)?;
        if let Some(c) = value {
            c.validate(cl.spec.version)?;
        }
        let scope = kind.scope();
        if let Some(Condition::StoragePathUsage { path, .. }) = value
            && cl.backends().any(|b| path >= b.be().paths.len())
        {
            return Err(SimError::InvalidCondition(format!(
                "no storage path {path}"
            )));
        }
        let now = self.clock.now_ns();
        if scope == Scope::Leader {
            if let Some(id) = node {
                return Err(SimError::InvalidCondition(format!(
                    "{kind:?} belongs to the cluster, not to {id}"
                )));
            }
            cl.conditions().set(kind, now, value);
            return Ok(());
        }
        let targets: Vec<&NodeState> = match node {
            Some(id) => vec![self.find_node(cluster, id)?],
            None => cl
                .nodes
                .iter()
                .filter(|n| scope.admits(n.id.kind))
                .collect(),
        };
        for n in targets {
            if !scope.admits(n.id.kind) {
                return Err(SimError::InvalidCondition(format!(
                    "{kind:?} does not apply to {}",
                    n.id
                )));
            }
            n.conditions().set(kind, now, value);
        }
        Ok(())
    }

    /// Clears every condition of a cluster and its nodes from now on.
    pub(crate) fn clear_conditions(&self, cluster: &str) -> Result<(), SimError> {
        let cl = self.find(cluster)?;
        let now = self.clock.now_ns();
        cl.conditions().clear_all(now);
        for n in &cl.nodes {
            n.conditions().clear_all(now);
        }
        Ok(())
    }

    /// Applies a fault without waiting for the listener to follow.
    pub(crate) fn apply_fault(
        &self,
        cluster: &str,
        id: NodeId,
        fault: Fault,
    ) -> Result<(), SimError> {
        let n = self.find_node(cluster, id)?;
        let now = self.clock.now_ns();
        {
            let mut d = n.dyn_state();
            match fault {
                Fault::Restart => {
                    n.start_ns.store(now, Ordering::Release);
                    d.fault = Fault::None;
                    d.dead = false;
                }
                Fault::Dead => {
                    if !d.dead {
                        d.dead = true;
                        d.dead_since_ns = now;
                    }
                }
                Fault::None => {
                    d.fault = Fault::None;
                    d.dead = false;
                }
                Fault::Down => {
                    if d.fault != Fault::Down && !d.dead {
                        d.dead_since_ns = now;
                    }
                    d.fault = Fault::Down;
                }
                other => d.fault = other,
            }
        }
        n.bump();
        Ok(())
    }

    /// Whether the node's listener state matches its fault (closed iff `Down`).
    pub(crate) fn listener_settled(&self, cluster: &str, id: NodeId) -> bool {
        match self.find_node(cluster, id) {
            Ok(n) => (n.fault() == Fault::Down) != n.listening.load(Ordering::Acquire),
            Err(_) => true,
        }
    }

    /// Blocks (briefly) until the listener follows the fault, so callers can rely on
    /// "refused" right after `Down` and "accepted" right after `None`.
    pub(crate) fn wait_listener(&self, cluster: &str, id: NodeId) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.listener_settled(cluster, id) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub(crate) fn apply_leader(&self, cluster: &str, id: NodeId) -> Result<(), SimError> {
        let cl = self.find(cluster)?;
        let n = cl
            .node(id)
            .ok_or_else(|| SimError::UnknownNode(format!("{cluster}/{id}")))?;
        if n.id.kind != NodeKind::Fe || n.observer {
            return Err(SimError::InvalidLeader(format!(
                "{cluster}/{id} is not a leader-capable FE"
            )));
        }
        let now = self.clock.now_ns();
        let mut h = cl.leader_history();
        if h.last().map(|e| e.1) == Some(n.pos) {
            return Ok(());
        }
        // A manual clock may have been moved back: forget "future" changes.
        while h.len() > 1 && h.last().is_some_and(|e| e.0 > now) {
            h.pop();
        }
        h.push((now, n.pos));
        drop(h);
        for fe in cl.fes() {
            fe.bump();
        }
        Ok(())
    }

    pub(crate) fn infos(&self) -> Vec<ClusterInfo> {
        self.clusters.iter().map(info).collect()
    }
}

fn info(cl: &ClusterState) -> ClusterInfo {
    let leader = cl.current_leader();
    ClusterInfo {
        name: cl.spec.name.clone(),
        username: cl.spec.username.clone(),
        password: cl.spec.password.clone(),
        version: cl.spec.version,
        fe_hosts: cl.fes().map(|n| n.addr.to_string()).collect(),
        nodes: cl
            .nodes
            .iter()
            .map(|n| NodeInfo {
                id: n.id,
                kind: n.id.kind,
                addr: n.addr,
                is_leader: n.pos == leader && n.id.kind == NodeKind::Fe,
            })
            .collect(),
    }
}
