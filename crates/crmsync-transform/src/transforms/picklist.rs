//! `picklist_map`: the application's picklist values ⇄ a provider's, through a table in
//! the rule.

use std::{collections::HashMap, sync::Arc};

use serde_json::{Map, Value};

use super::{Arity, RuleShape, Transform, TransformEnv, TransformError, TransformFactory, kind};
use crate::FieldDirection;

/// What a `picklist_map` does with a value its table does not list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Unmapped {
    /// Fail the field, naming the rule (the default).
    #[default]
    Error,
    /// Keep the value as it is.
    PassThrough,
    /// Use the canonical value of the `default` option (and its remote value outbound).
    Default,
}

/// `picklist_map`: canonical values ⇄ a provider's values, through the rule's table.
///
/// ```toml
/// [[objects.lead.fields]]
/// local = "lead_status"
/// remote = "Status"
/// [objects.lead.fields.transform]
/// name = "picklist_map"
/// unmapped = "default"          # "error" (the default) | "pass_through" | "default"
/// default = "NEW"               # with unmapped = "default": a key of `map`
/// # canonical value = the provider's value (outbound)
/// map = { NEW = "Open - Not Contacted", OPEN = "Open - Not Contacted", IN_PROGRESS = "Working - Contacted" }
/// # the provider's value = canonical value (inbound), for values `map` gives several keys
/// inbound = { "Open - Not Contacted" = "NEW" }
/// ```
///
/// - Outbound, a canonical value is looked up in `map`. Inbound, a provider's value is
///   looked up in `inbound`, then in `map` read backwards.
/// - When `map` sends several canonical values to one provider value and `inbound` does
///   not say which one it reads back as, the map is one-way: the rule must be
///   `direction = "outbound"`. Entries of `inbound` must read back what `map` writes, so
///   that values round-trip.
/// - With several remote fields (`remote = ["CallDisposition", "Status"]`), each value
///   of `map` is a table with a value for every one of them (or a list in their order),
///   and a record's fields are matched together. `pass_through` needs one remote field.
/// - Canonical values are text; provider values may be text, numbers or booleans.
#[derive(Clone, Debug)]
pub struct Picklist {
    outbound: HashMap<String, Value>,
    inbound: HashMap<String, String>,
    unmapped: Unmapped,
    default: Option<String>,
    remote_fields: usize,
    direction: FieldDirection,
}

