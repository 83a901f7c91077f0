//! Chaos: bidirectional sync of contacts, companies and deals while the simulators
//! throttle (429 bursts with and without `Retry-After`), fail (5xx), reset connections,
//! answer slower than the client's timeout, expire tokens every few requests and serve a
//! malformed page, and while both sides are edited and deleted concurrently. Runs are
//! repeated until quiescent; the end state must then be exact: both sides equal field by
//! field, nothing duplicated, exactly the seeded invalid records dead-lettered, and an
//! audit row for every write the sync made.
//!
//! Small scale runs in `cargo test`; `CRMSYNC_CHAOS_LARGE=1` runs 20,000 records per
//! object.

mod common;
#[path = "common/salesforce.rs"]
#[allow(dead_code)]
mod sf;

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use chrono::{DateTime, Utc};
use crmsync::{
    core::{
        AuditOutcome, ConnectionId, FieldMapper, Fields, LinkKey, MapContext, MirrorRecord,
        MirrorWrite, ObjectKind, Record, RecordId, RunStatus, SyncJob, SyncReport, SyncStore,
        TenantId,
    },
    engine::{ConflictPolicy, Engine},
    http::RetryPolicy,
    sim::hubspot::Faults,
    transform::DeclarativeMapper,
};
use serde_json::{Value, json};

/// The providers' per-request timeout in this suite; slow responses take longer.
const TIMEOUT: Duration = Duration::from_millis(1500);
/// Rounds (one incremental job per object each) allowed before the sync must be quiet.
const MAX_ROUNDS: usize = 30;
/// Every K-th authenticated request finds its token expired while faults are on.
const EXPIRE_EVERY: u32 = 9;

const OBJECTS: [ObjectKind; 3] = [ObjectKind::Company, ObjectKind::Contact, ObjectKind::Deal];

/// How many records of each object the run starts with.
#[derive(Clone, Copy, Debug)]
struct Scale {
    /// Seeded in the CRM.
    remote: usize,
    /// Seeded in the application only.
    local: usize,
    /// Contacts seeded invalid on each side.
    invalid: usize,
}

fn scale() -> Scale {
    if std::env::var("CRMSYNC_CHAOS_LARGE").is_ok_and(|v| v == "1") {
        Scale {
            remote: 20_000,
            local: 2_000,
            invalid: 25,
        }
    } else {
        Scale {
            remote: 300,
            local: 60,
            invalid: 4,
        }
    }
}

/// One record of the CRM, in canonical names.
struct RemoteRow {
    id: String,
    fields: Fields,
    modified: DateTime<Utc>,
    live: bool,
}

/// What a chaos run needs of one CRM and its harness.
trait Crm: Send + Sync + 'static {
    fn engine(&self) -> &Engine;
    fn store(&self) -> &Arc<dyn SyncStore>;
    fn tenant(&self) -> &TenantId;
    fn connection(&self) -> ConnectionId;
    fn mapper(&self) -> &DeclarativeMapper;
    fn faults(&self) -> &Faults;
    /// Every record of `object`, live and deleted.
    fn remote_rows(&self, object: &ObjectKind) -> Vec<RemoteRow>;
    /// Edits a non-key field as someone in the CRM would.
    fn remote_edit(&self, object: &ObjectKind, id: &str, n: usize) -> bool;
    /// Deletes (archives) as someone in the CRM would.
    fn remote_delete(&self, object: &ObjectKind, id: &str) -> bool;
    /// Creates a valid record whose key (email or name) is `key`; `like` is a live record
    /// of the same object in canonical names, for required values (deal stages).
    fn remote_create(&self, object: &ObjectKind, key: &str, like: &Fields) -> String;
    /// Creates a contact the mapping's validation rejects on the way in.
    fn remote_create_invalid(&self, n: usize) -> String;
    /// Server-side counters: (throttled, 5xx, 401, resets).
    fn fault_counts(&self) -> (u64, u64, u64, u64);

    fn link_key(&self, object: &ObjectKind) -> LinkKey {
        LinkKey {
            connection: self.connection(),
            object: object.clone(),
        }
    }

    fn job(&self, object: &ObjectKind) -> SyncJob {
        SyncJob::new(self.tenant().clone(), self.connection(), object.clone())
    }
}

