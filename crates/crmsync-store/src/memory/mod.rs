//! `MemoryStore`: the whole contract in process memory, for tests and examples.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
    time::Duration,
};

use chrono::{DateTime, Utc};
use crmsync_core::{
    AuditEntry, BoxFuture, Checkpoint, ConnectionConfig, ConnectionId, CreateIntent, DeadLetter,
    DeadLetterStatus, Direction, Error, ErrorKind, Lease, Link, LinkKey, MirrorRecord, MirrorWrite,
    ObjectKind, PageCommit, RecordId, Result, ReviewChoice, ReviewFilter, ReviewItem, ReviewStatus,
    RunFilter, RunId, RunRecord, Side, SyncStore, TenantId,
};
mod state;

use state::{State, StoredConnection, TenantState};

use crate::{
    crypto::CredentialKey,
    mirror::{self, StoredMirrorRow},
    rows::{self, DEFAULT_REVIEW_LIMIT, DEFAULT_RUN_LIMIT},
};

/// A [`SyncStore`] in process memory: nothing survives the process.
///
/// It follows the same contract as the SQL stores, down to details: credentials are
/// kept encrypted with the [`CredentialKey`], timestamps are kept at microsecond
/// precision, and the mirror shares their patch and sequence rules.
///
/// ```
/// use crmsync_core::{SyncStore, TenantId};
/// use crmsync_store::{CredentialKey, MemoryStore};
///
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new(CredentialKey::generate()?);
/// let tenant = TenantId::new("acme");
/// assert!(store.list_connections(&tenant).await?.is_empty());
/// # Ok::<(), crmsync_core::Error>(())
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct MemoryStore {
    key: CredentialKey,
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store whose credentials are encrypted with `key`.
    pub fn new(key: CredentialKey) -> Self {
        Self {
            key,
            state: Mutex::new(State::default()),
        }
    }

    /// Runs `f` on the tenant's state under the lock.
    fn with_tenant<T>(
        &self,
        tenant: &TenantId,
        operation: &'static str,
        f: impl FnOnce(&mut TenantState) -> Result<T>,
    ) -> Result<T> {
        let mut state = self.state.lock().map_err(|_| rows::poisoned(operation))?;
        f(state.tenants.entry(tenant.clone()).or_default())
    }

    /// Runs `f` on the whole state (for ids unique across tenants) under the lock.
    fn with_state<T>(
        &self,
        operation: &'static str,
        f: impl FnOnce(&mut State) -> Result<T>,
    ) -> Result<T> {
        let mut state = self.state.lock().map_err(|_| rows::poisoned(operation))?;
        f(&mut state)
    }

    /// `mirror_find`, less records linked on `unlinked_on` when given.
    fn find_mirror(
        &self,
        tenant: &TenantId,
        object: &ObjectKind,
        field: &str,
        values: &[String],
        unlinked_on: Option<&ConnectionId>,
    ) -> Result<Vec<MirrorRecord>> {
        self.with_tenant(tenant, "store.mirror_find", |t| {
            let Some(table) = t.mirror.get(object) else {
                return Ok(Vec::new());
            };
            let links = unlinked_on.and_then(|connection| {
                t.links.get(&LinkKey {
                    connection: connection.clone(),
                    object: object.clone(),
                })
            });
            let wanted = mirror::find_values(field, values);
            let mut found: Vec<MirrorRecord> = table
                .rows
                .values()
                .map(|row| &row.record)
                .filter(|record| !record.deleted)
                .filter(|record| mirror::find_hit(field, &record.fields, &wanted))
                .filter(|record| links.is_none_or(|l| !l.by_local.contains_key(&record.id)))
                .cloned()
                .collect();
            found.sort_by_key(|record| record.seq);
            Ok(found)
        })
    }
}

fn not_found(what: &str, operation: &'static str) -> Error {
    Error::new(ErrorKind::NotFound, format!("{what} not found")).with_operation(operation)
}

