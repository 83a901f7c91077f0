//! `SqliteStore`: the embedded default, one file in WAL mode.

use std::{
    path::Path,
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use crmsync_core::{Error, ErrorKind, Result};
use sqlx::{
    Connection,
    sqlite::{
        Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool,
        SqlitePoolOptions, SqliteSynchronous,
    },
};

use crate::{
    crypto::CredentialKey,
    rows,
    sql::{Dialect, Migration, impl_sql_store},
};

/// SQLite's bind-parameter limit (`SQLITE_MAX_VARIABLE_NUMBER` of the bundled build).
const MAX_BINDS: usize = 32_766;
/// How long a writer waits for another writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections of a file store: readers run beside the one writer (WAL).
const FILE_POOL_SIZE: u32 = 4;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/sqlite/0001_initial.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 2,
        name: "review_queue",
        sql: include_str!("../migrations/sqlite/0002_review_queue.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 3,
        name: "mirror_match_indexes",
        sql: include_str!("../migrations/sqlite/0003_mirror_match_indexes.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 4,
        name: "mirror_match_keys",
        sql: include_str!("../migrations/sqlite/0004_mirror_match_keys.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 5,
        name: "dead_letters_pending",
        sql: include_str!("../migrations/sqlite/0005_dead_letters_pending.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 6,
        name: "mirror_person_key",
        sql: include_str!("../migrations/sqlite/0006_mirror_person_key.sql"),
        fill_match_keys: true,
    },
    Migration {
        version: 7,
        name: "create_intents",
        sql: include_str!("../migrations/sqlite/0007_create_intents.sql"),
        fill_match_keys: false,
    },
];

const DIALECT: Dialect = Dialect {
    max_binds: MAX_BINDS,
    // Take the write lock at BEGIN: two deferred transactions that both upgrade to
    // writing would otherwise fail with SQLITE_BUSY regardless of the busy timeout.
    begin_write: "BEGIN IMMEDIATE",
    close_abandoned_writes: false,
    migration_lock: None,
    // json_extract turns JSON true/false into 1/0; keep them "true"/"false".
    field_text: &[
        "CASE json_type(fields, ",
        ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' \
         ELSE CAST(json_extract(fields, ",
        ") AS TEXT) END",
    ],
    field_path: json_path,
    migrations: MIGRATIONS,
};

/// The JSON path of a top-level field, quoted so dots and spaces in names are literal.
fn json_path(field: &str) -> Result<String> {
    if field.is_empty() || field.contains(['"', '\\']) || field.chars().any(char::is_control) {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!("mirror field name {field:?} cannot be searched"),
        )
        .with_operation("store.mirror_find"));
    }
    Ok(format!("$.\"{field}\""))
}

/// A [`SyncStore`](crmsync_core::SyncStore) in SQLite: the embedded default.
///
/// A file store runs in WAL mode (readers never wait for the writer) with
/// `synchronous = NORMAL`, a busy timeout and foreign keys on; writes take the write
/// lock up front (`BEGIN IMMEDIATE`). The schema migrates itself on open.
///
/// ```
/// use crmsync_core::{SyncStore, TenantId};
/// use crmsync_store::{CredentialKey, SqliteStore};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store = SqliteStore::in_memory(CredentialKey::generate()?).await?;
/// assert_eq!(store.list_connections(&TenantId::new("acme")).await?.len(), 0);
/// # Ok::<(), crmsync_core::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    key: CredentialKey,
    /// An in-memory database lives while one connection to it is open; this one is
    /// never used, so the pool may replace its own connections freely.
    _keeper: Option<Arc<Mutex<SqliteConnection>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` and migrates it.
    pub async fn open(path: impl AsRef<Path>, key: CredentialKey) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL keeps the database consistent on power loss; the newest
            // pages may be lost, and are re-read from the stored cursor.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(FILE_POOL_SIZE)
            .connect_with(options)
            .await
            .map_err(rows::storage("store.open"))?;
        Self::from_pool(pool, key).await
    }

    /// A private in-memory database (gone when the last clone of the store is dropped),
    /// migrated.
    pub async fn in_memory(key: CredentialKey) -> Result<Self> {
        // A named, shared-cache in-memory database of its own (sqlx names each one).
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(rows::storage("store.open"))?
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let keeper = SqliteConnection::connect_with(&options)
            .await
            .map_err(rows::storage("store.open"))?;
        // One connection: writers of a shared cache lock whole tables.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(rows::storage("store.open"))?;
        let mut store = Self::from_pool(pool, key).await?;
        store._keeper = Some(Arc::new(Mutex::new(keeper)));
        Ok(store)
    }

    /// A store over a pool the application configured; migrates the database.
    pub async fn from_pool(pool: SqlitePool, key: CredentialKey) -> Result<Self> {
        Self::migrate(&pool).await?;
        Ok(Self {
            pool,
            key,
            _keeper: None,
        })
    }

    /// The connection pool, for the application's own queries on the same database.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection (checkpointing the WAL); later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl_sql_store!(SqliteStore, Sqlite, DIALECT);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Migration 4 adds and indexes a key column for every match field.
    #[test]
    fn every_match_field_has_an_indexed_key_column() {
        let migration = include_str!("../migrations/sqlite/0004_mirror_match_keys.sql");
        for field in crmsync_core::match_key::MATCH_FIELDS {
            let column = format!("match_{field}");
            assert!(
                migration.contains(&format!("ADD COLUMN {column} TEXT")),
                "{column}"
            );
            assert!(
                migration.contains(&format!("object, {column})")),
                "{column} indexed"
            );
        }
    }

    #[test]
    fn field_paths_are_quoted_and_checked() {
        assert_eq!(json_path("email").unwrap(), "$.\"email\"");
        assert_eq!(json_path("a.b c").unwrap(), "$.\"a.b c\"");
        assert!(json_path("x\"y").is_err());
        assert!(json_path("").is_err());
    }
}
