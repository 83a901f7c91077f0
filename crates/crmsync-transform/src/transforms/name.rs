//! `split_name` and `join_name`: one full name ⇄ first and last name, for a rule with
//! two fields on one side.
//!
//! The last word is the last name and the words before it the first name
//! (`"Ada King Lovelace"` ⇄ `"Ada King"` + `"Lovelace"`); a single word is a last name
//! (Salesforce requires one). White space is collapsed. Names whose last name has
//! several words (`"Ludwig van Beethoven"`) cannot be told apart from a long first name
//! by this rule: map first and last names one to one where both systems have them.

use crmsync_core::FieldType;
use serde_json::Value;

use super::{
    Arity, FieldClass, Transform, TransformEnv, TransformError, expect_list, expect_text, kind,
};

/// `split_name`: one remote full name ⇄ two canonical fields, first and last name.
///
/// ```toml
/// [[objects.contact.fields]]
/// local = ["first_name", "last_name"]
/// remote = "Name"
/// direction = "inbound"          # Salesforce's Contact.Name is read-only
/// transform = "split_name"
/// ```
///
/// ```
/// use crmsync_transform::{TransformEnv, transforms::{SplitName, Transform}};
/// use serde_json::json;
/// let env = TransformEnv::default();
/// assert_eq!(SplitName.inbound(&json!("Ada King Lovelace"), &env).ok(),
///            Some(json!(["Ada King", "Lovelace"])));
/// assert_eq!(SplitName.outbound(&json!(["Ada", "Lovelace"]), &env).ok(),
///            Some(json!("Ada Lovelace")));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitName;

impl Transform for SplitName {
    fn name(&self) -> &str {
        "split_name"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        split(expect_text(value, "a full name")?)
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        join(expect_list(value, 2)?)
    }

    fn arity(&self) -> Arity {
        Arity {
            local: 2,
            remote: 1,
        }
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text])
    }
}

/// `join_name`: two remote fields, first and last name ⇄ one canonical full name.
///
/// ```toml
/// [[objects.contact.fields]]
/// local = "full_name"
/// remote = ["FirstName", "LastName"]
/// transform = "join_name"
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct JoinName;

impl Transform for JoinName {
    fn name(&self) -> &str {
        "join_name"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        join(expect_list(value, 2)?)
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        split(expect_text(value, "a full name")?)
    }

    fn arity(&self) -> Arity {
        Arity {
            local: 1,
            remote: 2,
        }
    }

    fn compatible_with(&self, field_type: &FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text])
    }
}

/// `"Ada King Lovelace"` → `["Ada King", "Lovelace"]`; one word → `[null, word]`.
fn split(full: &str) -> Result<Value, TransformError> {
    let mut words = full.split_whitespace();
    let Some(last) = words.next_back() else {
        return Ok(Value::Array(vec![Value::Null, Value::Null]));
    };
    let first: Vec<&str> = words.collect();
    let first = if first.is_empty() {
        Value::Null
    } else {
        Value::String(first.join(" "))
    };
    Ok(Value::Array(vec![first, Value::String(last.to_owned())]))
}

/// `["Ada", "Lovelace"]` → `"Ada Lovelace"`; blank parts are left out.
fn join(parts: &[Value]) -> Result<Value, TransformError> {
    let mut words: Vec<&str> = Vec::with_capacity(4);
    for part in parts {
        match part {
            Value::Null => {}
            Value::String(s) => words.extend(s.split_whitespace()),
            other => {
                return Err(TransformError::new(format!(
                    "expected names as text, got {}",
                    kind(other)
                )));
            }
        }
    }
    Ok(if words.is_empty() {
        Value::Null
    } else {
        Value::String(words.join(" "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::testing::assert_round_trips;
    use serde_json::json;

    fn env() -> TransformEnv {
        TransformEnv::default()
    }

    #[test]
    fn full_names_split_on_the_last_word() {
        for (full, parts) in [
            ("Ada Lovelace", json!(["Ada", "Lovelace"])),
            ("Ada King Lovelace", json!(["Ada King", "Lovelace"])),
            (
                "  Grace   Brewster  Hopper ",
                json!(["Grace Brewster", "Hopper"]),
            ),
            ("Cher", json!([null, "Cher"])),
            ("   ", json!([null, null])),
            ("José Álvarez", json!(["José", "Álvarez"])),
        ] {
            assert_eq!(
                SplitName.inbound(&json!(full), &env()).ok(),
                Some(parts),
                "{full}"
            );
        }
        assert!(SplitName.inbound(&json!(5), &env()).is_err());
        assert_eq!(
            SplitName.outbound(&json!([null, "Cher"]), &env()).ok(),
            Some(json!("Cher"))
        );
        assert_eq!(
            SplitName.outbound(&json!(["Ada", null]), &env()).ok(),
            Some(json!("Ada"))
        );
        assert!(SplitName.outbound(&json!("Ada"), &env()).is_err());
        assert!(SplitName.outbound(&json!(["Ada", 5]), &env()).is_err());
        assert!(SplitName.outbound(&json!(["Ada"]), &env()).is_err());
        let inputs = [
            "Ada Lovelace",
            "Cher",
            "Ada  King Lovelace",
            "Jean-Luc Picard",
        ]
        .map(|s| json!(s));
        assert_round_trips(&SplitName, &env(), &inputs);
        assert_eq!(
            SplitName.arity(),
            Arity {
                local: 2,
                remote: 1
            }
        );
    }

    #[test]
    fn first_and_last_names_join() {
        assert_eq!(
            JoinName.inbound(&json!(["Ada", "Lovelace"]), &env()).ok(),
            Some(json!("Ada Lovelace"))
        );
        assert_eq!(
            JoinName.inbound(&json!([null, "Cher"]), &env()).ok(),
            Some(json!("Cher"))
        );
        assert_eq!(
            JoinName.outbound(&json!("Mary Ann Smith"), &env()).ok(),
            Some(json!(["Mary Ann", "Smith"]))
        );
        let inputs = [
            json!(["Ada", "Lovelace"]),
            json!([null, "Cher"]),
            json!(["Mary Ann", "Smith"]),
        ];
        assert_round_trips(&JoinName, &env(), &inputs);
        assert_eq!(
            JoinName.arity(),
            Arity {
                local: 1,
                remote: 2
            }
        );
    }
}
