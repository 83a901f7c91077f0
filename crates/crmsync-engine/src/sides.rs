//! The two sides of a pass: links, reading and normalising records, matching.

use std::collections::{HashMap, HashSet};

use crmsync_core::{
    CanonicalRecord, Capabilities, CrmProviderDyn, Fields, Link, MatchKey, MatchResolution, Record,
    RecordId, Result, Side, normalize_fields,
};
use serde_json::Value;

use crate::{
    Engine, PassContext,
    matching::{LookupBatch, MatchDecision, MatchProfile, decide, dedupe_batch},
    pipeline::restrict,
};

/// A create intent on the CRM side, with the fields a record it made would arrive with
/// in a pull (normalized; only fields the CRM reads back).
pub(crate) struct PendingIntent {
    source_id: RecordId,
    expected: Fields,
}

/// What match before create found for one record.
pub(crate) enum Matched {
    /// Link to this target record (its canonical fields) instead of creating.
    Link(Record, Fields),
    /// Park in the review queue; create nothing.
    Ambiguous {
        /// Candidate ids, best first.
        candidates: Vec<RecordId>,
        /// Why.
        reason: String,
    },
    /// Neither create nor link: the record is a candidate of a record parked for review
    /// on the other side, and waits for that decision; or its create was sent and the
    /// answer lost, and it waits for a pull to find what the create made.
    Held,
    /// Link to this target record: it is the source of a create whose answer was lost,
    /// and the source record is what that create made (settles the intent).
    Intended(Record, Fields),
}

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
        let mut fields = restrict(&record.fields, &pass.synced);
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

    /// Match before create: for each unlinked source record, the matcher's decision
    /// among the target records one batched `find` returned for the page's look-up keys
    /// (normalized email, E.164 phones, last name). Duplicates inside the page are
    /// found first: only the first of a group may link or create; the others wait in
    /// the review queue.
    pub(crate) async fn match_before_create(
        &self,
        pass: &PassContext<'_>,
        target: Side,
        unlinked: &[(Record, CanonicalRecord)],
    ) -> Result<HashMap<usize, Matched>> {
        let config = &self.matching;
        let profiles: Vec<MatchProfile> = unlinked
            .iter()
            .map(|(_, c)| MatchProfile::from_fields(&c.fields, config))
            .collect();
        let mut out = HashMap::new();
        // In-page duplicates: the same person twice in one page.
        for group in dedupe_batch(config, &profiles) {
            if let [first, rest @ ..] = group.as_slice() {
                for other in rest {
                    out.insert(
                        *other,
                        Matched::Ambiguous {
                            candidates: vec![unlinked[*first].0.id.clone()],
                            reason: "the same person appears twice in one page of changes".into(),
                        },
                    );
                }
            }
        }
        let provider = self.provider(pass, target);
        let caps = provider.capabilities(&pass.job.object);
        if !pass.decided.is_empty() {
            // A person's decisions replace the matcher's for their records.
            self.apply_decisions(pass, target, unlinked, &mut out)
                .await?;
        }
        // Creates whose answer was lost: on a pull, the records they made are linked
        // to their sources; on a push, their sources wait for that pull.
        self.settle_lost_creates(pass, target, unlinked, &mut out)
            .await?;
        // Target records found, by the normalized e-mail address they hold.
        let mut holders: HashMap<String, RecordId> = HashMap::new();
        if caps.find {
            self.find_and_decide(pass, target, unlinked, &profiles, &mut holders, &mut out)
                .await?;
        }
        if caps.unique_email {
            guard_unique_emails(&profiles, unlinked, &holders, &mut out);
        }
        // Records about to be created that a record parked on the other side may be:
        // creating them would make the person's decision a duplicate.
        let creating: Vec<usize> = (0..unlinked.len())
            .filter(|i| !out.contains_key(i) && !pass.decided.contains_key(&unlinked[*i].0.id))
            .collect();
        if !creating.is_empty() {
            let held = self.held_for_review(pass, target).await?;
            for i in creating {
                if held.contains(&unlinked[i].0.id) {
                    out.insert(i, Matched::Held);
                }
            }
        }
        Ok(out)
    }

    /// Pending create intents of the pass's connection and object, read and normalized
    /// once per pass: each with the fields the CRM reads back, formatted as a record
    /// arriving from it is (so that a pull compares like with like).
    async fn create_intents<'p>(&self, pass: &'p PassContext<'_>) -> Result<&'p [PendingIntent]> {
        let list = pass
            .intents
            .get_or_try_init(|| async {
                let intents = self
                    .store
                    .list_create_intents(&pass.job.tenant, &pass.link_key)
                    .await?;
                Ok::<_, crmsync_core::Error>(
                    intents
                        .into_iter()
                        .filter(|intent| intent.target == Side::Remote)
                        .map(|intent| {
                            let probe = Record::new(
                                intent.source_id.clone(),
                                pass.job.object.clone(),
                                intent.fields.clone(),
                            );
                            let mut expected = self.normalize_local(pass, &probe);
                            expected.retain(|name, value| {
                                pass.inbound.contains(name) && !value.is_null()
                            });
                            PendingIntent {
                                source_id: intent.source_id,
                                expected,
                            }
                        })
                        .collect(),
                )
            })
            .await?;
        Ok(list.as_slice())
    }

    /// Creates on the CRM whose answer was lost (intents): a CRM record arriving
    /// unlinked in a pull with every field the create wrote is what it made, and is
    /// linked to the create's source; an application record whose create is pending
    /// that way is held on a push (not created twice) until a pull settles it.
    async fn settle_lost_creates(
        &self,
        pass: &PassContext<'_>,
        target: Side,
        unlinked: &[(Record, CanonicalRecord)],
        out: &mut HashMap<usize, Matched>,
    ) -> Result<()> {
        let intents = self.create_intents(pass).await?;
        if intents.is_empty() {
            return Ok(());
        }
        if target == Side::Remote {
            let pending: HashSet<&RecordId> = intents.iter().map(|i| &i.source_id).collect();
            for (i, (record, _)) in unlinked.iter().enumerate() {
                if !out.contains_key(&i) && pending.contains(&record.id) {
                    out.insert(i, Matched::Held);
                }
            }
            return Ok(());
        }
        // A pull: which intent each unlinked CRM record fulfils (each intent once).
        let mut wanted: Vec<(usize, RecordId)> = Vec::new();
        {
            let mut used = pass.used_intents.lock().unwrap_or_else(|p| p.into_inner());
            for (i, (record, canonical)) in unlinked.iter().enumerate() {
                if out.contains_key(&i) {
                    continue;
                }
                let probe = Record::new(
                    record.id.clone(),
                    record.object.clone(),
                    canonical.fields.clone(),
                );
                let arrived = self.normalize_local(pass, &probe);
                let fulfils = intents.iter().find(|intent| {
                    !intent.expected.is_empty()
                        && !used.contains(&intent.source_id)
                        && intent
                            .expected
                            .iter()
                            .all(|(name, value)| arrived.get(name) == Some(value))
                });
                if let Some(intent) = fulfils {
                    used.insert(intent.source_id.clone());
                    wanted.push((i, intent.source_id.clone()));
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let ids: Vec<RecordId> = wanted.iter().map(|(_, id)| id.clone()).collect();
        let sources = self.read_canonical(pass, Side::Local, &ids).await?;
        for (i, source_id) in wanted {
            // A source deleted since: the CRM record is new to the application.
            if let Some((record, fields)) = sources.get(&source_id) {
                out.insert(i, Matched::Intended(record.clone(), fields.clone()));
            }
        }
        Ok(())
    }

    /// After a whole pull that started at `started`: intents written before it (less
    /// [`Engine::with_intent_settle`]) whose records the pull did not find were not
    /// applied by the CRM, so they are dropped and their records may be created again.
    pub(crate) async fn drop_unfulfilled_intents(
        &self,
        pass: &PassContext<'_>,
        started: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        let before = started - self.intent_settle;
        let job = pass.job;
        let dropped = self
            .store
            .drop_create_intents(&job.tenant, &pass.link_key, Side::Remote, before)
            .await?;
        if dropped > 0 {
            tracing::info!(
                connection = %job.connection,
                object = %job.object,
                dropped,
                "creates whose answer was lost were not applied; they will be sent again"
            );
        }
        Ok(())
    }

    /// Source records named as candidates by pending ambiguous-match items parked from
    /// `target` (the other side), read once per pass.
    async fn held_for_review<'p>(
        &self,
        pass: &'p PassContext<'_>,
        target: Side,
    ) -> Result<&'p std::collections::BTreeSet<RecordId>> {
        pass.held
            .get_or_try_init(|| async {
                let filter = crmsync_core::ReviewFilter {
                    connection: Some(pass.job.connection.clone()),
                    object: Some(pass.job.object.clone()),
                    status: Some(crmsync_core::ReviewStatus::Pending),
                    limit: Some(100_000),
                };
                let items = self
                    .store
                    .list_review_items(&pass.job.tenant, &filter)
                    .await?;
                Ok(items
                    .into_iter()
                    .filter(|item| item.kind == crmsync_core::ReviewKind::AmbiguousMatch)
                    .filter(|item| match target {
                        Side::Local => item.local_id.is_some(),
                        Side::Remote => item.remote_id.is_some(),
                    })
                    .flat_map(|item| item.candidates)
                    .collect())
            })
            .await
    }

    /// Looks the page's keys up on the target with batched `find`s and decides each
    /// undecided record among the candidates found for it.
    async fn find_and_decide(
        &self,
        pass: &PassContext<'_>,
        target: Side,
        unlinked: &[(Record, CanonicalRecord)],
        profiles: &[MatchProfile],
        holders: &mut HashMap<String, RecordId>,
        out: &mut HashMap<usize, Matched>,
    ) -> Result<()> {
        let config = &self.matching;
        let provider = self.provider(pass, target);
        let caps = provider.capabilities(&pass.job.object);
        let batch = LookupBatch::new(profiles);
        let mut keys = Vec::new();
        // For each key sent, the batch's keys it stands for (name keys of one last name
        // become one last-name key for providers without name keys).
        let mut key_of: Vec<Vec<usize>> = Vec::new();
        let mut sent: HashMap<MatchKey, usize> = HashMap::new();
        for (k, key) in batch.keys().iter().enumerate() {
            if let Some(translated) = self.key_for(pass, target, &caps, key) {
                let at = *sent.entry(translated.clone()).or_insert_with(|| {
                    keys.push(translated);
                    key_of.push(Vec::new());
                    keys.len() - 1
                });
                key_of[at].push(k);
            }
        }
        if keys.is_empty() {
            return Ok(());
        }
        let fields = match target {
            Side::Remote => pass.binding.mapper.remote_fields(&pass.map_context()),
            Side::Local => Vec::new(),
        };
        let chunk = caps.max_read_batch.max(1);
        let mut found: Vec<Record> = Vec::new();
        let mut index_of: HashMap<RecordId, usize> = HashMap::new();
        let mut hits = Vec::new();
        for (start, keys) in keys.chunks(chunk).enumerate().map(|(n, k)| (n * chunk, k)) {
            // Where e-mail holders matter, linked holders count too.
            let found_now = if caps.unique_email {
                provider.find(&pass.job.object, keys, &fields).await?
            } else {
                provider
                    .find_unlinked(&pass.job.object, keys, &fields, &pass.job.connection)
                    .await?
            };
            for m in found_now {
                if m.record.deleted {
                    continue;
                }
                let Some(originals) = key_of.get(start + m.key_index) else {
                    continue;
                };
                let at = *index_of.entry(m.record.id.clone()).or_insert_with(|| {
                    found.push(m.record.clone());
                    found.len() - 1
                });
                hits.extend(originals.iter().map(|original| (*original, at)));
            }
        }
        // Candidates already linked to another record are not free to link again.
        let ids: Vec<RecordId> = found.iter().map(|r| r.id.clone()).collect();
        let taken: HashSet<RecordId> = self.links(pass, target, &ids).await?.into_keys().collect();
        let canon: Vec<Option<Fields>> = found
            .iter()
            .map(|r| self.canonical_of(pass, target, r))
            .collect();
        let candidate_profiles: Vec<Option<MatchProfile>> = canon
            .iter()
            .map(|c| c.as_ref().map(|f| MatchProfile::from_fields(f, config)))
            .collect();
        for (record, profile) in found.iter().zip(&candidate_profiles) {
            if let Some(email) = profile.as_ref().and_then(MatchProfile::email) {
                holders
                    .entry(email.to_owned())
                    .or_insert_with(|| record.id.clone());
            }
        }
        let mut claimed: HashSet<RecordId> = out
            .values()
            .filter_map(|m| match m {
                Matched::Link(record, _) | Matched::Intended(record, _) => Some(record.id.clone()),
                Matched::Ambiguous { .. } | Matched::Held => None,
            })
            .collect();
        for (owner, candidates) in batch.route(&hits).into_iter().enumerate() {
            if out.contains_key(&owner) || pass.decided.contains_key(&unlinked[owner].0.id) {
                continue;
            }
            let usable: Vec<usize> = candidates
                .into_iter()
                .filter(|c| !taken.contains(&found[*c].id) && candidate_profiles[*c].is_some())
                .collect();
            if usable.is_empty() {
                continue;
            }
            let pool: Vec<MatchProfile> = usable
                .iter()
                .filter_map(|c| candidate_profiles[*c].clone())
                .collect();
            match decide(config, &profiles[owner], &pool) {
                MatchDecision::Link(best) => {
                    let c = usable[best.index];
                    if claimed.insert(found[c].id.clone()) {
                        if let Some(fields) = canon[c].clone() {
                            out.insert(owner, Matched::Link(found[c].clone(), fields));
                        }
                    } else {
                        out.insert(
                            owner,
                            Matched::Ambiguous {
                                candidates: vec![found[c].id.clone()],
                                reason: "another record of this page matched the same counterpart"
                                    .into(),
                            },
                        );
                    }
                }
                MatchDecision::Ambiguous(scored) => {
                    let candidates: Vec<RecordId> = scored
                        .iter()
                        .map(|s| found[usable[s.index]].id.clone())
                        .collect();
                    let detail: Vec<String> = scored
                        .iter()
                        .map(|s| {
                            format!(
                                "{} ({:?}, {:.2})",
                                found[usable[s.index]].id, s.rule, s.confidence
                            )
                        })
                        .collect();
                    out.insert(
                        owner,
                        Matched::Ambiguous {
                            candidates,
                            reason: format!(
                                "possible matches need a person: {}",
                                detail.join(", ")
                            ),
                        },
                    );
                }
                MatchDecision::New => {}
            }
        }
        Ok(())
    }

    /// Turns a person's [`MatchResolution::LinkTo`] decisions into links, when the chosen
    /// record still exists and is not linked to another record meanwhile; otherwise the
    /// record is parked again, saying why. ([`MatchResolution::CreateNew`] needs nothing:
    /// a record without a match is created.)
    async fn apply_decisions(
        &self,
        pass: &PassContext<'_>,
        target: Side,
        unlinked: &[(Record, CanonicalRecord)],
        out: &mut HashMap<usize, Matched>,
    ) -> Result<()> {
        let chosen: Vec<(usize, &RecordId)> = unlinked
            .iter()
            .enumerate()
            .filter_map(|(i, (record, _))| match pass.decided.get(&record.id) {
                Some(MatchResolution::LinkTo(id)) => Some((i, id)),
                _ => None,
            })
            .collect();
        // A person's decision is theirs: the in-page duplicate check does not apply.
        for (i, (record, _)) in unlinked.iter().enumerate() {
            if pass.decided.contains_key(&record.id) {
                out.remove(&i);
            }
        }
        if chosen.is_empty() {
            return Ok(());
        }
        let ids: Vec<RecordId> = chosen.iter().map(|(_, id)| (*id).clone()).collect();
        let fields = match target {
            Side::Remote => pass.binding.mapper.remote_fields(&pass.map_context()),
            Side::Local => Vec::new(),
        };
        let found: HashMap<RecordId, Record> = self
            .provider(pass, target)
            .read(&pass.job.object, &ids, &fields)
            .await?
            .into_iter()
            .filter(|r| !r.deleted)
            .map(|r| (r.id.clone(), r))
            .collect();
        let taken = self.links(pass, target, &ids).await?;
        let mut claimed = HashSet::new();
        for (i, id) in chosen {
            let canon = found
                .get(id)
                .and_then(|r| self.canonical_of(pass, target, r));
            let matched = match (found.get(id), canon) {
                (Some(record), Some(fields)) if !taken.contains_key(id) && claimed.insert(id) => {
                    Matched::Link(record.clone(), fields)
                }
                (Some(_), Some(_)) => Matched::Ambiguous {
                    candidates: vec![id.clone()],
                    reason: format!(
                        "the record chosen by a person, {id}, is linked to another record meanwhile"
                    ),
                },
                _ => Matched::Ambiguous {
                    candidates: vec![id.clone()],
                    reason: format!("the record chosen by a person, {id}, no longer exists"),
                },
            };
            out.insert(i, matched);
        }
        Ok(())
    }

    /// A look-up key in the target's terms: email and phone keys mean the same
    /// everywhere; field keys are canonical names, translated through the mapping for
    /// the CRM.
    fn key_for(
        &self,
        pass: &PassContext<'_>,
        target: Side,
        caps: &Capabilities,
        key: &MatchKey,
    ) -> Option<MatchKey> {
        // A provider without name keys is asked for the last name.
        let last_name_key;
        let key = match key {
            MatchKey::Name { last_name, .. } if !caps.name_keys => {
                last_name_key = MatchKey::Field {
                    name: "last_name".to_owned(),
                    value: last_name.clone(),
                };
                &last_name_key
            }
            other => other,
        };
        match (key, target) {
            (MatchKey::Field { name, value }, Side::Remote) => {
                let mut patch = Fields::new();
                patch.insert(name.clone(), Value::String(value.clone()));
                let mut ctx = pass.map_context();
                ctx.skip_validation = true;
                let remote = pass.binding.mapper.to_remote(&ctx, "match", &patch).ok()?;
                let mut it = remote.into_iter();
                match (it.next(), it.next()) {
                    (Some((remote_name, _)), None) => Some(MatchKey::Field {
                        name: remote_name,
                        value: value.clone(),
                    }),
                    _ => None,
                }
            }
            _ => Some(key.clone()),
        }
    }
}

