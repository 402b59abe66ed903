//! [`NodeAddr`]: where a node's HTTP port is.

use std::fmt;
use std::str::FromStr;

/// The HTTP address of one FE, BE or CN: a host (name, IPv4 or IPv6 literal) and its HTTP port.
///
/// Parsed from `"host:port"`, `"10.0.0.1:8030"` or `"[::1]:8030"`; displayed the same way
/// (IPv6 literals in brackets), which is also how it appears in URLs and error messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeAddr {
    /// Host name or IP literal, without brackets.
    pub host: String,
    /// HTTP port (FE default 8030, BE/CN default 8040).
    pub port: u16,
}

impl NodeAddr {
    /// An address from its parts. `host` is taken as is (an IPv6 literal without brackets).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why a `"host:port"` text is not a [`NodeAddr`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node address {input:?}: {reason}")]
pub struct AddrParseError {
    /// The text that was given (truncated to 100 characters).
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for NodeAddr {
    type Err = AddrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| AddrParseError {
            input: text.chars().take(100).collect(),
            reason,
        };
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(fail("empty; expected host:port"));
        }
        if trimmed.contains("://") || trimmed.contains('/') {
            return Err(fail("expected host:port, not a URL"));
        }
        let (host, port) = if let Some(rest) = trimmed.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| fail("missing ']' after an IPv6 address"))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| fail("missing :port after ']'"))?;
            if host.is_empty() || !host.contains(':') {
                return Err(fail("brackets must hold an IPv6 address"));
            }
            (host, port)
        } else {
            let (host, port) = trimmed
                .rsplit_once(':')
                .ok_or_else(|| fail("missing :port"))?;
            if host.contains(':') {
                return Err(fail(
                    "an IPv6 address must be written in brackets: [addr]:port",
                ));
            }
            (host, port)
        };
        if host.is_empty() {
            return Err(fail("empty host"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("host contains whitespace"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| fail("port is not a number in 1..=65535"))?;
        if port == 0 {
            return Err(fail("port is not a number in 1..=65535"));
        }
        Ok(Self::new(host, port))
    }
}

impl TryFrom<&str> for NodeAddr {
    type Error = AddrParseError;

    fn try_from(text: &str) -> Result<Self, Self::Error> {
        text.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays() {
        let a: NodeAddr = "fe1.example:8030".parse().unwrap();
        assert_eq!(a, NodeAddr::new("fe1.example", 8030));
        assert_eq!(a.to_string(), "fe1.example:8030");
        let b: NodeAddr = " 10.0.0.1:8040 ".parse().unwrap();
        assert_eq!(b, NodeAddr::new("10.0.0.1", 8040));
        let c: NodeAddr = "[::1]:8030".parse().unwrap();
        assert_eq!(c, NodeAddr::new("::1", 8030));
        assert_eq!(c.to_string(), "[::1]:8030");
        let d: NodeAddr = "[fe80::1%eth0]:1".parse().unwrap();
        assert_eq!(d.host, "fe80::1%eth0");
    }

    #[test]
    fn rejects_with_a_reason() {
        for (text, reason) in [
            ("", "empty"),
            ("fe1", "missing :port"),
            ("fe1:", "port"),
            ("fe1:http", "port"),
            ("fe1:0", "port"),
            ("fe1:65536", "port"),
            (":8030", "empty host"),
            ("::1:8030", "brackets"),
            ("[::1]", "missing :port"),
            ("[::1:8030", "missing ']'"),
            ("[]:8030", "IPv6"),
            ("[host]:8030", "IPv6"),
            ("http://fe1:8030", "URL"),
            ("fe 1:8030", "whitespace"),
        ] {
            let err = text.parse::<NodeAddr>().unwrap_err();
            assert!(
                err.to_string().contains(reason),
                "{text:?} -> {err} (wanted {reason:?})"
            );
        }
    }
}
