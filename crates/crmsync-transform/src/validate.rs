//! Validations compiled once (regexes built, bounds checked) and run on canonical values.

use chrono::{DateTime, NaiveDate};
use regex::Regex;
use serde_json::Value;

use crate::{Validation, transforms::kind};

/// Patterns longer than this are refused (and the compiled size is capped by `regex`).
const MAX_PATTERN_LEN: usize = 1_000;

/// A [`Validation`] ready to run.
#[derive(Clone, Debug)]
pub(crate) enum Check {
    Email,
    Phone,
    Url,
    Date,
    Length {
        min: Option<usize>,
        max: Option<usize>,
    },
    Range {
        min: Option<f64>,
        max: Option<f64>,
    },
    Enum(Vec<Value>),
    Format(Regex),
}

impl Check {
    /// Compiles a validation; the error says what is wrong and how to fix it.
    pub(crate) fn compile(validation: &Validation) -> Result<Self, String> {
        Ok(match validation {
            Validation::Email => Self::Email,
            Validation::Phone => Self::Phone,
            Validation::Url => Self::Url,
            Validation::Date => Self::Date,
            Validation::Length { min, max } => {
                if let (Some(min), Some(max)) = (min, max) {
                    if min > max {
                        return Err(format!(
                            "validation `length` has min {min} > max {max}; swap them"
                        ));
                    }
                }
                Self::Length {
                    min: *min,
                    max: *max,
                }
            }
            Validation::Range { min, max } => {
                if min.is_some_and(f64::is_nan) || max.is_some_and(f64::is_nan) {
                    return Err("validation `range` has a NaN bound; use numbers".to_owned());
                }
                if let (Some(min), Some(max)) = (min, max) {
                    if min > max {
                        return Err(format!(
                            "validation `range` has min {min} > max {max}; swap them"
                        ));
                    }
                }
                Self::Range {
                    min: *min,
                    max: *max,
                }
            }
            Validation::Enum { values } => {
                if values.is_empty() {
                    return Err(
                        "validation `enum` lists no values; list the allowed values".to_owned()
                    );
                }
                Self::Enum(values.clone())
            }
            Validation::Format { regex } => {
                if regex.len() > MAX_PATTERN_LEN {
                    return Err(format!(
                        "validation `format` has a pattern longer than {MAX_PATTERN_LEN} \
                         characters; shorten it"
                    ));
                }
                let compiled = regex::RegexBuilder::new(regex)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|err| {
                        format!(
                            "validation `format` has an invalid regex `{regex}`: {err}; \
                             fix the pattern (Rust regex syntax)"
                        )
                    })?;
                Self::Format(compiled)
            }
        })
    }

    /// The rule's name, as in [`Validation::rule`].
    pub(crate) fn rule(&self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Url => "url",
            Self::Date => "date",
            Self::Length { .. } => "length",
            Self::Range { .. } => "range",
            Self::Enum(_) => "enum",
            Self::Format(_) => "format",
        }
    }

    /// Whether the rule's values are personal data that messages must not show.
    pub(crate) fn sensitive(&self) -> bool {
        matches!(self, Self::Email | Self::Phone)
    }

    /// Checks a canonical value; the message never contains the value.
    pub(crate) fn check(&self, value: &Value) -> Result<(), String> {
        match self {
            Self::Email => text(value, "an e-mail address").and_then(|s| {
                is_email(s)
                    .then_some(())
                    .ok_or_else(|| "not a valid e-mail address".to_owned())
            }),
            Self::Phone => text(value, "a phone number").and_then(|s| {
                is_e164(s)
                    .then_some(())
                    .ok_or_else(|| "not an E.164 phone number such as +14155550132".to_owned())
            }),
            Self::Url => text(value, "a URL").and_then(|s| {
                is_web_url(s)
                    .then_some(())
                    .ok_or_else(|| "not an absolute http(s) URL".to_owned())
            }),
            Self::Date => text(value, "a date").and_then(|s| {
                is_iso_date(s)
                    .then_some(())
                    .ok_or_else(|| "not an ISO-8601 date or date-time".to_owned())
            }),
            Self::Length { min, max } => {
                let len = text(value, "text")?.chars().count();
                match (min, max) {
                    (Some(min), _) if len < *min => Err(format!("shorter than {min} characters")),
                    (_, Some(max)) if len > *max => Err(format!("longer than {max} characters")),
                    _ => Ok(()),
                }
            }
            Self::Range { min, max } => {
                let n = number(value)?;
                match (min, max) {
                    (Some(min), _) if n < *min => Err(format!("less than {min}")),
                    (_, Some(max)) if n > *max => Err(format!("greater than {max}")),
                    _ => Ok(()),
                }
            }
            Self::Enum(values) => {
                if values.contains(value) {
                    return Ok(());
                }
                let allowed: Vec<String> = values.iter().map(Value::to_string).collect();
                Err(format!("not one of {}", allowed.join(", ")))
            }
            Self::Format(regex) => {
                let matched = match value {
                    Value::String(s) => regex.is_match(s),
                    Value::Number(_) | Value::Bool(_) => regex.is_match(&value.to_string()),
                    other => return Err(format!("expected text, got {}", kind(other))),
                };
                matched
                    .then_some(())
                    .ok_or_else(|| format!("does not match the format `{}`", regex.as_str()))
            }
        }
    }
}

fn text<'v>(value: &'v Value, what: &str) -> Result<&'v str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("expected {what} as text, got {}", kind(value)))
}

