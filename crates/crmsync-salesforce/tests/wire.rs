//! The provider against scripted servers (wiremock): both OAuth flows, the instance
//! URL, session refresh, limits and the query-locator fallback.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{
    encoding::AsDer,
    rsa::KeySize,
    signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey},
};
use base64::Engine as _;
use chrono::{TimeZone, Utc};
use crmsync_core::{ChangesRequest, CrmProvider, ErrorKind, ObjectKind, RecordId};
use crmsync_http::RetryPolicy;
use crmsync_salesforce::{SalesforceConfig, SalesforceProvider};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, ResponseTemplate,
    matchers::{body_string_contains, header, method, path, path_regex, query_param_contains},
};

const DESCRIBE: &str = "/services/data/v62.0/sobjects/Contact/describe";
const QUERY: &str = "/services/data/v62.0/query";

fn describe_body() -> Value {
    json!({"name": "Contact", "fields": [
        {"name": "Id", "label": "Contact ID", "type": "id", "nillable": false, "createable": false, "updateable": false, "defaultedOnCreate": true, "custom": false, "picklistValues": []},
        {"name": "Email", "label": "Email", "type": "email", "nillable": true, "createable": true, "updateable": true, "defaultedOnCreate": false, "custom": false, "picklistValues": []}
    ]})
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("Sforce-Limit-Info", "api-usage=10/5000")
        .set_body_json(body)
}

fn token(access: &str, instance: &MockServer) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access,
        "instance_url": instance.uri(),
        "id": "https://login.salesforce.com/id/00Dxx0000001gPL/005xx000001X7yz",
        "token_type": "Bearer",
        "issued_at": "1700000000000",
        "signature": "c2lnbmF0dXJl",
    }))
}

fn fast(mut config: SalesforceConfig, conn: &str) -> SalesforceConfig {
    config = config.scope("wire", conn);
    config.retry = RetryPolicy::fast();
    config
}

#[tokio::test]
async fn the_refresh_flow_sends_requests_to_the_instance_url() {
    let login = MockServer::start().await;
    let instance = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("client_id=app-1"))
        .and(body_string_contains("client_secret=secret-XYZ"))
        .and(body_string_contains("refresh_token=refresh-XYZ"))
        .respond_with(token("session-1", &instance))
        .expect(1)
        .mount(&login)
        .await;
    Mock::given(method("GET"))
        .and(path(DESCRIBE))
        .and(header("authorization", "Bearer session-1"))
        .respond_with(ok(describe_body()))
        .expect(2)
        .mount(&instance)
        .await;
    let config = SalesforceConfig::refresh_token(login.uri(), "app-1", "secret-XYZ", "refresh-XYZ");
    let sf = SalesforceProvider::new(fast(config, "refresh")).expect("provider");
    for _ in 0..2 {
        let schema = sf.describe(&ObjectKind::Contact).await.expect("describe");
        assert!(schema.field("Email").is_some());
    }
    assert_eq!(sf.client().base_url(), instance.uri());
    assert_eq!(sf.api_usage(), Some((10, 5000)));
}

#[tokio::test]
async fn an_expired_session_refreshes_once_and_retries() {
    let login = MockServer::start().await;
    let instance = MockServer::start().await;
    Mock::given(path("/services/oauth2/token"))
        .respond_with(token("old-session", &instance))
        .up_to_n_times(1)
        .expect(1)
        .mount(&login)
        .await;
    Mock::given(path("/services/oauth2/token"))
        .respond_with(token("new-session", &instance))
        .expect(1)
        .mount(&login)
        .await;
    Mock::given(path(DESCRIBE))
        .and(header("authorization", "Bearer old-session"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        ))
        .expect(1)
        .mount(&instance)
        .await;
    Mock::given(path(DESCRIBE))
        .and(header("authorization", "Bearer new-session"))
        .respond_with(ok(describe_body()))
        .expect(1)
        .mount(&instance)
        .await;
    let config = SalesforceConfig::refresh_token(login.uri(), "app", "secret", "refresh");
    let sf = SalesforceProvider::new(fast(config, "expiry")).expect("provider");
    sf.describe(&ObjectKind::Contact)
        .await
        .expect("describe after one refresh");
    assert_eq!(sf.client().stats().refreshes(), 2);
}

