//! Dynamics 365 / Dataverse standard contact, lead, account, opportunity and phone call
//! columns in the application's canonical names (the names HubSpot's and Salesforce's
//! defaults use).

use serde_json::json;

use crate::{
    DeclarativeMapper, FieldRule, MappingConfig, PhoneRegion, RemoteValues, TransformSpec,
    Validation,
};

impl MappingConfig {
    /// Dataverse's standard tables (by entity set name), default region `US`, values
    /// typed (the Web API sends and takes JSON numbers and booleans; choice columns are
    /// integers).
    ///
    /// | object | canonical ⇄ Dataverse | transform |
    /// | --- | --- | --- |
    /// | contact (`contacts`) | `first_name` ⇄ `firstname`, `last_name` ⇄ `lastname` (required) | |
    /// | | `email` ⇄ `emailaddress1` (validated) | `email` |
    /// | | `phone` ⇄ `telephone1`, `mobile_phone` ⇄ `mobilephone`, national numbers read in `address1_country` | `phone_e164` |
    /// | | `title` ⇄ `jobtitle`, `city` ⇄ `address1_city`, `country` ⇄ `address1_country` | |
    /// | | `account_id` ← `parentcustomerid` (inbound only: the parent account's Dataverse GUID) | |
    /// | lead (`leads`) | `first_name`, `last_name` (required), `email`, `phone`, `mobile_phone`, `title`, `city`, `country` as on contacts; `company` ⇄ `companyname` | |
    /// | | `lead_status` ← `statuscode` (inbound only: 1 `NEW`, 2 `ATTEMPTED_TO_CONTACT`, 3 `OPEN_DEAL` (qualified), 4 `UNQUALIFIED` (lost), 5 `CANNOT_CONTACT`, 6 `NOT_INTERESTED`, 7 `CANCELED`; Dataverse changes a lead's status through its qualify and disqualify actions, not by writing it) | `picklist_map` |
    /// | company (`accounts`) | `name` ⇄ `name` (required) | |
    /// | | `phone` ⇄ `telephone1`, national numbers read in `address1_country` | `phone_e164` |
    /// | | `domain` ⇄ `websiteurl` | `url_domain` |
    /// | | `street` ⇄ `address1_line1`, `city` ⇄ `address1_city`, `postal_code` ⇄ `address1_postalcode`, `country` ⇄ `address1_country` | |
    /// | | `employees` ⇄ `numberofemployees` | `integer` |
    /// | deal (`opportunities`) | `name` ⇄ `name` (required), `stage` ⇄ `stepname` | |
    /// | | `amount` ⇄ `estimatedvalue` (money: an exact JSON number) | `decimal` |
    /// | | `probability` ⇄ `closeprobability` (0–100) | `integer` |
    /// | | `close_date` ⇄ `estimatedclosedate` (date only) ⇄ midnight UTC, as HubSpot's `closedate` | `date_sfdc` |
    /// | | `deal_status` ← `statuscode` (inbound only: 1 `OPEN`, 2 `ON_HOLD`, 3 `WON`, 4 `CANCELED`, 5 `OUT_SOLD`; won and lost are set by Dataverse's close actions) | `picklist_map` |
    /// | activity (`phonecalls`) | `subject` ⇄ `subject`, `notes` ⇄ `description` | |
    /// | | `call_direction` ⇄ `directioncode`: `OUTBOUND` ⇄ `true`, `INBOUND` ⇄ `false` | `picklist_map` |
    /// | | `call_duration_minutes` ⇄ `actualdurationminutes` | `integer` |
    /// | | `due_date` ⇄ `scheduledend` | `datetime_iso` |
    pub fn dynamics_defaults() -> Self {
        let text = |local: &str, remote: &str| FieldRule::new(local, remote);
        let phone =
            |local: &str, remote: &str| FieldRule::new(local, remote).transform("phone_e164");
        let email = || {
            FieldRule::new("email", "emailaddress1")
                .transform("email")
                .validate(Validation::Email)
        };
        MappingConfig::default()
            .with_remote_values(RemoteValues::Typed)
            .with_object(
                "contact",
                [
                    text("first_name", "firstname"),
                    text("last_name", "lastname").required(),
                    email(),
                    phone("phone", "telephone1"),
                    phone("mobile_phone", "mobilephone"),
                    text("title", "jobtitle"),
                    text("city", "address1_city"),
                    text("country", "address1_country"),
                    text("account_id", "parentcustomerid").inbound(),
                ],
            )
            .with_phone_region("contact", PhoneRegion::new("address1_country", "country"))
            .with_remote_object("contact", "contacts")
            .with_object(
                "lead",
                [
                    text("first_name", "firstname"),
                    text("last_name", "lastname").required(),
                    text("company", "companyname"),
                    email(),
                    phone("phone", "telephone1"),
                    phone("mobile_phone", "mobilephone"),
                    text("title", "jobtitle"),
                    text("city", "address1_city"),
                    text("country", "address1_country"),
                    FieldRule::new("lead_status", "statuscode")
                        .inbound()
                        .transform(
                            TransformSpec::new("picklist_map")
                                .option(
                                    "map",
                                    json!({
                                        "NEW": 1,
                                        "ATTEMPTED_TO_CONTACT": 2,
                                        "OPEN_DEAL": 3,
                                        "UNQUALIFIED": 4,
                                        "CANNOT_CONTACT": 5,
                                        "NOT_INTERESTED": 6,
                                        "CANCELED": 7,
                                    }),
                                )
                                .option("unmapped", json!("error")),
                        ),
                ],
            )
            .with_phone_region("lead", PhoneRegion::new("address1_country", "country"))
            .with_remote_object("lead", "leads")
            .with_object(
                "company",
                [
                    text("name", "name").required(),
                    phone("phone", "telephone1"),
                    FieldRule::new("domain", "websiteurl").transform("url_domain"),
                    text("street", "address1_line1"),
                    text("city", "address1_city"),
                    text("postal_code", "address1_postalcode"),
                    text("country", "address1_country"),
                    FieldRule::new("employees", "numberofemployees").transform("integer"),
                ],
            )
            .with_phone_region("company", PhoneRegion::new("address1_country", "country"))
            .with_remote_object("company", "accounts")
            .with_object(
                "deal",
                [
                    text("name", "name").required(),
                    FieldRule::new("amount", "estimatedvalue").transform("decimal"),
                    FieldRule::new("probability", "closeprobability")
                        .transform("integer")
                        .validate(Validation::Range {
                            min: Some(0.0),
                            max: Some(100.0),
                        }),
                    text("stage", "stepname"),
                    FieldRule::new("close_date", "estimatedclosedate").transform(
                        TransformSpec::new("date_sfdc")
                            .option("field", json!("date"))
                            .option("canonical", json!("datetime")),
                    ),
                    FieldRule::new("deal_status", "statuscode")
                        .inbound()
                        .transform(
                            TransformSpec::new("picklist_map")
                                .option(
                                    "map",
                                    json!({
                                        "OPEN": 1,
                                        "ON_HOLD": 2,
                                        "WON": 3,
                                        "CANCELED": 4,
                                        "OUT_SOLD": 5,
                                    }),
                                )
                                .option("unmapped", json!("pass_through")),
                        ),
                ],
            )
            .with_remote_object("deal", "opportunities")
            .with_object(
                "activity",
                [
                    text("subject", "subject"),
                    text("notes", "description"),
                    FieldRule::new("call_direction", "directioncode").transform(
                        TransformSpec::new("picklist_map")
                            .option("map", json!({"OUTBOUND": true, "INBOUND": false}))
                            .option("unmapped", json!("error")),
                    ),
                    FieldRule::new("call_duration_minutes", "actualdurationminutes")
                        .transform("integer")
                        .validate(Validation::Range {
                            min: Some(0.0),
                            max: None,
                        }),
                    FieldRule::new("due_date", "scheduledend").transform("datetime_iso"),
                ],
            )
            .with_remote_object("activity", "phonecalls")
    }
}

