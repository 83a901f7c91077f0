//! Salesforce's checks on a write, in its order: writable fields
//! (`INVALID_FIELD_FOR_INSERT_UPDATE`), required fields (`REQUIRED_FIELD_MISSING`), values
//! (`STRING_TOO_LONG`, restricted picklists, email addresses, references), then unique values
//! (`DUPLICATE_VALUE`) and duplicate rules (`DUPLICATES_DETECTED`); and the fields Salesforce
//! derives (`Name`, `Probability`).

use super::{Record, Store};
use crate::salesforce::errors::RecordError;
use crate::salesforce::ids;
use crate::salesforce::schema::{self, FieldDef, FieldType, ObjectKind};
use crate::salesforce::values::Val;

fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
        && !email.contains(',')
}

impl Store {
    /// Checks a value given for `field` and normalizes it (emails lower-cased, ids in their
    /// 18-character form).
    fn check_value(&self, field: &FieldDef, value: Val) -> Result<Val, RecordError> {
        let fields = || vec![field.name.to_string()];
        let Val::Str(text) = value else {
            return Ok(value);
        };
        if field.length > 0 && text.chars().count() > field.length as usize {
            return Err(RecordError::new(
                "STRING_TOO_LONG",
                format!(
                    "{}: data value too large: {text} (max length={})",
                    field.label, field.length
                ),
                fields(),
            ));
        }
        match field.ty {
            FieldType::Picklist if !field.picklist.contains(&text.as_str()) => {
                Err(RecordError::new(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    format!(
                        "{}: bad value for restricted picklist field: {text}",
                        field.label
                    ),
                    fields(),
                ))
            }
            FieldType::Email => {
                let email = text.trim().to_lowercase();
                if is_plausible_email(&email) {
                    Ok(Val::Str(email))
                } else {
                    Err(RecordError::new(
                        "INVALID_EMAIL_ADDRESS",
                        format!("{}: invalid email address: {text}", field.label),
                        fields(),
                    ))
                }
            }
            FieldType::Reference => {
                let wrong_type = || {
                    RecordError::new(
                        "FIELD_INTEGRITY_EXCEPTION",
                        format!("{}: id value of incorrect type: {text}", field.label),
                        fields(),
                    )
                };
                let Some(id) = ids::normalize(&text) else {
                    return Err(RecordError::new(
                        "MALFORMED_ID",
                        format!("{}: id value of incorrect type: {text}", field.label),
                        fields(),
                    ));
                };
                let prefix = ids::prefix(&id);
                if field.reference_to.contains(&"User") {
                    return if prefix == "005" || prefix == "00G" {
                        Ok(Val::Str(id))
                    } else {
                        Err(wrong_type())
                    };
                }
                let kind = schema::object_by_prefix(prefix)
                    .filter(|k| field.reference_to.contains(&schema::def(*k).name))
                    .ok_or_else(wrong_type)?;
                match self.get(kind, &id) {
                    None => Err(RecordError::new(
                        "INVALID_CROSS_REFERENCE_KEY",
                        format!("{}: invalid cross reference id", field.label),
                        fields(),
                    )),
                    Some(r) if r.is_deleted() => Err(RecordError::new(
                        "ENTITY_IS_DELETED",
                        "entity is deleted",
                        fields(),
                    )),
                    Some(_) => Ok(Val::Str(id)),
                }
            }
            _ => Ok(Val::Str(text)),
        }
    }

    /// Builds the record a write would leave: checks writability, required fields and
    /// values, then unique values and duplicate rules against the other live records.
    pub(super) fn prepare(
        &self,
        kind: ObjectKind,
        mut record: Record,
        given: &[(usize, Val)],
        creating: bool,
    ) -> Result<Record, RecordError> {
        let def = schema::def(kind);
        let field = |i: usize| def.fields.get(i);
        let locked: Vec<String> = given
            .iter()
            .filter_map(|(i, _)| field(*i))
            .filter(|f| {
                if creating {
                    !f.createable
                } else {
                    !f.updateable
                }
            })
            .map(|f| f.name.to_string())
            .collect();
        if !locked.is_empty() {
            return Err(RecordError::new(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                format!(
                    "Unable to create/update fields: {}. Please check the security settings of \
                     this field and verify that it is read/write for your profile or permission set.",
                    locked.join(", ")
                ),
                locked,
            ));
        }
        for (i, v) in given {
            if let Some(slot) = record.values.get_mut(*i) {
                *slot = v.clone();
            }
        }
        let missing: Vec<String> = def
            .fields
            .iter()
            .enumerate()
            .filter(|(i, f)| {
                let null = record.get(*i).is_null();
                let named = given.iter().any(|(g, _)| g == i);
                null && ((creating && f.required_on_create()) || (named && !f.nillable))
            })
            .map(|(_, f)| f.name.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(RecordError::new(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
                missing,
            ));
        }
        for (i, _) in given {
            let Some(f) = field(*i) else { continue };
            let value = std::mem::replace(&mut record.values[*i], Val::Null);
            record.values[*i] = self.check_value(f, value)?;
        }
        derive(kind, &mut record, given, creating);
        let own_id = record.id().to_string();
        for (i, f) in def.fields.iter().enumerate() {
            if !f.unique || record.get(i).is_null() {
                continue;
            }
            if let Some(other) = self
                .find_by(kind, i, record.get(i))
                .into_iter()
                .find(|id| *id != own_id)
            {
                return Err(RecordError::new(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {other}",
                        f.name
                    ),
                    vec![],
                ));
            }
        }
        for (k, i) in &self.duplicate_rules {
            if *k == kind
                && !record.get(*i).is_null()
                && self
                    .find_by(kind, *i, record.get(*i))
                    .iter()
                    .any(|id| *id != own_id)
            {
                return Err(RecordError::new(
                    "DUPLICATES_DETECTED",
                    "Use one of these records?",
                    vec![],
                ));
            }
        }
        Ok(record)
    }
}

/// Fields Salesforce computes: a person's `Name`, and an opportunity's `Probability` from
/// its stage unless the write sets it.
fn derive(kind: ObjectKind, record: &mut Record, given: &[(usize, Val)], creating: bool) {
    let def = schema::def(kind);
    let slot = |name: &str| def.field(name);
    if let (Some(name), Some(first), Some(last)) =
        (slot("Name"), slot("FirstName"), slot("LastName"))
    {
        if !def.fields[name].createable {
            let full = [record.get(first), record.get(last)]
                .iter()
                .filter_map(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            record.values[name] = if full.is_empty() {
                Val::Null
            } else {
                Val::Str(full)
            };
        }
    }
    if let (Some(stage), Some(probability)) = (slot("StageName"), slot("Probability")) {
        let stage_given = given.iter().any(|(i, _)| *i == stage);
        let probability_given = given.iter().any(|(i, _)| *i == probability);
        if (creating || stage_given) && !probability_given {
            if let Some(p) = record
                .get(stage)
                .as_str()
                .and_then(schema::stage_probability)
            {
                record.values[probability] = Val::Num(f64::from(p));
            }
        }
    }
}
