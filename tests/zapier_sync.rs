//! End-to-end: a change in HubSpot is pulled into the application's mirror by the
//! engine, and the Zapier deliverer sends it to every Zap subscribed to the mirror's
//! contacts — once per target, in order per record, through Zapier's throttling —
//! against the HubSpot and Zapier simulators.

mod common;

use std::{collections::BTreeMap, sync::Arc};

use common::{fast_sim, harness};
use crmsync::{
    core::{ObjectKind, RunStatus, SyncMode},
    http::RetryPolicy,
    sim::{ZapierSim, ZapierSimConfig},
    store::MirrorProvider,
    zapier::{
        ApiKeys, Deliverer, DeliveryConfig, DeliveryReport, SqliteSubscriptions, SubscriptionStore,
        ZapierState,
    },
};
use serde_json::json;

const KEY: &str = "zk_e2e_5f0c2d9a7b";

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// `(event, record_id, first_name)` per event a hook accepted, in arrival order.
fn got(zapier: &ZapierSim, hook: &str) -> Vec<(String, String, String)> {
    zapier
        .received(hook)
        .into_iter()
        .map(|r| {
            (
                r.body["event"].as_str().unwrap_or_default().to_owned(),
                r.body["record_id"].as_str().unwrap_or_default().to_owned(),
                r.body["data"]["first_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_changes_reach_every_subscribed_zap_once_in_order_through_throttling() {
    let h = harness(fast_sim(20, 0, 0)).await;
    let first = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_eq!(first.status, RunStatus::Success, "{:?}", first.error);

    // The application mounts the Zapier routes and runs a deliverer on its store.
    let subscriptions: Arc<dyn SubscriptionStore> = Arc::new(
        SqliteSubscriptions::in_memory()
            .await
            .expect("subscriptions"),
    );
    let deliverer = Deliverer::new(
        h.store.clone(),
        subscriptions.clone(),
        DeliveryConfig {
            retry: RetryPolicy::fast(),
            ..DeliveryConfig::default()
        },
    );
    let keys = ApiKeys::new().with_key(h.tenant.clone(), KEY);
    let state = ZapierState::new(keys, subscriptions.clone()).with_recent(deliverer.recent());
    let app_url = serve(crmsync::zapier::hooks_router(state)).await;
    let mirror = MirrorProvider::new(h.store.clone(), h.tenant.clone());
    let deliver = || async {
        deliverer
            .deliver_changes(&h.tenant, &mirror, &ObjectKind::Contact)
            .await
            .expect("delivery runs")
    };
    let baseline: DeliveryReport = deliver().await;
    assert_eq!(baseline.baseline, 20, "existing contacts are not news");

    // Two Zaps are turned on.
    let zapier = ZapierSim::start(ZapierSimConfig::default())
        .await
        .expect("zapier sim");
    let a = zapier
        .subscribe(&app_url, KEY, "contact.changed", None)
        .await
        .expect("subscribe a");
    let b = zapier
        .subscribe(&app_url, KEY, "changed", Some("contacts"))
        .await
        .expect("subscribe b");
    let refused = zapier
        .subscribe(&app_url, "zk_not_a_key", "contact.changed", None)
        .await
        .err()
        .and_then(|e| e.status);
    assert_eq!(refused, Some(401), "a bad API key is refused");

    // Three contacts change in HubSpot; the engine brings them into the mirror; the
    // application creates one itself.
    let records = h.sim.records("contacts");
    let edited: Vec<String> = records.iter().take(3).map(|r| r.id.clone()).collect();
    for (i, id) in edited.iter().enumerate() {
        assert!(
            h.sim
                .edit("contacts", id, &[("firstname", &format!("Renamed{i}"))])
        );
    }
    let pulled = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(pulled.counts.updated_local, 3, "{:?}", pulled.counts);
    let mut local_ids = Vec::new();
    for id in &edited {
        local_ids.push(h.local_id(ObjectKind::Contact, id).await.to_string());
    }
    let created = h
        .write_local(
            ObjectKind::Contact,
            None,
            json!({"first_name": "Newcomer", "email": "newcomer@example.com"}),
        )
        .await;

    // Zapier throttles: four 429s with Retry-After before anything goes through.
    zapier.faults().rate_limit_burst(4, Some(1));
    let report = deliver().await;
    assert_eq!(report.events, 4, "{report:?}");
    assert_eq!(
        report.delivered, 8,
        "four events to each of two Zaps: {report:?}"
    );
    assert_eq!(report.dead_letters, 0, "{report:?}");

    // A record changes twice more: its events arrive in order, after the first one.
    let again = &edited[0];
    for name in ["Second", "Third"] {
        assert!(h.sim.edit("contacts", again, &[("firstname", name)]));
        h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
        deliver().await;
    }

    for sub in [&a, &b] {
        let events = got(&zapier, &sub.hook);
        assert_eq!(events.len(), 6, "{events:?}");
        let mut per_record: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (event, id, name) in &events {
            per_record
                .entry(id.as_str())
                .or_default()
                .push((event.as_str(), name.as_str()));
        }
        assert_eq!(
            per_record[local_ids[0].as_str()],
            [
                ("contact.updated", "Renamed0"),
                ("contact.updated", "Second"),
                ("contact.updated", "Third")
            ],
            "one record's changes, once each and in order"
        );
        for (i, id) in local_ids.iter().enumerate().skip(1) {
            assert_eq!(
                per_record[id.as_str()],
                [("contact.updated", format!("Renamed{i}").as_str())]
            );
        }
        assert_eq!(
            per_record[created.as_str()],
            [("contact.created", "Newcomer")]
        );
        let ids: std::collections::BTreeSet<String> = zapier
            .received(&sub.hook)
            .iter()
            .filter_map(|r| r.body["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(ids.len(), 6, "no event delivered twice");
    }

    // Zap B is turned off: it gets nothing more; A still does.
    zapier.unsubscribe(&b).await.expect("unsubscribe");
    let b_requests = zapier.requests(&b.hook);
    assert!(
        h.sim
            .edit("contacts", &edited[1], &[("firstname", "AfterOff")])
    );
    h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    let report = deliver().await;
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(zapier.requests(&b.hook), b_requests, "nothing sent to B");
    assert_eq!(got(&zapier, &a.hook).len(), 7);

    // Zap A is deleted on Zapier's side: its target answers 410 and is unsubscribed.
    zapier.gone(&a.hook);
    assert!(
        h.sim
            .edit("contacts", &edited[2], &[("firstname", "AfterGone")])
    );
    h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    let report = deliver().await;
    assert_eq!(report.unsubscribed, 1, "{report:?}");
    assert!(
        subscriptions
            .list(&h.tenant, &ObjectKind::Contact)
            .await
            .expect("list")
            .is_empty(),
        "410 Gone removed the last subscription"
    );
    let a_requests = zapier.requests(&a.hook);
    assert!(
        h.sim
            .edit("contacts", &edited[2], &[("firstname", "Later")])
    );
    h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    deliver().await;
    assert_eq!(
        zapier.requests(&a.hook),
        a_requests,
        "nothing sent after 410"
    );
}
