//! The provider conformance suite against the Dataverse simulator.

use std::time::Duration;

use crmsync_core::{
    Fields, ObjectKind,
    testkit::provider::{ProviderFixture, run_all},
};
use crmsync_dynamics::{DynamicsConfig, DynamicsProvider};
use crmsync_http::{BucketLimit, RetryPolicy};
use crmsync_sim::dynamics::{DynamicsSim, DynamicsSimConfig};
use serde_json::{Value, json};

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn contact(i: usize) -> Fields {
    fields(&[
        ("firstname", json!(format!("Ada{i}"))),
        ("lastname", json!("Lovelace")),
        (
            "emailaddress1",
            json!(format!("ada.{i}@conformance.example")),
        ),
        ("jobtitle", json!(format!("Analyst {i}"))),
    ])
}

/// Dataverse refuses a first name over 50 characters (`0x80044331`).
fn contact_with_a_too_long_name() -> Fields {
    fields(&[
        ("firstname", json!("x".repeat(51))),
        ("lastname", json!("Long")),
    ])
}

fn account(i: usize) -> Fields {
    fields(&[
        ("name", json!(format!("Conformance {i} Ltd"))),
        ("address1_city", json!(format!("City {i}"))),
    ])
}

/// A column the table does not have (`0x80060888`).
fn account_with_unknown_column() -> Fields {
    fields(&[("name", json!("Bad")), ("new_nosuchcolumn", json!("x"))])
}

fn project(i: usize) -> Fields {
    fields(&[
        ("crmsync_name", json!(format!("Project {i}"))),
        ("crmsync_code", json!(format!("P-{i}"))),
    ])
}

async fn provider(sim: &DynamicsSim, connection: &str) -> DynamicsProvider {
    let mut config = DynamicsConfig::client_credentials(
        sim.org_url(),
        sim.authority(),
        sim.tenant_id(),
        sim.client_id(),
        sim.client_secret(),
    )
    .scope("conformance", connection);
    config.retry = RetryPolicy::fast();
    config.request_rate = BucketLimit::new("default", 1_000, Duration::from_secs(1));
    DynamicsProvider::new(config).expect("provider")
}

fn sim_config() -> DynamicsSimConfig {
    DynamicsSimConfig {
        contacts: 120,
        accounts: 30,
        leads: 10,
        opportunities: 10,
        seed: 7,
        ..DynamicsSimConfig::default()
    }
}

#[tokio::test]
async fn dynamics_contacts_conform() {
    let sim = DynamicsSim::start(sim_config()).await.expect("sim");
    let dynamics = provider(&sim, "contacts").await;
    run_all(
        &dynamics,
        &ProviderFixture {
            object: ObjectKind::Contact,
            new_record: contact,
            edit_field: "jobtitle".into(),
            email_field: Some("emailaddress1".into()),
            invalid_record: Some(contact_with_a_too_long_name),
            fields: vec![
                "firstname".into(),
                "lastname".into(),
                "emailaddress1".into(),
                "jobtitle".into(),
            ],
        },
    )
    .await;
}

#[tokio::test]
async fn dynamics_accounts_conform() {
    let sim = DynamicsSim::start(sim_config()).await.expect("sim");
    let dynamics = provider(&sim, "accounts").await;
    run_all(
        &dynamics,
        &ProviderFixture {
            object: ObjectKind::Company,
            new_record: account,
            edit_field: "address1_city".into(),
            email_field: None,
            invalid_record: Some(account_with_unknown_column),
            fields: vec!["name".into(), "address1_city".into()],
        },
    )
    .await;
}

#[tokio::test]
async fn dynamics_custom_tables_conform_by_entity_set_name() {
    let sim = DynamicsSim::start(sim_config()).await.expect("sim");
    let dynamics = provider(&sim, "custom").await;
    run_all(
        &dynamics,
        &ProviderFixture {
            object: ObjectKind::Custom("crmsync_projects".into()),
            new_record: project,
            edit_field: "crmsync_code".into(),
            email_field: None,
            invalid_record: None,
            fields: vec!["crmsync_name".into(), "crmsync_code".into()],
        },
    )
    .await;
}
