//! sObject Collections: `/composite/sobjects` create (POST), update (PATCH), delete (DELETE
//! `?ids=`), upsert by external id (PATCH `/{T}/{field}`) and retrieve (GET/POST `/{T}`).
//!
//! A well-formed request answers 200 with one ordered result per record; with
//! `allOrNone: true` one failure rolls every other record back
//! (`ALL_OR_NONE_OPERATION_ROLLED_BACK`), reference §2.4.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::sobjects::{field_selection, parse_fields};
use super::{Call, Ctx, object_of, parse_json};
use crate::salesforce::errors::{ApiError, RecordError, Reply};
use crate::salesforce::ids;
use crate::salesforce::render::RowJson;
use crate::salesforce::schema::{self, ID, ObjectKind};
use crate::salesforce::store::{Store, Undo};
use crate::salesforce::values::{self, Val};

/// Most ids one retrieve may name.
const MAX_RETRIEVE: usize = 2000;

#[derive(Deserialize)]
struct Batch {
    #[serde(default, rename = "allOrNone")]
    all_or_none: bool,
    #[serde(default)]
    records: Vec<Value>,
}

/// One record of a write, checked for shape before anything is written.
struct Item {
    kind: ObjectKind,
    /// The `Id` the record names, if any (raw).
    id: Option<String>,
    given: Vec<(usize, Val)>,
}

/// The outcome of one record.
struct Outcome {
    id: Option<String>,
    result: Result<Option<bool>, RecordError>,
}

impl Outcome {
    fn to_json(&self) -> Value {
        let mut v = match &self.result {
            Ok(_) => json!({"success": true, "errors": []}),
            Err(e) => json!({"success": false, "errors": [e.to_json()]}),
        };
        if let Some(id) = &self.id {
            v["id"] = json!(id);
        }
        if let Ok(Some(created)) = &self.result {
            v["created"] = json!(created);
        }
        v
    }
}

fn too_many(max: usize) -> ApiError {
    ApiError::bad_request(
        "EXCEEDED_ID_LIMIT",
        format!("record limit reached. cannot submit more than {max} records into this call"),
    )
}

/// Reads `records[]`: every one an object with `attributes.type` (or `default_type`).
fn items(records: &[Value], default_type: Option<ObjectKind>) -> Result<Vec<Item>, ApiError> {
    records
        .iter()
        .map(|r| {
            let Value::Object(map) = r else {
                return Err(ApiError::json_parser("Each record must be a JSON object"));
            };
            let kind = match map.get("attributes").and_then(|a| a.get("type")) {
                Some(Value::String(t)) => object_of(t)?,
                _ => default_type.ok_or_else(|| {
                    ApiError::bad_request(
                        "INVALID_TYPE",
                        "No SObject Type defined in insert/update",
                    )
                })?,
            };
            let mut map = map.clone();
            let id_key = map.keys().find(|k| k.eq_ignore_ascii_case("Id")).cloned();
            let id = id_key
                .and_then(|k| map.remove(&k))
                .and_then(|v| v.as_str().map(str::to_string));
            Ok(Item {
                kind,
                id,
                given: parse_fields(kind, &map)?,
            })
        })
        .collect()
}

/// Applies `op` to every item in one transaction, rolling back all of it when `all_or_none`
/// and anything failed.
fn apply(
    ctx: &mut Ctx<'_>,
    items: &[Item],
    all_or_none: bool,
    op: impl Fn(&mut Store, &mut Vec<Undo>, &Item) -> Outcome,
) -> Reply {
    let outcomes: Vec<Outcome> = ctx.db.write(|store, undo| {
        let mark = undo.len();
        let mut outcomes: Vec<Outcome> = items.iter().map(|item| op(store, undo, item)).collect();
        if all_or_none && outcomes.iter().any(|o| o.result.is_err()) {
            store.rollback(undo.split_off(mark));
            for (o, item) in outcomes.iter_mut().zip(items) {
                if o.result.is_ok() {
                    o.result = Err(RecordError::new(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request \
                         was using AllOrNone header",
                        vec![],
                    ));
                    // A rolled-back create leaves no record behind to name.
                    if item.id.is_none() {
                        o.id = None;
                    }
                }
            }
        }
        outcomes
    });
    let body: Vec<Value> = outcomes.iter().map(Outcome::to_json).collect();
    Reply::json(StatusCode::OK, &body)
}

