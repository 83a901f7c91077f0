//! Pacing under Zapier's two windows at once (per second and per 5 minutes).

use crmsync_http::Pacer;

use crate::ZapierLimits;

/// Two governor buckets of one shared [`Pacer`]: a request waits for both.
#[derive(Clone)]
pub(crate) struct ZapierPacer {
    pacer: Pacer,
}

impl ZapierPacer {
    /// The pacer shared by everything sent for `tenant` under `scope`.
    pub(crate) fn new(tenant: &str, scope: &str, limits: &ZapierLimits) -> Self {
        Self {
            pacer: Pacer::shared(tenant, scope, &limits.buckets()),
        }
    }

    /// Waits until one more request fits both windows.
    pub(crate) async fn ready(&self) {
        self.pacer.until_ready("second").await;
        self.pacer.until_ready("five_minutes").await;
    }
}
