//! Identifiers of the domain: tenants, connections, providers, objects, records.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps an identifier.
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}

string_id!(
    /// One customer of the application. Every stored row and every query is scoped by it.
    TenantId
);
string_id!(
    /// One tenant's link to one CRM account (a HubSpot portal, a Salesforce org, ...).
    ConnectionId
);
string_id!(
    /// A record's id in the system that owns it (a CRM id, or the application's id).
    RecordId
);

/// Which system a provider talks to.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProviderKind {
    /// HubSpot CRM v3.
    Hubspot,
    /// Salesforce REST / Bulk API 2.0.
    Salesforce,
    /// Microsoft Dynamics 365 (Dataverse Web API).
    Dynamics,
    /// Zapier REST hooks and catch hooks.
    Zapier,
    /// The application's own records kept in the store's mirror tables.
    Mirror,
    /// A provider implemented outside crmsync.
    Other(String),
}

impl ProviderKind {
    /// Stable lower-case name, as stored and shown.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Hubspot => "hubspot",
            Self::Salesforce => "salesforce",
            Self::Dynamics => "dynamics",
            Self::Zapier => "zapier",
            Self::Mirror => "mirror",
            Self::Other(name) => name,
        }
    }

    /// Parses the stable name back; unknown names become [`ProviderKind::Other`].
    pub fn parse(name: &str) -> Self {
        match name {
            "hubspot" => Self::Hubspot,
            "salesforce" => Self::Salesforce,
            "dynamics" => Self::Dynamics,
            "zapier" => Self::Zapier,
            "mirror" => Self::Mirror,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of business object a record is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A person (HubSpot contact, Salesforce Contact, Dataverse contact).
    Contact,
    /// An organisation (HubSpot company, Salesforce Account).
    Company,
    /// A sales opportunity (HubSpot deal, Salesforce Opportunity).
    Deal,
    /// An unqualified prospect (Salesforce Lead).
    Lead,
    /// A call, task, note or meeting.
    Activity,
    /// A custom object, by the name the provider uses.
    Custom(String),
}

impl ObjectKind {
    /// The kinds every CRM has in some form.
    pub const STANDARD: [ObjectKind; 5] = [
        ObjectKind::Contact,
        ObjectKind::Company,
        ObjectKind::Deal,
        ObjectKind::Lead,
        ObjectKind::Activity,
    ];

    /// Stable lower-case name, as stored and shown (`contact`, `company`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Contact => "contact",
            Self::Company => "company",
            Self::Deal => "deal",
            Self::Lead => "lead",
            Self::Activity => "activity",
            Self::Custom(name) => name,
        }
    }

    /// Parses a name; plural forms of the standard kinds are accepted too.
    pub fn parse(name: &str) -> Self {
        match name {
            "contact" | "contacts" => Self::Contact,
            "company" | "companies" | "account" | "accounts" => Self::Company,
            "deal" | "deals" | "opportunity" | "opportunities" => Self::Deal,
            "lead" | "leads" => Self::Lead,
            "activity" | "activities" => Self::Activity,
            other => Self::Custom(other.to_owned()),
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ObjectKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ObjectKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(Self::parse(&name))
    }
}
