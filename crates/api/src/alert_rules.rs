//! [`AlertRules`]: the effective alert rules, shared by the API (which lists them and edits the
//! user rules stored through it) and whoever evaluates them (the binary hands the collector a
//! reader of [`AlertRules::rules`]).
//!
//! The rules come from three places: rockscope's built-in rules (with the config file's
//! `[[alerts.overrides]]` applied), the config file's `[[alerts.rules]]`, and the rules created
//! through `/api/alert-rules`, stored in the database. The first two are fixed for the life of
//! the process and read-only through the API; every change through the API is validated by
//! building the whole set again ([`RuleSet::build`]) before it is stored, and the new set
//! replaces the current one at once, so an evaluation never sees a half-applied change.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use rockscope_alerts::{CustomNames, RuleError, RuleSet};
use rockscope_model::{RuleOverride, RuleSpec};
use rockscope_store::Store;

use crate::custom_metrics::CustomMetrics;

/// Where an effective rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSource {
    /// Shipped with rockscope (possibly overridden by the config file).
    Builtin,
    /// `[[alerts.rules]]` of the config file: read-only through the API.
    Config,
    /// Created through `/api/alert-rules` and stored in the database.
    Api,
}

impl RuleSource {
    /// `builtin`, `config` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSource::Builtin => "builtin",
            RuleSource::Config => "config",
            RuleSource::Api => "api",
        }
    }
}

/// Why an edit of the user rules was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RuleEditError {
    /// The rules would not build: each error names the rule and the problem.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<RuleError>),
    /// The name is a built-in rule's or a config rule's, which the API cannot change.
    #[error("alert rule `{name}` is {what}")]
    ReadOnly {
        /// The rule's name.
        name: String,
        /// What it is and how it can be changed instead.
        what: &'static str,
    },
    /// No rule of that name was created through the API.
    #[error("alert rule `{0}`")]
    NotFound(String),
    /// The store failed (or a rule of that name is already stored: `Conflict`).
    #[error(transparent)]
    Store(#[from] rockscope_store::Error),
}

/// The effective alert rules and the means to change the user rules stored through the API.
/// Cheap to share behind an `Arc`; every method blocks (store calls): call it on a blocking
/// thread.
#[derive(Debug)]
pub struct AlertRules {
    store: Store,
    config_rules: Vec<RuleSpec>,
    overrides: Vec<RuleOverride>,
    current: RwLock<Arc<RuleSet>>,
    /// Held over validate-store-publish of an edit, so that two edits cannot both validate
    /// against the same old set.
    edits: Mutex<()>,
    /// The custom metrics whose names rules may read; none without.
    custom: Option<Arc<CustomMetrics>>,
}

impl AlertRules {
    /// Builds the effective rules from the config file's rules and overrides and the rules
    /// stored through the API. Errors in the config's rules fail (the config is wrong); a stored
    /// rule that no longer builds (a config change made its name clash, say) is left out and
    /// logged, naming the rule and the problem, and stays stored so that it can be fixed or
    /// deleted through the API.
    pub fn load(
        store: Store,
        config_rules: Vec<RuleSpec>,
        overrides: Vec<RuleOverride>,
    ) -> Result<AlertRules, Vec<RuleError>> {
        AlertRules::load_with_custom(store, config_rules, overrides, None)
    }

    /// [`AlertRules::load`] with rules that may read the custom metrics of `custom` (the names
    /// in force when a rule is checked: at load and at each edit).
    pub fn load_with_custom(
        store: Store,
        config_rules: Vec<RuleSpec>,
        overrides: Vec<RuleOverride>,
        custom: Option<Arc<CustomMetrics>>,
    ) -> Result<AlertRules, Vec<RuleError>> {
        let names = custom.as_ref().map(|c| c.names()).unwrap_or_default();
        let set = RuleSet::build_with(&config_rules, &overrides, &names)?;
        let rules = AlertRules {
            store,
            config_rules,
            overrides,
            current: RwLock::new(Arc::new(set)),
            edits: Mutex::new(()),
            custom,
        };
        if let Err(e) = rules.reload() {
            log::error!("alerts: cannot read the API's alert rules: {e}");
        }
        Ok(rules)
    }

    /// The effective rules now.
    pub fn rules(&self) -> Arc<RuleSet> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Where the effective rule `name` comes from; `None` for no such rule.
    pub fn source(&self, name: &str) -> Option<RuleSource> {
        if self.config_rules.iter().any(|r| r.name == name) {
            return Some(RuleSource::Config);
        }
        let rules = self.rules();
        let rule = rules.rules().iter().find(|r| r.name == name)?;
        Some(if rule.builtin {
            RuleSource::Builtin
        } else {
            RuleSource::Api
        })
    }

