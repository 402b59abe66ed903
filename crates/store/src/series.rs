//! Downsampled series and range statistics.
//!
//! [`Store::series`] cuts `from..=to` into `max_points` equal buckets,
//! `bucket = min(max_points − 1, (collected_at − from) × max_points / (to − from))` in integer
//! arithmetic, and gives per non-empty bucket the mean `collected_at`, the row count, and the mean
//! and maximum of every requested field. Field names are checked against the numeric snapshot
//! columns ([`Store::numeric_metric_fields`]) before any SQL is built; only those known names
//! reach the statement text, every value is bound.
//!
//! [`Store::series_with_stats`] computes it, and the range statistics of [`Store::range_stats`]
//! with it, from one scan: SQL streams the range's rows (`collected_at` and the asked columns
//! only) in the order of the `(cluster_id, collected_at)` index, and Rust cuts them into the
//! buckets (a bucket's rows are contiguous, so no sort and no temporary B-tree), keeping per
//! bucket and per range the count, sum, minimum and maximum of each field. Sums are taken as
//! SQLite's `AVG` takes them (`SqlSum`), so every mean is the one `AVG` would give, to the bit;
//! 2 × 4 accumulator steps per value cost a third of what 4 SQL aggregate functions per field
//! do (11 ms against 30 ms for a week of one cluster, `docs/BENCHMARKS.md`). The cluster overview
//! asks for [`OVERVIEW_FIELDS`], which the covering index `metrics_snapshots_overview` holds, so
//! its scan reads only that index, never the table. [`Store::range_stats`] is the same scan's
//! statistics alone.
//!
//! [`Store::series_with_stats_custom`] adds custom metrics ([`crate::custom`]): the snapshot scan
//! makes the buckets as above, then each custom name is one range scan of `custom_values`' key
//! (`(cluster_id, name, collected_at)`, time order) whose values are folded into the bucket the
//! same formula gives (`Grid`, the one bucket formula; `Buckets`, the one accumulation), so the
//! built-in and custom values of a point cannot drift apart.

use rusqlite::params;
use rusqlite::types::ValueRef;
use serde::Serialize;
use time::OffsetDateTime;

use crate::Store;
use crate::columns::{from_ms, get, numeric_metric, to_ms};
use crate::error::{Error, Result};

/// The most buckets [`Store::series`] makes, whatever `max_points` asked.
pub const MAX_SERIES_POINTS: usize = 10_000;

/// The snapshot fields the cluster overview reads for its trends and statistics, in the API's
/// order: the six performance trends (`qps` … `query_error_rate`), then the eight resource
/// trends. The API maps its JSON keys onto these names.
///
/// The index `metrics_snapshots_overview` (schema version 2) is
/// `(cluster_id, collected_at, <these fields>)`, so [`Store::series_with_stats`] over these fields
/// reads the index alone (`USING COVERING INDEX`, checked by a test). A field added here that the
/// index lacks makes that query read the table again: add a migration that rebuilds the index
/// with it (the test fails until then).
pub const OVERVIEW_FIELDS: [&str; 14] = [
    "qps",
    "rps",
    "query_latency_p50",
    "query_latency_p95",
    "query_latency_p99",
    "query_error_rate",
    "avg_cpu_usage",
    "avg_memory_usage",
    "disk_usage_pct",
    "jvm_heap_usage_pct",
    "network_send_rate",
    "network_receive_rate",
    "io_read_rate",
    "io_write_rate",
];

/// One field's aggregate over one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BucketValue {
    /// The mean of the field's non-null values in the bucket (`None` when all were null).
    pub avg: Option<f64>,
    /// The largest non-null value in the bucket.
    pub max: Option<f64>,
}

/// One point of a downsampled series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// The mean `collected_at` of the bucket's snapshots (a snapshot's own time when the bucket
    /// holds only one).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// How many snapshots the bucket holds (at least 1).
    pub count: u64,
    /// One aggregate per requested field, in the order of the `fields` argument.
    pub values: Vec<BucketValue>,
}

/// One field's statistics over a range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldStats {
    /// The field's name.
    pub field: String,
    /// Snapshots in the range where the field is not null.
    pub count: u64,
    /// Mean of the non-null values.
    pub avg: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
}

/// A downsampled series and the statistics over the same range, from one scan
/// ([`Store::series_with_stats`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesWithStats {
    /// What [`Store::series`] gives for the same arguments.
    pub points: Vec<SeriesPoint>,
    /// What [`Store::range_stats`] gives for the same arguments (one entry per field, in order).
    pub stats: Vec<FieldStats>,
}

