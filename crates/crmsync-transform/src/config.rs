//! The declarative mapping configuration: which canonical field maps to which remote
//! field, in which direction, through which transform, under which validations.
//!
//! A [`MappingConfig`] is plain data (serde, JSON or TOML) that a tenant can override;
//! [`DeclarativeMapper::new`](crate::DeclarativeMapper::new) checks and compiles it once.

use std::collections::BTreeMap;

use crmsync_core::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole mapping: the default phone region and the field rules of each object.
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
///
/// [[objects.contact.fields]]
/// local = "email"
/// remote = "email"
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
    /// Field rules by object kind, keyed by [`ObjectKind::as_str`] (`contact`,
    /// `company`, `deal`, ... or a custom object's name). Plural forms are accepted.
    ///
    /// [`ObjectKind::as_str`]: crmsync_core::ObjectKind::as_str
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectMapping>,
}

impl Default for MappingConfig {
    fn default() -> Self {
        Self {
            default_region: default_region(),
            objects: BTreeMap::new(),
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
        serde_json::from_str(text).map_err(|err| {
            Error::new(
                ErrorKind::Config,
                format!("mapping configuration is not valid JSON: {err}"),
            )
            .with_source(err)
        })
    }

    /// Parses a configuration from TOML.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the problem and where it is.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|err| {
            Error::new(
                ErrorKind::Config,
                format!("mapping configuration is not valid TOML: {err}"),
            )
            .with_source(err)
        })
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

    /// Adds (or replaces) the rules of one object.
    pub fn with_object(
        mut self,
        object: impl Into<String>,
        fields: impl IntoIterator<Item = FieldRule>,
    ) -> Self {
        self.objects.insert(
            object.into(),
            ObjectMapping {
                fields: fields.into_iter().collect(),
                phone_region: None,
            },
        );
        self
    }

    /// Reads the phone region of an object's records from their country field (see
    /// [`ObjectMapping::phone_region`]), adding the object without rules if it has none.
    pub fn with_phone_region(mut self, object: impl Into<String>, region: PhoneRegion) -> Self {
        self.objects.entry(object.into()).or_default().phone_region = Some(region);
        self
    }
}

/// The field rules of one object, and where its records keep their country.
///
/// ```toml
/// [objects.contact]
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

    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
            Self::Bidirectional => "bidirectional",
        }
    }
}

/// One canonical field ⇄ one remote field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    /// The application's (canonical) field name.
    pub local: String,
    /// The provider's field name.
    pub remote: String,
    /// Which way the field flows; bidirectional unless told.
    #[serde(default)]
    pub direction: FieldDirection,
    /// The transform's name (see [`crate::transforms`]); `none` unless told.
    #[serde(default = "default_transform")]
    pub transform: String,
    /// Whether an inbound record without a value (after `default`) fails mapping,
    /// and an outbound patch may not clear the field.
    #[serde(default)]
    pub required: bool,
    /// Checks on the canonical value, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validations: Vec<Validation>,
    /// The canonical value to use when an inbound record has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
}

fn default_transform() -> String {
    "none".to_owned()
}

impl FieldRule {
    /// A bidirectional rule without transform, validation or default.
    pub fn new(local: impl Into<String>, remote: impl Into<String>) -> Self {
        Self {
            local: local.into(),
            remote: remote.into(),
            direction: FieldDirection::Bidirectional,
            transform: default_transform(),
            required: false,
            validations: Vec::new(),
            default: None,
        }
    }

    /// Sets the direction.
    pub fn direction(mut self, direction: FieldDirection) -> Self {
        self.direction = direction;
        self
    }

    /// Makes the rule inbound only.
    pub fn inbound(self) -> Self {
        self.direction(FieldDirection::Inbound)
    }

    /// Makes the rule outbound only.
    pub fn outbound(self) -> Self {
        self.direction(FieldDirection::Outbound)
    }

    /// Sets the transform by name.
    pub fn transform(mut self, name: impl Into<String>) -> Self {
        self.transform = name.into();
        self
    }

