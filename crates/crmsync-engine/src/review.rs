//! Applying review decisions: a person resolved parked fields; the next sync writes the
//! chosen values to both sides, moves the base snapshot, and audits who decided.

use std::collections::BTreeSet;

use chrono::Utc;
use crmsync_core::{
    AuditEntry, AuditOutcome, CanonicalRecord, Change, ChangeKind, Fields, MatchResolution, Origin,
    PageCommit, RecordId, Result, ReviewChoice, ReviewFilter, ReviewItem, ReviewKind, ReviewStatus,
    RunRecord, Side, SyncJob, WriteOp, WriteSource,
};
use serde_json::{Value, json};

use crate::{Binding, Engine, PassContext};

impl Engine {
    /// Applies the resolved review items of a job's connection and object.
    pub(crate) async fn apply_reviews(
        &self,
        job: &SyncJob,
        binding: &Binding,
        run: &mut RunRecord,
    ) -> Result<()> {
        if job.options.dry_run {
            return Ok(());
        }
        let filter = ReviewFilter {
            connection: Some(job.connection.clone()),
            object: Some(job.object.clone()),
            status: Some(ReviewStatus::Resolved),
            limit: Some(1_000),
        };
        let items = self.store.list_review_items(&job.tenant, &filter).await?;
        if items.is_empty() {
            return Ok(());
        }
        let unused = crate::ParkedSeen::default();
        let pass = PassContext::new(job, binding, run.id, &unused);
        let mut commit = PageCommit::new(job.connection.clone(), job.object.clone());
        let (matches, conflicts): (Vec<ReviewItem>, Vec<ReviewItem>) = items
            .into_iter()
            .partition(|item| item.kind == ReviewKind::AmbiguousMatch);
        for item in conflicts {
            self.apply_review(&pass, item, &mut commit).await?;
        }
        for source in [Side::Remote, Side::Local] {
            let items: Vec<&ReviewItem> = matches
                .iter()
                .filter(|item| parked_side(item).is_some_and(|(side, _)| side == source))
                .collect();
            if !items.is_empty() {
                self.apply_match_decisions(job, binding, run, source, &items, &mut commit)
                    .await?;
            }
        }
        self.store.commit_page(&job.tenant, commit).await
    }

    /// Applies resolved ambiguous matches of records parked from `source`: the records
    /// are read again and go through the page pipeline with the person's decisions in
    /// place of the matcher's — linked to the chosen record and merged, or created —
    /// so that a decision gets the same merge, writes, links and audit as any record.
    /// An item without a decision is simply matched again.
    async fn apply_match_decisions(
        &self,
        job: &SyncJob,
        binding: &Binding,
        run: &mut RunRecord,
        source: Side,
        items: &[&ReviewItem],
        commit: &mut PageCommit,
    ) -> Result<()> {
        let unused = crate::ParkedSeen::default();
        let mut pass = PassContext::new(job, binding, run.id, &unused);
        let mut ids = Vec::with_capacity(items.len());
        for item in items {
            let Some((_, id)) = parked_side(item) else {
                continue;
            };
            if let Some(decision) = MatchResolution::from_resolution(&item.resolution) {
                pass.decided.insert(id.clone(), decision);
            }
            ids.push(id.clone());
        }
        let fields = match source {
            Side::Remote => binding.mapper.remote_fields(&pass.map_context()),
            Side::Local => Vec::new(),
        };
        let provider = match source {
            Side::Remote => binding.remote.as_ref(),
            Side::Local => binding.local.as_ref(),
        };
        // A record deleted meanwhile has nothing left to place.
        let changes: Vec<Change> = provider
            .read(&job.object, &ids, &fields)
            .await?
            .into_iter()
            .filter(|record| !record.deleted)
            .map(|record| Change {
                record,
                kind: ChangeKind::Upsert,
                origin: Origin::Poll,
            })
            .collect();
        self.process_page(&pass, source, changes, commit, &mut run.counts)
            .await?;
        let now = Utc::now();
        for item in items {
            let Some(review_id) = item.id else { continue };
            let decision = match MatchResolution::from_resolution(&item.resolution) {
                Some(MatchResolution::LinkTo(id)) => json!({ "link_to": id }),
                Some(MatchResolution::CreateNew) => json!("create_new"),
                None => json!("match_again"),
            };
            commit.audit.push(AuditEntry {
                run_id: run.id,
                connection: job.connection.clone(),
                object: job.object.clone(),
                local_id: item.local_id.clone(),
                remote_id: item.remote_id.clone(),
                operation: "resolve_review".into(),
                source: match source {
                    Side::Local => WriteSource::Local,
                    Side::Remote => WriteSource::Remote,
                },
                changes: json!({
                    "review": {
                        "id": review_id,
                        "kind": item.kind.as_str(),
                        "resolved_by": item.resolved_by,
                        "resolved_at": item.resolved_at,
                        "decision": decision,
                        "candidates": item.candidates,
                    }
                }),
                outcome: AuditOutcome::Success,
                error: None,
                at: now,
            });
            commit.applied_reviews.push(review_id);
        }
        Ok(())
    }

