//! Mapping one record or patch with compiled rules: the per-record hot path.

use std::borrow::Cow;

use crmsync_core::{Error, Fields, MapContext};
use serde_json::Value;

use super::compile::{CompiledObject, CompiledRule};
use crate::transforms::{TransformEnv, kind};

/// Failures found while mapping one record: enforced (the record fails) or, with
/// `skip_validation`, only recorded.
pub(crate) struct Findings<'a> {
    ctx: &'a MapContext<'a>,
    record: &'a str,
    pub(crate) enforce: bool,
    pub(crate) errors: Vec<Error>,
    pub(crate) warnings: Vec<Error>,
}

impl<'a> Findings<'a> {
    pub(crate) fn new(ctx: &'a MapContext<'a>, record: &'a str) -> Self {
        Self {
            ctx,
            record,
            enforce: !ctx.skip_validation,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Notes that `field` failed `rule`: an error when enforcing, else a warning.
    fn fail(&mut self, field: &str, rule: &str, message: String) {
        let error = Error::validation(self.record, field, rule, message)
            .with_tenant(self.ctx.tenant)
            .with_connection(self.ctx.connection);
        if self.enforce {
            self.errors.push(error);
        } else {
            self.warnings.push(error);
        }
    }
}

/// A provider record's fields in canonical names.
pub(crate) fn inbound(
    object: &CompiledObject,
    env: &TransformEnv,
    remote: &Fields,
    out: &mut Fields,
    findings: &mut Findings<'_>,
) {
    for rule in object.inbound() {
        let raw = read_remote(rule, remote);
        let value = match raw.as_ref() {
            None => rule
                .transform
                .when_blank()
                .cloned()
                .or_else(|| rule.default.clone()),
            Some(raw) => match rule.transform.inbound(raw, env) {
                Ok(v) if is_blank_result(&v) => rule.default.clone(),
                Ok(v) => Some(v),
                Err(err) => {
                    let message = format!(
                        "cannot read remote field `{}`: {err} (got {})",
                        rule.remote.join("`, `"),
                        describe(raw, rule.sensitive)
                    );
                    findings.fail(&rule.field_label, rule.transform.name(), message);
                    // Not enforced: a one-to-one field keeps the value as received.
                    if !findings.enforce && rule.local.len() == 1 && rule.remote.len() == 1 {
                        out.insert(rule.local[0].clone(), raw.as_ref().clone());
                    }
                    continue;
                }
            },
        };
        let Some(value) = value else {
            if rule.required {
                let message = format!(
                    "required field has no value (remote field `{}` is empty or missing)",
                    rule.remote.join("`, `")
                );
                findings.fail(&rule.field_label, "required", message);
            }
            continue;
        };
        if let [local] = rule.local.as_slice() {
            check(rule, local, &value, findings);
            out.insert(local.clone(), value);
            continue;
        }
        // Several canonical fields: the transform gave a list, in their order.
        let Value::Array(items) = value else {
            let message = format!(
                "transform gave {} for {} fields; it must give a list",
                kind(&value),
                rule.local.len()
            );
            findings.fail(&rule.field_label, rule.transform.name(), message);
            continue;
        };
        if items.len() != rule.local.len() {
            let message = format!(
                "transform gave {} values for {} fields",
                items.len(),
                rule.local.len()
            );
            findings.fail(&rule.field_label, rule.transform.name(), message);
            continue;
        }
        let mut any = false;
        for (local, item) in rule.local.iter().zip(items) {
            if is_blank(&item) {
                continue;
            }
            any = true;
            check(rule, local, &item, findings);
            out.insert(local.clone(), item);
        }
        if !any && rule.required {
            let message = format!(
                "required fields have no value (remote field `{}` is empty or missing)",
                rule.remote.join("`, `")
            );
            findings.fail(&rule.field_label, "required", message);
        }
    }
}

/// Canonical fields (a record or a patch) in the provider's names.
pub(crate) fn outbound(
    object: &CompiledObject,
    env: &TransformEnv,
    patch: &Fields,
    out: &mut Fields,
    findings: &mut Findings<'_>,
) {
    for rule in object.outbound() {
        let Some(value) = read_local(rule, patch, findings) else {
            continue;
        };
        let value = if is_blank_result(&value) {
            match rule.transform.when_blank() {
                Some(instead) => instead.clone(),
                None => {
                    if rule.required {
                        let message = format!(
                            "required field cannot be cleared (remote field `{}`)",
                            rule.remote.join("`, `")
                        );
                        findings.fail(&rule.field_label, "required", message);
                        if findings.enforce {
                            continue;
                        }
                    }
                    for remote in &rule.remote {
                        out.insert(remote.clone(), Value::Null);
                    }
                    continue;
                }
            }
        } else {
            value
        };
        let before = findings.errors.len() + findings.warnings.len();
        match (rule.local.as_slice(), &value) {
            ([local], _) => check(rule, local, &value, findings),
            (locals, Value::Array(items)) => {
                for (local, item) in locals.iter().zip(items) {
                    if !is_blank(item) {
                        check(rule, local, item, findings);
                    }
                }
            }
            _ => {}
        }
        if findings.enforce && findings.errors.len() + findings.warnings.len() > before {
            continue;
        }
        match rule.transform.outbound(&value, env) {
            Ok(mapped) => write_remote(rule, mapped, out, findings),
            Err(err) => {
                let message = format!(
                    "cannot write remote field `{}`: {err} (got {})",
                    rule.remote.join("`, `"),
                    describe(&value, rule.sensitive)
                );
                findings.fail(&rule.field_label, rule.transform.name(), message);
                if !findings.enforce && rule.local.len() == 1 && rule.remote.len() == 1 {
                    out.insert(rule.remote[0].clone(), value);
                }
            }
        }
    }
}

/// The remote value(s) a rule reads, `None` when blank: the value for one field, a list
/// (`null` for blanks) for several.
fn read_remote<'r>(rule: &CompiledRule, remote: &'r Fields) -> Option<Cow<'r, Value>> {
    if let [name] = rule.remote.as_slice() {
        return remote.get(name).filter(|v| !is_blank(v)).map(Cow::Borrowed);
    }
    let items: Vec<Value> = rule
        .remote
        .iter()
        .map(|name| {
            remote
                .get(name)
                .filter(|v| !is_blank(v))
                .cloned()
                .unwrap_or(Value::Null)
        })
        .collect();
    if items.iter().all(Value::is_null) {
        None
    } else {
        Some(Cow::Owned(Value::Array(items)))
    }
}

