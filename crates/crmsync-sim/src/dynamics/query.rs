//! The OData subset the simulator understands: `$select`, `$filter` (`eq ne gt ge lt le
//! and or not`, parentheses, `contains`/`startswith`/`endswith`, and
//! `Microsoft.Dynamics.CRM.In(PropertyName=…,PropertyValues=[…])`), `$orderby`, and the
//! paging cookie of `$skiptoken`.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::schema::{Kind, Table, lookup_value_name};
use super::store::{Row, iso, parse_guid, same_value};

/// A column's value as the Web API reads it: platform columns included, lookups by
/// their `_x_value` name.
pub(crate) fn column(table: &Table, row: &Row, name: &str) -> Option<Value> {
    if name == table.id {
        return Some(Value::String(row.id.clone()));
    }
    match name {
        "createdon" => return Some(Value::String(iso(row.created_ms))),
        "modifiedon" => return Some(Value::String(iso(row.modified_ms))),
        "versionnumber" => return Some(Value::from(row.version)),
        _ => {}
    }
    if let Some(attr) = name
        .strip_prefix('_')
        .and_then(|n| n.strip_suffix("_value"))
    {
        return row.values.get(attr).cloned();
    }
    row.values.get(name).cloned()
}

/// Resolves `$select` against the table: `None` selects every column.
pub(crate) fn select(table: &Table, raw: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for name in raw.split(',').map(str::trim) {
        if !known_column(table, name) {
            return Err(ApiError::unknown_select(table, name));
        }
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    Ok(Some(out))
}

/// Whether `name` can be read (`_x_value` for lookups, the column name otherwise).
pub(crate) fn known_column(table: &Table, name: &str) -> bool {
    if let Some(attr) = name
        .strip_prefix('_')
        .and_then(|n| n.strip_suffix("_value"))
    {
        return table
            .attr(attr)
            .is_some_and(|a| matches!(a.kind, Kind::Lookup(_)));
    }
    table
        .attr(name)
        .is_some_and(|a| !matches!(a.kind, Kind::Lookup(_)))
}

/// A row as JSON: `@odata.etag`, the primary key, and the selected columns (`null` when
/// empty).
pub(crate) fn render(
    table: &Table,
    row: &Row,
    selected: Option<&[String]>,
    annotations: bool,
) -> Value {
    let mut map = Map::new();
    map.insert(
        "@odata.etag".into(),
        Value::String(format!("W/\"{}\"", row.version)),
    );
    let all: Vec<String>;
    let names: &[String] = match selected {
        Some(s) => s,
        None => {
            all = table
                .attrs
                .iter()
                .map(|a| match a.kind {
                    Kind::Lookup(_) => lookup_value_name(a.name),
                    _ => a.name.to_owned(),
                })
                .collect();
            &all
        }
    };
    for name in names {
        let value = column(table, row, name).unwrap_or(Value::Null);
        if annotations && !value.is_null() {
            if let Some(attr) = name
                .strip_prefix('_')
                .and_then(|n| n.strip_suffix("_value"))
            {
                if let Some(target) = row.lookup_types.get(attr) {
                    map.insert(
                        format!("{name}@Microsoft.Dynamics.CRM.lookuplogicalname"),
                        Value::String((*target).to_owned()),
                    );
                }
            }
            if let Some(options) = table.attr(name).and_then(|a| a.kind.options()) {
                if let Some((_, label)) = options.iter().find(|(v, _)| Some(*v) == value.as_i64()) {
                    map.insert(
                        format!("{name}@OData.Community.Display.V1.FormattedValue"),
                        Value::String((*label).to_owned()),
                    );
                }
            }
        }
        map.insert(name.clone(), value);
    }
    map.insert(table.id.to_owned(), Value::String(row.id.clone()));
    Value::Object(map)
}

// ---------------------------------------------------------------------------------------
// $filter

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Guid(String),
    DateTime(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(String, Op, Lit),
    Func(Func, String, String),
    In(String, Vec<Lit>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Lit(Lit),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Equals,
}

fn lex(input: &str) -> Result<Vec<Tok>, ApiError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1;
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '=' => {
                out.push(Tok::Equals);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(ApiError::query("Unterminated string literal in $filter."));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(c) => {
                            s.push(*c);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Lit(Lit::Str(s)));
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], '.' | ':' | '+' | '-'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let lit = if let Some(g) = parse_guid(&word) {
                    Lit::Guid(g)
                } else if let Ok(at) = DateTime::parse_from_rfc3339(&word) {
                    Lit::DateTime(at.timestamp_millis())
                } else if let Ok(n) = word.parse::<f64>() {
                    Lit::Num(n)
                } else {
                    return Err(ApiError::query(&format!(
                        "Syntax error at position {start} in '{input}'."
                    )));
                };
                out.push(Tok::Lit(lit));
            }
            c if c.is_ascii_hexdigit()
                && chars.len() >= i + 36
                && parse_guid(&chars[i..i + 36].iter().collect::<String>()).is_some()
                && chars.get(i + 36).is_none_or(|n| !n.is_ascii_alphanumeric()) =>
            {
                // A GUID starting with a letter.
                let text: String = chars[i..i + 36].iter().collect();
                out.push(Tok::Lit(Lit::Guid(parse_guid(&text).unwrap_or(text))));
                i += 36;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.'))
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(match word.as_str() {
                    "true" => Tok::Lit(Lit::Bool(true)),
                    "false" => Tok::Lit(Lit::Bool(false)),
                    "null" => Tok::Lit(Lit::Null),
                    _ => Tok::Ident(word),
                });
            }
            other => {
                return Err(ApiError::query(&format!(
                    "Syntax error: character '{other}' is not valid at position {i} in '{input}'."
                )));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    table: &'a Table,
}

impl Parser<'_> {
    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(w)) if w == word)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, tok: Tok) -> Result<(), ApiError> {
        match self.next() {
            Some(t) if t == tok => Ok(()),
            other => Err(ApiError::query(&format!(
                "Syntax error in $filter: expected {tok:?}, found {other:?}."
            ))),
        }
    }

    fn or(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.and()?;
        while self.peek_ident("or") {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ApiError> {
        let mut left = self.unary()?;
        while self.peek_ident("and") {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn column(&self, name: &str) -> Result<String, ApiError> {
        if known_column(self.table, name) {
            Ok(name.to_owned())
        } else {
            Err(ApiError::unknown_select(self.table, name))
        }
    }

    fn unary(&mut self) -> Result<Expr, ApiError> {
        match self.next() {
            Some(Tok::Ident(w)) if w == "not" => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Tok::LParen) => {
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Some(Tok::Ident(w)) if matches!(w.as_str(), "contains" | "startswith" | "endswith") => {
                self.expect(Tok::LParen)?;
                let Some(Tok::Ident(col)) = self.next() else {
                    return Err(ApiError::query("Syntax error: a function needs a column."));
                };
                let col = self.column(&col)?;
                self.expect(Tok::Comma)?;
                let Some(Tok::Lit(Lit::Str(s))) = self.next() else {
                    return Err(ApiError::query("Syntax error: a function needs a string."));
                };
                self.expect(Tok::RParen)?;
                let f = match w.as_str() {
                    "contains" => Func::Contains,
                    "startswith" => Func::StartsWith,
                    _ => Func::EndsWith,
                };
                Ok(Expr::Func(f, col, s))
            }
            Some(Tok::Ident(w)) if w == "Microsoft.Dynamics.CRM.In" => {
                self.expect(Tok::LParen)?;
                let mut name = None;
                let mut values = Vec::new();
                loop {
                    match self.next() {
                        Some(Tok::Ident(p)) if p == "PropertyName" => {
                            self.expect(Tok::Equals)?;
                            match self.next() {
                                Some(Tok::Lit(Lit::Str(s))) => name = Some(s),
                                _ => return Err(ApiError::query("PropertyName must be a string.")),
                            }
                        }
                        Some(Tok::Ident(p)) if p == "PropertyValues" => {
                            self.expect(Tok::Equals)?;
                            self.expect(Tok::LBracket)?;
                            loop {
                                match self.next() {
                                    Some(Tok::Lit(l)) => values.push(l),
                                    Some(Tok::Comma) => {}
                                    Some(Tok::RBracket) => break,
                                    _ => {
                                        return Err(ApiError::query(
                                            "PropertyValues must be a list.",
                                        ));
                                    }
                                }
                            }
                        }
                        Some(Tok::Comma) => {}
                        Some(Tok::RParen) => break,
                        other => {
                            return Err(ApiError::query(&format!(
                                "Syntax error in Microsoft.Dynamics.CRM.In: {other:?}."
                            )));
                        }
                    }
                }
                let name = name.ok_or_else(|| ApiError::query("PropertyName is required."))?;
                let col = self.column(&name)?;
                // Values come as strings; GUIDs and numbers compare by meaning.
                let values = values
                    .into_iter()
                    .map(|l| match l {
                        Lit::Str(s) => parse_guid(&s).map_or(Lit::Str(s), Lit::Guid),
                        other => other,
                    })
                    .collect();
                Ok(Expr::In(col, values))
            }
            Some(Tok::Ident(col)) => {
                let col = self.column(&col)?;
                let op = match self.next() {
                    Some(Tok::Ident(o)) => match o.as_str() {
                        "eq" => Op::Eq,
                        "ne" => Op::Ne,
                        "gt" => Op::Gt,
                        "ge" => Op::Ge,
                        "lt" => Op::Lt,
                        "le" => Op::Le,
                        other => {
                            return Err(ApiError::query(&format!(
                                "The operator '{other}' is not supported."
                            )));
                        }
                    },
                    other => {
                        return Err(ApiError::query(&format!(
                            "Syntax error in $filter: expected an operator, found {other:?}."
                        )));
                    }
                };
                match self.next() {
                    Some(Tok::Lit(l)) => Ok(Expr::Cmp(col, op, l)),
                    other => Err(ApiError::query(&format!(
                        "Syntax error in $filter: expected a literal, found {other:?}."
                    ))),
                }
            }
            other => Err(ApiError::query(&format!(
                "Syntax error in $filter near {other:?}."
            ))),
        }
    }
}

/// Parses a `$filter` expression against a table's columns.
pub(crate) fn parse_filter(table: &Table, input: &str) -> Result<Expr, ApiError> {
    let mut p = Parser {
        toks: lex(input)?,
        pos: 0,
        table,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(ApiError::query(&format!(
            "Syntax error at the end of '{input}'."
        )));
    }
    Ok(e)
}

/// Parses `filter` as a `$filter` on the contact table, as the simulator's query
/// endpoint does, and returns its string literals in order; a refused filter is its
/// error message. For the fuzz targets (`fuzz/`), which check that the provider's
/// escaping round-trips.
pub fn filter_string_literals(filter: &str) -> Result<Vec<String>, String> {
    fn collect(expr: &Expr, out: &mut Vec<String>) {
        match expr {
            Expr::Or(a, b) | Expr::And(a, b) => {
                collect(a, out);
                collect(b, out);
            }
            Expr::Not(e) => collect(e, out),
            Expr::Cmp(_, _, lit) => out.extend(string_of(lit)),
            Expr::Func(_, _, text) => out.push(text.clone()),
            Expr::In(_, lits) => out.extend(lits.iter().filter_map(string_of)),
        }
    }
    fn string_of(lit: &Lit) -> Option<String> {
        match lit {
            Lit::Str(s) => Some(s.clone()),
            _ => None,
        }
    }
    let expr = parse_filter(&super::schema::CONTACT, filter).map_err(|e| e.message)?;
    let mut out = Vec::new();
    collect(&expr, &mut out);
    Ok(out)
}

fn lit_value(l: &Lit) -> Value {
    match l {
        Lit::Str(s) | Lit::Guid(s) => Value::String(s.clone()),
        Lit::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Null => Value::Null,
        Lit::DateTime(ms) => Value::String(iso(*ms)),
    }
}

fn compare(value: &Value, lit: &Lit) -> Option<Ordering> {
    match (value, lit) {
        (Value::String(s), Lit::DateTime(ms)) => {
            let at = DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.timestamp_millis())
                .or_else(|| {
                    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .ok()
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc().timestamp_millis())
                })?;
            Some(at.cmp(ms))
        }
        (Value::String(s), Lit::Str(t) | Lit::Guid(t)) => {
            Some(s.to_lowercase().cmp(&t.to_lowercase()))
        }
        (Value::Number(n), Lit::Num(m)) => n.as_f64()?.partial_cmp(m),
        (Value::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// Whether a row matches.
pub(crate) fn eval(table: &Table, row: &Row, expr: &Expr) -> bool {
    match expr {
        Expr::Or(a, b) => eval(table, row, a) || eval(table, row, b),
        Expr::And(a, b) => eval(table, row, a) && eval(table, row, b),
        Expr::Not(a) => !eval(table, row, a),
        Expr::Cmp(col, op, lit) => {
            let value = column(table, row, col).unwrap_or(Value::Null);
            if *lit == Lit::Null || value.is_null() {
                let both_null = value.is_null() && *lit == Lit::Null;
                return match op {
                    Op::Eq => both_null,
                    Op::Ne => !both_null,
                    _ => false,
                };
            }
            match op {
                Op::Eq => {
                    same_value(&value, &lit_value(lit))
                        || compare(&value, lit) == Some(Ordering::Equal)
                }
                Op::Ne => {
                    !(same_value(&value, &lit_value(lit))
                        || compare(&value, lit) == Some(Ordering::Equal))
                }
                Op::Gt => compare(&value, lit) == Some(Ordering::Greater),
                Op::Ge => matches!(
                    compare(&value, lit),
                    Some(Ordering::Greater | Ordering::Equal)
                ),
                Op::Lt => compare(&value, lit) == Some(Ordering::Less),
                Op::Le => matches!(compare(&value, lit), Some(Ordering::Less | Ordering::Equal)),
            }
        }
        Expr::Func(f, col, s) => {
            let Some(Value::String(v)) = column(table, row, col) else {
                return false;
            };
            let (v, s) = (v.to_lowercase(), s.to_lowercase());
            match f {
                Func::Contains => v.contains(&s),
                Func::StartsWith => v.starts_with(&s),
                Func::EndsWith => v.ends_with(&s),
            }
        }
        Expr::In(col, values) => {
            let value = column(table, row, col).unwrap_or(Value::Null);
            values.iter().any(|l| {
                compare(&value, l) == Some(Ordering::Equal) || same_value(&value, &lit_value(l))
            })
        }
    }
}

/// `$orderby`: `(column, descending)` pairs.
pub(crate) fn parse_orderby(table: &Table, raw: &str) -> Result<Vec<(String, bool)>, ApiError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|part| {
            let mut words = part.split_whitespace();
            let col = words.next().unwrap_or_default();
            if !known_column(table, col) {
                return Err(ApiError::unknown_select(table, col));
            }
            let desc = match words.next() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => {
                    return Err(ApiError::query(&format!(
                        "Syntax error in $orderby: '{other}'."
                    )));
                }
            };
            Ok((col.to_owned(), desc))
        })
        .collect()
}

/// Orders two rows by `$orderby`, then by primary key.
pub(crate) fn order(table: &Table, a: &Row, b: &Row, by: &[(String, bool)]) -> Ordering {
    for (col, desc) in by {
        let (x, y) = (
            column(table, a, col).unwrap_or(Value::Null),
            column(table, b, col).unwrap_or(Value::Null),
        );
        let o = match (&x, &y) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            (Value::Number(m), Value::Number(n)) => m
                .as_f64()
                .partial_cmp(&n.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::String(s), Value::String(t)) => s.to_lowercase().cmp(&t.to_lowercase()),
            (Value::Bool(s), Value::Bool(t)) => s.cmp(t),
            _ => Ordering::Equal,
        };
        let o = if *desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.id.cmp(&b.id)
}

// ---------------------------------------------------------------------------------------
// $skiptoken

/// The state a `$skiptoken` carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cookie {
    pub page: u64,
    /// The last primary key delivered (keyset paging by primary key).
    pub last: Option<String>,
    /// Change tracking: the row version the pass started at (initial sync) or the
    /// last one delivered (delta).
    pub version: Option<u64>,
    /// Change tracking of a delta pass: the version the pass reads up to.
    pub upto: Option<u64>,
    pub tracking: bool,
}

