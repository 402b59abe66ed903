//! What is due: which of a cluster's alerts go to the Alertmanagers, and which webhook messages
//! go out, decided from each alert's state and its `last_sent_at`/`last_sent_state` alone. No
//! I/O and no clock: the caller passes the time, so a restart that reloads the alerts (and
//! their `last_sent_*`) from the store decides exactly as the process before it would have.
//!
//! `last_sent_at` is when the alert was last queued to any receiver; every alert that is queued
//! at all is queued to every Alertmanager, so for Alertmanager it is exactly the last send.

use std::collections::BTreeMap;
use std::time::Duration;

use rockscope_model::alert::{Alert, AlertState};
use time::OffsetDateTime;

/// The cadences of delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cadence {
    /// Re-send a firing alert to Alertmanager when it was last sent this long ago.
    pub(crate) resend_delay: Duration,
    /// Re-notify a webhook of an alert still firing every this long after it fired.
    pub(crate) repeat_interval: Duration,
}

/// Which kinds of receivers exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Receivers {
    pub(crate) alertmanagers: bool,
    pub(crate) webhooks: bool,
}

/// What to queue now: indices into the alerts given to [`plan`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Alerts for every Alertmanager, in one batch.
    pub(crate) alertmanager: Vec<usize>,
    /// One webhook message per group (the alerts of one rule), in rule order.
    pub(crate) webhook_groups: Vec<Vec<usize>>,
}

impl Plan {
    /// Every alert queued anywhere, each once, in order.
    pub(crate) fn queued(&self) -> Vec<usize> {
        let mut all: Vec<usize> = self.alertmanager.clone();
        all.extend(self.webhook_groups.iter().flatten());
        all.sort_unstable();
        all.dedup();
        all
    }
}

/// Prometheus' notifier: a firing alert is sent when it was never sent (as firing), or last
/// sent at least `resend_delay` ago; a resolved one when it resolved after it was last sent (or
/// was last sent firing). A pending alert is never sent.
pub(crate) fn alertmanager_due(alert: &Alert, now: OffsetDateTime, resend_delay: Duration) -> bool {
    match (alert.state, alert.last_sent_at) {
        (AlertState::Pending, _) => false,
        (_, None) => true,
        (AlertState::Firing, Some(sent)) => {
            alert.last_sent_state != Some(AlertState::Firing) || since(now, sent) >= resend_delay
        }
        (AlertState::Resolved, Some(sent)) => {
            alert.last_sent_state != Some(AlertState::Resolved)
                || alert.resolved_at.is_some_and(|resolved| resolved > sent)
        }
    }
}

/// Alertmanager's webhook behaviour without Alertmanager: notified when the alert starts firing,
/// again every `repeat_interval` after it fired (counted from `fired_at`, so that a restart keeps
/// the rhythm), and once when it resolves after a firing notification.
pub(crate) fn webhook_due(alert: &Alert, now: OffsetDateTime, repeat_interval: Duration) -> bool {
    match alert.state {
        AlertState::Pending => false,
        AlertState::Resolved => alert.last_sent_state == Some(AlertState::Firing),
        AlertState::Firing => match (alert.last_sent_state, alert.last_sent_at) {
            (Some(AlertState::Firing), Some(sent)) => {
                let fired = alert.fired_at.unwrap_or(alert.active_since);
                let repeats = |at| since(at, fired).as_nanos() / repeat_interval.as_nanos().max(1);
                repeats(now) > repeats(sent)
            }
            _ => true,
        },
    }
}

/// What to queue for `alerts` (one cluster's) at `now`.
///
/// A webhook message for a rule goes out when any of its alerts is due, and carries every alert
/// of the rule that is firing plus the resolutions that are due, as Alertmanager's group
/// notifications do. Whatever a webhook gets is also sent to the Alertmanagers, so that
/// `last_sent_at` stays the last Alertmanager send.
pub(crate) fn plan(
    alerts: &[Alert],
    now: OffsetDateTime,
    cadence: Cadence,
    receivers: Receivers,
) -> Plan {
    let mut plan = Plan::default();
    if receivers.webhooks {
        let mut by_rule: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, alert) in alerts.iter().enumerate() {
            by_rule.entry(alert.rule.as_str()).or_default().push(i);
        }
        for members in by_rule.into_values() {
            let due = |&i: &usize| webhook_due(&alerts[i], now, cadence.repeat_interval);
            if !members.iter().any(due) {
                continue;
            }
            let message: Vec<usize> = members
                .into_iter()
                .filter(|&i| alerts[i].state == AlertState::Firing || due(&i))
                .collect();
            plan.webhook_groups.push(message);
        }
    }
    if receivers.alertmanagers {
        let mut in_webhooks = vec![false; alerts.len()];
        for &i in plan.webhook_groups.iter().flatten() {
            in_webhooks[i] = true;
        }
        plan.alertmanager = (0..alerts.len())
            .filter(|&i| in_webhooks[i] || alertmanager_due(&alerts[i], now, cadence.resend_delay))
            .collect();
    }
    plan
}

