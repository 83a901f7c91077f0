//! The two sides of a pass: links, reading and normalising records, matching.

use std::collections::{HashMap, HashSet};

use crmsync_core::{
    CanonicalRecord, CrmProviderDyn, Fields, Link, MatchKey, Record, RecordId, Result, Side,
    normalize_fields,
};
use serde_json::Value;

use crate::{Engine, PassContext, pipeline::restrict};

impl Engine {
    /// Links of source records, by source id.
    pub(crate) async fn links(
        &self,
        pass: &PassContext<'_>,
        side: Side,
        ids: &[RecordId],
    ) -> Result<HashMap<RecordId, Link>> {
        let tenant = &pass.job.tenant;
        let links = match side {
            Side::Remote => {
                self.store
                    .links_by_remote(tenant, &pass.link_key, ids)
                    .await?
            }
            Side::Local => {
                self.store
                    .links_by_local(tenant, &pass.link_key, ids)
                    .await?
            }
        };
        Ok(links
            .into_iter()
            .map(|l| {
                let id = match side {
                    Side::Remote => l.remote_id.clone(),
                    Side::Local => l.local_id.clone(),
                };
                (id, l)
            })
            .collect())
    }

    pub(crate) fn provider<'b>(
        &self,
        pass: &'b PassContext<'_>,
        side: Side,
    ) -> &'b dyn CrmProviderDyn {
        match side {
            Side::Local => pass.binding.local.as_ref(),
            Side::Remote => pass.binding.remote.as_ref(),
        }
    }

    /// A side's record in canonical names (restricted to the synced fields).
    pub(crate) fn canonical_of(
        &self,
        pass: &PassContext<'_>,
        side: Side,
        record: &Record,
    ) -> Option<Fields> {
        match side {
            Side::Local => Some(self.normalize_local(pass, record)),
            Side::Remote => {
                let mut ctx = pass.map_context();
                // The other side's current state is compared, not validated.
                ctx.skip_validation = true;
                pass.binding
                    .mapper
                    .to_canonical(&ctx, record)
                    .ok()
                    .map(|c| c.fields)
            }
        }
    }

    /// The application's record as it will read back from the CRM: fields that flow
    /// both ways go out and back through the mapping (`Ada@X.io` compares as
    /// `ada@x.io`, `(212) 736-5000` as `+12127365000`), so formatting alone is never a
    /// change and a CRM that normalizes what it stores never echoes a write back.
    /// Fields that cannot be mapped keep their raw values.
    pub(crate) fn normalize_local(&self, pass: &PassContext<'_>, record: &Record) -> Fields {
        let synced: std::collections::BTreeSet<String> =
            pass.inbound.union(&pass.outbound).cloned().collect();
        let mut fields = restrict(&record.fields, &synced);
        let mut ctx = pass.map_context();
        ctx.skip_validation = true;
        let Ok(remote) = pass
            .binding
            .mapper
            .to_remote(&ctx, record.id.as_str(), &fields)
        else {
            return fields;
        };
        let probe = Record::new(
            record.id.clone(),
            record.object.clone(),
            normalize_fields(remote),
        );
        let Ok(back) = pass.binding.mapper.to_canonical(&ctx, &probe) else {
            return fields;
        };
        for (name, value) in fields.iter_mut() {
            if pass.inbound.contains(name) && pass.outbound.contains(name) {
                if let Some(normalized) = back.fields.get(name) {
                    *value = normalized.clone();
                }
            }
        }
        fields
    }

    pub(crate) async fn read_canonical(
        &self,
        pass: &PassContext<'_>,
        side: Side,
        ids: &[RecordId],
    ) -> Result<HashMap<RecordId, (Record, Fields)>> {
        let provider = self.provider(pass, side);
        let fields = match side {
            Side::Remote => pass.binding.mapper.remote_fields(&pass.map_context()),
            Side::Local => Vec::new(),
        };
        let chunk = provider
            .capabilities(&pass.job.object)
            .max_read_batch
            .max(1);
        let mut out = HashMap::new();
        for ids in ids.chunks(chunk) {
            for record in provider.read(&pass.job.object, ids, &fields).await? {
                if let Some(c) = self.canonical_of(pass, side, &record) {
                    out.insert(record.id.clone(), (record, c));
                }
            }
        }
        Ok(out)
    }

    /// For unlinked source records, finds one record on the target side with the same
    /// normalized email that no other record is linked to.
    pub(crate) async fn match_before_create(
        &self,
        pass: &PassContext<'_>,
        target: Side,
        unlinked: &[(Record, CanonicalRecord)],
    ) -> Result<HashMap<usize, (Record, Fields)>> {
        let provider = self.provider(pass, target);
        let caps = provider.capabilities(&pass.job.object);
        let mut out = HashMap::new();
        if !caps.find {
            return Ok(out);
        }
        let mut keys = Vec::new();
        let mut owners = Vec::new();
        for (i, (_, c)) in unlinked.iter().enumerate() {
            if let Some(email) = c.fields.get("email").and_then(Value::as_str) {
                let email = email.trim().to_lowercase();
                if !email.is_empty() {
                    keys.push(MatchKey::Email(email));
                    owners.push(i);
                }
            }
        }
        if keys.is_empty() {
            return Ok(out);
        }
        let fields = match target {
            Side::Remote => pass.binding.mapper.remote_fields(&pass.map_context()),
            Side::Local => Vec::new(),
        };
        let mut found: HashMap<usize, Vec<Record>> = HashMap::new();
        for (keys, owners) in keys
            .chunks(caps.max_read_batch.max(1))
            .zip(owners.chunks(caps.max_read_batch.max(1)))
        {
            for m in provider.find(&pass.job.object, keys, &fields).await? {
                if let Some(owner) = owners.get(m.key_index) {
                    found.entry(*owner).or_default().push(m.record);
                }
            }
        }
        let candidate_ids: Vec<RecordId> = found.values().flatten().map(|r| r.id.clone()).collect();
        let taken: HashSet<RecordId> = self
            .links(pass, target, &candidate_ids)
            .await?
            .into_keys()
            .collect();
        let mut claimed = HashSet::new();
        for (owner, records) in found {
            let free: Vec<Record> = records
                .into_iter()
                .filter(|r| !taken.contains(&r.id) && !r.deleted)
                .collect();
            // One confident match links; several leave the record to be created
            // (ambiguity handling belongs to the review queue).
            if let [record] = free.as_slice() {
                if claimed.insert(record.id.clone()) {
                    if let Some(c) = self.canonical_of(pass, target, record) {
                        out.insert(owner, (record.clone(), c));
                    }
                }
            }
        }
        Ok(out)
    }
}
