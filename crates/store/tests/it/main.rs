//! Integration tests of `rockscope-store`, each on its own temporary database file.

mod alerts;
mod clusters;
mod concurrency;
mod crash;
mod custom;
mod daily;
mod faults;
mod outcomes;
mod retention;
mod runs;
mod schema;
mod secrets;
mod series;
mod snapshots;
mod support;
mod thinning;
