//! A typed OData `$filter` builder: column names are validated, string literals are
//! quoted with single quotes doubled, GUIDs are parsed before they are written bare.
//! No caller text reaches a query unescaped.
//!
//! ```
//! use crmsync_dynamics::{Filter, Guid};
//! let f = Filter::eq("emailaddress1", "o'hara@example.com")
//!     .or(Filter::eq("contactid", Guid::parse("7A1B2C3D-0000-0000-0000-000000000001").unwrap()));
//! assert_eq!(
//!     f.build().unwrap(),
//!     "(emailaddress1 eq 'o''hara@example.com' or contactid eq 7a1b2c3d-0000-0000-0000-000000000001)"
//! );
//! assert!(Filter::eq("name) or (1 eq 1", "x").build().is_err());
//! ```

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use crmsync_core::{Error, ErrorKind, Result};

/// A validated GUID, kept in lower-case canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Guid(String);

impl Guid {
    /// Parses `8-4-4-4-12` hex digits, with or without braces; anything else is
    /// [`ErrorKind::InvalidRequest`].
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let t = t
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(t);
        let ok = t.len() == 36
            && t.char_indices().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => c == '-',
                _ => c.is_ascii_hexdigit(),
            });
        if ok {
            Ok(Self(t.to_ascii_lowercase()))
        } else {
            Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "`{}` is not a GUID",
                    text.chars().take(60).collect::<String>()
                ),
            ))
        }
    }

    /// The GUID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A literal of a filter.
#[derive(Clone, Debug, PartialEq)]
pub enum ODataValue {
    /// Text: quoted, single quotes doubled.
    Text(String),
    /// An integer.
    Int(i64),
    /// A decimal number.
    Number(f64),
    /// `true` / `false`.
    Bool(bool),
    /// A GUID, written bare.
    Guid(Guid),
    /// An instant, written bare in RFC 3339 (UTC).
    DateTime(DateTime<Utc>),
    /// `null`.
    Null,
}

impl From<&str> for ODataValue {
    fn from(s: &str) -> Self {
        ODataValue::Text(s.to_owned())
    }
}
impl From<String> for ODataValue {
    fn from(s: String) -> Self {
        ODataValue::Text(s)
    }
}
impl From<i64> for ODataValue {
    fn from(n: i64) -> Self {
        ODataValue::Int(n)
    }
}
impl From<bool> for ODataValue {
    fn from(b: bool) -> Self {
        ODataValue::Bool(b)
    }
}
impl From<Guid> for ODataValue {
    fn from(g: Guid) -> Self {
        ODataValue::Guid(g)
    }
}
impl From<DateTime<Utc>> for ODataValue {
    fn from(d: DateTime<Utc>) -> Self {
        ODataValue::DateTime(d)
    }
}

/// `'text'` with single quotes doubled (OData's only escape inside a string literal).
pub fn escape_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl ODataValue {
    fn render(&self) -> Result<String> {
        Ok(match self {
            ODataValue::Text(s) => escape_literal(s),
            ODataValue::Int(n) => n.to_string(),
            ODataValue::Number(n) if n.is_finite() => n.to_string(),
            ODataValue::Number(n) => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    format!("{n} cannot be written in a filter"),
                ));
            }
            ODataValue::Bool(b) => b.to_string(),
            ODataValue::Guid(g) => g.0.clone(),
            ODataValue::DateTime(d) => d.to_rfc3339_opts(SecondsFormat::Millis, true),
            ODataValue::Null => "null".into(),
        })
    }
}

/// Checks a column name: a letter or `_`, then letters, digits and `_` (Dataverse logical
/// names, and `_x_value` lookup names).
pub fn validate_column(name: &str) -> Result<&str> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128;
    if ok {
        Ok(name)
    } else {
        Err(Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "`{}` is not a Dataverse column name",
                name.chars().take(60).collect::<String>()
            ),
        ))
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Lt => "lt",
            Op::Le => "le",
        }
    }
}

/// A `$filter` expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `column op literal`.
    Cmp(String, Op, ODataValue),
    /// All of these.
    And(Vec<Filter>),
    /// Any of these.
    Or(Vec<Filter>),
    /// `not (…)`.
    Not(Box<Filter>),
}

