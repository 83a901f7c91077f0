//! `default`: values pass unchanged; a blank value becomes a fixed one, both ways.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{RuleShape, Transform, TransformEnv, TransformError, TransformFactory};

/// `default`: values pass unchanged both ways; a blank value (`null`, `""`) becomes the
/// option `value` instead of "no value" (inbound) or "clear the field" (outbound).
///
/// A rule's own `default` key fills in inbound only; this transform also keeps an
/// application that clears the field from clearing it in the CRM:
///
/// ```toml
/// [[objects.lead.fields]]
/// local = "source"
/// remote = "LeadSource"
/// transform = { name = "default", value = "Dialer" }
/// ```
#[derive(Clone, Debug)]
pub struct DefaultValue {
    value: Value,
}

impl DefaultValue {
    /// Blank values become `value`.
    pub fn new(value: Value) -> Self {
        Self { value }
    }
}

impl Transform for DefaultValue {
    fn name(&self) -> &str {
        "default"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(value.clone())
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        Ok(value.clone())
    }

    fn when_blank(&self) -> Option<&Value> {
        Some(&self.value)
    }
}

/// Builds [`DefaultValue`] from a rule's `value` option.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultFactory;

impl TransformFactory for DefaultFactory {
    fn name(&self) -> &str {
        "default"
    }

    fn build(
        &self,
        options: &Map<String, Value>,
        _rule: RuleShape<'_>,
    ) -> Result<Arc<dyn Transform>, String> {
        if let Some(key) = options.keys().find(|k| k.as_str() != "value") {
            return Err(format!("unknown option `{key}`; it takes only `value`"));
        }
        match options.get("value") {
            None | Some(Value::Null) => Err(
                "needs a non-blank `value`, e.g. { name = \"default\", value = \"Dialer\" }"
                    .to_owned(),
            ),
            Some(Value::String(s)) if s.is_empty() => Err(
                "needs a non-blank `value`, e.g. { name = \"default\", value = \"Dialer\" }"
                    .to_owned(),
            ),
            Some(value) => Ok(Arc::new(DefaultValue::new(value.clone()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_pass_and_blanks_get_the_value() {
        let t = DefaultValue::new(json!("Dialer"));
        let env = TransformEnv::default();
        assert_eq!(t.inbound(&json!("Web"), &env).ok(), Some(json!("Web")));
        assert_eq!(t.outbound(&json!(3), &env).ok(), Some(json!(3)));
        assert_eq!(t.when_blank(), Some(&json!("Dialer")));

        let one = ["x".to_owned()];
        let shape = RuleShape {
            local: &one,
            remote: &one,
        };
        let mut options = Map::new();
        assert!(DefaultFactory.build(&options, shape).is_err());
        options.insert("value".into(), json!(""));
        assert!(DefaultFactory.build(&options, shape).is_err());
        options.insert("value".into(), json!(0));
        let built = DefaultFactory.build(&options, shape);
        assert_eq!(
            built.ok().and_then(|t| t.when_blank().cloned()),
            Some(json!(0))
        );
        options.insert("values".into(), json!(0));
        assert!(DefaultFactory.build(&options, shape).is_err());
    }
}
