//! Dataverse's error shape and `parse_error`: every failure classified in one place.
//!
//! Errors come as `{"error":{"code":"0x…","message":"…"}}`; the code is not related to
//! the HTTP status and is often empty, so the status decides first and a few codes
//! refine it:
//!
//! | status / code | kind | retry |
//! | --- | --- | --- |
//! | 429, or `0x80072322` (6,000 requests / 300 s), `0x80072321` (execution time), `0x80072326` (concurrency) | `RateLimited` | after `Retry-After` seconds (5 s without one) |
//! | 401 | `Unauthorized` | the client fetches a new token once |
//! | 403 | `Forbidden` | no |
//! | 404 (`0x80040217` and others) | `NotFound` | no |
//! | 412, `0x80040237` / `0x80060892` (duplicate key), `0x80060882` (row version) | `Conflict` | no |
//! | `0x80044331`, `0x8004431a` (column validation) | `Validation`, naming the column | no |
//! | `0x80044352` (`ExpiredVersionStamp`: the delta token expired) | `InvalidRequest`; the change feed starts a full resync | no |
//! | other 4xx | `InvalidRequest`, naming the column when the message does | no |
//! | 5xx | `Unavailable` | with backoff |
//!
//! Messages keep the code in front (`0x80060888: The property 'x' does not exist …`),
//! so callers can test for a code with [`has_code`].

use std::time::Duration;

use crmsync_core::{Error, ErrorKind, Retry};
use crmsync_http::{HeaderMap, Pacer, StatusCode, retry_after};
use serde::Deserialize;

/// `ExpiredVersionStamp`: the change-tracking token is older than the environment keeps
/// (`ExpireChangeTrackingInDays`, 7 by default). Dataverse answers 400 with this code
/// and "Version stamp associated with the client has expired. Please perform a full
/// sync."
pub const EXPIRED_VERSION_STAMP: &str = "0x80044352";

/// The service protection error codes (hex as the Web API sends them, and decimal).
pub const THROTTLING_CODES: [&str; 6] = [
    "0x80072322",
    "0x80072321",
    "0x80072326",
    "-2147015902",
    "-2147015903",
    "-2147015898",
];

/// How long to wait after a throttling answer without `Retry-After`.
const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(5);

/// The body of a failed request.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub error: ErrorDetail,
}

/// `error` of a failed request.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorDetail {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// Whether `err` carries Dataverse error code `code` (the message starts with it).
pub fn has_code(err: &Error, code: &str) -> bool {
    err.message()
        .strip_prefix(code)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// The column a Dataverse message names, if it names one.
fn named_column(message: &str) -> Option<String> {
    const PATTERNS: [(&str, &str); 5] = [
        ("The property '", "'"),
        ("property named '", "'"),
        ("The length of the '", "'"),
        ("of '", "' on record"),
        ("navigation property '", "'"),
    ];
    PATTERNS.iter().find_map(|(start, end)| {
        let from = message.find(start)? + start.len();
        let to = message[from..].find(end)? + from;
        let name = &message[from..to];
        (!name.is_empty() && name.len() <= 128 && !name.contains(' ')).then(|| name.to_owned())
    })
}

/// A Dataverse failure as crmsync's [`Error`].
pub(crate) fn to_error(
    status: u16,
    code: &str,
    message: &str,
    headers: Option<&HeaderMap>,
) -> Error {
    let throttled = status == 429 || THROTTLING_CODES.contains(&code);
    let kind = if throttled {
        ErrorKind::RateLimited
    } else {
        match (status, code) {
            (401, _) => ErrorKind::Unauthorized,
            (403, _) => ErrorKind::Forbidden,
            (404, _) => ErrorKind::NotFound,
            (_, "0x80040237" | "0x80060892" | "0x80060882") | (409 | 412, _) => ErrorKind::Conflict,
            (_, "0x80044331" | "0x8004431a") => ErrorKind::Validation,
            (408, _) => ErrorKind::Timeout,
            (500..=599, _) => ErrorKind::Unavailable,
            _ => ErrorKind::InvalidRequest,
        }
    };
    let short: String = message.chars().take(500).collect();
    let text = if code.is_empty() {
        if short.is_empty() {
            format!("HTTP {status}")
        } else {
            short
        }
    } else {
        format!("{code}: {short}")
    };
    let mut err = Error::new(kind, text);
    if throttled {
        let wait = headers
            .and_then(retry_after)
            .unwrap_or(DEFAULT_THROTTLE_WAIT);
        err = err.with_retry(Retry::RetryAfter(wait));
    } else if let Some(wait) = headers.and_then(retry_after) {
        if err.is_retryable() {
            err = err.with_retry(Retry::RetryAfter(wait));
        }
    }
    if let Some(column) = named_column(message) {
        err = err.with_field(column);
    }
    err
}

/// Parses a failed response's body (JSON or not) into an [`Error`].
pub(crate) fn parse_failure(status: u16, headers: Option<&HeaderMap>, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(parsed) if !parsed.error.code.is_empty() || !parsed.error.message.is_empty() => {
            to_error(status, &parsed.error.code, &parsed.error.message, headers)
        }
        _ => {
            let text: String = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            to_error(status, "", &text, headers)
        }
    }
}

