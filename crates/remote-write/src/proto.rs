//! Prometheus remote write 1.0: the `prometheus.WriteRequest` protobuf messages (the subset of
//! `prompb/remote.proto` and `types.proto` rockscope sends, derived by hand: no `protoc`), the
//! request built from cycles, and its snappy block compression.
//!
//! Pure: no I/O, no clock.

use std::collections::HashMap;

use rockscope_export::{ClusterExport, Labels, for_each_sample};

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    /// The series, each with its samples in time order.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name, `__name__` first.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Oldest first.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Label {
    /// The label's name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix time in milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// A cycle's time as a remote-write timestamp: Unix milliseconds (the store's precision too).
pub fn timestamp_ms(cycle: &ClusterExport) -> i64 {
    ms(cycle.at)
}

/// `at` in Unix milliseconds.
pub(crate) fn ms(at: time::OffsetDateTime) -> i64 {
    let ms = at.unix_timestamp_nanos().div_euclid(1_000_000);
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// One request being filled with whole cycles: one [`TimeSeries`] per label set, its samples
/// in the order the cycles were added (so a series' samples are oldest first when the cycles
/// of a cluster are added oldest first).
#[derive(Debug, Default)]
pub struct RequestBuilder {
    request: WriteRequest,
    /// A series' identity (its labels, joined) → its index in `request.timeseries`.
    index: HashMap<String, usize>,
    /// The endpoint's extra labels, added to every series.
    extra: Vec<(String, String)>,
    samples: usize,
}

impl RequestBuilder {
    /// An empty request whose series all carry `extra` labels (checked by the configuration:
    /// valid names, none of rockscope's own).
    pub fn new(extra: &[(String, String)]) -> Self {
        Self {
            extra: extra.to_vec(),
            ..Self::default()
        }
    }

    /// Adds every sample of `cycle`, at its [`timestamp_ms`].
    pub fn add_cycle(&mut self, cycle: &ClusterExport) {
        let timestamp = timestamp_ms(cycle);
        for_each_sample(cycle, |family, labels, value| {
            let key = series_key(&family.name, &labels);
            let i = match self.index.get(&key) {
                Some(&i) => i,
                None => {
                    let i = self.request.timeseries.len();
                    self.request.timeseries.push(TimeSeries {
                        labels: sorted_labels(&family.name, &labels, &self.extra),
                        samples: Vec::new(),
                    });
                    self.index.insert(key, i);
                    i
                }
            };
            self.request.timeseries[i]
                .samples
                .push(Sample { value, timestamp });
            self.samples += 1;
        });
    }

    /// The samples added so far.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.samples == 0
    }

    /// The request, ready to [`encode`].
    pub fn finish(self) -> WriteRequest {
        self.request
    }
}

/// A series' identity within one request (the extra labels are the same on every series).
fn series_key(name: &str, labels: &Labels<'_>) -> String {
    let mut key = name.to_owned();
    for (label, value) in labels.pairs() {
        key.push('\u{0}');
        key.push_str(label);
        key.push('\u{0}');
        key.push_str(value);
    }
    key
}

