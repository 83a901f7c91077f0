//! `MirrorProvider`: the local mirror as a CRM, over every store.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crmsync_core::{
    ChangeKind, ChangesRequest, CrmProviderDyn, Cursor, ErrorKind, FieldType, Fields, MatchKey,
    MirrorWrite, ObjectKind, Origin, ProviderKind, RecordId, SyncStore, TenantId, WriteOp,
};
use crmsync_store::{CredentialKey, MemoryStore, MirrorProvider, SqliteStore};
use serde_json::{Value, json};

fn fields(value: Value) -> Fields {
    match value {
        Value::Object(map) => map.into_iter().collect(),
        _ => panic!("not an object"),
    }
}

async fn stores() -> Vec<(&'static str, Arc<dyn SyncStore>)> {
    let key = CredentialKey::generate().unwrap();
    vec![
        ("memory", Arc::new(MemoryStore::new(key.clone()))),
        (
            "sqlite",
            Arc::new(SqliteStore::in_memory(key).await.unwrap()),
        ),
    ]
}

/// Engines hold providers as `Arc<dyn CrmProviderDyn>`; so do these tests.
fn provider(store: &Arc<dyn SyncStore>, tenant: &TenantId) -> Arc<dyn CrmProviderDyn> {
    Arc::new(MirrorProvider::new(store.clone(), tenant.clone()))
}

fn request(cursor: Option<&Cursor>, page_size: usize) -> ChangesRequest {
    ChangesRequest {
        cursor: cursor.cloned(),
        page_size,
        ..ChangesRequest::default()
    }
}

