//! A SOQL builder that never concatenates a string raw into a query.
//!
//! Field and object names are validated (letters, digits and underscores, dotted
//! relationship paths; anything else is rejected with
//! [`ErrorKind::InvalidRequest`]); every value is a typed [`SoqlValue`] rendered as
//! an escaped literal; `LIKE` patterns are built from escaped text and explicit
//! wildcards ([`Like`]).

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use crmsync_core::{Error, ErrorKind, Result};
use serde_json::Value;

/// A literal value in a SOQL condition.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SoqlValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A decimal number (must be finite).
    Float(f64),
    /// Text, rendered quoted and escaped.
    Text(String),
    /// A date, rendered `2024-01-31`.
    Date(NaiveDate),
    /// An instant, rendered `2024-01-31T10:00:00.000Z`.
    DateTime(DateTime<Utc>),
}

impl SoqlValue {
    /// A value from JSON: strings, numbers, booleans and `null` (arrays and objects
    /// have no SOQL literal).
    pub fn from_json(value: &Value) -> Result<Self> {
        Ok(match value {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::String(s) => Self::Text(s.clone()),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Self::Int(i),
                None => Self::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::Array(_) | Value::Object(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "arrays and objects have no SOQL literal",
                ));
            }
        })
    }

    fn render(&self, out: &mut String) -> Result<()> {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Self::Float(f) if f.is_finite() => {
                let _ = write!(out, "{f}");
            }
            Self::Float(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "NaN and infinities have no SOQL literal",
                ));
            }
            Self::Text(s) => {
                out.push('\'');
                out.push_str(&escape_literal(s));
                out.push('\'');
            }
            Self::Date(d) => {
                let _ = write!(out, "{}", d.format("%Y-%m-%d"));
            }
            Self::DateTime(t) => out.push_str(&datetime_literal(*t)),
        }
        Ok(())
    }
}

macro_rules! value_from {
    ($($t:ty => $variant:ident ($conv:expr)),* $(,)?) => {$(
        impl From<$t> for SoqlValue {
            fn from(v: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                SoqlValue::$variant(($conv)(v))
            }
        }
    )*};
}

value_from! {
    &str => Text(|v: &str| v.to_owned()),
    String => Text(|v| v),
    &String => Text(|v: &String| v.clone()),
    bool => Bool(|v| v),
    i32 => Int(i64::from),
    i64 => Int(|v| v),
    u32 => Int(i64::from),
    f64 => Float(|v| v),
    NaiveDate => Date(|v| v),
    DateTime<Utc> => DateTime(|v| v),
}

impl<T: Into<SoqlValue>> From<Option<T>> for SoqlValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(SoqlValue::Null, Into::into)
    }
}

/// An instant as a SOQL datetime literal: `2024-01-31T10:00:00.000Z`.
pub fn datetime_literal(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Escapes text for a quoted SOQL literal: `\ ' "` and the control characters
/// newline, carriage return, tab, backspace and form feed get a backslash; other
/// control characters become `\uXXXX`.
pub fn escape_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out
}

/// Escapes text for a `LIKE` pattern: everything [`escape_literal`] escapes, plus
/// the wildcards `%` and `_`, so the text matches itself only.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '%' => out.push_str("\\%"),
            '_' => out.push_str("\\_"),
            c => push_escaped(&mut out, c),
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\'' => out.push_str("\\'"),
        '"' => out.push_str("\\\""),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c if c.is_control() => {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
        c => out.push(c),
    }
}

