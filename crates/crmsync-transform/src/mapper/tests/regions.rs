use super::*;

/// A contact as HubSpot sends it, with a phone and a country.
fn hubspot_contact(id: &str, phone: &str, country: Option<&str>) -> Record {
    let mut pairs = vec![("phone", json!(phone))];
    if let Some(country) = country {
        pairs.push(("country", json!(country)));
    }
    Record::new(id, ObjectKind::Contact, fields(&pairs))
}

fn canonical_phone(mapper: &DeclarativeMapper, record: &Record) -> Result<Value, MappingFailure> {
    let ctx = Ctx::new(ObjectKind::Contact);
    mapper
        .to_canonical(&ctx.get(), record)
        .map(|c| c.fields.get("phone").cloned().unwrap_or(Value::Null))
}

#[test]
fn national_numbers_read_in_the_records_country() {
    let mapper = DeclarativeMapper::hubspot_defaults();
    let cases = [
        ("0117 927 7000", "United Kingdom", "+441179277000"),
        ("07400 123456", "UK", "+447400123456"),
        ("01 68 73 76 27", "France", "+33168737627"),
        ("(07) 3212 3839", "Australia", "+61732123839"),
        ("030 8431455", "Germany", "+49308431455"),
        ("020 624 1111", "Netherlands", "+31206241111"),
        ("020 624 1111", "The Netherlands", "+31206241111"),
        ("912 34 56 78", "Spain", "+34912345678"),
        ("(212) 736-5000", "United States", "+12127365000"),
        // ISO codes, in any case, and alpha-3.
        ("0117 927 7000", "GB", "+441179277000"),
        ("0117 927 7000", "gb", "+441179277000"),
        ("0117 927 7000", "GBR", "+441179277000"),
        ("01 68 73 76 27", "FRA", "+33168737627"),
        ("030 8431455", "deu", "+49308431455"),
        ("030 8431455", " DE ", "+49308431455"),
        ("020 624 1111", "NLD", "+31206241111"),
        ("(07) 3212 3839", "AUS", "+61732123839"),
        ("912 34 56 78", "es", "+34912345678"),
        ("(212) 736-5000", "USA", "+12127365000"),
    ];
    for (i, (phone, country, expected)) in cases.into_iter().enumerate() {
        let record = hubspot_contact(&format!("c-{i}"), phone, Some(country));
        assert_eq!(
            canonical_phone(&mapper, &record).ok(),
            Some(json!(expected)),
            "{phone} in {country}"
        );
        // Without the country, the default region (US) cannot read most of them.
        if country_is_not_us(country) {
            let record = hubspot_contact("c", phone, None);
            assert!(
                canonical_phone(&mapper, &record).is_err(),
                "{phone} read without {country}"
            );
        }
    }
}

fn country_is_not_us(country: &str) -> bool {
    crate::region_for_country(country) != Some("US")
}

#[test]
fn international_numbers_ignore_the_records_country() {
    let mapper = DeclarativeMapper::hubspot_defaults();
    for (phone, country, expected) in [
        ("+1 212-736-5000", "France", "+12127365000"),
        ("+33 1 68 73 76 27", "United States", "+33168737627"),
        ("+44 117 927 7000", "Germany", "+441179277000"),
        ("0044 117 927 7000", "Germany", "+441179277000"),
        ("+441179277000", "GB", "+441179277000"),
        ("+61 7 3212 3839;ext=12", "Spain", "+61732123839;ext=12"),
    ] {
        let record = hubspot_contact("c-1", phone, Some(country));
        assert_eq!(
            canonical_phone(&mapper, &record).ok(),
            Some(json!(expected)),
            "{phone} in {country}"
        );
    }
}

#[test]
fn an_unknown_or_missing_country_uses_the_default_region() {
    let mapper = DeclarativeMapper::hubspot_defaults();
    for country in [Some("Atlantis"), Some(""), Some("XX"), None] {
        let record = hubspot_contact("c-1", "(212) 736-5000", country);
        assert_eq!(
            canonical_phone(&mapper, &record).ok(),
            Some(json!("+12127365000")),
            "{country:?}"
        );
        // A British national number is not a US one.
        let record = hubspot_contact("c-1", "0117 927 7000", country);
        assert!(canonical_phone(&mapper, &record).is_err(), "{country:?}");
    }
    // A country that is not text (a number, a list) is ignored too.
    let record = Record::new(
        "c-1",
        ObjectKind::Contact,
        fields(&[("phone", json!("(212) 736-5000")), ("country", json!(44))]),
    );
    assert_eq!(
        canonical_phone(&mapper, &record).ok(),
        Some(json!("+12127365000"))
    );
    // A number written the tenant's way on a foreign contact still reads.
    let record = hubspot_contact("c-1", "(650) 253-0000", Some("United Kingdom"));
    assert_eq!(
        canonical_phone(&mapper, &record).ok(),
        Some(json!("+16502530000"))
    );
}

