//! Salesforce's wire shapes, `parse_error` (every failure classified in one place),
//! the API usage read from `Sforce-Limit-Info`, and the budget-checked calls every
//! operation goes through.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use crmsync_core::{Error, ErrorKind, Result, Retry};
use crmsync_http::{ApiRequest, ApiResponse, HeaderMap, Pacer, StatusCode, retry_after};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::SalesforceProvider;

/// A `query` / `queryAll` / `nextRecordsUrl` page.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryPage {
    #[serde(default)]
    pub total_size: u64,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub records: Vec<Map<String, Value>>,
    #[serde(default)]
    pub next_records_url: Option<String>,
}

/// One element of an sObject Collections response.
#[derive(Debug, Deserialize)]
pub(crate) struct SaveResult {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<SfError>,
    /// Upserts only (API 46.0 and later).
    #[serde(default)]
    pub created: Option<bool>,
}

/// Salesforce's error element: `{message, errorCode, fields}` in error bodies,
/// `{statusCode, message, fields}` in per-record results.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct SfError {
    #[serde(default, rename = "errorCode", alias = "statusCode")]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// The OAuth error shape (`{error, error_description}`).
#[derive(Debug, Deserialize)]
struct OAuthError {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Kind and retry classification of a Salesforce error code (`status` decides for
/// codes not listed).
pub(crate) fn classify(code: &str, status: u16, message: &str) -> (ErrorKind, Retry) {
    use ErrorKind::*;
    let kind = match code {
        "INVALID_SESSION_ID" | "INVALID_AUTH_HEADER" => Unauthorized,
        "REQUEST_LIMIT_EXCEEDED" => {
            // The concurrent long-running request limit frees up in seconds; the
            // daily total resets over 24 h: stop and resume later.
            let concurrent = message.to_ascii_lowercase().contains("concurrent");
            let retry = if concurrent {
                Retry::RetryAfter(Duration::from_secs(5))
            } else {
                Retry::DontRetry
            };
            return (RateLimited, retry);
        }
        "UNABLE_TO_LOCK_ROW" => return (Conflict, Retry::Retry),
        "JOB_NOT_COMPLETE" => return (Unavailable, Retry::RetryAfter(Duration::from_secs(2))),
        "SERVER_UNAVAILABLE" | "UNKNOWN_EXCEPTION" => Unavailable,
        "DUPLICATES_DETECTED" | "DUPLICATE_VALUE" | "DUPLICATE_EXTERNAL_ID" => Conflict,
        "REQUIRED_FIELD_MISSING"
        | "INVALID_EMAIL_ADDRESS"
        | "FIELD_CUSTOM_VALIDATION_EXCEPTION"
        | "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
        | "STRING_TOO_LONG"
        | "NUMBER_OUTSIDE_VALID_RANGE"
        | "FIELD_INTEGRITY_EXCEPTION"
        | "INVALID_TYPE_ON_FIELD_IN_RECORD" => Validation,
        "ENTITY_IS_DELETED" | "NOT_FOUND" => NotFound,
        "MALFORMED_QUERY"
        | "INVALID_FIELD"
        | "INVALID_TYPE"
        | "MALFORMED_ID"
        | "INVALID_ID_FIELD"
        | "INVALID_QUERY_LOCATOR"
        | "INVALID_QUERY_FILTER_OPERATOR"
        | "INVALID_FIELD_FOR_INSERT_UPDATE"
        | "INVALID_CROSS_REFERENCE_KEY"
        | "JSON_PARSER_ERROR"
        | "INVALIDJOB"
        | "INVALIDENTITY"
        | "API_ERROR" => InvalidRequest,
        "INSUFFICIENT_ACCESS"
        | "INSUFFICIENT_ACCESS_OR_READONLY"
        | "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
        | "API_DISABLED_FOR_ORG"
        | "API_CURRENTLY_DISABLED"
        | "FUNCTIONALITY_NOT_ENABLED" => Forbidden,
        _ => match status {
            401 => Unauthorized,
            403 => Forbidden,
            404 | 410 => NotFound,
            408 => Timeout,
            300 | 409 | 412 => Conflict,
            423 | 429 => RateLimited,
            500..=599 => Unavailable,
            _ => InvalidRequest,
        },
    };
    (kind, kind.default_retry())
}

impl SfError {
    /// The error as crmsync's [`Error`]: the code leads the message (see
    /// [`has_code`]), the fields go to the context.
    pub(crate) fn to_error(&self, status: u16) -> Error {
        let (kind, retry) = classify(&self.code, status, &self.message);
        let code = if self.code.is_empty() {
            "ERROR"
        } else {
            &self.code
        };
        let mut err = Error::new(kind, format!("{code}: {}", self.message)).with_retry(retry);
        if !self.fields.is_empty() {
            err = err.with_field(self.fields.join(","));
        }
        err
    }
}

/// The per-record error of a write result, naming the record (the op's key); the
/// first error decides the kind, the others are added to the message.
pub(crate) fn record_error(errors: &[SfError], record: &str, operation: &str) -> Error {
    let first = errors.first().cloned().unwrap_or_else(|| SfError {
        code: "UNKNOWN".into(),
        message: "the record was not written and Salesforce gave no reason".into(),
        fields: Vec::new(),
    });
    let mut err = first.to_error(400);
    if errors.len() > 1 {
        let mut message = err.message().to_owned();
        for more in errors.iter().skip(1).take(3) {
            message.push_str(&format!(" | {}: {}", more.code, more.message));
        }
        let mut longer = Error::new(err.kind(), message).with_retry(err.retry());
        if let Some(field) = &err.context().field {
            longer = longer.with_field(field.clone());
        }
        err = longer;
    }
    err.with_record(record).with_operation(operation.to_owned())
}

/// Whether `err` carries Salesforce error code `code` (the message starts with it).
pub(crate) fn has_code(err: &Error, code: &str) -> bool {
    err.message()
        .strip_prefix(code)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// Parses `Sforce-Limit-Info` (`api-usage=18/5000`, possibly followed by
/// `per-app-api-usage=…`) into (used, max) of the org's daily allowance.
pub fn parse_limit_info(value: &str) -> Option<(u64, u64)> {
    value.split(',').find_map(|entry| {
        let (name, usage) = entry.trim().split_once('=')?;
        if name.trim() != "api-usage" {
            return None;
        }
        let (used, max) = usage.split_once('/')?;
        let digits = |s: &str| {
            s.trim()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<u64>()
                .ok()
        };
        Some((digits(used)?, digits(max)?))
    })
}

/// The last `Sforce-Limit-Info` seen on this connection, and when.
#[derive(Debug, Default)]
pub(crate) struct ApiUsage(Mutex<Option<((u64, u64), std::time::Instant)>>);

impl ApiUsage {
    pub(crate) fn get(&self) -> Option<(u64, u64)> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|(usage, _)| usage)
    }

    /// How long ago the usage was last reported.
    pub(crate) fn age(&self) -> Option<std::time::Duration> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|(_, at)| at.elapsed())
    }

    fn set(&self, usage: (u64, u64)) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) =
            Some((usage, std::time::Instant::now()));
    }
}

