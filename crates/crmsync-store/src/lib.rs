//! Durable state for crmsync: [`SyncStore`](crmsync_core::SyncStore) backends and the
//! local mirror.
//!
//! - [`SqliteStore`]: the embedded default, one SQLite file in WAL mode.
//! - [`PostgresStore`] (feature `postgres`): many workers sharing one database.
//! - [`MemoryStore`]: everything in process memory, for tests and examples.
//! - [`MirrorProvider`]: the application's own records kept in the store's mirror
//!   tables, served as a [`CrmProvider`](crmsync_core::CrmProvider), so an application
//!   syncs with a CRM without writing a provider (the Heroku Connect model).
//!
//! Every backend keeps the same contract, proven by the conformance suite in
//! `crmsync_core::testkit::store`: every row is scoped by tenant, one page of sync
//! commits in one transaction, connection credentials are encrypted with the
//! application's [`CredentialKey`] (AES-256-GCM), and timestamps are kept to the
//! microsecond.
//!
//! ```
//! use crmsync_core::{ConnectionConfig, Credentials, ProviderKind, SyncStore, TenantId};
//! use crmsync_store::{CredentialKey, SqliteStore};
//! use secrecy::ExposeSecret;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let key = CredentialKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")?;
//! let store = SqliteStore::in_memory(key).await?;
//! let tenant = TenantId::new("acme");
//! store
//!     .put_connection(&tenant, &ConnectionConfig {
//!         id: "hubspot-main".into(),
//!         provider: ProviderKind::Hubspot,
//!         settings: serde_json::json!({ "portal_id": 42 }),
//!         credentials: Credentials::new().with("access_token", "pat-na1-secret"),
//!     })
//!     .await?;
//! let connection = store.get_connection(&tenant, &"hubspot-main".into()).await?.unwrap();
//! let token = connection.credentials.get("access_token").unwrap();
//! assert_eq!(token.expose_secret(), "pat-na1-secret");
//! # Ok::<(), crmsync_core::Error>(())
//! # }).unwrap();
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod crypto;
mod memory;
mod mirror;
mod mirror_provider;
#[cfg(feature = "postgres")]
mod postgres;
mod rows;
mod sql;
mod sqlite;

pub use crypto::CredentialKey;
pub use memory::MemoryStore;
pub use mirror_provider::{MirrorProvider, NAME_BLOCK_CAP};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
