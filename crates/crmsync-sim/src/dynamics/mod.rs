//! A simulated Microsoft Dataverse environment (Dynamics 365): contacts, accounts,
//! leads, opportunities, phone calls, tasks and one custom table over the real Web API
//! wire format, limits and errors (`reference/crm-apis.md` §3).
//!
//! What it serves:
//! - `POST /{tenant}/oauth2/v2.0/token`: the client credentials grant of the Microsoft
//!   identity platform (`scope={org}/.default`), with its `AADSTS…` error bodies; the
//!   simulator's URL is both the authority and the organization URL.
//! - `/api/data/v9.2/{entityset}`: `$select`, `$filter` (a subset), `$orderby`, `$top`
//!   (ignored when `Prefer: odata.maxpagesize` is sent), `$count`, pages of at most
//!   5,000 rows with `@odata.nextLink` (`$skiptoken` paging cookies); `$skip` is refused.
//! - Change tracking: `Prefer: odata.track-changes` answers with `@odata.deltaLink`; a
//!   GET on it returns changed rows and `$deletedEntity` tombstones, then a new delta
//!   link. `$filter`, `$orderby`, `$top` and `$expand` are refused with tracking. Delta
//!   tokens expire after [`DynamicsSimConfig::delta_token_ttl`] or
//!   [`DynamicsSim::expire_delta_tokens`]: `400` `0x80044352` ("Version stamp associated
//!   with the client has expired. Please perform a full sync.").
//! - `POST` (204 + `OData-EntityId`, or 201 with `Prefer: return=representation`),
//!   `PATCH` by id or alternate key (`crmsync_externalid`) as update or upsert with
//!   `If-Match` / `If-None-Match` (404 / 412 bodies of the reference), `DELETE`, `GET`.
//! - `$batch` (`multipart/mixed`, change sets atomic, `Content-ID`, `$1` references,
//!   `Prefer: odata.continue-on-error`, at most 1,000 operations).
//! - Service protection: requests per user over a sliding window
//!   ([`DynamicsSimConfig::requests_per_window`] per
//!   [`DynamicsSimConfig::protection_window`], 6,000 per 300 s by default) answer 429
//!   with `Retry-After` seconds and code `0x80072322`; injected bursts
//!   ([`Faults::rate_limit_burst`]) rotate through the three codes (`0x80072322`,
//!   `0x80072321`, `0x80072326`); `x-ms-ratelimit-burst-remaining-xrm-requests` on
//!   every answer.
//! - `EntityDefinitions` (with `$filter` on `LogicalName` / `EntitySetName`),
//!   `EntityDefinitions(LogicalName='…')/Attributes`, and `WhoAmI`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use crmsync_sim::dynamics::{DynamicsSim, DynamicsSimConfig};
//!
//! let sim = DynamicsSim::start(DynamicsSimConfig { contacts: 500, seed: 7, ..Default::default() }).await?;
//! assert_eq!(sim.records("contact").len(), 500);
//! let id = sim.records("contact")[0].id.clone();
//! sim.edit("contact", &id, &[("jobtitle", serde_json::json!("CTO"))]);
//! sim.expire_delta_tokens(); // the next delta GET answers 0x80044352
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod batch;
mod errors;
mod query;
mod routes;
mod schema;
mod seed;
mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::common::faults::Faults;
#[doc(hidden)]
pub use query::filter_string_literals;

use crate::common::server::{self, ConnTag};
use auth::{Auth, Protection};
use errors::{ApiError, Reply, ThrottleCode};
use routes::Call;
use schema::TABLES;
use store::{Store, now_ms, parse_guid};

/// How to build a simulated Dataverse environment.
#[derive(Debug, Clone)]
pub struct DynamicsSimConfig {
    /// Seeded contacts (most linked to an account).
    pub contacts: usize,
    /// Seeded accounts.
    pub accounts: usize,
    /// Seeded leads.
    pub leads: usize,
    /// Seeded opportunities (on accounts).
    pub opportunities: usize,
    /// Seed of the data generator: the same seed gives the same rows and ids.
    pub seed: u64,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Added to every response.
    pub latency: Duration,
    /// Service protection: requests per user per window (Dataverse: 6,000); 0 disables.
    pub requests_per_window: u64,
    /// Service protection window (Dataverse: 300 s, sliding).
    pub protection_window: Duration,
    /// Lifetime of access tokens (`expires_in`; Entra ID: 3599 s).
    pub token_ttl: Duration,
    /// Lifetime of change-tracking delta tokens (Dataverse: 7 days,
    /// `ExpireChangeTrackingInDays`).
    pub delta_token_ttl: Duration,
    /// "Now" for the seeded timestamps (spread over the 30 days before it); `None` = the
    /// start time.
    pub seed_time: Option<DateTime<Utc>>,
}

