//! Synthetic history for the storage benchmark: one real cycle taken from the simulator, turned
//! into variants with different values, stamped with any cluster and time.

use rockscope_engine::{EngineState, aggregate};
use rockscope_model::{MetricsSnapshot, NodeSnapshot};
use rockscope_store::Store;
use serde_json::Value;
use time::OffsetDateTime;

use crate::fleet::{client_for, register_clusters, start_simulator};

/// One cycle's rows: the cluster snapshot and its node snapshots.
#[derive(Debug, Clone)]
pub struct Cycle {
    /// The cluster snapshot.
    pub snapshot: MetricsSnapshot,
    /// One snapshot per node.
    pub nodes: Vec<NodeSnapshot>,
}

impl Cycle {
    /// Rows this cycle writes (the snapshot plus its node snapshots).
    pub fn rows(&self) -> usize {
        1 + self.nodes.len()
    }

    /// A copy stamped with `cluster_id` and `at` (node snapshots too).
    pub fn stamped(&self, cluster_id: i64, at: OffsetDateTime) -> Cycle {
        let mut c = self.clone();
        c.snapshot.cluster_id = cluster_id;
        c.snapshot.collected_at = at;
        for n in &mut c.nodes {
            n.cluster_id = cluster_id;
            n.collected_at = at;
        }
        c
    }
}

/// The second cycle of a real simulated cluster (3 FE + `bes` BE, so rates are filled) as
/// aggregated by the engine: a template whose fields are filled as in production.
pub fn real_cycle(bes: usize) -> Result<Cycle, String> {
    let sim = start_simulator(1, 3, bes).map_err(|e| format!("starting the simulator: {e}"))?;
    let store = Store::open_temporary().map_err(|e| format!("opening a temporary store: {e}"))?;
    let clusters =
        register_clusters(&sim, &store).map_err(|e| format!("registering the cluster: {e}"))?;
    let cluster = clusters.first().ok_or("the simulator served no cluster")?;
    let client = client_for(cluster);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("starting a tokio runtime: {e}"))?;
    // The collector's own fetch, with the service's default deadline.
    let deadline = rockscope_collector::CollectorConfig::default().cluster_deadline;
    let fetch = || {
        let until = std::time::Instant::now() + deadline;
        runtime.block_on(rockscope_collector::fetch_cycle(
            &client,
            cluster.id,
            &cluster.fe_hosts,
            until,
        ))
    };
    let first = aggregate(&EngineState::default(), &fetch());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = aggregate(&first.state, &fetch());
    if !second.snapshot.source_errors.is_empty() {
        return Err(format!(
            "the simulated cycle was partial: {:?}",
            second.snapshot.source_errors
        ));
    }
    Ok(Cycle {
        snapshot: second.snapshot,
        nodes: second.nodes,
    })
}

/// `count` variants of `template`: every floating-point figure scaled by a factor in
/// [0.8, 1.2) that differs per variant and per field (integers, texts and times unchanged).
pub fn variants(template: &Cycle, count: usize) -> Result<Vec<Cycle>, String> {
    let snapshot = serde_json::to_value(&template.snapshot)
        .map_err(|e| format!("encoding the template snapshot: {e}"))?;
    let nodes = serde_json::to_value(&template.nodes)
        .map_err(|e| format!("encoding the template node snapshots: {e}"))?;
    (0..count)
        .map(|v| {
            let mut seed =
                0x9E37_79B9_7F4A_7C15_u64 ^ (v as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
            let mut s = snapshot.clone();
            scale_floats(&mut s, &mut seed);
            let mut n = nodes.clone();
            scale_floats(&mut n, &mut seed);
            Ok(Cycle {
                snapshot: serde_json::from_value(s)
                    .map_err(|e| format!("decoding a snapshot variant: {e}"))?,
                nodes: serde_json::from_value(n)
                    .map_err(|e| format!("decoding a node snapshot variant: {e}"))?,
            })
        })
        .collect()
}

/// Scales every non-integer number in `value` by a pseudo-random factor in [0.8, 1.2).
fn scale_floats(value: &mut Value, seed: &mut u64) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(x) = n.as_f64() {
                // xorshift64*: deterministic, no dependency.
                *seed ^= *seed >> 12;
                *seed ^= *seed << 25;
                *seed ^= *seed >> 27;
                let r =
                    (seed.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
                if let Some(scaled) = serde_json::Number::from_f64(x * (0.8 + 0.4 * r)) {
                    *n = scaled;
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| scale_floats(v, seed)),
        Value::Object(map) => map.values_mut().for_each(|v| scale_floats(v, seed)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_scaled_within_twenty_percent_and_integers_kept() {
        let mut v = serde_json::json!({"a": 10.0, "b": [5, 2.5], "c": "x"});
        let mut seed = 1;
        scale_floats(&mut v, &mut seed);
        let a = v["a"].as_f64().unwrap_or_default();
        assert!((8.0..12.0).contains(&a), "{a}");
        assert_eq!(v["b"][0], serde_json::json!(5));
        assert_eq!(v["c"], serde_json::json!("x"));
    }
}
