//! Zapier's REST-hook throttle: 30 webhooks per second and 10,000 per 5 minutes per
//! account (docs.zapier.com operating constraints); beyond either it answers 429.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

const ONE_SECOND: Duration = Duration::from_secs(1);
const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// Two rolling windows of admitted requests.
#[derive(Debug)]
pub(crate) struct Throttle {
    per_second: AtomicU32,
    per_five_minutes: AtomicU32,
    windows: Mutex<(VecDeque<Instant>, VecDeque<Instant>)>,
}

/// Drops entries older than `span`; `Some(wait)` when the window is full.
fn full(
    window: &mut VecDeque<Instant>,
    span: Duration,
    max: u32,
    now: Instant,
) -> Option<Duration> {
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= span)
    {
        window.pop_front();
    }
    if max == 0 || window.len() < max as usize {
        return None;
    }
    window
        .front()
        .map(|oldest| span.saturating_sub(now.duration_since(*oldest)))
}

impl Throttle {
    pub(crate) fn new(per_second: u32, per_five_minutes: u32) -> Self {
        Self {
            per_second: AtomicU32::new(per_second),
            per_five_minutes: AtomicU32::new(per_five_minutes),
            windows: Mutex::default(),
        }
    }

    pub(crate) fn set(&self, per_second: u32, per_five_minutes: u32) {
        self.per_second.store(per_second, Ordering::Relaxed);
        self.per_five_minutes
            .store(per_five_minutes, Ordering::Relaxed);
    }

    /// Admits one request, or says how long until one would fit (`Retry-After`).
    pub(crate) fn admit(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut guard = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let (second, five) = &mut *guard;
        let per_second = self.per_second.load(Ordering::Relaxed);
        let per_five = self.per_five_minutes.load(Ordering::Relaxed);
        let wait = [
            full(second, ONE_SECOND, per_second, now),
            full(five, FIVE_MINUTES, per_five, now),
        ]
        .into_iter()
        .flatten()
        .max();
        if let Some(wait) = wait {
            return Err(wait);
        }
        if per_second > 0 {
            second.push_back(now);
        }
        if per_five > 0 {
            five.push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thirty_first_request_in_a_second_waits() {
        let throttle = Throttle::new(30, 10_000);
        for _ in 0..30 {
            assert!(throttle.admit().is_ok());
        }
        let wait = throttle.admit().err();
        assert!(wait.is_some_and(|w| w <= ONE_SECOND), "{wait:?}");
    }

    #[test]
    fn the_five_minute_window_counts_too() {
        let throttle = Throttle::new(0, 3);
        for _ in 0..3 {
            assert!(throttle.admit().is_ok());
        }
        assert!(throttle.admit().err().is_some_and(|w| w > ONE_SECOND));
        throttle.set(0, 0);
        assert!(throttle.admit().is_ok(), "0 disables the limits");
    }
}
