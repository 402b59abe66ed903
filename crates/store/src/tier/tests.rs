//! The 5-minute tier: its blob, its fold at write, the conversion that builds it, and the
//! series read from it.

use rockscope_model::MetricsSnapshot;
use rusqlite::{Connection, params};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::columns::{ColumnKind, to_ms};
use crate::convert;
use crate::series::OVERVIEW_FIELDS;
use crate::series::tests::{granule, old_series, same_stats, same_values, sql_stats};
use crate::tests::TestDb;
use crate::tests::{new_cluster, snapshot_from};
use crate::tier::overview;
use crate::{SecretKey, Store};

/// A snapshot with every column set from `seed`: reals of many magnitudes (some integral, some
/// `-0.0`), integers of both signs, booleans, and nulls in every optional column now and then.
fn varied(cluster_id: i64, at: OffsetDateTime, seed: u64) -> MetricsSnapshot {
    let mut m = serde_json::Map::new();
    for (i, c) in Store::metric_columns().iter().enumerate() {
        let x = seed.wrapping_mul(2_654_435_761).wrapping_add(i as u64 * 97) % 10_007;
        let null = (seed + i as u64).is_multiple_of(7);
        let real = match x % 5 {
            0 => x as f64,
            1 if x.is_multiple_of(3) => -0.0,
            _ => (x as f64 / 7.0 - 300.0) * 10f64.powi((seed % 9) as i32 - 3),
        };
        let v = match c.kind {
            ColumnKind::Real if null => Value::Null,
            ColumnKind::Int if null => Value::Null,
            ColumnKind::Text if null => Value::Null,
            ColumnKind::Real | ColumnKind::RequiredReal => json!(real),
            ColumnKind::Int | ColumnKind::RequiredInt => json!(x as i64 - 5_000),
            ColumnKind::Text | ColumnKind::RequiredText => json!(format!("t{x}")),
            ColumnKind::Bool => json!(x.is_multiple_of(2)),
        };
        m.insert(c.name.to_owned(), v);
    }
    snapshot_from(m, cluster_id, at)
}

/// Irregular times from `start`: steps of 7 s to 9 min, so granules hold 0 to 40 snapshots.
fn times(start: OffsetDateTime, n: u64) -> Vec<OffsetDateTime> {
    let mut at = start;
    (0..n)
        .map(|i| {
            at += Duration::seconds(7 + (i * 7_919 % 533) as i64);
            at
        })
        .collect()
}

/// Stores `n` varied cycles of cluster `id` from `start`.
fn fill(store: &Store, id: i64, start: OffsetDateTime, n: u64) {
    for (i, at) in times(start, n).into_iter().enumerate() {
        let s = varied(id, at, i as u64 + id as u64 * 1_000);
        store.insert_cycle(&s, &[]).unwrap();
    }
}

/// A row of `metrics_5m`: cluster, start, rows, sum of times, stats.
type TierRow = (i64, i64, i64, i64, Vec<u8>);

