//! The object types the simulator serves and the properties each one defines.
//!
//! The property list is the single source of truth for writes: a property that is not
//! listed here does not exist, exactly as `GET /crm/v3/properties/{objectType}` reports.

use serde_json::{Value, json};

/// One of the CRM object types the simulator holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ObjectType {
    Contacts,
    Companies,
    Deals,
}

/// What a path segment names, when it is not one of ours.
pub(crate) enum TypeLookup {
    Known(ObjectType),
    /// A real HubSpot object type the simulator does not serve (tickets, notes, ...).
    Unsupported,
    /// Not a HubSpot object type at all.
    Unknown,
}

impl ObjectType {
    /// Resolves a path segment: plural name, singular name or type id, any case.
    pub(crate) fn lookup(segment: &str) -> TypeLookup {
        let lower = segment.to_ascii_lowercase();
        match lower.as_str() {
            "contacts" | "contact" | "0-1" => TypeLookup::Known(ObjectType::Contacts),
            "companies" | "company" | "0-2" => TypeLookup::Known(ObjectType::Companies),
            "deals" | "deal" | "0-3" => TypeLookup::Known(ObjectType::Deals),
            "tickets" | "ticket" | "0-5" | "products" | "product" | "0-7" | "line_items"
            | "line_item" | "0-8" | "quotes" | "quote" | "0-14" | "calls" | "call" | "0-48"
            | "emails" | "email" | "0-49" | "meetings" | "meeting" | "0-47" | "notes" | "note"
            | "0-46" | "tasks" | "task" | "0-27" | "communications" | "0-18" | "leads"
            | "0-136" | "postal_mail" | "0-116" | "goal_targets" | "0-74" => {
                TypeLookup::Unsupported
            }
            other if other.starts_with("2-") || other.starts_with("p_") => TypeLookup::Unsupported,
            _ => TypeLookup::Unknown,
        }
    }

    /// Parses a name for the Rust-side API (plural, singular or type id).
    pub(crate) fn parse(name: &str) -> Option<ObjectType> {
        match Self::lookup(name) {
            TypeLookup::Known(t) => Some(t),
            _ => None,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            ObjectType::Contacts => 0,
            ObjectType::Companies => 1,
            ObjectType::Deals => 2,
        }
    }

    /// Plural name, as used in paths and association keys.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contacts",
            ObjectType::Companies => "companies",
            ObjectType::Deals => "deals",
        }
    }

    /// Singular name, as used in association type labels (`contact_to_company`).
    pub(crate) fn singular(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contact",
            ObjectType::Companies => "company",
            ObjectType::Deals => "deal",
        }
    }

    /// Upper-case name, as HubSpot writes it in batch error messages.
    pub(crate) fn upper(self) -> &'static str {
        match self {
            ObjectType::Contacts => "CONTACT",
            ObjectType::Companies => "COMPANY",
            ObjectType::Deals => "DEAL",
        }
    }

    /// The read-only last-modified property.
    pub(crate) fn last_modified_property(self) -> &'static str {
        match self {
            ObjectType::Contacts => "lastmodifieddate",
            ObjectType::Companies | ObjectType::Deals => "hs_lastmodifieddate",
        }
    }

    /// Properties returned when a request names none.
    pub(crate) fn default_properties(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &[
                "createdate",
                "email",
                "firstname",
                "hs_object_id",
                "lastmodifieddate",
                "lastname",
            ],
            ObjectType::Companies => &[
                "createdate",
                "domain",
                "hs_lastmodifieddate",
                "hs_object_id",
                "name",
            ],
            ObjectType::Deals => &[
                "amount",
                "closedate",
                "createdate",
                "dealname",
                "dealstage",
                "hs_lastmodifieddate",
                "hs_object_id",
                "pipeline",
            ],
        }
    }

    /// Text properties the free-text `query` of a search looks in.
    pub(crate) fn query_properties(self) -> &'static [&'static str] {
        match self {
            ObjectType::Contacts => &["firstname", "lastname", "email", "phone", "company"],
            ObjectType::Companies => &["name", "domain", "website", "phone"],
            ObjectType::Deals => &["dealname"],
        }
    }

    /// Every property this object type defines.
    pub(crate) fn properties(self) -> &'static [PropertyDef] {
        match self {
            ObjectType::Contacts => CONTACT_PROPERTIES,
            ObjectType::Companies => COMPANY_PROPERTIES,
            ObjectType::Deals => DEAL_PROPERTIES,
        }
    }

    /// The definition of one property, if it exists.
    pub(crate) fn property(self, name: &str) -> Option<&'static PropertyDef> {
        self.properties().iter().find(|p| p.name == name)
    }
}

/// The value type of a property, which decides how values compare and validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Number,
    DateTime,
    Enumeration,
    Phone,
}

