//! `crmsync review list|show|resolve|dismiss`: fields parked by the `manual` conflict
//! strategy, and ambiguous matches.
//!
//! `resolve` records the decision in the store and, unless `--no-apply`, applies it at
//! once: the engine applies resolved items at the start of every run, so the command runs
//! the item's connection and object with an empty change feed ([`TargetedFeed`] with no
//! records) — the decision is written to both sides and audited, nothing else is read,
//! and no cursor moves.

use std::{collections::BTreeMap, sync::Arc};

use crmsync_core::{
    CrmProviderDyn, Direction, ReviewChoice, ReviewFilter, ReviewItem, ReviewKind, ReviewStatus,
    SyncJob, SyncStore, TenantId,
};
use serde_json::{Value, json};

use crate::{
    cli::{ReviewCommand, ReviewStatusArg, SideArg},
    commands::{when, who},
    config::Config,
    error::{CliError, exit},
    output::{Out, Table, status_style, truncate},
    replay::TargetedFeed,
    wiring,
};

/// Runs a `review` subcommand.
pub async fn run(
    config: &Config,
    tenant_flag: Option<&str>,
    command: ReviewCommand,
    out: &Out,
) -> Result<u8, CliError> {
    let tenant_name = match &command {
        ReviewCommand::List {
            connection: Some(c),
            ..
        } if tenant_flag.is_none() => config.connection(c)?.tenant.clone(),
        _ => config.tenant(tenant_flag)?,
    };
    let tenant = TenantId::new(tenant_name.as_str());
    let read_only = matches!(
        command,
        ReviewCommand::List { .. } | ReviewCommand::Show { .. }
    );
    let store = wiring::open_store(config, read_only).await?;
    let result = match command {
        ReviewCommand::List {
            connection,
            status,
            limit,
        } => list(&*store.store, &tenant, connection, status, limit, out).await,
        ReviewCommand::Show { id } => show(&*store.store, &tenant, id, out).await,
        ReviewCommand::Dismiss { id, by } => {
            let item = item(&*store.store, &tenant, id).await?;
            pending(&item, id)?;
            let by = who(by.as_deref());
            store.store.dismiss_review_item(&tenant, id, &by).await?;
            if out.json {
                out.json_value(&json!({ "id": id, "status": "dismissed", "by": by }));
            } else {
                out.line(format!(
                    "review item #{id} dismissed by {by}; the fields stay as they are"
                ));
            }
            Ok(0)
        }
        ReviewCommand::Resolve {
            id,
            take,
            fields,
            values,
            by,
            no_apply,
        } => {
            let decision = Decision {
                take,
                fields,
                values,
                by: who(by.as_deref()),
                apply: !no_apply,
            };
            resolve(config, &store.store, &tenant, id, decision, out).await
        }
    };
    store.close().await;
    result
}

async fn item(store: &dyn SyncStore, tenant: &TenantId, id: i64) -> Result<ReviewItem, CliError> {
    store.get_review_item(tenant, id).await?.ok_or_else(|| {
        CliError::usage(format!("no review item #{id} for this tenant"))
            .hint("`crmsync review list --status all` lists them (use --tenant for another tenant)")
    })
}

fn pending(item: &ReviewItem, id: i64) -> Result<(), CliError> {
    if item.status == ReviewStatus::Pending {
        return Ok(());
    }
    Err(CliError::usage(format!(
        "review item #{id} is already {}",
        item.status.as_str()
    ))
    .hint("only pending items can be resolved or dismissed; `crmsync review list` shows them"))
}

fn short(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "∅".into(),
        Some(Value::String(s)) => truncate(s, 40),
        Some(v) => truncate(&v.to_string(), 40),
    }
}

async fn list(
    store: &dyn SyncStore,
    tenant: &TenantId,
    connection: Option<String>,
    status: ReviewStatusArg,
    limit: u32,
    out: &Out,
) -> Result<u8, CliError> {
    let filter = ReviewFilter {
        connection: connection.map(Into::into),
        object: None,
        status: match status {
            ReviewStatusArg::Pending => Some(ReviewStatus::Pending),
            ReviewStatusArg::Resolved => Some(ReviewStatus::Resolved),
            ReviewStatusArg::Applied => Some(ReviewStatus::Applied),
            ReviewStatusArg::Dismissed => Some(ReviewStatus::Dismissed),
            ReviewStatusArg::All => None,
        },
        limit: Some(limit.max(1)),
    };
    let items = store.list_review_items(tenant, &filter).await?;
    if out.json {
        out.json_value(&json!({ "tenant": tenant.as_str(), "items": items }));
        return Ok(0);
    }
    if items.is_empty() {
        out.line("Nothing waits for review.");
        return Ok(0);
    }
    let mut table = Table::new(&[
        ">id",
        "connection",
        "object",
        "kind",
        "application",
        "crm",
        "fields",
        "status",
        "since (UTC)",
    ]);
    for i in &items {
        table.styled_row(vec![
            (i.id.map(|x| x.to_string()).unwrap_or_default(), None),
            (i.connection.to_string(), None),
            (i.object.to_string(), None),
            (i.kind.as_str().to_owned(), None),
            (
                i.local_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                None,
            ),
            (
                i.remote_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                None,
            ),
            (truncate(&i.fields.join(", "), 40), None),
            (
                i.status.as_str().to_owned(),
                Some(status_style(i.status.as_str())),
            ),
            (when(i.created_at), None),
        ]);
    }
    table.print(out, 0);
    out.line(out.dim(
        "`crmsync review show ID` shows the values; `crmsync review resolve ID --take local|remote` decides",
    ));
    Ok(0)
}