    /// Marks the field required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Adds a validation.
    pub fn validate(mut self, validation: Validation) -> Self {
        self.validations.push(validation);
        self
    }

    /// Sets the inbound default value.
    pub fn default_value(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }
}

/// A check on a canonical value. The `rule` tag names it in configs and in errors.
///
/// ```
/// use crmsync_transform::Validation;
/// let v: Validation = serde_json::from_str(r#"{ "rule": "length", "max": 40 }"#)?;
/// assert_eq!(v, Validation::Length { min: None, max: Some(40) });
/// assert_eq!(v.rule(), "length");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", try_from = "RawValidation")]
pub enum Validation {
    /// A plausible e-mail address (`local@domain.tld`, no spaces).
    Email,
    /// An E.164 phone number (`+` and 2–15 digits), optionally with `;ext=digits`.
    Phone,
    /// An absolute `http` or `https` URL with a host.
    Url,
    /// An ISO-8601 date (`2024-05-01`) or date-time (`2024-05-01T00:00:00.000Z`).
    Date,
    /// A text of at least `min` and at most `max` characters.
    Length {
        /// Fewest characters allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<usize>,
        /// Most characters allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<usize>,
    },
    /// A number (or numeric text) between `min` and `max`, inclusive.
    Range {
        /// Smallest value allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        /// Largest value allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
    },
    /// One of the listed values, compared exactly.
    Enum {
        /// The values allowed.
        values: Vec<Value>,
    },
    /// Text matching a regular expression (Rust `regex` syntax; anchor it with `^…$`
    /// to match the whole value).
    Format {
        /// The pattern.
        regex: String,
    },
}

/// A validation as written, before it is checked for keys its rule does not take
/// (serde ignores extra keys on unit variants of tagged enums).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidation {
    rule: String,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    values: Option<Vec<Value>>,
    #[serde(default)]
    regex: Option<String>,
}

impl TryFrom<RawValidation> for Validation {
    type Error = String;

    fn try_from(raw: RawValidation) -> Result<Self, String> {
        let RawValidation {
            rule,
            min,
            max,
            values,
            regex,
        } = raw;
        let given = [
            ("min", min.is_some()),
            ("max", max.is_some()),
            ("values", values.is_some()),
            ("regex", regex.is_some()),
        ];
        let takes: &[&str] = match rule.as_str() {
            "email" | "phone" | "url" | "date" => &[],
            "length" | "range" => &["min", "max"],
            "enum" => &["values"],
            "format" => &["regex"],
            other => {
                return Err(format!(
                    "unknown validation rule `{other}`; use one of email, phone, url, date, \
                     length, range, enum, format"
                ));
            }
        };
        if let Some((key, _)) = given
            .iter()
            .find(|(key, present)| *present && !takes.contains(key))
        {
            return Err(format!("validation `{rule}` takes no `{key}`"));
        }
        let count = |bound: Option<f64>, key: &str| -> Result<Option<usize>, String> {
            bound
                .map(|b| {
                    if b >= 0.0 && b.fract() == 0.0 && b <= u32::MAX as f64 {
                        Ok(b as usize)
                    } else {
                        Err(format!(
                            "validation `length` needs a whole number of characters for `{key}`"
                        ))
                    }
                })
                .transpose()
        };
        Ok(match rule.as_str() {
            "email" => Self::Email,
            "phone" => Self::Phone,
            "url" => Self::Url,
            "date" => Self::Date,
            "length" => Self::Length {
                min: count(min, "min")?,
                max: count(max, "max")?,
            },
            "range" => Self::Range { min, max },
            "enum" => Self::Enum {
                values: values.ok_or("validation `enum` needs `values`")?,
            },
            _ => Self::Format {
                regex: regex.ok_or("validation `format` needs `regex`")?,
            },
        })
    }
}

