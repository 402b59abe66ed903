//! What one node's body gives the custom metrics, observed inside the engine's one pass over it
//! (`extract`): every finite sample goes past [`NodeTap::observe`], which compares the sample's
//! name with the previous one's and looks the set up only where the name changes (a family's
//! samples are contiguous in a StarRocks body), then applies the matching definitions'
//! matchers. A node's value of a definition is the sum of its matching series, as for the
//! built-in fields.

use rockscope_model::NodeKind;
use rockscope_promtext::{MetricType, Parser, Sample};

use super::CustomSet;
use super::families::FamilyCollector;
use crate::extract::add;

/// One node's observation of the custom metrics (and, for one node of each type per cycle, of
/// its families).
#[derive(Debug)]
pub(crate) struct NodeTap<'s> {
    set: &'s CustomSet,
    kind: NodeKind,
    /// The previous sample's name (empty before the first: no series name is empty) and the
    /// definitions reading it; the buffer is reused, not reallocated at each new name.
    last_name: String,
    hits: &'s [usize],
    /// Per definition, the sum of this node's matching series (`None`: none matched).
    values: Vec<Option<f64>>,
    /// Per definition, the `# TYPE` of the series it read.
    types: Vec<Option<MetricType>>,
    families: Option<FamilyCollector>,
}

/// What a tap kept once the body is read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct NodeCustom {
    /// Per definition (in the set's order), the node's raw value.
    pub values: Vec<Option<f64>>,
    /// Per definition, the series' type as the body declared it.
    pub types: Vec<Option<MetricType>>,
    /// The body's families, when they were asked for.
    pub families: Option<Vec<rockscope_model::FamilyInfo>>,
}

impl<'s> NodeTap<'s> {
    /// A tap for a node of `kind`; `families` also collects the body's family list.
    pub fn new(set: &'s CustomSet, kind: NodeKind, families: bool) -> NodeTap<'s> {
        NodeTap {
            set,
            kind,
            last_name: String::new(),
            hits: &[],
            values: vec![None; set.metrics.len()],
            types: vec![None; set.metrics.len()],
            families: families.then(FamilyCollector::default),
        }
    }

    /// Whether observing can be skipped altogether.
    fn idle(&self) -> bool {
        self.set.is_empty() && self.families.is_none()
    }

    /// One finite sample of the body.
    #[inline]
    pub fn observe(&mut self, sample: &Sample<'_>) {
        if self.idle() {
            return;
        }
        if let Some(families) = &mut self.families {
            families.observe(sample);
        }
        if self.last_name != sample.name {
            self.hits = self.set.reading(sample.name);
            self.last_name.clear();
            self.last_name.push_str(sample.name);
        }
        for &i in self.hits {
            let metric = &self.set.metrics[i];
            if !metric.node_types.has(self.kind) || !metric.selects(|l| sample.label(l)) {
                continue;
            }
            add(&mut self.values[i], sample.value);
            self.types[i].get_or_insert(sample.metric_type);
        }
    }

    /// What was kept, with the families' `# TYPE`/`# HELP` from the parser's index.
    pub fn finish(self, parser: &Parser<'_>) -> NodeCustom {
        NodeCustom {
            values: self.values,
            types: self.types,
            families: self.families.map(|f| f.finish(parser)),
        }
    }
}