impl Crm for common::Harness {
    fn engine(&self) -> &Engine {
        &self.engine
    }
    fn store(&self) -> &Arc<dyn SyncStore> {
        &self.store
    }
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    fn connection(&self) -> ConnectionId {
        common::CONNECTION.into()
    }
    fn mapper(&self) -> &DeclarativeMapper {
        &self.mapper
    }
    fn faults(&self) -> &Faults {
        self.sim.faults()
    }
    fn remote_rows(&self, object: &ObjectKind) -> Vec<RemoteRow> {
        let name = common::sim_name(object);
        let live = self.sim.records(name).into_iter().map(|r| (r, true));
        let gone = self.sim.archived(name).into_iter().map(|r| (r, false));
        live.chain(gone)
            .map(|(r, live)| RemoteRow {
                fields: self.canonical(object, &r),
                modified: r.archived_at.unwrap_or(r.updated_at).max(r.updated_at),
                id: r.id,
                live,
            })
            .collect()
    }
    fn remote_edit(&self, object: &ObjectKind, id: &str, n: usize) -> bool {
        let value = format!("Chaos {n}");
        let amount = format!("{}", 1000 + n);
        let (name, prop, value) = match object {
            ObjectKind::Contact => ("contacts", "jobtitle", value.as_str()),
            ObjectKind::Company => ("companies", "city", value.as_str()),
            _ => ("deals", "amount", amount.as_str()),
        };
        self.sim.edit(name, id, &[(prop, value)])
    }
    fn remote_delete(&self, object: &ObjectKind, id: &str) -> bool {
        self.sim.archive(common::sim_name(object), id)
    }
    fn remote_create(&self, object: &ObjectKind, key: &str, like: &Fields) -> String {
        let text = |f: &str| like.get(f).and_then(Value::as_str).unwrap_or_default();
        match object {
            ObjectKind::Contact => self.sim.create(
                "contacts",
                &[
                    ("firstname", "Remote"),
                    ("lastname", "Chaos"),
                    ("email", key),
                ],
            ),
            ObjectKind::Company => self
                .sim
                .create("companies", &[("name", key), ("city", "Akureyri")]),
            _ => self.sim.create(
                "deals",
                &[
                    ("dealname", key),
                    ("amount", "500"),
                    ("dealstage", text("stage")),
                    ("pipeline", text("pipeline")),
                ],
            ),
        }
    }
    fn remote_create_invalid(&self, n: usize) -> String {
        self.sim.create(
            "contacts",
            &[
                ("firstname", "Invalid"),
                ("lastname", "Phone"),
                ("email", &format!("invalid.remote.{n}@example.com")),
                ("phone", "not a phone"),
            ],
        )
    }
    fn fault_counts(&self) -> (u64, u64, u64, u64) {
        let s = self.sim.stats();
        (
            s.throttled_429,
            s.errors_5xx,
            s.unauthorized_401,
            s.connection_resets,
        )
    }
}

fn sobject(object: &ObjectKind) -> &'static str {
    match object {
        ObjectKind::Contact => "Contact",
        ObjectKind::Company => "Account",
        _ => "Opportunity",
    }
}

impl Crm for sf::SfHarness {
    fn engine(&self) -> &Engine {
        &self.engine
    }
    fn store(&self) -> &Arc<dyn SyncStore> {
        &self.store
    }
    fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    fn connection(&self) -> ConnectionId {
        sf::CONNECTION.into()
    }
    fn mapper(&self) -> &DeclarativeMapper {
        &self.mapper
    }
    fn faults(&self) -> &Faults {
        self.sim.faults()
    }
    fn remote_rows(&self, object: &ObjectKind) -> Vec<RemoteRow> {
        let name = sobject(object);
        let live = self.sim.records(name).into_iter().map(|r| (r, true));
        let gone = self.sim.deleted(name).into_iter().map(|r| (r, false));
        live.chain(gone)
            .map(|(r, live)| RemoteRow {
                fields: self.canonical(object, &r),
                modified: r.system_modstamp.max(r.last_modified_date),
                id: r.id,
                live,
            })
            .collect()
    }
    fn remote_edit(&self, object: &ObjectKind, id: &str, n: usize) -> bool {
        let (field, value) = match object {
            ObjectKind::Contact => ("Title", json!(format!("Chaos {n}"))),
            ObjectKind::Company => ("BillingCity", json!(format!("Chaos {n}"))),
            _ => ("Amount", json!(1000 + n)),
        };
        self.sim.edit(sobject(object), id, &[(field, value)])
    }
    fn remote_delete(&self, object: &ObjectKind, id: &str) -> bool {
        self.sim.delete(sobject(object), id)
    }
    fn remote_create(&self, object: &ObjectKind, key: &str, like: &Fields) -> String {
        match object {
            ObjectKind::Contact => self.sim.create(
                "Contact",
                &[
                    ("FirstName", json!("Remote")),
                    ("LastName", json!("Chaos")),
                    ("Email", json!(key)),
                ],
            ),
            ObjectKind::Company => self.sim.create(
                "Account",
                &[("Name", json!(key)), ("BillingCity", json!("Akureyri"))],
            ),
            _ => {
                let stage = like.get("stage").cloned().unwrap_or(json!("Prospecting"));
                let close = like
                    .get("close_date")
                    .and_then(Value::as_str)
                    .map(|d| d.chars().take(10).collect::<String>())
                    .unwrap_or_else(|| "2030-01-01".into());
                self.sim.create(
                    "Opportunity",
                    &[
                        ("Name", json!(key)),
                        ("StageName", stage),
                        ("CloseDate", json!(close)),
                        ("Amount", json!(500)),
                    ],
                )
            }
        }
    }
    fn remote_create_invalid(&self, n: usize) -> String {
        self.sim.create(
            "Contact",
            &[
                ("FirstName", json!("Invalid")),
                ("LastName", json!("Phone")),
                ("Email", json!(format!("invalid.remote.{n}@example.com"))),
                ("Phone", json!("not a phone")),
            ],
        )
    }
    fn fault_counts(&self) -> (u64, u64, u64, u64) {
        let s = self.sim.stats();
        (
            s.throttled,
            s.errors_5xx,
            s.unauthorized_401,
            s.connection_resets,
        )
    }
}

