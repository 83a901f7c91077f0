//! The model, contracts and errors every crmsync crate shares.
//!
//! `crmsync-core` holds no HTTP and no SQL. It defines:
//! - the model: [`TenantId`], [`ConnectionId`], [`ObjectKind`], [`Record`], [`Change`],
//!   [`ChangePage`], [`Cursor`];
//! - the contracts: [`CrmProvider`] (with its boxed twin [`CrmProviderDyn`]),
//!   [`FieldMapper`], [`ConflictResolver`], [`SyncEngine`] and [`SyncStore`];
//! - one [`Error`] with a kind, a retry classification and context;
//! - [`Capabilities`], which engines and tests branch on instead of provider names;
//! - with feature `testkit`, public conformance suites every provider and store runs.
//!
//! ```
//! use crmsync_core::{Fields, ObjectKind, Record};
//! use serde_json::json;
//!
//! let mut fields = Fields::new();
//! fields.insert("email".into(), json!("ada@example.com"));
//! let record = Record::new("42", ObjectKind::Contact, fields);
//! assert_eq!(record.field_str("email"), Some("ada@example.com"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bisect;
mod capability;
mod conflict;
mod engine;
mod error;
mod ids;
mod mapping;
pub mod match_key;
mod provider;
mod record;
mod store;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use bisect::write_bisecting;
pub use capability::Capabilities;
pub use conflict::{ConflictInput, ConflictResolver, ConflictStrategy, FieldDecision, Side};
pub use engine::{
    Direction, ObjectReport, Progress, ProgressSink, SyncEngine, SyncJob, SyncMode, SyncOptions,
    SyncReport,
};
pub use error::{Error, ErrorContext, ErrorKind, Result, Retry};
pub use ids::{ConnectionId, ObjectKind, ProviderKind, RecordId, TenantId};
pub use mapping::{FieldMapper, MapContext, MappingFailure};
pub use provider::{
    BoxFuture, ChangesRequest, CrmProvider, CrmProviderDyn, FieldSchema, FieldType, MatchKey,
    ObjectSchema, RecordMatch, WriteOp, WriteOutcome, Written,
};
pub use record::{
    CanonicalRecord, Change, ChangeKind, ChangePage, Cursor, Fields, Fnv1a, Origin, Record,
    fields_equal, normalize_fields,
};
pub use store::{
    AuditEntry, AuditOutcome, Checkpoint, ConnectionConfig, CreateIntent, Credentials, DeadLetter,
    DeadLetterStatus, Lease, Link, LinkKey, MatchResolution, MirrorRecord, MirrorWrite, PageCommit,
    ReviewChoice, ReviewFilter, ReviewItem, ReviewKind, ReviewStatus, RunFilter, RunId, RunRecord,
    RunStatus, SyncStore, WriteSource,
};
