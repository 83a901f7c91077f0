//! The HTTP surface: the router, the gate every request passes (stats, faults, auth, rate
//! limits, headers), and helpers the handler families share.

mod batch;
mod oauth;
mod objects;
mod properties;
mod render;
mod search;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use super::Shared;
use super::auth::Credential;
use super::errors::{ApiError, RatePolicy};
use super::limits::Quota;
use super::schema::{ObjectType, TypeLookup};
use super::server::ConnTag;

/// The state every handler gets.
pub(crate) type AppState = Arc<Shared>;

/// Request bodies larger than this are refused with 413.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Builds the HubSpot router.
pub(crate) fn router(shared: AppState) -> Router {
    Router::new()
        .route(
            "/crm/v3/objects/{object_type}",
            get(objects::list).post(objects::create),
        )
        .route("/crm/v3/objects/{object_type}/search", post(search::search))
        .route(
            "/crm/v3/objects/{object_type}/batch/{op}",
            post(batch::batch),
        )
        .route(
            "/crm/v3/objects/{object_type}/{id}",
            get(objects::get)
                .patch(objects::update)
                .delete(objects::archive),
        )
        .route("/crm/v3/properties/{object_type}", get(properties::list))
        .route(
            "/crm/v3/properties/{object_type}/{name}",
            get(properties::get),
        )
        .route("/oauth/v1/token", post(oauth::token))
        .route(
            "/oauth/v1/access-tokens/{token}",
            get(oauth::access_token_info),
        )
        .route(
            "/oauth/v1/refresh-tokens/{token}",
            get(oauth::refresh_token_info).delete(oauth::revoke_refresh_token),
        )
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Unknown routes: HubSpot answers 403 `MISSING_SCOPES` for APIs an app cannot use, which
/// clients read as "not available here" (reference §7).
async fn fallback(request: Request) -> ApiError {
    if request.uri().path().starts_with("/crm") {
        ApiError::missing_scopes()
    } else {
        ApiError::not_found(format!(
            "No route for {} {}",
            request.method(),
            request.uri().path()
        ))
    }
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "VALIDATION_ERROR",
        format!(
            "HTTP method {} is not supported by this resource",
            request.method()
        ),
    )
}

/// The endpoint name a request is counted under in [`SimStats`](super::SimStats).
fn classify(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        ["oauth", "v1", "token"] => "token",
        ["oauth", ..] => "oauth",
        ["crm", "v3", "objects", _] if method == Method::GET => "list",
        ["crm", "v3", "objects", _] if method == Method::POST => "create",
        ["crm", "v3", "objects", _, "search"] => "search",
        ["crm", "v3", "objects", _, "batch", op] => match *op {
            "read" => "batch_read",
            "create" => "batch_create",
            "update" => "batch_update",
            "upsert" => "batch_upsert",
            "archive" => "batch_archive",
            _ => "other",
        },
        ["crm", "v3", "objects", _, _] if method == Method::GET => "get",
        ["crm", "v3", "objects", _, _] if method == Method::PATCH => "update",
        ["crm", "v3", "objects", _, _] if method == Method::DELETE => "delete",
        ["crm", "v3", "properties", ..] => "properties",
        _ => "other",
    }
}

/// Every request passes here: counted, delayed, maybe failed by a fault, authenticated,
/// rate-limited, and its answer decorated with the rate-limit headers.
async fn gate(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    let endpoint = classify(request.method(), request.uri().path());
    shared.stats.request(endpoint);
    let response = gate_inner(&shared, endpoint, request, next).await;
    if response.extensions().get::<ConnectionKilled>().is_none() {
        shared.stats.status(response.status().as_u16());
    }
    response
}

/// Marks the placeholder answer of a reset connection (never delivered, not counted).
#[derive(Debug, Clone, Copy)]
struct ConnectionKilled;

