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
    /// The database file could not be created, or its identity read.
    #[error("cannot create or inspect the database file {path}: {source}")]
    DatabaseFile {
        /// The database path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The secret key file could not be read or created.
    #[error("cannot read or create the secret key file {path}: {source}")]
    KeyFile {
        /// The key file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A secret key (from the key file or `ROCKSCOPE_SECRET_KEY`) is malformed.
    #[error("the secret key from {origin} is malformed: {source}")]
    KeyFormat {
        /// Where the key came from.
        origin: String,
        /// What is wrong with it.
        source: crate::secret::KeyFormatError,
    },
    /// Stored passwords do not open with the secret key in use: the key is not the one they
    /// were encrypted with (lost, replaced, or `ROCKSCOPE_SECRET_KEY` differs from the key file).
    #[error(
        "the stored passwords of cluster(s) {} cannot be decrypted with this secret key \
         (ROCKSCOPE_SECRET_KEY or the key file beside the database): restore the key they were \
         encrypted with, or set each password again",
        .clusters.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
    )]
    UnreadablePasswords {
        /// The names of the clusters whose password is unreadable.
        clusters: Vec<String>,
    },
    /// The database file was deleted or replaced while rockscope had it open: writes would go
    /// into the unlinked file and be lost. Restart rockscope (after restoring the file).
    #[error(
        "the database file {path} was deleted or replaced while rockscope runs; writes are lost \
         until rockscope is restarted"
    )]
    DatabaseMoved {
        /// The database path.
        path: String,
    },
    /// The file is another program's SQLite database (it has tables, but not rockscope's
    /// `PRAGMA application_id`). Nothing was changed in it.
    #[error(
        "{path} is not a rockscope database ({why}); refusing to use it: point storage.path at \
         a rockscope database or at a new file"
    )]
    ForeignDatabase {
        /// The database path.
        path: String,
        /// What gave it away.
        why: String,
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
