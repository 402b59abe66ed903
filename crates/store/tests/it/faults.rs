//! Storage faults that heal, and say so: a file turned read-only (immutable) and back, a file
//! deleted while the store runs.

use std::path::Path;
use std::process::Command;

use rockscope_store::NewRun;

use crate::support::*;

fn run(i: i64) -> NewRun {
    NewRun {
        started_at: t0() + secs(i),
        duration_ms: 1,
        clusters_total: 1,
        clusters_ok: 1,
        clusters_failed: 0,
    }
}

/// `chattr +i`/`-i` on `path`; `false` where the file system or the user cannot.
fn immutable(path: &Path, on: bool) -> bool {
    Command::new("chattr")
        .arg(if on { "+i" } else { "-i" })
        .arg(path)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_database_made_immutable_and_writable_again_heals_without_a_restart() {
    let db = TempDb::new("faults-immutable");
    let store = db.open();
    store.record_run(&run(0)).unwrap();
    // Every pooled connection is opened after this point, while the file is immutable.
    drop(store);
    let store = db.open();
    if !immutable(&db.path, true) {
        eprintln!("skipped: chattr +i is not available here (needs root and ext2/3/4)");
        return;
    }
    let failed = store.record_run(&run(1));
    let state = store.storage_state();
    let restored = immutable(&db.path, false);
    assert!(restored, "chattr -i failed: remove the flag by hand");
    assert!(failed.is_err(), "a write to an immutable file succeeded");
    assert!(!state.healthy);
    assert!(state.failing_since.is_some());
    assert!(
        state
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("readonly"),
        "{state:?}"
    );
    // The file is writable again: the next write works (a fresh connection).
    store
        .record_run(&run(2))
        .expect("write after the file is writable again");
    let state = store.storage_state();
    assert!(state.healthy, "{state:?}");
    assert!(state.ok_since.is_some() && state.failing_since.is_none());
    store.record_run(&run(3)).unwrap();
    assert_eq!(store.recent_runs(10).unwrap().len(), 3);
}

#[test]
fn a_database_deleted_while_open_is_reported_and_not_recreated() {
    let db = TempDb::new("faults-deleted");
    let store = db.open();
    store.record_run(&run(0)).unwrap();
    assert!(store.storage_state().healthy);
    std::fs::remove_file(&db.path).unwrap();
    let state = store.storage_state();
    assert!(!state.healthy);
    let error = state.last_error.unwrap();
    assert!(error.contains("deleted or replaced"), "{error}");
    // Writes go on failing (into the unlinked file, or not at all), and no empty database
    // appears at the path.
    let _ = store.record_run(&run(1));
    let _ = store.record_run(&run(2));
    assert!(!store.storage_state().healthy);
    assert!(!db.path.exists());
}
