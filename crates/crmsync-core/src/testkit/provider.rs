//! The `CrmProvider` conformance suite: one contract, proven on every provider.
//!
//! Call [`run_all`] from a provider's tests with a live provider (against its
//! simulator) and a [`ProviderFixture`] describing valid records. Cases are picked by
//! [`Capabilities`](crate::Capabilities), never by provider name.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::{
    ChangeKind, ChangesRequest, CrmProviderDyn, Cursor, ErrorKind, Fields, MatchKey, ObjectKind,
    RecordId, WriteOp,
};

/// What the suite needs to know about the provider's records.
pub struct ProviderFixture {
    /// The object to exercise.
    pub object: ObjectKind,
    /// A valid new record, in the provider's field names; `i` makes it unique.
    pub new_record: fn(usize) -> Fields,
    /// A writable text field the suite edits.
    pub edit_field: String,
    /// The field holding an email address, if the object has one (for `find`).
    pub email_field: Option<String>,
    /// A record the provider must reject (for per-record failures), if any.
    pub invalid_record: Option<fn() -> Fields>,
    /// Fields to request when reading.
    pub fields: Vec<String>,
}

fn op(key: impl Into<String>, id: Option<RecordId>, fields: Fields) -> WriteOp {
    WriteOp {
        key: key.into(),
        id,
        fields,
        idempotency_key: None,
    }
}

/// Runs every case the provider's capabilities allow.
pub async fn run_all(provider: &dyn CrmProviderDyn, fixture: &ProviderFixture) {
    describe_lists_fields(provider, fixture).await;
    let caps = provider.capabilities(&fixture.object);
    if caps.write && caps.read {
        create_read_update_delete(provider, fixture).await;
    }
    if caps.change_feed {
        full_feed_covers_every_record_once(provider, fixture).await;
        malformed_cursor_is_a_typed_error(provider, fixture).await;
        if caps.write && caps.delete_feed {
            incremental_feed_sees_edits_and_deletes(provider, fixture).await;
        }
    }
    if caps.find && caps.write && fixture.email_field.is_some() {
        find_by_email(provider, fixture).await;
    }
    if caps.write && fixture.invalid_record.is_some() {
        batch_failures_are_per_record(provider, fixture).await;
    }
}

/// `describe` lists the field the suite edits.
pub async fn describe_lists_fields(provider: &dyn CrmProviderDyn, fixture: &ProviderFixture) {
    let schema = provider
        .describe(&fixture.object)
        .await
        .unwrap_or_else(|e| panic!("describe failed: {e}"));
    assert!(!schema.fields.is_empty(), "describe returned no fields");
    assert!(
        schema.field(&fixture.edit_field).is_some(),
        "describe does not list `{}`",
        fixture.edit_field
    );
}

async fn create(
    provider: &dyn CrmProviderDyn,
    fixture: &ProviderFixture,
    from: usize,
    n: usize,
) -> Vec<RecordId> {
    let ops = (from..from + n)
        .map(|i| op(format!("k{i}"), None, (fixture.new_record)(i)))
        .collect();
    let outcomes = provider
        .upsert(&fixture.object, ops)
        .await
        .unwrap_or_else(|e| panic!("create failed: {e}"));
    assert_eq!(outcomes.len(), n, "one outcome per op");
    let mut by_key: HashMap<String, RecordId> = HashMap::new();
    for o in outcomes {
        let written = o
            .result
            .unwrap_or_else(|e| panic!("create of {} failed: {e}", o.key));
        assert!(written.created, "a new record reports created");
        by_key.insert(o.key, written.id);
    }
    (from..from + n)
        .map(|i| {
            by_key
                .remove(&format!("k{i}"))
                .unwrap_or_else(|| panic!("no outcome for k{i}"))
        })
        .collect()
}

