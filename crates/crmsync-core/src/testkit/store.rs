//! Store conformance: the [`SyncStore`] contract as plain async test functions.
//!
//! Every backend's tests call [`run_all`] (or the functions one by one) on a fresh
//! store. Each function works in tenants of its own, so they can share one store and
//! run in any order. They panic with a message on the first violation.
//!
//! ```ignore
//! #[tokio::test]
//! async fn sqlite_conforms() {
//!     let store = SqliteStore::in_memory(CredentialKey::generate()?).await?;
//!     crmsync_core::testkit::store::run_all(&store).await;
//! }
//! ```
//!
//! Stores may keep timestamps at microsecond precision; the instants used here are
//! whole milliseconds so every backend must return them unchanged.

use std::{
    collections::BTreeMap,
    future::Future,
    pin::pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll, Waker},
    time::Duration,
};

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::{
    AuditEntry, AuditOutcome, ConnectionConfig, ConnectionId, Credentials, Cursor, DeadLetter,
    DeadLetterStatus, Direction, Fields, Link, LinkKey, MirrorRecord, MirrorWrite, ObjectKind,
    ObjectReport, PageCommit, ProviderKind, RecordId, ReviewChoice, ReviewFilter, ReviewItem,
    ReviewKind, ReviewStatus, RunFilter, RunId, RunRecord, RunStatus, SyncMode, SyncStore,
    TenantId, WriteSource,
};

/// Runs every store conformance test against `store`.
pub async fn run_all(store: &dyn SyncStore) {
    connections_round_trip_with_redacted_debug(store).await;
    tenants_are_isolated(store).await;
    links_upsert_replace_and_delete(store).await;
    checkpoints_round_trip_and_clear(store).await;
    commit_page_is_atomic_and_stores_checkpoint(store).await;
    runs_history_round_trip(store).await;
    audit_log_round_trip(store).await;
    dead_letters_lifecycle(store).await;
    a_record_failing_again_updates_its_pending_letter(store).await;
    review_queue_lifecycle(store).await;
    mirror_patch_semantics_and_sequence(store).await;
    mirror_tombstones_and_revival(store).await;
    mirror_find_compares_field_text(store).await;
    mirror_find_normalizes_match_fields(store).await;
    mirror_find_by_person_key_leaves_out_linked_rows(store).await;
    create_intents_are_kept_until_settled_or_dropped(store).await;
    mirror_idempotency_key_prevents_duplicates(store).await;
    concurrent_mirror_writers_keep_the_sequence_unique(store).await;
    leases_are_exclusive_until_expiry(store).await;
    large_batches(store).await;
}

// ---------------------------------------------------------------------------------
// Helpers

/// A name no other test (or earlier run against the same database) uses.
fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!("{prefix}-{nanos:x}-{n}")
}

fn tenant(prefix: &str) -> TenantId {
    TenantId::new(unique(prefix))
}

/// Now plus `secs`, in whole milliseconds (exact in every backend).
fn at(secs: i64) -> DateTime<Utc> {
    let now = Utc::now().timestamp_millis();
    DateTime::from_timestamp_millis(now + secs * 1000).expect("a representable instant")
}

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        other => panic!("test fields must be a JSON object, not {other}"),
    }
}

fn key(connection: &str, object: ObjectKind) -> LinkKey {
    LinkKey {
        connection: ConnectionId::new(connection),
        object,
    }
}

fn ids(list: &[&str]) -> Vec<RecordId> {
    list.iter().map(|id| RecordId::new(*id)).collect()
}

fn link(local: &str, remote: &str, base: Value) -> Link {
    Link {
        local_id: local.into(),
        remote_id: remote.into(),
        base: fields(base),
        // Above i64::MAX: stores must keep all 64 bits.
        base_hash: u64::MAX - 12_345,
        remote_modified_at: Some(at(-60)),
        local_modified_at: None,
        synced_at: at(0),
    }
}

fn audit(connection: &str, object: ObjectKind, run: Option<RunId>, operation: &str) -> AuditEntry {
    AuditEntry {
        run_id: run,
        connection: connection.into(),
        object,
        local_id: Some("l-1".into()),
        remote_id: None,
        operation: operation.to_owned(),
        source: WriteSource::Remote,
        changes: json!({ "email": { "before": null, "after": "ada@example.com" } }),
        outcome: AuditOutcome::Success,
        error: None,
        at: at(0),
    }
}

fn dead_letter(connection: &str, record: &str) -> DeadLetter {
    DeadLetter {
        id: None,
        run_id: Some(RunId(7)),
        connection: connection.into(),
        object: ObjectKind::Contact,
        direction: Direction::Pull,
        record_id: record.into(),
        payload: json!({ "id": record, "properties": { "phone": "not a phone" } }),
        error_kind: "validation".to_owned(),
        error_message: "phone is not a phone number".to_owned(),
        field: Some("phone".to_owned()),
        rule: Some("phone_e164".to_owned()),
        attempts: 1,
        status: DeadLetterStatus::Pending,
        first_failed_at: at(-10),
        last_failed_at: at(-5),
    }
}

/// A record that fails again as it was (in a later page, or twice in one) keeps one
/// pending dead letter, counting every attempt; in another state, or once replayed, a
/// new failure is a new letter.
pub async fn a_record_failing_again_updates_its_pending_letter(store: &dyn SyncStore) {
    let t = tenant("dlq-again");
    let first = dead_letter("crm", "r-1");
    let mut commit = PageCommit::new("crm".into(), ObjectKind::Contact);
    commit.dead_letters = vec![first.clone(), dead_letter("crm", "r-2")];
    ok("commit_page", store.commit_page(&t, commit)).await;
    let mut again = PageCommit::new("crm".into(), ObjectKind::Contact);
    let mut second = dead_letter("crm", "r-1");
    second.error_message = "phone is still not a phone number".to_owned();
    second.first_failed_at = at(-2);
    second.last_failed_at = at(-1);
    let mut pushed = dead_letter("crm", "r-1");
    pushed.direction = Direction::Push;
    again.dead_letters = vec![second.clone(), second.clone(), pushed];
    ok("commit_page", store.commit_page(&t, again)).await;

    let pending = ok(
        "list_dead_letters",
        store.list_dead_letters(&t, Some(DeadLetterStatus::Pending), 100),
    )
    .await;
    let pulled: Vec<&DeadLetter> = pending
        .iter()
        .filter(|d| d.record_id.as_str() == "r-1" && d.direction == Direction::Pull)
        .collect();
    assert_eq!(
        pulled.len(),
        1,
        "one pending letter per record: {pending:?}"
    );
    let letter = pulled[0];
    assert_eq!(letter.attempts, 3, "every failure counted");
    assert_eq!(
        letter.error_message, second.error_message,
        "the latest failure"
    );
    assert_eq!(letter.last_failed_at, second.last_failed_at);
    assert_eq!(letter.first_failed_at, first.first_failed_at);
    assert_eq!(pending.len(), 3, "r-1 pulled, r-2, r-1 pushed: {pending:?}");

    // The same record failing in another state (an edit, a later event): its own letter.
    let mut edited = dead_letter("crm", "r-2");
    edited.payload = json!({ "id": "r-2", "properties": { "phone": "still not a phone" } });
    let mut fourth = PageCommit::new("crm".into(), ObjectKind::Contact);
    fourth.dead_letters = vec![edited];
    ok("commit_page", store.commit_page(&t, fourth)).await;
    let r2 = ok(
        "list_dead_letters",
        store.list_dead_letters(&t, Some(DeadLetterStatus::Pending), 100),
    )
    .await
    .into_iter()
    .filter(|d| d.record_id.as_str() == "r-2")
    .count();
    assert_eq!(r2, 2, "a letter per state of the record");

    // Replayed, then failing again: a new letter.
    let id = letter.id.expect("id");
    assert!(
        ok(
            "update_dead_letter",
            store.update_dead_letter(&t, id, DeadLetterStatus::Replayed, false),
        )
        .await
    );
    let mut third = PageCommit::new("crm".into(), ObjectKind::Contact);
    third.dead_letters = vec![dead_letter("crm", "r-1")];
    ok("commit_page", store.commit_page(&t, third)).await;
    let all = ok("list_dead_letters", store.list_dead_letters(&t, None, 100)).await;
    assert_eq!(all.len(), 5, "{all:?}");
}

/// A pending review item parked 30 seconds ago: a conflict on email and phone, or an
/// ambiguous match with two candidates.
fn review(
    connection: &str,
    object: ObjectKind,
    kind: ReviewKind,
    local: Option<&str>,
    remote: Option<&str>,
) -> ReviewItem {
    let (names, base, local_values, remote_values, candidates) = match kind {
        ReviewKind::Conflict => (
            vec!["email".to_owned(), "phone".to_owned()],
            json!({ "email": "old@x.io", "phone": null }),
            json!({ "email": "local@x.io", "phone": "+1 555 0100" }),
            json!({ "email": "remote@x.io", "phone": "+44 20 7946 0000" }),
            Vec::new(),
        ),
        ReviewKind::AmbiguousMatch => (
            Vec::new(),
            json!({}),
            json!({ "email": "ada@x.io", "first_name": "Ada", "score": 0.5 }),
            json!({}),
            ids(&["r-7", "r-8"]),
        ),
    };
    ReviewItem {
        id: None,
        connection: connection.into(),
        object,
        kind,
        local_id: local.map(RecordId::from),
        remote_id: remote.map(RecordId::from),
        fields: names,
        base: fields(base),
        local: fields(local_values),
        remote: fields(remote_values),
        candidates,
        reason: format!("{} needs a decision", kind.as_str()),
        status: ReviewStatus::Pending,
        resolution: BTreeMap::new(),
        resolved_by: None,
        resolved_at: None,
        created_at: at(-30),
        updated_at: at(-30),
    }
}

async fn reviews(
    store: &dyn SyncStore,
    tenant: &TenantId,
    filter: ReviewFilter,
) -> Vec<ReviewItem> {
    ok(
        "list_review_items",
        store.list_review_items(tenant, &filter),
    )
    .await
}

fn review_ids(items: &[ReviewItem]) -> Vec<i64> {
    items.iter().filter_map(|item| item.id).collect()
}

fn run_record(connection: &str, object: ObjectKind) -> RunRecord {
    RunRecord {
        id: None,
        connection: connection.into(),
        object,
        direction: Direction::Both,
        mode: SyncMode::Incremental,
        status: RunStatus::Running,
        started_at: at(0),
        finished_at: None,
        counts: ObjectReport::default(),
        error: None,
        configuration: json!({ "batch_size": 100, "dry_run": false }),
    }
}

fn write(id: Option<&str>, key: Option<&str>, patch: Value) -> MirrorWrite {
    MirrorWrite {
        id: id.map(RecordId::from),
        fields: fields(patch),
        idempotency_key: key.map(str::to_owned),
    }
}

fn connection(id: &str, secret: &str) -> ConnectionConfig {
    ConnectionConfig {
        id: id.into(),
        provider: ProviderKind::Hubspot,
        settings: json!({ "portal_id": 4242, "base_url": "http://127.0.0.1:9" }),
        credentials: Credentials::new()
            .with("access_token", secret)
            .with("refresh_token", format!("{secret}-refresh")),
    }
}

