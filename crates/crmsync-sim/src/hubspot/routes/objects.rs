//! Basic object endpoints: list, read, create, update and archive one record.

use std::ops::Bound;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::render::{RecordView, Selection, association_targets};
use super::{AppState, QueryParams, origin, parse_json, resolve_type};
use crate::hubspot::errors::{ApiError, json_body};
use crate::hubspot::schema::ObjectType;
use crate::hubspot::store::{self, Store};
use crate::hubspot::time;

#[derive(Serialize)]
struct NextPage {
    after: String,
    link: String,
}

#[derive(Serialize)]
struct Paging {
    next: NextPage,
}

#[derive(Serialize)]
struct Page<'a> {
    results: Vec<RecordView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
}

/// `GET /crm/v3/objects/{type}`: pages ordered by id; `after` is the id of the next record.
pub(crate) async fn list(
    State(shared): State<AppState>,
    Path(object_type): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let q = QueryParams::parse(raw.as_deref());
    let max = shared.config.list_max_limit.max(1) as u64;
    let limit = q.number("limit")?.unwrap_or(10).clamp(1, max) as usize;
    let after = match q.get("after").map(str::trim).filter(|a| !a.is_empty()) {
        None => 0,
        Some(a) => a
            .parse::<u64>()
            .map_err(|_| ApiError::validation(format!("Invalid after cursor: {a}")))?,
    };
    let props = Selection::new(ty, &q.list("properties"));
    let history = q.list("propertiesWithHistory");
    let assoc = association_targets(&q.list("associations"));

    let store = shared.read();
    let os = store.object(ty);
    let records = if q.flag("archived") {
        &os.archived
    } else {
        &os.live
    };
    let mut iter = records
        .range((Bound::Included(after), Bound::Unbounded))
        .map(|(_, r)| r);
    let results: Vec<RecordView<'_>> = iter
        .by_ref()
        .take(limit)
        .map(|record| RecordView {
            assoc: &assoc,
            history: &history,
            ..RecordView::plain(ty, record, &props, &store)
        })
        .collect();
    let paging = iter.next().map(|next| {
        let after = next.id.to_string();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.pairs().iter().filter(|(k, _)| k != "after") {
            query.append_pair(k, v);
        }
        query.append_pair("after", &after);
        let link = format!(
            "{}{}?{}",
            origin(&shared, &headers),
            uri.path(),
            query.finish()
        );
        Paging {
            next: NextPage { after, link },
        }
    });
    Ok(json_body(StatusCode::OK, &Page { results, paging }))
}

/// Looks a record up by id or by a unique `idProperty`.
fn find_one(
    store: &Store,
    ty: ObjectType,
    id: &str,
    id_property: Option<&str>,
    archived: bool,
) -> Result<u64, ApiError> {
    let property = id_property
        .filter(|p| !p.is_empty())
        .unwrap_or("hs_object_id");
    if !Store::is_id_property(ty, property) {
        return Err(ApiError::validation(format!(
            "Property \"{property}\" is not a unique identifier property for {}",
            ty.plural()
        )));
    }
    let found = if archived {
        (property == "hs_object_id")
            .then(|| store.find_archived(ty, id))
            .flatten()
    } else {
        store.find(ty, property, id)
    };
    found.ok_or_else(|| ApiError::not_found("resource not found"))
}