type Key = (ObjectKind, String);

/// Writes made by the test itself (not by the sync), on both sides, and when each
/// record was last written by someone other than the sync.
#[derive(Default)]
struct Ledger {
    remote_created: HashSet<Key>,
    remote_deleted: HashSet<Key>,
    remote_marks: HashMap<Key, DateTime<Utc>>,
    local_created: HashSet<Key>,
    local_deleted: HashSet<Key>,
    local_marks: HashMap<Key, DateTime<Utc>>,
    /// Records seeded invalid: (object, id in their own system).
    invalid: BTreeSet<Key>,
    /// Record keys (email or name) the test created, each of which must exist once.
    keys: BTreeSet<(ObjectKind, String)>,
}

type SharedLedger = Arc<Mutex<Ledger>>;

fn lock(ledger: &SharedLedger) -> std::sync::MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The field that identifies a record the test created (contacts by email, the rest
/// by name).
fn key_field(object: &ObjectKind) -> &'static str {
    match object {
        ObjectKind::Contact => "email",
        _ => "name",
    }
}

async fn local_write(
    crm: &dyn Crm,
    object: &ObjectKind,
    id: Option<RecordId>,
    patch: Value,
) -> RecordId {
    let fields: Fields = serde_json::from_value(patch).expect("patch is an object");
    crm.store()
        .mirror_write(
            crm.tenant(),
            object,
            vec![MirrorWrite {
                id,
                fields,
                idempotency_key: None,
            }],
        )
        .await
        .expect("mirror write")
        .remove(0)
        .id
}

async fn mirror_rows(crm: &dyn Crm, object: &ObjectKind) -> Vec<MirrorRecord> {
    crm.store()
        .mirror_changes(crm.tenant(), object, 0, u32::MAX)
        .await
        .expect("mirror rows")
}

/// A live record of the CRM to copy required values from (deal stages, dates).
fn template(crm: &dyn Crm, object: &ObjectKind) -> Fields {
    crm.remote_rows(object)
        .into_iter()
        .find(|r| r.live)
        .map(|r| r.fields)
        .unwrap_or_default()
}

/// Seeds the application with records of its own and invalid contacts, and the CRM
/// with invalid contacts; records every seeded record in the ledger.
async fn seed(crm: &dyn Crm, scale: Scale, ledger: &SharedLedger) {
    let now = Utc::now();
    for object in &OBJECTS {
        let like = template(crm, object);
        let rows = crm.remote_rows(object);
        lock(ledger)
            .remote_marks
            .extend(rows.into_iter().map(|r| ((object.clone(), r.id), now)));
        for i in 0..scale.local {
            let key = format!("chaos-local-{i}");
            let patch = match object {
                ObjectKind::Contact => json!({
                    "first_name": "Local", "last_name": format!("Chaos{i}"),
                    "email": format!("{key}@example.com"), "city": "Reykjavik",
                }),
                ObjectKind::Company => json!({
                    "name": key, "city": "Reykjavik", "domain": format!("{key}.example.com"),
                }),
                _ => json!({
                    "name": key, "amount": "250",
                    "stage": like.get("stage"), "pipeline": like.get("pipeline"),
                    "close_date": like.get("close_date"),
                }),
            };
            let id = local_write(crm, object, None, patch).await;
            let mut l = lock(ledger);
            let stored_key = match object {
                ObjectKind::Contact => format!("{key}@example.com"),
                _ => key,
            };
            l.keys.insert((object.clone(), stored_key));
            l.local_created
                .insert((object.clone(), id.as_str().to_owned()));
            l.local_marks
                .insert((object.clone(), id.as_str().to_owned()), Utc::now());
        }
    }
    let contact = ObjectKind::Contact;
    for i in 0..scale.invalid {
        let patch = json!({
            "first_name": "Invalid", "last_name": format!("Email{i}"),
            "email": format!("not-an-email-{i}"),
        });
        let local = local_write(crm, &contact, None, patch).await;
        let remote = crm.remote_create_invalid(i);
        let mut l = lock(ledger);
        let local = (contact.clone(), local.as_str().to_owned());
        l.local_created.insert(local.clone());
        l.local_marks.insert(local.clone(), Utc::now());
        l.invalid.insert(local);
        let remote = (contact.clone(), remote);
        l.remote_marks.insert(remote.clone(), Utc::now());
        l.invalid.insert(remote);
    }
}

/// One concurrent change, made by someone other than the sync.
enum Change {
    RemoteEdit(ObjectKind, String),
    RemoteDelete(ObjectKind, String),
    RemoteCreate(ObjectKind, String, Fields),
    LocalEdit(ObjectKind, RecordId),
    LocalDelete(ObjectKind, RecordId),
    /// Edits (or deletes) the application's copy of a CRM record once it is linked.
    LinkedEdit(ObjectKind, String),
    LinkedDelete(ObjectKind, String),
}

