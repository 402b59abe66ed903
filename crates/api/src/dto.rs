//! The JSON shapes of the API: request bodies and responses, mapped from the store's and the
//! collector's types so that a storage change does not change the contract.
//!
//! Every key is snake_case; every time is RFC 3339 in UTC; passwords are write-only (they are
//! read from request bodies and never written into a response type).

use std::collections::BTreeMap;

use rockscope_collector::{ClusterStatus, CycleSummary, Shard};
use rockscope_model::{MetricsSnapshot, SourceError};
use rockscope_store::{Cluster, Password};
use serde::{Deserialize, Deserializer, Serialize, de::Error as _};
use serde_json::Value;
use time::OffsetDateTime;

use crate::params::utc;

/// RFC 3339 in UTC with at most millisecond precision, as API.md promises (the collector's clock
/// has nanoseconds; `time`'s own serializer would print all nine digits).
pub(crate) mod rfc3339_millis {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// `t` cut to whole milliseconds, in UTC.
    pub(crate) fn truncate(t: OffsetDateTime) -> OffsetDateTime {
        let t = crate::params::utc(t);
        t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(t)
    }

    pub(crate) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let t = truncate(*t);
        let mut buf = [0u8; 24];
        if let Some(text) = format_common(t, &mut buf) {
            return s.serialize_str(text);
        }
        let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// What [`serialize`] writes for `t`, as text (`None` only where `Rfc3339` cannot write it).
    pub(crate) fn text(t: OffsetDateTime) -> Option<String> {
        let t = truncate(t);
        let mut buf = [0u8; 24];
        match format_common(t, &mut buf) {
            Some(text) => Some(text.to_owned()),
            None => t.format(&Rfc3339).ok(),
        }
    }

    /// What `Rfc3339` writes for `t` (UTC, whole milliseconds) in years 0–9999, written into
    /// `buf` without an allocation: a 7-day overview has 3,360 timestamps (`None` otherwise).
    fn format_common(t: OffsetDateTime, buf: &mut [u8; 24]) -> Option<&str> {
        let (year, month, day) = t.to_calendar_date();
        let year = u16::try_from(year).ok().filter(|&y| y <= 9_999)?;
        let (hour, minute, second, millis) = t.to_hms_milli();
        let digit = |v: u16| b'0' + (v % 10) as u8;
        *buf = *b"0000-00-00T00:00:00.000Z";
        for (at, v) in [
            (0, year / 100),
            (2, year % 100),
            (5, u16::from(u8::from(month))),
        ]
        .into_iter()
        .chain([(8, day), (11, hour), (14, minute), (17, second)].map(|(a, v)| (a, u16::from(v))))
        {
            buf[at] = digit(v / 10);
            buf[at + 1] = digit(v);
        }
        // No fraction when it is zero, and no trailing zeros in it (as `Rfc3339` does).
        let end = if millis == 0 {
            19
        } else {
            buf[20] = digit(millis / 100);
            buf[21] = digit(millis / 10);
            buf[22] = digit(millis);
            23 - [millis % 10, millis % 100]
                .iter()
                .take_while(|&&r| r == 0)
                .count()
        };
        buf[end] = b'Z';
        std::str::from_utf8(&buf[..=end]).ok()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(D::Error::custom)
    }

    #[cfg(test)]
    mod tests {
        use time::format_description::well_known::Rfc3339;
        use time::macros::datetime;
        use time::{Duration, OffsetDateTime};

