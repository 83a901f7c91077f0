//! Custom field discovery: the custom fields a provider describes that no rule maps yet,
//! each with a rule to start from.

use std::collections::HashSet;

use crmsync_core::{FieldSchema, FieldType, ObjectKind, ObjectSchema};

use crate::{FieldDirection, FieldRule, MappingConfig, TransformSpec, transforms::FieldClass};

/// A custom field no rule maps, with a suggested rule: a canonical name, a transform by
/// the field's type, and a direction (inbound only for read-only fields).
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    /// The provider's field name (`Dialer_Call_Count__c`, `ai_call_score`).
    pub remote: String,
    /// The provider's label, to show people.
    pub label: String,
    /// The field's type as described.
    pub field_type: FieldType,
    /// A canonical name: snake_case, without `__c` (`dialer_call_count`), unique among
    /// the object's canonical fields and the other suggestions.
    pub local: String,
    /// A transform that reads and writes the field's type.
    pub transform: TransformSpec,
    /// Inbound for read-only fields, else bidirectional.
    pub direction: FieldDirection,
    /// The allowed values, for picklists.
    pub options: Vec<String>,
}

impl Suggestion {
    /// The suggested rule, to add to the object's rules (or to a tenant's overlay).
    pub fn to_rule(&self) -> FieldRule {
        FieldRule::new(self.local.as_str(), self.remote.as_str())
            .direction(self.direction)
            .transform(self.transform.clone())
    }
}

/// The custom fields of `schema` (Salesforce `__c` fields, HubSpot properties described as
/// custom) that no rule of `object` in `config` maps, in the schema's order, each with a
/// suggested rule.
///
/// ```
/// use crmsync_core::{FieldSchema, FieldType, ObjectKind, ObjectSchema};
/// use crmsync_transform::{MappingConfig, discover};
///
/// let field = |name: &str, field_type| FieldSchema {
///     name: name.into(), label: name.replace('_', " "), field_type, required: false,
///     read_only: false, custom: name.ends_with("__c"), options: vec![],
/// };
/// let schema = ObjectSchema {
///     object: ObjectKind::Contact,
///     fields: vec![
///         field("LastName", FieldType::String),
///         field("Dialer_Call_Count__c", FieldType::Other("double".into())),
///         field("Dialer_DNC__c", FieldType::Boolean),
///         field("Dialer_Last_Called__c", FieldType::DateTime),
///     ],
/// };
/// let found = discover(&schema, &MappingConfig::salesforce_defaults(), "contact");
/// let names: Vec<(&str, &str)> = found.iter().map(|s| (s.local.as_str(), s.transform.name())).collect();
/// assert_eq!(names, [
///     ("dialer_call_count", "decimal"),
///     ("dialer_dnc", "boolean_checkbox"),
///     ("dialer_last_called", "date_sfdc"),
/// ]);
/// ```
pub fn discover(schema: &ObjectSchema, config: &MappingConfig, object: &str) -> Vec<Suggestion> {
    let kind = ObjectKind::parse(object);
    let mapping = config
        .objects
        .iter()
        .find(|(key, _)| ObjectKind::parse(key) == kind)
        .map(|(_, mapping)| mapping);
    let mut mapped: HashSet<&str> = HashSet::new();
    let mut taken: HashSet<String> = HashSet::new();
    if let Some(mapping) = mapping {
        for rule in &mapping.fields {
            mapped.extend(rule.remote.iter().map(String::as_str));
            taken.extend(rule.local.iter().cloned());
        }
        if let Some(region) = &mapping.phone_region {
            mapped.insert(region.remote.as_str());
        }
    }
    schema
        .fields
        .iter()
        .filter(|f| f.custom || f.name.ends_with("__c"))
        .filter(|f| !mapped.contains(f.name.as_str()))
        .map(|field| {
            let base = local_name(&field.name);
            let mut local = base.clone();
            let mut n = 2;
            while taken.contains(&local) {
                local = format!("{base}_{n}");
                n += 1;
            }
            taken.insert(local.clone());
            Suggestion {
                remote: field.name.clone(),
                label: field.label.clone(),
                field_type: field.field_type.clone(),
                local,
                transform: TransformSpec::new(transform_for(field)),
                direction: if field.read_only {
                    FieldDirection::Inbound
                } else {
                    FieldDirection::Bidirectional
                },
                options: field.options.clone(),
            }
        })
        .collect()
}

/// `Dialer_Call_Count__c` → `dialer_call_count`, `LastCalledAt__c` → `last_called_at`,
/// `ns__Score__c` → `ns_score`.
fn local_name(remote: &str) -> String {
    let name = remote.strip_suffix("__c").unwrap_or(remote);
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let boundary = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase) && next.is_some_and(|n| n.is_lowercase()));
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else if c.is_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    let mut collapsed = String::with_capacity(out.len());
    for c in out.chars() {
        if !(c == '_' && (collapsed.is_empty() || collapsed.ends_with('_'))) {
            collapsed.push(c);
        }
    }
    let collapsed = collapsed.trim_end_matches('_').to_owned();
    match collapsed.chars().next() {
        None => "custom_field".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("field_{collapsed}"),
        Some(_) => collapsed,
    }
}

