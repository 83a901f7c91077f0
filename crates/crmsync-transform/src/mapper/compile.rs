//! Checking and compiling one object's rules: transforms resolved and built, regexes
//! compiled, every problem named with its rule and what to do.

use std::{collections::HashMap, sync::Arc};

use serde_json::Value;

use crate::{
    FieldDirection, FieldRule, ObjectMapping, PhoneRegion,
    transforms::{RuleShape, Transform, TransformRegistry},
    validate::Check,
};

/// One object's rules, ready to run.
#[derive(Clone)]
pub(crate) struct CompiledObject {
    pub(crate) rules: Vec<CompiledRule>,
    /// Where the records keep their country, for phone numbers.
    pub(crate) phone_region: Option<PhoneRegion>,
    /// The provider's name for the object, for messages.
    pub(crate) remote_name: Option<String>,
}

impl CompiledObject {
    pub(crate) fn inbound(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().filter(|r| r.direction.is_inbound())
    }

    pub(crate) fn outbound(&self) -> impl Iterator<Item = &CompiledRule> {
        self.rules.iter().filter(|r| r.direction.is_outbound())
    }
}

#[derive(Clone)]
pub(crate) struct CompiledRule {
    /// Position in the configured list, for messages.
    pub(crate) index: usize,
    pub(crate) local: Vec<String>,
    pub(crate) remote: Vec<String>,
    pub(crate) direction: FieldDirection,
    pub(crate) transform: Arc<dyn Transform>,
    pub(crate) required: bool,
    pub(crate) checks: Vec<Check>,
    pub(crate) default: Option<Value>,
    /// Values are personal data (phone, e-mail): messages show only their length.
    pub(crate) sensitive: bool,
    /// The canonical field(s) as errors name them: `phone`, or `first_name, last_name`.
    pub(crate) field_label: String,
}

impl CompiledRule {
    /// Where the rule is, for messages: `object `contact` rule #3 (local `x`, remote `y`)`.
    pub(crate) fn at(&self, object: &str) -> String {
        at(
            object,
            self.index,
            &self.local.join(", "),
            &self.remote.join(", "),
        )
    }
}

fn at(object: &str, index: usize, local: &str, remote: &str) -> String {
    format!("object `{object}` rule #{index} (local `{local}`, remote `{remote}`)")
}

pub(crate) fn compile_object(
    object: &str,
    mapping: &ObjectMapping,
    registry: &TransformRegistry,
    problems: &mut Vec<String>,
) -> CompiledObject {
    if let Some(region) = &mapping.phone_region {
        if region.remote.trim().is_empty() || region.local.trim().is_empty() {
            problems.push(format!(
                "object `{object}`: `phone_region` must name the field holding the record's \
                 country on both sides (`remote` and `local`, e.g. both \"country\"), or be \
                 removed"
            ));
        }
    }
    let mut compiled = Vec::with_capacity(mapping.fields.len());
    // Which rule first writes each target, to report two rules writing one target.
    let mut inbound_targets: HashMap<&str, usize> = HashMap::new();
    let mut outbound_targets: HashMap<&str, usize> = HashMap::new();
    for (index, rule) in mapping.fields.iter().enumerate() {
        let at = at(
            object,
            index,
            &rule.local.join(", "),
            &rule.remote.join(", "),
        );
        let before = problems.len();
        check_names(rule, &at, problems);
        if rule.direction.is_inbound() {
            for local in rule.local.iter() {
                if let Some(first) = inbound_targets.insert(local, index) {
                    problems.push(format!(
                        "{at}: rule #{first} already writes canonical field `{local}` inbound; \
                         remove one rule or make one of them outbound-only"
                    ));
                }
            }
        }
        if rule.direction.is_outbound() {
            for remote in rule.remote.iter() {
                if let Some(first) = outbound_targets.insert(remote, index) {
                    problems.push(format!(
                        "{at}: rule #{first} already writes remote field `{remote}` outbound; \
                         remove one rule or make one of them inbound-only"
                    ));
                }
            }
        }
        let transform = build_transform(rule, registry, &at, problems);
        let mut checks = Vec::with_capacity(rule.validations.len());
        for validation in &rule.validations {
            match Check::compile(validation) {
                Ok(check) => checks.push(check),
                Err(problem) => problems.push(format!("{at}: {problem}")),
            }
        }
        match &rule.default {
            Some(_) if rule.local.len() > 1 => problems.push(format!(
                "{at}: `default` needs a rule with one `local` field; remove it or split the \
                 rule"
            )),
            Some(Value::Null) => problems.push(format!(
                "{at}: `default` is null; remove it (no default) or give a value"
            )),
            Some(default) if checks.len() == rule.validations.len() => {
                for check in &checks {
                    if let Err(problem) = check.check(default) {
                        problems.push(format!(
                            "{at}: the default value fails validation `{}` ({problem}); fix \
                             the default or the validation",
                            check.rule()
                        ));
                    }
                }
            }
            _ => {}
        }
        if problems.len() > before {
            continue;
        }
        let Some(transform) = transform else {
            continue;
        };
        let sensitive = transform.sensitive()
            || checks.iter().any(Check::sensitive)
            || rule.local.iter().any(|n| looks_personal(n))
            || rule.remote.iter().any(|n| looks_personal(n));
        compiled.push(CompiledRule {
            index,
            local: rule.local.to_vec(),
            remote: rule.remote.to_vec(),
            direction: rule.direction,
            transform,
            required: rule.required,
            checks,
            default: rule.default.clone(),
            sensitive,
            field_label: rule.local.join(", "),
        });
    }
    CompiledObject {
        rules: compiled,
        phone_region: mapping.phone_region.clone(),
        remote_name: mapping.remote.clone(),
    }
}

