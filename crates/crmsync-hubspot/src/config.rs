//! HubSpot connection settings.

use std::{fmt, time::Duration};

use crmsync_http::{Auth, OAuthRefresh, RetryPolicy};
use secrecy::SecretString;

/// HubSpot's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";

/// Settings of one HubSpot connection. Secrets live in [`Auth`], whose `Debug` is
/// redacted.
#[derive(Clone)]
pub struct HubSpotConfig {
    /// API base URL (default `https://api.hubapi.com`; a simulator's URL in tests).
    pub base_url: String,
    /// Private-app token or OAuth refresh.
    pub auth: Auth,
    /// The tenant (pacing key and error context).
    pub tenant: String,
    /// The connection (pacing key and error context).
    pub connection: String,
    /// Requests per 10 s (HubSpot: 100 for OAuth apps, 100–200 for private apps).
    pub rate_limit_10s: u32,
    /// Search requests per second (HubSpot: 5 per account).
    pub search_per_second: u32,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How far incremental reads reach back before the last cursor (search is
    /// eventually consistent; re-read records cost nothing).
    pub overlap: Duration,
    /// Records per list page (HubSpot's maximum is 100).
    pub list_page_size: usize,
    /// Records per search page (HubSpot's maximum is 200).
    pub search_page_size: usize,
    /// The most results one search query can page through (HubSpot: 10,000).
    pub search_cap: usize,
}

impl HubSpotConfig {
    /// Settings for a private-app token.
    pub fn private_app(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self::with_auth(base_url, Auth::Bearer(SecretString::from(token.into())))
    }

    /// Settings for an OAuth app installation.
    pub fn oauth(
        base_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        let base_url = base_url.into();
        let token_url = format!("{}/oauth/v1/token", base_url.trim_end_matches('/'));
        Self::with_auth(
            base_url,
            Auth::OAuth(OAuthRefresh {
                token_url,
                client_id: client_id.into(),
                client_secret: SecretString::from(client_secret.into()),
                refresh_token: SecretString::from(refresh_token.into()),
                access_token: None,
            }),
        )
    }

    fn with_auth(base_url: impl Into<String>, auth: Auth) -> Self {
        Self {
            base_url: base_url.into(),
            auth,
            tenant: String::new(),
            connection: String::new(),
            rate_limit_10s: 100,
            search_per_second: 5,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            overlap: Duration::from_secs(60),
            list_page_size: 100,
            search_page_size: 200,
            search_cap: 10_000,
        }
    }

    /// Sets the tenant and connection.
    pub fn scope(mut self, tenant: impl Into<String>, connection: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self.connection = connection.into();
        self
    }
}

impl fmt::Debug for HubSpotConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubSpotConfig")
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("tenant", &self.tenant)
            .field("connection", &self.connection)
            .field("rate_limit_10s", &self.rate_limit_10s)
            .field("search_per_second", &self.search_per_second)
            .finish_non_exhaustive()
    }
}
