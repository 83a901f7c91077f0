//! Fault injection: schedules of failures the simulator serves on demand.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Thread-safe fault schedules. Each counter applies to the next `n` matching requests and
/// then runs out; [`Faults::clear`] removes everything at once.
///
/// Every simulator has one and answers each fault in its own CRM's wire format. Obtain it
/// with [`HubSpotSim::faults`](crate::HubSpotSim::faults) or
/// [`SalesforceSim::faults`](crate::SalesforceSim::faults):
///
/// ```no_run
/// # async fn demo(sim: &crmsync_sim::HubSpotSim) {
/// use std::time::Duration;
/// sim.faults().rate_limit_burst(3, Some(1)); // three 429s with `Retry-After: 1`
/// sim.faults().server_errors(2);             // then two 502/503s
/// sim.faults().set_latency(Duration::from_millis(20));
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Faults {
    rate_limits: AtomicU32,
    retry_after: Mutex<Option<u64>>,
    server_errors: AtomicU32,
    server_error_serial: AtomicU64,
    resets: AtomicU32,
    slow: AtomicU32,
    slow_delay: Mutex<Duration>,
    malformed: AtomicU32,
    expire_every: AtomicU32,
    oauth_requests: AtomicU64,
    latency: Mutex<Duration>,
}

/// Takes one from a countdown, if any is left.
fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

impl Faults {
    pub(crate) fn with_latency(latency: Duration) -> Self {
        Self {
            latency: Mutex::new(latency),
            ..Self::default()
        }
    }

    /// The next `n` API requests (not the token endpoint) get the CRM's rate-limit answer,
    /// with `Retry-After: secs` when `retry_after` is given: HubSpot a 429
    /// `TEN_SECONDLY_ROLLING`, Salesforce a 403 `REQUEST_LIMIT_EXCEEDED`.
    pub fn rate_limit_burst(&self, n: u32, retry_after: Option<u64>) {
        *self
            .retry_after
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = retry_after;
        self.rate_limits.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests get a 502 or 503 (alternating) with the CRM's error body.
    pub fn server_errors(&self, n: u32) {
        self.server_errors.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests have their connection reset without any response.
    pub fn connection_resets(&self, n: u32) {
        self.resets.store(n, Ordering::SeqCst);
    }

    /// The next `n` requests are answered after an extra `delay`.
    pub fn slow_responses(&self, n: u32, delay: Duration) {
        *self
            .slow_delay
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = delay;
        self.slow.store(n, Ordering::SeqCst);
    }

    /// The next `n` successful (2xx) responses that have a body carry truncated, invalid JSON.
    pub fn malformed_bodies(&self, n: u32) {
        self.malformed.store(n, Ordering::SeqCst);
    }

    /// Every `k`-th API request made with an OAuth access token finds that token expired
    /// (HubSpot: 401 `EXPIRED_AUTHENTICATION`; Salesforce: 401 `INVALID_SESSION_ID`), and it
    /// stays expired: the client must refresh. `0` disables this.
    pub fn expire_tokens_every(&self, k: u32) {
        self.oauth_requests.store(0, Ordering::SeqCst);
        self.expire_every.store(k, Ordering::SeqCst);
    }

    /// Adds `d` of latency to every request (replacing the configured latency).
    pub fn set_latency(&self, d: Duration) {
        *self.latency.lock().unwrap_or_else(PoisonError::into_inner) = d;
    }

    /// Removes every fault, latency included.
    pub fn clear(&self) {
        self.rate_limits.store(0, Ordering::SeqCst);
        self.server_errors.store(0, Ordering::SeqCst);
        self.resets.store(0, Ordering::SeqCst);
        self.slow.store(0, Ordering::SeqCst);
        self.malformed.store(0, Ordering::SeqCst);
        self.expire_every.store(0, Ordering::SeqCst);
        self.set_latency(Duration::ZERO);
    }

    pub(crate) fn latency(&self) -> Duration {
        *self.latency.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `Some(retry_after)` when this request must be rate-limited.
    pub(crate) fn take_rate_limit(&self) -> Option<Option<u64>> {
        take(&self.rate_limits).then(|| {
            *self
                .retry_after
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        })
    }

    /// `Some(is_502)` when this request must fail with a server error.
    pub(crate) fn take_server_error(&self) -> Option<bool> {
        take(&self.server_errors)
            .then(|| self.server_error_serial.fetch_add(1, Ordering::SeqCst) % 2 == 0)
    }

    pub(crate) fn take_reset(&self) -> bool {
        take(&self.resets)
    }

    pub(crate) fn take_slow(&self) -> Option<Duration> {
        take(&self.slow).then(|| {
            *self
                .slow_delay
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        })
    }

    pub(crate) fn malformed_pending(&self) -> bool {
        self.malformed.load(Ordering::SeqCst) > 0
    }

    pub(crate) fn take_malformed(&self) -> bool {
        take(&self.malformed)
    }

    /// Counts an OAuth API request; true when this one must find its token expired.
    pub(crate) fn take_expiry(&self) -> bool {
        let k = self.expire_every.load(Ordering::SeqCst);
        if k == 0 {
            return false;
        }
        let n = self.oauth_requests.fetch_add(1, Ordering::SeqCst) + 1;
        n % u64::from(k) == 0
    }
}
