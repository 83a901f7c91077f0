//! Boolean transforms: `boolean`, `boolean_yn`, `boolean_checkbox`.
//!
//! Canonical booleans are JSON `true` and `false`. Every transform reads JSON booleans
//! and the usual texts; they differ in what they write.

use crmsync_core::FieldType;
use serde_json::Value;

use super::{FieldClass, Transform, TransformEnv, TransformError, kind};

/// `boolean`: `"true"`/`"false"` (also `yes`/`no`, `y`/`n`, `1`/`0`, `on`/`off`, any
/// case, or a JSON boolean) ⇄ canonical JSON boolean; outbound gives text
/// `"true"`/`"false"`, or a JSON boolean to a typed provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct Boolean;

impl Transform for Boolean {
    fn name(&self) -> &str {
        "boolean"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        parse_bool(value).map(Value::Bool)
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        parse_bool(value).map(|b| checkbox(b, env))
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Boolean, FieldClass::Text])
    }
}

/// `boolean_yn`: a `Y`/`N` text field (a picklist or a one-letter text) ⇄ canonical JSON
/// boolean: `"Y"` → `true`, `"N"` → `false` (any case; `yes`/`no` and booleans are read
/// too). Outbound always gives `"Y"` or `"N"`.
#[derive(Clone, Copy, Debug, Default)]
pub struct BooleanYn;

impl Transform for BooleanYn {
    fn name(&self) -> &str {
        "boolean_yn"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        parse_bool(value).map(Value::Bool)
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        parse_bool(value).map(|b| Value::String(if b { "Y" } else { "N" }.to_owned()))
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text, FieldClass::Boolean])
    }
}

/// `boolean_checkbox`: a checkbox (Salesforce checkbox, HubSpot single checkbox) ⇄
/// canonical JSON boolean. Reads `true`/`false`, `"true"`/`"false"`, `"1"`/`"0"`,
/// `1`/`0`, `"checked"`/`"unchecked"`, `"on"`/`"off"`, `"yes"`/`"no"`; writes a JSON
/// boolean to a typed provider and `"true"`/`"false"` to a text one.
#[derive(Clone, Copy, Debug, Default)]
pub struct BooleanCheckbox;

impl Transform for BooleanCheckbox {
    fn name(&self) -> &str {
        "boolean_checkbox"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        parse_bool(value).map(Value::Bool)
    }

    fn outbound(&self, value: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
        parse_bool(value).map(|b| checkbox(b, env))
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Boolean, FieldClass::Text])
    }
}

fn checkbox(b: bool, env: &TransformEnv) -> Value {
    if env.typed() {
        Value::Bool(b)
    } else {
        Value::String(b.to_string())
    }
}

