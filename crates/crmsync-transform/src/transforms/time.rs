//! Time transforms: `datetime_iso`, `date_iso`, `epoch_ms`.
//!
//! HubSpot sends date-times as ISO-8601 text or epoch milliseconds, and dates as epoch
//! milliseconds at midnight UTC; other systems send ISO text. Canonical date-times are
//! ISO-8601 in UTC with milliseconds (`2024-05-01T00:00:00.000Z`), canonical dates are
//! `2024-05-01`. Salesforce's forms are in [`DateSfdc`](super::DateSfdc).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use crmsync_core::FieldType;
use serde_json::Value;

use super::{FieldClass, Transform, TransformEnv, TransformError, kind};

/// `datetime_iso`: ISO-8601 text (any offset, or none: UTC), a bare date (midnight UTC,
/// also `01/15/2024` read as [`DateIso`] reads it) or epoch milliseconds ⇄
/// `2024-05-01T00:00:00.000Z`. Outbound gives the canonical text. Precision below a
/// millisecond is dropped.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateTimeIso;

impl Transform for DateTimeIso {
    fn name(&self) -> &str {
        "datetime_iso"
    }

    fn inbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        if let Value::String(s) = value {
            if s.contains('/') {
                let date = parse_date(value, env)?;
                return Ok(Value::String(format_instant(midnight(date))));
            }
        }
        parse_instant(value).map(|at| Value::String(format_instant(at)))
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        self.inbound(value, env)
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[
            FieldClass::DateTime,
            FieldClass::Date,
            FieldClass::Text,
        ])
    }
}

/// `date_iso`: an ISO date, an ISO date-time (its UTC date), epoch milliseconds, or
/// `05/01/2024` (month first in region `US`, day first elsewhere) ⇄ `2024-05-01`.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateIso;

impl Transform for DateIso {
    fn name(&self) -> &str {
        "date_iso"
    }

    fn inbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        parse_date(value, env).map(|d| Value::String(format_date(d)))
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        self.inbound(value, env)
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[
            FieldClass::Date,
            FieldClass::DateTime,
            FieldClass::Text,
        ])
    }
}

/// `epoch_ms`: epoch milliseconds (HubSpot's date and date-time properties, as text
/// `"1714521600000"` or a number) ⇄ canonical `"2024-05-01T00:00:00.000Z"`. Inbound also
/// reads ISO text; outbound gives milliseconds as text, or as a JSON number to a typed
/// provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct EpochMs;

impl Transform for EpochMs {
    fn name(&self) -> &str {
        "epoch_ms"
    }

    fn inbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        DateTimeIso.inbound(value, env)
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        let ms = parse_instant(value)?.timestamp_millis();
        Ok(if env.typed() {
            Value::from(ms)
        } else {
            Value::String(ms.to_string())
        })
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[
            FieldClass::DateTime,
            FieldClass::Date,
            FieldClass::Number,
            FieldClass::Text,
        ])
    }
}

/// Midnight UTC of a date.
pub(crate) fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// `2024-05-01`.
pub(crate) fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// `2024-05-01T00:00:00.000Z`.
pub(crate) fn format_instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_instant(value: &Value) -> Result<DateTime<Utc>, TransformError> {
    match value {
        Value::Number(n) => match n.as_i64() {
            Some(ms) => from_millis(ms),
            None => Err(TransformError::new(
                "expected epoch milliseconds as a whole number",
            )),
        },
        Value::String(s) => parse_instant_text(s.trim()),
        other => Err(TransformError::new(format!(
            "expected a date-time, got {}",
            kind(other)
        ))),
    }
}

fn parse_instant_text(s: &str) -> Result<DateTime<Utc>, TransformError> {
    if is_epoch_millis(s) {
        return s
            .parse::<i64>()
            .map_err(|_| TransformError::new("epoch milliseconds out of range"))
            .and_then(from_millis);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Ok(at.with_timezone(&Utc));
    }
    // Salesforce writes offsets without a colon: 2024-05-01T10:00:00.000+0000.
    if let Ok(at) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(at.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(midnight(date));
    }
    Err(TransformError::new(
        "expected an ISO-8601 date-time such as 2024-05-01T00:00:00Z or epoch milliseconds",
    ))
}

fn is_epoch_millis(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn from_millis(ms: i64) -> Result<DateTime<Utc>, TransformError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| TransformError::new("epoch milliseconds out of range"))
}

