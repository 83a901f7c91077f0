//! One pass (pull or push) of a job, page by page.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crmsync_core::{
    CanonicalRecord, Change, ChangeKind, ChangesRequest, Direction, Error, ErrorKind, Fields, Link,
    PageCommit, Record, RecordId, Result, RunRecord, Side, SyncJob, SyncMode, WriteSource,
    normalize_fields,
};
use serde_json::Value;

use crate::{
    Binding, Engine, PassContext,
    apply::record_payload,
    merge::{MergeInput, MergeOutcome, merge},
    sides::Matched,
};

/// The other side.
pub(crate) fn other(side: Side) -> Side {
    match side {
        Side::Local => Side::Remote,
        Side::Remote => Side::Local,
    }
}

pub(crate) fn direction_of(source: Side) -> Direction {
    match source {
        Side::Remote => Direction::Pull,
        Side::Local => Direction::Push,
    }
}

pub(crate) fn write_source(source: Side) -> WriteSource {
    match source {
        Side::Remote => WriteSource::Remote,
        Side::Local => WriteSource::Local,
    }
}

pub(crate) fn restrict(fields: &Fields, names: &std::collections::BTreeSet<String>) -> Fields {
    normalize_fields(
        fields
            .iter()
            .filter(|(k, _)| names.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// The plan for one source record.
pub(crate) struct Plan {
    pub(crate) source_id: RecordId,
    pub(crate) local_id: Option<RecordId>,
    pub(crate) remote_id: Option<RecordId>,
    /// New base snapshot once every write succeeds.
    pub(crate) base: Fields,
    /// Canonical patch for the application, and the values it replaces.
    pub(crate) local_patch: Fields,
    pub(crate) local_before: Fields,
    /// Canonical patch for the CRM, and the values it replaces.
    pub(crate) remote_patch: Fields,
    pub(crate) remote_before: Fields,
    pub(crate) local_modified_at: Option<DateTime<Utc>>,
    pub(crate) remote_modified_at: Option<DateTime<Utc>>,
    /// The link is new (created, or matched before create).
    pub(crate) new_link: bool,
    pub(crate) payload: Value,
    pub(crate) conflicts: usize,
    /// A review item for the parked fields, if any.
    pub(crate) review: Option<crmsync_core::ReviewItem>,
    pub(crate) failed: Option<Error>,
    pub(crate) local_written: bool,
    pub(crate) remote_written: bool,
    /// The application's record is created by this plan.
    pub(crate) creates_local: bool,
    /// The CRM's record is created by this plan.
    pub(crate) creates_remote: bool,
    /// The link settles a create intent (the CRM record is what a lost create made).
    pub(crate) settles_intent: bool,
    /// Validation failures of the outbound mapping `skip_validation` let through.
    pub(crate) warnings: Vec<Error>,
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
        parked_seen: &crate::ParkedSeen,
    ) -> Result<Option<String>> {
        let started = chrono::Utc::now();
        let pass = PassContext::new(job, binding, run.id, parked_seen);
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
        let batch = job
            .options
            .batch_size
            .unwrap_or(caps.max_page_size)
            .max(1)
            .min(caps.max_page_size.max(1));
        let page_size = |done: u64| match job.options.max_records {
            Some(max) => batch.min(usize::try_from(max.saturating_sub(done)).unwrap_or(usize::MAX)),
            None => batch,
        };
        let limit = |done: u64, pages: u64| -> Option<String> {
            if let Some(max) = job.options.max_records {
                if done >= max {
                    return Some(format!(
                        "stopped after --max-records {max}; the next run resumes from the checkpoint"
                    ));
                }
            }
            match job.options.max_pages {
                Some(max_pages) if pages >= max_pages => Some(format!(
                    "stopped after {max_pages} page(s); the next run resumes from the checkpoint"
                )),
                _ => None,
            }
        };
        let fetch = |cursor: Option<crmsync_core::Cursor>, page_size: usize| {
            provider.changes(
                &job.object,
                ChangesRequest {
                    cursor,
                    page_size,
                    full: job.mode == SyncMode::Full,
                    since: job.options.start_date,
                    fields: fields.clone(),
                },
            )
        };
        let lease_key = format!("sync/{}/{}", job.connection, job.object);
        let mut done = 0u64;
        let mut pages = 0u64;
        let mut prefetched = None;
        let mut renewed = std::time::Instant::now();
        loop {
            if let Some(stop) = limit(done, pages) {
                return Ok(Some(stop));
            }
            let page = match prefetched.take() {
                Some(page) => page,
                None => fetch(cursor.clone(), page_size(done)).await?,
            };
            let n = page.changes.len() as u64;
            match source {
                Side::Remote => run.counts.pulled += n,
                Side::Local => run.counts.pushed += n,
            }
            let (next, complete, estimated_total) =
                (page.next, page.complete, page.estimated_total);
            // The CRM's next page is fetched while this one is applied and committed: the
            // network round trip overlaps the store's work instead of adding to it. (The
            // application's feed is read from the store itself, which this page is using.)
            let read_ahead = (source == Side::Remote
                && !complete
                && next.is_some()
                && limit(done + n, pages + 1).is_none())
            .then(|| fetch(next.clone(), page_size(done + n)));
            let counts = &mut run.counts;
            let apply = async {
                let mut commit = PageCommit::new(job.connection.clone(), job.object.clone());
                self.process_page(&pass, source, page.changes, &mut commit, counts)
                    .await?;
                if let Some(next) = &next {
                    commit.checkpoint = Some((direction, next.clone()));
                }
                if !job.options.dry_run {
                    self.store.commit_page(&job.tenant, commit).await?;
                    // Renew the lease once a third of its time has passed, not per page:
                    // a write transaction saved on every page.
                    if renewed.elapsed() >= self.lease_ttl / 3 {
                        let held = self
                            .store
                            .acquire_lease(&job.tenant, &lease_key, &self.holder, self.lease_ttl)
                            .await?;
                        if !held {
                            // The lease lapsed (a page outlasted it) and another worker
                            // took over: stop after this committed page, never race it.
                            return Err(Error::new(
                                ErrorKind::Busy,
                                format!(
                                    "lost the lease on {} of {} to another worker",
                                    job.object, job.connection
                                ),
                            )
                            .with_tenant(&job.tenant)
                            .with_connection(&job.connection));
                        }
                        renewed = std::time::Instant::now();
                    }
                }
                Ok::<(), crmsync_core::Error>(())
            };
            let ahead = async {
                match read_ahead {
                    Some(fetching) => Some(fetching.await),
                    None => None,
                }
            };
            let (applied, fetched) = futures::future::join(apply, ahead).await;
            applied?;
            pages += 1;
            done += n;
            run.counts.pages += 1;
            self.report_progress(job, source, done, estimated_total, pages);
            if complete || next.is_none() {
                // Only a pull of the CRM's own feed (its last page names the cursor to
                // resume from) shows that a lost create made nothing; a targeted feed
                // (`dlq replay`) names none.
                if source == Side::Remote && next.is_some() && !job.options.dry_run {
                    self.drop_unfulfilled_intents(&pass, started).await?;
                }
                return Ok(None);
            }
            cursor = next;
            prefetched = fetched.transpose()?;
        }
    }

    pub(crate) async fn process_page(
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
                Side::Remote => {
                    binding
                        .mapper
                        .to_canonical_checked(&ctx, &record)
                        .map(|(c, warnings)| {
                            if !warnings.is_empty() {
                                // `--skip-validation`: recorded, not enforced.
                                commit.audit.push(validation_warnings(
                                    pass,
                                    (None, Some(&record.id)),
                                    Side::Remote,
                                    &warnings,
                                    now,
                                ));
                                counts.validation_warnings += warnings.len() as u64;
                            }
                            c
                        })
                }
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
            let current = match self.provider(pass, target).capabilities(&job.object).read {
                true => self.read_canonical(pass, target, &target_ids).await?,
                // A push-only target (a webhook, a catch hook) cannot be read back: it
                // holds what was last written to it, the link's base snapshot.
                false => linked
                    .iter()
                    .map(|(_, _, link)| written_state(pass, target, link))
                    .collect(),
            };
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

        // Unlinked records: match before create (email, phone, fuzzy name + company).
        if !unlinked.is_empty() {
            let matches = self.match_before_create(pass, target, &unlinked).await?;
            for (i, (record, c)) in unlinked.into_iter().enumerate() {
                match matches.get(&i) {
                    Some(Matched::Ambiguous { candidates, reason }) => {
                        counts.parked += 1;
                        if !job.options.dry_run {
                            commit.review_items.push(ambiguous_item(
                                pass, source, &record, &c, candidates, reason, now,
                            ));
                        }
                    }
                    // A candidate of a record parked on the other side: it waits for
                    // that decision (which links or creates it); no second item.
                    Some(Matched::Held) => counts.parked += 1,
                    Some(
                        matched @ (Matched::Link(target_record, target_canon)
                        | Matched::Intended(target_record, target_canon)),
                    ) => {
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
                        plan.settles_intent = matches!(matched, Matched::Intended(..));
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
                            review: None,
                            failed: None,
                            local_written: false,
                            remote_written: false,
                            creates_local: false,
                            creates_remote: false,
                            settles_intent: false,
                            warnings: Vec::new(),
                        });
                    }
                }
            }
        }

        self.apply_plans(pass, source, &mut plans).await?;
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
        let review = (!outcome.parked.is_empty()).then(|| {
            let pick = |from: &Fields| -> Fields {
                outcome
                    .parked
                    .iter()
                    .filter_map(|f| from.get(f).map(|v| (f.clone(), v.clone())))
                    .collect()
            };
            let now = chrono::Utc::now();
            crmsync_core::ReviewItem {
                id: None,
                connection: pass.job.connection.clone(),
                object: pass.job.object.clone(),
                kind: crmsync_core::ReviewKind::Conflict,
                local_id: Some(link.map_or_else(|| local_rec.id.clone(), |l| l.local_id.clone())),
                remote_id: Some(link.map_or_else(|| remote_rec.id.clone(), |l| l.remote_id.clone())),
                fields: outcome.parked.clone(),
                base: pick(base),
                local: pick(local),
                remote: pick(remote),
                candidates: Vec::new(),
                reason: format!(
                    "{} changed on both sides since the last sync; the manual strategy leaves the decision to a person",
                    outcome.parked.join(", ")
                ),
                status: crmsync_core::ReviewStatus::Pending,
                resolution: Default::default(),
                resolved_by: None,
                resolved_at: None,
                created_at: now,
                updated_at: now,
            }
        });
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
            review,
            failed: None,
            local_written: false,
            remote_written: false,
            creates_local: false,
            creates_remote: false,
            settles_intent: false,
            warnings: Vec::new(),
        }
    }
}