impl Filter {
    /// `column eq value`.
    pub fn eq(column: &str, value: impl Into<ODataValue>) -> Self {
        Filter::Cmp(column.to_owned(), Op::Eq, value.into())
    }
    /// `column ne value`.
    pub fn ne(column: &str, value: impl Into<ODataValue>) -> Self {
        Filter::Cmp(column.to_owned(), Op::Ne, value.into())
    }
    /// `column gt value`.
    pub fn gt(column: &str, value: impl Into<ODataValue>) -> Self {
        Filter::Cmp(column.to_owned(), Op::Gt, value.into())
    }
    /// `column ge value`.
    pub fn ge(column: &str, value: impl Into<ODataValue>) -> Self {
        Filter::Cmp(column.to_owned(), Op::Ge, value.into())
    }
    /// `column lt value`.
    pub fn lt(column: &str, value: impl Into<ODataValue>) -> Self {
        Filter::Cmp(column.to_owned(), Op::Lt, value.into())
    }
    /// `column le value`.
    pub fn le(column: &str, value: impl Into<ODataValue>) -> Self {
        Filter::Cmp(column.to_owned(), Op::Le, value.into())
    }

    /// `column eq v1 or column eq v2 …` (`None` for no values).
    pub fn any_of<V: Into<ODataValue>>(
        column: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Option<Self> {
        let list: Vec<Filter> = values.into_iter().map(|v| Filter::eq(column, v)).collect();
        match list.len() {
            0 => None,
            1 => list.into_iter().next(),
            _ => Some(Filter::Or(list)),
        }
    }

    /// `self and other`.
    pub fn and(self, other: Filter) -> Self {
        match self {
            Filter::And(mut list) => {
                list.push(other);
                Filter::And(list)
            }
            first => Filter::And(vec![first, other]),
        }
    }

    /// `self or other`.
    pub fn or(self, other: Filter) -> Self {
        match self {
            Filter::Or(mut list) => {
                list.push(other);
                Filter::Or(list)
            }
            first => Filter::Or(vec![first, other]),
        }
    }

    /// The expression text; fails on an invalid column name or literal.
    pub fn build(&self) -> Result<String> {
        Ok(match self {
            Filter::Cmp(column, op, value) => format!(
                "{} {} {}",
                validate_column(column)?,
                op.as_str(),
                value.render()?
            ),
            Filter::And(list) | Filter::Or(list) => {
                let joiner = if matches!(self, Filter::And(_)) {
                    " and "
                } else {
                    " or "
                };
                let parts = list.iter().map(Filter::build).collect::<Result<Vec<_>>>()?;
                match parts.len() {
                    0 => "true".into(),
                    1 => parts.into_iter().next().unwrap_or_default(),
                    _ => format!("({})", parts.join(joiner)),
                }
            }
            Filter::Not(inner) => format!("not ({})", inner.build()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_break_out_of_their_quotes() {
        let hostile = "x' or statecode eq 0 or emailaddress1 eq '";
        let f = Filter::eq("emailaddress1", hostile)
            .build()
            .unwrap_or_default();
        assert_eq!(
            f,
            "emailaddress1 eq 'x'' or statecode eq 0 or emailaddress1 eq '''"
        );
        // Exactly two unescaped quotes: the literal's own.
        let unescaped = f.replace("''", "").matches('\'').count();
        assert_eq!(unescaped, 2, "{f}");
    }

    #[test]
    fn column_names_are_validated() {
        for bad in [
            "",
            "1abc",
            "name) or (1 eq 1",
            "name eq 'x' or name",
            "a/b",
            "a;b",
        ] {
            assert!(Filter::eq(bad, "x").build().is_err(), "{bad:?}");
        }
        assert!(Filter::eq("_parentcustomerid_value", "x").build().is_ok());
    }

    #[test]
    fn guids_are_parsed_not_trusted() {
        assert!(Guid::parse("not-a-guid").is_err());
        assert!(Guid::parse("00000000-0000-0000-0000-000000000001) or (1 eq 1").is_err());
        assert!(Guid::parse("0000000g-0000-0000-0000-000000000001").is_err());
        let g =
            Guid::parse("{AABBCCDD-0000-0000-0000-000000000001}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(g.as_str(), "aabbccdd-0000-0000-0000-000000000001");
    }

    #[test]
    fn filters_compose() {
        let at = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let f = Filter::ge("modifiedon", at)
            .and(Filter::ne("statecode", 1i64))
            .and(Filter::Not(Box::new(Filter::eq("donotemail", true))));
        assert_eq!(
            f.build().unwrap_or_default(),
            "(modifiedon ge 2024-05-01T10:00:00.000Z and statecode ne 1 and not (donotemail eq true))"
        );
        assert_eq!(Filter::any_of::<&str>("x", []), None);
        assert_eq!(
            Filter::any_of("lastname", ["a", "b"])
                .map(|f| f.build().unwrap_or_default())
                .unwrap_or_default(),
            "(lastname eq 'a' or lastname eq 'b')"
        );
        assert!(
            Filter::eq("x", ODataValue::Number(f64::NAN))
                .build()
                .is_err()
        );
    }
}
