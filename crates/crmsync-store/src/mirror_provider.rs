//! `MirrorProvider`: the local mirror of one tenant as a `CrmProvider`, so an
//! application that writes mirror rows gets them synced without writing a provider.

use std::{
    collections::{BTreeMap, BTreeSet, HashSet},
    sync::Arc,
};

use crmsync_core::match_key;
use crmsync_core::{
    Capabilities, Change, ChangeKind, ChangePage, ChangesRequest, ConnectionId, CrmProvider,
    Cursor, Error, ErrorKind, FieldSchema, FieldType, MatchKey, MirrorRecord, MirrorWrite,
    ObjectKind, ObjectSchema, Origin, ProviderKind, Record, RecordId, RecordMatch, Result,
    SyncStore, TenantId, WriteOp, WriteOutcome, Written,
};
use serde_json::Value;

/// Largest page, read and write batch the mirror serves.
const MAX_BATCH: usize = 5_000;
/// A name key ([`MatchKey::Name`]) more records hold than this is not looked up: so
/// common a name (thousands of `smith j`) cannot tell people apart on its own, and
/// fetching every holder for every record would make match before create quadratic. Such
/// records are still found by e-mail and phone.
pub const NAME_BLOCK_CAP: u32 = 200;
/// Page size when the request asks for none.
const DEFAULT_PAGE: usize = 100;
/// Rows `describe` looks at to list fields.
const DESCRIBE_SAMPLE: u32 = 500;

/// The local mirror of one tenant, seen as a CRM ([`ProviderKind::Mirror`]).
///
/// The application writes canonical records with
/// [`SyncStore::mirror_write`]; the engine reads them through this provider's change
/// feed and writes the CRM's changes back through it.
///
/// - The cursor is the mirror's change sequence as a decimal string; a request without a
///   cursor starts at the beginning, so a full scan is the feed read from no cursor.
/// - Deleted rows come through the feed as [`ChangeKind::Delete`].
/// - Creates are idempotent by [`WriteOp::idempotency_key`].
/// - [`MatchKey::Email`] matches the `email` field trimmed and ignoring case,
///   [`MatchKey::Phone`] the `phone` or `mobile_phone` field by national number
///   (formatting and country prefix ignored), [`MatchKey::Name`] the last name's key and
///   the first name's initial (records without a first name included), [`MatchKey::Field`]
///   any field (see [`SyncStore::mirror_find`] for how match fields are normalized).
/// - [`find_unlinked`](CrmProvider::find_unlinked) leaves rows already linked on the
///   connection out in the store's query.
/// - A name key held by more than [`NAME_BLOCK_CAP`] records is not looked up.
///
/// ```
/// use std::sync::Arc;
/// use crmsync_core::{CrmProvider, ObjectKind, ProviderKind, TenantId};
/// use crmsync_store::{CredentialKey, MemoryStore, MirrorProvider};
///
/// # fn main() -> crmsync_core::Result<()> {
/// let store = Arc::new(MemoryStore::new(CredentialKey::generate()?));
/// let mirror = MirrorProvider::new(store, TenantId::new("acme"));
/// assert_eq!(mirror.kind(), ProviderKind::Mirror);
/// assert!(mirror.capabilities(&ObjectKind::Contact).upsert_by_external_id);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MirrorProvider {
    store: Arc<dyn SyncStore>,
    tenant: TenantId,
}

