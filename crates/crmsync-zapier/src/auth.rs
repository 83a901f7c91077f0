//! Tenants identified by API key (`X-API-Key`).

use std::{
    collections::HashMap,
    fmt,
    sync::{Arc, RwLock},
};

use aws_lc_rs::digest::{SHA256, digest};
use crmsync_core::TenantId;

/// A SHA-256 digest of an API key.
type KeyHash = [u8; 32];

/// The API keys Zapier authenticates with, each naming one tenant.
///
/// Only SHA-256 digests of the keys are held, and a presented key is found by its
/// digest in a hash map: no comparison ever runs over the secret itself, so response
/// times say nothing about how much of a guess was right (the digest of a guess is
/// unrelated to the digest of the key). Keys should be long random strings; an
/// application that stores only digests registers them with
/// [`ApiKeys::insert_hashed`]. Cheap to clone; clones share the keys.
///
/// ```
/// use crmsync_core::TenantId;
/// use crmsync_zapier::ApiKeys;
///
/// let keys = ApiKeys::new().with_key(TenantId::new("acme"), "zk_live_3f9a…");
/// assert_eq!(keys.tenant("zk_live_3f9a…"), Some(TenantId::new("acme")));
/// assert_eq!(keys.tenant("zk_live_guess"), None);
/// assert!(!format!("{keys:?}").contains("zk_live"));
/// ```
#[derive(Clone, Default)]
pub struct ApiKeys {
    by_hash: Arc<RwLock<HashMap<KeyHash, TenantId>>>,
}

impl ApiKeys {
    /// No keys: every request is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key for a tenant.
    pub fn with_key(self, tenant: TenantId, key: &str) -> Self {
        self.insert(tenant, key);
        self
    }

    /// The digest a key is held under (to store digests instead of keys).
    pub fn hash(key: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest(&SHA256, key.as_bytes()).as_ref());
        out
    }

    /// Adds (or moves) a key.
    pub fn insert(&self, tenant: TenantId, key: &str) {
        if key.is_empty() {
            return;
        }
        self.insert_hashed(tenant, Self::hash(key));
    }

    /// Adds a key by its digest ([`ApiKeys::hash`]).
    pub fn insert_hashed(&self, tenant: TenantId, hash: [u8; 32]) {
        let mut map = self.by_hash.write().unwrap_or_else(|p| p.into_inner());
        map.insert(hash, tenant);
    }

    /// Revokes a key; `false` if it was not known.
    pub fn revoke(&self, key: &str) -> bool {
        let mut map = self.by_hash.write().unwrap_or_else(|p| p.into_inner());
        map.remove(&Self::hash(key)).is_some()
    }

    /// The tenant a presented key belongs to.
    pub fn tenant(&self, key: &str) -> Option<TenantId> {
        if key.is_empty() {
            return None;
        }
        let hash = Self::hash(key);
        let map = self.by_hash.read().unwrap_or_else(|p| p.into_inner());
        map.get(&hash).cloned()
    }
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.by_hash.read().map(|m| m.len()).unwrap_or_default();
        f.debug_struct("ApiKeys").field("keys", &n).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_tenant_and_nothing_else() {
        let keys = ApiKeys::new()
            .with_key(TenantId::new("a"), "key-a")
            .with_key(TenantId::new("b"), "key-b");
        assert_eq!(keys.tenant("key-a"), Some(TenantId::new("a")));
        assert_eq!(keys.tenant("key-b"), Some(TenantId::new("b")));
        assert_eq!(keys.tenant("key-"), None);
        assert_eq!(keys.tenant(""), None);
        assert!(keys.revoke("key-a"));
        assert_eq!(keys.tenant("key-a"), None);
    }

    #[test]
    fn empty_keys_are_never_registered() {
        let keys = ApiKeys::new().with_key(TenantId::new("a"), "");
        assert_eq!(keys.tenant(""), None);
    }

    #[test]
    fn digests_can_be_registered_instead_of_keys() {
        let keys = ApiKeys::new();
        keys.insert_hashed(TenantId::new("a"), ApiKeys::hash("k"));
        assert_eq!(keys.tenant("k"), Some(TenantId::new("a")));
    }
}
