//! Parsing of the text values StarRocks puts in `show_proc` rows.
//!
//! Every function is total: it returns `None` for anything it cannot read, never panics.

/// Parses a capacity as printed by StarRocks into bytes.
///
/// Accepted: `DebugUtil.getByteUint` output (`"783.211 GB"`, `"0.000 B"`, `"13.255 KB"`,
/// `"1.968 TB"`), `getPrettyStringBytes` output without a space (`"6.207GB"`, `"0B"`), the
/// degenerate forms of old docs (`".000"`, `"0.000 "`, a number without unit = bytes), single-letter
/// units (`K`, `M`, `G`, `T`, `P`, `E`) and any ASCII case. Units are binary (1 KB = 1024 B), as in
/// StarRocks. Negative, non-finite or unparsable values and `NULL`/`N/A` give `None`.
pub(crate) fn parse_capacity(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number = number.trim();
    if number.is_empty() || number == "." {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let unit = unit.trim().to_ascii_uppercase();
    let exponent = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        "E" => 6,
        _ => return None,
    };
    let bytes = value * 1024f64.powi(exponent);
    // `as` saturates for values beyond u64::MAX; the range check keeps that explicit.
    if bytes >= u64::MAX as f64 {
        return Some(u64::MAX);
    }
    Some(bytes.round() as u64)
}

/// Parses a percentage (`"17.27 %"`, `"0.0 %"`, `"5%"`, `"12.5"`) into its number on the 0–100
/// scale StarRocks prints. Non-finite or unparsable values give `None`.
pub(crate) fn parse_pct(text: &str) -> Option<f64> {
    let text = text.trim();
    let text = text.strip_suffix('%').unwrap_or(text).trim();
    let value: f64 = text.parse().ok()?;
    value.is_finite().then_some(value)
}

/// Parses a boolean (`true`/`false`, any case; `1`/`0` as well).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("true") || text == "1" {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") || text == "0" {
        Some(false)
    } else {
        None
    }
}

/// Parses a decimal unsigned integer (surrounding spaces allowed).
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Parses a decimal signed integer (surrounding spaces allowed).
pub(crate) fn parse_i64(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// Parses a TCP port.
pub(crate) fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse().ok()
}

/// Keeps a free-text value unless it is one of StarRocks' "no value" markers (`NULL`, `N/A`,
/// empty).
pub(crate) fn optional_text(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("null") || text.eq_ignore_ascii_case("n/a") {
        None
    } else {
        Some(text.to_owned())
    }
}

/// Reads `lastSuccessReportTabletsTime` from the JSON document in a backend's `Status` column,
/// e.g. `{"lastSuccessReportTabletsTime":"2023-05-27 18:37:17"}`. `N/A`, other shapes and
/// invalid JSON give `None`.
pub(crate) fn status_last_report_tablets_time(status: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(status).ok()?;
    let time = value.get("lastSuccessReportTabletsTime")?.as_str()?;
    optional_text(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIB: f64 = 1024.0;

    #[test]
    fn capacities_of_every_documented_shape() {
        assert_eq!(
            parse_capacity("783.211 GB"),
            Some((783.211 * KIB * KIB * KIB).round() as u64)
        );
        assert_eq!(parse_capacity("0.000 B"), Some(0));
        assert_eq!(parse_capacity("1.000 B"), Some(1));
        assert_eq!(
            parse_capacity("13.255 KB"),
            Some((13.255 * KIB).round() as u64)
        );
        assert_eq!(
            parse_capacity("1.968 TB"),
            Some((1.968 * KIB.powi(4)).round() as u64)
        );
        assert_eq!(
            parse_capacity("6.207GB"),
            Some((6.207 * KIB.powi(3)).round() as u64)
        );
        assert_eq!(parse_capacity("2.5 PB"), Some((2.5 * KIB.powi(5)) as u64));
        assert_eq!(parse_capacity(".000"), Some(0));
        assert_eq!(parse_capacity("0.000 "), Some(0));
        assert_eq!(parse_capacity("0B"), Some(0));
        assert_eq!(parse_capacity("12"), Some(12));
        assert_eq!(parse_capacity("1.5 mb"), Some(1_572_864));
        assert_eq!(parse_capacity("4 GiB"), Some(4 << 30));
        assert_eq!(parse_capacity(" 10.000  MB "), Some(10 << 20));
    }

    #[test]
    fn capacities_that_are_not() {
        for text in [
            "",
            " ",
            ".",
            "NULL",
            "N/A",
            "abc",
            "-1.000 GB",
            "1.0 XB",
            "1..0 GB",
            "GB",
            "1e3 GB",
        ] {
            assert_eq!(parse_capacity(text), None, "{text:?}");
        }
        assert_eq!(parse_capacity("99999999999999999999 EB"), Some(u64::MAX));
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_pct("17.27 %"), Some(17.27));
        assert_eq!(parse_pct("0.0 %"), Some(0.0));
        assert_eq!(parse_pct("100.00 %"), Some(100.0));
        assert_eq!(parse_pct("5%"), Some(5.0));
        assert_eq!(parse_pct("12.5"), Some(12.5));
        assert_eq!(parse_pct(" 1.00 % "), Some(1.0));
        for text in ["", "%", "NaN %", "inf", "N/A", "abc %"] {
            assert_eq!(parse_pct(text), None, "{text:?}");
        }
    }

    #[test]
    fn booleans_ints_ports() {
        assert_eq!(parse_bool("true"), Some(true));
        assert_eq!(parse_bool("FALSE"), Some(false));
        assert_eq!(parse_bool(" 1 "), Some(true));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_u64("10003"), Some(10003));
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_i64("-1"), Some(-1));
        assert_eq!(parse_port("8040"), Some(8040));
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port(""), None);
    }

    #[test]
    fn text_markers() {
        assert_eq!(optional_text("NULL"), None);
        assert_eq!(optional_text("null"), None);
        assert_eq!(optional_text("N/A"), None);
        assert_eq!(optional_text("  "), None);
        assert_eq!(
            optional_text("2024-05-01 10:00:00").as_deref(),
            Some("2024-05-01 10:00:00")
        );
    }

    #[test]
    fn status_json() {
        assert_eq!(
            status_last_report_tablets_time(
                r#"{"lastSuccessReportTabletsTime":"2023-05-27 18:37:17"}"#
            )
            .as_deref(),
            Some("2023-05-27 18:37:17")
        );
        assert_eq!(
            status_last_report_tablets_time(r#"{"lastSuccessReportTabletsTime":"N/A"}"#),
            None
        );
        assert_eq!(status_last_report_tablets_time("{"), None);
        assert_eq!(status_last_report_tablets_time("[]"), None);
        assert_eq!(
            status_last_report_tablets_time(r#"{"lastSuccessReportTabletsTime":7}"#),
            None
        );
    }
}
