//! Salesforce's answers, built in one place so every route answers alike.
//!
//! REST errors are a JSON **array** `[{"message":…,"errorCode":…,"fields":[…]}]` (reference
//! §2.5); per-record errors in collections and composite results are
//! `{"statusCode":…,"message":…,"fields":[…]}`; the OAuth endpoint uses the standard
//! `{"error":…,"error_description":…}` instead.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

/// `application/json;charset=UTF-8`, as Salesforce labels JSON.
pub(crate) const JSON: &str = "application/json;charset=UTF-8";
/// What Bulk API CSV is labelled.
pub(crate) const CSV: &str = "text/csv";

/// One entry of an error array.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorItem {
    pub message: String,
    #[serde(rename = "errorCode")]
    pub error_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<String>>,
}

/// An error answer: a status and an array body.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub errors: Vec<ErrorItem>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorItem {
                message: message.into(),
                error_code: code.to_string(),
                fields: None,
            }],
            retry_after: None,
        }
    }

    /// 400 with the given code.
    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Adds `fields` to the (single) error.
    pub(crate) fn with_fields(mut self, fields: Vec<String>) -> Self {
        if let Some(e) = self.errors.first_mut() {
            e.fields = Some(fields);
        }
        self
    }

    /// 404 `NOT_FOUND`, Salesforce's answer for unknown resources and records.
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    /// 400 `MALFORMED_QUERY`.
    pub(crate) fn malformed_query(message: impl Into<String>) -> Self {
        Self::bad_request("MALFORMED_QUERY", message)
    }

    /// 400 `JSON_PARSER_ERROR`.
    pub(crate) fn json_parser(message: impl Into<String>) -> Self {
        Self::bad_request("JSON_PARSER_ERROR", message)
    }

    /// 400 `INVALID_FIELD` for a field the object does not have.
    pub(crate) fn no_such_column(field: &str, object: &str) -> Self {
        Self::bad_request(
            "INVALID_FIELD",
            format!("No such column '{field}' on sobject of type {object}"),
        )
    }

    /// 404 `NOT_FOUND` for an sObject type that does not exist.
    pub(crate) fn unknown_object(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!(
                "The requested resource does not exist: sObject type '{name}' is not supported."
            ),
        )
    }

    /// 401 `INVALID_SESSION_ID`.
    pub(crate) fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    /// 403 `REQUEST_LIMIT_EXCEEDED`.
    pub(crate) fn request_limit() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
    }

    /// A 502 or 503 from an injected fault.
    pub(crate) fn server_error(status: StatusCode) -> Self {
        if status == StatusCode::BAD_GATEWAY {
            Self::new(
                status,
                "SERVER_UNAVAILABLE",
                "Bad Gateway: the server did not answer in time.",
            )
        } else {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_UNAVAILABLE",
                "Server Unavailable",
            )
        }
    }

    /// 405 for a method the resource does not take.
    pub(crate) fn method_not_allowed(method: &str, allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        )
    }

    /// The single-record answer for a failed write: 400 with the record's error.
    pub(crate) fn from_record(err: &RecordError) -> Self {
        Self::bad_request(err.code, err.message.clone()).with_fields(err.fields.clone())
    }
}

/// Why a write to one record failed (a DML error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordError {
    pub code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl RecordError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>, fields: Vec<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields,
        }
    }

    /// A record id that names nothing.
    pub(crate) fn invalid_id() -> Self {
        Self::new(
            "INVALID_CROSS_REFERENCE_KEY",
            "invalid cross reference id",
            vec![],
        )
    }

    /// A record in the recycle bin.
    pub(crate) fn deleted() -> Self {
        Self::new("ENTITY_IS_DELETED", "entity is deleted", vec![])
    }

    /// A malformed id.
    pub(crate) fn malformed_id(id: &str) -> Self {
        Self::new(
            "MALFORMED_ID",
            format!("Id in URL or body is malformed: {id}"),
            vec!["Id".to_string()],
        )
    }

    /// `{"statusCode","message","fields"}`, as collections and composite results carry it.
    pub(crate) fn to_json(&self) -> Value {
        json!({"statusCode": self.code, "message": self.message, "fields": self.fields})
    }

    /// `CODE:message:Field1,Field2 --`, as Bulk API `sf__Error` writes it.
    pub(crate) fn to_bulk(&self) -> String {
        format!(
            "{}:{}:{} --",
            self.code,
            self.message,
            self.fields.join(",")
        )
    }
}

/// A finished answer to one (sub)request: what the gate sends, and what composite embeds.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: Vec<u8>,
    pub content_type: Option<&'static str>,
    pub headers: Vec<(HeaderName, String)>,
}

impl Reply {
    /// Serializes `value` as a JSON answer.
    pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Self {
        Self {
            status,
            body: serde_json::to_vec(value).unwrap_or_default(),
            content_type: Some(JSON),
            headers: Vec::new(),
        }
    }

    /// A CSV answer.
    pub(crate) fn csv(status: StatusCode, body: Vec<u8>) -> Self {
        Self {
            status,
            body,
            content_type: Some(CSV),
            headers: Vec::new(),
        }
    }

    /// An answer without a body (204).
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: Vec::new(),
            content_type: None,
            headers: Vec::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The body as JSON, for composite: parsed when it is JSON, a string otherwise.
    pub(crate) fn body_value(&self) -> Value {
        if self.body.is_empty() {
            return Value::Null;
        }
        if self.content_type == Some(JSON) {
            if let Ok(v) = serde_json::from_slice(&self.body) {
                return v;
            }
        }
        Value::String(String::from_utf8_lossy(&self.body).into_owned())
    }
}

impl From<ApiError> for Reply {
    fn from(err: ApiError) -> Self {
        let mut reply = Reply::json(err.status, &err.errors);
        if err.status == StatusCode::UNAUTHORIZED {
            reply = reply.with_header(header::WWW_AUTHENTICATE, "Token");
        }
        if let Some(secs) = err.retry_after {
            reply = reply.with_header(header::RETRY_AFTER, secs.to_string());
        }
        reply
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        match self.content_type {
            Some(ct) => {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            None => {
                headers.remove(header::CONTENT_TYPE);
            }
        }
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        Reply::from(self).into_response()
    }
}

/// The OAuth endpoint's error: 400 `{"error","error_description"}`.
pub(crate) fn oauth_error(error: &str, description: &str) -> Reply {
    Reply::json(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description}),
    )
}
