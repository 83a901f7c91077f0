//! Transforms: named, documented pairs of functions between a provider's value
//! (inbound, remote → canonical) and the application's value (outbound, canonical →
//! remote).
//!
//! | name | canonical value | inbound accepts | outbound gives |
//! | --- | --- | --- | --- |
//! | `none` | as received | anything | the canonical value |
//! | `trim` | text without surrounding spaces | text | trimmed text |
//! | `lowercase` | lower-case text | text (`"John@EXAMPLE.com"` → `"john@example.com"`) | lower-case text |
//! | `email` | trimmed, lower-case text | text | trimmed, lower-case text |
//! | `phone_e164` | `"+14155550132"`, extension as `";ext=12"` | a phone number in any international format, or national in the record's country ([`TransformEnv::phone_region`]) or the default region: `"(415) 555-1234"` → `"+14155551234"` | E.164 |
//! | `integer` | JSON number | `"42"`, `"42.0"`, `42` | `"42"` (text providers) or `42` (typed) |
//! | `decimal` | exact decimal text, scale kept: `"1200.50"` | `"1200.50"`, `"+1.2005e3"`, `1200.5` | the decimal text, or an exact JSON number (typed) |
//! | `currency_cents` | whole cents, JSON number: `4999` | dollars: `"49.99"`, `49.99` | `"49.99"` or `49.99` (typed); exact decimal arithmetic |
//! | `boolean` | JSON `true`/`false` | `"true"`, `"false"`, `"yes"`, `"no"`, `"1"`, `"0"`, booleans | `"true"`/`"false"` or a boolean (typed) |
//! | `boolean_yn` | JSON `true`/`false` | `"Y"` → `true`, `"N"` → `false` (also yes/no, booleans) | `"Y"`/`"N"` |
//! | `boolean_checkbox` | JSON `true`/`false` | `"true"` → `true`, `"false"`, `"1"`, `"0"`, `"checked"`, `"on"`, booleans | `"true"`/`"false"` or a boolean (typed) |
//! | `datetime_iso` | `"2024-05-01T00:00:00.000Z"` (UTC, millis) | ISO-8601 with or without offset, a date, epoch milliseconds, `"01/15/2024"` → `"2024-01-15T00:00:00.000Z"` | the canonical text |
//! | `date_iso` | `"2024-05-01"` | ISO date or date-time, epoch milliseconds, `05/01/2024` (month first in region `US`, day first elsewhere) | the canonical text |
//! | `date_sfdc` | `"2024-01-15"` or `"2024-01-15T10:00:00.000Z"` | Salesforce dates `"2024-01-15"` and date-times `"2024-01-15T10:00:00.000+0000"` | the Salesforce form; option `canonical = "date" \| "datetime"` fixes the canonical shape ([`DateSfdc`]) |
//! | `epoch_ms` | `"2024-05-01T00:00:00.000Z"` | epoch milliseconds (`"1714521600000"`, `1714521600000`) or ISO text | epoch milliseconds, as text or a number (typed) |
//! | `duration_ms` | seconds, JSON number | milliseconds (`"342000"` → `342`) | milliseconds |
//! | `url_domain` | lower-case domain: `"initech.com"` | a web address or domain: `"https://www.Initech.com/about"` | `"https://initech.com"` |
//! | `split_name` | two fields: first and last name | one full name: `"Ada King Lovelace"` → `["Ada King", "Lovelace"]` | the full name |
//! | `join_name` | one full name | two fields, first and last name | the two fields |
//! | `picklist_map` | the application's values | the provider's values, mapped through the rule's table ([`Picklist`]) | the provider's values |
//! | `default` | as received; blank becomes the option `value` | anything | the canonical value; blank becomes `value` ([`DefaultValue`]) |
//! | `expr` | what the rule's `inbound` expression gives | anything | what its `outbound` expression gives ([`expr`]) |
//!
//! The mapper never calls a transform with `null` or an empty string (both mean "no
//! value"; see [`Transform::when_blank`]), and treats an empty result as no value.
//! Transforms never panic on input and never put the value in their error messages; the
//! mapper adds a (redacted where personal) description of the value itself.
//!
//! Providers that write every value as text (HubSpot) and those that write JSON numbers
//! and booleans (Salesforce) are both read by every transform; what a transform writes
//! follows [`TransformEnv::remote_values`].
//!
//! A rule with several fields on one side (`local = ["first_name", "last_name"]`) hands
//! its transform a JSON list of their values in that order (`null` for a missing one),
//! and expects one back; see [`Transform::arity`].
//!
//! Implement [`Transform`] (or [`TransformFactory`], for transforms with options) and
//! register it with
//! [`DeclarativeMapperBuilder::transform`](crate::DeclarativeMapperBuilder::transform)
//! to add your own; or write a small [`expr`] in the configuration.