/// Every row `sql` selects, each read by `read`.
fn rows_of<T>(
    conn: &Connection,
    sql: &str,
    read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Vec<T> {
    conn.prepare(sql)
        .unwrap()
        .query_map([], read)
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Every row of `metrics_5m`, in key order.
fn tier_rows(conn: &Connection) -> Vec<TierRow> {
    rows_of(
        conn,
        "SELECT cluster_id, bucket_at, rows, at_sum, stats FROM metrics_5m \
         ORDER BY cluster_id, bucket_at",
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )
}

#[test]
fn a_granule_is_count_avg_min_max_of_its_raw_rows() {
    let store = Store::open_temporary().unwrap();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    fill(&store, id, datetime!(2025-01-01 0:00 UTC), 400);
    let conn = store.conn().unwrap();
    let rows = tier_rows(&conn);
    assert!(rows.len() > 50, "{}", rows.len());
    let mut stats = Vec::new();
    for (_, start, count, at_sum, blob) in &rows {
        assert_eq!(start % GRANULE_MS, 0);
        decode_stats(blob, &mut stats).unwrap();
        let (n, sum): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), SUM(collected_at) FROM metrics_snapshots \
                 WHERE cluster_id = ?1 AND collected_at >= ?2 AND collected_at < ?2 + 300000",
                params![id, start],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((*count, *at_sum), (n, sum));
        for (slot, column) in NUMERIC.iter().enumerate() {
            let c = column.name;
            let (count, avg, min, max): (i64, Option<f64>, Option<f64>, Option<f64>) = conn
                .query_row(
                    &format!(
                        "SELECT COUNT({c}), AVG({c}), MIN({c}), MAX({c}) FROM \
                         (SELECT {c} FROM metrics_snapshots WHERE cluster_id = ?1 \
                          AND collected_at >= ?2 AND collected_at < ?2 + 300000 \
                          ORDER BY collected_at)"
                    ),
                    params![id, start],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .unwrap();
            let acc = &stats[slot];
            assert_eq!((acc.sum.count, acc.min, acc.max), (count, min, max), "{c}");
            // Folded in time order as SQL sums: the same mean to the bit.
            assert_eq!(
                acc.sum.mean().map(f64::to_bits),
                avg.map(f64::to_bits),
                "{c}"
            );
        }
    }
    let total: i64 = rows.iter().map(|r| r.2).sum();
    assert_eq!(total, 400);
}

/// A granule of `folds` copies of the varied snapshot of `seed`, folded at times 1, 2, ….
fn folded(seed: u64, folds: i64) -> Granule {
    let mut g = Granule::empty(0);
    let s = varied(1, datetime!(2025-01-01 0:00 UTC), seed);
    let bound: Vec<_> = metric::params(&s)
        .into_iter()
        .zip(metric::COLUMNS)
        .filter(|(_, c)| c.kind.is_numeric())
        .map(|(p, _)| p.to_sql().unwrap())
        .collect();
    for at in 1..=folds {
        g.add_numeric(at, bound.iter().map(value_of)).unwrap();
    }
    g
}

#[test]
fn a_blob_comes_back_whole_and_a_bad_one_is_an_error() {
    let g = folded(3, 2);
    let blob = encode_stats(&g.fields);
    let mut back = Vec::new();
    decode_stats(&blob, &mut back).unwrap();
    assert_eq!(back, g.fields);
    // Every cut, and trailing bytes, are errors naming the column, never a panic.
    for cut in 0..blob.len() {
        let err = decode_stats(&blob[..cut], &mut back).unwrap_err();
        assert!(err.to_string().contains("metrics_5m.stats"), "{err}");
    }
    let mut longer = blob.clone();
    longer.push(0);
    assert!(decode_stats(&longer, &mut back).is_err());
    for garbage in [&[0xffu8; 12][..], &[1, 1], &[1, 0x05, 9]] {
        assert!(decode_stats(garbage, &mut back).is_err(), "{garbage:?}");
    }
    // A blob written before columns were appended: the newer columns are absent.
    let old = encode_stats(&g.fields[..2]);
    decode_stats(&old, &mut back).unwrap();
    assert_eq!(back.len(), NUMERIC.len());
    assert_eq!(back[..2], g.fields[..2]);
    assert!(back[2..].iter().all(|f| *f == FieldAcc::default()));
    // A read decodes only the columns asked for, in the order asked.
    decode_slots(&blob, &[5, 0, NUMERIC.len() + 3], &mut back).unwrap();
    assert_eq!(back, [g.fields[5], g.fields[0], FieldAcc::default()]);
    // No column count after the marker, or fewer records than it says: errors.
    for short in [&[PACKED][..], &[PACKED, 3, 0, 0]] {
        assert!(decode_stats(short, &mut back).is_err(), "{short:?}");
    }
}

/// A `stats` blob as schema version 10 wrote it: the column count, each column's end offset
/// (2 bytes), then the records.
fn indexed_stats(fields: &[FieldAcc]) -> Vec<u8> {
    let mut data = Vec::new();
    let mut out = Vec::new();
    crate::codec::put_varint(&mut out, fields.len() as u64);
    for f in fields {
        f.encode(&mut data);
        out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
    }
    out.extend_from_slice(&data);
    out
}

#[test]
fn a_blob_of_schema_10_still_reads_and_a_new_one_drops_its_offsets() {
    let g = folded(5, 1);
    let old = indexed_stats(&g.fields);
    let packed = encode_stats(&g.fields);
    // The offsets were 2 bytes a column; the marker is one.
    assert_eq!(old.len() + 1, packed.len() + 2 * NUMERIC.len());
    let mut back = Vec::new();
    decode_stats(&old, &mut back).unwrap();
    assert_eq!(back, g.fields);
    decode_slots(&old, &[7, 2, NUMERIC.len()], &mut back).unwrap();
    assert_eq!(back, [g.fields[7], g.fields[2], FieldAcc::default()]);
    // Every cut is an error, and offsets that disagree with the records too.
    for cut in 0..old.len() {
        assert!(decode_stats(&old[..cut], &mut back).is_err(), "{cut}");
    }
    let mut shifted = old.clone();
    shifted[1] = shifted[1].wrapping_add(1);
    assert!(decode_stats(&shifted, &mut back).is_err());
    // A granule of the old form folds on and is written back packed.
    let mut fields = Vec::new();
    decode_stats(&old, &mut fields).unwrap();
    assert_eq!(encode_stats(&fields), packed);
}

/// A fresh store holding three clusters' varied cycles (cluster 2 has none; 1 and 3 cross
/// many granules), and its tier as folded at insert.
fn collected() -> (Store, Vec<TierRow>) {
    let store = Store::open_temporary().unwrap();
    let t0 = datetime!(2025-01-01 0:00 UTC);
    let ids: Vec<i64> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| store.create_cluster(&new_cluster(n)).unwrap().id)
        .collect();
    fill(&store, ids[0], t0, 700);
    fill(&store, ids[2], t0 + Duration::minutes(2), 500);
    fill(&store, ids[3], t0 - Duration::days(1), 90);
    let rows = tier_rows(&store.conn().unwrap());
    (store, rows)
}

/// A database at schema 8 (before the tier) holding `source`'s clusters and snapshots.
fn schema_8_copy_of(source: &Store, path: &std::path::Path) -> Connection {
    let mut conn = Connection::open(path).unwrap();
    crate::schema::migrate_to(&mut conn, 8).unwrap();
    let columns: Vec<String> = ["cluster_id", "collected_at", "source_errors"]
        .into_iter()
        .chain(Store::metric_columns().iter().map(|c| c.name))
        .map(str::to_owned)
        .collect();
    let columns = columns.join(", ");
    conn.execute(
        "ATTACH DATABASE ?1 AS src",
        [source.path().display().to_string()],
    )
    .unwrap();
    conn.execute_batch(&format!(
        "INSERT INTO clusters (id, name, fe_hosts, username, password, source, created_at,
             updated_at) SELECT id, name, '[]', 'u', 'p', 'api', 0, 0 FROM src.clusters;
         INSERT INTO metrics_snapshots ({columns}) SELECT {columns} FROM src.metrics_snapshots
             ORDER BY cluster_id, collected_at;
         DETACH DATABASE src;"
    ))
    .unwrap();
    conn
}

