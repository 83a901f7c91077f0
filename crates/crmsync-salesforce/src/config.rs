//! Salesforce connection settings.

use std::{collections::BTreeMap, fmt, time::Duration};

use crmsync_core::ObjectKind;
use crmsync_http::{BucketLimit, RetryPolicy};
use secrecy::SecretString;

/// Salesforce's production login server.
pub const DEFAULT_LOGIN_URL: &str = "https://login.salesforce.com";

/// Salesforce's sandbox login server.
pub const SANDBOX_LOGIN_URL: &str = "https://test.salesforce.com";

/// How a connection obtains its access token. `Debug` never shows a secret.
#[derive(Clone)]
#[non_exhaustive]
pub enum SalesforceAuth {
    /// The OAuth 2.0 refresh-token flow of a connected app.
    RefreshToken {
        /// The connected app's consumer key.
        client_id: String,
        /// The connected app's consumer secret.
        client_secret: SecretString,
        /// The refresh token (replaced when the org rotates refresh tokens).
        refresh_token: SecretString,
    },
    /// The OAuth 2.0 JWT bearer flow (server-to-server, RS256, no secret, no refresh
    /// token): every token request signs a new assertion.
    JwtBearer {
        /// The connected app's consumer key (the assertion's `iss`).
        client_id: String,
        /// The user the integration runs as (the assertion's `sub`).
        username: String,
        /// The RSA private key in PEM (PKCS#1 or PKCS#8) whose certificate is
        /// uploaded to the connected app.
        private_key_pem: SecretString,
        /// The assertion's `aud`; `None` derives it from the login URL (see
        /// [`SalesforceConfig::jwt_audience`]).
        audience: Option<String>,
    },
    /// A session already held (no refresh: a 401 is final).
    AccessToken {
        /// The access token (session id).
        access_token: SecretString,
        /// The org's instance URL, e.g. `https://acme.my.salesforce.com`.
        instance_url: String,
    },
}

impl fmt::Debug for SalesforceAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RefreshToken { client_id, .. } => f
                .debug_struct("RefreshToken")
                .field("client_id", client_id)
                .field("client_secret", &"[REDACTED]")
                .field("refresh_token", &"[REDACTED]")
                .finish(),
            Self::JwtBearer {
                client_id,
                username,
                audience,
                ..
            } => f
                .debug_struct("JwtBearer")
                .field("client_id", client_id)
                .field("username", username)
                .field("private_key_pem", &"[REDACTED]")
                .field("audience", audience)
                .finish(),
            Self::AccessToken { instance_url, .. } => f
                .debug_struct("AccessToken")
                .field("access_token", &"[REDACTED]")
                .field("instance_url", instance_url)
                .finish(),
        }
    }
}

/// Settings of one Salesforce connection.
///
/// ```
/// use crmsync_core::ObjectKind;
/// use crmsync_salesforce::{SalesforceConfig, SANDBOX_LOGIN_URL};
///
/// let mut config = SalesforceConfig::refresh_token(SANDBOX_LOGIN_URL, "3MVG9...", "s3cr3t", "5Aep...")
///     .scope("tenant-a", "salesforce-main");
/// config.external_id_fields.insert(ObjectKind::Contact, "External_Id__c".into());
/// config.daily_budget = 0.5;
/// assert_eq!(config.sobject(&ObjectKind::Company).as_deref(), Some("Account"));
/// assert!(!format!("{config:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct SalesforceConfig {
    /// The login server: [`DEFAULT_LOGIN_URL`], [`SANDBOX_LOGIN_URL`], a My Domain
    /// URL, or a simulator's URL. Token requests go to `{login_url}/services/oauth2/token`;
    /// API requests go to the `instance_url` of the token response.
    pub login_url: String,
    /// How to obtain access tokens.
    pub auth: SalesforceAuth,
    /// The tenant (pacing key and error context).
    pub tenant: String,
    /// The connection (pacing key and error context).
    pub connection: String,
    /// REST API version, e.g. `62.0`.
    pub api_version: String,
    /// Writes of more records than this in one call go through a Bulk API 2.0 job
    /// instead of sObject Collections.
    pub bulk_write_threshold: usize,
    /// A full sync of an object with more records than this reads through a Bulk API
    /// 2.0 query job.
    pub bulk_query_threshold: u64,
    /// The share of the org's daily API allowance this connection may use
    /// (`0.8`: stop at 80 %). Beyond it, calls fail with
    /// [`ErrorKind::Interrupted`](crmsync_core::ErrorKind::Interrupted) and the run
    /// resumes from its checkpoint later. `1.0` or more disables the budget.
    pub daily_budget: f64,
    /// While the budget is reached, how often the org's usage is asked again (the
    /// allowance is a rolling 24 h window; a paused connection notices the reset).
    pub budget_recheck: Duration,
    /// How far incremental reads reach back before the last cursor.
    pub overlap: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
    /// External id field per object (`Contact` → `External_Id__c`): creates that carry
    /// an idempotency key upsert by this field, with the key as its value.
    pub external_id_fields: BTreeMap<ObjectKind, String>,
    /// Pacing of this connection's requests.
    pub request_rate: BucketLimit,
    /// Records per query page (Salesforce's default and maximum is 2,000; smaller
    /// pages are asked for with `Sforce-Query-Options: batchSize`, at least 200).
    pub query_page_size: usize,
    /// sObject names by kind, overriding the defaults (Contact → `Contact`,
    /// Company → `Account`, Deal → `Opportunity`, Lead → `Lead`, Activity → `Task`,
    /// Custom(name) → name).
    pub objects: BTreeMap<ObjectKind, String>,
    /// First wait between polls of a Bulk API job (doubling up to 16 times this).
    pub bulk_poll_interval: Duration,
    /// How long to wait for a Bulk API job before giving up (the job keeps running
    /// in Salesforce).
    pub bulk_timeout: Duration,
}

