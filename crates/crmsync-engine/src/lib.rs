//! The crmsync sync engine.
//!
//! [`Engine`] runs [`SyncJob`]s for the connections bound to it: it pulls CRM changes
//! into the application and pushes application changes to the CRM, per page:
//! map → link (or match before create) → three-way merge per field against the base
//! snapshot → apply in batches on each side → commit links, bases, audit rows, dead
//! letters and the cursor in ONE store transaction. A crash loses at most the page in
//! flight, which is re-read and re-applied idempotently.
//!
//! ```no_run
//! # async fn demo(
//! #     store: std::sync::Arc<dyn crmsync_core::SyncStore>,
//! #     app: std::sync::Arc<dyn crmsync_core::CrmProviderDyn>,
//! #     crm: std::sync::Arc<dyn crmsync_core::CrmProviderDyn>,
//! #     mapper: std::sync::Arc<dyn crmsync_core::FieldMapper>,
//! # ) -> crmsync_core::Result<()> {
//! use crmsync_core::{ObjectKind, SyncJob};
//! use crmsync_engine::{Binding, ConflictPolicy, Engine};
//!
//! let engine = Engine::new(store);
//! engine.bind("tenant-a".into(), "hubspot".into(), Binding::new(app, crm, mapper, ConflictPolicy::default()));
//! let report = engine
//!     .run(SyncJob::new("tenant-a".into(), "hubspot".into(), ObjectKind::Contact))
//!     .await?;
//! println!("{:?} {:?}", report.status, report.counts);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod apply;
mod mapped;
pub mod matching;
mod merge;
mod pipeline;
mod review;
mod sides;

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use chrono::Utc;
use crmsync_core::{
    ConflictResolver, ConnectionId, CrmProviderDyn, Direction, Error, ErrorKind, FieldMapper,
    LinkKey, MapContext, ObjectReport, Progress, ProgressSink, Result, RunRecord, RunStatus, Side,
    SyncJob, SyncReport, SyncStore, TenantId,
};

pub use mapped::MappedProvider;
pub use merge::ConflictPolicy;

/// What a connection syncs: the application side, the CRM side, the mapping between
/// them and the conflict rules.
#[derive(Clone)]
pub struct Binding {
    /// The application (or its mirror), in canonical field names.
    pub local: Arc<dyn CrmProviderDyn>,
    /// The CRM.
    pub remote: Arc<dyn CrmProviderDyn>,
    /// CRM fields ⇄ canonical fields.
    pub mapper: Arc<dyn FieldMapper>,
    /// Decides fields changed on both sides.
    pub conflicts: Arc<dyn ConflictResolver>,
}

impl Binding {
    /// A binding.
    pub fn new(
        local: Arc<dyn CrmProviderDyn>,
        remote: Arc<dyn CrmProviderDyn>,
        mapper: Arc<dyn FieldMapper>,
        conflicts: impl ConflictResolver,
    ) -> Self {
        Self {
            local,
            remote,
            mapper,
            conflicts: Arc::new(conflicts),
        }
    }
}

/// How long a job's lease lasts without renewal unless
/// [`Engine::with_lease_ttl`] says otherwise: two minutes, renewed every 40 seconds.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(120);

/// The sync engine. Cheap to share (`Arc<Engine>`); one job per (tenant, connection,
/// object) runs at a time, enforced by a store lease.
pub struct Engine {
    store: Arc<dyn SyncStore>,
    bindings: RwLock<HashMap<(TenantId, ConnectionId), Arc<Binding>>>,
    progress: Option<ProgressSink>,
    holder: String,
    lease_ttl: Duration,
    matching: matching::MatchConfig,
    intent_settle: chrono::TimeDelta,
}

