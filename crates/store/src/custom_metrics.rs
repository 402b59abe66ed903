//! The custom metric definitions added through the API (`custom_metrics`, the
//! [`CustomMetricSpec`] as JSON), like the user alert rules of [`crate::alerts`]. The config
//! file's definitions are not stored. Removing a definition keeps its values
//! ([`crate::custom`]) until retention.

use rockscope_model::CustomMetricSpec;

use crate::Store;
use crate::error::Result;
use crate::named_specs::NamedSpecs;

/// The definitions' table.
const CUSTOM_METRICS: NamedSpecs = NamedSpecs {
    table: "custom_metrics",
    what: "a custom metric",
};

impl Store {
    /// The custom metric definitions added through the API, in the order they were created.
    pub fn custom_metric_specs(&self) -> Result<Vec<CustomMetricSpec>> {
        CUSTOM_METRICS.all(self)
    }

    /// Stores a new definition; [`crate::Error::Conflict`] when one of that name is stored.
    /// (Validation, and against the config file's definitions, is the caller's.)
    pub fn insert_custom_metric(&self, spec: &CustomMetricSpec) -> Result<()> {
        CUSTOM_METRICS.insert(self, &spec.name, spec)
    }

    /// Replaces the definition `name` with `spec` (which may rename it); `false` when there is
    /// no such definition, [`crate::Error::Conflict`] when renaming onto another stored one. The
    /// values stored under the old name stay under it.
    pub fn replace_custom_metric(&self, name: &str, spec: &CustomMetricSpec) -> Result<bool> {
        CUSTOM_METRICS.replace(self, name, &spec.name, spec)
    }

    /// Deletes the definition `name`; `false` when there is no such definition. Its values
    /// stay until retention.
    pub fn delete_custom_metric(&self, name: &str) -> Result<bool> {
        CUSTOM_METRICS.delete(self, name)
    }
}
