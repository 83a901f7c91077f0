//! The Microsoft identity platform's client credentials grant
//! (`POST /{tenant}/oauth2/v2.0/token`), the bearer tokens it issues, and service
//! protection: requests per user over a sliding window (api-limits.md).

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;
use crate::common::rng::{SplitMix64, token_chars, uuid};
use std::sync::Arc;

/// The app registration and the tokens issued to it.
#[derive(Debug)]
pub(crate) struct Auth {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    ttl: Duration,
    tokens: Mutex<HashMap<String, Instant>>,
}

impl Auth {
    pub(crate) fn new(seed: u64, ttl: Duration) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0xD1A5_5EED);
        let guid = |rng: &mut SplitMix64| super::store::guid_from(rng.next_u64(), rng.next_u64());
        let tenant_id = guid(&mut rng);
        let client_id = guid(&mut rng);
        let client_secret = format!("{}~{}", rng.digits(3), token_chars(36));
        Self {
            tenant_id,
            client_id,
            client_secret,
            ttl,
            tokens: Mutex::default(),
        }
    }

    /// Issues a token valid for the configured lifetime.
    pub(crate) fn issue(&self) -> String {
        // Shaped like an Entra ID JWT (three base64url segments); opaque to clients.
        let token = format!(
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsIng1dCI6InNpbSJ9.{}.{}",
            token_chars(120),
            token_chars(86)
        );
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), Instant::now() + self.ttl);
        token
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The token of an `Authorization: Bearer …` header, if valid now.
    pub(crate) fn authenticate(&self, header: Option<&str>) -> Option<String> {
        let token = header?.strip_prefix("Bearer ")?.trim();
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let expires = tokens.get(token)?;
        (Instant::now() < *expires).then(|| token.to_owned())
    }

    /// Ends a token early (a fault).
    pub(crate) fn revoke(&self, token: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(token);
    }
}

/// A failed grant, in the identity platform's shape.
fn refused(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let trace = uuid();
    let correlation = uuid();
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}"
            ),
            "error_codes": [code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": correlation,
        })
        .to_string(),
    )
        .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token` with the client credentials grant.
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let auth = &shared.auth;
    if tenant != auth.tenant_id && tenant != "organizations" {
        return refused(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            return refused(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
            );
        }
        None => {
            return refused(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            );
        }
    }
    let Some(client_id) = form.get("client_id") else {
        return refused(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    if *client_id != auth.client_id {
        return refused(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
            ),
        );
    }
    if form.get("client_secret") != Some(&auth.client_secret) {
        return refused(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.",
        );
    }
    let expected = format!("{}/.default", shared.base_url);
    let scope = form.get("scope").map(String::as_str).unwrap_or_default();
    if scope.trim_end_matches('/') != expected && scope != format!("{}//.default", shared.base_url)
    {
        return refused(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    }
    let token = auth.issue();
    let secs = auth.ttl().as_secs();
    (
        StatusCode::OK,
        [("content-type", "application/json; charset=utf-8")],
        json!({
            "token_type": "Bearer",
            "expires_in": secs,
            "ext_expires_in": secs,
            "access_token": token,
        })
        .to_string(),
    )
        .into_response()
}

/// Service protection: requests over a sliding window, per user (one application user
/// here).
#[derive(Debug)]
pub(crate) struct Protection {
    max: Mutex<u64>,
    window: Duration,
    admitted: Mutex<VecDeque<Instant>>,
}

impl Protection {
    pub(crate) fn new(max: u64, window: Duration) -> Self {
        Self {
            max: Mutex::new(max),
            window,
            admitted: Mutex::default(),
        }
    }

    pub(crate) fn max(&self) -> u64 {
        *self.max.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_max(&self, max: u64) {
        *self.max.lock().unwrap_or_else(PoisonError::into_inner) = max;
    }

    pub(crate) fn window(&self) -> Duration {
        self.window
    }

    /// Counts `n` requests; `Err(seconds)` (the `Retry-After`) when the window is full.
    /// `force` counts them even then (the operations of a batch already admitted).
    pub(crate) fn admit(&self, n: u64, force: bool) -> Result<u64, u64> {
        let max = self.max();
        let now = Instant::now();
        let mut q = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        if max > 0 && !force && q.len() as u64 + n > max {
            let oldest = q.front().copied().unwrap_or(now);
            let wait = (oldest + self.window).saturating_duration_since(now);
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        for _ in 0..n {
            q.push_back(now);
        }
        Ok(max.saturating_sub(q.len() as u64))
    }

    /// Requests left in the window.
    pub(crate) fn remaining(&self) -> u64 {
        let max = self.max();
        let q = self.admitted.lock().unwrap_or_else(PoisonError::into_inner);
        max.saturating_sub(q.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_fills_and_frees() {
        let p = Protection::new(3, Duration::from_millis(200));
        assert_eq!(p.admit(2, false), Ok(1));
        assert_eq!(p.admit(1, false), Ok(0));
        assert!(p.admit(1, false).is_err());
        assert!(p.admit(1, true).is_ok(), "forced");
        std::thread::sleep(Duration::from_millis(220));
        assert!(p.admit(1, false).is_ok());
    }
}