impl SalesforceConfig {
    /// Settings for the refresh-token flow.
    pub fn refresh_token(
        login_url: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        refresh_token: impl Into<String>,
    ) -> Self {
        Self::with_auth(
            login_url,
            SalesforceAuth::RefreshToken {
                client_id: client_id.into(),
                client_secret: SecretString::from(client_secret.into()),
                refresh_token: SecretString::from(refresh_token.into()),
            },
        )
    }

    /// Settings for the JWT bearer flow: assertions signed RS256 with
    /// `private_key_pem`, `iss` = `client_id`, `sub` = `username`, `aud` from the
    /// login URL, `exp` three minutes ahead.
    pub fn jwt_bearer(
        login_url: impl Into<String>,
        client_id: impl Into<String>,
        username: impl Into<String>,
        private_key_pem: impl Into<String>,
    ) -> Self {
        Self::with_auth(
            login_url,
            SalesforceAuth::JwtBearer {
                client_id: client_id.into(),
                username: username.into(),
                private_key_pem: SecretString::from(private_key_pem.into()),
                audience: None,
            },
        )
    }

    /// Settings for a session already held (its instance URL and access token).
    pub fn session(instance_url: impl Into<String>, access_token: impl Into<String>) -> Self {
        let instance_url = instance_url.into();
        Self::with_auth(
            instance_url.clone(),
            SalesforceAuth::AccessToken {
                access_token: SecretString::from(access_token.into()),
                instance_url,
            },
        )
    }

    fn with_auth(login_url: impl Into<String>, auth: SalesforceAuth) -> Self {
        Self {
            login_url: login_url.into().trim_end_matches('/').to_owned(),
            auth,
            tenant: String::new(),
            connection: String::new(),
            api_version: "62.0".to_owned(),
            bulk_write_threshold: 2_000,
            bulk_query_threshold: 50_000,
            daily_budget: 0.8,
            budget_recheck: Duration::from_secs(60),
            overlap: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
            external_id_fields: BTreeMap::new(),
            request_rate: BucketLimit::new("default", 100, Duration::from_secs(1)),
            query_page_size: 2_000,
            objects: BTreeMap::new(),
            bulk_poll_interval: Duration::from_secs(1),
            bulk_timeout: Duration::from_secs(30 * 60),
        }
    }

    /// Sets the tenant and connection.
    pub fn scope(mut self, tenant: impl Into<String>, connection: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self.connection = connection.into();
        self
    }

    /// Sets the external id field used to upsert `object`.
    pub fn external_id(mut self, object: ObjectKind, field: impl Into<String>) -> Self {
        self.external_id_fields.insert(object, field.into());
        self
    }

