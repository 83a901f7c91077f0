//! Dialer call dispositions mapped to each CRM's activity fields: the "Disposition
//! Mapping" of the integration guide, shipped as overlay files a tenant copies and edits.
//!
//! | disposition | Salesforce Task `CallDisposition` / `Status` / `TaskSubtype` | HubSpot call `hs_call_status` / `hs_call_disposition` |
//! | --- | --- | --- |
//! | `Connected` | `Connected` / `Completed` / `Call` | `COMPLETED` / `connected` |
//! | `No Answer` | `No Answer` / `Completed` / `Call` | `COMPLETED` / `no-answer` |
//! | `Voicemail` | `Left Voicemail` / `Completed` / `Call` | `COMPLETED` / `left-voicemail` |
//! | `Meeting Booked` | `Meeting Booked` / `Completed` / `Call` | `COMPLETED` / `connected` |
//! | `Not Interested` | `Not Interested` / `Completed` / `Call` | `COMPLETED` / `connected` |
//! | `DNC` | `Do Not Call` / `Completed` / `Call` | `COMPLETED` / `connected` |
//!
//! Each is a `picklist_map` rule with several remote fields. HubSpot's table sends
//! several dispositions to one outcome, so it works outbound only; Salesforce's also
//! reads `CallDisposition` back. An unlisted disposition fails the activity, naming the
//! rule, rather than writing a value the CRM does not expect.
//!
//! ```
//! use crmsync_core::{ConnectionId, FieldMapper, Fields, MapContext, ObjectKind, TenantId};
//! use crmsync_transform::{DeclarativeMapper, MappingConfig, dispositions};
//! use serde_json::json;
//!
//! let config = MappingConfig::salesforce_defaults().overlay(&dispositions::salesforce())?;
//! let mapper = DeclarativeMapper::new(config)?;
//! let (tenant, connection) = (TenantId::new("acme"), ConnectionId::new("sf"));
//! let ctx = MapContext { tenant: &tenant, connection: &connection,
//!                        object: &ObjectKind::Activity, skip_validation: false };
//! let mut call = Fields::new();
//! call.insert("disposition".into(), json!("Voicemail"));
//! let task = mapper.to_remote(&ctx, "call-1", &call).map_err(|f| f.errors.into_iter().next())
//!     .ok().unwrap_or_default();
//! assert_eq!(task["CallDisposition"], json!("Left Voicemail"));
//! assert_eq!(task["Status"], json!("Completed"));
//! assert_eq!(task["TaskSubtype"], json!("Call"));
//! # Ok::<(), crmsync_core::Error>(())
//! ```

use serde_json::{Value, json};

use crate::MappingOverlay;

/// The dispositions a dialer records, as the guide names them.
pub const DIALER_DISPOSITIONS: [&str; 6] = [
    "Connected",
    "No Answer",
    "Voicemail",
    "Meeting Booked",
    "Not Interested",
    "DNC",
];

/// `configs/salesforce-dispositions.toml`: an overlay on
/// [`MappingConfig::salesforce_defaults`](crate::MappingConfig::salesforce_defaults).
pub const SALESFORCE_TOML: &str = include_str!("../../configs/salesforce-dispositions.toml");

/// `configs/hubspot-dispositions.toml`: an overlay on
/// [`MappingConfig::hubspot_defaults`](crate::MappingConfig::hubspot_defaults).
pub const HUBSPOT_TOML: &str = include_str!("../../configs/hubspot-dispositions.toml");

/// [`SALESFORCE_TOML`], parsed.
///
/// # Panics
/// Never: the shipped file parses (a test proves it).
pub fn salesforce() -> MappingOverlay {
    parse(SALESFORCE_TOML, "configs/salesforce-dispositions.toml")
}

/// [`HUBSPOT_TOML`], parsed.
///
/// # Panics
/// Never: the shipped file parses (a test proves it).
pub fn hubspot() -> MappingOverlay {
    parse(HUBSPOT_TOML, "configs/hubspot-dispositions.toml")
}

fn parse(text: &str, name: &str) -> MappingOverlay {
    let mut overlay = MappingOverlay::from_toml_str(text)
        .unwrap_or_else(|err| panic!("the shipped {name} does not parse: {err}"));
    overlay.source = Some(name.to_owned());
    overlay
}

/// Dispositions ⇄ Salesforce `CallDisposition` values, for the default Task rule.
pub(crate) fn salesforce_call_dispositions() -> Value {
    json!({
        "Connected": "Connected",
        "No Answer": "No Answer",
        "Voicemail": "Left Voicemail",
        "Meeting Booked": "Meeting Booked",
        "Not Interested": "Not Interested",
        "DNC": "Do Not Call",
    })
}

#[cfg(test)]
#[path = "dispositions_tests.rs"]
mod tests;