impl Engine {
    /// An engine over a store, with no connections bound yet.
    pub fn new(store: Arc<dyn SyncStore>) -> Self {
        Self {
            store,
            bindings: RwLock::new(HashMap::new()),
            progress: None,
            holder: format!(
                "engine-{}-{}",
                std::process::id(),
                Utc::now().timestamp_micros()
            ),
            lease_ttl: DEFAULT_LEASE_TTL,
            matching: matching::MatchConfig::default(),
            intent_settle: chrono::TimeDelta::zero(),
        }
    }

    /// How long the CRM's change feed may take to show a record it created (default
    /// zero). A create whose answer was lost is kept as an intent until a whole pull
    /// that started at least this long after it has run: the pull links the record the
    /// create made, or, finding none, lets the create be sent again. Set it to the
    /// feed's lag where the incremental feed is a search index that lags writes
    /// (HubSpot's search: seconds).
    pub fn with_intent_settle(mut self, settle: Duration) -> Self {
        self.intent_settle = chrono::TimeDelta::from_std(settle).unwrap_or(chrono::TimeDelta::MAX);
        self
    }

    /// How long a job's lease lasts without renewal (default [`DEFAULT_LEASE_TTL`]; at
    /// least 3 s). A running job renews it every third of that; a process killed
    /// mid-sync holds it at most this long, so this bounds how soon another process
    /// can resume the job (part of the recovery time). A page that takes longer than
    /// this (long rate-limit waits) loses the lease, and the run stops after that page
    /// rather than race a worker that took over.
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_secs(3));
        self
    }

    /// The name this engine holds leases under (default: unique per engine). Two
    /// engines with the same name share leases: give a restarted worker its previous
    /// name and it resumes at once instead of waiting out its own lease — only where
    /// no other process can be running under that name.
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }

    /// Runs of this job still marked running although this engine holds the job's
    /// lease: their process stopped (crash, kill) before finishing. They are closed as
    /// failed, so history shows what happened; their committed pages stay, and this run
    /// resumes after them.
    async fn close_abandoned_runs(&self, job: &SyncJob) -> Result<()> {
        let filter = crmsync_core::RunFilter {
            connection: Some(job.connection.clone()),
            object: Some(job.object.clone()),
            limit: Some(20),
        };
        for mut stale in self.store.list_runs(&job.tenant, &filter).await? {
            if stale.status != RunStatus::Running {
                continue;
            }
            stale.status = RunStatus::Failed;
            stale.finished_at = Some(Utc::now());
            stale.error = Some(
                "abandoned: its process stopped before finishing (crash or kill); the next run \
                 resumed from its last committed page"
                    .into(),
            );
            self.store.finish_run(&job.tenant, &stale).await?;
        }
        Ok(())
    }

    /// How records are matched before one is created (thresholds, default region).
    pub fn with_matching(mut self, config: matching::MatchConfig) -> Self {
        self.matching = config;
        self
    }

    /// Reports progress after every page.
    pub fn with_progress(mut self, sink: ProgressSink) -> Self {
        self.progress = Some(sink);
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn SyncStore> {
        &self.store
    }

    /// Binds (or re-binds) a tenant's connection.
    pub fn bind(&self, tenant: TenantId, connection: ConnectionId, binding: Binding) {
        let mut map = self.bindings.write().unwrap_or_else(|p| p.into_inner());
        map.insert((tenant, connection), Arc::new(binding));
    }

    fn binding(&self, tenant: &TenantId, connection: &ConnectionId) -> Result<Arc<Binding>> {
        let map = self.bindings.read().unwrap_or_else(|p| p.into_inner());
        map.get(&(tenant.clone(), connection.clone()))
            .cloned()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("connection `{connection}` is not bound to the engine; call Engine::bind first"),
                )
                .with_tenant(tenant)
                .with_connection(connection)
            })
    }

    /// Runs one job: pull, push or both, and records it in run history.
    ///
    /// Failures of single records go to the dead-letter queue and make the run
    /// `partial`; a failure of a whole system (unreachable, unauthorized, limits)
    /// stops the run after the last committed page, as `partial` or `failed`. The
    /// next run resumes from the stored cursors.
    pub async fn run(&self, job: SyncJob) -> Result<SyncReport> {
        let binding = self.binding(&job.tenant, &job.connection)?;
        let started = Instant::now();
        let dry_run = job.options.dry_run;
        let lease_key = format!("sync/{}/{}", job.connection, job.object);
        if !dry_run
            && !self
                .store
                .acquire_lease(&job.tenant, &lease_key, &self.holder, self.lease_ttl)
                .await?
        {
            return Err(Error::new(
                ErrorKind::Busy,
                format!(
                    "another worker is syncing {} on {}",
                    job.object, job.connection
                ),
            )
            .with_tenant(&job.tenant)
            .with_connection(&job.connection));
        }
        if !dry_run {
            self.close_abandoned_runs(&job).await?;
        }
        let calls_before = binding.local.api_calls() + binding.remote.api_calls();
        let mut run = RunRecord {
            id: None,
            connection: job.connection.clone(),
            object: job.object.clone(),
            direction: job.direction,
            mode: job.mode,
            status: RunStatus::Running,
            started_at: Utc::now(),
            finished_at: None,
            counts: ObjectReport::default(),
            error: None,
            configuration: serde_json::to_value(&job.options).unwrap_or_default(),
        };
        if !dry_run {
            match self.store.start_run(&job.tenant, &run).await {
                Ok(id) => run.id = Some(id),
                Err(e) => {
                    let _ = self
                        .store
                        .release_lease(&job.tenant, &lease_key, &self.holder)
                        .await;
                    return Err(e);
                }
            }
        }
        let outcome = self.run_passes(&job, &binding, &mut run).await;
        run.counts.api_calls =
            (binding.local.api_calls() + binding.remote.api_calls()).saturating_sub(calls_before);
        let (status, error) = match outcome {
            Ok(None) if run.counts.dead_letters == 0 => (RunStatus::Success, None),
            Ok(None) => (
                RunStatus::Partial,
                Some(format!(
                    "{} record(s) sent to the dead-letter queue",
                    run.counts.dead_letters
                )),
            ),
            Ok(Some(stop)) => (RunStatus::Partial, Some(stop)),
            Err(e) => {
                // A paused run (a budget reached, a limit that resets later) resumes
                // from its checkpoint: it is partial, not failed.
                let status = if run.counts.pages > 0 || e.kind() == ErrorKind::Interrupted {
                    RunStatus::Partial
                } else {
                    RunStatus::Failed
                };
                tracing::warn!(tenant = %job.tenant, connection = %job.connection, object = %job.object, error = %e, "sync stopped");
                (status, Some(e.to_string()))
            }
        };
        run.status = status;
        run.error = error.clone();
        run.finished_at = Some(Utc::now());
        if !dry_run {
            let finished = self.store.finish_run(&job.tenant, &run).await;
            let _ = self
                .store
                .release_lease(&job.tenant, &lease_key, &self.holder)
                .await;
            finished?;
        }
        Ok(SyncReport {
            run_id: run.id,
            job,
            status,
            counts: run.counts,
            duration: started.elapsed(),
            error,
        })
    }

    /// Runs the passes of a job; `Ok(Some(reason))` when a limit stopped it early.
    async fn run_passes(
        &self,
        job: &SyncJob,
        binding: &Binding,
        run: &mut RunRecord,
    ) -> Result<Option<String>> {
        let mut stopped = None;
        // Decisions people took on parked fields go out first, so the passes below
        // see them settled.
        self.apply_reviews(job, binding, run).await?;
        let parked = std::sync::Mutex::default();
        if matches!(job.direction, Direction::Pull | Direction::Both) {
            stopped = self.pass(job, binding, run, Side::Remote, &parked).await?;
        }
        if matches!(job.direction, Direction::Push | Direction::Both) {
            let push_stop = self.pass(job, binding, run, Side::Local, &parked).await?;
            stopped = stopped.or(push_stop);
        }
        Ok(stopped)
    }

    fn report_progress(&self, job: &SyncJob, side: Side, done: u64, total: Option<u64>, page: u64) {
        if let Some(sink) = &self.progress {
            sink(&Progress {
                object: job.object.clone(),
                direction: match side {
                    Side::Remote => Direction::Pull,
                    Side::Local => Direction::Push,
                },
                records_done: done,
                estimated_total: total,
                page,
            });
        }
    }
}