#[test]
fn a_schema_8_database_gets_the_tier_a_fresh_one_folds() {
    let (source, folded) = collected();
    assert!(folded.len() > 200, "{}", folded.len());
    let db = TestDb::new("upgrade");
    drop(schema_8_copy_of(&source, &db.0));
    let store = Store::open(&db.0).unwrap();
    let conn = store.conn().unwrap();
    assert_eq!(tier_rows(&conn), folded);
    let done: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM conversions WHERE name = 'metrics_5m'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(done, 1);
    // Inserts go on folding into the converted tier as into a fresh one.
    let at = datetime!(2025-01-01 0:00 UTC) + Duration::days(3);
    let next = varied(1, at, 77);
    source.insert_cycle(&next, &[]).unwrap();
    store.insert_cycle(&next, &[]).unwrap();
    assert_eq!(tier_rows(&conn), tier_rows(&source.conn().unwrap()));
}

#[test]
fn a_killed_conversion_resumes_to_the_same_tier() {
    let (source, folded) = collected();
    let key = SecretKey::generate();
    for stop_after in [1, 2, 3] {
        let db = TestDb::new(&format!("resume-{stop_after}"));
        let mut conn = schema_8_copy_of(&source, &db.0);
        crate::schema::migrate(&mut conn, &key).unwrap();
        convert::run_pending(
            &mut conn,
            convert::Until::Batches {
                batches: stop_after,
                batch: crate::tier::backfill::BACKFILL.batch,
            },
        )
        .unwrap();
        let partial = tier_rows(&conn);
        assert!(
            !partial.is_empty() && partial.len() < folded.len(),
            "{stop_after}: {} of {}",
            partial.len(),
            folded.len()
        );
        // Whole granules only, each already the final one.
        assert!(
            partial.iter().all(|row| folded.contains(row)),
            "{stop_after}"
        );
        convert::run_pending(&mut conn, convert::Until::End).unwrap();
        assert_eq!(tier_rows(&conn), folded, "{stop_after}");
    }
}