/// A sum as SQLite's `SUM`/`TOTAL`/`AVG` take it (`sumStep` in SQLite's `func.c`, 3.43 and
/// later): exact in an `i64` while only integers came, else a Kahan–Babuška–Neumaier sum of
/// doubles. So `total() / count` is, to the bit, what `AVG` returns over the same values in the
/// same order.
#[derive(Debug, Clone, Copy, Default)]
struct SqlSum {
    count: i64,
    int_sum: i64,
    approx: bool,
    sum: f64,
    err: f64,
}

/// Integers of this magnitude or more are added in two parts (as SQLite does).
const BIG: i64 = 4_503_599_627_370_496;

impl SqlSum {
    fn start_approx(&mut self) {
        self.approx = true;
        if self.int_sum <= -BIG || self.int_sum >= BIG {
            let small = self.int_sum % 16_384;
            self.sum = (self.int_sum - small) as f64;
            self.err = small as f64;
        } else {
            self.sum = self.int_sum as f64;
            self.err = 0.0;
        }
    }

    fn step(&mut self, r: f64) {
        let (s, t) = (self.sum, self.sum + r);
        if s.abs() > r.abs() {
            self.err += (s - t) + r;
        } else {
            self.err += (r - t) + s;
        }
        self.sum = t;
    }

    fn step_int(&mut self, x: i64) {
        if x <= -BIG || x >= BIG {
            let small = x % 16_384;
            self.step((x - small) as f64);
            self.step(small as f64);
        } else {
            self.step(x as f64);
        }
    }

    fn add_real(&mut self, r: f64) {
        self.count += 1;
        if !self.approx {
            self.start_approx();
        }
        self.step(r);
    }

    fn add_int(&mut self, x: i64) {
        self.count += 1;
        if self.approx {
            self.step_int(x);
        } else if let Some(sum) = self.int_sum.checked_add(x) {
            self.int_sum = sum;
        } else {
            self.start_approx();
            self.step_int(x);
        }
    }

    fn total(&self) -> f64 {
        if !self.approx {
            self.int_sum as f64
        } else if self.err.is_finite() {
            self.sum + self.err
        } else {
            self.sum
        }
    }

    /// `AVG`: `None` without a value.
    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.total() / self.count as f64)
    }
}

/// One field's count, sum, minimum and maximum over a bucket or the range.
#[derive(Debug, Clone, Copy, Default)]
struct FieldAcc {
    sum: SqlSum,
    min: Option<f64>,
    max: Option<f64>,
}

impl FieldAcc {
    /// Adds `value`, read from `table.column` (named only in the error for a value that is not
    /// a number).
    fn add(&mut self, value: ValueRef<'_>, table: &str, column: &str) -> Result<()> {
        let v = match value {
            ValueRef::Null => return Ok(()),
            ValueRef::Real(r) => {
                self.sum.add_real(r);
                r
            }
            ValueRef::Integer(i) => {
                self.sum.add_int(i);
                i as f64
            }
            ValueRef::Text(_) | ValueRef::Blob(_) => {
                return Err(Error::corrupt(
                    format_args!("{table}.{column}"),
                    "not a number",
                ));
            }
        };
        self.min = Some(self.min.map_or(v, |m| m.min(v)));
        self.max = Some(self.max.map_or(v, |m| m.max(v)));
        Ok(())
    }

    /// The mean, never outside the minimum and maximum.
    fn mean(&self) -> Option<f64> {
        within(self.sum.mean(), self.min, self.max)
    }
}

/// The cut of `from..=to` (ms) into at most `points` buckets: the one bucket formula.
#[derive(Debug, Clone, Copy)]
struct Grid {
    from: i64,
    to: i64,
    span: i128,
    points: i128,
}

impl Grid {
    /// `None` when `to < from` (no bucket); `max_points` clamped to `1..=`[`MAX_SERIES_POINTS`].
    fn new(from: i64, to: i64, max_points: usize) -> Option<Grid> {
        (to >= from).then(|| Grid {
            from,
            to,
            span: i128::from((to - from).max(1)),
            points: i128::from(i64::try_from(max_points.clamp(1, MAX_SERIES_POINTS)).unwrap_or(1)),
        })
    }

    /// The bucket of time `at`: `min(points − 1, (at − from) × points / span)` (i128 cannot
    /// overflow).
    fn index(&self, at: i64) -> i64 {
        let index = ((i128::from(at) - i128::from(self.from)) * self.points / self.span)
            .min(self.points - 1);
        i64::try_from(index).unwrap_or(i64::MAX)
    }
}

/// One bucket being filled.
struct Bucket {
    index: i64,
    /// `collected_at` of its rows (for their mean).
    at: SqlSum,
    fields: Vec<FieldAcc>,
}

/// The buckets and range totals of one request, `width` values each (the fields, then the
/// custom names). The snapshot rows make the buckets ([`Buckets::snapshot`]); a custom value
/// joins the bucket its time falls in ([`Buckets::custom`]).
struct Buckets {
    grid: Grid,
    width: usize,
    list: Vec<Bucket>,
    totals: Vec<FieldAcc>,
}

