//! The JSON bodies: Alertmanager's API v2 `postableAlerts` and Alertmanager's webhook message
//! (version 4). Pure: the time comes in the [`Context`].

use std::collections::BTreeMap;

use rockscope_model::alert::{Alert, AlertState};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What a webhook shows as `endsAt` of an alert still firing (Go's zero time, as Alertmanager).
pub(crate) const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The `receiver` of rockscope's webhook messages.
pub(crate) const RECEIVER: &str = "rockscope";

/// The cluster and the time the bodies are built for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) cluster_id: i64,
    /// The `cluster` label when an alert lacks it.
    pub(crate) cluster_name: &'a str,
    /// rockscope's base URL, without a trailing `/`.
    pub(crate) external_url: &'a str,
    /// `endsAt` of a firing alert sent to Alertmanager: Prometheus' `now + 4 × max(resend
    /// delay, evaluation interval)`, so that Alertmanager resolves it by itself if rockscope
    /// stops sending.
    pub(crate) firing_ends_at: OffsetDateTime,
}

impl Context<'_> {
    /// rockscope's page of the cluster.
    fn generator_url(&self) -> String {
        format!("{}/clusters/{}", self.external_url, self.cluster_id)
    }
}

/// One element of `POST /api/v2/alerts`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert<'a> {
    labels: BTreeMap<&'a str, &'a str>,
    annotations: &'a BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
}

/// Alertmanager's webhook message, version 4.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookMessage<'a> {
    version: &'static str,
    group_key: String,
    truncated_alerts: u64,
    status: &'static str,
    receiver: &'static str,
    group_labels: BTreeMap<&'a str, &'a str>,
    common_labels: BTreeMap<&'a str, &'a str>,
    common_annotations: BTreeMap<&'a str, &'a str>,
    #[serde(rename = "externalURL")]
    external_url: &'a str,
    alerts: Vec<WebhookAlert<'a>>,
}

/// One alert of a webhook message.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookAlert<'a> {
    status: &'static str,
    labels: BTreeMap<&'a str, &'a str>,
    annotations: BTreeMap<&'a str, &'a str>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: &'a str,
    fingerprint: &'a str,
}

/// The body for every Alertmanager: each alert with its labels, annotations, `startsAt` (when
/// it fired), `endsAt` (the resolution, or a time ahead while it fires) and a link to the
/// cluster's page.
pub(crate) fn alertmanager_body(alerts: &[&Alert], ctx: &Context<'_>) -> Vec<u8> {
    let generator_url = ctx.generator_url();
    let body: Vec<PostableAlert<'_>> = alerts
        .iter()
        .map(|alert| PostableAlert {
            labels: labels(alert, ctx.cluster_name),
            annotations: &alert.annotations,
            starts_at: rfc3339(starts_at(alert)),
            ends_at: match alert.state {
                AlertState::Resolved => rfc3339(resolved_at(alert)),
                _ => rfc3339(ctx.firing_ends_at),
            },
            generator_url: &generator_url,
        })
        .collect();
    to_json(&body)
}

/// The webhook message of one group (one rule's alerts of one cluster), `alerts` not empty.
pub(crate) fn webhook_body(alerts: &[&Alert], ctx: &Context<'_>) -> Vec<u8> {
    let generator_url = ctx.generator_url();
    let all_labels: Vec<BTreeMap<&str, &str>> =
        alerts.iter().map(|a| labels(a, ctx.cluster_name)).collect();
    let group_labels: BTreeMap<&str, &str> = ["alertname", "cluster"]
        .into_iter()
        .filter_map(|name| Some((name, *all_labels.first()?.get(name)?)))
        .collect();
    let annotations: Vec<BTreeMap<&str, &str>> = alerts
        .iter()
        .map(|a| {
            a.annotations
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect()
        })
        .collect();
    let firing = alerts.iter().any(|a| a.state == AlertState::Firing);
    let message = WebhookMessage {
        version: "4",
        group_key: group_key(&group_labels),
        truncated_alerts: 0,
        status: if firing { "firing" } else { "resolved" },
        receiver: RECEIVER,
        common_labels: common(&all_labels),
        common_annotations: common(&annotations),
        group_labels,
        external_url: ctx.external_url,
        alerts: alerts
            .iter()
            .zip(all_labels.iter().zip(annotations.iter()))
            .map(|(alert, (labels, annotations))| WebhookAlert {
                status: if alert.state == AlertState::Resolved {
                    "resolved"
                } else {
                    "firing"
                },
                labels: labels.clone(),
                annotations: annotations.clone(),
                starts_at: rfc3339(starts_at(alert)),
                ends_at: match alert.state {
                    AlertState::Resolved => rfc3339(resolved_at(alert)),
                    _ => ZERO_TIME.to_owned(),
                },
                generator_url: &generator_url,
                fingerprint: &alert.fingerprint,
            })
            .collect(),
    };
    to_json(&message)
}

