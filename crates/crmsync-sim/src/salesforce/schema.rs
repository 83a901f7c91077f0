//! The sObjects the simulator serves and the fields each one defines: the single source of
//! truth for SOQL, writes, describe and the Bulk API. A field that is not listed here does
//! not exist.
//!
//! Every object starts with the same eight platform fields, at fixed positions ([`ID`],
//! [`IS_DELETED`], ...), so the store can keep them in the same value slots.

/// A field's data type, as `describe` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Id,
    String,
    Email,
    Phone,
    Url,
    Picklist,
    TextArea,
    Reference,
    Date,
    DateTime,
    Double,
    Currency,
    Percent,
    Int,
    Boolean,
}

impl FieldType {
    /// The `type` of `describe`.
    pub(crate) fn api_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Email => "email",
            FieldType::Phone => "phone",
            FieldType::Url => "url",
            FieldType::Picklist => "picklist",
            FieldType::TextArea => "textarea",
            FieldType::Reference => "reference",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Double => "double",
            FieldType::Currency => "currency",
            FieldType::Percent => "percent",
            FieldType::Int => "int",
            FieldType::Boolean => "boolean",
        }
    }

    /// The `soapType` of `describe`.
    pub(crate) fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Date => "xsd:date",
            FieldType::DateTime => "xsd:dateTime",
            FieldType::Double | FieldType::Currency | FieldType::Percent => "xsd:double",
            FieldType::Int => "xsd:int",
            FieldType::Boolean => "xsd:boolean",
            _ => "xsd:string",
        }
    }

    /// Types whose values are text (and compare without regard to case in SOQL).
    pub(crate) fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::Id
                | FieldType::String
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Picklist
                | FieldType::TextArea
                | FieldType::Reference
        )
    }

    /// Types whose values are numbers.
    pub(crate) fn is_number(self) -> bool {
        matches!(
            self,
            FieldType::Double | FieldType::Currency | FieldType::Percent | FieldType::Int
        )
    }

    /// Types whose values are record ids.
    pub(crate) fn is_id(self) -> bool {
        matches!(self, FieldType::Id | FieldType::Reference)
    }
}

/// One field of an sObject.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub ty: FieldType,
    /// Maximum length of text values (0 for other types).
    pub length: u32,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub custom: bool,
    pub external_id: bool,
    pub unique: bool,
    /// Allowed values of a (restricted) picklist.
    pub picklist: &'static [&'static str],
    /// The value a create that leaves the field out gets.
    pub default: Option<&'static str>,
    /// Objects a reference field points at.
    pub reference_to: &'static [&'static str],
    /// The relationship name of a reference field (`Account` for `AccountId`).
    pub relationship: Option<&'static str>,
    /// The object's name field.
    pub name_field: bool,
}

impl FieldDef {
    const fn new(name: &'static str, label: &'static str, ty: FieldType, length: u32) -> Self {
        Self {
            name,
            label,
            ty,
            length,
            nillable: true,
            createable: true,
            updateable: true,
            custom: false,
            external_id: false,
            unique: false,
            picklist: &[],
            default: None,
            reference_to: &[],
            relationship: None,
            name_field: false,
        }
    }

    const fn required(self) -> Self {
        Self {
            nillable: false,
            ..self
        }
    }

    const fn read_only(self) -> Self {
        Self {
            createable: false,
            updateable: false,
            ..self
        }
    }

    const fn defaults_to(self, value: &'static str) -> Self {
        Self {
            nillable: false,
            default: Some(value),
            ..self
        }
    }

    const fn name_field(self) -> Self {
        Self {
            name_field: true,
            ..self
        }
    }

    /// Whether a create must name this field.
    pub(crate) fn required_on_create(&self) -> bool {
        !self.nillable && self.createable && self.default.is_none()
    }
}

const fn text(name: &'static str, label: &'static str, length: u32) -> FieldDef {
    FieldDef::new(name, label, FieldType::String, length)
}

