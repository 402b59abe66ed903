//! Integration tests of the aggregation engine: scripted scrape sequences in StarRocks' own body
//! shapes, partial cycles, the daily rollup, and the serialized form of the snapshots.

mod alert_sources;
mod custom_metrics;
mod daily;
mod fixtures;
mod ground_truth;
mod latency;
mod partial;
mod running;
mod scenario;
mod sim_latency;
