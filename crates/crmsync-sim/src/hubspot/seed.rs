//! The deterministic data generator: the same seed gives the same records, byte for byte.
//!
//! Phones come in the national and international formats people really type, and every
//! number is valid for its country (checked against libphonenumber's metadata by the
//! tests), so phone normalization can be exercised without tripping over junk numbers.

use std::collections::HashSet;

use super::rng::SplitMix64;
use super::schema::{DEAL_STAGES, INDUSTRIES, LEAD_STATUSES, LIFECYCLE_STAGES, ObjectType};
use super::store::Store;

use crate::common::generate::{DAY_MS, fold, pick_country, timestamps};
use crate::common::phones::{mobile, phone};
use crate::common::words::{
    COMPANY_NOUNS, COMPANY_WORDS, COUNTRIES, DEAL_KINDS, FIRST_NAMES, JOB_TITLES, LAST_NAMES,
};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedPlan {
    pub contacts: usize,
    pub companies: usize,
    pub deals: usize,
    pub seed: u64,
    /// "Now" for the generated timestamps, which spread over the 30 days before it.
    pub anchor_ms: i64,
}

/// Fills `store` with the planned records: companies first, then contacts, then deals, so
/// ids increase in that order and, within a type, with creation time.
pub(crate) fn populate(store: &mut Store, plan: &SeedPlan) {
    let mut rng = SplitMix64::new(plan.seed);
    let companies = seed_companies(store, &mut rng, plan);
    seed_contacts(store, &mut rng, plan, &companies);
    seed_deals(store, &mut rng, plan, &companies);
}

/// A seeded company, as contacts and deals refer to it.
struct SeededCompany {
    id: u64,
    name: String,
    domain: String,
    country: usize,
}

fn seed_companies(store: &mut Store, rng: &mut SplitMix64, plan: &SeedPlan) -> Vec<SeededCompany> {
    let mut names = HashSet::new();
    let mut domains = HashSet::new();
    let mut out = Vec::with_capacity(plan.companies);
    for (created, updated) in timestamps(rng, plan.companies, plan.anchor_ms) {
        let ci = pick_country(rng);
        let country = &COUNTRIES[ci];
        let word = *rng.pick(COMPANY_WORDS);
        let noun = *rng.pick(COMPANY_NOUNS);
        let mut base = format!("{word} {noun}");
        let mut n = 2;
        while names.contains(&base) {
            base = format!("{word} {noun} {n}");
            n += 1;
        }
        names.insert(base.clone());
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
        let employees = *rng.pick(&[5u64, 12, 25, 50, 80, 120, 250, 500, 1200, 5000]);
        let mut props = vec![
            ("name", name.clone()),
            ("domain", domain.clone()),
            ("website", format!("https://www.{domain}")),
            ("phone", phone(rng, country.code, city)),
            ("city", city.to_string()),
            ("country", country.name.to_string()),
            ("industry", rng.pick(INDUSTRIES).0.to_string()),
            (
                "numberofemployees",
                (employees + rng.below(employees / 2 + 1)).to_string(),
            ),
            (
                "lifecyclestage",
                rng.pick(&["lead", "opportunity", "customer"]).to_string(),
            ),
        ];
        if rng.chance(60) {
            props.push(("annualrevenue", (rng.range(2, 900) * 100_000).to_string()));
        }
        let values: Vec<(String, String)> =
            props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if let Ok(id) = store.insert(ObjectType::Companies, &values, None, created, updated) {
            out.push(SeededCompany {
                id,
                name,
                domain,
                country: ci,
            });
        }
    }
    out
}

fn seed_contacts(
    store: &mut Store,
    rng: &mut SplitMix64,
    plan: &SeedPlan,
    companies: &[SeededCompany],
) {
    let mut emails = HashSet::with_capacity(plan.contacts);
    for (created, updated) in timestamps(rng, plan.contacts, plan.anchor_ms) {
        let first = *rng.pick(FIRST_NAMES);
        let last = *rng.pick(LAST_NAMES);
        let company = (!companies.is_empty() && rng.chance(85)).then(|| rng.pick(companies));
        let ci = match company {
            Some(c) if rng.chance(80) => c.country,
            _ => pick_country(rng),
        };
        let country = &COUNTRIES[ci];
        let city = *rng.pick(country.cities);
        let (f, l) = (fold(first), fold(last));
        let domain = match company {
            Some(c) if rng.chance(70) => c.domain.clone(),
            _ => rng.pick(country.mail).to_string(),
        };
        let local = match rng.below(4) {
            0 => format!("{f}.{l}"),
            1 => format!("{}{l}", &f[..1.min(f.len())]),
            2 => format!("{f}_{l}{}", rng.below(100)),
            _ => format!("{f}{l}"),
        };
        let mut email = format!("{local}@{domain}");
        let mut n = 2;
        while !emails.insert(email.clone()) {
            email = format!("{local}{n}@{domain}");
            n += 1;
        }
        let mut props = vec![
            ("firstname", first.to_string()),
            ("lastname", last.to_string()),
            ("city", city.to_string()),
            ("country", country.name.to_string()),
            ("lifecyclestage", rng.pick(LIFECYCLE_STAGES).0.to_string()),
        ];
        if !rng.chance(3) {
            props.push(("email", email));
        }
        if !rng.chance(10) {
            props.push(("phone", phone(rng, country.code, city)));
        }
        if rng.chance(40) {
            props.push(("mobilephone", mobile(rng, country.code)));
        }
        if let Some(c) = company {
            props.push(("company", c.name.clone()));
        }
        if !rng.chance(15) {
            props.push(("jobtitle", rng.pick(JOB_TITLES).to_string()));
        }
        if !rng.chance(20) {
            props.push(("hs_lead_status", rng.pick(LEAD_STATUSES).0.to_string()));
        }
        if rng.chance(30) {
            props.push((
                "customer_tier",
                rng.pick(&["bronze", "silver", "gold"]).to_string(),
            ));
        }
        let values: Vec<(String, String)> =
            props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let _ = store.insert(
            ObjectType::Contacts,
            &values,
            company.map(|c| c.id),
            created,
            updated,
        );
    }
}

fn seed_deals(
    store: &mut Store,
    rng: &mut SplitMix64,
    plan: &SeedPlan,
    companies: &[SeededCompany],
) {
    for (created, updated) in timestamps(rng, plan.deals, plan.anchor_ms) {
        let company = (!companies.is_empty()).then(|| rng.pick(companies));
        let kind = *rng.pick(DEAL_KINDS);
        let dealname = match company {
            Some(c) => format!("{} - {kind}", c.name),
            None => kind.to_string(),
        };
        let dollars = rng.range(5, 2500) * 100;
        let amount = if rng.chance(60) {
            dollars.to_string()
        } else {
            format!("{}.{:02}", dollars - 1, rng.below(100))
        };
        let mut props = vec![
            ("dealname", dealname),
            ("amount", amount),
            ("dealstage", rng.pick(DEAL_STAGES).0.to_string()),
            ("pipeline", "default".to_string()),
        ];
        if !rng.chance(10) {
            let close = created + rng.range(1, 120) as i64 * DAY_MS;
            props.push(("closedate", super::time::iso(close - close % 1000)));
        }
        if rng.chance(70) {
            props.push((
                "dealtype",
                rng.pick(&["newbusiness", "existingbusiness"]).to_string(),
            ));
        }
        let values: Vec<(String, String)> =
            props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let _ = store.insert(
            ObjectType::Deals,
            &values,
            company.map(|c| c.id),
            created,
            updated,
        );
    }
}