/// A store holding a week of cluster `a`'s cycles, 100 s to 9 min apart.
fn a_week() -> (Store, i64, OffsetDateTime) {
    let store = Store::open_temporary().unwrap();
    let id = store.create_cluster(&new_cluster("a")).unwrap().id;
    let t0 = datetime!(2025-01-01 0:00 UTC);
    let mut at = t0;
    let mut i = 0u64;
    while at < t0 + Duration::days(7) {
        store
            .insert_cycle(&crate::series::tests::snapshot(id, at, i), &[])
            .unwrap();
        i += 1;
        at += Duration::seconds(100 + (i * 7_919 % 440) as i64);
    }
    (store, id, t0)
}

#[test]
fn a_week_reads_the_tiers_and_equals_the_raw_rows_in_whole_granules() {
    let (store, id, t0) = a_week();
    // Not on granule edges at either end: each end takes the granules whose mean is inside.
    let (from, to) = (
        t0 + Duration::seconds(137),
        t0 + Duration::days(7) - Duration::seconds(61),
    );
    // 240, 100 and 1 point(s): buckets of 30 minutes or more, the overview tier; 420: 24-minute
    // buckets, the 5-minute tier.
    for (points, granule_ms) in [
        (240, overview::GRANULE_MS),
        (100, overview::GRANULE_MS),
        (1, overview::GRANULE_MS),
        (420, GRANULE_MS),
    ] {
        let tiered = granule(from, to, points, &OVERVIEW_FIELDS);
        assert_eq!(tiered, Some(granule_ms), "{points}");
        let got = store
            .series_with_stats(id, from, to, &OVERVIEW_FIELDS, points)
            .unwrap();
        let want = old_series(&store, id, from, to, points, tiered);
        assert_eq!(got.points.len(), want.len(), "{points}");
        for (p, (at, count, values)) in got.points.iter().zip(&want) {
            assert_eq!((to_ms(p.timestamp), p.count), (*at, *count));
            assert!(same_values(&p.values, values, true), "{points} points");
        }
        let stats = sql_stats(&store, id, from, to, &OVERVIEW_FIELDS, tiered);
        assert!(same_stats(&got.stats, &stats, true), "{points}");
        // Whole granules: the raw range statistics differ at the edges only.
        let raw = sql_stats(&store, id, from, to, &OVERVIEW_FIELDS, None);
        let edges = 2 * granule_ms / 100_000;
        assert!(got.stats[0].count.abs_diff(raw[0].count) <= edges as u64);
    }
    // A field outside the overview's goes to the 5-minute tier for every width.
    let other = Store::numeric_metric_fields()
        .find(|f| !OVERVIEW_FIELDS.contains(f))
        .unwrap();
    assert_eq!(granule(from, to, 240, &[other]), Some(GRANULE_MS));
}

/// The series of the overview's fields of cluster `id` over `from..=to` in `points` buckets.
fn overview_series(
    store: &Store,
    id: i64,
    from: OffsetDateTime,
    to: OffsetDateTime,
    points: usize,
) -> crate::series::SeriesWithStats {
    store
        .series_with_stats(id, from, to, &OVERVIEW_FIELDS, points)
        .unwrap()
}

/// `got` are the points of the reference query's rows `want`: the same times and counts, and the
/// same values, to the bit from the raw rows, within 1e-9 from granules (`granular`).
fn assert_points(
    got: &[crate::series::SeriesPoint],
    want: &[(i64, u64, Vec<crate::series::BucketValue>)],
    granular: bool,
) {
    assert_eq!(got.len(), want.len());
    for (p, (at, count, values)) in got.iter().zip(want) {
        assert_eq!((to_ms(p.timestamp), p.count), (*at, *count));
        if granular {
            assert!(same_values(&p.values, values, true), "{values:?}");
        } else {
            assert_eq!(&p.values, values, "to the bit");
        }
    }
}

