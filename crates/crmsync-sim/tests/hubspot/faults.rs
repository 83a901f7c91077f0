//! Fault injection.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::common::*;

#[tokio::test]
async fn injected_faults_break_responses_as_scheduled() -> TestResult {
    let sim = sim(5, 0, 0).await?;
    let client = Client::new();

    sim.faults().malformed_bodies(1);
    let response = get(&client, &sim, "/crm/v3/objects/contacts").await?;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await?;
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "body must be invalid JSON: {text}"
    );
    let (status, _) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(status, StatusCode::OK);

    sim.faults().server_errors(2);
    let (first, body) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_hubspot_error(&body, "INTERNAL_ERROR");
    let (second, _) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(
        (first, second),
        (StatusCode::BAD_GATEWAY, StatusCode::SERVICE_UNAVAILABLE)
    );

    sim.faults().connection_resets(1);
    assert!(
        get(&client, &sim, "/crm/v3/objects/contacts")
            .await
            .is_err(),
        "the connection is dropped"
    );
    assert_eq!(
        get(&client, &sim, "/crm/v3/objects/contacts")
            .await?
            .status(),
        StatusCode::OK
    );

    sim.faults().slow_responses(1, Duration::from_millis(300));
    let started = std::time::Instant::now();
    get(&client, &sim, "/crm/v3/objects/contacts").await?;
    assert!(started.elapsed() >= Duration::from_millis(300));

    let stats = sim.stats();
    assert_eq!(stats.errors_5xx, 2);
    assert_eq!(stats.connection_resets, 1);
    sim.faults().clear();
    sim.reset_stats();
    assert_eq!(sim.stats().requests, 0);

    // Shutdown does not wait for the client's idle keep-alive connection.
    let base = sim.base_url();
    let started = std::time::Instant::now();
    sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        client
            .get(format!("{base}/crm/v3/objects/contacts"))
            .send()
            .await
            .is_err()
    );
    Ok(())
}
