//! Custom metric values: written with their cycle, read back with the snapshots and the nodes,
//! rolled up with the daily row, expired with the snapshots; and the stored definitions.

use std::collections::BTreeMap;

use rockscope_model::{CustomMetricSpec, MetricsSnapshot, NodeKind, NodeSnapshot};
use rockscope_store::{CustomDaily, Error, Store};
use time::OffsetDateTime;
use time::macros::date;

use crate::support::*;

fn values(pairs: &[(&str, Option<f64>)]) -> BTreeMap<String, Option<f64>> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn node_values(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// A cycle at `at`: a sparse snapshot with `custom`, and an FE (no custom value) and two BEs,
/// the first with `hits` = `seed`, the second with `hits` and `lag`.
fn cycle(
    cluster_id: i64,
    at: OffsetDateTime,
    custom: BTreeMap<String, Option<f64>>,
    seed: i64,
) -> (MetricsSnapshot, Vec<NodeSnapshot>) {
    let mut snapshot = sparse_snapshot(cluster_id, at);
    snapshot.custom = custom;
    let fe = node(cluster_id, at, NodeKind::Fe, "fe1", seed);
    let mut be1 = node(cluster_id, at, NodeKind::Be, "10001", seed);
    be1.custom = node_values(&[("hits", seed as f64)]);
    let mut be2 = node(cluster_id, at, NodeKind::Be, "10002", seed);
    be2.custom = node_values(&[("hits", seed as f64 + 0.5), ("lag", -1.25)]);
    (snapshot, vec![fe, be1, be2])
}

fn insert(store: &Store, (snapshot, nodes): &(MetricsSnapshot, Vec<NodeSnapshot>)) {
    store.insert_cycle(snapshot, nodes).unwrap();
}

#[test]
fn a_cycles_custom_values_are_read_back_with_its_snapshot_and_nodes() {
    let db = TempDb::new("custom-read");
    let store = db.open();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let other = store.create_cluster(&new_cluster("b")).unwrap().id;
    let cycles = [
        // `gone` is in force only in the first cycle (a definition removed since); a null value
        // is a definition in force whose series no node had.
        cycle(
            id,
            t0(),
            values(&[("hits", Some(1.5)), ("gone", Some(7.0)), ("lag", None)]),
            1,
        ),
        cycle(
            id,
            t0() + secs(60),
            values(&[("hits", Some(2.5)), ("lag", None)]),
            2,
        ),
        cycle(
            id,
            t0() + secs(120),
            values(&[("hits", None), ("lag", Some(0.0))]),
            3,
        ),
    ];
    for c in &cycles {
        insert(&store, c);
    }
    // Another cluster's values at the same times never leak.
    insert(
        &store,
        &cycle(other, t0() + secs(120), values(&[("hits", Some(99.0))]), 9),
    );

    let latest = store.latest_snapshot(id).unwrap().unwrap();
    assert_eq!(latest, cycles[2].0);
    assert_eq!(latest.custom, values(&[("hits", None), ("lag", Some(0.0))]));
    assert_eq!(store.latest_nodes(id).unwrap(), cycles[2].1);

    let range = store
        .snapshots_range(id, t0(), t0() + secs(120), 2)
        .unwrap();
    assert_eq!(range, [cycles[0].0.clone(), cycles[1].0.clone()]);
    assert_eq!(
        store.snapshots_of_day(id, t0().date()).unwrap(),
        cycles.iter().map(|c| c.0.clone()).collect::<Vec<_>>()
    );
    let nodes = store
        .nodes_range(id, t0() + secs(60), t0() + secs(120), 100)
        .unwrap();
    let expected: Vec<NodeSnapshot> = cycles[1..].iter().flat_map(|c| c.1.clone()).collect();
    assert_eq!(nodes, expected);
    assert_eq!(
        store.latest_snapshot(other).unwrap().unwrap().custom,
        values(&[("hits", Some(99.0))])
    );
    // The all-clusters summaries have no custom values (their type has no place for them): one
    // query, whatever the clusters.
    let summaries = store.cluster_summaries().unwrap();
    assert_eq!(summaries.len(), 2);
    assert!(summaries.iter().all(|s| s.latest.is_some()));

    // Names with values (null ones too) in a range: a removed definition's history included.
    let all = store.custom_names(id, t0(), t0() + secs(120)).unwrap();
    assert_eq!(all, ["gone", "hits", "lag"]);
    let later = store
        .custom_names(id, t0() + secs(1), t0() + secs(120))
        .unwrap();
    assert_eq!(later, ["hits", "lag"]);
    assert!(
        store
            .custom_names(id, t0() + secs(121), t0() + secs(999))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn a_value_that_is_not_finite_is_stored_as_null_and_a_cycle_without_custom_values_has_none() {
    let db = TempDb::new("custom-finite");
    let store = db.open();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let (mut snapshot, mut nodes) = cycle(
        id,
        t0(),
        values(&[("inf", Some(f64::INFINITY)), ("nan", Some(f64::NAN))]),
        1,
    );
    nodes[1].custom = node_values(&[("hits", f64::NAN), ("ok", 3.0)]);
    store.insert_cycle(&snapshot, &nodes).unwrap();
    let read = store.latest_snapshot(id).unwrap().unwrap();
    assert_eq!(read.custom, values(&[("inf", None), ("nan", None)]));
    assert_eq!(
        store.latest_nodes(id).unwrap()[1].custom,
        node_values(&[("ok", 3.0)])
    );

    snapshot.custom.clear();
    snapshot.collected_at = t0() + secs(60);
    let plain: Vec<NodeSnapshot> = nodes
        .into_iter()
        .map(|mut n| {
            n.collected_at = snapshot.collected_at;
            n.custom.clear();
            n
        })
        .collect();
    store.insert_cycle(&snapshot, &plain).unwrap();
    assert!(
        store
            .latest_snapshot(id)
            .unwrap()
            .unwrap()
            .custom
            .is_empty()
    );
    assert_eq!(store.latest_nodes(id).unwrap(), plain);
}

#[test]
fn a_failed_cycle_stores_none_of_its_custom_values() {
    let db = TempDb::new("custom-atomic");
    let store = db.open();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    insert(&store, &cycle(id, t0(), values(&[("hits", Some(1.0))]), 1));
    // The same millisecond again: refused as a whole.
    let again = cycle(id, t0(), values(&[("other", Some(2.0))]), 2);
    assert!(matches!(
        store.insert_cycle(&again.0, &again.1),
        Err(Error::Conflict(_))
    ));
    // An unknown cluster: refused, nothing written.
    let orphan = cycle(id + 100, t0(), values(&[("hits", Some(3.0))]), 3);
    assert!(matches!(
        store.insert_cycle(&orphan.0, &orphan.1),
        Err(Error::NotFound(_))
    ));
    assert_eq!(db.count("SELECT COUNT(*) FROM custom_values"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM custom_node_values"), 3);
}

#[test]
fn two_nodes_with_one_id_keep_their_cycle_and_the_first_value_of_each_name() {
    let db = TempDb::new("custom-duplicate-node");
    let store = db.open();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let (snapshot, mut nodes) = cycle(id, t0(), values(&[("hits", Some(1.0))]), 1);
    // A malformed node list: the second BE has the first one's id.
    nodes[2].node_id = nodes[1].node_id.clone();
    store.insert_cycle(&snapshot, &nodes).unwrap();
    let read = store.latest_nodes(id).unwrap();
    assert_eq!(read.len(), 3);
    // Both rows read the one stored identity: the first node's `hits`, the second's `lag`.
    let merged = node_values(&[("hits", 1.0), ("lag", -1.25)]);
    assert_eq!((&read[1].custom, &read[2].custom), (&merged, &merged));
}

#[test]
fn the_days_custom_roll_up_is_written_with_its_daily_row() {
    let db = TempDb::new("custom-daily");
    let store = db.open();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let day = date!(2025 - 03 - 01);
    let at = |s: i64| t0() + secs(s);
    // The day before and the day after count for their own days only.
    insert(
        &store,
        &cycle(id, at(-1), values(&[("hits", Some(1000.0))]), 0),
    );
    let today = [
        values(&[("hits", Some(1.0)), ("idle", None)]),
        values(&[("hits", None), ("idle", None)]),
        values(&[("hits", Some(4.0)), ("idle", None)]),
        values(&[("hits", Some(-2.5)), ("idle", None), ("new", Some(8.0))]),
    ];
    for (i, custom) in today.into_iter().enumerate() {
        insert(&store, &cycle(id, at(3600 * i as i64), custom, i as i64));
    }
    insert(
        &store,
        &cycle(id, at(86_400), values(&[("hits", Some(-1000.0))]), 9),
    );
    assert!(store.custom_daily_range(id, day, day).unwrap().is_empty());

    let expected = vec![
        CustomDaily {
            cluster_id: id,
            date: day,
            name: "hits".into(),
            avg: Some(2.5 / 3.0),
            min: Some(-2.5),
            max: Some(4.0),
            samples: 3,
        },
        CustomDaily {
            cluster_id: id,
            date: day,
            name: "idle".into(),
            avg: None,
            min: None,
            max: None,
            samples: 0,
        },
        CustomDaily {
            cluster_id: id,
            date: day,
            name: "new".into(),
            avg: Some(8.0),
            min: Some(8.0),
            max: Some(8.0),
            samples: 1,
        },
    ];
    for _ in 0..2 {
        // Idempotent, like the daily row.
        store.upsert_daily(&daily(id, day, 1)).unwrap();
        assert_eq!(
            store
                .custom_daily_range(id, day.previous_day().unwrap(), day.next_day().unwrap())
                .unwrap(),
            expected
        );
    }
    let json = serde_json::to_value(&expected[0]).unwrap();
    assert_eq!(json["date"], "2025-03-01");
    assert_eq!(json["samples"], 3);
    // A daily row refused (unknown cluster) writes no roll-up either.
    assert!(matches!(
        store.upsert_daily(&daily(id + 100, day, 1)),
        Err(Error::NotFound(_))
    ));
    assert_eq!(db.count("SELECT COUNT(*) FROM custom_daily"), 3);
}

#[test]
fn custom_values_expire_with_the_snapshots_and_go_with_their_cluster() {
    let db = TempDb::new("custom-retention");
    let store = db.open();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let kept = store.create_cluster(&new_cluster("b")).unwrap().id;
    let (day1, day2) = (date!(2025 - 03 - 01), date!(2025 - 03 - 02));
    // Five cycles on each of two days, the names changing on the way.
    for c in [id, kept] {
        for i in 0..10i64 {
            let custom = if i < 3 {
                values(&[("old", Some(i as f64)), ("hits", Some(1.0))])
            } else {
                values(&[("hits", Some(i as f64)), ("lag", None)])
            };
            let at = t0() + secs(3600 * (i % 5)) + secs(86_400 * (i / 5));
            insert(&store, &cycle(c, at, custom, i));
        }
    }
    let count = |table: &str, c: i64| {
        db.count(&format!(
            "SELECT COUNT(*) FROM {table} WHERE cluster_id = {c}"
        ))
    };
    assert_eq!(
        (count("custom_values", id), count("custom_node_values", id)),
        (20, 30)
    );
    store.upsert_daily(&daily(id, day1, 1)).unwrap();

    // Day 2 has no daily row: retention spares it whatever the cut-off; day 1 goes, in
    // batches of 2 rows of the key-only tables too.
    let after = t0() + secs(86_400 * 3);
    let deleted = store.delete_expired_snapshots(after, 2).unwrap();
    assert_eq!(deleted, 5, "day 1 of `a` only");
    let read = store.snapshots_range(id, t0(), after, 100).unwrap();
    assert_eq!(read.len(), 5);
    assert!(read.iter().all(|s| s.collected_at.date() == day2));
    assert!(read.iter().all(|s| s.custom.contains_key("hits")));
    assert_eq!(
        (count("custom_values", id), count("custom_node_values", id)),
        (10, 15)
    );
    assert_eq!(
        db.count(&format!(
            "SELECT MIN(collected_at) FROM custom_values WHERE cluster_id = {id}"
        )),
        (day2.midnight().assume_utc().unix_timestamp() * 1000)
    );
    assert_eq!(
        store.custom_names(id, t0(), after).unwrap(),
        ["hits", "lag"]
    );
    // `b` had no daily row at all: nothing of it is deleted.
    assert_eq!(count("custom_values", kept), 20);

    // The custom daily rows go with the daily rows.
    assert_eq!(count("custom_daily", id), 3, "old, hits and lag on day 1");
    assert_eq!(store.delete_daily_before(day2).unwrap(), 1);
    assert_eq!(count("custom_daily", id), 0);

    // A definition's removal deletes nothing; the cluster's deletion everything.
    store.delete_cluster(id).unwrap();
    for table in ["custom_values", "custom_node_values", "custom_daily"] {
        assert_eq!(count(table, id), 0, "{table}");
    }
    assert_eq!(count("custom_values", kept), 20);
}

fn spec(name: &str, metric: &str) -> CustomMetricSpec {
    CustomMetricSpec {
        name: name.into(),
        metric: metric.into(),
        matchers: r#"{path=~"/data[0-9]+"}"#.into(),
        node_types: vec!["be".into(), "cn".into()],
        aggregate: "sum".into(),
        rate: true,
        ratio_of: Some("lookups".into()),
        unit: Some("ratio".into()),
        description: Some("page cache hits".into()),
        per_node: true,
    }
}

#[test]
fn custom_metric_definitions_are_stored_like_the_user_rules() {
    let db = TempDb::new("custom-specs");
    let store = db.open();
    assert!(store.custom_metric_specs().unwrap().is_empty());
    let hits = spec("hits", "starrocks_be_storage_page_cache_hit_count");
    let lookups = spec("lookups", "starrocks_be_storage_page_cache_lookup_count");
    store.insert_custom_metric(&hits).unwrap();
    store.insert_custom_metric(&lookups).unwrap();
    assert_eq!(
        store.custom_metric_specs().unwrap(),
        [hits.clone(), lookups.clone()],
        "in creation order, every key kept"
    );
    let duplicate = store.insert_custom_metric(&spec("hits", "x"));
    assert!(
        matches!(&duplicate, Err(Error::Conflict(m)) if m.contains("custom metric named `hits`")),
        "{duplicate:?}"
    );

    let renamed = spec("hit_count", "starrocks_be_storage_page_cache_hit_count");
    assert!(store.replace_custom_metric("hits", &renamed).unwrap());
    assert!(!store.replace_custom_metric("hits", &renamed).unwrap());
    assert!(matches!(
        store.replace_custom_metric("hit_count", &lookups),
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        store.custom_metric_specs().unwrap(),
        [renamed.clone(), lookups.clone()],
        "a replaced definition keeps its place"
    );

    // Removing a definition keeps its values.
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    insert(
        &store,
        &cycle(id, t0(), values(&[("lookups", Some(4.0))]), 1),
    );
    assert!(store.delete_custom_metric("lookups").unwrap());
    assert!(!store.delete_custom_metric("lookups").unwrap());
    assert_eq!(store.custom_metric_specs().unwrap(), [renamed]);
    assert_eq!(
        store.latest_snapshot(id).unwrap().unwrap().custom,
        values(&[("lookups", Some(4.0))])
    );
    // The alert rules are another table.
    assert!(store.user_rules().unwrap().is_empty());
}
