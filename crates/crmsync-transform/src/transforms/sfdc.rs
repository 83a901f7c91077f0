//! `date_sfdc`: Salesforce dates (`2024-05-01`) and date-times
//! (`2024-05-01T10:00:00.000+0000`) ⇄ canonical ISO-8601.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use crmsync_core::FieldType;
use serde_json::{Map, Value};

use super::{
    FieldClass, RuleShape, Transform, TransformEnv, TransformError, TransformFactory,
    time::{format_date, format_instant, midnight, parse_instant},
};

/// Whether a value is (or should be) a calendar date or an instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DateShape {
    /// Whatever the value is: dates stay dates, instants stay instants.
    #[default]
    Auto,
    /// A calendar date (an instant becomes its UTC date).
    Date,
    /// An instant (a date becomes midnight UTC).
    DateTime,
}

impl DateShape {
    fn parse(option: &str, value: Option<&Value>) -> Result<Self, String> {
        match value {
            None => Ok(Self::Auto),
            Some(Value::String(s)) => match s.as_str() {
                "auto" => Ok(Self::Auto),
                "date" => Ok(Self::Date),
                "datetime" => Ok(Self::DateTime),
                _ => Err(format!(
                    "`{option}` must be \"date\", \"datetime\" or \"auto\""
                )),
            },
            Some(_) => Err(format!(
                "`{option}` must be \"date\", \"datetime\" or \"auto\""
            )),
        }
    }
}

/// `date_sfdc`: Salesforce's date (`"2024-01-15"`) and date-time
/// (`"2024-01-15T10:00:00.000+0000"`) forms ⇄ canonical ISO-8601: a date stays a date
/// (`"2024-01-15"`), a date-time becomes `"2024-01-15T10:00:00.000Z"`. Inbound also reads
/// `Z` and `+00:00` offsets and epoch milliseconds.
///
/// Options (all optional):
///
/// - `field`: the Salesforce field's type, `"date"` or `"datetime"`: outbound writes
///   that form whatever the canonical value is (an instant's UTC date, or a date's
///   midnight UTC). Default `"auto"`: the canonical value's own shape.
/// - `canonical`: the canonical shape, `"date"` or `"datetime"`. Default `"auto"`: the
///   Salesforce value's own shape.
///
/// An Opportunity's `CloseDate` is a Salesforce date that HubSpot keeps as a date-time;
/// to give both providers the same canonical `close_date`:
///
/// ```toml
/// transform = { name = "date_sfdc", field = "date", canonical = "datetime" }
/// ```
///
/// ```
/// use crmsync_transform::transforms::{DateSfdc, DateShape, Transform};
/// use crmsync_transform::TransformEnv;
/// use serde_json::json;
///
/// let env = TransformEnv::default();
/// let auto = DateSfdc::default();
/// assert_eq!(auto.inbound(&json!("2024-05-01T10:00:00.000+0000"), &env).ok(),
///            Some(json!("2024-05-01T10:00:00.000Z")));
/// assert_eq!(auto.outbound(&json!("2024-05-01T10:00:00.000Z"), &env).ok(),
///            Some(json!("2024-05-01T10:00:00.000+0000")));
/// let close_date = DateSfdc::new(DateShape::Date, DateShape::DateTime);
/// assert_eq!(close_date.inbound(&json!("2024-05-01"), &env).ok(),
///            Some(json!("2024-05-01T00:00:00.000Z")));
/// assert_eq!(close_date.outbound(&json!("2024-05-01T00:00:00.000Z"), &env).ok(),
///            Some(json!("2024-05-01")));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct DateSfdc {
    field: DateShape,
    canonical: DateShape,
}

impl DateSfdc {
    /// A transform writing Salesforce values of shape `field` and canonical values of
    /// shape `canonical`.
    pub fn new(field: DateShape, canonical: DateShape) -> Self {
        Self { field, canonical }
    }
}

/// A calendar date or an instant.
#[derive(Clone, Copy)]
enum When {
    Day(NaiveDate),
    At(DateTime<Utc>),
}

impl When {
    fn read(value: &Value) -> Result<Self, TransformError> {
        if let Value::String(s) = value {
            if let Ok(day) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
                return Ok(Self::Day(day));
            }
        }
        parse_instant(value).map(Self::At).map_err(|_| {
            TransformError::new(
                "expected a Salesforce date (2024-05-01) or date-time \
                 (2024-05-01T10:00:00.000+0000)",
            )
        })
    }

    fn shaped(self, shape: DateShape) -> Self {
        match (self, shape) {
            (Self::At(at), DateShape::Date) => Self::Day(at.date_naive()),
            (Self::Day(day), DateShape::DateTime) => Self::At(midnight(day)),
            (when, _) => when,
        }
    }
}

impl Transform for DateSfdc {
    fn name(&self) -> &str {
        "date_sfdc"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(Value::String(
            match When::read(value)?.shaped(self.canonical) {
                When::Day(day) => format_date(day),
                When::At(at) => format_instant(at),
            },
        ))
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(Value::String(match When::read(value)?.shaped(self.field) {
            When::Day(day) => format_date(day),
            When::At(at) => at.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string(),
        }))
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        let class = FieldClass::of(field_type);
        match self.field {
            DateShape::Date => class.is_one_of(&[FieldClass::Date]),
            DateShape::DateTime => class.is_one_of(&[FieldClass::DateTime]),
            DateShape::Auto => class.is_one_of(&[FieldClass::Date, FieldClass::DateTime]),
        }
    }
}

