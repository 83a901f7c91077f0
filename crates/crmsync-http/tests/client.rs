//! The ApiClient against scripted servers (wiremock): auth refresh, retries, pacing,
//! the circuit breaker and secret hygiene.

use std::time::{Duration, Instant};

use crmsync_core::ErrorKind;
use crmsync_http::{
    ApiClient, ApiRequest, Auth, BreakerConfig, BucketLimit, OAuthRefresh, RetryPolicy,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{body_string_contains, header, method, path},
};

fn oauth(server: &MockServer) -> Auth {
    Auth::OAuth(OAuthRefresh {
        token_url: format!("{}/oauth/v1/token", server.uri()),
        client_id: "client-1".into(),
        client_secret: SecretString::from("client-secret-XYZ"),
        refresh_token: SecretString::from("refresh-token-XYZ"),
        access_token: Some(SecretString::from("stale-token-XYZ")),
    })
}

fn client(server: &MockServer, auth: Auth) -> ApiClient {
    ApiClient::builder(server.uri(), auth)
        .scope("tenant-http", format!("conn-{}", server.address().port()))
        .retry(RetryPolicy::fast())
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/things"))
        .and(header("authorization", "Bearer stale-token-XYZ"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"status":"error","message":"expired","category":"EXPIRED_AUTHENTICATION"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/v1/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-token-XYZ"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "fresh-token-XYZ", "refresh_token": "rotated-XYZ", "expires_in": 1800, "token_type": "bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/things"))
        .and(header("authorization", "Bearer fresh-token-XYZ"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(2)
        .mount(&server)
        .await;
    let api = client(&server, oauth(&server));
    let (_, body): (_, Value) = api
        .send_json(&ApiRequest::get("test.get", "/things"))
        .await
        .expect("ok after refresh");
    assert_eq!(body, json!({"ok": true}));
    // The refreshed token is cached: no second refresh.
    let _: (_, Value) = api
        .send_json(&ApiRequest::get("test.get", "/things"))
        .await
        .expect("ok");
    assert_eq!(api.stats().refreshes(), 1);
}

#[tokio::test]
async fn a_401_after_a_refresh_is_final() {
    let server = MockServer::start().await;
    Mock::given(path("/things"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"message":"no","category":"INVALID_AUTHENTICATION"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/oauth/v1/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token":"t2","expires_in":60})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = client(&server, oauth(&server));
    let err = api
        .send(&ApiRequest::get("test.get", "/things"))
        .await
        .expect_err("unauthorized");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_rejected_refresh_is_an_unauthorized_error_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/v1/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"status":"BAD_REFRESH_TOKEN","message":"refresh token is invalid, expired or revoked"})))
        .mount(&server)
        .await;
    let mut auth = oauth(&server);
    if let Auth::OAuth(o) = &mut auth {
        o.access_token = None;
    }
    let api = client(&server, auth);
    let err = api
        .send(&ApiRequest::get("test.get", "/things"))
        .await
        .expect_err("refresh refused");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    let shown = format!("{err} {err:?} {api:?}");
    for secret in ["client-secret-XYZ", "refresh-token-XYZ", "stale-token-XYZ"] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[tokio::test]
async fn auth_debug_output_is_redacted() {
    let server = MockServer::start().await;
    let text = format!(
        "{:?} {:?}",
        oauth(&server),
        Auth::Bearer(SecretString::from("pat-secret-XYZ"))
    );
    assert!(!text.contains("XYZ"), "{text}");
}

#[tokio::test]
async fn a_429_with_retry_after_waits_and_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"status":"error","message":"slow down"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let api = client(&server, Auth::Bearer(SecretString::from("k")));
    let started = Instant::now();
    let _: (_, Value) = api
        .send_json(&ApiRequest::get("test.limited", "/limited"))
        .await
        .expect("ok");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(api.stats().throttled(), 1);
    assert_eq!(api.stats().requests(), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for status in [400u16, 403, 404] {
        let server = MockServer::start().await;
        Mock::given(path("/bad"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"message":"no"})))
            .expect(1)
            .mount(&server)
            .await;
        let api = client(&server, Auth::Bearer(SecretString::from("k")));
        let err = api
            .send(&ApiRequest::get("test.bad", "/bad"))
            .await
            .expect_err("fails");
        assert!(!err.is_retryable(), "{status}");
        assert_eq!(err.context().status, Some(status));
        assert_eq!(err.context().endpoint.as_deref(), Some("GET /bad"));
    }
}

#[tokio::test]
async fn server_errors_are_retried_only_when_repeating_is_safe() {
    let server = MockServer::start().await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let api = client(&server, Auth::Bearer(SecretString::from("k")));
    let _: (_, Value) = api
        .send_json(&ApiRequest::post("test.read", "/flaky", json!({}), true))
        .await
        .expect("idempotent request retried");
    assert_eq!(api.stats().requests(), 3);

    let server = MockServer::start().await;
    Mock::given(path("/create"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let api = client(&server, Auth::Bearer(SecretString::from("k")));
    let err = api
        .send(&ApiRequest::post(
            "test.create",
            "/create",
            json!({}),
            false,
        ))
        .await
        .expect_err("a create is not repeated after a 502");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors_naming_the_endpoint() {
    let server = MockServer::start().await;
    Mock::given(path("/page"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"results\": [ {\"id\": "))
        .mount(&server)
        .await;
    let api = client(&server, Auth::Bearer(SecretString::from("k")));
    let err = api
        .send_json::<Value>(&ApiRequest::get("test.page", "/page"))
        .await
        .expect_err("malformed");
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.context().endpoint.as_deref(), Some("GET /page"));
    assert_eq!(err.context().operation.as_deref(), Some("test.page"));
}

#[tokio::test]
async fn the_breaker_opens_after_repeated_failures_and_fails_fast() {
    let server = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let api = ApiClient::builder(server.uri(), Auth::Bearer(SecretString::from("k")))
        .scope("tenant-http", "breaker")
        .retry(RetryPolicy::none())
        .breaker(BreakerConfig {
            failure_threshold: 3,
            open_for: Duration::from_secs(60),
        })
        .build()
        .expect("client");
    for _ in 0..3 {
        let err = api
            .send(&ApiRequest::get("test.down", "/down"))
            .await
            .expect_err("down");
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
    let sent = api.stats().requests();
    let err = api
        .send(&ApiRequest::get("test.down", "/down"))
        .await
        .expect_err("open");
    assert_eq!(err.kind(), ErrorKind::CircuitOpen);
    assert_eq!(
        api.stats().requests(),
        sent,
        "an open breaker sends nothing"
    );
}

#[tokio::test]
async fn pacing_spreads_requests_over_the_window() {
    let server = MockServer::start().await;
    Mock::given(path("/paced"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    // 10 per second: 2 of burst, then one every 1/7 s.
    let api = ApiClient::builder(server.uri(), Auth::Bearer(SecretString::from("k")))
        .scope("tenant-http", "paced")
        .limits(vec![BucketLimit::new(
            "default",
            10,
            Duration::from_secs(1),
        )])
        .build()
        .expect("client");
    let started = Instant::now();
    for _ in 0..9 {
        let _: (_, Value) = api
            .send_json(&ApiRequest::get("test.paced", "/paced"))
            .await
            .expect("ok");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}
