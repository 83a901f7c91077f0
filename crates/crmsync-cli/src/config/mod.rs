//! The configuration file (`crmsync.toml`): the store, tenants, connections with their
//! credentials (from environment variables or files, never from the file itself),
//! mappings, conflict rules and schedules.
//!
//! Every mistake is reported as `file:line: what is wrong` with a fix, and exits 78.

mod parse;

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use crmsync_core::ObjectKind;
use crmsync_engine::ConflictPolicy;

use crate::{error::CliError, output::register_secret};
use parse::Parser;

/// Where the configuration is read from unless `--config` or `CRMSYNC_CONFIG` say otherwise.
pub const DEFAULT_PATH: &str = "crmsync.toml";
/// HubSpot's production API.
pub const HUBSPOT_URL: &str = "https://api.hubapi.com";
/// Salesforce's production login server.
pub const SALESFORCE_LOGIN_URL: &str = "https://login.salesforce.com";
/// The shortest and longest schedule intervals.
const SCHEDULE_RANGE: (u64, u64) = (60, 24 * 3600);

/// A place in the configuration file.
#[derive(Clone, Debug)]
pub struct Location {
    /// The file, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Where a secret comes from.
#[derive(Clone, Debug)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file (its whole content, trimmed).
    File(PathBuf),
}

/// One credential of a connection: where to read it, never its value.
#[derive(Clone, Debug)]
pub struct Secret {
    /// Its name (`token`, `client_secret`, ...).
    pub name: &'static str,
    /// Where it comes from.
    pub source: SecretSource,
    /// Where the configuration names it.
    pub at: Location,
    /// The connection (or `store`) it belongs to.
    pub owner: String,
}

impl Secret {
    /// Where it is read from, for messages.
    pub fn describe(&self) -> String {
        match &self.source {
            SecretSource::Env(var) => format!("environment variable {var}"),
            SecretSource::File(path) => format!("file {}", path.display()),
        }
    }

    /// Reads the value (and registers it for redaction). A missing variable or file
    /// is a configuration error that says how to provide it.
    pub fn resolve(&self) -> Result<String, CliError> {
        let value = match &self.source {
            SecretSource::Env(var) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => v,
                Ok(_) | Err(std::env::VarError::NotPresent) => {
                    return Err(CliError::config(format!(
                        "{}: {}: credential `{}` is missing: environment variable {var} is not set",
                        self.at, self.owner, self.name
                    ))
                    .hint(format!(
                        "export {var}=… before running crmsync, or use `{}_file = \"path\"` to read it from a file",
                        self.name
                    )));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(CliError::config(format!(
                        "{}: {}: environment variable {var} is not valid UTF-8",
                        self.at, self.owner
                    ))
                    .hint(format!("set {var} to the credential's text")));
                }
            },
            SecretSource::File(path) => match std::fs::read_to_string(path) {
                Ok(v) if !v.trim().is_empty() => v.trim().to_owned(),
                Ok(_) => {
                    return Err(CliError::config(format!(
                        "{}: {}: credential file {} is empty",
                        self.at,
                        self.owner,
                        path.display()
                    ))
                    .hint(format!(
                        "write the {} into {}",
                        self.name,
                        path.display()
                    )));
                }
                Err(err) => {
                    return Err(CliError::config(format!(
                        "{}: {}: cannot read credential `{}` from {}: {err}",
                        self.at,
                        self.owner,
                        self.name,
                        path.display()
                    ))
                    .hint(format!(
                        "create {} holding the {} (readable by you only: chmod 600), or use `{}_env = \"VAR\"`",
                        path.display(),
                        self.name,
                        self.name
                    )));
                }
            },
        };
        register_secret(&value);
        Ok(value)
    }
}

/// The store.
#[derive(Clone, Debug)]
pub enum StoreSettings {
    /// An SQLite file.
    Sqlite {
        /// Its path (relative paths are relative to the configuration file).
        path: PathBuf,
    },
    /// A PostgreSQL database.
    Postgres {
        /// The URL (it may hold a password).
        url: Secret,
        /// A schema of its own, if set.
        schema: Option<String>,
    },
}

/// How a HubSpot connection authenticates.
#[derive(Clone, Debug)]
pub enum HubSpotAuth {
    /// A private app's token.
    PrivateApp {
        /// The token.
        token: Secret,
    },
    /// An OAuth app installation.
    OAuth {
        /// The app's client id (not secret).
        client_id: String,
        /// The app's client secret.
        client_secret: Secret,
        /// The installation's refresh token.
        refresh_token: Secret,
    },
}

