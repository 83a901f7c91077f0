//! The command line, as clap reads it.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Getting started (against the HubSpot simulator):
  crmsync init                          # writes crmsync.toml, commented
  crmsync sim hubspot --port 8787 &     # a simulated HubSpot account
  crmsync sync hubspot all              # a two-way sync of contacts, companies, deals
  crmsync history                       # what ran, and how it went

Exit codes:
  0   success
  1   failed
  2   partial: some records went to the dead-letter queue, or a limit stopped the run
  64  usage: a wrong flag, argument or value
  78  configuration: a wrong or missing setting, credential or file";

/// Runs, inspects and repairs crmsync syncs.
#[derive(Debug, Parser)]
#[command(name = "crmsync", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// The configuration file.
    #[arg(long, short = 'c', global = true, env = "CRMSYNC_CONFIG", default_value = crate::config::DEFAULT_PATH, value_name = "FILE")]
    pub config: PathBuf,
    /// The tenant (for commands that name no connection); defaults to `default_tenant`.
    #[arg(long, global = true, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Machine-readable output: one JSON document on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Verbose logging on stderr (secrets are always redacted).
    #[arg(long, global = true, visible_alias = "verbose")]
    pub debug: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented example configuration that works against `crmsync sim hubspot`.
    Init(InitArgs),
    /// Sync a connection: one object, or all the connection's objects.
    Sync(SyncArgs),
    /// Show run history, newest first.
    History(HistoryArgs),
    /// Inspect, replay or discard records that could not be synced.
    Dlq {
        /// What to do with the dead-letter queue.
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Decide conflicts parked by the `manual` strategy and ambiguous matches.
    Review {
        /// What to do with the review queue.
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// List an object's fields in the CRM and suggest mapping rules for unmapped ones.
    Discover(DiscoverArgs),
    /// Serve a simulated CRM on 127.0.0.1 (prints one JSON line, then serves until killed).
    Sim {
        /// Which CRM.
        #[command(subcommand)]
        provider: SimCommand,
    },
    /// Check the configuration, the store, credentials and reachability, with fixes.
    Doctor(DoctorArgs),
}

/// `crmsync init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing configuration.
    #[arg(long)]
    pub force: bool,
    /// Print the example instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// The port of the simulator the example points at.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
}

/// Which way to sync.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DirectionArg {
    /// CRM → application.
    Pull,
    /// Application → CRM.
    Push,
    /// Both (the default).
    Both,
}

/// `crmsync sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The connection (a [connections.NAME] of the configuration).
    pub connection: String,
    /// One object (contact, company, deal, lead, …) or `all` of the connection's objects.
    #[arg(default_value = "all")]
    pub object: String,
    /// Read everything, ignoring stored cursors (records are still compared).
    #[arg(long)]
    pub full: bool,
    /// Overwrite the application with the CRM's values, ignoring conflict rules.
    #[arg(long)]
    pub force: bool,
    /// Plan and report; write nothing to either side or the store.
    #[arg(long)]
    pub dry_run: bool,
    /// Records per page (default: the provider's largest page).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub batch_size: Option<u64>,
    /// Stop after N records per direction (0 = no limit); the next run resumes.
    #[arg(long, value_name = "N")]
    pub max_records: Option<u64>,
    /// Only records modified on or after this day (UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date, visible_alias = "since")]
    pub start_date: Option<NaiveDate>,
    /// Record validation failures in the audit trail instead of enforcing them.
    #[arg(long)]
    pub skip_validation: bool,
    /// Which way (default both).
    #[arg(long, value_enum, default_value = "both")]
    pub direction: DirectionArg,
}

/// `--start-date`: a calendar day, or an error that says how to write one.
fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        format!("`{text}` is not a date; write it as YYYY-MM-DD, e.g. --start-date 2025-01-31")
    })
}

/// `crmsync history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this connection.
    pub connection: Option<String>,
    /// Only this object.
    #[arg(long)]
    pub object: Option<String>,
    /// At most this many runs.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

/// Dead-letter states to list.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DlqStatusArg {
    /// Waiting for a replay or a discard.
    Pending,
    /// Replayed successfully.
    Replayed,
    /// Discarded.
    Discarded,
    /// Every state.
    All,
}

