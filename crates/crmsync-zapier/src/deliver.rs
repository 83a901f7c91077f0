//! The [`Deliverer`]: record changes POSTed to every subscribed REST-hook target.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use aws_lc_rs::digest::{SHA256, digest};
use chrono::Utc;
use crmsync_core::{
    CanonicalRecord, ChangeKind, ChangesRequest, CrmProviderDyn, DeadLetter, DeadLetterStatus,
    Direction, Error, ErrorKind, Link, LinkKey, ObjectKind, PageCommit, RecordId, Result,
    SyncStore, TenantId, fields_equal, normalize_fields,
};
use crmsync_http::ApiClient;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::{
    DeliveryConfig, DeliveryStart, EventKind, RecentEvents, RecordEvent, Subscription,
    SubscriptionStore,
    core::{Target, is_gone},
    pacing::ZapierPacer,
};

/// How long a delivery run holds its lease before renewing it.
const LEASE_TTL: Duration = Duration::from_secs(15 * 60);

/// What one delivery run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Events produced (one per record change).
    pub events: u64,
    /// Successful POSTs (one per event and target).
    pub delivered: u64,
    /// Changes that changed nothing since the last delivery, and deletes of records
    /// never delivered.
    pub unchanged: u64,
    /// Records taken as the starting point without being delivered
    /// ([`DeliveryStart::Now`]).
    pub baseline: u64,
    /// Deliveries that failed for good and went to the dead-letter queue.
    pub dead_letters: u64,
    /// Targets that answered 410 Gone and were unsubscribed.
    pub unsubscribed: u64,
    /// Deliveries not attempted because their target is gone.
    pub dropped: u64,
    /// Dead letters delivered by a replay.
    pub replayed: u64,
    /// Change pages read.
    pub pages: u64,
}

impl DeliveryReport {
    fn add(&mut self, other: &DeliveryReport) {
        self.events += other.events;
        self.delivered += other.delivered;
        self.unchanged += other.unchanged;
        self.baseline += other.baseline;
        self.dead_letters += other.dead_letters;
        self.unsubscribed += other.unsubscribed;
        self.dropped += other.dropped;
        self.replayed += other.replayed;
        self.pages += other.pages;
    }
}

/// A target's client: the split URL and an [`ApiClient`] (retries, breaker, counters).
struct TargetClient {
    target: Target,
    client: ApiClient,
}

/// A tenant's target, by the SHA-256 of its URL (the URL itself is never a key).
type TargetKey = (TenantId, [u8; 32]);

/// What delivering to one target produced.
#[derive(Default)]
struct TargetOutcome {
    report: DeliveryReport,
    dead_letters: Vec<DeadLetter>,
}

/// Delivers record-change events to the REST-hook targets Zapier subscribed.
///
/// - **Source.** [`Deliverer::deliver_changes`] reads an application's change feed
///   (any [`CrmProviderDyn`] with `change_feed`, typically the store's
///   `MirrorProvider`) from its checkpoint; [`Deliverer::deliver`] takes events the
///   application made itself. Created and updated are told apart by the
///   [`SyncStore`]'s links under [`DeliveryConfig::connection`]: a record with no link
///   is new; one whose fields equal its link's base changed nothing and is skipped.
///   Links, dead letters and the cursor of each page commit in one store transaction.
/// - **Order.** Each target gets its events one at a time in feed order, so the
///   changes of a record arrive in order; targets are served concurrently. Once an
///   event of a record fails for good, that record's later events to the same target
///   go to the dead-letter queue behind it instead of overtaking it.
/// - **Limits.** All of a tenant's deliveries share one pacer under Zapier's published
///   throttle (30 per second, 10,000 per 5 minutes). 429s are retried after
///   `Retry-After`, 5xx and timeouts with exponential backoff
///   ([`DeliveryConfig::retry`]); then the event becomes a dead letter (payload: the
///   event and the subscription id, never the URL), replayable with
///   [`Deliverer::replay_dead_letters`].
/// - **410 Gone.** The target unsubscribed itself (Zapier's documented REST-hook
///   behaviour): its subscription is removed and its remaining events dropped.
/// - **Guarantee.** At least once: a crash between a POST and the page commit, or a
///   5xx after Zapier took the event, sends it again; event ids
///   ([`RecordEvent::event_id`]) let receivers de-duplicate.
pub struct Deliverer {
    store: Arc<dyn SyncStore>,
    subscriptions: Arc<dyn SubscriptionStore>,
    config: DeliveryConfig,
    clients: Mutex<HashMap<TargetKey, Arc<TargetClient>>>,
    recent: RecentEvents,
    holder: String,
}