const fn typed(name: &'static str, label: &'static str, ty: FieldType) -> FieldDef {
    let length = match ty {
        FieldType::Email | FieldType::Url | FieldType::Picklist => 255,
        FieldType::Phone => 40,
        FieldType::TextArea => 32_000,
        FieldType::Id | FieldType::Reference => 18,
        _ => 0,
    };
    FieldDef::new(name, label, ty, length)
}

const fn picklist(
    name: &'static str,
    label: &'static str,
    values: &'static [&'static str],
) -> FieldDef {
    FieldDef {
        picklist: values,
        ..typed(name, label, FieldType::Picklist)
    }
}

const fn reference(
    name: &'static str,
    label: &'static str,
    to: &'static [&'static str],
    relationship: &'static str,
) -> FieldDef {
    FieldDef {
        reference_to: to,
        relationship: Some(relationship),
        ..typed(name, label, FieldType::Reference)
    }
}

/// `External_Id__c`: the custom, unique, case-insensitive external id every object but Task has.
const EXTERNAL_ID: FieldDef = FieldDef {
    custom: true,
    external_id: true,
    unique: true,
    ..text("External_Id__c", "External Id", 255)
};

/// `Legacy_Id__c`: a custom external id that is not unique, so an upsert on it can match
/// several records (300 Multiple Choices).
const LEGACY_ID: FieldDef = FieldDef {
    custom: true,
    external_id: true,
    ..text("Legacy_Id__c", "Legacy Id", 80)
};

/// Value slot of `Id`.
pub(crate) const ID: usize = 0;
/// Value slot of `IsDeleted`.
pub(crate) const IS_DELETED: usize = 1;
/// Value slot of `CreatedDate`.
pub(crate) const CREATED_DATE: usize = 2;
/// Value slot of `CreatedById`.
pub(crate) const CREATED_BY: usize = 3;
/// Value slot of `LastModifiedDate`.
pub(crate) const LAST_MODIFIED_DATE: usize = 4;
/// Value slot of `LastModifiedById`.
pub(crate) const LAST_MODIFIED_BY: usize = 5;
/// Value slot of `SystemModstamp`.
pub(crate) const SYSTEM_MODSTAMP: usize = 6;
/// Value slot of `OwnerId`.
pub(crate) const OWNER_ID: usize = 7;

/// The platform fields, then the object's own.
macro_rules! fields {
    ($($field:expr),* $(,)?) => {
        &[
            FieldDef { nillable: false, ..typed("Id", "Record ID", FieldType::Id) }.read_only(),
            typed("IsDeleted", "Deleted", FieldType::Boolean).defaults_to("false").read_only(),
            typed("CreatedDate", "Created Date", FieldType::DateTime).required().read_only(),
            reference("CreatedById", "Created By ID", &["User"], "CreatedBy").required().read_only(),
            typed("LastModifiedDate", "Last Modified Date", FieldType::DateTime).required().read_only(),
            reference("LastModifiedById", "Last Modified By ID", &["User"], "LastModifiedBy")
                .required()
                .read_only(),
            typed("SystemModstamp", "System Modstamp", FieldType::DateTime).required().read_only(),
            reference("OwnerId", "Owner ID", &["User", "Group"], "Owner").defaults_to(""),
            $($field),*
        ]
    };
}

/// One sObject type.
#[derive(Debug)]
pub(crate) struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub label_plural: &'static str,
    pub key_prefix: &'static str,
    pub fields: &'static [FieldDef],
}

impl ObjectDef {
    /// The position of a field, by API name in any case.
    pub(crate) fn field(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The reference field behind a relationship name (`Account` → `AccountId`), any case.
    pub(crate) fn relationship(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.relationship.is_some_and(|r| r.eq_ignore_ascii_case(name)))
    }
}

