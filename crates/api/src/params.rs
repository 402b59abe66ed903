//! Parsing and validation of query and path parameters: time ranges, `max_points`, RFC 3339
//! instants, `YYYY-MM-DD` dates, cluster ids and snapshot field lists. Every failure is a
//! `400 invalid_parameter` naming the parameter and what is allowed.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::error::ApiError;

/// The time ranges of the overview, with their lengths.
pub const TIME_RANGES: [(&str, Duration); 6] = [
    ("15m", Duration::minutes(15)),
    ("1h", Duration::hours(1)),
    ("6h", Duration::hours(6)),
    ("24h", Duration::hours(24)),
    ("3d", Duration::days(3)),
    ("7d", Duration::days(7)),
];

/// The overview's time range without `time_range`.
pub const DEFAULT_TIME_RANGE: &str = "1h";

/// Points of a downsampled series without `max_points`.
pub const DEFAULT_MAX_POINTS: usize = 240;

/// The most points a downsampled series has; larger `max_points` are capped to it.
pub const MAX_POINTS_CAP: usize = 2000;

/// The window of `/snapshots` without `from`.
pub const DEFAULT_SNAPSHOT_WINDOW: Duration = Duration::hours(1);

/// The days of `/daily` without `from` (today included).
pub const DEFAULT_DAILY_DAYS: i64 = 30;

/// The most days one `/daily` window covers, `from` and `to` both included.
pub const MAX_DAILY_DAYS: i64 = 3660;

/// The query of a route that takes no parameters: any parameter is refused (`400`), so that a
/// misspelt one is not silently ignored.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoQuery {}

/// `time_range` (default [`DEFAULT_TIME_RANGE`]): its canonical name and length.
pub(crate) fn time_range(raw: Option<&str>) -> Result<(&'static str, Duration), ApiError> {
    let raw = raw.unwrap_or(DEFAULT_TIME_RANGE);
    TIME_RANGES
        .iter()
        .find(|(name, _)| *name == raw)
        .copied()
        .ok_or_else(|| {
            let allowed: Vec<&str> = TIME_RANGES.iter().map(|(n, _)| *n).collect();
            ApiError::InvalidParameter(format!("time_range must be one of {}", allowed.join(", ")))
        })
}

/// `max_points`: a positive integer, capped at [`MAX_POINTS_CAP`]; `default` when absent.
pub(crate) fn max_points(raw: Option<&str>, default: usize) -> Result<usize, ApiError> {
    positive_capped("max_points", raw, default, MAX_POINTS_CAP)
}

/// Parameter `name`: a positive integer, capped at `cap`; `default` when absent.
pub(crate) fn positive_capped(
    name: &str,
    raw: Option<&str>,
    default: usize,
    cap: usize,
) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    let digits = raw.trim();
    let positive = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.bytes().any(|b| b != b'0');
    match digits.parse::<u64>() {
        Ok(n) if positive => Ok(usize::try_from(n).unwrap_or(cap).min(cap)),
        // More digits than a u64 holds: far above the cap, so capped like any other.
        Err(_) if positive => Ok(cap),
        _ => Err(ApiError::InvalidParameter(format!(
            "{name} must be a positive integer (values above {cap} are capped)"
        ))),
    }
}

/// A cluster id given as the query parameter `name`.
pub(crate) fn cluster_id(name: &str, raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::InvalidParameter(format!("{name} must be an integer cluster id")))
}

/// An RFC 3339 instant given as parameter `name`, in UTC.
pub(crate) fn instant(name: &str, raw: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    raw.map(|raw| {
        OffsetDateTime::parse(raw.trim(), &Rfc3339)
            .map(utc)
            .map_err(|_| {
                ApiError::InvalidParameter(format!(
                    "{name} must be an RFC 3339 time, e.g. 2025-03-01T12:00:00Z"
                ))
            })
    })
    .transpose()
}

/// The `from`/`to` window of a history query: `to` defaults to `now`, `from` to `to − default`;
/// `from` after `to` is an error.
pub(crate) fn window(
    from: Option<&str>,
    to: Option<&str>,
    default: Duration,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), ApiError> {
    let to = instant("to", to)?.unwrap_or(now);
    let from = instant("from", from)?.unwrap_or(to - default);
    if from > to {
        return Err(ApiError::InvalidParameter(
            "from must not be after to".to_owned(),
        ));
    }
    Ok((from, to))
}

/// A `YYYY-MM-DD` date given as parameter `name`.
pub(crate) fn date(name: &str, raw: Option<&str>) -> Result<Option<Date>, ApiError> {
    raw.map(|raw| {
        Date::parse(raw.trim(), format_description!("[year]-[month]-[day]"))
            .map_err(|_| ApiError::InvalidParameter(format!("{name} must be a date as YYYY-MM-DD")))
    })
    .transpose()
}

/// The `from`/`to` dates of `/daily`: `to` defaults to today (UTC), `from` to
/// [`DEFAULT_DAILY_DAYS`] days ending with `to`.
pub(crate) fn date_window(
    from: Option<&str>,
    to: Option<&str>,
    today: Date,
) -> Result<(Date, Date), ApiError> {
    let to = date("to", to)?.unwrap_or(today);
    let from = date("from", from)?
        .unwrap_or_else(|| to.saturating_sub(Duration::days(DEFAULT_DAILY_DAYS - 1)));
    if from > to {
        return Err(ApiError::InvalidParameter(
            "from must not be after to".to_owned(),
        ));
    }
    if (to - from).whole_days() + 1 > MAX_DAILY_DAYS {
        return Err(ApiError::InvalidParameter(format!(
            "from..to must cover at most {MAX_DAILY_DAYS} days, both included (to at most {} \
             days after from)",
            MAX_DAILY_DAYS - 1
        )));
    }
    Ok((from, to))
}