impl crmsync_core::SyncEngine for Engine {
    async fn run(&self, job: SyncJob) -> Result<SyncReport> {
        Engine::run(self, job).await
    }
}

/// Fields parked in a run, by local id: a conflict seen by both passes counts once.
pub(crate) type ParkedSeen =
    std::sync::Mutex<std::collections::HashSet<(crmsync_core::RecordId, String)>>;

/// Everything a pass needs about its job, computed once.
pub(crate) struct PassContext<'a> {
    pub job: &'a SyncJob,
    pub binding: &'a Binding,
    pub link_key: LinkKey,
    /// Canonical fields the CRM feeds into the application.
    pub inbound: BTreeSet<String>,
    /// Canonical fields the application feeds into the CRM.
    pub outbound: BTreeSet<String>,
    /// Both together: every field a sync compares.
    pub synced: BTreeSet<String>,
    pub run_id: Option<crmsync_core::RunId>,
    pub parked_seen: &'a ParkedSeen,
    /// Match decisions a person made for parked records (resolved ambiguous matches),
    /// by source record id: they replace the matcher's for those records.
    pub decided: std::collections::HashMap<crmsync_core::RecordId, crmsync_core::MatchResolution>,
    /// This side's records that pending ambiguous matches of the other side name as
    /// candidates (loaded when first needed).
    pub held: tokio::sync::OnceCell<BTreeSet<crmsync_core::RecordId>>,
    /// Pending create intents of the connection and object, each with the fields a
    /// pull compares (loaded when first needed).
    pub intents: tokio::sync::OnceCell<Vec<sides::PendingIntent>>,
    /// Source records of intents a record of this pass was linked by.
    pub used_intents: std::sync::Mutex<std::collections::HashSet<crmsync_core::RecordId>>,
}

