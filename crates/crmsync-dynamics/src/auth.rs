//! The client credentials grant of the Microsoft identity platform:
//! `POST {authority}/{tenant}/oauth2/v2.0/token` with `client_id`, `client_secret`,
//! `scope={org_url}/.default` and `grant_type=client_credentials`. Tokens carry
//! `expires_in` (about an hour) and are refreshed a minute before expiry, or after a 401.

use crmsync_core::{BoxFuture, Result};
use crmsync_http::{TokenSet, TokenSource, token_request};
use secrecy::{ExposeSecret, SecretString};

use crate::config::DynamicsConfig;

/// The grant's settings.
pub(crate) struct ClientCredentials {
    token_url: String,
    client_id: String,
    client_secret: SecretString,
    scope: String,
}

impl ClientCredentials {
    pub(crate) fn new(config: &DynamicsConfig) -> Self {
        Self {
            token_url: config.token_url(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            scope: config.token_scope(),
        }
    }
}

impl TokenSource for ClientCredentials {
    fn fetch<'a>(&'a self, http: &'a reqwest::Client) -> BoxFuture<'a, Result<TokenSet>> {
        Box::pin(async move {
            let form = [
                ("client_id", self.client_id.as_str()),
                ("client_secret", self.client_secret.expose_secret()),
                ("scope", self.scope.as_str()),
                ("grant_type", "client_credentials"),
            ];
            token_request(http, &self.token_url, &form)
                .await
                .map_err(|e| e.with_operation("dynamics.token"))
        })
    }
}
