//! `rockscope alerts export-rules`: the effective alert rules as a Prometheus rule file.

use std::path::Path;
use std::process::ExitCode;

use rockscope_alerts::{RuleSet, prometheus_rule_file};

use crate::config::Settings;

/// Builds the rule set of `settings` plus the rules added through the API (when the database
/// exists), and writes it to `output` or standard output.
pub fn run(
    settings: &Settings,
    stored: Vec<rockscope_model::RuleSpec>,
    output: Option<&Path>,
) -> ExitCode {
    let mut rules = settings.alerts.rules.clone();
    rules.extend(stored);
    let set = match RuleSet::build(&rules, &settings.alerts.overrides) {
        Ok(set) => set,
        Err(errors) => {
            for error in errors {
                eprintln!("rockscope: {error}");
            }
            return ExitCode::from(2);
        }
    };
    let text = prometheus_rule_file(&set);
    let written = match output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("rockscope: cannot write the rule file: {message}");
            ExitCode::FAILURE
        }
    }
}
