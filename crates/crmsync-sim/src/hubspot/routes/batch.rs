//! `POST /crm/v3/objects/{type}/batch/{read|create|update|upsert|archive}`.
//!
//! Status codes follow the spec: read 200/207, create 201 (207 only when every input carries
//! an `objectWriteTraceId` and some fail; otherwise a failure fails the whole batch), update
//! and upsert 200/207, archive 204 with no body. More than `batch_max_inputs` inputs is a 400.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::objects::{AssociationInput, company_from_associations, id_text};
use super::render::{RecordView, Selection};
use super::{AppState, QueryParams, parse_json, resolve_type};
use crate::hubspot::errors::{ApiError, json_body};
use crate::hubspot::schema::ObjectType;
use crate::hubspot::store::{
    self, Store, WriteError, conflict_message, unique_key, unique_properties,
};
use crate::hubspot::time;

#[derive(Deserialize)]
struct Inputs<T> {
    inputs: Vec<T>,
    #[serde(default)]
    properties: Option<Vec<String>>,
    #[serde(default, rename = "propertiesWithHistory")]
    history: Option<Vec<String>>,
    #[serde(default, rename = "idProperty")]
    id_property: Option<String>,
}

#[derive(Deserialize)]
struct IdInput {
    id: Value,
}

#[derive(Deserialize)]
struct CreateInput {
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default)]
    associations: Vec<AssociationInput>,
    #[serde(default, rename = "objectWriteTraceId")]
    trace: Option<String>,
}

#[derive(Deserialize)]
struct WriteInput {
    id: Value,
    #[serde(default, rename = "idProperty")]
    id_property: Option<String>,
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default, rename = "objectWriteTraceId")]
    trace: Option<String>,
}

#[derive(Serialize)]
struct BatchResponse<'a> {
    status: &'static str,
    results: Vec<RecordView<'a>>,
    #[serde(rename = "numErrors", skip_serializing_if = "Option::is_none")]
    num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<Value>>,
    #[serde(rename = "startedAt")]
    started_at: String,
    #[serde(rename = "completedAt")]
    completed_at: String,
}

/// A `StandardError` entry of a 207 answer.
fn standard_error(category: &str, message: impl Into<String>, context: Value) -> Value {
    json!({
        "status": "error",
        "category": category,
        "message": message.into(),
        "context": context,
        "errors": [],
        "links": {},
    })
}

/// The `StandardError` for a failed input, from the error the single-record API would give.
fn entry_from(err: &ApiError, context: Value) -> Value {
    let text = |k: &str| {
        err.body
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    standard_error(&text("category"), text("message"), context)
}

fn respond(
    ok: StatusCode,
    results: Vec<RecordView<'_>>,
    errors: Vec<Value>,
    started: i64,
) -> Response {
    let failed = !errors.is_empty();
    let body = BatchResponse {
        status: "COMPLETE",
        results,
        num_errors: failed.then_some(errors.len()),
        errors: failed.then_some(errors),
        started_at: time::iso(started),
        completed_at: time::iso(time::now_ms()),
    };
    json_body(if failed { StatusCode::MULTI_STATUS } else { ok }, &body)
}

fn check_size(len: usize, max: usize) -> Result<(), ApiError> {
    if len > max {
        return Err(ApiError::validation(format!(
            "Batch input too large: {len} inputs were sent, and a batch request may have at most {max}."
        ))
        .with("context", json!({"inputs": [len.to_string()], "maxInputs": [max.to_string()]})));
    }
    Ok(())
}

/// 400 when two inputs share a key; `shown[i]` names input `i` in the message.
fn duplicate_ids(keys: &[String], shown: &[String]) -> Result<(), ApiError> {
    let mut seen = HashSet::new();
    let dups: Vec<&str> = keys
        .iter()
        .zip(shown)
        .filter(|(key, _)| !seen.insert(key.as_str()))
        .map(|(_, id)| id.as_str())
        .collect();
    if dups.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "Duplicate IDs found in batch input: [{}]. IDs must be unique",
        dups.join(", ")
    )))
}

