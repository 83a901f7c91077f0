//! Applying plans: batched writes on both sides, then links, audit rows, counts and
//! dead letters for the page commit.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use crmsync_core::{
    AuditEntry, AuditOutcome, CanonicalRecord, DeadLetter, DeadLetterStatus, Error, ErrorKind,
    Fields, Link, PageCommit, Record, RecordId, Result, Side, WriteOp, WriteOutcome,
};
use serde_json::{Value, json};

use crate::{
    Engine, PassContext,
    pipeline::{Plan, direction_of, other, write_source},
};

impl Engine {
    /// Applies every plan's patches, in batches, on both sides.
    pub(crate) async fn apply_plans(
        &self,
        pass: &PassContext<'_>,
        source: Side,
        plans: &mut [Plan],
    ) -> Result<()> {
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
                let mapped = pass
                    .binding
                    .mapper
                    .to_remote_checked(&ctx, &label, &plan.remote_patch)
                    .map(|(fields, warnings)| {
                        // `--skip-validation`: recorded with the plan, not enforced.
                        plan.warnings.extend(warnings);
                        fields
                    });
                match mapped {
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
        if job.options.dry_run {
            for op in &local_ops {
                if let Some(p) = plan_of(plans, &op.key) {
                    p.local_written = true;
                }
            }
            for op in &remote_ops {
                if let Some(p) = plan_of(plans, &op.key) {
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
            // A plan whose first write failed writes nothing on the other side.
            let ops: Vec<WriteOp> = ops
                .into_iter()
                .filter(|op| plan_of(plans, &op.key).is_some_and(|p| p.failed.is_none()))
                .collect();
            if ops.is_empty() {
                continue;
            }
            let provider = self.provider(pass, side);
            let caps = provider.capabilities(&job.object);
            let chunk = caps.max_write_batch.max(1);
            // Creates the CRM cannot make idempotent, and whose records a pull can find
            // again, are written down first: a lost answer must not create twice.
            let journal = side == Side::Remote && !caps.upsert_by_external_id && caps.change_feed;
            let mut ops = ops.into_iter().peekable();
            while ops.peek().is_some() {
                let batch: Vec<WriteOp> = ops.by_ref().take(chunk).collect();
                if journal {
                    self.journal_creates(pass, plans, &batch).await?;
                }
                let outcomes: Vec<WriteOutcome> = provider.upsert(&job.object, batch).await?;
                for outcome in outcomes {
                    let Some(plan) = plan_of(plans, &outcome.key) else {
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

    /// Stores a create intent for each create in `batch` (see
    /// [`CreateIntent`](crmsync_core::CreateIntent)), before the batch is sent.
    async fn journal_creates(
        &self,
        pass: &PassContext<'_>,
        plans: &[Plan],
        batch: &[WriteOp],
    ) -> Result<()> {
        let now = Utc::now();
        let intents: Vec<crmsync_core::CreateIntent> = batch
            .iter()
            .filter(|op| op.id.is_none())
            .filter_map(|op| {
                let plan = plans.get(plan_index(&op.key)?)?;
                Some(crmsync_core::CreateIntent {
                    target: Side::Remote,
                    source_id: plan.local_id.clone()?,
                    fields: plan.remote_patch.clone(),
                    created_at: now,
                })
            })
            .collect();
        if intents.is_empty() {
            return Ok(());
        }
        self.store
            .put_create_intents(&pass.job.tenant, &pass.link_key, &intents)
            .await
    }

    /// Records a plan's results: link and base, audit rows, counts or a dead letter.
    pub(crate) fn finish_plan(
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
        if !plan.warnings.is_empty() {
            counts.validation_warnings += plan.warnings.len() as u64;
            commit.audit.push(crate::pipeline::validation_warnings(
                pass,
                (plan.local_id.as_ref(), plan.remote_id.as_ref()),
                Side::Local,
                &plan.warnings,
                now,
            ));
        }
        if let (Some(review), Some(local_id)) = (&plan.review, &plan.local_id) {
            let mut seen = pass.parked_seen.lock().unwrap_or_else(|p| p.into_inner());
            for field in &review.fields {
                if seen.insert((local_id.clone(), field.clone())) {
                    counts.parked += 1;
                }
            }
        }
        if let Some(review) = &plan.review {
            if !job.options.dry_run {
                commit.review_items.push(review.clone());
            }
        }
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
        // An intent is settled by the answer to its create (created and linked here, or
        // refused) or by the link to what a lost create made. Created but not linked (a
        // later write of the plan failed), it stays: the next pull links the record
        // instead of the push creating another.
        let answered = plan.creates_remote && plan.remote_written == plan.failed.is_none();
        let found = plan.settles_intent && plan.failed.is_none();
        if let (true, false, Some(local_id)) = (answered || found, dry, &plan.local_id) {
            commit
                .settled_intents
                .push((Side::Remote, local_id.clone()));
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

    pub(crate) async fn apply_deletes(
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
    pub(crate) fn dead_letter(
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

/// The plan a write op's key names (ops are keyed by their plan's index).
/// The index of the plan a write op's correlation key names.
fn plan_index(key: &str) -> Option<usize> {
    key.parse::<usize>().ok()
}

fn plan_of<'p>(plans: &'p mut [Plan], key: &str) -> Option<&'p mut Plan> {
    plans.get_mut(plan_index(key)?)
}

pub(crate) fn record_payload(record: &Record) -> Value {
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
