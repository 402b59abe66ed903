//! Prometheus durations (`30s`, `5m`, `1h30m`, `1d`): windows, `for` and `keep_firing_for`.

use std::time::Duration;

/// The units Prometheus accepts, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration: one or more `<digits><unit>` parts, units in decreasing order
/// (`1h30m`), or a bare `0`. Signs, fractions, spaces and unknown units are refused.
pub fn parse(text: &str) -> Result<Duration, String> {
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let invalid = || {
        format!(
            "`{text}` is not a duration (write e.g. `30s`, `5m`, `1h30m`, `1d`; units ms, s, m, h, d, w, y)"
        )
    };
    if text.is_empty() {
        return Err(invalid());
    }
    let bytes = text.as_bytes();
    let mut at = 0;
    let mut total: u64 = 0;
    let mut last_unit = usize::MAX; // index into UNITS of the previous part
    while at < bytes.len() {
        let digits_end = at
            + bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
        if digits_end == at {
            return Err(invalid());
        }
        let number: u64 = text[at..digits_end].parse().map_err(|_| invalid())?;
        let rest = &text[digits_end..];
        // `ms` before `m`: the longest unit that matches.
        let (index, (unit, millis)) = UNITS
            .iter()
            .enumerate()
            .filter(|(_, (unit, _))| rest.starts_with(unit))
            .max_by_key(|(_, (unit, _))| unit.len())
            .ok_or_else(invalid)?;
        if last_unit != usize::MAX && index <= last_unit {
            return Err(invalid());
        }
        last_unit = index;
        let part = number.checked_mul(*millis).ok_or_else(invalid)?;
        total = total.checked_add(part).ok_or_else(invalid)?;
        at = digits_end + unit.len();
    }
    Ok(Duration::from_millis(total))
}

/// Writes a duration the way Prometheus does: `1h30m`, `5m`, `0s`.
pub fn format(duration: Duration) -> String {
    let mut millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, length) in UNITS {
        // Prometheus never prints years/weeks unless exact; days are the largest unit it needs.
        if millis >= length {
            out.push_str(&(millis / length).to_string());
            out.push_str(unit);
            millis %= length;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_durations() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse("1w"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1m30s500ms"), Ok(Duration::from_millis(90_500)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_negative_fractional_and_garbage() {
        for bad in [
            "",
            "-5m",
            "+5m",
            "5",
            "5 m",
            "1.5h",
            "5min",
            "m",
            "30m1h",
            "5m5m",
            "abc",
            "1e3s",
            "99999999999999999999s",
            "100000000000y",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn formats_round_trip() {
        for text in ["0s", "30s", "5m", "1h30m", "1d", "1m30s500ms"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
        assert_eq!(format(Duration::from_secs(7 * 86_400)), "1w");
    }
}
