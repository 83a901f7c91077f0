//! CRM to CRM: HubSpot contacts ⇄ Salesforce contacts through the canonical model, both
//! on simulators. Both sides of a sync are `CrmProvider`s; HubSpot is seen through its
//! mapping (`MappedProvider`) as the "application" side.
//!
//! Run it with `cargo run --example hubspot_to_salesforce`.

use std::{collections::BTreeSet, sync::Arc};

use anyhow::{Context, bail};
use crmsync::{
    core::{
        ConflictStrategy, CrmProviderDyn, ObjectKind, SyncJob, SyncMode, SyncReport, SyncStore,
        TenantId,
    },
    engine::{Binding, ConflictPolicy, Engine, MappedProvider},
    hubspot::{HubSpotConfig, HubSpotProvider},
    salesforce::{SalesforceConfig, SalesforceProvider},
    sim::{
        hubspot::{HubSpotSim, HubSpotSimConfig},
        salesforce::{SalesforceSim, SalesforceSimConfig},
    },
    store::{CredentialKey, SqliteStore},
    transform::DeclarativeMapper,
};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let hubspot_sim = HubSpotSim::start(HubSpotSimConfig {
        contacts: 500,
        companies: 0,
        deals: 0,
        seed: 3,
        ..HubSpotSimConfig::default()
    })
    .await?;
    let salesforce_sim = SalesforceSim::start(SalesforceSimConfig {
        contacts: 300,
        leads: 0,
        accounts: 0,
        opportunities: 0,
        seed: 4,
        ..SalesforceSimConfig::default()
    })
    .await?;

    let store: Arc<dyn SyncStore> =
        Arc::new(SqliteStore::in_memory(CredentialKey::generate()?).await?);
    let tenant = TenantId::new("acme");
    let connection = "hubspot-to-salesforce";

    let hubspot = HubSpotProvider::new(
        HubSpotConfig::private_app(hubspot_sim.base_url(), hubspot_sim.private_app_token())
            .scope(tenant.as_str(), "hubspot"),
    )?;
    let salesforce = SalesforceProvider::new(
        SalesforceConfig::refresh_token(
            salesforce_sim.login_url(),
            salesforce_sim.client_id(),
            salesforce_sim.client_secret(),
            salesforce_sim.refresh_token(),
        )
        .scope(tenant.as_str(), "salesforce"),
    )?;
    let hubspot_side: Arc<dyn CrmProviderDyn> = Arc::new(MappedProvider::new(
        Arc::new(hubspot),
        Arc::new(DeclarativeMapper::hubspot_defaults()),
        tenant.clone(),
        connection.into(),
    ));
    let salesforce_side: Arc<dyn CrmProviderDyn> = Arc::new(salesforce);
    let engine = Engine::new(store);
    engine.bind(
        tenant.clone(),
        connection.into(),
        Binding::new(
            hubspot_side,
            salesforce_side,
            Arc::new(DeclarativeMapper::salesforce_defaults()),
            ConflictPolicy::new(ConflictStrategy::LastWriteWins),
        ),
    );
    let job = || SyncJob::new(tenant.clone(), connection.into(), ObjectKind::Contact);

    println!(
        "HubSpot ({} contacts) ⇄ Salesforce ({} contacts)",
        hubspot_sim.records("contacts").len(),
        salesforce_sim.records("Contact").len()
    );
    let first = engine.run(job().mode(SyncMode::Full)).await?;
    print_report("1. full sync, both ways", &first);

    let hs = hubspot_sim
        .records("contacts")
        .into_iter()
        .find(|r| r.properties.contains_key("email"))
        .context("a HubSpot contact with an email")?;
    hubspot_sim.edit("contacts", &hs.id, &[("jobtitle", "Chief Edited Officer")]);
    let sf = salesforce_sim.records("Contact")[20].clone();
    salesforce_sim.edit("Contact", &sf.id, &[("MailingCity", json!("Reykjavik"))]);
    let second = engine.run(job()).await?;
    print_report("2. incremental, after an edit in each CRM", &second);
    let third = engine.run(job()).await?;
    print_report("3. incremental, nothing changed", &third);

    let hubspot_emails: BTreeSet<String> = hubspot_sim
        .records("contacts")
        .iter()
        .filter_map(|r| r.properties.get("email").map(|e| e.to_lowercase()))
        .collect();
    let salesforce_emails: BTreeSet<String> = salesforce_sim
        .records("Contact")
        .iter()
        .filter_map(|r| {
            r.fields
                .get("Email")
                .and_then(|e| e.as_str())
                .map(str::to_lowercase)
        })
        .collect();
    println!(
        "\nHubSpot {} contacts, Salesforce {} contacts: {}",
        hubspot_emails.len(),
        salesforce_emails.len(),
        if hubspot_emails == salesforce_emails {
            "the same people"
        } else {
            "DIFFERENT"
        }
    );
    if hubspot_emails != salesforce_emails {
        bail!("the two CRMs differ");
    }
    let edited = salesforce_emails.contains(
        &hs.properties
            .get("email")
            .map(|e| e.to_lowercase())
            .context("email")?,
    );
    println!(
        "{}",
        json!({
            "example": "hubspot_to_salesforce",
            "contacts": hubspot_emails.len(),
            "full": first.counts,
            "incremental": second.counts,
            "quiet": third.counts,
            "edit_crossed": edited,
        })
    );
    Ok(())
}

fn print_report(title: &str, r: &SyncReport) {
    let c = &r.counts;
    println!(
        "{title}: {} — created in HubSpot {}, in Salesforce {}; updated in HubSpot {}, in Salesforce {}; unchanged {}; dead letters {}; API calls {}; {:.2} s",
        r.status.as_str(),
        c.created_local,
        c.created_remote,
        c.updated_local,
        c.updated_remote,
        c.unchanged,
        c.dead_letters,
        c.api_calls,
        r.duration.as_secs_f64()
    );
}
