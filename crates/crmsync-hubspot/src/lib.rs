//! crmsync's [`CrmProvider`] for HubSpot CRM v3.
//!
//! - `describe` from the properties API (custom properties included);
//! - a full sync through the list endpoint (100 per page), incremental syncs through
//!   search on the last-modified property with a `(timestamp, id)` cursor (200 per
//!   page, windows split before the 10,000-result cap), deletes from the archived list;
//! - `read` by batch read, `find` by email (batch read with `idProperty=email`);
//! - writes by batch update / upsert (by email, for contacts) / create, 100 per call,
//!   with 207 partial results mapped to per-record outcomes; deletes by batch archive.
//!
//! Layout follows the house style: `config.rs` (settings), `core.rs` (wire shapes and
//! `parse_error`), `objects.rs`, `changes.rs`, `writes.rs`.
//!
//! ```no_run
//! # async fn demo() -> crmsync_core::Result<()> {
//! use crmsync_hubspot::{HubSpotConfig, HubSpotProvider};
//! let config = HubSpotConfig::private_app("https://api.hubapi.com", "pat-na1-...")
//!     .scope("tenant-a", "hubspot-main");
//! let hubspot = HubSpotProvider::new(config)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod changes;
mod config;
mod core;
mod objects;
#[doc(hidden)]
pub mod wire;
mod writes;

use std::{sync::Arc, time::Duration};

use crmsync_core::{
    Capabilities, ChangePage, ChangesRequest, CrmProvider, MatchKey, ObjectKind, ObjectSchema,
    ProviderKind, Record, RecordId, RecordMatch, Result, WriteOp, WriteOutcome,
};
use crmsync_http::{ApiClient, ApiRequest, BucketLimit};

pub use config::{DEFAULT_BASE_URL, HubSpotConfig};

/// The HubSpot provider of one connection.
#[derive(Clone, Debug)]
pub struct HubSpotProvider {
    client: ApiClient,
    config: Arc<HubSpotConfig>,
}

impl HubSpotProvider {
    /// A provider from settings.
    pub fn new(config: HubSpotConfig) -> Result<Self> {
        let client = ApiClient::builder(config.base_url.clone(), config.auth.clone())
            .scope(config.tenant.clone(), config.connection.clone())
            .limits(vec![
                BucketLimit::new("default", config.rate_limit_10s, Duration::from_secs(10)),
                BucketLimit::new("search", config.search_per_second, Duration::from_secs(1)),
            ])
            .retry(config.retry)
            .timeout(config.timeout)
            .error_parser(Arc::new(core::HubSpotErrors))
            .build()?;
        Ok(Self {
            client,
            config: Arc::new(config),
        })
    }

    /// The HTTP client (its counters, pacer).
    pub fn client(&self) -> &ApiClient {
        &self.client
    }
}

impl CrmProvider for HubSpotProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Hubspot
    }

    fn capabilities(&self, object: &ObjectKind) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.upsert_by_external_id = *object == ObjectKind::Contact;
        // Contacts are unique by e-mail; creates upsert by it (idempotent retries).
        caps.unique_email = *object == ObjectKind::Contact;
        caps.max_write_batch = writes::BATCH;
        caps.max_read_batch = writes::BATCH;
        caps.max_page_size = self.config.search_page_size;
        caps.search_cap = Some(self.config.search_cap);
        caps.webhooks = true;
        caps
    }

    async fn describe(&self, object: &ObjectKind) -> Result<ObjectSchema> {
        let t = objects::hs_type(object)?;
        let req = ApiRequest::get(
            "hubspot.properties",
            format!("/crm/v3/properties/{}", t.path),
        );
        let (_, props) = self.client.send_json(&req).await?;
        Ok(objects::to_schema(object, props))
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
        self.read_records(object, ids, fields, None).await
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
        self.archive_records(object, ids).await
    }

    fn api_calls(&self) -> u64 {
        self.client.stats().requests()
    }
}
