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
                message: format!("unauthorized {i}"),
            })
            .unwrap();
    }
    let errs = store.recent_errors(Some(a.id), 10).unwrap();
    assert_eq!(
        errs.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(),
        ["unauthorized 2", "unauthorized 0"]
    );
    assert_eq!(errs[0].cluster_id, a.id);
    assert_eq!(
        (errs[0].stage.as_str(), errs[0].code.as_str()),
        ("discover", "http_401")
    );
    assert_eq!(store.recent_errors(None, 10).unwrap().len(), 3);
    assert_eq!(
        store.recent_errors(None, 1).unwrap()[0].message,
        "unauthorized 2"
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
