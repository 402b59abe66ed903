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
pub(crate) fn skip_blanks(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && is_blank(line[i]) {
        i += 1;
    }
    i
}

/// The first index at or after `i` that is a blank (or the end of the line).
#[inline(always)]
pub(crate) fn token_end(line: &[u8], mut i: usize) -> usize {
    while i < line.len() && !is_blank(line[i]) {
        i += 1;
    }
    i
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
    match line.get(i) {
        Some(&b) if CLASS[b as usize] & start != 0 => {}
        _ => return None,
    }
    let mut j = i + 1;
    while j < line.len() && CLASS[line[j] as usize] & cont != 0 {
        j += 1;
    }
    Some(j)
}

/// Scans a quoted label value whose opening quote is at `open`. Returns the index of the closing
/// quote and whether the value holds a backslash escape.
#[inline(always)]
pub(crate) fn quoted_end(line: &[u8], open: usize) -> Option<(usize, bool)> {
    let mut i = open + 1;
    let mut escaped = false;
    loop {
        let rel = memchr::memchr2(b'"', b'\\', line.get(i..)?)?;
        let at = i + rel;
        if line[at] == b'"' {
            return Some((at, escaped));
        }
        escaped = true;
        i = at + 2; // a backslash always takes the next byte with it
    }
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
    fn quoted_values() {
        assert_eq!(quoted_end(br#""abc" 1"#, 0), Some((4, false)));
        assert_eq!(quoted_end(br#""a\"b" 1"#, 0), Some((5, true)));
        assert_eq!(quoted_end(br#""a\\" 1"#, 0), Some((4, true)));
        assert_eq!(quoted_end(br#""abc"#, 0), None);
        assert_eq!(quoted_end(br#""abc\"#, 0), None);
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r#"a\\b\"c\nd"#, true), "a\\b\"c\nd");
        assert_eq!(unescape(r#"a\tb\"#, true), "a\\tb\\");
        assert_eq!(unescape(r#"say \"hi\""#, false), "say \\\"hi\\\"");
    }
}