/// `GET /crm/v3/objects/{type}/{id}` (`idProperty`, `archived`, `properties`, `associations`).
pub(crate) async fn get(
    State(shared): State<AppState>,
    Path((object_type, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let q = QueryParams::parse(raw.as_deref());
    let archived = q.flag("archived");
    let props = Selection::new(ty, &q.list("properties"));
    let history = q.list("propertiesWithHistory");
    let assoc = association_targets(&q.list("associations"));
    let store = shared.read();
    let found = find_one(&store, ty, &id, q.get("idProperty"), archived)?;
    let os = store.object(ty);
    let record = if archived {
        os.archived.get(&found)
    } else {
        os.live.get(&found)
    }
    .ok_or_else(|| ApiError::not_found("resource not found"))?;
    let view = RecordView {
        assoc: &assoc,
        history: &history,
        ..RecordView::plain(ty, record, &props, &store)
    };
    Ok(json_body(StatusCode::OK, &view))
}

#[derive(Deserialize)]
pub(crate) struct AssociationTarget {
    pub id: Value,
}

#[derive(Deserialize)]
pub(crate) struct AssociationType {
    #[serde(rename = "associationTypeId", default)]
    pub type_id: Option<u64>,
}

/// One `associations[]` entry of a create input.
#[derive(Deserialize)]
pub(crate) struct AssociationInput {
    pub to: AssociationTarget,
    #[serde(default)]
    pub types: Vec<AssociationType>,
}

#[derive(Deserialize)]
struct CreateBody {
    #[serde(default)]
    properties: Map<String, Value>,
    #[serde(default)]
    associations: Vec<AssociationInput>,
}

/// An id that arrives as a JSON string or number.
pub(crate) fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The company a create's `associations` point at, for contacts and deals. HubSpot's type
/// ids: 1/279 contact→company, 5/341 deal→company; an entry without types is accepted too.
pub(crate) fn company_from_associations(
    store: &Store,
    ty: ObjectType,
    inputs: &[AssociationInput],
) -> Option<u64> {
    if ty == ObjectType::Companies {
        return None;
    }
    inputs.iter().find_map(|a| {
        let to_company = a.types.is_empty()
            || a.types
                .iter()
                .any(|t| matches!(t.type_id, Some(1 | 279 | 5 | 341) | None));
        let id = id_text(&a.to.id).parse::<u64>().ok()?;
        (to_company && store.object(ObjectType::Companies).live.contains_key(&id)).then_some(id)
    })
}

/// `POST /crm/v3/objects/{type}` → 201.
pub(crate) async fn create(
    State(shared): State<AppState>,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let input: CreateBody = parse_json(&body)?;
    let values = store::validate_properties(ty, &input.properties)?;
    let mut store = shared.write();
    let company = company_from_associations(&store, ty, &input.associations);
    let now = time::now_ms();
    let id = store
        .insert(ty, &values, company, now, now)
        .map_err(|e| e.to_api(ty, ""))?;
    let props = Selection::written(ty, values.iter().map(|(k, _)| k.as_str()));
    let record = store
        .object(ty)
        .live
        .get(&id)
        .ok_or_else(|| ApiError::not_found("resource not found"))?;
    Ok(json_body(
        StatusCode::CREATED,
        &RecordView::plain(ty, record, &props, &store),
    ))
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(default)]
    properties: Map<String, Value>,
}

/// `PATCH /crm/v3/objects/{type}/{id}` (`idProperty` allowed) → 200.
pub(crate) async fn update(
    State(shared): State<AppState>,
    Path((object_type, id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let q = QueryParams::parse(raw.as_deref());
    let input: UpdateBody = parse_json(&body)?;
    let values = store::validate_properties(ty, &input.properties)?;
    let mut store = shared.write();
    let found = find_one(&store, ty, &id, q.get("idProperty"), false)?;
    store
        .update(ty, found, &values, time::now_ms())
        .map_err(|e| e.to_api(ty, &id))?;
    let props = Selection::written(ty, values.iter().map(|(k, _)| k.as_str()));
    let record = store
        .object(ty)
        .live
        .get(&found)
        .ok_or_else(|| ApiError::not_found("resource not found"))?;
    Ok(json_body(
        StatusCode::OK,
        &RecordView::plain(ty, record, &props, &store),
    ))
}

/// `DELETE /crm/v3/objects/{type}/{id}` → 204, whether or not the record existed.
pub(crate) async fn archive(
    State(shared): State<AppState>,
    Path((object_type, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    if let Ok(id) = id.trim().parse::<u64>() {
        shared.write().archive(ty, id, time::now_ms());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