#[tokio::test]
async fn a_session_that_stays_invalid_is_unauthorized() {
    let login = MockServer::start().await;
    let instance = MockServer::start().await;
    Mock::given(path("/services/oauth2/token"))
        .respond_with(token("bad", &instance))
        .expect(2)
        .mount(&login)
        .await;
    Mock::given(path(DESCRIBE))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]),
        ))
        .expect(2)
        .mount(&instance)
        .await;
    let config = SalesforceConfig::refresh_token(login.uri(), "app", "secret", "refresh");
    let sf = SalesforceProvider::new(fast(config, "invalid")).expect("provider");
    let err = sf
        .describe(&ObjectKind::Contact)
        .await
        .expect_err("401 twice");
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(!err.is_retryable());
}

fn pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    )
}

fn form_value(request: &Request, name: &str) -> Option<String> {
    url::form_urlencoded::parse(&request.body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn the_jwt_bearer_assertion_is_rs256_with_the_documented_claims() {
    let key = RsaKeyPair::generate(KeySize::Rsa2048).expect("key pair");
    let private_pem = pem(key.as_der().expect("pkcs8").as_ref());
    let public_key = key.public_key().as_ref().to_vec();
    let login = MockServer::start().await;
    let instance = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(body_string_contains(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
        ))
        .respond_with(token("jwt-session", &instance))
        .expect(1)
        .mount(&login)
        .await;
    Mock::given(path(DESCRIBE))
        .and(header("authorization", "Bearer jwt-session"))
        .respond_with(ok(describe_body()))
        .expect(1)
        .mount(&instance)
        .await;
    let config =
        SalesforceConfig::jwt_bearer(login.uri(), "consumer-key", "int@acme.com", private_pem);
    let sf = SalesforceProvider::new(fast(config, "jwt")).expect("provider");
    sf.describe(&ObjectKind::Contact).await.expect("describe");

    let requests = login.received_requests().await.unwrap_or_default();
    let assertion = form_value(&requests[0], "assertion").expect("assertion");
    assert!(form_value(&requests[0], "client_secret").is_none());
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: Value =
        serde_json::from_slice(&b64.decode(parts[0]).expect("b64")).expect("header json");
    assert_eq!(header["alg"], "RS256");
    let claims: Value =
        serde_json::from_slice(&b64.decode(parts[1]).expect("b64")).expect("claims json");
    assert_eq!(claims["iss"], "consumer-key");
    assert_eq!(claims["sub"], "int@acme.com");
    assert_eq!(claims["aud"], login.uri());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let exp = claims["exp"].as_u64().expect("exp");
    assert!(
        exp > now + 150 && exp <= now + 181,
        "exp {exp} vs now {now}"
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    let sig = b64.decode(parts[2]).expect("signature b64");
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &public_key)
        .verify(signed.as_bytes(), &sig)
        .expect("the assertion verifies with the public key");
}

#[test]
fn a_private_key_that_is_not_rsa_pem_is_a_config_error() {
    let config = SalesforceConfig::jwt_bearer("https://login.salesforce.com", "c", "u", "nope");
    let err = SalesforceProvider::new(config).expect_err("bad key");
    assert_eq!(err.kind(), ErrorKind::Config);
}

fn contact(id: &str, stamp: &str) -> Value {
    json!({"attributes": {"type": "Contact", "url": format!("/services/data/v62.0/sobjects/Contact/{id}")},
           "Id": id, "Email": format!("{id}@x.io"), "SystemModstamp": stamp, "IsDeleted": false})
}

async fn session(instance: &MockServer, conn: &str) -> SalesforceProvider {
    let mut config = fast(SalesforceConfig::session(instance.uri(), "static"), conn);
    config.daily_budget = 0.8;
    SalesforceProvider::new(config).expect("provider")
}

fn incremental() -> ChangesRequest {
    ChangesRequest {
        since: Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).single(),
        fields: vec!["Email".into()],
        page_size: 2_000,
        ..ChangesRequest::default()
    }
}

#[tokio::test]
async fn the_daily_budget_pauses_the_run_as_interrupted() {
    let instance = MockServer::start().await;
    Mock::given(path(QUERY))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Sforce-Limit-Info", "api-usage=4100/5000")
                .set_body_json(json!({"totalSize": 0, "done": true, "records": []})),
        )
        .expect(1)
        .mount(&instance)
        .await;
    let sf = session(&instance, "budget").await;
    let page = sf
        .changes(&ObjectKind::Contact, incremental())
        .await
        .expect("first call goes through");
    assert_eq!(sf.api_usage(), Some((4100, 5000)));
    let err = sf
        .changes(
            &ObjectKind::Contact,
            ChangesRequest {
                cursor: page.next,
                ..incremental()
            },
        )
        .await
        .expect_err("budget reached");
    assert_eq!(err.kind(), ErrorKind::Interrupted);
    assert!(!err.is_retryable());
    assert!(err.message().contains("4100/5000"), "{err}");
    assert!(err.message().contains("80%"), "{err}");
    let writes = sf
        .delete(&ObjectKind::Contact, &[RecordId::new("003A")])
        .await
        .expect_err("writes stop too");
    assert_eq!(writes.kind(), ErrorKind::Interrupted);
}