/// `later - earlier`, zero when `earlier` is later (a clock that stepped back).
fn since(later: OffsetDateTime, earlier: OffsetDateTime) -> Duration {
    Duration::try_from(later - earlier).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rockscope_model::alert::Severity;
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-12-06 06:00:00 UTC);
    const MINUTE: Duration = Duration::from_secs(60);
    const CADENCE: Cadence = Cadence {
        resend_delay: MINUTE,
        repeat_interval: Duration::from_secs(4 * 3600),
    };
    const BOTH: Receivers = Receivers {
        alertmanagers: true,
        webhooks: true,
    };

    fn at(secs: i64) -> OffsetDateTime {
        T0 + time::Duration::seconds(secs)
    }

    fn alert(rule: &str, node: &str, state: AlertState) -> Alert {
        Alert {
            cluster_id: 1,
            rule: rule.to_owned(),
            fingerprint: "0123456789abcdef".to_owned(),
            labels: BTreeMap::from([
                ("alertname".to_owned(), rule.to_owned()),
                ("instance".to_owned(), node.to_owned()),
            ]),
            annotations: BTreeMap::new(),
            state,
            severity: Severity::Warning,
            value: Some(1.0),
            active_since: at(-300),
            fired_at: (state != AlertState::Pending).then_some(T0),
            last_true_at: T0,
            resolved_at: None,
            evaluated_at: T0,
            last_sent_at: None,
            last_sent_state: None,
            keep_firing_since: None,
        }
    }

    /// `alerts` after a plan at `now` was queued, as `Notifier::submit` marks them.
    fn mark_sent(alerts: &mut [Alert], plan: &Plan, now: OffsetDateTime) {
        for i in plan.queued() {
            alerts[i].last_sent_at = Some(now);
            alerts[i].last_sent_state = Some(alerts[i].state);
        }
    }

    #[test]
    fn a_firing_alert_is_sent_first_then_every_resend_delay() {
        let mut a = alert("FeDown", "fe1", AlertState::Firing);
        assert!(alertmanager_due(&a, T0, MINUTE), "never sent");
        a.last_sent_at = Some(T0);
        a.last_sent_state = Some(AlertState::Firing);
        assert!(!alertmanager_due(&a, at(30), MINUTE));
        assert!(!alertmanager_due(&a, at(59), MINUTE));
        assert!(alertmanager_due(&a, at(60), MINUTE), "resend delay passed");
        assert!(
            !alertmanager_due(&a, at(-10), MINUTE),
            "a clock stepping back sends nothing"
        );
    }

    #[test]
    fn pending_is_never_sent() {
        let a = alert("FeDown", "fe1", AlertState::Pending);
        assert!(!alertmanager_due(&a, at(3600), MINUTE));
        assert!(!webhook_due(&a, at(3600), CADENCE.repeat_interval));
        assert_eq!(plan(&[a], at(3600), CADENCE, BOTH), Plan::default());
    }

    #[test]
    fn a_resolution_is_sent_once() {
        let mut a = alert("FeDown", "fe1", AlertState::Resolved);
        a.resolved_at = Some(at(90));
        a.last_sent_at = Some(at(60));
        a.last_sent_state = Some(AlertState::Firing);
        assert!(alertmanager_due(&a, at(90), MINUTE));
        assert!(webhook_due(&a, at(90), CADENCE.repeat_interval));
        let mut alerts = [a];
        let p = plan(&alerts, at(90), CADENCE, BOTH);
        assert_eq!(p.alertmanager, [0]);
        assert_eq!(p.webhook_groups, [vec![0]]);
        mark_sent(&mut alerts, &p, at(90));
        for later in [90, 120, 3600, 86400] {
            assert_eq!(
                plan(&alerts, at(later), CADENCE, BOTH),
                Plan::default(),
                "{later}"
            );
        }
    }

    #[test]
    fn a_resolution_never_announced_goes_to_alertmanager_only() {
        // Prometheus sends it (Alertmanager drops what it never notified); a webhook would get a
        // "resolved" for something it never heard of.
        let mut a = alert("FeDown", "fe1", AlertState::Resolved);
        a.resolved_at = Some(T0);
        assert!(alertmanager_due(&a, T0, MINUTE));
        assert!(!webhook_due(&a, T0, CADENCE.repeat_interval));
    }

    #[test]
    fn a_webhook_hears_of_firing_once_then_every_repeat_interval_after_it_fired() {
        let hours = |h: i64| at(h * 3600);
        let mut alerts = [alert("FeDown", "fe1", AlertState::Firing)];
        let only_webhooks = Receivers {
            alertmanagers: false,
            webhooks: true,
        };
        let mut notified = Vec::new();
        // One evaluation every 30 s for 9 hours.
        for step in 0..(9 * 120) {
            let now = at(step * 30);
            let p = plan(&alerts, now, CADENCE, only_webhooks);
            if !p.webhook_groups.is_empty() {
                notified.push(now);
            }
            mark_sent(&mut alerts, &p, now);
        }
        assert_eq!(notified, [T0, hours(4), hours(8)]);
    }

    #[test]
    fn alertmanager_resends_do_not_move_the_webhook_repeat() {
        let mut alerts = [alert("FeDown", "fe1", AlertState::Firing)];
        let (mut am_sends, mut webhook_sends) = (0, 0);
        for step in 0..=(4 * 120) {
            let now = at(step * 30);
            let p = plan(&alerts, now, CADENCE, BOTH);
            am_sends += usize::from(!p.alertmanager.is_empty());
            webhook_sends += p.webhook_groups.len();
            mark_sent(&mut alerts, &p, now);
        }
        assert_eq!(webhook_sends, 2, "at 0 h and at 4 h");
        assert_eq!(am_sends, 4 * 60 + 1, "once a minute");
    }

    #[test]
    fn a_restart_with_last_sent_restored_neither_renotifies_nor_loses_the_resolution() {
        // Before the restart: fired at T0, queued at T0 + 30 s.
        let mut before = alert("FeDown", "fe1", AlertState::Firing);
        before.last_sent_at = Some(at(30));
        before.last_sent_state = Some(AlertState::Firing);
        // The store gives it back after a restart 20 s later, still firing.
        let reloaded = [before.clone()];
        let p = plan(&reloaded, at(50), CADENCE, BOTH);
        assert!(p.webhook_groups.is_empty(), "no second firing notification");
        assert!(p.alertmanager.is_empty(), "within the resend delay");
        // It resolved while the process was down; the next evaluation says so.
        let mut resolved = before;
        resolved.state = AlertState::Resolved;
        resolved.resolved_at = Some(at(50));
        let p = plan(&[resolved], at(60), CADENCE, BOTH);
        assert_eq!(p.webhook_groups, [vec![0]], "the resolution goes out");
        assert_eq!(p.alertmanager, [0]);
    }

    #[test]
    fn a_webhook_message_carries_the_whole_group_and_groups_are_per_rule() {
        let mut old = alert("BeDiskFull", "be1", AlertState::Firing);
        old.last_sent_at = Some(at(10));
        old.last_sent_state = Some(AlertState::Firing);
        let new = alert("BeDiskFull", "be2", AlertState::Firing);
        let pending = alert("BeDiskFull", "be3", AlertState::Pending);
        let mut other = alert("FeDown", "fe1", AlertState::Firing);
        other.last_sent_at = Some(at(10));
        other.last_sent_state = Some(AlertState::Firing);
        let alerts = [old, new, pending, other];
        let p = plan(&alerts, at(20), CADENCE, BOTH);
        assert_eq!(p.webhook_groups, [vec![0, 1]], "FeDown has nothing new");
        assert_eq!(
            p.alertmanager,
            [0, 1],
            "what a webhook gets, Alertmanager gets"
        );
        assert_eq!(p.queued(), [0, 1]);
    }

    #[test]
    fn without_receivers_nothing_is_due() {
        let alerts = [alert("FeDown", "fe1", AlertState::Firing)];
        let none = Receivers {
            alertmanagers: false,
            webhooks: false,
        };
        assert_eq!(plan(&alerts, T0, CADENCE, none), Plan::default());
    }

    #[test]
    fn a_refiring_alert_is_sent_at_once() {
        let mut a = alert("FeDown", "fe1", AlertState::Firing);
        a.fired_at = Some(at(100));
        a.last_sent_at = Some(at(90));
        a.last_sent_state = Some(AlertState::Resolved);
        assert!(alertmanager_due(&a, at(100), MINUTE));
        assert!(webhook_due(&a, at(100), CADENCE.repeat_interval));
    }
}
