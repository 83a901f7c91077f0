//! [`MappingOverlay`]: a tenant's changes on top of a base mapping (a provider's
//! defaults, or a shared file).

use std::{collections::BTreeMap, path::Path};

use crmsync_core::{Error, ErrorKind, ObjectKind, Result};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::{
    FieldDirection, FieldNames, FieldRule, MappingConfig, PhoneRegion, RemoteValues, TransformSpec,
    Validation, file,
};

/// Changes to a [`MappingConfig`]: per object, rules replaced (by their `local` name),
/// added or removed, and object options set. Applied with [`MappingConfig::overlay`].
///
/// ```
/// use crmsync_transform::{DeclarativeMapper, MappingConfig, MappingOverlay};
///
/// let acme = MappingOverlay::from_toml_str(r#"
///     default_region = "GB"
///
///     ## Replaces the default `title` rule (matched by `local`).
///     [[objects.contact.fields]]
///     local = "title"
///     remote = "jobtitle"
///     direction = "inbound"
///
///     ## Adds a rule the defaults do not have.
///     [[objects.contact.fields]]
///     local = "call_count"
///     remote = "num_calls"
///     direction = "outbound"
///     transform = "integer"
///
///     ## Drops a default rule.
///     [[objects.contact.fields]]
///     local = "lifecycle_stage"
///     remove = true
///
///     ## Drops a whole object.
///     [objects.deal]
///     remove = true
/// "#)?;
/// let config = MappingConfig::hubspot_defaults().overlay(&acme)?;
/// assert_eq!(config.default_region, "GB");
/// assert!(!config.objects.contains_key("deal"));
/// let mapper = DeclarativeMapper::new(config)?;
/// # Ok::<(), crmsync_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingOverlay {
    /// Replaces the base's default region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,
    /// Replaces how the provider writes values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_values: Option<RemoteValues>,
    /// Changes by object (keys as in [`MappingConfig::objects`]; plural forms match
    /// singular ones).
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectOverlay>,
    /// Where the overlay was read from, named in errors.
    #[serde(skip)]
    pub source: Option<String>,
}

/// Changes to one object's mapping.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectOverlay {
    /// Drops the object from the mapping (nothing else may be set with it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remove: bool,
    /// Replaces the provider's object name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// Replaces where records keep their country.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_region: Option<PhoneRegion>,
    /// Rules to set or remove, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<RuleOverlay>,
}

/// One change to an object's rules.
///
/// Written as a whole [`FieldRule`] (it replaces every base rule with the same `local`,
/// at the first one's position, or is appended; further rules with that `local` in the
/// same overlay follow it), or as `{ local = "...", remove = true }` (it removes every
/// rule with that `local`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawRuleOverlay")]
pub enum RuleOverlay {
    /// Replaces the rules with this rule's `local`, or adds it.
    Set(FieldRule),
    /// Removes the rules with this `local`.
    Remove(FieldNames),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleOverlay {
    local: FieldNames,
    #[serde(default)]
    remove: bool,
    remote: Option<FieldNames>,
    direction: Option<FieldDirection>,
    transform: Option<TransformSpec>,
    required: Option<bool>,
    validations: Option<Vec<Validation>>,
    default: Option<Value>,
}

impl TryFrom<RawRuleOverlay> for RuleOverlay {
    type Error = String;

    fn try_from(raw: RawRuleOverlay) -> Result<Self, String> {
        let local = raw.local;
        if raw.remove {
            let extra = raw.remote.is_some()
                || raw.direction.is_some()
                || raw.transform.is_some()
                || raw.required.is_some()
                || raw.validations.is_some()
                || raw.default.is_some();
            if extra {
                return Err(format!(
                    "rule `{local}` has `remove = true` and other keys; a removal takes only \
                     `local`"
                ));
            }
            return Ok(Self::Remove(local));
        }
        let Some(remote) = raw.remote else {
            return Err(format!(
                "rule `{local}` needs `remote` (or `remove = true` to drop the base rule)"
            ));
        };
        Ok(Self::Set(FieldRule {
            local,
            remote,
            direction: raw.direction.unwrap_or_default(),
            transform: raw.transform.unwrap_or_default(),
            required: raw.required.unwrap_or(false),
            validations: raw.validations.unwrap_or_default(),
            default: raw.default,
        }))
    }
}

impl Serialize for RuleOverlay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Removal<'a> {
            local: &'a FieldNames,
            remove: bool,
        }
        match self {
            Self::Set(rule) => rule.serialize(s),
            Self::Remove(local) => Removal {
                local,
                remove: true,
            }
            .serialize(s),
        }
    }
}

impl RuleOverlay {
    /// The `local` name(s) the change is about.
    pub fn local(&self) -> &FieldNames {
        match self {
            Self::Set(rule) => &rule.local,
            Self::Remove(local) => local,
        }
    }
}

