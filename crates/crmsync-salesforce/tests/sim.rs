//! The provider against the Salesforce simulator: bulk and collections writes,
//! per-record failures, the daily budget, equal timestamps across pages, deletes in
//! the feed and bulk query paging.

use std::{collections::BTreeSet, time::Duration};

use chrono::{TimeZone, Utc};
use crmsync_core::{
    ChangeKind, ChangesRequest, CrmProvider, Cursor, ErrorKind, Fields, MatchKey, ObjectKind,
    RecordId, WriteOp,
};
use crmsync_http::{BucketLimit, RetryPolicy};
use crmsync_salesforce::{SalesforceConfig, SalesforceProvider};
use crmsync_sim::salesforce::{SalesforceSim, SalesforceSimConfig};
use serde_json::{Value, json};

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn provider(sim: &SalesforceSim, connection: &str) -> SalesforceProvider {
    provider_with(sim, connection, |_| {})
}

fn provider_with(
    sim: &SalesforceSim,
    connection: &str,
    tweak: impl FnOnce(&mut SalesforceConfig),
) -> SalesforceProvider {
    let mut config = SalesforceConfig::refresh_token(
        sim.login_url(),
        sim.client_id(),
        sim.client_secret(),
        sim.refresh_token(),
    )
    .scope("sim-tests", connection)
    .external_id(ObjectKind::Contact, "External_Id__c");
    config.retry = RetryPolicy::fast();
    config.request_rate = BucketLimit::new("default", 1_000, Duration::from_secs(1));
    config.bulk_poll_interval = Duration::from_millis(5);
    tweak(&mut config);
    SalesforceProvider::new(config).expect("provider")
}

async fn start(contacts: usize) -> SalesforceSim {
    SalesforceSim::start(SalesforceSimConfig {
        contacts,
        accounts: 5,
        seed: 11,
        ..SalesforceSimConfig::default()
    })
    .await
    .expect("sim")
}

fn endpoint(sim: &SalesforceSim, name: &str) -> u64 {
    sim.stats().by_endpoint.get(name).copied().unwrap_or(0)
}

/// Reads the feed to completion; returns every change and the cursor to resume from.
async fn drain(
    sf: &SalesforceProvider,
    cursor: Option<Cursor>,
    full: bool,
    page_size: usize,
) -> (Vec<(String, ChangeKind)>, Option<Cursor>) {
    let mut request = ChangesRequest {
        cursor,
        page_size,
        full,
        fields: vec!["Email".into(), "LastName".into()],
        ..ChangesRequest::default()
    };
    let mut seen = Vec::new();
    for _ in 0..10_000 {
        let page = sf
            .changes(&ObjectKind::Contact, request.clone())
            .await
            .unwrap_or_else(|e| panic!("changes: {e}"));
        seen.extend(
            page.changes
                .into_iter()
                .map(|c| (c.record.id.as_str().to_owned(), c.kind)),
        );
        request.cursor = page.next;
        if page.complete {
            return (seen, request.cursor);
        }
    }
    panic!("the feed never completed");
}

#[tokio::test]
async fn ten_thousand_contacts_go_through_one_bulk_job_in_a_handful_of_calls() {
    let sim = start(0).await;
    let sf = provider(&sim, "bulk-ingest");
    let ops: Vec<WriteOp> = (0..10_000)
        .map(|i| WriteOp {
            key: format!("op-{i}"),
            id: None,
            idempotency_key: Some(format!("ext-{i}")),
            fields: fields(&[
                ("LastName", json!(format!("Bulk {i}"))),
                ("Email", json!(format!("bulk.{i}@example.com"))),
            ]),
        })
        .collect();
    sim.reset_stats();
    let outcomes = sf
        .upsert(&ObjectKind::Contact, ops.clone())
        .await
        .expect("bulk upsert");
    assert_eq!(outcomes.len(), 10_000);
    assert!(
        outcomes
            .iter()
            .all(|o| o.result.as_ref().is_ok_and(|w| w.created)),
        "every record created: {:?}",
        outcomes.iter().find(|o| o.result.is_err())
    );
    assert_eq!(sim.records("Contact").len(), 10_000);
    let stats = sim.stats();
    let calls = stats.requests - endpoint(&sim, "token");
    assert!(calls <= 10, "{calls} calls: {:?}", stats.by_endpoint);
    assert_eq!(endpoint(&sim, "bulk_ingest_create"), 1);
    // The same keys again upsert onto the same records.
    let again = sf
        .upsert(&ObjectKind::Contact, ops)
        .await
        .expect("bulk upsert again");
    assert!(
        again
            .iter()
            .all(|o| o.result.as_ref().is_ok_and(|w| !w.created))
    );
    assert_eq!(sim.records("Contact").len(), 10_000);
}