/// Dataverse's error classification, and the service protection headers read into the
/// pacer.
#[derive(Debug, Default)]
pub(crate) struct DataverseErrors;

impl crmsync_http::ErrorParser for DataverseErrors {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        parse_failure(status.as_u16(), Some(headers), body)
    }

    fn observe(&self, headers: &HeaderMap, pacer: &Pacer, bucket: &str) {
        // Requests left in the user's 300 s window on this web server. At zero the
        // bucket pauses briefly; a 429's Retry-After then gives the exact wait.
        if let Some(remaining) = headers
            .get("x-ms-ratelimit-burst-remaining-xrm-requests")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.replace(',', "").trim().parse::<f64>().ok())
        {
            pacer.observe_remaining(bucket, remaining.max(0.0) as u64, Duration::from_secs(10));
        }
    }
}

/// Percent-encodes a query value, keeping the characters OData expressions use
/// readable (spaces become `%20`).
pub(crate) fn encode_query(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b',' | b'(' | b')' | b'$' | b':' | b'@'
            )
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_http::ErrorParser;

    fn parse(status: u16, body: &str, retry: Option<&str>) -> Error {
        let mut headers = HeaderMap::new();
        if let Some(r) = retry {
            if let Ok(v) = r.parse::<reqwest::header::HeaderValue>() {
                headers.insert("retry-after", v);
            }
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        DataverseErrors.parse(status, &headers, body.as_bytes())
    }

    #[test]
    fn the_three_service_protection_codes_are_throttling() {
        for (code, message) in [
            (
                "0x80072322",
                "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
            ),
            (
                "0x80072321",
                "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of 300 seconds.",
            ),
            (
                "0x80072326",
                "Number of concurrent requests exceeded the limit of 52.",
            ),
        ] {
            let body = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
            let err = parse(429, &body, Some("7"));
            assert_eq!(err.kind(), ErrorKind::RateLimited, "{code}");
            assert_eq!(err.retry(), Retry::RetryAfter(Duration::from_secs(7)));
            assert!(has_code(&err, code));
        }
        // The code alone classifies, whatever the status.
        let err = parse(
            503,
            r#"{"error":{"code":"-2147015902","message":"x"}}"#,
            None,
        );
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert_eq!(err.retry(), Retry::RetryAfter(DEFAULT_THROTTLE_WAIT));
    }

    #[test]
    fn record_errors_name_the_column() {
        let err = parse(
            400,
            r#"{"error":{"code":"0x80060888","message":"The property 'nosuchfield' does not exist on type 'Microsoft.Dynamics.CRM.contact'. Make sure to only use property names that are defined by the type."}}"#,
            None,
        );
        assert_eq!(err.kind(), ErrorKind::InvalidRequest);
        assert_eq!(err.context().field.as_deref(), Some("nosuchfield"));
        assert!(!err.is_retryable());
        let long = parse(
            400,
            r#"{"error":{"code":"0x80044331","message":"A validation error occurred. The length of the 'firstname' attribute of the 'contact' entity exceeded the maximum allowed length of '50'."}}"#,
            None,
        );
        assert_eq!(long.kind(), ErrorKind::Validation);
        assert_eq!(long.context().field.as_deref(), Some("firstname"));
    }

    #[test]
    fn statuses_and_codes_classify() {
        let missing = parse(
            404,
            r#"{"error":{"code":"","message":"account With Id = 1 Does Not Exist"}}"#,
            None,
        );
        assert_eq!(missing.kind(), ErrorKind::NotFound);
        assert_eq!(missing.message(), "account With Id = 1 Does Not Exist");
        let dup = parse(
            412,
            r#"{"error":{"code":"0x80040237","message":"A record with matching key values already exists."}}"#,
            None,
        );
        assert_eq!(dup.kind(), ErrorKind::Conflict);
        let expired = parse(
            400,
            r#"{"error":{"code":"0x80044352","message":"Version stamp associated with the client has expired. Please perform a full sync."}}"#,
            None,
        );
        assert!(has_code(&expired, EXPIRED_VERSION_STAMP));
        assert!(!has_code(&expired, "0x8004435"));
        let html = parse(502, "<html>bad gateway</html>", None);
        assert_eq!(html.kind(), ErrorKind::Unavailable);
        assert!(html.is_retryable());
        let unauthorized = parse(401, "", None);
        assert_eq!(unauthorized.kind(), ErrorKind::Unauthorized);
    }

    #[test]
    fn query_values_encode_spaces_and_quotes() {
        assert_eq!(
            encode_query("name eq 'a&b' or x eq 1"),
            "name%20eq%20%27a%26b%27%20or%20x%20eq%201"
        );
    }
}
