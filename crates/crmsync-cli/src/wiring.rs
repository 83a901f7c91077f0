//! Assembling what a command needs from the configuration: the store, the CRM provider,
//! the mapping and an engine with the connection bound (the README's "Use it", driven by
//! `crmsync.toml`).

use std::{path::Path, sync::Arc, time::Duration};

use crmsync_core::{CrmProviderDyn, ObjectKind, ProgressSink, SyncStore, TenantId};
use crmsync_engine::{Binding, Engine};
use crmsync_http::RetryPolicy;
use crmsync_hubspot::{HubSpotConfig, HubSpotProvider};
use crmsync_salesforce::{SalesforceConfig, SalesforceProvider};
use crmsync_store::{CredentialKey, MirrorProvider, SqliteStore};
use crmsync_transform::{DeclarativeMapper, MappingConfig};

use crate::{
    config::{
        Config, Connection, HubSpotAuth, MappingSource, ProviderSettings, SalesforceAuth,
        StoreSettings,
    },
    error::CliError,
};

/// An open store, closed explicitly so SQLite checkpoints its write-ahead log.
pub struct Store {
    /// The store, as the engine takes it.
    pub store: Arc<dyn SyncStore>,
    backend: Backend,
}

enum Backend {
    Sqlite(SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(crmsync_store::PostgresStore),
}

impl Store {
    /// Closes the store's connections (SQLite folds its WAL back into the file).
    pub async fn close(self) {
        match self.backend {
            Backend::Sqlite(s) => s.close().await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(s) => s.close().await,
        }
    }

    /// What the store is, for messages.
    pub fn describe(config: &Config) -> String {
        match &config.store {
            StoreSettings::Sqlite { path } => format!("SQLite {}", path.display()),
            StoreSettings::Postgres { url, .. } => format!("PostgreSQL ({})", url.describe()),
        }
    }
}

/// The CLI keeps no credentials in the store (they come from the environment or files
/// on every run), so the store's credential key is a fresh one each time.
fn credential_key() -> Result<CredentialKey, CliError> {
    CredentialKey::generate().map_err(CliError::from)
}

/// Opens the configured store. A dry run never creates a missing SQLite file: it plans
/// against an empty in-memory store instead.
pub async fn open_store(config: &Config, dry_run: bool) -> Result<Store, CliError> {
    let key = credential_key()?;
    match &config.store {
        StoreSettings::Sqlite { path } => {
            if dry_run && !path.exists() {
                let s = SqliteStore::in_memory(key).await?;
                return Ok(Store {
                    store: Arc::new(s.clone()),
                    backend: Backend::Sqlite(s),
                });
            }
            create_parent(path)?;
            let s = SqliteStore::open(path, key).await.map_err(|e| {
                CliError::failed(format!("cannot open the store {}: {e}", path.display())).hint(
                    "check that the directory is writable and the file is a crmsync SQLite store \
                     ([store] sqlite in the configuration)",
                )
            })?;
            Ok(Store {
                store: Arc::new(s.clone()),
                backend: Backend::Sqlite(s),
            })
        }
        #[cfg(feature = "postgres")]
        StoreSettings::Postgres { url, schema } => {
            let url_value = url.resolve()?;
            let opened = match schema {
                Some(schema) => {
                    crmsync_store::PostgresStore::connect_with_schema(&url_value, schema, key).await
                }
                None => crmsync_store::PostgresStore::connect(&url_value, key).await,
            };
            let s = opened.map_err(|e| {
                CliError::failed(format!("cannot open the PostgreSQL store: {e}")).hint(format!(
                    "check the URL in {} and that the server is running",
                    url.describe()
                ))
            })?;
            Ok(Store {
                store: Arc::new(s.clone()),
                backend: Backend::Postgres(s),
            })
        }
        #[cfg(not(feature = "postgres"))]
        StoreSettings::Postgres { .. } => Err(CliError::config(
            "this crmsync was built without PostgreSQL support",
        )
        .hint("build crmsync-cli with the `postgres` feature, or use an SQLite store")),
    }
}

fn create_parent(path: &Path) -> Result<(), CliError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => std::fs::create_dir_all(dir)
            .map_err(|e| {
                CliError::failed(format!("cannot create {}: {e}", dir.display()))
                    .hint("create the directory, or point [store] sqlite elsewhere")
            }),
        _ => Ok(()),
    }
}

/// Options for building a provider.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProviderOptions {
    /// Fail fast: no retries and a short timeout (for `doctor`).
    pub quick: bool,
}