impl fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deliverer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn url_hash(subscription: &Subscription) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(
        digest(&SHA256, subscription.target_url.expose_secret().as_bytes()).as_ref(),
    );
    out
}

impl Deliverer {
    /// A deliverer keeping its state in `store` and reading targets from
    /// `subscriptions`.
    pub fn new(
        store: Arc<dyn SyncStore>,
        subscriptions: Arc<dyn SubscriptionStore>,
        config: DeliveryConfig,
    ) -> Self {
        Self {
            store,
            subscriptions,
            config,
            clients: Mutex::default(),
            recent: RecentEvents::default(),
            holder: format!(
                "zapier-deliverer-{}-{}",
                std::process::id(),
                Utc::now().timestamp_micros()
            ),
        }
    }

    /// Records recent events into `recent` (to share it with
    /// [`ZapierState::with_recent`](crate::ZapierState::with_recent)).
    pub fn with_recent(mut self, recent: RecentEvents) -> Self {
        self.recent = recent;
        self
    }

    /// The recent events this deliverer records (the samples of `performList`).
    pub fn recent(&self) -> RecentEvents {
        self.recent.clone()
    }

    /// The settings.
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// Reads `source`'s change feed of `object` from the stored checkpoint to its end
    /// and delivers every change to the tenant's subscribed targets. One run per
    /// tenant and object at a time (a store lease); a second one gets
    /// [`ErrorKind::Busy`].
    pub async fn deliver_changes(
        &self,
        tenant: &TenantId,
        source: &dyn CrmProviderDyn,
        object: &ObjectKind,
    ) -> Result<DeliveryReport> {
        if !source.capabilities(object).change_feed {
            return Err(Error::new(
                ErrorKind::Config,
                format!("the source has no change feed for {object}"),
            )
            .with_operation("zapier.deliver_changes"));
        }
        let lease_key = format!("zapier/{}/{}", self.config.connection, object);
        if !self
            .store
            .acquire_lease(tenant, &lease_key, &self.holder, LEASE_TTL)
            .await?
        {
            return Err(Error::new(
                ErrorKind::Busy,
                format!("another worker is delivering {object} events"),
            )
            .with_tenant(tenant));
        }
        let result = self.drain(tenant, source, object, &lease_key).await;
        let _ = self
            .store
            .release_lease(tenant, &lease_key, &self.holder)
            .await;
        result
    }

    async fn drain(
        &self,
        tenant: &TenantId,
        source: &dyn CrmProviderDyn,
        object: &ObjectKind,
        lease_key: &str,
    ) -> Result<DeliveryReport> {
        let key = LinkKey {
            connection: self.config.connection.clone(),
            object: object.clone(),
        };
        let checkpoint = self.store.checkpoint(tenant, &key, Direction::Push).await?;
        let baseline = checkpoint.is_none() && self.config.start == DeliveryStart::Now;
        let mut cursor = checkpoint.map(|c| c.cursor);
        let mut report = DeliveryReport::default();
        let mut renewed = Instant::now();
        loop {
            let page = source
                .changes(
                    object,
                    ChangesRequest {
                        cursor: cursor.clone(),
                        page_size: self.config.page_size.max(1),
                        full: false,
                        since: None,
                        fields: Vec::new(),
                    },
                )
                .await?;
            let mut commit = PageCommit::new(self.config.connection.clone(), object.clone());
            let events = self
                .events_of(
                    tenant,
                    &key,
                    page.changes,
                    baseline,
                    &mut commit,
                    &mut report,
                )
                .await?;
            if !events.is_empty() {
                let outcome = self.send_events(tenant, object, &events).await?;
                report.add(&outcome.report);
                commit.dead_letters = outcome.dead_letters;
            }
            if let Some(next) = &page.next {
                commit.checkpoint = Some((Direction::Push, next.clone()));
            }
            self.store.commit_page(tenant, commit).await?;
            report.pages += 1;
            if renewed.elapsed() >= LEASE_TTL / 3 {
                self.store
                    .acquire_lease(tenant, lease_key, &self.holder, LEASE_TTL)
                    .await?;
                renewed = Instant::now();
            }
            if page.complete || page.next.is_none() {
                return Ok(report);
            }
            cursor = page.next;
        }
    }

