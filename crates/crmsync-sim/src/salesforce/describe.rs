//! `describe` metadata, built from the schema: the global object list, an object's basic
//! info, and its full field list with Salesforce's property names.

use serde_json::{Map, Value, json};

use super::schema::{self, FieldDef, FieldType, OBJECTS, ObjectDef, ObjectKind};

fn urls(def: &ObjectDef, version: &str) -> Value {
    let base = format!("/services/data/v{version}/sobjects/{}", def.name);
    json!({
        "sobject": base,
        "describe": format!("{base}/describe"),
        "rowTemplate": format!("{base}/{{ID}}"),
    })
}

/// The object-level properties `GET /sobjects` and `describe` share.
fn object_summary(def: &ObjectDef, version: &str) -> Map<String, Value> {
    let mut map = Map::new();
    let mut put = |k: &str, v: Value| {
        map.insert(k.to_string(), v);
    };
    put("name", json!(def.name));
    put("label", json!(def.label));
    put("labelPlural", json!(def.label_plural));
    put("keyPrefix", json!(def.key_prefix));
    put("custom", json!(false));
    put("customSetting", json!(false));
    for flag in [
        "activateable",
        "createable",
        "deletable",
        "layoutable",
        "mergeable",
        "queryable",
        "replicateable",
        "retrieveable",
        "searchable",
        "triggerable",
        "undeletable",
        "updateable",
    ] {
        put(flag, json!(flag != "activateable"));
    }
    put("deprecatedAndHidden", json!(false));
    put("feedEnabled", json!(true));
    put("urls", urls(def, version));
    map
}

/// `GET /sobjects`.
pub(crate) fn global(version: &str) -> Value {
    json!({
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": OBJECTS.iter().map(|d| Value::Object(object_summary(d, version))).collect::<Vec<_>>(),
    })
}

/// `GET /sobjects/{T}`: basic info and recent items.
pub(crate) fn basic(kind: ObjectKind, version: &str) -> Value {
    json!({
        "objectDescribe": Value::Object(object_summary(schema::def(kind), version)),
        "recentItems": [],
    })
}

fn field(f: &FieldDef) -> Value {
    let text = f.ty.is_text();
    let (precision, scale, digits) = match f.ty {
        FieldType::Currency | FieldType::Double => (18, 2, 0),
        FieldType::Percent => (3, 0, 0),
        FieldType::Int => (0, 0, 9),
        _ => (0, 0, 0),
    };
    let picklist: Vec<Value> = f
        .picklist
        .iter()
        .map(|v| {
            json!({
                "active": true,
                "defaultValue": f.default == Some(*v),
                "label": v,
                "validFor": null,
                "value": v,
            })
        })
        .collect();
    json!({
        "name": f.name,
        "label": f.label,
        "type": f.ty.api_name(),
        "soapType": f.ty.soap_type(),
        "length": if text { f.length } else { 0 },
        "byteLength": if text { f.length * 3 } else { 0 },
        "precision": precision,
        "scale": scale,
        "digits": digits,
        "nillable": f.nillable,
        "createable": f.createable,
        "updateable": f.updateable,
        "custom": f.custom,
        "externalId": f.external_id,
        "unique": f.unique,
        "idLookup": f.ty == FieldType::Id || f.external_id || f.ty == FieldType::Email,
        "nameField": f.name_field,
        "calculated": false,
        "autoNumber": false,
        "caseSensitive": false,
        "defaultedOnCreate": f.default.is_some() || f.ty == FieldType::Id,
        "defaultValue": match (f.default, f.ty) {
            (Some(d), FieldType::Boolean) => json!(d == "true"),
            (Some(d), FieldType::Picklist) => json!(d),
            _ => Value::Null,
        },
        "filterable": f.ty != FieldType::TextArea,
        "sortable": f.ty != FieldType::TextArea,
        "groupable": !matches!(f.ty, FieldType::TextArea | FieldType::DateTime | FieldType::Double | FieldType::Currency | FieldType::Percent),
        "htmlFormatted": false,
        "dependentPicklist": false,
        "restrictedPicklist": f.ty == FieldType::Picklist,
        "picklistValues": picklist,
        "referenceTo": f.reference_to,
        "relationshipName": f.relationship,
        "polymorphicForeignKey": f.reference_to.len() > 1,
        "deprecatedAndHidden": false,
        "inlineHelpText": null,
    })
}

/// `GET /sobjects/{T}/describe`.
pub(crate) fn describe(kind: ObjectKind, version: &str) -> Value {
    let def = schema::def(kind);
    let mut map = object_summary(def, version);
    map.insert(
        "fields".into(),
        Value::Array(def.fields.iter().map(field).collect()),
    );
    let children: Vec<Value> = OBJECTS
        .iter()
        .flat_map(|child| {
            child
                .fields
                .iter()
                .filter(|f| f.reference_to.contains(&def.name))
                .map(move |f| {
                    json!({
                        "childSObject": child.name,
                        "field": f.name,
                        "relationshipName": format!("{}s", child.name).replace("Opportunitys", "Opportunities"),
                        "cascadeDelete": false,
                    })
                })
        })
        .collect();
    map.insert("childRelationships".into(), Value::Array(children));
    map.insert(
        "recordTypeInfos".into(),
        json!([{
            "available": true,
            "defaultRecordTypeMapping": true,
            "master": true,
            "name": "Master",
            "recordTypeId": "012000000000000AAA",
        }]),
    );
    Value::Object(map)
}
