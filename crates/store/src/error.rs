//! The store's error type.

use std::fmt;

/// What can go wrong in the store.
///
/// The variants map onto the API's statuses: [`Error::NotFound`] → 404, [`Error::Conflict`] → 409,
/// [`Error::InvalidField`] → 400, everything else → 500.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed (I/O, a constraint not mapped to [`Error::Conflict`], a busy database
    /// after the busy timeout, ...).
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// No connection could be taken from the pool (e.g. the database file can't be opened).
    #[error("database connection pool error: {0}")]
    Pool(#[from] r2d2::Error),
    /// The database was written by a newer rockscope: its schema version is above the newest this
    /// build knows. Nothing was changed in the file.
    #[error(
        "database schema version {found} is newer than the newest this rockscope supports \
         ({supported}); upgrade rockscope or use another database file"
    )]
    SchemaTooNew {
        /// The `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// The thing named does not exist (e.g. `cluster 42`).
    #[error("{0} not found")]
    NotFound(String),
    /// The write would break a uniqueness rule (e.g. a duplicate cluster name).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A field name given for a series or statistics query is not a numeric snapshot column.
    #[error("unknown or non-numeric snapshot field `{0}`")]
    InvalidField(String),
    /// A stored value could not be decoded (the message names the table, column and why).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// The database's parent directory could not be created.
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A [`Error::Corrupt`] naming `what` (e.g. `metrics_snapshots.qps`) and the cause.
    pub(crate) fn corrupt(what: impl fmt::Display, why: impl fmt::Display) -> Self {
        Error::Corrupt(format!("{what}: {why}"))
    }
}

/// The kind of constraint a SQLite error reports, if it is a constraint violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    Unique,
    ForeignKey,
    Other,
}

/// Classify a SQLite constraint violation (`None` for any other error).
pub(crate) fn constraint_of(err: &rusqlite::Error) -> Option<Constraint> {
    let rusqlite::Error::SqliteFailure(e, _) = err else {
        return None;
    };
    if e.code != rusqlite::ErrorCode::ConstraintViolation {
        return None;
    }
    Some(match e.extended_code {
        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            Constraint::Unique
        }
        rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Constraint::ForeignKey,
        _ => Constraint::Other,
    })
}
