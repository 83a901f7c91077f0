//! Mirror semantics shared by every backend: patches, idempotency keys, tombstones and
//! the change sequence. Backends load the rows a batch touches, let this module decide,
//! and write back only the rows that changed.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use crmsync_core::{
    Error, ErrorKind, Fields, MirrorRecord, MirrorWrite, ObjectKind, RecordId, Result, match_key,
};
use serde_json::Value;

/// A stored mirror row: the record and the idempotency key that created it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredMirrorRow {
    /// The record.
    pub record: MirrorRecord,
    /// The idempotency key of the create that made it, if any.
    pub idempotency_key: Option<String>,
}

/// What a batch of mirror writes or deletes does.
#[derive(Debug, Default)]
pub(crate) struct MirrorChangeSet {
    /// Rows that changed, with their new sequence numbers, to be written back.
    pub changed: Vec<StoredMirrorRow>,
    /// One record per write (as stored after the batch), or the rows deleted.
    pub results: Vec<MirrorRecord>,
    /// The tenant's sequence after the batch.
    pub last_seq: i64,
}

/// The ids and idempotency keys a batch of writes may touch (to load before planning).
pub(crate) fn lookup_keys(writes: &[MirrorWrite]) -> (Vec<RecordId>, Vec<String>) {
    let ids = writes.iter().filter_map(|w| w.id.clone()).collect();
    let keys = writes
        .iter()
        .filter_map(|w| w.idempotency_key.clone())
        .collect();
    (ids, keys)
}

/// Rejects writes no backend can store.
pub(crate) fn validate_writes(writes: &[MirrorWrite]) -> Result<()> {
    for write in writes {
        if write.id.as_ref().is_some_and(|id| id.as_str().is_empty()) {
            return Err(invalid("a mirror record id cannot be empty"));
        }
        if write.idempotency_key.as_deref() == Some("") {
            return Err(invalid("an idempotency key cannot be empty"));
        }
    }
    Ok(())
}

fn invalid(message: &str) -> Error {
    Error::new(ErrorKind::InvalidRequest, message).with_operation("store.mirror_write")
}

/// Applies `writes` in order over the `existing` rows they touch.
///
/// - A write with an id patches that row, creating it when missing and reviving it
///   (from empty fields) when tombstoned.
/// - A write without an id patches the row holding its idempotency key, or creates a
///   row with a new id from `new_id`.
/// - A patch sets the listed fields; `null` removes a field.
/// - Only effective changes take a new sequence number (from `last_seq + 1`, in order
///   of their first change in the batch) and `now` as modification time.
pub(crate) fn plan_writes(
    object: &ObjectKind,
    existing: Vec<StoredMirrorRow>,
    writes: Vec<MirrorWrite>,
    last_seq: i64,
    now: DateTime<Utc>,
    mut new_id: impl FnMut() -> Result<RecordId>,
) -> Result<MirrorChangeSet> {
    validate_writes(&writes)?;
    let mut rows: HashMap<RecordId, StoredMirrorRow> = HashMap::with_capacity(existing.len());
    let mut by_key: HashMap<String, RecordId> = HashMap::new();
    for row in existing {
        if let Some(key) = &row.idempotency_key {
            by_key.insert(key.clone(), row.record.id.clone());
        }
        rows.insert(row.record.id.clone(), row);
    }

    // Rows with an effective change (new sequence), in order of their first change,
    // and rows whose only change is a newly attached idempotency key.
    let mut bumped: Vec<RecordId> = Vec::new();
    let mut touched: HashSet<RecordId> = HashSet::new();
    let mut keyed: Vec<RecordId> = Vec::new();
    let mut targets: Vec<RecordId> = Vec::with_capacity(writes.len());
    for write in writes {
        let id = match (&write.id, &write.idempotency_key) {
            (Some(id), _) => id.clone(),
            (None, Some(key)) => match by_key.get(key) {
                Some(id) => id.clone(),
                None => new_id()?,
            },
            (None, None) => new_id()?,
        };
        let changed = match rows.get_mut(&id) {
            Some(row) if row.record.deleted => {
                row.record.deleted = false;
                row.record.fields = Fields::new();
                apply_patch(&mut row.record.fields, write.fields);
                true
            }
            Some(row) => apply_patch(&mut row.record.fields, write.fields),
            None => {
                let mut fields = Fields::new();
                apply_patch(&mut fields, write.fields);
                rows.insert(
                    id.clone(),
                    StoredMirrorRow {
                        record: MirrorRecord {
                            object: object.clone(),
                            id: id.clone(),
                            fields,
                            seq: 0,
                            modified_at: now,
                            deleted: false,
                        },
                        idempotency_key: None,
                    },
                );
                true
            }
        };
        if changed && touched.insert(id.clone()) {
            bumped.push(id.clone());
        }
        // A key names the row it first created or patched; it never moves to another.
        if let Some(key) = write.idempotency_key {
            if let (false, Some(row)) = (by_key.contains_key(&key), rows.get_mut(&id)) {
                if row.idempotency_key.is_none() {
                    by_key.insert(key.clone(), id.clone());
                    row.idempotency_key = Some(key);
                    keyed.push(id.clone());
                }
            }
        }
        targets.push(id);
    }

    let mut seq = last_seq;
    let mut changed = Vec::with_capacity(bumped.len() + keyed.len());
    for id in &bumped {
        if let Some(row) = rows.get_mut(id) {
            seq += 1;
            row.record.seq = seq;
            row.record.modified_at = now;
            changed.push(row.clone());
        }
    }
    for id in keyed.iter().filter(|id| !touched.contains(*id)) {
        if let Some(row) = rows.get(id) {
            changed.push(row.clone());
        }
    }
    let results = targets
        .iter()
        .filter_map(|id| rows.get(id).map(|row| row.record.clone()))
        .collect();
    Ok(MirrorChangeSet {
        changed,
        results,
        last_seq: seq,
    })
}

