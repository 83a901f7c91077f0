//! Settings: Zapier's limits, the deliverer's and a catch hook's.

use std::{fmt, time::Duration};

use crmsync_core::ConnectionId;
use crmsync_http::{BucketLimit, RetryPolicy};
use secrecy::SecretString;

/// The largest webhook payload Zapier takes (10 MB, docs.zapier.com operating
/// constraints). Larger events fail alone, before anything is sent.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

/// How many webhooks may be sent to Zapier: its published REST-hook throttle is 30 per
/// second and 10,000 per 5 minutes; beyond that it answers 429. `0` disables a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZapierLimits {
    /// Requests per second.
    pub per_second: u32,
    /// Requests per 5 minutes.
    pub per_five_minutes: u32,
}

impl Default for ZapierLimits {
    fn default() -> Self {
        Self {
            per_second: 30,
            per_five_minutes: 10_000,
        }
    }
}

impl ZapierLimits {
    /// No pacing at all (tests against a simulator without limits).
    pub fn unlimited() -> Self {
        Self {
            per_second: 0,
            per_five_minutes: 0,
        }
    }

    /// Legacy catch-hook URLs without an account id: 1,000 per 5 minutes (3rd-party
    /// summary of Zapier's support pages).
    pub fn legacy_catch_hook() -> Self {
        Self {
            per_second: 30,
            per_five_minutes: 1_000,
        }
    }

    pub(crate) fn buckets(&self) -> Vec<BucketLimit> {
        vec![
            BucketLimit::new("second", self.per_second, Duration::from_secs(1)),
            BucketLimit::new(
                "five_minutes",
                self.per_five_minutes,
                Duration::from_secs(300),
            ),
        ]
    }
}

/// Where the [`Deliverer`](crate::Deliverer) starts reading a change feed it has no
/// checkpoint for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeliveryStart {
    /// At the end: existing records are taken as the baseline and only later changes
    /// are delivered (a Zap turned on today does not receive years of history).
    #[default]
    Now,
    /// At the beginning: every existing record is delivered as `created`.
    Beginning,
}

/// Settings of a [`Deliverer`](crate::Deliverer).
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// The name its checkpoints, links and dead letters are kept under in the
    /// [`SyncStore`](crmsync_core::SyncStore) (default `zapier-hooks`); keep it apart
    /// from the connections the engine syncs.
    pub connection: ConnectionId,
    /// Pacing per tenant, over all of the tenant's targets.
    pub limits: ZapierLimits,
    /// Retries of one delivery (429s honour `Retry-After`, 5xx back off); what is still
    /// failing afterwards becomes a dead letter.
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Changes read per page of the source's feed.
    pub page_size: usize,
    /// Where a feed without a checkpoint starts.
    pub start: DeliveryStart,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            connection: ConnectionId::new("zapier-hooks"),
            limits: ZapierLimits::default(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            page_size: 500,
            start: DeliveryStart::Now,
        }
    }
}

/// Settings of a [`CatchHookProvider`](crate::CatchHookProvider). The URL is the
/// credential: it is a [`SecretString`] and `Debug` never shows it.
#[derive(Clone)]
pub struct CatchHookConfig {
    /// `https://hooks.zapier.com/hooks/catch/{account}/{hook}/`.
    pub url: SecretString,
    /// The tenant (pacing key and error context).
    pub tenant: String,
    /// The connection (pacing key and error context).
    pub connection: String,
    /// Pacing; legacy URLs without an account id get the legacy limit.
    pub limits: ZapierLimits,
    /// Retries of one POST.
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Records per `upsert` call (each record is one POST).
    pub max_batch: usize,
    /// The fields the Zap expects, listed by `describe` (a catch hook takes any JSON).
    pub fields: Vec<String>,
}

impl CatchHookConfig {
    /// Settings for a catch-hook URL, with Zapier's limits for its shape.
    pub fn new(url: impl Into<String>) -> Self {
        let url: String = url.into();
        let limits = if is_legacy_catch_hook(&url) {
            ZapierLimits::legacy_catch_hook()
        } else {
            ZapierLimits::default()
        };
        Self {
            url: SecretString::from(url),
            tenant: String::new(),
            connection: String::new(),
            limits,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            max_batch: 25,
            fields: Vec::new(),
        }
    }

    /// Sets the tenant and connection.
    pub fn scope(mut self, tenant: impl Into<String>, connection: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self.connection = connection.into();
        self
    }

    /// Declares the fields `describe` lists.
    pub fn fields(mut self, fields: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }
}

/// `/hooks/catch/{hook}/` (no account id) rather than `/hooks/catch/{account}/{hook}/`.
fn is_legacy_catch_hook(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    matches!(segments.as_slice(), ["hooks", "catch", _])
}

impl fmt::Debug for CatchHookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchHookConfig")
            .field("url", &"[REDACTED]")
            .field("tenant", &self.tenant)
            .field("connection", &self.connection)
            .field("limits", &self.limits)
            .field("retry", &self.retry)
            .field("max_batch", &self.max_batch)
            .field("fields", &self.fields)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_hook_urls_get_the_legacy_limit() {
        let legacy = CatchHookConfig::new("https://hooks.zapier.com/hooks/catch/abc123/");
        assert_eq!(legacy.limits, ZapierLimits::legacy_catch_hook());
        let current = CatchHookConfig::new("https://hooks.zapier.com/hooks/catch/42/abc123/");
        assert_eq!(current.limits, ZapierLimits::default());
    }

    #[test]
    fn debug_never_shows_the_hook_url() {
        let config = CatchHookConfig::new("https://hooks.zapier.com/hooks/catch/42/s3cr3t/");
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
}
