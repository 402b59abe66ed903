//! A cluster's active alerts as exported: the series of Prometheus' own `ALERTS`, so that a
//! dashboard shows rockscope's alerts beside the values they are about.

use rockscope_model::{Alert, AlertState};

/// The labels of an alert that the export carries besides `cluster`: those rockscope sets
/// itself, which tell one alert of a cluster from another (a rule's own labels are left out,
/// as they add no identity and could take any name). In this (sorted) order.
const ALERT_LABELS: [&str; 6] = [
    "alertname",
    "instance",
    "node",
    "node_type",
    "path",
    "severity",
];

/// One pending or firing alert of a cluster: `rockscope_alerts{cluster, alertname, alertstate,
/// severity, …} 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveAlert {
    /// Firing, else pending.
    pub firing: bool,
    /// `alertname` and `severity`, and for a per-node rule `instance`, `node`, `node_type` (and
    /// `path` for a disk path's), as the alert has them; sorted by name.
    pub labels: Vec<(String, String)>,
}

impl ActiveAlert {
    /// The alert as exported, or `None` when it is resolved (no longer active).
    pub fn of(alert: &Alert) -> Option<ActiveAlert> {
        let firing = match alert.state {
            AlertState::Firing => true,
            AlertState::Pending => false,
            AlertState::Resolved => return None,
        };
        let labels = ALERT_LABELS
            .iter()
            .filter_map(|&name| {
                let value = alert.labels.get(name)?;
                Some((name.to_owned(), value.clone()))
            })
            .collect();
        Some(ActiveAlert { firing, labels })
    }

    /// The `alertstate` label: `firing` or `pending`.
    pub fn alertstate(&self) -> &'static str {
        if self.firing { "firing" } else { "pending" }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use rockscope_model::Severity;
    use time::OffsetDateTime;

    use super::*;

    pub(crate) fn alert(state: AlertState, labels: &[(&str, &str)]) -> Alert {
        let now = OffsetDateTime::UNIX_EPOCH;
        Alert {
            cluster_id: 1,
            rule: "BackendDown".to_owned(),
            fingerprint: "0123456789abcdef".to_owned(),
            labels: labels
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            annotations: BTreeMap::new(),
            state,
            severity: Severity::Critical,
            value: Some(0.0),
            active_since: now,
            fired_at: None,
            last_true_at: now,
            keep_firing_since: None,
            resolved_at: None,
            evaluated_at: now,
            last_sent_at: None,
            last_sent_state: None,
        }
    }

    #[test]
    fn an_alert_keeps_rockscopes_labels_sorted_and_drops_the_rules_own() {
        let labels = [
            ("alertname", "BackendDown"),
            ("cluster", "prod"),
            ("severity", "critical"),
            ("instance", "10.0.0.1:8040"),
            ("node_type", "be"),
            ("node", "10001"),
            ("team", "storage"),
        ];
        let exported = ActiveAlert::of(&alert(AlertState::Firing, &labels)).unwrap();
        assert!(exported.firing);
        assert_eq!(exported.alertstate(), "firing");
        let names: Vec<&str> = exported.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            ["alertname", "instance", "node", "node_type", "severity"]
        );
        assert_eq!(exported.labels[1].1, "10.0.0.1:8040");
    }

    #[test]
    fn pending_is_exported_and_resolved_is_not() {
        let labels = [("alertname", "HighQps"), ("severity", "warning")];
        let pending = ActiveAlert::of(&alert(AlertState::Pending, &labels)).unwrap();
        assert_eq!(pending.alertstate(), "pending");
        assert_eq!(ActiveAlert::of(&alert(AlertState::Resolved, &labels)), None);
    }
}
