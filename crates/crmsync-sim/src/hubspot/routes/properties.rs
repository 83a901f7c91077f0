//! `GET /crm/v3/properties/{type}` and `/{type}/{name}`: the schema the simulator enforces.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{AppState, QueryParams, resolve_type};
use crate::hubspot::errors::{ApiError, json_value};

/// Every property of the type (none when `archived=true`: the simulator archives none).
pub(crate) async fn list(
    State(_shared): State<AppState>,
    Path(object_type): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let q = QueryParams::parse(raw.as_deref());
    let results: Vec<Value> = if q.flag("archived") {
        Vec::new()
    } else {
        ty.properties()
            .iter()
            .enumerate()
            .map(|(i, p)| p.to_json(i))
            .collect()
    };
    Ok(json_value(StatusCode::OK, &json!({ "results": results })))
}

/// One property, or 404.
pub(crate) async fn get(
    State(_shared): State<AppState>,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ty = resolve_type(&object_type)?;
    let (i, def) = ty
        .properties()
        .iter()
        .enumerate()
        .find(|(_, p)| p.name == name)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Unable to find property {name} for object type {}",
                ty.plural()
            ))
        })?;
    Ok(json_value(StatusCode::OK, &def.to_json(i)))
}