#[tokio::test]
async fn a_hundred_and_fifty_records_take_one_collections_call() {
    let sim = start(0).await;
    let sf = provider(&sim, "collections");
    let ops: Vec<WriteOp> = (0..150)
        .map(|i| WriteOp {
            key: format!("c-{i}"),
            id: None,
            idempotency_key: None,
            fields: fields(&[("LastName", json!(format!("Coll {i}")))]),
        })
        .collect();
    sim.reset_stats();
    let outcomes = sf.upsert(&ObjectKind::Contact, ops).await.expect("create");
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    assert_eq!(endpoint(&sim, "collections_create"), 1);
    assert_eq!(sim.stats().requests - endpoint(&sim, "token"), 1);
    let ids: Vec<RecordId> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok().map(|w| w.id.clone()))
        .collect();
    let updates: Vec<WriteOp> = ids
        .iter()
        .map(|id| WriteOp {
            key: id.as_str().to_owned(),
            id: Some(id.clone()),
            idempotency_key: None,
            fields: fields(&[("Title", json!("Updated"))]),
        })
        .collect();
    let updated = sf
        .upsert(&ObjectKind::Contact, updates)
        .await
        .expect("update");
    assert!(updated.iter().all(|o| o.result.is_ok()));
    assert_eq!(endpoint(&sim, "collections_update"), 1);
    let deleted = sf.delete(&ObjectKind::Contact, &ids).await.expect("delete");
    assert!(deleted.iter().all(|o| o.result.is_ok()));
    assert_eq!(endpoint(&sim, "collections_delete"), 1);
    assert!(sim.records("Contact").is_empty());
}

#[tokio::test]
async fn duplicates_and_missing_fields_fail_alone() {
    let sim = start(0).await;
    sim.add_duplicate_rule("Contact", "Email");
    sim.create(
        "Contact",
        &[
            ("LastName", json!("Taken")),
            ("Email", json!("taken@example.com")),
        ],
    );
    let sf = provider(&sim, "per-record");
    let op = |key: &str, f: Fields| WriteOp {
        key: key.into(),
        id: None,
        idempotency_key: None,
        fields: f,
    };
    let ops = vec![
        op("ok-1", fields(&[("LastName", json!("One"))])),
        op(
            "dup",
            fields(&[
                ("LastName", json!("Two")),
                ("Email", json!("TAKEN@example.com")),
            ]),
        ),
        op("missing", fields(&[("FirstName", json!("NoLast"))])),
        op("ok-2", fields(&[("LastName", json!("Three"))])),
    ];
    let outcomes = sf.upsert(&ObjectKind::Contact, ops).await.expect("batch");
    let by_key = |k: &str| outcomes.iter().find(|o| o.key == k).expect(k);
    assert!(by_key("ok-1").result.is_ok());
    assert!(by_key("ok-2").result.is_ok());
    let dup = by_key("dup").result.as_ref().expect_err("duplicate");
    assert_eq!(dup.kind(), ErrorKind::Conflict, "{dup}");
    assert_eq!(dup.context().record.as_deref(), Some("dup"));
    assert!(dup.message().contains("DUPLICATES_DETECTED"), "{dup}");
    let missing = by_key("missing").result.as_ref().expect_err("missing");
    assert_eq!(missing.kind(), ErrorKind::Validation, "{missing}");
    assert_eq!(missing.context().record.as_deref(), Some("missing"));
    assert_eq!(missing.context().field.as_deref(), Some("LastName"));
    assert_eq!(endpoint(&sim, "collections_create"), 1);
}

