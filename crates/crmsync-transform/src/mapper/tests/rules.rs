//! Rules with transform options, several fields on one side, and what
//! `skip_validation` records.

use super::*;
use crate::{
    RuleShape, TransformFactory, TransformSpec,
    transforms::{Arity, FieldClass},
};

fn toml_mapper(text: &str) -> DeclarativeMapper {
    match MappingConfig::from_toml_str(text).and_then(DeclarativeMapper::new) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn toml_error(text: &str) -> String {
    match MappingConfig::from_toml_str(text).and_then(DeclarativeMapper::new) {
        Ok(_) => panic!("compiled: {text}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            e.message().to_owned()
        }
    }
}

#[test]
fn split_name_reads_one_full_name_into_two_fields() {
    let mapper = toml_mapper(
        r#"
        [[objects.contact.fields]]
        local = ["first_name", "last_name"]
        remote = "Name"
        direction = "inbound"
        transform = "split_name"
        required = true
        validations = [{ rule = "length", max = 10 }]
        "#,
    );
    let ctx = Ctx::new(ObjectKind::Contact);
    assert_eq!(mapper.remote_fields(&ctx.get()), ["Name"]);
    assert_eq!(
        mapper.inbound_fields(&ctx.get()),
        ["first_name", "last_name"]
    );
    let record = Record::new(
        "1",
        ObjectKind::Contact,
        fields(&[("Name", json!("Ada King Lovelace"))]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[
            ("first_name", json!("Ada King")),
            ("last_name", json!("Lovelace"))
        ]))
    );
    let cher = Record::new("2", ObjectKind::Contact, fields(&[("Name", json!("Cher"))]));
    let canonical = mapper.to_canonical(&ctx.get(), &cher).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[("last_name", json!("Cher"))]))
    );

    // Validations run on each canonical field; `required` on the whole name.
    let long = Record::new(
        "3",
        ObjectKind::Contact,
        fields(&[("Name", json!("Ada Lovelace-Byron-King"))]),
    );
    let failure = mapper.to_canonical(&ctx.get(), &long).err();
    assert_eq!(
        failure.as_ref().map(rules_of),
        Some(vec![("3".into(), "last_name".into(), "length".into())])
    );
    let blank = Record::new("4", ObjectKind::Contact, fields(&[("Name", json!("   "))]));
    let failure = mapper.to_canonical(&ctx.get(), &blank).err();
    assert_eq!(
        failure.as_ref().map(rules_of),
        Some(vec![(
            "4".into(),
            "first_name, last_name".into(),
            "required".into()
        )])
    );
}

#[test]
fn join_name_writes_two_fields_and_needs_them_together() {
    let mapper = toml_mapper(
        r#"
        [[objects.contact.fields]]
        local = "full_name"
        remote = ["FirstName", "LastName"]
        transform = "join_name"

        [[objects.lead.fields]]
        local = ["first_name", "last_name"]
        remote = "Name"
        direction = "outbound"
        transform = "split_name"
        "#,
    );
    let ctx = Ctx::new(ObjectKind::Contact);
    let record = Record::new(
        "1",
        ObjectKind::Contact,
        fields(&[("FirstName", json!("Ada")), ("LastName", json!("Lovelace"))]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[("full_name", json!("Ada Lovelace"))]))
    );
    let remote = mapper.to_remote(&ctx.get(), "1", &fields(&[("full_name", json!("Cher"))]));
    assert_eq!(
        remote.ok(),
        Some(fields(&[
            ("FirstName", Value::Null),
            ("LastName", json!("Cher"))
        ]))
    );
    // Clearing the canonical field clears both remote fields.
    let remote = mapper.to_remote(&ctx.get(), "1", &fields(&[("full_name", Value::Null)]));
    assert_eq!(
        remote.ok(),
        Some(fields(&[
            ("FirstName", Value::Null),
            ("LastName", Value::Null)
        ]))
    );

    // Outbound from two canonical fields: both must be in the patch.
    let ctx = Ctx::new(ObjectKind::Lead);
    assert_eq!(
        mapper.field_groups(&ObjectKind::Lead),
        [["first_name".to_owned(), "last_name".to_owned()].as_slice()]
    );
    assert!(mapper.field_groups(&ObjectKind::Contact).is_empty());
    let both = fields(&[
        ("first_name", json!("Ada")),
        ("last_name", json!("Lovelace")),
    ]);
    assert_eq!(
        mapper.to_remote(&ctx.get(), "00Q", &both).ok(),
        Some(fields(&[("Name", json!("Ada Lovelace"))]))
    );
    let partial = fields(&[("last_name", json!("Byron"))]);
    let failure = mapper.to_remote(&ctx.get(), "00Q", &partial).err();
    assert_eq!(
        failure.as_ref().map(rules_of),
        Some(vec![(
            "00Q".into(),
            "first_name, last_name".into(),
            "split_name".into()
        )])
    );
    let text = failure.map(|f| f.to_string()).unwrap_or_default();
    assert!(
        text.contains("`first_name` missing") && text.contains("send them together"),
        "{text}"
    );
    assert_eq!(
        mapper.to_remote(&ctx.get(), "00Q", &Fields::new()).ok(),
        Some(Fields::new())
    );
}

