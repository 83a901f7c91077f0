use super::*;
use serde_json::json;

#[test]
fn json_config_parses_with_defaults_filled_in() -> Result<()> {
    let config = MappingConfig::from_json_str(
        r#"{ "objects": { "contact": { "fields": [
            { "local": "email", "remote": "email", "transform": "email",
              "validations": [{ "rule": "email" }, { "rule": "length", "max": 254 }] },
            { "local": "first_name", "remote": "firstname" },
            { "local": "owner", "remote": "hubspot_owner_id", "direction": "inbound",
              "default": "unassigned" },
            { "local": "status", "remote": "hs_lead_status", "required": true,
              "validations": [{ "rule": "enum", "values": ["NEW", "OPEN"] },
                              { "rule": "format", "regex": "^[A-Z_]+$" }] },
            { "local": "score", "remote": "score", "direction": "outbound",
              "validations": [{ "rule": "range", "min": 0, "max": 100 }] }
        ] } } }"#,
    )?;
    assert_eq!(config.default_region, "US");
    let fields = &config.objects["contact"].fields;
    assert_eq!(fields.len(), 5);
    assert_eq!(fields[0].transform, "email");
    assert_eq!(
        fields[0].validations,
        vec![
            Validation::Email,
            Validation::Length {
                min: None,
                max: Some(254)
            }
        ]
    );
    assert_eq!(fields[1].transform, "none");
    assert_eq!(fields[1].direction, FieldDirection::Bidirectional);
    assert!(!fields[1].required);
    assert_eq!(fields[2].direction, FieldDirection::Inbound);
    assert_eq!(fields[2].default, Some(json!("unassigned")));
    assert!(fields[3].required);
    assert_eq!(
        fields[4].validations,
        vec![Validation::Range {
            min: Some(0.0),
            max: Some(100.0)
        }]
    );
    Ok(())
}

#[test]
fn toml_config_parses_and_round_trips() -> Result<()> {
    let text = r#"
        default_region = "GB"

        [[objects.contact.fields]]
        local = "email"
        remote = "email"
        transform = "email"
        required = true
        validations = [{ rule = "email" }, { rule = "length", min = 3, max = 254 }]

        [[objects.contact.fields]]
        local = "phone"
        remote = "phone"
        transform = "phone_e164"
        validations = [{ rule = "phone" }]

        [[objects.deal.fields]]
        local = "stage"
        remote = "dealstage"
        direction = "inbound"
        default = "appointmentscheduled"
        validations = [{ rule = "enum", values = ["appointmentscheduled", "closedwon"] }]
    "#;
    let config = MappingConfig::from_toml_str(text)?;
    assert_eq!(config.default_region, "GB");
    assert_eq!(config.objects["contact"].fields.len(), 2);
    assert!(config.objects["contact"].fields[0].required);
    assert_eq!(
        config.objects["deal"].fields[0].default,
        Some(json!("appointmentscheduled"))
    );
    let again = MappingConfig::from_toml_str(&config.to_toml_string()?)?;
    assert_eq!(again, config);
    let again = MappingConfig::from_json_str(&config.to_json_string()?)?;
    assert_eq!(again, config);
    Ok(())
}

#[test]
fn toml_config_with_a_phone_region_parses_and_round_trips() -> Result<()> {
    let text = r#"
        default_region = "US"

        [objects.contact]
        phone_region = { remote = "country", local = "country" }

        [[objects.contact.fields]]
        local = "phone"
        remote = "phone"
        transform = "phone_e164"

        [[objects.contact.fields]]
        local = "country"
        remote = "country"

        [objects.company.phone_region]
        remote = "BillingCountry"
        local = "billing_country"

        [[objects.company.fields]]
        local = "phone"
        remote = "Phone"
        transform = "phone_e164"

        [[objects.deal.fields]]
        local = "name"
        remote = "dealname"
    "#;
    let config = MappingConfig::from_toml_str(text)?;
    assert_eq!(
        config.objects["contact"].phone_region,
        Some(PhoneRegion::new("country", "country"))
    );
    assert_eq!(config.objects["contact"].fields.len(), 2);
    assert_eq!(
        config.objects["company"].phone_region,
        Some(PhoneRegion::new("BillingCountry", "billing_country"))
    );
    assert_eq!(config.objects["deal"].phone_region, None);
    let again = MappingConfig::from_toml_str(&config.to_toml_string()?)?;
    assert_eq!(again, config);
    let json = config.to_json_string()?;
    assert!(json.contains("\"phone_region\""), "{json}");
    let again = MappingConfig::from_json_str(&json)?;
    assert_eq!(again, config);
    // Without it, nothing is written.
    let plain = MappingConfig::default().with_object("deal", [FieldRule::new("a", "b")]);
    assert!(!plain.to_json_string()?.contains("phone_region"));

    let json = MappingConfig::from_json_str(
        r#"{ "objects": { "contact": {
            "phone_region": { "remote": "country", "local": "country" },
            "fields": [] } } }"#,
    )?;
    assert_eq!(
        json.objects["contact"].phone_region,
        Some(PhoneRegion::new("country", "country"))
    );
    for bad in [
        r#"{ "objects": { "contact": { "phone_region": { "remote": "country" } } } }"#,
        r#"{ "objects": { "contact": { "phone_region": "country" } } }"#,
        r#"{ "objects": { "contact": { "phone_region": {
            "remote": "country", "local": "country", "fallback": "US" } } } }"#,
    ] {
        let parsed = MappingConfig::from_json_str(bad);
        assert!(
            matches!(&parsed, Err(e) if e.kind() == ErrorKind::Config),
            "{bad}: {parsed:?}"
        );
    }
    Ok(())
}

