//! Sums, means, minima and maxima as SQLite's aggregates compute them: the accumulators of the
//! series scan ([`crate::series`]) and of the 5-minute tier ([`crate::tier`]), which folds them
//! at write and merges them at read.

use rusqlite::types::ValueRef;

use crate::codec::{Reader, put_int, put_real, put_varint};
use crate::error::{Error, Result};

/// A sum as SQLite's `SUM`/`TOTAL`/`AVG` take it (`sumStep` in SQLite's `func.c`, 3.43 and
/// later): exact in an `i64` while only integers came, else a Kahan–Babuška–Neumaier sum of
/// doubles. So `total() / count` is, to the bit, what `AVG` returns over the same values in the
/// same order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct SqlSum {
    pub(crate) count: i64,
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

    pub(crate) fn add_int(&mut self, x: i64) {
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

    pub(crate) fn total(&self) -> f64 {
        if !self.approx {
            self.int_sum as f64
        } else if self.err.is_finite() {
            self.sum + self.err
        } else {
            self.sum
        }
    }

    /// `AVG`: `None` without a value.
    pub(crate) fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.total() / self.count as f64)
    }

    /// The sum of `count` integers whose exact sum is `sum` (as folding them one by one gives).
    pub(crate) fn of_ints(count: i64, sum: i64) -> SqlSum {
        SqlSum {
            count,
            int_sum: sum,
            ..SqlSum::default()
        }
    }

    /// Adds the values `other` summed: exact while both are integer sums that fit together,
    /// else `other`'s total (its sum, then its compensation) is stepped in, which differs from
    /// folding its values one by one only by the order of the floating-point additions.
    pub(crate) fn merge(&mut self, other: &SqlSum) {
        if other.count == 0 {
            return;
        }
        self.count += other.count;
        if !self.approx
            && !other.approx
            && let Some(sum) = self.int_sum.checked_add(other.int_sum)
        {
            self.int_sum = sum;
            return;
        }
        if !self.approx {
            self.start_approx();
        }
        if other.approx {
            self.step(other.sum);
            if other.err.is_finite() {
                self.step(other.err);
            }
        } else {
            self.step_int(other.int_sum);
        }
    }
}

/// One field's count, sum, minimum and maximum over a bucket or the range.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct FieldAcc {
    pub(crate) sum: SqlSum,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
}

impl FieldAcc {
    /// Adds `value`, read from `table.column` (named only in the error for a value that is not
    /// a number).
    pub(crate) fn add(&mut self, value: ValueRef<'_>, table: &str, column: &str) -> Result<()> {
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
    pub(crate) fn mean(&self) -> Option<f64> {
        within(self.sum.mean(), self.min, self.max)
    }

    /// Adds everything `other` accumulated (see [`SqlSum::merge`]; the count, minimum and
    /// maximum are exact).
    pub(crate) fn merge(&mut self, other: &FieldAcc) {
        self.sum.merge(&other.sum);
        if let Some(v) = other.min {
            self.min = Some(self.min.map_or(v, |m| m.min(v)));
        }
        if let Some(v) = other.max {
            self.max = Some(self.max.map_or(v, |m| m.max(v)));
        }
    }

    /// Appends the state that [`FieldAcc::decode`] restores exactly (so folding can go on):
    /// `count × 2 + approx` (varint); nothing more without a value; else the exact integer
    /// sum (zigzag), or the double sum and its compensation; then the minimum and maximum.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let s = &self.sum;
        let count = u64::try_from(s.count).unwrap_or(0);
        put_varint(out, (count << 1) | u64::from(s.approx));
        if count == 0 {
            return;
        }
        if s.approx {
            put_real(out, s.sum);
            put_real(out, s.err);
        } else {
            put_int(out, s.int_sum);
        }
        put_real(out, self.min.unwrap_or(0.0));
        put_real(out, self.max.unwrap_or(0.0));
    }

    /// What [`FieldAcc::encode`] wrote; [`Error::Corrupt`] for a malformed one.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<FieldAcc> {
        let tag = r.varint()?;
        let count = i64::try_from(tag >> 1)
            .map_err(|_| r.corrupt(format_args!("count {} out of range", tag >> 1)))?;
        let approx = tag & 1 == 1;
        if count == 0 {
            if approx {
                return Err(r.corrupt(format_args!("a double sum of no value")));
            }
            return Ok(FieldAcc::default());
        }
        let mut sum = SqlSum {
            count,
            approx,
            ..SqlSum::default()
        };
        if approx {
            sum.sum = r.real()?;
            sum.err = r.real()?;
        } else {
            sum.int_sum = r.int()?;
        }
        Ok(FieldAcc {
            sum,
            min: Some(r.real()?),
            max: Some(r.real()?),
        })
    }
}

