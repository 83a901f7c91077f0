//! Token sources: the refresh-token flow and the JWT bearer flow (RS256).
//!
//! Both post a form to `{login_url}/services/oauth2/token`; the response names the
//! org's `instance_url`, which the `ApiClient` follows. Salesforce sends no
//! `expires_in`: a token is used until a request gets 401 (`INVALID_SESSION_ID`),
//! then the client asks its source once for a new one and retries.

use std::{
    sync::Mutex,
    time::{SystemTime, UNIX_EPOCH},
};

use crmsync_core::{BoxFuture, Error, ErrorKind, Result};
use crmsync_http::{Auth, TokenSet, TokenSource, token_request};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::config::{SalesforceAuth, SalesforceConfig};

/// The grant type of the JWT bearer flow.
const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How long an assertion is valid: Salesforce wants `exp` within three minutes.
const ASSERTION_LIFETIME_SECS: u64 = 180;

/// The refresh-token grant; keeps a rotated refresh token.
pub(crate) struct RefreshToken {
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    refresh_token: Mutex<SecretString>,
}

impl TokenSource for RefreshToken {
    fn fetch<'a>(&'a self, http: &'a reqwest::Client) -> BoxFuture<'a, Result<TokenSet>> {
        Box::pin(async move {
            let refresh = self
                .refresh_token
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let form = [
                ("grant_type", "refresh_token"),
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("refresh_token", refresh.expose_secret()),
                ("format", "json"),
            ];
            let set = token_request(http, &self.token_url, &form).await?;
            if let Some(rotated) = &set.refresh_token {
                *self.refresh_token.lock().unwrap_or_else(|p| p.into_inner()) = rotated.clone();
            }
            Ok(set)
        })
    }
}

/// The claims of a JWT bearer assertion.
#[derive(Debug, Serialize)]
pub(crate) struct Claims {
    /// The connected app's consumer key.
    pub iss: String,
    /// The username.
    pub sub: String,
    /// The authorization server.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
}

/// The JWT bearer grant: a new RS256-signed assertion per token request.
pub(crate) struct JwtBearer {
    token_url: String,
    client_id: String,
    username: String,
    audience: String,
    key: EncodingKey,
}

impl JwtBearer {
    /// A signed assertion valid for three minutes from now.
    pub(crate) fn assertion(&self) -> Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let claims = Claims {
            iss: self.client_id.clone(),
            sub: self.username.clone(),
            aud: self.audience.clone(),
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key).map_err(|e| {
            Error::new(ErrorKind::Crypto, "cannot sign the JWT bearer assertion")
                .with_operation("salesforce.jwt_bearer")
                .with_source(e)
        })
    }
}

impl TokenSource for JwtBearer {
    fn fetch<'a>(&'a self, http: &'a reqwest::Client) -> BoxFuture<'a, Result<TokenSet>> {
        Box::pin(async move {
            let assertion = self.assertion()?;
            let form = [
                ("grant_type", JWT_GRANT),
                ("assertion", assertion.as_str()),
                ("format", "json"),
            ];
            token_request(http, &self.token_url, &form).await
        })
    }
}

/// The [`Auth`] for a configuration and the base URL to start from (the login URL,
/// replaced by the instance URL of the first token response; or the instance URL of
/// a session already held).
pub(crate) fn build(config: &SalesforceConfig) -> Result<(Auth, String)> {
    let token_url = config.token_url();
    Ok(match &config.auth {
        SalesforceAuth::RefreshToken {
            client_id,
            client_secret,
            refresh_token,
        } => (
            Auth::Source(std::sync::Arc::new(RefreshToken {
                token_url,
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
                refresh_token: Mutex::new(refresh_token.clone()),
            })),
            config.login_url.clone(),
        ),
        SalesforceAuth::JwtBearer {
            client_id,
            username,
            private_key_pem,
            ..
        } => {
            let key = EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes())
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        "the JWT bearer private key is not an RSA key in PEM",
                    )
                    .with_source(e)
                })?;
            (
                Auth::Source(std::sync::Arc::new(JwtBearer {
                    token_url,
                    client_id: client_id.clone(),
                    username: username.clone(),
                    audience: config.jwt_audience(),
                    key,
                })),
                config.login_url.clone(),
            )
        }
        SalesforceAuth::AccessToken {
            access_token,
            instance_url,
        } => (
            Auth::Bearer(access_token.clone()),
            instance_url.trim_end_matches('/').to_owned(),
        ),
    })
}