/// Checks a field or object name: `^[A-Za-z][A-Za-z0-9_]*(__[a-z]+)?(\.[A-Za-z0-9_]+)*$`
/// (custom suffixes like `__c` and relationship paths like `Account.Name`).
pub fn validate_identifier(name: &str) -> Result<&str> {
    let mut segments = name.split('.');
    let valid_first = segments.next().is_some_and(|first| {
        first
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    let valid_rest =
        segments.all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if valid_first && valid_rest && name.len() <= 255 {
        Ok(name)
    } else {
        Err(Error::new(
            ErrorKind::InvalidRequest,
            format!("{name:?} is not a valid Salesforce field or object name"),
        )
        .with_rule("soql_identifier"))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum LikePart {
    Text(String),
    Any,
    One,
}

/// A `LIKE` pattern: escaped text and explicit wildcards.
///
/// ```
/// use crmsync_salesforce::Like;
/// assert_eq!(Like::starts_with("50%_off").render(), r"50\%\_off%");
/// assert_eq!(Like::text("a").any().then_text("b").one().render(), "a%b_");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Like(Vec<LikePart>);

impl Like {
    /// Exactly this text (wildcards in it match themselves).
    pub fn text(text: impl Into<String>) -> Self {
        Self(vec![LikePart::Text(text.into())])
    }

    /// Values starting with `text`.
    pub fn starts_with(text: impl Into<String>) -> Self {
        Self::text(text).any()
    }

    /// Values ending with `text`.
    pub fn ends_with(text: impl Into<String>) -> Self {
        Self(vec![LikePart::Any, LikePart::Text(text.into())])
    }

    /// Values containing `text`.
    pub fn contains(text: impl Into<String>) -> Self {
        Self(vec![
            LikePart::Any,
            LikePart::Text(text.into()),
            LikePart::Any,
        ])
    }

    /// Appends literal text.
    pub fn then_text(mut self, text: impl Into<String>) -> Self {
        self.0.push(LikePart::Text(text.into()));
        self
    }

    /// Appends `%` (any run of characters).
    pub fn any(mut self) -> Self {
        self.0.push(LikePart::Any);
        self
    }

    /// Appends `_` (exactly one character).
    pub fn one(mut self) -> Self {
        self.0.push(LikePart::One);
        self
    }

    /// The pattern as it goes between the quotes.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                LikePart::Text(t) => escape_like(t),
                LikePart::Any => "%".to_owned(),
                LikePart::One => "_".to_owned(),
            })
            .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Cmp(String, Op, SoqlValue),
    In(String, Vec<SoqlValue>, bool),
    Like(String, Like),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

/// A typed `WHERE` condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Cond(Node);

impl Cond {
    fn cmp(field: impl Into<String>, op: Op, value: impl Into<SoqlValue>) -> Self {
        Self(Node::Cmp(field.into(), op, value.into()))
    }

    /// `field = value`.
    pub fn eq(field: impl Into<String>, value: impl Into<SoqlValue>) -> Self {
        Self::cmp(field, Op::Eq, value)
    }

    /// `field != value`.
    pub fn ne(field: impl Into<String>, value: impl Into<SoqlValue>) -> Self {
        Self::cmp(field, Op::Ne, value)
    }

    /// `field < value`.
    pub fn lt(field: impl Into<String>, value: impl Into<SoqlValue>) -> Self {
        Self::cmp(field, Op::Lt, value)
    }

    /// `field <= value`.
    pub fn le(field: impl Into<String>, value: impl Into<SoqlValue>) -> Self {
        Self::cmp(field, Op::Le, value)
    }

    /// `field > value`.
    pub fn gt(field: impl Into<String>, value: impl Into<SoqlValue>) -> Self {
        Self::cmp(field, Op::Gt, value)
    }

    /// `field >= value`.
    pub fn ge(field: impl Into<String>, value: impl Into<SoqlValue>) -> Self {
        Self::cmp(field, Op::Ge, value)
    }

    /// `field IN (values…)`; an empty list is rejected when the query is built.
    pub fn in_<V: Into<SoqlValue>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        Self(Node::In(
            field.into(),
            values.into_iter().map(Into::into).collect(),
            false,
        ))
    }

    /// `field NOT IN (values…)`.
    pub fn not_in<V: Into<SoqlValue>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        Self(Node::In(
            field.into(),
            values.into_iter().map(Into::into).collect(),
            true,
        ))
    }

    /// `field LIKE 'pattern'`.
    pub fn like(field: impl Into<String>, pattern: Like) -> Self {
        Self(Node::Like(field.into(), pattern))
    }

    /// `(self AND other)`.
    pub fn and(self, other: Cond) -> Self {
        Self::all([self, other])
    }

    /// `(self OR other)`.
    pub fn or(self, other: Cond) -> Self {
        Self::any([self, other])
    }

    /// `(NOT self)`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Self(Node::Not(Box::new(self)))
    }

    /// All of the conditions (rejected when empty).
    pub fn all(conds: impl IntoIterator<Item = Cond>) -> Self {
        Self(Node::All(conds.into_iter().collect()))
    }

    /// Any of the conditions (rejected when empty).
    pub fn any(conds: impl IntoIterator<Item = Cond>) -> Self {
        Self(Node::Any(conds.into_iter().collect()))
    }

    fn render(&self, out: &mut String) -> Result<()> {
        match &self.0 {
            Node::Cmp(field, op, value) => {
                out.push_str(validate_identifier(field)?);
                out.push(' ');
                out.push_str(op.as_str());
                out.push(' ');
                value.render(out)?;
            }
            Node::In(field, values, negated) => {
                if values.is_empty() {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        format!("IN on `{field}` needs at least one value"),
                    ));
                }
                out.push_str(validate_identifier(field)?);
                out.push_str(if *negated { " NOT IN (" } else { " IN (" });
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    value.render(out)?;
                }
                out.push(')');
            }
            Node::Like(field, pattern) => {
                out.push_str(validate_identifier(field)?);
                out.push_str(" LIKE '");
                out.push_str(&pattern.render());
                out.push('\'');
            }
            Node::All(conds) | Node::Any(conds) => {
                let joiner = if matches!(self.0, Node::All(_)) {
                    " AND "
                } else {
                    " OR "
                };
                if conds.is_empty() {
                    return Err(Error::new(
                        ErrorKind::InvalidRequest,
                        "an AND / OR group needs at least one condition",
                    ));
                }
                out.push('(');
                for (i, cond) in conds.iter().enumerate() {
                    if i > 0 {
                        out.push_str(joiner);
                    }
                    cond.render(out)?;
                }
                out.push(')');
            }
            Node::Not(cond) => {
                out.push_str("(NOT ");
                cond.render(out)?;
                out.push(')');
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Selection {
    Fields(Vec<String>),
    Count,
}

/// A SOQL `SELECT` built from validated names and escaped literals.
///
/// ```
/// use crmsync_salesforce::{Cond, Like, Soql};
///
/// let soql = Soql::select(&["Id", "Email"])
///     .from("Contact")
///     .where_(
///         Cond::eq("LastName", "O'Brien")
///             .and(Cond::like("Email", Like::ends_with("@acme.com")))
///             .and(Cond::in_("Status__c", ["Open", "New"])),
///     )
///     .order_by("SystemModstamp")
///     .order_by("Id")
///     .limit(200)
///     .build()?;
/// assert_eq!(
///     soql,
///     "SELECT Id, Email FROM Contact WHERE ((LastName = 'O\\'Brien' AND Email LIKE '%@acme.com') \
///      AND Status__c IN ('Open', 'New')) ORDER BY SystemModstamp ASC, Id ASC LIMIT 200"
/// );
///
/// // Injection attempts stay inside the literal; bad names are refused.
/// let hostile = Soql::select(&["Id"]).from("Contact").where_(Cond::eq("Name", "x' OR Name != '")).build()?;
/// assert_eq!(hostile, r"SELECT Id FROM Contact WHERE Name = 'x\' OR Name != \''");
/// assert!(Soql::select(&["Id, (SELECT Id FROM Cases)"]).from("Account").build().is_err());
/// # Ok::<(), crmsync_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Soql {
    selection: Selection,
    from: String,
    filter: Option<Cond>,
    order: Vec<(String, bool)>,
    limit: Option<usize>,
}