#[test]
fn unknown_keys_and_rules_are_config_errors() {
    let typo = MappingConfig::from_json_str(
        r#"{ "objects": { "contact": { "fields": [
            { "local": "email", "remote": "email", "transfrom": "email" } ] } } }"#,
    );
    let err = typo.err().map(|e| (e.kind(), e.to_string()));
    assert!(
        matches!(&err, Some((ErrorKind::Config, text)) if text.contains("transfrom")),
        "{err:?}"
    );

    let rule = MappingConfig::from_toml_str(
        r#"[[objects.contact.fields]]
           local = "x"
           remote = "y"
           validations = [{ rule = "palindrome" }]"#,
    );
    assert!(matches!(rule, Err(e) if e.kind() == ErrorKind::Config));

    // A stray key on a validation is a typo, not something to ignore silently.
    for stray in [
        r#"{ "rule": "email", "max": 3 }"#,
        r#"{ "rule": "length", "maximum": 3 }"#,
        r#"{ "rule": "length", "max": 2.5 }"#,
        r#"{ "rule": "enum" }"#,
        r#"{ "rule": "format", "values": [] }"#,
    ] {
        let parsed = serde_json::from_str::<Validation>(stray);
        assert!(parsed.is_err(), "{stray} parsed as {parsed:?}");
    }

    let direction = MappingConfig::from_json_str(
        r#"{ "objects": { "contact": { "fields": [
            { "local": "x", "remote": "y", "direction": "sideways" } ] } } }"#,
    );
    assert!(matches!(direction, Err(e) if e.kind() == ErrorKind::Config));
}

#[test]
fn builder_methods_compose_a_rule() {
    let rule = FieldRule::new("phone", "phone")
        .transform("phone_e164")
        .inbound()
        .required()
        .validate(Validation::Phone)
        .default_value(json!("+12127365000"));
    assert_eq!(rule.direction, FieldDirection::Inbound);
    assert!(rule.direction.is_inbound() && !rule.direction.is_outbound());
    assert_eq!(rule.transform, "phone_e164");
    assert!(rule.required);
    assert_eq!(rule.validations, vec![Validation::Phone]);
    assert_eq!(FieldDirection::Bidirectional.as_str(), "bidirectional");
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crmsync-transform-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    if let Err(e) = std::fs::write(&path, text) {
        panic!("{e}");
    }
    path
}

#[test]
fn file_errors_name_the_file_and_the_line() {
    let path = temp_file(
        "acme.toml",
        "default_region = \"GB\"\n\n[[objects.contact.fields]]\nlocal = \"email\"\nremote = \"Email\"\ntransfrom = \"email\"\n",
    );
    let err = MappingConfig::from_toml_file(&path).err();
    let text = err.map(|e| e.message().to_owned()).unwrap_or_default();
    let shown = path.display().to_string();
    assert!(
        text.starts_with(&format!(
            "mapping file `{shown}`, line 6, column 1: not valid TOML"
        )),
        "{text}"
    );
    assert!(text.contains("transfrom"), "{text}");

    let path = temp_file(
        "acme.json",
        "{ \"objects\": { \"contact\": { \"fields\": [ { \"local\": 1 } ] } } }",
    );
    let text = MappingConfig::from_json_file(&path)
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        text.contains(&format!(
            "mapping file `{}`: not valid JSON",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("line 1 column"), "{text}");

    let missing = std::env::temp_dir().join("crmsync-transform-no-such-file.toml");
    let text = MappingConfig::from_file(&missing)
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(text.contains("cannot read it"), "{text}");
    let text = MappingConfig::from_file("mapping.yaml")
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(text.contains("name it `.toml` or `.json`"), "{text}");
}

#[test]
fn compile_errors_name_the_file_the_rule_and_the_fix() {
    let path = temp_file(
        "globex.toml",
        "[[objects.contact.fields]]\nlocal = \"phone\"\nremote = \"Phone\"\ntransform = \"phone_e165\"\n",
    );
    let config = MappingConfig::from_file(&path);
    assert_eq!(
        config.as_ref().ok().and_then(|c| c.source.clone()),
        Some(path.display().to_string())
    );
    let text = config
        .and_then(crate::DeclarativeMapper::new)
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        text.starts_with(&format!(
            "invalid field mapping in mapping file `{}`: object `contact` rule #0 (local \
             `phone`, remote `Phone`): unknown transform `phone_e165`; use one of",
            path.display()
        )),
        "{text}"
    );
    let path = temp_file("region.toml", "default_region = \"Narnia\"\n");
    let text = MappingConfig::from_file(&path)
        .and_then(crate::DeclarativeMapper::new)
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        text.contains("region.toml") && text.contains("unknown default_region `Narnia`"),
        "{text}"
    );
}

