//! Entry points into the provider's decoding of Salesforce's wire formats, for the fuzz
//! targets (`fuzz/`) and the benches. Hidden from the docs: not a stable API.

use crmsync_core::{Cursor, Error, ErrorKind, ObjectKind, Record, Result};

use crate::{changes::SfCursor, core::QueryPage, objects::to_record};

/// Decodes a `query` / `queryAll` page body (`{"totalSize", "done", "records": [...]}`)
/// into records, as the change feed does, keeping the `requested` system fields; a body
/// of another shape is an [`ErrorKind::Decode`] error.
pub fn decode_query_page(
    object: &ObjectKind,
    body: &[u8],
    requested: &[String],
) -> Result<Vec<Record>> {
    let page: QueryPage = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("response does not match the expected shape: {e}"),
        )
    })?;
    page.records
        .into_iter()
        .map(|raw| to_record(object, raw, requested))
        .collect()
}

/// The change-feed cursor, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorState(SfCursor);

impl CursorState {
    /// Decodes a cursor the change feed handed out.
    pub fn decode(cursor: &Cursor) -> Result<Self> {
        SfCursor::decode(cursor).map(Self)
    }

    /// Encodes it back.
    pub fn encode(&self) -> Cursor {
        self.0.encode()
    }
}