pub(crate) const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
pub(crate) const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Finance",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Retail",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];
pub(crate) const ACCOUNT_TYPES: &[&str] = &[
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Channel Partner / Reseller",
    "Installation Partner",
    "Technology Partner",
    "Other",
];
pub(crate) const LEAD_STATUSES: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
/// Opportunity stages with the probability (percent) each one implies.
pub(crate) const STAGES: &[(&str, u8)] = &[
    ("Prospecting", 10),
    ("Qualification", 10),
    ("Needs Analysis", 20),
    ("Value Proposition", 50),
    ("Id. Decision Makers", 60),
    ("Perception Analysis", 70),
    ("Proposal/Price Quote", 75),
    ("Negotiation/Review", 90),
    ("Closed Won", 100),
    ("Closed Lost", 0),
];
const STAGE_NAMES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];
pub(crate) const OPPORTUNITY_TYPES: &[&str] = &[
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
    "New Customer",
];
pub(crate) const TASK_STATUSES: &[&str] = &[
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
];
pub(crate) const TASK_PRIORITIES: &[&str] = &["High", "Normal", "Low"];
pub(crate) const CALL_TYPES: &[&str] = &["Internal", "Inbound", "Outbound"];
pub(crate) const TASK_SUBTYPES: &[&str] =
    &["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"];

/// Every object type the simulator serves; [`ObjectKind`]s index into it.
pub(crate) static OBJECTS: [ObjectDef; 5] = [
    ObjectDef {
        name: "Account",
        label: "Account",
        label_plural: "Accounts",
        key_prefix: "001",
        fields: fields![
            text("Name", "Account Name", 255).required().name_field(),
            typed("Phone", "Account Phone", FieldType::Phone),
            typed("Website", "Website", FieldType::Url),
            text("BillingCity", "Billing City", 40),
            text("BillingCountry", "Billing Country", 80),
            picklist("Industry", "Industry", INDUSTRIES),
            typed("NumberOfEmployees", "Employees", FieldType::Int),
            picklist("Type", "Account Type", ACCOUNT_TYPES),
            typed("AnnualRevenue", "Annual Revenue", FieldType::Currency),
            typed("Description", "Account Description", FieldType::TextArea),
            EXTERNAL_ID,
            LEGACY_ID,
        ],
    },
    ObjectDef {
        name: "Contact",
        label: "Contact",
        label_plural: "Contacts",
        key_prefix: "003",
        fields: fields![
            text("FirstName", "First Name", 40),
            text("LastName", "Last Name", 80).required(),
            text("Name", "Full Name", 121).read_only().name_field(),
            typed("Email", "Email", FieldType::Email),
            typed("Phone", "Business Phone", FieldType::Phone),
            typed("MobilePhone", "Mobile Phone", FieldType::Phone),
            text("Title", "Title", 128),
            reference("AccountId", "Account ID", &["Account"], "Account"),
            text("MailingCity", "Mailing City", 40),
            text("MailingCountry", "Mailing Country", 80),
            picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            typed("Birthdate", "Birthdate", FieldType::Date),
            typed("HasOptedOutOfEmail", "Email Opt Out", FieldType::Boolean).defaults_to("false"),
            typed("Description", "Contact Description", FieldType::TextArea),
            EXTERNAL_ID,
            LEGACY_ID,
        ],
    },
    ObjectDef {
        name: "Lead",
        label: "Lead",
        label_plural: "Leads",
        key_prefix: "00Q",
        fields: fields![
            text("FirstName", "First Name", 40),
            text("LastName", "Last Name", 80).required(),
            text("Name", "Full Name", 121).read_only().name_field(),
            text("Company", "Company", 255).required(),
            typed("Email", "Email", FieldType::Email),
            typed("Phone", "Phone", FieldType::Phone),
            typed("MobilePhone", "Mobile Phone", FieldType::Phone),
            text("Title", "Title", 128),
            picklist("Status", "Status", LEAD_STATUSES).defaults_to("Open - Not Contacted"),
            text("City", "City", 40),
            text("Country", "Country", 80),
            picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            picklist("Industry", "Industry", INDUSTRIES),
            typed("HasOptedOutOfEmail", "Email Opt Out", FieldType::Boolean).defaults_to("false"),
            typed("IsConverted", "Converted", FieldType::Boolean)
                .defaults_to("false")
                .read_only(),
            typed("Description", "Description", FieldType::TextArea),
            EXTERNAL_ID,
            LEGACY_ID,
        ],
    },
    ObjectDef {
        name: "Opportunity",
        label: "Opportunity",
        label_plural: "Opportunities",
        key_prefix: "006",
        fields: fields![
            text("Name", "Name", 120).required().name_field(),
            picklist("StageName", "Stage", STAGE_NAMES).required(),
            typed("CloseDate", "Close Date", FieldType::Date).required(),
            typed("Amount", "Amount", FieldType::Currency),
            reference("AccountId", "Account ID", &["Account"], "Account"),
            typed("Probability", "Probability (%)", FieldType::Percent),
            typed("TotalOpportunityQuantity", "Quantity", FieldType::Double),
            picklist("Type", "Opportunity Type", OPPORTUNITY_TYPES),
            picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            typed("Description", "Description", FieldType::TextArea),
            EXTERNAL_ID,
        ],
    },
    ObjectDef {
        name: "Task",
        label: "Task",
        label_plural: "Tasks",
        key_prefix: "00T",
        fields: fields![
            text("Subject", "Subject", 255).name_field(),
            picklist("Status", "Status", TASK_STATUSES).defaults_to("Not Started"),
            picklist("Priority", "Priority", TASK_PRIORITIES).defaults_to("Normal"),
            reference("WhoId", "Name ID", &["Contact", "Lead"], "Who"),
            reference(
                "WhatId",
                "Related To ID",
                &["Account", "Opportunity"],
                "What"
            ),
            typed("ActivityDate", "Due Date Only", FieldType::Date),
            text("CallDisposition", "Call Result", 255),
            typed("CallDurationInSeconds", "Call Duration", FieldType::Int),
            picklist("CallType", "Call Type", CALL_TYPES),
            picklist("TaskSubtype", "Task Subtype", TASK_SUBTYPES),
            typed("Description", "Description", FieldType::TextArea),
        ],
    },
];

