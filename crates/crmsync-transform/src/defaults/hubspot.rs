//! HubSpot's standard contact, company, deal and call properties in the application's
//! canonical names.

use crate::{DeclarativeMapper, FieldRule, MappingConfig, PhoneRegion, Validation};

impl MappingConfig {
    /// HubSpot's standard contact, company, deal and call properties, default region
    /// `US`, values as text.
    ///
    /// | object | canonical ⇄ HubSpot | transform |
    /// | --- | --- | --- |
    /// | contact | `first_name` ⇄ `firstname`, `last_name` ⇄ `lastname` | |
    /// | | `email` ⇄ `email` (validated) | `email` |
    /// | | `phone` ⇄ `phone`, `mobile_phone` ⇄ `mobilephone` | `phone_e164` |
    /// | | `company` ⇄ `company`, `title` ⇄ `jobtitle`, `lead_status` ⇄ `hs_lead_status`, `lifecycle_stage` ⇄ `lifecyclestage`, `city` ⇄ `city`, `country` ⇄ `country` | |
    /// | | `owner` ← `hubspot_owner_id` (inbound only: owner ids are HubSpot's) | |
    /// | | phone region: `country` ⇄ `country` (see [`ObjectMapping::phone_region`]) | |
    /// | company | `name` ⇄ `name` (required) | |
    /// | | `domain` ⇄ `domain` | `lowercase` |
    /// | | `phone` ⇄ `phone` | `phone_e164` |
    /// | | `city` ⇄ `city`, `country` ⇄ `country`, `industry` ⇄ `industry` | |
    /// | | phone region: `country` ⇄ `country` | |
    /// | | `employees` ⇄ `numberofemployees` | `integer` |
    /// | deal | `name` ⇄ `dealname` (required) | |
    /// | | `amount` ⇄ `amount` | `decimal` |
    /// | | `stage` ⇄ `dealstage`, `pipeline` ⇄ `pipeline` | |
    /// | | `close_date` ⇄ `closedate` | `datetime_iso` |
    /// | activity (calls) | `subject` ⇄ `hs_call_title`, `notes` ⇄ `hs_call_body` | |
    /// | | `call_status` ⇄ `hs_call_status`, `call_direction` ⇄ `hs_call_direction` | |
    /// | | `call_duration` (seconds) ⇄ `hs_call_duration` (milliseconds) | `duration_ms` |
    /// | | `occurred_at` ⇄ `hs_timestamp` | `datetime_iso` |
    /// | | `recording_url` ⇄ `hs_call_recording_url` (validated) | |
    ///
    /// Call dispositions are not mapped here: HubSpot portals name call outcomes by ids of
    /// their own; see [`dispositions`](crate::dispositions).
    ///
    /// Contacts' national phone numbers (`"0117 853 9929"`) are read in the contact's
    /// `country` (`"United Kingdom"`, `"GB"`, `"GBR"`, ...), and companies' in theirs
    /// (HubSpot's standard `country` property), falling back to the default region.
    ///
    /// Only properties every HubSpot portal has are mapped (HubSpot rejects writes to
    /// unknown properties); add [`hubspot_dialer_contact_rules`] once the portal has the
    /// custom properties they write.
    ///
    /// [`ObjectMapping::phone_region`]: crate::ObjectMapping::phone_region
    pub fn hubspot_defaults() -> Self {
        let text = |local: &str, remote: &str| FieldRule::new(local, remote);
        let phone =
            |local: &str, remote: &str| FieldRule::new(local, remote).transform("phone_e164");
        MappingConfig::default()
            .with_object(
                "contact",
                [
                    text("first_name", "firstname"),
                    text("last_name", "lastname"),
                    FieldRule::new("email", "email")
                        .transform("email")
                        .validate(Validation::Email),
                    phone("phone", "phone"),
                    phone("mobile_phone", "mobilephone"),
                    text("company", "company"),
                    text("title", "jobtitle"),
                    text("lead_status", "hs_lead_status"),
                    text("lifecycle_stage", "lifecyclestage"),
                    text("city", "city"),
                    text("country", "country"),
                    text("owner", "hubspot_owner_id").inbound(),
                ],
            )
            .with_phone_region("contact", PhoneRegion::new("country", "country"))
            .with_object(
                "company",
                [
                    text("name", "name").required(),
                    FieldRule::new("domain", "domain").transform("lowercase"),
                    phone("phone", "phone"),
                    text("city", "city"),
                    text("country", "country"),
                    text("industry", "industry"),
                    FieldRule::new("employees", "numberofemployees").transform("integer"),
                ],
            )
            .with_phone_region("company", PhoneRegion::new("country", "country"))
            .with_object(
                "deal",
                [
                    text("name", "dealname").required(),
                    FieldRule::new("amount", "amount").transform("decimal"),
                    text("stage", "dealstage"),
                    text("pipeline", "pipeline"),
                    FieldRule::new("close_date", "closedate").transform("datetime_iso"),
                ],
            )
            .with_object(
                "activity",
                [
                    text("subject", "hs_call_title"),
                    text("notes", "hs_call_body"),
                    text("call_status", "hs_call_status"),
                    text("call_direction", "hs_call_direction"),
                    FieldRule::new("call_duration", "hs_call_duration").transform("duration_ms"),
                    FieldRule::new("occurred_at", "hs_timestamp").transform("datetime_iso"),
                    text("recording_url", "hs_call_recording_url").validate(Validation::Url),
                ],
            )
            .with_remote_object("contact", "contacts")
            .with_remote_object("company", "companies")
            .with_remote_object("deal", "deals")
            .with_remote_object("activity", "calls")
    }
}