/// A sample's labels as remote write wants them: sorted by name (`__name__` sorts first).
fn sorted_labels(name: &str, labels: &Labels<'_>, extra: &[(String, String)]) -> Vec<Label> {
    let label = |name: &str, value: &str| Label {
        name: name.to_owned(),
        value: value.to_owned(),
    };
    let mut out = vec![label("__name__", name)];
    out.extend(labels.pairs().map(|(n, v)| label(n, v)));
    out.extend(extra.iter().map(|(n, v)| label(n, v)));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The request's body: the protobuf encoding, compressed with snappy's block format (not its
/// framing format), as remote write 1.0 wants.
pub fn encode(request: &WriteRequest) -> Result<Vec<u8>, snap::Error> {
    let bytes = prost::Message::encode_to_vec(request);
    snap::raw::Encoder::new().compress_vec(&bytes)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prost::Message;
    use time::macros::datetime;

    use super::*;
    use crate::fixtures::cycle;

    fn decode(body: &[u8]) -> WriteRequest {
        let raw = snap::raw::Decoder::new().decompress_vec(body).unwrap();
        WriteRequest::decode(raw.as_slice()).unwrap()
    }

    fn series<'a>(request: &'a WriteRequest, name: &str) -> Vec<&'a TimeSeries> {
        request
            .timeseries
            .iter()
            .filter(|s| s.labels[0].value == name)
            .collect()
    }

    #[test]
    fn a_request_round_trips_through_snappy_and_protobuf_with_the_metrics_names() {
        let t1 = datetime!(2026-01-01 0:00:01.123456 UTC);
        let t2 = datetime!(2026-01-01 0:00:02.5 UTC);
        let extra = [("dc".to_owned(), "eu1".to_owned())];
        let mut builder = RequestBuilder::new(&extra);
        builder.add_cycle(&cycle(1, "a", t1));
        let mut later = cycle(1, "a", t2);
        later.snapshot.as_mut().unwrap().qps = Some(20.0);
        builder.add_cycle(&later);
        let mut down = cycle(2, "b", t2);
        down.snapshot = None;
        down.failed_cycles = 3;
        builder.add_cycle(&down);
        let samples = builder.samples();
        let request = builder.finish();
        let decoded = decode(&encode(&request).unwrap());
        assert_eq!(decoded, request);
        let total: usize = decoded.timeseries.iter().map(|s| s.samples.len()).sum();
        assert_eq!(total, samples);

        let qps = series(&decoded, "rockscope_cluster_queries_per_second");
        assert_eq!(qps.len(), 1, "cluster b is down: no qps");
        let got: Vec<(i64, f64)> = qps[0]
            .samples
            .iter()
            .map(|s| (s.timestamp, s.value))
            .collect();
        assert_eq!(got, [(1_767_225_601_123, 12.5), (1_767_225_602_500, 20.0)]);
        let up = series(&decoded, "rockscope_cluster_up");
        let up: Vec<(&str, f64)> = up
            .iter()
            .map(|s| (s.labels[1].value.as_str(), s.samples.last().unwrap().value))
            .collect();
        assert_eq!(up, [("a", 1.0), ("b", 0.0)]);
        let cpu = series(&decoded, "rockscope_node_cpu_usage_ratio");
        let names: Vec<(&str, &str)> = cpu[0]
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("__name__", "rockscope_node_cpu_usage_ratio"),
                ("cluster", "a"),
                ("dc", "eu1"),
                ("instance", "10.0.0.1:8040"),
                ("node_type", "be"),
            ]
        );
        assert_eq!(cpu[0].samples[0].value, 0.5);
    }

    #[test]
    fn every_series_has_sorted_labels_and_the_names_of_the_text_exposition() {
        let extra = [
            ("zone".to_owned(), "z".to_owned()),
            ("abc".to_owned(), "1".to_owned()),
        ];
        let mut builder = RequestBuilder::new(&extra);
        let c = Arc::new(cycle(1, "a", datetime!(2026-01-01 0:00 UTC)));
        builder.add_cycle(&c);
        let request = builder.finish();
        let mut names = Vec::new();
        for s in &request.timeseries {
            let labels: Vec<&str> = s.labels.iter().map(|l| l.name.as_str()).collect();
            let mut sorted = labels.clone();
            sorted.sort_unstable();
            assert_eq!(labels, sorted);
            assert_eq!(labels[0], "__name__");
            names.push(s.labels[0].value.clone());
        }
        let mut exposed = Vec::new();
        rockscope_export::for_each_sample(&c, |family, _, _| exposed.push(family.name.clone()));
        assert_eq!(
            names, exposed,
            "one series per sample of /metrics, same names"
        );
        let alert = request
            .timeseries
            .iter()
            .find(|s| s.labels[0].value == "rockscope_alerts")
            .expect("the active alert is sent");
        let labels: Vec<(&str, &str)> = alert
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("__name__", "rockscope_alerts"),
                ("abc", "1"),
                ("alertname", "StarRocksBeDown"),
                ("alertstate", "firing"),
                ("cluster", "a"),
                ("instance", "127.0.0.1:8040"),
                ("node_type", "be"),
                ("severity", "critical"),
                ("zone", "z"),
            ]
        );
    }

    #[test]
    fn custom_metrics_are_sent_as_rockscope_custom_series_of_the_cluster() {
        let at = datetime!(2026-01-01 0:00 UTC);
        let definition: rockscope_model::CustomMetricSpec =
            serde_json::from_value(serde_json::json!({
                "name": "hits", "metric": "starrocks_be_storage_page_cache_hit_count",
                "node_types": ["be"], "aggregate": "sum", "per_node": true,
            }))
            .unwrap();
        let mut up = cycle(1, "a", at);
        up.custom = rockscope_export::CustomFamilies::new(&[definition]);
        let snapshot = up.snapshot.as_mut().unwrap();
        snapshot.custom.insert("hits".to_owned(), Some(7.0));
        snapshot.custom.insert("lookups".to_owned(), None);
        up.nodes[0].custom.insert("hits".to_owned(), 7.0);
        let mut builder = RequestBuilder::new(&[]);
        builder.add_cycle(&up);
        let request = builder.finish();
        let hits = series(&request, "rockscope_custom_hits");
        assert_eq!(hits.len(), 1, "the cluster's value only, not the node's");
        let labels: Vec<(&str, &str)> = hits[0]
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            labels,
            [("__name__", "rockscope_custom_hits"), ("cluster", "a")]
        );
        assert_eq!(
            hits[0].samples,
            [Sample {
                value: 7.0,
                timestamp: ms(at)
            }]
        );
        assert!(series(&request, "rockscope_custom_lookups").is_empty());
    }

    #[test]
    fn snappy_is_the_block_format() {
        let body = encode(&WriteRequest::default()).unwrap();
        // An empty input compresses to its length varint (0) alone; the framing format would
        // start with the stream identifier chunk (0xff).
        assert_eq!(body, [0]);
    }
}
