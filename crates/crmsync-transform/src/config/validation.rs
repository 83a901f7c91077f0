//! [`Validation`]: the checks a rule runs on canonical values, as written in configs.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
