//! REST-hook subscriptions: which target URLs want which events, per tenant.
//!
//! Why a store of its own rather than the [`SyncStore`](crmsync_core::SyncStore): the
//! sync store has no generic keyed table. Its `connections` could hold a subscription
//! (the target URL as an encrypted credential), but every `list_connections` caller
//! (CLI, admin API, scheduler) would then see hook subscriptions as CRM connections,
//! and delivery needs "the live subscriptions of this tenant and object", which
//! connections cannot answer without decrypting all of them. So subscriptions get a
//! small trait of their own, with tenant-scoped methods like every store here.

use std::{collections::BTreeMap, fmt, sync::Mutex};

use chrono::{DateTime, Utc};
use crmsync_core::{BoxFuture, Error, ErrorKind, ObjectKind, Result, TenantId};
use secrecy::SecretString;

use crate::EventKind;

/// Which record changes a subscription wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HookEvent {
    /// New records.
    Created,
    /// Changed records.
    Updated,
    /// Deleted records.
    Deleted,
    /// Any of the three.
    Changed,
}

impl HookEvent {
    /// The stable name (`created`, `updated`, `deleted`, `changed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Changed => "changed",
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "created" | "new" => Some(Self::Created),
            "updated" => Some(Self::Updated),
            "deleted" => Some(Self::Deleted),
            "changed" | "any" | "*" => Some(Self::Changed),
            _ => None,
        }
    }

    /// Whether an event of `kind` is wanted.
    pub fn matches(self, kind: EventKind) -> bool {
        matches!(
            (self, kind),
            (Self::Changed, _)
                | (Self::Created, EventKind::Created)
                | (Self::Updated, EventKind::Updated)
                | (Self::Deleted, EventKind::Deleted)
        )
    }
}

/// One Zap's subscription: deliver `event`s of `object` to `target_url`.
#[derive(Clone)]
pub struct Subscription {
    /// The id returned to Zapier (its `subscribeData.id`).
    pub id: String,
    /// The object.
    pub object: ObjectKind,
    /// The events wanted.
    pub event: HookEvent,
    /// Zapier's `targetUrl`: a credential, never printed.
    pub target_url: SecretString,
    /// When Zapier subscribed.
    pub created_at: DateTime<Utc>,
    /// When the subscription lapses (Zapier resubscribes), if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Subscription {
    /// Whether it has not expired at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("object", &self.object)
            .field("event", &self.event)
            .field("target_url", &"[REDACTED]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Where subscriptions are kept. Every method is scoped by tenant: no call reads or
/// changes another tenant's subscriptions. Object-safe; held as
/// `Arc<dyn SubscriptionStore>`.
pub trait SubscriptionStore: Send + Sync + 'static {
    /// Adds a subscription (an existing id of the tenant is replaced).
    fn insert<'a>(
        &'a self,
        tenant: &'a TenantId,
        subscription: &'a Subscription,
    ) -> BoxFuture<'a, Result<()>>;

    /// Removes a subscription; `false` if the tenant has none with that id.
    fn remove<'a>(&'a self, tenant: &'a TenantId, id: &'a str) -> BoxFuture<'a, Result<bool>>;

    /// One subscription.
    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Subscription>>>;

    /// The tenant's subscriptions to an object (expired ones included), oldest first.
    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
    ) -> BoxFuture<'a, Result<Vec<Subscription>>>;
}

/// Subscriptions in process memory (tests, single-process apps that resubscribe on
/// restart — Zapier does not, so persistent apps want [`SqliteSubscriptions`](crate::SqliteSubscriptions)).
#[derive(Debug, Default)]
pub struct MemorySubscriptions {
    rows: Mutex<BTreeMap<(TenantId, String), Subscription>>,
}

