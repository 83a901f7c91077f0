//! `crmsync init`: a commented configuration that works against `crmsync sim hubspot`
//! out of the box.

use std::path::Path;

use crmsync_sim::{HubSpotSim, HubSpotSimConfig};
use serde_json::json;

use crate::{
    cli::InitArgs,
    error::CliError,
    output::{Out, register_secret},
};

/// The file beside the configuration that holds the simulator's private app token.
pub const TOKEN_FILE: &str = "hubspot-sim.token";

/// The example configuration, pointing at the simulator on `port`.
pub fn example(port: u16) -> String {
    format!(
        r#"# crmsync configuration, written by `crmsync init`.
#
# Try it against the HubSpot simulator:
#   crmsync sim hubspot --port {port} &     # a simulated HubSpot account (seed 1)
#   crmsync sync hubspot all              # two-way sync of contacts, companies and deals
#   crmsync history                       # what ran, and how it went
#
# Paths are relative to this file. Secrets are never written here: each credential
# is read from an environment variable (`<name>_env = "VAR"`) or a file
# (`<name>_file = "path"`), and no output of crmsync ever shows it.

# The tenant of commands that name no connection (history, dlq, review).
default_tenant = "acme"

[store]
# The embedded default: one SQLite file, created by the first sync.
sqlite = "crmsync.db"
# Or PostgreSQL, for many workers; the URL comes from the environment (it may hold
# a password):
# postgres_url_env = "DATABASE_URL"
# postgres_schema = "crmsync"

[tenants.acme]
name = "Acme Ltd"

# A connection: one tenant's link to one CRM account; `crmsync sync hubspot` runs it.
[connections.hubspot]
tenant = "acme"
provider = "hubspot"                       # hubspot | salesforce
base_url = "http://127.0.0.1:{port}"         # a real account: https://api.hubapi.com
# The simulator's private app token (its seed 1 always issues the same one), in a
# file beside this one. A real account: token_env = "HUBSPOT_TOKEN", or an OAuth app:
#   client_id = "…"
#   client_secret_env = "HUBSPOT_CLIENT_SECRET"
#   refresh_token_env = "HUBSPOT_REFRESH_TOKEN"
token_file = "{TOKEN_FILE}"
objects = ["contact", "company", "deal"]   # what `crmsync sync hubspot all` covers
mapping = "builtin"                        # or a mapping file, e.g. "mappings/hubspot.toml"
schedule = "15m"                           # how often a scheduler runs it: 1m to 24h

# What wins when a field changed on both sides since the last sync: remote_wins
# (crm_wins), local_wins, last_write_wins, field_merge, or manual (the review queue:
# `crmsync review list`). Per object and per "object.field" too.
[connections.hubspot.conflicts]
default = "remote_wins"
# objects = {{ deal = "local_wins" }}
fields = {{ "contact.lead_status" = "last_write_wins" }}

# A Salesforce org (try `crmsync sim salesforce --port 8788`):
# [connections.salesforce]
# tenant = "acme"
# provider = "salesforce"
# login_url = "https://login.salesforce.com"
# client_id = "3MVG9…"
# client_secret_env = "SALESFORCE_CLIENT_SECRET"
# refresh_token_env = "SALESFORCE_REFRESH_TOKEN"
# # or the JWT bearer flow: username = "sync@acme.example" and
# # private_key_file = "salesforce.key.pem"
# objects = ["contact", "lead", "company", "deal"]
"#
    )
}

/// The private app token the simulator issues with seed 1 (`crmsync sim hubspot`'s
/// default), read from the simulator itself rather than copied here.
async fn simulator_token() -> Result<String, CliError> {
    let sim = HubSpotSim::start(HubSpotSimConfig {
        contacts: 0,
        companies: 0,
        deals: 0,
        seed: HubSpotSimConfig::default().seed,
        ..HubSpotSimConfig::default()
    })
    .await
    .map_err(|e| CliError::failed(format!("cannot start the simulator to read its token: {e}")))?;
    let token = sim.private_app_token();
    sim.shutdown().await;
    Ok(token)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, text.as_bytes())
}

/// Writes the example configuration and the simulator's token file.
pub async fn run(path: &Path, args: &InitArgs, out: &Out) -> Result<u8, CliError> {
    let text = example(args.port);
    if args.print {
        out.line(text.trim_end());
        return Ok(0);
    }
    if path.exists() && !args.force {
        return Err(
            CliError::failed(format!("{} already exists", path.display()))
                .hint("pass --force to overwrite it, or --config to write another file"),
        );
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::failed(format!("cannot create {}: {e}", dir.display()))
                .hint("choose a writable directory with --config")
        })?;
    }
    let token_path = dir.map_or_else(|| TOKEN_FILE.into(), |d| d.join(TOKEN_FILE));
    let token = simulator_token().await?;
    register_secret(&token);
    let failed = |what: &Path, e: std::io::Error| {
        CliError::failed(format!("cannot write {}: {e}", what.display()))
            .hint("check the directory's permissions, or choose another with --config")
    };
    write_private(&token_path, &format!("{token}\n")).map_err(|e| failed(&token_path, e))?;
    std::fs::write(path, text).map_err(|e| failed(path, e))?;
    if out.json {
        out.json_value(&json!({
            "config": path.display().to_string(),
            "token_file": token_path.display().to_string(),
            "simulator_port": args.port,
        }));
        return Ok(0);
    }
    let config_flag = if path == Path::new(crate::config::DEFAULT_PATH) {
        String::new()
    } else {
        format!(" --config {}", path.display())
    };
    out.line(format!(
        "Wrote {} and {} (the simulator's token).",
        path.display(),
        token_path.display()
    ));
    out.line("Next:");
    out.line(format!("  crmsync sim hubspot --port {} &", args.port));
    out.line(format!("  crmsync{config_flag} sync hubspot all"));
    out.line(format!("  crmsync{config_flag} history"));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_valid_toml() {
        let text = example(8787);
        assert!(toml::from_str::<toml::Table>(&text).is_ok());
        assert!(text.contains("http://127.0.0.1:8787"));
    }
}