#[test]
fn a_transform_on_the_wrong_number_of_fields_is_a_config_error() {
    let text = toml_error(
        r#"
        [[objects.contact.fields]]
        local = ["first_name", "last_name"]
        remote = "Name"
        transform = "trim"
        "#,
    );
    assert!(
        text.contains("object `contact` rule #0 (local `first_name, last_name`, remote `Name`)"),
        "{text}"
    );
    assert!(
        text.contains("transform `trim` maps 1 canonical and 1 remote field(s)"),
        "{text}"
    );
    assert!(text.contains("split_name or join_name"), "{text}");

    let text = toml_error(
        r#"
        [[objects.contact.fields]]
        local = "name"
        remote = "Name"
        transform = "split_name"
        "#,
    );
    assert!(
        text.contains("write `local` with 2 and `remote` with 1"),
        "{text}"
    );

    let text = toml_error(
        r#"
        [[objects.contact.fields]]
        local = ["a", "a"]
        remote = "Name"
        transform = "split_name"
        "#,
    );
    assert!(text.contains("`local` names `a` twice"), "{text}");
}

#[test]
fn a_bidirectional_rule_needs_a_reversible_transform() {
    let text = toml_error(
        r#"
        [[objects.contact.fields]]
        local = "country_code"
        remote = "Country"
        transform = { name = "expr", inbound = "upper(trim(value))" }
        "#,
    );
    assert!(
        text.contains("rule #0 (local `country_code`, remote `Country`)"),
        "{text}"
    );
    assert!(
        text.contains("transform `expr` is not reversible: it only works inbound"),
        "{text}"
    );
    assert!(text.contains("set `direction = \"inbound\"`"), "{text}");

    let text = toml_error(
        r#"
        [[objects.lead.fields]]
        local = "status"
        remote = "Status"
        transform = { name = "picklist_map", map = { NEW = "Open", OPEN = "Open" } }
        "#,
    );
    assert!(text.contains("set `direction = \"outbound\"`"), "{text}");
}

#[test]
fn expressions_compile_once_and_run_per_record() {
    let mapper = toml_mapper(
        r#"
        [[objects.contact.fields]]
        local = "country_code"
        remote = "Country"
        transform = { name = "expr", inbound = "upper(trim(value))", outbound = "lower(value)" }

        [[objects.contact.fields]]
        local = "first_word"
        remote = "Title"
        direction = "inbound"
        transform = { name = "expr", inbound = "value.split(' ')[0]" }
        "#,
    );
    let ctx = Ctx::new(ObjectKind::Contact);
    let record = Record::new(
        "1",
        ObjectKind::Contact,
        fields(&[
            ("Country", json!(" de ")),
            ("Title", json!("Head of Research")),
        ]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[
            ("country_code", json!("DE")),
            ("first_word", json!("Head"))
        ]))
    );
    let remote = mapper.to_remote(&ctx.get(), "1", &fields(&[("country_code", json!("FR"))]));
    assert_eq!(remote.ok(), Some(fields(&[("Country", json!("fr"))])));

    let text = toml_error(
        r#"
        [[objects.contact.fields]]
        local = "country_code"
        remote = "Country"
        transform = { name = "expr", inbound = "upper(trim(value)", outbound = "lower(value)" }
        "#,
    );
    assert!(
        text.contains(
            "object `contact` rule #0 (local `country_code`, remote `Country`): transform \
             `expr`: `inbound` expression does not parse at column 18"
        ),
        "{text}"
    );
}

