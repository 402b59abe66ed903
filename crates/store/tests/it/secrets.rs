//! Passwords at rest, file modes, and refusing another program's database.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rockscope_store::{
    APPLICATION_ID, ClusterUpdate, Error, Password, SecretKey, Store, StoreOptions, key_file_path,
};

use crate::support::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    p.into()
}

fn open_with_key(path: &Path, key: &SecretKey) -> rockscope_store::Result<Store> {
    Store::open_with(
        path,
        &StoreOptions {
            secret_key: Some(key.clone()),
            ..StoreOptions::default()
        },
    )
}

#[test]
fn passwords_are_encrypted_at_rest_and_read_back_in_clear() {
    let db = TempDb::new("secrets-encrypted");
    let store = db.open();
    let mut new = new_cluster("a");
    new.password = Password::new("hunter2-secret");
    let c = store.create_cluster(&new).unwrap();
    let stored: String = db
        .raw()
        .query_row("SELECT password FROM clusters", [], |r| r.get(0))
        .unwrap();
    assert!(
        stored.starts_with(rockscope_store::secret::PREFIX),
        "{stored}"
    );
    assert!(!stored.contains("hunter2"));
    let bytes = std::fs::read(&db.path).unwrap();
    let wal = std::fs::read(with_suffix(&db.path, "-wal")).unwrap_or_default();
    for file in [&bytes, &wal] {
        assert!(!file.windows(7).any(|w| w == b"hunter2"));
    }
    assert_eq!(
        store.get_cluster(c.id).unwrap().password.expose(),
        "hunter2-secret"
    );
    drop(store);
    // The key file beside the database opens them again after a restart.
    let store = db.open();
    assert_eq!(
        store.list_clusters().unwrap()[0].password.expose(),
        "hunter2-secret"
    );
    store.check_passwords().unwrap();
}

#[test]
fn the_database_its_log_its_folder_and_its_key_file_are_owner_only() {
    let dir = std::env::temp_dir().join(format!(
        "rockscope-it-modes-{}-{}",
        std::process::id(),
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    ));
    let path = dir.join("nested").join("rockscope.db");
    let store = Store::open(&path).unwrap();
    store.create_cluster(&new_cluster("a")).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("nested")), 0o700);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&with_suffix(&path, "-wal")), 0o600);
    assert_eq!(mode(&with_suffix(&path, "-shm")), 0o600);
    let key = key_file_path(&path);
    assert_eq!(mode(&key), 0o600);
    assert!(SecretKey::parse(&std::fs::read_to_string(&key).unwrap()).is_ok());
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_existing_world_readable_database_is_made_owner_only() {
    let db = TempDb::new("secrets-chmod");
    drop(db.open());
    std::fs::set_permissions(&db.path, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(db.open());
    assert_eq!(mode(&db.path), 0o600);
}

#[test]
fn plaintext_passwords_of_an_older_rockscope_are_encrypted_at_open() {
    let db = TempDb::new("secrets-migrate");
    drop(db.open());
    db.raw()
        .execute_batch(
            "INSERT INTO clusters (name, fe_hosts, username, password, source, created_at,
                 updated_at) VALUES ('old', '[\"h:8030\"]', 'root', 'plain-pw', 'api', 0, 0);",
        )
        .unwrap();
    let store = db.open();
    let stored: String = db
        .raw()
        .query_row("SELECT password FROM clusters", [], |r| r.get(0))
        .unwrap();
    assert!(stored.starts_with(rockscope_store::secret::PREFIX));
    assert_eq!(
        store.list_clusters().unwrap()[0].password.expose(),
        "plain-pw"
    );
}

