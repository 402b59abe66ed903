//! Byte classes and the small scanning steps the line parser is built from.

const NAME_START: u8 = 1; // [a-zA-Z_:]
const NAME_CONT: u8 = 2; // [a-zA-Z0-9_:]
const LABEL_START: u8 = 4; // [a-zA-Z_]
const LABEL_CONT: u8 = 8; // [a-zA-Z0-9_]

/// One table lookup per byte tells which name grammars the byte may appear in.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let alpha = c.is_ascii_alphabetic() || c == b'_';
        let digit = c.is_ascii_digit();
        if alpha || c == b':' {
            t[b] |= NAME_START | NAME_CONT;
        }
        if digit {
            t[b] |= NAME_CONT | LABEL_CONT;
        }
        if alpha {
            t[b] |= LABEL_START | LABEL_CONT;
        }
        b += 1;
    }
    t
};

/// Whether `b` separates tokens (the spec allows blanks and tabs).
#[inline(always)]
pub(crate) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The first index at or after `i` that is not a blank.
#[inline(always)]
pub(crate) fn skip_blanks(line: &[u8], i: usize) -> usize {
    // Most tokens are not preceded by blanks at all: answer that case first.
    match line.get(i) {
        Some(&b) if is_blank(b) => {}
        _ => return i,
    }
    line[i..]
        .iter()
        .position(|&b| !is_blank(b))
        .map_or(line.len(), |p| i + p)
}

/// The first index at or after `i` that is a blank or the end of the line.
#[inline(always)]
pub(crate) fn token_end(line: &[u8], i: usize) -> usize {
    line.get(i..).map_or(line.len(), |rest| {
        rest.iter()
            .position(|&b| is_blank(b) || b == b'\n')
            .map_or(line.len(), |p| i + p)
    })
}

/// Whether `i` is at the end of a line: its line feed, or the end of the text.
#[inline(always)]
pub(crate) fn at_line_end(text: &[u8], i: usize) -> bool {
    text.get(i).is_none_or(|&b| b == b'\n')
}

/// Whether `hay` starts with `needle`. Names are short, and for them a few overlapping word
/// compares inline beat a call into `memcmp`.
#[inline(always)]
pub(crate) fn starts_with(hay: &[u8], needle: &[u8]) -> bool {
    let n = needle.len();
    let Some(hay) = hay.get(..n) else {
        return false;
    };
    if n >= 8 {
        let word = |s: &[u8], at: usize| {
            s.get(at..at + 8)
                .and_then(|w| <[u8; 8]>::try_from(w).ok())
                .map(u64::from_le_bytes)
        };
        let mut at = 0;
        while at + 8 < n {
            if word(hay, at) != word(needle, at) {
                return false;
            }
            at += 8;
        }
        word(hay, n - 8) == word(needle, n - 8)
    } else if n >= 4 {
        let word = |s: &[u8], at: usize| {
            s.get(at..at + 4)
                .and_then(|w| <[u8; 4]>::try_from(w).ok())
                .map(u32::from_le_bytes)
        };
        word(hay, 0) == word(needle, 0) && word(hay, n - 4) == word(needle, n - 4)
    } else {
        hay.iter().zip(needle).all(|(a, b)| a == b)
    }
}

/// Whether `b` may continue a metric name.
#[inline(always)]
pub(crate) fn is_name_char(b: u8) -> bool {
    CLASS[b as usize] & NAME_CONT != 0
}

/// The end of the metric name starting at `i`, or `None` when no valid name starts there.
#[inline(always)]
pub(crate) fn metric_name_end(line: &[u8], i: usize) -> Option<usize> {
    scan_name(line, i, NAME_START, NAME_CONT)
}

/// The end of the label name starting at `i`, or `None` when no valid name starts there.
#[inline(always)]
pub(crate) fn label_name_end(line: &[u8], i: usize) -> Option<usize> {
    scan_name(line, i, LABEL_START, LABEL_CONT)
}

