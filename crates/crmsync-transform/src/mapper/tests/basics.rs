use super::*;

#[test]
fn unknown_transform_is_a_config_error_naming_object_rule_and_fix() {
    let text = config_error(MappingConfig::default().with_object(
        "contact",
        [
            FieldRule::new("first_name", "firstname"),
            FieldRule::new("phone", "phone").transform("phone_e165"),
        ],
    ));
    assert!(text.contains("object `contact` rule #1"), "{text}");
    assert!(text.contains("local `phone`"), "{text}");
    assert!(text.contains("unknown transform `phone_e165`"), "{text}");
    assert!(text.contains("phone_e164"), "{text}");
}

#[test]
fn two_rules_writing_one_target_are_config_errors() {
    let text = config_error(MappingConfig::default().with_object(
        "contacts",
        [
            FieldRule::new("phone", "phone"),
            FieldRule::new("phone", "mobilephone").inbound(),
        ],
    ));
    assert!(text.contains("object `contact` rule #1"), "{text}");
    assert!(
        text.contains("rule #0 already writes canonical field `phone` inbound"),
        "{text}"
    );

    let text = config_error(MappingConfig::default().with_object(
        "deal",
        [
            FieldRule::new("amount", "amount").outbound(),
            FieldRule::new("amount_cents", "amount"),
        ],
    ));
    assert!(
        text.contains("already writes remote field `amount` outbound"),
        "{text}"
    );

    // One remote field read into two canonical fields, and one canonical field written to
    // two remote fields, each write one target only once: fine.
    mapper(MappingConfig::default().with_object(
        "contact",
        [
            FieldRule::new("phone", "phone").inbound(),
            FieldRule::new("phone_raw", "phone").inbound(),
            FieldRule::new("email", "email").outbound(),
            FieldRule::new("email", "hs_additional_emails").outbound(),
            FieldRule::new("owner", "owner").inbound(),
            FieldRule::new("owner", "owner").outbound(),
        ],
    ));
}

#[test]
fn bad_regex_and_bad_defaults_are_config_errors() {
    let text = config_error(MappingConfig::default().with_object(
        "company",
        [FieldRule::new("code", "code").validate(Validation::Format {
            regex: "^[A-Z+$".into(),
        })],
    ));
    assert!(text.contains("object `company` rule #0"), "{text}");
    assert!(text.contains("invalid regex"), "{text}");

    let text = config_error(
        MappingConfig::default().with_object(
            "contact",
            [FieldRule::new("status", "hs_lead_status")
                .default_value(json!("LOST"))
                .validate(Validation::Enum {
                    values: vec![json!("NEW")],
                })],
        ),
    );
    assert!(
        text.contains("default value fails validation `enum`"),
        "{text}"
    );

    let text = config_error(MappingConfig::default().with_object(
        "deal",
        [FieldRule::new("stage", "dealstage").default_value(Value::Null)],
    ));
    assert!(text.contains("`default` is null"), "{text}");

    let text =
        config_error(MappingConfig::default().with_object("deal", [FieldRule::new("", "x")]));
    assert!(text.contains("must name a field"), "{text}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = config_error(
        MappingConfig::default()
            .with_object("contact", [FieldRule::new("a", "a").transform("nope")])
            .with_object("deal", [FieldRule::new("b", "b").transform("nada")]),
    );
    assert!(text.contains("`nope`") && text.contains("`nada`"), "{text}");
}

#[test]
fn unknown_region_and_duplicate_objects_are_config_errors() {
    let text = config_error(MappingConfig {
        default_region: "Narnia".into(),
        ..MappingConfig::default()
    });
    assert!(text.contains("default_region"), "{text}");

    let text = config_error(
        MappingConfig::default()
            .with_object("contact", [FieldRule::new("a", "a")])
            .with_object("contacts", [FieldRule::new("b", "b")]),
    );
    assert!(text.contains("both configure object `contact`"), "{text}");
}

#[test]
fn fields_are_listed_by_direction() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    assert_eq!(
        mapper.remote_fields(&ctx.get()),
        [
            "email",
            "phone",
            "hs_lead_status",
            "jobtitle",
            "hubspot_owner_id"
        ]
    );
    assert_eq!(
        mapper.inbound_fields(&ctx.get()),
        ["email", "phone", "status", "title", "owner"]
    );
    assert_eq!(
        mapper.outbound_fields(&ctx.get()),
        ["email", "phone", "status", "title", "score"]
    );
}

#[test]
fn inbound_applies_transforms_defaults_and_ignores_unknown_fields() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    let at = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).single();
    let mut record = Record::new(
        "c-1",
        ObjectKind::Contact,
        fields(&[
            ("email", json!(" Ada@Example.com ")),
            ("phone", json!("")),
            ("jobtitle", json!("   ")),
            ("hubspot_owner_id", Value::Null),
            ("hs_analytics_source", json!("ORGANIC_SEARCH")),
        ]),
    );
    record.modified_at = at;
    let canonical = mapper.to_canonical(&ctx.get(), &record);
    let canonical = match canonical {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        canonical.fields,
        fields(&[
            ("email", json!("ada@example.com")),
            ("status", json!("NEW"))
        ])
    );
    assert_eq!(canonical.modified_at, at);
}