#[tokio::test]
async fn request_limit_exceeded_is_throttling_without_retries() {
    let instance = MockServer::start().await;
    Mock::given(path(QUERY))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("Sforce-Limit-Info", "api-usage=5001/5000")
                .set_body_json(json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])),
        )
        .expect(1)
        .mount(&instance)
        .await;
    let sf = session(&instance, "limit").await;
    let err = sf
        .changes(&ObjectKind::Contact, incremental())
        .await
        .expect_err("limit");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn an_expired_query_locator_restarts_after_the_last_record() {
    let instance = MockServer::start().await;
    let stamp = "2024-05-01T10:00:00.000+0000";
    Mock::given(path(QUERY))
        .and(query_param_contains(
            "q",
            "SystemModstamp >= 2024-05-01T00:00:00.000Z",
        ))
        .and(header("Sforce-Query-Options", "batchSize=200"))
        .respond_with(ok(json!({
            "totalSize": 3, "done": false,
            "nextRecordsUrl": "/services/data/v62.0/query/01gXX-200",
            "records": [contact("003A", stamp), contact("003B", stamp)],
        })))
        .expect(1)
        .mount(&instance)
        .await;
    Mock::given(path_regex("^/services/data/v62.0/query/01gXX-200$"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!([{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]),
        ))
        .expect(1)
        .mount(&instance)
        .await;
    Mock::given(path(QUERY))
        .and(query_param_contains(
            "q",
            "WHERE (SystemModstamp > 2024-05-01T10:00:00.000Z OR (SystemModstamp = 2024-05-01T10:00:00.000Z AND Id > '003B')) ORDER BY SystemModstamp ASC, Id ASC",
        ))
        .respond_with(ok(json!({"totalSize": 1, "done": true, "records": [contact("003C", stamp)]})))
        .expect(1)
        .mount(&instance)
        .await;
    let sf = session(&instance, "locator").await;
    let request = ChangesRequest {
        page_size: 50,
        ..incremental()
    };
    let first = sf
        .changes(&ObjectKind::Contact, request.clone())
        .await
        .expect("page 1");
    assert_eq!(first.estimated_total, Some(3));
    assert_eq!(first.changes.len(), 2);
    assert_eq!(
        first.changes[0].record.fields.get("Email"),
        Some(&json!("003A@x.io"))
    );
    let second = sf
        .changes(
            &ObjectKind::Contact,
            ChangesRequest {
                cursor: first.next,
                ..request
            },
        )
        .await
        .expect("page 2 after the locator expired");
    let ids: Vec<&str> = second
        .changes
        .iter()
        .map(|c| c.record.id.as_str())
        .collect();
    assert_eq!(ids, vec!["003C"]);
}