        #[test]
        fn timestamps_are_written_as_rfc3339_writes_them() {
            let mut t = datetime!(0000-01-01 00:00 UTC);
            let mut seen = 0;
            // Years 0 to 9999 in uneven steps, landing on every millisecond pattern.
            loop {
                for ms in [0, 1, 10, 100, 120, 123, 999] {
                    let at = super::truncate(t.replace_millisecond(ms).unwrap());
                    let mut buf = [0u8; 24];
                    let fast = super::format_common(at, &mut buf).unwrap();
                    assert_eq!(fast, at.format(&Rfc3339).unwrap());
                    seen += 1;
                }
                match t.checked_add(Duration::seconds(86_399 * 37 + 3_671)) {
                    Some(next) => t = next,
                    None => break,
                }
            }
            assert!(seen > 200_000, "{seen}");
            let before = datetime!(-0001-12-31 23:59 UTC);
            assert!(super::format_common(before, &mut [0; 24]).is_none());
            let at = OffsetDateTime::UNIX_EPOCH + Duration::nanoseconds(1_500_999_999);
            let json = serde_json::to_string(&crate::dto::TrendPoint {
                timestamp: crate::dto::TimeText::new(at),
                value: None,
            })
            .unwrap();
            assert_eq!(super::text(at).unwrap(), "1970-01-01T00:00:01.5Z");
            assert_eq!(
                json,
                r#"{"timestamp":"1970-01-01T00:00:01.5Z","value":null}"#
            );
        }
    }

    /// The same for `Option`, `null` for `None`.
    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use time::OffsetDateTime;

        pub(crate) fn serialize<S: Serializer>(
            t: &Option<OffsetDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<OffsetDateTime>, D::Error> {
            #[derive(Deserialize)]
            struct Wrapped(#[serde(with = "super")] OffsetDateTime);
            Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
        }
    }
}

/// A request body that must be a JSON object. serde's derive also accepts a positional array
/// for a struct (`["n",["h:1"],"u"]` would be a cluster), so the body is first read as an object
/// and only then as `T`, whose own rules (unknown fields, types) apply.
#[derive(Debug, Clone)]
pub struct JsonObject<T>(pub T);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            object @ Value::Object(_) => serde_json::from_value(object)
                .map(JsonObject)
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom(
                "the body must be a JSON object with named fields",
            )),
        }
    }
}

/// A field that may be absent (`None` via `#[serde(default)]`) but, when present, not `null`.
fn not_null<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

// ---- clusters ---------------------------------------------------------------------------------

/// A registered cluster as the API shows it (`GET /api/clusters`, `GET /api/clusters/{id}`).
/// There is no password field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterDto {
    /// The cluster's id.
    pub id: i64,
    /// The unique name.
    pub name: String,
    /// FE entry points `host:http_port`.
    pub fe_hosts: Vec<String>,
    /// The StarRocks user.
    pub username: String,
    /// Connect timeout override, s (`null`: the collector's default).
    pub connect_timeout_secs: Option<u32>,
    /// Request timeout override, s (`null`: the collector's default).
    pub request_timeout_secs: Option<u32>,
    /// Whether the collector collects it.
    pub enabled: bool,
    /// `api` or `config`: where it was registered.
    pub source: String,
    /// When it was registered.
    #[serde(with = "rfc3339_millis")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "rfc3339_millis")]
    pub updated_at: OffsetDateTime,
    /// Which shard owns it, when this instance collects a shard (`collector.shard`); `null`
    /// when it collects every cluster.
    #[serde(default)]
    pub shard: Option<ClusterShardDto>,
}

impl ClusterDto {
    /// The cluster as seen by an instance collecting `shard` (`None`: every cluster).
    pub fn new(c: &Cluster, shard: Option<Shard>) -> ClusterDto {
        ClusterDto {
            id: c.id,
            name: c.name.clone(),
            fe_hosts: c.fe_hosts.clone(),
            username: c.username.clone(),
            connect_timeout_secs: c.connect_timeout_secs,
            request_timeout_secs: c.request_timeout_secs,
            enabled: c.enabled,
            source: c.source.as_str().to_owned(),
            created_at: utc(c.created_at),
            updated_at: utc(c.updated_at),
            shard: ClusterShardDto::new(shard, &c.name, c.enabled),
        }
    }
}

/// Which instance of a sharded fleet collects a cluster (`collector.shard = "i/n"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterShardDto {
    /// The shard (1 to `count`) that owns the cluster, by its name.
    pub owner: u32,
    /// The number of shards.
    pub count: u32,
    /// Whether this instance collects the cluster: it owns it and the cluster is enabled.
    pub collected_here: bool,
}

