//! Tables: entity set → logical name and primary key (built in for the standard
//! tables, from `EntityDefinitions` for custom ones), columns from
//! `EntityDefinitions(LogicalName='…')/Attributes` (`describe`), and rows as records.
//!
//! Lookup columns are read as `_x_value` and written as `x@odata.bind` (or
//! `x_{target}@odata.bind` for lookups to several tables, bound to the first target);
//! crmsync sees them under their column name `x` with the target row's GUID.

use std::{collections::BTreeMap, sync::Arc};

use chrono::{DateTime, Utc};
use crmsync_core::{
    Error, ErrorKind, FieldSchema, FieldType, Fields, ObjectKind, ObjectSchema, Record, Result,
};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::{
    DynamicsProvider,
    core::encode_query,
    odata::{Filter, validate_column},
};

/// One table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Table {
    pub set: String,
    pub logical: String,
    pub id: String,
}

/// The standard tables crmsync knows without asking.
pub(crate) fn standard(set: &str) -> Option<Table> {
    let (logical, id) = match set {
        "contacts" => ("contact", "contactid"),
        "accounts" => ("account", "accountid"),
        "leads" => ("lead", "leadid"),
        "opportunities" => ("opportunity", "opportunityid"),
        "phonecalls" => ("phonecall", "activityid"),
        "tasks" => ("task", "activityid"),
        "appointments" => ("appointment", "activityid"),
        "emails" => ("email", "activityid"),
        "systemusers" => ("systemuser", "systemuserid"),
        _ => return None,
    };
    Some(Table {
        set: set.to_owned(),
        logical: logical.to_owned(),
        id: id.to_owned(),
    })
}

/// The entity set of a logical name, for the standard tables (lookup targets).
fn set_of(logical: &str) -> String {
    match logical {
        "opportunity" => "opportunities".into(),
        other => format!("{other}s"),
    }
}

/// `EntityDefinitions` entries.
#[derive(Debug, Deserialize)]
struct Definitions {
    #[serde(default)]
    value: Vec<Definition>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    logical_name: String,
    entity_set_name: Option<String>,
    primary_id_attribute: Option<String>,
}

/// One column's metadata (`AttributeMetadata` and its derived types).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Attribute {
    pub logical_name: String,
    #[serde(default)]
    pub attribute_type: Option<String>,
    #[serde(default)]
    display_name: Option<Value>,
    #[serde(default)]
    required_level: Option<Value>,
    #[serde(default)]
    is_custom_attribute: Option<bool>,
    #[serde(default)]
    is_valid_for_create: Option<bool>,
    #[serde(default)]
    is_valid_for_update: Option<bool>,
    #[serde(default)]
    attribute_of: Option<String>,
    #[serde(default)]
    pub targets: Option<Vec<String>>,
    #[serde(default)]
    format_name: Option<Value>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    option_set: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Attributes {
    #[serde(default)]
    value: Vec<Attribute>,
}

impl Attribute {
    pub(crate) fn is_lookup(&self) -> bool {
        matches!(
            self.attribute_type.as_deref(),
            Some("Lookup" | "Customer" | "Owner")
        )
    }

    fn label(&self) -> String {
        self.display_name
            .as_ref()
            .and_then(|d| d.get("UserLocalizedLabel"))
            .and_then(|l| l.get("Label"))
            .and_then(Value::as_str)
            .map_or_else(|| self.logical_name.clone(), str::to_owned)
    }

    fn field_type(&self) -> FieldType {
        let format = self
            .format_name
            .as_ref()
            .and_then(|f| f.get("Value"))
            .and_then(Value::as_str);
        match (self.attribute_type.as_deref().unwrap_or(""), format) {
            ("String", Some("Email")) => FieldType::Email,
            ("String", Some("Phone")) => FieldType::Phone,
            ("String" | "Memo", _) => FieldType::String,
            ("Integer" | "BigInt" | "Decimal" | "Double" | "Money", _) => FieldType::Number,
            ("Boolean", _) => FieldType::Boolean,
            ("DateTime", _) if self.format.as_deref() == Some("DateOnly") => FieldType::Date,
            ("DateTime", _) => FieldType::DateTime,
            ("Picklist" | "State" | "Status" | "MultiSelectPicklist", _) => FieldType::Enumeration,
            ("Lookup" | "Customer" | "Owner", _) => FieldType::Reference,
            (other, _) => FieldType::Other(other.to_owned()),
        }
    }