/// Tombstones the live rows among `existing`; already-deleted rows stay as they are.
pub(crate) fn plan_deletes(
    existing: Vec<StoredMirrorRow>,
    last_seq: i64,
    now: DateTime<Utc>,
) -> MirrorChangeSet {
    let mut seq = last_seq;
    let mut changed = Vec::new();
    for mut row in existing {
        if row.record.deleted {
            continue;
        }
        seq += 1;
        row.record.deleted = true;
        row.record.seq = seq;
        row.record.modified_at = now;
        changed.push(row);
    }
    let results = changed.iter().map(|row| row.record.clone()).collect();
    MirrorChangeSet {
        changed,
        results,
        last_seq: seq,
    }
}

/// Sets the listed fields and removes those set to `null`; whether anything changed.
pub(crate) fn apply_patch(fields: &mut Fields, patch: Fields) -> bool {
    let mut changed = false;
    for (name, value) in patch {
        if value.is_null() {
            changed |= fields.remove(&name).is_some();
        } else if fields.get(&name) != Some(&value) {
            fields.insert(name, value);
            changed = true;
        }
    }
    changed
}

/// The string a field is compared by in `mirror_find`: strings as they are, other
/// scalars as JSON text (like PostgreSQL's `->>`); `null`, arrays and objects never
/// match a value.
pub(crate) fn find_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A record's match keys, in the order of [`match_key::MATCH_FIELDS`] then its
/// [`person_key`](match_key::person_key) (the mirror's `match_*` columns): what
/// `mirror_find` looks those fields up by.
pub(crate) fn match_keys(fields: &Fields) -> [Option<String>; 5] {
    let [email, phone, mobile_phone, last_name] = match_key::MATCH_FIELDS.map(|field| {
        fields
            .get(field)
            .and_then(find_text)
            .and_then(|text| match_key::field_key(field, &text))
    });
    [email, phone, mobile_phone, last_name, person_key(fields)]
}

/// A record's [`person_key`](match_key::person_key), from `last_name` and `first_name`.
fn person_key(fields: &Fields) -> Option<String> {
    let last = fields.get("last_name").and_then(find_text)?;
    let first = fields.get("first_name").and_then(find_text);
    match_key::person_key(&last, first.as_deref())
}

/// The key column `mirror_find` looks `field` up by, for the match fields and the
/// [`PERSON`](match_key::PERSON) pseudo-field.
pub(crate) fn key_column(field: &str) -> Option<String> {
    if field == match_key::PERSON {
        Some("match_person".to_owned())
    } else {
        match_key::MATCH_FIELDS
            .contains(&field)
            .then(|| format!("match_{field}"))
    }
}

