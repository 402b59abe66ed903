//! The error of one invalid line: where it is and what is wrong with it.

use std::fmt;

/// An invalid line: its 1-based line number, the 1-based byte column where the problem starts,
/// and what the problem is.
///
/// Displays as `line L, column C: reason`, the form `rockscope parse-metrics` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// 1-based line number.
    pub line: usize,
    /// 1-based byte offset within the line.
    pub column: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The body's last line has content but no line feed (the spec requires one).
    MissingFinalNewline,
    /// A metric name is missing or has a character outside `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidMetricName,
    /// A label name is missing or has a character outside `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName,
    /// `__name__` is reserved and cannot be a label.
    ReservedLabelName,
    /// The same label name appears twice in one sample.
    DuplicateLabelName(String),
    /// A label name is not followed by `=`.
    ExpectedEquals,
    /// A label value does not start with `"`.
    ExpectedQuote,
    /// A label value has no closing `"` on its line.
    UnterminatedLabelValue,
    /// After a label value comes neither `,` nor `}`.
    ExpectedCommaOrBrace,
    /// The line ends where the sample value should be.
    MissingValue,
    /// The value is not a Go `ParseFloat` number, `NaN` or `±Inf`.
    InvalidValue,
    /// The value is a well-formed number too large for an `f64`.
    ValueOutOfRange,
    /// The timestamp is not an integer.
    InvalidTimestamp,
    /// The timestamp does not fit an `i64` of milliseconds.
    TimestampOutOfRange,
    /// Something follows the timestamp.
    TrailingText,
    /// A label value or HELP text is not valid UTF-8.
    InvalidUtf8,
    /// `# TYPE name` names no type.
    MissingType,
    /// `# TYPE name` names a type this format does not have.
    UnknownType(String),
    /// A second `# HELP` for the same name.
    DuplicateHelp(String),
    /// A second `# TYPE` for the same name, or a `# TYPE` after samples of that family.
    DuplicateOrLateType(String),
    /// A `quantile` label of a summary or an `le` label of a histogram is not a float.
    InvalidQuantileOrLe(&'static str),
    /// A histogram bucket or count is negative.
    NegativeHistogramCount,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.kind
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::MissingFinalNewline => f.write_str("input does not end with a line feed"),
            ErrorKind::InvalidMetricName => f.write_str("invalid metric name"),
            ErrorKind::InvalidLabelName => f.write_str("invalid label name"),
            ErrorKind::ReservedLabelName => f.write_str("label name __name__ is reserved"),
            ErrorKind::DuplicateLabelName(n) => write!(f, "duplicate label name {n:?}"),
            ErrorKind::ExpectedEquals => f.write_str("expected '=' after label name"),
            ErrorKind::ExpectedQuote => f.write_str("expected '\"' at start of label value"),
            ErrorKind::UnterminatedLabelValue => f.write_str("label value has no closing '\"'"),
            ErrorKind::ExpectedCommaOrBrace => f.write_str("expected ',' or '}' after label value"),
            ErrorKind::MissingValue => f.write_str("missing sample value"),
            ErrorKind::InvalidValue => f.write_str("invalid sample value"),
            ErrorKind::ValueOutOfRange => f.write_str("sample value out of range"),
            ErrorKind::InvalidTimestamp => f.write_str("invalid timestamp"),
            ErrorKind::TimestampOutOfRange => f.write_str("timestamp out of range"),
            ErrorKind::TrailingText => f.write_str("unexpected text after timestamp"),
            ErrorKind::InvalidUtf8 => f.write_str("invalid UTF-8"),
            ErrorKind::MissingType => f.write_str("TYPE line names no type"),
            ErrorKind::UnknownType(t) => write!(f, "unknown metric type {t:?}"),
            ErrorKind::DuplicateHelp(n) => write!(f, "second HELP line for {n}"),
            ErrorKind::DuplicateOrLateType(n) => {
                write!(f, "second TYPE line or TYPE after samples for {n}")
            }
            ErrorKind::InvalidQuantileOrLe(l) => write!(f, "label {l} must be a float"),
            ErrorKind::NegativeHistogramCount => {
                f.write_str("negative bucket population or count in histogram")
            }
        }
    }
}

impl std::error::Error for Error {}
