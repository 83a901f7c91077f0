//! The simulator's in-memory CRM: records per object type, ordered by id, with the unique
//! indexes (contact email, custom unique properties) and company associations HubSpot keeps.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::errors::{ApiError, ValueProblem};
use super::schema::{Kind, ObjectType};
use super::time;

/// One stored record. The read-only properties (`hs_object_id`, `createdate` and the
/// last-modified one) are not stored: they are derived from the fields so they can never
/// disagree with `createdAt`/`updatedAt`.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub id: u64,
    pub props: BTreeMap<String, String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub archived_ms: Option<i64>,
    /// The associated company, for contacts and deals.
    pub company: Option<u64>,
}

impl Record {
    /// The value of a property, derived ones included.
    pub(crate) fn value(&self, ty: ObjectType, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "hs_object_id" => Some(Cow::Owned(self.id.to_string())),
            "createdate" => Some(Cow::Owned(time::iso(self.created_ms))),
            _ if name == ty.last_modified_property() => {
                Some(Cow::Owned(time::iso(self.updated_ms)))
            }
            COMPANY_ID if ty == ObjectType::Contacts => {
                self.company.map(|c| Cow::Owned(c.to_string()))
            }
            _ => self.props.get(name).map(|v| Cow::Borrowed(v.as_str())),
        }
    }

    /// The value of a date-time property as epoch milliseconds.
    pub(crate) fn instant(&self, ty: ObjectType, name: &str) -> Option<i64> {
        match name {
            "createdate" => Some(self.created_ms),
            _ if name == ty.last_modified_property() => Some(self.updated_ms),
            _ => self.props.get(name).and_then(|v| time::parse_instant(v)),
        }
    }
}

/// The contact property that mirrors the primary company association.
pub(crate) const COMPANY_ID: &str = "associatedcompanyid";

/// Splits `associatedcompanyid` off a contact write: `Some(None)` clears the association.
fn split_company(
    ty: ObjectType,
    values: &[(String, String)],
) -> (Vec<(String, String)>, Option<Option<u64>>) {
    if ty != ObjectType::Contacts {
        return (values.to_vec(), None);
    }
    let mut company = None;
    let rest = values
        .iter()
        .filter(|(k, v)| {
            if k == COMPANY_ID {
                company = Some(v.trim().parse::<u64>().ok());
                false
            } else {
                true
            }
        })
        .cloned()
        .collect();
    (rest, company)
}

/// The records of one object type.
#[derive(Debug, Default)]
pub(crate) struct ObjectStore {
    pub live: BTreeMap<u64, Record>,
    pub archived: BTreeMap<u64, Record>,
    /// property name -> value -> live record id, for email and unique-value properties.
    unique: HashMap<&'static str, HashMap<String, u64>>,
}

/// Why a write to one record failed.
#[derive(Debug, Clone)]
pub(crate) enum WriteError {
    NotFound,
    Conflict {
        existing: u64,
        property: &'static str,
    },
}

impl WriteError {
    /// The single-record HTTP answer for this failure.
    pub(crate) fn to_api(&self, ty: ObjectType, id: &str) -> ApiError {
        match self {
            WriteError::NotFound => ApiError::not_found("resource not found")
                .with("context", serde_json::json!({"id": [id], "type": [ty.upper()]})),
            WriteError::Conflict { existing, property } => ApiError::conflict(conflict_message(ty, *existing))
                .with("context", serde_json::json!({"propertyName": [property], "existingId": [existing.to_string()]})),
        }
    }
}

/// HubSpot's message for a duplicate unique value.
pub(crate) fn conflict_message(ty: ObjectType, existing: u64) -> String {
    let noun = match ty {
        ObjectType::Contacts => "Contact",
        ObjectType::Companies => "Company",
        ObjectType::Deals => "Deal",
    };
    format!("{noun} already exists. Existing ID: {existing}")
}

/// Every object type's records, plus the id counter shared by all of them.
#[derive(Debug)]
pub(crate) struct Store {
    objects: [ObjectStore; 3],
    next_id: u64,
    members: [HashMap<u64, BTreeSet<u64>>; 2],
}

/// The properties indexed for uniqueness on `ty`.
pub(crate) fn unique_properties(ty: ObjectType) -> impl Iterator<Item = &'static str> {
    let email = (ty == ObjectType::Contacts).then_some("email");
    email
        .into_iter()
        .chain(ty.properties().iter().filter(|p| p.unique).map(|p| p.name))
}

impl Store {
    pub(crate) fn new(first_id: u64) -> Self {
        Self {
            objects: Default::default(),
            next_id: first_id.max(1),
            members: Default::default(),
        }
    }

    pub(crate) fn object(&self, ty: ObjectType) -> &ObjectStore {
        &self.objects[ty.index()]
    }

