//! The `SyncStore` contract: everything durable, scoped by tenant.

use std::{collections::BTreeMap, fmt, time::Duration};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    BoxFuture, ConnectionId, Cursor, Direction, Fields, ObjectKind, ObjectReport, ProviderKind,
    RecordId, Result, Side, SyncMode, TenantId,
};

/// Secret values of a connection (tokens, client secrets), by name. Never printed:
/// `Debug` shows only the names. Stored encrypted (AES-256-GCM).
#[derive(Clone, Default)]
pub struct Credentials {
    values: BTreeMap<String, SecretString>,
}

impl Credentials {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a secret.
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(name, value);
        self
    }

    /// Sets a secret.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values
            .insert(name.into(), SecretString::from(value.into()));
    }

    /// A secret by name.
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// The secret names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Serializes the secrets for encryption. The result is secret: callers must
    /// encrypt it and drop it.
    pub fn to_plaintext(&self) -> Vec<u8> {
        let map: BTreeMap<&str, &str> = self
            .values
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose_secret()))
            .collect();
        serde_json::to_vec(&map).unwrap_or_default()
    }

    /// Parses what [`Credentials::to_plaintext`] produced.
    pub fn from_plaintext(bytes: &[u8]) -> Result<Self> {
        let map: BTreeMap<String, String> = serde_json::from_slice(bytes)?;
        Ok(Self {
            values: map
                .into_iter()
                .map(|(k, v)| (k, SecretString::from(v)))
                .collect(),
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.keys().map(|k| (k, "[REDACTED]")))
            .finish()
    }
}

/// A tenant's connection to one CRM account.
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// The connection's id, unique within its tenant.
    pub id: ConnectionId,
    /// The CRM.
    pub provider: ProviderKind,
    /// Non-secret settings (base URLs, portal id, options).
    pub settings: Value,
    /// Secrets, stored encrypted.
    pub credentials: Credentials,
}

/// Identifies the links of one connection and object.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LinkKey {
    /// The connection.
    pub connection: ConnectionId,
    /// The object.
    pub object: ObjectKind,
}

/// The pairing of a local record with a remote one, with the base snapshot: the
/// canonical fields as both sides held them after the last sync.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The application's id.
    pub local_id: RecordId,
    /// The CRM's id.
    pub remote_id: RecordId,
    /// Canonical fields at the last sync.
    pub base: Fields,
    /// Content hash of `base` ([`CanonicalRecord::content_hash`](crate::CanonicalRecord::content_hash)).
    pub base_hash: u64,
    /// When the remote record was last seen modified.
    pub remote_modified_at: Option<DateTime<Utc>>,
    /// When the local record was last seen modified.
    pub local_modified_at: Option<DateTime<Utc>>,
    /// When the link was last written.
    pub synced_at: DateTime<Utc>,
}

/// A stored cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The direction whose feed it positions.
    pub direction: Direction,
    /// The cursor.
    pub cursor: Cursor,
    /// When it was stored.
    pub updated_at: DateTime<Utc>,
}

/// A run's id in history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a run ended (or that it is still running).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// In progress (or crashed: a stale `running` row).
    Running,
    /// Everything was processed.
    Success,
    /// Some records failed or a limit stopped the run; it resumes next time.
    Partial,
    /// The run could not proceed.
    Failed,
}

impl RunStatus {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(Self::Running),
            "success" => Some(Self::Success),
            "partial" => Some(Self::Partial),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One row of run history (the SyncHistory table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Assigned by the store on start.
    pub id: Option<RunId>,
    /// The connection.
    pub connection: ConnectionId,
    /// The object.
    pub object: ObjectKind,
    /// The direction.
    pub direction: Direction,
    /// The mode.
    pub mode: SyncMode,
    /// The status.
    pub status: RunStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End, once finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Counts.
    pub counts: ObjectReport,
    /// Why the run is partial or failed.
    pub error: Option<String>,
    /// The job's options and anything else worth keeping (JSON).
    pub configuration: Value,
}

/// Filters run history.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    /// Only this connection.
    pub connection: Option<ConnectionId>,
    /// Only this object.
    pub object: Option<ObjectKind>,
    /// At most this many, newest first (default 50).
    pub limit: Option<u32>,
}

/// Which side a write or change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteSource {
    /// The application.
    Local,
    /// The CRM.
    Remote,
}

