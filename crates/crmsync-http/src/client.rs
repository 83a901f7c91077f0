//! The `ApiClient`: one per connection, shared by a provider's operations.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use crmsync_core::{Error, ErrorKind, Result, Retry};
use reqwest::{Method, StatusCode, header::HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use crate::{
    Auth, BreakerConfig, CircuitBreaker, Pacer, RetryPolicy, TokenSet,
    auth::{CachedToken, refresh},
    pacing::BucketLimit,
};

/// Maps a failed response to an [`Error`] with the right kind and retry
/// classification (a provider's `parse_error`), and reads pacing hints from headers.
pub trait ErrorParser: Send + Sync + 'static {
    /// Classifies a non-success response.
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error;

    /// Reads rate-limit headers of any response (success or not) into the pacer.
    fn observe(&self, _headers: &HeaderMap, _pacer: &Pacer, _bucket: &str) {}
}

/// The status-code classification every provider starts from.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultErrorParser;

impl ErrorParser for DefaultErrorParser {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
        classify_status(status, headers, body)
    }
}

/// Kind and retry from the status code alone, honouring `Retry-After` (seconds).
pub fn classify_status(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Error {
    let kind = match status.as_u16() {
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 | 410 => ErrorKind::NotFound,
        408 => ErrorKind::Timeout,
        409 | 412 => ErrorKind::Conflict,
        423 | 429 => ErrorKind::RateLimited,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::InvalidRequest,
    };
    let text = String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned();
    let mut err = Error::new(kind, format!("HTTP {}: {text}", status.as_u16()));
    if let Some(wait) = retry_after(headers) {
        err = err.with_retry(Retry::RetryAfter(wait));
    } else if status.as_u16() == 423 {
        err = err.with_retry(Retry::RetryAfter(Duration::from_secs(2)));
    }
    err
}

/// The `Retry-After` header in seconds, if present and numeric.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// One HTTP call to make.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// A path below the base URL (`/crm/v3/...`) or an absolute URL (paging links).
    pub path: String,
    /// Query parameters (repeated names allowed).
    pub query: Vec<(String, String)>,
    /// A JSON body.
    pub body: Option<serde_json::Value>,
    /// The rate-limit bucket (`default`, `search`, ...).
    pub bucket: &'static str,
    /// The operation's name for errors and traces (`hubspot.search`).
    pub operation: &'static str,
    /// Whether repeating the request is harmless. Non-idempotent requests are retried
    /// only when the server cannot have processed them (429, 423, connect errors).
    pub idempotent: bool,
    /// Extra request headers (`Sforce-Query-Options`, `Prefer`, an `Accept` that
    /// replaces the default `application/json`).
    pub headers: Vec<(String, String)>,
    /// A non-JSON body and its content type (CSV uploads); sent instead of `body`.
    pub raw_body: Option<(String, Vec<u8>)>,
}

impl ApiRequest {
    /// A GET (idempotent).
    pub fn get(operation: &'static str, path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            bucket: "default",
            operation,
            idempotent: true,
            headers: Vec::new(),
            raw_body: None,
        }
    }

    /// A POST with a JSON body; say whether it is idempotent.
    pub fn post(
        operation: &'static str,
        path: impl Into<String>,
        body: serde_json::Value,
        idempotent: bool,
    ) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
            bucket: "default",
            operation,
            idempotent,
            headers: Vec::new(),
            raw_body: None,
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets the rate-limit bucket.
    pub fn bucket(mut self, bucket: &'static str) -> Self {
        self.bucket = bucket;
        self
    }

    /// Sets the method (`PATCH`, `PUT`, `DELETE`, ...).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sends `bytes` as the body with `content_type` instead of a JSON body.
    pub fn raw_body(mut self, content_type: impl Into<String>, bytes: Vec<u8>) -> Self {
        self.raw_body = Some((content_type.into(), bytes));
        self
    }

    fn endpoint(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        format!("{} {}", self.method, path)
    }
}

