//! Salesforce's standard Contact, Lead, Account, Opportunity and Task fields in the
//! application's canonical names (the same names HubSpot's defaults use).

use serde_json::json;

use crate::{
    DeclarativeMapper, FieldRule, MappingConfig, PhoneRegion, RemoteValues, TransformSpec,
    Validation,
};

impl MappingConfig {
    /// Salesforce's standard objects, default region `US`, values typed (Salesforce
    /// sends and takes JSON numbers and booleans).
    ///
    /// | object | canonical ⇄ Salesforce | transform |
    /// | --- | --- | --- |
    /// | contact (`Contact`) | `first_name` ⇄ `FirstName`, `last_name` ⇄ `LastName` (required) | |
    /// | | `email` ⇄ `Email` (validated) | `email` |
    /// | | `phone` ⇄ `Phone`, `mobile_phone` ⇄ `MobilePhone`, national numbers read in `MailingCountry` | `phone_e164` |
    /// | | `title` ⇄ `Title`, `city` ⇄ `MailingCity`, `country` ⇄ `MailingCountry`, `lead_source` ⇄ `LeadSource` | |
    /// | | `owner` ← `OwnerId` (inbound only) | |
    /// | lead (`Lead`) | `first_name` ⇄ `FirstName`, `last_name` ⇄ `LastName` (required), `company` ⇄ `Company` (required) | |
    /// | | `email`, `phone`, `mobile_phone`, `title` as on contacts; `city` ⇄ `City`, `country` ⇄ `Country` (phone region) | |
    /// | | `lead_status` ⇄ `Status`: HubSpot's statuses ⇄ Salesforce's defaults (below); an unlisted status fails | `picklist_map` |
    /// | | `owner` ← `OwnerId` (inbound only) | |
    /// | company (`Account`) | `name` ⇄ `Name` (required) | |
    /// | | `phone` ⇄ `Phone`, national numbers read in `BillingCountry` | `phone_e164` |
    /// | | `domain` ⇄ `Website` | `url_domain` |
    /// | | `city` ⇄ `BillingCity`, `country` ⇄ `BillingCountry`, `industry` ⇄ `Industry` | |
    /// | | `employees` ⇄ `NumberOfEmployees` | `integer` |
    /// | deal (`Opportunity`) | `name` ⇄ `Name`, `stage` ⇄ `StageName` (required) | |
    /// | | `amount` ⇄ `Amount`: decimal text ⇄ an exact JSON number | `decimal` |
    /// | | `close_date` ⇄ `CloseDate` (required): a Salesforce date ⇄ midnight UTC, as HubSpot's `closedate` | `date_sfdc` |
    /// | activity (`Task`) | `subject` ⇄ `Subject`, `status` ⇄ `Status`, `notes` ⇄ `Description` | |
    /// | | `disposition` ⇄ `CallDisposition`: dialer dispositions (`Voicemail` ⇄ `Left Voicemail`, ...; others as they are) | `picklist_map` |
    /// | | `call_duration` ⇄ `CallDurationInSeconds` | `integer` |
    /// | | `call_direction` ⇄ `CallType`: `INBOUND`/`OUTBOUND`/`INTERNAL` ⇄ `Inbound`/`Outbound`/`Internal` | `picklist_map` |
    /// | | `due_date` ⇄ `ActivityDate` | `date_sfdc` |
    ///
    /// Lead statuses: `NEW` and `OPEN` → `Open - Not Contacted` (read back as `NEW`);
    /// `ATTEMPTED_TO_CONTACT`, `IN_PROGRESS` and `CONNECTED` → `Working - Contacted` (read
    /// back as `IN_PROGRESS`); `OPEN_DEAL` ⇄ `Closed - Converted`; `UNQUALIFIED` and
    /// `BAD_TIMING` → `Closed - Not Converted` (read back as `UNQUALIFIED`). Orgs with
    /// statuses of their own override the rule.
    pub fn salesforce_defaults() -> Self {
        let text = |local: &str, remote: &str| FieldRule::new(local, remote);
        let phone =
            |local: &str, remote: &str| FieldRule::new(local, remote).transform("phone_e164");
        let email = || {
            FieldRule::new("email", "Email")
                .transform("email")
                .validate(Validation::Email)
        };
        MappingConfig::default()
            .with_remote_values(RemoteValues::Typed)
            .with_object(
                "contact",
                [
                    text("first_name", "FirstName"),
                    text("last_name", "LastName").required(),
                    email(),
                    phone("phone", "Phone"),
                    phone("mobile_phone", "MobilePhone"),
                    text("title", "Title"),
                    text("city", "MailingCity"),
                    text("country", "MailingCountry"),
                    text("lead_source", "LeadSource"),
                    text("owner", "OwnerId").inbound(),
                ],
            )
            .with_phone_region("contact", PhoneRegion::new("MailingCountry", "country"))
            .with_remote_object("contact", "Contact")
            .with_object(
                "lead",
                [
                    text("first_name", "FirstName"),
                    text("last_name", "LastName").required(),
                    text("company", "Company").required(),
                    email(),
                    phone("phone", "Phone"),
                    phone("mobile_phone", "MobilePhone"),
                    text("title", "Title"),
                    FieldRule::new("lead_status", "Status").transform(lead_status_map()),
                    text("city", "City"),
                    text("country", "Country"),
                    text("owner", "OwnerId").inbound(),
                ],
            )
            .with_phone_region("lead", PhoneRegion::new("Country", "country"))
            .with_remote_object("lead", "Lead")
            .with_object(
                "company",
                [
                    text("name", "Name").required(),
                    phone("phone", "Phone"),
                    FieldRule::new("domain", "Website").transform("url_domain"),
                    text("city", "BillingCity"),
                    text("country", "BillingCountry"),
                    text("industry", "Industry"),
                    FieldRule::new("employees", "NumberOfEmployees").transform("integer"),
                ],
            )
            .with_phone_region("company", PhoneRegion::new("BillingCountry", "country"))
            .with_remote_object("company", "Account")
            .with_object(
                "deal",
                [
                    text("name", "Name").required(),
                    FieldRule::new("amount", "Amount").transform("decimal"),
                    text("stage", "StageName").required(),
                    FieldRule::new("close_date", "CloseDate")
                        .required()
                        .transform(
                            TransformSpec::new("date_sfdc")
                                .option("field", json!("date"))
                                .option("canonical", json!("datetime")),
                        ),
                ],
            )
            .with_remote_object("deal", "Opportunity")
            .with_object(
                "activity",
                [
                    text("subject", "Subject"),
                    text("status", "Status"),
                    FieldRule::new("disposition", "CallDisposition").transform(
                        TransformSpec::new("picklist_map")
                            .option("map", super::dispositions::salesforce_call_dispositions())
                            .option("unmapped", json!("pass_through")),
                    ),
                    FieldRule::new("call_duration", "CallDurationInSeconds")
                        .transform("integer")
                        .validate(Validation::Range {
                            min: Some(0.0),
                            max: None,
                        }),
                    FieldRule::new("call_direction", "CallType").transform(
                        TransformSpec::new("picklist_map")
                            .option(
                                "map",
                                json!({
                                    "INBOUND": "Inbound",
                                    "OUTBOUND": "Outbound",
                                    "INTERNAL": "Internal",
                                }),
                            )
                            .option("unmapped", json!("error")),
                    ),
                    text("notes", "Description"),
                    FieldRule::new("due_date", "ActivityDate")
                        .transform(TransformSpec::new("date_sfdc").option("field", json!("date"))),
                ],
            )
            .with_remote_object("activity", "Task")
    }
}

