//! Webhook payloads: the Zapier REST-hook event (`RecordEvent`, read back from JSON for
//! dead-letter replays) decodes from any JSON without panicking, and once decoded
//! re-encodes stably. (crmsync has no inbound HubSpot webhook decoder yet; when one
//! lands, its batch JSON and v3 signature check belong here too.)

#![no_main]

use crmsync_zapier::RecordEvent;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(event) = RecordEvent::from_json(&value) else {
        return;
    };
    let _ = (event.event_id(), event.event_name());
    // The first encoding may drop sub-microsecond precision; after it, it is stable.
    let normalized = RecordEvent::from_json(&event.to_json())
        .unwrap_or_else(|| panic!("an event does not read back: {event:?}"));
    assert_eq!(
        RecordEvent::from_json(&normalized.to_json()).as_ref(),
        Some(&normalized),
        "an event does not round-trip"
    );
});