/// A transform for the field's type (Salesforce `__c` fields get Salesforce's date form).
fn transform_for(field: &FieldSchema) -> &'static str {
    let salesforce = field.name.ends_with("__c");
    match &field.field_type {
        FieldType::Phone => return "phone_e164",
        FieldType::Email => return "email",
        FieldType::Other(name) if matches!(name.as_str(), "int" | "integer" | "long") => {
            return "integer";
        }
        _ => {}
    }
    match FieldClass::of(&field.field_type) {
        FieldClass::Number => "decimal",
        FieldClass::Boolean => "boolean_checkbox",
        FieldClass::Date if salesforce => "date_sfdc",
        FieldClass::Date => "date_iso",
        FieldClass::DateTime if salesforce => "date_sfdc",
        FieldClass::DateTime => "datetime_iso",
        FieldClass::Text | FieldClass::Unknown => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeclarativeMapper;

    fn field(name: &str, field_type: FieldType, custom: bool) -> FieldSchema {
        FieldSchema {
            name: name.into(),
            label: name.into(),
            field_type,
            required: false,
            read_only: false,
            custom,
            options: vec![],
        }
    }

    #[test]
    fn local_names_are_snake_case_without_the_suffix() {
        for (remote, local) in [
            ("Dialer_Call_Recording_URL__c", "dialer_call_recording_url"),
            ("Dialer_AI_Score__c", "dialer_ai_score"),
            ("LastCalledAt__c", "last_called_at"),
            ("URLField__c", "url_field"),
            ("ns__Score__c", "ns_score"),
            ("ai_call_score", "ai_call_score"),
            ("Score2Value__c", "score2_value"),
            ("3rd_party__c", "field_3rd_party"),
            ("__c", "custom_field"),
            ("Größe__c", "größe"),
        ] {
            assert_eq!(local_name(remote), local, "{remote}");
        }
    }

    #[test]
    fn unmapped_custom_fields_are_suggested_with_a_transform_by_type() {
        let mut read_only = field("Dialer_Session_Id__c", FieldType::String, true);
        read_only.read_only = true;
        let mut picklist = field("Dialer_Last_Disposition__c", FieldType::Enumeration, true);
        picklist.options = vec!["Connected".into(), "No Answer".into()];
        let schema = ObjectSchema {
            object: ObjectKind::Contact,
            fields: vec![
                field("firstname", FieldType::String, false),
                field("ai_call_score", FieldType::Number, true),
                field("num_calls", FieldType::Number, true),
                field("last_call_date", FieldType::DateTime, true),
                field("dialer_dnc", FieldType::Boolean, true),
                field(
                    "Dialer_Call_Count__c",
                    FieldType::Other("int".into()),
                    false,
                ),
                field(
                    "Dialer_Call_Recording_URL__c",
                    FieldType::Other("url".into()),
                    true,
                ),
                field("Dialer_Mobile__c", FieldType::Phone, true),
                field("Dialer_Work_Email__c", FieldType::Email, true),
                field("Dialer_Follow_Up__c", FieldType::Date, true),
                read_only,
                picklist,
                // Mapped already by the defaults' `phone_region`: not suggested.
                field("country", FieldType::String, true),
            ],
        };
        let mut config = MappingConfig::hubspot_defaults();
        if let Some(contact) = config.objects.get_mut("contact") {
            contact
                .fields
                .push(FieldRule::new("call_count", "num_calls").outbound());
        }
        let found = discover(&schema, &config, "contacts");
        let summary: Vec<(&str, &str, &str, FieldDirection)> = found
            .iter()
            .map(|s| {
                (
                    s.remote.as_str(),
                    s.local.as_str(),
                    s.transform.name(),
                    s.direction,
                )
            })
            .collect();
        use FieldDirection::{Bidirectional as Both, Inbound};
        assert_eq!(
            summary,
            [
                ("ai_call_score", "ai_call_score", "decimal", Both),
                ("last_call_date", "last_call_date", "datetime_iso", Both),
                ("dialer_dnc", "dialer_dnc", "boolean_checkbox", Both),
                ("Dialer_Call_Count__c", "dialer_call_count", "integer", Both),
                (
                    "Dialer_Call_Recording_URL__c",
                    "dialer_call_recording_url",
                    "none",
                    Both
                ),
                ("Dialer_Mobile__c", "dialer_mobile", "phone_e164", Both),
                ("Dialer_Work_Email__c", "dialer_work_email", "email", Both),
                ("Dialer_Follow_Up__c", "dialer_follow_up", "date_sfdc", Both),
                ("Dialer_Session_Id__c", "dialer_session_id", "none", Inbound),
                (
                    "Dialer_Last_Disposition__c",
                    "dialer_last_disposition",
                    "none",
                    Both
                ),
            ]
        );
        assert_eq!(found[9].options, ["Connected", "No Answer"]);

        // The suggested rules compile and fit the schema they came from.
        if let Some(contact) = config.objects.get_mut("contact") {
            contact.fields.extend(found.iter().map(Suggestion::to_rule));
        }
        let mapper = DeclarativeMapper::new(config);
        assert!(mapper.is_ok(), "{mapper:?}");
    }

    #[test]
    fn suggested_names_do_not_collide() {
        let schema = ObjectSchema {
            object: ObjectKind::Deal,
            fields: vec![
                field("Amount__c", FieldType::Number, true),
                field("amount", FieldType::Number, true),
                field("Amount_", FieldType::Number, true),
            ],
        };
        let config =
            MappingConfig::default().with_object("deal", [FieldRule::new("amount", "Amount")]);
        let locals: Vec<String> = discover(&schema, &config, "deal")
            .into_iter()
            .map(|s| s.local)
            .collect();
        assert_eq!(locals, ["amount_2", "amount_3", "amount_4"]);
        assert!(discover(&schema, &config, "lead").len() == 3);
    }
}