async fn last_seq(store: &dyn SyncStore, tenant: &TenantId, object: &ObjectKind) -> i64 {
    store
        .mirror_changes(tenant, object, 0, u32::MAX)
        .await
        .expect("mirror_changes")
        .last()
        .map_or(0, |r| r.seq)
}

async fn ok<T>(what: &str, fut: impl Future<Output = crate::Result<T>>) -> T {
    match fut.await {
        Ok(value) => value,
        Err(err) => panic!("{what} failed: {err}"),
    }
}

// ---------------------------------------------------------------------------------
// Connections

/// Connections round-trip with their secrets, which `Debug` never shows; listing is
/// sorted, a put replaces, a delete removes only the connection.
pub async fn connections_round_trip_with_redacted_debug(store: &dyn SyncStore) {
    let t = tenant("conn");
    let secret = "tok-5f0e1d2c3b4a-SECRET";
    let conn = connection("hubspot-main", secret);
    let debug = format!("{conn:?}");
    assert!(
        !debug.contains(secret),
        "Debug of a connection leaks its secret: {debug}"
    );
    ok("put_connection", store.put_connection(&t, &conn)).await;
    let mut other = connection("a-salesforce", "sf-secret");
    other.provider = ProviderKind::Other("pipedrive".to_owned());
    ok("put_connection", store.put_connection(&t, &other)).await;

    let got = ok("get_connection", store.get_connection(&t, &conn.id))
        .await
        .expect("a stored connection is found");
    assert_eq!(got.id, conn.id);
    assert_eq!(got.provider, ProviderKind::Hubspot);
    assert_eq!(got.settings, conn.settings, "settings round-trip");
    assert_eq!(
        got.credentials.names().collect::<Vec<_>>(),
        vec!["access_token", "refresh_token"]
    );
    assert_eq!(
        got.credentials
            .get("access_token")
            .map(|s| s.expose_secret().to_owned()),
        Some(secret.to_owned()),
        "credentials decrypt to what was stored"
    );
    assert!(
        !format!("{got:?}").contains(secret),
        "Debug of a read connection leaks"
    );
    let got_other = ok("get_connection", store.get_connection(&t, &other.id))
        .await
        .expect("second connection");
    assert_eq!(
        got_other.provider,
        ProviderKind::Other("pipedrive".to_owned())
    );

    assert_eq!(
        ok("list_connections", store.list_connections(&t)).await,
        vec![
            ConnectionId::new("a-salesforce"),
            ConnectionId::new("hubspot-main")
        ],
        "connections are listed by id"
    );

    let mut replaced = connection("hubspot-main", "rotated-token");
    replaced.settings = json!({ "portal_id": 7 });
    ok("put_connection", store.put_connection(&t, &replaced)).await;
    let got = ok("get_connection", store.get_connection(&t, &conn.id))
        .await
        .expect("replaced connection");
    assert_eq!(
        got.settings,
        json!({ "portal_id": 7 }),
        "a put replaces settings"
    );
    assert_eq!(
        got.credentials
            .get("access_token")
            .map(|s| s.expose_secret().to_owned()),
        Some("rotated-token".to_owned()),
        "a put replaces credentials"
    );

    // A connection's links stay when the connection goes ("removes nothing else").
    let mut commit = PageCommit::new(conn.id.clone(), ObjectKind::Contact);
    commit
        .upsert_links
        .push(link("l-1", "r-1", json!({ "a": 1 })));
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert!(ok("delete_connection", store.delete_connection(&t, &conn.id)).await);
    assert!(
        !ok("delete_connection", store.delete_connection(&t, &conn.id)).await,
        "deleting twice reports false"
    );
    assert!(
        ok("get_connection", store.get_connection(&t, &conn.id))
            .await
            .is_none()
    );
    assert_eq!(
        ok(
            "count_links",
            store.count_links(&t, &key("hubspot-main", ObjectKind::Contact))
        )
        .await,
        1,
        "delete_connection removes nothing else"
    );
    assert!(
        ok(
            "get_connection",
            store.get_connection(&t, &ConnectionId::new("missing"))
        )
        .await
        .is_none()
    );
}

// ---------------------------------------------------------------------------------
// Tenant isolation

/// Tenant A can never read or change tenant B's rows, whatever ids it passes.
pub async fn tenants_are_isolated(store: &dyn SyncStore) {
    let a = tenant("iso-a");
    let b = tenant("iso-b");
    let conn_id = ConnectionId::new("crm");
    let k = key("crm", ObjectKind::Contact);
    let object = ObjectKind::Contact;

    // Tenant B's world.
    ok(
        "put_connection",
        store.put_connection(&b, &connection("crm", "b-secret")),
    )
    .await;
    let run_b = ok(
        "start_run",
        store.start_run(&b, &run_record("crm", object.clone())),
    )
    .await;
    let mut commit = PageCommit::new(conn_id.clone(), object.clone());
    commit.upsert_links = vec![
        link("l-1", "r-1", json!({ "n": 1 })),
        link("l-2", "r-2", json!({})),
    ];
    commit
        .audit
        .push(audit("crm", object.clone(), Some(run_b), "update_local"));
    commit.dead_letters.push(dead_letter("crm", "r-9"));
    commit.review_items = vec![
        review(
            "crm",
            object.clone(),
            ReviewKind::Conflict,
            Some("l-1"),
            Some("r-1"),
        ),
        review(
            "crm",
            object.clone(),
            ReviewKind::AmbiguousMatch,
            None,
            Some("r-5"),
        ),
    ];
    commit.checkpoint = Some((Direction::Pull, Cursor::new("b-cursor")));
    ok("commit_page", store.commit_page(&b, commit)).await;
    let b_review_ids = review_ids(&reviews(store, &b, ReviewFilter::default()).await);
    assert_eq!(b_review_ids.len(), 2, "B's review items are parked");
    let (b_resolved, b_pending) = (b_review_ids[0], b_review_ids[1]);
    assert!(
        ok(
            "resolve_review_item",
            store.resolve_review_item(
                &b,
                b_resolved,
                BTreeMap::from([("email".to_owned(), ReviewChoice::Local)]),
                "b-operator"
            )
        )
        .await
    );
    let b_reviews = reviews(store, &b, ReviewFilter::default()).await;
    let b_rows = ok(
        "mirror_write",
        store.mirror_write(
            &b,
            &object,
            vec![
                write(Some("m-1"), None, json!({ "email": "b@example.com" })),
                write(None, Some("b-key"), json!({ "email": "b2@example.com" })),
            ],
        ),
    )
    .await;
    let b_seq = last_seq(store, &b, &object).await;
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&b, "sync/crm/contact", "worker-b", Duration::from_secs(60))
        )
        .await
    );
    let b_letters = ok("list_dead_letters", store.list_dead_letters(&b, None, 10)).await;
    let b_letter_id = b_letters[0].id.expect("dead letters get ids");

    // Tenant A sees none of it.
    assert!(
        ok("get_connection", store.get_connection(&a, &conn_id))
            .await
            .is_none()
    );
    assert!(
        ok("list_connections", store.list_connections(&a))
            .await
            .is_empty()
    );
    assert!(
        ok(
            "links_by_remote",
            store.links_by_remote(&a, &k, &ids(&["r-1", "r-2"]))
        )
        .await
        .is_empty()
    );
    assert!(
        ok(
            "links_by_local",
            store.links_by_local(&a, &k, &ids(&["l-1", "l-2"]))
        )
        .await
        .is_empty()
    );
    assert_eq!(ok("count_links", store.count_links(&a, &k)).await, 0);
    assert!(
        ok("checkpoint", store.checkpoint(&a, &k, Direction::Pull))
            .await
            .is_none()
    );
    assert!(
        ok("list_runs", store.list_runs(&a, &RunFilter::default()))
            .await
            .is_empty()
    );
    assert!(
        ok("list_audit", store.list_audit(&a, None, 100))
            .await
            .is_empty()
    );
    assert!(
        ok("list_audit", store.list_audit(&a, Some(run_b), 100))
            .await
            .is_empty()
    );
    assert!(
        ok("list_dead_letters", store.list_dead_letters(&a, None, 100))
            .await
            .is_empty()
    );
    assert!(
        ok(
            "mirror_get",
            store.mirror_get(&a, &object, &[b_rows[0].id.clone(), b_rows[1].id.clone()])
        )
        .await
        .is_empty()
    );
    assert!(
        ok("mirror_changes", store.mirror_changes(&a, &object, 0, 100))
            .await
            .is_empty()
    );
    assert!(
        ok(
            "mirror_find",
            store.mirror_find(&a, &object, "email", &["b@example.com".to_owned()])
        )
        .await
        .is_empty()
    );
    assert_eq!(ok("mirror_count", store.mirror_count(&a, &object)).await, 0);
    assert!(reviews(store, &a, ReviewFilter::default()).await.is_empty());
    for id in [b_resolved, b_pending] {
        assert!(
            ok("get_review_item", store.get_review_item(&a, id))
                .await
                .is_none(),
            "another tenant's review item is not found"
        );
    }

    // Tenant A cannot change any of it.
    assert!(!ok("delete_connection", store.delete_connection(&a, &conn_id)).await);
    ok(
        "put_connection",
        store.put_connection(&a, &connection("crm", "a-secret")),
    )
    .await;
    let mut commit = PageCommit::new(conn_id.clone(), object.clone());
    commit.delete_links = ids(&["l-1"]);
    commit.upsert_links = vec![link("l-2", "r-x", json!({ "by": "a" }))];
    commit.checkpoint = Some((Direction::Pull, Cursor::new("a-cursor")));
    // The same key as B's pending item, and B's resolved item to apply.
    let mut a_review = review(
        "crm",
        object.clone(),
        ReviewKind::AmbiguousMatch,
        None,
        Some("r-5"),
    );
    a_review.candidates = ids(&["a-1"]);
    a_review.reason = "tenant a was here".to_owned();
    commit.review_items = vec![a_review];
    commit.applied_reviews = vec![b_resolved, b_pending];
    ok("commit_page", store.commit_page(&a, commit)).await;
    assert!(
        !ok(
            "resolve_review_item",
            store.resolve_review_item(&a, b_pending, BTreeMap::new(), "a-operator")
        )
        .await,
        "another tenant's review item cannot be resolved"
    );
    assert!(
        !ok(
            "dismiss_review_item",
            store.dismiss_review_item(&a, b_pending, "a-operator")
        )
        .await,
        "another tenant's review item cannot be dismissed"
    );
    let a_reviews = reviews(store, &a, ReviewFilter::default()).await;
    assert_eq!(a_reviews.len(), 1, "A parks its own item");
    assert!(
        !b_review_ids.contains(&a_reviews[0].id.expect("review items get ids")),
        "pending review items are unique per tenant"
    );
    ok(
        "clear_checkpoint",
        store.clear_checkpoint(&a, &k, Direction::Pull),
    )
    .await;
    let mut finished = run_record("crm", object.clone());
    finished.id = Some(run_b);
    finished.status = RunStatus::Failed;
    finished.error = Some("tenant a was here".to_owned());
    let _ = store.finish_run(&a, &finished).await; // an error or a no-op; never B's row
    assert!(
        !ok(
            "update_dead_letter",
            store.update_dead_letter(&a, b_letter_id, DeadLetterStatus::Discarded, true)
        )
        .await,
        "another tenant's dead letter is not found"
    );
    assert_eq!(
        ok(
            "mirror_delete",
            store.mirror_delete(&a, &object, &[b_rows[0].id.clone()])
        )
        .await,
        0,
        "another tenant's mirror rows cannot be deleted"
    );
    let a_rows = ok(
        "mirror_write",
        store.mirror_write(
            &a,
            &object,
            vec![
                write(Some("m-1"), None, json!({ "email": "a@example.com" })),
                write(None, Some("b-key"), json!({ "email": "a2@example.com" })),
            ],
        ),
    )
    .await;
    assert_ne!(
        a_rows[1].id, b_rows[1].id,
        "idempotency keys are per tenant"
    );
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&a, "sync/crm/contact", "worker-a", Duration::from_secs(60))
        )
        .await,
        "leases are per tenant"
    );
    ok(
        "release_lease",
        store.release_lease(&a, "sync/crm/contact", "worker-b"),
    )
    .await;

    // Tenant B's world is unchanged.
    let got = ok("get_connection", store.get_connection(&b, &conn_id))
        .await
        .expect("B's connection");
    assert_eq!(
        got.credentials
            .get("access_token")
            .map(|s| s.expose_secret().to_owned()),
        Some("b-secret".to_owned())
    );
    let links = ok(
        "links_by_local",
        store.links_by_local(&b, &k, &ids(&["l-1", "l-2"])),
    )
    .await;
    assert_eq!(links.len(), 2, "B's links survive A's commit");
    assert_eq!(links[1].remote_id, RecordId::new("r-2"));
    assert_eq!(
        ok("checkpoint", store.checkpoint(&b, &k, Direction::Pull))
            .await
            .map(|c| c.cursor),
        Some(Cursor::new("b-cursor"))
    );
    let runs = ok("list_runs", store.list_runs(&b, &RunFilter::default())).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].status,
        RunStatus::Running,
        "A cannot finish B's run"
    );
    assert_eq!(runs[0].error, None);
    let letters = ok("list_dead_letters", store.list_dead_letters(&b, None, 10)).await;
    assert_eq!(letters, b_letters, "A cannot touch B's dead letters");
    assert_eq!(
        reviews(store, &b, ReviewFilter::default()).await,
        b_reviews,
        "A cannot touch B's review items"
    );
    let rows = ok(
        "mirror_get",
        store.mirror_get(&b, &object, &[b_rows[0].id.clone(), b_rows[1].id.clone()]),
    )
    .await;
    assert_eq!(rows, b_rows, "B's mirror rows are unchanged");
    assert_eq!(
        last_seq(store, &b, &object).await,
        b_seq,
        "A's writes never advance B's sequence"
    );
    assert!(
        !ok(
            "acquire_lease",
            store.acquire_lease(&b, "sync/crm/contact", "worker-c", Duration::from_secs(60))
        )
        .await,
        "A cannot release B's lease"
    );
    assert_eq!(
        ok("list_audit", store.list_audit(&b, None, 100))
            .await
            .len(),
        1
    );
}

