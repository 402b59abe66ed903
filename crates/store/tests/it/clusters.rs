use rockscope_model::NodeKind;
use rockscope_store::{ClusterSource, ClusterUpdate, Error, NewCollectionError, Password};

use crate::support::*;

#[test]
fn create_get_list_update() {
    let db = TempDb::new("clusters-crud");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    assert_eq!(a.name, "a");
    assert_eq!(a.fe_hosts, ["10.0.0.1:8030", "10.0.0.2:8030"]);
    assert_eq!(a.username, "monitor");
    assert_eq!(a.password.expose(), "p@ss-word");
    assert_eq!(a.connect_timeout_secs, Some(3));
    assert_eq!(a.request_timeout_secs, None);
    assert!(a.enabled);
    assert_eq!(a.source, ClusterSource::Api);
    assert_eq!(a.created_at, a.updated_at);
    assert_eq!(store.get_cluster(a.id).unwrap(), a);
    assert_eq!(store.list_clusters().unwrap(), vec![a.clone(), b.clone()]);

    // Partial update: only what is given changes.
    let u = store
        .update_cluster(
            a.id,
            &ClusterUpdate {
                enabled: Some(false),
                request_timeout_secs: Some(Some(20)),
                connect_timeout_secs: Some(None),
                ..ClusterUpdate::default()
            },
        )
        .unwrap();
    assert!(!u.enabled);
    assert_eq!(u.request_timeout_secs, Some(20));
    assert_eq!(u.connect_timeout_secs, None);
    assert_eq!(
        (&u.name, &u.fe_hosts, &u.username),
        (&a.name, &a.fe_hosts, &a.username)
    );
    assert_eq!(u.password, a.password);
    assert_eq!(u.created_at, a.created_at);
    assert!(u.updated_at >= a.updated_at);

    let u = store
        .update_cluster(
            a.id,
            &ClusterUpdate {
                name: Some("a2".into()),
                fe_hosts: Some(vec!["h:1".into()]),
                username: Some("u".into()),
                password: Some(Password::new("new")),
                ..ClusterUpdate::default()
            },
        )
        .unwrap();
    assert_eq!(
        (u.name.as_str(), u.fe_hosts.as_slice(), u.username.as_str()),
        ("a2", &["h:1".to_owned()][..], "u")
    );
    assert_eq!(u.password.expose(), "new");
    assert_eq!(store.get_cluster(a.id).unwrap(), u);
}

#[test]
fn duplicate_names_conflict_and_unknown_ids_are_not_found() {
    let db = TempDb::new("clusters-errors");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    match store.create_cluster(&new_cluster("a")) {
        Err(Error::Conflict(msg)) => assert!(msg.contains("`a`"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let rename = ClusterUpdate {
        name: Some("a".into()),
        ..ClusterUpdate::default()
    };
    assert!(matches!(
        store.update_cluster(b.id, &rename),
        Err(Error::Conflict(_))
    ));
    assert_eq!(store.get_cluster(b.id).unwrap().name, "b", "rolled back");
    // Renaming to its own name is fine.
    store.update_cluster(a.id, &rename).unwrap();

    let missing = b.id + 100;
    assert!(
        matches!(store.get_cluster(missing), Err(Error::NotFound(m)) if m.contains(&missing.to_string()))
    );
    assert!(matches!(
        store.update_cluster(missing, &ClusterUpdate::default()),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.delete_cluster(missing),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.insert_cycle(&sparse_snapshot(missing, t0()), &[]),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.upsert_daily(&daily(missing, t0().date(), 1)),
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.list_clusters().unwrap().len(), 2);
}

#[test]
fn delete_cascades_to_all_of_the_clusters_data_only() {
    let db = TempDb::new("clusters-cascade");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    for c in [&a, &b] {
        for i in 0..30 {
            let at = t0() + secs(30 * i);
            store
                .insert_cycle(
                    &full_snapshot(c.id, at, i),
                    &[
                        node(c.id, at, NodeKind::Fe, "fe1", 1),
                        node(c.id, at, NodeKind::Be, "10001", 2),
                    ],
                )
                .unwrap();
        }
        store.upsert_daily(&daily(c.id, t0().date(), 1)).unwrap();
        store
            .record_error(&NewCollectionError {
                cluster_id: c.id,
                at: t0(),
                stage: "scrape".into(),
                code: "timeout".into(),
                message: "slow".into(),
            })
            .unwrap();
    }
    store.delete_cluster(a.id).unwrap();
    assert!(matches!(store.get_cluster(a.id), Err(Error::NotFound(_))));
    for table in [
        "metrics_snapshots",
        "node_cycles",
        "node_identities",
        "daily_snapshots",
        "collection_errors",
    ] {
        assert_eq!(
            db.count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE cluster_id = {}",
                a.id
            )),
            0,
            "{table}"
        );
        assert!(
            db.count(&format!(
                "SELECT COUNT(*) FROM {table} WHERE cluster_id = {}",
                b.id
            )) > 0,
            "{table}"
        );
    }
    assert_eq!(
        store
            .count_snapshots(b.id, t0(), t0() + secs(3600))
            .unwrap(),
        30
    );
    // Ids are never reused.
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    assert!(c.id > b.id);
    assert_eq!(store.latest_snapshot(c.id).unwrap(), None);
}

#[test]
fn config_clusters_are_upserted_by_name() {
    let db = TempDb::new("clusters-config");
    let store = db.open();
    let first = store.upsert_config_cluster(&new_cluster("cfg")).unwrap();
    assert_eq!(first.source, ClusterSource::Config);

    // The same declaration again changes nothing, not even updated_at.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let again = store.upsert_config_cluster(&new_cluster("cfg")).unwrap();
    assert_eq!(again, first);

    // `enabled` set through the API survives; connection settings follow the file.
    store
        .update_cluster(
            first.id,
            &ClusterUpdate {
                enabled: Some(false),
                ..ClusterUpdate::default()
            },
        )
        .unwrap();
    let mut changed = new_cluster("cfg");
    changed.fe_hosts = vec!["10.9.9.9:8030".into()];
    changed.password = Password::new("rotated");
    let updated = store.upsert_config_cluster(&changed).unwrap();
    assert_eq!(updated.id, first.id);
    assert_eq!(updated.fe_hosts, ["10.9.9.9:8030"]);
    assert_eq!(updated.password.expose(), "rotated");
    assert!(!updated.enabled);
    assert!(updated.updated_at > first.updated_at);

    // An API cluster of the same name is taken over by the configuration.
    let api = store.create_cluster(&new_cluster("shared")).unwrap();
    let taken = store.upsert_config_cluster(&new_cluster("shared")).unwrap();
    assert_eq!((taken.id, taken.source), (api.id, ClusterSource::Config));
    assert_eq!(store.list_clusters().unwrap().len(), 2);
}