impl<'a> PassContext<'a> {
    /// The context of a job's pass: the mapping's inbound and outbound fields, limited
    /// to what the application side can hold when it says so (a CRM seen through its
    /// mapping).
    pub(crate) fn new(
        job: &'a SyncJob,
        binding: &'a Binding,
        run_id: Option<crmsync_core::RunId>,
        parked_seen: &'a ParkedSeen,
    ) -> Self {
        let ctx = MapContext {
            tenant: &job.tenant,
            connection: &job.connection,
            object: &job.object,
            skip_validation: job.options.skip_validation,
        };
        let mut inbound: BTreeSet<String> =
            binding.mapper.inbound_fields(&ctx).into_iter().collect();
        let mut outbound: BTreeSet<String> =
            binding.mapper.outbound_fields(&ctx).into_iter().collect();
        if let Some(holds) = binding.local.writable_fields(&job.object) {
            let holds: BTreeSet<String> = holds.into_iter().collect();
            inbound.retain(|f| holds.contains(f));
            outbound.retain(|f| holds.contains(f));
        }
        let synced = inbound.union(&outbound).cloned().collect();
        Self {
            job,
            binding,
            link_key: LinkKey {
                connection: job.connection.clone(),
                object: job.object.clone(),
            },
            inbound,
            outbound,
            synced,
            run_id,
            parked_seen,
            decided: std::collections::HashMap::new(),
            held: tokio::sync::OnceCell::new(),
            intents: tokio::sync::OnceCell::new(),
            used_intents: std::sync::Mutex::default(),
        }
    }

    pub(crate) fn map_context(&self) -> MapContext<'_> {
        MapContext {
            tenant: &self.job.tenant,
            connection: &self.job.connection,
            object: &self.job.object,
            skip_validation: self.job.options.skip_validation,
        }
    }
}