/// The alert's labels, with `alertname`, `cluster` and `severity` filled in if it lacks them.
fn labels<'a>(alert: &'a Alert, cluster_name: &'a str) -> BTreeMap<&'a str, &'a str> {
    let mut labels: BTreeMap<&str, &str> = alert
        .labels
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    labels.entry("alertname").or_insert(&alert.rule);
    labels.entry("cluster").or_insert(cluster_name);
    labels.entry("severity").or_insert(alert.severity.as_str());
    labels
}

/// The pairs every map holds with the same value.
fn common<'a>(maps: &[BTreeMap<&'a str, &'a str>]) -> BTreeMap<&'a str, &'a str> {
    let Some((first, rest)) = maps.split_first() else {
        return BTreeMap::new();
    };
    first
        .iter()
        .filter(|(k, v)| rest.iter().all(|m| m.get(*k) == Some(*v)))
        .map(|(k, v)| (*k, *v))
        .collect()
}

/// Alertmanager's group key under its root route: `{}:{alertname="…", cluster="…"}`.
fn group_key(group_labels: &BTreeMap<&str, &str>) -> String {
    let pairs: Vec<String> = group_labels
        .iter()
        .map(|(name, value)| format!("{name}={}", serde_json::Value::from(*value)))
        .collect();
    format!("{{}}:{{{}}}", pairs.join(", "))
}

/// When the alert fired (when it became active, for an alert without `fired_at`).
fn starts_at(alert: &Alert) -> OffsetDateTime {
    alert.fired_at.unwrap_or(alert.active_since)
}

/// When a resolved alert resolved (its last evaluation, should the time be missing).
fn resolved_at(alert: &Alert) -> OffsetDateTime {
    alert.resolved_at.unwrap_or(alert.evaluated_at)
}

/// RFC 3339 in UTC; a time RFC 3339 cannot write (a year beyond 9999) as Go's zero time.
fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| ZERO_TIME.to_owned())
}

