//! The store conformance suite (crmsync_core::testkit::store) against every backend.

mod common;

use crmsync_core::testkit::store::run_all;
use crmsync_store::{CredentialKey, MemoryStore, SqliteStore};

fn key() -> CredentialKey {
    CredentialKey::generate().expect("a random key")
}

#[tokio::test]
async fn memory_store_conforms() {
    run_all(&MemoryStore::new(key())).await;
}

// Multi-threaded: the atomicity test blocks its thread between polls of an abandoned
// commit, while the pool returns connections on other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_in_memory_store_conforms() {
    let store = SqliteStore::in_memory(key())
        .await
        .expect("in-memory SQLite");
    run_all(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_store_conforms() {
    let dir = common::TempDir::new("crmsync-store-conformance");
    let path = dir.path().join("crmsync.db");
    let store = SqliteStore::open(&path, key()).await.expect("SQLite file");
    run_all(&store).await;
    store.close().await;

    // Reopening runs no migration twice and finds the data.
    let store = SqliteStore::open(&path, key()).await.expect("reopen");
    let tenants: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT tenant) FROM links")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert!(tenants > 0);
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM crmsync_migrations")
        .fetch_all(store.pool())
        .await
        .expect("migrations");
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    store.close().await;
}

/// A database created by version 1 of the schema (with its placeholder review queue)
/// migrates to the review queue on open, keeping its data.
#[tokio::test]
async fn sqlite_store_migrates_a_version_1_database() {
    use crmsync_core::{
        LinkKey, ObjectKind, PageCommit, ReviewFilter, ReviewItem, ReviewKind, ReviewStatus,
        SyncStore, TenantId,
    };

    let dir = common::TempDir::new("crmsync-store-upgrade");
    let path = dir.path().join("crmsync.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("SQLite file");
    sqlx::raw_sql(include_str!("../migrations/sqlite/0001_initial.sql"))
        .execute(&pool)
        .await
        .expect("schema version 1");
    sqlx::raw_sql(
        "CREATE TABLE crmsync_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL); \
         INSERT INTO crmsync_migrations VALUES (1, 'initial', 0); \
         INSERT INTO links VALUES ('old', 'crm', 'contact', 'l-1', 'r-1', '{}', 0, NULL, \
         NULL, 0);",
    )
    .execute(&pool)
    .await
    .expect("version 1 data");
    pool.close().await;

    let store = SqliteStore::open(&path, key()).await.expect("migrate");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM crmsync_migrations")
        .fetch_all(store.pool())
        .await
        .expect("migrations");
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    let tenant = TenantId::new("old");
    let links = LinkKey {
        connection: "crm".into(),
        object: ObjectKind::Contact,
    };
    assert_eq!(store.count_links(&tenant, &links).await.expect("links"), 1);
    let now = chrono::Utc::now();
    let mut commit = PageCommit::new("crm".into(), ObjectKind::Contact);
    commit.review_items = vec![ReviewItem {
        id: None,
        connection: "crm".into(),
        object: ObjectKind::Contact,
        kind: ReviewKind::AmbiguousMatch,
        local_id: Some("l-2".into()),
        remote_id: None,
        fields: Vec::new(),
        base: Default::default(),
        local: Default::default(),
        remote: Default::default(),
        candidates: vec!["r-2".into(), "r-3".into()],
        reason: "two contacts share the email".to_owned(),
        status: ReviewStatus::Pending,
        resolution: Default::default(),
        resolved_by: None,
        resolved_at: None,
        created_at: now,
        updated_at: now,
    }];
    store.commit_page(&tenant, commit).await.expect("park");
    let items = store
        .list_review_items(&tenant, &ReviewFilter::default())
        .await
        .expect("list");
    assert_eq!(items.len(), 1);
    store.close().await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    use crmsync_store::PostgresStore;

    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::random_schema("crmsync_conformance");
    let store = PostgresStore::connect_with_schema(&url, &schema, key())
        .await
        .expect("PostgreSQL");
    run_all(&store).await;

    // A second store on the same schema finds it migrated.
    let again = PostgresStore::connect_with_schema(&url, &schema, key())
        .await
        .expect("reconnect");
    let versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM crmsync_migrations")
        .fetch_all(again.pool())
        .await
        .expect("migrations");
    assert_eq!(versions, vec![1, 2, 3, 4, 5, 6, 7]);
    again.close().await;

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(store.pool())
    .await
    .expect("drop the test schema");
    store.close().await;
}

/// sqlx 0.9.0 loses track of a PostgreSQL `BEGIN` whose future is dropped in flight
/// and pools the connection inside the open transaction (transact-rs/sqlx#4393); the
/// store closes such connections instead. With a single connection, the next write
/// would land in that transaction and stay invisible to everyone else.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_abandoned_writes_never_leave_a_transaction_open() {
    use std::{
        pin::pin,
        task::{Context, Waker},
    };

    use crmsync_core::{
        Cursor, Direction, ObjectKind, ObjectReport, PageCommit, RunRecord, RunStatus, SyncMode,
        SyncStore, TenantId,
    };
    use crmsync_store::PostgresStore;
    use sqlx::{Executor, postgres::PgPoolOptions};

    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::random_schema("crmsync_abandoned");
    let observer = PostgresStore::connect_with_schema(&url, &schema, key())
        .await
        .expect("PostgreSQL");
    let set_path = format!("SET search_path TO \"{schema}\"");
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .after_connect(move |conn, _| {
            let set_path = set_path.clone();
            Box::pin(async move {
                conn.execute(sqlx::AssertSqlSafe(set_path)).await?;
                Ok(())
            })
        })
        .connect(&url)
        .await
        .expect("pool");
    let store = PostgresStore::from_pool(pool, key()).await.expect("store");
    let tenant = TenantId::new("abandoned");
    let run = RunRecord {
        id: None,
        connection: "crm".into(),
        object: ObjectKind::Contact,
        direction: Direction::Pull,
        mode: SyncMode::Incremental,
        status: RunStatus::Running,
        started_at: chrono::Utc::now(),
        finished_at: None,
        counts: ObjectReport::default(),
        error: None,
        configuration: serde_json::json!({}),
    };
    // Dropped after 1 to 5 polls a little apart: somewhere in acquiring the
    // connection, in flight with `BEGIN`, or inside the transaction.
    for round in 1..=30_i64 {
        let mut commit = PageCommit::new("crm".into(), ObjectKind::Contact);
        commit.checkpoint = Some((Direction::Pull, Cursor::new("1")));
        {
            let mut fut = pin!(store.commit_page(&tenant, commit));
            for _ in 0..=round % 5 {
                if fut
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                    .is_ready()
                {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
        }
        store.start_run(&tenant, &run).await.expect("start_run");
        let seen: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_runs WHERE tenant = $1")
            .bind(tenant.as_str())
            .fetch_one(observer.pool())
            .await
            .expect("count");
        assert_eq!(
            seen, round,
            "a write after an abandoned commit is committed"
        );
    }
    store.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA \"{schema}\" CASCADE"
    )))
    .execute(observer.pool())
    .await
    .expect("drop the test schema");
    observer.close().await;
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_store_conforms() {
    eprintln!("skipped: build with --features postgres to run the PostgreSQL conformance suite");
}

