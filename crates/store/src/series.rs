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
//! # From the 5-minute tier
//!
//! When the buckets are at least 20 minutes wide (`(to − from) / max_points`, four granules of the
//! tier; e.g. the 7-day overview at 240 points, 42-minute buckets), or when any of the range is
//! thinned (it starts before the cluster's snapshots' `thinned_until`: the raw rows there are
//! one cycle per 30 minutes, the tier was folded from every cycle; e.g. the 3-day overview),
//! the same buckets are made of the 5-minute tier's granules (`metrics_5m`) instead of the raw
//! rows: one row per 5 minutes, or per half hour past `collector.tier_5m_hours`
//! ([`tier::halves`]), instead of one per cycle.
//! A granule holds its snapshots' count and summed `collected_at`, and every numeric column's
//! count, sum (as `SqlSum` keeps it), minimum and maximum; a granule goes whole to the bucket of
//! its snapshots' mean `collected_at`, and is in the range when that mean is in `from..=to`
//! (the granules read are those starting in the half hour of `from` up to `to`). So the answer
//! is the raw answer with each granule's snapshots taken together: counts, timestamps (the mean
//! `collected_at` of a bucket's snapshots), minima and maxima are exact over those snapshots,
//! means equal the raw ones up to the order of the floating-point additions, and the only
//! difference is which granule lands in which bucket at the buckets' edges, and at both ends
//! of the range, where a granule straddling an edge is in or out whole. [`Store::range_stats`]
//! is one bucket of the whole range, so ranges of 20 minutes or more come from the tier.
//! Custom metrics stay on their raw values (`custom_values`), each joining the bucket its
//! granule went to (and left out with it).
//!
//! When the buckets are at least 30 minutes wide and every field asked is an overview field
//! ([`OVERVIEW_FIELDS`]), the 30-minute overview tier (`overview_30m`, [`tier::overview`]) makes
//! them the same way from half-hour granules: the 7-day overview reads 336 rows of ~560 bytes
//! per cluster instead of 2,016 of ~2 KB, with one or two whole half hours per 42-minute bucket
//! ([`Source`] chooses).
//!
//! [`Store::series_with_stats_custom`] adds custom metrics ([`crate::custom`]): the snapshot scan
//! makes the buckets as above, then each custom name is one range scan of `custom_values`' key
//! (`(cluster_id, name, collected_at)`, time order) whose values are folded into the bucket the
//! same formula gives (`Grid`, the one bucket formula; `Buckets`, the one accumulation), so the
//! built-in and custom values of a point cannot drift apart.

use rusqlite::params;
use serde::Serialize;
use time::OffsetDateTime;

use crate::Store;
use crate::columns::{from_ms, get, numeric_metric, to_ms};
use crate::error::Result;
use crate::sums::{FieldAcc, SqlSum};
use crate::thinning;
use crate::tier;
use crate::tier::overview;

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

/// What a series' buckets are made of, by their width, the fields asked and whether the range
/// reaches into thinned history (see the module documentation and `docs/API.md`, "Resolution
/// by range").
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    /// The raw snapshots: buckets under 20 minutes over a range of which nothing is thinned.
    Raw,
    /// The 5-minute tier's granules (merged into half hours past `collector.tier_5m_hours`):
    /// buckets of 20 minutes or more, or a range that reaches into the thinned history.
    Tier5m,
    /// The 30-minute overview tier: buckets of 30 minutes or more over overview fields only
    /// (their positions in [`OVERVIEW_FIELDS`]).
    Overview30m(Vec<usize>),
}

impl Source {
    /// The source of a request over `grid` and `fields`, the cluster's snapshots being thinned
    /// before `thinned_until` (ms; `i64::MIN` when none is).
    fn of(grid: &Grid, fields: &[&str], thinned_until: i64) -> Source {
        if overview::answers(grid.span, grid.points)
            && let Some(positions) = overview::overview_slots(fields)
        {
            return Source::Overview30m(positions);
        }
        if tier::answers(grid.span, grid.points) || grid.from < thinned_until {
            Source::Tier5m
        } else {
            Source::Raw
        }
    }

