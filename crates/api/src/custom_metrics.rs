//! [`CustomMetrics`]: the custom metric definitions in force, shared by the API (which lists
//! them and edits those stored through it) and the collector (the binary hands it a reader of
//! [`CustomMetrics::set`]; a change applies from each cluster's next cycle on).
//!
//! The definitions come from the config file's `[[collector.custom_metrics]]` (fixed for the
//! life of the process, read-only through the API) and from `/api/custom-metrics`, stored in
//! the database. Every change is validated by compiling the whole list again
//! ([`CustomSet::new`]: names unique, `ratio_of` resolvable) before it is stored, and the new
//! set replaces the current one at once, so a cycle never sees a half-applied change.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use rockscope_alerts::CustomNames;
use rockscope_collector::CustomInForce;
use rockscope_engine::CustomSet;
use rockscope_engine::custom::CustomMetricError;
use rockscope_model::CustomMetricSpec;
use rockscope_store::Store;

/// The most definitions in force (config and API together): each costs every cycle of every
/// cluster a value, a stored row and a series.
pub const MAX_CUSTOM_METRICS: usize = 500;

/// Where a definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefinitionSource {
    /// `[[collector.custom_metrics]]` of the config file: read-only through the API.
    Config,
    /// Created through `/api/custom-metrics` and stored in the database.
    Api,
}

impl DefinitionSource {
    /// `config` or `api`.
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionSource::Config => "config",
            DefinitionSource::Api => "api",
        }
    }
}

/// Why an edit of the stored definitions was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum CustomEditError {
    /// The list would not compile.
    #[error(transparent)]
    Invalid(#[from] CustomMetricError),
    /// The name is a config definition's.
    #[error(
        "custom metric {0:?} is defined in the configuration file ([[collector.custom_metrics]]) \
         and read-only through the API; change it there"
    )]
    ReadOnly(String),
    /// No definition of that name was created through the API.
    #[error("custom metric {0:?}")]
    NotFound(String),
    /// Something else reads the definition.
    #[error("custom metric {name:?} is used by {by}; change or remove that first")]
    InUse {
        /// The definition's name.
        name: String,
        /// What uses it (`custom metric "x" (ratio_of)`, `alert rule "y"`).
        by: String,
    },
    /// As many definitions as allowed are in force.
    #[error(
        "there are already {MAX_CUSTOM_METRICS} custom metrics, the most allowed; delete one first"
    )]
    TooMany,
    /// The store failed (or a definition of that name is already stored: `Conflict`).
    #[error(transparent)]
    Store(#[from] rockscope_store::Error),
}

/// The definitions in force and the means to change those stored through the API. Every
/// method that edits blocks (store calls): call it on a blocking thread.
#[derive(Debug)]
pub struct CustomMetrics {
    store: Store,
    config: Vec<CustomMetricSpec>,
    current: RwLock<Arc<CustomInForce>>,
    /// Config definitions first, then the stored ones in force, in order.
    specs: RwLock<Arc<Vec<(CustomMetricSpec, DefinitionSource)>>>,
    /// Bumped by every change, for caches of answers that list the definitions.
    version: AtomicU64,
    /// Held over validate-store-publish of an edit.
    edits: Mutex<()>,
}

impl CustomMetrics {
    /// The config file's definitions and those stored through the API. An error in the
    /// config's definitions fails (the config is wrong); a stored definition that no longer
    /// compiles with the others (a config change made its name clash, say) is left out and
    /// logged, and stays stored so that it can be fixed or deleted through the API.
    pub fn load(
        store: Store,
        config: Vec<CustomMetricSpec>,
    ) -> Result<CustomMetrics, CustomMetricError> {
        let set = CustomSet::new(&config)?;
        let specs = config
            .iter()
            .map(|s| (s.clone(), DefinitionSource::Config))
            .collect();
        let metrics = CustomMetrics {
            store,
            config,
            current: RwLock::new(Arc::new(CustomInForce::new(set))),
            specs: RwLock::new(Arc::new(specs)),
            version: AtomicU64::new(0),
            edits: Mutex::new(()),
        };
        if let Err(e) = metrics.reload() {
            log::error!("custom metrics: cannot read the API's definitions: {e}");
        }
        Ok(metrics)
    }

