//! Timestamps as HubSpot writes and reads them.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2019-10-30T03:30:17.883Z`.
pub(crate) fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Milliseconds to a chrono instant.
pub(crate) fn to_datetime(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// Parses an instant as clients send one: epoch milliseconds, RFC 3339 / ISO-8601 with or
/// without fractional seconds or offset, or a bare date (midnight UTC).
pub(crate) fn parse_instant(value: &str) -> Option<i64> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    let digits = v.strip_prefix('-').unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<i64>().ok();
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Some(dt.timestamp_millis());
    }
    // ISO-8601 without an offset: taken as UTC.
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(v, fmt) {
            return Some(naive.and_utc().timestamp_millis());
        }
    }
    if let Ok(dt) = DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(dt.timestamp_millis());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_parse_in_every_client_format() {
        let ms = 1_700_000_000_123;
        assert_eq!(parse_instant("1700000000123"), Some(ms));
        assert_eq!(parse_instant("2023-11-14T22:13:20.123Z"), Some(ms));
        assert_eq!(parse_instant("2023-11-14T22:13:20.123+00:00"), Some(ms));
        assert_eq!(parse_instant("2023-11-14T22:13:20Z"), Some(ms - 123));
        assert_eq!(parse_instant("2023-11-14T22:13:20.123"), Some(ms));
        assert_eq!(parse_instant("2023-11-14"), Some(1_699_920_000_000));
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(iso(ms), "2023-11-14T22:13:20.123Z");
    }
}