/// How a Salesforce connection authenticates.
#[derive(Clone, Debug)]
pub enum SalesforceAuth {
    /// The refresh-token flow.
    RefreshToken {
        /// The connected app's consumer key.
        client_id: String,
        /// Its consumer secret.
        client_secret: Secret,
        /// The refresh token.
        refresh_token: Secret,
    },
    /// The JWT bearer flow.
    JwtBearer {
        /// The connected app's consumer key.
        client_id: String,
        /// The user to act as.
        username: String,
        /// The RS256 private key (PEM).
        private_key: Secret,
    },
}

/// Which CRM a connection talks to, with its settings.
///
/// To add a provider (Dynamics 365 next): add a variant here, parse its settings in
/// `provider_settings` below, and build it in `wiring::remote_provider`.
#[derive(Clone, Debug)]
pub enum ProviderSettings {
    /// HubSpot CRM v3.
    HubSpot {
        /// API base URL.
        base_url: String,
        /// Credentials.
        auth: HubSpotAuth,
    },
    /// Salesforce.
    Salesforce {
        /// Login server.
        login_url: String,
        /// Credentials.
        auth: SalesforceAuth,
    },
}

impl ProviderSettings {
    /// The provider's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::HubSpot { .. } => "hubspot",
            Self::Salesforce { .. } => "salesforce",
        }
    }

    /// The URL the connection talks to first.
    pub fn url(&self) -> &str {
        match self {
            Self::HubSpot { base_url, .. } => base_url,
            Self::Salesforce { login_url, .. } => login_url,
        }
    }

    /// Every credential the connection needs.
    pub fn secrets(&self) -> Vec<&Secret> {
        match self {
            Self::HubSpot {
                auth: HubSpotAuth::PrivateApp { token },
                ..
            } => vec![token],
            Self::HubSpot {
                auth:
                    HubSpotAuth::OAuth {
                        client_secret,
                        refresh_token,
                        ..
                    },
                ..
            }
            | Self::Salesforce {
                auth:
                    SalesforceAuth::RefreshToken {
                        client_secret,
                        refresh_token,
                        ..
                    },
                ..
            } => vec![client_secret, refresh_token],
            Self::Salesforce {
                auth: SalesforceAuth::JwtBearer { private_key, .. },
                ..
            } => vec![private_key],
        }
    }
}

/// Which mapping a connection uses.
#[derive(Clone, Debug)]
pub enum MappingSource {
    /// The provider's built-in default mapping.
    Builtin,
    /// A mapping file (TOML or JSON).
    File(PathBuf),
}

/// One connection: a tenant's link to one CRM account.
#[derive(Clone, Debug)]
pub struct Connection {
    /// Its name (the `<connection>` of the commands).
    pub name: String,
    /// The tenant it belongs to.
    pub tenant: String,
    /// The CRM and its settings.
    pub provider: ProviderSettings,
    /// The objects `sync <connection> all` syncs, in order.
    pub objects: Vec<ObjectKind>,
    /// The mapping.
    pub mapping: MappingSource,
    /// Conflict rules.
    pub conflicts: ConflictPolicy,
    /// How often a scheduler should run it.
    pub schedule: Option<Duration>,
    /// Where it is configured.
    pub at: Location,
}

/// The whole configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// The tenant of commands that name no connection.
    pub default_tenant: Option<String>,
    /// The store.
    pub store: StoreSettings,
    /// Declared tenants.
    pub tenants: Vec<String>,
    /// Connections by name.
    pub connections: BTreeMap<String, Connection>,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(
                    CliError::config(format!("no configuration at {}", path.display())).hint(
                        "run `crmsync init` to write a commented example, or point --config \
                     (or CRMSYNC_CONFIG) at your file",
                    ),
                );
            }
            Err(err) => {
                return Err(
                    CliError::config(format!("cannot read {}: {err}", path.display()))
                        .hint("check the path and its permissions"),
                );
            }
        };
        Parser {
            file: path.display().to_string(),
            dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            text: &text,
        }
        .parse(path)
    }

    /// A connection by name; an unknown name is a usage error that lists the known ones.
    pub fn connection(&self, name: &str) -> Result<&Connection, CliError> {
        self.connections.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.connections.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                format!(
                    "{} has no connections yet: add a [connections.{name}] section (`crmsync init` writes an example)",
                    self.path.display()
                )
            } else {
                format!(
                    "use one of: {} (or add [connections.{name}] to {})",
                    known.join(", "),
                    self.path.display()
                )
            };
            CliError::usage(format!("no connection named `{name}` in {}", self.path.display()))
                .hint(hint)
        })
    }

    /// The tenant a command without a connection works on: `--tenant`, else
    /// `default_tenant`, else the only tenant there is.
    pub fn tenant(&self, flag: Option<&str>) -> Result<String, CliError> {
        if let Some(t) = flag {
            let known = self.all_tenants();
            if !known.iter().any(|k| k == t) {
                return Err(CliError::usage(format!(
                    "no tenant named `{t}` in {}",
                    self.path.display()
                ))
                .hint(format!("use one of: {}", known.join(", "))));
            }
            return Ok(t.to_owned());
        }
        if let Some(t) = &self.default_tenant {
            return Ok(t.clone());
        }
        let known = self.all_tenants();
        match known.as_slice() {
            [only] => Ok(only.clone()),
            [] => Err(
                CliError::config(format!("{} declares no tenant", self.path.display()))
                    .hint("add `default_tenant = \"acme\"` and a [tenants.acme] section"),
            ),
            _ => Err(
                CliError::usage("several tenants are configured; say which one").hint(format!(
                    "pass --tenant (one of: {}) or set default_tenant",
                    known.join(", ")
                )),
            ),
        }
    }

    /// Tenants declared or named by a connection, sorted.
    pub fn all_tenants(&self) -> Vec<String> {
        let mut all = self.tenants.clone();
        all.extend(self.connections.values().map(|c| c.tenant.clone()));
        all.extend(self.default_tenant.clone());
        all.sort();
        all.dedup();
        all
    }
}