impl Picklist {
    /// A picklist from a rule's options (see the type's docs), for a rule with these
    /// fields.
    ///
    /// # Errors
    /// A message naming the option that is wrong and how to fix it.
    pub fn from_options(options: &Map<String, Value>, rule: RuleShape<'_>) -> Result<Self, String> {
        if let Some(key) = options
            .keys()
            .find(|k| !matches!(k.as_str(), "map" | "inbound" | "unmapped" | "default"))
        {
            return Err(format!(
                "unknown option `{key}`; it takes `map`, `inbound`, `unmapped` and `default`"
            ));
        }
        if rule.local.len() != 1 {
            return Err("maps one canonical field; give the rule one `local` field".to_owned());
        }
        let remote_fields = rule.remote.len().max(1);
        let unmapped = match options.get("unmapped") {
            None => Unmapped::Error,
            Some(Value::String(s)) if s == "error" => Unmapped::Error,
            Some(Value::String(s)) if s == "pass_through" => Unmapped::PassThrough,
            Some(Value::String(s)) if s == "default" => Unmapped::Default,
            Some(_) => {
                return Err(
                    "`unmapped` must be \"error\", \"pass_through\" or \"default\"".to_owned(),
                );
            }
        };
        if unmapped == Unmapped::PassThrough && remote_fields > 1 {
            return Err(
                "`unmapped = \"pass_through\"` needs one remote field; use \"error\" or \
                 \"default\""
                    .to_owned(),
            );
        }
        let Some(Value::Object(table)) = options.get("map") else {
            return Err(
                "needs a `map` table of canonical value = provider value, e.g. \
                 map = { NEW = \"Open - Not Contacted\" }"
                    .to_owned(),
            );
        };
        if table.is_empty() {
            return Err("`map` is empty; list the values to map".to_owned());
        }
        let mut outbound = HashMap::with_capacity(table.len());
        // Provider value → the canonical values `map` sends to it.
        let mut senders: HashMap<String, Vec<&str>> = HashMap::new();
        for (canonical, remote) in table {
            let remote = remote_value(canonical, remote, rule.remote)?;
            senders
                .entry(remote_key(&remote, remote_fields)?)
                .or_default()
                .push(canonical);
            outbound.insert(canonical.clone(), remote);
        }
        let mut inbound: HashMap<String, String> = senders
            .iter()
            .filter(|(_, canonical)| canonical.len() == 1)
            .map(|(remote, canonical)| (remote.clone(), canonical[0].to_owned()))
            .collect();
        match options.get("inbound") {
            None => {}
            Some(Value::Object(_)) if remote_fields > 1 => {
                return Err("`inbound` needs one remote field".to_owned());
            }
            Some(Value::Object(reads)) => {
                for (remote, canonical) in reads {
                    let Value::String(canonical) = canonical else {
                        return Err(format!(
                            "`inbound` reads `{remote}` as {}; canonical values are text",
                            kind(canonical)
                        ));
                    };
                    let written = outbound.get(canonical).map(|r| remote_key(r, 1));
                    match written {
                        Some(Ok(written)) if &written == remote => {}
                        Some(_) => {
                            return Err(format!(
                                "`inbound` reads `{remote}` as `{canonical}`, but `map` writes \
                                 `{canonical}` as something else; make them agree so values \
                                 round-trip"
                            ));
                        }
                        None => {
                            return Err(format!(
                                "`inbound` reads `{remote}` as `{canonical}`, which `map` does \
                                 not list; add `{canonical}` to `map`"
                            ));
                        }
                    }
                    inbound.insert(remote.clone(), canonical.clone());
                }
            }
            Some(_) => return Err("`inbound` must be a table".to_owned()),
        }
        let one_way = senders.keys().any(|remote| !inbound.contains_key(remote));
        let default = match (unmapped, options.get("default")) {
            (Unmapped::Default, Some(Value::String(d))) if outbound.contains_key(d) => {
                Some(d.clone())
            }
            (Unmapped::Default, Some(Value::String(d))) => {
                return Err(format!("`default` `{d}` is not a key of `map`; add it"));
            }
            (Unmapped::Default, _) => {
                return Err("`unmapped = \"default\"` needs `default`, a key of `map`".to_owned());
            }
            (_, Some(_)) => {
                return Err("`default` applies only with `unmapped = \"default\"`".to_owned());
            }
            (_, None) => None,
        };
        Ok(Self {
            outbound,
            inbound,
            unmapped,
            default,
            remote_fields,
            direction: if one_way {
                FieldDirection::Outbound
            } else {
                FieldDirection::Bidirectional
            },
        })
    }

    fn unmapped_error() -> TransformError {
        TransformError::new(
            "the value is not in the picklist map; add it to the rule's `map` (or `inbound`), \
             or set `unmapped = \"pass_through\"` or \"default\"",
        )
    }
}