/// A record id checked for an update or delete of `kind` (any kind when `None`).
fn checked_id(raw: &str, kind: Option<ObjectKind>) -> Result<(ObjectKind, String), RecordError> {
    let id = ids::normalize(raw).ok_or_else(|| RecordError::malformed_id(raw))?;
    let owner = schema::object_by_prefix(ids::prefix(&id)).ok_or_else(RecordError::invalid_id)?;
    if kind.is_some_and(|k| k != owner) {
        return Err(RecordError::malformed_id(raw));
    }
    Ok((owner, id))
}

/// `POST`, `PATCH` and `DELETE /composite/sobjects`.
pub(crate) fn write(ctx: &mut Ctx<'_>, call: &Call<'_>) -> Result<Reply, ApiError> {
    let max = ctx.shared.config.max_collection;
    let now = values::now_ms();
    if call.method.as_str() == "DELETE" {
        let raw = call.query.list("ids");
        if raw.is_empty() {
            return Err(ApiError::bad_request(
                "MISSING_ARGUMENT",
                "ids parameter is required",
            ));
        }
        if raw.len() > max {
            return Err(too_many(max));
        }
        let items: Vec<Item> = raw
            .into_iter()
            .map(|id| Item {
                kind: 0,
                id: Some(id),
                given: Vec::new(),
            })
            .collect();
        return Ok(apply(
            ctx,
            &items,
            call.query.flag("allOrNone"),
            |store, undo, item| {
                let raw = item.id.clone().unwrap_or_default();
                let result = checked_id(&raw, None)
                    .and_then(|(kind, id)| store.delete(kind, &id, now, undo).map(|()| id));
                match result {
                    Ok(id) => Outcome {
                        id: Some(id),
                        result: Ok(None),
                    },
                    Err(e) => Outcome {
                        id: Some(raw),
                        result: Err(e),
                    },
                }
            },
        ));
    }
    let batch: Batch = parse_json(call.body)?;
    if batch.records.len() > max {
        return Err(too_many(max));
    }
    let items = items(&batch.records, None)?;
    if call.method.as_str() == "POST" {
        Ok(apply(
            ctx,
            &items,
            batch.all_or_none,
            |store, undo, item| {
                if item.id.is_some() {
                    return Outcome {
                        id: None,
                        result: Err(RecordError::new(
                            "INVALID_FIELD",
                            "cannot specify Id in an insert call",
                            vec!["Id".to_string()],
                        )),
                    };
                }
                match store.insert(item.kind, &item.given, now, now, undo) {
                    Ok(id) => Outcome {
                        id: Some(id),
                        result: Ok(None),
                    },
                    Err(e) => Outcome {
                        id: None,
                        result: Err(e),
                    },
                }
            },
        ))
    } else {
        Ok(apply(
            ctx,
            &items,
            batch.all_or_none,
            |store, undo, item| {
                let Some(raw) = item.id.clone() else {
                    return Outcome {
                        id: None,
                        result: Err(RecordError::new(
                            "MISSING_ARGUMENT",
                            "Id not specified in an update call",
                            vec![],
                        )),
                    };
                };
                let result = checked_id(&raw, Some(item.kind)).and_then(|(kind, id)| {
                    store.update(kind, &id, &item.given, now, undo).map(|()| id)
                });
                match result {
                    Ok(id) => Outcome {
                        id: Some(id),
                        result: Ok(None),
                    },
                    Err(e) => Outcome {
                        id: Some(raw),
                        result: Err(e),
                    },
                }
            },
        ))
    }
}

