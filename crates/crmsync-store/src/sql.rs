//! The `SyncStore` contract over SQL, written once for SQLite and PostgreSQL.
//!
//! Both schemas use the same table and column names, integer timestamps (microseconds)
//! and `$N` parameters, which both sqlx drivers accept; what differs is in [`Dialect`].
//! The implementation is a macro over the concrete sqlx database type rather than a
//! generic, because sqlx's executor bounds do not carry through `Send` boxed futures.
//!
//! Writes are per batch: multi-row `INSERT … VALUES (…), (…)` and `IN (…)` look-ups,
//! chunked to stay under each database's bind-parameter limit.

use crmsync_core::Result;

/// One embedded schema migration.
pub(crate) struct Migration {
    /// Applied in increasing order; recorded in `crmsync_migrations`.
    pub version: i64,
    /// A short name, recorded with the version.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// What differs between the SQL dialects.
pub(crate) struct Dialect {
    /// Most bind parameters one statement may carry.
    pub max_binds: usize,
    /// Opens a write transaction (SQLite takes the write lock up front, so two writers
    /// never deadlock upgrading a read lock).
    pub begin_write: &'static str,
    /// Serializes concurrent migration runs, where the database needs it.
    pub migration_lock: Option<&'static str>,
    /// Before and after the bound JSON path in a text comparison of one mirror field.
    pub field_text: (&'static str, &'static str),
    /// The bound value that selects one mirror field in `field_text`.
    pub field_path: fn(&str) -> Result<String>,
    /// The schema, oldest first.
    pub migrations: &'static [Migration],
}

/// Columns of `links`, in the order rows are inserted.
pub(crate) const LINK_COLUMNS: &str = "tenant, connection, object, local_id, remote_id, base, \
     base_hash, remote_modified_at, local_modified_at, synced_at";
/// Columns of `links` a read returns.
pub(crate) const LINK_SELECT: &str = "SELECT local_id, remote_id, base, base_hash, \
     remote_modified_at, local_modified_at, synced_at FROM links WHERE tenant = ";
/// Columns of `audit_log`, in the order rows are inserted.
pub(crate) const AUDIT_COLUMNS: &str = "tenant, run_id, connection, object, local_id, remote_id, \
     operation, source, changes, outcome, error, at";
/// Columns of `dead_letters`, in the order rows are inserted.
pub(crate) const DEAD_LETTER_COLUMNS: &str = "tenant, run_id, connection, object, direction, \
     record_id, payload, error_kind, error_message, field, rule, attempts, status, \
     first_failed_at, last_failed_at";
/// Columns of `mirror_records`, in the order rows are inserted.
pub(crate) const MIRROR_COLUMNS: &str =
    "tenant, object, id, fields, seq, modified_at, deleted, idempotency_key";
/// Columns of `mirror_records` a read returns.
pub(crate) const MIRROR_SELECT: &str = "SELECT id, fields, seq, modified_at, deleted, \
     idempotency_key FROM mirror_records WHERE tenant = ";
/// Columns of `sync_runs` a read returns.
pub(crate) const RUN_SELECT: &str = "SELECT id, connection, object, direction, mode, status, \
     started_at, finished_at, counts, error, configuration FROM sync_runs";

/// Implements the migration runner and [`crmsync_core::SyncStore`] for `$store`, a
/// struct with fields `pool: sqlx::Pool<$db>` and `key: CredentialKey`, given its
/// [`Dialect`] constant `$dialect`.
macro_rules! impl_sql_store {
    ($store:ident, $db:ty, $dialect:expr) => {
        impl $store {
            /// Applies the embedded migrations that are not applied yet, each in its
            /// own transaction.
            async fn migrate(pool: &::sqlx::Pool<$db>) -> ::crmsync_core::Result<()> {
                const OP: &str = "store.migrate";
                let dialect: &$crate::sql::Dialect = &$dialect;
                for migration in dialect.migrations {
                    let mut tx = pool
                        .begin_with(dialect.begin_write)
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
                        continue;
                    }
                    ::sqlx::raw_sql(migration.sql)
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::rows::storage(OP))?;
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
                    ::tracing::debug!(version = migration.version, name = migration.name, "applied store migration");
                }
                Ok(())
            }

            /// Pushes `tenant = ? AND connection = ? AND object = ?` (after `tenant = `).
            fn push_link_scope(
                query: &mut ::sqlx::QueryBuilder<$db>,
                tenant: &::crmsync_core::TenantId,
                key: &::crmsync_core::LinkKey,
            ) {
                query.push_bind(tenant.as_str().to_owned());
                query.push(" AND connection = ");
                query.push_bind(key.connection.as_str().to_owned());
                query.push(" AND object = ");
                query.push_bind(key.object.as_str().to_owned());
            }

            /// Links whose `column` (`local_id` or `remote_id`) is one of `ids`.
            async fn fetch_links(
                &self,
                tenant: &::crmsync_core::TenantId,
                key: &::crmsync_core::LinkKey,
                by_remote: bool,
                ids: &[::crmsync_core::RecordId],
                operation: &'static str,
            ) -> ::crmsync_core::Result<Vec<::crmsync_core::Link>> {
                let column = if by_remote { "remote_id" } else { "local_id" };
                let unique = $crate::rows::unique_ids(ids);
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 1, 3);
                let mut links = Vec::with_capacity(unique.len());
                for chunk in unique.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new($crate::sql::LINK_SELECT);
                    Self::push_link_scope(&mut query, tenant, key);
                    query.push(format_args!(" AND {column} IN ("));
                    let mut list = query.separated(", ");
                    for id in chunk {
                        list.push_bind(id.as_str().to_owned());
                    }
                    list.push_unseparated(")");
                    let rows = query
                        .build()
                        .persistent(false)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::rows::storage(operation))?;
                    for row in &rows {
                        links.push(Self::link_from_row(row)?);
                    }
                }
                Ok($crate::rows::in_request_order(ids, links, |link| {
                    if by_remote { &link.remote_id } else { &link.local_id }
                }))
            }

            fn link_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::Link> {
                use ::sqlx::Row as _;
                const OP: &str = "store.links";
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name).map_err($crate::rows::storage(OP))
                };
                let time = |name: &str| -> ::crmsync_core::Result<Option<i64>> {
                    row.try_get::<Option<i64>, _>(name).map_err($crate::rows::storage(OP))
                };
                Ok(::crmsync_core::Link {
                    local_id: text("local_id")?.into(),
                    remote_id: text("remote_id")?.into(),
                    base: row
                        .try_get::<::sqlx::types::Json<::crmsync_core::Fields>, _>("base")
                        .map_err($crate::rows::storage(OP))?
                        .0,
                    base_hash: $crate::rows::hash_from_i64(
                        row.try_get::<i64, _>("base_hash").map_err($crate::rows::storage(OP))?,
                    ),
                    remote_modified_at: $crate::rows::from_micros_opt(time("remote_modified_at")?)?,
                    local_modified_at: $crate::rows::from_micros_opt(time("local_modified_at")?)?,
                    synced_at: $crate::rows::from_micros(
                        row.try_get::<i64, _>("synced_at").map_err($crate::rows::storage(OP))?,
                    )?,
                })
            }

            fn run_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::RunRecord> {
                use ::sqlx::Row as _;
                const OP: &str = "store.list_runs";
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name).map_err($crate::rows::storage(OP))
                };
                let int = |name: &str| -> ::crmsync_core::Result<Option<i64>> {
                    row.try_get::<Option<i64>, _>(name).map_err($crate::rows::storage(OP))
                };
                let status = text("status")?;
                let started_at = row
                    .try_get::<i64, _>("started_at")
                    .map_err($crate::rows::storage(OP))?;
                Ok(::crmsync_core::RunRecord {
                    id: int("id")?.map(::crmsync_core::RunId),
                    connection: text("connection")?.into(),
                    object: ::crmsync_core::ObjectKind::parse(&text("object")?),
                    direction: $crate::rows::parse_direction(&text("direction")?)?,
                    mode: $crate::rows::parse_mode(&text("mode")?)?,
                    status: ::crmsync_core::RunStatus::parse(&status).ok_or_else(|| {
                        $crate::rows::corrupt(format!("unknown run status {status:?}"))
                    })?,
                    started_at: $crate::rows::from_micros(started_at)?,
                    finished_at: $crate::rows::from_micros_opt(int("finished_at")?)?,
                    counts: row
                        .try_get::<::sqlx::types::Json<::crmsync_core::ObjectReport>, _>("counts")
                        .map_err($crate::rows::storage(OP))?
                        .0,
                    error: row
                        .try_get::<Option<String>, _>("error")
                        .map_err($crate::rows::storage(OP))?,
                    configuration: row
                        .try_get::<::sqlx::types::Json<::serde_json::Value>, _>("configuration")
                        .map_err($crate::rows::storage(OP))?
                        .0,
                })
            }

            fn audit_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::AuditEntry> {
                use ::sqlx::Row as _;
                const OP: &str = "store.list_audit";
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name).map_err($crate::rows::storage(OP))
                };
                let opt = |name: &str| -> ::crmsync_core::Result<Option<String>> {
                    row.try_get::<Option<String>, _>(name).map_err($crate::rows::storage(OP))
                };
                Ok(::crmsync_core::AuditEntry {
                    run_id: row
                        .try_get::<Option<i64>, _>("run_id")
                        .map_err($crate::rows::storage(OP))?
                        .map(::crmsync_core::RunId),
                    connection: text("connection")?.into(),
                    object: ::crmsync_core::ObjectKind::parse(&text("object")?),
                    local_id: opt("local_id")?.map(Into::into),
                    remote_id: opt("remote_id")?.map(Into::into),
                    operation: text("operation")?,
                    source: $crate::rows::parse_source(&text("source")?)?,
                    changes: row
                        .try_get::<::sqlx::types::Json<::serde_json::Value>, _>("changes")
                        .map_err($crate::rows::storage(OP))?
                        .0,
                    outcome: $crate::rows::parse_outcome(&text("outcome")?)?,
                    error: opt("error")?,
                    at: $crate::rows::from_micros(
                        row.try_get::<i64, _>("at").map_err($crate::rows::storage(OP))?,
                    )?,
                })
            }

            fn dead_letter_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::DeadLetter> {
                use ::sqlx::Row as _;
                const OP: &str = "store.list_dead_letters";
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name).map_err($crate::rows::storage(OP))
                };
                let opt = |name: &str| -> ::crmsync_core::Result<Option<String>> {
                    row.try_get::<Option<String>, _>(name).map_err($crate::rows::storage(OP))
                };
                let int = |name: &str| -> ::crmsync_core::Result<i64> {
                    row.try_get::<i64, _>(name).map_err($crate::rows::storage(OP))
                };
                let status = text("status")?;
                Ok(::crmsync_core::DeadLetter {
                    id: Some(int("id")?),
                    run_id: row
                        .try_get::<Option<i64>, _>("run_id")
                        .map_err($crate::rows::storage(OP))?
                        .map(::crmsync_core::RunId),
                    connection: text("connection")?.into(),
                    object: ::crmsync_core::ObjectKind::parse(&text("object")?),
                    direction: $crate::rows::parse_direction(&text("direction")?)?,
                    record_id: text("record_id")?.into(),
                    payload: row
                        .try_get::<::sqlx::types::Json<::serde_json::Value>, _>("payload")
                        .map_err($crate::rows::storage(OP))?
                        .0,
                    error_kind: text("error_kind")?,
                    error_message: text("error_message")?,
                    field: opt("field")?,
                    rule: opt("rule")?,
                    attempts: u32::try_from(int("attempts")?).unwrap_or(u32::MAX),
                    status: ::crmsync_core::DeadLetterStatus::parse(&status).ok_or_else(|| {
                        $crate::rows::corrupt(format!("unknown dead letter status {status:?}"))
                    })?,
                    first_failed_at: $crate::rows::from_micros(int("first_failed_at")?)?,
                    last_failed_at: $crate::rows::from_micros(int("last_failed_at")?)?,
                })
            }

            fn mirror_from_row(
                object: &::crmsync_core::ObjectKind,
                row: &<$db as ::sqlx::Database>::Row,
                operation: &'static str,
            ) -> ::crmsync_core::Result<$crate::mirror::StoredMirrorRow> {
                use ::sqlx::Row as _;
                let get = $crate::rows::storage(operation);
                let decoded = (|| -> ::std::result::Result<_, ::sqlx::Error> {
                    Ok((
                        row.try_get::<String, _>("id")?,
                        row.try_get::<::sqlx::types::Json<::crmsync_core::Fields>, _>("fields")?.0,
                        row.try_get::<i64, _>("seq")?,
                        row.try_get::<i64, _>("modified_at")?,
                        row.try_get::<bool, _>("deleted")?,
                        row.try_get::<Option<String>, _>("idempotency_key")?,
                    ))
                })()
                .map_err(get)?;
                let (id, fields, seq, modified_at, deleted, idempotency_key) = decoded;
                Ok($crate::mirror::StoredMirrorRow {
                    record: ::crmsync_core::MirrorRecord {
                        object: object.clone(),
                        id: id.into(),
                        fields,
                        seq,
                        modified_at: $crate::rows::from_micros(modified_at)?,
                        deleted,
                    },
                    idempotency_key,
                })
            }

            /// Takes the tenant's mirror sequence row (the lock that orders mirror
            /// writers) and returns its value.
            async fn lock_mirror_sequence(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                operation: &'static str,
            ) -> ::crmsync_core::Result<i64> {
                ::sqlx::query_scalar(
                    "INSERT INTO mirror_sequences (tenant, seq) VALUES ($1, 0) \
                     ON CONFLICT (tenant) DO UPDATE SET seq = mirror_sequences.seq \
                     RETURNING seq",
                )
                .bind(tenant.as_str())
                .fetch_one(&mut *conn)
                .await
                .map_err($crate::rows::storage(operation))
            }

            /// Mirror rows (tombstones included) whose `column` is one of `values`.
            async fn load_mirror_rows(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                object: &::crmsync_core::ObjectKind,
                column: &'static str,
                values: &[&str],
                operation: &'static str,
            ) -> ::crmsync_core::Result<Vec<$crate::mirror::StoredMirrorRow>> {
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 1, 2);
                let mut rows = Vec::with_capacity(values.len());
                for chunk in values.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new($crate::sql::MIRROR_SELECT);
                    query.push_bind(tenant.as_str().to_owned());
                    query.push(" AND object = ");
                    query.push_bind(object.as_str().to_owned());
                    query.push(format_args!(" AND {column} IN ("));
                    let mut list = query.separated(", ");
                    for value in chunk {
                        list.push_bind((*value).to_owned());
                    }
                    list.push_unseparated(")");
                    let found = query
                        .build()
                        .persistent(false)
                        .fetch_all(&mut *conn)
                        .await
                        .map_err($crate::rows::storage(operation))?;
                    for row in &found {
                        rows.push(Self::mirror_from_row(object, row, operation)?);
                    }
                }
                Ok(rows)
            }

            /// Writes changed mirror rows back and stores the tenant's sequence.
            async fn save_mirror_changes(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                object: &::crmsync_core::ObjectKind,
                changes: &$crate::mirror::MirrorChangeSet,
                operation: &'static str,
            ) -> ::crmsync_core::Result<()> {
                if changes.changed.is_empty() {
                    return Ok(());
                }
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 8, 0);
                for chunk in changes.changed.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO mirror_records ({}) ",
                        $crate::sql::MIRROR_COLUMNS
                    ));
                    query.push_values(chunk, |mut row, stored| {
                        let record = &stored.record;
                        row.push_bind(tenant.as_str().to_owned())
                            .push_bind(object.as_str().to_owned())
                            .push_bind(record.id.as_str().to_owned())
                            .push_bind(::sqlx::types::Json(&record.fields))
                            .push_bind(record.seq)
                            .push_bind($crate::rows::micros(record.modified_at))
                            .push_bind(record.deleted)
                            .push_bind(stored.idempotency_key.clone());
                    });
                    query.push(
                        " ON CONFLICT (tenant, object, id) DO UPDATE SET \
                         fields = excluded.fields, seq = excluded.seq, \
                         modified_at = excluded.modified_at, deleted = excluded.deleted, \
                         idempotency_key = excluded.idempotency_key",
                    );
                    query
                        .build()
                        .persistent(false)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage(operation))?;
                }
                ::sqlx::query("UPDATE mirror_sequences SET seq = $2 WHERE tenant = $1")
                    .bind(tenant.as_str())
                    .bind(changes.last_seq)
                    .execute(&mut *conn)
                    .await
                    .map_err($crate::rows::storage(operation))?;
                Ok(())
            }

            /// Mirror rows by an exact query with `tenant = $1 AND object = $2`.
            async fn fetch_mirror(
                &self,
                object: &::crmsync_core::ObjectKind,
                query: ::sqlx::query::Query<'_, $db, <$db as ::sqlx::Database>::Arguments>,
                operation: &'static str,
            ) -> ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>> {
                let rows = query
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::rows::storage(operation))?;
                rows.iter()
                    .map(|row| Self::mirror_from_row(object, row, operation).map(|r| r.record))
                    .collect()
            }
        }

        impl ::crmsync_core::SyncStore for $store {
            fn put_connection<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                connection: &'a ::crmsync_core::ConnectionConfig,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<()>> {
                Box::pin(async move {
                    const OP: &str = "store.put_connection";
                    let sealed = self.key.seal(tenant, &connection.id, &connection.credentials)?;
                    ::sqlx::query(
                        "INSERT INTO connections \
                         (tenant, id, provider, settings, credentials, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $6) \
                         ON CONFLICT (tenant, id) DO UPDATE SET provider = excluded.provider, \
                         settings = excluded.settings, credentials = excluded.credentials, \
                         updated_at = excluded.updated_at",
                    )
                    .bind(tenant.as_str())
                    .bind(connection.id.as_str())
                    .bind(connection.provider.as_str())
                    .bind(::sqlx::types::Json(&connection.settings))
                    .bind(sealed)
                    .bind($crate::rows::micros($crate::rows::now()))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage(OP))?;
                    Ok(())
                })
            }

            fn get_connection<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                id: &'a ::crmsync_core::ConnectionId,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Option<::crmsync_core::ConnectionConfig>>> {
                Box::pin(async move {
                    const OP: &str = "store.get_connection";
                    let row: Option<(String, ::sqlx::types::Json<::serde_json::Value>, Vec<u8>)> =
                        ::sqlx::query_as(
                            "SELECT provider, settings, credentials FROM connections \
                             WHERE tenant = $1 AND id = $2",
                        )
                        .bind(tenant.as_str())
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                    row.map(|(provider, settings, sealed)| {
                        Ok(::crmsync_core::ConnectionConfig {
                            id: id.clone(),
                            provider: ::crmsync_core::ProviderKind::parse(&provider),
                            settings: settings.0,
                            credentials: self.key.open(tenant, id, &sealed)?,
                        })
                    })
                    .transpose()
                })
            }

            fn list_connections<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::ConnectionId>>> {
                Box::pin(async move {
                    let ids: Vec<String> = ::sqlx::query_scalar(
                        "SELECT id FROM connections WHERE tenant = $1 ORDER BY id",
                    )
                    .bind(tenant.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.list_connections"))?;
                    Ok(ids.into_iter().map(Into::into).collect())
                })
            }

            fn delete_connection<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                id: &'a ::crmsync_core::ConnectionId,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<bool>> {
                Box::pin(async move {
                    let done = ::sqlx::query("DELETE FROM connections WHERE tenant = $1 AND id = $2")
                        .bind(tenant.as_str())
                        .bind(id.as_str())
                        .execute(&self.pool)
                        .await
                        .map_err($crate::rows::storage("store.delete_connection"))?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn links_by_remote<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
                remote_ids: &'a [::crmsync_core::RecordId],
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::Link>>> {
                Box::pin(self.fetch_links(tenant, key, true, remote_ids, "store.links_by_remote"))
            }

            fn links_by_local<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
                local_ids: &'a [::crmsync_core::RecordId],
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::Link>>> {
                Box::pin(self.fetch_links(tenant, key, false, local_ids, "store.links_by_local"))
            }

            fn count_links<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<u64>> {
                Box::pin(async move {
                    let count: i64 = ::sqlx::query_scalar(
                        "SELECT COUNT(*) FROM links \
                         WHERE tenant = $1 AND connection = $2 AND object = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(key.connection.as_str())
                    .bind(key.object.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.count_links"))?;
                    Ok(u64::try_from(count).unwrap_or_default())
                })
            }

            fn checkpoint<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
                direction: ::crmsync_core::Direction,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Option<::crmsync_core::Checkpoint>>> {
                Box::pin(async move {
                    let row: Option<(String, i64)> = ::sqlx::query_as(
                        "SELECT cursor, updated_at FROM checkpoints WHERE tenant = $1 \
                         AND connection = $2 AND object = $3 AND direction = $4",
                    )
                    .bind(tenant.as_str())
                    .bind(key.connection.as_str())
                    .bind(key.object.as_str())
                    .bind(direction.as_str())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.checkpoint"))?;
                    row.map(|(cursor, updated_at)| {
                        Ok(::crmsync_core::Checkpoint {
                            direction,
                            cursor: ::crmsync_core::Cursor::new(cursor),
                            updated_at: $crate::rows::from_micros(updated_at)?,
                        })
                    })
                    .transpose()
                })
            }

            fn clear_checkpoint<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
                direction: ::crmsync_core::Direction,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<()>> {
                Box::pin(async move {
                    ::sqlx::query(
                        "DELETE FROM checkpoints WHERE tenant = $1 AND connection = $2 \
                         AND object = $3 AND direction = $4",
                    )
                    .bind(tenant.as_str())
                    .bind(key.connection.as_str())
                    .bind(key.object.as_str())
                    .bind(direction.as_str())
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.clear_checkpoint"))?;
                    Ok(())
                })
            }

            fn commit_page<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                commit: ::crmsync_core::PageCommit,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<()>> {
                Box::pin(async move {
                    const OP: &str = "store.commit_page";
                    let dialect: &$crate::sql::Dialect = &$dialect;
                    let err = || $crate::rows::storage(OP);
                    let key = ::crmsync_core::LinkKey {
                        connection: commit.connection.clone(),
                        object: commit.object.clone(),
                    };
                    let mut tx = self.pool.begin_with(dialect.begin_write).await.map_err(err())?;

                    // Deletes first, then upserts: a link both deleted and upserted in
                    // one page ends up upserted.
                    let deleted = $crate::rows::unique_ids(&commit.delete_links);
                    for chunk in deleted.chunks($crate::rows::rows_per_statement(dialect.max_binds, 1, 3)) {
                        let mut query = ::sqlx::QueryBuilder::<$db>::new("DELETE FROM links WHERE tenant = ");
                        Self::push_link_scope(&mut query, tenant, &key);
                        query.push(" AND local_id IN (");
                        let mut list = query.separated(", ");
                        for id in chunk {
                            list.push_bind(id.as_str().to_owned());
                        }
                        list.push_unseparated(")");
                        query.build().persistent(false).execute(&mut *tx).await.map_err(err())?;
                    }

                    // An upsert replaces any link with the same local id or the same
                    // remote id: remove both, then insert.
                    let links = $crate::rows::dedupe_links(commit.upsert_links);
                    for chunk in links.chunks($crate::rows::rows_per_statement(dialect.max_binds, 2, 3)) {
                        let mut query = ::sqlx::QueryBuilder::<$db>::new("DELETE FROM links WHERE tenant = ");
                        Self::push_link_scope(&mut query, tenant, &key);
                        query.push(" AND (local_id IN (");
                        let mut list = query.separated(", ");
                        for link in chunk {
                            list.push_bind(link.local_id.as_str().to_owned());
                        }
                        list.push_unseparated(") OR remote_id IN (");
                        let mut list = query.separated(", ");
                        for link in chunk {
                            list.push_bind(link.remote_id.as_str().to_owned());
                        }
                        list.push_unseparated("))");
                        query.build().persistent(false).execute(&mut *tx).await.map_err(err())?;
                    }
                    for chunk in links.chunks($crate::rows::rows_per_statement(dialect.max_binds, 10, 0)) {
                        let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                            "INSERT INTO links ({}) ",
                            $crate::sql::LINK_COLUMNS
                        ));
                        query.push_values(chunk, |mut row, link| {
                            row.push_bind(tenant.as_str().to_owned())
                                .push_bind(key.connection.as_str().to_owned())
                                .push_bind(key.object.as_str().to_owned())
                                .push_bind(link.local_id.as_str().to_owned())
                                .push_bind(link.remote_id.as_str().to_owned())
                                .push_bind(::sqlx::types::Json(&link.base))
                                .push_bind($crate::rows::hash_to_i64(link.base_hash))
                                .push_bind(link.remote_modified_at.map($crate::rows::micros))
                                .push_bind(link.local_modified_at.map($crate::rows::micros))
                                .push_bind($crate::rows::micros(link.synced_at));
                        });
                        query.build().persistent(false).execute(&mut *tx).await.map_err(err())?;
                    }

                    for chunk in commit.audit.chunks($crate::rows::rows_per_statement(dialect.max_binds, 12, 0)) {
                        let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                            "INSERT INTO audit_log ({}) ",
                            $crate::sql::AUDIT_COLUMNS
                        ));
                        query.push_values(chunk, |mut row, entry| {
                            row.push_bind(tenant.as_str().to_owned())
                                .push_bind(entry.run_id.map(|id| id.0))
                                .push_bind(entry.connection.as_str().to_owned())
                                .push_bind(entry.object.as_str().to_owned())
                                .push_bind(entry.local_id.as_ref().map(|id| id.as_str().to_owned()))
                                .push_bind(entry.remote_id.as_ref().map(|id| id.as_str().to_owned()))
                                .push_bind(entry.operation.clone())
                                .push_bind($crate::rows::source_name(entry.source))
                                .push_bind(::sqlx::types::Json(&entry.changes))
                                .push_bind($crate::rows::outcome_name(entry.outcome))
                                .push_bind(entry.error.clone())
                                .push_bind($crate::rows::micros(entry.at));
                        });
                        query.build().persistent(false).execute(&mut *tx).await.map_err(err())?;
                    }

                    for chunk in commit.dead_letters.chunks($crate::rows::rows_per_statement(dialect.max_binds, 15, 0)) {
                        let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                            "INSERT INTO dead_letters ({}) ",
                            $crate::sql::DEAD_LETTER_COLUMNS
                        ));
                        query.push_values(chunk, |mut row, letter| {
                            row.push_bind(tenant.as_str().to_owned())
                                .push_bind(letter.run_id.map(|id| id.0))
                                .push_bind(letter.connection.as_str().to_owned())
                                .push_bind(letter.object.as_str().to_owned())
                                .push_bind(letter.direction.as_str())
                                .push_bind(letter.record_id.as_str().to_owned())
                                .push_bind(::sqlx::types::Json(&letter.payload))
                                .push_bind(letter.error_kind.clone())
                                .push_bind(letter.error_message.clone())
                                .push_bind(letter.field.clone())
                                .push_bind(letter.rule.clone())
                                .push_bind(i64::from(letter.attempts))
                                .push_bind(letter.status.as_str())
                                .push_bind($crate::rows::micros(letter.first_failed_at))
                                .push_bind($crate::rows::micros(letter.last_failed_at));
                        });
                        query.build().persistent(false).execute(&mut *tx).await.map_err(err())?;
                    }

                    if let Some((direction, cursor)) = &commit.checkpoint {
                        ::sqlx::query(
                            "INSERT INTO checkpoints \
                             (tenant, connection, object, direction, cursor, updated_at) \
                             VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (tenant, connection, object, direction) DO UPDATE \
                             SET cursor = excluded.cursor, updated_at = excluded.updated_at",
                        )
                        .bind(tenant.as_str())
                        .bind(key.connection.as_str())
                        .bind(key.object.as_str())
                        .bind(direction.as_str())
                        .bind(cursor.as_str())
                        .bind($crate::rows::micros($crate::rows::now()))
                        .execute(&mut *tx)
                        .await
                        .map_err(err())?;
                    }
                    tx.commit().await.map_err(err())
                })
            }

            fn start_run<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                run: &'a ::crmsync_core::RunRecord,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<::crmsync_core::RunId>> {
                Box::pin(async move {
                    let [processed, created, updated, failed] = $crate::rows::run_totals(&run.counts);
                    let id: i64 = ::sqlx::query_scalar(
                        "INSERT INTO sync_runs (tenant, connection, object, direction, mode, \
                         status, started_at, finished_at, records_processed, records_created, \
                         records_updated, records_failed, counts, error, configuration) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
                         RETURNING id",
                    )
                    .bind(tenant.as_str())
                    .bind(run.connection.as_str())
                    .bind(run.object.as_str())
                    .bind(run.direction.as_str())
                    .bind($crate::rows::mode_name(run.mode))
                    .bind(run.status.as_str())
                    .bind($crate::rows::micros(run.started_at))
                    .bind(run.finished_at.map($crate::rows::micros))
                    .bind(processed)
                    .bind(created)
                    .bind(updated)
                    .bind(failed)
                    .bind(::sqlx::types::Json(&run.counts))
                    .bind(run.error.as_deref())
                    .bind(::sqlx::types::Json(&run.configuration))
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.start_run"))?;
                    Ok(::crmsync_core::RunId(id))
                })
            }

            fn finish_run<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                run: &'a ::crmsync_core::RunRecord,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<()>> {
                Box::pin(async move {
                    const OP: &str = "store.finish_run";
                    let id = $crate::rows::run_id_of(run)?;
                    let [processed, created, updated, failed] = $crate::rows::run_totals(&run.counts);
                    let done = ::sqlx::query(
                        "UPDATE sync_runs SET status = $3, finished_at = $4, \
                         records_processed = $5, records_created = $6, records_updated = $7, \
                         records_failed = $8, counts = $9, error = $10, configuration = $11 \
                         WHERE tenant = $1 AND id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(id)
                    .bind(run.status.as_str())
                    .bind(run.finished_at.map($crate::rows::micros))
                    .bind(processed)
                    .bind(created)
                    .bind(updated)
                    .bind(failed)
                    .bind(::sqlx::types::Json(&run.counts))
                    .bind(run.error.as_deref())
                    .bind(::sqlx::types::Json(&run.configuration))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage(OP))?;
                    if done.rows_affected() == 0 {
                        return Err(::crmsync_core::Error::new(
                            ::crmsync_core::ErrorKind::NotFound,
                            format!("run {id} not found"),
                        )
                        .with_tenant(tenant)
                        .with_operation(OP));
                    }
                    Ok(())
                })
            }

            fn list_runs<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                filter: &'a ::crmsync_core::RunFilter,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::RunRecord>>> {
                Box::pin(async move {
                    let limit = filter.limit.unwrap_or($crate::rows::DEFAULT_RUN_LIMIT);
                    let mut query = ::sqlx::QueryBuilder::<$db>::new($crate::sql::RUN_SELECT);
                    query.push(" WHERE tenant = ");
                    query.push_bind(tenant.as_str().to_owned());
                    if let Some(connection) = &filter.connection {
                        query.push(" AND connection = ");
                        query.push_bind(connection.as_str().to_owned());
                    }
                    if let Some(object) = &filter.object {
                        query.push(" AND object = ");
                        query.push_bind(object.as_str().to_owned());
                    }
                    query.push(" ORDER BY id DESC LIMIT ");
                    query.push_bind(i64::from(limit));
                    let rows = query
                        .build()
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::rows::storage("store.list_runs"))?;
                    rows.iter().map(Self::run_from_row).collect()
                })
            }

            fn list_audit<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                run: Option<::crmsync_core::RunId>,
                limit: u32,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::AuditEntry>>> {
                Box::pin(async move {
                    // The newest `limit` rows, returned oldest first.
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {} FROM audit_log WHERE tenant = ",
                        $crate::sql::AUDIT_COLUMNS
                    ));
                    query.push_bind(tenant.as_str().to_owned());
                    if let Some(run) = run {
                        query.push(" AND run_id = ");
                        query.push_bind(run.0);
                    }
                    query.push(" ORDER BY id DESC LIMIT ");
                    query.push_bind(i64::from(limit));
                    let rows = query
                        .build()
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::rows::storage("store.list_audit"))?;
                    let mut entries = rows
                        .iter()
                        .map(Self::audit_from_row)
                        .collect::<::crmsync_core::Result<Vec<_>>>()?;
                    entries.reverse();
                    Ok(entries)
                })
            }

            fn list_dead_letters<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                status: Option<::crmsync_core::DeadLetterStatus>,
                limit: u32,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::DeadLetter>>> {
                Box::pin(async move {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT id, {} FROM dead_letters WHERE tenant = ",
                        $crate::sql::DEAD_LETTER_COLUMNS
                    ));
                    query.push_bind(tenant.as_str().to_owned());
                    if let Some(status) = status {
                        query.push(" AND status = ");
                        query.push_bind(status.as_str());
                    }
                    query.push(" ORDER BY id LIMIT ");
                    query.push_bind(i64::from(limit));
                    let rows = query
                        .build()
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::rows::storage("store.list_dead_letters"))?;
                    rows.iter().map(Self::dead_letter_from_row).collect()
                })
            }

            fn update_dead_letter<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                id: i64,
                status: ::crmsync_core::DeadLetterStatus,
                bump_attempts: bool,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<bool>> {
                Box::pin(async move {
                    // Another attempt that left the letter pending failed again now.
                    let failed_again = (bump_attempts
                        && status == ::crmsync_core::DeadLetterStatus::Pending)
                        .then(|| $crate::rows::micros($crate::rows::now()));
                    let done = ::sqlx::query(
                        "UPDATE dead_letters SET status = $3, attempts = attempts + $4, \
                         last_failed_at = COALESCE($5, last_failed_at) \
                         WHERE tenant = $1 AND id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(id)
                    .bind(status.as_str())
                    .bind(i64::from(bump_attempts))
                    .bind(failed_again)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.update_dead_letter"))?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn mirror_write<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                writes: Vec<::crmsync_core::MirrorWrite>,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>>> {
                Box::pin(async move {
                    const OP: &str = "store.mirror_write";
                    $crate::mirror::validate_writes(&writes)?;
                    if writes.is_empty() {
                        return Ok(Vec::new());
                    }
                    let dialect: &$crate::sql::Dialect = &$dialect;
                    let now = $crate::rows::now();
                    let mut tx = self
                        .pool
                        .begin_with(dialect.begin_write)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                    let last_seq = Self::lock_mirror_sequence(&mut tx, tenant, OP).await?;
                    let (ids, keys) = $crate::mirror::lookup_keys(&writes);
                    let ids: Vec<&str> = $crate::rows::unique_ids(&ids)
                        .into_iter()
                        .map(|id| id.as_str())
                        .collect();
                    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    keys.sort_unstable();
                    keys.dedup();
                    let mut existing =
                        Self::load_mirror_rows(&mut tx, tenant, object, "id", &ids, OP).await?;
                    for row in Self::load_mirror_rows(&mut tx, tenant, object, "idempotency_key", &keys, OP).await? {
                        if !existing.iter().any(|e| e.record.id == row.record.id) {
                            existing.push(row);
                        }
                    }
                    let changes = $crate::mirror::plan_writes(
                        object,
                        existing,
                        writes,
                        last_seq,
                        now,
                        $crate::mirror::new_mirror_id,
                    )?;
                    Self::save_mirror_changes(&mut tx, tenant, object, &changes, OP).await?;
                    tx.commit().await.map_err($crate::rows::storage(OP))?;
                    Ok(changes.results)
                })
            }

            fn mirror_delete<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                ids: &'a [::crmsync_core::RecordId],
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<u64>> {
                Box::pin(async move {
                    const OP: &str = "store.mirror_delete";
                    if ids.is_empty() {
                        return Ok(0);
                    }
                    let dialect: &$crate::sql::Dialect = &$dialect;
                    let now = $crate::rows::now();
                    let mut tx = self
                        .pool
                        .begin_with(dialect.begin_write)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                    let last_seq = Self::lock_mirror_sequence(&mut tx, tenant, OP).await?;
                    let ids: Vec<&str> = $crate::rows::unique_ids(ids)
                        .into_iter()
                        .map(|id| id.as_str())
                        .collect();
                    let existing =
                        Self::load_mirror_rows(&mut tx, tenant, object, "id", &ids, OP).await?;
                    let changes = $crate::mirror::plan_deletes(existing, last_seq, now);
                    Self::save_mirror_changes(&mut tx, tenant, object, &changes, OP).await?;
                    tx.commit().await.map_err($crate::rows::storage(OP))?;
                    Ok(changes.results.len() as u64)
                })
            }

            fn mirror_get<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                ids: &'a [::crmsync_core::RecordId],
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>>> {
                Box::pin(async move {
                    const OP: &str = "store.mirror_get";
                    let unique = $crate::rows::unique_ids(ids);
                    let per = $crate::rows::rows_per_statement($dialect.max_binds, 1, 2);
                    let mut found = Vec::with_capacity(unique.len());
                    for chunk in unique.chunks(per) {
                        let mut query = ::sqlx::QueryBuilder::<$db>::new($crate::sql::MIRROR_SELECT);
                        query.push_bind(tenant.as_str().to_owned());
                        query.push(" AND object = ");
                        query.push_bind(object.as_str().to_owned());
                        query.push(" AND deleted = FALSE AND id IN (");
                        let mut list = query.separated(", ");
                        for id in chunk {
                            list.push_bind(id.as_str().to_owned());
                        }
                        list.push_unseparated(")");
                        found.extend(self.fetch_mirror(object, query.build().persistent(false), OP).await?);
                    }
                    Ok($crate::rows::in_request_order(ids, found, |record| &record.id))
                })
            }

            fn mirror_changes<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                after: i64,
                limit: u32,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>>> {
                Box::pin(async move {
                    let query = ::sqlx::query(
                        "SELECT id, fields, seq, modified_at, deleted, idempotency_key \
                         FROM mirror_records WHERE tenant = $1 AND object = $2 AND seq > $3 \
                         ORDER BY seq LIMIT $4",
                    )
                    .bind(tenant.as_str())
                    .bind(object.as_str())
                    .bind(after)
                    .bind(i64::from(limit));
                    self.fetch_mirror(object, query, "store.mirror_changes").await
                })
            }

            fn mirror_find<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                field: &'a str,
                values: &'a [String],
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>>> {
                Box::pin(async move {
                    const OP: &str = "store.mirror_find";
                    let dialect: &$crate::sql::Dialect = &$dialect;
                    let path = (dialect.field_path)(field)?;
                    let mut values: Vec<&str> = values.iter().map(String::as_str).collect();
                    values.sort_unstable();
                    values.dedup();
                    let per = $crate::rows::rows_per_statement(dialect.max_binds, 1, 3);
                    let mut found = Vec::new();
                    for chunk in values.chunks(per) {
                        let mut query = ::sqlx::QueryBuilder::<$db>::new($crate::sql::MIRROR_SELECT);
                        query.push_bind(tenant.as_str().to_owned());
                        query.push(" AND object = ");
                        query.push_bind(object.as_str().to_owned());
                        query.push(" AND deleted = FALSE AND ");
                        query.push(dialect.field_text.0);
                        query.push_bind(path.clone());
                        query.push(dialect.field_text.1);
                        query.push(" IN (");
                        let mut list = query.separated(", ");
                        for value in chunk {
                            list.push_bind((*value).to_owned());
                        }
                        list.push_unseparated(")");
                        found.extend(self.fetch_mirror(object, query.build().persistent(false), OP).await?);
                    }
                    found.sort_by_key(|record| record.seq);
                    Ok(found)
                })
            }

            fn mirror_count<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<u64>> {
                Box::pin(async move {
                    let count: i64 = ::sqlx::query_scalar(
                        "SELECT COUNT(*) FROM mirror_records \
                         WHERE tenant = $1 AND object = $2 AND deleted = FALSE",
                    )
                    .bind(tenant.as_str())
                    .bind(object.as_str())
                    .fetch_one(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.mirror_count"))?;
                    Ok(u64::try_from(count).unwrap_or_default())
                })
            }

            fn acquire_lease<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a str,
                holder: &'a str,
                ttl: ::std::time::Duration,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<bool>> {
                Box::pin(async move {
                    let now = $crate::rows::now();
                    let expires_at = $crate::rows::lease_expiry(now, ttl);
                    let done = ::sqlx::query(
                        "INSERT INTO leases (tenant, lease_key, holder, expires_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (tenant, lease_key) DO UPDATE \
                         SET holder = excluded.holder, expires_at = excluded.expires_at \
                         WHERE leases.holder = excluded.holder OR leases.expires_at <= $5",
                    )
                    .bind(tenant.as_str())
                    .bind(key)
                    .bind(holder)
                    .bind($crate::rows::micros(expires_at))
                    .bind($crate::rows::micros(now))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.acquire_lease"))?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn release_lease<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a str,
                holder: &'a str,
            ) -> ::crmsync_core::BoxFuture<'a, ::crmsync_core::Result<()>> {
                Box::pin(async move {
                    ::sqlx::query(
                        "DELETE FROM leases WHERE tenant = $1 AND lease_key = $2 AND holder = $3",
                    )
                    .bind(tenant.as_str())
                    .bind(key)
                    .bind(holder)
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.release_lease"))?;
                    Ok(())
                })
            }
        }
    };
}

pub(crate) use impl_sql_store;
