//! A simulated HubSpot CRM v3 account: contacts, companies and deals over HubSpot's real
//! wire format, limits and errors.
//!
//! What it serves (see `reference/crm-apis.md` §1 for the facts it follows):
//! - `GET/POST /crm/v3/objects/{type}`, `GET/PATCH/DELETE /crm/v3/objects/{type}/{id}`,
//!   `POST /crm/v3/objects/{type}/search`, `POST /crm/v3/objects/{type}/batch/{read|create|update|upsert|archive}`;
//!   `{type}` is a plural name (`contacts`), a singular one (`contact`) or a type id (`0-1`).
//! - `GET /crm/v3/properties/{type}` and `/{type}/{name}`.
//! - `POST /oauth/v1/token` (refresh_token, authorization_code, client_credentials),
//!   `GET /oauth/v1/access-tokens/{token}`, `GET/DELETE /oauth/v1/refresh-tokens/{token}`.
//! - Rolling ten-second rate limits with HubSpot's headers, the search API's own per-second
//!   limit, token expiry, and the fault schedules of [`Faults`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
//!
//! let sim = HubSpotSim::start(HubSpotSimConfig {
//!     contacts: 1000,
//!     companies: 200,
//!     deals: 300,
//!     seed: 42,
//!     ..Default::default()
//! })
//! .await?;
//! let url = format!("{}/crm/v3/objects/contacts?limit=100", sim.base_url());
//! // GET `url` with `Authorization: Bearer {sim.access_token()}` ...
//! # let _ = url;
//! sim.edit("contacts", &sim.records("contacts")[0].id, &[("firstname", "Ada")]);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod errors;
mod limits;
mod routes;
mod schema;
mod seed;
mod stats;
mod store;
mod time;

use crate::common::{rng, server};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::common::faults::Faults;
pub use stats::SimStats;

use auth::Auth;
use limits::RateLimits;
use schema::ObjectType;
use stats::StatsCollector;
use store::{Record, Store};

/// How to build a simulated HubSpot account.
///
/// Limits whose published values disagree between HubSpot's sources (reference §1.3) are
/// configurable; the defaults are the search guide's.
#[derive(Debug, Clone)]
pub struct HubSpotSimConfig {
    /// Seeded contacts.
    pub contacts: usize,
    /// Seeded companies.
    pub companies: usize,
    /// Seeded deals.
    pub deals: usize,
    /// Seed of the data generator: the same seed gives the same records.
    pub seed: u64,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Requests per rolling ten seconds per app (HubSpot: 100 for OAuth apps); 0 = unlimited.
    pub rate_limit_10s: u32,
    /// Search requests per second (HubSpot: 5); 0 = unlimited.
    pub search_rate_per_s: u32,
    /// Daily request quota of the private app token (HubSpot Free/Starter: 250,000); 0 = unlimited.
    pub private_app_daily_limit: u64,
    /// Added to every response.
    pub latency: Duration,
    /// Lifetime of OAuth access tokens (HubSpot: 1800 s).
    pub token_ttl: Duration,
    /// Search: most filter groups per request.
    pub max_filter_groups: usize,
    /// Search: most filters in one group.
    pub max_filters_per_group: usize,
    /// Search: most filters over all groups.
    pub max_filters_total: usize,
    /// Search: results reachable by paging (HubSpot: 10,000).
    pub search_max_results: usize,
    /// Search: largest page (HubSpot: 200).
    pub search_max_limit: usize,
    /// List: largest page; larger `limit`s are clamped (HubSpot: 100).
    pub list_max_limit: usize,
    /// Batch endpoints: most inputs per request (HubSpot: 100).
    pub batch_max_inputs: usize,
    /// The first record id handed out; ids then increase across all object types.
    pub first_id: u64,
    /// "Now" for the seeded timestamps (spread over the 30 days before it); `None` = the
    /// start time. Fix it to make the whole data set, timestamps included, reproducible.
    pub seed_time: Option<DateTime<Utc>>,
}

impl Default for HubSpotSimConfig {
    fn default() -> Self {
        Self {
            contacts: 100,
            companies: 20,
            deals: 30,
            seed: 1,
            port: 0,
            rate_limit_10s: 100,
            search_rate_per_s: 5,
            private_app_daily_limit: 250_000,
            latency: Duration::ZERO,
            token_ttl: Duration::from_secs(1800),
            max_filter_groups: 5,
            max_filters_per_group: 6,
            max_filters_total: 18,
            search_max_results: 10_000,
            search_max_limit: 200,
            list_max_limit: 100,
            batch_max_inputs: 100,
            first_id: 1,
            seed_time: None,
        }
    }
}

