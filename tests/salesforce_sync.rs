//! End-to-end: the engine keeps the application's mirror and a Salesforce org in
//! step, against the Salesforce simulator.

#[path = "common/salesforce.rs"]
#[allow(dead_code)]
mod sf;

use std::time::Duration;

use chrono::Utc;
use crmsync::{
    core::{ConflictStrategy, DeadLetterStatus, ObjectKind, RunStatus, SyncMode, SyncOptions},
    engine::ConflictPolicy,
    sim::salesforce::SalesforceSimConfig,
};
use serde_json::json;
use sf::{sf_harness, sf_harness_with, sf_sim};

const CONTACT: ObjectKind = ObjectKind::Contact;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_incremental_sync_mirrors_salesforce() {
    let h = sf_harness(sf_sim(4_500), ConflictPolicy::default()).await;
    let full = h.sync(CONTACT, SyncMode::Full).await;
    assert_eq!(full.status, RunStatus::Success, "{:?}", full.error);
    assert_eq!(full.counts.created_local, 4_500);
    h.assert_in_step(CONTACT, "Contact").await;

    let contacts = h.sim.records("Contact");
    let changed: Vec<String> = contacts.iter().step_by(151).map(|r| r.id.clone()).collect();
    for id in &changed {
        h.sim
            .edit("Contact", id, &[("Title", json!("Changed in Salesforce"))]);
    }
    let incremental = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(
        incremental.status,
        RunStatus::Success,
        "{:?}",
        incremental.error
    );
    assert_eq!(
        incremental.counts.updated_local,
        changed.len() as u64,
        "{:?}",
        incremental.counts
    );
    assert!(incremental.counts.pulled < 200, "{:?}", incremental.counts);
    h.assert_in_step(CONTACT, "Contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_with_no_changes_writes_nothing() {
    let h = sf_harness(sf_sim(600), ConflictPolicy::default()).await;
    h.sync(CONTACT, SyncMode::Full).await;
    let before = h.write_calls();
    let again = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(again.status, RunStatus::Success, "{:?}", again.error);
    let c = &again.counts;
    assert_eq!(
        (
            c.created_local,
            c.updated_local,
            c.created_remote,
            c.updated_remote
        ),
        (0, 0, 0, 0),
        "{c:?}"
    );
    let full = h.sync(CONTACT, SyncMode::Full).await;
    assert_eq!(
        full.counts.updated_local + full.counts.updated_remote,
        0,
        "{:?}",
        full.counts
    );
    assert_eq!(h.write_calls(), before, "echoes never write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_system_modstamps_across_a_page_boundary_all_arrive() {
    let h = sf_harness(sf_sim(800), ConflictPolicy::default()).await;
    h.sync(CONTACT, SyncMode::Full).await;
    let ids: Vec<String> = h
        .sim
        .records("Contact")
        .iter()
        .take(450)
        .map(|r| r.id.clone())
        .collect();
    for id in &ids {
        h.sim
            .edit("Contact", id, &[("MailingCity", json!("Same Instant"))]);
    }
    h.sim.set_system_modstamp("Contact", &ids, Utc::now());
    let report = h
        .sync_with(
            CONTACT,
            SyncOptions {
                batch_size: Some(200),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.updated_local, 450, "{:?}", report.counts);
    h.assert_in_step(CONTACT, "Contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_propagate_both_ways() {
    let h = sf_harness(sf_sim(60), ConflictPolicy::default()).await;
    h.sync(CONTACT, SyncMode::Full).await;
    let records = h.sim.records("Contact");
    h.sim.delete("Contact", &records[0].id);
    let local = h.local_id(CONTACT, &records[1].id).await;
    h.store
        .mirror_delete(&h.tenant, &CONTACT, std::slice::from_ref(&local))
        .await
        .expect("delete");
    let report = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(
        (report.counts.deleted_local, report.counts.deleted_remote),
        (1, 1),
        "{:?}",
        report.counts
    );
    assert!(
        h.sim
            .get("Contact", &records[1].id)
            .is_none_or(|r| r.is_deleted)
    );
    h.assert_in_step(CONTACT, "Contact").await;
}

async fn conflict(strategy: ConflictStrategy, local_last: bool) -> String {
    let h = sf_harness(sf_sim(20), ConflictPolicy::new(strategy)).await;
    h.sync(CONTACT, SyncMode::Full).await;
    let remote = h.sim.records("Contact")[4].clone();
    let local = h.local_id(CONTACT, &remote.id).await;
    if local_last {
        h.sim
            .edit("Contact", &remote.id, &[("Title", json!("Remote Title"))]);
        tokio::time::sleep(Duration::from_millis(30)).await;
        h.write_local(
            CONTACT,
            vec![(Some(local.clone()), json!({"title": "Local Title"}))],
        )
        .await;
    } else {
        h.write_local(
            CONTACT,
            vec![(Some(local.clone()), json!({"title": "Local Title"}))],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        h.sim
            .edit("Contact", &remote.id, &[("Title", json!("Remote Title"))]);
    }
    let report = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.conflicts, 1, "{:?}", report.counts);
    let in_crm = h.sim.get("Contact", &remote.id).expect("remote").fields["Title"].clone();
    let in_app = h.local(CONTACT, &local).await.expect("local")["title"].clone();
    assert_eq!(in_crm, in_app, "both sides agree");
    in_crm.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_strategy_resolves_a_conflict_on_salesforce() {
    assert_eq!(
        conflict(ConflictStrategy::RemoteWins, true).await,
        "Remote Title"
    );
    assert_eq!(
        conflict(ConflictStrategy::LocalWins, false).await,
        "Local Title"
    );
    assert_eq!(
        conflict(ConflictStrategy::LastWriteWins, true).await,
        "Local Title"
    );
    assert_eq!(
        conflict(ConflictStrategy::LastWriteWins, false).await,
        "Remote Title"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_sync_resumes_without_loss_or_duplicates() {
    let h = sf_harness(sf_sim(1_200), ConflictPolicy::default()).await;
    let first = h
        .sync_with(
            CONTACT,
            SyncOptions {
                batch_size: Some(200),
                max_pages: Some(2),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(first.status, RunStatus::Partial);
    assert_eq!(first.counts.created_local, 400);
    let rest = h
        .sync_with(
            CONTACT,
            SyncOptions {
                batch_size: Some(200),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(rest.status, RunStatus::Success, "{:?}", rest.error);
    assert_eq!(
        first.counts.created_local + rest.counts.created_local,
        1_200
    );
    assert!(rest.counts.pulled <= 800 + 200, "{:?}", rest.counts);
    h.assert_in_step(CONTACT, "Contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry_and_throttling_mid_sync_do_not_change_the_result() {
    let h = sf_harness(sf_sim(3_000), ConflictPolicy::default()).await;
    h.sim.faults().expire_tokens_every(3);
    h.sim.faults().server_errors(2);
    let report = h
        .sync_with(
            CONTACT,
            SyncOptions {
                batch_size: Some(500),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.created_local, 3_000);
    assert!(
        h.sim.stats().unauthorized_401 >= 1,
        "sessions expired during the run"
    );
    h.sim.faults().clear();
    h.assert_in_step(CONTACT, "Contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_new_contacts_go_through_bulk_api_in_a_handful_of_calls() {
    let h = sf_harness(sf_sim(0), ConflictPolicy::default()).await;
    let writes = (0..10_000)
        .map(|i| (None, json!({"first_name": format!("Bulk{i}"), "last_name": "Loaded", "email": format!("bulk.{i}@example.com")})))
        .collect();
    h.write_local(CONTACT, writes).await;
    h.sim.reset_stats();
    let report = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.created_remote, 10_000, "{:?}", report.counts);
    assert_eq!(h.sim.records("Contact").len(), 10_000);
    let stats = h.sim.stats();
    let bulk_jobs = stats
        .by_endpoint
        .get("bulk_ingest_create")
        .copied()
        .unwrap_or(0);
    assert!((1..=5).contains(&bulk_jobs), "bulk jobs: {stats:?}");
    let writes: u64 = stats
        .by_endpoint
        .iter()
        .filter(|(k, _)| {
            k.starts_with("bulk_ingest")
                || k.starts_with("collections_create")
                || k.starts_with("collections_upsert")
        })
        .map(|(_, v)| *v)
        .sum();
    assert!(
        writes <= 40,
        "a handful of write calls, not hundreds: {stats:?}"
    );
    // Fields Salesforce fills in on create (OwnerId) arrive with the next pull; it
    // writes nothing back.
    let settle = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(settle.status, RunStatus::Success, "{:?}", settle.error);
    assert_eq!(
        settle.counts.created_remote + settle.counts.updated_remote,
        0,
        "{:?}",
        settle.counts
    );
    h.assert_in_step(CONTACT, "Contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hundred_fifty_contacts_go_through_one_collections_call_and_bad_ones_dead_letter() {
    let h = sf_harness(sf_sim(1), ConflictPolicy::default()).await;
    h.sync(CONTACT, SyncMode::Full).await;
    h.sim.add_duplicate_rule("Contact", "Phone");
    let existing = h.sim.records("Contact")[0].clone();
    let taken_phone = json!("+14155550123");
    h.sim
        .edit("Contact", &existing.id, &[("Phone", taken_phone.clone())]);
    let mut writes: Vec<_> = (0..148)
        .map(|i| (None, json!({"first_name": format!("Col{i}"), "last_name": "Lection", "email": format!("col.{i}@example.com")})))
        .collect();
    // A duplicate (by phone) of a contact already in Salesforce, and one without a last name.
    writes.push((None, json!({"first_name": "Dupe", "last_name": "Licate", "email": "dupe@example.com", "phone": taken_phone})));
    writes.push((
        None,
        json!({"first_name": "No", "email": "no.last.name@example.com"}),
    ));
    let ids = h.write_local(CONTACT, writes).await;
    h.sim.reset_stats();
    let report = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Partial, "{:?}", report.error);
    assert_eq!(report.counts.created_remote, 148, "{:?}", report.counts);
    assert_eq!(report.counts.dead_letters, 2, "{:?}", report.counts);
    let stats = h.sim.stats();
    let collection_writes: u64 = stats
        .by_endpoint
        .iter()
        .filter(|(k, _)| k.as_str() == "collections_create" || k.as_str() == "collections_upsert")
        .map(|(_, v)| *v)
        .sum();
    assert_eq!(
        collection_writes, 1,
        "one collections call for 150 records: {stats:?}"
    );
    let letters = h
        .store
        .list_dead_letters(&h.tenant, Some(DeadLetterStatus::Pending), 10)
        .await
        .expect("dlq");
    let mut reasons: Vec<String> = letters.iter().map(|l| l.error_message.clone()).collect();
    reasons.sort();
    assert!(
        reasons.iter().any(|r| r.contains("DUPLICATES_DETECTED")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("REQUIRED_FIELD_MISSING")),
        "{reasons:?}"
    );
    assert!(
        letters.iter().all(|l| ids.contains(&l.record_id)),
        "dead letters name the application's records"
    );
    assert_eq!(h.sim.records("Contact").len(), 149);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_budget_pauses_a_run_and_the_next_run_completes_it() {
    let config = SalesforceSimConfig {
        daily_api_limit: 1_000,
        ..sf_sim(5_000)
    };
    let h = sf_harness_with(config, ConflictPolicy::default(), |mut c| {
        c.daily_budget = 0.8;
        // Ask Salesforce again at once when paused (default: once a minute).
        c.budget_recheck = Duration::ZERO;
        c
    })
    .await;
    h.sim.set_api_usage(795);
    let paused = h
        .sync_with(
            CONTACT,
            SyncOptions {
                batch_size: Some(500),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(paused.status, RunStatus::Partial, "{:?}", paused.error);
    let reason = paused.error.clone().unwrap_or_default();
    assert!(
        reason.contains("budget"),
        "the reason names the budget: {reason}"
    );
    assert!(paused.counts.created_local < 5_000);
    // The next day: the allowance resets.
    h.sim.set_api_usage(0);
    let resumed = h
        .sync_with(
            CONTACT,
            SyncOptions {
                batch_size: Some(500),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(resumed.status, RunStatus::Success, "{:?}", resumed.error);
    assert_eq!(
        paused.counts.created_local + resumed.counts.created_local,
        5_000
    );
    h.assert_in_step(CONTACT, "Contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_limit_answers_pause_the_run_and_the_next_run_completes_it() {
    let h = sf_harness(sf_sim(2_500), ConflictPolicy::default()).await;
    let options = || SyncOptions {
        batch_size: Some(500),
        ..SyncOptions::default()
    };
    // Two pages in, Salesforce answers REQUEST_LIMIT_EXCEEDED: throttling, not a failure
    // of the records; the run stops after its last committed page.
    let first = h
        .sync_with(
            CONTACT,
            SyncOptions {
                max_pages: Some(2),
                ..options()
            },
        )
        .await;
    assert_eq!(first.counts.created_local, 1_000);
    h.sim.faults().rate_limit_burst(3, None);
    let throttled = h.sync_with(CONTACT, options()).await;
    assert_eq!(throttled.status, RunStatus::Failed, "{:?}", throttled.error);
    let reason = throttled.error.clone().unwrap_or_default();
    assert!(reason.starts_with("rate_limited"), "{reason}");
    assert_eq!(
        throttled.counts.dead_letters, 0,
        "throttling never dead-letters records"
    );
    h.sim.faults().clear();
    let resumed = h.sync_with(CONTACT, options()).await;
    assert_eq!(resumed.status, RunStatus::Success, "{:?}", resumed.error);
    assert_eq!(
        first.counts.created_local + resumed.counts.created_local,
        2_500
    );
    h.assert_in_step(CONTACT, "Contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_salesforce_responses_are_typed_errors_naming_the_endpoint() {
    let h = sf_harness(sf_sim(50), ConflictPolicy::default()).await;
    // Authenticate first, so the faults hit the API rather than the token endpoint.
    h.sync(CONTACT, SyncMode::Full).await;
    h.sim.faults().malformed_bodies(50);
    let report = h.sync(CONTACT, SyncMode::Full).await;
    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.unwrap_or_default();
    assert!(error.starts_with("decode"), "{error}");
    assert!(
        error.contains("/services/data/"),
        "names the endpoint: {error}"
    );
    h.sim.faults().clear();
    let again = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(again.status, RunStatus::Success, "{:?}", again.error);
    h.assert_in_step(CONTACT, "Contact").await;
}