#[test]
fn an_invalid_phone_is_a_validation_error_naming_record_field_and_rule() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    let record = Record::new(
        "c-42",
        ObjectKind::Contact,
        fields(&[
            ("email", json!("ada@example.com")),
            ("phone", json!("555-0199 ask for Bob")),
        ]),
    );
    let failure = match mapper.to_canonical(&ctx.get(), &record) {
        Ok(c) => panic!("mapped: {c:?}"),
        Err(f) => f,
    };
    assert_eq!(
        rules_of(&failure),
        [("c-42".into(), "phone".into(), "phone_e164".into())]
    );
    let error = &failure.errors[0];
    assert_eq!(error.kind(), ErrorKind::Validation);
    assert!(!error.is_retryable());
    let text = failure.to_string();
    assert!(
        text.contains("record=c-42") && text.contains("rule=phone_e164"),
        "{text}"
    );
    assert!(
        text.contains("tenant=acme") && text.contains("connection=hubspot-1"),
        "{text}"
    );
    assert!(!text.contains("555-0199"), "the number leaked: {text}");
    assert!(text.contains("text of 20 characters"), "{text}");
}

#[test]
fn all_failing_fields_are_reported_and_personal_values_redacted() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    let record = Record::new(
        "c-7",
        ObjectKind::Contact,
        fields(&[
            ("email", json!("ada at example dot com")),
            ("phone", json!("12")),
            ("hs_lead_status", json!("LOST")),
            ("jobtitle", json!("Chief Everything Officer")),
        ]),
    );
    let failure = match mapper.to_canonical(&ctx.get(), &record) {
        Ok(c) => panic!("mapped: {c:?}"),
        Err(f) => f,
    };
    let rules: Vec<String> = rules_of(&failure)
        .into_iter()
        .map(|(_, f, r)| format!("{f}:{r}"))
        .collect();
    assert_eq!(
        rules,
        [
            "email:email",
            "phone:phone_e164",
            "status:enum",
            "title:length"
        ]
    );
    let text = failure.to_string();
    assert!(!text.contains("ada at example"), "{text}");
    assert!(
        text.contains("LOST"),
        "non-personal values may be shown: {text}"
    );
    assert!(text.contains("longer than 10 characters"), "{text}");
}

#[test]
fn required_fields_without_a_value_fail() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    for email in [None, Some(json!("")), Some(Value::Null), Some(json!("  "))] {
        let mut f = fields(&[("phone", json!("+1 212-736-5000"))]);
        if let Some(email) = email.clone() {
            f.insert("email".into(), email);
        }
        let record = Record::new("c-9", ObjectKind::Contact, f);
        let failure = mapper.to_canonical(&ctx.get(), &record).err();
        let rules = failure.as_ref().map(rules_of);
        assert_eq!(
            rules,
            Some(vec![("c-9".into(), "email".into(), "required".into())]),
            "{email:?}"
        );
    }
}

#[test]
fn skip_validation_maps_the_record_keeping_raw_values() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact).skipping();
    let record = Record::new(
        "c-8",
        ObjectKind::Contact,
        fields(&[
            ("phone", json!("not a phone")),
            ("hs_lead_status", json!("LOST")),
            ("jobtitle", json!("Chief Everything Officer")),
        ]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[
            ("phone", json!("not a phone")),
            ("status", json!("LOST")),
            ("title", json!("Chief Everything Officer")),
        ]))
    );

    let patch = fields(&[("phone", json!("bogus")), ("email", Value::Null)]);
    let remote = mapper.to_remote(&ctx.get(), "c-8", &patch);
    assert_eq!(
        remote.ok(),
        Some(fields(&[("phone", json!("bogus")), ("email", Value::Null)]))
    );
}

#[test]
fn outbound_maps_only_the_fields_in_the_patch() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    let patch = fields(&[
        ("phone", json!("(212) 736-5000")),
        ("score", json!(87)),
        ("owner", json!("123")),
        ("unmapped", json!("x")),
    ]);
    let remote = mapper.to_remote(&ctx.get(), "c-1", &patch);
    assert_eq!(
        remote.ok(),
        Some(fields(&[
            ("phone", json!("+12127365000")),
            ("score", json!("87"))
        ]))
    );
    let empty = mapper.to_remote(&ctx.get(), "c-1", &Fields::new());
    assert_eq!(empty.ok(), Some(Fields::new()));
}

#[test]
fn outbound_nulls_clear_fields_except_required_ones() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    let patch = fields(&[("phone", Value::Null), ("title", json!(""))]);
    assert_eq!(
        mapper.to_remote(&ctx.get(), "c-1", &patch).ok(),
        Some(fields(&[("phone", Value::Null), ("jobtitle", Value::Null)]))
    );
    let patch = fields(&[("email", Value::Null)]);
    let failure = mapper.to_remote(&ctx.get(), "c-1", &patch).err();
    assert_eq!(
        failure.as_ref().map(rules_of),
        Some(vec![("c-1".into(), "email".into(), "required".into())])
    );
}

