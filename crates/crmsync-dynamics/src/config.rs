//! Dataverse connection settings.

use std::{collections::BTreeMap, fmt, time::Duration};

use crmsync_core::ObjectKind;
use crmsync_http::{BucketLimit, RetryPolicy};
use secrecy::SecretString;

/// The Microsoft identity platform's public cloud authority.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// Settings of one Dataverse connection (an app registration with an application user
/// in the environment). `Debug` never shows the client secret.
///
/// ```
/// use crmsync_core::ObjectKind;
/// use crmsync_dynamics::{DynamicsConfig, DEFAULT_AUTHORITY};
///
/// let config = DynamicsConfig::client_credentials(
///     "https://contoso.crm.dynamics.com",
///     DEFAULT_AUTHORITY,
///     "00000000-0000-0000-0000-00000000000a",
///     "11111111-1111-1111-1111-111111111111",
///     "s3cr3t~value",
/// )
/// .scope("tenant-a", "dynamics-main")
/// .alternate_key(ObjectKind::Contact, "crmsync_externalid");
/// assert_eq!(config.token_url(), "https://login.microsoftonline.com/00000000-0000-0000-0000-00000000000a/oauth2/v2.0/token");
/// assert_eq!(config.token_scope(), "https://contoso.crm.dynamics.com/.default");
/// assert!(!format!("{config:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
pub struct DynamicsConfig {
    /// The environment's URL, e.g. `https://contoso.crm.dynamics.com` (a simulator's URL
    /// in tests). The Web API is below `{org_url}/api/data/v{api_version}/`.
    pub org_url: String,
    /// The identity authority: [`DEFAULT_AUTHORITY`], a sovereign cloud's
    /// (`https://login.microsoftonline.us`, ...) or a simulator's URL.
    pub authority: String,
    /// The directory (tenant) id or domain.
    pub tenant_id: String,
    /// The app registration's client id.
    pub client_id: String,
    /// The app registration's client secret.
    pub client_secret: SecretString,
    /// The tenant (pacing key and error context).
    pub tenant: String,
    /// The connection (pacing key and error context).
    pub connection: String,
    /// Web API version, `9.2` by default.
    pub api_version: String,
    /// Rows per page asked for with `Prefer: odata.maxpagesize` (Dataverse's maximum
    /// and default is 5,000).
    pub page_size: usize,
    /// Operations per `$batch` request (Dataverse's limit is 1,000).
    pub batch_size: usize,
    /// Ids or values per `$filter` of a read or look-up (keeps URLs short).
    pub filter_chunk: usize,
    /// Entity set names by kind, overriding the defaults (Contact → `contacts`,
    /// Company → `accounts`, Deal → `opportunities`, Lead → `leads`, Activity →
    /// `phonecalls`, Custom(name) → name).
    pub tables: BTreeMap<ObjectKind, String>,
    /// Alternate key column per object (a single-column alternate key defined on the
    /// table): creates that carry an idempotency key upsert with
    /// `PATCH {set}({column}='{key}')`, so a retried create updates the row it made.
    pub alternate_keys: BTreeMap<ObjectKind, String>,
    /// Pacing of this connection's requests (Dataverse: 6,000 per 300 s per user).
    pub request_rate: BucketLimit,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How often the operations of a `$batch` that were throttled or failed on the
    /// server side are sent again before the write fails as a whole.
    pub batch_retries: u32,
}

impl DynamicsConfig {
    /// Settings for the client credentials grant (`scope={org_url}/.default`).
    pub fn client_credentials(
        org_url: impl Into<String>,
        authority: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        Self {
            org_url: org_url.into().trim_end_matches('/').to_owned(),
            authority: authority.into().trim_end_matches('/').to_owned(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
            tenant: String::new(),
            connection: String::new(),
            api_version: "9.2".into(),
            page_size: 5_000,
            batch_size: 1_000,
            filter_chunk: 50,
            tables: BTreeMap::new(),
            alternate_keys: BTreeMap::new(),
            request_rate: BucketLimit::new("default", 6_000, Duration::from_secs(300)),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
            batch_retries: 5,
        }
    }

    /// Sets the tenant and connection.
    pub fn scope(mut self, tenant: impl Into<String>, connection: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self.connection = connection.into();
        self
    }

    /// Sets an object's alternate key column.
    pub fn alternate_key(mut self, object: ObjectKind, column: impl Into<String>) -> Self {
        self.alternate_keys.insert(object, column.into());
        self
    }

    /// `{authority}/{tenant_id}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.authority, self.tenant_id)
    }

    /// `{org_url}/.default`.
    pub fn token_scope(&self) -> String {
        format!("{}/.default", self.org_url)
    }

    /// The entity set name for `object`.
    pub fn entity_set(&self, object: &ObjectKind) -> String {
        if let Some(set) = self.tables.get(object) {
            return set.clone();
        }
        match object {
            ObjectKind::Contact => "contacts".into(),
            ObjectKind::Company => "accounts".into(),
            ObjectKind::Deal => "opportunities".into(),
            ObjectKind::Lead => "leads".into(),
            ObjectKind::Activity => "phonecalls".into(),
            ObjectKind::Custom(name) => name.clone(),
            other => other.as_str().to_owned(),
        }
    }
}

impl fmt::Debug for DynamicsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamicsConfig")
            .field("org_url", &self.org_url)
            .field("authority", &self.authority)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("tenant", &self.tenant)
            .field("connection", &self.connection)
            .field("api_version", &self.api_version)
            .field("page_size", &self.page_size)
            .field("batch_size", &self.batch_size)
            .field("tables", &self.tables)
            .field("alternate_keys", &self.alternate_keys)
            .finish_non_exhaustive()
    }
}
