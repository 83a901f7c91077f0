//! The tables the simulated Dataverse environment serves and their columns (a subset of
//! the real `contact`, `account`, `lead`, `opportunity`, `phonecall` and `task` tables,
//! plus one custom table), with the metadata `EntityDefinitions` reports.

/// The type of a column, as `AttributeType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The primary key.
    Uniqueidentifier,
    /// Single line of text, at most this many characters.
    String(usize),
    /// Multiple lines of text.
    Memo(usize),
    Integer {
        min: i64,
        max: i64,
    },
    BigInt,
    Money,
    Boolean,
    DateTime,
    /// A `DateTime` column with `Format = DateOnly` (values `YYYY-MM-DD`).
    DateOnly,
    Picklist(&'static [(i64, &'static str)]),
    State(&'static [(i64, &'static str)]),
    Status(&'static [(i64, &'static str)]),
    /// A lookup to one of these tables (logical names).
    Lookup(&'static [&'static str]),
}

impl Kind {
    pub(crate) fn attribute_type(self) -> &'static str {
        match self {
            Kind::Uniqueidentifier => "Uniqueidentifier",
            Kind::String(_) => "String",
            Kind::Memo(_) => "Memo",
            Kind::Integer { .. } => "Integer",
            Kind::BigInt => "BigInt",
            Kind::Money => "Money",
            Kind::Boolean => "Boolean",
            Kind::DateTime | Kind::DateOnly => "DateTime",
            Kind::Picklist(_) => "Picklist",
            Kind::State(_) => "State",
            Kind::Status(_) => "Status",
            Kind::Lookup(targets) if targets.len() > 1 => "Customer",
            Kind::Lookup(_) => "Lookup",
        }
    }

    pub(crate) fn metadata_type(self) -> &'static str {
        match self {
            Kind::Uniqueidentifier => "#Microsoft.Dynamics.CRM.UniqueIdentifierAttributeMetadata",
            Kind::String(_) => "#Microsoft.Dynamics.CRM.StringAttributeMetadata",
            Kind::Memo(_) => "#Microsoft.Dynamics.CRM.MemoAttributeMetadata",
            Kind::Integer { .. } => "#Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
            Kind::BigInt => "#Microsoft.Dynamics.CRM.BigIntAttributeMetadata",
            Kind::Money => "#Microsoft.Dynamics.CRM.MoneyAttributeMetadata",
            Kind::Boolean => "#Microsoft.Dynamics.CRM.BooleanAttributeMetadata",
            Kind::DateTime | Kind::DateOnly => "#Microsoft.Dynamics.CRM.DateTimeAttributeMetadata",
            Kind::Picklist(_) => "#Microsoft.Dynamics.CRM.PicklistAttributeMetadata",
            Kind::State(_) => "#Microsoft.Dynamics.CRM.StateAttributeMetadata",
            Kind::Status(_) => "#Microsoft.Dynamics.CRM.StatusAttributeMetadata",
            Kind::Lookup(_) => "#Microsoft.Dynamics.CRM.LookupAttributeMetadata",
        }
    }

    /// The options of a choice column.
    pub(crate) fn options(self) -> Option<&'static [(i64, &'static str)]> {
        match self {
            Kind::Picklist(o) | Kind::State(o) | Kind::Status(o) => Some(o),
            _ => None,
        }
    }
}

/// One column.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attr {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    /// `None`, `ApplicationRequired` or `SystemRequired` (only the last is enforced by
    /// the Web API, as in Dataverse).
    pub required: &'static str,
    pub custom: bool,
    /// Written by the platform only (`createdon`, `versionnumber`, ...).
    pub read_only: bool,
    /// `Email`, `Phone`, `Url` for text columns.
    pub format: Option<&'static str>,
}

const fn col(name: &'static str, label: &'static str, kind: Kind) -> Attr {
    Attr {
        name,
        label,
        kind,
        required: "None",
        custom: false,
        read_only: false,
        format: None,
    }
}

const fn req(a: Attr) -> Attr {
    Attr {
        required: "ApplicationRequired",
        ..a
    }
}

const fn fmt(a: Attr, format: &'static str) -> Attr {
    Attr {
        format: Some(format),
        ..a
    }
}

const fn sys(a: Attr) -> Attr {
    Attr {
        read_only: true,
        ..a
    }
}

const fn custom(a: Attr) -> Attr {
    Attr { custom: true, ..a }
}