impl Buckets {
    fn new(grid: Grid, width: usize) -> Buckets {
        Buckets {
            grid,
            width,
            list: Vec::new(),
            totals: vec![FieldAcc::default(); width],
        }
    }

    /// Folds one row of the snapshot scan ([`scan_sql`] over `columns`) into its bucket (made
    /// here when it is the bucket's first) and the range's totals. Rows come in time order, so
    /// a bucket's rows are contiguous and the list stays in bucket order.
    fn snapshot(&mut self, row: &rusqlite::Row<'_>, columns: &[&str]) -> Result<()> {
        const T: &str = "metrics_snapshots";
        let at: i64 = get(row, 0, T, "collected_at")?;
        let index = self.grid.index(at);
        if self.list.last().is_none_or(|b| b.index != index) {
            self.list.push(Bucket {
                index,
                at: SqlSum::default(),
                fields: vec![FieldAcc::default(); self.width],
            });
        }
        let Some(bucket) = self.list.last_mut() else {
            return Ok(());
        };
        bucket.at.add_int(at);
        for (i, column) in columns.iter().enumerate() {
            let value = row.get_ref(i + 1)?;
            bucket.fields[i].add(value, T, column)?;
            self.totals[i].add(value, T, column)?;
        }
        Ok(())
    }

    /// Folds the values of one custom metric, `(at, value)` in time order, into slot `slot`: a
    /// value joins the bucket of its time when a snapshot made it (every stored value has its
    /// snapshot), and the range's totals.
    fn custom(&mut self, slot: usize, rows: &mut rusqlite::Rows<'_>) -> Result<()> {
        let mut cursor = 0;
        while let Some(row) = rows.next()? {
            let at: i64 = get(row, 0, "custom_values", "collected_at")?;
            let value = row.get_ref(1)?;
            self.totals[slot].add(value, "custom_values", "value")?;
            let index = self.grid.index(at);
            while self.list.get(cursor).is_some_and(|b| b.index < index) {
                cursor += 1;
            }
            if let Some(bucket) = self.list.get_mut(cursor).filter(|b| b.index == index) {
                bucket.fields[slot].add(value, "custom_values", "value")?;
            }
        }
        Ok(())
    }

    /// The points and statistics, named `names` (one per slot).
    fn finish(&self, names: &[&str]) -> Result<SeriesWithStats> {
        let mut points = Vec::with_capacity(self.list.len());
        for b in &self.list {
            // `CAST(AVG(collected_at) AS INTEGER)`: truncated toward zero.
            let at = b.at.mean().unwrap_or(0.0) as i64;
            points.push(SeriesPoint {
                timestamp: from_ms(at, "metrics_snapshots.collected_at")?,
                count: u64::try_from(b.at.count).unwrap_or(0),
                values: b
                    .fields
                    .iter()
                    .map(|f| BucketValue {
                        avg: f.mean(),
                        max: f.max,
                    })
                    .collect(),
            });
        }
        Ok(SeriesWithStats {
            points,
            stats: stats_of(names, &self.totals),
        })
    }
}

/// The range statistics of `totals`, named `names`.
fn stats_of(names: &[&str], totals: &[FieldAcc]) -> Vec<FieldStats> {
    names
        .iter()
        .zip(totals)
        .map(|(name, t)| FieldStats {
            field: (*name).to_owned(),
            count: u64::try_from(t.sum.count).unwrap_or(0),
            avg: t.mean(),
            max: t.max,
            min: t.min,
        })
        .collect()
}

/// One custom metric's values of cluster `?1` named `?2` in `?3..=?4`, in time order: a range
/// of `custom_values`' primary key.
const CUSTOM_SCAN: &str = "SELECT collected_at, value FROM custom_values \
     WHERE cluster_id = ?1 AND name = ?2 AND collected_at >= ?3 AND collected_at <= ?4 \
     ORDER BY collected_at";

impl Store {
    /// The snapshots of cluster `cluster_id` in `from..=to`, downsampled while scanned to at most
    /// `max_points` points (clamped to `1..=`[`MAX_SERIES_POINTS`]), each with the average and
    /// maximum of every field of `fields` over its bucket. Oldest first; empty when `to < from`.
    ///
    /// [`crate::Error::InvalidField`] when a name is not a numeric snapshot column.
    pub fn series(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        fields: &[&str],
        max_points: usize,
    ) -> Result<Vec<SeriesPoint>> {
        Ok(self
            .series_with_stats(cluster_id, from, to, fields, max_points)?
            .points)
    }