#[test]
fn options_on_a_transform_without_options_are_refused() {
    let text = toml_error(
        r#"
        [[objects.contact.fields]]
        local = "email"
        remote = "Email"
        transform = { name = "email", strict = true }
        "#,
    );
    assert!(
        text.contains("transform `email` takes no options (got strict)"),
        "{text}"
    );
    let text = toml_error(
        r#"
        [[objects.contact.fields]]
        local = "x"
        remote = "X"
        transform = { map = {} }
        "#,
    );
    assert!(text.contains("a transform table needs `name`"), "{text}");
}

#[test]
fn the_default_transform_fills_blanks_both_ways() {
    let mapper = toml_mapper(
        r#"
        [[objects.lead.fields]]
        local = "source"
        remote = "LeadSource"
        transform = { name = "default", value = "Dialer" }
        "#,
    );
    let ctx = Ctx::new(ObjectKind::Lead);
    let record = Record::new("1", ObjectKind::Lead, fields(&[("LeadSource", json!(""))]));
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(canonical.ok(), Some(fields(&[("source", json!("Dialer"))])));
    let remote = mapper.to_remote(&ctx.get(), "1", &fields(&[("source", Value::Null)]));
    assert_eq!(
        remote.ok(),
        Some(fields(&[("LeadSource", json!("Dialer"))]))
    );
    let remote = mapper.to_remote(&ctx.get(), "1", &fields(&[("source", json!("Web"))]));
    assert_eq!(remote.ok(), Some(fields(&[("LeadSource", json!("Web"))])));
}