#[test]
fn transforms_with_options_and_several_fields_parse_and_round_trip() -> Result<()> {
    let text = r#"
        remote_values = "typed"

        [objects.lead]
        remote = "Lead"

        [[objects.lead.fields]]
        local = ["first_name", "last_name"]
        remote = "Name"
        direction = "inbound"
        transform = "split_name"

        [[objects.lead.fields]]
        local = "lead_status"
        remote = "Status"
        transform = { name = "picklist_map", unmapped = "default", default = "NEW", map = { NEW = "Open - Not Contacted" } }
    "#;
    let config = MappingConfig::from_toml_str(text)?;
    assert_eq!(config.remote_values, RemoteValues::Typed);
    let lead = &config.objects["lead"];
    assert_eq!(lead.remote.as_deref(), Some("Lead"));
    assert_eq!(
        lead.fields[0].local,
        FieldNames::from(["first_name", "last_name"])
    );
    assert_eq!(lead.fields[0].remote, "Name");
    assert_eq!(lead.fields[0].transform, "split_name");
    assert_eq!(lead.fields[1].transform.name(), "picklist_map");
    assert_eq!(
        lead.fields[1]
            .transform
            .options()
            .and_then(|o| o.get("default")),
        Some(&json!("NEW"))
    );
    assert_eq!(
        MappingConfig::from_toml_str(&config.to_toml_string()?)?,
        config
    );
    assert_eq!(
        MappingConfig::from_json_str(&config.to_json_string()?)?,
        config
    );
    let json = config.to_json_string()?;
    assert!(json.contains("\"local\": [\n"), "{json}");
    assert!(json.contains("\"remote\": \"Name\""), "{json}");

    for bad in [
        r#"{ "objects": { "lead": { "fields": [ { "local": 1, "remote": "x" } ] } } }"#,
        r#"{ "objects": { "lead": { "fields": [ { "local": ["a", 2], "remote": "x" } ] } } }"#,
        r#"{ "objects": { "lead": { "fields": [ { "local": "a", "remote": "x", "transform": 3 } ] } } }"#,
        r#"{ "objects": { "lead": { "fields": [ { "local": "a", "remote": "x", "transform": { "name": 3 } } ] } } }"#,
        r#"{ "remote_values": "json" }"#,
    ] {
        let parsed = MappingConfig::from_json_str(bad);
        assert!(
            matches!(&parsed, Err(e) if e.kind() == ErrorKind::Config),
            "{bad}: {parsed:?}"
        );
    }
    Ok(())
}

#[test]
fn overlays_replace_add_and_remove_rules_by_local_name() -> Result<()> {
    let overlay = MappingOverlay::from_toml_str(
        r#"
        default_region = "DE"

        [[objects.contacts.fields]]
        local = "title"
        remote = "jobtitle"
        direction = "inbound"

        [[objects.contacts.fields]]
        local = "call_count"
        remote = "num_calls"
        direction = "outbound"
        transform = "integer"

        [[objects.contacts.fields]]
        local = "lifecycle_stage"
        remove = true

        [objects.deal]
        remove = true

        [[objects.invoice.fields]]
        local = "number"
        remote = "invoice_number"
        "#,
    )?;
    let base = MappingConfig::hubspot_defaults();
    let config = base.clone().overlay(&overlay)?;
    assert_eq!(config.default_region, "DE");
    assert!(!config.objects.contains_key("deal"));
    assert_eq!(config.objects["invoice"].fields.len(), 1);
    let contact = &config.objects["contact"];
    let locals: Vec<String> = contact.fields.iter().map(|r| r.local.to_string()).collect();
    let base_locals: Vec<String> = base.objects["contact"]
        .fields
        .iter()
        .map(|r| r.local.to_string())
        .filter(|l| l != "lifecycle_stage")
        .chain(["call_count".to_owned()])
        .collect();
    assert_eq!(locals, base_locals);
    let title = contact.fields.iter().find(|r| r.local == "title");
    assert_eq!(title.map(|r| r.direction), Some(FieldDirection::Inbound));
    // The phone region and remote name of the base object stay.
    assert_eq!(contact.phone_region, base.objects["contact"].phone_region);
    crate::DeclarativeMapper::new(config)?;
    Ok(())
}

