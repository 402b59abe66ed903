use rockscope_store::{Error, SCHEMA_VERSION, Store};

use crate::support::*;

#[test]
fn empty_database_is_migrated_to_the_current_version() {
    let db = TempDb::new("schema-empty");
    // An existing but empty SQLite file (user_version 0).
    db.raw().execute_batch("PRAGMA user_version = 0").unwrap();
    let store = db.open();
    assert_eq!(db.count("PRAGMA user_version"), SCHEMA_VERSION);
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    assert!(store.list_clusters().unwrap().is_empty());
    drop(store);
    // Opening again is a no-op.
    let _again = db.open();
    assert_eq!(db.count("PRAGMA user_version"), SCHEMA_VERSION);
}

#[test]
fn parent_directories_are_created() {
    let db = TempDb::new("schema-dirs");
    let dir = db.path.with_extension("d");
    let path = dir.join("nested").join("rockscope.db");
    {
        let store = Store::open(&path).unwrap();
        assert_eq!(store.path(), path);
        store.ping().unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_newer_schema_is_refused_untouched() {
    let db = TempDb::new("schema-newer");
    db.raw()
        .execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .unwrap();
    match Store::open(&db.path) {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!(found, SCHEMA_VERSION + 1);
            assert_eq!(supported, SCHEMA_VERSION);
            let msg = Error::SchemaTooNew { found, supported }.to_string();
            assert!(
                msg.contains("newer") && msg.contains(&found.to_string()),
                "{msg}"
            );
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert_eq!(db.count("PRAGMA user_version"), SCHEMA_VERSION + 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM sqlite_master"),
        0,
        "nothing created"
    );
    let mode: String = db
        .raw()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "journal mode untouched");
}

#[test]
fn reopening_keeps_the_data() {
    let db = TempDb::new("schema-reopen");
    let (cluster, snap) = {
        let store = db.open();
        let c = store.create_cluster(&new_cluster("prod")).unwrap();
        let snap = full_snapshot(c.id, t0(), 1);
        store.insert_cycle(&snap, &[]).unwrap();
        (c, snap)
    };
    let store = db.open();
    assert_eq!(store.get_cluster(cluster.id).unwrap(), cluster);
    assert_eq!(store.latest_snapshot(cluster.id).unwrap(), Some(snap));
}
