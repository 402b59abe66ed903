//! The 5-minute tier of the cluster snapshots: `metrics_5m`, one row per cluster and *granule*
//! (5 minutes aligned on UTC multiples of [`GRANULE_MS`]), holding how many snapshots it
//! folds (`rows`), the sum of their `collected_at` (`at_sum`, for the granule's mean time) and,
//! in `stats`, the count, sum, minimum and maximum of every numeric snapshot column
//! ([`crate::Store::numeric_metric_fields`]) over them, packed with [`crate::codec`]. Past
//! `collector.tier_5m_hours` the granules of each half hour are merged into one of 30 minutes
//! (`span_ms`, [`halves`]).
//!
//! The tier is folded at write: [`fold_snapshot`] runs in the transaction of
//! [`crate::Store::insert_cycle`] (one read of the granule's row, one upsert), so it is always
//! current and exact, and a database of an older schema gets it built from its snapshots by a
//! resumable conversion ([`backfill::BACKFILL`]). The series of ranges whose buckets are at
//! least [`MIN_BUCKET_GRANULES`] granules wide read it instead of the raw rows
//! ([`crate::series`]), except the overview's fields in buckets of 30 minutes or more, which
//! read the 30-minute overview tier ([`overview`]), folded in the same transaction.
//!
//! Sums are kept as SQLite's `AVG` keeps them ([`SqlSum`](crate::sums::SqlSum): exact while only
//! integers came, else a compensated double sum), and stored whole, so the next snapshot of a
//! granule continues the same sum, and a granule's mean equals `AVG` over its raw rows.
//!
//! `stats` layout: a 0 byte ([`PACKED`]), the number of columns it holds (varint), then per
//! numeric column in storage order what [`FieldAcc::encode`] writes. Columns are only ever
//! appended, so a column added after a row was written is absent (no value) in it. Before
//! schema version 11 a blob had no 0 byte and an end offset per column (2 bytes each) before
//! the records, so that a read could decode the overview's 14 columns alone; the overview now
//! reads its own tier, and without the 240 bytes of offsets a granule fits twice in a 4 KB page
//! (it was a little over half a page with full-width doubles). Such blobs are still read, and
//! are written packed when their granule next changes.

pub(crate) mod backfill;
pub(crate) mod halves;
pub(crate) mod overview;

use std::sync::LazyLock;

use rockscope_model::MetricsSnapshot;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::codec::{Reader, put_varint};
use crate::columns::{Column, get, metric};
use crate::error::{Error, Result};
use crate::sums::FieldAcc;

/// A granule's length: 5 minutes, in ms.
pub(crate) const GRANULE_MS: i64 = 300_000;

/// The narrowest buckets, in granules, that a series reads from the tier: below, a granule's
/// placement by its mean time would shift too large a share of a bucket.
pub(crate) const MIN_BUCKET_GRANULES: i64 = 4;

/// What the stored blob is, for errors.
const STATS: &str = "metrics_5m.stats";

/// The numeric columns of `metrics_snapshots`, in storage order: the slots of a granule.
static NUMERIC: LazyLock<Vec<&'static Column>> = LazyLock::new(|| {
    metric::COLUMNS
        .iter()
        .filter(|c| c.kind.is_numeric())
        .collect()
});

/// The slot of numeric column `name` in a granule's statistics.
pub(crate) fn slot_of(name: &str) -> Option<usize> {
    NUMERIC.iter().position(|c| c.name == name)
}

/// The start of the granule holding time `at` (ms).
pub(crate) fn granule_of(at: i64) -> i64 {
    at - at.rem_euclid(GRANULE_MS)
}

/// Whether buckets of `span / points` ms are answered from the tier: at least
/// [`MIN_BUCKET_GRANULES`] granules wide.
pub(crate) fn answers(span: i128, points: i128) -> bool {
    span >= i128::from(MIN_BUCKET_GRANULES * GRANULE_MS) * points
}

/// One row of `metrics_5m`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Granule {
    /// `bucket_at`: the granule's start (ms).
    pub(crate) start: i64,
    /// Snapshots folded in.
    pub(crate) rows: i64,
    /// The sum of their `collected_at` (ms).
    pub(crate) at_sum: i64,
    /// One accumulator per numeric column (see [`slot_of`]), or per overview field in the
    /// overview tier.
    pub(crate) fields: Vec<FieldAcc>,
}

impl Granule {
    fn empty(start: i64) -> Granule {
        Granule::of_width(start, NUMERIC.len())
    }

