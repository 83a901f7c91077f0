//! Request counters, so tests can assert how a client behaved (paging, batching, retries,
//! daily-limit use).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// What the simulator has served since it started or since the last
/// [`SalesforceSim::reset_stats`](super::SalesforceSim::reset_stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SfStats {
    /// Every request received, whatever its outcome.
    pub requests: u64,
    /// Requests per endpoint: `token`, `query`, `query_more`, `query_all`, `sobject_get`,
    /// `sobject_create`, `sobject_update`, `sobject_delete`, `upsert`, `collections_create`,
    /// `collections_update`, `collections_upsert`, `collections_delete`,
    /// `collections_retrieve`, `composite`, `describe`, `sobjects`, `bulk_ingest_create`,
    /// `bulk_ingest_upload`, `bulk_ingest_close`, `bulk_ingest_status`,
    /// `bulk_ingest_results`, `bulk_ingest_list`, `bulk_ingest_delete`, `bulk_query_create`,
    /// `bulk_query_status`, `bulk_query_results`, `bulk_query_list`, `bulk_query_delete`,
    /// `updated`, `deleted`, `limits`, `versions`, `identity`, `revoke`, or `other`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// Answers `403 REQUEST_LIMIT_EXCEEDED` (daily limit or injected bursts).
    pub throttled: u64,
    /// Answers with a 5xx status.
    pub errors_5xx: u64,
    /// Answers with status 401.
    pub unauthorized_401: u64,
    /// Connections reset by an injected fault.
    pub connection_resets: u64,
    /// The daily API request counter (`api-usage` of `Sforce-Limit-Info`), at snapshot time.
    pub api_usage: u64,
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct StatsCollector {
    inner: Mutex<SfStats>,
}

impl StatsCollector {
    fn lock(&self) -> MutexGuard<'_, SfStats> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn request(&self, endpoint: &'static str) {
        let mut s = self.lock();
        s.requests += 1;
        *s.by_endpoint.entry(endpoint.to_string()).or_default() += 1;
    }

    pub(crate) fn status(&self, status: u16, throttled: bool) {
        let mut s = self.lock();
        match status {
            401 => s.unauthorized_401 += 1,
            500.. => s.errors_5xx += 1,
            _ => {}
        }
        if throttled {
            s.throttled += 1;
        }
    }

    pub(crate) fn reset_connection(&self) {
        self.lock().connection_resets += 1;
    }

    pub(crate) fn snapshot(&self, api_usage: u64) -> SfStats {
        SfStats {
            api_usage,
            ..self.lock().clone()
        }
    }

    pub(crate) fn reset(&self) {
        *self.lock() = SfStats::default();
    }
}
