//! [`Scrubber`]: removes a cluster's credentials from text a node sent, before that text becomes
//! part of a [`ClientError`](crate::ClientError).
//!
//! A node's error body or an echo of the request headers can carry the password, `user:password`
//! or its Base64 form (the `Authorization: Basic …` value). Errors reach responses, log lines and
//! the `collection_errors` table, so node text is scrubbed where the error is built: whole, before
//! it is cut to an excerpt (a cut could otherwise keep a password's first characters).

use std::borrow::Cow;

use crate::config::ClientConfig;
use crate::error::excerpt;
use crate::http::base64_encode;

/// What a removed credential is replaced with.
pub(crate) const REDACTED: &str = "***";

/// The credentials of one client, in every form a node could send them back in.
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    /// Longest first, so that `user:password` goes before the bare password it contains.
    needles: Vec<String>,
}

impl Scrubber {
    /// The forms of `config`'s credentials: the password, `user:password` and its Base64, each
    /// also as JSON and Rust string escapes write them. An empty password is no secret: nothing
    /// is scrubbed then.
    pub(crate) fn new(config: &ClientConfig) -> Self {
        let password = config.password.expose();
        if password.is_empty() {
            return Self::default();
        }
        let pair = format!("{}:{password}", config.username);
        let mut needles = vec![base64_encode(pair.as_bytes())];
        for secret in [password, pair.as_str()] {
            needles.push(secret.to_owned());
            needles.push(json_escaped(secret));
            needles.push(debug_escaped(secret));
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    /// Whether `bytes` hold any form of the credentials.
    pub(crate) fn finds_secret_in(&self, bytes: &[u8]) -> bool {
        self.needles
            .iter()
            .any(|n| bytes.windows(n.len()).any(|w| w == n.as_bytes()))
    }

    /// `text` with every form of the credentials replaced by `***`.
    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = Cow::Owned(out.replace(needle.as_str(), REDACTED));
            }
        }
        out
    }

    /// `body` scrubbed, then cut to a short single-line excerpt.
    pub(crate) fn excerpt(&self, body: &[u8]) -> String {
        let text = String::from_utf8_lossy(body);
        excerpt(self.scrub(&text).as_bytes())
    }

    /// `bytes` with the credentials replaced, for re-reading a body that held them.
    pub(crate) fn scrub_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(bytes);
        self.scrub(&text).into_owned().into_bytes()
    }
}

fn json_escaped(secret: &str) -> String {
    let quoted = serde_json::Value::from(secret).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn debug_escaped(secret: &str) -> String {
    let quoted = format!("{secret:?}");
    quoted[1..quoted.len() - 1].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn scrubber(user: &str, password: &str) -> Scrubber {
        Scrubber::new(&ClientConfig {
            username: user.to_owned(),
            password: Secret::new(password),
            ..ClientConfig::default()
        })
    }

    #[test]
    fn every_form_of_the_credentials_is_replaced() {
        let s = scrubber("root", "hunter2\"x");
        let basic = base64_encode(b"root:hunter2\"x");
        let text = format!(
            "denied for root:hunter2\"x; pw hunter2\"x; json \"hunter2\\\"x\"; Authorization: Basic {basic}"
        );
        let clean = s.scrub(&text);
        assert!(!clean.contains("hunter2"), "{clean}");
        assert!(!clean.contains(&basic), "{clean}");
        assert!(clean.contains("denied for ***"), "{clean}");
        assert!(s.finds_secret_in(text.as_bytes()));
        assert!(!s.finds_secret_in(clean.as_bytes()));
    }

    #[test]
    fn scrubbing_happens_before_the_cut() {
        let s = scrubber("root", "secretpassword");
        let mut body = "x".repeat(195).into_bytes();
        body.extend_from_slice(b" secretpassword");
        let e = s.excerpt(&body);
        assert!(!e.contains("sec"), "{e}");
    }

    #[test]
    fn an_empty_password_scrubs_nothing() {
        let s = scrubber("root", "");
        assert_eq!(s.scrub("root: ok"), "root: ok");
        assert!(!s.finds_secret_in(b"root:"));
    }
}
