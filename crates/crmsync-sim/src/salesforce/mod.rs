//! A simulated Salesforce org: Accounts, Contacts, Leads, Opportunities and Tasks over
//! Salesforce's real REST and Bulk API 2.0 wire format, limits and errors.
//!
//! What it serves (see `reference/crm-apis.md` §2 for the facts it follows):
//! - `POST /services/oauth2/token`: the refresh-token and JWT bearer grants (RS256,
//!   verified against a key pair generated at start; [`SalesforceSim::jwt_private_key_pem`]).
//! - `GET /services/data/vXX.X/query?q=` and `/queryAll` (a SOQL subset with a real parser),
//!   2,000-record pages with `nextRecordsUrl` cursors.
//! - `/sobjects` (list, describe, CRUD, upsert by external id, `updated` and `deleted`),
//!   `/composite/sobjects` (collections), `/composite`, `/limits`.
//! - Bulk API 2.0 `/jobs/ingest` and `/jobs/query`, with real job states and CSV.
//! - `Sforce-Limit-Info` on every REST answer, the daily request limit
//!   (`403 REQUEST_LIMIT_EXCEEDED`), session timeouts (`401 INVALID_SESSION_ID`), and the
//!   fault schedules of [`Faults`].
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use crmsync_sim::{SalesforceSim, SalesforceSimConfig};
//!
//! let sim = SalesforceSim::start(SalesforceSimConfig {
//!     leads: 100,
//!     contacts: 1000,
//!     accounts: 200,
//!     opportunities: 300,
//!     seed: 42,
//!     ..Default::default()
//! })
//! .await?;
//! let url = format!(
//!     "{}/services/data/v{}/query?q=SELECT+Id,Email+FROM+Contact",
//!     sim.instance_url(),
//!     sim.api_version()
//! );
//! // GET `url` with `Authorization: Bearer {sim.access_token()}` ...
//! # let _ = url;
//! let id = sim.records("Contact")[0].id.clone();
//! sim.edit("Contact", &id, &[("Title", serde_json::json!("CTO"))]);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod auth;
mod config;
mod csv;
mod describe;
mod errors;
mod ids;
mod limits;
mod render;
mod routes;
mod schema;
mod seed;
mod soql;
mod stats;
mod store;
mod values;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use crate::common::faults::Faults;
pub use config::{SalesforceSimConfig, SfRecord};
#[doc(hidden)]
pub use soql::{SoqlLiteral, string_literals as soql_string_literals};
pub use stats::SfStats;

use crate::common::server;
use auth::Auth;
use limits::DailyLimit;
use schema::ObjectKind;
use stats::StatsCollector;
use store::{Record, Store};

/// State shared by the handle and every request.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SalesforceSimConfig,
    pub store: RwLock<Store>,
    pub auth: Auth,
    pub limits: DailyLimit,
    pub faults: Faults,
    pub stats: StatsCollector,
    pub base_url: String,
    pub cursors: Mutex<routes::Cursors>,
    pub jobs: Mutex<routes::Jobs>,
}

impl Shared {
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running simulated Salesforce org. Dropping it stops the server.
#[derive(Debug)]
pub struct SalesforceSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

fn object_kind(name: &str) -> ObjectKind {
    schema::object(name).unwrap_or_else(|| panic!("unknown Salesforce object type {name:?}"))
}

fn to_sf(kind: ObjectKind, r: &Record) -> SfRecord {
    let def = schema::def(kind);
    SfRecord {
        id: r.id().to_string(),
        object: def.name.to_string(),
        fields: def
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.to_string(), r.get(i).to_json()))
            .collect(),
        created_date: values::to_datetime(r.created_ms()),
        last_modified_date: values::to_datetime(r.last_modified_ms()),
        system_modstamp: values::to_datetime(r.modstamp_ms()),
        is_deleted: r.is_deleted(),
    }
}

/// Converts Rust-side field values; an unknown field or a value of the wrong type panics.
fn given(kind: ObjectKind, fields: &[(&str, Value)]) -> Vec<(usize, values::Val)> {
    let def = schema::def(kind);
    fields
        .iter()
        .map(|(name, value)| {
            let i = def
                .field(name)
                .unwrap_or_else(|| panic!("{} has no field {name:?}", def.name));
            let v = values::from_json(&def.fields[i], value)
                .unwrap_or_else(|e| panic!("{}.{name}: {}", def.name, e.message));
            (i, v)
        })
        .collect()
}

