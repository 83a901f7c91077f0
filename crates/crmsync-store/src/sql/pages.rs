//! Links and page commits of the SQL stores: batched look-ups, and one transaction per
//! page with one multi-row statement per table and chunk.

/// Adds link look-ups and page commits to `$store` (see
/// [`impl_sql_store`](super::impl_sql_store)).
macro_rules! impl_sql_pages {
    ($store:ident, $db:ty, $dialect:expr) => {
        impl $store {
            /// Pushes `? AND connection = ? AND object = ?` (after `tenant = `).
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

            /// Links whose remote (or local) id is one of `ids`, in request order.
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
                    query.push(format_args!(" AND {column}"));
                    $crate::rows::push_in(
                        &mut query,
                        chunk.iter().map(|id| id.as_str().to_owned()),
                    );
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
                    if by_remote {
                        &link.remote_id
                    } else {
                        &link.local_id
                    }
                }))
            }

            /// Applies one page of links, audit rows, dead letters, review items and its
            /// cursor in one transaction.
            async fn commit_page_tx(
                &self,
                tenant: &::crmsync_core::TenantId,
                commit: ::crmsync_core::PageCommit,
            ) -> ::crmsync_core::Result<()> {
                const OP: &str = "store.commit_page";
                let dialect: &$crate::sql::Dialect = &$dialect;
                let key = ::crmsync_core::LinkKey {
                    connection: commit.connection,
                    object: commit.object,
                };
                let mut conn =
                    $crate::sql::WriteConnection::acquire(&self.pool, dialect, OP).await?;
                let result: ::crmsync_core::Result<()> = async {
                    let mut tx = ::sqlx::Connection::begin_with(&mut *conn, dialect.begin_write)
                        .await
                        .map_err($crate::rows::storage(OP))?;
                    // Deletes first, then upserts: a link both deleted and upserted in
                    // one page ends up upserted.
                    let deleted = $crate::rows::unique_ids(&commit.delete_links);
                    Self::delete_links_tx(&mut tx, tenant, &key, "local_id", &deleted).await?;
                    // An upsert replaces any link with the same local id or the same
                    // remote id: remove both, then insert.
                    let links = $crate::rows::dedupe_links(commit.upsert_links);
                    let locals: Vec<_> = links.iter().map(|link| &link.local_id).collect();
                    let remotes: Vec<_> = links.iter().map(|link| &link.remote_id).collect();
                    Self::delete_links_tx(&mut tx, tenant, &key, "local_id", &locals).await?;
                    Self::delete_links_tx(&mut tx, tenant, &key, "remote_id", &remotes).await?;
                    Self::insert_links_tx(&mut tx, tenant, &key, &links).await?;
                    Self::insert_audit_tx(&mut tx, tenant, &commit.audit).await?;
                    Self::insert_dead_letters_tx(&mut tx, tenant, &commit.dead_letters).await?;
                    let reviews = $crate::rows::parked_reviews(commit.review_items);
                    Self::park_reviews_tx(&mut tx, tenant, &reviews).await?;
                    Self::mark_reviews_applied_tx(&mut tx, tenant, &commit.applied_reviews).await?;
                    for target in [::crmsync_core::Side::Local, ::crmsync_core::Side::Remote] {
                        let ids: Vec<&::crmsync_core::RecordId> = commit
                            .settled_intents
                            .iter()
                            .filter(|(side, _)| *side == target)
                            .map(|(_, id)| id)
                            .collect();
                        let per = $crate::rows::rows_per_statement($dialect.max_binds, 1, 4);
                        for chunk in ids.chunks(per) {
                            let mut query = ::sqlx::QueryBuilder::<$db>::new(
                                "DELETE FROM create_intents WHERE tenant = ",
                            );
                            query.push_bind(tenant.as_str().to_owned());
                            query.push(" AND connection = ");
                            query.push_bind(key.connection.as_str().to_owned());
                            query.push(" AND object = ");
                            query.push_bind(key.object.as_str().to_owned());
                            query.push(" AND target = ");
                            query.push_bind($crate::rows::side_name(target));
                            query.push(" AND source_id");
                            $crate::rows::push_in(
                                &mut query,
                                chunk.iter().map(|id| id.as_str().to_owned()),
                            );
                            query
                                .build()
                                .persistent(false)
                                .execute(&mut *tx)
                                .await
                                .map_err($crate::rows::storage(OP))?;
                        }
                    }
                    if let Some((direction, cursor)) = &commit.checkpoint {
                        Self::store_checkpoint_tx(&mut tx, tenant, &key, *direction, cursor)
                            .await?;
                    }
                    tx.commit().await.map_err($crate::rows::storage(OP))
                }
                .await;
                if result.is_ok() {
                    conn.settle();
                }
                result
            }

            /// Deletes the links whose `column` (`local_id` or `remote_id`) is one of
            /// `ids`. One column per statement, so each uses its own index.
            async fn delete_links_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                key: &::crmsync_core::LinkKey,
                column: &'static str,
                ids: &[&::crmsync_core::RecordId],
            ) -> ::crmsync_core::Result<()> {
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 1, 3);
                for chunk in ids.chunks(per) {
                    let mut query =
                        ::sqlx::QueryBuilder::<$db>::new("DELETE FROM links WHERE tenant = ");
                    Self::push_link_scope(&mut query, tenant, key);
                    query.push(format_args!(" AND {column}"));
                    $crate::rows::push_in(
                        &mut query,
                        chunk.iter().map(|id| id.as_str().to_owned()),
                    );
                    query
                        .build()
                        .persistent(false)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage("store.commit_page"))?;
                }
                Ok(())
            }

            async fn insert_links_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                key: &::crmsync_core::LinkKey,
                links: &[::crmsync_core::Link],
            ) -> ::crmsync_core::Result<()> {
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 10, 0);
                for chunk in links.chunks(per) {
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
                    query
                        .build()
                        .persistent(false)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage("store.commit_page"))?;
                }
                Ok(())
            }

            async fn insert_audit_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                entries: &[::crmsync_core::AuditEntry],
            ) -> ::crmsync_core::Result<()> {
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 12, 0);
                let id_text = |id: &Option<::crmsync_core::RecordId>| {
                    id.as_ref().map(|id| id.as_str().to_owned())
                };
                for chunk in entries.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO audit_log ({}) ",
                        $crate::sql::AUDIT_COLUMNS
                    ));
                    query.push_values(chunk, |mut row, entry| {
                        row.push_bind(tenant.as_str().to_owned())
                            .push_bind(entry.run_id.map(|id| id.0))
                            .push_bind(entry.connection.as_str().to_owned())
                            .push_bind(entry.object.as_str().to_owned())
                            .push_bind(id_text(&entry.local_id))
                            .push_bind(id_text(&entry.remote_id))
                            .push_bind(entry.operation.clone())
                            .push_bind($crate::rows::source_name(entry.source))
                            .push_bind(::sqlx::types::Json(&entry.changes))
                            .push_bind($crate::rows::outcome_name(entry.outcome))
                            .push_bind(entry.error.clone())
                            .push_bind($crate::rows::micros(entry.at));
                    });
                    query
                        .build()
                        .persistent(false)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage("store.commit_page"))?;
                }
                Ok(())
            }

            async fn insert_dead_letters_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                letters: &[::crmsync_core::DeadLetter],
            ) -> ::crmsync_core::Result<()> {
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 16, 0);
                let letters = $crate::rows::pending_letters(letters.to_vec());
                for chunk in letters.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO dead_letters ({}, fingerprint) ",
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
                            .push_bind($crate::rows::micros(letter.last_failed_at))
                            .push_bind($crate::rows::fingerprint(&letter.payload));
                    });
                    // The same record failing again as it was updates its pending letter
                    // (partial unique index `dead_letters_pending`, migration 5).
                    query.push(
                        " ON CONFLICT (tenant, connection, object, direction, record_id, \
                         fingerprint) \
                         WHERE status = 'pending' DO UPDATE SET run_id = excluded.run_id, \
                         payload = excluded.payload, error_kind = excluded.error_kind, \
                         error_message = excluded.error_message, field = excluded.field, \
                         rule = excluded.rule, \
                         attempts = dead_letters.attempts + excluded.attempts, \
                         last_failed_at = excluded.last_failed_at",
                    );
                    query
                        .build()
                        .persistent(false)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage("store.commit_page"))?;
                }
                Ok(())
            }

            /// Parks review items (as [`parked_reviews`](crate::rows::parked_reviews)
            /// prepared them, one per key): a pending item with the same key is updated
            /// in place through the partial unique index `review_queue_pending`.
            async fn park_reviews_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                items: &[::crmsync_core::ReviewItem],
            ) -> ::crmsync_core::Result<()> {
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 18, 0);
                let id_text = |id: &Option<::crmsync_core::RecordId>| {
                    id.as_ref().map(|id| id.as_str().to_owned())
                };
                for chunk in items.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(format!(
                        "INSERT INTO review_queue ({}) ",
                        $crate::sql::REVIEW_COLUMNS
                    ));
                    query.push_values(chunk, |mut row, item| {
                        row.push_bind(tenant.as_str().to_owned())
                            .push_bind(item.connection.as_str().to_owned())
                            .push_bind(item.object.as_str().to_owned())
                            .push_bind(item.kind.as_str())
                            .push_bind(id_text(&item.local_id))
                            .push_bind(id_text(&item.remote_id))
                            .push_bind(::sqlx::types::Json(&item.fields))
                            .push_bind(::sqlx::types::Json(&item.base))
                            .push_bind(::sqlx::types::Json(&item.local))
                            .push_bind(::sqlx::types::Json(&item.remote))
                            .push_bind(::sqlx::types::Json(&item.candidates))
                            .push_bind(item.reason.clone())
                            .push_bind(item.status.as_str())
                            .push_bind(::sqlx::types::Json(&item.resolution))
                            .push_bind(item.resolved_by.clone())
                            .push_bind(item.resolved_at.map($crate::rows::micros))
                            .push_bind($crate::rows::micros(item.created_at))
                            .push_bind($crate::rows::micros(item.updated_at));
                    });
                    query.push(
                        " ON CONFLICT (tenant, connection, object, kind, \
                         COALESCE(local_id, ''), COALESCE(remote_id, '')) \
                         WHERE status = 'pending' DO UPDATE SET fields = excluded.fields, \
                         base_values = excluded.base_values, \
                         local_values = excluded.local_values, \
                         remote_values = excluded.remote_values, \
                         candidates = excluded.candidates, reason = excluded.reason, \
                         updated_at = excluded.updated_at",
                    );
                    query
                        .build()
                        .persistent(false)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage("store.commit_page"))?;
                }
                Ok(())
            }

            /// Marks the resolved review items among `ids` applied.
            async fn mark_reviews_applied_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                ids: &[i64],
            ) -> ::crmsync_core::Result<()> {
                let per = $crate::rows::rows_per_statement($dialect.max_binds, 1, 2);
                let now = $crate::rows::micros($crate::rows::now());
                for chunk in ids.chunks(per) {
                    let mut query = ::sqlx::QueryBuilder::<$db>::new(
                        "UPDATE review_queue SET status = 'applied', updated_at = ",
                    );
                    query.push_bind(now);
                    query.push(" WHERE tenant = ");
                    query.push_bind(tenant.as_str().to_owned());
                    query.push(" AND status = 'resolved' AND id");
                    $crate::rows::push_in(&mut query, chunk.iter().map(|id| *id));
                    query
                        .build()
                        .persistent(false)
                        .execute(&mut *conn)
                        .await
                        .map_err($crate::rows::storage("store.commit_page"))?;
                }
                Ok(())
            }

            async fn store_checkpoint_tx(
                conn: &mut <$db as ::sqlx::Database>::Connection,
                tenant: &::crmsync_core::TenantId,
                key: &::crmsync_core::LinkKey,
                direction: ::crmsync_core::Direction,
                cursor: &::crmsync_core::Cursor,
            ) -> ::crmsync_core::Result<()> {
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
                .execute(&mut *conn)
                .await
                .map_err($crate::rows::storage("store.commit_page"))?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_sql_pages;
