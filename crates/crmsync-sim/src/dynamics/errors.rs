//! Dataverse's error answers: `{"error":{"code":"0x…","message":"…"}}` (the code is not
//! related to the HTTP status and is often empty), and the replies handlers return.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::schema::Table;

/// A handler's answer before it becomes an HTTP response (or a `$batch` part).
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, value: &Value) -> Self {
        Self {
            status,
            headers: vec![(
                "Content-Type".into(),
                "application/json; odata.metadata=minimal".into(),
            )],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// One failure in Dataverse's shape.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &str, message: &str) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.to_owned(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(code: &str, message: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// The payload reader's failures (`0x80048d19`).
    pub(crate) fn payload(table: &Table, detail: &str) -> Self {
        Self::bad_request(
            "0x80048d19",
            &format!(
                "Error identified in Payload provided by the user for Entity :'{}', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> InnerException : Microsoft.OData.ODataException: {detail}",
                table.set
            ),
        )
    }

    pub(crate) fn unknown_property(table: &Table, name: &str) -> Self {
        Self::bad_request(
            "0x80060888",
            &format!(
                "The property '{name}' does not exist on type 'Microsoft.Dynamics.CRM.{}'. Make sure to only use property names that are defined by the type.",
                table.logical
            ),
        )
    }

    pub(crate) fn unknown_select(table: &Table, name: &str) -> Self {
        Self::bad_request(
            "0x80060888",
            &format!(
                "Could not find a property named '{name}' on type 'Microsoft.Dynamics.CRM.{}'.",
                table.logical
            ),
        )
    }

    pub(crate) fn query(message: &str) -> Self {
        Self::bad_request("0x80060888", message)
    }

    pub(crate) fn too_long(table: &Table, name: &str, max: usize) -> Self {
        Self::bad_request(
            "0x80044331",
            &format!(
                "A validation error occurred. The length of the '{name}' attribute of the '{}' entity exceeded the maximum allowed length of '{max}'.",
                table.logical
            ),
        )
    }

    pub(crate) fn out_of_range(table: &Table, name: &str, value: &str, min: i64, max: i64) -> Self {
        Self::bad_request(
            "0x80044331",
            &format!(
                "A validation error occurred. The value {value} of '{name}' on record of type '{}' is outside the valid range. Accepted range: {min} to {max}.",
                table.logical
            ),
        )
    }

    pub(crate) fn invalid_option(
        table: &Table,
        name: &str,
        value: i64,
        options: &[(i64, &str)],
    ) -> Self {
        let accepted: Vec<String> = options.iter().map(|(v, _)| v.to_string()).collect();
        Self::bad_request(
            "0x8004431a",
            &format!(
                "A validation error occurred. The value {value} of '{name}' on record of type '{}' is outside the valid range. Accepted Values: {}",
                table.logical,
                accepted.join(",")
            ),
        )
    }

    /// `404`: `account With Id = … Does Not Exist` (the reference's upsert example has
    /// an empty code; reads and deletes carry `0x80040217`).
    pub(crate) fn does_not_exist(table: &Table, id: &str, code: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            code,
            &format!("{} With Id = {id} Does Not Exist", table.logical),
        )
    }

    /// `If-None-Match: *` on a row that exists.
    pub(crate) fn duplicate_key() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "0x80040237",
            "A record with matching key values already exists.",
        )
    }

    pub(crate) fn duplicate_alternate_key(table: &Table, column: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "0x80060892",
            &format!(
                "A record that has the attribute values {column} already exists. The entity key {}_key requires that this set of attributes contains unique values. Select unique values and try again.",
                table.logical
            ),
        )
    }

    /// `If-Match: W/"…"` with another row version.
    pub(crate) fn version_mismatch() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "0x80060882",
            "The version of the existing record doesn't match the RowVersion property provided.",
        )
    }

    /// The change-tracking token is older than the environment keeps (7 days by
    /// default) or was invalidated. Dataverse names this `ExpiredVersionStamp`.
    pub(crate) fn expired_version_stamp() -> Self {
        Self::bad_request(
            "0x80044352",
            "Version stamp associated with the client has expired. Please perform a full sync.",
        )
    }

    /// One of the three service protection limits.
    pub(crate) fn throttled(
        limit: ThrottleCode,
        retry_after: u64,
        max: u64,
        window_s: u64,
    ) -> Self {
        let message = match limit {
            ThrottleCode::Requests => format!(
                "Number of requests exceeded the limit of {max} over time window of {window_s} seconds."
            ),
            ThrottleCode::ExecutionTime => format!(
                "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window of {window_s} seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."
            ),
            ThrottleCode::Concurrency => {
                "Number of concurrent requests exceeded the limit of 52.".to_owned()
            }
        };
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: limit.code().to_owned(),
            message,
            retry_after: Some(retry_after),
        }
    }

    pub(crate) fn server_error(status: StatusCode) -> Self {
        Self::new(
            status,
            "0x80040216",
            "An unexpected error occurred. Try this action again.",
        )
    }

    pub(crate) fn not_found_resource(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "0x80060888",
            &format!("Resource not found for the segment '{path}'."),
        )
    }

    pub(crate) fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "0x80060888",
            &format!("The HTTP method '{method}' is not allowed for this resource."),
        )
    }

    pub(crate) fn reply(&self) -> Reply {
        let mut reply = Reply::json(
            self.status,
            &json!({"error": {"code": self.code, "message": self.message}}),
        );
        reply.headers[0].1 = "application/json; odata.metadata=minimal".into();
        if let Some(secs) = self.retry_after {
            reply.headers.push(("Retry-After".into(), secs.to_string()));
        }
        reply
    }
}

impl From<ApiError> for Reply {
    fn from(err: ApiError) -> Self {
        err.reply()
    }
}

/// The three service protection limits (api-limits.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThrottleCode {
    /// 6,000 requests per 300 s: `0x80072322` (-2147015902).
    Requests,
    /// 1,200,000 ms combined execution time per 300 s: `0x80072321` (-2147015903).
    ExecutionTime,
    /// 52 concurrent requests: `0x80072326` (-2147015898).
    Concurrency,
}

impl ThrottleCode {
    pub(crate) fn code(self) -> &'static str {
        match self {
            ThrottleCode::Requests => "0x80072322",
            ThrottleCode::ExecutionTime => "0x80072321",
            ThrottleCode::Concurrency => "0x80072326",
        }
    }
}
