//! The deterministic data generator: the same seed gives the same org, record for record.
//!
//! Accounts come first, then the contacts linked to them (mostly), leads, opportunities on
//! accounts, and tasks on contacts. Phones are valid for the record's country (the shared
//! generators are checked against libphonenumber), and the mailing or billing country is the
//! phone's. Emails are lower-case and unique across contacts and leads.

use std::collections::HashSet;

use super::schema::{
    self, ACCOUNT_TYPES, CALL_TYPES, INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES, OPPORTUNITY_TYPES,
    ObjectKind, STAGES, TASK_PRIORITIES, TASK_STATUSES,
};
use super::store::Store;
use super::values::{Val, date_of};
use crate::common::generate::{DAY_MS, fold, pick_country, timestamps};
use crate::common::phones::{mobile, phone};
use crate::common::rng::SplitMix64;
use crate::common::words::{
    COMPANY_NOUNS, COMPANY_WORDS, COUNTRIES, DEAL_KINDS, FIRST_NAMES, JOB_TITLES, LAST_NAMES,
};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedPlan {
    pub accounts: usize,
    pub contacts: usize,
    pub leads: usize,
    pub opportunities: usize,
    pub tasks: usize,
    pub seed: u64,
    /// "Now" for the generated timestamps, which spread over the 30 days before it.
    pub anchor_ms: i64,
}

/// A seeded account, as contacts and opportunities refer to it.
struct SeededAccount {
    id: String,
    name: String,
    domain: String,
    country: usize,
}

/// Collects one record's values by field name.
struct Values {
    kind: ObjectKind,
    out: Vec<(usize, Val)>,
}

impl Values {
    fn new(kind: ObjectKind) -> Self {
        Self {
            kind,
            out: Vec::with_capacity(16),
        }
    }

    fn put(&mut self, name: &str, value: Val) {
        if let Some(i) = schema::def(self.kind).field(name) {
            self.out.push((i, value));
        }
    }

    fn text(&mut self, name: &str, value: impl Into<String>) {
        self.put(name, Val::Str(value.into()));
    }
}

fn insert(store: &mut Store, v: &Values, (created, updated): (i64, i64)) -> Option<String> {
    let mut undo = Vec::new();
    store
        .insert(v.kind, &v.out, created, updated, &mut undo)
        .ok()
}

/// Fills `store` with the planned records.
pub(crate) fn populate(store: &mut Store, plan: &SeedPlan) {
    let mut rng = SplitMix64::new(plan.seed);
    let mut emails = HashSet::with_capacity(plan.contacts + plan.leads);
    let accounts = seed_accounts(store, &mut rng, plan);
    let contacts = seed_people(store, &mut rng, plan, &accounts, &mut emails, false);
    seed_people(store, &mut rng, plan, &accounts, &mut emails, true);
    let opportunities = seed_opportunities(store, &mut rng, plan, &accounts);
    seed_tasks(store, &mut rng, plan, &contacts, &opportunities);
}

fn kind(name: &str) -> ObjectKind {
    schema::object(name).unwrap_or_default()
}

fn company_name(rng: &mut SplitMix64, names: &mut HashSet<String>) -> String {
    let word = *rng.pick(COMPANY_WORDS);
    let noun = *rng.pick(COMPANY_NOUNS);
    let mut base = format!("{word} {noun}");
    let mut n = 2;
    while names.contains(&base) {
        base = format!("{word} {noun} {n}");
        n += 1;
    }
    names.insert(base.clone());
    base
}

