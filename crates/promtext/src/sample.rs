//! One sample line, borrowed from the input, and the iterator over its labels.

use std::borrow::Cow;

use crate::MetricType;
use crate::lexer::{label_name_end, quoted_end, skip_blanks, unescape};

/// One sample: `name{labels} value [timestamp]`, borrowed from the parsed body.
///
/// Labels are kept as the validated text between the braces and decoded on demand by
/// [`Sample::labels`], so that yielding a sample allocates nothing; only a label value holding an
/// escape is decoded into an owned string.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The metric name as written (`x_sum` for the sum of summary `x`).
    pub name: &'a str,
    /// The family the sample belongs to: `x` for `x_sum`/`x_count` of a summary or histogram `x`
    /// and for `x_bucket` of a histogram `x`; otherwise the name itself.
    pub family: &'a str,
    /// The family's type at this point of the body ([`MetricType::Untyped`] without `# TYPE`).
    pub metric_type: MetricType,
    /// The value.
    pub value: f64,
    /// The optional timestamp, in milliseconds since the Unix epoch (may be negative).
    pub timestamp_ms: Option<i64>,
    /// The 1-based line number of the sample.
    pub line: usize,
    /// The validated text between `{` and `}` (empty without labels).
    pub(crate) labels_text: &'a str,
    /// Whether some label value holds a backslash escape.
    pub(crate) has_escapes: bool,
}

impl<'a> Sample<'a> {
    /// The labels in written order, as `(name, value)` with escapes decoded.
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            text: self.labels_text,
            pos: 0,
            has_escapes: self.has_escapes,
        }
    }

    /// The value of the label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<Cow<'a, str>> {
        self.labels().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether the sample has labels.
    pub fn has_labels(&self) -> bool {
        !self.labels_text.is_empty()
    }
}

/// An iterator over a sample's labels; see [`Sample::labels`].
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    text: &'a str,
    pos: usize,
    has_escapes: bool,
}

impl<'a> Iterator for Labels<'a> {
    type Item = (&'a str, Cow<'a, str>);

    fn next(&mut self) -> Option<Self::Item> {
        // The text was validated by the parser; this only walks it again.
        let bytes = self.text.as_bytes();
        let start = skip_blanks(bytes, self.pos);
        let name_end = label_name_end(bytes, start)?;
        let eq = skip_blanks(bytes, name_end);
        let open = skip_blanks(bytes, eq + 1);
        let (close, escaped) = quoted_end(bytes, open)?;
        let mut next = skip_blanks(bytes, close + 1);
        if bytes.get(next) == Some(&b',') {
            next += 1;
        }
        self.pos = next;
        let raw = self.text.get(open + 1..close)?;
        let value = if escaped && self.has_escapes {
            Cow::Owned(unescape(raw, true))
        } else {
            Cow::Borrowed(raw)
        };
        Some((self.text.get(start..name_end)?, value))
    }
}