    /// An empty granule of `width` fields (the overview tier's are fewer, [`overview`]).
    pub(crate) fn of_width(start: i64, width: usize) -> Granule {
        Granule {
            start,
            rows: 0,
            at_sum: 0,
            fields: vec![FieldAcc::default(); width],
        }
    }

    /// Folds one snapshot, collected at `at`, into this granule of tier `table`: `values` are
    /// the snapshot's values (as bound) of the fields named `names`, one per accumulator.
    pub(crate) fn add<'v, 'n>(
        &mut self,
        table: &str,
        at: i64,
        values: impl Iterator<Item = Result<ValueRef<'v>>>,
        names: impl Iterator<Item = &'n str>,
    ) -> Result<()> {
        self.rows += 1;
        self.at_sum = self
            .at_sum
            .checked_add(at)
            .ok_or_else(|| Error::corrupt(format_args!("{table}.at_sum"), "out of range"))?;
        for ((acc, name), value) in self.fields.iter_mut().zip(names).zip(values) {
            acc.add(as_stored(value?), "metrics_snapshots", name)?;
        }
        Ok(())
    }

    /// Merges a stored granule (`rows` snapshots whose times sum to `at_sum`, the accumulators
    /// `fields`, one per accumulator of this one) into this one: the count, minimum and
    /// maximum exactly, the sums as [`FieldAcc::merge`] does.
    pub(crate) fn merge(&mut self, rows: i64, at_sum: i64, fields: &[FieldAcc]) -> Result<()> {
        self.rows += rows;
        self.at_sum = self
            .at_sum
            .checked_add(at_sum)
            .ok_or_else(|| Error::corrupt("metrics_5m.at_sum", "out of range"))?;
        for (acc, other) in self.fields.iter_mut().zip(fields) {
            acc.merge(other);
        }
        Ok(())
    }

    /// [`Granule::add`] into a granule of this tier: `values` of every numeric column, in
    /// storage order.
    pub(crate) fn add_numeric<'v>(
        &mut self,
        at: i64,
        values: impl Iterator<Item = Result<ValueRef<'v>>>,
    ) -> Result<()> {
        self.add("metrics_5m", at, values, NUMERIC.iter().map(|c| c.name))
    }
}

/// The first byte of a `stats` blob written since schema version 11 (see the module
/// documentation); an older blob starts with its column count, never 0.
const PACKED: u8 = 0;

/// The `stats` blob of `fields` (see the module documentation): [`PACKED`], the column count,
/// then each column's record.
pub(crate) fn encode_stats(fields: &[FieldAcc]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 20 * fields.len());
    out.push(PACKED);
    put_varint(&mut out, fields.len() as u64);
    for f in fields {
        f.encode(&mut out);
    }
    out
}

/// A `stats` blob, its header checked.
enum Stats<'a> {
    /// Written before schema version 11: the end offset of each column's record (2 bytes
    /// each), then the records.
    Indexed { ends: &'a [u8], data: &'a [u8] },
    /// [`PACKED`]: `held` records back to back.
    Packed { held: usize, data: &'a [u8] },
}