/// Parses `90s`, `15m`, `1h`, `1h30m` into a duration between 1 minute and 24 hours;
/// the error says why not.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("is empty".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(format!("has an unknown unit `{c}`")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| "needs a number before each unit".to_string())?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() {
        return Err("needs a unit after the number".into());
    }
    if total < SCHEDULE_RANGE.0 {
        return Err("is shorter than 1 minute".into());
    }
    if total > SCHEDULE_RANGE.1 {
        return Err("is longer than 24 hours".into());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_checked() {
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_interval("24h"), Ok(Duration::from_secs(86_400)));
        assert!(parse_interval("30s").is_err());
        assert!(parse_interval("25h").is_err());
        assert!(parse_interval("15").is_err());
        assert!(parse_interval("m").is_err());
        assert!(parse_interval("5d").is_err());
    }

    use crmsync_core::ConflictStrategy;

    fn parse(text: &str) -> Result<Config, CliError> {
        Parser {
            file: "crmsync.toml".into(),
            dir: PathBuf::new(),
            text,
        }
        .parse(Path::new("crmsync.toml"))
    }

    const GOOD: &str = r#"
default_tenant = "acme"
[store]
sqlite = "x.db"
[tenants.acme]
[connections.hubspot]
provider = "hubspot"
token_env = "HUBSPOT_TOKEN"
schedule = "15m"
[connections.hubspot.conflicts]
default = "crm_wins"
fields = { "contact.lead_status" = "last_write_wins" }
"#;

    #[test]
    fn a_good_configuration_loads() {
        let config = parse(GOOD).map_err(|e| e.to_string());
        let config = config.as_ref().ok();
        let connection = config.and_then(|c| c.connections.get("hubspot"));
        assert!(connection.is_some_and(|c| c.tenant == "acme" && c.objects.len() == 3));
        assert!(connection.is_some_and(
            |c| c.conflicts.strategy(&ObjectKind::Contact, "lead_status")
                == ConflictStrategy::LastWriteWins
        ));
    }

    #[test]
    fn mistakes_point_at_their_line_and_say_how_to_fix_them() {
        let cases = [
            (
                GOOD.replace("\"hubspot\"\ntoken", "\"hubspoot\"\ntoken"),
                ":7:",
                "unknown provider",
            ),
            (GOOD.replace("15m", "10s"), ":9:", "shorter than 1 minute"),
            (
                GOOD.replace("token_env = \"HUBSPOT_TOKEN\"", "token = \"pat-na1-x\""),
                ":8:",
                "never written",
            ),
            (
                GOOD.replace("crm_wins", "crm_rules"),
                ":11:",
                "unknown variant",
            ),
            (GOOD.replace("schedule", "schedul"), ":9:", "unknown field"),
            (GOOD.replace("[store]", "[store"), ":3:", ""),
        ];
        for (text, line, what) in cases {
            let Err(err) = parse(&text) else {
                panic!("accepted: {text}");
            };
            let shown = err.to_string();
            assert_eq!(err.code, crate::error::exit::CONFIG, "{shown}");
            assert!(shown.contains(&format!("crmsync.toml{line}")), "{shown}");
            assert!(shown.contains(what), "{shown}");
            assert!(err.hint.is_some(), "{shown}");
        }
    }
}
