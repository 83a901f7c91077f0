//! `crmsync doctor`: checks the configuration, the store, each connection's credentials,
//! mapping and reachability, and its schedule, and says how to fix what fails.

use std::{path::Path, time::Duration};

use chrono::Utc;
use crmsync_core::{RunFilter, TenantId};
use serde_json::json;

use crate::{
    cli::DoctorArgs,
    config::{Config, Connection, StoreSettings},
    error::{CliError, exit, hint_for},
    output::{Out, human_duration, interval, status_style},
    wiring::{self, ProviderOptions},
};

/// One check.
struct Check {
    area: String,
    status: &'static str,
    detail: String,
    fix: Option<String>,
    /// A failure of configuration (exit 78) rather than of a system (exit 1).
    config: bool,
}

impl Check {
    fn ok(area: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            area: area.into(),
            status: "ok",
            detail: detail.into(),
            fix: None,
            config: false,
        }
    }

    fn warn(area: impl Into<String>, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            area: area.into(),
            status: "warn",
            detail: detail.into(),
            fix: Some(fix.into()),
            config: false,
        }
    }

    fn fail(area: impl Into<String>, err: &CliError) -> Self {
        Self {
            area: area.into(),
            status: "fail",
            detail: err.message.clone(),
            fix: err.hint.clone(),
            config: err.code == exit::CONFIG,
        }
    }
}

/// Runs every check and prints them.
pub async fn run(path: &Path, args: &DoctorArgs, out: &Out) -> Result<u8, CliError> {
    let mut checks = Vec::new();
    match Config::load(path) {
        Err(err) => checks.push(Check::fail("config", &err)),
        Ok(config) => {
            checks.push(Check::ok(
                "config",
                format!(
                    "{}: {} connection(s), tenants {}",
                    path.display(),
                    config.connections.len(),
                    config.all_tenants().join(", ")
                ),
            ));
            let connections: Vec<&Connection> = match &args.connection {
                Some(name) => vec![config.connection(name)?],
                None => config.connections.values().collect(),
            };
            if connections.is_empty() {
                checks.push(Check::warn(
                    "connections",
                    "none configured",
                    "add a [connections.NAME] section (`crmsync init --print` shows one)",
                ));
            }
            check_all(&config, &connections, &mut checks).await;
        }
    }
    let code = if checks.iter().any(|c| c.status == "fail" && c.config) {
        exit::CONFIG
    } else if checks.iter().any(|c| c.status == "fail") {
        exit::FAILED
    } else {
        exit::SUCCESS
    };
    if out.json {
        out.json_value(&json!({
            "checks": checks.iter().map(|c| json!({
                "area": c.area, "status": c.status, "detail": c.detail, "fix": c.fix,
            })).collect::<Vec<_>>(),
            "exit_code": code,
        }));
        return Ok(code);
    }
    let width = checks
        .iter()
        .map(|c| c.area.chars().count())
        .max()
        .unwrap_or(0);
    for c in &checks {
        out.line(format!(
            "{}  {:<width$}  {}",
            out.paint(status_style(c.status), &format!("{:<4}", c.status)),
            c.area,
            c.detail
        ));
        if let Some(fix) = &c.fix {
            out.line(format!("      {:<width$}  fix: {fix}", ""));
        }
    }
    Ok(code)
}