impl Validation {
    /// The rule's name, as written in configs and named in errors.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Date => "date",
            Self::Length { .. } => "length",
            Self::Range { .. } => "range",
            Self::Enum { .. } => "enum",
            Self::Format { .. } => "format",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_config_parses_with_defaults_filled_in() -> Result<()> {
        let config = MappingConfig::from_json_str(
            r#"{ "objects": { "contact": { "fields": [
                { "local": "email", "remote": "email", "transform": "email",
                  "validations": [{ "rule": "email" }, { "rule": "length", "max": 254 }] },
                { "local": "first_name", "remote": "firstname" },
                { "local": "owner", "remote": "hubspot_owner_id", "direction": "inbound",
                  "default": "unassigned" },
                { "local": "status", "remote": "hs_lead_status", "required": true,
                  "validations": [{ "rule": "enum", "values": ["NEW", "OPEN"] },
                                  { "rule": "format", "regex": "^[A-Z_]+$" }] },
                { "local": "score", "remote": "score", "direction": "outbound",
                  "validations": [{ "rule": "range", "min": 0, "max": 100 }] }
            ] } } }"#,
        )?;
        assert_eq!(config.default_region, "US");
        let fields = &config.objects["contact"].fields;
        assert_eq!(fields.len(), 5);
        assert_eq!(fields[0].transform, "email");
        assert_eq!(
            fields[0].validations,
            vec![
                Validation::Email,
                Validation::Length {
                    min: None,
                    max: Some(254)
                }
            ]
        );
        assert_eq!(fields[1].transform, "none");
        assert_eq!(fields[1].direction, FieldDirection::Bidirectional);
        assert!(!fields[1].required);
        assert_eq!(fields[2].direction, FieldDirection::Inbound);
        assert_eq!(fields[2].default, Some(json!("unassigned")));
        assert!(fields[3].required);
        assert_eq!(
            fields[4].validations,
            vec![Validation::Range {
                min: Some(0.0),
                max: Some(100.0)
            }]
        );
        Ok(())
    }

    #[test]
    fn toml_config_parses_and_round_trips() -> Result<()> {
        let text = r#"
            default_region = "GB"

            [[objects.contact.fields]]
            local = "email"
            remote = "email"
            transform = "email"
            required = true
            validations = [{ rule = "email" }, { rule = "length", min = 3, max = 254 }]

            [[objects.contact.fields]]
            local = "phone"
            remote = "phone"
            transform = "phone_e164"
            validations = [{ rule = "phone" }]

            [[objects.deal.fields]]
            local = "stage"
            remote = "dealstage"
            direction = "inbound"
            default = "appointmentscheduled"
            validations = [{ rule = "enum", values = ["appointmentscheduled", "closedwon"] }]
        "#;
        let config = MappingConfig::from_toml_str(text)?;
        assert_eq!(config.default_region, "GB");
        assert_eq!(config.objects["contact"].fields.len(), 2);
        assert!(config.objects["contact"].fields[0].required);
        assert_eq!(
            config.objects["deal"].fields[0].default,
            Some(json!("appointmentscheduled"))
        );
        let again = MappingConfig::from_toml_str(&config.to_toml_string()?)?;
        assert_eq!(again, config);
        let again = MappingConfig::from_json_str(&config.to_json_string()?)?;
        assert_eq!(again, config);
        Ok(())
    }

    #[test]
    fn toml_config_with_a_phone_region_parses_and_round_trips() -> Result<()> {
        let text = r#"
            default_region = "US"

            [objects.contact]
            phone_region = { remote = "country", local = "country" }

            [[objects.contact.fields]]
            local = "phone"
            remote = "phone"
            transform = "phone_e164"

            [[objects.contact.fields]]
            local = "country"
            remote = "country"

            [objects.company.phone_region]
            remote = "BillingCountry"
            local = "billing_country"

            [[objects.company.fields]]
            local = "phone"
            remote = "Phone"
            transform = "phone_e164"

            [[objects.deal.fields]]
            local = "name"
            remote = "dealname"
        "#;
        let config = MappingConfig::from_toml_str(text)?;
        assert_eq!(
            config.objects["contact"].phone_region,
            Some(PhoneRegion::new("country", "country"))
        );
        assert_eq!(config.objects["contact"].fields.len(), 2);
        assert_eq!(
            config.objects["company"].phone_region,
            Some(PhoneRegion::new("BillingCountry", "billing_country"))
        );
        assert_eq!(config.objects["deal"].phone_region, None);
        let again = MappingConfig::from_toml_str(&config.to_toml_string()?)?;
        assert_eq!(again, config);
        let json = config.to_json_string()?;
        assert!(json.contains("\"phone_region\""), "{json}");
        let again = MappingConfig::from_json_str(&json)?;
        assert_eq!(again, config);
        // Without it, nothing is written.
        let plain = MappingConfig::default().with_object("deal", [FieldRule::new("a", "b")]);
        assert!(!plain.to_json_string()?.contains("phone_region"));

        let json = MappingConfig::from_json_str(
            r#"{ "objects": { "contact": {
                "phone_region": { "remote": "country", "local": "country" },
                "fields": [] } } }"#,
        )?;
        assert_eq!(
            json.objects["contact"].phone_region,
            Some(PhoneRegion::new("country", "country"))
        );
        for bad in [
            r#"{ "objects": { "contact": { "phone_region": { "remote": "country" } } } }"#,
            r#"{ "objects": { "contact": { "phone_region": "country" } } }"#,
            r#"{ "objects": { "contact": { "phone_region": {
                "remote": "country", "local": "country", "fallback": "US" } } } }"#,
        ] {
            let parsed = MappingConfig::from_json_str(bad);
            assert!(
                matches!(&parsed, Err(e) if e.kind() == ErrorKind::Config),
                "{bad}: {parsed:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn unknown_keys_and_rules_are_config_errors() {
        let typo = MappingConfig::from_json_str(
            r#"{ "objects": { "contact": { "fields": [
                { "local": "email", "remote": "email", "transfrom": "email" } ] } } }"#,
        );
        let err = typo.err().map(|e| (e.kind(), e.to_string()));
        assert!(
            matches!(&err, Some((ErrorKind::Config, text)) if text.contains("transfrom")),
            "{err:?}"
        );

        let rule = MappingConfig::from_toml_str(
            r#"[[objects.contact.fields]]
               local = "x"
               remote = "y"
               validations = [{ rule = "palindrome" }]"#,
        );
        assert!(matches!(rule, Err(e) if e.kind() == ErrorKind::Config));

        // A stray key on a validation is a typo, not something to ignore silently.
        for stray in [
            r#"{ "rule": "email", "max": 3 }"#,
            r#"{ "rule": "length", "maximum": 3 }"#,
            r#"{ "rule": "length", "max": 2.5 }"#,
            r#"{ "rule": "enum" }"#,
            r#"{ "rule": "format", "values": [] }"#,
        ] {
            let parsed = serde_json::from_str::<Validation>(stray);
            assert!(parsed.is_err(), "{stray} parsed as {parsed:?}");
        }

        let direction = MappingConfig::from_json_str(
            r#"{ "objects": { "contact": { "fields": [
                { "local": "x", "remote": "y", "direction": "sideways" } ] } } }"#,
        );
        assert!(matches!(direction, Err(e) if e.kind() == ErrorKind::Config));
    }

    #[test]
    fn builder_methods_compose_a_rule() {
        let rule = FieldRule::new("phone", "phone")
            .transform("phone_e164")
            .inbound()
            .required()
            .validate(Validation::Phone)
            .default_value(json!("+12127365000"));
        assert_eq!(rule.direction, FieldDirection::Inbound);
        assert!(rule.direction.is_inbound() && !rule.direction.is_outbound());
        assert_eq!(rule.transform, "phone_e164");
        assert!(rule.required);
        assert_eq!(rule.validations, vec![Validation::Phone]);
        assert_eq!(FieldDirection::Bidirectional.as_str(), "bidirectional");
    }
}
