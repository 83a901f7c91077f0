//! crmsync in one file: a tenant's HubSpot account and the application's data kept in
//! step in both directions, embedded on SQLite.
//!
//! It starts the HubSpot simulator in-process (1,000 contacts, 200 companies, 300
//! deals), opens a fresh SQLite file, runs a full bidirectional sync, edits a record
//! on each side plus one conflicting edit on both, syncs incrementally, deletes one
//! record on each side, syncs again, and prints a report per object, ending with one
//! JSON line of the same figures.
//!
//! Run it with `cargo run --example quickstart`.

use std::{collections::BTreeMap, sync::Arc, time::Instant};

use anyhow::{Context, bail};
use crmsync::{
    core::{
        ConflictStrategy, ConnectionConfig, Credentials, CrmProviderDyn, MirrorWrite, ObjectKind,
        ObjectReport, ProviderKind, RecordId, SyncJob, SyncMode, SyncOptions, SyncReport,
        SyncStore, TenantId,
    },
    engine::{Binding, ConflictPolicy, Engine},
    hubspot::{HubSpotConfig, HubSpotProvider},
    sim::hubspot::{HubSpotSim, HubSpotSimConfig},
    store::{CredentialKey, MirrorProvider, SqliteStore},
    transform::DeclarativeMapper,
};
use serde_json::json;

