use rockscope_store::{Error, NewCollectionError, NewRun};

use crate::support::*;

#[test]
fn runs_and_errors_are_recorded_and_listed_newest_first() {
    let db = TempDb::new("runs");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let b = store.create_cluster(&new_cluster("b")).unwrap();
    for i in 0..5 {
        store
            .record_run(&NewRun {
                started_at: t0() + secs(30 * i),
                duration_ms: 1000 + i as u64,
                clusters_total: 2,
                clusters_ok: 1,
                clusters_failed: 1,
            })
            .unwrap();
    }
    let runs = store.recent_runs(3).unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].started_at, t0() + secs(120));
    assert_eq!(
        (
            runs[0].duration_ms,
            runs[0].clusters_total,
            runs[0].clusters_ok,
            runs[0].clusters_failed
        ),
        (1004, 2, 1, 1)
    );

    for (i, c) in [a.id, b.id, a.id].into_iter().enumerate() {
        store
            .record_error(&NewCollectionError {
                cluster_id: c,
                at: t0() + secs(i as i64),
                stage: "discover".into(),
                code: "http_401".into(),
                message: format!("unauthorized as {}", ["ann", "bob", "cy"][i]),
            })
            .unwrap();
    }
    let errs = store.recent_errors(Some(a.id), 10).unwrap();
    assert_eq!(
        errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
        ["unauthorized as cy", "unauthorized as ann"]
    );
    assert_eq!(errs[0].cluster_id, a.id);
    assert_eq!(
        (errs[0].stage.as_str(), errs[0].code.as_str()),
        ("discover", "http_401")
    );
    assert_eq!(store.recent_errors(None, 10).unwrap().len(), 3);
    assert_eq!(
        store.recent_errors(None, 1).unwrap()[0].message,
        "unauthorized as cy"
    );
    assert!(matches!(
        store.record_error(&NewCollectionError {
            cluster_id: 999,
            at: t0(),
            stage: "x".into(),
            code: "y".into(),
            message: "z".into()
        }),
        Err(Error::NotFound(_))
    ));
}

#[test]
fn a_repeating_error_is_stored_once_with_its_count_and_first_and_last_time() {
    let db = TempDb::new("runs-repeat");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let error = |i: i64, code: &str, message: String| NewCollectionError {
        cluster_id: a.id,
        at: t0() + secs(30 * i),
        stage: "discover".into(),
        code: code.into(),
        message,
    };
    for i in 0..50 {
        // Only digits change from one attempt to the next: the same error.
        let message = format!(
            "connect to 127.0.0.1:{} failed after {} ms",
            9000 + i,
            5 * i
        );
        store.record_error(&error(i, "timeout", message)).unwrap();
    }
    store
        .record_error(&error(50, "http_401", "unauthorized".into()))
        .unwrap();
    store
        .record_error(&error(51, "timeout", "connection refused".into()))
        .unwrap();
    let errs = store.recent_errors(Some(a.id), 10).unwrap();
    assert_eq!(store.count_errors().unwrap(), 3);
    let repeated = &errs[2];
    assert_eq!(repeated.count, 50);
    assert_eq!(repeated.first_at, t0());
    assert_eq!(repeated.at, t0() + secs(30 * 49));
    assert_eq!(
        repeated.message,
        "connect to 127.0.0.1:9049 failed after 245 ms"
    );
    assert_eq!((errs[0].count, errs[0].first_at), (1, errs[0].at));
}

#[test]
fn the_error_log_is_bounded_per_cluster_and_in_all() {
    use rockscope_store::runs::{ERRORS_PER_CLUSTER, ERRORS_TOTAL};
    let db = TempDb::new("runs-bound");
    let store = db.open();
    let a = store.create_cluster(&new_cluster("a")).unwrap();
    let distinct = |cluster_id: i64, i: usize| NewCollectionError {
        cluster_id,
        at: t0() + secs(i as i64),
        stage: "scrape".into(),
        code: format!("code_{}", i % 7),
        message: "x".repeat(i % 300 + 1),
    };
    for i in 0..ERRORS_PER_CLUSTER + 30 {
        store.record_error(&distinct(a.id, i)).unwrap();
    }
    let kept = store.recent_errors(Some(a.id), usize::MAX).unwrap();
    assert_eq!(kept.len(), ERRORS_PER_CLUSTER);
    // The least recent were dropped.
    assert_eq!(kept.last().unwrap().at, t0() + secs(30));
    // Many clusters, one error each: the whole table stays near its cap.
    let clusters: Vec<i64> = (0..ERRORS_TOTAL / ERRORS_PER_CLUSTER + 20)
        .map(|i| {
            store
                .create_cluster(&new_cluster(&format!("c{i}")))
                .unwrap()
                .id
        })
        .collect();
    for (n, id) in clusters.iter().enumerate() {
        for i in 0..ERRORS_PER_CLUSTER {
            store.record_error(&distinct(*id, n * 1000 + i)).unwrap();
        }
    }
    let total = store.count_errors().unwrap();
    assert!(
        total <= (ERRORS_TOTAL + 64) as u64,
        "{total} rows, cap {ERRORS_TOTAL}"
    );
}
