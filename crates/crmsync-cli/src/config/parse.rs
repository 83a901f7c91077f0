//! Reading `crmsync.toml`: the file as written (serde, with spans) and its checks,
//! every error as `file:line: what is wrong` with a fix.

use std::{
    collections::BTreeMap,
    fmt,
    ops::Range,
    path::{Path, PathBuf},
};

use crmsync_core::{ConflictStrategy, ObjectKind};
use crmsync_engine::ConflictPolicy;
use serde::Deserialize;
use toml::Spanned;

use super::{
    Config, Connection, HUBSPOT_URL, HubSpotAuth, Location, MappingSource, ProviderSettings,
    SALESFORCE_LOGIN_URL, SalesforceAuth, Secret, SecretSource, StoreSettings, parse_interval,
};
use crate::error::CliError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    default_tenant: Option<Spanned<String>>,
    store: Option<Spanned<RawStore>>,
    #[serde(default)]
    tenants: BTreeMap<String, Spanned<RawTenant>>,
    #[serde(default)]
    connections: BTreeMap<String, Spanned<RawConnection>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    sqlite: Option<Spanned<String>>,
    postgres_url_env: Option<Spanned<String>>,
    postgres_url_file: Option<Spanned<String>>,
    postgres_schema: Option<Spanned<String>>,
    postgres_url: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    #[allow(dead_code)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    tenant: Option<Spanned<String>>,
    provider: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    login_url: Option<Spanned<String>>,
    objects: Option<Spanned<Vec<String>>>,
    mapping: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    conflicts: Option<Spanned<RawConflicts>>,
    client_id: Option<Spanned<String>>,
    username: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    client_secret_env: Option<Spanned<String>>,
    client_secret_file: Option<Spanned<String>>,
    refresh_token_env: Option<Spanned<String>>,
    refresh_token_file: Option<Spanned<String>>,
    private_key_env: Option<Spanned<String>>,
    private_key_file: Option<Spanned<String>>,
    // Secrets written into the file itself: rejected, with the fix.
    token: Option<Spanned<toml::Value>>,
    client_secret: Option<Spanned<toml::Value>>,
    refresh_token: Option<Spanned<toml::Value>>,
    private_key: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConflicts {
    default: Option<Spanned<ConflictStrategy>>,
    merge_fallback: Option<Spanned<ConflictStrategy>>,
    #[serde(default)]
    objects: BTreeMap<String, Spanned<ConflictStrategy>>,
    #[serde(default)]
    fields: BTreeMap<String, Spanned<ConflictStrategy>>,
}

/// Turns the raw file into a [`Config`], with `file:line` errors.
pub(super) struct Parser<'a> {
    pub(super) file: String,
    pub(super) dir: PathBuf,
    pub(super) text: &'a str,
}