    fn options(&self) -> Vec<String> {
        self.option_set
            .as_ref()
            .and_then(|o| o.get("Options"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|o| o.get("Value").and_then(Value::as_i64))
                    .map(|v| v.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What the provider remembers of a table's columns.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    pub by_name: BTreeMap<String, Attribute>,
}

impl Columns {
    pub(crate) fn is_lookup(&self, name: &str) -> bool {
        self.by_name.get(name).is_some_and(Attribute::is_lookup)
    }

    /// `x@odata.bind` (or `x_{target}@odata.bind`) and `/{set}({id})` for a lookup.
    pub(crate) fn bind(&self, name: &str, id: &str) -> Option<(String, String)> {
        let attr = self.by_name.get(name)?;
        let targets = attr.targets.clone().unwrap_or_default();
        let target = targets.first()?;
        let nav = if targets.len() > 1 {
            format!("{name}_{target}@odata.bind")
        } else {
            format!("{name}@odata.bind")
        };
        Some((nav, format!("/{}({id})", set_of(target))))
    }
}

impl DynamicsProvider {
    /// `/api/data/v9.2/{rest}`.
    pub(crate) fn api_path(&self, rest: &str) -> String {
        format!("/api/data/v{}/{rest}", self.config.api_version)
    }

    /// The table for `object`: built in, or looked up by entity set name once.
    pub(crate) async fn table(&self, object: &ObjectKind) -> Result<Arc<Table>> {
        let set = self.config.entity_set(object);
        validate_column(&set).map_err(|e| Error::new(ErrorKind::Config, e.message().to_owned()))?;
        if let Some(t) = self.cached_table(&set) {
            return Ok(t);
        }
        let table = match standard(&set) {
            Some(t) => t,
            None => {
                let filter = Filter::eq("EntitySetName", set.as_str()).build()?;
                let path = self.api_path(&format!(
                    "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute&$filter={}",
                    encode_query(&filter)
                ));
                let defs: Definitions = self
                    .get_json("dynamics.entity_definitions", &path, &[])
                    .await?
                    .1;
                let def = defs
                    .value
                    .into_iter()
                    .find(|d| d.entity_set_name.as_deref() == Some(set.as_str()))
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Config,
                            format!("no Dataverse table has the entity set name `{set}`"),
                        )
                    })?;
                Table {
                    id: def
                        .primary_id_attribute
                        .unwrap_or_else(|| format!("{}id", def.logical_name)),
                    logical: def.logical_name,
                    set: set.clone(),
                }
            }
        };
        let table = Arc::new(table);
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(set, table.clone());
        Ok(table)
    }

    fn cached_table(&self, set: &str) -> Option<Arc<Table>> {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(set)
            .cloned()
    }

    /// Reads a table's columns and remembers them.
    pub(crate) async fn describe_table(&self, table: &Table) -> Result<Vec<Attribute>> {
        let path = self.api_path(&format!(
            "EntityDefinitions(LogicalName='{}')/Attributes",
            table.logical
        ));
        let attrs: Attributes = self.get_json("dynamics.describe", &path, &[]).await?.1;
        let columns = Columns {
            by_name: attrs
                .value
                .iter()
                .map(|a| (a.logical_name.clone(), a.clone()))
                .collect(),
        };
        self.columns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(table.logical.clone(), Arc::new(columns));
        Ok(attrs.value)
    }