// ---------------------------------------------------------------------------------
// Links and checkpoints

/// Links are found by either id; an upsert replaces any link with the same local or
/// remote id; deletes remove by local id; unknown ids are left out.
pub async fn links_upsert_replace_and_delete(store: &dyn SyncStore) {
    let t = tenant("links");
    let k = key("crm", ObjectKind::Contact);
    let l1 = link(
        "l-1",
        "r-1",
        json!({ "email": "a@x.io", "n": 1.5, "tags": ["a"] }),
    );
    let l2 = link("l-2", "r-2", json!({}));
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.upsert_links = vec![l1.clone(), l2.clone()];
    ok("commit_page", store.commit_page(&t, commit)).await;

    assert_eq!(
        ok(
            "links_by_remote",
            store.links_by_remote(&t, &k, &ids(&["r-2", "missing", "r-1", "r-2"]))
        )
        .await,
        vec![l2.clone(), l1.clone()],
        "links by remote id, in request order, unknown and repeated ids left out"
    );
    assert_eq!(
        ok(
            "links_by_local",
            store.links_by_local(&t, &k, &ids(&["l-1"]))
        )
        .await,
        vec![l1.clone()],
        "a link round-trips exactly (base, 64-bit hash, timestamps)"
    );
    assert!(
        ok("links_by_local", store.links_by_local(&t, &k, &[]))
            .await
            .is_empty()
    );
    let other_object = key("crm", ObjectKind::Custom("tk_widget".to_owned()));
    let other_connection = key("crm-2", ObjectKind::Contact);
    assert!(
        ok(
            "links_by_remote",
            store.links_by_remote(&t, &other_object, &ids(&["r-1"]))
        )
        .await
        .is_empty()
    );
    assert!(
        ok(
            "links_by_remote",
            store.links_by_remote(&t, &other_connection, &ids(&["r-1"]))
        )
        .await
        .is_empty()
    );

    // Same local id, new remote id: the old pairing is gone.
    let l1b = link("l-1", "r-3", json!({ "email": "b@x.io" }));
    // Same remote id as l-2, new local id: l-2's link is gone.
    let l4 = link("l-4", "r-2", json!({ "n": 4 }));
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.upsert_links = vec![l1b.clone(), l4.clone()];
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert!(
        ok(
            "links_by_remote",
            store.links_by_remote(&t, &k, &ids(&["r-1"]))
        )
        .await
        .is_empty()
    );
    assert!(
        ok(
            "links_by_local",
            store.links_by_local(&t, &k, &ids(&["l-2"]))
        )
        .await
        .is_empty()
    );
    assert_eq!(
        ok(
            "links_by_local",
            store.links_by_local(&t, &k, &ids(&["l-1", "l-4"]))
        )
        .await,
        vec![l1b.clone(), l4.clone()]
    );
    assert_eq!(ok("count_links", store.count_links(&t, &k)).await, 2);

    // Within one page, later links win over earlier ones.
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.upsert_links = vec![
        link("l-5", "r-5", json!({ "v": 1 })),
        link("l-5", "r-6", json!({ "v": 2 })),
        link("l-7", "r-6", json!({ "v": 3 })),
    ];
    ok("commit_page", store.commit_page(&t, commit)).await;
    let got = ok(
        "links_by_remote",
        store.links_by_remote(&t, &k, &ids(&["r-5", "r-6"])),
    )
    .await;
    assert_eq!(
        got.len(),
        1,
        "one page replacing its own links leaves the last: {got:?}"
    );
    assert_eq!(got[0].local_id, RecordId::new("l-7"));

    // Deletes by local id; unknown ids are fine.
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.delete_links = ids(&["l-1", "nope"]);
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert!(
        ok(
            "links_by_remote",
            store.links_by_remote(&t, &k, &ids(&["r-3"]))
        )
        .await
        .is_empty()
    );
    assert_eq!(ok("count_links", store.count_links(&t, &k)).await, 2);
    assert_eq!(
        ok("count_links", store.count_links(&t, &other_object)).await,
        0
    );
}

/// Checkpoints are kept per connection, object and direction; a newer one replaces
/// the older; clearing forgets it.
pub async fn checkpoints_round_trip_and_clear(store: &dyn SyncStore) {
    let t = tenant("ckpt");
    let k = key("crm", ObjectKind::Deal);
    assert!(
        ok("checkpoint", store.checkpoint(&t, &k, Direction::Pull))
            .await
            .is_none()
    );
    let before = Utc::now() - chrono::Duration::seconds(5);
    for (direction, cursor) in [(Direction::Pull, "p-1"), (Direction::Push, "42")] {
        let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
        commit.checkpoint = Some((direction, Cursor::new(cursor)));
        ok("commit_page", store.commit_page(&t, commit)).await;
    }
    let pull = ok("checkpoint", store.checkpoint(&t, &k, Direction::Pull))
        .await
        .expect("pull cursor");
    assert_eq!(pull.direction, Direction::Pull);
    assert_eq!(pull.cursor, Cursor::new("p-1"));
    assert!(
        pull.updated_at >= before,
        "updated_at is when it was stored"
    );
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.checkpoint = Some((
        Direction::Pull,
        Cursor::new("p-2|{\"after\":\"2024-01-01T00:00:00Z\"}"),
    ));
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert_eq!(
        ok("checkpoint", store.checkpoint(&t, &k, Direction::Pull))
            .await
            .map(|c| c.cursor),
        Some(Cursor::new("p-2|{\"after\":\"2024-01-01T00:00:00Z\"}"))
    );
    ok(
        "clear_checkpoint",
        store.clear_checkpoint(&t, &k, Direction::Pull),
    )
    .await;
    assert!(
        ok("checkpoint", store.checkpoint(&t, &k, Direction::Pull))
            .await
            .is_none()
    );
    ok(
        "clear_checkpoint",
        store.clear_checkpoint(&t, &k, Direction::Pull),
    )
    .await;
    assert_eq!(
        ok("checkpoint", store.checkpoint(&t, &k, Direction::Push))
            .await
            .map(|c| c.cursor),
        Some(Cursor::new("42")),
        "clearing one direction keeps the other"
    );
    assert!(
        ok(
            "checkpoint",
            store.checkpoint(&t, &key("crm", ObjectKind::Contact), Direction::Push)
        )
        .await
        .is_none()
    );
}

/// Parks one review item for `connection` and resolves it; returns its id.
async fn resolved_review(store: &dyn SyncStore, tenant: &TenantId, connection: &str) -> i64 {
    let mut commit = PageCommit::new(connection.into(), ObjectKind::Contact);
    commit.review_items = vec![review(
        connection,
        ObjectKind::Contact,
        ReviewKind::Conflict,
        Some("l-decided"),
        Some("r-decided"),
    )];
    ok("commit_page", store.commit_page(tenant, commit)).await;
    let filter = ReviewFilter {
        connection: Some(connection.into()),
        status: Some(ReviewStatus::Pending),
        ..ReviewFilter::default()
    };
    let id = review_ids(&reviews(store, tenant, filter).await)[0];
    assert!(
        ok(
            "resolve_review_item",
            store.resolve_review_item(
                tenant,
                id,
                BTreeMap::from([("email".to_owned(), ReviewChoice::Remote)]),
                "operator"
            )
        )
        .await
    );
    id
}

async fn review_status(store: &dyn SyncStore, tenant: &TenantId, id: i64) -> Option<ReviewStatus> {
    ok("get_review_item", store.get_review_item(tenant, id))
        .await
        .map(|item| item.status)
}

