//! Ready-made mappings: each provider's standard objects in the application's canonical
//! names. Tenants start from these and override them with a
//! [`MappingOverlay`](crate::MappingOverlay).
//!
//! The canonical names are the same wherever the concept is: a HubSpot contact's
//! `firstname` and a Salesforce Contact's `FirstName` are both `first_name`, a HubSpot
//! deal's `dealname` and an Opportunity's `Name` both `name`.
//!
//! Dynamics 365 / Dataverse: see [`MappingConfig::dynamics_defaults`](crate::MappingConfig::dynamics_defaults)
//! (contact `firstname`, `lastname`, `emailaddress1`, `telephone1`, `mobilephone`,
//! `jobtitle`, `address1_city`, `address1_country`; account `name`, `telephone1`,
//! `websiteurl`, `address1_*`; opportunity `name`, `estimatedvalue`, `closeprobability`,
//! `estimatedclosedate`, `stepname`; phone call `subject`, `description`, `directioncode`).
//!
//! | canonical | HubSpot | Salesforce |
//! | --- | --- | --- |
//! | contact `first_name`, `last_name`, `email`, `phone`, `mobile_phone`, `title`, `city`, `country`, `owner` | contact `firstname`, `lastname`, `email`, `phone`, `mobilephone`, `jobtitle`, `city`, `country`, `hubspot_owner_id` | Contact `FirstName`, `LastName`, `Email`, `Phone`, `MobilePhone`, `Title`, `MailingCity`, `MailingCountry`, `OwnerId` |
//! | lead `company`, `lead_status` | contact `company`, `hs_lead_status` | Lead `Company`, `Status` |
//! | company `name`, `domain`, `phone`, `city`, `country`, `industry`, `employees` | company `name`, `domain`, ... `numberofemployees` | Account `Name`, `Website`, `Phone`, `BillingCity`, `BillingCountry`, `Industry`, `NumberOfEmployees` |
//! | deal `name`, `amount`, `stage`, `close_date` | deal `dealname`, `amount`, `dealstage`, `closedate` | Opportunity `Name`, `Amount`, `StageName`, `CloseDate` |
//! | activity `subject`, `notes`, `call_duration` (seconds), `call_direction` | call `hs_call_title`, `hs_call_body`, `hs_call_duration` (ms), `hs_call_direction` | Task `Subject`, `Description`, `CallDurationInSeconds`, `CallType` |

mod dynamics;
mod hubspot;
mod salesforce;

pub mod dispositions;

pub use hubspot::hubspot_dialer_contact_rules;