use std::fmt;

use crmsync_core::FieldType;
use serde_json::Value;

use crate::FieldDirection;

mod boolean;
mod country;
mod env;
pub mod expr;
mod fallback;
mod name;
mod number;
mod phone;
mod phone_rules;
mod picklist;
mod registry;
mod scaled;
mod sfdc;
mod text;
mod time;
mod web;

#[cfg(test)]
mod proptests;

pub use boolean::Boolean;
pub use boolean::{BooleanCheckbox, BooleanYn};
pub use country::region_for_country;
pub use env::TransformEnv;
pub use expr::{Expr, ExprError, ExprFactory, ExprTransform};
pub use fallback::{DefaultFactory, DefaultValue};
pub use name::{JoinName, SplitName};
pub use number::{Decimal, Integer, normalize_decimal};
pub use phone::{PhoneE164, normalize_phone};
pub use picklist::{Picklist, PicklistFactory, Unmapped};
pub use registry::{RuleShape, TransformFactory, TransformRegistry};
pub use scaled::{CurrencyCents, DurationMs};
pub use sfdc::{DateSfdc, DateSfdcFactory, DateShape};
pub use text::{Email, Lowercase, Trim, Unchanged, normalize_email};
pub use time::{DateIso, DateTimeIso, EpochMs};
pub use web::UrlDomain;

pub(crate) use country::warm_up as warm_up_country_table;
pub(crate) use phone::warm_up as warm_up_phone_metadata;

/// A named conversion between a provider's value and the canonical value.
///
/// When the transform serves both directions ([`direction`](Self::direction) is
/// bidirectional, the default), `inbound(outbound(c))` must give back `c` for every
/// canonical value `c` that `inbound` produces, so that a value written to a provider
/// and read back is not seen as a change: the transform declares `outbound` the inverse
/// of `inbound`.
pub trait Transform: Send + Sync + 'static {
    /// The name configs use, e.g. `phone_e164`; also the rule named when it fails.
    fn name(&self) -> &str;

    /// Provider value → canonical value. Never called with `null` or `""`.
    ///
    /// # Errors
    /// When the value cannot be converted; the message must not contain the value.
    fn inbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError>;

    /// Canonical value → provider value. Never called with `null`.
    ///
    /// # Errors
    /// When the value cannot be converted; the message must not contain the value.
    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError>;

    /// Whether the values are personal data (phone numbers, e-mail addresses) that
    /// error messages must not show.
    fn sensitive(&self) -> bool {
        false
    }

    /// Which rules the transform serves: [`Bidirectional`](FieldDirection::Bidirectional)
    /// (the default) when `outbound` is the inverse of `inbound`, so values round-trip;
    /// [`Inbound`](FieldDirection::Inbound) or [`Outbound`](FieldDirection::Outbound)
    /// when only that direction is meaningful (a table that maps several values to one
    /// cannot be read back). A rule flowing a way its transform does not serve is a
    /// configuration error that suggests a direction.
    fn direction(&self) -> FieldDirection {
        FieldDirection::Bidirectional
    }

    /// How many canonical and remote fields the transform works on: one each (the
    /// default); `split_name` takes one remote field and gives two canonical ones. A
    /// side with several fields is a JSON list of their values, in the rule's order.
    fn arity(&self) -> Arity {
        Arity::ONE
    }

    /// Whether the transform can read and write a remote field of this type, as a
    /// provider's `describe()` reports it (see
    /// [`DeclarativeMapper::check_against`](crate::DeclarativeMapper::check_against)).
    /// Any type, by default.
    fn compatible_with(&self, field_type: &FieldType) -> bool {
        let _ = field_type;
        true
    }

    /// The canonical value a blank value (`null`, `""`) stands for, in both directions.
    /// `None` (the default): blank means "no value" (inbound) and "clear the field"
    /// (outbound).
    fn when_blank(&self) -> Option<&Value> {
        None
    }
}

/// How many fields a transform works on, on each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Arity {
    /// Canonical fields.
    pub local: usize,
    /// Remote fields.
    pub remote: usize,
}

impl Arity {
    /// One field on each side.
    pub const ONE: Self = Self {
        local: 1,
        remote: 1,
    };
}

/// What a remote field holds, read from the type a provider's `describe()` reports, for
/// [`Transform::compatible_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldClass {
    /// Text of some kind: strings, text areas, URLs, phone numbers, e-mail addresses,
    /// picklists, ids and references.
    Text,
    /// A number (integer, double, currency, percent).
    Number,
    /// True or false (checkboxes).
    Boolean,
    /// A calendar date.
    Date,
    /// An instant.
    DateTime,
    /// A type crmsync does not know; every transform is allowed on it.
    Unknown,
}

