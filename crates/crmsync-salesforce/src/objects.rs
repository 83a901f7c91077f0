//! sObject names, `describe` (custom fields, picklists, types) and record conversion.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, NaiveDateTime, Utc};
use crmsync_core::{
    Error, ErrorKind, FieldSchema, FieldType, Fields, ObjectKind, ObjectSchema, Record, Result,
};
use crmsync_http::ApiRequest;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{SalesforceProvider, soql::validate_identifier};

/// Fields every change-feed query selects.
pub(crate) const SYSTEM_FIELDS: [&str; 3] = ["Id", "SystemModstamp", "IsDeleted"];

/// `GET /sobjects/{T}/describe`.
#[derive(Debug, Deserialize)]
pub(crate) struct Describe {
    #[serde(default)]
    pub fields: Vec<DescribeField>,
}

/// One field of a describe result.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DescribeField {
    pub name: String,
    #[serde(default)]
    pub label: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default = "yes")]
    pub nillable: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub picklist_values: Vec<Picklist>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Picklist {
    pub value: String,
    #[serde(default = "yes")]
    pub active: bool,
}

/// What the provider remembers of a describe: field types by name.
#[derive(Debug, Default)]
pub(crate) struct FieldTypes {
    pub types: BTreeMap<String, String>,
}

impl FieldTypes {
    /// Fields to select when the caller names none: every field but compound ones
    /// (address, location), which neither SOQL nor Bulk CSV return flat.
    pub fn default_fields(&self) -> Vec<String> {
        self.types
            .iter()
            .filter(|(_, t)| !matches!(t.as_str(), "address" | "location" | "base64"))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

impl SalesforceProvider {
    /// The sObject name for `object`, validated.
    pub(crate) fn sobject(&self, object: &ObjectKind) -> Result<String> {
        let name = self.config.sobject(object).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("no Salesforce sObject is configured for `{object}`"),
            )
        })?;
        validate_identifier(&name)
            .map_err(|e| Error::new(ErrorKind::Config, e.message().to_owned()))?;
        Ok(name)
    }

    /// Describes an sObject and refreshes the cached field types.
    pub(crate) async fn describe_sobject(&self, sobject: &str) -> Result<Describe> {
        let req = ApiRequest::get(
            "salesforce.describe",
            self.data_path(&format!("/sobjects/{sobject}/describe")),
        );
        let describe: Describe = self.call_json(&req).await?;
        let types = FieldTypes {
            types: describe
                .fields
                .iter()
                .map(|f| (f.name.clone(), f.kind.clone()))
                .collect(),
        };
        self.field_types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sobject.to_owned(), Arc::new(types));
        Ok(describe)
    }

    /// Field types of an sObject, described once per provider.
    pub(crate) async fn field_types(&self, sobject: &str) -> Result<Arc<FieldTypes>> {
        let cached = self
            .field_types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sobject)
            .cloned();
        if let Some(types) = cached {
            return Ok(types);
        }
        self.describe_sobject(sobject).await?;
        Ok(self
            .field_types
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(sobject)
            .cloned()
            .unwrap_or_default())
    }

    /// The fields to select: the caller's, or every describable field.
    pub(crate) async fn select_fields(
        &self,
        sobject: &str,
        wanted: &[String],
    ) -> Result<Vec<String>> {
        let mut fields = if wanted.is_empty() {
            self.field_types(sobject).await?.default_fields()
        } else {
            wanted.to_vec()
        };
        for system in SYSTEM_FIELDS {
            if !fields.iter().any(|f| f.eq_ignore_ascii_case(system)) {
                fields.push(system.to_owned());
            }
        }
        Ok(fields)
    }
}

/// Parses Salesforce instants: `2024-05-01T10:00:00.000+0000`, RFC 3339, or
/// without a zone (UTC).
pub(crate) fn parse_instant(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// Flattens a record's fields: `attributes` dropped, relationship objects turned into
/// dotted names (`Account.Name`), `null` dropped.
fn flatten(prefix: &str, map: Map<String, Value>, out: &mut Fields) {
    for (name, value) in map {
        if name == "attributes" {
            continue;
        }
        let key = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Null => {}
            Value::Object(inner) => flatten(&key, inner, out),
            other => {
                out.insert(key, other);
            }
        }
    }
}

/// A queried record as a crmsync [`Record`]. `Id`, `SystemModstamp` and `IsDeleted`
/// become the record's id, time and deletion flag; they stay among the fields only
/// when `requested` names them.
pub(crate) fn to_record(
    object: &ObjectKind,
    raw: Map<String, Value>,
    requested: &[String],
) -> Result<Record> {
    let mut fields = Fields::new();
    flatten("", raw, &mut fields);
    let id = match fields.get("Id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            return Err(Error::new(
                ErrorKind::Decode,
                "a Salesforce record came without an Id",
            ));
        }
    };
    let modified_at = fields
        .get("SystemModstamp")
        .and_then(Value::as_str)
        .and_then(parse_instant);
    let deleted = match fields.get("IsDeleted") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    for system in SYSTEM_FIELDS {
        if !requested.iter().any(|r| r == system) {
            fields.remove(system);
        }
    }
    Ok(Record {
        id: id.into(),
        object: object.clone(),
        fields,
        modified_at,
        deleted,
    })
}