/// The canonical value(s) a rule writes from a patch: `None` when the patch does not
/// carry the rule's fields. A rule with several fields needs all of them (or none): a
/// patch with only some is reported and skipped.
fn read_local(rule: &CompiledRule, patch: &Fields, findings: &mut Findings<'_>) -> Option<Value> {
    if let [name] = rule.local.as_slice() {
        return patch.get(name).cloned();
    }
    let values: Vec<Option<&Value>> = rule.local.iter().map(|n| patch.get(n)).collect();
    if values.iter().all(Option::is_none) {
        return None;
    }
    if values.iter().any(Option::is_none) {
        let missing: Vec<&str> = rule
            .local
            .iter()
            .zip(&values)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| n.as_str())
            .collect();
        let message = format!(
            "the patch carries only some of `{}`: `{}` missing; the rule writes remote \
             field `{}` from all of them, so send them together (see \
             DeclarativeMapper::field_groups)",
            rule.local.join("`, `"),
            missing.join("`, `"),
            rule.remote.join("`, `"),
        );
        findings.fail(&rule.field_label, rule.transform.name(), message);
        return None;
    }
    let items: Vec<Value> = values
        .into_iter()
        .map(|v| v.filter(|v| !is_blank(v)).cloned().unwrap_or(Value::Null))
        .collect();
    Some(Value::Array(items))
}

fn write_remote(rule: &CompiledRule, mapped: Value, out: &mut Fields, findings: &mut Findings<'_>) {
    if let [name] = rule.remote.as_slice() {
        let mapped = if is_blank(&mapped) {
            Value::Null
        } else {
            mapped
        };
        out.insert(name.clone(), mapped);
        return;
    }
    match mapped {
        Value::Array(items) if items.len() == rule.remote.len() => {
            for (name, item) in rule.remote.iter().zip(items) {
                out.insert(name.clone(), item);
            }
        }
        other => {
            let message = format!(
                "transform gave {} for {} remote fields; it must give a list of {}",
                kind(&other),
                rule.remote.len(),
                rule.remote.len()
            );
            findings.fail(&rule.field_label, rule.transform.name(), message);
        }
    }
}

/// Runs a rule's validations on one canonical field's value.
fn check(rule: &CompiledRule, field: &str, value: &Value, findings: &mut Findings<'_>) {
    for check in &rule.checks {
        if let Err(problem) = check.check(value) {
            let message = format!(
                "{problem} (got {})",
                describe(value, rule.sensitive || check.sensitive())
            );
            findings.fail(field, check.rule(), message);
        }
    }
}

/// `null` and `""` both mean "no value".
pub(crate) fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Blank, or a list of blanks (a multi-field value with nothing in it).
fn is_blank_result(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().all(is_blank),
        other => is_blank(other),
    }
}

/// A value for an error message: personal values only by type and length, others quoted
/// and cut short.
pub(crate) fn describe(value: &Value, sensitive: bool) -> String {
    const MAX_SHOWN: usize = 40;
    match value {
        Value::String(s) if sensitive => format!("text of {} characters", s.chars().count()),
        _ if sensitive => kind(value).to_owned(),
        Value::String(s) if s.chars().count() > MAX_SHOWN => {
            let cut: String = s.chars().take(MAX_SHOWN).collect();
            format!("{cut:?}…")
        }
        Value::String(s) => format!("{s:?}"),
        other => {
            let text = other.to_string();
            if text.chars().count() > MAX_SHOWN {
                kind(other).to_owned()
            } else {
                text
            }
        }
    }
}