/// `crmsync dlq …`.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters.
    List {
        /// Only this connection.
        #[arg(long)]
        connection: Option<String>,
        /// Only letters in this state.
        #[arg(long, value_enum, default_value = "pending")]
        status: DlqStatusArg,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one dead letter: the error, the failing field and rule, the record.
    Show {
        /// Its id (from `dlq list`).
        id: i64,
    },
    /// Re-read dead-lettered records from their source and sync them again, once the
    /// data (or the mapping) is fixed.
    Replay {
        /// Ids to replay (from `dlq list`).
        #[arg(required_unless_present = "all")]
        ids: Vec<i64>,
        /// Replay every pending letter (of --connection, if given).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Only this connection (with --all).
        #[arg(long)]
        connection: Option<String>,
        /// Check and plan only; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Give up on dead letters (they stay listed as `discarded`).
    Discard {
        /// Ids to discard.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

/// Review states to list.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ReviewStatusArg {
    /// Waiting for a person.
    Pending,
    /// Decided; the next sync applies it.
    Resolved,
    /// Applied to both sides.
    Applied,
    /// Dismissed.
    Dismissed,
    /// Every state.
    All,
}

/// A side of a conflict.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SideArg {
    /// The application's value.
    Local,
    /// The CRM's value.
    Remote,
}

/// `crmsync review …`.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List review items.
    List {
        /// Only this connection.
        #[arg(long)]
        connection: Option<String>,
        /// Only items in this state.
        #[arg(long, value_enum, default_value = "pending")]
        status: ReviewStatusArg,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Show one item: base, application and CRM values of each field.
    Show {
        /// Its id (from `review list`).
        id: i64,
    },
    /// Decide a conflict and apply the decision to both sides.
    Resolve {
        /// Its id.
        id: i64,
        /// Take this side's value for every field of the item.
        #[arg(long, value_enum)]
        take: Option<SideArg>,
        /// Take a side for one field: FIELD=local or FIELD=remote (repeatable).
        #[arg(long = "field", value_name = "FIELD=SIDE")]
        fields: Vec<String>,
        /// Write this value to both sides: FIELD=VALUE (JSON, or text) (repeatable).
        #[arg(long = "value", value_name = "FIELD=VALUE")]
        values: Vec<String>,
        /// Who decided (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// Record the decision only; the next sync applies it.
        #[arg(long)]
        no_apply: bool,
    },
    /// Dismiss an item without a decision (the fields stay as they are).
    Dismiss {
        /// Its id.
        id: i64,
        /// Who dismissed it (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}

/// `crmsync discover`.
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// The connection.
    pub connection: String,
    /// The object (contact, company, deal, …).
    pub object: String,
}

/// `crmsync doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Only this connection.
    pub connection: Option<String>,
}

/// `crmsync sim …`: the same flags as the `crmsync-sim` binary.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// A HubSpot account (CRM v3: contacts, companies, deals, OAuth, private app token).
    Hubspot(HubSpotSimArgs),
    /// A Salesforce org (REST, Bulk API 2.0, OAuth refresh and JWT).
    Salesforce(SalesforceSimArgs),
}

/// `crmsync sim hubspot`.
#[derive(Debug, Args)]
pub struct HubSpotSimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seeded contacts.
    #[arg(long, default_value_t = 100)]
    pub contacts: usize,
    /// Seeded companies.
    #[arg(long, default_value_t = 20)]
    pub companies: usize,
    /// Seeded deals.
    #[arg(long, default_value_t = 30)]
    pub deals: usize,
    /// Data seed; it also fixes the credentials (seed 1 is what `crmsync init` expects).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Requests per rolling 10 s (0 = unlimited).
    #[arg(long)]
    pub rate_limit_10s: Option<u32>,
    /// Search requests per second (0 = unlimited).
    #[arg(long)]
    pub search_rate_per_s: Option<u32>,
    /// Added to every response.
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Lifetime of OAuth access tokens.
    #[arg(long)]
    pub token_ttl_s: Option<u64>,
}

/// `crmsync sim salesforce`.
#[derive(Debug, Args)]
pub struct SalesforceSimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seeded leads.
    #[arg(long)]
    pub leads: Option<usize>,
    /// Seeded contacts.
    #[arg(long)]
    pub contacts: Option<usize>,
    /// Seeded accounts.
    #[arg(long)]
    pub accounts: Option<usize>,
    /// Seeded opportunities.
    #[arg(long)]
    pub opportunities: Option<usize>,
    /// Seeded tasks.
    #[arg(long)]
    pub tasks: Option<usize>,
    /// Data seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// The org's daily API allowance.
    #[arg(long)]
    pub daily_limit: Option<u64>,
    /// Added to every response.
    #[arg(long)]
    pub latency_ms: Option<u64>,
    /// Session lifetime (0 = never expires).
    #[arg(long)]
    pub session_ttl_s: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dates_are_checked() {
        assert!(parse_date("2025-01-31").is_ok());
        assert!(parse_date("2025-13-01").is_err());
        assert!(parse_date("31/01/2025").is_err());
    }
}