/// Salesforce's error classification; records the API usage of every response.
#[derive(Debug, Default)]
pub(crate) struct SalesforceErrors {
    pub usage: Arc<ApiUsage>,
}

impl crmsync_http::ErrorParser for SalesforceErrors {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        let code = status.as_u16();
        let first = serde_json::from_slice::<Vec<SfError>>(body)
            .ok()
            .and_then(|v| v.into_iter().next())
            .or_else(|| serde_json::from_slice::<SfError>(body).ok())
            .filter(|e| !e.code.is_empty() || !e.message.is_empty());
        let mut err = match first {
            Some(e) => e.to_error(code),
            None => match serde_json::from_slice::<OAuthError>(body) {
                Ok(o) => {
                    let kind = if code >= 500 {
                        ErrorKind::Unavailable
                    } else {
                        ErrorKind::Unauthorized
                    };
                    Error::new(kind, format!("{}: {}", o.error, o.error_description))
                }
                Err(_) => crmsync_http::classify_status(status, headers, body),
            },
        };
        if let Some(wait) = retry_after(headers) {
            if err.is_retryable() {
                err = err.with_retry(Retry::RetryAfter(wait));
            }
        }
        err
    }

    fn observe(&self, headers: &HeaderMap, _pacer: &Pacer, _bucket: &str) {
        if let Some(usage) = headers
            .get("sforce-limit-info")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_limit_info)
        {
            self.usage.set(usage);
        }
    }
}

impl SalesforceProvider {
    /// `/services/data/vXX.X{rest}`.
    pub(crate) fn data_path(&self, rest: &str) -> String {
        format!("/services/data/v{}{rest}", self.config.version())
    }