/// `YYYY-MM-DD` exactly, read without chrono's format machinery (the common case, ten
/// times faster); anything else is left to it.
fn plain_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0_u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

pub(crate) fn parse_date(value: &Value, env: &TransformEnv) -> Result<NaiveDate, TransformError> {
    if let Value::String(s) = value {
        let s = s.trim();
        if let Some(date) = plain_date(s) {
            return Ok(date);
        }
        if let Ok(date) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Ok(date);
        }
        if s.contains('/') {
            // Slashes are ambiguous: read them the way the tenant's region writes dates.
            let (format, written) = if env.region() == "US" {
                ("%m/%d/%Y", "MM/DD/YYYY")
            } else {
                ("%d/%m/%Y", "DD/MM/YYYY")
            };
            return NaiveDate::parse_from_str(s, format).map_err(|_| {
                TransformError::new(format!("expected a date written {written} or YYYY-MM-DD"))
            });
        }
    }
    parse_instant(value)
        .map(|at| at.date_naive())
        .map_err(|_| TransformError::new("expected a date such as 2024-05-01"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::testing::assert_round_trips;
    use serde_json::json;

    fn env(region: &str) -> TransformEnv {
        match TransformEnv::new(region) {
            Ok(env) => env,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn hubspot_datetimes_become_canonical_utc_millis() {
        let cases = [
            (json!("2024-05-01T00:00:00Z"), "2024-05-01T00:00:00.000Z"),
            (
                json!("2024-05-01T00:00:00.000Z"),
                "2024-05-01T00:00:00.000Z",
            ),
            (
                json!("2024-05-01T02:30:00+02:30"),
                "2024-05-01T00:00:00.000Z",
            ),
            (
                json!("2024-04-30T19:00:00-05:00"),
                "2024-05-01T00:00:00.000Z",
            ),
            (
                json!("2024-05-01T00:00:00.123456Z"),
                "2024-05-01T00:00:00.123Z",
            ),
            (json!("2024-05-01T00:00:00"), "2024-05-01T00:00:00.000Z"),
            (json!("2024-05-01 00:00:00"), "2024-05-01T00:00:00.000Z"),
            (json!("2024-05-01"), "2024-05-01T00:00:00.000Z"),
            (json!("1714521600000"), "2024-05-01T00:00:00.000Z"),
            (json!(1_714_521_600_123_i64), "2024-05-01T00:00:00.123Z"),
            (json!("0"), "1970-01-01T00:00:00.000Z"),
            (json!("-1000"), "1969-12-31T23:59:59.000Z"),
        ];
        for (remote, canonical) in cases {
            assert_eq!(
                DateTimeIso.inbound(&remote, &env("US")).ok(),
                Some(json!(canonical)),
                "{remote}"
            );
        }
        assert_eq!(
            DateTimeIso
                .outbound(&json!("2024-05-01T00:00:00.000Z"), &env("US"))
                .ok(),
            Some(json!("2024-05-01T00:00:00.000Z"))
        );
        for bad in [
            json!("yesterday"),
            json!("2024-13-01"),
            json!("2024-02-30T00:00:00Z"),
            json!(true),
            json!(1.5),
            json!("99999999999999999999"),
        ] {
            assert!(DateTimeIso.inbound(&bad, &env("US")).is_err(), "{bad}");
        }
    }

    #[test]
    fn many_instants_round_trip() {
        let inputs: Vec<Value> = (0..300_i64)
            .map(|i| 1_714_521_600_000 + i * 86_399_937)
            .flat_map(|ms| {
                let iso = DateTime::from_timestamp_millis(ms)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                [json!(ms.to_string()), json!(ms), json!(iso)]
            })
            .collect();
        assert_round_trips(&DateTimeIso, &env("US"), &inputs);
    }

    #[test]
    fn dates_become_iso_dates() {
        let cases = [
            ("2024-01-15", "US", "2024-01-15"),
            ("01/15/2024", "US", "2024-01-15"),
            ("15/01/2024", "GB", "2024-01-15"),
            ("1705276800000", "US", "2024-01-15"),
            ("2024-01-15T00:00:00.000Z", "US", "2024-01-15"),
            ("2024-01-15T23:30:00-01:00", "US", "2024-01-16"),
        ];
        for (remote, region, canonical) in cases {
            assert_eq!(
                DateIso.inbound(&json!(remote), &env(region)).ok(),
                Some(json!(canonical)),
                "{remote} in {region}"
            );
        }
        assert!(DateIso.inbound(&json!("15/01/2024"), &env("US")).is_err());
        assert!(DateIso.inbound(&json!("someday"), &env("US")).is_err());
        assert!(DateIso.inbound(&json!(["2024-01-15"]), &env("US")).is_err());
        let inputs: Vec<Value> = (0..400_i64)
            .map(|i| {
                let day = NaiveDate::from_ymd_opt(2020, 1, 1)
                    .and_then(|d| d.checked_add_days(chrono::Days::new(i.unsigned_abs() * 3)));
                json!(day.map(|d| d.to_string()).unwrap_or_default())
            })
            .collect();
        assert_round_trips(&DateIso, &env("US"), &inputs);
    }

    #[test]
    fn the_rules_table_example_reads_as_an_iso_instant() {
        // "01/15/2024" -> "2024-01-15T00:00:00Z" (canonical form carries milliseconds).
        assert_eq!(
            DateTimeIso.inbound(&json!("01/15/2024"), &env("US")).ok(),
            Some(json!("2024-01-15T00:00:00.000Z"))
        );
        assert_eq!(
            DateTimeIso.inbound(&json!("15/01/2024"), &env("GB")).ok(),
            Some(json!("2024-01-15T00:00:00.000Z"))
        );
        assert!(
            DateTimeIso
                .inbound(&json!("15/01/2024"), &env("US"))
                .is_err()
        );
        assert_eq!(
            DateTimeIso
                .inbound(&json!("2024-05-01T10:00:00.000+0000"), &env("US"))
                .ok(),
            Some(json!("2024-05-01T10:00:00.000Z"))
        );
    }

    #[test]
    fn epoch_milliseconds_become_iso_and_back() {
        let typed = env("US").with_remote_values(crate::RemoteValues::Typed);
        for remote in [json!("1714521600000"), json!(1_714_521_600_000_i64)] {
            assert_eq!(
                EpochMs.inbound(&remote, &env("US")).ok(),
                Some(json!("2024-05-01T00:00:00.000Z")),
                "{remote}"
            );
        }
        assert_eq!(
            EpochMs
                .inbound(&json!("2024-05-01T02:00:00+02:00"), &env("US"))
                .ok(),
            Some(json!("2024-05-01T00:00:00.000Z"))
        );
        assert_eq!(
            EpochMs
                .outbound(&json!("2024-05-01T00:00:00.123Z"), &env("US"))
                .ok(),
            Some(json!("1714521600123"))
        );
        assert_eq!(
            EpochMs
                .outbound(&json!("2024-05-01T00:00:00.123Z"), &typed)
                .ok(),
            Some(json!(1_714_521_600_123_i64))
        );
        assert_eq!(
            EpochMs
                .outbound(&json!("1969-12-31T23:59:59.000Z"), &env("US"))
                .ok(),
            Some(json!("-1000"))
        );
        for bad in [json!("soon"), json!(true), json!(1.5), json!("1e3")] {
            assert!(EpochMs.inbound(&bad, &env("US")).is_err(), "{bad}");
        }
        let inputs: Vec<Value> = (0..200_i64)
            .map(|i| json!((1_714_521_600_000 + i * 7_777_777_777).to_string()))
            .collect();
        assert_round_trips(&EpochMs, &env("US"), &inputs);
        assert_round_trips(&EpochMs, &typed, &inputs);
        assert!(EpochMs.compatible_with(&FieldType::Number));
        assert!(!EpochMs.compatible_with(&FieldType::Boolean));
    }

    #[test]
    fn the_plain_date_reader_agrees_with_chrono() {
        for s in [
            "2024-05-01",
            "1815-12-10",
            "0000-01-01",
            "9999-12-31",
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-01-32",
            "2024-1-01",
            "2024/01/01",
            "20a4-01-01",
            "+2024-01-01",
        ] {
            let chrono = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            if let Some(date) = plain_date(s) {
                assert_eq!(Some(date), chrono, "{s}");
            }
            let read = DateIso.inbound(&json!(s), &env("US")).ok();
            assert_eq!(read, chrono.map(|d| json!(format_date(d))), "{s}");
        }
    }
}
