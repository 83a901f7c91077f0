//! OAuth grants (refresh token, JWT bearer) and sessions.

use std::time::Duration;

use chrono::Utc;
use crmsync_sim::{SalesforceSim, SalesforceSimConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::common::*;

fn assertion(
    sim: &SalesforceSim,
    key_pem: &str,
    aud: &str,
    exp_in: i64,
) -> Result<String, Box<dyn std::error::Error>> {
    let claims = json!({
        "iss": sim.client_id(),
        "sub": sim.username(),
        "aud": aud,
        "exp": Utc::now().timestamp() + exp_in,
    });
    let key = EncodingKey::from_rsa_pem(key_pem.as_bytes())?;
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &key,
    )?)
}

async fn token(
    client: &Client,
    sim: &SalesforceSim,
    form: &[(&str, String)],
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    json_of(client.post(sim.token_url()).form(form).send().await?).await
}

fn assert_token_response(sim: &SalesforceSim, body: &Value) {
    for key in [
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    ] {
        assert!(body.get(key).is_some(), "{key} missing: {body}");
    }
    assert!(body.get("expires_in").is_none(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], sim.instance_url());
    assert_eq!(
        body["id"],
        format!("{}/id/{}/{}", sim.login_url(), sim.org_id(), sim.user_id())
    );
    let issued: i64 = body["issued_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    assert!(
        (Utc::now().timestamp_millis() - issued).abs() < 60_000,
        "{body}"
    );
}

#[tokio::test]
async fn refresh_grant_issues_a_new_session() -> TestResult {
    let sim = sim(2).await?;
    let client = Client::new();
    let old = sim.access_token();
    let form = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", sim.refresh_token()),
    ];
    let (status, body) = token(&client, &sim, &form).await?;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_token_response(&sim, &body);
    let fresh = body["access_token"].as_str().ok_or("token")?;
    assert_ne!(fresh, old);
    assert_eq!(sim.access_token(), fresh);
    let response = client
        .get(url(&sim, "/limits"))
        .header("Authorization", format!("OAuth {fresh}"))
        .send()
        .await?;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the OAuth scheme works too"
    );
    let (status, identity) = json_of(
        client
            .get(body["id"].as_str().ok_or("id")?)
            .bearer_auth(fresh)
            .send()
            .await?,
    )
    .await?;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(identity["username"], sim.username());

    let mut bad = form.clone();
    bad[2].1 = "wrong".into();
    let (status, body) = token(&client, &sim, &bad).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_client"))
    );
    let mut bad = form.clone();
    bad[3].1 = "5Aep861nope".into();
    let (status, body) = token(&client, &sim, &bad).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert!(body["error_description"].is_string());
    let (status, body) = token(&client, &sim, &[("grant_type", "password".to_string())]).await?;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unsupported_grant_type"))
    );
    assert_eq!(sim.stats().by_endpoint.get("token"), Some(&4));
    assert_eq!(
        sim.stats().api_usage,
        1,
        "token and identity calls do not count against the limit"
    );
    Ok(())
}

#[tokio::test]
async fn jwt_bearer_grant_checks_signature_audience_and_expiry() -> TestResult {
    let sim = sim(1).await?;
    let stranger = SalesforceSim::start(SalesforceSimConfig {
        contacts: 0,
        seed: 43,
        ..Default::default()
    })
    .await?;
    let client = Client::new();
    let grant = |assertion: String| {
        vec![
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
            ),
            ("assertion", assertion),
        ]
    };
    let pem = sim.jwt_private_key_pem();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    for aud in [
        sim.login_url(),
        "https://login.salesforce.com".to_string(),
        "https://test.salesforce.com".to_string(),
    ] {
        let (status, body) =
            token(&client, &sim, &grant(assertion(&sim, &pem, &aud, 120)?)).await?;
        assert_eq!(status, StatusCode::OK, "{aud}: {body}");
        assert_token_response(&sim, &body);
        let fresh = body["access_token"].as_str().ok_or("token")?;
        let response = client
            .get(url(&sim, "/limits"))
            .bearer_auth(fresh)
            .send()
            .await?;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let refused = [
        (
            "signed by another key",
            assertion(&sim, &stranger.jwt_private_key_pem(), &sim.login_url(), 120)?,
            "invalid_grant",
        ),
        (
            "expired",
            assertion(&sim, &pem, &sim.login_url(), -30)?,
            "invalid_grant",
        ),
        (
            "too far ahead",
            assertion(&sim, &pem, &sim.login_url(), 600)?,
            "invalid_grant",
        ),
        (
            "wrong audience",
            assertion(&sim, &pem, "https://evil.example.com", 120)?,
            "invalid_grant",
        ),
        (
            "unknown issuer",
            assertion(&stranger, &pem, &sim.login_url(), 120)?,
            "invalid_client_id",
        ),
        ("garbage", "not.a.jwt".to_string(), "invalid_grant"),
    ];
    for (why, jwt, error) in refused {
        let (status, body) = token(&client, &sim, &grant(jwt)).await?;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {body}");
        assert_eq!(body["error"], error, "{why}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn idle_sessions_expire_and_refresh_recovers() -> TestResult {
    let sim = SalesforceSim::start(SalesforceSimConfig {
        contacts: 2,
        session_ttl: Some(Duration::from_millis(700)),
        ..Default::default()
    })
    .await?;
    let client = Client::new();
    let (status, _) = json_of(get(&client, &sim, "/limits").await?).await?;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(900)).await;
    let (status, body) = json_of(get(&client, &sim, "/limits").await?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let form = [
        ("grant_type", "refresh_token".to_string()),
        ("client_id", sim.client_id()),
        ("client_secret", sim.client_secret()),
        ("refresh_token", sim.refresh_token()),
    ];
    let (status, _) = token(&client, &sim, &form).await?;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = json_of(get(&client, &sim, "/limits").await?).await?;
    assert_eq!(status, StatusCode::OK);

    // Fault: every second request finds its session ended, and it stays ended.
    sim.faults().expire_tokens_every(2);
    assert_eq!(
        get(&client, &sim, "/limits").await?.status(),
        StatusCode::OK
    );
    assert_eq!(
        get(&client, &sim, "/limits").await?.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&client, &sim, "/limits").await?.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sim.stats().unauthorized_401, 3);
    let (status, _) = json_of(client.get(url(&sim, "/limits")).send().await?).await?;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no credentials at all");
    Ok(())
}
