//! The OAuth endpoints: `POST /services/oauth2/token` (refresh-token and JWT bearer grants),
//! `/services/oauth2/revoke`, `/services/oauth2/userinfo` and the identity URL
//! `/id/{orgId}/{userId}`. Not counted against the daily API limit.
//!
//! Token responses carry `access_token, signature, scope, instance_url, id, token_type,
//! issued_at` and never `expires_in` (reference §2.1); failures are
//! `400 {"error":…,"error_description":…}`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use crate::salesforce::Shared;
use crate::salesforce::errors::{Reply, oauth_error};
use crate::salesforce::values;

/// The JWT bearer grant type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

fn params(raw: Option<&str>, body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .chain(url::form_urlencoded::parse(body))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn identity_url(shared: &Shared) -> String {
    format!(
        "{}/id/{}/{}",
        shared.base_url, shared.auth.org_id, shared.auth.user_id
    )
}

/// `POST /services/oauth2/token`, form-encoded (query parameters are accepted too).
pub(crate) async fn token(
    State(shared): State<AppState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let params = params(raw.as_deref(), &body);
    let field = |k: &str| {
        params
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let auth = &shared.auth;
    let scope = match field("grant_type").as_str() {
        "refresh_token" => {
            if field("client_id") != auth.client_id {
                return oauth_error("invalid_client_id", "client identifier invalid")
                    .into_response();
            }
            if field("client_secret") != auth.client_secret {
                return oauth_error("invalid_client", "invalid client credentials").into_response();
            }
            if field("refresh_token") != auth.refresh_token {
                return oauth_error("invalid_grant", "expired access/refresh token")
                    .into_response();
            }
            "api refresh_token"
        }
        JWT_BEARER => {
            let assertion = field("assertion");
            if assertion.is_empty() {
                return oauth_error("invalid_request", "assertion is required").into_response();
            }
            let audiences = [
                shared.base_url.clone(),
                "https://login.salesforce.com".to_string(),
                "https://test.salesforce.com".to_string(),
            ];
            let now = values::now_ms() / 1000;
            if let Err((error, description)) = auth.verify_assertion(&assertion, &audiences, now) {
                return oauth_error(error, description).into_response();
            }
            "api"
        }
        _ => {
            return oauth_error("unsupported_grant_type", "grant type not supported")
                .into_response();
        }
    };
    let access_token = auth.issue();
    let issued_at = values::now_ms().to_string();
    let id = identity_url(&shared);
    let signature = auth.signature(&id, &issued_at);
    Reply::json(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "signature": signature,
            "scope": scope,
            "instance_url": shared.base_url,
            "id": id,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }),
    )
    .into_response()
}

/// `POST /services/oauth2/revoke` (`token=`): ends a session; refresh tokens stay valid.
pub(crate) async fn revoke(
    State(shared): State<AppState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let params = params(raw.as_deref(), &body);
    let token = params
        .iter()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    if token == shared.auth.refresh_token || shared.auth.end_session(&token) {
        Reply::empty(StatusCode::OK).into_response()
    } else {
        oauth_error("unsupported_token_type", "this token type is not supported").into_response()
    }
}

/// `None` when the request carries a live session, else the 401 to answer.
fn unauthorized(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    shared
        .auth
        .authenticate(authorization)
        .err()
        .map(IntoResponse::into_response)
}

/// `GET /services/oauth2/userinfo`.
pub(crate) async fn userinfo(State(shared): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&shared, &headers) {
        return r;
    }
    let auth = &shared.auth;
    Reply::json(
        StatusCode::OK,
        &json!({
            "sub": identity_url(&shared),
            "user_id": auth.user_id,
            "organization_id": auth.org_id,
            "preferred_username": auth.username,
            "email": auth.username,
            "name": "Integration User",
            "active": true,
            "user_type": "STANDARD",
            "zoneinfo": "America/Los_Angeles",
            "locale": "en_US",
        }),
    )
    .into_response()
}

/// `GET /id/{orgId}/{userId}`: the identity the token response's `id` names.
pub(crate) async fn identity(
    State(shared): State<AppState>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&shared, &headers) {
        return r;
    }
    let auth = &shared.auth;
    if org != auth.org_id || user != auth.user_id {
        return Reply::json(StatusCode::NOT_FOUND, &json!("Bad_Id")).into_response();
    }
    let version = &shared.config.api_version;
    let rest = format!("{}/services/data/v{version}/", shared.base_url);
    Reply::json(
        StatusCode::OK,
        &json!({
            "id": identity_url(&shared),
            "asserted_user": true,
            "user_id": auth.user_id,
            "organization_id": auth.org_id,
            "username": auth.username,
            "nick_name": "integration",
            "display_name": "Integration User",
            "email": auth.username,
            "active": true,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "urls": {
                "rest": rest,
                "sobjects": format!("{rest}sobjects/"),
                "query": format!("{rest}query/"),
                "limits": format!("{rest}limits/"),
            },
        }),
    )
    .into_response()
}