/// A database from before the match-key columns (schema version 3) gets the keys of its
/// existing application rows computed on open, so look-ups by key find them.
#[tokio::test]
async fn sqlite_store_fills_match_keys_of_existing_rows() {
    use crmsync_core::{ObjectKind, SyncStore, TenantId};

    let dir = common::TempDir::new("crmsync-store-match-keys");
    let path = dir.path().join("crmsync.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("SQLite file");
    for sql in [
        include_str!("../migrations/sqlite/0001_initial.sql"),
        include_str!("../migrations/sqlite/0002_review_queue.sql"),
        include_str!("../migrations/sqlite/0003_mirror_match_indexes.sql"),
    ] {
        sqlx::raw_sql(sql).execute(&pool).await.expect("old schema");
    }
    let mut rows = String::from(
        "CREATE TABLE crmsync_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL); \
         INSERT INTO crmsync_migrations VALUES (1, 'initial', 0), (2, 'review_queue', 0), \
         (3, 'mirror_match_indexes', 0);",
    );
    // More rows than one page of the fill.
    for i in 0..1_203 {
        rows.push_str(&format!(
            "INSERT INTO mirror_records (tenant, object, id, fields, seq, modified_at, deleted) \
             VALUES ('old', 'contact', 'm-{i:04}', \
             '{{\"last_name\": \"Gómez {i}\", \"phone\": \"(415) 555-{i:04}\"}}', {i}, 0, FALSE);"
        ));
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(rows))
        .execute(&pool)
        .await
        .expect("version 3 data");
    pool.close().await;

    let store = SqliteStore::open(&path, key()).await.expect("migrate");
    let tenant = TenantId::new("old");
    let found = |field: &'static str, value: &'static str| {
        let store = &store;
        let tenant = &tenant;
        async move {
            store
                .mirror_find(tenant, &ObjectKind::Contact, field, &[value.to_owned()])
                .await
                .expect("find")
                .into_iter()
                .map(|r| r.id.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("last_name", "GOMEZ 7").await, vec!["m-0007"]);
    assert_eq!(found("phone", "+1 415 555 1202").await, vec!["m-1202"]);
    store.close().await;
}