impl ClusterShardDto {
    /// Who collects the cluster `name` in the fleet of this instance's `shard`; `None` when
    /// the instance collects every cluster.
    pub fn new(shard: Option<Shard>, name: &str, enabled: bool) -> Option<ClusterShardDto> {
        shard.map(|shard| ClusterShardDto {
            owner: shard.owner_of(name),
            count: shard.count(),
            collected_here: enabled && shard.owns(name),
        })
    }
}

/// This instance's shard in `GET /api/collector/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardDto {
    /// This instance's shard, 1 to `count`.
    pub index: u32,
    /// The number of shards.
    pub count: u32,
}

impl From<Shard> for ShardDto {
    fn from(shard: Shard) -> ShardDto {
        ShardDto {
            index: shard.index(),
            count: shard.count(),
        }
    }
}

/// The body of `POST /api/clusters`. Unknown fields are rejected.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClusterRequest {
    /// The unique, non-empty name.
    pub name: String,
    /// FE entry points, each `host:port` (at least one).
    pub fe_hosts: Vec<String>,
    /// The StarRocks user (non-empty).
    pub username: String,
    /// The StarRocks password (default empty). Write-only; `***` in `Debug`.
    #[serde(default, deserialize_with = "password")]
    pub password: Password,
    /// Connect timeout override, 1–300 s.
    #[serde(default)]
    pub connect_timeout_secs: Option<u32>,
    /// Request timeout override, 1–300 s.
    #[serde(default)]
    pub request_timeout_secs: Option<u32>,
    /// Whether to collect it (default `true`).
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// The body of `PUT /api/clusters/{id}`: a partial update, an absent field is left as it is.
/// Unknown fields are rejected.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateClusterRequest {
    /// A new unique, non-empty name (not `null`).
    #[serde(default, deserialize_with = "not_null")]
    pub name: Option<String>,
    /// New FE entry points (not `null`).
    #[serde(default, deserialize_with = "not_null")]
    pub fe_hosts: Option<Vec<String>>,
    /// A new user (not `null`).
    #[serde(default, deserialize_with = "not_null")]
    pub username: Option<String>,
    /// A new password (`""` clears it; `null` or absent leaves it). Write-only.
    #[serde(default, deserialize_with = "password_opt")]
    pub password: Option<Password>,
    /// A new connect timeout, 1–300 s (`null` clears the override, absent leaves it).
    #[serde(default, deserialize_with = "present")]
    pub connect_timeout_secs: Option<Option<u32>>,
    /// A new request timeout, 1–300 s (`null` clears the override, absent leaves it).
    #[serde(default, deserialize_with = "present")]
    pub request_timeout_secs: Option<Option<u32>>,
    /// Enable or disable collection (not `null`).
    #[serde(default, deserialize_with = "not_null")]
    pub enabled: Option<bool>,
}

fn yes() -> bool {
    true
}

/// A password as a JSON string; any other type is refused without quoting the value.
fn password<'de, D: Deserializer<'de>>(d: D) -> Result<Password, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(Password::new(s)),
        _ => Err(D::Error::custom("password must be a string")),
    }
}

/// [`password`], `null` meaning "leave it".
fn password_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Password>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(Some(Password::new(s))),
        Value::Null => Ok(None),
        _ => Err(D::Error::custom("password must be a string or null")),
    }
}

/// A field that is present (`Some`), maybe `null` (`Some(None)`); absent is `None` via
/// `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The answer of `POST /api/clusters/{id}/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResultDto {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// Each endpoint's result, as the binary's tester reports it.
    pub result: Value,
}

// ---- summaries and overview -------------------------------------------------------------------