/// A page commit is all or nothing: its links, audit rows, dead letters, review items
/// (parked and applied) and cursor become visible together, even when the commit is
/// abandoned part-way (its future dropped after any number of polls).
pub async fn commit_page_is_atomic_and_stores_checkpoint(store: &dyn SyncStore) {
    let t = tenant("atomic");
    const N: usize = 300;
    const REVIEWS: usize = 5;
    let page = |attempt: usize, applied: Vec<i64>| {
        let connection = format!("crm-{attempt}");
        let mut commit = PageCommit::new(connection.as_str().into(), ObjectKind::Contact);
        commit.upsert_links = (0..N)
            .map(|i| link(&format!("l-{i}"), &format!("r-{i}"), json!({ "i": i })))
            .collect();
        commit.audit = (0..N)
            .map(|i| {
                audit(
                    &connection,
                    ObjectKind::Contact,
                    Some(RunId(1_000 + attempt as i64)),
                    &format!("op-{i}"),
                )
            })
            .collect();
        commit.dead_letters = (0..3)
            .map(|i| dead_letter(&connection, &format!("d-{i}")))
            .collect();
        commit.review_items = (0..REVIEWS)
            .map(|i| {
                review(
                    &connection,
                    ObjectKind::Contact,
                    ReviewKind::Conflict,
                    Some(&format!("l-{i}")),
                    Some(&format!("r-{i}")),
                )
            })
            .collect();
        commit.applied_reviews = applied;
        commit.checkpoint = Some((Direction::Pull, Cursor::new(format!("cursor-{attempt}"))));
        commit
    };
    let parked = |attempt: usize| ReviewFilter {
        connection: Some(format!("crm-{attempt}").into()),
        ..ReviewFilter::default()
    };

    // A completed commit: everything is there.
    let decided = resolved_review(store, &t, "crm-0-decided").await;
    ok("commit_page", store.commit_page(&t, page(0, vec![decided]))).await;
    assert_eq!(reviews(store, &t, parked(0)).await.len(), REVIEWS);
    assert_eq!(
        review_status(store, &t, decided).await,
        Some(ReviewStatus::Applied)
    );
    let k0 = key("crm-0", ObjectKind::Contact);
    assert_eq!(
        ok("count_links", store.count_links(&t, &k0)).await,
        N as u64
    );
    assert_eq!(
        ok(
            "list_audit",
            store.list_audit(&t, Some(RunId(1_000)), 10_000)
        )
        .await
        .len(),
        N
    );
    assert_eq!(
        ok("list_dead_letters", store.list_dead_letters(&t, None, 100))
            .await
            .len(),
        3
    );
    assert_eq!(
        ok("checkpoint", store.checkpoint(&t, &k0, Direction::Pull))
            .await
            .map(|c| c.cursor),
        Some(Cursor::new("cursor-0"))
    );

    // Abandoned commits: all or nothing, wherever they stop.
    let mut letters_expected = 3;
    for (attempt, polls) in [0usize, 1, 2, 3, 5, 8, 13, 40, 150, 600]
        .into_iter()
        .enumerate()
    {
        let attempt = attempt + 1;
        let decided = resolved_review(store, &t, &format!("crm-{attempt}-decided")).await;
        {
            let mut fut = pin!(store.commit_page(&t, page(attempt, vec![decided])));
            let mut cx = Context::from_waker(Waker::noop());
            for _ in 0..polls {
                if let Poll::Ready(result) = fut.as_mut().poll(&mut cx) {
                    result.expect("commit_page");
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let k = key(&format!("crm-{attempt}"), ObjectKind::Contact);
        let links = ok("count_links", store.count_links(&t, &k)).await as usize;
        let audit = ok(
            "list_audit",
            store.list_audit(&t, Some(RunId(1_000 + attempt as i64)), 10_000),
        )
        .await
        .len();
        let letters = ok(
            "list_dead_letters",
            store.list_dead_letters(&t, None, 1_000),
        )
        .await
        .len();
        let cursor = ok("checkpoint", store.checkpoint(&t, &k, Direction::Pull)).await;
        let committed = links == N;
        assert!(
            links == 0 || links == N,
            "abandoned after {polls} polls: {links} of {N} links"
        );
        assert_eq!(
            audit,
            if committed { N } else { 0 },
            "audit rows follow links (after {polls} polls)"
        );
        if committed {
            letters_expected += 3;
        }
        assert_eq!(
            letters, letters_expected,
            "dead letters follow links (after {polls} polls)"
        );
        assert_eq!(
            cursor.is_some(),
            committed,
            "the cursor follows links (after {polls} polls)"
        );
        assert_eq!(
            reviews(store, &t, parked(attempt)).await.len(),
            if committed { REVIEWS } else { 0 },
            "parked review items follow links (after {polls} polls)"
        );
        assert_eq!(
            review_status(store, &t, decided).await,
            Some(if committed {
                ReviewStatus::Applied
            } else {
                ReviewStatus::Resolved
            }),
            "applied review items follow links (after {polls} polls)"
        );
    }

    // An abandoned commit leaves nothing open behind it: later writes are durable and
    // visible to every reader (a connection left inside a transaction would hide them).
    for round in 0..6 {
        {
            let mut fut = pin!(store.commit_page(&t, page(100 + round, Vec::new())));
            let mut cx = Context::from_waker(Waker::noop());
            let _ = fut.as_mut().poll(&mut cx);
        }
        let runs = tenant("atomic-runs");
        for _ in 0..12 {
            ok(
                "start_run",
                store.start_run(&runs, &run_record("crm", ObjectKind::Contact)),
            )
            .await;
        }
        for _ in 0..4 {
            let listed = ok("list_runs", store.list_runs(&runs, &RunFilter::default())).await;
            assert_eq!(
                listed.len(),
                12,
                "writes after an abandoned commit are visible (round {round})"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Run history and audit

/// Runs get ids, round-trip exactly, list newest first with filters and limits, and
/// finishing updates status, counts, end and error.
pub async fn runs_history_round_trip(store: &dyn SyncStore) {
    let t = tenant("runs");
    let mut started = Vec::new();
    for (connection, object) in [
        ("crm-a", ObjectKind::Contact),
        ("crm-a", ObjectKind::Company),
        ("crm-b", ObjectKind::Contact),
    ] {
        let run = run_record(connection, object);
        let id = ok("start_run", store.start_run(&t, &run)).await;
        started.push(RunRecord {
            id: Some(id),
            ..run
        });
    }
    let run_ids: Vec<RunId> = started.iter().filter_map(|r| r.id).collect();
    assert!(
        run_ids.windows(2).all(|w| w[0] < w[1]),
        "run ids increase: {run_ids:?}"
    );

    let all = ok("list_runs", store.list_runs(&t, &RunFilter::default())).await;
    let newest_first: Vec<RunRecord> = started.iter().rev().cloned().collect();
    assert_eq!(all, newest_first, "runs round-trip, newest first");

    let by_connection = RunFilter {
        connection: Some("crm-a".into()),
        ..RunFilter::default()
    };
    assert_eq!(
        ok("list_runs", store.list_runs(&t, &by_connection))
            .await
            .len(),
        2
    );
    let by_both = RunFilter {
        connection: Some("crm-a".into()),
        object: Some(ObjectKind::Contact),
        limit: None,
    };
    assert_eq!(
        ok("list_runs", store.list_runs(&t, &by_both)).await,
        vec![started[0].clone()]
    );
    let limited = RunFilter {
        limit: Some(2),
        ..RunFilter::default()
    };
    assert_eq!(
        ok("list_runs", store.list_runs(&t, &limited)).await,
        newest_first[..2].to_vec(),
        "a limit keeps the newest"
    );

    let mut finished = started[1].clone();
    finished.status = RunStatus::Partial;
    finished.finished_at = Some(at(3));
    finished.counts = ObjectReport {
        pulled: 120,
        created_local: 100,
        updated_local: 15,
        dead_letters: 5,
        pages: 2,
        api_calls: 9,
        ..ObjectReport::default()
    };
    finished.error = Some("5 records failed validation".to_owned());
    finished.configuration = json!({ "batch_size": 50, "metrics": { "records_per_sec": 812.5 } });
    ok("finish_run", store.finish_run(&t, &finished)).await;
    let filter = RunFilter {
        object: Some(ObjectKind::Company),
        ..RunFilter::default()
    };
    assert_eq!(
        ok("list_runs", store.list_runs(&t, &filter)).await,
        vec![finished]
    );

    let mut no_id = started[0].clone();
    no_id.id = None;
    assert!(
        store.finish_run(&t, &no_id).await.is_err(),
        "finish_run needs the run's id"
    );
}

/// Audit rows round-trip, by run or all, newest last, at most `limit`.
pub async fn audit_log_round_trip(store: &dyn SyncStore) {
    let t = tenant("audit");
    let run1 = RunId(11);
    let run2 = RunId(12);
    let mut first = audit("crm", ObjectKind::Contact, Some(run1), "create_local");
    first.remote_id = Some("r-1".into());
    let mut failed = audit("crm", ObjectKind::Deal, Some(run2), "update_remote");
    failed.source = WriteSource::Local;
    failed.outcome = AuditOutcome::Failed;
    failed.error = Some("400 INVALID_EMAIL".to_owned());
    failed.local_id = None;
    let mut skipped = audit("crm", ObjectKind::Contact, None, "update_local");
    skipped.outcome = AuditOutcome::Skipped;
    let mut commit = PageCommit::new("crm".into(), ObjectKind::Contact);
    commit.audit = vec![first.clone(), failed.clone(), skipped.clone()];
    ok("commit_page", store.commit_page(&t, commit)).await;

    assert_eq!(
        ok("list_audit", store.list_audit(&t, None, 100)).await,
        vec![first.clone(), failed.clone(), skipped],
        "audit rows round-trip, oldest first"
    );
    assert_eq!(
        ok("list_audit", store.list_audit(&t, Some(run2), 100)).await,
        vec![failed]
    );
    assert!(
        ok("list_audit", store.list_audit(&t, Some(RunId(99)), 100))
            .await
            .is_empty()
    );
    assert_eq!(
        ok("list_audit", store.list_audit(&t, None, 2)).await.len(),
        2,
        "limit"
    );
}

// ---------------------------------------------------------------------------------
// Dead letters

/// Dead letters get ids, list oldest first by status, count attempts and change
/// status; unknown ids report `false`.
pub async fn dead_letters_lifecycle(store: &dyn SyncStore) {
    let t = tenant("dlq");
    let mut commit = PageCommit::new("crm".into(), ObjectKind::Contact);
    commit.dead_letters = vec![
        dead_letter("crm", "r-1"),
        dead_letter("crm", "r-2"),
        dead_letter("crm", "r-3"),
    ];
    commit.dead_letters[2].direction = Direction::Push;
    commit.dead_letters[2].field = None;
    commit.dead_letters[2].rule = None;
    commit.dead_letters[2].run_id = None;
    ok("commit_page", store.commit_page(&t, commit.clone())).await;

    let pending = ok(
        "list_dead_letters",
        store.list_dead_letters(&t, Some(DeadLetterStatus::Pending), 100),
    )
    .await;
    assert_eq!(pending.len(), 3);
    let record_ids: Vec<&str> = pending.iter().map(|d| d.record_id.as_str()).collect();
    assert_eq!(record_ids, vec!["r-1", "r-2", "r-3"], "oldest first");
    for (stored, sent) in pending.iter().zip(&commit.dead_letters) {
        assert!(stored.id.is_some(), "the store assigns ids");
        assert_eq!(
            DeadLetter {
                id: None,
                ..stored.clone()
            },
            sent.clone(),
            "a dead letter round-trips"
        );
    }
    let first = pending[0].id.expect("id");
    let second = pending[1].id.expect("id");

    assert!(
        ok(
            "update_dead_letter",
            store.update_dead_letter(&t, first, DeadLetterStatus::Pending, true)
        )
        .await
    );
    assert!(
        ok(
            "update_dead_letter",
            store.update_dead_letter(&t, second, DeadLetterStatus::Replayed, true)
        )
        .await
    );
    assert!(
        !ok(
            "update_dead_letter",
            store.update_dead_letter(&t, i64::MAX - 1, DeadLetterStatus::Discarded, false)
        )
        .await
    );

    let pending = ok(
        "list_dead_letters",
        store.list_dead_letters(&t, Some(DeadLetterStatus::Pending), 100),
    )
    .await;
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].id, Some(first));
    assert_eq!(pending[0].attempts, 2, "a failed replay counts an attempt");
    assert!(pending[0].last_failed_at >= commit.dead_letters[0].last_failed_at);
    assert_eq!(
        pending[0].first_failed_at,
        commit.dead_letters[0].first_failed_at
    );
    let replayed = ok(
        "list_dead_letters",
        store.list_dead_letters(&t, Some(DeadLetterStatus::Replayed), 100),
    )
    .await;
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].id, Some(second));
    assert_eq!(replayed[0].attempts, 2);
    assert!(
        ok(
            "update_dead_letter",
            store.update_dead_letter(&t, first, DeadLetterStatus::Discarded, false)
        )
        .await
    );
    let discarded = ok(
        "list_dead_letters",
        store.list_dead_letters(&t, Some(DeadLetterStatus::Discarded), 100),
    )
    .await;
    assert_eq!(discarded.len(), 1);
    assert_eq!(
        discarded[0].attempts, 2,
        "without bump_attempts the count stays"
    );
    assert_eq!(
        ok("list_dead_letters", store.list_dead_letters(&t, None, 100))
            .await
            .len(),
        3
    );
    assert_eq!(
        ok("list_dead_letters", store.list_dead_letters(&t, None, 1))
            .await
            .len(),
        1,
        "limit"
    );
}

// ---------------------------------------------------------------------------------
// Review queue

/// Review items get ids and round-trip; parking the same (connection, object, kind,
/// local id, remote id) again while it is pending updates it in place (missing ids
/// compare equal), also twice in one page; only pending items can be resolved or
/// dismissed; a page commit applies resolved items; listing is oldest first, by
/// connection, object and status, at most `limit`.
pub async fn review_queue_lifecycle(store: &dyn SyncStore) {
    let t = tenant("review");
    let contact = ObjectKind::Contact;
    let conflict = review(
        "crm",
        contact.clone(),
        ReviewKind::Conflict,
        Some("l-1"),
        Some("r-1"),
    );
    let ambiguous = review(
        "crm",
        contact.clone(),
        ReviewKind::AmbiguousMatch,
        None,
        Some("r-5"),
    );
    let company = review(
        "crm-b",
        ObjectKind::Company,
        ReviewKind::Conflict,
        Some("l-1"),
        Some("r-1"),
    );
    let mut commit = PageCommit::new("crm".into(), contact.clone());
    commit.review_items = vec![conflict.clone(), ambiguous.clone(), company.clone()];
    ok("commit_page", store.commit_page(&t, commit.clone())).await;

    let parked = reviews(store, &t, ReviewFilter::default()).await;
    assert_eq!(parked.len(), 3);
    for (stored, sent) in parked.iter().zip(&commit.review_items) {
        assert!(stored.id.is_some(), "the store assigns ids");
        assert_eq!(
            ReviewItem {
                id: None,
                ..stored.clone()
            },
            sent.clone(),
            "a review item round-trips"
        );
    }
    let parked_ids = review_ids(&parked);
    assert!(
        parked_ids.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {parked_ids:?}"
    );
    let (first, second, third) = (parked_ids[0], parked_ids[1], parked_ids[2]);
    assert_eq!(
        ok("get_review_item", store.get_review_item(&t, second)).await,
        Some(parked[1].clone())
    );
    assert!(
        ok("get_review_item", store.get_review_item(&t, i64::MAX - 1))
            .await
            .is_none()
    );

    // Parked again while pending: updated in place, never duplicated.
    let mut conflict_again = conflict.clone();
    conflict_again.local = fields(json!({ "email": "local2@x.io", "phone": "+1 555 0199" }));
    conflict_again.fields = vec!["email".to_owned(), "phone".to_owned(), "title".to_owned()];
    conflict_again.reason = "changed on both sides again".to_owned();
    conflict_again.created_at = at(-5);
    conflict_again.updated_at = at(-5);
    let mut ambiguous_again = ambiguous.clone();
    ambiguous_again.candidates = ids(&["r-8", "r-7", "r-6"]);
    ambiguous_again.created_at = at(-4);
    ambiguous_again.updated_at = at(-4);
    let fresh = review(
        "crm",
        contact.clone(),
        ReviewKind::Conflict,
        Some("l-3"),
        None,
    );
    let mut fresh_later = fresh.clone();
    fresh_later.reason = "parked twice in one page".to_owned();
    fresh_later.remote = fields(json!({ "email": "later@x.io" }));
    fresh_later.created_at = at(-3);
    fresh_later.updated_at = at(-3);
    // Another kind for the same record is another item.
    let other_kind = review(
        "crm",
        contact.clone(),
        ReviewKind::AmbiguousMatch,
        Some("l-1"),
        Some("r-1"),
    );
    let mut commit = PageCommit::new("crm".into(), contact.clone());
    commit.review_items = vec![
        conflict_again.clone(),
        ambiguous_again.clone(),
        fresh.clone(),
        fresh_later.clone(),
        other_kind.clone(),
    ];
    ok("commit_page", store.commit_page(&t, commit)).await;
    let parked = reviews(store, &t, ReviewFilter::default()).await;
    assert_eq!(parked.len(), 5, "re-parking updates pending items in place");
    let ids_now = review_ids(&parked);
    assert_eq!(ids_now[..3], [first, second, third], "ids and order stay");
    assert!(ids_now.windows(2).all(|w| w[0] < w[1]));
    let (fourth, fifth) = (ids_now[3], ids_now[4]);
    assert_eq!(
        parked[0],
        ReviewItem {
            id: Some(first),
            created_at: conflict.created_at,
            ..conflict_again.clone()
        },
        "a pending item takes the new fields, values and reason, and keeps its creation"
    );
    assert_eq!(
        parked[1],
        ReviewItem {
            id: Some(second),
            created_at: ambiguous.created_at,
            ..ambiguous_again.clone()
        },
        "a missing local id matches a missing local id"
    );
    assert_eq!(
        parked[2],
        ReviewItem {
            id: Some(third),
            ..company.clone()
        }
    );
    assert_eq!(
        parked[3],
        ReviewItem {
            id: Some(fourth),
            created_at: fresh.created_at,
            ..fresh_later.clone()
        },
        "an item parked twice in one page is kept once, with the later content"
    );
    assert_eq!(
        parked[4],
        ReviewItem {
            id: Some(fifth),
            ..other_kind.clone()
        }
    );

    // Only pending items can be decided.
    let resolution = BTreeMap::from([
        ("email".to_owned(), ReviewChoice::Remote),
        (
            "phone".to_owned(),
            ReviewChoice::Value(json!("+1 555 0142")),
        ),
        ("title".to_owned(), ReviewChoice::Local),
    ]);
    let decided_from = Utc::now() - chrono::Duration::seconds(1);
    assert!(
        ok(
            "resolve_review_item",
            store.resolve_review_item(&t, first, resolution.clone(), "ada@ops")
        )
        .await
    );
    let resolved = ok("get_review_item", store.get_review_item(&t, first))
        .await
        .expect("the resolved item");
    assert_eq!(resolved.status, ReviewStatus::Resolved);
    assert_eq!(resolved.resolution, resolution, "the decision round-trips");
    assert_eq!(resolved.resolved_by.as_deref(), Some("ada@ops"));
    assert!(
        resolved.resolved_at.is_some_and(|at| at >= decided_from),
        "resolved_at is set: {:?}",
        resolved.resolved_at
    );
    assert!(resolved.updated_at >= parked[0].updated_at);
    assert_eq!(
        ReviewItem {
            status: ReviewStatus::Pending,
            resolution: BTreeMap::new(),
            resolved_by: None,
            resolved_at: None,
            updated_at: parked[0].updated_at,
            ..resolved.clone()
        },
        parked[0],
        "resolving changes nothing else"
    );
    assert!(
        !ok(
            "resolve_review_item",
            store.resolve_review_item(&t, first, BTreeMap::new(), "bob@ops")
        )
        .await,
        "a resolved item cannot be resolved again"
    );
    assert!(
        !ok(
            "dismiss_review_item",
            store.dismiss_review_item(&t, first, "bob@ops")
        )
        .await,
        "a resolved item cannot be dismissed"
    );
    assert_eq!(
        ok("get_review_item", store.get_review_item(&t, first)).await,
        Some(resolved.clone())
    );
    assert!(
        ok(
            "dismiss_review_item",
            store.dismiss_review_item(&t, second, "bob@ops")
        )
        .await
    );
    let dismissed = ok("get_review_item", store.get_review_item(&t, second))
        .await
        .expect("the dismissed item");
    assert_eq!(dismissed.status, ReviewStatus::Dismissed);
    assert_eq!(dismissed.resolved_by.as_deref(), Some("bob@ops"));
    assert!(dismissed.resolved_at.is_some_and(|at| at >= decided_from));
    assert!(dismissed.resolution.is_empty());
    assert_eq!(dismissed.candidates, ambiguous_again.candidates);
    assert!(
        !ok(
            "resolve_review_item",
            store.resolve_review_item(&t, second, resolution.clone(), "ada@ops")
        )
        .await,
        "a dismissed item cannot be resolved"
    );
    assert!(
        !ok(
            "dismiss_review_item",
            store.dismiss_review_item(&t, second, "ada@ops")
        )
        .await
    );
    assert!(
        !ok(
            "resolve_review_item",
            store.resolve_review_item(&t, i64::MAX - 1, resolution.clone(), "ada@ops")
        )
        .await,
        "an unknown item is not found"
    );
    assert!(
        !ok(
            "dismiss_review_item",
            store.dismiss_review_item(&t, i64::MAX - 1, "ada@ops")
        )
        .await
    );

    // Filters, oldest first, limit.
    let by = |connection: Option<&str>, object: Option<ObjectKind>, status, limit| ReviewFilter {
        connection: connection.map(ConnectionId::from),
        object,
        status,
        limit,
    };
    for (filter, expected) in [
        (
            by(None, None, None, None),
            vec![first, second, third, fourth, fifth],
        ),
        (
            by(None, None, Some(ReviewStatus::Pending), None),
            vec![third, fourth, fifth],
        ),
        (
            by(None, None, Some(ReviewStatus::Resolved), None),
            vec![first],
        ),
        (
            by(None, None, Some(ReviewStatus::Dismissed), None),
            vec![second],
        ),
        (by(None, None, Some(ReviewStatus::Applied), None), vec![]),
        (
            by(Some("crm"), None, None, None),
            vec![first, second, fourth, fifth],
        ),
        (by(Some("crm-b"), None, None, None), vec![third]),
        (by(None, Some(ObjectKind::Company), None, None), vec![third]),
        (
            by(
                Some("crm"),
                Some(contact.clone()),
                Some(ReviewStatus::Pending),
                None,
            ),
            vec![fourth, fifth],
        ),
        (by(Some("crm-b"), Some(contact.clone()), None, None), vec![]),
        (by(None, None, None, Some(2)), vec![first, second]),
        (
            by(None, None, Some(ReviewStatus::Pending), Some(1)),
            vec![third],
        ),
    ] {
        let label = format!("{filter:?}");
        assert_eq!(
            review_ids(&reviews(store, &t, filter).await),
            expected,
            "{label}"
        );
    }

    // A decided record parked again is a new pending item.
    let mut commit = PageCommit::new("crm".into(), contact.clone());
    commit.review_items = vec![conflict.clone()];
    ok("commit_page", store.commit_page(&t, commit)).await;
    let pending = reviews(
        store,
        &t,
        by(Some("crm"), None, Some(ReviewStatus::Pending), None),
    )
    .await;
    assert_eq!(pending.len(), 3);
    let sixth = pending[2].id.expect("an id");
    assert!(sixth > fifth, "a new item, not the resolved one");
    assert_eq!(
        ReviewItem {
            id: None,
            ..pending[2].clone()
        },
        conflict
    );

    // A page commit applies resolved items, with everything else it holds; other
    // statuses and unknown ids are left alone.
    let mut commit = PageCommit::new("crm".into(), contact.clone());
    commit.upsert_links = vec![link("l-1", "r-1", json!({ "email": "remote@x.io" }))];
    commit.applied_reviews = vec![first, second, third, i64::MAX - 1];
    ok("commit_page", store.commit_page(&t, commit)).await;
    let applied = ok("get_review_item", store.get_review_item(&t, first))
        .await
        .expect("the applied item");
    assert_eq!(applied.status, ReviewStatus::Applied);
    assert_eq!(applied.resolution, resolution, "the decision stays");
    assert_eq!(applied.resolved_by.as_deref(), Some("ada@ops"));
    assert_eq!(applied.resolved_at, resolved.resolved_at);
    assert!(applied.updated_at >= resolved.updated_at);
    assert_eq!(
        ok("get_review_item", store.get_review_item(&t, second)).await,
        Some(dismissed),
        "a dismissed item is not applied"
    );
    assert_eq!(
        review_status(store, &t, third).await,
        Some(ReviewStatus::Pending),
        "a pending item is not applied"
    );
    assert_eq!(
        ok(
            "count_links",
            store.count_links(&t, &key("crm", contact.clone()))
        )
        .await,
        1
    );
    assert!(
        !ok(
            "resolve_review_item",
            store.resolve_review_item(&t, first, BTreeMap::new(), "ada@ops")
        )
        .await,
        "an applied item cannot be resolved"
    );
    let mut commit = PageCommit::new("crm".into(), contact.clone());
    commit.applied_reviews = vec![first];
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert_eq!(
        review_status(store, &t, first).await,
        Some(ReviewStatus::Applied),
        "applying twice changes nothing"
    );
    assert_eq!(
        review_ids(&reviews(store, &t, ReviewFilter::default()).await),
        vec![first, second, third, fourth, fifth, sixth]
    );
}

// ---------------------------------------------------------------------------------
// Mirror

/// Patches set listed fields and remove `null` ones; only effective changes take a
/// new, per-tenant increasing sequence number and modification time.
pub async fn mirror_patch_semantics_and_sequence(store: &dyn SyncStore) {
    let t = tenant("mirror");
    let contact = ObjectKind::Contact;
    let company = ObjectKind::Company;
    let created = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &contact,
            vec![
                write(
                    None,
                    None,
                    json!({ "email": "ada@example.com", "name": "Ada", "phone": null }),
                ),
                write(Some("app-7"), None, json!({ "name": "Grace", "score": 3 })),
            ],
        ),
    )
    .await;
    assert_eq!(created.len(), 2, "one record per write");
    assert!(
        !created[0].id.as_str().is_empty(),
        "a create without id gets a new id"
    );
    assert_eq!(
        created[1].id,
        RecordId::new("app-7"),
        "a write with a new id creates it"
    );
    assert_eq!(
        created[0].fields,
        fields(json!({ "email": "ada@example.com", "name": "Ada" })),
        "nulls are not stored"
    );
    assert_eq!(created[0].object, contact);
    assert!(!created[0].deleted);
    assert!(
        created[0].seq > 0 && created[1].seq > created[0].seq,
        "sequence increases: {created:?}"
    );
    let ada = created[0].id.clone();

    let company_row = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &company,
            vec![write(Some("co-1"), None, json!({ "name": "Acme" }))],
        ),
    )
    .await;
    assert!(
        company_row[0].seq > created[1].seq,
        "the sequence is per tenant, across objects"
    );

    // A patch: set one field, remove another, leave the rest.
    let patched = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &contact,
            vec![write(
                Some(ada.as_str()),
                None,
                json!({ "name": null, "city": "London" }),
            )],
        ),
    )
    .await;
    assert_eq!(
        patched[0].fields,
        fields(json!({ "email": "ada@example.com", "city": "London" }))
    );
    assert!(patched[0].seq > company_row[0].seq);
    assert!(patched[0].modified_at >= created[0].modified_at);

    // A patch that changes nothing keeps the row as it is.
    let seq_before = last_seq(store, &t, &contact).await;
    let same = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &contact,
            vec![write(
                Some(ada.as_str()),
                None,
                json!({ "city": "London", "gone": null }),
            )],
        ),
    )
    .await;
    assert_eq!(same[0], patched[0], "a no-op patch changes nothing");
    assert!(
        ok(
            "mirror_changes",
            store.mirror_changes(&t, &contact, seq_before, 100)
        )
        .await
        .is_empty(),
        "a no-op patch does not advance the sequence"
    );

    // The feed: every row once, in sequence order, after a position, limited.
    let feed = ok("mirror_changes", store.mirror_changes(&t, &contact, 0, 100)).await;
    let feed_ids: Vec<&str> = feed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        feed_ids,
        vec!["app-7", ada.as_str()],
        "rows in sequence order"
    );
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(
        ok("mirror_changes", store.mirror_changes(&t, &contact, 0, 1))
            .await
            .len(),
        1,
        "limit"
    );
    assert_eq!(
        ok(
            "mirror_changes",
            store.mirror_changes(&t, &contact, feed[0].seq, 100)
        )
        .await
        .len(),
        1,
        "after"
    );

    assert_eq!(
        ok(
            "mirror_get",
            store.mirror_get(
                &t,
                &contact,
                &[RecordId::new("app-7"), RecordId::new("nope"), ada.clone()]
            )
        )
        .await,
        vec![feed[0].clone(), feed[1].clone()],
        "mirror_get in request order, unknown ids left out"
    );
    assert_eq!(
        ok("mirror_count", store.mirror_count(&t, &contact)).await,
        2
    );
    assert_eq!(
        ok("mirror_count", store.mirror_count(&t, &company)).await,
        1
    );
    assert!(
        ok("mirror_write", store.mirror_write(&t, &contact, Vec::new()))
            .await
            .is_empty()
    );
}

