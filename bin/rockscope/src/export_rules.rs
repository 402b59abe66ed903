//! `rockscope alerts export-rules`: the effective alert rules as a Prometheus rule file.

use std::path::Path;
use std::process::ExitCode;

use rockscope_alerts::{CustomNames, RuleSet, prometheus_rule_file};
use rockscope_model::{CustomMetricSpec, RuleSpec};
use rockscope_store::Store;

use crate::config::Settings;

/// Builds the rule set of `settings` plus the rules added through the API (when the database
/// exists), and writes it to `output` or standard output.
pub fn run(settings: &Settings, output: Option<&Path>) -> ExitCode {
    let (stored, custom) = match stored_definitions(settings) {
        Ok(stored) => stored,
        Err(message) => {
            eprintln!("rockscope: {message}");
            return ExitCode::FAILURE;
        }
    };
    let mut rules = settings.alerts.rules.clone();
    rules.extend(stored);
    let mut definitions = settings.collector.custom_metrics.clone();
    definitions.extend(custom);
    let names = CustomNames::of(&definitions);
    let set = match RuleSet::build_with(&rules, &settings.alerts.overrides, &names) {
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

/// The rules created through `/api/alert-rules` and the custom metrics created through
/// `/api/custom-metrics` (which rules may read); none when the database does not exist yet.
fn stored_definitions(
    settings: &Settings,
) -> Result<(Vec<RuleSpec>, Vec<CustomMetricSpec>), String> {
    let path = &settings.storage.path;
    if !path.exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let options = crate::service::store_options()?;
    let store = Store::open_with(path, &options)
        .map_err(|e| format!("cannot open the database {}: {e}", path.display()))?;
    let rules = store
        .user_rules()
        .map_err(|e| format!("cannot read the alert rules from {}: {e}", path.display()))?;
    let custom = store.custom_metric_specs().map_err(|e| {
        format!(
            "cannot read the custom metrics from {}: {e}",
            path.display()
        )
    })?;
    Ok((rules, custom))
}
