//! Pacing under published rate limits: governor limiters per (tenant, connection, bucket).

use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex, OnceLock},
    time::{Duration, Instant},
};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// A published limit: `requests` per `per` (e.g. HubSpot: 100 per 10 s; search 5 per s).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketLimit {
    /// The bucket's name (`default`, `search`, ...); requests name their bucket.
    pub bucket: String,
    /// Requests allowed per window.
    pub requests: u32,
    /// The window.
    pub per: Duration,
}

impl BucketLimit {
    /// A limit of `requests` per `per` for `bucket`.
    pub fn new(bucket: impl Into<String>, requests: u32, per: Duration) -> Self {
        Self {
            bucket: bucket.into(),
            requests,
            per,
        }
    }

    /// A GCRA quota that can never exceed the limit in any rolling window: a small
    /// burst `b` plus a steady rate `r` with `b + r < requests`.
    fn quota(&self) -> Option<Quota> {
        if self.requests == 0 || self.per.is_zero() {
            return None;
        }
        let burst = (self.requests / 50).max(1);
        let steady = self.requests.saturating_sub(burst + 1);
        // Tiny limits: one request per window, spaced a little over the window.
        let period = if steady == 0 {
            self.per + self.per / 100
        } else {
            self.per / steady
        };
        let quota = Quota::with_period(period.max(Duration::from_micros(1)))?;
        Some(quota.allow_burst(NonZeroU32::new(burst)?))
    }
}

struct Bucket {
    limiter: Option<DefaultDirectRateLimiter>,
    /// Set from response headers when the server says the window is used up.
    hold_until: Mutex<Option<Instant>>,
}

/// Paces the requests of one connection across its buckets. Pacers are shared: two
/// clients of the same (tenant, connection) get the same limiters.
#[derive(Clone)]
pub struct Pacer {
    buckets: Arc<HashMap<String, Arc<Bucket>>>,
}

/// Keyed by (tenant, connection, bucket, requests, window): a changed limit gets a new limiter.
type Registry = Mutex<HashMap<(String, String, String, u32, Duration), Arc<Bucket>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

impl Pacer {
    /// The shared pacer of a tenant's connection with these limits. Clients of the
    /// same connection with the same limits share limiters.
    pub fn shared(tenant: &str, connection: &str, limits: &[BucketLimit]) -> Self {
        let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
        let buckets = limits
            .iter()
            .map(|limit| {
                let key = (
                    tenant.to_owned(),
                    connection.to_owned(),
                    limit.bucket.clone(),
                    limit.requests,
                    limit.per,
                );
                let bucket = reg
                    .entry(key)
                    .or_insert_with(|| {
                        Arc::new(Bucket {
                            limiter: limit.quota().map(RateLimiter::direct),
                            hold_until: Mutex::new(None),
                        })
                    })
                    .clone();
                (limit.bucket.clone(), bucket)
            })
            .collect();
        Self {
            buckets: Arc::new(buckets),
        }
    }

    /// A pacer that never waits.
    pub fn unlimited() -> Self {
        Self {
            buckets: Arc::new(HashMap::new()),
        }
    }

    /// Waits until a request in `bucket` may go out. Unknown buckets use `default`.
    pub async fn until_ready(&self, bucket: &str) {
        let Some(b) = self
            .buckets
            .get(bucket)
            .or_else(|| self.buckets.get("default"))
        else {
            return;
        };
        let hold = *b.hold_until.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = hold {
            let now = Instant::now();
            if until > now {
                tokio::time::sleep(until - now).await;
            }
        }
        if let Some(limiter) = &b.limiter {
            limiter.until_ready().await;
        }
    }

    /// Tells the pacer the server's view: `remaining` requests left in a window that
    /// frees up within `interval`. With nothing left, the bucket holds for a slice of
    /// the window so the next request does not draw a 429.
    pub fn observe_remaining(&self, bucket: &str, remaining: u64, interval: Duration) {
        let Some(b) = self
            .buckets
            .get(bucket)
            .or_else(|| self.buckets.get("default"))
        else {
            return;
        };
        if remaining == 0 {
            let mut hold = b.hold_until.lock().unwrap_or_else(|p| p.into_inner());
            *hold = Some(Instant::now() + interval / 10);
        }
    }

    /// Holds a bucket until `wait` has passed (after a 429 with `Retry-After`).
    pub fn hold(&self, bucket: &str, wait: Duration) {
        let Some(b) = self
            .buckets
            .get(bucket)
            .or_else(|| self.buckets.get("default"))
        else {
            return;
        };
        let mut hold = b.hold_until.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + wait;
        if hold.is_none_or(|h| h < until) {
            *hold = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_never_exceeds_a_rolling_window() {
        for requests in [1u32, 5, 10, 100, 150, 200] {
            let limit = BucketLimit::new("default", requests, Duration::from_secs(10));
            let Some(quota) = limit.quota() else {
                panic!("quota for {requests}");
            };
            let burst = quota.burst_size().get();
            let per = quota.replenish_interval();
            let max_in_window =
                burst + (Duration::from_secs(10).as_nanos() / per.as_nanos()) as u32;
            assert!(
                max_in_window <= requests,
                "{requests}: burst {burst} + steady gives {max_in_window}"
            );
        }
    }

    #[tokio::test]
    async fn pacers_are_shared_per_connection() {
        let limits = [BucketLimit::new("default", 100, Duration::from_secs(10))];
        let a = Pacer::shared("t-share", "c1", &limits);
        let b = Pacer::shared("t-share", "c1", &limits);
        let c = Pacer::shared("t-share", "c2", &limits);
        assert!(Arc::ptr_eq(&a.buckets["default"], &b.buckets["default"]));
        assert!(!Arc::ptr_eq(&a.buckets["default"], &c.buckets["default"]));
    }
}
