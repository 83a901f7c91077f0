//! Records on the wire: the REST JSON shape (`attributes` first, then the selected fields,
//! relationship fields as nested records) and Bulk API CSV rows.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::schema::{self, ObjectKind};
use super::soql::Column;
use super::soql::eval::Selected;
use super::store::{Record, Store};
use super::values::JsonVal;

/// Every field of an object, in schema order: what `GET /sobjects/{T}/{id}` returns.
pub(crate) fn all_columns(kind: ObjectKind) -> Vec<Selected> {
    schema::def(kind)
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| Selected {
            label: f.name.to_string(),
            column: Column::Field(i),
        })
        .collect()
}

/// `{"type": …, "url": "/services/data/vXX.X/sobjects/{type}/{id}"}`.
struct Attributes<'a> {
    object: &'static str,
    id: &'a str,
    version: &'a str,
}

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("type", self.object)?;
        map.serialize_entry(
            "url",
            &format!(
                "/services/data/v{}/sobjects/{}/{}",
                self.version, self.object, self.id
            ),
        )?;
        map.end()
    }
}

/// One record as the REST API renders it.
pub(crate) struct RowJson<'a> {
    pub store: &'a Store,
    pub kind: ObjectKind,
    pub record: &'a Record,
    pub columns: &'a [Selected],
    pub version: &'a str,
}

impl Serialize for RowJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(
            "attributes",
            &Attributes {
                object: schema::def(self.kind).name,
                id: self.record.id(),
                version: self.version,
            },
        )?;
        let mut done: Vec<&str> = Vec::new();
        for selected in self.columns {
            match &selected.column {
                Column::Field(i) => {
                    let name = schema::def(self.kind).fields.get(*i).map_or("", |f| f.name);
                    map.serialize_entry(name, &JsonVal(self.record.get(*i)))?;
                }
                Column::Related { relationship, .. } => {
                    if done.contains(relationship) {
                        continue;
                    }
                    done.push(relationship);
                    let related = RelatedJson {
                        parent: self,
                        relationship,
                    };
                    map.serialize_entry(relationship, &related)?;
                }
            }
        }
        map.end()
    }
}

/// The nested record of a relationship (`"Account": {"attributes": …, "Name": …}`), or
/// null when the reference is empty.
struct RelatedJson<'a, 'b> {
    parent: &'b RowJson<'a>,
    relationship: &'static str,
}

impl Serialize for RelatedJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.parent;
        let mut columns = p.columns.iter().filter(|c| {
            matches!(&c.column, Column::Related { relationship, .. } if *relationship == self.relationship)
        });
        let Some(first) = columns.next() else {
            return s.serialize_none();
        };
        let Some((kind, target)) = first.column.target(p.store, p.record) else {
            return s.serialize_none();
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry(
            "attributes",
            &Attributes {
                object: schema::def(kind).name,
                id: target.id(),
                version: p.version,
            },
        )?;
        for c in std::iter::once(first).chain(columns) {
            if let Column::Related { name, .. } = &c.column {
                map.serialize_entry(name, &JsonVal(c.column.value(p.store, p.record)))?;
            }
        }
        map.end()
    }
}

/// One record as Bulk API CSV cells, in column order.
pub(crate) fn csv_row(store: &Store, record: &Record, columns: &[Selected]) -> Vec<String> {
    columns
        .iter()
        .map(|c| c.column.value(store, record).to_csv())
        .collect()
}