    /// [`Store::series`] and [`Store::range_stats`] of the same arguments from one scan of the
    /// range (see the module documentation): the points are the same buckets with the same
    /// means, maxima and counts, and the statistics are each field's count, mean (the sum over
    /// every row divided by their count, not a mean of bucket means), minimum and maximum over the
    /// range. No mean is outside its own minimum and maximum. Statistics have count 0 and
    /// `None`s when the range holds no data.
    ///
    /// Over [`OVERVIEW_FIELDS`] the query reads only the covering index
    /// `metrics_snapshots_overview`.
    ///
    /// [`crate::Error::InvalidField`] when a name is not a numeric snapshot column.
    pub fn series_with_stats(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        fields: &[&str],
        max_points: usize,
    ) -> Result<SeriesWithStats> {
        self.series_with_stats_custom(cluster_id, from, to, fields, &[], max_points)
    }

    /// [`Store::series_with_stats`] over `fields` and the custom metrics `custom`: the same
    /// points (the snapshots make the buckets: same timestamps, same counts) and, after the
    /// values and statistics of `fields`, those of each custom name in order, from its values
    /// in `custom_values` (see [`crate::custom`]) that fall in each bucket. Each custom name is
    /// one range scan of `custom_values`' key, folded into the buckets with the same formula.
    /// A name without values in the range has `None`s and statistics of count 0.
    ///
    /// The scans run in one read transaction, so they see the same cycles.
    /// [`crate::Error::InvalidField`] when a name of `fields` is not a numeric snapshot column.
    pub fn series_with_stats_custom(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        fields: &[&str],
        custom: &[&str],
        max_points: usize,
    ) -> Result<SeriesWithStats> {
        let columns = fields
            .iter()
            .map(|f| numeric_metric(f))
            .collect::<Result<Vec<_>>>()?;
        let names: Vec<&str> = columns
            .iter()
            .map(|c| c.name)
            .chain(custom.iter().copied())
            .collect();
        let (from, to) = (to_ms(from), to_ms(to));
        let Some(grid) = Grid::new(from, to, max_points) else {
            return Ok(SeriesWithStats {
                points: Vec::new(),
                stats: stats_of(&names, &vec![FieldAcc::default(); names.len()]),
            });
        };
        let mut buckets = Buckets::new(grid, names.len());
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        {
            let fields = &names[..columns.len()];
            let mut stmt = tx.prepare_cached(&scan_sql(fields))?;
            let mut rows = stmt.query(params![cluster_id, grid.from, grid.to])?;
            while let Some(row) = rows.next()? {
                buckets.snapshot(row, fields)?;
            }
        }
        for (k, name) in custom.iter().enumerate() {
            let mut stmt = tx.prepare_cached(CUSTOM_SCAN)?;
            let mut rows = stmt.query(params![cluster_id, name, grid.from, grid.to])?;
            buckets.custom(columns.len() + k, &mut rows)?;
        }
        buckets.finish(&names)
    }

    /// Count, average, maximum and minimum of every field of `fields` over the snapshots of
    /// cluster `cluster_id` in `from..=to`: the statistics of [`Store::series_with_stats`] (one
    /// scan, one bucket). One entry per field, in order (count 0 and `None`s when there is no
    /// data).
    ///
    /// [`crate::Error::InvalidField`] when a name is not a numeric snapshot column.
    pub fn range_stats(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        fields: &[&str],
    ) -> Result<Vec<FieldStats>> {
        if fields.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .series_with_stats(cluster_id, from, to, fields, 1)?
            .stats)
    }
}

/// The scan of [`Store::series_with_stats`] over `columns` (known column names only): `?1`
/// cluster, `?2..=?3` the range in ms; `collected_at` first, rows in time order (the order of
/// the `(cluster_id, collected_at, …)` index, so no sort).
pub(crate) fn scan_sql(columns: &[&str]) -> String {
    let mut sql = String::from("SELECT collected_at");
    for c in columns {
        sql.push_str(", ");
        sql.push_str(c);
    }
    sql.push_str(
        " FROM metrics_snapshots \
         WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3 \
         ORDER BY collected_at",
    );
    sql
}

