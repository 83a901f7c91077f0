//! `crmsync-sim`: serves a simulated CRM standalone.
//!
//! ```text
//! crmsync-sim hubspot --port 0 --contacts N --companies N --deals N --seed S
//!                     [--rate-limit-10s N] [--search-rate-per-s N] [--latency-ms N] [--token-ttl-s N]
//! crmsync-sim salesforce --port 0 --leads N --contacts N --accounts N --opportunities N --seed S
//!                     [--tasks N] [--daily-limit N] [--latency-ms N] [--session-ttl-s N]
//! crmsync-sim dynamics --port 0 --contacts N --accounts N --leads N --opportunities N --seed S
//!                     [--latency-ms N] [--requests-per-300s N] [--token-ttl-s N]
//! crmsync-sim zapier --port 0 [--per-second N] [--per-5min N] [--latency-ms N]
//! ```
//! Prints one JSON line with the URLs and credentials, then serves until killed.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crmsync_sim::{
    DynamicsSim, DynamicsSimConfig, HubSpotSim, HubSpotSimConfig, SalesforceSim,
    SalesforceSimConfig, ZapierSim, ZapierSimConfig,
};

const USAGE: &str =
    "usage: crmsync-sim hubspot [--port N] [--contacts N] [--companies N] [--deals N] \
[--seed N] [--rate-limit-10s N] [--search-rate-per-s N] [--latency-ms N] [--token-ttl-s N]
       crmsync-sim salesforce [--port N] [--leads N] [--contacts N] [--accounts N] \
[--opportunities N] [--tasks N] [--seed N] [--daily-limit N] [--latency-ms N] [--session-ttl-s N]
       crmsync-sim dynamics [--port N] [--contacts N] [--accounts N] [--leads N] \
[--opportunities N] [--seed N] [--latency-ms N] [--requests-per-300s N] [--token-ttl-s N]
       crmsync-sim zapier [--port N] [--per-second N] [--per-5min N] [--latency-ms N]

Serves a simulated HubSpot account or Salesforce org on 127.0.0.1. Prints one JSON line and
serves until killed. HubSpot: {\"provider\",\"base_url\",\"access_token\",\"refresh_token\",
\"client_id\",\"client_secret\",\"private_app_token\",\"token_url\"}. Salesforce:
{\"provider\",\"login_url\",\"instance_url\",\"api_version\",\"access_token\",\"refresh_token\",
\"client_id\",\"client_secret\",\"username\",\"jwt_private_key_pem\"}. Dynamics:
{\"provider\",\"org_url\",\"base_url\",\"authority\",\"token_url\",\"tenant_id\",\"client_id\",
\"client_secret\",\"api_version\"}. Zapier: {\"provider\",\"base_url\",\"catch_hook_url\"}.
--port 0 picks a free port; --rate-limit-10s 0 and --search-rate-per-s 0 disable those limits.";

/// What to serve.
#[derive(Debug)]
enum Command {
    HubSpot(HubSpotSimConfig),
    Salesforce(SalesforceSimConfig),
    Dynamics(DynamicsSimConfig),
    Zapier(ZapierSimConfig),
}

/// Splits `--name value` and `--name=value` flags into `(name, number)` pairs.
fn flags(flags: &[String]) -> Result<Vec<(String, u64)>, String> {
    let mut out = Vec::new();
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag.as_str(), None),
        };
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))?,
        };
        let n = value
            .parse::<u64>()
            .map_err(|_| format!("{name}: {value:?} is not a non-negative integer"))?;
        out.push((name.to_string(), n));
    }
    Ok(out)
}

fn port(n: u64) -> Result<u16, String> {
    u16::try_from(n).map_err(|_| format!("--port: {n} is not a port"))
}

/// Parses the arguments after the program name.
fn parse(args: &[String]) -> Result<Command, String> {
    let (provider, rest) = args.split_first().ok_or("missing provider")?;
    match provider.as_str() {
        "hubspot" => parse_hubspot(rest).map(Command::HubSpot),
        "salesforce" => parse_salesforce(rest).map(Command::Salesforce),
        "dynamics" => parse_dynamics(rest).map(Command::Dynamics),
        "zapier" => parse_zapier(rest).map(Command::Zapier),
        other => Err(format!(
            "unknown provider {other:?} (available: hubspot, salesforce, dynamics)"
        )),
    }
}

