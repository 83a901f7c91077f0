//! The provider conformance suite against the HubSpot simulator.

use std::collections::BTreeMap;

use crmsync_core::{
    Fields, ObjectKind,
    testkit::provider::{ProviderFixture, run_all},
};
use crmsync_http::RetryPolicy;
use crmsync_hubspot::{HubSpotConfig, HubSpotProvider};
use crmsync_sim::hubspot::{HubSpotSim, HubSpotSimConfig};
use serde_json::Value;

fn contact(i: usize) -> Fields {
    let mut f = BTreeMap::new();
    f.insert("firstname".into(), Value::String(format!("Ada{i}")));
    f.insert("lastname".into(), Value::String("Lovelace".into()));
    f.insert(
        "email".into(),
        Value::String(format!("ada.{i}@conformance.example")),
    );
    f.insert("jobtitle".into(), Value::String(format!("Analyst {i}")));
    f
}

fn company(i: usize) -> Fields {
    let mut f = BTreeMap::new();
    f.insert("name".into(), Value::String(format!("Conformance {i} Ltd")));
    f.insert("city".into(), Value::String(format!("City {i}")));
    f
}

fn bogus() -> Fields {
    let mut f = BTreeMap::new();
    f.insert("name".into(), Value::String("Bad".into()));
    f.insert("no_such_property".into(), Value::String("x".into()));
    f
}

async fn provider(sim: &HubSpotSim, oauth: bool) -> HubSpotProvider {
    let mut config = if oauth {
        HubSpotConfig::oauth(
            sim.base_url(),
            sim.client_id(),
            sim.client_secret(),
            sim.refresh_token(),
        )
    } else {
        HubSpotConfig::private_app(sim.base_url(), sim.private_app_token())
    }
    .scope("conformance", if oauth { "oauth" } else { "pat" });
    config.rate_limit_10s = 1_000;
    config.search_per_second = 100;
    config.retry = RetryPolicy::fast();
    HubSpotProvider::new(config).expect("provider")
}

fn sim_config() -> HubSpotSimConfig {
    HubSpotSimConfig {
        contacts: 120,
        companies: 30,
        deals: 10,
        rate_limit_10s: 1_000,
        search_rate_per_s: 100,
        ..HubSpotSimConfig::default()
    }
}

#[tokio::test]
async fn hubspot_contacts_conform() {
    let sim = HubSpotSim::start(sim_config()).await.expect("sim");
    let hubspot = provider(&sim, true).await;
    run_all(
        &hubspot,
        &ProviderFixture {
            object: ObjectKind::Contact,
            new_record: contact,
            edit_field: "jobtitle".into(),
            email_field: Some("email".into()),
            invalid_record: None,
            fields: vec![
                "firstname".into(),
                "lastname".into(),
                "email".into(),
                "jobtitle".into(),
            ],
        },
    )
    .await;
}

#[tokio::test]
async fn hubspot_companies_conform_with_a_private_app_token() {
    let sim = HubSpotSim::start(sim_config()).await.expect("sim");
    let hubspot = provider(&sim, false).await;
    run_all(
        &hubspot,
        &ProviderFixture {
            object: ObjectKind::Company,
            new_record: company,
            edit_field: "city".into(),
            email_field: None,
            invalid_record: Some(bogus),
            fields: vec!["name".into(), "city".into()],
        },
    )
    .await;
}
