//! `/sobjects`: the object list, describe, single-record CRUD, upsert by external id, and the
//! `updated` / `deleted` replication resources.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{Call, Ctx, object_of, parse_json};
use crate::salesforce::describe;
use crate::salesforce::errors::{ApiError, RecordError, Reply};
use crate::salesforce::ids;
use crate::salesforce::render::{RowJson, all_columns};
use crate::salesforce::schema::{self, ID, ObjectKind};
use crate::salesforce::soql::Column;
use crate::salesforce::soql::eval::Selected;
use crate::salesforce::store::Store;
use crate::salesforce::values::{self, Val};

/// Most ids `updated` and `deleted` return (reference §2.3).
const MAX_REPLICATION_IDS: usize = 600_000;

/// Converts a JSON record into field values: `attributes` is skipped, an unknown field is a
/// 400 `INVALID_FIELD`, a value of the wrong type a 400 `JSON_PARSER_ERROR`.
pub(crate) fn parse_fields(
    kind: ObjectKind,
    body: &Map<String, Value>,
) -> Result<Vec<(usize, Val)>, ApiError> {
    let def = schema::def(kind);
    let mut out = Vec::with_capacity(body.len());
    for (name, value) in body {
        if name == "attributes" {
            continue;
        }
        let i = def
            .field(name)
            .ok_or_else(|| ApiError::no_such_column(name, def.name))?;
        let v = values::from_json(&def.fields[i], value)
            .map_err(|e| ApiError::json_parser(e.message))?;
        out.push((i, v));
    }
    Ok(out)
}

/// A JSON object body (Salesforce refuses arrays and scalars here).
pub(crate) fn object_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match parse_json::<Value>(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::json_parser(
            "Can not deserialize SObject out of a non-object token",
        )),
    }
}

/// The columns `?fields=a,b` names (all fields when absent).
pub(crate) fn field_selection(
    kind: ObjectKind,
    names: &[String],
) -> Result<Vec<Selected>, ApiError> {
    if names.is_empty() {
        return Ok(all_columns(kind));
    }
    let def = schema::def(kind);
    let mut out: Vec<Selected> = Vec::with_capacity(names.len());
    for name in names {
        let i = def
            .field(name)
            .ok_or_else(|| ApiError::no_such_column(name, def.name))?;
        if !out
            .iter()
            .any(|s| matches!(s.column, Column::Field(j) if j == i))
        {
            out.push(Selected {
                label: def.fields[i].name.to_string(),
                column: Column::Field(i),
            });
        }
    }
    Ok(out)
}

/// The single-record answer for a failed write: missing or deleted records are 404s.
fn single_error(err: &RecordError) -> ApiError {
    match err.code {
        "ENTITY_IS_DELETED" if err.fields.is_empty() => ApiError::new(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        ),
        "INVALID_CROSS_REFERENCE_KEY" if err.fields.is_empty() => ApiError::not_found(),
        _ => ApiError::from_record(err),
    }
}

fn saved(id: &str, created: Option<bool>) -> Value {
    let mut v = json!({"id": id, "success": true, "errors": []});
    if let Some(c) = created {
        v["created"] = json!(c);
    }
    v
}

/// `GET /sobjects`.
pub(crate) fn list(call: &Call<'_>) -> Reply {
    Reply::json(StatusCode::OK, &describe::global(&call.version))
}

/// `GET /sobjects/{T}`.
pub(crate) fn object_info(call: &Call<'_>, object: &str) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    Ok(Reply::json(
        StatusCode::OK,
        &describe::basic(kind, &call.version),
    ))
}

/// `GET /sobjects/{T}/describe`.
pub(crate) fn describe(call: &Call<'_>, object: &str) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    Ok(Reply::json(
        StatusCode::OK,
        &describe::describe(kind, &call.version),
    ))
}

/// `POST /sobjects/{T}` → 201 `{id, success, errors}`.
pub(crate) fn create(ctx: &mut Ctx<'_>, call: &Call<'_>, object: &str) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    let given = parse_fields(kind, &object_body(call.body)?)?;
    let now = values::now_ms();
    let id = ctx
        .db
        .write(|store, undo| store.insert(kind, &given, now, now, undo))
        .map_err(|e| ApiError::from_record(&e))?;
    Ok(
        Reply::json(StatusCode::CREATED, &saved(&id, None)).with_header(
            axum::http::header::LOCATION,
            format!(
                "/services/data/v{}/sobjects/{}/{id}",
                call.version,
                schema::def(kind).name
            ),
        ),
    )
}

