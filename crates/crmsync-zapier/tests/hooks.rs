//! REST-hook triggers against the Zapier simulator: subscribe, deliver, throttle,
//! dead letters, 410, samples.

mod common;

use std::time::Duration;

use common::{App, KEY, OTHER_KEY, fast_delivery, seen};
use crmsync_core::{DeadLetterStatus, ObjectKind};
use crmsync_http::RetryPolicy;
use crmsync_sim::ZapierSimConfig;
use crmsync_zapier::{DeliveryConfig, DeliveryStart, SubscriptionStore, ZapierLimits, ZapierState};
use serde_json::{Value, json};

fn sim() -> ZapierSimConfig {
    ZapierSimConfig::default()
}

#[tokio::test]
async fn existing_records_are_a_baseline_and_later_changes_arrive_once_in_order() {
    let app = App::start(sim(), fast_delivery()).await;
    app.write("old-1", &[("email", "old@example.com")]).await;
    let sub = app
        .zapier
        .subscribe(&app.base_url, KEY, "contact.changed", None)
        .await
        .expect("subscribe");
    let first = app.deliver().await;
    assert_eq!(first.baseline, 1, "{first:?}");
    assert_eq!(first.delivered, 0);
    assert!(app.zapier.received(&sub.hook).is_empty());

    app.write("c-1", &[("email", "a@example.com")]).await;
    app.write("old-1", &[("email", "old2@example.com")]).await;
    app.delete("old-1").await;
    let report = app.deliver().await;
    assert_eq!(report.delivered, 2, "{report:?}");
    // The mirror feed holds each record's latest state: old-1 is a tombstone now.
    assert_eq!(
        seen(&app.zapier, &sub.hook),
        vec![
            (
                "contact.created".into(),
                "c-1".into(),
                "a@example.com".into()
            ),
            (
                "contact.deleted".into(),
                "old-1".into(),
                "old@example.com".into()
            ),
        ]
    );
    // Nothing new: nothing sent.
    let again = app.deliver().await;
    assert_eq!(again.delivered, 0, "{again:?}");
    assert_eq!(app.zapier.received(&sub.hook).len(), 2);
}

#[tokio::test]
async fn an_unchanged_rewrite_is_not_an_event() {
    let app = App::start(sim(), fast_delivery()).await;
    app.deliver().await;
    let sub = app
        .zapier
        .subscribe(&app.base_url, KEY, "changed", Some("contact"))
        .await
        .expect("subscribe");
    app.write("c-1", &[("email", "a@example.com"), ("name", "Ada")])
        .await;
    app.deliver().await;
    app.write("c-1", &[("name", "Ada")]).await;
    app.write("c-1", &[("name", "Ada L")]).await;
    app.deliver().await;
    let events: Vec<String> = seen(&app.zapier, &sub.hook)
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(events, ["contact.created", "contact.updated"]);
    let bodies = app.zapier.received(&sub.hook);
    assert_eq!(bodies[1].body["data"]["name"], json!("Ada L"));
    assert_ne!(
        bodies[0].body["id"], bodies[1].body["id"],
        "event ids are unique"
    );
}

#[tokio::test]
async fn events_go_only_to_subscriptions_of_their_kind_and_object() {
    let app = App::start(sim(), fast_delivery()).await;
    app.deliver().await;
    let created = app
        .zapier
        .subscribe(&app.base_url, KEY, "contact.created", None)
        .await
        .expect("subscribe");
    let deleted = app
        .zapier
        .subscribe(&app.base_url, KEY, "deleted", Some("contacts"))
        .await
        .expect("subscribe");
    let deals = app
        .zapier
        .subscribe(&app.base_url, KEY, "deal.changed", None)
        .await
        .expect("subscribe");
    let other_tenant = app
        .zapier
        .subscribe(&app.base_url, OTHER_KEY, "contact.changed", None)
        .await
        .expect("subscribe");
    app.write("c-1", &[("email", "a@example.com")]).await;
    app.deliver().await;
    app.delete("c-1").await;
    app.deliver().await;
    assert_eq!(seen(&app.zapier, &created.hook).len(), 1);
    assert_eq!(seen(&app.zapier, &created.hook)[0].0, "contact.created");
    assert_eq!(seen(&app.zapier, &deleted.hook).len(), 1);
    assert_eq!(seen(&app.zapier, &deleted.hook)[0].0, "contact.deleted");
    assert!(seen(&app.zapier, &deals.hook).is_empty());
    assert!(
        seen(&app.zapier, &other_tenant.hook).is_empty(),
        "another tenant's Zap never sees this tenant's records"
    );
}