/// Deletes tombstone live rows (once), the feed carries tombstones, reads skip them,
/// and writing a tombstoned id revives it with only the written fields.
pub async fn mirror_tombstones_and_revival(store: &dyn SyncStore) {
    let t = tenant("tomb");
    let object = ObjectKind::Lead;
    ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![
                write(Some("a"), None, json!({ "email": "a@x.io", "old": true })),
                write(Some("b"), None, json!({ "email": "b@x.io" })),
            ],
        ),
    )
    .await;
    let before = last_seq(store, &t, &object).await;
    assert_eq!(
        ok(
            "mirror_delete",
            store.mirror_delete(&t, &object, &ids(&["a", "missing", "a"]))
        )
        .await,
        1,
        "mirror_delete counts the live rows it deleted"
    );
    let feed = ok(
        "mirror_changes",
        store.mirror_changes(&t, &object, before, 100),
    )
    .await;
    assert_eq!(feed.len(), 1);
    assert_eq!(feed[0].id, RecordId::new("a"));
    assert!(feed[0].deleted, "the feed carries tombstones");
    assert!(feed[0].seq > before, "a delete advances the sequence");
    let tomb_seq = feed[0].seq;
    assert!(
        ok("mirror_get", store.mirror_get(&t, &object, &ids(&["a"])))
            .await
            .is_empty(),
        "reads skip tombstones"
    );
    assert_eq!(ok("mirror_count", store.mirror_count(&t, &object)).await, 1);
    assert!(
        ok(
            "mirror_find",
            store.mirror_find(&t, &object, "email", &["a@x.io".to_owned()])
        )
        .await
        .is_empty(),
        "find skips tombstones"
    );

    assert_eq!(
        ok(
            "mirror_delete",
            store.mirror_delete(&t, &object, &ids(&["a"]))
        )
        .await,
        0
    );
    assert!(
        ok(
            "mirror_changes",
            store.mirror_changes(&t, &object, tomb_seq, 100)
        )
        .await
        .is_empty(),
        "deleting a tombstone does not advance the sequence"
    );

    let revived = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![write(Some("a"), None, json!({ "email": "a2@x.io" }))],
        ),
    )
    .await;
    assert!(!revived[0].deleted, "writing a tombstoned id revives it");
    assert_eq!(
        revived[0].fields,
        fields(json!({ "email": "a2@x.io" })),
        "a revived record starts from the write"
    );
    assert!(revived[0].seq > tomb_seq);
    assert_eq!(ok("mirror_count", store.mirror_count(&t, &object)).await, 2);
}

