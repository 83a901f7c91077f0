//! The manual strategy end to end: conflict → review item → a person resolves it →
//! the next sync applies the decision → an audit row says who decided.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{fast_sim, harness_with};
use crmsync::{
    core::{
        ConflictStrategy, ObjectKind, ReviewChoice, ReviewFilter, ReviewKind, ReviewStatus,
        RunStatus, SyncMode,
    },
    engine::ConflictPolicy,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_conflict_is_parked_resolved_and_applied_with_an_audit_row() {
    let policy = ConflictPolicy::new(ConflictStrategy::RemoteWins).field(
        ObjectKind::Contact,
        "title",
        ConflictStrategy::Manual,
    );
    let h = harness_with(fast_sim(30, 0, 0), policy, |c| c).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let remote = h.sim.records("contacts")[2].clone();
    let local = h.local_id(ObjectKind::Contact, &remote.id).await;

    // Both sides change the title; the application also changes the city.
    h.write_local(
        ObjectKind::Contact,
        Some(local.clone()),
        json!({"title": "Local Title", "city": "Oslo"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    h.sim
        .edit("contacts", &remote.id, &[("jobtitle", "Remote Title")]);

    let parked = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(parked.status, RunStatus::Success, "{:?}", parked.error);
    assert_eq!(parked.counts.parked, 1, "{:?}", parked.counts);
    // The record's other fields kept syncing.
    assert_eq!(
        h.sim
            .get("contacts", &remote.id)
            .expect("remote")
            .properties["city"],
        "Oslo"
    );
    assert_eq!(
        h.sim
            .get("contacts", &remote.id)
            .expect("remote")
            .properties["jobtitle"],
        "Remote Title"
    );

    let pending = ReviewFilter {
        status: Some(ReviewStatus::Pending),
        ..ReviewFilter::default()
    };
    let items = h
        .store
        .list_review_items(&h.tenant, &pending)
        .await
        .expect("queue");
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(item.kind, ReviewKind::Conflict);
    assert_eq!(item.fields, vec!["title".to_owned()]);
    assert_eq!(item.local["title"], json!("Local Title"));
    assert_eq!(item.remote["title"], json!("Remote Title"));

    // Parking again (another sync before anyone decides) does not duplicate the item.
    let again = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(again.status, RunStatus::Success);
    assert_eq!(
        h.store
            .list_review_items(&h.tenant, &pending)
            .await
            .expect("queue")
            .len(),
        1
    );

    let id = item.id.expect("stored id");
    let mut decision = BTreeMap::new();
    decision.insert("title".to_owned(), ReviewChoice::Local);
    assert!(
        h.store
            .resolve_review_item(&h.tenant, id, decision, "ops@acme.example")
            .await
            .expect("resolve")
    );

    let applied = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(applied.status, RunStatus::Success, "{:?}", applied.error);
    assert_eq!(
        h.sim
            .get("contacts", &remote.id)
            .expect("remote")
            .properties["jobtitle"],
        "Local Title"
    );
    assert_eq!(
        h.local(ObjectKind::Contact, &local).await.expect("local")["title"],
        json!("Local Title")
    );
    let item = h
        .store
        .get_review_item(&h.tenant, id)
        .await
        .expect("get")
        .expect("item");
    assert_eq!(item.status, ReviewStatus::Applied);
    let audit = h
        .store
        .list_audit(&h.tenant, applied.run_id, 100)
        .await
        .expect("audit");
    let row = audit
        .iter()
        .find(|a| a.operation == "resolve_review")
        .expect("an audit row for the decision");
    assert_eq!(
        row.changes["review"]["resolved_by"],
        json!("ops@acme.example")
    );
    assert_eq!(row.changes["title"]["after"], json!("Local Title"));

    // Settled: nothing parks or writes any more.
    let quiet = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(
        (quiet.counts.parked, quiet.counts.conflicts),
        (0, 0),
        "{:?}",
        quiet.counts
    );
    assert_eq!(
        quiet.counts.updated_remote + quiet.counts.updated_local,
        0,
        "{:?}",
        quiet.counts
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_merge_keeps_both_sides_changes_and_falls_back_on_true_conflicts() {
    let policy = ConflictPolicy::new(ConflictStrategy::FieldMerge)
        .merge_fallback(ConflictStrategy::LocalWins);
    let h = harness_with(fast_sim(10, 0, 0), policy, |c| c).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let remote = h.sim.records("contacts")[1].clone();
    let local = h.local_id(ObjectKind::Contact, &remote.id).await;
    h.write_local(
        ObjectKind::Contact,
        Some(local.clone()),
        json!({"city": "Bergen", "title": "Local Title"}),
    )
    .await;
    h.sim.edit(
        "contacts",
        &remote.id,
        &[
            ("lastname", "Remote-Lastname"),
            ("jobtitle", "Remote Title"),
        ],
    );
    let report = h.sync(ObjectKind::Contact, SyncMode::Incremental).await;
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.conflicts, 1);
    let now = h
        .sim
        .get("contacts", &remote.id)
        .expect("remote")
        .properties;
    assert_eq!(now["city"], "Bergen");
    assert_eq!(now["lastname"], "Remote-Lastname");
    assert_eq!(
        now["jobtitle"], "Local Title",
        "the fallback decides the true conflict"
    );
    let row = h.local(ObjectKind::Contact, &local).await.expect("local");
    assert_eq!(row["last_name"], json!("Remote-Lastname"));
    assert_eq!(row["title"], json!("Local Title"));
}