impl DeclarativeMapper {
    /// A mapper over [`MappingConfig::dynamics_defaults`].
    ///
    /// # Panics
    /// Never: the built-in configuration is valid (a test proves it).
    pub fn dynamics_defaults() -> Self {
        Self::new(MappingConfig::dynamics_defaults())
            .unwrap_or_else(|err| panic!("the built-in Dynamics mapping does not compile: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crmsync_core::{
        ConnectionId, FieldMapper, Fields, MapContext, ObjectKind, Record, TenantId,
    };
    use serde_json::Value;

    fn with_ctx<T>(object: ObjectKind, f: impl FnOnce(&MapContext<'_>) -> T) -> T {
        let tenant = TenantId::new("acme");
        let connection = ConnectionId::new("dynamics-1");
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

    #[test]
    fn the_built_in_mapping_compiles() {
        let _ = DeclarativeMapper::dynamics_defaults();
    }

    #[test]
    fn contacts_round_trip_with_e164_phones_and_the_parent_account_inbound() {
        let mapper = DeclarativeMapper::dynamics_defaults();
        with_ctx(ObjectKind::Contact, |ctx| {
            let record = Record::new(
                "7a1b2c3d-0000-0000-0000-000000000001",
                ObjectKind::Contact,
                fields(&[
                    ("firstname", json!("Ada")),
                    ("lastname", json!("Lovelace")),
                    ("emailaddress1", json!("Ada@Example.com")),
                    ("telephone1", json!("020 7946 0018")),
                    ("address1_country", json!("United Kingdom")),
                    (
                        "parentcustomerid",
                        json!("00000000-0000-0000-0000-0000000000aa"),
                    ),
                ]),
            );
            let canonical = mapper
                .to_canonical(ctx, &record)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                canonical.fields.get("email"),
                Some(&json!("ada@example.com"))
            );
            assert_eq!(canonical.fields.get("phone"), Some(&json!("+442079460018")));
            assert_eq!(
                canonical.fields.get("account_id"),
                Some(&json!("00000000-0000-0000-0000-0000000000aa"))
            );
            let out = mapper
                .to_remote(ctx, "local-1", &canonical.fields)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(out.get("lastname"), Some(&json!("Lovelace")));
            assert!(!out.contains_key("parentcustomerid"), "inbound only");
        });
    }

    #[test]
    fn deals_keep_money_exact_and_dates_as_midnight_utc() {
        let mapper = DeclarativeMapper::dynamics_defaults();
        with_ctx(ObjectKind::Deal, |ctx| {
            let record = Record::new(
                "o-1",
                ObjectKind::Deal,
                fields(&[
                    ("name", json!("Renewal")),
                    ("estimatedvalue", json!(12500.5)),
                    ("closeprobability", json!(70)),
                    ("estimatedclosedate", json!("2024-06-30")),
                    ("statuscode", json!(2)),
                ]),
            );
            let canonical = mapper
                .to_canonical(ctx, &record)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(canonical.fields.get("deal_status"), Some(&json!("ON_HOLD")));
            assert_eq!(canonical.fields.get("probability"), Some(&json!(70)));
            let out = mapper
                .to_remote(ctx, "local-1", &canonical.fields)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(out.get("estimatedvalue"), Some(&json!(12500.5)));
            assert_eq!(out.get("estimatedclosedate"), Some(&json!("2024-06-30")));
            assert!(!out.contains_key("statuscode"), "inbound only");
        });
    }

    #[test]
    fn call_directions_are_booleans_in_dataverse() {
        let mapper = DeclarativeMapper::dynamics_defaults();
        with_ctx(ObjectKind::Activity, |ctx| {
            let canonical = fields(&[
                ("subject", json!("Follow-up")),
                ("call_direction", json!("OUTBOUND")),
                ("call_duration_minutes", json!(12)),
            ]);
            let out = mapper
                .to_remote(ctx, "local-1", &canonical)
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(out.get("directioncode"), Some(&json!(true)));
            assert_eq!(out.get("actualdurationminutes"), Some(&json!(12)));
        });
    }
}