/// `mirror_find` compares a scalar field's text (strings as they are, numbers and
/// booleans as JSON text) with any of the values, among live records; the match
/// fields compare normalized.
pub async fn mirror_find_compares_field_text(store: &dyn SyncStore) {
    let t = tenant("find");
    let object = ObjectKind::Contact;
    ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![
                write(
                    Some("1"),
                    None,
                    json!({ "email": "ada@example.com", "phone": "+442071234567", "n": 5 }),
                ),
                write(
                    Some("2"),
                    None,
                    json!({ "email": "Grace@Example.com", "first name": "Grace", "vip": true }),
                ),
                write(
                    Some("3"),
                    None,
                    json!({ "email": "linus@example.com", "n": "5", "vip": false }),
                ),
            ],
        ),
    )
    .await;
    let (t, object) = (&t, &object);
    let find = |field: &'static str, values: &[&str]| {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        async move {
            let mut found: Vec<String> =
                ok("mirror_find", store.mirror_find(t, object, field, &values))
                    .await
                    .into_iter()
                    .map(|r| r.id.as_str().to_owned())
                    .collect();
            found.sort();
            found
        }
    };
    assert_eq!(
        find("email", &["ada@example.com", "linus@example.com", "x@y.z"]).await,
        vec!["1", "3"]
    );
    assert_eq!(
        find("email", &["grace@example.com", " GRACE@example.COM "]).await,
        vec!["2"],
        "e-mail compares trimmed and ignoring case"
    );
    assert_eq!(find("phone", &["+442071234567"]).await, vec!["1"]);
    assert_eq!(
        find("first name", &["grace"]).await,
        Vec::<String>::new(),
        "other fields compare exactly"
    );
    assert_eq!(
        find("n", &["5"]).await,
        vec!["1", "3"],
        "numbers compare as their JSON text"
    );
    assert_eq!(
        find("first name", &["Grace"]).await,
        vec!["2"],
        "field names with spaces"
    );
    assert_eq!(
        find("vip", &["true"]).await,
        vec!["2"],
        "booleans compare as their JSON text"
    );
    assert_eq!(find("vip", &["false", "0", "1"]).await, vec!["3"]);
    assert_eq!(find("missing", &["5"]).await, Vec::<String>::new());
    assert_eq!(find("email", &[]).await, Vec::<String>::new());
}

