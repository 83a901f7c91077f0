//! A provider whose change feed is a chosen set of records, read fresh from the system
//! itself: how `dlq replay` re-runs dead-lettered records (and `review resolve` applies a
//! decision) through the ordinary engine, without touching any stored cursor.
//!
//! The engine stores a page's cursor only when the page names a next one; this feed's
//! single page names none, so the connection's real checkpoint is left exactly where it
//! was. Everything else (reads, look-ups, writes, capabilities) goes to the wrapped
//! provider unchanged.

use std::sync::Arc;

use crmsync_core::{
    Capabilities, Change, ChangeKind, ChangePage, ChangesRequest, CrmProvider, CrmProviderDyn,
    MatchKey, ObjectKind, ObjectSchema, Origin, ProviderKind, Record, RecordId, RecordMatch,
    Result, WriteOp, WriteOutcome,
};

/// `inner`, with a change feed of exactly `ids` (as they are now).
pub struct TargetedFeed {
    inner: Arc<dyn CrmProviderDyn>,
    ids: Vec<RecordId>,
}

impl TargetedFeed {
    /// A feed of `ids` over `inner`; with no ids the feed is empty.
    pub fn new(inner: Arc<dyn CrmProviderDyn>, ids: Vec<RecordId>) -> Self {
        Self { inner, ids }
    }
}

impl CrmProvider for TargetedFeed {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }

    fn capabilities(&self, object: &ObjectKind) -> Capabilities {
        self.inner.capabilities(object)
    }

    async fn describe(&self, object: &ObjectKind) -> Result<ObjectSchema> {
        self.inner.describe(object).await
    }

    async fn changes(&self, object: &ObjectKind, request: ChangesRequest) -> Result<ChangePage> {
        let mut records: Vec<Record> = Vec::new();
        let batch = self.inner.capabilities(object).max_read_batch.max(1);
        for chunk in self.ids.chunks(batch) {
            records.extend(self.inner.read(object, chunk, &request.fields).await?);
        }
        let estimated_total = Some(records.len() as u64);
        Ok(ChangePage {
            changes: records
                .into_iter()
                .map(|record| Change {
                    kind: if record.deleted {
                        ChangeKind::Delete
                    } else {
                        ChangeKind::Upsert
                    },
                    record,
                    origin: Origin::Poll,
                })
                .collect(),
            // No cursor: the engine leaves the stored one alone.
            next: None,
            complete: true,
            estimated_total,
        })
    }

    async fn read(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
    ) -> Result<Vec<Record>> {
        self.inner.read(object, ids, fields).await
    }

    async fn find(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        fields: &[String],
    ) -> Result<Vec<RecordMatch>> {
        self.inner.find(object, keys, fields).await
    }

    async fn upsert(&self, object: &ObjectKind, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        self.inner.upsert(object, ops).await
    }

    async fn delete(&self, object: &ObjectKind, ids: &[RecordId]) -> Result<Vec<WriteOutcome>> {
        self.inner.delete(object, ids).await
    }

    fn api_calls(&self) -> u64 {
        self.inner.api_calls()
    }

    fn writable_fields(&self, object: &ObjectKind) -> Option<Vec<String>> {
        self.inner.writable_fields(object)
    }
}