    /// Turns a page of changes into events, and records the new link state (the last
    /// delivered fields per record) in `commit`.
    async fn events_of(
        &self,
        tenant: &TenantId,
        key: &LinkKey,
        changes: Vec<crmsync_core::Change>,
        baseline: bool,
        commit: &mut PageCommit,
        report: &mut DeliveryReport,
    ) -> Result<Vec<RecordEvent>> {
        let mut ids: Vec<RecordId> = changes.iter().map(|c| c.record.id.clone()).collect();
        ids.sort();
        ids.dedup();
        let mut links: HashMap<RecordId, Link> = self
            .store
            .links_by_local(tenant, key, &ids)
            .await?
            .into_iter()
            .map(|l| (l.local_id.clone(), l))
            .collect();
        // The final link state of each record this page touched, in first-seen order.
        let mut touched: Vec<RecordId> = Vec::new();
        let mut state: HashMap<RecordId, Option<Link>> = HashMap::new();
        let mut events = Vec::new();
        let now = Utc::now();
        for change in changes {
            let record = change.record;
            let at = record.modified_at.unwrap_or(now);
            let id = record.id.clone();
            let event = if change.kind == ChangeKind::Upsert && !record.deleted {
                let fields = normalize_fields(record.fields);
                let hash = CanonicalRecord::new(fields.clone()).content_hash();
                let kind = match links.get(&id) {
                    Some(link) if link.base_hash == hash && fields_equal(&link.base, &fields) => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(_) => EventKind::Updated,
                    None => EventKind::Created,
                };
                let link = Link {
                    local_id: id.clone(),
                    remote_id: id.clone(),
                    base: fields.clone(),
                    base_hash: hash,
                    remote_modified_at: None,
                    local_modified_at: record.modified_at,
                    synced_at: now,
                };
                links.insert(id.clone(), link.clone());
                if state.insert(id.clone(), Some(link)).is_none() {
                    touched.push(id.clone());
                }
                RecordEvent::new(record.object, kind, id, fields).at(at)
            } else {
                let Some(link) = links.remove(&id) else {
                    report.unchanged += 1;
                    continue;
                };
                if state.insert(id.clone(), None).is_none() {
                    touched.push(id.clone());
                }
                RecordEvent::new(record.object, EventKind::Deleted, id, link.base).at(at)
            };
            if baseline {
                report.baseline += 1;
                if event.kind == EventKind::Created {
                    self.recent.push(tenant, &event);
                }
            } else {
                self.recent.push(tenant, &event);
                events.push(event);
            }
        }
        for id in touched {
            match state.remove(&id) {
                Some(Some(link)) => commit.upsert_links.push(link),
                Some(None) => commit.delete_links.push(id),
                None => {}
            }
        }
        report.events += events.len() as u64;
        Ok(events)
    }

    /// Delivers events the application made itself (no change feed, no links): each
    /// to every live subscription of its tenant, object and kind, in order per
    /// record. Dead letters are stored before this returns.
    pub async fn deliver(
        &self,
        tenant: &TenantId,
        events: Vec<RecordEvent>,
    ) -> Result<DeliveryReport> {
        let mut report = DeliveryReport::default();
        let mut objects: Vec<ObjectKind> = Vec::new();
        let mut by_object: HashMap<ObjectKind, Vec<RecordEvent>> = HashMap::new();
        for event in events {
            self.recent.push(tenant, &event);
            report.events += 1;
            let list = by_object.entry(event.object.clone()).or_insert_with(|| {
                objects.push(event.object.clone());
                Vec::new()
            });
            list.push(event);
        }
        for object in objects {
            let Some(events) = by_object.remove(&object) else {
                continue;
            };
            let outcome = self.send_events(tenant, &object, &events).await?;
            report.add(&outcome.report);
            if !outcome.dead_letters.is_empty() {
                let mut commit = PageCommit::new(self.config.connection.clone(), object);
                commit.dead_letters = outcome.dead_letters;
                self.store.commit_page(tenant, commit).await?;
            }
        }
        Ok(report)
    }

    /// Sends events to every live subscription of the tenant and object.
    async fn send_events(
        &self,
        tenant: &TenantId,
        object: &ObjectKind,
        events: &[RecordEvent],
    ) -> Result<TargetOutcome> {
        let now = Utc::now();
        let subscriptions: Vec<Subscription> = self
            .subscriptions
            .list(tenant, object)
            .await?
            .into_iter()
            .filter(|s| s.is_live(now))
            .collect();
        if subscriptions.is_empty() {
            return Ok(TargetOutcome::default());
        }
        let mut blocked = self.blocked(tenant, object).await?;
        let deliveries = subscriptions.iter().map(|subscription| {
            let mine: Vec<&RecordEvent> = events
                .iter()
                .filter(|e| subscription.event.matches(e.kind))
                .collect();
            let held = blocked.remove(&subscription.id).unwrap_or_default();
            self.deliver_to(tenant, subscription, mine, held)
        });
        let mut total = TargetOutcome::default();
        for outcome in futures::future::join_all(deliveries).await {
            total.report.add(&outcome.report);
            total.dead_letters.extend(outcome.dead_letters);
        }
        Ok(total)
    }

