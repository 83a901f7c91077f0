//! The simulator's in-memory org: records per sObject type ordered by Id, deleted ones kept
//! in the recycle bin (`IsDeleted = true`), the indexes external ids and duplicate rules need,
//! the delete log `/deleted` reads, and an undo log so `allOrNone` work can be rolled back.
//!
//! Every write goes through [`Store::insert`], [`Store::update`] or [`Store::delete`], which
//! apply Salesforce's validation (writable fields, required fields, restricted picklists,
//! email addresses, lengths, references, unique values, duplicate rules) and keep the
//! platform fields (`CreatedDate`, `LastModifiedDate`, `SystemModstamp`, ...) right.

use std::collections::{BTreeMap, BTreeSet, HashMap};

mod validate;

use super::errors::RecordError;
use super::ids;
use super::schema::{
    self, CREATED_BY, CREATED_DATE, FieldType, ID, IS_DELETED, LAST_MODIFIED_BY,
    LAST_MODIFIED_DATE, OBJECTS, OWNER_ID, ObjectKind, SYSTEM_MODSTAMP,
};
use super::values::Val;

static NULL: Val = Val::Null;

/// One stored record: a value per field of its object, in schema order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub values: Vec<Val>,
    /// When it went to the recycle bin.
    pub deleted_ms: Option<i64>,
}

impl Record {
    pub(crate) fn get(&self, field: usize) -> &Val {
        self.values.get(field).unwrap_or(&NULL)
    }

    pub(crate) fn id(&self) -> &str {
        self.get(ID).as_str().unwrap_or("")
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.deleted_ms.is_some()
    }

    fn instant(&self, field: usize) -> i64 {
        match self.get(field) {
            Val::DateTime(ms) => *ms,
            _ => 0,
        }
    }

    pub(crate) fn created_ms(&self) -> i64 {
        self.instant(CREATED_DATE)
    }

    pub(crate) fn last_modified_ms(&self) -> i64 {
        self.instant(LAST_MODIFIED_DATE)
    }

    pub(crate) fn modstamp_ms(&self) -> i64 {
        self.instant(SYSTEM_MODSTAMP)
    }
}

/// The records of one object type.
#[derive(Debug, Default)]
pub(crate) struct ObjectStore {
    /// Live and deleted records by Id.
    pub records: BTreeMap<String, Record>,
    /// field → lower-cased value → ids of the live records holding it, for external ids and
    /// duplicate-rule fields.
    index: HashMap<usize, HashMap<String, BTreeSet<String>>>,
    /// `(id, deletedDate)` of every delete, hard deletes included.
    pub delete_log: Vec<(String, i64)>,
}

/// How to put one record back as it was.
#[derive(Debug)]
pub(crate) struct Undo {
    kind: ObjectKind,
    id: String,
    old: Option<Record>,
    logged: bool,
}

/// The whole org.
#[derive(Debug)]
pub(crate) struct Store {
    objects: Vec<ObjectStore>,
    next_sequence: u64,
    duplicate_rules: Vec<(ObjectKind, usize)>,
    /// The integration user: owner, creator and last modifier of API writes.
    pub user_id: String,
}

/// The key a value is indexed under.
fn index_key(v: &Val) -> Option<String> {
    match v {
        Val::Null => None,
        other => Some(other.to_csv().trim().to_lowercase()),
    }
}

impl Store {
    pub(crate) fn new(user_id: String) -> Self {
        let objects = OBJECTS
            .iter()
            .map(|def| ObjectStore {
                // External ids are always indexed, even before any record has one.
                index: (0..def.fields.len())
                    .filter(|&i| def.fields[i].external_id)
                    .map(|i| (i, HashMap::new()))
                    .collect(),
                ..ObjectStore::default()
            })
            .collect();
        Self {
            objects,
            next_sequence: 0,
            duplicate_rules: Vec::new(),
            user_id,
        }
    }

    pub(crate) fn object(&self, kind: ObjectKind) -> &ObjectStore {
        &self.objects[kind.min(self.objects.len() - 1)]
    }

    fn object_mut(&mut self, kind: ObjectKind) -> &mut ObjectStore {
        let last = self.objects.len() - 1;
        &mut self.objects[kind.min(last)]
    }

    /// A record, live or deleted, by canonical id.
    pub(crate) fn get(&self, kind: ObjectKind, id: &str) -> Option<&Record> {
        self.object(kind).records.get(id)
    }

