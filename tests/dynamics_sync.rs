//! End-to-end: the engine keeps the application's mirror and a Dynamics 365 (Dataverse)
//! environment in step, against the Dataverse simulator.

#[path = "common/dynamics.rs"]
#[allow(dead_code)]
mod dv;

use std::time::{Duration, Instant};

use crmsync::{
    core::{ConflictStrategy, ObjectKind, RunStatus, SyncMode, SyncOptions},
    engine::ConflictPolicy,
};
use dv::{dv_harness, dv_sim};
use serde_json::json;

const CONTACT: ObjectKind = ObjectKind::Contact;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_incremental_via_the_delta_link_mirrors_dynamics() {
    let h = dv_harness(dv_sim(10_000), ConflictPolicy::default()).await;
    let started = Instant::now();
    let full = h.sync(CONTACT, SyncMode::Full).await;
    let elapsed = started.elapsed();
    assert_eq!(full.status, RunStatus::Success, "{:?}", full.error);
    assert_eq!(full.counts.created_local, 10_000);
    eprintln!(
        "dynamics full pull: 10000 contacts in {:.2} s ({:.0} records/s, {} pages)",
        elapsed.as_secs_f64(),
        10_000.0 / elapsed.as_secs_f64(),
        full.counts.pages
    );
    h.assert_in_step(CONTACT, "contact").await;

    let contacts = h.sim.records("contact");
    let changed: Vec<String> = contacts.iter().step_by(397).map(|r| r.id.clone()).collect();
    for id in &changed {
        assert!(
            h.sim
                .edit("contact", id, &[("jobtitle", json!("Changed in Dynamics"))])
        );
    }
    let deleted: Vec<String> = contacts
        .iter()
        .skip(5)
        .step_by(1_999)
        .map(|r| r.id.clone())
        .collect();
    for id in &deleted {
        assert!(h.sim.delete("contact", id));
    }
    h.sim.reset_stats();
    let incremental = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(
        incremental.status,
        RunStatus::Success,
        "{:?}",
        incremental.error
    );
    let c = &incremental.counts;
    assert_eq!(c.updated_local, changed.len() as u64, "{c:?}");
    assert_eq!(c.deleted_local, deleted.len() as u64, "{c:?}");
    assert!(
        c.pulled <= (changed.len() + deleted.len()) as u64,
        "only the delta: {c:?}"
    );
    let stats = h.sim.stats();
    assert!(
        stats.by_endpoint.get("delta").copied().unwrap_or(0) >= 1,
        "{stats:?}"
    );
    assert_eq!(
        stats.by_endpoint.get("list").copied().unwrap_or(0),
        0,
        "no rescan: {stats:?}"
    );
    h.assert_in_step(CONTACT, "contact").await;

    // Nothing changed: the next delta is empty and nothing is written.
    let quiet = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(quiet.status, RunStatus::Success, "{:?}", quiet.error);
    assert_eq!(quiet.counts.pulled, 0, "{:?}", quiet.counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_delta_token_falls_back_to_a_full_resync_without_losing_records() {
    let h = dv_harness(dv_sim(1_500), ConflictPolicy::default()).await;
    let full = h.sync(CONTACT, SyncMode::Full).await;
    assert_eq!(full.status, RunStatus::Success, "{:?}", full.error);
    let contacts = h.sim.records("contact");
    for r in contacts.iter().step_by(100) {
        h.sim.edit(
            "contact",
            &r.id,
            &[("address1_city", json!("Expired City"))],
        );
    }
    let new_id = h.sim.create(
        "contact",
        &[
            ("firstname", json!("Late")),
            ("lastname", json!("Arrival")),
            ("emailaddress1", json!("late.arrival@example.com")),
        ],
    );
    h.sim.expire_delta_tokens();
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
    assert_eq!(report.counts.created_local, 1, "{:?}", report.counts);
    assert_eq!(report.counts.updated_local, 15, "{:?}", report.counts);
    assert!(
        report.counts.pulled >= 1_501,
        "a full resync: {:?}",
        report.counts
    );
    assert_eq!(report.counts.dead_letters, 0);
    h.local_id(CONTACT, &new_id).await;
    h.assert_in_step(CONTACT, "contact").await;
    // The resync left a fresh delta link.
    let again = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(again.status, RunStatus::Success, "{:?}", again.error);
    assert_eq!(again.counts.pulled, 0, "{:?}", again.counts);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_creates_and_deletes_go_out_in_batches() {
    let h = dv_harness(dv_sim(40), ConflictPolicy::default()).await;
    h.sync(CONTACT, SyncMode::Full).await;
    let mut writes: Vec<_> = (0..250)
        .map(|i| (None, json!({"first_name": format!("Batch{i}"), "last_name": "Written", "email": format!("batch.{i}@example.com")})))
        .collect();
    // One the Web API refuses: a first name over 50 characters.
    writes.push((
        None,
        json!({"first_name": "x".repeat(60), "last_name": "TooLong"}),
    ));
    let ids = h.write_local(CONTACT, writes).await;
    let gone = h.local_id(CONTACT, &h.sim.records("contact")[3].id).await;
    h.store
        .mirror_delete(&h.tenant, &CONTACT, std::slice::from_ref(&gone))
        .await
        .expect("delete");
    h.sim.reset_stats();
    let report = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(report.counts.created_remote, 250, "{:?}", report.counts);
    assert_eq!(report.counts.deleted_remote, 1, "{:?}", report.counts);
    assert_eq!(report.counts.dead_letters, 1, "{:?}", report.counts);
    let stats = h.sim.stats();
    let batches = stats.by_endpoint.get("batch").copied().unwrap_or(0);
    assert!(
        batches <= 3,
        "a few $batch calls, not one per record: {stats:?}"
    );
    assert_eq!(h.write_operations(), 252, "{stats:?}");
    let remote = h.remote_id(CONTACT, &ids[0]).await.expect("linked");
    assert_eq!(
        h.sim
            .get("contact", &remote)
            .and_then(|r| r.str("lastname").map(str::to_owned)),
        Some("Written".to_owned())
    );
    assert_eq!(h.sim.records("contact").len(), 40 + 250 - 1);
}

async fn conflict(strategy: ConflictStrategy, local_last: bool) -> String {
    let h = dv_harness(dv_sim(20), ConflictPolicy::new(strategy)).await;
    h.sync(CONTACT, SyncMode::Full).await;
    let remote = h.sim.records("contact")[4].clone();
    let local = h.local_id(CONTACT, &remote.id).await;
    let edit_remote = || {
        h.sim.edit(
            "contact",
            &remote.id,
            &[("jobtitle", json!("Remote Title"))],
        )
    };
    if local_last {
        edit_remote();
        tokio::time::sleep(Duration::from_millis(1_100)).await;
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
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        edit_remote();
    }
    let report = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.conflicts, 1, "{:?}", report.counts);
    let in_crm = h.sim.get("contact", &remote.id).expect("remote").fields["jobtitle"].clone();
    let in_app = h.local(CONTACT, &local).await.expect("local")["title"].clone();
    assert_eq!(in_crm, in_app, "both sides agree");
    in_crm.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_conflict_resolves_by_strategy() {
    assert_eq!(
        conflict(ConflictStrategy::RemoteWins, true).await,
        "Remote Title"
    );
    assert_eq!(
        conflict(ConflictStrategy::LocalWins, false).await,
        "Local Title"
    );
    assert_eq!(
        conflict(ConflictStrategy::LastWriteWins, false).await,
        "Remote Title"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_sync_resumes_without_loss_or_duplicates() {
    let h = dv_harness(dv_sim(1_200), ConflictPolicy::default()).await;
    let options = |max_pages| SyncOptions {
        batch_size: Some(200),
        max_pages,
        ..SyncOptions::default()
    };
    let first = h.sync_with(CONTACT, options(Some(2))).await;
    assert_eq!(first.status, RunStatus::Partial);
    assert_eq!(first.counts.created_local, 400);
    let rest = h.sync_with(CONTACT, options(None)).await;
    assert_eq!(rest.status, RunStatus::Success, "{:?}", rest.error);
    assert_eq!(
        first.counts.created_local + rest.counts.created_local,
        1_200
    );
    assert!(
        rest.counts.pulled <= 800 + 200,
        "resumed from the next link: {:?}",
        rest.counts
    );
    h.assert_in_step(CONTACT, "contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_drains_with_no_dead_letters() {
    let h = dv_harness(dv_sim(800), ConflictPolicy::default()).await;
    // Authenticate and take the delta link first.
    let full = h.sync(CONTACT, SyncMode::Full).await;
    assert_eq!(full.status, RunStatus::Success, "{:?}", full.error);
    let writes = (0..120)
        .map(|i| (None, json!({"first_name": format!("Storm{i}"), "last_name": "Throttled", "email": format!("storm.{i}@example.com")})))
        .collect();
    h.write_local(CONTACT, writes).await;
    for r in h.sim.records("contact").iter().step_by(40) {
        h.sim
            .edit("contact", &r.id, &[("jobtitle", json!("During the storm"))]);
    }
    // Six 429s in a row, rotating through 0x80072322, 0x80072321 and 0x80072326.
    h.sim.faults().rate_limit_burst(6, Some(1));
    let report = h.sync(CONTACT, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(
        report.counts.dead_letters, 0,
        "throttling never dead-letters"
    );
    assert_eq!(report.counts.created_remote, 120, "{:?}", report.counts);
    assert!(h.sim.stats().throttled_429 >= 6, "{:?}", h.sim.stats());
    h.sim.faults().clear();
    h.assert_in_step(CONTACT, "contact").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_protection_window_paces_a_sync_without_failures() {
    let config = crmsync::sim::dynamics::DynamicsSimConfig {
        requests_per_window: 8,
        protection_window: Duration::from_secs(2),
        ..dv_sim(2_000)
    };
    let h = dv_harness(config, ConflictPolicy::default()).await;
    let report = h
        .sync_with(
            CONTACT,
            SyncOptions {
                batch_size: Some(100),
                ..SyncOptions::default()
            },
        )
        .await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.created_local, 2_000);
    assert_eq!(report.counts.dead_letters, 0);
    assert!(
        h.sim.stats().throttled_429 >= 1,
        "the window was hit: {:?}",
        h.sim.stats()
    );
}
