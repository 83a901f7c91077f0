//! Shared HTTP plumbing for crmsync providers.
//!
//! One [`ApiClient`] per connection, used by every provider crate:
//! - [`Auth`]: a static token (API key, private-app token) or OAuth 2.0 refresh, with
//!   the access token cached and refreshed before expiry; a 401 refreshes once and
//!   retries. Secrets are `secrecy` types and never printed.
//! - [`Pacer`]: governor limiters keyed by (tenant, connection, bucket), configured
//!   from the provider's published limits and tightened from response headers, so a
//!   well-behaved sync never receives a 429.
//! - [`RetryPolicy`]: every failure is classified retry / retry-after / don't-retry
//!   by the provider's [`ErrorParser`]; exponential backoff with jitter (backon)
//!   honouring `Retry-After`; non-idempotent requests are retried only when the server
//!   cannot have processed them.
//! - [`CircuitBreaker`]: opens after consecutive failures, half-opens after a pause.
//! - [`ApiStats`]: every request is counted.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod breaker;
mod client;
mod pacing;
mod retry;

pub use auth::{Auth, OAuthRefresh, TokenSet, TokenSource, token_request};
pub use breaker::{BreakerConfig, CircuitBreaker};
pub use client::{
    ApiClient, ApiClientBuilder, ApiRequest, ApiResponse, ApiStats, DefaultErrorParser,
    ErrorParser, classify_status, retry_after,
};
pub use pacing::{BucketLimit, Pacer};
pub use retry::RetryPolicy;

pub use reqwest::{Method, StatusCode, header::HeaderMap};