#[test]
fn outbound_validates_and_transforms_with_errors_per_field() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact);
    let patch = fields(&[
        ("email", json!("nope")),
        ("phone", json!("12")),
        ("score", json!("eighty")),
        ("status", json!("OPEN")),
    ]);
    let failure = mapper.to_remote(&ctx.get(), "app-5", &patch).err();
    let rules: Vec<String> = failure
        .as_ref()
        .map(rules_of)
        .unwrap_or_default()
        .into_iter()
        .map(|(record, field, rule)| format!("{record}/{field}:{rule}"))
        .collect();
    assert_eq!(
        rules,
        [
            "app-5/email:email",
            "app-5/phone:phone_e164",
            "app-5/score:integer"
        ]
    );
    let text = failure.map(|f| f.to_string()).unwrap_or_default();
    assert!(text.contains("cannot write remote field `score`"), "{text}");
    assert!(!text.contains("nope"), "{text}");
}

#[test]
fn an_object_without_rules_fails_with_a_config_error() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Custom("invoice".into()));
    assert!(mapper.remote_fields(&ctx.get()).is_empty());
    let record = Record::new("i-1", ObjectKind::Custom("invoice".into()), Fields::new());
    let failure = mapper.to_canonical(&ctx.get(), &record).err();
    let first = failure.as_ref().and_then(MappingFailure::first);
    assert_eq!(first.map(|e| e.kind()), Some(ErrorKind::Config));
    assert!(first.is_some_and(|e| e.message().contains("objects.invoice")));
    assert!(mapper.to_remote(&ctx.get(), "i-1", &Fields::new()).is_err());
}

#[test]
fn custom_transforms_can_be_registered() {
    struct Upper;
    impl Transform for Upper {
        fn name(&self) -> &str {
            "upper"
        }
        fn inbound(&self, v: &Value, _: &TransformEnv) -> Result<Value, TransformError> {
            v.as_str()
                .map(|s| json!(s.to_uppercase()))
                .ok_or_else(|| TransformError::new("expected text"))
        }
        fn outbound(&self, v: &Value, env: &TransformEnv) -> Result<Value, TransformError> {
            self.inbound(v, env)
        }
    }
    let config = MappingConfig::default().with_object(
        "contact",
        [FieldRule::new("country", "country").transform("upper")],
    );
    assert!(DeclarativeMapper::new(config.clone()).is_err());
    let mapper = DeclarativeMapper::builder(config)
        .transform(Arc::new(Upper))
        .build();
    let mapper = match mapper {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let ctx = Ctx::new(ObjectKind::Contact);
    let record = Record::new(
        "1",
        ObjectKind::Contact,
        fields(&[("country", json!("de"))]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(canonical.ok(), Some(fields(&[("country", json!("DE"))])));
}

#[test]
fn the_default_region_reads_national_numbers() {
    let config = MappingConfig::from_json_str(
        r#"{ "default_region": "DE", "objects": { "contact": { "fields": [
            { "local": "phone", "remote": "Telephone1", "transform": "phone_e164",
              "validations": [{ "rule": "phone" }] } ] } } }"#,
    );
    let mapper = match config.and_then(DeclarativeMapper::new) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(mapper.env().region(), "DE");
    let ctx = Ctx::new(ObjectKind::Contact);
    let record = Record::new(
        "1",
        ObjectKind::Contact,
        fields(&[("Telephone1", json!("030 901820"))]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[("phone", json!("+4930901820"))]))
    );
}

#[test]
fn records_round_trip_through_both_directions() {
    let mapper = DeclarativeMapper::hubspot_defaults();
    let ctx = Ctx::new(ObjectKind::Contact);
    for i in 0..50_u32 {
        let record = Record::new(
            format!("{i}"),
            ObjectKind::Contact,
            fields(&[
                ("firstname", json!(format!("Name{i}"))),
                ("email", json!(format!("  Person.{i}@Example.COM"))),
                ("phone", json!(format!("(212) 736-{:04}", 1000 + i * 37))),
                ("mobilephone", json!(format!("+44 20 7946 {:04}", 1000 + i))),
            ]),
        );
        let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
        let canonical = match canonical {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let remote = mapper.to_remote(&ctx.get(), &record.id.to_string(), &canonical);
        let remote = match remote {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let back = Record::new(record.id.clone(), ObjectKind::Contact, remote);
        let again = mapper.to_canonical(&ctx.get(), &back).map(|c| c.fields);
        assert_eq!(again.ok(), Some(canonical), "record {i}");
    }
}

#[test]
fn describe_redacts_personal_values_and_cuts_long_ones() {
    assert_eq!(
        describe(&json!("+14155550132"), true),
        "text of 12 characters"
    );
    assert_eq!(describe(&json!(42), true), "a number");
    assert_eq!(describe(&json!("LOST"), false), "\"LOST\"");
    assert!(describe(&json!("x".repeat(100)), false).ends_with('…'));
    assert_eq!(describe(&json!(12.5), false), "12.5");
    assert!(looks_personal("MobilePhone") && looks_personal("work_email"));
    assert!(!looks_personal("city"));
}
