//! The org's daily API request limit: every REST and Bulk API call counts one, the
//! `Sforce-Limit-Info: api-usage=N/M` header reports the count, and once it reaches the
//! limit calls answer `403 REQUEST_LIMIT_EXCEEDED` (reference §2.5).

use std::sync::atomic::{AtomicU64, Ordering};

/// The daily counter.
#[derive(Debug)]
pub(crate) struct DailyLimit {
    max: AtomicU64,
    used: AtomicU64,
}

impl DailyLimit {
    pub(crate) fn new(max: u64) -> Self {
        Self {
            max: AtomicU64::new(max),
            used: AtomicU64::new(0),
        }
    }

    pub(crate) fn max(&self) -> u64 {
        self.max.load(Ordering::SeqCst)
    }

    pub(crate) fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    pub(crate) fn set_max(&self, max: u64) {
        self.max.store(max, Ordering::SeqCst);
    }

    pub(crate) fn set_used(&self, used: u64) {
        self.used.store(used, Ordering::SeqCst);
    }

    /// Counts one call if the limit allows it; false when it is used up.
    pub(crate) fn admit(&self) -> bool {
        let max = self.max();
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                (u < max).then_some(u + 1)
            })
            .is_ok()
    }

    /// `api-usage=N/M`.
    pub(crate) fn header(&self) -> String {
        format!("api-usage={}/{}", self.used(), self.max())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_until_the_limit() {
        let limit = DailyLimit::new(2);
        assert!(limit.admit());
        assert!(limit.admit());
        assert!(!limit.admit());
        assert_eq!(limit.header(), "api-usage=2/2");
        limit.set_max(3);
        assert!(limit.admit());
    }
}