/// One row of `GET /api/clusters/overview` (without `cluster_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummaryDto {
    /// The cluster's id.
    pub id: i64,
    /// The cluster's name.
    pub name: String,
    /// Whether the collector collects it.
    pub enabled: bool,
    /// `healthy`, `degraded`, `down` or `unknown`.
    pub health: String,
    /// Queries per second of the newest snapshot.
    pub qps: Option<f64>,
    /// Query latency p99 of the newest snapshot, ms.
    pub query_latency_p99: Option<f64>,
    /// Mean BE/CN CPU use of the newest snapshot, %.
    pub avg_cpu_usage: Option<f64>,
    /// Storage used of the newest snapshot, %.
    pub disk_usage_pct: Option<f64>,
    /// FEs, BEs and CNs alive (newest snapshot).
    pub nodes_alive: Option<i64>,
    /// FEs, BEs and CNs listed (newest snapshot).
    pub nodes_total: Option<i64>,
    /// When the newest snapshot was collected.
    #[serde(with = "rfc3339_millis::option")]
    pub last_collected: Option<OffsetDateTime>,
    /// Why the collector's last attempt failed (`null` when it succeeded or none was made).
    pub last_error: Option<String>,
    /// Which shard owns it (`null` when this instance collects every cluster). A cluster
    /// another shard collects has `health` `unknown` here, like a disabled one.
    #[serde(default)]
    pub shard: Option<ClusterShardDto>,
}

/// A time as the API writes it ([`rfc3339_millis`]), written once and shared: the points of an
/// overview's trends share their buckets' times (3,360 points, 240 times in a `7d` overview).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeText(std::sync::Arc<str>);

impl TimeText {
    /// `t` as the API writes it.
    pub fn new(t: OffsetDateTime) -> TimeText {
        // The fallback is never taken for a time the store returns (years 0–9999).
        let text = rfc3339_millis::text(t).unwrap_or_default();
        TimeText(text.into())
    }
}

impl Serialize for TimeText {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TimeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeText, D::Error> {
        rfc3339_millis::deserialize(d).map(TimeText::new)
    }
}

/// One point of a trend: a bucket's time and the mean of its values (`null` when the field was
/// null in every snapshot of the bucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The mean `collected_at` of the bucket.
    pub timestamp: TimeText,
    /// The bucket's mean.
    pub value: Option<f64>,
}

/// Statistics of one series over the overview's range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeriesStatsDto {
    /// Snapshots where the field is not null.
    pub count: u64,
    /// Mean.
    pub avg: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
}

/// `GET /api/clusters/overview?cluster_id=ID` and `GET /api/clusters/{id}/overview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverviewDto {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// The range asked for (`15m`, `1h`, `6h`, `24h`, `3d`, `7d`).
    pub time_range: String,
    /// The newest snapshot with all its fields, `null` before the first one.
    pub latest_snapshot: Option<MetricsSnapshot>,
    /// `qps`, `rps`, `latency_p50`, `latency_p95`, `latency_p99`, `error_rate`.
    pub performance_trends: BTreeMap<String, Vec<TrendPoint>>,
    /// `cpu_usage`, `memory_usage`, `disk_usage`, `jvm_heap_usage`, `network_send_rate`,
    /// `network_receive_rate`, `io_read_rate`, `io_write_rate`.
    pub resource_trends: BTreeMap<String, Vec<TrendPoint>>,
    /// Count, mean, maximum and minimum over the range of every series above, by its trend name.
    pub statistics: BTreeMap<String, SeriesStatsDto>,
    /// Every custom metric in force, by name: its trend like the built-in ones (`null` where
    /// no node had the series).
    pub custom_trends: BTreeMap<String, Vec<TrendPoint>>,
    /// Count, mean, maximum and minimum of every custom metric over the range, by name.
    pub custom_statistics: BTreeMap<String, SeriesStatsDto>,
    /// The cluster's collection status.
    pub collector: CollectorClusterDto,
}

// ---- collector ---------------------------------------------------------------------------------