/// SQLite's AVG sums before it divides, so the mean of equal values can land one unit in the last
/// place outside them; a mean is never reported outside its own minimum and maximum.
fn within(avg: Option<f64>, min: Option<f64>, max: Option<f64>) -> Option<f64> {
    let mut avg = avg?;
    if let Some(min) = min
        && avg < min
    {
        avg = min;
    }
    if let Some(max) = max
        && avg > max
    {
        avg = max;
    }
    Some(avg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClusterUpdate;
    use crate::tests::{new_cluster, snapshot_from, sparse};
    use rockscope_model::MetricsSnapshot;
    use serde_json::{Value, json};
    use time::Duration;
    use time::macros::datetime;

    fn add_cluster(store: &Store, name: &str) -> i64 {
        store.create_cluster(&new_cluster(name)).unwrap().id
    }

    fn store_with_cluster() -> (Store, i64) {
        let store = Store::open_temporary().unwrap();
        let id = add_cluster(&store, "a");
        (store, id)
    }

    /// A snapshot at `at` with the overview fields set from `seed` (some null), the rest null/0.
    fn snapshot(cluster_id: i64, at: OffsetDateTime, seed: u64) -> MetricsSnapshot {
        let mut m = sparse(Store::metric_columns());
        for (i, f) in OVERVIEW_FIELDS.iter().enumerate() {
            // A cheap deterministic mix; every 7th value of a field is null.
            let x = seed.wrapping_mul(2_654_435_761).wrapping_add(i as u64 * 97) % 10_007;
            let v = if (seed + i as u64).is_multiple_of(7) {
                Value::Null
            } else {
                json!((x as f64 / 7.0 + 0.1) * 10f64.powi((seed % 9) as i32 - 3))
            };
            m.insert((*f).to_owned(), v);
        }
        snapshot_from(m, cluster_id, at)
    }

    #[test]
    fn one_scan_gives_the_series_and_the_range_stats() {
        let (store, id) = store_with_cluster();
        let t0 = datetime!(2025-01-01 0:00 UTC);
        for i in 0..500u64 {
            let at = t0 + Duration::seconds(30 * i as i64);
            store.insert_cycle(&snapshot(id, at, i), &[]).unwrap();
        }
        let (from, to) = (t0 + Duration::minutes(7), t0 + Duration::hours(3));
        for points in [1, 7, 40, 1000] {
            let both = store
                .series_with_stats(id, from, to, &OVERVIEW_FIELDS, points)
                .unwrap();
            // The series is exactly what AVG and MAX per bucket give (the former query).
            let old = old_series(&store, id, from, to, points);
            assert_eq!(both.points.len(), old.len());
            for (p, (at, count, values)) in both.points.iter().zip(&old) {
                assert_eq!((to_ms(p.timestamp), p.count), (*at, *count));
                assert_eq!(&p.values, values, "{points} points");
            }
            assert_eq!(
                both.points,
                store
                    .series(id, from, to, &OVERVIEW_FIELDS, points)
                    .unwrap()
            );
            // The statistics are what SQL's COUNT, AVG, MAX and MIN give, to the bit.
            let stats = sql_stats(&store, id, from, to, &OVERVIEW_FIELDS);
            assert_eq!(both.stats, stats);
            assert_eq!(
                store.range_stats(id, from, to, &OVERVIEW_FIELDS).unwrap(),
                stats
            );
            assert!(stats.iter().all(|s| s.count > 0));
        }
        // No data: no point, and count 0 with no values (as SQL's aggregates).
        let empty_from = t0 + Duration::days(10);
        let none = store
            .series_with_stats(
                id,
                empty_from,
                empty_from + Duration::hours(1),
                &["qps"],
                10,
            )
            .unwrap();
        assert!(none.points.is_empty());
        assert_eq!(
            none.stats,
            sql_stats(
                &store,
                id,
                empty_from,
                empty_from + Duration::hours(1),
                &["qps"]
            )
        );
        let inverted = store.series_with_stats(id, to, from, &["qps"], 10).unwrap();
        assert!(inverted.points.is_empty());
        assert_eq!(inverted.stats[0].count, 0);
        assert_eq!(inverted.stats[0].avg, None);
        assert!(matches!(
            store.series_with_stats(id, from, to, &["qps", "nope"], 10),
            Err(crate::Error::InvalidField(f)) if f == "nope"
        ));
    }

    /// `snapshot(id, at, seed)` with custom values: `a` (every 5th null), `b` only in the
    /// first 200 cycles (a removed definition) and as integers-valued reals, `c` null always.
    fn snapshot_with_custom(cluster_id: i64, at: OffsetDateTime, seed: u64) -> MetricsSnapshot {
        let mut s = snapshot(cluster_id, at, seed);
        let a = (!seed.is_multiple_of(5))
            .then(|| (seed.wrapping_mul(7_919) % 1_013) as f64 / 3.0 - 100.0);
        s.custom.insert("a".into(), a);
        if seed < 200 {
            s.custom.insert("b".into(), Some((seed % 17) as f64));
        }
        s.custom.insert("c".into(), None);
        s
    }

    /// Per bucket of the snapshots (the `old_series` formula), the AVG, MAX and MIN of custom
    /// metric `name` over the values at those snapshots' times.
    fn sql_custom_buckets(
        store: &Store,
        id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        points: usize,
        name: &str,
    ) -> Vec<BucketValue> {
        let (from, to) = (to_ms(from), to_ms(to));
        let sql = "SELECT MIN(?5 - 1, ((m.collected_at - ?2) * ?5) / ?4) AS bucket, \
             AVG(c.value), MAX(c.value), MIN(c.value) \
             FROM metrics_snapshots m LEFT JOIN custom_values c \
             ON c.cluster_id = m.cluster_id AND c.collected_at = m.collected_at AND c.name = ?6 \
             WHERE m.cluster_id = ?1 AND m.collected_at >= ?2 AND m.collected_at <= ?3 \
             GROUP BY bucket ORDER BY bucket";
        let conn = store.conn().unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt
            .query_map(
                params![id, from, to, (to - from).max(1), points as i64, name],
                |r| {
                    let (max, min): (Option<f64>, Option<f64>) = (r.get(2)?, r.get(3)?);
                    Ok(BucketValue {
                        avg: within(r.get(1)?, min, max),
                        max,
                    })
                },
            )
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    /// SQL's COUNT, AVG, MAX and MIN of custom metric `name` over `from..=to`.
    fn sql_custom_stats(
        store: &Store,
        id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        name: &str,
    ) -> FieldStats {
        let conn = store.conn().unwrap();
        conn.query_row(
            "SELECT COUNT(value), AVG(value), MAX(value), MIN(value) FROM \
             (SELECT value FROM custom_values WHERE cluster_id = ?1 AND name = ?2 \
              AND collected_at >= ?3 AND collected_at <= ?4 ORDER BY collected_at)",
            params![id, name, to_ms(from), to_ms(to)],
            |r| {
                let (max, min): (Option<f64>, Option<f64>) = (r.get(2)?, r.get(3)?);
                Ok(FieldStats {
                    field: name.to_owned(),
                    count: r.get::<_, i64>(0)? as u64,
                    avg: within(r.get(1)?, min, max),
                    max,
                    min,
                })
            },
        )
        .unwrap()
    }

    #[test]
    fn custom_series_fold_into_the_snapshots_buckets() {
        let (store, id) = store_with_cluster();
        let other = add_cluster(&store, "b");
        let t0 = datetime!(2025-01-01 0:00 UTC);
        for i in 0..500u64 {
            let at = t0 + Duration::seconds(30 * i as i64);
            store
                .insert_cycle(&snapshot_with_custom(id, at, i), &[])
                .unwrap();
            store
                .insert_cycle(&snapshot_with_custom(other, at, i + 1), &[])
                .unwrap();
        }
        let custom = ["a", "b", "c", "never"];
        let fields = ["qps", "avg_cpu_usage"];
        let (from, to) = (t0 + Duration::minutes(7), t0 + Duration::hours(3));
        for points in [1, 7, 40, 1000] {
            let mixed = store
                .series_with_stats_custom(id, from, to, &fields, &custom, points)
                .unwrap();
            let plain = store
                .series_with_stats(id, from, to, &fields, points)
                .unwrap();
            // The snapshots make the buckets: the built-in part is series_with_stats's.
            assert_eq!(mixed.points.len(), plain.points.len());
            for (m, p) in mixed.points.iter().zip(&plain.points) {
                assert_eq!((m.timestamp, m.count), (p.timestamp, p.count));
                assert_eq!(m.values[..fields.len()], p.values[..], "{points} points");
            }
            assert_eq!(mixed.stats[..fields.len()], plain.stats[..]);
            // Each custom metric's buckets and statistics are SQL's over custom_values.
            for (k, name) in custom.iter().enumerate() {
                let got: Vec<BucketValue> = mixed
                    .points
                    .iter()
                    .map(|p| p.values[fields.len() + k])
                    .collect();
                assert_eq!(
                    got,
                    sql_custom_buckets(&store, id, from, to, points, name),
                    "{name}, {points} points"
                );
                assert_eq!(
                    mixed.stats[fields.len() + k],
                    sql_custom_stats(&store, id, from, to, name)
                );
            }
            // Only custom names: the same buckets.
            let alone = store
                .series_with_stats_custom(id, from, to, &[], &["a"], points)
                .unwrap();
            assert_eq!(alone.stats[..], mixed.stats[fields.len()..fields.len() + 1]);
            for (a, m) in alone.points.iter().zip(&mixed.points) {
                assert_eq!((a.timestamp, a.count), (m.timestamp, m.count));
                assert_eq!(a.values, m.values[fields.len()..fields.len() + 1]);
            }
        }
        let stats = store
            .series_with_stats_custom(id, from, to, &[], &custom, 10)
            .unwrap()
            .stats;
        assert!(stats[0].count > 0 && stats[1].count > 0);
        // In force but always null, and never stored: nulls and count 0 alike.
        for s in &stats[2..] {
            assert_eq!((s.count, s.avg, s.max, s.min), (0, None, None, None));
        }
        let inverted = store
            .series_with_stats_custom(id, to, from, &["qps"], &["a"], 10)
            .unwrap();
        assert!(inverted.points.is_empty());
        assert_eq!(
            inverted
                .stats
                .iter()
                .map(|s| (s.field.as_str(), s.count))
                .collect::<Vec<_>>(),
            [("qps", 0), ("a", 0)]
        );
        assert!(matches!(
            store.series_with_stats_custom(id, from, to, &["nope"], &["a"], 10),
            Err(crate::Error::InvalidField(f)) if f == "nope"
        ));
    }

    #[test]
    fn a_custom_series_reads_one_range_of_the_key() {
        let (store, _) = store_with_cluster();
        let conn = store.conn().unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CUSTOM_SCAN}"))
            .unwrap()
            .query_map(params![1, "a", 0, 10], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            plan,
            ["SEARCH custom_values USING PRIMARY KEY \
              (cluster_id=? AND name=? AND collected_at>? AND collected_at<?)"],
            "no sort, no other table"
        );
    }

    /// The range statistics as SQL's aggregates compute them (the former `range_stats`).
    fn sql_stats(
        store: &Store,
        id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        fields: &[&str],
    ) -> Vec<FieldStats> {
        let select: Vec<String> = fields
            .iter()
            .map(|c| format!("COUNT({c}), AVG({c}), MAX({c}), MIN({c})"))
            .collect();
        let sql = format!(
            "SELECT {} FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3",
            select.join(", ")
        );
        let conn = store.conn().unwrap();
        conn.query_row(&sql, params![id, to_ms(from), to_ms(to)], |r| {
            let mut out = Vec::new();
            for (i, field) in fields.iter().enumerate() {
                let (max, min): (Option<f64>, Option<f64>) = (r.get(4 * i + 2)?, r.get(4 * i + 3)?);
                out.push(FieldStats {
                    field: (*field).to_owned(),
                    count: r.get::<_, i64>(4 * i)? as u64,
                    avg: within(r.get(4 * i + 1)?, min, max),
                    max,
                    min,
                });
            }
            Ok(out)
        })
        .unwrap()
    }

    /// The series as the former `AVG`/`MAX` query computed it: (ms, count, values) per bucket.
    fn old_series(
        store: &Store,
        id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        points: usize,
    ) -> Vec<(i64, u64, Vec<BucketValue>)> {
        let (from, to) = (to_ms(from), to_ms(to));
        let mut sql = String::from(
            "SELECT MIN(?5 - 1, ((collected_at - ?2) * ?5) / ?4) AS bucket, \
             CAST(AVG(collected_at) AS INTEGER), COUNT(*)",
        );
        for c in OVERVIEW_FIELDS {
            sql.push_str(&format!(", AVG({c}), MAX({c}), MIN({c})"));
        }
        sql.push_str(
            " FROM metrics_snapshots WHERE cluster_id = ?1 AND collected_at >= ?2 \
             AND collected_at <= ?3 GROUP BY bucket ORDER BY bucket",
        );
        let conn = store.conn().unwrap();
        let mut stmt = conn.prepare(&sql).unwrap();
        let rows = stmt
            .query_map(
                params![id, from, to, (to - from).max(1), points as i64],
                |r| {
                    let mut values = Vec::new();
                    for i in 0..OVERVIEW_FIELDS.len() {
                        let max: Option<f64> = r.get(4 + 3 * i)?;
                        let min: Option<f64> = r.get(5 + 3 * i)?;
                        values.push(BucketValue {
                            avg: within(r.get(3 + 3 * i)?, min, max),
                            max,
                        });
                    }
                    Ok((r.get(1)?, r.get::<_, i64>(2)? as u64, values))
                },
            )
            .unwrap();
        rows.collect::<rusqlite::Result<_>>().unwrap()
    }

    #[test]
    fn the_overview_query_reads_only_its_covering_index() {
        let (store, _) = store_with_cluster();
        let conn = store.conn().unwrap();
        let sql = format!("EXPLAIN QUERY PLAN {}", scan_sql(&OVERVIEW_FIELDS));
        let plan: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map(params![1, 0, 10], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.starts_with(
                "SEARCH metrics_snapshots USING COVERING INDEX \
                 metrics_snapshots_overview (cluster_id=? AND collected_at>? AND collected_at<?)"
            )),
            "the overview's query must read only the covering index; add a migration that \
             rebuilds metrics_snapshots_overview with every field of OVERVIEW_FIELDS: {plan:?}"
        );
        assert!(
            !plan.iter().any(|p| p.contains("TEMP B-TREE")),
            "rows in index order, no sort: {plan:?}"
        );
        // The index holds exactly the key and the overview's fields, in order.
        let columns: Vec<String> = conn
            .prepare(
                "SELECT name FROM pragma_index_info('metrics_snapshots_overview') ORDER BY seqno",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let expected: Vec<&str> = ["cluster_id", "collected_at"]
            .into_iter()
            .chain(OVERVIEW_FIELDS)
            .collect();
        assert_eq!(columns, expected);
    }

    #[test]
    fn writes_move_the_clusters_write_generation() {
        let (store, id) = store_with_cluster();
        let other = add_cluster(&store, "b");
        let t0 = datetime!(2025-01-01 0:00 UTC);
        let mut last = store.write_generation(id);
        let moved = |store: &Store, last: &mut u64, what: &str| {
            let now = store.write_generation(id);
            assert!(now > *last, "{what}");
            *last = now;
        };
        store.insert_cycle(&snapshot(id, t0, 1), &[]).unwrap();
        moved(&store, &mut last, "insert_cycle");
        let g_other = store.write_generation(other);
        store
            .insert_cycle(&snapshot(id, t0 + Duration::seconds(30), 2), &[])
            .unwrap();
        moved(&store, &mut last, "second insert_cycle");
        assert_eq!(
            store.write_generation(other),
            g_other,
            "other cluster untouched"
        );
        // Reads and a refused insert move nothing.
        store
            .series_with_stats(id, t0, t0 + Duration::hours(1), &OVERVIEW_FIELDS, 10)
            .unwrap();
        store.latest_snapshot(id).unwrap();
        assert!(store.insert_cycle(&snapshot(id, t0, 3), &[]).is_err());
        assert_eq!(
            store.write_generation(id),
            last,
            "reads and a failed insert"
        );
        store
            .update_cluster(
                id,
                &ClusterUpdate {
                    name: Some("a2".into()),
                    ..ClusterUpdate::default()
                },
            )
            .unwrap();
        moved(&store, &mut last, "update_cluster");
        store
            .delete_snapshots_before(t0 + Duration::seconds(1), 10)
            .unwrap();
        moved(&store, &mut last, "retention");
        store
            .delete_snapshots_before(t0 + Duration::seconds(1), 10)
            .unwrap();
        assert_eq!(
            store.write_generation(id),
            last,
            "retention that deleted nothing"
        );
        // A clone shares the counters.
        let clone = store.clone();
        clone.delete_cluster(id).unwrap();
        moved(&store, &mut last, "delete_cluster");
    }

    fn owned(v: ValueRef<'_>) -> rusqlite::types::Value {
        use rusqlite::types::Value;
        match v {
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            _ => Value::Null,
        }
    }

    #[test]
    fn sums_are_sqlites_to_the_bit() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let cases: Vec<Vec<ValueRef<'static>>> = vec![
            vec![
                ValueRef::Real(1e16),
                ValueRef::Real(1.0),
                ValueRef::Real(-1e16),
            ],
            vec![
                ValueRef::Real(0.1),
                ValueRef::Real(0.2),
                ValueRef::Real(0.3),
            ],
            vec![ValueRef::Integer(3), ValueRef::Integer(4), ValueRef::Null],
            vec![
                ValueRef::Integer(i64::MAX),
                ValueRef::Integer(i64::MAX),
                ValueRef::Integer(-7),
            ],
            vec![
                ValueRef::Integer(1 << 60),
                ValueRef::Real(0.5),
                ValueRef::Integer(-(1 << 61) - 3),
            ],
            vec![
                ValueRef::Real(1e308),
                ValueRef::Real(1e308),
                ValueRef::Real(-1e308),
            ],
            vec![ValueRef::Null],
        ];
        for values in cases {
            let mut acc = FieldAcc::default();
            for v in &values {
                acc.add(*v, "t", "x").unwrap();
            }
            conn.execute_batch(
                "DROP TABLE IF EXISTS t; CREATE TABLE t (i INTEGER PRIMARY KEY, x ANY) STRICT",
            )
            .unwrap();
            for (i, v) in values.iter().enumerate() {
                conn.execute(
                    "INSERT INTO t VALUES (?1, ?2)",
                    params![i as i64, owned(*v)],
                )
                .unwrap();
            }
            let (avg, total, count): (Option<f64>, f64, i64) = conn
                .query_row(
                    "SELECT AVG(x), TOTAL(x), COUNT(x) FROM (SELECT x FROM t ORDER BY i)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            assert_eq!(
                acc.sum.mean().map(f64::to_bits),
                avg.map(f64::to_bits),
                "{values:?}"
            );
            assert_eq!(acc.sum.total().to_bits(), total.to_bits(), "{values:?}");
            assert_eq!(acc.sum.count, count);
        }
    }

    #[test]
    fn a_mean_stays_inside_its_minimum_and_maximum() {
        // The rounding seen from SQLite's AVG over five equal values.
        let (avg, value) = (29.582152101565477, 29.582152101565473);
        assert_eq!(within(Some(avg), Some(value), Some(value)), Some(value));
        assert_eq!(within(Some(1.0), Some(2.0), Some(3.0)), Some(2.0));
        assert_eq!(within(Some(2.5), Some(2.0), Some(3.0)), Some(2.5));
        assert_eq!(within(Some(4.0), None, Some(3.0)), Some(3.0));
        assert_eq!(within(None, Some(2.0), Some(3.0)), None);
    }
}
