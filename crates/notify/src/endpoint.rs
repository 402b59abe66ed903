//! A receiver's URL, checked and taken apart: where to POST (without user info), how to show it
//! (user info and query redacted), the `Authorization` header, and what to scrub.

use serde::Serialize;

use crate::config::{ConfigError, ReceiverConfig, Secret};
use crate::scrub::{REDACTED, Scrubber, base64};

/// Which API a receiver speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverKind {
    /// Alertmanager's API v2: `POST {url}/api/v2/alerts`.
    Alertmanager,
    /// Alertmanager's webhook payload, version 4, posted to the URL.
    Webhook,
    /// Prometheus remote write (`rockscope-remote-write`), posted to the URL like a webhook;
    /// never a receiver of alerts.
    RemoteWrite,
}

impl ReceiverKind {
    /// `alertmanager` or `webhook`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverKind::Alertmanager => "alertmanager",
            ReceiverKind::Webhook => "webhook",
            ReceiverKind::RemoteWrite => "remote_write",
        }
    }
}

/// One receiver, ready to be posted to (with [`crate::post`]).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub(crate) kind: ReceiverKind,
    /// The URL requests go to: the configured one without user info (and, for an Alertmanager,
    /// with `/api/v2/alerts` appended).
    pub(crate) post_url: String,
    /// The configured URL with user info and query shown as `***`.
    pub(crate) redacted_url: String,
    /// The `Authorization` header's value, if the receiver has credentials.
    pub(crate) authorization: Option<Secret>,
    /// Removes the credentials, and the query (a webhook URL's token), from text.
    pub(crate) scrubber: Scrubber,
}

/// The parts of `http://[userinfo@]host[:port][path][?query]`.
struct Parts<'a> {
    userinfo: Option<&'a str>,
    host_port: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

impl Endpoint {
    /// Checks `config`'s URL and credentials (and reads its token file).
    pub fn new(kind: ReceiverKind, config: &ReceiverConfig) -> Result<Self, ConfigError> {
        let url = config.url.trim();
        let parts = split(url);
        let redacted_url = match &parts {
            Ok(p) => redact(p),
            Err(_) => redact_unparsed(url),
        };
        let bad = |problem| ConfigError::BadUrl {
            kind: kind.as_str(),
            url: redacted_url.clone(),
            problem,
        };
        let parts = parts.map_err(bad)?;
        if kind == ReceiverKind::Alertmanager && parts.query.is_some() {
            return Err(bad("an Alertmanager URL takes no query"));
        }
        let url_basic = parts.userinfo.map(|info| match info.split_once(':') {
            Some((user, password)) => (percent_decode(user), percent_decode(password)),
            None => (percent_decode(info), String::new()),
        });
        let basic = match (&config.basic_auth, url_basic) {
            (Some(_), Some(_)) => return Err(bad("has user info and basic_auth: give one")),
            (Some(b), None) => Some((b.username.clone(), b.password.expose().to_owned())),
            (None, url_basic) => url_basic,
        };
        let token = bearer_token(kind, config, &redacted_url)?;
        if token.is_some() && basic.is_some() {
            return Err(ConfigError::TwoCredentials {
                kind: kind.as_str(),
                url: redacted_url,
            });
        }
        let mut secrets: Vec<String> = parts.query.iter().map(|q| q.to_string()).collect();
        if let Some(info) = parts.userinfo {
            secrets.push(info.to_owned());
        }
        let authorization = if let Some(token) = &token {
            secrets.push(token.expose().to_owned());
            Some(Secret::new(format!("Bearer {}", token.expose())))
        } else if let Some((user, password)) = basic {
            let pair = format!("{user}:{password}");
            let encoded = base64(pair.as_bytes());
            secrets.extend([password, pair, encoded.clone()]);
            Some(Secret::new(format!("Basic {encoded}")))
        } else {
            None
        };
        let mut post_url = format!("http://{}{}", parts.host_port, parts.path);
        match kind {
            ReceiverKind::Alertmanager => {
                post_url.truncate(post_url.trim_end_matches('/').len());
                post_url.push_str("/api/v2/alerts");
            }
            ReceiverKind::Webhook | ReceiverKind::RemoteWrite => {
                if let Some(query) = parts.query {
                    post_url.push('?');
                    post_url.push_str(query);
                }
            }
        }
        Ok(Self {
            kind,
            post_url,
            redacted_url,
            authorization,
            scrubber: Scrubber::new(secrets.iter().map(String::as_str)),
        })
    }
}

impl Endpoint {
    /// The configured URL with user info and query shown as `***`: how it is shown.
    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// `text` (a receiver's answer, an error) without the endpoint's secrets, on one line of
    /// at most 200 characters.
    pub fn excerpt(&self, text: &str) -> String {
        self.scrubber.excerpt(text)
    }
}

