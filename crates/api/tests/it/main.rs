//! End-to-end tests of the API on an in-process actix service with a temporary store.

#[macro_use]
mod support;

mod alerts;
mod auth;
mod clusters;
mod history;
mod metrics;
mod overview;
mod secrets;
mod shard;
mod storage;
mod summaries;