impl Parser<'_> {
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text
            .as_bytes()
            .iter()
            .take(offset)
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }

    fn at(&self, span: &Range<usize>) -> Location {
        Location {
            file: self.file.clone(),
            line: self.line(span.start),
        }
    }

    fn err(
        &self,
        span: &Range<usize>,
        message: impl fmt::Display,
        fix: impl Into<String>,
    ) -> CliError {
        CliError::config(format!("{}: {message}", self.at(span))).hint(fix)
    }

    fn relative(&self, path: &str) -> PathBuf {
        let p = PathBuf::from(path);
        if p.is_absolute() { p } else { self.dir.join(p) }
    }

    pub(super) fn parse(&self, path: &Path) -> Result<Config, CliError> {
        let raw: RawConfig = toml::from_str(self.text).map_err(|err| {
            let line = err.span().map(|s| self.line(s.start));
            let what = err.message().trim().to_owned();
            let fix = if what.contains("unknown field") {
                "remove or rename the key; `crmsync init --print` shows every setting with comments"
            } else if what.contains("unknown variant") {
                "use one of the values the message lists"
            } else {
                "correct the TOML at that line (strings need quotes, tables [brackets])"
            };
            let at = match line {
                Some(line) => format!("{}:{line}", self.file),
                None => self.file.clone(),
            };
            CliError::config(format!("{at}: {what}")).hint(fix)
        })?;

        let store = self.store(raw.store.as_ref())?;
        let tenants: Vec<String> = raw.tenants.keys().cloned().collect();
        let default_tenant = match &raw.default_tenant {
            Some(t) => {
                let name = t.get_ref().trim().to_owned();
                if name.is_empty() {
                    return Err(self.err(
                        &t.span(),
                        "default_tenant is empty",
                        "name a tenant, e.g. default_tenant = \"acme\"",
                    ));
                }
                if !tenants.is_empty() && !tenants.contains(&name) {
                    return Err(self.err(
                        &t.span(),
                        format!("default_tenant `{name}` is not declared under [tenants]"),
                        format!(
                            "add a [tenants.{name}] section, or use one of: {}",
                            tenants.join(", ")
                        ),
                    ));
                }
                Some(name)
            }
            None => None,
        };
        let mut connections = BTreeMap::new();
        for (name, raw) in &raw.connections {
            let connection = self.connection(name, raw, default_tenant.as_deref(), &tenants)?;
            connections.insert(name.clone(), connection);
        }
        Ok(Config {
            path: path.to_path_buf(),
            default_tenant,
            store,
            tenants,
            connections,
        })
    }

    fn store(&self, raw: Option<&Spanned<RawStore>>) -> Result<StoreSettings, CliError> {
        let Some(raw) = raw else {
            return Err(CliError::config(format!("{}: no [store] section", self.file)).hint(
                "add [store] with `sqlite = \"crmsync.db\"` (or `postgres_url_env = \"DATABASE_URL\"`)",
            ));
        };
        let span = raw.span();
        let raw = raw.get_ref();
        if let Some(url) = &raw.postgres_url {
            return Err(self.err(
                &url.span(),
                "a PostgreSQL URL may hold a password, so it is never written in the configuration",
                "use `postgres_url_env = \"DATABASE_URL\"` (or `postgres_url_file = \"path\"`) instead",
            ));
        }
        let postgres = self.secret(
            "store",
            "postgres_url",
            &raw.postgres_url_env,
            &raw.postgres_url_file,
        )?;
        match (&raw.sqlite, postgres) {
            (Some(_), Some(_)) => Err(self.err(
                &span,
                "[store] names both an SQLite file and a PostgreSQL URL",
                "keep one of `sqlite` and `postgres_url_env`",
            )),
            (Some(path), None) => {
                if path.get_ref().trim().is_empty() {
                    return Err(self.err(
                        &path.span(),
                        "[store] sqlite path is empty",
                        "e.g. sqlite = \"crmsync.db\"",
                    ));
                }
                Ok(StoreSettings::Sqlite {
                    path: self.relative(path.get_ref()),
                })
            }
            (None, Some(url)) => {
                if cfg!(not(feature = "postgres")) {
                    return Err(self.err(
                        &span,
                        "this crmsync was built without PostgreSQL support",
                        "use `sqlite = \"crmsync.db\"`, or build crmsync-cli with the `postgres` feature",
                    ));
                }
                Ok(StoreSettings::Postgres {
                    url,
                    schema: raw.postgres_schema.as_ref().map(|s| s.get_ref().clone()),
                })
            }
            (None, None) => Err(self.err(
                &span,
                "[store] names no database",
                "add `sqlite = \"crmsync.db\"` or `postgres_url_env = \"DATABASE_URL\"`",
            )),
        }
    }

    /// A secret given as `{name}_env` or `{name}_file` (not both).
    fn secret(
        &self,
        owner: &str,
        name: &'static str,
        env: &Option<Spanned<String>>,
        file: &Option<Spanned<String>>,
    ) -> Result<Option<Secret>, CliError> {
        match (env, file) {
            (Some(e), Some(_)) => Err(self.err(
                &e.span(),
                format!("{owner}: both {name}_env and {name}_file are set"),
                format!("keep one of {name}_env and {name}_file"),
            )),
            (Some(e), None) => {
                let var = e.get_ref().trim();
                if var.is_empty() || var.contains(['=', '\0']) {
                    return Err(self.err(
                        &e.span(),
                        format!("{owner}: {name}_env must name an environment variable"),
                        format!("e.g. {name}_env = \"{}\"", name.to_uppercase()),
                    ));
                }
                Ok(Some(Secret {
                    name,
                    source: SecretSource::Env(var.to_owned()),
                    at: self.at(&e.span()),
                    owner: owner.to_owned(),
                }))
            }
            (None, Some(f)) => Ok(Some(Secret {
                name,
                source: SecretSource::File(self.relative(f.get_ref())),
                at: self.at(&f.span()),
                owner: owner.to_owned(),
            })),
            (None, None) => Ok(None),
        }
    }

    fn connection(
        &self,
        name: &str,
        raw: &Spanned<RawConnection>,
        default_tenant: Option<&str>,
        tenants: &[String],
    ) -> Result<Connection, CliError> {
        let span = raw.span();
        let raw = raw.get_ref();
        let owner = format!("connection `{name}`");
        for (key, value) in [
            ("token", &raw.token),
            ("client_secret", &raw.client_secret),
            ("refresh_token", &raw.refresh_token),
            ("private_key", &raw.private_key),
        ] {
            if let Some(value) = value {
                return Err(self.err(
                    &value.span(),
                    format!("{owner}: `{key}` is a secret and is never written in the configuration"),
                    format!(
                        "remove it and use `{key}_env = \"{}\"` (an environment variable) or `{key}_file = \"path\"`",
                        key.to_uppercase()
                    ),
                ));
            }
        }
        let tenant = match (&raw.tenant, default_tenant) {
            (Some(t), _) => {
                let t_name = t.get_ref().trim().to_owned();
                if !tenants.is_empty() && !tenants.contains(&t_name) {
                    return Err(self.err(
                        &t.span(),
                        format!(
                            "{owner} names tenant `{t_name}`, which [tenants] does not declare"
                        ),
                        format!(
                            "add [tenants.{t_name}], or use one of: {}",
                            tenants.join(", ")
                        ),
                    ));
                }
                t_name
            }
            (None, Some(d)) => d.to_owned(),
            (None, None) if tenants.len() == 1 => tenants[0].clone(),
            (None, None) => {
                return Err(self.err(
                    &span,
                    format!("{owner} names no tenant"),
                    "add `tenant = \"acme\"` to it, or `default_tenant = \"acme\"` at the top",
                ));
            }
        };
        if tenant.is_empty() {
            return Err(self.err(
                &span,
                format!("{owner}: tenant is empty"),
                "name a tenant, e.g. tenant = \"acme\"",
            ));
        }
        let Some(provider) = &raw.provider else {
            return Err(self.err(
                &span,
                format!("{owner} has no provider"),
                "add `provider = \"hubspot\"` (or \"salesforce\")",
            ));
        };
        let provider_settings = self.provider(&owner, provider, raw)?;
        let objects = match &raw.objects {
            Some(list) => {
                if list.get_ref().is_empty() {
                    return Err(self.err(
                        &list.span(),
                        format!("{owner}: objects is empty"),
                        "list what `sync … all` covers, e.g. objects = [\"contact\", \"company\"]",
                    ));
                }
                let mut objects = Vec::new();
                for o in list.get_ref() {
                    if o.trim().is_empty() {
                        return Err(self.err(
                            &list.span(),
                            format!("{owner}: an object name is empty"),
                            "e.g. objects = [\"contact\"]",
                        ));
                    }
                    objects.push(ObjectKind::parse(o.trim()));
                }
                objects
            }
            None => match provider_settings {
                ProviderSettings::HubSpot { .. } => {
                    vec![ObjectKind::Contact, ObjectKind::Company, ObjectKind::Deal]
                }
                ProviderSettings::Salesforce { .. } => vec![
                    ObjectKind::Contact,
                    ObjectKind::Lead,
                    ObjectKind::Company,
                    ObjectKind::Deal,
                ],
            },
        };
        let mapping = match &raw.mapping {
            None => MappingSource::Builtin,
            Some(m) if m.get_ref() == "builtin" => MappingSource::Builtin,
            Some(m) => {
                let path = self.relative(m.get_ref());
                if !path.is_file() {
                    return Err(self.err(
                        &m.span(),
                        format!("{owner}: mapping file {} does not exist", path.display()),
                        "fix the path (relative paths are relative to the configuration file), or use mapping = \"builtin\"",
                    ));
                }
                MappingSource::File(path)
            }
        };
        let conflicts = match &raw.conflicts {
            Some(c) => self.conflicts(&owner, c)?,
            None => ConflictPolicy::new(ConflictStrategy::RemoteWins),
        };
        let schedule = match &raw.schedule {
            Some(s) => Some(parse_interval(s.get_ref()).map_err(|why| {
                self.err(
                    &s.span(),
                    format!("{owner}: schedule `{}` {why}", s.get_ref()),
                    "write an interval between 1m and 24h, e.g. schedule = \"15m\" (units: s, m, h)",
                )
            })?),
            None => None,
        };
        Ok(Connection {
            name: name.to_owned(),
            tenant,
            provider: provider_settings,
            objects,
            mapping,
            conflicts,
            schedule,
            at: self.at(&span),
        })
    }

    fn url(&self, owner: &str, key: &str, value: &Spanned<String>) -> Result<String, CliError> {
        let url = value.get_ref().trim().trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(self.err(
                &value.span(),
                format!("{owner}: {key} `{url}` is not an http(s) URL"),
                format!("e.g. {key} = \"https://…\""),
            ));
        }
        Ok(url)
    }

    fn provider(
        &self,
        owner: &str,
        provider: &Spanned<String>,
        raw: &RawConnection,
    ) -> Result<ProviderSettings, CliError> {
        let not_for = |key: &str, span: Range<usize>, fix: &str| {
            Err(self.err(
                &span,
                format!("{owner}: `{key}` is not a {} setting", provider.get_ref()),
                fix.to_owned(),
            ))
        };
        let client_id = |what: &str| -> Result<String, CliError> {
            match &raw.client_id {
                Some(id) if !id.get_ref().trim().is_empty() => Ok(id.get_ref().trim().to_owned()),
                _ => Err(self.err(
                    &provider.span(),
                    format!("{owner}: {what} needs client_id"),
                    "add `client_id = \"…\"` (the app's id; not a secret)",
                )),
            }
        };
        match provider.get_ref().as_str() {
            "hubspot" => {
                if let Some(u) = &raw.login_url {
                    return not_for("login_url", u.span(), "HubSpot uses base_url");
                }
                if let Some(u) = &raw.username {
                    return not_for("username", u.span(), "remove it");
                }
                let base_url = match &raw.base_url {
                    Some(u) => self.url(owner, "base_url", u)?,
                    None => HUBSPOT_URL.to_owned(),
                };
                let token = self.secret(owner, "token", &raw.token_env, &raw.token_file)?;
                let client_secret = self.secret(
                    owner,
                    "client_secret",
                    &raw.client_secret_env,
                    &raw.client_secret_file,
                )?;
                let refresh_token = self.secret(
                    owner,
                    "refresh_token",
                    &raw.refresh_token_env,
                    &raw.refresh_token_file,
                )?;
                let auth = match (token, client_secret, refresh_token) {
                    (Some(token), None, None) => HubSpotAuth::PrivateApp { token },
                    (None, Some(client_secret), Some(refresh_token)) => HubSpotAuth::OAuth {
                        client_id: client_id("an OAuth app")?,
                        client_secret,
                        refresh_token,
                    },
                    (Some(_), _, _) => {
                        return Err(self.err(
                            &provider.span(),
                            format!("{owner} has both a private app token and OAuth credentials"),
                            "keep token_env (a private app) or client_id + client_secret_env + refresh_token_env (an OAuth app)",
                        ));
                    }
                    _ => {
                        return Err(self.err(
                            &provider.span(),
                            format!("{owner} has no HubSpot credentials"),
                            "add `token_env = \"HUBSPOT_TOKEN\"` (a private app token), or client_id + client_secret_env + refresh_token_env (an OAuth app)",
                        ));
                    }
                };
                Ok(ProviderSettings::HubSpot { base_url, auth })
            }
            "salesforce" => {
                if let Some(u) = &raw.base_url {
                    return not_for(
                        "base_url",
                        u.span(),
                        "Salesforce uses login_url (the instance URL comes with the token)",
                    );
                }
                if let Some(t) = raw.token_env.as_ref().or(raw.token_file.as_ref()) {
                    return not_for(
                        "token_*",
                        t.span(),
                        "use client_secret + refresh_token, or private_key + username",
                    );
                }
                let login_url = match &raw.login_url {
                    Some(u) => self.url(owner, "login_url", u)?,
                    None => SALESFORCE_LOGIN_URL.to_owned(),
                };
                let private_key = self.secret(
                    owner,
                    "private_key",
                    &raw.private_key_env,
                    &raw.private_key_file,
                )?;
                let client_secret = self.secret(
                    owner,
                    "client_secret",
                    &raw.client_secret_env,
                    &raw.client_secret_file,
                )?;
                let refresh_token = self.secret(
                    owner,
                    "refresh_token",
                    &raw.refresh_token_env,
                    &raw.refresh_token_file,
                )?;
                let auth = match (private_key, client_secret, refresh_token) {
                    (Some(private_key), None, None) => SalesforceAuth::JwtBearer {
                        client_id: client_id("the JWT bearer flow")?,
                        username: match &raw.username {
                            Some(u) if !u.get_ref().trim().is_empty() => {
                                u.get_ref().trim().to_owned()
                            }
                            _ => {
                                return Err(self.err(
                                    &provider.span(),
                                    format!("{owner}: the JWT bearer flow needs username"),
                                    "add `username = \"sync@acme.example\"`",
                                ));
                            }
                        },
                        private_key,
                    },
                    (None, Some(client_secret), Some(refresh_token)) => {
                        SalesforceAuth::RefreshToken {
                            client_id: client_id("the refresh-token flow")?,
                            client_secret,
                            refresh_token,
                        }
                    }
                    _ => {
                        return Err(self.err(
                            &provider.span(),
                            format!("{owner} has no usable Salesforce credentials"),
                            "add client_id + client_secret_env + refresh_token_env (refresh-token flow), or client_id + username + private_key_file (JWT bearer flow)",
                        ));
                    }
                };
                Ok(ProviderSettings::Salesforce { login_url, auth })
            }
            other @ ("dynamics" | "zapier") => Err(self.err(
                &provider.span(),
                format!(
                    "{owner}: provider `{other}` is not available in the command-line tool yet"
                ),
                "use provider = \"hubspot\" or \"salesforce\"",
            )),
            other => Err(self.err(
                &provider.span(),
                format!("{owner}: unknown provider `{other}`"),
                "use provider = \"hubspot\" or \"salesforce\"",
            )),
        }
    }

    fn conflicts(
        &self,
        owner: &str,
        raw: &Spanned<RawConflicts>,
    ) -> Result<ConflictPolicy, CliError> {
        let raw = raw.get_ref();
        let mut policy = ConflictPolicy::new(
            raw.default
                .as_ref()
                .map_or(ConflictStrategy::RemoteWins, |s| *s.get_ref()),
        );
        if let Some(fallback) = &raw.merge_fallback {
            policy = policy.merge_fallback(*fallback.get_ref());
        }
        for (object, strategy) in &raw.objects {
            policy = policy.object(ObjectKind::parse(object), *strategy.get_ref());
        }
        for (key, strategy) in &raw.fields {
            let Some((object, field)) = key
                .split_once('.')
                .filter(|(o, f)| !o.is_empty() && !f.is_empty())
            else {
                return Err(self.err(
                    &strategy.span(),
                    format!("{owner}: conflict rule `{key}` names no object"),
                    "write fields as \"object.field\", e.g. \"contact.lead_status\" = \"last_write_wins\"",
                ));
            };
            policy = policy.field(ObjectKind::parse(object), field, *strategy.get_ref());
        }
        Ok(policy)
    }
}