/// Match before create finds application rows whatever their formatting, by the keys
/// of [`crate::match_key`]: e-mail addresses ignoring case and spaces, phone numbers by
/// their last digits (formatting and prefixes ignored) per phone field, last names
/// ignoring case, accents and punctuation.
pub async fn mirror_find_normalizes_match_fields(store: &dyn SyncStore) {
    let t = tenant("normfind");
    let object = ObjectKind::Contact;
    ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![
                write(
                    Some("1"),
                    None,
                    json!({ "email": "  Ada.Lovelace@Example.COM ", "last_name": "Lovelace",
                            "phone": "(415) 555-0132" }),
                ),
                write(
                    Some("2"),
                    None,
                    json!({ "email": "grace@example.com", "last_name": " HOPPER",
                            "mobile_phone": "+1 415.555.0199" }),
                ),
                write(
                    Some("3"),
                    None,
                    json!({ "email": "linus@example.com", "last_name": "Torvalds",
                            "phone": 4155550177_i64 }),
                ),
                write(
                    Some("4"),
                    None,
                    json!({ "email": "JÜRGEN@EXAMPLE.COM", "last_name": "Gómez-O'Connor" }),
                ),
            ],
        ),
    )
    .await;
    let (t, object) = (&t, &object);
    let find = |field: &'static str, values: &[&str]| {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        async move {
            let mut found: Vec<String> =
                ok("mirror_find", store.mirror_find(t, object, field, &values))
                    .await
                    .into_iter()
                    .map(|r| r.id.as_str().to_owned())
                    .collect();
            found.sort();
            found
        }
    };
    assert_eq!(
        find("email", &["ada.lovelace@example.com"]).await,
        vec!["1"]
    );
    assert_eq!(
        find("last_name", &["hopper", "LOVELACE"]).await,
        vec!["1", "2"]
    );
    assert_eq!(
        find("phone", &["+14155550132"]).await,
        vec!["1"],
        "E.164 finds a national format"
    );
    assert_eq!(
        find("phone", &["415-555-0177"]).await,
        vec!["3"],
        "numbers stored as numbers"
    );
    assert_eq!(find("mobile_phone", &["+14155550199"]).await, vec!["2"]);
    assert_eq!(
        find("phone", &["+14155550199"]).await,
        Vec::<String>::new(),
        "per field"
    );
    assert_eq!(find("phone", &["+14155550133"]).await, Vec::<String>::new());
    assert_eq!(
        find("last_name", &["gomezoconnor"]).await,
        vec!["4"],
        "accents and punctuation folded"
    );
    assert_eq!(find("email", &["jürgen@example.com"]).await, vec!["4"]);
    assert_eq!(
        find("last_name", &["Lovelac"]).await,
        Vec::<String>::new(),
        "not a prefix"
    );
}

/// Name look-ups by [`person_key`](crate::match_key::person_key) (last name and first
/// initial) find rows of that person key only; `mirror_find_unlinked` leaves out rows
/// linked on the connection, and only on that connection.
pub async fn mirror_find_by_person_key_leaves_out_linked_rows(store: &dyn SyncStore) {
    let t = tenant("personfind");
    let object = ObjectKind::Contact;
    ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![
                write(
                    Some("1"),
                    None,
                    json!({ "first_name": "Jane", "last_name": "Smith" }),
                ),
                write(
                    Some("2"),
                    None,
                    json!({ "first_name": "J.", "last_name": "SMITH" }),
                ),
                write(
                    Some("3"),
                    None,
                    json!({ "first_name": "Ann", "last_name": "Smith" }),
                ),
                write(Some("4"), None, json!({ "last_name": "Smith" })),
                write(
                    Some("5"),
                    None,
                    json!({ "first_name": "Élodie", "last_name": "O'Neil" }),
                ),
            ],
        ),
    )
    .await;
    let mut commit = PageCommit::new("crm".into(), object.clone());
    commit.upsert_links = vec![link("2", "r-2", json!({}))];
    ok("commit_page", store.commit_page(&t, commit)).await;
    let ids = |records: Vec<MirrorRecord>| {
        let mut ids: Vec<String> = records.iter().map(|r| r.id.as_str().to_owned()).collect();
        ids.sort();
        ids
    };
    let keys = |list: &[&str]| list.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    let person = crate::match_key::PERSON;
    let found = ok(
        "mirror_find",
        store.mirror_find(&t, &object, person, &keys(&["smith j", "smith "])),
    )
    .await;
    assert_eq!(
        ids(found),
        vec!["1", "2", "4"],
        "initial j, or no first name"
    );
    let found = ok(
        "mirror_find",
        store.mirror_find(&t, &object, person, &keys(&["oneil e"])),
    )
    .await;
    assert_eq!(ids(found), vec!["5"], "accents and punctuation folded");
    let found = ok(
        "mirror_find_unlinked",
        store.mirror_find_unlinked(
            &t,
            &object,
            person,
            &keys(&["smith j", "smith "]),
            &"crm".into(),
        ),
    )
    .await;
    assert_eq!(ids(found), vec!["1", "4"], "the linked row is left out");
    let found = ok(
        "mirror_find_unlinked",
        store.mirror_find_unlinked(&t, &object, "last_name", &keys(&["smith"]), &"other".into()),
    )
    .await;
    assert_eq!(
        ids(found),
        vec!["1", "2", "3", "4"],
        "linked on another connection only"
    );
    // Common keys: more than `cap` live holders (counting stops there).
    let common = |cap: u32, field: &'static str, values: &[&str]| {
        let values = keys(values);
        let (t, object) = (&t, &object);
        async move {
            ok(
                "mirror_common_keys",
                store.mirror_common_keys(t, object, field, &values, cap),
            )
            .await
        }
    };
    assert_eq!(
        common(1, person, &["smith j", "oneil e", "nobody x"]).await,
        vec!["smith j"]
    );
    assert!(common(2, person, &["smith j"]).await.is_empty());
    assert_eq!(common(3, "last_name", &["SMITH"]).await, vec!["smith"]);
    ok(
        "mirror_delete",
        store.mirror_delete(&t, &object, &["1".into()]),
    )
    .await;
    assert!(
        common(1, person, &["smith j"]).await.is_empty(),
        "tombstones are not holders"
    );
    assert!(
        common(0, "city", &["Oslo"]).await.is_empty(),
        "not a match field"
    );
}

/// Create intents: stored per connection and object (one per target and source, the
/// last write wins), listed oldest first, settled by a page commit, dropped by age and
/// target; tenants and connections see only their own.
pub async fn create_intents_are_kept_until_settled_or_dropped(store: &dyn SyncStore) {
    use crate::{CreateIntent, Side};
    let t = tenant("intents");
    let key = LinkKey {
        connection: "crm".into(),
        object: ObjectKind::Company,
    };
    let intent = |source: &str, target: Side, name: &str, seconds: i64| CreateIntent {
        target,
        source_id: source.into(),
        fields: fields(json!({ "name": name })),
        created_at: at(seconds),
    };
    ok(
        "put_create_intents",
        store.put_create_intents(
            &t,
            &key,
            &[
                intent("l-1", Side::Remote, "Acme", -30),
                intent("l-2", Side::Remote, "Globex", -20),
                intent("r-9", Side::Local, "Initech", -10),
            ],
        ),
    )
    .await;
    // Sent again: replaced, not doubled.
    ok(
        "put_create_intents",
        store.put_create_intents(&t, &key, &[intent("l-2", Side::Remote, "Globex Inc", -5)]),
    )
    .await;
    let listed = ok("list_create_intents", store.list_create_intents(&t, &key)).await;
    let summary: Vec<(String, Side, Value)> = listed
        .iter()
        .map(|i| (i.source_id.as_str().to_owned(), i.target, json!(i.fields)))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("l-1".to_owned(), Side::Remote, json!({ "name": "Acme" })),
            ("r-9".to_owned(), Side::Local, json!({ "name": "Initech" })),
            (
                "l-2".to_owned(),
                Side::Remote,
                json!({ "name": "Globex Inc" })
            ),
        ]
    );
    assert!(listed[0].created_at < listed[2].created_at, "oldest first");
    let other = LinkKey {
        connection: "other".into(),
        object: ObjectKind::Company,
    };
    let none = ok("list_create_intents", store.list_create_intents(&t, &other)).await;
    assert!(none.is_empty(), "per connection");
    let none = ok(
        "list_create_intents",
        store.list_create_intents(&tenant("intents-other"), &key),
    )
    .await;
    assert!(none.is_empty(), "per tenant");
    // A page settles one; a drop by age takes older intents of one target only.
    let mut commit = PageCommit::new("crm".into(), ObjectKind::Company);
    commit.settled_intents = vec![(Side::Remote, "l-1".into()), (Side::Local, "l-2".into())];
    ok("commit_page", store.commit_page(&t, commit)).await;
    let dropped = ok(
        "drop_create_intents",
        store.drop_create_intents(&t, &key, Side::Remote, at(-6)),
    )
    .await;
    assert_eq!(dropped, 0, "l-2 is newer");
    let dropped = ok(
        "drop_create_intents",
        store.drop_create_intents(&t, &key, Side::Remote, at(0)),
    )
    .await;
    assert_eq!(dropped, 1);
    let left: Vec<String> = ok("list_create_intents", store.list_create_intents(&t, &key))
        .await
        .iter()
        .map(|i| i.source_id.as_str().to_owned())
        .collect();
    assert_eq!(left, vec!["r-9"]);
}