/// `fields=a,b`: known numeric snapshot fields (see `Store::numeric_metric_fields`) and the
/// names `is_custom` accepts, without duplicates, in the order given. `None` when absent.
pub(crate) fn fields(
    raw: Option<&str>,
    is_custom: impl Fn(&str) -> bool,
) -> Result<Option<FieldList>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let mut out = FieldList::default();
    for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if let Some(known) = rockscope_store::Store::numeric_metric_fields().find(|f| *f == name) {
            if !out.builtin.contains(&known) {
                out.builtin.push(known);
            }
            continue;
        }
        if !is_custom(name) {
            let allowed: Vec<&str> = rockscope_store::Store::numeric_metric_fields().collect();
            return Err(ApiError::InvalidParameter(format!(
                "fields: `{name}` is not a numeric snapshot field; allowed: {}, or the name of a \
                 custom metric (in force, or with history in the window)",
                allowed.join(", ")
            )));
        }
        if !out.custom.iter().any(|c| c == name) {
            out.custom.push(name.to_owned());
        }
    }
    if out.builtin.is_empty() && out.custom.is_empty() {
        return Err(ApiError::InvalidParameter(
            "fields must be a comma-separated list of numeric snapshot fields or custom \
             metrics, e.g. qps,rps"
                .to_owned(),
        ));
    }
    Ok(Some(out))
}

/// The `fields` of `/snapshots`: built-in snapshot fields and custom metric names, each once,
/// in the order asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldList {
    /// Numeric snapshot fields.
    pub builtin: Vec<&'static str>,
    /// Custom metric names.
    pub custom: Vec<String>,
}

/// `t` in UTC.
pub(crate) fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn time_ranges() {
        assert_eq!(time_range(None).unwrap(), ("1h", Duration::hours(1)));
        assert_eq!(time_range(Some("7d")).unwrap().1, Duration::days(7));
        let err = time_range(Some("2h")).unwrap_err();
        assert_eq!(
            err.message(),
            "time_range must be one of 15m, 1h, 6h, 24h, 3d, 7d"
        );
    }

    #[test]
    fn max_points_defaults_caps_and_rejects() {
        assert_eq!(max_points(None, 240).unwrap(), 240);
        assert_eq!(max_points(Some("10"), 240).unwrap(), 10);
        assert_eq!(max_points(Some("999999"), 240).unwrap(), MAX_POINTS_CAP);
        assert_eq!(
            max_points(Some("1234567890123456789012345"), 240).unwrap(),
            MAX_POINTS_CAP
        );
        for bad in [
            "0",
            "000",
            "-1",
            "+5",
            "abc",
            "",
            "1.5",
            "99999999999999999999999x",
        ] {
            let err = max_points(Some(bad), 240).unwrap_err();
            assert!(err.message().starts_with("max_points"), "{bad}");
        }
    }

    #[test]
    fn windows() {
        let now = datetime!(2025-03-01 12:00 UTC);
        assert_eq!(
            window(None, None, Duration::hours(1), now).unwrap(),
            (datetime!(2025-03-01 11:00 UTC), now)
        );
        let (from, to) = window(
            Some("2025-03-01T10:00:00+02:00"),
            Some("2025-03-01T09:00:00Z"),
            Duration::hours(1),
            now,
        )
        .unwrap();
        assert_eq!(from, datetime!(2025-03-01 8:00 UTC));
        assert_eq!(from.offset(), UtcOffset::UTC);
        assert_eq!(to, datetime!(2025-03-01 9:00 UTC));
        assert!(window(Some("yesterday"), None, Duration::hours(1), now).is_err());
        assert!(
            window(
                Some("2025-03-01T10:00:00Z"),
                Some("2025-03-01T09:00:00Z"),
                Duration::hours(1),
                now
            )
            .is_err()
        );
    }

    #[test]
    fn date_windows() {
        let today = date!(2025 - 03 - 31);
        assert_eq!(
            date_window(None, None, today).unwrap(),
            (date!(2025 - 03 - 02), today)
        );
        assert!(date_window(Some("2025-3-1"), None, today).is_err());
        assert!(date_window(Some("2025-04-01"), None, today).is_err());
        // 3660 days in all are allowed, 3661 are not; the message says the same.
        let from = date!(2015 - 01 - 01);
        let last = from + Duration::days(MAX_DAILY_DAYS - 1);
        assert_eq!(
            date_window(Some("2015-01-01"), Some(&last.to_string()), today).unwrap(),
            (from, last)
        );
        let over = (last + Duration::days(1)).to_string();
        let err = date_window(Some("2015-01-01"), Some(&over), today).unwrap_err();
        assert!(
            err.message().contains("at most 3660 days, both included"),
            "{err}"
        );
    }

    #[test]
    fn field_lists() {
        let none = |_: &str| false;
        assert_eq!(fields(None, none).unwrap(), None);
        assert_eq!(
            fields(Some("qps, rps,qps"), none).unwrap().unwrap().builtin,
            vec!["qps", "rps"]
        );
        assert!(
            fields(Some("qps,nope"), none)
                .unwrap_err()
                .message()
                .contains("`nope`")
        );
        assert!(
            fields(Some("version"), none).is_err(),
            "text fields are not numeric"
        );
        assert!(fields(Some(","), none).is_err());
        let hit_ratio = |n: &str| n == "hit_ratio";
        let mixed = fields(Some("hit_ratio,qps,hit_ratio"), hit_ratio)
            .unwrap()
            .unwrap();
        assert_eq!(mixed.builtin, vec!["qps"]);
        assert_eq!(mixed.custom, vec!["hit_ratio".to_owned()]);
        assert!(fields(Some("hit_ratios"), hit_ratio).is_err());
    }
}
