//! The storage's own health: whether writes work, since when, and why not; and the pool's
//! manager that drops connections a storage fault left useless.
//!
//! Writes report their outcome ([`Store::tracked`]). A failure of the storage itself (a
//! read-only or full disk, a file that cannot be opened, I/O errors, a pool that cannot open a
//! connection) marks the storage failing; the next successful write marks it healthy again.
//! Errors about the data (a duplicate name, an unknown cluster) say nothing about the storage
//! and change nothing. The database file is also checked, cheaply (one `stat`), after each
//! write and at each [`Store::storage_state`]: a file deleted or replaced while rockscope runs
//! keeps the storage failing until a restart, since SQLite would go on writing into the
//! unlinked file and the next start would begin an empty database.
//!
//! **Healing.** r2d2 keeps a connection unless its manager calls it broken when it comes back.
//! [`Manager::has_broken`] does for a connection SQLite opened read-only (it does that when the
//! file cannot be opened for writing, e.g. while it is immutable: the connection would fail
//! every write for good) and for every connection while the storage is failing, so the write
//! after the fault ends opens a fresh connection.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use r2d2::ManageConnection;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, ErrorCode, MAIN_DB};
use time::OffsetDateTime;

use crate::Store;
use crate::error::{Error, Result};
use crate::files::{FileId, file_id};

/// The storage's state, for readiness and `/api/collector/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageState {
    /// Whether writes work (the last one that reached the storage succeeded, and the database
    /// file is the one rockscope opened).
    pub healthy: bool,
    /// The last storage error (kept after recovery, for the record); never holds a secret.
    pub last_error: Option<String>,
    /// When the current failure began (`None` while healthy).
    pub failing_since: Option<OffsetDateTime>,
    /// Since when writes work (`None` while failing, and before the first write).
    pub ok_since: Option<OffsetDateTime>,
    /// When a write last succeeded.
    pub last_write_at: Option<OffsetDateTime>,
}

/// The shared health of one store.
#[derive(Debug)]
pub(crate) struct Health {
    path: PathBuf,
    /// The database file as opened (`None` where identity is not checked).
    opened: Option<FileId>,
    /// Mirrors `!state.healthy`, read without the lock by [`Manager::has_broken`].
    failing: AtomicBool,
    /// Set once the file was found deleted or replaced: only a restart clears it.
    moved: AtomicBool,
    state: Mutex<StorageState>,
}

