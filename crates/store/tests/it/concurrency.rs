use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rockscope_model::NodeKind;

use crate::support::*;

#[test]
fn readers_run_while_a_writer_inserts() {
    let db = TempDb::new("concurrency");
    let store = db.open();
    let c = store.create_cluster(&new_cluster("a")).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    const CYCLES: i64 = 300;

    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..CYCLES {
                let at = t0() + secs(i);
                let nodes: Vec<_> = (0..3)
                    .map(|n| node(c.id, at, NodeKind::Be, &n.to_string(), i))
                    .collect();
                store
                    .insert_cycle(&full_snapshot(c.id, at, i), &nodes)
                    .unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut last_count = 0;
                let mut reads = 0u64;
                while !done.load(Ordering::Acquire) {
                    let count = store
                        .count_snapshots(c.id, t0(), t0() + secs(CYCLES))
                        .unwrap();
                    assert!(count >= last_count, "counts never go back");
                    last_count = count;
                    if let Some(latest) = store.latest_snapshot(c.id).unwrap() {
                        // A cycle is visible whole or not at all (a newer one may have
                        // committed in between: it has its 3 nodes as well).
                        let nodes = store.latest_nodes(c.id).unwrap();
                        assert_eq!(nodes.len(), 3);
                        assert!(nodes[0].collected_at >= latest.collected_at);
                    }
                    let points = store
                        .series(
                            c.id,
                            t0(),
                            t0() + secs(CYCLES),
                            &["qps", "avg_cpu_usage"],
                            50,
                        )
                        .unwrap();
                    assert!(points.len() <= 50);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    writer.join().unwrap();
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert_eq!(
        store
            .count_snapshots(c.id, t0(), t0() + secs(CYCLES))
            .unwrap(),
        CYCLES as u64
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM node_cycles"), CYCLES);
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
}