/// Creates with an idempotency key make one record, however often they are repeated,
/// within a batch or across batches; keys are per object.
pub async fn mirror_idempotency_key_prevents_duplicates(store: &dyn SyncStore) {
    let t = tenant("idem");
    let object = ObjectKind::Contact;
    let first = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![write(
                None,
                Some("hs/contact/101"),
                json!({ "email": "a@x.io" }),
            )],
        ),
    )
    .await;
    let id = first[0].id.clone();
    let again = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![write(
                None,
                Some("hs/contact/101"),
                json!({ "name": "Ada" }),
            )],
        ),
    )
    .await;
    assert_eq!(
        again[0].id, id,
        "a second create with the same key updates the first record"
    );
    assert_eq!(
        again[0].fields,
        fields(json!({ "email": "a@x.io", "name": "Ada" }))
    );
    let seq = again[0].seq;
    let replay = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![write(
                None,
                Some("hs/contact/101"),
                json!({ "name": "Ada" }),
            )],
        ),
    )
    .await;
    assert_eq!(replay[0].seq, seq, "a replayed create changes nothing");

    let batch = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![
                write(None, Some("hs/contact/102"), json!({ "n": 1 })),
                write(None, Some("hs/contact/102"), json!({ "m": 2 })),
            ],
        ),
    )
    .await;
    assert_eq!(
        batch[0].id, batch[1].id,
        "one key in one batch makes one record"
    );
    assert_eq!(batch[1].fields, fields(json!({ "n": 1, "m": 2 })));
    assert_eq!(ok("mirror_count", store.mirror_count(&t, &object)).await, 2);

    let other = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &ObjectKind::Company,
            vec![write(None, Some("hs/contact/101"), json!({}))],
        ),
    )
    .await;
    assert_ne!(other[0].id, id, "keys are per object");

    ok(
        "mirror_delete",
        store.mirror_delete(&t, &object, std::slice::from_ref(&id)),
    )
    .await;
    let revived = ok(
        "mirror_write",
        store.mirror_write(
            &t,
            &object,
            vec![write(None, Some("hs/contact/101"), json!({ "v": 2 }))],
        ),
    )
    .await;
    assert_eq!(
        revived[0].id, id,
        "a key still names its record after a delete"
    );
    assert!(!revived[0].deleted);
    assert_eq!(ok("mirror_count", store.mirror_count(&t, &object)).await, 2);
}

/// Writers running at the same time never share a sequence number, and the feed
/// holds every row once.
pub async fn concurrent_mirror_writers_keep_the_sequence_unique(store: &dyn SyncStore) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 10;
    const ROWS: usize = 20;
    let t = tenant("concurrent");
    let objects = [ObjectKind::Contact, ObjectKind::Company];
    let writers = (0..WRITERS).map(|w| {
        let t = &t;
        let object = &objects[w % 2];
        async move {
            for b in 0..BATCHES {
                let writes = (0..ROWS)
                    .map(|r| {
                        write(
                            Some(&format!("w{w}-b{b}-r{r}")),
                            None,
                            json!({ "w": w, "b": b }),
                        )
                    })
                    .collect();
                ok("mirror_write", store.mirror_write(t, object, writes)).await;
            }
        }
    });
    futures::future::join_all(writers).await;
    let mut seqs = Vec::new();
    for object in &objects {
        let feed = ok(
            "mirror_changes",
            store.mirror_changes(&t, object, 0, u32::MAX),
        )
        .await;
        assert_eq!(
            feed.len(),
            WRITERS / 2 * BATCHES * ROWS,
            "every row is in the feed once"
        );
        seqs.extend(feed.iter().map(|r| r.seq));
    }
    let total = seqs.len();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), total, "sequence numbers are unique per tenant");
}

// ---------------------------------------------------------------------------------
// Leases

/// A lease is held by one holder until it is released or expires; the holder may
/// renew it; leases are per key.
pub async fn leases_are_exclusive_until_expiry(store: &dyn SyncStore) {
    let t = tenant("lease");
    let minute = Duration::from_secs(60);
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&t, "sync/crm/contact", "w1", minute)
        )
        .await
    );
    assert!(
        !ok(
            "acquire_lease",
            store.acquire_lease(&t, "sync/crm/contact", "w2", minute)
        )
        .await,
        "held by w1"
    );
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&t, "sync/crm/contact", "w1", minute)
        )
        .await,
        "the holder renews"
    );
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&t, "sync/crm/deal", "w2", minute)
        )
        .await,
        "other keys are free"
    );
    ok(
        "release_lease",
        store.release_lease(&t, "sync/crm/contact", "w2"),
    )
    .await;
    assert!(
        !ok(
            "acquire_lease",
            store.acquire_lease(&t, "sync/crm/contact", "w2", minute)
        )
        .await,
        "only the holder releases"
    );
    ok(
        "release_lease",
        store.release_lease(&t, "sync/crm/contact", "w1"),
    )
    .await;
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&t, "sync/crm/contact", "w2", minute)
        )
        .await,
        "released"
    );

    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&t, "short", "w1", Duration::ZERO)
        )
        .await
    );
    std::thread::sleep(Duration::from_millis(5));
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&t, "short", "w2", minute)
        )
        .await,
        "an expired lease can be taken"
    );
    assert!(
        !ok(
            "acquire_lease",
            store.acquire_lease(&t, "short", "w1", minute)
        )
        .await
    );
    assert!(
        ok(
            "acquire_lease",
            store.acquire_lease(&t, "forever", "w1", Duration::MAX)
        )
        .await,
        "any ttl is accepted"
    );
    assert!(
        !ok(
            "acquire_lease",
            store.acquire_lease(&t, "forever", "w2", minute)
        )
        .await
    );
}

// ---------------------------------------------------------------------------------
// Volume

/// Thousands of rows in one call (more than one statement's bind parameters in
/// SQLite and PostgreSQL) are written and read completely.
pub async fn large_batches(store: &dyn SyncStore) {
    const N: usize = 7_000;
    let t = tenant("large");
    let k = key("crm", ObjectKind::Contact);
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.upsert_links = (0..N)
        .map(|i| {
            link(
                &format!("l-{i}"),
                &format!("r-{i}"),
                json!({ "email": format!("p{i}@x.io"), "i": i }),
            )
        })
        .collect();
    commit.audit = (0..N)
        .map(|i| {
            audit(
                "crm",
                ObjectKind::Contact,
                Some(RunId(5)),
                &format!("op-{i}"),
            )
        })
        .collect();
    commit.dead_letters = (0..N / 2)
        .map(|i| dead_letter("crm", &format!("d-{i}")))
        .collect();
    let parked = |reason: &str| -> Vec<ReviewItem> {
        (0..N)
            .map(|i| {
                let mut item = review(
                    "crm",
                    ObjectKind::Contact,
                    ReviewKind::Conflict,
                    Some(&format!("l-{i}")),
                    (i % 2 == 0).then(|| format!("r-{i}")).as_deref(),
                );
                item.reason = format!("{reason} {i}");
                item
            })
            .collect()
    };
    commit.review_items = parked("first");
    commit.checkpoint = Some((Direction::Pull, Cursor::new("big")));
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert_eq!(ok("count_links", store.count_links(&t, &k)).await, N as u64);
    let all_reviews = ReviewFilter {
        limit: Some(u32::MAX),
        ..ReviewFilter::default()
    };
    let items = reviews(store, &t, all_reviews.clone()).await;
    assert_eq!(items.len(), N);
    assert_eq!(items[N - 1].reason, format!("first {}", N - 1));

    // Every review item parked again (updated in place); two resolved, then applied
    // with more ids than one statement can bind.
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.review_items = parked("again");
    ok("commit_page", store.commit_page(&t, commit)).await;
    let again = reviews(store, &t, all_reviews.clone()).await;
    assert_eq!(review_ids(&again), review_ids(&items), "updated in place");
    assert!(
        again
            .iter()
            .enumerate()
            .all(|(i, item)| item.reason == format!("again {i}"))
    );
    let review_id_list = review_ids(&again);
    for id in [review_id_list[0], review_id_list[N - 1]] {
        assert!(
            ok(
                "resolve_review_item",
                store.resolve_review_item(&t, id, BTreeMap::new(), "bulk")
            )
            .await
        );
    }
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.applied_reviews = (0..40_000).map(|i| i64::MAX - i).collect();
    commit.applied_reviews.extend(&review_id_list);
    ok("commit_page", store.commit_page(&t, commit)).await;
    let applied = ReviewFilter {
        status: Some(ReviewStatus::Applied),
        ..all_reviews.clone()
    };
    assert_eq!(
        review_ids(&reviews(store, &t, applied).await),
        vec![review_id_list[0], review_id_list[N - 1]]
    );
    assert_eq!(
        ok("list_audit", store.list_audit(&t, Some(RunId(5)), u32::MAX))
            .await
            .len(),
        N
    );
    assert_eq!(
        ok(
            "list_dead_letters",
            store.list_dead_letters(&t, None, u32::MAX)
        )
        .await
        .len(),
        N / 2
    );

    // Look-ups with more ids than one statement can bind.
    let mut remote: Vec<RecordId> = (0..40_000)
        .map(|i| RecordId::new(format!("r-{i}")))
        .collect();
    remote.reverse();
    let found = ok("links_by_remote", store.links_by_remote(&t, &k, &remote)).await;
    assert_eq!(found.len(), N);
    assert_eq!(
        found[0].remote_id,
        RecordId::new(format!("r-{}", N - 1)),
        "request order"
    );
    let local: Vec<RecordId> = (0..N).map(|i| RecordId::new(format!("l-{i}"))).collect();
    assert_eq!(
        ok("links_by_local", store.links_by_local(&t, &k, &local))
            .await
            .len(),
        N
    );

    // Replace every link, then delete them all, one page each.
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.upsert_links = (0..N)
        .map(|i| link(&format!("l-{i}"), &format!("r2-{i}"), json!({})))
        .collect();
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert_eq!(ok("count_links", store.count_links(&t, &k)).await, N as u64);
    assert!(
        ok(
            "links_by_remote",
            store.links_by_remote(&t, &k, &remote[..100])
        )
        .await
        .is_empty()
    );
    let mut commit = PageCommit::new(k.connection.clone(), k.object.clone());
    commit.delete_links = local.clone();
    ok("commit_page", store.commit_page(&t, commit)).await;
    assert_eq!(ok("count_links", store.count_links(&t, &k)).await, 0);

    // The mirror, likewise.
    let object = ObjectKind::Contact;
    let writes = (0..N)
        .map(|i| {
            write(
                None,
                Some(&format!("k-{i}")),
                json!({ "email": format!("p{i}@x.io"), "i": i }),
            )
        })
        .collect();
    let rows: Vec<MirrorRecord> = ok("mirror_write", store.mirror_write(&t, &object, writes)).await;
    assert_eq!(rows.len(), N);
    let mirror_ids: Vec<RecordId> = rows.iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        ok("mirror_get", store.mirror_get(&t, &object, &mirror_ids)).await,
        rows
    );
    let emails: Vec<String> = (0..40_000).map(|i| format!("p{i}@x.io")).collect();
    assert_eq!(
        ok(
            "mirror_find",
            store.mirror_find(&t, &object, "email", &emails)
        )
        .await
        .len(),
        N
    );
    let feed = ok(
        "mirror_changes",
        store.mirror_changes(&t, &object, 0, u32::MAX),
    )
    .await;
    assert_eq!(feed.len(), N);
    assert_eq!(
        ok(
            "mirror_delete",
            store.mirror_delete(&t, &object, &mirror_ids)
        )
        .await,
        N as u64
    );
    assert_eq!(ok("mirror_count", store.mirror_count(&t, &object)).await, 0);
}
