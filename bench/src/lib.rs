//! Shared helpers of rockscope's scale and cost benchmarks. Each benchmark is a binary in
//! `src/bin/`, run with `cargo run --release -p rockscope-bench --bin <name>`; docs/BENCHMARKS.md
//! says what each measures and holds the latest numbers.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api_history;
pub mod fleet;
pub mod history;
pub mod housekeeping;
pub mod sim_fleet;
pub mod versus;
