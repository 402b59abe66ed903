//! The operator's custom metrics (issue 16) as families: `rockscope_custom_<name>{cluster}`, a
//! gauge of each cluster's value (`MetricsSnapshot.custom`), with the definition's description
//! as `# HELP`. Built by the collector from the definitions in force ([`CustomFamilies::new`])
//! and carried by every [`crate::ClusterExport`], so that `/metrics` and remote write name and
//! describe them the same way. Node values (`per_node` definitions) are not exported.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use rockscope_model::CustomMetricSpec;

use crate::names::{Family, MetricType, Source, Unit, custom_metric_name};

/// One custom metric's family.
pub struct CustomFamily {
    family: Family,
    /// The definition's unit as written (`ratio`, `bytes`, …), also at the end of the HELP.
    pub unit: Option<String>,
}

impl CustomFamily {
    /// The family of a definition: HELP is its description, else a sentence naming the
    /// StarRocks series and how the nodes combine; its unit, when it has one, ends the HELP.
    pub fn of(spec: &CustomMetricSpec) -> CustomFamily {
        let description = spec.description.as_deref().map(str::trim);
        let mut help = match description.filter(|d| !d.is_empty()) {
            Some(description) => description.to_owned(),
            None => generated_help(spec),
        };
        let unit = spec
            .unit
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        if let Some(unit) = unit {
            help.push_str(&format!(" (unit: {unit})"));
        }
        CustomFamily {
            family: family(&spec.name, help),
            unit: unit.map(str::to_owned),
        }
    }

    /// The family of a custom metric with a value but no definition at hand (a cycle stored
    /// before its definition was removed, replayed).
    pub fn undefined(name: &str) -> CustomFamily {
        let help = format!("Custom metric {name} (its definition is not in force)");
        CustomFamily {
            family: family(name, help),
            unit: None,
        }
    }

    /// The custom metric's name (`name` of the definition).
    pub fn name(&self) -> &str {
        self.family.field.as_deref().unwrap_or_default()
    }

    /// The family: `rockscope_custom_<name>`, a gauge.
    pub fn family(&self) -> &Family {
        &self.family
    }
}

impl fmt::Debug for CustomFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomFamily")
            .field("name", &self.family.name)
            .field("help", &self.family.help)
            .field("unit", &self.unit)
            .finish()
    }
}

fn family(name: &str, help: String) -> Family {
    Family {
        name: custom_metric_name(name),
        metric_type: MetricType::Gauge,
        unit: Unit::None,
        help: Cow::Owned(help),
        field: Some(name.to_owned()),
        scale: 1.0,
        source: Source::Custom,
    }
}

/// E.g. `Custom metric: starrocks_be_storage_page_cache_hit_count{}, per-second rate, sum over
/// be, cn, divided by page_cache_lookups`.
fn generated_help(spec: &CustomMetricSpec) -> String {
    let mut help = format!("Custom metric: {}", spec.metric);
    let matchers = spec.matchers.trim();
    if matchers != "{}" {
        help.push_str(matchers);
    }
    if spec.rate {
        help.push_str(", per-second rate");
    }
    let aggregate = match spec.aggregate.as_str() {
        "leader" => "the leader FE's value".to_owned(),
        aggregate => format!("{aggregate} over {}", spec.node_types.join(", ")),
    };
    help.push_str(&format!(", {aggregate}"));
    if let Some(denominator) = &spec.ratio_of {
        help.push_str(&format!(", divided by {denominator}"));
    }
    help
}

/// The families of the custom metrics in force, sorted by name; cheap to clone (one per
/// cluster cycle).
#[derive(Debug, Clone, Default)]
pub struct CustomFamilies(Arc<[CustomFamily]>);

impl CustomFamilies {
    /// The families of `specs` (the validated definitions in force).
    pub fn new(specs: &[CustomMetricSpec]) -> CustomFamilies {
        let mut families: Vec<CustomFamily> = specs.iter().map(CustomFamily::of).collect();
        families.sort_by(|a, b| a.name().cmp(b.name()));
        families.dedup_by(|a, b| a.name() == b.name());
        CustomFamilies(families.into())
    }

    /// The family of the custom metric `name`.
    pub fn get(&self, name: &str) -> Option<&Family> {
        let index = self.0.binary_search_by(|f| f.name().cmp(name)).ok()?;
        Some(self.0[index].family())
    }

    /// Every family, by name.
    pub fn iter(&self) -> impl Iterator<Item = &CustomFamily> {
        self.0.iter()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A definition of `name` summing `metric` over BEs, with `description` and `unit`.
    pub(crate) fn spec(
        name: &str,
        description: Option<&str>,
        unit: Option<&str>,
    ) -> CustomMetricSpec {
        CustomMetricSpec {
            name: name.to_owned(),
            metric: "starrocks_be_storage_page_cache_hit_count".to_owned(),
            matchers: "{}".to_owned(),
            node_types: vec!["be".to_owned(), "cn".to_owned()],
            aggregate: "sum".to_owned(),
            rate: true,
            ratio_of: None,
            unit: unit.map(str::to_owned),
            description: description.map(str::to_owned),
            per_node: false,
        }
    }

    #[test]
    fn help_is_the_description_else_names_the_series_and_the_aggregate() {
        let described = CustomFamily::of(&spec("hits", Some(" Page cache hits "), Some("1/s")));
        assert_eq!(described.family().name, "rockscope_custom_hits");
        assert_eq!(described.family().help, "Page cache hits (unit: 1/s)");
        assert_eq!(described.family().metric_type, MetricType::Gauge);
        assert_eq!(described.unit.as_deref(), Some("1/s"));

        let mut ratio = spec("hit_ratio", Some("  "), None);
        ratio.matchers = r#"{path=~"/data[0-9]+"}"#.to_owned();
        ratio.ratio_of = Some("lookups".to_owned());
        assert_eq!(
            CustomFamily::of(&ratio).family().help,
            "Custom metric: starrocks_be_storage_page_cache_hit_count{path=~\"/data[0-9]+\"}, \
             per-second rate, sum over be, cn, divided by lookups"
        );
        let mut leader = spec("journal", None, None);
        leader.aggregate = "leader".to_owned();
        leader.rate = false;
        assert_eq!(
            CustomFamily::of(&leader).family().help,
            "Custom metric: starrocks_be_storage_page_cache_hit_count, the leader FE's value"
        );
    }

    #[test]
    fn families_are_found_by_name() {
        let families = CustomFamilies::new(&[spec("zeta", None, None), spec("alpha", None, None)]);
        let names: Vec<&str> = families.iter().map(CustomFamily::name).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        assert_eq!(
            families.get("zeta").map(|f| f.name.as_str()),
            Some("rockscope_custom_zeta")
        );
        assert!(families.get("beta").is_none());
        assert!(CustomFamilies::default().get("alpha").is_none());
    }
}
