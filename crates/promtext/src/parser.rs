//! The line parser: one pass over the body, one line at a time, no backtracking.
//!
//! Every step is linear in the line's length (the one exception, the duplicate-label check,
//! switches from a scan to a hash set past a handful of labels), so no input is quadratic.

use std::borrow::Cow;
use std::collections::HashSet;

use foldhash::HashMap;

use crate::family::{Family, MetricType};
use crate::float::{parse_timestamp, parse_value};
use crate::lexer::{
    at_line_end, is_blank, is_name_char, label_name_end, metric_name_end, quoted_end, skip_blanks,
    starts_with, token_end, unescape,
};
use crate::sample::{INLINE_LABELS, LabelSpan, LabelSpans, MAX_INLINE_TEXT, Sample};
use crate::{Error, ErrorKind};

/// How the parser treats an invalid line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The first invalid line is an error that ends the iteration.
    Strict,
    /// Each invalid line is yielded as an error, counted, and skipped; parsing goes on.
    /// An unterminated last line is also skipped, since it may be the cut end of a
    /// truncated body.
    Lenient,
}

/// What a lenient parse skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// How many lines were skipped as invalid.
    pub skipped_lines: usize,
    /// The first [`Diagnostics::KEPT_ERRORS`] errors, in input order.
    pub first_errors: Vec<Error>,
}

impl Diagnostics {
    /// How many errors are kept in [`Diagnostics::first_errors`].
    pub const KEPT_ERRORS: usize = 10;
}

/// Labels per sample up to which duplicates are found by scanning rather than hashing.
const LINEAR_LABEL_CHECK: usize = 16;

/// An iterator over the samples of one body; see the [crate docs](crate).
#[derive(Debug)]
pub struct Parser<'a> {
    input: &'a [u8],
    /// The whole input, when it is valid UTF-8 (checked once, so lines need no check of their own).
    text: Option<&'a str>,
    mode: Mode,
    pos: usize,
    line_no: usize,
    finished: bool,
    families: Vec<Family<'a>>,
    index: HashMap<&'a str, usize>,
    /// The last sample name and its family: consecutive samples of one name skip the lookup.
    last_family: Option<(&'a str, usize)>,
    /// The label names of the current line (reused, so no allocation per line).
    label_names: Vec<LabelHead<'a>>,
    /// The label names of the last line with valid labels.
    previous_label_names: Vec<LabelHead<'a>>,
    /// The metric name of the last sample.
    previous_name: &'a str,
    diagnostics: Diagnostics,
}

/// A label as written up to its value: the name, any blanks, `=`, any blanks and the opening
/// quote. A later line that starts a label with the same bytes has the same, valid name.
#[derive(Debug, Clone, Copy)]
struct LabelHead<'a> {
    head: &'a [u8],
    name_len: usize,
}

impl<'a> LabelHead<'a> {
    fn name(&self) -> &'a [u8] {
        &self.head[..self.name_len]
    }
}

/// What parsing one line found, before line and column are known.
type LineResult<'a> = Result<Option<Sample<'a>>, LineError>;

/// A problem found on a line: what, and at which 0-based index of the parsed text.
type LineError = (ErrorKind, usize);

impl<'a> Parser<'a> {
    /// A parser over `input` in the given mode.
    pub fn new(input: &'a [u8], mode: Mode) -> Parser<'a> {
        Parser {
            input,
            text: std::str::from_utf8(input).ok(),
            mode,
            pos: 0,
            line_no: 0,
            finished: false,
            families: Vec::new(),
            // A StarRocks BE declares some hundreds of families: start at that size rather than
            // rehash on the way up (a fixed size, so allocations never depend on the input).
            index: HashMap::with_capacity_and_hasher(256, Default::default()),
            last_family: None,
            label_names: Vec::new(),
            previous_label_names: Vec::new(),
            previous_name: "",
            diagnostics: Diagnostics::default(),
        }
    }

    /// What the parse skipped so far (always empty in strict mode).
    pub fn diagnostics(&self) -> &Diagnostics {
        &self.diagnostics
    }

    /// The family `name` as declared so far by `# HELP`/`# TYPE` lines and samples.
    pub fn family(&self, name: &str) -> Option<&Family<'a>> {
        self.index.get(name).map(|&i| &self.families[i])
    }