fn render_one(
    store: &Store,
    kind: ObjectKind,
    id: &str,
    columns: &[Selected],
    version: &str,
) -> Result<Reply, ApiError> {
    match store.get(kind, id) {
        None => Err(ApiError::not_found()),
        Some(r) if r.is_deleted() => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        )),
        Some(record) => Ok(Reply::json(
            StatusCode::OK,
            &RowJson {
                store,
                kind,
                record,
                columns,
                version,
            },
        )),
    }
}

/// `GET/PATCH/DELETE /sobjects/{T}/{id}`.
pub(crate) fn record(
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    object: &str,
    raw_id: &str,
) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    let id = ids::normalize(raw_id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {raw_id}"),
        )
    })?;
    if ids::prefix(&id) != schema::def(kind).key_prefix {
        return Err(ApiError::not_found());
    }
    let now = values::now_ms();
    match call.method.as_str() {
        "PATCH" => {
            let mut body = object_body(call.body)?;
            body.retain(|k, _| !k.eq_ignore_ascii_case("Id"));
            let given = parse_fields(kind, &body)?;
            ctx.db
                .write(|store, undo| store.update(kind, &id, &given, now, undo))
                .map_err(|e| single_error(&e))?;
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        "DELETE" => {
            ctx.db
                .write(|store, undo| store.delete(kind, &id, now, undo))
                .map_err(|e| single_error(&e))?;
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        _ => {
            let columns = field_selection(kind, &call.query.list("fields"))?;
            ctx.db
                .read(|store| render_one(store, kind, &id, &columns, &call.version))
        }
    }
}

/// `GET/PATCH/DELETE /sobjects/{T}/{externalIdField}/{value}`: PATCH is the upsert, 201
/// `created: true` or 200 `created: false` (204 before API 46.0), 300 on several matches.
pub(crate) fn by_external_id(
    ctx: &mut Ctx<'_>,
    call: &Call<'_>,
    object: &str,
    field: &str,
    value: &str,
) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    let def = schema::def(kind);
    let not_external = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {field}"),
        )
    };
    let fi = def
        .field(field)
        .filter(|&i| i == ID || def.fields[i].external_id)
        .ok_or_else(not_external)?;
    let version = call.version.as_str();
    let url = |id: &str| {
        json!(format!(
            "/services/data/v{version}/sobjects/{}/{id}",
            def.name
        ))
    };
    let find = |store: &Store| -> Vec<String> {
        if fi == ID {
            ids::normalize(value)
                .filter(|id| store.get(kind, id).is_some_and(|r| !r.is_deleted()))
                .into_iter()
                .collect()
        } else {
            store.find_by(kind, fi, &Val::Str(value.to_string()))
        }
    };
    let several = |found: &[String]| {
        Reply::json(
            StatusCode::MULTIPLE_CHOICES,
            &found.iter().map(|id| url(id)).collect::<Vec<_>>(),
        )
    };
    let now = values::now_ms();
    match call.method.as_str() {
        "GET" | "HEAD" => {
            let columns = field_selection(kind, &call.query.list("fields"))?;
            ctx.db.read(|store| match find(store).as_slice() {
                [] => Err(ApiError::not_found()),
                [id] => render_one(store, kind, id, &columns, version),
                found => Ok(several(found)),
            })
        }
        "DELETE" => ctx.db.write(|store, undo| match find(store).as_slice() {
            [] => Err(ApiError::not_found()),
            [id] => store
                .delete(kind, id, now, undo)
                .map(|()| Reply::empty(StatusCode::NO_CONTENT))
                .map_err(|e| single_error(&e)),
            found => Ok(several(found)),
        }),
        _ => {
            let mut body = object_body(call.body)?;
            if let Some(key) = body
                .keys()
                .find(|k| k.eq_ignore_ascii_case(def.fields[fi].name))
                .cloned()
            {
                let same = body
                    .get(&key)
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.eq_ignore_ascii_case(value));
                if !same {
                    return Err(ApiError::bad_request(
                        "INVALID_FIELD",
                        format!(
                            "The external ID field {} in the body must match the value in the URL",
                            def.fields[fi].name
                        ),
                    ));
                }
                body.remove(&key);
            }
            let mut given = parse_fields(kind, &body)?;
            let update_only = call.query.flag("updateOnly");
            let with_created = call.version_number() >= 46.0;
            ctx.db.write(|store, undo| match find(store).as_slice() {
                [] if fi == ID || update_only => Err(ApiError::not_found()),
                [] => {
                    given.push((fi, Val::Str(value.to_string())));
                    let id = store
                        .insert(kind, &given, now, now, undo)
                        .map_err(|e| ApiError::from_record(&e))?;
                    Ok(Reply::json(
                        StatusCode::CREATED,
                        &saved(&id, with_created.then_some(true)),
                    ))
                }
                [id] => {
                    store
                        .update(kind, id, &given, now, undo)
                        .map_err(|e| single_error(&e))?;
                    Ok(if with_created {
                        Reply::json(StatusCode::OK, &saved(id, Some(false)))
                    } else {
                        Reply::empty(StatusCode::NO_CONTENT)
                    })
                }
                found => Ok(several(found)),
            })
        }
    }
}