/// Outbound-only contact rules for a dialer's call data, to append to
/// [`MappingConfig::hubspot_defaults`]'s contact rules once the HubSpot portal has the
/// custom contact properties they write: `ai_call_score` (number), `num_calls` (number)
/// and `last_call_date` (date-time). Like every outbound rule, each applies only when the
/// patch carries its canonical field (`ai_score`, `call_count`, `last_called_at`).
///
/// ```
/// use crmsync_transform::{DeclarativeMapper, MappingConfig, hubspot_dialer_contact_rules};
///
/// let mut config = MappingConfig::hubspot_defaults();
/// if let Some(contact) = config.objects.get_mut("contact") {
///     contact.fields.extend(hubspot_dialer_contact_rules());
/// }
/// let mapper = DeclarativeMapper::new(config)?;
/// # Ok::<(), crmsync_core::Error>(())
/// ```
pub fn hubspot_dialer_contact_rules() -> Vec<FieldRule> {
    vec![
        FieldRule::new("ai_score", "ai_call_score")
            .outbound()
            .transform("integer")
            .validate(Validation::Range {
                min: Some(0.0),
                max: Some(100.0),
            }),
        FieldRule::new("call_count", "num_calls")
            .outbound()
            .transform("integer")
            .validate(Validation::Range {
                min: Some(0.0),
                max: None,
            }),
        FieldRule::new("last_called_at", "last_call_date")
            .outbound()
            .transform("datetime_iso"),
    ]
}