fn seed_accounts(store: &mut Store, rng: &mut SplitMix64, plan: &SeedPlan) -> Vec<SeededAccount> {
    let mut names = HashSet::new();
    let mut domains = HashSet::new();
    let mut out = Vec::with_capacity(plan.accounts);
    for stamps in timestamps(rng, plan.accounts, plan.anchor_ms) {
        let ci = pick_country(rng);
        let country = &COUNTRIES[ci];
        let base = company_name(rng, &mut names);
        let name = if rng.chance(50) {
            format!("{base} {}", rng.pick(country.suffixes))
        } else {
            base.clone()
        };
        let stem: String = base
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let mut domain = format!("{stem}.{}", country.tld);
        let mut n = 2;
        while !domains.insert(domain.clone()) {
            domain = format!("{stem}{n}.{}", country.tld);
            n += 1;
        }
        let city = *rng.pick(country.cities);
        let employees = *rng.pick(&[5i64, 12, 25, 50, 80, 120, 250, 500, 1200, 5000]);
        let mut v = Values::new(kind("Account"));
        v.text("Name", name.clone());
        v.text("Website", format!("https://www.{domain}"));
        v.text("Phone", phone(rng, country.code, city));
        v.text("BillingCity", city);
        v.text("BillingCountry", country.name);
        v.text("Industry", *rng.pick(INDUSTRIES));
        v.put(
            "NumberOfEmployees",
            Val::Int(employees + rng.below(employees as u64 / 2 + 1) as i64),
        );
        v.text("Type", *rng.pick(ACCOUNT_TYPES));
        if rng.chance(60) {
            v.put(
                "AnnualRevenue",
                Val::Num((rng.range(2, 900) * 100_000) as f64),
            );
        }
        if let Some(id) = insert(store, &v, stamps) {
            out.push(SeededAccount {
                id,
                name,
                domain,
                country: ci,
            });
        }
    }
    out
}

/// Contacts (`leads == false`) or leads; returns the ids created with their account.
fn seed_people(
    store: &mut Store,
    rng: &mut SplitMix64,
    plan: &SeedPlan,
    accounts: &[SeededAccount],
    emails: &mut HashSet<String>,
    leads: bool,
) -> Vec<(String, Option<String>)> {
    let n = if leads { plan.leads } else { plan.contacts };
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(n);
    for stamps in timestamps(rng, n, plan.anchor_ms) {
        let first = *rng.pick(FIRST_NAMES);
        let last = *rng.pick(LAST_NAMES);
        let account =
            (!leads && !accounts.is_empty() && rng.chance(85)).then(|| rng.pick(accounts));
        let ci = match account {
            Some(a) if rng.chance(80) => a.country,
            _ => pick_country(rng),
        };
        let country = &COUNTRIES[ci];
        let city = *rng.pick(country.cities);
        let (f, l) = (fold(first), fold(last));
        let company = if leads {
            Some(company_name(rng, &mut names))
        } else {
            None
        };
        let domain = match (account, &company) {
            (Some(a), _) if rng.chance(70) => a.domain.clone(),
            (None, Some(c)) if rng.chance(50) => {
                format!("{}.{}", c.to_lowercase().replace(' ', ""), country.tld)
            }
            _ => rng.pick(country.mail).to_string(),
        };
        let local = match rng.below(4) {
            0 => format!("{f}.{l}"),
            1 => format!("{}{l}", &f[..1.min(f.len())]),
            2 => format!("{f}_{l}{}", rng.below(100)),
            _ => format!("{f}{l}"),
        };
        let mut email = format!("{local}@{domain}");
        let mut k = 2;
        while !emails.insert(email.clone()) {
            email = format!("{local}{k}@{domain}");
            k += 1;
        }
        let mut v = Values::new(kind(if leads { "Lead" } else { "Contact" }));
        v.text("FirstName", first);
        v.text("LastName", last);
        if !rng.chance(3) {
            v.text("Email", email);
        }
        if !rng.chance(10) {
            v.text("Phone", phone(rng, country.code, city));
        }
        if rng.chance(40) {
            v.text("MobilePhone", mobile(rng, country.code));
        }
        if !rng.chance(15) {
            v.text("Title", *rng.pick(JOB_TITLES));
        }
        if rng.chance(50) {
            v.text("LeadSource", *rng.pick(LEAD_SOURCES));
        }
        if let Some(c) = &company {
            v.text("Company", c.clone());
            v.text("City", city);
            v.text("Country", country.name);
            let status = match rng.below(10) {
                0..=4 => LEAD_STATUSES[0],
                5..=7 => LEAD_STATUSES[1],
                8 => LEAD_STATUSES[2],
                _ => LEAD_STATUSES[3],
            };
            v.text("Status", status);
            if rng.chance(60) {
                v.text("Industry", *rng.pick(INDUSTRIES));
            }
        } else {
            v.text("MailingCity", city);
            v.text("MailingCountry", country.name);
            if let Some(a) = account {
                v.text("AccountId", a.id.clone());
            }
        }
        if let Some(id) = insert(store, &v, stamps) {
            out.push((id, account.map(|a| a.id.clone())));
        }
    }
    out
}