/// `[start, end)` of `updated` / `deleted`, rounded down to the minute (Salesforce ignores
/// seconds), and the `latestDateCovered` to report. An `end` in the future is capped at now
/// (changes made up to and including now are covered).
fn window(call: &Call<'_>, days: i64) -> Result<(i64, i64, i64), ApiError> {
    let param = |name: &str| -> Result<i64, ApiError> {
        let raw = call.query.get(name).ok_or_else(|| {
            ApiError::bad_request("MISSING_ARGUMENT", format!("{name} parameter is required"))
        })?;
        // An unencoded `+` of an offset arrives as a space.
        values::parse_datetime(&raw.replace(' ', "+")).ok_or_else(|| {
            ApiError::bad_request(
                "INVALID_REPLICATION_DATE",
                format!("{name}: {raw} is not a valid date-time"),
            )
        })
    };
    let (start, end) = (param("start")?, param("end")?);
    let now = values::now_ms();
    let minute = |ms: i64| ms - ms.rem_euclid(60_000);
    if start >= end {
        return Err(ApiError::bad_request(
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate",
        ));
    }
    if start < now - days * 86_400_000 {
        return Err(ApiError::bad_request(
            "INVALID_REPLICATION_DATE",
            format!("startDate cannot be more than {days} days ago"),
        ));
    }
    let end = minute(end).min(now + 1);
    Ok((minute(start), end, end.min(now)))
}

/// `GET /sobjects/{T}/updated/?start=&end=`: ids whose `SystemModstamp` falls in the window.
pub(crate) fn updated(ctx: &mut Ctx<'_>, call: &Call<'_>, object: &str) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    let (start, end, latest) = window(call, 30)?;
    let ids: Vec<String> = ctx.db.read(|store| {
        store
            .object(kind)
            .records
            .values()
            .filter(|r| !r.is_deleted() && (start..end).contains(&r.modstamp_ms()))
            .map(|r| r.id().to_string())
            .collect()
    });
    if ids.len() > MAX_REPLICATION_IDS {
        return Err(ApiError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "too many ids: narrow the window",
        ));
    }
    Ok(Reply::json(
        StatusCode::OK,
        &json!({"ids": ids, "latestDateCovered": values::rest_datetime(latest)}),
    ))
}

/// `GET /sobjects/{T}/deleted/?start=&end=`: the delete log in the window.
pub(crate) fn deleted(ctx: &mut Ctx<'_>, call: &Call<'_>, object: &str) -> Result<Reply, ApiError> {
    let kind = object_of(object)?;
    let (start, end, latest) = window(call, 15)?;
    let records: Vec<Value> = ctx.db.read(|store| {
        store
            .object(kind)
            .delete_log
            .iter()
            .filter(|(_, at)| (start..end).contains(at))
            .map(|(id, at)| json!({"id": id, "deletedDate": values::rest_datetime(*at)}))
            .collect()
    });
    if records.len() > MAX_REPLICATION_IDS {
        return Err(ApiError::bad_request(
            "EXCEEDED_ID_LIMIT",
            "too many ids: narrow the window",
        ));
    }
    let now = values::now_ms();
    let earliest = now - now.rem_euclid(60_000) - 15 * 86_400_000;
    Ok(Reply::json(
        StatusCode::OK,
        &json!({
            "deletedRecords": records,
            "earliestDateAvailable": values::rest_datetime(earliest),
            "latestDateCovered": values::rest_datetime(latest),
        }),
    ))
}