fn check_id_property(ty: ObjectType, property: &str) -> Result<(), ApiError> {
    if Store::is_id_property(ty, property) {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "Property \"{property}\" is not a unique identifier property for {}",
        ty.plural()
    )))
}

/// Dispatches on `{op}`.
pub(crate) async fn batch(
    State(shared): State<AppState>,
    Path((object_type, op)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let max = shared.config.batch_max_inputs;
    match op.as_str() {
        "read" => read(&shared, ty, &QueryParams::parse(raw.as_deref()), &body, max),
        "create" => create(&shared, ty, &body, max),
        "update" => update(&shared, ty, &body, max),
        "upsert" => upsert(&shared, ty, &body, max),
        "archive" => archive(&shared, ty, &body, max),
        _ => Err(ApiError::missing_scopes()),
    }
}

fn read(
    shared: &AppState,
    ty: ObjectType,
    q: &QueryParams,
    body: &[u8],
    max: usize,
) -> Result<Response, ApiError> {
    let started = time::now_ms();
    let input: Inputs<IdInput> = parse_json(body)?;
    check_size(input.inputs.len(), max)?;
    let property = input
        .id_property
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "hs_object_id".into());
    check_id_property(ty, &property)?;
    let archived = q.flag("archived");
    let props = Selection::new(ty, input.properties.as_deref().unwrap_or_default());
    let history = input.history.unwrap_or_default();

    let store = shared.read();
    let os = store.object(ty);
    let mut seen = HashSet::new();
    let mut missing = Vec::new();
    let mut results = Vec::new();
    for id in input.inputs.iter().map(|i| id_text(&i.id)) {
        let found = if archived {
            (property == "hs_object_id")
                .then(|| store.find_archived(ty, &id))
                .flatten()
        } else {
            store.find(ty, &property, &id)
        };
        let record = found.and_then(|f| {
            if archived {
                os.archived.get(&f)
            } else {
                os.live.get(&f)
            }
        });
        match record {
            Some(r) if seen.insert(r.id) => results.push(RecordView {
                history: &history,
                ..RecordView::plain(ty, r, &props, &store)
            }),
            Some(_) => {}
            None => missing.push(id),
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![standard_error(
            "OBJECT_NOT_FOUND",
            format!(
                "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                ty.upper()
            ),
            json!({"ids": missing}),
        )]
    };
    Ok(respond(StatusCode::OK, results, errors, started))
}

/// Unique values repeated within one batch of creates: the index of each later repeat.
fn repeated_unique_values(
    ty: ObjectType,
    inputs: &[Vec<(String, String)>],
) -> HashMap<usize, (String, String)> {
    let mut seen = HashSet::new();
    let mut out = HashMap::new();
    for (i, values) in inputs.iter().enumerate() {
        for property in unique_properties(ty) {
            if let Some((_, v)) = values.iter().find(|(k, v)| k == property && !v.is_empty()) {
                if !seen.insert((property, unique_key(property, v))) {
                    out.insert(i, (property.to_string(), v.clone()));
                }
            }
        }
    }
    out
}

fn create(
    shared: &AppState,
    ty: ObjectType,
    body: &[u8],
    max: usize,
) -> Result<Response, ApiError> {
    let started = time::now_ms();
    let input: Inputs<CreateInput> = parse_json(body)?;
    check_size(input.inputs.len(), max)?;
    let traced = !input.inputs.is_empty() && input.inputs.iter().all(|i| i.trace.is_some());
    let validated: Vec<Result<Vec<(String, String)>, ApiError>> = input
        .inputs
        .iter()
        .map(|i| store::validate_properties(ty, &i.properties))
        .collect();
    let ok_values: Vec<Vec<(String, String)>> = validated
        .iter()
        .map(|v| v.as_ref().ok().cloned().unwrap_or_default())
        .collect();
    let repeats = repeated_unique_values(ty, &ok_values);

    let mut store = shared.write();
    let mut outcomes: Vec<Result<(), ApiError>> = Vec::with_capacity(validated.len());
    for (i, v) in validated.into_iter().enumerate() {
        let outcome = v.and_then(|values| {
            if let Some(WriteError::Conflict { existing, .. }) =
                store.unique_clash(ty, &values, None)
            {
                return Err(ApiError::conflict(conflict_message(ty, existing)));
            }
            match repeats.get(&i) {
                Some((property, value)) => Err(ApiError::validation(format!(
                    "Duplicate {property} found in batch input: {value}"
                ))),
                None => Ok(()),
            }
        });
        outcomes.push(outcome);
    }
    if !traced {
        // Without trace ids a batch create is all or nothing.
        if let Some(Err(first)) = outcomes.into_iter().find(Result::is_err) {
            return Err(first);
        }
        outcomes = (0..ok_values.len()).map(|_| Ok(())).collect();
    }
    let now = time::now_ms();
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        let trace = input.inputs[i].trace.as_deref();
        let context = json!({"objectWriteTraceId": [trace.unwrap_or_default()]});
        if let Err(err) = outcome {
            errors.push(entry_from(&err, context));
            continue;
        }
        let company = company_from_associations(&store, ty, &input.inputs[i].associations);
        match store.insert(ty, &ok_values[i], company, now, now) {
            Ok(id) => created.push((id, i)),
            Err(err) => errors.push(entry_from(&err.to_api(ty, ""), context)),
        }
    }
    let selections: Vec<Selection> = created
        .iter()
        .map(|(_, i)| Selection::written(ty, ok_values[*i].iter().map(|(k, _)| k.as_str())))
        .collect();
    let results = created
        .iter()
        .zip(&selections)
        .filter_map(|((id, i), props)| {
            let record = store.object(ty).live.get(id)?;
            Some(RecordView {
                trace: input.inputs[*i].trace.as_deref(),
                ..RecordView::plain(ty, record, props, &store)
            })
        })
        .collect();
    Ok(respond(StatusCode::CREATED, results, errors, started))
}