impl std::fmt::Debug for MirrorProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorProvider")
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl MirrorProvider {
    /// The mirror of `tenant` in `store`.
    pub fn new(store: Arc<dyn SyncStore>, tenant: TenantId) -> Self {
        Self { store, tenant }
    }

    /// The tenant whose mirror this is.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// `find`, less rows linked on `unlinked_on` when given.
    async fn find_in(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
        unlinked_on: Option<&ConnectionId>,
    ) -> Result<Vec<RecordMatch>> {
        let mut matches = Vec::new();

        // Ids: one read.
        let by_id: Vec<(usize, &RecordId)> = keys
            .iter()
            .enumerate()
            .filter_map(|(i, key)| match key {
                MatchKey::Id(id) => Some((i, id)),
                _ => None,
            })
            .collect();
        if !by_id.is_empty() {
            let ids: Vec<RecordId> = by_id.iter().map(|(_, id)| (*id).clone()).collect();
            let rows = self.store.mirror_get(&self.tenant, object, &ids).await?;
            for (i, id) in &by_id {
                if let Some(row) = rows.iter().find(|row| &row.id == *id) {
                    matches.push(RecordMatch {
                        key_index: *i,
                        record: to_record(row.clone(), fields),
                    });
                }
            }
        }

        // Fields: one look-up per field name, with every value asked for it. The store
        // compares match fields normalized (`match_text`); so does the routing here.
        let mut by_field: BTreeMap<&str, Vec<Wanted>> = BTreeMap::new();
        for (i, key) in keys.iter().enumerate() {
            let blocking = matches!(key, MatchKey::Name { .. });
            for (field, value) in match_fields(key) {
                by_field.entry(field).or_default().push((
                    i,
                    crate::mirror::find_key(field, &value),
                    blocking,
                ));
            }
        }
        let mut seen: BTreeSet<(usize, RecordId)> = BTreeSet::new();
        for (field, mut wanted) in by_field {
            // Name keys more than NAME_BLOCK_CAP records share tell nobody apart.
            let blocking: BTreeSet<String> = wanted
                .iter()
                .filter(|(_, _, blocking)| *blocking)
                .filter_map(|(_, v, _)| v.clone())
                .collect();
            if !blocking.is_empty() {
                let blocking: Vec<String> = blocking.into_iter().collect();
                let common: BTreeSet<String> = self
                    .store
                    .mirror_common_keys(&self.tenant, object, field, &blocking, NAME_BLOCK_CAP)
                    .await?
                    .into_iter()
                    .collect();
                if !common.is_empty() {
                    tracing::debug!(
                        field,
                        keys = common.len(),
                        "name keys held by more than {NAME_BLOCK_CAP} records are not looked up"
                    );
                    wanted.retain(|(_, v, blocking)| {
                        !(*blocking && v.as_ref().is_some_and(|v| common.contains(v)))
                    });
                }
            }
            let values: BTreeSet<String> =
                wanted.iter().filter_map(|(_, v, _)| v.clone()).collect();
            if values.is_empty() {
                continue;
            }
            let values: Vec<String> = values.into_iter().collect();
            let rows = match unlinked_on {
                Some(connection) => {
                    self.store
                        .mirror_find_unlinked(&self.tenant, object, field, &values, connection)
                        .await?
                }
                None => {
                    self.store
                        .mirror_find(&self.tenant, object, field, &values)
                        .await?
                }
            };
            for row in rows {
                let key = crate::mirror::record_key(field, &row.fields);
                let Some(key) = key else { continue };
                for (i, value, _) in &wanted {
                    // A phone found in both fields is one match.
                    if value.as_ref() == Some(&key) && seen.insert((*i, row.id.clone())) {
                        matches.push(RecordMatch {
                            key_index: *i,
                            record: to_record(row.clone(), fields),
                        });
                    }
                }
            }
        }
        matches.sort_by_key(|m| m.key_index);
        Ok(matches)
    }
}

/// One value a `find` key looks a field up by: the key's index, the value's match key
/// (`None`: nothing can match it), and whether it comes from a name key (subject to
/// [`NAME_BLOCK_CAP`]).
type Wanted = (usize, Option<String>, bool);

/// Parses a mirror cursor: a non-negative decimal sequence number.
fn parse_cursor(cursor: &Cursor) -> Result<i64> {
    cursor
        .as_str()
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "malformed mirror cursor {:?}: expected a sequence number",
                    cursor.as_str()
                ),
            )
            .with_operation("mirror.changes")
        })
}