impl SalesforceSim {
    /// Seeds the data, generates the JWT key pair, and starts serving on
    /// `127.0.0.1:{config.port}`.
    pub async fn start(config: SalesforceSimConfig) -> std::io::Result<Self> {
        let anchor_ms = config
            .seed_time
            .map_or_else(values::now_ms, |t| t.timestamp_millis());
        let plan = seed::SeedPlan {
            accounts: config.accounts,
            contacts: config.contacts,
            leads: config.leads,
            opportunities: config.opportunities,
            tasks: config.tasks,
            seed: config.seed,
            anchor_ms,
        };
        let (seed, ttl) = (config.seed, config.session_ttl);
        let (store, auth) = tokio::task::spawn_blocking(move || {
            let auth = Auth::new(seed, ttl)?;
            let mut store = Store::new(auth.user_id.clone());
            seed::populate(&mut store, &plan);
            Ok::<_, std::io::Error>((store, auth))
        })
        .await
        .map_err(std::io::Error::other)??;

        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            store: RwLock::new(store),
            auth,
            limits: DailyLimit::new(config.daily_api_limit),
            faults: Faults::with_latency(config.latency),
            stats: StatsCollector::default(),
            base_url: format!("http://{addr}"),
            cursors: Mutex::default(),
            jobs: Mutex::default(),
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
                tracing::warn!("salesforce simulator stopped: {err}");
            }
        });
        Ok(Self {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the login URL (token endpoint at `/services/oauth2/token`).
    pub fn login_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The `instance_url` every token response names; it serves `/services/data/vXX.X/…`.
    /// The same server as [`SalesforceSim::login_url`].
    pub fn instance_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `login_url() + "/services/oauth2/token"`.
    pub fn token_url(&self) -> String {
        format!("{}/services/oauth2/token", self.shared.base_url)
    }

    /// The API version to use in paths (`62.0` by default).
    pub fn api_version(&self) -> String {
        self.shared.config.api_version.clone()
    }

    /// The socket address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration the simulator was started with.
    pub fn config(&self) -> &SalesforceSimConfig {
        &self.shared.config
    }

    /// The connected app's consumer key.
    pub fn client_id(&self) -> String {
        self.shared.auth.client_id.clone()
    }

    /// The connected app's consumer secret.
    pub fn client_secret(&self) -> String {
        self.shared.auth.client_secret.clone()
    }

    /// A refresh token the refresh grant accepts.
    pub fn refresh_token(&self) -> String {
        self.shared.auth.refresh_token.clone()
    }

    /// The integration user's username (the `sub` of JWT assertions).
    pub fn username(&self) -> String {
        self.shared.auth.username.clone()
    }

    /// The most recently issued session token.
    pub fn access_token(&self) -> String {
        self.shared.auth.current()
    }

    /// The org's 18-character id.
    pub fn org_id(&self) -> String {
        self.shared.auth.org_id.clone()
    }

    /// The integration user's 18-character id (owner of records the API creates).
    pub fn user_id(&self) -> String {
        self.shared.auth.user_id.clone()
    }

    /// PKCS#8 PEM of the RSA-2048 key whose public half the JWT bearer grant trusts.
    pub fn jwt_private_key_pem(&self) -> String {
        self.shared.auth.private_key_pem.clone()
    }

    /// The trusted public key (SubjectPublicKeyInfo PEM), as uploaded to a connected app.
    pub fn jwt_public_key_pem(&self) -> String {
        self.shared.auth.public_key_pem.clone()
    }

    /// Live records (`IsDeleted = false`) of `object`, sorted by Id.
    ///
    /// # Panics
    /// If `object` is not `Account`, `Contact`, `Lead`, `Opportunity` or `Task` (any case).
    pub fn records(&self, object: &str) -> Vec<SfRecord> {
        let kind = object_kind(object);
        let store = self.shared.read();
        store
            .object(kind)
            .records
            .values()
            .filter(|r| !r.is_deleted())
            .map(|r| to_sf(kind, r))
            .collect()
    }

    /// Records of `object` in the recycle bin (`IsDeleted = true`), sorted by Id.
    ///
    /// # Panics
    /// On an unknown object type, like [`SalesforceSim::records`].
    pub fn deleted(&self, object: &str) -> Vec<SfRecord> {
        let kind = object_kind(object);
        let store = self.shared.read();
        store
            .object(kind)
            .records
            .values()
            .filter(|r| r.is_deleted())
            .map(|r| to_sf(kind, r))
            .collect()
    }

    /// One record, live or deleted, by 15- or 18-character Id.
    ///
    /// # Panics
    /// On an unknown object type, like [`SalesforceSim::records`].
    pub fn get(&self, object: &str, id: &str) -> Option<SfRecord> {
        let kind = object_kind(object);
        let id = ids::normalize(id)?;
        self.shared.read().get(kind, &id).map(|r| to_sf(kind, r))
    }

    /// Creates a record as if someone did in Salesforce (`CreatedDate = SystemModstamp =
    /// now`), with Salesforce's validation and defaults.
    ///
    /// # Panics
    /// On an unknown object or field, a value of the wrong type, or a write Salesforce
    /// would refuse (a required field missing, a duplicate, ...).
    pub fn create(&self, object: &str, fields: &[(&str, Value)]) -> String {
        let kind = object_kind(object);
        let values = given(kind, fields);
        let now = values::now_ms();
        match self
            .shared
            .write()
            .insert(kind, &values, now, now, &mut Vec::new())
        {
            Ok(id) => id,
            Err(err) => panic!(
                "SalesforceSim::create({object}) failed: {}: {}",
                err.code, err.message
            ),
        }
    }

    /// Edits a live record as if someone did in Salesforce while a sync runs: sets the
    /// values (`null` clears) and bumps `LastModifiedDate` and `SystemModstamp` to now.
    /// False if there is no such live record or Salesforce would refuse the write.
    ///
    /// # Panics
    /// On an unknown object or field, or a value of the wrong type.
    pub fn edit(&self, object: &str, id: &str, fields: &[(&str, Value)]) -> bool {
        let kind = object_kind(object);
        let values = given(kind, fields);
        let Some(id) = ids::normalize(id) else {
            return false;
        };
        self.shared
            .write()
            .update(kind, &id, &values, values::now_ms(), &mut Vec::new())
            .is_ok()
    }

    /// Moves a live record to the recycle bin (`IsDeleted = true`, `SystemModstamp`
    /// bumped); it then shows in `queryAll` and `/deleted`. False if there is none.
    ///
    /// # Panics
    /// On an unknown object type.
    pub fn delete(&self, object: &str, id: &str) -> bool {
        let kind = object_kind(object);
        let Some(id) = ids::normalize(id) else {
            return false;
        };
        self.shared
            .write()
            .delete(kind, &id, values::now_ms(), &mut Vec::new())
            .is_ok()
    }

    /// Forces `SystemModstamp` of the given records to `at` (and `LastModifiedDate` down to
    /// it where it was later), e.g. to give many records the same timestamp.
    ///
    /// # Panics
    /// On an unknown object type.
    pub fn set_system_modstamp(&self, object: &str, ids: &[String], at: DateTime<Utc>) {
        let kind = object_kind(object);
        let ms = at.timestamp_millis();
        let mut store = self.shared.write();
        for id in ids {
            if let Some(id) = ids::normalize(id) {
                store.set_modstamp(kind, &id, ms);
            }
        }
    }

    /// Adds a duplicate rule: a create or update whose `field` equals (without regard to
    /// case) another live record's fails with `DUPLICATES_DETECTED`.
    ///
    /// # Panics
    /// On an unknown object or field.
    pub fn add_duplicate_rule(&self, object: &str, field: &str) {
        let kind = object_kind(object);
        let def = schema::def(kind);
        let i = def
            .field(field)
            .unwrap_or_else(|| panic!("{} has no field {field:?}", def.name));
        self.shared.write().add_duplicate_rule(kind, i);
    }

    /// Changes the daily API request limit.
    pub fn set_daily_limit(&self, n: u64) {
        self.shared.limits.set_max(n);
    }

    /// Sets the daily API request counter (e.g. close to the limit).
    pub fn set_api_usage(&self, used: u64) {
        self.shared.limits.set_used(used);
    }

    /// Counters of what was served.
    pub fn stats(&self) -> SfStats {
        self.shared.stats.snapshot(self.shared.limits.used())
    }

    /// Zeroes the counters (not the daily API usage).
    pub fn reset_stats(&self) {
        self.shared.stats.reset();
    }

    /// The fault schedules.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
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

impl Drop for SalesforceSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
