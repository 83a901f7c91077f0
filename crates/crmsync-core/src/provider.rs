//! The `CrmProvider` contract: one system (a CRM, or the application itself).

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    Capabilities, ChangePage, ConnectionId, Cursor, Error, Fields, ObjectKind, ProviderKind,
    Record, RecordId, Result,
};

/// A boxed, sendable future (the return type of the object-safe twins).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to read from a change feed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChangesRequest {
    /// Resume after this cursor; `None` starts from the beginning.
    pub cursor: Option<Cursor>,
    /// Records per page wanted (the provider caps it at its maximum).
    pub page_size: usize,
    /// Read everything (a full scan) rather than changes since the cursor.
    pub full: bool,
    /// Only records modified at or after this instant (the `--start-date` flag).
    pub since: Option<DateTime<Utc>>,
    /// Fields to return, in the provider's names; empty means the provider's defaults.
    pub fields: Vec<String>,
}

/// A key to look a record up by, before creating it (match before create).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
#[non_exhaustive]
pub enum MatchKey {
    /// The record's id in the provider.
    Id(RecordId),
    /// A normalized (trimmed, lower-case) email address.
    Email(String),
    /// An E.164 phone number.
    Phone(String),
    /// Any unique field, in the provider's names.
    Field {
        /// Field name.
        name: String,
        /// Exact value.
        value: String,
    },
    /// A person's name as a blocking key: records whose last name has this
    /// [`name_key`](crate::match_key::name_key), and whose first name starts with
    /// `first_initial` or is missing; every record with the last name when
    /// `first_initial` is `None`. Only for providers whose
    /// [`Capabilities::name_keys`](crate::Capabilities::name_keys) says so; the engine
    /// sends others a [`MatchKey::Field`] on the last name.
    Name {
        /// The last name's key (lower case, accents folded, letters and digits only).
        last_name: String,
        /// The first letter of the first name's key, when the record has a first name.
        first_initial: Option<char>,
    },
}

/// A record found for one of the keys passed to [`CrmProvider::find`].
#[derive(Clone, Debug, PartialEq)]
pub struct RecordMatch {
    /// Index of the key (in the request) this record matched.
    pub key_index: usize,
    /// The record found.
    pub record: Record,
}

/// One record to create or update. `fields` is a patch: listed fields are set, a
/// `null` clears a field, fields not listed are left alone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriteOp {
    /// The caller's correlation key, returned in the matching [`WriteOutcome`].
    pub key: String,
    /// Update this record; `None` creates one.
    pub id: Option<RecordId>,
    /// Field values in the provider's names.
    pub fields: Fields,
    /// A key that makes a create idempotent where the provider supports it: a second
    /// create with the same key updates the first record instead of making another.
    pub idempotency_key: Option<String>,
}

/// The result of a successful write of one record.
#[derive(Clone, Debug, PartialEq)]
pub struct Written {
    /// The record's id (new for creates).
    pub id: RecordId,
    /// Whether the write created the record.
    pub created: bool,
    /// The record's modification time after the write, if reported.
    pub modified_at: Option<DateTime<Utc>>,
}

/// The per-record result of a batch write or delete.
#[derive(Debug)]
pub struct WriteOutcome {
    /// The correlation key of the [`WriteOp`] (or the id, for deletes).
    pub key: String,
    /// What happened to this record.
    pub result: Result<Written>,
}

impl WriteOutcome {
    /// A successful outcome.
    pub fn ok(key: impl Into<String>, written: Written) -> Self {
        Self {
            key: key.into(),
            result: Ok(written),
        }
    }

    /// A failed outcome.
    pub fn failed(key: impl Into<String>, error: Error) -> Self {
        Self {
            key: key.into(),
            result: Err(error),
        }
    }
}

/// The type of a field as a provider describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FieldType {
    /// Free text.
    String,
    /// A number.
    Number,
    /// True or false.
    Boolean,
    /// A calendar date.
    Date,
    /// An instant.
    DateTime,
    /// One of a list of values.
    Enumeration,
    /// A phone number.
    Phone,
    /// An email address.
    Email,
    /// A reference to another record.
    Reference,
    /// Anything else, by the provider's name.
    Other(String),
}

/// One field of an object, as [`CrmProvider::describe`] reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldSchema {
    /// Name in the provider.
    pub name: String,
    /// Human label.
    pub label: String,
    /// Type.
    pub field_type: FieldType,
    /// Whether the provider requires a value on create.
    pub required: bool,
    /// Whether the field can be written.
    pub read_only: bool,
    /// Whether the field is custom (not defined by the provider).
    pub custom: bool,
    /// Allowed values, for enumerations.
    pub options: Vec<String>,
}

/// An object's fields, as [`CrmProvider::describe`] reports them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectSchema {
    /// The object described.
    pub object: ObjectKind,
    /// Its fields.
    pub fields: Vec<FieldSchema>,
}

impl ObjectSchema {
    /// A field by name.
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One system crmsync syncs with: a CRM, or the application itself.
///
/// Implementations are static (futures are `Send`); engines hold them as
/// `Arc<dyn CrmProviderDyn>`, which every `CrmProvider` gets for free.
pub trait CrmProvider: Send + Sync + 'static {
    /// Which system this is.
    fn kind(&self) -> ProviderKind;

    /// What this provider can do for an object.
    fn capabilities(&self, object: &ObjectKind) -> Capabilities;

    /// The object's fields, including custom ones.
    fn describe(&self, object: &ObjectKind) -> impl Future<Output = Result<ObjectSchema>> + Send;

