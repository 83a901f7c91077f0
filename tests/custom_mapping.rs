//! A tenant's own mapping — the provider defaults plus an overlay with a custom
//! HubSpot property and a custom Salesforce `__c` field — syncs both ways through the
//! engine on the simulators.

use std::sync::Arc;

use crmsync::{
    core::{CrmProviderDyn, ObjectKind, RunStatus, SyncJob, SyncMode, SyncStore, TenantId},
    engine::{Binding, ConflictPolicy, Engine},
    http::RetryPolicy,
    hubspot::{HubSpotConfig, HubSpotProvider},
    salesforce::{SalesforceConfig, SalesforceProvider},
    sim::{
        hubspot::{HubSpotSim, HubSpotSimConfig},
        salesforce::{SalesforceSim, SalesforceSimConfig},
    },
    store::{CredentialKey, MirrorProvider, SqliteStore},
    transform::{DeclarativeMapper, MappingConfig, MappingOverlay},
};
use serde_json::json;

const HUBSPOT_OVERLAY: &str = r#"
# Acme's loyalty tier lives in a custom HubSpot property.
[[objects.contact.fields]]
local = "loyalty"
remote = "customer_tier"
[objects.contact.fields.transform]
name = "picklist_map"
map = { GOLD = "gold", SILVER = "silver", BRONZE = "bronze" }
"#;

const SALESFORCE_OVERLAY: &str = r#"
# Acme keeps its billing system's id in a custom Salesforce field.
[[objects.contact.fields]]
local = "legacy_ref"
remote = "Legacy_Id__c"
transform = "trim"
"#;

