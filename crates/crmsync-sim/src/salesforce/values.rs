//! Field values as the simulator stores them, and how they cross the wire: JSON in REST,
//! text in Bulk API CSV, and Salesforce's own timestamp formats.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::ser::{Serialize, Serializer};
use serde_json::Value;

use super::schema::{FieldDef, FieldType};

/// One stored field value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Null,
    Str(String),
    Num(f64),
    Int(i64),
    Bool(bool),
    Date(NaiveDate),
    /// Milliseconds since the epoch.
    DateTime(i64),
}

impl Val {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as JSON, the way the REST API renders it.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Str(s) => Value::String(s.clone()),
            Val::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Val::Int(n) => Value::from(*n),
            Val::Bool(b) => Value::Bool(*b),
            Val::Date(d) => Value::String(date_text(*d)),
            Val::DateTime(ms) => Value::String(rest_datetime(*ms)),
        }
    }

    /// The value as Bulk API CSV text (`""` for null).
    pub(crate) fn to_csv(&self) -> String {
        match self {
            Val::Null => String::new(),
            Val::Str(s) => s.clone(),
            Val::Num(n) => Value::from(*n).to_string(),
            Val::Int(n) => n.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Date(d) => date_text(*d),
            Val::DateTime(ms) => bulk_datetime(*ms),
        }
    }

    /// Orders two values of one field, as SOQL's `ORDER BY` and range operators do: text
    /// without regard to case, numbers numerically, dates chronologically. Nulls compare
    /// as `None`.
    pub(crate) fn compare(&self, other: &Val) -> Option<Ordering> {
        match (self, other) {
            (Val::Str(a), Val::Str(b)) => Some(cmp_ignore_case(a, b)),
            (Val::Num(a), Val::Num(b)) => a.partial_cmp(b),
            (Val::Int(a), Val::Int(b)) => Some(a.cmp(b)),
            (Val::Int(a), Val::Num(b)) => (*a as f64).partial_cmp(b),
            (Val::Num(a), Val::Int(b)) => a.partial_cmp(&(*b as f64)),
            (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
            (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
            (Val::DateTime(a), Val::DateTime(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// Case-insensitive ordering without allocating.
pub(crate) fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    let fold = |s: &str| {
        s.chars()
            .flat_map(char::to_lowercase)
            .collect::<Vec<char>>()
    };
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        fold(a).cmp(&fold(b))
    }
}

/// Serializes as [`Val::to_json`] without building a `Value`.
pub(crate) struct JsonVal<'a>(pub &'a Val);

impl Serialize for JsonVal<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Val::Null => s.serialize_none(),
            Val::Str(v) => s.serialize_str(v),
            Val::Num(n) => s.serialize_f64(*n),
            Val::Int(n) => s.serialize_i64(*n),
            Val::Bool(b) => s.serialize_bool(*b),
            Val::Date(d) => s.serialize_str(&date_text(*d)),
            Val::DateTime(ms) => s.serialize_str(&rest_datetime(*ms)),
        }
    }
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn to_datetime(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

/// `2024-05-01T10:00:00.000+0000`, as the REST API writes date-times.
pub(crate) fn rest_datetime(ms: i64) -> String {
    to_datetime(ms)
        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
        .to_string()
}

/// `2024-05-01T10:00:00.000Z`, as Bulk API CSV writes date-times.
pub(crate) fn bulk_datetime(ms: i64) -> String {
    to_datetime(ms).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `2024-05-01`.
pub(crate) fn date_text(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The UTC date of an instant.
pub(crate) fn date_of(ms: i64) -> NaiveDate {
    to_datetime(ms).date_naive()
}

/// Midnight UTC of a date, in milliseconds.
pub(crate) fn midnight_ms(d: NaiveDate) -> i64 {
    d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// Parses a date-time as clients send one: ISO-8601 with or without fractional seconds,
/// with `Z`, `+hh:mm` or `+hhmm`, or without an offset (UTC).
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let v = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Some(dt.timestamp_millis());
    }
    if let Ok(dt) = DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(dt.timestamp_millis());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(v, fmt) {
            return Some(naive.and_utc().timestamp_millis());
        }
    }
    None
}

/// Parses `2024-05-01`.
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Why an input value cannot be stored in a field: the request-level JSON error Salesforce
/// reports, or a per-record one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeMismatch {
    pub message: String,
}

fn mismatch(field: &FieldDef, shown: &str) -> TypeMismatch {
    let kind = match field.ty {
        FieldType::Double | FieldType::Currency | FieldType::Percent => "double",
        FieldType::Int => "int",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::DateTime => "datetime",
        _ => "string",
    };
    TypeMismatch {
        message: format!(
            "Cannot deserialize instance of {kind} from VALUE_STRING value {shown} or request may be missing a required field"
        ),
    }
}

/// Converts a JSON input value for `field`. `null` and `""` clear the field.
pub(crate) fn from_json(field: &FieldDef, value: &Value) -> Result<Val, TypeMismatch> {
    match value {
        Value::Null => Ok(Val::Null),
        Value::String(s) => from_text(field, s),
        Value::Bool(b) => match field.ty {
            FieldType::Boolean => Ok(Val::Bool(*b)),
            _ if field.ty.is_text() => Ok(Val::Str(b.to_string())),
            _ => Err(mismatch(field, &b.to_string())),
        },
        Value::Number(n) => match field.ty {
            FieldType::Double | FieldType::Currency | FieldType::Percent => n
                .as_f64()
                .map(Val::Num)
                .ok_or_else(|| mismatch(field, &n.to_string())),
            FieldType::Int => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                .map(Val::Int)
                .ok_or_else(|| mismatch(field, &n.to_string())),
            _ if field.ty.is_text() => Ok(Val::Str(n.to_string())),
            _ => Err(mismatch(field, &n.to_string())),
        },
        other => Err(mismatch(field, &other.to_string())),
    }
}

/// Converts a text input (JSON string or CSV cell) for `field`; `""` clears the field.
pub(crate) fn from_text(field: &FieldDef, text: &str) -> Result<Val, TypeMismatch> {
    if text.is_empty() {
        return Ok(Val::Null);
    }
    let t = text.trim();
    match field.ty {
        FieldType::Double | FieldType::Currency | FieldType::Percent => t
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Val::Num)
            .ok_or_else(|| mismatch(field, text)),
        FieldType::Int => t
            .parse::<i64>()
            .ok()
            .or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                    .map(|f| f as i64)
            })
            .map(Val::Int)
            .ok_or_else(|| mismatch(field, text)),
        FieldType::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Val::Bool(true)),
            "false" | "0" => Ok(Val::Bool(false)),
            _ => Err(mismatch(field, text)),
        },
        FieldType::Date => parse_date(t)
            .or_else(|| parse_datetime(t).map(date_of))
            .map(Val::Date)
            .ok_or_else(|| mismatch(field, text)),
        FieldType::DateTime => parse_datetime(t)
            .or_else(|| parse_date(t).map(midnight_ms))
            .map(Val::DateTime)
            .ok_or_else(|| mismatch(field, text)),
        _ => Ok(Val::Str(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_like_salesforce() {
        let ms = 1_714_557_600_123;
        assert_eq!(rest_datetime(ms), "2024-05-01T10:00:00.123+0000");
        assert_eq!(bulk_datetime(ms), "2024-05-01T10:00:00.123Z");
        assert_eq!(parse_datetime("2024-05-01T10:00:00.123+0000"), Some(ms));
        assert_eq!(parse_datetime("2024-05-01T12:00:00.123+02:00"), Some(ms));
        assert_eq!(parse_datetime("2024-05-01T10:00:00Z"), Some(ms - 123));
        assert_eq!(parse_datetime("2024-05-01"), None);
    }

    #[test]
    fn case_insensitive_order() {
        assert_eq!(cmp_ignore_case("abc", "ABD"), Ordering::Less);
        assert_eq!(cmp_ignore_case("Zoë", "zoë"), Ordering::Equal);
    }
}
