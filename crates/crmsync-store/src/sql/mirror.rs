//! The local mirror in SQL: batched reads and writes under the tenant's sequence lock.

/// Adds the mirror to `$store` (see [`impl_sql_store`](super::impl_sql_store)).
macro_rules! impl_sql_mirror {
    ($store:ident, $db:ty, $dialect:expr) => {
        impl $store {
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
                    query.push(format_args!(" AND {column}"));
                    $crate::rows::push_in(
                        &mut query,
                        chunk.iter().map(|value| (*value).to_owned()),
                    );
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
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 13, 0);
                for chunk in changes.changed.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO mirror_records ({}) ",
                        $crate::sql::MIRROR_COLUMNS
                    ));
                    query.push_values(chunk, |mut row, stored| {
                        let record = &stored.record;
                        let [email, phone, mobile_phone, last_name, person] =
                            $crate::mirror::match_keys(&record.fields);
                        row.push_bind(tenant.as_str().to_owned())
                            .push_bind(object.as_str().to_owned())
                            .push_bind(record.id.as_str().to_owned())
                            .push_bind(::sqlx::types::Json(&record.fields))
                            .push_bind(record.seq)
                            .push_bind($crate::rows::micros(record.modified_at))
                            .push_bind(record.deleted)
                            .push_bind(stored.idempotency_key.clone())
                            .push_bind(email)
                            .push_bind(phone)
                            .push_bind(mobile_phone)
                            .push_bind(last_name)
                            .push_bind(person);
                    });
                    query.push(
                        " ON CONFLICT (tenant, object, id) DO UPDATE SET \
                         fields = excluded.fields, seq = excluded.seq, \
                         modified_at = excluded.modified_at, deleted = excluded.deleted, \
                         idempotency_key = excluded.idempotency_key, \
                         match_email = excluded.match_email, \
                         match_phone = excluded.match_phone, \
                         match_mobile_phone = excluded.match_mobile_phone, \
                         match_last_name = excluded.match_last_name, \
                         match_person = excluded.match_person",
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

            /// Computes the match keys of every mirror row (migrations 4 and 6), a page at a
            /// time in key order, inside the migration's transaction.
            async fn fill_match_keys(
                conn: &mut <$db as ::sqlx::Database>::Connection,
            ) -> ::crmsync_core::Result<()> {
                const OP: &str = "store.migrate";
                const PAGE: i64 = 500;
                let mut after = (String::new(), String::new(), String::new());
                loop {
                    let rows: Vec<(
                        String,
                        String,
                        String,
                        ::sqlx::types::Json<::crmsync_core::Fields>,
                    )> = ::sqlx::query_as(
                        "SELECT tenant, object, id, fields FROM mirror_records \
                             WHERE (tenant, object, id) > ($1, $2, $3) \
                             ORDER BY tenant, object, id LIMIT $4",
                    )
                    .bind(&after.0)
                    .bind(&after.1)
                    .bind(&after.2)
                    .bind(PAGE)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err($crate::rows::storage(OP))?;
                    for (tenant, object, id, fields) in &rows {
                        let [email, phone, mobile_phone, last_name, person] =
                            $crate::mirror::match_keys(&fields.0);
                        ::sqlx::query(
                            "UPDATE mirror_records SET match_email = $4, match_phone = $5, \
                             match_mobile_phone = $6, match_last_name = $7, match_person = $8 \
                             WHERE tenant = $1 AND object = $2 AND id = $3",
                        )
                        .bind(tenant)
                        .bind(object)
                        .bind(id)
                        .bind(email)
                        .bind(phone)
                        .bind(mobile_phone)
                        .bind(last_name)
                        .bind(person)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                    }
                    match rows.into_iter().last() {
                        Some((tenant, object, id, _)) => after = (tenant, object, id),
                        None => return Ok(()),
                    }
                }
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

            /// Applies mirror patches under the tenant's sequence lock.
            async fn write_mirror(
                &self,
                tenant: &::crmsync_core::TenantId,
                object: &::crmsync_core::ObjectKind,
                writes: Vec<::crmsync_core::MirrorWrite>,
            ) -> ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>> {
                const OP: &str = "store.mirror_write";
                $crate::mirror::validate_writes(&writes)?;
                if writes.is_empty() {
                    return Ok(Vec::new());
                }
                let dialect: &$crate::sql::Dialect = &$dialect;
                let now = $crate::rows::now();
                let mut conn =
                    $crate::sql::WriteConnection::acquire(&self.pool, dialect, OP).await?;
                let result = async {
                    let mut tx = ::sqlx::Connection::begin_with(&mut *conn, dialect.begin_write)
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
                    let loaded: ::std::collections::HashSet<::crmsync_core::RecordId> =
                        existing.iter().map(|row| row.record.id.clone()).collect();
                    for row in Self::load_mirror_rows(
                        &mut tx,
                        tenant,
                        object,
                        "idempotency_key",
                        &keys,
                        OP,
                    )
                    .await?
                    {
                        if !loaded.contains(&row.record.id) {
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
                    Ok::<_, ::crmsync_core::Error>(changes.results)
                }
                .await;
                if result.is_ok() {
                    conn.settle();
                }
                result
            }

            /// Tombstones live mirror rows under the tenant's sequence lock.
            async fn delete_mirror(
                &self,
                tenant: &::crmsync_core::TenantId,
                object: &::crmsync_core::ObjectKind,
                ids: &[::crmsync_core::RecordId],
            ) -> ::crmsync_core::Result<u64> {
                const OP: &str = "store.mirror_delete";
                if ids.is_empty() {
                    return Ok(0);
                }
                let dialect: &$crate::sql::Dialect = &$dialect;
                let now = $crate::rows::now();
                let mut conn =
                    $crate::sql::WriteConnection::acquire(&self.pool, dialect, OP).await?;
                let result = async {
                    let mut tx = ::sqlx::Connection::begin_with(&mut *conn, dialect.begin_write)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                    let last_seq = Self::lock_mirror_sequence(&mut tx, tenant, OP).await?;
                    let unique: Vec<&str> = $crate::rows::unique_ids(ids)
                        .into_iter()
                        .map(|id| id.as_str())
                        .collect();
                    let existing =
                        Self::load_mirror_rows(&mut tx, tenant, object, "id", &unique, OP).await?;
                    // Tombstones take sequence numbers in the order asked for.
                    let existing =
                        $crate::rows::in_request_order(ids, existing, |row| &row.record.id);
                    let changes = $crate::mirror::plan_deletes(existing, last_seq, now);
                    Self::save_mirror_changes(&mut tx, tenant, object, &changes, OP).await?;
                    tx.commit().await.map_err($crate::rows::storage(OP))?;
                    Ok::<_, ::crmsync_core::Error>(changes.results.len() as u64)
                }
                .await;
                if result.is_ok() {
                    conn.settle();
                }
                result
            }

            /// Live mirror rows by id, one `IN` query per chunk.
            async fn get_mirror(
                &self,
                tenant: &::crmsync_core::TenantId,
                object: &::crmsync_core::ObjectKind,
                ids: &[::crmsync_core::RecordId],
            ) -> ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>> {
                const OP: &str = "store.mirror_get";
                let unique = $crate::rows::unique_ids(ids);
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 1, 2);
                let mut found = Vec::with_capacity(unique.len());
                for chunk in unique.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new($crate::sql::MIRROR_SELECT);
                    query.push_bind(tenant.as_str().to_owned());
                    query.push(" AND object = ");
                    query.push_bind(object.as_str().to_owned());
                    query.push(" AND deleted = FALSE AND id");
                    $crate::rows::push_in(
                        &mut query,
                        chunk.iter().map(|id| id.as_str().to_owned()),
                    );
                    found.extend(
                        self.fetch_mirror(object, query.build().persistent(false), OP)
                            .await?,
                    );
                }
                Ok($crate::rows::in_request_order(ids, found, |record| {
                    &record.id
                }))
            }

            /// Live mirror rows whose field text is one of `values`, one query per chunk;
            /// match fields compare normalized (see `Dialect::match_fields`).
            /// `mirror_common_keys`: one statement of bounded counts, one per value
            /// (`LIMIT cap + 1` each), for fields with a key column; other fields are
            /// never common.
            async fn common_mirror_keys(
                &self,
                tenant: &::crmsync_core::TenantId,
                object: &::crmsync_core::ObjectKind,
                field: &str,
                values: &[String],
                cap: u32,
            ) -> ::crmsync_core::Result<Vec<String>> {
                const OP: &str = "store.mirror_common_keys";
                let Some(column) = $crate::mirror::key_column(field) else {
                    return Ok(Vec::new());
                };
                let keys: Vec<String> = {
                    let mut keys: Vec<String> =
                        $crate::mirror::find_values(field, values).into_iter().collect();
                    keys.sort_unstable();
                    keys
                };
                let limit = u64::from(cap) + 1;
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 3, 0).min(200);
                let mut common = Vec::new();
                for chunk in keys.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new("");
                    for (i, key) in chunk.iter().enumerate() {
                        if i > 0 {
                            query.push(" UNION ALL ");
                        }
                        // `i` and `limit` are numbers of ours; the values are bound.
                        query.push(format_args!(
                            "SELECT CAST({i} AS BIGINT) AS i, COUNT(*) AS n \
                             FROM (SELECT 1 AS one FROM mirror_records WHERE tenant = "
                        ));
                        query.push_bind(tenant.as_str().to_owned());
                        query.push(" AND object = ");
                        query.push_bind(object.as_str().to_owned());
                        query.push(format_args!(" AND {column} = "));
                        query.push_bind(key.clone());
                        query.push(format_args!(" AND deleted = FALSE LIMIT {limit}) AS b{i}"));
                    }
                    let counts: Vec<(i64, i64)> = query
                        .build_query_as()
                        .persistent(false)
                        .fetch_all(&self.pool)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                    for (i, n) in counts {
                        let over = u64::try_from(n).unwrap_or_default() > u64::from(cap);
                        let key = usize::try_from(i).ok().and_then(|i| chunk.get(i));
                        if let (true, Some(key)) = (over, key) {
                            common.push(key.clone());
                        }
                    }
                }
                Ok(common)
            }

            async fn find_mirror(
                &self,
                tenant: &::crmsync_core::TenantId,
                object: &::crmsync_core::ObjectKind,
                field: &str,
                values: &[String],
                unlinked_on: Option<&::crmsync_core::ConnectionId>,
            ) -> ::crmsync_core::Result<Vec<::crmsync_core::MirrorRecord>> {
                const OP: &str = "store.mirror_find";
                let dialect: &$crate::sql::Dialect = &$dialect;
                // Match fields are looked up by their key column (indexed).
                let key_column = $crate::mirror::key_column(field);
                let keys = $crate::mirror::find_values(field, values);
                let path = (dialect.field_path)(field)?;
                let mut values: Vec<&str> = keys.iter().map(String::as_str).collect();
                values.sort_unstable();
                // Tenant, object, the connection and the field selector (once per gap in
                // field_text).
                let fixed = 3 + dialect.field_text.len().saturating_sub(1);
                let per = $crate::rows::rows_per_statement(dialect.max_binds, 1, fixed);
                let mut found = Vec::new();
                for chunk in values.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new($crate::sql::MIRROR_SELECT);
                    query.push_bind(tenant.as_str().to_owned());
                    query.push(" AND object = ");
                    query.push_bind(object.as_str().to_owned());
                    query.push(" AND deleted = FALSE AND ");
                    if let Some(connection) = unlinked_on {
                        // Linked rows are skipped by the links' primary key.
                        query.push(
                            "NOT EXISTS (SELECT 1 FROM links WHERE links.tenant = \
                             mirror_records.tenant AND links.connection = ",
                        );
                        query.push_bind(connection.as_str().to_owned());
                        query.push(
                            " AND links.object = mirror_records.object \
                             AND links.local_id = mirror_records.id) AND ",
                        );
                    }
                    match &key_column {
                        Some(column) => {
                            query.push(column);
                        }
                        None => {
                            for (i, fragment) in dialect.field_text.iter().enumerate() {
                                if i > 0 {
                                    query.push_bind(path.clone());
                                }
                                query.push(fragment);
                            }
                        }
                    }
                    $crate::rows::push_in(
                        &mut query,
                        chunk.iter().map(|value| (*value).to_owned()),
                    );
                    found.extend(
                        self.fetch_mirror(object, query.build().persistent(false), OP)
                            .await?,
                    );
                }
                found.sort_by_key(|record| record.seq);
                Ok(found)
            }
        }
    };
}

pub(crate) use impl_sql_mirror;