/// How an audited operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Written.
    Success,
    /// Failed (see the error; a dead letter holds the payload).
    Failed,
    /// Planned only (dry run) or parked for review.
    Skipped,
}

/// One audited operation on one record: the audit trail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The run it belongs to.
    pub run_id: Option<RunId>,
    /// The connection.
    pub connection: ConnectionId,
    /// The object.
    pub object: ObjectKind,
    /// The application's id, if known.
    pub local_id: Option<RecordId>,
    /// The CRM's id, if known.
    pub remote_id: Option<RecordId>,
    /// What was done: `create_local`, `update_remote`, `delete_local`, `link`, ...
    pub operation: String,
    /// Where the change came from.
    pub source: WriteSource,
    /// Per field: `{field: {"before": .., "after": ..}}`.
    pub changes: Value,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The error, when it failed.
    pub error: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The state of a dead letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterStatus {
    /// Waiting for replay or discard.
    Pending,
    /// Replayed successfully.
    Replayed,
    /// Discarded by an operator.
    Discarded,
}

impl DeadLetterStatus {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Replayed => "replayed",
            Self::Discarded => "discarded",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "replayed" => Some(Self::Replayed),
            "discarded" => Some(Self::Discarded),
            _ => None,
        }
    }
}

/// A record that could not be synced, with everything needed to replay it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Assigned by the store.
    pub id: Option<i64>,
    /// The run that gave up on it.
    pub run_id: Option<RunId>,
    /// The connection.
    pub connection: ConnectionId,
    /// The object.
    pub object: ObjectKind,
    /// Which way it was going.
    pub direction: Direction,
    /// The record's id in its source system.
    pub record_id: RecordId,
    /// The full record as read (JSON).
    pub payload: Value,
    /// The error kind ([`ErrorKind::as_str`](crate::ErrorKind::as_str)).
    pub error_kind: String,
    /// The error message.
    pub error_message: String,
    /// The failing field, for validation errors.
    pub field: Option<String>,
    /// The failing rule, for validation errors.
    pub rule: Option<String>,
    /// How many times it was tried.
    pub attempts: u32,
    /// Its state.
    pub status: DeadLetterStatus,
    /// When it first failed.
    pub first_failed_at: DateTime<Utc>,
    /// When it last failed.
    pub last_failed_at: DateTime<Utc>,
}

/// A row of the local mirror: the application's copy of a record, in canonical
/// field names, with the change sequence that feeds pushes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MirrorRecord {
    /// The object.
    pub object: ObjectKind,
    /// The application's id.
    pub id: RecordId,
    /// Canonical fields.
    pub fields: Fields,
    /// Change sequence (per tenant, increasing with every effective write).
    pub seq: i64,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
    /// Tombstone.
    pub deleted: bool,
}

/// A write to the mirror: a patch of one record (`null` clears a field).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MirrorWrite {
    /// Update this record (created with this id if missing); `None` creates one.
    pub id: Option<RecordId>,
    /// The patch.
    pub fields: Fields,
    /// Makes creates idempotent: a second create with the same key updates the record
    /// the first one made.
    pub idempotency_key: Option<String>,
}

/// Why a record waits in the review queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewKind {
    /// Fields changed on both sides under the `manual` strategy.
    Conflict,
    /// Several records could be the same person; none was linked or created.
    AmbiguousMatch,
}

impl ReviewKind {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conflict => "conflict",
            Self::AmbiguousMatch => "ambiguous_match",
        }
    }
}

/// The state of a review item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for a person.
    Pending,
    /// Decided; the next sync applies the decision.
    Resolved,
    /// The decision was applied to both sides.
    Applied,
    /// Dismissed without a decision (the fields stay as they are).
    Dismissed,
}

impl ReviewStatus {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Applied => "applied",
            Self::Dismissed => "dismissed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "resolved" => Some(Self::Resolved),
            "applied" => Some(Self::Applied),
            "dismissed" => Some(Self::Dismissed),
            _ => None,
        }
    }
}

/// A person's decision for one field of a review item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "take", content = "value")]
pub enum ReviewChoice {
    /// Keep the application's value.
    Local,
    /// Keep the CRM's value.
    Remote,
    /// Write this value to both sides (`null` clears).
    Value(Value),
}

