//! Downsampled series and range statistics, computed in SQL.
//!
//! [`Store::series`] cuts `from..=to` into `max_points` equal buckets,
//! `bucket = min(max_points − 1, (collected_at − from) × max_points / (to − from))` in integer
//! arithmetic, and lets SQLite `GROUP BY bucket` with `AVG` and `MAX` of every requested field, so
//! that a week of 30-second snapshots becomes 240 points without a row crossing into Rust. Empty
//! buckets yield no point. Field names are checked against the numeric snapshot columns
//! ([`Store::numeric_metric_fields`]) before any SQL is built; only those known names reach the
//! statement text, every value is bound.

use rusqlite::params;
use serde::Serialize;
use time::OffsetDateTime;

use crate::Store;
use crate::columns::{from_ms, get, numeric_metric, to_ms};
use crate::error::Result;
use crate::snapshots::query_all;

/// The most buckets [`Store::series`] makes, whatever `max_points` asked.
pub const MAX_SERIES_POINTS: usize = 10_000;

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

impl Store {
    /// The snapshots of cluster `cluster_id` in `from..=to`, downsampled in SQL to at most
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
        let columns = fields
            .iter()
            .map(|f| numeric_metric(f))
            .collect::<Result<Vec<_>>>()?;
        let (from, to) = (to_ms(from), to_ms(to));
        if to < from {
            return Ok(Vec::new());
        }
        let span = (to - from).max(1);
        let points = i64::try_from(max_points.clamp(1, MAX_SERIES_POINTS)).unwrap_or(1);
        let mut sql = String::from(
            "SELECT MIN(?5 - 1, ((collected_at - ?2) * ?5) / ?4) AS bucket, \
             CAST(AVG(collected_at) AS INTEGER), COUNT(*)",
        );
        for c in &columns {
            sql.push_str(&format!(", AVG({0}), MAX({0})", c.name));
        }
        sql.push_str(
            " FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3 \
             GROUP BY bucket ORDER BY bucket",
        );
        let conn = self.conn()?;
        query_all(
            &conn,
            &sql,
            params![cluster_id, from, to, span, points],
            |row| {
                const T: &str = "metrics_snapshots";
                let at: i64 = get(row, 1, T, "collected_at")?;
                let count: i64 = get(row, 2, T, "COUNT(*)")?;
                let mut values = Vec::with_capacity(columns.len());
                for (i, c) in columns.iter().enumerate() {
                    let max = get(row, 4 + 2 * i, T, c.name)?;
                    values.push(BucketValue {
                        avg: within(get(row, 3 + 2 * i, T, c.name)?, None, max),
                        max,
                    });
                }
                Ok(SeriesPoint {
                    timestamp: from_ms(at, "metrics_snapshots.collected_at")?,
                    count: u64::try_from(count).unwrap_or(0),
                    values,
                })
            },
        )
    }

    /// Count, average, maximum and minimum of every field of `fields` over the snapshots of
    /// cluster `cluster_id` in `from..=to`, in one query. One entry per field, in order (count 0
    /// and `None`s when there is no data).
    ///
    /// [`crate::Error::InvalidField`] when a name is not a numeric snapshot column.
    pub fn range_stats(
        &self,
        cluster_id: i64,
        from: OffsetDateTime,
        to: OffsetDateTime,
        fields: &[&str],
    ) -> Result<Vec<FieldStats>> {
        let columns = fields
            .iter()
            .map(|f| numeric_metric(f))
            .collect::<Result<Vec<_>>>()?;
        if columns.is_empty() {
            return Ok(Vec::new());
        }
        let select: Vec<String> = columns
            .iter()
            .map(|c| format!("COUNT({0}), AVG({0}), MAX({0}), MIN({0})", c.name))
            .collect();
        let sql = format!(
            "SELECT {} FROM metrics_snapshots \
             WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at <= ?3",
            select.join(", ")
        );
        let conn = self.conn()?;
        let mut rows = query_all(
            &conn,
            &sql,
            params![cluster_id, to_ms(from), to_ms(to)],
            |row| {
                const T: &str = "metrics_snapshots";
                let mut out = Vec::with_capacity(columns.len());
                for (i, c) in columns.iter().enumerate() {
                    let count: i64 = get(row, 4 * i, T, c.name)?;
                    let (max, min) = (
                        get(row, 4 * i + 2, T, c.name)?,
                        get(row, 4 * i + 3, T, c.name)?,
                    );
                    out.push(FieldStats {
                        field: c.name.to_owned(),
                        count: u64::try_from(count).unwrap_or(0),
                        avg: within(get(row, 4 * i + 1, T, c.name)?, min, max),
                        max,
                        min,
                    });
                }
                Ok(out)
            },
        )?;
        Ok(rows.pop().unwrap_or_default())
    }
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
    use super::within;

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