/// The connection's CRM provider, with its credentials read now.
pub fn remote_provider(
    connection: &Connection,
    options: ProviderOptions,
) -> Result<Arc<dyn CrmProviderDyn>, CliError> {
    let tenant = connection.tenant.as_str();
    let name = connection.name.as_str();
    let retry = |default: RetryPolicy| {
        if options.quick {
            RetryPolicy::none()
        } else {
            default
        }
    };
    let timeout = |default: Duration| {
        if options.quick {
            Duration::from_secs(5)
        } else {
            default
        }
    };
    match &connection.provider {
        ProviderSettings::HubSpot { base_url, auth } => {
            let mut config = match auth {
                HubSpotAuth::PrivateApp { token } => {
                    HubSpotConfig::private_app(base_url.clone(), token.resolve()?)
                }
                HubSpotAuth::OAuth {
                    client_id,
                    client_secret,
                    refresh_token,
                } => HubSpotConfig::oauth(
                    base_url.clone(),
                    client_id.clone(),
                    client_secret.resolve()?,
                    refresh_token.resolve()?,
                ),
            }
            .scope(tenant, name);
            config.retry = retry(config.retry);
            config.timeout = timeout(config.timeout);
            Ok(Arc::new(HubSpotProvider::new(config)?))
        }
        ProviderSettings::Salesforce { login_url, auth } => {
            let mut config = match auth {
                SalesforceAuth::RefreshToken {
                    client_id,
                    client_secret,
                    refresh_token,
                } => SalesforceConfig::refresh_token(
                    login_url.clone(),
                    client_id.clone(),
                    client_secret.resolve()?,
                    refresh_token.resolve()?,
                ),
                SalesforceAuth::JwtBearer {
                    client_id,
                    username,
                    private_key,
                } => SalesforceConfig::jwt_bearer(
                    login_url.clone(),
                    client_id.clone(),
                    username.clone(),
                    private_key.resolve()?,
                ),
            }
            .scope(tenant, name);
            config.retry = retry(config.retry);
            config.timeout = timeout(config.timeout);
            Ok(Arc::new(SalesforceProvider::new(config)?))
        }
    }
}

/// The connection's mapping: a file, or the provider's defaults.
pub fn mapper(connection: &Connection) -> Result<Arc<DeclarativeMapper>, CliError> {
    let mapper = match &connection.mapping {
        MappingSource::Builtin => match &connection.provider {
            ProviderSettings::HubSpot { .. } => {
                DeclarativeMapper::new(MappingConfig::hubspot_defaults())
            }
            ProviderSettings::Salesforce { .. } => {
                DeclarativeMapper::new(MappingConfig::salesforce_defaults())
            }
        },
        MappingSource::File(path) => {
            MappingConfig::from_file(path).and_then(DeclarativeMapper::new)
        }
    };
    mapper.map(Arc::new).map_err(|e| {
        CliError::config(format!(
            "{}: connection `{}`: {e}",
            connection.at, connection.name
        ))
        .hint("fix the mapping file at the line named above (or use mapping = \"builtin\")")
    })
}

/// Checks that the connection's mapping has rules for `object`.
pub fn check_object(
    connection: &Connection,
    mapper: &DeclarativeMapper,
    object: &ObjectKind,
) -> Result<(), CliError> {
    if mapper.maps(object) {
        return Ok(());
    }
    let objects: Vec<&str> = connection.objects.iter().map(ObjectKind::as_str).collect();
    Err(CliError::usage(format!(
        "connection `{}` has no mapping for object `{object}`",
        connection.name
    ))
    .hint(format!(
        "use one of: {} or all (or add [objects.{object}] rules to the connection's mapping file)",
        objects.join(", ")
    )))
}

/// An engine with the connection bound: `local` (the store's mirror, or a view of it)
/// as the application side, `remote` as the CRM side.
pub fn engine(
    store: &Arc<dyn SyncStore>,
    connection: &Connection,
    sides: (Arc<dyn CrmProviderDyn>, Arc<dyn CrmProviderDyn>),
    mapper: Arc<DeclarativeMapper>,
    progress: Option<ProgressSink>,
) -> Engine {
    let tenant = TenantId::new(connection.tenant.as_str());
    let (local, remote) = sides;
    let mut engine = Engine::new(store.clone());
    if let Some(sink) = progress {
        engine = engine.with_progress(sink);
    }
    engine.bind(
        tenant,
        connection.name.as_str().into(),
        Binding::new(local, remote, mapper, connection.conflicts.clone()),
    );
    engine
}

/// The application side of a connection (the store's mirror).
pub fn local_provider(
    store: &Arc<dyn SyncStore>,
    connection: &Connection,
) -> Arc<dyn CrmProviderDyn> {
    Arc::new(MirrorProvider::new(
        store.clone(),
        TenantId::new(connection.tenant.as_str()),
    ))
}
