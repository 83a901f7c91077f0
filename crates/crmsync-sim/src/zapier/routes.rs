//! The hooks Zapier serves: REST-hook target URLs and catch hooks.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::{Admission, Shared};
use crate::common::server::ConnTag;

/// Zapier's webhook payload limit.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

type AppState = Arc<Shared>;

pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route("/hooks/catch/{account}/{hook}", post(account_hook))
        .route("/hooks/catch/{account}/{hook}/", post(account_hook))
        .route("/hooks/catch/{hook}", post(legacy_hook))
        .route("/hooks/catch/{hook}/", post(legacy_hook))
        .route("/hooks/standard/{account}/{hook}", post(account_hook))
        .route("/hooks/standard/{account}/{hook}/", post(account_hook))
        // Bodies a little over the limit reach the handler, which answers 413 itself.
        .layer(DefaultBodyLimit::max(MAX_PAYLOAD + 1024 * 1024))
        .with_state(shared)
}

fn answer(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn account_hook(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<ConnTag>,
    Path((account, hook)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if account != shared.account() {
        return answer(
            StatusCode::NOT_FOUND,
            json!({"status": "error", "message": "hook not found"}),
        );
    }
    handle(&shared, &conn, &hook, &headers, &body).await
}

async fn legacy_hook(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<ConnTag>,
    Path(hook): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&shared, &conn, &hook, &headers, &body).await
}

/// A form body as an object of strings; anything else as JSON (or the raw text).
fn parse_body(headers: &HeaderMap, body: &[u8]) -> Value {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        let map: Map<String, Value> = url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Value::Object(map);
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn too_many(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
    let mut response = answer(
        StatusCode::TOO_MANY_REQUESTS,
        json!({
            "status": "error",
            "message": "Too many requests: this account is over its webhook throttle",
        }),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

async fn handle(
    shared: &Shared,
    conn: &ConnTag,
    hook: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let faults = shared.faults();
    let latency = faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(delay) = faults.take_slow() {
        tokio::time::sleep(delay).await;
    }
    let kind = match shared.admission(hook) {
        Admission::Unknown => {
            return answer(
                StatusCode::NOT_FOUND,
                json!({"status": "error", "message": "hook not found"}),
            );
        }
        Admission::Gone => {
            return answer(
                StatusCode::GONE,
                json!({"status": "error", "message": "this hook has been unsubscribed or deleted"}),
            );
        }
        Admission::Open(kind) => kind,
    };
    if faults.take_reset() {
        conn.kill();
        return StatusCode::BAD_GATEWAY.into_response();
    }
    if let Some(retry_after) = faults.take_rate_limit() {
        return too_many(Duration::from_secs(retry_after.unwrap_or(1)));
    }
    if let Err(wait) = shared.throttle().admit() {
        shared.count_throttled();
        return too_many(wait);
    }
    if let Some(is_502) = faults.take_server_error() {
        let status = if is_502 {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return answer(
            status,
            json!({"status": "error", "message": "upstream failure"}),
        );
    }
    if body.len() > MAX_PAYLOAD {
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"status": "error", "message": "payload exceeds 10 MB"}),
        );
    }
    let request_id = shared.record(hook, kind, parse_body(headers, body));
    if faults.take_malformed() {
        return (StatusCode::OK, "{\"status\":\"succ").into_response();
    }
    let attempt = shared.new_id();
    answer(
        StatusCode::OK,
        json!({
            "status": "success",
            "attempt": attempt,
            "id": shared.new_id(),
            "request_id": request_id,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_become_objects() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert_eq!(
            parse_body(&headers, b"a=1&b=two"),
            json!({"a": "1", "b": "two"})
        );
        assert_eq!(parse_body(&HeaderMap::new(), b"{\"x\":1}"), json!({"x": 1}));
    }
}