    /// Fails with [`ErrorKind::Interrupted`] once the connection has used its share
    /// of the org's daily API allowance.
    pub(crate) async fn check_budget(&self, operation: &str) -> Result<()> {
        let budget = self.config.daily_budget;
        if !budget.is_finite() || budget >= 1.0 {
            return Ok(());
        }
        let over = |(used, max): (u64, u64)| {
            let allowed = (budget.max(0.0) * max as f64).floor() as u64;
            max > 0 && used >= allowed
        };
        let Some(mut usage) = self.usage.get() else {
            return Ok(());
        };
        if over(usage)
            && self
                .usage
                .age()
                .is_none_or(|age| age >= self.config.budget_recheck)
        {
            // The allowance is a rolling window: ask again before pausing. The answer's
            // Sforce-Limit-Info header refreshes the usage.
            let req = ApiRequest::get("salesforce.limits", self.data_path("/limits"));
            self.client.send(&req).await?;
            usage = self.usage.get().unwrap_or(usage);
        }
        let (used, max) = usage;
        let allowed = (budget.max(0.0) * max as f64).floor() as u64;
        if !over(usage) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Interrupted,
            format!(
                "Salesforce daily API budget reached: {used}/{max} requests used in the last 24 h, \
                 the budget is {:.0}% ({allowed}); the run pauses and resumes from its checkpoint",
                budget * 100.0
            ),
        )
        .with_retry(Retry::DontRetry)
        .with_tenant(&self.config.tenant)
        .with_connection(&self.config.connection)
        .with_operation(operation.to_owned()))
    }

    /// Sends after the budget check and decodes JSON.
    pub(crate) async fn call_json<T: DeserializeOwned>(&self, req: &ApiRequest) -> Result<T> {
        self.check_budget(req.operation).await?;
        self.client.send_json(req).await.map(|(_, body)| body)
    }

    /// Sends after the budget check.
    pub(crate) async fn call(&self, req: &ApiRequest) -> Result<ApiResponse> {
        self.check_budget(req.operation).await?;
        self.client.send(req).await
    }

    /// Sends without the budget check: the next steps of a bulk job already under
    /// way, which would lose the outcome of records already written if abandoned.
    pub(crate) async fn continue_json<T: DeserializeOwned>(&self, req: &ApiRequest) -> Result<T> {
        self.client.send_json(req).await.map(|(_, body)| body)
    }

    /// One SOQL page: `query` (live records) or `queryAll` (deleted ones too), with
    /// pages of `batch_size` when it is below Salesforce's 2,000.
    pub(crate) async fn query_page(
        &self,
        soql: &str,
        all: bool,
        batch_size: usize,
    ) -> Result<QueryPage> {
        let (operation, resource) = if all {
            ("salesforce.query_all", "/queryAll")
        } else {
            ("salesforce.query", "/query")
        };
        let req = ApiRequest::get(operation, self.data_path(resource)).query("q", soql);
        self.call_json(&with_batch_size(req, batch_size)).await
    }

    /// The next page of a query, by its `nextRecordsUrl`.
    pub(crate) async fn query_more(&self, next_url: &str, batch_size: usize) -> Result<QueryPage> {
        let req = ApiRequest::get("salesforce.query_more", next_url.to_owned());
        self.call_json(&with_batch_size(req, batch_size)).await
    }

    /// Every record of a (small) query, following `nextRecordsUrl`.
    pub(crate) async fn query_all_pages(&self, soql: &str) -> Result<Vec<Map<String, Value>>> {
        let mut page = self.query_page(soql, false, 0).await?;
        let mut records = std::mem::take(&mut page.records);
        while let (false, Some(next)) = (page.done, page.next_records_url.take()) {
            page = self.query_more(&next, 0).await?;
            records.append(&mut page.records);
        }
        Ok(records)
    }
}

