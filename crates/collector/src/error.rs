//! Why a cluster's collection stored nothing ([`CollectError`]), and where a failure happened
//! ([`Stage`], the stored `stage` of a collection error).

use rockscope_model::SourceError;
use rockscope_store::Error as StoreError;

/// The step of a cluster's collection a failure belongs to: the `stage` column of the store's
/// `collection_errors` ([`Stage::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The cluster's collection as a whole (its task ended without saying where: a panic, or
    /// the collector shutting down before it started).
    Collect,
    /// The node lists (`show_proc`) and the runtime info, asked of the FE entry points.
    NodeLists,
    /// A node's `/metrics`.
    Scrape,
    /// The engine's aggregation of the cycle.
    Aggregate,
    /// Writing to or reading from the store.
    Store,
    /// The cluster's credentials, before any request (a password the secret key cannot open).
    Credentials,
}

impl Stage {
    /// The stable name stored with a collection error: `collect`, `node_lists`, `scrape`,
    /// `aggregate`, `store`, `credentials`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Collect => "collect",
            Stage::NodeLists => "node_lists",
            Stage::Scrape => "scrape",
            Stage::Aggregate => "aggregate",
            Stage::Store => "store",
            Stage::Credentials => "credentials",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source of a cycle that failed (a node list, the runtime info, a node's scrape), with the
/// stage it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFailure {
    /// [`Stage::NodeLists`] or [`Stage::Scrape`].
    pub stage: Stage,
    /// What failed and why, as stored in the snapshot.
    pub error: SourceError,
}

/// Why a cluster's collection stored no snapshot. Partial data is not an error: a cycle where
/// some node answered stores a snapshot with the others' [`SourceError`]s.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The collector was shutting down before the cluster's turn came.
    #[error("the collector is shutting down")]
    ShuttingDown,
    /// No node's `/metrics` answered by the deadline: a snapshot of nulls would only hide the
    /// outage in the trends.
    #[error("no node answered ({}{})", failures.len(), fmt_first(failures))]
    NoNodeAnswered {
        /// Every source that failed, in the order the cycle met them.
        failures: Vec<SourceFailure>,
        /// Nodes the cycle tried to scrape.
        nodes_total: usize,
    },
    /// A step panicked (a bug); the cycle's data is lost, the next cycle runs normally.
    #[error("the {stage} step panicked: {detail}")]
    Panicked {
        /// Where.
        stage: Stage,
        /// The panic as tokio reports it.
        detail: String,
    },
    /// The cluster's stored password cannot be decrypted (a lost or wrong secret key): the
    /// collection does not log in without it.
    #[error("{}", rockscope_store::Password::UNREADABLE)]
    PasswordUnreadable,
    /// The store failed.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

impl CollectError {
    /// Where it failed.
    pub fn stage(&self) -> Stage {
        match self {
            CollectError::ShuttingDown => Stage::Collect,
            CollectError::NoNodeAnswered { .. } => Stage::Scrape,
            CollectError::Panicked { stage, .. } => *stage,
            CollectError::Store(_) => Stage::Store,
            CollectError::PasswordUnreadable => Stage::Credentials,
        }
    }

    /// A stable short name of the failure, stored as the error's `code`: `shutdown`,
    /// `no_answer`, `panic`, `sqlite`, `password_unreadable`.
    pub fn code(&self) -> &'static str {
        match self {
            CollectError::ShuttingDown => "shutdown",
            CollectError::NoNodeAnswered { .. } => "no_answer",
            CollectError::Panicked { .. } => "panic",
            CollectError::Store(_) => "sqlite",
            CollectError::PasswordUnreadable => "password_unreadable",
        }
    }

    /// The sources that failed, each stored as its own collection error.
    pub fn source_failures(&self) -> &[SourceFailure] {
        match self {
            CollectError::NoNodeAnswered { failures, .. } => failures,
            _ => &[],
        }
    }

    pub(crate) fn panicked(stage: Stage, error: &tokio::task::JoinError) -> CollectError {
        CollectError::Panicked {
            stage,
            detail: error.to_string(),
        }
    }
}

fn fmt_first(failures: &[SourceFailure]) -> String {
    match failures.first() {
        Some(SourceFailure { error, .. }) => format!(
            " errors; first: {} {}: {}",
            error.source, error.code, error.message
        ),
        None => " errors".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_keep_their_stored_names() {
        // `collect`, `scrape` and `store` are what rockscope stored before the stages had a type.
        let names: Vec<&str> = [
            Stage::Collect,
            Stage::NodeLists,
            Stage::Scrape,
            Stage::Aggregate,
            Stage::Store,
            Stage::Credentials,
        ]
        .map(Stage::as_str)
        .to_vec();
        assert_eq!(
            names,
            [
                "collect",
                "node_lists",
                "scrape",
                "aggregate",
                "store",
                "credentials"
            ]
        );
    }

    #[test]
    fn no_answer_names_the_first_failure() {
        let error = CollectError::NoNodeAnswered {
            failures: vec![SourceFailure {
                stage: Stage::Scrape,
                error: SourceError {
                    source: "metrics 127.0.0.1:8040".to_owned(),
                    code: "timeout".to_owned(),
                    message: "no answer".to_owned(),
                },
            }],
            nodes_total: 1,
        };
        assert_eq!(
            error.to_string(),
            "no node answered (1 errors; first: metrics 127.0.0.1:8040 timeout: no answer)"
        );
        assert_eq!((error.stage(), error.code()), (Stage::Scrape, "no_answer"));
        assert_eq!(error.source_failures().len(), 1);
    }
}
