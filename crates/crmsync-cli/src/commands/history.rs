//! `crmsync history`: run history from the store, newest first.

use crmsync_core::{ObjectKind, RunFilter, TenantId};
use serde_json::json;

use crate::{
    cli::HistoryArgs,
    commands::when,
    config::Config,
    error::CliError,
    output::{Out, Table, human_duration, status_style, truncate},
    wiring,
};

/// Prints the tenant's runs (of one connection or object, if asked).
pub async fn run(
    config: &Config,
    tenant_flag: Option<&str>,
    args: &HistoryArgs,
    out: &Out,
) -> Result<u8, CliError> {
    let tenant = match (&args.connection, tenant_flag) {
        (Some(name), None) => match config.connections.get(name) {
            Some(c) => c.tenant.clone(),
            None => config.tenant(None)?,
        },
        _ => config.tenant(tenant_flag)?,
    };
    let store = wiring::open_store(config, true).await?;
    let filter = RunFilter {
        connection: args.connection.as_deref().map(Into::into),
        object: args.object.as_deref().map(ObjectKind::parse),
        limit: Some(args.limit.max(1)),
    };
    let runs = store
        .store
        .list_runs(&TenantId::new(tenant.as_str()), &filter)
        .await;
    store.close().await;
    let runs = runs?;
    if out.json {
        out.json_value(&json!({ "tenant": tenant, "runs": runs }));
        return Ok(0);
    }
    if runs.is_empty() {
        out.line(format!(
            "No runs yet for tenant {tenant}. Start one with `crmsync sync <connection>`."
        ));
        return Ok(0);
    }
    let mut table = Table::new(&[
        ">run",
        "started (UTC)",
        "connection",
        "object",
        "mode",
        "status",
        ">processed",
        ">created",
        ">updated",
        ">deleted",
        ">dead",
        ">took",
        "error",
    ]);
    for run in &runs {
        let c = &run.counts;
        let took = run
            .finished_at
            .map(|end| human_duration((end - run.started_at).num_milliseconds() as f64 / 1000.0))
            .unwrap_or_else(|| "-".into());
        table.styled_row(vec![
            (run.id.map(|i| i.to_string()).unwrap_or_default(), None),
            (when(run.started_at), None),
            (run.connection.to_string(), None),
            (run.object.to_string(), None),
            (
                format!(
                    "{}{}",
                    match run.mode {
                        crmsync_core::SyncMode::Full => "full",
                        crmsync_core::SyncMode::Incremental => "incremental",
                    },
                    match run.direction {
                        crmsync_core::Direction::Both => "",
                        crmsync_core::Direction::Pull => " pull",
                        crmsync_core::Direction::Push => " push",
                    }
                ),
                None,
            ),
            (
                run.status.as_str().to_owned(),
                Some(status_style(run.status.as_str())),
            ),
            (c.processed().to_string(), None),
            ((c.created_local + c.created_remote).to_string(), None),
            ((c.updated_local + c.updated_remote).to_string(), None),
            ((c.deleted_local + c.deleted_remote).to_string(), None),
            (c.dead_letters.to_string(), None),
            (took, None),
            (truncate(run.error.as_deref().unwrap_or(""), 70), None),
        ]);
    }
    out.line(format!(
        "{} for tenant {tenant}",
        out.heading("Run history")
    ));
    table.print(out, 2);
    Ok(0)
}