/// `PATCH /composite/sobjects/{T}/{externalIdField}`: results carry `created`.
pub(crate) fn upsert(
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    object: &str,
    field: &str,
) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    let def = schema::def(kind);
    let fi = def
        .field(field)
        .filter(|&i| i == ID || def.fields[i].external_id)
        .ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_FIELD",
                format!(
                    "Field name provided, {field} is not an External ID or indexed field for {}",
                    def.name
                ),
            )
        })?;
    let max = ctx.shared.config.max_collection;
    let batch: Batch = parse_json(call.body)?;
    if batch.records.len() > max {
        return Err(too_many(max));
    }
    let items = items(&batch.records, Some(kind))?;
    if items.iter().any(|item| item.kind != kind) {
        return Err(ApiError::bad_request(
            "INVALID_TYPE",
            format!("Every record of this upsert must be of type {}", def.name),
        ));
    }
    let now = values::now_ms();
    let field_name = def.fields[fi].name;
    Ok(apply(
        ctx,
        &items,
        batch.all_or_none,
        |store, undo, item| {
            let key = if fi == ID {
                item.id
                    .clone()
                    .and_then(|raw| ids::normalize(&raw))
                    .map(Val::Str)
            } else {
                item.given
                    .iter()
                    .find(|(i, _)| *i == fi)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_null())
            };
            let Some(key) = key else {
                return Outcome {
                    id: None,
                    result: Err(RecordError::new(
                        "MISSING_ARGUMENT",
                        format!("{field_name} not specified"),
                        vec![],
                    )),
                };
            };
            let found = if fi == ID {
                key.as_str()
                    .filter(|id| store.get(kind, id).is_some_and(|r| !r.is_deleted()))
                    .map(|id| vec![id.to_string()])
                    .unwrap_or_default()
            } else {
                store.find_by(kind, fi, &key)
            };
            let result = match found.as_slice() {
                [] if fi == ID => Err(RecordError::invalid_id()),
                [] => store
                    .insert(item.kind, &item.given, now, now, undo)
                    .map(|id| (id, true)),
                [id] => store
                    .update(kind, id, &item.given, now, undo)
                    .map(|()| (id.clone(), false)),
                several => Err(RecordError::new(
                    "DUPLICATE_EXTERNAL_ID",
                    format!(
                        "{field_name}: more than one record found for external id field: [{}]",
                        several.join(", ")
                    ),
                    vec![field_name.to_string()],
                )),
            };
            match result {
                Ok((id, created)) => Outcome {
                    id: Some(id),
                    result: Ok(Some(created)),
                },
                Err(e) => Outcome {
                    id: None,
                    result: Err(e),
                },
            }
        },
    ))
}

#[derive(Deserialize)]
struct RetrieveBody {
    #[serde(default)]
    ids: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
}

/// `GET /composite/sobjects/{T}?ids=&fields=` and its POST form: records in the order
/// asked, `null` for ids that name no live record.
pub(crate) fn retrieve(
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    object: &str,
) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    let (ids_raw, fields) = if call.method.as_str() == "POST" {
        let body: RetrieveBody = parse_json(call.body)?;
        (body.ids, body.fields)
    } else {
        (call.query.list("ids"), call.query.list("fields"))
    };
    if fields.is_empty() {
        return Err(ApiError::bad_request(
            "MISSING_ARGUMENT",
            "fields parameter is required",
        ));
    }
    if ids_raw.is_empty() {
        return Err(ApiError::bad_request(
            "MISSING_ARGUMENT",
            "ids parameter is required",
        ));
    }
    if ids_raw.len() > MAX_RETRIEVE {
        return Err(too_many(MAX_RETRIEVE));
    }
    let columns = field_selection(kind, &fields)?;
    let version = call.version.as_str();
    Ok(ctx.db.read(|store| {
        let rows: Vec<Option<RowJson<'_>>> = ids_raw
            .iter()
            .map(|raw| {
                let id = ids::normalize(raw)?;
                let record = store.get(kind, &id).filter(|r| !r.is_deleted())?;
                Some(RowJson {
                    store,
                    kind,
                    record,
                    columns: &columns,
                    version,
                })
            })
            .collect();
        Reply::json(StatusCode::OK, &rows)
    }))
}
