//! Mapping a realistic 25-field HubSpot contact to canonical and back, with phone
//! numbers, dates, a picklist and validations: the per-record cost of the mapping step.
//!
//! `cargo bench -p crmsync-transform --bench mapping` (add `-- --quick` for a short run).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use crmsync_core::{ConnectionId, FieldMapper, Fields, MapContext, ObjectKind, Record, TenantId};
use crmsync_transform::{
    DeclarativeMapper, MappingConfig, MappingOverlay, Transform, TransformEnv,
    transforms::PhoneE164,
};
use serde_json::json;

/// HubSpot's contact defaults (12 rules, `lead_status` made a picklist) and 13 more
/// standard properties.
const OVERLAY: &str = r#"
[[objects.contact.fields]]
local = "lead_status"
remote = "hs_lead_status"
[objects.contact.fields.transform]
name = "picklist_map"
unmapped = "pass_through"
map = { new = "NEW", open = "OPEN", in_progress = "IN_PROGRESS", open_deal = "OPEN_DEAL", unqualified = "UNQUALIFIED", attempted = "ATTEMPTED_TO_CONTACT", connected = "CONNECTED", bad_timing = "BAD_TIMING" }

[[objects.contact.fields]]
local = "state"
remote = "state"

[[objects.contact.fields]]
local = "zip"
remote = "zip"
transform = "trim"

[[objects.contact.fields]]
local = "address"
remote = "address"

[[objects.contact.fields]]
local = "website"
remote = "website"
transform = "trim"
validations = [{ rule = "url" }]

[[objects.contact.fields]]
local = "industry"
remote = "industry"

[[objects.contact.fields]]
local = "annual_revenue"
remote = "annualrevenue"
transform = "decimal"

[[objects.contact.fields]]
local = "employees"
remote = "numemployees"
transform = "integer"
validations = [{ rule = "range", min = 0 }]

[[objects.contact.fields]]
local = "created_at"
remote = "createdate"
direction = "inbound"
transform = "datetime_iso"

[[objects.contact.fields]]
local = "updated_at"
remote = "lastmodifieddate"
direction = "inbound"
transform = "datetime_iso"

[[objects.contact.fields]]
local = "email_opt_out"
remote = "hs_email_optout"
transform = "boolean"

[[objects.contact.fields]]
local = "salutation"
remote = "salutation"
validations = [{ rule = "length", max = 20 }]

[[objects.contact.fields]]
local = "language"
remote = "hs_language"

[[objects.contact.fields]]
local = "birth_date"
remote = "date_of_birth"
transform = "date_iso"
"#;

fn mapper() -> DeclarativeMapper {
    let config = MappingOverlay::from_toml_str(OVERLAY)
        .and_then(|overlay| MappingConfig::hubspot_defaults().overlay(&overlay))
        .and_then(DeclarativeMapper::new);
    match config {
        Ok(mapper) => mapper,
        Err(err) => panic!("{err}"),
    }
}

/// A contact as HubSpot's search API returns it: 25 mapped properties and a few others.
fn contact() -> Record {
    let properties: Fields = [
        ("firstname", json!("Ada")),
        ("lastname", json!("Lovelace")),
        ("email", json!(" Ada.Lovelace@Analytical-Engines.CO.UK ")),
        ("phone", json!("(650) 253-0000")),
        ("mobilephone", json!("+44 7400 123456")),
        ("company", json!("Analytical Engines Ltd")),
        ("jobtitle", json!("Head of Research")),
        ("hs_lead_status", json!("IN_PROGRESS")),
        ("lifecyclestage", json!("salesqualifiedlead")),
        ("city", json!("London")),
        ("country", json!("United Kingdom")),
        ("hubspot_owner_id", json!("83736152")),
        ("state", json!("Greater London")),
        ("zip", json!(" EC1A 1BB ")),
        ("address", json!("12 St Martin's Le Grand")),
        ("website", json!("https://analytical-engines.co.uk")),
        ("industry", json!("COMPUTER_SOFTWARE")),
        ("annualrevenue", json!("1250000.50")),
        ("numemployees", json!("250")),
        ("createdate", json!("2024-04-02T09:12:44.512Z")),
        ("lastmodifieddate", json!("2024-05-01T10:00:00.000Z")),
        ("hs_email_optout", json!("false")),
        ("salutation", json!("Countess")),
        ("date_of_birth", json!("1815-12-10")),
        ("hs_language", json!("en-gb")),
        ("hs_object_id", json!("101")),
        ("notes_last_updated", json!(null)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Record::new("101", ObjectKind::Contact, properties)
}

fn mapping(c: &mut Criterion) {
    let mapper = mapper();
    let (tenant, connection) = (TenantId::new("acme"), ConnectionId::new("hubspot"));
    let ctx = MapContext {
        tenant: &tenant,
        connection: &connection,
        object: &ObjectKind::Contact,
        skip_validation: false,
    };
    let record = contact();
    let canonical = match mapper.to_canonical(&ctx, &record) {
        Ok(c) => c.fields,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(canonical.len(), 25, "{canonical:?}");
    if let Err(e) = mapper.to_remote(&ctx, "101", &canonical) {
        panic!("{e}");
    }

    c.bench_function("hubspot_contact_25_fields/to_canonical", |b| {
        b.iter(|| mapper.to_canonical(black_box(&ctx), black_box(&record)))
    });
    c.bench_function("hubspot_contact_25_fields/to_remote", |b| {
        b.iter(|| mapper.to_remote(black_box(&ctx), "101", black_box(&canonical)))
    });
}

/// The phone transform, the costliest per field: E.164 text, a national number in the
/// default region, and one read after the record's country failed.
fn phones(c: &mut Criterion) {
    let Ok(us) = TransformEnv::new("US") else {
        return;
    };
    let gb = us.with_country("United Kingdom");
    for (name, value, env) in [
        ("e164", json!("+44 7400 123456"), &us),
        ("national", json!("(650) 253-0000"), &us),
        ("national_abroad", json!("(650) 253-0000"), &gb),
    ] {
        c.bench_function(&format!("phone_e164/{name}"), |b| {
            b.iter(|| PhoneE164.inbound(black_box(&value), black_box(env)))
        });
    }
}

criterion_group!(benches, mapping, phones);
criterion_main!(benches);