    /// The sObject an object kind maps to, if any.
    pub fn sobject(&self, object: &ObjectKind) -> Option<String> {
        if let Some(name) = self.objects.get(object) {
            return Some(name.clone());
        }
        let name = match object {
            ObjectKind::Contact => "Contact",
            ObjectKind::Company => "Account",
            ObjectKind::Deal => "Opportunity",
            ObjectKind::Lead => "Lead",
            ObjectKind::Activity => "Task",
            ObjectKind::Custom(name) if !name.is_empty() => name,
            _ => return None,
        };
        Some(name.to_owned())
    }

    /// The token endpoint: `{login_url}/services/oauth2/token`.
    pub fn token_url(&self) -> String {
        format!("{}/services/oauth2/token", self.login_url)
    }

    /// The `aud` of JWT bearer assertions: the configured audience, else
    /// `https://test.salesforce.com` for sandbox My Domain hosts,
    /// `https://login.salesforce.com` for other My Domain hosts, else the login URL
    /// itself (`https://login.salesforce.com`, `https://test.salesforce.com`, a
    /// community URL or a simulator).
    pub fn jwt_audience(&self) -> String {
        if let SalesforceAuth::JwtBearer {
            audience: Some(aud),
            ..
        } = &self.auth
        {
            return aud.clone();
        }
        let host = url::Url::parse(&self.login_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default();
        if host.ends_with(".sandbox.my.salesforce.com") {
            SANDBOX_LOGIN_URL.to_owned()
        } else if host.ends_with(".my.salesforce.com") {
            DEFAULT_LOGIN_URL.to_owned()
        } else {
            self.login_url.clone()
        }
    }

    /// The REST API version without a leading `v`.
    pub(crate) fn version(&self) -> &str {
        self.api_version.trim_start_matches(['v', 'V'])
    }
}

impl fmt::Debug for SalesforceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SalesforceConfig")
            .field("login_url", &self.login_url)
            .field("auth", &self.auth)
            .field("tenant", &self.tenant)
            .field("connection", &self.connection)
            .field("api_version", &self.api_version)
            .field("bulk_write_threshold", &self.bulk_write_threshold)
            .field("bulk_query_threshold", &self.bulk_query_threshold)
            .field("daily_budget", &self.daily_budget)
            .field("external_id_fields", &self.external_id_fields)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_map_to_sobjects_and_overrides_win() {
        let mut config = SalesforceConfig::session("https://x.my.salesforce.com/", "t");
        assert_eq!(config.login_url, "https://x.my.salesforce.com");
        assert_eq!(
            config.sobject(&ObjectKind::Deal).as_deref(),
            Some("Opportunity")
        );
        assert_eq!(
            config.sobject(&ObjectKind::Activity).as_deref(),
            Some("Task")
        );
        assert_eq!(
            config
                .sobject(&ObjectKind::Custom("Invoice__c".into()))
                .as_deref(),
            Some("Invoice__c")
        );
        config.objects.insert(ObjectKind::Activity, "Event".into());
        assert_eq!(
            config.sobject(&ObjectKind::Activity).as_deref(),
            Some("Event")
        );
    }

    #[test]
    fn jwt_audience_follows_the_login_server() {
        let jwt = |url: &str| SalesforceConfig::jwt_bearer(url, "id", "user", "pem");
        assert_eq!(jwt(DEFAULT_LOGIN_URL).jwt_audience(), DEFAULT_LOGIN_URL);
        assert_eq!(jwt(SANDBOX_LOGIN_URL).jwt_audience(), SANDBOX_LOGIN_URL);
        assert_eq!(
            jwt("https://acme--dev.sandbox.my.salesforce.com").jwt_audience(),
            SANDBOX_LOGIN_URL
        );
        assert_eq!(
            jwt("https://acme.my.salesforce.com").jwt_audience(),
            DEFAULT_LOGIN_URL
        );
        assert_eq!(
            jwt("http://127.0.0.1:9999/").jwt_audience(),
            "http://127.0.0.1:9999"
        );
    }

    #[test]
    fn debug_redacts_secrets() {
        let config = SalesforceConfig::refresh_token(
            DEFAULT_LOGIN_URL,
            "client",
            "secret-XYZ",
            "refresh-XYZ",
        );
        let text = format!("{config:?}");
        assert!(
            !text.contains("secret-XYZ") && !text.contains("refresh-XYZ"),
            "{text}"
        );
        let jwt = SalesforceConfig::jwt_bearer(DEFAULT_LOGIN_URL, "c", "u", "-----BEGIN KEY-XYZ");
        assert!(!format!("{jwt:?}").contains("KEY-XYZ"));
    }
}
