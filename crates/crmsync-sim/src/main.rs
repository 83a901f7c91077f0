//! `crmsync-sim`: serves a simulated CRM standalone.
//!
//! ```text
//! crmsync-sim hubspot --port 0 --contacts N --companies N --deals N --seed S
//!                     [--rate-limit-10s N] [--search-rate-per-s N] [--latency-ms N] [--token-ttl-s N]
//! ```
//! Prints one JSON line with the base URL and credentials, then serves until killed.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use crmsync_sim::{HubSpotSim, HubSpotSimConfig};

const USAGE: &str =
    "usage: crmsync-sim hubspot [--port N] [--contacts N] [--companies N] [--deals N] \
[--seed N] [--rate-limit-10s N] [--search-rate-per-s N] [--latency-ms N] [--token-ttl-s N]

Serves a simulated HubSpot account on 127.0.0.1. Prints one JSON line
{\"provider\",\"base_url\",\"access_token\",\"refresh_token\",\"client_id\",\"client_secret\",
\"private_app_token\",\"token_url\"} and serves until killed.
--port 0 picks a free port; --rate-limit-10s 0 and --search-rate-per-s 0 disable those limits.";

/// Parses the arguments after the program name.
fn parse(args: &[String]) -> Result<HubSpotSimConfig, String> {
    let (provider, flags) = args.split_first().ok_or("missing provider")?;
    if provider != "hubspot" {
        return Err(format!(
            "unknown provider {provider:?} (available: hubspot)"
        ));
    }
    let mut config = HubSpotSimConfig::default();
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
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{name}: {v:?} is not a non-negative integer"))
        };
        let n = number(&value)?;
        let small = |n: u64| u32::try_from(n).map_err(|_| format!("{name}: {n} is too large"));
        match name {
            "--port" => {
                config.port = u16::try_from(n).map_err(|_| format!("--port: {n} is not a port"))?
            }
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
        let sim = match HubSpotSim::start(config).await {
            Ok(sim) => sim,
            Err(err) => {
                eprintln!("crmsync-sim: cannot start the HubSpot simulator: {err}");
                return ExitCode::FAILURE;
            }
        };
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
    fn parses_flags() {
        let c = parse(&args(
            "hubspot --port 0 --contacts 5 --seed=9 --rate-limit-10s 0 --latency-ms 3",
        ))
        .ok();
        let c = c.unwrap_or_default();
        assert_eq!((c.contacts, c.seed, c.rate_limit_10s), (5, 9, 0));
        assert_eq!(c.latency, Duration::from_millis(3));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&args("salesforce")).is_err());
        assert!(parse(&args("hubspot --contacts x")).is_err());
        assert!(parse(&args("hubspot --bogus 1")).is_err());
        assert!(parse(&args("hubspot --port")).is_err());
    }
}