impl Health {
    pub(crate) fn new(path: PathBuf, opened: Option<FileId>) -> Health {
        Health {
            path,
            opened,
            failing: AtomicBool::new(false),
            moved: AtomicBool::new(false),
            state: Mutex::new(StorageState {
                healthy: true,
                last_error: None,
                failing_since: None,
                ok_since: Some(OffsetDateTime::now_utc()),
                last_write_at: None,
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, StorageState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Checks that the path still names the file opened; marks the storage failing for good
    /// when it does not.
    pub(crate) fn check_file(&self) {
        if self.moved.load(Ordering::Relaxed) {
            return;
        }
        let now = match file_id(&self.path) {
            Ok(id) => id,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            // Another stat failure (permissions) says nothing about the file's identity.
            Err(_) => return,
        };
        if self.opened.is_some() && now != self.opened {
            self.moved.store(true, Ordering::Relaxed);
            self.failed(&Error::DatabaseMoved {
                path: self.path.display().to_string(),
            });
        }
    }

    /// Passes a pool checkout on; a connection that cannot be opened is a storage fault.
    pub(crate) fn note_pool<T>(&self, checkout: Result<T>) -> Result<T> {
        if let Err(e) = &checkout {
            self.failed(e);
        }
        checkout
    }

    fn succeeded(&self) {
        let now = OffsetDateTime::now_utc();
        let mut state = self.state();
        state.last_write_at = Some(now);
        if self.moved.load(Ordering::Relaxed) || state.healthy {
            return;
        }
        let since = state.failing_since.take();
        state.healthy = true;
        state.ok_since = Some(now);
        self.failing.store(false, Ordering::Relaxed);
        drop(state);
        log::info!(
            "store: writes to {} work again (failing since {})",
            self.path.display(),
            since.map_or_else(|| "?".to_owned(), |t| t.to_string())
        );
    }

    fn failed(&self, error: &Error) {
        let now = OffsetDateTime::now_utc();
        let mut state = self.state();
        // Once the file is known deleted or replaced, that is the cause of every later failure
        // (a connection that cannot be opened, a write into the unlinked file): keep saying so.
        let moved_before = self.moved.load(Ordering::Relaxed)
            && state.last_error.is_some()
            && !matches!(error, Error::DatabaseMoved { .. });
        if !moved_before {
            state.last_error = Some(error.to_string());
        }
        self.failing.store(true, Ordering::Relaxed);
        if !state.healthy {
            return;
        }
        state.healthy = false;
        state.failing_since = Some(now);
        state.ok_since = None;
        drop(state);
        // Logged once per failure, not once per failed write.
        log::error!(
            "store: writes to {} fail; /ready reports not ready until they work again. error={error}",
            self.path.display()
        );
    }
}

/// Whether `error` is a fault of the storage (disk, file, I/O, connection) rather than of the
/// data written.
pub(crate) fn is_storage_fault(error: &Error) -> bool {
    match error {
        Error::Pool(_) | Error::DatabaseMoved { .. } => true,
        Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
            e.code,
            ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
                | ErrorCode::DiskFull
                | ErrorCode::SystemIoFailure
                | ErrorCode::DatabaseBusy
                | ErrorCode::DatabaseLocked
                | ErrorCode::PermissionDenied
                | ErrorCode::DatabaseCorrupt
                | ErrorCode::NotADatabase
                | ErrorCode::FileLockingProtocolFailed
        ),
        _ => false,
    }
}

/// The pool's connection manager: [`SqliteConnectionManager`], plus [`Manager::has_broken`].
#[derive(Debug)]
pub(crate) struct Manager {
    pub(crate) inner: SqliteConnectionManager,
    pub(crate) health: Arc<Health>,
}

impl ManageConnection for Manager {
    type Connection = Connection;
    type Error = rusqlite::Error;

    fn connect(&self) -> Result<Connection, rusqlite::Error> {
        self.inner.connect()
    }

    fn is_valid(&self, conn: &mut Connection) -> Result<(), rusqlite::Error> {
        self.inner.is_valid(conn)
    }

    /// A connection SQLite opened read-only never writes again; while the storage fails, no
    /// connection is trusted (it may hold a file that was deleted or turned read-only).
    fn has_broken(&self, conn: &mut Connection) -> bool {
        self.health.is_failing() || conn.is_readonly(MAIN_DB).unwrap_or(true)
    }
}

impl Store {
    /// Records the outcome of a write in the storage's health (see the module documentation)
    /// and passes it on.
    pub(crate) fn tracked<T>(&self, outcome: Result<T>) -> Result<T> {
        let health = &self.inner.health;
        match &outcome {
            Ok(_) => {
                health.succeeded();
                health.check_file();
            }
            Err(e) if is_storage_fault(e) => health.failed(e),
            Err(_) => {}
        }
        outcome
    }

    /// The storage's state now (the database file is checked first: one `stat`).
    pub fn storage_state(&self) -> StorageState {
        self.inner.health.check_file();
        self.inner.health.state().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real `SQLITE_FULL`: a connection whose database may not grow past its current size
    /// (`PRAGMA max_page_count`) stands in for a full disk.
    fn disk_full_error(store: &Store) -> Error {
        let conn = Connection::open(store.path()).unwrap();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        conn.execute_batch(&format!("PRAGMA max_page_count = {pages};"))
            .unwrap();
        let filler = "x".repeat(64 * 1024);
        let err = conn
            .execute(
                "INSERT INTO collection_runs (started_at, duration_ms, clusters_total,
                     clusters_ok, clusters_failed) VALUES (0, 0, 0, 0, length(?1))",
                [&filler],
            )
            .and_then(|_| {
                conn.execute_batch(&format!(
                    "CREATE TABLE filler (x TEXT); INSERT INTO filler VALUES ('{filler}');"
                ))
            })
            .expect_err("the database cannot grow");
        Error::Sqlite(err)
    }

    #[test]
    fn a_full_disk_fails_the_storage_until_a_write_succeeds() {
        let store = Store::open_temporary().unwrap();
        let full = disk_full_error(&store);
        assert!(
            matches!(&full, Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DiskFull),
            "{full:?}"
        );
        assert!(store.tracked::<()>(Err(full)).is_err());
        let state = store.storage_state();
        assert!(!state.healthy && state.failing_since.is_some(), "{state:?}");
        assert!(state.last_error.unwrap().contains("full"));
        // Data errors say nothing about the storage.
        let conflict = store.tracked::<()>(Err(Error::Conflict("taken".into())));
        assert!(conflict.is_err() && !store.storage_state().healthy);
        store.tracked(Ok(())).unwrap();
        let state = store.storage_state();
        assert!(state.healthy && state.ok_since.is_some() && state.failing_since.is_none());
    }
}