/// One cluster's collection status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectorClusterDto {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// When the last collection started (`null`: never tried since start).
    #[serde(with = "rfc3339_millis::option")]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// When the last collection that stored a snapshot started.
    #[serde(with = "rfc3339_millis::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// Why the last attempt failed; `null` when it succeeded.
    pub last_error: Option<String>,
    /// Attempts that failed in a row.
    pub consecutive_failures: u32,
    /// How long the last attempt took, ms.
    pub last_duration_ms: Option<u64>,
    /// The nodes and sources that failed in the last attempt.
    pub node_failures: Vec<SourceErrorDto>,
    /// Which shard owns it (`null` when this instance collects every cluster); a cluster
    /// another shard collects has no status here.
    #[serde(default)]
    pub shard: Option<ClusterShardDto>,
}

impl CollectorClusterDto {
    /// The status of cluster `cluster`, or nulls when the collector has none yet.
    pub fn new(
        cluster_id: i64,
        cluster_name: &str,
        status: Option<&ClusterStatus>,
        shard: Option<ClusterShardDto>,
    ) -> Self {
        let Some(s) = status else {
            return CollectorClusterDto {
                cluster_id,
                cluster_name: cluster_name.to_owned(),
                last_attempt_at: None,
                last_success_at: None,
                last_error: None,
                consecutive_failures: 0,
                last_duration_ms: None,
                node_failures: Vec::new(),
                shard,
            };
        };
        CollectorClusterDto {
            cluster_id,
            // The store's name is current; the board's may predate a rename.
            cluster_name: cluster_name.to_owned(),
            last_attempt_at: s.last_attempt_at.map(utc),
            last_success_at: s.last_success_at.map(utc),
            last_error: s.last_error.clone(),
            consecutive_failures: s.consecutive_failures,
            last_duration_ms: s.last_duration_ms,
            node_failures: s.node_failures.iter().map(SourceErrorDto::from).collect(),
            shard,
        }
    }
}

/// A source (node list, node scrape) that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceErrorDto {
    /// What was fetched, e.g. `metrics 10.0.0.3:8040`.
    pub source: String,
    /// A short cause, e.g. `timeout`, `connect`, `http_401`.
    pub code: String,
    /// The detail.
    pub message: String,
}

impl From<&SourceError> for SourceErrorDto {
    fn from(e: &SourceError) -> Self {
        SourceErrorDto {
            source: e.source.clone(),
            code: e.code.clone(),
            message: e.message.clone(),
        }
    }
}

/// One tick of the collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleDto {
    /// When the tick fired.
    #[serde(with = "rfc3339_millis")]
    pub started_at: OffsetDateTime,
    /// Until its last cluster finished, ms.
    pub duration_ms: u64,
    /// Clusters whose snapshot was stored.
    pub clusters_ok: u32,
    /// Clusters that failed.
    pub clusters_failed: u32,
    /// Clusters skipped (previous collection still running).
    pub clusters_skipped: u32,
}

impl From<&CycleSummary> for CycleDto {
    fn from(c: &CycleSummary) -> Self {
        CycleDto {
            started_at: utc(c.started_at),
            duration_ms: c.duration_ms,
            clusters_ok: c.clusters_ok,
            clusters_failed: c.clusters_failed,
            clusters_skipped: c.clusters_skipped,
        }
    }
}

/// `GET /api/collector/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectorStatusDto {
    /// This instance's shard (`collector.shard = "i/n"`); `null` when it collects every
    /// cluster.
    #[serde(default)]
    pub shard: Option<ShardDto>,
    /// Every registered cluster's status, by id.
    pub clusters: Vec<CollectorClusterDto>,
    /// The recent cycles, newest first.
    pub cycles: Vec<CycleDto>,
    /// The storage's own state.
    pub storage: StorageDto,
    /// Every alert receiver (Alertmanagers, then webhooks) and how delivery to it goes.
    pub alert_delivery: Vec<DeliveryDto>,
    /// Every remote-write endpoint (`[[export.remote_write]]`) and how far behind it is.
    pub remote_write: Vec<RemoteWriteDto>,
}

