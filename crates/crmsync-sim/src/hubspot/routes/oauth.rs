//! The OAuth v1 endpoints: token grant/refresh and token introspection. Not rate-limited.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::hubspot::errors::json_value;
use crate::hubspot::rng;

/// The simulated portal.
const HUB_ID: u64 = 50_000_001;
const APP_ID: u64 = 1_234_567;
const USER_ID: u64 = 7_000_001;
const USER: &str = "integration@crmsync-sim.test";
const HUB_DOMAIN: &str = "crmsync-sim.hubspot.test";
const SCOPES: &[&str] = &[
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.companies.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.contacts.read",
    "crm.schemas.companies.read",
    "crm.schemas.deals.read",
];

/// A token-endpoint error: HubSpot puts the reason in `status`, plus the OAuth 2.0 fields.
fn oauth_error(status: &str, message: &str, error: &str) -> Response {
    json_value(
        StatusCode::BAD_REQUEST,
        &json!({
            "status": status,
            "message": message,
            "correlationId": rng::uuid(),
            "error": error,
            "error_description": message,
        }),
    )
}

/// `POST /oauth/v1/token`, form-encoded (query parameters are accepted too).
pub(crate) async fn token(
    State(shared): State<AppState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Response {
    let mut params: Map<String, Value> = Map::new();
    let query = url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes());
    for (k, v) in query.chain(url::form_urlencoded::parse(&body)) {
        params.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let field = |k: &str| {
        params
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let auth = &shared.auth;
    let grant = field("grant_type");
    if !matches!(
        grant.as_str(),
        "refresh_token" | "authorization_code" | "client_credentials"
    ) {
        return oauth_error(
            "BAD_GRANT_TYPE",
            "grant_type must be one of authorization_code, refresh_token or client_credentials",
            "unsupported_grant_type",
        );
    }
    if field("client_id") != auth.client_id {
        return oauth_error(
            "BAD_CLIENT_ID",
            "missing or unknown client id",
            "invalid_client",
        );
    }
    if field("client_secret") != auth.client_secret {
        return oauth_error(
            "BAD_CLIENT_SECRET",
            "missing or invalid client secret",
            "invalid_client",
        );
    }
    match grant.as_str() {
        "refresh_token" if !auth.refresh_valid(&field("refresh_token")) => {
            return oauth_error(
                "BAD_REFRESH_TOKEN",
                "refresh token is invalid, expired or revoked",
                "invalid_grant",
            );
        }
        "authorization_code" if field("code").is_empty() => {
            return oauth_error(
                "BAD_AUTH_CODE",
                "missing or invalid authorization code",
                "invalid_grant",
            );
        }
        _ => {}
    }
    let (access_token, expires_in) = auth.issue();
    let mut body = json!({
        "token_type": "bearer",
        "access_token": access_token,
        "expires_in": expires_in,
        "hub_id": HUB_ID,
        "user_id": USER_ID,
        "scopes": SCOPES,
    });
    if grant == "client_credentials" {
        body["token_use"] = json!("client_credentials");
    } else {
        body["refresh_token"] = json!(auth.refresh_token);
        body["token_use"] = json!("access_token");
    }
    json_value(StatusCode::OK, &body)
}

fn not_found(message: &str) -> Response {
    json_value(
        StatusCode::NOT_FOUND,
        &json!({"status": "error", "message": message, "correlationId": rng::uuid(), "category": "OBJECT_NOT_FOUND"}),
    )
}

/// `GET /oauth/v1/access-tokens/{token}` (deprecated in the spec, still used).
pub(crate) async fn access_token_info(
    State(shared): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    match shared.auth.access_expires_in(&token) {
        Some(expires_in) => json_value(
            StatusCode::OK,
            &json!({
                "token": token,
                "user": USER,
                "hub_domain": HUB_DOMAIN,
                "scopes": SCOPES,
                "hub_id": HUB_ID,
                "app_id": APP_ID,
                "expires_in": expires_in,
                "user_id": USER_ID,
                "token_type": "access",
            }),
        ),
        None => not_found("access token not found or expired"),
    }
}

/// `GET /oauth/v1/refresh-tokens/{token}`.
pub(crate) async fn refresh_token_info(
    State(shared): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    if !shared.auth.refresh_valid(&token) {
        return not_found("refresh token not found");
    }
    json_value(
        StatusCode::OK,
        &json!({
            "token": token,
            "user": USER,
            "hub_domain": HUB_DOMAIN,
            "scopes": SCOPES,
            "hub_id": HUB_ID,
            "client_id": shared.auth.client_id,
            "user_id": USER_ID,
            "token_type": "refresh",
        }),
    )
}

/// `DELETE /oauth/v1/refresh-tokens/{token}`: revokes it (204).
pub(crate) async fn revoke_refresh_token(
    State(shared): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    if shared.auth.revoke_refresh(&token) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found("refresh token not found")
    }
}
