//! Records as HubSpot serializes them (`SimplePublicObject[WithAssociations]`), written
//! straight from the store without intermediate copies.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::json;

use crate::hubspot::schema::ObjectType;
use crate::hubspot::store::{Record, Store};
use crate::hubspot::time;

/// Which properties a response carries.
#[derive(Debug, Clone)]
pub(crate) struct Selection(Vec<String>);

impl Selection {
    /// The requested names, or the object's defaults when none are; HubSpot always adds
    /// `hs_object_id`, `createdate` and the last-modified property.
    pub(crate) fn new(ty: ObjectType, requested: &[String]) -> Self {
        let mut names: Vec<String> = if requested.is_empty() {
            ty.default_properties()
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            requested.to_vec()
        };
        for always in ["hs_object_id", "createdate", ty.last_modified_property()] {
            names.push(always.to_string());
        }
        names.sort();
        names.dedup();
        Self(names)
    }

    /// The defaults plus the properties a write named (what write endpoints echo).
    pub(crate) fn written<'a>(ty: ObjectType, names: impl Iterator<Item = &'a str>) -> Self {
        let mut all: Vec<String> = ty
            .default_properties()
            .iter()
            .map(|s| s.to_string())
            .collect();
        all.extend(names.map(str::to_string));
        Self::new(ty, &all)
    }
}

/// One record, ready to serialize.
pub(crate) struct RecordView<'a> {
    pub ty: ObjectType,
    pub record: &'a Record,
    pub props: &'a Selection,
    pub history: &'a [String],
    pub assoc: &'a [ObjectType],
    pub store: &'a Store,
    pub new: Option<bool>,
    pub trace: Option<&'a str>,
}

impl<'a> RecordView<'a> {
    pub(crate) fn plain(
        ty: ObjectType,
        record: &'a Record,
        props: &'a Selection,
        store: &'a Store,
    ) -> Self {
        Self {
            ty,
            record,
            props,
            history: &[],
            assoc: &[],
            store,
            new: None,
            trace: None,
        }
    }
}

struct Props<'a>(&'a RecordView<'a>);

impl Serialize for Props<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let view = self.0;
        let mut map = s.serialize_map(None)?;
        for name in &view.props.0 {
            if let Some(value) = view.record.value(view.ty, name) {
                map.serialize_entry(name, &value)?;
            }
        }
        map.end()
    }
}

struct History<'a>(&'a RecordView<'a>);

impl Serialize for History<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let view = self.0;
        let mut map = s.serialize_map(None)?;
        for name in view.history {
            // Only the current value is kept, stamped with the record's last change.
            let entries = match view.record.value(view.ty, name) {
                Some(value) => vec![json!({
                    "value": value,
                    "timestamp": time::iso(view.record.updated_ms),
                    "sourceType": "API",
                    "sourceId": "crmsync-sim",
                })],
                None => Vec::new(),
            };
            map.serialize_entry(name, &entries)?;
        }
        map.end()
    }
}

/// Associated ids of `record` with `target` records, as HubSpot's association types name them.
fn associated(view: &RecordView<'_>, target: ObjectType) -> Vec<u64> {
    match (view.ty, target) {
        (ObjectType::Contacts | ObjectType::Deals, ObjectType::Companies) => {
            view.record.company.into_iter().collect()
        }
        (ObjectType::Companies, ObjectType::Contacts | ObjectType::Deals) => view
            .store
            .company_members(view.record.id, target)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.record;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &r.id.to_string())?;
        map.serialize_entry("properties", &Props(self))?;
        if !self.history.is_empty() {
            map.serialize_entry("propertiesWithHistory", &History(self))?;
        }
        map.serialize_entry("createdAt", &time::iso(r.created_ms))?;
        map.serialize_entry("updatedAt", &time::iso(r.updated_ms))?;
        map.serialize_entry("archived", &r.archived_ms.is_some())?;
        if let Some(at) = r.archived_ms {
            map.serialize_entry("archivedAt", &time::iso(at))?;
        }
        if !self.assoc.is_empty() {
            let mut out = serde_json::Map::new();
            for target in self.assoc {
                let ids = associated(self, *target);
                if ids.is_empty() {
                    continue;
                }
                let kind = format!("{}_to_{}", self.ty.singular(), target.singular());
                let results: Vec<_> = ids
                    .iter()
                    .map(|id| json!({"id": id.to_string(), "type": kind}))
                    .collect();
                out.insert(target.plural().to_string(), json!({"results": results}));
            }
            if !out.is_empty() {
                map.serialize_entry("associations", &out)?;
            }
        }
        if let Some(new) = self.new {
            map.serialize_entry("new", &new)?;
        }
        if let Some(trace) = self.trace {
            map.serialize_entry("objectWriteTraceId", trace)?;
        }
        map.end()
    }
}

/// Resolves `associations=` names to the object types the simulator can associate.
pub(crate) fn association_targets(names: &[String]) -> Vec<ObjectType> {
    let mut out: Vec<ObjectType> = names.iter().filter_map(|n| ObjectType::parse(n)).collect();
    out.sort();
    out.dedup();
    out
}
