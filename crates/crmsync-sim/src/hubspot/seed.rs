//! The deterministic data generator: the same seed gives the same records, byte for byte.
//!
//! Phones come in the national and international formats people really type, and every
//! number is valid for its country (checked against libphonenumber's metadata by the
//! tests), so phone normalization can be exercised without tripping over junk numbers.

use std::collections::HashSet;

use super::rng::SplitMix64;
use super::schema::{DEAL_STAGES, INDUSTRIES, LEAD_STATUSES, LIFECYCLE_STAGES, ObjectType};
use super::store::Store;

const DAY_MS: i64 = 86_400_000;

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

/// A country the generator places records in.
struct Country {
    name: &'static str,
    /// ISO 3166-1 alpha-2, which decides the phone formats.
    code: &'static str,
    cities: &'static [&'static str],
    tld: &'static str,
    suffixes: &'static [&'static str],
    mail: &'static [&'static str],
}

const COUNTRIES: &[Country] = &[
    Country {
        name: "United States",
        code: "US",
        cities: &["New York", "San Francisco", "Boston", "Chicago", "Seattle", "Austin", "Denver", "Atlanta", "Miami", "Los Angeles", "Dallas", "Portland"],
        tld: "com",
        suffixes: &["Inc.", "LLC", "Corp."],
        mail: &["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com"],
    },
    Country {
        name: "United Kingdom",
        code: "GB",
        cities: &["London", "Manchester", "Bristol", "Leeds", "Edinburgh"],
        tld: "co.uk",
        suffixes: &["Ltd", "PLC"],
        mail: &["gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk"],
    },
    Country {
        name: "Germany",
        code: "DE",
        cities: &["Berlin", "Munich", "Hamburg", "Frankfurt", "Cologne"],
        tld: "de",
        suffixes: &["GmbH", "AG"],
        mail: &["gmail.com", "web.de", "gmx.de", "t-online.de"],
    },
    Country {
        name: "France",
        code: "FR",
        cities: &["Paris", "Lyon", "Marseille", "Toulouse", "Nantes"],
        tld: "fr",
        suffixes: &["SAS", "SA"],
        mail: &["gmail.com", "orange.fr", "free.fr", "laposte.net"],
    },
    Country {
        name: "Canada",
        code: "CA",
        cities: &["Toronto", "Vancouver", "Montreal"],
        tld: "ca",
        suffixes: &["Inc.", "Ltd."],
        mail: &["gmail.com", "outlook.com", "yahoo.ca"],
    },
    Country {
        name: "Australia",
        code: "AU",
        cities: &["Sydney", "Melbourne", "Brisbane"],
        tld: "com.au",
        suffixes: &["Pty Ltd"],
        mail: &["gmail.com", "bigpond.com", "outlook.com"],
    },
    Country {
        name: "Netherlands",
        code: "NL",
        cities: &["Amsterdam", "Rotterdam", "Utrecht"],
        tld: "nl",
        suffixes: &["B.V."],
        mail: &["gmail.com", "ziggo.nl", "outlook.com"],
    },
    Country {
        name: "Spain",
        code: "ES",
        cities: &["Madrid", "Barcelona", "Valencia"],
        tld: "es",
        suffixes: &["S.L.", "S.A."],
        mail: &["gmail.com", "hotmail.es", "yahoo.es"],
    },
];

/// Weights for picking a country (sums to 100): mostly US, then the rest.
const COUNTRY_WEIGHTS: &[u64] = &[45, 15, 12, 8, 7, 5, 4, 4];

const FIRST_NAMES: &[&str] = &[
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark",
    "Margaret", "Steven", "Sandra", "Paul", "Ashley", "Andrew", "Emily", "Joshua", "Donna",
    "Kevin", "Michelle", "Brian", "Carol", "George", "Amanda", "Oliver", "Amelia", "Harry",
    "Isla", "Noah", "Sophie", "Lukas", "Hannah", "Felix", "Lea", "Louis", "Chloé", "Hugo",
    "Léa", "José", "María", "Javier", "Lucía", "Sven", "Zoë", "Jürgen", "François", "Renée",
    "Søren", "Anaïs", "Mohammed", "Aisha", "Wei", "Mei", "Hiroshi", "Yuki", "Priya", "Arjun",
    "Liam", "Emma", "Ethan", "Olivia", "Mia",
];

const LAST_NAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Dubois", "Lefèvre",
    "Moreau", "Laurent", "Bernard", "Fernández", "Ruiz", "Díaz", "Jansen", "de Vries",
    "van Dijk", "O'Brien", "O'Connor", "MacDonald", "Patel", "Shah", "Kumar", "Chen", "Wang",
    "Tanaka", "Sato", "Kowalski", "Nowak", "Johansson", "Larsen", "Rossi", "Russo",
];