    /// Records with a pending dead letter, per subscription: their later events wait
    /// behind it, so a replay delivers them in order.
    async fn blocked(
        &self,
        tenant: &TenantId,
        object: &ObjectKind,
    ) -> Result<HashMap<String, HashSet<RecordId>>> {
        let mut out: HashMap<String, HashSet<RecordId>> = HashMap::new();
        let letters = self
            .store
            .list_dead_letters(tenant, Some(DeadLetterStatus::Pending), 10_000)
            .await?;
        for letter in letters {
            if letter.connection != self.config.connection || &letter.object != object {
                continue;
            }
            if let Some(sub) = letter
                .payload
                .get("subscription_id")
                .and_then(Value::as_str)
            {
                out.entry(sub.to_owned())
                    .or_default()
                    .insert(letter.record_id);
            }
        }
        Ok(out)
    }

    /// One target, its events in order. Records in `held` already wait in the
    /// dead-letter queue for this target; their events queue up behind.
    async fn deliver_to(
        &self,
        tenant: &TenantId,
        subscription: &Subscription,
        events: Vec<&RecordEvent>,
        held: HashSet<RecordId>,
    ) -> TargetOutcome {
        let mut out = TargetOutcome::default();
        if events.is_empty() {
            return out;
        }
        let target = match self.client(tenant, subscription) {
            Ok(t) => t,
            Err(error) => {
                for event in events {
                    out.dead_letters.push(self.dead_letter(
                        subscription,
                        &event.to_json(),
                        &event.record_id,
                        &error,
                        0,
                    ));
                }
                out.report.dead_letters = out.dead_letters.len() as u64;
                return out;
            }
        };
        let pacer = ZapierPacer::new(
            tenant.as_str(),
            self.config.connection.as_str(),
            &self.config.limits,
        );
        let mut failed: HashMap<RecordId, String> = held
            .into_iter()
            .map(|id| (id, "a pending dead letter".to_owned()))
            .collect();
        for (i, event) in events.iter().enumerate() {
            let body = event.to_json();
            if let Some(first) = failed.get(&event.record_id) {
                let held = Error::new(
                    ErrorKind::Interrupted,
                    format!("held back behind an earlier failed event of this record: {first}"),
                );
                out.dead_letters.push(self.dead_letter(
                    subscription,
                    &body,
                    &event.record_id,
                    &held,
                    0,
                ));
                continue;
            }
            let before = target.client.stats().requests();
            match self.post(&target, &pacer, &body).await {
                Ok(()) => out.report.delivered += 1,
                Err(error) if is_gone(&error) => {
                    self.unsubscribe_gone(tenant, subscription).await;
                    out.report.unsubscribed += 1;
                    out.report.dropped += (events.len() - i) as u64;
                    break;
                }
                Err(error) => {
                    let attempts = target.client.stats().requests().saturating_sub(before);
                    tracing::info!(
                        tenant = %tenant,
                        subscription = %subscription.id,
                        record = %event.record_id,
                        kind = %error.kind(),
                        "zapier delivery sent to the dead-letter queue"
                    );
                    failed.insert(event.record_id.clone(), error.kind().as_str().to_owned());
                    out.dead_letters.push(self.dead_letter(
                        subscription,
                        &body,
                        &event.record_id,
                        &error,
                        u32::try_from(attempts).unwrap_or(u32::MAX),
                    ));
                }
            }
        }
        out.report.dead_letters = out.dead_letters.len() as u64;
        out
    }

    async fn post(&self, target: &TargetClient, pacer: &ZapierPacer, body: &Value) -> Result<()> {
        let request = target.target.post("zapier.deliver", body)?;
        pacer.ready().await;
        target.client.send(&request).await.map(|_| ())
    }

    /// The (cached) client of a subscription's target.
    fn client(&self, tenant: &TenantId, subscription: &Subscription) -> Result<Arc<TargetClient>> {
        let key = (tenant.clone(), url_hash(subscription));
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let target = Target::parse(&subscription.target_url)?;
        let client = target.client(
            tenant.as_str(),
            self.config.connection.as_str(),
            self.config.retry,
            self.config.timeout,
        )?;
        let made = Arc::new(TargetClient { target, client });
        clients.insert(key, made.clone());
        Ok(made)
    }