fn to_json(value: &impl Serialize) -> Vec<u8> {
    // Maps with string keys, strings and numbers: serialization cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use rockscope_model::alert::Severity;
    use serde_json::{Value, json};
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-12-06 06:00:00 UTC);

    fn alert(node: &str, state: AlertState) -> Alert {
        Alert {
            cluster_id: 7,
            rule: "BeDiskFull".to_owned(),
            fingerprint: format!("fp-{node}"),
            labels: [
                ("alertname", "BeDiskFull"),
                ("cluster", "prod"),
                ("severity", "critical"),
                ("instance", node),
                ("node_type", "be"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            annotations: [("summary", "disk full"), ("description", node)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            state,
            severity: Severity::Critical,
            value: Some(97.0),
            active_since: T0 - time::Duration::minutes(5),
            fired_at: Some(T0),
            last_true_at: T0,
            resolved_at: (state == AlertState::Resolved).then_some(T0 + time::Duration::minutes(3)),
            evaluated_at: T0,
            last_sent_at: None,
            last_sent_state: None,
            keep_firing_since: None,
        }
    }

    fn ctx() -> Context<'static> {
        Context {
            cluster_id: 7,
            cluster_name: "prod",
            external_url: "http://rockscope:8080",
            firing_ends_at: T0 + time::Duration::minutes(4),
        }
    }

    #[test]
    fn alertmanager_v2_body() {
        let firing = alert("be1:8040", AlertState::Firing);
        let resolved = alert("be2:8040", AlertState::Resolved);
        let body: Value =
            serde_json::from_slice(&alertmanager_body(&[&firing, &resolved], &ctx())).unwrap();
        assert_eq!(
            body,
            json!([
                {
                    "labels": {"alertname": "BeDiskFull", "cluster": "prod", "severity": "critical",
                               "instance": "be1:8040", "node_type": "be"},
                    "annotations": {"summary": "disk full", "description": "be1:8040"},
                    "startsAt": "2026-12-06T06:00:00Z",
                    "endsAt": "2026-12-06T06:04:00Z",
                    "generatorURL": "http://rockscope:8080/clusters/7"
                },
                {
                    "labels": {"alertname": "BeDiskFull", "cluster": "prod", "severity": "critical",
                               "instance": "be2:8040", "node_type": "be"},
                    "annotations": {"summary": "disk full", "description": "be2:8040"},
                    "startsAt": "2026-12-06T06:00:00Z",
                    "endsAt": "2026-12-06T06:03:00Z",
                    "generatorURL": "http://rockscope:8080/clusters/7"
                }
            ])
        );
    }

    #[test]
    fn webhook_v4_body() {
        let firing = alert("be1:8040", AlertState::Firing);
        let resolved = alert("be2:8040", AlertState::Resolved);
        let body: Value =
            serde_json::from_slice(&webhook_body(&[&firing, &resolved], &ctx())).unwrap();
        assert_eq!(
            body,
            json!({
                "version": "4",
                "groupKey": "{}:{alertname=\"BeDiskFull\", cluster=\"prod\"}",
                "truncatedAlerts": 0,
                "status": "firing",
                "receiver": "rockscope",
                "groupLabels": {"alertname": "BeDiskFull", "cluster": "prod"},
                "commonLabels": {"alertname": "BeDiskFull", "cluster": "prod",
                                 "severity": "critical", "node_type": "be"},
                "commonAnnotations": {"summary": "disk full"},
                "externalURL": "http://rockscope:8080",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {"alertname": "BeDiskFull", "cluster": "prod",
                                   "severity": "critical", "instance": "be1:8040", "node_type": "be"},
                        "annotations": {"summary": "disk full", "description": "be1:8040"},
                        "startsAt": "2026-12-06T06:00:00Z",
                        "endsAt": "0001-01-01T00:00:00Z",
                        "generatorURL": "http://rockscope:8080/clusters/7",
                        "fingerprint": "fp-be1:8040"
                    },
                    {
                        "status": "resolved",
                        "labels": {"alertname": "BeDiskFull", "cluster": "prod",
                                   "severity": "critical", "instance": "be2:8040", "node_type": "be"},
                        "annotations": {"summary": "disk full", "description": "be2:8040"},
                        "startsAt": "2026-12-06T06:00:00Z",
                        "endsAt": "2026-12-06T06:03:00Z",
                        "generatorURL": "http://rockscope:8080/clusters/7",
                        "fingerprint": "fp-be2:8040"
                    }
                ]
            })
        );
    }

    #[test]
    fn a_group_with_only_resolutions_is_resolved() {
        let resolved = alert("be2:8040", AlertState::Resolved);
        let body: Value = serde_json::from_slice(&webhook_body(&[&resolved], &ctx())).unwrap();
        assert_eq!(body["status"], "resolved");
    }

    #[test]
    fn missing_identity_labels_are_filled_in() {
        let mut bare = alert("be1:8040", AlertState::Firing);
        bare.labels.clear();
        let body: Value = serde_json::from_slice(&alertmanager_body(&[&bare], &ctx())).unwrap();
        assert_eq!(
            body[0]["labels"],
            json!({"alertname": "BeDiskFull", "cluster": "prod", "severity": "critical"})
        );
    }

    #[test]
    fn the_group_key_quotes_values_as_alertmanager_does() {
        let labels = BTreeMap::from([("alertname", "A"), ("cluster", "we\"ird\\")]);
        assert_eq!(
            group_key(&labels),
            r#"{}:{alertname="A", cluster="we\"ird\\"}"#
        );
    }
}