impl MemorySubscriptions {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SubscriptionStore for MemorySubscriptions {
    fn insert<'a>(
        &'a self,
        tenant: &'a TenantId,
        subscription: &'a Subscription,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            if subscription.id.is_empty() {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "a subscription id cannot be empty",
                ));
            }
            let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            rows.insert(
                (tenant.clone(), subscription.id.clone()),
                subscription.clone(),
            );
            Ok(())
        })
    }

    fn remove<'a>(&'a self, tenant: &'a TenantId, id: &'a str) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            Ok(rows.remove(&(tenant.clone(), id.to_owned())).is_some())
        })
    }

    fn get<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Subscription>>> {
        Box::pin(async move {
            let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            Ok(rows.get(&(tenant.clone(), id.to_owned())).cloned())
        })
    }

    fn list<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
    ) -> BoxFuture<'a, Result<Vec<Subscription>>> {
        Box::pin(async move {
            let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
            let mut out: Vec<Subscription> = rows
                .iter()
                .filter(|((t, _), s)| t == tenant && &s.object == object)
                .map(|(_, s)| s.clone())
                .collect();
            out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
            Ok(out)
        })
    }
}

/// The contract every [`SubscriptionStore`] keeps (run by each implementation's tests).
#[cfg(test)]
pub(crate) async fn conformance(store: &dyn SubscriptionStore) {
    use secrecy::ExposeSecret;
    let (a, b) = (TenantId::new("a"), TenantId::new("b"));
    let now = Utc::now();
    let sub = |id: &str, object: ObjectKind, offset: i64| Subscription {
        id: id.to_owned(),
        object,
        event: HookEvent::Created,
        target_url: SecretString::from(format!("https://hooks.example/{id}")),
        created_at: now + chrono::Duration::seconds(offset),
        expires_at: None,
    };
    let ok = |r: Result<()>| r.unwrap_or_else(|e| panic!("{e}"));
    ok(store.insert(&a, &sub("s2", ObjectKind::Contact, 2)).await);
    ok(store.insert(&a, &sub("s1", ObjectKind::Contact, 1)).await);
    ok(store.insert(&a, &sub("s3", ObjectKind::Deal, 3)).await);
    ok(store.insert(&b, &sub("s1", ObjectKind::Contact, 1)).await);
    let listed = store
        .list(&a, &ObjectKind::Contact)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = listed.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["s1", "s2"], "oldest first, one object, one tenant");
    assert_eq!(
        listed[0].target_url.expose_secret(),
        "https://hooks.example/s1"
    );
    assert_eq!(listed[0].event, HookEvent::Created);
    let got = store.get(&a, "s3").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.map(|s| s.object), Some(ObjectKind::Deal));
    assert!(
        store
            .remove(&a, "s1")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert!(
        !store
            .remove(&a, "s1")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert!(
        store
            .get(&b, "s1")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_some(),
        "another tenant's subscription with the same id is untouched"
    );
    assert!(
        store
            .get(&b, "s2")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let mut expiring = sub("s4", ObjectKind::Contact, 4);
    expiring.expires_at = Some(now + chrono::Duration::days(7));
    ok(store.insert(&a, &expiring).await);
    let got = store.get(&a, "s4").await.unwrap_or_else(|e| panic!("{e}"));
    let expires = got.and_then(|s| s.expires_at).map(|t| t.timestamp_micros());
    assert_eq!(expires, expiring.expires_at.map(|t| t.timestamp_micros()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_match_their_kinds() {
        assert!(HookEvent::Changed.matches(EventKind::Deleted));
        assert!(HookEvent::Created.matches(EventKind::Created));
        assert!(!HookEvent::Created.matches(EventKind::Updated));
        for name in ["created", "updated", "deleted", "changed"] {
            assert_eq!(HookEvent::parse(name).map(HookEvent::as_str), Some(name));
        }
        assert_eq!(HookEvent::parse("exploded"), None);
    }

    #[tokio::test]
    async fn memory_subscriptions_conform() {
        conformance(&MemorySubscriptions::new()).await;
    }

    #[test]
    fn debug_hides_the_target_url() {
        let sub = Subscription {
            id: "s".into(),
            object: ObjectKind::Contact,
            event: HookEvent::Changed,
            target_url: SecretString::from("https://hooks.zapier.com/secret-hook".to_owned()),
            created_at: Utc::now(),
            expires_at: None,
        };
        assert!(!format!("{sub:?}").contains("secret-hook"));
    }
}
