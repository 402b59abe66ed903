//! [`Scrubber`]: removes a receiver's secrets from text before it becomes a status, an error or
//! a log line. A receiver's error page can echo the request (its `Authorization` header, its
//! URL), so whatever it sends is scrubbed whole, then cut to an excerpt (a cut first could keep
//! the start of a token).

/// What a removed secret is replaced with.
pub(crate) const REDACTED: &str = "***";

/// Characters kept of a receiver's answer or an error.
pub(crate) const EXCERPT_CHARS: usize = 200;

/// The secrets of one receiver, in every form it could send them back in. Its `Debug` shows
/// how many, never which.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    /// Longest first, so that `user:password` goes before the bare password it contains.
    needles: Vec<String>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("secrets", &self.needles.len())
            .finish()
    }
}

impl Scrubber {
    /// Scrubs each of `secrets` (empty ones are no secret), also as JSON and Rust string
    /// escapes write them.
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles = Vec::new();
        for secret in secrets.into_iter().filter(|s| !s.is_empty()) {
            needles.push(secret.to_owned());
            let json = serde_json::Value::from(secret).to_string();
            needles.push(json[1..json.len() - 1].to_owned());
            let debug = format!("{secret:?}");
            needles.push(debug[1..debug.len() - 1].to_owned());
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    /// `text` with every secret replaced by `***`.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }

    /// `text` scrubbed, then cut to a single line of at most [`EXCERPT_CHARS`] characters.
    pub(crate) fn excerpt(&self, text: &str) -> String {
        excerpt(&self.scrub(text))
    }
}

/// `text` on one line (runs of whitespace and control characters become one space), cut to
/// [`EXCERPT_CHARS`] characters and `…`.
fn excerpt(text: &str) -> String {
    let mut out = String::new();
    let mut last_space = false;
    for (kept, c) in text.trim().chars().enumerate() {
        if kept == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        let c = if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            c
        };
        if !(c == ' ' && last_space) {
            out.push(c);
        }
        last_space = c == ' ';
    }
    out
}

/// Standard Base64 with padding (RFC 4648), for the Basic `Authorization` header.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_secret_is_replaced() {
        let s = Scrubber::new(["to\"ken", "", "user:pw"]);
        let text = "token to\"ken, json \"to\\\"ken\", basic user:pw";
        let clean = s.scrub(text);
        assert_eq!(clean, "token ***, json \"***\", basic ***");
        let shown = format!("{s:?}");
        assert!(!shown.contains("ken") && !shown.contains("pw"), "{shown}");
    }

    #[test]
    fn scrubbing_happens_before_the_cut_and_excerpts_are_one_short_line() {
        let s = Scrubber::new(["secretpassword"]);
        let text = format!("{} secretpassword {}", "x".repeat(195), "y".repeat(50));
        let e = s.excerpt(&text);
        assert!(!e.contains("sec"), "{e}");
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(s.excerpt("  a\n\n b\tc  "), "a b c");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }
}