async fn engine_with(
    store: Arc<dyn SyncStore>,
    tenant: &TenantId,
    crm: Arc<dyn CrmProviderDyn>,
    mapper: DeclarativeMapper,
) -> Engine {
    let engine = Engine::new(store.clone());
    let app: Arc<dyn CrmProviderDyn> = Arc::new(MirrorProvider::new(store, tenant.clone()));
    engine.bind(
        tenant.clone(),
        "crm".into(),
        Binding::new(app, crm, Arc::new(mapper), ConflictPolicy::default()),
    );
    engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_hubspot_property_syncs_both_ways() {
    let sim = HubSpotSim::start(HubSpotSimConfig {
        contacts: 40,
        companies: 0,
        deals: 0,
        rate_limit_10s: 2_000,
        search_rate_per_s: 100,
        ..HubSpotSimConfig::default()
    })
    .await
    .expect("sim");
    let store: Arc<dyn SyncStore> = Arc::new(
        SqliteStore::in_memory(CredentialKey::from_bytes([4; 32]))
            .await
            .expect("store"),
    );
    let tenant = TenantId::new("acme");
    let overlay = MappingOverlay::from_toml_str(HUBSPOT_OVERLAY).expect("overlay parses");
    let config = MappingConfig::hubspot_defaults()
        .overlay(&overlay)
        .expect("overlay applies");
    let mapper = DeclarativeMapper::new(config).expect("compiles");
    let mut hs = HubSpotConfig::private_app(sim.base_url(), sim.private_app_token())
        .scope("acme", "custom-hs");
    hs.rate_limit_10s = 2_000;
    hs.search_per_second = 100;
    hs.retry = RetryPolicy::fast();
    let crm: Arc<dyn CrmProviderDyn> = Arc::new(HubSpotProvider::new(hs).expect("provider"));
    let engine = engine_with(store.clone(), &tenant, crm, mapper).await;
    let job = || SyncJob::new(tenant.clone(), "crm".into(), ObjectKind::Contact);

    let contact = sim.records("contacts")[0].clone();
    sim.edit("contacts", &contact.id, &[("customer_tier", "silver")]);
    let first = engine.run(job().mode(SyncMode::Full)).await.expect("runs");
    assert_eq!(first.status, RunStatus::Success, "{:?}", first.error);
    let key = crmsync::core::LinkKey {
        connection: "crm".into(),
        object: ObjectKind::Contact,
    };
    let link = store
        .links_by_remote(&tenant, &key, &[contact.id.as_str().into()])
        .await
        .expect("links")
        .pop()
        .expect("linked");
    let row = store
        .mirror_get(
            &tenant,
            &ObjectKind::Contact,
            std::slice::from_ref(&link.local_id),
        )
        .await
        .expect("row");
    assert_eq!(
        row[0].fields["loyalty"],
        json!("SILVER"),
        "inbound through the picklist"
    );

    // The application upgrades the customer; HubSpot's custom property follows.
    store
        .mirror_write(
            &tenant,
            &ObjectKind::Contact,
            vec![crmsync::core::MirrorWrite {
                id: Some(link.local_id.clone()),
                fields: serde_json::from_value(json!({"loyalty": "GOLD"})).expect("patch"),
                idempotency_key: None,
            }],
        )
        .await
        .expect("write");
    let second = engine.run(job()).await.expect("runs");
    assert_eq!(second.status, RunStatus::Success, "{:?}", second.error);
    assert_eq!(second.counts.updated_remote, 1, "{:?}", second.counts);
    assert_eq!(
        sim.get("contacts", &contact.id).expect("remote").properties["customer_tier"],
        "gold"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_salesforce_field_syncs_both_ways() {
    let sim = SalesforceSim::start(SalesforceSimConfig {
        contacts: 30,
        leads: 0,
        accounts: 0,
        opportunities: 0,
        ..SalesforceSimConfig::default()
    })
    .await
    .expect("sim");
    let store: Arc<dyn SyncStore> = Arc::new(
        SqliteStore::in_memory(CredentialKey::from_bytes([5; 32]))
            .await
            .expect("store"),
    );
    let tenant = TenantId::new("acme");
    let overlay = MappingOverlay::from_toml_str(SALESFORCE_OVERLAY).expect("overlay parses");
    let config = MappingConfig::salesforce_defaults()
        .overlay(&overlay)
        .expect("overlay applies");
    let mapper = DeclarativeMapper::new(config).expect("compiles");
    let mut sf = SalesforceConfig::refresh_token(
        sim.login_url(),
        sim.client_id(),
        sim.client_secret(),
        sim.refresh_token(),
    )
    .scope("acme", "custom-sf");
    sf.retry = RetryPolicy::fast();
    let crm: Arc<dyn CrmProviderDyn> = Arc::new(SalesforceProvider::new(sf).expect("provider"));
    let engine = engine_with(store.clone(), &tenant, crm, mapper).await;
    let job = || SyncJob::new(tenant.clone(), "crm".into(), ObjectKind::Contact);

    let contact = sim.records("Contact")[0].clone();
    sim.edit(
        "Contact",
        &contact.id,
        &[("Legacy_Id__c", json!("  INV-0042 "))],
    );
    let first = engine.run(job().mode(SyncMode::Full)).await.expect("runs");
    assert_eq!(first.status, RunStatus::Success, "{:?}", first.error);
    let key = crmsync::core::LinkKey {
        connection: "crm".into(),
        object: ObjectKind::Contact,
    };
    let link = store
        .links_by_remote(&tenant, &key, &[contact.id.as_str().into()])
        .await
        .expect("links")
        .pop()
        .expect("linked");
    let row = store
        .mirror_get(
            &tenant,
            &ObjectKind::Contact,
            std::slice::from_ref(&link.local_id),
        )
        .await
        .expect("row");
    assert_eq!(
        row[0].fields["legacy_ref"],
        json!("INV-0042"),
        "inbound, trimmed"
    );

    store
        .mirror_write(
            &tenant,
            &ObjectKind::Contact,
            vec![crmsync::core::MirrorWrite {
                id: Some(link.local_id.clone()),
                fields: serde_json::from_value(json!({"legacy_ref": "INV-0043"})).expect("patch"),
                idempotency_key: None,
            }],
        )
        .await
        .expect("write");
    let second = engine.run(job()).await.expect("runs");
    assert_eq!(second.status, RunStatus::Success, "{:?}", second.error);
    assert_eq!(second.counts.updated_remote, 1, "{:?}", second.counts);
    assert_eq!(
        sim.get("Contact", &contact.id).expect("remote").fields["Legacy_Id__c"],
        json!("INV-0043")
    );
}