impl Cookie {
    /// `<cookie pagenumber="2" pagingcookie="…" istracking="False" />`, in the shape
    /// Dataverse sends (the inner cookie percent-encoded twice).
    pub(crate) fn encode(&self, id_column: &str) -> String {
        let mut inner = format!("<cookie page=\"{}\"", self.page.saturating_sub(1));
        if let Some(v) = self.version {
            inner.push_str(&format!(" version=\"{v}\""));
        }
        if let Some(u) = self.upto {
            inner.push_str(&format!(" upto=\"{u}\""));
        }
        inner.push('>');
        if let Some(last) = &self.last {
            inner.push_str(&format!(
                "<{id_column} last=\"{{{}}}\" />",
                last.to_ascii_uppercase()
            ));
        }
        inner.push_str("</cookie>");
        format!(
            "<cookie pagenumber=\"{}\" pagingcookie=\"{}\" istracking=\"{}\" />",
            self.page,
            percent_encode(&lower_escapes(&percent_encode(&inner))),
            if self.tracking { "True" } else { "False" }
        )
    }

    pub(crate) fn decode(text: &str) -> Option<Self> {
        let page = attribute(text, "pagenumber")?.parse().ok()?;
        let tracking =
            attribute(text, "istracking").is_some_and(|t| t.eq_ignore_ascii_case("true"));
        let inner = attribute(text, "pagingcookie")
            .map(|c| percent_decode(&percent_decode(&c)))
            .unwrap_or_default();
        let last = attribute(&inner, "last").and_then(|l| parse_guid(&l));
        let version = attribute(&inner, "version").and_then(|v| v.parse().ok());
        let upto = attribute(&inner, "upto").and_then(|v| v.parse().ok());
        Some(Self {
            page,
            last,
            version,
            upto,
            tracking,
        })
    }
}

