//! Credentials and the OAuth 2.0 refresh-token flow.

use std::{
    fmt,
    time::{Duration, Instant},
};

use std::sync::Arc;

use crmsync_core::{BoxFuture, Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// How requests authenticate.
#[derive(Clone)]
pub enum Auth {
    /// A static bearer token: an API key or a private-app token. A 401 is final.
    Bearer(SecretString),
    /// OAuth 2.0 with a refresh token.
    OAuth(OAuthRefresh),
    /// Any other grant (JWT bearer, client credentials, ...), supplied by a provider.
    Source(Arc<dyn TokenSource>),
    /// No `Authorization` header: the URL itself is the credential (Zapier catch hooks
    /// and REST-hook target URLs). A 401 is final.
    None,
}

/// Obtains access tokens for a grant crmsync-http does not know itself (Salesforce's
/// JWT bearer flow, Dataverse's client credentials). Called when no token is cached
/// and after a 401; implementations keep any state they rotate.
pub trait TokenSource: Send + Sync + 'static {
    /// Requests a new access token.
    fn fetch<'a>(&'a self, http: &'a reqwest::Client) -> BoxFuture<'a, Result<TokenSet>>;
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Bearer(_) => f.write_str("Auth::Bearer([REDACTED])"),
            Auth::OAuth(o) => f.debug_tuple("Auth::OAuth").field(o).finish(),
            Auth::Source(_) => f.write_str("Auth::Source(..)"),
            Auth::None => f.write_str("Auth::None"),
        }
    }
}

/// The refresh-token grant: where to refresh and with what.
#[derive(Clone)]
pub struct OAuthRefresh {
    /// The token endpoint (e.g. `https://api.hubapi.com/oauth/v1/token`).
    pub token_url: String,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: SecretString,
    /// The refresh token.
    pub refresh_token: SecretString,
    /// An access token already held, if any (used until it fails or expires).
    pub access_token: Option<SecretString>,
}

impl fmt::Debug for OAuthRefresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthRefresh")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("refresh_token", &"[REDACTED]")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// A token endpoint's answer.
#[derive(Clone, Deserialize)]
pub struct TokenSet {
    /// The new access token.
    pub access_token: SecretString,
    /// A rotated refresh token, when the server rotates them.
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// Lifetime in seconds; absent for servers without expiry (Salesforce).
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// The instance URL (Salesforce).
    #[serde(default)]
    pub instance_url: Option<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"[REDACTED]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expires_in", &self.expires_in)
            .field("instance_url", &self.instance_url)
            .finish()
    }
}

/// The current access token and when to stop trusting it.
pub(crate) struct CachedToken {
    pub(crate) token: SecretString,
    pub(crate) refresh_after: Option<Instant>,
    /// Bumped at every refresh, so concurrent 401s refresh once.
    pub(crate) generation: u64,
}

/// Refresh this long before the server's expiry.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);

pub(crate) async fn refresh(http: &reqwest::Client, oauth: &mut OAuthRefresh) -> Result<TokenSet> {
    let form = [
        ("grant_type", "refresh_token"),
        ("client_id", oauth.client_id.as_str()),
        ("client_secret", oauth.client_secret.expose_secret()),
        ("refresh_token", oauth.refresh_token.expose_secret()),
    ];
    let set = token_request(http, &oauth.token_url, &form).await?;
    if let Some(rotated) = &set.refresh_token {
        oauth.refresh_token = rotated.clone();
    }
    Ok(set)
}

/// POSTs a form to a token endpoint and reads the token response; failures are
/// [`ErrorKind::Unauthorized`] (refused grant) or [`ErrorKind::Unavailable`], with the
/// endpoint's error text but never the form's secrets.
pub async fn token_request(
    http: &reqwest::Client,
    token_url: &str,
    form: &[(&str, &str)],
) -> Result<TokenSet> {
    let endpoint = format!("POST {token_url}");
    let response = http
        .post(token_url)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Unavailable, "token endpoint unreachable")
                .with_operation("oauth.token")
                .with_endpoint(endpoint.clone())
                .with_source(e.without_url())
        })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| {
        Error::new(ErrorKind::Unavailable, "token response interrupted")
            .with_operation("oauth.token")
            .with_source(e.without_url())
    })?;
    if !status.is_success() {
        let kind = if status.is_server_error() || status.as_u16() == 429 {
            ErrorKind::Unavailable
        } else {
            ErrorKind::Unauthorized
        };
        // The body of a failed grant holds error codes and text only; keep it short.
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        return Err(Error::new(kind, format!("token request refused: {text}"))
            .with_operation("oauth.token")
            .with_endpoint(endpoint)
            .with_status(status.as_u16()));
    }
    serde_json::from_slice(&body).map_err(|e| {
        Error::new(ErrorKind::Decode, "token response is not the expected JSON")
            .with_operation("oauth.token")
            .with_endpoint(endpoint)
            .with_source(e)
    })
}

impl CachedToken {
    pub(crate) fn from_set(set: &TokenSet, generation: u64) -> Self {
        Self {
            token: set.access_token.clone(),
            refresh_after: set
                .expires_in
                .map(|s| Instant::now() + Duration::from_secs(s).saturating_sub(EXPIRY_MARGIN)),
            generation,
        }
    }

    pub(crate) fn is_fresh(&self) -> bool {
        self.refresh_after.is_none_or(|t| Instant::now() < t)
    }
}