/// A record as the simulator holds it (for assertions in tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRecord {
    /// The record id (a numeric string).
    pub id: String,
    /// Every property with a value, `hs_object_id`, `createdate` and the last-modified one
    /// included.
    pub properties: BTreeMap<String, String>,
    /// `createdAt`.
    pub created_at: DateTime<Utc>,
    /// `updatedAt` (equal to the last-modified property).
    pub updated_at: DateTime<Utc>,
    /// Whether the record is archived.
    pub archived: bool,
    /// When it was archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// Associated record ids by object type (`"companies"`, `"contacts"`, `"deals"`).
    pub associations: BTreeMap<String, Vec<String>>,
}

/// State shared by the handle and every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: HubSpotSimConfig,
    pub store: RwLock<Store>,
    pub auth: Auth,
    pub limits: RateLimits,
    pub faults: Faults,
    pub stats: StatsCollector,
    pub base_url: String,
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running simulated HubSpot account. Dropping it stops the server.
#[derive(Debug)]
pub struct HubSpotSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

fn object_type(name: &str) -> ObjectType {
    ObjectType::parse(name).unwrap_or_else(|| panic!("unknown HubSpot object type {name:?}"))
}

fn to_sim(store: &Store, ty: ObjectType, r: &Record) -> SimRecord {
    let mut properties = r.props.clone();
    for name in [
        "hs_object_id",
        "createdate",
        ty.last_modified_property(),
        store::COMPANY_ID,
    ] {
        if let Some(v) = r.value(ty, name) {
            properties.insert(name.to_string(), v.into_owned());
        }
    }
    let mut associations = BTreeMap::new();
    if let Some(c) = r.company {
        associations.insert("companies".to_string(), vec![c.to_string()]);
    }
    if ty == ObjectType::Companies {
        for member in [ObjectType::Contacts, ObjectType::Deals] {
            if let Some(ids) = store
                .company_members(r.id, member)
                .filter(|s| !s.is_empty())
            {
                associations.insert(
                    member.plural().to_string(),
                    ids.iter().map(u64::to_string).collect(),
                );
            }
        }
    }
    SimRecord {
        id: r.id.to_string(),
        properties,
        created_at: time::to_datetime(r.created_ms),
        updated_at: time::to_datetime(r.updated_ms),
        archived: r.archived_ms.is_some(),
        archived_at: r.archived_ms.map(time::to_datetime),
        associations,
    }
}

/// Values for the Rust-side write helpers: emails lower-cased, derived properties skipped.
fn raw_values(ty: ObjectType, props: &[(&str, &str)]) -> Vec<(String, String)> {
    props
        .iter()
        .filter(|(k, _)| ty.property(k).is_none_or(|p| !p.read_only))
        .map(|(k, v)| {
            let v = if *k == "email" {
                v.trim().to_lowercase()
            } else {
                (*v).to_string()
            };
            ((*k).to_string(), v)
        })
        .collect()
}