    /// The definitions in force, compiled and as the export's families: what the collector
    /// reads at each cluster's cycle.
    pub fn in_force(&self) -> Arc<CustomInForce> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The compiled definitions in force.
    pub fn set(&self) -> Arc<CustomSet> {
        Arc::clone(&self.in_force().set)
    }

    /// The names in force, for alert rules reading them.
    pub fn names(&self) -> CustomNames {
        CustomNames::of(self.in_force().set.specs())
    }

    /// The definitions in force as written, with where each comes from.
    pub fn specs(&self) -> Arc<Vec<(CustomMetricSpec, DefinitionSource)>> {
        Arc::clone(&self.specs.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// A number that changes with every change of the definitions.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Rebuilds the set from the stored definitions: all of them when they compile together
    /// (one compile), else leaving out (and logging) each one that does not compile with the
    /// config's and the ones before it.
    pub fn reload(&self) -> Result<(), rockscope_store::Error> {
        let _edit = self.edit_turn();
        let stored = self.store.custom_metric_specs()?;
        // The usual case, one compile: every stored definition builds with the others.
        if let Ok(set) = self.compile_with(&stored) {
            self.publish(set, &stored);
            return Ok(());
        }
        let mut kept: Vec<CustomMetricSpec> = Vec::new();
        for spec in stored {
            let mut trial = kept.clone();
            trial.push(spec.clone());
            match self.compile_with(&trial) {
                Ok(_) => kept.push(spec),
                Err(e) => log::error!("custom metrics: stored definition left out: {e}"),
            }
        }
        // A stored `ratio_of` may name a definition stored after it: compile the whole list
        // once more, and fall back to the config's alone if that still fails.
        match self.compile_with(&kept) {
            Ok(set) => self.publish(set, &kept),
            Err(e) => {
                log::error!("custom metrics: the API's definitions are left out: {e}");
                let set = self.compile_with(&[]).unwrap_or_default();
                self.publish(set, &[]);
            }
        }
        Ok(())
    }

    /// Validates and stores a new definition, then puts it in force.
    pub fn create(&self, spec: &CustomMetricSpec) -> Result<(), CustomEditError> {
        let _edit = self.edit_turn();
        self.refuse_read_only(&spec.name)?;
        let mut stored = self.stored_in_force();
        if stored.iter().any(|s| s.name == spec.name) {
            return Err(CustomEditError::Store(rockscope_store::Error::Conflict(
                format!("a custom metric named {:?} already exists", spec.name),
            )));
        }
        if self.config.len() + stored.len() >= MAX_CUSTOM_METRICS {
            return Err(CustomEditError::TooMany);
        }
        stored.push(spec.clone());
        let set = self.compile_with(&stored)?;
        self.store.insert_custom_metric(spec)?;
        self.publish(set, &stored);
        Ok(())
    }

    /// Validates and stores a new version of the definition `name` (same name), then puts it
    /// in force.
    pub fn replace(&self, name: &str, spec: &CustomMetricSpec) -> Result<(), CustomEditError> {
        let _edit = self.edit_turn();
        self.refuse_read_only(name)?;
        let mut stored = self.stored_in_force();
        let Some(slot) = stored.iter_mut().find(|s| s.name == name) else {
            return Err(CustomEditError::NotFound(name.to_owned()));
        };
        *slot = spec.clone();
        let set = self.compile_with(&stored)?;
        if !self.store.replace_custom_metric(name, spec)? {
            return Err(CustomEditError::NotFound(name.to_owned()));
        }
        self.publish(set, &stored);
        Ok(())
    }

    /// Deletes the stored definition `name` (its history stays until retention), unless
    /// another definition's `ratio_of` or what `used_by` reports (alert rules) reads it.
    pub fn delete(
        &self,
        name: &str,
        used_by: impl Fn(&str) -> Option<String>,
    ) -> Result<(), CustomEditError> {
        let _edit = self.edit_turn();
        self.refuse_read_only(name)?;
        let mut stored = self.stored_in_force();
        if !stored.iter().any(|s| s.name == name) {
            return Err(CustomEditError::NotFound(name.to_owned()));
        }
        let in_use = |by: String| CustomEditError::InUse {
            name: name.to_owned(),
            by,
        };
        let specs = self.specs();
        if let Some((other, _)) = specs
            .iter()
            .find(|(s, _)| s.ratio_of.as_deref() == Some(name))
        {
            return Err(in_use(format!("custom metric {:?} (ratio_of)", other.name)));
        }
        if let Some(by) = used_by(name) {
            return Err(in_use(by));
        }
        stored.retain(|s| s.name != name);
        let set = self.compile_with(&stored)?;
        if !self.store.delete_custom_metric(name)? {
            return Err(CustomEditError::NotFound(name.to_owned()));
        }
        self.publish(set, &stored);
        Ok(())
    }

    /// Where the definition `name` in force comes from.
    pub fn source(&self, name: &str) -> Option<DefinitionSource> {
        self.specs()
            .iter()
            .find(|(s, _)| s.name == name)
            .map(|(_, source)| *source)
    }

    fn stored_in_force(&self) -> Vec<CustomMetricSpec> {
        self.specs()
            .iter()
            .filter(|(_, source)| *source == DefinitionSource::Api)
            .map(|(s, _)| s.clone())
            .collect()
    }

    fn compile_with(&self, stored: &[CustomMetricSpec]) -> Result<CustomSet, CustomMetricError> {
        let all: Vec<CustomMetricSpec> = self.config.iter().chain(stored).cloned().collect();
        CustomSet::new(&all)
    }

    fn refuse_read_only(&self, name: &str) -> Result<(), CustomEditError> {
        if self.config.iter().any(|s| s.name == name) {
            return Err(CustomEditError::ReadOnly(name.to_owned()));
        }
        Ok(())
    }

    fn publish(&self, set: CustomSet, stored: &[CustomMetricSpec]) {
        let specs: Vec<(CustomMetricSpec, DefinitionSource)> = self
            .config
            .iter()
            .map(|s| (s.clone(), DefinitionSource::Config))
            .chain(stored.iter().map(|s| (s.clone(), DefinitionSource::Api)))
            .collect();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) =
            Arc::new(CustomInForce::new(set));
        *self.specs.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(specs);
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    fn edit_turn(&self) -> MutexGuard<'_, ()> {
        self.edits.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(name: &str) -> CustomMetricSpec {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "metric": "starrocks_be_process_mem_bytes",
            "node_types": ["be"],
            "aggregate": "sum",
        }))
        .unwrap()
    }

    #[test]
    fn edits_keep_the_list_whole_and_bounded() {
        let store = Store::open_temporary().unwrap();
        let config = vec![definition("from_config")];
        let metrics = CustomMetrics::load(store.clone(), config.clone()).unwrap();
        let version = metrics.version();
        metrics.create(&definition("a0")).unwrap();
        assert!(metrics.version() > version, "a change is visible to caches");
        assert!(matches!(
            metrics.create(&definition("from_config")),
            Err(CustomEditError::ReadOnly(_))
        ));
        let mut ratio = definition("share");
        ratio.ratio_of = Some("a0".to_owned());
        metrics.create(&ratio).unwrap();
        assert!(matches!(
            metrics.delete("a0", |_| None),
            Err(CustomEditError::InUse { .. })
        ));
        assert!(matches!(
            metrics.delete("share", |_| Some("alert rule \"R\"".to_owned())),
            Err(CustomEditError::InUse { .. })
        ));
        metrics.delete("share", |_| None).unwrap();
        // A replaced definition may divide by one stored after it: a reload keeps both.
        metrics.create(&definition("later")).unwrap();
        let mut earlier = definition("a0");
        earlier.ratio_of = Some("later".to_owned());
        metrics.replace("a0", &earlier).unwrap();
        let reloaded = CustomMetrics::load(store.clone(), config.clone()).unwrap();
        assert_eq!(
            reloaded.set().get("a0").and_then(|m| m.ratio_of.as_deref()),
            Some("later")
        );
        metrics.replace("a0", &definition("a0")).unwrap();
        metrics.delete("later", |_| None).unwrap();
        // Up to the bound, then refused; a restart reads the stored ones back.
        for i in 1..MAX_CUSTOM_METRICS - 1 {
            metrics.create(&definition(&format!("a{i}"))).unwrap();
        }
        assert_eq!(metrics.set().metrics().len(), MAX_CUSTOM_METRICS);
        assert!(matches!(
            metrics.create(&definition("one_more")),
            Err(CustomEditError::TooMany)
        ));
        let again = CustomMetrics::load(store, config).unwrap();
        assert_eq!(again.specs().len(), MAX_CUSTOM_METRICS);
        assert_eq!(again.source("a7"), Some(DefinitionSource::Api));
        assert_eq!(again.source("from_config"), Some(DefinitionSource::Config));
    }
}
