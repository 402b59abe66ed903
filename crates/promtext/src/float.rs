//! Sample values and timestamps: Go `ParseFloat` spellings and `int64` milliseconds.
//!
//! Most values StarRocks writes are short decimals (`12`, `0.984098`, `1.2345678E7`). Those take
//! the exact fast path (Clinger's: an integer mantissa below 2^53 scaled by an exact power of ten
//! is correctly rounded by one IEEE multiplication or division); everything else is checked
//! against the grammar here and handed to the standard library's correctly rounding parser.

use crate::ErrorKind;

/// Powers of ten that are exact in an `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The largest integer below which every integer is exact in an `f64`.
const MAX_EXACT_MANTISSA: u64 = 1 << 53;

/// Parses a sample value: `[+-]?(digits[.digits*]|.digits)([eE][+-]?digits)?`, or
/// `[+-]?inf`, `[+-]?infinity`, `nan` in any case (Go's `ParseFloat`, no `_`, hex or `0x`).
pub(crate) fn parse_value(token: &[u8]) -> Result<f64, ErrorKind> {
    // Most values are plain counters: up to 15 digits are exact in an f64.
    if !token.is_empty() && token.len() <= 15 {
        let mut m: u64 = 0;
        let mut digits = true;
        for &b in token {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                digits = false;
                break;
            }
            m = m * 10 + u64::from(d);
        }
        if digits {
            return Ok(m as f64);
        }
    }
    let (negative, body) = match token.first() {
        Some(b'-') => (true, &token[1..]),
        Some(b'+') => (false, &token[1..]),
        _ => (false, token),
    };
    let Some(&first) = body.first() else {
        return Err(ErrorKind::InvalidValue);
    };
    if !(first.is_ascii_digit() || first == b'.') {
        return parse_special(token, body, negative);
    }

    // Decimal: scan once, accumulating the mantissa while it stays exact.
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut digits = 0u32; // significant digits taken into the mantissa
    let mut exact = true;
    let mut int_digits = 0;
    while i < body.len() && body[i].is_ascii_digit() {
        push_digit(&mut mantissa, &mut digits, &mut exact, body[i]);
        i += 1;
        int_digits += 1;
    }
    let mut scale: i32 = 0;
    let mut frac_digits = 0;
    if i < body.len() && body[i] == b'.' {
        i += 1;
        while i < body.len() && body[i].is_ascii_digit() {
            push_digit(&mut mantissa, &mut digits, &mut exact, body[i]);
            scale -= 1;
            i += 1;
            frac_digits += 1;
        }
    }
    if int_digits + frac_digits == 0 {
        return Err(ErrorKind::InvalidValue);
    }
    if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
        i += 1;
        let mut exp_negative = false;
        if i < body.len() && (body[i] == b'+' || body[i] == b'-') {
            exp_negative = body[i] == b'-';
            i += 1;
        }
        let exp_start = i;
        let mut exp: i32 = 0;
        while i < body.len() && body[i].is_ascii_digit() {
            exp = exp
                .saturating_mul(10)
                .saturating_add(i32::from(body[i] - b'0'));
            i += 1;
        }
        if i == exp_start {
            return Err(ErrorKind::InvalidValue);
        }
        scale = scale.saturating_add(if exp_negative { -exp } else { exp });
    }
    if i != body.len() {
        return Err(ErrorKind::InvalidValue);
    }

    if exact && mantissa < MAX_EXACT_MANTISSA && (-22..=22).contains(&scale) {
        let m = mantissa as f64;
        let v = if scale >= 0 {
            m * POW10[scale as usize]
        } else {
            m / POW10[(-scale) as usize]
        };
        return Ok(if negative { -v } else { v });
    }
    slow_path(token)
}

/// Parses a timestamp: `-?[0-9]+` that fits an `i64`.
pub(crate) fn parse_timestamp(token: &[u8]) -> Result<i64, ErrorKind> {
    let (negative, digits) = match token.first() {
        Some(b'-') => (true, &token[1..]),
        _ => (false, token),
    };
    if digits.is_empty() {
        return Err(ErrorKind::InvalidTimestamp);
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(ErrorKind::InvalidTimestamp);
        }
        let d = i64::from(d - b'0');
        // Accumulate towards the sign so that i64::MIN itself is representable.
        v = v
            .checked_mul(10)
            .and_then(|v| {
                if negative {
                    v.checked_sub(d)
                } else {
                    v.checked_add(d)
                }
            })
            .ok_or(ErrorKind::TimestampOutOfRange)?;
    }
    Ok(v)
}

