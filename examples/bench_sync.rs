//! End-to-end throughput against the simulators on loopback, embedded on SQLite.
//!
//! `cargo run --release --example bench_sync -- <scenario> --records N`
//!
//! Scenarios:
//! - `hubspot-pull`: full pull of N HubSpot contacts into the mirror;
//! - `hubspot-pull-process`: the same with the simulator in its own process
//!   (`cargo build --release -p crmsync-sim` first), so that the peak RSS printed is the
//!   engine's alone (not part of `all`);
//! - `hubspot-push`: full push of N new application contacts to HubSpot (batch creates
//!   of 100, after match look-ups);
//! - `hubspot-incremental`: after a full pull of N, 1% of them edited in HubSpot, an
//!   incremental sync (only the incremental run is measured);
//! - `hubspot-rate-limited`: full pull of N with the simulator enforcing 100 requests per
//!   10 s; reports the fraction of the ceiling (1,000 records/s at 100 per page) reached;
//! - `salesforce-pull-rest`: full pull of N Salesforce contacts through REST queries;
//! - `salesforce-pull-bulk`: the same through Bulk API 2.0 query;
//! - `salesforce-push`: push of N new application contacts to Salesforce (Bulk 2.0
//!   ingest above 2,000 per page, collections below);
//! - `all`: each of the above.
//!
//! Each scenario runs a full two-way sync job unless `--direction pull` (or `push`) says
//! otherwise: `hubspot-pull --direction pull` is the pull alone, without the push pass
//! that compares every pulled row with its link.
//!
//! `CRMSYNC_BENCH_KEEP=1` keeps each scenario's SQLite file (its path goes to stderr).
//!
//! Prints one JSON line per scenario: records, API calls, wall seconds, records/s,
//! peak RSS (MB) and 429s (or limit answers) received.

use std::{sync::Arc, time::Instant};

use anyhow::{Context, bail};
use crmsync::{
    core::{
        CrmProviderDyn, Direction, MirrorWrite, ObjectKind, RunStatus, SyncJob, SyncMode,
        SyncStore, TenantId,
    },
    engine::{Binding, ConflictPolicy, Engine},
    hubspot::{HubSpotConfig, HubSpotProvider},
    salesforce::{SalesforceConfig, SalesforceProvider},
    sim::{
        hubspot::{HubSpotSim, HubSpotSimConfig},
        salesforce::{SalesforceSim, SalesforceSimConfig},
    },
    store::{CredentialKey, MirrorProvider, SqliteStore},
    transform::DeclarativeMapper,
};
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = args.first().cloned().unwrap_or_else(|| "all".into());
    let records = args
        .iter()
        .position(|a| a == "--records")
        .and_then(|i| args.get(i + 1))
        .map(|n| n.parse::<usize>())
        .transpose()
        .context("--records takes a number")?
        .unwrap_or(100_000);
    let direction = match args
        .iter()
        .position(|a| a == "--direction")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
    {
        None | Some("both") => Direction::Both,
        Some("pull") => Direction::Pull,
        Some("push") => Direction::Push,
        Some(other) => bail!("--direction takes pull, push or both, not {other:?}"),
    };
    let scenarios: Vec<&str> = match scenario.as_str() {
        "all" => vec![
            "hubspot-pull",
            "hubspot-push",
            "hubspot-incremental",
            "hubspot-rate-limited",
            "salesforce-pull-rest",
            "salesforce-pull-bulk",
            "salesforce-push",
        ],
        "hubspot-pull"
        | "hubspot-pull-process"
        | "hubspot-push"
        | "hubspot-incremental"
        | "hubspot-rate-limited"
        | "salesforce-pull-rest"
        | "salesforce-pull-bulk"
        | "salesforce-push" => {
            vec![scenario.as_str()]
        }
        other => bail!("unknown scenario `{other}`; see the file's header"),
    };
    for s in scenarios {
        run(s, records, direction).await?;
    }
    Ok(())
}