#[test]
fn a_day_stays_on_the_raw_rows() {
    let (store, id, t0) = a_week();
    let (from, to) = (
        t0 + Duration::days(2) + Duration::seconds(137),
        t0 + Duration::days(3),
    );
    assert_eq!(granule(from, to, 240, &OVERVIEW_FIELDS), None);
    let got = overview_series(&store, id, from, to, 240);
    assert_points(
        &got.points,
        &old_series(&store, id, from, to, 240, None),
        false,
    );
    assert_eq!(
        got.stats,
        sql_stats(&store, id, from, to, &OVERVIEW_FIELDS, None)
    );
}

#[test]
fn the_tier_scan_is_one_range_of_its_index() {
    let store = Store::open_temporary().unwrap();
    let conn = store.conn().unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {TIER_SCAN}"))
        .unwrap()
        .query_map(params![1, 0, 10], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        plan,
        ["SEARCH metrics_5m USING INDEX metrics_5m_cluster_bucket \
          (cluster_id=? AND bucket_at>? AND bucket_at<?)"],
        "no sort"
    );
}

#[test]
fn the_tier_keeps_its_own_retention() {
    let (store, id, t0) = a_week();
    let before = tier_rows(&store.conn().unwrap());
    let cutoff = t0 + Duration::days(2) + Duration::seconds(30);
    let deleted = store.delete_tier_before(cutoff, 100).unwrap();
    let after = tier_rows(&store.conn().unwrap());
    assert_eq!(deleted, before.len() - after.len());
    // Whole half hours ending by the cutoff go; the one holding it stays, as do the raw rows.
    let edge = to_ms(t0 + Duration::days(2));
    assert!(after.iter().all(|r| r.1 >= edge));
    assert!(before.iter().filter(|r| r.1 >= edge).count() == after.len());
    assert_eq!(
        store
            .count_snapshots(id, t0, t0 + Duration::days(8))
            .unwrap(),
        before.iter().map(|r| r.2 as u64).sum::<u64>()
    );
    // Deleting a cluster takes its tier.
    store.delete_cluster(id).unwrap();
    assert!(tier_rows(&store.conn().unwrap()).is_empty());
}

/// A row of `overview_30m`, decoded: id, cluster, start, rows, sum of times, fields.
type OverviewRow = (i64, i64, i64, i64, i64, Vec<crate::sums::FieldAcc>);

/// Every row of `overview_30m`, in row id order.
fn overview_rows(conn: &Connection) -> Vec<OverviewRow> {
    rows_of(
        conn,
        "SELECT id, cluster_id, bucket_at, rows, at_sum, fields FROM overview_30m ORDER BY id",
        |r| {
            let mut fields = Vec::new();
            overview::decode_fields(&r.get::<_, Vec<u8>>(5)?, &mut fields).unwrap();
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                fields,
            ))
        },
    )
}

#[test]
fn a_half_hour_is_count_avg_min_max_of_its_raw_rows_to_the_bit() {
    let (store, id, _) = a_week();
    let rows = overview_rows(&store.conn().unwrap());
    assert_eq!(rows.len(), 7 * 48);
    let conn = store.conn().unwrap();
    let mut select = String::from("SELECT COUNT(*), SUM(collected_at)");
    for f in OVERVIEW_FIELDS {
        select.push_str(&format!(", COUNT({f}), AVG({f}), MIN({f}), MAX({f})"));
    }
    for (row_id, cluster, start, count, at_sum, fields) in &rows {
        assert_eq!((*row_id, *cluster), (overview::row_id(id, *start), id));
        assert_eq!(start % overview::GRANULE_MS, 0);
        let sql = format!(
            "{select} FROM (SELECT * FROM metrics_snapshots WHERE cluster_id = ?1 \
             AND collected_at >= ?2 AND collected_at < ?3 ORDER BY collected_at)"
        );
        conn.query_row(
            &sql,
            params![id, start, start + overview::GRANULE_MS],
            |r| {
                assert_eq!((*count, *at_sum), (r.get(0)?, r.get(1)?));
                for (i, acc) in fields.iter().enumerate() {
                    let count: i64 = r.get(2 + 4 * i)?;
                    let avg: Option<f64> = r.get(3 + 4 * i)?;
                    assert_eq!(acc.sum.count, count);
                    assert_eq!(acc.sum.mean().map(f64::to_bits), avg.map(f64::to_bits));
                    assert_eq!((acc.min, acc.max), (r.get(4 + 4 * i)?, r.get(5 + 4 * i)?));
                }
                Ok(())
            },
        )
        .unwrap();
    }
    // The overview's fields are answered from this tier alone.
    let (from, to) = (rows[0].2, rows[rows.len() - 1].2);
    let (from, to) = (
        OffsetDateTime::from_unix_timestamp(from / 1000).unwrap(),
        OffsetDateTime::from_unix_timestamp(to / 1000).unwrap(),
    );
    let before = overview_series(&store, id, from, to, 240);
    conn.execute_batch("DELETE FROM metrics_5m; DELETE FROM metrics_snapshots;")
        .unwrap();
    let after = overview_series(&store, id, from, to, 240);
    assert_eq!(after, before);
    assert!(after.points.len() > 200);
}