/// What `mirror_find` compares of a field's text (stored or asked for): the match key
/// for the match fields (`None`: a value without a key matches nothing), the text itself
/// for any other field (and for [`PERSON`](match_key::PERSON), whose values are keys).
pub(crate) fn find_key(field: &str, text: &str) -> Option<String> {
    match match_key::MATCH_FIELDS.contains(&field) {
        true => match_key::field_key(field, text),
        false => Some(text.to_owned()),
    }
}

/// The key a stored record has for `field` in `mirror_find`.
pub(crate) fn record_key(field: &str, fields: &Fields) -> Option<String> {
    if field == match_key::PERSON {
        person_key(fields)
    } else {
        fields
            .get(field)
            .and_then(find_text)
            .and_then(|text| find_key(field, &text))
    }
}

/// Whether a stored record's key for `field` is one of `wanted` (from [`find_values`]).
pub(crate) fn find_hit(field: &str, fields: &Fields, wanted: &HashSet<String>) -> bool {
    record_key(field, fields).is_some_and(|key| wanted.contains(&key))
}

/// The keys `mirror_find` looks for, for the values asked for.
pub(crate) fn find_values(field: &str, values: &[String]) -> HashSet<String> {
    values.iter().filter_map(|v| find_key(field, v)).collect()
}

/// A new mirror record id: `m-` and 16 random hex digits.
pub(crate) fn new_mirror_id() -> Result<RecordId> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|_| {
        Error::new(ErrorKind::Internal, "no randomness for a mirror record id")
            .with_operation("store.mirror_write")
    })?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(RecordId::new(format!("m-{hex}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(pairs: &[(&str, Value)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn write(id: Option<&str>, key: Option<&str>, f: Fields) -> MirrorWrite {
        MirrorWrite {
            id: id.map(RecordId::from),
            fields: f,
            idempotency_key: key.map(str::to_owned),
        }
    }

    fn ids() -> impl FnMut() -> Result<RecordId> {
        let mut n = 0;
        move || {
            n += 1;
            Ok(RecordId::new(format!("new-{n}")))
        }
    }

    #[test]
    fn patches_set_and_clear_fields() {
        let mut f = fields(&[("a", json!(1)), ("b", json!(2))]);
        assert!(apply_patch(
            &mut f,
            fields(&[("a", json!(1)), ("b", Value::Null), ("c", json!(3))])
        ));
        assert_eq!(f, fields(&[("a", json!(1)), ("c", json!(3))]));
        assert!(!apply_patch(
            &mut f,
            fields(&[("a", json!(1)), ("zz", Value::Null)])
        ));
    }

    #[test]
    fn unchanged_rows_keep_their_sequence() {
        let now = Utc::now();
        let object = ObjectKind::Contact;
        let first = plan_writes(
            &object,
            vec![],
            vec![write(Some("x"), None, fields(&[("a", json!(1))]))],
            10,
            now,
            ids(),
        )
        .unwrap();
        assert_eq!(first.last_seq, 11);
        let existing = first.changed.clone();
        let again = plan_writes(
            &object,
            existing,
            vec![write(Some("x"), None, fields(&[("a", json!(1))]))],
            11,
            now,
            ids(),
        )
        .unwrap();
        assert!(again.changed.is_empty());
        assert_eq!(again.last_seq, 11);
        assert_eq!(again.results[0].seq, 11);
    }

    #[test]
    fn a_key_creates_once_within_a_batch() {
        let set = plan_writes(
            &ObjectKind::Contact,
            vec![],
            vec![
                write(None, Some("k"), fields(&[("a", json!(1))])),
                write(None, Some("k"), fields(&[("b", json!(2))])),
            ],
            0,
            Utc::now(),
            ids(),
        )
        .unwrap();
        assert_eq!(set.changed.len(), 1);
        assert_eq!(set.results[0].id, set.results[1].id);
        assert_eq!(
            set.results[1].fields,
            fields(&[("a", json!(1)), ("b", json!(2))])
        );
        assert_eq!(set.changed[0].idempotency_key.as_deref(), Some("k"));
    }
}
