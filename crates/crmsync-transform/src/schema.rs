//! Checking a compiled mapping against what a provider's `describe()` says its objects
//! hold: every remote field a rule names exists, has a type its transform handles, and
//! can be written where the rule writes it.

use crmsync_core::{Error, ErrorKind, FieldSchema, FieldType, ObjectKind, ObjectSchema, Result};

use crate::{
    DeclarativeMapper, MappingConfig,
    transforms::{FieldClass, Transform},
};

impl DeclarativeMapper {
    /// Checks the rules of `schema.object` against the provider's description of it:
    /// each remote field a rule names must exist, have a type the rule's transform
    /// handles (an `integer` rule on a text field is refused), and be writable if the
    /// rule writes it; the object's phone-region field must exist.
    ///
    /// Run it once a connection is made (and after the provider's schema changes), with
    /// the result of [`CrmProvider::describe`](crmsync_core::CrmProvider::describe).
    ///
    /// ```
    /// use crmsync_core::{FieldSchema, FieldType, ObjectKind, ObjectSchema};
    /// use crmsync_transform::{DeclarativeMapper, FieldRule, MappingConfig};
    ///
    /// let field = |name: &str, field_type| FieldSchema {
    ///     name: name.into(), label: name.into(), field_type, required: false,
    ///     read_only: false, custom: name.ends_with("__c"), options: vec![],
    /// };
    /// let schema = ObjectSchema {
    ///     object: ObjectKind::Contact,
    ///     fields: vec![field("Email", FieldType::Email), field("Score__c", FieldType::String)],
    /// };
    /// let config = MappingConfig::default().with_remote_object("contact", "Contact").with_object(
    ///     "contact",
    ///     [FieldRule::new("email", "Email"), FieldRule::new("foo", "Foo__c")],
    /// );
    /// let err = DeclarativeMapper::new(config)?.check_against(&schema).err();
    /// let text = err.map(|e| e.to_string()).unwrap_or_default();
    /// assert!(text.contains("field `Foo__c` does not exist on Contact; run `crmsync discover` or fix the rule"));
    /// # Ok::<(), crmsync_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the configuration's file (if any) and listing every
    /// problem with its rule, its remote field and what to do.
    pub fn check_against(&self, schema: &ObjectSchema) -> Result<()> {
        let object_name = schema.object.as_str();
        let Some(object) = self.object(&schema.object) else {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{} has no rules for object `{object_name}`; add `objects.{object_name}`",
                    self.config().origin()
                ),
            ));
        };
        let shown = object.remote_name.as_deref().unwrap_or(object_name);
        let mut problems = Vec::new();
        for rule in &object.rules {
            let at = rule.at(object_name);
            for remote in &rule.remote {
                let Some(field) = schema.field(remote) else {
                    problems.push(format!(
                        "{at}: field `{remote}` does not exist on {shown}{}; run `crmsync \
                         discover` or fix the rule",
                        did_you_mean(remote, schema)
                    ));
                    continue;
                };
                if !rule.transform.compatible_with(&field.field_type) {
                    problems.push(format!(
                        "{at}: field `{remote}` on {shown} is {}, which transform `{}` cannot \
                         read or write; {}",
                        type_name(&field.field_type),
                        rule.transform.name(),
                        suggest_transform(rule.transform.as_ref(), field)
                    ));
                }
                if field.read_only && rule.direction.is_outbound() {
                    problems.push(format!(
                        "{at}: field `{remote}` on {shown} is read-only; set `direction = \
                         \"inbound\"` on the rule"
                    ));
                }
            }
        }
        if let Some(region) = &object.phone_region {
            if schema.field(&region.remote).is_none() {
                problems.push(format!(
                    "object `{object_name}`: `phone_region` reads field `{}`, which does not \
                     exist on {shown}{}; fix `phone_region.remote`",
                    region.remote,
                    did_you_mean(&region.remote, schema)
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{} does not fit {shown} as the provider describes it: {}",
                    self.config().origin(),
                    problems.join("; ")
                ),
            ))
        }
    }
}

/// Compiles `config` with the built-in transforms and checks the rules of `object`
/// against `schema`; see [`DeclarativeMapper::check_against`] (use that when the
/// configuration uses transforms of your own).
///
/// # Errors
/// [`ErrorKind::Config`]: the configuration does not compile, `schema` describes another
/// object, or a rule does not fit the schema.
pub fn validate_with_schema(
    config: &MappingConfig,
    object: &ObjectKind,
    schema: &ObjectSchema,
) -> Result<()> {
    if &schema.object != object {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "the schema describes object `{}`, not `{object}`; describe `{object}`",
                schema.object
            ),
        ));
    }
    DeclarativeMapper::new(config.clone())?.check_against(schema)
}

/// A described type in words.
pub(crate) fn type_name(field_type: &FieldType) -> String {
    match field_type {
        FieldType::String => "a text field".to_owned(),
        FieldType::Number => "a number field".to_owned(),
        FieldType::Boolean => "a checkbox (boolean) field".to_owned(),
        FieldType::Date => "a date field".to_owned(),
        FieldType::DateTime => "a date-time field".to_owned(),
        FieldType::Enumeration => "a picklist field".to_owned(),
        FieldType::Phone => "a phone field".to_owned(),
        FieldType::Email => "an e-mail field".to_owned(),
        FieldType::Reference => "a reference field".to_owned(),
        FieldType::Other(name) => format!("a `{name}` field"),
        _ => "a field of another type".to_owned(),
    }
}

/// What to use instead, by the field's class.
fn suggest_transform(transform: &dyn Transform, field: &FieldSchema) -> String {
    let instead = match FieldClass::of(&field.field_type) {
        FieldClass::Number => "`integer`, `decimal` or `currency_cents`",
        FieldClass::Boolean => "`boolean_checkbox`",
        FieldClass::Date => "`date_iso` (`date_sfdc` on Salesforce)",
        FieldClass::DateTime => "`datetime_iso` or `epoch_ms` (`date_sfdc` on Salesforce)",
        FieldClass::Text => "`none`, `trim` or a text transform",
        FieldClass::Unknown => "another transform",
    };
    format!(
        "use {instead} for this field, or map `{}` to another field",
        match transform.name() {
            "none" => "the rule",
            name => name,
        }
    )
}

/// ` (did you mean `Email`?)` when a field of a close name exists.
fn did_you_mean(name: &str, schema: &ObjectSchema) -> String {
    let lower = name.to_lowercase();
    let best = schema
        .fields
        .iter()
        .map(|f| (distance(&lower, &f.name.to_lowercase()), &f.name))
        .filter(|(d, _)| *d <= 2 || (*d <= 3 && lower.len() > 10))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, close)) => format!(" (did you mean `{close}`?)"),
        None => String::new(),
    }
}

/// Levenshtein distance, giving up (large) past a few edits.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 3 || a.len() > 80 || b.len() > 80 {
        return usize::MAX;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
