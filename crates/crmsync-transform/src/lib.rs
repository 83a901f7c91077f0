//! Declarative field mapping for crmsync: provider records ⇄ canonical records.
//!
//! - [`MappingConfig`] (serde; JSON or TOML, from text or a file) lists, per object,
//!   [`FieldRule`]s: canonical field(s) ⇄ remote field(s), a [`FieldDirection`], a
//!   [transform](transforms) (a name, or a name with options: [`TransformSpec`]),
//!   whether the field is required, [`Validation`]s and a default; and object options:
//!   the provider's object name and a [`PhoneRegion`] (the field holding each record's
//!   country, to read national phone numbers in it).
//! - [`MappingOverlay`] layers a tenant's changes on a base mapping: rules replaced by
//!   their `local` name, added, or removed; [`ConnectionMappers`] picks a mapper per
//!   tenant or connection.
//! - [`DeclarativeMapper`] checks and compiles a configuration once and implements
//!   [`FieldMapper`](crmsync_core::FieldMapper); failures name the record, the field and
//!   the rule, never a phone number or an e-mail address.
//!   [`check_against`](DeclarativeMapper::check_against) checks it against what a
//!   provider's `describe()` reports; [`discover`] suggests rules for custom fields no
//!   rule maps.
//! - [`MappingConfig::hubspot_defaults`] and [`MappingConfig::salesforce_defaults`] map
//!   each provider's standard objects to the same canonical names;
//!   [`dispositions`] maps a dialer's call dispositions to each.
//! - [`IdentityMapper`] maps a system that already speaks canonical names.
//! - [`normalize_email`], [`normalize_phone`] and [`normalize_decimal`] are the
//!   normalizations the transforms apply, for match keys and the like;
//!   [`region_for_country`] reads a country name or code as a phone region.
//!
//! ```
//! use crmsync_transform::{DeclarativeMapper, MappingConfig};
//!
//! let config = MappingConfig::from_toml_str(r#"
//!     default_region = "GB"
//!
//!     [[objects.contact.fields]]
//!     local = "phone"
//!     remote = "Phone"
//!     transform = "phone_e164"
//!
//!     [[objects.contact.fields]]
//!     local = "email"
//!     remote = "Email"
//!     transform = "email"
//!     required = true
//!     validations = [{ rule = "email" }, { rule = "length", max = 254 }]
//!
//!     [[objects.contact.fields]]
//!     local = "lead_status"
//!     remote = "Status__c"
//!     transform = { name = "picklist_map", map = { NEW = "New", OPEN = "Open" }, unmapped = "pass_through" }
//!
//!     [[objects.contact.fields]]
//!     local = "country_code"
//!     remote = "Country_Code__c"
//!     transform = { name = "expr", inbound = "upper(trim(value))", outbound = "lower(value)" }
//! "#)?;
//! let mapper = DeclarativeMapper::new(config)?;
//! # Ok::<(), crmsync_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod defaults;
mod discover;
mod identity;
mod mapper;
mod per_connection;
mod schema;
pub mod transforms;
mod validate;

pub use config::{
    FieldDirection, FieldNames, FieldRule, MappingConfig, MappingOverlay, ObjectMapping,
    ObjectOverlay, PhoneRegion, RemoteValues, RuleOverlay, TransformSpec, Validation,
};
pub use defaults::{dispositions, hubspot_dialer_contact_rules};
pub use discover::{Suggestion, discover};
pub use identity::IdentityMapper;
pub use mapper::{DeclarativeMapper, DeclarativeMapperBuilder, MappingOutcome};
pub use per_connection::ConnectionMappers;
pub use schema::validate_with_schema;
pub use transforms::{
    Arity, RuleShape, Transform, TransformEnv, TransformError, TransformFactory, TransformRegistry,
    normalize_decimal, normalize_email, normalize_phone, region_for_country,
};
