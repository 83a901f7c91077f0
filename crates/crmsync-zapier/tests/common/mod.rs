//! A test application: a store with the mirror, the Zapier routes served on a local
//! port, a deliverer, and the Zapier simulator playing Zapier.
#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use crmsync_core::{
    CrmProviderDyn, Fields, MirrorWrite, ObjectKind, RecordId, SyncStore, TenantId,
};
use crmsync_http::RetryPolicy;
use crmsync_sim::{ZapierSim, ZapierSimConfig};
use crmsync_store::{CredentialKey, MemoryStore, MirrorProvider};
use crmsync_zapier::{
    ApiKeys, Deliverer, DeliveryConfig, DeliveryReport, MemorySubscriptions, SubscriptionStore,
    ZapierLimits, ZapierState,
};
use serde_json::Value;

pub const KEY: &str = "zk_test_0123456789abcdef";
pub const OTHER_KEY: &str = "zk_test_other_tenant_key";

pub struct App {
    pub base_url: String,
    pub store: Arc<dyn SyncStore>,
    pub tenant: TenantId,
    pub subscriptions: Arc<dyn SubscriptionStore>,
    pub deliverer: Deliverer,
    pub mirror: Arc<MirrorProvider>,
    pub zapier: ZapierSim,
    pub http: reqwest::Client,
}

/// Delivery settings for tests: fast retries, Zapier's real limits.
pub fn fast_delivery() -> DeliveryConfig {
    DeliveryConfig {
        retry: RetryPolicy::fast(),
        timeout: Duration::from_secs(5),
        ..DeliveryConfig::default()
    }
}

pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

pub fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

impl App {
    pub async fn start(sim: ZapierSimConfig, delivery: DeliveryConfig) -> App {
        let store: Arc<dyn SyncStore> =
            Arc::new(MemoryStore::new(CredentialKey::from_bytes([5; 32])));
        let tenant = TenantId::new(format!(
            "tenant-{}",
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let keys = ApiKeys::new()
            .with_key(tenant.clone(), KEY)
            .with_key(TenantId::new("other-tenant"), OTHER_KEY);
        let subscriptions: Arc<dyn SubscriptionStore> = Arc::new(MemorySubscriptions::new());
        let deliverer = Deliverer::new(store.clone(), subscriptions.clone(), delivery);
        let mirror = Arc::new(MirrorProvider::new(store.clone(), tenant.clone()));
        let records_store = store.clone();
        let state = ZapierState::new(keys, subscriptions.clone())
            .with_recent(deliverer.recent())
            .with_records(move |t: &TenantId| {
                Some(
                    Arc::new(MirrorProvider::new(records_store.clone(), t.clone()))
                        as Arc<dyn CrmProviderDyn>,
                )
            });
        let base_url = serve(crmsync_zapier::router(state)).await;
        let zapier = ZapierSim::start(sim).await.expect("zapier sim");
        App {
            base_url,
            store,
            tenant,
            subscriptions,
            deliverer,
            mirror,
            zapier,
            http: reqwest::Client::new(),
        }
    }

    pub async fn write(&self, id: &str, pairs: &[(&str, &str)]) {
        self.store
            .mirror_write(
                &self.tenant,
                &ObjectKind::Contact,
                vec![MirrorWrite {
                    id: Some(RecordId::new(id)),
                    fields: fields(pairs),
                    idempotency_key: None,
                }],
            )
            .await
            .expect("mirror write");
    }

    pub async fn delete(&self, id: &str) {
        self.store
            .mirror_delete(&self.tenant, &ObjectKind::Contact, &[RecordId::new(id)])
            .await
            .expect("mirror delete");
    }

    /// Delivers the mirror's contact changes.
    pub async fn deliver(&self) -> DeliveryReport {
        self.deliverer
            .deliver_changes(&self.tenant, self.mirror.as_ref(), &ObjectKind::Contact)
            .await
            .expect("delivery")
    }
}

/// `(event, record_id, email)` of what a hook received, in order.
pub fn seen(zapier: &ZapierSim, hook: &str) -> Vec<(String, String, String)> {
    zapier
        .received(hook)
        .into_iter()
        .map(|r| {
            (
                r.body["event"].as_str().unwrap_or_default().to_owned(),
                r.body["record_id"].as_str().unwrap_or_default().to_owned(),
                r.body["data"]["email"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

pub fn unlimited() -> ZapierLimits {
    ZapierLimits::unlimited()
}
