//! Declarative field mapping for crmsync: provider records ⇄ canonical records.
//!
//! - [`MappingConfig`] (serde; JSON or TOML) lists, per object, [`FieldRule`]s: canonical
//!   field ⇄ remote field, a [`FieldDirection`], a named [transform](transforms), whether
//!   the field is required, [`Validation`]s and a default; optionally a [`PhoneRegion`]:
//!   the field holding each record's country, to read national phone numbers in it.
//! - [`DeclarativeMapper`] checks and compiles a configuration once and implements
//!   [`FieldMapper`](crmsync_core::FieldMapper); failures name the record, the field and
//!   the rule, never a phone number or an e-mail address.
//! - [`MappingConfig::hubspot_defaults`] maps HubSpot's standard contact, company and
//!   deal properties.
//! - [`IdentityMapper`] maps a system that already speaks canonical names;
//!   [`ConnectionMappers`] picks a mapper per tenant or connection.
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
//! "#)?;
//! let mapper = DeclarativeMapper::new(config)?;
//! # Ok::<(), crmsync_core::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
mod defaults;
mod identity;
mod mapper;
mod per_connection;
pub mod transforms;
mod validate;

pub use config::{
    FieldDirection, FieldRule, MappingConfig, ObjectMapping, PhoneRegion, Validation,
};
pub use defaults::hubspot_dialer_contact_rules;
pub use identity::IdentityMapper;
pub use mapper::{DeclarativeMapper, DeclarativeMapperBuilder};
pub use per_connection::ConnectionMappers;
pub use transforms::{
    Transform, TransformEnv, TransformError, TransformRegistry, normalize_decimal, normalize_email,
    normalize_phone, region_for_country,
};