/// Where the target keeps e-mail addresses unique, a record about to be created with an
/// address the target already holds (for someone the matcher says is another person),
/// or with the address of another record of the page being created, would merge two
/// people (or be refused): it is parked for a person instead.
fn guard_unique_emails(
    profiles: &[MatchProfile],
    unlinked: &[(Record, CanonicalRecord)],
    holders: &HashMap<String, RecordId>,
    out: &mut HashMap<usize, Matched>,
) {
    let mut creating: HashMap<&str, &RecordId> = HashMap::new();
    for (i, profile) in profiles.iter().enumerate() {
        if out.contains_key(&i) {
            continue;
        }
        let Some(email) = profile.email() else {
            continue;
        };
        if let Some(holder) = holders.get(email) {
            out.insert(
                i,
                Matched::Ambiguous {
                    candidates: vec![holder.clone()],
                    reason: format!(
                        "the CRM keeps e-mail addresses unique and {holder} has this one, but \
                         does not look like the same person: creating would merge two people"
                    ),
                },
            );
        } else if let Some(first) = creating.get(email) {
            out.insert(
                i,
                Matched::Ambiguous {
                    candidates: vec![(*first).clone()],
                    reason: "another record of this page with the same e-mail address is being \
                             created, and the CRM keeps e-mail addresses unique"
                        .into(),
                },
            );
        } else if let Some((record, _)) = unlinked.get(i) {
            creating.insert(email, &record.id);
        }
    }
}
