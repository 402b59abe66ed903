//! The `remote_write_progress` table: how far each remote-write endpoint was sent each
//! cluster's cycles, so that a receiver's outage, a full queue or a restart of rockscope loses
//! nothing (the writer sends the stored cycles after `sent_until` before any newer one).

use std::collections::HashMap;

use rusqlite::params;
use time::OffsetDateTime;

use crate::columns::{from_ms, get, to_ms};
use crate::error::Result;
use crate::snapshots::query_all;
use crate::{Store, sql_limit};

impl Store {
    /// For the endpoint `endpoint` (its URL), the time of the newest cycle sent, by cluster id.
    pub fn remote_write_progress(&self, endpoint: &str) -> Result<HashMap<i64, OffsetDateTime>> {
        let conn = self.conn()?;
        let rows = query_all(
            &conn,
            "SELECT cluster_id, sent_until FROM remote_write_progress WHERE endpoint = ?1",
            params![endpoint],
            |row| {
                let id: i64 = get(row, 0, "remote_write_progress", "cluster_id")?;
                let at = from_ms(
                    get(row, 1, "remote_write_progress", "sent_until")?,
                    "remote_write_progress.sent_until",
                )?;
                Ok((id, at))
            },
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Records that `endpoint` was sent the cycles of each `(cluster_id, time)` up to that time,
    /// in one transaction. Progress never moves back; a cluster that no longer exists is
    /// skipped.
    pub fn save_remote_write_progress(
        &self,
        endpoint: &str,
        progress: &[(i64, OffsetDateTime)],
    ) -> Result<()> {
        self.tracked((|| {
            let mut conn = self.conn()?;
            let _turn = self.write_turn();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO remote_write_progress (endpoint, cluster_id, sent_until)
                     SELECT ?1, id, ?3 FROM clusters WHERE id = ?2
                     ON CONFLICT (endpoint, cluster_id)
                     DO UPDATE SET sent_until = MAX(sent_until, excluded.sent_until)",
                )?;
                for (cluster_id, at) in progress {
                    stmt.execute(params![endpoint, cluster_id, to_ms(*at)])?;
                }
            }
            tx.commit()?;
            Ok(())
        })())
    }

    /// Forgets the progress of every endpoint but `endpoints` (ones no longer configured).
    /// Returns how many rows went.
    pub fn forget_remote_write_endpoints(&self, endpoints: &[&str]) -> Result<usize> {
        self.tracked((|| {
            let conn = self.conn()?;
            let _turn = self.write_turn();
            let kept = serde_json::to_string(endpoints).unwrap_or_else(|_| "[]".to_owned());
            let n = conn.execute(
                "DELETE FROM remote_write_progress
                 WHERE endpoint NOT IN (SELECT value FROM json_each(?1))",
                params![kept],
            )?;
            Ok(n)
        })())
    }

    /// The times of the unreachable cycles of cluster `cluster_id` strictly after `after` and
    /// strictly before `before`, oldest first, at most `limit`: the `up 0` cycles a remote
    /// writer replays beside the stored snapshots.
    pub fn unreachable_cycles_between(
        &self,
        cluster_id: i64,
        after: OffsetDateTime,
        before: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<OffsetDateTime>> {
        let conn = self.conn()?;
        query_all(
            &conn,
            "SELECT at FROM cycle_outcomes
             WHERE cluster_id = ?1 AND at > ?2 AND at < ?3 AND reachable = 0
             ORDER BY at LIMIT ?4",
            params![cluster_id, to_ms(after), to_ms(before), sql_limit(limit)],
            |row| from_ms(get(row, 0, "cycle_outcomes", "at")?, "cycle_outcomes.at"),
        )
    }
}

#[cfg(test)]
mod tests {
    use rockscope_model::{CycleOutcome, Reachability};
    use time::macros::datetime;

    use crate::Store;
    use crate::tests::new_cluster;

    fn temp_store() -> Store {
        Store::open_temporary().unwrap()
    }

    #[test]
    fn progress_is_kept_per_endpoint_and_cluster_and_never_moves_back() {
        let store = temp_store();
        let a = store.create_cluster(&new_cluster("a")).unwrap().id;
        let b = store.create_cluster(&new_cluster("b")).unwrap().id;
        let t1 = datetime!(2026-01-01 0:00:01 UTC);
        let t2 = datetime!(2026-01-01 0:00:02 UTC);
        store
            .save_remote_write_progress("http://x/w", &[(a, t2), (b, t1)])
            .unwrap();
        store
            .save_remote_write_progress("http://x/w", &[(a, t1), (9999, t2)])
            .unwrap();
        store
            .save_remote_write_progress("http://y/w", &[(b, t2)])
            .unwrap();
        let x = store.remote_write_progress("http://x/w").unwrap();
        assert_eq!((x.len(), x[&a], x[&b]), (2, t2, t1));
        assert_eq!(store.remote_write_progress("http://y/w").unwrap()[&b], t2);
        assert_eq!(
            store
                .forget_remote_write_endpoints(&["http://y/w"])
                .unwrap(),
            2
        );
        assert!(
            store
                .remote_write_progress("http://x/w")
                .unwrap()
                .is_empty()
        );
        store.delete_cluster(b).unwrap();
        assert!(
            store
                .remote_write_progress("http://y/w")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn unreachable_cycles_are_listed_in_order_between_the_bounds() {
        let store = temp_store();
        let a = store.create_cluster(&new_cluster("a")).unwrap().id;
        let t = |s: i64| datetime!(2026-01-01 0:00 UTC) + time::Duration::seconds(s);
        for (s, reachability) in [
            (3, Reachability::Unreachable),
            (1, Reachability::Unreachable),
            (2, Reachability::Reachable),
            (4, Reachability::Unreachable),
            (5, Reachability::Unreachable),
        ] {
            let outcome = CycleOutcome {
                cluster_id: a,
                at: t(s),
                reachability,
            };
            store.record_outcome(&outcome).unwrap();
        }
        let got = store.unreachable_cycles_between(a, t(1), t(5), 10).unwrap();
        assert_eq!(got, [t(3), t(4)]);
        let got = store.unreachable_cycles_between(a, t(0), t(9), 2).unwrap();
        assert_eq!(got, [t(1), t(3)]);
    }
}