/// Created records read back; an update changes only the edited field; deletes are
/// idempotent and deleted records no longer read.
pub async fn create_read_update_delete(provider: &dyn CrmProviderDyn, fixture: &ProviderFixture) {
    let object = &fixture.object;
    let ids = create(provider, fixture, 900_000, 3).await;
    let read = provider
        .read(object, &ids, &fixture.fields)
        .await
        .unwrap_or_else(|e| panic!("read failed: {e}"));
    assert_eq!(read.len(), 3, "all created records read back");
    for record in &read {
        let i = ids
            .iter()
            .position(|id| *id == record.id)
            .unwrap_or_else(|| panic!("unexpected id {}", record.id));
        let expected = (fixture.new_record)(900_000 + i);
        let value = expected.get(&fixture.edit_field);
        assert_eq!(
            record.fields.get(&fixture.edit_field),
            value,
            "field read back as written"
        );
    }
    let mut patch = Fields::new();
    patch.insert(
        fixture.edit_field.clone(),
        Value::String("conformance-edit".into()),
    );
    let outcomes = provider
        .upsert(object, vec![op("edit", Some(ids[0].clone()), patch)])
        .await
        .unwrap_or_else(|e| panic!("update failed: {e}"));
    let written = outcomes
        .into_iter()
        .next()
        .map(|o| o.result)
        .unwrap_or_else(|| panic!("no outcome for update"))
        .unwrap_or_else(|e| panic!("update failed: {e}"));
    assert!(!written.created, "an update does not report created");
    assert_eq!(written.id, ids[0]);
    let again = provider
        .read(object, &ids[..1], &fixture.fields)
        .await
        .unwrap_or_else(|e| panic!("read failed: {e}"));
    assert_eq!(
        again
            .first()
            .and_then(|r| r.fields.get(&fixture.edit_field)),
        Some(&Value::String("conformance-edit".into()))
    );
    for _ in 0..2 {
        let outcomes = provider
            .delete(object, &ids)
            .await
            .unwrap_or_else(|e| panic!("delete failed: {e}"));
        assert_eq!(outcomes.len(), 3);
        assert!(
            outcomes.iter().all(|o| o.result.is_ok()),
            "deletes succeed, also when repeated"
        );
    }
    let gone = provider
        .read(object, &ids, &fixture.fields)
        .await
        .unwrap_or_else(|e| panic!("read failed: {e}"));
    assert!(gone.is_empty(), "deleted records do not read back");
}

async fn drain(
    provider: &dyn CrmProviderDyn,
    fixture: &ProviderFixture,
    cursor: Option<Cursor>,
    full: bool,
) -> (Vec<(RecordId, ChangeKind)>, Option<Cursor>) {
    let mut cursor = cursor;
    let mut seen = Vec::new();
    for _ in 0..100_000 {
        let page = provider
            .changes(
                &fixture.object,
                ChangesRequest {
                    cursor: cursor.clone(),
                    page_size: 50,
                    full,
                    since: None,
                    fields: fixture.fields.clone(),
                },
            )
            .await
            .unwrap_or_else(|e| panic!("changes failed: {e}"));
        seen.extend(page.changes.into_iter().map(|c| (c.record.id, c.kind)));
        cursor = page.next;
        if page.complete || cursor.is_none() {
            return (seen, cursor);
        }
    }
    panic!("the change feed never completed");
}

/// A full read of the feed delivers every live record exactly once.
pub async fn full_feed_covers_every_record_once(
    provider: &dyn CrmProviderDyn,
    fixture: &ProviderFixture,
) {
    let created = if provider.capabilities(&fixture.object).write {
        create(provider, fixture, 910_000, 2).await
    } else {
        Vec::new()
    };
    let (seen, next) = drain(provider, fixture, None, true).await;
    assert!(
        next.is_some(),
        "a completed feed leaves a cursor to resume from"
    );
    let mut upserts = BTreeSet::new();
    for (id, kind) in &seen {
        if *kind == ChangeKind::Upsert {
            assert!(
                upserts.insert(id.clone()),
                "record {id} delivered twice in one full pass"
            );
        }
    }
    for id in &created {
        assert!(
            upserts.contains(id),
            "created record {id} missing from the full feed"
        );
    }
}

