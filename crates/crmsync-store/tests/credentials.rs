//! Credentials at rest: encrypted, bound to their row, unreadable with a wrong key.
#![allow(clippy::unwrap_used)]

mod common;

use crmsync_core::{
    ConnectionConfig, ConnectionId, Credentials, ErrorKind, ProviderKind, SyncStore, TenantId,
};
use crmsync_store::{CredentialKey, MemoryStore, SqliteStore};
use secrecy::ExposeSecret;

const SECRET: &str = "pat-na1-RECOGNISABLE-7c1f9a3e-secret";

fn connection(id: &str) -> ConnectionConfig {
    ConnectionConfig {
        id: id.into(),
        provider: ProviderKind::Hubspot,
        settings: serde_json::json!({ "portal_id": 1 }),
        credentials: Credentials::new().with("access_token", SECRET),
    }
}

fn file_contains(path: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read(path)
        .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

#[tokio::test]
async fn credentials_are_not_readable_in_the_database_file() {
    let dir = common::TempDir::new("crmsync-store-secret");
    let path = dir.path().join("crmsync.db");
    let store = SqliteStore::open(&path, CredentialKey::generate().unwrap())
        .await
        .unwrap();
    let tenant = TenantId::new("acme");
    store
        .put_connection(&tenant, &connection("hs"))
        .await
        .unwrap();
    store
        .put_connection(&tenant, &connection("hs-2"))
        .await
        .unwrap();

    // Look while the WAL still holds the writes, then after a checkpoint.
    let mut files = vec![path.clone()];
    for suffix in ["-wal", "-shm"] {
        files.push(dir.path().join(format!("crmsync.db{suffix}")));
    }
    assert!(
        files.iter().any(|f| file_contains(f, b"portal_id")),
        "the test must see the database's bytes"
    );
    for file in &files {
        assert!(
            !file_contains(file, SECRET.as_bytes()),
            "secret in {}",
            file.display()
        );
    }
    store.close().await;
    assert!(
        !file_contains(&path, SECRET.as_bytes()),
        "secret in the checkpointed file"
    );
}

#[tokio::test]
async fn a_wrong_key_is_a_crypto_error_never_garbage() {
    let dir = common::TempDir::new("crmsync-store-wrong-key");
    let path = dir.path().join("crmsync.db");
    let tenant = TenantId::new("acme");
    let right = CredentialKey::from_bytes([1; 32]);
    let store = SqliteStore::open(&path, right.clone()).await.unwrap();
    store
        .put_connection(&tenant, &connection("hs"))
        .await
        .unwrap();
    store.close().await;

    let store = SqliteStore::open(&path, CredentialKey::from_bytes([2; 32]))
        .await
        .unwrap();
    let err = store
        .get_connection(&tenant, &ConnectionId::new("hs"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(
        err.to_string()
            .contains("credentials cannot be decrypted: wrong key or tampered row"),
        "{err}"
    );
    assert!(!err.to_string().contains(SECRET));
    // Everything that is not secret still works.
    assert_eq!(store.list_connections(&tenant).await.unwrap().len(), 1);
    store.close().await;

    let store = SqliteStore::open(&path, right).await.unwrap();
    let got = store
        .get_connection(&tenant, &ConnectionId::new("hs"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.credentials.get("access_token").unwrap().expose_secret(),
        SECRET
    );
    store.close().await;
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_row_does_not_decrypt() {
    let store = SqliteStore::in_memory(CredentialKey::generate().unwrap())
        .await
        .unwrap();
    let (a, b) = (TenantId::new("a"), TenantId::new("b"));
    store.put_connection(&a, &connection("hs")).await.unwrap();
    let mut other = connection("hs");
    other.credentials = Credentials::new().with("access_token", "b's own");
    store.put_connection(&b, &other).await.unwrap();
    store.put_connection(&a, &connection("sf")).await.unwrap();

    // Copy tenant a's blob into tenant b's row, and into a's other connection.
    sqlx::query(
        "UPDATE connections SET credentials = \
         (SELECT credentials FROM connections WHERE tenant = 'a' AND id = 'hs') \
         WHERE (tenant = 'b' AND id = 'hs') OR (tenant = 'a' AND id = 'sf')",
    )
    .execute(store.pool())
    .await
    .unwrap();
    for (tenant, id) in [(&b, "hs"), (&a, "sf")] {
        let err = store
            .get_connection(tenant, &ConnectionId::new(id))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Crypto, "{tenant}/{id}");
    }
    assert!(
        store
            .get_connection(&a, &"hs".into())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn the_memory_store_keeps_ciphertext_too() {
    let store = MemoryStore::new(CredentialKey::generate().unwrap());
    let tenant = TenantId::new("acme");
    store
        .put_connection(&tenant, &connection("hs"))
        .await
        .unwrap();
    assert!(!format!("{store:?}").contains(SECRET));
    let got = store
        .get_connection(&tenant, &"hs".into())
        .await
        .unwrap()
        .unwrap();
    assert!(!format!("{got:?}").contains(SECRET));
    assert_eq!(
        got.credentials.get("access_token").unwrap().expose_secret(),
        SECRET
    );
}

#[test]
fn keys_never_show_in_debug() {
    let key = CredentialKey::from_bytes([0xAB; 32]);
    let debug = format!("{key:?}");
    assert_eq!(debug, "CredentialKey([REDACTED])");
}