async fn show(
    store: &dyn SyncStore,
    tenant: &TenantId,
    id: i64,
    out: &Out,
) -> Result<u8, CliError> {
    let item = item(store, tenant, id).await?;
    if out.json {
        out.json_value(&serde_json::to_value(&item).unwrap_or_default());
        return Ok(0);
    }
    out.line(format!(
        "{} #{id}: {} {} on {} — {}",
        out.heading("Review item"),
        item.object,
        item.kind.as_str(),
        item.connection,
        out.paint(status_style(item.status.as_str()), item.status.as_str())
    ));
    out.line(format!("  {}", item.reason));
    out.line(format!(
        "  application record {}, CRM record {}",
        item.local_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "-".into()),
        item.remote_id
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_else(|| "-".into())
    ));
    if item.kind == ReviewKind::Conflict {
        let mut table = Table::new(&["field", "last synced", "application", "crm", "decision"]);
        for field in &item.fields {
            let decision = match item.resolution.get(field) {
                Some(ReviewChoice::Local) => "application".to_owned(),
                Some(ReviewChoice::Remote) => "crm".to_owned(),
                Some(ReviewChoice::Value(v)) => format!("= {}", short(Some(v))),
                None => "-".to_owned(),
            };
            table.row(vec![
                field.clone(),
                short(item.base.get(field)),
                short(item.local.get(field)),
                short(item.remote.get(field)),
                decision,
            ]);
        }
        table.print(out, 2);
    } else {
        out.line(format!(
            "  candidates: {}",
            item.candidates
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let (Some(by), Some(at)) = (&item.resolved_by, item.resolved_at) {
        out.line(format!("  decided by {by} at {} UTC", when(at)));
    }
    if item.status == ReviewStatus::Pending && item.kind == ReviewKind::Conflict {
        out.line(out.dim(&format!(
            "decide with `crmsync review resolve {id} --take local` (or remote, or --value FIELD=VALUE)"
        )));
    }
    Ok(0)
}

/// What `resolve` was told.
struct Decision {
    take: Option<SideArg>,
    fields: Vec<String>,
    values: Vec<String>,
    by: String,
    apply: bool,
}

fn side(arg: SideArg) -> ReviewChoice {
    match arg {
        SideArg::Local => ReviewChoice::Local,
        SideArg::Remote => ReviewChoice::Remote,
    }
}

/// The per-field choices of a decision, checked against the item's fields.
fn resolution(
    item: &ReviewItem,
    decision: &Decision,
) -> Result<BTreeMap<String, ReviewChoice>, CliError> {
    let mut out = BTreeMap::new();
    if let Some(take) = decision.take {
        for field in &item.fields {
            out.insert(field.clone(), side(take));
        }
    }
    let known = |field: &str| -> Result<(), CliError> {
        if item.fields.iter().any(|f| f == field) {
            Ok(())
        } else {
            Err(
                CliError::usage(format!("field `{field}` is not part of this review item"))
                    .hint(format!("its fields: {}", item.fields.join(", "))),
            )
        }
    };
    for spec in &decision.fields {
        let (field, which) = spec.split_once('=').ok_or_else(|| {
            CliError::usage(format!(
                "--field {spec}: expected FIELD=local or FIELD=remote"
            ))
            .hint("e.g. --field email=remote")
        })?;
        known(field)?;
        let choice = match which.trim() {
            "local" | "application" | "app" => ReviewChoice::Local,
            "remote" | "crm" => ReviewChoice::Remote,
            other => {
                return Err(CliError::usage(format!(
                    "--field {field}={other}: the side must be `local` or `remote`"
                ))
                .hint("to write a value of your own, use --value FIELD=VALUE"));
            }
        };
        out.insert(field.to_owned(), choice);
    }
    for spec in &decision.values {
        let (field, value) = spec.split_once('=').ok_or_else(|| {
            CliError::usage(format!("--value {spec}: expected FIELD=VALUE")).hint(
                "e.g. --value lead_status=OPEN (JSON values such as 42 or null are read as JSON)",
            )
        })?;
        known(field)?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        out.insert(field.to_owned(), ReviewChoice::Value(value));
    }
    if out.is_empty() {
        return Err(CliError::usage("say what to keep").hint(
            "--take local|remote for every field, --field FIELD=local|remote, or --value FIELD=VALUE",
        ));
    }
    Ok(out)
}

async fn resolve(
    config: &Config,
    store: &Arc<dyn SyncStore>,
    tenant: &TenantId,
    id: i64,
    decision: Decision,
    out: &Out,
) -> Result<u8, CliError> {
    let current = item(&**store, tenant, id).await?;
    pending(&current, id)?;
    if current.kind == ReviewKind::AmbiguousMatch {
        return Err(CliError::usage(format!(
            "review item #{id} is an ambiguous match, not a conflict"
        ))
        .hint("merge or fix the duplicate records in the CRM, then `crmsync review dismiss` it; the next sync matches again"));
    }
    let choices = resolution(&current, &decision)?;
    let undecided: Vec<&String> = current
        .fields
        .iter()
        .filter(|f| !choices.contains_key(*f))
        .collect();
    if !store
        .resolve_review_item(tenant, id, choices.clone(), &decision.by)
        .await?
    {
        return Err(
            CliError::failed(format!("review item #{id} changed meanwhile"))
                .hint("`crmsync review show ID` shows its state"),
        );
    }
    let mut applied = false;
    let mut apply_error = None;
    if decision.apply {
        match apply(config, store, tenant, &current).await {
            Ok(()) => {
                applied = item(&**store, tenant, id).await?.status == ReviewStatus::Applied;
            }
            Err(e) => apply_error = Some(e),
        }
    }
    let code = if !decision.apply || applied {
        exit::SUCCESS
    } else {
        exit::PARTIAL
    };
    let next_sync = format!("crmsync sync {} {}", current.connection, current.object);
    if out.json {
        out.json_value(&json!({
            "id": id,
            "resolution": choices,
            "by": decision.by,
            "status": if applied { "applied" } else { "resolved" },
            "undecided": undecided,
            "error": apply_error.as_ref().map(|e| e.message.clone()),
            "exit_code": code,
        }));
        return Ok(code);
    }
    out.line(format!("review item #{id} resolved by {}", decision.by));
    for (field, choice) in &choices {
        let what = match choice {
            ReviewChoice::Local => format!(
                "the application's value ({})",
                short(current.local.get(field))
            ),
            ReviewChoice::Remote => {
                format!("the CRM's value ({})", short(current.remote.get(field)))
            }
            ReviewChoice::Value(v) => short(Some(v)),
        };
        out.line(format!("  {field}: {what}"));
    }
    if !undecided.is_empty() {
        out.line(format!(
            "  undecided fields stay parked: {}",
            undecided
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if applied {
        out.line(out.paint(status_style("applied"), "  applied to both sides"));
    } else if decision.apply {
        let why = apply_error
            .map(|e| e.to_string())
            .unwrap_or_else(|| "not applied yet".into());
        out.line(out.paint(status_style("partial"), &format!("  {why}")));
        out.line(format!("  the decision is kept: `{next_sync}` applies it"));
    } else {
        out.line(format!("  `{next_sync}` applies it"));
    }
    Ok(code)
}

/// Runs the item's connection and object with an empty feed: the engine applies
/// resolved decisions first, and there is nothing else to do.
async fn apply(
    config: &Config,
    store: &Arc<dyn SyncStore>,
    tenant: &TenantId,
    item: &ReviewItem,
) -> Result<(), CliError> {
    let connection = config.connection(item.connection.as_str())?;
    let mapper = wiring::mapper(connection)?;
    let remote = wiring::remote_provider(connection, Default::default())?;
    let feed: Arc<dyn CrmProviderDyn> = Arc::new(TargetedFeed::new(remote, Vec::new()));
    let local = wiring::local_provider(store, connection);
    let engine = wiring::engine(store, connection, (local, feed), mapper, None);
    let job = SyncJob::new(tenant.clone(), item.connection.clone(), item.object.clone())
        .direction(Direction::Pull);
    let report = engine.run(job).await?;
    match report.error {
        Some(error) if report.status == crmsync_core::RunStatus::Failed => Err(CliError::failed(
            format!("applying the decision failed: {error}"),
        )),
        _ => Ok(()),
    }
}
