//! `PostgresStore`: many workers, one PostgreSQL database (feature `postgres`).

use std::{str::FromStr, sync::Arc};

use crmsync_core::{Error, ErrorKind, Result};
use sqlx::{
    Connection, Executor,
    postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, Postgres},
};

use crate::{
    crypto::CredentialKey,
    rows,
    sql::{Dialect, Migration, impl_sql_store},
};

/// PostgreSQL's bind-parameter limit (the protocol counts parameters in a u16).
const MAX_BINDS: usize = 65_535;
/// Connections per store.
const POOL_SIZE: u32 = 8;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/postgres/0001_initial.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 2,
        name: "review_queue",
        sql: include_str!("../migrations/postgres/0002_review_queue.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 3,
        name: "mirror_match_indexes",
        sql: include_str!("../migrations/postgres/0003_mirror_match_indexes.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 4,
        name: "mirror_match_keys",
        sql: include_str!("../migrations/postgres/0004_mirror_match_keys.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 5,
        name: "dead_letters_pending",
        sql: include_str!("../migrations/postgres/0005_dead_letters_pending.sql"),
        fill_match_keys: false,
    },
    Migration {
        version: 6,
        name: "mirror_person_key",
        sql: include_str!("../migrations/postgres/0006_mirror_person_key.sql"),
        fill_match_keys: true,
    },
    Migration {
        version: 7,
        name: "create_intents",
        sql: include_str!("../migrations/postgres/0007_create_intents.sql"),
        fill_match_keys: false,
    },
];

const DIALECT: Dialect = Dialect {
    max_binds: MAX_BINDS,
    begin_write: "BEGIN",
    // Workers starting together migrate one at a time (per schema).
    close_abandoned_writes: true,
    migration_lock: Some(
        "SELECT pg_advisory_xact_lock(hashtext('crmsync.migrate.' || current_schema()))",
    ),
    field_text: &["(fields ->> ", ")"],
    field_path: field_name,
    migrations: MIGRATIONS,
};

/// `->>` takes the field name itself as a bound text parameter.
fn field_name(field: &str) -> Result<String> {
    Ok(field.to_owned())
}

/// A [`SyncStore`](crmsync_core::SyncStore) in PostgreSQL, for many workers sharing
/// one database (feature `postgres`).
///
/// Mirror writers of one tenant are serialized by a row lock on the tenant's sequence,
/// so the change feed never skips a row committed late. The schema migrates itself on
/// connect, under an advisory lock.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    key: CredentialKey,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:pass@host/db`), using the connection's default
    /// schema, and migrates it.
    pub async fn connect(url: &str, key: CredentialKey) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(parse_url(url)?)
            .await
            .map_err(rows::storage("store.connect"))?;
        Self::from_pool(pool, key).await
    }

    /// Connects to `url` with every table in `schema` (created if missing; every
    /// connection's `search_path` is set to it), and migrates it. Separate schemas keep
    /// separate stores in one database, e.g. one per test.
    ///
    /// `schema` must be a plain identifier: ASCII letters, digits and `_`, not starting
    /// with a digit, at most 63 characters.
    pub async fn connect_with_schema(url: &str, schema: &str, key: CredentialKey) -> Result<Self> {
        let schema = checked_schema(schema)?;
        let options = parse_url(url)?;
        let mut conn = PgConnection::connect_with(&options)
            .await
            .map_err(rows::storage("store.connect"))?;
        conn.execute(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .await
        .map_err(rows::storage("store.connect"))?;
        conn.close().await.map_err(rows::storage("store.connect"))?;

        let set_path: Arc<str> = format!("SET search_path TO \"{schema}\"").into();
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .after_connect(move |conn, _meta| {
                let set_path = Arc::clone(&set_path);
                Box::pin(async move {
                    conn.execute(sqlx::AssertSqlSafe(set_path)).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(rows::storage("store.connect"))?;
        Self::from_pool(pool, key).await
    }

    /// A store over a pool the application configured; migrates the database.
    pub async fn from_pool(pool: PgPool, key: CredentialKey) -> Result<Self> {
        Self::migrate(&pool).await?;
        Ok(Self { pool, key })
    }

    /// The connection pool, for the application's own queries on the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Parses a connection URL without ever echoing it (it may hold a password).
fn parse_url(url: &str) -> Result<PgConnectOptions> {
    PgConnectOptions::from_str(url).map_err(|_| {
        Error::new(ErrorKind::Config, "invalid PostgreSQL connection URL")
            .with_operation("store.connect")
    })
}

fn checked_schema(schema: &str) -> Result<&str> {
    let mut chars = schema.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && schema.len() <= 63;
    if valid {
        Ok(schema)
    } else {
        Err(Error::new(
            ErrorKind::Config,
            format!("schema name {schema:?} must be a plain identifier"),
        )
        .with_operation("store.connect"))
    }
}

impl_sql_store!(PostgresStore, Postgres, DIALECT);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Migration 4 adds and indexes a key column for every match field.
    #[test]
    fn every_match_field_has_an_indexed_key_column() {
        let migration = include_str!("../migrations/postgres/0004_mirror_match_keys.sql");
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
    fn schema_names_are_plain_identifiers() {
        assert!(checked_schema("crmsync_test_01").is_ok());
        assert!(checked_schema("_x").is_ok());
        for bad in ["", "1abc", "a-b", "a\"b", "a;drop", &"x".repeat(64)] {
            assert!(checked_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_never_echoed() {
        let err = parse_url("nonsense://user:hunter2@").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
