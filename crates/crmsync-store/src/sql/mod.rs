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

pub(crate) mod migrate;
pub(crate) mod mirror;
pub(crate) mod pages;
pub(crate) mod rows;

/// One embedded schema migration.
pub(crate) struct Migration {
    /// Applied in increasing order; recorded in `crmsync_migrations`.
    pub version: i64,
    /// A short name, recorded with the version.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
    /// Fill the mirror's match-key columns of existing rows (in Rust) after the
    /// statements, in the same transaction.
    pub fill_match_keys: bool,
}

/// What differs between the SQL dialects.
pub(crate) struct Dialect {
    /// Most bind parameters one statement may carry.
    pub max_binds: usize,
    /// Opens a write transaction (SQLite takes the write lock up front, so two writers
    /// never deadlock upgrading a read lock).
    pub begin_write: &'static str,
    /// Close, rather than pool again, a connection whose write failed or was abandoned
    /// part-way (its future dropped). PostgreSQL needs it: sqlx 0.9.0 loses track of a
    /// `BEGIN` cancelled in flight and would hand out a connection stuck in a
    /// transaction (transact-rs/sqlx#4393). SQLite's driver rolls such a `BEGIN` back
    /// itself.
    pub close_abandoned_writes: bool,
    /// Serializes concurrent migration runs, where the database needs it.
    pub migration_lock: Option<&'static str>,
    /// The text of one mirror field (scalars as JSON text, like PostgreSQL's `->>`):
    /// SQL fragments with the bound field selector between each two.
    pub field_text: &'static [&'static str],
    /// The bound value that selects one mirror field in `field_text`.
    pub field_path: fn(&str) -> Result<String>,
    /// The schema, oldest first.
    pub migrations: &'static [Migration],
}

/// A pooled connection for one write transaction. Unless [`settled`](Self::settle)
/// after the write succeeded, dropping it (the write failed, or its future was dropped
/// part-way) closes the connection when the dialect asks for it, so the server rolls
/// back whatever was left open.
pub(crate) struct WriteConnection<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    close_if_abandoned: bool,
    settled: bool,
}

impl<DB: sqlx::Database> WriteConnection<DB> {
    /// A connection from `pool` for one write.
    pub(crate) async fn acquire(
        pool: &sqlx::Pool<DB>,
        dialect: &Dialect,
        operation: &'static str,
    ) -> Result<Self> {
        let conn = pool
            .acquire()
            .await
            .map_err(crate::rows::storage(operation))?;
        Ok(Self {
            conn,
            close_if_abandoned: dialect.close_abandoned_writes,
            settled: false,
        })
    }

    /// The write committed; the connection may go back to the pool.
    pub(crate) fn settle(mut self) {
        self.settled = true;
    }
}

impl<DB: sqlx::Database> std::ops::Deref for WriteConnection<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for WriteConnection<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: sqlx::Database> Drop for WriteConnection<DB> {
    fn drop(&mut self) {
        if !self.settled && self.close_if_abandoned {
            self.conn.close_on_drop();
        }
    }
}

/// What every `SyncStore` method of the SQL stores returns.
pub(crate) type StoreFuture<'a, T> = crmsync_core::BoxFuture<'a, Result<T>>;

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
pub(crate) const MIRROR_COLUMNS: &str = "tenant, object, id, fields, seq, modified_at, deleted, \
     idempotency_key, match_email, match_phone, match_mobile_phone, match_last_name, match_person";
/// Columns of `mirror_records` a read returns.
pub(crate) const MIRROR_SELECT: &str = "SELECT id, fields, seq, modified_at, deleted, \
     idempotency_key FROM mirror_records WHERE tenant = ";
/// Columns of `review_queue`, in the order rows are inserted.
pub(crate) const REVIEW_COLUMNS: &str = "tenant, connection, object, kind, local_id, remote_id, \
     fields, base_values, local_values, remote_values, candidates, reason, status, resolution, \
     resolved_by, resolved_at, created_at, updated_at";
/// Columns of `review_queue` a read returns.
pub(crate) const REVIEW_SELECT: &str = "SELECT id, connection, object, kind, local_id, \
     remote_id, fields, base_values, local_values, remote_values, candidates, reason, status, \
     resolution, resolved_by, resolved_at, created_at, updated_at FROM review_queue \
     WHERE tenant = ";
