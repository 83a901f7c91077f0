//! A circuit breaker per connection: stop calling a system that keeps failing.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// When the breaker opens and how long it stays open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed requests (after retries) that open the breaker.
    pub failure_threshold: u32,
    /// How long it stays open before letting one trial request through.
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen,
}

/// Closed → (N consecutive failures) → open → (pause) → half-open → one trial:
/// success closes, failure re-opens.
#[derive(Debug)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: Mutex<State>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// `Ok` when a request may go out; `Err(wait)` while open.
    pub fn check(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            State::Closed { .. } | State::HalfOpen => Ok(()),
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    *state = State::HalfOpen;
                    Ok(())
                } else {
                    Err(until - now)
                }
            }
        }
    }

    /// Records a success: the breaker closes.
    pub fn on_success(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = State::Closed { failures: 0 };
    }

    /// Records a failure that retries could not fix.
    pub fn on_failure(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let open = State::Open {
            until: Instant::now() + self.config.open_for,
        };
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.config.failure_threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            _ => open,
        };
    }

    /// Whether the breaker is open now.
    pub fn is_open(&self) -> bool {
        self.check().is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_half_opens_after_pause() {
        let b = CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_millis(30),
        });
        b.on_failure();
        b.on_failure();
        assert!(b.check().is_ok());
        b.on_failure();
        assert!(b.check().is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.check().is_ok(), "half-open lets a trial through");
        b.on_failure();
        assert!(b.check().is_err(), "a failed trial re-opens");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.check().is_ok());
        b.on_success();
        b.on_failure();
        assert!(b.check().is_ok(), "success resets the count");
    }
}