impl Default for DynamicsSimConfig {
    fn default() -> Self {
        Self {
            contacts: 100,
            accounts: 20,
            leads: 50,
            opportunities: 30,
            seed: 1,
            port: 0,
            latency: Duration::ZERO,
            requests_per_window: 6_000,
            protection_window: Duration::from_secs(300),
            token_ttl: Duration::from_secs(3599),
            delta_token_ttl: Duration::from_secs(7 * 24 * 3600),
            seed_time: None,
        }
    }
}

/// A row as the simulator holds it, for assertions in tests.
#[derive(Debug, Clone, PartialEq)]
pub struct DvRecord {
    /// The primary key (lower-case GUID).
    pub id: String,
    /// The table's logical name (`contact`, ...).
    pub table: String,
    /// Every column as the Web API reads it: lookups as `_x_value`, `null` when empty,
    /// the primary key, `createdon`, `modifiedon` and `versionnumber` included.
    pub fields: BTreeMap<String, Value>,
    /// `modifiedon`.
    pub modified_on: DateTime<Utc>,
    /// `versionnumber` (the row version change tracking follows).
    pub version: u64,
}

impl DvRecord {
    /// A text column's value.
    pub fn str(&self, column: &str) -> Option<&str> {
        self.fields.get(column).and_then(Value::as_str)
    }
}

/// What the simulator has served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DvStats {
    /// Every request received (token requests included; batch operations not).
    pub requests: u64,
    /// Requests per endpoint: `token`, `list`, `delta`, `get`, `create`, `upsert`,
    /// `delete`, `batch`, `metadata`, `whoami`, `other`; operations inside `$batch`
    /// count as `batch:create`, `batch:upsert`, `batch:delete`, ...
    pub by_endpoint: BTreeMap<String, u64>,
    /// 429 answers (service protection or injected).
    pub throttled_429: u64,
    /// 5xx answers.
    pub errors_5xx: u64,
    /// 401 answers.
    pub unauthorized_401: u64,
    /// Connections reset by a fault.
    pub connection_resets: u64,
}

#[derive(Debug, Default)]
struct StatsCollector(Mutex<DvStats>);

impl StatsCollector {
    fn lock(&self) -> MutexGuard<'_, DvStats> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn request(&self, endpoint: &str) {
        let mut s = self.lock();
        s.requests += 1;
        *s.by_endpoint.entry(endpoint.to_owned()).or_default() += 1;
    }

    fn operations(&self, names: &[&'static str]) {
        let mut s = self.lock();
        for name in names {
            *s.by_endpoint.entry(format!("batch:{name}")).or_default() += 1;
        }
    }

    fn status(&self, status: u16) {
        let mut s = self.lock();
        match status {
            429 => s.throttled_429 += 1,
            401 => s.unauthorized_401 += 1,
            500..=599 => s.errors_5xx += 1,
            _ => {}
        }
    }
}

/// State shared by the handle and every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: DynamicsSimConfig,
    store: Mutex<Store>,
    pub auth: Auth,
    pub protection: Protection,
    pub faults: Faults,
    stats: StatsCollector,
    pub base_url: String,
    pub business_unit_id: String,
    pub user_id: String,
    pub organization_id: String,
    expired_before: AtomicU64,
    throttle_serial: AtomicU64,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Delta tokens older than this row version are expired.
    pub(crate) fn expired_before(&self) -> u64 {
        self.expired_before.load(Ordering::SeqCst)
    }
}

/// A running simulated Dataverse environment. Dropping it stops the server.
#[derive(Debug)]
pub struct DynamicsSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

fn table_index(name: &str) -> usize {
    schema::lookup(name).unwrap_or_else(|| panic!("unknown Dataverse table {name:?}"))
}