    /// One page of changes after `request.cursor`.
    fn changes(
        &self,
        object: &ObjectKind,
        request: ChangesRequest,
    ) -> impl Future<Output = Result<ChangePage>> + Send;

    /// Records by id; ids that do not exist are left out of the result.
    fn read(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
    ) -> impl Future<Output = Result<Vec<Record>>> + Send;

    /// Records matching any of the keys, batched.
    fn find(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
    ) -> impl Future<Output = Result<Vec<RecordMatch>>> + Send;

    /// Match-before-create candidates for records of `connection`: what
    /// [`find`](Self::find) returns, less records already linked on `connection` where
    /// the provider knows its links (the store's mirror keeps them beside its rows). The
    /// engine discards linked candidates either way; leaving them out here spares
    /// fetching them, which on a first full pull is every candidate. The default is
    /// `find`.
    fn find_unlinked(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
        connection: &ConnectionId,
    ) -> impl Future<Output = Result<Vec<RecordMatch>>> + Send {
        let _ = connection;
        self.find(object, keys, fields)
    }

    /// Creates or updates records; one outcome per op, keyed by [`WriteOp::key`].
    fn upsert(
        &self,
        object: &ObjectKind,
        ops: Vec<WriteOp>,
    ) -> impl Future<Output = Result<Vec<WriteOutcome>>> + Send;

    /// Deletes (archives) records; one outcome per id. Deleting a record that is
    /// already gone succeeds.
    fn delete(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
    ) -> impl Future<Output = Result<Vec<WriteOutcome>>> + Send;

    /// How many API calls this provider has made (for reports and benchmarks).
    fn api_calls(&self) -> u64 {
        0
    }

    /// The canonical fields this side can hold, when it cannot hold every field (a
    /// CRM seen through its mapping); `None` means any field. The engine syncs only
    /// fields both the binding's mapping and this list name.
    fn writable_fields(&self, _object: &ObjectKind) -> Option<Vec<String>> {
        None
    }
}

/// The object-safe twin of [`CrmProvider`], implemented for every provider.
#[allow(missing_docs)]
pub trait CrmProviderDyn: Send + Sync + 'static {
    fn kind(&self) -> ProviderKind;
    fn capabilities(&self, object: &ObjectKind) -> Capabilities;
    fn describe<'a>(&'a self, object: &'a ObjectKind) -> BoxFuture<'a, Result<ObjectSchema>>;
    fn changes<'a>(
        &'a self,
        object: &'a ObjectKind,
        request: ChangesRequest,
    ) -> BoxFuture<'a, Result<ChangePage>>;
    fn read<'a>(
        &'a self,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
        fields: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Record>>>;
    fn find<'a>(
        &'a self,
        object: &'a ObjectKind,
        keys: &'a [MatchKey],
        fields: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<RecordMatch>>>;
    fn find_unlinked<'a>(
        &'a self,
        object: &'a ObjectKind,
        keys: &'a [MatchKey],
        fields: &'a [String],
        connection: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<Vec<RecordMatch>>>;
    fn upsert<'a>(
        &'a self,
        object: &'a ObjectKind,
        ops: Vec<WriteOp>,
    ) -> BoxFuture<'a, Result<Vec<WriteOutcome>>>;
    fn delete<'a>(
        &'a self,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<WriteOutcome>>>;
    fn api_calls(&self) -> u64;
    fn writable_fields(&self, object: &ObjectKind) -> Option<Vec<String>>;
}

impl<T: CrmProvider> CrmProviderDyn for T {
    fn kind(&self) -> ProviderKind {
        CrmProvider::kind(self)
    }
    fn capabilities(&self, object: &ObjectKind) -> Capabilities {
        CrmProvider::capabilities(self, object)
    }
    fn describe<'a>(&'a self, object: &'a ObjectKind) -> BoxFuture<'a, Result<ObjectSchema>> {
        Box::pin(CrmProvider::describe(self, object))
    }
    fn changes<'a>(
        &'a self,
        object: &'a ObjectKind,
        request: ChangesRequest,
    ) -> BoxFuture<'a, Result<ChangePage>> {
        Box::pin(CrmProvider::changes(self, object, request))
    }
    fn read<'a>(
        &'a self,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
        fields: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Record>>> {
        Box::pin(CrmProvider::read(self, object, ids, fields))
    }
    fn find<'a>(
        &'a self,
        object: &'a ObjectKind,
        keys: &'a [MatchKey],
        fields: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<RecordMatch>>> {
        Box::pin(CrmProvider::find(self, object, keys, fields))
    }
    fn find_unlinked<'a>(
        &'a self,
        object: &'a ObjectKind,
        keys: &'a [MatchKey],
        fields: &'a [String],
        connection: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<Vec<RecordMatch>>> {
        Box::pin(CrmProvider::find_unlinked(
            self, object, keys, fields, connection,
        ))
    }
    fn upsert<'a>(
        &'a self,
        object: &'a ObjectKind,
        ops: Vec<WriteOp>,
    ) -> BoxFuture<'a, Result<Vec<WriteOutcome>>> {
        Box::pin(CrmProvider::upsert(self, object, ops))
    }
    fn delete<'a>(
        &'a self,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<WriteOutcome>>> {
        Box::pin(CrmProvider::delete(self, object, ids))
    }
    fn api_calls(&self) -> u64 {
        CrmProvider::api_calls(self)
    }
    fn writable_fields(&self, object: &ObjectKind) -> Option<Vec<String>> {
        CrmProvider::writable_fields(self, object)
    }
}
