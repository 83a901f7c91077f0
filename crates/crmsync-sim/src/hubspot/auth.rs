//! Credentials: the OAuth app (client id/secret, refresh token, expiring access tokens) and
//! a private app token that never expires.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::errors::ApiError;
use super::rng::{self, SplitMix64};

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    /// An OAuth access token (the string is the token).
    OAuth(String),
    /// The private app token.
    PrivateApp,
}

#[derive(Debug)]
struct Issued {
    expires_at: Instant,
}

#[derive(Debug)]
struct AuthState {
    access: HashMap<String, Issued>,
    refresh: HashSet<String>,
    current: String,
}

/// The simulator's credentials and the tokens it has issued.
#[derive(Debug)]
pub(crate) struct Auth {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub private_app_token: String,
    pub ttl: Duration,
    state: Mutex<AuthState>,
}

fn seeded_uuid(rng: &mut SplitMix64) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

impl Auth {
    /// Long-lived credentials derive from the seed (stable across runs of the binary);
    /// access tokens are random.
    pub(crate) fn new(seed: u64, ttl: Duration) -> Self {
        let mut rng = SplitMix64::new(seed ^ 0x0A57_0A57_0A57_0A57);
        let client_id = seeded_uuid(&mut rng);
        let client_secret = seeded_uuid(&mut rng);
        let refresh_token = format!("na1-{}", seeded_uuid(&mut rng));
        let private_app_token = format!("pat-na1-{}", seeded_uuid(&mut rng));
        let auth = Self {
            client_id,
            client_secret,
            refresh_token: refresh_token.clone(),
            private_app_token,
            ttl,
            state: Mutex::new(AuthState {
                access: HashMap::new(),
                refresh: HashSet::from([refresh_token]),
                current: String::new(),
            }),
        };
        auth.issue();
        auth
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AuthState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Issues a new access token; returns it and its lifetime in seconds.
    pub(crate) fn issue(&self) -> (String, u64) {
        let token = format!("CL{}", rng::token_chars(148));
        let now = Instant::now();
        let mut state = self.lock();
        // Forget tokens that expired long ago so a long soak does not grow without bound.
        state
            .access
            .retain(|_, t| t.expires_at + Duration::from_secs(86_400) > now);
        state.access.insert(
            token.clone(),
            Issued {
                expires_at: now + self.ttl,
            },
        );
        state.current = token.clone();
        (token, self.ttl.as_secs())
    }

    /// The most recently issued access token.
    pub(crate) fn current_access_token(&self) -> String {
        self.lock().current.clone()
    }

    /// Whether `token` is a valid (not revoked) refresh token.
    pub(crate) fn refresh_valid(&self, token: &str) -> bool {
        self.lock().refresh.contains(token)
    }

    /// Revokes a refresh token; false if it was not valid.
    pub(crate) fn revoke_refresh(&self, token: &str) -> bool {
        self.lock().refresh.remove(token)
    }

    /// Seconds left on an access token, or `None` if it is unknown or expired.
    pub(crate) fn access_expires_in(&self, token: &str) -> Option<u64> {
        let state = self.lock();
        let issued = state.access.get(token)?;
        issued
            .expires_at
            .checked_duration_since(Instant::now())
            .map(|d| d.as_secs())
    }

    /// Marks an access token expired now (fault injection).
    pub(crate) fn expire(&self, token: &str) {
        if let Some(t) = self.lock().access.get_mut(token) {
            t.expires_at = Instant::now();
        }
    }

    /// Checks an `Authorization` header value.
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<Credential, ApiError> {
        let token = authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::invalid_authentication)?;
        if token == self.private_app_token {
            return Ok(Credential::PrivateApp);
        }
        let state = self.lock();
        let issued = state
            .access
            .get(token)
            .ok_or_else(ApiError::invalid_authentication)?;
        let now = Instant::now();
        if now >= issued.expires_at {
            let minutes = now.duration_since(issued.expires_at).as_secs() / 60;
            return Err(ApiError::expired_authentication(minutes));
        }
        Ok(Credential::OAuth(token.to_string()))
    }
}
