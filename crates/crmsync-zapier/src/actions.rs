//! Inbound actions: Zapier creates, updates and finds the application's records.

use std::collections::{BTreeSet, HashMap};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use crmsync_core::{
    CrmProviderDyn, Error, ErrorKind, Fields, MatchKey, ObjectKind, Record, RecordId, WriteOp,
};
use serde_json::{Map, Value};

use crate::hooks::{ApiError, ZapierState, json_body, query_pairs};

/// Most records one search returns.
const MAX_SEARCH_RESULTS: usize = 100;

/// The inbound action routes, for an application to mount:
///
/// - `POST /zapier/actions/{object}` — create or update (a Zapier action): the body is
///   a JSON object of canonical fields. With `"id"`, that record is updated; without
///   one, a record with the same `email` is updated when the application can find
///   by email; otherwise one is created (idempotently, when the request carries an
///   `X-Idempotency-Key`). Answers the record as one JSON object `{"id", ...fields}`,
///   201 when created, 200 when updated.
/// - `GET /zapier/search/{object}?email=…` — a Zapier search: records matching every
///   parameter (`email` ignoring case, `phone`, `id`, or any field exactly), as a JSON
///   array (empty when nothing matches).
///
/// Both write and read through the [`CrmProviderDyn`] the application registered
/// with [`ZapierState::with_records`], and need the tenant's `X-API-Key`.
pub fn actions_router(state: ZapierState) -> Router {
    Router::new()
        .route("/zapier/actions/{object}", post(create_or_update))
        .route("/zapier/search/{object}", get(search))
        .with_state(state)
}

/// `{"id": id, ...fields}`: the object Zapier shows as the action's output.
fn flatten(id: &RecordId, fields: Fields) -> Value {
    let mut map: Map<String, Value> = fields.into_iter().collect();
    map.insert("id".into(), Value::String(id.as_str().to_owned()));
    Value::Object(map)
}

/// An id given as a string or a number; `null` or `""` mean none.
fn id_of(value: Value) -> Result<Option<RecordId>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(RecordId::new(s.trim()))),
        Value::Number(n) => Ok(Some(RecordId::new(n.to_string()))),
        _ => Err(ApiError::bad_request("id must be a string or a number")),
    }
}

async fn create_or_update(
    State(state): State<ZapierState>,
    Path(object): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let tenant = state.authenticate(&headers)?;
    let provider = state.records_of(&tenant)?;
    let object = ObjectKind::parse(&object);
    let Value::Object(map) = json_body(&body)? else {
        return Err(ApiError::bad_request(
            "the body must be a JSON object of fields",
        ));
    };
    let mut fields: Fields = map.into_iter().collect();
    let mut id = id_of(fields.remove("id").unwrap_or(Value::Null))?;
    let caps = provider.capabilities(&object);
    if !caps.write {
        return Err(ApiError::bad_request(format!(
            "this application does not accept writes of {object}"
        )));
    }
    if id.is_none() && caps.find {
        id = find_by_email(provider.as_ref(), &object, &fields).await?;
    }
    let idempotency_key = headers
        .get("x-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| format!("zapier/{k}"));
    let op = WriteOp {
        key: "zapier".into(),
        id,
        fields: fields.clone(),
        idempotency_key,
    };
    let outcome = provider
        .upsert(&object, vec![op])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::new(ErrorKind::Internal, "the write returned no outcome"))?;
    let written = outcome.result?;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let record = if caps.read {
        provider
            .read(&object, std::slice::from_ref(&written.id), &[])
            .await?
            .into_iter()
            .find(|r| r.id == written.id)
    } else {
        None
    };
    let fields = record.map_or(fields, |r| r.fields);
    Ok((status, Json(flatten(&written.id, fields))))
}

/// The id of the live record whose `email` matches (ignoring case), if exactly one.
async fn find_by_email(
    provider: &dyn CrmProviderDyn,
    object: &ObjectKind,
    fields: &Fields,
) -> Result<Option<RecordId>, ApiError> {
    let Some(email) = fields
        .get("email")
        .and_then(Value::as_str)
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty())
    else {
        return Ok(None);
    };
    let found = provider
        .find(object, &[MatchKey::Email(email)], &[])
        .await?;
    let ids: BTreeSet<RecordId> = found
        .into_iter()
        .filter(|m| !m.record.deleted)
        .map(|m| m.record.id)
        .collect();
    match ids.len() {
        0 => Ok(None),
        1 => Ok(ids.into_iter().next()),
        n => Err(ApiError::new(
            StatusCode::CONFLICT,
            "ambiguous",
            format!("{n} records have this email; pass an id to update one"),
        )),
    }
}

async fn search(
    State(state): State<ZapierState>,
    Path(object): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let tenant = state.authenticate(&headers)?;
    let provider = state.records_of(&tenant)?;
    let object = ObjectKind::parse(&object);
    let keys: Vec<MatchKey> = query_pairs(query.as_deref())
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(name, value)| match name.as_str() {
            "email" => MatchKey::Email(value.trim().to_lowercase()),
            "phone" => MatchKey::Phone(value.trim().to_owned()),
            "id" => MatchKey::Id(RecordId::new(value.trim())),
            _ => MatchKey::Field { name, value },
        })
        .collect();
    if keys.is_empty() {
        return Err(ApiError::bad_request(
            "give at least one field to search by, e.g. ?email=ada@example.com",
        ));
    }
    if !provider.capabilities(&object).find {
        return Err(ApiError::bad_request(format!(
            "this application cannot search {object}"
        )));
    }
    let found = provider.find(&object, &keys, &[]).await?;
    // Every parameter must match (the provider matches any key): keep records found
    // by all of them, in the order first found.
    let mut order: Vec<RecordId> = Vec::new();
    let mut hits: HashMap<RecordId, (Record, BTreeSet<usize>)> = HashMap::new();
    for m in found.into_iter().filter(|m| !m.record.deleted) {
        let entry = hits.entry(m.record.id.clone()).or_insert_with(|| {
            order.push(m.record.id.clone());
            (m.record, BTreeSet::new())
        });
        entry.1.insert(m.key_index);
    }
    let results: Vec<Value> = order
        .into_iter()
        .filter_map(|id| hits.remove(&id))
        .filter(|(_, matched)| matched.len() == keys.len())
        .take(MAX_SEARCH_RESULTS)
        .map(|(record, _)| flatten(&record.id, record.fields))
        .collect();
    Ok(Json(Value::Array(results)))
}
