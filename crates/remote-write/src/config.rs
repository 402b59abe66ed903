//! What a remote writer is told: one [`EndpointConfig`] per `[[export.remote_write]]`, checked
//! into a [`Target`] (URL, credentials, extra labels) before anything starts.

use std::time::Duration;

use rockscope_notify::{Endpoint, ReceiverConfig, ReceiverKind};

/// The labels rockscope's own series carry: an extra label may not take one of these names.
pub const RESERVED_LABELS: [&str; 8] = [
    "cluster",
    "instance",
    "node_type",
    "path",
    "node",
    "alertname",
    "alertstate",
    "severity",
];

/// One remote-write endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// `url` and credentials (`bearer_token`, `bearer_token_file` or `basic_auth`), with the
    /// same keys and checks as an alert webhook's.
    pub receiver: ReceiverConfig,
    /// Labels added to every series, e.g. `dc = "eu1"`.
    pub labels: Vec<(String, String)>,
    /// Cycles (one cluster's, each) waiting to be sent; beyond it, newer cycles are read back
    /// from the store once the queue has room.
    pub queue_capacity: usize,
    /// Limit on one HTTP request: connect, send, and read the answer.
    pub timeout: Duration,
}

impl EndpointConfig {
    /// Default `queue_capacity`: 10,000 cycles (100 clusters for 100 intervals).
    pub const DEFAULT_QUEUE_CAPACITY: usize = 10_000;
    /// Default `timeout`: 30 s (Prometheus' `remote_timeout`).
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// An endpoint at `url` with no credentials, no labels and the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            receiver: ReceiverConfig::new(url),
            labels: Vec::new(),
            queue_capacity: Self::DEFAULT_QUEUE_CAPACITY,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

/// A configuration a remote writer cannot work with. URLs are shown without credentials.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The URL or the credentials (see `rockscope-notify`).
    #[error(transparent)]
    Receiver(#[from] rockscope_notify::ConfigError),
    /// An extra label's name is not a Prometheus label name, or is reserved.
    #[error("remote_write url {url:?}: label {name:?} {problem}")]
    BadLabel {
        /// The endpoint's URL, credentials removed.
        url: String,
        /// The label's name.
        name: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two endpoints with the same URL (progress is kept per URL).
    #[error("remote_write url {0:?} is given twice")]
    Duplicate(String),
    /// A setting is out of range.
    #[error("remote_write url {url:?}: {problem}")]
    BadSetting {
        /// The endpoint's URL, credentials removed.
        url: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The operating system refused a worker thread.
    #[error("remote write: cannot start a worker thread: {0}")]
    Thread(String),
}

/// A checked endpoint: where and how to post, and what to add.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) endpoint: Endpoint,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) queue_capacity: usize,
    pub(crate) timeout: Duration,
}

impl Target {
    /// How the endpoint is shown (credentials never) and keyed in the store.
    pub(crate) fn url(&self) -> &str {
        self.endpoint.redacted_url()
    }
}

/// Checks every endpoint as [`crate::RemoteWriter::start`] does, without starting anything:
/// for `check-config`.
pub fn check(endpoints: &[EndpointConfig]) -> Result<(), ConfigError> {
    targets(endpoints).map(drop)
}

pub(crate) fn targets(endpoints: &[EndpointConfig]) -> Result<Vec<Target>, ConfigError> {
    let mut out: Vec<Target> = Vec::with_capacity(endpoints.len());
    for config in endpoints {
        let target = target(config)?;
        if out.iter().any(|t| t.url() == target.url()) {
            return Err(ConfigError::Duplicate(target.url().to_owned()));
        }
        out.push(target);
    }
    Ok(out)
}

fn target(config: &EndpointConfig) -> Result<Target, ConfigError> {
    let endpoint = Endpoint::new(ReceiverKind::RemoteWrite, &config.receiver)?;
    let url = endpoint.redacted_url().to_owned();
    let setting = |problem| ConfigError::BadSetting {
        url: url.clone(),
        problem,
    };
    if config.queue_capacity == 0 {
        return Err(setting("queue_capacity must be at least 1"));
    }
    if config.timeout.is_zero() {
        return Err(setting("timeout must be more than 0"));
    }
    let mut labels = config.labels.clone();
    labels.sort();
    for (name, value) in &labels {
        let problem = label_problem(name).or_else(|| value.is_empty().then_some("has no value"));
        if let Some(problem) = problem {
            return Err(ConfigError::BadLabel {
                url,
                name: name.clone(),
                problem,
            });
        }
    }
    Ok(Target {
        endpoint,
        labels,
        queue_capacity: config.queue_capacity,
        timeout: config.timeout,
    })
}

/// What is wrong with `name` as an extra label's name, if anything.
fn label_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        Some("is not a label name ([a-zA-Z_][a-zA-Z0-9_]*)")
    } else if name.starts_with("__") {
        Some("starts with __, which Prometheus keeps for itself")
    } else if RESERVED_LABELS.contains(&name) {
        Some("is one of rockscope's own labels (cluster, instance, node_type, path)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use rockscope_model::Secret;

    use super::*;

    fn with_label(name: &str, value: &str) -> EndpointConfig {
        EndpointConfig {
            labels: vec![(name.to_owned(), value.to_owned())],
            ..EndpointConfig::new("http://127.0.0.1:9090/api/v1/write")
        }
    }

    #[test]
    fn extra_labels_must_be_label_names_of_their_own() {
        assert!(check(&[with_label("dc", "eu1")]).is_ok());
        assert!(check(&[with_label("_x9", "1")]).is_ok());
        for (name, value, problem) in [
            ("9dc", "a", "is not a label name"),
            ("d-c", "a", "is not a label name"),
            ("", "a", "is not a label name"),
            ("__name__", "a", "starts with __"),
            ("cluster", "a", "rockscope's own"),
            ("instance", "a", "rockscope's own"),
            ("node_type", "a", "rockscope's own"),
            ("dc", "", "has no value"),
        ] {
            let err = check(&[with_label(name, value)]).unwrap_err().to_string();
            assert!(err.contains(problem), "{name}: {err}");
        }
    }

    #[test]
    fn https_two_same_urls_and_zero_settings_are_refused_without_credentials() {
        let tls = EndpointConfig::new("https://user:pw@example:443/api/v1/write");
        let err = check(&[tls]).unwrap_err().to_string();
        assert!(err.contains("TLS") && !err.contains("pw"), "{err}");
        let a = EndpointConfig {
            receiver: ReceiverConfig {
                bearer_token: Some(Secret::new("t0ken")),
                ..ReceiverConfig::new("http://h:1/w")
            },
            ..EndpointConfig::new("")
        };
        let err = check(&[a.clone(), a.clone()]).unwrap_err().to_string();
        assert_eq!(err, "remote_write url \"http://h:1/w\" is given twice");
        let zero = EndpointConfig {
            queue_capacity: 0,
            ..a.clone()
        };
        assert!(
            check(&[zero])
                .unwrap_err()
                .to_string()
                .contains("queue_capacity")
        );
        let err = format!("{:?}", targets(&[a]).unwrap());
        assert!(!err.contains("t0ken"), "{err}");
    }
}