impl Soql {
    /// `SELECT fields…`.
    pub fn select<S: AsRef<str>>(fields: &[S]) -> Self {
        Self {
            selection: Selection::Fields(fields.iter().map(|f| f.as_ref().to_owned()).collect()),
            from: String::new(),
            filter: None,
            order: Vec::new(),
            limit: None,
        }
    }

    /// `SELECT COUNT()` (the count arrives as `totalSize`).
    pub fn count() -> Self {
        Self {
            selection: Selection::Count,
            ..Self::select::<&str>(&[])
        }
    }

    /// `FROM object`.
    pub fn from(mut self, object: impl Into<String>) -> Self {
        self.from = object.into();
        self
    }

    /// `WHERE cond` (a second call ANDs the conditions).
    pub fn where_(mut self, cond: Cond) -> Self {
        self.filter = Some(match self.filter.take() {
            Some(existing) => existing.and(cond),
            None => cond,
        });
        self
    }

    /// `ORDER BY field ASC` (appended after earlier sort keys).
    pub fn order_by(mut self, field: impl Into<String>) -> Self {
        self.order.push((field.into(), false));
        self
    }

    /// `ORDER BY field DESC` (appended after earlier sort keys).
    pub fn order_by_desc(mut self, field: impl Into<String>) -> Self {
        self.order.push((field.into(), true));
        self
    }

    /// `LIMIT n`.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// The query text; fails with [`ErrorKind::InvalidRequest`] on an invalid name, an
    /// empty selection or `IN` list, or a non-finite number.
    pub fn build(&self) -> Result<String> {
        let mut out = String::from("SELECT ");
        match &self.selection {
            Selection::Count => out.push_str("COUNT()"),
            Selection::Fields(fields) if fields.is_empty() => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "a SOQL query needs at least one field",
                ));
            }
            Selection::Fields(fields) => {
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(validate_identifier(field)?);
                }
            }
        }
        out.push_str(" FROM ");
        out.push_str(validate_identifier(&self.from)?);
        if let Some(filter) = &self.filter {
            out.push_str(" WHERE ");
            filter.render(&mut out)?;
        }
        for (i, (field, desc)) in self.order.iter().enumerate() {
            out.push_str(if i == 0 { " ORDER BY " } else { ", " });
            out.push_str(validate_identifier(field)?);
            out.push_str(if *desc { " DESC" } else { " ASC" });
        }
        if let Some(n) = self.limit {
            let _ = write!(out, " LIMIT {n}");
        }
        Ok(out)
    }
}
