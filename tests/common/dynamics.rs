//! A Dynamics 365 harness: the Dataverse simulator, an in-memory SQLite store, the
//! mirror and an engine bound to them.

use std::{collections::HashMap, sync::Arc, time::Duration};

use crmsync::{
    core::{
        CrmProviderDyn, FieldMapper, Fields, LinkKey, MapContext, MirrorWrite, ObjectKind, Record,
        RecordId, SyncJob, SyncMode, SyncOptions, SyncReport, SyncStore, TenantId,
    },
    dynamics::{DynamicsConfig, DynamicsProvider},
    engine::{Binding, ConflictPolicy, Engine},
    http::{BucketLimit, RetryPolicy},
    sim::dynamics::{DvRecord, DynamicsSim, DynamicsSimConfig},
    store::{CredentialKey, MirrorProvider, SqliteStore},
    transform::DeclarativeMapper,
};
use serde_json::Value;

pub const CONNECTION: &str = "dynamics";

pub struct DvHarness {
    pub sim: DynamicsSim,
    pub store: Arc<dyn SyncStore>,
    pub engine: Engine,
    pub tenant: TenantId,
    pub dynamics: DynamicsProvider,
    pub mapper: Arc<DeclarativeMapper>,
}

pub fn dv_sim(contacts: usize) -> DynamicsSimConfig {
    DynamicsSimConfig {
        contacts,
        accounts: 20,
        leads: 0,
        opportunities: 0,
        seed: 11,
        ..DynamicsSimConfig::default()
    }
}

pub async fn dv_harness(config: DynamicsSimConfig, policy: ConflictPolicy) -> DvHarness {
    let sim = DynamicsSim::start(config).await.expect("simulator starts");
    let store: Arc<dyn SyncStore> = Arc::new(
        SqliteStore::in_memory(CredentialKey::from_bytes([5; 32]))
            .await
            .expect("store opens"),
    );
    let tenant = TenantId::new("tenant-dv");
    let mut dv = DynamicsConfig::client_credentials(
        sim.org_url(),
        sim.authority(),
        sim.tenant_id(),
        sim.client_id(),
        sim.client_secret(),
    )
    .scope(tenant.as_str(), CONNECTION)
    .alternate_key(ObjectKind::Contact, "crmsync_externalid");
    dv.retry = RetryPolicy::fast();
    dv.timeout = Duration::from_secs(20);
    dv.request_rate = BucketLimit::new("default", 1_000, Duration::from_secs(1));
    let dynamics = DynamicsProvider::new(dv).expect("provider");
    let mapper = Arc::new(DeclarativeMapper::dynamics_defaults());
    let engine = Engine::new(store.clone());
    let app: Arc<dyn CrmProviderDyn> = Arc::new(MirrorProvider::new(store.clone(), tenant.clone()));
    let crm: Arc<dyn CrmProviderDyn> = Arc::new(dynamics.clone());
    engine.bind(
        tenant.clone(),
        CONNECTION.into(),
        Binding::new(app, crm, mapper.clone(), policy),
    );
    DvHarness {
        sim,
        store,
        engine,
        tenant,
        dynamics,
        mapper,
    }
}

/// A simulator row as the provider reads it: lookups under their column name, no
/// annotations, no empty values, no platform columns.
pub fn as_read(record: &DvRecord) -> Fields {
    let primary_key = format!("{}id", record.table);
    record
        .fields
        .iter()
        .filter(|(k, v)| {
            !v.is_null()
                && !k.contains('@')
                && !matches!(
                    k.as_str(),
                    "createdon" | "modifiedon" | "versionnumber" | "activityid"
                )
                && **k != primary_key
        })
        .map(|(k, v)| {
            let name = k
                .strip_prefix('_')
                .and_then(|n| n.strip_suffix("_value"))
                .map_or_else(|| k.clone(), str::to_owned);
            (name, v.clone())
        })
        .collect()
}

impl DvHarness {
    pub fn job(&self, object: ObjectKind) -> SyncJob {
        SyncJob::new(self.tenant.clone(), CONNECTION.into(), object)
    }

    pub async fn sync(&self, object: ObjectKind, mode: SyncMode) -> SyncReport {
        self.engine
            .run(self.job(object).mode(mode))
            .await
            .expect("the job runs")
    }

