//! How to build a simulated org, and how tests see its records.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

/// How to build a simulated Salesforce org.
///
/// Limits are Salesforce's defaults; make them small to exercise paging and limit handling.
#[derive(Debug, Clone)]
pub struct SalesforceSimConfig {
    /// Seeded leads.
    pub leads: usize,
    /// Seeded contacts (most of them linked to an account).
    pub contacts: usize,
    /// Seeded accounts.
    pub accounts: usize,
    /// Seeded opportunities (each on an account when there are accounts).
    pub opportunities: usize,
    /// Seeded tasks (on contacts).
    pub tasks: usize,
    /// Seed of the data generator: the same seed gives the same records.
    pub seed: u64,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The org's daily API request limit (`DailyApiRequests.Max`).
    pub daily_api_limit: u64,
    /// Sessions end after this long without a request (the org's session timeout);
    /// `None` = they never time out (faults can still end them).
    pub session_ttl: Option<Duration>,
    /// Added to every response.
    pub latency: Duration,
    /// Records per query page (Salesforce: 2,000; `Sforce-Query-Options: batchSize` can
    /// lower it to 200).
    pub query_page_size: usize,
    /// Query cursors (`nextRecordsUrl`) a user may hold open; opening one more releases the
    /// oldest, whose next page then answers `INVALID_QUERY_LOCATOR` (Salesforce: 10).
    pub max_query_cursors: usize,
    /// The API version the handle reports; paths accept any `vNN.N` from 31.0 up.
    pub api_version: String,
    /// Most records in one sObject Collections write (Salesforce: 200).
    pub max_collection: usize,
    /// Most subrequests in one composite request (Salesforce: 25).
    pub max_composite: usize,
    /// Status polls a Bulk API job answers `InProgress` before `JobComplete` (1: the first
    /// poll after the upload says `InProgress`, the second `JobComplete`).
    pub bulk_poll_steps: u32,
    /// "Now" for the seeded timestamps (spread over the 30 days before it); `None` = the
    /// start time. Fix it to make the whole data set, timestamps included, reproducible.
    pub seed_time: Option<DateTime<Utc>>,
}

impl Default for SalesforceSimConfig {
    fn default() -> Self {
        Self {
            leads: 50,
            contacts: 100,
            accounts: 20,
            opportunities: 30,
            tasks: 0,
            seed: 1,
            port: 0,
            daily_api_limit: 100_000,
            session_ttl: None,
            latency: Duration::ZERO,
            query_page_size: 2000,
            max_query_cursors: 10,
            api_version: "62.0".to_string(),
            max_collection: 200,
            max_composite: 25,
            bulk_poll_steps: 1,
            seed_time: None,
        }
    }
}

/// A record as the simulator holds it (for assertions in tests).
#[derive(Debug, Clone, PartialEq)]
pub struct SfRecord {
    /// The 18-character Id.
    pub id: String,
    /// The sObject type (`Contact`, `Lead`, ...).
    pub object: String,
    /// Every field of the object, platform fields included, rendered as the REST API does
    /// (`null` when empty, date-times as `2024-05-01T10:00:00.000+0000`).
    pub fields: BTreeMap<String, Value>,
    /// `CreatedDate`.
    pub created_date: DateTime<Utc>,
    /// `LastModifiedDate`.
    pub last_modified_date: DateTime<Utc>,
    /// `SystemModstamp`.
    pub system_modstamp: DateTime<Utc>,
    /// Whether the record is in the recycle bin.
    pub is_deleted: bool,
}

impl SfRecord {
    /// A field's value (`None` for a field the object does not have).
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// A text field's value (`None` when empty or not text).
    pub fn str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}