fn update(
    shared: &AppState,
    ty: ObjectType,
    body: &[u8],
    max: usize,
) -> Result<Response, ApiError> {
    let started = time::now_ms();
    let input: Inputs<WriteInput> = parse_json(body)?;
    check_size(input.inputs.len(), max)?;
    let ids: Vec<String> = input.inputs.iter().map(|i| id_text(&i.id)).collect();
    duplicate_ids(&ids, &ids)?;
    let mut values = Vec::with_capacity(ids.len());
    for i in &input.inputs {
        check_id_property(
            ty,
            i.id_property
                .as_deref()
                .filter(|p| !p.is_empty())
                .unwrap_or("hs_object_id"),
        )?;
        values.push(store::validate_properties(ty, &i.properties)?);
    }

    let mut store = shared.write();
    let now = time::now_ms();
    let mut missing = Vec::new();
    let mut errors = Vec::new();
    let mut updated = Vec::new();
    for (i, w) in input.inputs.iter().enumerate() {
        let property = w
            .id_property
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or("hs_object_id");
        let Some(found) = store.find(ty, property, &ids[i]) else {
            missing.push(ids[i].clone());
            continue;
        };
        match store.update(ty, found, &values[i], now) {
            Ok(()) => updated.push((found, i)),
            Err(WriteError::NotFound) => missing.push(ids[i].clone()),
            Err(err) => errors.push(entry_from(
                &err.to_api(ty, &ids[i]),
                json!({"ids": [ids[i]]}),
            )),
        }
    }
    if !missing.is_empty() {
        errors.insert(
            0,
            standard_error(
                "OBJECT_NOT_FOUND",
                format!(
                    "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                    ty.upper()
                ),
                json!({"ids": missing}),
            ),
        );
    }
    let selections: Vec<Selection> = updated
        .iter()
        .map(|(_, i)| Selection::written(ty, values[*i].iter().map(|(k, _)| k.as_str())))
        .collect();
    let results = updated
        .iter()
        .zip(&selections)
        .filter_map(|((id, i), props)| {
            let record = store.object(ty).live.get(id)?;
            Some(RecordView {
                trace: input.inputs[*i].trace.as_deref(),
                ..RecordView::plain(ty, record, props, &store)
            })
        })
        .collect();
    Ok(respond(StatusCode::OK, results, errors, started))
}

