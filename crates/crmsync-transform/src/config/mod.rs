//! The declarative mapping configuration: which canonical field maps to which remote
//! field, in which direction, through which transform, under which validations.
//!
//! A [`MappingConfig`] is plain data (serde, JSON or TOML) that a tenant can override
//! with a [`MappingOverlay`]; [`DeclarativeMapper::new`](crate::DeclarativeMapper::new)
//! checks and compiles it once.

use std::{collections::BTreeMap, path::Path};

use crmsync_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

mod file;
mod overlay;
mod rule;
mod validation;

pub use overlay::{MappingOverlay, ObjectOverlay, RuleOverlay};
pub use rule::{FieldNames, FieldRule, TransformSpec};
pub use validation::Validation;

/// A whole mapping: the default phone region, how the provider writes values, and the
/// field rules of each object.
///
/// JSON:
///
/// ```json
/// { "default_region": "US",
///   "objects": { "contact": { "fields": [
///     { "local": "email", "remote": "email", "transform": "email",
///       "validations": [{ "rule": "email" }] } ] } } }
/// ```
///
/// TOML:
///
/// ```toml
/// default_region = "US"
/// remote_values = "typed"      # Salesforce: numbers and booleans are JSON numbers and booleans
///
/// [objects.contact]
/// remote = "Contact"           # the provider's name for the object, shown in messages
/// phone_region = { remote = "MailingCountry", local = "country" }
///
/// [[objects.contact.fields]]
/// local = "email"
/// remote = "Email"
/// transform = "email"
/// validations = [{ rule = "email" }]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// The region (ISO 3166-1 alpha-2, e.g. `US`, `GB`, `DE`) that phone numbers without
    /// a country code belong to.
    #[serde(default = "default_region")]
    pub default_region: String,
    /// How the provider writes numbers, booleans and instants: as text (HubSpot, the
    /// default) or as JSON numbers and booleans (Salesforce, Dataverse). Transforms read
    /// both either way; this decides what they write.
    #[serde(default, skip_serializing_if = "RemoteValues::is_text")]
    pub remote_values: RemoteValues,
    /// Field rules by object kind, keyed by [`ObjectKind::as_str`] (`contact`,
    /// `company`, `deal`, ... or a custom object's name). Plural forms are accepted.
    ///
    /// [`ObjectKind::as_str`]: crmsync_core::ObjectKind::as_str
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectMapping>,
    /// Where the configuration was read from (a file's path), named in every error about
    /// it. Set by [`from_toml_file`](Self::from_toml_file) and
    /// [`from_json_file`](Self::from_json_file); never read from or written to the
    /// configuration itself.
    #[serde(skip)]
    pub source: Option<String>,
}

impl Default for MappingConfig {
    fn default() -> Self {
        Self {
            default_region: default_region(),
            remote_values: RemoteValues::Text,
            objects: BTreeMap::new(),
            source: None,
        }
    }
}

fn default_region() -> String {
    "US".to_owned()
}

impl MappingConfig {
    /// Parses a configuration from JSON.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the line and column of the problem.
    pub fn from_json_str(text: &str) -> Result<Self> {
        file::parse_json(text, None)
    }

    /// Parses a configuration from TOML.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the problem and its line and column.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        file::parse_toml(text, None)
    }

    /// Reads a TOML configuration file. The file's path is kept in
    /// [`source`](Self::source) so that compile errors name it too.
    ///
    /// ```no_run
    /// use crmsync_transform::{DeclarativeMapper, MappingConfig};
    /// let mapper = DeclarativeMapper::new(MappingConfig::from_toml_file("mapping/acme.toml")?)?;
    /// # Ok::<(), crmsync_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the file, and the line and column of a parse error.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        let (text, name) = file::read(path.as_ref())?;
        let mut config: Self = file::parse_toml(&text, Some(&name))?;
        config.source = Some(name);
        Ok(config)
    }

    /// Reads a JSON configuration file; see [`from_toml_file`](Self::from_toml_file).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the file, and the line and column of a parse error.
    pub fn from_json_file(path: impl AsRef<Path>) -> Result<Self> {
        let (text, name) = file::read(path.as_ref())?;
        let mut config: Self = file::parse_json(&text, Some(&name))?;
        config.source = Some(name);
        Ok(config)
    }

    /// Reads a configuration file, TOML or JSON by its extension (`.toml`, `.json`).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for another extension, or as the readers above.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        match file::format_of(path)? {
            file::Format::Toml => Self::from_toml_file(path),
            file::Format::Json => Self::from_json_file(path),
        }
    }

    /// The configuration as pretty JSON.
    ///
    /// # Errors
    /// [`ErrorKind::Internal`] if a default value cannot be serialized (it always can).
    pub fn to_json_string(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|err| {
            Error::new(
                ErrorKind::Internal,
                "cannot serialize mapping configuration",
            )
            .with_source(err)
        })
    }

    /// The configuration as TOML.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] if a value has no TOML form (a `null` default).
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string(self).map_err(|err| {
            Error::new(
                ErrorKind::Config,
                format!("mapping configuration has no TOML form: {err}"),
            )
            .with_source(err)
        })
    }

    /// Adds (or replaces) the rules of one object, keeping its other options.
    pub fn with_object(
        mut self,
        object: impl Into<String>,
        fields: impl IntoIterator<Item = FieldRule>,
    ) -> Self {
        self.objects.entry(object.into()).or_default().fields = fields.into_iter().collect();
        self
    }

    /// Reads the phone region of an object's records from their country field (see
    /// [`ObjectMapping::phone_region`]), adding the object without rules if it has none.
    pub fn with_phone_region(mut self, object: impl Into<String>, region: PhoneRegion) -> Self {
        self.objects.entry(object.into()).or_default().phone_region = Some(region);
        self
    }

    /// Names the provider's object (`Account` for `company`), for messages; see
    /// [`ObjectMapping::remote`].
    pub fn with_remote_object(
        mut self,
        object: impl Into<String>,
        remote: impl Into<String>,
    ) -> Self {
        self.objects.entry(object.into()).or_default().remote = Some(remote.into());
        self
    }

    /// Sets how the provider writes values.
    pub fn with_remote_values(mut self, remote_values: RemoteValues) -> Self {
        self.remote_values = remote_values;
        self
    }

    /// The name used for the configuration in messages: its file, or "mapping
    /// configuration".
    pub(crate) fn origin(&self) -> String {
        match &self.source {
            Some(source) => format!("mapping file `{source}`"),
            None => "mapping configuration".to_owned(),
        }
    }
}