#[test]
fn rules_of_one_local_in_an_overlay_follow_each_other() -> Result<()> {
    let overlay = MappingOverlay::from_json_str(
        r#"{ "objects": { "contact": { "fields": [
            { "local": "owner", "remote": "hubspot_owner_id", "direction": "inbound" },
            { "local": "owner", "remote": "owner_email", "direction": "outbound" },
            { "local": "email", "remove": true }
        ] } } }"#,
    )?;
    let config = MappingConfig::hubspot_defaults().overlay(&overlay)?;
    let rules: Vec<(String, String)> = config.objects["contact"]
        .fields
        .iter()
        .map(|r| (r.local.to_string(), r.remote.to_string()))
        .collect();
    let owners: Vec<&(String, String)> = rules.iter().filter(|(l, _)| l == "owner").collect();
    assert_eq!(owners.len(), 2);
    assert_eq!(owners[1].1, "owner_email");
    assert!(!rules.iter().any(|(l, _)| l == "email"));
    let at = rules
        .iter()
        .position(|(l, _)| l == "owner")
        .unwrap_or_default();
    assert_eq!(rules[at + 1].1, "owner_email");
    Ok(())
}

#[test]
fn overlay_mistakes_are_named() {
    let overlay = MappingOverlay::from_toml_str(
        r#"
        [[objects.contact.fields]]
        local = "lifecyclestage"
        remove = true

        [objects.lead]
        remove = true
        "#,
    );
    let err = overlay
        .and_then(|o| MappingConfig::hubspot_defaults().overlay(&o))
        .err();
    let text = err.map(|e| e.message().to_owned()).unwrap_or_default();
    assert!(
        text.contains("object `contact` removes rule `lifecyclestage`, which the base mapping does not have; check the name (its rules: first_name"),
        "{text}"
    );
    assert!(
        text.contains("object `lead` is removed but the base mapping does not have it"),
        "{text}"
    );

    for bad in [
        "[[objects.contact.fields]]\nlocal = \"x\"\nremove = true\nremote = \"y\"\n",
        "[[objects.contact.fields]]\nlocal = \"x\"\n",
        "[objects.contact]\nremove = true\n[[objects.contact.fields]]\nlocal = \"x\"\nremote = \"y\"\n",
    ] {
        let result = MappingOverlay::from_toml_str(bad)
            .and_then(|o| MappingConfig::hubspot_defaults().overlay(&o));
        assert!(
            matches!(&result, Err(e) if e.kind() == ErrorKind::Config),
            "{bad}: {result:?}"
        );
    }
    let text = MappingOverlay::from_toml_str("[[objects.contact.fields]]\nlocal = \"x\"\n")
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        text.contains("rule `x` needs `remote` (or `remove = true`"),
        "{text}"
    );
}

#[test]
fn an_overlay_from_a_file_is_named_in_later_errors() -> Result<()> {
    let path = temp_file(
        "initech-overlay.toml",
        "[[objects.contact.fields]]\nlocal = \"score\"\nremote = \"score\"\ntransform = \"nope\"\n",
    );
    let overlay = MappingOverlay::from_file(&path)?;
    let config = MappingConfig::hubspot_defaults().overlay(&overlay)?;
    let text = crate::DeclarativeMapper::new(config)
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        text.contains(&format!("mapping file `{}`", path.display())),
        "{text}"
    );
    assert!(text.contains("unknown transform `nope`"), "{text}");
    // Every config is an overlay setting all it has.
    let whole = MappingOverlay::from(MappingConfig::salesforce_defaults());
    let again = MappingConfig::default().overlay(&whole)?;
    assert_eq!(again, MappingConfig::salesforce_defaults());
    let round = MappingOverlay::from_json_str(&serde_json::to_string(&whole).unwrap_or_default())?;
    assert_eq!(round.objects.len(), whole.objects.len());
    Ok(())
}
