//! Credentials: the connected app (consumer key and secret, a refresh token, an RSA key pair
//! whose public half verifies JWT bearer assertions) and the sessions it has issued.
//!
//! Salesforce sessions have no fixed lifetime the client can see (no `expires_in`); they
//! time out after a period of inactivity set in the org. `session_ttl` models that timeout.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::errors::ApiError;
use super::ids;
use crate::common::rng::{self, SplitMix64};

/// How far in the future a JWT's `exp` may be: "within 3 minutes" (reference §2.1), plus a
/// little slack for clocks that are not quite in step.
const MAX_JWT_LIFETIME_SECS: i64 = 180 + 10;

/// A token-endpoint failure: the OAuth `error` and `error_description`.
pub(crate) type GrantError = (&'static str, &'static str);

#[derive(Debug)]
struct AuthState {
    /// Session token → last use.
    sessions: HashMap<String, Instant>,
    current: String,
}

/// The org's connected app, its user, and the sessions issued.
#[derive(Debug)]
pub(crate) struct Auth {
    pub org_id: String,
    pub user_id: String,
    pub username: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    pub private_key_pem: String,
    pub public_key_pem: String,
    public_key_der: Vec<u8>,
    ttl: Option<Duration>,
    state: Mutex<AuthState>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn seeded_chars(rng: &mut SplitMix64, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.below(alphabet.len() as u64) as usize]))
        .collect()
}

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl Auth {
    /// Long-lived credentials derive from the seed (stable across runs of the binary); the
    /// RSA key pair and session tokens are random.
    pub(crate) fn new(seed: u64, ttl: Option<Duration>) -> std::io::Result<Self> {
        let mut rng = SplitMix64::new(seed ^ 0x5A1E_5F0C_E000_0001);
        let org_id = ids::make("00D", rng.below(1_000_000));
        let user_id = ids::make("005", rng.below(1_000_000));
        let client_id = format!("3MVG9{}", seeded_chars(&mut rng, ALNUM, 80));
        let client_secret = seeded_chars(&mut rng, b"0123456789ABCDEF", 64);
        let refresh_token = format!("5Aep861{}", seeded_chars(&mut rng, ALNUM, 80));
        let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
            .map_err(|_| std::io::Error::other("cannot generate the RSA key pair"))?;
        let pkcs8 = key
            .as_der()
            .map_err(|_| std::io::Error::other("cannot encode the RSA private key"))?;
        let spki = key
            .public_key()
            .as_der()
            .map_err(|_| std::io::Error::other("cannot encode the RSA public key"))?;
        let auth = Self {
            username: "integration@crmsync-sim.example".to_string(),
            private_key_pem: pem("PRIVATE KEY", pkcs8.as_ref()),
            public_key_pem: pem("PUBLIC KEY", spki.as_ref()),
            public_key_der: key.public_key().as_ref().to_vec(),
            org_id,
            user_id,
            client_id,
            client_secret,
            refresh_token,
            ttl,
            state: Mutex::new(AuthState {
                sessions: HashMap::new(),
                current: String::new(),
            }),
        };
        auth.issue();
        Ok(auth)
    }

    fn lock(&self) -> MutexGuard<'_, AuthState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Issues a new session token (`{orgId15}!{random}`, like Salesforce's).
    pub(crate) fn issue(&self) -> String {
        let token = format!(
            "{}!AQ{}",
            &self.org_id[..15.min(self.org_id.len())],
            rng::token_chars(94).replace(['-', '_'], "x")
        );
        let now = Instant::now();
        let mut state = self.lock();
        if let Some(ttl) = self.ttl {
            // Forget sessions long timed out, so a long soak does not grow without bound.
            state
                .sessions
                .retain(|_, used| now.duration_since(*used) < ttl + Duration::from_secs(3600));
        }
        state.sessions.insert(token.clone(), now);
        state.current = token.clone();
        token
    }

    /// The most recently issued session token.
    pub(crate) fn current(&self) -> String {
        self.lock().current.clone()
    }

    /// Ends a session (fault injection, or `/services/oauth2/revoke`); false if unknown.
    pub(crate) fn end_session(&self, token: &str) -> bool {
        self.lock().sessions.remove(token).is_some()
    }

    /// Checks an `Authorization: Bearer …` (or `OAuth …`) header and marks the session used.
    pub(crate) fn authenticate(&self, authorization: Option<&str>) -> Result<String, ApiError> {
        let token = authorization
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
                    .then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::invalid_session)?;
        let now = Instant::now();
        let mut state = self.lock();
        let last = *state
            .sessions
            .get(token)
            .ok_or_else(ApiError::invalid_session)?;
        if self.ttl.is_some_and(|ttl| now.duration_since(last) >= ttl) {
            state.sessions.remove(token);
            return Err(ApiError::invalid_session());
        }
        state.sessions.insert(token.to_string(), now);
        Ok(token.to_string())
    }

    /// `signature` of a token response: base64 HMAC-SHA256 of `id + issued_at`, keyed with
    /// the consumer secret.
    pub(crate) fn signature(&self, id: &str, issued_at: &str) -> String {
        let key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, self.client_secret.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, format!("{id}{issued_at}").as_bytes());
        STANDARD.encode(tag.as_ref())
    }

    /// Verifies a JWT bearer assertion: RS256 signed by the trusted key, `iss` the consumer
    /// key, `sub` the username, `aud` one of `audiences`, `exp` in the future and within
    /// three minutes.
    pub(crate) fn verify_assertion(
        &self,
        assertion: &str,
        audiences: &[String],
        now_secs: i64,
    ) -> Result<(), GrantError> {
        let invalid = ("invalid_grant", "invalid assertion");
        let header = jsonwebtoken::decode_header(assertion).map_err(|_| invalid)?;
        if header.alg != Algorithm::RS256 {
            return Err(invalid);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_aud = false;
        let key = DecodingKey::from_rsa_der(&self.public_key_der);
        let claims = match jsonwebtoken::decode::<Value>(assertion, &key, &validation) {
            Ok(data) => data.claims,
            Err(e) => {
                return Err(match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                        ("invalid_grant", "expired authorization code")
                    }
                    _ => invalid,
                });
            }
        };
        let exp = claims["exp"].as_i64().ok_or(invalid)?;
        if exp <= now_secs {
            return Err(("invalid_grant", "expired authorization code"));
        }
        if exp - now_secs > MAX_JWT_LIFETIME_SECS {
            return Err((
                "invalid_grant",
                "invalid assertion: exp must be within 3 minutes",
            ));
        }
        if claims["iss"].as_str() != Some(self.client_id.as_str()) {
            return Err(("invalid_client_id", "client identifier invalid"));
        }
        if claims["sub"]
            .as_str()
            .is_none_or(|s| !s.eq_ignore_ascii_case(&self.username))
        {
            return Err(("invalid_grant", "user hasn't approved this consumer"));
        }
        let aud_ok = |a: &str| {
            let a = a.trim_end_matches('/');
            audiences.iter().any(|x| x.trim_end_matches('/') == a)
        };
        let audience_ok = match &claims["aud"] {
            Value::String(a) => aud_ok(a),
            Value::Array(list) => list.iter().filter_map(Value::as_str).any(aud_ok),
            _ => false,
        };
        if !audience_ok {
            return Err(("invalid_grant", "audience is invalid"));
        }
        Ok(())
    }
}
