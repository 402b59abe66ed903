//! A body's metric families for discovery: name, `# TYPE`, `# HELP` and the label names its
//! samples carry. The one implementation behind `GET /api/clusters/{id}/metric-families` (fed
//! from the engine's pass over one node of each type) and `rockscope parse-metrics --families`.

use std::collections::{BTreeSet, HashMap};

use rockscope_model::FamilyInfo;
use rockscope_promtext::{Parser, Sample};

/// Label names by family, gathered sample by sample.
#[derive(Debug, Default)]
pub struct FamilyCollector {
    label_names: HashMap<String, BTreeSet<String>>,
}

impl FamilyCollector {
    /// Notes the label names of one sample (a family without any has none: `finish` lists it
    /// from the parser's index with an empty list).
    pub fn observe(&mut self, sample: &Sample<'_>) {
        if !sample.has_labels() {
            return;
        }
        if !self.label_names.contains_key(sample.family) {
            self.label_names
                .insert(sample.family.to_owned(), BTreeSet::new());
        }
        if let Some(names) = self.label_names.get_mut(sample.family) {
            for (name, _) in sample.labels() {
                if !names.contains(name) {
                    names.insert(name.to_owned());
                }
            }
        }
    }

    /// Every family of the parse in order of first appearance (one with only `# TYPE` or
    /// `# HELP` lines included), with the label names seen.
    pub fn finish(mut self, parser: &Parser<'_>) -> Vec<FamilyInfo> {
        parser
            .families()
            .map(|family| FamilyInfo {
                name: family.name.to_owned(),
                metric_type: family.metric_type.map(|t| t.as_str().to_owned()),
                help: family.help.as_deref().map(str::to_owned),
                label_names: self
                    .label_names
                    .remove(family.name)
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
            })
            .collect()
    }
}