/// One table.
#[derive(Debug)]
pub(crate) struct Table {
    pub logical: &'static str,
    pub set: &'static str,
    pub id: &'static str,
    pub label: &'static str,
    /// The primary name column.
    pub name_attr: &'static str,
    pub custom: bool,
    pub attrs: &'static [Attr],
    /// Columns of the alternate key (one key, one column, here).
    pub alternate_key: Option<&'static str>,
}

impl Table {
    pub(crate) fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

const STATE_ACTIVE: &[(i64, &str)] = &[(0, "Active"), (1, "Inactive")];
const STATUS_ACTIVE: &[(i64, &str)] = &[(1, "Active"), (2, "Inactive")];
pub(crate) const INDUSTRIES: &[(i64, &str)] = &[
    (1, "Accounting"),
    (3, "Business Services"),
    (6, "Consulting"),
    (7, "Consumer Services"),
    (9, "Financial"),
    (12, "Manufacturing"),
    (19, "Retail"),
    (25, "Transportation"),
    (33, "Other"),
];
pub(crate) const LEAD_SOURCES: &[(i64, &str)] = &[
    (1, "Advertisement"),
    (2, "Employee Referral"),
    (4, "Partner"),
    (6, "Public Relations"),
    (8, "Web"),
    (10, "Other"),
];
const LEAD_STATE: &[(i64, &str)] = &[(0, "Open"), (1, "Qualified"), (2, "Disqualified")];
pub(crate) const LEAD_STATUS: &[(i64, &str)] = &[
    (1, "New"),
    (2, "Contacted"),
    (3, "Qualified"),
    (4, "Lost"),
    (5, "Cannot Contact"),
    (6, "No Longer Interested"),
    (7, "Canceled"),
];
const OPP_STATE: &[(i64, &str)] = &[(0, "Open"), (1, "Won"), (2, "Lost")];
pub(crate) const OPP_STATUS: &[(i64, &str)] = &[
    (1, "In Progress"),
    (2, "On Hold"),
    (3, "Won"),
    (4, "Canceled"),
    (5, "Out-Sold"),
];
const ACTIVITY_STATE: &[(i64, &str)] = &[(0, "Open"), (1, "Completed"), (2, "Canceled")];
const PHONECALL_STATUS: &[(i64, &str)] =
    &[(1, "Open"), (2, "Made"), (3, "Canceled"), (4, "Received")];
const TASK_STATUS: &[(i64, &str)] = &[
    (2, "Not Started"),
    (3, "In Progress"),
    (4, "Waiting on someone else"),
    (5, "Completed"),
    (6, "Canceled"),
    (7, "Deferred"),
];
const PRIORITIES: &[(i64, &str)] = &[(0, "Low"), (1, "Normal"), (2, "High")];

const CREATED: Attr = sys(col("createdon", "Created On", Kind::DateTime));
const MODIFIED: Attr = sys(col("modifiedon", "Modified On", Kind::DateTime));
const VERSION: Attr = sys(col("versionnumber", "Version Number", Kind::BigInt));
const EXTERNAL_ID: Attr = custom(col("crmsync_externalid", "External Id", Kind::String(100)));

pub(crate) static CONTACT: Table = Table {
    logical: "contact",
    set: "contacts",
    id: "contactid",
    label: "Contact",
    name_attr: "fullname",
    custom: false,
    alternate_key: Some("crmsync_externalid"),
    attrs: &[
        sys(col("contactid", "Contact", Kind::Uniqueidentifier)),
        col("firstname", "First Name", Kind::String(50)),
        req(col("lastname", "Last Name", Kind::String(50))),
        sys(col("fullname", "Full Name", Kind::String(160))),
        fmt(col("emailaddress1", "Email", Kind::String(100)), "Email"),
        fmt(
            col("telephone1", "Business Phone", Kind::String(50)),
            "Phone",
        ),
        fmt(
            col("mobilephone", "Mobile Phone", Kind::String(50)),
            "Phone",
        ),
        col("jobtitle", "Job Title", Kind::String(100)),
        col("address1_city", "Address 1: City", Kind::String(80)),
        col(
            "address1_country",
            "Address 1: Country/Region",
            Kind::String(80),
        ),
        col(
            "parentcustomerid",
            "Company Name",
            Kind::Lookup(&["account", "contact"]),
        ),
        col("description", "Description", Kind::Memo(2000)),
        EXTERNAL_ID,
        col("statecode", "Status", Kind::State(STATE_ACTIVE)),
        col("statuscode", "Status Reason", Kind::Status(STATUS_ACTIVE)),
        CREATED,
        MODIFIED,
        VERSION,
    ],
};

pub(crate) static ACCOUNT: Table = Table {
    logical: "account",
    set: "accounts",
    id: "accountid",
    label: "Account",
    name_attr: "name",
    custom: false,
    alternate_key: Some("crmsync_externalid"),
    attrs: &[
        sys(col("accountid", "Account", Kind::Uniqueidentifier)),
        req(col("name", "Account Name", Kind::String(160))),
        fmt(col("telephone1", "Main Phone", Kind::String(50)), "Phone"),
        fmt(col("emailaddress1", "Email", Kind::String(100)), "Email"),
        fmt(col("websiteurl", "Website", Kind::String(200)), "Url"),
        col("address1_line1", "Address 1: Street 1", Kind::String(250)),
        col("address1_city", "Address 1: City", Kind::String(80)),
        col(
            "address1_postalcode",
            "Address 1: ZIP/Postal Code",
            Kind::String(20),
        ),
        col(
            "address1_country",
            "Address 1: Country/Region",
            Kind::String(80),
        ),
        col("industrycode", "Industry", Kind::Picklist(INDUSTRIES)),
        col(
            "numberofemployees",
            "Number of Employees",
            Kind::Integer {
                min: 0,
                max: 1_000_000_000,
            },
        ),
        col("revenue", "Annual Revenue", Kind::Money),
        col("description", "Description", Kind::Memo(2000)),
        EXTERNAL_ID,
        col("statecode", "Status", Kind::State(STATE_ACTIVE)),
        col("statuscode", "Status Reason", Kind::Status(STATUS_ACTIVE)),
        CREATED,
        MODIFIED,
        VERSION,
    ],
};

pub(crate) static LEAD: Table = Table {
    logical: "lead",
    set: "leads",
    id: "leadid",
    label: "Lead",
    name_attr: "fullname",
    custom: false,
    alternate_key: Some("crmsync_externalid"),
    attrs: &[
        sys(col("leadid", "Lead", Kind::Uniqueidentifier)),
        req(col("subject", "Topic", Kind::String(300))),
        col("firstname", "First Name", Kind::String(50)),
        req(col("lastname", "Last Name", Kind::String(50))),
        sys(col("fullname", "Name", Kind::String(160))),
        col("companyname", "Company Name", Kind::String(100)),
        fmt(col("emailaddress1", "Email", Kind::String(100)), "Email"),
        fmt(
            col("telephone1", "Business Phone", Kind::String(50)),
            "Phone",
        ),
        fmt(
            col("mobilephone", "Mobile Phone", Kind::String(50)),
            "Phone",
        ),
        col("jobtitle", "Job Title", Kind::String(100)),
        col("address1_city", "Address 1: City", Kind::String(80)),
        col(
            "address1_country",
            "Address 1: Country/Region",
            Kind::String(80),
        ),
        col(
            "leadsourcecode",
            "Lead Source",
            Kind::Picklist(LEAD_SOURCES),
        ),
        col(
            "parentaccountid",
            "Parent Account for lead",
            Kind::Lookup(&["account"]),
        ),
        EXTERNAL_ID,
        col("statecode", "Status", Kind::State(LEAD_STATE)),
        col("statuscode", "Status Reason", Kind::Status(LEAD_STATUS)),
        CREATED,
        MODIFIED,
        VERSION,
    ],
};

pub(crate) static OPPORTUNITY: Table = Table {
    logical: "opportunity",
    set: "opportunities",
    id: "opportunityid",
    label: "Opportunity",
    name_attr: "name",
    custom: false,
    alternate_key: Some("crmsync_externalid"),
    attrs: &[
        sys(col("opportunityid", "Opportunity", Kind::Uniqueidentifier)),
        req(col("name", "Topic", Kind::String(300))),
        col("estimatedvalue", "Est. Revenue", Kind::Money),
        col(
            "closeprobability",
            "Probability",
            Kind::Integer { min: 0, max: 100 },
        ),
        col("estimatedclosedate", "Est. Close Date", Kind::DateOnly),
        col("stepname", "Pipeline Phase", Kind::String(200)),
        col("description", "Description", Kind::Memo(2000)),
        col("parentaccountid", "Account", Kind::Lookup(&["account"])),
        col("parentcontactid", "Contact", Kind::Lookup(&["contact"])),
        EXTERNAL_ID,
        col("statecode", "Status", Kind::State(OPP_STATE)),
        col("statuscode", "Status Reason", Kind::Status(OPP_STATUS)),
        CREATED,
        MODIFIED,
        VERSION,
    ],
};

pub(crate) static PHONECALL: Table = Table {
    logical: "phonecall",
    set: "phonecalls",
    id: "activityid",
    label: "Phone Call",
    name_attr: "subject",
    custom: false,
    alternate_key: None,
    attrs: &[
        sys(col("activityid", "Phone Call", Kind::Uniqueidentifier)),
        req(col("subject", "Subject", Kind::String(200))),
        col("description", "Description", Kind::Memo(2000)),
        fmt(
            col("phonenumber", "Phone Number", Kind::String(200)),
            "Phone",
        ),
        col("directioncode", "Direction", Kind::Boolean),
        col(
            "actualdurationminutes",
            "Actual Duration",
            Kind::Integer {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        col("scheduledend", "Due", Kind::DateTime),
        col(
            "regardingobjectid",
            "Regarding",
            Kind::Lookup(&["account", "contact", "lead", "opportunity"]),
        ),
        col("statecode", "Activity Status", Kind::State(ACTIVITY_STATE)),
        col(
            "statuscode",
            "Status Reason",
            Kind::Status(PHONECALL_STATUS),
        ),
        CREATED,
        MODIFIED,
        VERSION,
    ],
};

pub(crate) static TASK: Table = Table {
    logical: "task",
    set: "tasks",
    id: "activityid",
    label: "Task",
    name_attr: "subject",
    custom: false,
    alternate_key: None,
    attrs: &[
        sys(col("activityid", "Task", Kind::Uniqueidentifier)),
        req(col("subject", "Subject", Kind::String(200))),
        col("description", "Description", Kind::Memo(2000)),
        col("scheduledend", "Due Date", Kind::DateTime),
        col("prioritycode", "Priority", Kind::Picklist(PRIORITIES)),
        col(
            "percentcomplete",
            "Percent Complete",
            Kind::Integer { min: 0, max: 100 },
        ),
        col(
            "actualdurationminutes",
            "Duration",
            Kind::Integer {
                min: 0,
                max: 2_147_483_647,
            },
        ),
        col(
            "regardingobjectid",
            "Regarding",
            Kind::Lookup(&["account", "contact", "lead", "opportunity"]),
        ),
        col("statecode", "Activity Status", Kind::State(ACTIVITY_STATE)),
        col("statuscode", "Status Reason", Kind::Status(TASK_STATUS)),
        CREATED,
        MODIFIED,
        VERSION,
    ],
};

/// A custom table (publisher prefix `crmsync_`), to exercise tables by entity set name.
pub(crate) static PROJECT: Table = Table {
    logical: "crmsync_project",
    set: "crmsync_projects",
    id: "crmsync_projectid",
    label: "Project",
    name_attr: "crmsync_name",
    custom: true,
    alternate_key: None,
    attrs: &[
        sys(custom(col(
            "crmsync_projectid",
            "Project",
            Kind::Uniqueidentifier,
        ))),
        req(custom(col("crmsync_name", "Name", Kind::String(100)))),
        custom(col("crmsync_code", "Code", Kind::String(20))),
        custom(col("crmsync_budget", "Budget", Kind::Money)),
        custom(col(
            "crmsync_accountid",
            "Account",
            Kind::Lookup(&["account"]),
        )),
        col("statecode", "Status", Kind::State(STATE_ACTIVE)),
        col("statuscode", "Status Reason", Kind::Status(STATUS_ACTIVE)),
        CREATED,
        MODIFIED,
        VERSION,
    ],
};

/// Every table, in a fixed order (the store's table index).
pub(crate) static TABLES: [&Table; 7] = [
    &CONTACT,
    &ACCOUNT,
    &LEAD,
    &OPPORTUNITY,
    &PHONECALL,
    &TASK,
    &PROJECT,
];

/// A table by entity set name.
pub(crate) fn by_set(set: &str) -> Option<usize> {
    TABLES.iter().position(|t| t.set == set)
}

/// A table by logical name.
pub(crate) fn by_logical(name: &str) -> Option<usize> {
    TABLES.iter().position(|t| t.logical == name)
}

/// A table by logical name, entity set name or (test convenience) any case of either.
pub(crate) fn lookup(name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    by_set(&lower).or_else(|| by_logical(&lower))
}

/// `_x_value`, the name under which a lookup column is read.
pub(crate) fn lookup_value_name(attr: &str) -> String {
    format!("_{attr}_value")
}
