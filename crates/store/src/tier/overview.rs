//! The 30-minute overview tier: `overview_30m`, one row per cluster and half hour (aligned on
//! UTC multiples of [`GRANULE_MS`]) holding, for the [`OVERVIEW_FIELDS`] only, what a granule
//! of [`super`] holds for every numeric column: the snapshots folded (`rows`), the sum of their
//! `collected_at` (`at_sum`), and each field's count, sum, minimum and maximum (`fields`).
//!
//! It exists for the cold overview of long ranges: its buckets (42 minutes for the 7-day
//! overview at 240 points) are made of these granules when they are at least a granule wide
//! ([`answers`]). A week of one cluster is then 336 rows of ~560 bytes, ~190 KB (the 5-minute
//! tier's 2,016 rows of every column are ~4 MB; its projection on these fields still ~1 MB), in
//! a fixed-width encoding that decodes without a branch per byte. Each bucket holds one or two
//! whole half hours instead of about eight 5-minute granules: see `docs/API.md`, "Resolution by
//! range".
//!
//! The tier is folded at write from the snapshot's values ([`fold`], in the cycle's
//! transaction), so a granule's mean is `AVG` over its snapshots to the bit. A database that
//! had the 5-minute tier before this one gets it by the conversion [`CONVERSION`], which merges
//! each half hour's six 5-minute granules: counts, times, minima and maxima exact, sums up to
//! the order of the floating-point additions (the raw rows of thinned days are no longer all
//! there; the 5-minute granules still hold every cycle).
//!
//! Row id: the cluster's id in the high 32 bits and the half hour's number since the epoch in
//! the low ones, so one cluster's rows are contiguous and a range of them is a range of row ids.
//! `fields` layout: how many fields follow (varint), then each one's
//! [`FieldAcc::encode_fixed`] in the order of [`OVERVIEW_FIELDS`]. Fields are only ever
//! appended, so a row written before a field was added lacks it (no value).

use std::sync::LazyLock;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Granule, StoredRow, decode_slots, read_row, slot_of};
use crate::codec::{Reader, put_varint};
use crate::columns::get;
use crate::convert::Conversion;
use crate::error::{Error, Result};
use crate::series::OVERVIEW_FIELDS;
use crate::sums::{FIXED_LEN, FieldAcc};

/// A granule of this tier: half an hour, in ms.
pub(crate) const GRANULE_MS: i64 = 1_800_000;

/// What the stored blob is, for errors.
const FIELDS: &str = "overview_30m.fields";

/// The slot of each overview field in a granule of the 5-minute tier.
pub(crate) static TIER_SLOTS: LazyLock<Vec<usize>> = LazyLock::new(|| {
    OVERVIEW_FIELDS
        .iter()
        .map(|f| slot_of(f).expect("every overview field is a numeric snapshot column"))
        .collect()
});

/// For fields that are all overview fields, each one's position in [`OVERVIEW_FIELDS`]; `None`
/// when one is not.
pub(crate) fn overview_slots(fields: &[&str]) -> Option<Vec<usize>> {
    fields
        .iter()
        .map(|f| OVERVIEW_FIELDS.iter().position(|o| o == f))
        .collect()
}

/// Whether buckets of `span / points` ms are answered from this tier: at least a granule wide.
pub(crate) fn answers(span: i128, points: i128) -> bool {
    span >= i128::from(GRANULE_MS) * points
}

/// The start of the half hour holding time `at` (ms).
pub(crate) fn granule_of(at: i64) -> i64 {
    at - at.rem_euclid(GRANULE_MS)
}

/// The row id of cluster `cluster_id`'s half hour holding time `at` (ms).
pub(crate) fn row_id(cluster_id: i64, at: i64) -> i64 {
    (cluster_id << 32) | at.div_euclid(GRANULE_MS)
}

/// A half hour's `fields` blob (see the module documentation).
fn encode_fields(fields: &[FieldAcc]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(1 + FIXED_LEN * fields.len());
    put_varint(&mut out, fields.len() as u64);
    for f in fields {
        f.encode_fixed(&mut out)
            .ok_or_else(|| Error::corrupt(FIELDS, "over 2^32 snapshots in a half hour"))?;
    }
    Ok(out)
}

/// Decodes a `fields` blob into `out`, one accumulator per field it holds (in the order of
/// [`OVERVIEW_FIELDS`]). [`Error::Corrupt`] for a malformed blob, never a panic.
pub(crate) fn decode_fields(blob: &[u8], out: &mut Vec<FieldAcc>) -> Result<()> {
    let mut r = Reader::new(blob, FIELDS);
    let held = r.count()?;
    let fixed = r.take(held.saturating_mul(FIXED_LEN))?;
    if !r.is_at_end() {
        return Err(r.corrupt(format_args!("bytes after its {held} fields")));
    }
    out.clear();
    for field in fixed.as_chunks::<FIXED_LEN>().0 {
        out.push(FieldAcc::decode_fixed(field, FIELDS)?);
    }
    Ok(())
}