    /// A record of any object, by canonical id (its key prefix names the object).
    pub(crate) fn get_any(&self, id: &str) -> Option<(ObjectKind, &Record)> {
        let kind = schema::object_by_prefix(ids::prefix(id))?;
        self.get(kind, id).map(|r| (kind, r))
    }

    fn indexed_fields(&self, kind: ObjectKind) -> Vec<usize> {
        let def = schema::def(kind);
        let mut out: Vec<usize> = (0..def.fields.len())
            .filter(|&i| def.fields[i].external_id)
            .collect();
        for (k, f) in &self.duplicate_rules {
            if *k == kind && !out.contains(f) {
                out.push(*f);
            }
        }
        out
    }

    fn index(&mut self, kind: ObjectKind, record: &Record) {
        if record.is_deleted() {
            return;
        }
        for field in self.indexed_fields(kind) {
            if let Some(key) = index_key(record.get(field)) {
                self.object_mut(kind)
                    .index
                    .entry(field)
                    .or_default()
                    .entry(key)
                    .or_default()
                    .insert(record.id().to_string());
            }
        }
    }

    fn unindex(&mut self, kind: ObjectKind, record: &Record) {
        for field in self.indexed_fields(kind) {
            if let Some(key) = index_key(record.get(field)) {
                if let Some(ids) = self
                    .object_mut(kind)
                    .index
                    .get_mut(&field)
                    .and_then(|m| m.get_mut(&key))
                {
                    ids.remove(record.id());
                }
            }
        }
    }

    /// Live records whose `field` equals `value` (external ids: without regard to case).
    pub(crate) fn find_by(&self, kind: ObjectKind, field: usize, value: &Val) -> Vec<String> {
        let Some(key) = index_key(value) else {
            return Vec::new();
        };
        if let Some(map) = self.object(kind).index.get(&field) {
            return map
                .get(&key)
                .map(|ids| ids.iter().cloned().collect())
                .unwrap_or_default();
        }
        self.object(kind)
            .records
            .values()
            .filter(|r| !r.is_deleted() && index_key(r.get(field)).as_deref() == Some(&key))
            .map(|r| r.id().to_string())
            .collect()
    }

    /// From now on, writes whose `field` equals another live record's fail with
    /// `DUPLICATES_DETECTED`.
    pub(crate) fn add_duplicate_rule(&mut self, kind: ObjectKind, field: usize) {
        if self.duplicate_rules.contains(&(kind, field)) {
            return;
        }
        self.duplicate_rules.push((kind, field));
        if self.object(kind).index.contains_key(&field) {
            return;
        }
        let mut map: HashMap<String, BTreeSet<String>> = HashMap::new();
        for r in self
            .object(kind)
            .records
            .values()
            .filter(|r| !r.is_deleted())
        {
            if let Some(key) = index_key(r.get(field)) {
                map.entry(key).or_default().insert(r.id().to_string());
            }
        }
        self.object_mut(kind).index.insert(field, map);
    }

    /// Creates a record; returns its id. `created_ms` and `modified_ms` stamp it (the seed
    /// passes past times; API writes pass now for both).
    pub(crate) fn insert(
        &mut self,
        kind: ObjectKind,
        given: &[(usize, Val)],
        created_ms: i64,
        modified_ms: i64,
        undo: &mut Vec<Undo>,
    ) -> Result<String, RecordError> {
        let def = schema::def(kind);
        let mut values: Vec<Val> = def
            .fields
            .iter()
            .map(|f| match (f.default, f.ty) {
                (Some(d), FieldType::Boolean) => Val::Bool(d == "true"),
                (Some(d), _) if !d.is_empty() => Val::Str(d.to_string()),
                _ => Val::Null,
            })
            .collect();
        let id = ids::make(def.key_prefix, self.next_sequence);
        values[ID] = Val::Str(id.clone());
        values[IS_DELETED] = Val::Bool(false);
        values[CREATED_DATE] = Val::DateTime(created_ms);
        values[LAST_MODIFIED_DATE] = Val::DateTime(modified_ms);
        values[SYSTEM_MODSTAMP] = Val::DateTime(modified_ms);
        for slot in [CREATED_BY, LAST_MODIFIED_BY, OWNER_ID] {
            values[slot] = Val::Str(self.user_id.clone());
        }
        let record = Record {
            values,
            deleted_ms: None,
        };
        let record = self.prepare(kind, record, given, true)?;
        self.next_sequence += 1;
        self.index(kind, &record);
        self.object_mut(kind).records.insert(id.clone(), record);
        undo.push(Undo {
            kind,
            id: id.clone(),
            old: None,
            logged: false,
        });
        Ok(id)
    }

