//! Entry points into the provider's decoding of HubSpot's wire formats, for the fuzz
//! targets (`fuzz/`) and the benches. Hidden from the docs: not a stable API.

use crmsync_core::{Cursor, Error, ErrorKind, ObjectKind, Record, Result};

use crate::{changes::HsCursor, core::HsPage, objects::to_record};

/// Decodes a list or search page body (`{"results": [...], "paging": ...}`) into records,
/// as the change feed does; a body of another shape is an [`ErrorKind::Decode`] error.
pub fn decode_page(object: &ObjectKind, body: &[u8]) -> Result<Vec<Record>> {
    let page: HsPage = serde_json::from_slice(body).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!("response does not match the expected shape: {e}"),
        )
    })?;
    Ok(page
        .results
        .into_iter()
        .map(|hs| to_record(object, hs))
        .collect())
}

/// The change-feed cursor, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorState(HsCursor);

impl CursorState {
    /// Decodes a cursor the change feed handed out.
    pub fn decode(cursor: &Cursor) -> Result<Self> {
        HsCursor::decode(cursor).map(Self)
    }

    /// Encodes it back.
    pub fn encode(&self) -> Cursor {
        self.0.encode()
    }
}