/// The stored half hour of cluster `cluster_id` starting at `start`, if any.
fn read(conn: &Connection, cluster_id: i64, start: i64) -> Result<Option<Granule>> {
    let select =
        conn.prepare_cached("SELECT rows, at_sum, fields FROM overview_30m WHERE id = ?1")?;
    let key = [row_id(cluster_id, start)];
    read_row(select, key, start, OVERVIEW_FIELDS.len(), decode_fields)
}

/// Writes half hour `g` of cluster `cluster_id` (inserted, or replacing the stored one).
fn write(tx: &Transaction<'_>, cluster_id: i64, g: &Granule) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO overview_30m (id, cluster_id, bucket_at, rows, at_sum, fields) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET \
         rows = excluded.rows, at_sum = excluded.at_sum, fields = excluded.fields",
    )?
    .execute(params![
        row_id(cluster_id, g.start),
        cluster_id,
        g.start,
        g.rows,
        g.at_sum,
        encode_fields(&g.fields)?
    ])?;
    Ok(())
}

/// Folds one snapshot of cluster `cluster_id`, stored at `at` (ms), into its half hour:
/// `values` are its overview fields' values as bound, in the order of [`OVERVIEW_FIELDS`].
pub(crate) fn fold<'v>(
    tx: &Transaction<'_>,
    cluster_id: i64,
    at: i64,
    values: impl Iterator<Item = Result<ValueRef<'v>>>,
) -> Result<()> {
    let start = granule_of(at);
    let mut g = read(tx, cluster_id, start)?
        .unwrap_or_else(|| Granule::of_width(start, OVERVIEW_FIELDS.len()));
    g.add("overview_30m", at, values, OVERVIEW_FIELDS.iter().copied())?;
    write(tx, cluster_id, &g)
}

/// The half hours of cluster `?1` from row id `?1` to `?2`, in time order (a range of row ids:
/// no index, no sort), each with its length (as the 5-minute tier's scan has it).
pub(crate) const SCAN: &str = "SELECT bucket_at, rows, at_sum, fields, 1800000 FROM overview_30m \
     WHERE id >= ?1 AND id <= ?2 ORDER BY id";

/// Builds the tier from the 5-minute tier of a database that had only that one; units are half
/// hours. It runs after [`super::backfill::BACKFILL`], so the 5-minute tier is whole.
pub(crate) const CONVERSION: Conversion = Conversion {
    name: "overview_30m",
    remaining,
    step,
    finish: |_| Ok(()),
    // A day of one cluster: 48 rows from 288 granules, a few milliseconds.
    batch: 48,
};

/// The `metrics_5m` row id from which granules are left to merge: the one after the newest
/// converted half hour's last granule (the row ids of both tiers grow with cluster and time).
fn cursor(conn: &Connection) -> Result<i64> {
    let last: Option<(i64, i64)> = conn
        .query_row(
            "SELECT cluster_id, bucket_at FROM overview_30m ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(last.map_or(i64::MIN, |(cluster, start)| {
        (cluster << 32) | ((start + GRANULE_MS) / super::GRANULE_MS)
    }))
}

fn remaining(conn: &Connection) -> Result<u64> {
    let left: i64 = conn.query_row(
        "SELECT COUNT(*) FROM metrics_5m WHERE id >= ?1",
        [cursor(conn)?],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(left).unwrap_or(0).div_ceil(6))
}

/// Merges the next 5-minute granules into at most `limit` whole half hours.
fn step(tx: &Transaction<'_>, limit: usize) -> Result<usize> {
    const T: &str = "metrics_5m";
    let mut stmt = tx.prepare_cached(
        "SELECT cluster_id, bucket_at, rows, at_sum, stats FROM metrics_5m \
         WHERE id >= ?1 ORDER BY id",
    )?;
    let mut rows = stmt.query([cursor(tx)?])?;
    let mut done = 0;
    let mut open: Option<(i64, Granule)> = None;
    let mut stats = Vec::new();
    while let Some(row) = rows.next()? {
        let cluster: i64 = get(row, 0, T, "cluster_id")?;
        let stored = StoredRow::read(row, 1, T)?;
        let start = granule_of(stored.start);
        if open
            .as_ref()
            .is_some_and(|(c, g)| (*c, g.start) != (cluster, start))
        {
            if let Some((c, g)) = open.take() {
                write(tx, c, &g)?;
            }
            done += 1;
            if done >= limit {
                return Ok(done);
            }
        }
        let (_, g) =
            open.get_or_insert_with(|| (cluster, Granule::of_width(start, OVERVIEW_FIELDS.len())));
        decode_slots(stored.stats, &TIER_SLOTS, &mut stats)?;
        g.merge(stored.rows, stored.at_sum, &stats)?;
    }
    if let Some((c, g)) = open {
        write(tx, c, &g)?;
        done += 1;
    }
    Ok(done)
}
