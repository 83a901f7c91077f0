//! The Zapier simulator: catch hooks, throttling, 410 Gone, and subscribing at an app.

use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::Path,
    http::{HeaderMap, StatusCode},
    routing::{delete, post},
};
use crmsync_sim::{HookKind, ZapierSim, ZapierSimConfig};
use serde_json::{Value, json};

async fn sim(per_second: u32) -> ZapierSim {
    ZapierSim::start(ZapierSimConfig {
        per_second,
        ..ZapierSimConfig::default()
    })
    .await
    .expect("sim starts")
}

async fn post_json(url: &str, body: Value) -> (u16, HeaderMap, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, headers, body)
}

#[tokio::test]
async fn a_catch_hook_answers_zapiers_success_body_and_records_in_order() {
    let zapier = sim(0).await;
    let (hook, url) = zapier.catch_hook();
    assert!(
        url.ends_with(&format!("/hooks/catch/1234567/{hook}/")),
        "{url}"
    );
    for i in 0..3 {
        let (status, _, body) = post_json(&url, json!({"n": i})).await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "success");
        for field in ["attempt", "id", "request_id"] {
            assert!(
                body[field].as_str().is_some_and(|s| !s.is_empty()),
                "{body}"
            );
        }
    }
    let got = zapier.received(&hook);
    let ns: Vec<Value> = got.iter().map(|r| r.body["n"].clone()).collect();
    assert_eq!(ns, [json!(0), json!(1), json!(2)]);
    assert!(got.iter().all(|r| r.kind == HookKind::Catch));
    // Form bodies are taken too; unknown hooks are not.
    let form = reqwest::Client::new()
        .post(&url)
        .form(&[("a", "1")])
        .send()
        .await
        .expect("form");
    assert_eq!(form.status(), 200);
    assert_eq!(zapier.received(&hook)[3].body, json!({"a": "1"}));
    let (status, _, _) = post_json(&url.replace(&hook, "nope"), json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn over_the_per_second_limit_zapier_answers_429_with_retry_after() {
    let zapier = sim(3).await;
    let (hook, url) = zapier.catch_hook();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..5 {
        let (status, headers, _) = post_json(&url, json!({})).await;
        statuses.push(status);
        if status == 429 {
            retry_after = headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
        }
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(zapier.throttled(), 2);
    assert_eq!(zapier.received(&hook).len(), 3);
    assert_eq!(zapier.requests(&hook), 5);
}

#[tokio::test]
async fn faults_and_gone_hooks_and_oversized_payloads() {
    let zapier = sim(0).await;
    let (hook, url) = zapier.catch_hook();
    zapier.faults().rate_limit_burst(1, Some(2));
    zapier.faults().server_errors(1);
    let (first, headers, _) = post_json(&url, json!({})).await;
    assert_eq!(first, 429);
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("2")
    );
    let (second, _, _) = post_json(&url, json!({})).await;
    assert!(second == 502 || second == 503, "{second}");
    let big = "x".repeat(10 * 1024 * 1024 + 1);
    let (status, _, _) = post_json(&url, json!({ "big": big })).await;
    assert_eq!(status, 413);
    zapier.gone(&hook);
    let (status, _, _) = post_json(&url, json!({})).await;
    assert_eq!(status, 410);
    assert!(zapier.received(&hook).is_empty());
}

/// What the fake application was called with: route, API key, body or id.
type Call = (String, Option<String>, Value);

#[tokio::test]
async fn subscribe_and_unsubscribe_call_the_app_like_zapier() {
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let (c1, c2) = (calls.clone(), calls.clone());
    let app = Router::new()
        .route(
            "/zapier/hooks",
            post(move |headers: HeaderMap, Json(body): Json<Value>| {
                let calls = c1.clone();
                async move {
                    let key = headers
                        .get("x-api-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    calls
                        .lock()
                        .expect("lock")
                        .push(("subscribe".into(), key.clone(), body));
                    if key.as_deref() == Some("good") {
                        (StatusCode::CREATED, Json(json!({"id": 42})))
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            Json(json!({"error": "unauthorized"})),
                        )
                    }
                }
            }),
        )
        .route(
            "/zapier/hooks/{id}",
            delete(move |Path(id): Path<String>| {
                let calls = c2.clone();
                async move {
                    calls
                        .lock()
                        .expect("lock")
                        .push(("unsubscribe".into(), None, json!(id)));
                    Json(json!({"status": "unsubscribed"}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let app_url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let zapier = sim(0).await;
    let sub = zapier
        .subscribe(&app_url, "good", "contact.created", Some("contact"))
        .await
        .expect("subscribed");
    assert_eq!(sub.id, "42", "numeric ids are kept as strings");
    let refused = zapier
        .subscribe(&app_url, "bad", "contact.created", None)
        .await
        .err()
        .and_then(|e| e.status);
    assert_eq!(refused, Some(401));
    {
        let calls = calls.lock().expect("lock");
        assert_eq!(calls[0].2["url"], json!(sub.target_url));
        assert_eq!(calls[0].2["event"], "contact.created");
        assert_eq!(calls[0].2["object"], "contact");
    }
    let (status, _, _) = post_json(&sub.target_url, json!({"id": "e1"})).await;
    assert_eq!(status, 200);
    assert_eq!(zapier.received(&sub.hook)[0].kind, HookKind::Trigger);
    zapier.unsubscribe(&sub).await.expect("unsubscribed");
    assert_eq!(calls.lock().expect("lock")[2].2, json!("42"));
    let (status, _, _) = post_json(&sub.target_url, json!({"id": "e2"})).await;
    assert_eq!(status, 410, "a turned-off Zap's target answers 410 Gone");
}
