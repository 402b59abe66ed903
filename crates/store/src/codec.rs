//! The compact byte encoding of the store's packed columns (a cycle's node figures, a tier's
//! bucket statistics): varints, zigzag integers, lossless compact doubles and length-prefixed
//! text, written to a `Vec<u8>` and read back by a bounds-checked [`Reader`].
//!
//! Every number comes back bit for bit: a double is stored as its 64 bits with the trailing zero
//! bytes dropped (a length byte, then the high-order bytes), so `0.0` takes 1 byte, `100.0` 3,
//! `37.5` 4, and a measured rate the full 9. Integers are zigzag varints (1 byte up to ±63).
//! A [`Reader`] never panics on a short or malformed blob: it answers [`Error::Corrupt`] naming
//! what it was reading.

use crate::error::{Error, Result};

/// Appends `v` as a LEB128 varint (7 bits per byte, low first).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `v` zigzag-encoded (small magnitudes of either sign take few bytes).
pub(crate) fn put_int(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends `v` losslessly: how many high-order bytes of its bits follow (0–8), then those bytes.
pub(crate) fn put_real(out: &mut Vec<u8>, v: f64) {
    let bytes = v.to_bits().to_be_bytes();
    let len = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    out.push(len as u8);
    out.extend_from_slice(&bytes[..len]);
}

/// Appends `s` as its UTF-8 length (varint) and bytes.
pub(crate) fn put_text(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Reads what the `put_*` functions wrote, in the same order.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// What is read (`table.column`), for the error.
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`, the stored value of `what` (`table.column`).
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader {
            bytes,
            pos: 0,
            what,
        }
    }

    /// Whether every byte was read.
    pub(crate) fn is_at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.corrupt(format_args!(
                "{n} more bytes wanted at offset {}, {} held",
                self.pos,
                self.bytes.len()
            )));
        };
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Every byte not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let out = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        out
    }

    /// The next byte.
    pub(crate) fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// A [`put_varint`] value.
    pub(crate) fn varint(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.corrupt(format_args!(
            "a varint longer than 10 bytes at {}",
            self.pos
        )))
    }

    /// A [`put_varint`] value that must fit a `usize` (a count or a length).
    pub(crate) fn count(&mut self) -> Result<usize> {
        let v = self.varint()?;
        usize::try_from(v).map_err(|_| self.corrupt(format_args!("count {v} out of range")))
    }

    /// A [`put_int`] value.
    pub(crate) fn int(&mut self) -> Result<i64> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A [`put_real`] value.
    pub(crate) fn real(&mut self) -> Result<f64> {
        let len = usize::from(self.byte()?);
        if len > 8 {
            return Err(self.corrupt(format_args!("a double of {len} bytes")));
        }
        // Byte by byte rather than a copy of `len` bytes: no call to `memmove` for a few bytes
        // (this is the inner loop of every tier read).
        let mut bits: u64 = 0;
        for (i, &b) in self.take(len)?.iter().enumerate() {
            bits |= u64::from(b) << (56 - 8 * i);
        }
        Ok(f64::from_bits(bits))
    }

    /// A [`put_text`] value.
    pub(crate) fn text(&mut self) -> Result<&'a str> {
        let len = self.count()?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|e| self.corrupt(format_args!("text not UTF-8: {e}")))
    }

    /// [`Error::Corrupt`] naming what is read.
    pub(crate) fn corrupt(&self, detail: std::fmt::Arguments<'_>) -> Error {
        Error::corrupt(self.what, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_comes_back_bit_for_bit() {
        let ints = [0, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 1 << 40];
        let reals = [
            0.0,
            -0.0,
            37.5,
            100.0,
            0.1,
            1e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NAN,
        ];
        let mut out = Vec::new();
        for &i in &ints {
            put_int(&mut out, i);
        }
        for &r in &reals {
            put_real(&mut out, r);
        }
        put_text(&mut out, "be-10.0.0.1:8040 ✓");
        put_varint(&mut out, u64::MAX);
        let mut r = Reader::new(&out, "t.c");
        for &i in &ints {
            assert_eq!(r.int().unwrap(), i);
        }
        for &x in &reals {
            assert_eq!(r.real().unwrap().to_bits(), x.to_bits());
        }
        assert_eq!(r.text().unwrap(), "be-10.0.0.1:8040 ✓");
        assert_eq!(r.varint().unwrap(), u64::MAX);
        assert!(r.is_at_end());
    }

    #[test]
    fn round_numbers_take_few_bytes() {
        let size = |v: f64| {
            let mut out = Vec::new();
            put_real(&mut out, v);
            out.len()
        };
        assert_eq!(size(0.0), 1);
        assert_eq!(size(37.5), 4);
        assert_eq!(size(100.0), 3);
        assert_eq!(size(0.1), 9);
        let mut out = Vec::new();
        put_int(&mut out, -5);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_short_or_malformed_blob_is_an_error_naming_the_column() {
        let mut out = Vec::new();
        put_real(&mut out, 0.1);
        put_text(&mut out, "abc");
        for cut in 0..out.len() {
            let mut r = Reader::new(&out[..cut], "node_cycles.nodes");
            let outcome = r.real().and_then(|_| r.text().map(str::len));
            let err = outcome.expect_err("a cut blob must fail");
            assert!(err.to_string().contains("node_cycles.nodes"), "{err}");
        }
        let bad = [9u8, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert!(Reader::new(&bad, "x.y").real().is_err());
        let endless = [0xffu8; 11];
        assert!(Reader::new(&endless, "x.y").varint().is_err());
        let not_utf8 = [2u8, 0xff, 0xfe];
        assert!(Reader::new(&not_utf8, "x.y").text().is_err());
    }
}