    /// Rebuilds the effective rules from the stored API rules (leaving out, and logging, every
    /// one that does not build with the others).
    pub fn reload(&self) -> Result<(), rockscope_store::Error> {
        let _edit = self.edit_turn();
        let mut stored = self.store.user_rules()?;
        loop {
            match self.build_with(&stored) {
                Ok(set) => {
                    self.publish(set);
                    return Ok(());
                }
                Err(errors) if stored.is_empty() => {
                    // Cannot happen: the config's rules built alone at load.
                    log::error!("alerts: {}", RuleEditError::Invalid(errors));
                    return Ok(());
                }
                Err(errors) => {
                    let before = stored.len();
                    stored.retain(|spec| {
                        let bad = errors.iter().find(|e| e.rule == spec.name);
                        if let Some(e) = bad {
                            log::error!("alerts: stored rule left out: {e}");
                        }
                        bad.is_none()
                    });
                    if stored.len() == before {
                        // The errors name no stored rule: keep the config's rules running.
                        log::error!(
                            "alerts: the API's rules are left out: {}",
                            RuleEditError::Invalid(errors)
                        );
                        stored.clear();
                    }
                }
            }
        }
    }

    /// Validates and stores a new API rule, then makes it effective.
    pub fn create(&self, spec: &RuleSpec) -> Result<(), RuleEditError> {
        let _edit = self.edit_turn();
        self.refuse_read_only(&spec.name)?;
        let mut stored = self.store.user_rules()?;
        if stored.iter().any(|r| r.name == spec.name) {
            return Err(RuleEditError::Store(rockscope_store::Error::Conflict(
                format!("an alert rule named `{}` already exists", spec.name),
            )));
        }
        stored.push(spec.clone());
        let set = self.build_with(&stored).map_err(RuleEditError::Invalid)?;
        self.store.insert_user_rule(spec)?;
        self.publish(set);
        Ok(())
    }

    /// Validates and stores a new version of the API rule `name` (same name), then makes it
    /// effective.
    pub fn replace(&self, name: &str, spec: &RuleSpec) -> Result<(), RuleEditError> {
        let _edit = self.edit_turn();
        self.refuse_read_only(name)?;
        let mut stored = self.store.user_rules()?;
        let Some(slot) = stored.iter_mut().find(|r| r.name == name) else {
            return Err(RuleEditError::NotFound(name.to_owned()));
        };
        *slot = spec.clone();
        let set = self.build_with(&stored).map_err(RuleEditError::Invalid)?;
        if !self.store.replace_user_rule(name, spec)? {
            return Err(RuleEditError::NotFound(name.to_owned()));
        }
        self.publish(set);
        Ok(())
    }

    /// Deletes the API rule `name` and makes the rest effective.
    pub fn delete(&self, name: &str) -> Result<(), RuleEditError> {
        let _edit = self.edit_turn();
        self.refuse_read_only(name)?;
        let mut stored = self.store.user_rules()?;
        stored.retain(|r| r.name != name);
        let set = self.build_with(&stored).map_err(RuleEditError::Invalid)?;
        if !self.store.delete_user_rule(name)? {
            return Err(RuleEditError::NotFound(name.to_owned()));
        }
        self.publish(set);
        Ok(())
    }

    /// The custom metric names rules may read now.
    pub fn custom_names(&self) -> CustomNames {
        self.custom.as_ref().map(|c| c.names()).unwrap_or_default()
    }

    /// The rule set of the config's rules followed by `api_rules`.
    fn build_with(&self, api_rules: &[RuleSpec]) -> Result<RuleSet, Vec<RuleError>> {
        let all: Vec<RuleSpec> = self.config_rules.iter().chain(api_rules).cloned().collect();
        RuleSet::build_with(&all, &self.overrides, &self.custom_names())
    }

    /// [`RuleEditError::ReadOnly`] for a config rule's or a built-in rule's name.
    fn refuse_read_only(&self, name: &str) -> Result<(), RuleEditError> {
        let what = match self.source(name) {
            Some(RuleSource::Config) => {
                "defined in the configuration file ([[alerts.rules]]) and read-only through the \
                 API; change it there"
            }
            Some(RuleSource::Builtin) => {
                "a built-in rule; switch it off or change its threshold or `for` with \
                 [[alerts.overrides]] in the configuration file"
            }
            Some(RuleSource::Api) | None => return Ok(()),
        };
        Err(RuleEditError::ReadOnly {
            name: name.to_owned(),
            what,
        })
    }

    fn publish(&self, set: RuleSet) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
    }

    fn edit_turn(&self) -> MutexGuard<'_, ()> {
        self.edits.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
