//! `MappedProvider`: any provider seen in canonical field names, so two CRMs can sync
//! with each other through the canonical model.

use std::sync::Arc;

use crmsync_core::{
    Capabilities, ChangePage, ChangesRequest, ConnectionId, CrmProvider, CrmProviderDyn,
    FieldMapper, MapContext, MatchKey, ObjectKind, ObjectSchema, ProviderKind, Record, RecordId,
    RecordMatch, Result, TenantId, WriteOp, WriteOutcome, normalize_fields,
};

/// A provider whose records are translated to and from canonical field names by a
/// [`FieldMapper`]. Bind it as the *local* side of a connection to sync one CRM with
/// another (HubSpot contacts ⇄ Salesforce contacts).
///
/// Reads map leniently (values that fail validation are kept raw and judged by the
/// other side's mapping, so nothing is dropped); writes map strictly, and a record that
/// fails is a per-record failure, which the engine sends to the dead-letter queue.
pub struct MappedProvider {
    inner: Arc<dyn CrmProviderDyn>,
    mapper: Arc<dyn FieldMapper>,
    tenant: TenantId,
    connection: ConnectionId,
}

impl MappedProvider {
    /// Wraps `inner`, mapping with `mapper` as the given tenant's connection.
    pub fn new(
        inner: Arc<dyn CrmProviderDyn>,
        mapper: Arc<dyn FieldMapper>,
        tenant: TenantId,
        connection: ConnectionId,
    ) -> Self {
        Self {
            inner,
            mapper,
            tenant,
            connection,
        }
    }

    fn ctx<'a>(&'a self, object: &'a ObjectKind, lenient: bool) -> MapContext<'a> {
        MapContext {
            tenant: &self.tenant,
            connection: &self.connection,
            object,
            skip_validation: lenient,
        }
    }

    fn to_canonical(&self, object: &ObjectKind, record: Record) -> Record {
        if record.deleted {
            return record;
        }
        let ctx = self.ctx(object, true);
        match self.mapper.to_canonical(&ctx, &record) {
            Ok(canonical) => Record {
                fields: canonical.fields,
                ..record
            },
            // Unmappable even leniently: keep the raw record; the other side's mapping
            // rejects it with the field and rule, and it reaches the dead-letter queue.
            Err(_) => record,
        }
    }

    fn remote_fields(&self, object: &ObjectKind) -> Vec<String> {
        self.mapper.remote_fields(&self.ctx(object, true))
    }
}

impl CrmProvider for MappedProvider {
    fn kind(&self) -> ProviderKind {
        self.inner.kind()
    }

    fn capabilities(&self, object: &ObjectKind) -> Capabilities {
        self.inner.capabilities(object)
    }

    async fn describe(&self, object: &ObjectKind) -> Result<ObjectSchema> {
        self.inner.describe(object).await
    }

    async fn changes(
        &self,
        object: &ObjectKind,
        mut request: ChangesRequest,
    ) -> Result<ChangePage> {
        request.fields = self.remote_fields(object);
        let mut page = self.inner.changes(object, request).await?;
        for change in &mut page.changes {
            let record = std::mem::replace(
                &mut change.record,
                Record::new(RecordId::new(""), object.clone(), Default::default()),
            );
            change.record = self.to_canonical(object, record);
        }
        Ok(page)
    }

    async fn read(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        _fields: &[String],
    ) -> Result<Vec<Record>> {
        let fields = self.remote_fields(object);
        let records = self.inner.read(object, ids, &fields).await?;
        Ok(records
            .into_iter()
            .map(|r| self.to_canonical(object, r))
            .collect())
    }

    async fn find(
        &self,
        object: &ObjectKind,
        keys: &[MatchKey],
        _fields: &[String],
    ) -> Result<Vec<RecordMatch>> {
        // Email, phone and id keys mean the same on both sides; field keys are in
        // canonical names the inner provider does not know.
        let usable: Vec<(usize, MatchKey)> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !matches!(k, MatchKey::Field { .. } | MatchKey::Name { .. }))
            .map(|(i, k)| (i, k.clone()))
            .collect();
        let inner_keys: Vec<MatchKey> = usable.iter().map(|(_, k)| k.clone()).collect();
        let fields = self.remote_fields(object);
        let found = self.inner.find(object, &inner_keys, &fields).await?;
        Ok(found
            .into_iter()
            .filter_map(|m| {
                let (original, _) = usable.get(m.key_index)?;
                Some(RecordMatch {
                    key_index: *original,
                    record: self.to_canonical(object, m.record),
                })
            })
            .collect())
    }

    async fn upsert(&self, object: &ObjectKind, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>> {
        let ctx = self.ctx(object, false);
        let mut failed = Vec::new();
        let mut mapped = Vec::with_capacity(ops.len());
        for op in ops {
            match self.mapper.to_remote(&ctx, &op.key, &op.fields) {
                Ok(fields) => mapped.push(WriteOp {
                    fields: if op.id.is_none() {
                        normalize_fields(fields)
                    } else {
                        fields
                    },
                    ..op
                }),
                Err(failure) => {
                    let error = failure.errors.into_iter().next().unwrap_or_else(|| {
                        crmsync_core::Error::new(
                            crmsync_core::ErrorKind::Validation,
                            "mapping failed",
                        )
                    });
                    failed.push(WriteOutcome::failed(op.key, error));
                }
            }
        }
        let mut outcomes = if mapped.is_empty() {
            Vec::new()
        } else {
            self.inner.upsert(object, mapped).await?
        };
        outcomes.extend(failed);
        Ok(outcomes)
    }

    async fn delete(&self, object: &ObjectKind, ids: &[RecordId]) -> Result<Vec<WriteOutcome>> {
        self.inner.delete(object, ids).await
    }

    fn api_calls(&self) -> u64 {
        self.inner.api_calls()
    }

    fn writable_fields(&self, object: &ObjectKind) -> Option<Vec<String>> {
        // What the inner CRM can be written (outbound rules) is what it can hold.
        Some(self.mapper.outbound_fields(&self.ctx(object, true)))
    }
}