#[test]
fn skip_validation_records_what_it_lets_through() {
    let mapper = contact_mapper();
    let ctx = Ctx::new(ObjectKind::Contact).skipping();
    let record = Record::new(
        "c-8",
        ObjectKind::Contact,
        fields(&[
            ("phone", json!("call me maybe")),
            ("hs_lead_status", json!("LOST")),
            ("jobtitle", json!("Chief Everything Officer")),
        ]),
    );
    let outcome = mapper.to_canonical_outcome(&ctx.get(), &record);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(outcome.value.fields.len(), 3);
    let recorded: Vec<(String, String, String)> = outcome
        .warnings
        .iter()
        .map(|e| {
            let c = e.context();
            (
                c.record.clone().unwrap_or_default(),
                c.field.clone().unwrap_or_default(),
                c.rule.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        recorded,
        [
            ("c-8".into(), "email".into(), "required".into()),
            ("c-8".into(), "phone".into(), "phone_e164".into()),
            ("c-8".into(), "status".into(), "enum".into()),
            ("c-8".into(), "title".into(), "length".into()),
        ]
    );
    assert!(
        outcome
            .warnings
            .iter()
            .all(|w| w.kind() == ErrorKind::Validation)
    );
    let text: Vec<String> = outcome.warnings.iter().map(ToString::to_string).collect();
    assert!(!text.join(" ").contains("call me"), "{text:?}");

    let patch = fields(&[("phone", json!("bogus")), ("email", Value::Null)]);
    let outcome = mapper.to_remote_outcome(&ctx.get(), "c-8", &patch);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(
        outcome.value,
        fields(&[("phone", json!("bogus")), ("email", Value::Null)])
    );
    assert_eq!(outcome.warnings.len(), 2);

    // Enforced, the same record fails and nothing is "recorded".
    let enforced = Ctx::new(ObjectKind::Contact);
    assert!(
        mapper
            .to_canonical_outcome(&enforced.get(), &record)
            .is_err()
    );
    let clean = Record::new(
        "c-9",
        ObjectKind::Contact,
        fields(&[("email", json!("a@b.co"))]),
    );
    let outcome = mapper.to_canonical_outcome(&enforced.get(), &clean);
    assert!(outcome.is_ok_and(|o| o.warnings.is_empty()));
}

#[test]
fn a_picklist_can_write_several_remote_fields() {
    let mapper = toml_mapper(
        r#"
        [[objects.activity.fields]]
        local = "disposition"
        remote = ["CallDisposition", "Status"]
        [objects.activity.fields.transform]
        name = "picklist_map"
        map.Connected = { CallDisposition = "Connected", Status = "Completed" }
        map.Callback = { CallDisposition = "Call Back", Status = "Not Started" }
        "#,
    );
    let ctx = Ctx::new(ObjectKind::Activity);
    let remote = mapper.to_remote(
        &ctx.get(),
        "t",
        &fields(&[("disposition", json!("Callback"))]),
    );
    assert_eq!(
        remote.ok(),
        Some(fields(&[
            ("CallDisposition", json!("Call Back")),
            ("Status", json!("Not Started"))
        ]))
    );
    let record = Record::new(
        "00T",
        ObjectKind::Activity,
        fields(&[
            ("CallDisposition", json!("Connected")),
            ("Status", json!("Completed")),
        ]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    assert_eq!(
        canonical.ok(),
        Some(fields(&[("disposition", json!("Connected"))]))
    );
}

#[test]
fn typed_providers_get_numbers_and_booleans() {
    let mapper = toml_mapper(
        r#"
        remote_values = "typed"

        [[objects.deal.fields]]
        local = "amount_cents"
        remote = "Amount"
        transform = "currency_cents"

        [[objects.deal.fields]]
        local = "hot"
        remote = "Hot__c"
        transform = "boolean_checkbox"

        [[objects.deal.fields]]
        local = "closed_at"
        remote = "Closed_At__c"
        transform = "date_sfdc"
        "#,
    );
    let ctx = Ctx::new(ObjectKind::Deal);
    let record = Record::new(
        "006",
        ObjectKind::Deal,
        fields(&[
            ("Amount", json!(49.99)),
            ("Hot__c", json!(true)),
            ("Closed_At__c", json!("2024-05-01T10:00:00.000+0000")),
        ]),
    );
    let canonical = mapper.to_canonical(&ctx.get(), &record).map(|c| c.fields);
    let canonical = canonical.unwrap_or_default();
    assert_eq!(canonical["amount_cents"], json!(4999));
    assert_eq!(canonical["closed_at"], json!("2024-05-01T10:00:00.000Z"));
    let remote = mapper.to_remote(&ctx.get(), "006", &canonical);
    assert_eq!(remote.ok(), Some(record.fields));
}

/// `prefix`: a factory-built transform of the application's own.
struct Prefix(String);

impl Transform for Prefix {
    fn name(&self) -> &str {
        "prefix"
    }
    fn inbound(&self, v: &Value, _: &TransformEnv) -> Result<Value, TransformError> {
        let s = v
            .as_str()
            .ok_or_else(|| TransformError::new("expected text"))?;
        Ok(json!(s.strip_prefix(self.0.as_str()).unwrap_or(s)))
    }
    fn outbound(&self, v: &Value, _: &TransformEnv) -> Result<Value, TransformError> {
        let s = v
            .as_str()
            .ok_or_else(|| TransformError::new("expected text"))?;
        Ok(json!(format!("{}{s}", self.0)))
    }
    fn compatible_with(&self, field_type: &crmsync_core::FieldType) -> bool {
        FieldClass::of(field_type).is_one_of(&[FieldClass::Text])
    }
}

struct PrefixFactory;

impl TransformFactory for PrefixFactory {
    fn name(&self) -> &str {
        "prefix"
    }
    fn build(
        &self,
        options: &serde_json::Map<String, Value>,
        rule: RuleShape<'_>,
    ) -> Result<Arc<dyn Transform>, String> {
        assert_eq!(rule.local.len(), 1);
        match options.get("text") {
            Some(Value::String(t)) => Ok(Arc::new(Prefix(t.clone()))),
            _ => Err("needs `text`".to_owned()),
        }
    }
}

#[test]
fn applications_register_factories_for_transforms_with_options() {
    let config = MappingConfig::default().with_object(
        "contact",
        [FieldRule::new("ref", "External_Id__c")
            .transform(TransformSpec::new("prefix").option("text", json!("APP-")))],
    );
    assert!(DeclarativeMapper::new(config.clone()).is_err());
    let mapper = DeclarativeMapper::builder(config.clone())
        .transform_factory(Arc::new(PrefixFactory))
        .build();
    let mapper = match mapper {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let ctx = Ctx::new(ObjectKind::Contact);
    let remote = mapper.to_remote(&ctx.get(), "1", &fields(&[("ref", json!("42"))]));
    assert_eq!(
        remote.ok(),
        Some(fields(&[("External_Id__c", json!("APP-42"))]))
    );
    assert_eq!(Prefix(String::new()).arity(), Arity::ONE);

    let mut bad = config;
    if let Some(contact) = bad.objects.get_mut("contact") {
        contact.fields[0].transform = TransformSpec::new("prefix");
    }
    let err = DeclarativeMapper::builder(bad)
        .transform_factory(Arc::new(PrefixFactory))
        .build()
        .err()
        .map(|e| e.message().to_owned())
        .unwrap_or_default();
    assert!(
        err.contains(
            "rule #0 (local `ref`, remote `External_Id__c`): transform `prefix`: needs `text`"
        ),
        "{err}"
    );
}