/// The length of [`FieldAcc::encode_fixed`]'s record.
pub(crate) const FIXED_LEN: usize = 37;

impl FieldAcc {
    /// Appends the same state as [`FieldAcc::encode`] at a fixed width ([`FIXED_LEN`] bytes,
    /// little-endian): the count (`u32`), the kind of sum (0 none, 1 exact integer, 2 double),
    /// the integer sum or the double sum, the compensation, the minimum and the maximum. A
    /// third larger than the compact form for measured doubles, but decoded with no branch per
    /// byte: the form of the data read by every cold overview ([`crate::tier::overview`]).
    /// `None` when the count does not fit 32 bits.
    pub(crate) fn encode_fixed(&self, out: &mut Vec<u8>) -> Option<()> {
        let s = &self.sum;
        out.extend_from_slice(&u32::try_from(s.count).ok()?.to_le_bytes());
        let (kind, a) = match (s.count, s.approx) {
            (0, _) => (0u8, 0),
            (_, false) => (1, s.int_sum as u64),
            (_, true) => (2, s.sum.to_bits()),
        };
        out.push(kind);
        out.extend_from_slice(&a.to_le_bytes());
        for v in [s.err, self.min.unwrap_or(0.0), self.max.unwrap_or(0.0)] {
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        Some(())
    }

    /// What [`FieldAcc::encode_fixed`] wrote, read from `what`; [`Error::Corrupt`] for a
    /// malformed record.
    pub(crate) fn decode_fixed(b: &[u8; FIXED_LEN], what: &str) -> Result<FieldAcc> {
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let count = i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let (approx, int_sum, sum) = match (b[4], count) {
            (0, 0) => return Ok(FieldAcc::default()),
            (1, 1..) => (false, word(5) as i64, 0.0),
            (2, 1..) => (true, 0, f64::from_bits(word(5))),
            (kind, _) => {
                return Err(Error::corrupt(
                    what,
                    format_args!("a sum of kind {kind} over {count} values"),
                ));
            }
        };
        Ok(FieldAcc {
            sum: SqlSum {
                count,
                int_sum,
                approx,
                sum,
                err: if approx {
                    f64::from_bits(word(13))
                } else {
                    0.0
                },
            },
            min: Some(f64::from_bits(word(21))),
            max: Some(f64::from_bits(word(29))),
        })
    }
}

/// SQLite's AVG sums before it divides, so the mean of equal values can land one unit in the last
/// place outside them; a mean is never reported outside its own minimum and maximum.
pub(crate) fn within(avg: Option<f64>, min: Option<f64>, max: Option<f64>) -> Option<f64> {
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
    use rusqlite::params;

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
    fn both_encodings_restore_the_same_state_and_a_bad_fixed_one_is_an_error() {
        let big = 9_007_199_254_740_993;
        let series: [&[ValueRef<'_>]; 6] = [
            &[],
            &[ValueRef::Integer(3), ValueRef::Integer(-7)],
            &[ValueRef::Integer(big), ValueRef::Integer(big)],
            &[
                ValueRef::Real(0.1),
                ValueRef::Real(-0.0),
                ValueRef::Real(1e300),
            ],
            &[ValueRef::Integer(i64::MAX), ValueRef::Integer(5)],
            &[ValueRef::Integer(2), ValueRef::Real(f64::INFINITY)],
        ];
        for values in series {
            let mut acc = FieldAcc::default();
            for v in values {
                acc.add(*v, "t", "c").unwrap();
            }
            let mut fixed = Vec::new();
            acc.encode_fixed(&mut fixed).unwrap();
            assert_eq!(fixed.len(), FIXED_LEN);
            let back = FieldAcc::decode_fixed(fixed[..].try_into().unwrap(), "t.c").unwrap();
            let mut compact = Vec::new();
            acc.encode(&mut compact);
            let compact = FieldAcc::decode(&mut Reader::new(&compact, "t.c")).unwrap();
            // The same state (an integer sum left behind by an overflow is in neither).
            // (Debug: a compensation of `inf − inf` is a NaN, unequal to itself.)
            assert_eq!(format!("{back:?}"), format!("{compact:?}"), "{values:?}");
            assert_eq!(back.mean().map(f64::to_bits), acc.mean().map(f64::to_bits));
            assert_eq!(
                (back.sum.count, back.min, back.max),
                (acc.sum.count, acc.min, acc.max)
            );
        }
        let mut bad = [0u8; FIXED_LEN];
        for (count, kind) in [(0u8, 1u8), (0, 2), (3, 0), (3, 7)] {
            bad[0] = count;
            bad[4] = kind;
            assert!(
                matches!(FieldAcc::decode_fixed(&bad, "t.c"), Err(Error::Corrupt(_))),
                "{count} {kind}"
            );
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