async fn store() -> anyhow::Result<(Arc<dyn SyncStore>, std::path::PathBuf)> {
    let path = std::env::temp_dir().join(format!(
        "crmsync-bench-{}-{}.db",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok((
        Arc::new(SqliteStore::open(&path, CredentialKey::generate()?).await?),
        path,
    ))
}

async fn run(scenario: &str, n: usize, direction: Direction) -> anyhow::Result<()> {
    let (store, path) = store().await?;
    let tenant = TenantId::new("bench");
    let engine = Engine::new(store.clone());
    let app: Arc<dyn CrmProviderDyn> = Arc::new(MirrorProvider::new(store.clone(), tenant.clone()));
    let started;
    let (report, calls, throttled) = match scenario {
        "hubspot-pull" | "hubspot-push" | "hubspot-incremental" | "hubspot-rate-limited" => {
            let limited = scenario == "hubspot-rate-limited";
            let sim = HubSpotSim::start(HubSpotSimConfig {
                contacts: if scenario == "hubspot-push" { 0 } else { n },
                companies: 0,
                deals: 0,
                rate_limit_10s: if limited { 100 } else { 0 },
                search_rate_per_s: 0,
                ..HubSpotSimConfig::default()
            })
            .await?;
            let config = HubSpotConfig::private_app(sim.base_url(), sim.private_app_token());
            bind_hubspot(&engine, &tenant, app, config, if limited { 100 } else { 0 })?;
            if scenario == "hubspot-push" {
                write_people(&store, &tenant, n).await?;
            }
            let job = || {
                SyncJob::new(tenant.clone(), "crm".into(), ObjectKind::Contact)
                    .mode(SyncMode::Full)
                    .direction(direction)
            };
            if scenario == "hubspot-incremental" {
                let full = engine.run(job()).await?;
                if full.status != RunStatus::Success {
                    bail!("{scenario}: the full sync: {:?}", full.error);
                }
                for record in sim.records("contacts").iter().step_by(100) {
                    sim.edit("contacts", &record.id, &[("jobtitle", "Edited in HubSpot")]);
                }
            }
            sim.reset_stats();
            started = Instant::now();
            let report = match scenario {
                "hubspot-incremental" => engine.run(job().mode(SyncMode::Incremental)).await?,
                _ => engine.run(job()).await?,
            };
            let stats = sim.stats();
            (report, stats.requests, stats.throttled_429)
        }
        "hubspot-pull-process" => {
            // The simulator in its own process: the peak RSS printed is the engine's.
            let (mut child, line) = spawn_simulator(n)?;
            let base_url = line["base_url"].as_str().context("simulator base_url")?;
            let token = line["private_app_token"]
                .as_str()
                .context("simulator private_app_token")?;
            let config = HubSpotConfig::private_app(base_url, token.to_owned());
            let crm = bind_hubspot(&engine, &tenant, app, config, 0)?;
            started = Instant::now();
            let job = SyncJob::new(tenant.clone(), "crm".into(), ObjectKind::Contact)
                .mode(SyncMode::Full)
                .direction(direction);
            let report = engine.run(job).await;
            let _ = child.kill();
            let _ = child.wait();
            (report?, crm.api_calls(), 0)
        }
        _ => {
            let sim = SalesforceSim::start(SalesforceSimConfig {
                contacts: if scenario == "salesforce-push" { 0 } else { n },
                leads: 0,
                accounts: 0,
                opportunities: 0,
                daily_api_limit: 10_000_000,
                ..SalesforceSimConfig::default()
            })
            .await?;
            let mut config = SalesforceConfig::refresh_token(
                sim.login_url(),
                sim.client_id(),
                sim.client_secret(),
                sim.refresh_token(),
            )
            .scope("bench", "salesforce");
            config.bulk_query_threshold = if scenario == "salesforce-pull-bulk" {
                1
            } else {
                u64::MAX
            };
            config
                .external_id_fields
                .insert(ObjectKind::Contact, "External_Id__c".into());
            let crm: Arc<dyn CrmProviderDyn> = Arc::new(SalesforceProvider::new(config)?);
            engine.bind(
                tenant.clone(),
                "crm".into(),
                Binding::new(
                    app,
                    crm,
                    Arc::new(DeclarativeMapper::salesforce_defaults()),
                    ConflictPolicy::default(),
                ),
            );
            if scenario == "salesforce-push" {
                write_people(&store, &tenant, n).await?;
            }
            sim.reset_stats();
            started = Instant::now();
            let job = SyncJob::new(tenant.clone(), "crm".into(), ObjectKind::Contact)
                .mode(SyncMode::Full)
                .direction(direction);
            let report = engine.run(job).await?;
            let stats = sim.stats();
            (report, stats.requests, stats.throttled)
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    if report.status != RunStatus::Success {
        bail!("{scenario}: {:?}: {:?}", report.status, report.error);
    }
    let moved = report.counts.created_local
        + report.counts.created_remote
        + report.counts.updated_local
        + report.counts.updated_remote;
    // The rate-limited ceiling: 100 requests per 10 s, 100 records per list page.
    let ceiling_fraction = (scenario == "hubspot-rate-limited")
        .then(|| ((moved as f64 / seconds) / 1_000.0 * 1000.0).round() / 1000.0);
    println!(
        "{}",
        json!({
            "scenario": scenario,
            "direction": direction.as_str(),
            "records": moved,
            "api_calls": calls,
            "wall_seconds": (seconds * 1000.0).round() / 1000.0,
            "records_per_second": (moved as f64 / seconds).round(),
            "peak_rss_mb": peak_rss_mb(),
            "throttled": throttled,
            "ceiling_fraction": ceiling_fraction,
        })
    );
    if std::env::var_os("CRMSYNC_BENCH_KEEP").is_some() {
        eprintln!("kept the store for inspection: {}", path.display());
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    Ok(())
}

/// Binds the `crm` connection of `tenant` to HubSpot with the default contact mapping,
/// pacing at `rate_limit_10s` requests per 10 s (0: no pacing), no search pacing.
fn bind_hubspot(
    engine: &Engine,
    tenant: &TenantId,
    app: Arc<dyn CrmProviderDyn>,
    config: HubSpotConfig,
    rate_limit_10s: u32,
) -> anyhow::Result<Arc<dyn CrmProviderDyn>> {
    let mut config = config.scope("bench", "hubspot");
    config.rate_limit_10s = rate_limit_10s;
    config.search_per_second = 0;
    let crm: Arc<dyn CrmProviderDyn> = Arc::new(HubSpotProvider::new(config)?);
    engine.bind(
        tenant.clone(),
        "crm".into(),
        Binding::new(
            app,
            crm.clone(),
            Arc::new(DeclarativeMapper::hubspot_defaults()),
            ConflictPolicy::default(),
        ),
    );
    Ok(crm)
}

/// Starts `crmsync-sim hubspot --contacts N` (`CRMSYNC_SIM_BIN`, else the binary beside
/// this example's directory: `cargo build --release -p crmsync-sim` first) and reads the
/// line it prints once it serves.
fn spawn_simulator(n: usize) -> anyhow::Result<(std::process::Child, serde_json::Value)> {
    use std::io::BufRead;
    let bin = match std::env::var_os("CRMSYNC_SIM_BIN") {
        Some(path) => std::path::PathBuf::from(path),
        None => std::env::current_exe()?
            .parent()
            .and_then(std::path::Path::parent)
            .context("the example's directory")?
            .join("crmsync-sim"),
    };
    let mut child = std::process::Command::new(&bin)
        .args([
            "hubspot",
            "--port",
            "0",
            "--rate-limit-10s",
            "0",
            "--search-rate-per-s",
            "0",
        ])
        .args([
            "--companies",
            "0",
            "--deals",
            "0",
            "--contacts",
            &n.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| {
            format!(
                "starting {} (build it with cargo build --release -p crmsync-sim)",
                bin.display()
            )
        })?;
    let stdout = child.stdout.take().context("the simulator's stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let parsed = serde_json::from_str(&line)
        .with_context(|| format!("the simulator's first line: {line:?}"))?;
    Ok((child, parsed))
}

/// N new application contacts, distinct people.
async fn write_people(
    store: &Arc<dyn SyncStore>,
    tenant: &TenantId,
    n: usize,
) -> anyhow::Result<()> {
    let mut writes = Vec::with_capacity(n);
    for i in 0..n {
        let (first, last) = person(i as u64);
        writes.push(MirrorWrite {
            id: None,
            fields: serde_json::from_value(json!({
                "first_name": first,
                "last_name": last,
                "email": format!("{}.{}.{i}@example.com", first.to_lowercase(), last.to_lowercase()),
                "phone": format!("+1212{}", 2_000_000 + i),
            }))?,
            idempotency_key: None,
        });
    }
    for chunk in writes.chunks(5_000) {
        store
            .mirror_write(tenant, &ObjectKind::Contact, chunk.to_vec())
            .await?;
    }
    Ok(())
}

/// A distinct, name-like person for record `i` (no two are a typo apart).
fn person(i: u64) -> (String, String) {
    const FIRST: [&str; 8] = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
    ];
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mer", "vin", "tor", "sa", "bel", "qui", "dra", "nov", "pel", "rus", "ti",
        "gan", "wen", "zor",
    ];
    // splitmix64: consecutive records get unrelated names.
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let mut last = String::new();
    for k in 0..4 {
        last.push_str(SYLLABLES[((z >> (k * 4)) & 15) as usize]);
    }
    let mut chars = last.chars();
    let last = chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default();
    (
        FIRST[((z >> 20) & 7) as usize].to_owned(),
        format!("{last}{}", SYLLABLES[((z >> 24) & 15) as usize]),
    )
}

/// Peak resident set size of this process, from /proc (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}
