//! Number formatting as StarRocks' two runtimes print it.
//!
//! FE values come from Java's `Double.toString` / `Long.toString`; BE values from C++
//! `std::to_string` (6 fixed decimals for doubles). Both write into a caller-owned buffer so a
//! metrics body is built without per-number allocations.

use std::io::Write;

/// Appends a signed integer in decimal.
pub(crate) fn push_i64(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends `v` as C++ `std::to_string(double)` does (`%f`: six decimals, no exponent).
pub(crate) fn push_cpp_double(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        buf.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
    } else if v.is_infinite() {
        buf.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
    } else {
        let _ = write!(buf, "{v:.6}");
    }
}

/// Appends `v` as Java's `Double.toString(double)` prints it (JDK 19+ shortest-repr rules):
/// plain decimal with at least one fractional digit for `1e-3 <= |v| < 1e7`
/// (`12.5`, `0.0`, `100.0`), otherwise computerized scientific notation (`1.2345678E7`, `5.0E-4`).
pub(crate) fn push_java_double(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        buf.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        buf.extend_from_slice(if v < 0.0 { b"-Infinity" } else { b"Infinity" });
        return;
    }
    if v.is_sign_negative() {
        buf.push(b'-');
    }
    let a = v.abs();
    if a == 0.0 {
        buf.extend_from_slice(b"0.0");
        return;
    }
    // Rust's `{:e}` yields the shortest round-tripping digits, as JDK 19+ does: "1.2345678e7".
    let mut sci = [0u8; 40];
    let len = {
        let mut cur = std::io::Cursor::new(&mut sci[..]);
        let _ = write!(cur, "{a:e}");
        cur.position() as usize
    };
    let mut sci = &sci[..len];
    // Java never prints a single significant digit: with one, it picks the closest two-digit
    // decimal that still reads back as `a` (e.g. Double.MIN_VALUE is `4.9E-324`, not `5.0E-324`).
    let mut two = [0u8; 40];
    if sci.iter().position(|&b| b == b'e') == Some(1) {
        let l2 = {
            let mut cur = std::io::Cursor::new(&mut two[..]);
            let _ = write!(cur, "{a:.1e}");
            cur.position() as usize
        };
        let cand = &two[..l2];
        let back: Option<f64> = std::str::from_utf8(cand).ok().and_then(|s| s.parse().ok());
        if back == Some(a) && cand.get(2) != Some(&b'0') {
            sci = cand;
        }
    }
    let epos = sci.iter().position(|&b| b == b'e').unwrap_or(len);
    let exp: i32 = std::str::from_utf8(&sci[epos + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut nd = 0;
    for &b in &sci[..epos] {
        if b.is_ascii_digit() && nd < digits.len() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let digits = &digits[..nd];
    if (1e-3..1e7).contains(&a) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                buf.extend_from_slice(digits);
                buf.extend(std::iter::repeat_n(b'0', int_len - digits.len()));
                buf.extend_from_slice(b".0");
            } else {
                buf.extend_from_slice(&digits[..int_len]);
                buf.push(b'.');
                buf.extend_from_slice(&digits[int_len..]);
            }
        } else {
            buf.extend_from_slice(b"0.");
            buf.extend(std::iter::repeat_n(b'0', (-exp - 1) as usize));
            buf.extend_from_slice(digits);
        }
    } else {
        buf.push(digits[0]);
        buf.push(b'.');
        if digits.len() > 1 {
            buf.extend_from_slice(&digits[1..]);
        } else {
            buf.push(b'0');
        }
        buf.push(b'E');
        push_i64(buf, i64::from(exp));
    }
}

/// `push_java_double` into a new `String` (used off the hot path and in tests).
pub fn java_double_to_string(v: f64) -> String {
    let mut b = Vec::with_capacity(24);
    push_java_double(&mut b, v);
    String::from_utf8(b).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpp(v: f64) -> String {
        let mut b = Vec::new();
        push_cpp_double(&mut b, v);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn java_double_matches_jdk() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (12.5, "12.5"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (12_345_678.0, "1.2345678E7"),
            (1e7, "1.0E7"),
            (9_999_999.0, "9999999.0"),
            (5.0e-4, "5.0E-4"),
            (0.001, "0.001"),
            (0.0123, "0.0123"),
            (123.456, "123.456"),
            (-3.25, "-3.25"),
            (0.1 + 0.2, "0.30000000000000004"),
            (8_589_934_592.0, "8.589934592E9"),
            (1e-10, "1.0E-10"),
            (1.5e300, "1.5E300"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (4.9e-324, "4.9E-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (123456.789, "123456.789"),
            (1000000.0, "1000000.0"),
        ];
        for (v, want) in cases {
            assert_eq!(java_double_to_string(*v), *want, "for {v:e}");
        }
    }

    #[test]
    fn cpp_and_int_formatting() {
        assert_eq!(cpp(0.984098), "0.984098");
        assert_eq!(cpp(0.0), "0.000000");
        assert_eq!(cpp(12345.5), "12345.500000");
        let mut b = Vec::new();
        push_i64(&mut b, -42);
        b.push(b' ');
        push_i64(&mut b, i64::MIN);
        b.push(b' ');
        push_i64(&mut b, 0);
        assert_eq!(b, b"-42 -9223372036854775808 0");
    }
}