impl FieldClass {
    /// The class of a described field type. Salesforce's own type names (`int`,
    /// `double`, `currency`, `percent`, `textarea`, `url`, `picklist`, `id`, ...) are
    /// understood in [`FieldType::Other`].
    ///
    /// ```
    /// use crmsync_core::FieldType;
    /// use crmsync_transform::transforms::FieldClass;
    /// assert_eq!(FieldClass::of(&FieldType::Phone), FieldClass::Text);
    /// assert_eq!(FieldClass::of(&FieldType::Other("currency".into())), FieldClass::Number);
    /// assert_eq!(FieldClass::of(&FieldType::Other("geolocation".into())), FieldClass::Unknown);
    /// ```
    pub fn of(field_type: &FieldType) -> Self {
        match field_type {
            FieldType::String
            | FieldType::Enumeration
            | FieldType::Phone
            | FieldType::Email
            | FieldType::Reference => Self::Text,
            FieldType::Number => Self::Number,
            FieldType::Boolean => Self::Boolean,
            FieldType::Date => Self::Date,
            FieldType::DateTime => Self::DateTime,
            FieldType::Other(name) => match name.to_ascii_lowercase().as_str() {
                "int" | "integer" | "long" | "double" | "currency" | "percent" | "decimal"
                | "number" => Self::Number,
                "bool" | "boolean" | "checkbox" | "booleancheckbox" => Self::Boolean,
                "date" => Self::Date,
                "datetime" | "date_time" => Self::DateTime,
                "string" | "text" | "textarea" | "url" | "picklist" | "multipicklist"
                | "combobox" | "id" | "reference" | "phone" | "email" | "encryptedstring"
                | "enumeration" => Self::Text,
                _ => Self::Unknown,
            },
            _ => Self::Unknown,
        }
    }

    /// Whether a field of this class is one of `allowed` (an unknown class always is).
    pub fn is_one_of(self, allowed: &[FieldClass]) -> bool {
        self == Self::Unknown || allowed.contains(&self)
    }
}

/// Why a transform could not convert a value. The message never contains the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransformError {
    message: String,
}

impl TransformError {
    /// A failure with a message (which must not contain the value).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TransformError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TransformError {}

/// The text of a string value, or an error naming what was expected.
pub(crate) fn expect_text<'v>(value: &'v Value, what: &str) -> Result<&'v str, TransformError> {
    value
        .as_str()
        .ok_or_else(|| TransformError::new(format!("expected {what} as text, got {}", kind(value))))
}