/// The changes made while the sync runs. The sets are disjoint by record, so a record
/// is never edited on one side while deleted on the other (a delete racing an update is
/// a conflict the policy settles, not what this suite measures).
fn plan_changes(crm: &dyn Crm, scale: Scale, ledger: &SharedLedger) -> Vec<Change> {
    let l = lock(ledger);
    let mut lanes: Vec<Vec<Change>> = Vec::new();
    for object in &OBJECTS {
        let mut remote: Vec<String> = crm
            .remote_rows(object)
            .into_iter()
            .filter(|r| r.live && !l.invalid.contains(&(object.clone(), r.id.clone())))
            .map(|r| r.id)
            .collect();
        remote.sort();
        let mut local: Vec<RecordId> = l
            .local_created
            .iter()
            .filter(|k| k.0 == *object && !l.invalid.contains(k))
            .map(|k| RecordId::new(k.1.clone()))
            .collect();
        local.sort();
        let like = template(crm, object);
        let mut lane = Vec::new();
        // A tenth of the CRM's records edited there, a twentieth deleted there, a
        // twentieth edited and a twentieth deleted in the application.
        for (i, id) in remote.iter().enumerate() {
            match i % 20 {
                0 | 10 => lane.push(Change::RemoteEdit(object.clone(), id.clone())),
                1 => lane.push(Change::RemoteDelete(object.clone(), id.clone())),
                2 => lane.push(Change::LinkedEdit(object.clone(), id.clone())),
                3 => lane.push(Change::LinkedDelete(object.clone(), id.clone())),
                _ => {}
            }
        }
        for (i, id) in local.iter().enumerate() {
            match i % 6 {
                0 => lane.push(Change::LocalEdit(object.clone(), id.clone())),
                1 => lane.push(Change::LocalDelete(object.clone(), id.clone())),
                _ => {}
            }
        }
        for i in 0..scale.local / 6 {
            lane.push(Change::RemoteCreate(
                object.clone(),
                format!("chaos-remote-{i}"),
                like.clone(),
            ));
        }
        // Interleave the kinds of change within the object.
        let n = lane.len();
        let stride = 7;
        let mut order: Vec<Change> = Vec::with_capacity(n);
        let mut slots: Vec<Option<Change>> = lane.into_iter().map(Some).collect();
        for start in 0..stride {
            for i in (start..n).step_by(stride) {
                if let Some(c) = slots[i].take() {
                    order.push(c);
                }
            }
        }
        lanes.push(order);
    }
    // Round-robin over the objects.
    let mut out = Vec::new();
    let mut iters: Vec<_> = lanes.into_iter().map(Vec::into_iter).collect();
    loop {
        let mut any = false;
        for it in &mut iters {
            if let Some(c) = it.next() {
                out.push(c);
                any = true;
            }
        }
        if !any {
            return out;
        }
    }
}

async fn linked_local(crm: &dyn Crm, object: &ObjectKind, remote: &str) -> Option<RecordId> {
    crm.store()
        .links_by_remote(
            crm.tenant(),
            &crm.link_key(object),
            &[RecordId::new(remote)],
        )
        .await
        .expect("links")
        .into_iter()
        .next()
        .map(|l| l.local_id)
}

fn local_edit_patch(object: &ObjectKind, n: usize) -> Value {
    match object {
        ObjectKind::Contact => json!({"title": format!("Local chaos {n}")}),
        ObjectKind::Company => json!({"city": format!("Local chaos {n}")}),
        _ => json!({"amount": format!("{}", 7000 + n)}),
    }
}