    /// Ids of the live `member` records associated with `company`.
    pub(crate) fn company_members(
        &self,
        company: u64,
        member: ObjectType,
    ) -> Option<&BTreeSet<u64>> {
        let slot = match member {
            ObjectType::Contacts => 0,
            ObjectType::Deals => 1,
            ObjectType::Companies => return None,
        };
        self.members[slot].get(&company)
    }

    fn members_mut(&mut self, member: ObjectType) -> Option<&mut HashMap<u64, BTreeSet<u64>>> {
        match member {
            ObjectType::Contacts => Some(&mut self.members[0]),
            ObjectType::Deals => Some(&mut self.members[1]),
            ObjectType::Companies => None,
        }
    }

    /// Finds a live record by a unique property (`hs_object_id`, `email`, a unique custom one).
    pub(crate) fn find(&self, ty: ObjectType, property: &str, value: &str) -> Option<u64> {
        let os = self.object(ty);
        if property == "hs_object_id" {
            let id = value.trim().parse::<u64>().ok()?;
            return os.live.contains_key(&id).then_some(id);
        }
        let key = unique_key(property, value);
        os.unique.get(property)?.get(&key).copied()
    }

    /// Finds an archived record by id.
    pub(crate) fn find_archived(&self, ty: ObjectType, id: &str) -> Option<u64> {
        let id = id.trim().parse::<u64>().ok()?;
        self.object(ty).archived.contains_key(&id).then_some(id)
    }

    /// Whether `property` may be used as an `idProperty` on `ty`.
    pub(crate) fn is_id_property(ty: ObjectType, property: &str) -> bool {
        property == "hs_object_id" || unique_properties(ty).any(|p| p == property)
    }

    /// The record that already holds one of `values`' unique values, other than `except`.
    pub(crate) fn unique_clash(
        &self,
        ty: ObjectType,
        values: &[(String, String)],
        except: Option<u64>,
    ) -> Option<WriteError> {
        let os = self.object(ty);
        for property in unique_properties(ty) {
            let Some((_, v)) = values.iter().find(|(k, _)| k == property) else {
                continue;
            };
            if v.is_empty() {
                continue;
            }
            if let Some(&existing) = os
                .unique
                .get(property)
                .and_then(|m| m.get(&unique_key(property, v)))
            {
                if Some(existing) != except {
                    return Some(WriteError::Conflict { existing, property });
                }
            }
        }
        None
    }

    /// Creates a live record. `values` were validated; `""` values are skipped.
    pub(crate) fn insert(
        &mut self,
        ty: ObjectType,
        values: &[(String, String)],
        company: Option<u64>,
        created_ms: i64,
        updated_ms: i64,
    ) -> Result<u64, WriteError> {
        if let Some(err) = self.unique_clash(ty, values, None) {
            return Err(err);
        }
        let (values, company_write) = split_company(ty, values);
        let company = company_write.unwrap_or(company);
        let id = self.next_id;
        self.next_id += 1;
        let props: BTreeMap<String, String> =
            values.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        let company = company.filter(|c| self.object(ObjectType::Companies).live.contains_key(c));
        let record = Record {
            id,
            props,
            created_ms,
            updated_ms,
            archived_ms: None,
            company,
        };
        self.index(ty, &record);
        self.objects[ty.index()].live.insert(id, record);
        Ok(id)
    }

    /// Writes `values` to a live record and bumps its modification time, even when nothing
    /// changes (HubSpot does the same).
    pub(crate) fn update(
        &mut self,
        ty: ObjectType,
        id: u64,
        values: &[(String, String)],
        now_ms: i64,
    ) -> Result<(), WriteError> {
        if !self.object(ty).live.contains_key(&id) {
            return Err(WriteError::NotFound);
        }
        if let Some(err) = self.unique_clash(ty, values, Some(id)) {
            return Err(err);
        }
        let Some(mut record) = self.objects[ty.index()].live.remove(&id) else {
            return Err(WriteError::NotFound);
        };
        self.unindex(ty, &record);
        let (values, company) = split_company(ty, values);
        for (k, v) in values {
            if v.is_empty() {
                record.props.remove(&k);
            } else {
                record.props.insert(k, v);
            }
        }
        record.updated_ms = now_ms.max(record.created_ms);
        self.index(ty, &record);
        self.objects[ty.index()].live.insert(id, record);
        if let Some(company) = company {
            self.set_company(ty, id, company);
        }
        Ok(())
    }

    /// Sets (or clears) the company a contact or deal is associated with.
    pub(crate) fn set_company(&mut self, ty: ObjectType, id: u64, company: Option<u64>) {
        let company = company.filter(|c| self.object(ObjectType::Companies).live.contains_key(c));
        let Some(record) = self.objects[ty.index()].live.get(&id) else {
            return;
        };
        let old = record.company;
        if let Some(map) = self.members_mut(ty) {
            if let Some(c) = old {
                if let Some(set) = map.get_mut(&c) {
                    set.remove(&id);
                }
            }
            if let Some(c) = company {
                map.entry(c).or_default().insert(id);
            }
        }
        if let Some(record) = self.objects[ty.index()].live.get_mut(&id) {
            record.company = company;
        }
    }