fn parse_salesforce(args: &[String]) -> Result<SalesforceSimConfig, String> {
    let mut config = SalesforceSimConfig::default();
    for (name, n) in flags(args)? {
        match name.as_str() {
            "--port" => config.port = port(n)?,
            "--leads" => config.leads = n as usize,
            "--contacts" => config.contacts = n as usize,
            "--accounts" => config.accounts = n as usize,
            "--opportunities" => config.opportunities = n as usize,
            "--tasks" => config.tasks = n as usize,
            "--seed" => config.seed = n,
            "--daily-limit" => config.daily_api_limit = n,
            "--latency-ms" => config.latency = Duration::from_millis(n),
            "--session-ttl-s" => {
                config.session_ttl = (n > 0).then(|| Duration::from_secs(n));
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

fn parse_dynamics(args: &[String]) -> Result<DynamicsSimConfig, String> {
    let mut config = DynamicsSimConfig::default();
    for (name, n) in flags(args)? {
        match name.as_str() {
            "--port" => config.port = port(n)?,
            "--contacts" => config.contacts = n as usize,
            "--accounts" => config.accounts = n as usize,
            "--leads" => config.leads = n as usize,
            "--opportunities" => config.opportunities = n as usize,
            "--seed" => config.seed = n,
            "--latency-ms" => config.latency = Duration::from_millis(n),
            "--requests-per-300s" => config.requests_per_window = n,
            "--token-ttl-s" => config.token_ttl = Duration::from_secs(n.max(1)),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

fn parse_zapier(args: &[String]) -> Result<ZapierSimConfig, String> {
    let mut config = ZapierSimConfig::default();
    for (name, n) in flags(args)? {
        let small = |n: u64| u32::try_from(n).map_err(|_| format!("{name}: {n} is too large"));
        match name.as_str() {
            "--port" => config.port = port(n)?,
            "--per-second" => config.per_second = small(n)?,
            "--per-5min" => config.per_five_minutes = small(n)?,
            "--latency-ms" => config.latency = Duration::from_millis(n),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

fn parse_hubspot(args: &[String]) -> Result<HubSpotSimConfig, String> {
    let mut config = HubSpotSimConfig::default();
    for (name, n) in flags(args)? {
        let small = |n: u64| u32::try_from(n).map_err(|_| format!("{name}: {n} is too large"));
        match name.as_str() {
            "--port" => config.port = port(n)?,
            "--contacts" => config.contacts = n as usize,
            "--companies" => config.companies = n as usize,
            "--deals" => config.deals = n as usize,
            "--seed" => config.seed = n,
            "--rate-limit-10s" => config.rate_limit_10s = small(n)?,
            "--search-rate-per-s" => config.search_rate_per_s = small(n)?,
            "--latency-ms" => config.latency = Duration::from_millis(n),
            "--token-ttl-s" => config.token_ttl = Duration::from_secs(n),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(config)
}

/// Starts the simulator and returns the first line to print, and a guard that keeps it
/// serving.
async fn start(command: Command) -> Result<(serde_json::Value, Box<dyn std::any::Any>), String> {
    match command {
        Command::HubSpot(config) => {
            let sim = HubSpotSim::start(config)
                .await
                .map_err(|e| format!("cannot start the HubSpot simulator: {e}"))?;
            let line = serde_json::json!({
                "provider": "hubspot",
                "base_url": sim.base_url(),
                "access_token": sim.access_token(),
                "refresh_token": sim.refresh_token(),
                "client_id": sim.client_id(),
                "client_secret": sim.client_secret(),
                "private_app_token": sim.private_app_token(),
                "token_url": sim.token_url(),
            });
            Ok((line, Box::new(sim)))
        }
        Command::Salesforce(config) => {
            let sim = SalesforceSim::start(config)
                .await
                .map_err(|e| format!("cannot start the Salesforce simulator: {e}"))?;
            let line = serde_json::json!({
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
            Ok((line, Box::new(sim)))
        }
        Command::Dynamics(config) => {
            let sim = DynamicsSim::start(config)
                .await
                .map_err(|e| format!("cannot start the Dataverse simulator: {e}"))?;
            let line = serde_json::json!({
                "provider": "dynamics",
                "org_url": sim.org_url(),
                "base_url": sim.org_url(),
                "authority": sim.authority(),
                "token_url": sim.token_url(),
                "tenant_id": sim.tenant_id(),
                "client_id": sim.client_id(),
                "client_secret": sim.client_secret(),
                "api_version": sim.api_version(),
            });
            Ok((line, Box::new(sim)))
        }
        Command::Zapier(config) => {
            let sim = ZapierSim::start(config)
                .await
                .map_err(|e| format!("cannot start the Zapier simulator: {e}"))?;
            let (_, catch_hook_url) = sim.catch_hook();
            let line = serde_json::json!({
                "provider": "zapier",
                "base_url": sim.base_url(),
                "catch_hook_url": catch_hook_url,
            });
            Ok((line, Box::new(sim)))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let config = match parse(&args) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("crmsync-sim: {err}\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("crmsync-sim: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let (line, sim) = match start(config).await {
            Ok(started) => started,
            Err(err) => {
                eprintln!("crmsync-sim: {err}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            return ExitCode::FAILURE;
        }
        drop(out);
        std::future::pending::<()>().await;
        drop(sim);
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_zapier_flags() {
        let Ok(Command::Zapier(c)) = parse(&args("zapier --port 0 --per-second 5 --per-5min=100"))
        else {
            panic!("not parsed as zapier");
        };
        assert_eq!((c.port, c.per_second, c.per_five_minutes), (0, 5, 100));
        assert!(parse(&args("zapier --contacts 1")).is_err());
    }

    #[test]
    fn parses_hubspot_flags() {
        let Ok(Command::HubSpot(c)) = parse(&args(
            "hubspot --port 0 --contacts 5 --seed=9 --rate-limit-10s 0 --latency-ms 3",
        )) else {
            panic!("not parsed as hubspot");
        };
        assert_eq!((c.contacts, c.seed, c.rate_limit_10s), (5, 9, 0));
        assert_eq!(c.latency, Duration::from_millis(3));
    }

    #[test]
    fn parses_salesforce_flags() {
        let Ok(Command::Salesforce(c)) = parse(&args(
            "salesforce --port 0 --leads 3 --contacts 5 --accounts 2 --opportunities 4 --seed 7 \
             --daily-limit 50 --latency-ms 2 --session-ttl-s 9",
        )) else {
            panic!("not parsed as salesforce");
        };
        assert_eq!(
            (c.leads, c.contacts, c.accounts, c.opportunities, c.seed),
            (3, 5, 2, 4, 7)
        );
        assert_eq!(c.daily_api_limit, 50);
        assert_eq!(c.session_ttl, Some(Duration::from_secs(9)));
    }

    #[test]
    fn parses_dynamics_flags() {
        let Ok(Command::Dynamics(c)) = parse(&args(
            "dynamics --port 0 --contacts 5 --accounts 2 --leads 3 --opportunities 4 --seed 7 \
             --latency-ms 2 --requests-per-300s 600 --token-ttl-s 60",
        )) else {
            panic!("not parsed as dynamics");
        };
        assert_eq!(
            (c.contacts, c.accounts, c.leads, c.opportunities, c.seed),
            (5, 2, 3, 4, 7)
        );
        assert_eq!(c.requests_per_window, 600);
        assert_eq!(c.token_ttl, Duration::from_secs(60));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&args("dynamics --companies 1")).is_err());
        assert!(parse(&args("zoho")).is_err());
        assert!(parse(&args("hubspot --contacts x")).is_err());
        assert!(parse(&args("hubspot --bogus 1")).is_err());
        assert!(parse(&args("hubspot --port")).is_err());
        assert!(parse(&args("salesforce --companies 1")).is_err());
        assert!(parse(&args("salesforce --port 70000")).is_err());
    }
}