impl SyncStore for MemoryStore {
    fn put_connection<'a>(
        &'a self,
        tenant: &'a TenantId,
        connection: &'a ConnectionConfig,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let sealed = self
                .key
                .seal(tenant, &connection.id, &connection.credentials)?;
            self.with_tenant(tenant, "store.put_connection", |t| {
                t.connections.insert(
                    connection.id.clone(),
                    StoredConnection {
                        provider: connection.provider.clone(),
                        settings: connection.settings.clone(),
                        sealed_credentials: sealed,
                    },
                );
                Ok(())
            })
        })
    }

    fn get_connection<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<Option<ConnectionConfig>>> {
        Box::pin(async move {
            let stored = self.with_tenant(tenant, "store.get_connection", |t| {
                Ok(t.connections.get(id).map(|c| {
                    (
                        c.provider.clone(),
                        c.settings.clone(),
                        c.sealed_credentials.clone(),
                    )
                }))
            })?;
            stored
                .map(|(provider, settings, sealed)| {
                    Ok(ConnectionConfig {
                        id: id.clone(),
                        provider,
                        settings,
                        credentials: self.key.open(tenant, id, &sealed)?,
                    })
                })
                .transpose()
        })
    }

    fn list_connections<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<ConnectionId>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.list_connections", |t| {
                Ok(t.connections.keys().cloned().collect())
            })
        })
    }

    fn delete_connection<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.delete_connection", |t| {
                Ok(t.connections.remove(id).is_some())
            })
        })
    }

    fn links_by_remote<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        remote_ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<Link>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.links_by_remote", |t| {
                let Some(table) = t.links.get(key) else {
                    return Ok(Vec::new());
                };
                Ok(rows::unique_ids(remote_ids)
                    .into_iter()
                    .filter_map(|remote| table.local_by_remote.get(remote))
                    .filter_map(|local| table.by_local.get(local).cloned())
                    .collect())
            })
        })
    }

    fn links_by_local<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        local_ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<Link>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.links_by_local", |t| {
                let Some(table) = t.links.get(key) else {
                    return Ok(Vec::new());
                };
                Ok(rows::unique_ids(local_ids)
                    .into_iter()
                    .filter_map(|local| table.by_local.get(local).cloned())
                    .collect())
            })
        })
    }

    fn count_links<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.count_links", |t| {
                Ok(t.links
                    .get(key)
                    .map_or(0, |table| table.by_local.len() as u64))
            })
        })
    }

    fn put_create_intents<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        intents: &'a [CreateIntent],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.put_create_intents", |t| {
                let list = t.intents.entry(key.clone()).or_default();
                for intent in intents {
                    list.retain(|i| {
                        !(i.target == intent.target && i.source_id == intent.source_id)
                    });
                    let mut intent = intent.clone();
                    intent.created_at = rows::truncate(intent.created_at);
                    list.push(intent);
                }
                Ok(())
            })
        })
    }

    fn list_create_intents<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
    ) -> BoxFuture<'a, Result<Vec<CreateIntent>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.list_create_intents", |t| {
                let mut list = t.intents.get(key).cloned().unwrap_or_default();
                list.sort_by_key(|i| i.created_at);
                Ok(list)
            })
        })
    }

    fn drop_create_intents<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        target: Side,
        before: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.drop_create_intents", |t| {
                let Some(list) = t.intents.get_mut(key) else {
                    return Ok(0);
                };
                let len = list.len();
                list.retain(|i| !(i.target == target && i.created_at < before));
                Ok((len - list.len()) as u64)
            })
        })
    }

    fn checkpoint<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        direction: Direction,
    ) -> BoxFuture<'a, Result<Option<Checkpoint>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.checkpoint", |t| {
                Ok(t.checkpoints.get(&(key.clone(), direction)).cloned())
            })
        })
    }

    fn clear_checkpoint<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a LinkKey,
        direction: Direction,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.clear_checkpoint", |t| {
                t.checkpoints.remove(&(key.clone(), direction));
                Ok(())
            })
        })
    }

    fn commit_page<'a>(
        &'a self,
        tenant: &'a TenantId,
        commit: PageCommit,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let now = rows::now();
            self.with_state("store.commit_page", |state| {
                // Ids first, so the tenant borrow below is the only one.
                let letters = rows::pending_letters(commit.dead_letters);
                let letter_ids: Vec<i64> = letters.iter().map(|_| state.next_id()).collect();
                let counter = &mut state.next_id;
                let t = state.tenants.entry(tenant.clone()).or_default();
                let key = LinkKey {
                    connection: commit.connection.clone(),
                    object: commit.object.clone(),
                };
                let table = t.links.entry(key.clone()).or_default();
                for local in &commit.delete_links {
                    table.remove_local(local);
                }
                for link in commit.upsert_links {
                    table.upsert(rows::stored_link(link));
                }
                for mut entry in commit.audit {
                    entry.at = rows::truncate(entry.at);
                    t.audit.push(entry);
                }
                for (id, mut letter) in letter_ids.into_iter().zip(letters) {
                    // A record failing again updates its pending letter.
                    let key = rows::letter_key(&letter);
                    let pending = t.dead_letters.values_mut().find(|stored| {
                        stored.status == crmsync_core::DeadLetterStatus::Pending
                            && rows::letter_key(stored) == key
                    });
                    match pending {
                        Some(stored) => {
                            letter.id = stored.id;
                            letter.attempts += stored.attempts;
                            letter.first_failed_at = stored.first_failed_at;
                            *stored = letter;
                        }
                        None => {
                            letter.id = Some(id);
                            t.dead_letters.insert(id, letter);
                        }
                    }
                }
                for item in rows::parked_reviews(commit.review_items) {
                    t.reviews.park(item, || {
                        *counter += 1;
                        *counter
                    });
                }
                t.reviews.mark_applied(&commit.applied_reviews, now);
                if let Some(intents) = t.intents.get_mut(&key) {
                    intents.retain(|i| {
                        !commit
                            .settled_intents
                            .iter()
                            .any(|(side, id)| *side == i.target && *id == i.source_id)
                    });
                }
                if let Some((direction, cursor)) = commit.checkpoint {
                    t.checkpoints.insert(
                        (key, direction),
                        Checkpoint {
                            direction,
                            cursor,
                            updated_at: now,
                        },
                    );
                }
                Ok(())
            })
        })
    }

    fn start_run<'a>(
        &'a self,
        tenant: &'a TenantId,
        run: &'a RunRecord,
    ) -> BoxFuture<'a, Result<RunId>> {
        Box::pin(async move {
            self.with_state("store.start_run", |state| {
                let id = RunId(state.next_id());
                let mut stored = run.clone();
                stored.id = Some(id);
                stored.started_at = rows::truncate(stored.started_at);
                stored.finished_at = stored.finished_at.map(rows::truncate);
                state
                    .tenants
                    .entry(tenant.clone())
                    .or_default()
                    .runs
                    .insert(id.0, stored);
                Ok(id)
            })
        })
    }

    fn finish_run<'a>(
        &'a self,
        tenant: &'a TenantId,
        run: &'a RunRecord,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let id = rows::run_id_of(run)?;
            self.with_tenant(tenant, "store.finish_run", |t| {
                let stored = t
                    .runs
                    .get_mut(&id)
                    .ok_or_else(|| not_found("run", "store.finish_run"))?;
                stored.status = run.status;
                stored.finished_at = run.finished_at.map(rows::truncate);
                stored.counts = run.counts.clone();
                stored.error = run.error.clone();
                stored.configuration = run.configuration.clone();
                Ok(())
            })
        })
    }

    fn list_runs<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: &'a RunFilter,
    ) -> BoxFuture<'a, Result<Vec<RunRecord>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.list_runs", |t| {
                let limit = filter.limit.unwrap_or(DEFAULT_RUN_LIMIT) as usize;
                Ok(t.runs
                    .values()
                    .rev()
                    .filter(|r| {
                        filter
                            .connection
                            .as_ref()
                            .is_none_or(|c| *c == r.connection)
                    })
                    .filter(|r| filter.object.as_ref().is_none_or(|o| *o == r.object))
                    .take(limit)
                    .cloned()
                    .collect())
            })
        })
    }

    fn list_audit<'a>(
        &'a self,
        tenant: &'a TenantId,
        run: Option<RunId>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<AuditEntry>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.list_audit", |t| {
                // The newest `limit` rows, returned oldest first.
                let mut newest: Vec<AuditEntry> = t
                    .audit
                    .iter()
                    .rev()
                    .filter(|entry| run.is_none() || entry.run_id == run)
                    .take(limit as usize)
                    .cloned()
                    .collect();
                newest.reverse();
                Ok(newest)
            })
        })
    }

    fn list_dead_letters<'a>(
        &'a self,
        tenant: &'a TenantId,
        status: Option<DeadLetterStatus>,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<DeadLetter>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.list_dead_letters", |t| {
                Ok(t.dead_letters
                    .values()
                    .filter(|d| status.is_none_or(|s| s == d.status))
                    .take(limit as usize)
                    .cloned()
                    .collect())
            })
        })
    }

    fn update_dead_letter<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
        status: DeadLetterStatus,
        bump_attempts: bool,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let now = rows::now();
            self.with_tenant(tenant, "store.update_dead_letter", |t| {
                let Some(letter) = t.dead_letters.get_mut(&id) else {
                    return Ok(false);
                };
                letter.status = status;
                if bump_attempts {
                    letter.attempts = letter.attempts.saturating_add(1);
                    if status == DeadLetterStatus::Pending {
                        letter.last_failed_at = now;
                    }
                }
                Ok(true)
            })
        })
    }

    fn mirror_write<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        writes: Vec<MirrorWrite>,
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>> {
        Box::pin(async move {
            let now = rows::now();
            self.with_tenant(tenant, "store.mirror_write", |t| {
                let table = t.mirror.entry(object.clone()).or_default();
                let (ids, keys) = mirror::lookup_keys(&writes);
                let mut touched: HashMap<RecordId, StoredMirrorRow> = HashMap::new();
                let key_ids = keys.iter().filter_map(|k| table.by_key.get(k));
                for id in ids.iter().chain(key_ids) {
                    if let Some(row) = table.rows.get(id) {
                        touched.insert(id.clone(), row.clone());
                    }
                }
                let changes = mirror::plan_writes(
                    object,
                    touched.into_values().collect(),
                    writes,
                    t.mirror_seq,
                    now,
                    mirror::new_mirror_id,
                )?;
                table.apply(&changes);
                t.mirror_seq = changes.last_seq;
                Ok(changes.results)
            })
        })
    }

    fn mirror_delete<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let now = rows::now();
            self.with_tenant(tenant, "store.mirror_delete", |t| {
                let table = t.mirror.entry(object.clone()).or_default();
                let existing = rows::unique_ids(ids)
                    .into_iter()
                    .filter_map(|id| table.rows.get(id).cloned())
                    .collect();
                let changes = mirror::plan_deletes(existing, t.mirror_seq, now);
                table.apply(&changes);
                t.mirror_seq = changes.last_seq;
                Ok(changes.results.len() as u64)
            })
        })
    }

    fn mirror_get<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        ids: &'a [RecordId],
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.mirror_get", |t| {
                let Some(table) = t.mirror.get(object) else {
                    return Ok(Vec::new());
                };
                Ok(rows::unique_ids(ids)
                    .into_iter()
                    .filter_map(|id| table.live(id).cloned())
                    .collect())
            })
        })
    }

    fn mirror_changes<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        after: i64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.mirror_changes", |t| {
                let Some(table) = t.mirror.get(object) else {
                    return Ok(Vec::new());
                };
                Ok(table
                    .by_seq
                    .range(after.saturating_add(1)..)
                    .take(limit as usize)
                    .filter_map(|(_, id)| table.rows.get(id).map(|row| row.record.clone()))
                    .collect())
            })
        })
    }

    fn mirror_find<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        field: &'a str,
        values: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>> {
        Box::pin(async move { self.find_mirror(tenant, object, field, values, None) })
    }

    fn mirror_common_keys<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        field: &'a str,
        values: &'a [String],
        cap: u32,
    ) -> BoxFuture<'a, Result<Vec<String>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.mirror_common_keys", |t| {
                let Some(table) = t.mirror.get(object) else {
                    return Ok(Vec::new());
                };
                let mut counts: HashMap<String, u64> = HashMap::new();
                let wanted = mirror::find_values(field, values);
                for record in table.rows.values().map(|row| &row.record) {
                    if record.deleted {
                        continue;
                    }
                    if let Some(key) = mirror::record_key(field, &record.fields) {
                        if wanted.contains(&key) {
                            *counts.entry(key).or_default() += 1;
                        }
                    }
                }
                let mut common: Vec<String> = counts
                    .into_iter()
                    .filter(|(_, n)| *n > u64::from(cap))
                    .map(|(key, _)| key)
                    .collect();
                common.sort();
                Ok(common)
            })
        })
    }

    fn mirror_find_unlinked<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
        field: &'a str,
        values: &'a [String],
        connection: &'a ConnectionId,
    ) -> BoxFuture<'a, Result<Vec<MirrorRecord>>> {
        Box::pin(async move { self.find_mirror(tenant, object, field, values, Some(connection)) })
    }

    fn mirror_count<'a>(
        &'a self,
        tenant: &'a TenantId,
        object: &'a ObjectKind,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.mirror_count", |t| {
                Ok(t.mirror.get(object).map_or(0, |table| {
                    table.rows.values().filter(|r| !r.record.deleted).count() as u64
                }))
            })
        })
    }

    fn list_review_items<'a>(
        &'a self,
        tenant: &'a TenantId,
        filter: &'a ReviewFilter,
    ) -> BoxFuture<'a, Result<Vec<ReviewItem>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.list_review_items", |t| {
                let limit = filter.limit.unwrap_or(DEFAULT_REVIEW_LIMIT) as usize;
                Ok(t.reviews
                    .items
                    .values()
                    .filter(|r| {
                        filter
                            .connection
                            .as_ref()
                            .is_none_or(|c| *c == r.connection)
                    })
                    .filter(|r| filter.object.as_ref().is_none_or(|o| *o == r.object))
                    .filter(|r| filter.status.is_none_or(|s| s == r.status))
                    .take(limit)
                    .cloned()
                    .collect())
            })
        })
    }

    fn get_review_item<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
    ) -> BoxFuture<'a, Result<Option<ReviewItem>>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.get_review_item", |t| {
                Ok(t.reviews.items.get(&id).cloned())
            })
        })
    }

    fn resolve_review_item<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
        resolution: BTreeMap<String, ReviewChoice>,
        by: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let now = rows::now();
            self.with_tenant(tenant, "store.resolve_review_item", |t| {
                let Some(item) = t.reviews.take_pending(id) else {
                    return Ok(false);
                };
                item.status = ReviewStatus::Resolved;
                item.resolution = resolution;
                item.resolved_by = Some(by.to_owned());
                item.resolved_at = Some(now);
                item.updated_at = now;
                Ok(true)
            })
        })
    }

    fn dismiss_review_item<'a>(
        &'a self,
        tenant: &'a TenantId,
        id: i64,
        by: &'a str,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let now = rows::now();
            self.with_tenant(tenant, "store.dismiss_review_item", |t| {
                let Some(item) = t.reviews.take_pending(id) else {
                    return Ok(false);
                };
                item.status = ReviewStatus::Dismissed;
                item.resolved_by = Some(by.to_owned());
                item.resolved_at = Some(now);
                item.updated_at = now;
                Ok(true)
            })
        })
    }

    fn acquire_lease<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        Box::pin(async move {
            let now = rows::now();
            let expires_at = rows::lease_expiry(now, ttl);
            self.with_tenant(tenant, "store.acquire_lease", |t| {
                if let Some(lease) = t.leases.get(key) {
                    if lease.holder != holder && lease.expires_at > now {
                        return Ok(false);
                    }
                }
                t.leases.insert(
                    key.to_owned(),
                    Lease {
                        key: key.to_owned(),
                        holder: holder.to_owned(),
                        expires_at,
                    },
                );
                Ok(true)
            })
        })
    }

    fn release_lease<'a>(
        &'a self,
        tenant: &'a TenantId,
        key: &'a str,
        holder: &'a str,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.with_tenant(tenant, "store.release_lease", |t| {
                if t.leases
                    .get(key)
                    .is_some_and(|lease| lease.holder == holder)
                {
                    t.leases.remove(key);
                }
                Ok(())
            })
        })
    }
}