/// The value of `name="…"` in an XML-ish fragment.
fn attribute(text: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = text.find(&needle)? + needle.len();
    let end = text[start..].find('"')? + start;
    Some(text[start..end].to_owned())
}

/// `%3C` → `%3c`: the inner cookie's escapes are lower-case in Dataverse's links.
fn lower_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut hex = 0;
    for c in text.chars() {
        if c == '%' {
            hex = 2;
            out.push(c);
        } else if hex > 0 {
            hex -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes a query value the way browsers and OData clients do, keeping the characters
/// OData expressions use readable.
pub(crate) fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'_' | b'~' | b',' | b'\'' | b'(' | b')' | b'$' | b':' | b'@'
            )
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamics::schema::CONTACT;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn row(values: &[(&'static str, Value)]) -> Row {
        Row {
            id: "00000000-0000-0000-0000-000000000001".into(),
            values: values.iter().cloned().collect::<BTreeMap<_, _>>(),
            lookup_types: BTreeMap::new(),
            created_ms: 0,
            modified_ms: 1_700_000_000_000,
            version: 5,
        }
    }

    fn matches(filter: &str, r: &Row) -> bool {
        let e =
            parse_filter(&CONTACT, filter).unwrap_or_else(|e| panic!("{filter}: {}", e.message));
        eval(&CONTACT, r, &e)
    }

    #[test]
    fn filters_compare_like_dataverse() {
        let r = row(&[
            ("emailaddress1", json!("Ada@Example.com")),
            ("lastname", json!("O'Brien")),
        ]);
        assert!(matches("emailaddress1 eq 'ada@example.com'", &r));
        assert!(matches(
            "lastname eq 'O''Brien' and emailaddress1 ne null",
            &r
        ));
        assert!(matches(
            "(firstname eq 'x' or contains(lastname,'bri'))",
            &r
        ));
        assert!(matches("modifiedon ge 2023-01-01T00:00:00Z", &r));
        assert!(!matches("modifiedon gt 2024-01-01T00:00:00.000Z", &r));
        assert!(matches(
            "contactid eq 00000000-0000-0000-0000-000000000001",
            &r
        ));
        assert!(!matches(
            "contactid eq c72f52b8-8c58-8680-a38d-2b02668dd025 or contactid eq ab000000-0000-0000-0000-000000000001",
            &r
        ));
        assert!(matches(
            "Microsoft.Dynamics.CRM.In(PropertyName='contactid',PropertyValues=['00000000-0000-0000-0000-000000000001','x'])",
            &r
        ));
        assert!(matches("firstname eq null", &r));
        assert!(!matches("not (lastname eq 'o''brien')", &r));
    }

    #[test]
    fn bad_filters_are_400s() {
        for bad in [
            "lastname eq 'x",
            "nosuch eq 1",
            "lastname like 'x'",
            "lastname eq 'x' or",
            "parentcustomerid eq 1",
        ] {
            let err = parse_filter(&CONTACT, bad).expect_err(bad);
            assert_eq!(err.status.as_u16(), 400, "{bad}");
        }
        // An injection attempt stays inside its literal.
        let r = row(&[("lastname", json!("x' or lastname ne 'y"))]);
        assert!(matches("lastname eq 'x'' or lastname ne ''y'", &r));
    }

    #[test]
    fn cookies_round_trip() {
        let c = Cookie {
            page: 3,
            last: Some("0a000000-0000-0000-0000-000000000009".into()),
            version: Some(42),
            upto: None,
            tracking: true,
        };
        let text = c.encode("contactid");
        assert!(
            text.starts_with("<cookie pagenumber=\"3\" pagingcookie=\"%253ccookie"),
            "{text}"
        );
        assert_eq!(Cookie::decode(&text), Some(c));
        let through_url = percent_decode(&percent_encode(&text));
        assert_eq!(through_url, text);
    }
}
