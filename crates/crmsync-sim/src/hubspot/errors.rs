//! HubSpot's error bodies, built in one place so every route answers alike.
//!
//! The standard shape (spec `Error`) is
//! `{"status":"error","message":…,"correlationId":<uuid>,"category":…}` with optional
//! `errors`, `context` and `links`. Rate-limit answers follow HubSpot's published 429 example
//! instead (`errorType`, `policyName`, `requestId`, no `category`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::rng;

/// An error answer: a status and a HubSpot-shaped JSON body.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub body: Map<String, Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// `{"status":"error","message":…,"correlationId":…,"category":…}`.
    pub(crate) fn new(status: StatusCode, category: &str, message: impl Into<String>) -> Self {
        let mut body = Map::new();
        body.insert("status".into(), json!("error"));
        body.insert("message".into(), json!(message.into()));
        body.insert("correlationId".into(), json!(rng::uuid()));
        body.insert("category".into(), json!(category));
        Self {
            status,
            body,
            retry_after: None,
        }
    }

    /// Adds (or replaces) one top-level field.
    pub(crate) fn with(mut self, key: &str, value: Value) -> Self {
        self.body.insert(key.to_string(), value);
        self
    }

    /// 400 `VALIDATION_ERROR`.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    /// 400 for a body that is not the JSON the endpoint expects, worded as HubSpot does.
    pub(crate) fn bad_json(err: &serde_json::Error) -> Self {
        Self::validation(format!(
            "Invalid input JSON on line {}, column {}: {}",
            err.line(),
            err.column(),
            err
        ))
    }

    /// 400 for writes naming properties that do not exist.
    pub(crate) fn property_doesnt_exist(names: &[String]) -> Self {
        let details: Vec<Value> = names
            .iter()
            .map(|n| {
                json!({
                    "isValid": false,
                    "message": format!("Property \"{n}\" does not exist"),
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": n,
                    "localizedErrorMessage": format!("Property \"{n}\" does not exist"),
                })
            })
            .collect();
        let errors: Vec<Value> = names
            .iter()
            .map(|n| {
                json!({
                    "message": format!("Property \"{n}\" does not exist"),
                    "code": "PROPERTY_DOESNT_EXIST",
                    "context": {"propertyName": [n]},
                })
            })
            .collect();
        Self::validation(format!(
            "Property values were not valid: {}",
            Value::Array(details)
        ))
        .with("errors", Value::Array(errors))
    }

    /// 400 for property values that fail validation (`INVALID_OPTION`, `INVALID_EMAIL`, ...).
    pub(crate) fn invalid_values(problems: &[ValueProblem]) -> Self {
        let details: Vec<Value> = problems
            .iter()
            .map(|p| {
                json!({
                    "isValid": false,
                    "message": p.message,
                    "error": p.code,
                    "name": p.property,
                    "localizedErrorMessage": p.message,
                })
            })
            .collect();
        let errors: Vec<Value> = problems
            .iter()
            .map(|p| {
                json!({
                    "message": p.message,
                    "code": p.code,
                    "context": {"propertyName": [p.property]},
                })
            })
            .collect();
        Self::validation(format!(
            "Property values were not valid: {}",
            Value::Array(details)
        ))
        .with("errors", Value::Array(errors))
    }

    /// 404 `OBJECT_NOT_FOUND`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "OBJECT_NOT_FOUND", message)
    }

    /// 409 `CONFLICT`.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    /// 403 `MISSING_SCOPES`: what HubSpot answers for an API the app may not call.
    pub(crate) fn missing_scopes() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call. Read more about \
             required scopes here: https://developers.hubspot.com/scopes.",
        )
        .with(
            "errors",
            json!([{
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": ["crm.objects.custom.read"]},
            }]),
        )
        .with(
            "links",
            json!({"scopes": "https://developers.hubspot.com/scopes"}),
        )
    }

    /// 401 `INVALID_AUTHENTICATION`: missing or unknown credentials.
    pub(crate) fn invalid_authentication() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and \
             you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        )
    }

    /// 401 `EXPIRED_AUTHENTICATION`.
    pub(crate) fn expired_authentication(minutes_ago: u64) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "EXPIRED_AUTHENTICATION",
            format!("The OAuth token used to make this call expired {minutes_ago} minute(s) ago."),
        )
    }

    /// 429 in HubSpot's published shape.
    pub(crate) fn rate_limited(policy: RatePolicy) -> Self {
        let (message, policy_name) = match policy {
            RatePolicy::TenSecondly => (
                "You have reached your ten_secondly_rolling limit.",
                "TEN_SECONDLY_ROLLING",
            ),
            RatePolicy::Secondly => ("You have reached your secondly limit.", "SECONDLY"),
            RatePolicy::Daily => ("You have reached your daily limit.", "DAILY"),
        };
        let mut body = Map::new();
        body.insert("status".into(), json!("error"));
        body.insert("message".into(), json!(message));
        body.insert("errorType".into(), json!("RATE_LIMIT"));
        body.insert("correlationId".into(), json!(rng::uuid()));
        body.insert("policyName".into(), json!(policy_name));
        body.insert("requestId".into(), json!(rng::uuid()));
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            body,
            retry_after: None,
        }
    }

    /// A 502 or 503 from an injected fault.
    pub(crate) fn server_error(status: StatusCode) -> Self {
        let message = if status == StatusCode::BAD_GATEWAY {
            "Bad Gateway: the upstream service did not answer in time."
        } else {
            "Service Unavailable: please retry the request."
        };
        Self::new(status, "INTERNAL_ERROR", message)
    }
}

/// Which rate limit a 429 reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RatePolicy {
    TenSecondly,
    Secondly,
    Daily,
}

/// One invalid property value in a write.
#[derive(Debug, Clone)]
pub(crate) struct ValueProblem {
    pub property: String,
    pub code: &'static str,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let bytes = serde_json::to_vec(&Value::Object(self.body)).unwrap_or_default();
        let mut response = json_response(self.status, bytes);
        if let Some(secs) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A JSON response from already-serialized bytes.
pub(crate) fn json_response(status: StatusCode, bytes: Vec<u8>) -> Response {
    let mut response = (status, bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

/// Serializes `value` into a JSON response.
pub(crate) fn json_value(status: StatusCode, value: &Value) -> Response {
    json_response(status, serde_json::to_vec(value).unwrap_or_default())
}

/// Serializes any value into a JSON response.
pub(crate) fn json_body<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    json_response(status, serde_json::to_vec(value).unwrap_or_default())
}