#[test]
fn a_lost_key_names_the_clusters_concerned_and_panics_nowhere() {
    let db = TempDb::new("secrets-lost");
    let (first, second) = (SecretKey::generate(), SecretKey::generate());
    {
        let store = open_with_key(&db.path, &first).unwrap();
        store.create_cluster(&new_cluster("alpha")).unwrap();
        store.create_cluster(&new_cluster("beta")).unwrap();
    }
    let store = open_with_key(&db.path, &second).expect("opens without the right key");
    match store.check_passwords() {
        Err(e @ Error::UnreadablePasswords { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("`alpha`") && text.contains("`beta`"),
                "{text}"
            );
        }
        other => panic!("expected UnreadablePasswords, got {other:?}"),
    }
    // Everything else still reads; the passwords say they are unreadable.
    let clusters = store.list_clusters().unwrap();
    assert!(clusters.iter().all(|c| c.password.is_unreadable()));
    assert_eq!(clusters[0].password.expose(), "");
    assert_eq!(store.cluster_summaries().unwrap().len(), 2);
    // Setting a password again heals that cluster.
    let update = ClusterUpdate {
        password: Some(Password::new("again")),
        ..ClusterUpdate::default()
    };
    store.update_cluster(clusters[0].id, &update).unwrap();
    match store.check_passwords() {
        Err(Error::UnreadablePasswords { clusters }) => assert_eq!(clusters, ["beta"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_malformed_key_file_is_a_clear_error() {
    let db = TempDb::new("secrets-badkey");
    std::fs::write(key_file_path(&db.path), "not a key").unwrap();
    match Store::open(&db.path) {
        Err(e @ Error::KeyFormat { .. }) => assert!(e.to_string().contains("64 hexadecimal")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn rotating_the_key_reencrypts_every_password_and_replaces_the_key_file() {
    let db = TempDb::new("secrets-rotate");
    let store = db.open();
    let mut new = new_cluster("a");
    new.password = Password::new("pw-a");
    store.create_cluster(&new).unwrap();
    let old_key = std::fs::read_to_string(key_file_path(&db.path)).unwrap();
    let (key, n) = store.rotate_key_file().unwrap();
    drop(store);
    assert_eq!(n, 1);
    let on_disk = std::fs::read_to_string(key_file_path(&db.path)).unwrap();
    assert_eq!(SecretKey::parse(&on_disk).unwrap(), key);
    assert_ne!(on_disk, old_key);
    assert_eq!(mode(&key_file_path(&db.path)), 0o600);
    let store = db.open();
    assert_eq!(store.list_clusters().unwrap()[0].password.expose(), "pw-a");
    store.check_passwords().unwrap();
}

#[test]
fn a_config_cluster_with_an_unchanged_password_is_not_rewritten() {
    let db = TempDb::new("secrets-upsert");
    let store = db.open();
    let first = store.upsert_config_cluster(&new_cluster("cfg")).unwrap();
    let again = store.upsert_config_cluster(&new_cluster("cfg")).unwrap();
    assert_eq!(first.updated_at, again.updated_at);
}

#[test]
fn another_programs_database_is_refused_untouched() {
    let db = TempDb::new("foreign");
    db.raw()
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);")
        .unwrap();
    match Store::open(&db.path) {
        Err(e @ Error::ForeignDatabase { .. }) => {
            assert!(e.to_string().contains("invoices"), "{e}")
        }
        other => panic!("expected ForeignDatabase, got {other:?}"),
    }
    let tables = db.count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'");
    assert_eq!(tables, 1);
    assert!(!key_file_path(&db.path).exists());
    // Another program's mark is refused too, even on an empty file.
    let other = TempDb::new("foreign-id");
    other
        .raw()
        .execute_batch("PRAGMA application_id = 42;")
        .unwrap();
    assert!(matches!(
        Store::open(&other.path),
        Err(Error::ForeignDatabase { .. })
    ));
}

#[test]
fn a_database_of_an_older_rockscope_is_adopted_and_marked() {
    let db = TempDb::new("adopt");
    {
        let store = db.open();
        store.create_cluster(&new_cluster("kept")).unwrap();
    }
    // What an older rockscope left: no application id.
    db.raw()
        .execute_batch("PRAGMA application_id = 0;")
        .unwrap();
    let store = db.open();
    assert_eq!(store.list_clusters().unwrap()[0].name, "kept");
    assert_eq!(db.count("PRAGMA application_id"), i64::from(APPLICATION_ID));
    // A new file is marked too.
    let fresh = TempDb::new("adopt-fresh");
    drop(fresh.open());
    assert_eq!(
        fresh.count("PRAGMA application_id"),
        i64::from(APPLICATION_ID)
    );
}
