//! `rockscope alerts export-rules`: the effective alert rules as a Prometheus rule file.

use std::path::Path;
use std::process::ExitCode;

use rockscope_alerts::{RuleSet, prometheus_rule_file};
use rockscope_model::RuleSpec;
use rockscope_store::Store;

use crate::config::Settings;

/// Builds the rule set of `settings` plus the rules added through the API (when the database
/// exists), and writes it to `output` or standard output.
pub fn run(settings: &Settings, output: Option<&Path>) -> ExitCode {
    let stored = match stored_rules(settings) {
        Ok(stored) => stored,
        Err(message) => {
            eprintln!("rockscope: {message}");
            return ExitCode::FAILURE;
        }
    };
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

/// The rules created through `/api/alert-rules`; none when the database does not exist yet.
fn stored_rules(settings: &Settings) -> Result<Vec<RuleSpec>, String> {
    let path = &settings.storage.path;
    if !path.exists() {
        return Ok(Vec::new());
    }
    let options = crate::service::store_options()?;
    let store = Store::open_with(path, &options)
        .map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
    store
        .user_rules()
        .map_err(|e| format!("cannot read the alert rules from {}: {e}", path.display()))
}