    async fn apply_review(
        &self,
        pass: &PassContext<'_>,
        item: ReviewItem,
        commit: &mut PageCommit,
    ) -> Result<()> {
        let job = pass.job;
        let Some(id) = item.id else {
            return Ok(());
        };
        let (Some(local_id), Some(remote_id), ReviewKind::Conflict) =
            (item.local_id.clone(), item.remote_id.clone(), item.kind)
        else {
            // Ambiguous matches are applied by `apply_match_decisions`.
            return Ok(());
        };
        let links = self
            .links(pass, Side::Local, std::slice::from_ref(&local_id))
            .await?;
        let Some(link) = links.get(&local_id).cloned() else {
            // The link is gone (a delete won meanwhile): nothing to apply.
            commit.applied_reviews.push(id);
            return Ok(());
        };
        let locals = self
            .read_canonical(pass, Side::Local, std::slice::from_ref(&local_id))
            .await?;
        let remotes = self
            .read_canonical(pass, Side::Remote, std::slice::from_ref(&remote_id))
            .await?;
        let (Some((_, local)), Some((_, remote))) =
            (locals.get(&local_id), remotes.get(&remote_id))
        else {
            commit.applied_reviews.push(id);
            return Ok(());
        };
        let fields: BTreeSet<&String> = item.fields.iter().chain(item.resolution.keys()).collect();
        let mut chosen = Fields::new();
        for field in fields {
            let value = match item.resolution.get(field.as_str()) {
                Some(ReviewChoice::Local) => local.get(field.as_str()).cloned(),
                Some(ReviewChoice::Remote) => remote.get(field.as_str()).cloned(),
                Some(ReviewChoice::Value(v)) => Some(v.clone()),
                // A field left undecided stays parked: the next sync parks it again.
                None => continue,
            };
            chosen.insert(field.clone(), value.unwrap_or(Value::Null));
        }
        let differs = |current: &Fields| -> Fields {
            chosen
                .iter()
                .filter(|(k, v)| current.get(k.as_str()).unwrap_or(&Value::Null) != *v)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let local_patch: Fields = differs(local)
            .into_iter()
            .filter(|(k, _)| pass.inbound.contains(k.as_str()))
            .collect();
        let remote_patch: Fields = differs(remote)
            .into_iter()
            .filter(|(k, _)| pass.outbound.contains(k.as_str()))
            .collect();
        if !local_patch.is_empty() {
            let outcomes = pass
                .binding
                .local
                .upsert(
                    &job.object,
                    vec![WriteOp {
                        key: "review".into(),
                        id: Some(local_id.clone()),
                        fields: local_patch.clone(),
                        idempotency_key: None,
                    }],
                )
                .await?;
            if let Some(err) = outcomes.into_iter().find_map(|o| o.result.err()) {
                return Err(err);
            }
        }
        if !remote_patch.is_empty() {
            let ctx = pass.map_context();
            let fields = pass
                .binding
                .mapper
                .to_remote(&ctx, local_id.as_str(), &remote_patch)
                .map_err(|f| {
                    f.errors.into_iter().next().unwrap_or_else(|| {
                        crmsync_core::Error::new(
                            crmsync_core::ErrorKind::Validation,
                            "mapping failed",
                        )
                    })
                })?;
            let outcomes = pass
                .binding
                .remote
                .upsert(
                    &job.object,
                    vec![WriteOp {
                        key: "review".into(),
                        id: Some(remote_id.clone()),
                        fields,
                        idempotency_key: None,
                    }],
                )
                .await?;
            if let Some(err) = outcomes.into_iter().find_map(|o| o.result.err()) {
                return Err(err);
            }
        }
        let mut base = link.base.clone();
        for (field, value) in &chosen {
            if value.is_null() {
                base.remove(field);
            } else {
                base.insert(field.clone(), value.clone());
            }
        }
        let now = Utc::now();
        let mut changes = serde_json::Map::new();
        for (field, value) in &chosen {
            changes.insert(
                field.clone(),
                json!({
                    "local_before": local.get(field.as_str()).cloned().unwrap_or(Value::Null),
                    "remote_before": remote.get(field.as_str()).cloned().unwrap_or(Value::Null),
                    "after": value,
                }),
            );
        }
        changes.insert(
            "review".into(),
            json!({
                "id": id,
                "resolved_by": item.resolved_by,
                "resolved_at": item.resolved_at,
                "resolution": item.resolution,
            }),
        );
        commit.audit.push(AuditEntry {
            run_id: pass.run_id,
            connection: job.connection.clone(),
            object: job.object.clone(),
            local_id: Some(local_id.clone()),
            remote_id: Some(remote_id.clone()),
            operation: "resolve_review".into(),
            source: WriteSource::Local,
            changes: Value::Object(changes),
            outcome: AuditOutcome::Success,
            error: None,
            at: now,
        });
        let hash = CanonicalRecord::new(base.clone()).content_hash();
        commit.upsert_links.push(crmsync_core::Link {
            base,
            base_hash: hash,
            synced_at: now,
            ..link
        });
        commit.applied_reviews.push(id);
        Ok(())
    }
}

/// The side a parked record came from, and its id there.
fn parked_side(item: &ReviewItem) -> Option<(Side, &RecordId)> {
    match (&item.local_id, &item.remote_id) {
        (Some(id), None) => Some((Side::Local, id)),
        (None, Some(id)) => Some((Side::Remote, id)),
        _ => None,
    }
}