#[tokio::test]
async fn the_daily_budget_interrupts_the_run_before_the_limit() {
    let sim = SalesforceSim::start(SalesforceSimConfig {
        contacts: 500,
        seed: 3,
        daily_api_limit: 1_000,
        ..SalesforceSimConfig::default()
    })
    .await
    .expect("sim");
    sim.set_api_usage(795);
    let sf = provider(&sim, "budget");
    let mut request = ChangesRequest {
        page_size: 200,
        full: true,
        fields: vec!["Email".into()],
        ..ChangesRequest::default()
    };
    let mut pages = 0;
    let err = loop {
        let before = sim.stats().requests;
        match sf.changes(&ObjectKind::Contact, request.clone()).await {
            Ok(page) => {
                pages += 1;
                assert!(pages < 10, "the budget never stopped the run");
                request.cursor = page.next;
            }
            Err(err) => {
                assert_eq!(
                    sim.stats().requests,
                    before,
                    "no request sent past the budget"
                );
                break err;
            }
        }
    };
    assert!(pages >= 1, "calls under the budget go through");
    let (used, max) = sf.api_usage().expect("usage seen");
    assert_eq!(max, 1_000);
    assert!(used >= 800, "{used}");
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{err}");
    assert!(!err.is_retryable());
    assert!(err.message().contains("/1000"), "{err}");
    assert!(sim.stats().api_usage < 1_000);

    // Without a budget the org's own limit answers: throttling, not retried.
    sim.set_api_usage(1_000);
    let unbudgeted = provider_with(&sim, "no-budget", |c| c.daily_budget = 1.0);
    let err = unbudgeted
        .find(
            &ObjectKind::Contact,
            &[MatchKey::Email("x@example.com".into())],
            &["Email".into()],
        )
        .await
        .expect_err("limit");
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn equal_timestamps_across_page_boundaries_are_all_delivered() {
    let sim = start(450).await;
    let ids: Vec<String> = sim.records("Contact").into_iter().map(|r| r.id).collect();
    let instant = Utc
        .with_ymd_and_hms(2024, 5, 1, 10, 0, 0)
        .single()
        .expect("instant");
    sim.set_system_modstamp("Contact", &ids, instant);
    let sf = provider(&sim, "ties");
    let (seen, cursor) = drain(&sf, None, true, 200).await;
    let upserts: Vec<&String> = seen
        .iter()
        .filter(|(_, k)| *k == ChangeKind::Upsert)
        .map(|(id, _)| id)
        .collect();
    let unique: BTreeSet<&String> = upserts.iter().copied().collect();
    assert_eq!(upserts.len(), 450, "each record once");
    assert_eq!(unique.len(), 450);
    assert!(endpoint(&sim, "query_more") >= 2, "paged by nextRecordsUrl");

    // An incremental pass from the same instant, resumed by a new provider after
    // its first page, still delivers every tied record.
    let first = sf
        .changes(
            &ObjectKind::Contact,
            ChangesRequest {
                cursor,
                page_size: 200,
                ..ChangesRequest::default()
            },
        )
        .await
        .expect("page");
    let mut got: BTreeSet<String> = first
        .changes
        .iter()
        .map(|c| c.record.id.as_str().to_owned())
        .collect();
    let fresh = provider(&sim, "ties-resumed");
    let (rest, _) = drain(&fresh, first.next, false, 200).await;
    got.extend(rest.into_iter().map(|(id, _)| id));
    assert_eq!(got.len(), 450);
}

#[tokio::test]
async fn remote_edits_and_deletes_appear_in_the_incremental_feed() {
    let sim = start(30).await;
    let sf = provider(&sim, "deletes");
    let (_, cursor) = drain(&sf, None, true, 2_000).await;
    let records = sim.records("Contact");
    let (edited, deleted) = (records[0].id.clone(), records[1].id.clone());
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(sim.edit("Contact", &edited, &[("Title", json!("VP"))]));
    assert!(sim.delete("Contact", &deleted));
    let (seen, _) = drain(&sf, cursor, false, 2_000).await;
    assert!(seen.contains(&(edited, ChangeKind::Upsert)), "{seen:?}");
    assert!(seen.contains(&(deleted, ChangeKind::Delete)), "{seen:?}");
    assert!(
        endpoint(&sim, "query_all") >= 2,
        "deletes read through queryAll"
    );
}

#[tokio::test]
async fn a_large_full_pass_pages_a_bulk_query_by_locator() {
    let sim = start(2_500).await;
    let sf = provider_with(&sim, "bulk-query", |c| c.bulk_query_threshold = 1_000);
    sim.reset_stats();
    let (seen, cursor) = drain(&sf, None, true, 1_000).await;
    let ids: BTreeSet<String> = seen
        .iter()
        .filter(|(_, k)| *k == ChangeKind::Upsert)
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(ids.len(), 2_500);
    assert_eq!(
        seen.iter()
            .filter(|(_, k)| *k == ChangeKind::Upsert)
            .count(),
        2_500
    );
    assert_eq!(endpoint(&sim, "bulk_query_create"), 1);
    assert_eq!(endpoint(&sim, "bulk_query_results"), 3);
    assert_eq!(endpoint(&sim, "query_more"), 0);
    assert!(cursor.is_some());
}