/// A person's decision on an [`ReviewKind::AmbiguousMatch`] item, stored in its
/// resolution under [`MatchResolution::KEY`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchResolution {
    /// The parked record is this record of the other side (usually one of the
    /// candidates): link the two and merge them, as if the matcher had been sure.
    LinkTo(RecordId),
    /// The parked record is nobody on the other side: create it there.
    CreateNew,
}

impl MatchResolution {
    /// The resolution key an ambiguous match's decision is stored under.
    pub const KEY: &'static str = "match";

    /// The resolution to pass to [`SyncStore::resolve_review_item`]:
    /// `{"match": <id>}` to link, `{"match": null}` to create.
    ///
    /// ```
    /// use crmsync_core::{MatchResolution, RecordId, ReviewChoice};
    ///
    /// let link = MatchResolution::LinkTo(RecordId::new("101")).into_resolution();
    /// assert_eq!(MatchResolution::from_resolution(&link), Some(MatchResolution::LinkTo(RecordId::new("101"))));
    /// let create = MatchResolution::CreateNew.into_resolution();
    /// assert!(matches!(create.get("match"), Some(ReviewChoice::Value(v)) if v.is_null()));
    /// ```
    pub fn into_resolution(self) -> BTreeMap<String, ReviewChoice> {
        let value = match self {
            Self::LinkTo(id) => Value::String(id.as_str().to_owned()),
            Self::CreateNew => Value::Null,
        };
        BTreeMap::from([(Self::KEY.to_owned(), ReviewChoice::Value(value))])
    }

    /// The decision a stored resolution holds, if it holds one.
    pub fn from_resolution(resolution: &BTreeMap<String, ReviewChoice>) -> Option<Self> {
        match resolution.get(Self::KEY)? {
            ReviewChoice::Value(Value::String(id)) if !id.is_empty() => {
                Some(Self::LinkTo(RecordId::new(id.as_str())))
            }
            ReviewChoice::Value(Value::Null) => Some(Self::CreateNew),
            _ => None,
        }
    }
}

/// A record (or some of its fields) parked for a person to decide. While it waits,
/// the record's other fields keep syncing.
///
/// A [`ReviewKind::Conflict`] is resolved per field ([`ReviewChoice`]); a
/// [`ReviewKind::AmbiguousMatch`] by a [`MatchResolution`]. Either is applied by the
/// next sync of the connection and object, and audited with who decided and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// Assigned by the store.
    pub id: Option<i64>,
    /// The connection.
    pub connection: ConnectionId,
    /// The object.
    pub object: ObjectKind,
    /// Why it is here.
    pub kind: ReviewKind,
    /// The application's record, if any.
    pub local_id: Option<RecordId>,
    /// The CRM's record, if any.
    pub remote_id: Option<RecordId>,
    /// The conflicting fields (canonical names); empty for ambiguous matches.
    pub fields: Vec<String>,
    /// Base snapshot values of those fields.
    pub base: Fields,
    /// The application's values of those fields (for a match: the record to place).
    pub local: Fields,
    /// The CRM's values of those fields.
    pub remote: Fields,
    /// Candidate record ids, for ambiguous matches, best first.
    pub candidates: Vec<RecordId>,
    /// A sentence saying why.
    pub reason: String,
    /// Its state.
    pub status: ReviewStatus,
    /// The decision, per field, once resolved.
    pub resolution: BTreeMap<String, ReviewChoice>,
    /// Who resolved or dismissed it.
    pub resolved_by: Option<String>,
    /// When it was resolved or dismissed.
    pub resolved_at: Option<DateTime<Utc>>,
    /// When it was first parked.
    pub created_at: DateTime<Utc>,
    /// When it was last parked again or changed.
    pub updated_at: DateTime<Utc>,
}

/// Filters the review queue.
#[derive(Clone, Debug, Default)]
pub struct ReviewFilter {
    /// Only this connection.
    pub connection: Option<ConnectionId>,
    /// Only this object.
    pub object: Option<ObjectKind>,
    /// Only this status.
    pub status: Option<ReviewStatus>,
    /// At most this many, oldest first (default 100).
    pub limit: Option<u32>,
}