fn seed_opportunities(
    store: &mut Store,
    rng: &mut SplitMix64,
    plan: &SeedPlan,
    accounts: &[SeededAccount],
) -> Vec<String> {
    let mut out = Vec::with_capacity(plan.opportunities);
    for stamps in timestamps(rng, plan.opportunities, plan.anchor_ms) {
        let account = (!accounts.is_empty()).then(|| rng.pick(accounts));
        let what = *rng.pick(DEAL_KINDS);
        let mut v = Values::new(kind("Opportunity"));
        v.text(
            "Name",
            match account {
                Some(a) => format!("{} - {what}", a.name),
                None => what.to_string(),
            },
        );
        v.text("StageName", rng.pick(STAGES).0);
        let close = stamps.0 + rng.range(1, 120) as i64 * DAY_MS;
        v.put("CloseDate", Val::Date(date_of(close)));
        let dollars = rng.range(5, 2500) * 100;
        let amount = if rng.chance(60) {
            dollars as f64
        } else {
            (dollars - 1) as f64 + rng.below(100) as f64 / 100.0
        };
        v.put("Amount", Val::Num(amount));
        if let Some(a) = account {
            v.text("AccountId", a.id.clone());
        }
        if rng.chance(70) {
            v.text("Type", *rng.pick(OPPORTUNITY_TYPES));
        }
        if rng.chance(40) {
            v.text("LeadSource", *rng.pick(LEAD_SOURCES));
        }
        if let Some(id) = insert(store, &v, stamps) {
            out.push(id);
        }
    }
    out
}

fn seed_tasks(
    store: &mut Store,
    rng: &mut SplitMix64,
    plan: &SeedPlan,
    contacts: &[(String, Option<String>)],
    opportunities: &[String],
) {
    const SUBJECTS: &[&str] = &[
        "Call",
        "Follow up",
        "Send quote",
        "Email",
        "Demo",
        "Check in",
    ];
    for stamps in timestamps(rng, plan.tasks, plan.anchor_ms) {
        let subject = *rng.pick(SUBJECTS);
        let mut v = Values::new(kind("Task"));
        v.text("Subject", subject);
        v.text("Status", *rng.pick(TASK_STATUSES));
        v.text("Priority", *rng.pick(TASK_PRIORITIES));
        if !contacts.is_empty() {
            let (who, account) = rng.pick(contacts);
            v.text("WhoId", who.clone());
            if let Some(a) = account {
                v.text("WhatId", a.clone());
            } else if !opportunities.is_empty() && rng.chance(50) {
                v.text("WhatId", rng.pick(opportunities).clone());
            }
        }
        v.put(
            "ActivityDate",
            Val::Date(date_of(stamps.0 + rng.range(0, 14) as i64 * DAY_MS)),
        );
        if subject == "Call" {
            v.text("TaskSubtype", "Call");
            v.text("CallType", *rng.pick(CALL_TYPES));
            v.put(
                "CallDurationInSeconds",
                Val::Int(rng.range(20, 1800) as i64),
            );
            v.text(
                "CallDisposition",
                *rng.pick(&["Connected", "Left voicemail", "No answer"]),
            );
        } else if subject == "Email" {
            v.text("TaskSubtype", "Email");
        } else {
            v.text("TaskSubtype", "Task");
        }
        insert(store, &v, stamps);
    }
}