/// Builds [`DateSfdc`] from a rule's `field` and `canonical` options.
#[derive(Clone, Copy, Debug, Default)]
pub struct DateSfdcFactory;

impl TransformFactory for DateSfdcFactory {
    fn name(&self) -> &str {
        "date_sfdc"
    }

    fn build(
        &self,
        options: &Map<String, Value>,
        _rule: RuleShape<'_>,
    ) -> Result<Arc<dyn Transform>, String> {
        if let Some(key) = options
            .keys()
            .find(|k| !matches!(k.as_str(), "field" | "canonical"))
        {
            return Err(format!(
                "unknown option `{key}`; it takes `field` and `canonical`"
            ));
        }
        Ok(Arc::new(DateSfdc::new(
            DateShape::parse("field", options.get("field"))?,
            DateShape::parse("canonical", options.get("canonical"))?,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::testing::assert_round_trips;
    use serde_json::json;

    fn env() -> TransformEnv {
        TransformEnv::default()
    }

    fn build(options: Value) -> Result<Arc<dyn Transform>, String> {
        let options = match options {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let one = ["x".to_owned()];
        DateSfdcFactory.build(
            &options,
            RuleShape {
                local: &one,
                remote: &one,
            },
        )
    }

    #[test]
    fn salesforce_dates_and_datetimes_become_iso() {
        // The Data Transformation Rules table: date_sfdc "2024-01-15".
        let t = DateSfdc::default();
        for (remote, canonical) in [
            (json!("2024-01-15"), "2024-01-15"),
            (
                json!("2024-05-01T10:00:00.000+0000"),
                "2024-05-01T10:00:00.000Z",
            ),
            (
                json!("2024-05-01T12:00:00.000+0200"),
                "2024-05-01T10:00:00.000Z",
            ),
            (json!("2024-05-01T10:00:00Z"), "2024-05-01T10:00:00.000Z"),
            (
                json!("2024-05-01T10:00:00.5+00:00"),
                "2024-05-01T10:00:00.500Z",
            ),
            (json!(1_714_557_600_000_i64), "2024-05-01T10:00:00.000Z"),
        ] {
            assert_eq!(
                t.inbound(&remote, &env()).ok(),
                Some(json!(canonical)),
                "{remote}"
            );
        }
        assert_eq!(
            t.outbound(&json!("2024-01-15"), &env()).ok(),
            Some(json!("2024-01-15"))
        );
        assert_eq!(
            t.outbound(&json!("2024-05-01T10:00:00.000Z"), &env()).ok(),
            Some(json!("2024-05-01T10:00:00.000+0000"))
        );
        for bad in [
            json!("01/15/2024"),
            json!("2024-02-30"),
            json!(true),
            json!(""),
        ] {
            assert!(t.inbound(&bad, &env()).is_err(), "{bad}");
        }
        let inputs = [
            json!("2024-01-15"),
            json!("1999-12-31"),
            json!("2024-05-01T10:00:00.000+0000"),
            json!("2024-05-01T23:59:59.999-0800"),
        ];
        assert_round_trips(&t, &env(), &inputs);
    }

    #[test]
    fn options_fix_the_shape_on_each_side() -> Result<(), String> {
        let close_date = build(json!({ "field": "date", "canonical": "datetime" }))?;
        assert_eq!(
            close_date.inbound(&json!("2024-05-01"), &env()).ok(),
            Some(json!("2024-05-01T00:00:00.000Z"))
        );
        assert_eq!(
            close_date
                .outbound(&json!("2024-05-01T00:00:00.000Z"), &env())
                .ok(),
            Some(json!("2024-05-01"))
        );
        assert_round_trips(close_date.as_ref(), &env(), &[json!("2024-05-01")]);

        let dated = build(json!({ "canonical": "date" }))?;
        assert_eq!(
            dated
                .inbound(&json!("2024-05-01T23:30:00.000-0200"), &env())
                .ok(),
            Some(json!("2024-05-02"))
        );
        let datetime_field = build(json!({ "field": "datetime" }))?;
        assert_eq!(
            datetime_field.outbound(&json!("2024-05-01"), &env()).ok(),
            Some(json!("2024-05-01T00:00:00.000+0000"))
        );
        assert!(close_date.compatible_with(&FieldType::Date));
        assert!(!close_date.compatible_with(&FieldType::DateTime));
        assert!(DateSfdc::default().compatible_with(&FieldType::DateTime));
        assert!(!DateSfdc::default().compatible_with(&FieldType::String));

        for bad in [
            json!({ "field": "day" }),
            json!({ "fields": "date" }),
            json!({ "canonical": 1 }),
        ] {
            let err = build(bad.clone()).err();
            assert!(err.is_some(), "{bad}");
        }
        Ok(())
    }
}