    /// A table's columns, described once per provider.
    pub(crate) async fn columns(&self, table: &Table) -> Result<Arc<Columns>> {
        let cached = self
            .columns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&table.logical)
            .cloned();
        if let Some(c) = cached {
            return Ok(c);
        }
        self.describe_table(table).await?;
        Ok(self
            .columns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&table.logical)
            .cloned()
            .unwrap_or_default())
    }

    /// `$select` for the caller's fields (lookups as `_x_value`), with the primary key
    /// and `modifiedon`; `None` (every column) when the caller names none.
    pub(crate) async fn select(&self, table: &Table, fields: &[String]) -> Result<Option<String>> {
        if fields.is_empty() {
            return Ok(None);
        }
        let columns = self.columns(table).await?;
        let mut out: Vec<String> = Vec::with_capacity(fields.len() + 2);
        for name in fields
            .iter()
            .map(String::as_str)
            .chain([table.id.as_str(), "modifiedon"])
        {
            validate_column(name)?;
            let column = if columns.is_lookup(name) {
                format!("_{name}_value")
            } else {
                name.to_owned()
            };
            if !out.contains(&column) {
                out.push(column);
            }
        }
        Ok(Some(out.join(",")))
    }
}

/// A describe result as an [`ObjectSchema`]; columns that are part of another
/// (`AttributeOf`) and virtual ones are left out.
pub(crate) fn to_schema(object: &ObjectKind, attrs: Vec<Attribute>) -> ObjectSchema {
    let fields = attrs
        .into_iter()
        .filter(|a| a.attribute_of.is_none() && a.attribute_type.as_deref() != Some("Virtual"))
        .map(|a| {
            let level = a
                .required_level
                .as_ref()
                .and_then(|r| r.get("Value"))
                .and_then(Value::as_str)
                .unwrap_or("None");
            FieldSchema {
                label: a.label(),
                field_type: a.field_type(),
                required: matches!(level, "SystemRequired" | "ApplicationRequired")
                    && a.is_valid_for_create.unwrap_or(true)
                    && a.attribute_type.as_deref() != Some("Uniqueidentifier"),
                read_only: !a.is_valid_for_update.unwrap_or(false),
                custom: a.is_custom_attribute.unwrap_or(false),
                options: a.options(),
                name: a.logical_name,
            }
        })
        .collect();
    ObjectSchema {
        object: object.clone(),
        fields,
    }
}

