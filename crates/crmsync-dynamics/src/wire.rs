//! Entry points into the provider's decoding of Dataverse's wire formats, for the fuzz
//! targets (`fuzz/`). Hidden from the docs: not a stable API.

use crmsync_core::{Error, ErrorKind, ObjectKind, Record, Result};
use serde_json::Value;

use crate::{
    changes::{ODataPage, is_tombstone},
    tables::{standard, to_record},
};

/// Decodes a Web API page body (`{"value": [...], "@odata.nextLink": ...}`) of a standard
/// entity set (`contacts`, `accounts`, ...) into records, as the delta feed does
/// (`$deletedEntity` tombstones become deleted records); a body of another shape is an
/// [`ErrorKind::Decode`] error.
pub fn decode_page(entity_set: &str, body: &[u8], requested: &[String]) -> Result<Vec<Record>> {
    let table = standard(entity_set).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidRequest,
            format!("{entity_set:?} is not a standard entity set"),
        )
    })?;
    let object = ObjectKind::parse(&table.logical);
    let page: ODataPage = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("response does not match the expected shape: {e}"),
        )
    })?;
    let mut records = Vec::with_capacity(page.value.len());
    for item in page.value {
        if is_tombstone(&item, &table) {
            if let Some(id) = item.get("id").and_then(Value::as_str) {
                let mut record =
                    Record::new(id.to_ascii_lowercase(), object.clone(), Default::default());
                record.deleted = true;
                records.push(record);
            }
        } else {
            records.push(to_record(&object, &table, item, requested)?);
        }
    }
    Ok(records)
}
