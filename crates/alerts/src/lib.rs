//! Alert evaluation for rockscope: StarRocks' recommended rules (corrected) and user rules over
//! a cluster's snapshots, with Prometheus' alert life cycle (`for`, `keep_firing_for`,
//! resolution).
//!
//! Pure like the engine: no I/O and no clock. The caller passes the cluster's recent snapshots,
//! the newest node snapshots, the previous alert states and the evaluation time, and stores and
//! delivers what [`evaluate`] returns.
//!
//! The map:
//! * [`rule`]: a rule validated ([`check_rule_with`]), the effective set
//!   ([`RuleSet::build_with`]), given the custom metrics in force ([`CustomNames`]);
//! * [`builtin`]: the built-in catalogue;
//! * `expr` parses the expression grammar, `fields` resolves field names, `template` parses and
//!   renders `{{ $labels.x }}`/`{{ $value }}`, `duration` reads Prometheus durations;
//! * `value` computes an operand's values over a cluster's data; [`state`] the life cycle
//!   ([`evaluate`], [`replay`]);
//! * [`export`]: the Prometheus rule file.
//!
//! Grammar, built-in rules and semantics: `docs/ALERTS.md`.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

pub mod builtin;
mod duration;
pub mod export;
mod expr;
mod fields;
pub mod rule;
pub mod state;
mod template;
mod value;

#[cfg(test)]
mod tests;

pub use export::prometheus_rule_file;
pub use expr::MAX_WINDOW;
pub use fields::CustomNames;
pub use rule::{LOOKBACK_SLACK, Rule, RuleError, RuleSet, check_rule, check_rule_with};
pub use state::{
    ClusterView, Evaluation, Frame, RESOLVED_RETENTION, STALE_AFTER_INTERVALS, evaluate, replay,
};

/// Alertmanager's fingerprint of a label set: FNV-1a 64 over the sorted `name 0xFF value 0xFF`
/// pairs, as 16 hex digits.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for byte in name
            .bytes()
            .chain([0xff])
            .chain(value.bytes())
            .chain([0xff])
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}