/// How a provider writes numbers, booleans and instants on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteValues {
    /// Every value is text: `"250"`, `"true"`, `"1714521600000"` (HubSpot).
    #[default]
    Text,
    /// Numbers and booleans are JSON numbers and booleans: `250`, `true` (Salesforce,
    /// Dataverse).
    Typed,
}

impl RemoteValues {
    /// Whether values are written as text.
    pub fn is_text(&self) -> bool {
        matches!(self, Self::Text)
    }
}

/// The field rules of one object and its object-level options.
///
/// ```toml
/// [objects.contact]
/// remote = "Contact"
/// phone_region = { remote = "country", local = "country" }
///
/// [[objects.contact.fields]]
/// local = "phone"
/// remote = "phone"
/// transform = "phone_e164"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectMapping {
    /// The provider's name for the object (`Contact`, `Account`, `Opportunity`, `Task`),
    /// named in messages such as "field `Foo__c` does not exist on Contact". Absent: the
    /// canonical name is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// The rules, applied in order.
    #[serde(default)]
    pub fields: Vec<FieldRule>,
    /// The fields holding each record's country, to read phone numbers written without a
    /// country code (`"0117 853 9929"` on a contact in `"United Kingdom"`) in that
    /// country rather than in [`MappingConfig::default_region`]. Absent: every record
    /// uses the default region.
    ///
    /// Inbound, the country is read from the record's `remote` field (which the mapper
    /// then always requests from the provider, even without a rule mapping it); outbound,
    /// from the patch's `local` field when the patch carries it. The country may be a
    /// name, an ISO 3166-1 alpha-2 or alpha-3 code (see
    /// [`region_for_country`](crate::region_for_country)); a missing or unknown country,
    /// or a number that is not valid in the record's country, falls back to the default
    /// region. Numbers with a country code (`+44 …`, `0044 …`) read the same either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_region: Option<PhoneRegion>,
}

/// The field that holds a record's country, on each side, e.g. HubSpot's `country`
/// property and the canonical `country` field. See [`ObjectMapping::phone_region`].
///
/// ```
/// use crmsync_transform::PhoneRegion;
/// let region: PhoneRegion = serde_json::from_str(r#"{ "remote": "country", "local": "country" }"#)?;
/// assert_eq!(region, PhoneRegion::new("country", "country"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneRegion {
    /// The provider's field holding the country (read from inbound records).
    pub remote: String,
    /// The application's field holding the country (read from outbound patches).
    pub local: String,
}

impl PhoneRegion {
    /// The country is in `remote` on the provider's side and in `local` on the
    /// application's.
    pub fn new(remote: impl Into<String>, local: impl Into<String>) -> Self {
        Self {
            remote: remote.into(),
            local: local.into(),
        }
    }
}

/// Which way a field flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldDirection {
    /// From the provider into the application only.
    Inbound,
    /// From the application to the provider only.
    Outbound,
    /// Both ways (the default).
    #[default]
    Bidirectional,
}

impl FieldDirection {
    /// Whether the field flows from the provider into the application.
    pub fn is_inbound(self) -> bool {
        matches!(self, Self::Inbound | Self::Bidirectional)
    }

    /// Whether the field flows from the application to the provider.
    pub fn is_outbound(self) -> bool {
        matches!(self, Self::Outbound | Self::Bidirectional)
    }

    /// Whether a transform that serves `self` can serve a rule flowing `rule`.
    pub fn covers(self, rule: FieldDirection) -> bool {
        (!rule.is_inbound() || self.is_inbound()) && (!rule.is_outbound() || self.is_outbound())
    }

    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Bidirectional => "bidirectional",
        }
    }
}

#[cfg(test)]
mod tests;