const COMPANY_WORDS: &[&str] = &[
    "Acme", "Northwind", "Blue Harbor", "Summit", "Apex", "Brightline", "Cobalt", "Evergreen",
    "Granite", "Horizon", "Ironwood", "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus",
    "Orchid", "Pioneer", "Quantum", "Redwood", "Silverline", "Tidewater", "Vertex", "Willow",
    "Zenith", "Falcon", "Harbor Point", "Copperleaf", "Starling", "Beacon",
];

const COMPANY_NOUNS: &[&str] = &[
    "Analytics", "Logistics", "Robotics", "Health", "Foods", "Capital", "Labs", "Systems",
    "Media", "Energy", "Partners", "Software", "Dynamics", "Networks", "Studios", "Supply",
    "Biotech", "Consulting", "Manufacturing", "Realty",
];

const JOB_TITLES: &[&str] = &[
    "CEO", "CTO", "CFO", "VP of Sales", "VP Marketing", "Head of Operations", "Sales Manager",
    "Account Executive", "Marketing Manager", "Software Engineer", "Product Manager",
    "Customer Success Manager", "Office Manager", "Procurement Specialist", "HR Director",
    "Data Analyst", "Consultant", "Founder", "Operations Coordinator", "IT Manager",
];

const DEAL_KINDS: &[&str] = &[
    "New Business", "Renewal", "Expansion", "Pilot", "Upsell", "Annual Plan",
    "Support Contract", "Enterprise License",
];

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

/// Creation and modification times for `n` records: creations increase and are distinct,
/// modifications fall between creation and the anchor and are distinct too.
fn timestamps(rng: &mut SplitMix64, n: usize, anchor_ms: i64) -> Vec<(i64, i64)> {
    let span = 30 * DAY_MS;
    let start = anchor_ms - span;
    let step = (span / (n.max(1) as i64)).max(2);
    let mut used = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let created = start + i as i64 * step + rng.below((step - 1) as u64) as i64;
        let room = (anchor_ms - 1 - created).max(0) as u64;
        let mut updated = if rng.chance(10) { created } else { created + rng.below(room + 1) as i64 };
        while !used.insert(updated) {
            updated = if updated + 1 < anchor_ms { updated + 1 } else { created + rng.below(room + 1) as i64 };
        }
        out.push((created, updated));
    }
    out
}

fn pick_country(rng: &mut SplitMix64) -> usize {
    let mut roll = rng.below(100);
    for (i, w) in COUNTRY_WEIGHTS.iter().enumerate() {
        if roll < *w {
            return i;
        }
        roll -= w;
    }
    0
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
        let name = if rng.chance(50) { format!("{base} {}", rng.pick(country.suffixes)) } else { base.clone() };
        let stem: String = base.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect();
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
            ("numberofemployees", (employees + rng.below(employees / 2 + 1)).to_string()),
            ("lifecyclestage", rng.pick(&["lead", "opportunity", "customer"]).to_string()),
        ];
        if rng.chance(60) {
            props.push(("annualrevenue", (rng.range(2, 900) * 100_000).to_string()));
        }
        let values: Vec<(String, String)> = props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if let Ok(id) = store.insert(ObjectType::Companies, &values, None, created, updated) {
            out.push(SeededCompany { id, name, domain, country: ci });
        }
    }
    out
}

/// Lower-case ASCII for an email local part.
fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' | 'Á' => 'a',
            'é' | 'è' | 'ê' | 'ë' | 'É' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' | 'Ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'ł' => 'l',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(mapped);
    }
    out
}

fn seed_contacts(store: &mut Store, rng: &mut SplitMix64, plan: &SeedPlan, companies: &[SeededCompany]) {
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
            props.push(("customer_tier", rng.pick(&["bronze", "silver", "gold"]).to_string()));
        }
        let values: Vec<(String, String)> = props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let _ = store.insert(ObjectType::Contacts, &values, company.map(|c| c.id), created, updated);
    }
}

fn seed_deals(store: &mut Store, rng: &mut SplitMix64, plan: &SeedPlan, companies: &[SeededCompany]) {
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
            props.push(("dealtype", rng.pick(&["newbusiness", "existingbusiness"]).to_string()));
        }
        let values: Vec<(String, String)> = props.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let _ = store.insert(ObjectType::Deals, &values, company.map(|c| c.id), created, updated);
    }
}