async fn check_all(config: &Config, connections: &[&Connection], checks: &mut Vec<Check>) {
    let exists = match &config.store {
        StoreSettings::Sqlite { path } => path.exists(),
        StoreSettings::Postgres { .. } => true,
    };
    let store = match wiring::open_store(config, true).await {
        Ok(store) => {
            checks.push(if exists {
                Check::ok("store", wiring::Store::describe(config))
            } else {
                Check::ok(
                    "store",
                    format!(
                        "{} (not created yet: the first sync creates it)",
                        wiring::Store::describe(config)
                    ),
                )
            });
            Some(store)
        }
        Err(err) => {
            checks.push(Check::fail("store", &err));
            None
        }
    };
    for connection in connections {
        let area = |what: &str| format!("{} {what}", connection.name);
        let mut credentials_ok = true;
        for secret in connection.provider.secrets() {
            match secret.resolve() {
                Ok(_) => checks.push(Check::ok(
                    area("credentials"),
                    format!("{} from {}", secret.name, secret.describe()),
                )),
                Err(err) => {
                    credentials_ok = false;
                    checks.push(Check::fail(area("credentials"), &err));
                }
            }
        }
        let mapper = match wiring::mapper(connection) {
            Ok(mapper) => {
                let unmapped: Vec<String> = connection
                    .objects
                    .iter()
                    .filter(|o| !mapper.maps(o))
                    .map(ToString::to_string)
                    .collect();
                if unmapped.is_empty() {
                    checks.push(Check::ok(
                        area("mapping"),
                        format!(
                            "{} for {}",
                            match &connection.mapping {
                                crate::config::MappingSource::Builtin => "built-in".to_owned(),
                                crate::config::MappingSource::File(p) => p.display().to_string(),
                            },
                            connection
                                .objects
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                } else {
                    checks.push(Check::warn(
                        area("mapping"),
                        format!("no rules for {}", unmapped.join(", ")),
                        "add their rules to the mapping file, or remove them from `objects`",
                    ));
                }
                Some(mapper)
            }
            Err(err) => {
                checks.push(Check::fail(area("mapping"), &err));
                None
            }
        };
        if credentials_ok {
            checks.push(reachability(connection, &area("reachable")).await);
        }
        if let (Some(schedule), Some(store)) = (connection.schedule, &store) {
            checks
                .push(schedule_check(&store.store, connection, schedule, &area("schedule")).await);
        }
        drop(mapper);
    }
    if let Some(store) = store {
        store.close().await;
    }
}

async fn reachability(connection: &Connection, area: &str) -> Check {
    let object = connection
        .objects
        .first()
        .cloned()
        .unwrap_or(crmsync_core::ObjectKind::Contact);
    let provider = match wiring::remote_provider(connection, ProviderOptions { quick: true }) {
        Ok(p) => p,
        Err(err) => return Check::fail(area, &err),
    };
    let started = std::time::Instant::now();
    match tokio::time::timeout(Duration::from_secs(20), provider.describe(&object)).await {
        Ok(Ok(schema)) => Check::ok(
            area,
            format!(
                "{} answered in {} ({} {} fields)",
                connection.provider.url(),
                human_duration(started.elapsed().as_secs_f64()),
                schema.fields.len(),
                object
            ),
        ),
        Ok(Err(err)) => {
            let fix = hint_for(err.kind()).unwrap_or("check the connection's settings");
            Check::fail(
                area,
                &CliError::failed(format!("{}: {err}", connection.provider.url())).hint(fix),
            )
        }
        Err(_) => Check::fail(
            area,
            &CliError::failed(format!(
                "{} did not answer within 20 s",
                connection.provider.url()
            ))
            .hint("check the URL and the network"),
        ),
    }
}

async fn schedule_check(
    store: &std::sync::Arc<dyn crmsync_core::SyncStore>,
    connection: &Connection,
    every: Duration,
    area: &str,
) -> Check {
    let filter = RunFilter {
        connection: Some(connection.name.as_str().into()),
        object: None,
        limit: Some(1),
    };
    let every_text = interval(every);
    match store
        .list_runs(&TenantId::new(connection.tenant.as_str()), &filter)
        .await
    {
        Ok(runs) => match runs.first() {
            None => Check::warn(
                area,
                format!("every {every_text}; never run"),
                format!(
                    "run `crmsync sync {}` (or let your scheduler do it)",
                    connection.name
                ),
            ),
            Some(last) => {
                let ago = (Utc::now() - last.started_at).num_seconds().max(0) as f64;
                if ago > 2.0 * every.as_secs_f64() {
                    Check::warn(
                        area,
                        format!("every {every_text}; last run {} ago", human_duration(ago)),
                        "the scheduler seems not to run it: check cron / systemd timers",
                    )
                } else {
                    Check::ok(
                        area,
                        format!("every {every_text}; last run {} ago", human_duration(ago)),
                    )
                }
            }
        },
        Err(err) => Check::fail(area, &CliError::from(err)),
    }
}
