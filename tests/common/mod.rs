//! A test harness: the HubSpot simulator, an in-memory SQLite store, the mirror and an
//! engine bound to them.
#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use crmsync::{
    core::{
        ConflictStrategy, CrmProviderDyn, FieldMapper, Fields, LinkKey, MapContext, MirrorWrite,
        ObjectKind, Record, RecordId, SyncJob, SyncMode, SyncOptions, SyncReport, SyncStore,
        TenantId,
    },
    engine::{Binding, ConflictPolicy, Engine},
    http::RetryPolicy,
    hubspot::{HubSpotConfig, HubSpotProvider},
    sim::hubspot::{HubSpotSim, HubSpotSimConfig, SimRecord},
    store::{CredentialKey, MirrorProvider, SqliteStore},
    transform::DeclarativeMapper,
};
use serde_json::Value;

pub const CONNECTION: &str = "hubspot";

pub struct Harness {
    pub sim: HubSpotSim,
    pub store: Arc<dyn SyncStore>,
    pub engine: Engine,
    pub tenant: TenantId,
    pub hubspot: HubSpotProvider,
    pub mapper: Arc<DeclarativeMapper>,
}

/// Simulator settings for fast tests: generous limits (pacing is tested on its own).
pub fn fast_sim(contacts: usize, companies: usize, deals: usize) -> HubSpotSimConfig {
    HubSpotSimConfig {
        contacts,
        companies,
        deals,
        seed: 7,
        rate_limit_10s: 5_000,
        search_rate_per_s: 200,
        ..HubSpotSimConfig::default()
    }
}

pub async fn harness(config: HubSpotSimConfig) -> Harness {
    harness_with(config, ConflictPolicy::default(), |c| c).await
}

pub async fn harness_with(
    config: HubSpotSimConfig,
    policy: ConflictPolicy,
    tune: impl FnOnce(HubSpotConfig) -> HubSpotConfig,
) -> Harness {
    let rate = config.rate_limit_10s;
    let search = config.search_rate_per_s;
    let cap = config.search_max_results;
    let sim = HubSpotSim::start(config).await.expect("simulator starts");
    let store: Arc<dyn SyncStore> = Arc::new(
        SqliteStore::in_memory(CredentialKey::from_bytes([7; 32]))
            .await
            .expect("store opens"),
    );
    let tenant = TenantId::new("tenant-a");
    let mut hs = HubSpotConfig::oauth(
        sim.base_url(),
        sim.client_id(),
        sim.client_secret(),
        sim.refresh_token(),
    )
    .scope(tenant.as_str(), CONNECTION);
    hs.rate_limit_10s = if rate == 0 { 0 } else { rate };
    hs.search_per_second = search;
    hs.search_cap = cap;
    hs.retry = RetryPolicy::fast();
    hs.timeout = Duration::from_secs(5);
    let hs = tune(hs);
    let hubspot = HubSpotProvider::new(hs).expect("provider");
    let mapper = Arc::new(DeclarativeMapper::hubspot_defaults());
    let engine = Engine::new(store.clone());
    let app: Arc<dyn CrmProviderDyn> = Arc::new(MirrorProvider::new(store.clone(), tenant.clone()));
    let crm: Arc<dyn CrmProviderDyn> = Arc::new(hubspot.clone());
    engine.bind(
        tenant.clone(),
        CONNECTION.into(),
        Binding::new(app, crm, mapper.clone(), policy),
    );
    Harness {
        sim,
        store,
        engine,
        tenant,
        hubspot,
        mapper,
    }
}

pub fn strategy(s: ConflictStrategy) -> ConflictPolicy {
    ConflictPolicy::new(s)
}

pub fn sim_name(object: &ObjectKind) -> &'static str {
    match object {
        ObjectKind::Contact => "contacts",
        ObjectKind::Company => "companies",
        ObjectKind::Deal => "deals",
        _ => "unknown",
    }
}

impl Harness {
    pub fn job(&self, object: ObjectKind) -> SyncJob {
        SyncJob::new(self.tenant.clone(), CONNECTION.into(), object)
    }

    pub async fn sync(&self, object: ObjectKind, mode: SyncMode) -> SyncReport {
        self.run(self.job(object).mode(mode)).await
    }

