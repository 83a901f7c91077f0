//! The gate every request passes: counted, delayed or failed by a fault, authenticated,
//! counted against the daily limit, and its answer labelled with `Sforce-Limit-Info`.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, Call, Route};
use crate::common::server::ConnTag;
use crate::salesforce::Shared;
use crate::salesforce::errors::ApiError;

/// Request bodies larger than this are refused with 413 (Bulk uploads may be 150 MB).
const MAX_BODY: usize = 160 * 1024 * 1024;

/// The header that reports the daily API usage.
const LIMIT_INFO: HeaderName = HeaderName::from_static("sforce-limit-info");

/// The endpoint name a request is counted under.
fn classify(method: &Method, uri: &Uri) -> &'static str {
    let path = uri.path();
    match path.trim_end_matches('/') {
        "/services/oauth2/token" => return "token",
        "/services/oauth2/revoke" => return "revoke",
        "/services/oauth2/userinfo" => return "identity",
        "/services/data" => return "versions",
        p if p.starts_with("/id/") => return "identity",
        _ => {}
    }
    let empty = HeaderMap::new();
    let target = uri.path_and_query().map_or(path, |pq| pq.as_str());
    match Call::parse(method.clone(), target, &empty, &[]) {
        Some(call) => Route::parse(&call.segments).stat(&call.method),
        None => "other",
    }
}

/// Marks the placeholder answer of a reset connection (never delivered, not counted).
#[derive(Debug, Clone, Copy)]
struct ConnectionKilled;

/// Marks a `REQUEST_LIMIT_EXCEEDED` answer for the stats.
#[derive(Debug, Clone, Copy)]
struct Throttled;

/// Every request passes here: counted, delayed, maybe failed by a fault, authenticated,
/// counted against the daily limit, and its answer labelled with `Sforce-Limit-Info`.
pub(super) async fn gate(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = classify(request.method(), request.uri());
    shared.stats.request(endpoint);
    let response = gate_inner(&shared, request, next).await;
    if response.extensions().get::<ConnectionKilled>().is_none() {
        let throttled = response.extensions().get::<Throttled>().is_some();
        shared.stats.status(response.status().as_u16(), throttled);
    }
    response
}

async fn gate_inner(shared: &Shared, request: Request, next: Next) -> Response {
    // Read the whole body up front: some clients send a body with a GET, and an unread body
    // would break the next request on a keep-alive connection.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_RUNNING_TOO_LONG",
            "Request body too large",
        )
        .into_response();
    };
    let path = parts.uri.path();
    let is_api = path.starts_with("/services/data/v");
    let with_limit_info = |mut response: Response| {
        if is_api {
            if let Ok(v) = HeaderValue::from_str(&shared.limits.header()) {
                response.headers_mut().insert(LIMIT_INFO, v);
            }
        }
        response
    };

    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if shared.faults.take_reset() {
        if let Some(ConnectInfo(tag)) = parts.extensions.get::<ConnectInfo<ConnTag>>() {
            tag.kill();
            shared.stats.reset_connection();
        }
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response.extensions_mut().insert(ConnectionKilled);
        return response;
    }
    if let Some(delay) = shared.faults.take_slow() {
        tokio::time::sleep(delay).await;
    }
    if let Some(is_502) = shared.faults.take_server_error() {
        let status = if is_502 {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return with_limit_info(ApiError::server_error(status).into_response());
    }
    if is_api {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let token = match shared.auth.authenticate(authorization) {
            Ok(t) => t,
            Err(err) => return with_limit_info(err.into_response()),
        };
        if shared.faults.take_expiry() {
            shared.auth.end_session(&token);
            return with_limit_info(ApiError::invalid_session().into_response());
        }
        let throttled = |retry_after: Option<u64>| {
            let mut err = ApiError::request_limit();
            err.retry_after = retry_after;
            let mut response = err.into_response();
            response.extensions_mut().insert(Throttled);
            response
        };
        if let Some(retry_after) = shared.faults.take_rate_limit() {
            return with_limit_info(throttled(retry_after));
        }
        if !shared.limits.admit() {
            return with_limit_info(throttled(None));
        }
    }
    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if response.status().is_success() && shared.faults.malformed_pending() {
        response = malform(shared, response).await;
    }
    with_limit_info(response)
}

/// Truncates a successful body to half its length (invalid JSON or CSV, honest length).
async fn malform(shared: &Shared, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if bytes.is_empty() || !shared.faults.take_malformed() {
        return Response::from_parts(parts, Body::from(bytes));
    }
    let cut = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(cut))
}
