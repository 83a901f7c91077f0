use super::*;
use crate::FieldRule;
use crmsync_core::FieldSchema;

fn field(name: &str, field_type: FieldType) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        label: name.into(),
        field_type,
        required: false,
        read_only: false,
        custom: name.ends_with("__c"),
        options: vec![],
    }
}

/// A Salesforce Contact as `describe()` reports it (the fields the defaults map, and a
/// few more).
fn contact_schema() -> ObjectSchema {
    let mut created = field("CreatedDate", FieldType::DateTime);
    created.read_only = true;
    ObjectSchema {
        object: ObjectKind::Contact,
        fields: vec![
            field("Id", FieldType::Other("id".into())),
            field("FirstName", FieldType::String),
            field("LastName", FieldType::String),
            field("Email", FieldType::Email),
            field("Phone", FieldType::Phone),
            field("MobilePhone", FieldType::Phone),
            field("Title", FieldType::String),
            field("MailingCity", FieldType::String),
            field("MailingCountry", FieldType::String),
            field("LeadSource", FieldType::Enumeration),
            field("OwnerId", FieldType::Reference),
            field("Dialer_Call_Count__c", FieldType::Other("double".into())),
            field("Dialer_DNC__c", FieldType::Boolean),
            created,
        ],
    }
}

fn check(config: MappingConfig, schema: &ObjectSchema) -> String {
    let mapper = match DeclarativeMapper::new(config) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    match mapper.check_against(schema) {
        Ok(()) => String::new(),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config);
            e.message().to_owned()
        }
    }
}

#[test]
fn the_salesforce_defaults_fit_salesforces_contact() {
    assert_eq!(
        check(MappingConfig::salesforce_defaults(), &contact_schema()),
        ""
    );
    assert!(
        validate_with_schema(
            &MappingConfig::salesforce_defaults(),
            &ObjectKind::Contact,
            &contact_schema()
        )
        .is_ok()
    );
}

#[test]
fn a_missing_field_is_named_with_the_rule_and_what_to_do() {
    let mut config = MappingConfig::salesforce_defaults();
    if let Some(contact) = config.objects.get_mut("contact") {
        contact.fields.push(FieldRule::new("foo", "Foo__c"));
        contact
            .fields
            .push(FieldRule::new("call_count", "Dialer_Call_Cuont__c").transform("integer"));
    }
    let text = check(config, &contact_schema());
    assert!(
        text.contains(
            "object `contact` rule #10 (local `foo`, remote `Foo__c`): field `Foo__c` does not \
             exist on Contact; run `crmsync discover` or fix the rule"
        ),
        "{text}"
    );
    assert!(
        text.contains("(did you mean `Dialer_Call_Count__c`?)"),
        "{text}"
    );
    assert!(
        text.starts_with("mapping configuration does not fit Contact"),
        "{text}"
    );
}

#[test]
fn a_transform_that_cannot_handle_the_field_type_is_refused() {
    let mut config = MappingConfig::salesforce_defaults();
    if let Some(contact) = config.objects.get_mut("contact") {
        contact.fields.push(
            FieldRule::new("title_number", "Title")
                .inbound()
                .transform("integer"),
        );
        contact
            .fields
            .push(FieldRule::new("dnc", "Dialer_DNC__c").transform("date_sfdc"));
        contact
            .fields
            .push(FieldRule::new("calls", "Dialer_Call_Count__c").transform("integer"));
    }
    let text = check(config, &contact_schema());
    assert!(
        text.contains(
            "rule #10 (local `title_number`, remote `Title`): field `Title` on Contact is a \
             text field, which transform `integer` cannot read or write; use `none`, `trim` or \
             a text transform for this field, or map `integer` to another field"
        ),
        "{text}"
    );
    assert!(
        text.contains("field `Dialer_DNC__c` on Contact is a checkbox (boolean) field")
            && text.contains("use `boolean_checkbox`"),
        "{text}"
    );
    // `double` is a number field: `integer` may read it.
    assert!(!text.contains("rule #12"), "{text}");
}

#[test]
fn writing_a_read_only_field_is_refused() {
    let mut config = MappingConfig::salesforce_defaults();
    if let Some(contact) = config.objects.get_mut("contact") {
        contact
            .fields
            .push(FieldRule::new("created_at", "CreatedDate").transform("date_sfdc"));
    }
    let text = check(config.clone(), &contact_schema());
    assert!(
        text.contains("field `CreatedDate` on Contact is read-only; set `direction = \"inbound\"`"),
        "{text}"
    );
    if let Some(contact) = config.objects.get_mut("contact") {
        if let Some(last) = contact.fields.last_mut() {
            last.direction = crate::FieldDirection::Inbound;
        }
    }
    assert_eq!(check(config, &contact_schema()), "");
}

#[test]
fn the_phone_region_field_must_exist_and_files_are_named() {
    let mut config = MappingConfig::salesforce_defaults().with_phone_region(
        "contact",
        crate::PhoneRegion::new("Mailing_Country", "country"),
    );
    config.source = Some("tenants/acme.toml".into());
    let text = check(config, &contact_schema());
    assert!(
        text.starts_with("mapping file `tenants/acme.toml` does not fit Contact"),
        "{text}"
    );
    assert!(
        text.contains("`phone_region` reads field `Mailing_Country`, which does not exist on Contact (did you mean `MailingCountry`?)"),
        "{text}"
    );
}

#[test]
fn hubspot_properties_are_checked_the_same_way() {
    let schema = ObjectSchema {
        object: ObjectKind::Deal,
        fields: vec![
            field("dealname", FieldType::String),
            field("amount", FieldType::Number),
            field("dealstage", FieldType::Enumeration),
            field("pipeline", FieldType::Enumeration),
            field("closedate", FieldType::DateTime),
        ],
    };
    assert_eq!(check(MappingConfig::hubspot_defaults(), &schema), "");
    let wrong = ObjectSchema {
        object: ObjectKind::Deal,
        fields: vec![
            field("dealname", FieldType::String),
            field("amount", FieldType::String),
            field("dealstage", FieldType::Enumeration),
            field("pipeline", FieldType::Enumeration),
            field("closedate", FieldType::Boolean),
        ],
    };
    let text = check(MappingConfig::hubspot_defaults(), &wrong);
    assert!(
        text.contains("field `amount` on deals is a text field, which transform `decimal`"),
        "{text}"
    );
    assert!(
        text.contains("field `closedate` on deals is a checkbox"),
        "{text}"
    );
}

#[test]
fn unmapped_objects_and_mismatched_schemas_are_errors() {
    let schema = ObjectSchema {
        object: ObjectKind::Custom("invoice".into()),
        fields: vec![],
    };
    let text = check(MappingConfig::hubspot_defaults(), &schema);
    assert!(
        text.contains("has no rules for object `invoice`; add `objects.invoice`"),
        "{text}"
    );
    let err = validate_with_schema(
        &MappingConfig::hubspot_defaults(),
        &ObjectKind::Contact,
        &schema,
    );
    assert!(
        err.err()
            .is_some_and(|e| e.message().contains("describes object `invoice`"))
    );
}

#[test]
fn near_names_are_suggested() {
    assert_eq!(distance("email", "email"), 0);
    assert_eq!(distance("emial", "email"), 2);
    assert_eq!(distance("firstname", "first_name"), 1);
    assert_eq!(distance("a", "abcdefgh"), usize::MAX);
}
