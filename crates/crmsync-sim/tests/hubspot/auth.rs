//! OAuth tokens, expiry, refresh, and rate limits.

use std::time::Duration;

use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
use reqwest::{Client, StatusCode};

use crate::common::*;

#[tokio::test]
async fn tokens_expire_and_refresh() -> TestResult {
    let sim = HubSpotSim::start(HubSpotSimConfig {
        contacts: 3,
        token_ttl: Duration::from_secs(2),
        rate_limit_10s: 0,
        ..Default::default()
    })
    .await?;
    let client = Client::new();
    let old = sim.access_token();
    assert_eq!(
        get(&client, &sim, "/crm/v3/objects/contacts")
            .await?
            .status(),
        StatusCode::OK
    );

    let (status, body) = json_of(
        client
            .get(format!("{}/crm/v3/objects/contacts", sim.base_url()))
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_hubspot_error(&body, "INVALID_AUTHENTICATION");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_hubspot_error(&body, "EXPIRED_AUTHENTICATION");

    let form = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", sim.refresh_token()),
    ];
    let (status, token) = json_of(client.post(sim.token_url()).form(&form).send().await?).await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 2);
    assert_eq!(token["refresh_token"], sim.refresh_token().as_str());
    let fresh = token["access_token"]
        .as_str()
        .ok_or("access_token")?
        .to_string();
    assert_ne!(fresh, old);
    assert_eq!(sim.access_token(), fresh);
    let ok = client
        .get(format!("{}/crm/v3/objects/contacts", sim.base_url()))
        .bearer_auth(&fresh)
        .send()
        .await?;
    assert_eq!(ok.status(), StatusCode::OK);

    let bad = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", "not-a-token".to_string()),
    ];
    let (status, body) = json_of(client.post(sim.token_url()).form(&bad).send().await?).await?;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "BAD_REFRESH_TOKEN");
    assert_eq!(
        body["message"],
        "refresh token is invalid, expired or revoked"
    );

    // The private app token never expires and reports the daily quota.
    let pat = client
        .get(format!("{}/crm/v3/objects/companies", sim.base_url()))
        .bearer_auth(sim.private_app_token())
        .send()
        .await?;
    assert_eq!(pat.status(), StatusCode::OK);
    assert!(sim.private_app_token().starts_with("pat-"));

    // Injected expiry: every 2nd OAuth request finds its token expired until refreshed.
    sim.faults().expire_tokens_every(2);
    let url = format!("{}/crm/v3/objects/contacts", sim.base_url());
    assert_eq!(
        client.get(&url).bearer_auth(&fresh).send().await?.status(),
        StatusCode::OK
    );
    let (status, body) = json_of(client.get(&url).bearer_auth(&fresh).send().await?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_hubspot_error(&body, "EXPIRED_AUTHENTICATION");
    assert_eq!(
        client.get(&url).bearer_auth(&fresh).send().await?.status(),
        StatusCode::UNAUTHORIZED
    );
    Ok(())
}

#[tokio::test]
async fn rate_limit_headers_then_429() -> TestResult {
    let sim = HubSpotSim::start(HubSpotSimConfig {
        contacts: 3,
        rate_limit_10s: 4,
        ..Default::default()
    })
    .await?;
    let client = Client::new();
    for remaining in (0..4).rev() {
        let response = get(&client, &sim, "/crm/v3/objects/contacts").await?;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h["x-hubspot-ratelimit-max"], "4");
        assert_eq!(
            h["x-hubspot-ratelimit-remaining"],
            remaining.to_string().as_str()
        );
        assert_eq!(h["x-hubspot-ratelimit-interval-milliseconds"], "10000");
        assert!(
            h.get("x-hubspot-ratelimit-daily").is_none(),
            "no daily headers for OAuth"
        );
    }
    let (status, body) = json_of(get(&client, &sim, "/crm/v3/objects/contacts").await?).await?;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["status"], "error");
    assert_eq!(
        body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(body["errorType"], "RATE_LIMIT");
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(body["correlationId"].is_string() && body["requestId"].is_string());
    assert_eq!(sim.stats().throttled_429, 1);

    // The private app has its own window and gets the daily headers.
    let pat = client
        .get(format!("{}/crm/v3/objects/contacts", sim.base_url()))
        .bearer_auth(sim.private_app_token())
        .send()
        .await?;
    assert_eq!(pat.status(), StatusCode::OK);
    assert!(pat.headers().get("x-hubspot-ratelimit-daily").is_some());
    assert!(
        pat.headers()
            .get("x-hubspot-ratelimit-daily-remaining")
            .is_some()
    );

    // The token endpoint is not rate-limited.
    let form = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", sim.refresh_token()),
    ];
    assert_eq!(
        client
            .post(sim.token_url())
            .form(&form)
            .send()
            .await?
            .status(),
        StatusCode::OK
    );

    // An injected burst carries Retry-After when asked to.
    sim.set_rate_limit_10s(0);
    sim.faults().rate_limit_burst(1, Some(2));
    let response = client
        .get(format!("{}/crm/v3/objects/contacts", sim.base_url()))
        .bearer_auth(sim.private_app_token())
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    let stats = sim.stats();
    assert_eq!(stats.throttled_429, 2);
    assert_eq!(stats.by_endpoint.get("token"), Some(&1));
    assert_eq!(stats.by_endpoint.get("list"), Some(&7));
    Ok(())
}
