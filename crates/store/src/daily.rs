//! The `daily_snapshots` table (one roll-up per cluster and UTC day) and the queries the daily
//! aggregation needs: which days have snapshots, a day's snapshots (whole, or only what the
//! roll-up reads), whether a day is done. The cycle outcomes it also reads are in
//! [`crate::outcomes`].
//!
//! A day is "done" for a cluster exactly when its daily row exists ([`Store::daily_done`]): the
//! aggregation writes the row last, with [`Store::upsert_daily`], so an interrupted aggregation
//! is simply redone (the upsert is idempotent).

use std::sync::LazyLock;

use rockscope_model::{DailyInput, DailySnapshot, MetricsSnapshot};
use rusqlite::types::ToSql;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use time::{Date, OffsetDateTime};

use crate::Store;
use crate::columns::{
    column_list, daily, daily_input, date_text, day_of_ms, day_start_ms, from_ms, get, insert_sql,
    parse_date, to_ms,
};
use crate::custom;
use crate::error::{Constraint, Error, Result, constraint_of};
use crate::snapshots::{metric_select, query_all};

static SELECT_DAILY_INPUTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT cluster_id, collected_at, {} FROM metrics_snapshots \
         WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at < ?3 \
         ORDER BY collected_at",
        column_list(daily_input::COLUMNS, "")
    )
});

const DAILY_EXTRA: [&str; 4] = ["cluster_id", "date", "first_at", "last_at"];

static UPSERT_DAILY: LazyLock<String> = LazyLock::new(|| {
    let updates: Vec<String> = DAILY_EXTRA[2..]
        .iter()
        .copied()
        .chain(daily::COLUMNS.iter().map(|c| c.name))
        .map(|name| format!("{name} = excluded.{name}"))
        .collect();
    format!(
        "{} ON CONFLICT (cluster_id, date) DO UPDATE SET {}",
        insert_sql(daily::TABLE, &DAILY_EXTRA, daily::COLUMNS),
        updates.join(", ")
    )
});

static SELECT_DAILY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}, {}",
        DAILY_EXTRA.join(", "),
        column_list(daily::COLUMNS, "")
    )
});

fn daily_from_row(row: &Row<'_>) -> Result<DailySnapshot> {
    const T: &str = "daily_snapshots";
    let cluster_id: i64 = get(row, 0, T, "cluster_id")?;
    let date: String = get(row, 1, T, "date")?;
    let first_at = from_ms(get(row, 2, T, "first_at")?, "daily_snapshots.first_at")?;
    let last_at = from_ms(get(row, 3, T, "last_at")?, "daily_snapshots.last_at")?;
    daily::from_row(
        row,
        4,
        cluster_id,
        parse_date(&date, "daily_snapshots.date")?,
        first_at,
        last_at,
    )
}

/// The UTC midnight after `date`, in Unix ms (`i64::MAX` after the last representable day).
pub(crate) fn next_day_start_ms(date: Date) -> i64 {
    date.next_day().map(day_start_ms).unwrap_or(i64::MAX)
}

impl Store {
    /// Insert the daily row of `(cluster_id, date)`, or replace every figure of the existing one
    /// (idempotent), and with it, in the same transaction, the day's roll-up of every custom
    /// metric ([`Store::custom_daily_range`], from that day's custom values).
    /// [`Error::NotFound`] when the cluster does not exist.
    pub fn upsert_daily(&self, row: &DailySnapshot) -> Result<()> {
        self.tracked((|| {
            let mut conn = self.conn()?;
            let _turn = self.write_turn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let date = date_text(row.date);
            let (first, last) = (to_ms(row.first_at), to_ms(row.last_at));
            let mut bound: Vec<&dyn ToSql> = vec![&row.cluster_id, &date, &first, &last];
            bound.extend(daily::params(row));
            tx.prepare_cached(&UPSERT_DAILY)?
                .execute(bound.as_slice())
                .map_err(|e| match constraint_of(&e) {
                    Some(Constraint::ForeignKey) => {
                        Error::NotFound(format!("cluster {}", row.cluster_id))
                    }
                    _ => Error::Sqlite(e),
                })?;
            custom::roll_up_day(&tx, row.cluster_id, row.date)?;
            tx.commit()?;
            Ok(())
        })())
    }