/// One remote-write endpoint in `GET /api/collector/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteWriteDto {
    /// The endpoint's URL, credentials shown as `***`.
    pub url: String,
    /// Cycles (one cluster's each) waiting in the queue.
    pub queued_cycles: usize,
    /// The queue's bound (`queue_capacity`).
    pub queue_capacity: usize,
    /// Cycles not yet delivered: queued, turned away by the full queue (to be read back from
    /// the database), or being read back.
    pub backlog_cycles: u64,
    /// How old the oldest cycle not yet delivered is, in seconds (0 when none is owed).
    pub backlog_seconds: f64,
    /// Samples the endpoint accepted.
    pub samples_sent: u64,
    /// Requests the endpoint accepted.
    pub requests_sent: u64,
    /// Failed requests that were retried (transport errors, 429, 5xx).
    pub failed_requests: u64,
    /// Samples of requests the endpoint refused (another 4xx), dropped.
    pub dropped_samples: u64,
    /// Requests the endpoint refused, dropped.
    pub dropped_requests: u64,
    /// When a request was last accepted.
    #[serde(with = "rfc3339_millis::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// The last failure, short and scrubbed of credentials.
    pub last_error: Option<String>,
    /// When it happened.
    #[serde(with = "rfc3339_millis::option")]
    pub last_error_at: Option<OffsetDateTime>,
}

impl From<&rockscope_remote_write::EndpointStatus> for RemoteWriteDto {
    fn from(e: &rockscope_remote_write::EndpointStatus) -> RemoteWriteDto {
        RemoteWriteDto {
            url: e.url.clone(),
            queued_cycles: e.queued_cycles,
            queue_capacity: e.queue_capacity,
            backlog_cycles: e.backlog_cycles,
            backlog_seconds: e.backlog_seconds,
            samples_sent: e.samples_sent,
            requests_sent: e.requests_sent,
            failed_requests: e.failed_requests,
            dropped_samples: e.dropped_samples,
            dropped_requests: e.dropped_requests,
            last_success_at: e.last_success_at,
            last_error: e.last_error.clone(),
            last_error_at: e.last_error_at,
        }
    }
}

/// One alert receiver in `GET /api/collector/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryDto {
    /// `alertmanager` or `webhook`.
    pub kind: String,
    /// The receiver's URL, credentials shown as `***`.
    pub url: String,
    /// Notifications delivered.
    pub sent: u64,
    /// Notifications given up on (a refusal, or retries exhausted).
    pub failed: u64,
    /// Notifications dropped because the queue was full.
    pub dropped: u64,
    /// Notifications waiting.
    pub queue_len: usize,
    /// When a delivery last succeeded.
    #[serde(with = "rfc3339_millis::option")]
    pub last_success_at: Option<OffsetDateTime>,
    /// The last failure, short and scrubbed of credentials.
    pub last_error: Option<String>,
    /// When it happened.
    #[serde(with = "rfc3339_millis::option")]
    pub last_error_at: Option<OffsetDateTime>,
}

impl From<&rockscope_notify::ReceiverStatus> for DeliveryDto {
    fn from(r: &rockscope_notify::ReceiverStatus) -> DeliveryDto {
        DeliveryDto {
            kind: r.kind.as_str().to_owned(),
            url: r.url.clone(),
            sent: r.sent,
            failed: r.failed,
            dropped: r.dropped,
            queue_len: r.queue_len,
            last_success_at: r.last_success_at,
            last_error: r.last_error.clone(),
            last_error_at: r.last_error_at,
        }
    }
}

/// The storage's state in `GET /api/collector/status`: whether writes to the database work,
/// apart from every cluster's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorageDto {
    /// Whether writes work (and the database file is the one rockscope opened).
    pub healthy: bool,
    /// The last storage error (kept after recovery; `null` if none since start).
    pub last_error: Option<String>,
    /// When the current failure began (`null` while healthy).
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// Since when writes work (`null` while failing).
    #[serde(with = "time::serde::rfc3339::option")]
    pub ok_since: Option<OffsetDateTime>,
    /// When a write last succeeded (`null` before the first).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_write_at: Option<OffsetDateTime>,
}

