//! Request counters, so tests can assert how a client behaved (pacing, retries, batching).

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

/// What the simulator has served since it started or since the last
/// [`HubSpotSim::reset_stats`](super::HubSpotSim::reset_stats).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Every request received, whatever its outcome.
    pub requests: u64,
    /// Requests per endpoint: `list`, `get`, `create`, `update`, `delete`, `search`,
    /// `batch_read`, `batch_create`, `batch_update`, `batch_upsert`, `batch_archive`,
    /// `properties`, `token`, or `other`.
    pub by_endpoint: BTreeMap<String, u64>,
    /// Answers with status 429.
    pub throttled_429: u64,
    /// Answers with a 5xx status.
    pub errors_5xx: u64,
    /// Answers with status 401.
    pub unauthorized_401: u64,
    /// Connections reset by an injected fault.
    pub connection_resets: u64,
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct StatsCollector {
    inner: Mutex<SimStats>,
}

impl StatsCollector {
    fn lock(&self) -> std::sync::MutexGuard<'_, SimStats> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn request(&self, endpoint: &'static str) {
        let mut s = self.lock();
        s.requests += 1;
        *s.by_endpoint.entry(endpoint.to_string()).or_default() += 1;
    }

    pub(crate) fn status(&self, status: u16) {
        if status == 429 || status == 401 || status >= 500 {
            let mut s = self.lock();
            match status {
                429 => s.throttled_429 += 1,
                401 => s.unauthorized_401 += 1,
                _ => s.errors_5xx += 1,
            }
        }
    }

    pub(crate) fn reset_connection(&self) {
        self.lock().connection_resets += 1;
    }

    pub(crate) fn snapshot(&self) -> SimStats {
        self.lock().clone()
    }

    pub(crate) fn reset(&self) {
        *self.lock() = SimStats::default();
    }
}
