//! Zapier's wire facts in one place: target URLs, `parse_error`, the catch-hook
//! receipt, and the HTTP client of one target.

use std::{sync::Arc, time::Duration};

use crmsync_core::{Error, ErrorKind, Result};
use crmsync_http::{
    ApiClient, ApiRequest, Auth, ErrorParser, HeaderMap, RetryPolicy, StatusCode, classify_status,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::MAX_PAYLOAD_BYTES;

/// Classifies Zapier's answers: 410 means the hook is gone (the Zap was turned off or
/// deleted) and is final; 429 honours `Retry-After`; 5xx are temporary.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ZapierErrors;

impl ErrorParser for ZapierErrors {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        if status == StatusCode::GONE {
            return Error::new(
                ErrorKind::NotFound,
                "HTTP 410: the hook is gone (the Zap was turned off or deleted)",
            );
        }
        classify_status(status, headers, body)
    }
}

/// Whether an error means the target unsubscribed itself (HTTP 410 Gone).
pub(crate) fn is_gone(error: &Error) -> bool {
    error.context().status == Some(410)
}

/// A secret URL split so that nothing secret ends up in error contexts: the whole URL
/// without its query is the client's base, the request path is `/` or empty (so
/// errors name `POST /`), and query pairs travel separately.
pub(crate) struct Target {
    base: String,
    path: &'static str,
    query: Vec<(String, String)>,
}

impl Target {
    pub(crate) fn parse(url: &SecretString) -> Result<Self> {
        let parsed = url::Url::parse(url.expose_secret()).map_err(|_| {
            Error::new(ErrorKind::Config, "the hook URL is not a valid URL")
                .with_operation("zapier.target")
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::new(
                ErrorKind::Config,
                "the hook URL must be an http(s) URL with a host",
            )
            .with_operation("zapier.target"));
        }
        let query = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut bare = parsed.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        let base: String = bare.into();
        // The client trims trailing slashes from its base; the path puts one back.
        let path = if base.ends_with('/') { "/" } else { "" };
        Ok(Self { base, path, query })
    }

    /// The client of this target: no `Authorization` header (the URL is the
    /// credential), Zapier's error classification, no pacing of its own (callers pace
    /// per tenant).
    pub(crate) fn client(
        &self,
        tenant: &str,
        connection: &str,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Result<ApiClient> {
        ApiClient::builder(self.base.clone(), Auth::None)
            .scope(tenant, connection)
            .retry(retry)
            .timeout(timeout)
            .error_parser(Arc::new(ZapierErrors))
            .build()
    }

    /// A JSON POST of `body` to this target. Deliveries are retried after 5xx and
    /// timeouts too (at-least-once: receivers see an event twice only when Zapier
    /// failed after taking it). Fails alone, before sending, above 10 MB.
    pub(crate) fn post(
        &self,
        operation: &'static str,
        body: &serde_json::Value,
    ) -> Result<ApiRequest> {
        let bytes = serde_json::to_vec(body)?;
        if bytes.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "the payload is {} bytes; Zapier takes at most {MAX_PAYLOAD_BYTES}",
                    bytes.len()
                ),
            )
            .with_operation(operation)
            .with_rule("max_payload_bytes"));
        }
        let mut request = ApiRequest::post(operation, self.path, serde_json::Value::Null, true)
            .raw_body("application/json", bytes);
        request.body = None;
        request.query = self.query.clone();
        Ok(request)
    }
}

/// What a catch hook answers: `{"status":"success","attempt","id","request_id"}`
/// (observed; the body cannot be customized, and "silent mode" sends none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct CatchHookReceipt {
    /// `success` (empty in silent mode).
    #[serde(default)]
    pub status: String,
    /// Zapier's id of the attempt.
    #[serde(default)]
    pub attempt: Option<String>,
    /// Zapier's id of the request.
    #[serde(default)]
    pub id: Option<String>,
    /// Zapier's request id.
    #[serde(default)]
    pub request_id: Option<String>,
}

impl CatchHookReceipt {
    /// Parses a 2xx body: empty (silent mode) or Zapier's success JSON.
    pub(crate) fn parse(body: &[u8]) -> Result<Self> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        let receipt: Self = serde_json::from_slice(body).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                "the catch hook answered 2xx with a body that is not Zapier's receipt",
            )
            .with_source(e)
            .with_operation("zapier.catch_hook")
        })?;
        if receipt.status != "success" {
            return Err(Error::new(
                ErrorKind::InvalidRequest,
                format!("the catch hook answered status {:?}", receipt.status),
            )
            .with_operation("zapier.catch_hook"));
        }
        Ok(receipt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn targets_keep_the_trailing_slash_and_the_query() {
        let t = Target::parse(&secret("https://hooks.zapier.com/hooks/catch/1/abc/?x=1"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.base, "https://hooks.zapier.com/hooks/catch/1/abc/");
        assert_eq!(t.path, "/");
        assert_eq!(t.query, vec![("x".to_owned(), "1".to_owned())]);
        let t = Target::parse(&secret("http://127.0.0.1:9/hook")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.path, "");
    }

    #[test]
    fn bad_urls_are_config_errors_that_do_not_echo_the_url() {
        for bad in ["not a url", "ftp://x/y", "mailto:secret@example.com"] {
            let Err(err) = Target::parse(&secret(bad)) else {
                panic!("{bad} accepted");
            };
            assert_eq!(err.kind(), ErrorKind::Config);
            assert!(!err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn receipts_parse_success_and_silent_mode() {
        let r = CatchHookReceipt::parse(
            br#"{"status":"success","attempt":"a1","id":"i1","request_id":"r1"}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.request_id.as_deref(), Some("r1"));
        assert!(CatchHookReceipt::parse(b"").is_ok());
        let err = CatchHookReceipt::parse(b"<html>").err().map(|e| e.kind());
        assert_eq!(err, Some(ErrorKind::Decode));
        let err = CatchHookReceipt::parse(br#"{"status":"error"}"#)
            .err()
            .map(|e| e.kind());
        assert_eq!(err, Some(ErrorKind::InvalidRequest));
    }

    #[test]
    fn gone_is_final_and_throttling_is_not() {
        let gone = ZapierErrors.parse(StatusCode::GONE, &HeaderMap::new(), b"");
        assert_eq!(gone.kind(), ErrorKind::NotFound);
        assert!(!gone.is_retryable());
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", axum::http::HeaderValue::from_static("2"));
        let throttled = ZapierErrors.parse(StatusCode::TOO_MANY_REQUESTS, &headers, b"");
        assert_eq!(
            throttled.retry(),
            crmsync_core::Retry::RetryAfter(Duration::from_secs(2))
        );
    }
}
