//! Provider response decoding: any body a CRM (or something pretending to be one)
//! answers with — a HubSpot list/search page, a Salesforce query page, a Dataverse page —
//! decodes to records or to a typed `Decode` error, never a panic. Any text stored as a
//! change-feed cursor decodes to a cursor that re-encodes stably, or to an error.

#![no_main]

use crmsync_core::{Cursor, ErrorKind, ObjectKind, Result};
use libfuzzer_sys::fuzz_target;

fn check_page<T>(decoded: Result<Vec<T>>) {
    if let Err(e) = decoded {
        assert!(
            matches!(e.kind(), ErrorKind::Decode),
            "a bad page is not a decode error: {e}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let requested = ["Id".to_owned(), "SystemModstamp".to_owned()];
    for object in [ObjectKind::Contact, ObjectKind::Company] {
        check_page(crmsync_hubspot::wire::decode_page(&object, data));
        check_page(crmsync_salesforce::wire::decode_query_page(
            &object, data, &requested,
        ));
    }
    for set in ["contacts", "accounts"] {
        check_page(crmsync_dynamics::wire::decode_page(set, data, &[]));
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let cursor = Cursor::new(text);
    if let Ok(state) = crmsync_hubspot::wire::CursorState::decode(&cursor) {
        let again = crmsync_hubspot::wire::CursorState::decode(&state.encode());
        assert_eq!(
            again.ok(),
            Some(state),
            "a HubSpot cursor does not round-trip"
        );
    }
    if let Ok(state) = crmsync_salesforce::wire::CursorState::decode(&cursor) {
        let again = crmsync_salesforce::wire::CursorState::decode(&state.encode());
        assert_eq!(
            again.ok(),
            Some(state),
            "a Salesforce cursor does not round-trip"
        );
    }
});