    /// The daily rows of cluster `cluster_id` from `from_date` to `to_date` (both included),
    /// oldest first.
    pub fn daily_range(
        &self,
        cluster_id: i64,
        from_date: Date,
        to_date: Date,
    ) -> Result<Vec<DailySnapshot>> {
        let conn = self.conn()?;
        let sql = format!(
            "SELECT {} FROM daily_snapshots \
             WHERE cluster_id = ?1 AND date >= ?2 AND date <= ?3 ORDER BY date",
            *SELECT_DAILY
        );
        query_all(
            &conn,
            &sql,
            params![cluster_id, date_text(from_date), date_text(to_date)],
            daily_from_row,
        )
    }

    /// Whether the daily row of `(cluster_id, date)` exists (the day's aggregation is done).
    pub fn daily_done(&self, cluster_id: i64, date: Date) -> Result<bool> {
        let conn = self.conn()?;
        let found = conn
            .query_row(
                "SELECT 1 FROM daily_snapshots WHERE cluster_id = ?1 AND date = ?2",
                params![cluster_id, date_text(date)],
                |_| Ok(()),
            )
            .optional()?;
        Ok(found.is_some())
    }

    /// The snapshots of cluster `cluster_id` collected on the UTC day `date`
    /// (`[00:00, next 00:00)`), oldest first.
    pub fn snapshots_of_day(&self, cluster_id: i64, date: Date) -> Result<Vec<MetricsSnapshot>> {
        let sql = format!(
            "SELECT {} FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at < ?3 \
             ORDER BY collected_at",
            metric_select("")
        );
        self.read_snapshots(
            &sql,
            params![cluster_id, day_start_ms(date), next_day_start_ms(date)],
        )
    }

    /// The [`DailyInput`]s of the snapshots of cluster `cluster_id` collected in `[from, to)`,
    /// oldest first: the snapshots narrowed to the 17 fields the daily roll-up reads (over
    /// `rockscope_engine::rollup_window` of the day rolled up). Decoding every column of a day's
    /// rows is most of a roll-up's time; these read about a third as long
    /// (`docs/BENCHMARKS.md`, "Storage").
    pub fn daily_inputs(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<DailyInput>> {
        let conn = self.conn()?;
        query_all(
            &conn,
            &SELECT_DAILY_INPUTS,
            params![cluster_id, to_ms(from), to_ms(to)],
            |r| {
                let cluster_id = get(r, 0, daily_input::TABLE, "cluster_id")?;
                let collected_at = from_ms(
                    get(r, 1, daily_input::TABLE, "collected_at")?,
                    "metrics_snapshots.collected_at",
                )?;
                daily_input::from_row(r, 2, cluster_id, collected_at)
            },
        )
    }

    /// The UTC days from `from_date` on that hold at least one snapshot of cluster `cluster_id`,
    /// in order (for the daily aggregation's catch-up). One index seek per day found, however
    /// many snapshots a day holds.
    pub fn days_with_snapshots(&self, cluster_id: i64, from_date: Date) -> Result<Vec<Date>> {
        days_with_rows(
            self,
            "SELECT MIN(collected_at) FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2",
            "metrics_snapshots.collected_at",
            cluster_id,
            from_date,
        )
    }
}

/// The UTC days from `from_date` on with a row of cluster `cluster_id`, in order: `min_sql`
/// (`SELECT MIN(time) ... WHERE cluster_id = ?1 AND time >= ?2`, a literal of this crate) is
/// asked once per day found, from the start of the next day on, so each day costs one index seek.
pub(crate) fn days_with_rows(
    store: &Store,
    min_sql: &str,
    what: &str,
    cluster_id: i64,
    from_date: Date,
) -> Result<Vec<Date>> {
    let conn = store.conn()?;
    let mut stmt = conn.prepare_cached(min_sql)?;
    let mut days = Vec::new();
    let mut from = day_start_ms(from_date);
    loop {
        let first: Option<i64> = stmt.query_row(params![cluster_id, from], |r| r.get(0))?;
        let Some(ms) = first else { break };
        let day = day_of_ms(ms, what)?;
        days.push(day);
        let next = next_day_start_ms(day);
        if next == i64::MAX {
            break;
        }
        from = next;
    }
    Ok(days)
}