    /// The granules' length (ms), `None` for the raw snapshots.
    #[cfg(test)]
    pub(crate) fn granule_ms(&self) -> Option<i64> {
        match self {
            Source::Raw => None,
            Source::Tier5m => Some(tier::GRANULE_MS),
            Source::Overview30m(_) => Some(overview::GRANULE_MS),
        }
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
/// custom names). The snapshot rows ([`Buckets::snapshot`]) or the tier's granules
/// ([`Buckets::granule`]) make the buckets; a custom value joins the bucket its time falls in
/// ([`Buckets::custom`]).
struct Buckets {
    grid: Grid,
    width: usize,
    list: Vec<Bucket>,
    totals: Vec<FieldAcc>,
    /// When the buckets are made of granules: what they took.
    granules: Option<Taken>,
}

/// The granules that made a request's buckets: each one taken (its start and end, ms) and
/// its bucket, in time order.
struct Taken {
    list: Vec<(i64, i64, i64)>,
}

impl Buckets {
    fn new(grid: Grid, width: usize) -> Buckets {
        Buckets {
            grid,
            width,
            list: Vec::new(),
            totals: vec![FieldAcc::default(); width],
            granules: None,
        }
    }

    /// Bucket `index` of `list`, made here when it is not the last one (values come in time
    /// order, so a bucket's are contiguous and the list stays in bucket order).
    fn bucket(list: &mut Vec<Bucket>, width: usize, index: i64) -> &mut Bucket {
        if list.last().is_none_or(|b| b.index != index) {
            list.push(Bucket {
                index,
                at: SqlSum::default(),
                fields: vec![FieldAcc::default(); width],
            });
        }
        let last = list.len() - 1;
        &mut list[last]
    }

    /// Folds one row of the snapshot scan ([`scan_sql`] over `columns`) into its bucket and the
    /// range's totals.
    fn snapshot(&mut self, row: &rusqlite::Row<'_>, columns: &[&str]) -> Result<()> {
        const T: &str = "metrics_snapshots";
        let at: i64 = get(row, 0, T, "collected_at")?;
        let index = self.grid.index(at);
        let bucket = Buckets::bucket(&mut self.list, self.width, index);
        bucket.at.add_int(at);
        for (i, column) in columns.iter().enumerate() {
            let value = row.get_ref(i + 1)?;
            bucket.fields[i].add(value, T, column)?;
            self.totals[i].add(value, T, column)?;
        }
        Ok(())
    }

    /// Merges one granule of a tier (`g`: its start and end, its `rows` snapshots whose times
    /// sum to `at_sum`; the `i`th of `stats` the statistics of slot `i`'s field) into the bucket
    /// of its mean time; a granule whose mean time is outside the range is left out. Granules
    /// come in time order. The range's totals of these slots are the buckets'
    /// ([`Buckets::finish`]): the same granules, merged once per bucket instead of once per
    /// granule.
    fn granule<'a>(&mut self, g: GranuleRow, stats: impl Iterator<Item = &'a FieldAcc>) {
        let GranuleRow {
            start,
            end,
            rows,
            at_sum,
        } = g;
        let mean = at_sum / rows;
        if mean < self.grid.from || mean > self.grid.to {
            return;
        }
        let index = self.grid.index(mean);
        if let Some(taken) = self.granules.as_mut() {
            taken.list.push((start, end, index));
        }
        let bucket = Buckets::bucket(&mut self.list, self.width, index);
        bucket.at.merge(&SqlSum::of_ints(rows, at_sum));
        for (field, acc) in bucket.fields.iter_mut().zip(stats) {
            field.merge(acc);
        }
    }

    /// Folds the values of one custom metric, `(at, value)` in time order, into slot `slot`: a
    /// value joins the bucket of its time when a snapshot made it (every stored value has its
    /// snapshot), and the range's totals. When the buckets are made of granules, a value goes
    /// where its granule went, and is left out with it.
    fn custom(&mut self, slot: usize, rows: &mut rusqlite::Rows<'_>) -> Result<()> {
        let mut cursor = 0;
        let mut granule = 0;
        while let Some(row) = rows.next()? {
            let at: i64 = get(row, 0, "custom_values", "collected_at")?;
            let value = row.get_ref(1)?;
            let index = match &self.granules {
                None => self.grid.index(at),
                Some(Taken { list: granules }) => {
                    while granules.get(granule).is_some_and(|g| g.1 <= at) {
                        granule += 1;
                    }
                    match granules.get(granule) {
                        Some(&(start, _, index)) if start <= at => index,
                        _ => continue,
                    }
                }
            };
            self.totals[slot].add(value, "custom_values", "value")?;
            while self.list.get(cursor).is_some_and(|b| b.index < index) {
                cursor += 1;
            }
            if let Some(bucket) = self.list.get_mut(cursor).filter(|b| b.index == index) {
                bucket.fields[slot].add(value, "custom_values", "value")?;
            }
        }
        Ok(())
    }

    /// The points and statistics, named `names` (one per slot); `from_granules` slots (the
    /// first ones) were filled by [`Buckets::granule`], so their totals are their buckets'.
    fn finish(&mut self, names: &[&str], from_granules: usize) -> Result<SeriesWithStats> {
        if self.granules.is_some() {
            for b in &self.list {
                for (total, field) in self.totals.iter_mut().zip(&b.fields).take(from_granules) {
                    total.merge(field);
                }
            }
        }
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
    /// `metrics_snapshots_overview`. Buckets of 20 minutes or more are made of the 5-minute
    /// tier's granules instead (see the module documentation for the one difference: a granule
    /// is placed whole, by its mean time).
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
        let fields = &names[..columns.len()];
        let thinned_until = thinning::snapshots_thinned_until(&tx, cluster_id)?;
        match Source::of(&grid, fields, thinned_until) {
            Source::Raw => {
                let mut stmt = tx.prepare_cached(&scan_sql(fields))?;
                let mut rows = stmt.query(params![cluster_id, grid.from, grid.to])?;
                while let Some(row) = rows.next()? {
                    buckets.snapshot(row, fields)?;
                }
            }
            Source::Tier5m => {
                let slots: Vec<usize> = columns
                    .iter()
                    .map(|c| tier::slot_of(c.name).unwrap_or(usize::MAX))
                    .collect();
                scan_tier(&tx, cluster_id, &mut buckets, &slots)?;
            }
            Source::Overview30m(positions) => {
                scan_overview(&tx, cluster_id, &mut buckets, &positions)?;
            }
        }
        // The range the custom values are read from: when granules make the buckets, their
        // whole half hours (the longest a granule spans).
        let (first, last) = if buckets.granules.is_some() {
            let last = overview::granule_of(grid.to).saturating_add(overview::GRANULE_MS - 1);
            (overview::granule_of(grid.from), last)
        } else {
            (grid.from, grid.to)
        };
        for (k, name) in custom.iter().enumerate() {
            let mut stmt = tx.prepare_cached(CUSTOM_SCAN)?;
            let mut rows = stmt.query(params![cluster_id, name, first, last])?;
            buckets.custom(columns.len() + k, &mut rows)?;
        }
        buckets.finish(&names, columns.len())
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

/// Merges the granules of the tier that start in the half hour of `from` up to `to` (a merged
/// half hour may start up to 30 minutes before `from`) into `buckets` (see
/// [`Buckets::granule`]), slot `i` of a bucket taking the tier's column `slots[i]` (only those
/// columns are decoded).
fn scan_tier(
    conn: &rusqlite::Connection,
    cluster_id: i64,
    buckets: &mut Buckets,
    slots: &[usize],
) -> Result<()> {
    // The start of the half hour holding `from`.
    let from = overview::granule_of(buckets.grid.from);
    let mut stmt = conn.prepare_cached(tier::TIER_SCAN)?;
    let mut rows = stmt.query(params![cluster_id, from, buckets.grid.to])?;
    let mut stats = Vec::new();
    merge_granules(&mut rows, "metrics_5m", buckets, |b, g, blob| {
        tier::decode_slots(blob, slots, &mut stats)?;
        b.granule(g, stats.iter());
        Ok(())
    })
}

/// [`scan_tier`] from the 30-minute overview tier ([`overview`]), for fields that are all
/// overview fields: slot `i` of a bucket takes the field at `positions[i]` of
/// [`OVERVIEW_FIELDS`]. One range of row ids: no index, no sort.
fn scan_overview(
    conn: &rusqlite::Connection,
    cluster_id: i64,
    buckets: &mut Buckets,
    positions: &[usize],
) -> Result<()> {
    let grid = buckets.grid;
    let (low, high) = (
        overview::row_id(cluster_id, overview::granule_of(grid.from)),
        overview::row_id(cluster_id, grid.to),
    );
    let mut stmt = conn.prepare_cached(overview::SCAN)?;
    let mut rows = stmt.query(params![low, high])?;
    let mut held = Vec::new();
    let none = FieldAcc::default();
    merge_granules(&mut rows, "overview_30m", buckets, |b, g, blob| {
        overview::decode_fields(blob, &mut held)?;
        let fields = positions.iter().map(|&p| held.get(p).unwrap_or(&none));
        b.granule(g, fields);
        Ok(())
    })
}

/// What a tier's row says of its granule, besides its statistics.
#[derive(Debug, Clone, Copy)]
struct GranuleRow {
    /// Its start and end (ms).
    start: i64,
    end: i64,
    /// The snapshots it folds, and the sum of their `collected_at`.
    rows: i64,
    at_sum: i64,
}

/// Feeds each granule row of tier `table` (`bucket_at, rows, at_sum`, the statistics blob and
/// the granule's length, in time order) to `merge`, which decodes the blob into `buckets`: the
/// buckets are then made of granules.
fn merge_granules(
    rows: &mut rusqlite::Rows<'_>,
    table: &'static str,
    buckets: &mut Buckets,
    mut merge: impl FnMut(&mut Buckets, GranuleRow, &[u8]) -> Result<()>,
) -> Result<()> {
    buckets.granules = Some(Taken { list: Vec::new() });
    while let Some(row) = rows.next()? {
        let stored = tier::StoredRow::read(row, 0, table)?;
        let span: i64 = get(row, 4, table, "span_ms")?;
        if span <= 0 {
            return Err(crate::Error::corrupt(
                format_args!("{table}.span_ms"),
                format_args!("{span} ms"),
            ));
        }
        let g = GranuleRow {
            start: stored.start,
            end: stored.start.saturating_add(span),
            rows: stored.rows,
            at_sum: stored.at_sum,
        };
        merge(buckets, g, stored.stats)?;
    }
    Ok(())
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ClusterUpdate;
    use crate::sums::within;
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
    pub(crate) fn snapshot(cluster_id: i64, at: OffsetDateTime, seed: u64) -> MetricsSnapshot {
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
            // The series is exactly what AVG and MAX per bucket give (the former query); from
            // the tier (1 and 7 points: buckets of 20 minutes or more), over whole granules
            // placed by their mean time, the means to 1e-9.
            let tiered = granule(from, to, points, &OVERVIEW_FIELDS);
            let want = match points {
                1 => Some(overview::GRANULE_MS),
                7 => Some(tier::GRANULE_MS),
                _ => None,
            };
            assert_eq!(tiered, want);
            let granular = tiered.is_some();
            let old = old_series(&store, id, from, to, points, tiered);
            assert_eq!(both.points.len(), old.len());
            for (p, (at, count, values)) in both.points.iter().zip(&old) {
                assert_eq!((to_ms(p.timestamp), p.count), (*at, *count));
                assert!(same_values(&p.values, values, granular), "{points} points");
            }
            assert_eq!(
                both.points,
                store
                    .series(id, from, to, &OVERVIEW_FIELDS, points)
                    .unwrap()
            );
            // The statistics are what SQL's COUNT, AVG, MAX and MIN give, to the bit (raw).
            let stats = sql_stats(&store, id, from, to, &OVERVIEW_FIELDS, tiered);
            assert!(same_stats(&both.stats, &stats, granular));
            // range_stats is one bucket of the whole range: from the tier.
            assert!(same_stats(
                &store.range_stats(id, from, to, &OVERVIEW_FIELDS).unwrap(),
                &sql_stats(
                    &store,
                    id,
                    from,
                    to,
                    &OVERVIEW_FIELDS,
                    granule(from, to, 1, &OVERVIEW_FIELDS)
                ),
                true
            ));
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
                &["qps"],
                None
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
        let tiered = granule(from, to, points, &["qps", "avg_cpu_usage"]);
        let (from, to) = (to_ms(from), to_ms(to));
        let (join, at) = placement(tiered, "m.");
        let sql = format!(
            "SELECT MIN(?5 - 1, (({at} - ?2) * ?5) / ?4) AS bucket, \
             AVG(c.value), MAX(c.value), MIN(c.value) \
             FROM metrics_snapshots m{join} LEFT JOIN custom_values c \
             ON c.cluster_id = m.cluster_id AND c.collected_at = m.collected_at AND c.name = ?6 \
             WHERE m.cluster_id = ?1 AND {at} >= ?2 AND {at} <= ?3 \
             GROUP BY bucket ORDER BY bucket"
        );
        let conn = store.conn().unwrap();
        let mut stmt = conn.prepare(&sql).unwrap();
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

    /// SQL's COUNT, AVG, MAX and MIN of custom metric `name` over `from..=to` (the values of
    /// the granules [`placement`] takes when `granular`).
    fn sql_custom_stats(
        store: &Store,
        id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        name: &str,
        granule: Option<i64>,
    ) -> FieldStats {
        let conn = store.conn().unwrap();
        let (join, at) = placement(granule, "c.");
        conn.query_row(
            &format!(
                "SELECT COUNT(value), AVG(value), MAX(value), MIN(value) FROM \
                 (SELECT value FROM custom_values c{join} WHERE c.cluster_id = ?1 AND name = ?2 \
                  AND {at} >= ?3 AND {at} <= ?4 ORDER BY c.collected_at)"
            ),
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
            // The snapshots (or their granules) make the buckets: the built-in part is
            // series_with_stats's.
            let tiered = granule(from, to, points, &fields);
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
                    sql_custom_stats(&store, id, from, to, name, tiered)
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

    /// Whether [`Store::series_with_stats`] of `from..=to` at `points` reads the tier, over a
    /// history of which nothing is thinned.
    pub(crate) fn granule(
        from: OffsetDateTime,
        to: OffsetDateTime,
        points: usize,
        fields: &[&str],
    ) -> Option<i64> {
        Grid::new(to_ms(from), to_ms(to), points)
            .and_then(|g| Source::of(&g, fields, i64::MIN).granule_ms())
    }

    /// How the reference queries take and place a raw row (of `table`, aliased `alias`): by its
    /// own time in raw mode (`("", "collected_at")`), or, when `granular`, joined to its
    /// 5-minute granule and placed by the granule's mean time (raw rows, grouped as the tier
    /// groups them).
    pub(crate) fn placement(granule: Option<i64>, alias: &str) -> (String, String) {
        let at = format!("{alias}collected_at");
        let Some(ms) = granule else {
            return (String::new(), at);
        };
        let join = format!(
            " JOIN (SELECT collected_at - collected_at % {ms} AS granule, \
             SUM(collected_at) / COUNT(*) AS mean FROM metrics_snapshots \
             WHERE cluster_id = ?1 GROUP BY granule) g ON {at} - {at} % {ms} = g.granule"
        );
        (join, "g.mean".to_owned())
    }

    /// Close enough: equal, or both means within 1e-9 of each other (relative) when `granular`
    /// (the tier sums in another order); counts, minima and maxima always equal.
    pub(crate) fn same_values(got: &[BucketValue], want: &[BucketValue], granular: bool) -> bool {
        got.len() == want.len()
            && got
                .iter()
                .zip(want)
                .all(|(g, w)| g.max == w.max && close(g.avg, w.avg, granular))
    }

    /// [`same_values`] for range statistics.
    pub(crate) fn same_stats(got: &[FieldStats], want: &[FieldStats], granular: bool) -> bool {
        got.len() == want.len()
            && got.iter().zip(want).all(|(g, w)| {
                (&g.field, g.count, g.min, g.max) == (&w.field, w.count, w.min, w.max)
                    && close(g.avg, w.avg, granular)
            })
    }

    fn close(a: Option<f64>, b: Option<f64>, granular: bool) -> bool {
        match (a, b) {
            (Some(a), Some(b)) if granular => {
                a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
            }
            _ => a == b,
        }
    }

    /// The range statistics as SQL's aggregates compute them (the former `range_stats`), over
    /// the rows [`placement`] takes.
    pub(crate) fn sql_stats(
        store: &Store,
        id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        fields: &[&str],
        granule: Option<i64>,
    ) -> Vec<FieldStats> {
        let select: Vec<String> = fields
            .iter()
            .map(|c| format!("COUNT({c}), AVG({c}), MAX({c}), MIN({c})"))
            .collect();
        let (join, at) = placement(granule, "");
        let sql = format!(
            "SELECT {} FROM metrics_snapshots{join} \
             WHERE cluster_id = ?1 AND {at} >= ?2 AND {at} <= ?3",
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

    /// The series as the former `AVG`/`MAX` query computed it, over the rows [`placement`]
    /// takes and places: (ms, count, values) per bucket.
    pub(crate) fn old_series(
        store: &Store,
        id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        points: usize,
        granule: Option<i64>,
    ) -> Vec<(i64, u64, Vec<BucketValue>)> {
        let (from, to) = (to_ms(from), to_ms(to));
        let (join, at) = placement(granule, "");
        let mut sql = format!(
            "SELECT MIN(?5 - 1, (({at} - ?2) * ?5) / ?4) AS bucket, \
             CAST(AVG(collected_at) AS INTEGER), COUNT(*)",
        );
        for c in OVERVIEW_FIELDS {
            sql.push_str(&format!(", AVG({c}), MAX({c}), MIN({c})"));
        }
        sql.push_str(&format!(
            " FROM metrics_snapshots{join} WHERE cluster_id = ?1 AND {at} >= ?2 \
             AND {at} <= ?3 GROUP BY bucket ORDER BY bucket",
        ));
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
}