/// A review item for a record that might be one of several on the other side.
fn ambiguous_item(
    pass: &PassContext<'_>,
    source: Side,
    record: &Record,
    c: &CanonicalRecord,
    candidates: &[RecordId],
    reason: &str,
    now: DateTime<Utc>,
) -> crmsync_core::ReviewItem {
    let (local_id, remote_id, local, remote) = match source {
        Side::Local => (
            Some(record.id.clone()),
            None,
            c.fields.clone(),
            Fields::new(),
        ),
        Side::Remote => (
            None,
            Some(record.id.clone()),
            Fields::new(),
            c.fields.clone(),
        ),
    };
    crmsync_core::ReviewItem {
        id: None,
        connection: pass.job.connection.clone(),
        object: pass.job.object.clone(),
        kind: crmsync_core::ReviewKind::AmbiguousMatch,
        local_id,
        remote_id,
        fields: Vec::new(),
        base: Fields::new(),
        local,
        remote,
        candidates: candidates.to_vec(),
        reason: reason.to_owned(),
        status: crmsync_core::ReviewStatus::Pending,
        resolution: Default::default(),
        resolved_by: None,
        resolved_at: None,
        created_at: now,
        updated_at: now,
    }
}

/// An audit row listing the validation failures `skip_validation` let through.
pub(crate) fn validation_warnings(
    pass: &PassContext<'_>,
    (local_id, remote_id): (Option<&RecordId>, Option<&RecordId>),
    mapped_from: Side,
    warnings: &[Error],
    now: DateTime<Utc>,
) -> crmsync_core::AuditEntry {
    let list: Vec<serde_json::Value> = warnings
        .iter()
        .map(|w| {
            serde_json::json!({
                "field": w.context().field,
                "rule": w.context().rule,
                "message": w.message(),
            })
        })
        .collect();
    crmsync_core::AuditEntry {
        run_id: pass.run_id,
        connection: pass.job.connection.clone(),
        object: pass.job.object.clone(),
        local_id: local_id.cloned(),
        remote_id: remote_id.cloned(),
        operation: "validation_skipped".into(),
        source: match mapped_from {
            Side::Local => WriteSource::Local,
            Side::Remote => WriteSource::Remote,
        },
        changes: serde_json::json!({ "warnings": list }),
        outcome: crmsync_core::AuditOutcome::Skipped,
        error: None,
        at: now,
    }
}

/// What a push-only side holds of a linked record: the base snapshot last written to it,
/// under its id, as of the link's modification time on that side.
fn written_state(pass: &PassContext<'_>, side: Side, link: &Link) -> (RecordId, (Record, Fields)) {
    let (id, modified_at) = match side {
        Side::Local => (&link.local_id, link.local_modified_at),
        Side::Remote => (&link.remote_id, link.remote_modified_at),
    };
    let fields = restrict(&link.base, &pass.synced);
    let mut record = Record::new(id.clone(), pass.job.object.clone(), Fields::new());
    record.modified_at = modified_at;
    (id.clone(), (record, fields))
}
