//! Text transforms: `none`, `trim`, `lowercase`, `email`.

use crmsync_core::FieldType;
use serde_json::Value;

use super::{FieldClass, Transform, TransformEnv, TransformError, expect_text};

/// `none`: the value passes unchanged both ways.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unchanged;

impl Transform for Unchanged {
    fn name(&self) -> &str {
        "none"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(value.clone())
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(value.clone())
    }
}

/// `trim`: text loses its surrounding white space both ways; other values pass unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trim;

impl Transform for Trim {
    fn name(&self) -> &str {
        "trim"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(map_text(value, |s| s.trim().to_owned()))
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        self.inbound(value, env)
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text])
    }
}

/// `lowercase`: text is lower-cased both ways; other values pass unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lowercase;

impl Transform for Lowercase {
    fn name(&self) -> &str {
        "lowercase"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(map_text(value, str::to_lowercase))
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        self.inbound(value, env)
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text])
    }
}

/// `email`: an e-mail address, trimmed and lower-cased both ways (see
/// [`normalize_email`]). Only text is accepted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Email;

impl Transform for Email {
    fn name(&self) -> &str {
        "email"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(Value::String(normalize_email(expect_text(
            value,
            "an e-mail address",
        )?)))
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        self.inbound(value, env)
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text])
    }

    fn sensitive(&self) -> bool {
        true
    }
}

/// An e-mail address as crmsync compares and stores it: lower-cased, without
/// whitespace. Exports often carry spaces around or inside an address (`"jane @acme.com"`);
/// no CRM accepts an address with whitespace, and unquoted addresses cannot hold any.
///
/// The same normalization serves as the e-mail match key for deduplication
/// ([`crmsync_core::match_key::email_key`]).
///
/// ```
/// assert_eq!(crmsync_transform::normalize_email("  Ada@Example.COM "), "ada@example.com");
/// assert_eq!(crmsync_transform::normalize_email("jane @acme.example"), "jane@acme.example");
/// ```
pub fn normalize_email(email: &str) -> String {
    crmsync_core::match_key::email_key(email).unwrap_or_default()
}

fn map_text(value: &Value, f: impl FnOnce(&str) -> String) -> Value {
    match value {
        Value::String(s) => Value::String(f(s)),
        other => other.clone(),
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

    fn texts() -> Vec<Value> {
        [
            "Ada",
            "  Ada Lovelace  ",
            "\tGRACE\n",
            "ÉCOLE Polytechnique",
            "ß straße",
            "x",
            "mixed CASE with 123 and symbols !?",
            "日本語",
        ]
        .iter()
        .map(|s| json!(s))
        .collect()
    }

    #[test]
    fn none_passes_every_value_both_ways() {
        let values = [
            json!("  Keep  Me "),
            json!(42),
            json!(true),
            json!([1, 2]),
            json!({"a": 1}),
        ];
        for v in &values {
            assert_eq!(Unchanged.inbound(v, &env()).ok().as_ref(), Some(v));
            assert_eq!(Unchanged.outbound(v, &env()).ok().as_ref(), Some(v));
        }
        assert_round_trips(&Unchanged, &env(), &values);
    }

    #[test]
    fn trim_strips_white_space_both_ways() {
        assert_eq!(
            Trim.inbound(&json!("  Ada \n"), &env()).ok(),
            Some(json!("Ada"))
        );
        assert_eq!(
            Trim.outbound(&json!("\tAda"), &env()).ok(),
            Some(json!("Ada"))
        );
        assert_eq!(Trim.inbound(&json!(7), &env()).ok(), Some(json!(7)));
        assert_round_trips(&Trim, &env(), &texts());
    }

    #[test]
    fn lowercase_lowers_both_ways() {
        assert_eq!(
            Lowercase.inbound(&json!("Example.COM"), &env()).ok(),
            Some(json!("example.com"))
        );
        assert_eq!(
            Lowercase.outbound(&json!("ÉCOLE"), &env()).ok(),
            Some(json!("école"))
        );
        assert_eq!(
            Lowercase.inbound(&json!(false), &env()).ok(),
            Some(json!(false))
        );
        assert_round_trips(&Lowercase, &env(), &texts());
    }

    #[test]
    fn email_is_trimmed_and_lowercased_both_ways() {
        assert_eq!(
            Email.inbound(&json!("  John@EXAMPLE.com "), &env()).ok(),
            Some(json!("john@example.com"))
        );
        assert_eq!(
            Email.outbound(&json!("Ada@Example.org"), &env()).ok(),
            Some(json!("ada@example.org"))
        );
        assert!(Email.sensitive());
        let err = Email.inbound(&json!(12), &env()).err();
        assert_eq!(
            err.map(|e| e.message().to_owned()),
            Some("expected an e-mail address as text, got a number".to_owned())
        );
        let inputs: Vec<Value> = (0..50)
            .map(|i| json!(format!("  User.{i}@Sub{}.Example.COM ", i % 7)))
            .collect();
        assert_round_trips(&Email, &env(), &inputs);
    }
}
