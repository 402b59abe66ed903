//! One sample line, borrowed from the input, and the iterator over its labels.

use std::borrow::Cow;

use crate::MetricType;
use crate::lexer::{label_name_end, quoted_end, skip_blanks, unescape};

/// Labels whose positions a [`Sample`] carries; a sample with more is walked again on demand.
pub(crate) const INLINE_LABELS: usize = 6;

/// Where one label's name and value sit in a sample's label text (byte offsets into it).
///
/// Eight bytes, so that a [`Sample`] stays small to move: offsets are below [`MAX_INLINE_TEXT`]
/// and the top bit of the value's end says whether the value holds an escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct LabelSpan {
    pub(crate) name: (u16, u16),
    pub(crate) value: (u16, u16),
}

/// The longest label text whose positions fit a [`LabelSpan`]; longer ones are walked again.
pub(crate) const MAX_INLINE_TEXT: usize = (1 << 15) - 1;

const ESCAPED: u16 = 1 << 15;

impl LabelSpan {
    /// A span from offsets into the label text (each at most [`MAX_INLINE_TEXT`]; larger ones
    /// are truncated here and the spans discarded by the caller).
    pub(crate) fn new(name: (usize, usize), value: (usize, usize), escaped: bool) -> LabelSpan {
        let offset = |x: usize| (x & usize::from(!ESCAPED)) as u16;
        LabelSpan {
            name: (offset(name.0), offset(name.1)),
            value: (
                offset(value.0),
                offset(value.1) | if escaped { ESCAPED } else { 0 },
            ),
        }
    }

    fn value_end(&self) -> usize {
        usize::from(self.value.1 & !ESCAPED)
    }

    fn escaped(&self) -> bool {
        self.value.1 & ESCAPED != 0
    }
}

/// The label positions the parser found, when there were at most [`INLINE_LABELS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LabelSpans {
    pub(crate) spans: [LabelSpan; INLINE_LABELS],
    /// How many spans are valid, or `None` when the sample has more labels than fit.
    pub(crate) len: Option<u8>,
}

impl LabelSpans {
    pub(crate) const EMPTY: LabelSpans = LabelSpans {
        spans: [LabelSpan {
            name: (0, 0),
            value: (0, 0),
        }; INLINE_LABELS],
        len: Some(0),
    };
}

/// One sample: `name{labels} value [timestamp]`, borrowed from the parsed body.
///
/// Labels are the validated text between the braces plus the positions the parser found, so
/// that yielding a sample allocates nothing; only a label value holding an escape is decoded
/// into an owned string, and only when asked for.
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
    pub(crate) spans: LabelSpans,
}

impl<'a> Sample<'a> {
    /// The labels in written order, as `(name, value)` with escapes decoded.
    pub fn labels(&self) -> Labels<'_, 'a> {
        let inline = match self.spans.len {
            Some(len) => self.spans.spans.get(..usize::from(len)),
            None => None,
        };
        Labels {
            text: self.labels_text,
            inline: inline.map(<[LabelSpan]>::iter),
            pos: 0,
        }
    }

    /// The value of the label `name`, if the sample has it.
    pub fn label(&self, name: &str) -> Option<Cow<'a, str>> {
        self.labels().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether the sample has labels.
    pub fn has_labels(&self) -> bool {
        self.spans.len != Some(0)
    }
}

/// An iterator over a sample's labels; see [`Sample::labels`]. It borrows the sample (`'s`) and
/// yields text borrowed from the input (`'a`).
#[derive(Debug, Clone)]
pub struct Labels<'s, 'a> {
    text: &'a str,
    /// The positions the parser found, or `None` when the text must be walked again.
    inline: Option<std::slice::Iter<'s, LabelSpan>>,
    /// Where to go on walking the text (case of many labels).
    pos: usize,
}

impl<'a> Labels<'_, 'a> {
    #[inline]
    fn at(text: &'a str, span: &LabelSpan) -> Option<(&'a str, Cow<'a, str>)> {
        let name = text.get(span.name.0 as usize..span.name.1 as usize)?;
        let raw = text.get(span.value.0 as usize..span.value_end())?;
        Some((name, decode(raw, span.escaped())))
    }

    /// Walks the validated text again: only for samples with more than [`INLINE_LABELS`] labels.
    fn walk(&mut self) -> Option<(&'a str, Cow<'a, str>)> {
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
        Some((self.text.get(start..name_end)?, decode(raw, escaped)))
    }
}

fn decode(raw: &str, escaped: bool) -> Cow<'_, str> {
    if escaped {
        Cow::Owned(unescape(raw, true))
    } else {
        Cow::Borrowed(raw)
    }
}

impl<'a> Iterator for Labels<'_, 'a> {
    type Item = (&'a str, Cow<'a, str>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inline {
            Some(spans) => Self::at(self.text, spans.next()?),
            None => self.walk(),
        }
    }
}