/// A mirror row as a provider record, keeping only `fields` when some are asked for.
fn to_record(row: MirrorRecord, fields: &[String]) -> Record {
    let mut values = row.fields;
    if !fields.is_empty() {
        values.retain(|name, _| fields.contains(name));
    }
    Record {
        id: row.id,
        object: row.object,
        fields: values,
        modified_at: Some(row.modified_at),
        deleted: row.deleted,
    }
}

fn field_type(name: &str, value: &Value) -> FieldType {
    match value {
        Value::Bool(_) => FieldType::Boolean,
        Value::Number(_) => FieldType::Number,
        Value::String(_) if name.contains("email") => FieldType::Email,
        Value::String(_) if name.contains("phone") => FieldType::Phone,
        Value::String(_) => FieldType::String,
        Value::Array(_) | Value::Object(_) | Value::Null => FieldType::Other("json".to_owned()),
    }
}

/// The fields a match key looks at, with the value for each: a phone number is looked
/// for among both phone fields; a name with an initial by its person keys (the initial,
/// and no first name), without one by the last name.
fn match_fields(key: &MatchKey) -> Vec<(&str, String)> {
    match key {
        MatchKey::Email(email) => vec![("email", email.clone())],
        MatchKey::Phone(phone) => vec![("phone", phone.clone()), ("mobile_phone", phone.clone())],
        MatchKey::Field { name, value } => vec![(name.as_str(), value.clone())],
        MatchKey::Name {
            last_name,
            first_initial: Some(initial),
        } => vec![
            (
                match_key::PERSON,
                match_key::person_key_of(last_name, Some(*initial)),
            ),
            (match_key::PERSON, match_key::person_key_of(last_name, None)),
        ],
        MatchKey::Name {
            last_name,
            first_initial: None,
        } => vec![("last_name", last_name.clone())],
        _ => Vec::new(),
    }
}

