use super::*;
use crmsync_core::{
    ConnectionId, ErrorKind, FieldMapper, Fields, MapContext, MappingFailure, ObjectKind, Record,
    TenantId,
};
use serde_json::Value;

fn with_ctx<T>(object: ObjectKind, f: impl FnOnce(&MapContext<'_>) -> T) -> T {
    let tenant = TenantId::new("acme");
    let connection = ConnectionId::new("salesforce-1");
    f(&MapContext {
        tenant: &tenant,
        connection: &connection,
        object: &object,
        skip_validation: false,
    })
}

fn fields(pairs: &[(&str, Value)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn ok<T>(result: Result<T, MappingFailure>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// Salesforce's standard fields, per object: the defaults touch nothing else.
const SALESFORCE_STANDARD: [(&str, &[&str]); 5] = [
    (
        "contact",
        &[
            "FirstName",
            "LastName",
            "Email",
            "Phone",
            "MobilePhone",
            "Title",
            "MailingCity",
            "MailingCountry",
            "LeadSource",
            "OwnerId",
        ],
    ),
    (
        "lead",
        &[
            "FirstName",
            "LastName",
            "Company",
            "Email",
            "Phone",
            "MobilePhone",
            "Title",
            "Status",
            "City",
            "Country",
            "OwnerId",
        ],
    ),
    (
        "company",
        &[
            "Name",
            "Phone",
            "Website",
            "BillingCity",
            "BillingCountry",
            "Industry",
            "NumberOfEmployees",
        ],
    ),
    ("deal", &["Name", "Amount", "StageName", "CloseDate"]),
    (
        "activity",
        &[
            "Subject",
            "Status",
            "CallDisposition",
            "CallDurationInSeconds",
            "CallType",
            "Description",
            "ActivityDate",
        ],
    ),
];

#[test]
fn defaults_only_touch_standard_salesforce_fields() {
    let config = MappingConfig::salesforce_defaults();
    assert_eq!(config.remote_values, RemoteValues::Typed);
    assert_eq!(config.objects.len(), 5);
    for (object, standard) in SALESFORCE_STANDARD {
        let remotes: Vec<&str> = config.objects[object]
            .fields
            .iter()
            .map(|r| r.remote.first())
            .collect();
        assert_eq!(remotes, standard, "{object}");
    }
    assert_eq!(config.objects["company"].remote.as_deref(), Some("Account"));
    assert_eq!(
        config.objects["deal"].remote.as_deref(),
        Some("Opportunity")
    );
    assert_eq!(config.objects["activity"].remote.as_deref(), Some("Task"));
}

#[test]
fn canonical_names_match_hubspots_where_the_concept_is_the_same() {
    let hubspot = MappingConfig::hubspot_defaults();
    let salesforce = MappingConfig::salesforce_defaults();
    let locals = |config: &MappingConfig, object: &str| -> Vec<String> {
        config.objects[object]
            .fields
            .iter()
            .flat_map(|r| r.local.to_vec())
            .collect()
    };
    for (object, shared) in [
        (
            "contact",
            &[
                "first_name",
                "last_name",
                "email",
                "phone",
                "mobile_phone",
                "title",
                "city",
                "country",
                "owner",
            ][..],
        ),
        (
            "company",
            &[
                "name",
                "domain",
                "phone",
                "city",
                "country",
                "industry",
                "employees",
            ][..],
        ),
        ("deal", &["name", "amount", "stage", "close_date"][..]),
        (
            "activity",
            &["subject", "notes", "call_duration", "call_direction"][..],
        ),
    ] {
        let (h, s) = (locals(&hubspot, object), locals(&salesforce, object));
        for name in shared {
            assert!(h.iter().any(|l| l == name), "hubspot {object} lacks {name}");
            assert!(
                s.iter().any(|l| l == name),
                "salesforce {object} lacks {name}"
            );
        }
    }
    // Lead status and company live on HubSpot's contact and on Salesforce's lead.
    let lead = locals(&salesforce, "lead");
    let contact = locals(&hubspot, "contact");
    for name in ["lead_status", "company"] {
        assert!(lead.iter().any(|l| l == name) && contact.iter().any(|l| l == name));
    }
}

#[test]
fn a_salesforce_contact_maps_both_ways_with_typed_values() {
    let mapper = DeclarativeMapper::salesforce_defaults();
    let record = Record::new(
        "003xx000004TmiQ",
        ObjectKind::Contact,
        fields(&[
            ("FirstName", json!("Ada")),
            ("LastName", json!("Lovelace")),
            ("Email", json!("Ada@Example.COM")),
            ("Phone", json!("0117 927 7000")),
            ("MobilePhone", Value::Null),
            ("MailingCountry", json!("United Kingdom")),
            ("LeadSource", json!("Web")),
            ("OwnerId", json!("005xx000001Sv1a")),
            ("attributes", json!({ "type": "Contact" })),
        ]),
    );
    let canonical = ok(with_ctx(ObjectKind::Contact, |ctx| {
        mapper.to_canonical(ctx, &record)
    }));
    assert_eq!(canonical.fields["phone"], json!("+441179277000"));
    assert_eq!(canonical.fields["email"], json!("ada@example.com"));
    assert_eq!(canonical.fields["owner"], json!("005xx000001Sv1a"));
    assert!(!canonical.fields.contains_key("mobile_phone"));
    let remote = ok(with_ctx(ObjectKind::Contact, |ctx| {
        mapper.to_remote(ctx, "003", &canonical.fields)
    }));
    assert!(!remote.contains_key("OwnerId"));
    assert_eq!(remote["MailingCountry"], json!("United Kingdom"));

    // LastName is required.
    let nameless = Record::new(
        "003",
        ObjectKind::Contact,
        fields(&[("FirstName", json!("A"))]),
    );
    let failure = with_ctx(ObjectKind::Contact, |ctx| {
        mapper.to_canonical(ctx, &nameless)
    })
    .err();
    let first = failure.as_ref().and_then(MappingFailure::first);
    assert_eq!(
        first.and_then(|e| e.context().rule.clone()),
        Some("required".into())
    );
    assert_eq!(
        first.and_then(|e| e.context().field.clone()),
        Some("last_name".into())
    );
}

#[test]
fn lead_statuses_map_through_the_picklist() {
    let mapper = DeclarativeMapper::salesforce_defaults();
    for (status, canonical) in [
        ("Open - Not Contacted", "NEW"),
        ("Working - Contacted", "IN_PROGRESS"),
        ("Closed - Converted", "OPEN_DEAL"),
        ("Closed - Not Converted", "UNQUALIFIED"),
    ] {
        let lead = Record::new(
            "00Q",
            ObjectKind::Lead,
            fields(&[
                ("LastName", json!("Smith")),
                ("Company", json!("Initech")),
                ("Status", json!(status)),
            ]),
        );
        let mapped = ok(with_ctx(ObjectKind::Lead, |ctx| {
            mapper.to_canonical(ctx, &lead)
        }));
        assert_eq!(mapped.fields["lead_status"], json!(canonical), "{status}");
    }
    for (canonical, status) in [
        ("NEW", "Open - Not Contacted"),
        ("OPEN", "Open - Not Contacted"),
        ("ATTEMPTED_TO_CONTACT", "Working - Contacted"),
        ("CONNECTED", "Working - Contacted"),
        ("BAD_TIMING", "Closed - Not Converted"),
    ] {
        let patch = fields(&[("lead_status", json!(canonical))]);
        let remote = ok(with_ctx(ObjectKind::Lead, |ctx| {
            mapper.to_remote(ctx, "00Q", &patch)
        }));
        assert_eq!(remote["Status"], json!(status), "{canonical}");
    }
    // An org's own status is not guessed at: the field fails, naming the rule.
    let lead = Record::new(
        "00Q9",
        ObjectKind::Lead,
        fields(&[
            ("LastName", json!("Smith")),
            ("Company", json!("Initech")),
            ("Status", json!("Nurturing")),
        ]),
    );
    let failure = with_ctx(ObjectKind::Lead, |ctx| mapper.to_canonical(ctx, &lead)).err();
    let first = failure.as_ref().and_then(MappingFailure::first);
    assert_eq!(first.map(|e| e.kind()), Some(ErrorKind::Validation));
    assert_eq!(
        first.and_then(|e| e.context().rule.clone()),
        Some("picklist_map".into())
    );
    let text = failure.map(|f| f.to_string()).unwrap_or_default();
    assert!(
        text.contains("lead_status") && text.contains("add it to the rule's `map`"),
        "{text}"
    );
}

#[test]
fn accounts_opportunities_and_tasks_map_both_ways() {
    let mapper = DeclarativeMapper::salesforce_defaults();
    let account = Record::new(
        "001",
        ObjectKind::Company,
        fields(&[
            ("Name", json!("Initech")),
            ("Website", json!("https://www.Initech.com/")),
            ("Phone", json!("030 8431455")),
            ("BillingCountry", json!("Germany")),
            ("NumberOfEmployees", json!(250)),
        ]),
    );
    let company = ok(with_ctx(ObjectKind::Company, |ctx| {
        mapper.to_canonical(ctx, &account)
    }));
    assert_eq!(company.fields["domain"], json!("initech.com"));
    assert_eq!(company.fields["phone"], json!("+49308431455"));
    assert_eq!(company.fields["employees"], json!(250));
    let back = ok(with_ctx(ObjectKind::Company, |ctx| {
        mapper.to_remote(ctx, "001", &company.fields)
    }));
    assert_eq!(back["NumberOfEmployees"], json!(250));
    assert_eq!(back["Website"], json!("https://initech.com"));

    let opportunity = Record::new(
        "006",
        ObjectKind::Deal,
        fields(&[
            ("Name", json!("Initech renewal")),
            ("Amount", json!(1200.5)),
            ("StageName", json!("Prospecting")),
            ("CloseDate", json!("2024-05-01")),
        ]),
    );
    let deal = ok(with_ctx(ObjectKind::Deal, |ctx| {
        mapper.to_canonical(ctx, &opportunity)
    }));
    assert_eq!(deal.fields["amount"], json!("1200.5"));
    // The same canonical close date as HubSpot's `closedate` gives.
    assert_eq!(deal.fields["close_date"], json!("2024-05-01T00:00:00.000Z"));
    let back = ok(with_ctx(ObjectKind::Deal, |ctx| {
        mapper.to_remote(ctx, "006", &deal.fields)
    }));
    assert_eq!(back, opportunity.fields);
    // A HubSpot-shaped amount goes out as an exact number.
    let patch = fields(&[("amount", json!("1200.50"))]);
    let out = ok(with_ctx(ObjectKind::Deal, |ctx| {
        mapper.to_remote(ctx, "006", &patch)
    }));
    assert_eq!(out["Amount"], json!(1200.5));

    let task = Record::new(
        "00T",
        ObjectKind::Activity,
        fields(&[
            ("Subject", json!("Call - Voicemail")),
            ("Status", json!("Completed")),
            ("CallDisposition", json!("Left Voicemail")),
            ("CallDurationInSeconds", json!(342)),
            ("CallType", json!("Outbound")),
            ("Description", json!("Left a message.")),
            ("ActivityDate", json!("2024-01-15")),
        ]),
    );
    let activity = ok(with_ctx(ObjectKind::Activity, |ctx| {
        mapper.to_canonical(ctx, &task)
    }));
    assert_eq!(activity.fields["disposition"], json!("Voicemail"));
    assert_eq!(activity.fields["call_direction"], json!("OUTBOUND"));
    assert_eq!(activity.fields["call_duration"], json!(342));
    assert_eq!(activity.fields["due_date"], json!("2024-01-15"));
    let back = ok(with_ctx(ObjectKind::Activity, |ctx| {
        mapper.to_remote(ctx, "00T", &activity.fields)
    }));
    assert_eq!(back, task.fields);
    // A disposition the dialer invented passes through to the free-text field.
    let patch = fields(&[("disposition", json!("Gatekeeper"))]);
    let out = ok(with_ctx(ObjectKind::Activity, |ctx| {
        mapper.to_remote(ctx, "00T", &patch)
    }));
    assert_eq!(out["CallDisposition"], json!("Gatekeeper"));
}

#[test]
fn salesforce_values_may_arrive_as_text_too() {
    // A CSV from Bulk API 2.0 gives every value as text.
    let mapper = DeclarativeMapper::salesforce_defaults();
    let opportunity = Record::new(
        "006",
        ObjectKind::Deal,
        fields(&[
            ("Name", json!("Renewal")),
            ("Amount", json!("1200.50")),
            ("StageName", json!("Prospecting")),
            ("CloseDate", json!("2024-05-01")),
        ]),
    );
    let deal = ok(with_ctx(ObjectKind::Deal, |ctx| {
        mapper.to_canonical(ctx, &opportunity)
    }));
    assert_eq!(deal.fields["amount"], json!("1200.5"));
    let account = Record::new(
        "001",
        ObjectKind::Company,
        fields(&[
            ("Name", json!("Initech")),
            ("NumberOfEmployees", json!("250")),
        ]),
    );
    let company = ok(with_ctx(ObjectKind::Company, |ctx| {
        mapper.to_canonical(ctx, &account)
    }));
    assert_eq!(company.fields["employees"], json!(250));
}