/// The JSON type of a value, for messages (never the value itself).
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The `n` values of a multi-field side, or an error if `value` is not a list of `n`.
pub(crate) fn expect_list(value: &Value, n: usize) -> Result<&[Value], TransformError> {
    match value {
        Value::Array(items) if items.len() == n => Ok(items),
        other => Err(TransformError::new(format!(
            "expected a list of {n} values, got {}",
            kind(other)
        ))),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Round-trip checks shared by the transforms' tests.

    use super::*;

    /// `inbound(outbound(inbound(x))) == inbound(x)` and `outbound` is stable.
    pub(crate) fn assert_round_trips(t: &dyn Transform, env: &TransformEnv, inputs: &[Value]) {
        for input in inputs {
            let canonical = match t.inbound(input, env) {
                Ok(c) => c,
                Err(e) => panic!("{}: inbound({input}) failed: {e}", t.name()),
            };
            let remote = match t.outbound(&canonical, env) {
                Ok(r) => r,
                Err(e) => panic!("{}: outbound({canonical}) failed: {e}", t.name()),
            };
            let back = match t.inbound(&remote, env) {
                Ok(b) => b,
                Err(e) => panic!("{}: inbound({remote}) failed: {e}", t.name()),
            };
            assert_eq!(
                back,
                canonical,
                "{}: {input} → {canonical} → {remote}",
                t.name()
            );
            let again = t.outbound(&back, env).ok();
            assert_eq!(
                again.as_ref(),
                Some(&remote),
                "{}: outbound unstable",
                t.name()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_core::ErrorKind;

    #[test]
    fn registry_knows_every_builtin_by_name() {
        let registry = TransformRegistry::builtin();
        let names: Vec<&str> = registry.names().collect();
        assert_eq!(
            names,
            [
                "boolean",
                "boolean_checkbox",
                "boolean_yn",
                "currency_cents",
                "date_iso",
                "date_sfdc",
                "datetime_iso",
                "decimal",
                "default",
                "duration_ms",
                "email",
                "epoch_ms",
                "expr",
                "integer",
                "join_name",
                "lowercase",
                "none",
                "phone_e164",
                "picklist_map",
                "split_name",
                "trim",
                "url_domain",
            ]
        );
        for name in names {
            if let Some(t) = registry.get(name) {
                assert_eq!(t.name(), name);
            }
            assert!(registry.contains(name));
        }
        // Transforms configured per rule are built by `resolve`, not looked up.
        assert!(registry.get("picklist_map").is_none());
        assert!(registry.get("phone_e164").is_some());
    }

    #[test]
    fn env_accepts_known_regions_only() {
        assert_eq!(
            TransformEnv::new("gb").ok().map(|e| e.region().to_owned()),
            Some("GB".into())
        );
        assert_eq!(TransformEnv::default().region(), "US");
        let err = TransformEnv::new("XX").err();
        assert!(
            matches!(&err, Some(e) if e.kind() == ErrorKind::Config),
            "{err:?}"
        );
    }

    #[test]
    fn field_classes_read_hubspot_and_salesforce_types() {
        for (ty, class) in [
            (FieldType::String, FieldClass::Text),
            (FieldType::Enumeration, FieldClass::Text),
            (FieldType::Number, FieldClass::Number),
            (FieldType::Boolean, FieldClass::Boolean),
            (FieldType::Date, FieldClass::Date),
            (FieldType::DateTime, FieldClass::DateTime),
            (FieldType::Other("int".into()), FieldClass::Number),
            (FieldType::Other("Double".into()), FieldClass::Number),
            (FieldType::Other("textarea".into()), FieldClass::Text),
            (FieldType::Other("url".into()), FieldClass::Text),
            (FieldType::Other("datetime".into()), FieldClass::DateTime),
            (FieldType::Other("address".into()), FieldClass::Unknown),
        ] {
            assert_eq!(FieldClass::of(&ty), class, "{ty:?}");
        }
        assert!(FieldClass::Unknown.is_one_of(&[FieldClass::Number]));
        assert!(!FieldClass::Text.is_one_of(&[FieldClass::Number]));
    }
}

#[cfg(test)]
mod rules_table {
    //! The examples of the integration guide's "Data Transformation Rules" table, one
    //! per transform.

    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::TransformSpec;

    fn built(spec: TransformSpec) -> Arc<dyn Transform> {
        let one = ["f".to_owned()];
        match TransformRegistry::builtin().resolve(
            &spec,
            RuleShape {
                local: &one,
                remote: &one,
            },
        ) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        }
    }

    fn inbound(spec: TransformSpec, value: Value) -> Option<Value> {
        built(spec).inbound(&value, &TransformEnv::default()).ok()
    }

    #[test]
    fn every_example_of_the_table_holds() {
        // none: pass through unchanged.
        assert_eq!(
            inbound("none".into(), json!("String field")),
            Some(json!("String field"))
        );
        // phone_e164: "(415) 555-1234" -> "+14155551234".
        assert_eq!(
            inbound("phone_e164".into(), json!("(415) 555-1234")),
            Some(json!("+14155551234"))
        );
        // date_iso: "01/15/2024" -> "2024-01-15T00:00:00Z": the instant is `datetime_iso`
        // (canonical instants carry milliseconds); `date_iso` keeps the calendar date.
        assert_eq!(
            inbound("datetime_iso".into(), json!("01/15/2024")),
            Some(json!("2024-01-15T00:00:00.000Z"))
        );
        assert_eq!(
            inbound("date_iso".into(), json!("01/15/2024")),
            Some(json!("2024-01-15"))
        );
        // date_sfdc: "2024-01-15".
        assert_eq!(
            inbound("date_sfdc".into(), json!("2024-01-15")),
            Some(json!("2024-01-15"))
        );
        // boolean_yn: "Y" -> true.
        assert_eq!(inbound("boolean_yn".into(), json!("Y")), Some(json!(true)));
        // boolean_checkbox: "true" -> true.
        assert_eq!(
            inbound("boolean_checkbox".into(), json!("true")),
            Some(json!(true))
        );
        // lowercase: "John@EXAMPLE.com" -> "john@example.com".
        assert_eq!(
            inbound("lowercase".into(), json!("John@EXAMPLE.com")),
            Some(json!("john@example.com"))
        );
        // picklist_map: a custom mapping table.
        let picklist = TransformSpec::new("picklist_map")
            .option("map", json!({ "NEW": "Open - Not Contacted" }));
        assert_eq!(
            inbound(picklist, json!("Open - Not Contacted")),
            Some(json!("NEW"))
        );
        // currency_cents: "49.99" -> 4999.
        assert_eq!(
            inbound("currency_cents".into(), json!("49.99")),
            Some(json!(4999))
        );
        // custom: `value.split(' ')[0]`, as an `expr`.
        let custom = TransformSpec::new("expr").option("inbound", json!("value.split(' ')[0]"));
        assert_eq!(inbound(custom, json!("Ada Lovelace")), Some(json!("Ada")));
    }
}
