//! One pass (pull or push) of a job, page by page.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use crmsync_core::{
    AuditEntry, AuditOutcome, CanonicalRecord, Change, ChangeKind, ChangesRequest, CrmProviderDyn,
    DeadLetter, DeadLetterStatus, Direction, Error, ErrorKind, Fields, Link, MatchKey, PageCommit,
    Record, RecordId, Result, RunRecord, Side, SyncJob, SyncMode, WriteOp, WriteOutcome,
    WriteSource, normalize_fields,
};
use serde_json::{Value, json};

use crate::{
    Binding, Engine, PassContext,
    merge::{MergeInput, MergeOutcome, merge},
};

/// The other side.
fn other(side: Side) -> Side {
    match side {
        Side::Local => Side::Remote,
        Side::Remote => Side::Local,
    }
}

fn direction_of(source: Side) -> Direction {
    match source {
        Side::Remote => Direction::Pull,
        Side::Local => Direction::Push,
    }
}

fn write_source(source: Side) -> WriteSource {
    match source {
        Side::Remote => WriteSource::Remote,
        Side::Local => WriteSource::Local,
    }
}

fn restrict(fields: &Fields, names: &std::collections::BTreeSet<String>) -> Fields {
    normalize_fields(
        fields
            .iter()
            .filter(|(k, _)| names.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// The plan for one source record.
struct Plan {
    source_id: RecordId,
    local_id: Option<RecordId>,
    remote_id: Option<RecordId>,
    /// New base snapshot once every write succeeds.
    base: Fields,
    /// Canonical patch for the application, and the values it replaces.
    local_patch: Fields,
    local_before: Fields,
    /// Canonical patch for the CRM, and the values it replaces.
    remote_patch: Fields,
    remote_before: Fields,
    local_modified_at: Option<DateTime<Utc>>,
    remote_modified_at: Option<DateTime<Utc>>,
    /// The link is new (created, or matched before create).
    new_link: bool,
    payload: Value,
    conflicts: usize,
    parked: usize,
    failed: Option<Error>,
    local_written: bool,
    remote_written: bool,
    /// The application's record is created by this plan.
    creates_local: bool,
    /// The CRM's record is created by this plan.
    creates_remote: bool,
}

impl Engine {
    /// Runs one pass from `source` to the other side. `Ok(Some(reason))` when a limit
    /// stopped it before the feed was exhausted.
    pub(crate) async fn pass(
        &self,
        job: &SyncJob,
        binding: &Binding,
        run: &mut RunRecord,
        source: Side,
    ) -> Result<Option<String>> {
        let link_key = crmsync_core::LinkKey {
            connection: job.connection.clone(),
            object: job.object.clone(),
        };
        let ctx0 = crmsync_core::MapContext {
            tenant: &job.tenant,
            connection: &job.connection,
            object: &job.object,
            skip_validation: job.options.skip_validation,
        };
        let pass = PassContext {
            job,
            binding,
            link_key,
            inbound: binding.mapper.inbound_fields(&ctx0).into_iter().collect(),
            outbound: binding.mapper.outbound_fields(&ctx0).into_iter().collect(),
            run_id: run.id,
        };
        let direction = direction_of(source);
        let provider = match source {
            Side::Remote => &binding.remote,
            Side::Local => &binding.local,
        };
        let caps = provider.capabilities(&job.object);
        if !caps.change_feed {
            return Ok(None);
        }
        let mut cursor = match job.mode {
            SyncMode::Full => None,
            SyncMode::Incremental => self
                .store
                .checkpoint(&job.tenant, &pass.link_key, direction)
                .await?
                .map(|c| c.cursor),
        };
        let fields = match source {
            Side::Remote => binding.mapper.remote_fields(&pass.map_context()),
            Side::Local => Vec::new(),
        };
        let batch = job.options.batch_size.unwrap_or(caps.max_page_size).max(1);
        let mut done = 0u64;
        let mut pages = 0u64;
        loop {
            let mut page_size = batch.min(caps.max_page_size.max(1));
            if let Some(max) = job.options.max_records {
                let left = max.saturating_sub(done);
                if left == 0 {
                    return Ok(Some(format!(
                        "stopped after --max-records {max}; the next run resumes from the checkpoint"
                    )));
                }
                page_size = page_size.min(usize::try_from(left).unwrap_or(usize::MAX));
            }
            if let Some(max_pages) = job.options.max_pages {
                if pages >= max_pages {
                    return Ok(Some(format!(
                        "stopped after {max_pages} page(s); the next run resumes from the checkpoint"
                    )));
                }
            }
            let page = provider
                .changes(
                    &job.object,
                    ChangesRequest {
                        cursor: cursor.clone(),
                        page_size,
                        full: job.mode == SyncMode::Full,
                        since: job.options.start_date,
                        fields: fields.clone(),
                    },
                )
                .await?;
            let n = page.changes.len() as u64;
            match source {
                Side::Remote => run.counts.pulled += n,
                Side::Local => run.counts.pushed += n,
            }
            let mut commit = PageCommit::new(job.connection.clone(), job.object.clone());
            self.process_page(&pass, source, page.changes, &mut commit, &mut run.counts)
                .await?;
            if let Some(next) = &page.next {
                commit.checkpoint = Some((direction, next.clone()));
            }
            if !job.options.dry_run {
                self.store.commit_page(&job.tenant, commit).await?;
                let lease_key = format!("sync/{}/{}", job.connection, job.object);
                self.store
                    .acquire_lease(&job.tenant, &lease_key, &self.holder, self.lease_ttl)
                    .await?;
            }
            pages += 1;
            done += n;
            run.counts.pages += 1;
            self.report_progress(job, source, done, page.estimated_total, pages);
            if page.complete || page.next.is_none() {
                return Ok(None);
            }
            cursor = page.next;
        }
    }

    async fn process_page(
        &self,
        pass: &PassContext<'_>,
        source: Side,
        changes: Vec<Change>,
        commit: &mut PageCommit,
        counts: &mut crmsync_core::ObjectReport,
    ) -> Result<()> {
        let job = pass.job;
        let binding = pass.binding;
        let target = other(source);
        let now = Utc::now();
        // The last change of a record in a page wins.
        let mut order: Vec<RecordId> = Vec::new();
        let mut latest: HashMap<RecordId, Change> = HashMap::new();
        for change in changes {
            let id = change.record.id.clone();
            if latest.insert(id.clone(), change).is_none() {
                order.push(id);
            }
        }
        let changes: Vec<Change> = order
            .into_iter()
            .filter_map(|id| latest.remove(&id))
            .collect();

        let source_ids: Vec<RecordId> = changes.iter().map(|c| c.record.id.clone()).collect();
        let links = self.links(pass, source, &source_ids).await?;

        // Deletes first: they need only the link.
        let mut delete_ids = Vec::new();
        let mut delete_links = Vec::new();
        let mut upserts = Vec::new();
        for change in changes {
            match change.kind {
                ChangeKind::Delete => match links.get(&change.record.id) {
                    Some(link) => {
                        delete_ids.push(match target {
                            Side::Local => link.local_id.clone(),
                            Side::Remote => link.remote_id.clone(),
                        });
                        delete_links.push(link.clone());
                    }
                    None => counts.unchanged += 1,
                },
                ChangeKind::Upsert => upserts.push(change.record),
            }
        }
        if !delete_ids.is_empty() {
            self.apply_deletes(pass, source, delete_ids, delete_links, commit, counts)
                .await?;
        }

        // Map the source records to canonical form; invalid ones become dead letters.
        let ctx = pass.map_context();
        let mut canon: Vec<(Record, CanonicalRecord)> = Vec::with_capacity(upserts.len());
        for record in upserts {
            let mapped = match source {
                Side::Remote => binding.mapper.to_canonical(&ctx, &record),
                Side::Local => Ok(CanonicalRecord {
                    fields: restrict(&self.normalize_local(pass, &record), &pass.outbound),
                    modified_at: record.modified_at,
                }),
            };
            match mapped {
                Ok(c) => canon.push((record, c)),
                Err(failure) => {
                    let error = failure
                        .errors
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| Error::new(ErrorKind::Validation, "mapping failed"));
                    self.dead_letter(
                        pass,
                        source,
                        &record.id,
                        record_payload(&record),
                        &error,
                        commit,
                        counts,
                    );
                }
            }
        }

        // Echoes and re-reads: unchanged against the base snapshot cost nothing.
        let feeds = match source {
            Side::Remote => &pass.inbound,
            Side::Local => &pass.outbound,
        };
        let mut linked: Vec<(Record, CanonicalRecord, Link)> = Vec::new();
        let mut unlinked: Vec<(Record, CanonicalRecord)> = Vec::new();
        for (record, c) in canon {
            match links.get(&record.id) {
                Some(link) if !job.options.force && restrict(&link.base, feeds) == c.fields => {
                    counts.unchanged += 1;
                }
                Some(link) => linked.push((record, c, link.clone())),
                None => unlinked.push((record, c)),
            }
        }

        let mut plans: Vec<Plan> = Vec::new();
        // Linked records: read the other side and merge.
        if !linked.is_empty() {
            let target_ids: Vec<RecordId> = linked
                .iter()
                .map(|(_, _, l)| match target {
                    Side::Local => l.local_id.clone(),
                    Side::Remote => l.remote_id.clone(),
                })
                .collect();
            let current = self.read_canonical(pass, target, &target_ids).await?;
            for (record, c, link) in linked {
                let target_id = match target {
                    Side::Local => &link.local_id,
                    Side::Remote => &link.remote_id,
                };
                let Some((target_record, target_canon)) = current.get(target_id) else {
                    // Deleted on the other side since: the delete wins and flows
                    // through that side's feed.
                    counts.unchanged += 1;
                    continue;
                };
                plans.push(self.plan_merge(
                    pass,
                    source,
                    &record,
                    &c,
                    target_record,
                    target_canon,
                    &link.base,
                    Some(&link),
                ));
            }
        }

        // Unlinked records: match before create, by normalized email.
        if !unlinked.is_empty() {
            let matches = self.match_before_create(pass, target, &unlinked).await?;
            for (i, (record, c)) in unlinked.into_iter().enumerate() {
                match matches.get(&i) {
                    Some((target_record, target_canon)) => {
                        let mut plan = self.plan_merge(
                            pass,
                            source,
                            &record,
                            &c,
                            target_record,
                            target_canon,
                            &Fields::new(),
                            None,
                        );
                        plan.new_link = true;
                        plans.push(plan);
                    }
                    None => {
                        let patch = c.fields.clone();
                        let (local_id, remote_id) = match source {
                            Side::Remote => (None, Some(record.id.clone())),
                            Side::Local => (Some(record.id.clone()), None),
                        };
                        let (local_patch, remote_patch) = match target {
                            Side::Local => (patch, Fields::new()),
                            Side::Remote => (Fields::new(), restrict(&patch, &pass.outbound)),
                        };
                        plans.push(Plan {
                            source_id: record.id.clone(),
                            local_id,
                            remote_id,
                            base: c.fields.clone(),
                            local_patch,
                            local_before: Fields::new(),
                            remote_patch,
                            remote_before: Fields::new(),
                            local_modified_at: if source == Side::Local {
                                record.modified_at
                            } else {
                                None
                            },
                            remote_modified_at: if source == Side::Remote {
                                record.modified_at
                            } else {
                                None
                            },
                            new_link: true,
                            payload: record_payload(&record),
                            conflicts: 0,
                            parked: 0,
                            failed: None,
                            local_written: false,
                            remote_written: false,
                            creates_local: false,
                            creates_remote: false,
                        });
                    }
                }
            }
        }

        self.apply_plans(pass, source, &mut plans, counts).await?;
        for plan in plans {
            self.finish_plan(pass, source, plan, now, commit, counts);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn plan_merge(
        &self,
        pass: &PassContext<'_>,
        source: Side,
        record: &Record,
        c: &CanonicalRecord,
        target_record: &Record,
        target_canon: &Fields,
        base: &Fields,
        link: Option<&Link>,
    ) -> Plan {
        let (local, remote, local_rec, remote_rec) = match source {
            Side::Remote => (target_canon, &c.fields, target_record, record),
            Side::Local => (&c.fields, target_canon, record, target_record),
        };
        let outcome: MergeOutcome = merge(
            &MergeInput {
                object: &pass.job.object,
                base,
                local,
                remote,
                local_modified_at: local_rec.modified_at,
                remote_modified_at: remote_rec.modified_at,
                inbound: &pass.inbound,
                outbound: &pass.outbound,
                force_remote: pass.job.options.force,
            },
            pass.binding.conflicts.as_ref(),
        );
        let before = |current: &Fields, patch: &Fields| -> Fields {
            patch
                .keys()
                .map(|k| (k.clone(), current.get(k).cloned().unwrap_or(Value::Null)))
                .collect()
        };
        Plan {
            source_id: record.id.clone(),
            local_id: Some(link.map_or_else(|| local_rec.id.clone(), |l| l.local_id.clone())),
            remote_id: Some(link.map_or_else(|| remote_rec.id.clone(), |l| l.remote_id.clone())),
            local_before: before(local, &outcome.local_patch),
            remote_before: before(remote, &outcome.remote_patch),
            local_patch: outcome.local_patch,
            remote_patch: outcome.remote_patch,
            base: outcome.base,
            local_modified_at: local_rec.modified_at,
            remote_modified_at: remote_rec.modified_at,
            new_link: false,
            payload: record_payload(record),
            conflicts: outcome.conflicts.len(),
            parked: outcome.parked.len(),
            failed: None,
            local_written: false,
            remote_written: false,
            creates_local: false,
            creates_remote: false,
        }
    }

    /// Links of source records, by source id.
    async fn links(
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

    fn provider<'b>(&self, pass: &'b PassContext<'_>, side: Side) -> &'b dyn CrmProviderDyn {
        match side {
            Side::Local => pass.binding.local.as_ref(),
            Side::Remote => pass.binding.remote.as_ref(),
        }
    }

    /// A side's record in canonical names (restricted to the synced fields).
    fn canonical_of(&self, pass: &PassContext<'_>, side: Side, record: &Record) -> Option<Fields> {
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
    fn normalize_local(&self, pass: &PassContext<'_>, record: &Record) -> Fields {
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

    async fn read_canonical(
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
    async fn match_before_create(
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

    /// Applies every plan's patches, in batches, on both sides.
    async fn apply_plans(
        &self,
        pass: &PassContext<'_>,
        source: Side,
        plans: &mut [Plan],
        counts: &mut crmsync_core::ObjectReport,
    ) -> Result<()> {
        let _ = counts;
        let job = pass.job;
        // Remote patches are mapped to the CRM's names first; a mapping failure fails
        // the record.
        let mut remote_ops = Vec::new();
        let mut local_ops = Vec::new();
        let ctx = pass.map_context();
        for (i, plan) in plans.iter_mut().enumerate() {
            if !plan.remote_patch.is_empty() {
                let id = plan.remote_id.clone();
                plan.creates_remote = id.is_none();
                let label = plan.source_id.as_str().to_owned();
                match pass
                    .binding
                    .mapper
                    .to_remote(&ctx, &label, &plan.remote_patch)
                {
                    Ok(fields) if fields.is_empty() => {}
                    Ok(fields) => remote_ops.push(WriteOp {
                        key: i.to_string(),
                        idempotency_key: plan.local_id.as_ref().map(|l| l.as_str().to_owned()),
                        id,
                        fields,
                    }),
                    Err(failure) => {
                        plan.failed = failure.errors.into_iter().next();
                    }
                }
            }
            if plan.failed.is_none() && !plan.local_patch.is_empty() {
                plan.creates_local = plan.local_id.is_none();
                local_ops.push(WriteOp {
                    key: i.to_string(),
                    id: plan.local_id.clone(),
                    idempotency_key: plan
                        .remote_id
                        .as_ref()
                        .map(|r| format!("{}/{}/{}", job.connection, job.object, r)),
                    fields: plan.local_patch.clone(),
                });
            }
        }
        // Drop ops of failed plans.
        remote_ops.retain(|op| {
            op.key
                .parse::<usize>()
                .ok()
                .and_then(|i| plans.get(i))
                .is_some_and(|p| p.failed.is_none())
        });
        if job.options.dry_run {
            for op in &local_ops {
                if let Some(p) = op.key.parse::<usize>().ok().and_then(|i| plans.get_mut(i)) {
                    p.local_written = true;
                }
            }
            for op in &remote_ops {
                if let Some(p) = op.key.parse::<usize>().ok().and_then(|i| plans.get_mut(i)) {
                    p.remote_written = true;
                }
            }
            return Ok(());
        }
        // The target side first, then corrections of the source side.
        let order = match source {
            Side::Remote => [(Side::Local, local_ops), (Side::Remote, remote_ops)],
            Side::Local => [(Side::Remote, remote_ops), (Side::Local, local_ops)],
        };
        for (side, ops) in order {
            let ops: Vec<WriteOp> = ops
                .into_iter()
                .filter(|op| {
                    op.key
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| plans.get(i))
                        .is_some_and(|p| p.failed.is_none())
                })
                .collect();
            if ops.is_empty() {
                continue;
            }
            let provider = self.provider(pass, side);
            let chunk = provider.capabilities(&job.object).max_write_batch.max(1);
            let mut ops = ops.into_iter().peekable();
            while ops.peek().is_some() {
                let batch: Vec<WriteOp> = ops.by_ref().take(chunk).collect();
                let outcomes: Vec<WriteOutcome> = provider.upsert(&job.object, batch).await?;
                for outcome in outcomes {
                    let Some(plan) = outcome
                        .key
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| plans.get_mut(i))
                    else {
                        continue;
                    };
                    match outcome.result {
                        Ok(written) => match side {
                            Side::Local => {
                                plan.local_written = true;
                                plan.local_id = Some(written.id);
                                if written.modified_at.is_some() {
                                    plan.local_modified_at = written.modified_at;
                                }
                            }
                            Side::Remote => {
                                plan.remote_written = true;
                                plan.remote_id = Some(written.id);
                                if written.modified_at.is_some() {
                                    plan.remote_modified_at = written.modified_at;
                                }
                            }
                        },
                        Err(e) => plan.failed = Some(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// Records a plan's results: link and base, audit rows, counts or a dead letter.
    fn finish_plan(
        &self,
        pass: &PassContext<'_>,
        source: Side,
        plan: Plan,
        now: DateTime<Utc>,
        commit: &mut PageCommit,
        counts: &mut crmsync_core::ObjectReport,
    ) {
        let job = pass.job;
        counts.conflicts += plan.conflicts as u64;
        counts.parked += plan.parked as u64;
        let audit =
            |operation: &str, before: &Fields, after: &Fields, outcome, error: Option<String>| {
                AuditEntry {
                    run_id: pass.run_id,
                    connection: job.connection.clone(),
                    object: job.object.clone(),
                    local_id: plan.local_id.clone(),
                    remote_id: plan.remote_id.clone(),
                    operation: operation.to_owned(),
                    source: write_source(source),
                    changes: field_changes(before, after),
                    outcome,
                    error,
                    at: now,
                }
            };
        let dry = job.options.dry_run;
        let planned = if dry {
            AuditOutcome::Skipped
        } else {
            AuditOutcome::Success
        };
        let mut rows = Vec::new();
        if !plan.local_patch.is_empty() && plan.local_written {
            let created = plan.creates_local;
            rows.push(audit(
                if created {
                    "create_local"
                } else {
                    "update_local"
                },
                &plan.local_before,
                &plan.local_patch,
                planned,
                None,
            ));
            if created {
                counts.created_local += 1
            } else {
                counts.updated_local += 1
            }
        }
        if !plan.remote_patch.is_empty() && plan.remote_written {
            let created = plan.creates_remote;
            rows.push(audit(
                if created {
                    "create_remote"
                } else {
                    "update_remote"
                },
                &plan.remote_before,
                &plan.remote_patch,
                planned,
                None,
            ));
            if created {
                counts.created_remote += 1
            } else {
                counts.updated_remote += 1
            }
        }
        if let Some(error) = &plan.failed {
            let operation = format!("sync_{}", direction_of(source).as_str());
            rows.push(audit(
                &operation,
                &Fields::new(),
                &Fields::new(),
                AuditOutcome::Failed,
                Some(error.to_string()),
            ));
            let payload = json!({
                "record": plan.payload,
                "local_patch": plan.local_patch,
                "remote_patch": plan.remote_patch,
                "local_id": plan.local_id,
                "remote_id": plan.remote_id,
            });
            commit.audit.extend(rows);
            self.dead_letter(
                pass,
                source,
                &plan.source_id,
                payload,
                error,
                commit,
                counts,
            );
            return;
        }
        if plan.new_link && rows.is_empty() {
            rows.push(audit("link", &Fields::new(), &Fields::new(), planned, None));
        }
        commit.audit.extend(rows);
        if let (Some(local_id), Some(remote_id)) = (plan.local_id.clone(), plan.remote_id.clone()) {
            let hash = CanonicalRecord::new(plan.base.clone()).content_hash();
            commit.upsert_links.push(Link {
                local_id,
                remote_id,
                base: plan.base,
                base_hash: hash,
                remote_modified_at: plan.remote_modified_at,
                local_modified_at: plan.local_modified_at,
                synced_at: now,
            });
        }
    }

    async fn apply_deletes(
        &self,
        pass: &PassContext<'_>,
        source: Side,
        ids: Vec<RecordId>,
        links: Vec<Link>,
        commit: &mut PageCommit,
        counts: &mut crmsync_core::ObjectReport,
    ) -> Result<()> {
        let job = pass.job;
        let target = other(source);
        let provider = self.provider(pass, target);
        let now = Utc::now();
        let mut results: HashMap<String, Result<()>> = HashMap::new();
        if job.options.dry_run {
            for id in &ids {
                results.insert(id.as_str().to_owned(), Ok(()));
            }
        } else {
            let chunk = provider.capabilities(&job.object).max_write_batch.max(1);
            for ids in ids.chunks(chunk) {
                for outcome in provider.delete(&job.object, ids).await? {
                    results.insert(outcome.key, outcome.result.map(|_| ()));
                }
            }
        }
        let operation = match target {
            Side::Local => "delete_local",
            Side::Remote => "delete_remote",
        };
        for link in links {
            let target_id = match target {
                Side::Local => &link.local_id,
                Side::Remote => &link.remote_id,
            };
            let result = results.remove(target_id.as_str()).unwrap_or(Err(Error::new(
                ErrorKind::Internal,
                "no outcome for delete",
            )));
            let entry = |outcome, error| AuditEntry {
                run_id: pass.run_id,
                connection: job.connection.clone(),
                object: job.object.clone(),
                local_id: Some(link.local_id.clone()),
                remote_id: Some(link.remote_id.clone()),
                operation: operation.to_owned(),
                source: write_source(source),
                changes: json!({}),
                outcome,
                error,
                at: now,
            };
            match result {
                Ok(()) => {
                    commit.audit.push(entry(
                        if job.options.dry_run {
                            AuditOutcome::Skipped
                        } else {
                            AuditOutcome::Success
                        },
                        None,
                    ));
                    commit.delete_links.push(link.local_id.clone());
                    match target {
                        Side::Local => counts.deleted_local += 1,
                        Side::Remote => counts.deleted_remote += 1,
                    }
                }
                Err(e) => {
                    commit
                        .audit
                        .push(entry(AuditOutcome::Failed, Some(e.to_string())));
                    let source_id = match source {
                        Side::Local => link.local_id.clone(),
                        Side::Remote => link.remote_id.clone(),
                    };
                    self.dead_letter(pass, source, &source_id, json!({"delete": true, "local_id": link.local_id, "remote_id": link.remote_id}), &e, commit, counts);
                }
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn dead_letter(
        &self,
        pass: &PassContext<'_>,
        source: Side,
        record_id: &RecordId,
        payload: Value,
        error: &Error,
        commit: &mut PageCommit,
        counts: &mut crmsync_core::ObjectReport,
    ) {
        let now = Utc::now();
        tracing::info!(
            connection = %pass.job.connection,
            object = %pass.job.object,
            record = %record_id,
            kind = %error.kind(),
            "record sent to the dead-letter queue"
        );
        counts.dead_letters += 1;
        commit.dead_letters.push(DeadLetter {
            id: None,
            run_id: pass.run_id,
            connection: pass.job.connection.clone(),
            object: pass.job.object.clone(),
            direction: direction_of(source),
            record_id: record_id.clone(),
            payload,
            error_kind: error.kind().as_str().to_owned(),
            error_message: error.to_string(),
            field: error.context().field.clone(),
            rule: error.context().rule.clone(),
            attempts: 1,
            status: DeadLetterStatus::Pending,
            first_failed_at: now,
            last_failed_at: now,
        });
    }
}

fn record_payload(record: &Record) -> Value {
    serde_json::to_value(record).unwrap_or(Value::Null)
}

fn field_changes(before: &Fields, after: &Fields) -> Value {
    let mut out = BTreeMap::new();
    for (field, value) in after {
        out.insert(
            field.clone(),
            json!({"before": before.get(field).cloned().unwrap_or(Value::Null), "after": value}),
        );
    }
    json!(out)
}
