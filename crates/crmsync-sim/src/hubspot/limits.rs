//! Rate limits: HubSpot's rolling ten-second window per installed app (every OAuth token of
//! the app shares one; the private app has its own, plus a daily quota), and the search
//! API's separate per-second limit.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::auth::Credential;
use super::errors::RatePolicy;

const TEN_SECONDS: Duration = Duration::from_secs(10);
const ONE_SECOND: Duration = Duration::from_secs(1);

/// What the rate-limit headers of a response say.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quota {
    pub max: u32,
    pub remaining: u32,
    /// `(daily max, daily remaining)`, for the private app only.
    pub daily: Option<(u64, u64)>,
}

/// The limiter state.
#[derive(Debug)]
pub(crate) struct RateLimits {
    ten_secondly: AtomicU32,
    secondly: AtomicU32,
    daily: u64,
    daily_used: AtomicU64,
    windows: Mutex<HashMap<&'static str, VecDeque<Instant>>>,
    search: Mutex<VecDeque<Instant>>,
}

fn bucket(credential: &Credential) -> &'static str {
    match credential {
        Credential::OAuth(_) => "oauth-app",
        Credential::PrivateApp => "private-app",
    }
}

/// Counts `window`'s requests younger than `span`; admits one more if under `max`.
fn admit(window: &mut VecDeque<Instant>, span: Duration, max: u32, now: Instant) -> Option<u32> {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= span)
    {
        window.pop_front();
    }
    if window.len() >= max as usize {
        return None;
    }
    window.push_back(now);
    Some(max - window.len() as u32)
}

impl RateLimits {
    pub(crate) fn new(ten_secondly: u32, secondly: u32, daily: u64) -> Self {
        Self {
            ten_secondly: AtomicU32::new(ten_secondly),
            secondly: AtomicU32::new(secondly),
            daily,
            daily_used: AtomicU64::new(0),
            windows: Mutex::new(HashMap::new()),
            search: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn set_ten_secondly(&self, n: u32) {
        self.ten_secondly.store(n, Ordering::Relaxed);
    }

    pub(crate) fn set_secondly(&self, n: u32) {
        self.secondly.store(n, Ordering::Relaxed);
    }

    /// The current ten-second limit (0 = unlimited).
    pub(crate) fn ten_secondly(&self) -> u32 {
        self.ten_secondly.load(Ordering::Relaxed)
    }

    /// Admits a non-search request, or names the policy that refuses it. `Ok(None)` means
    /// unlimited (no headers).
    pub(crate) fn check(
        &self,
        credential: &Credential,
    ) -> Result<Option<Quota>, (RatePolicy, Option<Quota>)> {
        let daily = if *credential == Credential::PrivateApp && self.daily > 0 {
            let used = self.daily_used.load(Ordering::Relaxed);
            if used >= self.daily {
                return Err((RatePolicy::Daily, None));
            }
            Some((self.daily, self.daily - used - 1))
        } else {
            None
        };
        let max = self.ten_secondly();
        if max == 0 {
            if daily.is_some() {
                self.daily_used.fetch_add(1, Ordering::Relaxed);
            }
            return Ok(None);
        }
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let window = windows.entry(bucket(credential)).or_default();
        match admit(window, TEN_SECONDS, max, Instant::now()) {
            Some(remaining) => {
                if daily.is_some() {
                    self.daily_used.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Some(Quota {
                    max,
                    remaining,
                    daily,
                }))
            }
            None => Err((
                RatePolicy::TenSecondly,
                Some(Quota {
                    max,
                    remaining: 0,
                    daily,
                }),
            )),
        }
    }

    /// Admits a search request under the per-second limit.
    pub(crate) fn check_search(&self) -> bool {
        let max = self.secondly.load(Ordering::Relaxed);
        if max == 0 {
            return true;
        }
        let mut window = self.search.lock().unwrap_or_else(PoisonError::into_inner);
        admit(&mut window, ONE_SECOND, max, Instant::now()).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_admits_max_then_refuses() {
        let limits = RateLimits::new(3, 0, 0);
        let cred = Credential::OAuth("t".into());
        for left in [2, 1, 0] {
            assert_eq!(
                limits.check(&cred).ok().flatten().map(|q| q.remaining),
                Some(left)
            );
        }
        assert!(limits.check(&cred).is_err());
        // The private app has its own bucket.
        assert!(limits.check(&Credential::PrivateApp).is_ok());
    }
}
