//! Prometheus label matchers (`{a="b", c!="d", e=~"re", f!~"re"}`) parsed once per definition,
//! with regexes compiled once and anchored at both ends as Prometheus anchors them.

use std::borrow::Cow;

use regex::Regex;
use thiserror::Error;

/// One `label op "value"` of a selector.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// The label name.
    pub label: String,
    /// The operator and its operand.
    pub op: MatchOp,
}

/// A matcher's operator with its compiled operand.
#[derive(Debug, Clone)]
pub enum MatchOp {
    /// `=`: the label's value equals the string.
    Equal(String),
    /// `!=`: the label's value differs from the string.
    NotEqual(String),
    /// `=~`: the whole value matches the regex (anchored as `^(?:re)$`).
    Regex(Regex),
    /// `!~`: the whole value does not match the regex.
    NotRegex(Regex),
}

impl Matcher {
    /// Whether a label value satisfies the matcher; an absent label is the empty string, as in
    /// Prometheus (`{a=""}` selects the series without `a`).
    pub fn matches(&self, value: Option<&str>) -> bool {
        let value = value.unwrap_or("");
        match &self.op {
            MatchOp::Equal(s) => value == s,
            MatchOp::NotEqual(s) => value != s,
            MatchOp::Regex(re) => re.is_match(value),
            MatchOp::NotRegex(re) => !re.is_match(value),
        }
    }
}

/// Whether a series with these labels satisfies every matcher.
pub fn matches_all<'a>(matchers: &[Matcher], label: impl Fn(&str) -> Option<Cow<'a, str>>) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(label(&m.label).as_deref()))
}

/// Why a `match` string was refused.
#[derive(Debug, Error)]
pub enum MatcherError {
    /// The text is not a selector; `at` is the byte offset where reading stopped.
    #[error("at byte {at}: {reason}")]
    Syntax {
        /// Byte offset into the `match` string.
        at: usize,
        /// What was expected or found.
        reason: &'static str,
    },
    /// A `=~` or `!~` operand is not a valid regex.
    #[error("the regex for label {label:?} does not compile: {source}")]
    Regex {
        /// The label the regex was for.
        label: String,
        /// The regex crate's explanation.
        source: Box<regex::Error>,
    },
}

/// Parses a selector: `{}` or `{label op "value", ...}` (a trailing comma is allowed; strings in
/// double or single quotes with Go escapes, or in backquotes raw, as PromQL reads them).
pub fn parse(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let mut cur = Cursor { text, pos: 0 };
    cur.skip_space();
    cur.expect(b'{', "expected '{'")?;
    let mut matchers = Vec::new();
    loop {
        cur.skip_space();
        if cur.eat(b'}') {
            break;
        }
        matchers.push(cur.matcher()?);
        cur.skip_space();
        if cur.eat(b'}') {
            break;
        }
        cur.expect(b',', "expected ',' or '}'")?;
    }
    cur.skip_space();
    if cur.pos != text.len() {
        return Err(cur.error("unexpected text after '}'"));
    }
    Ok(matchers)
}

/// Compiles a regex operand anchored at both ends. The pattern is first compiled alone so that
/// one which only parses once wrapped (`a)|(b`) is refused, not silently changed.
fn anchored(label: &str, pattern: &str) -> Result<Regex, MatcherError> {
    let err = |e| MatcherError::Regex {
        label: label.to_owned(),
        source: Box::new(e),
    };
    Regex::new(pattern).map_err(err)?;
    Regex::new(&format!("^(?:{pattern})$")).map_err(err)
}

struct Cursor<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Cursor<'t> {
    fn error(&self, reason: &'static str) -> MatcherError {
        MatcherError::Syntax {
            at: self.pos,
            reason,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let found = self.peek() == Some(b);
        if found {
            self.pos += 1;
        }
        found
    }

    fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), MatcherError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(reason))
        }
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn matcher(&mut self) -> Result<Matcher, MatcherError> {
        let label = self.label_name()?;
        self.skip_space();
        let op = if self.eat(b'=') {
            if self.eat(b'~') { "=~" } else { "=" }
        } else if self.eat(b'!') {
            if self.eat(b'=') {
                "!="
            } else if self.eat(b'~') {
                "!~"
            } else {
                return Err(self.error("expected '!=' or '!~'"));
            }
        } else {
            return Err(self.error("expected one of =, !=, =~, !~"));
        };
        self.skip_space();
        let value = self.string()?;
        let op = match op {
            "=" => MatchOp::Equal(value),
            "!=" => MatchOp::NotEqual(value),
            "=~" => MatchOp::Regex(anchored(label, &value)?),
            _ => MatchOp::NotRegex(anchored(label, &value)?),
        };
        Ok(Matcher {
            label: label.to_owned(),
            op,
        })
    }

    fn label_name(&mut self) -> Result<&'t str, MatcherError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let first = |b: u8| b.is_ascii_alphabetic() || b == b'_';
        if !self.peek().is_some_and(first) {
            return Err(self.error("expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)"));
        }
        while bytes
            .get(self.pos)
            .is_some_and(|&b| first(b) || b.is_ascii_digit())
        {
            self.pos += 1;
        }
        Ok(&self.text[start..self.pos])
    }

    fn string(&mut self) -> Result<String, MatcherError> {
        let quote = match self.peek() {
            Some(q @ (b'"' | b'\'' | b'`')) => q as char,
            _ => return Err(self.error("expected a quoted string")),
        };
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.text[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos += i + 1;
                return Ok(out);
            }
            if c == '\\' && quote != '`' {
                let at = self.pos + i;
                out.push(unescape(&mut chars, quote).ok_or(MatcherError::Syntax {
                    at,
                    reason: "invalid escape in string",
                })?);
            } else if c == '\n' && quote != '`' {
                self.pos += i;
                return Err(self.error("newline in quoted string"));
            } else {
                out.push(c);
            }
        }
        self.pos = self.text.len();
        Err(self.error("unterminated string"))
    }
}

/// One escape after a backslash, as Go's `strconv.Unquote` (PromQL's string rules) reads it.
fn unescape(chars: &mut std::str::CharIndices<'_>, quote: char) -> Option<char> {
    let (_, c) = chars.next()?;
    let mut hex = |n: usize| -> Option<char> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v * 16 + chars.next()?.1.to_digit(16)?;
        }
        char::from_u32(v)
    };
    Some(match c {
        'a' => '\u{7}',
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\u{b}',
        '\\' => '\\',
        'x' => hex(2)?,
        'u' => hex(4)?,
        'U' => hex(8)?,
        '0'..='7' => {
            let mut v = c.to_digit(8)?;
            for _ in 0..2 {
                v = v * 8 + chars.next()?.1.to_digit(8)?;
            }
            char::from_u32(v).filter(|_| v <= 0xff)?
        }
        c if c == quote => c,
        _ => return None,
    })
}