/// Applies the changes, a few milliseconds apart, while the sync runs. Changes to the
/// application's copies of CRM records wait (are retried later) until those are linked.
async fn make_changes(crm: Arc<dyn Crm>, changes: Vec<Change>, ledger: SharedLedger) {
    let mut queue: std::collections::VecDeque<(Change, usize)> =
        changes.into_iter().map(|c| (c, 0)).collect();
    let mut n = 0usize;
    while let Some((change, tries)) = queue.pop_front() {
        n += 1;
        match change {
            Change::RemoteEdit(object, id) => {
                if crm.remote_edit(&object, &id, n) {
                    lock(&ledger).remote_marks.insert((object, id), Utc::now());
                }
            }
            Change::RemoteDelete(object, id) => {
                if crm.remote_delete(&object, &id) {
                    let mut l = lock(&ledger);
                    l.remote_marks
                        .insert((object.clone(), id.clone()), Utc::now());
                    l.remote_deleted.insert((object, id));
                }
            }
            Change::RemoteCreate(object, key, like) => {
                let key = match object {
                    ObjectKind::Contact => format!("{key}@example.com"),
                    _ => key,
                };
                let id = crm.remote_create(&object, &key, &like);
                let mut l = lock(&ledger);
                l.remote_marks
                    .insert((object.clone(), id.clone()), Utc::now());
                l.remote_created.insert((object.clone(), id));
                l.keys.insert((object, key));
            }
            Change::LocalEdit(object, id) => {
                local_write(
                    &*crm,
                    &object,
                    Some(id.clone()),
                    local_edit_patch(&object, n),
                )
                .await;
                lock(&ledger)
                    .local_marks
                    .insert((object, id.as_str().to_owned()), Utc::now());
            }
            Change::LocalDelete(object, id) => {
                crm.store()
                    .mirror_delete(crm.tenant(), &object, std::slice::from_ref(&id))
                    .await
                    .expect("mirror delete");
                let mut l = lock(&ledger);
                let key = (object, id.as_str().to_owned());
                l.local_marks.insert(key.clone(), Utc::now());
                l.local_deleted.insert(key);
            }
            Change::LinkedEdit(object, remote) | Change::LinkedDelete(object, remote)
                if tries >= 400 =>
            {
                panic!("{object} {remote} was never linked; the chaos change could not be made");
            }
            Change::LinkedEdit(object, remote) => {
                let Some(local) = linked_local(&*crm, &object, &remote).await else {
                    queue.push_back((Change::LinkedEdit(object, remote), tries + 1));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                local_write(
                    &*crm,
                    &object,
                    Some(local.clone()),
                    local_edit_patch(&object, n),
                )
                .await;
                lock(&ledger)
                    .local_marks
                    .insert((object, local.as_str().to_owned()), Utc::now());
            }
            Change::LinkedDelete(object, remote) => {
                let Some(local) = linked_local(&*crm, &object, &remote).await else {
                    queue.push_back((Change::LinkedDelete(object, remote), tries + 1));
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                crm.store()
                    .mirror_delete(crm.tenant(), &object, std::slice::from_ref(&local))
                    .await
                    .expect("mirror delete");
                let mut l = lock(&ledger);
                let key = (object, local.as_str().to_owned());
                l.local_marks.insert(key.clone(), Utc::now());
                l.local_deleted.insert(key);
            }
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

/// The faults served in round `round` (one job per object each); from round 4 on, none.
/// Round 2 serves only the malformed page, with tokens still valid, so that the first
/// successful answer of that round, the first changes page, is the one cut short.
fn arm_faults(faults: &Faults, round: usize) {
    match round {
        0 => {
            faults.expire_tokens_every(EXPIRE_EVERY);
            faults.rate_limit_burst(4, None);
            faults.server_errors(3);
            faults.connection_resets(2);
        }
        1 => {
            faults.rate_limit_burst(2, Some(1));
            faults.slow_responses(2, TIMEOUT + Duration::from_millis(500));
            faults.server_errors(2);
            faults.connection_resets(2);
        }
        2 => {
            faults.clear();
            // More malformed answers in a row than the client retries: the page fails.
            faults.malformed_bodies(RetryPolicy::fast().max_attempts);
        }
        3 => {
            faults.expire_tokens_every(EXPIRE_EVERY);
            faults.rate_limit_burst(3, None);
            faults.server_errors(4);
            faults.connection_resets(3);
        }
        _ => faults.clear(),
    }
}

/// A round wrote nothing, parked nothing and every job ran to the end. Records read
/// again inside the providers' overlap window still count as read (and the invalid ones
/// are dead-lettered again; see
/// `an_invalid_record_read_again_is_dead_lettered_once`), so a quiet job may be
/// `partial` for dead letters alone.
fn quiet(reports: &[SyncReport]) -> bool {
    reports.iter().all(|r| {
        let c = &r.counts;
        let ran_through = match r.status {
            RunStatus::Success => true,
            RunStatus::Partial => r
                .error
                .as_deref()
                .is_some_and(|e| e.ends_with("record(s) sent to the dead-letter queue")),
            _ => false,
        };
        ran_through
            && c.created_local + c.updated_local + c.deleted_local == 0
            && c.created_remote + c.updated_remote + c.deleted_remote == 0
            && c.parked == 0
    })
}

/// Runs rounds of incremental jobs (companies, contacts, deals) while the changes are
/// made and the faults served, until a round after both is quiet.
async fn drive(crm: Arc<dyn Crm>, changes: Vec<Change>, ledger: SharedLedger) {
    let chaos = tokio::spawn(make_changes(crm.clone(), changes, ledger));
    let mut history: Vec<Vec<String>> = Vec::new();
    for round in 0..MAX_ROUNDS {
        arm_faults(crm.faults(), round);
        let settled_before = chaos.is_finished() && round >= 4;
        let mut reports = Vec::new();
        for object in &OBJECTS {
            let report = crm
                .engine()
                .run(crm.job(object))
                .await
                .expect("the job runs");
            reports.push(report);
        }
        if round == 2 {
            let first = &reports[0];
            assert_ne!(first.status, RunStatus::Success, "{first:?}");
            let error = first.error.clone().unwrap_or_default();
            assert!(
                error.starts_with("decode"),
                "the malformed page fails the first job of the round: {error}"
            );
        }
        let summary: Vec<String> = reports
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} {:?} {:?}",
                    r.job.object, r.status, r.error, r.counts
                )
            })
            .collect();
        history.push(summary);
        if settled_before && quiet(&reports) {
            chaos.await.expect("the chaos task finished cleanly");
            return;
        }
    }
    panic!("the sync did not settle within {MAX_ROUNDS} rounds: {history:#?}");
}

/// Asserts the end state of one object: equal sides, no duplicates.
async fn assert_equal_without_duplicates(crm: &dyn Crm, object: &ObjectKind, ledger: &Ledger) {
    let tenant = crm.tenant();
    let key = crm.link_key(object);
    let remote: BTreeMap<String, Fields> = crm
        .remote_rows(object)
        .into_iter()
        .filter(|r| r.live)
        .map(|r| (r.id, r.fields))
        .collect();
    let local: BTreeMap<RecordId, Fields> = mirror_rows(crm, object)
        .await
        .into_iter()
        .filter(|r| !r.deleted)
        .map(|r| (r.id, r.fields))
        .collect();
    let is_invalid = |id: &str| ledger.invalid.contains(&(object.clone(), id.to_owned()));

    // Every valid record on each side is linked to exactly one live record on the other.
    let remote_ids: Vec<RecordId> = remote.keys().map(RecordId::new).collect();
    let by_remote = crm
        .store()
        .links_by_remote(tenant, &key, &remote_ids)
        .await
        .expect("links");
    let local_ids: Vec<RecordId> = local.keys().cloned().collect();
    let by_local = crm
        .store()
        .links_by_local(tenant, &key, &local_ids)
        .await
        .expect("links");
    let pairs: BTreeSet<(RecordId, RecordId)> = by_remote
        .iter()
        .map(|l| (l.local_id.clone(), l.remote_id.clone()))
        .collect();
    let pairs_from_local: BTreeSet<(RecordId, RecordId)> = by_local
        .iter()
        .map(|l| (l.local_id.clone(), l.remote_id.clone()))
        .collect();
    assert_eq!(
        pairs, pairs_from_local,
        "{object}: links read from either side agree (no link to a deleted record)"
    );
    let linked_remote: BTreeSet<&str> = pairs.iter().map(|(_, r)| r.as_str()).collect();
    let linked_local: BTreeSet<&RecordId> = pairs.iter().map(|(l, _)| l).collect();
    assert_eq!(
        linked_remote.len(),
        pairs.len(),
        "{object}: a remote record linked twice"
    );
    assert_eq!(
        linked_local.len(),
        pairs.len(),
        "{object}: a local record linked twice"
    );
    let unlinked_remote: Vec<&String> = remote
        .keys()
        .filter(|id| !linked_remote.contains(id.as_str()) && !is_invalid(id))
        .collect();
    assert!(
        unlinked_remote.is_empty(),
        "{object}: CRM records never synced: {unlinked_remote:?}"
    );
    let unlinked_local: Vec<&RecordId> = local
        .keys()
        .filter(|id| !linked_local.contains(id) && !is_invalid(id.as_str()))
        .collect();
    assert!(
        unlinked_local.is_empty(),
        "{object}: application records never synced: {unlinked_local:?}"
    );
    let links = crm.store().count_links(tenant, &key).await.expect("count");
    assert_eq!(
        links as usize,
        pairs.len(),
        "{object}: no stale links are left"
    );

    // Records the test created exist once on each side (a write retried after its
    // answer was lost must not create a second one).
    let keyed = key_field(object);
    let count_keys = |rows: Vec<&Fields>| {
        let mut n: HashMap<String, usize> = HashMap::new();
        for f in rows {
            if let Some(k) = f.get(keyed).and_then(Value::as_str) {
                *n.entry(k.to_lowercase()).or_default() += 1;
            }
        }
        n
    };
    let remote_keys = count_keys(remote.values().collect());
    let local_keys = count_keys(local.values().collect());
    for (_, k) in ledger.keys.iter().filter(|(o, _)| o == object) {
        let k = k.to_lowercase();
        let (r, l) = (
            remote_keys.get(&k).copied().unwrap_or(0),
            local_keys.get(&k).copied().unwrap_or(0),
        );
        assert!(
            r <= 1 && l <= 1 && r == l,
            "{object} {k}: {r} in the CRM, {l} in the application"
        );
    }

    // Field by field through the mapping, as the application's values read back.
    let connection = crm.connection();
    let ctx = MapContext {
        tenant,
        connection: &connection,
        object,
        skip_validation: true,
    };
    let mapper = crm.mapper();
    let inbound = mapper.inbound_fields(&ctx);
    for (local_id, remote_id) in &pairs {
        let expected = &remote[remote_id.as_str()];
        let raw = &local[local_id];
        let out: Fields = mapper
            .to_remote(&ctx, remote_id.as_str(), raw)
            .expect("maps out")
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect();
        let back = mapper
            .to_canonical(&ctx, &Record::new(remote_id.clone(), object.clone(), out))
            .expect("maps back")
            .fields;
        let mut seen = raw.clone();
        seen.extend(back);
        for field in &inbound {
            assert_eq!(
                seen.get(field).filter(|v| !v.is_null()),
                expected.get(field).filter(|v| !v.is_null()),
                "{object} {local_id} ⇄ {remote_id}: field {field} differs"
            );
        }
    }
}

/// Asserts that every write the sync made on either side has a successful audit row:
/// each record it created or deleted, and each record last written after anyone else
/// wrote it.
async fn assert_audited(crm: &dyn Crm, ledger: &Ledger) {
    let audit = crm
        .store()
        .list_audit(crm.tenant(), None, u32::MAX)
        .await
        .expect("audit");
    let mut rows: HashSet<(ObjectKind, &str, &str)> = HashSet::new();
    for a in audit.iter().filter(|a| a.outcome == AuditOutcome::Success) {
        if let Some(r) = &a.remote_id {
            rows.insert((a.object.clone(), a.operation.as_str(), r.as_str()));
        }
        if let Some(l) = &a.local_id {
            rows.insert((a.object.clone(), a.operation.as_str(), l.as_str()));
        }
    }
    let has = |object: &ObjectKind, ops: &[&str], id: &str| {
        ops.iter()
            .any(|op| rows.contains(&(object.clone(), *op, id)))
    };
    let mut missing = Vec::new();
    for object in &OBJECTS {
        for r in crm.remote_rows(object) {
            let key = (object.clone(), r.id.clone());
            if !ledger.remote_marks.contains_key(&key) && !has(object, &["create_remote"], &r.id) {
                missing.push(format!(
                    "{object} {}: created in the CRM, no create_remote row",
                    r.id
                ));
            }
            if !r.live
                && !ledger.remote_deleted.contains(&key)
                && !has(object, &["delete_remote"], &r.id)
            {
                missing.push(format!(
                    "{object} {}: deleted in the CRM, no delete_remote row",
                    r.id
                ));
            }
            if r.live
                && ledger
                    .remote_marks
                    .get(&key)
                    .is_some_and(|m| r.modified > *m)
                && !has(object, &["update_remote", "create_remote"], &r.id)
            {
                missing.push(format!(
                    "{object} {}: updated in the CRM, no update_remote row",
                    r.id
                ));
            }
        }
        for r in mirror_rows(crm, object).await {
            let key = (object.clone(), r.id.as_str().to_owned());
            let id = r.id.as_str();
            if !ledger.local_marks.contains_key(&key) && !has(object, &["create_local"], id) {
                missing.push(format!(
                    "{object} {id}: created in the application, no create_local row"
                ));
            }
            if r.deleted
                && !ledger.local_deleted.contains(&key)
                && !has(object, &["delete_local"], id)
            {
                missing.push(format!(
                    "{object} {id}: deleted in the application, no delete_local row"
                ));
            }
            if !r.deleted
                && ledger
                    .local_marks
                    .get(&key)
                    .is_some_and(|m| r.modified_at > *m)
                && !has(object, &["update_local", "create_local"], id)
            {
                missing.push(format!(
                    "{object} {id}: updated in the application, no update_local row"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "writes without an audit row: {missing:#?}"
    );
}

async fn assert_dead_letters_are_the_invalid_records(crm: &dyn Crm, ledger: &Ledger) {
    let letters = crm
        .store()
        .list_dead_letters(crm.tenant(), None, u32::MAX)
        .await
        .expect("dead letters");
    let got: Vec<Key> = letters
        .iter()
        .map(|l| (l.object.clone(), l.record_id.as_str().to_owned()))
        .collect();
    let unique: BTreeSet<Key> = got.iter().cloned().collect();
    assert_eq!(
        unique, ledger.invalid,
        "dead letters hold exactly the seeded invalid records: {letters:#?}"
    );
    assert!(
        letters.iter().all(|l| l.error_kind == "validation"),
        "{letters:#?}"
    );
}

/// The whole scenario against one CRM.
async fn chaos(crm: Arc<dyn Crm>) {
    let scale = scale();
    let ledger: SharedLedger = Arc::default();
    seed(&*crm, scale, &ledger).await;
    let changes = plan_changes(&*crm, scale, &ledger);
    assert!(changes.len() >= 30, "{} changes", changes.len());
    drive(crm.clone(), changes, ledger.clone()).await;

    // Each of the three armings of a fault was served at least once (a Salesforce
    // throttle stops the run at once, so later answers of a burst may go unserved).
    let (throttled, server, unauthorized, resets) = crm.fault_counts();
    assert!(throttled >= 3, "the bursts were served: {throttled}");
    assert!(server >= 3, "the server errors were served: {server}");
    assert!(unauthorized >= 1, "tokens expired: {unauthorized}");
    assert!(resets >= 3, "connections were reset: {resets}");

    // The chaos task has finished: the ledger is final.
    let l = std::mem::take(&mut *lock(&ledger));
    for object in &OBJECTS {
        assert_equal_without_duplicates(&*crm, object, &l).await;
    }
    assert_dead_letters_are_the_invalid_records(&*crm, &l).await;
    assert_audited(&*crm, &l).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_sync_under_chaos_converges_without_loss_duplicates_or_unaudited_writes() {
    let n = scale().remote;
    let h = common::harness_with(
        common::fast_sim(n, n, n),
        ConflictPolicy::default(),
        |mut c| {
            c.timeout = TIMEOUT;
            c
        },
    )
    .await;
    chaos(Arc::new(h)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_sync_under_chaos_converges_without_loss_duplicates_or_unaudited_writes() {
    let n = scale().remote;
    let config = crmsync::sim::salesforce::SalesforceSimConfig {
        leads: 0,
        contacts: n,
        accounts: n,
        opportunities: n,
        seed: 11,
        ..crmsync::sim::salesforce::SalesforceSimConfig::default()
    };
    let h = sf::sf_harness_with(config, ConflictPolicy::default(), |mut c| {
        c.timeout = TIMEOUT;
        c
    })
    .await;
    chaos(Arc::new(h)).await;
}

/// A CRM record the mapping rejects, read again by every run inside the provider's
/// overlap window (60 s by default) though it has not changed, keeps one pending dead
/// letter (counting the attempts), not one per run that a replay would apply twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_record_read_again_is_dead_lettered_once() {
    let h = common::harness(common::fast_sim(5, 0, 0)).await;
    let bad = h.sim.create(
        "contacts",
        &[
            ("firstname", "Bad"),
            ("lastname", "Phone"),
            ("email", "bad.phone@example.com"),
            ("phone", "not a phone"),
        ],
    );
    for _ in 0..2 {
        let report = h
            .sync(ObjectKind::Contact, crmsync::core::SyncMode::Incremental)
            .await;
        assert_eq!(report.status, RunStatus::Partial, "{:?}", report.error);
    }
    let letters = h
        .store
        .list_dead_letters(&h.tenant, None, 100)
        .await
        .expect("dead letters");
    let ids: Vec<&str> = letters.iter().map(|l| l.record_id.as_str()).collect();
    assert_eq!(ids, [bad.as_str()], "one letter for one failing record");
}

/// A create whose answer is lost (the process dies, the response times out or arrives
/// truncated after the CRM applied it): companies are created without any idempotency
/// and have no match keys, so before create intents the next run duplicated every one of
/// them on both sides. Now the create is written down before it is sent; the next pull
/// links the companies the lost create made (`applied: true`), or, finding none, the
/// push sends the create again (`applied: false`): each company exists once per side.
async fn lose_the_answer_to_a_create(applied: bool) {
    use crmsync::{core::CrmProviderDyn, engine::Binding, store::MirrorProvider};
    let h = common::harness(common::fast_sim(0, 0, 0)).await;
    for i in 0..30 {
        let company =
            json!({"name": format!("Lost Answer {i}"), "domain": format!("lost-{i}.example.com")});
        h.write_local(ObjectKind::Company, None, company).await;
    }
    // The first write call to HubSpot fails after (or before) the CRM applied it.
    let bind = |lose_answer_of_call: usize| {
        let app: Arc<dyn CrmProviderDyn> =
            Arc::new(MirrorProvider::new(h.store.clone(), h.tenant.clone()));
        let crm: Arc<dyn CrmProviderDyn> = Arc::new(common::CrashAfterWrite {
            inner: Arc::new(h.hubspot.clone()),
            crash_on_call: lose_answer_of_call,
            applied,
            calls: Default::default(),
        });
        let binding = Binding::new(app, crm, h.mapper.clone(), ConflictPolicy::default());
        h.engine
            .bind(h.tenant.clone(), common::CONNECTION.into(), binding);
    };
    bind(1);
    let lost = h
        .sync(ObjectKind::Company, crmsync::core::SyncMode::Incremental)
        .await;
    assert_ne!(lost.status, RunStatus::Success, "{lost:?}");
    assert_eq!(
        h.sim.records("companies").len(),
        if applied { 30 } else { 0 },
        "what the CRM applied"
    );
    bind(usize::MAX);
    for _ in 0..2 {
        let again = h
            .sync(ObjectKind::Company, crmsync::core::SyncMode::Incremental)
            .await;
        assert_eq!(again.status, RunStatus::Success, "{:?}", again.error);
    }
    let local = h
        .store
        .mirror_count(&h.tenant, &ObjectKind::Company)
        .await
        .expect("count");
    assert_eq!(
        (h.sim.records("companies").len(), local),
        (30, 30),
        "each company exists once on each side"
    );
    let key = crmsync::core::LinkKey {
        connection: common::CONNECTION.into(),
        object: ObjectKind::Company,
    };
    assert_eq!(
        h.store.count_links(&h.tenant, &key).await.expect("links"),
        30,
        "every company linked to its twin"
    );
    let intents = h
        .store
        .list_create_intents(&h.tenant, &key)
        .await
        .expect("intents");
    assert!(intents.is_empty(), "every intent settled: {intents:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_create_in_the_crm_duplicates_nothing() {
    lose_the_answer_to_a_create(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_lost_before_it_reached_the_crm_is_sent_once_again() {
    lose_the_answer_to_a_create(false).await;
}