/// Everything one page of sync commits, in ONE store transaction.
#[derive(Clone, Debug)]
pub struct PageCommit {
    /// The connection.
    pub connection: ConnectionId,
    /// The object.
    pub object: ObjectKind,
    /// Links to insert or replace (keyed by local id and by remote id).
    pub upsert_links: Vec<Link>,
    /// Links to remove, by local id.
    pub delete_links: Vec<RecordId>,
    /// Audit rows.
    pub audit: Vec<AuditEntry>,
    /// Dead letters to add.
    pub dead_letters: Vec<DeadLetter>,
    /// The cursor to store after this page.
    pub checkpoint: Option<(Direction, Cursor)>,
    /// Items to park for review. A pending item for the same (connection, object,
    /// kind, local id, remote id) is updated in place, never duplicated.
    pub review_items: Vec<ReviewItem>,
    /// Resolved review items whose decision this page applied (become `applied`).
    pub applied_reviews: Vec<i64>,
    /// Create intents this page settled, by the side created on and the source record:
    /// the create's answer arrived (a link or a dead letter is in this commit), or the
    /// record it made was found and linked.
    pub settled_intents: Vec<(Side, RecordId)>,
}

/// A create about to be sent to a side that cannot make creates idempotent, written
/// before the call: if its answer is lost (a crash, a timeout after the CRM applied it),
/// the next pull links the record it made, found by these fields, instead of creating
/// the source record's twin, and until then the source record is not created again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateIntent {
    /// The side the record is created on.
    pub target: Side,
    /// The record on the other side it is created for.
    pub source_id: RecordId,
    /// The canonical fields the create writes.
    pub fields: Fields,
    /// When the intent was written (before the call).
    pub created_at: DateTime<Utc>,
}

impl PageCommit {
    /// An empty commit for a connection and object.
    pub fn new(connection: ConnectionId, object: ObjectKind) -> Self {
        Self {
            connection,
            object,
            upsert_links: Vec::new(),
            delete_links: Vec::new(),
            audit: Vec::new(),
            dead_letters: Vec::new(),
            checkpoint: None,
            review_items: Vec::new(),
            applied_reviews: Vec::new(),
            settled_intents: Vec::new(),
        }
    }
}

/// A lease held on a key (one job per tenant, connection and object at a time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// What is leased.
    pub key: String,
    /// Who holds it.
    pub holder: String,
    /// When it lapses unless renewed.
    pub expires_at: DateTime<Utc>,
}

