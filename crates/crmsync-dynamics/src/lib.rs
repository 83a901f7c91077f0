//! crmsync's [`CrmProvider`] for Microsoft Dynamics 365 / Dataverse (Web API v9.2).
//!
//! - Auth: the client credentials grant against a configurable Microsoft identity
//!   authority (`{authority}/{tenant}/oauth2/v2.0/token`, scope `{org_url}/.default`);
//!   tokens are cached until a minute before `expires_in` and fetched again after a 401.
//! - Tables: contacts, accounts (Company), leads, opportunities (Deal), phonecalls or
//!   tasks (Activity), and custom tables by entity set name (`ObjectKind::Custom`),
//!   resolved once through `EntityDefinitions`; `describe` reads
//!   `EntityDefinitions(LogicalName='…')/Attributes`.
//! - Queries use `$select` and a typed [`Filter`] builder: column names validated,
//!   literals quoted with single quotes doubled, GUIDs parsed. Pages are asked for with
//!   `Prefer: odata.maxpagesize` and `@odata.nextLink` is followed unchanged.
//! - The change feed is Dataverse change tracking: the delta link is the cursor,
//!   `$deletedEntity` tombstones are deletes, and an expired delta token
//!   ([`EXPIRED_VERSION_STAMP`]) restarts with a full resync (see `changes.rs`).
//! - `read` and `find` are batched `$filter … or …` queries; writes and deletes go
//!   through `$batch` (up to 1,000 operations, one outcome per record; see
//!   `writes.rs` for why operations are not grouped in change sets).
//! - Service protection: `x-ms-ratelimit-burst-remaining-xrm-requests` feeds the pacer;
//!   429s and the three service protection codes are throttling retried after
//!   `Retry-After`, never record failures.
//!
//! Layout follows the house style: `config.rs`, `auth.rs`, `core.rs` (error shape,
//! `parse_error`), `odata.rs`, `tables.rs`, `changes.rs`, `writes.rs`, `batch.rs`.
//!
//! ```no_run
//! # async fn demo() -> crmsync_core::Result<()> {
//! use crmsync_core::ObjectKind;
//! use crmsync_dynamics::{DynamicsConfig, DynamicsProvider, DEFAULT_AUTHORITY};
//! let config = DynamicsConfig::client_credentials(
//!     "https://contoso.crm.dynamics.com",
//!     DEFAULT_AUTHORITY,
//!     "contoso.onmicrosoft.com",
//!     "11111111-1111-1111-1111-111111111111",
//!     std::env::var("DATAVERSE_CLIENT_SECRET").unwrap_or_default(),
//! )
//! .scope("tenant-a", "dynamics-main")
//! .alternate_key(ObjectKind::Contact, "crmsync_externalid");
//! let dynamics = DynamicsProvider::new(config)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod batch;
mod changes;
mod config;
mod core;
mod odata;
mod tables;
#[doc(hidden)]
pub mod wire;
mod writes;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crmsync_core::{
    Capabilities, ChangePage, ChangesRequest, CrmProvider, MatchKey, ObjectKind, ObjectSchema,
    ProviderKind, Record, RecordId, RecordMatch, Result, WriteOp, WriteOutcome,
};
use crmsync_http::{ApiClient, ApiRequest, Auth};
use serde::de::DeserializeOwned;

pub use crate::core::{EXPIRED_VERSION_STAMP, THROTTLING_CODES, has_code};
pub use config::{DEFAULT_AUTHORITY, DynamicsConfig};
pub use odata::{Filter, Guid, ODataValue, Op, escape_literal, validate_column};

/// The Dynamics 365 / Dataverse provider of one connection.
#[derive(Clone, Debug)]
pub struct DynamicsProvider {
    client: ApiClient,
    config: Arc<DynamicsConfig>,
    tables: Arc<Mutex<HashMap<String, Arc<tables::Table>>>>,
    columns: Arc<Mutex<HashMap<String, Arc<tables::Columns>>>>,
}

impl DynamicsProvider {
    /// A provider from settings.
    pub fn new(config: DynamicsConfig) -> Result<Self> {
        let auth = Auth::Source(Arc::new(auth::ClientCredentials::new(&config)));
        let client = ApiClient::builder(config.org_url.clone(), auth)
            .scope(config.tenant.clone(), config.connection.clone())
            .limits(vec![config.request_rate.clone()])
            .retry(config.retry)
            .timeout(config.timeout)
            .error_parser(Arc::new(core::DataverseErrors))
            .build()?;
        Ok(Self {
            client,
            config: Arc::new(config),
            tables: Arc::default(),
            columns: Arc::default(),
        })
    }

    /// The HTTP client (its counters, pacer).
    pub fn client(&self) -> &ApiClient {
        &self.client
    }

    /// The settings.
    pub fn config(&self) -> &DynamicsConfig {
        &self.config
    }

    /// A GET with the OData headers and `Prefer` values; the body decoded.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        path: &str,
        prefer: &[String],
    ) -> Result<(crmsync_http::StatusCode, T)> {
        let mut req = ApiRequest::get(operation, path)
            .header("OData-MaxVersion", "4.0")
            .header("OData-Version", "4.0");
        if !prefer.is_empty() {
            req = req.header("Prefer", prefer.join(","));
        }
        self.client.send_json(&req).await
    }
}

impl CrmProvider for DynamicsProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Dynamics
    }

    fn capabilities(&self, object: &ObjectKind) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.upsert_by_external_id = self.config.alternate_keys.contains_key(object);
        caps.max_write_batch = self.config.batch_size.clamp(1, writes::MAX_BATCH);
        caps.max_read_batch = writes::MAX_BATCH;
        caps.max_page_size = self.config.page_size.clamp(1, changes::MAX_PAGE);
        caps.search_cap = None;
        caps.webhooks = false;
        caps.bulk = false;
        caps
    }

    async fn describe(&self, object: &ObjectKind) -> Result<ObjectSchema> {
        let table = self.table(object).await?;
        let attrs = self.describe_table(&table).await?;
        Ok(tables::to_schema(object, attrs))
    }

    async fn changes(&self, object: &ObjectKind, request: ChangesRequest) -> Result<ChangePage> {
        self.fetch_changes(object, request).await
    }

    async fn read(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
    ) -> Result<Vec<Record>> {
        self.read_records(object, ids, fields).await
    }

    async fn find(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
    ) -> Result<Vec<RecordMatch>> {
        self.find_records(object, keys, fields).await
    }

    async fn upsert(&self, object: &ObjectKind, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.write_records(object, ops).await
    }

    async fn delete(&self, object: &ObjectKind, ids: &[RecordId]) -> Result<Vec<WriteOutcome>> {
        self.delete_records(object, ids).await
    }

    fn api_calls(&self) -> u64 {
        self.client.stats().requests()
    }
}
