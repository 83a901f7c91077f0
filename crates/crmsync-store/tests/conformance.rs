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

#[tokio::test]
async fn sqlite_in_memory_store_conforms() {
    let store = SqliteStore::in_memory(key()).await.expect("in-memory SQLite");
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
    assert_eq!(versions, vec![1]);
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
    assert_eq!(versions, vec![1]);
    again.close().await;

    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .execute(store.pool())
        .await
        .expect("drop the test schema");
    store.close().await;
}

#[cfg(not(feature = "postgres"))]
#[test]
fn postgres_store_conforms() {
    eprintln!("skipped: build with --features postgres to run the PostgreSQL conformance suite");
}