#[tokio::test]
async fn pacing_keeps_a_burst_under_zapiers_per_second_limit() {
    // A simulator allowing 10 per second; the deliverer paces at the same published
    // limit and must never draw a 429.
    let app = App::start(
        ZapierSimConfig {
            per_second: 10,
            ..sim()
        },
        DeliveryConfig {
            limits: ZapierLimits {
                per_second: 10,
                per_five_minutes: 10_000,
            },
            ..fast_delivery()
        },
    )
    .await;
    app.deliver().await;
    let sub = app
        .zapier
        .subscribe(&app.base_url, KEY, "created", None)
        .await
        .expect("subscribe");
    for i in 0..15 {
        app.write(
            &format!("c-{i:02}"),
            &[("email", &format!("p{i}@example.com"))],
        )
        .await;
    }
    let started = std::time::Instant::now();
    let report = app.deliver().await;
    assert_eq!(report.delivered, 15, "{report:?}");
    assert_eq!(app.zapier.throttled(), 0, "paced deliveries draw no 429");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "15 events at 10/s take over a second"
    );
    assert_eq!(app.zapier.received(&sub.hook).len(), 15);
}

#[tokio::test]
async fn after_the_last_attempt_an_event_is_a_dead_letter_and_replays_in_order() {
    let app = App::start(
        sim(),
        DeliveryConfig {
            retry: RetryPolicy {
                max_attempts: 2,
                ..RetryPolicy::fast()
            },
            ..fast_delivery()
        },
    )
    .await;
    app.deliver().await;
    let sub = app
        .zapier
        .subscribe(&app.base_url, KEY, "changed", None)
        .await
        .expect("subscribe");
    app.write("c-1", &[("email", "a@example.com")]).await;
    app.write("c-2", &[("email", "b@example.com")]).await;
    // Two attempts for c-1 fail; c-2 goes through.
    app.zapier.faults().server_errors(2);
    let report = app.deliver().await;
    assert_eq!(report.dead_letters, 1, "{report:?}");
    assert_eq!(report.delivered, 1, "{report:?}");
    // c-1 changes again while its first event waits: the update queues behind it.
    app.write("c-1", &[("email", "a2@example.com")]).await;
    app.zapier.faults().server_errors(0);
    let held = app.deliver().await;
    assert_eq!((held.dead_letters, held.delivered), (1, 0), "{held:?}");
    let letters = app
        .store
        .list_dead_letters(&app.tenant, Some(DeadLetterStatus::Pending), 10)
        .await
        .expect("dead letters");
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[1].error_kind, "interrupted");
    assert_eq!(letters[0].record_id.as_str(), "c-1");
    assert_eq!(letters[0].error_kind, "unavailable");
    assert_eq!(letters[0].attempts, 2);
    assert_eq!(letters[0].payload["subscription_id"], json!(sub.id));
    assert!(
        !letters[0].payload.to_string().contains(&sub.target_url)
            && !letters[0].error_message.contains(&sub.target_url),
        "dead letters never hold the target URL"
    );
    let replay = app
        .deliverer
        .replay_dead_letters(&app.tenant)
        .await
        .expect("replay");
    assert_eq!(replay.replayed, 2, "{replay:?}");
    let pending = app
        .store
        .list_dead_letters(&app.tenant, Some(DeadLetterStatus::Pending), 10)
        .await
        .expect("dead letters");
    assert!(pending.is_empty());
    let got: Vec<(String, String)> = seen(&app.zapier, &sub.hook)
        .into_iter()
        .map(|(e, id, email)| (format!("{e} {id}"), email))
        .collect();
    assert_eq!(
        got,
        vec![
            ("contact.created c-2".into(), "b@example.com".into()),
            ("contact.created c-1".into(), "a@example.com".into()),
            ("contact.updated c-1".into(), "a2@example.com".into()),
        ],
        "c-1's events arrive in order, across runs and the replay"
    );
}

