//! The daily API limit, `Sforce-Limit-Info`, unknown resources and injected faults.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn usage(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("sforce-limit-info")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

#[tokio::test]
async fn every_rest_answer_reports_usage_until_the_daily_limit() -> TestResult {
    let sim = sim(3).await?;
    let client = Client::new();
    let first = get(&client, &sim, "/sobjects").await?;
    assert_eq!(usage(&first).as_deref(), Some("api-usage=1/100000"));
    let error = get(&client, &sim, "/sobjects/Nope/describe").await?;
    assert_eq!(error.status(), StatusCode::NOT_FOUND);
    assert_eq!(usage(&error).as_deref(), Some("api-usage=2/100000"));
    let unauthorized = client.get(url(&sim, "/limits")).send().await?;
    assert_eq!(unauthorized.status(), StatusCode::UNAUTHORIZED);
    assert!(usage(&unauthorized).is_some());
    let token = client
        .post(sim.token_url())
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await?;
    assert!(
        usage(&token).is_none(),
        "the token endpoint is not the REST API"
    );

    sim.set_daily_limit(10);
    sim.set_api_usage(8);
    let (status, limits) = json_of(get(&client, &sim, "/limits").await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        limits["DailyApiRequests"],
        json!({"Max": 10, "Remaining": 1})
    );
    let last = get(&client, &sim, "/limits").await?;
    assert_eq!(usage(&last).as_deref(), Some("api-usage=10/10"));
    assert_eq!(last.status(), StatusCode::OK);
    let refused = get(&client, &sim, "/limits").await?;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(usage(&refused).as_deref(), Some("api-usage=10/10"));
    let (_, body) = json_of(refused).await?;
    assert_eq!(
        body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    let stats = sim.stats();
    assert_eq!((stats.throttled, stats.api_usage), (1, 10));
    Ok(())
}

#[tokio::test]
async fn unknown_resources_and_methods() -> TestResult {
    let sim = sim(1).await?;
    let client = Client::new();
    for path in ["/nope", "/sobjects/Contact/a/b/c/d"] {
        let (status, body) = json_of(get(&client, &sim, path).await?).await?;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(
            body,
            json!([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])
        );
    }
    let (status, body) = json_of(
        client
            .get(format!("{}/services/data/v30.0/limits", sim.instance_url()))
            .bearer_auth(sim.access_token())
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_sf_error(&body, "NOT_FOUND");
    let old = client
        .get(format!("{}/services/data/v31.0/limits", sim.instance_url()))
        .bearer_auth(sim.access_token())
        .send()
        .await?;
    assert_eq!(old.status(), StatusCode::OK);
    let (status, body) = json_of(
        request(&client, &sim, Method::PUT, "/sobjects/Contact/describe")
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_sf_error(&body, "METHOD_NOT_ALLOWED");
    let (status, versions) = json_of(
        client
            .get(format!("{}/services/data", sim.instance_url()))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert!(
        versions
            .as_array()
            .is_some_and(|v| v.iter().any(|v| v["version"] == "62.0"))
    );
    let (status, body) = json_of(
        client
            .get(format!("{}/elsewhere", sim.instance_url()))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_array());
    // A GET with a body (some clients send `{}`) leaves the keep-alive connection usable.
    for _ in 0..3 {
        let response = request(&client, &sim, Method::GET, "/limits")
            .body("{}")
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
    }
    Ok(())
}

#[tokio::test]
async fn injected_faults_answer_in_salesforce_shapes() -> TestResult {
    let sim = sim(2).await?;
    let client = Client::new();
    sim.faults().rate_limit_burst(1, Some(3));
    let response = get(&client, &sim, "/limits").await?;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"3"[..])
    );
    let (_, body) = json_of(response).await?;
    assert_sf_error(&body, "REQUEST_LIMIT_EXCEEDED");

    sim.faults().server_errors(2);
    let (first, body) = json_of(get(&client, &sim, "/limits").await?).await?;
    assert!(body.is_array());
    let (second, _) = json_of(get(&client, &sim, "/limits").await?).await?;
    assert_eq!(
        (first, second),
        (StatusCode::BAD_GATEWAY, StatusCode::SERVICE_UNAVAILABLE)
    );

    sim.faults().malformed_bodies(1);
    let text = get(&client, &sim, "/limits").await?.text().await?;
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");

    sim.faults().connection_resets(1);
    assert!(get(&client, &sim, "/limits").await.is_err());
    sim.faults().slow_responses(1, Duration::from_millis(200));
    let started = std::time::Instant::now();
    assert_eq!(
        get(&client, &sim, "/limits").await?.status(),
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(200));

    let stats = sim.stats();
    assert_eq!(
        (stats.throttled, stats.errors_5xx, stats.connection_resets),
        (1, 2, 1)
    );
    sim.faults().clear();
    sim.reset_stats();
    assert_eq!(sim.stats().requests, 0);
    let base = sim.instance_url();
    sim.shutdown().await;
    assert!(
        client
            .get(format!("{base}/services/data"))
            .send()
            .await
            .is_err()
    );
    Ok(())
}