    /// Removes a subscription whose target answered 410 Gone.
    async fn unsubscribe_gone(&self, tenant: &TenantId, subscription: &Subscription) {
        tracing::info!(
            tenant = %tenant,
            subscription = %subscription.id,
            "zapier target answered 410 Gone; unsubscribed"
        );
        if let Err(error) = self.subscriptions.remove(tenant, &subscription.id).await {
            tracing::warn!(tenant = %tenant, subscription = %subscription.id, %error, "cannot remove a gone subscription");
        }
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.remove(&(tenant.clone(), url_hash(subscription)));
    }

    fn dead_letter(
        &self,
        subscription: &Subscription,
        body: &Value,
        record_id: &RecordId,
        error: &Error,
        attempts: u32,
    ) -> DeadLetter {
        let now = Utc::now();
        DeadLetter {
            id: None,
            run_id: None,
            connection: self.config.connection.clone(),
            object: subscription.object.clone(),
            direction: Direction::Push,
            record_id: record_id.clone(),
            payload: json!({ "subscription_id": subscription.id, "event": body }),
            error_kind: error.kind().as_str().to_owned(),
            error_message: error.to_string(),
            field: error.context().field.clone(),
            rule: error.context().rule.clone(),
            attempts: attempts.max(1),
            status: DeadLetterStatus::Pending,
            first_failed_at: now,
            last_failed_at: now,
        }
    }

    /// Delivers this deliverer's pending dead letters again, oldest first, in order
    /// per record and target. Delivered ones become `replayed`; those whose
    /// subscription is gone become `discarded`; failures stay pending with one more
    /// attempt counted.
    pub async fn replay_dead_letters(&self, tenant: &TenantId) -> Result<DeliveryReport> {
        let letters: Vec<DeadLetter> = self
            .store
            .list_dead_letters(tenant, Some(DeadLetterStatus::Pending), 10_000)
            .await?
            .into_iter()
            .filter(|d| d.connection == self.config.connection)
            .collect();
        let mut report = DeliveryReport::default();
        let mut order: Vec<String> = Vec::new();
        let mut by_subscription: HashMap<String, Vec<DeadLetter>> = HashMap::new();
        for letter in letters {
            let sub = letter
                .payload
                .get("subscription_id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            by_subscription
                .entry(sub.clone())
                .or_insert_with(|| {
                    order.push(sub);
                    Vec::new()
                })
                .push(letter);
        }
        let now = Utc::now();
        for sub_id in order {
            let Some(letters) = by_subscription.remove(&sub_id) else {
                continue;
            };
            let subscription = self
                .subscriptions
                .get(tenant, &sub_id)
                .await?
                .filter(|s| s.is_live(now));
            let Some(subscription) = subscription else {
                for letter in &letters {
                    if let Some(id) = letter.id {
                        self.store
                            .update_dead_letter(tenant, id, DeadLetterStatus::Discarded, false)
                            .await?;
                        report.dropped += 1;
                    }
                }
                continue;
            };
            let target = self.client(tenant, &subscription)?;
            let pacer = ZapierPacer::new(
                tenant.as_str(),
                self.config.connection.as_str(),
                &self.config.limits,
            );
            let mut failed: HashSet<RecordId> = HashSet::new();
            let mut gone = false;
            for letter in letters {
                let Some(id) = letter.id else { continue };
                if gone {
                    self.store
                        .update_dead_letter(tenant, id, DeadLetterStatus::Discarded, false)
                        .await?;
                    report.dropped += 1;
                    continue;
                }
                if failed.contains(&letter.record_id) {
                    continue;
                }
                let body = letter.payload.get("event").cloned().unwrap_or(Value::Null);
                match self.post(&target, &pacer, &body).await {
                    Ok(()) => {
                        self.store
                            .update_dead_letter(tenant, id, DeadLetterStatus::Replayed, false)
                            .await?;
                        report.replayed += 1;
                        report.delivered += 1;
                    }
                    Err(error) if is_gone(&error) => {
                        self.unsubscribe_gone(tenant, &subscription).await;
                        report.unsubscribed += 1;
                        gone = true;
                        self.store
                            .update_dead_letter(tenant, id, DeadLetterStatus::Discarded, false)
                            .await?;
                        report.dropped += 1;
                    }
                    Err(_) => {
                        self.store
                            .update_dead_letter(tenant, id, DeadLetterStatus::Pending, true)
                            .await?;
                        failed.insert(letter.record_id.clone());
                    }
                }
            }
        }
        Ok(report)
    }
}