/// After a completed pass, edits and deletes appear when reading on from the cursor.
pub async fn incremental_feed_sees_edits_and_deletes(
    provider: &dyn CrmProviderDyn,
    fixture: &ProviderFixture,
) {
    let object = &fixture.object;
    let ids = create(provider, fixture, 920_000, 2).await;
    let (_, cursor) = drain(provider, fixture, None, true).await;
    let mut patch = Fields::new();
    patch.insert(
        fixture.edit_field.clone(),
        Value::String("incremental-edit".into()),
    );
    let outcomes = provider
        .upsert(object, vec![op("e", Some(ids[0].clone()), patch)])
        .await
        .unwrap_or_else(|e| panic!("update failed: {e}"));
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    provider
        .delete(object, &ids[1..])
        .await
        .unwrap_or_else(|e| panic!("delete failed: {e}"));
    let (seen, _) = drain(provider, fixture, cursor, false).await;
    assert!(
        seen.iter()
            .any(|(id, k)| *id == ids[0] && *k == ChangeKind::Upsert),
        "the edit of {} is in the incremental feed",
        ids[0]
    );
    assert!(
        seen.iter()
            .any(|(id, k)| *id == ids[1] && *k == ChangeKind::Delete),
        "the delete of {} is in the incremental feed",
        ids[1]
    );
}

/// A cursor the provider did not write is a typed error, not a panic.
pub async fn malformed_cursor_is_a_typed_error(
    provider: &dyn CrmProviderDyn,
    fixture: &ProviderFixture,
) {
    let result = provider
        .changes(
            &fixture.object,
            ChangesRequest {
                cursor: Some(Cursor::new("\u{0}not a cursor")),
                page_size: 10,
                ..ChangesRequest::default()
            },
        )
        .await;
    match result {
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidRequest, "{e}"),
        Ok(_) => panic!("a malformed cursor was accepted"),
    }
}

/// `find` by email returns the record that has it, with the key's index.
pub async fn find_by_email(provider: &dyn CrmProviderDyn, fixture: &ProviderFixture) {
    let Some(email_field) = &fixture.email_field else {
        return;
    };
    let ids = create(provider, fixture, 930_000, 1).await;
    let email = (fixture.new_record)(930_000)
        .get(email_field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("fixture record has no `{email_field}`"));
    let keys = vec![
        MatchKey::Email("nobody-at-all@example.invalid".into()),
        MatchKey::Email(email.to_uppercase()),
    ];
    let found = provider
        .find(&fixture.object, &keys, &fixture.fields)
        .await
        .unwrap_or_else(|e| panic!("find failed: {e}"));
    assert_eq!(found.len(), 1, "exactly one match: {found:?}");
    assert_eq!(found[0].key_index, 1);
    assert_eq!(found[0].record.id, ids[0]);
}

/// One invalid record fails alone; the rest of the batch is written.
pub async fn batch_failures_are_per_record(
    provider: &dyn CrmProviderDyn,
    fixture: &ProviderFixture,
) {
    let Some(invalid) = fixture.invalid_record else {
        return;
    };
    let ops = vec![
        op("good-1", None, (fixture.new_record)(940_001)),
        op("bad", None, invalid()),
        op("good-2", None, (fixture.new_record)(940_002)),
    ];
    let outcomes = provider
        .upsert(&fixture.object, ops)
        .await
        .unwrap_or_else(|e| panic!("batch write failed as a whole: {e}"));
    assert_eq!(outcomes.len(), 3);
    for o in outcomes {
        match o.key.as_str() {
            "bad" => assert!(o.result.is_err(), "the invalid record must fail"),
            _ => assert!(
                o.result.is_ok(),
                "{} must succeed: {:?}",
                o.key,
                o.result.err()
            ),
        }
    }
}