/// A North American number: a real area code for the city, an exchange 2xx–9xx that is
/// neither 555 nor N11, and four line digits.
fn nanp(rng: &mut SplitMix64, code: &str, city: &str) -> (String, String, String) {
    let npa = match (code, city) {
        ("CA", "Toronto") => *rng.pick(&["416", "647"]),
        ("CA", "Vancouver") => "604",
        ("CA", _) => "514",
        (_, "New York") => *rng.pick(&["212", "646", "718"]),
        (_, "San Francisco") => "415",
        (_, "Boston") => "617",
        (_, "Chicago") => "312",
        (_, "Seattle") => "206",
        (_, "Austin") => "512",
        (_, "Denver") => "303",
        (_, "Atlanta") => "404",
        (_, "Miami") => "305",
        (_, "Los Angeles") => "213",
        (_, "Dallas") => "214",
        _ => "503",
    };
    let nxx = loop {
        let n = rng.range(200, 999);
        if n != 555 && n % 100 != 11 {
            break n;
        }
    };
    (npa.to_string(), nxx.to_string(), rng.digits(4))
}

/// A landline in one of the formats people type for `code`'s country.
fn phone(rng: &mut SplitMix64, code: &str, city: &str) -> String {
    let d = |rng: &mut SplitMix64, n: usize| -> String {
        let first = char::from(b'2' + rng.below(7) as u8);
        format!("{first}{}", rng.digits(n - 1))
    };
    match code {
        "US" | "CA" => {
            let (a, b, c) = nanp(rng, code, city);
            match rng.below(8) {
                0 => format!("({a}) {b}-{c}"),
                1 => format!("{a}.{b}.{c}"),
                2 => format!("+1-{a}-{b}-{c}"),
                3 => format!("+1 {a} {b} {c}"),
                4 => format!("{a}-{b}-{c}"),
                5 => format!("{a}{b}{c}"),
                6 => format!("+1{a}{b}{c}"),
                _ => format!("1 ({a}) {b}-{c}"),
            }
        }
        "GB" => {
            let (area, rest) = match city {
                "London" => ("20", format!("{}{}", rng.pick(&["7", "3", "8"]), rng.digits(7))),
                // Subscriber numbers start only with the digits Ofcom allocated in each area.
                "Manchester" => ("161", format!("{}{}", rng.range(2, 9), rng.digits(6))),
                "Bristol" => ("117", format!("{}{}", rng.pick(&["2", "3", "4", "9"]), rng.digits(6))),
                "Leeds" => ("113", format!("{}{}", rng.pick(&["2", "3", "4", "5"]), rng.digits(6))),
                _ => ("131", format!("{}{}", rng.range(2, 8), rng.digits(6))),
            };
            let (x, y) = rest.split_at(rest.len() - 4);
            match rng.below(3) {
                0 => format!("+44 {area} {x} {y}"),
                1 => format!("0{area} {x} {y}"),
                _ => format!("+44{area}{x}{y}"),
            }
        }
        "DE" => {
            let area = match city {
                "Berlin" => "30",
                "Munich" => "89",
                "Hamburg" => "40",
                "Frankfurt" => "69",
                _ => "221",
            };
            let len = if area.len() == 2 { 7 + rng.below(2) as usize } else { 7 };
            let sub = d(rng, len);
            match rng.below(3) {
                0 => format!("+49 {area} {sub}"),
                1 => format!("0{area} {sub}"),
                _ => format!("+49 ({area}) {sub}"),
            }
        }
        "FR" => {
            let area = match city {
                "Paris" => "1",
                "Lyon" => "4",
                "Marseille" => "4",
                "Toulouse" => "5",
                _ => "2",
            };
            let n = format!("{area}{}{}", rng.pick(&["1", "2", "3", "4", "5", "7", "8"]), rng.digits(7));
            let pairs = format!("{} {} {} {}", &n[1..3], &n[3..5], &n[5..7], &n[7..9]);
            match rng.below(3) {
                0 => format!("+33 {area} {pairs}"),
                1 => format!("0{area} {pairs}"),
                _ => format!("+33{n}"),
            }
        }
        "AU" => {
            let area = match city {
                "Sydney" => "2",
                "Melbourne" => "3",
                _ => "7",
            };
            let first = match area {
                "2" => "9",
                "3" => "9",
                _ => "3",
            };
            let n = format!("{first}{}", rng.digits(7));
            match rng.below(3) {
                0 => format!("+61 {area} {} {}", &n[..4], &n[4..]),
                1 => format!("(0{area}) {} {}", &n[..4], &n[4..]),
                _ => format!("0{area} {n}"),
            }
        }
        "NL" => {
            let area = match city {
                "Amsterdam" => "20",
                "Rotterdam" => "10",
                _ => "30",
            };
            let n = d(rng, 7);
            match rng.below(3) {
                0 => format!("+31 {area} {} {}", &n[..3], &n[3..]),
                1 => format!("0{area}-{n}"),
                _ => format!("+31{area}{n}"),
            }
        }
        _ => {
            let area = match city {
                "Madrid" => "91",
                "Barcelona" => "93",
                _ => "96",
            };
            let n = format!("{area}{}{}", rng.range(1, 8), rng.digits(6));
            match rng.below(3) {
                0 => format!("+34 {} {} {}", &n[..3], &n[3..6], &n[6..]),
                1 => format!("{} {} {}", &n[..3], &n[3..6], &n[6..]),
                _ => format!("+34{n}"),
            }
        }
    }
}