/// A copy of `source`'s file as it was before `overview_30m` existed: the table empty, its
/// conversion not done.
fn without_overview_tier(source: &Store, db: &TestDb) -> Connection {
    let conn = source.conn().unwrap();
    conn.execute("VACUUM INTO ?1", [db.0.display().to_string()])
        .unwrap();
    let copy = Connection::open(&db.0).unwrap();
    copy.execute_batch(
        "DELETE FROM overview_30m; DELETE FROM conversions WHERE name = 'overview_30m';",
    )
    .unwrap();
    copy
}

/// Whether two overview rows agree: the same half hour, counts, times, minima and maxima, and
/// means within 1e-9 (relative; a converted row merged sums in another order).
fn same_half_hour(a: &OverviewRow, b: &OverviewRow) -> bool {
    (a.0, a.1, a.2, a.3, a.4) == (b.0, b.1, b.2, b.3, b.4)
        && a.5.len() == b.5.len()
        && a.5.iter().zip(&b.5).all(|(x, y)| {
            (x.sum.count, x.min, x.max) == (y.sum.count, y.min, y.max)
                && match (x.mean(), y.mean()) {
                    (Some(p), Some(q)) => p == q || (p - q).abs() <= 1e-9 * p.abs().max(q.abs()),
                    (p, q) => p == q,
                }
        })
}

#[test]
fn a_five_minute_tier_gets_its_overview_tier_even_when_killed_half_way() {
    let (source, _) = collected();
    let folded = overview_rows(&source.conn().unwrap());
    assert!(folded.len() > 50, "{}", folded.len());
    let whole = TestDb::new("overview-whole");
    let mut conn = without_overview_tier(&source, &whole);
    convert::run_pending(&mut conn, convert::Until::End).unwrap();
    let converted = overview_rows(&conn);
    assert_eq!(converted.len(), folded.len());
    assert!(
        converted
            .iter()
            .zip(&folded)
            .all(|(c, f)| same_half_hour(c, f))
    );
    for stop_after in [1, 2, 3] {
        let db = TestDb::new(&format!("overview-{stop_after}"));
        let mut conn = without_overview_tier(&source, &db);
        convert::run_pending(
            &mut conn,
            convert::Until::Batches {
                batches: stop_after,
                batch: 10,
            },
        )
        .unwrap();
        let partial = overview_rows(&conn);
        assert_eq!(partial.len(), 10 * stop_after, "whole half hours only");
        assert_eq!(partial[..], converted[..partial.len()], "{stop_after}");
        drop(conn);
        let store = Store::open(&db.0).unwrap();
        assert_eq!(
            overview_rows(&store.conn().unwrap()),
            converted,
            "{stop_after}"
        );
    }
}