/// The crmsync type of a Salesforce field type.
fn field_type(kind: &str) -> FieldType {
    match kind {
        "string" | "textarea" | "url" | "combobox" | "encryptedstring" => FieldType::String,
        "email" => FieldType::Email,
        "phone" => FieldType::Phone,
        "double" | "currency" | "percent" | "int" | "long" => FieldType::Number,
        "boolean" => FieldType::Boolean,
        "date" => FieldType::Date,
        "datetime" => FieldType::DateTime,
        "picklist" | "multipicklist" => FieldType::Enumeration,
        "reference" | "id" => FieldType::Reference,
        other => FieldType::Other(other.to_owned()),
    }
}

/// A describe result as an [`ObjectSchema`].
pub(crate) fn to_schema(object: &ObjectKind, describe: Describe) -> ObjectSchema {
    let fields = describe
        .fields
        .into_iter()
        .map(|f| FieldSchema {
            label: f.label,
            field_type: field_type(&f.kind),
            required: !f.nillable && f.createable && !f.defaulted_on_create,
            read_only: !f.updateable,
            custom: f.custom || f.name.ends_with("__c"),
            options: f
                .picklist_values
                .into_iter()
                .filter(|p| p.active)
                .map(|p| p.value)
                .collect(),
            name: f.name,
        })
        .collect();
    ObjectSchema {
        object: object.clone(),
        fields,
    }
}

/// A CSV cell (Bulk API query results) as JSON, typed by the field's describe type;
/// empty cells are `null`.
pub(crate) fn typed_cell(kind: Option<&str>, text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    match kind {
        Some("boolean") => match text {
            "true" | "TRUE" | "True" => Value::Bool(true),
            "false" | "FALSE" | "False" => Value::Bool(false),
            _ => Value::String(text.to_owned()),
        },
        Some("int" | "long") => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_owned())),
        Some("double" | "currency" | "percent") => text
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .unwrap_or_else(|| Value::String(text.to_owned())),
        _ => Value::String(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn system_modstamps_parse_in_salesforce_form() {
        let a = parse_instant("2024-05-01T10:00:00.000+0000");
        let b = parse_instant("2024-05-01T10:00:00Z");
        let c = parse_instant("2024-05-01T12:00:00.000+0200");
        assert!(a.is_some());
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(parse_instant("yesterday"), None);
    }

    #[test]
    fn records_drop_attributes_and_flatten_relationships() {
        let raw = json!({
            "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003A"},
            "Id": "003A", "Email": "a@x.io", "HasOptedOutOfEmail": false, "Phone": null,
            "SystemModstamp": "2024-05-01T10:00:00.000+0000", "IsDeleted": false,
            "Account": {"attributes": {"type": "Account"}, "Name": "Acme"}
        });
        let Value::Object(map) = raw else { panic!() };
        let record = to_record(&ObjectKind::Contact, map, &["Email".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(record.id.as_str(), "003A");
        assert!(!record.deleted);
        assert!(record.modified_at.is_some());
        assert_eq!(record.fields.get("Email"), Some(&json!("a@x.io")));
        assert_eq!(record.fields.get("HasOptedOutOfEmail"), Some(&json!(false)));
        assert_eq!(record.fields.get("Account.Name"), Some(&json!("Acme")));
        assert!(!record.fields.contains_key("attributes"));
        assert!(!record.fields.contains_key("SystemModstamp"));
        assert!(!record.fields.contains_key("Phone"));
    }

    #[test]
    fn describe_maps_types_requirements_and_picklists() {
        let describe: Describe = serde_json::from_value(json!({"fields": [
            {"name": "LastName", "label": "Last Name", "type": "string", "nillable": false, "createable": true, "updateable": true, "defaultedOnCreate": false, "custom": false, "picklistValues": []},
            {"name": "OwnerId", "label": "Owner", "type": "reference", "nillable": false, "createable": true, "updateable": true, "defaultedOnCreate": true, "custom": false, "picklistValues": []},
            {"name": "Tier__c", "label": "Tier", "type": "picklist", "nillable": true, "createable": true, "updateable": true, "defaultedOnCreate": false, "custom": true,
             "picklistValues": [{"value": "Gold", "active": true}, {"value": "Old", "active": false}]},
            {"name": "SystemModstamp", "label": "System Modstamp", "type": "datetime", "nillable": false, "createable": false, "updateable": false, "defaultedOnCreate": true, "custom": false, "picklistValues": []}
        ]}))
        .unwrap_or_else(|e| panic!("{e}"));
        let schema = to_schema(&ObjectKind::Contact, describe);
        let last = schema.field("LastName").unwrap_or_else(|| panic!());
        assert!(last.required && !last.read_only && !last.custom);
        let owner = schema.field("OwnerId").unwrap_or_else(|| panic!());
        assert!(!owner.required, "defaulted on create");
        assert_eq!(owner.field_type, FieldType::Reference);
        let tier = schema.field("Tier__c").unwrap_or_else(|| panic!());
        assert!(tier.custom);
        assert_eq!(tier.field_type, FieldType::Enumeration);
        assert_eq!(tier.options, vec!["Gold".to_owned()]);
        let stamp = schema.field("SystemModstamp").unwrap_or_else(|| panic!());
        assert!(stamp.read_only && !stamp.required);
    }

    #[test]
    fn csv_cells_get_their_types_back() {
        assert_eq!(typed_cell(Some("boolean"), "true"), json!(true));
        assert_eq!(typed_cell(Some("double"), "12.5"), json!(12.5));
        assert_eq!(typed_cell(Some("currency"), "12"), json!(12));
        assert_eq!(typed_cell(Some("int"), "7"), json!(7));
        assert_eq!(typed_cell(Some("string"), "007"), json!("007"));
        assert_eq!(typed_cell(None, ""), Value::Null);
    }
}
