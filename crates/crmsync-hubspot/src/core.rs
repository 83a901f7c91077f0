//! HubSpot's wire shapes and `parse_error`: every failure classified in one place.

use std::{collections::BTreeMap, time::Duration};

use crmsync_core::{Error, ErrorKind, Retry};
use crmsync_http::{HeaderMap, Pacer, StatusCode, retry_after};
use serde::Deserialize;

/// `SimplePublicObject` (and its `WithAssociations` / upsert variants).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HsObject {
    pub id: String,
    #[serde(default)]
    pub properties: BTreeMap<String, Option<String>>,
    pub updated_at: Option<String>,
    #[serde(default)]
    pub archived: bool,
    pub archived_at: Option<String>,
    /// Upsert results only.
    #[serde(default)]
    pub new: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct NextPage {
    pub after: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Paging {
    pub next: Option<NextPage>,
}

/// A list or search page.
#[derive(Debug, Deserialize)]
pub(crate) struct HsPage {
    pub results: Vec<HsObject>,
    #[serde(default)]
    pub paging: Option<Paging>,
    #[serde(default)]
    pub total: Option<u64>,
}

/// A batch response (200 or 207).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HsBatch {
    #[serde(default)]
    pub results: Vec<HsObject>,
    #[serde(default)]
    pub errors: Vec<HsError>,
}

/// HubSpot's `Error` / `StandardError`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HsError {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub context: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub errors: Vec<serde_json::Value>,
}

impl HsError {
    /// Ids or trace ids a batch error names (`context.ids`, `context.objectWriteTraceId`,
    /// `context.id`).
    pub fn context_values(&self, key: &str) -> Vec<String> {
        match self.context.get(key) {
            Some(serde_json::Value::Array(values)) => values
                .iter()
                .filter_map(|v| match v {
                    serde_json::Value::String(s) => Some(s.clone()),
                    serde_json::Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The error as crmsync's [`Error`].
    pub fn to_error(&self, status: u16) -> Error {
        let category = self.category.as_deref().unwrap_or("");
        let kind = match (status, category) {
            (_, "OBJECT_NOT_FOUND") | (404, _) => ErrorKind::NotFound,
            (_, "CONFLICT") | (409, _) => ErrorKind::Conflict,
            (_, "RATE_LIMITS") | (429 | 423, _) => ErrorKind::RateLimited,
            (_, "EXPIRED_AUTHENTICATION" | "INVALID_AUTHENTICATION") | (401, _) => {
                ErrorKind::Unauthorized
            }
            (_, "MISSING_SCOPES") | (403, _) => ErrorKind::Forbidden,
            (500..=599, _) => ErrorKind::Unavailable,
            _ => ErrorKind::InvalidRequest,
        };
        let mut message = if category.is_empty() {
            self.message.clone()
        } else {
            format!("{category}: {}", self.message)
        };
        for detail in self.errors.iter().take(3) {
            if let Some(text) = detail.get("message").and_then(|m| m.as_str()) {
                message.push_str(" | ");
                message.push_str(text);
            }
        }
        Error::new(kind, message)
    }
}

/// HubSpot's error classification and rate-limit header reading.
#[derive(Debug, Default)]
pub(crate) struct HubSpotErrors;

impl crmsync_http::ErrorParser for HubSpotErrors {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        let Ok(parsed) = serde_json::from_slice::<HsError>(body) else {
            return crmsync_http::classify_status(status, headers, body);
        };
        let code = status.as_u16();
        let mut err = parsed.to_error(code);
        if code == 429 {
            // The official SDK retries the ten-secondly and secondly policies; the daily
            // one lasts until midnight in the account's time zone: stop and resume later.
            err = match parsed.policy_name.as_deref() {
                Some("DAILY") => err.with_retry(Retry::DontRetry),
                _ => err.with_retry(Retry::RetryAfter(
                    retry_after(headers).unwrap_or(Duration::from_secs(1)),
                )),
            };
        } else if code == 423 {
            err = err.with_retry(Retry::RetryAfter(Duration::from_secs(2)));
        } else if let Some(wait) = retry_after(headers) {
            if err.is_retryable() {
                err = err.with_retry(Retry::RetryAfter(wait));
            }
        }
        err
    }

    fn observe(&self, headers: &HeaderMap, pacer: &Pacer, bucket: &str) {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let Some(remaining) = number("x-hubspot-ratelimit-remaining") {
            let interval = number("x-hubspot-ratelimit-interval-milliseconds").unwrap_or(10_000);
            pacer.observe_remaining(bucket, remaining, Duration::from_millis(interval));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_http::ErrorParser;

    #[test]
    fn ten_secondly_429_is_retried_and_daily_is_not() {
        let headers = HeaderMap::new();
        let burst = br#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","correlationId":"c","policyName":"TEN_SECONDLY_ROLLING"}"#;
        let err = HubSpotErrors.parse(StatusCode::TOO_MANY_REQUESTS, &headers, burst);
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.is_retryable());
        let daily = br#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c","policyName":"DAILY"}"#;
        let err = HubSpotErrors.parse(StatusCode::TOO_MANY_REQUESTS, &headers, daily);
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(!err.is_retryable());
    }

    #[test]
    fn validation_errors_are_permanent_and_name_the_property() {
        let body = br#"{"status":"error","message":"Property values were not valid","correlationId":"c","category":"VALIDATION_ERROR","errors":[{"message":"Property \"bogus\" does not exist","code":"PROPERTY_DOESNT_EXIST","context":{"propertyName":["bogus"]}}]}"#;
        let err = HubSpotErrors.parse(StatusCode::BAD_REQUEST, &HeaderMap::new(), body);
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert!(!err.is_retryable());
        assert!(err.message().contains("bogus"), "{}", err.message());
    }

    #[test]
    fn non_json_bodies_fall_back_to_the_status() {
        let err = HubSpotErrors.parse(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_retryable());
    }
}