impl From<&rockscope_store::StorageState> for StorageDto {
    fn from(s: &rockscope_store::StorageState) -> Self {
        StorageDto {
            healthy: s.healthy,
            last_error: s.last_error.clone(),
            failing_since: s.failing_since.map(utc),
            ok_since: s.ok_since.map(utc),
            last_write_at: s.last_write_at.map(utc),
        }
    }
}

// ---- history -----------------------------------------------------------------------------------

/// `GET /api/clusters/{id}/snapshots`: raw rows (`snapshots`) without `max_points`, a
/// downsampled series (`points`) with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotsDto {
    /// The cluster's id.
    pub cluster_id: i64,
    /// The window's start (included).
    #[serde(with = "rfc3339_millis")]
    pub from: OffsetDateTime,
    /// The window's end (included).
    #[serde(with = "rfc3339_millis")]
    pub to: OffsetDateTime,
    /// The fields asked for (`null`: all).
    pub fields: Option<Vec<String>>,
    /// Whether the rows are buckets (`points`) rather than snapshots (`snapshots`).
    pub downsampled: bool,
    /// The bucket budget (downsampled only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub max_points: Option<usize>,
    /// Snapshots in the window.
    pub total: u64,
    /// Whether rows were left off (raw only: more snapshots than the raw cap).
    pub truncated: bool,
    /// Raw snapshots, oldest first: every field, or `collected_at` and the fields asked for.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub snapshots: Option<Vec<Value>>,
    /// Buckets, oldest first.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub points: Option<Vec<SnapshotPointDto>>,
}

/// One bucket of a downsampled `/snapshots` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPointDto {
    /// The mean `collected_at` of the bucket's snapshots.
    #[serde(with = "rfc3339_millis")]
    pub timestamp: OffsetDateTime,
    /// Snapshots in the bucket.
    pub count: u64,
    /// Each field's mean over the bucket.
    pub avg: BTreeMap<String, Option<f64>>,
    /// Each field's maximum over the bucket.
    pub max: BTreeMap<String, Option<f64>>,
}

// ---- alerts -----------------------------------------------------------------------------------

/// An active alert (`GET /api/alerts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDto {
    /// The rule's name (the `alertname` label).
    pub name: String,
    /// `pending` or `firing`.
    pub state: rockscope_model::AlertState,
    /// `info`, `warning` or `critical`.
    pub severity: rockscope_model::Severity,
    /// The cluster's id.
    pub cluster_id: i64,
    /// The cluster's name.
    pub cluster_name: String,
    /// The alert's labels (`alertname`, `cluster`, `severity`, `instance`, …).
    pub labels: BTreeMap<String, String>,
    /// The alert's annotations (`summary`, `description`, `runbook`, …), rendered.
    pub annotations: BTreeMap<String, String>,
    /// When the condition started to hold.
    #[serde(with = "rfc3339_millis")]
    pub active_since: OffsetDateTime,
    /// When it went to firing (`null` while pending).
    #[serde(with = "rfc3339_millis::option")]
    pub fired_at: Option<OffsetDateTime>,
    /// The value the condition compared at the last evaluation where it held.
    pub value: Option<f64>,
    /// Alertmanager's fingerprint of the labels.
    pub fingerprint: String,
}

/// `GET /api/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertsDto {
    /// The active alerts, by cluster, rule and fingerprint.
    pub alerts: Vec<AlertDto>,
}

/// One state change of an alert (`GET /api/alerts/history`, `POST /api/alert-rules/test`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEventDto {
    /// The rule's name.
    pub name: String,
    /// The state entered: `pending`, `firing` or `resolved`.
    pub state: rockscope_model::AlertState,
    /// The rule's severity.
    pub severity: rockscope_model::Severity,
    /// The cluster's id.
    pub cluster_id: i64,
    /// The alert's labels.
    pub labels: BTreeMap<String, String>,
    /// The value at the change (`null` for a resolution without one).
    pub value: Option<f64>,
    /// When the change happened.
    #[serde(with = "rfc3339_millis")]
    pub at: OffsetDateTime,
    /// Alertmanager's fingerprint of the labels.
    pub fingerprint: String,
}