    /// Every family seen so far, in order of first appearance.
    pub fn families(&self) -> impl Iterator<Item = &Family<'a>> {
        self.families.iter()
    }

    /// Parses the line starting at `start` when the input is not all UTF-8: the line alone is
    /// checked, so that one bad byte costs one line. Returns what it found and the line's end.
    #[cold]
    fn parse_line_checked(&mut self, start: usize) -> (LineResult<'a>, usize) {
        let end =
            memchr::memchr(b'\n', &self.input[start..]).map_or(self.input.len(), |i| start + i);
        let bytes = &self.input[start..end];
        match std::str::from_utf8(bytes) {
            Ok(line) => {
                let (result, line_end) = self.parse_line(line, 0);
                (
                    result.map_err(|(kind, at)| (kind, start + at)),
                    start + line_end,
                )
            }
            Err(_) if is_plain_comment(bytes) => (Ok(None), end),
            Err(e) => (Err((ErrorKind::InvalidUtf8, start + e.valid_up_to())), end),
        }
    }

    /// Counts and keeps a lenient error, or ends a strict parse; hands the error out.
    #[cold]
    fn fail(&mut self, error: Error) -> Option<Result<Sample<'a>, Error>> {
        match self.mode {
            Mode::Strict => self.finished = true,
            Mode::Lenient => {
                self.diagnostics.skipped_lines += 1;
                if self.diagnostics.first_errors.len() < Diagnostics::KEPT_ERRORS {
                    self.diagnostics.first_errors.push(error.clone());
                }
            }
        }
        Some(Err(error))
    }

    fn error(&self, line_start: usize, (kind, at): LineError) -> Error {
        Error {
            line: self.line_no,
            column: at - line_start + 1,
            kind,
        }
    }

    /// Parses the line starting at `start` of `text`; returns what it found and the index of its
    /// end (its line feed, or the end of `text`). Error positions are indexes into `text`.
    fn parse_line(&mut self, text: &'a str, start: usize) -> (LineResult<'a>, usize) {
        match self.parse_sample(text, start) {
            Ok((sample, end)) => (Ok(sample), end),
            Err(e) => {
                let from = e.1.min(text.len());
                let end = memchr::memchr(b'\n', &text.as_bytes()[from..])
                    .map_or(text.len(), |i| from + i);
                (Err(e), end)
            }
        }
    }

    fn parse_sample(
        &mut self,
        text: &'a str,
        line_start: usize,
    ) -> Result<(Option<Sample<'a>>, usize), LineError> {
        let b = text.as_bytes();
        let start = skip_blanks(b, line_start);
        if at_line_end(b, start) {
            return Ok((None, start));
        }
        if b[start] == b'#' {
            let end = memchr::memchr(b'\n', &b[start..]).map_or(b.len(), |i| start + i);
            self.parse_comment(&text[line_start..end], start - line_start + 1)
                .map_err(|(kind, at)| (kind, line_start + at))?;
            return Ok((None, end));
        }

        // Consecutive samples mostly share a name: a match with the last one needs no class scan.
        let previous = self.previous_name.as_bytes();
        let same_name = !previous.is_empty()
            && starts_with(&b[start..], previous)
            && b.get(start + previous.len())
                .is_none_or(|&c| !is_name_char(c));
        let name_end = if same_name {
            start + previous.len()
        } else {
            metric_name_end(b, start).ok_or((ErrorKind::InvalidMetricName, start))?
        };
        let name = &text[start..name_end];
        self.previous_name = name;
        let mut i = skip_blanks(b, name_end);
        let (labels_text, spans) = if b.get(i) == Some(&b'{') {
            let (close, spans) = self.parse_labels(b, i + 1)?;
            let labels_text = &text[i + 1..close];
            i = skip_blanks(b, close + 1);
            (labels_text, spans)
        } else if i == name_end && !at_line_end(b, i) {
            // A name must be followed by a blank, '{' or the value's blank.
            return Err((ErrorKind::InvalidMetricName, i));
        } else {
            ("", LabelSpans::EMPTY)
        };

        if at_line_end(b, i) {
            return Err((ErrorKind::MissingValue, i));
        }
        let (value, value_end) = match parse_plain_integer(b, i) {
            Some(found) => found,
            None => {
                let value_end = token_end(b, i);
                (
                    parse_value(&b[i..value_end]).map_err(|k| (k, i))?,
                    value_end,
                )
            }
        };
        i = skip_blanks(b, value_end);
        let mut timestamp_ms = None;
        if !at_line_end(b, i) {
            let ts_end = token_end(b, i);
            timestamp_ms = Some(parse_timestamp(&b[i..ts_end]).map_err(|k| (k, i))?);
            i = skip_blanks(b, ts_end);
            if !at_line_end(b, i) {
                return Err((ErrorKind::TrailingText, i));
            }
        }

        let family_index = self.family_index(name);
        let family = &mut self.families[family_index];
        family.has_samples = true;
        let sample = Sample {
            name,
            family: family.name,
            metric_type: family.metric_type.unwrap_or(MetricType::Untyped),
            value,
            timestamp_ms,
            line: self.line_no,
            labels_text,
            spans,
        };
        if matches!(
            sample.metric_type,
            MetricType::Summary | MetricType::Histogram | MetricType::GaugeHistogram
        ) {
            check_family_semantics(&sample).map_err(|k| (k, start))?;
        }
        Ok((Some(sample), i))
    }

    /// Validates the label set starting after `{` (index `open`); returns the index of `}` and
    /// where each label sits, relative to `open`.
    fn parse_labels(&mut self, b: &'a [u8], open: usize) -> Result<(usize, LabelSpans), LineError> {
        let mut names = std::mem::take(&mut self.label_names);
        names.clear();
        let result = self.parse_labels_into(b, open, &mut names);
        if let Ok((_, _, repeated)) = &result {
            // This line's names become the ones the next line is compared with. When they were
            // the previous line's (or a prefix of them), only the count can have changed.
            match repeated {
                Some(count) => self.previous_label_names.truncate(*count),
                None => std::mem::swap(&mut names, &mut self.previous_label_names),
            }
        }
        self.label_names = names;
        result.map(|(close, spans, _)| (close, spans))
    }

    fn parse_labels_into(
        &self,
        b: &'a [u8],
        open: usize,
        names: &mut Vec<LabelHead<'a>>,
    ) -> Result<(usize, LabelSpans, Option<usize>), LineError> {
        let mut many: Option<HashSet<&[u8]>> = None;
        let mut spans = LabelSpans::EMPTY;
        // Samples of one family usually repeat the previous line's label names in the same order.
        // While they do, the names are known valid and distinct: no class scan, no duplicate check.
        let mut same_as_previous = true;
        let mut i = open;
        // Labels so far; while they repeat the previous line's, `names` stays empty.
        let mut k = 0;
        loop {
            i = skip_blanks(b, i);
            if b.get(i) == Some(&b'}') {
                let repeated = same_as_previous.then_some(k);
                return Ok((i, finish_spans(spans, k, i - open), repeated));
            }
            // The previous line's name is compared together with its `="`, which proves in one
            // step that the name ends there and that the value opens.
            let (name_end, j) = match self.previous_label_names.get(k) {
                Some(prev) if same_as_previous && starts_with(&b[i..], prev.head) => {
                    (i + prev.name_len, i + prev.head.len() - 1)
                }
                _ => {
                    if same_as_previous {
                        same_as_previous = false;
                        names.extend_from_slice(&self.previous_label_names[..k]);
                    }
                    let name_end = label_name_end(b, i).ok_or((ErrorKind::InvalidLabelName, i))?;
                    // Blanks around '=' are legal but rare: test for the byte first.
                    let mut j = name_end;
                    if b.get(j) != Some(&b'=') {
                        j = skip_blanks(b, j);
                        if b.get(j) != Some(&b'=') {
                            return Err((ErrorKind::ExpectedEquals, j));
                        }
                    }
                    j += 1;
                    if b.get(j) != Some(&b'"') {
                        j = skip_blanks(b, j);
                        if b.get(j) != Some(&b'"') {
                            return Err((ErrorKind::ExpectedQuote, j));
                        }
                    }
                    (name_end, j)
                }
            };
            let (close, escaped) =
                quoted_end(b, j).ok_or((ErrorKind::UnterminatedLabelValue, j))?;
            let name = &b[i..name_end];
            if !same_as_previous {
                if name == b"__name__" {
                    return Err((ErrorKind::ReservedLabelName, i));
                }
                let duplicate = if k < LINEAR_LABEL_CHECK {
                    names.iter().any(|n| n.name() == name)
                } else {
                    let set =
                        many.get_or_insert_with(|| names.iter().map(LabelHead::name).collect());
                    !set.insert(name)
                };
                if duplicate {
                    let name = String::from_utf8_lossy(name).into_owned();
                    return Err((ErrorKind::DuplicateLabelName(name), i));
                }
            }
            if !same_as_previous {
                names.push(LabelHead {
                    head: &b[i..=j],
                    name_len: name_end - i,
                });
            }
            if k < INLINE_LABELS {
                spans.spans[k] = LabelSpan::new(
                    (i - open, name_end - open),
                    (j + 1 - open, close - open),
                    escaped,
                );
            }
            k += 1;
            i = close + 1;
            if b.get(i).is_some_and(|&c| is_blank(c)) {
                i = skip_blanks(b, i);
            }
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {
                    let repeated = same_as_previous.then_some(k);
                    return Ok((i, finish_spans(spans, k, i - open), repeated));
                }
                _ => return Err((ErrorKind::ExpectedCommaOrBrace, i)),
            }
        }
    }

    /// Handles a line starting with `#` (`i` is just past it): HELP and TYPE update the family,
    /// anything else is a comment.
    fn parse_comment(&mut self, line: &'a str, i: usize) -> Result<(), LineError> {
        let b = line.as_bytes();
        let keyword_start = skip_blanks(b, i);
        let keyword_end = token_end(b, keyword_start);
        let is_help = match &b[keyword_start..keyword_end] {
            b"HELP" => true,
            b"TYPE" => false,
            _ => return Ok(()),
        };
        let name_start = skip_blanks(b, keyword_end);
        if name_start == b.len() {
            return Ok(()); // "# HELP" alone is a plain comment
        }
        let name_end = metric_name_end(b, name_start)
            .filter(|&e| e == b.len() || is_blank(b[e]))
            .ok_or((ErrorKind::InvalidMetricName, name_start))?;
        let name = &line[name_start..name_end];
        let rest_start = skip_blanks(b, name_end);
        let rest = &line[rest_start..];
        if is_help {
            if rest.is_empty() {
                return Ok(()); // an empty docstring is ignored, as prometheus/common does
            }
            let index = self.family_entry(name);
            let family = &mut self.families[index];
            if family.help.is_some() {
                return Err((ErrorKind::DuplicateHelp(name.to_owned()), name_start));
            }
            family.help = Some(if rest.contains('\\') {
                Cow::Owned(unescape(rest, false))
            } else {
                Cow::Borrowed(rest)
            });
            return Ok(());
        }
        if rest.is_empty() {
            return Err((ErrorKind::MissingType, rest_start));
        }
        let metric_type = MetricType::parse(rest)
            .ok_or_else(|| (ErrorKind::UnknownType(rest.to_owned()), rest_start))?;
        let index = self.family_entry(name);
        let family = &mut self.families[index];
        if family.metric_type.is_some() || family.has_samples {
            return Err((ErrorKind::DuplicateOrLateType(name.to_owned()), name_start));
        }
        family.metric_type = Some(metric_type);
        // A new type can move samples of `name_sum` etc. into this family, so the shortcut is
        // reset; StarRocks follows most `# TYPE` lines by samples of that very name, which now
        // resolve to this family without a lookup.
        self.last_family = Some((name, index));
        Ok(())
    }

    fn family_entry(&mut self, name: &'a str) -> usize {
        let next = self.families.len();
        let i = *self.index.entry(name).or_insert(next);
        if i == next {
            self.families.push(Family::new(name));
        }
        i
    }

    /// The family of the sample name `name`.
    fn family_index(&mut self, name: &'a str) -> usize {
        // Not the line's `same_name` shortcut: that compares with the previous *line's* name,
        // which may belong to a rejected line whose family was never looked up.
        if let Some((last, i)) = self.last_family
            && last == name
        {
            return i;
        }
        let i = self.resolve_family(name);
        self.last_family = Some((name, i));
        i
    }

    /// The family of a sample name: the name itself when it has a TYPE, else the summary or
    /// histogram it is the `_sum`, `_count` or `_bucket` of, else the name itself.
    fn resolve_family(&mut self, name: &'a str) -> usize {
        let own = self.index.get(name).copied();
        if let Some(i) = own
            && self.families[i].metric_type.is_some()
        {
            return i;
        }
        for (suffix, buckets) in [("_count", false), ("_sum", false), ("_bucket", true)] {
            let Some(base) = name.strip_suffix(suffix).filter(|b| !b.is_empty()) else {
                continue;
            };
            if let Some(&i) = self.index.get(base)
                && let Some(t) = self.families[i].metric_type
                && (if buckets {
                    t.has_buckets()
                } else {
                    t.has_sum_and_count()
                })
            {
                return i;
            }
        }
        own.unwrap_or_else(|| self.family_entry(name))
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Sample<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.finished {
            let start = self.pos;
            if start >= self.input.len() {
                self.finished = true;
                return None;
            }
            self.line_no += 1;
            let (result, end) = match self.text {
                // The whole input is UTF-8: parse in place, the line's end is found on the way.
                Some(text) => self.parse_line(text, start),
                None => self.parse_line_checked(start),
            };
            self.pos = end + 1;
            if end >= self.input.len() && !self.input[start..].iter().all(|&b| is_blank(b)) {
                // The spec wants every line, the last included, ended by a line feed.
                let error = self.error(start, (ErrorKind::MissingFinalNewline, end));
                self.finished = true;
                return self.fail(error);
            }
            match result {
                Ok(Some(sample)) => return Some(Ok(sample)),
                Ok(None) => {}
                Err(e) => {
                    let error = self.error(start, e);
                    return self.fail(error);
                }
            }
        }
        None
    }
}