fn upsert(
    shared: &AppState,
    ty: ObjectType,
    body: &[u8],
    max: usize,
) -> Result<Response, ApiError> {
    let started = time::now_ms();
    let input: Inputs<WriteInput> = parse_json(body)?;
    check_size(input.inputs.len(), max)?;
    let body_property = input.id_property.clone().filter(|p| !p.is_empty());
    let mut keys = Vec::with_capacity(input.inputs.len());
    let mut values = Vec::with_capacity(input.inputs.len());
    for w in &input.inputs {
        let property = w
            .id_property
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| body_property.clone())
            .unwrap_or_else(|| "hs_object_id".into());
        check_id_property(ty, &property)?;
        let id = id_text(&w.id);
        keys.push(format!("{property}:{}", unique_key(&property, &id)));
        let mut v = store::validate_properties(ty, &w.properties)?;
        if property != "hs_object_id" {
            // The key itself is written, normalized like any other value of the property.
            let mut key = Map::new();
            key.insert(property.clone(), Value::String(id.clone()));
            v.retain(|(k, _)| *k != property);
            v.extend(store::validate_properties(ty, &key)?);
        }
        values.push((property, id, v));
    }
    let shown: Vec<String> = values.iter().map(|(_, id, _)| id.clone()).collect();
    duplicate_ids(&keys, &shown)?;
    let all_or_nothing = values.iter().any(|(p, _, _)| p == "email");

    let mut store = shared.write();
    // Plan first, so an all-or-nothing batch can fail before anything is written.
    let mut plan: Vec<Result<Option<u64>, ApiError>> = Vec::with_capacity(values.len());
    for (property, id, v) in &values {
        let existing = store.find(ty, property, id);
        let step = match existing {
            None if property == "hs_object_id" => Err(ApiError::not_found(format!(
                "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                ty.upper()
            ))),
            _ => match store.unique_clash(ty, v, existing) {
                Some(WriteError::Conflict { existing, .. }) => {
                    Err(ApiError::conflict(conflict_message(ty, existing)))
                }
                _ => Ok(existing),
            },
        };
        plan.push(step);
    }
    if all_or_nothing && plan.iter().any(Result::is_err) {
        // "Partial upserts are not supported when using email as the idProperty."
        if let Some(err) = plan.into_iter().find_map(Result::err) {
            return Err(err);
        }
        return Err(ApiError::validation("upsert failed"));
    }
    let now = time::now_ms();
    let mut done = Vec::new();
    let mut errors = Vec::new();
    for (i, step) in plan.into_iter().enumerate() {
        let (_, id, v) = &values[i];
        let context = json!({"ids": [id]});
        let outcome = match step {
            Err(err) => Err(err),
            Ok(Some(existing)) => store
                .update(ty, existing, v, now)
                .map(|()| (existing, false))
                .map_err(|e| e.to_api(ty, id)),
            Ok(None) => store
                .insert(ty, v, None, now, now)
                .map(|n| (n, true))
                .map_err(|e| e.to_api(ty, id)),
        };
        match outcome {
            Ok((record, new)) => done.push((record, new, i)),
            Err(err) => errors.push(entry_from(&err, context)),
        }
    }
    let selections: Vec<Selection> = done
        .iter()
        .map(|(_, _, i)| Selection::written(ty, values[*i].2.iter().map(|(k, _)| k.as_str())))
        .collect();
    let results = done
        .iter()
        .zip(&selections)
        .filter_map(|((id, new, i), props)| {
            let record = store.object(ty).live.get(id)?;
            Some(RecordView {
                new: Some(*new),
                trace: input.inputs[*i].trace.as_deref(),
                ..RecordView::plain(ty, record, props, &store)
            })
        })
        .collect();
    Ok(respond(StatusCode::OK, results, errors, started))
}

fn archive(
    shared: &AppState,
    ty: ObjectType,
    body: &[u8],
    max: usize,
) -> Result<Response, ApiError> {
    let input: Inputs<IdInput> = parse_json(body)?;
    check_size(input.inputs.len(), max)?;
    let mut store = shared.write();
    let now = time::now_ms();
    for id in input
        .inputs
        .iter()
        .filter_map(|i| id_text(&i.id).parse::<u64>().ok())
    {
        store.archive(ty, id, now);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