fn number(value: &Value) -> Result<f64, String> {
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    };
    parsed.ok_or_else(|| format!("expected a number, got {}", kind(value)))
}

/// `local@domain.tld`: one `@`, no white space, a dot inside the domain.
fn is_email(s: &str) -> bool {
    if s.chars().any(char::is_whitespace) {
        return false;
    }
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain
                    .split_once('.')
                    .is_some_and(|(name, _)| !name.is_empty())
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// `+` then 2–15 digits, the first not zero, optionally `;ext=` and 1–10 digits.
fn is_e164(s: &str) -> bool {
    let (number, ext) = match s.split_once(";ext=") {
        Some((number, ext)) => (number, Some(ext)),
        None => (s, None),
    };
    let digits_ok = number.strip_prefix('+').is_some_and(|d| {
        (2..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    });
    let ext_ok =
        ext.is_none_or(|e| (1..=10).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_digit()));
    digits_ok && ext_ok
}

fn is_web_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

fn is_iso_date(s: &str) -> bool {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() || DateTime::parse_from_rfc3339(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compile(v: Validation) -> Check {
        match Check::compile(&v) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn email_rule_accepts_addresses_only() {
        let check = compile(Validation::Email);
        for ok in ["ada@example.com", "a.b+tag@sub.example.co.uk", "x@y.z"] {
            assert!(check.check(&json!(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.com",
            "ada@example.",
        ] {
            assert!(check.check(&json!(bad)).is_err(), "{bad}");
        }
        assert!(check.check(&json!(5)).is_err());
        assert!(check.sensitive());
    }

    #[test]
    fn phone_rule_accepts_e164_only() {
        let check = compile(Validation::Phone);
        for ok in ["+14155550132", "+442079460958", "+16502530000;ext=12"] {
            assert!(check.check(&json!(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "14155550132",
            "+0123",
            "+1",
            "(415) 555-0132",
            "+1415555013212345",
            "+1650;ext=",
            "+1650;ext=x",
        ] {
            assert!(check.check(&json!(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_and_date_rules() {
        let url = compile(Validation::Url);
        assert!(url.check(&json!("https://example.com/a?b=c")).is_ok());
        assert!(url.check(&json!("ftp://example.com")).is_err());
        assert!(url.check(&json!("example.com")).is_err());
        let date = compile(Validation::Date);
        assert!(date.check(&json!("2024-05-01")).is_ok());
        assert!(date.check(&json!("2024-05-01T00:00:00.000Z")).is_ok());
        assert!(date.check(&json!("2024-02-30")).is_err());
        assert!(date.check(&json!("May 1st")).is_err());
    }

    #[test]
    fn length_range_enum_and_format_rules() {
        let length = compile(Validation::Length {
            min: Some(2),
            max: Some(4),
        });
        assert!(length.check(&json!("äöü")).is_ok());
        assert_eq!(
            length.check(&json!("a")),
            Err("shorter than 2 characters".into())
        );
        assert_eq!(
            length.check(&json!("abcde")),
            Err("longer than 4 characters".into())
        );

        let range = compile(Validation::Range {
            min: Some(0.0),
            max: Some(100.0),
        });
        assert!(range.check(&json!(87)).is_ok());
        assert!(range.check(&json!("99.5")).is_ok());
        assert_eq!(range.check(&json!(101)), Err("greater than 100".into()));
        assert_eq!(range.check(&json!(-1)), Err("less than 0".into()));
        assert!(range.check(&json!("lots")).is_err());

        let statuses = compile(Validation::Enum {
            values: vec![json!("NEW"), json!("OPEN")],
        });
        assert!(statuses.check(&json!("NEW")).is_ok());
        assert_eq!(
            statuses.check(&json!("new")),
            Err(r#"not one of "NEW", "OPEN""#.into())
        );

        let format = compile(Validation::Format {
            regex: "^[A-Z]{3}-\\d+$".into(),
        });
        assert!(format.check(&json!("ABC-12")).is_ok());
        assert!(format.check(&json!("abc-12")).is_err());
        assert!(
            compile(Validation::Format {
                regex: "^\\d+$".into()
            })
            .check(&json!(42))
            .is_ok()
        );
    }

    #[test]
    fn bad_validations_do_not_compile() {
        let bad = [
            Validation::Format {
                regex: "([a-z".into(),
            },
            Validation::Length {
                min: Some(5),
                max: Some(1),
            },
            Validation::Range {
                min: Some(5.0),
                max: Some(1.0),
            },
            Validation::Range {
                min: Some(f64::NAN),
                max: None,
            },
            Validation::Enum { values: vec![] },
            Validation::Format {
                regex: "a".repeat(MAX_PATTERN_LEN + 1),
            },
        ];
        for v in bad {
            assert!(Check::compile(&v).is_err(), "{v:?}");
        }
        let err = Check::compile(&Validation::Format {
            regex: "([a-z".into(),
        })
        .err();
        assert!(err.is_some_and(|e| e.contains("invalid regex") && e.contains("fix the pattern")));
    }

    #[test]
    fn rule_names_match_the_config() {
        for v in [
            Validation::Email,
            Validation::Phone,
            Validation::Url,
            Validation::Date,
            Validation::Length {
                min: None,
                max: None,
            },
            Validation::Range {
                min: None,
                max: None,
            },
            Validation::Enum {
                values: vec![json!(1)],
            },
            Validation::Format { regex: ".".into() },
        ] {
            assert_eq!(compile(v.clone()).rule(), v.rule());
        }
    }
}