/// Asks for smaller pages than the default 2,000 (Salesforce's minimum is 200).
fn with_batch_size(req: ApiRequest, batch_size: usize) -> ApiRequest {
    if batch_size == 0 || batch_size >= 2_000 {
        return req;
    }
    req.header(
        "Sforce-Query-Options",
        format!("batchSize={}", batch_size.max(200)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_http::ErrorParser;

    fn parse(status: u16, body: &str) -> Error {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        SalesforceErrors::default().parse(status, &HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn limit_info_reads_the_org_usage_not_the_per_app_one() {
        assert_eq!(parse_limit_info("api-usage=18/5000"), Some((18, 5000)));
        assert_eq!(
            parse_limit_info("api-usage=25/5000, per-app-api-usage=17/250(appName=sample-app)"),
            Some((25, 5000))
        );
        assert_eq!(
            parse_limit_info("per-app-api-usage=17/250(appName=x), api-usage=9/15000"),
            Some((9, 15000))
        );
        assert_eq!(parse_limit_info("api-usage=abc/5000"), None);
        assert_eq!(parse_limit_info(""), None);
    }

    #[test]
    fn observe_records_usage() {
        let errors = SalesforceErrors::default();
        let mut headers = HeaderMap::new();
        headers.insert(
            "sforce-limit-info",
            reqwest::header::HeaderValue::from_static("api-usage=4000/5000"),
        );
        errors.observe(&headers, &Pacer::unlimited(), "default");
        assert_eq!(errors.usage.get(), Some((4000, 5000)));
    }

    #[test]
    fn expired_sessions_are_unauthorized() {
        let err = parse(
            401,
            r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#,
        );
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(has_code(&err, "INVALID_SESSION_ID"));
    }

    #[test]
    fn the_daily_limit_is_throttling_that_is_not_retried() {
        let err = parse(
            403,
            r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(!err.is_retryable());
        let concurrent = parse(
            403,
            r#"[{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#,
        );
        assert_eq!(concurrent.kind(), ErrorKind::RateLimited);
        assert!(concurrent.is_retryable());
    }

    #[test]
    fn query_and_record_errors_are_classified() {
        let malformed = parse(
            400,
            r#"[{"message":"unexpected token: OR","errorCode":"MALFORMED_QUERY"}]"#,
        );
        assert_eq!(malformed.kind(), ErrorKind::InvalidRequest);
        assert!(!malformed.is_retryable());
        let field = parse(
            400,
            r#"[{"message":"No such column 'Bogus__c' on entity 'Contact'.","errorCode":"INVALID_FIELD"}]"#,
        );
        assert_eq!(field.kind(), ErrorKind::InvalidRequest);
        assert!(field.message().contains("Bogus__c"));
        let dup = parse(
            400,
            r#"[{"message":"Use one of these records?","errorCode":"DUPLICATES_DETECTED","fields":[]}]"#,
        );
        assert_eq!(dup.kind(), ErrorKind::Conflict);
        let required = parse(
            400,
            r#"[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]"#,
        );
        assert_eq!(required.kind(), ErrorKind::Validation);
        assert_eq!(required.context().field.as_deref(), Some("LastName"));
        let deleted = parse(
            404,
            r#"[{"message":"entity is deleted","errorCode":"ENTITY_IS_DELETED","fields":[]}]"#,
        );
        assert_eq!(deleted.kind(), ErrorKind::NotFound);
        let not_found = parse(
            404,
            r#"{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}"#,
        );
        assert_eq!(not_found.kind(), ErrorKind::NotFound);
        let locator = parse(
            400,
            r#"[{"message":"invalid query locator","errorCode":"INVALID_QUERY_LOCATOR"}]"#,
        );
        assert!(has_code(&locator, "INVALID_QUERY_LOCATOR"));
        assert!(!has_code(&locator, "INVALID_QUERY"));
    }

    #[test]
    fn locks_and_outages_are_retried() {
        let lock = parse(
            400,
            r#"[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]}]"#,
        );
        assert_eq!(lock.kind(), ErrorKind::Conflict);
        assert!(lock.is_retryable());
        let down = parse(
            503,
            r#"[{"message":"Server is unavailable","errorCode":"SERVER_UNAVAILABLE"}]"#,
        );
        assert_eq!(down.kind(), ErrorKind::Unavailable);
        assert!(down.is_retryable());
        let html = parse(502, "<html>bad gateway</html>");
        assert_eq!(html.kind(), ErrorKind::Unavailable);
        let job = parse(
            412,
            r#"[{"errorCode":"JOB_NOT_COMPLETE","message":"The job is not complete"}]"#,
        );
        assert!(matches!(job.retry(), Retry::RetryAfter(_)));
    }

    #[test]
    fn oauth_errors_are_unauthorized() {
        let err = parse(
            400,
            r#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(err.message().contains("invalid_grant"));
    }

    #[test]
    fn record_errors_name_the_record_and_fields() {
        let errors = vec![SfError {
            code: "REQUIRED_FIELD_MISSING".into(),
            message: "Required fields are missing: [LastName]".into(),
            fields: vec!["LastName".into()],
        }];
        let err = record_error(&errors, "op-7", "salesforce.collections_create");
        assert_eq!(err.kind(), ErrorKind::Validation);
        assert_eq!(err.context().record.as_deref(), Some("op-7"));
        assert_eq!(err.context().field.as_deref(), Some("LastName"));
        let text = err.to_string();
        assert!(text.contains("REQUIRED_FIELD_MISSING"), "{text}");
    }
}
