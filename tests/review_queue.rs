//! The manual strategy end to end: conflict → review item → a person resolves it →
//! the next sync applies the decision → an audit row says who decided.

mod common;

use std::{collections::BTreeMap, time::Duration};

use common::{fast_sim, harness_with};
use crmsync::{
    core::{
        ConflictStrategy, Direction, MatchResolution, ObjectKind, RecordId, ReviewChoice,
        ReviewFilter, ReviewKind, ReviewStatus, RunStatus, SyncMode,
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

/// Two CRM contacts could be the application's new record (same name and company, no
/// e-mail or phone to tell): nothing is created; the record waits for a person.
async fn park_an_ambiguous_match() -> (common::Harness, RecordId, [String; 2], i64) {
    let h = harness_with(fast_sim(5, 0, 0), ConflictPolicy::recommended(), |c| c).await;
    h.sync(ObjectKind::Contact, SyncMode::Full).await;
    let twins = [
        h.sim.create(
            "contacts",
            &[
                ("firstname", "Jane"),
                ("lastname", "Doe"),
                ("company", "Acme Corp"),
                ("email", "jane.doe@acme.example"),
            ],
        ),
        h.sim.create(
            "contacts",
            &[
                ("firstname", "Jane"),
                ("lastname", "Doe"),
                ("company", "Acme Corp"),
                ("email", "jdoe@acme.example"),
            ],
        ),
    ];
    let local = h
        .write_local(
            ObjectKind::Contact,
            None,
            json!({"first_name": "Jane", "last_name": "Doe", "company": "Acme Corp", "city": "Lyon"}),
        )
        .await;
    let push = |h: &common::Harness| {
        h.job(ObjectKind::Contact)
            .direction(Direction::Push)
            .mode(SyncMode::Incremental)
    };
    let parked = h.run(push(&h)).await;
    assert_eq!(parked.status, RunStatus::Success, "{:?}", parked.error);
    assert_eq!(parked.counts.parked, 1, "{:?}", parked.counts);
    assert_eq!(h.sim.records("contacts").len(), 7, "nothing created");
    let items = h
        .store
        .list_review_items(
            &h.tenant,
            &ReviewFilter {
                status: Some(ReviewStatus::Pending),
                ..ReviewFilter::default()
            },
        )
        .await
        .expect("queue");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].kind, ReviewKind::AmbiguousMatch);
    assert_eq!(items[0].local_id.as_ref(), Some(&local));
    let mut candidates: Vec<&str> = items[0].candidates.iter().map(|c| c.as_str()).collect();
    candidates.sort_unstable();
    let mut expected: Vec<&str> = twins.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(candidates, expected, "both look-alikes are candidates");
    (h, local, twins, items[0].id.expect("stored id"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_match_resolved_to_a_candidate_links_and_merges_without_creating() {
    let (h, local, twins, id) = park_an_ambiguous_match().await;
    let chosen = &twins[1];
    assert!(
        h.store
            .resolve_review_item(
                &h.tenant,
                id,
                MatchResolution::LinkTo(RecordId::new(chosen.as_str())).into_resolution(),
                "ops@acme.example",
            )
            .await
            .expect("resolve")
    );
    let applied = h
        .run(
            h.job(ObjectKind::Contact)
                .direction(Direction::Push)
                .mode(SyncMode::Incremental),
        )
        .await;
    assert_eq!(applied.status, RunStatus::Success, "{:?}", applied.error);
    assert_eq!(h.sim.records("contacts").len(), 7, "linked, not created");
    assert_eq!(
        h.remote_id(ObjectKind::Contact, &local).await.as_deref(),
        Some(chosen.as_str())
    );
    // Merged as a first link: the application's city reached the chosen contact.
    assert_eq!(
        h.sim.get("contacts", chosen).expect("chosen").properties["city"],
        "Lyon"
    );
    assert!(
        h.sim
            .get("contacts", &twins[0])
            .expect("other")
            .properties
            .get("city")
            != Some(&"Lyon".to_owned()),
        "the other look-alike is untouched"
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
    assert_eq!(row.changes["review"]["decision"]["link_to"], json!(chosen));

    // Settled: a full sync both ways parks nothing and creates nothing.
    let quiet = h.sync(ObjectKind::Contact, SyncMode::Full).await;
    assert_eq!(quiet.counts.parked, 0, "{:?}", quiet.counts);
    assert_eq!(h.sim.records("contacts").len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_match_resolved_as_new_is_created_once() {
    let (h, local, twins, id) = park_an_ambiguous_match().await;
    assert!(
        h.store
            .resolve_review_item(
                &h.tenant,
                id,
                MatchResolution::CreateNew.into_resolution(),
                "ops@acme.example",
            )
            .await
            .expect("resolve")
    );
    let push = h
        .job(ObjectKind::Contact)
        .direction(Direction::Push)
        .mode(SyncMode::Incremental);
    let applied = h.run(push.clone()).await;
    assert_eq!(applied.status, RunStatus::Success, "{:?}", applied.error);
    assert_eq!(h.sim.records("contacts").len(), 8, "created");
    let created = h
        .remote_id(ObjectKind::Contact, &local)
        .await
        .expect("linked to what it created");
    assert!(!twins.contains(&created));
    // Again: applied once, nothing more is created.
    h.run(push).await;
    assert_eq!(h.sim.records("contacts").len(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_for_a_record_gone_meanwhile_parks_it_again_saying_why() {
    let (h, _local, twins, id) = park_an_ambiguous_match().await;
    h.sim.archive("contacts", &twins[0]);
    h.store
        .resolve_review_item(
            &h.tenant,
            id,
            MatchResolution::LinkTo(RecordId::new(twins[0].as_str())).into_resolution(),
            "ops@acme.example",
        )
        .await
        .expect("resolve");
    let applied = h
        .run(
            h.job(ObjectKind::Contact)
                .direction(Direction::Push)
                .mode(SyncMode::Incremental),
        )
        .await;
    assert_eq!(applied.counts.parked, 1, "{:?}", applied.counts);
    let pending = h
        .store
        .list_review_items(
            &h.tenant,
            &ReviewFilter {
                status: Some(ReviewStatus::Pending),
                ..ReviewFilter::default()
            },
        )
        .await
        .expect("queue");
    assert_eq!(pending.len(), 1);
    assert!(
        pending[0].reason.contains("no longer exists"),
        "{}",
        pending[0].reason
    );
    assert_eq!(h.sim.records("contacts").len(), 6, "nothing created");
}