/// HubSpot's lead statuses (the canonical ones) ⇄ Salesforce's default Lead statuses.
fn lead_status_map() -> TransformSpec {
    TransformSpec::new("picklist_map")
        .option(
            "map",
            json!({
                "NEW": "Open - Not Contacted",
                "OPEN": "Open - Not Contacted",
                "ATTEMPTED_TO_CONTACT": "Working - Contacted",
                "IN_PROGRESS": "Working - Contacted",
                "CONNECTED": "Working - Contacted",
                "OPEN_DEAL": "Closed - Converted",
                "UNQUALIFIED": "Closed - Not Converted",
                "BAD_TIMING": "Closed - Not Converted",
            }),
        )
        .option(
            "inbound",
            json!({
                "Open - Not Contacted": "NEW",
                "Working - Contacted": "IN_PROGRESS",
                "Closed - Not Converted": "UNQUALIFIED",
            }),
        )
        .option("unmapped", json!("error"))
}

impl DeclarativeMapper {
    /// A mapper over [`MappingConfig::salesforce_defaults`].
    ///
    /// # Panics
    /// Never: the built-in configuration is valid (a test proves it).
    pub fn salesforce_defaults() -> Self {
        Self::new(MappingConfig::salesforce_defaults())
            .unwrap_or_else(|err| panic!("the built-in Salesforce mapping does not compile: {err}"))
    }
}

#[cfg(test)]
#[path = "salesforce_tests.rs"]
mod tests;