/// An index into [`OBJECTS`].
pub(crate) type ObjectKind = usize;

/// The object type named `name` (any case).
pub(crate) fn object(name: &str) -> Option<ObjectKind> {
    OBJECTS
        .iter()
        .position(|o| o.name.eq_ignore_ascii_case(name.trim()))
}

/// The object type whose ids start with `prefix`.
pub(crate) fn object_by_prefix(prefix: &str) -> Option<ObjectKind> {
    OBJECTS.iter().position(|o| o.key_prefix == prefix)
}

/// The definition of an object type.
pub(crate) fn def(kind: ObjectKind) -> &'static ObjectDef {
    &OBJECTS[kind.min(OBJECTS.len() - 1)]
}

/// The probability an opportunity stage implies.
pub(crate) fn stage_probability(stage: &str) -> Option<u8> {
    STAGES
        .iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(stage))
        .map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_fields_sit_at_fixed_positions() {
        for o in &OBJECTS {
            let at = |name: &str| o.field(name);
            assert_eq!(at("Id"), Some(ID), "{}", o.name);
            assert_eq!(at("isdeleted"), Some(IS_DELETED));
            assert_eq!(at("CreatedDate"), Some(CREATED_DATE));
            assert_eq!(at("CreatedById"), Some(CREATED_BY));
            assert_eq!(at("LastModifiedDate"), Some(LAST_MODIFIED_DATE));
            assert_eq!(at("LastModifiedById"), Some(LAST_MODIFIED_BY));
            assert_eq!(at("SystemModstamp"), Some(SYSTEM_MODSTAMP));
            assert_eq!(at("OwnerId"), Some(OWNER_ID));
            let mut names: Vec<&str> = o.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(
                names.len(),
                o.fields.len(),
                "{} has duplicate fields",
                o.name
            );
        }
        assert_eq!(STAGES.len(), STAGE_NAMES.len());
        assert_eq!(object("contact"), Some(1));
        assert_eq!(object_by_prefix("00Q"), Some(2));
    }
}