/// The bearer token, from `bearer_token` or read from `bearer_token_file`.
fn bearer_token(
    kind: ReceiverKind,
    config: &ReceiverConfig,
    redacted_url: &str,
) -> Result<Option<Secret>, ConfigError> {
    let Some(path) = &config.bearer_token_file else {
        return Ok(config.bearer_token.clone());
    };
    if config.bearer_token.is_some() {
        return Err(ConfigError::TwoTokens {
            kind: kind.as_str(),
            url: redacted_url.to_owned(),
        });
    }
    let failed = |problem: String| ConfigError::TokenFile {
        kind: kind.as_str(),
        url: redacted_url.to_owned(),
        path: path.clone(),
        problem,
    };
    // The error names the file, never its content.
    let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
    match text.trim() {
        "" => Err(failed("is empty".to_owned())),
        token => Ok(Some(Secret::new(token))),
    }
}

/// Takes `url` apart, or says what is wrong with it.
fn split(url: &str) -> Result<Parts<'_>, &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("is not an http:// URL");
    };
    if scheme.eq_ignore_ascii_case("https") {
        return Err(
            "https:// needs TLS, which rockscope is built without; use http:// \
                    (e.g. through a TLS-terminating proxy on the same host)",
        );
    }
    if !scheme.eq_ignore_ascii_case("http") {
        return Err("is not an http:// URL");
    }
    if rest.contains('#') {
        return Err("has a #fragment");
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_query) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((info, host_port)) => (Some(info), host_port),
        None => (None, authority),
    };
    check_host_port(host_port)?;
    let (path, query) = match path_query.split_once('?') {
        Some((path, query)) => (path, Some(query).filter(|q| !q.is_empty())),
        None => (path_query, None),
    };
    Ok(Parts {
        userinfo,
        host_port,
        path,
        query,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`, with a port from 1 to 65535.
fn check_host_port(host_port: &str) -> Result<(), &'static str> {
    let port = if let Some(v6) = host_port.strip_prefix('[') {
        let (inside, after) = v6.split_once(']').ok_or("has an unclosed [")?;
        if inside.is_empty()
            || !inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || ":.".contains(c))
        {
            return Err("has an invalid IPv6 address");
        }
        match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err("has text after the IPv6 address"),
        }
    } else {
        let (host, port) = match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        };
        if host.is_empty() {
            return Err("has no host");
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
        {
            return Err("has an invalid host name");
        }
        port
    };
    match port.map(|p| (p, p.parse::<u16>())) {
        None => Ok(()),
        Some((digits, Ok(p))) if p > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        Some(_) => Err("has an invalid port"),
    }
}

/// `parts` as shown: `http://***@host:port/path?***`.
fn redact(parts: &Parts<'_>) -> String {
    let info = if parts.userinfo.is_some() { "***@" } else { "" };
    let query = if parts.query.is_some() { "?***" } else { "" };
    format!("http://{info}{}{}{query}", parts.host_port, parts.path)
}

/// A URL that did not parse, as shown: everything before the last `@` and after the first `?`
/// is hidden, in case it holds credentials.
fn redact_unparsed(url: &str) -> String {
    let mut shown = url.to_owned();
    if let Some(q) = shown.find('?') {
        shown.replace_range(q + 1.., REDACTED);
    }
    if let Some(at) = shown.rfind('@') {
        let start = shown.find("://").map_or(0, |i| i + 3).min(at);
        shown.replace_range(start..at, REDACTED);
    }
    shown.chars().filter(|c| !c.is_control()).collect()
}

/// `%XX` escapes decoded (user info is percent-encoded in URLs); invalid ones are kept as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BasicAuth;

    fn endpoint(kind: ReceiverKind, url: &str) -> Result<Endpoint, ConfigError> {
        Endpoint::new(kind, &ReceiverConfig::new(url))
    }

    #[test]
    fn an_alertmanager_url_gets_the_api_path() {
        for url in ["http://am:9093", "http://am:9093/", "HTTP://am:9093"] {
            let e = endpoint(ReceiverKind::Alertmanager, url).unwrap();
            assert_eq!(e.post_url, "http://am:9093/api/v2/alerts", "{url}");
        }
        let e = endpoint(ReceiverKind::Alertmanager, "http://10.0.0.1:9093/am/").unwrap();
        assert_eq!(e.post_url, "http://10.0.0.1:9093/am/api/v2/alerts");
        let e = endpoint(ReceiverKind::Alertmanager, "http://[::1]:9093").unwrap();
        assert_eq!(e.post_url, "http://[::1]:9093/api/v2/alerts");
    }

    #[test]
    fn user_info_becomes_basic_auth_and_is_shown_nowhere() {
        let e = endpoint(
            ReceiverKind::Webhook,
            "http://bob:s%40cret@hook:80/in?token=t0k",
        )
        .unwrap();
        assert_eq!(e.post_url, "http://hook:80/in?token=t0k");
        assert_eq!(e.redacted_url, "http://***@hook:80/in?***");
        // base64("bob:s@cret")
        assert_eq!(e.authorization.unwrap().expose(), "Basic Ym9iOnNAY3JldA==");
        let echoed = e
            .scrubber
            .scrub("got bob:s@cret Ym9iOnNAY3JldA== s@cret token=t0k");
        assert_eq!(echoed, "got *** *** *** ***");
    }

    #[test]
    fn a_bearer_token_is_a_header_and_scrubbed() {
        let config = ReceiverConfig {
            bearer_token: Some(Secret::new("abc123")),
            ..ReceiverConfig::new("http://am:9093")
        };
        let e = Endpoint::new(ReceiverKind::Alertmanager, &config).unwrap();
        assert_eq!(e.authorization.unwrap().expose(), "Bearer abc123");
        assert_eq!(e.scrubber.scrub("Bearer abc123"), "Bearer ***");
        assert_eq!(format!("{config:?}").matches("abc123").count(), 0);
    }

    #[test]
    fn bad_urls_are_clear_errors_without_credentials() {
        let wrong = [
            ("ftp://am", "is not an http:// URL"),
            ("am:9093", "is not an http:// URL"),
            ("http://", "has no host"),
            ("http://am:0", "has an invalid port"),
            ("http://am:99999", "has an invalid port"),
            ("http://am:+80", "has an invalid port"),
            ("http://a m", "contains whitespace or control characters"),
            ("http://am/#x", "has a #fragment"),
            ("http://[::1", "has an unclosed ["),
            ("http://[::1]x", "has text after the IPv6 address"),
            ("http://exa!mple/x", "has an invalid host name"),
        ];
        for (url, problem) in wrong {
            let err = endpoint(ReceiverKind::Webhook, url).unwrap_err();
            assert!(
                matches!(&err, ConfigError::BadUrl { problem: p, .. } if *p == problem),
                "{url}: {err}"
            );
        }
        let err = endpoint(ReceiverKind::Webhook, "https://u:pw@hook/x").unwrap_err();
        assert!(err.to_string().contains("TLS"), "{err}");
        assert!(!err.to_string().contains("pw"), "{err}");
        let err = endpoint(ReceiverKind::Alertmanager, "http://am:9093/?x=1").unwrap_err();
        assert!(err.to_string().contains("no query"), "{err}");
        let err = endpoint(ReceiverKind::Webhook, "http:// u:pw@h?tok").unwrap_err();
        assert_eq!(
            err.to_string(),
            "webhook url \"http://***@h?***\": contains whitespace or control characters"
        );
    }

    #[test]
    fn a_bearer_token_file_is_read_and_trimmed() {
        let path =
            std::env::temp_dir().join(format!("rockscope-notify-token-{}", std::process::id()));
        std::fs::write(&path, "  t0ken-from-file\n").unwrap();
        let config = ReceiverConfig {
            bearer_token_file: Some(path.clone()),
            ..ReceiverConfig::new("http://am:9093")
        };
        let e = Endpoint::new(ReceiverKind::Alertmanager, &config).unwrap();
        assert_eq!(e.authorization.unwrap().expose(), "Bearer t0ken-from-file");
        assert_eq!(e.scrubber.scrub("t0ken-from-file"), "***");
        std::fs::write(&path, "\n").unwrap();
        let err = Endpoint::new(ReceiverKind::Alertmanager, &config).unwrap_err();
        assert!(err.to_string().ends_with("is empty"), "{err}");
        std::fs::remove_file(&path).unwrap();
        let err = Endpoint::new(ReceiverKind::Alertmanager, &config).unwrap_err();
        assert!(matches!(err, ConfigError::TokenFile { .. }), "{err}");
        let both = ReceiverConfig {
            bearer_token: Some(Secret::new("x")),
            ..config
        };
        let err = Endpoint::new(ReceiverKind::Alertmanager, &both).unwrap_err();
        assert!(matches!(err, ConfigError::TwoTokens { .. }), "{err}");
    }

    #[test]
    fn two_kinds_of_credentials_are_refused() {
        let config = ReceiverConfig {
            bearer_token: Some(Secret::new("t")),
            basic_auth: Some(BasicAuth {
                username: "u".into(),
                password: Secret::new("p"),
            }),
            ..ReceiverConfig::new("http://am")
        };
        let err = Endpoint::new(ReceiverKind::Alertmanager, &config).unwrap_err();
        assert!(matches!(err, ConfigError::TwoCredentials { .. }), "{err}");
        let config = ReceiverConfig {
            bearer_token: None,
            ..config
        };
        let config = ReceiverConfig {
            url: "http://x:y@am".into(),
            ..config
        };
        let err = Endpoint::new(ReceiverKind::Alertmanager, &config).unwrap_err();
        assert!(err.to_string().contains("basic_auth"), "{err}");
    }
}
