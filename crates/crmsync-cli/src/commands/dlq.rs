//! `crmsync dlq list|show|replay|discard`: records that could not be synced.
//!
//! Replay re-reads each dead-lettered record from the system it came from (so a record
//! fixed there is read as it is now), checks it against the connection's mapping (so a
//! record fixed by a mapping change passes too), and runs the ones that pass through the
//! ordinary engine with a change feed of exactly those records ([`TargetedFeed`]): links,
//! matching, conflict rules, audit and run history all apply, and no stored cursor moves.
//! A record that passes is marked `replayed`; one still failing the mapping stays
//! `pending` with one more attempt counted and the new reason shown; one failing at the
//! other side is recorded by the run on the same pending letter (the store keeps one per
//! record and direction), or, when the run recorded it under another direction, on a
//! fresh letter that supersedes the old one (marked `discarded`).

use std::{collections::BTreeMap, sync::Arc};

use crmsync_core::{
    ConnectionId, CrmProviderDyn, DeadLetter, DeadLetterStatus, Direction, FieldMapper, MapContext,
    ObjectKind, RecordId, SyncJob, SyncOptions, SyncStore, TenantId,
};
use serde_json::json;

use crate::{
    cli::{DlqCommand, DlqStatusArg},
    commands::when,
    config::Config,
    error::{CliError, exit},
    output::{Out, Table, status_style, truncate},
    replay::TargetedFeed,
    wiring,
};

/// Every dead letter of a tenant there is room for (the store lists by status only).
const ALL: u32 = 1_000_000;

/// Runs a `dlq` subcommand.
pub async fn run(
    config: &Config,
    tenant_flag: Option<&str>,
    command: DlqCommand,
    out: &Out,
) -> Result<u8, CliError> {
    let tenant_name = match &command {
        DlqCommand::List {
            connection: Some(c),
            ..
        }
        | DlqCommand::Replay {
            connection: Some(c),
            ..
        } if tenant_flag.is_none() => config.connection(c)?.tenant.clone(),
        _ => config.tenant(tenant_flag)?,
    };
    let tenant = TenantId::new(tenant_name.as_str());
    let read_only = matches!(command, DlqCommand::List { .. } | DlqCommand::Show { .. })
        || matches!(command, DlqCommand::Replay { dry_run: true, .. });
    let store = wiring::open_store(config, read_only).await?;
    let result = match command {
        DlqCommand::List {
            connection,
            status,
            limit,
        } => {
            list(
                &*store.store,
                &tenant,
                connection.as_deref(),
                status,
                limit,
                out,
            )
            .await
        }
        DlqCommand::Show { id } => show(&*store.store, &tenant, id, out).await,
        DlqCommand::Discard { ids } => discard(&*store.store, &tenant, &ids, out).await,
        DlqCommand::Replay {
            ids,
            all,
            connection,
            dry_run,
        } => {
            replay(
                config,
                &store.store,
                &tenant,
                Selection {
                    ids,
                    all,
                    connection,
                },
                dry_run,
                out,
            )
            .await
        }
    };
    store.close().await;
    result
}

async fn letters(
    store: &dyn SyncStore,
    tenant: &TenantId,
    status: Option<DeadLetterStatus>,
    limit: u32,
) -> Result<Vec<DeadLetter>, CliError> {
    Ok(store.list_dead_letters(tenant, status, limit).await?)
}

fn not_found(id: i64) -> CliError {
    CliError::usage(format!("no dead letter #{id} for this tenant"))
        .hint("`crmsync dlq list --status all` lists them (use --tenant for another tenant)")
}

