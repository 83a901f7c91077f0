//! The embedded migration runner of the SQL stores.

/// Adds the migration runner to `$store` (see [`impl_sql_store`](super::impl_sql_store)).
macro_rules! impl_sql_migrate {
    ($store:ident, $db:ty, $dialect:expr) => {
        impl $store {
            /// Applies the embedded migrations that are not applied yet, each in its
            /// own transaction.
            async fn migrate(pool: &::sqlx::Pool<$db>) -> ::crmsync_core::Result<()> {
                const OP: &str = "store.migrate";
                let dialect: &$crate::sql::Dialect = &$dialect;
                for migration in dialect.migrations {
                    let mut conn = $crate::sql::WriteConnection::acquire(pool, dialect, OP).await?;
                    let result: ::crmsync_core::Result<()> = async {
                        let mut tx =
                            ::sqlx::Connection::begin_with(&mut *conn, dialect.begin_write)
                                .await
                                .map_err($crate::rows::storage(OP))?;
                        if let Some(lock) = dialect.migration_lock {
                            ::sqlx::query(lock)
                                .execute(&mut *tx)
                                .await
                                .map_err($crate::rows::storage(OP))?;
                        }
                        ::sqlx::raw_sql(
                            "CREATE TABLE IF NOT EXISTS crmsync_migrations (\
                             version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
                             applied_at BIGINT NOT NULL)",
                        )
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                        let applied: Option<i64> = ::sqlx::query_scalar(
                            "SELECT version FROM crmsync_migrations WHERE version = $1",
                        )
                        .bind(migration.version)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                        if applied.is_some() {
                            return Ok(());
                        }
                        ::sqlx::raw_sql(migration.sql)
                            .execute(&mut *tx)
                            .await
                            .map_err($crate::rows::storage(OP))?;
                        if migration.fill_match_keys {
                            Self::fill_match_keys(&mut *tx).await?;
                        }
                        ::sqlx::query(
                            "INSERT INTO crmsync_migrations (version, name, applied_at) \
                             VALUES ($1, $2, $3)",
                        )
                        .bind(migration.version)
                        .bind(migration.name)
                        .bind($crate::rows::micros($crate::rows::now()))
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                        tx.commit().await.map_err($crate::rows::storage(OP))?;
                        ::tracing::debug!(
                            version = migration.version,
                            name = migration.name,
                            "applied store migration"
                        );
                        Ok(())
                    }
                    .await;
                    if result.is_ok() {
                        conn.settle();
                    }
                    result?;
                }
                Ok(())
            }
        }
    };
}

pub(crate) use impl_sql_migrate;
