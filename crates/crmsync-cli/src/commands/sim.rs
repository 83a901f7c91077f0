//! `crmsync sim hubspot|salesforce …`: the simulators, exactly as the `crmsync-sim`
//! binary serves them (same flags, same first JSON line), from the same library types.

use std::{io::Write, time::Duration};

use crmsync_sim::{HubSpotSim, HubSpotSimConfig, SalesforceSim, SalesforceSimConfig};
use serde_json::json;

use crate::{
    cli::{HubSpotSimArgs, SalesforceSimArgs, SimCommand},
    error::CliError,
};

/// The simulator's settings from the flags (unset flags keep the simulator's defaults).
pub fn hubspot_config(args: &HubSpotSimArgs) -> HubSpotSimConfig {
    let mut c = HubSpotSimConfig {
        port: args.port,
        contacts: args.contacts,
        companies: args.companies,
        deals: args.deals,
        seed: args.seed,
        ..HubSpotSimConfig::default()
    };
    if let Some(n) = args.rate_limit_10s {
        c.rate_limit_10s = n;
    }
    if let Some(n) = args.search_rate_per_s {
        c.search_rate_per_s = n;
    }
    if let Some(ms) = args.latency_ms {
        c.latency = Duration::from_millis(ms);
    }
    if let Some(s) = args.token_ttl_s {
        c.token_ttl = Duration::from_secs(s);
    }
    c
}

fn salesforce_config(args: &SalesforceSimArgs) -> SalesforceSimConfig {
    let mut c = SalesforceSimConfig {
        port: args.port,
        ..SalesforceSimConfig::default()
    };
    if let Some(n) = args.leads {
        c.leads = n;
    }
    if let Some(n) = args.contacts {
        c.contacts = n;
    }
    if let Some(n) = args.accounts {
        c.accounts = n;
    }
    if let Some(n) = args.opportunities {
        c.opportunities = n;
    }
    if let Some(n) = args.tasks {
        c.tasks = n;
    }
    if let Some(n) = args.seed {
        c.seed = n;
    }
    if let Some(n) = args.daily_limit {
        c.daily_api_limit = n;
    }
    if let Some(ms) = args.latency_ms {
        c.latency = Duration::from_millis(ms);
    }
    if let Some(s) = args.session_ttl_s {
        c.session_ttl = (s > 0).then(|| Duration::from_secs(s));
    }
    c
}

/// Starts the simulator, prints its JSON line, and serves until the process is killed.
pub async fn run(command: SimCommand) -> Result<u8, CliError> {
    let cannot = |what: &str, e: std::io::Error| {
        CliError::failed(format!("cannot start the {what} simulator: {e}"))
            .hint("pick another --port (0 picks a free one)")
    };
    let (line, guard): (serde_json::Value, Box<dyn std::any::Any>) = match command {
        SimCommand::Hubspot(args) => {
            let sim = HubSpotSim::start(hubspot_config(&args))
                .await
                .map_err(|e| cannot("HubSpot", e))?;
            let line = json!({
                "provider": "hubspot",
                "base_url": sim.base_url(),
                "access_token": sim.access_token(),
                "refresh_token": sim.refresh_token(),
                "client_id": sim.client_id(),
                "client_secret": sim.client_secret(),
                "private_app_token": sim.private_app_token(),
                "token_url": sim.token_url(),
            });
            (line, Box::new(sim))
        }
        SimCommand::Salesforce(args) => {
            let sim = SalesforceSim::start(salesforce_config(&args))
                .await
                .map_err(|e| cannot("Salesforce", e))?;
            let line = json!({
                "provider": "salesforce",
                "login_url": sim.login_url(),
                "instance_url": sim.instance_url(),
                "api_version": sim.api_version(),
                "access_token": sim.access_token(),
                "refresh_token": sim.refresh_token(),
                "client_id": sim.client_id(),
                "client_secret": sim.client_secret(),
                "username": sim.username(),
                "jwt_private_key_pem": sim.jwt_private_key_pem(),
            });
            (line, Box::new(sim))
        }
    };
    // The simulator's own credentials are printed on purpose: they are what a client of
    // the simulator needs, and they guard nothing real.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")
        .and_then(|()| stdout.flush())
        .map_err(|e| CliError::failed(format!("cannot write to stdout: {e}")))?;
    drop(stdout);
    std::future::pending::<()>().await;
    drop(guard);
    Ok(0)
}
