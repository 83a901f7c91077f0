//! Object types, their last-modified properties, `describe` and record conversion.

use chrono::{DateTime, Utc};
use crmsync_core::{
    Error, ErrorKind, FieldSchema, FieldType, Fields, ObjectKind, ObjectSchema, Record, Result,
};
use serde::Deserialize;

use crate::core::HsObject;

/// How HubSpot names an object kind.
#[derive(Clone, Debug)]
pub(crate) struct HsType {
    /// Path segment: `contacts`, `companies`, `deals`, or a custom object's name.
    pub path: String,
    /// The property that holds the last modification time.
    pub last_modified: &'static str,
}

pub(crate) fn hs_type(object: &ObjectKind) -> Result<HsType> {
    let (path, last_modified) = match object {
        ObjectKind::Contact => ("contacts".to_owned(), "lastmodifieddate"),
        ObjectKind::Company => ("companies".to_owned(), "hs_lastmodifieddate"),
        ObjectKind::Deal => ("deals".to_owned(), "hs_lastmodifieddate"),
        ObjectKind::Activity => ("calls".to_owned(), "hs_lastmodifieddate"),
        ObjectKind::Custom(name) if !name.is_empty() => (name.clone(), "hs_lastmodifieddate"),
        other => {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "HubSpot has no `{other}` object; sync contacts, companies, deals, activities or a custom object"
                ),
            ));
        }
    };
    Ok(HsType {
        path,
        last_modified,
    })
}

pub(crate) fn parse_instant(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(value) {
        return Some(dt.with_timezone(&Utc));
    }
    value
        .parse::<i64>()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
}

/// A HubSpot object as a crmsync [`Record`] (property values stay strings; empty
/// values are absent).
pub(crate) fn to_record(object: &ObjectKind, hs: HsObject) -> Record {
    let modified_at = hs.updated_at.as_deref().and_then(parse_instant);
    let fields: Fields = hs
        .properties
        .into_iter()
        .filter_map(|(k, v)| match v {
            Some(v) if !v.is_empty() => Some((k, serde_json::Value::String(v))),
            _ => None,
        })
        .collect();
    Record {
        id: hs.id.into(),
        object: object.clone(),
        fields,
        modified_at,
        deleted: hs.archived,
    }
}

/// Property values as HubSpot takes them: strings; `null` clears (empty string).
pub(crate) fn to_properties(fields: &Fields) -> serde_json::Map<String, serde_json::Value> {
    fields
        .iter()
        .map(|(k, v)| {
            let text = match v {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), serde_json::Value::String(text))
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HsProperty {
    name: String,
    #[serde(default)]
    label: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    field_type: String,
    #[serde(default)]
    options: Vec<HsOption>,
    #[serde(default)]
    hubspot_defined: Option<bool>,
    #[serde(default)]
    calculated: bool,
    #[serde(default)]
    modification_metadata: Option<HsModification>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HsOption {
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HsModification {
    #[serde(default)]
    read_only_value: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct HsProperties {
    pub results: Vec<HsProperty>,
}

pub(crate) fn to_schema(object: &ObjectKind, properties: HsProperties) -> ObjectSchema {
    let fields = properties
        .results
        .into_iter()
        .map(|p| {
            let field_type = match (p.kind.as_str(), p.field_type.as_str()) {
                (_, "phonenumber") | ("phone_number", _) => FieldType::Phone,
                ("string", _) if p.name.contains("email") => FieldType::Email,
                ("string", _) => FieldType::String,
                ("number", _) => FieldType::Number,
                ("bool", _) | (_, "booleancheckbox") => FieldType::Boolean,
                ("date", _) => FieldType::Date,
                ("datetime", _) => FieldType::DateTime,
                ("enumeration", _) => FieldType::Enumeration,
                (other, _) => FieldType::Other(other.to_owned()),
            };
            FieldSchema {
                label: p.label,
                field_type,
                required: false,
                read_only: p.calculated
                    || p.modification_metadata.is_some_and(|m| m.read_only_value),
                custom: p.hubspot_defined == Some(false),
                options: p.options.into_iter().map(|o| o.value).collect(),
                name: p.name,
            }
        })
        .collect();
    ObjectSchema {
        object: object.clone(),
        fields,
    }
}