impl<'a> Stats<'a> {
    fn parse(blob: &'a [u8]) -> Result<Stats<'a>> {
        let mut r = Reader::new(blob, STATS);
        if blob.first() == Some(&PACKED) {
            r.byte()?;
            let held = r.count()?;
            return Ok(Stats::Packed {
                held,
                data: r.rest(),
            });
        }
        let held = r.count()?;
        let width = held
            .checked_mul(2)
            .ok_or_else(|| r.corrupt(format_args!("{held} columns")))?;
        let ends = r.take(width)?;
        let data = r.take(end_of(ends, held))?;
        if !r.is_at_end() {
            return Err(r.corrupt(format_args!("bytes after the last of {held} columns")));
        }
        Ok(Stats::Indexed { ends, data })
    }

    /// The accumulators of columns `..n` (fewer when the blob holds fewer).
    fn first(&self, n: usize, out: &mut Vec<FieldAcc>) -> Result<()> {
        out.clear();
        match *self {
            Stats::Indexed { ends, data } => {
                for i in 0..n.min(ends.len() / 2) {
                    out.push(indexed_column(ends, data, i)?);
                }
            }
            Stats::Packed { held, data } => {
                let mut r = Reader::new(data, STATS);
                for _ in 0..n.min(held) {
                    out.push(FieldAcc::decode(&mut r)?);
                }
                if n >= held && !r.is_at_end() {
                    return Err(r.corrupt(format_args!("bytes after the last of {held} columns")));
                }
            }
        }
        Ok(())
    }
}

/// Where the records of columns `..i` end in an indexed blob.
fn end_of(ends: &[u8], i: usize) -> usize {
    match i.checked_sub(1) {
        None => 0,
        Some(k) => usize::from(u16::from_le_bytes([ends[2 * k], ends[2 * k + 1]])),
    }
}

/// Column `i`'s accumulator in an indexed blob.
fn indexed_column(ends: &[u8], data: &[u8], i: usize) -> Result<FieldAcc> {
    let (start, end) = (end_of(ends, i), end_of(ends, i + 1));
    let record = data
        .get(start..end)
        .ok_or_else(|| Error::corrupt(STATS, format_args!("column {i} at {start}..{end}")))?;
    let mut r = Reader::new(record, STATS);
    let acc = FieldAcc::decode(&mut r)?;
    if !r.is_at_end() {
        return Err(r.corrupt(format_args!("column {i} longer than its record")));
    }
    Ok(acc)
}

/// A value as SQLite stores it in a `REAL` column: a NaN becomes NULL and `-0.0` is `0.0`, so
/// that what is folded at write is what the raw row reads back (and the backfill folds).
fn as_stored(v: ValueRef<'_>) -> ValueRef<'_> {
    match v {
        ValueRef::Real(r) if r.is_nan() => ValueRef::Null,
        // `-0.0 + 0.0` is `0.0`; every other value is unchanged.
        ValueRef::Real(r) => ValueRef::Real(r + 0.0),
        other => other,
    }
}

/// Decodes a `stats` blob into `out` (one accumulator per numeric column; those the blob lacks
/// are empty). [`Error::Corrupt`] for a malformed blob, never a panic.
pub(crate) fn decode_stats(blob: &[u8], out: &mut Vec<FieldAcc>) -> Result<()> {
    let stats = Stats::parse(blob)?;
    stats.first(usize::MAX, out)?;
    out.resize(NUMERIC.len(), FieldAcc::default());
    Ok(())
}

/// Decodes only the columns `slots` of a `stats` blob: `out[k]` is column `slots[k]`'s
/// accumulator (empty for a slot the blob lacks). A packed blob is read up to the last slot
/// asked.
pub(crate) fn decode_slots(blob: &[u8], slots: &[usize], out: &mut Vec<FieldAcc>) -> Result<()> {
    let stats = Stats::parse(blob)?;
    out.clear();
    if let Stats::Indexed { ends, data } = stats {
        for &slot in slots {
            out.push(if slot < ends.len() / 2 {
                indexed_column(ends, data, slot)?
            } else {
                FieldAcc::default()
            });
        }
        return Ok(());
    }
    let upto = slots.iter().max().map_or(0, |m| m.saturating_add(1));
    let mut held = Vec::with_capacity(upto.min(NUMERIC.len()));
    stats.first(upto, &mut held)?;
    out.extend(
        slots
            .iter()
            .map(|&slot| held.get(slot).copied().unwrap_or_default()),
    );
    Ok(())
}

/// The columns `bucket_at, rows, at_sum` and the statistics blob of a stored granule of tier
/// `table`, read from column `first` on, checked.
pub(crate) struct StoredRow<'r> {
    pub(crate) start: i64,
    pub(crate) rows: i64,
    pub(crate) at_sum: i64,
    pub(crate) stats: &'r [u8],
}

impl<'r> StoredRow<'r> {
    pub(crate) fn read(row: &'r rusqlite::Row<'_>, first: usize, table: &str) -> Result<Self> {
        Ok(StoredRow {
            start: get(row, first, table, "bucket_at")?,
            rows: checked_rows(get(row, first + 1, table, "rows")?)?,
            at_sum: get(row, first + 2, table, "at_sum")?,
            stats: row
                .get_ref(first + 3)?
                .as_blob()
                .map_err(|_| Error::corrupt(table, "a statistics column not a blob"))?,
        })
    }
}

/// `rows` of a stored granule, checked (a granule holds at least one snapshot).
pub(crate) fn checked_rows(rows: i64) -> Result<i64> {
    if rows < 1 {
        return Err(Error::corrupt(
            "metrics_5m.rows",
            format_args!("{rows} snapshots"),
        ));
    }
    Ok(rows)
}

const SELECT_GRANULE: &str =
    "SELECT rows, at_sum, stats FROM metrics_5m WHERE cluster_id = ?1 AND bucket_at = ?2";

/// The row id is the cluster's id in the high 32 bits and the granule's number (5-minute steps
/// since the epoch) in the low ones, so that one cluster's granules are contiguous in the
/// table's b-tree: a week of one cluster is ~500 consecutive pages, not ~2,000 pages shared
/// with every other cluster's granules of the same times (the 7-day overview reads them all).
const UPSERT_GRANULE: &str = "INSERT INTO metrics_5m (id, cluster_id, bucket_at, rows, at_sum, stats) \
     VALUES ((?1 << 32) | (?2 / 300000), ?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO UPDATE SET \
     rows = excluded.rows, at_sum = excluded.at_sum, stats = excluded.stats";

/// The granules of cluster `?1` starting in `?2..=?3`, in time order (the unique index
/// `(cluster_id, bucket_at)`, so no sort), each with its length ([`halves`]).
pub(crate) const TIER_SCAN: &str = "SELECT bucket_at, rows, at_sum, stats, span_ms FROM metrics_5m \
     WHERE cluster_id = ?1 AND bucket_at >= ?2 AND bucket_at <= ?3 ORDER BY bucket_at";

/// The stored granule of cluster `cluster_id` starting at `start`, if any.
fn read_granule(conn: &Connection, cluster_id: i64, start: i64) -> Result<Option<Granule>> {
    let select = conn.prepare_cached(SELECT_GRANULE)?;
    read_row(
        select,
        params![cluster_id, start],
        start,
        NUMERIC.len(),
        decode_stats,
    )
}

/// The granule starting at `start` that `select` finds by `key` (its `rows`, `at_sum` and
/// statistics blob, which `decode` reads into `width` accumulators; those the blob lacks are
/// empty), if any: the read of both tiers' fold.
pub(crate) fn read_row(
    mut select: rusqlite::CachedStatement<'_>,
    key: impl rusqlite::Params,
    start: i64,
    width: usize,
    decode: fn(&[u8], &mut Vec<FieldAcc>) -> Result<()>,
) -> Result<Option<Granule>> {
    let row = select
        .query_row(key, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    let Some((rows, at_sum, blob)) = row else {
        return Ok(None);
    };
    let mut fields = Vec::new();
    decode(&blob, &mut fields)?;
    fields.resize(width, FieldAcc::default());
    Ok(Some(Granule {
        start,
        rows: checked_rows(rows)?,
        at_sum,
        fields,
    }))
}

/// Writes granule `g` of cluster `cluster_id` (inserted, or replacing the stored one).
fn write_granule(tx: &Transaction<'_>, cluster_id: i64, g: &Granule) -> Result<()> {
    tx.prepare_cached(UPSERT_GRANULE)?.execute(params![
        cluster_id,
        g.start,
        g.rows,
        g.at_sum,
        encode_stats(&g.fields)
    ])?;
    Ok(())
}

/// Folds `snapshot`, stored at `at` (ms), into its granule's row and its half hour of the
/// overview tier ([`overview`]), inside the cycle's transaction `tx`.
pub(crate) fn fold_snapshot(
    tx: &Transaction<'_>,
    snapshot: &MetricsSnapshot,
    at: i64,
) -> Result<()> {
    let cluster_id = snapshot.cluster_id;
    let start = granule_of(at);
    let mut g = read_granule(tx, cluster_id, start)?.unwrap_or_else(|| Granule::empty(start));
    // The values exactly as the insert bound them.
    let bound = metric::params(snapshot)
        .into_iter()
        .zip(metric::COLUMNS)
        .filter(|(_, c)| c.kind.is_numeric())
        .map(|(p, _)| p.to_sql())
        .collect::<rusqlite::Result<Vec<ToSqlOutput<'_>>>>()?;
    g.add_numeric(at, bound.iter().map(value_of))?;
    write_granule(tx, cluster_id, &g)?;
    let overview = overview::TIER_SLOTS
        .iter()
        .map(|&slot| bound.get(slot).map_or(Ok(ValueRef::Null), value_of));
    overview::fold(tx, cluster_id, at, overview)
}

/// The value a bound parameter holds.
fn value_of<'a>(out: &'a ToSqlOutput<'_>) -> Result<ValueRef<'a>> {
    match out {
        ToSqlOutput::Borrowed(v) => Ok(*v),
        ToSqlOutput::Owned(v) => Ok(ValueRef::from(v)),
        _ => Err(Error::corrupt(
            "metrics_snapshots",
            "a numeric column bound as neither a value nor a null",
        )),
    }
}

#[cfg(test)]
mod tests;