fn to_record(t: usize, row: &store::Row) -> DvRecord {
    let table = TABLES[t];
    let fields = match query::render(table, row, None, false) {
        Value::Object(map) => map
            .into_iter()
            .filter(|(k, _)| !k.starts_with('@'))
            .chain([
                (
                    "createdon".to_owned(),
                    Value::String(store::iso(row.created_ms)),
                ),
                (
                    "modifiedon".to_owned(),
                    Value::String(store::iso(row.modified_ms)),
                ),
                ("versionnumber".to_owned(), Value::from(row.version)),
            ])
            .collect(),
        _ => BTreeMap::new(),
    };
    DvRecord {
        id: row.id.clone(),
        table: table.logical.to_owned(),
        fields,
        modified_on: DateTime::<Utc>::from_timestamp_millis(row.modified_ms).unwrap_or_default(),
        version: row.version,
    }
}

fn body_of(t: usize, fields: &[(&str, Value)]) -> Map<String, Value> {
    let table = TABLES[t];
    fields
        .iter()
        .map(|(name, value)| {
            // Lookups are given by column name with a GUID; bind them to the first target.
            if let Some(schema::Kind::Lookup(targets)) = table.attr(name).map(|a| a.kind) {
                let target = schema::by_logical(targets[0]).map_or("accounts", |i| TABLES[i].set);
                let nav = if targets.len() > 1 {
                    format!("{name}_{}", targets[0])
                } else {
                    (*name).to_owned()
                };
                let bound = value
                    .as_str()
                    .map(|id| Value::String(format!("/{target}({id})")));
                (format!("{nav}@odata.bind"), bound.unwrap_or(Value::Null))
            } else {
                ((*name).to_owned(), value.clone())
            }
        })
        .collect()
}