    pub async fn sync_with(&self, object: ObjectKind, options: SyncOptions) -> SyncReport {
        self.run(self.job(object).options(options)).await
    }

    pub async fn run(&self, job: SyncJob) -> SyncReport {
        self.engine.run(job).await.expect("the job runs")
    }

    pub fn link_key(&self, object: ObjectKind) -> LinkKey {
        LinkKey {
            connection: CONNECTION.into(),
            object,
        }
    }

    pub async fn local_id(&self, object: ObjectKind, remote_id: &str) -> RecordId {
        let key = self.link_key(object);
        self.store
            .links_by_remote(&self.tenant, &key, &[RecordId::new(remote_id)])
            .await
            .expect("links")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no link for remote {remote_id}"))
            .local_id
    }

    pub async fn remote_id(&self, object: ObjectKind, local_id: &RecordId) -> Option<String> {
        let key = self.link_key(object);
        self.store
            .links_by_local(&self.tenant, &key, std::slice::from_ref(local_id))
            .await
            .expect("links")
            .into_iter()
            .next()
            .map(|l| l.remote_id.as_str().to_owned())
    }

    pub async fn local(&self, object: ObjectKind, id: &RecordId) -> Option<Fields> {
        self.store
            .mirror_get(&self.tenant, &object, std::slice::from_ref(id))
            .await
            .expect("mirror")
            .into_iter()
            .next()
            .map(|r| r.fields)
    }

    pub async fn write_local(
        &self,
        object: ObjectKind,
        id: Option<RecordId>,
        patch: Value,
    ) -> RecordId {
        let fields: Fields = serde_json::from_value(patch).expect("patch is an object");
        self.store
            .mirror_write(
                &self.tenant,
                &object,
                vec![MirrorWrite {
                    id,
                    fields,
                    idempotency_key: None,
                }],
            )
            .await
            .expect("mirror write")
            .into_iter()
            .next()
            .expect("one row")
            .id
    }

    /// The simulator's record in canonical names, through the mapping.
    pub fn canonical(&self, object: &ObjectKind, record: &SimRecord) -> Fields {
        let fields = record
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let ctx = MapContext {
            tenant: &self.tenant,
            connection: &CONNECTION.into(),
            object,
            skip_validation: true,
        };
        let rec = Record::new(record.id.as_str(), object.clone(), fields);
        self.mapper.to_canonical(&ctx, &rec).expect("maps").fields
    }

    /// Asserts the application holds exactly the simulator's live records, field by
    /// field, each linked once.
    pub async fn assert_in_step(&self, object: ObjectKind) {
        let remote = self.sim.records(sim_name(&object));
        let local_count = self
            .store
            .mirror_count(&self.tenant, &object)
            .await
            .expect("count");
        assert_eq!(
            local_count as usize,
            remote.len(),
            "{object}: record counts differ"
        );
        let key = self.link_key(object.clone());
        let ids: Vec<RecordId> = remote.iter().map(|r| RecordId::new(r.id.clone())).collect();
        let links = self
            .store
            .links_by_remote(&self.tenant, &key, &ids)
            .await
            .expect("links");
        assert_eq!(
            links.len(),
            remote.len(),
            "{object}: every remote record is linked"
        );
        let by_remote: std::collections::HashMap<String, RecordId> = links
            .into_iter()
            .map(|l| (l.remote_id.as_str().to_owned(), l.local_id))
            .collect();
        let local_ids: Vec<RecordId> = by_remote.values().cloned().collect();
        let rows = self
            .store
            .mirror_get(&self.tenant, &object, &local_ids)
            .await
            .expect("rows");
        let rows: std::collections::HashMap<RecordId, Fields> =
            rows.into_iter().map(|r| (r.id, r.fields)).collect();
        let ctx = MapContext {
            tenant: &self.tenant,
            connection: &CONNECTION.into(),
            object: &object,
            skip_validation: true,
        };
        let inbound = self.mapper.inbound_fields(&ctx);
        for r in &remote {
            let expected = self.canonical(&object, r);
            // The application's values as they read back through the mapping (the
            // application may keep its own formatting, e.g. of an email's case).
            let raw = &rows[&by_remote[&r.id]];
            let as_remote = self
                .mapper
                .to_remote(&ctx, r.id.as_str(), raw)
                .expect("maps out");
            let as_remote: Fields = as_remote
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .collect();
            let back = self
                .mapper
                .to_canonical(&ctx, &Record::new(r.id.as_str(), object.clone(), as_remote))
                .expect("maps back")
                .fields;
            let mut local = raw.clone();
            for (k, v) in back {
                local.insert(k, v);
            }
            let local = &local;
            for field in &inbound {
                assert_eq!(
                    local.get(field).filter(|v| !v.is_null()),
                    expected.get(field).filter(|v| !v.is_null()),
                    "{object} {}: field {field} differs",
                    r.id
                );
            }
        }
    }