#[inline]
fn push_digit(mantissa: &mut u64, digits: &mut u32, exact: &mut bool, d: u8) {
    // Leading zeros add no significant digit; 19 digits always fit a u64.
    if *mantissa == 0 && d == b'0' {
        return;
    }
    if *digits < 19 {
        *mantissa = *mantissa * 10 + u64::from(d - b'0');
        *digits += 1;
    } else {
        *exact = false;
    }
}

fn parse_special(token: &[u8], body: &[u8], negative: bool) -> Result<f64, ErrorKind> {
    let is = |word: &[u8]| body.eq_ignore_ascii_case(word);
    if is(b"inf") || is(b"infinity") {
        return Ok(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    // Go's ParseFloat takes no sign before NaN.
    if is(b"nan") && token.len() == body.len() {
        return Ok(f64::NAN);
    }
    Err(ErrorKind::InvalidValue)
}

#[cold]
fn slow_path(token: &[u8]) -> Result<f64, ErrorKind> {
    // The grammar was checked by the caller, so the token is ASCII and the standard parser
    // accepts exactly it.
    let text = std::str::from_utf8(token).map_err(|_| ErrorKind::InvalidValue)?;
    let v: f64 = text.parse().map_err(|_| ErrorKind::InvalidValue)?;
    if v.is_infinite() {
        return Err(ErrorKind::ValueOutOfRange);
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> f64 {
        parse_value(s.as_bytes()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn decimal_forms_match_the_standard_parser() {
        for s in [
            "0",
            "08",
            "1",
            "-1",
            "+1",
            "1.5",
            "-1.2",
            ".5",
            "5.",
            "0.984098",
            "0.000000",
            "1.2345678E7",
            "5.0E-4",
            "1e3",
            "1E+3",
            "-7.25e-2",
            "111917999792",
            "123456789012345678",
            "12345678901234567890123",
            "0.1",
            "3.141592653589793238462643383279",
            "9007199254740993",
            "1e22",
            "1e23",
            "4.9e-324",
            "1e-400",
            "1.7976931348623157e308",
        ] {
            let expected: f64 = s.parse().unwrap();
            assert_eq!(ok(s).to_bits(), expected.to_bits(), "{s}");
        }
    }

    #[test]
    fn specials() {
        assert!(ok("NaN").is_nan());
        assert!(ok("nan").is_nan());
        assert_eq!(ok("+Inf"), f64::INFINITY);
        assert_eq!(ok("-Inf"), f64::NEG_INFINITY);
        assert_eq!(ok("infinity"), f64::INFINITY);
        assert_eq!(ok("-INFINITY"), f64::NEG_INFINITY);
        assert_eq!(parse_value(b"-NaN"), Err(ErrorKind::InvalidValue));
        assert_eq!(parse_value(b"+nan"), Err(ErrorKind::InvalidValue));
    }

    #[test]
    fn rejects_what_go_rejects() {
        for s in [
            "", "-", "+", ".", "e5", "1e", "1e+", "1_000", "0x1p-2", "0X1P-2", "0b101", "0o17",
            "0x1f", "1.2.3", "--1", "1 ", "infx", "in", "Inf1", "1,5",
        ] {
            assert_eq!(
                parse_value(s.as_bytes()),
                Err(ErrorKind::InvalidValue),
                "{s:?}"
            );
        }
        assert_eq!(parse_value(b"1e400"), Err(ErrorKind::ValueOutOfRange));
        assert_eq!(parse_value(b"-1e400"), Err(ErrorKind::ValueOutOfRange));
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp(b"0"), Ok(0));
        assert_eq!(parse_timestamp(b"-2"), Ok(-2));
        assert_eq!(parse_timestamp(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_timestamp(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(
            parse_timestamp(b"9223372036854775808"),
            Err(ErrorKind::TimestampOutOfRange)
        );
        for s in ["", "-", "+1", "1.5", "1e3", "12a"] {
            assert_eq!(
                parse_timestamp(s.as_bytes()),
                Err(ErrorKind::InvalidTimestamp),
                "{s:?}"
            );
        }
    }
}