/// A boolean from a JSON boolean, `0`/`1`, or one of the usual words.
pub(crate) fn parse_bool(value: &Value) -> Result<bool, TransformError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_u64() == Some(1) => Ok(true),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(false),
        Value::String(s) => {
            let s = s.trim();
            const TRUE: [&str; 7] = ["true", "yes", "y", "1", "on", "checked", "t"];
            const FALSE: [&str; 7] = ["false", "no", "n", "0", "off", "unchecked", "f"];
            if TRUE.iter().any(|t| s.eq_ignore_ascii_case(t)) {
                Ok(true)
            } else if FALSE.iter().any(|f| s.eq_ignore_ascii_case(f)) {
                Ok(false)
            } else {
                Err(TransformError::new(
                    "expected true or false (or yes/no, Y/N, 1/0)",
                ))
            }
        }
        other => Err(TransformError::new(format!(
            "expected a boolean, got {}",
            kind(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RemoteValues, transforms::testing::assert_round_trips};
    use serde_json::json;

    fn env() -> TransformEnv {
        TransformEnv::default()
    }

    fn typed() -> TransformEnv {
        env().with_remote_values(RemoteValues::Typed)
    }

    #[test]
    fn booleans_from_text_and_back() {
        for (remote, canonical) in [
            (json!("true"), true),
            (json!("TRUE"), true),
            (json!(" yes "), true),
            (json!("1"), true),
            (json!(1), true),
            (json!(true), true),
            (json!("false"), false),
            (json!("No"), false),
            (json!("0"), false),
            (json!(false), false),
        ] {
            assert_eq!(
                Boolean.inbound(&remote, &env()).ok(),
                Some(json!(canonical)),
                "{remote}"
            );
        }
        assert_eq!(
            Boolean.outbound(&json!(true), &env()).ok(),
            Some(json!("true"))
        );
        assert_eq!(
            Boolean.outbound(&json!(false), &env()).ok(),
            Some(json!("false"))
        );
        assert!(Boolean.inbound(&json!("maybe"), &env()).is_err());
        assert!(Boolean.inbound(&json!(2), &env()).is_err());
        let inputs = ["true", "false", "Y", "n", "on", "OFF"].map(|s| json!(s));
        assert_round_trips(&Boolean, &env(), &inputs);
    }

    #[test]
    fn yes_no_fields_read_y_and_n() {
        // The Data Transformation Rules table: "Y" -> true.
        assert_eq!(
            BooleanYn.inbound(&json!("Y"), &env()).ok(),
            Some(json!(true))
        );
        assert_eq!(
            BooleanYn.inbound(&json!("n"), &env()).ok(),
            Some(json!(false))
        );
        assert_eq!(
            BooleanYn.inbound(&json!("Yes"), &env()).ok(),
            Some(json!(true))
        );
        assert_eq!(
            BooleanYn.inbound(&json!(false), &typed()).ok(),
            Some(json!(false))
        );
        assert_eq!(
            BooleanYn.outbound(&json!(true), &env()).ok(),
            Some(json!("Y"))
        );
        assert_eq!(
            BooleanYn.outbound(&json!(false), &typed()).ok(),
            Some(json!("N"))
        );
        assert!(BooleanYn.inbound(&json!("maybe"), &env()).is_err());
        assert!(BooleanYn.inbound(&json!([true]), &env()).is_err());
        let inputs = ["Y", "N", "y", "no", "YES"].map(|s| json!(s));
        assert_round_trips(&BooleanYn, &env(), &inputs);
    }

    #[test]
    fn checkboxes_read_text_numbers_and_booleans() {
        // The Data Transformation Rules table: "true" -> true.
        for (remote, canonical) in [
            (json!("true"), true),
            (json!("false"), false),
            (json!("1"), true),
            (json!("0"), false),
            (json!(1), true),
            (json!(0), false),
            (json!(true), true),
            (json!(false), false),
            (json!("checked"), true),
            (json!("Unchecked"), false),
        ] {
            assert_eq!(
                BooleanCheckbox.inbound(&remote, &env()).ok(),
                Some(json!(canonical)),
                "{remote}"
            );
        }
        assert_eq!(
            BooleanCheckbox.outbound(&json!(true), &typed()).ok(),
            Some(json!(true))
        );
        assert_eq!(
            BooleanCheckbox.outbound(&json!(false), &env()).ok(),
            Some(json!("false"))
        );
        assert!(BooleanCheckbox.inbound(&json!(2), &env()).is_err());
        assert!(BooleanCheckbox.inbound(&json!("2"), &env()).is_err());
        let inputs = [json!(true), json!("0"), json!(1), json!("checked")];
        assert_round_trips(&BooleanCheckbox, &env(), &inputs);
        assert_round_trips(&BooleanCheckbox, &typed(), &inputs);
        assert_round_trips(&Boolean, &typed(), &inputs);
        assert!(BooleanCheckbox.compatible_with(&FieldType::Boolean));
        assert!(!BooleanCheckbox.compatible_with(&FieldType::Number));
    }
}