/// A successful response.
#[derive(Debug)]
pub struct ApiResponse {
    /// Status (2xx).
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Counters of one client.
#[derive(Debug, Default)]
pub struct ApiStats {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
    refreshes: AtomicU64,
    failures: AtomicU64,
}

impl ApiStats {
    /// Requests sent (each attempt counts).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// Retries made.
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    /// 429 (or 423) responses received.
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
    /// Token refreshes.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }
    /// Requests that failed for good.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

struct TokenState {
    auth: Auth,
    cached: Option<CachedToken>,
    generation: u64,
}

type RefreshHook = Arc<dyn Fn(&TokenSet) + Send + Sync>;

struct Inner {
    http: reqwest::Client,
    base_url: std::sync::RwLock<String>,
    follow_instance_url: bool,
    /// [`Auth::None`]: requests carry no `Authorization` header.
    anonymous: bool,
    tenant: String,
    connection: String,
    token: tokio::sync::Mutex<TokenState>,
    pacer: Pacer,
    retry: RetryPolicy,
    breaker: CircuitBreaker,
    parser: Arc<dyn ErrorParser>,
    stats: ApiStats,
    on_refresh: Option<RefreshHook>,
}

/// The HTTP client of one connection: auth, pacing, retries, breaker and counting.
/// Cheap to clone.
#[derive(Clone)]
pub struct ApiClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiClient")
            .field("base_url", &self.base_url())
            .field("tenant", &self.inner.tenant)
            .field("connection", &self.inner.connection)
            .finish_non_exhaustive()
    }
}

/// Builds an [`ApiClient`].
pub struct ApiClientBuilder {
    base_url: String,
    auth: Auth,
    tenant: String,
    connection: String,
    limits: Vec<BucketLimit>,
    retry: RetryPolicy,
    breaker: BreakerConfig,
    timeout: Duration,
    parser: Arc<dyn ErrorParser>,
    on_refresh: Option<RefreshHook>,
    user_agent: String,
    follow_instance_url: bool,
}

impl ApiClientBuilder {
    /// Send requests to the `instance_url` a token response names (Salesforce), from
    /// then on.
    pub fn follow_instance_url(mut self, follow: bool) -> Self {
        self.follow_instance_url = follow;
        self
    }

    /// The tenant and connection this client works for (pacing keys, error context).
    pub fn scope(mut self, tenant: impl Into<String>, connection: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self.connection = connection.into();
        self
    }

    /// Published rate limits per bucket.
    pub fn limits(mut self, limits: Vec<BucketLimit>) -> Self {
        self.limits = limits;
        self
    }

    /// Retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Circuit breaker settings.
    pub fn breaker(mut self, breaker: BreakerConfig) -> Self {
        self.breaker = breaker;
        self
    }

    /// Per-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The provider's error classification.
    pub fn error_parser(mut self, parser: Arc<dyn ErrorParser>) -> Self {
        self.parser = parser;
        self
    }

    /// Called after every token refresh (to persist a rotated refresh token).
    pub fn on_refresh(mut self, hook: impl Fn(&TokenSet) + Send + Sync + 'static) -> Self {
        self.on_refresh = Some(Arc::new(hook));
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, agent: impl Into<String>) -> Self {
        self.user_agent = agent.into();
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<ApiClient> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(self.user_agent)
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Config, "cannot build the HTTP client").with_source(e)
            })?;
        let pacer = if self.limits.is_empty() {
            Pacer::unlimited()
        } else {
            // Keyed by the account's URL too: one connection name never shares a budget
            // with another account.
            let account = format!("{}@{}", self.connection, self.base_url);
            Pacer::shared(&self.tenant, &account, &self.limits)
        };
        let cached = match &self.auth {
            Auth::OAuth(o) => o.access_token.clone().map(|token| CachedToken {
                token,
                refresh_after: None,
                generation: 0,
            }),
            Auth::Bearer(_) | Auth::Source(_) | Auth::None => None,
        };
        Ok(ApiClient {
            inner: Arc::new(Inner {
                http,
                base_url: std::sync::RwLock::new(self.base_url.trim_end_matches('/').to_owned()),
                follow_instance_url: self.follow_instance_url,
                anonymous: matches!(self.auth, Auth::None),
                tenant: self.tenant,
                connection: self.connection,
                token: tokio::sync::Mutex::new(TokenState {
                    auth: self.auth,
                    cached,
                    generation: 0,
                }),
                pacer,
                retry: self.retry,
                breaker: CircuitBreaker::new(self.breaker),
                parser: self.parser,
                stats: ApiStats::default(),
                on_refresh: self.on_refresh,
            }),
        })
    }
}

enum Attempt<T> {
    Done(T),
    Failed {
        error: Error,
        server_untouched: bool,
    },
    Unauthorized {
        generation: u64,
        error: Error,
    },
}

/// Bearer auth never reaches the token fetch; kept total without a panic.
fn unreachable_bearer() -> Result<TokenSet> {
    Err(Error::new(
        ErrorKind::Internal,
        "a static token has nothing to refresh",
    ))
}