async fn gate_inner(
    shared: &Shared,
    endpoint: &'static str,
    request: Request,
    next: Next,
) -> Response {
    // Read the whole body up front: some clients send a body with a GET (singer-sdk sends
    // `{}`), and an unread body would break the next request on a keep-alive connection.
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "VALIDATION_ERROR",
            "Request body too large",
        )
        .into_response();
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
        // Never delivered: the connection fails on the first byte written.
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
        return ApiError::server_error(status).into_response();
    }

    let mut quota = None;
    if !parts.uri.path().starts_with("/oauth/") {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let credential = match shared.auth.authenticate(authorization) {
            Ok(c) => c,
            Err(err) => return err.into_response(),
        };
        if let Credential::OAuth(token) = &credential {
            if shared.faults.take_expiry() {
                shared.auth.expire(token);
                return ApiError::expired_authentication(0).into_response();
            }
        }
        if let Some(retry_after) = shared.faults.take_rate_limit() {
            let mut err = ApiError::rate_limited(RatePolicy::TenSecondly);
            err.retry_after = retry_after;
            let mut response = err.into_response();
            let max = shared.limits.ten_secondly();
            if max > 0 {
                let daily = None;
                add_rate_headers(
                    response.headers_mut(),
                    Quota {
                        max,
                        remaining: 0,
                        daily,
                    },
                );
            }
            return response;
        }
        if endpoint == "search" {
            // Search has its own per-second limit and carries no rate-limit headers.
            if !shared.limits.check_search() {
                return ApiError::rate_limited(RatePolicy::Secondly).into_response();
            }
        } else {
            match shared.limits.check(&credential) {
                Ok(q) => quota = q,
                Err((policy, q)) => {
                    let mut response = ApiError::rate_limited(policy).into_response();
                    if let Some(q) = q {
                        add_rate_headers(response.headers_mut(), q);
                    }
                    return response;
                }
            }
        }
    }

    let mut response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(q) = quota {
        add_rate_headers(response.headers_mut(), q);
    }
    if response.status().is_success() && shared.faults.malformed_pending() {
        response = malform(shared, response).await;
    }
    response
}

/// Truncates a successful JSON body to half its length (invalid JSON, honest length).
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

fn add_rate_headers(headers: &mut HeaderMap, quota: Quota) {
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    put("x-hubspot-ratelimit-max", quota.max.to_string());
    put("x-hubspot-ratelimit-remaining", quota.remaining.to_string());
    put(
        "x-hubspot-ratelimit-interval-milliseconds",
        "10000".to_string(),
    );
    if let Some((max, remaining)) = quota.daily {
        put("x-hubspot-ratelimit-daily", max.to_string());
        put("x-hubspot-ratelimit-daily-remaining", remaining.to_string());
    }
}

/// Resolves `{objectType}`: 403 for HubSpot types the simulator does not serve, 404 for
/// names HubSpot would not know either.
pub(crate) fn resolve_type(segment: &str) -> Result<ObjectType, ApiError> {
    match ObjectType::lookup(segment) {
        TypeLookup::Known(t) => Ok(t),
        TypeLookup::Unsupported => Err(ApiError::missing_scopes()),
        TypeLookup::Unknown => Err(ApiError::not_found(format!(
            "Unable to infer object type from: {segment}"
        ))),
    }
}

/// Parses a JSON request body; failures are HubSpot's 400.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_json(&e))
}

/// Query parameters, keeping repeats (`properties=a&properties=b`).
#[derive(Debug, Default)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, repeated or comma-separated, trimmed, empties dropped.
    pub(crate) fn list(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// `key=true` (any case).
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// A non-negative integer parameter; 400 when it is not one.
    pub(crate) fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key).map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse::<u64>().map(Some).map_err(|_| {
                ApiError::validation(format!(
                    "Unable to convert parameter '{key}' with value '{v}' to an integer"
                ))
            }),
        }
    }

    /// The pairs, for rebuilding a paging link.
    pub(crate) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

/// `http://{Host}` of the request, so paging links work under whatever name the client used.
pub(crate) fn origin(shared: &Shared, headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', ' ']))
        .map_or_else(|| shared.base_url.clone(), |h| format!("http://{h}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_arrive_repeated_and_comma_separated() {
        let q = QueryParams::parse(Some("properties=a&properties=b,c&properties=&limit=5"));
        assert_eq!(q.list("properties"), ["a", "b", "c"]);
        assert_eq!(q.number("limit").ok().flatten(), Some(5));
        assert!(q.number("after").ok().flatten().is_none());
    }

    #[test]
    fn endpoints_are_classified() {
        assert_eq!(classify(&Method::GET, "/crm/v3/objects/contacts"), "list");
        assert_eq!(
            classify(&Method::POST, "/crm/v3/objects/0-1/batch/upsert"),
            "batch_upsert"
        );
        assert_eq!(
            classify(&Method::DELETE, "/crm/v3/objects/deals/12"),
            "delete"
        );
        assert_eq!(classify(&Method::POST, "/oauth/v1/token"), "token");
    }
}