    pub async fn sync_with(&self, object: ObjectKind, options: SyncOptions) -> SyncReport {
        self.engine
            .run(self.job(object).options(options))
            .await
            .expect("the job runs")
    }

    pub fn link_key(&self, object: ObjectKind) -> LinkKey {
        LinkKey {
            connection: CONNECTION.into(),
            object,
        }
    }

    pub async fn local_id(&self, object: ObjectKind, remote_id: &str) -> RecordId {
        self.store
            .links_by_remote(
                &self.tenant,
                &self.link_key(object),
                &[RecordId::new(remote_id)],
            )
            .await
            .expect("links")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no link for remote {remote_id}"))
            .local_id
    }

    pub async fn remote_id(&self, object: ObjectKind, local: &RecordId) -> Option<String> {
        self.store
            .links_by_local(
                &self.tenant,
                &self.link_key(object),
                std::slice::from_ref(local),
            )
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
        writes: Vec<(Option<RecordId>, Value)>,
    ) -> Vec<RecordId> {
        let writes = writes
            .into_iter()
            .map(|(id, patch)| MirrorWrite {
                id,
                fields: serde_json::from_value(patch).expect("patch is an object"),
                idempotency_key: None,
            })
            .collect();
        self.store
            .mirror_write(&self.tenant, &object, writes)
            .await
            .expect("mirror write")
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    fn ctx<'a>(
        &'a self,
        object: &'a ObjectKind,
        connection: &'a crmsync::core::ConnectionId,
    ) -> MapContext<'a> {
        MapContext {
            tenant: &self.tenant,
            connection,
            object,
            skip_validation: true,
        }
    }

    pub fn canonical(&self, object: &ObjectKind, record: &DvRecord) -> Fields {
        let connection = CONNECTION.into();
        let rec = Record::new(record.id.as_str(), object.clone(), as_read(record));
        self.mapper
            .to_canonical(&self.ctx(object, &connection), &rec)
            .expect("maps")
            .fields
    }

    /// Asserts the application holds exactly the simulator's rows, field by field (as
    /// they read back through the mapping), each linked once.
    pub async fn assert_in_step(&self, object: ObjectKind, table: &str) {
        let remote = self.sim.records(table);
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
        let ids: Vec<RecordId> = remote.iter().map(|r| RecordId::new(r.id.clone())).collect();
        let links = self
            .store
            .links_by_remote(&self.tenant, &self.link_key(object.clone()), &ids)
            .await
            .expect("links");
        assert_eq!(
            links.len(),
            remote.len(),
            "{object}: every remote record is linked"
        );
        let by_remote: HashMap<String, RecordId> = links
            .into_iter()
            .map(|l| (l.remote_id.as_str().to_owned(), l.local_id))
            .collect();
        let local_ids: Vec<RecordId> = by_remote.values().cloned().collect();
        let rows: HashMap<RecordId, Fields> = self
            .store
            .mirror_get(&self.tenant, &object, &local_ids)
            .await
            .expect("rows")
            .into_iter()
            .map(|r| (r.id, r.fields))
            .collect();
        let connection = CONNECTION.into();
        let ctx = self.ctx(&object, &connection);
        let inbound = self.mapper.inbound_fields(&ctx);
        for r in &remote {
            let expected = self.canonical(&object, r);
            let raw = &rows[&by_remote[&r.id]];
            let out: Fields = self
                .mapper
                .to_remote(&ctx, &r.id, raw)
                .expect("maps out")
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .collect();
            let back = self
                .mapper
                .to_canonical(&ctx, &Record::new(r.id.as_str(), object.clone(), out))
                .expect("maps back")
                .fields;
            let mut local = raw.clone();
            local.extend(back);
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

    /// Write operations the simulator received (inside `$batch` or alone).
    pub fn write_operations(&self) -> u64 {
        let stats = self.sim.stats();
        stats
            .by_endpoint
            .iter()
            .filter(|(k, _)| {
                let name = k.strip_prefix("batch:").unwrap_or(k);
                matches!(name, "create" | "upsert" | "delete")
            })
            .map(|(_, v)| *v)
            .sum()
    }
}
