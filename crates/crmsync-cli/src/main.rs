//! `crmsync`: run, inspect and repair crmsync syncs from a terminal.
//!
//! ```text
//! crmsync init                          # a commented crmsync.toml that works against the simulator
//! crmsync sim hubspot --port 8787 &     # a simulated HubSpot account
//! crmsync sync hubspot all              # sync every object of the `hubspot` connection
//! crmsync history                       # what ran
//! crmsync dlq list | show | replay | discard
//! crmsync review list | show | resolve | dismiss
//! crmsync discover hubspot contact      # fields, and rules for unmapped custom ones
//! crmsync doctor                        # configuration, store, credentials, reachability
//! ```
//!
//! Exit codes: 0 success, 1 failed, 2 partial, 64 usage, 78 configuration.
#![forbid(unsafe_code)]

mod cli;
mod commands;
mod config;
mod error;
mod output;
mod progress;
mod replay;
mod wiring;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::{
    cli::{Cli, Command},
    error::{CliError, exit},
    output::{Out, RedactingStderr, paint, redact},
};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return ExitCode::from(clap_exit(&err)),
    };
    let out = Out::detect(cli.json, cli.debug);
    if cli.debug {
        // Library logs on stderr, through the same redaction as everything else.
        // crmsync's own crates at debug level; the libraries under them (sqlx, hyper)
        // only when they warn.
        use tracing_subscriber::{filter::Targets, layer::SubscriberExt};
        let filter = Targets::new()
            .with_target("crmsync", tracing::Level::DEBUG)
            .with_default(tracing::Level::WARN);
        let subscriber = tracing_subscriber::registry().with(filter).with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(|| RedactingStderr),
        );
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            report(
                &out,
                &CliError::failed(format!("cannot start the runtime: {err}")),
            );
            return ExitCode::from(exit::FAILED);
        }
    };
    match runtime.block_on(run(cli, out)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            report(&out, &err);
            ExitCode::from(err.code)
        }
    }
}

/// Prints clap's message (help, version, or a usage error with its suggestion) and
/// returns the exit code: 0 for help and version, 64 for usage errors (clap's own is 2,
/// which here means "partial").
fn clap_exit(err: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    let _ = err.print();
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => exit::SUCCESS,
        _ => exit::USAGE,
    }
}

fn report(out: &Out, err: &CliError) {
    let label = paint(
        out.color_err,
        anstyle::Style::new()
            .fg_color(Some(anstyle::AnsiColor::Red.into()))
            .bold(),
        "error:",
    );
    eprintln!("{label} {}", redact(&err.message));
    if let Some(hint) = &err.hint {
        let fix = paint(out.color_err, anstyle::Style::new().bold(), "  fix:");
        eprintln!("{fix} {}", redact(hint));
    }
    if out.json {
        out.json_value(&json!({
            "error": err.message,
            "fix": err.hint,
            "exit_code": err.code,
        }));
    }
}

async fn run(cli: Cli, out: Out) -> Result<u8, CliError> {
    let path = cli.config.clone();
    let tenant = cli.tenant.clone();
    match cli.command {
        Command::Init(args) => commands::init::run(&path, &args, &out).await,
        Command::Sim { provider } => commands::sim::run(provider).await,
        Command::Sync(args) => {
            let config = config::Config::load(&path)?;
            commands::sync::run(&config, &args, &out).await
        }
        Command::History(args) => {
            let config = config::Config::load(&path)?;
            commands::history::run(&config, tenant.as_deref(), &args, &out).await
        }
        Command::Dlq { command } => {
            let config = config::Config::load(&path)?;
            commands::dlq::run(&config, tenant.as_deref(), command, &out).await
        }
        Command::Review { command } => {
            let config = config::Config::load(&path)?;
            commands::review::run(&config, tenant.as_deref(), command, &out).await
        }
        Command::Discover(args) => {
            let config = config::Config::load(&path)?;
            commands::discover::run(&config, &args, &out).await
        }
        Command::Doctor(args) => commands::doctor::run(&path, &args, &out).await,
    }
}
