//! The in-memory tables of `MemoryStore`, one set per tenant.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use crmsync_core::{
    AuditEntry, Checkpoint, ConnectionId, DeadLetter, Direction, Lease, Link, LinkKey,
    MirrorRecord, ObjectKind, ProviderKind, RecordId, ReviewItem, ReviewStatus, RunRecord,
    TenantId,
};
use serde_json::Value;

use crate::{
    mirror::{MirrorChangeSet, StoredMirrorRow},
    rows::{self, ReviewKey},
};

/// Every tenant's tables.
#[derive(Default)]
pub(super) struct State {
    pub(super) tenants: HashMap<TenantId, TenantState>,
    /// Ids of runs, dead letters and review items, unique across tenants like SQL
    /// identity columns.
    pub(super) next_id: i64,
}

impl State {
    pub(super) fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

/// One tenant's tables: nothing here is reachable from another tenant.
#[derive(Default)]
pub(super) struct TenantState {
    pub(super) connections: BTreeMap<ConnectionId, StoredConnection>,
    pub(super) links: HashMap<LinkKey, LinkTable>,
    pub(super) checkpoints: HashMap<(LinkKey, Direction), Checkpoint>,
    pub(super) runs: BTreeMap<i64, RunRecord>,
    pub(super) audit: Vec<AuditEntry>,
    pub(super) dead_letters: BTreeMap<i64, DeadLetter>,
    pub(super) reviews: ReviewTable,
    pub(super) mirror: HashMap<ObjectKind, MirrorTable>,
    pub(super) mirror_seq: i64,
    pub(super) leases: HashMap<String, Lease>,
    /// Create intents per connection and object, oldest first.
    pub(super) intents: HashMap<LinkKey, Vec<crmsync_core::CreateIntent>>,
}

/// A connection as stored: credentials sealed, as in the SQL stores.
pub(super) struct StoredConnection {
    pub(super) provider: ProviderKind,
    pub(super) settings: Value,
    pub(super) sealed_credentials: Vec<u8>,
}

/// The links of one connection and object, by local id, with the remote index.
#[derive(Default)]
pub(super) struct LinkTable {
    pub(super) by_local: HashMap<RecordId, Link>,
    pub(super) local_by_remote: HashMap<RecordId, RecordId>,
}

impl LinkTable {
    pub(super) fn remove_local(&mut self, local_id: &RecordId) {
        if let Some(old) = self.by_local.remove(local_id) {
            self.local_by_remote.remove(&old.remote_id);
        }
    }

    pub(super) fn upsert(&mut self, link: Link) {
        self.remove_local(&link.local_id);
        if let Some(local) = self.local_by_remote.get(&link.remote_id).cloned() {
            self.remove_local(&local);
        }
        self.local_by_remote
            .insert(link.remote_id.clone(), link.local_id.clone());
        self.by_local.insert(link.local_id.clone(), link);
    }
}

/// The mirror rows of one object, with the idempotency-key and sequence indexes.
#[derive(Default)]
pub(super) struct MirrorTable {
    pub(super) rows: HashMap<RecordId, StoredMirrorRow>,
    pub(super) by_key: HashMap<String, RecordId>,
    pub(super) by_seq: BTreeMap<i64, RecordId>,
}

impl MirrorTable {
    pub(super) fn apply(&mut self, changes: &MirrorChangeSet) {
        for row in &changes.changed {
            let id = &row.record.id;
            if let Some(old) = self.rows.get(id) {
                self.by_seq.remove(&old.record.seq);
            }
            self.by_seq.insert(row.record.seq, id.clone());
            if let Some(key) = &row.idempotency_key {
                self.by_key.insert(key.clone(), id.clone());
            }
            self.rows.insert(id.clone(), row.clone());
        }
    }

    pub(super) fn live(&self, id: &RecordId) -> Option<&MirrorRecord> {
        self.rows
            .get(id)
            .map(|row| &row.record)
            .filter(|record| !record.deleted)
    }
}

/// The review queue of one tenant, by id (oldest first), with the index of pending
/// items by key that keeps them unique.
#[derive(Default)]
pub(super) struct ReviewTable {
    pub(super) items: BTreeMap<i64, ReviewItem>,
    pending: HashMap<ReviewKey, i64>,
}

impl ReviewTable {
    /// Parks an item (as [`rows::parked_reviews`] prepared it): updates the pending
    /// item with the same key in place, or adds it with an id from `new_id`.
    pub(super) fn park(&mut self, mut item: ReviewItem, new_id: impl FnOnce() -> i64) {
        let key = rows::review_key(&item);
        if let Some(stored) = self.pending.get(&key).and_then(|id| self.items.get_mut(id)) {
            rows::repark(stored, item);
            return;
        }
        let id = new_id();
        item.id = Some(id);
        self.pending.insert(key, id);
        self.items.insert(id, item);
    }

    /// The pending item `id`, which leaves the pending index: the caller decides it.
    pub(super) fn take_pending(&mut self, id: i64) -> Option<&mut ReviewItem> {
        let item = self
            .items
            .get_mut(&id)
            .filter(|item| item.status == ReviewStatus::Pending)?;
        self.pending.remove(&rows::review_key(item));
        Some(item)
    }

    /// Marks resolved items applied (other ids are left alone).
    pub(super) fn mark_applied(&mut self, ids: &[i64], now: DateTime<Utc>) {
        for id in ids {
            if let Some(item) = self
                .items
                .get_mut(id)
                .filter(|item| item.status == ReviewStatus::Resolved)
            {
                item.status = ReviewStatus::Applied;
                item.updated_at = now;
            }
        }
    }
}