#[test]
fn a_damaged_overview_row_is_an_error_not_a_panic() {
    let (store, _, _) = a_week();
    let blob: Vec<u8> = store
        .conn()
        .unwrap()
        .query_row(
            "SELECT fields FROM overview_30m LIMIT 1 OFFSET 5",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut out = Vec::new();
    overview::decode_fields(&blob, &mut out).unwrap();
    assert_eq!(out.len(), OVERVIEW_FIELDS.len());
    for cut in 0..blob.len() {
        let got = overview::decode_fields(&blob[..cut], &mut out);
        assert!(
            matches!(got, Err(crate::Error::Corrupt(_))),
            "{cut}: {got:?}"
        );
    }
    let mut longer = blob.clone();
    longer.push(0);
    let mut bad_kind = blob.clone();
    bad_kind[1 + 4] = 7;
    let mut huge = blob.clone();
    huge[0] = 0xff;
    for bad in [&longer, &bad_kind, &huge] {
        let got = overview::decode_fields(bad, &mut out);
        assert!(matches!(got, Err(crate::Error::Corrupt(_))), "{got:?}");
    }
}

#[test]
fn the_overview_tier_goes_with_its_retention_by_whole_half_hours() {
    let (store, id, t0) = a_week();
    let cutoff = t0 + Duration::days(2) + Duration::minutes(40);
    store.delete_tier_before(cutoff, 100).unwrap();
    let rows = overview_rows(&store.conn().unwrap());
    // The half hour holding the cutoff stays (it has not ended by then).
    let edge = to_ms(t0 + Duration::days(2) + Duration::minutes(30));
    assert_eq!(rows.first().map(|r| r.2), Some(edge));
    assert_eq!(rows.len(), 5 * 48 - 1);
    store.delete_cluster(id).unwrap();
    assert!(overview_rows(&store.conn().unwrap()).is_empty());
}

/// `(bucket_at, span_ms)` of every row of `metrics_5m`, in time order.
fn spans(conn: &Connection) -> Vec<(i64, i64)> {
    rows_of(
        conn,
        "SELECT bucket_at, span_ms FROM metrics_5m ORDER BY bucket_at",
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

#[test]
fn half_hours_merged_past_the_cutoff_are_count_avg_min_max_of_their_raw_rows() {
    let (store, id, t0) = a_week();
    let cutoff = t0 + Duration::days(4) + Duration::minutes(10);
    let edge = to_ms(t0 + Duration::days(4));
    let before = spans(&store.conn().unwrap());
    let generation = store.write_generation(id);
    let merged = store.merge_tier_before(cutoff, 100).unwrap();
    assert!(store.write_generation(id) > generation);
    let after = spans(&store.conn().unwrap());
    // Before the last whole half hour: one row of 30 minutes per half hour that had rows;
    // from it on, the 5-minute granules as they were.
    let halves: std::collections::BTreeSet<i64> = before
        .iter()
        .filter(|r| r.0 < edge)
        .map(|r| overview::granule_of(r.0))
        .collect();
    let old: Vec<_> = after.iter().filter(|r| r.0 < edge).copied().collect();
    assert_eq!(
        old,
        halves.iter().map(|&h| (h, 1_800_000)).collect::<Vec<_>>()
    );
    let recent: Vec<_> = before.iter().filter(|r| r.0 >= edge).copied().collect();
    assert_eq!(after[old.len()..], recent[..]);
    assert_eq!(merged, before.len() - recent.len());
    assert_eq!(
        store.merge_tier_before(cutoff, 100).unwrap(),
        0,
        "done once"
    );

    // Read back: buckets of 24 minutes (the 5-minute tier's source) over the merged days equal
    // the raw rows grouped by half hour and placed by their mean time.
    let (from, to) = (
        t0 + Duration::seconds(137),
        t0 + Duration::days(4) - Duration::seconds(61),
    );
    let points = 239;
    assert_eq!(
        granule(from, to, points, &OVERVIEW_FIELDS),
        Some(GRANULE_MS)
    );
    let got = overview_series(&store, id, from, to, points);
    let want = old_series(&store, id, from, to, points, Some(overview::GRANULE_MS));
    assert_points(&got.points, &want, true);
    let stats = sql_stats(
        &store,
        id,
        from,
        to,
        &OVERVIEW_FIELDS,
        Some(overview::GRANULE_MS),
    );
    assert!(same_stats(&got.stats, &stats, true));
    // Retention still takes whole half hours, merged or not.
    store.delete_tier_before(cutoff, 100).unwrap();
    assert_eq!(
        spans(&store.conn().unwrap()).first().map(|r| r.0),
        Some(edge)
    );
}

#[test]
fn a_range_reaching_into_thinned_history_reads_the_tier_whatever_its_buckets() {
    let (store, id, t0) = a_week();
    let day = t0 + Duration::days(2);
    // Six hours of 240 points (90-second buckets), all cycles kept: the raw rows.
    let (from, to) = (day, day + Duration::hours(6));
    assert_eq!(granule(from, to, 240, &OVERVIEW_FIELDS), None);
    let raw = overview_series(&store, id, from, to, 240);
    assert_points(
        &raw.points,
        &old_series(&store, id, from, to, 240, None),
        false,
    );
    // What the 5-minute granules give, computed from every raw row before any is thinned.
    let tiered = old_series(&store, id, from, to, 240, Some(GRANULE_MS));
    // Thin everything before the range's middle (its days marked rolled up first).
    store
        .conn()
        .unwrap()
        .execute_batch(&format!(
            "INSERT INTO daily_snapshots (cluster_id, date, first_at, last_at) VALUES \
             ({id}, '2025-01-01', 0, 0), ({id}, '2025-01-02', 0, 0), ({id}, '2025-01-03', 0, 0)"
        ))
        .unwrap();
    let cutoff = day + Duration::hours(3);
    assert!(store.thin_before(cutoff, cutoff, 100).unwrap() > 0);
    let got = overview_series(&store, id, from, to, 240);
    // Every point is a whole 5-minute granule, folded from every cycle before the thinning.
    assert_points(&got.points, &tiered, true);
    let cycles = |counts: &mut dyn Iterator<Item = u64>| counts.sum::<u64>();
    let thinned_raw = old_series(&store, id, from, to, 240, None);
    assert!(
        cycles(&mut got.points.iter().map(|p| p.count))
            > cycles(&mut thinned_raw.iter().map(|p| p.1)) + 10,
        "the tier holds the cycles the thinning deleted"
    );
    // After the thinned part, the raw rows again, to the bit.
    let (from, to) = (day + Duration::hours(3), day + Duration::hours(6));
    let got = overview_series(&store, id, from, to, 240);
    assert_points(
        &got.points,
        &old_series(&store, id, from, to, 240, None),
        false,
    );
}

#[test]
fn a_schema_11_database_gains_the_granules_length_and_is_thinned_again_from_the_start() {
    let db = TestDb::new("v11");
    let start = to_ms(datetime!(2025-01-01 0:05 UTC));
    let mut g = Granule::empty(start);
    let s = varied(1, datetime!(2025-01-01 0:06 UTC), 3);
    let bound = crate::columns::metric::params(&s)
        .into_iter()
        .zip(crate::columns::metric::COLUMNS)
        .filter(|(_, c)| c.kind.is_numeric())
        .map(|(p, _)| p.to_sql().unwrap())
        .collect::<Vec<_>>();
    g.add_numeric(to_ms(s.collected_at), bound.iter().map(value_of))
        .unwrap();
    {
        let mut conn = Connection::open(&db.0).unwrap();
        crate::schema::migrate_to(&mut conn, 11).unwrap();
        conn.execute_batch(
            "INSERT INTO clusters (id, name, fe_hosts, username, password, source, created_at,
                 updated_at) VALUES (1, 'a', '[]', 'u', 'p', 'api', 0, 0);
             INSERT INTO thinned_until (cluster_id, until) VALUES (1, 1735689600000);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO metrics_5m (id, cluster_id, bucket_at, rows, at_sum, stats) \
             VALUES ((1 << 32) | (?1 / 300000), 1, ?1, ?2, ?3, ?4)",
            params![start, g.rows, g.at_sum, encode_stats(&g.fields)],
        )
        .unwrap();
    }
    let store = Store::open(&db.0).unwrap();
    let conn = store.conn().unwrap();
    assert_eq!(spans(&conn), [(start, GRANULE_MS)], "a 5-minute granule");
    let marks: i64 = conn
        .query_row("SELECT COUNT(*) FROM thinned_until", [], |r| r.get(0))
        .unwrap();
    assert_eq!(marks, 0, "thinning starts over at its new step");
    drop(conn);
    // Its half hour merges like any other, to the same figures.
    let cutoff = datetime!(2025-01-01 1:00 UTC);
    assert_eq!(store.merge_tier_before(cutoff, 100).unwrap(), 1);
    let conn = store.conn().unwrap();
    assert_eq!(spans(&conn), [(start - GRANULE_MS, overview::GRANULE_MS)]);
    let rows = tier_rows(&conn);
    let mut fields = Vec::new();
    decode_stats(&rows[0].4, &mut fields).unwrap();
    assert_eq!((rows[0].2, rows[0].3, fields), (g.rows, g.at_sum, g.fields));
}
