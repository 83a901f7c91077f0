//! `crmsync sync <connection> [<object>|all]` with the universal flags.

use chrono::Utc;
use crmsync_core::{
    Direction, ObjectKind, RunStatus, SyncJob, SyncMode, SyncOptions, SyncReport, TenantId,
};
use serde_json::json;

use crate::{
    cli::{DirectionArg, SyncArgs},
    commands::exit_for,
    config::Config,
    error::{CliError, exit},
    output::{Out, Table, status_style},
    progress::Reporter,
    wiring,
};

/// What became of one object.
enum Outcome {
    Ran(Box<SyncReport>),
    Refused(ObjectKind, CliError),
}

impl Outcome {
    fn status(&self) -> RunStatus {
        match self {
            Self::Ran(r) => r.status,
            Self::Refused(..) => RunStatus::Failed,
        }
    }
}

/// The job options the flags ask for.
fn options(args: &SyncArgs) -> Result<SyncOptions, CliError> {
    let start_date = match args.start_date {
        Some(day) => {
            let at = day.and_time(chrono::NaiveTime::MIN).and_utc();
            if at > Utc::now() {
                return Err(CliError::usage(format!(
                    "--start-date {day} is in the future: nothing would be synced"
                ))
                .hint("give a past day as YYYY-MM-DD, or leave the flag out"));
            }
            Some(at)
        }
        None => None,
    };
    Ok(SyncOptions {
        dry_run: args.dry_run,
        force: args.force,
        start_date,
        batch_size: args
            .batch_size
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        max_records: args.max_records.filter(|n| *n > 0),
        skip_validation: args.skip_validation,
        max_pages: None,
    })
}

/// Runs the sync and prints its report; the exit code says how it went.
pub async fn run(config: &Config, args: &SyncArgs, out: &Out) -> Result<u8, CliError> {
    let connection = config.connection(&args.connection)?;
    let options = options(args)?;
    let mapper = wiring::mapper(connection)?;
    let objects = if args.object == "all" {
        connection.objects.clone()
    } else {
        vec![ObjectKind::parse(args.object.trim())]
    };
    for object in &objects {
        wiring::check_object(connection, &mapper, object)?;
    }
    let remote = wiring::remote_provider(connection, Default::default())?;
    let store = wiring::open_store(config, args.dry_run).await?;
    let mode = if args.full {
        SyncMode::Full
    } else {
        SyncMode::Incremental
    };
    let direction = match args.direction {
        DirectionArg::Pull => Direction::Pull,
        DirectionArg::Push => Direction::Push,
        DirectionArg::Both => Direction::Both,
    };
    if !out.json {
        let mut flags = vec![match mode {
            SyncMode::Full => "full",
            SyncMode::Incremental => "incremental",
        }];
        flags.push(match direction {
            Direction::Pull => "pull only",
            Direction::Push => "push only",
            Direction::Both => "both ways",
        });
        if args.force {
            flags.push("force");
        }
        if args.skip_validation {
            flags.push("skip validation");
        }
        out.line(format!(
            "{} {} ({} at {}, tenant {}) — {}",
            out.heading("Syncing"),
            connection.name,
            connection.provider.name(),
            connection.provider.url(),
            connection.tenant,
            flags.join(", ")
        ));
        if args.dry_run {
            out.line(out.paint(
                status_style("dry run"),
                "  dry run: planning only, nothing is written to either side or the store",
            ));
        }
        if out.debug {
            out.line(format!(
                "  store: {}; options: {}",
                wiring::Store::describe(config),
                serde_json::to_string(&options).unwrap_or_default()
            ));
        }
    }
    let reporter = Reporter::new(*out);
    let local = wiring::local_provider(&store.store, connection);
    let engine = wiring::engine(
        &store.store,
        connection,
        (local, remote),
        mapper,
        Some(reporter.sink()),
    );
    let tenant = TenantId::new(connection.tenant.as_str());
    let mut outcomes = Vec::new();
    for object in objects {
        let job = SyncJob::new(
            tenant.clone(),
            connection.name.as_str().into(),
            object.clone(),
        )
        .direction(direction)
        .mode(mode)
        .options(options.clone());
        let outcome = match engine.run(job).await {
            Ok(report) => Outcome::Ran(Box::new(report)),
            Err(err) => Outcome::Refused(object, CliError::from(err)),
        };
        reporter.finish();
        outcomes.push(outcome);
    }
    drop(engine);
    store.close().await;

    let code = exit_for(outcomes.iter().map(Outcome::status));
    if out.json {
        print_json(connection, args, &outcomes, code, out);
    } else {
        print_table(&outcomes, args.dry_run, code, out);
    }
    Ok(code)
}

