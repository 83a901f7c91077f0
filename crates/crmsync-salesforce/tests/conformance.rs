//! The provider conformance suite against the Salesforce simulator.

use std::time::Duration;

use crmsync_core::{
    Fields, ObjectKind,
    testkit::provider::{ProviderFixture, run_all},
};
use crmsync_http::{BucketLimit, RetryPolicy};
use crmsync_salesforce::{SalesforceConfig, SalesforceProvider};
use crmsync_sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use serde_json::{Value, json};

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn contact(i: usize) -> Fields {
    fields(&[
        ("FirstName", json!(format!("Ada{i}"))),
        ("LastName", json!("Lovelace")),
        ("Email", json!(format!("ada.{i}@conformance.example"))),
        ("Title", json!(format!("Analyst {i}"))),
    ])
}

/// Salesforce refuses a contact without a last name (`REQUIRED_FIELD_MISSING`).
fn contact_without_last_name() -> Fields {
    fields(&[("FirstName", json!("Nameless"))])
}

fn account(i: usize) -> Fields {
    fields(&[
        ("Name", json!(format!("Conformance {i} Ltd"))),
        ("BillingCity", json!(format!("City {i}"))),
    ])
}

/// An unknown field makes Salesforce reject the whole call (`INVALID_FIELD`); the
/// provider must isolate it.
fn account_with_unknown_field() -> Fields {
    fields(&[("Name", json!("Bad")), ("No_Such_Field__c", json!("x"))])
}

fn tune(config: SalesforceConfig, connection: &str) -> SalesforceConfig {
    let mut config = config.scope("conformance", connection);
    config.retry = RetryPolicy::fast();
    config.request_rate = BucketLimit::new("default", 1_000, Duration::from_secs(1));
    config.bulk_poll_interval = Duration::from_millis(5);
    config
}

fn sim_config() -> SalesforceSimConfig {
    SalesforceSimConfig {
        contacts: 120,
        accounts: 30,
        leads: 10,
        opportunities: 10,
        seed: 7,
        ..SalesforceSimConfig::default()
    }
}

#[tokio::test]
async fn salesforce_contacts_conform_with_the_refresh_token_flow() {
    let sim = SalesforceSim::start(sim_config()).await.expect("sim");
    let config = SalesforceConfig::refresh_token(
        sim.login_url(),
        sim.client_id(),
        sim.client_secret(),
        sim.refresh_token(),
    );
    let salesforce = SalesforceProvider::new(tune(config, "refresh")).expect("provider");
    run_all(
        &salesforce,
        &ProviderFixture {
            object: ObjectKind::Contact,
            new_record: contact,
            edit_field: "Title".into(),
            email_field: Some("Email".into()),
            invalid_record: Some(contact_without_last_name),
            fields: vec![
                "FirstName".into(),
                "LastName".into(),
                "Email".into(),
                "Title".into(),
            ],
        },
    )
    .await;
}

#[tokio::test]
async fn salesforce_accounts_conform_with_the_jwt_bearer_flow() {
    let sim = SalesforceSim::start(sim_config()).await.expect("sim");
    let config = SalesforceConfig::jwt_bearer(
        sim.login_url(),
        sim.client_id(),
        sim.username(),
        sim.jwt_private_key_pem(),
    );
    let salesforce = SalesforceProvider::new(tune(config, "jwt")).expect("provider");
    run_all(
        &salesforce,
        &ProviderFixture {
            object: ObjectKind::Company,
            new_record: account,
            edit_field: "BillingCity".into(),
            email_field: None,
            invalid_record: Some(account_with_unknown_field),
            fields: vec!["Name".into(), "BillingCity".into()],
        },
    )
    .await;
}