    /// Archives a live record; false when there is none.
    pub(crate) fn archive(&mut self, ty: ObjectType, id: u64, now_ms: i64) -> bool {
        let Some(mut record) = self.objects[ty.index()].live.remove(&id) else {
            return false;
        };
        self.unindex(ty, &record);
        record.archived_ms = Some(now_ms);
        record.updated_ms = now_ms.max(record.updated_ms);
        self.objects[ty.index()].archived.insert(id, record);
        true
    }

    /// Forces `updatedAt` on the given records (tests of equal timestamps).
    pub(crate) fn set_updated(&mut self, ty: ObjectType, id: u64, ms: i64) -> bool {
        let os = &mut self.objects[ty.index()];
        match os.live.get_mut(&id).or_else(|| os.archived.get_mut(&id)) {
            Some(record) => {
                record.updated_ms = ms;
                true
            }
            None => false,
        }
    }

    fn index(&mut self, ty: ObjectType, record: &Record) {
        for property in unique_properties(ty) {
            if let Some(v) = record.props.get(property) {
                self.objects[ty.index()]
                    .unique
                    .entry(property)
                    .or_default()
                    .insert(unique_key(property, v), record.id);
            }
        }
        if let (Some(c), Some(map)) = (record.company, self.members_mut(ty)) {
            map.entry(c).or_default().insert(record.id);
        }
    }

    fn unindex(&mut self, ty: ObjectType, record: &Record) {
        for property in unique_properties(ty) {
            if let Some(v) = record.props.get(property) {
                if let Some(m) = self.objects[ty.index()].unique.get_mut(property) {
                    let key = unique_key(property, v);
                    if m.get(&key) == Some(&record.id) {
                        m.remove(&key);
                    }
                }
            }
        }
        if let (Some(c), Some(map)) = (record.company, self.members_mut(ty)) {
            if let Some(set) = map.get_mut(&c) {
                set.remove(&record.id);
            }
        }
    }
}

pub(crate) fn unique_key(property: &str, value: &str) -> String {
    if property == "email" {
        value.trim().to_lowercase()
    } else {
        value.to_string()
    }
}

/// Checks a write's `properties` against the schema and normalizes the values: unknown
/// names are a 400 `PROPERTY_DOESNT_EXIST`; read-only ones are dropped; enumeration, number,
/// date-time and email values are validated; `null` clears. Returns `(name, value)` pairs,
/// `""` meaning "clear".
pub(crate) fn validate_properties(
    ty: ObjectType,
    input: &serde_json::Map<String, Value>,
) -> Result<Vec<(String, String)>, ApiError> {
    let mut unknown = Vec::new();
    let mut problems = Vec::new();
    let mut out = Vec::with_capacity(input.len());
    for (name, raw) in input {
        let Some(def) = ty.property(name) else {
            unknown.push(name.clone());
            continue;
        };
        if def.read_only {
            continue;
        }
        let value = match raw {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        if value.is_empty() {
            out.push((name.clone(), value));
            continue;
        }
        let problem = |code: &'static str, message: String| ValueProblem {
            property: name.clone(),
            code,
            message,
        };
        let normalized = match def.kind {
            Kind::Enumeration => {
                if def.options.iter().any(|(v, _)| *v == value) {
                    value
                } else {
                    let allowed: Vec<&str> = def.options.iter().map(|(v, _)| *v).collect();
                    problems.push(problem(
                        "INVALID_OPTION",
                        format!(
                            "{value} was not one of the allowed options: [{}]",
                            allowed.join(", ")
                        ),
                    ));
                    continue;
                }
            }
            Kind::Number => {
                if value.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                    value.trim().to_string()
                } else {
                    problems.push(problem(
                        "INVALID_DECIMAL",
                        format!("{value} is not a valid number"),
                    ));
                    continue;
                }
            }
            Kind::DateTime => match time::parse_instant(&value) {
                Some(ms) => time::iso(ms),
                None => {
                    problems.push(problem(
                        "INVALID_DATE",
                        format!("{value} is not a valid date; use epoch milliseconds or ISO-8601"),
                    ));
                    continue;
                }
            },
            Kind::Text if name == "email" => {
                let email = value.trim().to_lowercase();
                if is_plausible_email(&email) {
                    email
                } else {
                    problems.push(problem(
                        "INVALID_EMAIL",
                        format!("Email address {value} is invalid"),
                    ));
                    continue;
                }
            }
            Kind::Text | Kind::Phone => value,
        };
        out.push((name.clone(), normalized));
    }
    if !unknown.is_empty() {
        return Err(ApiError::property_doesnt_exist(&unknown));
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_values(&problems));
    }
    Ok(out)
}

fn is_plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
}