/// Everything durable crmsync keeps. Every method is scoped by tenant: no call can
/// read or change another tenant's rows.
///
/// The trait is object-safe; engines hold `Arc<dyn SyncStore>`.
pub trait SyncStore: Send + Sync + 'static {
    /// Inserts or replaces a connection; credentials are encrypted.
    fn put_connection<'a>(
        &'a self,
        tenant: &'a TenantId,
        connection: &'a ConnectionConfig,
    ) -> BoxFuture<'a, Result<()>>;

    /// A connection with decrypted credentials. A wrong key is an
    /// [`ErrorKind::Crypto`](crate::ErrorKind::Crypto) error.
    fn get_connection<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<Option<ConnectionConfig>>>;

    /// The tenant's connection ids.
    fn list_connections<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<ConnectionId>>>;

    /// Removes a connection (and nothing else).
    fn delete_connection<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Links by remote id (ids without a link are left out).
    fn links_by_remote<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        remote_ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<Link>>>;

    /// Links by local id (ids without a link are left out).
    fn links_by_local<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        local_ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<Link>>>;

    /// Number of links of a connection and object.
    fn count_links<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
    ) -> BoxFuture<'a, Result<u64>>;

    /// The stored cursor of one direction.
    fn checkpoint<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        direction: Direction,
    ) -> BoxFuture<'a, Result<Option<Checkpoint>>>;

    /// Forgets a cursor (the next run starts from the beginning).
    fn clear_checkpoint<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        direction: Direction,
    ) -> BoxFuture<'a, Result<()>>;

    /// Commits links, audit rows, dead letters and the cursor of one page atomically.
    fn commit_page<'a>(
        &'a self,
        tenant: &'a TenantId,
        commit: PageCommit,
    ) -> BoxFuture<'a, Result<()>>;

    /// Stores create intents of a connection and object (replacing one with the same
    /// target and source record), durably, before the creates are sent.
    fn put_create_intents<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        intents: &'a [CreateIntent],
    ) -> BoxFuture<'a, Result<()>>;

    /// The pending create intents of a connection and object, oldest first.
    fn list_create_intents<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
    ) -> BoxFuture<'a, Result<Vec<CreateIntent>>>;

    /// Drops the create intents on `target` written before `before`: a complete pull of
    /// `target` that started after them found no record they made, so their creates
    /// were not applied. Returns how many were dropped.
    fn drop_create_intents<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        target: Side,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<u64>>;

    /// Opens a run in history; returns its id.
    fn start_run<'a>(
        &'a self,
        tenant: &'a TenantId,
        run: &'a RunRecord,
    ) -> BoxFuture<'a, Result<RunId>>;

    /// Updates a run (status, counts, end, error).
    fn finish_run<'a>(
        &'a self,
        tenant: &'a TenantId,
        run: &'a RunRecord,
    ) -> BoxFuture<'a, Result<()>>;

    /// Run history, newest first.
    fn list_runs<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: &'a RunFilter,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>>>;

    /// Audit rows of a run (or all, newest last), at most `limit`.
    fn list_audit<'a>(
        &'a self,
        tenant: &'a TenantId,
        run: Option<RunId>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<AuditEntry>>>;

    /// Dead letters, optionally by status, oldest first.
    fn list_dead_letters<'a>(
        &'a self,
        tenant: &'a TenantId,
        status: Option<DeadLetterStatus>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>>>;

    /// Sets a dead letter's status; with `bump_attempts` counts one more attempt.
    fn update_dead_letter<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
        status: DeadLetterStatus,
        bump_attempts: bool,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Applies patches to mirror records; returns the records as stored, in order.
    /// A patch that changes nothing does not advance the change sequence.
    fn mirror_write<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        writes: Vec<MirrorWrite>,
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>>;

    /// Tombstones mirror records; returns how many were live.
    fn mirror_delete<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<u64>>;

    /// Live mirror records by id.
    fn mirror_get<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>>;

    /// Mirror rows (tombstones included) with `seq > after`, in sequence order.
    fn mirror_changes<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>>;

    /// Live mirror records whose `field` equals one of `values`. The fields match before
    /// create looks people up by ([`match_key::MATCH_FIELDS`](crate::match_key::MATCH_FIELDS))
    /// compare by their [match keys](crate::match_key) — e-mail ignoring case and spaces,
    /// phones by their last digits, last names ignoring case, accents and punctuation —
    /// so that rows the application wrote in any format are found. Other fields compare
    /// as text (scalars as JSON text). Callers that need an exact match re-check.
    ///
    /// `field` may also be [`match_key::PERSON`](crate::match_key::PERSON): `values` are
    /// then [`person_key`](crate::match_key::person_key)s (last name and first initial),
    /// compared with the key of each row's `last_name` and `first_name`.
    fn mirror_find<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        field: &'a str,
        values: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>>;

    /// Which of `values` (keys of a match field or [`PERSON`](crate::match_key::PERSON),
    /// as for [`mirror_find`](Self::mirror_find)) more than `cap` live mirror records
    /// hold. Counting stops at `cap + 1` per value, so the cost is bounded however
    /// common a value is: match before create leaves such name keys out, as a common
    /// surname cannot tell people apart and would make every record a candidate.
    fn mirror_common_keys<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        field: &'a str,
        values: &'a [String],
        cap: u32,
    ) -> BoxFuture<'a, Result<Vec<String>>>;

    /// [`mirror_find`](Self::mirror_find) less the records linked (as local records) on
    /// `connection`: the candidates match before create may still link. Filtered in
    /// the query, so that linked rows are never read.
    fn mirror_find_unlinked<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        field: &'a str,
        values: &'a [String],
        connection: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>>;

    /// Number of live mirror records of an object.
    fn mirror_count<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
    ) -> BoxFuture<'a, Result<u64>>;

    /// Review items, oldest first.
    fn list_review_items<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: &'a ReviewFilter,
    ) -> BoxFuture<'a, Result<Vec<ReviewItem>>>;

    /// One review item.
    fn get_review_item<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
    ) -> BoxFuture<'a, Result<Option<ReviewItem>>>;

    /// Records a person's decision on a pending item (status `resolved`, with who and
    /// when); `false` if there is no pending item with that id.
    fn resolve_review_item<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
        resolution: BTreeMap<String, ReviewChoice>,
        by: &'a str,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Dismisses a pending item; `false` if there is no pending item with that id.
    fn dismiss_review_item<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
        by: &'a str,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Takes or renews a lease; `false` when another holder has it.
    fn acquire_lease<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Releases a lease held by `holder`.
    fn release_lease<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<()>>;
}