impl HubSpotSim {
    /// Seeds the data and starts serving on `127.0.0.1:{config.port}`.
    pub async fn start(config: HubSpotSimConfig) -> std::io::Result<Self> {
        let anchor_ms = config
            .seed_time
            .map_or_else(time::now_ms, |t| t.timestamp_millis());
        let plan = seed::SeedPlan {
            contacts: config.contacts,
            companies: config.companies,
            deals: config.deals,
            seed: config.seed,
            anchor_ms,
        };
        let first_id = config.first_id;
        let store = tokio::task::spawn_blocking(move || {
            let mut store = Store::new(first_id);
            seed::populate(&mut store, &plan);
            store
        })
        .await
        .map_err(std::io::Error::other)?;

        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: RwLock::new(store),
            auth: Auth::new(config.seed, config.token_ttl),
            limits: RateLimits::new(
                config.rate_limit_10s,
                config.search_rate_per_s,
                config.private_app_daily_limit,
            ),
            faults: Faults::with_latency(config.latency),
            stats: StatsCollector::default(),
            base_url: format!("http://{addr}"),
            config,
        });
        let app = routes::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<server::ConnTag>();
            let serve = axum::serve(server::SimListener::new(listener), service)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                });
            if let Err(err) = serve.await {
                tracing::warn!("hubspot simulator stopped: {err}");
            }
        });
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The socket address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `base_url() + "/oauth/v1/token"`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/v1/token", self.shared.base_url)
    }

    /// The OAuth app's most recently issued access token.
    pub fn access_token(&self) -> String {
        self.shared.auth.current_access_token()
    }

    /// The OAuth app's refresh token.
    pub fn refresh_token(&self) -> String {
        self.shared.auth.refresh_token.clone()
    }

    /// The OAuth app's client id.
    pub fn client_id(&self) -> String {
        self.shared.auth.client_id.clone()
    }

    /// The OAuth app's client secret.
    pub fn client_secret(&self) -> String {
        self.shared.auth.client_secret.clone()
    }

    /// A private app token (`pat-na1-…`) that never expires.
    pub fn private_app_token(&self) -> String {
        self.shared.auth.private_app_token.clone()
    }

    /// The configuration the simulator was started with.
    pub fn config(&self) -> &HubSpotSimConfig {
        &self.shared.config
    }

    /// Live (not archived) records of `object`, sorted by id.
    ///
    /// # Panics
    /// If `object` is not `contacts`, `companies` or `deals` (or a singular / type-id alias).
    pub fn records(&self, object: &str) -> Vec<SimRecord> {
        let ty = object_type(object);
        let store = self.shared.read();
        store
            .object(ty)
            .live
            .values()
            .map(|r| to_sim(&store, ty, r))
            .collect()
    }

    /// Archived records of `object`, sorted by id.
    ///
    /// # Panics
    /// On an unknown object type, like [`HubSpotSim::records`].
    pub fn archived(&self, object: &str) -> Vec<SimRecord> {
        let ty = object_type(object);
        let store = self.shared.read();
        store
            .object(ty)
            .archived
            .values()
            .map(|r| to_sim(&store, ty, r))
            .collect()
    }

    /// One record, live or archived.
    ///
    /// # Panics
    /// On an unknown object type, like [`HubSpotSim::records`].
    pub fn get(&self, object: &str, id: &str) -> Option<SimRecord> {
        let ty = object_type(object);
        let id = id.trim().parse::<u64>().ok()?;
        let store = self.shared.read();
        let os = store.object(ty);
        os.live
            .get(&id)
            .or_else(|| os.archived.get(&id))
            .map(|r| to_sim(&store, ty, r))
    }

    /// Creates a record as if someone did in HubSpot; `createdAt = updatedAt = now`.
    /// Values are stored as given (emails lower-cased); `associatedcompanyid` on a contact
    /// sets its company.
    ///
    /// # Panics
    /// On an unknown object type, or when a contact's email (or another unique value) is
    /// already taken.
    pub fn create(&self, object: &str, props: &[(&str, &str)]) -> String {
        let ty = object_type(object);
        let now = time::now_ms();
        let values = raw_values(ty, props);
        match self.shared.write().insert(ty, &values, None, now, now) {
            Ok(id) => id.to_string(),
            Err(err) => panic!("HubSpotSim::create({object}) failed: {err:?}"),
        }
    }

    /// Edits a live record as if someone did in HubSpot while a sync runs: sets the values
    /// (`""` clears) and bumps `updatedAt` and the last-modified property to now. False if
    /// there is no such live record or a unique value would clash.
    ///
    /// # Panics
    /// On an unknown object type.
    pub fn edit(&self, object: &str, id: &str, props: &[(&str, &str)]) -> bool {
        let ty = object_type(object);
        let Ok(id) = id.trim().parse::<u64>() else {
            return false;
        };
        let values = raw_values(ty, props);
        self.shared
            .write()
            .update(ty, id, &values, time::now_ms())
            .is_ok()
    }

    /// Archives a live record (as a delete in HubSpot does). False if there is none.
    ///
    /// # Panics
    /// On an unknown object type.
    pub fn archive(&self, object: &str, id: &str) -> bool {
        let ty = object_type(object);
        let Ok(id) = id.trim().parse::<u64>() else {
            return false;
        };
        self.shared.write().archive(ty, id, time::now_ms())
    }

    /// Forces `updatedAt` (and so the last-modified property) of the given records to `at`,
    /// e.g. to give many records the same timestamp.
    ///
    /// # Panics
    /// On an unknown object type.
    pub fn set_updated_at(&self, object: &str, ids: &[String], at: DateTime<Utc>) {
        let ty = object_type(object);
        let ms = at.timestamp_millis();
        let mut store = self.shared.write();
        for id in ids {
            if let Ok(id) = id.trim().parse::<u64>() {
                store.set_updated(ty, id, ms);
            }
        }
    }

    /// Counters of what was served.
    pub fn stats(&self) -> SimStats {
        self.shared.stats.snapshot()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// The fault schedules.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Changes the ten-second limit (0 = unlimited).
    pub fn set_rate_limit_10s(&self, n: u32) {
        self.shared.limits.set_ten_secondly(n);
    }

    /// Changes the search API's per-second limit (0 = unlimited).
    pub fn set_search_rate_limit_per_s(&self, n: u32) {
        self.shared.limits.set_secondly(n);
    }

    /// Stops accepting connections, lets requests in flight finish (up to 5 s), and returns.
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

impl Drop for HubSpotSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
