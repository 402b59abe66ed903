//! End-to-end tests of `rockscope serve`: the real binary (`CARGO_BIN_EXE_rockscope`) on a
//! temporary configuration and database, ephemeral ports, real HTTP on 127.0.0.1, against
//! simulated StarRocks clusters (`rockscope-sim`, `BindMode::Ports`), checked against the
//! simulator's ground truth.
//!
//! * `alerts`: a rule fires against the simulator and reaches a webhook and a real Alertmanager;
//!   a restart neither re-notifies nor loses the resolution.
//! * `collection`: clusters from the config file and from `POST /api/clusters` are collected;
//!   list, overview and values vs ground truth.
//! * `custom`: custom metrics from the config file and the API, collected, served by the
//!   overview, `/snapshots`, `/metrics` and `metric-families`, read by an alert rule; bad
//!   definitions refused with their documented errors.
//! * `endpoints`: every other endpoint's shape and values.
//! * `errors`: the documented error statuses and shape.
//! * `auth`: the bearer token, open `/health` and `/ready`, and the refusal to serve a
//!   non-loopback address without a token.
//! * `grafana`: the Grafana dashboard's JSON is importable, and every panel's query returns data
//!   for the simulated clusters from a real Prometheus that scraped the binary.
//! * `logs`: a failure that repeats every cycle is logged once, and its recovery once.
//! * `metrics`: a real Prometheus scrapes `/metrics`; a down cluster is `up 0` without old
//!   values; `promtool check metrics` is clean. `prometheus` starts a real Prometheus.
//! * `shards`: three instances with `collector.shard = "i/3"` and one list of 30 clusters
//!   collect each cluster exactly once, the owner all three name.
//! * `stalled`: thousands of stalled request bodies leave `/health` answering; each is cut off.
//! * `secrets`: no password or token in any response body, log line (`debug`, `trace`) or
//!   `check-config` output.

mod alerts;
mod auth;
mod collection;
mod custom;
mod endpoints;
mod errors;
mod grafana;
mod logs;
mod metrics;
mod prometheus;
mod remote_write;
mod secrets;
mod shards;
mod stalled;
mod support;