    /// Write calls the simulator received (batch and single-record writes).
    pub fn write_calls(&self) -> u64 {
        let stats = self.sim.stats();
        [
            "batch_create",
            "batch_update",
            "batch_upsert",
            "batch_archive",
            "create",
            "update",
            "delete",
        ]
        .iter()
        .map(|k| stats.by_endpoint.get(*k).copied().unwrap_or(0))
        .sum()
    }
}

/// Wraps a provider and "crashes" on the n-th write call: the write happens (or, with
/// `applied: false`, never reaches the provider), then the call fails, as when a process
/// dies between applying a page and committing it.
pub struct CrashAfterWrite {
    pub inner: Arc<dyn CrmProviderDyn>,
    pub crash_on_call: usize,
    pub applied: bool,
    pub calls: std::sync::atomic::AtomicUsize,
}

impl crmsync::core::CrmProvider for CrashAfterWrite {
    fn kind(&self) -> crmsync::core::ProviderKind {
        self.inner.kind()
    }
    fn capabilities(&self, object: &ObjectKind) -> crmsync::core::Capabilities {
        self.inner.capabilities(object)
    }
    async fn describe(
        &self,
        object: &ObjectKind,
    ) -> crmsync::core::Result<crmsync::core::ObjectSchema> {
        self.inner.describe(object).await
    }
    async fn changes(
        &self,
        object: &ObjectKind,
        request: crmsync::core::ChangesRequest,
    ) -> crmsync::core::Result<crmsync::core::ChangePage> {
        self.inner.changes(object, request).await
    }
    async fn read(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
        fields: &[String],
    ) -> crmsync::core::Result<Vec<Record>> {
        self.inner.read(object, ids, fields).await
    }
    async fn find(
        &self,
        object: &ObjectKind,
        keys: &[crmsync::core::MatchKey],
        fields: &[String],
    ) -> crmsync::core::Result<Vec<crmsync::core::RecordMatch>> {
        self.inner.find(object, keys, fields).await
    }
    async fn upsert(
        &self,
        object: &ObjectKind,
        ops: Vec<crmsync::core::WriteOp>,
    ) -> crmsync::core::Result<Vec<crmsync::core::WriteOutcome>> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if n == self.crash_on_call && !self.applied {
            return Err(crmsync::core::Error::new(
                crmsync::core::ErrorKind::Unavailable,
                "simulated crash before the write",
            ));
        }
        let outcomes = self.inner.upsert(object, ops).await?;
        if n == self.crash_on_call {
            return Err(crmsync::core::Error::new(
                crmsync::core::ErrorKind::Unavailable,
                "simulated crash after the write",
            ));
        }
        Ok(outcomes)
    }
    async fn delete(
        &self,
        object: &ObjectKind,
        ids: &[RecordId],
    ) -> crmsync::core::Result<Vec<crmsync::core::WriteOutcome>> {
        self.inner.delete(object, ids).await
    }
}

impl Harness {
    /// Re-binds the connection with the application side wrapped to crash on the n-th
    /// write call.
    pub fn crash_local_on_write(&self, n: usize) {
        let app: Arc<dyn CrmProviderDyn> = Arc::new(CrashAfterWrite {
            applied: true,
            inner: Arc::new(MirrorProvider::new(self.store.clone(), self.tenant.clone())),
            crash_on_call: n,
            calls: std::sync::atomic::AtomicUsize::new(0),
        });
        let crm: Arc<dyn CrmProviderDyn> = Arc::new(self.hubspot.clone());
        self.engine.bind(
            self.tenant.clone(),
            CONNECTION.into(),
            Binding::new(app, crm, self.mapper.clone(), ConflictPolicy::default()),
        );
    }
}