pub(crate) fn parse_instant(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A row as a crmsync [`Record`]: annotations dropped, `_x_value` renamed `x`, `null`
/// dropped; the primary key, `modifiedon` and `versionnumber` stay among the fields only
/// when `requested` names them.
pub(crate) fn to_record(
    object: &ObjectKind,
    table: &Table,
    row: Map<String, Value>,
    requested: &[String],
) -> Result<Record> {
    let id = match row.get(&table.id) {
        Some(Value::String(id)) if !id.is_empty() => id.to_ascii_lowercase(),
        _ => {
            return Err(Error::new(
                ErrorKind::Decode,
                format!(
                    "a Dataverse {} row came without `{}`",
                    table.logical, table.id
                ),
            ));
        }
    };
    let modified_at = row
        .get("modifiedon")
        .and_then(Value::as_str)
        .and_then(parse_instant);
    let mut fields = Fields::new();
    for (name, value) in row {
        if name.contains('@') || value.is_null() {
            continue;
        }
        let name = match name
            .strip_prefix('_')
            .and_then(|n| n.strip_suffix("_value"))
        {
            Some(lookup) => lookup.to_owned(),
            None => name,
        };
        let system = name == table.id || name == "modifiedon" || name == "versionnumber";
        if system && !requested.contains(&name) {
            continue;
        }
        fields.insert(name, value);
    }
    Ok(Record {
        id: id.into(),
        object: object.clone(),
        fields,
        modified_at,
        deleted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contact() -> Table {
        standard("contacts").unwrap_or_else(|| panic!())
    }

    #[test]
    fn rows_drop_annotations_and_rename_lookups() {
        let Value::Object(row) = json!({
            "@odata.etag": "W/\"123\"",
            "contactid": "7A1B2C3D-0000-0000-0000-000000000001",
            "firstname": "Ada",
            "mobilephone": null,
            "_parentcustomerid_value": "00000000-0000-0000-0000-0000000000aa",
            "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
            "modifiedon": "2024-05-01T10:00:00Z",
        }) else {
            panic!()
        };
        let r = to_record(&ObjectKind::Contact, &contact(), row, &["firstname".into()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.id.as_str(), "7a1b2c3d-0000-0000-0000-000000000001");
        assert!(r.modified_at.is_some());
        assert_eq!(r.fields.get("firstname"), Some(&json!("Ada")));
        assert_eq!(
            r.fields.get("parentcustomerid"),
            Some(&json!("00000000-0000-0000-0000-0000000000aa"))
        );
        assert_eq!(r.fields.len(), 2, "{:?}", r.fields);
        let Value::Object(bad) = json!({"firstname": "x"}) else {
            panic!()
        };
        assert_eq!(
            to_record(&ObjectKind::Contact, &contact(), bad, &[])
                .map(|_| ())
                .map_err(|e| e.kind()),
            Err(ErrorKind::Decode)
        );
    }

    #[test]
    fn describe_maps_types_requirements_and_lookups() {
        let attrs: Attributes = serde_json::from_value(json!({"value": [
            {"LogicalName": "lastname", "AttributeType": "String", "RequiredLevel": {"Value": "ApplicationRequired"},
             "IsCustomAttribute": false, "IsValidForCreate": true, "IsValidForUpdate": true,
             "DisplayName": {"UserLocalizedLabel": {"Label": "Last Name"}}},
            {"LogicalName": "emailaddress1", "AttributeType": "String", "FormatName": {"Value": "Email"},
             "IsValidForCreate": true, "IsValidForUpdate": true},
            {"LogicalName": "parentcustomerid", "AttributeType": "Customer", "Targets": ["account", "contact"],
             "IsValidForCreate": true, "IsValidForUpdate": true},
            {"LogicalName": "estimatedclosedate", "AttributeType": "DateTime", "Format": "DateOnly", "IsValidForUpdate": true},
            {"LogicalName": "industrycode", "AttributeType": "Picklist", "IsValidForUpdate": true,
             "OptionSet": {"Options": [{"Value": 1}, {"Value": 6}]}},
            {"LogicalName": "modifiedon", "AttributeType": "DateTime", "IsValidForUpdate": false},
            {"LogicalName": "parentcustomeridname", "AttributeType": "String", "AttributeOf": "parentcustomerid"},
            {"LogicalName": "new_score", "AttributeType": "Integer", "IsCustomAttribute": true, "IsValidForUpdate": true}
        ]}))
        .unwrap_or_else(|e| panic!("{e}"));
        let columns = Columns {
            by_name: attrs
                .value
                .iter()
                .map(|a| (a.logical_name.clone(), a.clone()))
                .collect(),
        };
        assert_eq!(
            columns.bind("parentcustomerid", "g"),
            Some((
                "parentcustomerid_account@odata.bind".into(),
                "/accounts(g)".into()
            ))
        );
        let schema = to_schema(&ObjectKind::Contact, attrs.value);
        let last = schema.field("lastname").unwrap_or_else(|| panic!());
        assert!(last.required && !last.read_only && !last.custom);
        assert_eq!(last.label, "Last Name");
        assert_eq!(
            schema.field("emailaddress1").map(|f| f.field_type.clone()),
            Some(FieldType::Email)
        );
        assert_eq!(
            schema
                .field("parentcustomerid")
                .map(|f| f.field_type.clone()),
            Some(FieldType::Reference)
        );
        assert_eq!(
            schema
                .field("estimatedclosedate")
                .map(|f| f.field_type.clone()),
            Some(FieldType::Date)
        );
        assert_eq!(
            schema.field("industrycode").map(|f| f.options.clone()),
            Some(vec!["1".into(), "6".into()])
        );
        assert!(schema.field("modifiedon").is_some_and(|f| f.read_only));
        assert!(schema.field("parentcustomeridname").is_none());
        assert!(schema.field("new_score").is_some_and(|f| f.custom));
    }
}
