//! Leases after a crash: a killed worker's lease keeps others out only for the lease's
//! time (or not at all for a restart under the same holder name), and its run is closed
//! as abandoned in the history.

mod common;

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use common::{CONNECTION, Harness, fast_sim, harness};
use crmsync::{
    core::{
        CrmProviderDyn, ErrorKind, ObjectKind, ObjectReport, RunFilter, RunRecord, RunStatus,
        SyncJob, SyncMode, SyncOptions,
    },
    engine::{Binding, ConflictPolicy, Engine},
    store::MirrorProvider,
};

const LEASE: &str = "sync/hubspot/contact";

/// An engine over the harness's store and connection, configured by `tune`.
fn engine(h: &Harness, tune: impl FnOnce(Engine) -> Engine) -> Engine {
    let engine = tune(Engine::new(h.store.clone()));
    let app: Arc<dyn CrmProviderDyn> =
        Arc::new(MirrorProvider::new(h.store.clone(), h.tenant.clone()));
    let crm: Arc<dyn CrmProviderDyn> = Arc::new(h.hubspot.clone());
    engine.bind(
        h.tenant.clone(),
        CONNECTION.into(),
        Binding::new(app, crm, h.mapper.clone(), ConflictPolicy::default()),
    );
    engine
}

fn job(h: &Harness) -> SyncJob {
    SyncJob::new(h.tenant.clone(), CONNECTION.into(), ObjectKind::Contact).mode(SyncMode::Full)
}

/// What a SIGKILLed worker leaves: its lease and a run marked running.
async fn leave_a_killed_worker(h: &Harness, ttl: Duration) -> i64 {
    assert!(
        h.store
            .acquire_lease(&h.tenant, LEASE, "killed-worker", ttl)
            .await
            .expect("lease")
    );
    let run = RunRecord {
        id: None,
        connection: CONNECTION.into(),
        object: ObjectKind::Contact,
        direction: crmsync::core::Direction::Both,
        mode: SyncMode::Full,
        status: RunStatus::Running,
        started_at: Utc::now(),
        finished_at: None,
        counts: ObjectReport::default(),
        error: None,
        configuration: serde_json::to_value(SyncOptions::default()).expect("options"),
    };
    h.store.start_run(&h.tenant, &run).await.expect("run").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_lease_refuses_others_until_it_expires() {
    let h = harness(fast_sim(20, 0, 0)).await;
    leave_a_killed_worker(&h, Duration::from_secs(3)).await;
    let other = engine(&h, |e| e.with_lease_ttl(Duration::from_secs(3)));
    let refused = other.run(job(&h)).await.expect_err("the lease is held");
    assert_eq!(refused.kind(), ErrorKind::Busy);
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    let report = other
        .run(job(&h))
        .await
        .expect("runs once the lease expired");
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    assert_eq!(report.counts.created_local, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_the_same_holder_resumes_at_once_and_closes_the_abandoned_run() {
    let h = harness(fast_sim(20, 0, 0)).await;
    let abandoned = leave_a_killed_worker(&h, Duration::from_secs(600)).await;
    let restarted = engine(&h, |e| e.with_holder("killed-worker"));
    let report = restarted.run(job(&h)).await.expect("resumes");
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.error);
    let runs = h
        .store
        .list_runs(&h.tenant, &RunFilter::default())
        .await
        .expect("history");
    let old = runs
        .iter()
        .find(|r| r.id.map(|id| id.0) == Some(abandoned))
        .expect("the abandoned run");
    assert_eq!(old.status, RunStatus::Failed);
    assert!(old.finished_at.is_some());
    assert!(
        old.error
            .as_deref()
            .is_some_and(|e| e.starts_with("abandoned")),
        "{:?}",
        old.error
    );
    assert_eq!(
        runs.iter()
            .filter(|r| r.status == RunStatus::Running)
            .count(),
        0
    );
}
