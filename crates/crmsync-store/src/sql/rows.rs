//! Row mapping of the SQL stores: database rows to the contract's types.

/// Adds row mapping to `$store` (see [`impl_sql_store`](super::impl_sql_store)).
macro_rules! impl_sql_rows {
    ($store:ident, $db:ty) => {
        impl $store {
            fn link_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::Link> {
                use ::sqlx::Row as _;
                const OP: &str = "store.links";
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                let time = |name: &str| -> ::crmsync_core::Result<Option<i64>> {
                    row.try_get::<Option<i64>, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                Ok(::crmsync_core::Link {
                    local_id: text("local_id")?.into(),
                    remote_id: text("remote_id")?.into(),
                    base: row
                        .try_get::<::sqlx::types::Json<::crmsync_core::Fields>, _>("base")
                        .map_err($crate::rows::storage(OP))?
                        .0,
                    base_hash: $crate::rows::hash_from_i64(
                        row.try_get::<i64, _>("base_hash")
                            .map_err($crate::rows::storage(OP))?,
                    ),
                    remote_modified_at: $crate::rows::from_micros_opt(time("remote_modified_at")?)?,
                    local_modified_at: $crate::rows::from_micros_opt(time("local_modified_at")?)?,
                    synced_at: $crate::rows::from_micros(
                        row.try_get::<i64, _>("synced_at")
                            .map_err($crate::rows::storage(OP))?,
                    )?,
                })
            }

            fn run_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::RunRecord> {
                use ::sqlx::Row as _;
                const OP: &str = "store.list_runs";
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                let int = |name: &str| -> ::crmsync_core::Result<Option<i64>> {
                    row.try_get::<Option<i64>, _>(name)
                        .map_err($crate::rows::storage(OP))
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
                    row.try_get::<String, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                let opt = |name: &str| -> ::crmsync_core::Result<Option<String>> {
                    row.try_get::<Option<String>, _>(name)
                        .map_err($crate::rows::storage(OP))
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
                        row.try_get::<i64, _>("at")
                            .map_err($crate::rows::storage(OP))?,
                    )?,
                })
            }

            fn dead_letter_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::DeadLetter> {
                use ::sqlx::Row as _;
                const OP: &str = "store.list_dead_letters";
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                let opt = |name: &str| -> ::crmsync_core::Result<Option<String>> {
                    row.try_get::<Option<String>, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                let int = |name: &str| -> ::crmsync_core::Result<i64> {
                    row.try_get::<i64, _>(name)
                        .map_err($crate::rows::storage(OP))
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

            fn review_from_row(
                row: &<$db as ::sqlx::Database>::Row,
            ) -> ::crmsync_core::Result<::crmsync_core::ReviewItem> {
                use ::sqlx::Row as _;
                const OP: &str = "store.review_items";
                fn json<T, R>(row: &R, name: &str) -> ::crmsync_core::Result<T>
                where
                    T: ::serde::de::DeserializeOwned,
                    R: ::sqlx::Row,
                    for<'n> &'n str: ::sqlx::ColumnIndex<R>,
                    ::sqlx::types::Json<T>:
                        for<'r> ::sqlx::Decode<'r, R::Database> + ::sqlx::Type<R::Database>,
                {
                    row.try_get::<::sqlx::types::Json<T>, _>(name)
                        .map(|json| json.0)
                        .map_err($crate::rows::storage(OP))
                }
                let text = |name: &str| -> ::crmsync_core::Result<String> {
                    row.try_get::<String, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                let opt = |name: &str| -> ::crmsync_core::Result<Option<String>> {
                    row.try_get::<Option<String>, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                let int = |name: &str| -> ::crmsync_core::Result<i64> {
                    row.try_get::<i64, _>(name)
                        .map_err($crate::rows::storage(OP))
                };
                Ok(::crmsync_core::ReviewItem {
                    id: Some(int("id")?),
                    connection: text("connection")?.into(),
                    object: ::crmsync_core::ObjectKind::parse(&text("object")?),
                    kind: $crate::rows::parse_review_kind(&text("kind")?)?,
                    local_id: opt("local_id")?.map(Into::into),
                    remote_id: opt("remote_id")?.map(Into::into),
                    fields: json(row, "fields")?,
                    base: json(row, "base_values")?,
                    local: json(row, "local_values")?,
                    remote: json(row, "remote_values")?,
                    candidates: json(row, "candidates")?,
                    reason: text("reason")?,
                    status: $crate::rows::parse_review_status(&text("status")?)?,
                    resolution: json(row, "resolution")?,
                    resolved_by: opt("resolved_by")?,
                    resolved_at: $crate::rows::from_micros_opt(
                        row.try_get::<Option<i64>, _>("resolved_at")
                            .map_err($crate::rows::storage(OP))?,
                    )?,
                    created_at: $crate::rows::from_micros(int("created_at")?)?,
                    updated_at: $crate::rows::from_micros(int("updated_at")?)?,
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
                        row.try_get::<::sqlx::types::Json<::crmsync_core::Fields>, _>("fields")?
                            .0,
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
        }
    };
}

pub(crate) use impl_sql_rows;
