//! Two CRMs kept in step with each other through the canonical model: the local side
//! is a CRM seen through its mapping (`MappedProvider`).

use std::{collections::BTreeSet, sync::Arc};

use crmsync::{
    core::{CrmProviderDyn, ObjectKind, RunStatus, SyncJob, SyncMode, SyncStore, TenantId},
    engine::{Binding, ConflictPolicy, Engine, MappedProvider},
    http::RetryPolicy,
    hubspot::{HubSpotConfig, HubSpotProvider},
    sim::hubspot::{HubSpotSim, HubSpotSimConfig},
    store::{CredentialKey, SqliteStore},
    transform::DeclarativeMapper,
};

async fn hubspot(sim: &HubSpotSim, name: &str) -> HubSpotProvider {
    let mut config =
        HubSpotConfig::private_app(sim.base_url(), sim.private_app_token()).scope("t", name);
    config.rate_limit_10s = 5_000;
    config.search_per_second = 200;
    config.retry = RetryPolicy::fast();
    HubSpotProvider::new(config).expect("provider")
}

fn sim_config(contacts: usize, seed: u64, first_id: u64) -> HubSpotSimConfig {
    HubSpotSimConfig {
        contacts,
        companies: 0,
        deals: 0,
        seed,
        first_id,
        rate_limit_10s: 5_000,
        search_rate_per_s: 200,
        ..HubSpotSimConfig::default()
    }
}

fn emails(sim: &HubSpotSim) -> BTreeSet<String> {
    sim.records("contacts")
        .iter()
        .filter_map(|r| r.properties.get("email").map(|e| e.to_lowercase()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubspot_portals_converge_both_ways() {
    let a = HubSpotSim::start(sim_config(120, 11, 1))
        .await
        .expect("sim a");
    let b = HubSpotSim::start(sim_config(80, 22, 500_000))
        .await
        .expect("sim b");
    let store: Arc<dyn SyncStore> = Arc::new(
        SqliteStore::in_memory(CredentialKey::from_bytes([3; 32]))
            .await
            .expect("store"),
    );
    let tenant = TenantId::new("t");
    let mapper = Arc::new(DeclarativeMapper::hubspot_defaults());
    let local: Arc<dyn CrmProviderDyn> = Arc::new(MappedProvider::new(
        Arc::new(hubspot(&a, "portal-a").await),
        mapper.clone(),
        tenant.clone(),
        "a-to-b".into(),
    ));
    let remote: Arc<dyn CrmProviderDyn> = Arc::new(hubspot(&b, "portal-b").await);
    let engine = Engine::new(store);
    engine.bind(
        tenant.clone(),
        "a-to-b".into(),
        Binding::new(local, remote, mapper, ConflictPolicy::default()),
    );

    let job = || SyncJob::new(tenant.clone(), "a-to-b".into(), ObjectKind::Contact);
    let first = engine.run(job().mode(SyncMode::Full)).await.expect("runs");
    assert_eq!(first.status, RunStatus::Success, "{:?}", first.error);
    assert_eq!(
        first.counts.created_local, 80,
        "B's contacts created in A: {:?}",
        first.counts
    );
    assert_eq!(
        first.counts.created_remote, 120,
        "A's contacts created in B: {:?}",
        first.counts
    );
    assert_eq!(emails(&a), emails(&b), "both portals hold the same people");
    assert_eq!(a.records("contacts").len(), 200);

    // An edit in each portal crosses over; nothing else is written.
    let in_a = a.records("contacts")[5].clone();
    a.edit("contacts", &in_a.id, &[("jobtitle", "Edited in A")]);
    let in_b = b.records("contacts")[7].clone();
    b.edit("contacts", &in_b.id, &[("city", "Edited in B")]);
    let second = engine.run(job()).await.expect("runs");
    assert_eq!(second.status, RunStatus::Success, "{:?}", second.error);
    assert_eq!(
        (second.counts.updated_local, second.counts.updated_remote),
        (1, 1),
        "{:?}",
        second.counts
    );
    let email = in_a.properties["email"].to_lowercase();
    let twin = b
        .records("contacts")
        .into_iter()
        .find(|r| r.properties.get("email").map(|e| e.to_lowercase()) == Some(email.clone()))
        .expect("twin in B");
    assert_eq!(twin.properties["jobtitle"], "Edited in A");

    let quiet = engine.run(job()).await.expect("runs");
    let c = &quiet.counts;
    assert_eq!(
        c.created_local + c.created_remote + c.updated_local + c.updated_remote,
        0,
        "{c:?}"
    );
}