/// A provider value of `map`: a scalar for one remote field, a table by field name (or a
/// list in their order) for several, given back as a list.
fn remote_value(canonical: &str, value: &Value, fields: &[String]) -> Result<Value, String> {
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    match (fields.len(), value) {
        (0 | 1, v) if scalar(v) => Ok(v.clone()),
        (0 | 1, _) => Err(format!(
            "`map` gives `{canonical}` {}; give text, a number or a boolean",
            kind(value)
        )),
        (n, Value::Array(items)) if items.len() == n && items.iter().all(scalar) => {
            Ok(value.clone())
        }
        (_, Value::Object(by_field)) => {
            if let Some(extra) = by_field.keys().find(|k| !fields.contains(k)) {
                return Err(format!(
                    "`map` gives `{canonical}` a value for `{extra}`, which is not one of the \
                     rule's remote fields ({})",
                    fields.join(", ")
                ));
            }
            fields
                .iter()
                .map(|field| match by_field.get(field) {
                    Some(v) if scalar(v) => Ok(v.clone()),
                    _ => Err(format!(
                        "`map` gives `{canonical}` no value for `{field}`; give every remote \
                         field a value"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        (n, _) => Err(format!(
            "`map` gives `{canonical}` {}; give a table with a value for each of the {n} \
             remote fields",
            kind(value)
        )),
    }
}

/// The lookup key of a provider value (a list of `n` for several fields).
fn remote_key(value: &Value, n: usize) -> Result<String, String> {
    if n <= 1 {
        return scalar_key(value).ok_or_else(|| format!("expected one value, got {}", kind(value)));
    }
    match value {
        Value::Array(items) if items.len() == n => {
            let mut key = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    key.push('\u{1f}');
                }
                match item {
                    Value::Null => {}
                    other => key.push_str(
                        &scalar_key(other).ok_or_else(|| "expected scalar values".to_owned())?,
                    ),
                }
            }
            Ok(key)
        }
        other => Err(format!(
            "expected a list of {n} values, got {}",
            kind(other)
        )),
    }
}

fn scalar_key(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Transform for Picklist {
    fn name(&self) -> &str {
        "picklist_map"
    }

    fn inbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        let found = match (value, self.remote_fields) {
            (Value::String(s), 1) => self.inbound.get(s.as_str()),
            _ => {
                let key = remote_key(value, self.remote_fields).map_err(TransformError::new)?;
                self.inbound.get(&key)
            }
        };
        if let Some(canonical) = found {
            return Ok(Value::String(canonical.clone()));
        }
        match (self.unmapped, &self.default) {
            (Unmapped::PassThrough, _) => Ok(value.clone()),
            (Unmapped::Default, Some(default)) => Ok(Value::String(default.clone())),
            _ => Err(Self::unmapped_error()),
        }
    }

    fn outbound(&self, value: &Value, _env: &TransformEnv) -> Result<Value, TransformError> {
        let found = match value {
            Value::String(s) => self.outbound.get(s.as_str()),
            other => {
                let key = scalar_key(other).ok_or_else(|| {
                    TransformError::new(format!("expected a picklist value, got {}", kind(other)))
                })?;
                self.outbound.get(&key)
            }
        };
        if let Some(remote) = found {
            return Ok(remote.clone());
        }
        match (self.unmapped, &self.default) {
            (Unmapped::PassThrough, _) => Ok(value.clone()),
            (Unmapped::Default, Some(default)) => self
                .outbound
                .get(default)
                .cloned()
                .ok_or_else(Self::unmapped_error),
            _ => Err(Self::unmapped_error()),
        }
    }

    fn direction(&self) -> FieldDirection {
        self.direction
    }

    fn arity(&self) -> Arity {
        Arity {
            local: 1,
            remote: self.remote_fields,
        }
    }
}

/// Builds [`Picklist`] from a rule's options.
#[derive(Clone, Copy, Debug, Default)]
pub struct PicklistFactory;

impl TransformFactory for PicklistFactory {
    fn name(&self) -> &str {
        "picklist_map"
    }

    fn build(
        &self,
        options: &Map<String, Value>,
        rule: RuleShape<'_>,
    ) -> Result<Arc<dyn Transform>, String> {
        Picklist::from_options(options, rule).map(|p| Arc::new(p) as Arc<dyn Transform>)
    }
}

#[cfg(test)]
#[path = "picklist_tests.rs"]
mod tests;