async fn seed(store: &Arc<dyn SyncStore>, tenant: &TenantId, n: usize) -> Vec<RecordId> {
    let writes = (0..n)
        .map(|i| MirrorWrite {
            id: None,
            fields: fields(json!({ "email": format!("p{i}@example.com"), "i": i })),
            idempotency_key: None,
        })
        .collect();
    store
        .mirror_write(tenant, &ObjectKind::Contact, writes)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[tokio::test]
async fn the_change_feed_pages_by_cursor_and_carries_tombstones() {
    for (name, store) in stores().await {
        let tenant = TenantId::new("acme");
        let mirror = provider(&store, &tenant);
        let ids = seed(&store, &tenant, 25).await;
        let object = ObjectKind::Contact;

        let mut cursor: Option<Cursor> = None;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = mirror
                .changes(&object, request(cursor.as_ref(), 10))
                .await
                .unwrap();
            pages += 1;
            seen.extend(page.changes.iter().map(|c| c.record.id.clone()));
            assert!(
                page.changes
                    .iter()
                    .all(|c| c.kind == ChangeKind::Upsert && c.origin == Origin::Poll)
            );
            let next = page
                .next
                .clone()
                .expect("the mirror always returns a cursor");
            assert!(
                next.as_str().parse::<i64>().is_ok(),
                "{name}: cursor is a sequence number"
            );
            cursor = Some(next);
            if page.complete {
                break;
            }
            assert_eq!(page.changes.len(), 10, "{name}: full pages until the end");
        }
        assert_eq!(pages, 3, "{name}");
        assert_eq!(seen, ids, "{name}: every record once, in write order");

        // Nothing new: an empty, complete page that keeps the cursor.
        let empty = mirror
            .changes(&object, request(cursor.as_ref(), 10))
            .await
            .unwrap();
        assert!(empty.changes.is_empty() && empty.complete, "{name}");
        assert_eq!(empty.next, cursor, "{name}");

        // Deletes and updates after the cursor.
        let outcomes = mirror.delete(&object, &ids[..2]).await.unwrap();
        assert!(outcomes.iter().all(|o| o.result.is_ok()), "{name}");
        assert_eq!(outcomes[0].key, ids[0].as_str());
        mirror
            .upsert(
                &object,
                vec![WriteOp {
                    key: "k".into(),
                    id: Some(ids[5].clone()),
                    fields: fields(json!({ "name": "Ada" })),
                    idempotency_key: None,
                }],
            )
            .await
            .unwrap();
        let page = mirror
            .changes(&object, request(cursor.as_ref(), 10))
            .await
            .unwrap();
        let kinds: Vec<(RecordId, ChangeKind)> = page
            .changes
            .iter()
            .map(|c| (c.record.id.clone(), c.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ids[0].clone(), ChangeKind::Delete),
                (ids[1].clone(), ChangeKind::Delete),
                (ids[5].clone(), ChangeKind::Upsert),
            ],
            "{name}"
        );
        assert!(page.changes[0].record.deleted, "{name}");

        // Deleting again succeeds and changes nothing.
        let outcomes = mirror.delete(&object, &ids[..1]).await.unwrap();
        assert!(outcomes[0].result.is_ok(), "{name}");
        let after = mirror
            .changes(&object, request(page.next.as_ref(), 10))
            .await
            .unwrap();
        assert!(after.changes.is_empty(), "{name}");

        // A full scan starts from the beginning.
        let full = mirror
            .changes(
                &object,
                ChangesRequest {
                    full: true,
                    page_size: 1000,
                    ..ChangesRequest::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(full.changes.len(), 25, "{name}");
        assert!(full.complete, "{name}");
        assert!(
            full.changes.iter().all(|c| c.origin == Origin::FullScan),
            "{name}"
        );
    }
}

#[tokio::test]
async fn malformed_cursors_are_invalid_requests() {
    for (name, store) in stores().await {
        let mirror = provider(&store, &TenantId::new("acme"));
        for bad in ["", "abc", "-4", "12x"] {
            let err = mirror
                .changes(&ObjectKind::Contact, request(Some(&Cursor::new(bad)), 10))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{name}: {bad:?}");
        }
    }
}

#[tokio::test]
async fn creates_are_idempotent_by_key() {
    for (name, store) in stores().await {
        let tenant = TenantId::new("acme");
        let mirror = provider(&store, &tenant);
        let object = ObjectKind::Contact;
        let op = |key: &str, fields_: Value| WriteOp {
            key: key.into(),
            id: None,
            fields: fields(fields_),
            idempotency_key: Some("hubspot/contact/101".into()),
        };
        let first = mirror
            .upsert(&object, vec![op("a", json!({ "email": "a@x.io" }))])
            .await
            .unwrap();
        let written = first[0].result.as_ref().unwrap();
        assert!(written.created, "{name}");
        assert_eq!(first[0].key, "a");
        let again = mirror
            .upsert(
                &object,
                vec![
                    op("b", json!({ "name": "Ada" })),
                    op("c", json!({ "phone": "+1" })),
                ],
            )
            .await
            .unwrap();
        for outcome in &again {
            assert_eq!(outcome.result.as_ref().unwrap().id, written.id, "{name}");
        }
        assert_eq!(
            store.mirror_count(&tenant, &object).await.unwrap(),
            1,
            "{name}: no duplicate"
        );
        let record = mirror
            .read(&object, std::slice::from_ref(&written.id), &[])
            .await
            .unwrap();
        assert_eq!(
            record[0].fields,
            fields(json!({ "email": "a@x.io", "name": "Ada", "phone": "+1" })),
            "{name}"
        );

        // Updates by id report created only for ids that did not exist.
        let outcomes = mirror
            .upsert(
                &object,
                vec![
                    WriteOp {
                        key: "u".into(),
                        id: Some(written.id.clone()),
                        fields: fields(json!({ "x": 1 })),
                        idempotency_key: None,
                    },
                    WriteOp {
                        key: "n".into(),
                        id: Some("app-9".into()),
                        fields: fields(json!({ "x": 2 })),
                        idempotency_key: None,
                    },
                    WriteOp {
                        key: "bad".into(),
                        id: Some("".into()),
                        fields: Fields::new(),
                        idempotency_key: None,
                    },
                ],
            )
            .await
            .unwrap();
        assert_eq!(outcomes.len(), 3, "{name}: one outcome per op");
        assert!(!outcomes[0].result.as_ref().unwrap().created, "{name}");
        assert!(outcomes[1].result.as_ref().unwrap().created, "{name}");
        assert_eq!(outcomes[2].key, "bad");
        assert_eq!(
            outcomes[2].result.as_ref().unwrap_err().kind(),
            ErrorKind::InvalidRequest,
            "{name}"
        );
    }
}

#[tokio::test]
async fn find_matches_keys_in_one_batch() {
    for (name, store) in stores().await {
        let tenant = TenantId::new("acme");
        let mirror = provider(&store, &tenant);
        let object = ObjectKind::Contact;
        let rows = store
            .mirror_write(
                &tenant,
                &object,
                vec![
                    MirrorWrite {
                        id: Some("1".into()),
                        fields: fields(
                            json!({ "email": "ada@example.com", "phone": "+442071234567" }),
                        ),
                        idempotency_key: None,
                    },
                    MirrorWrite {
                        id: Some("2".into()),
                        fields: fields(json!({ "email": "grace@example.com", "crm_id": "hs-2" })),
                        idempotency_key: None,
                    },
                ],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        let keys = vec![
            MatchKey::Email("ADA@Example.com".into()),
            MatchKey::Phone("+442071234567".into()),
            MatchKey::Field {
                name: "crm_id".into(),
                value: "hs-2".into(),
            },
            MatchKey::Id("2".into()),
            MatchKey::Email("nobody@example.com".into()),
        ];
        let found = mirror
            .find(&object, &keys, &["email".into()])
            .await
            .unwrap();
        let pairs: Vec<(usize, &str)> = found
            .iter()
            .map(|m| (m.key_index, m.record.id.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![(0, "1"), (1, "1"), (2, "2"), (3, "2")],
            "{name}"
        );
        assert_eq!(
            found[0].record.fields,
            fields(json!({ "email": "ada@example.com" })),
            "{name}: projection"
        );
    }
}

#[tokio::test]
async fn the_provider_describes_itself() {
    let store: Arc<dyn SyncStore> = Arc::new(MemoryStore::new(CredentialKey::generate().unwrap()));
    let tenant = TenantId::new("acme");
    seed(&store, &tenant, 3).await;
    let mirror: Arc<dyn CrmProviderDyn> = Arc::new(MirrorProvider::new(store, tenant));
    assert_eq!(mirror.kind(), ProviderKind::Mirror);
    let caps = mirror.capabilities(&ObjectKind::Contact);
    assert!(caps.change_feed && caps.delete_feed && caps.upsert_by_external_id);
    assert!(caps.max_write_batch >= 1000 && caps.max_page_size >= 1000);
    let schema = mirror.describe(&ObjectKind::Contact).await.unwrap();
    let names: Vec<(&str, &FieldType)> = schema
        .fields
        .iter()
        .map(|f| (f.name.as_str(), &f.field_type))
        .collect();
    assert_eq!(
        names,
        vec![("email", &FieldType::Email), ("i", &FieldType::Number)]
    );
    assert!(
        mirror
            .describe(&ObjectKind::Deal)
            .await
            .unwrap()
            .fields
            .is_empty()
    );
}

/// Name keys find records by last name and first initial (and those without a first
/// name), leave out records linked on the connection, and are not looked up at all once
/// more than `NAME_BLOCK_CAP` records share them; a last-name field key still is.
#[tokio::test]
async fn name_keys_block_by_initial_skip_linked_and_common_names() {
    use crmsync_core::PageCommit;
    for (name, store) in stores().await {
        let tenant = TenantId::new("names");
        let object = ObjectKind::Contact;
        let mirror = provider(&store, &tenant);
        let person = |id: &str, first: Option<&str>, last: &str| MirrorWrite {
            id: Some(id.into()),
            fields: fields(json!({ "first_name": first, "last_name": last })),
            idempotency_key: None,
        };
        let mut writes = vec![
            person("jane", Some("Jane"), "Doe"),
            person("john", Some("John"), "DOE"),
            person("ann", Some("Ann"), "Doe"),
            person("nofirst", None, "Doe"),
        ];
        let cap = crmsync_store::NAME_BLOCK_CAP as usize;
        writes.extend((0..=cap).map(|i| person(&format!("s{i}"), Some("Sam"), "Smith")));
        store.mirror_write(&tenant, &object, writes).await.unwrap();
        let mut commit = PageCommit::new("crm".into(), object.clone());
        commit.upsert_links = vec![crmsync_core::Link {
            local_id: "john".into(),
            remote_id: "r-john".into(),
            base: Fields::new(),
            base_hash: 0,
            remote_modified_at: None,
            local_modified_at: None,
            synced_at: chrono::Utc::now(),
        }];
        store.commit_page(&tenant, commit).await.unwrap();
        let doe_j = MatchKey::Name {
            last_name: "doe".into(),
            first_initial: Some('j'),
        };
        let smith_s = MatchKey::Name {
            last_name: "smith".into(),
            first_initial: Some('s'),
        };
        let smith_field = MatchKey::Field {
            name: "last_name".into(),
            value: "smith".into(),
        };
        let keys = [doe_j, smith_s, smith_field];
        let ids = |found: Vec<crmsync_core::RecordMatch>, key: usize| {
            let mut ids: Vec<String> = found
                .into_iter()
                .filter(|m| m.key_index == key)
                .map(|m| m.record.id.as_str().to_owned())
                .collect();
            ids.sort();
            ids
        };
        let found = mirror.find(&object, &keys, &[]).await.unwrap();
        assert_eq!(ids(found.clone(), 0), ["jane", "john", "nofirst"], "{name}");
        assert!(
            ids(found.clone(), 1).is_empty(),
            "{name}: a common name key"
        );
        assert_eq!(ids(found, 2).len(), cap + 1, "{name}: a field key is exact");
        let found = mirror
            .find_unlinked(&object, &keys[..1], &[], &"crm".into())
            .await
            .unwrap();
        assert_eq!(
            ids(found, 0),
            ["jane", "nofirst"],
            "{name}: linked left out"
        );
    }
}