/// Both sides name fields, each once.
fn check_names(rule: &FieldRule, at: &str, problems: &mut Vec<String>) {
    let blank = |names: &[String]| names.is_empty() || names.iter().any(|n| n.trim().is_empty());
    if blank(&rule.local) || blank(&rule.remote) {
        problems.push(format!("{at}: `local` and `remote` must name a field"));
    }
    for (side, names) in [("local", &rule.local), ("remote", &rule.remote)] {
        if let Some(twice) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
            .map(|(_, n)| n)
        {
            problems.push(format!(
                "{at}: `{side}` names `{twice}` twice; name it once"
            ));
        }
    }
}

/// The rule's transform, built and checked against the rule's fields and direction.
fn build_transform(
    rule: &FieldRule,
    registry: &TransformRegistry,
    at: &str,
    problems: &mut Vec<String>,
) -> Option<Arc<dyn Transform>> {
    let shape = RuleShape {
        local: &rule.local,
        remote: &rule.remote,
    };
    let transform = match registry.resolve(&rule.transform, shape) {
        Ok(t) => t,
        Err(problem) => {
            problems.push(format!("{at}: {problem}"));
            return None;
        }
    };
    let arity = transform.arity();
    if (arity.local, arity.remote) != (rule.local.len(), rule.remote.len()) {
        let fields = |n: usize| {
            if n == 1 {
                "one field"
            } else {
                "several fields"
            }
        };
        problems.push(format!(
            "{at}: transform `{}` maps {} canonical and {} remote field(s), but the rule \
             has {} `local` and {} `remote`; {}",
            transform.name(),
            arity.local,
            arity.remote,
            rule.local.len(),
            rule.remote.len(),
            if arity == crate::transforms::Arity::ONE {
                format!(
                    "give `local` and `remote` {} each, or use a transform such as \
                     split_name or join_name",
                    fields(1)
                )
            } else {
                format!(
                    "write `local` with {} and `remote` with {}",
                    arity.local, arity.remote
                )
            }
        ));
        return None;
    }
    let serves = transform.direction();
    if !serves.covers(rule.direction) {
        problems.push(format!(
            "{at}: transform `{}` is not reversible: it only works {} (e.g. a picklist_map \
             that sends several values to one has no way back, and an expr needs both \
             `inbound` and `outbound`), so the rule cannot be {}; set `direction = \"{}\"` \
             or make the transform reversible",
            transform.name(),
            serves.as_str(),
            rule.direction.as_str(),
            serves.as_str()
        ));
        return None;
    }
    Some(transform)
}

pub(crate) fn looks_personal(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["email", "phone", "mobile"]
        .iter()
        .any(|p| name.contains(p))
}