fn print_json(
    connection: &crate::config::Connection,
    args: &SyncArgs,
    outcomes: &[Outcome],
    code: u8,
    out: &Out,
) {
    let objects: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Ran(r) => json!({
                "object": r.job.object.as_str(),
                "run_id": r.run_id,
                "status": r.status.as_str(),
                "counts": r.counts,
                "seconds": r.duration.as_secs_f64(),
                "error": r.error,
            }),
            Outcome::Refused(object, err) => json!({
                "object": object.as_str(),
                "run_id": null,
                "status": "failed",
                "error": err.message,
                "fix": err.hint,
            }),
        })
        .collect();
    out.json_value(&json!({
        "connection": connection.name,
        "tenant": connection.tenant,
        "provider": connection.provider.name(),
        "dry_run": args.dry_run,
        "status": match code {
            exit::SUCCESS => "success",
            exit::PARTIAL => "partial",
            _ => "failed",
        },
        "exit_code": code,
        "objects": objects,
    }));
}

fn print_table(outcomes: &[Outcome], dry_run: bool, code: u8, out: &Out) {
    let mut table = Table::new(&[
        "object",
        "status",
        ">pulled",
        ">pushed",
        ">created",
        ">updated",
        ">deleted",
        ">unchanged",
        ">conflicts",
        ">parked",
        ">dead",
        ">calls",
        ">seconds",
    ]);
    let mut total = crmsync_core::ObjectReport::default();
    let mut seconds = 0.0;
    let mut notes = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Ran(r) => {
                let c = &r.counts;
                total.add(c);
                seconds += r.duration.as_secs_f64();
                table.styled_row(vec![
                    (r.job.object.to_string(), None),
                    (
                        r.status.as_str().to_owned(),
                        Some(status_style(r.status.as_str())),
                    ),
                    (c.pulled.to_string(), None),
                    (c.pushed.to_string(), None),
                    ((c.created_local + c.created_remote).to_string(), None),
                    ((c.updated_local + c.updated_remote).to_string(), None),
                    ((c.deleted_local + c.deleted_remote).to_string(), None),
                    (c.unchanged.to_string(), None),
                    (c.conflicts.to_string(), None),
                    (c.parked.to_string(), None),
                    (c.dead_letters.to_string(), None),
                    (c.api_calls.to_string(), None),
                    (format!("{:.2}", r.duration.as_secs_f64()), None),
                ]);
                if let Some(error) = &r.error {
                    notes.push(format!("{}: {error}", r.job.object));
                }
            }
            Outcome::Refused(object, err) => {
                table.styled_row(vec![
                    (object.to_string(), None),
                    ("failed".to_owned(), Some(status_style("failed"))),
                ]);
                notes.push(format!("{object}: {err}"));
            }
        }
    }
    if outcomes.len() > 1 {
        let status = match code {
            exit::SUCCESS => "success",
            exit::PARTIAL => "partial",
            _ => "failed",
        };
        table.styled_row(vec![
            ("total".to_owned(), Some(anstyle::Style::new().bold())),
            (status.to_owned(), Some(status_style(status))),
            (total.pulled.to_string(), None),
            (total.pushed.to_string(), None),
            (
                (total.created_local + total.created_remote).to_string(),
                None,
            ),
            (
                (total.updated_local + total.updated_remote).to_string(),
                None,
            ),
            (
                (total.deleted_local + total.deleted_remote).to_string(),
                None,
            ),
            (total.unchanged.to_string(), None),
            (total.conflicts.to_string(), None),
            (total.parked.to_string(), None),
            (total.dead_letters.to_string(), None),
            (total.api_calls.to_string(), None),
            (format!("{seconds:.2}"), None),
        ]);
    }
    out.line("");
    table.print(out, 2);
    for note in notes {
        out.line(format!("  {}", out.paint(status_style("partial"), &note)));
    }
    if dry_run {
        out.line(
            out.dim("  dry run: the figures are what a real run would do; nothing was written"),
        );
    } else {
        if total.dead_letters > 0 {
            out.line(format!(
                "  {} record(s) could not be synced: `crmsync dlq list` shows why; fix the data, then `crmsync dlq replay ID`",
                total.dead_letters
            ));
        }
        if total.parked > 0 {
            out.line(format!(
                "  {} field(s) wait for a decision: `crmsync review list`",
                total.parked
            ));
        }
    }
    if code == exit::FAILED {
        out.line("  `crmsync doctor` checks the configuration, credentials and reachability");
    }
}
