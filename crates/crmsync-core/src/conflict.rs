//! The `ConflictResolver` contract: what wins when both sides changed a field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ObjectKind;

/// A strategy for fields changed on both sides since the last sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConflictStrategy {
    /// The CRM's value wins (`crm_wins`).
    #[serde(alias = "crm_wins")]
    RemoteWins,
    /// The application's value wins.
    LocalWins,
    /// The most recently modified side wins (field timestamps where the provider has
    /// them, record timestamps otherwise); ties go to the remote side.
    LastWriteWins,
    /// Keep non-conflicting fields from both; true conflicts fall back to remote.
    FieldMerge,
    /// Park the field for a person to decide; the record's other fields still sync.
    Manual,
}

/// One of the two systems in a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The application (or its mirror).
    Local,
    /// The CRM.
    Remote,
}

/// A field changed on both sides since the base snapshot.
#[derive(Clone, Copy, Debug)]
pub struct ConflictInput<'a> {
    /// The object.
    pub object: &'a ObjectKind,
    /// The canonical field name.
    pub field: &'a str,
    /// The value at the last sync, if any.
    pub base: Option<&'a Value>,
    /// The application's value now.
    pub local: Option<&'a Value>,
    /// The CRM's value now (canonical form).
    pub remote: Option<&'a Value>,
    /// When the local record (or field) last changed.
    pub local_modified_at: Option<DateTime<Utc>>,
    /// When the remote record (or field) last changed.
    pub remote_modified_at: Option<DateTime<Utc>>,
}

/// What to do with one conflicting field.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldDecision {
    /// Keep the application's value (and write it to the CRM).
    TakeLocal,
    /// Keep the CRM's value (and write it to the application).
    TakeRemote,
    /// Write this merged value to both sides.
    Merged(Value),
    /// Leave both sides alone and queue the field for review.
    Park,
}

/// Decides conflicting fields. Implementations are per connection, object and field.
pub trait ConflictResolver: Send + Sync + 'static {
    /// Decides one conflicting field.
    fn resolve(&self, input: &ConflictInput<'_>) -> FieldDecision;
}

impl ConflictResolver for ConflictStrategy {
    fn resolve(&self, input: &ConflictInput<'_>) -> FieldDecision {
        match self {
            ConflictStrategy::RemoteWins | ConflictStrategy::FieldMerge => {
                FieldDecision::TakeRemote
            }
            ConflictStrategy::LocalWins => FieldDecision::TakeLocal,
            ConflictStrategy::Manual => FieldDecision::Park,
            ConflictStrategy::LastWriteWins => {
                match (input.local_modified_at, input.remote_modified_at) {
                    (Some(l), Some(r)) if l > r => FieldDecision::TakeLocal,
                    (Some(_), None) => FieldDecision::TakeLocal,
                    _ => FieldDecision::TakeRemote,
                }
            }
        }
    }
}
