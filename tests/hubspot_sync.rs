//! End-to-end: the engine keeps the application's mirror and a HubSpot account in
//! step, against the HubSpot simulator.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{CONNECTION, fast_sim, harness, harness_with, strategy};
use crmsync::{
    core::{
        ConflictStrategy, DeadLetterStatus, Direction, ErrorKind, ObjectKind, RunStatus, SyncMode,
        SyncOptions,
    },
    engine::ConflictPolicy,
    sim::hubspot::HubSpotSimConfig,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_of_5000_contacts_mirrors_the_crm_field_by_field() {
    let h = harness(fast_sim(5_000, 0, 0)).await;
    let report = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.created_local, 5_000);
    assert_eq!(report.counts.dead_letters, 0);
    h.assert_in_step(ObjectKind::Contact).await;
    // Spot-check raw values against the simulator, not only through the mapping.
    let sample = &h.sim.records("contacts")[1234];
    let local = h
        .local(
            ObjectKind::Contact,
            &h.local_id(ObjectKind::Contact, &sample.id).await,
        )
        .await
        .expect("row");
    assert_eq!(local["first_name"], json!(sample.properties["firstname"]));
    assert_eq!(
        local["email"],
        json!(sample.properties["email"].to_lowercase())
    );
    assert!(
        local["phone"].as_str().is_some_and(|p| p.starts_with('+')),
        "phones are E.164: {}",
        local["phone"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sync_with_no_changes_makes_zero_write_calls() {
    let h = harness(fast_sim(300, 50, 60)).await;
    for object in [ObjectKind::Contact, ObjectKind::Company, ObjectKind::Deal] {
        let first = h.sync(object.clone(), SyncMode::Full).await;
        assert_eq!(
            first.status,
            RunStatus::Success,
            "{object}: {:?}",
            first.error
        );
    }
    let writes = h.write_calls();
    assert_eq!(
        writes, 0,
        "a pull into an empty application writes nothing to HubSpot"
    );
    for object in [ObjectKind::Contact, ObjectKind::Company, ObjectKind::Deal] {
        let again = h.sync(object.clone(), SyncMode::Incremental).await;
        assert_eq!(again.status, RunStatus::Success);
        let c = &again.counts;
        assert_eq!(
            (
                c.created_local,
                c.updated_local,
                c.created_remote,
                c.updated_remote
            ),
            (0, 0, 0, 0),
            "{object}: {c:?}"
        );
        let full = h.sync(object.clone(), SyncMode::Full).await;
        assert_eq!(
            full.counts.updated_local + full.counts.updated_remote,
            0,
            "{object}: {:?}",
            full.counts
        );
    }
    assert_eq!(h.write_calls(), 0, "echoes and re-reads never write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_picks_up_exactly_the_changed_records() {
    let h = harness(fast_sim(800, 0, 0)).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let contacts = h.sim.records("contacts");
    let changed: Vec<&str> = contacts.iter().step_by(97).map(|r| r.id.as_str()).collect();
    for id in &changed {
        h.sim.edit("contacts", id, &[("jobtitle", "Changed Title")]);
    }
    let report = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(
        report.counts.updated_local,
        changed.len() as u64,
        "{:?}",
        report.counts
    );
    assert_eq!(report.counts.created_local, 0);
    assert!(
        report.counts.pulled < 100,
        "incremental reads only recent changes: {:?}",
        report.counts
    );
    for id in &changed {
        let local = h
            .local(
                ObjectKind::Contact,
                &h.local_id(ObjectKind::Contact, id).await,
            )
            .await
            .expect("row");
        assert_eq!(local["title"], json!("Changed Title"));
    }
    h.assert_in_step(ObjectKind::Contact).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_sharing_one_timestamp_across_a_page_boundary_all_arrive() {
    let h = harness(fast_sim(600, 0, 0)).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let contacts = h.sim.records("contacts");
    let ids: Vec<String> = contacts.iter().take(250).map(|r| r.id.clone()).collect();
    for id in &ids {
        h.sim.edit("contacts", id, &[("city", "Same Instant")]);
    }
    h.sim.set_updated_at("contacts", &ids, Utc::now());
    let report = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert!(
        report.counts.pages >= 2,
        "250 changes span search pages of 200"
    );
    assert_eq!(report.counts.updated_local, 250, "{:?}", report.counts);
    h.assert_in_step(ObjectKind::Contact).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_windows_over_the_result_cap_lose_nothing() {
    // HubSpot's cap is 10,000 results per query; the same logic at a cap of 1,000
    // keeps the test fast. 2,600 changes need the window split; 1,300 of them share
    // one instant, more than the cap, so that instant is walked by id.
    let config = HubSpotSimConfig {
        search_max_results: 1_000,
        ..fast_sim(3_000, 0, 0)
    };
    let h = harness(config).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let contacts = h.sim.records("contacts");
    let changed: Vec<String> = contacts.iter().take(2_600).map(|r| r.id.clone()).collect();
    for id in &changed {
        h.sim.edit("contacts", id, &[("city", "Akureyri")]);
    }
    let same_instant: Vec<String> = changed[500..1_800].to_vec();
    h.sim.set_updated_at("contacts", &same_instant, Utc::now());
    let report = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.updated_local, 2_600, "{:?}", report.counts);
    // No request ran into the cap (a 400 there would be a failed request), and the
    // 2,600 changes took more than the capped window's share of search pages.
    assert_eq!(h.hubspot.client().stats().failures(), 0);
    let searches = h
        .sim
        .stats()
        .by_endpoint
        .get("search")
        .copied()
        .unwrap_or(0);
    assert!(searches >= 13, "{searches} search pages for 2,600 changes");
    h.assert_in_step(ObjectKind::Contact).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_window_over_10000_results_loses_nothing() {
    let h = harness(fast_sim(10_400, 0, 0)).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let contacts = h.sim.records("contacts");
    for r in &contacts {
        h.sim.edit("contacts", &r.id, &[("jobtitle", "Re-titled")]);
    }
    let report = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.updated_local, 10_400, "{:?}", report.counts);
    h.assert_in_step(ObjectKind::Contact).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_propagate_both_ways() {
    let h = harness(fast_sim(50, 20, 20)).await;
    for object in [ObjectKind::Contact, ObjectKind::Company] {
        h.sync(object.clone(), SyncMode::Full).await;
        let name = common::sim_name(&object);
        let records = h.sim.records(name);
        // Deleted in the CRM.
        h.sim.archive(name, &records[0].id);
        // Deleted in the application.
        let local = h.local_id(object.clone(), &records[1].id).await;
        h.store
            .mirror_delete(&h.tenant, &object, std::slice::from_ref(&local))
            .await
            .expect("delete");
        let report = h.sync(object.clone(), SyncMode::Incremental).await;
        assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
        assert_eq!(
            (report.counts.deleted_local, report.counts.deleted_remote),
            (1, 1),
            "{object}: {:?}",
            report.counts
        );
        assert!(
            h.sim.get(name, &records[1].id).is_none_or(|r| r.archived),
            "archived in HubSpot"
        );
        h.assert_in_step(object.clone()).await;
        let again = h.sync(object.clone(), SyncMode::Incremental).await;
        assert_eq!(
            again.counts.deleted_local + again.counts.deleted_remote,
            0,
            "deletes are not replayed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_records_are_pushed_and_linked() {
    let h = harness(fast_sim(10, 5, 0)).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let id = h
        .write_local(
            ObjectKind::Contact,
            None,
            json!({"first_name": "Grace", "last_name": "Hopper", "email": "Grace.Hopper@Navy.example", "phone": "+12127365000"}),
        )
        .await;
    let report = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(report.counts.created_remote, 1, "{:?}", report.counts);
    let remote_id = h.remote_id(ObjectKind::Contact, &id).await.expect("linked");
    let remote = h
        .sim
        .get("contacts", &remote_id)
        .expect("created in HubSpot");
    assert_eq!(remote.properties["firstname"], "Grace");
    assert_eq!(remote.properties["email"], "grace.hopper@navy.example");
    let again = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(
        again.counts.created_remote + again.counts.updated_remote + again.counts.updated_local,
        0,
        "{:?}",
        again.counts
    );
    h.assert_in_step(ObjectKind::Contact).await;
}

async fn conflict(policy: ConflictPolicy, local_last: bool) -> (String, String) {
    let h = harness_with(fast_sim(20, 0, 0), policy, |c| c).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let remote = h.sim.records("contacts")[3].clone();
    let local = h.local_id(ObjectKind::Contact, &remote.id).await;
    if local_last {
        h.sim
            .edit("contacts", &remote.id, &[("jobtitle", "Remote Title")]);
        tokio::time::sleep(Duration::from_millis(30)).await;
        h.write_local(
            ObjectKind::Contact,
            Some(local.clone()),
            json!({"title": "Local Title"}),
        )
        .await;
    } else {
        h.write_local(
            ObjectKind::Contact,
            Some(local.clone()),
            json!({"title": "Local Title"}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        h.sim
            .edit("contacts", &remote.id, &[("jobtitle", "Remote Title")]);
    }
    let report = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.conflicts, 1, "{:?}", report.counts);
    let in_crm = h
        .sim
        .get("contacts", &remote.id)
        .expect("remote")
        .properties["jobtitle"]
        .clone();
    let in_app = h.local(ObjectKind::Contact, &local).await.expect("local")["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(in_crm, in_app, "both sides agree after the conflict");
    let again = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(
        again.counts.conflicts, 0,
        "a resolved conflict stays resolved"
    );
    (in_crm, in_app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_strategy_resolves_a_conflicting_edit_as_configured() {
    let (crm, _) = conflict(strategy(ConflictStrategy::RemoteWins), true).await;
    assert_eq!(crm, "Remote Title");
    let (crm, _) = conflict(strategy(ConflictStrategy::LocalWins), false).await;
    assert_eq!(crm, "Local Title");
    let (crm, _) = conflict(strategy(ConflictStrategy::LastWriteWins), true).await;
    assert_eq!(crm, "Local Title", "the application wrote last");
    let (crm, _) = conflict(strategy(ConflictStrategy::LastWriteWins), false).await;
    assert_eq!(crm, "Remote Title", "HubSpot wrote last");
    let per_field = ConflictPolicy::new(ConflictStrategy::RemoteWins).field(
        ObjectKind::Contact,
        "title",
        ConflictStrategy::LocalWins,
    );
    let (crm, _) = conflict(per_field, false).await;
    assert_eq!(crm, "Local Title", "a per-field rule overrides the default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_sync_resumes_without_loss_or_duplicates() {
    let h = harness(fast_sim(1_000, 0, 0)).await;
    let options = SyncOptions {
        batch_size: Some(100),
        max_pages: Some(3),
        ..SyncOptions::default()
    };
    let first = h.sync_with(ObjectKind::Contact, options).await;
    assert_eq!(first.status, RunStatus::Partial);
    assert_eq!(first.counts.created_local, 300);
    let rest = h
        .sync_with(
            ObjectKind::Contact,
            SyncOptions {
                batch_size: Some(100),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(rest.status, RunStatus::Success, "{:?}", rest.error);
    assert_eq!(
        first.counts.created_local + rest.counts.created_local,
        1_000
    );
    assert!(
        rest.counts.pulled <= 700 + 100,
        "at most one page is read again: {:?}",
        rest.counts
    );
    h.assert_in_step(ObjectKind::Contact).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_bursts_server_errors_and_token_expiry_do_not_change_the_result() {
    let h = harness(fast_sim(700, 0, 0)).await;
    h.sim.faults().rate_limit_burst(5, None);
    h.sim.faults().server_errors(3);
    h.sim.faults().expire_tokens_every(4);
    let report = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.created_local, 700);
    let stats = h.sim.stats();
    assert!(stats.throttled_429 >= 5, "the burst was served: {stats:?}");
    // Local edits pushed through the same faults.
    let contacts = h.sim.records("contacts");
    for r in contacts.iter().take(150) {
        let id = h.local_id(ObjectKind::Contact, &r.id).await;
        h.write_local(ObjectKind::Contact, Some(id), json!({"city": "Reykjavik"}))
            .await;
    }
    h.sim.faults().rate_limit_burst(4, Some(1));
    h.sim.faults().server_errors(2);
    let push = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(push.status, RunStatus::Success, "{:?}", push.error);
    assert_eq!(push.counts.updated_remote, 150, "{:?}", push.counts);
    h.sim.faults().clear();
    h.assert_in_step(ObjectKind::Contact).await;
    assert!(
        h.sim.records("contacts").iter().take(150).all(|r| r
            .properties
            .get("city")
            .map(String::as_str)
            == Some("Reykjavik"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_responses_are_typed_errors_naming_the_endpoint() {
    let h = harness(fast_sim(50, 0, 0)).await;
    h.sim.faults().malformed_bodies(50);
    let report = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_eq!(report.status, RunStatus::Failed);
    let error = report.error.expect("an error");
    assert!(error.starts_with(ErrorKind::Decode.as_str()), "{error}");
    assert!(
        error.contains("/crm/v3/objects/contacts"),
        "names the endpoint: {error}"
    );
    h.sim.faults().clear();
    let retry = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(retry.status, RunStatus::Success, "{:?}", retry.error);
    h.assert_in_step(ObjectKind::Contact).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_records_go_to_dead_letters_and_the_rest_sync() {
    let h = harness(fast_sim(40, 0, 0)).await;
    let bad = h.sim.create(
        "contacts",
        &[
            ("firstname", "Bad"),
            ("lastname", "Phone"),
            ("email", "bad.phone@example.com"),
            ("phone", "not a phone"),
        ],
    );
    let report = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_eq!(report.status, RunStatus::Partial);
    assert_eq!(report.counts.dead_letters, 1);
    assert_eq!(report.counts.created_local, 40);
    let letters = h
        .store
        .list_dead_letters(&h.tenant, Some(DeadLetterStatus::Pending), 10)
        .await
        .expect("dlq");
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.record_id.as_str(), bad);
    assert_eq!(letter.direction, Direction::Pull);
    assert_eq!(letter.field.as_deref(), Some("phone"));
    assert_eq!(letter.rule.as_deref(), Some("phone_e164"));
    assert_eq!(letter.error_kind, "validation");
    assert!(
        letter.payload.to_string().contains("not a phone"),
        "the full payload is kept"
    );
    assert_eq!(letter.connection.as_str(), CONNECTION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_plans_and_writes_nothing() {
    let h = harness(fast_sim(30, 0, 0)).await;
    let report = h
        .sync_with(
            ObjectKind::Contact,
            SyncOptions {
                dry_run: true,
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(
        report.counts.created_local, 30,
        "the plan counts the creates"
    );
    assert!(report.run_id.is_none());
    assert_eq!(
        h.store
            .mirror_count(&h.tenant, &ObjectKind::Contact)
            .await
            .expect("count"),
        0
    );
    let runs = h
        .store
        .list_runs(&h.tenant, &Default::default())
        .await
        .expect("runs");
    assert!(runs.is_empty(), "a dry run leaves no history");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_and_audit_rows_account_for_every_write() {
    let h = harness(fast_sim(25, 0, 0)).await;
    let report = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let run_id = report.run_id.expect("a run id");
    let audit = h
        .store
        .list_audit(&h.tenant, Some(run_id), 1_000)
        .await
        .expect("audit");
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.operation == "create_local")
            .count(),
        25
    );
    let row = &audit[0];
    assert!(
        row.changes.get("email").is_some(),
        "per-field before/after: {}",
        row.changes
    );
    let runs = h
        .store
        .list_runs(&h.tenant, &Default::default())
        .await
        .expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Success);
    assert_eq!(runs[0].counts.created_local, 25);
    assert!(runs[0].finished_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_under_published_limits_draws_no_429() {
    // HubSpot's published limits: 100 requests per 10 s, search 5 per second.
    let config = HubSpotSimConfig {
        rate_limit_10s: 100,
        search_rate_per_s: 5,
        ..fast_sim(2_500, 0, 0)
    };
    let h = harness(config).await;
    let full = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_eq!(full.status, RunStatus::Success, "{:?}", full.error);
    for r in h.sim.records("contacts").iter().take(2_400) {
        h.sim.edit("contacts", &r.id, &[("jobtitle", "Paced")]);
    }
    // 2,400 changes: 12 search pages, more than 5 in a second unless paced.
    let incremental = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(
        incremental.status,
        RunStatus::Success,
        "{:?}",
        incremental.error
    );
    assert_eq!(incremental.counts.updated_local, 2_400);
    let stats = h.sim.stats();
    assert_eq!(
        stats.throttled_429, 0,
        "paced requests never draw a 429: {stats:?}"
    );
    assert!(stats.by_endpoint.get("search").copied().unwrap_or(0) >= 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_writing_a_page_and_committing_it_re_reads_one_page_without_duplicates() {
    let h = harness(fast_sim(1_000, 0, 0)).await;
    // The 4th page's local writes land, then the "process dies" before its commit.
    h.crash_local_on_write(4);
    let crashed = h
        .sync_with(
            ObjectKind::Contact,
            SyncOptions {
                batch_size: Some(100),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_ne!(crashed.status, RunStatus::Success);
    assert_eq!(
        crashed.counts.pages, 3,
        "three pages committed before the crash"
    );
    assert_eq!(
        h.store
            .mirror_count(&h.tenant, &ObjectKind::Contact)
            .await
            .expect("count"),
        400,
        "the 4th page's rows were written"
    );
    h.crash_local_on_write(usize::MAX);
    let resumed = h
        .sync_with(
            ObjectKind::Contact,
            SyncOptions {
                batch_size: Some(100),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(resumed.status, RunStatus::Success, "{:?}", resumed.error);
    assert!(
        resumed.counts.pulled <= 700 + 1,
        "only the page in flight is read again: {:?}",
        resumed.counts
    );
    assert_eq!(
        h.store
            .mirror_count(&h.tenant, &ObjectKind::Contact)
            .await
            .expect("count"),
        1_000,
        "no duplicates"
    );
    h.assert_in_step(ObjectKind::Contact).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_validation_records_failures_instead_of_enforcing_them() {
    let h = harness(fast_sim(10, 0, 0)).await;
    let bad = h.sim.create(
        "contacts",
        &[
            ("firstname", "Lax"),
            ("lastname", "Rules"),
            ("email", "lax@example.com"),
            ("phone", "not a phone"),
        ],
    );
    let report = h
        .sync_with(
            ObjectKind::Contact,
            SyncOptions {
                skip_validation: true,
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.dead_letters, 0);
    assert_eq!(report.counts.validation_warnings, 1);
    assert_eq!(
        report.counts.created_local, 11,
        "the record synced with its raw value"
    );
    let audit = h
        .store
        .list_audit(&h.tenant, report.run_id, 1_000)
        .await
        .expect("audit");
    let row = audit
        .iter()
        .find(|a| a.operation == "validation_skipped")
        .expect("the failure is recorded");
    assert_eq!(
        row.remote_id.as_ref().map(|r| r.as_str()),
        Some(bad.as_str())
    );
    assert_eq!(row.changes["warnings"][0]["field"], json!("phone"));
    assert_eq!(row.changes["warnings"][0]["rule"], json!("phone_e164"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_validation_records_outbound_failures_with_the_application_record() {
    let h = harness(fast_sim(5, 0, 0)).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let local = h
        .write_local(
            ObjectKind::Contact,
            None,
            json!({"first_name": "Lax", "last_name": "Outbound", "email": "lax.outbound@example.com",
                   "phone": "not a phone"}),
        )
        .await;
    let strict = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(strict.counts.dead_letters, 1, "{:?}", strict.counts);
    h.write_local(
        ObjectKind::Contact,
        Some(local.clone()),
        json!({"city": "Oslo"}),
    )
    .await;
    let report = h
        .sync_with(
            ObjectKind::Contact,
            SyncOptions {
                skip_validation: true,
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(report.counts.validation_warnings, 1, "{:?}", report.counts);
    assert_eq!(report.counts.created_remote, 1, "{:?}", report.counts);
    let audit = h
        .store
        .list_audit(&h.tenant, report.run_id, 1_000)
        .await
        .expect("audit");
    let row = audit
        .iter()
        .find(|a| a.operation == "validation_skipped")
        .expect("the outbound failure is recorded");
    assert_eq!(row.local_id.as_ref(), Some(&local));
    assert_eq!(row.changes["warnings"][0]["field"], json!("phone"));
}
