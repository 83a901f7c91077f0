//! Helpers shared by the Salesforce simulator tests.

use crmsync_sim::{SalesforceSim, SalesforceSimConfig};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A small org: `contacts` contacts, a few accounts, leads and opportunities.
pub async fn sim(contacts: usize) -> std::io::Result<SalesforceSim> {
    SalesforceSim::start(SalesforceSimConfig {
        contacts,
        accounts: 10,
        leads: 10,
        opportunities: 10,
        seed: 42,
        ..Default::default()
    })
    .await
}

/// `{instance_url}/services/data/v62.0{path}`.
pub fn url(sim: &SalesforceSim, path: &str) -> String {
    format!(
        "{}/services/data/v{}{path}",
        sim.instance_url(),
        sim.api_version()
    )
}

pub fn request(client: &Client, sim: &SalesforceSim, method: Method, path: &str) -> RequestBuilder {
    client
        .request(method, url(sim, path))
        .bearer_auth(sim.access_token())
}

pub async fn get(client: &Client, sim: &SalesforceSim, path: &str) -> reqwest::Result<Response> {
    request(client, sim, Method::GET, path).send().await
}

pub async fn send_json(
    client: &Client,
    sim: &SalesforceSim,
    method: Method,
    path: &str,
    body: &Value,
) -> reqwest::Result<Response> {
    request(client, sim, method, path).json(body).send().await
}

/// `GET query?q=` with the SOQL URL-encoded.
pub async fn query(
    client: &Client,
    sim: &SalesforceSim,
    soql: &str,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let response = request(client, sim, Method::GET, "/query")
        .query(&[("q", soql)])
        .send()
        .await?;
    json_of(response).await
}

pub async fn json_of(
    response: Response,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let status = response.status();
    let text = response.text().await?;
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?
    };
    Ok((status, value))
}

/// Asserts Salesforce's error array with `code` as the first error.
pub fn assert_sf_error(body: &Value, code: &str) {
    let first = &body[0];
    assert!(body.is_array(), "errors are an array: {body}");
    assert_eq!(first["errorCode"], code, "{body}");
    assert!(
        first["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// The `Id`s of a query page's records.
pub fn record_ids(page: &Value) -> Vec<String> {
    page["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["Id"].as_str().map(str::to_string))
        .collect()
}
