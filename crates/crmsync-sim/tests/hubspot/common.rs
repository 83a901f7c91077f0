//! Helpers shared by the HubSpot simulator tests.

use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A simulator without rate limits unless a test asks for them.
pub async fn sim(contacts: usize, companies: usize, deals: usize) -> std::io::Result<HubSpotSim> {
    HubSpotSim::start(HubSpotSimConfig {
        contacts,
        companies,
        deals,
        seed: 42,
        rate_limit_10s: 0,
        search_rate_per_s: 0,
        ..Default::default()
    })
    .await
}

pub async fn get(client: &Client, sim: &HubSpotSim, path: &str) -> reqwest::Result<Response> {
    client
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(sim.access_token())
        .send()
        .await
}

pub async fn post(
    client: &Client,
    sim: &HubSpotSim,
    path: &str,
    body: &Value,
) -> reqwest::Result<Response> {
    client
        .post(format!("{}{path}", sim.base_url()))
        .bearer_auth(sim.access_token())
        .json(body)
        .send()
        .await
}

pub async fn json_of(
    response: Response,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let status = response.status();
    let text = response.text().await?;
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)?
    };
    Ok((status, value))
}

pub fn ids(results: &Value) -> Vec<String> {
    results
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

pub fn assert_hubspot_error(body: &Value, category: &str) {
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["category"], category, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(
        body["correlationId"].as_str().map(str::len),
        Some(36),
        "{body}"
    );
}