/// One property definition.
#[derive(Debug)]
pub(crate) struct PropertyDef {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub group: &'static str,
    pub description: &'static str,
    pub options: &'static [(&'static str, &'static str)],
    pub unique: bool,
    pub hubspot_defined: bool,
    /// Maintained by HubSpot; writes are ignored.
    pub read_only: bool,
}

impl PropertyDef {
    /// Whether values of this property are instants (compared and normalized as such).
    pub(crate) fn is_datetime(&self) -> bool {
        self.kind == Kind::DateTime
    }

    /// The property as `GET /crm/v3/properties` shows it.
    pub(crate) fn to_json(&self, display_order: usize) -> Value {
        let (ty, field_type) = match self.kind {
            Kind::Text => ("string", "text"),
            Kind::Number => ("number", "number"),
            Kind::DateTime => ("datetime", "date"),
            Kind::Enumeration => ("enumeration", "select"),
            Kind::Phone => ("string", "phonenumber"),
        };
        let options: Vec<Value> = self
            .options
            .iter()
            .enumerate()
            .map(|(i, (value, label))| {
                json!({"label": label, "value": value, "displayOrder": i, "hidden": false})
            })
            .collect();
        json!({
            "updatedAt": "2024-01-15T10:00:00.000Z",
            "createdAt": "2019-08-06T02:41:08.029Z",
            "name": self.name,
            "label": self.label,
            "type": ty,
            "fieldType": field_type,
            "description": self.description,
            "groupName": self.group,
            "options": options,
            "displayOrder": if self.hubspot_defined { -1 } else { display_order as i64 },
            "calculated": self.read_only,
            "externalOptions": false,
            "hasUniqueValue": self.unique,
            "hidden": false,
            "hubspotDefined": self.hubspot_defined,
            "modificationMetadata": {
                "archivable": !self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "formField": !self.read_only,
            "dataSensitivity": "non_sensitive",
            "archived": false,
        })
    }
}

const fn prop(
    name: &'static str,
    label: &'static str,
    kind: Kind,
    group: &'static str,
) -> PropertyDef {
    PropertyDef {
        name,
        label,
        kind,
        group,
        description: "",
        options: &[],
        unique: false,
        hubspot_defined: true,
        read_only: false,
    }
}

const fn read_only(name: &'static str, label: &'static str, kind: Kind) -> PropertyDef {
    PropertyDef {
        name,
        label,
        kind,
        group: "",
        description: "Maintained by HubSpot.",
        options: &[],
        unique: false,
        hubspot_defined: true,
        read_only: true,
    }
}

const fn enumeration(
    name: &'static str,
    label: &'static str,
    group: &'static str,
    options: &'static [(&'static str, &'static str)],
) -> PropertyDef {
    PropertyDef {
        name,
        label,
        kind: Kind::Enumeration,
        group,
        description: "",
        options,
        unique: false,
        hubspot_defined: true,
        read_only: false,
    }
}

const fn custom_unique(
    name: &'static str,
    label: &'static str,
    group: &'static str,
) -> PropertyDef {
    PropertyDef {
        name,
        label,
        kind: Kind::Text,
        group,
        description: "Identifier of the record in an external system (custom property).",
        options: &[],
        unique: true,
        hubspot_defined: false,
        read_only: false,
    }
}

/// `hs_lead_status` options.
pub(crate) const LEAD_STATUSES: &[(&str, &str)] = &[
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
];

/// `lifecyclestage` options.
pub(crate) const LIFECYCLE_STAGES: &[(&str, &str)] = &[
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
];

/// `industry` options (a subset of HubSpot's list).
pub(crate) const INDUSTRIES: &[(&str, &str)] = &[
    ("COMPUTER_SOFTWARE", "Computer Software"),
    (
        "INFORMATION_TECHNOLOGY_AND_SERVICES",
        "Information Technology and Services",
    ),
    ("FINANCIAL_SERVICES", "Financial Services"),
    ("HOSPITAL_HEALTH_CARE", "Hospital & Health Care"),
    ("RETAIL", "Retail"),
    ("MARKETING_AND_ADVERTISING", "Marketing and Advertising"),
    ("LOGISTICS_AND_SUPPLY_CHAIN", "Logistics and Supply Chain"),
    ("CONSTRUCTION", "Construction"),
    ("EDUCATION_MANAGEMENT", "Education Management"),
    ("REAL_ESTATE", "Real Estate"),
    ("AUTOMOTIVE", "Automotive"),
    ("FOOD_BEVERAGES", "Food & Beverages"),
];

/// Stages of the default deal pipeline.
pub(crate) const DEAL_STAGES: &[(&str, &str)] = &[
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
];

const TIERS: &[(&str, &str)] = &[("bronze", "Bronze"), ("silver", "Silver"), ("gold", "Gold")];

static CONTACT_PROPERTIES: &[PropertyDef] = &[
    read_only("hs_object_id", "Record ID", Kind::Number),
    read_only("createdate", "Create Date", Kind::DateTime),
    read_only("lastmodifieddate", "Last Modified Date", Kind::DateTime),
    prop("firstname", "First Name", Kind::Text, "contactinformation"),
    prop("lastname", "Last Name", Kind::Text, "contactinformation"),
    prop("email", "Email", Kind::Text, "contactinformation"),
    prop("phone", "Phone Number", Kind::Phone, "contactinformation"),
    prop(
        "mobilephone",
        "Mobile Phone Number",
        Kind::Phone,
        "contactinformation",
    ),
    prop("company", "Company Name", Kind::Text, "contactinformation"),
    prop(
        "associatedcompanyid",
        "Primary Associated Company ID",
        Kind::Number,
        "contactinformation",
    ),
    prop("jobtitle", "Job Title", Kind::Text, "contactinformation"),
    prop("website", "Website URL", Kind::Text, "contactinformation"),
    prop(
        "address",
        "Street Address",
        Kind::Text,
        "contactinformation",
    ),
    prop("city", "City", Kind::Text, "contactinformation"),
    prop("state", "State/Region", Kind::Text, "contactinformation"),
    prop("zip", "Postal Code", Kind::Text, "contactinformation"),
    prop(
        "country",
        "Country/Region",
        Kind::Text,
        "contactinformation",
    ),
    enumeration(
        "hs_lead_status",
        "Lead Status",
        "sales_properties",
        LEAD_STATUSES,
    ),
    enumeration(
        "lifecyclestage",
        "Lifecycle Stage",
        "contactinformation",
        LIFECYCLE_STAGES,
    ),
    prop(
        "hubspot_owner_id",
        "Contact owner",
        Kind::Text,
        "sales_properties",
    ),
    custom_unique("external_id", "External ID", "crmsync"),
    PropertyDef {
        name: "customer_tier",
        label: "Customer Tier",
        kind: Kind::Enumeration,
        group: "crmsync",
        description: "Loyalty tier (custom property).",
        options: TIERS,
        unique: false,
        hubspot_defined: false,
        read_only: false,
    },
];

static COMPANY_PROPERTIES: &[PropertyDef] = &[
    read_only("hs_object_id", "Record ID", Kind::Number),
    read_only("createdate", "Create Date", Kind::DateTime),
    read_only("hs_lastmodifieddate", "Last Modified Date", Kind::DateTime),
    prop("name", "Company name", Kind::Text, "companyinformation"),
    prop(
        "domain",
        "Company Domain Name",
        Kind::Text,
        "companyinformation",
    ),
    prop("website", "Website URL", Kind::Text, "companyinformation"),
    prop("phone", "Phone Number", Kind::Phone, "companyinformation"),
    prop(
        "address",
        "Street Address",
        Kind::Text,
        "companyinformation",
    ),
    prop("city", "City", Kind::Text, "companyinformation"),
    prop("state", "State/Region", Kind::Text, "companyinformation"),
    prop("zip", "Postal Code", Kind::Text, "companyinformation"),
    prop(
        "country",
        "Country/Region",
        Kind::Text,
        "companyinformation",
    ),
    enumeration("industry", "Industry", "companyinformation", INDUSTRIES),
    prop(
        "numberofemployees",
        "Number of Employees",
        Kind::Number,
        "companyinformation",
    ),
    prop(
        "annualrevenue",
        "Annual Revenue",
        Kind::Number,
        "companyinformation",
    ),
    prop(
        "description",
        "Description",
        Kind::Text,
        "companyinformation",
    ),
    enumeration(
        "lifecyclestage",
        "Lifecycle Stage",
        "companyinformation",
        LIFECYCLE_STAGES,
    ),
    prop(
        "hubspot_owner_id",
        "Company owner",
        Kind::Text,
        "companyinformation",
    ),
    custom_unique("external_id", "External ID", "crmsync"),
];

static DEAL_PROPERTIES: &[PropertyDef] = &[
    read_only("hs_object_id", "Record ID", Kind::Number),
    read_only("createdate", "Create Date", Kind::DateTime),
    read_only("hs_lastmodifieddate", "Last Modified Date", Kind::DateTime),
    prop("dealname", "Deal Name", Kind::Text, "dealinformation"),
    prop("amount", "Amount", Kind::Number, "dealinformation"),
    enumeration("dealstage", "Deal Stage", "dealinformation", DEAL_STAGES),
    enumeration(
        "pipeline",
        "Pipeline",
        "dealinformation",
        &[("default", "Sales Pipeline")],
    ),
    prop("closedate", "Close Date", Kind::DateTime, "dealinformation"),
    enumeration(
        "dealtype",
        "Deal Type",
        "dealinformation",
        &[
            ("newbusiness", "New Business"),
            ("existingbusiness", "Existing Business"),
        ],
    ),
    prop(
        "description",
        "Deal Description",
        Kind::Text,
        "dealinformation",
    ),
    prop(
        "hubspot_owner_id",
        "Deal owner",
        Kind::Text,
        "dealinformation",
    ),
    custom_unique("external_id", "External ID", "crmsync"),
];
