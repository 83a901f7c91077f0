//! One error type for all of crmsync: a kind, a retry classification and context.

use std::{fmt, time::Duration};

/// Result with crmsync's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of which system reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Credentials are missing, invalid or expired and could not be refreshed.
    Unauthorized,
    /// The credentials are valid but lack a permission or scope.
    Forbidden,
    /// The record or endpoint does not exist.
    NotFound,
    /// The remote system throttled the request (HTTP 429, daily limits, 423 locked).
    RateLimited,
    /// The remote system failed or could not be reached (5xx, resets, DNS).
    Unavailable,
    /// The request did not complete in time.
    Timeout,
    /// The remote system rejected the request as malformed or semantically invalid.
    InvalidRequest,
    /// A record failed a mapping or validation rule.
    Validation,
    /// A write conflicted with the current state (duplicate, version mismatch).
    Conflict,
    /// A response could not be decoded (malformed JSON, wrong types).
    Decode,
    /// The configuration is wrong (unknown connection, bad mapping, bad flag).
    Config,
    /// The store failed.
    Storage,
    /// Encryption or decryption failed (for example a wrong credentials key).
    Crypto,
    /// The circuit breaker for this connection is open.
    CircuitOpen,
    /// The operation was cancelled or a budget was exhausted; the run can resume later.
    Interrupted,
    /// A lease is held by another worker.
    Busy,
    /// Anything else: a bug or an unexpected state.
    Internal,
}

impl ErrorKind {
    /// Stable snake_case name, as stored in dead letters and run history.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::InvalidRequest => "invalid_request",
            Self::Validation => "validation",
            Self::Conflict => "conflict",
            Self::Decode => "decode",
            Self::Config => "config",
            Self::Storage => "storage",
            Self::Crypto => "crypto",
            Self::CircuitOpen => "circuit_open",
            Self::Interrupted => "interrupted",
            Self::Busy => "busy",
            Self::Internal => "internal",
        }
    }

    /// The retry classification a failure of this kind gets unless told otherwise.
    pub fn default_retry(self) -> Retry {
        match self {
            Self::RateLimited | Self::Unavailable | Self::Timeout => Retry::Retry,
            _ => Retry::DontRetry,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether and when a failed operation may be tried again (the smithy-rs classification).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Transient: retry with exponential backoff.
    Retry,
    /// Throttled with an explicit wait (`Retry-After`).
    RetryAfter(Duration),
    /// Permanent: retrying cannot help.
    DontRetry,
}

impl Retry {
    /// Whether a retry may help.
    pub fn is_retryable(self) -> bool {
        !matches!(self, Retry::DontRetry)
    }
}

/// Where an error happened. Never holds secrets or record contents.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorContext {
    /// The tenant whose work failed.
    pub tenant: Option<String>,
    /// The connection whose work failed.
    pub connection: Option<String>,
    /// The operation, e.g. `hubspot.search` or `store.commit_page`.
    pub operation: Option<String>,
    /// The endpoint (method and path, without query secrets).
    pub endpoint: Option<String>,
    /// The record concerned.
    pub record: Option<String>,
    /// The field concerned.
    pub field: Option<String>,
    /// The rule that failed (validation), e.g. `required` or `phone_e164`.
    pub rule: Option<String>,
    /// The HTTP status, when one was received.
    pub status: Option<u16>,
}

/// crmsync's error: a [`kind`](Error::kind), a [`retry`](Error::retry) classification,
/// a message, [context](ErrorContext) and an optional source.
///
/// ```
/// use crmsync_core::{Error, ErrorKind, Retry};
/// let err = Error::new(ErrorKind::RateLimited, "ten-second limit reached")
///     .with_retry(Retry::RetryAfter(std::time::Duration::from_secs(2)))
///     .with_operation("hubspot.batch_update");
/// assert!(err.is_retryable());
/// assert!(err.to_string().contains("hubspot.batch_update"));
/// ```
pub struct Error {
    kind: ErrorKind,
    retry: Retry,
    message: String,
    context: Box<ErrorContext>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error whose retry classification follows its kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            retry: kind.default_retry(),
            message: message.into(),
            context: Box::default(),
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::Validation`] naming the record, field and rule.
    pub fn validation(
        record: impl Into<String>,
        field: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::Validation, message)
            .with_record(record)
            .with_field(field)
            .with_rule(rule)
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The retry classification.
    pub fn retry(&self) -> Retry {
        self.retry
    }

    /// Whether a retry may help.
    pub fn is_retryable(&self) -> bool {
        self.retry.is_retryable()
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The context.
    pub fn context(&self) -> &ErrorContext {
        &self.context
    }

    /// Overrides the retry classification.
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    /// Marks the error permanent (used once retries are exhausted).
    pub fn persistent(self) -> Self {
        self.with_retry(Retry::DontRetry)
    }

    /// Attaches the source error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Sets the tenant.
    pub fn with_tenant(mut self, tenant: impl fmt::Display) -> Self {
        self.context.tenant = Some(tenant.to_string());
        self
    }

    /// Sets the connection.
    pub fn with_connection(mut self, connection: impl fmt::Display) -> Self {
        self.context.connection = Some(connection.to_string());
        self
    }

    /// Sets the operation.
    pub fn with_operation(mut self, operation: impl Into<String>) -> Self {
        self.context.operation = Some(operation.into());
        self
    }

    /// Sets the endpoint.
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.context.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the record.
    pub fn with_record(mut self, record: impl Into<String>) -> Self {
        self.context.record = Some(record.into());
        self
    }

    /// Sets the field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.context.field = Some(field.into());
        self
    }

    /// Sets the failed rule.
    pub fn with_rule(mut self, rule: impl Into<String>) -> Self {
        self.context.rule = Some(rule.into());
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.context.status = Some(status);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        let c = &*self.context;
        let parts = [
            ("tenant", &c.tenant),
            ("connection", &c.connection),
            ("operation", &c.operation),
            ("endpoint", &c.endpoint),
            ("record", &c.record),
            ("field", &c.field),
            ("rule", &c.rule),
        ];
        let mut first = true;
        for (name, value) in parts {
            if let Some(value) = value {
                f.write_str(if first { " (" } else { ", " })?;
                write!(f, "{name}={value}")?;
                first = false;
            }
        }
        if let Some(status) = c.status {
            f.write_str(if first { " (" } else { ", " })?;
            write!(f, "status={status}")?;
            first = false;
        }
        if !first {
            f.write_str(")")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("retry", &self.retry)
            .field("message", &self.message)
            .field("context", &self.context)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::new(ErrorKind::Decode, "invalid JSON").with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_classify_retry_by_default() {
        assert!(Error::new(ErrorKind::RateLimited, "x").is_retryable());
        assert!(Error::new(ErrorKind::Unavailable, "x").is_retryable());
        assert!(!Error::new(ErrorKind::Validation, "x").is_retryable());
        assert!(!Error::new(ErrorKind::NotFound, "x").is_retryable());
    }

    #[test]
    fn display_names_record_field_and_rule() {
        let err = Error::validation("c-1", "phone", "phone_e164", "not a phone number");
        let text = err.to_string();
        assert!(text.contains("record=c-1"), "{text}");
        assert!(text.contains("field=phone"), "{text}");
        assert!(text.contains("rule=phone_e164"), "{text}");
    }
}