impl CrmProvider for MirrorProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Mirror
    }

    fn capabilities(&self, _object: &ObjectKind) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.change_feed = true;
        caps.delete_feed = true;
        caps.read = true;
        caps.find = true;
        caps.write = true;
        caps.delete = true;
        caps.upsert_by_external_id = true;
        caps.max_write_batch = MAX_BATCH;
        caps.max_read_batch = MAX_BATCH;
        caps.max_page_size = MAX_BATCH;
        caps.search_cap = None;
        caps.webhooks = false;
        caps.bulk = false;
        caps.field_timestamps = false;
        caps.name_keys = true;
        caps
    }

    async fn describe(&self, object: &ObjectKind) -> Result<ObjectSchema> {
        let sample = self
            .store
            .mirror_changes(&self.tenant, object, 0, DESCRIBE_SAMPLE)
            .await?;
        let mut seen: BTreeMap<String, FieldType> = BTreeMap::new();
        for row in sample.iter().filter(|row| !row.deleted) {
            for (name, value) in &row.fields {
                if !value.is_null() {
                    seen.entry(name.clone())
                        .or_insert_with(|| field_type(name, value));
                }
            }
        }
        Ok(ObjectSchema {
            object: object.clone(),
            fields: seen
                .into_iter()
                .map(|(name, field_type)| FieldSchema {
                    label: name.clone(),
                    name,
                    field_type,
                    required: false,
                    read_only: false,
                    custom: false,
                    options: Vec::new(),
                })
                .collect(),
        })
    }

    async fn changes(&self, object: &ObjectKind, request: ChangesRequest) -> Result<ChangePage> {
        let after = match &request.cursor {
            Some(cursor) => parse_cursor(cursor)?,
            None => 0,
        };
        let page_size = match request.page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_BATCH),
        };
        let limit = u32::try_from(page_size).unwrap_or(u32::MAX);
        let rows = self
            .store
            .mirror_changes(&self.tenant, object, after, limit)
            .await?;
        let complete = rows.len() < page_size;
        let last = rows.last().map_or(after, |row| row.seq);
        let origin = if request.full {
            Origin::FullScan
        } else {
            Origin::Poll
        };
        let changes = rows
            .into_iter()
            .filter(|row| request.since.is_none_or(|since| row.modified_at >= since))
            .map(|row| Change {
                kind: if row.deleted {
                    ChangeKind::Delete
                } else {
                    ChangeKind::Upsert
                },
                record: to_record(row, &request.fields),
                origin,
            })
            .collect();
        Ok(ChangePage {
            changes,
            next: Some(Cursor::new(last.to_string())),
            complete,
            estimated_total: None,
        })
    }

    async fn read(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
    ) -> Result<Vec<Record>> {
        let rows = self.store.mirror_get(&self.tenant, object, ids).await?;
        Ok(rows.into_iter().map(|row| to_record(row, fields)).collect())
    }

    async fn find(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
    ) -> Result<Vec<RecordMatch>> {
        self.find_in(object, keys, fields, None).await
    }

    async fn find_unlinked(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
        connection: &ConnectionId,
    ) -> Result<Vec<RecordMatch>> {
        self.find_in(object, keys, fields, Some(connection)).await
    }

    async fn upsert(&self, object: &ObjectKind, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        // Ops the store would reject fail alone, not the batch.
        let mut outcomes: Vec<Option<WriteOutcome>> = Vec::with_capacity(ops.len());
        let mut valid: Vec<(usize, WriteOp)> = Vec::with_capacity(ops.len());
        for (i, op) in ops.into_iter().enumerate() {
            let problem = if op.id.as_ref().is_some_and(|id| id.as_str().is_empty()) {
                Some("a mirror record id cannot be empty")
            } else if op.idempotency_key.as_deref() == Some("") {
                Some("an idempotency key cannot be empty")
            } else {
                None
            };
            match problem {
                Some(message) => outcomes.push(Some(WriteOutcome::failed(
                    op.key,
                    Error::new(ErrorKind::InvalidRequest, message).with_operation("mirror.upsert"),
                ))),
                None => {
                    outcomes.push(None);
                    valid.push((i, op));
                }
            }
        }

        // Which targeted ids exist already (for `created`).
        let ids: Vec<RecordId> = valid.iter().filter_map(|(_, op)| op.id.clone()).collect();
        let existing: BTreeSet<RecordId> = if ids.is_empty() {
            BTreeSet::new()
        } else {
            self.store
                .mirror_get(&self.tenant, object, &ids)
                .await?
                .into_iter()
                .map(|row| row.id)
                .collect()
        };

        let writes = valid
            .iter()
            .map(|(_, op)| MirrorWrite {
                id: op.id.clone(),
                fields: op.fields.clone(),
                idempotency_key: op.idempotency_key.clone(),
            })
            .collect();
        let stored = self
            .store
            .mirror_write(&self.tenant, object, writes)
            .await?;

        // A create by idempotency key counts as created unless an earlier op of this
        // batch already made the record.
        let mut made: HashSet<RecordId> = HashSet::new();
        for ((i, op), row) in valid.into_iter().zip(stored) {
            let created = match &op.id {
                Some(id) => !existing.contains(id) && made.insert(id.clone()),
                None => made.insert(row.id.clone()),
            };
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = Some(WriteOutcome::ok(
                    op.key,
                    Written {
                        id: row.id,
                        created,
                        modified_at: Some(row.modified_at),
                    },
                ));
            }
        }
        Ok(outcomes.into_iter().flatten().collect())
    }

    async fn delete(&self, object: &ObjectKind, ids: &[RecordId]) -> Result<Vec<WriteOutcome>> {
        self.store.mirror_delete(&self.tenant, object, ids).await?;
        Ok(ids
            .iter()
            .map(|id| {
                WriteOutcome::ok(
                    id.as_str(),
                    Written {
                        id: id.clone(),
                        created: false,
                        modified_at: None,
                    },
                )
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_sequence_numbers() {
        assert_eq!(parse_cursor(&Cursor::new("42")).unwrap(), 42);
        for bad in ["", "-1", "abc", "1.5", "99999999999999999999"] {
            let err = parse_cursor(&Cursor::new(bad)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{bad}");
        }
    }
}