const OBJECTS: [(ObjectKind, &str); 3] = [
    (ObjectKind::Contact, "contacts"),
    (ObjectKind::Company, "companies"),
    (ObjectKind::Deal, "deals"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let started = Instant::now();

    // A HubSpot account to sync with: the simulator, faithful to HubSpot's API.
    let sim = HubSpotSim::start(HubSpotSimConfig {
        contacts: 1_000,
        companies: 200,
        deals: 300,
        seed: 42,
        ..HubSpotSimConfig::default()
    })
    .await
    .context("starting the HubSpot simulator")?;

    // The embedded store: a fresh SQLite file. Credentials are encrypted with a key
    // the application supplies (here a new random one).
    let db = std::env::temp_dir().join(format!("crmsync-quickstart-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let key = CredentialKey::generate()?;
    let store: Arc<dyn SyncStore> = Arc::new(SqliteStore::open(&db, key).await?);

    // One tenant, one HubSpot connection (OAuth app credentials, stored encrypted).
    let tenant = TenantId::new("acme");
    let connection = ConnectionConfig {
        id: "hubspot".into(),
        provider: ProviderKind::Hubspot,
        settings: json!({ "base_url": sim.base_url() }),
        credentials: Credentials::new()
            .with("client_id", sim.client_id())
            .with("client_secret", sim.client_secret())
            .with("refresh_token", sim.refresh_token()),
    };
    store.put_connection(&tenant, &connection).await?;
    let stored = store
        .get_connection(&tenant, &connection.id)
        .await?
        .context("connection just stored")?;
    let secret = |name: &str| -> anyhow::Result<String> {
        use secrecy::ExposeSecret;
        Ok(stored
            .credentials
            .get(name)
            .with_context(|| format!("credential {name}"))?
            .expose_secret()
            .to_owned())
    };
    let base_url = stored.settings["base_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let hubspot = HubSpotProvider::new(
        HubSpotConfig::oauth(
            base_url,
            secret("client_id")?,
            secret("client_secret")?,
            secret("refresh_token")?,
        )
        .scope(tenant.as_str(), stored.id.as_str()),
    )?;
    let crm: Arc<dyn CrmProviderDyn> = Arc::new(hubspot);

    // The application's side: the store's mirror tables, in canonical field names.
    let mirror = Arc::new(MirrorProvider::new(store.clone(), tenant.clone()));
    let app: Arc<dyn CrmProviderDyn> = mirror.clone();

    // Conflict rules (the requirements' example): the CRM wins by default, lead status
    // goes to the most recent write.
    let conflicts = ConflictPolicy::new(ConflictStrategy::RemoteWins).field(
        ObjectKind::Contact,
        "lead_status",
        ConflictStrategy::LastWriteWins,
    );
    let engine = Engine::new(store.clone());
    engine.bind(
        tenant.clone(),
        stored.id.clone(),
        Binding::new(
            app,
            crm,
            Arc::new(DeclarativeMapper::hubspot_defaults()),
            conflicts,
        ),
    );

    let mut totals: BTreeMap<&str, ObjectReport> = BTreeMap::new();
    let mut runs = Vec::new();

    println!(
        "crmsync quickstart — HubSpot simulator at {}, store {}",
        sim.base_url(),
        db.display()
    );

    // 1. Full bidirectional sync.
    let reports = sync_all(&engine, &tenant, SyncMode::Full).await?;
    print_reports("1. full sync", &reports);
    runs.push(("full", reports));

    // 2. Edits: one in the CRM, one in the application, one conflicting on both.
    let contacts = sim.records("contacts");
    if contacts.len() < 5 {
        bail!("the simulator seeded too few contacts");
    }
    let remote_edit = &contacts[0];
    sim.edit(
        "contacts",
        &remote_edit.id,
        &[("jobtitle", "Head of Partnerships")],
    );
    let local_id = local_id_of(&*store, &tenant, &contacts[1].id).await?;
    mirror_patch(
        &*store,
        &tenant,
        &local_id,
        json!({"title": "VP Customer Success"}),
    )
    .await?;
    let conflicted = &contacts[2];
    let conflicted_local = local_id_of(&*store, &tenant, &conflicted.id).await?;
    sim.edit(
        "contacts",
        &conflicted.id,
        &[("hs_lead_status", "CONNECTED")],
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    mirror_patch(
        &*store,
        &tenant,
        &conflicted_local,
        json!({"lead_status": "BAD_TIMING"}),
    )
    .await?;

    let reports = sync_all(&engine, &tenant, SyncMode::Incremental).await?;
    print_reports(
        "2. incremental sync after an edit on each side and one conflict",
        &reports,
    );
    runs.push(("incremental", reports));

    // 3. Deletes: one in the CRM, one in the application.
    sim.archive("contacts", &contacts[3].id);
    let doomed = local_id_of(&*store, &tenant, &contacts[4].id).await?;
    store
        .mirror_delete(&tenant, &ObjectKind::Contact, std::slice::from_ref(&doomed))
        .await?;
    let reports = sync_all(&engine, &tenant, SyncMode::Incremental).await?;
    print_reports("3. incremental sync after a delete on each side", &reports);
    runs.push(("deletes", reports));

    // Both sides agree.
    let winner = sim
        .get("contacts", &conflicted.id)
        .and_then(|r| r.properties.get("hs_lead_status").cloned())
        .unwrap_or_default();
    println!("\nconflict on lead_status (last write wins): HubSpot now says {winner}");
    for (object, name) in OBJECTS {
        let remote = sim.records(name).len() as u64;
        let local = store.mirror_count(&tenant, &object).await?;
        println!(
            "{name:<10} HubSpot {remote:>5}  application {local:>5}  {}",
            if remote == local {
                "in step"
            } else {
                "DIFFERENT"
            }
        );
        if remote != local {
            bail!("{name}: HubSpot has {remote}, the application {local}");
        }
    }

    let dead_letters = store.list_dead_letters(&tenant, None, 1_000).await?.len();
    for (_, reports) in &runs {
        for report in reports {
            totals
                .entry(report.job.object.as_str_static())
                .or_default()
                .add(&report.counts);
        }
    }
    let objects: BTreeMap<&str, serde_json::Value> =
        totals.iter().map(|(name, c)| (*name, figures(c))).collect();
    let stats = sim.stats();
    println!(
        "{}",
        json!({
            "example": "quickstart",
            "objects": objects,
            "runs": runs.iter().map(|(name, reports)| json!({
                "run": name,
                "status": reports.iter().map(|r| r.status.as_str()).collect::<Vec<_>>(),
                "seconds": reports.iter().map(|r| r.duration.as_secs_f64()).sum::<f64>(),
            })).collect::<Vec<_>>(),
            "dead_letters": dead_letters,
            "api_calls": stats.requests,
            "throttled_429": stats.throttled_429,
            "duration_seconds": started.elapsed().as_secs_f64(),
        })
    );
    drop(engine);
    sim.shutdown().await;
    Ok(())
}

trait StaticName {
    fn as_str_static(&self) -> &'static str;
}

impl StaticName for ObjectKind {
    fn as_str_static(&self) -> &'static str {
        match self {
            ObjectKind::Contact => "contact",
            ObjectKind::Company => "company",
            ObjectKind::Deal => "deal",
            _ => "other",
        }
    }
}

async fn sync_all(
    engine: &Engine,
    tenant: &TenantId,
    mode: SyncMode,
) -> anyhow::Result<Vec<SyncReport>> {
    let mut reports = Vec::new();
    for (object, _) in OBJECTS {
        let job = SyncJob::new(tenant.clone(), "hubspot".into(), object)
            .mode(mode)
            .options(SyncOptions::default());
        let report = engine.run(job).await?;
        if let Some(error) = &report.error {
            eprintln!("{}: {error}", report.job.object);
        }
        reports.push(report);
    }
    Ok(reports)
}

fn figures(c: &ObjectReport) -> serde_json::Value {
    json!({
        "pulled": c.pulled,
        "pushed": c.pushed,
        "created": c.created_local + c.created_remote,
        "updated": c.updated_local + c.updated_remote,
        "deleted": c.deleted_local + c.deleted_remote,
        "conflicts": c.conflicts,
        "dead_letters": c.dead_letters,
        "api_calls": c.api_calls,
    })
}

fn print_reports(title: &str, reports: &[SyncReport]) {
    println!("\n{title}");
    println!(
        "  {:<8} {:>7} {:>7} {:>8} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9} {:>8}",
        "object",
        "pulled",
        "pushed",
        "created",
        "updated",
        "deleted",
        "conflicts",
        "dead",
        "calls",
        "seconds",
        "status"
    );
    for r in reports {
        let c = &r.counts;
        println!(
            "  {:<8} {:>7} {:>7} {:>8} {:>8} {:>8} {:>9} {:>6} {:>6} {:>9.3} {:>8}",
            r.job.object.as_str(),
            c.pulled,
            c.pushed,
            c.created_local + c.created_remote,
            c.updated_local + c.updated_remote,
            c.deleted_local + c.deleted_remote,
            c.conflicts,
            c.dead_letters,
            c.api_calls,
            r.duration.as_secs_f64(),
            r.status.as_str(),
        );
    }
}

/// The application's id of the record linked to a HubSpot contact.
async fn local_id_of(
    store: &dyn SyncStore,
    tenant: &TenantId,
    remote_id: &str,
) -> anyhow::Result<RecordId> {
    let key = crmsync::core::LinkKey {
        connection: "hubspot".into(),
        object: ObjectKind::Contact,
    };
    let links = store
        .links_by_remote(tenant, &key, &[RecordId::new(remote_id)])
        .await?;
    Ok(links
        .into_iter()
        .next()
        .with_context(|| format!("no link for HubSpot contact {remote_id}"))?
        .local_id)
}

/// What an application does: write a row of its own.
async fn mirror_patch(
    store: &dyn SyncStore,
    tenant: &TenantId,
    id: &RecordId,
    patch: serde_json::Value,
) -> anyhow::Result<()> {
    let fields = serde_json::from_value(patch)?;
    store
        .mirror_write(
            tenant,
            &ObjectKind::Contact,
            vec![MirrorWrite {
                id: Some(id.clone()),
                fields,
                idempotency_key: None,
            }],
        )
        .await?;
    Ok(())
}