/// The value at `i` when it is a plain counter: up to 15 digits (exact in an `f64`) ending the
/// token. Most StarRocks values are, and this reads them in the same pass that finds their end.
#[inline(always)]
fn parse_plain_integer(b: &[u8], i: usize) -> Option<(f64, usize)> {
    let digits = b.get(i..)?;
    let mut value: u64 = 0;
    let mut len = 0;
    for &c in digits.iter().take(16) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        value = value * 10 + u64::from(d);
        len += 1;
    }
    let end = i + len;
    let ends_token = b.get(end).is_none_or(|&c| is_blank(c) || c == b'\n');
    (len > 0 && len <= 15 && ends_token).then_some((value as f64, end))
}

/// The label positions to hand out, unless there are too many labels or the text is too long.
fn finish_spans(mut spans: LabelSpans, count: usize, text_len: usize) -> LabelSpans {
    let fits = text_len <= MAX_INLINE_TEXT;
    spans.len = (fits && count <= INLINE_LABELS).then_some(count as u8);
    spans
}

/// The checks prometheus/common makes on summaries and histograms: `quantile` and `le` are floats,
/// bucket populations and counts are not negative.
fn check_family_semantics(sample: &Sample<'_>) -> Result<(), ErrorKind> {
    let is_float = |v: &str| {
        matches!(
            parse_value(v.as_bytes()),
            Ok(_) | Err(ErrorKind::ValueOutOfRange)
        )
    };
    match sample.metric_type {
        MetricType::Summary if sample.name == sample.family => {
            if let Some(q) = sample.label("quantile")
                && !is_float(&q)
            {
                return Err(ErrorKind::InvalidQuantileOrLe("quantile"));
            }
        }
        MetricType::Histogram | MetricType::GaugeHistogram => {
            let suffix = &sample.name[sample.family.len()..];
            if suffix == "_bucket"
                && let Some(le) = sample.label("le")
                && !is_float(&le)
            {
                return Err(ErrorKind::InvalidQuantileOrLe("le"));
            }
            if (suffix == "_bucket" || suffix == "_count") && sample.value < 0.0 {
                return Err(ErrorKind::NegativeHistogramCount);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether a line (possibly not UTF-8) is a comment other than HELP or TYPE.
fn is_plain_comment(b: &[u8]) -> bool {
    let start = skip_blanks(b, 0);
    if b.get(start) != Some(&b'#') {
        return false;
    }
    let keyword_start = skip_blanks(b, start + 1);
    let keyword = &b[keyword_start..token_end(b, keyword_start)];
    keyword != b"HELP" && keyword != b"TYPE"
}