impl From<&rockscope_model::AlertEvent> for AlertEventDto {
    fn from(e: &rockscope_model::AlertEvent) -> AlertEventDto {
        AlertEventDto {
            name: e.rule.clone(),
            state: e.state,
            severity: e.severity,
            cluster_id: e.cluster_id,
            labels: e.labels.clone(),
            value: e.value.filter(|v| v.is_finite()),
            at: utc(e.at),
            fingerprint: e.fingerprint.clone(),
        }
    }
}

/// `GET /api/alerts/history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertHistoryDto {
    /// The state changes, newest first.
    pub events: Vec<AlertEventDto>,
    /// The `limit` applied (the most events returned).
    pub limit: usize,
}

/// One effective rule (`GET /api/alert-rules`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRuleDto {
    /// The rule's name.
    pub name: String,
    /// Whether rockscope ships it.
    pub builtin: bool,
    /// `builtin`, `config` (the configuration file) or `api` (created through the API).
    pub source: String,
    /// `false` when switched off by an override.
    pub enabled: bool,
    /// The severity.
    pub severity: rockscope_model::Severity,
    /// The pending duration, e.g. `5m` (`0s`: fires at once).
    #[serde(rename = "for")]
    pub for_duration: String,
    /// How long it keeps firing after the condition clears, e.g. `0s`.
    pub keep_firing_for: String,
    /// The condition in words and symbols.
    pub condition: String,
    /// The rule's own labels (templates).
    pub labels: BTreeMap<String, String>,
    /// The rule's annotations (templates).
    pub annotations: BTreeMap<String, String>,
}

/// `GET /api/alert-rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRulesDto {
    /// Every effective rule, built-in first.
    pub rules: Vec<AlertRuleDto>,
}

/// The body of `POST /api/alert-rules/test`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTestRequest {
    /// The rule to try, as for `POST /api/alert-rules`.
    pub rule: rockscope_model::RuleSpec,
    /// The cluster whose stored history it runs over.
    pub cluster_id: i64,
    /// The window's start (RFC 3339); with `to`, instead of `range`.
    #[serde(default, deserialize_with = "not_null")]
    pub from: Option<String>,
    /// The window's end (RFC 3339, default now).
    #[serde(default, deserialize_with = "not_null")]
    pub to: Option<String>,
    /// The window ending now: `15m`, `1h`, `6h`, `24h`, `3d` or `7d` (default `7d`).
    #[serde(default, deserialize_with = "not_null")]
    pub range: Option<String>,
}

/// The answer of `POST /api/alert-rules/test`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleTestDto {
    /// The rule's name.
    pub rule: String,
    /// The cluster.
    pub cluster_id: i64,
    /// The window asked for.
    #[serde(with = "rfc3339_millis")]
    pub from: OffsetDateTime,
    /// The window asked for.
    #[serde(with = "rfc3339_millis")]
    pub to: OffsetDateTime,
    /// Whether it would have fired at least once.
    pub would_fire: bool,
    /// How many times it would have gone to firing.
    pub fired: usize,
    /// The cycles (stored snapshots) replayed.
    pub cycles: usize,
    /// The stored cycles in the window.
    pub cycles_in_range: u64,
    /// The most cycles one test replays: the first ones of the window when it holds more.
    pub max_cycles: usize,
    /// Whether the window held more cycles than were replayed.
    pub truncated: bool,
    /// The time of the last cycle replayed (`null` when none was).
    #[serde(with = "rfc3339_millis::option")]
    pub replayed_to: Option<OffsetDateTime>,
    /// The state changes it would have made, oldest first.
    pub events: Vec<AlertEventDto>,
}
