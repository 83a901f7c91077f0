//! The environment's rows: typed values checked as Dataverse checks them, a global
//! row version (`versionnumber`) bumped by every write, and tombstones of deleted rows
//! for change tracking.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value};

use super::errors::ApiError;
use super::schema::{Kind, TABLES, Table};

/// One row. Lookup columns hold the target's GUID and logical name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub id: String,
    pub values: BTreeMap<&'static str, Value>,
    /// Lookup targets' logical names, by lookup column.
    pub lookup_types: BTreeMap<&'static str, &'static str>,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub version: u64,
}

/// Rows of one table, by lower-case GUID (the order keyset paging follows).
#[derive(Debug, Default, Clone)]
pub(crate) struct TableRows {
    pub rows: BTreeMap<String, Row>,
    /// `(versionnumber of the delete, id)`, oldest first.
    pub tombstones: Vec<(u64, String)>,
}

/// How to revert one write (change sets are atomic).
#[derive(Debug)]
pub(crate) enum Undo {
    Put(usize, String, Option<Row>),
    Tombstone(usize),
}

/// Every table's rows and the version counter.
#[derive(Debug)]
pub(crate) struct Store {
    pub tables: Vec<TableRows>,
    pub version: u64,
}

pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A random lower-case GUID.
pub(crate) fn new_guid() -> String {
    let a = crate::common::rng::fresh_u64();
    let b = crate::common::rng::fresh_u64();
    guid_from(a, b)
}

pub(crate) fn guid_from(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        (b >> 48) & 0xffff,
        b & 0xffff_ffff_ffff
    )
}

/// A GUID in canonical lower-case form, with or without braces.
pub(crate) fn parse_guid(text: &str) -> Option<String> {
    let t = text.trim_start_matches('{').trim_end_matches('}');
    let ok = t.len() == 36
        && t.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    ok.then(|| t.to_ascii_lowercase())
}

impl Store {
    pub(crate) fn new() -> Self {
        Self {
            tables: TABLES.iter().map(|_| TableRows::default()).collect(),
            version: 1_000_000,
        }
    }