async fn list(
    store: &dyn SyncStore,
    tenant: &TenantId,
    connection: Option<&str>,
    status: DlqStatusArg,
    limit: u32,
    out: &Out,
) -> Result<u8, CliError> {
    let status = match status {
        DlqStatusArg::Pending => Some(DeadLetterStatus::Pending),
        DlqStatusArg::Replayed => Some(DeadLetterStatus::Replayed),
        DlqStatusArg::Discarded => Some(DeadLetterStatus::Discarded),
        DlqStatusArg::All => None,
    };
    let mut found = letters(store, tenant, status, ALL).await?;
    found.retain(|l| connection.is_none_or(|c| l.connection.as_str() == c));
    // Newest first, like history.
    found.reverse();
    found.truncate(limit as usize);
    if out.json {
        out.json_value(&json!({ "tenant": tenant.as_str(), "dead_letters": found }));
        return Ok(0);
    }
    if found.is_empty() {
        out.line("The dead-letter queue is empty.");
        return Ok(0);
    }
    let mut table = Table::new(&[
        ">id",
        "connection",
        "object",
        "way",
        "record",
        "error",
        "field",
        "rule",
        ">tries",
        "status",
        "last failed (UTC)",
    ]);
    for l in &found {
        table.styled_row(vec![
            (l.id.map(|i| i.to_string()).unwrap_or_default(), None),
            (l.connection.to_string(), None),
            (l.object.to_string(), None),
            (l.direction.as_str().to_owned(), None),
            (l.record_id.to_string(), None),
            (l.error_kind.clone(), None),
            (l.field.clone().unwrap_or_default(), None),
            (l.rule.clone().unwrap_or_default(), None),
            (l.attempts.to_string(), None),
            (
                l.status.as_str().to_owned(),
                Some(status_style(l.status.as_str())),
            ),
            (when(l.last_failed_at), None),
        ]);
    }
    table.print(out, 0);
    out.line(out.dim(
        "`crmsync dlq show ID` tells why; fix the record (or the mapping), then `crmsync dlq replay ID`; `crmsync dlq discard ID` gives up",
    ));
    Ok(0)
}

async fn show(
    store: &dyn SyncStore,
    tenant: &TenantId,
    id: i64,
    out: &Out,
) -> Result<u8, CliError> {
    let all = letters(store, tenant, None, ALL).await?;
    let letter = all
        .into_iter()
        .find(|l| l.id == Some(id))
        .ok_or_else(|| not_found(id))?;
    if out.json {
        out.json_value(&serde_json::to_value(&letter).unwrap_or_default());
        return Ok(0);
    }
    let source = match letter.direction {
        Direction::Push => "the application",
        _ => "the CRM",
    };
    out.line(format!("{} #{id}", out.heading("Dead letter")));
    let rows = [
        ("status", letter.status.as_str().to_owned()),
        ("connection", letter.connection.to_string()),
        ("object", letter.object.to_string()),
        (
            "direction",
            format!("{} (read from {source})", letter.direction.as_str()),
        ),
        ("record", letter.record_id.to_string()),
        (
            "error",
            format!("{}: {}", letter.error_kind, letter.error_message),
        ),
        ("field", letter.field.clone().unwrap_or_else(|| "-".into())),
        ("rule", letter.rule.clone().unwrap_or_else(|| "-".into())),
        ("attempts", letter.attempts.to_string()),
        ("first failed", when(letter.first_failed_at)),
        ("last failed", when(letter.last_failed_at)),
        (
            "run",
            letter
                .run_id
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into()),
        ),
    ];
    for (name, value) in rows {
        out.line(format!("  {name:<13} {value}"));
    }
    out.line("  record as read:");
    let payload = serde_json::to_string_pretty(&letter.payload).unwrap_or_default();
    for line in payload.lines() {
        out.line(format!("    {line}"));
    }
    if letter.status == DeadLetterStatus::Pending {
        out.line(out.dim(&format!(
            "fix the record in {source} (or the mapping), then `crmsync dlq replay {id}`"
        )));
    }
    Ok(0)
}

async fn discard(
    store: &dyn SyncStore,
    tenant: &TenantId,
    ids: &[i64],
    out: &Out,
) -> Result<u8, CliError> {
    let all = letters(store, tenant, None, ALL).await?;
    for id in ids {
        if !all.iter().any(|l| l.id == Some(*id)) {
            return Err(not_found(*id));
        }
    }
    let mut done = Vec::new();
    for id in ids {
        if store
            .update_dead_letter(tenant, *id, DeadLetterStatus::Discarded, false)
            .await?
        {
            done.push(*id);
        }
    }
    if out.json {
        out.json_value(&json!({ "discarded": done }));
    } else {
        for id in &done {
            out.line(format!("dead letter #{id} discarded"));
        }
    }
    Ok(0)
}

/// Which letters to replay.
struct Selection {
    ids: Vec<i64>,
    all: bool,
    connection: Option<String>,
}

/// What became of one replayed letter.
struct Replayed {
    id: i64,
    record: RecordId,
    outcome: &'static str,
    detail: String,
}

