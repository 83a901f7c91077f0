//! crmsync's [`CrmProvider`] for Salesforce: REST, sObject Collections and Bulk API 2.0.
//!
//! - Auth: the OAuth refresh-token flow or the JWT bearer flow (RS256), against the
//!   production, sandbox or a custom login URL; requests go to the `instance_url` of
//!   the token response; an expired session (`INVALID_SESSION_ID`) refreshes once
//!   and retries.
//! - Queries are built by [`Soql`], which validates every name and escapes every
//!   literal: no string is concatenated raw into a query.
//! - The change feed reads by a `(SystemModstamp, Id)` cursor with an overlap window,
//!   following `nextRecordsUrl` (kept in the cursor, with a fallback when the locator
//!   expires), then deletes through `queryAll … IsDeleted = true`; full passes over
//!   large objects use a Bulk API 2.0 query job.
//! - `read` and `find` are batched `IN` queries; writes go through sObject
//!   Collections (200 per call, `allOrNone=false`, per-record outcomes), upserting by
//!   a configured external id field; batches above `bulk_write_threshold` go through
//!   a Bulk API 2.0 ingest job.
//! - Limits: `Sforce-Limit-Info` is read on every response; once the connection has
//!   used its `daily_budget` share of the org's allowance, calls fail with
//!   [`ErrorKind::Interrupted`](crmsync_core::ErrorKind::Interrupted) (the run is
//!   partial and resumes from its checkpoint); `REQUEST_LIMIT_EXCEEDED` is throttling
//!   that is not retried within the run.
//!
//! Layout follows the house style: `config.rs`, `auth.rs`, `core.rs` (wire shapes,
//! `parse_error`, limits), `soql.rs`, `objects.rs`, `changes.rs`, `writes.rs`,
//! `bulk.rs`.
//!
//! ```no_run
//! # async fn demo() -> crmsync_core::Result<()> {
//! use crmsync_core::ObjectKind;
//! use crmsync_salesforce::{SalesforceConfig, SalesforceProvider, DEFAULT_LOGIN_URL};
//! let config = SalesforceConfig::jwt_bearer(
//!     DEFAULT_LOGIN_URL,
//!     "3MVG9...",
//!     "integration@acme.com",
//!     std::fs::read_to_string("server.key").unwrap_or_default(),
//! )
//! .scope("tenant-a", "salesforce-main")
//! .external_id(ObjectKind::Contact, "External_Id__c");
//! let salesforce = SalesforceProvider::new(config)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod bulk;
mod changes;
mod config;
mod core;
mod objects;
mod soql;
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
use crmsync_http::ApiClient;

pub use config::{DEFAULT_LOGIN_URL, SANDBOX_LOGIN_URL, SalesforceAuth, SalesforceConfig};
pub use core::parse_limit_info;
pub use soql::{
    Cond, Like, Soql, SoqlValue, datetime_literal, escape_like, escape_literal, validate_identifier,
};

/// The largest write batch the provider takes in one call: collections of 200, or
/// one Bulk API job above the threshold.
const MAX_WRITE_BATCH: usize = 10_000;

/// The Salesforce provider of one connection.
#[derive(Clone, Debug)]
pub struct SalesforceProvider {
    client: ApiClient,
    config: Arc<SalesforceConfig>,
    usage: Arc<core::ApiUsage>,
    field_types: Arc<Mutex<HashMap<String, Arc<objects::FieldTypes>>>>,
}

impl SalesforceProvider {
    /// A provider from settings. Fails with
    /// [`ErrorKind::Config`](crmsync_core::ErrorKind::Config) on an unusable private
    /// key.
    pub fn new(config: SalesforceConfig) -> Result<Self> {
        let (auth, base_url) = auth::build(&config)?;
        let usage = Arc::new(core::ApiUsage::default());
        let client = ApiClient::builder(base_url, auth)
            .scope(config.tenant.clone(), config.connection.clone())
            .follow_instance_url(true)
            .limits(vec![config.request_rate.clone()])
            .retry(config.retry)
            .timeout(config.timeout)
            .error_parser(Arc::new(core::SalesforceErrors {
                usage: usage.clone(),
            }))
            .build()?;
        Ok(Self {
            client,
            config: Arc::new(config),
            usage,
            field_types: Arc::default(),
        })
    }

    /// The HTTP client (its counters, pacer).
    pub fn client(&self) -> &ApiClient {
        &self.client
    }

    /// The settings.
    pub fn config(&self) -> &SalesforceConfig {
        &self.config
    }

    /// The org's API usage as last reported by `Sforce-Limit-Info`: (used, max) over
    /// the last 24 hours.
    pub fn api_usage(&self) -> Option<(u64, u64)> {
        self.usage.get()
    }
}

impl CrmProvider for SalesforceProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Salesforce
    }

    fn capabilities(&self, object: &ObjectKind) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.upsert_by_external_id = self.config.external_id_fields.contains_key(object);
        caps.max_write_batch = MAX_WRITE_BATCH;
        caps.max_read_batch = 2_000;
        caps.max_page_size = self.config.query_page_size;
        caps.bulk = true;
        caps
    }

    async fn describe(&self, object: &ObjectKind) -> Result<ObjectSchema> {
        let sobject = self.sobject(object)?;
        let describe = self.describe_sobject(&sobject).await?;
        Ok(objects::to_schema(object, describe))
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