#[test]
fn an_invalid_number_in_a_known_country_is_still_a_validation_error() {
    let mapper = DeclarativeMapper::hubspot_defaults();
    let record = Record::new(
        "c-99",
        ObjectKind::Contact,
        fields(&[
            ("phone", json!("0117 927")),
            ("mobilephone", json!("07400 123456")),
            ("country", json!("United Kingdom")),
        ]),
    );
    let failure = match canonical_phone(&mapper, &record) {
        Ok(v) => panic!("mapped to {v}"),
        Err(f) => f,
    };
    assert_eq!(
        rules_of(&failure),
        [("c-99".into(), "phone".into(), "phone_e164".into())]
    );
    assert_eq!(failure.errors[0].kind(), ErrorKind::Validation);
    let text = failure.to_string();
    assert!(!text.contains("0117"), "the number leaked: {text}");
}

#[test]
fn outbound_reads_the_country_from_the_patch() {
    let mapper = DeclarativeMapper::hubspot_defaults();
    let ctx = Ctx::new(ObjectKind::Contact);
    let patch = fields(&[
        ("phone", json!("0117 927 7000")),
        ("mobile_phone", json!("01 68 73 76 27")),
        ("country", json!("France")),
    ]);
    let remote = mapper.to_remote(&ctx.get(), "c-1", &patch);
    // The mobile is French; the phone is not a French number (nor a US one).
    let failure = match remote {
        Ok(r) => panic!("mapped: {r:?}"),
        Err(f) => f,
    };
    assert_eq!(
        rules_of(&failure),
        [("c-1".into(), "phone".into(), "phone_e164".into())]
    );

    let patch = fields(&[("phone", json!("0117 927 7000")), ("country", json!("gb"))]);
    let remote = mapper.to_remote(&ctx.get(), "c-1", &patch);
    assert_eq!(
        remote.ok(),
        Some(fields(&[
            ("phone", json!("+441179277000")),
            ("country", json!("gb")),
        ]))
    );

    // A partial patch without the country: the default region; E.164 needs none.
    let patch = fields(&[("phone", json!("+44 117 927 7000"))]);
    let remote = mapper.to_remote(&ctx.get(), "c-1", &patch);
    assert_eq!(
        remote.ok(),
        Some(fields(&[("phone", json!("+441179277000"))]))
    );
    let patch = fields(&[("phone", json!("(212) 736-5000"))]);
    let remote = mapper.to_remote(&ctx.get(), "c-1", &patch);
    assert_eq!(
        remote.ok(),
        Some(fields(&[("phone", json!("+12127365000"))]))
    );
    let patch = fields(&[("phone", json!("0117 927 7000")), ("country", Value::Null)]);
    assert!(mapper.to_remote(&ctx.get(), "c-1", &patch).is_err());
}

#[test]
fn a_country_field_without_a_rule_is_requested_and_read() {
    let config = MappingConfig::default()
        .with_object(
            "contact",
            [FieldRule::new("phone", "Phone").transform("phone_e164")],
        )
        .with_phone_region("contact", PhoneRegion::new("MailingCountry", "country"));
    let mapper = mapper(config);
    let ctx = Ctx::new(ObjectKind::Contact);
    assert_eq!(
        mapper.remote_fields(&ctx.get()),
        ["Phone", "MailingCountry"]
    );
    assert_eq!(mapper.inbound_fields(&ctx.get()), ["phone"]);
    let record = Record::new(
        "003",
        ObjectKind::Contact,
        fields(&[
            ("Phone", json!("030 8431455")),
            ("MailingCountry", json!("Deutschland")),
        ]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[("phone", json!("+49308431455"))]))
    );
}

#[test]
fn the_records_country_does_not_change_how_dates_read() {
    let config = MappingConfig::default()
        .with_object(
            "contact",
            [
                FieldRule::new("phone", "phone").transform("phone_e164"),
                FieldRule::new("born", "birthday").transform("date_iso"),
                FieldRule::new("country", "country"),
            ],
        )
        .with_phone_region("contact", PhoneRegion::new("country", "country"));
    let mapper = mapper(config);
    let ctx = Ctx::new(ObjectKind::Contact);
    let record = Record::new(
        "1",
        ObjectKind::Contact,
        fields(&[
            ("phone", json!("0117 927 7000")),
            ("birthday", json!("05/01/2024")),
            ("country", json!("United Kingdom")),
        ]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[
            ("phone", json!("+441179277000")),
            // The tenant's region (US) reads slashed dates month first.
            ("born", json!("2024-05-01")),
            ("country", json!("United Kingdom")),
        ]))
    );
}

#[test]
fn a_phone_region_without_field_names_is_a_config_error() {
    for region in [
        PhoneRegion::new("", "country"),
        PhoneRegion::new("country", "  "),
    ] {
        let text = config_error(
            MappingConfig::default()
                .with_object("contact", [FieldRule::new("phone", "phone")])
                .with_phone_region("contact", region),
        );
        assert!(text.contains("object `contact`"), "{text}");
        assert!(text.contains("phone_region"), "{text}");
    }
}