#[tokio::test]
async fn samples_are_recent_events_as_an_array() {
    let app = App::start(sim(), fast_delivery()).await;
    let url = format!("{}/zapier/contact/samples", app.base_url);
    // Before any event: the application's records serve as samples.
    app.write("c-1", &[("email", "a@example.com")]).await;
    let samples: Value = app
        .http
        .get(&url)
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("samples")
        .json()
        .await
        .expect("json");
    assert_eq!(samples.as_array().map(Vec::len), Some(1), "{samples}");
    assert_eq!(samples[0]["event"], "contact.created");
    app.deliver().await;
    app.write("c-1", &[("email", "a2@example.com")]).await;
    app.deliver().await;
    let samples: Value = app
        .http
        .get(format!("{url}?event=updated"))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("samples")
        .json()
        .await
        .expect("json");
    assert_eq!(samples[0]["event"], "contact.updated", "{samples}");
    assert_eq!(samples[0]["data"]["email"], "a2@example.com");
    let refused = app.http.get(&url).send().await.expect("request");
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn subscriptions_with_a_ttl_answer_an_expiration_date() {
    let subscriptions = std::sync::Arc::new(crmsync_zapier::MemorySubscriptions::new());
    let state = ZapierState::new(
        crmsync_zapier::ApiKeys::new().with_key("t".into(), KEY),
        subscriptions.clone(),
    )
    .with_subscription_ttl(Duration::from_secs(7 * 24 * 3600));
    let base = common::serve(crmsync_zapier::hooks_router(state)).await;
    let answer: Value = reqwest::Client::new()
        .post(format!("{base}/zapier/hooks"))
        .header("x-api-key", KEY)
        .json(&json!({"url": "https://hooks.zapier.com/hooks/standard/1/abc/", "event": "contact.created"}))
        .send()
        .await
        .expect("subscribe")
        .json()
        .await
        .expect("json");
    assert!(
        answer["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("sub_"))
    );
    assert!(answer["expiration_date"].as_str().is_some(), "{answer}");
    let stored = subscriptions
        .list(&"t".into(), &ObjectKind::Contact)
        .await
        .expect("list");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].expires_at.is_some());
}

#[tokio::test]
async fn subscribe_rejects_bad_input_with_json_errors() {
    let app = App::start(sim(), fast_delivery()).await;
    for body in [
        json!({"url": "not a url", "event": "created"}),
        json!({"url": "ftp://x/y", "event": "created"}),
        json!({"url": "https://hooks.zapier.com/x", "event": "exploded"}),
        json!({"event": "created"}),
        json!("just a string"),
    ] {
        let response = app
            .http
            .post(format!("{}/zapier/hooks", app.base_url))
            .header("x-api-key", KEY)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 400, "{body}");
        let answer: Value = response.json().await.expect("json error");
        assert_eq!(answer["error"], "invalid_request");
    }
    let gone = app
        .http
        .delete(format!("{}/zapier/hooks/sub_nope", app.base_url))
        .header("x-api-key", KEY)
        .send()
        .await
        .expect("request");
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn delivering_from_the_beginning_sends_existing_records() {
    let app = App::start(
        sim(),
        DeliveryConfig {
            start: DeliveryStart::Beginning,
            ..fast_delivery()
        },
    )
    .await;
    app.write("c-1", &[("email", "a@example.com")]).await;
    let sub = app
        .zapier
        .subscribe(&app.base_url, KEY, "created", None)
        .await
        .expect("subscribe");
    let report = app.deliver().await;
    assert_eq!((report.baseline, report.delivered), (0, 1), "{report:?}");
    assert_eq!(seen(&app.zapier, &sub.hook).len(), 1);
}