async fn replay(
    config: &Config,
    store: &Arc<dyn SyncStore>,
    tenant: &TenantId,
    selection: Selection,
    dry_run: bool,
    out: &Out,
) -> Result<u8, CliError> {
    let all = letters(&**store, tenant, None, ALL).await?;
    let chosen: Vec<DeadLetter> = if selection.all {
        all.into_iter()
            .filter(|l| l.status == DeadLetterStatus::Pending)
            .filter(|l| {
                selection
                    .connection
                    .as_deref()
                    .is_none_or(|c| l.connection.as_str() == c)
            })
            .collect()
    } else {
        let mut chosen = Vec::new();
        for id in &selection.ids {
            let letter = all
                .iter()
                .find(|l| l.id == Some(*id))
                .ok_or_else(|| not_found(*id))?;
            if letter.status != DeadLetterStatus::Pending {
                return Err(CliError::usage(format!(
                    "dead letter #{id} is {}; only pending letters are replayed",
                    letter.status.as_str()
                ))
                .hint("`crmsync dlq list` lists the pending ones"));
            }
            chosen.push(letter.clone());
        }
        chosen
    };
    if chosen.is_empty() {
        if out.json {
            out.json_value(&json!({ "replayed": [] }));
        } else {
            out.line("Nothing to replay: no pending dead letters.");
        }
        return Ok(0);
    }
    // One engine run per connection, object and direction.
    let mut groups: BTreeMap<(String, String, &'static str), Vec<DeadLetter>> = BTreeMap::new();
    for letter in chosen {
        groups
            .entry((
                letter.connection.to_string(),
                letter.object.to_string(),
                letter.direction.as_str(),
            ))
            .or_default()
            .push(letter);
    }
    let mut results = Vec::new();
    for ((connection, _, _), group) in groups {
        results.extend(replay_group(config, store, tenant, &connection, group, dry_run).await?);
    }
    let ok = results
        .iter()
        .filter(|r| r.outcome == "replayed" || r.outcome == "would replay")
        .count();
    let code = if ok == results.len() {
        exit::SUCCESS
    } else if ok == 0 {
        exit::FAILED
    } else {
        exit::PARTIAL
    };
    if out.json {
        let list: Vec<serde_json::Value> = results
            .iter()
            .map(|r| json!({"id": r.id, "record": r.record, "outcome": r.outcome, "detail": r.detail}))
            .collect();
        out.json_value(&json!({ "dry_run": dry_run, "replayed": list, "exit_code": code }));
        return Ok(code);
    }
    let mut table = Table::new(&[">id", "record", "outcome", "detail"]);
    for r in &results {
        let style = match r.outcome {
            "replayed" | "would replay" => status_style("success"),
            "still failing" | "failed again" | "would fail" => status_style("failed"),
            _ => status_style("partial"),
        };
        table.styled_row(vec![
            (r.id.to_string(), None),
            (r.record.to_string(), None),
            (r.outcome.to_owned(), Some(style)),
            (truncate(&r.detail, 110), None),
        ]);
    }
    table.print(out, 0);
    if dry_run {
        out.line(out.dim("dry run: nothing was written"));
    }
    Ok(code)
}

async fn replay_group(
    config: &Config,
    store: &Arc<dyn SyncStore>,
    tenant: &TenantId,
    connection_name: &str,
    group: Vec<DeadLetter>,
    dry_run: bool,
) -> Result<Vec<Replayed>, CliError> {
    let connection = config.connection(connection_name).map_err(|_| {
        CliError::config(format!(
            "dead letters of connection `{connection_name}` cannot be replayed: the configuration has no such connection"
        ))
        .hint(format!(
            "restore [connections.{connection_name}], or discard them with `crmsync dlq discard ID`"
        ))
    })?;
    let Some(first) = group.first() else {
        return Ok(Vec::new());
    };
    let object: ObjectKind = first.object.clone();
    let direction = first.direction;
    let mapper = wiring::mapper(connection)?;
    let remote = wiring::remote_provider(connection, Default::default())?;
    let local = wiring::local_provider(store, connection);
    let source: Arc<dyn CrmProviderDyn> = match direction {
        Direction::Push => local.clone(),
        _ => remote.clone(),
    };
    let connection_id: ConnectionId = connection.name.as_str().into();
    let ctx = MapContext {
        tenant,
        connection: &connection_id,
        object: &object,
        skip_validation: false,
    };
    let fields = match direction {
        Direction::Push => Vec::new(),
        _ => mapper.remote_fields(&ctx),
    };
    let ids: Vec<RecordId> = group.iter().map(|l| l.record_id.clone()).collect();
    let batch = source.capabilities(&object).max_read_batch.max(1);
    let mut current = BTreeMap::new();
    for chunk in ids.chunks(batch) {
        for record in source.read(&object, chunk, &fields).await? {
            current.insert(record.id.clone(), record);
        }
    }

    // 1. Check each record as it is now against the mapping.
    let mut results = Vec::new();
    let mut candidates: Vec<&DeadLetter> = Vec::new();
    for letter in &group {
        let id = letter.id.unwrap_or_default();
        let Some(record) = current.get(&letter.record_id) else {
            results.push(Replayed {
                id,
                record: letter.record_id.clone(),
                outcome: "gone",
                detail: format!(
                    "the record no longer exists in {}; `crmsync dlq discard {id}` drops the letter",
                    if direction == Direction::Push { "the application" } else { "the CRM" }
                ),
            });
            continue;
        };
        let checked = match direction {
            Direction::Push => mapper
                .to_remote(&ctx, record.id.as_str(), &record.fields)
                .map(|_| ()),
            _ => mapper.to_canonical_checked(&ctx, record).map(|_| ()),
        };
        match checked {
            Ok(()) => candidates.push(letter),
            Err(failure) => {
                if !dry_run {
                    store
                        .update_dead_letter(tenant, id, DeadLetterStatus::Pending, true)
                        .await?;
                }
                results.push(Replayed {
                    id,
                    record: letter.record_id.clone(),
                    outcome: if dry_run {
                        "would fail"
                    } else {
                        "still failing"
                    },
                    detail: format!("{failure}; fix the record and replay again"),
                });
            }
        }
    }
    if candidates.is_empty() {
        return Ok(results);
    }

    // 2. Run the ones that pass through the engine, with a feed of just those records.
    let feed: Arc<dyn CrmProviderDyn> = Arc::new(TargetedFeed::new(
        source,
        candidates.iter().map(|l| l.record_id.clone()).collect(),
    ));
    let sides = match direction {
        Direction::Push => (feed, remote),
        _ => (local, feed),
    };
    let engine = wiring::engine(store, connection, sides, mapper, None);
    let job = SyncJob::new(tenant.clone(), connection_id.clone(), object.clone())
        .direction(if direction == Direction::Push {
            Direction::Push
        } else {
            Direction::Pull
        })
        .options(SyncOptions {
            dry_run,
            ..SyncOptions::default()
        });
    let report = engine.run(job).await?;
    drop(engine);
    if report.status == crmsync_core::RunStatus::Failed {
        let why = report.error.unwrap_or_else(|| "the run failed".into());
        for letter in candidates {
            results.push(Replayed {
                id: letter.id.unwrap_or_default(),
                record: letter.record_id.clone(),
                outcome: "failed again",
                detail: format!("{why}; the letter stays pending"),
            });
        }
        return Ok(results);
    }
    if dry_run {
        let clean = report.counts.dead_letters == 0;
        for letter in candidates {
            results.push(Replayed {
                id: letter.id.unwrap_or_default(),
                record: letter.record_id.clone(),
                outcome: if clean { "would replay" } else { "would fail" },
                detail: if clean {
                    "passes the mapping; a replay would sync it".into()
                } else {
                    "passes the mapping but the other side may reject it".into()
                },
            });
        }
        return Ok(results);
    }
    // Letters the replay run itself wrote: those records failed again.
    let fresh: BTreeMap<RecordId, DeadLetter> =
        letters(&**store, tenant, Some(DeadLetterStatus::Pending), ALL)
            .await?
            .into_iter()
            .filter(|l| l.run_id.is_some() && l.run_id == report.run_id)
            .map(|l| (l.record_id.clone(), l))
            .collect();
    for letter in candidates {
        let id = letter.id.unwrap_or_default();
        match fresh.get(&letter.record_id) {
            // The store keeps one pending letter per record: the failure updated this one.
            Some(new) if new.id == letter.id => {
                results.push(Replayed {
                    id,
                    record: letter.record_id.clone(),
                    outcome: "failed again",
                    detail: format!(
                        "{}; the letter stays pending (attempt {})",
                        new.error_message, new.attempts
                    ),
                });
            }
            Some(new) => {
                store
                    .update_dead_letter(tenant, id, DeadLetterStatus::Discarded, true)
                    .await?;
                results.push(Replayed {
                    id,
                    record: letter.record_id.clone(),
                    outcome: "failed again",
                    detail: format!(
                        "{}; superseded by dead letter #{}",
                        new.error_message,
                        new.id.unwrap_or_default()
                    ),
                });
            }
            None => {
                store
                    .update_dead_letter(tenant, id, DeadLetterStatus::Replayed, true)
                    .await?;
                results.push(Replayed {
                    id,
                    record: letter.record_id.clone(),
                    outcome: "replayed",
                    detail: format!(
                        "synced in run {}",
                        report.run_id.map(|r| r.to_string()).unwrap_or_default()
                    ),
                });
            }
        }
    }
    Ok(results)
}