#[inline(always)]
fn scan_name(line: &[u8], i: usize, start: u8, cont: u8) -> Option<usize> {
    let rest = line.get(i..)?;
    match rest.first() {
        Some(&b) if CLASS[b as usize] & start != 0 => {}
        _ => return None,
    }
    // `position` over a slice keeps one induction variable: the tightest loop for short names.
    let len = rest[1..]
        .iter()
        .position(|&b| CLASS[b as usize] & cont == 0)
        .map_or(rest.len(), |p| p + 1);
    Some(i + len)
}

/// Scans a quoted label value whose opening quote is at `open`. Returns the index of the closing
/// quote and whether the value holds a backslash escape.
///
/// Looks at eight bytes per step (SWAR) rather than calling `memchr2`: label values are mostly a
/// few bytes long, where the set-up of a vectorised search costs more than it saves.
#[inline(always)]
pub(crate) fn quoted_end(line: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut i = open + 1;
    let mut escaped = false;
    loop {
        let at = i + find_quote_or_backslash(line.get(i..)?)?;
        match line[at] {
            b'"' => return Some((at, escaped)),
            b'\n' => return None, // a label value ends on its own line
            _ => {}
        }
        if line.get(at + 1) == Some(&b'\n') {
            return None;
        }
        escaped = true;
        i = at + 2; // a backslash always takes the next byte with it
    }
}

/// The index of the first `"`, `\\` or line feed in `bytes`.
#[inline(always)]
fn find_quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Marks the bytes of `word` equal to `byte`; the lowest mark is exact (borrows only run up).
    let marks = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let found = marks(word, b'"') | marks(word, b'\\') | marks(word, b'\n');
        if found != 0 {
            return Some(base + (found.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b == b'\n')
        .map(|p| base + p)
}

/// Unescapes `\\`, `\n` and (where `quote` is set) `\"`. Any other escape is kept verbatim, as
/// Prometheus' own parsers do.
pub(crate) fn unescape(raw: &str, quote: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(metric_name_end(b"a_b:c{", 0), Some(5));
        assert_eq!(metric_name_end(b":x 1", 0), Some(2));
        assert_eq!(metric_name_end(b"1x", 0), None);
        assert_eq!(label_name_end(b"_a1=", 0), Some(3));
        assert_eq!(label_name_end(b"a:b", 0), Some(1));
        assert_eq!(label_name_end(b":a", 0), None);
        assert_eq!(label_name_end(b"", 0), None);
    }

    #[test]
    fn prefixes() {
        let text = b"starrocks_be_table_scan_read_rows{db_name=";
        for n in 0..=text.len() {
            assert!(starts_with(text, &text[..n]), "{n}");
            if n > 0 {
                let mut other = text[..n].to_vec();
                for at in 0..n {
                    other[at] ^= 1;
                    assert!(!starts_with(text, &other), "{n} {at}");
                    other[at] ^= 1;
                }
            }
        }
        assert!(!starts_with(b"abc", b"abcd"));
    }

    #[test]
    fn quoted_values() {
        assert_eq!(quoted_end(br#""abc" 1"#, 0), Some((4, false)));
        assert_eq!(quoted_end(br#""a\"b" 1"#, 0), Some((5, true)));
        assert_eq!(quoted_end(br#""a\\" 1"#, 0), Some((4, true)));
        assert_eq!(quoted_end(br#""abc"#, 0), None);
        assert_eq!(quoted_end(br#""abc\"#, 0), None);
        // Across the eight-byte steps, and marks after the first one.
        assert_eq!(quoted_end(br#""0123456789abcdef" 1"#, 0), Some((17, false)));
        assert_eq!(quoted_end(br#""0123456\"89"abc"#, 0), Some((12, true)));
        assert_eq!(quoted_end(br#""012345678901234\"#, 0), None);
        for n in 0..20 {
            let mut v = vec![b'"'];
            v.extend(std::iter::repeat_n(b'x', n));
            v.extend_from_slice(b"\"\"\\");
            assert_eq!(quoted_end(&v, 0), Some((n + 1, false)), "{n}");
        }
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r#"a\\b\"c\nd"#, true), "a\\b\"c\nd");
        assert_eq!(unescape(r#"a\tb\"#, true), "a\\tb\\");
        assert_eq!(unescape(r#"say \"hi\""#, false), "say \\\"hi\\\"");
    }
}