impl MappingOverlay {
    /// Parses an overlay from TOML.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the problem and its line and column.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        file::parse_toml(text, None)
    }

    /// Parses an overlay from JSON.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the line and column of the problem.
    pub fn from_json_str(text: &str) -> Result<Self> {
        file::parse_json(text, None)
    }

    /// Reads an overlay file, TOML or JSON by its extension; errors name the file.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the file, and the line and column of a parse error.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let (text, name) = file::read(path)?;
        let mut overlay: Self = match file::format_of(path)? {
            file::Format::Toml => file::parse_toml(&text, Some(&name))?,
            file::Format::Json => file::parse_json(&text, Some(&name))?,
        };
        overlay.source = Some(name);
        Ok(overlay)
    }

    fn origin(&self) -> String {
        match &self.source {
            Some(source) => format!("overlay file `{source}`"),
            None => "mapping overlay".to_owned(),
        }
    }
}

impl From<MappingConfig> for MappingOverlay {
    /// An overlay that sets every rule and option of a configuration.
    fn from(config: MappingConfig) -> Self {
        Self {
            default_region: Some(config.default_region),
            remote_values: Some(config.remote_values),
            objects: config
                .objects
                .into_iter()
                .map(|(key, object)| {
                    let overlay = ObjectOverlay {
                        remove: false,
                        remote: object.remote,
                        phone_region: object.phone_region,
                        fields: object.fields.into_iter().map(RuleOverlay::Set).collect(),
                    };
                    (key, overlay)
                })
                .collect(),
            source: config.source,
        }
    }
}

impl MappingConfig {
    /// This configuration with a tenant's changes on top: options replaced, rules
    /// replaced by `local` name, added, or removed, objects added or removed.
    ///
    /// The result names the overlay's file (over the base's) in later errors.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the overlay, the object and the rule, when it removes
    /// a rule or an object the base does not have (a typo would otherwise silently keep
    /// the base rule), or removes an object and changes it at once.
    pub fn overlay(mut self, overlay: &MappingOverlay) -> Result<Self> {
        let origin = overlay.origin();
        let mut problems = Vec::new();
        if let Some(region) = &overlay.default_region {
            self.default_region.clone_from(region);
        }
        if let Some(values) = overlay.remote_values {
            self.remote_values = values;
        }
        for (key, changes) in &overlay.objects {
            let kind = ObjectKind::parse(key);
            let existing = self
                .objects
                .keys()
                .find(|k| ObjectKind::parse(k) == kind)
                .cloned();
            if changes.remove {
                let changes_too = changes.remote.is_some()
                    || changes.phone_region.is_some()
                    || !changes.fields.is_empty();
                match existing {
                    _ if changes_too => problems.push(format!(
                        "object `{key}` has `remove = true` and changes; either remove it or \
                         change it"
                    )),
                    Some(existing) => {
                        self.objects.remove(&existing);
                    }
                    None => problems.push(format!(
                        "object `{key}` is removed but the base mapping does not have it; \
                         check the name"
                    )),
                }
                continue;
            }
            let mapping = self
                .objects
                .entry(existing.unwrap_or_else(|| key.clone()))
                .or_default();
            if let Some(remote) = &changes.remote {
                mapping.remote = Some(remote.clone());
            }
            if let Some(region) = &changes.phone_region {
                mapping.phone_region = Some(region.clone());
            }
            // Where each `local` this overlay set went: later rules with the same `local`
            // in the overlay go after it, rather than replacing it.
            let mut set_here: Vec<(FieldNames, usize)> = Vec::new();
            for change in &changes.fields {
                let local = change.local();
                let already = set_here.iter().position(|(l, _)| l == local);
                let first = mapping.fields.iter().position(|r| &r.local == local);
                match (change, already, first) {
                    (RuleOverlay::Set(rule), Some(entry), _) => {
                        mapping.fields.insert(set_here[entry].1 + 1, rule.clone());
                    }
                    (RuleOverlay::Set(rule), None, Some(at)) => {
                        mapping.fields[at] = rule.clone();
                        let mut index = 0;
                        mapping.fields.retain(|r| {
                            index += 1;
                            index - 1 == at || &r.local != local
                        });
                        set_here.push((local.clone(), at));
                    }
                    (RuleOverlay::Set(rule), None, None) => {
                        mapping.fields.push(rule.clone());
                        set_here.push((local.clone(), mapping.fields.len() - 1));
                    }
                    (RuleOverlay::Remove(_), _, Some(_)) => {
                        mapping.fields.retain(|r| &r.local != local);
                        set_here.retain(|(l, _)| l != local);
                    }
                    (RuleOverlay::Remove(_), _, None) => {
                        let known: Vec<String> =
                            mapping.fields.iter().map(|r| r.local.to_string()).collect();
                        problems.push(format!(
                            "object `{key}` removes rule `{local}`, which the base mapping \
                             does not have; check the name (its rules: {})",
                            if known.is_empty() {
                                "none".to_owned()
                            } else {
                                known.join(", ")
                            }
                        ));
                    }
                }
                // Rules moved: each `local` set here ends at its last rule.
                for (l, at) in &mut set_here {
                    if let Some(last) = mapping.fields.iter().rposition(|r| &r.local == l) {
                        *at = last;
                    }
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "{origin} does not apply to {}: {}",
                    self.origin(),
                    problems.join("; ")
                ),
            ));
        }
        self.source = match (&overlay.source, self.source.take()) {
            (Some(over), Some(base)) => Some(format!("{over}` over `{base}")),
            (Some(over), None) => Some(over.clone()),
            (None, base) => base,
        };
        Ok(self)
    }
}