/// Columns of `sync_runs` a read returns.
pub(crate) const RUN_SELECT: &str = "SELECT id, connection, object, direction, mode, status, \
     started_at, finished_at, counts, error, configuration FROM sync_runs";

/// Implements the migration runner and [`crmsync_core::SyncStore`] for `$store`, a
/// struct with fields `pool: sqlx::Pool<$db>` and `key: CredentialKey`, given its
/// [`Dialect`] constant `$dialect`.
macro_rules! impl_sql_store {
    ($store:ident, $db:ty, $dialect:expr) => {
        $crate::sql::migrate::impl_sql_migrate!($store, $db, $dialect);
        $crate::sql::rows::impl_sql_rows!($store, $db);
        $crate::sql::pages::impl_sql_pages!($store, $db, $dialect);
        $crate::sql::mirror::impl_sql_mirror!($store, $db, $dialect);

        impl ::crmsync_core::SyncStore for $store {
            fn put_connection<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                connection: &'a ::crmsync_core::ConnectionConfig,
            ) -> $crate::sql::StoreFuture<'a, ()> {
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
            ) -> $crate::sql::StoreFuture<'a, Option<::crmsync_core::ConnectionConfig>> {
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
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::ConnectionId>> {
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
            ) -> $crate::sql::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done =
                        ::sqlx::query("DELETE FROM connections WHERE tenant = $1 AND id = $2")
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
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::Link>> {
                Box::pin(self.fetch_links(tenant, key, true, remote_ids, "store.links_by_remote"))
            }

            fn links_by_local<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
                local_ids: &'a [::crmsync_core::RecordId],
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::Link>> {
                Box::pin(self.fetch_links(tenant, key, false, local_ids, "store.links_by_local"))
            }

            fn count_links<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
            ) -> $crate::sql::StoreFuture<'a, u64> {
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
            ) -> $crate::sql::StoreFuture<'a, Option<::crmsync_core::Checkpoint>> {
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
            ) -> $crate::sql::StoreFuture<'a, ()> {
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

            fn put_create_intents<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
                intents: &'a [::crmsync_core::CreateIntent],
            ) -> $crate::sql::StoreFuture<'a, ()> {
                Box::pin(async move {
                    const OP: &str = "store.put_create_intents";
                    if intents.is_empty() {
                        return Ok(());
                    }
                    let per = $crate::rows::rows_per_statement($dialect.max_binds, 7, 0);
                    let mut conn =
                        $crate::sql::WriteConnection::acquire(&self.pool, &$dialect, OP).await?;
                    let result: ::crmsync_core::Result<()> = async {
                        let mut tx =
                            ::sqlx::Connection::begin_with(&mut *conn, $dialect.begin_write)
                                .await
                                .map_err($crate::rows::storage(OP))?;
                        // One row per (target, source): the last intent wins.
                        let mut unique: Vec<&::crmsync_core::CreateIntent> = Vec::new();
                        for intent in intents.iter().rev() {
                            if !unique.iter().any(|u| {
                                u.target == intent.target && u.source_id == intent.source_id
                            }) {
                                unique.push(intent);
                            }
                        }
                        for chunk in unique.chunks(per) {
                            let mut query = ::sqlx::QueryBuilder::<$db>::new(
                                "INSERT INTO create_intents (tenant, connection, object, \
                                 target, source_id, fields, created_at) ",
                            );
                            query.push_values(chunk, |mut row, intent| {
                                row.push_bind(tenant.as_str().to_owned())
                                    .push_bind(key.connection.as_str().to_owned())
                                    .push_bind(key.object.as_str().to_owned())
                                    .push_bind($crate::rows::side_name(intent.target))
                                    .push_bind(intent.source_id.as_str().to_owned())
                                    .push_bind(::sqlx::types::Json(intent.fields.clone()))
                                    .push_bind($crate::rows::micros(intent.created_at));
                            });
                            query.push(
                                " ON CONFLICT (tenant, connection, object, target, source_id) \
                                 DO UPDATE SET fields = excluded.fields, \
                                 created_at = excluded.created_at",
                            );
                            query
                                .build()
                                .persistent(false)
                                .execute(&mut *tx)
                                .await
                                .map_err($crate::rows::storage(OP))?;
                        }
                        tx.commit().await.map_err($crate::rows::storage(OP))
                    }
                    .await;
                    if result.is_ok() {
                        conn.settle();
                    }
                    result
                })
            }

            fn list_create_intents<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::CreateIntent>> {
                Box::pin(async move {
                    const OP: &str = "store.list_create_intents";
                    let rows: Vec<(
                        String,
                        String,
                        ::sqlx::types::Json<::crmsync_core::Fields>,
                        i64,
                    )> = ::sqlx::query_as(
                        "SELECT target, source_id, fields, created_at FROM create_intents \
                         WHERE tenant = $1 AND connection = $2 AND object = $3 \
                         ORDER BY created_at, target, source_id",
                    )
                    .bind(tenant.as_str())
                    .bind(key.connection.as_str())
                    .bind(key.object.as_str())
                    .fetch_all(&self.pool)
                    .await
                    .map_err($crate::rows::storage(OP))?;
                    rows.into_iter()
                        .map(|(target, source_id, fields, created_at)| {
                            Ok(::crmsync_core::CreateIntent {
                                target: $crate::rows::parse_side(&target)?,
                                source_id: source_id.into(),
                                fields: fields.0,
                                created_at: $crate::rows::from_micros(created_at)?,
                            })
                        })
                        .collect()
                })
            }

            fn drop_create_intents<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a ::crmsync_core::LinkKey,
                target: ::crmsync_core::Side,
                before: ::chrono::DateTime<::chrono::Utc>,
            ) -> $crate::sql::StoreFuture<'a, u64> {
                Box::pin(async move {
                    let done = ::sqlx::query(
                        "DELETE FROM create_intents WHERE tenant = $1 AND connection = $2 \
                         AND object = $3 AND target = $4 AND created_at < $5",
                    )
                    .bind(tenant.as_str())
                    .bind(key.connection.as_str())
                    .bind(key.object.as_str())
                    .bind($crate::rows::side_name(target))
                    .bind($crate::rows::micros(before))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.drop_create_intents"))?;
                    Ok(done.rows_affected())
                })
            }

            fn commit_page<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                commit: ::crmsync_core::PageCommit,
            ) -> $crate::sql::StoreFuture<'a, ()> {
                Box::pin(self.commit_page_tx(tenant, commit))
            }

            fn start_run<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                run: &'a ::crmsync_core::RunRecord,
            ) -> $crate::sql::StoreFuture<'a, ::crmsync_core::RunId> {
                Box::pin(async move {
                    let [processed, created, updated, failed] =
                        $crate::rows::run_totals(&run.counts);
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
            ) -> $crate::sql::StoreFuture<'a, ()> {
                Box::pin(async move {
                    const OP: &str = "store.finish_run";
                    let id = $crate::rows::run_id_of(run)?;
                    let [processed, created, updated, failed] =
                        $crate::rows::run_totals(&run.counts);
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
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::RunRecord>> {
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
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::AuditEntry>> {
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
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::DeadLetter>> {
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
            ) -> $crate::sql::StoreFuture<'a, bool> {
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
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::MirrorRecord>> {
                Box::pin(self.write_mirror(tenant, object, writes))
            }

            fn mirror_delete<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                ids: &'a [::crmsync_core::RecordId],
            ) -> $crate::sql::StoreFuture<'a, u64> {
                Box::pin(self.delete_mirror(tenant, object, ids))
            }

            fn mirror_get<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                ids: &'a [::crmsync_core::RecordId],
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::MirrorRecord>> {
                Box::pin(self.get_mirror(tenant, object, ids))
            }

            fn mirror_changes<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                after: i64,
                limit: u32,
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::MirrorRecord>> {
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
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::MirrorRecord>> {
                Box::pin(self.find_mirror(tenant, object, field, values, None))
            }

            fn mirror_common_keys<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                field: &'a str,
                values: &'a [String],
                cap: u32,
            ) -> $crate::sql::StoreFuture<'a, Vec<String>> {
                Box::pin(self.common_mirror_keys(tenant, object, field, values, cap))
            }

            fn mirror_find_unlinked<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
                field: &'a str,
                values: &'a [String],
                connection: &'a ::crmsync_core::ConnectionId,
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::MirrorRecord>> {
                Box::pin(self.find_mirror(tenant, object, field, values, Some(connection)))
            }

            fn mirror_count<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                object: &'a ::crmsync_core::ObjectKind,
            ) -> $crate::sql::StoreFuture<'a, u64> {
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

            fn list_review_items<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                filter: &'a ::crmsync_core::ReviewFilter,
            ) -> $crate::sql::StoreFuture<'a, Vec<::crmsync_core::ReviewItem>> {
                Box::pin(async move {
                    let limit = filter.limit.unwrap_or($crate::rows::DEFAULT_REVIEW_LIMIT);
                    let mut query =
                        ::sqlx::QueryBuilder::<$db>::new($crate::sql::REVIEW_SELECT);
                    query.push_bind(tenant.as_str().to_owned());
                    if let Some(connection) = &filter.connection {
                        query.push(" AND connection = ");
                        query.push_bind(connection.as_str().to_owned());
                    }
                    if let Some(object) = &filter.object {
                        query.push(" AND object = ");
                        query.push_bind(object.as_str().to_owned());
                    }
                    if let Some(status) = filter.status {
                        query.push(" AND status = ");
                        query.push_bind(status.as_str());
                    }
                    query.push(" ORDER BY id LIMIT ");
                    query.push_bind(i64::from(limit));
                    let rows = query
                        .build()
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::rows::storage("store.list_review_items"))?;
                    rows.iter().map(Self::review_from_row).collect()
                })
            }

            fn get_review_item<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                id: i64,
            ) -> $crate::sql::StoreFuture<'a, Option<::crmsync_core::ReviewItem>> {
                Box::pin(async move {
                    let mut query =
                        ::sqlx::QueryBuilder::<$db>::new($crate::sql::REVIEW_SELECT);
                    query.push_bind(tenant.as_str().to_owned());
                    query.push(" AND id = ");
                    query.push_bind(id);
                    let row = query
                        .build()
                        .fetch_optional(&self.pool)
                        .await
                        .map_err($crate::rows::storage("store.get_review_item"))?;
                    row.as_ref().map(Self::review_from_row).transpose()
                })
            }

            fn resolve_review_item<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                id: i64,
                resolution: ::std::collections::BTreeMap<String, ::crmsync_core::ReviewChoice>,
                by: &'a str,
            ) -> $crate::sql::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done = ::sqlx::query(
                        "UPDATE review_queue SET status = 'resolved', resolution = $3, \
                         resolved_by = $4, resolved_at = $5, updated_at = $5 \
                         WHERE tenant = $1 AND id = $2 AND status = 'pending'",
                    )
                    .bind(tenant.as_str())
                    .bind(id)
                    .bind(::sqlx::types::Json(&resolution))
                    .bind(by)
                    .bind($crate::rows::micros($crate::rows::now()))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.resolve_review_item"))?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn dismiss_review_item<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                id: i64,
                by: &'a str,
            ) -> $crate::sql::StoreFuture<'a, bool> {
                Box::pin(async move {
                    let done = ::sqlx::query(
                        "UPDATE review_queue SET status = 'dismissed', resolved_by = $3, \
                         resolved_at = $4, updated_at = $4 \
                         WHERE tenant = $1 AND id = $2 AND status = 'pending'",
                    )
                    .bind(tenant.as_str())
                    .bind(id)
                    .bind(by)
                    .bind($crate::rows::micros($crate::rows::now()))
                    .execute(&self.pool)
                    .await
                    .map_err($crate::rows::storage("store.dismiss_review_item"))?;
                    Ok(done.rows_affected() > 0)
                })
            }

            fn acquire_lease<'a>(
                &'a self,
                tenant: &'a ::crmsync_core::TenantId,
                key: &'a str,
                holder: &'a str,
                ttl: ::std::time::Duration,
            ) -> $crate::sql::StoreFuture<'a, bool> {
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
            ) -> $crate::sql::StoreFuture<'a, ()> {
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