    /// The live record `id`, or why a write cannot touch it.
    fn live(&self, kind: ObjectKind, id: &str) -> Result<&Record, RecordError> {
        match self.get(kind, id) {
            None => Err(RecordError::invalid_id()),
            Some(r) if r.is_deleted() => Err(RecordError::deleted()),
            Some(r) => Ok(r),
        }
    }

    /// Writes `given` to a live record and bumps `LastModifiedDate` and `SystemModstamp`.
    pub(crate) fn update(
        &mut self,
        kind: ObjectKind,
        id: &str,
        given: &[(usize, Val)],
        now_ms: i64,
        undo: &mut Vec<Undo>,
    ) -> Result<(), RecordError> {
        let old = self.live(kind, id)?.clone();
        let mut record = self.prepare(kind, old.clone(), given, false)?;
        record.values[LAST_MODIFIED_DATE] = Val::DateTime(now_ms);
        record.values[SYSTEM_MODSTAMP] = Val::DateTime(now_ms);
        record.values[LAST_MODIFIED_BY] = Val::Str(self.user_id.clone());
        self.replace(kind, old, record, false, undo);
        Ok(())
    }

    fn replace(
        &mut self,
        kind: ObjectKind,
        old: Record,
        new: Record,
        logged: bool,
        undo: &mut Vec<Undo>,
    ) {
        self.unindex(kind, &old);
        self.index(kind, &new);
        let id = old.id().to_string();
        self.object_mut(kind).records.insert(id.clone(), new);
        undo.push(Undo {
            kind,
            id,
            old: Some(old),
            logged,
        });
    }

    /// Moves a live record to the recycle bin: `IsDeleted = true`, `SystemModstamp` bumped.
    pub(crate) fn delete(
        &mut self,
        kind: ObjectKind,
        id: &str,
        now_ms: i64,
        undo: &mut Vec<Undo>,
    ) -> Result<(), RecordError> {
        let old = self.live(kind, id)?.clone();
        let mut record = old.clone();
        record.values[IS_DELETED] = Val::Bool(true);
        record.values[SYSTEM_MODSTAMP] = Val::DateTime(now_ms.max(old.modstamp_ms()));
        record.deleted_ms = Some(now_ms);
        self.object_mut(kind)
            .delete_log
            .push((id.to_string(), now_ms));
        self.replace(kind, old, record, true, undo);
        Ok(())
    }

    /// Erases a record for good (Bulk `hardDelete`); the delete log still records it.
    pub(crate) fn hard_delete(
        &mut self,
        kind: ObjectKind,
        id: &str,
        now_ms: i64,
        undo: &mut Vec<Undo>,
    ) -> Result<(), RecordError> {
        let old = self.live(kind, id)?.clone();
        self.unindex(kind, &old);
        let os = self.object_mut(kind);
        os.records.remove(id);
        os.delete_log.push((id.to_string(), now_ms));
        undo.push(Undo {
            kind,
            id: id.to_string(),
            old: Some(old),
            logged: true,
        });
        Ok(())
    }

    /// Forces `SystemModstamp` (and a later `LastModifiedDate` down to it) on one record.
    pub(crate) fn set_modstamp(&mut self, kind: ObjectKind, id: &str, ms: i64) -> bool {
        let Some(record) = self.object_mut(kind).records.get_mut(id) else {
            return false;
        };
        record.values[SYSTEM_MODSTAMP] = Val::DateTime(ms);
        if record.last_modified_ms() > ms {
            record.values[LAST_MODIFIED_DATE] = Val::DateTime(ms);
        }
        true
    }

    /// Undoes the writes logged in `undo`, newest first.
    pub(crate) fn rollback(&mut self, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            if let Some(current) = self.object_mut(step.kind).records.remove(&step.id) {
                self.unindex(step.kind, &current);
            }
            if step.logged {
                self.object_mut(step.kind).delete_log.pop();
            }
            if let Some(old) = step.old {
                self.index(step.kind, &old);
                self.object_mut(step.kind).records.insert(step.id, old);
            }
        }
    }
}
