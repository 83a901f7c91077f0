//! The deterministic data generator: accounts, contacts (mostly linked to an account
//! through `parentcustomerid`), leads and opportunities; the same seed gives the same
//! rows, ids included.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::schema::{self, INDUSTRIES, LEAD_SOURCES};
use super::store::{Parsed, Store, guid_from};
use crate::common::generate::{DAY_MS, fold, pick_country, timestamps};
use crate::common::phones::{mobile, phone};
use crate::common::rng::SplitMix64;
use crate::common::words::{
    COMPANY_NOUNS, COMPANY_WORDS, COUNTRIES, DEAL_KINDS, FIRST_NAMES, JOB_TITLES, LAST_NAMES,
};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeedPlan {
    pub contacts: usize,
    pub accounts: usize,
    pub leads: usize,
    pub opportunities: usize,
    pub seed: u64,
    pub anchor_ms: i64,
}

struct Account {
    id: String,
    domain: String,
    country: usize,
}

fn put(
    store: &mut Store,
    rng: &mut SplitMix64,
    set: &str,
    values: Vec<(&'static str, Value)>,
    lookups: Vec<(&'static str, &'static str)>,
    (created, modified): (i64, i64),
) -> Option<String> {
    let t = schema::by_set(set)?;
    let id = guid_from(rng.next_u64(), rng.next_u64());
    let parsed = Parsed {
        values,
        lookup_types: lookups,
    };
    let id = store
        .insert(t, Some(id), &parsed, created, &mut Vec::new())
        .ok()?;
    if let Some(row) = store.tables[t].rows.get_mut(&id) {
        row.modified_ms = modified;
    }
    Some(id)
}

/// Fills the store.
pub(crate) fn populate(store: &mut Store, plan: &SeedPlan) {
    let mut rng = SplitMix64::new(plan.seed);
    let mut names = HashSet::new();
    let mut accounts = Vec::with_capacity(plan.accounts);
    for stamps in timestamps(&mut rng, plan.accounts, plan.anchor_ms) {
        let ci = pick_country(&mut rng);
        let country = &COUNTRIES[ci];
        let mut name = format!("{} {}", rng.pick(COMPANY_WORDS), rng.pick(COMPANY_NOUNS));
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{name} {n}");
            n += 1;
        }
        let stem: String = name
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect();
        let domain = format!("{stem}.{}", country.tld);
        let city = *rng.pick(country.cities);
        let display = if rng.chance(50) {
            format!("{name} {}", rng.pick(country.suffixes))
        } else {
            name.clone()
        };
        let mut values = vec![
            ("name", json!(display)),
            ("websiteurl", json!(format!("https://www.{domain}"))),
            ("telephone1", json!(phone(&mut rng, country.code, city))),
            ("address1_city", json!(city)),
            ("address1_country", json!(country.name)),
            ("industrycode", json!(rng.pick(INDUSTRIES).0)),
            ("numberofemployees", json!(rng.range(5, 5000))),
        ];
        if rng.chance(60) {
            values.push(("revenue", json!(rng.range(2, 900) * 100_000)));
        }
        if let Some(id) = put(store, &mut rng, "accounts", values, vec![], stamps) {
            accounts.push(Account {
                id,
                domain,
                country: ci,
            });
        }
    }
    let mut emails = HashSet::new();
    for leads in [false, true] {
        let n = if leads { plan.leads } else { plan.contacts };
        for stamps in timestamps(&mut rng, n, plan.anchor_ms) {
            let first = *rng.pick(FIRST_NAMES);
            let last = *rng.pick(LAST_NAMES);
            let account =
                (!leads && !accounts.is_empty() && rng.chance(85)).then(|| rng.pick(&accounts));
            let ci = match account {
                Some(a) if rng.chance(80) => a.country,
                _ => pick_country(&mut rng),
            };
            let country = &COUNTRIES[ci];
            let city = *rng.pick(country.cities);
            let domain = match account {
                Some(a) if rng.chance(70) => a.domain.clone(),
                _ => (*rng.pick(country.mail)).to_owned(),
            };
            let (f, l) = (fold(first), fold(last));
            let mut email = format!("{f}.{l}@{domain}");
            let mut k = 2;
            while !emails.insert(email.clone()) {
                email = format!("{f}.{l}{k}@{domain}");
                k += 1;
            }
            let mut values = vec![
                ("firstname", json!(first)),
                ("lastname", json!(last)),
                ("emailaddress1", json!(email)),
                ("telephone1", json!(phone(&mut rng, country.code, city))),
                ("jobtitle", json!(rng.pick(JOB_TITLES))),
                ("address1_city", json!(city)),
                ("address1_country", json!(country.name)),
            ];
            if rng.chance(50) {
                values.push(("mobilephone", json!(mobile(&mut rng, country.code))));
            }
            let mut lookups = Vec::new();
            if leads {
                let company = format!("{} {}", rng.pick(COMPANY_WORDS), rng.pick(COMPANY_NOUNS));
                values.push((
                    "subject",
                    json!(format!("Interested in {}", rng.pick(DEAL_KINDS))),
                ));
                values.push(("companyname", json!(company)));
                values.push(("leadsourcecode", json!(rng.pick(LEAD_SOURCES).0)));
                put(store, &mut rng, "leads", values, lookups, stamps);
            } else {
                if let Some(a) = account {
                    values.push(("parentcustomerid", json!(a.id)));
                    lookups.push(("parentcustomerid", "account"));
                }
                put(store, &mut rng, "contacts", values, lookups, stamps);
            }
        }
    }
    for stamps in timestamps(&mut rng, plan.opportunities, plan.anchor_ms) {
        let account = (!accounts.is_empty()).then(|| rng.pick(&accounts));
        let kind = *rng.pick(DEAL_KINDS);
        let close = stamps.0 + rng.range(10, 120) as i64 * DAY_MS;
        let date = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(close)
            .unwrap_or_default()
            .format("%Y-%m-%d")
            .to_string();
        let mut values = vec![
            ("name", json!(format!("{kind} {}", rng.range(1, 99)))),
            ("estimatedvalue", json!(rng.range(5, 500) * 1000)),
            ("closeprobability", json!(rng.range(1, 9) * 10)),
            ("estimatedclosedate", json!(date)),
            (
                "stepname",
                json!(*rng.pick(&["1-Qualify", "2-Develop", "3-Propose", "4-Close"])),
            ),
            ("statuscode", json!(*rng.pick(&[1i64, 1, 1, 2]))),
        ];
        let mut lookups = Vec::new();
        if let Some(a) = account {
            values.push(("parentaccountid", json!(a.id)));
            lookups.push(("parentaccountid", "account"));
        }
        put(store, &mut rng, "opportunities", values, lookups, stamps);
    }
}