    pub(crate) fn next_version(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    pub(crate) fn get(&self, t: usize, id: &str) -> Option<&Row> {
        self.tables.get(t).and_then(|rows| rows.rows.get(id))
    }

    /// The row whose alternate key column equals `value`.
    pub(crate) fn by_key(&self, t: usize, column: &str, value: &Value) -> Option<&Row> {
        self.tables[t]
            .rows
            .values()
            .find(|r| r.values.get(column).is_some_and(|v| same_value(v, value)))
    }

    /// Checks a JSON body against the table and turns it into column values; lookups
    /// bound with `{nav}@odata.bind` are resolved against the store.
    pub(crate) fn parse_body(
        &self,
        t: usize,
        body: &Map<String, Value>,
    ) -> Result<Parsed, ApiError> {
        let table = TABLES[t];
        let mut out = Parsed::default();
        for (key, value) in body {
            if key.starts_with('@') || (key.contains("@odata.") && !key.ends_with("@odata.bind")) {
                continue;
            }
            if let Some(nav) = key.strip_suffix("@odata.bind") {
                let (attr, targets) = resolve_nav(table, nav)?;
                if value.is_null() {
                    out.values.push((attr, Value::Null));
                    continue;
                }
                let Some(reference) = value.as_str() else {
                    return Err(ApiError::payload(
                        table,
                        &format!(
                            "An undeclared property '{key}' which only has property annotations in the payload but no property value was found in the payload."
                        ),
                    ));
                };
                let (target, id) = parse_reference(reference).ok_or_else(|| {
                    ApiError::bad_request(
                        "0x80060888",
                        &format!("The URI '{reference}' is not valid for binding."),
                    )
                })?;
                let target_table = TABLES[target];
                if !targets.contains(&target_table.logical) {
                    return Err(ApiError::bad_request(
                        "0x80060888",
                        &format!(
                            "The navigation property '{nav}' cannot refer to a {} record.",
                            target_table.logical
                        ),
                    ));
                }
                if self.get(target, &id).is_none() {
                    return Err(ApiError::does_not_exist(target_table, &id, "0x80040217"));
                }
                out.values.push((attr, Value::String(id)));
                out.lookup_types.push((attr, target_table.logical));
                continue;
            }
            let attr = table
                .attr(key)
                .ok_or_else(|| ApiError::unknown_property(table, key))?;
            if attr.read_only || matches!(attr.kind, Kind::Lookup(_)) {
                if matches!(attr.kind, Kind::Lookup(_)) {
                    return Err(ApiError::payload(
                        table,
                        &format!(
                            "A 'PrimitiveValue' node with non-null value was found when trying to read the value of the navigation property '{key}'; use '{key}@odata.bind'."
                        ),
                    ));
                }
                // Platform columns are written by the platform only; Dataverse ignores them.
                continue;
            }
            out.values
                .push((attr.name, check_value(table, attr.name, attr.kind, value)?));
        }
        Ok(out)
    }

    /// Creates a row (with `id`, or a new GUID).
    pub(crate) fn insert(
        &mut self,
        t: usize,
        id: Option<String>,
        parsed: &Parsed,
        now: i64,
        undo: &mut Vec<Undo>,
    ) -> Result<String, ApiError> {
        let table = TABLES[t];
        let id = id.unwrap_or_else(new_guid);
        if self.get(t, &id).is_some() {
            return Err(ApiError::duplicate_key());
        }
        self.check_alternate_key(t, &id, parsed)?;
        let mut row = Row {
            id: id.clone(),
            values: BTreeMap::new(),
            lookup_types: BTreeMap::new(),
            created_ms: now,
            modified_ms: now,
            version: 0,
        };
        if let Some(attr) = table.attr("statecode") {
            row.values.insert(attr.name, Value::from(0));
        }
        if let Some(Kind::Status(options)) = table.attr("statuscode").map(|a| a.kind) {
            row.values.insert(
                "statuscode",
                Value::from(options.first().map_or(1, |o| o.0)),
            );
        }
        apply(&mut row, parsed, table);
        row.version = self.next_version();
        undo.push(Undo::Put(t, id.clone(), None));
        self.tables[t].rows.insert(id.clone(), row);
        Ok(id)
    }

    /// Updates a row; `false` if there is none.
    pub(crate) fn update(
        &mut self,
        t: usize,
        id: &str,
        parsed: &Parsed,
        now: i64,
        undo: &mut Vec<Undo>,
    ) -> Result<bool, ApiError> {
        let table = TABLES[t];
        let Some(old) = self.get(t, id).cloned() else {
            return Ok(false);
        };
        self.check_alternate_key(t, id, parsed)?;
        let version = self.next_version();
        let mut row = old.clone();
        apply(&mut row, parsed, table);
        row.modified_ms = now.max(old.modified_ms);
        row.version = version;
        undo.push(Undo::Put(t, id.to_owned(), Some(old)));
        self.tables[t].rows.insert(id.to_owned(), row);
        Ok(true)
    }

    /// Deletes a row and records its tombstone; `false` if there is none.
    pub(crate) fn delete(&mut self, t: usize, id: &str, undo: &mut Vec<Undo>) -> bool {
        let Some(old) = self.tables[t].rows.remove(id) else {
            return false;
        };
        let version = self.next_version();
        self.tables[t].tombstones.push((version, id.to_owned()));
        undo.push(Undo::Put(t, id.to_owned(), Some(old)));
        undo.push(Undo::Tombstone(t));
        true
    }

    /// Reverts writes, newest first.
    pub(crate) fn rollback(&mut self, undo: Vec<Undo>) {
        for step in undo.into_iter().rev() {
            match step {
                Undo::Put(t, id, Some(row)) => {
                    self.tables[t].rows.insert(id, row);
                }
                Undo::Put(t, id, None) => {
                    self.tables[t].rows.remove(&id);
                }
                Undo::Tombstone(t) => {
                    self.tables[t].tombstones.pop();
                }
            }
        }
    }

    fn check_alternate_key(&self, t: usize, id: &str, parsed: &Parsed) -> Result<(), ApiError> {
        let table = TABLES[t];
        let Some(key) = table.alternate_key else {
            return Ok(());
        };
        let Some((_, value)) = parsed
            .values
            .iter()
            .find(|(n, v)| *n == key && !v.is_null())
        else {
            return Ok(());
        };
        match self.by_key(t, key, value) {
            Some(other) if other.id != id => Err(ApiError::duplicate_alternate_key(table, key)),
            _ => Ok(()),
        }
    }
}

/// Column values of a request body, checked.
#[derive(Debug, Default, Clone)]
pub(crate) struct Parsed {
    pub values: Vec<(&'static str, Value)>,
    pub lookup_types: Vec<(&'static str, &'static str)>,
}

fn apply(row: &mut Row, parsed: &Parsed, table: &Table) {
    for (name, value) in &parsed.values {
        if value.is_null() {
            row.values.remove(name);
            row.lookup_types.remove(name);
        } else {
            row.values.insert(name, value.clone());
        }
    }
    for (name, target) in &parsed.lookup_types {
        row.lookup_types.insert(name, target);
    }
    // Computed columns.
    if table.attr("fullname").is_some() {
        let part = |n: &str| {
            row.values
                .get(n)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let full = format!("{} {}", part("firstname"), part("lastname"))
            .trim()
            .to_owned();
        if full.is_empty() {
            row.values.remove("fullname");
        } else {
            row.values.insert("fullname", Value::String(full));
        }
    }
}

/// Whether two stored values are equal the way SQL Server compares them (text without
/// regard to case).
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            x.eq_ignore_ascii_case(y) || x.to_lowercase() == y.to_lowercase()
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `/accounts(guid)` or an absolute URL to one: (table, id).
fn parse_reference(reference: &str) -> Option<(usize, String)> {
    let path = reference
        .rsplit_once("/api/data/")
        .map_or(reference, |(_, rest)| {
            rest.split_once('/').map_or(rest, |(_, p)| p)
        });
    let path = path.trim_start_matches('/');
    let (set, rest) = path.split_once('(')?;
    let id = parse_guid(rest.strip_suffix(')')?)?;
    Some((super::schema::by_set(set)?, id))
}

/// A navigation property (`parentcustomerid_account`, `parentaccountid`) to its lookup
/// column and the tables it may refer to.
fn resolve_nav(table: &Table, nav: &str) -> Result<(&'static str, Vec<&'static str>), ApiError> {
    for attr in table.attrs {
        let Kind::Lookup(targets) = attr.kind else {
            continue;
        };
        if targets.len() == 1 && nav == attr.name {
            return Ok((attr.name, targets.to_vec()));
        }
        if let Some(target) = nav
            .strip_prefix(attr.name)
            .and_then(|r| r.strip_prefix('_'))
        {
            if let Some(t) = targets.iter().find(|t| **t == target) {
                return Ok((attr.name, vec![*t]));
            }
        }
    }
    Err(ApiError::bad_request(
        "0x80060888",
        &format!(
            "An undeclared property '{nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values."
        ),
    ))
}

/// Checks one value against its column type, as the Web API's payload reader does.
pub(crate) fn check_value(
    table: &Table,
    name: &str,
    kind: Kind,
    value: &Value,
) -> Result<Value, ApiError> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let wrong = |expected: &str| {
        ApiError::payload(
            table,
            &format!(
                "Cannot convert the literal '{}' to the expected type '{expected}'.",
                match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }
            ),
        )
    };
    match kind {
        Kind::String(max) | Kind::Memo(max) => {
            let s = value.as_str().ok_or_else(|| wrong("Edm.String"))?;
            if s.chars().count() > max {
                return Err(ApiError::too_long(table, name, max));
            }
            Ok(value.clone())
        }
        Kind::Uniqueidentifier => value
            .as_str()
            .and_then(parse_guid)
            .map(Value::String)
            .ok_or_else(|| wrong("Edm.Guid")),
        Kind::Integer { min, max } => {
            let n = value.as_i64().ok_or_else(|| wrong("Edm.Int32"))?;
            if n < min || n > max {
                return Err(ApiError::out_of_range(
                    table,
                    name,
                    &n.to_string(),
                    min,
                    max,
                ));
            }
            Ok(value.clone())
        }
        Kind::BigInt => value
            .as_i64()
            .map(Value::from)
            .ok_or_else(|| wrong("Edm.Int64")),
        Kind::Money => value
            .as_f64()
            .map(|_| value.clone())
            .ok_or_else(|| wrong("Edm.Decimal")),
        Kind::Boolean => value
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| wrong("Edm.Boolean")),
        Kind::DateTime => {
            let s = value.as_str().ok_or_else(|| wrong("Edm.DateTimeOffset"))?;
            let at = DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .or_else(|_| {
                    NaiveDate::parse_from_str(s, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                })
                .map_err(|_| wrong("Edm.DateTimeOffset"))?;
            Ok(Value::String(at.to_rfc3339_opts(SecondsFormat::Secs, true)))
        }
        Kind::DateOnly => {
            let s = value.as_str().ok_or_else(|| wrong("Edm.Date"))?;
            let date = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .or_else(|_| DateTime::parse_from_rfc3339(s).map(|d| d.date_naive()))
                .map_err(|_| wrong("Edm.Date"))?;
            Ok(Value::String(date.format("%Y-%m-%d").to_string()))
        }
        Kind::Picklist(options) | Kind::State(options) | Kind::Status(options) => {
            let n = value.as_i64().ok_or_else(|| wrong("Edm.Int32"))?;
            if options.iter().any(|(v, _)| *v == n) {
                Ok(Value::from(n))
            } else {
                Err(ApiError::invalid_option(table, name, n, options))
            }
        }
        Kind::Lookup(_) => Err(wrong("Edm.Guid")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn values_are_checked_like_the_web_api() {
        let store = Store::new();
        let t = super::super::schema::by_set("contacts").unwrap_or_default();
        let ok = store.parse_body(t, &body(json!({"firstname": "Ada", "modifiedon": "x"})));
        assert!(
            ok.is_ok_and(|p| p.values.len() == 1),
            "read-only columns are ignored"
        );
        let long = "x".repeat(51);
        let err = store
            .parse_body(t, &body(json!({ "firstname": long })))
            .expect_err("too long");
        assert_eq!(err.code, "0x80044331");
        let err = store
            .parse_body(t, &body(json!({"nosuchfield": 1})))
            .expect_err("unknown");
        assert_eq!(err.status.as_u16(), 400);
        assert!(err.message.contains("nosuchfield"), "{}", err.message);
    }

    #[test]
    fn guids_parse_with_or_without_braces() {
        assert_eq!(
            parse_guid("{0A1B2C3D-0000-0000-0000-000000000001}").as_deref(),
            Some("0a1b2c3d-0000-0000-0000-000000000001")
        );
        assert!(parse_guid("0a1b2c3d-0000-0000-0000-00000000000").is_none());
        assert!(parse_guid("' or 1 eq 1").is_none());
    }

    #[test]
    fn rollback_restores_rows_and_tombstones() {
        let mut store = Store::new();
        let t = 0;
        let parsed = Parsed {
            values: vec![("lastname", json!("L"))],
            lookup_types: vec![],
        };
        let mut undo = Vec::new();
        let id = store
            .insert(t, None, &parsed, 1, &mut undo)
            .unwrap_or_default();
        let mut undo = Vec::new();
        assert!(store.delete(t, &id, &mut undo));
        let other = store
            .insert(t, None, &parsed, 2, &mut undo)
            .unwrap_or_default();
        store.rollback(undo);
        assert!(store.get(t, &id).is_some());
        assert!(store.get(t, &other).is_none());
        assert!(store.tables[t].tombstones.is_empty());
    }
}
