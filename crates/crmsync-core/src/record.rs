//! Records, changes, change pages and cursors.

use std::{collections::BTreeMap, fmt};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ObjectKind, RecordId};

/// A record's fields by name. Absent and `null` mean the same thing; see
/// [`normalize_fields`].
pub type Fields = BTreeMap<String, Value>;

/// One record in a system's own field names (a CRM's, or the application's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Id in the system that owns the record.
    pub id: RecordId,
    /// What kind of object this is.
    pub object: ObjectKind,
    /// Field values by the system's field names.
    pub fields: Fields,
    /// When the record last changed in its system, if known.
    pub modified_at: Option<DateTime<Utc>>,
    /// Whether the record is deleted (archived) in its system.
    pub deleted: bool,
}

impl Record {
    /// A live record.
    pub fn new(id: impl Into<RecordId>, object: ObjectKind, fields: Fields) -> Self {
        Self {
            id: id.into(),
            object,
            fields,
            modified_at: None,
            deleted: false,
        }
    }

    /// Sets the modification time.
    pub fn modified(mut self, at: DateTime<Utc>) -> Self {
        self.modified_at = Some(at);
        self
    }

    /// A field's value as a string, if it is one.
    pub fn field_str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }
}

/// A record in the application's (canonical) field names, produced by a
/// [`FieldMapper`](crate::FieldMapper).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CanonicalRecord {
    /// Field values by canonical name, normalized (no `null`s).
    pub fields: Fields,
    /// When the record last changed in its source system.
    pub modified_at: Option<DateTime<Utc>>,
}

impl CanonicalRecord {
    /// A canonical record from fields; `null` values are dropped.
    pub fn new(fields: Fields) -> Self {
        Self {
            fields: normalize_fields(fields),
            modified_at: None,
        }
    }

    /// A stable 64-bit content hash (FNV-1a over canonical JSON), used to recognise
    /// re-read records and our own writes coming back.
    pub fn content_hash(&self) -> u64 {
        content_hash(&self.fields)
    }
}

/// Drops `null` values so that "absent" and "null" compare equal.
pub fn normalize_fields(mut fields: Fields) -> Fields {
    fields.retain(|_, v| !v.is_null());
    fields
}

/// Whether two field maps are equal when `null` and absent are treated alike.
pub fn fields_equal(a: &Fields, b: &Fields) -> bool {
    let non_null = |m: &Fields| m.iter().filter(|(_, v)| !v.is_null()).count();
    non_null(a) == non_null(b)
        && a.iter()
            .filter(|(_, v)| !v.is_null())
            .all(|(k, v)| b.get(k) == Some(v))
}

/// FNV-1a (64 bit): a hash that is stable across runs, builds and Rust releases, for
/// values that are stored and compared later (content hashes, fingerprints).
///
/// ```
/// let mut a = crmsync_core::Fnv1a::new();
/// a.write(b"ab");
/// let mut b = crmsync_core::Fnv1a::new();
/// b.write(b"a");
/// b.write(b"b");
/// assert_eq!(a.finish(), b.finish());
/// assert_eq!(crmsync_core::Fnv1a::new().finish(), 0xcbf2_9ce4_8422_2325);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Fnv1a {
    /// The empty hash (the FNV offset basis).
    pub fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    /// Feeds bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// The hash of everything fed so far.
    pub fn finish(self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// FNV-1a over the canonical JSON of non-null fields; stable across runs and builds.
pub(crate) fn content_hash(fields: &Fields) -> u64 {
    let mut hash = Fnv1a::new();
    for (k, v) in fields {
        if v.is_null() {
            continue;
        }
        hash.write(k.as_bytes());
        hash.write(&[0]);
        hash.write(v.to_string().as_bytes());
        hash.write(&[1]);
    }
    hash.finish()
}

/// Whether a change creates/updates or deletes a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Created or updated.
    Upsert,
    /// Deleted (archived).
    Delete,
}

/// Where a change was observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Read from a polling change feed.
    Poll,
    /// Received as a webhook or change event.
    Event,
    /// Read by a full scan.
    FullScan,
}

/// One change of one record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The record as it is now (for deletes: at least its id).
    pub record: Record,
    /// Upsert or delete.
    pub kind: ChangeKind,
    /// How the change was observed.
    pub origin: Origin,
}

/// One page of a change feed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangePage {
    /// The changes, in feed order.
    pub changes: Vec<Change>,
    /// The cursor to resume after this page; persisted by the engine with the page.
    pub next: Option<Cursor>,
    /// `true` when the feed is exhausted for now (`next` then resumes incrementally).
    pub complete: bool,
    /// The provider's estimate of the total number of changes, if it knows one.
    pub estimated_total: Option<u64>,
}

/// An opaque, provider-encoded position in a change feed, persisted by the store.
///
/// HubSpot encodes `(updatedAt, id)` and a phase; Salesforce `(SystemModstamp, Id)`;
/// Dataverse its delta link; the local mirror a sequence number.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(String);

impl Cursor {
    /// Wraps an encoded cursor.
    pub fn new(encoded: impl Into<String>) -> Self {
        Self(encoded.into())
    }

    /// The encoded form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_and_absent_compare_equal() {
        let mut a = Fields::new();
        a.insert("email".into(), json!("a@x.io"));
        let mut b = a.clone();
        b.insert("phone".into(), Value::Null);
        assert!(fields_equal(&a, &b));
        assert_eq!(content_hash(&a), content_hash(&b));
        b.insert("phone".into(), json!("+1"));
        assert!(!fields_equal(&a, &b));
        assert_ne!(content_hash(&a), content_hash(&b));
    }
}
