//! Inbound actions: Zapier creates, updates and finds the application's records.

mod common;

use common::{App, KEY, OTHER_KEY, fast_delivery};
use crmsync_core::{ObjectKind, RecordId};
use crmsync_sim::ZapierSimConfig;
use serde_json::{Value, json};

async fn app() -> App {
    App::start(ZapierSimConfig::default(), fast_delivery()).await
}

async fn post(app: &App, key: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/zapier/actions/contacts", app.base_url))
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

async fn search(app: &App, key: &str, query: &str) -> (u16, Value) {
    let response = app
        .http
        .get(format!("{}/zapier/search/contact?{query}", app.base_url))
        .header("x-api-key", key)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn create_then_update_by_email_then_by_id() {
    let app = app().await;
    let (status, created) = post(
        &app,
        KEY,
        json!({"email": "ada@example.com", "first_name": "Ada"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["first_name"], "Ada");

    // Same email (in any case), no id: the record is found and updated, not duplicated.
    let (status, updated) = post(
        &app,
        KEY,
        json!({"email": " ADA@example.com", "last_name": "Lovelace"}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["id"], json!(id));
    assert_eq!(updated["first_name"], "Ada", "the full record comes back");
    assert_eq!(
        updated["email"], " ADA@example.com",
        "fields are written as given"
    );
    assert_eq!(updated["last_name"], "Lovelace");

    let (status, by_id) = post(&app, KEY, json!({"id": id, "first_name": "Augusta"})).await;
    assert_eq!(status, 200, "{by_id}");
    let stored = app
        .store
        .mirror_get(&app.tenant, &ObjectKind::Contact, &[RecordId::new(&id)])
        .await
        .expect("read");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].fields["first_name"], json!("Augusta"));
    assert_eq!(
        app.store
            .mirror_count(&app.tenant, &ObjectKind::Contact)
            .await
            .expect("count"),
        1
    );
}

#[tokio::test]
async fn search_answers_an_array_of_records_matching_every_parameter() {
    let app = app().await;
    app.write("c-1", &[("email", "ada@example.com"), ("city", "London")])
        .await;
    app.write("c-2", &[("email", "bob@example.com"), ("city", "London")])
        .await;
    let (status, found) = search(&app, KEY, "email=ADA%40example.com").await;
    assert_eq!(status, 200);
    assert_eq!(
        found,
        json!([{"id": "c-1", "email": "ada@example.com", "city": "London"}])
    );
    let (_, both) = search(&app, KEY, "city=London").await;
    assert_eq!(both.as_array().map(Vec::len), Some(2));
    let (_, one) = search(&app, KEY, "city=London&email=bob%40example.com").await;
    assert_eq!(one.as_array().map(Vec::len), Some(1));
    assert_eq!(one[0]["id"], "c-2");
    let (status, none) = search(&app, KEY, "email=nobody%40example.com").await;
    assert_eq!(
        (status, none),
        (200, json!([])),
        "no match is an empty array"
    );
    let (status, _) = search(&app, KEY, "").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn tenants_only_see_their_own_records() {
    let app = app().await;
    app.write("c-1", &[("email", "ada@example.com")]).await;
    let (_, other) = search(&app, OTHER_KEY, "email=ada%40example.com").await;
    assert_eq!(other, json!([]));
}

#[tokio::test]
async fn a_bad_api_key_is_refused_with_a_json_401() {
    let app = app().await;
    for key in ["", "zk_wrong", &KEY[..KEY.len() - 1]] {
        let (status, body) = post(&app, key, json!({"email": "x@example.com"})).await;
        assert_eq!(status, 401, "key {key:?}");
        assert_eq!(body["error"], "unauthorized");
        let (status, _) = search(&app, key, "email=x%40example.com").await;
        assert_eq!(status, 401);
    }
    let response = app
        .http
        .post(format!("{}/zapier/actions/contacts", app.base_url))
        .json(&json!({"email": "x@example.com"}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 401, "no key at all");
    assert_eq!(
        app.store
            .mirror_count(&app.tenant, &ObjectKind::Contact)
            .await
            .expect("count"),
        0,
        "nothing was written"
    );
}

#[tokio::test]
async fn malformed_bodies_are_json_400s() {
    let app = app().await;
    for body in [
        json!([1, 2]),
        json!("text"),
        json!({"id": {"nested": true}}),
    ] {
        let (status, answer) = post(&app, KEY, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], "invalid_request");
    }
    let response = app
        .http
        .post(format!("{}/zapier/actions/contacts", app.base_url))
        .header("x-api-key", KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
}
