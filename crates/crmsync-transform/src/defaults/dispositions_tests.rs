use super::*;
use crate::{DeclarativeMapper, FieldDirection, MappingConfig, RuleOverlay};
use crmsync_core::{
    ConnectionId, ErrorKind, FieldMapper, Fields, MapContext, MappingFailure, ObjectKind, Record,
    TenantId,
};

fn with_ctx<T>(f: impl FnOnce(&MapContext<'_>) -> T) -> T {
    let tenant = TenantId::new("acme");
    let connection = ConnectionId::new("crm");
    f(&MapContext {
        tenant: &tenant,
        connection: &connection,
        object: &ObjectKind::Activity,
        skip_validation: false,
    })
}

fn mapper(config: crmsync_core::Result<MappingConfig>) -> DeclarativeMapper {
    match config.and_then(DeclarativeMapper::new) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn call(disposition: &str) -> Fields {
    [
        ("disposition".to_owned(), json!(disposition)),
        ("subject".to_owned(), json!(format!("Call - {disposition}"))),
    ]
    .into()
}

fn ok<T>(result: Result<T, MappingFailure>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_shipped_files_parse_as_overlays() {
    for overlay in [salesforce(), hubspot()] {
        let activity = &overlay.objects["activity"];
        let rule = activity.fields.iter().find_map(|r| match r {
            RuleOverlay::Set(rule) if rule.local == "disposition" => Some(rule),
            _ => None,
        });
        assert!(
            rule.is_some_and(|r| r.direction == FieldDirection::Outbound && r.remote.len() > 1)
        );
        assert!(overlay.source.is_some());
    }
}

#[test]
fn every_dialer_disposition_becomes_salesforce_task_fields() {
    let mapper = mapper(MappingConfig::salesforce_defaults().overlay(&salesforce()));
    for (disposition, call_disposition) in [
        ("Connected", "Connected"),
        ("No Answer", "No Answer"),
        ("Voicemail", "Left Voicemail"),
        ("Meeting Booked", "Meeting Booked"),
        ("Not Interested", "Not Interested"),
        ("DNC", "Do Not Call"),
    ] {
        let task = ok(with_ctx(|ctx| {
            mapper.to_remote(ctx, "call-1", &call(disposition))
        }));
        assert_eq!(
            task["CallDisposition"],
            json!(call_disposition),
            "{disposition}"
        );
        assert_eq!(task["Status"], json!("Completed"));
        assert_eq!(task["TaskSubtype"], json!("Call"));
        assert_eq!(task["Subject"], json!(format!("Call - {disposition}")));

        // A Task read back gives the dialer's disposition again.
        let record = Record::new("00T", ObjectKind::Activity, task);
        let canonical = ok(with_ctx(|ctx| mapper.to_canonical(ctx, &record)));
        assert_eq!(canonical.fields["disposition"], json!(disposition));
        assert_eq!(canonical.fields["status"], json!("Completed"));
    }
    assert_eq!(DIALER_DISPOSITIONS.len(), 6);
}

#[test]
fn every_dialer_disposition_becomes_hubspot_call_properties() {
    let mapper = mapper(MappingConfig::hubspot_defaults().overlay(&hubspot()));
    for (disposition, outcome) in [
        ("Connected", "connected"),
        ("No Answer", "no-answer"),
        ("Voicemail", "left-voicemail"),
        ("Meeting Booked", "connected"),
        ("Not Interested", "connected"),
        ("DNC", "connected"),
    ] {
        let properties = ok(with_ctx(|ctx| {
            mapper.to_remote(ctx, "call-1", &call(disposition))
        }));
        assert_eq!(
            properties["hs_call_status"],
            json!("COMPLETED"),
            "{disposition}"
        );
        assert_eq!(
            properties["hs_call_disposition"],
            json!(outcome),
            "{disposition}"
        );
    }
    // HubSpot's outcomes are written, never read back into the dialer's dispositions.
    let record = Record::new(
        "1",
        ObjectKind::Activity,
        [("hs_call_disposition".to_owned(), json!("connected"))].into(),
    );
    let canonical = ok(with_ctx(|ctx| mapper.to_canonical(ctx, &record)));
    assert!(!canonical.fields.contains_key("disposition"));
}

#[test]
fn an_unlisted_disposition_fails_the_activity_naming_the_rule() {
    let mapper = mapper(MappingConfig::salesforce_defaults().overlay(&salesforce()));
    let failure = with_ctx(|ctx| mapper.to_remote(ctx, "call-9", &call("Gatekeeper"))).err();
    let first = failure.as_ref().and_then(MappingFailure::first);
    assert_eq!(first.map(|e| e.kind()), Some(ErrorKind::Validation));
    assert_eq!(
        first.and_then(|e| e.context().field.clone()),
        Some("disposition".into())
    );
    assert_eq!(
        first.and_then(|e| e.context().rule.clone()),
        Some("picklist_map".into())
    );
}

#[test]
fn the_hubspot_table_cannot_be_made_bidirectional() {
    let text = HUBSPOT_TOML.replace(
        "remote = [\"hs_call_status\", \"hs_call_disposition\"]\ndirection = \"outbound\"",
        "remote = [\"hs_call_status\", \"hs_call_disposition\"]",
    );
    assert_ne!(text, HUBSPOT_TOML);
    let overlay = MappingOverlay::from_toml_str(&text);
    let result = overlay
        .and_then(|o| MappingConfig::hubspot_defaults().overlay(&o))
        .and_then(DeclarativeMapper::new);
    let text = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("object `activity` rule #"), "{text}");
    assert!(text.contains("not reversible"), "{text}");
    assert!(text.contains("set `direction = \"outbound\"`"), "{text}");
}