impl ApiClient {
    /// Starts building a client for `base_url` with `auth`.
    pub fn builder(base_url: impl Into<String>, auth: Auth) -> ApiClientBuilder {
        ApiClientBuilder {
            base_url: base_url.into(),
            auth,
            tenant: String::new(),
            connection: String::new(),
            limits: Vec::new(),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            timeout: Duration::from_secs(30),
            parser: Arc::new(DefaultErrorParser),
            on_refresh: None,
            user_agent: concat!("crmsync/", env!("CARGO_PKG_VERSION")).to_owned(),
            follow_instance_url: false,
        }
    }

    /// The base URL, without a trailing slash (the instance URL, once a token
    /// response named one and the client follows it).
    pub fn base_url(&self) -> String {
        self.inner
            .base_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The underlying HTTP client (for token sources and raw transfers).
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The access token requests are sent with now, fetched or refreshed if needed.
    pub async fn access_token(&self) -> Result<SecretString> {
        self.token().await.map(|(t, _)| t)
    }

    /// Counters.
    pub fn stats(&self) -> &ApiStats {
        &self.inner.stats
    }

    /// The pacer (providers feed it hints).
    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// Sends a request and decodes a JSON body (an empty body decodes as `null`).
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: &ApiRequest,
    ) -> Result<(StatusCode, T)> {
        self.execute(request, |response| {
            let body: &[u8] = if response.body.is_empty() {
                b"null"
            } else {
                &response.body
            };
            serde_json::from_slice::<T>(body)
                .map(|value| (response.status, value))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Decode,
                        format!("response does not match the expected shape: {e}"),
                    )
                    .with_retry(Retry::Retry)
                })
        })
        .await
    }

    /// Sends a request and returns the raw response.
    pub async fn send(&self, request: &ApiRequest) -> Result<ApiResponse> {
        self.execute(request, |r| {
            Ok(ApiResponse {
                status: r.status,
                headers: r.headers.clone(),
                body: r.body.clone(),
            })
        })
        .await
    }

    /// Sends with auth, pacing, retries and the breaker; `decode` turns a 2xx into `T`
    /// (a decode error is retried for idempotent requests only).
    pub async fn execute<T>(
        &self,
        request: &ApiRequest,
        decode: impl Fn(&ApiResponse) -> Result<T>,
    ) -> Result<T> {
        let inner = &*self.inner;
        let mut delays = inner.retry.delays();
        let mut refreshed = false;
        let mut throttled_retries = 0u32;
        loop {
            if let Err(wait) = inner.breaker.check() {
                return Err(self.context(
                    Error::new(
                        ErrorKind::CircuitOpen,
                        "circuit breaker open after repeated failures",
                    )
                    .with_retry(Retry::RetryAfter(wait)),
                    request,
                ));
            }
            inner.pacer.until_ready(request.bucket).await;
            let (error, server_untouched) = match self.attempt(request, &decode).await {
                Attempt::Done(value) => {
                    inner.breaker.on_success();
                    return Ok(value);
                }
                Attempt::Unauthorized { generation, error } => {
                    if refreshed || !self.invalidate_token(generation).await {
                        inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(self.context(error.persistent(), request));
                    }
                    refreshed = true;
                    continue;
                }
                Attempt::Failed {
                    error,
                    server_untouched,
                } => (error, server_untouched),
            };
            let may_retry = error.is_retryable() && (request.idempotent || server_untouched);
            let delay = match (may_retry, error.retry()) {
                (false, _) | (_, Retry::DontRetry) => None,
                (true, Retry::RetryAfter(wait)) => {
                    throttled_retries += 1;
                    (wait <= inner.retry.max_retry_after
                        && throttled_retries <= inner.retry.max_attempts * 3)
                        .then_some(wait)
                }
                (true, Retry::Retry) if error.kind() == ErrorKind::RateLimited => {
                    throttled_retries += 1;
                    (throttled_retries <= inner.retry.max_attempts * 3)
                        .then(|| delays.next().unwrap_or(inner.retry.max_delay))
                }
                (true, Retry::Retry) => delays.next(),
            };
            let Some(delay) = delay else {
                if matches!(error.kind(), ErrorKind::Unavailable | ErrorKind::Timeout) {
                    inner.breaker.on_failure();
                }
                inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                let error = if may_retry { error.persistent() } else { error };
                return Err(self.context(error, request));
            };
            if error.kind() == ErrorKind::RateLimited {
                inner.pacer.hold(request.bucket, delay);
            }
            tracing::debug!(
                operation = request.operation,
                kind = %error.kind(),
                delay_ms = delay.as_millis() as u64,
                "retrying"
            );
            inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt<T>(
        &self,
        request: &ApiRequest,
        decode: &impl Fn(&ApiResponse) -> Result<T>,
    ) -> Attempt<T> {
        let inner = &*self.inner;
        let (token, generation) = match self.token().await {
            Ok(t) => t,
            Err(error) => {
                let untouched = error.kind() != ErrorKind::Unauthorized;
                return Attempt::Failed {
                    error,
                    server_untouched: untouched,
                };
            }
        };
        let url = if request.path.starts_with("http://") || request.path.starts_with("https://") {
            request.path.clone()
        } else {
            format!("{}{}", self.base_url(), request.path)
        };
        let mut builder = inner.http.request(request.method.clone(), &url);
        if !inner.anonymous {
            builder = builder.bearer_auth(token.expose_secret());
        }
        if !request
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
        {
            builder = builder.header("accept", "application/json");
        }
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some((content_type, bytes)) = &request.raw_body {
            builder = builder
                .header("content-type", content_type.as_str())
                .body(bytes.clone());
        } else if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        inner.stats.requests.fetch_add(1, Ordering::Relaxed);
        let response = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                let connect = e.is_connect();
                let kind = if e.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Unavailable
                };
                return Attempt::Failed {
                    error: Error::new(kind, "request failed").with_source(e.without_url()),
                    server_untouched: connect,
                };
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        inner.parser.observe(&headers, &inner.pacer, request.bucket);
        let body = match response.bytes().await {
            Ok(b) => b.to_vec(),
            Err(e) => {
                return Attempt::Failed {
                    error: Error::new(ErrorKind::Unavailable, "response body interrupted")
                        .with_source(e.without_url()),
                    server_untouched: false,
                };
            }
        };
        if status.is_success() {
            let response = ApiResponse {
                status,
                headers,
                body,
            };
            return match decode(&response) {
                Ok(value) => Attempt::Done(value),
                Err(error) => Attempt::Failed {
                    error,
                    server_untouched: false,
                },
            };
        }
        let error = inner
            .parser
            .parse(status, &headers, &body)
            .with_status(status.as_u16());
        if matches!(status.as_u16(), 429 | 423) {
            inner.stats.throttled.fetch_add(1, Ordering::Relaxed);
        }
        if status == StatusCode::UNAUTHORIZED {
            return Attempt::Unauthorized { generation, error };
        }
        Attempt::Failed {
            server_untouched: matches!(status.as_u16(), 429 | 423),
            error,
        }
    }

    /// The access token to use now, refreshing it if stale.
    async fn token(&self) -> Result<(SecretString, u64)> {
        let inner = &*self.inner;
        let mut guard = inner.token.lock().await;
        let TokenState {
            auth,
            cached,
            generation,
        } = &mut *guard;
        if let Auth::Bearer(token) = auth {
            return Ok((token.clone(), *generation));
        }
        if let Auth::None = auth {
            return Ok((SecretString::from(String::new()), *generation));
        }
        if let Some(current) = cached.as_ref().filter(|c| c.is_fresh()) {
            return Ok((current.token.clone(), current.generation));
        }
        let set = match auth {
            Auth::OAuth(oauth) => refresh(&inner.http, oauth).await,
            Auth::Source(source) => source.fetch(&inner.http).await,
            Auth::Bearer(_) | Auth::None => unreachable_bearer(),
        }
        .map_err(|e| {
            e.with_tenant(&inner.tenant)
                .with_connection(&inner.connection)
        })?;
        inner.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        *generation += 1;
        let fresh = CachedToken::from_set(&set, *generation);
        let out = (fresh.token.clone(), fresh.generation);
        *cached = Some(fresh);
        if inner.follow_instance_url {
            if let Some(instance) = &set.instance_url {
                let mut base = inner.base_url.write().unwrap_or_else(|p| p.into_inner());
                *base = instance.trim_end_matches('/').to_owned();
            }
        }
        if let Some(hook) = &inner.on_refresh {
            hook(&set);
        }
        Ok(out)
    }

    /// Drops the cached token after a 401, unless a newer one already replaced it.
    /// Returns whether a refresh can help (OAuth only).
    async fn invalidate_token(&self, generation: u64) -> bool {
        let mut state = self.inner.token.lock().await;
        if matches!(state.auth, Auth::Bearer(_) | Auth::None) {
            return false;
        }
        if state
            .cached
            .as_ref()
            .is_some_and(|c| c.generation == generation)
        {
            state.cached = None;
        }
        true
    }

    fn context(&self, error: Error, request: &ApiRequest) -> Error {
        error
            .with_tenant(&self.inner.tenant)
            .with_connection(&self.inner.connection)
            .with_operation(request.operation)
            .with_endpoint(request.endpoint())
    }
}