impl DynamicsSim {
    /// Seeds the data and starts serving on `127.0.0.1:{config.port}`.
    pub async fn start(config: DynamicsSimConfig) -> std::io::Result<Self> {
        let anchor_ms = config
            .seed_time
            .map_or_else(now_ms, |t| t.timestamp_millis());
        let plan = seed::SeedPlan {
            contacts: config.contacts,
            accounts: config.accounts,
            leads: config.leads,
            opportunities: config.opportunities,
            seed: config.seed,
            anchor_ms,
        };
        let store = tokio::task::spawn_blocking(move || {
            let mut store = Store::new();
            seed::populate(&mut store, &plan);
            store
        })
        .await
        .map_err(std::io::Error::other)?;
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let mut rng = crate::common::rng::SplitMix64::new(config.seed ^ 0x0D15_EA5E);
        let mut guid = || store::guid_from(rng.next_u64(), rng.next_u64());
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            auth: Auth::new(config.seed, config.token_ttl),
            protection: Protection::new(config.requests_per_window, config.protection_window),
            faults: Faults::with_latency(config.latency),
            stats: StatsCollector::default(),
            base_url: format!("http://{addr}"),
            business_unit_id: guid(),
            user_id: guid(),
            organization_id: guid(),
            expired_before: AtomicU64::new(0),
            throttle_serial: AtomicU64::new(0),
            config,
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .fallback(api)
            .layer(DefaultBodyLimit::max(64 * 1024 * 1024))
            .with_state(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<ConnTag>();
            let serve = axum::serve(server::SimListener::new(listener), service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                });
            if let Err(err) = serve.await {
                tracing::warn!("dynamics simulator stopped: {err}");
            }
        });
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the organization URL (the Web API is below
    /// `/api/data/v9.2/`).
    pub fn org_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT`: the identity authority (token endpoint at
    /// `{authority}/{tenant}/oauth2/v2.0/token`); the same server as the organization.
    pub fn authority(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.shared.base_url, self.shared.auth.tenant_id
        )
    }

    /// The Web API version served (`9.2`; paths accept `v9.0` to `v9.2`).
    pub fn api_version(&self) -> &'static str {
        "9.2"
    }

    /// The directory (tenant) id.
    pub fn tenant_id(&self) -> String {
        self.shared.auth.tenant_id.clone()
    }

    /// The app registration's client id.
    pub fn client_id(&self) -> String {
        self.shared.auth.client_id.clone()
    }

    /// The app registration's client secret.
    pub fn client_secret(&self) -> String {
        self.shared.auth.client_secret.clone()
    }

    /// A fresh access token (as if obtained from the token endpoint).
    pub fn access_token(&self) -> String {
        self.shared.auth.issue()
    }

    /// The socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the simulator was started with.
    pub fn config(&self) -> &DynamicsSimConfig {
        &self.shared.config
    }

    /// The rows of a table (logical or entity set name), by id.
    ///
    /// # Panics
    /// On an unknown table.
    pub fn records(&self, table: &str) -> Vec<DvRecord> {
        let t = table_index(table);
        let store = self.shared.lock();
        store.tables[t]
            .rows
            .values()
            .map(|r| to_record(t, r))
            .collect()
    }

    /// One row by id.
    ///
    /// # Panics
    /// On an unknown table.
    pub fn get(&self, table: &str, id: &str) -> Option<DvRecord> {
        let t = table_index(table);
        let id = parse_guid(id)?;
        self.shared.lock().get(t, &id).map(|r| to_record(t, r))
    }

    /// Creates a row as a user would in Dynamics; lookups are given by column name and
    /// GUID (`parentcustomerid` → an account).
    ///
    /// # Panics
    /// On an unknown table or a write the Web API would refuse.
    pub fn create(&self, table: &str, fields: &[(&str, Value)]) -> String {
        let t = table_index(table);
        let mut store = self.shared.lock();
        let parsed = store
            .parse_body(t, &body_of(t, fields))
            .unwrap_or_else(|e| panic!("DynamicsSim::create({table}): {}", e.message));
        store
            .insert(t, None, &parsed, now_ms(), &mut Vec::new())
            .unwrap_or_else(|e| panic!("DynamicsSim::create({table}): {}", e.message))
    }

    /// Edits a row as a user would while a sync runs (`null` clears), bumping
    /// `modifiedon` and `versionnumber`. False if there is no such row.
    ///
    /// # Panics
    /// On an unknown table or column, or a value of the wrong type.
    pub fn edit(&self, table: &str, id: &str, fields: &[(&str, Value)]) -> bool {
        let t = table_index(table);
        let Some(id) = parse_guid(id) else {
            return false;
        };
        let mut store = self.shared.lock();
        let parsed = store
            .parse_body(t, &body_of(t, fields))
            .unwrap_or_else(|e| panic!("DynamicsSim::edit({table}): {}", e.message));
        store
            .update(t, &id, &parsed, now_ms(), &mut Vec::new())
            .unwrap_or(false)
    }

    /// Deletes a row (a tombstone appears in the next delta). False if there is none.
    ///
    /// # Panics
    /// On an unknown table.
    pub fn delete(&self, table: &str, id: &str) -> bool {
        let t = table_index(table);
        let Some(id) = parse_guid(id) else {
            return false;
        };
        self.shared.lock().delete(t, &id, &mut Vec::new())
    }

    /// Expires every delta token issued so far: their next GET answers 400
    /// `0x80044352`, as after `ExpireChangeTrackingInDays`.
    pub fn expire_delta_tokens(&self) {
        // Tokens name the row version they were issued at: later tokens are newer than
        // this one (an empty version step), earlier ones expire.
        let version = self.shared.lock().next_version();
        self.shared.expired_before.store(version, Ordering::SeqCst);
    }

    /// Changes the service protection limit (requests per window; 0 disables).
    pub fn set_requests_per_window(&self, n: u64) {
        self.shared.protection.set_max(n);
    }

    /// Counters of what was served.
    pub fn stats(&self) -> DvStats {
        self.shared.stats.lock().clone()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        *self.shared.stats.lock() = DvStats::default();
    }

    /// The fault schedules: 429 bursts answer Dataverse's service protection errors.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for DynamicsSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn token(
    state: State<Arc<Shared>>,
    path: axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    state.stats.request("token");
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = auth::token(state.clone(), path, body).await;
    state.stats.status(response.status().as_u16());
    response
}

fn into_response(reply: Reply) -> Response {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = reply.status;
    for (name, value) in reply.headers {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    response
}

/// Every Web API request: counted, delayed or failed by a fault, authenticated,
/// admitted by service protection, then dispatched.
async fn api(State(shared): State<Arc<Shared>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    // Read the whole body up front: some clients send a body with a GET, and an unread
    // body would break the next request on a keep-alive connection.
    let Ok(body) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return into_response(
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "",
                "The request body is too large.",
            )
            .reply(),
        );
    };
    let connection = parts.extensions.get::<ConnectInfo<ConnTag>>().cloned();
    let (method, uri, headers): (Method, Uri, HeaderMap) = (parts.method, parts.uri, parts.headers);
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let header_list: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let call = uri
        .path()
        .starts_with("/api/data/")
        .then(|| Call::parse(method, target, header_list, body.to_vec()))
        .flatten();
    let Some(call) = call else {
        shared.stats.request("other");
        return into_response(ApiError::not_found_resource(uri.path()).reply());
    };
    shared.stats.request(routes::endpoint(&call));
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if shared.faults.take_reset() {
        if let Some(ConnectInfo(tag)) = connection {
            tag.kill();
            shared.stats.lock().connection_resets += 1;
        }
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    if let Some(delay) = shared.faults.take_slow() {
        tokio::time::sleep(delay).await;
    }
    let reply = gate(&shared, &call);
    let status = reply.status.as_u16();
    shared.stats.status(status);
    let mut response = into_response(reply);
    if let Ok(v) = HeaderValue::from_str(&shared.protection.remaining().to_string()) {
        response
            .headers_mut()
            .insert("x-ms-ratelimit-burst-remaining-xrm-requests", v);
    }
    response.headers_mut().insert(
        "x-ms-ratelimit-time-remaining-xrm-requests",
        HeaderValue::from_static("1,200,000.00"),
    );
    if let Ok(v) = HeaderValue::from_str(&crate::common::rng::uuid()) {
        response.headers_mut().insert("x-ms-service-request-id", v);
    }
    if (200..300).contains(&status) && shared.faults.malformed_pending() {
        let (mut parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        if !bytes.is_empty() && shared.faults.take_malformed() {
            parts.headers.remove(header::CONTENT_LENGTH);
            return Response::from_parts(parts, Body::from(bytes.slice(..bytes.len() / 2)));
        }
        return Response::from_parts(parts, Body::from(bytes));
    }
    response
}

fn gate(shared: &Shared, call: &Call) -> Reply {
    if let Some(is_502) = shared.faults.take_server_error() {
        let status = if is_502 {
            StatusCode::BAD_GATEWAY
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return ApiError::server_error(status).reply();
    }
    let unauthorized = || {
        Reply::empty(StatusCode::UNAUTHORIZED).header(
            "WWW-Authenticate",
            format!(
                "Bearer authorization_uri={}/{}/oauth2/authorize, resource_id={}/",
                shared.base_url, shared.auth.tenant_id, shared.base_url
            ),
        )
    };
    let Some(token) = shared.auth.authenticate(call.header("authorization")) else {
        return unauthorized();
    };
    if shared.faults.take_expiry() {
        shared.auth.revoke(&token);
        return unauthorized();
    }
    let window_s = shared.protection.window().as_secs();
    if let Some(retry_after) = shared.faults.take_rate_limit() {
        let code = match shared.throttle_serial.fetch_add(1, Ordering::SeqCst) % 3 {
            0 => ThrottleCode::Requests,
            1 => ThrottleCode::ExecutionTime,
            _ => ThrottleCode::Concurrency,
        };
        return ApiError::throttled(
            code,
            retry_after.unwrap_or(1),
            shared.protection.max(),
            window_s,
        )
        .reply();
    }
    if let Err(retry_after) = shared.protection.admit(1, false) {
        return ApiError::throttled(
            ThrottleCode::Requests,
            retry_after,
            shared.protection.max(),
            window_s,
        )
        .reply();
    }
    let mut names = Vec::new();
    let reply = if call.path == "$batch" {
        if call.method != Method::POST {
            return ApiError::method_not_allowed(call.method.as_str()).reply();
        }
        routes::run_batch(shared, call, &mut names)
    } else {
        let mut store = shared.lock();
        routes::dispatch(shared, &mut store, &mut Vec::new(), call)
    };
    shared.stats.operations(&names);
    reply
}