/// A mobile number for `code`'s country.
fn mobile(rng: &mut SplitMix64, code: &str) -> String {
    match code {
        "US" | "CA" => {
            let (a, b, c) = nanp(rng, code, "");
            format!("+1 {a}-{b}-{c}")
        }
        "GB" => {
            let n = format!("7{}{}{}", rng.range(1, 3), rng.digits(2), rng.digits(6));
            if rng.chance(50) { format!("0{} {}", &n[..4], &n[4..]) } else { format!("+44 {} {}", &n[..4], &n[4..]) }
        }
        "DE" => {
            let prefix = *rng.pick(&["151", "160", "170", "171", "176"]);
            let n = rng.digits(if prefix == "151" { 8 } else { 7 });
            if rng.chance(50) { format!("+49 {prefix} {n}") } else { format!("0{prefix} {n}") }
        }
        "FR" => {
            let n = format!("6{}{}", rng.pick(&["0", "1", "2", "4", "5", "6", "7", "8"]), rng.digits(7));
            let pairs = format!("{} {} {} {}", &n[1..3], &n[3..5], &n[5..7], &n[7..9]);
            if rng.chance(50) { format!("+33 6 {pairs}") } else { format!("06 {pairs}") }
        }
        "AU" => {
            let n = format!("4{}{}", rng.range(0, 3), rng.digits(7));
            if rng.chance(50) {
                format!("+61 {} {} {}", &n[..3], &n[3..6], &n[6..])
            } else {
                format!("0{} {} {}", &n[..3], &n[3..6], &n[6..])
            }
        }
        "NL" => format!("+31 6 {}{}", rng.pick(&["1", "2", "3", "4", "5", "8"]), rng.digits(7)),
        _ => {
            let n = format!("6{}", rng.digits(8));
            format!("+34 {} {} {}", &n[..3], &n[3..6], &n[6..])
        }
    }
}

/// Every (phone, region) the generator can produce for a few draws; used by the tests that
/// validate numbers against libphonenumber metadata.
#[cfg(test)]
pub(crate) fn sample_phones(draws: usize) -> Vec<(String, &'static str)> {
    let mut rng = SplitMix64::new(99);
    let mut out = Vec::new();
    for _ in 0..draws {
        for country in COUNTRIES {
            for city in country.cities {
                out.push((phone(&mut rng, country.code, city), country.code));
            }
            out.push((mobile(&mut rng, country.code), country.code));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_distinct_and_ordered() {
        let mut rng = SplitMix64::new(1);
        let anchor = 1_700_000_000_000;
        let ts = timestamps(&mut rng, 5000, anchor);
        let mut seen = HashSet::new();
        let mut last_created = i64::MIN;
        for (c, u) in &ts {
            assert!(*c > last_created);
            last_created = *c;
            assert!(u >= c, "{u} < {c}");
            assert!(*u < anchor);
            assert!(seen.insert(*u));
        }
    }

    #[test]
    fn every_generated_phone_is_valid_for_its_country() {
        let mut invalid = Vec::new();
        for (number, region) in sample_phones(200) {
            let id = region.parse::<phonenumber::country::Id>().ok();
            let valid = phonenumber::parse(id, &number).is_ok_and(|n| phonenumber::is_valid(&n));
            if !valid {
                invalid.push(format!("{region} {number}"));
            }
        }
        assert!(invalid.is_empty(), "invalid numbers: {invalid:#?}");
    }

    #[test]
    fn emails_fold_to_ascii() {
        assert_eq!(fold("Zoë"), "zoe");
        assert_eq!(fold("O'Brien"), "obrien");
        assert_eq!(fold("de Vries"), "devries");
    }
}