impl DeclarativeMapper {
    /// A mapper over [`MappingConfig::hubspot_defaults`].
    ///
    /// # Panics
    /// Never: the built-in configuration is valid (a test proves it).
    pub fn hubspot_defaults() -> Self {
        Self::new(MappingConfig::hubspot_defaults())
            .unwrap_or_else(|err| panic!("the built-in HubSpot mapping does not compile: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_core::{
        ConnectionId, ErrorKind, FieldMapper, Fields, MapContext, ObjectKind, Record, TenantId,
    };
    use serde_json::{Value, json};

    fn with_ctx<T>(object: ObjectKind, f: impl FnOnce(&MapContext<'_>) -> T) -> T {
        let tenant = TenantId::new("acme");
        let connection = ConnectionId::new("hubspot-1");
        f(&MapContext {
            tenant: &tenant,
            connection: &connection,
            object: &object,
            skip_validation: false,
        })
    }

    fn props(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect()
    }

    /// The properties every portal knows, per object.
    const HUBSPOT_STANDARD: [(&str, &[&str]); 4] = [
        (
            "contact",
            &[
                "firstname",
                "lastname",
                "email",
                "phone",
                "mobilephone",
                "company",
                "jobtitle",
                "hs_lead_status",
                "lifecyclestage",
                "city",
                "country",
                "hubspot_owner_id",
            ],
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
                "numberofemployees",
            ],
        ),
        (
            "deal",
            &["dealname", "amount", "dealstage", "pipeline", "closedate"],
        ),
        (
            "activity",
            &[
                "hs_call_title",
                "hs_call_body",
                "hs_call_status",
                "hs_call_direction",
                "hs_call_duration",
                "hs_timestamp",
                "hs_call_recording_url",
            ],
        ),
    ];

    #[test]
    fn defaults_only_touch_standard_hubspot_properties() {
        let config = MappingConfig::hubspot_defaults();
        assert_eq!(config.objects.len(), 4);
        for (object, standard) in HUBSPOT_STANDARD {
            let rules = &config.objects[object].fields;
            let remotes: Vec<&str> = rules.iter().map(|r| r.remote.first()).collect();
            assert_eq!(remotes, standard, "{object}");
        }
    }

    #[test]
    fn defaults_compile_and_list_fields() {
        let mapper = DeclarativeMapper::hubspot_defaults();
        with_ctx(ObjectKind::Contact, |ctx| {
            assert_eq!(mapper.remote_fields(ctx), HUBSPOT_STANDARD[0].1);
            assert!(mapper.inbound_fields(ctx).contains(&"owner".to_owned()));
            assert!(!mapper.outbound_fields(ctx).contains(&"owner".to_owned()));
            assert_eq!(mapper.outbound_fields(ctx).len(), 11);
        });
        with_ctx(ObjectKind::Deal, |ctx| {
            assert_eq!(
                mapper.inbound_fields(ctx),
                ["name", "amount", "stage", "pipeline", "close_date"]
            );
        });
        with_ctx(ObjectKind::Lead, |ctx| {
            assert!(mapper.remote_fields(ctx).is_empty());
            assert!(!mapper.maps(ctx.object));
        });
    }

    #[test]
    fn a_realistic_hubspot_contact_maps_to_canonical() {
        let mapper = DeclarativeMapper::hubspot_defaults();
        let mut fields = props(&[
            ("firstname", "Ada"),
            ("lastname", "Lovelace"),
            ("email", " Ada.Lovelace@Analytical-Engines.CO.UK "),
            ("phone", "(650) 253-0000"),
            ("mobilephone", "+44 7400 123456"),
            ("company", "Analytical Engines Ltd"),
            ("jobtitle", "Head of Research"),
            ("hs_lead_status", "IN_PROGRESS"),
            ("lifecyclestage", "salesqualifiedlead"),
            ("city", ""),
            ("country", "United Kingdom"),
            ("hubspot_owner_id", "83736152"),
            ("createdate", "2024-04-02T09:12:44.512Z"),
            ("lastmodifieddate", "2024-05-01T10:00:00.000Z"),
            ("hs_object_id", "101"),
        ]);
        fields.insert("notes_last_updated".into(), Value::Null);
        let record = Record::new("101", ObjectKind::Contact, fields);
        let canonical = with_ctx(ObjectKind::Contact, |ctx| mapper.to_canonical(ctx, &record));
        let canonical = match canonical {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        let expected: Fields = [
            ("first_name", json!("Ada")),
            ("last_name", json!("Lovelace")),
            ("email", json!("ada.lovelace@analytical-engines.co.uk")),
            ("phone", json!("+16502530000")),
            ("mobile_phone", json!("+447400123456")),
            ("company", json!("Analytical Engines Ltd")),
            ("title", json!("Head of Research")),
            ("lead_status", json!("IN_PROGRESS")),
            ("lifecycle_stage", json!("salesqualifiedlead")),
            ("country", json!("United Kingdom")),
            ("owner", json!("83736152")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(canonical.fields, expected);

        // Written back, the same values come out in HubSpot's names (minus inbound-only).
        let remote = with_ctx(ObjectKind::Contact, |ctx| {
            mapper.to_remote(ctx, "101", &canonical.fields)
        });
        let remote = match remote {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(remote.len(), 10);
        assert_eq!(
            remote["email"],
            json!("ada.lovelace@analytical-engines.co.uk")
        );
        assert_eq!(remote["mobilephone"], json!("+447400123456"));
        assert!(!remote.contains_key("hubspot_owner_id"));
    }

    #[test]
    fn companies_and_deals_map_both_ways() {
        let mapper = DeclarativeMapper::hubspot_defaults();
        let company = Record::new(
            "9001",
            ObjectKind::Company,
            props(&[
                ("name", "Initech"),
                ("domain", "Initech.COM"),
                ("phone", "+1 212-736-5000"),
                ("numberofemployees", "250"),
                ("industry", "COMPUTER_SOFTWARE"),
            ]),
        );
        let canonical = with_ctx(ObjectKind::Company, |ctx| {
            mapper.to_canonical(ctx, &company)
        });
        let fields = canonical.map(|c| c.fields).unwrap_or_default();
        assert_eq!(fields["domain"], json!("initech.com"));
        assert_eq!(fields["phone"], json!("+12127365000"));
        assert_eq!(fields["employees"], json!(250));
        let remote = with_ctx(ObjectKind::Company, |ctx| {
            mapper.to_remote(ctx, "9001", &fields)
        });
        assert_eq!(
            remote.ok().map(|r| r["numberofemployees"].clone()),
            Some(json!("250"))
        );

        let deal = Record::new(
            "77",
            ObjectKind::Deal,
            props(&[
                ("dealname", "Initech renewal"),
                ("amount", "1200.50"),
                ("dealstage", "contractsent"),
                ("pipeline", "default"),
                ("closedate", "1714521600000"),
            ]),
        );
        let canonical = with_ctx(ObjectKind::Deal, |ctx| mapper.to_canonical(ctx, &deal));
        let fields = canonical.map(|c| c.fields).unwrap_or_default();
        assert_eq!(fields["amount"], json!("1200.50"));
        assert_eq!(fields["close_date"], json!("2024-05-01T00:00:00.000Z"));
        let remote = with_ctx(ObjectKind::Deal, |ctx| mapper.to_remote(ctx, "77", &fields));
        let remote = remote.unwrap_or_default();
        assert_eq!(remote["amount"], json!("1200.50"));
        assert_eq!(remote["closedate"], json!("2024-05-01T00:00:00.000Z"));
        assert_eq!(remote["dealname"], json!("Initech renewal"));
    }

    #[test]
    fn calls_map_durations_in_seconds() {
        let mapper = DeclarativeMapper::hubspot_defaults();
        let call = Record::new(
            "c-1",
            ObjectKind::Activity,
            props(&[
                ("hs_call_title", "Outbound Sales Call"),
                ("hs_call_body", "Discussed pricing."),
                ("hs_call_duration", "342000"),
                ("hs_call_status", "COMPLETED"),
                ("hs_call_direction", "OUTBOUND"),
                ("hs_timestamp", "2024-01-15T14:30:00.000Z"),
                (
                    "hs_call_recording_url",
                    "https://recordings.example.com/rec_abc123.mp3",
                ),
            ]),
        );
        let canonical = with_ctx(ObjectKind::Activity, |ctx| mapper.to_canonical(ctx, &call));
        let fields = canonical.map(|c| c.fields).unwrap_or_default();
        assert_eq!(fields["call_duration"], json!(342));
        assert_eq!(fields["occurred_at"], json!("2024-01-15T14:30:00.000Z"));
        assert_eq!(fields["subject"], json!("Outbound Sales Call"));
        let remote = with_ctx(ObjectKind::Activity, |ctx| {
            mapper.to_remote(ctx, "c-1", &fields)
        });
        let remote = remote.unwrap_or_default();
        assert_eq!(remote, call.fields);
    }

    #[test]
    fn a_deal_without_a_name_fails_required() {
        let mapper = DeclarativeMapper::hubspot_defaults();
        let deal = Record::new(
            "78",
            ObjectKind::Deal,
            props(&[("dealname", ""), ("amount", "5")]),
        );
        let failure = with_ctx(ObjectKind::Deal, |ctx| mapper.to_canonical(ctx, &deal)).err();
        let first = failure.as_ref().and_then(|f| f.first());
        assert_eq!(first.map(|e| e.kind()), Some(ErrorKind::Validation));
        assert_eq!(
            first.and_then(|e| e.context().rule.clone()),
            Some("required".into())
        );
        assert_eq!(
            first.and_then(|e| e.context().field.clone()),
            Some("name".into())
        );
    }

    #[test]
    fn dialer_rules_are_outbound_only_and_skipped_when_absent() {
        let mut config = MappingConfig::hubspot_defaults();
        if let Some(contact) = config.objects.get_mut("contact") {
            contact.fields.extend(hubspot_dialer_contact_rules());
        }
        let mapper = DeclarativeMapper::new(config);
        let mapper = match mapper {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        with_ctx(ObjectKind::Contact, |ctx| {
            // Never requested from HubSpot.
            assert!(
                !mapper
                    .remote_fields(ctx)
                    .contains(&"ai_call_score".to_owned())
            );
            // A patch without call data writes no call properties.
            let patch: Fields = [("first_name".to_owned(), json!("Ada"))].into();
            let remote = mapper.to_remote(ctx, "1", &patch).unwrap_or_default();
            assert_eq!(remote.keys().collect::<Vec<_>>(), ["firstname"]);
            // A patch with call data writes them.
            let patch: Fields = [
                ("ai_score".to_owned(), json!(87)),
                ("call_count".to_owned(), json!(3)),
                ("last_called_at".to_owned(), json!("2024-05-01T09:30:00Z")),
            ]
            .into();
            let remote = mapper.to_remote(ctx, "1", &patch).unwrap_or_default();
            assert_eq!(remote["ai_call_score"], json!("87"));
            assert_eq!(remote["num_calls"], json!("3"));
            assert_eq!(remote["last_call_date"], json!("2024-05-01T09:30:00.000Z"));
        });
    }
}
